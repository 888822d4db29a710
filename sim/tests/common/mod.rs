//! Shared by the simulator's integration tests: random command APDUs and the check
//! that every answer is a status word of SPEC15 Table 4-5.

use zairyu_sim::Drbg;

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
