//! Evidence from C (issue 14, through the `zairyu-evidence` crate): the chip's images
//! as PNG, the side-by-side report page, evidence files, their offline
//! re-verification (`zairyu_evidence_verdict`) and registry export rows.
//!
//! The outputs follow the header's buffer rule, as every other getter does: the
//! caller owns the buffer, the library owns nothing it hands out. The PNGs of a read
//! are decoded once per result and kept (so a size query followed by the copy
//! decodes once); a verification is done once, into a handle, whose JSON and export
//! rows are then copied as often as needed.

use std::ffi::c_char;

use zairyu_core::CardNumber;
use zairyu_evidence::{
    CardNumberPolicy, CsvOptions, EvidenceOptions, EvidenceVerdict, ExportOptions, ImageError, PngImage, Proves,
    StationKey, VerifyOptions, evidence_json, export_row, report_html, verify_evidence_with, write_csv, write_jsonl,
};
use zeroize::Zeroizing;

use crate::read_result::{
    absent, get_copy, get_text, image, image_name, result_arg, zairyu_read_result, zairyu_verdict,
};
use crate::result::zairyu_result;
use crate::trust::{store_arg, zairyu_trust_store};
use crate::util::{
    CEnum, Failure, bytes_arg, c_enum, copy_out, guard, json_text, non_null, non_null_mut, str_arg, write_out,
};

/// The result code of an image that does not become a PNG. `Empty` cannot reach
/// here (an empty image is `NOT_PRESENT` before decoding); a future variant of the
/// non-exhaustive error is `IMAGE_MALFORMED`.
fn image_failure(name: &str, e: &ImageError) -> Failure {
    use zairyu_result as R;
    let code = match e {
        ImageError::Empty => R::NotPresent,
        ImageError::UnknownFormat => R::ImageUnknownFormat,
        ImageError::Unsupported { .. } => R::ImageUnsupported,
        ImageError::TooLarge { .. } => R::ImageTooLarge,
        _ => R::ImageMalformed,
    };
    Failure::new(code, format!("{}: the {name} image: {e}", e.code()))
}

/// The PNGs of the images this card has (as `zairyu dump` writes them): a decoding
/// error stays in its entry, and the report page shows it in place of the image.
fn present_pngs(r: &zairyu_read_result) -> Vec<PngImage> {
    let images = r.read.images();
    r.pngs().iter().filter(|p| images.iter().any(|(n, i)| *n == p.name && i.is_present())).cloned().collect()
}

/// Copies an image of the card as a PNG file (8-bit grey for the TIFF images,
/// 8-bit RGB or grey for the JPEG 2000 photo), decoded in pure Rust. Byte output
/// (see the buffer rule at the top). The image is decoded on the first call for a
/// result and kept, so asking for the size first costs no second decode.
///
/// Errors: an image this card does not have, did not read or stores empty is
/// `ZAIRYU_RESULT_NOT_PRESENT` (as for `zairyu_read_result_image`); an image that
/// does not decode (the chip's data may be forged) is `ZAIRYU_RESULT_IMAGE_MALFORMED`,
/// `_IMAGE_UNKNOWN_FORMAT`, `_IMAGE_UNSUPPORTED` or `_IMAGE_TOO_LARGE`, with the
/// image error's code at the start of the last-error detail. Such an image changes
/// nothing else: the other getters, the report page and the evidence still work.
///
/// Thread safety: any thread, concurrently.
///
/// @param result must not be NULL.
/// @param kind a `zairyu_image_kind` value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_image_png(
    result: *const zairyu_read_result,
    kind: u32,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe {
        get_copy(result, false, buf, buf_len, out_len, |r| {
            image(r, kind)?;
            let name = image_name(kind)?;
            let png = r.pngs().iter().find(|p| p.name == name).ok_or_else(|| absent(&format!("the {name} image")))?;
            png.png.clone().map_err(|e| image_failure(name, &e))
        })
    }
}

/// Copies the side-by-side report page for the counter (`report.html` of `zairyu
/// dump`): one self-contained HTML page (UTF-8; images embedded as PNG), the verdict
/// first in words a clerk understands (Japanese and English, colour and text), the
/// chip's images, every field with its signed / not-signed mark, the certificate
/// chain, the clerk's checklist and a print stylesheet. Card text is HTML-escaped,
/// control characters shown as `\u{…}`. An image that does not decode is shown as
/// such; it never fails the page. Text output (see the buffer rule at the top).
///
/// Thread safety: any thread, concurrently.
///
/// @param result must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_report_html(
    result: *const zairyu_read_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_text(result, buf, buf_len, out_len, |r| Ok(report_html(&r.read, &present_pngs(r)))) }
}

/// Evidence flag: the full card number goes into the evidence (`card_number_full`,
/// and the files exactly as read). Needs `card_number`.
pub const ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER: u32 = 1;
/// Evidence flag: the evidence is made at `created_at_unix` instead of now.
pub const ZAIRYU_EVIDENCE_CREATED_AT: u32 = 2;
const EVIDENCE_FLAGS: u32 = ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER | ZAIRYU_EVIDENCE_CREATED_AT;

/// Options of `zairyu_read_result_evidence_json`; every member may be zero/NULL.
/// Read during the call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct zairyu_evidence_options {
    /// The reading station's signing key: an ECDSA P-256 private key as PKCS#8 DER
    /// (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER`),
    /// `station_key_len` bytes; NULL (length 0) for evidence without a station
    /// signature. Any other key is `ZAIRYU_RESULT_STATION_KEY_INVALID`.
    pub station_key_pkcs8: *const u8,
    /// The length of `station_key_pkcs8`.
    pub station_key_len: usize,
    /// The card number the clerk typed (NUL-terminated), or NULL. Without
    /// `ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER` it is used only to mask every occurrence
    /// of it in the files (as `zairyu dump` does); with it, it is written in full.
    pub card_number: *const c_char,
    /// 0 or `ZAIRYU_EVIDENCE_*` flags or-ed together.
    pub flags: u32,
    /// With `ZAIRYU_EVIDENCE_CREATED_AT`: the creation time in Unix seconds.
    pub created_at_unix: i64,
}

/// Copies the evidence file of a read (`evidence.json` of `zairyu dump`): every raw
/// file as read (base64, with its length and SHA-256), the card type, the metrics,
/// the time, the library version and the verification result, as canonical JSON
/// followed by one `\n`, optionally signed by the reading station's key. Byte output
/// (see the buffer rule at the top): write exactly `*out_len` bytes to a file.
/// `zairyu_verify_evidence` (or `zairyu verify-evidence`) checks it later without a
/// card. The card number is redacted (`AB********CD`, also inside the files) unless
/// `ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER`.
///
/// The bytes depend on the creation time: without `ZAIRYU_EVIDENCE_CREATED_AT`
/// (now), a size query and the copy in a later second give different bytes, and with
/// a station key the second may need up to 2 bytes more (the DER signature's length
/// varies); pass a fixed time (e.g. `time(NULL)` once) to get the same bytes.
///
/// Errors: unknown flags, or `ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER` without a card
/// number: `ZAIRYU_RESULT_INVALID_ARGUMENT`; a malformed card number:
/// `ZAIRYU_RESULT_INPUT_BAD_CARD_NUMBER`; a bad key: `ZAIRYU_RESULT_STATION_KEY_INVALID`.
///
/// Thread safety: any thread, concurrently.
///
/// @param result must not be NULL.
/// @param options may be NULL: no station signature, card number redacted, now.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_read_result_evidence_json(
    result: *const zairyu_read_result,
    options: *const zairyu_evidence_options,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live result.
        let r = unsafe { result_arg(result) }?;
        let _ = non_null_mut(out_len, "out_len")?;
        let o = if options.is_null() {
            zairyu_evidence_options {
                station_key_pkcs8: std::ptr::null(),
                station_key_len: 0,
                card_number: std::ptr::null(),
                flags: 0,
                created_at_unix: 0,
            }
        } else {
            // SAFETY: header contract: a readable options struct, valid during the call.
            unsafe { options.read() }
        };
        if o.flags & !EVIDENCE_FLAGS != 0 {
            return Err(Failure::invalid(format!("unknown evidence flags {:#x}", o.flags & !EVIDENCE_FLAGS)));
        }
        // SAFETY: header contract: NULL with length 0, or readable bytes during the call.
        let key_der = unsafe { bytes_arg(o.station_key_pkcs8, o.station_key_len, "station_key_pkcs8") }?;
        let key = if key_der.is_empty() {
            None
        } else {
            let key = StationKey::from_pkcs8_der(key_der)
                .map_err(|e| Failure::new(zairyu_result::StationKeyInvalid, e.to_string()))?;
            Some(key)
        };
        let number = if o.card_number.is_null() {
            None
        } else {
            // SAFETY: header contract: a NUL-terminated string, valid during the call.
            let typed = unsafe { str_arg(o.card_number, "card_number") }?;
            Some(CardNumber::parse(typed).map_err(zairyu_core::Error::from)?)
        };
        let include = o.flags & ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER != 0;
        let card_number = match (&number, include) {
            (Some(n), true) => CardNumberPolicy::Include(n),
            (Some(n), false) => CardNumberPolicy::RedactTyped(n),
            (None, false) => CardNumberPolicy::Redact,
            (None, true) => {
                return Err(Failure::invalid("ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER needs options->card_number"));
            }
        };
        let opts = EvidenceOptions {
            created_at_unix: (o.flags & ZAIRYU_EVIDENCE_CREATED_AT != 0).then_some(o.created_at_unix),
            station_key: key.as_ref(),
            card_number,
        };
        let bytes = Zeroizing::new(evidence_json(&r.read, &opts));
        // SAFETY: header contract: the buffer rule.
        unsafe { copy_out(&bytes, false, buf, buf_len, out_len) }
    })
}

/// The re-verification of one evidence file (opaque): made by
/// `zairyu_verify_evidence` or `zairyu_verify_evidence_pinned`, freed by
/// `zairyu_evidence_verdict_free`. Immutable:
/// every getter may be called from any thread, also concurrently.
pub struct zairyu_evidence_verdict {
    verdict: EvidenceVerdict,
}

/// Borrows a verdict argument.
///
/// # Safety
/// `p` is NULL or a live verdict from `zairyu_verify_evidence(_pinned)`.
unsafe fn verdict_arg<'a>(p: *const zairyu_evidence_verdict) -> Result<&'a zairyu_evidence_verdict, Failure> {
    let p = non_null(p, "verdict")?;
    // SAFETY: non-NULL and live by the caller's contract; the verdict is immutable.
    Ok(unsafe { &*p })
}

/// Re-verifies an evidence file without a card, **without pinned station keys**:
/// parses it, checks that it is exactly the bytes zairyu wrote (canonical form, every
/// file's SHA-256, the station signature if there is one, under the key the file
/// itself carries), parses the chip's files again and verifies the chip's signature
/// and certificate chain again under `trust`, at the verification time the file
/// records. Accidental damage (a changed byte) is detected; a forger is not: whoever
/// holds the file can rewrite what the chip did not sign (the first generation's
/// address in DF2, the card number, the times, the metadata), recompute the hashes
/// and drop or replace the station signature. So an accepted file proves only the
/// chip-signed fields (`"proves": "chip_signed_fields_only"` and a `caveat` in the
/// JSON; `zairyu_evidence_verdict_proves`). To prove the whole file, pin the reading
/// station's key with `zairyu_verify_evidence_pinned`.
///
/// Returns `ZAIRYU_RESULT_OK` whenever the file could be judged, **also when it is
/// rejected** (as a read with an invalid signature is OK): `*out_accepted` says
/// whether it is accepted: intact, the station signature valid or absent, and the
/// verification done again equal to the recorded one. The verdict handle has the
/// details (`zairyu_evidence_verdict_json`) and feeds `zairyu_export_rows`.
/// What the card's verdict means (production, test ...) is a separate question:
/// `zairyu_evidence_verdict_verdict`.
///
/// Ownership: `data` is read during the call only. On success `*out` receives a
/// verdict the caller owns (free it with `zairyu_evidence_verdict_free`).
/// Thread safety: any thread, concurrently (the trust store is read under its lock).
///
/// @param data the evidence file's bytes; may be NULL only if len is 0.
/// @param len its length.
/// @param trust the anchors, as for a read (e.g. the production roots); must not be NULL.
/// @param flags 0 (reserved); other values are `ZAIRYU_RESULT_INVALID_ARGUMENT`.
/// @param out_accepted must not be NULL; written only on success.
/// @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_verify_evidence(
    data: *const u8,
    len: usize,
    trust: *const zairyu_trust_store,
    flags: u32,
    out_accepted: *mut bool,
    out: *mut *mut zairyu_evidence_verdict,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract;
    // no station keys (NULL, 0) is allowed here.
    unsafe { verify(data, len, trust, None, flags, out_accepted, out) }
}

/// The length of a station key pin: a SHA-256 digest, 32 bytes.
pub const ZAIRYU_STATION_KEY_SHA256_LEN: usize = 32;

/// `zairyu_verify_evidence` with pinned station keys (`zairyu verify-evidence
/// --station-key-sha256`): a file is accepted only when it is intact, verifies
/// again as at the read, **and carries a valid station signature made by one of the
/// pinned keys**. An unsigned file, a file signed by another key (a forger can sign
/// again with a key of their own: the public key travels in the file) and a
/// signature that does not verify are rejected, with the reason in the verdict's JSON
/// (`rejected_because`, `station_pin`). An accepted file then proves the whole file
/// as that station wrote it (`"proves": "whole_file"`).
///
/// A pin is the SHA-256 of the station's public key as SubjectPublicKeyInfo DER:
/// the `key_sha256` a signed evidence file names (as raw bytes, not hex).
///
/// Returns as `zairyu_verify_evidence`. Errors: no pins (`station_key_count` 0:
/// use `zairyu_verify_evidence`, whose verdict says that it proves only the
/// chip-signed fields), or unknown flags: `ZAIRYU_RESULT_INVALID_ARGUMENT`.
///
/// Ownership: `data` and `station_keys` are read during the call only.
/// Thread safety: any thread, concurrently.
///
/// @param data the evidence file's bytes; may be NULL only if len is 0.
/// @param len its length.
/// @param trust the anchors; must not be NULL.
/// @param station_keys `station_key_count` pins of `ZAIRYU_STATION_KEY_SHA256_LEN`
///        (32) bytes each, one after the other; must not be NULL.
/// @param station_key_count how many pins; at least 1.
/// @param flags 0 (reserved); other values are `ZAIRYU_RESULT_INVALID_ARGUMENT`.
/// @param out_accepted must not be NULL; written only on success.
/// @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn zairyu_verify_evidence_pinned(
    data: *const u8,
    len: usize,
    trust: *const zairyu_trust_store,
    station_keys: *const u8,
    station_key_count: usize,
    flags: u32,
    out_accepted: *mut bool,
    out: *mut *mut zairyu_evidence_verdict,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { verify(data, len, trust, Some((station_keys, station_key_count)), flags, out_accepted, out) }
}

/// Both verification functions: `pins` is `None` for `zairyu_verify_evidence`.
///
/// # Safety
/// The header's contract of `zairyu_verify_evidence_pinned`.
unsafe fn verify(
    data: *const u8,
    len: usize,
    trust: *const zairyu_trust_store,
    pins: Option<(*const u8, usize)>,
    flags: u32,
    out_accepted: *mut bool,
    out: *mut *mut zairyu_evidence_verdict,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: NULL with length 0, or `len` readable bytes.
        let data = unsafe { bytes_arg(data, len, "data") }?;
        // SAFETY: header contract: a live trust store.
        let store = unsafe { store_arg(trust) }?.snapshot();
        let station_keys: Vec<[u8; ZAIRYU_STATION_KEY_SHA256_LEN]> = match pins {
            None => Vec::new(),
            Some((p, count)) => {
                let p = non_null(p, "station_keys")?;
                if count == 0 {
                    return Err(Failure::invalid(
                        "station_key_count is 0: pin at least one station key (zairyu_verify_evidence verifies without)",
                    ));
                }
                let bytes = count
                    .checked_mul(ZAIRYU_STATION_KEY_SHA256_LEN)
                    .ok_or_else(|| Failure::invalid("station_key_count is too large"))?;
                // SAFETY: header contract: `count` pins of 32 readable bytes each.
                let all = unsafe { bytes_arg(p, bytes, "station_keys") }?;
                all.chunks_exact(ZAIRYU_STATION_KEY_SHA256_LEN)
                    .map(|c| c.try_into().expect("chunks of the pin length"))
                    .collect()
            }
        };
        let out_accepted = non_null_mut(out_accepted, "out_accepted")?;
        let out = non_null_mut(out, "out")?;
        if flags != 0 {
            return Err(Failure::invalid(format!("unknown verify flags {flags:#x}")));
        }
        let opts = VerifyOptions { station_keys: &station_keys, ..VerifyOptions::default() };
        let verdict = verify_evidence_with(data, &store, &opts);
        let accepted = verdict.accepted();
        // SAFETY: both non-NULL and writable (header contract).
        unsafe {
            write_out(out_accepted, accepted);
            write_out(out, Box::into_raw(Box::new(zairyu_evidence_verdict { verdict })));
        }
        Ok(())
    })
}

/// What an evidence verdict proves (`zairyu_evidence_verdict_proves`; `proves` in
/// its JSON).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_evidence_proof {
    /// Not accepted: nothing.
    Nothing = 1,
    /// Accepted without a pinned station key (`zairyu_verify_evidence`): only the
    /// fields the chip's signature covers (`zairyu_read_result_field_signed`, the
    /// export's `*_signed` columns). Unsigned fields (the first generation's address
    /// …), the card number, the times and the other metadata could have been
    /// rewritten with recomputed hashes.
    ChipSignedFieldsOnly = 2,
    /// Accepted and signed by a pinned station key (`zairyu_verify_evidence_pinned`):
    /// the whole file is as that station wrote it.
    WholeFile = 3,
}

/// What the verdict proves: `ZAIRYU_EVIDENCE_PROOF_WHOLE_FILE` only for a file
/// accepted under a pinned station key.
///
/// Thread safety: any thread, concurrently.
/// @param verdict must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_evidence_verdict_proves(
    verdict: *const zairyu_evidence_verdict,
    out: *mut zairyu_evidence_proof,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live verdict.
        let v = unsafe { verdict_arg(verdict) }?;
        let out = non_null_mut(out, "out")?;
        let proof = match v.verdict.proves() {
            Proves::Nothing => zairyu_evidence_proof::Nothing,
            Proves::ChipSignedFieldsOnly => zairyu_evidence_proof::ChipSignedFieldsOnly,
            Proves::WholeFile => zairyu_evidence_proof::WholeFile,
        };
        // SAFETY: non-NULL and writable (header contract).
        unsafe { write_out(out, proof) };
        Ok(())
    })
}

/// Whether the evidence file is accepted (the `*out_accepted` of
/// `zairyu_verify_evidence`).
///
/// Thread safety: any thread, concurrently.
/// @param verdict must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_evidence_verdict_accepted(
    verdict: *const zairyu_evidence_verdict,
    out: *mut bool,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live verdict.
        let v = unsafe { verdict_arg(verdict) }?;
        let out = non_null_mut(out, "out")?;
        // SAFETY: non-NULL and writable (header contract).
        unsafe { write_out(out, v.verdict.accepted()) };
        Ok(())
    })
}

/// The card's verdict from the verification done again (as
/// `zairyu_read_result_verdict` gave it at the read); `ZAIRYU_RESULT_NOT_PRESENT`
/// when the file is too damaged to be verified again.
///
/// Thread safety: any thread, concurrently.
/// @param verdict must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_evidence_verdict_verdict(
    verdict: *const zairyu_evidence_verdict,
    out: *mut zairyu_verdict,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live verdict.
        let v = unsafe { verdict_arg(verdict) }?;
        let out = non_null_mut(out, "out")?;
        let card = v.verdict.verdict().ok_or_else(|| {
            Failure::new(zairyu_result::NotPresent, "the evidence could not be verified again (see its JSON)")
        })?;
        let card = zairyu_verdict::from_core(card)?;
        // SAFETY: non-NULL and writable (header contract).
        unsafe { write_out(out, card) };
        Ok(())
    })
}

/// Copies the verdict as JSON, the line `zairyu verify-evidence --json` prints
/// (without `file`): `accepted`, `proves` (`"whole_file"`, `"chip_signed_fields_only"`
/// or `"nothing"`: `zairyu_evidence_proof`), `caveat` (what an accepted file does not
/// prove, or null), `rejected_because` (the reasons, empty when accepted),
/// `integrity` (`{"status": "intact" | "altered" | "malformed", "reason"}`),
/// `station` (`{"status": "unsigned" | "valid" | "invalid" | "not_checked", ...}`:
/// the signature under the key the file carries), `station_pin` (`{"status":
/// "none_given" | "pinned" | "unsigned" | "unknown_key" | "signature_invalid",
/// "key_sha256"}`), `recorded_verdict`, `verdict`, `matches_recorded`,
/// `differences`, `created_at`, `zairyu_version` and `report` (the read's JSON
/// report, or null). Never the full card number. One line unless `flags` has
/// `ZAIRYU_JSON_PRETTY`. Text output (see the buffer rule).
///
/// Thread safety: any thread, concurrently.
///
/// @param verdict must not be NULL.
/// @param flags 0 or `ZAIRYU_JSON_PRETTY`; other bits are `ZAIRYU_RESULT_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_evidence_verdict_json(
    verdict: *const zairyu_evidence_verdict,
    flags: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live verdict.
        let v = unsafe { verdict_arg(verdict) }?;
        let _ = non_null_mut(out_len, "out_len")?;
        let text = json_text(&v.verdict.to_json(), flags)?;
        // SAFETY: header contract: the buffer rule.
        unsafe { copy_out(text.as_bytes(), true, buf.cast(), buf_len, out_len) }
    })
}

/// Frees a verdict. NULL is accepted and ignored.
///
/// Ownership: takes back the handle; it must not be used afterwards, and no getter
/// on it may be running.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_evidence_verdict_free(verdict: *mut zairyu_evidence_verdict) {
    let _ = guard(|| {
        if !verdict.is_null() {
            // SAFETY: a non-NULL pointer here came from Box::into_raw in
            // zairyu_verify_evidence(_pinned) and is freed once (caller's contract).
            drop(unsafe { Box::from_raw(verdict) });
        }
        Ok(())
    });
}

/// The format of `zairyu_export_rows` (its `format` argument).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_export_format {
    /// CSV after RFC 4180: UTF-8, a header line of the column names, CRLF line ends.
    Csv = 1,
    /// JSON lines: one object per row, keys the column names, `\n` line ends.
    Jsonl = 2,
}

c_enum!(zairyu_export_format, "export format", [Csv, Jsonl]);

/// Export flag: start the CSV with a UTF-8 byte order mark (for spreadsheet
/// programs). CSV only.
pub const ZAIRYU_EXPORT_BOM: u32 = 1;
/// Export flag: fill the `*_era` columns with the Japanese era (`令和元年5月1日`).
pub const ZAIRYU_EXPORT_JAPANESE_ERA: u32 = 2;
/// Export flag: the full card number, where the evidence holds it (made with
/// `ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER`); other rows keep it redacted.
pub const ZAIRYU_EXPORT_INCLUDE_CARD_NUMBER: u32 = 4;
/// Export flag: a CSV cell starting with `=`, `+`, `-`, `@`, tab or CR gets a `'`
/// in front, so a spreadsheet does not run card text as a formula (changes the
/// value: for spreadsheets, not for registry import). CSV only.
pub const ZAIRYU_EXPORT_GUARD_FORMULAS: u32 = 8;
const EXPORT_FLAGS: u32 =
    ZAIRYU_EXPORT_BOM | ZAIRYU_EXPORT_JAPANESE_ERA | ZAIRYU_EXPORT_INCLUDE_CARD_NUMBER | ZAIRYU_EXPORT_GUARD_FORMULAS;

/// Copies the registry export of verified evidence files (`zairyu export`): one row
/// per verdict, in order, with the fields a residence record (住民票) needs under the
/// versioned column schema of docs/export-schema.md (card type, dates in ISO 8601
/// and optionally in the Japanese era, sex, nationality, status of residence,
/// period, expiry, address, permissions, the verdict, and each field's `*_signed`
/// flag). CSV has the header line even with no rows. Text output (see the buffer
/// rule); card text holding a NUL byte is refused with
/// `ZAIRYU_RESULT_TEXT_CONTAINS_NUL` (use JSON lines, which escape it).
///
/// A verdict is accepted as it was judged: under the pinned station keys of
/// `zairyu_verify_evidence_pinned`, or without (then its rows prove only the
/// `*_signed` fields: `zairyu_evidence_verdict_proves`).
///
/// Errors: a verdict that is not accepted: `ZAIRYU_RESULT_EVIDENCE_REJECTED` (the
/// detail names its index; nothing is written); an unknown format or flag, or
/// `ZAIRYU_EXPORT_BOM` or `ZAIRYU_EXPORT_GUARD_FORMULAS` with JSON lines:
/// `ZAIRYU_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: any thread, concurrently.
///
/// @param verdicts `count` verdicts from `zairyu_verify_evidence`, none NULL; may be NULL only if count is 0.
/// @param count how many.
/// @param format a `zairyu_export_format` value.
/// @param flags 0 or `ZAIRYU_EXPORT_*` flags or-ed together.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_export_rows(
    verdicts: *const *const zairyu_evidence_verdict,
    count: usize,
    format: u32,
    flags: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    guard(|| {
        let _ = non_null_mut(out_len, "out_len")?;
        let list: &[*const zairyu_evidence_verdict] = if count == 0 {
            &[]
        } else {
            let p = non_null(verdicts, "verdicts")?;
            // SAFETY: header contract: `count` readable pointers, valid during the call.
            unsafe { std::slice::from_raw_parts(p, count) }
        };
        let format = zairyu_export_format::arg(format)?;
        if flags & !EXPORT_FLAGS != 0 {
            return Err(Failure::invalid(format!("unknown export flags {:#x}", flags & !EXPORT_FLAGS)));
        }
        if format == zairyu_export_format::Jsonl && flags & ZAIRYU_EXPORT_BOM != 0 {
            return Err(Failure::invalid("ZAIRYU_EXPORT_BOM is for CSV only"));
        }
        if format == zairyu_export_format::Jsonl && flags & ZAIRYU_EXPORT_GUARD_FORMULAS != 0 {
            return Err(Failure::invalid("ZAIRYU_EXPORT_GUARD_FORMULAS is for CSV only"));
        }
        let include = flags & ZAIRYU_EXPORT_INCLUDE_CARD_NUMBER != 0;
        let japanese_era = flags & ZAIRYU_EXPORT_JAPANESE_ERA != 0;
        let mut rows = Vec::with_capacity(list.len());
        for (i, p) in list.iter().enumerate() {
            // SAFETY: header contract: each pointer is a live verdict.
            let v = unsafe { verdict_arg(*p) }.map_err(|_| Failure::null(&format!("verdicts[{i}]")))?;
            let read = match (&v.verdict.read, v.verdict.accepted()) {
                (Some(read), true) => read,
                _ => {
                    return Err(Failure::new(
                        zairyu_result::EvidenceRejected,
                        format!("verdicts[{i}]: the evidence file is not accepted"),
                    ));
                }
            };
            let number = match (&v.verdict.card_number_full, include) {
                (Some(n), true) => Some(CardNumber::parse(n).map_err(zairyu_core::Error::from)?),
                _ => None,
            };
            rows.push(export_row(read, &ExportOptions { card_number: number.as_ref(), japanese_era }));
        }
        let text = Zeroizing::new(match format {
            zairyu_export_format::Csv => write_csv(
                &rows,
                &CsvOptions {
                    bom: flags & ZAIRYU_EXPORT_BOM != 0,
                    guard_formulas: flags & ZAIRYU_EXPORT_GUARD_FORMULAS != 0,
                },
            ),
            zairyu_export_format::Jsonl => write_jsonl(&rows),
        });
        // SAFETY: header contract: the buffer rule.
        unsafe { copy_out(text.as_bytes(), true, buf.cast(), buf_len, out_len) }
    })
}
