//! `Card`: a card on a transport (PC/SC reader or in-process simulator) and its read.
//!
//! The transport sits behind a mutex, so that card I/O runs with the GIL released
//! ([`Python::detach`]) and two threads can read two cards at once. Each read is one
//! card session of its own, as in C: a fresh [`CoreCard`] over the transport, so the
//! report's `metrics` and `link` are that read's (never a sum over earlier reads).
//! The read is the core's sequence ([`read_card`]); its result leaves as the report
//! JSON ([`Report`]) and the image bytes (copied once, straight into `bytes`), from
//! which the pure-Python `ReadResult` is built (lazily, on first use).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::error::TransportError;
use zairyu::files::gen2::CodeTable;
use zairyu::report::Report;
use zairyu::sequence::{Flow, ReadOptions, ReadPolicy, read_card};
use zairyu::session::{Card as CoreCard, Metrics};
use zairyu::transport::Transport;
use zairyu::verify::TrustStore as CoreTrustStore;

use crate::trust::TrustStore;
use crate::{errors, for_each_option, lock};

/// A transport that can start a new card session: what `Card.write_address` needs for
/// its re-read, which must not ride on the session that wrote.
pub trait SessionTransport: Transport {
    /// Resets the card: the simulator power-cycles, PC/SC reconnects with a card reset.
    fn new_session(&mut self) -> Result<(), TransportError>;
}

impl SessionTransport for zairyu_sim::SimCard {
    fn new_session(&mut self) -> Result<(), TransportError> {
        self.power_cycle();
        Ok(())
    }
}

impl SessionTransport for zairyu_pcsc::PcscCard {
    fn new_session(&mut self) -> Result<(), TransportError> {
        self.reset_session()
    }
}

/// Any transport the binding drives. `Send`, so a read can run without the GIL.
pub type DynTransport = Box<dyn SessionTransport + Send>;

/// What the card is connected through.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The in-process simulator.
    Simulator,
    /// A PC/SC reader.
    Pcsc,
}

/// An open card: its transport, and the counters of its last read.
pub(crate) struct Open {
    pub(crate) transport: DynTransport,
    last: Metrics,
}

/// A card on a transport. `close()` drops the transport (and with it any state that
/// belongs to the session); reads after it raise `CardClosedError`.
#[pyclass(module = "zairyu._native", name = "Card", frozen)]
pub struct Card {
    pub(crate) inner: Mutex<Option<Open>>,
    kind: Kind,
    reader: Option<String>,
    atr: Option<Vec<u8>>,
}

impl Card {
    /// A card on `transport`; `reader` and `atr` for a PC/SC card.
    pub fn new(transport: DynTransport, kind: Kind, reader: Option<String>, atr: Option<Vec<u8>>) -> Self {
        Card { inner: Mutex::new(Some(Open { transport, last: Metrics::default() })), kind, reader, atr }
    }
}

/// The simulator's test CAs, the default anchors of a simulated card: made once, not
/// per read.
fn simulator_trust() -> Arc<CoreTrustStore> {
    static STORE: OnceLock<Arc<CoreTrustStore>> = OnceLock::new();
    STORE.get_or_init(|| Arc::new(zairyu_sim::test_trust_store())).clone()
}

/// No anchor at all (a reader's default).
fn no_trust() -> Arc<CoreTrustStore> {
    static STORE: OnceLock<Arc<CoreTrustStore>> = OnceLock::new();
    STORE.get_or_init(|| Arc::new(CoreTrustStore::new())).clone()
}

/// The read options from the keyword arguments of `zairyu.Card.read`, each value
/// parsed by the core (`policy`, `force_flow`: `FromStr`; `status_table`:
/// [`CodeTable::load`]).
fn read_options(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<ReadOptions> {
    let core = |e: zairyu::Error| errors::to_py(py, &e);
    let mut o = ReadOptions::default();
    for_each_option("read", options, |key, value| {
        match key {
            "policy" => o.policy = value.extract::<String>()?.parse::<ReadPolicy>().map_err(core)?,
            "force_flow" => {
                let flow = value.extract::<Option<String>>()?;
                o.force_flow = flow.as_deref().map(str::parse::<Flow>).transpose().map_err(core)?;
            }
            "now_unix" => o.now_unix = value.extract()?,
            "status_table" => {
                let path = value.extract::<Option<PathBuf>>()?;
                o.status_table = path.map(|p| CodeTable::load(&p).map(Arc::new)).transpose().map_err(core)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(o)
}

#[pymethods]
impl Card {
    /// Reads and verifies the card. `options` are the keyword arguments of
    /// `zairyu.Card.read` (`policy`, `force_flow`, `now_unix`, `status_table`). Returns
    /// `(report_json, images, read)` where the report is the CLI's JSON (`zairyu read
    /// --json`), `images` maps image names to bytes and `read` is the read itself (for
    /// the PNGs, the report page and the evidence file). The card I/O runs with the GIL
    /// released.
    #[pyo3(signature = (card_number, trust=None, **options))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        card_number: &str,
        trust: Option<&TrustStore>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<(String, Bound<'py, PyDict>, crate::evidence::Read)> {
        // The number first: it is a CardNumber (zeroized on drop) from here on.
        let number = CardNumber::parse(card_number).map_err(|e| errors::to_py(py, &e.into()))?;
        let opts = read_options(py, options)?;
        let store = match trust {
            // The anchors as they are now (a shared, immutable copy: no lock is held
            // during the read, and nothing is copied).
            Some(t) => t.snapshot(),
            // The simulator's own test CAs are trusted (as test anchors) by default when
            // reading the simulator, never when reading a real reader.
            None if self.kind == Kind::Simulator => simulator_trust(),
            None => no_trust(),
        };
        let outcome = py.detach(|| {
            let mut guard = lock(&self.inner);
            let open = guard.as_mut()?;
            // One session per read (as in C): its metrics and link report are this read's.
            let mut session = CoreCard::new(&mut open.transport);
            let read = read_card(&mut session, &number, &store, &mut OsRandom, &opts);
            open.last = session.metrics();
            Some(read.map(|r| {
                let report = Report::from_read(&r).to_json_pretty();
                (report, r)
            }))
        });
        drop(number);
        match outcome {
            None => Err(errors::closed(py)),
            Some(Err(e)) => Err(errors::to_py(py, &e)),
            Some(Ok((report, read))) => {
                let d = PyDict::new(py);
                for (name, image) in read.images() {
                    // One copy, from the read straight into the Python object.
                    d.set_item(name, PyBytes::new(py, image.bytes()))?;
                }
                // The read (card data, raw files) stays with the result for its PNGs,
                // report page and evidence file; it is wiped where the core zeroizes
                // when the Python `ReadResult` goes.
                Ok((report, d, crate::evidence::Read::new(read)))
            }
        }
    }

    /// Writes a new residence address through `authority` and confirms it on a new
    /// card session (`zairyu.Card.write_address`); returns the receipt as a dictionary.
    /// The card I/O runs with the GIL released.
    #[pyo3(signature = (card_number, *, date, municipality_code, address, authority, operator_id))]
    #[allow(clippy::too_many_arguments, reason = "the keyword arguments of the Python method, one each")]
    fn write_address<'py>(
        &self,
        py: Python<'py>,
        card_number: &str,
        date: String,
        municipality_code: String,
        address: String,
        authority: &crate::write::Authority,
        operator_id: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let record = crate::write::Record { date, municipality_code, address, operator_id };
        crate::write::write(py, self, card_number, record, authority)
    }

    /// Drops the transport: a PC/SC card ends its transaction and is disconnected with
    /// a reset; a simulated card is dropped. Idempotent.
    fn close(&self, py: Python<'_>) {
        let taken = py.detach(|| lock(&self.inner).take());
        py.detach(move || drop(taken));
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| lock(&self.inner).is_none())
    }

    /// `"simulator"` or `"pcsc"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.kind {
            Kind::Simulator => "simulator",
            Kind::Pcsc => "pcsc",
        }
    }

    /// The PC/SC reader name, or `None` for the simulator.
    #[getter]
    fn reader(&self) -> Option<String> {
        self.reader.clone()
    }

    /// The ATR the reader reported, or `None` for the simulator.
    #[getter]
    fn atr<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.atr.as_deref().map(|a| PyBytes::new(py, a))
    }

    /// APDU count and bytes of the last read on this card (each read is a session of
    /// its own): `(apdus, sent, received)`; zeros before the first read, `None` once
    /// closed.
    fn metrics(&self, py: Python<'_>) -> Option<(u32, u64, u64)> {
        py.detach(|| lock(&self.inner).as_ref().map(|o| o.last)).map(|m| (m.apdus, m.bytes_sent, m.bytes_received))
    }
}
