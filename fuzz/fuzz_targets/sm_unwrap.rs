//! Secure-messaging unwrap for both suites (SPEC15 §4.2.5): never panics, and
//! whatever unwraps survives a wrap/unwrap round trip unchanged. (The wire bytes
//! may differ: a non-minimal length form such as `86 81 21` is accepted on input
//! and written back in the shortest form.)
#![no_main]
use libfuzzer_sys::fuzz_target;
use zairyu::crypto::{Aes128Suite, Key16, Suite, TdesSuite};
use zairyu::sm::SecureMessaging;

fn check<S: Suite>(data: &[u8]) {
    let sm = SecureMessaging::<S>::new(Key16::from_bytes([0x42; 16]));
    if let Ok(p) = sm.unwrap_read(data) {
        let wrapped = sm.encrypt_object(&p).unwrap();
        assert!(wrapped.len() <= data.len());
        assert_eq!(&sm.unwrap_read(&wrapped).unwrap()[..], &p[..]);
    }
}

fuzz_target!(|data: &[u8]| {
    check::<TdesSuite>(data);
    check::<Aes128Suite>(data);
});
