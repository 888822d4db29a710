//! The PC/SC transport: reader list, connect, and the wait for a card, each the
//! `zairyu-pcsc` function of the same name run with the GIL released.

use std::time::Duration;

use pyo3::prelude::*;

use crate::card::{Card, Kind};
use crate::errors;

/// A reader as `(name, card_present, atr)`.
type ReaderTuple = (String, bool, Option<Vec<u8>>);

/// The PC/SC readers: `(name, card_present, atr)` each.
#[pyfunction]
pub fn list_readers(py: Python<'_>) -> PyResult<Vec<ReaderTuple>> {
    let listed = py.detach(zairyu_pcsc::list_readers);
    let readers = listed.map_err(|e| errors::to_py(py, &e.into()))?;
    Ok(readers.into_iter().map(|r| (r.name, r.card_present, r.atr)).collect())
}

/// Connects to the card in a PC/SC reader (shared mode, one transaction held until
/// `close()`).
#[pyfunction]
pub fn open_reader(py: Python<'_>, name: &str) -> PyResult<Card> {
    let connected = py.detach(|| zairyu_pcsc::PcscCard::connect(name));
    let card = connected.map_err(|e| errors::to_py(py, &e.into()))?;
    let atr = card.atr().to_vec();
    let reader = card.reader().to_owned();
    Ok(Card::new(Box::new(card), Kind::Pcsc, Some(reader), Some(atr)))
}

/// The longest single wait: a longer `timeout` returns `False` after it (the Python
/// helpers loop until their own deadline), and `Instant + timeout` cannot overflow.
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// Waits at most `timeout` seconds (at most [`LONGEST_WAIT`]) until `reader` has a card
/// (`present`) or has none: `True` when it does, `False` on time-out
/// ([`zairyu_pcsc::wait_for_card`], event-driven). The pure-Python helpers call it in
/// steps, to see Ctrl-C between them.
#[pyfunction]
pub fn wait_for_card(py: Python<'_>, reader: &str, present: bool, timeout: f64) -> PyResult<bool> {
    let timeout = Duration::try_from_secs_f64(timeout)
        .map_err(|_| errors::bad_option(py, "timeout (seconds)", &timeout.to_string()))?;
    let timeout = timeout.min(LONGEST_WAIT);
    let waited = py.detach(|| zairyu_pcsc::wait_for_card(reader, present, timeout));
    waited.map_err(|e| errors::to_py(py, &e.into()))
}
