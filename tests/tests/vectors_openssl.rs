//! The synthetic second-generation SM vectors (`zairyu::vectors::gen2_synthetic`)
//! come from no specification, so the simulator and the reader could agree on a
//! shared mistake. Here an independent implementation, the `openssl` command line
//! (Debian's `openssl`, installed by scripts/setup), decrypts them under the
//! official Appendix-2 session key; and the official Annex-2 VERIFY cryptogram
//! (3DES) is checked the same way.

use std::io::Write;
use std::process::{Command, Stdio};

use zairyu::vectors::{annex2, appendix2, gen2_synthetic, hex};

/// `openssl enc -d -nopad -iv 0` of `ciphertext` with `cipher` and `key`.
fn openssl_decrypt(cipher: &str, key: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    let iv = if cipher.starts_with("aes") { "0".repeat(32) } else { "0".repeat(16) };
    let mut child = Command::new("openssl")
        .args(["enc", "-d", &format!("-{cipher}"), "-nopad", "-K", &::hex::encode(key), "-iv", &iv])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the openssl command line (scripts/setup installs it)");
    child.stdin.take().unwrap().write_all(ciphertext).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// The `86 L 01 ‖ ciphertext` object's ciphertext.
fn ciphertext(object: &[u8]) -> &[u8] {
    assert_eq!(object[0], 0x86);
    let (len, hdr) = match object[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(object[2]), 3),
        _ => (usize::from(u16::from_be_bytes([object[2], object[3]])), 4),
    };
    assert_eq!(object.len(), hdr + len);
    assert_eq!(object[hdr], 0x01, "padding indicator");
    &object[hdr + 1..]
}

/// `plain ‖ 80 00…` to a whole number of `block`s (ISO/IEC 9797-1 method 2).
fn padded(plain: &[u8], block: usize) -> Vec<u8> {
    let mut v = plain.to_vec();
    v.push(0x80);
    while !v.len().is_multiple_of(block) {
        v.push(0);
    }
    v
}

#[test]
fn synthetic_gen2_sm_vectors_decrypt_with_openssl() {
    let key = hex(appendix2::KS_ENC);
    for (response, plain) in [
        (gen2_synthetic::SM_EF01_RESPONSE, gen2_synthetic::SM_EF01_PLAIN),
        (gen2_synthetic::SM_EF02_RESPONSE, gen2_synthetic::SM_EF02_PLAIN),
    ] {
        let object = hex(response);
        let got = openssl_decrypt("aes-128-cbc", &key, ciphertext(&object));
        assert_eq!(got, padded(&hex(plain), 16));
    }
}

#[test]
fn official_verify_cryptograms_decrypt_with_openssl() {
    // Annex 2 (3DES two-key, KSenc): the VERIFY object holds the card number.
    let verify = hex(annex2::VERIFY_COMMAND);
    let got = openssl_decrypt("des-ede-cbc", &hex(annex2::KS_ENC), ciphertext(&verify[5..]));
    assert_eq!(got, padded(annex2::CARD_NUMBER.as_bytes(), 8));
    // Appendix 2 (AES-128): the number of the notes' example card.
    let verify = hex(appendix2::VERIFY_COMMAND);
    let got = openssl_decrypt("aes-128-cbc", &hex(appendix2::KS_ENC), ciphertext(&verify[5..]));
    assert_eq!(&got[..12], b"AA12345678BB");
    assert_eq!(got, padded(b"AA12345678BB", 16));
}
