//! TEST BUILDS ONLY: hooks that let the C tests reach paths no correct library
//! takes, such as a panic at the API boundary. Compiled only with the cargo feature
//! `test-hooks`, which no release artefact has (scripts/check-release-artefacts
//! checks the release libraries for these symbols); without it [`checkpoint`] is an
//! empty function and no `zairyu_test_*` symbol exists.

#[cfg(feature = "test-hooks")]
mod hooks {
    use std::cell::Cell;

    use crate::result::zairyu_result;
    use crate::util::guard;

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
}

#[cfg(feature = "test-hooks")]
pub(crate) use hooks::checkpoint;
#[cfg(feature = "test-hooks")]
pub use hooks::zairyu_test_panic_in_next_read;

/// Without the feature `test-hooks`: nothing.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn checkpoint() {}
