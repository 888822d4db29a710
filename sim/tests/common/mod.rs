//! Shared by the simulator's integration tests: sending APDUs, the terminal side
//! of authentication (SPEC15 §4.2.2-§4.2.4, Annex 1; the same APDUs in both
//! generations, only the suite differs), reads, random command APDUs and the
//! check that every answer is a status word of SPEC15 Table 4-5.
//!
//! The helpers take any [`Transport`]: a [`SimCard`] in process, or the fake vpcd
//! of `tests/vpcd.rs` in front of `vpcd::serve`.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use zairyu::CardNumber;
use zairyu::auth::{TerminalRandom, finish_mutual_authentication, terminal_cryptogram};
use zairyu::crypto::{Suite, derive_base_key};
use zairyu::layout::Df;
use zairyu::sm::SecureMessaging;
use zairyu::transport::Transport;
use zairyu::vectors::hex;
use zairyu_sim::{Drbg, IssueOptions, IssuedCard, SimCard};

/// `90 00`.
pub const OK: [u8; 2] = [0x90, 0x00];

/// A fresh card issued with `opts`.
pub fn card(opts: IssueOptions) -> SimCard {
    SimCard::new(IssuedCard::issue(&opts))
}

/// Sends a command; returns (data, SW). The transport must answer, with a SW.
pub fn send(card: &mut impl Transport, apdu: &[u8]) -> (Vec<u8>, [u8; 2]) {
    let raw = card.transmit(apdu).expect("transport ok");
    assert!(raw.len() >= 2, "answer without SW: {raw:02X?}");
    let (d, s) = raw.split_at(raw.len() - 2);
    (d.to_vec(), [s[0], s[1]])
}

/// [`send`] with the command given in hex.
pub fn sendh(card: &mut impl Transport, apdu: &str) -> (Vec<u8>, [u8; 2]) {
    send(card, &hex(apdu))
}

/// SELECT FILE of a DF by its name (SPEC15 §4.2.1); returns the SW.
pub fn select_df(card: &mut impl Transport, df: Df) -> [u8; 2] {
    let aid = df.aid().expect("a DF, not the MF");
    send(card, &[&[0x00, 0xA4, 0x04, 0x0C, 0x10][..], &aid].concat()).1
}

/// Plain READ BINARY of the whole file at `p1` (`80 | SFI`), extended Le.
pub fn plain_read(card: &mut impl Transport, p1: u8) -> (Vec<u8>, [u8; 2]) {
    send(card, &[0x00, 0xB0, p1, 0x00, 0x00, 0x00, 0x00])
}

/// SM READ BINARY of the whole file at `p1`; returns (plaintext, SW), or the raw
/// data and SW if the card refused.
pub fn sm_read<S: Suite>(card: &mut impl Transport, sm: &SecureMessaging<S>, p1: u8) -> (Vec<u8>, [u8; 2]) {
    let (data, s) = send(card, &SecureMessaging::<S>::read_binary_command(p1, 0, 0).encode());
    if s != OK {
        return (data, s);
    }
    (sm.unwrap_read(&data).expect("decrypts").to_vec(), s)
}

/// GET CHALLENGE + MUTUAL AUTHENTICATE under suite `S` with `number` and the
/// terminal randomness of `seed`; returns the MA SW and the session, if the
/// terminal accepted the card's answer.
pub fn mutual_auth<S: Suite>(
    card: &mut impl Transport,
    number: &str,
    seed: u64,
) -> ([u8; 2], Option<SecureMessaging<S>>) {
    let (rnd, s) = sendh(card, "00 84 00 00 08");
    assert_eq!(s, OK);
    let rnd_icc: [u8; 8] = rnd.try_into().unwrap();
    let base = derive_base_key(number.as_bytes());
    let t = TerminalRandom::generate(&mut Drbg::new(seed));
    let ma = [&hex("00 82 00 00 28")[..], &terminal_cryptogram::<S>(&base, &rnd_icc, &t)[..], &[0x00]].concat();
    let (data, sw) = send(card, &ma);
    let ks = (sw == OK).then(|| finish_mutual_authentication::<S>(&base, &rnd_icc, &t, &data).ok()).flatten();
    (sw, ks.map(SecureMessaging::new))
}

/// VERIFY of `number` under the session `sm`; returns the SW.
pub fn verify<S: Suite>(card: &mut impl Transport, sm: &SecureMessaging<S>, number: &str) -> [u8; 2] {
    let cmd = sm.verify_command(&CardNumber::parse(number).unwrap()).unwrap();
    send(card, &cmd.encode()).1
}

/// Authenticates with `number` (MUTUAL AUTHENTICATE and VERIFY, both `90 00`).
pub fn open_with<S: Suite>(card: &mut impl Transport, number: &str) -> SecureMessaging<S> {
    let (s, sm) = mutual_auth::<S>(card, number, 99);
    assert_eq!(s, OK);
    let sm = sm.expect("card MAC ok");
    assert_eq!(verify(card, &sm, number), OK);
    sm
}

/// Authenticates with the card number the card was issued with.
pub fn open<S: Suite>(card: &mut SimCard) -> SecureMessaging<S> {
    let number = card.issued().card_number().to_owned();
    open_with(card, &number)
}

/// INS bytes worth hitting often: the spec's five commands, and two that are not.
const INTERESTING_INS: [u8; 7] = [0xA4, 0x20, 0x84, 0x82, 0xB0, 0x00, 0xFF];

/// A random APDU: lengths from empty to beyond extended, often a plain or SM CLA with
/// an interesting INS, often a plausible short Lc. With `vary_sfi`, READ BINARY often
/// addresses one of SFIs 0–7 of the current DF.
pub fn random_apdu(rng: &mut Drbg, vary_sfi: bool) -> Vec<u8> {
    let len = match rng.below(4) {
        0 => rng.below(8),
        1 => 4 + rng.below(60),
        2 => 4 + rng.below(300),
        _ => 4 + rng.below(70000),
    };
    let mut apdu = vec![0u8; len];
    rng.fill(&mut apdu);
    if apdu.len() >= 2 && rng.below(2) == 0 {
        apdu[0] = [0x00, 0x08][rng.below(2)];
        apdu[1] = INTERESTING_INS[rng.below(INTERESTING_INS.len())];
    }
    if vary_sfi && apdu.len() >= 4 && apdu[1] == 0xB0 && rng.below(2) == 0 {
        apdu[2] = 0x80 | (rng.below(8) as u8);
    }
    if apdu.len() > 4 && rng.below(3) == 0 {
        // A plausible length field.
        let body = apdu.len() - 5;
        apdu[4] = body.min(255) as u8;
    }
    apdu
}

/// The answer carries a status word, and it is one of SPEC15 Table 4-5.
pub fn assert_spec_status(raw: &[u8]) {
    assert!(raw.len() >= 2);
    let sw = [raw[raw.len() - 2], raw[raw.len() - 1]];
    assert!(zairyu::apdu::StatusWord::SPEC_TABLE.contains(&sw), "{sw:02X?}");
}
