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

/// A fixed ECDSA P-256 station key as PKCS#8 DER (scalar 1..=32, no public key).
fn station_key_der() -> Vec<u8> {
    let mut der = vec![0x30, 0x41, 0x02, 0x01, 0x00];
    der.extend_from_slice(&hex::decode("301306072a8648ce3d020106082a8648ce3d030107").unwrap());
    der.extend_from_slice(&[0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20]);
    der.extend(1..=32u8);
    der
}

fn station_key() -> zairyu_evidence::StationKey {
    zairyu_evidence::StationKey::from_pkcs8_der(&station_key_der()).unwrap()
}

#[test]
fn dump_signs_its_evidence_with_the_station_key() {
    let keys = Dir::new("dump-key");
    std::fs::create_dir_all(&keys.0).unwrap();
    std::fs::write(keys.join("station.der"), station_key_der()).unwrap();
    let pin = station_key().key_sha256();
    let dump_with_key = |out: &Dir, key: &str| {
        let out = out.0.to_str().unwrap();
        zairyu(&["dump", "--sim-card-type", "05", "--card-number", NUMBER, "--out", out, "--station-key", key])
    };
    let dir = Dir::new("dump-signed");
    let (code, text, err) = dump_with_key(&dir, &keys.s("station.der"));
    assert_eq!(code, 12, "{err}");
    assert!(text.contains(&format!("signed by station key {pin}")), "{text}");
    let e = dir.s("evidence.json");
    let (code, text, _) = zairyu(&["verify-evidence", "--trust-sim-ca", "--station-key-sha256", &pin, &e]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("; proves the whole file (pinned station key)"), "{text}");

    // A key file that is not a P-256 PKCS#8 key: an input error before the card is read,
    // and nothing written.
    std::fs::write(keys.join("station.pub.der"), station_key().public_key_der()).unwrap();
    let nothing = Dir::new("dump-bad-key");
    let (code, text, err) = dump_with_key(&nothing, &keys.s("station.pub.der"));
    assert!(code != 0 && code != 12 && code != 13, "{code} {text} {err}");
    assert!(err.contains("station.pub.der") && err.contains("PKCS#8"), "{err}");
    assert!(!nothing.0.exists(), "no output for a key that does not load");
    // A key file that is not there: named once, and nothing written either.
    let missing = keys.s("no-such-key.pem");
    let (code, _, err) = dump_with_key(&nothing, &missing);
    assert!(code != 0 && code != 12 && code != 13, "{code} {err}");
    assert_eq!(err.matches(&missing).count(), 1, "{err}");
    assert!(err.contains("cannot read the station key"), "{err}");
    assert!(!nothing.0.exists());
}

/// The evidence of a simulated first-generation card (with this address), made in
/// process, so that the address can be chosen.
fn evidence_of(address: &str, key: Option<&zairyu_evidence::StationKey>) -> Vec<u8> {
    use zairyu::sequence::{ReadOptions, read_card};
    let issued = zairyu_sim::IssuedCard::try_issue(&zairyu_sim::IssueOptions {
        card_type: zairyu::files::CardType::ResidenceCard,
        card_number: NUMBER.into(),
        address: Some(zairyu_sim::Address {
            date: "20190501".into(),
            municipality_code: "131016".into(),
            text: address.into(),
        }),
        ..Default::default()
    })
    .unwrap();
    let number = zairyu::CardNumber::parse(NUMBER).unwrap();
    let trust = zairyu_sim::test_trust_store();
    let mut card = zairyu::session::Card::new(zairyu_sim::SimCard::new(issued));
    let read = read_card(&mut card, &number, &trust, &mut zairyu::auth::OsRandom, &ReadOptions::default()).unwrap();
    let opts = zairyu_evidence::EvidenceOptions { station_key: key, ..Default::default() };
    zairyu_evidence::evidence_json(&read, &opts)
}

#[test]
fn without_a_pinned_station_key_the_verdict_says_what_it_does_not_prove() {
    let dir = Dir::new("caveat");
    dump("1", &dir, &[]);
    let e = dir.s("evidence.json");
    let (code, out, _) = zairyu(&["verify-evidence", "--trust-sim-ca", &e]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": accepted: intact;") && out.contains("; proves the chip-signed fields only."), "{out}");
    assert!(out.contains("CAVEAT: no pinned station key") && out.contains("recomputed hashes"), "{out}");
    let (code, out, _) = zairyu(&["verify-evidence", "--trust-sim-ca", "--json", &e]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v["accepted"].as_bool(), v["proves"].as_str()), (Some(true), Some("chip_signed_fields_only")));
    assert!(v["caveat"].as_str().is_some_and(|c| c.contains("card number")), "{v}");
    assert_eq!(v["station_pin"]["status"], "none_given");
    // Export writes the rows and says the same on standard error.
    let (code, out, err) = zairyu(&["export", "--format", "csv", "--trust-sim-ca", &e]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim_end().split("\r\n").count(), 2);
    assert!(err.contains("CAVEAT: no pinned station key") && err.contains("*_signed"), "{err}");
}

#[test]
fn pinned_station_keys_accept_only_files_that_station_signed() {
    let dir = Dir::new("pins");
    std::fs::create_dir_all(&dir.0).unwrap();
    let key = station_key();
    let pin = key.key_sha256();
    let signed = dir.join("signed.json");
    std::fs::write(&signed, evidence_of("TOKYO CHIYODA 1-1", Some(&key))).unwrap();
    let unsigned = dir.join("unsigned.json");
    std::fs::write(&unsigned, evidence_of("TOKYO CHIYODA 1-1", None)).unwrap();
    let (signed, unsigned) = (signed.to_str().unwrap(), unsigned.to_str().unwrap());

    // The genuine signed file under its pin: the whole file is proven, no caveat.
    let (code, out, err) = zairyu(&["verify-evidence", "--trust-sim-ca", "--station-key-sha256", &pin, signed]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(": accepted: intact; station signature valid (pinned key "), "{out}");
    assert!(out.contains("; proves the whole file (pinned station key)") && !out.contains("CAVEAT"), "{out}");
    // The same pin from the public key file (DER), and among other pins (upper case).
    let pub_file = dir.join("station.pub.der");
    std::fs::write(&pub_file, key.public_key_der()).unwrap();
    let other = "00".repeat(32);
    let (code, out, _) = zairyu(&[
        "verify-evidence",
        "--trust-sim-ca",
        "--station-key-sha256",
        &other,
        "--station-key-pub",
        pub_file.to_str().unwrap(),
        "--json",
        signed,
    ]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v["proves"].as_str(), v["station_pin"]["status"].as_str()), (Some("whole_file"), Some("pinned")));
    assert!(v["caveat"].is_null());
    let (code, _, _) =
        zairyu(&["verify-evidence", "--trust-sim-ca", "--station-key-sha256", &pin.to_uppercase(), signed]);
    assert_eq!(code, 0);

    // Under another pin, unsigned, or with the signature stripped: rejected, exit 13.
    let (code, out, _) = zairyu(&["verify-evidence", "--trust-sim-ca", "--station-key-sha256", &other, signed]);
    assert_eq!(code, 13, "{out}");
    assert!(out.contains(": REJECTED: intact;") && out.contains("rejected because: signed by station key"), "{out}");
    assert!(out.contains("which is not pinned"), "{out}");
    let (code, out, _) = zairyu(&["verify-evidence", "--trust-sim-ca", "--station-key-sha256", &pin, unsigned]);
    assert_eq!(code, 13, "{out}");
    assert!(out.contains("rejected because: no station signature, but a pinned station key is required"), "{out}");
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(signed).unwrap()).unwrap();
    doc["station"] = serde_json::Value::Null;
    let stripped = dir.join("stripped.json");
    std::fs::write(&stripped, format!("{}\n", zairyu_evidence::evidence::canonical_json(&doc))).unwrap();
    let stripped = stripped.to_str().unwrap();
    let (code, _, _) = zairyu(&["verify-evidence", "--trust-sim-ca", stripped]);
    assert_eq!(code, 0, "without a pin the stripped file passes (with its caveat)");
    let (code, out, _) =
        zairyu(&["verify-evidence", "--trust-sim-ca", "--station-key-sha256", &pin, "--json", stripped]);
    assert_eq!(code, 13, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v["accepted"].as_bool(), v["proves"].as_str()), (Some(false), Some("nothing")));
    assert_eq!(v["station_pin"]["status"], "unsigned");

    // Export under the pin: the signed file only.
    let (code, out, err) =
        zairyu(&["export", "--format", "csv", "--trust-sim-ca", "--station-key-sha256", &pin, signed]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim_end().split("\r\n").count(), 2);
    assert!(!err.contains("CAVEAT"), "{err}");
    let (code, out, err) =
        zairyu(&["export", "--format", "csv", "--trust-sim-ca", "--station-key-sha256", &pin, signed, unsigned]);
    assert_eq!((code, out.as_str()), (13, ""), "{err}");
    assert!(err.contains(": REJECTED: ") && err.contains("rejected because: no station signature"), "{err}");

    // A pin that is not 64 hex digits, a key file that is not a public key: input errors.
    let (code, _, err) = zairyu(&["verify-evidence", "--trust-sim-ca", "--station-key-sha256", "abc", signed]);
    assert!(code != 0 && code != 13 && err.contains("--station-key-sha256"), "{code} {err}");
    let (code, _, err) = zairyu(&["verify-evidence", "--trust-sim-ca", "--station-key-pub", signed, signed]);
    assert!(code != 0 && code != 13 && err.contains("not a P-256"), "{code} {err}");
}

#[test]
fn export_guards_formulas_on_request() {
    let dir = Dir::new("guard");
    std::fs::create_dir_all(&dir.0).unwrap();
    let e = dir.join("evidence.json");
    std::fs::write(&e, evidence_of("=1+2 TOKYO", None)).unwrap();
    let e = e.to_str().unwrap();
    let (code, out, err) = zairyu(&["export", "--format", "csv", "--trust-sim-ca", e]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(",=1+2 TOKYO,"), "{out}");
    let (code, out, err) = zairyu(&["export", "--format", "csv", "--guard-formulas", "--trust-sim-ca", e]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(",'=1+2 TOKYO,") && !out.contains(",=1+2"), "{out}");
}
