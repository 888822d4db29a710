//! Check code and certificate chain (SPEC15 §3.4.3, Fig. 3-4; GEN2 §3.4.3.1).
//!
//! Two independent results come out of a verification ([`Verification`]):
//!
//! * the **signature** (check code) over the card data, made with the key of the
//!   card certificate, and
//! * the **chain**: which trust anchor's key signed that card certificate, and
//!   whether that anchor is a pinned Ministry root ([`AnchorProfile::Production`])
//!   or a caller-supplied test anchor.
//!
//! Validity periods of the certificate and the anchor are reported beside them, not
//! folded into either. A card is genuine only if [`Verification::is_production_valid`].
//! A valid signature does not say the card is still valid or not revoked: the
//! Ministry runs a separate online lookup for that (first-generation notes §6).
//!
//! Nothing here implements a primitive: RSA, ECDSA P-384 and SHA-256 come from the
//! RustCrypto crates `rsa`, `p384` and `sha2`.

mod cert;
mod trust;

#[cfg(test)]
mod tests;

pub use cert::CardCertificate;
pub use trust::{
    AnchorProfile, KNOWN_MOJ_TEST_CA2, PINNED_GEN1_ROOTS, PINNED_GEN2_ROOTS, TrustAnchor, TrustStore,
    is_pinned_production_root,
};

use p384::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::BoxedUint;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use cert::PublicKey;

/// Size of the DF1/EF01 `D0` value (券面画像, front image) covered by the
/// first-generation check code (SPEC15 §3.4.3, Fig. 3-4).
pub const GEN1_FRONT_LEN: usize = 7000;
/// Size of the DF1/EF02 `D1` value (顔画像, face image) covered by the
/// first-generation check code (SPEC15 §3.4.3, Fig. 3-4).
pub const GEN1_FACE_LEN: usize = 3000;
/// Length of the first-generation check code `DA`: one RSA-2048 block (SPEC15
/// §3.3.4.9, §3.4.3).
pub const GEN1_CHECK_CODE_LEN: usize = 256;
/// Length of a raw second-generation check code `DC`: `r ‖ s`, 48 bytes each
/// (second-generation notes §5.1).
pub const GEN2_RAW_SIGNATURE_LEN: usize = 96;

/// The DER prefix of a SHA-256 `DigestInfo` (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];

/// The signature (check code) result (SPEC15 §3.4.3; GEN2 §3.4.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    /// The check code matches the data under the card certificate's key.
    Valid,
    /// It does not: SPEC15 §3.4.3 says to treat this as possible tampering.
    Invalid,
    /// The card carries no check code or no certificate (under-16 cards, SPEC15
    /// §3.3.5). Not a failure.
    Absent,
    /// Verification was not attempted (e.g. the caller skipped it).
    NotChecked,
}

/// How the check code was encoded (SPEC15 Fig. 3-4; second-generation notes §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckCodeFormat {
    /// First generation: `00 01 FF…FF 00` then the bare 32-byte SHA-256 (SPEC15 Fig. 3-4).
    BareHash,
    /// First generation: `00 01 FF…FF 00` then a SHA-256 `DigestInfo` (standard
    /// PKCS #1 v1.5; first-generation notes §6).
    DigestInfo,
    /// Second generation: 96-byte `r ‖ s` (second-generation notes §5.1).
    EcdsaRaw,
    /// Second generation: DER `ECDSA-Sig-Value` (second-generation notes §5.1).
    EcdsaDer,
}

/// The chain result: which anchor signed the card certificate (first-generation
/// notes §6; second-generation notes §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainStatus {
    /// An anchor's key verifies the card certificate's signature.
    Verified,
    /// No anchor's key verifies it (whatever the names say).
    NoMatchingAnchor,
    /// There is no card certificate to check.
    NoCertificate,
    /// The chain was not checked.
    NotChecked,
}

/// Result of verification (SPEC15 §3.4.3; GEN2 §3.4.3.1). Signature and chain
/// are separate results; validity periods are reported separately too.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    /// The check-code result.
    pub signature: SignatureStatus,
    /// Which check-code encoding was found, once identified.
    pub signature_format: Option<CheckCodeFormat>,
    /// Why the signature is invalid, absent or not checked. Never contains card data.
    pub reason: Option<String>,
    /// The chain result.
    pub chain: ChainStatus,
    /// SHA-256 fingerprint (lowercase hex) of the anchor whose key signed the card certificate.
    pub anchor: Option<String>,
    /// That anchor's profile.
    pub anchor_profile: Option<AnchorProfile>,
    /// That anchor's subject (RFC 4514). Informational: anchors are never chosen by name.
    pub anchor_subject: Option<String>,
    /// The card certificate's subject (RFC 4514).
    pub certificate_subject: Option<String>,
    /// Whether `verified_at_unix` lies in the card certificate's validity period.
    pub certificate_valid_now: Option<bool>,
    /// Whether `verified_at_unix` lies in the anchor's validity period.
    pub anchor_valid_now: Option<bool>,
    /// The verification time, Unix seconds.
    pub verified_at_unix: i64,
}

impl Verification {
    fn empty(signature: SignatureStatus, chain: ChainStatus, reason: &str, now_unix: i64) -> Self {
        Verification {
            signature,
            signature_format: None,
            reason: Some(reason.to_string()),
            chain,
            anchor: None,
            anchor_profile: None,
            anchor_subject: None,
            certificate_subject: None,
            certificate_valid_now: None,
            anchor_valid_now: None,
            verified_at_unix: now_unix,
        }
    }

    /// Nothing checked (SPEC15 §3.4.3 not run): signature and chain `not_checked`.
    pub fn not_checked(reason: &str, now_unix: i64) -> Self {
        Self::empty(SignatureStatus::NotChecked, ChainStatus::NotChecked, reason, now_unix)
    }

    /// No check code and no certificate on the card (under-16 cards, SPEC15 §3.3.5):
    /// signature `absent`, chain `no_certificate`.
    pub fn absent(reason: &str, now_unix: i64) -> Self {
        Self::empty(SignatureStatus::Absent, ChainStatus::NoCertificate, reason, now_unix)
    }

    /// Signature `invalid` before any check could run, e.g. a certificate that does
    /// not parse (SPEC15 §3.4.3: treat as possible tampering); chain `not_checked`.
    pub fn invalid(reason: &str, now_unix: i64) -> Self {
        Self::empty(SignatureStatus::Invalid, ChainStatus::NotChecked, reason, now_unix)
    }

    /// True only if the signature is valid **and** the card certificate chains to a
    /// pinned Ministry root (notes §6, §5.4). Validity periods are not part of this:
    /// read [`Self::certificate_valid_now`] and [`Self::anchor_valid_now`] for them.
    pub fn is_production_valid(&self) -> bool {
        self.signature == SignatureStatus::Valid
            && self.chain == ChainStatus::Verified
            && self.anchor_profile == Some(AnchorProfile::Production)
    }

    fn set_signature(&mut self, status: SignatureStatus, format: Option<CheckCodeFormat>, reason: Option<String>) {
        self.signature = status;
        self.signature_format = format;
        self.reason = reason;
    }
}

/// The current time as Unix seconds, for the `now_unix` arguments.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Fills the chain part: the anchor whose **key** verifies the card certificate
/// (never chosen by name: notes §5.4 "same-DN trap"). When several do, a
/// production anchor is preferred over a test anchor.
fn evaluate_chain(v: &mut Verification, cert: Option<&CardCertificate>, trust: &TrustStore) {
    let Some(cert) = cert else {
        v.chain = ChainStatus::NoCertificate;
        return;
    };
    let now = v.verified_at_unix;
    v.certificate_subject = Some(cert.subject());
    v.certificate_valid_now = Some(cert.x509().valid_at(now));
    let mut verifying = trust.anchors().iter().filter(|a| cert.x509().is_signed_by(a.key()));
    let first = verifying.next();
    let chosen = match first {
        Some(a) if a.profile() == AnchorProfile::Production => Some(a),
        Some(a) => Some(verifying.find(|b| b.profile() == AnchorProfile::Production).unwrap_or(a)),
        None => None,
    };
    match chosen {
        Some(a) => {
            v.chain = ChainStatus::Verified;
            v.anchor = Some(a.fingerprint_hex());
            v.anchor_profile = Some(a.profile());
            v.anchor_subject = Some(a.subject().to_string());
            v.anchor_valid_now = Some(a.is_valid_at(now));
        }
        None => v.chain = ChainStatus::NoMatchingAnchor,
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
/// `check_code` `None` or empty, or `cert` `None`, gives signature
/// [`SignatureStatus::Absent`] (under-16 cards, SPEC15 §3.3.5), never `invalid`.
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
    let mut v = Verification::not_checked("", now_unix);
    evaluate_chain(&mut v, cert, trust);
    let Some(check_code) = check_code.filter(|c| !c.is_empty()) else {
        v.set_signature(
            SignatureStatus::Absent,
            None,
            Some("no check code (DA) on the card; under-16 cards carry none (SPEC15 §3.3.5)".into()),
        );
        return v;
    };
    let Some(cert) = cert else {
        v.set_signature(
            SignatureStatus::Absent,
            None,
            Some("no card certificate (DB) on the card; under-16 cards carry none (SPEC15 §3.3.5)".into()),
        );
        return v;
    };
    let (status, format, reason) = match gen1_check(front, face, check_code, cert) {
        Ok(format) => (SignatureStatus::Valid, Some(format), None),
        Err((format, reason)) => (SignatureStatus::Invalid, format, Some(reason)),
    };
    v.set_signature(status, format, reason);
    v
}

/// The SHA-256 of Fig. 3-4: front (7000) ‖ face (3000), each zero-padded.
fn gen1_digest(front: &[u8], face: &[u8]) -> Result<[u8; 32], String> {
    if front.len() > GEN1_FRONT_LEN {
        return Err(format!("front image value is {} bytes, more than {GEN1_FRONT_LEN}", front.len()));
    }
    if face.len() > GEN1_FACE_LEN {
        return Err(format!("face image value is {} bytes, more than {GEN1_FACE_LEN}", face.len()));
    }
    let mut h = Sha256::new();
    h.update(front);
    h.update(vec![0u8; GEN1_FRONT_LEN - front.len()]);
    h.update(face);
    h.update(vec![0u8; GEN1_FACE_LEN - face.len()]);
    Ok(h.finalize().into())
}

type CheckFailure = (Option<CheckCodeFormat>, String);

fn gen1_check(
    front: &[u8],
    face: &[u8],
    check_code: &[u8],
    cert: &CardCertificate,
) -> Result<CheckCodeFormat, CheckFailure> {
    let fail = |reason: String| (None, reason);
    let expected = gen1_digest(front, face).map_err(fail)?;
    let key = match cert.key() {
        Ok(PublicKey::Rsa(k)) => k,
        Ok(other) => {
            return Err(fail(format!("card certificate key is {}, not RSA", other.algorithm_name())));
        }
        Err(reason) => return Err(fail(format!("card certificate key unusable: {reason}"))),
    };
    let k = key.size();
    if k != GEN1_CHECK_CODE_LEN {
        return Err(fail(format!("card certificate key is {} bits; SPEC15 §3.4.3 uses RSA-2048", key.n().bit_width())));
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
        Err((Some(format), "hash in the check code does not match the front and face images".into()))
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

/// Second-generation verification (GEN2 §3.4.3.1; second-generation notes §5).
///
/// * Signature: ECDSA over P-384 with the key of the card certificate `DD`, over
///   SHA-256 of `signed_data` (the hash is SHA-256 even though the curve is P-384).
/// * The check code `DC` is accepted as a DER `ECDSA-Sig-Value` covering the whole
///   value ([`CheckCodeFormat::EcdsaDer`]) or, failing that, as exactly 96 bytes
///   `r ‖ s` ([`CheckCodeFormat::EcdsaRaw`]); r = 0 or s = 0 is invalid.
/// * Chain: as in [`verify_gen1`], by key (ecdsa-with-SHA256 under the CA2 key),
///   over the TBSCertificate bytes as stored on the card.
///
/// `signature` `None` or empty, or `cert` `None`, gives [`SignatureStatus::Absent`].
pub fn verify_gen2(
    signed_data: &[u8],
    signature: Option<&[u8]>,
    cert: Option<&CardCertificate>,
    trust: &TrustStore,
    now_unix: i64,
) -> Verification {
    let mut v = Verification::not_checked("", now_unix);
    evaluate_chain(&mut v, cert, trust);
    let Some(signature) = signature.filter(|s| !s.is_empty()) else {
        v.set_signature(SignatureStatus::Absent, None, Some("no check code (DC) on the card".into()));
        return v;
    };
    let Some(cert) = cert else {
        v.set_signature(SignatureStatus::Absent, None, Some("no card certificate (DD) on the card".into()));
        return v;
    };
    let (status, format, reason) = match gen2_check(signed_data, signature, cert) {
        Ok(format) => (SignatureStatus::Valid, Some(format), None),
        Err((format, reason)) => (SignatureStatus::Invalid, format, Some(reason)),
    };
    v.set_signature(status, format, reason);
    v
}

fn gen2_check(signed_data: &[u8], signature: &[u8], cert: &CardCertificate) -> Result<CheckCodeFormat, CheckFailure> {
    let fail = |reason: String| (None, reason);
    let key = match cert.key() {
        Ok(PublicKey::P384(k)) => k,
        Ok(other) => {
            return Err(fail(format!("card certificate key is {}, not EC P-384", other.algorithm_name())));
        }
        Err(reason) => return Err(fail(format!("card certificate key unusable: {reason}"))),
    };
    let (format, sig) = if let Ok(sig) = p384::ecdsa::Signature::from_der(signature) {
        (CheckCodeFormat::EcdsaDer, sig)
    } else if signature.len() == GEN2_RAW_SIGNATURE_LEN {
        let sig = p384::ecdsa::Signature::from_slice(signature)
            .map_err(|_| (Some(CheckCodeFormat::EcdsaRaw), "check code r or s is zero or out of range".to_string()))?;
        (CheckCodeFormat::EcdsaRaw, sig)
    } else {
        return Err(fail(format!(
            "check code is {} bytes and not DER; expected DER or {GEN2_RAW_SIGNATURE_LEN} bytes r ‖ s",
            signature.len()
        )));
    };
    key.verify_prehash(&Sha256::digest(signed_data), &sig)
        .map(|()| format)
        .map_err(|_| (Some(format), "ECDSA signature does not match the signed data".to_string()))
}
