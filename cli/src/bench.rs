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

/// Runs the benchmark and prints one line per figure.
pub fn run(iterations: u32, card_type: SimCardType) -> Result<u8, Error> {
    let iterations = iterations.max(1);
    let opts = IssueOptions {
        card_type,
        ..IssueOptions::default()
    };
    let issued = IssuedCard::issue(&opts);
    let number = CardNumber::parse(&opts.card_number)?;
    let mut trust = TrustStore::new();
    trust.add_test_anchor_der(IssuedCard::test_ca_der(), "simulator test CA")?;

    let mut last = None;
    let cpu0 = ProcessTime::now();
    let wall0 = Instant::now();
    for _ in 0..iterations {
        let mut card = Card::new(SimCard::new(issued.clone()));
        let r = read_card(
            &mut card,
            &number,
            &trust,
            &mut OsRandom,
            &ReadOptions::default(),
        )?;
        last = Some(r);
    }
    let cpu = cpu0.elapsed();
    let wall = wall0.elapsed();
    let r = last.expect("at least one iteration");
    println!("card type             : {}", r.card_type.code());
    println!("iterations            : {iterations}");
    println!("APDUs per read        : {}", r.metrics.apdus);
    println!("bytes sent per read   : {}", r.metrics.bytes_sent);
    println!("bytes received per read: {}", r.metrics.bytes_received);
    println!(
        "host CPU per read     : {:.3} ms (card and host both in this process)",
        cpu.as_secs_f64() * 1e3 / f64::from(iterations)
    );
    println!(
        "wall time per read    : {:.3} ms",
        wall.as_secs_f64() * 1e3 / f64::from(iterations)
    );
    println!("signature             : {:?}", r.verification.signature);
    Ok(0)
}
