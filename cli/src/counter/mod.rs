//! `zairyu counter --reader NAME`: the counter page (窓口画面), a local web page for
//! the clerk's whole check, and the address write where an authority is configured.
//!
//! | module | concern |
//! |---|---|
//! | this one | the command line, the card state and the reader monitor |
//! | `http` | the axum server: routes, the token and session, Host/Origin checks, headers |
//! | `page` | the server-rendered HTML (Japanese first, English alongside) |
//! | `assets/` | the one script and the one stylesheet, served by the app (no inline script) |
//!
//! The reader is watched on its own thread (`SCardGetStatusChange`, as `watch` does);
//! every change bumps a version that the page hears over Server-Sent Events and
//! answers by reloading itself. What the page shows is always rendered from the
//! state here, which holds the read of the card in the reader and nothing else: a
//! removal (or a swap, seen by pcscd's event counter) drops it with the card number.
//! The number arrives in a POST body only, goes into the core's zeroizing
//! [`CardNumber`], and is never rendered, logged or put in a URL.

mod http;
mod page;

use std::ffi::CString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::error::{Error, ErrorCode, TransportError};
use zairyu::sequence::{CardRead, ReadOptions};
use zairyu::verify::TrustStore;
use zairyu::write::counter::{AddressWrite, WriteOutcome, write_address};
use zairyu::write::record::NewAddress;
use zairyu_authority_core::layout;
use zairyu_authority_core::policy::Policy;
use zairyu_pcsc::pcsc::{self, ReaderState, State as PcscState};
use zairyu_pcsc::{PcscCard, PcscContext, map_pcsc_error};
use zairyu_sim::write_pki::WritePki;
use zairyu_sim::{IssueOptions, IssuedCard, SimCard, SimRandomness};
use zeroize::Zeroizing;

use crate::args::{AuthorityArgs, ReadArgs, TrustArgs};
use crate::error::CliError;
use crate::exit;
use crate::write::Authority;

/// Log target (never card data or numbers).
const LOG: &str = "zairyu::counter";

/// How long one status poll of the reader waits.
const POLL: Duration = Duration::from_millis(250);

/// Pause between attempts while the reader or the service is gone.
const RETRY: Duration = Duration::from_millis(500);

/// A clerk session without an open event stream counts as gone after this long.
const SESSION_IDLE: Duration = Duration::from_secs(30);

/// `zairyu counter`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("authority_source").required(false).multiple(false)))]
pub struct CounterArgs {
    /// The PC/SC reader the cards go into (see `zairyu readers`).
    #[arg(long, value_name = "NAME", required_unless_present = "sim", conflicts_with = "sim")]
    pub reader: Option<String>,
    /// Serve an in-process simulated card instead of a reader (synthetic data, the
    /// simulator's test CA; needs no reader and no pcscd): the page gets buttons that
    /// insert and remove it. For trying the page out and for training.
    #[arg(long)]
    pub sim: bool,
    /// With --sim: the simulated card's type [default: 1].
    #[arg(long, value_parser = crate::args::sim_card_type(), requires = "sim")]
    pub sim_card_type: Option<zairyu::files::CardType>,
    /// With --sim: which PKI signs the simulated card, `test` (verdict "test") or
    /// `synthetic-production` (see `read --sim-pki`).
    #[arg(long, value_enum, value_name = "PKI", requires = "sim")]
    pub sim_pki: Option<crate::args::SimPkiArg>,
    /// With --sim: give the simulated card the address-write application trusting the
    /// test write PKI in DIR (`zairyu pki init`; use the same DIR as --authority-dir).
    #[arg(long, value_name = "DIR", requires = "sim")]
    pub write_pki: Option<PathBuf>,
    /// The address the page is served on; port 0 takes a free port. Loopback only,
    /// unless --allow-non-loopback. On loopback the page is served under a random
    /// name of the run, `<32 hex>.localhost:PORT` (the printed URL), and under no
    /// other Host; otherwise under this address, which must then be the one the
    /// browser uses (not 0.0.0.0 or [::]).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Allow a --listen address that is not loopback. The page then crosses the
    /// network as plain HTTP (card data, images and the token): only behind a
    /// protected link of your own.
    #[arg(long)]
    pub allow_non_loopback: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub read: ReadArgs,
    /// The write authority (without one the page has no write).
    #[command(flatten)]
    pub authority: AuthorityArgs,
    /// The operator id the write form starts with (the clerk can change it there).
    #[arg(long, value_name = "ID")]
    pub operator: Option<String>,
}

/// A refusal of the command line or of the start.
fn usage(code: &str, message: String) -> CliError {
    CliError::Write { code: code.to_owned(), exit: exit::USAGE, message }
}

/// A message for the clerk: the stable code, and the words in Japanese and English.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The stable code (the core's error code, or the counter's own).
    pub code: String,
    /// The message in Japanese.
    pub ja: String,
    /// The message in English.
    pub en: String,
}

impl Notice {
    fn new(code: &str, ja: &str, en: impl Into<String>) -> Notice {
        Notice { code: code.to_owned(), ja: ja.to_owned(), en: en.into() }
    }
}

/// The reader as the monitor last saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReaderView {
    /// The reader or the PC/SC service is gone.
    NoReader,
    /// No card.
    Empty,
    /// A card: its insertion number, and pcscd's event counter when it came.
    Present {
        /// Counts insertions from 1.
        insertion: u64,
        /// pcscd's event counter at the insertion.
        count: u32,
    },
}

/// What the clerk typed into the write form, and what was wrong with it.
#[derive(Clone, Debug, Default)]
pub struct WriteForm {
    /// The record as typed.
    pub record: Option<NewAddress>,
    /// The operator id as typed.
    pub operator: String,
    /// Why it was refused.
    pub error: Option<Notice>,
}

/// A record that passed the checks, waiting for the clerk's confirmation.
#[derive(Clone, Debug)]
pub struct PendingWrite {
    /// The record.
    pub record: NewAddress,
    /// The operator id.
    pub operator: String,
    /// A random value of this record alone, in the confirmation form: the write
    /// confirms the record the clerk saw, not one checked later (another tab).
    pub nonce: Zeroizing<String>,
}

/// The read of the card in the reader, and what was done with it.
pub struct CardState {
    /// The insertion it belongs to.
    pub insertion: u64,
    number: Arc<CardNumber>,
    /// The read.
    pub read: Box<CardRead>,
    /// The body of the evidence crate's report page for the read.
    pub report_body: String,
    /// The write form as last submitted.
    pub form: WriteForm,
    /// A checked record waiting for confirmation.
    pub pending: Option<PendingWrite>,
    /// The receipt of a confirmed write (text).
    pub written: Option<String>,
    /// Why the last write failed.
    pub write_error: Option<Notice>,
    /// A write is running.
    pub writing: bool,
}

/// The page's state.
pub struct CounterState {
    /// Bumped on every change the page must show.
    pub version: u64,
    /// The reader.
    pub reader: ReaderView,
    /// A read is running.
    pub reading: bool,
    /// A card left since the last insertion.
    pub removed: bool,
    /// The last message for the clerk.
    pub notice: Option<Notice>,
    /// The read of the current card.
    pub card: Option<CardState>,
    session: Option<Session>,
    insertions: u64,
}

/// The one clerk session.
struct Session {
    id: Zeroizing<String>,
    last_seen: Instant,
}

impl CounterState {
    /// The state at start: an empty reader, nothing read, no clerk session.
    pub fn new() -> Self {
        CounterState {
            version: 0,
            reader: ReaderView::Empty,
            reading: false,
            removed: false,
            notice: None,
            card: None,
            session: None,
            insertions: 0,
        }
    }

    /// The live state word the page and its event stream show.
    pub fn live(&self) -> &'static str {
        match self.reader {
            ReaderView::NoReader => "no-reader",
            ReaderView::Empty if self.removed => "removed",
            ReaderView::Empty => "empty",
            ReaderView::Present { .. } if self.reading => "reading",
            ReaderView::Present { .. } if self.card.as_ref().is_some_and(|c| c.writing) => "writing",
            ReaderView::Present { .. } if self.card.is_some() => "result",
            ReaderView::Present { .. } => "present",
        }
    }

    /// The current insertion, if a card is present.
    fn insertion(&self) -> Option<(u64, u32)> {
        match self.reader {
            ReaderView::Present { insertion, count } => Some((insertion, count)),
            _ => None,
        }
    }

    /// The read of the card present now.
    pub fn current_card(&mut self) -> Option<&mut CardState> {
        let (insertion, _) = self.insertion()?;
        self.card.as_mut().filter(|c| c.insertion == insertion)
    }
}

/// Where the cards are.
enum Backend {
    /// A PC/SC reader, watched by [`monitor`].
    Pcsc,
    /// The in-process simulated card of `--sim`, put in and taken out from the page.
    Sim(Box<Mutex<SimSlot>>),
}

/// The simulated card and whether it is "in the reader".
struct SimSlot {
    /// The card's memory (a write changes it, as on a real card).
    card: IssuedCard,
    present: bool,
    /// Counts insertions and removals, as pcscd's event counter does.
    count: u32,
}

/// The application: configuration and state.
pub struct App {
    reader: String,
    backend: Backend,
    trust: TrustStore,
    opts: ReadOptions,
    authority: Option<Mutex<Authority>>,
    policy: Option<Policy>,
    counter_id: Option<String>,
    default_operator: String,
    token: Zeroizing<String>,
    /// The one Host header value accepted (`<random>.localhost:PORT` on loopback,
    /// else the listen address); the page's Origin is `http://` and it.
    host: String,
    state: Mutex<CounterState>,
    events: tokio::sync::watch::Sender<String>,
    /// Open event streams (of the one session).
    streams: AtomicUsize,
}

impl App {
    fn lock(&self) -> MutexGuard<'_, CounterState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Bumps the version and tells the event streams.
    fn publish(&self, st: &mut CounterState) {
        st.version += 1;
        self.events.send_replace(format!("{} {}", st.version, st.live()));
    }

    /// Whether the page can write (an authority is configured).
    pub fn can_write(&self) -> bool {
        self.authority.is_some()
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Whether the card is the in-process simulated one (`--sim`).
    pub fn is_sim(&self) -> bool {
        matches!(self.backend, Backend::Sim(_))
    }

    /// `--sim`: puts the simulated card in (`present`) or takes it out. `false` when
    /// there is no simulated card.
    fn sim_set(&self, present: bool) -> bool {
        let Backend::Sim(slot) = &self.backend else {
            return false;
        };
        let count = {
            let mut slot = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if slot.present != present {
                slot.present = present;
                slot.count += 1;
            }
            slot.count
        };
        self.observe(present, count);
        true
    }

    /// The operator id the write form starts with.
    pub fn default_operator(&self) -> &str {
        &self.default_operator
    }

    /// The monitor saw the reader gone.
    fn reader_gone(&self) {
        let mut st = self.lock();
        if st.reader != ReaderView::NoReader {
            log::info!(target: LOG, "reader {:?} unavailable", self.reader);
            st.reader = ReaderView::NoReader;
            st.card = None;
            st.removed = false;
            st.notice = Some(Notice::new(
                "transport_reader_unavailable",
                "カードリーダーが見つかりません。接続を確認してください。",
                "The card reader is not available: check that it is connected.",
            ));
            self.publish(&mut st);
        }
    }

    /// The monitor saw the reader's state.
    fn observe(&self, present: bool, count: u32) {
        let mut st = self.lock();
        let before = st.reader;
        match (present, before) {
            (true, ReaderView::Present { count: c, .. }) if c == count => {}
            (true, _) => {
                st.insertions += 1;
                st.reader = ReaderView::Present { insertion: st.insertions, count };
                st.card = None;
                st.removed = false;
                st.notice = None;
                log::info!(target: LOG, "card inserted (insertion {})", st.insertions);
                self.publish(&mut st);
            }
            (false, ReaderView::Empty) => {}
            (false, ReaderView::Present { .. }) => {
                st.reader = ReaderView::Empty;
                // The card's read and number go with it.
                st.card = None;
                st.removed = true;
                log::info!(target: LOG, "card removed; its read is dropped");
                self.publish(&mut st);
            }
            (false, ReaderView::NoReader) => {
                st.reader = ReaderView::Empty;
                if st.notice.as_ref().is_some_and(|n| n.code == "transport_reader_unavailable") {
                    st.notice = None;
                }
                self.publish(&mut st);
            }
        }
    }
}

/// Watches the PC/SC reader until the process ends.
fn monitor(app: &App) {
    let Ok(name) = CString::new(app.reader.clone()) else {
        app.reader_gone();
        return;
    };
    let mut ctx = PcscContext::new();
    let mut state: Option<ReaderState> = None;
    loop {
        let rs = state.get_or_insert_with(|| ReaderState::new(name.clone(), PcscState::UNAWARE));
        match ctx.run(|c| c.get_status_change(POLL, core::slice::from_mut(rs))) {
            Ok(()) => {
                let ev = rs.event_state();
                if ev.intersects(PcscState::UNKNOWN | PcscState::UNAVAILABLE | PcscState::IGNORE) {
                    app.reader_gone();
                    state = None;
                    std::thread::sleep(RETRY);
                    continue;
                }
                rs.sync_current_state();
                app.observe(ev.contains(PcscState::PRESENT), rs.event_count());
            }
            Err(pcsc::Error::Timeout) => {}
            Err(e) => {
                log::debug!(target: LOG, "status: {e:?}");
                app.reader_gone();
                state = None;
                std::thread::sleep(RETRY);
            }
        }
    }
}

/// The reader's state now: card present, and pcscd's event counter.
fn reader_now(ctx: &mut PcscContext, name: &str) -> Result<(bool, u32), TransportError> {
    let name = CString::new(name).map_err(|_| TransportError::NoSuchReader(name.to_owned()))?;
    let mut rs = ReaderState::new(name, PcscState::UNAWARE);
    ctx.run(|c| c.get_status_change(Duration::ZERO, core::slice::from_mut(&mut rs))).map_err(map_pcsc_error)?;
    let ev = rs.event_state();
    if ev.intersects(PcscState::UNKNOWN | PcscState::UNAVAILABLE | PcscState::IGNORE) {
        return Err(TransportError::ReaderUnavailable(format!("reader state {ev:?}")));
    }
    Ok((ev.contains(PcscState::PRESENT), rs.event_count()))
}

/// Connects to the card of the insertion with pcscd event counter `count`; a card
/// that is no longer that one is `transport_card_removed`, and never gets the number.
fn connect_same(reader: &str, count: u32) -> Result<PcscCard, Error> {
    let mut ctx = PcscContext::new();
    let card = ctx.connect(reader)?;
    let (present, now) = reader_now(&mut ctx, reader)?;
    if !present || now != count {
        return Err(TransportError::CardRemoved.into());
    }
    Ok(card)
}

/// One counter page per PC/SC reader (one clerk session per reader across
/// processes, as the session cookie makes it within one), held for the run: the
/// operating system lets go when the process ends, however it ends, so a killed
/// counter never blocks the next. The name is `zairyu-counter-<SHA-256 of the reader
/// name, 16 hex>`.
///
/// On Linux it is an abstract Unix socket of that name, bound and never accepted on:
/// the kernel refuses a second bind of the name on the machine (per network
/// namespace), whoever asks and whatever their environment, and it involves no file
/// (nothing to follow, pre-create or clean up). Elsewhere (Windows) it is an
/// exclusive lock on `<name>.lock` in the user's temporary directory, which is the
/// user's own there.
#[cfg(target_os = "linux")]
fn lock_reader(reader: &str) -> Result<ReaderLock, CliError> {
    use std::os::linux::net::SocketAddrExt as _;
    let name = reader_lock_name(reader);
    let failed = |e: std::io::Error| usage("counter_reader_lock_failed", format!("cannot lock reader {reader:?}: {e}"));
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).map_err(failed)?;
    match std::os::unix::net::UnixListener::bind_addr(&addr) {
        Ok(listener) => Ok(listener),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(reader_in_use(reader)),
        Err(e) => Err(failed(e)),
    }
}

/// What [`lock_reader`] holds.
#[cfg(target_os = "linux")]
type ReaderLock = std::os::unix::net::UnixListener;

/// [`lock_reader`] where there are no abstract sockets: a file lock in the user's
/// temporary directory (never written).
#[cfg(not(target_os = "linux"))]
fn lock_reader(reader: &str) -> Result<ReaderLock, CliError> {
    let path = std::env::temp_dir().join(format!("{}.lock", reader_lock_name(reader)));
    let failed = |e: std::io::Error| {
        usage("counter_reader_lock_failed", format!("cannot lock reader {reader:?} ({}): {e}", path.display()))
    };
    let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path);
    let file = file.map_err(failed)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(reader_in_use(reader)),
        Err(std::fs::TryLockError::Error(e)) => Err(failed(e)),
    }
}

/// What [`lock_reader`] holds.
#[cfg(not(target_os = "linux"))]
type ReaderLock = std::fs::File;

fn reader_lock_name(reader: &str) -> String {
    use sha2::Digest as _;
    format!("zairyu-counter-{}", hex::encode(&sha2::Sha256::digest(reader.as_bytes())[..8]))
}

fn reader_in_use(reader: &str) -> CliError {
    usage(
        "counter_reader_in_use",
        format!(
            "another `zairyu counter` serves reader {reader:?} (one clerk session per reader): use its page, or end \
             it first"
        ),
    )
}

/// The clerk's words for a failed read.
fn read_notice(e: &Error) -> Notice {
    let code = e.code();
    match e.error_code() {
        ErrorCode::WrongCardNumber | ErrorCode::CardNumberMismatch => Notice::new(
            code,
            "カード番号が違います。カードに印字された番号を確かめて、もう一度入力してください（誤りが続くとカードがロックされます）。",
            "Wrong card number: check the number printed on the card and type it again (repeated errors lock the card).",
        ),
        ErrorCode::TransportCardRemoved | ErrorCode::TransportCardReset => Notice::new(
            code,
            "読み取り中にカードが取り外されました。結果はありません。カードをもう一度置いてください。",
            "The card was removed during the read: there is no result. Place the card again.",
        ),
        ErrorCode::TransportReaderUnavailable | ErrorCode::TransportNoSuchReader => Notice::new(
            code,
            "カードリーダーが見つかりません。接続を確認してください。",
            "The card reader is not available: check that it is connected.",
        ),
        ErrorCode::UnsupportedCardType | ErrorCode::UnknownCardType => Notice::new(
            code,
            "このカードには対応していません（在留カード・特別永住者証明書以外のカード、または未対応の種類）。",
            format!("This card is not supported: {e}"),
        ),
        ErrorCode::InputBadCardNumber => Notice::new(
            code,
            "カード番号は英字2桁・数字8桁・英字2桁の12文字です。",
            "The card number is 12 characters: 2 letters, 8 digits, 2 letters.",
        ),
        _ => Notice::new(
            code,
            "読み取りに失敗しました。カードを置き直して、もう一度お試しください。",
            format!("The read failed: {e}"),
        ),
    }
}

/// The body of the evidence crate's report page: what lies between `<body>` and
/// `</body>` (its style is replaced by the page's stylesheet).
fn report_body(read: &CardRead) -> String {
    let images = zairyu_evidence::png_images(read);
    let html = zairyu_evidence::report_html(read, &images);
    let start = html.find("<body>").map_or(0, |i| i + "<body>".len());
    let end = html.rfind("</body>").unwrap_or(html.len());
    html.get(start..end).unwrap_or_default().to_owned()
}

/// The simulated card of insertion `count`, if it is still in.
fn sim_card(slot: &Mutex<SimSlot>, count: u32) -> Result<MutexGuard<'_, SimSlot>, Error> {
    let slot = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !slot.present || slot.count != count {
        return Err(TransportError::CardRemoved.into());
    }
    Ok(slot)
}

/// Reads the current card with `number` (a blocking call: on a blocking thread).
fn read_now(app: &App, count: u32, number: &CardNumber) -> Result<CardRead, Error> {
    match &app.backend {
        Backend::Pcsc => {
            let card = connect_same(&app.reader, count)?;
            crate::read::read_on(card, number, &app.trust, &app.opts)
        }
        Backend::Sim(slot) => {
            let card = sim_card(slot, count)?.card.clone();
            crate::read::read_on(SimCard::new(card), number, &app.trust, &app.opts)
        }
    }
}

/// Checks a write request as the authority will: the record (AWP §4.2), the
/// operator id, and, for the in-process authority, its policy for this counter.
fn check_write(app: &App, record: &NewAddress, operator: &str) -> Result<(), Notice> {
    record.check().map_err(|e| {
        Notice::new(crate::write::RECORD_INVALID, "入力内容に誤りがあります。", format!("The new address record: {e}"))
    })?;
    if operator.trim().is_empty() || operator.chars().any(char::is_control) || operator.len() > 128 {
        return Err(Notice::new(
            crate::write::OPERATOR_INVALID,
            "操作者IDを入力してください（128バイト以内、制御文字なし）。",
            "Give an operator id of at most 128 bytes without control characters.",
        ));
    }
    if let (Some(policy), Some(counter)) = (&app.policy, &app.counter_id)
        && let Err(refusal) = policy.check(counter, &record.municipality_code)
    {
        return Err(Notice::new(
            refusal.code(),
            "この窓口はこの市町村コードの書き込みを認められていません。",
            format!("The authority's policy refuses this write: {refusal}"),
        ));
    }
    Ok(())
}

/// Writes `pending` into the current card and re-reads it (blocking). The receipt
/// as text, or the clerk's words for the failure.
fn write_now(app: &App, count: u32, number: &CardNumber, pending: &PendingWrite) -> Result<String, Notice> {
    let Some(authority) = &app.authority else {
        return Err(Notice::new(
            "write_not_configured",
            "書き込みは設定されていません。",
            "No write authority is configured.",
        ));
    };
    let mut authority = authority.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let request = AddressWrite { record: pending.record.clone(), operator_id: pending.operator.clone() };
    let rng = &mut OsRandom;
    let result = match &app.backend {
        Backend::Pcsc => {
            let card = connect_same(&app.reader, count).map_err(|e| read_notice(&e))?;
            write_address(card, PcscCard::reset_session, number, &app.trust, rng, authority.link(), request)
        }
        Backend::Sim(slot) => {
            let mut slot = sim_card(slot, count).map_err(|e| read_notice(&e))?;
            let mut sim = SimCard::new(slot.card.clone());
            let reset = |s: &mut &mut SimCard| {
                s.power_cycle();
                Ok(())
            };
            let r = write_address(&mut sim, reset, number, &app.trust, rng, authority.link(), request);
            // The card keeps what was written, as a real one does.
            slot.card = sim.issued().clone();
            r
        }
    };
    let outcome: WriteOutcome = result.map_err(|e| {
        let cli = crate::write::write_error(&e, app.is_sim());
        Notice::new(
            cli.code(),
            "書き込みは確認できませんでした。カードを置いたまま、上司に相談してください。",
            format!("The write is not confirmed: {cli}"),
        )
    })?;
    let counter_id = authority.counter_id();
    let shown = crate::write::Shown {
        outcome: &outcome,
        record: &pending.record,
        counter_id: &counter_id,
        operator: &pending.operator,
    };
    Ok(shown.text(authority.audit_head()))
}

/// Whether a read may be exported as a record (CSV, JSON): only a card whose
/// signature chains to a trusted root. The evidence file stays for every read.
pub fn exportable(read: &CardRead) -> bool {
    matches!(read.verification.verdict(), zairyu::verify::Verdict::Production | zairyu::verify::Verdict::Test)
}

/// The simulated card's type, as the command line gives it.
fn app_sim_type(args: &CounterArgs) -> &'static str {
    args.sim_card_type.unwrap_or(zairyu::files::CardType::ResidenceCard).code()
}

/// A random value as hex (the token and the session ids).
fn random_hex(bytes: usize) -> Result<Zeroizing<String>, CliError> {
    let mut buf = Zeroizing::new(vec![0u8; bytes]);
    getrandom::fill(&mut buf).map_err(|e| usage("counter_random_failed", format!("no randomness: {e}")))?;
    Ok(Zeroizing::new(hex::encode(&buf[..])))
}

/// `zairyu counter`.
pub fn command(args: CounterArgs) -> Result<u8, CliError> {
    if !args.listen.ip().is_loopback() && !args.allow_non_loopback {
        return Err(usage(
            "counter_listen_not_loopback",
            format!(
                "--listen {} is not a loopback address: the page would be reachable from the network; give \
                 --allow-non-loopback to mean it",
                args.listen
            ),
        ));
    }
    if args.listen.ip().is_unspecified() {
        return Err(usage(
            "counter_listen_unspecified",
            format!(
                "--listen {}: give the one address the counter PC's browser uses (for example 192.0.2.10:8080), \
                 not an unspecified address: the page accepts only the Host it printed",
                args.listen
            ),
        ));
    }
    // The simulated card is trusted under the simulator's test CA (as `read --sim`);
    // real cards only with --trust-sim-ca.
    let trust = args.trust.store(args.sim || args.trust.trust_sim_ca)?;
    let (backend, reader) = match &args.reader {
        Some(reader) => (Backend::Pcsc, reader.clone()),
        None => {
            let write = match &args.write_pki {
                Some(dir) => Some(WritePki::load(dir).map_err(crate::pki::error)?.write_issue()),
                None => None,
            };
            let card = crate::read::issue(&IssueOptions {
                card_type: args.sim_card_type.unwrap_or(zairyu::files::CardType::ResidenceCard),
                card_number: crate::read::SIM_CARD_NUMBER.to_owned(),
                pki: args.sim_pki.unwrap_or_default().into(),
                randomness: if write.is_some() { SimRandomness::Os } else { IssueOptions::default().randomness },
                write,
                ..IssueOptions::default()
            })?;
            let slot = SimSlot { card, present: false, count: 0 };
            (Backend::Sim(Box::new(Mutex::new(slot))), "zairyu simulator (in-process)".to_owned())
        }
    };
    // One counter page per reader: held until the process ends.
    let _reader_lock = match &backend {
        Backend::Pcsc => Some(lock_reader(&reader)?),
        Backend::Sim(_) => None,
    };
    let opts = args.read.options()?;
    let authority = Authority::open(&args.authority)?;
    // The in-process authority's policy, to refuse early in the form what it would
    // refuse (the service applies its own).
    let policy =
        args.authority.authority_dir.as_ref().and_then(|dir| Policy::load(&dir.join(layout::POLICY_TOML)).ok());
    let counter_id = authority.as_ref().map(Authority::counter_id);
    let token = random_hex(32)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| usage("counter_runtime_failed", format!("tokio runtime: {e}")))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(args.listen))
        .map_err(|e| usage("counter_listen_failed", format!("cannot listen on {}: {e}", args.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| usage("counter_listen_failed", format!("cannot listen on {}: {e}", args.listen)))?;
    // On loopback, a random name of this run under `.localhost` (browsers resolve
    // it to loopback themselves): cookies are not bound to a port, so the session
    // cookie of `127.0.0.1` would go to any other local program's port too; the
    // cookie of this name goes to none.
    let host = if local.ip().is_loopback() {
        format!("{}.localhost:{}", random_hex(16)?.as_str(), local.port())
    } else {
        local.to_string()
    };
    let (events, _) = tokio::sync::watch::channel(String::from("0 empty"));
    let app = Arc::new(App {
        reader: reader.clone(),
        backend,
        trust,
        opts,
        authority: authority.map(Mutex::new),
        policy,
        counter_id,
        default_operator: args.operator.clone().unwrap_or_default(),
        token,
        host,
        state: Mutex::new(CounterState::new()),
        events,
        streams: AtomicUsize::new(0),
    });
    if app.is_sim() {
        // The simulated card starts in the reader.
        app.sim_set(true);
    } else {
        let app = Arc::clone(&app);
        std::thread::Builder::new()
            .name("counter-reader".into())
            .spawn(move || monitor(&app))
            .map_err(|e| usage("counter_runtime_failed", format!("reader thread: {e}")))?;
    }
    outln!(
        "zairyu counter: reader {:?}{}{}\nopen this URL in the counter PC's browser (it holds this run's secret token; \
         do not share it):\nhttp://{}/?token={}",
        reader,
        if app.is_sim() {
            format!(", simulated card {} number {}", app_sim_type(&args), crate::read::SIM_CARD_NUMBER)
        } else {
            String::new()
        },
        if app.can_write() { ", address write enabled" } else { "" },
        app.host,
        app.token.as_str()
    )?;
    let router = http::router(Arc::clone(&app));
    // Ctrl-C ends the process at once: the event streams never end by themselves, so
    // a graceful shutdown would wait for the browser. The reads held go with it.
    let served = runtime.block_on(async move {
        tokio::select! {
            r = std::future::IntoFuture::into_future(axum::serve(listener, router)) => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    served.map_err(|e| usage("counter_serve_failed", format!("serving the page: {e}")))?;
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(backend: Backend) -> App {
        let (events, _) = tokio::sync::watch::channel(String::new());
        App {
            reader: "Test Reader <00>".into(),
            backend,
            trust: zairyu_sim::test_trust_store(),
            opts: ReadOptions::default(),
            authority: None,
            policy: None,
            counter_id: None,
            default_operator: String::new(),
            token: Zeroizing::new("t".into()),
            host: "0123.localhost:1".into(),
            state: Mutex::new(CounterState::new()),
            events,
            streams: AtomicUsize::new(0),
        }
    }

    /// The read of a simulated card, as kept for insertion `insertion`.
    fn card_state(insertion: u64) -> CardState {
        let number = CardNumber::parse(crate::read::SIM_CARD_NUMBER).unwrap();
        let issued = crate::read::issue(&IssueOptions::default()).unwrap();
        let read = crate::read::read_on(
            SimCard::new(issued),
            &number,
            &zairyu_sim::test_trust_store(),
            &ReadOptions::default(),
        )
        .unwrap();
        CardState {
            insertion,
            number: Arc::new(number),
            report_body: report_body(&read),
            read: Box::new(read),
            form: WriteForm::default(),
            pending: None,
            written: None,
            write_error: None,
            writing: false,
        }
    }

    #[test]
    fn a_removal_or_a_swap_drops_the_read() {
        let app = app(Backend::Pcsc);
        let rx = app.events.subscribe();
        app.observe(true, 5);
        assert_eq!(app.lock().reader, ReaderView::Present { insertion: 1, count: 5 });
        assert_eq!(rx.borrow().as_str(), "1 present");
        app.lock().card = Some(card_state(1));
        assert_eq!(app.lock().live(), "result");
        // The same card seen again changes nothing.
        app.observe(true, 5);
        assert_eq!(app.lock().version, 1);
        // Swapped between two polls: a new insertion, the old read gone.
        app.observe(true, 7);
        assert_eq!(app.lock().reader, ReaderView::Present { insertion: 2, count: 7 });
        assert!(app.lock().card.is_none());
        assert_eq!(app.lock().live(), "present");
        app.lock().card = Some(card_state(2));
        app.observe(false, 8);
        let st = app.lock();
        assert!(st.card.is_none() && st.removed);
        assert_eq!(st.live(), "removed");
        drop(st);
        app.reader_gone();
        assert_eq!(app.lock().live(), "no-reader");
        assert_eq!(app.lock().notice.as_ref().unwrap().code, "transport_reader_unavailable");
        app.observe(false, 8);
        assert_eq!(app.lock().live(), "empty");
        assert!(app.lock().notice.is_none());
        assert_eq!(rx.borrow().as_str(), format!("{} empty", app.lock().version));
    }

    #[test]
    fn a_read_kept_for_an_old_insertion_is_not_shown() {
        let app = app(Backend::Pcsc);
        app.observe(true, 1);
        app.lock().card = Some(card_state(7));
        assert!(app.lock().current_card().is_none());
        let page = page::render(&app, &mut app.lock());
        assert!(page.contains("id=\"card-number\"") && !page.contains("id=\"verdict\""));
    }

    #[test]
    fn the_page_shows_the_verdict_but_never_the_number_and_escapes_the_reader() {
        let app = app(Backend::Pcsc);
        app.observe(true, 1);
        app.lock().card = Some(card_state(1));
        let page = page::render(&app, &mut app.lock());
        assert!(page.contains("data-verdict=\"test\""), "{page}");
        assert!(page.contains("id=\"image-front\"") && page.contains("id=\"image-face\""));
        assert!(!page.contains(crate::read::SIM_CARD_NUMBER));
        assert!(page.contains("Test Reader &lt;00&gt;") && !page.contains("<00>"));
        assert!(!page.contains("write-form"), "no write without an authority");
        assert!(!page.contains("<style") && !page.contains(" style="), "no inline style");
        assert_eq!(page.matches("<script").count(), 1);
    }

    #[test]
    fn the_clerk_reads_plain_words_for_each_failure() {
        let cases: [(Error, &str); 4] = [
            (Error::CardNumberMismatch, "カード番号が違います"),
            (TransportError::CardRemoved.into(), "取り外されました"),
            (TransportError::ReaderUnavailable("gone".into()).into(), "カードリーダーが見つかりません"),
            (CardNumber::parse("x").unwrap_err().into(), "12文字"),
        ];
        for (e, words) in cases {
            let n = read_notice(&e);
            assert_eq!(n.code, e.code());
            assert!(n.ja.contains(words), "{}: {}", n.code, n.ja);
            assert!(!n.en.is_empty());
        }
    }

    #[test]
    fn the_simulated_card_goes_in_and_out() {
        let issued = crate::read::issue(&IssueOptions::default()).unwrap();
        let app = app(Backend::Sim(Box::new(Mutex::new(SimSlot { card: issued, present: false, count: 0 }))));
        assert!(app.sim_set(true));
        let (insertion, count) = app.lock().insertion().unwrap();
        assert_eq!(insertion, 1);
        let number = CardNumber::parse(crate::read::SIM_CARD_NUMBER).unwrap();
        assert!(read_now(&app, count, &number).is_ok());
        assert!(app.sim_set(false));
        assert_eq!(read_now(&app, count, &number).unwrap_err().code(), "transport_card_removed");
        assert!(!self::app(Backend::Pcsc).sim_set(true));
    }
}
