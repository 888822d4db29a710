//! Result codes: `zairyu_result`, numbered in category blocks; the one mapping
//! from the core's [`ErrorCode`] onto them; their names and messages.

use std::ffi::{CStr, CString, c_char};
use std::sync::OnceLock;

use zairyu_core::Error;
use zairyu_core::error::ErrorCode;

use crate::util::{self, CEnum, Failure, c_enum, guard, non_null_mut, write_out};

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
/// | 10xx | address write (AWP v1): the authority, its policy, the record, the card's write |
/// | 11xx | evidence: chip images as PNG, evidence files, station keys, export |
///
/// The snake_case name of each code (`zairyu_result_name`) is the core error's
/// stable code name where one exists (`wrong_card_number`, `transport_card_removed`
/// ...), the same names the CLI prints and the Python exceptions carry; those
/// codes are listed by `zairyu_error_code_count` and `zairyu_error_code_at`.
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
    /// An option value is not one of its names (core `input_bad_option`). The
    /// functions of this version take options as numbers or flags and report a bad
    /// one as `ZAIRYU_RESULT_INVALID_ARGUMENT`, as before; this code is for core
    /// errors that carry it.
    InputBadOption = 108,
    /// A text value holds a NUL byte, so it cannot be given as a NUL-terminated
    /// string without being cut short (card text is data read from a chip and may
    /// hold one). Nothing is written; `zairyu_read_result_field_raw` gives the bytes
    /// and their length. See "the NUL rule" at the top of this header.
    TextContainsNul = 109,

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
    /// The reader or its driver failed to carry an APDU (a short-APDU reader's
    /// refusal) and no short-APDU variant of the read was left.
    TransportLinkRefused = 208,
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
    /// An internal failure without a code of its own (a bug), e.g. a report that
    /// cannot be rendered as JSON. No core error maps to it: the core's error codes
    /// map to result codes exhaustively, checked when the library is built. The
    /// number is kept (ABI stability).
    UnknownError = 901,

    /// The write authority refused or stopped the write for a reason of its own
    /// (EF.ChipAuthInfo not signed by the write issuer, its own chain invalid, a
    /// failed Terminal or Chip Authentication, secure messaging, its signer ...).
    /// The last-error detail starts with the authority's stable code
    /// (`chip_auth_info_invalid`, `authentication_failed` ...).
    AuthorityRefused = 1000,
    /// The authority's policy does not let this counter write for the record's
    /// municipality code (`policy_unknown_counter`, `policy_municipality_not_allowed`).
    PolicyRefused = 1001,
    /// The new record fails a check: the date is not YYYYMMDD of a real day, the
    /// municipality code has no valid check digit, the address is empty, too long or
    /// holds a control character.
    RecordInvalid = 1002,
    /// The authority cannot render the second generation's address image: no font,
    /// an unreadable font, a character without a glyph, or an address that does not fit
    /// 2,500 bytes (`font_not_found`, `glyph_missing`, `address_image_too_large` ...).
    AddressImageFailed = 1003,
    /// The card refused a command of the write (e.g. the terminal certificate or the
    /// write intent); its file is unchanged.
    WriteCardRefused = 1004,
    /// The card has no usable write application (no AWP application, an unreadable
    /// EF.ChipAuthInfo) or is of a type without an address to write.
    WriteNotSupported = 1005,
    /// The re-read on a new card session does not show the record and the receipt's
    /// content: the write is **not** confirmed.
    ReadbackMismatch = 1006,
    /// The authority returned its receipt, but the new card session or the re-read
    /// failed (the card left, was reset ...): the card holds the old or the new
    /// content, whole; read it again to know which.
    WriteUnconfirmed = 1007,
    /// The authority cannot be reached, answered out of protocol, or cannot write its
    /// audit log (it then fails closed).
    AuthorityUnavailable = 1008,
    /// An authority directory (or a test write PKI) cannot be loaded: a missing or
    /// malformed certificate, key or policy, a key that is not the terminal's, a
    /// broken audit log; or the link to a remote authority cannot be set up: a URL
    /// that is not https://HOST:PORT, an unreadable or malformed PEM file, a client
    /// key that does not fit its certificate.
    AuthoritySetupFailed = 1009,

    /// A chip image does not decode (`zairyu_read_result_image_png`): a malformed
    /// TIFF or JPEG 2000 file, or one its decoder gave up on. The last-error detail
    /// starts with the evidence crate's image error code (`malformed`,
    /// `decoder_panic`). A card may be forged: this is card data, not a library bug,
    /// and every other getter of the result keeps working.
    ImageMalformed = 1100,
    /// A chip image is neither TIFF nor JPEG 2000 (JP2 or codestream).
    ImageUnknownFormat = 1101,
    /// A chip image is well formed but of a kind not converted (a colour space, bit
    /// depth or TIFF compression other than the chip's).
    ImageUnsupported = 1102,
    /// A chip image's header claims no pixels, or more than 16 Mi pixels; refused
    /// before any pixel buffer is allocated.
    ImageTooLarge = 1103,
    /// An evidence file is not accepted (altered, malformed, its station signature
    /// invalid, or its verification differs from the recorded one): refused by
    /// `zairyu_export_rows`. The detail names the index of the file.
    EvidenceRejected = 1104,
    /// A station key is not a PKCS#8 DER ECDSA P-256 private key.
    StationKeyInvalid = 1105,
}

c_enum!(
    zairyu_result,
    "result code",
    [
        Ok,
        NullPointer,
        BufferTooSmall,
        InvalidUtf8,
        InvalidArgument,
        InputBadCardNumber,
        InputBadFile,
        NotPresent,
        HandleBusy,
        InputBadOption,
        TextContainsNul,
        TransportCardRemoved,
        TransportCardReset,
        TransportReaderUnavailable,
        TransportNoSuchReader,
        TransportSharingViolation,
        TransportCommandTooLong,
        TransportExtendedLengthUnsupported,
        TransportOther,
        TransportLinkRefused,
        NotBuiltWithPcsc,
        CardStatus,
        WrongCardNumber,
        CardNumberMismatch,
        WrongGeneration,
        AuthCardMacMismatch,
        AuthRandomMismatch,
        AuthBadLength,
        SmMissingDataObject,
        SmBadPaddingIndicator,
        SmBlockAlignment,
        SmBadPadding,
        SmTrailingData,
        Parse,
        VerifyUnpinnedProductionRoot,
        VerifyBadAnchorFile,
        UnsupportedCardType,
        UnknownCardType,
        Panic,
        UnknownError,
        AuthorityRefused,
        PolicyRefused,
        RecordInvalid,
        AddressImageFailed,
        WriteCardRefused,
        WriteNotSupported,
        ReadbackMismatch,
        WriteUnconfirmed,
        AuthorityUnavailable,
        AuthoritySetupFailed,
        ImageMalformed,
        ImageUnknownFormat,
        ImageUnsupported,
        ImageTooLarge,
        EvidenceRejected,
        StationKeyInvalid,
    ]
);

impl zairyu_result {
    /// The one mapping from the core's error codes. Exhaustive, without a wildcard
    /// arm: a code added to the core does not compile here until it has a number.
    pub const fn from_code(code: ErrorCode) -> Self {
        use ErrorCode as C;
        use zairyu_result as R;
        match code {
            C::TransportCardRemoved => R::TransportCardRemoved,
            C::TransportCardReset => R::TransportCardReset,
            C::TransportReaderUnavailable => R::TransportReaderUnavailable,
            C::TransportNoSuchReader => R::TransportNoSuchReader,
            C::TransportSharingViolation => R::TransportSharingViolation,
            C::TransportCommandTooLong => R::TransportCommandTooLong,
            C::TransportExtendedLengthUnsupported => R::TransportExtendedLengthUnsupported,
            C::TransportOther => R::TransportOther,
            C::TransportLinkRefused => R::TransportLinkRefused,
            C::CardStatus => R::CardStatus,
            C::WrongCardNumber => R::WrongCardNumber,
            C::WrongGeneration => R::WrongGeneration,
            C::CardNumberMismatch => R::CardNumberMismatch,
            C::AuthCardMacMismatch => R::AuthCardMacMismatch,
            C::AuthRandomMismatch => R::AuthRandomMismatch,
            C::AuthBadLength => R::AuthBadLength,
            C::SmMissingDataObject => R::SmMissingDataObject,
            C::SmBadPaddingIndicator => R::SmBadPaddingIndicator,
            C::SmBlockAlignment => R::SmBlockAlignment,
            C::SmBadPadding => R::SmBadPadding,
            C::SmTrailingData => R::SmTrailingData,
            C::Parse => R::Parse,
            C::VerifyUnpinnedProductionRoot => R::VerifyUnpinnedProductionRoot,
            C::VerifyBadAnchorFile => R::VerifyBadAnchorFile,
            C::InputBadCardNumber => R::InputBadCardNumber,
            C::InputBadFile => R::InputBadFile,
            C::InputBadOption => R::InputBadOption,
            C::UnsupportedCardType => R::UnsupportedCardType,
            C::UnknownCardType => R::UnknownCardType,
        }
    }

    /// The code of a core error.
    pub fn from_error(e: &Error) -> Self {
        Self::from_code(e.error_code())
    }

    /// The core error code this result code mirrors, if any.
    pub fn error_code(self) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| Self::from_code(*c) == self)
    }

    /// The stable snake_case name: for codes that mirror a core error, that
    /// error's [`ErrorCode::as_str`].
    pub fn name(self) -> &'static str {
        use zairyu_result as R;
        match self {
            R::Ok => "ok",
            R::NullPointer => "null_pointer",
            R::BufferTooSmall => "buffer_too_small",
            R::InvalidUtf8 => "invalid_utf8",
            R::InvalidArgument => "invalid_argument",
            R::NotPresent => "not_present",
            R::HandleBusy => "handle_busy",
            R::TextContainsNul => "text_contains_nul",
            R::NotBuiltWithPcsc => "not_built_with_pcsc",
            R::Panic => "panic",
            R::UnknownError => "unknown_error",
            R::AuthorityRefused => "authority_refused",
            R::PolicyRefused => "policy_refused",
            R::RecordInvalid => "record_invalid",
            R::AddressImageFailed => "address_image_failed",
            R::WriteCardRefused => "write_card_refused",
            R::WriteNotSupported => "write_not_supported",
            R::ReadbackMismatch => "readback_mismatch",
            R::WriteUnconfirmed => "write_unconfirmed",
            R::AuthorityUnavailable => "authority_unavailable",
            R::AuthoritySetupFailed => "authority_setup_failed",
            R::ImageMalformed => "image_malformed",
            R::ImageUnknownFormat => "image_unknown_format",
            R::ImageUnsupported => "image_unsupported",
            R::ImageTooLarge => "image_too_large",
            R::EvidenceRejected => "evidence_rejected",
            R::StationKeyInvalid => "station_key_invalid",
            // Every other code mirrors a core error (tested).
            _ => self.error_code().map_or("unknown", ErrorCode::as_str),
        }
    }

    /// [`Self::name`] as a static C string.
    fn c_name(self) -> &'static CStr {
        static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
        let names =
            NAMES.get_or_init(|| Self::ALL.iter().map(|r| CString::new(r.name()).unwrap_or_default()).collect());
        Self::ALL.iter().position(|r| *r == self).and_then(|i| names.get(i)).map_or(c"unknown", CString::as_c_str)
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
            R::InputBadOption => "an option value is not one of its names",
            R::TextContainsNul => "the text holds a NUL byte; get its bytes with their length instead",
            R::TransportCardRemoved => "card removed or not present",
            R::TransportCardReset => "card was reset; the secure-messaging session is dropped",
            R::TransportReaderUnavailable => "reader or PC/SC service unavailable",
            R::TransportNoSuchReader => "no such reader",
            R::TransportSharingViolation => "the card is in use by another application",
            R::TransportCommandTooLong => "command exceeds the transport limit",
            R::TransportExtendedLengthUnsupported => "reader cannot carry extended APDUs",
            R::TransportOther => "transport failure",
            R::TransportLinkRefused => "the reader could not carry an APDU",
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
            R::UnknownError => "internal error without a result code of its own",
            R::AuthorityRefused => "the write authority refused or stopped the write",
            R::PolicyRefused => "the authority's policy does not allow this counter to write this municipality",
            R::RecordInvalid => "the new address record fails a check",
            R::AddressImageFailed => "the authority cannot render the address image",
            R::WriteCardRefused => "the card refused the write; its file is unchanged",
            R::WriteNotSupported => "the card has no usable write application",
            R::ReadbackMismatch => "the re-read does not match what was written: the write is not confirmed",
            R::WriteUnconfirmed => "the re-read after the write failed: read the card again",
            R::AuthorityUnavailable => "the write authority is unavailable",
            R::AuthoritySetupFailed => "the authority cannot be set up (its directory, or the remote link's files)",
            R::ImageMalformed => "the chip image does not decode",
            R::ImageUnknownFormat => "the chip image is neither TIFF nor JPEG 2000",
            R::ImageUnsupported => "the chip image is of a kind not converted",
            R::ImageTooLarge => "the chip image's size is out of range",
            R::EvidenceRejected => "an evidence file is not accepted (altered, malformed or verifying differently)",
            R::StationKeyInvalid => "the station key is not a PKCS#8 P-256 private key",
        }
    }
}

/// The stable snake_case name of a result code, e.g. "wrong_card_number" for
/// `ZAIRYU_RESULT_WRONG_CARD_NUMBER`: for codes that mirror a core error it is the
/// core's code name, the same word the CLI prints (`error [wrong_card_number]: ...`)
/// and the Python exception carries. A number that is not a result code gives
/// "unknown".
///
/// Ownership: a static string; never free it. Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn zairyu_result_name(code: u32) -> *const c_char {
    util::guard_value(c"unknown".as_ptr(), || {
        zairyu_result::from_number(code).map_or(c"unknown", zairyu_result::c_name).as_ptr()
    })
}

/// Renders the generic message of a result code, "<name>: <description>", e.g.
/// "wrong_card_number: wrong card number: the card rejected it". Text output (see
/// the buffer rule at the top). A number that is not a result code renders
/// "unknown: result code N" (and succeeds).
///
/// Thread safety: any thread.
///
/// @param code a result code.
/// @param buf receives the text; may be NULL only if buf_len is 0.
/// @param buf_len its size in bytes.
/// @param out_len must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_result_message(
    code: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    guard(|| {
        let text = match zairyu_result::from_number(code) {
            Some(r) => format!("{}: {}", r.name(), r.description()),
            None => format!("unknown: result code {code}"),
        };
        // SAFETY: header contract: the buffer rule.
        unsafe { util::copy_out(text.as_bytes(), true, buf.cast(), buf_len, out_len) }
    })
}

/// The number of the core's error codes: the words the CLI prints and the Python
/// exceptions carry, each with a result code of the same name. With
/// `zairyu_error_code_at`, a program can list them (e.g. to check a table of its
/// own messages against the library it runs with).
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn zairyu_error_code_count() -> usize {
    ErrorCode::ALL.len()
}

/// The result code of the core's error code number `index` (0 to
/// `zairyu_error_code_count() - 1`, in the core's order); `zairyu_result_name` of
/// it is the core's name. An index out of range is `ZAIRYU_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// @param index which error code.
/// @param out receives its result code; must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_error_code_at(index: usize, out: *mut zairyu_result) -> zairyu_result {
    guard(|| {
        let out = non_null_mut(out, "out")?;
        let code = ErrorCode::ALL.get(index).ok_or_else(|| {
            Failure::invalid(format!("error code index {index} out of range (count {})", ErrorCode::ALL.len()))
        })?;
        // SAFETY: non-NULL and writable (header contract).
        unsafe { write_out(out, zairyu_result::from_code(*code)) };
        Ok(())
    })
}

/// Renders the detail of the most recent call **on the calling thread** that
/// returned a code other than `ZAIRYU_RESULT_OK`: "<name>: <detail>", e.g.
/// "card_status: SELECT DF failed: card status 6A82 (file not found)". Details never
/// contain the card number, keys or card data. Text output (see the buffer rule);
/// `ZAIRYU_RESULT_NOT_PRESENT` if no call on this thread has failed. A call of this
/// function that fails (buffer too small) does not replace the detail.
///
/// Thread safety: any thread; each thread has its own last error.
///
/// @param buf receives the text; may be NULL only if buf_len is 0.
/// @param buf_len its size in bytes.
/// @param out_len must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_last_error_message(
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    let Some(text) = util::guard_value(None, util::last_error) else {
        if out_len.is_null() {
            return zairyu_result::NullPointer;
        }
        return zairyu_result::NotPresent;
    };
    // Not through `guard`: reading the last error must not overwrite it.
    let copied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: header contract: the buffer rule.
        unsafe { util::copy_out(text.as_bytes(), true, buf.cast(), buf_len, out_len) }
    }));
    match copied {
        Ok(Ok(())) => zairyu_result::Ok,
        Ok(Err(f)) => f.code,
        Err(_) => zairyu_result::Panic,
    }
}
