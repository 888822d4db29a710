//! Helpers for fault tests through pcscd + vpcd: a simulated card served into a vpcd
//! slot ([`VirtualCard`]), and another *process* that uses the same reader
//! ([`OtherProcess`]: the test binary run again, doing one PC/SC action as a second
//! application would).
//!
//! Not every test target that includes `common` uses every helper.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zairyu_pcsc::pcsc;
use zairyu_sim::vpcd::{ServeOptions, ServeStats, serve};
use zairyu_sim::{Fault, IssuedCard, SimCard};

use super::pcscd::wait_card;

/// A slot of vpcd: the reader's name and the port its card connects to.
pub type Slot = (&'static str, u16);

/// An issued card served into a vpcd slot (a fresh [`SimCard`] with `faults` each time
/// `serve` asks for one) until [`VirtualCard::remove`]d or dropped.
pub struct VirtualCard {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<std::io::Result<ServeStats>>>,
    reader: &'static str,
}

impl VirtualCard {
    /// Starts serving and waits until pcscd shows the card.
    pub fn insert(slot: Slot, issued: &IssuedCard, faults: &[Fault], mut opts: ServeOptions) -> VirtualCard {
        opts.port = slot.1;
        let (issued, faults) = (issued.clone(), faults.to_vec());
        let make = move || faults.iter().fold(SimCard::new(issued.clone()), |c, f| c.with_fault(f.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || serve(make, &opts, &s));
        wait_card(slot.0, true, Duration::from_secs(15));
        VirtualCard { stop, thread: Some(thread), reader: slot.0 }
    }

    /// Stops serving (the card leaves) and waits until pcscd shows the slot empty.
    pub fn remove(mut self) -> ServeStats {
        let stats = self.stop_thread();
        wait_card(self.reader, false, Duration::from_secs(15));
        stats
    }

    fn stop_thread(&mut self) -> ServeStats {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => t.join().expect("serve thread panicked").expect("serve failed"),
            None => ServeStats::default(),
        }
    }
}

impl Drop for VirtualCard {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

/// The environment variable that makes the test binary, run again, act as
/// [`OtherProcess`] (its value: the action) in the test [`OtherProcess::spawn`] names.
pub const HELPER_ACTION: &str = "ZAIRYU_PCSC_OTHER_PROCESS";
/// The reader the other process uses.
pub const HELPER_READER: &str = "ZAIRYU_PCSC_OTHER_READER";
/// Prefix of the lines the other process reports on (libtest writes its own lines too).
pub const HELPER_PREFIX: &str = "OTHER-PROCESS ";

/// What [`OtherProcess`] does with the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherAction {
    /// Connects in exclusive mode (reports `connect Ok` or `connect Err <error>`), and
    /// on success holds the reader until its stdin is closed, then disconnects leaving
    /// the card (`released`).
    HoldExclusive,
    /// Connects shared and resets the card with `SCardReconnect(SCARD_RESET_CARD)`
    /// (reports `reset Ok` or `reset Err <error>`), then disconnects leaving the card.
    Reset,
}

impl OtherAction {
    fn name(self) -> &'static str {
        match self {
            OtherAction::HoldExclusive => "hold-exclusive",
            OtherAction::Reset => "reset",
        }
    }
}

/// The other process's side: call this from an `#[ignore]`d test named as given to
/// [`OtherProcess::spawn`]. Does nothing unless [`HELPER_ACTION`] is set.
pub fn other_process_main() {
    let Ok(action) = std::env::var(HELPER_ACTION) else { return };
    let reader = std::env::var(HELPER_READER).expect("reader name");
    let say = |line: &str| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{HELPER_PREFIX}{line}").unwrap();
        out.flush().unwrap();
    };
    let name = std::ffi::CString::new(reader).unwrap();
    let ctx = match pcsc::Context::establish(pcsc::Scope::User) {
        Ok(c) => c,
        Err(e) => return say(&format!("establish Err {e:?}")),
    };
    say("ready");
    match action.as_str() {
        "hold-exclusive" => match ctx.connect(&name, pcsc::ShareMode::Exclusive, pcsc::Protocols::ANY) {
            Ok(card) => {
                say("connect Ok");
                // Hold until the test closes our stdin.
                let _ = std::io::stdin().read_to_end(&mut Vec::new());
                let r = card.disconnect(pcsc::Disposition::LeaveCard).map_err(|(_, e)| e);
                say(&format!("released {r:?}"));
            }
            Err(e) => say(&format!("connect Err {e:?}")),
        },
        "reset" => match ctx.connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY) {
            Ok(mut card) => {
                match card.reconnect(pcsc::ShareMode::Shared, pcsc::Protocols::ANY, pcsc::Disposition::ResetCard) {
                    Ok(()) => say("reset Ok"),
                    Err(e) => say(&format!("reset Err {e:?}")),
                }
                let _ = card.disconnect(pcsc::Disposition::LeaveCard);
            }
            Err(e) => say(&format!("reset Err connect {e:?}")),
        },
        other => panic!("unknown action {other}"),
    }
}

/// Another application using the reader: the test binary run again as a child process
/// ([`other_process_main`]). Its report lines arrive on a channel as they are written.
pub struct OtherProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<(Instant, String)>,
}

impl OtherProcess {
    /// Starts the child and waits until it has a PC/SC context (its next step is the
    /// action): `helper_test` is the name of the test that calls [`other_process_main`].
    pub fn spawn(helper_test: &str, action: OtherAction, reader: &str) -> OtherProcess {
        let exe = std::env::current_exe().expect("test binary");
        let mut child = Command::new(exe)
            .args([helper_test, "--exact", "--ignored", "--nocapture", "--test-threads=1", "-q"])
            .env(HELPER_ACTION, action.name())
            .env(HELPER_READER, reader)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the other process");
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(report) = line.strip_prefix(HELPER_PREFIX) {
                    let _ = tx.send((Instant::now(), report.to_owned()));
                }
            }
        });
        let other = OtherProcess { child, stdin, lines };
        let ready = other.next(Duration::from_secs(15)).map(|(_, l)| l);
        assert_eq!(ready.as_deref(), Some("ready"), "the other process did not start");
        other
    }

    /// The next report line and when it arrived, if one comes within `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<(Instant, String)> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// A report line already written, without waiting.
    pub fn poll(&self) -> Option<(Instant, String)> {
        self.lines.try_recv().ok()
    }

    /// Closes the child's stdin (a holder lets go of the reader) and waits for it to
    /// exit (at most `timeout`, then kills it); returns the report lines it still wrote.
    pub fn finish(mut self, timeout: Duration) -> Vec<String> {
        drop(self.stdin.take());
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait().expect("wait for the other process") {
                Some(status) => {
                    assert!(status.success(), "other process: {status}");
                    break;
                }
                None if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!("the other process did not exit within {timeout:?}");
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let mut rest = Vec::new();
        while let Some((_, l)) = self.next(Duration::from_millis(500)) {
            rest.push(l);
        }
        rest
    }
}

impl Drop for OtherProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
