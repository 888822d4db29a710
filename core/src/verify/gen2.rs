//! Second-generation verification (GEN2 §3.4.3.1; `docs/spec-facts.md` §3): ECDSA
//! P-384 check code `DC` over printed entries ‖ face ‖ name image, certificate `DD`.

use p384::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256};

use super::cert::PublicKey;
use super::{
    CardCertificate, CheckCodeFormat, CheckFailure, SignatureStatus, TrustStore, Verification, evaluate_chain,
    parse_cert,
};
use crate::files::Image;
use crate::files::gen2::{PrintedEntries, SignatureFile2};
use crate::layout::value_len;

/// Length of a raw second-generation check code `DC`: `r ‖ s`, 48 bytes each
/// (second-generation notes §5.1).
pub const GEN2_RAW_SIGNATURE_LEN: usize = value_len::RAW_SIGNATURE;

/// GEN2 §3.4.3.1: verifies the ECDSA signature `DC` over printed entries ‖ face ‖
/// name image, and the chain of the `DD` certificate.
pub fn verify_second_generation(
    printed: &PrintedEntries,
    face: &Image,
    name: &Image,
    sig: &SignatureFile2,
    trust: &TrustStore,
    now_unix: i64,
) -> Verification {
    let cert = match parse_cert("DF3/EF01 DD", sig.certificate.as_deref(), now_unix) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let Some(printed_53) = printed.signed_part.as_deref() else {
        return Verification::invalid("printed entries exceed the 53 bytes the signature covers", now_unix);
    };
    let data = signed_data(printed_53, face, name);
    verify_gen2(&data, sig.signature.as_deref(), cert.as_ref(), trust, now_unix)
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

/// The data covered by the second-generation signature (notes §4.5): the printed
/// entries' values (53 bytes) ‖ the face value (3000) ‖ the name-image value (2500) —
/// face before name, although the file stores the name first. Values shorter than
/// their field are zero-padded.
pub fn signed_data(printed_53: &[u8], face: &Image, name: &Image) -> Vec<u8> {
    let mut out = Vec::with_capacity(value_len::PRINTED_SIGNED + value_len::FACE_IMAGE + value_len::NAME_IMAGE);
    out.extend_from_slice(printed_53);
    let mut f = face.value.clone();
    f.resize(f.len().max(value_len::FACE_IMAGE), 0);
    out.extend_from_slice(&f);
    let mut n = name.value.clone();
    n.resize(n.len().max(value_len::NAME_IMAGE), 0);
    out.extend_from_slice(&n);
    out
}
