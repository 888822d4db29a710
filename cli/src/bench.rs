//! `zairyu bench`: APDUs, bytes and host CPU time per full read + verify over the
//! in-process simulator. A benchmark, not a test: it prints figures and asserts nothing.

use std::time::Instant;

use cpu_time::ProcessTime;
use zairyu::auth::OsRandom;
use zairyu::files::CardType;
use zairyu::sequence::{ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::verify::TrustStore;
use zairyu::{CardNumber, Error};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

/// Runs the benchmark for each card type and prints a table.
pub fn run(iterations: u32, types: &[CardType]) -> Result<u8, Error> {
    let iterations = iterations.max(1);
    let mut trust = TrustStore::new();
    zairyu_sim::add_test_anchors(&mut trust);
    println!("full read + verify over the in-process simulator, {iterations} iterations per card type");
    println!("(host CPU includes the simulated card, which runs in the same process)\n");
    println!(
        "{:<5} {:<10} {:>6} {:>11} {:>15} {:>16} {:>13}  signature",
        "type", "flow", "APDUs", "bytes sent", "bytes received", "host CPU/read", "wall/read"
    );
    for &card_type in types {
        one(iterations, card_type, &trust)?;
    }
    Ok(0)
}

fn one(iterations: u32, card_type: CardType, trust: &TrustStore) -> Result<(), Error> {
    let opts = IssueOptions { card_type, ..IssueOptions::default() };
    let issued = IssuedCard::issue(&opts);
    let number = CardNumber::parse(&opts.card_number)?;
    let mut last = None;
    let cpu0 = ProcessTime::now();
    let wall0 = Instant::now();
    for _ in 0..iterations {
        let mut card = Card::new(SimCard::new(issued.clone()));
        last = Some(read_card(&mut card, &number, trust, &mut OsRandom, &ReadOptions::default())?);
    }
    let (cpu, wall) = (cpu0.elapsed(), wall0.elapsed());
    let r = last.expect("at least one iteration");
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e3 / f64::from(iterations);
    println!(
        "{:<5} {:<10} {:>6} {:>11} {:>15} {:>13.3} ms {:>10.3} ms  {:?}",
        r.card_type.code(),
        r.flow.name(),
        r.metrics.apdus,
        r.metrics.bytes_sent,
        r.metrics.bytes_received,
        per(cpu),
        per(wall),
        r.verification.signature
    );
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
) -> Result<u8, Error> {
    use zairyu_sim::vpcd::ServeOptions;
    const READER: &str = "Virtual PCD 00 00";
    let iterations = iterations.max(1);
    let mut trust = TrustStore::new();
    zairyu_sim::add_test_anchors(&mut trust);
    let rate = f64::from(link.kbps()) * 1000.0;
    println!("full read + verify through pcscd + vpcd, link {link} ({model} model), {iterations} reads per card type");
    println!(
        "air-time limit = (bytes sent + bytes received) x 8 / {} bit/s; model = the served card's modelled air time\n",
        link.kbps() * 1000
    );
    println!(
        "{:<5} {:>6} {:>9} {:>10} {:>11} {:>11} {:>11} {:>12} {:>12}",
        "type", "APDUs", "in-proc", "bytes", "wall/read", "limit", "model", "wall/limit", "wall/model"
    );
    for &card_type in types {
        let issue = IssueOptions { card_type, ..IssueOptions::default() };
        let number = CardNumber::parse(&issue.card_number)?;
        let in_process = {
            let mut card = Card::new(SimCard::new(IssuedCard::issue(&issue)));
            read_card(&mut card, &number, &trust, &mut OsRandom, &ReadOptions::default())?.metrics.apdus
        };
        let opts = ServeOptions { link: Some(link), link_model: model, ..ServeOptions::default() };
        let result = crate::pcsc_cmds::with_served_card(READER, &issue, opts, || -> Result<_, Error> {
            crate::pcsc_cmds::wait_for_card(READER, true, std::time::Duration::from_secs(10))?;
            let mut walls = Vec::new();
            let mut last = None;
            for _ in 0..iterations {
                let t0 = Instant::now();
                let transport = Recording { inner: zairyu_pcsc::PcscCard::connect(READER)?, exchanges: Vec::new() };
                let mut card = Card::new(transport);
                let r = read_card(&mut card, &number, &trust, &mut OsRandom, &ReadOptions::default())?;
                walls.push(t0.elapsed());
                let model: std::time::Duration =
                    card.transport().exchanges.iter().map(|&(c, r)| model.air_time(link, c, r)).sum();
                last = Some((r, model));
            }
            walls.sort();
            Ok((walls[walls.len() / 2], last.expect("one read")))
        })?;
        let (wall, (r, model)) = result;
        let bytes = r.metrics.bytes_sent + r.metrics.bytes_received;
        let limit = bytes as f64 * 8.0 / rate;
        println!(
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
        );
    }
    println!("\n(wall = median over the reads, including connect and verification)");
    Ok(0)
}
