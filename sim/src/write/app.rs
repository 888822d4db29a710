//! One write session of the card's write application: from the plain SELECT of
//! the write AID to the next one (or a power cycle). The rules are in the module
//! documentation of `crate::write`.

use zairyu::apdu::{Command, Le, ParsedCommand};
use zairyu::layout::Df;
use zairyu::write::eac::{ChipAuthentication, EacError, TaResult, TerminalAuthCard};
use zairyu::write::sm::{CLA_CHAINING, CLA_SM_BITS, CardSide};
use zairyu::write::{CHIP_AUTH_INFO_SFI, WRITE_AID};
use zeroize::Zeroizing;

use super::{CommitStage, WriteNvm, WriteRng, commit, writable_target};
use crate::IssuedCard;

const SW_OK: u16 = 0x9000;
const SW_WRONG_LENGTH: u16 = 0x6700;
const SW_SECURITY: u16 = 0x6982;
const SW_SM_ERROR: u16 = 0x6988;
const SW_CONDITIONS: u16 = 0x6985;
const SW_WRONG_DATA: u16 = 0x6A80;
const SW_FILE_NOT_FOUND: u16 = 0x6A82;
const SW_WRONG_P1P2: u16 = 0x6A86;
const SW_WRONG_OFFSET: u16 = 0x6B00;
const SW_NO_CURRENT_EF: u16 = 0x6986;
const SW_INS: u16 = 0x6D00;
const SW_CLA: u16 = 0x6E00;

/// What one command did.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The response APDU (data ‖ SW).
    Answer(Vec<u8>),
    /// The power failed inside the commit (injected); no answer leaves the card.
    PowerLost,
}

fn answer(data: &[u8], sw: u16) -> Outcome {
    let mut r = data.to_vec();
    r.extend_from_slice(&sw.to_be_bytes());
    Outcome::Answer(r)
}

/// A command chain of UPDATE BINARY segments being assembled.
struct Chain {
    p1: u8,
    data: Zeroizing<Vec<u8>>,
}

/// The volatile state of the write application.
pub(crate) struct WriteSession {
    ta: TerminalAuthCard,
    ta_result: Option<TaResult>,
    sm: Option<CardSide>,
    /// The EF.ChipAuthInfo is current for offset reads (plain).
    info_current: bool,
    /// The DF selected under SM.
    df: Option<Df>,
    /// The EF current under SM (after a read by SFI).
    current: Option<(Df, u8)>,
    chain: Option<Chain>,
}

impl core::fmt::Debug for WriteSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "WriteSession(ta={}, sm={})", self.ta_result.is_some(), self.sm.is_some())
    }
}

impl WriteSession {
    /// A fresh session (the write AID was just selected).
    pub(crate) fn new(nvm: &WriteNvm) -> Self {
        WriteSession {
            ta: TerminalAuthCard::new(nvm.anchor.clone(), nvm.card_date, nvm.id_card),
            ta_result: None,
            sm: None,
            info_current: false,
            df: None,
            current: None,
            chain: None,
        }
    }

    /// Whether this is the plain SELECT of the write application.
    pub(crate) fn is_select(raw: &[u8]) -> bool {
        ParsedCommand::parse(raw).is_some_and(|c| c.header == [0x00, 0xA4, 0x04, 0x0C] && c.data[..] == WRITE_AID)
    }

    /// Whether this is a plain SELECT of something else (it leaves the application).
    pub(crate) fn is_other_select(raw: &[u8]) -> bool {
        raw.len() >= 2 && raw[0] == 0x00 && raw[1] == 0xA4 && !Self::is_select(raw)
    }

    /// Processes one command. `access`: card-number access was granted in this card
    /// session. `stop`: an injected power loss inside the commit.
    pub(crate) fn process(
        &mut self,
        card: &mut IssuedCard,
        raw: &[u8],
        access: bool,
        rng: &mut WriteRng,
        stop: Option<CommitStage>,
    ) -> Outcome {
        let Some(c) = ParsedCommand::parse(raw) else {
            self.chain = None;
            return answer(&[], SW_WRONG_LENGTH);
        };
        let cla = c.header[0];
        if cla & CLA_SM_BITS == CLA_SM_BITS && cla & 0xE0 == 0 {
            return self.protected(card, raw, access, stop);
        }
        // ISO/IEC 7816-4 §10.1: an unprotected command ends the SM session; any
        // command other than the next segment drops a chain.
        self.sm = None;
        self.chain = None;
        if cla != 0x00 {
            return answer(&[], SW_CLA);
        }
        let Some(nvm) = card.write_nvm().cloned() else {
            return answer(&[], SW_FILE_NOT_FOUND);
        };
        let d = &c.data[..];
        let eac = |r: Result<(), EacError>| match r {
            Ok(()) => answer(&[], SW_OK),
            Err(e) => answer(&[], e.status_word()),
        };
        match c.header {
            [_, 0xA4, 0x04, 0x0C] if d == WRITE_AID => {
                *self = WriteSession::new(&nvm);
                answer(&[], SW_OK)
            }
            [_, 0xB0, p1, p2] => self.read_chip_auth_info(&nvm, p1, p2, c.ne, d, access),
            [_, 0x22, 0x81, 0xB6] => eac(self.ta.mse_set_dst(d)),
            [_, 0x2A, 0x00, 0xBE] => {
                let r = self.ta.pso_verify_certificate(d);
                if r.is_ok() {
                    // The card date lives in non-volatile memory (AWP §3).
                    let date = self.ta.card_date();
                    if let Some(n) = card.write_nvm_mut()
                        && n.card_date < date
                    {
                        n.card_date = date;
                    }
                }
                eac(r)
            }
            [_, 0x22, 0x81, 0xA4] => {
                self.ta_result = None;
                eac(self.ta.mse_set_at(d))
            }
            [_, 0x84, 0x00, 0x00] => {
                if !d.is_empty() {
                    return answer(&[], SW_WRONG_LENGTH);
                }
                match self.ta.get_challenge(rng) {
                    Ok(r) => answer(&r, SW_OK),
                    Err(e) => answer(&[], e.status_word()),
                }
            }
            [_, 0x82, 0x00, 0x00] => {
                self.ta_result = None;
                match self.ta.external_authenticate(d) {
                    Ok(r) => {
                        self.ta_result = Some(r);
                        answer(&[], SW_OK)
                    }
                    Err(e) => answer(&[], e.status_word()),
                }
            }
            [_, 0x22, 0x41, 0xA4] => match (&self.ta_result, ChipAuthentication::check_set_at(d)) {
                (None, _) => answer(&[], SW_CONDITIONS),
                (Some(_), Ok(())) => answer(&[], SW_OK),
                (Some(_), Err(e)) => answer(&[], e.status_word()),
            },
            [_, 0x86, 0x00, 0x00] => {
                let Some(tr) = self.ta_result.as_ref() else { return answer(&[], SW_CONDITIONS) };
                match ChipAuthentication::respond(&nvm.chip_key, &tr.eph_comp, d, rng) {
                    Ok((data, keys)) => {
                        self.sm = Some(CardSide::new(keys));
                        self.df = None;
                        self.current = None;
                        answer(&data, SW_OK)
                    }
                    Err(e) => answer(&[], e.status_word()),
                }
            }
            [_, 0x22 | 0x2A | 0x84 | 0x82 | 0x86, ..] => answer(&[], SW_WRONG_P1P2),
            _ => answer(&[], SW_INS),
        }
    }

    /// Plain READ BINARY of EF.ChipAuthInfo: by SFI (`80 | 01`, offset in P2) or by
    /// offset once it is current.
    fn read_chip_auth_info(
        &mut self,
        nvm: &WriteNvm,
        p1: u8,
        p2: u8,
        ne: Option<usize>,
        data: &[u8],
        access: bool,
    ) -> Outcome {
        if !data.is_empty() {
            return answer(&[], SW_WRONG_LENGTH);
        }
        let offset = if p1 & 0x80 != 0 {
            if p1 & 0x60 != 0 {
                return answer(&[], SW_WRONG_P1P2);
            }
            if p1 & 0x1F != CHIP_AUTH_INFO_SFI {
                return answer(&[], SW_FILE_NOT_FOUND);
            }
            usize::from(p2)
        } else if self.info_current {
            usize::from(u16::from_be_bytes([p1, p2]))
        } else {
            return answer(&[], SW_NO_CURRENT_EF);
        };
        // docs/write-profile.md §4: the card-number hash is readable only after
        // card-number access in this card session.
        if !access {
            return answer(&[], SW_SECURITY);
        }
        let Some(ne) = ne else { return answer(&[], SW_WRONG_LENGTH) };
        let file = &nvm.chip_auth_info;
        if offset >= file.len() {
            return answer(&[], SW_WRONG_OFFSET);
        }
        self.info_current = true;
        let n = ne.min(file.len() - offset);
        answer(&file[offset..offset + n], SW_OK)
    }

    /// A command under the CA channel: unwrap, run, wrap.
    fn protected(&mut self, card: &mut IssuedCard, raw: &[u8], access: bool, stop: Option<CommitStage>) -> Outcome {
        let Some(sm) = self.sm.as_mut() else {
            self.chain = None;
            return answer(&[], SW_SECURITY);
        };
        let cmd = match sm.unwrap_command(raw) {
            Ok(c) => c,
            Err(e) => {
                // TR-03110 Part 3 F.2: an SM error ends the channel; the answer is plain.
                log::debug!("write application: SM error {e}; channel closed");
                self.end_channel();
                return answer(&[], SW_SM_ERROR);
            }
        };
        let (data, sw) = match self.run_protected(card, &cmd, access, stop) {
            Some(r) => r,
            None => return Outcome::PowerLost,
        };
        let Some(sm) = self.sm.as_mut() else { return answer(&[], SW_SM_ERROR) };
        match sm.wrap_response(&data, sw) {
            Ok(r) => Outcome::Answer(r),
            Err(_) => {
                self.end_channel();
                answer(&[], SW_SM_ERROR)
            }
        }
    }

    fn end_channel(&mut self) {
        self.sm = None;
        self.ta_result = None;
        self.chain = None;
    }

    /// The plain command under SM; `None` if the power failed in the commit.
    fn run_protected(
        &mut self,
        card: &mut IssuedCard,
        cmd: &Command,
        access: bool,
        stop: Option<CommitStage>,
    ) -> Option<(Zeroizing<Vec<u8>>, u16)> {
        let none = |sw: u16| Some((Zeroizing::new(Vec::new()), sw));
        let is_update = cmd.ins == 0xD6;
        if !is_update {
            self.chain = None;
        }
        if cmd.cla & !CLA_CHAINING != 0 || (cmd.cla & CLA_CHAINING != 0 && !is_update) {
            self.chain = None;
            return none(SW_CLA);
        }
        match (cmd.ins, cmd.p1, cmd.p2) {
            (0xA4, 0x04, 0x0C) => match Df::from_aid(&cmd.data) {
                Some(df) if df != Df::Mf => {
                    self.df = Some(df);
                    self.current = None;
                    none(SW_OK)
                }
                _ => none(SW_FILE_NOT_FOUND),
            },
            (0xA4, ..) => none(SW_WRONG_P1P2),
            (0xB0, p1, p2) => self.sm_read(card, p1, p2, cmd, access),
            (0xD6, p1, p2) => self.sm_update(card, p1, p2, cmd, access, stop),
            _ => none(SW_INS),
        }
    }

    /// The writable file named by `p1` (`80 | SFI`) in the DF selected under SM.
    fn target_file(&self, card: &IssuedCard, p1: u8) -> Result<(Df, u8), u16> {
        if p1 & 0x80 == 0 || p1 & 0x60 != 0 {
            return Err(SW_WRONG_P1P2);
        }
        let ef = writable_target(card.card_type()).ef();
        let key = (self.df.ok_or(SW_FILE_NOT_FOUND)?, p1 & 0x1F);
        if key != (ef.df, ef.sfi) || card.file(key.0, key.1).is_none() {
            return Err(SW_FILE_NOT_FOUND);
        }
        Ok(key)
    }

    fn sm_read(
        &mut self,
        card: &IssuedCard,
        p1: u8,
        p2: u8,
        cmd: &Command,
        access: bool,
    ) -> Option<(Zeroizing<Vec<u8>>, u16)> {
        let none = |sw: u16| Some((Zeroizing::new(Vec::new()), sw));
        if !cmd.data.is_empty() {
            return none(SW_WRONG_LENGTH);
        }
        let (key, offset) = if p1 & 0x80 != 0 {
            match self.target_file(card, p1) {
                Ok(k) => (k, usize::from(p2)),
                Err(sw) => return none(sw),
            }
        } else {
            match self.current {
                Some(k) => (k, usize::from(u16::from_be_bytes([p1, p2]))),
                None => return none(SW_NO_CURRENT_EF),
            }
        };
        if !access {
            return none(SW_SECURITY);
        }
        let wanted = match cmd.le {
            None => return none(SW_WRONG_LENGTH),
            Some(Le::Short(0)) => 256,
            Some(Le::Short(n)) => usize::from(n),
            Some(Le::Extended(0)) => 65536,
            Some(Le::Extended(n)) => usize::from(n),
        };
        let Some(file) = card.file(key.0, key.1) else { return none(SW_FILE_NOT_FOUND) };
        if offset >= file.len() {
            return none(SW_WRONG_OFFSET);
        }
        self.current = Some(key);
        let n = wanted.min(file.len() - offset);
        Some((Zeroizing::new(file[offset..offset + n].to_vec()), SW_OK))
    }

    fn sm_update(
        &mut self,
        card: &mut IssuedCard,
        p1: u8,
        p2: u8,
        cmd: &Command,
        access: bool,
        stop: Option<CommitStage>,
    ) -> Option<(Zeroizing<Vec<u8>>, u16)> {
        let none = |sw: u16| Some((Zeroizing::new(Vec::new()), sw));
        let key = match (p2, self.target_file(card, p1)) {
            (0x00, Ok(k)) => k,
            (0x00, Err(sw)) => {
                self.chain = None;
                return none(sw);
            }
            _ => {
                self.chain = None;
                return none(SW_WRONG_P1P2);
            }
        };
        let target = writable_target(card.card_type());
        let capacity = target.content_len();
        let mut content = match self.chain.take() {
            Some(c) if c.p1 == p1 => c.data,
            Some(_) => return none(SW_WRONG_DATA),
            None => Zeroizing::new(Vec::new()),
        };
        content.extend_from_slice(&cmd.data);
        if content.len() > capacity {
            return none(SW_WRONG_LENGTH);
        }
        if cmd.cla & CLA_CHAINING != 0 {
            self.chain = Some(Chain { p1, data: content });
            return none(SW_OK);
        }
        // docs/write-profile.md §9: card-number access in this card session, TA with
        // the write right, this channel (we are under it), and the whole content
        // hashing to the signed intent for this file.
        let authorised = access
            && content.len() == capacity
            && self.ta_result.as_ref().is_some_and(|t| t.authorises(target, &content));
        if !authorised {
            return none(SW_SECURITY);
        }
        match commit(card, key.0, key.1, content.to_vec(), stop) {
            Ok(()) => {
                self.current = Some(key);
                none(SW_OK)
            }
            Err(_) => None,
        }
    }
}
