//! `zairyu bench`: APDUs, bytes and host CPU time per full read + verify over the
//! in-process simulator. A benchmark, not a test: it prints figures and asserts nothing.

use std::time::Instant;

use cpu_time::ProcessTime;
use zairyu::files::CardType;
use zairyu::sequence::{CardRead, ReadOptions};
use zairyu::verify::TrustStore;
use zairyu::{CardNumber, Error};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

use crate::error::CliError;
use crate::read::{issue, read_on};

/// One full read + verify of a fresh simulated card, in-process.
fn read_sim(issued: &IssuedCard, number: &CardNumber, trust: &TrustStore) -> Result<CardRead, Error> {
    read_on(SimCard::new(issued.clone()), number, trust, &ReadOptions::default())
}

/// The card types measured when none is named: every type the simulator issues.
pub fn default_types() -> Vec<CardType> {
    CardType::ALL.iter().copied().filter(|&t| crate::read::simulated(t)).collect()
}

/// Runs the benchmark for each card type and prints a table.
pub fn run(iterations: u32, types: &[CardType]) -> Result<u8, CliError> {
    let iterations = iterations.max(1);
    let trust = zairyu_sim::test_trust_store();
    outln!("full read + verify over the in-process simulator, {iterations} iterations per card type")?;
    outln!("(host CPU includes the simulated card, which runs in the same process)\n")?;
    outln!(
        "{:<5} {:<10} {:>6} {:>11} {:>15} {:>16} {:>13}  signature",
        "type",
        "flow",
        "APDUs",
        "bytes sent",
        "bytes received",
        "host CPU/read",
        "wall/read"
    )?;
    for &card_type in types {
        one(iterations, card_type, &trust)?;
    }
    Ok(0)
}

fn one(iterations: u32, card_type: CardType, trust: &TrustStore) -> Result<(), CliError> {
    let opts = IssueOptions { card_type, ..IssueOptions::default() };
    let issued = issue(&opts)?;
    let number = CardNumber::parse(&opts.card_number)?;
    let mut last = None;
    let cpu0 = ProcessTime::now();
    let wall0 = Instant::now();
    for _ in 0..iterations {
        last = Some(read_sim(&issued, &number, trust)?);
    }
    let (cpu, wall) = (cpu0.elapsed(), wall0.elapsed());
    let r = last.expect("at least one iteration");
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e3 / f64::from(iterations);
    outln!(
        "{:<5} {:<10} {:>6} {:>11} {:>15} {:>13.3} ms {:>10.3} ms  {:?}",
        r.card_type.code(),
        r.flow.name(),
        r.metrics.apdus,
        r.metrics.bytes_sent,
        r.metrics.bytes_received,
        per(cpu),
        per(wall),
        r.verification.signature
    )?;
    Ok(())
}

/// Records the size of every exchange, to sum the modelled air time.
#[cfg(feature = "pcsc")]
struct Recording<T> {
    inner: T,
    exchanges: Vec<(usize, usize)>,
}

#[cfg(feature = "pcsc")]
impl<T: zairyu::transport::Transport> zairyu::transport::Transport for Recording<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, zairyu::error::TransportError> {
        let r = self.inner.transmit(command)?;
        self.exchanges.push((command.len(), r.len()));
        Ok(r)
    }
    fn limits(&self) -> zairyu::transport::Limits {
        self.inner.limits()
    }
}

/// The benchmark through the real pcscd: the simulated card is served on vpcd
/// (reader "Virtual PCD 00 00") with the link model, and read through PC/SC.
#[cfg(feature = "pcsc")]
pub fn run_pcsc(
    iterations: u32,
    types: &[CardType],
    link: zairyu_sim::vpcd::LinkSpeed,
    model: zairyu_sim::vpcd::LinkModel,
) -> Result<u8, CliError> {
    use zairyu_sim::vpcd::ServeOptions;
    const READER: &str = "Virtual PCD 00 00";
    let iterations = iterations.max(1);
    let trust = zairyu_sim::test_trust_store();
    let rate = f64::from(link.kbps()) * 1000.0;
    outln!("full read + verify through pcscd + vpcd, link {link} ({model} model), {iterations} reads per card type")?;
    outln!(
        "air-time limit = (bytes sent + bytes received) x 8 / {} bit/s; model = the served card's modelled air time\n",
        link.kbps() * 1000
    )?;
    outln!(
        "{:<5} {:>6} {:>9} {:>10} {:>11} {:>11} {:>11} {:>12} {:>12}",
        "type",
        "APDUs",
        "in-proc",
        "bytes",
        "wall/read",
        "limit",
        "model",
        "wall/limit",
        "wall/model"
    )?;
    for &card_type in types {
        let card = IssueOptions { card_type, ..IssueOptions::default() };
        let number = CardNumber::parse(&card.card_number)?;
        let in_process = read_sim(&issue(&card)?, &number, &trust)?.metrics.apdus;
        let opts = ServeOptions { link: Some(link), link_model: model, ..ServeOptions::default() };
        let result = crate::pcsc_cmds::with_served_card(READER, &card, opts, || {
            let mut walls = Vec::new();
            let mut last = None;
            for _ in 0..iterations {
                let t0 = Instant::now();
                let mut transport = Recording { inner: zairyu_pcsc::PcscCard::connect(READER)?, exchanges: Vec::new() };
                let r = read_on(&mut transport, &number, &trust, &ReadOptions::default())?;
                walls.push(t0.elapsed());
                let model: std::time::Duration =
                    transport.exchanges.iter().map(|&(c, r)| model.air_time(link, c, r)).sum();
                last = Some((r, model));
            }
            walls.sort();
            Ok((walls[walls.len() / 2], last.expect("one read")))
        })?;
        let (wall, (r, model)) = result;
        let bytes = r.metrics.bytes_sent + r.metrics.bytes_received;
        let limit = bytes as f64 * 8.0 / rate;
        outln!(
            "{:<5} {:>6} {:>9} {:>10} {:>8.1} ms {:>8.1} ms {:>8.1} ms {:>12.3} {:>12.3}",
            r.card_type.code(),
            r.metrics.apdus,
            in_process,
            bytes,
            wall.as_secs_f64() * 1e3,
            limit * 1e3,
            model.as_secs_f64() * 1e3,
            wall.as_secs_f64() / limit,
            wall.as_secs_f64() / model.as_secs_f64(),
        )?;
    }
    outln!("\n(wall = median over the reads, including connect and verification)")?;
    Ok(0)
}
