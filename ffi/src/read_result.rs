//! `zairyu_read_result`: a completed read, its report and typed getters.

use std::ffi::c_char;
use std::sync::OnceLock;

use zairyu_core::files::{CardType, Image, ImageFormat, Text};
use zairyu_core::report::Report;
use zairyu_core::sequence::{CardData, CardRead};
use zairyu_core::verify::{AnchorProfile, ChainStatus, SignatureStatus, Verdict, bound_fields, coverage};
use zairyu_evidence::{PngImage, png_images};

use crate::result::zairyu_result;
use crate::util::{CEnum, Failure, c_enum, copy_out, guard, json_text, non_null, non_null_mut, write_out};

/// A completed read (opaque): the data read from the card, its verification result
/// and its report. Made by `zairyu_card_read`, freed by `zairyu_read_result_free`.
/// Immutable: every getter may be called from any thread, also concurrently.
pub struct zairyu_read_result {
    pub(crate) read: CardRead,
    report: Report,
    /// The images as PNG, decoded on first use (by `zairyu_read_result_image_png` or
    /// the report page) and kept: a getter called twice under the buffer rule (size,
    /// then copy) decodes once. `OnceLock`: the result stays immutable and shared.
    pngs: OnceLock<Vec<PngImage>>,
}

impl zairyu_read_result {
    pub(crate) fn new(read: CardRead) -> Self {
        let report = Report::from_read(&read);
        zairyu_read_result { read, report, pngs: OnceLock::new() }
    }

    /// Every image of the read as PNG, or its decoding error.
    pub(crate) fn pngs(&self) -> &[PngImage] {
        self.pngs.get_or_init(|| png_images(&self.read))
    }
}

/// The card type (MF/EF02); the numbers are the spec's codes.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_card_type {
    /// "1" 在留カード (first generation).
    ResidenceCard = 1,
    /// "2" 特別永住者証明書 (first generation).
    SpecialPermanentResident = 2,
    /// "05" 第２世代在留カード.
    Gen2ResidenceCard = 5,
    /// "06" 第２世代特別永住者証明書.
    Gen2SpecialPermanentResident = 6,
}

/// The signature (check code) result.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_signature_status {
    /// The signature verifies under the card certificate's key.
    Valid = 1,
    /// It does not: treat the card as possibly forged or altered.
    Invalid = 2,
    /// No signature or certificate on the card (under-16 cards).
    Absent = 3,
    /// Not checked (read policy `ZAIRYU_READ_POLICY_TEXT_ONLY`).
    NotChecked = 4,
}

/// The certificate-chain result.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_chain_status {
    /// A trust anchor's key verifies the card certificate.
    Verified = 1,
    /// No anchor's key verifies it.
    NoMatchingAnchor = 2,
    /// There is no card certificate.
    NoCertificate = 3,
    /// The chain was not checked.
    NotChecked = 4,
}

/// What the verification means, in one value (`zairyu_read_result_verdict`): the
/// JSON report's `verdict`, and the one rule behind "ok" in the CLI.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_verdict {
    /// Signature valid and chained to a pinned Ministry root: genuine in the
    /// Ministry's production PKI (`zairyu_read_result_is_production_valid`).
    Production = 1,
    /// Signature valid and chained to a test anchor (simulator, sample cards): not genuine.
    Test = 2,
    /// Signature valid, but no trust anchor's key signed the card certificate.
    Untrusted = 3,
    /// Signature invalid: treat the card as possibly forged or altered.
    Invalid = 4,
    /// No signature on the card (under-16 cards).
    Absent = 5,
    /// The signature was not checked (read policy `ZAIRYU_READ_POLICY_TEXT_ONLY`).
    NotChecked = 6,
}

/// Which kind of anchor the chain ended in.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_anchor_profile {
    /// No anchor (the chain is not `ZAIRYU_CHAIN_STATUS_VERIFIED`).
    None = 0,
    /// A pinned Ministry root.
    Production = 1,
    /// A test anchor (the simulator's CA, the Ministry's sample-card CA, ...).
    Test = 2,
}

/// An image on the card (the `kind` argument of the image getters).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_image_kind {
    /// First generation: the card-front image (券面画像, TIFF).
    Front = 1,
    /// The face photo (顔画像, JPEG 2000).
    Face = 2,
    /// Second generation: the name image (氏名画像, TIFF).
    Name = 3,
    /// Second generation: the address image (住居地画像, TIFF).
    Address = 4,
}

/// An image's container format.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_image_format {
    /// TIFF.
    Tiff = 1,
    /// JPEG 2000, JP2 container.
    Jp2 = 2,
    /// JPEG 2000 codestream.
    J2k = 3,
    /// Something else.
    Unknown = 4,
}

/// A text field (the `field` argument of `zairyu_read_result_field`). Fields a
/// card's generation does not have, or that are empty on the card, are
/// `ZAIRYU_RESULT_NOT_PRESENT`. Coded values give their code (names are in the JSON).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_field {
    /// MF/EF01 spec version, e.g. "0001".
    SpecVersion = 1,
    /// The card number, redacted: "AB********CD".
    CardNumberRedacted = 2,
    /// First generation: 住居地 (address) text.
    Address = 10,
    /// First generation: 追記書き込み年月日 (date the address was written), YYYYMMDD.
    AddressWrittenOn = 11,
    /// First generation: 市町村コード (municipality code, check digit validated).
    MunicipalityCode = 12,
    /// First generation: 資格外活動許可 包括許可 text; second generation: its code.
    ComprehensivePermission = 13,
    /// First generation: 個別許可 text; second generation: "1" or "0".
    IndividualPermission = 14,
    /// Second generation: card expiry, YYYYMMDD.
    CardExpiry = 20,
    /// Second generation: birth date, YYYYMMDD.
    BirthDate = 21,
    /// Second generation: sex code.
    Sex = 22,
    /// Second generation: nationality/region code (ISO 3166-1 alpha-3 or XXX).
    Nationality = 23,
    /// Second generation: status-of-residence code.
    StatusOfResidence = 24,
    /// Second generation: period of stay in Japanese ("3年", "90日", "無期限").
    PeriodOfStay = 25,
    /// Second generation: permission type.
    PermissionType = 26,
    /// Second generation: permission date, YYYYMMDD.
    PermissionDate = 27,
    /// Second generation: stay expiry, YYYYMMDD.
    StayExpiry = 28,
    /// Second generation: work-restriction code.
    WorkRestriction = 29,
    /// Second generation: deadline of the comprehensive permission, YYYYMMDD.
    ComprehensivePermissionDeadline = 30,
    /// Second generation: 長官記録事項 note text.
    NoteText = 31,
}

/// JSON flag: indented output (as `zairyu read --json` prints it).
pub const ZAIRYU_JSON_PRETTY: u32 = 1;

c_enum!(zairyu_image_kind, "image kind", [Front, Face, Name, Address]);
c_enum!(
    zairyu_field,
    "field",
    [
        SpecVersion,
        CardNumberRedacted,
        Address,
        AddressWrittenOn,
        MunicipalityCode,
        ComprehensivePermission,
        IndividualPermission,
        CardExpiry,
        BirthDate,
        Sex,
        Nationality,
        StatusOfResidence,
        PeriodOfStay,
        PermissionType,
        PermissionDate,
        StayExpiry,
        WorkRestriction,
        ComprehensivePermissionDeadline,
        NoteText,
    ]
);

/// Implements `From` a core enum for the C enum whose values have the same names,
/// by an exhaustive match (a value added to the core does not compile until C has it).
macro_rules! same_values {
    ($core:ident => $c:ident: $($value:ident),+) => {
        impl From<$core> for $c {
            fn from(v: $core) -> Self {
                match v {
                    $($core::$value => $c::$value,)+
                }
            }
        }
    };
}

same_values!(SignatureStatus => zairyu_signature_status: Valid, Invalid, Absent, NotChecked);
same_values!(ChainStatus => zairyu_chain_status: Verified, NoMatchingAnchor, NoCertificate, NotChecked);
same_values!(AnchorProfile => zairyu_anchor_profile: Production, Test);

impl From<ImageFormat> for zairyu_image_format {
    fn from(f: ImageFormat) -> Self {
        match f {
            ImageFormat::Tiff => zairyu_image_format::Tiff,
            ImageFormat::Jp2 => zairyu_image_format::Jp2,
            ImageFormat::J2k => zairyu_image_format::J2k,
            ImageFormat::Empty | ImageFormat::Unknown => zairyu_image_format::Unknown,
        }
    }
}

impl zairyu_card_type {
    fn from_core(t: CardType) -> Result<Self, Failure> {
        match t {
            CardType::ResidenceCard => Ok(zairyu_card_type::ResidenceCard),
            CardType::SpecialPermanentResident => Ok(zairyu_card_type::SpecialPermanentResident),
            CardType::Gen2ResidenceCard => Ok(zairyu_card_type::Gen2ResidenceCard),
            CardType::Gen2SpecialPermanentResident => Ok(zairyu_card_type::Gen2SpecialPermanentResident),
            // Specified cards (07, 08) are never read; `CardType` is non_exhaustive.
            other => Err(Failure::new(zairyu_result::UnsupportedCardType, format!("card type {}", other.code()))),
        }
    }
}

impl zairyu_verdict {
    pub(crate) fn from_core(v: Verdict) -> Result<Self, Failure> {
        match v {
            Verdict::Production => Ok(zairyu_verdict::Production),
            Verdict::Test => Ok(zairyu_verdict::Test),
            Verdict::Untrusted => Ok(zairyu_verdict::Untrusted),
            Verdict::Invalid => Ok(zairyu_verdict::Invalid),
            Verdict::Absent => Ok(zairyu_verdict::Absent),
            Verdict::NotChecked => Ok(zairyu_verdict::NotChecked),
            // No wildcard: `Verdict` is exhaustive, so a verdict added to the core
            // fails to compile here until C has a value for it.
        }
    }
}

/// Borrows a read-result argument.
///
/// # Safety
/// `p` is NULL or a live pointer from `zairyu_card_read`.
pub(crate) unsafe fn result_arg<'a>(p: *const zairyu_read_result) -> Result<&'a zairyu_read_result, Failure> {
    let p = non_null(p, "result")?;
    // SAFETY: non-NULL and live by the caller's contract; the result is immutable.
    Ok(unsafe { &*p })
}

/// Runs a getter that writes one value.
///
/// # Safety
/// `r` is NULL or a live result; `out` is NULL or writable.
pub(crate) unsafe fn get_value<T>(
    r: *const zairyu_read_result,
    out: *mut T,
    f: impl FnOnce(&zairyu_read_result) -> Result<T, Failure>,
) -> zairyu_result {
    guard(|| {
        // SAFETY: this function's contract.
        let r = unsafe { result_arg(r) }?;
        let out = non_null_mut(out, "out")?;
        let v = f(r)?;
        // SAFETY: non-NULL and writable by this function's contract.
        unsafe { write_out(out, v) };
        Ok(())
    })
}

/// Runs a getter that copies bytes or text into the caller's buffer.
///
/// # Safety
/// `r` is NULL or a live result; `buf`/`buf_len`/`out_len` follow the buffer rule.
pub(crate) unsafe fn get_copy(
    r: *const zairyu_read_result,
    text: bool,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
    f: impl FnOnce(&zairyu_read_result) -> Result<Vec<u8>, Failure>,
) -> zairyu_result {
    guard(|| {
        // SAFETY: this function's contract.
        let r = unsafe { result_arg(r) }?;
        let _ = non_null_mut(out_len, "out_len")?;
        let v = zeroize::Zeroizing::new(f(r)?);
        // SAFETY: this function's contract.
        unsafe { copy_out(&v, text, buf, buf_len, out_len) }
    })
}

/// Runs a getter that copies text into the caller's buffer (NUL-terminated).
///
/// # Safety
/// As [`get_copy`].
pub(crate) unsafe fn get_text(
    r: *const zairyu_read_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
    f: impl FnOnce(&zairyu_read_result) -> Result<String, Failure>,
) -> zairyu_result {
    // SAFETY: this function's contract.
    unsafe { get_copy(r, true, buf.cast(), buf_len, out_len, |r| f(r).map(String::into_bytes)) }
}

pub(crate) fn absent(what: &str) -> Failure {
    Failure::new(zairyu_result::NotPresent, format!("{what} is not on this card or was not read"))
}

/// The card type.
///
/// Thread safety: any thread, concurrently.
/// @param result must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_card_type(
    result: *const zairyu_read_result,
    out: *mut zairyu_card_type,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_value(result, out, |r| zairyu_card_type::from_core(r.read.card_type)) }
}

/// The card generation: 1 (types 1, 2) or 2 (types 05, 06).
///
/// Thread safety: any thread, concurrently.
/// @param result must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_generation(
    result: *const zairyu_read_result,
    out: *mut u8,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_value(result, out, |r| Ok(r.read.card_type.generation())) }
}

/// The signature (check code) result.
///
/// Thread safety: any thread, concurrently.
/// @param result must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_signature(
    result: *const zairyu_read_result,
    out: *mut zairyu_signature_status,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_value(result, out, |r| Ok(r.read.verification.signature.into())) }
}

/// The certificate-chain result.
///
/// Thread safety: any thread, concurrently.
/// @param result must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_chain(
    result: *const zairyu_read_result,
    out: *mut zairyu_chain_status,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_value(result, out, |r| Ok(r.read.verification.chain.into())) }
}

/// The profile of the anchor the chain ended in (`ZAIRYU_ANCHOR_PROFILE_NONE` if none).
///
/// Thread safety: any thread, concurrently.
/// @param result must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_anchor_profile(
    result: *const zairyu_read_result,
    out: *mut zairyu_anchor_profile,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe {
        get_value(result, out, |r| {
            Ok(r.read.verification.anchor_profile.map_or(zairyu_anchor_profile::None, Into::into))
        })
    }
}

/// The verdict: what signature, chain and anchor profile mean together (the JSON
/// report's `verdict`). Only `ZAIRYU_VERDICT_PRODUCTION` means a genuine card, and
/// only it is what the CLI calls "ok" (exit 0) and Python `ReadResult.ok`;
/// `ZAIRYU_VERDICT_TEST` (valid under a test anchor) is the CLI's exit 12. (Not a
/// revocation check.)
///
/// Thread safety: any thread, concurrently.
/// @param result must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_verdict(
    result: *const zairyu_read_result,
    out: *mut zairyu_verdict,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_value(result, out, |r| zairyu_verdict::from_core(r.read.verification.verdict())) }
}

/// Whether the card is genuine in the Ministry's production PKI: signature valid
/// **and** chain verified to a pinned production root, i.e. the verdict is
/// `ZAIRYU_VERDICT_PRODUCTION`. (Not a revocation check.)
///
/// Thread safety: any thread, concurrently.
/// @param result must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_is_production_valid(
    result: *const zairyu_read_result,
    out: *mut bool,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_value(result, out, |r| Ok(r.read.verification.is_production_valid())) }
}

/// The SHA-256 fingerprint (64 lowercase hex digits) of the anchor whose key
/// verified the card certificate; `ZAIRYU_RESULT_NOT_PRESENT` if the chain is not
/// verified. Text output (see the buffer rule at the top).
///
/// Thread safety: any thread, concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_anchor_fingerprint(
    result: *const zairyu_read_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe {
        get_text(result, buf, buf_len, out_len, |r| {
            r.read.verification.anchor.clone().ok_or_else(|| absent("a trust anchor"))
        })
    }
}

/// Why the signature is invalid, absent or not checked (English text, never card
/// data); `ZAIRYU_RESULT_NOT_PRESENT` when the signature is valid. Text output.
///
/// Thread safety: any thread, concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_verification_reason(
    result: *const zairyu_read_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe {
        get_text(result, buf, buf_len, out_len, |r| {
            r.read.verification.reason.clone().filter(|s| !s.is_empty()).ok_or_else(|| absent("a verification reason"))
        })
    }
}

/// Whether the verification time lay in the card certificate's validity period
/// (the JSON report's `verification.certificate_valid_now`);
/// `ZAIRYU_RESULT_NOT_PRESENT` when there is no certificate to judge (under-16
/// cards, policy `TEXT_ONLY`, a certificate that does not parse). Informational: a
/// card certificate outlives no card, and the verdict does not depend on it.
///
/// Thread safety: any thread, concurrently.
/// @param result must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_certificate_valid_now(
    result: *const zairyu_read_result,
    out: *mut bool,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe {
        get_value(result, out, |r| {
            r.read.verification.certificate_valid_now.ok_or_else(|| absent("the certificate's validity"))
        })
    }
}

/// Whether the verification time lay in the validity period of the anchor that
/// verified the card certificate (the JSON report's `verification.anchor_valid_now`);
/// `ZAIRYU_RESULT_NOT_PRESENT` when no anchor verified it.
///
/// Thread safety: any thread, concurrently.
/// @param result must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_anchor_valid_now(
    result: *const zairyu_read_result,
    out: *mut bool,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe {
        get_value(result, out, |r| r.read.verification.anchor_valid_now.ok_or_else(|| absent("the anchor's validity")))
    }
}

/// The verification time the two validity flags refer to, in Unix seconds (the
/// JSON report's `verification.verified_at_unix`).
///
/// Thread safety: any thread, concurrently.
/// @param result must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_verified_at(
    result: *const zairyu_read_result,
    out: *mut i64,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_value(result, out, |r| Ok(r.read.verification.verified_at_unix)) }
}

/// Whether `name` is a name of the signature coverage of any card type.
fn known_coverage_name(name: &str) -> bool {
    CardType::ALL.iter().any(|&t| {
        let c = coverage(t);
        c.signed.contains(&name) || c.unsigned.contains(&name)
    })
}

/// Whether the card's signature binds the field or image `name` on this card: 1
/// (`*out` true) when the signature is valid **and** chains to a trust anchor and
/// covers `name`; false for everything else, which only the chip's access control
/// protects (e.g. the address on either generation, the card type), and for every
/// name when the signature is not valid or chains to no anchor. The names are the
/// JSON report's (keys of `fields` and `images`, `card_type`, `card_number`; its
/// `verification.signed_fields` and `unsigned_fields` list them): "front", "face",
/// "name", "birth_date", "address", "municipality_code", ...
///
/// Errors: a name of the other generation (e.g. "birth_date" on a first-generation
/// card) is `ZAIRYU_RESULT_NOT_PRESENT`; a name of no card is
/// `ZAIRYU_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: any thread, concurrently.
///
/// @param result must not be NULL.
/// @param name NUL-terminated field or image name; must not be NULL.
/// @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_field_signed(
    result: *const zairyu_read_result,
    name: *const c_char,
    out: *mut bool,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live result.
        let r = unsafe { result_arg(result) }?;
        // SAFETY: header contract: NULL or a NUL-terminated string, valid during the call.
        let name = unsafe { crate::util::str_arg(name, "name") }?;
        let out = non_null_mut(out, "out")?;
        let bound = bound_fields(r.read.card_type, &r.read.verification);
        let signed = if bound.signed.contains(&name) {
            true
        } else if bound.unsigned.contains(&name) {
            false
        } else if known_coverage_name(name) {
            return Err(absent(&format!("{name:?} (a field of another card type)")));
        } else {
            let shown: String = name.chars().take(32).collect();
            return Err(Failure::invalid(format!("{shown:?} is not a field or image name")));
        };
        // SAFETY: non-NULL and writable (header contract).
        unsafe { write_out(out, signed) };
        Ok(())
    })
}

fn text(t: &Option<Text>) -> Option<String> {
    t.as_ref().map(|t| t.text.clone())
}

fn field_value(r: &zairyu_read_result, field: u32) -> Result<Option<String>, Failure> {
    use zairyu_field as F;
    let f = F::arg(field)?;
    match f {
        F::SpecVersion => return Ok(Some(r.read.common.spec_version.clone())),
        F::CardNumberRedacted => return Ok(Some(r.read.card_number_redacted.clone())),
        _ => {}
    }
    Ok(match &r.read.data {
        CardData::Gen1(d) => match f {
            F::Address => text(&d.address.address),
            F::AddressWrittenOn => d.address.date.clone(),
            F::MunicipalityCode => d.address.municipality_code.clone(),
            F::ComprehensivePermission => d.comprehensive_permission.as_ref().and_then(text),
            F::IndividualPermission => d.individual_permission.as_ref().and_then(text),
            _ => None,
        },
        CardData::Gen2(d) => {
            let (p, b) = (&d.printed, &d.back);
            let code = |c: &Option<zairyu_core::files::gen2::Coded>| c.as_ref().map(|c| c.code.clone());
            match f {
                F::ComprehensivePermission => code(&b.comprehensive_permission),
                F::IndividualPermission => b.individual_permission.as_ref().map(|x| x.code().to_owned()),
                F::CardExpiry => p.card_expiry.clone(),
                F::BirthDate => p.birth_date.clone(),
                F::Sex => code(&p.sex),
                F::Nationality => code(&p.nationality),
                F::StatusOfResidence => code(&p.status_of_residence),
                F::PeriodOfStay => p.period_of_stay.as_ref().map(|x| x.japanese()),
                F::PermissionType => p.permission_type.clone(),
                F::PermissionDate => p.permission_date.clone(),
                F::StayExpiry => p.stay_expiry.clone(),
                F::WorkRestriction => code(&p.work_restriction),
                F::ComprehensivePermissionDeadline => b.comprehensive_permission_deadline.clone(),
                F::NoteText => text(&b.note_text),
                _ => None,
            }
        }
    }
    .filter(|s| !s.is_empty()))
}

/// Copies one text field (UTF-8) into `buf`; see `zairyu_field` for the fields.
/// Text output (see the buffer rule at the top). An unknown `field` is
/// `ZAIRYU_RESULT_INVALID_ARGUMENT`; a field this card does not have, or has
/// empty, is `ZAIRYU_RESULT_NOT_PRESENT`.
///
/// Card text is data read from a chip. A value holding a NUL byte is refused with
/// `ZAIRYU_RESULT_TEXT_CONTAINS_NUL` (nothing written; see the NUL rule at the top):
/// use `zairyu_read_result_field_raw`. Other control characters (C0, C1, DEL) and
/// bidirectional overrides are given as read: escape them before showing the text;
/// the JSON report's warning `unsafe_characters` names the fields that hold them.
///
/// Thread safety: any thread, concurrently.
///
/// @param result must not be NULL.
/// @param field a `zairyu_field` value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_field(
    result: *const zairyu_read_result,
    field: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe {
        get_text(result, buf, buf_len, out_len, |r| {
            field_value(r, field)?.ok_or_else(|| absent(&format!("field {field}")))
        })
    }
}

/// Copies one text field's UTF-8 bytes into `buf`, whatever they hold (NUL bytes
/// included), **without** a terminating NUL: byte output (see the buffer rule at
/// the top), `*out_len` is the value's length. The fields and errors are those of
/// `zairyu_read_result_field`, which gives the same bytes as a string when they
/// hold no NUL.
///
/// Thread safety: any thread, concurrently.
///
/// @param result must not be NULL.
/// @param field a `zairyu_field` value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_field_raw(
    result: *const zairyu_read_result,
    field: u32,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe {
        get_copy(result, false, buf, buf_len, out_len, |r| {
            field_value(r, field)?.map(String::into_bytes).ok_or_else(|| absent(&format!("field {field}")))
        })
    }
}

/// The report's name of an image kind (`front`, `face`, `name`, `address`).
pub(crate) fn image_name(kind: u32) -> Result<&'static str, Failure> {
    use zairyu_image_kind as K;
    Ok(match K::arg(kind)? {
        K::Front => "front",
        K::Face => "face",
        K::Name => "name",
        K::Address => "address",
    })
}

pub(crate) fn image(r: &zairyu_read_result, kind: u32) -> Result<&Image, Failure> {
    let name = image_name(kind)?;
    r.read
        .images()
        .into_iter()
        .find(|(n, i)| *n == name && i.is_present())
        .map(|(_, i)| i)
        .ok_or_else(|| absent(&format!("the {name} image")))
}

/// Copies an image's bytes (the file without the chip's zero fill: a TIFF or
/// JPEG 2000 file as stored) into `buf`. Byte output (see the buffer rule at the
/// top). An image this card does not have (front on a second-generation card), or
/// that was not read (policy `TEXT_ONLY`) or is empty (no face on under-16 cards), is
/// `ZAIRYU_RESULT_NOT_PRESENT`.
///
/// Thread safety: any thread, concurrently.
///
/// @param result must not be NULL.
/// @param kind a `zairyu_image_kind` value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_image(
    result: *const zairyu_read_result,
    kind: u32,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_copy(result, false, buf, buf_len, out_len, |r| Ok(image(r, kind)?.bytes().to_vec())) }
}

/// The container format of an image (same presence rules as `zairyu_read_result_image`).
///
/// Thread safety: any thread, concurrently.
/// @param result must not be NULL. @param kind a `zairyu_image_kind` value.
/// @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_image_format(
    result: *const zairyu_read_result,
    kind: u32,
    out: *mut zairyu_image_format,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_value(result, out, |r| Ok(image(r, kind)?.format.into())) }
}

/// Copies the report as JSON, the same schema as `zairyu read --json` (see the
/// README): `card_type`, `generation`, `flow`, `policy`, `card_number` (redacted),
/// `fields`, `images`, `verification`, `verdict`, `metrics`, `link`, `warnings`
/// (each `{"code", "message"}`). One line unless `flags` has `ZAIRYU_JSON_PRETTY`.
/// Text output (see the buffer rule).
///
/// Thread safety: any thread, concurrently.
///
/// @param result must not be NULL.
/// @param flags 0 or `ZAIRYU_JSON_PRETTY`; other bits are `ZAIRYU_RESULT_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_json(
    result: *const zairyu_read_result,
    flags: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_text(result, buf, buf_len, out_len, |r| json_text(&r.report, flags)) }
}

/// Frees a read result. NULL is accepted and ignored.
///
/// Ownership: takes back the handle; it must not be used afterwards, and no getter
/// on it may be running.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_free(result: *mut zairyu_read_result) {
    let _ = guard(|| {
        if !result.is_null() {
            // SAFETY: a non-NULL pointer here came from Box::into_raw in
            // zairyu_card_read and is freed once (caller's contract).
            drop(unsafe { Box::from_raw(result) });
        }
        Ok(())
    });
}
