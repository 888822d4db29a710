//! `zairyu_trust_store`: production roots (fingerprint-pinned) and test anchors.

use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use zairyu_core::Error;
use zairyu_core::verify::TrustStore;

use crate::result::zairyu_result;
use crate::util::{Failure, bytes_arg, guard, non_null, non_null_mut, str_arg, write_out};

/// A set of trust anchors (opaque). Made by `zairyu_trust_store_new`, freed by
/// `zairyu_trust_store_free`. Internally locked: every function on it may be
/// called from any thread at any time, also concurrently, and from a transmit
/// callback (a read uses a copy of the anchors taken when it starts, so anchors
/// added during a read count from the next read on).
pub struct zairyu_trust_store {
    inner: RwLock<TrustStore>,
}

impl zairyu_trust_store {
    fn read(&self) -> RwLockReadGuard<'_, TrustStore> {
        self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of the anchors, taken under the lock and used without it: a read
    /// never holds the store's lock while card I/O (a transmit callback) runs.
    pub(crate) fn snapshot(&self) -> TrustStore {
        self.read().clone()
    }

    fn write(&self) -> RwLockWriteGuard<'_, TrustStore> {
        self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Borrows a trust store argument.
///
/// # Safety
/// `p` is NULL or a live pointer from `zairyu_trust_store_new`.
pub(crate) unsafe fn store_arg<'a>(p: *const zairyu_trust_store) -> Result<&'a zairyu_trust_store, Failure> {
    let p = non_null(p, "trust store")?;
    // SAFETY: non-NULL and, by the caller's contract, a live handle; only shared
    // references are ever made from it (mutation goes through the lock).
    Ok(unsafe { &*p })
}

/// Creates an empty trust store: nothing chains until anchors are added.
///
/// On success `*out` receives a new handle that the caller owns and frees with
/// `zairyu_trust_store_free`; on failure `*out` is not written.
///
/// Thread safety: may be called from any thread.
///
/// @param out receives the new store; must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_trust_store_new(out: *mut *mut zairyu_trust_store) -> zairyu_result {
    guard(|| {
        let out = non_null_mut(out, "out")?;
        let store = Box::new(zairyu_trust_store { inner: RwLock::new(TrustStore::new()) });
        // SAFETY: out is non-NULL and writable (caller's contract).
        unsafe { write_out(out, Box::into_raw(store)) };
        Ok(())
    })
}

/// Frees a trust store. NULL is accepted and ignored.
///
/// Ownership: takes back the handle; it must not be used afterwards (read results
/// made with it stay valid: they do not refer to the store). Must not be called while
/// another thread uses the store.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_trust_store_free(store: *mut zairyu_trust_store) {
    let _ = guard(|| {
        if !store.is_null() {
            // SAFETY: a non-NULL pointer here came from Box::into_raw in
            // zairyu_trust_store_new and is freed once (caller's contract).
            drop(unsafe { Box::from_raw(store) });
        }
        Ok(())
    });
}

/// # Safety
/// The arguments of the exported functions below, under the header's contract.
unsafe fn add_dir(
    store: *const zairyu_trust_store,
    dir: *const std::ffi::c_char,
    out_count: *mut usize,
    production: bool,
) -> Result<(), Failure> {
    // SAFETY: this function's contract: a live handle.
    let store = unsafe { store_arg(store) }?;
    // SAFETY: this function's contract: NULL or a NUL-terminated string.
    let dir = unsafe { str_arg(dir, "dir") }?;
    let n = {
        let mut s = store.write();
        if production { s.load_production_dir(Path::new(dir)) } else { s.add_test_anchors_dir(Path::new(dir)) }
    }
    .map_err(Error::from)?;
    if !out_count.is_null() {
        // SAFETY: non-NULL, and writable by the caller's contract.
        unsafe { write_out(out_count, n) };
    }
    Ok(())
}

/// Loads the Ministry's production roots from a directory: every regular file named
/// `*.der`, `*.crt`, `*.cer` or `*.pem` (DER, or PEM with one or more certificates).
/// Every certificate must match a pinned SHA-256 fingerprint of a Ministry root,
/// else `ZAIRYU_RESULT_VERIFY_UNPINNED_PRODUCTION_ROOT`; an unreadable directory or
/// file is `ZAIRYU_RESULT_VERIFY_BAD_ANCHOR_FILE`. All or nothing: on failure the
/// store is unchanged.
///
/// Thread safety: may be called from any thread, also while the store is in use.
///
/// @param store the store; must not be NULL.
/// @param dir NUL-terminated UTF-8 path; must not be NULL.
/// @param out_count if not NULL, receives the number of certificates read (on success only).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_trust_store_load_production_dir(
    store: *const zairyu_trust_store,
    dir: *const std::ffi::c_char,
    out_count: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    guard(|| unsafe { add_dir(store, dir, out_count, true) })
}

/// Adds every certificate in a directory as a **test** anchor (same file rules as
/// `zairyu_trust_store_load_production_dir`, no pinning). A card chaining to a test
/// anchor is reported with anchor profile `ZAIRYU_ANCHOR_PROFILE_TEST`, never as
/// production. All or nothing.
///
/// Thread safety: may be called from any thread, also while the store is in use.
///
/// @param store the store; must not be NULL.
/// @param dir NUL-terminated UTF-8 path; must not be NULL.
/// @param out_count if not NULL, receives the number of certificates read (on success only).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_trust_store_add_test_dir(
    store: *const zairyu_trust_store,
    dir: *const std::ffi::c_char,
    out_count: *mut usize,
) -> zairyu_result {
    // SAFETY: the arguments come unchanged from the caller, under the header's contract.
    guard(|| unsafe { add_dir(store, dir, out_count, false) })
}

/// Adds one DER certificate as a **test** anchor.
///
/// Thread safety: may be called from any thread, also while the store is in use.
///
/// @param store the store; must not be NULL.
/// @param der the certificate; may be NULL only if der_len is 0 (which fails as a bad anchor).
/// @param der_len its length in bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_trust_store_add_test_anchor_der(
    store: *const zairyu_trust_store,
    der: *const u8,
    der_len: usize,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live handle.
        let store = unsafe { store_arg(store) }?;
        // SAFETY: header contract: der_len readable bytes at der.
        let der = unsafe { bytes_arg(der, der_len, "der") }?;
        store.write().add_test_anchor_der(der, "DER from the caller").map_err(Error::from)?;
        Ok(())
    })
}

/// Adds the simulator's own test CAs (first and second generation) as test anchors,
/// so that simulated cards (in-process or served on vpcd) chain. Never use this for
/// real cards: it is for tests and demonstrations.
///
/// Thread safety: may be called from any thread, also while the store is in use.
///
/// @param store the store; must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_trust_store_add_simulator_test_anchors(
    store: *const zairyu_trust_store,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live handle.
        let store = unsafe { store_arg(store) }?;
        let mut s = store.write();
        zairyu_sim::add_test_anchors(&mut s);
        Ok(())
    })
}

/// The number of anchors in the store (production and test).
///
/// Thread safety: may be called from any thread, also while the store is in use.
///
/// @param store the store; must not be NULL.
/// @param out receives the count; must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_trust_store_count(store: *const zairyu_trust_store, out: *mut usize) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live handle.
        let store = unsafe { store_arg(store) }?;
        let out = non_null_mut(out, "out")?;
        let n = store.read().anchors().len();
        // SAFETY: non-NULL and writable by the caller's contract.
        unsafe { write_out(out, n) };
        Ok(())
    })
}
