//! The `zairyu` binary on the real PC/SC stack: pcscd with vsmartcard's vpcd, and
//! `zairyu sim serve` as the card; `zairyu watch` driven as a registry system drives
//! it (card numbers on stdin, JSON lines on stdout). Run by `scripts/test-all` after it
//! starts pcscd (`cargo test -p zairyu-cli --test pcscd -- --ignored --test-threads=1`;
//! one test restarts pcscd).
#![cfg(feature = "pcsc")]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../../pcsc/tests/common/pcscd.rs"]
mod pcscd;

use crate::pcscd::{pcscd, wait_card};

const READER: &str = "Virtual PCD 00 01";
const PORT: &str = "35964";
const NUMBER: &str = "AB12345678CD";

fn zairyu(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zairyu")).args(args).output().expect("runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A `zairyu sim serve` process, killed on drop.
struct Served(Child);

impl Served {
    fn start(extra: &[&str]) -> Served {
        let mut args = vec!["sim", "serve", "--vpcd-port", PORT];
        args.extend_from_slice(extra);
        let child =
            Command::new(env!("CARGO_BIN_EXE_zairyu")).args(&args).stderr(Stdio::null()).spawn().expect("serve starts");
        let served = Served(child);
        wait_card(READER, true, Duration::from_secs(15));
        served
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        wait_card(READER, false, Duration::from_secs(15));
    }
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn readers_read_and_doctor_through_pcscd() {
    let _card = Served::start(&["--card-type", "05"]);
    let (code, out, _) = zairyu(&["readers", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v.as_array().unwrap().iter().any(|r| r["name"] == READER && r["card_present"] == true));

    let (code, out, err) = zairyu(&["read", "--reader", READER, "--card-number", NUMBER, "--trust-sim-ca", "--json"]);
    // Valid under the simulator's test CA: exit 12, not 0 (not a genuine card).
    assert_eq!(code, 12, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["card_type"], "05");
    assert_eq!(v["verification"]["signature"], "valid");
    assert_eq!(v["verification"]["anchor_profile"], "test");
    assert_eq!(v["link"]["extended_length"], true);
    assert_eq!(v["metrics"]["apdus"], 17);

    // Without --trust-sim-ca a reader read trusts no test anchor: no chain, exit 11.
    let (code, _, _) = zairyu(&["read", "--reader", READER, "--card-number", NUMBER]);
    assert_eq!(code, 11);
    let (code, _, err) = zairyu(&["read", "--reader", READER, "--card-number", "ZZ00000000ZZ"]);
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = zairyu(&["read", "--reader", "No Such Reader", "--card-number", NUMBER]);
    assert_eq!(code, 4);
    assert!(err.contains("transport_no_such_reader"), "{err}");

    let (code, out, _) = zairyu(&["doctor", "--reader", READER, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["card_type"], "05");
    assert_eq!(v[0]["extended_length"], "true");
    assert!(v[0]["atr"].as_str().unwrap().starts_with("3B88800"));
    assert!(!out.contains(NUMBER));
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn short_apdu_reader_through_pcscd_falls_back_and_reports_it() {
    let _card = Served::start(&["--short-apdus-only"]);
    let (code, out, err) = zairyu(&["read", "--reader", READER, "--card-number", NUMBER, "--trust-sim-ca", "--json"]);
    // Valid under the simulator's test CA: exit 12, not 0 (not a genuine card).
    assert_eq!(code, 12, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["link"]["extended_length"], false);
    assert!(v["link"]["fallbacks"].as_array().unwrap().iter().any(|f| f == "sm_short_chunked"));
    assert_eq!(v["verification"]["signature"], "valid");
    let (_, out, _) = zairyu(&["doctor", "--reader", READER, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["extended_length"], "false");
}

/// A `zairyu watch` process: card numbers go to its stdin, its JSON lines come back
/// through a channel. Killed on drop.
struct Watch {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<String>,
}

impl Watch {
    fn start() -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zairyu"))
            .args(["watch", "--reader", READER, "--trust-sim-ca"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("watch starts");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let (tx, events) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch { stdin: child.stdin.take(), child, events }
    }

    /// Writes one line to watch's stdin.
    fn send(&mut self, line: &str) {
        writeln!(self.stdin.as_mut().expect("stdin open"), "{line}").unwrap();
    }

    /// The next event (30 s at most); no event may show the card number.
    fn next(&self) -> Value {
        let line = self.events.recv_timeout(Duration::from_secs(30)).expect("watch emitted no event in 30 s");
        assert!(!line.contains(NUMBER), "an event contains the card number: {line}");
        serde_json::from_str(&line).unwrap()
    }

    /// Asserts that no event comes within `d`.
    fn quiet(&self, d: Duration) {
        match self.events.recv_timeout(d) {
            Err(RecvTimeoutError::Timeout) => {}
            other => panic!("expected no event, got {other:?}"),
        }
    }

    /// Closes stdin and returns watch's exit code, which must come within `within`.
    fn close(mut self, within: Duration) -> i32 {
        drop(self.stdin.take());
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("exit code");
            }
            assert!(t0.elapsed() < within, "watch still running {within:?} after stdin closed");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn watch_reads_each_insertion_once_and_says_ok_from_the_verdict() {
    wait_card(READER, false, Duration::from_secs(15));
    let mut watch = Watch::start();
    for card_type in ["1", "2", "05", "06"] {
        // The number may be typed before the card arrives.
        watch.send(NUMBER);
        let served = Served::start(&["--card-type", card_type]);
        let e = watch.next();
        assert_eq!(e["event"], "card_inserted", "{e}");
        assert_eq!(e["reader"], READER);
        assert!(e["atr"].as_str().unwrap().starts_with("3b88800"), "{e}");
        let e = watch.next();
        assert_eq!(e["event"], "result", "{e}");
        // Valid under a test anchor: a completed read, but not "ok" (not genuine).
        assert_eq!((&e["ok"], &e["verdict"]), (&Value::from(false), &Value::from("test")), "{e}");
        assert!(e.get("error").is_none() && e.get("report").is_some(), "{e}");
        assert_eq!(e["report"]["card_type"], card_type);
        assert_eq!(e["report"]["verification"]["signature"], "valid");
        assert_eq!(e["report"]["verdict"], "test");
        assert!(e.get("error").is_none(), "{e}");
        // The same insertion is not read twice: nothing happens until removal.
        watch.quiet(Duration::from_millis(1500));
        drop(served);
        assert_eq!(watch.next()["event"], "card_removed");
    }
    // A card that reads completely but does not verify (under 16: no signature) is a
    // report with "ok": false, as `zairyu read` exits non-zero for it.
    watch.send(NUMBER);
    let served = Served::start(&["--under-16"]);
    assert_eq!(watch.next()["event"], "card_inserted");
    let e = watch.next();
    assert_eq!((&e["ok"], &e["verdict"]), (&Value::from(false), &Value::from("absent")), "{e}");
    assert_eq!(e["report"]["verification"]["signature"], "absent");
    drop(served);
    assert_eq!(watch.next()["event"], "card_removed");
    // Closing stdin with no card in the reader ends the loop within its poll interval.
    assert_eq!(watch.close(Duration::from_secs(5)), 0);
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn watch_skips_empty_lines_reports_errors_and_ends_with_its_input() {
    wait_card(READER, false, Duration::from_secs(15));
    let mut watch = Watch::start();
    // Empty line: skipped.
    let served = Served::start(&[]);
    assert_eq!(watch.next()["event"], "card_inserted");
    watch.send("");
    assert_eq!(watch.next()["event"], "skipped");
    drop(served);
    assert_eq!(watch.next()["event"], "card_removed");
    // A malformed number: a typed error, no read, no report.
    let served = Served::start(&[]);
    assert_eq!(watch.next()["event"], "card_inserted");
    watch.send("AB123");
    let e = watch.next();
    assert_eq!((&e["event"], &e["ok"]), (&Value::from("result"), &Value::from(false)), "{e}");
    assert_eq!(e["error"]["code"], "input_bad_card_number");
    assert!(e.get("report").is_none() && e.get("verdict").is_none(), "{e}");
    drop(served);
    assert_eq!(watch.next()["event"], "card_removed");
    // A number the card rejects.
    let served = Served::start(&[]);
    assert_eq!(watch.next()["event"], "card_inserted");
    watch.send("ZZ00000000ZZ");
    let e = watch.next();
    assert_eq!(e["error"]["code"], "wrong_card_number", "{e}");
    assert!(!e.to_string().contains("ZZ00000000ZZ"), "{e}");
    drop(served);
    assert_eq!(watch.next()["event"], "card_removed");
    // End of input while a card waits for its number: the loop ends, exit 0.
    let served = Served::start(&[]);
    assert_eq!(watch.next()["event"], "card_inserted");
    assert_eq!(watch.close(Duration::from_secs(5)), 0);
    drop(served);
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn watch_survives_pcscd_restart() {
    wait_card(READER, false, Duration::from_secs(15));
    let mut watch = Watch::start();
    watch.send(NUMBER);
    let served = Served::start(&["--card-type", "05"]);
    assert_eq!(watch.next()["event"], "card_inserted");
    let e = watch.next();
    assert_eq!((e["event"].as_str(), e["verdict"].as_str()), (Some("result"), Some("test")), "{e}");
    // pcscd goes away with the card in the reader: the card is gone with it, and the
    // reader is reported unavailable once.
    pcscd("stop");
    assert_eq!(watch.next()["event"], "card_removed");
    assert_eq!(watch.next()["event"], "reader_unavailable");
    watch.quiet(Duration::from_secs(1));
    // pcscd is back and the card reconnects to vpcd: a new insertion, asked for a
    // number again (an empty line skips it).
    watch.send("");
    pcscd("start");
    let e = watch.next();
    assert_eq!(e["event"], "card_inserted", "{e}");
    assert_eq!(watch.next()["event"], "skipped");
    drop(served);
    assert_eq!(watch.next()["event"], "card_removed");
    assert_eq!(watch.close(Duration::from_secs(5)), 0);
}
