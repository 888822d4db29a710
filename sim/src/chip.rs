//! The card's command processing, generic over the crypto [`Suite`]: the first
//! generation runs it with `TdesSuite`, the second (AES, GEN2 Appendix 1) with
//! `Aes128Suite`, unchanged (the APDUs are identical, second-generation notes §9).
//!
//! State (SPEC15 §3.5, §4.2): current DF and EF, the pending challenge, the
//! session key KSenc and the authentication state.

use core::marker::PhantomData;

use subtle::ConstantTimeEq;
use zairyu::apdu::{ParsedCommand, Response, StatusWord};
use zairyu::crypto::{Key16, Suite, derive_base_key, derive_session_key, pad_iso};
use zairyu::layout::{self, Access, Df};
use zairyu::sm::{PADDING_INDICATOR, SecureMessaging, TAG_CRYPTOGRAM, TAG_LE};
use zairyu::tlv;
use zeroize::Zeroizing;

use crate::issue::IssuedCard;
use crate::rng::CardRng;

/// INS codes (SPEC15 Table 4-4).
pub(crate) mod ins {
    pub const SELECT: u8 = 0xA4;
    pub const VERIFY: u8 = 0x20;
    pub const GET_CHALLENGE: u8 = 0x84;
    pub const MUTUAL_AUTHENTICATE: u8 = 0x82;
    pub const READ_BINARY: u8 = 0xB0;
}

const CLA_PLAIN: u8 = 0x00;
const CLA_SM: u8 = 0x08;

/// Behaviour switches set by faults.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Quirks {
    /// Extended-length commands are answered `67 00`.
    pub short_only: bool,
    /// T=0-style `6C XX` for a short Le the answer does not fill (`Fault::ShortCard`).
    pub wrong_le: bool,
    pub corrupt_mac_icc: bool,
    pub bad_sm_padding: bool,
}

#[derive(Default)]
struct State {
    current_df: Df,
    current_ef: Option<(Df, u8)>,
    challenge: Option<[u8; 8]>,
    session: Option<Key16>,
    authenticated: bool,
}

pub(crate) struct Chip<S: Suite> {
    base: Key16,
    number: Zeroizing<Vec<u8>>,
    rng: CardRng,
    state: State,
    _suite: PhantomData<S>,
}

fn sw(s: StatusWord) -> Response {
    Response::status(s)
}

fn ok(data: Vec<u8>) -> Response {
    Response { data: Zeroizing::new(data), sw: StatusWord::Success }
}

/// Parses a command; where SPEC15 §4.2.1(6), §4.2.2(6) and §4.2.4(6) say that data
/// longer than Lc is processed as Lc says, the excess is dropped.
fn parse_lenient(raw: &[u8]) -> Option<ParsedCommand> {
    if let Some(c) = ParsedCommand::parse(raw) {
        return Some(c);
    }
    if raw.len() > 5 && matches!(raw[1], ins::SELECT | ins::VERIFY | ins::MUTUAL_AUTHENTICATE) && raw[4] != 0 {
        let end = 5 + raw[4] as usize;
        if raw.len() > end + 1 {
            if raw[1] == ins::MUTUAL_AUTHENTICATE
                && let Some(c) = ParsedCommand::parse(&raw[..end + 1])
            {
                return Some(c);
            }
            return ParsedCommand::parse(&raw[..end]);
        }
    }
    None
}

impl<S: Suite> Chip<S> {
    pub(crate) fn new(card: &IssuedCard) -> Self {
        let number = Zeroizing::new(card.card_number().as_bytes().to_vec());
        Chip {
            base: derive_base_key(&number),
            number,
            rng: CardRng::new(card.randomness()),
            state: State::default(),
            _suite: PhantomData,
        }
    }

    /// Deactivation: the session key is cleared (SPEC15 §4.2.4(2)) and the MF is
    /// current again (SPEC15 §3.1).
    pub(crate) fn reset(&mut self) {
        self.state = State::default();
    }

    /// Any command other than MUTUAL AUTHENTICATE consumes a pending challenge.
    pub(crate) fn forget_challenge(&mut self) {
        self.state.challenge = None;
    }

    pub(crate) fn current_df(&self) -> Df {
        self.state.current_df
    }
    pub(crate) fn authenticated(&self) -> bool {
        self.state.authenticated
    }
    pub(crate) fn has_session(&self) -> bool {
        self.state.session.is_some()
    }

    pub(crate) fn process(&mut self, card: &IssuedCard, raw: &[u8], q: Quirks) -> Response {
        // SPEC15 §4.2.4(2): the challenge must come *immediately* before.
        let challenge = self.state.challenge.take();
        let Some(cmd) = parse_lenient(raw) else {
            return sw(StatusWord::WrongLength);
        };
        if q.short_only && cmd.extended {
            return sw(StatusWord::WrongLength);
        }
        let [cla, ins, ..] = cmd.header;
        if cla != CLA_PLAIN && cla != CLA_SM {
            return sw(StatusWord::ClaNotSupported);
        }
        match ins {
            ins::SELECT => self.select(&cmd),
            ins::GET_CHALLENGE => self.get_challenge(&cmd),
            ins::MUTUAL_AUTHENTICATE => {
                let r = self.mutual_authenticate(&cmd, challenge, q);
                if r.sw != StatusWord::Success {
                    // A failed MUTUAL AUTHENTICATE leaves no session (SPEC15 §4.2.4(2)).
                    self.state.session = None;
                    self.state.authenticated = false;
                }
                r
            }
            ins::VERIFY => self.verify(&cmd),
            ins::READ_BINARY => self.read_binary(card, &cmd, q),
            _ => sw(StatusWord::InsNotSupported),
        }
    }

    /// SELECT FILE (SPEC15 §4.2.1). Selection keeps the session: Annex 2 selects
    /// DF1 and then DF3 under one KSenc.
    fn select(&mut self, cmd: &ParsedCommand) -> Response {
        let [cla, _, p1, p2] = cmd.header;
        if cla == CLA_SM {
            return sw(StatusWord::SecureMessagingNotSupported);
        }
        let data = &cmd.data[..];
        let target = match (p1, p2) {
            (0x00, 0x00) => match data.len() {
                0 => return sw(StatusWord::WrongLength),
                2 if data == [0x3F, 0x00] => Df::Mf,
                2 => return sw(StatusWord::FileNotFound),
                _ => return sw(StatusWord::LcInconsistentWithP1P2),
            },
            (0x04, 0x0C) => match data.len() {
                0 => return sw(StatusWord::WrongLength),
                1..=16 => match Df::from_aid(data) {
                    Some(df) => df,
                    None => return sw(StatusWord::FileNotFound),
                },
                _ => return sw(StatusWord::LcInconsistentWithP1P2),
            },
            _ => return sw(StatusWord::IncorrectP1P2),
        };
        self.state.current_df = target;
        self.state.current_ef = None;
        sw(StatusWord::Success)
    }

    /// GET CHALLENGE (SPEC15 §4.2.3): `00 84 00 00 08`.
    fn get_challenge(&mut self, cmd: &ParsedCommand) -> Response {
        let [cla, _, p1, p2] = cmd.header;
        if cla == CLA_SM {
            return sw(StatusWord::SecureMessagingNotSupported);
        }
        if (p1, p2) != (0, 0) {
            return sw(StatusWord::IncorrectP1P2);
        }
        if !cmd.data.is_empty() || cmd.ne != Some(8) {
            return sw(StatusWord::WrongLength);
        }
        match self.rng.challenge() {
            Ok(c) => {
                self.state.challenge = Some(c);
                ok(c.to_vec())
            }
            Err(_) => sw(StatusWord::NoPreciseDiagnosis),
        }
    }

    /// MUTUAL AUTHENTICATE (SPEC15 §4.2.4, Annex 1 steps 3-5, card side).
    fn mutual_authenticate(&mut self, cmd: &ParsedCommand, challenge: Option<[u8; 8]>, q: Quirks) -> Response {
        let [cla, _, p1, p2] = cmd.header;
        if cla == CLA_SM {
            return sw(StatusWord::SecureMessagingNotSupported);
        }
        if (p1, p2) != (0, 0) {
            return sw(StatusWord::IncorrectP1P2);
        }
        let Some(rnd_icc) = challenge else {
            return sw(StatusWord::ConditionsNotSatisfied);
        };
        if cmd.data.len() != 40 {
            return sw(StatusWord::WrongLength);
        }
        let (e_ifd, m_ifd) = cmd.data.split_at(32);
        // M_IFD = m[Kmac](E_IFD); a wrong card number shows here as 63 00.
        let mac = S::auth_mac(&self.base, e_ifd);
        if !bool::from(mac.ct_eq(m_ifd)) {
            return sw(StatusWord::VerificationFailed);
        }
        // DEC(E_IFD) = RND.IFD ‖ RND.ICC ‖ K.IFD.
        let mut plain = Zeroizing::new([0u8; 32]);
        plain.copy_from_slice(e_ifd);
        if S::cbc_decrypt(&self.base, &mut plain[..]).is_err() {
            return sw(StatusWord::NoPreciseDiagnosis);
        }
        if !bool::from(plain[8..16].ct_eq(&rnd_icc)) {
            return sw(StatusWord::VerificationFailed);
        }
        let Ok(k_icc) = self.rng.k_icc() else {
            return sw(StatusWord::NoPreciseDiagnosis);
        };
        let k_icc = Zeroizing::new(k_icc);
        let mut k_ifd = Zeroizing::new([0u8; 16]);
        k_ifd.copy_from_slice(&plain[16..32]);
        // E_ICC = e[Kenc](RND.ICC ‖ RND.IFD ‖ K.ICC), M_ICC = m[Kmac](E_ICC).
        let mut out = Zeroizing::new(vec![0u8; 40]);
        out[..8].copy_from_slice(&rnd_icc);
        out[8..16].copy_from_slice(&plain[..8]);
        out[16..32].copy_from_slice(&k_icc[..]);
        if S::cbc_encrypt(&self.base, &mut out[..32]).is_err() {
            return sw(StatusWord::NoPreciseDiagnosis);
        }
        let mut m_icc = S::auth_mac(&self.base, &out[..32]);
        if q.corrupt_mac_icc {
            m_icc[0] ^= 0x01;
        }
        out[32..].copy_from_slice(&m_icc);
        // KSenc = SHA-1((K.IFD xor K.ICC) ‖ 00000001)[0..16); not yet verified.
        self.state.session = Some(derive_session_key(&k_ifd, &k_icc));
        self.state.authenticated = false;
        Response { data: Zeroizing::new(out.to_vec()), sw: StatusWord::Success }
    }

    /// VERIFY under SM (SPEC15 §4.2.2): `08 20 00 86 13 86 11 01 ‖ e[KSenc](number ‖ 80 00 00 00)`.
    /// Every comparison overwrites the authentication state; retries are unlimited.
    fn verify(&mut self, cmd: &ParsedCommand) -> Response {
        let [cla, _, p1, p2] = cmd.header;
        if cla != CLA_SM {
            // §4.2.2(2): VERIFY must be an SM command.
            return sw(StatusWord::SecurityStatusNotSatisfied);
        }
        if (p1, p2) != (0x00, 0x86) {
            return sw(StatusWord::IncorrectP1P2);
        }
        let Some(ks) = &self.state.session else {
            return sw(StatusWord::ConditionsNotSatisfied);
        };
        let sm = SecureMessaging::<S>::new(ks.clone());
        let Ok(plain) = sm.decrypt_object(&cmd.data) else {
            self.state.authenticated = false;
            return sw(StatusWord::SmDataObjectsIncorrect);
        };
        let matched = plain.len() == self.number.len() && bool::from(plain.ct_eq(&self.number[..]));
        self.state.authenticated = matched;
        sw(if matched { StatusWord::Success } else { StatusWord::VerificationFailed })
    }

    /// READ BINARY, plain or SM (SPEC15 §4.2.5).
    fn read_binary(&mut self, card: &IssuedCard, cmd: &ParsedCommand, q: Quirks) -> Response {
        let [cla, _, p1, p2] = cmd.header;
        let sm = cla == CLA_SM;
        // P1 b8 = 1: SFI in b5..b1, 8-bit offset in P2; b8 = 0: 15-bit offset into the current EF.
        let (key, offset) = if p1 & 0x80 != 0 {
            if p1 & 0x60 != 0 {
                return sw(StatusWord::IncorrectP1P2);
            }
            let key = (self.state.current_df, p1 & 0x1F);
            if card.file(key.0, key.1).is_none() {
                return sw(StatusWord::FileNotFound);
            }
            (key, usize::from(p2))
        } else {
            match self.state.current_ef {
                Some(key) => (key, usize::from(u16::from_be_bytes([p1, p2]))),
                None => return sw(StatusWord::NoCurrentEf),
            }
        };
        // Access rights from the layout (SPEC15 Tables 3-4/3-5; GEN2 §3.3.3,
        // second-generation notes §3.3): MF files free, the rest after
        // authentication, DF1 only under SM.
        let allowed = match access_rule(card, key) {
            Access::Free => true,
            Access::Authenticated => self.state.authenticated,
            Access::SecureMessaging => self.state.authenticated && sm,
        };
        if !allowed {
            return sw(StatusWord::SecurityStatusNotSatisfied);
        }
        // The requested length: 0 means "the whole file".
        let wanted: usize = if sm {
            if cmd.ne.is_none() {
                return sw(StatusWord::WrongLength);
            }
            match &cmd.data[..] {
                [TAG_LE, 0x02, hi, lo] => usize::from(u16::from_be_bytes([*hi, *lo])),
                _ => return sw(StatusWord::SmDataObjectsIncorrect),
            }
        } else {
            if !cmd.data.is_empty() {
                return sw(StatusWord::WrongLength);
            }
            match cmd.ne {
                Some(65536) => 0,
                Some(n) => n,
                None => return sw(StatusWord::WrongLength),
            }
        };
        let session = if sm {
            match &self.state.session {
                Some(k) => Some(k.clone()),
                None => return sw(StatusWord::SecurityStatusNotSatisfied),
            }
        } else {
            None
        };
        let Some(file) = card.file(key.0, key.1) else {
            return sw(StatusWord::FileNotFound);
        };
        if offset >= file.len() {
            return sw(StatusWord::WrongOffset);
        }
        let avail = file.len() - offset;
        // A T=0-style card wants the exact length: a short Le asking for more than
        // is left is answered `6C XX` with what is left (ISO/IEC 7816-3 §12.2.2).
        if q.wrong_le
            && !sm
            && !cmd.extended
            && let Some(ne) = cmd.ne
            && avail < ne
        {
            self.state.current_ef = Some(key);
            return sw(StatusWord::Unknown(0x6C, avail as u8));
        }
        let n = if wanted == 0 { avail } else { wanted.min(avail) };
        let content = &file[offset..offset + n];
        self.state.current_ef = Some(key);
        let answer = match session {
            None => return ok(content.to_vec()),
            Some(ks) if q.bad_sm_padding => match bad_padding_object::<S>(&ks, content) {
                Some(obj) => obj,
                None => return sw(StatusWord::NoPreciseDiagnosis),
            },
            Some(ks) => match SecureMessaging::<S>::new(ks).encrypt_object(content) {
                Ok(obj) => obj,
                Err(_) => return sw(StatusWord::NoPreciseDiagnosis),
            },
        };
        // The card never sends more than Ne bytes (ISO/IEC 7816-4 §5.1), and an
        // encrypted object cannot be cut: an answer longer than the Le is refused
        // (`6C XX` with its length where a T=0-style card says so, else `67 00`).
        match cmd.ne {
            Some(ne) if answer.len() > ne => {
                if q.wrong_le && !cmd.extended && answer.len() <= 256 {
                    sw(StatusWord::Unknown(0x6C, answer.len() as u8))
                } else {
                    sw(StatusWord::WrongLength)
                }
            }
            _ => ok(answer),
        }
    }
}

/// The access rule of the EF at `(df, sfi)`: the layout's for the card's type, or,
/// for a file the layout does not place there (the type-06 DF2 file at another
/// SFI, a file a test added with [`IssuedCard::set_file`]), the rule of the other
/// files of its DF, which all share one rule in both generations.
fn access_rule(card: &IssuedCard, (df, sfi): (Df, u8)) -> Access {
    let files = layout::files(card.card_type());
    files
        .iter()
        .find(|ef| (ef.df, ef.sfi) == (df, sfi))
        .or_else(|| files.iter().find(|ef| ef.df == df))
        .map_or(Access::SecureMessaging, |ef| ef.access)
}

/// `86 L 01 ‖ e[KSenc](content ‖ 7F 00…)`: the padding marker is wrong, so a strict
/// unpadder must reject it (fault injection only).
fn bad_padding_object<S: Suite>(ks: &Key16, content: &[u8]) -> Option<Vec<u8>> {
    let mut body = pad_iso(content, S::BLOCK);
    // pad_iso puts the 80 marker right after the content.
    *body.get_mut(content.len())? = 0x7F;
    S::cbc_encrypt(ks, &mut body).ok()?;
    let mut value = Vec::with_capacity(body.len() + 1);
    value.push(PADDING_INDICATOR);
    value.extend_from_slice(&body);
    let mut out = Vec::with_capacity(value.len() + 4);
    tlv::encode(u16::from(TAG_CRYPTOGRAM), &value, &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::IssueOptions;
    use zairyu::files::CardType;

    #[test]
    fn access_rules_come_from_the_layout() {
        for t in [
            CardType::ResidenceCard,
            CardType::SpecialPermanentResident,
            CardType::Gen2ResidenceCard,
            CardType::Gen2SpecialPermanentResident,
        ] {
            let card = IssuedCard::issue(&IssueOptions { card_type: t, ..Default::default() });
            for ef in layout::files(t) {
                assert_eq!(access_rule(&card, (ef.df, ef.sfi)), ef.access, "{t:?} {}", ef.name);
                // A file the layout does not place gets its DF's rule.
                assert_eq!(access_rule(&card, (ef.df, 0x1E)), ef.access, "{t:?} {} DF rule", ef.name);
            }
            let want = [Access::Free, Access::SecureMessaging, Access::Authenticated, Access::Authenticated];
            for (df, rule) in Df::ALL.into_iter().zip(want) {
                assert_eq!(access_rule(&card, (df, 0x1E)), rule, "{t:?} {df:?}");
            }
        }
    }
}
