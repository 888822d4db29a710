//! One error type built from per-layer enums.
//!
//! Every variant has a stable code name ([`Error::code`]); the C enum and the Python
//! exception classes reuse these names word for word. Messages never contain the
//! card number, keys or card data.

use crate::apdu::StatusWord;
use crate::files::CardType;
use crate::options::Flow;

/// The command during which something went wrong, for error messages and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Step {
    /// SELECT FILE of the MF (SPEC15 §4.2.1).
    SelectMf,
    /// SELECT FILE of a DF by AID (SPEC15 §4.2.1).
    SelectDf,
    /// READ BINARY in plain (SPEC15 §4.2.5).
    ReadBinary,
    /// READ BINARY under secure messaging (SPEC15 §4.2.5).
    SmReadBinary,
    /// GET CHALLENGE (SPEC15 §4.2.3).
    GetChallenge,
    /// MUTUAL AUTHENTICATE (SPEC15 §4.2.4).
    MutualAuthenticate,
    /// VERIFY under secure messaging (SPEC15 §4.2.2).
    Verify,
}

impl core::fmt::Display for Step {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Step::SelectMf => "SELECT MF",
            Step::SelectDf => "SELECT DF",
            Step::ReadBinary => "READ BINARY",
            Step::SmReadBinary => "SM READ BINARY",
            Step::GetChallenge => "GET CHALLENGE",
            Step::MutualAuthenticate => "MUTUAL AUTHENTICATE",
            Step::Verify => "VERIFY",
        })
    }
}

/// Failures of the transport (the reader, the driver, the link to the card).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The card left the field, or was never there.
    #[error("card removed or not present")]
    CardRemoved,
    /// The card was reset; any secure-messaging session is gone.
    #[error("card was reset; the secure-messaging session is dropped")]
    CardReset,
    /// The reader is gone (unplugged, or the service stopped).
    #[error("reader unavailable: {0}")]
    ReaderUnavailable(String),
    /// No reader with the requested name.
    #[error("no such reader: {0}")]
    NoSuchReader(String),
    /// Another application holds the card exclusively.
    #[error("sharing violation: the card is in use by another application")]
    SharingViolation,
    /// The command is longer than the transport can carry.
    #[error("command of {len} bytes exceeds the transport limit of {max}")]
    CommandTooLong {
        /// Encoded command length.
        len: usize,
        /// The transport's limit.
        max: usize,
    },
    /// The transport cannot carry extended-length APDUs.
    #[error("reader cannot carry extended APDUs")]
    ExtendedLengthUnsupported,
    /// The reader or its driver failed to carry one APDU or its answer, as readers
    /// without extended-length support do (the card is still there). The session
    /// takes it as the signal to use the next short-APDU variant of a read; it ends
    /// a read only where no variant is left.
    #[error("the reader could not carry the APDU: {0}")]
    LinkRefused(LinkRefusal),
    /// Anything else the backend reports.
    #[error("transport failure: {0}")]
    Other(String),
}

/// How a reader or driver refused to carry an APDU ([`TransportError::LinkRefused`]):
/// the failures real PC/SC stacks produce for an extended-length APDU on a reader
/// or card that cannot carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum LinkRefusal {
    /// `SCARD_E_NOT_TRANSACTED`: the driver failed the transmit (the CCID driver's
    /// "Command too long" on a short-APDU reader), the card still present.
    #[error("the driver failed the transmit (SCARD_E_NOT_TRANSACTED)")]
    NotTransacted,
    /// `SCARD_E_INSUFFICIENT_BUFFER`: the answer is longer than the receive buffer
    /// (the card executed the command).
    #[error("the answer exceeds the receive buffer (SCARD_E_INSUFFICIENT_BUFFER)")]
    InsufficientBuffer,
    /// `SCARD_E_INVALID_PARAMETER`: the stack refused the APDU's length.
    #[error("the stack refused the APDU (SCARD_E_INVALID_PARAMETER)")]
    InvalidParameter,
    /// A T=0 card whose ATR does not declare extended Lc/Le fields: T=0 cannot
    /// carry an extended APDU to it.
    #[error("extended APDU to a T=0 card without extended-length support")]
    T0WithoutExtendedLength,
}

/// Secure-messaging failures (SPEC15 §3.4.2, §4.2.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmError {
    /// The SM response is not a single `86` data object.
    #[error("secure-messaging response is not an 86 data object")]
    MissingDataObject,
    /// The `86` object does not start with the padding indicator `01`.
    #[error("secure-messaging padding indicator is not 01")]
    BadPaddingIndicator,
    /// The ciphertext is not a whole number of cipher blocks.
    #[error("ciphertext length is not a multiple of the block size")]
    BlockAlignment,
    /// The decrypted data does not end in `80 00…` padding within one block.
    #[error("bad padding in decrypted secure-messaging data")]
    BadPadding,
    /// Bytes follow the `86` data object.
    #[error("trailing bytes after the secure-messaging data object")]
    TrailingData,
}

/// Mutual-authentication failures detected by the terminal (SPEC15 Annex 1 step 4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The card's MAC over E_ICC does not match.
    #[error("card authentication MAC (M_ICC) does not match")]
    CardMacMismatch,
    /// The decrypted E_ICC does not carry our challenge values.
    #[error("card authentication cryptogram does not carry the expected random values")]
    RandomMismatch,
    /// The card's response to MUTUAL AUTHENTICATE or GET CHALLENGE has the wrong length.
    #[error("{step} response has {got} bytes, expected {expected}")]
    BadLength {
        /// The command.
        step: Step,
        /// Bytes received.
        got: usize,
        /// Bytes expected.
        expected: usize,
    },
}

/// Where in the card data a parse error happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at {file} offset {offset}")]
pub struct ParseError {
    /// The file or object being parsed, e.g. `"DF2/EF01"`.
    pub file: &'static str,
    /// Byte offset of the problem inside that file.
    pub offset: usize,
    /// What is wrong.
    pub what: ParseProblem,
}

/// The kind of parse problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseProblem {
    /// Input ended inside a tag, a length or a value.
    #[error("truncated data")]
    Truncated,
    /// A length field that this spec does not use (`83` or more, or `80`).
    #[error("unsupported length form {0:#04x}")]
    BadLengthForm(u8),
    /// A tag other than the one the spec puts here.
    #[error("unexpected tag {found:#06x} (expected {expected:#06x})")]
    UnexpectedTag {
        /// Tag expected by the spec.
        expected: u16,
        /// Tag found.
        found: u16,
    },
    /// A required data object is missing.
    #[error("missing data object {0:#06x}")]
    MissingTag(u16),
    /// A value has a length the spec does not allow.
    #[error("bad value length {got} (allowed up to {max})")]
    BadValueLength {
        /// Found length.
        got: usize,
        /// Largest allowed.
        max: usize,
    },
    /// Non-zero bytes after the last data object (only `00` fill is allowed).
    #[error("non-zero bytes after the last data object")]
    TrailingGarbage,
    /// A value that must be ASCII digits (dates, codes) is not.
    #[error("value is not in the expected format: {0}")]
    BadFormat(&'static str),
    /// The municipality code's check digit does not match.
    #[error("municipality code check digit mismatch")]
    CheckDigit,
    /// A certificate that cannot be decoded.
    #[error("certificate: {0}")]
    Certificate(String),
    /// A response APDU shorter than its status word.
    #[error("response shorter than two bytes")]
    ShortResponse,
    /// A response larger than the spec's largest file.
    #[error("response of {0} bytes exceeds the largest response the spec defines")]
    Oversized(usize),
}

/// Verification setup failures (loading trust anchors). A failed *signature* is
/// not an error: it is a result ([`crate::verify::SignatureStatus::Invalid`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A file in the production trust directory does not match any pinned fingerprint.
    #[error("{path}: certificate fingerprint {fingerprint} is not one of the pinned Ministry roots")]
    UnpinnedProductionRoot {
        /// The offending file.
        path: String,
        /// Its SHA-256 fingerprint (hex).
        fingerprint: String,
    },
    /// A trust-anchor file cannot be read or parsed.
    #[error("{path}: {reason}")]
    BadAnchorFile {
        /// The offending file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Problems with caller input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The card number is not 12 ASCII letters and digits (the number itself is not shown).
    #[error("card number must be exactly 12 ASCII letters or digits (got {len} characters)")]
    BadCardNumber {
        /// Length after trimming, in characters.
        len: usize,
    },
    /// An option value (card type, read policy, access flow, simulator fault) is not
    /// one of its names. The value is shown cut to 16 characters.
    #[error("{value:?} is not a valid {option}")]
    BadOption {
        /// Which option.
        option: &'static str,
        /// The value given.
        value: String,
    },
    /// An input file (e.g. a code table) cannot be read or parsed.
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Cards this version recognises but does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnsupportedError {
    /// A card type that this library knows but cannot read yet.
    #[error("card type \"{card_type}\" ({description}) is recognised but not supported yet")]
    CardType {
        /// The card type as read from MF/EF02.
        card_type: CardType,
        /// What that type is.
        description: &'static str,
    },
    /// A card-type value this library does not know (the `C1` value of MF/EF02, at
    /// most its first two bytes, hex).
    #[error("unknown card type (MF/EF02 C1 value {0})")]
    UnknownCardType(String),
}

/// Every error zairyu returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The card answered a command with a status word other than success.
    #[error("{step} failed: card status {sw}")]
    Card {
        /// The command.
        step: Step,
        /// The status word.
        sw: StatusWord,
    },
    /// `63 00` at MUTUAL AUTHENTICATE or VERIFY once the card type is known: the card
    /// number typed does not belong to this card.
    #[error("wrong card number (rejected at {step}, {flow} flow)")]
    WrongCardNumber {
        /// MUTUAL AUTHENTICATE or VERIFY.
        step: Step,
        /// The access flow used.
        flow: Flow,
    },
    /// `63 00` at MUTUAL AUTHENTICATE while running an access flow that the caller
    /// forced and that does not match the card type read from MF/EF02: the card
    /// rejected the other generation's cryptography, not (necessarily) the number.
    #[error("the card (type \"{card_type}\") rejected the {flow} flow: wrong card generation")]
    WrongGeneration {
        /// Card type read from MF/EF02.
        card_type: CardType,
        /// The access flow that was forced.
        flow: Flow,
    },
    /// The card number stored on the chip (second generation, DF1/EF01 `C2`) differs
    /// from the number typed, although the card accepted the typed number.
    #[error("the card number stored on the chip differs from the number typed")]
    CardNumberMismatch,
    /// The card's side of mutual authentication failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Secure messaging failed.
    #[error(transparent)]
    SecureMessaging(#[from] SmError),
    /// Card data could not be parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Trust anchors could not be loaded.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// Caller input is invalid.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The card is of a type this version does not read.
    #[error(transparent)]
    Unsupported(#[from] UnsupportedError),
}

/// Defines [`ErrorCode`], its [`ErrorCode::ALL`] and [`ErrorCode::as_str`] from one list,
/// so a code cannot be added to one and forgotten in another.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// The stable code of every error, shared word for word with the C result
        /// names, the Python exception's `code` and the CLI's JSON. Deliberately not
        /// `non_exhaustive`: the C and Python bindings match it exhaustively, so a new
        /// code fails to compile there until it has a C number and a Python class.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable snake_case name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }
        }
    };
}

error_codes! {
    /// The card left the field, or was never there.
    TransportCardRemoved = "transport_card_removed",
    /// The card was reset; the session is gone.
    TransportCardReset = "transport_card_reset",
    /// The reader or the PC/SC service is gone.
    TransportReaderUnavailable = "transport_reader_unavailable",
    /// No reader with the requested name.
    TransportNoSuchReader = "transport_no_such_reader",
    /// Another application holds the card exclusively.
    TransportSharingViolation = "transport_sharing_violation",
    /// A command is longer than the transport can carry.
    TransportCommandTooLong = "transport_command_too_long",
    /// The transport cannot carry extended-length APDUs.
    TransportExtendedLengthUnsupported = "transport_extended_length_unsupported",
    /// The reader or driver failed to carry an APDU, and no short variant was left.
    TransportLinkRefused = "transport_link_refused",
    /// Any other transport failure.
    TransportOther = "transport_other",
    /// The card answered with an error status word.
    CardStatus = "card_status",
    /// The card rejected the card number (`63 00`).
    WrongCardNumber = "wrong_card_number",
    /// A forced access flow did not match the card's generation.
    WrongGeneration = "wrong_generation",
    /// The card number stored on the chip differs from the one typed.
    CardNumberMismatch = "card_number_mismatch",
    /// The card's authentication MAC does not match.
    AuthCardMacMismatch = "auth_card_mac_mismatch",
    /// The card's cryptogram does not carry the expected random values.
    AuthRandomMismatch = "auth_random_mismatch",
    /// An authentication response has the wrong length.
    AuthBadLength = "auth_bad_length",
    /// The secure-messaging response is not an `86` data object.
    SmMissingDataObject = "sm_missing_data_object",
    /// The secure-messaging padding indicator is not `01`.
    SmBadPaddingIndicator = "sm_bad_padding_indicator",
    /// The ciphertext is not a whole number of blocks.
    SmBlockAlignment = "sm_block_alignment",
    /// Bad padding in decrypted secure-messaging data.
    SmBadPadding = "sm_bad_padding",
    /// Bytes follow the secure-messaging data object.
    SmTrailingData = "sm_trailing_data",
    /// Card data does not parse.
    Parse = "parse",
    /// A production trust file is not a pinned Ministry root.
    VerifyUnpinnedProductionRoot = "verify_unpinned_production_root",
    /// A trust-anchor file cannot be read or parsed.
    VerifyBadAnchorFile = "verify_bad_anchor_file",
    /// The card number is not 12 ASCII letters or digits.
    InputBadCardNumber = "input_bad_card_number",
    /// An input file cannot be read or parsed.
    InputBadFile = "input_bad_file",
    /// An option value is not one of its names.
    InputBadOption = "input_bad_option",
    /// A card type this version recognises but does not read.
    UnsupportedCardType = "unsupported_card_type",
    /// A card type this version does not know.
    UnknownCardType = "unknown_card_type",
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The stable code of this error, shared with the C and Python bindings.
    pub fn error_code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            Error::Transport(e) => match e {
                TransportError::CardRemoved => C::TransportCardRemoved,
                TransportError::CardReset => C::TransportCardReset,
                TransportError::ReaderUnavailable(_) => C::TransportReaderUnavailable,
                TransportError::NoSuchReader(_) => C::TransportNoSuchReader,
                TransportError::SharingViolation => C::TransportSharingViolation,
                TransportError::CommandTooLong { .. } => C::TransportCommandTooLong,
                TransportError::ExtendedLengthUnsupported => C::TransportExtendedLengthUnsupported,
                TransportError::LinkRefused(_) => C::TransportLinkRefused,
                TransportError::Other(_) => C::TransportOther,
            },
            Error::Card { .. } => C::CardStatus,
            Error::WrongCardNumber { .. } => C::WrongCardNumber,
            Error::WrongGeneration { .. } => C::WrongGeneration,
            Error::CardNumberMismatch => C::CardNumberMismatch,
            Error::Auth(e) => match e {
                AuthError::CardMacMismatch => C::AuthCardMacMismatch,
                AuthError::RandomMismatch => C::AuthRandomMismatch,
                AuthError::BadLength { .. } => C::AuthBadLength,
            },
            Error::SecureMessaging(e) => match e {
                SmError::MissingDataObject => C::SmMissingDataObject,
                SmError::BadPaddingIndicator => C::SmBadPaddingIndicator,
                SmError::BlockAlignment => C::SmBlockAlignment,
                SmError::BadPadding => C::SmBadPadding,
                SmError::TrailingData => C::SmTrailingData,
            },
            Error::Parse(_) => C::Parse,
            Error::Verify(e) => match e {
                VerifyError::UnpinnedProductionRoot { .. } => C::VerifyUnpinnedProductionRoot,
                VerifyError::BadAnchorFile { .. } => C::VerifyBadAnchorFile,
            },
            Error::Input(InputError::BadCardNumber { .. }) => C::InputBadCardNumber,
            Error::Input(InputError::BadFile { .. }) => C::InputBadFile,
            Error::Input(InputError::BadOption { .. }) => C::InputBadOption,
            Error::Unsupported(e) => match e {
                UnsupportedError::CardType { .. } => C::UnsupportedCardType,
                UnsupportedError::UnknownCardType(_) => C::UnknownCardType,
            },
        }
    }

    /// The stable code name of this error ([`ErrorCode::as_str`]).
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The status word, for [`Error::Card`] and [`Error::WrongCardNumber`] (`63 00`).
    pub fn status_word(&self) -> Option<StatusWord> {
        match self {
            Error::Card { sw, .. } => Some(*sw),
            Error::WrongCardNumber { .. } | Error::WrongGeneration { .. } => Some(StatusWord::VerificationFailed),
            _ => None,
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = core::result::Result<T, E>;
