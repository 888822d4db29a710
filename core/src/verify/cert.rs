//! X.509 handling shared by the card certificate and the trust anchors.
//!
//! * The card certificate is DF3/EF01 `DB` on first-generation cards (SPEC15
//!   §3.3.4.9; RSA-2048, at most 1200 bytes) and `DD` on second-generation cards
//!   (GEN2 §3.4.3; EC P-384, 598 or 599 bytes, at most 602).
//! * Genuine cards carry the certificate followed by `00` fill up to the field
//!   size, and some have been reported with non-strict encodings, for example
//!   explicit `NULL` parameters in an ECDSA AlgorithmIdentifier (second-generation
//!   notes §5.2). The outer `SEQUENCE` length therefore decides where the
//!   certificate ends, and signatures are checked over the TBSCertificate bytes
//!   exactly as stored, never over a re-encoded copy.

use core::ops::Range;

use der::Decode;
use p384::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::spki::{ObjectIdentifier, SubjectPublicKeyInfoOwned};

use crate::error::{ParseError, ParseProblem};

/// `rsaEncryption` (RFC 8017 Appendix C).
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `sha256WithRSAEncryption` (RFC 8017 Appendix C): the first-generation CA's
/// certificate signature (first-generation notes §6).
const OID_SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// `id-ecPublicKey` (RFC 5480 §2.1.1).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp384r1` (RFC 5480 §2.1.1.1): the second-generation curve (GEN2 §3.4.3).
const OID_SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `ecdsa-with-SHA256` (RFC 5758 §3.2): the CA2 certificate signature
/// (second-generation notes §5.2).
const OID_ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// A public key of one of the two kinds the card PKI uses.
#[derive(Clone)]
pub(crate) enum PublicKey {
    /// RSA (first generation: card signer and `ZairyuCard CA`, RSA-2048).
    Rsa(rsa::PublicKey),
    /// ECDSA over P-384 (second generation: card signer and `ZairyuCard CA2`).
    P384(p384::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// Extracts the key from a SubjectPublicKeyInfo. Only RSA and EC P-384 keys
    /// are supported; the error is a short reason without key material.
    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, String> {
        let oid = spki.algorithm.oid;
        let bits =
            spki.subject_public_key.as_bytes().ok_or_else(|| "public key BIT STRING has unused bits".to_string())?;
        if oid == OID_RSA_ENCRYPTION {
            rsa::PublicKey::from_pkcs1_der(bits).map(PublicKey::Rsa).map_err(|e| format!("bad RSA public key: {e}"))
        } else if oid == OID_EC_PUBLIC_KEY {
            let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            if curve != Some(OID_SECP384R1) {
                return Err("EC public key is not on curve P-384 (secp384r1)".to_string());
            }
            p384::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                .map(PublicKey::P384)
                .map_err(|_| "bad P-384 public key point".to_string())
        } else {
            Err(format!("unsupported public key algorithm {oid}"))
        }
    }

    /// A short name for reports: `"rsa-2048"`, `"ecdsa-p384"`.
    pub(crate) fn algorithm_name(&self) -> String {
        match self {
            PublicKey::Rsa(k) => format!("rsa-{}", k.n().bit_width()),
            PublicKey::P384(_) => "ecdsa-p384".to_string(),
        }
    }
}

/// A decoded certificate with its exact encoding.
#[derive(Clone)]
pub(crate) struct X509 {
    der: Vec<u8>,
    cert: Certificate,
    /// Where the TBSCertificate lies inside `der`.
    tbs: Range<usize>,
}

/// How deep a certificate's structure may nest (real ones reach about 8).
const MAX_DEPTH: usize = 24;

/// Appends a DER (minimal) length.
fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Walks one BER element at `pos` of `data` and appends its DER re-encoding to
/// `out`; returns the offset just after it. Tolerated, as the notes require of card
/// certificates (first-generation notes §6, second-generation notes §5.2):
/// non-minimal definite lengths (up to four length bytes), the indefinite length
/// (`80` … `00 00`) on constructed elements, and BOOLEAN values other than `FF`
/// (re-encoded as `FF`). Anything else that is not DER is left for the DER decoder
/// to refuse. Never panics; nesting is bounded.
fn ber_to_der(data: &[u8], pos: usize, depth: usize, out: &mut Vec<u8>) -> Result<usize, (usize, ParseProblem)> {
    if depth > MAX_DEPTH {
        return Err((pos, ParseProblem::BadFormat("certificate nested too deeply")));
    }
    let first = *data.get(pos).ok_or((pos, ParseProblem::Truncated))?;
    let mut p = pos + 1;
    if first & 0x1F == 0x1F {
        // High tag number: base-128 bytes, the last without bit 8.
        loop {
            let b = *data.get(p).ok_or((p, ParseProblem::Truncated))?;
            p += 1;
            if b & 0x80 == 0 {
                break;
            }
            if p - pos > 5 {
                return Err((pos, ParseProblem::BadFormat("tag number too long")));
            }
        }
    }
    let tag = &data[pos..p];
    let constructed = first & 0x20 != 0;
    let length_byte = *data.get(p).ok_or((p, ParseProblem::Truncated))?;
    p += 1;
    let mut content = Vec::new();
    let end = if length_byte == 0x80 {
        if !constructed {
            return Err((p - 1, ParseProblem::BadLengthForm(0x80)));
        }
        let mut q = p;
        loop {
            match data.get(q..q + 2) {
                Some([0, 0]) => break q + 2,
                Some(_) => q = ber_to_der(data, q, depth + 1, &mut content)?,
                None => return Err((q, ParseProblem::Truncated)),
            }
        }
    } else {
        let len = match length_byte {
            0x00..=0x7F => usize::from(length_byte),
            0x81..=0x84 => {
                let n = usize::from(length_byte & 0x7F);
                let bytes = data.get(p..p + n).ok_or((p, ParseProblem::Truncated))?;
                p += n;
                bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
            }
            other => return Err((p - 1, ParseProblem::BadLengthForm(other))),
        };
        let end = p.checked_add(len).filter(|&e| e <= data.len()).ok_or((p, ParseProblem::Truncated))?;
        if constructed {
            let mut q = p;
            while q < end {
                q = ber_to_der(&data[..end], q, depth + 1, &mut content)?;
            }
        } else if first == 0x01 && len == 1 {
            // BER BOOLEAN: any non-zero octet is TRUE; DER writes FF.
            content.push(if data[p] == 0 { 0x00 } else { 0xFF });
        } else {
            content.extend_from_slice(&data[p..end]);
        }
        end
    };
    out.extend_from_slice(tag);
    der_length(content.len(), out);
    out.extend_from_slice(&content);
    Ok(end)
}

/// The offset just after the BER element at `pos`.
fn ber_end(data: &[u8], pos: usize) -> Result<usize, (usize, ParseProblem)> {
    ber_to_der(data, pos, 0, &mut Vec::new())
}

impl X509 {
    /// Decodes exactly one certificate that fills `stored` completely, in DER or in
    /// the BER forms [`ber_to_der`] tolerates. The typed certificate is decoded from
    /// the DER re-encoding; signatures are checked over the TBSCertificate bytes
    /// exactly as stored.
    pub(crate) fn from_exact_der(stored: &[u8]) -> Result<Self, (usize, ParseProblem)> {
        let first = *stored.first().ok_or((0, ParseProblem::Truncated))?;
        if first != 0x30 {
            return Err((0, ParseProblem::UnexpectedTag { expected: 0x30, found: u16::from(first) }));
        }
        let mut der = Vec::with_capacity(stored.len());
        let total = ber_to_der(stored, 0, 0, &mut der)?;
        if total < stored.len() {
            return Err((total, ParseProblem::TrailingGarbage));
        }
        // The TBSCertificate is the outer SEQUENCE's first element.
        let tbs_start = match stored.get(1) {
            // Short form, or the indefinite form `80`.
            Some(&l) if l <= 0x80 => 2,
            Some(&l) => 2 + usize::from(l & 0x7F),
            None => return Err((1, ParseProblem::Truncated)),
        };
        if stored.get(tbs_start) != Some(&0x30) {
            let found = stored.get(tbs_start).copied().unwrap_or(0);
            return Err((tbs_start, ParseProblem::UnexpectedTag { expected: 0x30, found: u16::from(found) }));
        }
        let tbs_end = ber_end(stored, tbs_start)?;
        let cert = Certificate::from_der(&der).map_err(|e| {
            let offset = e.position().map_or(0, |p| u32::from(p) as usize);
            (offset, ParseProblem::Certificate(e.to_string()))
        })?;
        Ok(X509 { der: stored.to_vec(), cert, tbs: tbs_start..tbs_end })
    }

    /// The certificate bytes exactly as decoded.
    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }

    /// Subject in RFC 4514 form (most significant RDN last, as RFC 4514 prints it).
    pub(crate) fn subject(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    /// Issuer in RFC 4514 form.
    pub(crate) fn issuer(&self) -> String {
        self.cert.tbs_certificate().issuer().to_string()
    }

    pub(crate) fn not_before_unix(&self) -> i64 {
        unix(&self.cert.tbs_certificate().validity().not_before)
    }

    pub(crate) fn not_after_unix(&self) -> i64 {
        unix(&self.cert.tbs_certificate().validity().not_after)
    }

    /// `notBefore <= now <= notAfter` (RFC 5280 §4.1.2.5: both bounds inclusive).
    pub(crate) fn valid_at(&self, now_unix: i64) -> bool {
        self.not_before_unix() <= now_unix && now_unix <= self.not_after_unix()
    }

    pub(crate) fn public_key(&self) -> Result<PublicKey, String> {
        PublicKey::from_spki(self.cert.tbs_certificate().subject_public_key_info())
    }

    /// True if `key` verifies this certificate's signature over the stored
    /// TBSCertificate bytes. Supported: sha256WithRSAEncryption with an RSA key
    /// (first generation) and ecdsa-with-SHA256 with a P-384 key (second
    /// generation). AlgorithmIdentifier parameters are not looked at, so explicit
    /// `NULL` parameters are accepted (second-generation notes §5.2).
    pub(crate) fn is_signed_by(&self, key: &PublicKey) -> bool {
        let alg = self.cert.signature_algorithm().oid;
        if self.cert.tbs_certificate().signature().oid != alg {
            return false;
        }
        let Some(sig) = self.cert.signature().as_bytes() else {
            return false;
        };
        let tbs = &self.der[self.tbs.clone()];
        match key {
            PublicKey::Rsa(k) if alg == OID_SHA256_WITH_RSA => {
                let Ok(sig) = rsa::pkcs1v15::Signature::try_from(sig) else {
                    return false;
                };
                rsa::pkcs1v15::VerifyingKey::<Sha256>::new(k.clone()).verify(tbs, &sig).is_ok()
            }
            PublicKey::P384(k) if alg == OID_ECDSA_WITH_SHA256 => {
                let Ok(sig) = p384::ecdsa::Signature::from_der(sig) else {
                    return false;
                };
                k.verify_prehash(&Sha256::digest(tbs), &sig).is_ok()
            }
            _ => false,
        }
    }
}

fn unix(t: &x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// The card certificate: DF3/EF01 `DB` (first generation, SPEC15 §3.3.4.9,
/// RSA-2048) or `DD` (second generation, GEN2 §3.4.3, EC P-384).
///
/// Parsed leniently (first-generation notes §6, second-generation notes §5.2): the
/// outer `SEQUENCE` length decides where the certificate ends, everything after it
/// must be `00` fill, and the signature is later verified over the TBSCertificate
/// bytes as stored.
#[derive(Clone)]
pub struct CardCertificate {
    x509: X509,
    key: Result<PublicKey, String>,
}

impl core::fmt::Debug for CardCertificate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CardCertificate")
            .field("subject", &self.subject())
            .field("issuer", &self.issuer())
            .field("len", &self.x509.der().len())
            .finish_non_exhaustive()
    }
}

impl CardCertificate {
    /// Parses the value of `DB` / `DD` (SPEC15 §3.3.4.9; GEN2 §3.4.3).
    ///
    /// The outer `SEQUENCE` (definite length in any form, or indefinite) decides
    /// where the certificate ends; BER inside it is tolerated as the certificate decoder describes
    /// (non-minimal and indefinite lengths, BER booleans); the rest of the value must be `00` fill
    /// (a non-zero byte there is [`ParseProblem::TrailingGarbage`] at its offset).
    /// The certificate itself is then decoded with `x509-cert`; a failure there is
    /// [`ParseProblem::Certificate`]. A value cut short is
    /// [`ParseProblem::Truncated`]. Never panics.
    ///
    /// A key other than RSA or EC P-384 does not fail the parse; verification
    /// reports it instead.
    pub fn parse(file: &'static str, value: &[u8]) -> Result<Self, ParseError> {
        let err = |(offset, what): (usize, ParseProblem)| ParseError { file, offset, what };
        if value.first() != Some(&0x30) {
            let found = value.first().copied().unwrap_or(0);
            return Err(err((0, ParseProblem::UnexpectedTag { expected: 0x30, found: u16::from(found) })));
        }
        let total = ber_end(value, 0).map_err(err)?;
        if let Some(pos) = value[total..].iter().position(|&b| b != 0) {
            return Err(err((total + pos, ParseProblem::TrailingGarbage)));
        }
        let x509 = X509::from_exact_der(&value[..total]).map_err(err)?;
        let key = x509.public_key();
        Ok(CardCertificate { x509, key })
    }

    /// The certificate as stored (DER, or the tolerated BER), without the `00` fill.
    pub fn der(&self) -> &[u8] {
        self.x509.der()
    }

    /// Subject distinguished name in RFC 4514 form (SPEC15 §3.3.4.9).
    pub fn subject(&self) -> String {
        self.x509.subject()
    }

    /// Issuer distinguished name in RFC 4514 form: for genuine cards the
    /// Ministry's `ZairyuCard CA` / `ZairyuCard CA2` (first-generation notes §6,
    /// second-generation notes §5.2). Informational only: the chain is found by
    /// signature, never by name.
    pub fn issuer(&self) -> String {
        self.x509.issuer()
    }

    /// `notBefore` as Unix seconds (RFC 5280 §4.1.2.5).
    pub fn not_before_unix(&self) -> i64 {
        self.x509.not_before_unix()
    }

    /// `notAfter` as Unix seconds (RFC 5280 §4.1.2.5).
    pub fn not_after_unix(&self) -> i64 {
        self.x509.not_after_unix()
    }

    /// SHA-256 of [`Self::der`], lowercase hex without colons.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(Sha256::digest(self.der()))
    }

    pub(crate) fn x509(&self) -> &X509 {
        &self.x509
    }

    pub(crate) fn key(&self) -> Result<&PublicKey, &str> {
        self.key.as_ref().map_err(String::as_str)
    }
}
