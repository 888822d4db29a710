//! `zairyu._native`: the Rust half of the `zairyu` Python package.
//!
//! This module is private: the public API is the pure-Python package `zairyu`
//! (`python/python/zairyu`), which wraps these classes, builds the typed result
//! objects and defines the exception classes. What lives here:
//!
//! * [`TrustStore`]: the core's trust store;
//! * [`Card`]: a card on a transport (PC/SC reader or in-process simulator) behind a
//!   mutex, so that card I/O runs with the GIL released ([`Python::detach`]) and two
//!   threads can read two cards at once;
//! * [`list_readers`], [`open_reader`], [`open_simulator`];
//! * the conversion of Rust errors to the Python exceptions ([`errors`], one place).
//!
//! Card numbers arrive as `str` and become a [`zairyu::CardNumber`] (zeroized on drop)
//! before anything else happens; they are never stored here.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::error::{Error, InputError, TransportError};
use zairyu::files::CardType;
use zairyu::files::gen2::CodeTable;
use zairyu::report::Report;
use zairyu::sequence::{Flow, ReadOptions, ReadPolicy, read_card};
use zairyu::session::Card as CoreCard;
use zairyu::transport::{Limits, Transport};
use zairyu::verify::{AnchorProfile, TrustStore as CoreTrustStore};
use zairyu_sim::airtime::{LinkSpeed, air_time};
use zairyu_sim::{CheckCodeFormat, Fault, IssueOptions, IssuedCard, SimCard};

mod errors;

/// Any transport the binding drives. `Send`, so a read can run without the GIL.
type DynTransport = Box<dyn Transport + Send>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn bad_option(py: Python<'_>, message: &str) -> PyErr {
    errors::simple(py, errors::BAD_OPTION, message)
}

// ---------------------------------------------------------------------------------
// Trust store

/// The trust anchors for the certificate-chain check.
#[pyclass(module = "zairyu._native", name = "TrustStore", frozen)]
struct TrustStore {
    inner: Mutex<CoreTrustStore>,
}

impl TrustStore {
    fn snapshot(&self) -> CoreTrustStore {
        lock(&self.inner).clone()
    }
}

#[pymethods]
impl TrustStore {
    #[new]
    fn new() -> Self {
        TrustStore { inner: Mutex::new(CoreTrustStore::new()) }
    }

    /// Production roots from a directory; every certificate must be a pinned root.
    #[staticmethod]
    fn from_dir(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let mut store = CoreTrustStore::new();
        store.load_production_dir(&path).map_err(|e| errors::to_py(py, &e.into()))?;
        Ok(TrustStore { inner: Mutex::new(store) })
    }

    /// Adds production roots from a directory (all pinned, all or nothing).
    fn add_production_dir(&self, py: Python<'_>, path: PathBuf) -> PyResult<usize> {
        lock(&self.inner).load_production_dir(&path).map_err(|e| errors::to_py(py, &e.into()))
    }

    /// Adds test anchors: one certificate file (DER or PEM) or every certificate of a
    /// directory. Returns the number of certificates read.
    fn add_test_anchor(&self, py: Python<'_>, path: PathBuf) -> PyResult<usize> {
        let mut store = lock(&self.inner);
        if path.is_dir() {
            return store.add_test_anchors_dir(&path).map_err(|e| errors::to_py(py, &e.into()));
        }
        let origin = path.display().to_string();
        let bad =
            |reason: String| Error::Verify(zairyu::error::VerifyError::BadAnchorFile { path: origin.clone(), reason });
        let bytes = std::fs::read(&path).map_err(|e| errors::to_py(py, &bad(format!("cannot read file: {e}"))))?;
        let ders = split_pem(&bytes).map_err(|r| errors::to_py(py, &bad(r)))?;
        // All or nothing, as the core's directory loaders.
        let mut staged = store.clone();
        for der in &ders {
            staged.add_test_anchor_der(der, &origin).map_err(|e| errors::to_py(py, &e.into()))?;
        }
        *store = staged;
        Ok(ders.len())
    }

    /// Adds the simulator's two test CAs (first and second generation) as test anchors.
    fn add_simulator_test_anchors(&self, py: Python<'_>) -> PyResult<()> {
        let mut store = lock(&self.inner);
        add_sim_anchors(&mut store).map_err(|e| errors::to_py(py, &e))
    }

    /// `(fingerprint_hex, profile, subject, origin, key_algorithm, not_before_unix, not_after_unix)`
    /// of every anchor, in the order added.
    fn anchors(&self) -> Vec<(String, &'static str, String, String, String, i64, i64)> {
        lock(&self.inner)
            .anchors()
            .iter()
            .map(|a| {
                let profile = match a.profile() {
                    AnchorProfile::Production => "production",
                    AnchorProfile::Test => "test",
                };
                (
                    a.fingerprint_hex(),
                    profile,
                    a.subject().to_owned(),
                    a.origin().to_owned(),
                    a.key_algorithm(),
                    a.not_before_unix(),
                    a.not_after_unix(),
                )
            })
            .collect()
    }

    fn __len__(&self) -> usize {
        lock(&self.inner).anchors().len()
    }
}

fn add_sim_anchors(store: &mut CoreTrustStore) -> Result<(), Error> {
    zairyu_sim::add_test_anchors(store);
    Ok(())
}

/// One DER certificate, or every `CERTIFICATE` block of a PEM file.
fn split_pem(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let text_start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let is_pem = text_start.is_some_and(|i| bytes[i..].starts_with(b"-----BEGIN "));
    if !is_pem {
        return Ok(vec![bytes.to_vec()]);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "PEM file is not ASCII text".to_owned())?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let end = block.find("-----END ").ok_or("PEM block without an END line")?;
        let close = block[end + 9..].find("-----").ok_or("PEM END line not terminated")?;
        let len = end + 9 + close + 5;
        let (label, der) = der::pem::decode_vec(&block.as_bytes()[..len]).map_err(|e| format!("bad PEM block: {e}"))?;
        if label != "CERTIFICATE" {
            return Err(format!("PEM block labelled {label:?}, expected \"CERTIFICATE\""));
        }
        out.push(der);
        rest = &block[len..];
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------
// Transports

/// The simulator as slow as a real contactless link ([`zairyu_sim::airtime`]): each
/// exchange takes at least its modelled air time. Sleeps without the GIL.
struct TimedSim {
    sim: SimCard,
    link: LinkSpeed,
}

impl Transport for TimedSim {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let started = Instant::now();
        let resp = self.sim.transmit(command);
        let len = resp.as_ref().map_or(0, Vec::len);
        let target = air_time(self.link, command.len(), len);
        if let Some(rest) = target.checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
        resp
    }

    fn limits(&self) -> Limits {
        self.sim.limits()
    }
}

// ---------------------------------------------------------------------------------
// Card

/// What the card is connected through.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Simulator,
    Pcsc,
}

/// A card on a transport. `close()` drops the transport (and with it any state that
/// belongs to the session); reads after it raise `CardClosedError`.
#[pyclass(module = "zairyu._native", name = "Card", frozen)]
struct Card {
    inner: Mutex<Option<CoreCard<DynTransport>>>,
    kind: Kind,
    reader: Option<String>,
    atr: Option<Vec<u8>>,
}

impl Card {
    fn new(transport: DynTransport, kind: Kind, reader: Option<String>, atr: Option<Vec<u8>>) -> Self {
        Card { inner: Mutex::new(Some(CoreCard::new(transport))), kind, reader, atr }
    }
}

fn parse_policy(py: Python<'_>, policy: &str) -> PyResult<ReadPolicy> {
    match policy.replace('-', "_").as_str() {
        "full" => Ok(ReadPolicy::Full),
        "text_only" => Ok(ReadPolicy::TextOnly),
        _ => Err(bad_option(py, "policy must be \"full\" or \"text_only\"")),
    }
}

fn parse_flow(py: Python<'_>, flow: Option<&str>) -> PyResult<Option<Flow>> {
    match flow {
        None => Ok(None),
        Some("gen1" | "gen1-3des") => Ok(Some(Flow::Gen1)),
        Some("gen2" | "gen2-aes") => Ok(Some(Flow::Gen2)),
        Some(_) => Err(bad_option(py, "force_flow must be None, \"gen1\" or \"gen2\"")),
    }
}

fn load_status_table(path: &std::path::Path) -> Result<CodeTable, Error> {
    let bad = |reason: String| Error::Input(InputError::BadFile { path: path.display().to_string(), reason });
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    CodeTable::parse(&text).map_err(|line| bad(format!("line {line} is not code<TAB>name<TAB>name")))
}

#[pymethods]
impl Card {
    /// Reads and verifies the card. Returns `(report_json, images)` where the report is
    /// the CLI's JSON (`zairyu read --json`) and `images` maps image names to bytes.
    /// The card I/O runs with the GIL released.
    #[pyo3(signature = (card_number, trust=None, policy="full", force_flow=None, now_unix=None, status_table=None))]
    #[allow(clippy::too_many_arguments)]
    fn read<'py>(
        &self,
        py: Python<'py>,
        card_number: &str,
        trust: Option<&TrustStore>,
        policy: &str,
        force_flow: Option<&str>,
        now_unix: Option<i64>,
        status_table: Option<PathBuf>,
    ) -> PyResult<(String, Bound<'py, PyDict>)> {
        // The number first: it is a CardNumber (zeroized on drop) from here on.
        let number = CardNumber::parse(card_number).map_err(|e| errors::to_py(py, &e.into()))?;
        let status_table = match status_table {
            None => None,
            Some(p) => Some(Arc::new(load_status_table(&p).map_err(|e| errors::to_py(py, &e))?)),
        };
        let opts = ReadOptions {
            policy: parse_policy(py, policy)?,
            force_flow: parse_flow(py, force_flow)?,
            now_unix,
            status_table,
        };
        let store = match trust {
            Some(t) => t.snapshot(),
            None => {
                // The simulator's own test CAs are trusted (as test anchors) by default
                // when reading the simulator, never when reading a real reader.
                let mut s = CoreTrustStore::new();
                if self.kind == Kind::Simulator {
                    add_sim_anchors(&mut s).map_err(|e| errors::to_py(py, &e))?;
                }
                s
            }
        };
        let outcome = py.detach(|| {
            let mut guard = lock(&self.inner);
            let card = guard.as_mut()?;
            Some(read_card(card, &number, &store, &mut OsRandom, &opts).map(|r| {
                let report = Report::from_read(&r).to_json_pretty();
                let images: Vec<(&'static str, Vec<u8>)> =
                    r.images().into_iter().map(|(n, i)| (n, i.bytes().to_vec())).collect();
                (report, images)
            }))
        });
        drop(number);
        match outcome {
            None => Err(errors::simple(py, errors::CLOSED, "the card is closed; open it again to read")),
            Some(Err(e)) => Err(errors::to_py(py, &e)),
            Some(Ok((report, images))) => {
                let d = PyDict::new(py);
                for (name, bytes) in images {
                    d.set_item(name, PyBytes::new(py, &bytes))?;
                }
                Ok((report, d))
            }
        }
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

    /// APDU count and bytes of every read on this card so far: `(apdus, sent, received)`.
    fn metrics(&self, py: Python<'_>) -> Option<(u32, u64, u64)> {
        py.detach(|| lock(&self.inner).as_ref().map(|c| c.metrics())).map(|m| (m.apdus, m.bytes_sent, m.bytes_received))
    }
}

// ---------------------------------------------------------------------------------
// Module functions

/// A reader as `(name, card_present, atr)`.
type ReaderTuple = (String, bool, Option<Vec<u8>>);

/// The PC/SC readers: `(name, card_present, atr)` each.
#[pyfunction]
fn list_readers(py: Python<'_>) -> PyResult<Vec<ReaderTuple>> {
    let listed = py.detach(zairyu_pcsc::list_readers);
    let readers = listed.map_err(|e| errors::to_py(py, &e.into()))?;
    Ok(readers.into_iter().map(|r| (r.name, r.card_present, r.atr)).collect())
}

/// Connects to the card in a PC/SC reader (shared mode, one transaction held until
/// `close()`).
#[pyfunction]
fn open_reader(py: Python<'_>, name: &str) -> PyResult<Card> {
    let connected = py.detach(|| zairyu_pcsc::PcscCard::connect(name));
    let card = connected.map_err(|e| errors::to_py(py, &e.into()))?;
    let atr = card.atr().to_vec();
    let reader = card.reader().to_owned();
    Ok(Card::new(Box::new(card), Kind::Pcsc, Some(reader), Some(atr)))
}

fn parse_card_type(py: Python<'_>, t: &str) -> PyResult<CardType> {
    match t {
        "1" => Ok(CardType::ResidenceCard),
        "2" => Ok(CardType::SpecialPermanentResident),
        "05" | "5" => Ok(CardType::Gen2ResidenceCard),
        "06" | "6" => Ok(CardType::Gen2SpecialPermanentResident),
        _ => Err(bad_option(py, "card_type must be \"1\", \"2\", \"05\" or \"06\"")),
    }
}

fn hex_u8(s: &str) -> Option<u8> {
    u8::from_str_radix(s, 16).ok()
}

/// Parses a fault spec (see `open_simulator` in the stubs).
fn parse_fault(spec: &str) -> Option<Fault> {
    let parts: Vec<&str> = spec.trim().split(':').collect();
    let n = |s: &str| s.parse::<usize>().ok();
    Some(match parts.as_slice() {
        ["remove_card_after", k] => Fault::RemoveCardAfter(n(k)?),
        ["reset_after", k] => Fault::ResetAfter(n(k)?),
        ["status_word", ins, sw] if sw.len() == 4 => {
            Fault::StatusWord { ins: hex_u8(ins)?, p1: None, sw: [hex_u8(&sw[..2])?, hex_u8(&sw[2..])?] }
        }
        ["status_word", ins, p1, sw] if sw.len() == 4 => {
            Fault::StatusWord { ins: hex_u8(ins)?, p1: Some(hex_u8(p1)?), sw: [hex_u8(&sw[..2])?, hex_u8(&sw[2..])?] }
        }
        ["truncate_data", ins, keep] => Fault::TruncateData { ins: hex_u8(ins)?, p1: None, keep: n(keep)? },
        ["truncate_data", ins, p1, keep] => {
            Fault::TruncateData { ins: hex_u8(ins)?, p1: Some(hex_u8(p1)?), keep: n(keep)? }
        }
        ["corrupt_response_byte", ins, p1, index] => {
            Fault::CorruptResponseByte { ins: hex_u8(ins)?, p1: Some(hex_u8(p1)?), index: n(index)? }
        }
        ["corrupt_mac_icc"] => Fault::CorruptMacIcc,
        ["bad_sm_padding"] => Fault::BadSmPadding,
        ["short_apdus_only"] => Fault::ShortApdusOnly,
        _ => return None,
    })
}

/// Issues a simulated card and returns it as a `Card`.
#[pyfunction]
#[pyo3(signature = (
    card_type="1", card_number="AB12345678CD", under_16=false, tamper_front_image=false,
    tamper_printed_entries=false, check_code_format="bare_hash", signature_der=false,
    link_speed=None, faults=Vec::new()
))]
#[allow(clippy::too_many_arguments)]
fn open_simulator(
    py: Python<'_>,
    card_type: &str,
    card_number: &str,
    under_16: bool,
    tamper_front_image: bool,
    tamper_printed_entries: bool,
    check_code_format: &str,
    signature_der: bool,
    link_speed: Option<&str>,
    faults: Vec<String>,
) -> PyResult<Card> {
    let check_code_format = match check_code_format {
        "bare_hash" => CheckCodeFormat::BareHash,
        "digest_info" => CheckCodeFormat::DigestInfo,
        _ => return Err(bad_option(py, "check_code_format must be \"bare_hash\" or \"digest_info\"")),
    };
    let link = match link_speed {
        None => None,
        Some(s) => {
            Some(s.parse::<LinkSpeed>().map_err(|_| bad_option(py, "link_speed must be 106k, 212k, 424k or 848k"))?)
        }
    };
    let mut parsed = Vec::new();
    for f in &faults {
        parsed.push(parse_fault(f).ok_or_else(|| bad_option(py, &format!("unknown simulator fault {f:?}")))?);
    }
    // The simulated chip keeps its number as a String (it is test data); it must still
    // be one a clerk could type.
    let number = CardNumber::parse(card_number).map_err(|e| errors::to_py(py, &e.into()))?;
    let opts = IssueOptions {
        card_type: parse_card_type(py, card_type)?,
        card_number: number.expose().iter().map(|&b| char::from(b)).collect(),
        under_16,
        tamper_front_image,
        tamper_printed_entries,
        check_code_format,
        gen2_signature_der: signature_der,
        randomness: zairyu_sim::SimRandomness::Os,
        ..IssueOptions::default()
    };
    // Issuing signs the check code (RSA / ECDSA): done without the GIL.
    let issued = py.detach(|| IssuedCard::try_issue(&opts));
    drop(opts);
    let issued = issued.map_err(|e| bad_option(py, &format!("simulator: {e}")))?;
    let mut sim = SimCard::new(issued);
    for f in parsed {
        sim = sim.with_fault(f);
    }
    let transport: DynTransport = match link {
        None => Box::new(sim),
        Some(link) => Box::new(TimedSim { sim, link }),
    };
    Ok(Card::new(transport, Kind::Simulator, None, None))
}

/// One converted sample exception per error code (for the mapping test).
#[pyfunction]
fn _error_samples(py: Python<'_>) -> Vec<(String, Py<PyAny>)> {
    errors::samples(py).into_iter().map(|(code, e)| (code, e.into_value(py).into_any())).collect()
}

/// The version of the Rust library.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Longest sleep used by the pure-Python wait helpers (informational).
const POLL: Duration = zairyu_pcsc::watch::POLL;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TrustStore>()?;
    m.add_class::<Card>()?;
    m.add_function(wrap_pyfunction!(list_readers, m)?)?;
    m.add_function(wrap_pyfunction!(open_reader, m)?)?;
    m.add_function(wrap_pyfunction!(open_simulator, m)?)?;
    m.add_function(wrap_pyfunction!(_error_samples, m)?)?;
    m.add("__version__", VERSION)?;
    m.add("POLL_SECONDS", POLL.as_secs_f64())?;
    Ok(())
}
