//! BER-TLV parsing (SPEC15 §3.2.3.1): never panics; every object lies inside the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(objs) = zairyu::tlv::parse_all("fuzz", data) {
        let mut re = Vec::new();
        for t in &objs {
            assert!(t.offset < data.len());
            zairyu::tlv::encode(t.tag, t.value, &mut re);
        }
        // Re-encoding in the shortest length form never grows the data.
        assert!(re.len() <= data.len());
    }
});
