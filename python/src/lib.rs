//! `zairyu._native`: the Rust half of the `zairyu` Python package.
//!
//! This module is private: the public API is the pure-Python package `zairyu`
//! (`python/python/zairyu`), which wraps these classes, builds the typed result
//! objects and defines the exception classes. One concern per file:
//!
//! | module | what |
//! |---|---|
//! | [`trust`] | `TrustStore`: the core's trust store |
//! | [`card`] | `Card`: a card on a transport (PC/SC reader or in-process simulator) behind a mutex, read with the GIL released ([`Python::detach`]) so that two threads can read two cards at once |
//! | [`pcsc`] | `list_readers`, `open_reader`, `wait_for_card`: the PC/SC transport |
//! | [`simulator`] | `open_simulator`: a simulated card, its faults and link speed |
//! | [`write`] | `Authority` and the address write (AWP v1): the write authority, `Card.write_address`, the refusal classes |
//! | [`evidence`] | `Read` (a read's PNGs, report page, evidence file), `verify_evidence`, `export_rows` (issue 14) |
//! | [`errors`] | the one conversion of Rust errors to the Python exceptions (`ERROR_CODES`) |
//!
//! Option values (card type, policy, flow, faults) are parsed by the core's and the
//! simulator's `FromStr`, never here. Card numbers arrive as `str` and become a
//! [`zairyu::CardNumber`] (zeroized on drop) before anything else happens; they are
//! never stored here.

use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use zairyu::error::ErrorCode;

mod card;
mod errors;
mod evidence;
mod pcsc;
mod simulator;
mod trust;
mod write;

/// Locks a mutex; a poisoned one (a panic while held) is still usable: the data it
/// guards (a trust store, a card session) stays consistent between calls.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Hands each keyword argument of `function` to `set`, which returns whether it knows
/// the name; an unknown one is a `TypeError`, as for any Python function. The public
/// Python wrappers state (and type) the keywords; the native functions take them as
/// `**options`, so that their signatures are written once.
fn for_each_option(
    function: &str,
    options: Option<&Bound<'_, PyDict>>,
    mut set: impl FnMut(&str, &Bound<'_, PyAny>) -> PyResult<bool>,
) -> PyResult<()> {
    for (key, value) in options.into_iter().flat_map(|o| o.iter()) {
        let key: String = key.extract()?;
        if !set(&key, &value)? {
            return Err(PyTypeError::new_err(format!("{function}() got an unexpected keyword argument {key:?}")));
        }
    }
    Ok(())
}

/// One converted sample exception per error code (for the mapping test).
#[pyfunction]
fn _error_samples(py: Python<'_>) -> Vec<(String, Py<PyAny>)> {
    errors::samples(py).into_iter().map(|(code, e)| (code.to_owned(), e.into_value(py).into_any())).collect()
}

/// The version of the Rust library.
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<trust::TrustStore>()?;
    m.add_class::<card::Card>()?;
    m.add_function(wrap_pyfunction!(pcsc::list_readers, m)?)?;
    m.add_function(wrap_pyfunction!(pcsc::open_reader, m)?)?;
    m.add_function(wrap_pyfunction!(pcsc::wait_for_card, m)?)?;
    m.add_function(wrap_pyfunction!(simulator::open_simulator, m)?)?;
    m.add_class::<write::Authority>()?;
    m.add_function(wrap_pyfunction!(simulator::make_write_pki, m)?)?;
    m.add_class::<evidence::Read>()?;
    m.add_class::<evidence::Verdict>()?;
    m.add_function(wrap_pyfunction!(evidence::verify_evidence, m)?)?;
    m.add_function(wrap_pyfunction!(evidence::export_rows, m)?)?;
    m.add_function(wrap_pyfunction!(evidence::_image_png_of, m)?)?;
    m.add_function(wrap_pyfunction!(_error_samples, m)?)?;
    m.add("__version__", VERSION)?;
    // The longest single wait of the pure-Python wait helpers (how soon they see Ctrl-C).
    m.add("POLL_SECONDS", zairyu_pcsc::POLL.as_secs_f64())?;
    // Every stable error code of the core (`ErrorCode::ALL`), in declaration order.
    m.add("ERROR_CODES", PyTuple::new(m.py(), ErrorCode::ALL.iter().map(|c| c.as_str()))?)?;
    Ok(())
}
