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
mod gen1;
mod gen2;
mod trust;

#[cfg(test)]
mod tests;

pub use cert::CardCertificate;
pub use gen1::{
    GEN1_CHECK_CODE_LEN, GEN1_FACE_LEN, GEN1_FRONT_LEN, Gen1SignedFiles, verify_first_generation, verify_gen1,
};
pub use gen2::{
    GEN2_RAW_SIGNATURE_LEN, Gen2SignedFiles, signed_data as gen2_signed_data, verify_gen2, verify_second_generation,
};
#[cfg(feature = "test-production-root")]
pub use trust::TEST_BUILD_PINNED_ROOTS;
pub use trust::{
    AnchorProfile, KNOWN_MOJ_TEST_CA2, PINNED_GEN1_ROOTS, PINNED_GEN2_ROOTS, TrustAnchor, TrustStore,
    is_pinned_production_root, split_certificates,
};

/// A failed check: the check-code format if it was identified, the reason code and
/// the reason in words.
pub(crate) type CheckFailure = (Option<CheckCodeFormat>, Reason, String);

/// Why a signature is not `valid`: a stable code beside the English reason, so that
/// registry systems and tests act on the code, never on the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// `absent`: no face photo and one of the documented under-16 fillers in DF3
    /// (SPEC15 §3.3.5).
    Under16,
    /// `not_checked`: the read policy `text_only` did not read the signed files.
    PolicyTextOnly,
    /// `invalid`: DF3 holds no signature, or only part of one (check code without
    /// certificate or the reverse), although the card is not an under-16 card.
    SignatureMissing,
    /// `invalid`: DF3 is not exactly the check code then the certificate.
    SignatureFileLayout,
    /// `invalid`: second-generation DF1/EF02 is not exactly the printed entries of the
    /// card type, each tag once, in order, at its fixed width.
    PrintedEntriesLayout,
    /// `invalid`: an image file covered by the signature is not exactly its one object
    /// (or, second generation, `D0` then `D1`) at its fixed width.
    ImageLayout,
    /// `invalid`: the card certificate cannot be parsed.
    CertificateMalformed,
    /// `invalid`: the card certificate's key is of the wrong kind or size.
    CertificateKey,
    /// `invalid`: the check code has the wrong length or encoding.
    CheckCodeMalformed,
    /// `invalid`: the check code does not match the signed data.
    SignatureMismatch,
}

impl Reason {
    /// The stable name, as in the JSON report's `verification.reason_code`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Under16 => "under_16",
            Reason::PolicyTextOnly => "policy_text_only",
            Reason::SignatureMissing => "signature_missing",
            Reason::SignatureFileLayout => "signature_file_layout",
            Reason::PrintedEntriesLayout => "printed_entries_layout",
            Reason::ImageLayout => "image_layout",
            Reason::CertificateMalformed => "certificate_malformed",
            Reason::CertificateKey => "certificate_key",
            Reason::CheckCodeMalformed => "check_code_malformed",
            Reason::SignatureMismatch => "signature_mismatch",
        }
    }
}

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

/// What a verification means for the clerk, from [`Verification::verdict`].
/// Deliberately not `non_exhaustive`: the bindings match it exhaustively, so a new
/// verdict fails to compile there until C and Python have a value for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Signature valid and the card certificate chains to a pinned Ministry root:
    /// genuine under the Ministry's PKI.
    Production,
    /// Signature valid and chained to a caller-supplied test anchor: not genuine.
    Test,
    /// Signature valid, but no trust anchor's key signed the card certificate.
    Untrusted,
    /// Signature invalid: possible forgery or alteration.
    Invalid,
    /// No signature on the card.
    Absent,
    /// The signature was not checked (read policy `text_only`).
    NotChecked,
}

impl Verdict {
    /// The stable name, as in the JSON report.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::Production => "production",
            Verdict::Test => "test",
            Verdict::Untrusted => "untrusted",
            Verdict::Invalid => "invalid",
            Verdict::Absent => "absent",
            Verdict::NotChecked => "not_checked",
        }
    }
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
    /// The same as a stable code.
    pub reason_code: Option<Reason>,
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
    fn empty(
        signature: SignatureStatus,
        chain: ChainStatus,
        code: Option<Reason>,
        reason: &str,
        now_unix: i64,
    ) -> Self {
        Verification {
            signature,
            signature_format: None,
            reason: (!reason.is_empty()).then(|| reason.to_string()),
            reason_code: code,
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

    /// The state before any check has run.
    pub(crate) fn pending(now_unix: i64) -> Self {
        Self::empty(SignatureStatus::NotChecked, ChainStatus::NotChecked, None, "", now_unix)
    }

    /// Nothing checked (SPEC15 §3.4.3 not run): signature and chain `not_checked`.
    pub fn not_checked(code: Reason, reason: &str, now_unix: i64) -> Self {
        Self::empty(SignatureStatus::NotChecked, ChainStatus::NotChecked, Some(code), reason, now_unix)
    }

    /// No check code and no certificate on the card, in one of the documented
    /// under-16 layouts (SPEC15 §3.3.5): signature `absent`, chain `no_certificate`.
    pub fn absent(code: Reason, reason: &str, now_unix: i64) -> Self {
        Self::empty(SignatureStatus::Absent, ChainStatus::NoCertificate, Some(code), reason, now_unix)
    }

    /// Signature `invalid` before any check could run, e.g. a certificate that does
    /// not parse (SPEC15 §3.4.3: treat as possible tampering); chain `not_checked`.
    pub fn invalid(code: Reason, reason: &str, now_unix: i64) -> Self {
        Self::empty(SignatureStatus::Invalid, ChainStatus::NotChecked, Some(code), reason, now_unix)
    }

    /// The verdict: the one function that the CLI's exit codes, the C verdict
    /// getter, Python's `ok` and the `watch` loop all derive "genuine" from.
    pub fn verdict(&self) -> Verdict {
        match (self.signature, self.chain, self.anchor_profile) {
            (SignatureStatus::Valid, ChainStatus::Verified, Some(AnchorProfile::Production)) => Verdict::Production,
            (SignatureStatus::Valid, ChainStatus::Verified, _) => Verdict::Test,
            (SignatureStatus::Valid, _, _) => Verdict::Untrusted,
            (SignatureStatus::Invalid, _, _) => Verdict::Invalid,
            (SignatureStatus::Absent, _, _) => Verdict::Absent,
            (SignatureStatus::NotChecked, _, _) => Verdict::NotChecked,
        }
    }

    /// True only if the signature is valid **and** the card certificate chains to a
    /// pinned Ministry root (notes §6, §5.4): [`Verdict::Production`]. Validity
    /// periods are not part of this: read [`Self::certificate_valid_now`] and
    /// [`Self::anchor_valid_now`] for them.
    pub fn is_production_valid(&self) -> bool {
        self.verdict() == Verdict::Production
    }

    /// Sets the signature result: valid, or invalid with its reason.
    pub(crate) fn set_signature(&mut self, result: Result<CheckCodeFormat, CheckFailure>) {
        match result {
            Ok(format) => {
                self.signature = SignatureStatus::Valid;
                self.signature_format = Some(format);
                self.reason = None;
                self.reason_code = None;
            }
            Err((format, code, reason)) => {
                self.signature = SignatureStatus::Invalid;
                self.signature_format = format;
                self.reason = Some(reason);
                self.reason_code = Some(code);
            }
        }
    }
}

/// What the signature of a card type covers, by the names of the JSON report
/// (keys of `fields` and `images`, and the top-level `card_type` and
/// `card_number`). Everything in `unsigned` is protected by nothing but the chip's
/// access control: a chip emulator can show any value there under a valid signature.
///
/// | generation | signed (SPEC15 §3.4.3; GEN2 §3.4.3.1) | not signed |
/// |---|---|---|
/// | 1 | the front image (which shows the name and the printed face of the card) and the face photo | card type, card number, spec version, the address and its date and municipality code (DF2), permissions and renewal (DF2) |
/// | 2 | the printed entries (DF1/EF02), the face photo and the name image | card type, card number, spec version, the address image, DF2 (permissions, renewal, note) |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// Covered by the signature.
    pub signed: Vec<&'static str>,
    /// Not covered by any signature.
    pub unsigned: Vec<&'static str>,
}

/// The printed entries' report names, in the order of [`crate::layout::gen2::PRINTED_ENTRIES`].
const GEN2_PRINTED_NAMES: [&str; 10] = [
    "card_expiry",
    "birth_date",
    "sex",
    "nationality",
    "status_of_residence",
    "period_of_stay",
    "permission_type",
    "permission_date",
    "work_restriction",
    "stay_expiry",
];

/// The [`Coverage`] of a card type (empty for the specified cards "07"/"08").
pub fn coverage(card_type: crate::files::CardType) -> Coverage {
    use crate::files::CardType::*;
    let mut unsigned = vec!["card_type", "card_number", "spec_version"];
    let residence = card_type.has_permission_files();
    let signed = match card_type {
        ResidenceCard | SpecialPermanentResident => {
            unsigned.extend(["address_written_on", "municipality_code", "address"]);
            if residence {
                unsigned.extend(["comprehensive_permission", "individual_permission", "renewal_application"]);
            }
            vec!["front", "face"]
        }
        Gen2ResidenceCard | Gen2SpecialPermanentResident => {
            unsigned.push("address");
            if residence {
                unsigned.extend([
                    "comprehensive_permission",
                    "comprehensive_permission_deadline",
                    "individual_permission",
                    "renewal_application_pending",
                ]);
            }
            unsigned.extend(["note_recorded", "note_text"]);
            let printed = if residence { GEN2_PRINTED_NAMES.len() } else { crate::layout::gen2::PRINTED_ENTRIES_SPRC };
            GEN2_PRINTED_NAMES[..printed].iter().copied().chain(["face", "name"]).collect()
        }
        SpecifiedResidenceCard | SpecifiedSpecialPermanentResident => {
            return Coverage { signed: vec![], unsigned: vec![] };
        }
    };
    Coverage { signed, unsigned }
}

/// What the signature binds on this card, as far as the verification establishes
/// it: the [`coverage`] of the card type when the signature is valid **and** its
/// certificate chains to a trust anchor (verdict `production` or `test`); otherwise
/// nothing is bound and every name is unsigned (a forger can sign anything with a
/// key of their own, and an invalid signature binds nothing).
pub fn bound_fields(card_type: crate::files::CardType, v: &Verification) -> Coverage {
    let c = coverage(card_type);
    if matches!(v.verdict(), Verdict::Production | Verdict::Test) {
        c
    } else {
        Coverage { signed: Vec::new(), unsigned: c.signed.into_iter().chain(c.unsigned).collect() }
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
pub(crate) fn evaluate_chain(v: &mut Verification, cert: Option<&CardCertificate>, trust: &TrustStore) {
    let Some(cert) = cert else {
        v.chain = ChainStatus::NoCertificate;
        return;
    };
    let now = v.verified_at_unix;
    v.certificate_subject = Some(cert.subject());
    v.certificate_valid_now = Some(cert.x509().valid_at(now));
    let mut verifying = trust.anchors().iter().filter(|a| trust.signed_by(cert.x509(), a));
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

/// The chain of `cert`, then `check(check_code, cert)` when both are there: the
/// frame of both generations' checks. `tags` name the check code and certificate
/// (`DA`/`DB`, `DC`/`DD`) in the reason when one is missing.
pub(crate) fn check_signature(
    check_code: Option<&[u8]>,
    cert: Option<&CardCertificate>,
    trust: &TrustStore,
    now_unix: i64,
    tags: (&str, &str),
    check: impl FnOnce(&[u8], &CardCertificate) -> Result<CheckCodeFormat, CheckFailure>,
) -> Verification {
    let mut v = Verification::pending(now_unix);
    evaluate_chain(&mut v, cert, trust);
    let missing = |what: String| Err((None, Reason::SignatureMissing, what));
    v.set_signature(match (check_code.filter(|c| !c.is_empty()), cert) {
        (Some(check_code), Some(cert)) => check(check_code, cert),
        (None, _) => missing(format!("no check code ({})", tags.0)),
        (_, None) => missing(format!("no card certificate ({})", tags.1)),
    });
    v
}

/// Parses the certificate value; an unparseable certificate makes the signature
/// invalid (the data was read completely: a forgery indicator, not a read failure).
pub(crate) fn parse_cert(
    file: &'static str,
    value: Option<&[u8]>,
    now: i64,
) -> core::result::Result<Option<CardCertificate>, Verification> {
    match value.map(|v| CardCertificate::parse(file, v)) {
        None => Ok(None),
        Some(Ok(c)) => Ok(Some(c)),
        Some(Err(e)) => {
            Err(Verification::invalid(Reason::CertificateMalformed, &format!("certificate cannot be parsed: {e}"), now))
        }
    }
}

/// Whether a file holds nothing: empty (answered `6A 82`) or all zero.
pub(crate) fn is_blank(data: &[u8]) -> bool {
    data.iter().all(|&b| b == 0)
}

/// Whether an image file holds no image: nothing at all, or its one object `tag`
/// with an empty or all-zero value (the under-16 face of SPEC15 §3.3.5, whose
/// encoding the spec leaves open: every such form is accepted).
pub(crate) fn image_blank(file: &'static str, data: &[u8], tag: u16) -> bool {
    is_blank(data)
        || crate::tlv::parse_all(file, data).is_ok_and(|o| matches!(&o[..], [t] if t.tag == tag && is_blank(t.value)))
}

/// The values of a signed file that must hold exactly these objects: each tag once,
/// in this order, each value exactly its width, then only zero fill. Anything else
/// is refused, so that no byte the signature covers can be read under another label.
pub(crate) fn exact_objects<'a>(
    file: &'static str,
    data: &'a [u8],
    expected: &[(u16, usize)],
) -> Result<Vec<&'a [u8]>, String> {
    let objs = crate::tlv::parse_all(file, data).map_err(|e| e.to_string())?;
    let exact = objs.len() == expected.len()
        && objs.iter().zip(expected).all(|(t, &(tag, len))| t.tag == tag && t.value.len() == len);
    if !exact {
        // The reason is built only for a file that fails, not on every read.
        let found: Vec<String> = objs.iter().map(|t| format!("{:02X}({})", t.tag, t.value.len())).collect();
        let wanted: Vec<String> = expected.iter().map(|(t, n)| format!("{t:02X}({n})")).collect();
        return Err(format!("{file} holds {}; the signed layout is exactly {}", found.join(" "), wanted.join(" ")));
    }
    Ok(objs.iter().map(|t| t.value).collect())
}

/// DF3/EF01 of either generation, as the verifier sees it.
pub(crate) enum SignatureObjects<'a> {
    /// One of the under-16 fillers: all zero, `CC 00` or `CC 00 CT 00` then zeros
    /// (`CC` the check-code tag, `CT` the certificate tag).
    Filler,
    /// A non-empty check code and certificate value.
    Present {
        /// The check-code value.
        check_code: &'a [u8],
        /// The certificate value (with any zero fill).
        certificate: &'a [u8],
    },
}

/// The check code and certificate of DF3/EF01, or the verification that ends the
/// check when there are none: `absent` for the under-16 layout (no face photo and a
/// filler, SPEC15 §3.3.5), `invalid` otherwise.
pub(crate) fn signature_parts<'a>(
    file: &'static str,
    data: &'a [u8],
    check_code: (u16, usize),
    certificate: (u16, usize),
    face_blank: bool,
    now_unix: i64,
) -> Result<(&'a [u8], &'a [u8]), Verification> {
    match signature_objects(file, data, check_code, certificate) {
        Ok(SignatureObjects::Present { check_code, certificate }) => Ok((check_code, certificate)),
        Ok(SignatureObjects::Filler) if face_blank => Err(Verification::absent(
            Reason::Under16,
            "no face photo and no check code or certificate: an under-16 card (SPEC15 §3.3.5)",
            now_unix,
        )),
        Ok(SignatureObjects::Filler) => Err(Verification::invalid(
            Reason::SignatureMissing,
            &format!(
                "{file} holds no check code or certificate although the card holds a face photo; only under-16 cards, which have no photo, carry none (SPEC15 §3.3.5)"
            ),
            now_unix,
        )),
        Err((code, reason)) => Err(Verification::invalid(code, &reason, now_unix)),
    }
}

/// Reads DF3/EF01: the check code (tag `cc`, at most `cc_max` bytes) then the
/// certificate (tag `ct`, at most `ct_max` bytes), then only zero fill.
pub(crate) fn signature_objects<'a>(
    file: &'static str,
    data: &'a [u8],
    (cc, cc_max): (u16, usize),
    (ct, ct_max): (u16, usize),
) -> Result<SignatureObjects<'a>, (Reason, String)> {
    let objs = crate::tlv::parse_all(file, data).map_err(|e| (Reason::SignatureFileLayout, e.to_string()))?;
    let tags: Vec<u16> = objs.iter().map(|t| t.tag).collect();
    let layout_ok = tags.is_empty() || tags == [cc] || tags == [cc, ct];
    if !layout_ok {
        let found: Vec<String> = tags.iter().map(|t| format!("{t:02X}")).collect();
        return Err((
            Reason::SignatureFileLayout,
            format!("{file} holds {}; expected {cc:02X} then {ct:02X}", found.join(" ")),
        ));
    }
    let values: Vec<&[u8]> = objs.iter().map(|t| t.value).collect();
    if values.iter().all(|v| v.is_empty()) {
        return Ok(SignatureObjects::Filler);
    }
    match values[..] {
        [check_code, certificate] if !is_blank(check_code) && !is_blank(certificate) => {
            if check_code.len() > cc_max || certificate.len() > ct_max {
                return Err((
                    Reason::SignatureFileLayout,
                    format!(
                        "{file}: check code {} bytes (at most {cc_max}), certificate {} bytes (at most {ct_max})",
                        check_code.len(),
                        certificate.len()
                    ),
                ));
            }
            Ok(SignatureObjects::Present { check_code, certificate })
        }
        _ => Err((
            Reason::SignatureMissing,
            format!("{file} holds only part of a signature (a check code or a certificate is missing or zeroed)"),
        )),
    }
}
