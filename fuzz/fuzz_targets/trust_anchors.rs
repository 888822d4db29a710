//! The trust-anchor loader's PEM/DER splitter and anchor decoding, and the
//! user-supplied code-table parser: inputs a clerk's machine reads from disk.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zairyu::files::gen2::CodeTable;
use zairyu::verify::{TrustStore, is_pinned_production_root, split_certificates};

fuzz_target!(|data: &[u8]| {
    if let Ok(ders) = split_certificates(data) {
        for der in ders {
            let mut test = TrustStore::new();
            if test.add_test_anchor_der(&der, "fuzz").is_ok() {
                // Only pinned Ministry roots may ever become production anchors.
                let fp = *test.anchors()[0].fingerprint();
                let mut production = TrustStore::new();
                assert!(production.add_production_der(&der, "fuzz").is_err() || is_pinned_production_root(&fp));
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(t) = CodeTable::parse(text) {
            assert!(t.len() <= text.lines().count());
        }
    }
});
