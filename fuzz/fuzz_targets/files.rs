//! Every elementary-file parser of the data model, both generations
//! (SPEC15 §3.3.4; GEN2 §3.3.4).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zairyu::files::{self, gen2};

fuzz_target!(|data: &[u8]| {
    let _ = files::AddressRecord::parse(data);
    let _ = files::parse_permission("fuzz", data, 0xD5);
    let _ = files::RenewalStatus::parse(data);
    let _ = files::SignatureFile::parse(data);
    if let Ok(i) = files::parse_front_image(data) {
        assert!(i.bytes().len() <= i.value.len());
    }
    let _ = files::parse_face_image(data);
    let _ = gen2::parse_card_number(data);
    let _ = gen2::PrintedEntries::parse(data, None);
    if let Ok((name, face)) = gen2::parse_name_and_face(data) {
        assert!(name.bytes().len() <= name.value.len() && face.bytes().len() <= face.value.len());
    }
    let _ = gen2::parse_address_image(data);
    let _ = gen2::BackEntries::default().add_file("fuzz", data);
    let _ = gen2::SignatureFile2::parse(data);
    let _ = files::tiff_extent(data);
    let _ = files::jp2_extent(data);
});
