//! # zairyu-evidence
//!
//! Evidence a clerk and an auditor can use, from a [`zairyu`] read (issue 14):
//!
//! | module | what |
//! |---|---|
//! | [`image`] | the chip's JPEG 2000 and CCITT G4 TIFF images as PNG, in pure Rust ([`image_png`]) |
//! | [`html`] | the side-by-side report page for the counter ([`report_html`]) |
//! | [`evidence`](mod@evidence) | `evidence.json` ([`evidence_json`]) and its offline re-verification ([`verify_evidence`]; pin station keys to prove the whole file) |
//! | [`export`] | registry export rows ([`export_row`]) under a versioned column schema, as CSV or JSON lines |
//!
//! Nothing here panics on card data: a malformed image is an [`ImageError`] that the
//! report shows in place of the image, and a malformed evidence file is a verdict.
//! The full card number appears only where the caller passes it.

#![forbid(unsafe_code)]

pub mod evidence;
pub mod export;
pub mod html;
pub mod image;

pub use evidence::{
    CardNumberPolicy, EvidenceOptions, EvidenceVerdict, Integrity, Proves, StationKey, StationKeyError, StationPin,
    StationStatus, UNPINNED_CAVEAT, VerifyOptions, evidence_json, parse_station_key_sha256, station_public_key_sha256,
    verify_evidence, verify_evidence_with,
};
pub use export::{COLUMNS, CsvOptions, EXPORT_SCHEMA, ExportOptions, Row, export_row, write_csv, write_jsonl};
pub use html::{PngImage, VERDICT_CSS, png_images, report_html};
pub use image::{ImageError, image_png};
