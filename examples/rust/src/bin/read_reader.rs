//! Reads and verifies the card in a PC/SC reader:
//! `cargo run -p zairyu-examples --bin read_reader -- "READER NAME" CARD_NUMBER [TRUST_DIR]`.
//! With a directory of the Ministry's root certificates the verdict says whether the
//! card chains to a production root (`production`).

use std::path::Path;

use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::sequence::{ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::verify::TrustStore;
use zairyu_pcsc::PcscCard;

fn main() -> Result<(), zairyu::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [reader, number, rest @ ..] = args.as_slice() else {
        eprintln!("usage: read_reader READER CARD_NUMBER [TRUST_DIR]");
        std::process::exit(2);
    };
    let mut trust = TrustStore::new();
    if let Some(dir) = rest.first() {
        trust.load_production_dir(Path::new(dir))?;
    }
    let number = CardNumber::parse(number)?;
    let mut card = Card::new(PcscCard::connect(reader)?);
    let read = read_card(&mut card, &number, &trust, &mut OsRandom, &ReadOptions::default())?;
    let v = &read.verification;
    // The verdict: production (genuine), test, untrusted, invalid, absent or not_checked.
    println!("card type {}: signature {:?}, verdict {}", read.card_type, v.signature, v.verdict().as_str());
    Ok(())
}
