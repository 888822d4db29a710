//! `zairyu bench`: APDUs, bytes and host CPU time per full read + verify over the
//! in-process simulator. A benchmark, not a test: it prints figures and asserts nothing.

use std::time::Instant;

use cpu_time::ProcessTime;
use zairyu::auth::OsRandom;
use zairyu::reader::{ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::verify::TrustStore;
use zairyu::{CardNumber, Error};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard, SimCardType};

/// Runs the benchmark for each card type and prints a table.
pub fn run(iterations: u32, types: &[SimCardType]) -> Result<u8, Error> {
    let iterations = iterations.max(1);
    let mut trust = TrustStore::new();
    trust.add_test_anchor_der(IssuedCard::test_ca_der(), "simulator test CA")?;
    trust.add_test_anchor_der(IssuedCard::test_ca2_der(), "simulator test CA2")?;
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

fn one(iterations: u32, card_type: SimCardType, trust: &TrustStore) -> Result<(), Error> {
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
