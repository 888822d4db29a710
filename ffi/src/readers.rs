//! PC/SC readers: the list, and waiting for a card to arrive or leave.

use std::ffi::c_char;

use crate::result::zairyu_result;
use crate::util::{Failure, copy_out, guard, non_null, non_null_mut, str_arg, write_out};

/// One reader as PC/SC lists it.
struct Reader {
    name: String,
    card_present: bool,
}

/// A snapshot of the PC/SC readers (opaque). Made by `zairyu_reader_list_new`,
/// freed by `zairyu_reader_list_free`. Immutable: getters may be called from any
/// thread, also concurrently.
pub struct zairyu_reader_list {
    readers: Vec<Reader>,
}

#[cfg(not(feature = "pcsc"))]
pub(crate) fn not_built() -> Failure {
    Failure::new(zairyu_result::NotBuiltWithPcsc, "this library was built without the pcsc feature")
}

#[cfg(feature = "pcsc")]
fn list() -> Result<Vec<Reader>, Failure> {
    // A context of its own, released on return (see `card::open_pcsc`).
    let mut ctx = zairyu_pcsc::PcscContext::new();
    Ok(ctx.list_readers()?.into_iter().map(|r| Reader { name: r.name, card_present: r.card_present }).collect())
}

#[cfg(not(feature = "pcsc"))]
fn list() -> Result<Vec<Reader>, Failure> {
    Err(not_built())
}

/// Lists the PC/SC readers now connected, with card presence. No reader is an
/// empty list (count 0), not an error; no PC/SC service (pcscd not running) is
/// `ZAIRYU_RESULT_TRANSPORT_READER_UNAVAILABLE`.
///
/// Ownership: on success `*out` receives a list the caller owns (free it with
/// `zairyu_reader_list_free`). Thread safety: may be called from any thread.
///
/// @param out receives the list; must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_reader_list_new(out: *mut *mut zairyu_reader_list) -> zairyu_result {
    guard(|| {
        let out = non_null_mut(out, "out")?;
        let readers = list()?;
        let list = Box::into_raw(Box::new(zairyu_reader_list { readers }));
        // SAFETY: non-NULL and writable (header contract).
        unsafe { write_out(out, list) };
        Ok(())
    })
}

/// Borrows a reader-list argument.
///
/// # Safety
/// `p` is NULL or a live pointer from `zairyu_reader_list_new`.
unsafe fn list_arg<'a>(p: *const zairyu_reader_list) -> Result<&'a zairyu_reader_list, Failure> {
    let p = non_null(p, "list")?;
    // SAFETY: non-NULL and live by the caller's contract; the list is immutable.
    Ok(unsafe { &*p })
}

fn entry(list: &zairyu_reader_list, index: usize) -> Result<&Reader, Failure> {
    list.readers
        .get(index)
        .ok_or_else(|| Failure::invalid(format!("reader index {index} out of range (count {})", list.readers.len())))
}

/// The number of readers in the list.
///
/// Thread safety: any thread, concurrently.
/// @param list must not be NULL. @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_reader_list_count(list: *const zairyu_reader_list, out: *mut usize) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live list.
        let list = unsafe { list_arg(list) }?;
        let out = non_null_mut(out, "out")?;
        // SAFETY: non-NULL and writable (header contract).
        unsafe { write_out(out, list.readers.len()) };
        Ok(())
    })
}

/// Copies the name of reader `index` (0-based) into `buf`, as
/// `zairyu_card_open_pcsc` takes it. Text output (see the buffer rule at the top);
/// an index out of range is `ZAIRYU_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: any thread, concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_reader_list_name(
    list: *const zairyu_reader_list,
    index: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live list.
        let list = unsafe { list_arg(list) }?;
        let _ = non_null_mut(out_len, "out_len")?;
        let name = entry(list, index)?.name.as_bytes();
        // SAFETY: header contract: the buffer rule.
        unsafe { copy_out(name, true, buf.cast(), buf_len, out_len) }
    })
}

/// Whether a card was in reader `index` when the list was made.
///
/// Thread safety: any thread, concurrently.
/// @param out must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_reader_list_card_present(
    list: *const zairyu_reader_list,
    index: usize,
    out: *mut bool,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live list.
        let list = unsafe { list_arg(list) }?;
        let out = non_null_mut(out, "out")?;
        let present = entry(list, index)?.card_present;
        // SAFETY: non-NULL and writable (header contract).
        unsafe { write_out(out, present) };
        Ok(())
    })
}

/// Frees a reader list. NULL is accepted and ignored.
///
/// Ownership: takes back the handle; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_reader_list_free(list: *mut zairyu_reader_list) {
    let _ = guard(|| {
        if !list.is_null() {
            // SAFETY: a non-NULL pointer here came from Box::into_raw in
            // zairyu_reader_list_new and is freed once (caller's contract).
            drop(unsafe { Box::from_raw(list) });
        }
        Ok(())
    });
}

/// Waits until a card is in reader `reader` (`present` true) or until the reader is
/// empty (`present` false), at most `timeout_ms` milliseconds. Returns
/// `ZAIRYU_RESULT_OK` in both cases, with `*out_reached` saying whether the state
/// was reached; a reader that does not exist is
/// `ZAIRYU_RESULT_TRANSPORT_NO_SUCH_READER`, no PC/SC service
/// `ZAIRYU_RESULT_TRANSPORT_READER_UNAVAILABLE`.
///
/// Thread safety: may be called from any thread; it blocks the calling thread.
///
/// @param reader NUL-terminated UTF-8 reader name; must not be NULL.
/// @param present the state to wait for.
/// @param timeout_ms the longest wait; 0 only looks.
/// @param out_reached must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_reader_wait(
    reader: *const c_char,
    present: bool,
    timeout_ms: u32,
    out_reached: *mut bool,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let reader = unsafe { str_arg(reader, "reader") }?;
        let out = non_null_mut(out_reached, "out_reached")?;
        let reached = wait(reader, present, timeout_ms)?;
        // SAFETY: non-NULL and writable (header contract).
        unsafe { write_out(out, reached) };
        Ok(())
    })
}

#[cfg(feature = "pcsc")]
fn wait(reader: &str, present: bool, timeout_ms: u32) -> Result<bool, Failure> {
    let timeout = std::time::Duration::from_millis(u64::from(timeout_ms));
    Ok(zairyu_pcsc::wait_for_card(reader, present, timeout)?)
}

#[cfg(not(feature = "pcsc"))]
fn wait(_reader: &str, _present: bool, _timeout_ms: u32) -> Result<bool, Failure> {
    Err(not_built())
}
