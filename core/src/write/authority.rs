//! The write authority as a sans-I/O state machine (AWP §4.2–4.3, §5).
//!
//! [`Authority::begin`] checks the record and EF.ChipAuthInfo — before anything
//! goes to the card — and returns the first batch of commands; each call of
//! [`WriteSession::resume`] with the card's answers returns the next batch, the
//! [`Receipt`], or the refusal. Every command that does not depend on a card answer
//! travels in the same batch (each with its expected status word), so a write takes
//! four exchanges with the authority:
//!
//! 1. open → MSE:SET DST + PSO:VERIFY CERTIFICATE per certificate, MSE:SET AT, GET CHALLENGE;
//! 2. → EXTERNAL AUTHENTICATE, MSE:SET AT, GENERAL AUTHENTICATE;
//! 3. → under secure messaging: SELECT the DF, READ BINARY of the old content,
//!    UPDATE BINARY of the new content, READ BINARY of the result;
//! 4. → the receipt, only after a MACed `90 00` for every UPDATE BINARY segment and
//!    a MACed read-back equal to the new content.
//!
//! The secure-messaging commands of step 3 can be wrapped ahead of the answers
//! because the SSC is predictable ([`super::sm::TerminalSide`]). On a link without
//! extended-length APDUs, the UPDATE BINARY is sent as a chain of short protected
//! commands (ISO/IEC 7816-4 §5.3.3, CLA `1C`) and the reads in chunks.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::chip_auth_info::{ChipAuthInfo, ChipAuthInfoError, VerifiedChipAuthInfo};
use super::cvc::{Cvc, CvcError, Signer, SignerError, TrustAnchor, verify_at};
use super::eac::{self, ChipAuthTerminal, EacError, ta};
use super::record::{NewContent, RecordError, WriteTarget};
use super::sm::{self, SmError, TerminalSide};
use super::{CvDate, hex32};
use crate::apdu::{Command, Le};
use crate::auth::RandomSource;
use crate::transport::Limits;

/// Every command of a batch expects this status word.
pub const SW_OK: u16 = 0x9000;

/// The largest plain data of one short protected UPDATE BINARY segment: 224 bytes
/// pad to 240, and the protected command is then 260 bytes (`docs/write-profile.md` §7).
pub const SHORT_SEGMENT: usize = 224;

/// The authority's standing configuration: its terminal chain and key, and the roots
/// it trusts.
pub struct AuthorityConfig {
    /// The certificates the card verifies, from the one under the CVCA (a DV, or the
    /// terminal itself) to the terminal's.
    pub terminal_chain: Vec<Cvc>,
    /// The write CVCA the cards trust; the authority checks its own chain against it
    /// before it sends anything.
    pub cvca: TrustAnchor,
    /// The terminal's private key.
    pub signer: Arc<dyn Signer + Send + Sync>,
    /// The write-issuer root that EF.ChipAuthInfo's document signer chains to.
    pub issuer_root: TrustAnchor,
}

impl core::fmt::Debug for AuthorityConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthorityConfig")
            .field("terminal", &self.terminal_chain.last().map(|c| c.chr().to_string()))
            .field("cvca", &self.cvca.chr.to_string())
            .field("issuer_root", &self.issuer_root.chr.to_string())
            .finish_non_exhaustive()
    }
}

/// One write, as the authority receives it.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// The exact new content (checked when it was built).
    pub content: NewContent,
    /// EF.ChipAuthInfo as read from the card.
    pub chip_auth_info: Vec<u8>,
    /// What the counter's link to the card can carry.
    pub limits: Limits,
    /// The time of the request (Unix seconds), for certificate dates and the receipt.
    pub now_unix: u64,
    /// SHA-256 of the card number the clerk typed, if the counter sends it: the
    /// authority then refuses an EF.ChipAuthInfo of another card.
    pub card_number_hash: Option<[u8; 32]>,
}

/// One command of a batch: the APDU and the status word that lets the relay go on.
#[derive(Clone, PartialEq, Eq)]
pub struct BatchCommand {
    /// The command APDU (secure-messaging commands already wrapped).
    pub apdu: Vec<u8>,
    /// The status word that lets the relay send the next command.
    pub expected_sw: u16,
    /// Name for logs (`"PSO:VERIFY CERTIFICATE"`).
    pub label: &'static str,
}

impl core::fmt::Debug for BatchCommand {
    /// The label, header and length only, never the data.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let h: Vec<String> = self.apdu.iter().take(4).map(|b| format!("{b:02X}")).collect();
        write!(
            f,
            "BatchCommand({}, {}, {} bytes, expect {:04X})",
            self.label,
            h.join(" "),
            self.apdu.len(),
            self.expected_sw
        )
    }
}

/// Commands for the relay to send in order, stopping at the first unexpected status word.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    /// The commands.
    pub commands: Vec<BatchCommand>,
}

impl Batch {
    fn labels(&self) -> Vec<&'static str> {
        self.commands.iter().map(|c| c.label).collect()
    }

    fn push(&mut self, label: &'static str, apdu: &[u8]) {
        self.commands.push(BatchCommand { apdu: apdu.to_vec(), expected_sw: SW_OK, label });
    }
}

/// What was written: the proof the authority keeps and returns (AWP §4.4).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    /// The file written.
    pub target: WriteTarget,
    /// SHA-256 of the new content (hex).
    pub content_sha256: String,
    /// SHA-256 of the content before the write (hex), read under secure messaging.
    pub old_content_sha256: Option<String>,
    /// SHA-256 of the card number (hex), from the verified EF.ChipAuthInfo.
    pub card_number_sha256: String,
    /// The terminal certificate's holder reference.
    pub terminal: String,
    /// The document signer of the card's EF.ChipAuthInfo.
    pub chip_auth_info_signer: String,
    /// When the write was requested (Unix seconds).
    pub time_unix: u64,
    /// Exchanges with the authority, the opening one included.
    pub round_trips: u32,
}

/// Why the authority refuses or stops a write. [`AuthorityError::code`] gives a
/// stable name for each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// The new record fails a check.
    #[error("record: {0}")]
    Record(#[from] RecordError),
    /// EF.ChipAuthInfo is malformed or not signed by the write issuer.
    #[error("EF.ChipAuthInfo: {0}")]
    ChipAuthInfo(#[from] ChipAuthInfoError),
    /// The authority's own terminal chain is invalid today, or lacks the write right.
    #[error("terminal chain: {0}")]
    TerminalChain(CvcError),
    /// The request time is not a date of 2000–2099.
    #[error("request time is out of range")]
    Clock,
    /// The link cannot carry the protocol's shortest protected commands.
    #[error("the link to the card is too small for the write protocol")]
    LinkTooSmall,
    /// The card answered a command with another status word than expected (or not
    /// at all: `sw` is `None` when the relay stopped before it).
    #[error("card refused {step}: status {}", sw.map(|s| format!("{s:04X}")).unwrap_or_else(|| "none".into()))]
    CardRefused {
        /// The command.
        step: &'static str,
        /// The status word, if the command got an answer.
        sw: Option<u16>,
    },
    /// More answers than commands.
    #[error("{got} responses to a batch of {expected} commands")]
    ResponseCount {
        /// Commands in the batch.
        expected: usize,
        /// Answers received.
        got: usize,
    },
    /// Terminal or Chip Authentication failed (a malformed answer, a bad token).
    #[error("authentication: {0}")]
    Eac(#[from] EacError),
    /// Secure messaging failed (a bad MAC: a modified or forged answer).
    #[error("secure messaging: {0}")]
    Sm(#[from] SmError),
    /// The terminal key's signer failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The signer's key is not the terminal certificate's.
    #[error("the signer's key does not match the terminal certificate")]
    SignerKeyMismatch,
    /// The content read back after the write is not the content written.
    #[error("read-back differs from the content written")]
    ReadBackMismatch,
    /// The session ended already (done or refused).
    #[error("the write session is over")]
    SessionOver,
}

impl AuthorityError {
    /// A stable name for logs, the audit record and remote links.
    pub fn code(&self) -> &'static str {
        match self {
            AuthorityError::Record(_) => "record_invalid",
            AuthorityError::ChipAuthInfo(_) => "chip_auth_info_invalid",
            AuthorityError::TerminalChain(_) => "terminal_chain_invalid",
            AuthorityError::Clock => "clock_out_of_range",
            AuthorityError::LinkTooSmall => "link_too_small",
            AuthorityError::CardRefused { .. } => "card_refused",
            AuthorityError::ResponseCount { .. } => "response_count",
            AuthorityError::Eac(_) => "authentication_failed",
            AuthorityError::Sm(_) => "secure_messaging_failed",
            AuthorityError::Signer(_) => "signer_failed",
            AuthorityError::SignerKeyMismatch => "signer_key_mismatch",
            AuthorityError::ReadBackMismatch => "read_back_mismatch",
            AuthorityError::SessionOver => "session_over",
        }
    }
}

/// The authority's answer to a batch of responses.
#[derive(Debug)]
pub enum Next {
    /// The next commands for the card.
    Batch(Batch),
    /// The write is done and proven.
    Done(Receipt),
    /// The write is refused or failed; the session is over.
    Refused(AuthorityError),
}

/// The write authority: its configuration, shared by every session.
#[derive(Debug, Clone)]
pub struct Authority {
    config: Arc<AuthorityConfig>,
}

/// How the secure-messaging batch moves the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    /// Plain bytes per UPDATE BINARY segment (the whole content if one command).
    segment: usize,
    /// Plain bytes per READ BINARY.
    chunk: usize,
    /// Whether the extended forms are used.
    extended: bool,
}

fn plan(limits: &Limits, len: usize) -> Result<Plan, AuthorityError> {
    let ext_cmd = |n: usize| 4 + 3 + super::ber::encoded_len(0x87, 1 + (n / 16 + 1) * 16) + 10 + 2;
    if limits.extended_length
        && ext_cmd(len) <= limits.max_command
        && sm::protected_response_len(len) <= limits.max_data()
    {
        return Ok(Plan { segment: len, chunk: len, extended: true });
    }
    if sm::protected_command_len(SHORT_SEGMENT, false) > limits.max_command {
        return Err(AuthorityError::LinkTooSmall);
    }
    let room = limits.max_data().min(256);
    let chunk =
        (16..=255).rev().find(|&n| sm::protected_response_len(n) <= room).ok_or(AuthorityError::LinkTooSmall)?;
    Ok(Plan { segment: SHORT_SEGMENT, chunk, extended: false })
}

enum State {
    AwaitChallenge { eph: ChipAuthTerminal, labels: Vec<&'static str> },
    AwaitChipAuth { eph: ChipAuthTerminal, labels: Vec<&'static str> },
    AwaitWrite { sm: TerminalSide, labels: Vec<&'static str> },
    Over,
}

/// One write session at the authority.
pub struct WriteSession {
    config: Arc<AuthorityConfig>,
    request: WriteRequest,
    info: VerifiedChipAuthInfo,
    state: State,
    round_trips: u32,
}

impl core::fmt::Debug for WriteSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = match self.state {
            State::AwaitChallenge { .. } => "await_challenge",
            State::AwaitChipAuth { .. } => "await_chip_auth",
            State::AwaitWrite { .. } => "await_write",
            State::Over => "over",
        };
        write!(f, "WriteSession({}, {state}, round_trips={})", self.request.content.target().name(), self.round_trips)
    }
}

impl Authority {
    /// An authority with this configuration.
    pub fn new(config: AuthorityConfig) -> Self {
        Authority { config: Arc::new(config) }
    }

    /// The configuration.
    pub fn config(&self) -> &AuthorityConfig {
        &self.config
    }

    /// Opens a write session: checks the request time, the authority's own chain
    /// (valid today, write right), EF.ChipAuthInfo (signature, chain to the issuer
    /// root, card-number hash if given) and the link; draws the ephemeral key; and
    /// returns the first batch (certificates, MSE:SET AT with the write intent, GET
    /// CHALLENGE). Nothing reaches the card when this fails.
    pub fn begin(
        &self,
        request: WriteRequest,
        rng: &mut dyn RandomSource,
    ) -> Result<(WriteSession, Batch), AuthorityError> {
        let today = CvDate::from_unix(request.now_unix).ok_or(AuthorityError::Clock)?;
        let chain =
            verify_at(&self.config.terminal_chain, &self.config.cvca, today).map_err(AuthorityError::TerminalChain)?;
        chain.require_write().map_err(AuthorityError::TerminalChain)?;
        let info = ChipAuthInfo::parse(&request.chip_auth_info)?.verify(&self.config.issuer_root, today)?;
        if let Some(h) = request.card_number_hash
            && !bool::from(subtle::ConstantTimeEq::ct_eq(&h[..], &info.card_number_hash[..]))
        {
            return Err(ChipAuthInfoError::CardNumberMismatch.into());
        }
        let content = &request.content;
        if content.bytes().len() != content.target().content_len() {
            return Err(RecordError::Image.into());
        }
        plan(&request.limits, content.bytes().len())?;

        let eph = ChipAuthTerminal::generate(rng);
        let aux = eac::encode_aux(&content.intent());
        let mut batch = Batch::default();
        for cert in &self.config.terminal_chain {
            batch.push("MSE:SET DST", &ta::mse_set_dst(cert.car()).encode());
            batch.push("PSO:VERIFY CERTIFICATE", &ta::pso_verify_certificate(cert).encode());
        }
        let terminal = self.config.terminal_chain.last().expect("verify_at refuses an empty chain");
        batch.push("MSE:SET AT (TA)", &ta::mse_set_at(terminal.chr(), &eph.comp(), &aux).encode());
        batch.push("GET CHALLENGE", &ta::get_challenge().encode());
        let labels = batch.labels();
        let session = WriteSession {
            config: Arc::clone(&self.config),
            request,
            info,
            state: State::AwaitChallenge { eph, labels },
            round_trips: 1,
        };
        Ok((session, batch))
    }
}

/// Splits each response into data and SW; refuses at the first one that is not
/// the expected status word, or when answers are missing.
fn check_all<'r>(labels: &[&'static str], responses: &'r [Vec<u8>]) -> Result<Vec<&'r [u8]>, AuthorityError> {
    if responses.len() > labels.len() {
        return Err(AuthorityError::ResponseCount { expected: labels.len(), got: responses.len() });
    }
    let mut out = Vec::with_capacity(labels.len());
    for (i, &label) in labels.iter().enumerate() {
        let Some(r) = responses.get(i) else {
            return Err(AuthorityError::CardRefused { step: label, sw: None });
        };
        if r.len() < 2 {
            return Err(AuthorityError::CardRefused { step: label, sw: None });
        }
        let (data, sw) = r.split_at(r.len() - 2);
        let sw = u16::from_be_bytes([sw[0], sw[1]]);
        if sw != SW_OK {
            return Err(AuthorityError::CardRefused { step: label, sw: Some(sw) });
        }
        out.push(data);
    }
    Ok(out)
}

impl WriteSession {
    /// Exchanges so far, the opening one included.
    pub fn round_trips(&self) -> u32 {
        self.round_trips
    }

    /// Feeds the card's answers to the last batch (in order; fewer than the batch
    /// had when the relay stopped at an unexpected status word).
    pub fn resume(&mut self, responses: &[Vec<u8>]) -> Next {
        self.round_trips += 1;
        let state = core::mem::replace(&mut self.state, State::Over);
        let result = match state {
            State::AwaitChallenge { eph, labels } => self.after_challenge(eph, &labels, responses),
            State::AwaitChipAuth { eph, labels } => self.after_chip_auth(eph, &labels, responses),
            State::AwaitWrite { sm, labels } => self.after_write(sm, &labels, responses).map(Next::Done),
            State::Over => Err(AuthorityError::SessionOver),
        };
        match result {
            Ok(next) => next,
            Err(e) => {
                self.state = State::Over;
                Next::Refused(e)
            }
        }
    }

    fn after_challenge(
        &mut self,
        eph: ChipAuthTerminal,
        labels: &[&'static str],
        responses: &[Vec<u8>],
    ) -> Result<Next, AuthorityError> {
        let data = check_all(labels, responses)?;
        let r_card = ta::parse_challenge(data[data.len() - 1])?;
        let aux = eac::encode_aux(&self.request.content.intent());
        let msg = eac::ta_message(&self.info.card_number_hash, &r_card, &eph.comp(), &aux);
        let signature = self.config.signer.sign(&msg)?;
        let terminal = self.config.terminal_chain.last().expect("checked at begin");
        if !terminal.body().public_key.verify(&msg, &signature) {
            return Err(AuthorityError::SignerKeyMismatch);
        }
        let mut batch = Batch::default();
        batch.push("EXTERNAL AUTHENTICATE", &ta::external_authenticate(&signature).encode());
        batch.push("MSE:SET AT (CA)", &eac::ca_mse_set_at().encode());
        batch.push("GENERAL AUTHENTICATE", &eac::ca_general_authenticate(&eph.public_key()).encode());
        let labels = batch.labels();
        self.state = State::AwaitChipAuth { eph, labels };
        Ok(Next::Batch(batch))
    }

    fn after_chip_auth(
        &mut self,
        eph: ChipAuthTerminal,
        labels: &[&'static str],
        responses: &[Vec<u8>],
    ) -> Result<Next, AuthorityError> {
        let data = check_all(labels, responses)?;
        let keys = eph.finish(&self.info.chip_key, data[2])?;
        let mut sm = TerminalSide::new(keys);
        let content = &self.request.content;
        let target = content.target();
        let ef = target.ef();
        let plan = plan(&self.request.limits, content.bytes().len())?;
        let mut batch = Batch::default();
        let mut labels = Vec::new();
        let mut push = |batch: &mut Batch, label: &'static str, cmd: &Command| -> Result<(), AuthorityError> {
            batch.push(label, &sm.wrap(cmd)?);
            labels.push(label);
            Ok(())
        };
        let aid = target.df().aid().expect("the write targets are in DF1 or DF2");
        push(&mut batch, "SM SELECT", &Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(&aid))?;
        for cmd in read_commands(ef.sfi, ef.capacity, plan) {
            push(&mut batch, "SM READ BINARY (old)", &cmd)?;
        }
        let segments: Vec<&[u8]> = content.bytes().chunks(plan.segment).collect();
        for (i, seg) in segments.iter().enumerate() {
            let cla = if i + 1 < segments.len() { sm::CLA_CHAINING } else { 0x00 };
            let mut cmd = Command::new(cla, 0xD6, ef.p1(), 0x00).with_data(seg);
            if plan.extended {
                cmd = cmd.extended();
            }
            push(&mut batch, "SM UPDATE BINARY", &cmd)?;
        }
        for cmd in read_commands(ef.sfi, ef.capacity, plan) {
            push(&mut batch, "SM READ BINARY (new)", &cmd)?;
        }
        self.state = State::AwaitWrite { sm, labels };
        Ok(Next::Batch(batch))
    }

    fn after_write(
        &mut self,
        mut sm: TerminalSide,
        labels: &[&'static str],
        responses: &[Vec<u8>],
    ) -> Result<Receipt, AuthorityError> {
        if responses.len() > labels.len() {
            return Err(AuthorityError::ResponseCount { expected: labels.len(), got: responses.len() });
        }
        let mut old = Zeroizing::new(Vec::new());
        let mut new = Zeroizing::new(Vec::new());
        for (i, &label) in labels.iter().enumerate() {
            let Some(raw) = responses.get(i) else {
                return Err(AuthorityError::CardRefused { step: label, sw: None });
            };
            // Every answer is unwrapped, so a status word counts only under a valid MAC.
            let plain = sm.unwrap(raw)?;
            if plain.sw != SW_OK {
                return Err(AuthorityError::CardRefused { step: label, sw: Some(plain.sw) });
            }
            match label {
                "SM READ BINARY (old)" => old.extend_from_slice(&plain.data),
                "SM READ BINARY (new)" => new.extend_from_slice(&plain.data),
                _ if !plain.data.is_empty() => return Err(AuthorityError::Sm(SmError::Malformed)),
                _ => {}
            }
        }
        let content = &self.request.content;
        if new[..] != *content.bytes() {
            return Err(AuthorityError::ReadBackMismatch);
        }
        let terminal = self.config.terminal_chain.last().expect("checked at begin");
        Ok(Receipt {
            target: content.target(),
            content_sha256: hex32(&content.intent().content_hash),
            old_content_sha256: (old.len() == content.bytes().len()).then(|| hex32(&super::sha256(&old))),
            card_number_sha256: hex32(&self.info.card_number_hash),
            terminal: terminal.chr().to_string(),
            chip_auth_info_signer: self.info.signer.clone(),
            time_unix: self.request.now_unix,
            round_trips: self.round_trips,
        })
    }
}

/// READ BINARY commands for a whole file of `len` bytes: the first by SFI (`P1 = 80
/// | SFI`, which also makes the EF current), the rest by offset in P1-P2.
fn read_commands(sfi: u8, len: usize, plan: Plan) -> Vec<Command> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < len {
        let n = plan.chunk.min(len - off);
        let (p1, p2) = if off == 0 { (0x80 | (sfi & 0x1F), 0x00) } else { (((off >> 8) & 0x7F) as u8, off as u8) };
        let le = if n > 255 || plan.extended { Le::Extended(n as u16) } else { Le::Short(n as u8) };
        out.push(Command::new(0x00, 0xB0, p1, p2).with_le(le));
        off += n;
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth::FixedRandom;
    use crate::write::chip_auth_info::card_number_hash;
    use crate::write::chip_auth_info::tests::{chip_key, issuer, number};
    use crate::write::cvc::tests::{body, date, pki};
    use crate::write::cvc::{Role, SoftwareSigner};
    use crate::write::record::NewAddress;

    /// 2026-04-30 00:00 UTC.
    pub(crate) const NOW: u64 = 1_777_507_200;

    pub(crate) fn authority_with(chain: Vec<Cvc>, signer: SoftwareSigner) -> Authority {
        let p = pki();
        Authority::new(AuthorityConfig {
            terminal_chain: chain,
            cvca: TrustAnchor::from_self_signed(&p.cvca).unwrap(),
            signer: Arc::new(signer),
            issuer_root: issuer().root,
        })
    }

    pub(crate) fn authority() -> Authority {
        let p = pki();
        authority_with(vec![p.dv, p.term], p.term_key)
    }

    pub(crate) fn chip_auth_info_file() -> Vec<u8> {
        let i = issuer();
        ChipAuthInfo::issue(card_number_hash(&number()), &chip_key().public_key(), i.ds, &i.ds_key).unwrap().encode()
    }

    pub(crate) fn request(limits: Limits) -> WriteRequest {
        let rec = NewAddress {
            date: "20260430".into(),
            municipality_code: "131016".into(),
            address: "東京都千代田区霞が関１－１－１".into(),
        };
        WriteRequest {
            content: NewContent::df2_ef01(&rec).unwrap(),
            chip_auth_info: chip_auth_info_file(),
            limits,
            now_unix: NOW,
            card_number_hash: Some(card_number_hash(&number())),
        }
    }

    fn begin(a: &Authority, r: WriteRequest) -> Result<(WriteSession, Batch), AuthorityError> {
        a.begin(r, &mut FixedRandom::new(&[0xE7, 0x01]))
    }

    #[test]
    fn the_first_batch_is_the_chain_then_set_at_then_challenge() {
        let (s, b) = begin(&authority(), request(Limits::FULL)).unwrap();
        let labels: Vec<_> = b.commands.iter().map(|c| c.label).collect();
        assert_eq!(
            labels,
            [
                "MSE:SET DST",
                "PSO:VERIFY CERTIFICATE",
                "MSE:SET DST",
                "PSO:VERIFY CERTIFICATE",
                "MSE:SET AT (TA)",
                "GET CHALLENGE"
            ]
        );
        assert!(b.commands.iter().all(|c| c.expected_sw == 0x9000));
        // The write intent is in MSE:SET AT.
        let set_at = &b.commands[4].apdu;
        let intent = request(Limits::FULL).content.intent();
        assert!(set_at.windows(33).any(|w| w == intent.to_bytes()));
        assert_eq!(s.round_trips(), 1);
        assert!(!format!("{:?}", b.commands[4]).contains("AB"));
    }

    #[test]
    fn refusals_before_any_apdu() {
        let a = authority();
        // A forged EF.ChipAuthInfo: a bit of the signature flipped.
        let mut r = request(Limits::FULL);
        let n = r.chip_auth_info.len();
        r.chip_auth_info[n - 1] ^= 1;
        assert_eq!(begin(&a, r).unwrap_err(), AuthorityError::ChipAuthInfo(ChipAuthInfoError::BadSignature));
        // Another card's number.
        let mut r = request(Limits::FULL);
        r.card_number_hash = Some([0; 32]);
        assert_eq!(begin(&a, r).unwrap_err(), AuthorityError::ChipAuthInfo(ChipAuthInfoError::CardNumberMismatch));
        // Garbage instead of the file.
        let mut r = request(Limits::FULL);
        r.chip_auth_info = vec![0x6A, 0x82];
        assert!(matches!(begin(&a, r).unwrap_err(), AuthorityError::ChipAuthInfo(ChipAuthInfoError::Encoding(_))));
        // The clock outside the certificate's validity, and outside 2000–2099.
        let mut r = request(Limits::FULL);
        r.now_unix = NOW + 90 * 86_400;
        assert!(matches!(begin(&a, r).unwrap_err(), AuthorityError::TerminalChain(CvcError::Expired { .. })));
        let mut r = request(Limits::FULL);
        r.now_unix = 0;
        assert_eq!(begin(&a, r).unwrap_err(), AuthorityError::Clock);
        // A terminal certificate without the write right.
        let p = pki();
        let t0 = body(
            "JPAWPDV000001",
            "JPAWPTERM00009",
            &p.term_key,
            Role::Terminal,
            0,
            date(2026, 1, 1),
            date(2026, 12, 31),
        )
        .sign(&p.dv_key)
        .unwrap();
        let a0 = authority_with(vec![p.dv.clone(), t0], p.term_key.clone());
        let e = begin(&a0, request(Limits::FULL)).unwrap_err();
        assert_eq!(e, AuthorityError::TerminalChain(CvcError::NoWriteRight { chr: "JPAWPTERM00009".into() }));
        assert_eq!(e.code(), "terminal_chain_invalid");
        // A link that cannot carry a short protected segment.
        let tiny = Limits { extended_length: false, max_command: 200, max_response: 258 };
        assert_eq!(begin(&a, request(tiny)).unwrap_err(), AuthorityError::LinkTooSmall);
    }

    #[test]
    fn records_are_checked_before_a_request_exists() {
        // The request carries NewContent, which only a checked record produces: the
        // refusals of the record are those of record.rs.
        for (code, addr) in [("131017", "東京都"), ("131016", "東京都\u{7}"), ("131016", &"長".repeat(81))] {
            let rec = NewAddress { date: "20260430".into(), municipality_code: code.into(), address: addr.into() };
            assert!(NewContent::df2_ef01(&rec).is_err());
        }
    }

    #[test]
    fn plans() {
        let p = plan(&Limits::FULL, 342).unwrap();
        assert_eq!(p, Plan { segment: 342, chunk: 342, extended: true });
        let p = plan(&Limits::SHORT, 342).unwrap();
        assert_eq!(p, Plan { segment: 224, chunk: 223, extended: false });
        assert_eq!(read_commands(1, 342, p).len(), 2);
        let p = plan(&Limits::SHORT, 2505).unwrap();
        let reads = read_commands(6, 2505, p);
        assert_eq!(reads.len(), 12);
        assert_eq!((reads[0].p1, reads[0].p2), (0x86, 0x00));
        assert_eq!((reads[11].p1, reads[11].p2), (0x09, 0x95));
        assert_eq!(reads[11].le, Some(Le::Short((2505 - 11 * 223) as u8)));
    }

    #[test]
    fn a_wrong_status_or_missing_answer_refuses_and_ends_the_session() {
        let (mut s, b) = begin(&authority(), request(Limits::FULL)).unwrap();
        // The card refused the second certificate (63 00); the relay stopped there.
        let answers = vec![vec![0x90, 0x00], vec![0x90, 0x00], vec![0x90, 0x00], vec![0x63, 0x00]];
        assert!(b.commands.len() > answers.len());
        match s.resume(&answers) {
            Next::Refused(AuthorityError::CardRefused { step, sw: Some(0x6300) }) => {
                assert_eq!(step, "PSO:VERIFY CERTIFICATE")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(s.resume(&answers), Next::Refused(AuthorityError::SessionOver)));
    }
}
