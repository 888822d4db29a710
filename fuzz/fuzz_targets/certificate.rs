//! Lenient certificate parsing of the `DB`/`DD` value (first-generation notes §6).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = zairyu::verify::CardCertificate::parse("fuzz", data) {
        assert!(c.der().len() <= data.len());
        let _ = c.subject();
    }
});
