//! Every elementary-file parser of the data model (SPEC15 §3.3.4).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zairyu::files;

fuzz_target!(|data: &[u8]| {
    let _ = files::AddressRecord::parse(data);
    let _ = files::parse_permission("fuzz", data, 0xD5);
    let _ = files::RenewalStatus::parse(data);
    let _ = files::SignatureFile::parse(data);
    let _ = files::parse_front_image(data);
    let _ = files::parse_face_image(data);
});
