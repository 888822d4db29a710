//! The CLI's error: a core error, or a failure to write the CLI's own output; and
//! [`write_stdout`], which reports a closed standard output as such an error (where
//! `println!` would panic).

use std::io::Write;
use std::path::PathBuf;

use zairyu::Error;
use zairyu::error::TransportError;

use crate::exit;

/// What a command can fail with.
#[derive(Debug)]
pub enum CliError {
    /// Reading or verifying failed (the core's typed error and code).
    Core(Error),
    /// A problem of the command line itself that the core has no code for: where
    /// the card number or the card comes from.
    Cli {
        /// The stable code.
        code: CliCode,
        /// What is wrong and what to do; never contains a card number.
        message: String,
    },
    /// `write-address` did not end in a confirmed write: refused (by the authority,
    /// its policy or the card), failed, or not confirmed by the re-read; or its
    /// authority could not be loaded. The code is the core's `WriteError::code()`
    /// (or the authority set-up's); never contains a card number.
    Write {
        /// The stable code (`policy_unknown_counter`, `card_refused`, `readback_mismatch`, …).
        code: String,
        /// The process exit code (`crate::exit`).
        exit: u8,
        /// What happened.
        message: String,
    },
    /// Writing output failed: a file of `dump`, or standard output.
    Output {
        /// What could not be written.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The CLI's own error codes (besides [`CliError::OUTPUT_CODE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CliCode {
    /// No card number source, or more than one (`--card-number`, `--card-number-stdin`,
    /// `--card-number-fd`, `ZAIRYU_CARD_NUMBER`).
    CardNumberSource,
    /// `read`/`dump` without `--reader` or `--sim`, and no PC/SC reader is connected
    /// (or no PC/SC service runs).
    NoReader,
    /// `read`/`dump` without `--reader` or `--sim`, and several PC/SC readers are
    /// connected.
    SeveralReaders,
    /// `read`/`dump` without `--sim` in a build without the `pcsc` feature.
    #[cfg_attr(feature = "pcsc", allow(dead_code))] // made only by builds without PC/SC
    PcscNotBuilt,
}

impl CliCode {
    /// Every code.
    #[cfg(test)]
    pub const ALL: &'static [CliCode] =
        &[CliCode::CardNumberSource, CliCode::NoReader, CliCode::SeveralReaders, CliCode::PcscNotBuilt];

    /// The stable name printed as `error [NAME]`.
    pub fn as_str(self) -> &'static str {
        match self {
            CliCode::CardNumberSource => "card_number_source",
            CliCode::NoReader => "no_reader",
            CliCode::SeveralReaders => "several_readers",
            CliCode::PcscNotBuilt => "pcsc_not_built",
        }
    }

    /// The process exit code: no reader is a card/transport condition, the others are
    /// usage errors.
    pub fn exit_code(self) -> u8 {
        match self {
            CliCode::NoReader => exit::CARD_OR_TRANSPORT,
            CliCode::CardNumberSource | CliCode::SeveralReaders | CliCode::PcscNotBuilt => exit::USAGE,
        }
    }
}

impl CliError {
    /// A [`CliError::Cli`].
    pub fn cli(code: CliCode, message: impl Into<String>) -> Self {
        CliError::Cli { code, message: message.into() }
    }

    /// The code of [`CliError::Output`].
    pub const OUTPUT_CODE: &'static str = "output_write_failed";

    /// An output error on `path`.
    pub fn output(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CliError::Output { path: path.into(), source }
    }

    /// The stable code: the core's ([`Error::code`]), the CLI's, the write's, or
    /// [`Self::OUTPUT_CODE`].
    pub fn code(&self) -> &str {
        match self {
            CliError::Core(e) => e.code(),
            CliError::Cli { code, .. } => code.as_str(),
            CliError::Write { code, .. } => code,
            CliError::Output { .. } => Self::OUTPUT_CODE,
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Core(e) => exit::for_error(e.error_code()),
            CliError::Cli { code, .. } => code.exit_code(),
            CliError::Write { exit, .. } => *exit,
            CliError::Output { .. } => exit::OUTPUT,
        }
    }
}

impl core::fmt::Display for CliError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CliError::Core(e) => e.fmt(f),
            CliError::Cli { message, .. } | CliError::Write { message, .. } => f.write_str(message),
            CliError::Output { path, source } => write!(f, "cannot write {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Core(e) => Some(e),
            CliError::Cli { .. } | CliError::Write { .. } => None,
            CliError::Output { source, .. } => Some(source),
        }
    }
}

/// What [`CliError::Output`] names for standard output.
pub const STDOUT: &str = "standard output";

/// Writes to standard output and flushes; used through the `out!` and `outln!` macros.
pub fn write_stdout(args: core::fmt::Arguments<'_>) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args).and_then(|()| out.flush()).map_err(|e| CliError::output(STDOUT, e))
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::Core(e)
    }
}

/// `From` for the core's error kinds that commands meet directly.
macro_rules! from_core {
    ($($kind:ty),*) => {$(
        impl From<$kind> for CliError {
            fn from(e: $kind) -> Self {
                CliError::Core(e.into())
            }
        }
    )*};
}

from_core!(TransportError, zairyu::error::InputError, zairyu::error::VerifyError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_errors_have_their_own_code_and_exit_code() {
        let e = CliError::output("/x/report.json", std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert_eq!(e.code(), "output_write_failed");
        assert_eq!(e.exit_code(), exit::OUTPUT);
        assert!(e.to_string().starts_with("cannot write /x/report.json: "), "{e}");
        let e = CliError::from(TransportError::CardRemoved);
        assert_eq!((e.code(), e.exit_code()), ("transport_card_removed", exit::CARD_OR_TRANSPORT));
        assert_ne!(exit::OUTPUT, exit::CARD_OR_TRANSPORT);
    }

    #[test]
    fn cli_codes_are_distinct_from_the_cores_and_have_listed_exit_codes() {
        for &code in CliCode::ALL {
            let e = CliError::cli(code, "why");
            assert_eq!((e.code(), e.to_string().as_str()), (code.as_str(), "why"));
            assert!(exit::TABLE.iter().any(|&(c, _)| c == e.exit_code()), "{code:?}");
            assert!(zairyu::error::ErrorCode::ALL.iter().all(|c| c.as_str() != code.as_str()), "{code:?}");
            assert_ne!(code.as_str(), CliError::OUTPUT_CODE);
        }
        assert_eq!(CliError::cli(CliCode::NoReader, "").exit_code(), exit::CARD_OR_TRANSPORT);
        assert_eq!(CliError::cli(CliCode::SeveralReaders, "").exit_code(), exit::USAGE);
    }
}
