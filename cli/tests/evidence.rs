//! `dump`'s PNGs, HTML report and evidence file, `verify-evidence` and `export`:
//! what a clerk, an auditor and a registry system get from one read.

use std::path::{Path, PathBuf};
use std::process::Command;

const NUMBER: &str = "AB12345678CD";

fn zairyu(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zairyu")).args(args).env_remove("ZAIRYU_CARD_NUMBER").output().unwrap();
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A fresh directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("zairyu-cli-evidence-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        Dir(d)
    }
    fn join(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
    fn s(&self, f: &str) -> String {
        self.join(f).to_str().unwrap().to_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dump(card_type: &str, dir: &Dir, extra: &[&str]) {
    let out = dir.0.to_str().unwrap();
    let mut args = vec!["dump", "--sim-card-type", card_type, "--card-number", NUMBER, "--out", out];
    args.extend_from_slice(extra);
    let (code, _, err) = zairyu(&args);
    assert_eq!(code, 12, "valid under the simulator's test CA: {err}");
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 100)
}

#[test]
fn dump_writes_pngs_a_report_page_and_evidence_that_verifies() {
    for (t, images) in [("1", &["front", "face"][..]), ("05", &["name", "face", "address"][..])] {
        let dir = Dir::new(&format!("dump-{t}"));
        dump(t, &dir, &[]);
        for i in images {
            assert!(is_png(&dir.join(&format!("{i}.png"))), "type {t}: {i}.png");
        }
        let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
        assert!(html.contains("<img") && html.contains("data:image/png;base64,"), "type {t}: images embedded");
        let evidence = std::fs::read_to_string(dir.join("evidence.json")).unwrap();
        assert!(!evidence.contains(NUMBER), "type {t}: the evidence holds no full card number");
        assert!(!evidence.contains(&hex::encode(NUMBER)), "type {t}");

        let (code, out, err) = zairyu(&["verify-evidence", "--trust-sim-ca", &dir.s("evidence.json")]);
        assert_eq!(code, 0, "type {t}: {out}{err}");
        assert!(out.contains("accepted") && out.contains("verdict test"), "{out}");
        // Without the simulator's CA the chain does not verify: another result than
        // the read's, so the evidence is not accepted.
        let (code, out, _) = zairyu(&["verify-evidence", &dir.s("evidence.json")]);
        assert_eq!(code, 13, "{out}");
    }
}

#[test]
fn one_changed_byte_makes_verify_evidence_reject_the_file() {
    let dir = Dir::new("flip");
    dump("1", &dir, &[]);
    let path = dir.join("evidence.json");
    let original = std::fs::read(&path).unwrap();
    for at in [original.len() / 5, original.len() / 2, original.len() - 40] {
        let mut b = original.clone();
        // Change a character into another of the same class, so the file still parses.
        b[at] = match b[at] {
            b'0'..=b'8' | b'a'..=b'y' | b'A'..=b'Y' => b[at] + 1,
            b'9' => b'0',
            _ => continue,
        };
        let changed = dir.join("changed.json");
        std::fs::write(&changed, &b).unwrap();
        let (code, out, _) = zairyu(&["verify-evidence", "--trust-sim-ca", "--json", changed.to_str().unwrap()]);
        assert_eq!(code, 13, "byte {at}: {out}");
        let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert_eq!(v["accepted"], false);
    }
}

#[test]
fn export_writes_registry_rows_and_refuses_altered_evidence() {
    let (d1, d2) = (Dir::new("export-1"), Dir::new("export-05"));
    dump("1", &d1, &[]);
    dump("05", &d2, &["--include-card-number"]);
    let (e1, e2) = (d1.s("evidence.json"), d2.s("evidence.json"));
    let (code, out, err) = zairyu(&["export", "--format", "csv", "--bom", "--trust-sim-ca", &e1, &e2]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with('\u{FEFF}'), "BOM");
    let lines: Vec<&str> = out.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3, "a header and one row per card: {out}");
    assert!(!out.contains(NUMBER), "redacted without --include-card-number");

    let (code, out, _) =
        zairyu(&["export", "--format", "jsonl", "--era", "--include-card-number", "--trust-sim-ca", &e2]);
    assert_eq!(code, 0);
    assert!(out.contains(NUMBER), "the number in full where the evidence holds it: {out}");
    let row: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(row.as_object().is_some_and(|o| o.keys().any(|k| k.ends_with("_era"))), "{row}");

    let mut b = std::fs::read(&e1).unwrap();
    let at = b.len() / 2;
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&e1, &b).unwrap();
    let (code, out, err) = zairyu(&["export", "--format", "csv", "--trust-sim-ca", &e1, &e2]);
    assert_eq!((code, out.as_str()), (13, ""), "{err}");
}
