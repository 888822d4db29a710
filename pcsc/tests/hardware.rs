//! A real card in a real reader. Opt in by naming the reader and the card number:
//!
//! ```sh
//! ZAIRYU_HW_READER="Sony FeliCa Port/PaSoRi 4.0 00 00" ZAIRYU_HW_CARD_NUMBER=AB12345678CD \
//!   [ZAIRYU_HW_TRUST_DIR=/path/to/ministry/roots] \
//!   cargo test -p zairyu-pcsc --test hardware -- --ignored --nocapture
//! ```
//!
//! Nothing about the card is printed but its type, the read's shape and the
//! verification results.

use std::path::Path;

use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::sequence::{ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::verify::{SignatureStatus, TrustStore, Verdict};
use zairyu_pcsc::PcscCard;

#[test]
#[ignore = "needs a real card: set ZAIRYU_HW_READER and ZAIRYU_HW_CARD_NUMBER"]
fn real_card_reads_completely_and_verifies() {
    let (Ok(reader), Ok(number)) = (std::env::var("ZAIRYU_HW_READER"), std::env::var("ZAIRYU_HW_CARD_NUMBER")) else {
        panic!("set ZAIRYU_HW_READER and ZAIRYU_HW_CARD_NUMBER to run this test");
    };
    let mut trust = TrustStore::new();
    if let Ok(dir) = std::env::var("ZAIRYU_HW_TRUST_DIR") {
        trust.load_production_dir(Path::new(&dir)).expect("pinned Ministry roots");
    }
    let number = CardNumber::parse(&number).expect("a 12-character card number");
    let pcsc = PcscCard::connect(&reader).expect("connect");
    eprintln!("reader {reader}: protocol {}, ATR {:02X?}", pcsc.protocol(), pcsc.atr());
    let mut card = Card::new(pcsc);
    let r = read_card(&mut card, &number, &trust, &mut OsRandom, &ReadOptions::default()).expect("a complete read");
    let v = &r.verification;
    // The read's shape and the verification, nothing of the holder.
    eprintln!("card type {} ({} flow): verdict {}", r.card_type, r.flow, v.verdict().as_str());
    eprintln!("exchange {:?}, link {:?}", r.metrics, r.link);
    eprintln!(
        "signature {:?} ({:?}), chain {:?}, anchor profile {:?}, certificate valid now {:?}",
        v.signature, v.signature_format, v.chain, v.anchor_profile, v.certificate_valid_now
    );
    // A genuine card with a photo must verify; an under-16 card has no signature.
    assert!(matches!(v.signature, SignatureStatus::Valid | SignatureStatus::Absent), "{:?}", v.reason);
    if std::env::var("ZAIRYU_HW_TRUST_DIR").is_ok() && v.signature == SignatureStatus::Valid {
        assert_eq!(v.verdict(), Verdict::Production, "a genuine card chains to a pinned Ministry root");
    }
}
