//! `open_simulator`: issues a simulated card and returns it as a `Card`, with its
//! injected faults (parsed by [`zairyu_sim::Fault`]'s `FromStr`) and, optionally, the
//! air time of a real contactless link ([`zairyu_sim::airtime`]).

use std::path::PathBuf;
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use zairyu::CardNumber;
use zairyu::error::{ErrorCode, TransportError};
use zairyu::files::CardType;
use zairyu::transport::{Limits, Transport};
use zairyu_sim::airtime::{LinkSpeed, air_time};
use zairyu_sim::write_pki::WritePki;
use zairyu_sim::{CheckCodeFormat, Fault, IssueOptions, IssuedCard, SimCard, SimPki};

use crate::card::{Card, DynTransport, Kind, SessionTransport};
use crate::{errors, for_each_option};

/// The simulator as slow as a real contactless link: each exchange takes at least
/// its modelled air time. Runs (and sleeps) without the GIL.
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

impl SessionTransport for TimedSim {
    fn new_session(&mut self) -> Result<(), TransportError> {
        self.sim.new_session()
    }
}

/// The keyword options of `zairyu.open_simulator` (documented there), parsed.
struct SimOptions {
    under_16: bool,
    tamper_front_image: bool,
    tamper_printed_entries: bool,
    check_code_format: CheckCodeFormat,
    signature_der: bool,
    link_speed: Option<LinkSpeed>,
    faults: Vec<Fault>,
    pki: SimPki,
    write_pki: Option<PathBuf>,
}

impl SimOptions {
    /// Parses the keyword arguments; a bad value is an `input_bad_option` error.
    fn parse(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut o = SimOptions {
            under_16: false,
            tamper_front_image: false,
            tamper_printed_entries: false,
            check_code_format: CheckCodeFormat::BareHash,
            signature_der: false,
            link_speed: None,
            faults: Vec::new(),
            pki: SimPki::Test,
            write_pki: None,
        };
        for_each_option("open_simulator", options, |key, value| {
            match key {
                "under_16" => o.under_16 = value.extract()?,
                "tamper_front_image" => o.tamper_front_image = value.extract()?,
                "tamper_printed_entries" => o.tamper_printed_entries = value.extract()?,
                "signature_der" => o.signature_der = value.extract()?,
                "check_code_format" => {
                    o.check_code_format = match value.extract::<String>()?.as_str() {
                        "bare_hash" => CheckCodeFormat::BareHash,
                        "digest_info" => CheckCodeFormat::DigestInfo,
                        other => {
                            return Err(errors::bad_option(py, "check code format (bare_hash, digest_info)", other));
                        }
                    }
                }
                "link_speed" => {
                    o.link_speed = match value.extract::<Option<String>>()? {
                        None => None,
                        Some(s) => Some(
                            s.parse::<LinkSpeed>()
                                .map_err(|_| errors::bad_option(py, "link speed (106k, 212k, 424k, 848k)", &s))?,
                        ),
                    }
                }
                "pki" => {
                    o.pki = match value.extract::<String>()?.as_str() {
                        "test" => SimPki::Test,
                        "synthetic_production" => SimPki::SyntheticProduction,
                        other => {
                            return Err(errors::bad_option(py, "simulator PKI (test, synthetic_production)", other));
                        }
                    }
                }
                "write_pki" => o.write_pki = value.extract()?,
                "faults" => {
                    let specs: Vec<String> = value.extract()?;
                    let parsed = specs.iter().map(|f| f.parse::<Fault>()).collect::<Result<_, _>>();
                    o.faults = parsed.map_err(|e| errors::to_py(py, &e))?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(o)
    }
}

/// Issues a simulated card of `card_type` opened by `card_number` and returns it as a
/// `Card`; `options` are the keyword arguments of `zairyu.open_simulator`.
#[pyfunction]
#[pyo3(signature = (card_type, card_number, **options))]
pub fn open_simulator(
    py: Python<'_>,
    card_type: &str,
    card_number: &str,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Card> {
    let card_type = card_type.parse::<CardType>().map_err(|e| errors::to_py(py, &e))?;
    let o = SimOptions::parse(py, options)?;
    // The simulated chip keeps its number as a String (it is test data); it must still
    // be one a clerk could type.
    let number = CardNumber::parse(card_number).map_err(|e| errors::to_py(py, &e.into()))?;
    let write = match &o.write_pki {
        None => None,
        Some(dir) => {
            let loaded = py.detach(|| WritePki::load(dir));
            Some(loaded.map_err(|e| crate::write::setup_error(py, &format!("test write PKI: {e}")))?.write_issue())
        }
    };
    let issue = IssueOptions {
        card_type,
        card_number: number.expose().iter().map(|&b| char::from(b)).collect(),
        under_16: o.under_16,
        tamper_front_image: o.tamper_front_image,
        tamper_printed_entries: o.tamper_printed_entries,
        check_code_format: o.check_code_format,
        gen2_signature_der: o.signature_der,
        randomness: zairyu_sim::SimRandomness::Os,
        pki: o.pki,
        write,
        ..IssueOptions::default()
    };
    // Issuing signs the check code (RSA / ECDSA): done without the GIL.
    let issued = py.detach(|| IssuedCard::try_issue(&issue));
    drop(issue);
    let issued = issued.map_err(|e| errors::with_message(py, ErrorCode::InputBadOption, &format!("simulator: {e}")))?;
    let sim = o.faults.into_iter().fold(SimCard::new(issued), SimCard::with_fault);
    let transport: DynTransport = match o.link_speed {
        None => Box::new(sim),
        Some(link) => Box::new(TimedSim { sim, link }),
    };
    Ok(Card::new(transport, Kind::Simulator, None, None))
}

/// Makes a throw-away TEST write PKI in `dir` (as `zairyu pki init --out DIR`); never
/// overwrites an existing one.
#[pyfunction]
pub fn make_write_pki(py: Python<'_>, dir: PathBuf) -> PyResult<()> {
    let made = py.detach(|| WritePki::generate(&dir));
    made.map(drop).map_err(|e| crate::write::setup_error(py, &format!("test write PKI: {e}")))
}
