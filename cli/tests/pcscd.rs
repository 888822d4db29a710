//! The `zairyu` binary on the real PC/SC stack: pcscd with vsmartcard's vpcd, and
//! `zairyu sim serve` as the card. Run by `scripts/test-all` after it starts pcscd
//! (`cargo test -p zairyu-cli -- --ignored --test-threads=1`).
#![cfg(feature = "pcsc")]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const READER: &str = "Virtual PCD 00 01";
const PORT: &str = "35964";

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
        wait_card(true);
        served
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        wait_card(false);
    }
}

fn wait_card(present: bool) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(15) {
        let (_, out, _) = zairyu(&["readers"]);
        let line = out.lines().find(|l| l.starts_with(READER)).unwrap_or_default();
        if line.contains("card present") == present {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("reader {READER} never showed card_present = {present}");
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn readers_read_and_doctor_through_pcscd() {
    let _card = Served::start(&["--card-type", "05"]);
    let (code, out, _) = zairyu(&["readers", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v.as_array().unwrap().iter().any(|r| r["name"] == READER && r["card_present"] == true));

    let (code, out, err) =
        zairyu(&["read", "--reader", READER, "--card-number", "AB12345678CD", "--trust-sim-ca", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["card_type"], "05");
    assert_eq!(v["verification"]["signature"], "valid");
    assert_eq!(v["verification"]["anchor_profile"], "test");
    assert_eq!(v["link"]["extended_length"], true);
    assert_eq!(v["metrics"]["apdus"], 17);

    // Without --trust-sim-ca a reader read trusts no test anchor: no chain, exit 11.
    let (code, _, _) = zairyu(&["read", "--reader", READER, "--card-number", "AB12345678CD"]);
    assert_eq!(code, 11);
    let (code, _, err) = zairyu(&["read", "--reader", READER, "--card-number", "ZZ00000000ZZ"]);
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = zairyu(&["read", "--reader", "No Such Reader", "--card-number", "AB12345678CD"]);
    assert_eq!(code, 4);
    assert!(err.contains("transport_no_such_reader"), "{err}");

    let (code, out, _) = zairyu(&["doctor", "--reader", READER, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["card_type"], "05");
    assert_eq!(v[0]["extended_length"], "true");
    assert!(v[0]["atr"].as_str().unwrap().starts_with("3B88800"));
    assert!(!out.contains("AB12345678CD"));
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn short_apdu_reader_through_pcscd_falls_back_and_reports_it() {
    let _card = Served::start(&["--short-apdus-only"]);
    let (code, out, err) =
        zairyu(&["read", "--reader", READER, "--card-number", "AB12345678CD", "--trust-sim-ca", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["link"]["extended_length"], false);
    assert!(v["link"]["fallbacks"].as_array().unwrap().iter().any(|f| f == "sm_short_chunked"));
    assert_eq!(v["verification"]["signature"], "valid");
    let (_, out, _) = zairyu(&["doctor", "--reader", READER, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["extended_length"], "false");
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn watch_over_three_insertions() {
    let mut watch = Command::new(env!("CARGO_BIN_EXE_zairyu"))
        .args(["watch", "--reader", READER, "--trust-sim-ca"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = watch.stdin.take().unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let mut next = || -> serde_json::Value { serde_json::from_str(&lines.next().expect("a line").unwrap()).unwrap() };
    for card_type in ["1", "2", "06"] {
        let served = Served::start(&["--card-type", card_type]);
        let e = next();
        assert_eq!(e["event"], "card_inserted", "{e}");
        writeln!(stdin, "AB12345678CD").unwrap();
        let e = next();
        assert_eq!(e["event"], "result", "{e}");
        assert_eq!(e["ok"], true, "{e}");
        assert_eq!(e["report"]["card_type"], card_type);
        assert_eq!(e["report"]["verification"]["signature"], "valid");
        drop(served);
        let e = next();
        assert_eq!(e["event"], "card_removed", "{e}");
    }
    drop(stdin);
    let status = watch.wait().unwrap();
    assert!(status.success());
}
