//! TEST BUILDS ONLY: hooks that let the C tests reach paths no correct library
//! takes, such as a panic at the API boundary. Compiled only with the cargo feature
//! `test-hooks`, which no release artefact has (scripts/check-release-artefacts
//! checks the release libraries for these symbols); without it [`checkpoint`] is an
//! empty function and no `zairyu_test_*` symbol exists.

#[cfg(feature = "test-hooks")]
mod hooks {
    use std::cell::Cell;

    use zairyu_core::files::Image;
    use zairyu_core::sequence::CardData;

    use crate::read_result::{image_name, result_arg, zairyu_read_result};
    use crate::result::zairyu_result;
    use crate::util::{Failure, bytes_arg, guard, non_null_mut, write_out};

    thread_local! {
        /// Whether the next [`checkpoint`] on this thread panics.
        static ARMED: Cell<bool> = const { Cell::new(false) };
    }

    /// Panics if [`zairyu_test_panic_in_next_read`] armed this thread.
    pub(crate) fn checkpoint() {
        if ARMED.with(|a| a.replace(false)) {
            // A panic that unwinds like any other, without the panic hook's message
            // on stderr (the C tests' output stays readable).
            std::panic::resume_unwind(Box::new("zairyu test hook: panic inside an exported call"));
        }
    }

    /// TEST BUILDS ONLY (cargo feature `test-hooks`; never in a release library).
    /// Makes the next `zairyu_card_read` on the calling thread panic inside the
    /// library, after it has taken the card and before the first APDU, so that a
    /// test can check the panic boundary: that call returns `ZAIRYU_RESULT_PANIC`,
    /// writes no output, and leaves the card usable (not busy).
    ///
    /// Thread safety: any thread; it arms the calling thread only.
    #[unsafe(no_mangle)]
    pub extern "C" fn zairyu_test_panic_in_next_read() -> zairyu_result {
        guard(|| {
            ARMED.with(|a| a.set(true));
            Ok(())
        })
    }

    /// TEST BUILDS ONLY (cargo feature `test-hooks`; never in a release library).
    /// Makes a copy of `result` whose image `kind` holds `bytes` instead, as a forged
    /// chip could store it (no simulated card holds a malformed image), so that a test
    /// can check what a malformed image does: a typed result code from
    /// `zairyu_read_result_image_png`, and every other getter unchanged. The image must
    /// be one of the card's generation (else `ZAIRYU_RESULT_NOT_PRESENT`).
    ///
    /// Ownership: on success `*out` receives a new result the caller owns (free it
    /// with `zairyu_read_result_free`); `result` is unchanged.
    ///
    /// @param result must not be NULL.
    /// @param kind a `zairyu_image_kind` value.
    /// @param bytes the image's bytes; may be NULL only if len is 0.
    /// @param len their length.
    /// @param out must not be NULL; written only on success.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn zairyu_test_read_result_with_image(
        result: *const zairyu_read_result,
        kind: u32,
        bytes: *const u8,
        len: usize,
        out: *mut *mut zairyu_read_result,
    ) -> zairyu_result {
        guard(|| {
            // SAFETY: header contract: a live result.
            let r = unsafe { result_arg(result) }?;
            // SAFETY: header contract: NULL with length 0, or `len` readable bytes.
            let bytes = unsafe { bytes_arg(bytes, len, "bytes") }?;
            let out = non_null_mut(out, "out")?;
            let name = image_name(kind)?;
            let mut read = r.read.clone();
            let slot = match (&mut read.data, name) {
                (CardData::Gen1(d), "front") => &mut d.front_image,
                (CardData::Gen1(d), "face") => &mut d.face_image,
                (CardData::Gen2(d), "face") => &mut d.face_image,
                (CardData::Gen2(d), "name") => &mut d.name_image,
                (CardData::Gen2(d), "address") => &mut d.address_image,
                _ => return Err(Failure::new(zairyu_result::NotPresent, format!("no {name} image on this card"))),
            };
            *slot = Some(Image::from_value(bytes));
            // SAFETY: non-NULL and writable (header contract).
            unsafe { write_out(out, Box::into_raw(Box::new(zairyu_read_result::new(read)))) };
            Ok(())
        })
    }
}

#[cfg(feature = "test-hooks")]
pub(crate) use hooks::checkpoint;
#[cfg(feature = "test-hooks")]
pub use hooks::{zairyu_test_panic_in_next_read, zairyu_test_read_result_with_image};

/// Without the feature `test-hooks`: nothing.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn checkpoint() {}
