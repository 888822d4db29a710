//! The one place where Rust errors become Python exceptions.
//!
//! [`class_of`] maps every [`ErrorCode`] to its exception class by an exhaustive
//! `match`: a code added to the core fails to compile here until it has a class. The
//! classes themselves are pure Python (`python/zairyu/_errors.py`); each error is
//! handed to `zairyu._errors._from_native` as `(class name, code, message, sw,
//! details)`. Messages come from the core's `Display`, which never contains the card
//! number, keys or card data.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use zairyu::error::{Error, ErrorCode, InputError, ParseError, UnsupportedError, VerifyError};

/// The exception class (a name in `zairyu._errors`) of each code.
pub fn class_of(code: ErrorCode) -> &'static str {
    use ErrorCode as C;
    match code {
        C::TransportCardRemoved => "CardRemovedError",
        C::TransportCardReset => "CardResetError",
        C::TransportReaderUnavailable => "ReaderUnavailableError",
        C::TransportNoSuchReader => "NoSuchReaderError",
        C::TransportSharingViolation
        | C::TransportCommandTooLong
        | C::TransportExtendedLengthUnsupported
        | C::TransportLinkRefused
        | C::TransportOther => "TransportError",
        C::CardStatus => "CardError",
        C::WrongCardNumber | C::CardNumberMismatch => "WrongCardNumber",
        C::WrongGeneration => "WrongGenerationError",
        C::AuthCardMacMismatch | C::AuthRandomMismatch | C::AuthBadLength => "AuthenticationError",
        C::SmMissingDataObject
        | C::SmBadPaddingIndicator
        | C::SmBlockAlignment
        | C::SmBadPadding
        | C::SmTrailingData => "SecureMessagingError",
        C::Parse => "ParseError",
        C::VerifyUnpinnedProductionRoot | C::VerifyBadAnchorFile => "VerificationError",
        C::InputBadCardNumber | C::InputBadFile | C::InputBadOption => "InvalidInputError",
        C::UnsupportedCardType | C::UnknownCardType => "UnsupportedCardType",
    }
}

/// The code of the one error the binding raises itself: a read on a closed card.
pub const CLOSED: &str = "closed";
/// Its class.
const CLOSED_CLASS: &str = "CardClosedError";

/// Converts a core error. The details dictionary carries the variant's fields that
/// are safe to show (status word, step, file and offset, path), never secrets.
pub fn to_py(py: Python<'_>, e: &Error) -> PyErr {
    let details = PyDict::new(py);
    if let Err(err) = fill_details(&details, e) {
        return err;
    }
    let sw = e.status_word().map(|sw| sw.as_u16());
    build(py, class_of(e.error_code()), e.code(), &e.to_string(), sw, details)
}

fn fill_details(details: &Bound<'_, PyDict>, e: &Error) -> PyResult<()> {
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
        Error::Verify(VerifyError::BadAnchorFile { path, .. }) | Error::Input(InputError::BadFile { path, .. }) => {
            details.set_item("path", path)?
        }
        Error::Input(InputError::BadOption { option, .. }) => details.set_item("option", *option)?,
        Error::Unsupported(UnsupportedError::CardType { card_type, .. }) => {
            details.set_item("card_type", card_type.code())?
        }
        _ => {}
    }
    Ok(())
}

/// An option value that is none of its names (for options the core has no parser
/// for, e.g. the simulator's check-code format): `input_bad_option`.
pub fn bad_option(py: Python<'_>, option: &'static str, value: &str) -> PyErr {
    to_py(py, &InputError::BadOption { option, value: value.chars().take(16).collect() }.into())
}

/// An error of `code` with a message of the binding's own (no details).
pub fn with_message(py: Python<'_>, code: ErrorCode, message: &str) -> PyErr {
    build(py, class_of(code), code.as_str(), message, None, PyDict::new(py))
}

/// `CardClosedError`: a read on a closed card.
pub fn closed(py: Python<'_>) -> PyErr {
    build(py, CLOSED_CLASS, CLOSED, "the card is closed; open it again to read", None, PyDict::new(py))
}

/// Builds the exception through `zairyu._errors._from_native`.
pub fn build(
    py: Python<'_>,
    class: &str,
    code: &str,
    message: &str,
    sw: Option<u16>,
    details: Bound<'_, PyDict>,
) -> PyErr {
    let made = py
        .import("zairyu._errors")
        .and_then(|m| m.getattr("_from_native"))
        .and_then(|f| f.call1((class, code, message, sw, details)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// One error per [`ErrorCode`], each with the fields its details carry.
fn sample_errors() -> Vec<Error> {
    use zairyu::apdu::StatusWord;
    use zairyu::error::{AuthError, SmError, Step, TransportError};
    use zairyu::files::CardType;
    use zairyu::options::Flow;
    vec![
        TransportError::CardRemoved.into(),
        TransportError::CardReset.into(),
        TransportError::ReaderUnavailable("gone".into()).into(),
        TransportError::NoSuchReader("r".into()).into(),
        TransportError::SharingViolation.into(),
        TransportError::CommandTooLong { len: 9, max: 5 }.into(),
        TransportError::ExtendedLengthUnsupported.into(),
        TransportError::LinkRefused(zairyu::error::LinkRefusal::NotTransacted).into(),
        TransportError::Other("x".into()).into(),
        Error::Card { step: Step::ReadBinary, sw: StatusWord::SecurityStatusNotSatisfied },
        Error::WrongCardNumber { step: Step::Verify, flow: Flow::Gen1 },
        Error::WrongGeneration { card_type: CardType::ResidenceCard, flow: Flow::Gen2 },
        Error::CardNumberMismatch,
        AuthError::CardMacMismatch.into(),
        AuthError::RandomMismatch.into(),
        AuthError::BadLength { step: Step::GetChallenge, got: 1, expected: 8 }.into(),
        SmError::MissingDataObject.into(),
        SmError::BadPaddingIndicator.into(),
        SmError::BlockAlignment.into(),
        SmError::BadPadding.into(),
        SmError::TrailingData.into(),
        ParseError { file: "DF2/EF01", offset: 3, what: zairyu::error::ParseProblem::Truncated }.into(),
        VerifyError::UnpinnedProductionRoot { path: "a.der".into(), fingerprint: "00".into() }.into(),
        VerifyError::BadAnchorFile { path: "b.der".into(), reason: "bad".into() }.into(),
        InputError::BadCardNumber { len: 3 }.into(),
        InputError::BadFile { path: "t.tsv".into(), reason: "bad".into() }.into(),
        InputError::BadOption { option: "read policy", value: "everything".into() }.into(),
        UnsupportedError::CardType { card_type: CardType::SpecifiedResidenceCard, description: "specified card" }
            .into(),
        UnsupportedError::UnknownCardType("C10139".into()).into(),
    ]
}

/// One converted sample exception per error code, and `closed`: for the Python test
/// that the mapping covers every code of `ERROR_CODES`.
pub fn samples(py: Python<'_>) -> Vec<(&'static str, PyErr)> {
    let mut out: Vec<(&'static str, PyErr)> = sample_errors().iter().map(|e| (e.code(), to_py(py, e))).collect();
    out.push((CLOSED, closed(py)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pure-Python exception classes, as shipped in the wheel.
    const ERRORS_PY: &str = include_str!("../python/zairyu/_errors.py");

    /// The base class of `class` as `_errors.py` defines it (`class Name(Base, …):`).
    fn base_of(class: &str) -> Option<&'static str> {
        let head = format!("\nclass {class}(");
        let start = ERRORS_PY.find(&head)? + head.len();
        let bases = &ERRORS_PY[start..start + ERRORS_PY[start..].find(')')?];
        bases.split(',').next().map(str::trim)
    }

    /// `class` and its ancestors up to `ZairyuError`.
    fn ancestry(class: &'static str) -> Vec<&'static str> {
        let mut chain = vec![class];
        while let Some(base) = base_of(chain[chain.len() - 1]).filter(|b| *b != "Exception") {
            assert!(chain.len() < 10, "cyclic classes: {chain:?}");
            chain.push(base);
        }
        chain
    }

    #[test]
    fn every_code_has_a_defined_class_of_its_family() {
        let families = [
            ("transport_", "TransportError"),
            ("auth_", "AuthenticationError"),
            ("sm_", "SecureMessagingError"),
            ("verify_", "VerificationError"),
            ("input_", "InvalidInputError"),
        ];
        for &code in ErrorCode::ALL {
            let class = class_of(code);
            let chain = ancestry(class);
            assert!(base_of(class).is_some(), "{code}: class {class} is not defined in _errors.py");
            assert_eq!(chain.last(), Some(&"ZairyuError"), "{code}: {chain:?}");
            assert!(ERRORS_PY.contains(&format!("\"{class}\",")), "{class} is not in _errors.__all__");
            for (prefix, family) in families {
                if code.as_str().starts_with(prefix) {
                    assert!(chain.contains(&family), "{code} maps to {class}, not a {family}");
                }
            }
        }
        assert_eq!(ancestry(CLOSED_CLASS).last(), Some(&"ZairyuError"));
        assert_eq!(ancestry("CardRemovedError"), ["CardRemovedError", "TransportError", "ZairyuError"]);
    }

    #[test]
    fn samples_cover_every_code_once() {
        let codes: Vec<ErrorCode> = sample_errors().iter().map(Error::error_code).collect();
        for &code in ErrorCode::ALL {
            assert_eq!(codes.iter().filter(|c| **c == code).count(), 1, "{code}");
        }
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        assert!(ErrorCode::ALL.iter().all(|c| c.as_str() != CLOSED));
    }
}
