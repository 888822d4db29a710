//! The one place where Rust errors become Python exceptions.
//!
//! Every [`zairyu::Error`] is turned into `(code, message, sw, details)` here and
//! handed to `zairyu._errors._from_native`, which picks the exception class by the
//! stable code name ([`zairyu::Error::code`]). The classes themselves are pure Python
//! (`python/zairyu/_errors.py`). Messages come from the core's `Display`, which never
//! contains the card number, keys or card data.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use zairyu::error::{Error, ParseError, ParseProblem, UnsupportedError, VerifyError};

/// Codes raised by the binding itself (not by the core).
pub const CLOSED: &str = "closed";
/// An invalid argument of a binding function (simulator option, policy name …).
pub const BAD_OPTION: &str = "input_bad_option";

/// Converts a core error. The details dictionary carries the variant's fields that
/// are safe to show (status word, step, file and offset, path), never secrets.
pub fn to_py(py: Python<'_>, e: &Error) -> PyErr {
    let details = PyDict::new(py);
    let filled: PyResult<()> = (|| {
        match e {
            Error::Card { step, .. } => details.set_item("step", step.to_string())?,
            Error::WrongCardNumber { step, flow } => {
                details.set_item("step", step.to_string())?;
                details.set_item("flow", flow.name())?;
            }
            Error::WrongGeneration { card_type, flow } => {
                details.set_item("card_type", card_type.code())?;
                details.set_item("flow", flow.name())?;
            }
            Error::Parse(ParseError { file, offset, .. }) => {
                details.set_item("file", *file)?;
                details.set_item("offset", *offset)?;
            }
            Error::Verify(VerifyError::UnpinnedProductionRoot { path, fingerprint }) => {
                details.set_item("path", path)?;
                details.set_item("fingerprint", fingerprint)?;
            }
            Error::Verify(VerifyError::BadAnchorFile { path, .. }) => details.set_item("path", path)?,
            Error::Unsupported(UnsupportedError::CardType { card_type, .. }) => {
                details.set_item("card_type", card_type.code())?
            }
            _ => {}
        }
        Ok(())
    })();
    if let Err(err) = filled {
        return err;
    }
    let sw = e.status_word().map(|sw| sw.as_u16());
    build(py, e.code(), &e.to_string(), sw, details)
}

/// Builds the exception of `code` through `zairyu._errors._from_native`.
pub fn build(py: Python<'_>, code: &str, message: &str, sw: Option<u16>, details: Bound<'_, PyDict>) -> PyErr {
    let made = py
        .import("zairyu._errors")
        .and_then(|m| m.getattr("_from_native"))
        .and_then(|f| f.call1((code, message, sw, details)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// An error the binding raises itself, with no details.
pub fn simple(py: Python<'_>, code: &str, message: &str) -> PyErr {
    build(py, code, message, None, PyDict::new(py))
}

/// One sample error per variant of [`zairyu::Error`], converted: for the test that the
/// mapping covers every code.
pub fn samples(py: Python<'_>) -> Vec<(String, PyErr)> {
    use zairyu::apdu::StatusWord;
    use zairyu::error::{AuthError, InputError, SmError, Step, TransportError};
    let all: Vec<Error> = vec![
        TransportError::CardRemoved.into(),
        TransportError::CardReset.into(),
        TransportError::ReaderUnavailable("gone".into()).into(),
        TransportError::NoSuchReader("r".into()).into(),
        TransportError::SharingViolation.into(),
        TransportError::CommandTooLong { len: 9, max: 5 }.into(),
        TransportError::ExtendedLengthUnsupported.into(),
        TransportError::Other("x".into()).into(),
        Error::Card { step: Step::ReadBinary, sw: StatusWord::SecurityStatusNotSatisfied },
        Error::WrongCardNumber { step: Step::Verify, flow: zairyu::options::Flow::Gen1 },
        Error::WrongGeneration { card_type: zairyu::files::CardType::ResidenceCard, flow: zairyu::options::Flow::Gen2 },
        Error::CardNumberMismatch,
        AuthError::CardMacMismatch.into(),
        AuthError::RandomMismatch.into(),
        AuthError::BadLength { step: Step::GetChallenge, got: 1, expected: 8 }.into(),
        SmError::MissingDataObject.into(),
        SmError::BadPaddingIndicator.into(),
        SmError::BlockAlignment.into(),
        SmError::BadPadding.into(),
        SmError::TrailingData.into(),
        ParseError { file: "DF2/EF01", offset: 3, what: ParseProblem::Truncated }.into(),
        VerifyError::UnpinnedProductionRoot { path: "a.der".into(), fingerprint: "00".into() }.into(),
        VerifyError::BadAnchorFile { path: "b.der".into(), reason: "bad".into() }.into(),
        InputError::BadCardNumber { len: 3 }.into(),
        InputError::BadFile { path: "t.tsv".into(), reason: "bad".into() }.into(),
        UnsupportedError::CardType {
            card_type: zairyu::files::CardType::SpecifiedResidenceCard,
            description: "specified card",
        }
        .into(),
        UnsupportedError::UnknownCardType("C10139".into()).into(),
    ];
    let mut out: Vec<(String, PyErr)> = all.iter().map(|e| (e.code().to_owned(), to_py(py, e))).collect();
    out.push((CLOSED.to_owned(), simple(py, CLOSED, "the card is closed")));
    out.push((BAD_OPTION.to_owned(), simple(py, BAD_OPTION, "bad option")));
    out
}
