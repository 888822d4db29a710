//! Reads and verifies a simulated card in-process, as an application would read a
//! real one: `cargo run -p zairyu-examples --bin read_simulator [TYPE]` (TYPE: 1, 2,
//! 05 or 06; default 1).

use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::files::CardType;
use zairyu::report::Report;
use zairyu::sequence::{ReadOptions, read_card};
use zairyu::session::Card;
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

fn main() -> Result<(), zairyu::Error> {
    // The core's parser for card types, as the CLI, C and Python use it.
    let card_type = match std::env::args().nth(1) {
        Some(arg) => arg.parse::<CardType>()?,
        None => CardType::ResidenceCard,
    };
    // A synthetic card and the simulator's test CAs (test anchors, never production).
    let Ok(issued) = IssuedCard::try_issue(&IssueOptions { card_type, ..IssueOptions::default() }) else {
        eprintln!("the simulator issues card types 1, 2, 05 and 06");
        std::process::exit(2);
    };
    let trust = zairyu_sim::test_trust_store();

    // The number the clerk types.
    let number = CardNumber::parse("AB12345678CD")?;
    let mut card = Card::new(SimCard::new(issued));
    let read = read_card(&mut card, &number, &trust, &mut OsRandom, &ReadOptions::default())?;

    let v = &read.verification;
    println!(
        "card type {} ({}), verdict {}: signature {:?}, chain {:?}, anchor profile {:?}",
        read.card_type,
        read.flow,
        v.verdict().as_str(),
        v.signature,
        v.chain,
        v.anchor_profile
    );
    println!("{}", Report::from_read(&read).to_json_pretty());
    Ok(())
}
