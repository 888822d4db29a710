//! The official Annex-2 trace (SPEC15 別添 2), end to end: a terminal with the
//! Annex-2 random values against the simulator in Annex-2 mode produces the spec's
//! commands and responses byte for byte.

use std::cell::RefCell;
use std::rc::Rc;

use zairyu::CardNumber;
use zairyu::auth::FixedRandom;
use zairyu::sequence::{ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::vectors::{annex2, hex};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard, SimRandomness};
use zairyu_tests::{Rewrite, sim_trust};

/// One command and its response.
type Exchange = (Vec<u8>, Vec<u8>);

#[test]
fn annex2_trace_byte_for_byte() {
    let opts = IssueOptions {
        card_number: annex2::CARD_NUMBER.into(),
        randomness: SimRandomness::Annex2,
        ..IssueOptions::default()
    };
    let log: Rc<RefCell<Vec<Exchange>>> = Rc::default();
    let sink = log.clone();
    let transport = Rewrite {
        inner: SimCard::new(IssuedCard::issue(&opts)),
        f: move |cmd: &[u8], resp: Vec<u8>| {
            sink.borrow_mut().push((cmd.to_vec(), resp.clone()));
            resp
        },
    };
    let mut card = Card::new(transport);
    let mut terminal = FixedRandom::new(&[hex(annex2::RND_IFD), hex(annex2::K_IFD)].concat());
    let number = CardNumber::parse(annex2::CARD_NUMBER).unwrap();
    let r = read_card(&mut card, &number, &sim_trust(), &mut terminal, &ReadOptions::default()).unwrap();
    assert_eq!(r.verification.signature, zairyu::verify::SignatureStatus::Valid);

    let log = log.borrow();
    let find = |prefix: &[u8]| log.iter().rfind(|(c, _)| c.starts_with(prefix)).cloned().unwrap();
    let (cmd, resp) = find(&[0x00, 0x84, 0x00, 0x00]);
    assert_eq!(cmd, hex("00 84 00 00 08"));
    assert_eq!(resp, [hex(annex2::RND_ICC), vec![0x90, 0x00]].concat());
    let (cmd, resp) = find(&[0x00, 0x82]);
    assert_eq!(cmd, hex(annex2::MUTUAL_AUTH_COMMAND));
    assert_eq!(resp, [hex(annex2::E_ICC), hex(annex2::M_ICC), vec![0x90, 0x00]].concat());
    let (cmd, resp) = find(&[0x08, 0x20]);
    assert_eq!(cmd, hex(annex2::VERIFY_COMMAND));
    assert_eq!(resp, vec![0x90, 0x00]);
    // The image reads as printed in Annex 2, with their response headers.
    let (cmd, resp) = find(&[0x08, 0xB0, 0x85]);
    assert_eq!(cmd, hex("08 B0 85 00 00 00 04 96 02 00 00 00 00"));
    assert_eq!(&resp[..5], &hex("86 82 1B 61 01")[..]);
    assert_eq!(resp.len(), 7015);
    let (cmd, resp) = find(&[0x08, 0xB0, 0x86]);
    assert_eq!(cmd, hex("08 B0 86 00 00 00 04 96 02 00 00 00 00"));
    assert_eq!(&resp[..5], &hex("86 82 0B C1 01")[..]);
    let (cmd, resp) = find(&[0x00, 0xB0, 0x82]);
    assert_eq!(cmd, hex("00 B0 82 00 00 00 00"));
    assert_eq!(&resp[..4], &hex("DA 82 01 00")[..]);
    assert_eq!(&resp[260..264], &hex("DB 82 04 B0")[..]);
    assert_eq!(resp.len(), 1464 + 2);
}
