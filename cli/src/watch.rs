//! `zairyu watch --reader NAME`, the counter loop (窓口): wait for a card, ask for its
//! number, read and verify it, wait for its removal, and again — driven by a registry
//! system as a subprocess.
//!
//! Protocol: one JSON object per line on stdout, flushed after every line; on stdin,
//! one line per insertion ([`zairyu_cli::watch_line`]: `{"insertion": N,
//! "card_number": "…"}`, or a plain number for the card waiting for it).
//!
//! | event | when |
//! |---|---|
//! | `{"event":"card_inserted","insertion":N,"reader":NAME,"atr":"hex"}` | a card is in the reader (also one already there at start); `N` counts insertions from 1 |
//! | `{"event":"skipped","insertion":N}` | its line was empty: the card is not read |
//! | `{"event":"result","insertion":N,"ok":OK,"verdict":VERDICT,"report":REPORT}` | the read completed ([`zairyu::report::Report`]); `verdict` is [`Verification::verdict`], and `ok` is `true` exactly when the CLI's `read` would exit 0 (verdict `production`) |
//! | `{"event":"result","insertion":N,"ok":false,"error":{"code":CODE,"message":TEXT}}` | the read failed ([`zairyu::Error::code`]): no `report` |
//! | `{"event":"line_rejected","insertion":N or null,"error":{"code":CODE,"message":TEXT}}` | a line that is not used (codes `watch_*`, [`zairyu_cli::watch_line`]) |
//! | `{"event":"card_removed","insertion":N}` | the card left (or the reader vanished with it) |
//! | `{"event":"reader_unavailable"}` | the reader or the PC/SC service is gone; polling goes on |
//!
//! Lines are taken as they arrive (on a thread that stamps each with its arrival
//! time) and judged against the reader as the loop last saw it: a line is used only
//! for the insertion it names, once, while that card is in the reader; a plain line
//! only for the card announced before it arrived. Before the first APDU the loop
//! connects (taking the PC/SC transaction), then checks pcscd's card event counter
//! (the high 16 bits of `dwEventState`) against the one seen at the insertion: a card
//! swapped while the number was typed is never read with it (a wrong number counts
//! against a real card's retry counter). Once connected, a swap makes the handle
//! fail (`transport_card_removed`).
//!
//! Each insertion is read at most once: after its line the loop waits for removal
//! (the event counter also catches a card swapped between two polls; the reset with
//! which each read disconnects does not count as a removal). A pcscd restart, or the
//! reader going away, ends a present card (`card_removed`), is reported once
//! (`reader_unavailable`), and the loop re-establishes its context and goes on; a card
//! still in the reader afterwards is a new insertion. The loop ends when its input
//! ends (checked at least every [`POLL`]).
//! Messages never contain the card number; the report carries it redacted only.

use std::ffi::{CStr, CString};
use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zairyu::CardNumber;
use zairyu::error::{Error, TransportError};
use zairyu::report::Report;
use zairyu::sequence::ReadOptions;
use zairyu::verify::{TrustStore, Verification};
use zairyu_cli::watch_line::{Action, Insertions, MAX_LINE, Reason, Rejection};
use zairyu_pcsc::pcsc::{self, ReaderState, State};
use zairyu_pcsc::{POLL, PcscContext, map_pcsc_error};
use zeroize::Zeroizing;

use crate::error::{CliError, STDOUT};
use crate::exit;

/// Log target.
const LOG: &str = "zairyu::watch";

/// Poll interval while a card waits for its line: how soon a line is taken.
const LINE_POLL: Duration = Duration::from_millis(50);

/// Pause between attempts while the reader or the service is gone.
const RETRY: Duration = Duration::from_millis(500);

/// `zairyu watch --reader NAME`: the loop on stdin and stdout. `delay_before_read`
/// is a test hook (zero in use): a pause between taking a number and connecting.
pub fn command(
    reader: &str,
    trust: &TrustStore,
    opts: &ReadOptions,
    delay_before_read: Duration,
) -> Result<u8, CliError> {
    let lines = spawn_lines(crate::number::stdin_unbuffered());
    let mut watch = Watch::new(reader, trust, opts, io::stdout().lock())?;
    watch.delay_before_read = delay_before_read;
    watch.run(&lines)?;
    Ok(exit::OK)
}

/// One input line and when it arrived.
#[derive(Debug)]
pub struct InputLine {
    /// The line without its `\n`; at most [`MAX_LINE`] + 1 bytes (a longer line is
    /// cut there, so that the parser rejects it as too long).
    pub bytes: Zeroizing<Vec<u8>>,
    /// When the line was read.
    pub received: Instant,
}

/// Reads `source` on a thread, line by line into zeroizing buffers that never grow
/// (so no copy of a line is left behind), and sends each line with its arrival time.
/// The channel closes when the source ends or fails.
pub fn spawn_lines(mut source: impl Read + Send + 'static) -> Receiver<InputLine> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let fresh = || Zeroizing::new(Vec::with_capacity(MAX_LINE + 1));
        let mut chunk = Zeroizing::new([0u8; 512]);
        let mut line = fresh();
        loop {
            let n = match source.read(&mut chunk[..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::info!(target: LOG, "input unreadable ({e})");
                    break;
                }
            };
            for &b in &chunk[..n] {
                if b == b'\n' {
                    let bytes = core::mem::replace(&mut line, fresh());
                    if tx.send(InputLine { bytes, received: Instant::now() }).is_err() {
                        return;
                    }
                } else if line.len() <= MAX_LINE {
                    line.push(b);
                }
            }
        }
        // A last line without its end is still a line.
        if !line.is_empty() {
            let _ = tx.send(InputLine { bytes: line, received: Instant::now() });
        }
    });
    rx
}

/// What one status poll found.
enum Seen {
    /// No change within the poll's time-out.
    Nothing,
    /// The reader's current state; `count` is pcscd's insertion/removal counter.
    State { present: bool, atr: Vec<u8>, count: u32 },
    /// The reader or the service is gone.
    Unavailable(String),
}

/// Why a read did not happen or failed.
enum ReadFailure {
    /// The card in the reader is not the insertion's: it left or was replaced.
    CardChanged,
    /// The read failed.
    Failed(Error),
}

impl From<Error> for ReadFailure {
    fn from(e: Error) -> Self {
        ReadFailure::Failed(e)
    }
}

impl From<TransportError> for ReadFailure {
    fn from(e: TransportError) -> Self {
        ReadFailure::Failed(e.into())
    }
}

/// The loop's state; see the module documentation.
pub struct Watch<'a, W: Write> {
    reader: &'a str,
    name: CString,
    trust: &'a TrustStore,
    opts: &'a ReadOptions,
    output: W,
    ctx: PcscContext,
    state: Option<ReaderState>,
    insertions: Insertions<Instant>,
    /// pcscd's event counter when the current card was announced.
    inserted_count: u32,
    unavailable: bool,
    /// Test hook: a pause between taking a number and connecting.
    pub delay_before_read: Duration,
}

impl<'a, W: Write> Watch<'a, W> {
    /// A loop on `reader`, writing events to `output`. A reader name with a NUL byte
    /// is no such reader.
    pub fn new(reader: &'a str, trust: &'a TrustStore, opts: &'a ReadOptions, output: W) -> Result<Self, CliError> {
        let Ok(name) = CString::new(reader) else {
            return Err(TransportError::NoSuchReader(reader.to_owned()).into());
        };
        Ok(Watch {
            reader,
            name,
            trust,
            opts,
            output,
            ctx: PcscContext::new(),
            state: None,
            insertions: Insertions::new(),
            inserted_count: 0,
            unavailable: false,
            delay_before_read: Duration::ZERO,
        })
    }

    /// Runs until `lines` ends. Fails only if the output cannot be written.
    pub fn run(&mut self, lines: &Receiver<InputLine>) -> Result<(), CliError> {
        loop {
            if !self.take_lines(lines)? {
                log::info!(target: LOG, "end of input: watch ends");
                return Ok(());
            }
            let wait = if self.insertions.awaiting().is_some() { LINE_POLL } else { POLL };
            match poll(&mut self.ctx, &self.name, &mut self.state, wait) {
                Seen::Nothing => {}
                Seen::Unavailable(why) => {
                    if !self.unavailable {
                        log::info!(target: LOG, "reader {:?} unavailable: {why}", self.reader);
                        self.removed()?;
                        self.emit(&json!({"event": "reader_unavailable"}))?;
                        self.unavailable = true;
                    }
                    self.state = None;
                    std::thread::sleep(RETRY);
                }
                Seen::State { present, atr, count } => {
                    if self.unavailable {
                        log::info!(target: LOG, "reader {:?} available again", self.reader);
                        self.unavailable = false;
                    }
                    // pcscd counts insertions and removals: a different count with a card
                    // present means the card was swapped between two polls.
                    if !present || count != self.inserted_count {
                        self.removed()?;
                    }
                    if present && self.insertions.current().is_none() {
                        // Lines that arrived before this card was seen are judged without it.
                        if !self.take_lines(lines)? {
                            return Ok(());
                        }
                        self.inserted_count = count;
                        // Stamped before the event is written: a line can be answered
                        // to it as soon as it is out.
                        let id = self.insertions.insert(Instant::now());
                        let event = json!({"event": "card_inserted", "insertion": id, "reader": self.reader,
                                           "atr": hex::encode(&atr)});
                        self.emit(&event)?;
                    }
                }
            }
        }
    }

    /// Handles every line waiting in `lines`; `false` when the input has ended.
    fn take_lines(&mut self, lines: &Receiver<InputLine>) -> Result<bool, CliError> {
        loop {
            match lines.try_recv() {
                Ok(line) => self.line(line)?,
                Err(TryRecvError::Empty) => return Ok(true),
                Err(TryRecvError::Disconnected) => return Ok(false),
            }
        }
    }

    /// Handles one line: rejected, or used for its insertion.
    fn line(&mut self, line: InputLine) -> Result<(), CliError> {
        let taken = self.insertions.take(&line.bytes, line.received);
        drop(line);
        let (id, action) = match taken {
            Ok(t) => t,
            Err(rejection) => return self.reject(&rejection),
        };
        match action {
            Action::Skip => self.emit(&json!({"event": "skipped", "insertion": id})),
            Action::BadNumber(e) => self.emit(&error_event(id, &e.into())),
            Action::Read(number) => {
                if !self.delay_before_read.is_zero() {
                    std::thread::sleep(self.delay_before_read);
                }
                match self.read_one(&number) {
                    Ok((verification, report)) => self.emit(&result_event(id, &verification, report)),
                    Err(ReadFailure::Failed(e)) => {
                        log::info!(target: LOG, "read failed: {}", e.code());
                        self.emit(&error_event(id, &e))
                    }
                    Err(ReadFailure::CardChanged) => {
                        log::info!(target: LOG, "insertion {id}: the card changed before the read; not read");
                        self.removed()?;
                        self.reject(&Rejection::new(Some(id), Reason::InsertionGone))
                    }
                }
            }
        }
    }

    /// The current card left: `card_removed` for it, if there is one.
    fn removed(&mut self) -> Result<(), CliError> {
        match self.insertions.remove() {
            Some(id) => self.emit(&json!({"event": "card_removed", "insertion": id})),
            None => Ok(()),
        }
    }

    fn reject(&mut self, r: &Rejection) -> Result<(), CliError> {
        log::info!(target: LOG, "line rejected: {}", r.code());
        let event = json!({"event": "line_rejected", "insertion": r.insertion,
                           "error": {"code": r.code(), "message": r.message()}});
        self.emit(&event)
    }

    /// Connects (taking the PC/SC transaction), checks that the card is still the
    /// current insertion's, then reads and verifies it; the connection ends, resetting
    /// the card, before this returns.
    fn read_one(&mut self, number: &CardNumber) -> Result<(Verification, Value), ReadFailure> {
        let card = self.ctx.connect(self.reader)?;
        let (present, count) = reader_now(&mut self.ctx, &self.name)?;
        if !present || count != self.inserted_count {
            log::debug!(target: LOG, "event count {count} (present {present}), expected {}", self.inserted_count);
            return Err(ReadFailure::CardChanged);
        }
        let read = crate::read::read_on(card, number, self.trust, self.opts)?;
        let report = serde_json::to_value(Report::from_read(&read))
            .map_err(|e| Error::Transport(TransportError::Other(format!("report serialisation: {e}"))))?;
        Ok((read.verification, report))
    }

    fn emit(&mut self, v: &Value) -> Result<(), CliError> {
        emit(&mut self.output, v)
    }
}

/// The result event of a completed read: `ok` from the one verdict function, as the
/// CLI's exit code.
fn result_event(insertion: u64, verification: &Verification, report: Value) -> Value {
    let verdict = verification.verdict();
    json!({"event": "result", "insertion": insertion, "ok": exit::is_ok(verdict), "verdict": verdict.as_str(),
           "report": report})
}

/// The result event of a failed read.
fn error_event(insertion: u64, e: &Error) -> Value {
    json!({"event": "result", "insertion": insertion, "ok": false,
           "error": {"code": e.code(), "message": e.to_string()}})
}

/// The reader's state now: card present, and pcscd's event counter.
fn reader_now(ctx: &mut PcscContext, name: &CStr) -> Result<(bool, u32), TransportError> {
    let mut rs = ReaderState::new(name.to_owned(), State::UNAWARE);
    ctx.run(|c| c.get_status_change(Duration::ZERO, core::slice::from_mut(&mut rs))).map_err(map_pcsc_error)?;
    let ev = rs.event_state();
    if ev.intersects(State::UNKNOWN | State::UNAVAILABLE | State::IGNORE) {
        return Err(TransportError::ReaderUnavailable(format!("reader state {ev:?}")));
    }
    Ok((ev.contains(State::PRESENT), rs.event_count()))
}

/// One SCardGetStatusChange on `name`, waiting at most `wait` for a change from the
/// state last seen (`state`, kept with its event counter).
fn poll(ctx: &mut PcscContext, name: &CString, state: &mut Option<ReaderState>, wait: Duration) -> Seen {
    let rs = state.get_or_insert_with(|| ReaderState::new(name.clone(), State::UNAWARE));
    match ctx.run(|c| c.get_status_change(wait, core::slice::from_mut(rs))) {
        Ok(()) => {
            let ev = rs.event_state();
            if ev.intersects(State::UNKNOWN | State::UNAVAILABLE | State::IGNORE) {
                return Seen::Unavailable(format!("reader state {ev:?}"));
            }
            rs.sync_current_state();
            let present = ev.contains(State::PRESENT);
            let atr = if present { rs.atr().to_vec() } else { Vec::new() };
            log::trace!(target: LOG, "reader state {ev:?}, event count {}", rs.event_count());
            Seen::State { present, atr, count: rs.event_count() }
        }
        Err(pcsc::Error::Timeout) => Seen::Nothing,
        Err(e) => Seen::Unavailable(map_pcsc_error(e).to_string()),
    }
}

/// Writes one JSON line and flushes.
fn emit(out: &mut impl Write, v: &Value) -> Result<(), CliError> {
    let mut line = v.to_string().into_bytes();
    line.push(b'\n');
    out.write_all(&line).and_then(|()| out.flush()).map_err(|e| CliError::output(STDOUT, e))
}

#[cfg(test)]
mod tests {
    use zairyu::sequence::ReadPolicy;
    use zairyu_sim::{IssueOptions, SimCard};

    use super::*;

    fn lines_of(input: &'static [u8]) -> Vec<Vec<u8>> {
        let rx = spawn_lines(input);
        rx.iter().map(|l| l.bytes.to_vec()).collect()
    }

    #[test]
    fn lines_are_split_stamped_and_cut_at_the_limit() {
        assert_eq!(lines_of(b"AB12345678CD\n\nlast"), [&b"AB12345678CD"[..], b"", b"last"]);
        assert_eq!(lines_of(b""), Vec::<Vec<u8>>::new());
        let long: &'static [u8] = Box::leak(vec![b'A'; 5000].into_boxed_slice());
        let got = lines_of(long);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].len(), MAX_LINE + 1, "cut one past the limit, so the parser rejects it");
        assert_eq!(
            zairyu_cli::watch_line::parse(&got[0]).unwrap_err().code(),
            "watch_bad_line",
            "an overlong line is rejected"
        );
        let t0 = Instant::now();
        let rx = spawn_lines(&b"one\ntwo\n"[..]);
        let stamps: Vec<Instant> = rx.iter().map(|l| l.received).collect();
        assert!(stamps.len() == 2 && stamps[0] >= t0 && stamps[1] >= stamps[0]);
    }

    /// The verification of a simulated card read with `trust` and `policy`.
    fn verification(under_16: bool, trust: &TrustStore, policy: ReadPolicy) -> Verification {
        let issued = crate::read::issue(&IssueOptions { under_16, ..IssueOptions::default() }).unwrap();
        let number = CardNumber::parse(&IssueOptions::default().card_number).unwrap();
        let opts = ReadOptions { policy, ..ReadOptions::default() };
        crate::read::read_on(SimCard::new(issued), &number, trust, &opts).unwrap().verification
    }

    #[test]
    fn a_completed_read_is_ok_only_when_genuine() {
        let (test_ca, none) = (zairyu_sim::test_trust_store(), TrustStore::new());
        let report = json!({"schema": 1});
        let cases = [
            // Valid under a test anchor is not a genuine card: ok only for production.
            (verification(false, &test_ca, ReadPolicy::Full), false, "test"),
            (verification(false, &none, ReadPolicy::Full), false, "untrusted"),
            (verification(true, &test_ca, ReadPolicy::Full), false, "absent"),
            (verification(false, &test_ca, ReadPolicy::TextOnly), false, "not_checked"),
        ];
        for (v, ok, verdict) in cases {
            let e = result_event(3, &v, report.clone());
            assert_eq!(e["event"], "result");
            assert_eq!(e["insertion"], 3);
            assert_eq!(e["ok"], ok, "{e}");
            assert_eq!(e["verdict"], verdict, "{e}");
            assert_eq!(e["report"], report);
            assert!(e.get("error").is_none());
        }
        let e = error_event(4, &TransportError::CardRemoved.into());
        assert_eq!(
            (&e["insertion"], &e["ok"], &e["error"]["code"]),
            (&json!(4), &json!(false), &json!("transport_card_removed"))
        );
    }

    /// A writer that always fails, as a closed pipe does.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_unwritable_output_is_an_output_error() {
        let e = emit(&mut Closed, &json!({"event": "skipped"})).unwrap_err();
        assert_eq!((e.code(), e.exit_code()), ("output_write_failed", exit::OUTPUT));
        let mut out = Vec::new();
        emit(&mut out, &json!({"event": "skipped"})).unwrap();
        assert_eq!(out, b"{\"event\":\"skipped\"}\n");
    }

    #[test]
    fn a_reader_name_with_a_nul_byte_is_no_such_reader() {
        let (trust, opts) = (TrustStore::new(), ReadOptions::default());
        let e = Watch::new("a\0b", &trust, &opts, Vec::new()).err().expect("refused");
        assert_eq!(e.code(), "transport_no_such_reader");
    }

    #[test]
    fn lines_before_any_card_are_rejected_and_the_loop_ends_with_its_input() {
        let (trust, opts) = (TrustStore::new(), ReadOptions::default());
        let mut out = Vec::new();
        let mut watch = Watch::new("zairyu test: no such reader", &trust, &opts, &mut out).unwrap();
        let rx = spawn_lines(&b"AB12345678CD\n{\"insertion\":1,\"card_number\":\"AB12345678CD\"}\n{bad\n"[..]);
        // Wait for the reader thread to end, so every line is in the channel.
        let lines: Vec<InputLine> = rx.iter().collect();
        let (tx, rx) = std::sync::mpsc::channel();
        for l in lines {
            tx.send(l).unwrap();
        }
        drop(tx);
        assert!(!watch.take_lines(&rx).unwrap(), "input ended");
        drop(watch);
        let events: Vec<Value> =
            String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let codes: Vec<&str> = events.iter().map(|e| e["error"]["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["watch_no_insertion", "watch_unknown_insertion", "watch_bad_line"]);
        assert!(events.iter().all(|e| e["event"] == "line_rejected"));
        assert!(events.iter().all(|e| !e.to_string().contains("AB12345678CD")));
    }
}
