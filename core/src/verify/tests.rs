//! Tests of the verification layer against the throw-away test PKI in
//! `sim/fixtures/` (see its README: nothing there is the Ministry's).

use std::path::PathBuf;

use p384::ecdsa::signature::hazmat::PrehashSigner;
use p384::pkcs8::DecodePrivateKey as _;
use rsa::Pkcs1v15Sign;
use sha2::{Digest, Sha256};

use super::*;
use crate::error::{ParseProblem, VerifyError};

const GEN1_CA: &[u8] = include_bytes!("../../../sim/fixtures/gen1-test-ca.der");
const GEN1_OTHER_CA: &[u8] = include_bytes!("../../../sim/fixtures/gen1-other-ca.der");
const GEN1_OTHER_CA_KEY: &[u8] = include_bytes!("../../../sim/fixtures/gen1-other-ca.key.der");
const GEN1_SIGNER: &[u8] = include_bytes!("../../../sim/fixtures/gen1-card-signer.der");
const GEN1_SIGNER_KEY: &[u8] = include_bytes!("../../../sim/fixtures/gen1-card-signer.key.der");
const GEN2_CA: &[u8] = include_bytes!("../../../sim/fixtures/gen2-test-ca.der");
const GEN2_CA_KEY: &[u8] = include_bytes!("../../../sim/fixtures/gen2-test-ca.key.der");
const GEN2_SIGNER: &[u8] = include_bytes!("../../../sim/fixtures/gen2-card-signer.der");
const GEN2_SIGNER_KEY: &[u8] = include_bytes!("../../../sim/fixtures/gen2-card-signer.key.der");

/// SHA-256 of the fixtures, from `sim/fixtures/README.md`.
const GEN1_CA_FP: &str = "10d167de348921320217685782214ebc933e4a5b42a31cbf59801f79f51997b7";
const GEN1_OTHER_CA_FP: &str = "4c97769e1b2f2deb2512817ea2d572593f4a258c61c71a412b5e07736fd8cb5f";
const GEN2_CA_FP: &str = "d9d92bb5329b060318b8e6d9b99a40d186d669e7e05e252a7e833854c440da46";

/// 2025-06-01T00:00:00Z: inside every fixture's validity (2024-01-01 .. 2034-01-01).
const NOW: i64 = 1_748_736_000;
/// 2024-01-01T00:00:00Z, the fixtures' notBefore.
const FIXTURE_NOT_BEFORE: i64 = 1_704_067_200;
/// 2034-01-01T00:00:00Z, the card signers' notAfter.
const SIGNER_NOT_AFTER: i64 = 2_019_686_400;

fn front() -> Vec<u8> {
    let mut v: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
    v.resize(GEN1_FRONT_LEN, 0);
    v
}

fn face() -> Vec<u8> {
    let mut v: Vec<u8> = (0..2500u32).map(|i| (i * 13 + 1) as u8).collect();
    v.resize(GEN1_FACE_LEN, 0);
    v
}

fn digest(front: &[u8], face: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(front);
    h.update(face);
    h.finalize().to_vec()
}

fn rsa_key(pkcs8: &[u8]) -> rsa::PrivateKey {
    rsa::PrivateKey::from_pkcs8_der(pkcs8).unwrap()
}

/// A check code as Fig. 3-4 draws it: `00 01 FF…FF 00 ‖ hash`.
fn sign_bare(key: &[u8], hash: &[u8]) -> Vec<u8> {
    rsa_key(key).sign(Pkcs1v15Sign::new_unprefixed(), hash).unwrap()
}

/// A standard PKCS #1 v1.5 signature with the SHA-256 DigestInfo.
fn sign_digest_info(key: &[u8], hash: &[u8]) -> Vec<u8> {
    rsa_key(key).sign(Pkcs1v15Sign::new::<Sha256>(), hash).unwrap()
}

fn gen1_cert() -> CardCertificate {
    CardCertificate::parse("DF3/EF01 DB", GEN1_SIGNER).unwrap()
}

fn gen2_cert() -> CardCertificate {
    CardCertificate::parse("DF3/EF01 DD", GEN2_SIGNER).unwrap()
}

fn gen1_trust() -> TrustStore {
    let mut t = TrustStore::new();
    t.add_test_anchor_der(GEN1_CA, "gen1-test-ca.der").unwrap();
    t
}

fn gen2_trust() -> TrustStore {
    let mut t = TrustStore::new();
    t.add_test_anchor_der(GEN2_CA, "gen2-test-ca.der").unwrap();
    t
}

fn colon_hex(fp: &[u8; 32]) -> String {
    fp.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// A fresh, empty directory under the system temp dir; removed by [`TempDir::drop`].
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("zairyu-verify-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.0.join(name), bytes).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pem(der: &[u8]) -> String {
    use der::pem::{LineEnding, encode_string};
    encode_string("CERTIFICATE", LineEnding::LF, der).unwrap()
}

// ---------------------------------------------------------------- pinned roots

#[test]
fn pinned_fingerprints_match_the_notes() {
    // Copied from second-generation notes §5.4 (first-generation notes §6 gives #4 in full too).
    let gen1 = [
        "97:F3:7C:59:67:AF:5F:3C:D8:4E:6E:D6:94:B0:95:39:AB:B7:F8:E7:E7:6B:6F:74:96:A0:60:00:89:82:98:3D",
        "FF:02:32:3C:EA:7B:8C:3D:FC:0D:C2:DE:79:D4:6E:78:51:4A:F5:87:36:85:23:08:6B:18:8E:96:90:AE:C8:61",
        "6F:50:16:1A:A8:0F:7F:F7:C6:30:50:5F:AF:47:29:06:F7:B1:01:D5:08:3E:32:7A:61:82:C8:2C:D7:98:5E:67",
        "BF:85:44:66:ED:9A:BF:61:F5:59:C3:9B:F8:79:05:46:F8:AC:DA:B9:9B:51:FD:23:30:56:36:69:CE:4A:71:B2",
    ];
    let got: Vec<String> = PINNED_GEN1_ROOTS.iter().map(colon_hex).collect();
    assert_eq!(got, gen1);
    assert_eq!(
        colon_hex(&PINNED_GEN2_ROOTS[0]),
        "11:E6:AD:8B:8E:64:F0:CD:B1:D8:BA:9E:36:89:92:6C:80:E8:47:9A:2F:09:86:16:F6:74:A2:35:82:BE:C1:3B"
    );
    assert_eq!(
        colon_hex(&KNOWN_MOJ_TEST_CA2),
        "18:46:B8:15:D3:1F:04:FE:93:D5:74:50:A6:D8:A8:C3:51:EA:C3:D8:C4:44:A2:37:5D:95:73:4D:F7:DD:10:57"
    );
    for fp in PINNED_GEN1_ROOTS.iter().chain(PINNED_GEN2_ROOTS.iter()) {
        assert!(is_pinned_production_root(fp));
    }
    assert!(!is_pinned_production_root(&KNOWN_MOJ_TEST_CA2), "the MOJ test CA2 must never be production");
}

// ---------------------------------------------------------------- gen 1 check code

#[test]
fn gen1_bare_hash_check_code_is_valid() {
    let (f, p) = (front(), face());
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&f, &p));
    let v = verify_gen1(&f, &p, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Valid, "{:?}", v.reason);
    assert_eq!(v.signature_format, Some(CheckCodeFormat::BareHash));
    assert_eq!(v.reason, None);
    assert_eq!(v.verified_at_unix, NOW);
}

#[test]
fn gen1_digest_info_check_code_is_valid() {
    let (f, p) = (front(), face());
    let dc = sign_digest_info(GEN1_SIGNER_KEY, &digest(&f, &p));
    let v = verify_gen1(&f, &p, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Valid, "{:?}", v.reason);
    assert_eq!(v.signature_format, Some(CheckCodeFormat::DigestInfo));
}

#[test]
fn gen1_tampered_front_is_invalid() {
    let (mut f, p) = (front(), face());
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&f, &p));
    f[100] ^= 0x01;
    let v = verify_gen1(&f, &p, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Invalid);
    assert_eq!(v.signature_format, Some(CheckCodeFormat::BareHash));
    assert!(v.reason.as_deref().unwrap().contains("does not match"), "{:?}", v.reason);
    // The chain is a separate result and is unaffected.
    assert_eq!(v.chain, ChainStatus::Verified);
}

#[test]
fn gen1_tampered_face_is_invalid() {
    let (f, mut p) = (front(), face());
    let dc = sign_digest_info(GEN1_SIGNER_KEY, &digest(&f, &p));
    // Even a change in the zero fill is covered: the fill is part of the signed value.
    p[GEN1_FACE_LEN - 1] = 0x01;
    let v = verify_gen1(&f, &p, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Invalid);
    assert_eq!(v.signature_format, Some(CheckCodeFormat::DigestInfo));
}

#[test]
fn gen1_wrong_key_is_invalid() {
    let (f, p) = (front(), face());
    let dc = sign_bare(GEN1_OTHER_CA_KEY, &digest(&f, &p));
    let v = verify_gen1(&f, &p, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Invalid);
    assert_eq!(v.signature_format, None);
    assert!(v.reason.is_some());
}

#[test]
fn gen1_garbage_block_is_invalid_with_reason() {
    let (f, p) = (front(), face());
    // A value below the modulus whose RSA image is not 00 01 FF…: random-looking bytes.
    let mut dc = vec![0u8; GEN1_CHECK_CODE_LEN];
    for (i, b) in dc.iter_mut().enumerate().skip(1) {
        *b = (i as u8).wrapping_mul(31).wrapping_add(7);
    }
    let v = verify_gen1(&f, &p, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Invalid);
    assert!(v.reason.as_deref().unwrap().contains("00 01"), "{:?}", v.reason);

    // Correct padding, but 33 bytes after it: neither format.
    let mut t = digest(&f, &p);
    t.push(0);
    let dc = sign_bare(GEN1_SIGNER_KEY, &t);
    let v = verify_gen1(&f, &p, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Invalid);
    assert!(v.reason.as_deref().unwrap().contains("neither"), "{:?}", v.reason);

    // A check code not below the modulus, and one of the wrong length: no panic, invalid.
    for dc in [vec![0xFF; GEN1_CHECK_CODE_LEN], vec![0x01; GEN1_CHECK_CODE_LEN - 1], vec![0x01; 512]] {
        let v = verify_gen1(&f, &p, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
        assert_eq!(v.signature, SignatureStatus::Invalid, "len {}", dc.len());
        assert!(v.reason.is_some());
    }
}

#[test]
fn gen1_short_values_are_zero_padded_long_ones_rejected() {
    let (f, p) = (front(), face());
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&f, &p));
    let f_short = crate::tlv::trim_zero_fill(&f);
    let p_short = crate::tlv::trim_zero_fill(&p);
    assert!(f_short.len() < GEN1_FRONT_LEN && p_short.len() < GEN1_FACE_LEN);
    let v = verify_gen1(f_short, p_short, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Valid, "{:?}", v.reason);

    let mut f_long = f.clone();
    f_long.push(0);
    let v = verify_gen1(&f_long, &p, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Invalid);
    assert!(v.reason.as_deref().unwrap().contains("7000"), "{:?}", v.reason);

    let mut p_long = p.clone();
    p_long.push(0);
    let v = verify_gen1(&f, &p_long, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Invalid);
    assert!(v.reason.as_deref().unwrap().contains("3000"), "{:?}", v.reason);
}

#[test]
fn gen1_missing_parts_are_invalid_never_absent() {
    // Absence is decided from the files (verify_first_generation); a missing check
    // code or certificate handed to the check itself is a missing signature.
    let (f, p) = (front(), face());
    let trust = gen1_trust();
    let v = verify_gen1(&f, &p, None, None, &trust, NOW);
    assert_eq!((v.signature, v.reason_code), (SignatureStatus::Invalid, Some(Reason::SignatureMissing)));
    assert_eq!(v.chain, ChainStatus::NoCertificate);
    assert!(!v.is_production_valid());

    let v = verify_gen1(&f, &[], Some(&[]), None, &trust, NOW);
    assert_eq!(v.reason_code, Some(Reason::SignatureMissing));

    // A check code but no certificate.
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&f, &p));
    let v = verify_gen1(&f, &p, Some(&dc), None, &trust, NOW);
    assert_eq!((v.signature, v.reason_code), (SignatureStatus::Invalid, Some(Reason::SignatureMissing)));
    assert_eq!(v.chain, ChainStatus::NoCertificate);

    // A certificate but no check code: invalid, and the chain is still reported.
    let v = verify_gen1(&f, &p, None, Some(&gen1_cert()), &trust, NOW);
    assert_eq!((v.signature, v.reason_code), (SignatureStatus::Invalid, Some(Reason::SignatureMissing)));
    assert_eq!(v.chain, ChainStatus::Verified);
}

#[test]
fn gen1_check_code_with_p384_card_key_is_invalid() {
    let (f, p) = (front(), face());
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&f, &p));
    let v = verify_gen1(&f, &p, Some(&dc), Some(&gen2_cert()), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Invalid);
    assert!(v.reason.as_deref().unwrap().contains("not RSA"), "{:?}", v.reason);
}

// ---------------------------------------------------------------- card certificate parsing

#[test]
fn certificate_with_1200_byte_zero_fill_parses() {
    let mut value = GEN1_SIGNER.to_vec();
    value.resize(1200, 0);
    let c = CardCertificate::parse("DF3/EF01 DB", &value).unwrap();
    assert_eq!(c.der(), GEN1_SIGNER);
    assert!(c.subject().contains("CN=ZairyuCard Signer TEST 1"), "{}", c.subject());
    assert!(c.issuer().contains("CN=ZairyuCard CA TEST"), "{}", c.issuer());
    assert_eq!(c.not_before_unix(), FIXTURE_NOT_BEFORE);
    assert_eq!(c.not_after_unix(), SIGNER_NOT_AFTER);
    assert_eq!(&GEN1_SIGNER[..2], &[0x30, 0x82]);
}

#[test]
fn certificate_with_non_zero_trailing_byte_is_trailing_garbage() {
    let mut value = GEN1_SIGNER.to_vec();
    value.resize(1200, 0);
    value[1000] = 0x01;
    let e = CardCertificate::parse("DF3/EF01 DB", &value).unwrap_err();
    assert_eq!(e.what, ParseProblem::TrailingGarbage);
    assert_eq!(e.offset, 1000);
    assert_eq!(e.file, "DF3/EF01 DB");
}

#[test]
fn truncated_certificate_is_an_error_not_a_panic() {
    for cut in 0..GEN1_SIGNER.len() {
        let r = CardCertificate::parse("DF3/EF01 DB", &GEN1_SIGNER[..cut]);
        assert!(r.is_err(), "prefix of {cut} bytes parsed");
    }
    let e = CardCertificate::parse("DF3/EF01 DB", &GEN1_SIGNER[..500]).unwrap_err();
    assert_eq!(e.what, ParseProblem::Truncated);
    // A value of 00 fill only (no certificate) and a wrong outer tag.
    assert!(CardCertificate::parse("DB", &[0u8; 1200]).is_err());
    assert!(matches!(
        CardCertificate::parse("DB", &[0x31, 0x03, 0, 0, 0]).unwrap_err().what,
        ParseProblem::UnexpectedTag { expected: 0x30, found: 0x31 }
    ));
}

#[test]
fn certificate_with_broken_inner_encoding_is_certificate_error() {
    // Outer length intact, but the body is not a certificate.
    let mut value = GEN1_SIGNER.to_vec();
    value[4] = 0x04; // TBSCertificate tag SEQUENCE -> OCTET STRING
    let e = CardCertificate::parse("DB", &value).unwrap_err();
    assert!(matches!(e.what, ParseProblem::UnexpectedTag { .. } | ParseProblem::Certificate(_)), "{e:?}");
    let mut value = GEN1_SIGNER.to_vec();
    assert_eq!(value[8], 0xA0);
    value[8] = 0xA5; // version [0] -> [5]: framing intact, the x509 decoder must refuse it
    let e = CardCertificate::parse("DB", &value).unwrap_err();
    assert!(matches!(e.what, ParseProblem::Certificate(_)), "{e:?}");
}

// ---------------------------------------------------------------- chain

#[test]
fn gen1_chain_to_test_anchor() {
    let (f, p) = (front(), face());
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&f, &p));
    let trust = gen1_trust();
    assert_eq!(trust.anchors()[0].fingerprint_hex(), GEN1_CA_FP);
    let v = verify_gen1(&f, &p, Some(&dc), Some(&gen1_cert()), &trust, NOW);
    assert_eq!(v.signature, SignatureStatus::Valid);
    assert_eq!(v.chain, ChainStatus::Verified);
    assert_eq!(v.anchor.as_deref(), Some(GEN1_CA_FP));
    assert_eq!(v.anchor_profile, Some(AnchorProfile::Test));
    assert!(v.anchor_subject.as_deref().unwrap().contains("CN=ZairyuCard CA TEST"));
    assert!(v.certificate_subject.as_deref().unwrap().contains("ZairyuCard Signer TEST 1"));
    assert_eq!(v.certificate_valid_now, Some(true));
    assert_eq!(v.anchor_valid_now, Some(true));
    assert!(!v.is_production_valid(), "a test anchor must never give production validity");
}

#[test]
fn gen1_same_name_other_key_does_not_chain() {
    let (f, p) = (front(), face());
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&f, &p));
    let mut trust = TrustStore::new();
    trust.add_test_anchor_der(GEN1_OTHER_CA, "gen1-other-ca.der").unwrap();
    assert_eq!(trust.anchors()[0].subject(), gen1_trust().anchors()[0].subject());
    let v = verify_gen1(&f, &p, Some(&dc), Some(&gen1_cert()), &trust, NOW);
    assert_eq!(v.chain, ChainStatus::NoMatchingAnchor);
    assert_eq!(v.anchor, None);
    assert_eq!(v.anchor_profile, None);
    assert_eq!(v.anchor_valid_now, None);
    // The signature result stays separate.
    assert_eq!(v.signature, SignatureStatus::Valid);
    assert!(!v.is_production_valid());
}

#[test]
fn gen1_chain_anchor_is_chosen_by_key_not_by_name() {
    let mut trust = TrustStore::new();
    trust.add_test_anchor_der(GEN1_OTHER_CA, "gen1-other-ca.der").unwrap();
    trust.add_test_anchor_der(GEN1_CA, "gen1-test-ca.der").unwrap();
    trust.add_test_anchor_der(GEN2_CA, "gen2-test-ca.der").unwrap();
    let v = verify_gen1(&front(), &face(), None, Some(&gen1_cert()), &trust, NOW);
    assert_eq!(v.chain, ChainStatus::Verified);
    assert_eq!(v.anchor.as_deref(), Some(GEN1_CA_FP));
    assert_ne!(v.anchor.as_deref(), Some(GEN1_OTHER_CA_FP));
}

#[test]
fn tampered_card_certificate_does_not_chain() {
    // Flip a byte inside the signer's subject (still decodes, signature no longer matches).
    let needle = b"Signer TEST 1";
    let pos = GEN1_SIGNER.windows(needle.len()).position(|w| w == needle).unwrap();
    let mut value = GEN1_SIGNER.to_vec();
    value[pos] = b'Z';
    let c = CardCertificate::parse("DB", &value).unwrap();
    let v = verify_gen1(&front(), &face(), None, Some(&c), &gen1_trust(), NOW);
    assert_eq!(v.chain, ChainStatus::NoMatchingAnchor);
}

#[test]
fn chain_answers_are_shared_by_clones_and_a_changed_certificate_is_asked_again() {
    let trust = gen1_trust();
    let clone = trust.clone();
    let v = verify_gen1(&front(), &face(), None, Some(&gen1_cert()), &clone, NOW);
    assert_eq!(v.chain, ChainStatus::Verified);
    // The clone's answer is in the original's cache, and the other way round.
    assert_eq!(trust.cached_answers(), 1);
    let v = verify_gen1(&front(), &face(), None, Some(&gen1_cert()), &trust, NOW);
    assert_eq!(v.chain, ChainStatus::Verified);
    assert_eq!(clone.cached_answers(), 1, "a hit adds nothing");
    // One byte changed inside the signer's subject: a new question, answered "no".
    let needle = b"Signer TEST 1";
    let pos = GEN1_SIGNER.windows(needle.len()).position(|w| w == needle).unwrap();
    let mut value = GEN1_SIGNER.to_vec();
    value[pos] = b'Z';
    let c = CardCertificate::parse("DB", &value).unwrap();
    let v = verify_gen1(&front(), &face(), None, Some(&c), &trust, NOW);
    assert_eq!(v.chain, ChainStatus::NoMatchingAnchor);
    assert_eq!(clone.cached_answers(), 2);
}

#[test]
fn validity_is_reported_separately() {
    let (f, p) = (front(), face());
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&f, &p));
    let cert = gen1_cert();
    let trust = gen1_trust();

    let before = verify_gen1(&f, &p, Some(&dc), Some(&cert), &trust, FIXTURE_NOT_BEFORE - 1);
    assert_eq!(before.certificate_valid_now, Some(false));
    assert_eq!(before.anchor_valid_now, Some(false));
    assert_eq!(before.signature, SignatureStatus::Valid);
    assert_eq!(before.chain, ChainStatus::Verified);

    let first_second = verify_gen1(&f, &p, Some(&dc), Some(&cert), &trust, FIXTURE_NOT_BEFORE);
    assert_eq!(first_second.certificate_valid_now, Some(true));

    // After the signer expired (2034) but before the root did (2044).
    let after = verify_gen1(&f, &p, Some(&dc), Some(&cert), &trust, SIGNER_NOT_AFTER + 1);
    assert_eq!(after.certificate_valid_now, Some(false));
    assert_eq!(after.anchor_valid_now, Some(true));
    assert_eq!(after.signature, SignatureStatus::Valid);
}

// ---------------------------------------------------------------- trust store

#[test]
fn production_dir_rejects_unpinned_root_and_stays_unchanged() {
    let dir = TempDir::new("unpinned");
    dir.write("gen1-test-ca.der", GEN1_CA);
    let mut trust = TrustStore::new();
    let e = trust.load_production_dir(&dir.0).unwrap_err();
    match e {
        VerifyError::UnpinnedProductionRoot { path, fingerprint } => {
            assert!(path.ends_with("gen1-test-ca.der"), "{path}");
            assert_eq!(fingerprint, GEN1_CA_FP);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(trust.anchors().is_empty());
    assert_eq!(
        crate::Error::from(trust.load_production_dir(&dir.0).unwrap_err()).code(),
        "verify_unpinned_production_root"
    );

    // The same rule for PEM, with the certificate second in the file.
    let dir = TempDir::new("unpinned-pem");
    dir.write("roots.PEM", pem(GEN1_CA).as_bytes());
    assert!(matches!(trust.load_production_dir(&dir.0), Err(VerifyError::UnpinnedProductionRoot { .. })));
}

#[test]
fn production_dir_bad_files() {
    let mut trust = TrustStore::new();
    // Other files are ignored.
    let dir = TempDir::new("ignored");
    dir.write("README.txt", b"not a certificate");
    assert_eq!(trust.load_production_dir(&dir.0), Ok(0));
    // An unparseable certificate file.
    let dir = TempDir::new("garbage");
    dir.write("root.crt", b"\x30\x03\x02\x01\x01");
    assert!(matches!(trust.load_production_dir(&dir.0), Err(VerifyError::BadAnchorFile { .. })));
    // A PEM file without a certificate block.
    let dir = TempDir::new("pem-key");
    dir.write("root.pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert!(matches!(trust.load_production_dir(&dir.0), Err(VerifyError::BadAnchorFile { .. })));
    // A missing directory.
    let missing = std::env::temp_dir().join("zairyu-verify-no-such-dir-9f3b");
    assert!(matches!(trust.load_production_dir(&missing), Err(VerifyError::BadAnchorFile { .. })));
    assert!(trust.anchors().is_empty());
}

#[test]
fn add_production_der_requires_a_pinned_fingerprint() {
    let mut trust = TrustStore::new();
    let e = trust.add_production_der(GEN2_CA, "gen2-test-ca.der").unwrap_err();
    assert_eq!(
        e,
        VerifyError::UnpinnedProductionRoot { path: "gen2-test-ca.der".into(), fingerprint: GEN2_CA_FP.into() }
    );
    assert!(matches!(trust.add_production_der(b"junk", "junk"), Err(VerifyError::BadAnchorFile { .. })));
    // A certificate with trailing bytes is not accepted as an anchor either.
    let mut padded = GEN1_CA.to_vec();
    padded.push(0);
    assert!(matches!(trust.add_production_der(&padded, "padded"), Err(VerifyError::BadAnchorFile { .. })));
    assert!(trust.anchors().is_empty());
}

#[test]
fn test_dir_reads_der_and_multi_cert_pem() {
    let dir = TempDir::new("test-dir");
    dir.write("a.der", GEN1_CA);
    dir.write("b.pem", format!("{}\n{}", pem(GEN1_OTHER_CA), pem(GEN2_CA)).as_bytes());
    dir.write("notes.md", b"ignored");
    let mut trust = TrustStore::new();
    assert_eq!(trust.add_test_anchors_dir(&dir.0), Ok(3));
    let fps: Vec<String> = trust.anchors().iter().map(TrustAnchor::fingerprint_hex).collect();
    assert_eq!(fps, [GEN1_CA_FP, GEN1_OTHER_CA_FP, GEN2_CA_FP]);
    assert!(trust.anchors().iter().all(|a| a.profile() == AnchorProfile::Test));
    assert_eq!(trust.anchors()[0].key_algorithm(), "rsa-2048");
    assert_eq!(trust.anchors()[2].key_algorithm(), "ecdsa-p384");
    assert_eq!(trust.anchors()[0].der(), GEN1_CA);
    // Adding the same certificate again does not duplicate it.
    trust.add_test_anchor_der(GEN1_CA, "again").unwrap();
    assert_eq!(trust.anchors().len(), 3);
}

// ---------------------------------------------------------------- gen 2

fn signed_data() -> Vec<u8> {
    (0..5553u32).map(|i| (i * 5 + 11) as u8).collect()
}

fn gen2_sign(data: &[u8]) -> p384::ecdsa::Signature {
    let sk = p384::ecdsa::SigningKey::from_pkcs8_der(GEN2_SIGNER_KEY).unwrap();
    sk.sign_prehash(&Sha256::digest(data)).unwrap()
}

#[test]
fn gen2_raw_signature_is_valid() {
    let data = signed_data();
    let raw = gen2_sign(&data).to_bytes();
    assert_eq!(raw.len(), GEN2_RAW_SIGNATURE_LEN);
    let v = verify_gen2(&data, Some(&raw), Some(&gen2_cert()), &gen2_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Valid, "{:?}", v.reason);
    assert_eq!(v.signature_format, Some(CheckCodeFormat::EcdsaRaw));
}

#[test]
fn gen2_der_signature_is_valid() {
    let data = signed_data();
    let der = gen2_sign(&data).to_der();
    let v = verify_gen2(&data, Some(der.as_bytes()), Some(&gen2_cert()), &gen2_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Valid, "{:?}", v.reason);
    assert_eq!(v.signature_format, Some(CheckCodeFormat::EcdsaDer));
}

#[test]
fn gen2_tampered_data_is_invalid() {
    let mut data = signed_data();
    let raw = gen2_sign(&data).to_bytes();
    data[42] ^= 0x80;
    let v = verify_gen2(&data, Some(&raw), Some(&gen2_cert()), &gen2_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Invalid);
    assert_eq!(v.signature_format, Some(CheckCodeFormat::EcdsaRaw));
    assert!(v.reason.is_some());
}

#[test]
fn gen2_malformed_signatures_are_invalid() {
    let data = signed_data();
    let cert = gen2_cert();
    let trust = gen2_trust();
    let raw = gen2_sign(&data).to_bytes();
    // r = 0.
    let mut zero_r = raw.to_vec();
    zero_r[..48].fill(0);
    // s = 0.
    let mut zero_s = raw.to_vec();
    zero_s[48..].fill(0);
    // DER with trailing bytes: not DER, not 96 bytes.
    let mut der_trailing = gen2_sign(&data).to_der().as_bytes().to_vec();
    der_trailing.push(0);
    for (name, sig) in [("r=0", zero_r), ("s=0", zero_s), ("95 bytes", raw[..95].to_vec()), ("der+1", der_trailing)] {
        let v = verify_gen2(&data, Some(&sig), Some(&cert), &trust, NOW);
        assert_eq!(v.signature, SignatureStatus::Invalid, "{name}");
        assert!(v.reason.is_some(), "{name}");
    }
    // An RSA card certificate cannot verify a gen 2 check code.
    let v = verify_gen2(&data, Some(&raw), Some(&gen1_cert()), &trust, NOW);
    assert_eq!(v.signature, SignatureStatus::Invalid);
    assert!(v.reason.as_deref().unwrap().contains("not EC P-384"), "{:?}", v.reason);
    // Missing parts: invalid (absence is decided from the files).
    let v = verify_gen2(&data, None, Some(&cert), &trust, NOW);
    assert_eq!((v.signature, v.reason_code), (SignatureStatus::Invalid, Some(Reason::SignatureMissing)));
    let v = verify_gen2(&data, Some(&raw), None, &trust, NOW);
    assert_eq!((v.signature, v.reason_code), (SignatureStatus::Invalid, Some(Reason::SignatureMissing)));
    assert_eq!(v.chain, ChainStatus::NoCertificate);
}

#[test]
fn gen2_chain_to_test_anchor() {
    let data = signed_data();
    let raw = gen2_sign(&data).to_bytes();
    let mut value = GEN2_SIGNER.to_vec();
    value.resize(602, 0);
    let cert = CardCertificate::parse("DF3/EF01 DD", &value).unwrap();
    let mut trust = gen2_trust();
    trust.add_test_anchor_der(GEN1_CA, "gen1-test-ca.der").unwrap();
    let v = verify_gen2(&data, Some(&raw), Some(&cert), &trust, NOW);
    assert_eq!(v.signature, SignatureStatus::Valid);
    assert_eq!(v.chain, ChainStatus::Verified);
    assert_eq!(v.anchor.as_deref(), Some(GEN2_CA_FP));
    assert_eq!(v.anchor_profile, Some(AnchorProfile::Test));
    assert!(v.anchor_subject.as_deref().unwrap().contains("CN=ZairyuCard CA2 TEST"));
    assert!(!v.is_production_valid());

    // Only gen 1 anchors: no match.
    let v = verify_gen2(&data, Some(&raw), Some(&cert), &gen1_trust(), NOW);
    assert_eq!(v.chain, ChainStatus::NoMatchingAnchor);
}

/// DER `SEQUENCE` with the given content (short or `82` length form).
fn seq(content: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30];
    crate::tlv::encode_length(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// The genuine-card quirk of second-generation notes §5.2: ecdsa-with-SHA256
/// AlgorithmIdentifiers with explicit `NULL` parameters. Re-issue the test signer
/// that way under the test CA key and check that it still parses and chains.
#[test]
fn gen2_certificate_with_explicit_null_parameters_chains() {
    const ALG: [u8; 12] = [0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
    const ALG_NULL: [u8; 14] = [0x30, 0x0C, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02, 0x05, 0x00];
    // Outer header and TBS header are both `30 82 xx xx`.
    assert_eq!((GEN2_SIGNER[0], GEN2_SIGNER[1], GEN2_SIGNER[4], GEN2_SIGNER[5]), (0x30, 0x82, 0x30, 0x82));
    let tbs_len = usize::from(u16::from_be_bytes([GEN2_SIGNER[6], GEN2_SIGNER[7]]));
    let tbs_content = &GEN2_SIGNER[8..8 + tbs_len];
    let at = tbs_content.windows(ALG.len()).position(|w| w == ALG).unwrap();
    let new_tbs = seq(&[&tbs_content[..at], &ALG_NULL[..], &tbs_content[at + ALG.len()..]].concat());

    let ca = p384::ecdsa::SigningKey::from_pkcs8_der(GEN2_CA_KEY).unwrap();
    let sig: p384::ecdsa::Signature = ca.sign_prehash(&Sha256::digest(&new_tbs)).unwrap();
    let sig = sig.to_der();
    let mut bit_string = vec![0x03];
    crate::tlv::encode_length(sig.len() + 1, &mut bit_string);
    bit_string.push(0x00);
    bit_string.extend_from_slice(sig.as_bytes());
    let cert_der = seq(&[new_tbs, ALG_NULL.to_vec(), bit_string].concat());

    let mut value = cert_der.clone();
    value.resize(cert_der.len() + 40, 0);
    let cert = CardCertificate::parse("DF3/EF01 DD", &value).unwrap();
    assert_eq!(cert.der(), &cert_der[..]);
    let data = signed_data();
    let raw = gen2_sign(&data).to_bytes();
    let v = verify_gen2(&data, Some(&raw), Some(&cert), &gen2_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Valid, "{:?}", v.reason);
    assert_eq!(v.chain, ChainStatus::Verified);
    assert_eq!(v.anchor.as_deref(), Some(GEN2_CA_FP));
}

// ---------------------------------------------------------------- report form

#[test]
fn verification_serialises_in_snake_case() {
    let (f, p) = (front(), face());
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&f, &p));
    let v = verify_gen1(&f, &p, Some(&dc), Some(&gen1_cert()), &gen1_trust(), NOW);
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j["signature"], "valid");
    assert_eq!(j["signature_format"], "bare_hash");
    assert_eq!(j["chain"], "verified");
    assert_eq!(j["anchor_profile"], "test");
    assert_eq!(j["anchor"], GEN1_CA_FP);
    assert_eq!(j["verified_at_unix"], NOW);

    let j = serde_json::to_value(Verification::absent(Reason::Under16, "under 16", NOW)).unwrap();
    assert_eq!(j["signature"], "absent");
    assert_eq!(j["chain"], "no_certificate");
    let n = Verification::not_checked(Reason::PolicyTextOnly, "skipped", NOW);
    assert_eq!((n.signature, n.chain), (SignatureStatus::NotChecked, ChainStatus::NotChecked));
    assert_eq!(n.reason.as_deref(), Some("skipped"));
    assert!(!n.is_production_valid());
    let i = Verification::invalid(Reason::CertificateMalformed, "bad certificate", NOW);
    assert_eq!(i.signature, SignatureStatus::Invalid);
    assert_eq!(serde_json::to_value(i).unwrap()["chain"], "not_checked");
}

// --- BER-tolerant card certificates (first-generation notes §6, second-generation notes §5.2).

const GEN1_CA_KEY: &[u8] = include_bytes!("../../../sim/fixtures/gen1-test-ca.key.der");

/// The (tag, header, content) elements of a DER SEQUENCE's content, in order.
fn der_children(der: &[u8]) -> Vec<Vec<u8>> {
    let content_start = if der[1] < 0x80 { 2 } else { 2 + usize::from(der[1] & 0x7F) };
    let mut out = Vec::new();
    let mut p = content_start;
    while p < der.len() {
        let len_byte = der[p + 1];
        let (len, hdr) = if len_byte < 0x80 {
            (usize::from(len_byte), 2)
        } else {
            let n = usize::from(len_byte & 0x7F);
            (der[p + 2..p + 2 + n].iter().fold(0usize, |a, &b| (a << 8) | usize::from(b)), 2 + n)
        };
        out.push(der[p..p + hdr + len].to_vec());
        p += hdr + len;
    }
    out
}

/// `tag`, a length in the 4-byte long form (`83 00 HH LL`, non-minimal), content.
fn long_form(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut v = vec![tag, 0x83, 0x00, (n >> 8) as u8, n as u8];
    v.extend_from_slice(content);
    v
}

/// `tag 80 content 00 00`: the indefinite length.
fn indefinite(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag, 0x80];
    v.extend_from_slice(content);
    v.extend_from_slice(&[0, 0]);
    v
}

fn chain_of(value: &[u8]) -> (ChainStatus, Option<String>) {
    let cert = CardCertificate::parse("DF3/EF01 DB", value).unwrap();
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&front(), &face()));
    let v = verify_gen1(&front(), &face(), Some(&dc), Some(&cert), &gen1_trust(), NOW);
    assert_eq!(v.signature, SignatureStatus::Valid, "{:?}", v.reason);
    (v.chain, v.certificate_subject)
}

#[test]
fn ber_outer_lengths_and_zero_fill_are_tolerated() {
    let parts = der_children(GEN1_SIGNER);
    let content = parts.concat();
    let mut long = long_form(0x30, &content);
    long.resize(1200, 0);
    let mut indef = indefinite(0x30, &content);
    indef.resize(1200, 0);
    for value in [long, indef] {
        let (chain, subject) = chain_of(&value);
        assert_eq!(chain, ChainStatus::Verified);
        assert_eq!(subject, gen1_cert().subject().into());
    }
}

#[test]
fn ber_inside_the_signed_part_verifies_over_the_bytes_as_stored() {
    // A TBSCertificate with a non-minimal length, an indefinite-length extensions
    // wrapper and a BER boolean (`01 01 01` for TRUE), signed by the test CA over
    // exactly these bytes: the typed certificate comes from a DER re-encoding, the
    // signature is checked over the stored bytes.
    let parts = der_children(GEN1_SIGNER);
    let (tbs, alg) = (&parts[0], &parts[1]);
    let mut tbs_parts = der_children(tbs);
    let ext = tbs_parts.last_mut().unwrap();
    assert_eq!(ext[0], 0xA3, "extensions [3]");
    let ext_content = der_children(ext).concat();
    let ber_ext_content: Vec<u8> = {
        // Inside the SEQUENCE OF Extension, turn every `01 01 FF` into `01 01 01`.
        let mut v = ext_content.clone();
        let mut i = 0;
        while i + 2 < v.len() {
            if v[i..i + 3] == [0x01, 0x01, 0xFF] {
                v[i + 2] = 0x01;
            }
            i += 1;
        }
        v
    };
    assert_ne!(ber_ext_content, ext_content, "the fixture has a critical extension");
    *ext = indefinite(0xA3, &ber_ext_content);
    let ber_tbs = long_form(0x30, &tbs_parts.concat());
    let sig = rsa_key(GEN1_CA_KEY).sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(&ber_tbs)).unwrap();
    let mut bit_string = vec![0x03, 0x82, 0x01, 0x01, 0x00];
    bit_string.extend_from_slice(&sig);
    let mut value = indefinite(0x30, &[ber_tbs, alg.clone(), bit_string].concat());
    value.resize(1200, 0);
    let (chain, subject) = chain_of(&value);
    assert_eq!(chain, ChainStatus::Verified);
    assert_eq!(subject, gen1_cert().subject().into());

    // The same bytes with one TBS byte changed no longer chain.
    let pos = value.windows(6).position(|w| w == b"Signer").unwrap();
    value[pos] ^= 0x20;
    let (chain, _) = chain_of(&value);
    assert_eq!(chain, ChainStatus::NoMatchingAnchor);
}

#[test]
fn malformed_certificates_are_invalid_with_their_reason_code() {
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&front(), &face()));
    let content = der_children(GEN1_SIGNER).concat();
    let mut unterminated = vec![0x30, 0x80];
    unterminated.extend_from_slice(&content);
    let mut primitive_indefinite = GEN1_SIGNER.to_vec();
    primitive_indefinite[4] = 0x04;
    primitive_indefinite[5] = 0x80;
    let mut deep = Vec::new();
    for _ in 0..40 {
        deep.extend_from_slice(&[0x30, 0x80]);
    }
    deep.resize(1200, 0);
    for (name, value) in [
        ("truncated", GEN1_SIGNER[..400].to_vec()),
        ("unterminated indefinite", unterminated),
        ("primitive indefinite", primitive_indefinite),
        ("nested too deeply", deep),
        ("not a sequence", vec![0x04, 0x01, 0x00]),
        ("five length bytes", vec![0x30, 0x85, 0, 0, 0, 0, 1, 0]),
    ] {
        let r = CardCertificate::parse("DF3/EF01 DB", &value);
        assert!(r.is_err(), "{name}");
        if name == "unterminated indefinite" {
            // In the 1200-byte field the zero fill ends it: a well-formed BER value.
            continue;
        }
        let mut df3 = vec![0xDA, 0x82, 0x01, 0x00];
        df3.extend_from_slice(&dc);
        df3.extend_from_slice(&[0xDB, 0x82, 0x04, 0xB0]);
        let mut v = value.clone();
        v.resize(1200, 0);
        df3.extend_from_slice(&v);
        let mut front_file = vec![0xD0, 0x82, 0x1B, 0x58];
        front_file.extend_from_slice(&front());
        let mut face_file = vec![0xD1, 0x82, 0x0B, 0xB8];
        face_file.extend_from_slice(&face());
        let files = Gen1SignedFiles { front: &front_file, face: &face_file, signature: &df3 };
        let v = verify_first_generation(&files, &gen1_trust(), NOW);
        assert_eq!(
            (v.signature, v.reason_code),
            (SignatureStatus::Invalid, Some(Reason::CertificateMalformed)),
            "{name}"
        );
    }
}

/// The trust store remembers chain results per certificate bytes: a certificate
/// with one changed byte checked after the genuine one (and the genuine one after
/// it) is still judged on its own bytes.
#[test]
fn remembered_chain_results_follow_every_byte_of_the_certificate() {
    let trust = gen1_trust();
    let dc = sign_bare(GEN1_SIGNER_KEY, &digest(&front(), &face()));
    let mut forged = GEN1_SIGNER.to_vec();
    *forged.last_mut().unwrap() ^= 0x01; // the last byte of the issuer's signature
    let genuine = gen1_cert();
    let forged = CardCertificate::parse("DF3/EF01 DB", &forged).unwrap();
    for (cert, chain) in [
        (&genuine, ChainStatus::Verified),
        (&forged, ChainStatus::NoMatchingAnchor),
        (&genuine, ChainStatus::Verified),
        (&forged, ChainStatus::NoMatchingAnchor),
    ] {
        for store in [&trust, &trust.clone()] {
            let v = verify_gen1(&front(), &face(), Some(&dc), Some(cert), store, NOW);
            assert_eq!(v.chain, chain);
            assert_eq!(v.verdict() == Verdict::Test, chain == ChainStatus::Verified);
        }
    }

    let trust = gen2_trust();
    let mut forged = GEN2_SIGNER.to_vec();
    let at = forged.len() - 10; // inside the issuer's ECDSA signature
    forged[at] ^= 0x40;
    let forged = CardCertificate::parse("DF3/EF01 DD", &forged).unwrap();
    let cert = gen2_cert();
    for (c, verified) in [(&cert, true), (&forged, false), (&cert, true), (&forged, false)] {
        let mut v = Verification::pending(NOW);
        evaluate_chain(&mut v, Some(c), &trust);
        assert_eq!(v.chain == ChainStatus::Verified, verified);
    }
}
