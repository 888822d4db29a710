//! The address write (AWP v1, issue 12): `Authority` (the write authority the counter
//! relays to: in-process from a directory, or the `zairyu-authority` service over
//! HTTPS with mutual TLS, behind the same class), the write itself (the core's one counter-side write,
//! [`write_address`]), its receipt as a dictionary, and the one mapping of every
//! refusal onto the write exception classes of `zairyu._errors` ([`class_of_code`]).

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::verify::TrustStore;
use zairyu::write::counter::{AddressWrite, WriteError, WriteErrorKind, write_address};
use zairyu::write::record::{NewAddress, WriteTarget};
use zairyu::write::relay::AuthorityLink;
use zairyu_authority_core::InProcessAuthority;
use zairyu_authority_core::remote::RemoteAuthority;

use crate::card::{Card, DynTransport};
use crate::{errors, lock};

/// The code of an authority directory (or test write PKI) that cannot be loaded.
pub const SETUP: &str = "authority_setup_failed";

/// A write authority: the party that holds the terminal key and runs the write's
/// secure channel with the card; the counter only relays APDU bytes. One write at a
/// time (a second waits).
#[pyclass(module = "zairyu._native", name = "Authority", frozen)]
pub struct Authority {
    link: Mutex<Box<dyn AuthorityLink + Send>>,
    counter_id: String,
}

#[pymethods]
impl Authority {
    /// The in-process authority of directory `dir` for the counter `counter_id`.
    #[staticmethod]
    fn from_dir(py: Python<'_>, dir: PathBuf, counter_id: &str) -> PyResult<Self> {
        let loaded = py.detach(|| InProcessAuthority::from_dir(&dir, counter_id));
        let authority = loaded.map_err(|e| setup_error(py, &format!("authority directory: {e}")))?;
        Ok(Authority { link: Mutex::new(Box::new(authority)), counter_id: counter_id.to_owned() })
    }

    /// The link to the write authority service at `urls` (`https://HOST:PORT`, tried
    /// in turn), presenting `client_cert` with `client_key` and trusting only
    /// `authority_ca` for the service's certificate. The counter identity is the
    /// client certificate's common name.
    #[staticmethod]
    fn remote(
        py: Python<'_>,
        urls: Vec<String>,
        client_cert: PathBuf,
        client_key: PathBuf,
        authority_ca: PathBuf,
    ) -> PyResult<Self> {
        let loaded = py.detach(|| {
            let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
            RemoteAuthority::from_files(&urls, &client_cert, &client_key, &authority_ca)
        });
        let remote = loaded.map_err(|e| {
            errors::build(
                py,
                "AuthoritySetupError",
                e.code(),
                &format!("authority service: {e}"),
                None,
                PyDict::new(py),
            )
        })?;
        let counter_id = remote.counter_identity().unwrap_or_default().to_owned();
        Ok(Authority { link: Mutex::new(Box::new(remote)), counter_id })
    }

    /// The counter identity this authority serves.
    #[getter]
    fn counter_id(&self) -> String {
        self.counter_id.clone()
    }
}

/// `AuthoritySetupError`: a directory that cannot be loaded.
pub fn setup_error(py: Python<'_>, message: &str) -> PyErr {
    errors::build(py, "AuthoritySetupError", SETUP, message, None, PyDict::new(py))
}

/// The exception class (a name in `zairyu._errors`) of each kind of failed write
/// (the core's one classification, which the C result codes and the CLI's exit codes
/// follow too); `None` for the read's own errors, which raise the read's exceptions.
pub fn class_of(kind: WriteErrorKind) -> Option<&'static str> {
    Some(match kind {
        WriteErrorKind::Read => return None,
        WriteErrorKind::AuthorityRefused => "AuthorityRefused",
        WriteErrorKind::PolicyRefused => "PolicyRefused",
        WriteErrorKind::RecordInvalid => "RecordRefused",
        WriteErrorKind::AddressImageFailed => "AddressImageError",
        WriteErrorKind::CardRefused => "WriteRefusedByCard",
        WriteErrorKind::NotSupported => "WriteNotSupported",
        WriteErrorKind::ReadBackMismatch => "ReadBackMismatch",
        WriteErrorKind::Unconfirmed => "WriteUnconfirmed",
        WriteErrorKind::AuthorityUnavailable => "AuthorityUnavailable",
    })
}

/// The exception of a failed write. The access read's errors (a wrong card number, a
/// removed card …) and a transport failure during the relayed write are the read's
/// exceptions; the rest are the write classes, with the stable code of
/// [`WriteError::code`] (the CLI's word).
pub fn to_py(py: Python<'_>, e: &WriteError) -> PyErr {
    let class = match class_of(e.kind()) {
        Some(class) => class,
        None => match e.core_error() {
            Some(err) => return errors::to_py(py, &err),
            None => "WriteError",
        },
    };
    // Write messages never contain the card number: access and re-read errors are the
    // core's, the rest are the authority's and the relay's (codes, steps, status words).
    errors::build(py, class, &e.code(), &e.to_string(), None, PyDict::new(py))
}

/// The new record, as `Card.write_address` takes it.
pub struct Record {
    pub date: String,
    pub municipality_code: String,
    pub address: String,
    pub operator_id: String,
}

/// Writes `record` into the card through `authority` and confirms it on a new card
/// session; returns the receipt as a dictionary. Runs without the GIL.
pub fn write<'py>(
    py: Python<'py>,
    card: &Card,
    card_number: &str,
    record: Record,
    authority: &Authority,
) -> PyResult<Bound<'py, PyDict>> {
    // The number first: it is a CardNumber (zeroized on drop) from here on.
    let number = CardNumber::parse(card_number).map_err(|e| errors::to_py(py, &e.into()))?;
    let request = AddressWrite {
        record: NewAddress { date: record.date, municipality_code: record.municipality_code, address: record.address },
        operator_id: record.operator_id,
    };
    let outcome = py.detach(|| {
        let mut guard = lock(&card.inner);
        let open = guard.as_mut()?;
        let mut link = lock(&authority.link);
        // The access read's verification does not decide the write (the authority
        // checks the card's EF.ChipAuthInfo itself): no anchors are needed.
        let trust = TrustStore::new();
        Some(write_address(
            &mut open.transport,
            |t: &mut &mut DynTransport| t.new_session(),
            &number,
            &trust,
            &mut OsRandom,
            &mut **link,
            request,
        ))
    });
    drop(number);
    let outcome = match outcome {
        None => return Err(errors::closed(py)),
        Some(Err(e)) => return Err(to_py(py, &e)),
        Some(Ok(o)) => o,
    };
    let r = &outcome.receipt;
    let d = PyDict::new(py);
    // The names of the receipt's JSON (as the C library's and the CLI's).
    let target = match r.target {
        WriteTarget::Df2Ef01 => "df2_ef01",
        WriteTarget::Df1Ef04 => "df1_ef04",
    };
    d.set_item("target", target)?;
    d.set_item("content_sha256", &r.content_sha256)?;
    d.set_item("old_content_sha256", r.old_content_sha256.as_deref())?;
    d.set_item("card_number_sha256", &r.card_number_sha256)?;
    d.set_item("terminal", &r.terminal)?;
    d.set_item("chip_auth_info_signer", &r.chip_auth_info_signer)?;
    d.set_item("time_unix", r.time_unix)?;
    d.set_item("round_trips", r.round_trips)?;
    d.set_item("generation", outcome.generation)?;
    d.set_item("apdus", outcome.apdus)?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stable write code maps to its class, and every class the write raises is
    /// defined and exported by `_errors.py` (the C library's `every_write_code_maps_to_its_class`
    /// checks the same codes against its result codes).
    #[test]
    fn every_write_code_has_a_defined_class() {
        let errors_py = include_str!("../python/zairyu/_errors.py");
        let table = [
            ("policy_unknown_counter", "PolicyRefused"),
            ("policy_municipality_not_allowed", "PolicyRefused"),
            ("record_invalid", "RecordRefused"),
            ("font_not_found", "AddressImageError"),
            ("font_unreadable", "AddressImageError"),
            ("glyph_missing", "AddressImageError"),
            ("address_image_too_large", "AddressImageError"),
            ("render_settings_invalid", "AddressImageError"),
            ("card_refused", "WriteRefusedByCard"),
            ("write_card_status", "WriteNotSupported"),
            ("write_chip_auth_info_unreadable", "WriteNotSupported"),
            ("write_unsupported_card", "WriteNotSupported"),
            ("read_back_mismatch", "ReadBackMismatch"),
            ("readback_mismatch", "ReadBackMismatch"),
            ("authority_unavailable", "AuthorityUnavailable"),
            ("authority_protocol", "AuthorityUnavailable"),
            ("chip_auth_info_invalid", "AuthorityRefused"),
            ("authentication_failed", "WriteRefusedByCard"),
            ("session_abandoned", "AuthorityRefused"),
        ];
        for (code, class) in table {
            assert_eq!(class_of(zairyu::write::counter::kind_of_code(code)), Some(class), "{code}");
        }
        for class in table.iter().map(|(_, c)| *c).chain(["WriteUnconfirmed", "AuthoritySetupError", "WriteError"]) {
            assert!(errors_py.contains(&format!("\nclass {class}(")), "{class} is not defined in _errors.py");
            assert!(errors_py.contains(&format!("\"{class}\",")), "{class} is not in _errors.__all__");
        }
    }
}
