//! The vpcd protocol as the simulated card sees it: a stream of length-prefixed
//! messages (control codes and APDUs) classified by `vpcd::Message` and answered by
//! a simulated card of each type. No message may panic the card side.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use zairyu::files::CardType;
use zairyu::transport::Transport;
use zairyu_sim::vpcd::Message;
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, mut stream)) = data.split_first() else { return };
    let card_type = CardType::ALL
        .iter()
        .copied()
        .filter(|t| !zairyu::layout::files(*t).is_empty())
        .nth(usize::from(selector % 4))
        .unwrap_or(CardType::ResidenceCard);
    // Issuing signs the card: once per type, then a fresh copy per input.
    static CARDS: OnceLock<Vec<(CardType, IssuedCard)>> = OnceLock::new();
    let cards = CARDS.get_or_init(|| {
        CardType::ALL
            .iter()
            .filter(|t| !zairyu::layout::files(**t).is_empty())
            .map(|&t| (t, IssuedCard::issue(&IssueOptions { card_type: t, ..IssueOptions::default() })))
            .collect()
    });
    let issued = cards.iter().find(|(t, _)| *t == card_type).map(|(_, c)| c.clone()).expect("issued");
    let mut card = SimCard::new(issued);
    // Each message: 2-byte big-endian length, then the body (vpcd's framing).
    while let Some((len, rest)) = stream.split_first_chunk::<2>() {
        let n = usize::from(u16::from_be_bytes(*len)).min(rest.len());
        let (body, rest) = rest.split_at(n);
        stream = rest;
        match Message::classify(body) {
            Message::PowerCycle(_) => card.power_cycle(),
            Message::Apdu(apdu) => {
                if let Ok(r) = card.transmit(apdu) {
                    assert!(r.len() >= 2, "every answer ends with a status word");
                }
            }
            Message::Empty | Message::AtrRequest | Message::UnknownControl(_) => {}
        }
    }
});
