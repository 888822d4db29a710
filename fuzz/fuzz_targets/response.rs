//! Response and command APDU parsing (SPEC15 §4.1).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = zairyu::apdu::Response::parse(data) {
        assert_eq!(r.encode(), data);
    }
    if let Some(c) = zairyu::apdu::ParsedCommand::parse(data) {
        assert!(c.data.len() + 4 <= data.len());
    }
    let _ = zairyu::files::CardType::parse(data);
    let _ = zairyu::files::CommonData::parse(data);
});
