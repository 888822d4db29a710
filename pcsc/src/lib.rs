//! # zairyu-pcsc
//!
//! The PC/SC backend of zairyu, and only a transport: [`PcscCard`] implements
//! [`zairyu::transport::Transport`] over a PC/SC reader (pcsc-lite's `pcscd` on Linux,
//! WinSCard on Windows); [`list_readers`] and [`wait_for_card`] are the reader
//! queries the CLI, the C library and the Python module share. The counter loop
//! (`zairyu watch`) lives in the CLI.
//!
//! What this crate does, and what it leaves to the core:
//!
//! * one PC/SC **transaction** per card session: taken at [`PcscCard::connect`], held
//!   until the `PcscCard` is dropped or [`PcscCard::finish`]ed, so no other application
//!   can interleave commands with (or reset the card under) a secure-messaging session;
//! * `61 XX` responses (produced by some readers and T=0 drivers; the chip never does)
//!   are passed up as they are: the core's `Card::exchange` completes them with GET
//!   RESPONSE, for every transport alike;
//! * what the reader can carry is asked at connect, before the first read
//!   ([`ReaderCapabilities`]: `SCARD_ATTR_MAXINPUT`, the PC/SC part 10 property
//!   `dwMaxAPDUDataSize` where the driver has it, and for a T=0 card its ATR), and
//!   [`Transport::limits`] says so: a reader known to carry short APDUs only, or a T=0
//!   card without extended Lc/Le, is never sent an extended APDU. Otherwise extended
//!   APDUs are passed through, and the driver failures a reader without them produces
//!   (`SCARD_E_NOT_TRANSACTED`, `SCARD_E_INSUFFICIENT_BUFFER`,
//!   `SCARD_E_INVALID_PARAMETER`) become [`TransportError::LinkRefused`], on which the
//!   core uses its next short-APDU variant: falling back is the core's job;
//! * the receive buffer of each transmit holds what the command's Le asks for, never
//!   more than the largest answer of this protocol ([`RECEIVE_BUFFER`]);
//! * PC/SC errors become [`TransportError`]s by one function, [`map_pcsc_error`];
//! * a [`PcscContext`] whose service went away (pcscd restarted) is re-established on
//!   the next call.
//!
//! Logs (the `log` crate, target `zairyu_pcsc`) show reader names, protocols, APDU
//! headers, lengths and status words only — never card data, card numbers or keys.

use std::ffi::CString;
use std::sync::Mutex;
use std::time::Duration;

use pcsc::{Disposition, Protocol, Protocols, ReaderState, Scope, ShareMode, State};
use self_cell::{MutBorrow, self_cell};
use zairyu::apdu::ParsedCommand;
use zairyu::error::{LinkRefusal, TransportError};
use zairyu::transport::{Limits, Transport};
use zeroize::Zeroizing;

pub use pcsc;

/// Log target of this crate.
const LOG: &str = "zairyu_pcsc";

/// Longest single wait inside `SCardGetStatusChange` for callers that loop on it and
/// must notice a stop request (the CLI's `watch`, the Python module's waits): how
/// quickly such a loop sees it.
pub const POLL: Duration = Duration::from_millis(250);

/// The largest receive buffer offered to a transmit: the largest response the spec
/// defines, 7015 bytes with SW (first-generation DF1/EF01 under SM). A longer answer
/// is malformed for this protocol; PC/SC reports it as `SCARD_E_INSUFFICIENT_BUFFER`.
/// Each transmit offers less when the command's Le asks for less ([`receive_len`]).
pub const RECEIVE_BUFFER: usize = zairyu::apdu::MAX_RESPONSE;

/// The receive buffer for one command: Ne + SW when it has an Le (at most
/// [`RECEIVE_BUFFER`]), 258 bytes when it has none (room for data a card sends
/// unasked), [`RECEIVE_BUFFER`] when it does not parse.
pub fn receive_len(command: &[u8]) -> usize {
    match ParsedCommand::parse(command) {
        Some(ParsedCommand { ne: Some(ne), .. }) => ne.min(RECEIVE_BUFFER - 2) + 2,
        Some(_) => 256 + 2,
        None => RECEIVE_BUFFER,
    }
}

/// `FEATURE_GET_TLV_PROPERTIES` (PC/SC part 10 §2.3).
const FEATURE_GET_TLV_PROPERTIES: u8 = 0x12;
/// `PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize`.
const PROPERTY_MAX_APDU_DATA_SIZE: u8 = 0x0A;

/// What a reader (and, for T=0, the card's ATR) says it can carry, asked at connect
/// before the first read. `None` where the driver does not answer (vpcd answers
/// none of the reader queries).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderCapabilities {
    /// `SCARD_ATTR_MAXINPUT`: the longest APDU the reader takes in one message (the
    /// CCID driver answers its descriptor's `dwMaxCCIDMessageLength` − 10).
    pub max_input: Option<u32>,
    /// The PC/SC part 10 property `dwMaxAPDUDataSize`: the CCID driver answers 0 for
    /// a short-APDU reader and 65,536 for a TPDU or extended-APDU reader.
    pub max_apdu_data_size: Option<u32>,
    /// For a T=0 card: whether its ATR declares extended Lc and Le fields (card
    /// capabilities, ISO/IEC 7816-4 §8.1.1.2.7); `None` if it says nothing.
    pub atr_extended_length: Option<bool>,
}

impl ReaderCapabilities {
    /// Whether extended-length APDUs can be carried, as far as the reader and card
    /// say: not on a reader whose `dwMaxAPDUDataSize` is at most 256 (short APDUs
    /// only), nor to a T=0 card whose ATR does not declare extended Lc/Le (T=0 has a
    /// one-byte P3); otherwise yes, until a transmit shows otherwise.
    pub fn extended_length(&self, protocol: Option<Protocol>) -> bool {
        if self.max_apdu_data_size.is_some_and(|n| n <= 256) {
            return false;
        }
        !(protocol == Some(Protocol::T0) && self.atr_extended_length != Some(true))
    }

    fn ask(card: &pcsc::Card, atr: &[u8], protocol: Option<Protocol>) -> Self {
        let max_input = card
            .get_attribute_owned(pcsc::Attribute::Maxinput)
            .ok()
            .and_then(|v| Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?)));
        ReaderCapabilities {
            max_input,
            max_apdu_data_size: part10_max_apdu_data_size(card),
            atr_extended_length: if protocol == Some(Protocol::T0) { atr_extended_length(atr) } else { None },
        }
    }
}

/// `dwMaxAPDUDataSize` from the reader's PC/SC part 10 TLV properties, if it has them.
fn part10_max_apdu_data_size(card: &pcsc::Card) -> Option<u32> {
    let mut buf = [0u8; 256];
    // CM_IOCTL_GET_FEATURE_REQUEST = SCARD_CTL_CODE(3400) (PC/SC part 10 §2.2); the
    // features: tag (1), length 4 (1), control code (4, big-endian).
    let features = card.control(pcsc::ctl_code(3400), &[], &mut buf).ok()?;
    let code = features
        .chunks_exact(6)
        .find(|f| f[0] == FEATURE_GET_TLV_PROPERTIES && f[1] == 4)
        .map(|f| u32::from_be_bytes([f[2], f[3], f[4], f[5]]))?;
    let mut props = [0u8; 256];
    let props = card.control(code as _, &[], &mut props).ok()?;
    // Properties: tag (1), length (1), value (little-endian).
    let mut rest = props;
    while let [tag, len, tail @ ..] = rest {
        let (value, next) = tail.split_at_checked(usize::from(*len))?;
        if *tag == PROPERTY_MAX_APDU_DATA_SIZE && value.len() == 4 {
            return Some(u32::from_le_bytes([value[0], value[1], value[2], value[3]]));
        }
        rest = next;
    }
    None
}

/// Whether an ATR's historical bytes declare extended Lc and Le fields (the third
/// software-function byte of the card capabilities, tag `7X`, bit 7; ISO/IEC 7816-4
/// §8.1.1.2.7). `None` if the ATR is malformed or has no card capabilities.
pub fn atr_extended_length(atr: &[u8]) -> Option<bool> {
    let t0 = *atr.get(1)?;
    let k = usize::from(t0 & 0x0F);
    let (mut y, mut i) = (t0 >> 4, 2usize);
    loop {
        i += usize::from(y & 1) + usize::from((y >> 1) & 1) + usize::from((y >> 2) & 1);
        if y & 8 == 0 {
            break;
        }
        y = *atr.get(i)? >> 4;
        i += 1;
    }
    let hist = atr.get(i..i.checked_add(k)?)?;
    let objects = match hist.split_first()? {
        (0x80, rest) => rest,
        // Category 00: the last three bytes are a status indicator.
        (0x00, rest) => rest.get(..rest.len().checked_sub(3)?)?,
        _ => return None,
    };
    let mut rest = objects;
    while let [b, tail @ ..] = rest {
        let (value, next) = tail.split_at_checked(usize::from(b & 0x0F))?;
        if b >> 4 == 0x7 && value.len() >= 3 {
            return Some(value[2] & 0x40 != 0);
        }
        rest = next;
    }
    None
}

/// How long a failed transmit waits for pcscd to tell a removed card from a driver
/// failure (pcsc-lite polls card presence every 400 ms for readers without
/// interrupt-driven events, vpcd among them).
const LINK_SETTLE: Duration = Duration::from_millis(1200);

/// Maps a PC/SC error to the core's transport error. The one place this mapping lives.
///
/// | PC/SC | [`TransportError`] |
/// |---|---|
/// | `SCARD_W_REMOVED_CARD`, `SCARD_E_NO_SMARTCARD` | `CardRemoved` |
/// | `SCARD_W_RESET_CARD` | `CardReset` (the SM session is dropped) |
/// | `SCARD_E_NO_SERVICE`, `SCARD_E_SERVICE_STOPPED`, `SCARD_E_NO_READERS_AVAILABLE`, `SCARD_E_READER_UNAVAILABLE`, `SCARD_E_UNKNOWN_READER` | `ReaderUnavailable(…)` |
/// | WinSCard's (Windows; pcsc-lite does not return them in practice): `SCARD_E_SERVER_TOO_BUSY`, `SCARD_P_SHUTDOWN`, `SCARD_E_SYSTEM_CANCELLED` (log-off, shut-down) | `ReaderUnavailable(…)` |
/// | `SCARD_E_SHARING_VIOLATION` | `SharingViolation` |
/// | `SCARD_E_NOT_TRANSACTED` (the driver failed the transmit), `SCARD_E_INSUFFICIENT_BUFFER`, `SCARD_E_INVALID_PARAMETER` | `LinkRefused(…)`: the core's signal to use its next short-APDU variant |
/// | anything else | `Other(text)` |
///
/// A failed transmit is first checked against the card's presence
/// (`PcscCard::transmit`), so a card that left is `CardRemoved`, not `LinkRefused`;
/// so is WinSCard's `SCARD_E_COMM_DATA_LOST` (its word for a link that broke
/// mid-command, where pcsc-lite says `SCARD_E_NOT_TRANSACTED` or `SCARD_F_COMM_ERROR`).
///
/// pcsc-lite and WinSCard share the `pcsc` crate's one [`pcsc::Error`] enum, so one
/// mapping serves both; the codes only WinSCard returns in practice are in the table
/// above. WinSCard can also return plain Win32 errors (e.g. `ERROR_INVALID_HANDLE`
/// after the service stopped when the last reader was unplugged), which the `pcsc` crate
/// reports as `SCARD_F_UNKNOWN_ERROR` when built without debug assertions, and panics
/// on with them: this workspace's Cargo.toml turns them off for `pcsc` in debug builds
/// (`[profile.dev.package.pcsc] debug-assertions = false`), and a program that
/// depends on this crate needs the same lines in its own Cargo.toml. See
/// [`PcscContext`] for how a context recovers from these errors.
///
/// [`PcscCard::connect`] turns `SCARD_E_UNKNOWN_READER` into
/// [`TransportError::NoSuchReader`] itself, as only it knows the name asked for.
pub fn map_pcsc_error(e: pcsc::Error) -> TransportError {
    use pcsc::Error as E;
    match e {
        E::RemovedCard | E::NoSmartcard => TransportError::CardRemoved,
        E::ResetCard => TransportError::CardReset,
        E::NoService
        | E::ServiceStopped
        | E::NoReadersAvailable
        | E::ReaderUnavailable
        | E::UnknownReader
        | E::ServerTooBusy
        | E::Shutdown
        | E::SystemCancelled => TransportError::ReaderUnavailable(format!("{e} ({e:?})")),
        E::SharingViolation => TransportError::SharingViolation,
        E::NotTransacted => TransportError::LinkRefused(LinkRefusal::NotTransacted),
        E::InsufficientBuffer => TransportError::LinkRefused(LinkRefusal::InsufficientBuffer),
        E::InvalidParameter => TransportError::LinkRefused(LinkRefusal::InvalidParameter),
        other => TransportError::Other(format!("PC/SC: {other} ({other:?})")),
    }
}

/// Whether `e`, from a call on a context, says the context's connection to the PC/SC
/// service is dead, so the context must be established again (pcscd stopped or
/// restarted). pcsc-lite answers `SCARD_F_COMM_ERROR` to a call that was blocked
/// in the daemon (SCardGetStatusChange) when the daemon goes away, and
/// `SCARD_E_NO_SERVICE` to later calls on that context.
///
/// WinSCard: the Smart Card service of Windows 8 and later stops when the last reader
/// is unplugged and starts again with the next; calls on a context of the stopped
/// service fail with `SCARD_E_SERVICE_STOPPED`, `SCARD_E_NO_SERVICE`,
/// `SCARD_P_SHUTDOWN` or a plain Win32 error (e.g. `ERROR_INVALID_HANDLE`), the last of
/// which the `pcsc` crate reports as `SCARD_F_UNKNOWN_ERROR`. On Windows each of these
/// drops the context, which the next call establishes anew (a second failure is
/// returned as it is).
fn service_gone(e: pcsc::Error) -> bool {
    service_gone_on(e, cfg!(windows))
}

/// [`service_gone`] for WinSCard (`winscard = true`) or pcsc-lite, so that both are
/// tested on either.
fn service_gone_on(e: pcsc::Error, winscard: bool) -> bool {
    use pcsc::Error as E;
    matches!(e, E::NoService | E::ServiceStopped | E::InvalidHandle | E::CommError)
        || (winscard && matches!(e, E::Shutdown | E::UnknownError))
}

/// A reader as PC/SC lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    /// The reader name, as [`PcscCard::connect`] takes it.
    pub name: String,
    /// Whether a card is in the reader (or the field).
    pub card_present: bool,
    /// The card's ATR, when a card is present.
    pub atr: Option<Vec<u8>>,
}

/// A PC/SC context that re-establishes itself when the service went away.
///
/// pcsc-lite contexts die with the daemon: after pcscd is restarted every call on
/// an old context fails (`SCARD_E_NO_SERVICE`, `SCARD_E_SERVICE_STOPPED`,
/// `SCARD_E_INVALID_HANDLE`, or `SCARD_F_COMM_ERROR` for a call that was blocked in
/// the daemon). Every call through this wrapper that fails so drops the context,
/// establishes a new one and retries once; if the service is still down, the call
/// fails with [`TransportError::ReaderUnavailable`] and the next call tries again.
///
/// Contexts are established in the user scope. Card handles keep their own
/// reference to the context they were made with, so re-establishing never
/// invalidates a live [`PcscCard`] (pcscd itself does, if it restarts).
#[derive(Default)]
pub struct PcscContext {
    ctx: Option<pcsc::Context>,
}

impl core::fmt::Debug for PcscContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PcscContext").field("established", &self.ctx.is_some()).finish()
    }
}

/// The context behind [`list_readers`] and [`PcscCard::connect`].
static SHARED: Mutex<PcscContext> = Mutex::new(PcscContext::new());

fn shared() -> std::sync::MutexGuard<'static, PcscContext> {
    SHARED.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl PcscContext {
    /// A context that is established on first use.
    pub const fn new() -> Self {
        PcscContext { ctx: None }
    }

    /// Whether a context is currently established (not re-checked with the service).
    pub fn is_established(&self) -> bool {
        self.ctx.is_some()
    }

    /// Drops the context; the next call establishes a new one.
    pub fn reset(&mut self) {
        self.ctx = None;
    }

    /// Runs `f` on the context, re-establishing it once if the service went away.
    /// Errors are PC/SC's, for callers that need to tell them apart.
    pub fn run<T>(&mut self, mut f: impl FnMut(&pcsc::Context) -> Result<T, pcsc::Error>) -> Result<T, pcsc::Error> {
        let mut retried = false;
        loop {
            if self.ctx.is_none() {
                let c = pcsc::Context::establish(Scope::User)?;
                log::debug!(target: LOG, "PC/SC context established");
                self.ctx = Some(c);
            }
            let Some(ctx) = self.ctx.as_ref() else { unreachable!("context was just established") };
            match f(ctx) {
                Err(e) if service_gone(e) => {
                    self.ctx = None;
                    if retried {
                        return Err(e);
                    }
                    log::info!(target: LOG, "PC/SC service connection lost ({e:?}); re-establishing the context");
                    retried = true;
                }
                r => return r,
            }
        }
    }

    /// Lists the readers, with card presence and ATR. No reader is an empty list.
    pub fn list_readers(&mut self) -> Result<Vec<ReaderInfo>, TransportError> {
        self.run(|ctx| {
            let names = match ctx.list_readers_owned() {
                Ok(n) => n,
                Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            if names.is_empty() {
                return Ok(Vec::new());
            }
            let mut states: Vec<ReaderState> = names.into_iter().map(|n| ReaderState::new(n, State::UNAWARE)).collect();
            ctx.get_status_change(Duration::ZERO, &mut states)?;
            Ok(states
                .iter()
                .filter(|s| !s.event_state().intersects(State::UNKNOWN | State::IGNORE))
                .map(|s| {
                    let present = s.event_state().contains(State::PRESENT);
                    ReaderInfo {
                        name: s.name().to_string_lossy().into_owned(),
                        card_present: present,
                        atr: (present && !s.atr().is_empty()).then(|| s.atr().to_vec()),
                    }
                })
                .collect())
        })
        .map_err(map_pcsc_error)
    }

    /// Connects to the card in `reader`; see [`PcscCard::connect`].
    pub fn connect(&mut self, reader: &str) -> Result<PcscCard, TransportError> {
        let card = self.connect_raw(reader)?;
        PcscCard::from_card(card, reader)
    }

    /// Connects in shared mode, preferring T=1, then T=0|T=1, then any protocol.
    fn connect_raw(&mut self, reader: &str) -> Result<pcsc::Card, TransportError> {
        let no_such = || TransportError::NoSuchReader(reader.to_owned());
        let name = CString::new(reader).map_err(|_| no_such())?;
        let attempts: [(Protocols, &str); 3] = [
            (Protocols::T1, "T=1"),
            (Protocols::T0 | Protocols::T1, "T=0|T=1"),
            (Protocols::T0 | Protocols::T1 | Protocols::RAW, "any (T=0|T=1|RAW)"),
        ];
        let mut last = pcsc::Error::ProtoMismatch;
        for (i, (protocols, label)) in attempts.iter().enumerate() {
            match self.run(|ctx| ctx.connect(&name, ShareMode::Shared, *protocols)) {
                Ok(card) => {
                    if i > 0 {
                        log::info!(target: LOG, "reader {reader:?}: connected with fallback protocols {label}");
                    }
                    return Ok(card);
                }
                Err(
                    e @ (pcsc::Error::ProtoMismatch
                    | pcsc::Error::InvalidValue
                    | pcsc::Error::InvalidParameter
                    | pcsc::Error::UnsupportedFeature),
                ) => {
                    log::info!(target: LOG, "reader {reader:?}: connect preferring {label} failed ({e:?}); falling back");
                    last = e;
                }
                Err(pcsc::Error::UnknownReader) => return Err(no_such()),
                Err(e) => return Err(map_pcsc_error(e)),
            }
        }
        Err(map_pcsc_error(last))
    }
}

/// Lists the PC/SC readers. No reader is an empty list; no PC/SC service is
/// [`TransportError::ReaderUnavailable`].
pub fn list_readers() -> Result<Vec<ReaderInfo>, TransportError> {
    shared().list_readers()
}

type Transaction<'a> = pcsc::Transaction<'a>;

self_cell!(
    /// A card handle with a transaction begun on it.
    struct Locked {
        owner: MutBorrow<pcsc::Card>,
        #[covariant]
        dependent: Transaction,
    }
);

enum Handle {
    /// No transaction held.
    Plain(pcsc::Card),
    /// The session's transaction is held.
    Locked(Locked),
    /// Only while switching between the two.
    Switching,
}

impl Handle {
    fn card(&self) -> Option<&pcsc::Card> {
        match self {
            Handle::Plain(c) => Some(c),
            Handle::Locked(l) => Some(l.borrow_dependent()),
            Handle::Switching => None,
        }
    }
}

/// A card in a PC/SC reader: the [`Transport`] for real cards.
///
/// Made by [`PcscCard::connect`]: shared mode, T=1 preferred, one transaction held
/// for the whole card session. Dropping it (or [`PcscCard::finish`]) ends the
/// transaction (`SCARD_LEAVE_CARD`) and disconnects **resetting the card**, so the
/// chip's authenticated state (which opens DF2/DF3 to plain READ BINARY) does not
/// outlive the session for the next application.
pub struct PcscCard {
    handle: Handle,
    reader: String,
    atr: Vec<u8>,
    protocol: Option<Protocol>,
    caps: ReaderCapabilities,
    buf: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PcscCard")
            .field("reader", &self.reader)
            .field("protocol", &self.protocol())
            .field("in_transaction", &self.in_transaction())
            .finish_non_exhaustive()
    }
}

impl PcscCard {
    /// Connects to the card in `reader` (user-scope context, shared mode; T=1
    /// preferred, then T=0|T=1, then any protocol the reader needs; the choice is
    /// logged) and begins the session's transaction.
    ///
    /// An unknown reader name is [`TransportError::NoSuchReader`]; an empty reader is
    /// [`TransportError::CardRemoved`]; no PC/SC service is
    /// [`TransportError::ReaderUnavailable`].
    pub fn connect(reader: &str) -> Result<PcscCard, TransportError> {
        // Only the connect itself runs under the shared context's lock: beginning the
        // transaction may wait for another application's transaction to end.
        let card = shared().connect_raw(reader)?;
        PcscCard::from_card(card, reader)
    }

    fn from_card(card: pcsc::Card, reader: &str) -> Result<PcscCard, TransportError> {
        let status = card.status2_owned().map_err(map_pcsc_error)?;
        let protocol = status.protocol2();
        let atr = status.atr().to_vec();
        let caps = ReaderCapabilities::ask(&card, &atr, protocol);
        let mut this = PcscCard {
            handle: Handle::Plain(card),
            reader: reader.to_owned(),
            atr,
            protocol,
            caps,
            buf: Zeroizing::new(vec![0u8; RECEIVE_BUFFER]),
        };
        log::info!(target: LOG, "reader {reader:?}: connected, protocol {}, ATR {} bytes", this.protocol(), this.atr.len());
        log::info!(target: LOG, "reader {reader:?}: {:?}; extended APDUs {}", this.caps, if this.extended_length() { "passed through" } else { "not carried" });
        this.begin_transaction()?;
        Ok(this)
    }

    /// The card's ATR (ISO/IEC 7816-3 answer to reset; for contactless cards the
    /// reader's synthesised ATR, PC/SC part 3).
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// The active protocol: `"T=1"`, `"T=0"`, `"RAW"` or `"undefined"`.
    pub fn protocol(&self) -> &'static str {
        match self.protocol {
            Some(Protocol::T0) => "T=0",
            Some(Protocol::T1) => "T=1",
            Some(Protocol::RAW) => "RAW",
            None => "undefined",
        }
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// What the reader (and a T=0 card's ATR) said it can carry, at connect.
    pub fn capabilities(&self) -> ReaderCapabilities {
        self.caps
    }

    fn extended_length(&self) -> bool {
        self.caps.extended_length(self.protocol)
    }

    /// Whether the session's transaction is held.
    pub fn in_transaction(&self) -> bool {
        matches!(self.handle, Handle::Locked(_))
    }

    /// Begins the transaction again after [`PcscCard::end_transaction`] (no-op if
    /// held). If the card was reset or removed meanwhile, this fails with
    /// [`TransportError::CardReset`] / [`TransportError::CardRemoved`], and so does
    /// every later command on this handle.
    pub fn begin_transaction(&mut self) -> Result<(), TransportError> {
        match core::mem::replace(&mut self.handle, Handle::Switching) {
            Handle::Plain(card) => {
                match Locked::try_new_or_recover(MutBorrow::new(card), |c| c.borrow_mut().transaction()) {
                    Ok(locked) => {
                        self.handle = Handle::Locked(locked);
                        log::debug!(target: LOG, "reader {:?}: transaction begun", self.reader);
                        Ok(())
                    }
                    Err((card, e)) => {
                        self.handle = Handle::Plain(card.into_inner());
                        log::info!(target: LOG, "reader {:?}: begin transaction failed ({e:?})", self.reader);
                        Err(map_pcsc_error(e))
                    }
                }
            }
            other => {
                self.handle = other;
                Ok(())
            }
        }
    }

    /// Ends the session's transaction (`SCARD_LEAVE_CARD`) while keeping the
    /// connection, letting other applications at the card until
    /// [`PcscCard::begin_transaction`]. A secure-messaging session does not survive
    /// another application resetting the card meanwhile: the next command then fails
    /// with [`TransportError::CardReset`]. Commands sent without the transaction are
    /// still carried (shared mode), unprotected.
    pub fn end_transaction(&mut self) {
        self.handle = match core::mem::replace(&mut self.handle, Handle::Switching) {
            Handle::Locked(locked) => {
                // Dropping the transaction ends it with SCARD_LEAVE_CARD.
                let card = locked.into_owner().into_inner();
                log::debug!(target: LOG, "reader {:?}: transaction ended", self.reader);
                Handle::Plain(card)
            }
            other => other,
        };
    }

    /// Starts a new card session on the same connection: ends the transaction,
    /// reconnects **resetting the card** (`SCardReconnect` with `SCARD_RESET_CARD`,
    /// the same protocol preferences as [`PcscCard::connect`]), takes the ATR and
    /// protocol again and begins a new transaction. Whatever the chip had
    /// authenticated or selected is gone afterwards, so what is read next comes from
    /// the card's non-volatile memory (the address write's re-read, AWP §4.5).
    ///
    /// Errors as [`PcscCard::connect`]: a card that left is
    /// [`TransportError::CardRemoved`].
    pub fn reset_session(&mut self) -> Result<(), TransportError> {
        self.end_transaction();
        let Handle::Plain(card) = &mut self.handle else {
            return Err(TransportError::Other("card handle unavailable".to_owned()));
        };
        let attempts = [Protocols::T1, Protocols::T0 | Protocols::T1, Protocols::T0 | Protocols::T1 | Protocols::RAW];
        let mut result = Err(pcsc::Error::ProtoMismatch);
        for protocols in attempts {
            result = card.reconnect(ShareMode::Shared, protocols, Disposition::ResetCard);
            match result {
                Err(
                    pcsc::Error::ProtoMismatch
                    | pcsc::Error::InvalidValue
                    | pcsc::Error::InvalidParameter
                    | pcsc::Error::UnsupportedFeature,
                ) => continue,
                _ => break,
            }
        }
        result.map_err(map_pcsc_error)?;
        let status = card.status2_owned().map_err(map_pcsc_error)?;
        self.protocol = status.protocol2();
        self.atr = status.atr().to_vec();
        log::info!(target: LOG, "reader {:?}: card reset, new session, protocol {}", self.reader, self.protocol());
        self.begin_transaction()
    }

    /// Ends the transaction (`SCARD_LEAVE_CARD`) and disconnects, resetting the card;
    /// reports a failing disconnect (dropping does the same silently).
    pub fn finish(mut self) -> Result<(), TransportError> {
        self.end_transaction();
        match core::mem::replace(&mut self.handle, Handle::Switching) {
            Handle::Plain(card) => card.disconnect(Disposition::ResetCard).map_err(|(_, e)| map_pcsc_error(e)),
            _ => Ok(()),
        }
    }

    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let extended = ParsedCommand::parse(command).is_some_and(|p| p.extended);
        if extended && self.protocol == Some(Protocol::T0) && !self.extended_length() {
            return Err(TransportError::LinkRefused(LinkRefusal::T0WithoutExtendedLength));
        }
        let card = self.handle.card().ok_or_else(|| TransportError::Other("card handle unavailable".to_owned()))?;
        let len = receive_len(command).min(self.buf.len());
        match card.transmit(command, &mut self.buf[..len]) {
            Ok(resp) if resp.len() < 2 => {
                let resp = resp.to_vec();
                self.answer_without_status_word(resp)
            }
            Ok(resp) => Ok(resp.to_vec()),
            Err(e) => {
                log::debug!(target: LOG, "reader {:?}: transmit failed: {e:?}", self.reader);
                Err(self.classify_link_failure(e, extended))
            }
        }
    }

    /// An answer without a status word (fewer than two bytes) from a transmit that the
    /// driver reports as successful. vsmartcard's vpcd does this when the card drops its
    /// connection mid-command: its `IFDHTransmitToICC` returns `IFD_SUCCESS` with the
    /// zero bytes read before EOF (found by the fault matrix, `tests/fault_matrix.rs`).
    /// No answer is that short, so it is asked like a failed transmit: a card that left
    /// is [`TransportError::CardRemoved`] (a reset one [`TransportError::CardReset`], a
    /// service that went away [`TransportError::ReaderUnavailable`]); a card still there
    /// gets the answer passed up as it is, which the core rejects as a short response.
    fn answer_without_status_word(&self, resp: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        log::debug!(target: LOG, "reader {:?}: answer of {} bytes, no status word", self.reader, resp.len());
        match self.classify_link_failure(pcsc::Error::NotTransacted, false) {
            e @ (TransportError::CardRemoved | TransportError::CardReset | TransportError::ReaderUnavailable(_)) => {
                Err(e)
            }
            _ => Ok(resp),
        }
    }

    /// A transmit that fails because the link to the card broke (pcsc-lite:
    /// `SCARD_E_NOT_TRANSACTED` when the driver's transmit fails, e.g. the card left
    /// the field mid-command) is reported before pcscd's presence poll has noticed
    /// the removal. Ask the handle's status for a short while ([`LINK_SETTLE`]), so a
    /// card that left is reported as [`TransportError::CardRemoved`] (and a reset as
    /// [`TransportError::CardReset`]) rather than an opaque driver failure.
    ///
    /// An extended command that the driver fails (`SCARD_E_NOT_TRANSACTED`,
    /// `SCARD_E_INVALID_PARAMETER`) is what a reader without extended APDUs does: the
    /// status is asked once, without waiting, and a card still there makes it
    /// [`TransportError::LinkRefused`] (if the card did leave, the core's next, short
    /// command meets the removal and waits for it). `SCARD_E_INSUFFICIENT_BUFFER` (an
    /// answer longer than asked for) never means the card left.
    fn classify_link_failure(&self, e: pcsc::Error, extended: bool) -> TransportError {
        use pcsc::Error as E;
        if e == E::InsufficientBuffer {
            return map_pcsc_error(e);
        }
        if extended && matches!(e, E::NotTransacted | E::InvalidParameter) {
            let Some(card) = self.handle.card() else { return map_pcsc_error(e) };
            return match card.status2_owned() {
                Err(status_err @ (E::RemovedCard | E::NoSmartcard | E::ResetCard)) => map_pcsc_error(status_err),
                Ok(st) if st.status().contains(pcsc::Status::ABSENT) => TransportError::CardRemoved,
                _ => map_pcsc_error(e),
            };
        }
        if !matches!(
            e,
            E::NotTransacted
                | E::CommError
                | E::CommDataLost
                | E::UnresponsiveCard
                | E::UnpoweredCard
                | E::UnknownError
        ) {
            return map_pcsc_error(e);
        }
        let Some(card) = self.handle.card() else { return map_pcsc_error(e) };
        let until = std::time::Instant::now() + LINK_SETTLE;
        loop {
            match card.status2_owned() {
                Err(status_err) => {
                    log::debug!(target: LOG, "reader {:?}: status after failed transmit: {status_err:?}", self.reader);
                    return match status_err {
                        E::RemovedCard | E::NoSmartcard | E::ResetCard => map_pcsc_error(status_err),
                        E::NoService | E::ServiceStopped | E::ReaderUnavailable | E::UnknownReader => {
                            map_pcsc_error(status_err)
                        }
                        _ => map_pcsc_error(e),
                    };
                }
                Ok(st) if st.status().contains(pcsc::Status::ABSENT) => {
                    log::debug!(target: LOG, "reader {:?}: status after failed transmit: {:?}", self.reader, st.status());
                    return TransportError::CardRemoved;
                }
                Ok(_) if std::time::Instant::now() >= until => return map_pcsc_error(e),
                Ok(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Transport for PcscCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if let Some(h) = command.get(..4) {
            log::trace!(target: LOG, "> {:02X} {:02X} {:02X} {:02X} len={}", h[0], h[1], h[2], h[3], command.len());
        }
        let resp = self.transmit_raw(command)?;
        if let [.., a, b] = resp[..] {
            log::trace!(target: LOG, "< len={} sw={a:02X}{b:02X}", resp.len() - 2);
        }
        Ok(resp)
    }

    /// Extended APDUs unless the reader or a T=0 card said otherwise at connect
    /// ([`ReaderCapabilities::extended_length`]); a short-APDU reader carries commands
    /// of at most its `SCARD_ATTR_MAXINPUT` (≤ 261) bytes and 256 data bytes back.
    fn limits(&self) -> Limits {
        if self.extended_length() {
            Limits::FULL
        } else {
            let max_command = self.caps.max_input.map_or(Limits::SHORT.max_command, |m| {
                usize::try_from(m).unwrap_or(usize::MAX).min(Limits::SHORT.max_command)
            });
            Limits { max_command, ..Limits::SHORT }
        }
    }
}

impl Drop for PcscCard {
    fn drop(&mut self) {
        // The transaction ends (LEAVE_CARD) before the card handle is dropped, which
        // disconnects with SCARD_RESET_CARD (pcsc's default).
        self.end_transaction();
    }
}

/// Waits until `reader` shows a card (`present = true`) or no card, for at most
/// `timeout`: `Ok(true)` when reached, `Ok(false)` on time-out. Event-driven
/// (`SCardGetStatusChange`), no polling loop. The one wait used by the CLI, the C
/// library and the Python module.
///
/// Errors: [`TransportError::NoSuchReader`] for a reader pcscd does not know,
/// [`TransportError::ReaderUnavailable`] when the reader or the service is gone.
///
/// The same on pcsc-lite and WinSCard: the wait is on the named reader's state only
/// (no `\\?PnP?\Notification` pseudo-reader, whose support differs between the two
/// and between Windows versions). A reader unplugged during the wait is reported by
/// both stacks in the reader's own state (`SCARD_STATE_UNKNOWN` or
/// `SCARD_STATE_UNAVAILABLE`, both errors here); on Windows 8 and later the Smart Card
/// service may stop with the last reader, which ends the wait with
/// [`TransportError::ReaderUnavailable`] (see [`PcscContext`]). Reader names are
/// whatever the stack lists (pcsc-lite: "Vendor Model 00 00", WinSCard: "Vendor Model 0");
/// nothing here assumes either form. The `pcsc` crate calls WinSCard's ANSI functions:
/// a reader name that is not ASCII arrives in the system's ANSI code page and is
/// shown with U+FFFD replacement characters (every reader name seen in practice is
/// ASCII).
pub fn wait_for_card(reader: &str, present: bool, timeout: Duration) -> Result<bool, TransportError> {
    use pcsc::{Error as PcscError, ReaderState, State};

    let no_such = || TransportError::NoSuchReader(reader.to_owned());
    let name = std::ffi::CString::new(reader).map_err(|_| no_such())?;
    // A time-out too large to add to now waits as long as the clock can say.
    let now = std::time::Instant::now();
    let deadline = now.checked_add(timeout).unwrap_or_else(|| now + Duration::from_secs(u32::MAX.into()));
    let mut ctx = PcscContext::new();
    let mut state = ReaderState::new(name, State::UNAWARE);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        // The first call (UNAWARE) returns at once with the current state.
        match ctx.run(|c| c.get_status_change(left, std::slice::from_mut(&mut state))) {
            Ok(()) => {}
            Err(PcscError::Timeout) => return Ok(false),
            Err(PcscError::UnknownReader) => return Err(no_such()),
            Err(e) => return Err(map_pcsc_error(e)),
        }
        let ev = state.event_state();
        if ev.intersects(State::UNKNOWN | State::IGNORE) {
            return Err(no_such());
        }
        if ev.intersects(State::UNAVAILABLE) {
            return Err(TransportError::ReaderUnavailable(format!("reader {reader:?} unavailable")));
        }
        if ev.contains(State::PRESENT) == present {
            return Ok(true);
        }
        if std::time::Instant::now() >= deadline {
            return Ok(false);
        }
        state.sync_current_state();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_mapping() {
        use pcsc::Error as E;
        assert_eq!(map_pcsc_error(E::RemovedCard), TransportError::CardRemoved);
        assert_eq!(map_pcsc_error(E::NoSmartcard), TransportError::CardRemoved);
        assert_eq!(map_pcsc_error(E::ResetCard), TransportError::CardReset);
        assert!(map_pcsc_error(E::ResetCard).to_string().contains("secure-messaging session is dropped"));
        // pcsc-lite's and WinSCard's codes (the last three are WinSCard's only).
        for e in [
            E::NoService,
            E::ServiceStopped,
            E::NoReadersAvailable,
            E::ReaderUnavailable,
            E::UnknownReader,
            E::ServerTooBusy,
            E::Shutdown,
            E::SystemCancelled,
        ] {
            match map_pcsc_error(e) {
                TransportError::ReaderUnavailable(text) => assert!(text.contains(&format!("{e:?}")), "{text}"),
                other => panic!("{e:?} mapped to {other:?}"),
            }
        }
        assert_eq!(map_pcsc_error(E::SharingViolation), TransportError::SharingViolation);
        assert_eq!(map_pcsc_error(E::NotTransacted), TransportError::LinkRefused(LinkRefusal::NotTransacted));
        assert_eq!(map_pcsc_error(E::InsufficientBuffer), TransportError::LinkRefused(LinkRefusal::InsufficientBuffer));
        assert_eq!(map_pcsc_error(E::InvalidParameter), TransportError::LinkRefused(LinkRefusal::InvalidParameter));
        for e in [E::CommError, E::CommDataLost, E::Timeout, E::InvalidHandle, E::UnresponsiveCard, E::ProtoMismatch] {
            match map_pcsc_error(e) {
                TransportError::Other(text) => assert!(text.contains(&format!("{e:?}")), "{text}"),
                other => panic!("{e:?} mapped to {other:?}"),
            }
        }
        let code = |e| zairyu::Error::Transport(map_pcsc_error(e)).code();
        assert_eq!(code(E::RemovedCard), "transport_card_removed");
        assert_eq!(code(E::ResetCard), "transport_card_reset");
        assert_eq!(code(E::NoService), "transport_reader_unavailable");
        assert_eq!(code(E::ServerTooBusy), "transport_reader_unavailable");
        assert_eq!(code(E::NotTransacted), "transport_link_refused");
    }

    #[test]
    fn service_gone_errors() {
        assert!(service_gone(pcsc::Error::NoService));
        assert!(service_gone(pcsc::Error::ServiceStopped));
        assert!(service_gone(pcsc::Error::InvalidHandle));
        assert!(service_gone(pcsc::Error::CommError));
        assert!(!service_gone(pcsc::Error::RemovedCard));
        assert!(!service_gone(pcsc::Error::Timeout));
        use pcsc::Error as E;
        for winscard in [false, true] {
            for e in [E::NoService, E::ServiceStopped, E::InvalidHandle, E::CommError] {
                assert!(service_gone_on(e, winscard), "{e:?}");
            }
            for e in [E::RemovedCard, E::Timeout, E::NoSmartcard, E::SharingViolation, E::CommDataLost] {
                assert!(!service_gone_on(e, winscard), "{e:?}");
            }
        }
        // WinSCard only: the stopped service of Windows 8+ and the Win32 errors that
        // the pcsc crate turns into SCARD_F_UNKNOWN_ERROR.
        for e in [E::Shutdown, E::UnknownError] {
            assert!(service_gone_on(e, true), "{e:?}");
            assert!(!service_gone_on(e, false), "{e:?}");
        }
        assert_eq!(service_gone(E::UnknownError), cfg!(windows));
    }

    #[test]
    fn receive_buffer_holds_what_the_command_asks_for() {
        const { assert!(RECEIVE_BUFFER == 7015) };
        // Extended Le 00 00: the largest answer of the protocol.
        assert_eq!(receive_len(&[0x00, 0xB0, 0x85, 0x00, 0x00, 0x00, 0x00]), 7015);
        assert_eq!(receive_len(&[0x08, 0xB0, 0x85, 0, 0, 0, 4, 0x96, 2, 0, 0, 0, 0]), 7015);
        // Short Le: Ne + SW.
        assert_eq!(receive_len(&[0x00, 0x84, 0x00, 0x00, 0x08]), 10);
        assert_eq!(receive_len(&[0x00, 0xB0, 0x8B, 0x00, 0x00]), 258);
        assert_eq!(receive_len(&[0x00, 0xB0, 0x8B, 0x00, 0x00, 0x01, 0x2C]), 302);
        // No Le: room for 256 bytes sent unasked; not an APDU: the most.
        assert_eq!(receive_len(&[0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00]), 258);
        assert_eq!(receive_len(&[0x00, 0xA4]), 7015);
    }

    #[test]
    fn atr_card_capabilities() {
        // Contactless Type B ATR (PC/SC part 3): no card capabilities.
        assert_eq!(atr_extended_length(&[0x3B, 0x88, 0x80, 0x01, 0, 0, 0, 0, 0x77, 0x81, 0x80, 0x40, 0x3F]), None);
        // T=0, two historical bytes that are not compact-TLV.
        assert_eq!(atr_extended_length(&[0x3B, 0x02, 0x14, 0x50]), None);
        // Category 80, card capabilities 73 with byte 3 = C0 (extended Lc/Le) or 80.
        assert_eq!(atr_extended_length(&[0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0xC0]), Some(true));
        assert_eq!(atr_extended_length(&[0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0x80]), Some(false));
        // Interface bytes TA1 and TD1 (T=0, nothing follows), then five historical bytes.
        assert_eq!(atr_extended_length(&[0x3B, 0x95, 0x13, 0x00, 0x80, 0x73, 0x00, 0x00, 0xC0]), Some(true));
        // TD1 announcing TD2 (T=1), which announces nothing.
        assert_eq!(atr_extended_length(&[0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x00, 0x00, 0xC0]), Some(true));
        // Category 00 with a status indicator (3 bytes) after the objects.
        assert_eq!(atr_extended_length(&[0x3B, 0x08, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x90, 0x00]), Some(true));
        // Truncated and empty ATRs.
        assert_eq!(atr_extended_length(&[0x3B, 0x05, 0x80, 0x73]), None);
        assert_eq!(atr_extended_length(&[]), None);
        assert_eq!(atr_extended_length(&[0x3B, 0xF0]), None);
    }

    #[test]
    fn what_the_reader_says_decides_the_limits() {
        let t1 = Some(Protocol::T1);
        let t0 = Some(Protocol::T0);
        let unknown = ReaderCapabilities::default();
        assert!(unknown.extended_length(t1));
        assert!(!unknown.extended_length(t0), "T=0 without a declaration");
        let short_reader = ReaderCapabilities { max_apdu_data_size: Some(0), max_input: Some(261), ..unknown };
        assert!(!short_reader.extended_length(t1));
        let ext_reader = ReaderCapabilities { max_apdu_data_size: Some(0x10000), ..unknown };
        assert!(ext_reader.extended_length(t1));
        let t0_ext = ReaderCapabilities { atr_extended_length: Some(true), ..unknown };
        assert!(t0_ext.extended_length(t0));
    }
}
