//! Evidence from Python (issue 14, through the `zairyu-evidence` crate): the chip's
//! images as PNG, the report page, evidence files, their offline re-verification and
//! registry export rows.
//!
//! `Read` holds a completed read (the core's [`CardRead`], whose card data the core
//! zeroizes on drop) for the pure-Python `ReadResult`; `Verdict` holds one
//! re-verified evidence file for `EvidenceVerdict` and the export. Errors are the
//! package's exceptions (`zairyu._errors`): `ImageDecodeError` for a chip image that
//! does not decode, `EvidenceRejectedError` for an export of a rejected file,
//! `InvalidInputError` for bad options.

use std::path::PathBuf;
use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use zairyu::CardNumber;
use zairyu::error::ErrorCode;
use zairyu::files::Image;
use zairyu::sequence::CardRead;
use zairyu_evidence::{
    CardNumberPolicy, CsvOptions, EvidenceOptions, EvidenceVerdict, ExportOptions, ImageError, PngImage, StationKey,
    VerifyOptions, evidence_json, export_row, image_png, parse_station_key_sha256, png_images, report_html,
    verify_evidence_with, write_csv, write_jsonl,
};
use zeroize::Zeroizing;

use crate::errors;
use crate::trust::TrustStore;

/// The image names of the report (`ReadResult.images`).
const IMAGE_NAMES: [&str; 4] = ["front", "face", "name", "address"];

/// A completed read, for `ReadResult.image_png`, `report_html` and `evidence_json`.
#[pyclass(module = "zairyu._native", name = "Read", frozen)]
pub struct Read {
    read: CardRead,
    /// The PNGs, decoded on first use and kept.
    pngs: OnceLock<Vec<PngImage>>,
}

impl Read {
    /// Wraps a read.
    pub fn new(read: CardRead) -> Self {
        Read { read, pngs: OnceLock::new() }
    }

    fn pngs(&self) -> &[PngImage] {
        self.pngs.get_or_init(|| png_images(&self.read))
    }

    /// The PNGs of the images this card has (as `zairyu dump` writes them).
    fn present_pngs(&self) -> Vec<PngImage> {
        let images = self.read.images();
        self.pngs().iter().filter(|p| images.iter().any(|(n, i)| *n == p.name && i.is_present())).cloned().collect()
    }
}

/// The exception of an image that does not become a PNG: `ImageDecodeError` with the
/// code of the C library's result (`image_malformed`, `image_unknown_format`,
/// `image_unsupported`, `image_too_large`) and `details` `image`, `reason`.
fn image_error(py: Python<'_>, name: &str, e: &ImageError) -> PyErr {
    let code = match e {
        ImageError::UnknownFormat => "image_unknown_format",
        ImageError::Unsupported { .. } => "image_unsupported",
        ImageError::TooLarge { .. } => "image_too_large",
        _ => "image_malformed",
    };
    let details = PyDict::new(py);
    let filled = details.set_item("image", name).and_then(|()| details.set_item("reason", e.code()));
    if let Err(err) = filled {
        return err;
    }
    errors::build(py, "ImageDecodeError", code, &format!("the {name} image: {e}"), None, details)
}

/// `InvalidInputError` with a code and message of the binding's own.
fn invalid(py: Python<'_>, code: &str, message: &str) -> PyErr {
    errors::build(py, "InvalidInputError", code, message, None, PyDict::new(py))
}

#[pymethods]
impl Read {
    /// The image `name` as a PNG file. `KeyError` when this card has no such image, did
    /// not read it, or stores it empty; `ImageDecodeError` when it does not decode.
    fn image_png<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyBytes>> {
        if !IMAGE_NAMES.contains(&name) {
            return Err(errors::bad_option(py, "image name", name));
        }
        let present = self.read.images().iter().any(|(n, i)| *n == name && i.is_present());
        let png = py.detach(|| self.pngs().iter().find(|p| p.name == name).map(|p| p.png.clone()));
        match png {
            Some(Ok(bytes)) if present => Ok(PyBytes::new(py, &bytes)),
            Some(Err(e)) if present => Err(image_error(py, name, &e)),
            _ => Err(pyo3::exceptions::PyKeyError::new_err(name.to_owned())),
        }
    }

    /// The report page (HTML).
    fn report_html(&self, py: Python<'_>) -> String {
        py.detach(|| report_html(&self.read, &self.present_pngs()))
    }

    /// The evidence file's bytes. `station_key`: PKCS#8 DER bytes, or the path of a
    /// PKCS#8 file (DER or PEM). `card_number`: the number typed (masked in the files,
    /// or written in full with `include_card_number`).
    #[pyo3(signature = (station_key=None, card_number=None, include_card_number=false, created_at_unix=None))]
    fn evidence_json<'py>(
        &self,
        py: Python<'py>,
        station_key: Option<&Bound<'py, PyAny>>,
        card_number: Option<&str>,
        include_card_number: bool,
        created_at_unix: Option<i64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let key = match station_key {
            None => None,
            Some(k) => {
                let loaded = if let Ok(der) = k.cast::<PyBytes>() {
                    let der = Zeroizing::new(der.as_bytes().to_vec());
                    StationKey::from_pkcs8_der(&der)
                } else {
                    let path: PathBuf = k.extract()?;
                    StationKey::from_pkcs8_file(&path)
                };
                Some(loaded.map_err(|e| invalid(py, "station_key_invalid", &e.to_string()))?)
            }
        };
        let number = card_number.map(CardNumber::parse).transpose().map_err(|e| errors::to_py(py, &e.into()))?;
        let card_number = match (&number, include_card_number) {
            (Some(n), true) => CardNumberPolicy::Include(n),
            (Some(n), false) => CardNumberPolicy::RedactTyped(n),
            (None, false) => CardNumberPolicy::Redact,
            (None, true) => {
                return Err(errors::with_message(
                    py,
                    ErrorCode::InputBadOption,
                    "include_card_number=True needs card_number (the number typed)",
                ));
            }
        };
        let opts = EvidenceOptions { created_at_unix, station_key: key.as_ref(), card_number };
        let bytes = Zeroizing::new(py.detach(|| evidence_json(&self.read, &opts)));
        Ok(PyBytes::new(py, &bytes))
    }
}

/// One re-verified evidence file, for `EvidenceVerdict` and `export_rows`.
#[pyclass(module = "zairyu._native", name = "Verdict", frozen)]
pub struct Verdict {
    verdict: EvidenceVerdict,
}

/// The pins of `station_keys`: each a 32-byte SHA-256 (bytes or bytearray) or its 64
/// hex digits (str). An empty list is refused: `None` verifies without pins.
fn station_pins(py: Python<'_>, keys: &[Bound<'_, PyAny>]) -> PyResult<Vec<[u8; 32]>> {
    if keys.is_empty() {
        return Err(errors::with_message(
            py,
            ErrorCode::InputBadOption,
            "station_keys is empty: pin at least one station key, or pass None to verify without pins",
        ));
    }
    let bad = |i: usize| {
        errors::with_message(
            py,
            ErrorCode::InputBadOption,
            &format!("station_keys[{i}]: a station key pin is a 32-byte SHA-256 (bytes) or 64 hex digits (str)"),
        )
    };
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            if let Ok(hex) = k.extract::<String>() {
                return parse_station_key_sha256(&hex).map_err(|_| bad(i));
            }
            if k.cast::<pyo3::types::PyBytes>().is_ok() || k.cast::<pyo3::types::PyByteArray>().is_ok() {
                let bytes: Vec<u8> = k.extract()?;
                return <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| bad(i));
            }
            Err(bad(i))
        })
        .collect()
}

/// Re-verifies an evidence file without a card (GIL released), with the pinned
/// station keys if any (then only a file one of them signed is accepted). Returns
/// `(accepted, verdict_json, verdict)`.
#[pyfunction]
#[pyo3(signature = (data, trust, station_keys=None))]
pub fn verify_evidence(
    py: Python<'_>,
    data: &[u8],
    trust: &TrustStore,
    station_keys: Option<Vec<Bound<'_, PyAny>>>,
) -> PyResult<(bool, String, Verdict)> {
    let pins = match station_keys {
        None => Vec::new(),
        Some(keys) => station_pins(py, &keys)?,
    };
    let store = trust.snapshot();
    let opts = VerifyOptions { station_keys: &pins, ..VerifyOptions::default() };
    let verdict = py.detach(|| verify_evidence_with(data, &store, &opts));
    let json = verdict.to_json().to_string();
    Ok((verdict.accepted(), json, Verdict { verdict }))
}

/// Export rows of accepted evidence files (accepted as they were verified: under
/// pinned station keys or not), as CSV (`"csv"`) or JSON lines (`"jsonl"`).
#[pyfunction]
#[pyo3(signature = (verdicts, format, bom, era, include_card_number, guard_formulas=false))]
pub fn export_rows(
    py: Python<'_>,
    verdicts: Vec<PyRef<'_, Verdict>>,
    format: &str,
    bom: bool,
    era: bool,
    include_card_number: bool,
    guard_formulas: bool,
) -> PyResult<String> {
    let jsonl = match format {
        "csv" => false,
        "jsonl" => true,
        other => return Err(errors::bad_option(py, "export format", other)),
    };
    if jsonl && bom {
        return Err(errors::with_message(py, ErrorCode::InputBadOption, "bom=True is for CSV only"));
    }
    if jsonl && guard_formulas {
        return Err(errors::with_message(py, ErrorCode::InputBadOption, "guard_formulas=True is for CSV only"));
    }
    let mut rows = Vec::with_capacity(verdicts.len());
    for (i, v) in verdicts.iter().enumerate() {
        let read = match (&v.verdict.read, v.verdict.accepted()) {
            (Some(read), true) => read,
            _ => {
                let details = PyDict::new(py);
                details.set_item("index", i)?;
                let message = format!("evidences[{i}]: the evidence file is not accepted");
                return Err(errors::build(py, "EvidenceRejectedError", "evidence_rejected", &message, None, details));
            }
        };
        let number = match (&v.verdict.card_number_full, include_card_number) {
            (Some(n), true) => Some(CardNumber::parse(n).map_err(|e| errors::to_py(py, &e.into()))?),
            _ => None,
        };
        rows.push(export_row(read, &ExportOptions { card_number: number.as_ref(), japanese_era: era }));
    }
    Ok(if jsonl { write_jsonl(&rows) } else { write_csv(&rows, &CsvOptions { bom, guard_formulas }) })
}

/// The PNG of image bytes as a chip stores them (TIFF or JPEG 2000), with the errors
/// of `Read.image_png` (its image named `"bytes"`): the tests reach the
/// `ImageDecodeError` mapping with it, as no simulated card holds a malformed image.
#[pyfunction]
pub fn _image_png_of<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let image = Image::from_value(data);
    match py.detach(|| image_png(&image)) {
        Ok(png) => Ok(PyBytes::new(py, &png)),
        Err(e) => Err(image_error(py, "bytes", &e)),
    }
}
