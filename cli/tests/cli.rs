//! The `zairyu` binary: commands, JSON report and exit codes.

use std::process::Command;

fn zairyu(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zairyu")).args(args).output().expect("runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn demo_json_reports_a_valid_signature_under_the_test_profile() {
    let (code, out, _) = zairyu(&["demo", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verification"]["signature"], "valid");
    assert_eq!(v["verification"]["anchor_profile"], "test");
    assert_eq!(v["card_type"], "1");
    assert_eq!(v["generation"], 1);
    assert_eq!(v["metrics"]["apdus"], 16);
    assert!(!out.contains("AB12345678CD"));
}

#[test]
fn demo_summary_has_both_languages() {
    let (code, out, _) = zairyu(&["demo", "--card-type", "2"]);
    assert_eq!(code, 0);
    assert!(out.contains("特別永住者証明書"));
    assert!(out.contains("Signature"));
    assert!(out.contains("TEST anchor"));
}

#[test]
fn read_exit_codes() {
    assert_eq!(
        zairyu(&["read", "--card-number", "AB12345678CD"]).0,
        12,
        "the simulated card verifies under a test anchor: not genuine"
    );
    let (code, _, err) = zairyu(&["read", "--card-number", "ZZ00000000ZZ"]);
    assert_eq!(code, 3);
    assert!(err.contains("wrong_card_number"));
    assert!(!err.contains("ZZ00000000ZZ"));
    assert_eq!(zairyu(&["read", "--card-number", "short"]).0, 2);
    assert_eq!(zairyu(&["read", "--card-number", "AB12345678CD", "--sim-under-16"]).0, 11);
    assert_eq!(zairyu(&["read", "--card-number", "AB12345678CD", "--no-sim-test-ca"]).0, 11);
}

#[test]
fn trust_dir_refuses_unpinned_roots() {
    let dir = std::env::temp_dir().join(format!("zairyu-cli-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test-ca.der"), zairyu_sim::IssuedCard::test_ca_der()).unwrap();
    let (code, _, err) = zairyu(&["read", "--card-number", "AB12345678CD", "--trust-dir", dir.to_str().unwrap()]);
    assert_eq!(code, 7, "{err}");
    // The same file as a test anchor is fine and stays "test".
    let (code, out, _) = zairyu(&[
        "read",
        "--card-number",
        "AB12345678CD",
        "--no-sim-test-ca",
        "--test-anchors",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 12);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verification"]["anchor_profile"], "test");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dump_writes_files_images_and_report() {
    let dir = std::env::temp_dir().join(format!("zairyu-cli-dump-{}", std::process::id()));
    let (code, _, err) = zairyu(&["dump", "--card-number", "AB12345678CD", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, 12, "{err}");
    for f in [
        "MF-EF01.bin",
        "MF-EF02.bin",
        "DF1-EF01.bin",
        "DF1-EF02.bin",
        "DF2-EF01.bin",
        "DF2-EF02.bin",
        "DF2-EF03.bin",
        "DF2-EF04.bin",
        "DF3-EF01.bin",
        "front.tif",
        "face.jp2",
        "report.json",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    assert_eq!(std::fs::read(dir.join("front.tif")).unwrap(), zairyu_sim::FRONT_TIF);
    assert_eq!(std::fs::read(dir.join("DF1-EF01.bin")).unwrap().len(), 7004);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_documents_exit_codes() {
    let (code, out, _) = zairyu(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes"));
    assert!(out.contains("10  read complete, signature INVALID"));
    assert!(out.contains("\n  8   output error"), "{out}");
    // Second-generation cards are read: exit 6 is not about them.
    let six = out.lines().find(|l| l.starts_with("  6 ")).expect("exit 6 listed");
    assert!(six.contains("07/08") && !six.contains("second-generation"), "{six}");
}

#[test]
fn a_dump_that_cannot_be_written_is_an_output_error() {
    let file = std::env::temp_dir().join(format!("zairyu-cli-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, b"a file, not a directory").unwrap();
    // The directory cannot be created (a file is in the way): exit 8, not a card or
    // transport error, and the path is named.
    let out = file.join("dump");
    let (code, stdout, err) = zairyu(&["dump", "--card-number", "AB12345678CD", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 8, "{err}");
    assert!(err.starts_with("error [output_write_failed]: cannot write "), "{err}");
    assert!(err.contains(out.to_str().unwrap()), "{err}");
    assert!(stdout.is_empty(), "{stdout}");
    // The card is read before anything is written: a card error stays a card error.
    let (code, _, err) = zairyu(&["dump", "--card-number", "ZZ00000000ZZ", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn option_values_use_the_cores_spellings() {
    // "5" is the core's other spelling of "05".
    let (code, out, err) = zairyu(&["read", "--card-number", "AB12345678CD", "--sim-card-type", "5", "--json"]);
    assert_eq!(code, 12, "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["card_type"], "05");
    let (code, out, _) = zairyu(&["read", "--card-number", "AB12345678CD", "--policy", "text_only", "--json"]);
    assert_eq!(code, 11);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["verification"]["signature"], "not_checked");
    // The simulator cannot issue 07/08; unknown values are usage errors naming the choices.
    for bad in [&["read", "--card-number", "AB12345678CD", "--sim-card-type", "07"][..], &["demo", "--card-type", "3"]]
    {
        let (code, _, err) = zairyu(bad);
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(err.contains("[possible values: 1, 2, 05, 06]"), "{err}");
    }
    let (code, _, err) = zairyu(&["sim", "serve", "--fault", "explode"]);
    assert_eq!(code, 2);
    assert!(err.contains("drop-after:N"), "{err}");
}

#[test]
fn bench_prints_figures() {
    let (code, out, _) = zairyu(&["bench", "--iterations", "2"]);
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l.starts_with("1 ") && l.split_whitespace().nth(2) == Some("16")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("05 ") && l.contains("gen2-aes") && l.ends_with("Valid")), "{out}");
    assert!(out.contains("host CPU/read"));
}

#[test]
fn demo_generation_2_reports_a_verified_05_card_under_the_test_profile() {
    let (code, out, _) = zairyu(&["demo", "--generation", "2", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["card_type"], "05");
    assert_eq!(v["generation"], 2);
    assert_eq!(v["flow"], "gen2-aes");
    assert_eq!(v["verification"]["signature"], "valid");
    assert_eq!(v["verification"]["chain"], "verified");
    assert_eq!(v["verification"]["anchor_profile"], "test");
    assert_eq!(v["fields"]["nationality"]["en"], "Pakistan");
}

#[test]
fn read_second_generation_with_policy_and_status_table() {
    let dir = std::env::temp_dir().join(format!("zairyu-cli-status-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let table = dir.join("status.tsv");
    std::fs::write(&table, "# code\tja\ten\nABCDEFGHIJ\t留学\tStudent\n").unwrap();
    let (code, out, err) = zairyu(&[
        "read",
        "--card-number",
        "AB12345678CD",
        "--sim-card-type",
        "06",
        "--status-table",
        table.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 12, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["fields"]["status_of_residence"]["ja"], "留学");
    assert_eq!(v["card_type"], "06");
    let (code, out, _) =
        zairyu(&["read", "--card-number", "AB12345678CD", "--sim-card-type", "05", "--policy", "text-only", "--json"]);
    assert_eq!(code, 11);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verification"]["signature"], "not_checked");
    std::fs::write(&table, "broken line without tabs\n").unwrap();
    let (code, _, err) = zairyu(&[
        "read",
        "--card-number",
        "AB12345678CD",
        "--sim-card-type",
        "05",
        "--status-table",
        table.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 1") && err.contains("input_bad_file"));
    let (code, _, err) =
        zairyu(&["read", "--card-number", "AB12345678CD", "--sim-card-type", "05", "--force-flow", "gen1"]);
    assert_eq!(code, 6);
    assert!(err.contains("wrong_generation"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dump_second_generation_writes_three_images() {
    let dir = std::env::temp_dir().join(format!("zairyu-cli-dump2-{}", std::process::id()));
    let (code, _, err) =
        zairyu(&["dump", "--card-number", "AB12345678CD", "--sim-card-type", "05", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, 12, "{err}");
    for f in [
        "name.tif",
        "face.jp2",
        "address.tif",
        "DF1-EF01.bin",
        "DF1-EF03.bin",
        "DF1-EF04.bin",
        "DF3-EF01.bin",
        "report.json",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    assert_eq!(std::fs::read(dir.join("face.jp2")).unwrap(), zairyu_sim::FACE_JP2);
    std::fs::remove_dir_all(&dir).unwrap();
}
