//! The verifier's own view of the signed files (exact layouts, honest absence, BER
//! certificates): fuzzed bytes in each file of both generations never panic, and
//! never verify (no fuzzer finds the test signer's key).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zairyu::files::CardType;
use zairyu::verify::{Gen1SignedFiles, Gen2SignedFiles, SignatureStatus, verify_first_generation, verify_second_generation};

fuzz_target!(|data: &[u8]| {
    // Three files cut from the input at two positions named by its first bytes.
    let Some((&[a, b], rest)) = data.split_first_chunk::<2>().map(|(h, r)| (h, r)) else { return };
    let (a, b) = (usize::from(a) * rest.len() / 256, usize::from(b) * rest.len() / 256);
    let (x, y) = (a.min(b), a.max(b));
    let (f1, f2, f3) = (&rest[..x], &rest[x..y], &rest[y..]);
    let trust = zairyu_sim::test_trust_store();
    let v = verify_first_generation(&Gen1SignedFiles { front: f1, face: f2, signature: f3 }, &trust, 1_796_083_200);
    assert_ne!(v.signature, SignatureStatus::Valid);
    for card_type in [CardType::Gen2ResidenceCard, CardType::Gen2SpecialPermanentResident] {
        let files = Gen2SignedFiles { card_type, printed: f1, images: f2, signature: f3 };
        let v = verify_second_generation(&files, &trust, 1_796_083_200);
        assert_ne!(v.signature, SignatureStatus::Valid);
    }
});
