//! `zairyu pki init` and `zairyu write-address` on the in-process simulator with the
//! in-process authority (address write, AWP v1, issue 12): the receipt, the exit
//! codes and stable codes of each refusal, what reaches the audit log, and that the
//! card number is never printed. The same write through pcscd + vpcd is in
//! `pcscd.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zairyu::write::record::{NewAddress, NewContent};
use zairyu::write::sha256;

const NUMBER: &str = "AB12345678CD";
const DATE: &str = "20260430";
const CODE: &str = "131016";
const ADDRESS: &str = "東京都千代田区霞が関１－１－１";

fn zairyu(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zairyu"))
        .args(args)
        .env_remove("ZAIRYU_CARD_NUMBER")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A fresh `zairyu pki init` directory, removed on drop.
struct Pki(PathBuf);

impl Pki {
    fn init(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("zairyu-cli-write-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (code, out, err) = zairyu(&["pki", "init", "--out", dir.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("policy.toml") && out.contains("test-counter"), "{out}");
        Pki(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// The audit log's lines (none before the first attempt).
    fn audit(&self) -> Vec<serde_json::Value> {
        match std::fs::read_to_string(self.0.join("audit.jsonl")) {
            Ok(text) => text.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// `write-address --sim` of the default record with `extra` options.
    fn write(&self, extra: &[&str]) -> (i32, String, String) {
        let mut args = vec![
            "write-address",
            "--card-number",
            NUMBER,
            "--date",
            DATE,
            "--municipality-code",
            CODE,
            "--address",
            ADDRESS,
            "--operator",
            "clerk-007",
            "--authority-dir",
            self.path(),
        ];
        args.extend_from_slice(extra);
        zairyu(&args)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn card_number_hash_hex() -> String {
    hex::encode(sha256(NUMBER.as_bytes()))
}

fn assert_no_card_number(text: &str) {
    assert!(!text.contains(NUMBER), "{text}");
    assert!(!text.contains(&card_number_hash_hex()), "the card-number hash is printed: {text}");
}

fn record() -> NewAddress {
    NewAddress { date: DATE.into(), municipality_code: CODE.into(), address: ADDRESS.into() }
}

#[test]
fn pki_init_output_is_an_authority_dir_and_a_first_generation_write_is_confirmed() {
    let pki = Pki::init("gen1");
    // pki init never overwrites, the policy included.
    let (code, _, err) = zairyu(&["pki", "init", "--out", pki.path()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already exists"), "{err}");

    let (code, out, err) = pki.write(&["--sim", "--write-pki", pki.path(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["written"], true);
    assert_eq!(v["confirmed_by_reread"], true);
    assert_eq!(v["card_type"], "1");
    assert_eq!(v["generation"], 1);
    assert_eq!(v["round_trips"], 4);
    assert!(v["apdus"].as_u64().unwrap() > 20, "{v}");
    let r = &v["receipt"];
    assert_eq!(r["file"], "DF2/EF01");
    assert_eq!(r["target"], "df2_ef01");
    assert_eq!(r["round_trips"], 4);
    assert_eq!(r["terminal"], "JPTESTTERM00001");
    assert_eq!(r["chip_auth_info_signer"], "JPTESTDS00001");
    // The receipt's hash is the hash of exactly the record's DF2/EF01 content.
    let want = NewContent::df2_ef01(&record()).unwrap();
    assert_eq!(r["content_sha256"], hex::encode(sha256(want.bytes())));
    assert_eq!(r["old_content_sha256"].as_str().unwrap().len(), 64);
    assert!(r.get("card_number_sha256").is_none(), "{r}");
    assert_eq!(v["record"]["address"], ADDRESS);
    assert_eq!(v["record"]["municipality_code"], CODE);
    assert_no_card_number(&out);
    assert_no_card_number(&err);

    // The audit log: `opened` then `written`, and the printed head is the last record.
    let log = pki.audit();
    assert_eq!(log.iter().map(|l| l["result"].as_str().unwrap()).collect::<Vec<_>>(), ["opened", "written"]);
    assert_eq!(log[1]["counter_id"], "test-counter");
    assert_eq!(log[1]["operator_id"], "clerk-007");
    assert_eq!(log[1]["new_content_sha256"], r["content_sha256"]);
    assert_eq!(v["audit_head"]["seq"], log[1]["seq"]);
    assert_eq!(v["audit_head"]["hash"], log[1]["hash"]);

    // The text receipt.
    let (code, out, err) = pki.write(&["--sim", "--write-pki", pki.path()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("address written; confirmed by a re-read on a new card session"), "{out}");
    for want in ["DF2/EF01", ADDRESS, CODE, DATE, "JPTESTTERM00001", "authority round trips  4", "audit head"] {
        assert!(out.contains(want), "{want}: {out}");
    }
    assert_no_card_number(&out);
    assert_eq!(pki.audit().len(), 4);
}

#[test]
fn a_second_generation_write_renders_the_image() {
    let pki = Pki::init("gen2");
    let (code, out, err) = pki.write(&["--sim-card-type", "05", "--write-pki", pki.path(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["card_type"].as_str(), v["generation"].as_u64()), (Some("05"), Some(2)));
    assert_eq!(v["receipt"]["file"], "DF1/EF04");
    assert_eq!(v["round_trips"], 4);
    assert_no_card_number(&out);
}

#[test]
fn the_policy_refuses_an_unknown_counter_and_a_municipality_not_granted() {
    let pki = Pki::init("policy");
    let (code, out, err) = pki.write(&["--sim", "--write-pki", pki.path(), "--counter-id", "rogue-counter"]);
    assert_eq!(code, 20, "{err}");
    assert!(err.starts_with("error [policy_unknown_counter]: "), "{err}");
    assert!(out.is_empty(), "{out}");
    let log = pki.audit();
    assert_eq!(log.len(), 1, "only the refusal is recorded: nothing was opened");
    assert_eq!(
        (log[0]["result"].as_str(), log[0]["refusal_code"].as_str()),
        (Some("refused"), Some("policy_unknown_counter"))
    );
    assert_eq!(log[0]["counter_id"], "rogue-counter");

    // The test counter, granted Osaka only, may not write a Tokyo code.
    std::fs::write(
        pki.0.join("policy.toml"),
        "version = 1\n[[counter]]\nid = \"test-counter\"\nmunicipalities = [\"27*\"]\n",
    )
    .unwrap();
    let (code, _, err) = pki.write(&["--sim", "--write-pki", pki.path()]);
    assert_eq!(code, 20, "{err}");
    assert!(err.starts_with("error [policy_municipality_not_allowed]: "), "{err}");
    assert_eq!(pki.audit().len(), 2);
    assert_no_card_number(&err);
}

#[test]
fn a_bad_record_is_refused_before_the_authority_or_the_card() {
    let pki = Pki::init("record");
    let base =
        ["write-address", "--sim", "--write-pki", pki.path(), "--card-number", NUMBER, "--authority-dir", pki.path()];
    let cases: [(&[&str], &str); 4] = [
        // 131016 with a wrong check digit.
        (&["--date", DATE, "--municipality-code", "131017", "--address", ADDRESS, "--operator", "c"], "record_invalid"),
        (
            &["--date", "20260231", "--municipality-code", CODE, "--address", ADDRESS, "--operator", "c"],
            "record_invalid",
        ),
        (
            &["--date", DATE, "--municipality-code", CODE, "--address", "東京都\u{202E}区", "--operator", "c"],
            "record_invalid",
        ),
        (&["--date", DATE, "--municipality-code", CODE, "--address", ADDRESS, "--operator", " "], "operator_invalid"),
    ];
    for (args, want) in cases {
        let (code, out, err) = zairyu(&[&base[..], args].concat());
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with(&format!("error [{want}]: ")), "{args:?}: {err}");
        assert!(out.is_empty());
    }
    // The authority never saw any of them.
    assert!(pki.audit().is_empty());
    // Checked before the authority directory is even loaded.
    let (code, _, err) = zairyu(&[
        "write-address",
        "--sim",
        "--card-number",
        NUMBER,
        "--date",
        DATE,
        "--municipality-code",
        "131017",
        "--address",
        ADDRESS,
        "--operator",
        "clerk-007",
        "--authority-dir",
        "/nonexistent/authority",
    ]);
    assert_eq!((code, err.starts_with("error [record_invalid]")), (2, true), "{err}");
}

#[test]
fn a_wrong_card_number_is_refused_by_the_card_before_anything_is_relayed() {
    let pki = Pki::init("number");
    let mut args = vec![
        "write-address",
        "--sim",
        "--write-pki",
        pki.path(),
        "--card-number",
        "ZZ00000000ZZ",
        "--date",
        DATE,
        "--municipality-code",
        CODE,
        "--address",
        ADDRESS,
        "--operator",
        "clerk-007",
        "--authority-dir",
        pki.path(),
    ];
    let (code, out, err) = zairyu(&args);
    assert_eq!(code, 3, "{err}");
    assert!(err.starts_with("error [wrong_card_number]: "), "{err}");
    assert!(!err.contains("ZZ00000000ZZ") && out.is_empty(), "{err}");
    assert!(pki.audit().is_empty(), "nothing reached the authority");
    // --write-pki is for the simulated card only: a usage error before any reader is asked.
    #[cfg(feature = "pcsc")]
    {
        let mut reader = args.clone();
        reader.splice(1..2, ["--reader", "No Such Reader"]);
        let (code, _, err) = zairyu(&reader);
        assert_eq!(code, 2, "{err}");
        assert!(err.starts_with("error [write_pki_without_sim]: "), "{err}");
    }
    // A number that is not a card number at all is a usage error.
    args[5] = "short";
    assert_eq!(zairyu(&args).0, 2);
}

#[test]
fn a_card_without_the_write_application_is_refused_by_the_card() {
    let pki = Pki::init("noapp");
    // --sim without --write-pki: a card issued before AWP.
    let (code, out, err) = pki.write(&["--sim"]);
    assert_eq!(code, 21, "{err}");
    assert!(err.starts_with("error [write_card_status]: SELECT write application: card answered 6A82"), "{err}");
    assert!(err.contains("--write-pki"), "{err}");
    assert!(out.is_empty());
    assert!(pki.audit().is_empty(), "the relay stopped before opening a session");

    // A card issued under another write PKI: its EF.ChipAuthInfo is not signed by
    // this authority's write issuer, so the authority refuses before any command.
    let other = Pki::init("other");
    let (code, _, err) = pki.write(&["--sim", "--write-pki", other.path()]);
    assert_eq!(code, 20, "{err}");
    assert!(err.starts_with("error [chip_auth_info_invalid]: "), "{err}");
    let log = pki.audit();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["refusal_code"], "chip_auth_info_invalid");
}

#[test]
fn an_authority_directory_that_cannot_be_loaded_is_its_own_exit_code() {
    let pki = Pki::init("setup");
    std::fs::remove_file(pki.0.join("policy.toml")).unwrap();
    let (code, _, err) = pki.write(&["--sim", "--write-pki", pki.path()]);
    assert_eq!(code, 23, "{err}");
    assert!(err.starts_with("error [policy_invalid]: "), "{err}");
    let (code, _, err) = zairyu(&[
        "write-address",
        "--sim",
        "--card-number",
        NUMBER,
        "--date",
        DATE,
        "--municipality-code",
        CODE,
        "--address",
        ADDRESS,
        "--operator",
        "clerk-007",
        "--authority-dir",
        Path::new("/nonexistent/authority").to_str().unwrap(),
    ]);
    assert_eq!(code, 23, "{err}");
    assert!(err.starts_with("error [authority_file_unreadable]: "), "{err}");
}

#[test]
fn help_lists_the_write_exit_codes() {
    let (code, out, _) = zairyu(&["--help"]);
    assert_eq!(code, 0);
    for line in [
        "\n  20  write-address: refused by the authority",
        "\n  21  write-address: the card refused",
        "\n  22  write-address: NOT confirmed",
        "\n  23  write-address: the authority could not be loaded",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    let (code, out, _) = zairyu(&["write-address", "--help"]);
    assert_eq!(code, 0);
    for opt in ["--sim", "--write-pki", "--authority-dir", "--counter-id", "--operator", "--json"] {
        assert!(out.contains(opt), "{opt}");
    }
    assert_eq!(out.contains("--reader <NAME>"), cfg!(feature = "pcsc"), "{out}");
}

#[test]
fn bench_write_prints_figures_for_each_generation() {
    let (code, out, err) = zairyu(&["bench", "--write", "--iterations", "1"]);
    assert_eq!(code, 0, "{err}");
    let row = |t: &str| out.lines().find(|l| l.starts_with(&format!("{t:<5} "))).unwrap_or_else(|| panic!("{out}"));
    let gen1 = row("1");
    let gen2 = row("05");
    assert!(gen1.contains("DF2/EF01") && gen2.contains("DF1/EF04"), "{out}");
    for r in [gen1, gen2] {
        // APDUs as access+write+re-read=total; 4 round trips; figures in ms.
        let cols: Vec<&str> = r.split_whitespace().collect();
        let (parts, total) = cols[2].split_once('=').unwrap();
        let sum: u32 = parts.split('+').map(|p| p.parse::<u32>().unwrap()).sum();
        assert_eq!(sum, total.parse::<u32>().unwrap(), "{r}");
        assert_eq!(cols[5], "4", "{r}");
        assert!(r.contains(" ms"), "{r}");
    }
}

#[test]
fn an_altered_audit_record_stops_the_authority() {
    let pki = Pki::init("audit");
    assert_eq!(pki.write(&["--sim", "--write-pki", pki.path()]).0, 0);
    // Another operator named in the `opened` record: its hash no longer matches.
    let path = pki.0.join("audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    assert!(first.contains("\"clerk-007\""));
    std::fs::write(&path, format!("{}\n{rest}", first.replacen("\"clerk-007\"", "\"clerk-008\"", 1))).unwrap();
    let (code, out, err) = pki.write(&["--sim", "--write-pki", pki.path()]);
    assert_eq!(code, 23, "{err}");
    assert!(err.starts_with("error [audit_log_invalid]: "), "{err}");
    assert!(out.is_empty());
    // Nothing was appended to the broken log.
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
}

/// `write-address --sim` of the default record with `extra` options and no authority
/// directory.
fn write_remote(extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "write-address",
        "--sim",
        "--card-number",
        NUMBER,
        "--date",
        DATE,
        "--municipality-code",
        CODE,
        "--address",
        ADDRESS,
        "--operator",
        "clerk-007",
    ];
    args.extend_from_slice(extra);
    zairyu(&args)
}

/// The `--authority` options without a service: what clap refuses (exit 2), and the
/// link's set-up errors with their stable codes, before any card or network I/O. The
/// writes through a real `zairyu-authority serve` are in `pcscd.rs`.
#[test]
fn the_authority_service_options_are_checked_before_anything_is_sent() {
    let pki = Pki::init("remote-options");
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let url = "https://127.0.0.1:9";
    let tls = ["--client-cert", file, "--client-key", file, "--authority-ca", file];
    fn with<'a>(first: &[&'a str], tls: &[&'a str]) -> Vec<&'a str> {
        [first, tls].concat()
    }

    // Exactly one authority; the client files only with --authority, and all three.
    for bad in [
        vec![],
        with(&["--authority", url, "--authority-dir", pki.path()], &tls),
        vec!["--authority", url],
        vec!["--authority", url, "--client-cert", file, "--client-key", file],
        [&["--authority-dir", pki.path()][..], &tls[..]].concat(),
        with(&["--authority", url, "--counter-id", "someone"], &tls),
    ] {
        let (code, out, err) = write_remote(&bad);
        assert_eq!(code, 2, "{bad:?}: {out}{err}");
        assert!(out.is_empty(), "{out}");
    }

    // A URL that is not https://HOST:PORT is a usage error with its code.
    for bad in ["http://127.0.0.1:9", "https://127.0.0.1", "127.0.0.1:9"] {
        let (code, _, err) = write_remote(&with(&["--authority", url, "--authority", bad], &tls));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("error [remote_url_invalid]"), "{err}");
    }
    // Files that cannot be read, or hold no certificate or key: the authority is
    // unusable (exit 23), named by its code.
    let missing = pki.0.join("missing.pem");
    let missing = missing.to_str().unwrap();
    let (code, _, err) =
        write_remote(&["--authority", url, "--client-cert", file, "--client-key", missing, "--authority-ca", file]);
    assert_eq!(code, 23, "{err}");
    assert!(err.contains("error [remote_file_unreadable]") && err.contains("missing.pem"), "{err}");
    let (code, _, err) = write_remote(&with(&["--authority", url], &tls));
    assert_eq!(code, 23, "{err}");
    assert!(err.contains("error [remote_pem_invalid]"), "{err}");
    assert_no_card_number(&err);

    // --help documents the options.
    let (_, out, _) = zairyu(&["write-address", "--help"]);
    for option in ["--authority <URL>", "--client-cert <FILE>", "--client-key <FILE>", "--authority-ca <FILE>"] {
        assert!(out.contains(option), "{option}: {out}");
    }
}
