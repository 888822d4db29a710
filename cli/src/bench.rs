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

/// The card types `bench --write` measures when none is named: one per generation.
pub fn write_types() -> Vec<CardType> {
    vec![CardType::ResidenceCard, CardType::Gen2ResidenceCard]
}

/// Every exchange of one write, and where its phases begin.
#[derive(Default)]
struct Tape {
    exchanges: Vec<(usize, usize)>,
    /// Index of the relay's first command (SELECT of the write application).
    relay_from: Option<usize>,
    /// Index of the re-read's first command (after the new session).
    reread_from: Option<usize>,
}

/// The simulated card, with every exchange recorded on a [`Tape`].
struct Taped<'a> {
    sim: SimCard,
    tape: &'a mut Tape,
}

impl zairyu::transport::Transport for Taped<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, zairyu::error::TransportError> {
        let select =
            [&[0x00, 0xA4, 0x04, 0x0C, zairyu::write::WRITE_AID.len() as u8][..], &zairyu::write::WRITE_AID].concat();
        if self.tape.relay_from.is_none() && command == select {
            self.tape.relay_from = Some(self.tape.exchanges.len());
        }
        let r = self.sim.transmit(command)?;
        self.tape.exchanges.push((command.len(), r.len()));
        Ok(r)
    }
    fn limits(&self) -> zairyu::transport::Limits {
        self.sim.limits()
    }
}

/// A temporary authority directory, removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `zairyu bench --write`: an address write per card type (card-number access, the
/// relayed write through the in-process authority, the re-read on a new session) over
/// the in-process simulator, with a throw-away test PKI. Prints APDUs per phase,
/// bytes, authority round trips, the modelled air time of the card's exchanges and
/// host CPU; asserts nothing.
pub fn run_write(
    iterations: u32,
    types: &[CardType],
    link: zairyu_sim::vpcd::LinkSpeed,
    model: zairyu_sim::vpcd::LinkModel,
) -> Result<u8, CliError> {
    use zairyu::write::CvDate;
    use zairyu::write::counter::AddressWrite;
    use zairyu::write::record::NewAddress;
    use zairyu_sim::write_pki::WritePki;

    let iterations = iterations.max(1);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let today = CvDate::from_unix(now).ok_or_else(|| CliError::Write {
        code: "clock_out_of_range".into(),
        exit: crate::exit::AUTHORITY_UNAVAILABLE,
        message: "the system clock is outside 2000-2099".into(),
    })?;
    let dir = TempDir(std::env::temp_dir().join(format!("zairyu-bench-write-{}-{now}", std::process::id())));
    let pki = WritePki::generate_with(&mut zairyu::auth::OsRandom, today);
    pki.save(&dir.0).map_err(crate::pki::error)?;
    let policy = dir.0.join(crate::pki::POLICY_FILE);
    std::fs::write(&policy, crate::pki::test_policy()).map_err(|e| CliError::output(&policy, e))?;
    let mut authority = zairyu_authority_core::InProcessAuthority::from_dir(&dir.0, crate::pki::TEST_COUNTER)
        .map_err(|e| crate::write::setup_error(&dir.0, &e))?;
    let trust = zairyu_sim::test_trust_store();
    let record = NewAddress {
        date: "20260430".into(),
        municipality_code: "131016".into(),
        address: "東京都千代田区霞が関一丁目一番一号 中央合同庁舎第六号館".into(),
    };

    outln!(
        "address write (access + relayed write + re-read on a new session) over the in-process simulator and the \
         in-process authority (throw-away test PKI), {iterations} writes per card type"
    )?;
    outln!(
        "air time: the card's exchanges at {link} ({model} model); a remote authority adds one network round trip \
         per exchange with it"
    )?;
    outln!("host CPU includes the simulated card, the authority (signatures, the gen2 image) and the audit log\n")?;
    outln!(
        "{:<5} {:<9} {:>20} {:>11} {:>15} {:>12} {:>10} {:>14} {:>11}",
        "type",
        "file",
        "APDUs acc+wr+re",
        "bytes sent",
        "bytes received",
        "round trips",
        "air time",
        "host CPU/write",
        "wall/write"
    )?;
    for &card_type in types {
        let opts = IssueOptions {
            card_type,
            write: Some(pki.write_issue()),
            randomness: zairyu_sim::SimRandomness::Os,
            ..IssueOptions::default()
        };
        let issued = issue(&opts)?;
        let number = CardNumber::parse(&opts.card_number)?;
        let mut last = None;
        let cpu0 = ProcessTime::now();
        let wall0 = Instant::now();
        for _ in 0..iterations {
            let mut tape = Tape::default();
            let card = Taped { sim: SimCard::new(issued.clone()), tape: &mut tape };
            let reset = |t: &mut Taped<'_>| {
                t.tape.reread_from = Some(t.tape.exchanges.len());
                t.sim.power_cycle();
                Ok(())
            };
            let request = AddressWrite { record: record.clone(), operator_id: "bench".into() };
            let out = zairyu::write::counter::write_address(
                card,
                reset,
                &number,
                &trust,
                &mut zairyu::auth::OsRandom,
                &mut authority,
                request,
            )
            .map_err(|e| crate::write::write_error(&e, false))?;
            last = Some((out, tape));
        }
        let (cpu, wall) = (cpu0.elapsed(), wall0.elapsed());
        let (out, tape) = last.expect("at least one iteration");
        let per = |d: std::time::Duration| d.as_secs_f64() * 1e3 / f64::from(iterations);
        let n = tape.exchanges.len();
        let relay = tape.relay_from.unwrap_or(n);
        let reread = tape.reread_from.unwrap_or(n);
        let sent: usize = tape.exchanges.iter().map(|e| e.0).sum();
        let received: usize = tape.exchanges.iter().map(|e| e.1).sum();
        let air: std::time::Duration = tape.exchanges.iter().map(|&(c, r)| model.air_time(link, c, r)).sum();
        outln!(
            "{:<5} {:<9} {:>20} {:>11} {:>15} {:>12} {:>7.1} ms {:>11.3} ms {:>8.3} ms",
            card_type.code(),
            out.receipt.target.name(),
            format!("{}+{}+{}={}", relay, reread - relay, n - reread, n),
            sent,
            received,
            out.round_trips,
            air.as_secs_f64() * 1e3,
            per(cpu),
            per(wall),
        )?;
    }
    Ok(0)
}
