//! The terminal key in a PKCS#11 token (SoftHSM2): generated non-extractable in the
//! token by `zairyu-authority pkcs11-keygen`, certified by the test DV, and used by
//! a `zairyu-authority serve` process for a whole write over HTTPS. SoftHSM2 reads
//! its configuration from `SOFTHSM2_CONF`, so the token work runs in child
//! processes with a private token directory (never the system's).

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;
use zairyu::files::CardType;
use zairyu::write::cvc::{CertRef, CvcBody, PublicKey};
use zairyu::write::sha256;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_terminal_key_in_softhsm2_signs_a_whole_write_and_never_leaves_the_token() {
    assert!(
        std::path::Path::new(MODULE).exists(),
        "SoftHSM2 is not installed ({MODULE} missing): run scripts/setup (Debian package softhsm2)"
    );
    let port = free_port();
    let d = Deployment::new(|c| c.replace("listen = \"127.0.0.1:0\"", &format!("listen = \"127.0.0.1:{port}\"")));
    let hsm = d.path().join("softhsm");
    std::fs::create_dir_all(hsm.join("tokens")).unwrap();
    let conf = hsm.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            hsm.join("tokens").display()
        ),
    )
    .unwrap();
    let init = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", "zairyu-authority", "--so-pin", "12345678", "--pin", "87654321"])
        .output()
        .expect("softhsm2-util (Debian package softhsm2; scripts/setup installs it)");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let pin = d.path().join("token.pin");
    zairyu_authority::init::write_new(&pin, b"87654321\n", true).unwrap();

    // The key pair, made in the token.
    let out = Command::new(env!("CARGO_BIN_EXE_zairyu-authority"))
        .env("SOFTHSM2_CONF", &conf)
        .args(["pkcs11-keygen", "--module", MODULE, "--token", "zairyu-authority", "--label", "terminal", "--pin-file"])
        .arg(&pin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sensitive"], true);
    assert_eq!(v["extractable"], false);
    assert_eq!(v["never_extractable"], true);
    assert_eq!(v["private_value_readable"], false);
    let public = PublicKey::from_uncompressed(&hex::decode(v["public_key"].as_str().unwrap()).unwrap()).unwrap();

    // The test DV certifies it as the terminal; the software terminal key is removed.
    let pki = d.pki();
    let old = pki.terminal.body();
    let cert = CvcBody {
        car: pki.dv.chr().clone(),
        public_key: public,
        chr: CertRef::new("JPTESTTERM00002").unwrap(),
        chat: old.chat.clone(),
        effective: old.effective,
        expiry: old.expiry,
    }
    .sign(&pki.dv_key)
    .unwrap();
    std::fs::write(d.path().join("pki/test-terminal.cvcert"), cert.encode()).unwrap();
    std::fs::remove_file(d.path().join("pki/test-terminal.key.p8")).unwrap();
    let text = std::fs::read_to_string(&d.config_path).unwrap().replace(
        "kind = \"key_file\"\npath = \"pki/test-terminal.key.p8\"",
        &format!("kind = \"pkcs11\"\nmodule = \"{MODULE}\"\ntoken = \"zairyu-authority\"\nkey_label = \"terminal\"\npin_file = \"token.pin\""),
    );
    std::fs::write(&d.config_path, text).unwrap();

    // The service as its own process, with the token.
    let server = Kill(
        Command::new(env!("CARGO_BIN_EXE_zairyu-authority"))
            .env("SOFTHSM2_CONF", &conf)
            .env("RUST_LOG", "warn")
            .args(["serve", "--config"])
            .arg(&d.config_path)
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(15), "the service did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let t = CardType::ResidenceCard;
    let url = format!("https://127.0.0.1:{port}");
    let (out, after) = write(zairyu_sim::SimCard::new(card(&pki, t)), &mut d.link_as("counter-1", &[url]), "131016");
    let out = out.unwrap();
    assert_eq!(out.receipt.terminal, "JPTESTTERM00002");
    assert_eq!(out.receipt.content_sha256, hex::encode(sha256(&file(&after, t))));
    drop(server);
    assert_eq!(results(&d.audit()), ["opened", "written"]);
}
