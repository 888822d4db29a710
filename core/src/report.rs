//! The JSON report: one schema for the CLI, the C library and the Python package.
//!
//! It never contains the card number in full (only [`CardNumber::redacted`]), keys,
//! or image bytes (images are exported separately). Top-level fields are stable
//! across generations: `card_type`, `generation`, `flow`, `policy`, `card_number`,
//! `fields`, `images`, `verification`, `metrics`, `link`, `warnings`. The content of
//! `fields` depends on the generation (see [`Fields`]).
//!
//! The report has its own types, with every enum spelled out as a string here, so a
//! rename in the parsers or the verifier cannot change the documented JSON; the
//! golden files in `tests/golden/` pin it for every card type.
//!
//! [`CardNumber::redacted`]: crate::CardNumber::redacted

use std::collections::BTreeMap;

use serde::Serialize;

use crate::files::gen2::{BackEntries, Coded, PeriodOfStay, PrintedEntries};
use crate::files::{Flag, ImageFormat, RenewalStatus, Text, TextEncoding};
use crate::sequence::{CardData, CardRead};
use crate::verify::{AnchorProfile, ChainStatus, CheckCodeFormat, Reason, SignatureStatus, Verification};

fn image_format(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Tiff => "tiff",
        ImageFormat::Jp2 => "jp2",
        ImageFormat::J2k => "j2k",
        ImageFormat::Empty => "empty",
        ImageFormat::Unknown => "unknown",
    }
}

/// Schema version of the report.
pub const REPORT_SCHEMA: u32 = 1;

/// A label in both languages.
#[derive(Debug, Clone, Serialize)]
pub struct Names {
    /// Japanese.
    pub ja: &'static str,
    /// English.
    pub en: &'static str,
}

/// An image's summary.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    /// Detected container: `tiff`, `jp2`, `j2k`, `empty`, `unknown`.
    pub format: &'static str,
    /// Bytes of image data without the field's zero fill.
    pub bytes: usize,
    /// Bytes stored on the chip (the fixed field length).
    pub stored: usize,
}

/// A decoded text field in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportText {
    /// The text, without the zero fill.
    pub text: String,
    /// `utf8`, `shift_jis_fallback` (first generation, flagged) or `utf8_lossy`.
    pub encoding: &'static str,
    /// Whether the fallback decoder met bytes it could not map.
    pub lossy: bool,
}

impl From<&Text> for ReportText {
    fn from(t: &Text) -> Self {
        let encoding = match t.encoding {
            TextEncoding::Utf8 => "utf8",
            TextEncoding::ShiftJisFallback => "shift_jis_fallback",
            TextEncoding::Utf8Lossy => "utf8_lossy",
        };
        ReportText { text: t.text.clone(), encoding, lossy: t.lossy }
    }
}

fn text(t: &Option<Text>) -> Option<ReportText> {
    t.as_ref().map(ReportText::from)
}

/// A code with its names, where known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportCode {
    /// The code as stored (zero fill removed).
    pub code: String,
    /// Japanese name, if known.
    pub ja: Option<String>,
    /// English name, if known.
    pub en: Option<String>,
}

fn coded(c: &Option<Coded>) -> Option<ReportCode> {
    c.as_ref().map(|c| ReportCode { code: c.code.clone(), ja: c.ja.clone(), en: c.en.clone() })
}

/// `CE` 在留期間, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReportPeriod {
    /// `0000`: 無期限.
    Indefinite,
    /// `YYMM`.
    YearsMonths {
        /// Years.
        years: u8,
        /// Months.
        months: u8,
    },
    /// `DDD` days.
    Days {
        /// Days.
        days: u16,
    },
    /// Anything else, as stored.
    Raw {
        /// The stored value.
        value: String,
    },
}

impl From<&PeriodOfStay> for ReportPeriod {
    fn from(p: &PeriodOfStay) -> Self {
        match p {
            PeriodOfStay::Indefinite => ReportPeriod::Indefinite,
            PeriodOfStay::YearsMonths { years, months } => ReportPeriod::YearsMonths { years: *years, months: *months },
            PeriodOfStay::Days { days } => ReportPeriod::Days { days: *days },
            PeriodOfStay::Raw { value } => ReportPeriod::Raw { value: value.clone() },
        }
    }
}

/// First-generation fields, for registry import (住民票作成支援).
#[derive(Debug, Clone, Serialize)]
pub struct Gen1Fields {
    /// MF/EF01 spec version.
    pub spec_version: String,
    /// The holder's name: first-generation chips carry it only inside the front image.
    pub name: Option<String>,
    /// DF2/EF01 `D2` 追記書き込み年月日.
    pub address_written_on: Option<String>,
    /// DF2/EF01 `D3` 市町村コード.
    pub municipality_code: Option<String>,
    /// DF2/EF01 `D4` 住居地.
    pub address: Option<ReportText>,
    /// DF2/EF02 `D5`; the key is absent on special permanent resident certificates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comprehensive_permission: Option<Option<ReportText>>,
    /// DF2/EF03 `D6`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub individual_permission: Option<Option<ReportText>>,
    /// DF2/EF04 `D7`: `none`, `pending`, `empty`, or `unknown` (the value as read is in
    /// the `code_unknown` warning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_application: Option<&'static str>,
}

/// Second-generation fields: the printed entries (codes and dates) and DF2. The name
/// and the address are images only on these cards, so `name` and `address` are null.
#[derive(Debug, Clone, Serialize)]
pub struct Gen2Fields {
    /// MF/EF01 spec version.
    pub spec_version: String,
    /// Always null: the name is an image (`images.name`).
    pub name: Option<String>,
    /// Always null: the address is an image (`images.address`).
    pub address: Option<String>,
    /// `C5` 有効期間の満了日, `YYYYMMDD`.
    pub card_expiry: Option<String>,
    /// `C6` 生年月日.
    pub birth_date: Option<String>,
    /// `C7` 性別.
    pub sex: Option<ReportCode>,
    /// `C8` 国籍・地域.
    pub nationality: Option<ReportCode>,
    /// `C9` 在留資格.
    pub status_of_residence: Option<ReportCode>,
    /// `CE` 在留期間.
    pub period_of_stay: Option<ReportPeriod>,
    /// `CA` 許可の種類.
    pub permission_type: Option<String>,
    /// `CB` 許可年月日.
    pub permission_date: Option<String>,
    /// `CC` 就労制限の有無.
    pub work_restriction: Option<ReportCode>,
    /// `CD` 在留期間の満了日.
    pub stay_expiry: Option<String>,
    /// DF2 `D5` 資格外活動 包括許可.
    pub comprehensive_permission: Option<ReportCode>,
    /// DF2 `D6` 包括許可の期限.
    pub comprehensive_permission_deadline: Option<String>,
    /// DF2 `D7` 個別許可の有無. D7–D9 are null for a value other than `0`/`1` (the
    /// value as read is in the `code_unknown` warning).
    pub individual_permission: Option<bool>,
    /// DF2 `D8` 在留期間更新等許可申請中.
    pub renewal_application_pending: Option<bool>,
    /// DF2 `D9` 長官記録事項の有無.
    pub note_recorded: Option<bool>,
    /// DF2 `DE` text.
    pub note_text: Option<ReportText>,
}

impl Gen2Fields {
    fn new(spec_version: String, p: &PrintedEntries, b: &BackEntries) -> Self {
        Gen2Fields {
            spec_version,
            name: None,
            address: None,
            card_expiry: p.card_expiry.clone(),
            birth_date: p.birth_date.clone(),
            sex: coded(&p.sex),
            nationality: coded(&p.nationality),
            status_of_residence: coded(&p.status_of_residence),
            period_of_stay: p.period_of_stay.as_ref().map(ReportPeriod::from),
            permission_type: p.permission_type.clone(),
            permission_date: p.permission_date.clone(),
            work_restriction: coded(&p.work_restriction),
            stay_expiry: p.stay_expiry.clone(),
            comprehensive_permission: coded(&b.comprehensive_permission),
            comprehensive_permission_deadline: b.comprehensive_permission_deadline.clone(),
            individual_permission: b.individual_permission.as_ref().and_then(Flag::as_bool),
            renewal_application_pending: b.renewal_application_pending.as_ref().and_then(Flag::as_bool),
            note_recorded: b.note_recorded.as_ref().and_then(Flag::as_bool),
            note_text: text(&b.note_text),
        }
    }
}

/// The verification results (see [`Verification`] for their meaning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportVerification {
    /// `valid`, `invalid`, `absent`, `not_checked`.
    pub signature: &'static str,
    /// `bare_hash`, `digest_info`, `ecdsa_raw`, `ecdsa_der`, once identified.
    pub signature_format: Option<&'static str>,
    /// Why the signature is invalid, absent or not checked.
    pub reason: Option<String>,
    /// The same as a stable code ([`crate::verify::Reason::as_str`]): `under_16`,
    /// `policy_text_only`, `signature_missing`, `signature_file_layout`,
    /// `printed_entries_layout`, `image_layout`, `certificate_malformed`,
    /// `certificate_key`, `check_code_malformed`, `signature_mismatch`.
    pub reason_code: Option<&'static str>,
    /// `verified`, `no_matching_anchor`, `no_certificate`, `not_checked`.
    pub chain: &'static str,
    /// SHA-256 fingerprint (hex) of the anchor whose key signed the card certificate.
    pub anchor: Option<String>,
    /// `production` or `test`.
    pub anchor_profile: Option<&'static str>,
    /// That anchor's subject.
    pub anchor_subject: Option<String>,
    /// The card certificate's subject.
    pub certificate_subject: Option<String>,
    /// Whether the verification time lies in the card certificate's validity period.
    pub certificate_valid_now: Option<bool>,
    /// Whether it lies in the anchor's validity period.
    pub anchor_valid_now: Option<bool>,
    /// The verification time, Unix seconds.
    pub verified_at_unix: i64,
    /// The names (keys of `fields` and `images`, and `card_type`, `card_number`)
    /// that the signature binds on this card ([`crate::verify::bound_fields`]):
    /// empty unless the signature is valid and chains to a trust anchor.
    pub signed_fields: Vec<&'static str>,
    /// Every other name: nothing but the chip's access control protects them.
    pub unsigned_fields: Vec<&'static str>,
}

impl ReportVerification {
    fn new(v: &Verification, card_type: crate::files::CardType) -> Self {
        let bound = crate::verify::bound_fields(card_type, v);
        ReportVerification {
            signed_fields: bound.signed,
            unsigned_fields: bound.unsigned,
            signature: match v.signature {
                SignatureStatus::Valid => "valid",
                SignatureStatus::Invalid => "invalid",
                SignatureStatus::Absent => "absent",
                SignatureStatus::NotChecked => "not_checked",
            },
            signature_format: v.signature_format.map(|f| match f {
                CheckCodeFormat::BareHash => "bare_hash",
                CheckCodeFormat::DigestInfo => "digest_info",
                CheckCodeFormat::EcdsaRaw => "ecdsa_raw",
                CheckCodeFormat::EcdsaDer => "ecdsa_der",
            }),
            reason: v.reason.clone(),
            reason_code: v.reason_code.map(Reason::as_str),
            chain: match v.chain {
                ChainStatus::Verified => "verified",
                ChainStatus::NoMatchingAnchor => "no_matching_anchor",
                ChainStatus::NoCertificate => "no_certificate",
                ChainStatus::NotChecked => "not_checked",
            },
            anchor: v.anchor.clone(),
            anchor_profile: v.anchor_profile.map(|p| match p {
                AnchorProfile::Production => "production",
                AnchorProfile::Test => "test",
            }),
            anchor_subject: v.anchor_subject.clone(),
            certificate_subject: v.certificate_subject.clone(),
            certificate_valid_now: v.certificate_valid_now,
            anchor_valid_now: v.anchor_valid_now,
            verified_at_unix: v.verified_at_unix,
        }
    }
}

/// Counters of the read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportMetrics {
    /// Command APDUs sent.
    pub apdus: u32,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
}

/// How the reads were carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportLink {
    /// Whether extended-length APDUs passed (`null` if never tried).
    pub extended_length: Option<bool>,
    /// The fallbacks used, in the order first used.
    pub fallbacks: Vec<&'static str>,
}

/// One warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportWarning {
    /// The stable code ([`crate::warning::WarningCode::as_str`]).
    pub code: &'static str,
    /// The message.
    pub message: String,
}

/// Decoded fields of either generation.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Fields {
    /// Types "1"/"2".
    Gen1(Box<Gen1Fields>),
    /// Types "05"/"06".
    Gen2(Box<Gen2Fields>),
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`REPORT_SCHEMA`].
    pub schema: u32,
    /// The library version that made it.
    pub zairyu_version: &'static str,
    /// `"1"`, `"2"`, `"05"`, `"06"` (MF/EF02).
    pub card_type: &'static str,
    /// Card type names.
    pub card_type_name: Names,
    /// 1 or 2.
    pub generation: u8,
    /// The access flow used (`gen1-3des`, `gen2-aes`).
    pub flow: &'static str,
    /// The read policy (`full`, `text_only`).
    pub policy: &'static str,
    /// Redacted card number.
    pub card_number: String,
    /// Decoded fields.
    pub fields: Fields,
    /// Summaries of the images read, by name (`front`, `face`, `name`, `address`).
    pub images: BTreeMap<&'static str, ImageSummary>,
    /// Verification results.
    pub verification: ReportVerification,
    /// [`Verification::verdict`]: `production`, `test`, `untrusted`, `invalid`,
    /// `absent` or `not_checked`.
    pub verdict: &'static str,
    /// Counters.
    pub metrics: ReportMetrics,
    /// How the reads were carried: `extended_length` and the `fallbacks` used.
    pub link: ReportLink,
    /// Warnings.
    pub warnings: Vec<ReportWarning>,
}

impl Report {
    /// Builds the report of a read.
    pub fn from_read(r: &CardRead) -> Self {
        let (ja, en) = r.card_type.names();
        let spec_version = r.common.spec_version.clone();
        let fields = match &r.data {
            CardData::Gen1(d) => Fields::Gen1(Box::new(Gen1Fields {
                spec_version,
                name: None,
                address_written_on: d.address.date.clone(),
                municipality_code: d.address.municipality_code.clone(),
                address: text(&d.address.address),
                comprehensive_permission: d.comprehensive_permission.as_ref().map(text),
                individual_permission: d.individual_permission.as_ref().map(text),
                renewal_application: d.renewal.as_ref().map(|r| match r {
                    RenewalStatus::None => "none",
                    RenewalStatus::Pending => "pending",
                    RenewalStatus::Empty => "empty",
                    RenewalStatus::Unknown(_) => "unknown",
                }),
            })),
            CardData::Gen2(d) => Fields::Gen2(Box::new(Gen2Fields::new(spec_version, &d.printed, &d.back))),
        };
        let images = r
            .images()
            .into_iter()
            .map(|(n, i)| {
                (n, ImageSummary { format: image_format(i.format), bytes: i.bytes().len(), stored: i.value.len() })
            })
            .collect();
        Report {
            schema: REPORT_SCHEMA,
            zairyu_version: env!("CARGO_PKG_VERSION"),
            card_type: r.card_type.code(),
            card_type_name: Names { ja, en },
            generation: r.card_type.generation(),
            flow: r.flow.name(),
            policy: r.policy.name(),
            card_number: r.card_number_redacted.clone(),
            fields,
            images,
            verification: ReportVerification::new(&r.verification, r.card_type),
            verdict: r.verification.verdict().as_str(),
            metrics: ReportMetrics {
                apdus: r.metrics.apdus,
                bytes_sent: r.metrics.bytes_sent,
                bytes_received: r.metrics.bytes_received,
            },
            link: ReportLink { extended_length: r.link.extended_length, fallbacks: r.link.fallbacks.clone() },
            warnings: r
                .warnings
                .iter()
                .map(|w| ReportWarning { code: w.code.as_str(), message: w.message.clone() })
                .collect(),
        }
    }

    /// Pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }
}
