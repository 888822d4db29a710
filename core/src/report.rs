//! The JSON report: one schema for the CLI, the C library and the Python package.
//!
//! It never contains the card number in full (only [`CardNumber::redacted`]), keys,
//! or image bytes (images are exported separately). Top-level fields are stable:
//! `card_type`, `generation`, `flow`, `fields`, `images`, `verification`, `metrics`.
//!
//! [`CardNumber::redacted`]: crate::CardNumber::redacted

use serde::Serialize;

use crate::files::{ImageFormat, RenewalStatus, Text};
use crate::reader::CardRead;
use crate::session::Metrics;
use crate::verify::Verification;

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
    /// Bytes of image data without zero fill.
    pub bytes: usize,
    /// Bytes stored on the chip (the fixed field length).
    pub stored: usize,
}

/// Decoded fields, for registry import (住民票作成支援).
#[derive(Debug, Clone, Serialize)]
pub struct Fields {
    /// MF/EF01 spec version.
    pub spec_version: String,
    /// The holder's name: first-generation chips carry it only as part of the front
    /// image, so it is `null` here.
    pub name: Option<String>,
    /// DF2/EF01 `D2`.
    pub address_written_on: Option<String>,
    /// DF2/EF01 `D3`.
    pub municipality_code: Option<String>,
    /// DF2/EF01 `D4`.
    pub address: Option<Text>,
    /// DF2/EF02 `D5`; absent key on special permanent resident certificates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comprehensive_permission: Option<Option<Text>>,
    /// DF2/EF03 `D6`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub individual_permission: Option<Option<Text>>,
    /// DF2/EF04 `D7`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_application: Option<RenewalStatus>,
}

/// Images present on the card.
#[derive(Debug, Clone, Serialize)]
pub struct Images {
    /// DF1/EF01 front image.
    pub front: ImageSummary,
    /// DF1/EF02 face.
    pub face: ImageSummary,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`REPORT_SCHEMA`].
    pub schema: u32,
    /// The library version that made it.
    pub zairyu_version: &'static str,
    /// `"1"`, `"2"` (MF/EF02).
    pub card_type: &'static str,
    /// Card type names.
    pub card_type_name: Names,
    /// 1 or 2.
    pub generation: u8,
    /// The access flow used.
    pub flow: &'static str,
    /// Redacted card number.
    pub card_number: String,
    /// Decoded fields.
    pub fields: Fields,
    /// Image summaries.
    pub images: Images,
    /// Verification results.
    pub verification: Verification,
    /// Counters.
    pub metrics: Metrics,
    /// Warnings.
    pub warnings: Vec<String>,
}

impl Report {
    /// Builds the report of a read.
    pub fn from_read(r: &CardRead) -> Self {
        let (ja, en) = r.card_type.names();
        let d = &r.data;
        let img = |i: &crate::files::Image| ImageSummary {
            format: i.format,
            bytes: i.bytes().len(),
            stored: i.value.len(),
        };
        Report {
            schema: REPORT_SCHEMA,
            zairyu_version: env!("CARGO_PKG_VERSION"),
            card_type: r.card_type.code(),
            card_type_name: Names { ja, en },
            generation: r.card_type.generation(),
            flow: r.flow,
            card_number: r.card_number_redacted.clone(),
            fields: Fields {
                spec_version: r.common.spec_version.clone(),
                name: None,
                address_written_on: d.address.date.clone(),
                municipality_code: d.address.municipality_code.clone(),
                address: d.address.address.clone(),
                comprehensive_permission: d.comprehensive_permission.clone(),
                individual_permission: d.individual_permission.clone(),
                renewal_application: d.renewal,
            },
            images: Images {
                front: img(&d.front_image),
                face: img(&d.face_image),
            },
            verification: r.verification.clone(),
            metrics: r.metrics,
            warnings: r.warnings.clone(),
        }
    }

    /// Pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }
}
