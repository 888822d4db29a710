//! `zairyu watch --reader NAME`, the counter loop (窓口): wait for a card, ask for its
//! number, read and verify it, wait for its removal, and again — driven by a registry
//! system as a subprocess.
//!
//! Protocol: one JSON object per line on stdout, flushed after every line; one card
//! number per line on stdin, read once per insertion.
//!
//! | event | when |
//! |---|---|
//! | `{"event":"card_inserted","reader":NAME,"atr":"hex"}` | a card is in the reader (also one already there at start); then one line is read from stdin |
//! | `{"event":"skipped"}` | the line was empty: the card is not read |
//! | `{"event":"result","ok":OK,"verdict":VERDICT,"report":REPORT}` | the read completed ([`zairyu::report::Report`]); `verdict` is [`Verification::verdict`], and `ok` is `true` exactly when the CLI's `read` would exit 0 (verdict `production` or `test`) |
//! | `{"event":"result","ok":false,"error":{"code":CODE,"message":TEXT}}` | the read failed ([`zairyu::Error::code`]): no `report` |
//! | `{"event":"card_removed"}` | the card left (or the reader vanished with it) |
//! | `{"event":"reader_unavailable"}` | the reader or the PC/SC service is gone; polling goes on |
//!
//! Each insertion is read at most once: after a result the loop waits for removal
//! (pcscd's insertion/removal counter also catches a card swapped between two polls;
//! the reset with which each read disconnects does not count as a removal).
//! A pcscd restart, or the reader going away, ends a present card (`card_removed`),
//! is reported once (`reader_unavailable`), and the loop re-establishes its context
//! and goes on; a card still in the reader afterwards is a new insertion.
//! The loop ends on end of input (when it asks for a number) or when `stop` is set
//! (checked at least every [`POLL`] while waiting for a card; not while blocked reading
//! a number, which the caller ends by closing the input). [`LineInput::spawn`] reads
//! stdin on a thread and sets `stop` when it ends, so that closing stdin ends the loop
//! even while no card is present.
//! Messages never contain the card number; the report carries it redacted only.

use std::ffi::CString;
use std::io::{self, BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use zairyu::CardNumber;
use zairyu::error::{Error, TransportError};
use zairyu::report::Report;
use zairyu::sequence::ReadOptions;
use zairyu::verify::{TrustStore, Verification};
use zairyu_pcsc::pcsc::{self, ReaderState, State};
use zairyu_pcsc::{POLL, PcscContext, map_pcsc_error};

use crate::error::{CliError, STDOUT};
use crate::exit;

/// Log target.
const LOG: &str = "zairyu::watch";

/// `zairyu watch --reader NAME`: the loop on stdin and stdout. Stdin is read on a
/// thread that sets `stop` when it closes, so that closing it ends the loop even while
/// no card is present.
pub fn command(reader: &str, trust: &TrustStore, opts: &ReadOptions) -> Result<u8, CliError> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut input = LineInput::spawn(io::BufReader::new(io::stdin()), stop.clone());
    run(reader, trust, opts, &mut input, &mut io::stdout().lock(), &stop)?;
    Ok(exit::OK)
}

/// Lines from a channel as a [`BufRead`]: each message is one line (a missing `\n` is
/// added); the stream ends when every sender is gone.
#[derive(Debug)]
pub struct LineInput {
    rx: std::sync::mpsc::Receiver<String>,
    buf: Vec<u8>,
    pos: usize,
}

impl LineInput {
    /// Lines sent on `rx`.
    pub fn new(rx: std::sync::mpsc::Receiver<String>) -> Self {
        LineInput { rx, buf: Vec::new(), pos: 0 }
    }

    /// Reads `source` line by line on a thread; when it ends (or fails), sets `eof`.
    /// Pass the `stop` flag of [`run`] as `eof` to end the loop when the input closes.
    pub fn spawn(source: impl BufRead + Send + 'static, eof: std::sync::Arc<AtomicBool>) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in source.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
            eof.store(true, Ordering::SeqCst);
        });
        LineInput::new(rx)
    }
}

impl io::Read for LineInput {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for LineInput {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.buf.len() {
            match self.rx.recv() {
                Ok(line) => {
                    self.buf = line.into_bytes();
                    if self.buf.last() != Some(&b'\n') {
                        self.buf.push(b'\n');
                    }
                    self.pos = 0;
                }
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

/// Pause between attempts while the reader or the service is gone.
const RETRY: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No card handled: the next present card is an insertion.
    WaitInsert,
    /// A card was handled: wait until it is gone.
    WaitRemove,
}

/// What one status poll found.
enum Seen {
    /// No change within [`POLL`].
    Nothing,
    /// The reader's current state; `count` is pcscd's insertion/removal counter.
    State { present: bool, atr: Vec<u8>, count: u32 },
    /// The reader or the service is gone.
    Unavailable(String),
}

/// Watches `reader`; see the module documentation. Fails only if `output` cannot be
/// written, or for a reader name with a NUL byte (no such reader).
pub fn run(
    reader: &str,
    trust: &TrustStore,
    opts: &ReadOptions,
    input: &mut impl BufRead,
    output: &mut impl Write,
    stop: &AtomicBool,
) -> Result<(), CliError> {
    let Ok(name) = CString::new(reader) else {
        return Err(TransportError::NoSuchReader(reader.to_owned()).into());
    };
    let mut ctx = PcscContext::new();
    let mut state: Option<ReaderState> = None;
    let mut phase = Phase::WaitInsert;
    let mut unavailable = false;
    let mut inserted_count = 0u32;
    while !stop.load(Ordering::Relaxed) {
        match poll(&mut ctx, &name, &mut state) {
            Seen::Nothing => {}
            Seen::Unavailable(why) => {
                if !unavailable {
                    log::info!(target: LOG, "reader {reader:?} unavailable: {why}");
                    if phase == Phase::WaitRemove {
                        emit(output, &json!({"event": "card_removed"}))?;
                        phase = Phase::WaitInsert;
                    }
                    emit(output, &json!({"event": "reader_unavailable"}))?;
                    unavailable = true;
                }
                state = None;
                std::thread::sleep(RETRY);
            }
            Seen::State { present, atr, count } => {
                if unavailable {
                    log::info!(target: LOG, "reader {reader:?} available again");
                    unavailable = false;
                }
                // pcscd counts insertions and removals: a different count with a card
                // present means the card was swapped between two polls.
                if phase == Phase::WaitRemove && (!present || count != inserted_count) {
                    emit(output, &json!({"event": "card_removed"}))?;
                    phase = Phase::WaitInsert;
                }
                if phase == Phase::WaitInsert && present {
                    inserted_count = count;
                    phase = Phase::WaitRemove;
                    emit(output, &json!({"event": "card_inserted", "reader": reader, "atr": hex::encode(&atr)}))?;
                    let mut line = zeroize::Zeroizing::new(String::new());
                    match input.read_line(&mut line) {
                        Ok(0) => {
                            log::info!(target: LOG, "end of input: watch ends");
                            return Ok(());
                        }
                        Ok(_) => {}
                        Err(e) => {
                            log::info!(target: LOG, "input unreadable ({e}): watch ends");
                            return Ok(());
                        }
                    }
                    let typed = line.trim();
                    if typed.is_empty() {
                        emit(output, &json!({"event": "skipped"}))?;
                    } else {
                        let event = match read_one(&mut ctx, reader, typed, trust, opts) {
                            Ok((verification, report)) => result_event(&verification, report),
                            Err(e) => {
                                log::info!(target: LOG, "read failed: {}", e.code());
                                json!({"event": "result", "ok": false,
                                       "error": {"code": e.code(), "message": e.to_string()}})
                            }
                        };
                        emit(output, &event)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Reads and verifies the card with a fresh connection (ended, resetting the card,
/// before this returns); the verification and the report as JSON.
fn read_one(
    ctx: &mut PcscContext,
    reader: &str,
    typed: &str,
    trust: &TrustStore,
    opts: &ReadOptions,
) -> Result<(Verification, Value), Error> {
    let number = CardNumber::parse(typed)?;
    let read = crate::read::read_on(ctx.connect(reader)?, &number, trust, opts)?;
    let report = serde_json::to_value(Report::from_read(&read))
        .map_err(|e| Error::Transport(TransportError::Other(format!("report serialisation: {e}"))))?;
    Ok((read.verification, report))
}

/// The result event of a completed read: `ok` from the one verdict function, as the
/// CLI's exit code.
fn result_event(verification: &Verification, report: Value) -> Value {
    let verdict = verification.verdict();
    json!({"event": "result", "ok": exit::is_ok(verdict), "verdict": verdict.as_str(), "report": report})
}

/// One SCardGetStatusChange on `name`, waiting at most [`POLL`] for a change from
/// the state last seen (`state`, kept with its event counter).
fn poll(ctx: &mut PcscContext, name: &CString, state: &mut Option<ReaderState>) -> Seen {
    let rs = state.get_or_insert_with(|| ReaderState::new(name.clone(), State::UNAWARE));
    match ctx.run(|c| c.get_status_change(POLL, core::slice::from_mut(rs))) {
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

    #[test]
    fn lines_from_a_channel_then_end_of_input() {
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send("AB12345678CD".to_owned()).unwrap();
        tx.send("\n".to_owned()).unwrap();
        drop(tx);
        let mut input = LineInput::new(rx);
        let mut line = String::new();
        assert_eq!(input.read_line(&mut line).unwrap(), 13);
        assert_eq!(line, "AB12345678CD\n");
        line.clear();
        assert_eq!(input.read_line(&mut line).unwrap(), 1);
        line.clear();
        assert_eq!(input.read_line(&mut line).unwrap(), 0);
    }

    #[test]
    fn spawn_sets_the_flag_when_the_source_ends() {
        let eof = Arc::new(AtomicBool::new(false));
        let mut input = LineInput::spawn(&b"one\ntwo\n"[..], eof.clone());
        let lines: Vec<String> = (&mut input).lines().map(Result::unwrap).collect();
        assert_eq!(lines, ["one", "two"]);
        assert!(eof.load(Ordering::SeqCst));
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
            let e = result_event(&v, report.clone());
            assert_eq!(e["event"], "result");
            assert_eq!(e["ok"], ok, "{e}");
            assert_eq!(e["verdict"], verdict, "{e}");
            assert_eq!(e["report"], report);
            assert!(e.get("error").is_none());
        }
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
        let stop = AtomicBool::new(false);
        let e = run("a\0b", &TrustStore::new(), &ReadOptions::default(), &mut &b""[..], &mut Vec::new(), &stop)
            .unwrap_err();
        assert_eq!(e.code(), "transport_no_such_reader");
    }
}
