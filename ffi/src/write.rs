//! The address write (AWP v1, issue 12): `zairyu_authority` (the write authority the
//! counter relays to: in-process from a directory, or the `zairyu-authority` service
//! over HTTPS with mutual TLS, behind the same handle), `zairyu_card_write_address` (the core's one counter-side write,
//! [`write_address`]), the receipt, and the one mapping of every refusal onto the
//! 10xx result codes ([`write_result`]).

use std::ffi::c_char;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, TryLockError};

use zairyu_authority_core::InProcessAuthority;
use zairyu_authority_core::remote::RemoteAuthority;
use zairyu_core::auth::OsRandom;
use zairyu_core::verify::TrustStore;
use zairyu_core::write::authority::Receipt;
use zairyu_core::write::counter::{AddressWrite, WriteError, WriteErrorKind, WriteOutcome, write_address};
use zairyu_core::write::record::NewAddress;
use zairyu_core::write::relay::AuthorityLink;
use zairyu_core::{CardNumber, Error};

use crate::card::{CardLink, card_arg, zairyu_card};
use crate::result::zairyu_result;
use crate::util::{Failure, copy_out, guard, json_text, non_null, non_null_mut, str_arg, write_out};

/// A write authority (opaque): the party that holds the terminal key and runs the
/// write's secure channel end to end with the card, while the counter only relays
/// APDU bytes. Made by `zairyu_authority_open_dir` (in process) or
/// `zairyu_authority_open_remote` (the service over HTTPS); freed by
/// `zairyu_authority_free`.
/// One write at a time: a write that finds it in use by another returns
/// `ZAIRYU_RESULT_HANDLE_BUSY`. It may be used from different threads one after
/// another.
pub struct zairyu_authority {
    link: Mutex<Box<dyn AuthorityLink + Send>>,
}

impl zairyu_authority {
    fn lock(&self) -> Result<MutexGuard<'_, Box<dyn AuthorityLink + Send>>, Failure> {
        match self.link.try_lock() {
            Ok(g) => Ok(g),
            // A panic during an earlier write: the authority's state machine ends every
            // session it does not finish, so the link stays usable.
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => {
                Err(Failure::new(zairyu_result::HandleBusy, "the authority is in use by another write"))
            }
        }
    }
}

/// The new address record of `zairyu_card_write_address`: four NUL-terminated UTF-8
/// strings, none of them NULL. They are read during the call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct zairyu_address_record {
    /// 追記書き込み年月日, the date of the change: "YYYYMMDD", a real day.
    pub date: *const c_char,
    /// 市町村コード: 6 digits with a valid check digit (e.g. "131016").
    pub municipality_code: *const c_char,
    /// 住居地, the new address: at most 80 characters and 320 bytes, no control or
    /// bidirectional-override characters. A second-generation card receives it as an
    /// image the authority renders.
    pub address: *const c_char,
    /// The clerk's operator id, for the authority's audit log.
    pub operator_id: *const c_char,
}

/// The receipt of a confirmed write (opaque): the authority's receipt, and what the
/// counter saw. Made by `zairyu_card_write_address`; freed by
/// `zairyu_write_receipt_free`. Immutable: any thread, concurrently.
pub struct zairyu_write_receipt {
    receipt: Receipt,
    generation: u8,
    apdus: usize,
}

/// The receipt as JSON: the authority's receipt fields, then what the counter saw.
#[derive(serde::Serialize)]
struct ReceiptJson<'a> {
    #[serde(flatten)]
    receipt: &'a Receipt,
    generation: u8,
    apdus: usize,
}

/// The one mapping of a failed write onto a result code, by the core's
/// classification ([`WriteError::kind`]): the access read's errors (a wrong card
/// number, a removed card ...) and a transport failure during the relayed write keep
/// the core's codes; the rest is the 10xx block.
pub(crate) fn write_result(e: &WriteError) -> zairyu_result {
    use zairyu_result as R;
    match e.kind() {
        WriteErrorKind::Read => e.core_error().map_or(R::UnknownError, |err| zairyu_result::from_error(&err)),
        WriteErrorKind::AuthorityRefused => R::AuthorityRefused,
        WriteErrorKind::PolicyRefused => R::PolicyRefused,
        WriteErrorKind::RecordInvalid => R::RecordInvalid,
        WriteErrorKind::AddressImageFailed => R::AddressImageFailed,
        WriteErrorKind::CardRefused => R::WriteCardRefused,
        WriteErrorKind::NotSupported => R::WriteNotSupported,
        WriteErrorKind::ReadBackMismatch => R::ReadbackMismatch,
        WriteErrorKind::Unconfirmed => R::WriteUnconfirmed,
        WriteErrorKind::AuthorityUnavailable => R::AuthorityUnavailable,
    }
}

/// A failed write as the thread's last error: "<result name>: [<stable code>] <message>".
fn write_failure(e: &WriteError) -> Failure {
    // Write messages never contain the card number: access and re-read errors are the
    // core's, the rest are the authority's and the relay's (codes, steps, status words).
    Failure::new(write_result(e), format!("[{}] {e}", e.code()))
}

/// Borrows an authority argument.
///
/// # Safety
/// `p` is NULL or a live pointer from `zairyu_authority_open_dir` or
/// `zairyu_authority_open_remote`.
unsafe fn authority_arg<'a>(p: *const zairyu_authority) -> Result<&'a zairyu_authority, Failure> {
    let p = non_null(p, "authority")?;
    // SAFETY: non-NULL and live by the caller's contract; only shared references are
    // made from it, and the link is reached through its mutex.
    Ok(unsafe { &*p })
}

/// Reads the record argument into an owned record and operator id.
///
/// # Safety
/// `p` is NULL or points to a readable `zairyu_address_record` whose strings are NULL
/// or NUL-terminated.
unsafe fn record_arg(p: *const zairyu_address_record) -> Result<AddressWrite, Failure> {
    let p = non_null(p, "record")?;
    // SAFETY: non-NULL and readable by the caller's contract; copied out at once.
    let r = unsafe { p.read() };
    // SAFETY (the four calls): the header's contract for the record's strings.
    let date = unsafe { str_arg(r.date, "record.date") }?;
    // SAFETY: as above.
    let municipality_code = unsafe { str_arg(r.municipality_code, "record.municipality_code") }?;
    // SAFETY: as above.
    let address = unsafe { str_arg(r.address, "record.address") }?;
    // SAFETY: as above.
    let operator_id = unsafe { str_arg(r.operator_id, "record.operator_id") }?;
    Ok(AddressWrite {
        record: NewAddress {
            date: date.to_owned(),
            municipality_code: municipality_code.to_owned(),
            address: address.to_owned(),
        },
        operator_id: operator_id.to_owned(),
    })
}

/// Opens the in-process write authority of directory `dir` for the counter
/// `counter_id`: the write CVCA, the terminal chain and key (`test-terminal.key.p8`,
/// mode 0600), the write-issuer root, the policy (`policy.toml` or `policy.json`:
/// which counters may write for which municipality codes) and the hash-chained audit
/// log (`audit.sqlite3` if it exists, else `audit.jsonl`, created). A test write PKI
/// (`zairyu_sim_write_pki_generate`, `zairyu pki init`) with a `policy.toml` added is
/// such a directory. The terminal chain is checked against the CVCA today, with the
/// write right, and the key against the terminal certificate. Every write through it,
/// refused or not, is appended to the audit log before anything reaches the card.
///
/// The second generation's address image is rendered with the font of the
/// environment variable the authority crate documents, or a Debian IPAex / Noto CJK
/// font found at run time; without one, second-generation writes are refused with
/// `ZAIRYU_RESULT_ADDRESS_IMAGE_FAILED` (first-generation writes still work).
///
/// Errors: `ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED` (the detail names the file and why).
///
/// Ownership: on success `*out` receives an authority the caller owns (free it with
/// `zairyu_authority_free`). Thread safety: may be called from any thread.
///
/// @param dir NUL-terminated UTF-8 path of the authority directory; must not be NULL.
/// @param counter_id NUL-terminated UTF-8 identity of this counter, as the policy names it; must not be NULL.
/// @param out receives the authority; must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_authority_open_dir(
    dir: *const c_char,
    counter_id: *const c_char,
    out: *mut *mut zairyu_authority,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let dir = unsafe { str_arg(dir, "dir") }?;
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let counter_id = unsafe { str_arg(counter_id, "counter_id") }?;
        let out = non_null_mut(out, "out")?;
        let authority = InProcessAuthority::from_dir(Path::new(dir), counter_id)
            .map_err(|e| Failure::new(zairyu_result::AuthoritySetupFailed, format!("authority directory: {e}")))?;
        let handle = Box::new(zairyu_authority { link: Mutex::new(Box::new(authority)) });
        // SAFETY: out is non-NULL and writable (header contract).
        unsafe { write_out(out, Box::into_raw(handle)) };
        Ok(())
    })
}

/// The most URLs `zairyu_authority_open_remote` takes.
pub const ZAIRYU_AUTHORITY_MAX_URLS: usize = 16;

/// Opens the link to a write authority service (`zairyu-authority serve`) over HTTPS
/// with mutual TLS: the counter presents `client_cert` (its common name is the
/// counter identity the service's policy names) with `client_key`, and trusts only
/// `authority_ca` for the service's certificate (never the system's roots). Nothing
/// is sent until a write: this checks the URLs and loads the three PEM files.
///
/// `urls` are `https://HOST:PORT`; more than one for instances sharing one database:
/// a message whose connection fails (refused, reset, timed out) or that is answered
/// `503` is sent again, unchanged, to the next URL in turn, and the service answers a
/// message it has already processed with the answer it stored, so a retry never
/// makes the authority sign twice. Connecting is bounded by 5 s, every read and write
/// by 30 s; a message is sent at most 3 times.
///
/// A write through it that cannot reach the service returns
/// `ZAIRYU_RESULT_AUTHORITY_UNAVAILABLE`; a refusal of the service has its 10xx code
/// (`ZAIRYU_RESULT_POLICY_REFUSED` for its policy ...) and its stable code in the
/// last-error detail, as with an in-process authority.
///
/// Errors: `ZAIRYU_RESULT_INVALID_ARGUMENT` (`n` is 0 or more than
/// `ZAIRYU_AUTHORITY_MAX_URLS`), `ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED` (the detail
/// names the stable code in brackets, e.g. "authority_setup_failed:
/// [remote_url_invalid] ...": `remote_url_invalid`, `remote_file_unreadable`,
/// `remote_pem_invalid`, `remote_tls_config`).
///
/// Ownership: on success `*out` receives an authority the caller owns (free it with
/// `zairyu_authority_free`). Thread safety: may be called from any thread.
///
/// @param urls `n` NUL-terminated UTF-8 URLs; must not be NULL, nor any of them.
/// @param n the number of URLs, 1 to `ZAIRYU_AUTHORITY_MAX_URLS`.
/// @param client_cert NUL-terminated path of the client certificate (PEM, then any intermediates); must not be NULL.
/// @param client_key NUL-terminated path of its private key (PEM: PKCS#8, SEC1 or PKCS#1); must not be NULL.
/// @param authority_ca NUL-terminated path of the CA the service's certificate must chain to (PEM); must not be NULL.
/// @param out receives the authority; must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_authority_open_remote(
    urls: *const *const c_char,
    n: usize,
    client_cert: *const c_char,
    client_key: *const c_char,
    authority_ca: *const c_char,
    out: *mut *mut zairyu_authority,
) -> zairyu_result {
    guard(|| {
        let urls = non_null(urls, "urls")?;
        if n == 0 || n > ZAIRYU_AUTHORITY_MAX_URLS {
            return Err(Failure::invalid(format!("n = {n}: give 1 to {ZAIRYU_AUTHORITY_MAX_URLS} URLs")));
        }
        let mut list = Vec::with_capacity(n);
        for i in 0..n {
            // SAFETY: header contract: `urls` points to `n` readable pointers; i < n.
            let p = unsafe { urls.add(i).read() };
            // SAFETY: header contract: each is NULL or a NUL-terminated string.
            list.push(unsafe { str_arg(p, "urls[i]") }?);
        }
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let client_cert = unsafe { str_arg(client_cert, "client_cert") }?;
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let client_key = unsafe { str_arg(client_key, "client_key") }?;
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let authority_ca = unsafe { str_arg(authority_ca, "authority_ca") }?;
        let out = non_null_mut(out, "out")?;
        let remote =
            RemoteAuthority::from_files(&list, Path::new(client_cert), Path::new(client_key), Path::new(authority_ca))
                .map_err(|e| {
                    Failure::new(zairyu_result::AuthoritySetupFailed, format!("[{}] authority service: {e}", e.code()))
                })?;
        let handle = Box::new(zairyu_authority { link: Mutex::new(Box::new(remote)) });
        // SAFETY: out is non-NULL and writable (header contract).
        unsafe { write_out(out, Box::into_raw(handle)) };
        Ok(())
    })
}

/// Frees an authority (an in-process one records a session left unfinished as
/// `session_abandoned` in its audit log). NULL is accepted and ignored
/// (`ZAIRYU_RESULT_OK`). An authority in a write on another thread is **not** freed:
/// the result is `ZAIRYU_RESULT_HANDLE_BUSY` and the handle stays valid.
///
/// Ownership: on `ZAIRYU_RESULT_OK` takes back the handle; it must not be used
/// afterwards. Receipts made with it stay valid.
///
/// @param authority the authority, or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_authority_free(authority: *mut zairyu_authority) -> zairyu_result {
    guard(|| {
        if authority.is_null() {
            return Ok(());
        }
        // SAFETY: header contract: a live authority handle.
        let shared = unsafe { authority_arg(authority) }?;
        drop(shared.lock()?);
        // SAFETY: a non-NULL pointer here came from Box::into_raw in
        // zairyu_authority_open_dir or _open_remote; no write holds it (its lock was free), and it is
        // freed once (caller's contract).
        drop(unsafe { Box::from_raw(authority) });
        Ok(())
    })
}

/// Writes a new residence address (住居地) into the card, through the write
/// authority, and confirms it: the normal card-number access with `card_number`
/// (either generation), the write application's EF.ChipAuthInfo, the write relayed
/// between `authority` and the card (the authority authenticates to the card, opens
/// secure messaging with it, writes, and returns its receipt; this call only carries
/// APDU bytes), then a **new card session** that re-reads the written file and
/// compares it with the record and the receipt. First generation: DF2/EF01 (the
/// text record); second generation: DF1/EF04 (the address image the authority
/// renders).
///
/// The new session: a simulated card is power-cycled; a PC/SC card is disconnected
/// with a card reset and connected again (a new transaction); a callback card calls
/// its reset callback (`zairyu_card_open_callback_with_reset`; a callback card
/// without one is refused with `ZAIRYU_RESULT_INVALID_ARGUMENT` before any APDU).
///
/// Errors: the access read's codes (`ZAIRYU_RESULT_WRONG_CARD_NUMBER` ...), a
/// transport code when the card or reader fails during the write (the card's commit is
/// atomic: it then holds the old or the new content, whole), and the 10xx block:
/// `ZAIRYU_RESULT_POLICY_REFUSED`, `..._RECORD_INVALID`, `..._ADDRESS_IMAGE_FAILED`,
/// `..._AUTHORITY_REFUSED`, `..._WRITE_CARD_REFUSED`, `..._WRITE_NOT_SUPPORTED`,
/// `..._READBACK_MISMATCH`, `..._WRITE_UNCONFIRMED`, `..._AUTHORITY_UNAVAILABLE`. The last-error detail starts with the
/// precise stable code in brackets, e.g. "policy_refused: [policy_municipality_not_allowed] ...".
/// Only `ZAIRYU_RESULT_OK` means the card holds the new address.
///
/// The card number is used for this call only and never appears in a message or in
/// the receipt (which carries its SHA-256, as the card's EF.ChipAuthInfo does).
///
/// Ownership: on success `*out` receives a receipt the caller owns (free it with
/// `zairyu_write_receipt_free`). Thread safety: one call at a time per card and per
/// authority (`ZAIRYU_RESULT_HANDLE_BUSY` otherwise).
///
/// @param card the card; must not be NULL.
/// @param card_number NUL-terminated 在留カード等番号 (12 letters or digits); must not be NULL.
/// @param record the new record; must not be NULL, nor any of its strings.
/// @param authority the write authority; must not be NULL.
/// @param out receives the receipt; must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_card_write_address(
    card: *mut zairyu_card,
    card_number: *const c_char,
    record: *const zairyu_address_record,
    authority: *const zairyu_authority,
    out: *mut *mut zairyu_write_receipt,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live card handle.
        let card = unsafe { card_arg(card) }?;
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let typed = unsafe { str_arg(card_number, "card_number") }?;
        // SAFETY: header contract: NULL or a readable record of strings.
        let request = unsafe { record_arg(record) }?;
        // SAFETY: header contract: a live authority handle.
        let authority = unsafe { authority_arg(authority) }?;
        let out = non_null_mut(out, "out")?;
        let number = CardNumber::parse(typed).map_err(Error::from)?;
        let outcome = {
            let mut in_use = card.take()?;
            if !in_use.transport().can_reset() {
                return Err(Failure::invalid(
                    "a callback card needs a reset callback to write (zairyu_card_open_callback_with_reset)",
                ));
            }
            let mut link = authority.lock()?;
            // The access read's verification does not decide the write (the authority
            // checks the card's EF.ChipAuthInfo itself): no anchors are needed.
            let trust = TrustStore::new();
            write_address(
                in_use.transport(),
                |t: &mut &mut dyn CardLink| t.new_session(),
                &number,
                &trust,
                &mut OsRandom,
                &mut **link,
                request,
            )
            .map_err(|e| write_failure(&e))?
        };
        let WriteOutcome { receipt, generation, apdus, .. } = outcome;
        let receipt = Box::new(zairyu_write_receipt { receipt, generation, apdus });
        // SAFETY: out is non-NULL and writable (header contract).
        unsafe { write_out(out, Box::into_raw(receipt)) };
        Ok(())
    })
}

/// Borrows a receipt argument.
///
/// # Safety
/// `p` is NULL or a live pointer from `zairyu_card_write_address`.
unsafe fn receipt_arg<'a>(p: *const zairyu_write_receipt) -> Result<&'a zairyu_write_receipt, Failure> {
    let p = non_null(p, "receipt")?;
    // SAFETY: non-NULL and live by the caller's contract; the receipt is immutable.
    Ok(unsafe { &*p })
}

/// Runs a receipt getter that writes one value.
///
/// # Safety
/// `r` is NULL or a live receipt; `out` is NULL or writable.
unsafe fn get_value<T>(
    r: *const zairyu_write_receipt,
    out: *mut T,
    f: impl FnOnce(&zairyu_write_receipt) -> T,
) -> zairyu_result {
    guard(|| {
        // SAFETY: this function's contract.
        let r = unsafe { receipt_arg(r) }?;
        let out = non_null_mut(out, "out")?;
        // SAFETY: non-NULL and writable by this function's contract.
        unsafe { write_out(out, f(r)) };
        Ok(())
    })
}

/// Runs a receipt getter that copies text into the caller's buffer.
///
/// # Safety
/// `r` is NULL or a live receipt; `buf`/`buf_len`/`out_len` follow the buffer rule.
unsafe fn get_text(
    r: *const zairyu_write_receipt,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
    f: impl FnOnce(&zairyu_write_receipt) -> Result<String, Failure>,
) -> zairyu_result {
    guard(|| {
        // SAFETY: this function's contract.
        let r = unsafe { receipt_arg(r) }?;
        let _ = non_null_mut(out_len, "out_len")?;
        let text = f(r)?;
        // SAFETY: this function's contract (the buffer rule).
        unsafe { copy_out(text.as_bytes(), true, buf.cast(), buf_len, out_len) }
    })
}

/// SHA-256 of the new file content, 64 lower-case hex digits (the content the card
/// re-read matched). Text output (see the buffer rule).
///
/// @param receipt must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_write_receipt_content_sha256(
    receipt: *const zairyu_write_receipt,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_text(receipt, buf, buf_len, out_len, |r| Ok(r.receipt.content_sha256.clone())) }
}

/// SHA-256 of the file content before the write (hex), as the authority read it under
/// secure messaging; `ZAIRYU_RESULT_NOT_PRESENT` if the authority did not read it.
/// Text output (see the buffer rule).
///
/// @param receipt must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_write_receipt_old_content_sha256(
    receipt: *const zairyu_write_receipt,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe {
        get_text(receipt, buf, buf_len, out_len, |r| {
            r.receipt
                .old_content_sha256
                .clone()
                .ok_or_else(|| Failure::new(zairyu_result::NotPresent, "the receipt has no hash of the old content"))
        })
    }
}

/// SHA-256 of the card number (hex), from the card's verified EF.ChipAuthInfo (never
/// the number itself). Text output (see the buffer rule).
///
/// @param receipt must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_write_receipt_card_number_sha256(
    receipt: *const zairyu_write_receipt,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_text(receipt, buf, buf_len, out_len, |r| Ok(r.receipt.card_number_sha256.clone())) }
}

/// The terminal that wrote: its certificate holder reference (e.g.
/// "JPTESTTERM00001"). Text output (see the buffer rule).
///
/// @param receipt must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_write_receipt_terminal(
    receipt: *const zairyu_write_receipt,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_text(receipt, buf, buf_len, out_len, |r| Ok(r.receipt.terminal.clone())) }
}

/// When the authority accepted the write request (Unix seconds).
///
/// @param receipt must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_write_receipt_time(
    receipt: *const zairyu_write_receipt,
    out: *mut u64,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_value(receipt, out, |r| r.receipt.time_unix) }
}

/// Exchanges with the authority, the opening one included (4 for a write of AWP v1).
///
/// @param receipt must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_write_receipt_round_trips(
    receipt: *const zairyu_write_receipt,
    out: *mut u32,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_value(receipt, out, |r| r.receipt.round_trips) }
}

/// The card generation written: 1 (the DF2/EF01 text record) or 2 (the DF1/EF04
/// address image).
///
/// @param receipt must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_write_receipt_generation(
    receipt: *const zairyu_write_receipt,
    out: *mut u8,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe { get_value(receipt, out, |r| r.generation) }
}

/// The receipt as one JSON object: `target` ("df2_ef01" or "df1_ef04"),
/// `content_sha256`, `old_content_sha256` (or null), `card_number_sha256`,
/// `terminal`, `chip_auth_info_signer`, `time_unix`, `round_trips`, then
/// `generation` and `apdus` (command APDUs of the access read, the relayed write and
/// the re-read). One line unless `flags` has `ZAIRYU_JSON_PRETTY`. Text output (see
/// the buffer rule).
///
/// @param receipt must not be NULL.
/// @param flags 0 or `ZAIRYU_JSON_PRETTY`; other bits are `ZAIRYU_RESULT_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_write_receipt_json(
    receipt: *const zairyu_write_receipt,
    flags: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    unsafe {
        get_text(receipt, buf, buf_len, out_len, |r| {
            json_text(&ReceiptJson { receipt: &r.receipt, generation: r.generation, apdus: r.apdus }, flags)
        })
    }
}

/// Frees a receipt. NULL is accepted and ignored.
///
/// Ownership: takes back the handle; it must not be used afterwards, and no getter
/// on it may be running.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_write_receipt_free(receipt: *mut zairyu_write_receipt) {
    let _ = guard(|| {
        if !receipt.is_null() {
            // SAFETY: a non-NULL pointer here came from Box::into_raw in
            // zairyu_card_write_address and is freed once (caller's contract).
            drop(unsafe { Box::from_raw(receipt) });
        }
        Ok(())
    });
}
