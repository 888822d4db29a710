/*
 * zairyu.h: the C API of zairyu, a reader and verifier for the IC chip of Japan's
 * residence card (在留カード) and special permanent resident certificate
 * (特別永住者証明書).
 *
 * Link: -lzairyu (shared), or libzairyu.a with -lpcsclite -lpthread -ldl -lm
 * (static); `pkg-config --cflags --libs zairyu` gives both (README, "C library").
 *
 * API RULES (they hold for every function unless its comment says otherwise)
 *
 * 1. Prefix. Every symbol is `zairyu_` / `ZAIRYU_`.
 * 2. Results. Every fallible function returns a `zairyu_result`. SUCCESS IS 0
 *    (ZAIRYU_RESULT_OK); any other value is a failure. Codes are numbered in
 *    category blocks (1xx input, 2xx transport, 3xx card status, 4xx card number
 *    and authentication, 5xx secure messaging, 6xx parse, 7xx trust store, 8xx
 *    unsupported card, 9xx internal, 10xx address write, 11xx evidence). zairyu_result_name()
 *    gives a code's stable snake_case name (the core's error code name: the CLI
 *    and Python use the same words; zairyu_error_code_count() and
 *    zairyu_error_code_at() list the codes that mirror a core error); zairyu_result_message() renders its description
 *    into a buffer, and zairyu_last_error_message() the detail of the calling
 *    thread's last failure.
 *    No message ever contains a card number, key or card data.
 * 3. Handles. zairyu_trust_store, zairyu_card, zairyu_read_result,
 *    zairyu_reader_list, zairyu_authority, zairyu_write_receipt and
 *    zairyu_evidence_verdict are opaque. Each is made by a function that writes it to
 *    an out-parameter, and freed by its _free function; _free accepts NULL. A
 *    handle must not be used after it is freed, nor freed twice.
 *    zairyu_card_free returns a result: a card that is in a call (another
 *    thread's, or its own transmit callback's) is not freed but refused with
 *    ZAIRYU_RESULT_HANDLE_BUSY.
 * 4. Arguments. A `const` handle argument is only read. Pointer arguments must not
 *    be NULL unless the comment says so: NULL gives ZAIRYU_RESULT_NULL_POINTER.
 *    Strings are NUL-terminated UTF-8 (else ZAIRYU_RESULT_INVALID_UTF8). Input
 *    data is used during the call only: the library keeps no pointer to it
 *    (except a transmit callback's userdata, see zairyu_card_open_callback).
 * 5. Outputs. Out-parameters come last, each buffer followed by its length.
 *    OUTPUTS ARE WRITTEN ONLY ON SUCCESS, with one exception: the buffer rule.
 * 6. The buffer rule. Functions that copy into a caller buffer take
 *    (buf, buf_len, out_len). On success they write the data to buf and its length
 *    to *out_len; text is followed by a NUL byte that *out_len does not count, so
 *    text needs buf_len >= length + 1. If buf_len is too small they return
 *    ZAIRYU_RESULT_BUFFER_TOO_SMALL, write nothing into buf, and set *out_len to
 *    the buffer size needed (NUL included): *out_len is the one output written on
 *    that error. buf may be NULL when buf_len is 0, to ask for the size.
 *    The NUL rule: text output never holds a NUL byte of its own, so a string is
 *    never cut short. Card text is data read from a chip and may hold one: such a
 *    value is refused with ZAIRYU_RESULT_TEXT_CONTAINS_NUL (checked before the
 *    buffer size; nothing is written, *out_len neither), and
 *    zairyu_read_result_field_raw gives its bytes with their length instead. Other
 *    control and bidirectional characters are given as read (the JSON report
 *    warns `unsafe_characters`): escape them before display.
 * 7. Panics. Every function runs inside a panic boundary: an internal bug returns
 *    ZAIRYU_RESULT_PANIC instead of unwinding into C.
 * 8. Threads. Stated per handle and function. In short: a trust store is locked
 *    internally and may be shared by all threads; a read result and a reader list
 *    are immutable and may be read from all threads; a card takes one call at a
 *    time (a concurrent call returns ZAIRYU_RESULT_HANDLE_BUSY).
 * 9. Verification. A read that completes is ZAIRYU_RESULT_OK even when the
 *    signature is invalid: check zairyu_read_result_verdict() (or the signature
 *    and the chain one by one). Only ZAIRYU_VERDICT_PRODUCTION (signature VALID,
 *    chain VERIFIED to a PRODUCTION anchor; zairyu_read_result_is_production_valid)
 *    means a genuine card in the Ministry's production PKI.
 * 10. No C run-time objects cross the boundary. No function takes or returns a
 *    FILE*, memory the caller must release with free() (or that the library
 *    releases with the caller's allocator), or reports through errno: data is
 *    copied into caller buffers (the buffer rule), handles are released only by
 *    their own zairyu_*_free function, and errors are result codes and
 *    zairyu_last_error_message(). So a zairyu.dll built with one C run-time (e.g.
 *    mingw-w64) is usable from programs built with another (e.g. MSVC).
 *
 * ABI STABILITY
 *
 * Within a major version (ZAIRYU_VERSION_MAJOR; during 0.x, within a minor
 * version): result-code numbers and names, enum values, flag bits, function names
 * and signatures, and the JSON report's top-level fields do not change; new
 * functions, result codes, enum values, flags and JSON fields may be added.
 * Result-code numbers are never reused. Callers must treat unknown result codes as
 * failures and ignore unknown JSON fields.
 */

#ifndef ZAIRYU_H
#define ZAIRYU_H

/* Generated by cbindgen from ffi/src (ffi/cbindgen.toml). Do not edit: run ffi/check-header.sh --update. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#define ZAIRYU_STRINGIFY_(x) #x
#define ZAIRYU_STRINGIFY(x) ZAIRYU_STRINGIFY_(x)
/* Version of this header, "MAJOR.MINOR.PATCH"; zairyu_version() gives the library's. */
#define ZAIRYU_VERSION                      \
  ZAIRYU_STRINGIFY(ZAIRYU_VERSION_MAJOR) "." \
  ZAIRYU_STRINGIFY(ZAIRYU_VERSION_MINOR) "." \
  ZAIRYU_STRINGIFY(ZAIRYU_VERSION_PATCH)

// Major version of this header. The library's `zairyu_version()` has the same
// version; a program can compare them at run time.
#define ZAIRYU_VERSION_MAJOR 0

// Minor version of this header.
#define ZAIRYU_VERSION_MINOR 1

// Patch version of this header.
#define ZAIRYU_VERSION_PATCH 0

// Simulator flag: an under-16 card (no face photo, no signature).
#define ZAIRYU_SIM_UNDER_16 1

// Simulator flag: alter a signed image after signing, so the signature is invalid.
#define ZAIRYU_SIM_TAMPERED 2

// Simulator flag: the link carries short APDUs only (the core then uses its fallbacks).
#define ZAIRYU_SIM_SHORT_APDUS_ONLY 4

// Simulator fault: secure-messaging responses carry bad padding (`ZAIRYU_RESULT_SM_BAD_PADDING`).
#define ZAIRYU_SIM_FAULT_BAD_SM_PADDING 8

// Simulator fault: the card's authentication MAC is wrong (`ZAIRYU_RESULT_AUTH_CARD_MAC_MISMATCH`).
#define ZAIRYU_SIM_FAULT_BAD_CARD_MAC 16

// Simulator fault: the card leaves the field after 6 APDUs (`ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED`).
#define ZAIRYU_SIM_FAULT_REMOVE_CARD 32

// Simulator flag: the card is signed by the simulator's *synthetic production* PKI
// instead of its test PKI (`sim/fixtures/gen{1,2}-synthetic-production-ca.der`).
// Those roots are pinned as production roots only in a test build of the library
// (cargo feature `test-production-root`); in any release build
// `zairyu_trust_store_load_production_dir` refuses them as unpinned, so such a card
// is never `ZAIRYU_VERDICT_PRODUCTION` there.
#define ZAIRYU_SIM_SYNTHETIC_PRODUCTION_PKI 64

// Simulator flag: card text that could attack a terminal. The first generation's
// address (DF2 `D4`) and the second generation's note (DF2 `DE`, with its flag set)
// read `"東京都" NUL "千代田区" ESC "[2J" U+202E "霞が関" DEL "１"`: a NUL byte,
// C0 controls, DEL and a bidirectional override. Such a field is refused by
// `zairyu_read_result_field` (`ZAIRYU_RESULT_TEXT_CONTAINS_NUL`); its bytes come from
// `zairyu_read_result_field_raw`, and the JSON report warns `unsafe_characters`.
#define ZAIRYU_SIM_HOSTILE_TEXT 128

// Callback-transport flag: the host's link carries extended-length APDUs
// (Lc/Le of 3 bytes, responses up to 65,538 bytes). Without it the core uses its
// short-APDU fallbacks, which the report names under `link.fallbacks`.
#define ZAIRYU_TRANSPORT_EXTENDED_LENGTH 1

// Size of the response buffer handed to a transmit callback (`resp_cap`): the
// largest response APDU (65,536 data bytes and the status word).
#define ZAIRYU_MAX_RESPONSE 65538

// Evidence flag: the full card number goes into the evidence (`card_number_full`,
// and the files exactly as read). Needs `card_number`.
#define ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER 1

// Evidence flag: the evidence is made at `created_at_unix` instead of now.
#define ZAIRYU_EVIDENCE_CREATED_AT 2

// The length of a station key pin: a SHA-256 digest, 32 bytes.
#define ZAIRYU_STATION_KEY_SHA256_LEN 32

// Export flag: start the CSV with a UTF-8 byte order mark (for spreadsheet
// programs). CSV only.
#define ZAIRYU_EXPORT_BOM 1

// Export flag: fill the `*_era` columns with the Japanese era (`令和元年5月1日`).
#define ZAIRYU_EXPORT_JAPANESE_ERA 2

// Export flag: the full card number, where the evidence holds it (made with
// `ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER`); other rows keep it redacted.
#define ZAIRYU_EXPORT_INCLUDE_CARD_NUMBER 4

// Export flag: a CSV cell starting with `=`, `+`, `-`, `@`, tab or CR gets a `'`
// in front, so a spreadsheet does not run card text as a formula (changes the
// value: for spreadsheets, not for registry import). CSV only.
#define ZAIRYU_EXPORT_GUARD_FORMULAS 8

// JSON flag: indented output (as `zairyu read --json` prints it).
#define ZAIRYU_JSON_PRETTY 1

// The most URLs `zairyu_authority_open_remote` takes.
#define ZAIRYU_AUTHORITY_MAX_URLS 16

// Result of every fallible function. `ZAIRYU_RESULT_OK` (0) is success; every
// other value is a failure. Numbers are grouped in blocks of a hundred by
// category and are never reused: a number keeps its meaning for as long as the
// library exists (see "ABI stability" at the top of this header).
//
// | block | category |
// |---|---|
// | 0 | success |
// | 1xx | caller input: pointers, buffers, arguments, handle use |
// | 2xx | transport: reader, PC/SC, transmit callback |
// | 3xx | card status word |
// | 4xx | card number and mutual authentication |
// | 5xx | secure messaging |
// | 6xx | card data that does not parse |
// | 7xx | trust store (verification setup) |
// | 8xx | card type not supported |
// | 9xx | internal |
// | 10xx | address write (AWP v1): the authority, its policy, the record, the card's write |
// | 11xx | evidence: chip images as PNG, evidence files, station keys, export |
//
// The snake_case name of each code (`zairyu_result_name`) is the core error's
// stable code name where one exists (`wrong_card_number`, `transport_card_removed`
// ...), the same names the CLI prints and the Python exceptions carry; those
// codes are listed by `zairyu_error_code_count` and `zairyu_error_code_at`.
enum zairyu_result
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // Success.
  ZAIRYU_RESULT_OK = 0,
  // A required pointer argument is NULL.
  ZAIRYU_RESULT_NULL_POINTER = 100,
  // The caller's buffer is too small; `*out_len` holds the size needed.
  ZAIRYU_RESULT_BUFFER_TOO_SMALL = 101,
  // A string argument is not valid UTF-8.
  ZAIRYU_RESULT_INVALID_UTF8 = 102,
  // An argument is out of range (unknown enum value or flag, bad option).
  ZAIRYU_RESULT_INVALID_ARGUMENT = 103,
  // The card number is not 12 ASCII letters or digits (core `input_bad_card_number`).
  ZAIRYU_RESULT_INPUT_BAD_CARD_NUMBER = 104,
  // An input file cannot be read or parsed (core `input_bad_file`).
  ZAIRYU_RESULT_INPUT_BAD_FILE = 105,
  // The requested value is not on this card or was not read (e.g. the address
  // text of a second-generation card, the face image under `text_only`).
  ZAIRYU_RESULT_NOT_PRESENT = 106,
  // The handle is in use by another call (another thread, or a transmit
  // callback calling back into its own card).
  ZAIRYU_RESULT_HANDLE_BUSY = 107,
  // An option value is not one of its names (core `input_bad_option`). The
  // functions of this version take options as numbers or flags and report a bad
  // one as `ZAIRYU_RESULT_INVALID_ARGUMENT`, as before; this code is for core
  // errors that carry it.
  ZAIRYU_RESULT_INPUT_BAD_OPTION = 108,
  // A text value holds a NUL byte, so it cannot be given as a NUL-terminated
  // string without being cut short (card text is data read from a chip and may
  // hold one). Nothing is written; `zairyu_read_result_field_raw` gives the bytes
  // and their length. See "the NUL rule" at the top of this header.
  ZAIRYU_RESULT_TEXT_CONTAINS_NUL = 109,
  // The card left the field, or was never there.
  ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED = 200,
  // The card was reset; the secure-messaging session is gone.
  ZAIRYU_RESULT_TRANSPORT_CARD_RESET = 201,
  // The reader or the PC/SC service is gone.
  ZAIRYU_RESULT_TRANSPORT_READER_UNAVAILABLE = 202,
  // No reader with the requested name.
  ZAIRYU_RESULT_TRANSPORT_NO_SUCH_READER = 203,
  // Another application holds the card exclusively.
  ZAIRYU_RESULT_TRANSPORT_SHARING_VIOLATION = 204,
  // A command is longer than the transport can carry.
  ZAIRYU_RESULT_TRANSPORT_COMMAND_TOO_LONG = 205,
  // The transport cannot carry extended-length APDUs.
  ZAIRYU_RESULT_TRANSPORT_EXTENDED_LENGTH_UNSUPPORTED = 206,
  // Any other transport failure, including a transmit callback that returned a
  // value other than 0 and the 2xx codes above, or an impossible response length.
  ZAIRYU_RESULT_TRANSPORT_OTHER = 207,
  // The reader or its driver failed to carry an APDU (a short-APDU reader's
  // refusal) and no short-APDU variant of the read was left.
  ZAIRYU_RESULT_TRANSPORT_LINK_REFUSED = 208,
  // This library was built without PC/SC support (cargo feature `pcsc`).
  ZAIRYU_RESULT_NOT_BUILT_WITH_PCSC = 250,
  // The card answered with an error status word (the message names it).
  ZAIRYU_RESULT_CARD_STATUS = 300,
  // The card rejected the card number (`63 00`).
  ZAIRYU_RESULT_WRONG_CARD_NUMBER = 400,
  // The card number stored on a second-generation chip differs from the one typed.
  ZAIRYU_RESULT_CARD_NUMBER_MISMATCH = 401,
  // A forced access flow did not match the card's generation.
  ZAIRYU_RESULT_WRONG_GENERATION = 402,
  // The card's authentication MAC does not match.
  ZAIRYU_RESULT_AUTH_CARD_MAC_MISMATCH = 403,
  // The card's authentication cryptogram does not carry the expected random values.
  ZAIRYU_RESULT_AUTH_RANDOM_MISMATCH = 404,
  // An authentication response has the wrong length.
  ZAIRYU_RESULT_AUTH_BAD_LENGTH = 405,
  // The secure-messaging response is not an `86` data object.
  ZAIRYU_RESULT_SM_MISSING_DATA_OBJECT = 500,
  // The secure-messaging padding indicator is not `01`.
  ZAIRYU_RESULT_SM_BAD_PADDING_INDICATOR = 501,
  // The ciphertext is not a whole number of blocks.
  ZAIRYU_RESULT_SM_BLOCK_ALIGNMENT = 502,
  // Bad padding in decrypted secure-messaging data.
  ZAIRYU_RESULT_SM_BAD_PADDING = 503,
  // Bytes follow the secure-messaging data object.
  ZAIRYU_RESULT_SM_TRAILING_DATA = 504,
  // Card data does not parse (the message names file and offset).
  ZAIRYU_RESULT_PARSE = 600,
  // A file in the production trust directory is not a pinned Ministry root.
  ZAIRYU_RESULT_VERIFY_UNPINNED_PRODUCTION_ROOT = 700,
  // A trust-anchor file cannot be read or parsed.
  ZAIRYU_RESULT_VERIFY_BAD_ANCHOR_FILE = 701,
  // A card type this version recognises but does not read (specified cards).
  ZAIRYU_RESULT_UNSUPPORTED_CARD_TYPE = 800,
  // A card type this version does not know.
  ZAIRYU_RESULT_UNKNOWN_CARD_TYPE = 801,
  // A Rust panic was caught at the API boundary (a bug: please report it).
  ZAIRYU_RESULT_PANIC = 900,
  // An internal failure without a code of its own (a bug), e.g. a report that
  // cannot be rendered as JSON. No core error maps to it: the core's error codes
  // map to result codes exhaustively, checked when the library is built. The
  // number is kept (ABI stability).
  ZAIRYU_RESULT_UNKNOWN_ERROR = 901,
  // The write authority refused or stopped the write for a reason of its own
  // (EF.ChipAuthInfo not signed by the write issuer, its own chain invalid, a
  // failed Terminal or Chip Authentication, secure messaging, its signer ...).
  // The last-error detail starts with the authority's stable code
  // (`chip_auth_info_invalid`, `authentication_failed` ...).
  ZAIRYU_RESULT_AUTHORITY_REFUSED = 1000,
  // The authority's policy does not let this counter write for the record's
  // municipality code (`policy_unknown_counter`, `policy_municipality_not_allowed`).
  ZAIRYU_RESULT_POLICY_REFUSED = 1001,
  // The new record fails a check: the date is not YYYYMMDD of a real day, the
  // municipality code has no valid check digit, the address is empty, too long or
  // holds a control character.
  ZAIRYU_RESULT_RECORD_INVALID = 1002,
  // The authority cannot render the second generation's address image: no font,
  // an unreadable font, a character without a glyph, or an address that does not fit
  // 2,500 bytes (`font_not_found`, `glyph_missing`, `address_image_too_large` ...).
  ZAIRYU_RESULT_ADDRESS_IMAGE_FAILED = 1003,
  // The card refused a command of the write (e.g. the terminal certificate or the
  // write intent); its file is unchanged.
  ZAIRYU_RESULT_WRITE_CARD_REFUSED = 1004,
  // The card has no usable write application (no AWP application, an unreadable
  // EF.ChipAuthInfo) or is of a type without an address to write.
  ZAIRYU_RESULT_WRITE_NOT_SUPPORTED = 1005,
  // The re-read on a new card session does not show the record and the receipt's
  // content: the write is **not** confirmed.
  ZAIRYU_RESULT_READBACK_MISMATCH = 1006,
  // The authority returned its receipt, but the new card session or the re-read
  // failed (the card left, was reset ...): the card holds the old or the new
  // content, whole; read it again to know which.
  ZAIRYU_RESULT_WRITE_UNCONFIRMED = 1007,
  // The authority cannot be reached, answered out of protocol, or cannot write its
  // audit log (it then fails closed).
  ZAIRYU_RESULT_AUTHORITY_UNAVAILABLE = 1008,
  // An authority directory (or a test write PKI) cannot be loaded: a missing or
  // malformed certificate, key or policy, a key that is not the terminal's, a
  // broken audit log; or the link to a remote authority cannot be set up: a URL
  // that is not https://HOST:PORT, an unreadable or malformed PEM file, a client
  // key that does not fit its certificate.
  ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED = 1009,
  // A chip image does not decode (`zairyu_read_result_image_png`): a malformed
  // TIFF or JPEG 2000 file, or one its decoder gave up on. The last-error detail
  // starts with the evidence crate's image error code (`malformed`,
  // `decoder_panic`). A card may be forged: this is card data, not a library bug,
  // and every other getter of the result keeps working.
  ZAIRYU_RESULT_IMAGE_MALFORMED = 1100,
  // A chip image is neither TIFF nor JPEG 2000 (JP2 or codestream).
  ZAIRYU_RESULT_IMAGE_UNKNOWN_FORMAT = 1101,
  // A chip image is well formed but of a kind not converted (a colour space, bit
  // depth or TIFF compression other than the chip's).
  ZAIRYU_RESULT_IMAGE_UNSUPPORTED = 1102,
  // A chip image's header claims no pixels, or more than 16 Mi pixels; refused
  // before any pixel buffer is allocated.
  ZAIRYU_RESULT_IMAGE_TOO_LARGE = 1103,
  // An evidence file is not accepted (altered, malformed, its station signature
  // invalid, or its verification differs from the recorded one): refused by
  // `zairyu_export_rows`. The detail names the index of the file.
  ZAIRYU_RESULT_EVIDENCE_REJECTED = 1104,
  // A station key is not a PKCS#8 DER ECDSA P-256 private key.
  ZAIRYU_RESULT_STATION_KEY_INVALID = 1105,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_result zairyu_result;
#else
typedef uint32_t zairyu_result;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// What an evidence verdict proves (`zairyu_evidence_verdict_proves`; `proves` in
// its JSON).
enum zairyu_evidence_proof
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // Not accepted: nothing.
  ZAIRYU_EVIDENCE_PROOF_NOTHING = 1,
  // Accepted without a pinned station key (`zairyu_verify_evidence`): only the
  // fields the chip's signature covers (`zairyu_read_result_field_signed`, the
  // export's `*_signed` columns). Unsigned fields (the first generation's address
  // …), the card number, the times and the other metadata could have been
  // rewritten with recomputed hashes.
  ZAIRYU_EVIDENCE_PROOF_CHIP_SIGNED_FIELDS_ONLY = 2,
  // Accepted and signed by a pinned station key (`zairyu_verify_evidence_pinned`):
  // the whole file is as that station wrote it.
  ZAIRYU_EVIDENCE_PROOF_WHOLE_FILE = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_evidence_proof zairyu_evidence_proof;
#else
typedef uint32_t zairyu_evidence_proof;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// What the verification means, in one value (`zairyu_read_result_verdict`): the
// JSON report's `verdict`, and the one rule behind "ok" in the CLI.
enum zairyu_verdict
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // Signature valid and chained to a pinned Ministry root: genuine in the
  // Ministry's production PKI (`zairyu_read_result_is_production_valid`).
  ZAIRYU_VERDICT_PRODUCTION = 1,
  // Signature valid and chained to a test anchor (simulator, sample cards): not genuine.
  ZAIRYU_VERDICT_TEST = 2,
  // Signature valid, but no trust anchor's key signed the card certificate.
  ZAIRYU_VERDICT_UNTRUSTED = 3,
  // Signature invalid: treat the card as possibly forged or altered.
  ZAIRYU_VERDICT_INVALID = 4,
  // No signature on the card (under-16 cards).
  ZAIRYU_VERDICT_ABSENT = 5,
  // The signature was not checked (read policy `ZAIRYU_READ_POLICY_TEXT_ONLY`).
  ZAIRYU_VERDICT_NOT_CHECKED = 6,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_verdict zairyu_verdict;
#else
typedef uint32_t zairyu_verdict;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// The card type (MF/EF02); the numbers are the spec's codes.
enum zairyu_card_type
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // "1" 在留カード (first generation).
  ZAIRYU_CARD_TYPE_RESIDENCE_CARD = 1,
  // "2" 特別永住者証明書 (first generation).
  ZAIRYU_CARD_TYPE_SPECIAL_PERMANENT_RESIDENT = 2,
  // "05" 第２世代在留カード.
  ZAIRYU_CARD_TYPE_GEN2_RESIDENCE_CARD = 5,
  // "06" 第２世代特別永住者証明書.
  ZAIRYU_CARD_TYPE_GEN2_SPECIAL_PERMANENT_RESIDENT = 6,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_card_type zairyu_card_type;
#else
typedef uint32_t zairyu_card_type;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// The signature (check code) result.
enum zairyu_signature_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // The signature verifies under the card certificate's key.
  ZAIRYU_SIGNATURE_STATUS_VALID = 1,
  // It does not: treat the card as possibly forged or altered.
  ZAIRYU_SIGNATURE_STATUS_INVALID = 2,
  // No signature or certificate on the card (under-16 cards).
  ZAIRYU_SIGNATURE_STATUS_ABSENT = 3,
  // Not checked (read policy `ZAIRYU_READ_POLICY_TEXT_ONLY`).
  ZAIRYU_SIGNATURE_STATUS_NOT_CHECKED = 4,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_signature_status zairyu_signature_status;
#else
typedef uint32_t zairyu_signature_status;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// The certificate-chain result.
enum zairyu_chain_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // A trust anchor's key verifies the card certificate.
  ZAIRYU_CHAIN_STATUS_VERIFIED = 1,
  // No anchor's key verifies it.
  ZAIRYU_CHAIN_STATUS_NO_MATCHING_ANCHOR = 2,
  // There is no card certificate.
  ZAIRYU_CHAIN_STATUS_NO_CERTIFICATE = 3,
  // The chain was not checked.
  ZAIRYU_CHAIN_STATUS_NOT_CHECKED = 4,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_chain_status zairyu_chain_status;
#else
typedef uint32_t zairyu_chain_status;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// Which kind of anchor the chain ended in.
enum zairyu_anchor_profile
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // No anchor (the chain is not `ZAIRYU_CHAIN_STATUS_VERIFIED`).
  ZAIRYU_ANCHOR_PROFILE_NONE = 0,
  // A pinned Ministry root.
  ZAIRYU_ANCHOR_PROFILE_PRODUCTION = 1,
  // A test anchor (the simulator's CA, the Ministry's sample-card CA, ...).
  ZAIRYU_ANCHOR_PROFILE_TEST = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_anchor_profile zairyu_anchor_profile;
#else
typedef uint32_t zairyu_anchor_profile;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// An image's container format.
enum zairyu_image_format
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // TIFF.
  ZAIRYU_IMAGE_FORMAT_TIFF = 1,
  // JPEG 2000, JP2 container.
  ZAIRYU_IMAGE_FORMAT_JP2 = 2,
  // JPEG 2000 codestream.
  ZAIRYU_IMAGE_FORMAT_J2K = 3,
  // Something else.
  ZAIRYU_IMAGE_FORMAT_UNKNOWN = 4,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_image_format zairyu_image_format;
#else
typedef uint32_t zairyu_image_format;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// Read policy (the `policy` argument of `zairyu_card_read`).
enum zairyu_read_policy
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // Read every file and verify the signature.
  ZAIRYU_READ_POLICY_FULL = 0,
  // The privacy option: text entries only; no face, name, card-face or address
  // image and no signature file (the signature is then `NOT_CHECKED`).
  ZAIRYU_READ_POLICY_TEXT_ONLY = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_read_policy zairyu_read_policy;
#else
typedef uint32_t zairyu_read_policy;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// A text field (the `field` argument of `zairyu_read_result_field`). Fields a
// card's generation does not have, or that are empty on the card, are
// `ZAIRYU_RESULT_NOT_PRESENT`. Coded values give their code (names are in the JSON).
enum zairyu_field
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // MF/EF01 spec version, e.g. "0001".
  ZAIRYU_FIELD_SPEC_VERSION = 1,
  // The card number, redacted: "AB********CD".
  ZAIRYU_FIELD_CARD_NUMBER_REDACTED = 2,
  // First generation: 住居地 (address) text.
  ZAIRYU_FIELD_ADDRESS = 10,
  // First generation: 追記書き込み年月日 (date the address was written), YYYYMMDD.
  ZAIRYU_FIELD_ADDRESS_WRITTEN_ON = 11,
  // First generation: 市町村コード (municipality code, check digit validated).
  ZAIRYU_FIELD_MUNICIPALITY_CODE = 12,
  // First generation: 資格外活動許可 包括許可 text; second generation: its code.
  ZAIRYU_FIELD_COMPREHENSIVE_PERMISSION = 13,
  // First generation: 個別許可 text; second generation: "1" or "0".
  ZAIRYU_FIELD_INDIVIDUAL_PERMISSION = 14,
  // Second generation: card expiry, YYYYMMDD.
  ZAIRYU_FIELD_CARD_EXPIRY = 20,
  // Second generation: birth date, YYYYMMDD.
  ZAIRYU_FIELD_BIRTH_DATE = 21,
  // Second generation: sex code.
  ZAIRYU_FIELD_SEX = 22,
  // Second generation: nationality/region code (ISO 3166-1 alpha-3 or XXX).
  ZAIRYU_FIELD_NATIONALITY = 23,
  // Second generation: status-of-residence code.
  ZAIRYU_FIELD_STATUS_OF_RESIDENCE = 24,
  // Second generation: period of stay in Japanese ("3年", "90日", "無期限").
  ZAIRYU_FIELD_PERIOD_OF_STAY = 25,
  // Second generation: permission type.
  ZAIRYU_FIELD_PERMISSION_TYPE = 26,
  // Second generation: permission date, YYYYMMDD.
  ZAIRYU_FIELD_PERMISSION_DATE = 27,
  // Second generation: stay expiry, YYYYMMDD.
  ZAIRYU_FIELD_STAY_EXPIRY = 28,
  // Second generation: work-restriction code.
  ZAIRYU_FIELD_WORK_RESTRICTION = 29,
  // Second generation: deadline of the comprehensive permission, YYYYMMDD.
  ZAIRYU_FIELD_COMPREHENSIVE_PERMISSION_DEADLINE = 30,
  // Second generation: 長官記録事項 note text.
  ZAIRYU_FIELD_NOTE_TEXT = 31,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_field zairyu_field;
#else
typedef uint32_t zairyu_field;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// An image on the card (the `kind` argument of the image getters).
enum zairyu_image_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // First generation: the card-front image (券面画像, TIFF).
  ZAIRYU_IMAGE_KIND_FRONT = 1,
  // The face photo (顔画像, JPEG 2000).
  ZAIRYU_IMAGE_KIND_FACE = 2,
  // Second generation: the name image (氏名画像, TIFF).
  ZAIRYU_IMAGE_KIND_NAME = 3,
  // Second generation: the address image (住居地画像, TIFF).
  ZAIRYU_IMAGE_KIND_ADDRESS = 4,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_image_kind zairyu_image_kind;
#else
typedef uint32_t zairyu_image_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// The format of `zairyu_export_rows` (its `format` argument).
enum zairyu_export_format
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  // CSV after RFC 4180: UTF-8, a header line of the column names, CRLF line ends.
  ZAIRYU_EXPORT_FORMAT_CSV = 1,
  // JSON lines: one object per row, keys the column names, `\n` line ends.
  ZAIRYU_EXPORT_FORMAT_JSONL = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum zairyu_export_format zairyu_export_format;
#else
typedef uint32_t zairyu_export_format;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// A write authority (opaque): the party that holds the terminal key and runs the
// write's secure channel end to end with the card, while the counter only relays
// APDU bytes. Made by `zairyu_authority_open_dir` (in process) or
// `zairyu_authority_open_remote` (the service over HTTPS); freed by
// `zairyu_authority_free`.
// One write at a time: a write that finds it in use by another returns
// `ZAIRYU_RESULT_HANDLE_BUSY`. It may be used from different threads one after
// another.
typedef struct zairyu_authority zairyu_authority;

// A card on a transport (opaque). Made by `zairyu_card_open_pcsc`,
// `zairyu_card_open_simulator` or `zairyu_card_open_callback`; freed by
// `zairyu_card_free`. One call at a time: a call made while another call on the
// same card is running (from another thread, or from its own transmit callback)
// returns `ZAIRYU_RESULT_HANDLE_BUSY`. A card may be used from different threads
// one after another.
typedef struct zairyu_card zairyu_card;

// The re-verification of one evidence file (opaque): made by
// `zairyu_verify_evidence` or `zairyu_verify_evidence_pinned`, freed by
// `zairyu_evidence_verdict_free`. Immutable:
// every getter may be called from any thread, also concurrently.
typedef struct zairyu_evidence_verdict zairyu_evidence_verdict;

// A completed read (opaque): the data read from the card, its verification result
// and its report. Made by `zairyu_card_read`, freed by `zairyu_read_result_free`.
// Immutable: every getter may be called from any thread, also concurrently.
typedef struct zairyu_read_result zairyu_read_result;

// A snapshot of the PC/SC readers (opaque). Made by `zairyu_reader_list_new`,
// freed by `zairyu_reader_list_free`. Immutable: getters may be called from any
// thread, also concurrently.
typedef struct zairyu_reader_list zairyu_reader_list;

// A set of trust anchors (opaque). Made by `zairyu_trust_store_new`, freed by
// `zairyu_trust_store_free`. Internally locked: every function on it may be
// called from any thread at any time, also concurrently, and from a transmit
// callback (a read uses a copy of the anchors taken when it starts, so anchors
// added during a read count from the next read on).
typedef struct zairyu_trust_store zairyu_trust_store;

// The receipt of a confirmed write (opaque): the authority's receipt, and what the
// counter saw. Made by `zairyu_card_write_address`; freed by
// `zairyu_write_receipt_free`. Immutable: any thread, concurrently.
typedef struct zairyu_write_receipt zairyu_write_receipt;

// A host transport: sends the command APDU `cmd` (`cmd_len` bytes) to the card
// and writes the response APDU (data followed by SW1 SW2) into `resp`, which has
// room for `resp_cap` (= `ZAIRYU_MAX_RESPONSE`) bytes, and its length into
// `*resp_len`.
//
// Return 0 on success. Any other value is a transport failure and ends the read:
// return `ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED`, `..._CARD_RESET`,
// `..._READER_UNAVAILABLE` or `..._SHARING_VIOLATION` to say which; any other
// non-zero value is reported as `ZAIRYU_RESULT_TRANSPORT_OTHER`. A `*resp_len`
// larger than `resp_cap` or smaller than 2 is `ZAIRYU_RESULT_TRANSPORT_OTHER` too.
//
// Called only from inside `zairyu_card_read` and `zairyu_card_transmit` on the
// card it was opened with, on the calling thread. `cmd` and `resp` are valid only
// during the call. The callback must not call functions on that same card: they
// return `ZAIRYU_RESULT_HANDLE_BUSY`, `zairyu_card_free` included (the card is not
// freed). It may use other cards, and any trust store, the one being read with
// included: no lock of the library is held while a callback runs.
typedef uint32_t (*zairyu_transmit_cb)(void *userdata, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t resp_cap, size_t *resp_len);

// The host's card reset, for a new card session (the re-read after
// `zairyu_card_write_address`): reset the card (a power cycle, or a PC/SC reconnect
// with `SCARD_RESET_CARD`) so that no authentication or secure-messaging state of
// the session before it survives, and return 0; or return a transport result code
// (`ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED` ...) as `zairyu_transmit_cb` does.
//
// Called only from inside `zairyu_card_write_address`, on the calling thread, with
// the `userdata` given at open. The same rules as for the transmit callback apply:
// it must not call functions on its own card.
typedef uint32_t (*zairyu_reset_cb)(void *userdata);

// Options of `zairyu_read_result_evidence_json`; every member may be zero/NULL.
// Read during the call only.
typedef struct zairyu_evidence_options {
  // The reading station's signing key: an ECDSA P-256 private key as PKCS#8 DER
  // (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER`),
  // `station_key_len` bytes; NULL (length 0) for evidence without a station
  // signature. Any other key is `ZAIRYU_RESULT_STATION_KEY_INVALID`.
  const uint8_t *station_key_pkcs8;
  // The length of `station_key_pkcs8`.
  size_t station_key_len;
  // The card number the clerk typed (NUL-terminated), or NULL. Without
  // `ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER` it is used only to mask every occurrence
  // of it in the files (as `zairyu dump` does); with it, it is written in full.
  const char *card_number;
  // 0 or `ZAIRYU_EVIDENCE_*` flags or-ed together.
  uint32_t flags;
  // With `ZAIRYU_EVIDENCE_CREATED_AT`: the creation time in Unix seconds.
  int64_t created_at_unix;
} zairyu_evidence_options;

// The new address record of `zairyu_card_write_address`: four NUL-terminated UTF-8
// strings, none of them NULL. They are read during the call only.
typedef struct zairyu_address_record {
  // 追記書き込み年月日, the date of the change: "YYYYMMDD", a real day.
  const char *date;
  // 市町村コード: 6 digits with a valid check digit (e.g. "131016").
  const char *municipality_code;
  // 住居地, the new address: at most 80 characters and 320 bytes, no control or
  // bidirectional-override characters. A second-generation card receives it as an
  // image the authority renders.
  const char *address;
  // The clerk's operator id, for the authority's audit log.
  const char *operator_id;
} zairyu_address_record;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// The library's version, "MAJOR.MINOR.PATCH" (equal to `ZAIRYU_VERSION` of the
// header it was built with).
//
// Ownership: a static string; never free it. Thread safety: any thread.
const char *zairyu_version(void);

// Opens the card in a PC/SC reader (user-scope context, shared mode, T=1
// preferred) and begins a PC/SC transaction that is held until `zairyu_card_free`,
// which ends it and resets the card.
//
// Errors: `ZAIRYU_RESULT_TRANSPORT_NO_SUCH_READER` for an unknown name,
// `ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED` for an empty reader,
// `ZAIRYU_RESULT_TRANSPORT_READER_UNAVAILABLE` without a PC/SC service,
// `ZAIRYU_RESULT_NOT_BUILT_WITH_PCSC` in a build without PC/SC.
//
// Ownership: on success `*out` receives a card the caller owns (free it with
// `zairyu_card_free`). Thread safety: may be called from any thread.
//
// @param reader NUL-terminated UTF-8 reader name, as `zairyu_reader_list_name` gives it; must not be NULL.
// @param out receives the card; must not be NULL; written only on success.
zairyu_result zairyu_card_open_pcsc(const char *reader, struct zairyu_card **out);

// Opens a card on the in-process simulator: a synthetic card personalised with the
// simulator's test PKI (trusted only after `zairyu_trust_store_add_simulator_test_anchors`).
//
// Ownership: on success `*out` receives a card the caller owns (free it with
// `zairyu_card_free`). Thread safety: may be called from any thread.
//
// @param card_type NUL-terminated card type: "1" (在留カード), "2" (特別永住者証明書),
//        "05" or "06" (second generation; also "5", "6"), parsed as the CLI and Python
//        parse it; must not be NULL. Another value, or "07"/"08" (not simulated), is
//        `ZAIRYU_RESULT_INVALID_ARGUMENT`.
// @param card_number the simulated card's number (12 letters or digits), or NULL for "AB12345678CD".
// @param flags zero or more `ZAIRYU_SIM_*` values or-ed together; unknown bits are
//        `ZAIRYU_RESULT_INVALID_ARGUMENT`.
// @param out receives the card; must not be NULL; written only on success.
zairyu_result zairyu_card_open_simulator(const char *card_type, const char *card_number, uint32_t flags, struct zairyu_card **out);

// Opens a card on the in-process simulator, as `zairyu_card_open_simulator`, that
// also carries the address-write application (AWP v1) trusting the test write PKI
// in `write_pki_dir` (made by `zairyu_sim_write_pki_generate` or `zairyu pki init`):
// its write CVCA, its document signer for EF.ChipAuthInfo, and the card date of the
// CVCA's effective date. Such a card can be written by `zairyu_card_write_address`
// with an authority of the same PKI.
//
// Errors: `ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED` if the directory does not hold a
// readable, consistent test write PKI; otherwise as `zairyu_card_open_simulator`.
//
// Ownership: on success `*out` receives a card the caller owns (free it with
// `zairyu_card_free`). Thread safety: may be called from any thread.
//
// @param card_type as for `zairyu_card_open_simulator`; must not be NULL.
// @param card_number the simulated card's number, or NULL for "AB12345678CD".
// @param write_pki_dir NUL-terminated UTF-8 path of the write-PKI directory; must not be NULL.
// @param flags as for `zairyu_card_open_simulator`.
// @param out receives the card; must not be NULL; written only on success.
zairyu_result zairyu_card_open_simulator_write(const char *card_type, const char *card_number, const char *write_pki_dir, uint32_t flags, struct zairyu_card **out);

// Makes a throw-away TEST write PKI (AWP v1) in `dir`, as `zairyu pki init --out
// DIR` does: the write CVCA, a DV, the terminal key and certificate with the write
// right, the write-issuer root and the document signer of EF.ChipAuthInfo, valid
// from today. The directory is created if needed; existing PKI files are never
// overwritten (`ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED`). For the simulator and tests
// only: these keys are unencrypted and never for a real card.
//
// With a `policy.toml` added (which counters may write for which municipality
// codes), the directory is an authority directory for `zairyu_authority_open_dir`.
//
// Thread safety: any thread.
//
// @param dir NUL-terminated UTF-8 path; must not be NULL.
zairyu_result zairyu_sim_write_pki_generate(const char *dir);

// Opens a card on the host's own transport (an NFC stack, a remote reader): every
// command APDU goes through `cb`.
//
// Ownership: `userdata` stays the caller's; it must remain valid until the card is
// freed, and the library never frees it. On success `*out` receives a card the
// caller owns (free it with `zairyu_card_free`). Thread safety: may be called from
// any thread; the callback runs on whichever thread calls `zairyu_card_read` or
// `zairyu_card_transmit`.
//
// @param cb the transmit callback; must not be NULL.
// @param userdata passed to every call of `cb`; may be NULL.
// @param flags `ZAIRYU_TRANSPORT_EXTENDED_LENGTH` if the link carries extended APDUs, else 0.
// @param out receives the card; must not be NULL; written only on success.
zairyu_result zairyu_card_open_callback(zairyu_transmit_cb cb, void *userdata, uint32_t flags, struct zairyu_card **out);

// Opens a card on the host's own transport, as `zairyu_card_open_callback`, with a
// reset callback as well: `zairyu_card_write_address` calls it once, after the
// write, to start the new card session of its re-read. A card opened without one
// (`zairyu_card_open_callback`, or `reset` NULL here) reads as before, and a write
// on it is refused with `ZAIRYU_RESULT_INVALID_ARGUMENT` before any APDU is sent.
//
// Ownership and thread safety: as `zairyu_card_open_callback`.
//
// @param cb the transmit callback; must not be NULL.
// @param reset the reset callback, or NULL.
// @param userdata passed to every call of `cb` and `reset`; may be NULL.
// @param flags `ZAIRYU_TRANSPORT_EXTENDED_LENGTH` if the link carries extended APDUs, else 0.
// @param out receives the card; must not be NULL; written only on success.
zairyu_result zairyu_card_open_callback_with_reset(zairyu_transmit_cb cb, zairyu_reset_cb reset, void *userdata, uint32_t flags, struct zairyu_card **out);

// Frees a card (for PC/SC: ends the transaction and disconnects, resetting the
// card). NULL is accepted and ignored (`ZAIRYU_RESULT_OK`).
//
// A card that is in a call (a read or transmit running on another thread, or the
// card's own transmit callback calling this) is **not** freed: the result is
// `ZAIRYU_RESULT_HANDLE_BUSY` and the handle stays valid; free it once that call
// has returned.
//
// Ownership: on `ZAIRYU_RESULT_OK` takes back the handle; it must not be used
// afterwards. Read results made from it stay valid.
//
// @param card the card, or NULL.
zairyu_result zairyu_card_free(struct zairyu_card *card);

// Reads and verifies the card: SELECT, mutual authentication with the card number
// (first generation: 3DES; second generation: AES; chosen from the card type),
// every file the policy asks for, parsing, and verification of the signature and
// the certificate chain against `trust`.
//
// A signature that does not verify is **not** an error: the read succeeds and
// `zairyu_read_result_signature` says `ZAIRYU_SIGNATURE_STATUS_INVALID`. A wrong
// card number is `ZAIRYU_RESULT_WRONG_CARD_NUMBER` (first generation: the card
// answers `63 00`; real cards count failed attempts).
//
// The card number is used for this call only and never appears in any message,
// report or log; the report carries it redacted (`AB********CD`).
//
// Ownership: on success `*out` receives a read result the caller owns (free it
// with `zairyu_read_result_free`); it does not refer to the card or the store.
// Thread safety: one call at a time per card (`ZAIRYU_RESULT_HANDLE_BUSY`
// otherwise); the trust store may be shared by reads on other threads.
//
// @param card the card; must not be NULL.
// @param trust the trust anchors; must not be NULL (an empty store makes every chain `NO_MATCHING_ANCHOR`).
// @param card_number NUL-terminated 在留カード等番号, 12 ASCII letters or digits (surrounding white space is ignored, case is not significant); must not be NULL.
// @param policy a `zairyu_read_policy` value.
// @param out receives the result; must not be NULL; written only on success.
zairyu_result zairyu_card_read(struct zairyu_card *card, const struct zairyu_trust_store *trust, const char *card_number, uint32_t policy, struct zairyu_read_result **out);

// Sends one raw command APDU to the card and copies the response APDU (data and
// SW1 SW2) into `resp`: a diagnostic, and the way to chain a transmit callback to
// another card (e.g. a callback that forwards to a simulator card in tests). The
// signature is that of `zairyu_transmit_cb`.
//
// If `resp_cap` is too small the response is lost, `*resp_len` receives its size
// and the result is `ZAIRYU_RESULT_BUFFER_TOO_SMALL`: use a buffer of
// `ZAIRYU_MAX_RESPONSE` bytes.
//
// Thread safety: one call at a time per card (`ZAIRYU_RESULT_HANDLE_BUSY` otherwise).
//
// @param card the card; must not be NULL.
// @param cmd the command APDU; must not be NULL.
// @param cmd_len its length (4 or more).
// @param resp receives the response; may be NULL only if resp_cap is 0.
// @param resp_cap its capacity in bytes.
// @param resp_len receives the response length; must not be NULL.
zairyu_result zairyu_card_transmit(struct zairyu_card *card, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t resp_cap, size_t *resp_len);

// Copies an image of the card as a PNG file (8-bit grey for the TIFF images,
// 8-bit RGB or grey for the JPEG 2000 photo), decoded in pure Rust. Byte output
// (see the buffer rule at the top). The image is decoded on the first call for a
// result and kept, so asking for the size first costs no second decode.
//
// Errors: an image this card does not have, did not read or stores empty is
// `ZAIRYU_RESULT_NOT_PRESENT` (as for `zairyu_read_result_image`); an image that
// does not decode (the chip's data may be forged) is `ZAIRYU_RESULT_IMAGE_MALFORMED`,
// `_IMAGE_UNKNOWN_FORMAT`, `_IMAGE_UNSUPPORTED` or `_IMAGE_TOO_LARGE`, with the
// image error's code at the start of the last-error detail. Such an image changes
// nothing else: the other getters, the report page and the evidence still work.
//
// Thread safety: any thread, concurrently.
//
// @param result must not be NULL.
// @param kind a `zairyu_image_kind` value.
zairyu_result zairyu_read_result_image_png(const struct zairyu_read_result *result, uint32_t kind, uint8_t *buf, size_t buf_len, size_t *out_len);

// Copies the side-by-side report page for the counter (`report.html` of `zairyu
// dump`): one self-contained HTML page (UTF-8; images embedded as PNG), the verdict
// first in words a clerk understands (Japanese and English, colour and text), the
// chip's images, every field with its signed / not-signed mark, the certificate
// chain, the clerk's checklist and a print stylesheet. Card text is HTML-escaped,
// control characters shown as `\u{…}`. An image that does not decode is shown as
// such; it never fails the page. Text output (see the buffer rule at the top).
//
// Thread safety: any thread, concurrently.
//
// @param result must not be NULL.
zairyu_result zairyu_read_result_report_html(const struct zairyu_read_result *result, char *buf, size_t buf_len, size_t *out_len);

// Copies the evidence file of a read (`evidence.json` of `zairyu dump`): every raw
// file as read (base64, with its length and SHA-256), the card type, the metrics,
// the time, the library version and the verification result, as canonical JSON
// followed by one `\n`, optionally signed by the reading station's key. Byte output
// (see the buffer rule at the top): write exactly `*out_len` bytes to a file.
// `zairyu_verify_evidence` (or `zairyu verify-evidence`) checks it later without a
// card. The card number is redacted (`AB********CD`, also inside the files) unless
// `ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER`.
//
// The bytes depend on the creation time: without `ZAIRYU_EVIDENCE_CREATED_AT`
// (now), a size query and the copy in a later second give different bytes, and with
// a station key the second may need up to 2 bytes more (the DER signature's length
// varies); pass a fixed time (e.g. `time(NULL)` once) to get the same bytes.
//
// Errors: unknown flags, or `ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER` without a card
// number: `ZAIRYU_RESULT_INVALID_ARGUMENT`; a malformed card number:
// `ZAIRYU_RESULT_INPUT_BAD_CARD_NUMBER`; a bad key: `ZAIRYU_RESULT_STATION_KEY_INVALID`.
//
// Thread safety: any thread, concurrently.
//
// @param result must not be NULL.
// @param options may be NULL: no station signature, card number redacted, now.
zairyu_result zairyu_read_result_evidence_json(const struct zairyu_read_result *result, const struct zairyu_evidence_options *options, uint8_t *buf, size_t buf_len, size_t *out_len);

// Re-verifies an evidence file without a card, **without pinned station keys**:
// parses it, checks that it is exactly the bytes zairyu wrote (canonical form, every
// file's SHA-256, the station signature if there is one, under the key the file
// itself carries), parses the chip's files again and verifies the chip's signature
// and certificate chain again under `trust`, at the verification time the file
// records. Accidental damage (a changed byte) is detected; a forger is not: whoever
// holds the file can rewrite what the chip did not sign (the first generation's
// address in DF2, the card number, the times, the metadata), recompute the hashes
// and drop or replace the station signature. So an accepted file proves only the
// chip-signed fields (`"proves": "chip_signed_fields_only"` and a `caveat` in the
// JSON; `zairyu_evidence_verdict_proves`). To prove the whole file, pin the reading
// station's key with `zairyu_verify_evidence_pinned`.
//
// Returns `ZAIRYU_RESULT_OK` whenever the file could be judged, **also when it is
// rejected** (as a read with an invalid signature is OK): `*out_accepted` says
// whether it is accepted: intact, the station signature valid or absent, and the
// verification done again equal to the recorded one. The verdict handle has the
// details (`zairyu_evidence_verdict_json`) and feeds `zairyu_export_rows`.
// What the card's verdict means (production, test ...) is a separate question:
// `zairyu_evidence_verdict_verdict`.
//
// Ownership: `data` is read during the call only. On success `*out` receives a
// verdict the caller owns (free it with `zairyu_evidence_verdict_free`).
// Thread safety: any thread, concurrently (the trust store is read under its lock).
//
// @param data the evidence file's bytes; may be NULL only if len is 0.
// @param len its length.
// @param trust the anchors, as for a read (e.g. the production roots); must not be NULL.
// @param flags 0 (reserved); other values are `ZAIRYU_RESULT_INVALID_ARGUMENT`.
// @param out_accepted must not be NULL; written only on success.
// @param out must not be NULL; written only on success.
zairyu_result zairyu_verify_evidence(const uint8_t *data, size_t len, const struct zairyu_trust_store *trust, uint32_t flags, bool *out_accepted, struct zairyu_evidence_verdict **out);

// `zairyu_verify_evidence` with pinned station keys (`zairyu verify-evidence
// --station-key-sha256`): a file is accepted only when it is intact, verifies
// again as at the read, **and carries a valid station signature made by one of the
// pinned keys**. An unsigned file, a file signed by another key (a forger can sign
// again with a key of their own: the public key travels in the file) and a
// signature that does not verify are rejected, with the reason in the verdict's JSON
// (`rejected_because`, `station_pin`). An accepted file then proves the whole file
// as that station wrote it (`"proves": "whole_file"`).
//
// A pin is the SHA-256 of the station's public key as SubjectPublicKeyInfo DER:
// the `key_sha256` a signed evidence file names (as raw bytes, not hex).
//
// Returns as `zairyu_verify_evidence`. Errors: no pins (`station_key_count` 0:
// use `zairyu_verify_evidence`, whose verdict says that it proves only the
// chip-signed fields), or unknown flags: `ZAIRYU_RESULT_INVALID_ARGUMENT`.
//
// Ownership: `data` and `station_keys` are read during the call only.
// Thread safety: any thread, concurrently.
//
// @param data the evidence file's bytes; may be NULL only if len is 0.
// @param len its length.
// @param trust the anchors; must not be NULL.
// @param station_keys `station_key_count` pins of `ZAIRYU_STATION_KEY_SHA256_LEN`
//        (32) bytes each, one after the other; must not be NULL.
// @param station_key_count how many pins; at least 1.
// @param flags 0 (reserved); other values are `ZAIRYU_RESULT_INVALID_ARGUMENT`.
// @param out_accepted must not be NULL; written only on success.
// @param out must not be NULL; written only on success.
zairyu_result zairyu_verify_evidence_pinned(const uint8_t *data, size_t len, const struct zairyu_trust_store *trust, const uint8_t *station_keys, size_t station_key_count, uint32_t flags, bool *out_accepted, struct zairyu_evidence_verdict **out);

// What the verdict proves: `ZAIRYU_EVIDENCE_PROOF_WHOLE_FILE` only for a file
// accepted under a pinned station key.
//
// Thread safety: any thread, concurrently.
// @param verdict must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_evidence_verdict_proves(const struct zairyu_evidence_verdict *verdict, zairyu_evidence_proof *out);

// Whether the evidence file is accepted (the `*out_accepted` of
// `zairyu_verify_evidence`).
//
// Thread safety: any thread, concurrently.
// @param verdict must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_evidence_verdict_accepted(const struct zairyu_evidence_verdict *verdict, bool *out);

// The card's verdict from the verification done again (as
// `zairyu_read_result_verdict` gave it at the read); `ZAIRYU_RESULT_NOT_PRESENT`
// when the file is too damaged to be verified again.
//
// Thread safety: any thread, concurrently.
// @param verdict must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_evidence_verdict_verdict(const struct zairyu_evidence_verdict *verdict, zairyu_verdict *out);

// Copies the verdict as JSON, the line `zairyu verify-evidence --json` prints
// (without `file`): `accepted`, `proves` (`"whole_file"`, `"chip_signed_fields_only"`
// or `"nothing"`: `zairyu_evidence_proof`), `caveat` (what an accepted file does not
// prove, or null), `rejected_because` (the reasons, empty when accepted),
// `integrity` (`{"status": "intact" | "altered" | "malformed", "reason"}`),
// `station` (`{"status": "unsigned" | "valid" | "invalid" | "not_checked", ...}`:
// the signature under the key the file carries), `station_pin` (`{"status":
// "none_given" | "pinned" | "unsigned" | "unknown_key" | "signature_invalid",
// "key_sha256"}`), `recorded_verdict`, `verdict`, `matches_recorded`,
// `differences`, `created_at`, `zairyu_version` and `report` (the read's JSON
// report, or null). Never the full card number. One line unless `flags` has
// `ZAIRYU_JSON_PRETTY`. Text output (see the buffer rule).
//
// Thread safety: any thread, concurrently.
//
// @param verdict must not be NULL.
// @param flags 0 or `ZAIRYU_JSON_PRETTY`; other bits are `ZAIRYU_RESULT_INVALID_ARGUMENT`.
zairyu_result zairyu_evidence_verdict_json(const struct zairyu_evidence_verdict *verdict, uint32_t flags, char *buf, size_t buf_len, size_t *out_len);

// Frees a verdict. NULL is accepted and ignored.
//
// Ownership: takes back the handle; it must not be used afterwards, and no getter
// on it may be running.
void zairyu_evidence_verdict_free(struct zairyu_evidence_verdict *verdict);

// Copies the registry export of verified evidence files (`zairyu export`): one row
// per verdict, in order, with the fields a residence record (住民票) needs under the
// versioned column schema of docs/export-schema.md (card type, dates in ISO 8601
// and optionally in the Japanese era, sex, nationality, status of residence,
// period, expiry, address, permissions, the verdict, and each field's `*_signed`
// flag). CSV has the header line even with no rows. Text output (see the buffer
// rule); card text holding a NUL byte is refused with
// `ZAIRYU_RESULT_TEXT_CONTAINS_NUL` (use JSON lines, which escape it).
//
// A verdict is accepted as it was judged: under the pinned station keys of
// `zairyu_verify_evidence_pinned`, or without (then its rows prove only the
// `*_signed` fields: `zairyu_evidence_verdict_proves`).
//
// Errors: a verdict that is not accepted: `ZAIRYU_RESULT_EVIDENCE_REJECTED` (the
// detail names its index; nothing is written); an unknown format or flag, or
// `ZAIRYU_EXPORT_BOM` or `ZAIRYU_EXPORT_GUARD_FORMULAS` with JSON lines:
// `ZAIRYU_RESULT_INVALID_ARGUMENT`.
//
// Thread safety: any thread, concurrently.
//
// @param verdicts `count` verdicts from `zairyu_verify_evidence`, none NULL; may be NULL only if count is 0.
// @param count how many.
// @param format a `zairyu_export_format` value.
// @param flags 0 or `ZAIRYU_EXPORT_*` flags or-ed together.
zairyu_result zairyu_export_rows(const struct zairyu_evidence_verdict *const *verdicts, size_t count, uint32_t format, uint32_t flags, char *buf, size_t buf_len, size_t *out_len);

// The card type.
//
// Thread safety: any thread, concurrently.
// @param result must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_card_type(const struct zairyu_read_result *result, zairyu_card_type *out);

// The card generation: 1 (types 1, 2) or 2 (types 05, 06).
//
// Thread safety: any thread, concurrently.
// @param result must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_generation(const struct zairyu_read_result *result, uint8_t *out);

// The signature (check code) result.
//
// Thread safety: any thread, concurrently.
// @param result must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_signature(const struct zairyu_read_result *result, zairyu_signature_status *out);

// The certificate-chain result.
//
// Thread safety: any thread, concurrently.
// @param result must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_chain(const struct zairyu_read_result *result, zairyu_chain_status *out);

// The profile of the anchor the chain ended in (`ZAIRYU_ANCHOR_PROFILE_NONE` if none).
//
// Thread safety: any thread, concurrently.
// @param result must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_anchor_profile(const struct zairyu_read_result *result, zairyu_anchor_profile *out);

// The verdict: what signature, chain and anchor profile mean together (the JSON
// report's `verdict`). Only `ZAIRYU_VERDICT_PRODUCTION` means a genuine card, and
// only it is what the CLI calls "ok" (exit 0) and Python `ReadResult.ok`;
// `ZAIRYU_VERDICT_TEST` (valid under a test anchor) is the CLI's exit 12. (Not a
// revocation check.)
//
// Thread safety: any thread, concurrently.
// @param result must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_verdict(const struct zairyu_read_result *result, zairyu_verdict *out);

// Whether the card is genuine in the Ministry's production PKI: signature valid
// **and** chain verified to a pinned production root, i.e. the verdict is
// `ZAIRYU_VERDICT_PRODUCTION`. (Not a revocation check.)
//
// Thread safety: any thread, concurrently.
// @param result must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_is_production_valid(const struct zairyu_read_result *result, bool *out);

// The SHA-256 fingerprint (64 lowercase hex digits) of the anchor whose key
// verified the card certificate; `ZAIRYU_RESULT_NOT_PRESENT` if the chain is not
// verified. Text output (see the buffer rule at the top).
//
// Thread safety: any thread, concurrently.
zairyu_result zairyu_read_result_anchor_fingerprint(const struct zairyu_read_result *result, char *buf, size_t buf_len, size_t *out_len);

// Why the signature is invalid, absent or not checked (English text, never card
// data); `ZAIRYU_RESULT_NOT_PRESENT` when the signature is valid. Text output.
//
// Thread safety: any thread, concurrently.
zairyu_result zairyu_read_result_verification_reason(const struct zairyu_read_result *result, char *buf, size_t buf_len, size_t *out_len);

// Whether the verification time lay in the card certificate's validity period
// (the JSON report's `verification.certificate_valid_now`);
// `ZAIRYU_RESULT_NOT_PRESENT` when there is no certificate to judge (under-16
// cards, policy `TEXT_ONLY`, a certificate that does not parse). Informational: a
// card certificate outlives no card, and the verdict does not depend on it.
//
// Thread safety: any thread, concurrently.
// @param result must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_certificate_valid_now(const struct zairyu_read_result *result, bool *out);

// Whether the verification time lay in the validity period of the anchor that
// verified the card certificate (the JSON report's `verification.anchor_valid_now`);
// `ZAIRYU_RESULT_NOT_PRESENT` when no anchor verified it.
//
// Thread safety: any thread, concurrently.
// @param result must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_anchor_valid_now(const struct zairyu_read_result *result, bool *out);

// The verification time the two validity flags refer to, in Unix seconds (the
// JSON report's `verification.verified_at_unix`).
//
// Thread safety: any thread, concurrently.
// @param result must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_verified_at(const struct zairyu_read_result *result, int64_t *out);

// Whether the card's signature binds the field or image `name` on this card: 1
// (`*out` true) when the signature is valid **and** chains to a trust anchor and
// covers `name`; false for everything else, which only the chip's access control
// protects (e.g. the address on either generation, the card type), and for every
// name when the signature is not valid or chains to no anchor. The names are the
// JSON report's (keys of `fields` and `images`, `card_type`, `card_number`; its
// `verification.signed_fields` and `unsigned_fields` list them): "front", "face",
// "name", "birth_date", "address", "municipality_code", ...
//
// Errors: a name of the other generation (e.g. "birth_date" on a first-generation
// card) is `ZAIRYU_RESULT_NOT_PRESENT`; a name of no card is
// `ZAIRYU_RESULT_INVALID_ARGUMENT`.
//
// Thread safety: any thread, concurrently.
//
// @param result must not be NULL.
// @param name NUL-terminated field or image name; must not be NULL.
// @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_field_signed(const struct zairyu_read_result *result, const char *name, bool *out);

// Copies one text field (UTF-8) into `buf`; see `zairyu_field` for the fields.
// Text output (see the buffer rule at the top). An unknown `field` is
// `ZAIRYU_RESULT_INVALID_ARGUMENT`; a field this card does not have, or has
// empty, is `ZAIRYU_RESULT_NOT_PRESENT`.
//
// Card text is data read from a chip. A value holding a NUL byte is refused with
// `ZAIRYU_RESULT_TEXT_CONTAINS_NUL` (nothing written; see the NUL rule at the top):
// use `zairyu_read_result_field_raw`. Other control characters (C0, C1, DEL) and
// bidirectional overrides are given as read: escape them before showing the text;
// the JSON report's warning `unsafe_characters` names the fields that hold them.
//
// Thread safety: any thread, concurrently.
//
// @param result must not be NULL.
// @param field a `zairyu_field` value.
zairyu_result zairyu_read_result_field(const struct zairyu_read_result *result, uint32_t field, char *buf, size_t buf_len, size_t *out_len);

// Copies one text field's UTF-8 bytes into `buf`, whatever they hold (NUL bytes
// included), **without** a terminating NUL: byte output (see the buffer rule at
// the top), `*out_len` is the value's length. The fields and errors are those of
// `zairyu_read_result_field`, which gives the same bytes as a string when they
// hold no NUL.
//
// Thread safety: any thread, concurrently.
//
// @param result must not be NULL.
// @param field a `zairyu_field` value.
zairyu_result zairyu_read_result_field_raw(const struct zairyu_read_result *result, uint32_t field, uint8_t *buf, size_t buf_len, size_t *out_len);

// Copies an image's bytes (the file without the chip's zero fill: a TIFF or
// JPEG 2000 file as stored) into `buf`. Byte output (see the buffer rule at the
// top). An image this card does not have (front on a second-generation card), or
// that was not read (policy `TEXT_ONLY`) or is empty (no face on under-16 cards), is
// `ZAIRYU_RESULT_NOT_PRESENT`.
//
// Thread safety: any thread, concurrently.
//
// @param result must not be NULL.
// @param kind a `zairyu_image_kind` value.
zairyu_result zairyu_read_result_image(const struct zairyu_read_result *result, uint32_t kind, uint8_t *buf, size_t buf_len, size_t *out_len);

// The container format of an image (same presence rules as `zairyu_read_result_image`).
//
// Thread safety: any thread, concurrently.
// @param result must not be NULL. @param kind a `zairyu_image_kind` value.
// @param out must not be NULL; written only on success.
zairyu_result zairyu_read_result_image_format(const struct zairyu_read_result *result, uint32_t kind, zairyu_image_format *out);

// Copies the report as JSON, the same schema as `zairyu read --json` (see the
// README): `card_type`, `generation`, `flow`, `policy`, `card_number` (redacted),
// `fields`, `images`, `verification`, `verdict`, `metrics`, `link`, `warnings`
// (each `{"code", "message"}`). One line unless `flags` has `ZAIRYU_JSON_PRETTY`.
// Text output (see the buffer rule).
//
// Thread safety: any thread, concurrently.
//
// @param result must not be NULL.
// @param flags 0 or `ZAIRYU_JSON_PRETTY`; other bits are `ZAIRYU_RESULT_INVALID_ARGUMENT`.
zairyu_result zairyu_read_result_json(const struct zairyu_read_result *result, uint32_t flags, char *buf, size_t buf_len, size_t *out_len);

// Frees a read result. NULL is accepted and ignored.
//
// Ownership: takes back the handle; it must not be used afterwards, and no getter
// on it may be running.
void zairyu_read_result_free(struct zairyu_read_result *result);

// Lists the PC/SC readers now connected, with card presence. No reader is an
// empty list (count 0), not an error; no PC/SC service (pcscd not running) is
// `ZAIRYU_RESULT_TRANSPORT_READER_UNAVAILABLE`.
//
// Ownership: on success `*out` receives a list the caller owns (free it with
// `zairyu_reader_list_free`). Thread safety: may be called from any thread.
//
// @param out receives the list; must not be NULL; written only on success.
zairyu_result zairyu_reader_list_new(struct zairyu_reader_list **out);

// The number of readers in the list.
//
// Thread safety: any thread, concurrently.
// @param list must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_reader_list_count(const struct zairyu_reader_list *list, size_t *out);

// Copies the name of reader `index` (0-based) into `buf`, as
// `zairyu_card_open_pcsc` takes it. Text output (see the buffer rule at the top);
// an index out of range is `ZAIRYU_RESULT_INVALID_ARGUMENT`.
//
// Thread safety: any thread, concurrently.
zairyu_result zairyu_reader_list_name(const struct zairyu_reader_list *list, size_t index, char *buf, size_t buf_len, size_t *out_len);

// Whether a card was in reader `index` when the list was made.
//
// Thread safety: any thread, concurrently.
// @param out must not be NULL; written only on success.
zairyu_result zairyu_reader_list_card_present(const struct zairyu_reader_list *list, size_t index, bool *out);

// Frees a reader list. NULL is accepted and ignored.
//
// Ownership: takes back the handle; it must not be used afterwards.
void zairyu_reader_list_free(struct zairyu_reader_list *list);

// Waits until a card is in reader `reader` (`present` true) or until the reader is
// empty (`present` false), at most `timeout_ms` milliseconds. Returns
// `ZAIRYU_RESULT_OK` in both cases, with `*out_reached` saying whether the state
// was reached; a reader that does not exist is
// `ZAIRYU_RESULT_TRANSPORT_NO_SUCH_READER`, no PC/SC service
// `ZAIRYU_RESULT_TRANSPORT_READER_UNAVAILABLE`.
//
// Thread safety: may be called from any thread; it blocks the calling thread.
//
// @param reader NUL-terminated UTF-8 reader name; must not be NULL.
// @param present the state to wait for.
// @param timeout_ms the longest wait; 0 only looks.
// @param out_reached must not be NULL; written only on success.
zairyu_result zairyu_reader_wait(const char *reader, bool present, uint32_t timeout_ms, bool *out_reached);

// The stable snake_case name of a result code, e.g. "wrong_card_number" for
// `ZAIRYU_RESULT_WRONG_CARD_NUMBER`: for codes that mirror a core error it is the
// core's code name, the same word the CLI prints (`error [wrong_card_number]: ...`)
// and the Python exception carries. A number that is not a result code gives
// "unknown".
//
// Ownership: a static string; never free it. Thread safety: any thread.
const char *zairyu_result_name(uint32_t code);

// Renders the generic message of a result code, "<name>: <description>", e.g.
// "wrong_card_number: wrong card number: the card rejected it". Text output (see
// the buffer rule at the top). A number that is not a result code renders
// "unknown: result code N" (and succeeds).
//
// Thread safety: any thread.
//
// @param code a result code.
// @param buf receives the text; may be NULL only if buf_len is 0.
// @param buf_len its size in bytes.
// @param out_len must not be NULL.
zairyu_result zairyu_result_message(uint32_t code, char *buf, size_t buf_len, size_t *out_len);

// The number of the core's error codes: the words the CLI prints and the Python
// exceptions carry, each with a result code of the same name. With
// `zairyu_error_code_at`, a program can list them (e.g. to check a table of its
// own messages against the library it runs with).
//
// Thread safety: any thread.
size_t zairyu_error_code_count(void);

// The result code of the core's error code number `index` (0 to
// `zairyu_error_code_count() - 1`, in the core's order); `zairyu_result_name` of
// it is the core's name. An index out of range is `ZAIRYU_RESULT_INVALID_ARGUMENT`.
//
// Thread safety: any thread.
//
// @param index which error code.
// @param out receives its result code; must not be NULL; written only on success.
zairyu_result zairyu_error_code_at(size_t index, zairyu_result *out);

// Renders the detail of the most recent call **on the calling thread** that
// returned a code other than `ZAIRYU_RESULT_OK`: "<name>: <detail>", e.g.
// "card_status: SELECT DF failed: card status 6A82 (file not found)". Details never
// contain the card number, keys or card data. Text output (see the buffer rule);
// `ZAIRYU_RESULT_NOT_PRESENT` if no call on this thread has failed. A call of this
// function that fails (buffer too small) does not replace the detail.
//
// Thread safety: any thread; each thread has its own last error.
//
// @param buf receives the text; may be NULL only if buf_len is 0.
// @param buf_len its size in bytes.
// @param out_len must not be NULL.
zairyu_result zairyu_last_error_message(char *buf, size_t buf_len, size_t *out_len);

#if defined(ZAIRYU_TEST_HOOKS)
// TEST BUILDS ONLY (cargo feature `test-hooks`; never in a release library).
// Makes the next `zairyu_card_read` on the calling thread panic inside the
// library, after it has taken the card and before the first APDU, so that a
// test can check the panic boundary: that call returns `ZAIRYU_RESULT_PANIC`,
// writes no output, and leaves the card usable (not busy).
//
// Thread safety: any thread; it arms the calling thread only.
zairyu_result zairyu_test_panic_in_next_read(void);
#endif

#if defined(ZAIRYU_TEST_HOOKS)
// TEST BUILDS ONLY (cargo feature `test-hooks`; never in a release library).
// Makes a copy of `result` whose image `kind` holds `bytes` instead, as a forged
// chip could store it (no simulated card holds a malformed image), so that a test
// can check what a malformed image does: a typed result code from
// `zairyu_read_result_image_png`, and every other getter unchanged. The image must
// be one of the card's generation (else `ZAIRYU_RESULT_NOT_PRESENT`).
//
// Ownership: on success `*out` receives a new result the caller owns (free it
// with `zairyu_read_result_free`); `result` is unchanged.
//
// @param result must not be NULL.
// @param kind a `zairyu_image_kind` value.
// @param bytes the image's bytes; may be NULL only if len is 0.
// @param len their length.
// @param out must not be NULL; written only on success.
zairyu_result zairyu_test_read_result_with_image(const struct zairyu_read_result *result, uint32_t kind, const uint8_t *bytes, size_t len, struct zairyu_read_result **out);
#endif

// Creates an empty trust store: nothing chains until anchors are added.
//
// On success `*out` receives a new handle that the caller owns and frees with
// `zairyu_trust_store_free`; on failure `*out` is not written.
//
// Thread safety: may be called from any thread.
//
// @param out receives the new store; must not be NULL.
zairyu_result zairyu_trust_store_new(struct zairyu_trust_store **out);

// Frees a trust store. NULL is accepted and ignored.
//
// Ownership: takes back the handle; it must not be used afterwards (read results
// made with it stay valid: they do not refer to the store). Must not be called while
// another thread uses the store.
void zairyu_trust_store_free(struct zairyu_trust_store *store);

// Loads the Ministry's production roots from a directory: every regular file named
// `*.der`, `*.crt`, `*.cer` or `*.pem` (DER, or PEM with one or more certificates).
// Every certificate must match a pinned SHA-256 fingerprint of a Ministry root,
// else `ZAIRYU_RESULT_VERIFY_UNPINNED_PRODUCTION_ROOT`; an unreadable directory or
// file is `ZAIRYU_RESULT_VERIFY_BAD_ANCHOR_FILE`. All or nothing: on failure the
// store is unchanged.
//
// Thread safety: may be called from any thread, also while the store is in use.
//
// @param store the store; must not be NULL.
// @param dir NUL-terminated UTF-8 path; must not be NULL.
// @param out_count if not NULL, receives the number of certificates read (on success only).
zairyu_result zairyu_trust_store_load_production_dir(const struct zairyu_trust_store *store, const char *dir, size_t *out_count);

// Adds every certificate in a directory as a **test** anchor (same file rules as
// `zairyu_trust_store_load_production_dir`, no pinning). A card chaining to a test
// anchor is reported with anchor profile `ZAIRYU_ANCHOR_PROFILE_TEST`, never as
// production. All or nothing.
//
// Thread safety: may be called from any thread, also while the store is in use.
//
// @param store the store; must not be NULL.
// @param dir NUL-terminated UTF-8 path; must not be NULL.
// @param out_count if not NULL, receives the number of certificates read (on success only).
zairyu_result zairyu_trust_store_add_test_dir(const struct zairyu_trust_store *store, const char *dir, size_t *out_count);

// Adds one DER certificate as a **test** anchor.
//
// Thread safety: may be called from any thread, also while the store is in use.
//
// @param store the store; must not be NULL.
// @param der the certificate; may be NULL only if der_len is 0 (which fails as a bad anchor).
// @param der_len its length in bytes.
zairyu_result zairyu_trust_store_add_test_anchor_der(const struct zairyu_trust_store *store, const uint8_t *der, size_t der_len);

// Adds the simulator's own test CAs (first and second generation) as test anchors,
// so that simulated cards (in-process or served on vpcd) chain. Never use this for
// real cards: it is for tests and demonstrations.
//
// Thread safety: may be called from any thread, also while the store is in use.
//
// @param store the store; must not be NULL.
zairyu_result zairyu_trust_store_add_simulator_test_anchors(const struct zairyu_trust_store *store);

// The number of anchors in the store (production and test).
//
// Thread safety: may be called from any thread, also while the store is in use.
//
// @param store the store; must not be NULL.
// @param out receives the count; must not be NULL.
zairyu_result zairyu_trust_store_count(const struct zairyu_trust_store *store, size_t *out);

// Opens the in-process write authority of directory `dir` for the counter
// `counter_id`: the write CVCA, the terminal chain and key (`test-terminal.key.p8`,
// mode 0600), the write-issuer root, the policy (`policy.toml` or `policy.json`:
// which counters may write for which municipality codes) and the hash-chained audit
// log (`audit.sqlite3` if it exists, else `audit.jsonl`, created). A test write PKI
// (`zairyu_sim_write_pki_generate`, `zairyu pki init`) with a `policy.toml` added is
// such a directory. The terminal chain is checked against the CVCA today, with the
// write right, and the key against the terminal certificate. Every write through it,
// refused or not, is appended to the audit log before anything reaches the card.
//
// The second generation's address image is rendered with the font of the
// environment variable the authority crate documents, or a Debian IPAex / Noto CJK
// font found at run time; without one, second-generation writes are refused with
// `ZAIRYU_RESULT_ADDRESS_IMAGE_FAILED` (first-generation writes still work).
//
// Errors: `ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED` (the detail names the file and why).
//
// Ownership: on success `*out` receives an authority the caller owns (free it with
// `zairyu_authority_free`). Thread safety: may be called from any thread.
//
// @param dir NUL-terminated UTF-8 path of the authority directory; must not be NULL.
// @param counter_id NUL-terminated UTF-8 identity of this counter, as the policy names it; must not be NULL.
// @param out receives the authority; must not be NULL; written only on success.
zairyu_result zairyu_authority_open_dir(const char *dir, const char *counter_id, struct zairyu_authority **out);

// Opens the link to a write authority service (`zairyu-authority serve`) over HTTPS
// with mutual TLS: the counter presents `client_cert` (its common name is the
// counter identity the service's policy names) with `client_key`, and trusts only
// `authority_ca` for the service's certificate (never the system's roots). Nothing
// is sent until a write: this checks the URLs and loads the three PEM files.
//
// `urls` are `https://HOST:PORT`; more than one for instances sharing one database:
// a message whose connection fails (refused, reset, timed out) or that is answered
// `503` is sent again, unchanged, to the next URL in turn, and the service answers a
// message it has already processed with the answer it stored, so a retry never
// makes the authority sign twice. Connecting is bounded by 5 s, every read and write
// by 30 s; a message is sent at most 3 times.
//
// A write through it that cannot reach the service returns
// `ZAIRYU_RESULT_AUTHORITY_UNAVAILABLE`; a refusal of the service has its 10xx code
// (`ZAIRYU_RESULT_POLICY_REFUSED` for its policy ...) and its stable code in the
// last-error detail, as with an in-process authority.
//
// Errors: `ZAIRYU_RESULT_INVALID_ARGUMENT` (`n` is 0 or more than
// `ZAIRYU_AUTHORITY_MAX_URLS`), `ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED` (the detail
// names the stable code in brackets, e.g. "authority_setup_failed:
// [remote_url_invalid] ...": `remote_url_invalid`, `remote_file_unreadable`,
// `remote_pem_invalid`, `remote_tls_config`).
//
// Ownership: on success `*out` receives an authority the caller owns (free it with
// `zairyu_authority_free`). Thread safety: may be called from any thread.
//
// @param urls `n` NUL-terminated UTF-8 URLs; must not be NULL, nor any of them.
// @param n the number of URLs, 1 to `ZAIRYU_AUTHORITY_MAX_URLS`.
// @param client_cert NUL-terminated path of the client certificate (PEM, then any intermediates); must not be NULL.
// @param client_key NUL-terminated path of its private key (PEM: PKCS#8, SEC1 or PKCS#1); must not be NULL.
// @param authority_ca NUL-terminated path of the CA the service's certificate must chain to (PEM); must not be NULL.
// @param out receives the authority; must not be NULL; written only on success.
zairyu_result zairyu_authority_open_remote(const char *const *urls, size_t n, const char *client_cert, const char *client_key, const char *authority_ca, struct zairyu_authority **out);

// Frees an authority (an in-process one records a session left unfinished as
// `session_abandoned` in its audit log). NULL is accepted and ignored
// (`ZAIRYU_RESULT_OK`). An authority in a write on another thread is **not** freed:
// the result is `ZAIRYU_RESULT_HANDLE_BUSY` and the handle stays valid.
//
// Ownership: on `ZAIRYU_RESULT_OK` takes back the handle; it must not be used
// afterwards. Receipts made with it stay valid.
//
// @param authority the authority, or NULL.
zairyu_result zairyu_authority_free(struct zairyu_authority *authority);

// Writes a new residence address (住居地) into the card, through the write
// authority, and confirms it: the normal card-number access with `card_number`
// (either generation), the write application's EF.ChipAuthInfo, the write relayed
// between `authority` and the card (the authority authenticates to the card, opens
// secure messaging with it, writes, and returns its receipt; this call only carries
// APDU bytes), then a **new card session** that re-reads the written file and
// compares it with the record and the receipt. First generation: DF2/EF01 (the
// text record); second generation: DF1/EF04 (the address image the authority
// renders).
//
// The new session: a simulated card is power-cycled; a PC/SC card is disconnected
// with a card reset and connected again (a new transaction); a callback card calls
// its reset callback (`zairyu_card_open_callback_with_reset`; a callback card
// without one is refused with `ZAIRYU_RESULT_INVALID_ARGUMENT` before any APDU).
//
// Errors: the access read's codes (`ZAIRYU_RESULT_WRONG_CARD_NUMBER` ...), a
// transport code when the card or reader fails during the write (the card's commit is
// atomic: it then holds the old or the new content, whole), and the 10xx block:
// `ZAIRYU_RESULT_POLICY_REFUSED`, `..._RECORD_INVALID`, `..._ADDRESS_IMAGE_FAILED`,
// `..._AUTHORITY_REFUSED`, `..._WRITE_CARD_REFUSED`, `..._WRITE_NOT_SUPPORTED`,
// `..._READBACK_MISMATCH`, `..._WRITE_UNCONFIRMED`, `..._AUTHORITY_UNAVAILABLE`. The last-error detail starts with the
// precise stable code in brackets, e.g. "policy_refused: [policy_municipality_not_allowed] ...".
// Only `ZAIRYU_RESULT_OK` means the card holds the new address.
//
// The card number is used for this call only and never appears in a message or in
// the receipt (which carries its SHA-256, as the card's EF.ChipAuthInfo does).
//
// Ownership: on success `*out` receives a receipt the caller owns (free it with
// `zairyu_write_receipt_free`). Thread safety: one call at a time per card and per
// authority (`ZAIRYU_RESULT_HANDLE_BUSY` otherwise).
//
// @param card the card; must not be NULL.
// @param card_number NUL-terminated 在留カード等番号 (12 letters or digits); must not be NULL.
// @param record the new record; must not be NULL, nor any of its strings.
// @param authority the write authority; must not be NULL.
// @param out receives the receipt; must not be NULL; written only on success.
zairyu_result zairyu_card_write_address(struct zairyu_card *card, const char *card_number, const struct zairyu_address_record *record, const struct zairyu_authority *authority, struct zairyu_write_receipt **out);

// SHA-256 of the new file content, 64 lower-case hex digits (the content the card
// re-read matched). Text output (see the buffer rule).
//
// @param receipt must not be NULL.
zairyu_result zairyu_write_receipt_content_sha256(const struct zairyu_write_receipt *receipt, char *buf, size_t buf_len, size_t *out_len);

// SHA-256 of the file content before the write (hex), as the authority read it under
// secure messaging; `ZAIRYU_RESULT_NOT_PRESENT` if the authority did not read it.
// Text output (see the buffer rule).
//
// @param receipt must not be NULL.
zairyu_result zairyu_write_receipt_old_content_sha256(const struct zairyu_write_receipt *receipt, char *buf, size_t buf_len, size_t *out_len);

// SHA-256 of the card number (hex), from the card's verified EF.ChipAuthInfo (never
// the number itself). Text output (see the buffer rule).
//
// @param receipt must not be NULL.
zairyu_result zairyu_write_receipt_card_number_sha256(const struct zairyu_write_receipt *receipt, char *buf, size_t buf_len, size_t *out_len);

// The terminal that wrote: its certificate holder reference (e.g.
// "JPTESTTERM00001"). Text output (see the buffer rule).
//
// @param receipt must not be NULL.
zairyu_result zairyu_write_receipt_terminal(const struct zairyu_write_receipt *receipt, char *buf, size_t buf_len, size_t *out_len);

// When the authority accepted the write request (Unix seconds).
//
// @param receipt must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_write_receipt_time(const struct zairyu_write_receipt *receipt, uint64_t *out);

// Exchanges with the authority, the opening one included (4 for a write of AWP v1).
//
// @param receipt must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_write_receipt_round_trips(const struct zairyu_write_receipt *receipt, uint32_t *out);

// The card generation written: 1 (the DF2/EF01 text record) or 2 (the DF1/EF04
// address image).
//
// @param receipt must not be NULL. @param out must not be NULL; written only on success.
zairyu_result zairyu_write_receipt_generation(const struct zairyu_write_receipt *receipt, uint8_t *out);

// The receipt as one JSON object: `target` ("df2_ef01" or "df1_ef04"),
// `content_sha256`, `old_content_sha256` (or null), `card_number_sha256`,
// `terminal`, `chip_auth_info_signer`, `time_unix`, `round_trips`, then
// `generation` and `apdus` (command APDUs of the access read, the relayed write and
// the re-read). One line unless `flags` has `ZAIRYU_JSON_PRETTY`. Text output (see
// the buffer rule).
//
// @param receipt must not be NULL.
// @param flags 0 or `ZAIRYU_JSON_PRETTY`; other bits are `ZAIRYU_RESULT_INVALID_ARGUMENT`.
zairyu_result zairyu_write_receipt_json(const struct zairyu_write_receipt *receipt, uint32_t flags, char *buf, size_t buf_len, size_t *out_len);

// Frees a receipt. NULL is accepted and ignored.
//
// Ownership: takes back the handle; it must not be used afterwards, and no getter
// on it may be running.
void zairyu_write_receipt_free(struct zairyu_write_receipt *receipt);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* ZAIRYU_H */
