//! The API boundary: panic catching, the thread's last error, pointer checks,
//! numbers as C enum values and the copy-into-caller-buffer rule.

use std::cell::RefCell;
use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use zairyu_core::Error;

use crate::read_result::ZAIRYU_JSON_PRETTY;
use crate::result::zairyu_result;

/// A failed call: the code returned and the detail kept as the thread's last error.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: zairyu_result,
    pub detail: String,
}

impl Failure {
    pub fn new(code: zairyu_result, detail: impl Into<String>) -> Self {
        Failure { code, detail: detail.into() }
    }

    pub fn null(what: &str) -> Self {
        Failure::new(zairyu_result::NullPointer, format!("{what} is NULL"))
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Failure::new(zairyu_result::InvalidArgument, detail)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        // Core messages never contain the card number, keys or card data.
        Failure { code: zairyu_result::from_error(&e), detail: e.to_string() }
    }
}

impl From<zairyu_core::error::TransportError> for Failure {
    fn from(e: zairyu_core::error::TransportError) -> Self {
        Failure::from(Error::from(e))
    }
}

thread_local! {
    /// The detail of the last failing call on this thread.
    static LAST_ERROR: RefCell<Option<(zairyu_result, String)>> = const { RefCell::new(None) };
}

/// The thread's last error, rendered `"<name>: <detail>"`.
pub(crate) fn last_error() -> Option<String> {
    LAST_ERROR.with(|l| l.borrow().as_ref().map(|(code, detail)| format!("{}: {detail}", code.name())))
}

fn set_last_error(code: zairyu_result, detail: String) {
    // `try_with`: during thread teardown the slot may be gone; the code still returns.
    let _ = LAST_ERROR.try_with(|l| *l.borrow_mut() = Some((code, detail)));
}

/// Runs one exported function's body inside the panic boundary; a failure is
/// recorded as the thread's last error and its code returned.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> zairyu_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => zairyu_result::Ok,
        Ok(Err(f)) => {
            set_last_error(f.code, f.detail);
            f.code
        }
        Err(_) => {
            set_last_error(zairyu_result::Panic, "a panic was caught at the API boundary".to_owned());
            zairyu_result::Panic
        }
    }
}

/// Runs a body that cannot fail except by panicking, returning `fallback` then.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Renders `value` as JSON under a `flags` argument of the JSON getters: one line,
/// or indented with `ZAIRYU_JSON_PRETTY`; any other bit is `INVALID_ARGUMENT`, and a
/// value that cannot be rendered (a bug) is `UNKNOWN_ERROR`. The one place that
/// choice and its errors are made.
pub(crate) fn json_text<T: serde::Serialize + ?Sized>(value: &T, flags: u32) -> Result<String, Failure> {
    if flags & !ZAIRYU_JSON_PRETTY != 0 {
        return Err(Failure::invalid(format!("unknown JSON flags {flags:#x}")));
    }
    let json = if flags & ZAIRYU_JSON_PRETTY != 0 {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    json.map_err(|e| Failure::new(zairyu_result::UnknownError, format!("JSON: {e}")))
}

/// A `#[repr(u32)]` C enum. Functions take such enums as `uint32_t` (so any number
/// a C caller passes is defined behaviour) and decode it here, the one decoder.
pub(crate) trait CEnum: Copy + 'static {
    /// Every value (checked complete at compile time by [`c_enum!`]).
    const ALL: &'static [Self];
    /// What an argument of this type is called in messages ("field", "read policy").
    const WHAT: &'static str;

    /// The value's number.
    fn number(self) -> u32;

    /// The value with number `n`, if there is one.
    fn from_number(n: u32) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.number() == n)
    }

    /// Decodes an argument: a number that is no value is `INVALID_ARGUMENT`.
    fn arg(n: u32) -> Result<Self, Failure> {
        Self::from_number(n).ok_or_else(|| Failure::invalid(format!("unknown {} {n}", Self::WHAT)))
    }
}

/// Implements [`CEnum`] from the list of an enum's values. The list is matched
/// exhaustively, so a value added to the enum and not to its list does not compile.
macro_rules! c_enum {
    ($ty:ident, $what:literal, [$($value:ident),+ $(,)?]) => {
        impl $crate::util::CEnum for $ty {
            const ALL: &'static [Self] = &[$($ty::$value),+];
            const WHAT: &'static str = $what;

            fn number(self) -> u32 {
                // Completeness of `ALL`: this match has no wildcard.
                match self {
                    $($ty::$value => $ty::$value as u32,)+
                }
            }
        }
    };
}
pub(crate) use c_enum;

/// Checks a pointer argument for NULL.
pub(crate) fn non_null<T>(p: *const T, what: &str) -> Result<*const T, Failure> {
    if p.is_null() { Err(Failure::null(what)) } else { Ok(p) }
}

/// Checks an out-pointer argument for NULL.
pub(crate) fn non_null_mut<T>(p: *mut T, what: &str) -> Result<*mut T, Failure> {
    if p.is_null() { Err(Failure::null(what)) } else { Ok(p) }
}

/// Borrows a NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and unchanged
/// for `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    let p = non_null(p, what)?;
    // SAFETY: non-NULL, and the caller guarantees NUL termination and validity for 'a.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| Failure::new(zairyu_result::InvalidUtf8, format!("{what} is not valid UTF-8")))
}

/// Borrows an input byte buffer; NULL is allowed only with length 0.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes that stay valid for `'a`.
pub(crate) unsafe fn bytes_arg<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    let p = non_null(p, what)?;
    // SAFETY: non-NULL, and the caller guarantees `len` readable bytes for 'a.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Writes one value through an out-pointer.
///
/// # Safety
/// `out` is non-NULL (checked by the caller with [`non_null_mut`]), aligned and
/// writable.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    // SAFETY: the caller guarantees a valid, writable, aligned pointer.
    unsafe { out.write(value) }
}

/// Copies `src` into the caller's buffer under the header's buffer rule: with
/// `text`, a NUL byte follows and `*out_len` gets the length without it. If the
/// buffer is too small nothing is written into it, `*out_len` gets the size
/// needed (NUL included for text) and the result is `BUFFER_TOO_SMALL`.
///
/// Text never contains a NUL byte of its own (the header's NUL rule): a C caller
/// would read it as the end of the string and see a truncated value. Such text
/// (card data can hold one) is refused with `TEXT_CONTAINS_NUL` before anything
/// else, and nothing is written, not even `*out_len`.
///
/// # Safety
/// `buf` is NULL or points to `buf_len` writable bytes; `out_len` is NULL or
/// points to a writable `size_t`.
pub(crate) unsafe fn copy_out(
    src: &[u8],
    text: bool,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> Result<(), Failure> {
    let out_len = non_null_mut(out_len, "out_len")?;
    if buf.is_null() && buf_len > 0 {
        return Err(Failure::null("buf (with buf_len > 0)"));
    }
    if text && src.contains(&0) {
        return Err(Failure::new(
            zairyu_result::TextContainsNul,
            "the text holds a NUL byte; get its bytes with zairyu_read_result_field_raw",
        ));
    }
    let needed = src.len() + usize::from(text);
    if buf_len < needed {
        // SAFETY: out_len is non-NULL and writable (caller's contract).
        unsafe { write_out(out_len, needed) };
        return Err(Failure::new(
            zairyu_result::BufferTooSmall,
            format!("buffer of {buf_len} bytes is too small; {needed} bytes needed"),
        ));
    }
    let buf = non_null_mut(buf, "buf")?;
    // SAFETY: buf has buf_len >= needed writable bytes; src is a distinct Rust
    // allocation, so the ranges do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), buf, src.len());
        if text {
            buf.add(src.len()).write(0);
        }
    }
    // SAFETY: as above.
    unsafe { write_out(out_len, src.len()) };
    Ok(())
}
