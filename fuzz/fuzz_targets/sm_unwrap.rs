//! Secure-messaging unwrap for both suites (SPEC15 §4.2.5): never panics, and
//! anything that unwraps re-wraps to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zairyu::crypto::{Aes128Suite, Key16, TdesSuite};
use zairyu::sm::SecureMessaging;

fuzz_target!(|data: &[u8]| {
    let key = Key16::from_bytes([0x42; 16]);
    let tdes = SecureMessaging::<TdesSuite>::new(key.clone());
    if let Ok(p) = tdes.unwrap_read(data) {
        assert_eq!(tdes.encrypt_object(&p).unwrap(), data);
    }
    let aes = SecureMessaging::<Aes128Suite>::new(key);
    if let Ok(p) = aes.unwrap_read(data) {
        assert_eq!(aes.encrypt_object(&p).unwrap(), data);
    }
});
