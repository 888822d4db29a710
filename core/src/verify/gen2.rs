//! Second-generation verification (GEN2 §3.4.3.1; `docs/spec-facts.md` §3): ECDSA
//! P-384 check code `DC` over printed entries ‖ face ‖ name image, certificate `DD`.

use p384::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256};

use super::cert::PublicKey;
use super::{
    CardCertificate, CheckCodeFormat, CheckFailure, Reason, TrustStore, Verification, check_signature, exact_objects,
    is_blank, parse_cert, signature_parts,
};
use crate::files::CardType;
use crate::layout::{self, value_len};

/// Length of a raw second-generation check code `DC`: `r ‖ s`, 48 bytes each
/// (second-generation notes §5.1).
pub const GEN2_RAW_SIGNATURE_LEN: usize = value_len::RAW_SIGNATURE;

/// The second-generation files the signature covers, exactly as the chip returned
/// them (a DF3 answered `6A 82` as empty).
#[derive(Debug, Clone, Copy)]
pub struct Gen2SignedFiles<'a> {
    /// The card type (05 and 06 differ in their printed entries).
    pub card_type: CardType,
    /// DF1/EF02: the printed entries.
    pub printed: &'a [u8],
    /// DF1/EF03: `D0` name image, `D1` face.
    pub images: &'a [u8],
    /// DF3/EF01: `DC` check code, `DD` certificate.
    pub signature: &'a [u8],
}

/// GEN2 §3.4.3.1: verifies the ECDSA signature `DC` over printed entries ‖ face ‖
/// name image, and the chain of the `DD` certificate, from the files as read.
///
/// * The signed data is the printed entries' *values* without their tags, so the
///   file must be exactly the card type's entries, each tag once, in order, at its
///   fixed width, then zero fill: otherwise a forger could swap two tags of equal
///   width and keep the signed bytes ([`Reason::PrintedEntriesLayout`]). DF1/EF03
///   must be exactly `D0` 2500 then `D1` 3000 ([`Reason::ImageLayout`]).
/// * `absent` only for an under-16 card: a face of all zero **and** DF3 all zero (or
///   `DC 00` / `DC 00 DD 00` then zeros, by analogy with SPEC15 §3.3.5; the second
///   generation's under-16 layout is not public, `docs/spec-facts.md` §9).
pub fn verify_second_generation(files: &Gen2SignedFiles<'_>, trust: &TrustStore, now_unix: i64) -> Verification {
    use layout::gen2::{DF1_EF02, DF1_EF03, DF3_EF01};
    let images = match exact_objects(
        DF1_EF03.name,
        files.images,
        &[(0xD0, value_len::NAME_IMAGE), (0xD1, value_len::FACE_IMAGE)],
    ) {
        Ok(v) => v,
        Err(reason) => return Verification::invalid(Reason::ImageLayout, &reason, now_unix),
    };
    let (name, face) = (images[0], images[1]);
    let (check_code, certificate) = match signature_parts(
        DF3_EF01.name,
        files.signature,
        (0xDC, 104),
        (0xDD, value_len::GEN2_CERTIFICATE_MAX),
        is_blank(face),
        now_unix,
    ) {
        Ok(parts) => parts,
        Err(v) => return v,
    };
    let entries = &layout::gen2::PRINTED_ENTRIES;
    let expected = if files.card_type.is_special_permanent() {
        &entries[..layout::gen2::PRINTED_ENTRIES_SPRC]
    } else {
        &entries[..]
    };
    let printed = match exact_objects(DF1_EF02.name, files.printed, expected) {
        Ok(values) => values.concat(),
        Err(reason) => return Verification::invalid(Reason::PrintedEntriesLayout, &reason, now_unix),
    };
    let cert = match parse_cert("DF3/EF01 DD", Some(certificate), now_unix) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let data = signed_data(&printed, face, name);
    verify_gen2(&data, Some(check_code), cert.as_ref(), trust, now_unix)
}

/// Second-generation verification (GEN2 §3.4.3.1; second-generation notes §5).
///
/// * Signature: ECDSA over P-384 with the key of the card certificate `DD`, over
///   SHA-256 of `signed_data` (the hash is SHA-256 even though the curve is P-384).
/// * The check code `DC` is accepted as a DER `ECDSA-Sig-Value` covering the whole
///   value ([`CheckCodeFormat::EcdsaDer`]) or, failing that, as exactly 96 bytes
///   `r ‖ s` ([`CheckCodeFormat::EcdsaRaw`]); r = 0 or s = 0 is invalid.
/// * Chain: as in [`super::verify_gen1`], by key (ecdsa-with-SHA256 under the CA2 key),
///   over the TBSCertificate bytes as stored on the card.
///
/// `signature` `None` or empty, or `cert` `None`, gives `invalid`
/// ([`Reason::SignatureMissing`]); [`verify_second_generation`] decides absence.
pub fn verify_gen2(
    signed_data: &[u8],
    signature: Option<&[u8]>,
    cert: Option<&CardCertificate>,
    trust: &TrustStore,
    now_unix: i64,
) -> Verification {
    check_signature(signature, cert, trust, now_unix, ("DC", "DD"), |cc, cert| gen2_check(signed_data, cc, cert))
}

fn gen2_check(signed_data: &[u8], signature: &[u8], cert: &CardCertificate) -> Result<CheckCodeFormat, CheckFailure> {
    let fail = |reason: String| (None, Reason::CheckCodeMalformed, reason);
    let key_fail = |reason: String| (None, Reason::CertificateKey, reason);
    let key = match cert.key() {
        Ok(PublicKey::P384(k)) => k,
        Ok(other) => {
            return Err(key_fail(format!("card certificate key is {}, not EC P-384", other.algorithm_name())));
        }
        Err(reason) => return Err(key_fail(format!("card certificate key unusable: {reason}"))),
    };
    let (format, sig) = if let Ok(sig) = p384::ecdsa::Signature::from_der(signature) {
        (CheckCodeFormat::EcdsaDer, sig)
    } else if signature.len() == GEN2_RAW_SIGNATURE_LEN {
        let sig = p384::ecdsa::Signature::from_slice(signature).map_err(|_| {
            (
                Some(CheckCodeFormat::EcdsaRaw),
                Reason::CheckCodeMalformed,
                "check code r or s is zero or out of range".to_string(),
            )
        })?;
        (CheckCodeFormat::EcdsaRaw, sig)
    } else {
        return Err(fail(format!(
            "check code is {} bytes and not DER; expected DER or {GEN2_RAW_SIGNATURE_LEN} bytes r ‖ s",
            signature.len()
        )));
    };
    key.verify_prehash(&Sha256::digest(signed_data), &sig).map(|()| format).map_err(|_| {
        (Some(format), Reason::SignatureMismatch, "ECDSA signature does not match the signed data".to_string())
    })
}

/// The data covered by the second-generation signature (notes §4.5): the printed
/// entries' values (type 06: 34 bytes, zero-padded to 53) ‖ the face value (3000) ‖
/// the name-image value (2500) — face before name, although the file stores the
/// name first. Values shorter than their field are zero-padded.
pub fn signed_data(printed: &[u8], face: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value_len::PRINTED_SIGNED + value_len::FACE_IMAGE + value_len::NAME_IMAGE);
    for (part, field) in
        [(printed, value_len::PRINTED_SIGNED), (face, value_len::FACE_IMAGE), (name, value_len::NAME_IMAGE)]
    {
        out.extend_from_slice(part);
        out.resize(out.len() + field.saturating_sub(part.len()), 0);
    }
    out
}
