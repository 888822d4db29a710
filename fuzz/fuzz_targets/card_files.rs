//! A whole read against a simulated card whose file content comes from the fuzzer:
//! the simulator serves it through real secure messaging, so inputs reach every
//! parser behind the SM layer. The read must end in a result or a typed error.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use zairyu::auth::FixedRandom;
use zairyu::sequence::{ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::verify::TrustStore;
use zairyu::CardNumber;
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};
use zairyu::layout::Df;
use zairyu::files::CardType;

/// First-generation files (type "1").
const FILES: [(Df, u8); 9] = [
    (Df::Mf, 0x0B),
    (Df::Mf, 0x0A),
    (Df::Df1, 0x05),
    (Df::Df1, 0x06),
    (Df::Df2, 0x01),
    (Df::Df2, 0x02),
    (Df::Df2, 0x03),
    (Df::Df2, 0x04),
    (Df::Df3, 0x02),
];

/// Second-generation files (type "05").
const FILES2: [(Df, u8); 11] = [
    (Df::Mf, 0x0B),
    (Df::Mf, 0x0A),
    (Df::Df1, 0x01),
    (Df::Df1, 0x03),
    (Df::Df1, 0x04),
    (Df::Df1, 0x06),
    (Df::Df2, 0x01),
    (Df::Df2, 0x02),
    (Df::Df2, 0x03),
    (Df::Df3, 0x02),
    (Df::Df3, 0x02),
];

struct Base {
    gen1: IssuedCard,
    gen2: IssuedCard,
    trust: TrustStore,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut trust = TrustStore::new();
        zairyu_sim::add_test_anchors(&mut trust);
        let gen2 = IssueOptions { card_type: CardType::Gen2ResidenceCard, ..IssueOptions::default() };
        Base { gen1: IssuedCard::issue(&IssueOptions::default()), gen2: IssuedCard::issue(&gen2), trust }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, content)) = data.split_first() else { return };
    let b = base();
    let (mut issued, (df, sfi)) = if sel & 0x80 == 0 {
        (b.gen1.clone(), FILES[sel as usize % FILES.len()])
    } else {
        (b.gen2.clone(), FILES2[(sel & 0x7F) as usize % FILES2.len()])
    };
    let trust = &b.trust;
    issued.set_file(df, sfi, content.to_vec());
    let number = CardNumber::parse(&IssueOptions::default().card_number).unwrap();
    let mut card = Card::new(SimCard::new(issued));
    let mut rng = FixedRandom::new(&[7; 24]);
    if let Ok(r) = read_card(&mut card, &number, trust, &mut rng, &ReadOptions { now_unix: Some(1_800_000_000), ..Default::default() }) {
        assert!(r.metrics.apdus >= 13);
    }
});
