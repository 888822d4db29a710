//! Reads and verifies a simulated card in-process, as an application would read a
//! real one: `cargo run -p zairyu-examples --bin read_simulator [05]`.

use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::files::CardType;
use zairyu::report::Report;
use zairyu::sequence::{ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::verify::TrustStore;
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

fn main() -> Result<(), zairyu::Error> {
    let card_type = match std::env::args().nth(1).as_deref() {
        Some("2") => CardType::SpecialPermanentResident,
        Some("05") => CardType::Gen2ResidenceCard,
        Some("06") => CardType::Gen2SpecialPermanentResident,
        _ => CardType::ResidenceCard,
    };
    // A synthetic card and the simulator's test CAs (test anchors, never production).
    let issued = IssuedCard::issue(&IssueOptions { card_type, ..IssueOptions::default() });
    let mut trust = TrustStore::new();
    zairyu_sim::add_test_anchors(&mut trust);

    // The number the clerk types.
    let number = CardNumber::parse("AB12345678CD")?;
    let mut card = Card::new(SimCard::new(issued));
    let read = read_card(&mut card, &number, &trust, &mut OsRandom, &ReadOptions::default())?;

    let v = &read.verification;
    println!(
        "card type {} ({}), signature {:?}, chain {:?}, anchor profile {:?}",
        read.card_type.code(),
        read.flow.name(),
        v.signature,
        v.chain,
        v.anchor_profile
    );
    println!("{}", Report::from_read(&read).to_json_pretty());
    Ok(())
}
