//! Reads of simulated cards for the tests.
#![allow(dead_code)]

use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::files::CardType;
use zairyu::sequence::{CardRead, ReadOptions, read_card};
use zairyu::session::Card;
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

/// The simulated cards' number.
pub const NUMBER: &str = "AB12345678CD";
/// A fixed verification time: 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600;

/// Reads a simulated card issued with `opts`, trusting the simulator's test CAs.
pub fn read_with(opts: IssueOptions) -> CardRead {
    let issued = IssuedCard::try_issue(&opts).expect("issue");
    let number = CardNumber::parse(NUMBER).unwrap();
    let trust = zairyu_sim::test_trust_store();
    let ro = ReadOptions { now_unix: Some(NOW), ..ReadOptions::default() };
    read_card(&mut Card::new(SimCard::new(issued)), &number, &trust, &mut OsRandom, &ro).expect("read")
}

/// Reads a default simulated card of this type.
pub fn read(card_type: CardType) -> CardRead {
    read_with(IssueOptions { card_type, card_number: NUMBER.into(), ..IssueOptions::default() })
}
