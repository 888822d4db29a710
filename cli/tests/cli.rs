//! The `zairyu` binary: commands, JSON report and exit codes; where the card number
//! comes from; what `dump` writes; and that no command reads the simulator unasked.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[path = "common/secrets.rs"]
mod secrets;

const NUMBER: &str = "AB12345678CD";

/// Runs the binary with `args`, `env` added to a copy of the environment without
/// `ZAIRYU_CARD_NUMBER`, and `stdin` as its standard input (none: empty).
fn zairyu_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zairyu"));
    cmd.args(args).env_remove("ZAIRYU_CARD_NUMBER").envs(env.iter().copied());
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("runs");
    let mut pipe = child.stdin.take().expect("piped");
    if let Some(bytes) = stdin {
        // A command that fails before reading its input closes the pipe early.
        if let Err(e) = pipe.write_all(bytes) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    drop(pipe);
    let out = child.wait_with_output().expect("runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn zairyu(args: &[&str]) -> (i32, String, String) {
    zairyu_with(args, &[], None)
}

/// A fresh temporary directory path (not created).
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zairyu-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
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
        zairyu(&["read", "--sim", "--card-number", "AB12345678CD"]).0,
        12,
        "the simulated card verifies under a test anchor: not genuine"
    );
    let (code, _, err) = zairyu(&["read", "--sim", "--card-number", "ZZ00000000ZZ"]);
    assert_eq!(code, 3);
    assert!(err.contains("wrong_card_number"));
    assert!(!err.contains("ZZ00000000ZZ"));
    assert_eq!(zairyu(&["read", "--sim", "--card-number", "short"]).0, 2);
    assert_eq!(zairyu(&["read", "--sim", "--card-number", "AB12345678CD", "--sim-under-16"]).0, 11);
    assert_eq!(zairyu(&["read", "--sim", "--card-number", "AB12345678CD", "--no-sim-test-ca"]).0, 11);
}

#[test]
fn trust_dir_refuses_unpinned_roots() {
    let dir = temp("trust");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test-ca.der"), zairyu_sim::IssuedCard::test_ca_der()).unwrap();
    let (code, _, err) =
        zairyu(&["read", "--sim", "--card-number", "AB12345678CD", "--trust-dir", dir.to_str().unwrap()]);
    assert_eq!(code, 7, "{err}");
    // The same file as a test anchor is fine and stays "test".
    let (code, out, _) = zairyu(&[
        "read",
        "--sim",
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
    let dir = temp("dump");
    let (code, _, err) = zairyu(&["dump", "--sim", "--card-number", "AB12345678CD", "--out", dir.to_str().unwrap()]);
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
    let (code, stdout, err) =
        zairyu(&["dump", "--sim", "--card-number", "AB12345678CD", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 8, "{err}");
    assert!(err.starts_with("error [output_write_failed]: cannot write "), "{err}");
    assert!(err.contains(out.to_str().unwrap()), "{err}");
    assert!(stdout.is_empty(), "{stdout}");
    // The card is read before anything is written: a card error stays a card error.
    let (code, _, err) = zairyu(&["dump", "--sim", "--card-number", "ZZ00000000ZZ", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn option_values_use_the_cores_spellings() {
    // "5" is the core's other spelling of "05".
    let (code, out, err) =
        zairyu(&["read", "--sim", "--card-number", "AB12345678CD", "--sim-card-type", "5", "--json"]);
    assert_eq!(code, 12, "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["card_type"], "05");
    let (code, out, _) = zairyu(&["read", "--sim", "--card-number", "AB12345678CD", "--policy", "text_only", "--json"]);
    assert_eq!(code, 11);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["verification"]["signature"], "not_checked");
    // The simulator cannot issue 07/08; unknown values are usage errors naming the choices.
    for bad in [
        &["read", "--sim", "--card-number", "AB12345678CD", "--sim-card-type", "07"][..],
        &["demo", "--card-type", "3"],
    ] {
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
    let dir = temp("status");
    std::fs::create_dir_all(&dir).unwrap();
    let table = dir.join("status.tsv");
    std::fs::write(&table, "# code\tja\ten\nABCDEFGHIJ\t留学\tStudent\n").unwrap();
    let (code, out, err) = zairyu(&[
        "read",
        "--sim",
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
    let (code, out, _) = zairyu(&[
        "read",
        "--sim",
        "--card-number",
        "AB12345678CD",
        "--sim-card-type",
        "05",
        "--policy",
        "text-only",
        "--json",
    ]);
    assert_eq!(code, 11);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verification"]["signature"], "not_checked");
    std::fs::write(&table, "broken line without tabs\n").unwrap();
    let (code, _, err) = zairyu(&[
        "read",
        "--sim",
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
        zairyu(&["read", "--sim", "--card-number", "AB12345678CD", "--sim-card-type", "05", "--force-flow", "gen1"]);
    assert_eq!(code, 6);
    assert!(err.contains("wrong_generation"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dump_second_generation_writes_three_images() {
    let dir = temp("dump2");
    let (code, _, err) = zairyu(&[
        "dump",
        "--sim",
        "--card-number",
        "AB12345678CD",
        "--sim-card-type",
        "05",
        "--out",
        dir.to_str().unwrap(),
    ]);
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

/// The exit code and stderr of a read of the simulated card with the number from
/// `args`/`env`/`stdin`; a successful read exits 12 (valid under the test CA).
fn sim_read(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> (i32, String) {
    let (code, out, err) = zairyu_with(&[&["read", "--sim", "--json"], args].concat(), env, stdin);
    assert!(!out.contains(NUMBER) && !err.contains(NUMBER), "the number is shown: {out} {err}");
    if code == 12 {
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["card_number"], "AB********CD");
    }
    (code, err)
}

#[test]
fn the_card_number_comes_from_stdin_a_descriptor_or_the_environment() {
    // Standard input: one line, surrounding white space and case forgiven.
    assert_eq!(sim_read(&["--card-number-stdin"], &[], Some(b" ab12345678cd \n")).0, 12);
    assert_eq!(sim_read(&["--card-number-stdin"], &[], Some(b"AB12345678CD")).0, 12);
    // A wrong number from stdin is the card's refusal (the number was used).
    let (code, err) = sim_read(&["--card-number-stdin"], &[], Some(b"ZZ00000000ZZ\n"));
    assert_eq!(code, 3, "{err}");
    // The environment.
    assert_eq!(sim_read(&[], &[("ZAIRYU_CARD_NUMBER", NUMBER)], None).0, 12);
    let (code, err) = sim_read(&[], &[("ZAIRYU_CARD_NUMBER", "ZZ00000000ZZ")], None);
    assert_eq!(code, 3, "{err}");
    // A descriptor: the shell opens fd 3 on the test's pipe and closes stdin.
    let bin = env!("CARGO_BIN_EXE_zairyu");
    let through_fd = |input: &[u8], fd: &str| {
        let script = format!(r#""$0" read --sim --json --card-number-fd {fd} 3<&0 0</dev/null"#);
        let mut child = Command::new("sh")
            .args(["-c", &script, bin])
            .env_remove("ZAIRYU_CARD_NUMBER")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!err.contains(NUMBER) && !String::from_utf8_lossy(&out.stdout).contains(NUMBER));
        (out.status.code().unwrap(), err)
    };
    assert_eq!(through_fd(b"AB12345678CD\n", "3").0, 12);
    let (code, err) = through_fd(b"ZZ00000000ZZ\n", "3");
    assert_eq!(code, 3, "{err}");
    // A descriptor that is not open: a usage error naming it.
    let (code, err) = through_fd(b"AB12345678CD\n", "9");
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("error [input_bad_file]: /dev/fd/9: cannot open"), "{err}");
}

#[test]
fn a_card_number_from_an_empty_or_bad_source_is_a_usage_error() {
    for (args, env, stdin) in [
        (&["--card-number-stdin"][..], &[][..], Some(&b""[..])),
        (&["--card-number-stdin"], &[], Some(b"\n")),
        (&["--card-number-stdin"], &[], Some(b"AB1234\n")),
        (&["--card-number-stdin"], &[], Some(b"AB123456\xff78CD\n")),
        (&[], &[("ZAIRYU_CARD_NUMBER", "")], None),
        (&[], &[("ZAIRYU_CARD_NUMBER", "AB1234")], None),
        (&["--card-number", "AB1234"], &[], None),
    ] {
        let (code, err) = sim_read(args, env, stdin);
        assert_eq!(code, 2, "{args:?} {env:?}: {err}");
        assert!(err.starts_with("error [input_bad_card_number]: "), "{err}");
    }
}

#[test]
fn exactly_one_card_number_source() {
    let env = [("ZAIRYU_CARD_NUMBER", NUMBER)];
    for (args, env, names) in [
        (&["--card-number", NUMBER, "--card-number-stdin"][..], &[][..], "--card-number, --card-number-stdin"),
        (&["--card-number-stdin", "--card-number-fd", "0"], &[], "--card-number-stdin, --card-number-fd"),
        (&["--card-number", NUMBER], &env, "--card-number, ZAIRYU_CARD_NUMBER"),
        (&["--card-number-stdin"], &env, "--card-number-stdin, ZAIRYU_CARD_NUMBER"),
    ] {
        let (code, err) = sim_read(args, env, Some(b"AB12345678CD\n"));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("error [card_number_source]: the card number is given more than once ({names})")),
            "{err}"
        );
    }
    let (code, err) = sim_read(&[], &[], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("error [card_number_source]: no card number: give it with --card-number-stdin"), "{err}");
    // Given twice on the command line: clap's usage error, without the value.
    let (code, err) = sim_read(&["--card-number", NUMBER, "--card-number", NUMBER], &[], None);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn help_documents_the_card_number_sources_and_that_ps_shows_the_argument() {
    for cmd in ["read", "dump"] {
        let (code, out, _) = zairyu(&[cmd, "--help"]);
        assert_eq!(code, 0);
        for needle in ["--card-number-stdin", "--card-number-fd <FD>", "ZAIRYU_CARD_NUMBER", "`ps`", "--sim"] {
            assert!(out.contains(needle), "{cmd} --help lacks {needle}: {out}");
        }
    }
    let (_, out, _) = zairyu(&["dump", "--help"]);
    assert!(out.contains("--include-card-number") && out.contains("0600"), "{out}");
}

/// Every file under `dir`, with its mode.
#[cfg(unix)]
fn files_and_modes(dir: &Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut files: Vec<(String, u32)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().into_string().unwrap(), e.metadata().unwrap().permissions().mode() & 0o777)
        })
        .collect();
    files.sort();
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(unix)]
#[test]
fn dump_redacts_the_card_number_and_writes_owner_only_files() {
    use std::os::unix::fs::PermissionsExt;
    for card_type in ["1", "05", "06"] {
        let dir = temp(&format!("dump-private-{card_type}"));
        // A file already there with a wider mode is narrowed before it is rewritten.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("report.json"), b"old").unwrap();
        std::fs::set_permissions(dir.join("report.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = dir.to_str().unwrap();
        let (code, stdout, err) =
            zairyu_with(&["dump", "--sim-card-type", card_type, "--out", out], &[("ZAIRYU_CARD_NUMBER", NUMBER)], None);
        assert_eq!(code, 12, "{err}");
        assert!(stdout.contains("card number redacted"), "{stdout}");
        let files = files_and_modes(&dir);
        assert!(files.len() >= 10, "{files:?}");
        for (name, mode) in &files {
            assert_eq!(*mode, 0o600, "{name}: mode {mode:o}");
            let bytes = std::fs::read(dir.join(name)).unwrap();
            assert!(!contains(&bytes, NUMBER.as_bytes()), "{card_type}: {name} holds the card number");
        }
        let ef01 = std::fs::read(dir.join("DF1-EF01.bin")).unwrap();
        if card_type != "1" {
            // The second generation's DF1/EF01 is the number (tag C2), redacted in place.
            assert!(contains(&ef01, b"\xC2\x0CAB********CD"), "{ef01:?}");
        }
        // --include-card-number writes the chip's number as read.
        let (code, stdout, err) = zairyu_with(
            &["dump", "--sim-card-type", card_type, "--out", out, "--include-card-number"],
            &[("ZAIRYU_CARD_NUMBER", NUMBER)],
            None,
        );
        assert_eq!(code, 12, "{err}");
        assert!(stdout.contains("card number in full"), "{stdout}");
        let ef01 = std::fs::read(dir.join("DF1-EF01.bin")).unwrap();
        assert_eq!(contains(&ef01, b"\xC2\x0CAB12345678CD"), card_type != "1");
        assert!(files_and_modes(&dir).iter().all(|(_, mode)| *mode == 0o600));
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // A directory dump creates is the owner's only.
    let dir = temp("dump-new-dir");
    let nested = dir.join("a/b");
    let (code, _, err) = zairyu(&["dump", "--sim", "--card-number", NUMBER, "--out", nested.to_str().unwrap()]);
    assert_eq!(code, 12, "{err}");
    for d in [&dir, &dir.join("a"), &nested] {
        assert_eq!(std::fs::metadata(d).unwrap().permissions().mode() & 0o777, 0o700, "{}", d.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_simulator_is_read_only_when_asked_for() {
    // Every --sim-* option implies --sim.
    assert_eq!(zairyu(&["read", "--card-number", NUMBER, "--sim-card-type", "05"]).0, 12);
    assert_eq!(zairyu(&["read", "--card-number", NUMBER, "--sim-under-16"]).0, 11);
    assert_eq!(zairyu(&["read", "--card-number", "ZZ00000000ZZ", "--sim-card-number", "ZZ00000000ZZ"]).0, 12);
    assert_eq!(zairyu(&["read", "--card-number", NUMBER, "--sim"]).0, 12);
    // demo is unchanged.
    assert_eq!(zairyu(&["demo"]).0, 0);
}

/// `read`/`dump` without `--reader` or `--sim`, with no PC/SC service to ask (the
/// client library is pointed at a socket nobody listens on): never the simulator.
#[cfg(feature = "pcsc")]
#[test]
fn without_reader_or_sim_no_reader_is_an_error_not_the_simulator() {
    let no_service = [("PCSCLITE_CSOCK_NAME", "/nonexistent/zairyu-test-pcscd.comm")];
    let dir = temp("dump-no-reader");
    for args in [
        &["read", "--card-number", NUMBER, "--json"][..],
        &["dump", "--card-number", NUMBER, "--out", dir.to_str().unwrap()],
    ] {
        let (code, out, err) = zairyu_with(args, &no_service, None);
        assert_eq!(code, 4, "{args:?}: {err}");
        assert!(err.starts_with("error [no_reader]: no PC/SC reader is connected"), "{err}");
        assert!(err.contains("--reader NAME") && err.contains("--sim"), "{err}");
        assert!(out.is_empty(), "{out}");
    }
    assert!(!dir.exists(), "dump wrote nothing");
    // --reader and the simulator's options exclude each other.
    let (code, _, err) = zairyu(&["read", "--card-number", NUMBER, "--reader", "R", "--sim"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = zairyu(&["read", "--card-number", NUMBER, "--reader", "R", "--sim-card-type", "05"]);
    assert_eq!(code, 2, "{err}");
}

/// Without PC/SC support, `read` and `dump` need `--sim`.
#[cfg(not(feature = "pcsc"))]
#[test]
fn without_pcsc_read_needs_sim() {
    let dir = temp("dump-no-pcsc");
    for args in
        [&["read", "--card-number", NUMBER][..], &["dump", "--card-number", NUMBER, "--out", dir.to_str().unwrap()]]
    {
        let (code, out, err) = zairyu(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with("error [pcsc_not_built]: "), "{err}");
        assert!(err.contains("--sim"), "{err}");
        assert!(out.is_empty());
    }
    assert!(!dir.exists());
}

#[test]
fn verbose_logs_hold_no_card_number_or_key() {
    for t in ["1", "05"] {
        // A good read, and a wrong number (the error path).
        for typed in [NUMBER, "ZZ87654321YY"] {
            let (code, out, err) = zairyu(&["-v", "read", "--sim-card-type", t, "--card-number", typed, "--json"]);
            assert!(err.lines().count() >= 8, "type {t}: -v logs each APDU:\n{err}");
            assert!(err.contains("sw="), "{err}");
            assert_eq!(code == 12, typed == NUMBER, "type {t}, {typed}: exit {code}");
            secrets::assert_no_secret(&err, &[NUMBER, typed]);
            secrets::assert_no_secret(&out, &[NUMBER, typed]);
        }
    }
}
