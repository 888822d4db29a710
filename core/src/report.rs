//! The JSON report: one schema for the CLI, the C library and the Python package.
//!
//! It never contains the card number in full (only [`CardNumber::redacted`]), keys,
//! or image bytes (images are exported separately). Top-level fields are stable
//! across generations: `card_type`, `generation`, `flow`, `policy`, `card_number`,
//! `fields`, `images`, `verification`, `metrics`, `link`, `warnings`. The content of
//! `fields` depends on the generation (see [`Fields`]).
//!
//! [`CardNumber::redacted`]: crate::CardNumber::redacted

use std::collections::BTreeMap;

use serde::Serialize;

use crate::files::gen2::{BackEntries, PrintedEntries};
use crate::files::{ImageFormat, RenewalStatus, Text};
use crate::options::{Flow, ReadPolicy};
use crate::sequence::{CardData, CardRead};
use crate::session::{LinkReport, Metrics};
use crate::verify::{Verdict, Verification};
use crate::warning::Warning;

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
    /// Detected container.
    pub format: ImageFormat,
    /// Bytes of image data without the field's zero fill.
    pub bytes: usize,
    /// Bytes stored on the chip (the fixed field length).
    pub stored: usize,
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
    pub address: Option<Text>,
    /// DF2/EF02 `D5`; the key is absent on special permanent resident certificates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comprehensive_permission: Option<Option<Text>>,
    /// DF2/EF03 `D6`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub individual_permission: Option<Option<Text>>,
    /// DF2/EF04 `D7`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_application: Option<RenewalStatus>,
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
    /// DF1/EF02.
    #[serde(flatten)]
    pub printed: PrintedEntries,
    /// DF2.
    #[serde(flatten)]
    pub back: BackEntries,
}

/// Decoded fields of either generation.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Fields {
    /// Types "1"/"2".
    Gen1(Gen1Fields),
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
    pub flow: Flow,
    /// The read policy (`full`, `text_only`).
    pub policy: ReadPolicy,
    /// Redacted card number.
    pub card_number: String,
    /// Decoded fields.
    pub fields: Fields,
    /// Summaries of the images read, by name (`front`, `face`, `name`, `address`).
    pub images: BTreeMap<&'static str, ImageSummary>,
    /// Verification results.
    pub verification: Verification,
    /// [`Verification::verdict`]: `production`, `test`, `untrusted`, `invalid`,
    /// `absent` or `not_checked`.
    pub verdict: Verdict,
    /// Counters.
    pub metrics: Metrics,
    /// How the reads were carried: `extended_length` and the `fallbacks` used.
    pub link: LinkReport,
    /// Warnings.
    pub warnings: Vec<Warning>,
}

impl Report {
    /// Builds the report of a read.
    pub fn from_read(r: &CardRead) -> Self {
        let (ja, en) = r.card_type.names();
        let spec_version = r.common.spec_version.clone();
        let fields = match &r.data {
            CardData::Gen1(d) => Fields::Gen1(Gen1Fields {
                spec_version,
                name: None,
                address_written_on: d.address.date.clone(),
                municipality_code: d.address.municipality_code.clone(),
                address: d.address.address.clone(),
                comprehensive_permission: d.comprehensive_permission.clone(),
                individual_permission: d.individual_permission.clone(),
                renewal_application: d.renewal,
            }),
            CardData::Gen2(d) => Fields::Gen2(Box::new(Gen2Fields {
                spec_version,
                name: None,
                address: None,
                printed: d.printed.clone(),
                back: d.back.clone(),
            })),
        };
        let images = r
            .images()
            .into_iter()
            .map(|(n, i)| (n, ImageSummary { format: i.format, bytes: i.bytes().len(), stored: i.value.len() }))
            .collect();
        Report {
            schema: REPORT_SCHEMA,
            zairyu_version: env!("CARGO_PKG_VERSION"),
            card_type: r.card_type.code(),
            card_type_name: Names { ja, en },
            generation: r.card_type.generation(),
            flow: r.flow,
            policy: r.policy,
            card_number: r.card_number_redacted.clone(),
            fields,
            images,
            verification: r.verification.clone(),
            verdict: r.verification.verdict(),
            metrics: r.metrics,
            link: r.link.clone(),
            warnings: r.warnings.clone(),
        }
    }

    /// Pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }
}
