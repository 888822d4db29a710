//! `demo`, `read` and `dump`: read a card (in a PC/SC reader, or an in-process
//! simulated card), verify it, and print or write the result.

use std::path::Path;
use std::sync::Arc;

use zairyu::auth::OsRandom;
use zairyu::files::CardType;
use zairyu::files::gen2::CodeTable;
use zairyu::report::Report;
use zairyu::sequence::{CardRead, ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::transport::Transport;
use zairyu::verify::TrustStore;
use zairyu::{CardNumber, Error};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

use crate::args::{CardArgs, ReadArgs, SimArgs, TrustArgs};
use crate::error::CliError;
use crate::{exit, summary};

/// The card number of the simulated cards the CLI issues unless told otherwise.
pub const SIM_CARD_NUMBER: &str = "AB12345678CD";

impl ReadArgs {
    /// The core's read options.
    pub fn options(&self) -> Result<ReadOptions, Error> {
        let status_table = match &self.status_table {
            Some(path) => Some(Arc::new(CodeTable::load(path)?)),
            None => None,
        };
        Ok(ReadOptions { policy: self.policy, force_flow: self.force_flow, status_table, ..ReadOptions::default() })
    }
}

impl TrustArgs {
    /// The trust store: `--trust-dir` (pinned production roots), `--test-anchors`, and
    /// the simulator's test CAs if `with_sim_ca` and not `--no-sim-test-ca`.
    pub fn store(&self, with_sim_ca: bool) -> Result<TrustStore, Error> {
        let mut trust = TrustStore::new();
        if let Some(dir) = &self.trust_dir {
            trust.load_production_dir(dir)?;
        }
        if let Some(dir) = &self.test_anchors {
            trust.add_test_anchors_dir(dir)?;
        }
        if with_sim_ca && !self.no_sim_test_ca {
            zairyu_sim::add_test_anchors(&mut trust);
        }
        Ok(trust)
    }
}

/// Whether the simulator issues cards of type `t`: those whose files the core's layout
/// table describes (1, 2, 05, 06).
pub fn simulated(t: CardType) -> bool {
    !zairyu::layout::files(t).is_empty()
}

/// Issues a simulated card; options the simulator refuses are a typed input error.
pub fn issue(opts: &IssueOptions) -> Result<IssuedCard, Error> {
    IssuedCard::try_issue(opts).map_err(|e| {
        zairyu::error::InputError::BadFile { path: "simulated card options".into(), reason: e.to_string() }.into()
    })
}

/// Reads and verifies the card on `transport`.
pub fn read_on(
    transport: impl Transport,
    number: &CardNumber,
    trust: &TrustStore,
    opts: &ReadOptions,
) -> Result<CardRead, Error> {
    read_card(&mut Card::new(transport), number, trust, &mut OsRandom, opts)
}

fn read_sim(sim: &SimArgs, number: &CardNumber, trust: &TrustStore, opts: &ReadOptions) -> Result<CardRead, Error> {
    let issued = issue(&IssueOptions {
        card_type: sim.sim_card_type,
        card_number: sim.sim_card_number.clone(),
        under_16: sim.sim_under_16,
        ..IssueOptions::default()
    })?;
    read_on(SimCard::new(issued), number, trust, opts)
}

/// Reads the card in `--reader`, or else the in-process simulated card.
fn read_source(card: &CardArgs) -> Result<CardRead, Error> {
    let CardArgs { card_number: typed, source, trust, read } = card;
    let opts = read.options()?;
    #[cfg(feature = "pcsc")]
    if let Some(reader) = &source.reader {
        // Real cards: the simulator's test CAs are not trusted unless asked for.
        let store = trust.store(trust.trust_sim_ca)?;
        let number = CardNumber::parse(typed)?;
        return read_on(zairyu_pcsc::PcscCard::connect(reader)?, &number, &store, &opts);
    }
    let store = trust.store(true)?;
    read_sim(&source.sim, &CardNumber::parse(typed)?, &store, &opts)
}

fn print(r: &CardRead, json: bool) -> Result<(), CliError> {
    if json {
        outln!("{}", Report::from_read(r).to_json_pretty())?;
    } else {
        out!("{}", summary::render(r))?;
    }
    Ok(())
}

/// `zairyu demo`.
pub fn demo(json: bool, generation: u8, card_type: Option<CardType>) -> Result<u8, CliError> {
    let sim_card_type =
        card_type.unwrap_or(if generation == 2 { CardType::Gen2ResidenceCard } else { CardType::ResidenceCard });
    let sim = SimArgs { sim_card_type, sim_card_number: SIM_CARD_NUMBER.into(), sim_under_16: false };
    if !json {
        outln!("zairyu demo: a simulated card (synthetic data, test CA), card number {SIM_CARD_NUMBER}\n")?;
    }
    let number = CardNumber::parse(SIM_CARD_NUMBER)?;
    let r = read_sim(&sim, &number, &TrustArgs::default().store(true)?, &ReadOptions::default())?;
    print(&r, json)?;
    Ok(exit::for_demo(r.verification.verdict()))
}

/// `zairyu read`.
pub fn read(card: &CardArgs, json: bool) -> Result<u8, CliError> {
    let r = read_source(card)?;
    print(&r, json)?;
    Ok(exit::for_verdict(r.verification.verdict()))
}

/// `zairyu dump`.
pub fn dump(card: &CardArgs, out: &Path) -> Result<u8, CliError> {
    let r = read_source(card)?;
    write_dump(&r, out)?;
    outln!("wrote {} card files, {} images and report.json to {}", r.raw_files.len(), r.images().len(), out.display())?;
    Ok(exit::for_verdict(r.verification.verdict()))
}

/// Writes every raw file, every present image and the report into `out`.
fn write_dump(r: &CardRead, out: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(out).map_err(|e| CliError::output(out, e))?;
    let write = |name: String, bytes: &[u8]| {
        let path = out.join(name);
        std::fs::write(&path, bytes).map_err(|e| CliError::output(path, e))
    };
    for f in &r.raw_files {
        write(format!("{}.bin", f.name.replace('/', "-")), &f.bytes)?;
    }
    for (name, image) in r.images() {
        if image.is_present() {
            write(format!("{name}.{}", image.format.extension()), image.bytes())?;
        }
    }
    write("report.json".to_owned(), Report::from_read(r).to_json_pretty().as_bytes())
}
