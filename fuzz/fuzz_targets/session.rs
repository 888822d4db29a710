//! The session layer under a hostile link: a whole read (card types 1, 2, 05, 06,
//! both policies) where the fuzzer decides, command by command, what comes back:
//! the simulated chip's real answer (so the read gets past authentication and into
//! secure messaging), that answer with another status word (`67 00`, `6C XX`, `61 XX`
//! drive the fallbacks and the retries), cut short, replaced by fuzzed bytes, or a
//! transport failure (the driver refusals that start the short-APDU variants, a
//! removed card). The first bytes also choose the link: full, short-only, or a host
//! that carries only a few bytes back. The read must end in a result or a typed
//! error, never a panic, and must never ask for more than the link carries.
//!
//! Input: `[card type + policy] [link] [max_response: 2 bytes] (per command: op [args])*`.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use zairyu::CardNumber;
use zairyu::apdu::ParsedCommand;
use zairyu::auth::FixedRandom;
use zairyu::error::{LinkRefusal, TransportError};
use zairyu::files::CardType;
use zairyu::sequence::{ReadOptions, ReadPolicy, read_card};
use zairyu::session::Card;
use zairyu::transport::{Limits, Transport};
use zairyu::verify::TrustStore;
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

const TYPES: [CardType; 4] = [
    CardType::ResidenceCard,
    CardType::SpecialPermanentResident,
    CardType::Gen2ResidenceCard,
    CardType::Gen2SpecialPermanentResident,
];

struct Base {
    cards: Vec<IssuedCard>,
    trust: TrustStore,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut trust = TrustStore::new();
        zairyu_sim::add_test_anchors(&mut trust);
        let cards = TYPES
            .iter()
            .map(|&card_type| IssuedCard::issue(&IssueOptions { card_type, ..IssueOptions::default() }))
            .collect();
        Base { cards, trust }
    })
}

/// The chip behind a link whose every answer the fuzzer may change.
struct Hostile<'a> {
    chip: SimCard,
    script: &'a [u8],
    limits: Limits,
}

impl Hostile<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.script.split_first()?;
        self.script = rest;
        Some(b)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.script.len());
        let (taken, rest) = self.script.split_at(n);
        self.script = rest;
        taken.to_vec()
    }
}

impl Transport for Hostile<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        // The session honours the link's limits: it never sends a longer command nor
        // asks for more than the link carries back.
        assert!(command.len() <= self.limits.max_command, "command of {} bytes", command.len());
        if let Some(p) = ParsedCommand::parse(command) {
            assert!(self.limits.extended_length || !p.extended, "extended command on a short link");
            // GET CHALLENGE and MUTUAL AUTHENTICATE ask for their fixed 8 and 40 bytes
            // whatever the link (the spec's answers cannot be cut).
            let fixed = matches!((p.header[1], p.ne), (0x84, Some(8)) | (0x82, Some(40)));
            if let Some(ne) = p.ne.filter(|_| !fixed) {
                assert!(ne <= self.limits.max_data().max(1), "Ne {ne} over a link of {}", self.limits.max_response);
            }
        }
        let Some(op) = self.byte() else { return self.chip.transmit(command) };
        match op % 8 {
            // The chip's real answer (most of the time, so reads go deep).
            0..=3 => self.chip.transmit(command),
            // Fuzzed bytes instead.
            4 => {
                let n = usize::from(self.byte().unwrap_or(0)) * usize::from(op / 8 % 4 + 1);
                Ok(self.bytes(n))
            }
            // The real data with another status word.
            5 => {
                let mut r = self.chip.transmit(command)?;
                let sw = self.bytes(2);
                let keep = r.len().saturating_sub(2);
                r.truncate(keep);
                r.extend_from_slice(&sw);
                Ok(r)
            }
            // The real answer cut short.
            6 => {
                let mut r = self.chip.transmit(command)?;
                let keep = usize::from(self.byte().unwrap_or(0)) % (r.len() + 1);
                r.truncate(keep);
                Ok(r)
            }
            // A transport failure.
            _ => Err(match self.byte().unwrap_or(0) % 7 {
                0 => TransportError::LinkRefused(LinkRefusal::NotTransacted),
                1 => TransportError::LinkRefused(LinkRefusal::InsufficientBuffer),
                2 => TransportError::LinkRefused(LinkRefusal::InvalidParameter),
                3 => TransportError::ExtendedLengthUnsupported,
                4 => TransportError::CardRemoved,
                5 => TransportError::CardReset,
                _ => TransportError::Other("fuzzed".to_owned()),
            }),
        }
    }

    fn limits(&self) -> Limits {
        self.limits
    }
}

fuzz_target!(|data: &[u8]| {
    let [sel, link, hi, lo, script @ ..] = data else { return };
    let b = base();
    let issued = b.cards[usize::from(sel % 4)].clone();
    let policy = if sel & 0x04 == 0 { ReadPolicy::Full } else { ReadPolicy::TextOnly };
    let max_response = usize::from(u16::from_be_bytes([*hi, *lo]));
    let limits = match link % 4 {
        0 => Limits::FULL,
        1 => Limits::SHORT,
        // A host that carries extended APDUs but few bytes back.
        2 => Limits { max_response, ..Limits::FULL },
        _ => Limits { max_response: max_response.min(258), ..Limits::SHORT },
    };
    let mut chip = SimCard::new(issued);
    // The chip's own short-APDU modes, on top.
    chip = match link / 4 % 4 {
        1 => chip.with_fault(zairyu_sim::Fault::ShortCard),
        2 => chip.with_fault(zairyu_sim::Fault::ReaderFailsExtended),
        _ => chip,
    };
    let number = CardNumber::parse(&IssueOptions::default().card_number).unwrap();
    let mut card = Card::new(Hostile { chip, script, limits });
    let mut rng = FixedRandom::new(&[7; 24]);
    let opts = ReadOptions { policy, now_unix: Some(1_800_000_000), ..Default::default() };
    match read_card(&mut card, &number, &b.trust, &mut rng, &opts) {
        Ok(r) => {
            // A complete read names how it was carried, and says so when it fell back.
            assert_eq!(r.link, *card.link_report());
            if !r.link.fallbacks.is_empty() {
                assert!(r.warnings.iter().any(|w| w.code == zairyu::warning::WarningCode::ShortApduFallback));
            }
        }
        Err(e) => {
            let _ = e.code();
        }
    }
});
