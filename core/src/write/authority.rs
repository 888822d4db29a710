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
use super::sm::{self, SessionKeys, SmError, TerminalSide};
use super::{CvDate, hex32};
use crate::apdu::{Command, Le};
use crate::auth::RandomSource;
use crate::crypto::Key16;
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
    AwaitChallenge { eph: Ephemeral, labels: Vec<&'static str> },
    AwaitChipAuth { eph: Ephemeral, labels: Vec<&'static str> },
    AwaitWrite { sm: TerminalSide, keys: Zeroizing<[u8; 32]>, labels: Vec<&'static str> },
    Over,
}

/// The session's ephemeral key with its scalar, kept so that the session can be
/// exported ([`WriteSession::export`]); the scalar is wiped on drop.
struct Ephemeral {
    key: ChipAuthTerminal,
    scalar: Zeroizing<[u8; 32]>,
}

/// Serves the bytes of one scalar, so that [`ChipAuthTerminal::generate`] rebuilds
/// the key a scalar names (a valid scalar is taken on the first draw).
struct ScalarSource<'a>(&'a [u8; 32]);

impl RandomSource for ScalarSource<'_> {
    fn fill(&mut self, dest: &mut [u8]) {
        for (d, s) in dest.iter_mut().zip(self.0.iter().cycle()) {
            *d = *s;
        }
    }
}

impl Ephemeral {
    fn generate(rng: &mut dyn RandomSource) -> Self {
        let secret = super::cvc::random_secret(rng);
        let mut scalar = Zeroizing::new([0u8; 32]);
        let mut b = secret.to_bytes();
        scalar.copy_from_slice(&b);
        zeroize::Zeroize::zeroize(&mut b[..]);
        Self::from_scalar(scalar)
    }

    fn from_scalar(scalar: Zeroizing<[u8; 32]>) -> Self {
        Ephemeral { key: ChipAuthTerminal::generate(&mut ScalarSource(&scalar)), scalar }
    }
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

        let eph = Ephemeral::generate(rng);
        let batch = self.first_batch(&request.content, &eph.key);
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

    /// The opening batch: the chain, MSE:SET AT with the write intent, GET CHALLENGE.
    fn first_batch(&self, content: &NewContent, eph: &ChipAuthTerminal) -> Batch {
        let aux = eac::encode_aux(&content.intent());
        let mut batch = Batch::default();
        for cert in &self.config.terminal_chain {
            batch.push("MSE:SET DST", &ta::mse_set_dst(cert.car()).encode());
            batch.push("PSO:VERIFY CERTIFICATE", &ta::pso_verify_certificate(cert).encode());
        }
        if let Some(terminal) = self.config.terminal_chain.last() {
            batch.push("MSE:SET AT (TA)", &ta::mse_set_at(terminal.chr(), &eph.comp(), &aux).encode());
        }
        batch.push("GET CHALLENGE", &ta::get_challenge().encode());
        batch
    }

    /// Rebuilds a session from [`WriteSession::export`]'s bytes, under this
    /// authority's configuration. The request is checked again as at
    /// [`Authority::begin`] (its own time, the chain, EF.ChipAuthInfo); the labels
    /// and the secure-messaging state are derived again from the stored secrets, so
    /// the restored session answers exactly as the exported one would have.
    ///
    /// The bytes hold the session's secrets (the ephemeral key or the session keys):
    /// store them encrypted, bound to the session (the service does).
    pub fn restore(&self, bytes: &[u8]) -> Result<WriteSession, SessionImportError> {
        let mut r = ExportReader(bytes);
        if r.u8()? != EXPORT_VERSION {
            return Err(SessionImportError::Version);
        }
        let tag = r.u8()?;
        let round_trips = r.u32()?;
        let now_unix = r.u64()?;
        let limits = Limits {
            extended_length: match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(SessionImportError::Malformed),
            },
            max_command: r.u32()? as usize,
            max_response: r.u32()? as usize,
        };
        let card_number_hash = match r.u8()? {
            0 => None,
            1 => Some(r.array32()?),
            _ => return Err(SessionImportError::Malformed),
        };
        let target = match r.u8()? {
            1 => WriteTarget::Df2Ef01,
            2 => WriteTarget::Df1Ef04,
            _ => return Err(SessionImportError::Malformed),
        };
        let content_bytes = r.bytes()?;
        let chip_auth_info = r.bytes()?.to_vec();
        let secret = if tag == 0 { None } else { Some(Zeroizing::new(r.array32()?)) };
        if !r.0.is_empty() {
            return Err(SessionImportError::Malformed);
        }
        let content = content_from_bytes(target, content_bytes).ok_or(SessionImportError::Malformed)?;
        let request = WriteRequest { content, chip_auth_info, limits, now_unix, card_number_hash };
        // The checks of `begin`, again: the bytes were written by an authority, but
        // the configuration may have changed since.
        let today = CvDate::from_unix(now_unix).ok_or(AuthorityError::Clock)?;
        verify_at(&self.config.terminal_chain, &self.config.cvca, today)
            .and_then(|c| c.require_write())
            .map_err(AuthorityError::TerminalChain)?;
        let info = ChipAuthInfo::parse(&request.chip_auth_info)?.verify(&self.config.issuer_root, today)?;
        let mut session =
            WriteSession { config: Arc::clone(&self.config), request, info, state: State::Over, round_trips };
        session.state = match (tag, secret) {
            (0, None) => State::Over,
            (1, Some(scalar)) => {
                let eph = Ephemeral::from_scalar(scalar);
                let labels = self.first_batch(&session.request.content, &eph.key).labels();
                State::AwaitChallenge { eph, labels }
            }
            (2, Some(scalar)) => {
                State::AwaitChipAuth { eph: Ephemeral::from_scalar(scalar), labels: CHIP_AUTH_LABELS.to_vec() }
            }
            (3, Some(keys)) => {
                let (sm, _, labels) = session.write_batch(&keys)?;
                State::AwaitWrite { sm, keys, labels }
            }
            _ => return Err(SessionImportError::Malformed),
        };
        Ok(session)
    }
}

/// The version byte of [`WriteSession::export`]'s format.
const EXPORT_VERSION: u8 = 1;

/// The labels of the second batch.
const CHIP_AUTH_LABELS: [&str; 3] = ["EXTERNAL AUTHENTICATE", "MSE:SET AT (CA)", "GENERAL AUTHENTICATE"];

/// Why [`Authority::restore`] cannot rebuild a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionImportError {
    /// The bytes are not an exported session of this version.
    #[error("not an exported write session of format version 1")]
    Version,
    /// The bytes are truncated or malformed.
    #[error("malformed exported write session")]
    Malformed,
    /// The session no longer passes the authority's checks.
    #[error(transparent)]
    Authority(#[from] AuthorityError),
}

impl From<ChipAuthInfoError> for SessionImportError {
    fn from(e: ChipAuthInfoError) -> Self {
        SessionImportError::Authority(e.into())
    }
}

impl SessionImportError {
    /// A stable name: `session_import_version`, `session_import_malformed`, or the
    /// authority's code.
    pub fn code(&self) -> &'static str {
        match self {
            SessionImportError::Version => "session_import_version",
            SessionImportError::Malformed => "session_import_malformed",
            SessionImportError::Authority(e) => e.code(),
        }
    }
}

struct ExportReader<'a>(&'a [u8]);

impl<'a> ExportReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SessionImportError> {
        if self.0.len() < n {
            return Err(SessionImportError::Malformed);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, SessionImportError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, SessionImportError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, SessionImportError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    fn array32(&mut self) -> Result<[u8; 32], SessionImportError> {
        let mut a = [0u8; 32];
        a.copy_from_slice(self.take(32)?);
        Ok(a)
    }
    fn bytes(&mut self) -> Result<&'a [u8], SessionImportError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// Rebuilds checked content from the exact file bytes: the record (DF2/EF01) or
/// the image (DF1/EF04) is taken out and built again, and must give the same bytes.
fn content_from_bytes(target: WriteTarget, bytes: &[u8]) -> Option<NewContent> {
    let built = match target {
        WriteTarget::Df2Ef01 => {
            let rest = bytes.strip_prefix(&[0xD2, 0x08])?;
            let (date, rest) = rest.split_at_checked(8)?;
            let rest = rest.strip_prefix(&[0xD3, 0x06])?;
            let (code, rest) = rest.split_at_checked(6)?;
            let addr = rest.strip_prefix(&[0xD4, 0x82, 0x01, 0x40])?;
            let end = addr.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            let record = super::record::NewAddress {
                date: String::from_utf8(date.to_vec()).ok()?,
                municipality_code: String::from_utf8(code.to_vec()).ok()?,
                address: String::from_utf8(addr[..end].to_vec()).ok()?,
            };
            NewContent::df2_ef01(&record).ok()?
        }
        WriteTarget::Df1Ef04 => {
            let image = bytes.strip_prefix(&[0xDF, 0xD1, 0x82, 0x09, 0xC4])?;
            let end = image.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            NewContent::df1_ef04(&image[..end]).ok()?
        }
    };
    (built.bytes() == bytes).then_some(built)
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
            State::AwaitWrite { sm, labels, .. } => self.after_write(sm, &labels, responses).map(Next::Done),
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
        eph: Ephemeral,
        labels: &[&'static str],
        responses: &[Vec<u8>],
    ) -> Result<Next, AuthorityError> {
        let data = check_all(labels, responses)?;
        let r_card = ta::parse_challenge(data[data.len() - 1])?;
        let aux = eac::encode_aux(&self.request.content.intent());
        let msg = eac::ta_message(&self.info.card_number_hash, &r_card, &eph.key.comp(), &aux);
        let signature = self.config.signer.sign(&msg)?;
        let terminal = self.config.terminal_chain.last().expect("checked at begin");
        if !terminal.body().public_key.verify(&msg, &signature) {
            return Err(AuthorityError::SignerKeyMismatch);
        }
        let mut batch = Batch::default();
        batch.push("EXTERNAL AUTHENTICATE", &ta::external_authenticate(&signature).encode());
        batch.push("MSE:SET AT (CA)", &eac::ca_mse_set_at().encode());
        batch.push("GENERAL AUTHENTICATE", &eac::ca_general_authenticate(&eph.key.public_key()).encode());
        let labels = batch.labels();
        self.state = State::AwaitChipAuth { eph, labels };
        Ok(Next::Batch(batch))
    }

    fn after_chip_auth(
        &mut self,
        eph: Ephemeral,
        labels: &[&'static str],
        responses: &[Vec<u8>],
    ) -> Result<Next, AuthorityError> {
        let data = check_all(labels, responses)?;
        let session_keys = eph.key.finish(&self.info.chip_key, data[2])?;
        let mut keys = Zeroizing::new([0u8; 32]);
        keys[..16].copy_from_slice(session_keys.k_enc().expose());
        keys[16..].copy_from_slice(session_keys.k_mac().expose());
        drop(session_keys);
        let (sm, batch, labels) = self.write_batch(&keys)?;
        self.state = State::AwaitWrite { sm, keys, labels };
        Ok(Next::Batch(batch))
    }

    /// The secure-messaging batch under the session keys `K_enc ‖ K_mac`: SELECT,
    /// READ BINARY (old), UPDATE BINARY, READ BINARY (new). Deterministic in the keys
    /// and the request, so an imported session rebuilds the same channel state.
    fn write_batch(&self, keys: &[u8; 32]) -> Result<(TerminalSide, Batch, Vec<&'static str>), AuthorityError> {
        let mut k_enc = [0u8; 16];
        let mut k_mac = [0u8; 16];
        k_enc.copy_from_slice(&keys[..16]);
        k_mac.copy_from_slice(&keys[16..]);
        let mut sm = TerminalSide::new(SessionKeys::new(Key16::from_bytes(k_enc), Key16::from_bytes(k_mac)));
        zeroize::Zeroize::zeroize(&mut k_enc);
        zeroize::Zeroize::zeroize(&mut k_mac);
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
        Ok((sm, batch, labels))
    }

    /// The session as bytes, for [`Authority::restore`] (another process, or after a
    /// restart). **The bytes hold the session's secrets** — the ephemeral private
    /// key before Chip Authentication, the session keys after it — in a zeroizing
    /// buffer; store them only encrypted. A session that is over exports without
    /// any secret.
    ///
    /// Format (version 1, integers big-endian): `01`, state (`0` over, `1` awaiting
    /// the challenge, `2` awaiting Chip Authentication, `3` awaiting the write),
    /// round trips (u32), request time (u64), extended-length flag (u8), maximum
    /// command and response (u32 each), card-number hash (`0`, or `1` ‖ 32 bytes),
    /// target (`1` DF2/EF01, `2` DF1/EF04), the new content and EF.ChipAuthInfo
    /// (each u32 length ‖ bytes), then 32 secret bytes unless over (the ephemeral
    /// scalar, or `K_enc ‖ K_mac`).
    pub fn export(&self) -> Zeroizing<Vec<u8>> {
        let r = &self.request;
        let mut out = Zeroizing::new(Vec::with_capacity(128 + r.content.bytes().len() + r.chip_auth_info.len()));
        let (tag, secret): (u8, Option<&[u8; 32]>) = match &self.state {
            State::Over => (0, None),
            State::AwaitChallenge { eph, .. } => (1, Some(&eph.scalar)),
            State::AwaitChipAuth { eph, .. } => (2, Some(&eph.scalar)),
            State::AwaitWrite { keys, .. } => (3, Some(keys)),
        };
        out.push(EXPORT_VERSION);
        out.push(tag);
        out.extend_from_slice(&self.round_trips.to_be_bytes());
        out.extend_from_slice(&r.now_unix.to_be_bytes());
        out.push(u8::from(r.limits.extended_length));
        out.extend_from_slice(&u32::try_from(r.limits.max_command).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&u32::try_from(r.limits.max_response).unwrap_or(u32::MAX).to_be_bytes());
        match &r.card_number_hash {
            None => out.push(0),
            Some(h) => {
                out.push(1);
                out.extend_from_slice(h);
            }
        }
        out.push(match r.content.target() {
            WriteTarget::Df2Ef01 => 1,
            WriteTarget::Df1Ef04 => 2,
        });
        for b in [r.content.bytes(), &r.chip_auth_info[..]] {
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
        if let Some(s) = secret {
            out.extend_from_slice(s);
        }
        out
    }

    /// Whether the session is over (done or refused).
    pub fn is_over(&self) -> bool {
        matches!(self.state, State::Over)
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

#[cfg(test)]
mod export_tests {
    use super::tests::{NOW, authority, request};
    use super::*;
    use crate::auth::FixedRandom;

    fn begin() -> (WriteSession, Batch) {
        authority().begin(request(Limits::SHORT), &mut FixedRandom::new(&[0xE7, 0x01])).unwrap()
    }

    fn challenge_answers(b: &Batch) -> Vec<Vec<u8>> {
        let mut r: Vec<Vec<u8>> = b.commands.iter().map(|_| vec![0x90, 0x00]).collect();
        *r.last_mut().unwrap() = vec![1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00];
        r
    }

    #[test]
    fn a_restored_session_answers_as_the_original() {
        let (mut s, b) = begin();
        let bytes = s.export();
        // Another authority object with the same configuration (another instance).
        let mut r = Authority::new(AuthorityConfig {
            terminal_chain: authority().config().terminal_chain.clone(),
            cvca: authority().config().cvca.clone(),
            signer: Arc::clone(&authority().config().signer),
            issuer_root: authority().config().issuer_root.clone(),
        })
        .restore(&bytes)
        .unwrap();
        assert_eq!(r.round_trips(), 1);
        let answers = challenge_answers(&b);
        let (Next::Batch(b1), Next::Batch(b2)) = (s.resume(&answers), r.resume(&answers)) else {
            panic!("second batch expected")
        };
        // ECDSA here is deterministic (RFC 6979): the same EXTERNAL AUTHENTICATE.
        assert_eq!(b1, b2);
        assert_eq!(b1.commands.len(), 3);
        // Export again in the second state, restore, and both refuse the same bad token.
        let mut r2 = authority().restore(&r.export()).unwrap();
        assert_eq!(r2.round_trips(), 2);
        let bad = vec![vec![0x90, 0x00], vec![0x90, 0x00], vec![0x7C, 0x00, 0x90, 0x00]];
        let (Next::Refused(e1), Next::Refused(e2)) = (r.resume(&bad), r2.resume(&bad)) else { panic!() };
        assert_eq!(e1, e2);
        // An ended session exports without a secret and stays over.
        assert!(r.is_over());
        let over = r.export();
        let mut r3 = authority().restore(&over).unwrap();
        assert!(matches!(r3.resume(&bad), Next::Refused(AuthorityError::SessionOver)));
        assert!(over.len() < bytes.len());
    }

    #[test]
    fn malformed_exports_are_refused_without_panics() {
        let (s, _) = begin();
        let bytes = s.export();
        let a = authority();
        for n in 0..bytes.len() {
            assert!(a.restore(&bytes[..n]).is_err(), "truncated at {n}");
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(a.restore(&longer).unwrap_err(), SessionImportError::Malformed);
        let mut v = bytes.to_vec();
        v[0] = 2;
        assert_eq!(a.restore(&v).unwrap_err().code(), "session_import_version");
        for tag in [0u8, 4, 0xFF] {
            let mut v = bytes.to_vec();
            v[1] = tag;
            assert!(a.restore(&v).is_err(), "state {tag}");
        }
        // A changed content byte no longer rebuilds as checked content.
        let mut v = bytes.to_vec();
        let content_at = 1 + 1 + 4 + 8 + 1 + 4 + 4 + 33 + 1 + 4;
        v[content_at] ^= 0xFF;
        assert_eq!(a.restore(&v).unwrap_err(), SessionImportError::Malformed);
        // A request time at which the authority's chain has expired is refused again.
        let mut v = bytes.to_vec();
        v[6..14].copy_from_slice(&(NOW + 90 * 86_400).to_be_bytes());
        assert_eq!(a.restore(&v).unwrap_err().code(), "terminal_chain_invalid");
    }

    #[test]
    fn the_debug_form_of_a_session_shows_no_secret() {
        let (s, _) = begin();
        let bytes = s.export();
        let scalar = hex::encode(&bytes[bytes.len() - 32..]);
        let dbg = format!("{s:?}").to_lowercase();
        assert!(!dbg.contains(&scalar[..8]));
    }
}
