//! The `zairyu` binary on the real PC/SC stack: pcscd with vsmartcard's vpcd, and
//! `zairyu sim serve` as the card; `zairyu watch` driven as a registry system drives
//! it (card numbers on stdin, JSON lines on stdout). Run by `scripts/test-all` after it
//! starts pcscd (`cargo test -p zairyu-cli --test pcscd -- --ignored --test-threads=1`;
//! one test restarts pcscd).
//!
//! The address write through the `zairyu-authority` service over HTTPS (mutual TLS on
//! 127.0.0.1) uses that package's binary, found next to `zairyu` in
//! `target/<profile>/` or as `ZAIRYU_AUTHORITY_BIN` (`common/authority.rs`): build it
//! first (`cargo build -p zairyu-authority`; scripts/test-all's `cargo test
//! --workspace` does).
#![cfg(feature = "pcsc")]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "common/authority.rs"]
mod authority;
#[path = "../../pcsc/tests/common/pcscd.rs"]
mod pcscd;
#[path = "common/secrets.rs"]
mod secrets;

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
        Watch::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zairyu"))
            .args(["watch", "--reader", READER, "--trust-sim-ca"])
            .args(extra)
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

    /// The next event, which must be `card_inserted`: its insertion id.
    fn inserted(&self) -> u64 {
        let e = self.next();
        assert_eq!(e["event"], "card_inserted", "{e}");
        e["insertion"].as_u64().expect("an insertion id")
    }

    /// The next event, which must be `card_removed` for `insertion`.
    fn removed(&self, insertion: u64) {
        let e = self.next();
        assert_eq!((e["event"].as_str(), e["insertion"].as_u64()), (Some("card_removed"), Some(insertion)), "{e}");
    }

    /// The next event, which must be `line_rejected` with `code` for `insertion`.
    fn rejected(&self, code: &str, insertion: Option<u64>) {
        let e = self.next();
        assert_eq!(e["event"], "line_rejected", "{e}");
        assert_eq!(e["error"]["code"], code, "{e}");
        assert_eq!(e["insertion"].as_u64(), insertion, "{e}");
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
    for (i, card_type) in ["1", "2", "05", "06"].into_iter().enumerate() {
        let served = Served::start(&["--card-type", card_type]);
        let e = watch.next();
        assert_eq!(e["event"], "card_inserted", "{e}");
        assert_eq!(e["reader"], READER);
        assert!(e["atr"].as_str().unwrap().starts_with("3b88800"), "{e}");
        // Insertions are numbered from 1.
        let id = e["insertion"].as_u64().unwrap();
        assert_eq!(id, i as u64 + 1, "{e}");
        // The line names the insertion (a plain number works too: see below).
        if i % 2 == 0 {
            watch.send(&format!(r#"{{"insertion": {id}, "card_number": "{NUMBER}"}}"#));
        } else {
            watch.send(NUMBER);
        }
        let e = watch.next();
        assert_eq!(e["event"], "result", "{e}");
        assert_eq!(e["insertion"], id, "{e}");
        // Valid under a test anchor: a completed read, but not "ok" (not genuine).
        assert_eq!((&e["ok"], &e["verdict"]), (&Value::from(false), &Value::from("test")), "{e}");
        assert!(e.get("error").is_none() && e.get("report").is_some(), "{e}");
        assert_eq!(e["report"]["card_type"], card_type);
        assert_eq!(e["report"]["verification"]["signature"], "valid");
        assert_eq!(e["report"]["verdict"], "test");
        // The same insertion is not read twice: nothing happens until removal.
        watch.quiet(Duration::from_millis(1500));
        drop(served);
        watch.removed(id);
    }
    // A card that reads completely but does not verify (under 16: no signature) is a
    // report with "ok": false, as `zairyu read` exits non-zero for it.
    let served = Served::start(&["--under-16"]);
    let id = watch.inserted();
    watch.send(NUMBER);
    let e = watch.next();
    assert_eq!((&e["ok"], &e["verdict"]), (&Value::from(false), &Value::from("absent")), "{e}");
    assert_eq!(e["report"]["verification"]["signature"], "absent");
    drop(served);
    watch.removed(id);
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
    let id = watch.inserted();
    watch.send("");
    let e = watch.next();
    assert_eq!((e["event"].as_str(), e["insertion"].as_u64()), (Some("skipped"), Some(id)), "{e}");
    drop(served);
    watch.removed(id);
    // An empty number in a tagged line skips too.
    let served = Served::start(&[]);
    let id = watch.inserted();
    watch.send(&format!(r#"{{"insertion": {id}, "card_number": ""}}"#));
    assert_eq!(watch.next()["event"], "skipped");
    drop(served);
    watch.removed(id);
    // A malformed number: a typed error, no read, no report.
    let served = Served::start(&[]);
    let id = watch.inserted();
    watch.send("AB123");
    let e = watch.next();
    assert_eq!(
        (&e["event"], &e["ok"], &e["insertion"]),
        (&Value::from("result"), &Value::from(false), &Value::from(id)),
        "{e}"
    );
    assert_eq!(e["error"]["code"], "input_bad_card_number");
    assert!(e.get("report").is_none() && e.get("verdict").is_none(), "{e}");
    drop(served);
    watch.removed(id);
    // A number the card rejects.
    let served = Served::start(&[]);
    let id = watch.inserted();
    watch.send("ZZ00000000ZZ");
    let e = watch.next();
    assert_eq!(e["error"]["code"], "wrong_card_number", "{e}");
    assert!(!e.to_string().contains("ZZ00000000ZZ"), "{e}");
    drop(served);
    watch.removed(id);
    // End of input while a card waits for its number: the loop ends, exit 0.
    let served = Served::start(&[]);
    watch.inserted();
    assert_eq!(watch.close(Duration::from_secs(5)), 0);
    drop(served);
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn watch_survives_pcscd_restart() {
    wait_card(READER, false, Duration::from_secs(15));
    let mut watch = Watch::start();
    let served = Served::start(&["--card-type", "05"]);
    let id = watch.inserted();
    watch.send(NUMBER);
    let e = watch.next();
    assert_eq!((e["event"].as_str(), e["verdict"].as_str()), (Some("result"), Some("test")), "{e}");
    // pcscd goes away with the card in the reader: the card is gone with it, and the
    // reader is reported unavailable once.
    pcscd("stop");
    watch.removed(id);
    assert_eq!(watch.next()["event"], "reader_unavailable");
    watch.quiet(Duration::from_secs(1));
    // pcscd is back and the card reconnects to vpcd: a new insertion, asked for a
    // number again (an empty line skips it).
    pcscd("start");
    let again = watch.inserted();
    assert_eq!(again, id + 1);
    watch.send("");
    assert_eq!(watch.next()["event"], "skipped");
    drop(served);
    watch.removed(again);
    assert_eq!(watch.close(Duration::from_secs(5)), 0);
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn watch_never_uses_a_line_for_another_insertion() {
    wait_card(READER, false, Duration::from_secs(15));
    let mut watch = Watch::start();
    let tagged = |id: u64| format!(r#"{{"insertion": {id}, "card_number": "{NUMBER}"}}"#);
    // Before any insertion: a plain line, and a line naming an insertion not announced.
    watch.send(NUMBER);
    watch.rejected("watch_no_insertion", None);
    watch.send(&tagged(1));
    watch.rejected("watch_unknown_insertion", Some(1));
    watch.send("{not json");
    watch.rejected("watch_bad_line", None);
    // The card arrives: none of those lines is used for it.
    let served = Served::start(&["--card-type", "05"]);
    let first = watch.inserted();
    watch.quiet(Duration::from_millis(1000));
    watch.send(&tagged(first + 1));
    watch.rejected("watch_unknown_insertion", Some(first + 1));
    watch.send(&tagged(first));
    let e = watch.next();
    assert_eq!((e["event"].as_str(), e["insertion"].as_u64()), (Some("result"), Some(first)), "{e}");
    assert_eq!(e["verdict"], "test", "{e}");
    // Sent twice, tagged or plain: rejected, the card is not read again.
    watch.send(&tagged(first));
    watch.rejected("watch_insertion_answered", Some(first));
    watch.send(NUMBER);
    watch.rejected("watch_insertion_answered", Some(first));
    drop(served);
    watch.removed(first);
    // After the card left: a line for it, and a plain line, are rejected...
    watch.send(&tagged(first));
    watch.rejected("watch_insertion_gone", Some(first));
    watch.send(NUMBER);
    watch.rejected("watch_no_insertion", None);
    // ...and never used for the next card, which waits for its own line.
    let served = Served::start(&[]);
    let second = watch.inserted();
    assert_eq!(second, first + 1);
    watch.quiet(Duration::from_millis(1000));
    watch.send(&tagged(first));
    watch.rejected("watch_insertion_gone", Some(first));
    watch.send(&tagged(second));
    let e = watch.next();
    assert_eq!((e["event"].as_str(), e["insertion"].as_u64()), (Some("result"), Some(second)), "{e}");
    assert_eq!(e["report"]["card_type"], "1", "{e}");
    drop(served);
    watch.removed(second);
    assert_eq!(watch.close(Duration::from_secs(5)), 0);
}

/// A card swapped after its number was taken but before the read (the loop is held
/// there by a test hook, so it cannot see the swap by polling): the event counter
/// check refuses to read the new card with the old number.
#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn watch_never_reads_a_swapped_card_with_the_old_number() {
    const OTHER: &str = "XY87654321ZW";
    wait_card(READER, false, Duration::from_secs(15));
    let mut watch = Watch::start_with(&["--test-delay-before-read", "8000"]);
    let served = Served::start(&[]);
    let first = watch.inserted();
    watch.send(&format!(r#"{{"insertion": {first}, "card_number": "{NUMBER}"}}"#));
    // While watch waits before connecting, the card is replaced by another one, with
    // another number.
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    drop(served);
    let served = Served::start(&["--card-number", OTHER, "--card-type", "05"]);
    assert!(t0.elapsed() < Duration::from_secs(7), "the swap took {:?}: longer than the hook's delay", t0.elapsed());
    // The old card's insertion ends, its line is not used, and the new card is a new
    // insertion (not a read of it with the first card's number).
    watch.removed(first);
    watch.rejected("watch_insertion_gone", Some(first));
    let second = watch.inserted();
    assert_eq!(second, first + 1);
    watch.send(&format!(r#"{{"insertion": {second}, "card_number": "{OTHER}"}}"#));
    let e = watch.next();
    assert_eq!((e["event"].as_str(), e["insertion"].as_u64()), (Some("result"), Some(second)), "{e}");
    assert_eq!((e["verdict"].as_str(), e["report"]["card_type"].as_str()), (Some("test"), Some("05")), "{e}");
    drop(served);
    watch.removed(second);
    assert_eq!(watch.close(Duration::from_secs(5)), 0);
}

/// `read` without `--reader` uses the one connected reader: pcscd with vpcd lists two
/// ("Virtual PCD 00 00" and "00 01"), so it names them and reads nothing.
#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn read_without_reader_names_the_readers_when_there_are_several() {
    let _card = Served::start(&[]);
    let (_, out, _) = zairyu(&["readers", "--json"]);
    let listed: Vec<String> = serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(listed.len() >= 2 && listed.iter().any(|n| n == READER), "{listed:?}");
    for args in [
        &["read", "--card-number", NUMBER, "--trust-sim-ca"][..],
        &["dump", "--card-number", NUMBER, "--out", "/nonexistent/zairyu-dump"],
    ] {
        let (code, out, err) = zairyu(args);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.starts_with(&format!("error [several_readers]: {} PC/SC readers are connected (", listed.len())),
            "{err}"
        );
        for name in &listed {
            assert!(err.contains(&format!("{name:?}")), "{name} not named: {err}");
        }
        assert!(err.contains("--reader NAME"), "{err}");
        assert!(out.is_empty(), "{out}");
    }
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn verbose_pcsc_trace_holds_no_card_number_or_key() {
    for extra in [&["--card-type", "1"][..], &["--card-type", "05"], &["--card-type", "05", "--short-apdus-only"]] {
        let _card = Served::start(extra);
        for typed in [NUMBER, "ZZ87654321YY"] {
            let (code, out, err) =
                zairyu(&["-v", "read", "--reader", READER, "--card-number", typed, "--trust-sim-ca", "--json"]);
            assert_eq!(code == 12, typed == NUMBER, "{extra:?}, {typed}: exit {code}\n{err}");
            assert!(err.contains("sw="), "-v shows the APDU trace: {err}");
            secrets::assert_no_secret(&err, &[NUMBER, typed]);
            secrets::assert_no_secret(&out, &[NUMBER, typed]);
        }
    }
}

// --- Address write (AWP v1, issue 12 "done when"): pki init, sim serve with the write
// application and a state file, write-address through pcscd, a restart from the state
// file, and the next read.

/// A `zairyu pki init` directory (also holding the card's state file), removed on drop.
struct WriteDir(std::path::PathBuf);

impl WriteDir {
    fn init(name: &str) -> WriteDir {
        let dir = std::env::temp_dir().join(format!("zairyu-pcscd-write-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (code, _, err) = zairyu(&["pki", "init", "--out", dir.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        WriteDir(dir)
    }

    fn pki(&self) -> &str {
        self.0.to_str().unwrap()
    }

    fn state(&self) -> String {
        self.0.join("card.state").to_str().unwrap().to_owned()
    }

    /// Serves the card: a new one (`init`), or the one of the state file.
    fn serve(&self, card_type: &str, init: bool) -> Served {
        let (pki, state) = (self.pki().to_owned(), self.state());
        let mut args = vec!["--card-type", card_type, "--write-pki", &pki, "--state", &state];
        if init {
            args.push("--init-state");
        }
        Served::start(&args)
    }

    /// `write-address --reader` of `record` (date, municipality code, address).
    fn write(&self, record: [&str; 3]) -> serde_json::Value {
        let [date, code, address] = record;
        let (exit, out, err) = zairyu(&[
            "write-address",
            "--reader",
            READER,
            "--card-number",
            NUMBER,
            "--date",
            date,
            "--municipality-code",
            code,
            "--address",
            address,
            "--operator",
            "clerk-007",
            "--authority-dir",
            self.pki(),
            "--json",
        ]);
        assert_eq!(exit, 0, "{err}");
        secrets::assert_no_secret(&out, &[NUMBER]);
        secrets::assert_no_secret(&err, &[NUMBER]);
        serde_json::from_str(&out).unwrap()
    }
}

impl Drop for WriteDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const NEW_RECORD: [&str; 3] = ["20260430", "271276", "大阪府大阪市北区中之島１－３－２０"];

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn a_first_generation_address_written_through_pcscd_is_read_after_a_restart() {
    let dir = WriteDir::init("gen1");
    let read = || {
        let (code, out, err) =
            zairyu(&["read", "--reader", READER, "--card-number", NUMBER, "--trust-sim-ca", "--json"]);
        assert_eq!(code, 12, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    {
        let _card = dir.serve("1", true);
        let before = read();
        assert_ne!(before["fields"]["address"]["text"], NEW_RECORD[2]);
        let v = dir.write(NEW_RECORD);
        assert_eq!((v["card_type"].as_str(), v["receipt"]["file"].as_str()), (Some("1"), Some("DF2/EF01")));
        assert_eq!(v["round_trips"], 4);
        assert_eq!(v["audit_head"]["seq"], 2);
    }
    // The server is gone; a new one loads the card's memory from the state file.
    let _card = dir.serve("1", false);
    let after = read();
    let f = &after["fields"];
    assert_eq!(f["address"]["text"], NEW_RECORD[2]);
    assert_eq!(f["address_written_on"], NEW_RECORD[0]);
    assert_eq!(f["municipality_code"], NEW_RECORD[1]);
    // Only the address changed: the card's signature over its images still verifies.
    assert_eq!(after["verification"]["signature"], "valid");
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn a_second_generation_address_image_written_through_pcscd_decodes_with_libtiff() {
    let dir = WriteDir::init("gen2");
    let receipt = {
        let _card = dir.serve("05", true);
        let v = dir.write(NEW_RECORD);
        assert_eq!((v["card_type"].as_str(), v["receipt"]["file"].as_str()), (Some("05"), Some("DF1/EF04")));
        v["receipt"]["content_sha256"].as_str().unwrap().to_owned()
    };
    let _card = dir.serve("05", false);
    let out = dir.0.join("dump");
    let (code, _, err) = zairyu(&[
        "dump",
        "--reader",
        READER,
        "--card-number",
        NUMBER,
        "--trust-sim-ca",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 12, "{err}");
    // The card's DF1/EF04 is exactly the content the authority rendered and signed for.
    let ef04 = std::fs::read(out.join("DF1-EF04.bin")).unwrap();
    assert_eq!(hex::encode(zairyu::write::sha256(&ef04)), receipt);
    let image = std::fs::read(out.join("address.tif")).unwrap();
    assert_ne!(image, zairyu_sim::ADDRESS_TIF, "the issued image was replaced");
    // libtiff reads every strip of it (-D) without an error.
    let tiffinfo = |flag: &str| {
        let t = Command::new("tiffinfo").arg(flag).arg(out.join("address.tif")).output().expect("tiffinfo runs");
        let (stdout, stderr) = (String::from_utf8_lossy(&t.stdout), String::from_utf8_lossy(&t.stderr));
        assert!(t.status.success(), "{stdout}{stderr}");
        assert!(!stderr.to_ascii_lowercase().contains("error"), "{stderr}");
        stdout.into_owned()
    };
    let info = tiffinfo("-D");
    assert!(info.contains("Compression Scheme: CCITT Group 4"), "{info}");
    // And what it decodes (-d prints the strips) is the authority's rendering of the
    // record, pixel for pixel (min-is-white: a 1 bit is black).
    let want = rendered(NEW_RECORD);
    let decoded = strips(&tiffinfo("-d"));
    let row_bytes = want.width().div_ceil(8) as usize;
    assert_eq!(decoded.len(), row_bytes * want.height() as usize, "{info}");
    for y in 0..want.height() {
        for x in 0..want.width() {
            let byte = decoded[y as usize * row_bytes + x as usize / 8];
            assert_eq!(byte & (0x80 >> (x % 8)) != 0, want.get(x, y), "pixel ({x}, {y})");
        }
    }
    assert!(want.black_pixels() > 500, "the text is drawn");
}

/// The bitmap the in-process authority renders for `record` (its default settings).
fn rendered(record: [&str; 3]) -> zairyu_authority_core::render::Bitmap {
    use zairyu_authority_core::{AddressRenderer, FontSetting, RenderSettings};
    let [date, code, address] = record;
    let settings = RenderSettings { font: FontSetting::from_env(), ..RenderSettings::default() };
    let record = zairyu::write::record::NewAddress {
        date: date.into(),
        municipality_code: code.into(),
        address: address.into(),
    };
    AddressRenderer::new(settings).unwrap().render(&record).unwrap().bitmap
}

/// The strip bytes of `tiffinfo -d` output (hex after each `Strip N:` line).
fn strips(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("Strip ") {
            inside = true;
        } else if inside && line.starts_with(' ') {
            out.extend(line.split_whitespace().map(|h| u8::from_str_radix(h, 16).expect("hex")));
        } else {
            inside = false;
        }
    }
    out
}

/// The policy of the service tests: counter-1 everywhere, counter-2 Tokyo only,
/// counter-3 (which has a client certificate of the deployment's CA) not at all.
const SERVICE_POLICY: &str = r#"version = 1

[[counter]]
id = "counter-1"
municipalities = ["*"]

[[counter]]
id = "counter-2"
municipalities = ["13*"]
"#;

/// A deployment of `zairyu-authority init` with [`SERVICE_POLICY`], its service, and a
/// card directory for `sim serve --state`.
struct ServiceWrite {
    deployment: authority::Deployment,
    service: authority::Service,
}

impl ServiceWrite {
    fn start(name: &str) -> ServiceWrite {
        let deployment = authority::Deployment::init(name, &["counter-1", "counter-2", "counter-3"]);
        deployment.set_policy(SERVICE_POLICY);
        let service = deployment.serve();
        ServiceWrite { deployment, service }
    }

    /// Serves a new card of `card_type` trusting the deployment's write PKI.
    fn serve_card(&self, card_type: &str) -> Served {
        let pki = self.deployment.pki();
        let state = self.deployment.0.join(format!("card-{card_type}.state"));
        Served::start(&[
            "--card-type",
            card_type,
            "--write-pki",
            &pki,
            "--state",
            state.to_str().unwrap(),
            "--init-state",
        ])
    }

    /// `write-address --reader READER --authority URL… ` as `counter`, `--json`.
    fn write(&self, urls: &[&str], counter: &str, record: [&str; 3]) -> (i32, String, String) {
        let [date, code, address] = record;
        let mut args = vec![
            "write-address",
            "--reader",
            READER,
            "--card-number",
            NUMBER,
            "--date",
            date,
            "--municipality-code",
            code,
            "--address",
            address,
            "--operator",
            "clerk-007",
            "--json",
        ];
        for u in urls {
            args.extend(["--authority", u]);
        }
        let client = self.deployment.client_args(counter);
        args.extend(client.iter().map(String::as_str));
        let (exit, out, err) = zairyu(&args);
        secrets::assert_no_secret(&out, &[NUMBER]);
        secrets::assert_no_secret(&err, &[NUMBER]);
        (exit, out, err)
    }

    /// A write that must succeed: its JSON.
    fn written(&self, urls: &[&str], record: [&str; 3]) -> Value {
        let (exit, out, err) = self.write(urls, "counter-1", record);
        assert_eq!(exit, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["counter_id"], "counter-1");
        assert_eq!(v["round_trips"], 4);
        v
    }

    /// The audit head a receipt printed, as `audit verify --head` takes it.
    fn head(v: &Value) -> String {
        format!("{}:{}", v["audit_head"]["seq"], v["audit_head"]["hash"].as_str().unwrap())
    }

    fn audit_whole(&self, head: Option<&str>) {
        let (code, out) = self.deployment.audit_verify(head);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("audit log whole"), "{out}");
    }
}

fn read_gen1_address() -> Value {
    let (code, out, err) = zairyu(&["read", "--reader", READER, "--card-number", NUMBER, "--trust-sim-ca", "--json"]);
    assert_eq!(code, 12, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    v["fields"].clone()
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd and the zairyu-authority binary: run by scripts/test-all"]
fn a_first_generation_address_written_through_pcscd_and_the_https_service() {
    let s = ServiceWrite::start("gen1");
    let url = s.service.url.clone();
    let _card = s.serve_card("1");
    assert_ne!(read_gen1_address()["address"]["text"], NEW_RECORD[2]);

    // Written through the service over mutual TLS, confirmed on a new card session,
    // and the normal read shows it.
    let v = s.written(&[url.as_str()], NEW_RECORD);
    assert_eq!((v["card_type"].as_str(), v["receipt"]["file"].as_str()), (Some("1"), Some("DF2/EF01")));
    let f = read_gen1_address();
    assert_eq!(f["address"]["text"], NEW_RECORD[2]);
    assert_eq!(f["address_written_on"], NEW_RECORD[0]);
    assert_eq!(f["municipality_code"], NEW_RECORD[1]);
    // The head the receipt printed is the service's: the log still holds it.
    let head = ServiceWrite::head(&v);
    s.audit_whole(Some(&head));

    // Refusals of the service's policy: exit 20 with its code; the card keeps the address.
    let tokyo_only = ["20260501", "271276", "大阪府大阪市北区梅田１－１－１"];
    let (exit, _, err) = s.write(&[url.as_str()], "counter-2", tokyo_only);
    assert_eq!(exit, 20, "{err}");
    assert!(err.contains("error [policy_municipality_not_allowed]"), "{err}");
    let (exit, _, err) = s.write(&[url.as_str()], "counter-3", tokyo_only);
    assert_eq!(exit, 20, "{err}");
    assert!(err.contains("error [policy_unknown_counter]"), "{err}");
    assert_eq!(read_gen1_address()["address"]["text"], NEW_RECORD[2]);

    // An authority that cannot be reached, or one whose certificate does not chain to
    // --authority-ca: exit 23, authority_unavailable, nothing written.
    let dead = authority::dead_url();
    let (exit, _, err) = s.write(&[dead.as_str()], "counter-1", tokyo_only);
    assert_eq!(exit, 23, "{err}");
    assert!(err.contains("error [authority_unavailable]"), "{err}");
    let mut wrong_ca = s.deployment.client_args("counter-1");
    wrong_ca[5] = s.deployment.0.join("tls/counter-1.pem").to_str().unwrap().to_owned();
    let mut args = vec![
        "write-address",
        "--reader",
        READER,
        "--card-number",
        NUMBER,
        "--date",
        tokyo_only[0],
        "--municipality-code",
        tokyo_only[1],
        "--address",
        tokyo_only[2],
        "--operator",
        "clerk-007",
        "--authority",
        url.as_str(),
    ];
    args.extend(wrong_ca.iter().map(String::as_str));
    let (exit, _, err) = zairyu(&args);
    assert_eq!(exit, 23, "{err}");
    assert!(err.contains("error [authority_unavailable]"), "{err}");
    assert_eq!(read_gen1_address()["address"]["text"], NEW_RECORD[2]);

    // A client certificate of another deployment's CA: the service refuses it in the
    // handshake, which is a refusal (exit 20), not an unreachable authority, even
    // with a dead endpoint listed first; nothing written.
    let other = authority::Deployment::init("cli-service-other-ca", &["counter-1"]);
    let mut foreign = other.client_args("counter-1");
    foreign[5] = s.deployment.0.join("tls/ca.pem").to_str().unwrap().to_owned();
    let mut args = args[..args.len() - wrong_ca.len()].to_vec();
    args.extend(["--authority", dead.as_str()]);
    args.extend(foreign.iter().map(String::as_str));
    let (exit, _, err) = zairyu(&args);
    assert_eq!(exit, 20, "{err}");
    assert!(err.contains("error [client_certificate_refused]"), "{err}");
    assert_eq!(read_gen1_address()["address"]["text"], NEW_RECORD[2]);

    // Several --authority URLs: a dead first endpoint, the message goes to the next.
    let v = s.written(&[dead.as_str(), url.as_str()], tokyo_only);
    assert_eq!(read_gen1_address()["address"]["text"], tokyo_only[2]);
    let head = ServiceWrite::head(&v);

    // The audit log is whole, ends at the last receipt's head, and holds every attempt
    // that reached the service: two writes, two policy refusals.
    s.audit_whole(Some(&head));
    let records = s.deployment.audit_export();
    let results: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["result"].as_str().unwrap_or("?"), r["refusal_code"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(results.iter().filter(|(r, _)| *r == "written").count(), 2, "{results:?}");
    assert!(results.contains(&("refused", "policy_municipality_not_allowed")), "{results:?}");
    assert!(results.contains(&("refused", "policy_unknown_counter")), "{results:?}");
    assert_eq!(records.last().unwrap()["hash"], v["audit_head"]["hash"]);
    let all = serde_json::to_string(&records).unwrap();
    secrets::assert_no_secret(&all, &[NUMBER]);
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd and the zairyu-authority binary: run by scripts/test-all"]
fn a_second_generation_address_image_written_through_pcscd_and_the_https_service() {
    let s = ServiceWrite::start("gen2");
    let _card = s.serve_card("05");
    let v = s.written(&[s.service.url.as_str()], NEW_RECORD);
    assert_eq!((v["card_type"].as_str(), v["receipt"]["file"].as_str()), (Some("05"), Some("DF1/EF04")));
    let receipt = v["receipt"]["content_sha256"].as_str().unwrap();
    let out = s.deployment.0.join("dump");
    let (code, _, err) = zairyu(&[
        "dump",
        "--reader",
        READER,
        "--card-number",
        NUMBER,
        "--trust-sim-ca",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 12, "{err}");
    // The card's DF1/EF04 is exactly the content the service rendered and signed for.
    let ef04 = std::fs::read(out.join("DF1-EF04.bin")).unwrap();
    assert_eq!(hex::encode(zairyu::write::sha256(&ef04)), receipt);
    assert_ne!(std::fs::read(out.join("address.tif")).unwrap(), zairyu_sim::ADDRESS_TIF);
    s.audit_whole(Some(&ServiceWrite::head(&v)));
}
