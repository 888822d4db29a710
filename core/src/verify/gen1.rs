//! First-generation verification (SPEC15 §3.4.3, Fig. 3-4): RSA-2048 check code
//! `DA` over the front image and the face, certificate `DB`.

use rsa::BoxedUint;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::cert::PublicKey;
use super::{
    CardCertificate, CheckCodeFormat, CheckFailure, Reason, TrustStore, Verification, check_signature, exact_objects,
    image_blank, parse_cert, signature_parts,
};
use crate::layout::{self, value_len};

/// Size of the DF1/EF01 `D0` value (券面画像, front image) covered by the
/// first-generation check code (SPEC15 §3.4.3, Fig. 3-4).
pub const GEN1_FRONT_LEN: usize = value_len::FRONT_IMAGE;
/// Size of the DF1/EF02 `D1` value (顔画像, face image) covered by the
/// first-generation check code (SPEC15 §3.4.3, Fig. 3-4).
pub const GEN1_FACE_LEN: usize = value_len::FACE_IMAGE;
/// Length of the first-generation check code `DA`: one RSA-2048 block (SPEC15
/// §3.3.4.9, §3.4.3).
pub const GEN1_CHECK_CODE_LEN: usize = value_len::CHECK_CODE;
/// The DER prefix of a SHA-256 `DigestInfo` (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];

/// The first-generation files the check code covers, exactly as the chip returned
/// them (a file answered `6A 82` as empty).
#[derive(Debug, Clone, Copy)]
pub struct Gen1SignedFiles<'a> {
    /// DF1/EF01: `D0` front image.
    pub front: &'a [u8],
    /// DF1/EF02: `D1` face image.
    pub face: &'a [u8],
    /// DF3/EF01: `DA` check code, `DB` certificate.
    pub signature: &'a [u8],
}

/// SPEC15 §3.4.3: verifies the check code over the two images, and the chain of
/// the `DB` certificate, from the files as read.
///
/// * `absent` only for the under-16 layout of SPEC15 §3.3.5: no face photo (the file
///   empty, all zero, or answered `6A 82`) **and** DF3 one of the documented fillers
///   (all zero, `DA 00`, `DA 00 DB 00`, then zeros). A filler beside a face photo, or
///   half a signature, is `invalid` ([`Reason::SignatureMissing`]).
/// * The signed files must be exactly one `D0` of 7000 bytes and one `D1` of 3000
///   bytes (or an empty face), else `invalid` ([`Reason::ImageLayout`]).
pub fn verify_first_generation(files: &Gen1SignedFiles<'_>, trust: &TrustStore, now_unix: i64) -> Verification {
    use layout::gen1::{DF1_EF01, DF1_EF02, DF3_EF01};
    let face_blank = image_blank(DF1_EF02.name, files.face, 0xD1);
    let (check_code, certificate) = match signature_parts(
        DF3_EF01.name,
        files.signature,
        (0xDA, value_len::CHECK_CODE),
        (0xDB, value_len::CERTIFICATE),
        face_blank,
        now_unix,
    ) {
        Ok(parts) => parts,
        Err(v) => return v,
    };
    let front = match exact_objects(DF1_EF01.name, files.front, &[(0xD0, GEN1_FRONT_LEN)]) {
        Ok(v) => v[0],
        Err(reason) => return Verification::invalid(Reason::ImageLayout, &reason, now_unix),
    };
    // A blank face is signed as 3000 zero bytes, whichever blank form it has.
    let face: &[u8] = if face_blank {
        &[]
    } else {
        match exact_objects(DF1_EF02.name, files.face, &[(0xD1, GEN1_FACE_LEN)]) {
            Ok(v) => v[0],
            Err(reason) => return Verification::invalid(Reason::ImageLayout, &reason, now_unix),
        }
    };
    match parse_cert("DF3/EF01 DB", Some(certificate), now_unix) {
        Ok(cert) => verify_gen1(front, face, Some(check_code), cert.as_ref(), trust, now_unix),
        Err(v) => v,
    }
}

/// First-generation verification (SPEC15 §3.4.3, Fig. 3-4; first-generation notes §6).
///
/// * Data: SHA-256 over the value of DF1/EF01 `D0` (front image, [`GEN1_FRONT_LEN`]
///   = 7000 bytes) ‖ the value of DF1/EF02 `D1` (face image, [`GEN1_FACE_LEN`] =
///   3000 bytes), zero fill included. A shorter value is padded with `00` to its
///   size; a longer one makes the signature `invalid`.
/// * Check code: DF3/EF01 `DA` (256 bytes). Raw RSA public operation with the key
///   of the card certificate `DB` (RSA-2048); the block must be `00 01 FF…FF 00`
///   followed either by exactly the 32-byte hash ([`CheckCodeFormat::BareHash`],
///   as Fig. 3-4 draws it) or by the SHA-256 `DigestInfo` and the hash
///   ([`CheckCodeFormat::DigestInfo`]). The hash is compared in constant time.
/// * Chain: every anchor's key is tried on the card certificate's signature
///   (sha256WithRSAEncryption for RSA anchors, ecdsa-with-SHA256 for P-384 ones).
///
/// `check_code` `None` or empty, or `cert` `None`, gives signature `invalid`
/// ([`Reason::SignatureMissing`]): whether a card without a signature is a genuine
/// under-16 card is decided from its files by [`verify_first_generation`].
/// Validity of the certificate and the anchor at `now_unix` are reported
/// separately.
pub fn verify_gen1(
    front: &[u8],
    face: &[u8],
    check_code: Option<&[u8]>,
    cert: Option<&CardCertificate>,
    trust: &TrustStore,
    now_unix: i64,
) -> Verification {
    check_signature(check_code, cert, trust, now_unix, ("DA", "DB"), |cc, cert| gen1_check(front, face, cc, cert))
}

/// The SHA-256 of Fig. 3-4: front (7000) ‖ face (3000), each zero-padded.
fn gen1_digest(front: &[u8], face: &[u8]) -> Result<[u8; 32], CheckFailure> {
    let fail = |reason: String| (None, Reason::ImageLayout, reason);
    if front.len() > GEN1_FRONT_LEN {
        return Err(fail(format!("front image value is {} bytes, more than {GEN1_FRONT_LEN}", front.len())));
    }
    if face.len() > GEN1_FACE_LEN {
        return Err(fail(format!("face image value is {} bytes, more than {GEN1_FACE_LEN}", face.len())));
    }
    let mut h = Sha256::new();
    h.update(front);
    h.update(vec![0u8; GEN1_FRONT_LEN - front.len()]);
    h.update(face);
    h.update(vec![0u8; GEN1_FACE_LEN - face.len()]);
    Ok(h.finalize().into())
}

fn gen1_check(
    front: &[u8],
    face: &[u8],
    check_code: &[u8],
    cert: &CardCertificate,
) -> Result<CheckCodeFormat, CheckFailure> {
    let fail = |reason: String| (None, Reason::CheckCodeMalformed, reason);
    let key_fail = |reason: String| (None, Reason::CertificateKey, reason);
    let expected = gen1_digest(front, face)?;
    let key = match cert.key() {
        Ok(PublicKey::Rsa(k)) => k,
        Ok(other) => {
            return Err(key_fail(format!("card certificate key is {}, not RSA", other.algorithm_name())));
        }
        Err(reason) => return Err(key_fail(format!("card certificate key unusable: {reason}"))),
    };
    let k = key.size();
    if k != GEN1_CHECK_CODE_LEN {
        return Err(key_fail(format!(
            "card certificate key is {} bits; SPEC15 §3.4.3 uses RSA-2048",
            key.n().bit_width()
        )));
    }
    if check_code.len() != k {
        return Err(fail(format!("check code is {} bytes, expected {k}", check_code.len())));
    }
    let s = BoxedUint::from_be_slice(check_code, key.n_bits_precision())
        .map_err(|_| fail("check code does not fit the modulus".into()))?;
    if s >= *key.n().as_ref() {
        return Err(fail("check code is not smaller than the modulus".into()));
    }
    let m = rsa::hazmat::rsa_encrypt(key, &s).map_err(|e| fail(format!("RSA public operation failed: {e}")))?;
    let em = left_pad(&m.to_be_bytes(), k).ok_or_else(|| fail("RSA result longer than the modulus".into()))?;
    let (format, hash) = parse_pkcs1_type1(&em).map_err(fail)?;
    if bool::from(hash.ct_eq(&expected)) {
        Ok(format)
    } else {
        Err((
            Some(format),
            Reason::SignatureMismatch,
            "hash in the check code does not match the front and face images".into(),
        ))
    }
}

/// `bytes` as exactly `k` big-endian bytes, or `None` if it needs more.
fn left_pad(bytes: &[u8], k: usize) -> Option<Vec<u8>> {
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let significant = &bytes[skip..];
    if significant.len() > k {
        return None;
    }
    let mut out = vec![0u8; k - significant.len()];
    out.extend_from_slice(significant);
    Some(out)
}

/// Splits a decoded block `00 01 FF…FF 00 T` (SPEC15 Fig. 3-4, PKCS #1 v1.5
/// type 1 with at least 8 `FF`) and identifies `T`: the bare 32-byte hash, or the
/// SHA-256 `DigestInfo` and the hash.
fn parse_pkcs1_type1(em: &[u8]) -> Result<(CheckCodeFormat, &[u8]), String> {
    if em.len() < 11 || em[0] != 0x00 || em[1] != 0x01 {
        return Err("decoded check code does not start with 00 01 (wrong key or not a signature)".into());
    }
    let ff = em[2..].iter().take_while(|&&b| b == 0xFF).count();
    let sep = 2 + ff;
    if ff < 8 || em.get(sep) != Some(&0x00) {
        return Err("decoded check code has no 00 01 FF…FF 00 padding (wrong key or not a signature)".into());
    }
    let t = &em[sep + 1..];
    if t.len() == 32 {
        Ok((CheckCodeFormat::BareHash, t))
    } else if t.len() == SHA256_DIGEST_INFO.len() + 32 && t.starts_with(&SHA256_DIGEST_INFO) {
        Ok((CheckCodeFormat::DigestInfo, &t[SHA256_DIGEST_INFO.len()..]))
    } else {
        Err(format!(
            "decoded check code carries {} bytes after the padding, neither a bare SHA-256 nor a SHA-256 DigestInfo",
            t.len()
        ))
    }
}
