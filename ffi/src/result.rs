//! Result codes: `zairyu_result`, numbered in category blocks, and the one
//! function that maps a core [`Error`] onto them.

use zairyu_core::Error;

/// Result of every fallible function. `ZAIRYU_RESULT_OK` (0) is success; every
/// other value is a failure. Numbers are grouped in blocks of a hundred by
/// category and are never reused: a number keeps its meaning for as long as the
/// library exists (see "ABI stability" at the top of this header).
///
/// | block | category |
/// |---|---|
/// | 0 | success |
/// | 1xx | caller input: pointers, buffers, arguments, handle use |
/// | 2xx | transport: reader, PC/SC, transmit callback |
/// | 3xx | card status word |
/// | 4xx | card number and mutual authentication |
/// | 5xx | secure messaging |
/// | 6xx | card data that does not parse |
/// | 7xx | trust store (verification setup) |
/// | 8xx | card type not supported |
/// | 9xx | internal |
///
/// The snake_case name of each code (`zairyu_result_name`) is the core error's
/// stable code name where one exists (`wrong_card_number`, `transport_card_removed`
/// ...), the same names the CLI prints and the Python exceptions carry.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_result {
    /// Success.
    Ok = 0,

    /// A required pointer argument is NULL.
    NullPointer = 100,
    /// The caller's buffer is too small; `*out_len` holds the size needed.
    BufferTooSmall = 101,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 102,
    /// An argument is out of range (unknown enum value or flag, bad option).
    InvalidArgument = 103,
    /// The card number is not 12 ASCII letters or digits (core `input_bad_card_number`).
    InputBadCardNumber = 104,
    /// An input file cannot be read or parsed (core `input_bad_file`).
    InputBadFile = 105,
    /// The requested value is not on this card or was not read (e.g. the address
    /// text of a second-generation card, the face image under `text_only`).
    NotPresent = 106,
    /// The handle is in use by another call (another thread, or a transmit
    /// callback calling back into its own card).
    HandleBusy = 107,

    /// The card left the field, or was never there.
    TransportCardRemoved = 200,
    /// The card was reset; the secure-messaging session is gone.
    TransportCardReset = 201,
    /// The reader or the PC/SC service is gone.
    TransportReaderUnavailable = 202,
    /// No reader with the requested name.
    TransportNoSuchReader = 203,
    /// Another application holds the card exclusively.
    TransportSharingViolation = 204,
    /// A command is longer than the transport can carry.
    TransportCommandTooLong = 205,
    /// The transport cannot carry extended-length APDUs.
    TransportExtendedLengthUnsupported = 206,
    /// Any other transport failure, including a transmit callback that returned a
    /// value other than 0 and the 2xx codes above, or an impossible response length.
    TransportOther = 207,
    /// This library was built without PC/SC support (cargo feature `pcsc`).
    NotBuiltWithPcsc = 250,

    /// The card answered with an error status word (the message names it).
    CardStatus = 300,

    /// The card rejected the card number (`63 00`).
    WrongCardNumber = 400,
    /// The card number stored on a second-generation chip differs from the one typed.
    CardNumberMismatch = 401,
    /// A forced access flow did not match the card's generation.
    WrongGeneration = 402,
    /// The card's authentication MAC does not match.
    AuthCardMacMismatch = 403,
    /// The card's authentication cryptogram does not carry the expected random values.
    AuthRandomMismatch = 404,
    /// An authentication response has the wrong length.
    AuthBadLength = 405,

    /// The secure-messaging response is not an `86` data object.
    SmMissingDataObject = 500,
    /// The secure-messaging padding indicator is not `01`.
    SmBadPaddingIndicator = 501,
    /// The ciphertext is not a whole number of blocks.
    SmBlockAlignment = 502,
    /// Bad padding in decrypted secure-messaging data.
    SmBadPadding = 503,
    /// Bytes follow the secure-messaging data object.
    SmTrailingData = 504,

    /// Card data does not parse (the message names file and offset).
    Parse = 600,

    /// A file in the production trust directory is not a pinned Ministry root.
    VerifyUnpinnedProductionRoot = 700,
    /// A trust-anchor file cannot be read or parsed.
    VerifyBadAnchorFile = 701,

    /// A card type this version recognises but does not read (specified cards).
    UnsupportedCardType = 800,
    /// A card type this version does not know.
    UnknownCardType = 801,

    /// A Rust panic was caught at the API boundary (a bug: please report it).
    Panic = 900,
    /// A core error this version of the C library has no code for (a bug).
    UnknownError = 901,
}

impl zairyu_result {
    /// Every code, in numeric order.
    pub(crate) const ALL: [zairyu_result; 37] = [
        Self::Ok,
        Self::NullPointer,
        Self::BufferTooSmall,
        Self::InvalidUtf8,
        Self::InvalidArgument,
        Self::InputBadCardNumber,
        Self::InputBadFile,
        Self::NotPresent,
        Self::HandleBusy,
        Self::TransportCardRemoved,
        Self::TransportCardReset,
        Self::TransportReaderUnavailable,
        Self::TransportNoSuchReader,
        Self::TransportSharingViolation,
        Self::TransportCommandTooLong,
        Self::TransportExtendedLengthUnsupported,
        Self::TransportOther,
        Self::NotBuiltWithPcsc,
        Self::CardStatus,
        Self::WrongCardNumber,
        Self::CardNumberMismatch,
        Self::WrongGeneration,
        Self::AuthCardMacMismatch,
        Self::AuthRandomMismatch,
        Self::AuthBadLength,
        Self::SmMissingDataObject,
        Self::SmBadPaddingIndicator,
        Self::SmBlockAlignment,
        Self::SmBadPadding,
        Self::SmTrailingData,
        Self::Parse,
        Self::VerifyUnpinnedProductionRoot,
        Self::VerifyBadAnchorFile,
        Self::UnsupportedCardType,
        Self::UnknownCardType,
        Self::Panic,
        Self::UnknownError,
    ];

    /// The stable snake_case name; for codes that mirror a core error it is that
    /// error's [`Error::code`].
    pub fn name(self) -> &'static str {
        use zairyu_result as R;
        match self {
            R::Ok => "ok",
            R::NullPointer => "null_pointer",
            R::BufferTooSmall => "buffer_too_small",
            R::InvalidUtf8 => "invalid_utf8",
            R::InvalidArgument => "invalid_argument",
            R::InputBadCardNumber => "input_bad_card_number",
            R::InputBadFile => "input_bad_file",
            R::NotPresent => "not_present",
            R::HandleBusy => "handle_busy",
            R::TransportCardRemoved => "transport_card_removed",
            R::TransportCardReset => "transport_card_reset",
            R::TransportReaderUnavailable => "transport_reader_unavailable",
            R::TransportNoSuchReader => "transport_no_such_reader",
            R::TransportSharingViolation => "transport_sharing_violation",
            R::TransportCommandTooLong => "transport_command_too_long",
            R::TransportExtendedLengthUnsupported => "transport_extended_length_unsupported",
            R::TransportOther => "transport_other",
            R::NotBuiltWithPcsc => "not_built_with_pcsc",
            R::CardStatus => "card_status",
            R::WrongCardNumber => "wrong_card_number",
            R::CardNumberMismatch => "card_number_mismatch",
            R::WrongGeneration => "wrong_generation",
            R::AuthCardMacMismatch => "auth_card_mac_mismatch",
            R::AuthRandomMismatch => "auth_random_mismatch",
            R::AuthBadLength => "auth_bad_length",
            R::SmMissingDataObject => "sm_missing_data_object",
            R::SmBadPaddingIndicator => "sm_bad_padding_indicator",
            R::SmBlockAlignment => "sm_block_alignment",
            R::SmBadPadding => "sm_bad_padding",
            R::SmTrailingData => "sm_trailing_data",
            R::Parse => "parse",
            R::VerifyUnpinnedProductionRoot => "verify_unpinned_production_root",
            R::VerifyBadAnchorFile => "verify_bad_anchor_file",
            R::UnsupportedCardType => "unsupported_card_type",
            R::UnknownCardType => "unknown_card_type",
            R::Panic => "panic",
            R::UnknownError => "unknown_error",
        }
    }

    /// A short generic description (the per-call detail is in the last-error message).
    pub fn description(self) -> &'static str {
        use zairyu_result as R;
        match self {
            R::Ok => "success",
            R::NullPointer => "a required pointer argument is NULL",
            R::BufferTooSmall => "the buffer is too small; *out_len holds the size needed",
            R::InvalidUtf8 => "a string argument is not valid UTF-8",
            R::InvalidArgument => "an argument is out of range",
            R::InputBadCardNumber => "the card number must be exactly 12 ASCII letters or digits",
            R::InputBadFile => "an input file cannot be read or parsed",
            R::NotPresent => "the value is not on this card or was not read",
            R::HandleBusy => "the handle is in use by another call",
            R::TransportCardRemoved => "card removed or not present",
            R::TransportCardReset => "card was reset; the secure-messaging session is dropped",
            R::TransportReaderUnavailable => "reader or PC/SC service unavailable",
            R::TransportNoSuchReader => "no such reader",
            R::TransportSharingViolation => "the card is in use by another application",
            R::TransportCommandTooLong => "command exceeds the transport limit",
            R::TransportExtendedLengthUnsupported => "reader cannot carry extended APDUs",
            R::TransportOther => "transport failure",
            R::NotBuiltWithPcsc => "this library was built without PC/SC support",
            R::CardStatus => "the card answered with an error status word",
            R::WrongCardNumber => "wrong card number: the card rejected it",
            R::CardNumberMismatch => "the card number stored on the chip differs from the number typed",
            R::WrongGeneration => "the card rejected the access flow of the other generation",
            R::AuthCardMacMismatch => "card authentication MAC does not match",
            R::AuthRandomMismatch => "card authentication cryptogram does not carry the expected random values",
            R::AuthBadLength => "authentication response has the wrong length",
            R::SmMissingDataObject => "secure-messaging response is not an 86 data object",
            R::SmBadPaddingIndicator => "secure-messaging padding indicator is not 01",
            R::SmBlockAlignment => "ciphertext length is not a multiple of the block size",
            R::SmBadPadding => "bad padding in decrypted secure-messaging data",
            R::SmTrailingData => "trailing bytes after the secure-messaging data object",
            R::Parse => "card data does not parse",
            R::VerifyUnpinnedProductionRoot => "a production trust anchor is not one of the pinned Ministry roots",
            R::VerifyBadAnchorFile => "a trust-anchor file cannot be read or parsed",
            R::UnsupportedCardType => "card type recognised but not supported",
            R::UnknownCardType => "unknown card type",
            R::Panic => "internal error: a panic was caught at the API boundary",
            R::UnknownError => "internal error: an error without a C result code",
        }
    }

    /// The code for a raw number, if it is one.
    pub fn from_u32(n: u32) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| *r as u32 == n)
    }

    /// The one mapping from core errors to result codes, by the core's stable
    /// code name ([`Error::code`]), so the C names equal the core's word for word.
    pub fn from_error(e: &Error) -> Self {
        let code = e.code();
        Self::ALL.iter().copied().find(|r| *r != Self::Ok && r.name() == code).unwrap_or(Self::UnknownError)
    }
}
