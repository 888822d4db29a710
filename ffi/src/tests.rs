//! Rust-side tests of the C API (the C tests are `ffi/tests/test_api.c`).

use std::ffi::{CStr, c_void};
use std::ptr::{null, null_mut};

use zairyu_core::Error;
use zairyu_core::apdu::StatusWord;
use zairyu_core::error::{
    AuthError, InputError, ParseError, ParseProblem, SmError, Step, TransportError, UnsupportedError, VerifyError,
};

use super::*;

#[test]
fn names_table_matches_names_and_numbers_are_unique() {
    let all = zairyu_result::ALL;
    for (i, r) in all.iter().enumerate() {
        assert_eq!(NAMES[i].to_str().unwrap(), r.name());
        // SAFETY: zairyu_result_name returns a static NUL-terminated string.
        let name = unsafe { CStr::from_ptr(zairyu_result_name(*r as u32)) };
        assert_eq!(name.to_str().unwrap(), r.name());
        assert_eq!(zairyu_result::from_u32(*r as u32), Some(*r));
        for s in &all[i + 1..] {
            assert_ne!(*r as u32, *s as u32);
            assert_ne!(r.name(), s.name());
        }
        assert!((*r as u32) < 1000);
    }
    // SAFETY: as above.
    assert_eq!(unsafe { CStr::from_ptr(zairyu_result_name(12345)) }.to_str().unwrap(), "unknown");
}

/// Every core error maps to the code of the same name, in its category block.
#[test]
fn every_core_error_has_its_code() {
    let parse = ParseError { file: "MF/EF01", offset: 0, what: ParseProblem::Truncated };
    let cases: Vec<(Error, u32)> = vec![
        (TransportError::CardRemoved.into(), 200),
        (TransportError::CardReset.into(), 201),
        (TransportError::ReaderUnavailable("x".into()).into(), 202),
        (TransportError::NoSuchReader("x".into()).into(), 203),
        (TransportError::SharingViolation.into(), 204),
        (TransportError::CommandTooLong { len: 1, max: 0 }.into(), 205),
        (TransportError::ExtendedLengthUnsupported.into(), 206),
        (TransportError::Other("x".into()).into(), 207),
        (Error::Card { step: Step::SelectMf, sw: StatusWord::FileNotFound }, 300),
        (Error::WrongCardNumber { step: Step::Verify, flow: zairyu_core::options::Flow::Gen1 }, 400),
        (Error::CardNumberMismatch, 401),
        (
            Error::WrongGeneration {
                card_type: zairyu_core::files::CardType::ResidenceCard,
                flow: zairyu_core::options::Flow::Gen2,
            },
            402,
        ),
        (AuthError::CardMacMismatch.into(), 403),
        (AuthError::RandomMismatch.into(), 404),
        (AuthError::BadLength { step: Step::GetChallenge, got: 1, expected: 8 }.into(), 405),
        (SmError::MissingDataObject.into(), 500),
        (SmError::BadPaddingIndicator.into(), 501),
        (SmError::BlockAlignment.into(), 502),
        (SmError::BadPadding.into(), 503),
        (SmError::TrailingData.into(), 504),
        (parse.into(), 600),
        (VerifyError::UnpinnedProductionRoot { path: "p".into(), fingerprint: "f".into() }.into(), 700),
        (VerifyError::BadAnchorFile { path: "p".into(), reason: "r".into() }.into(), 701),
        (InputError::BadCardNumber { len: 3 }.into(), 104),
        (InputError::BadFile { path: "p".into(), reason: "r".into() }.into(), 105),
        (
            UnsupportedError::CardType {
                card_type: zairyu_core::files::CardType::SpecifiedResidenceCard,
                description: "d",
            }
            .into(),
            800,
        ),
        (UnsupportedError::UnknownCardType("C1".into()).into(), 801),
    ];
    for (e, n) in cases {
        let r = zairyu_result::from_error(&e);
        assert_eq!(r as u32, n, "{e:?}");
        assert_eq!(r.name(), e.code());
    }
}

#[test]
fn version_macros_equal_the_crate_version() {
    // SAFETY: static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(zairyu_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    assert_eq!(v, format!("{ZAIRYU_VERSION_MAJOR}.{ZAIRYU_VERSION_MINOR}.{ZAIRYU_VERSION_PATCH}"));
}

struct Handles {
    trust: *mut zairyu_trust_store,
    card: *mut zairyu_card,
}

impl Drop for Handles {
    fn drop(&mut self) {
        // SAFETY: live handles made below, freed once.
        unsafe {
            zairyu_card_free(self.card);
            zairyu_trust_store_free(self.trust);
        }
    }
}

fn sim(card_type: &CStr, flags: u32) -> Handles {
    let mut h = Handles { trust: null_mut(), card: null_mut() };
    // SAFETY: valid out-pointers and strings.
    unsafe {
        assert_eq!(zairyu_trust_store_new(&mut h.trust), zairyu_result::Ok);
        assert_eq!(zairyu_trust_store_add_simulator_test_anchors(h.trust), zairyu_result::Ok);
        assert_eq!(zairyu_card_open_simulator(card_type.as_ptr(), null(), flags, &mut h.card), zairyu_result::Ok);
    }
    h
}

fn json_of(r: *const zairyu_read_result) -> serde_json::Value {
    let mut len = 0usize;
    // SAFETY: valid result, size query with a NULL buffer of length 0.
    assert_eq!(unsafe { zairyu_read_result_json(r, 0, null_mut(), 0, &mut len) }, zairyu_result::BufferTooSmall);
    let mut buf = vec![0u8; len];
    let mut got = 0usize;
    // SAFETY: buffer of `len` bytes.
    assert_eq!(unsafe { zairyu_read_result_json(r, 0, buf.as_mut_ptr().cast(), len, &mut got) }, zairyu_result::Ok);
    assert_eq!(got + 1, len);
    assert_eq!(buf[got], 0);
    serde_json::from_slice(&buf[..got]).unwrap()
}

#[test]
fn reads_every_simulated_type() {
    for (t, gen_) in [(c"1", 1u8), (c"2", 1), (c"05", 2), (c"06", 2)] {
        let h = sim(t, 0);
        let mut r = null_mut();
        // SAFETY: live handles, valid strings and out-pointers.
        unsafe {
            assert_eq!(
                zairyu_card_read(h.card, h.trust, c"AB12345678CD".as_ptr(), 0, &mut r),
                zairyu_result::Ok,
                "type {t:?}"
            );
            let mut g = 0u8;
            assert_eq!(zairyu_read_result_generation(r, &mut g), zairyu_result::Ok);
            assert_eq!(g, gen_);
            let mut s = zairyu_signature_status::Invalid;
            assert_eq!(zairyu_read_result_signature(r, &mut s), zairyu_result::Ok);
            assert_eq!(s, zairyu_signature_status::Valid);
            let mut p = zairyu_anchor_profile::None;
            assert_eq!(zairyu_read_result_anchor_profile(r, &mut p), zairyu_result::Ok);
            assert_eq!(p, zairyu_anchor_profile::Test);
        }
        let j = json_of(r);
        assert_eq!(j["card_number"], "AB********CD");
        assert_eq!(j["verification"]["signature"], "valid");
        // SAFETY: live result, freed once.
        unsafe { zairyu_read_result_free(r) };
    }
}

#[test]
fn wrong_number_fails_without_writing_out_and_keeps_detail() {
    let h = sim(c"1", 0);
    let sentinel = std::ptr::dangling_mut::<zairyu_read_result>();
    let mut r = sentinel;
    // SAFETY: live handles, valid strings and out-pointers.
    let rc = unsafe { zairyu_card_read(h.card, h.trust, c"AB12345678CE".as_ptr(), 0, &mut r) };
    assert_eq!(rc, zairyu_result::WrongCardNumber);
    assert_eq!(r, sentinel, "out written on failure");
    let mut buf = [0u8; 256];
    let mut len = 0;
    // SAFETY: buffer of 256 bytes.
    assert_eq!(unsafe { zairyu_last_error_message(buf.as_mut_ptr().cast(), buf.len(), &mut len) }, zairyu_result::Ok);
    let msg = std::str::from_utf8(&buf[..len]).unwrap();
    assert!(msg.starts_with("wrong_card_number: "), "{msg}");
    assert!(!msg.contains("12345678"), "{msg}");
}

unsafe extern "C" fn forward(
    userdata: *mut c_void,
    cmd: *const u8,
    cmd_len: usize,
    resp: *mut u8,
    resp_cap: usize,
    resp_len: *mut usize,
) -> u32 {
    // SAFETY: userdata is the inner card pointer given at open; the rest is forwarded.
    unsafe { zairyu_card_transmit(userdata.cast(), cmd, cmd_len, resp, resp_cap, resp_len) as u32 }
}

unsafe extern "C" fn into_own_card(
    userdata: *mut c_void,
    cmd: *const u8,
    cmd_len: usize,
    resp: *mut u8,
    resp_cap: usize,
    resp_len: *mut usize,
) -> u32 {
    // SAFETY: userdata points at the outer card's pointer, set before the read.
    unsafe {
        let own = *(userdata as *const *mut zairyu_card);
        zairyu_card_transmit(own, cmd, cmd_len, resp, resp_cap, resp_len) as u32
    }
}

#[test]
fn callback_transport_forwards_and_detects_reentry() {
    let inner = sim(c"05", 0);
    let mut outer = null_mut();
    let mut r = null_mut();
    // SAFETY: valid callback, userdata outlives the outer card, valid out-pointers.
    unsafe {
        assert_eq!(
            zairyu_card_open_callback(Some(forward), inner.card.cast(), ZAIRYU_TRANSPORT_EXTENDED_LENGTH, &mut outer),
            zairyu_result::Ok
        );
        assert_eq!(zairyu_card_read(outer, inner.trust, c"AB12345678CD".as_ptr(), 0, &mut r), zairyu_result::Ok);
        zairyu_read_result_free(r);
        zairyu_card_free(outer);

        let mut own: *mut zairyu_card = null_mut();
        let ud = (&raw mut own).cast::<c_void>();
        assert_eq!(zairyu_card_open_callback(Some(into_own_card), ud, 0, &mut own), zairyu_result::Ok);
        let mut r = null_mut();
        let rc = zairyu_card_read(own, inner.trust, c"AB12345678CD".as_ptr(), 0, &mut r);
        // The callback got HANDLE_BUSY (107), which is not a 2xx transport code.
        assert_eq!(rc, zairyu_result::TransportOther);
        zairyu_card_free(own);
    }
}

#[test]
fn short_apdus_and_text_only() {
    let h = sim(c"1", ZAIRYU_SIM_SHORT_APDUS_ONLY);
    let mut r = null_mut();
    // SAFETY: live handles and valid out-pointers.
    unsafe {
        let rc = zairyu_card_read(h.card, h.trust, c"AB12345678CD".as_ptr(), 1, &mut r);
        assert_eq!(rc, zairyu_result::Ok);
        let mut s = zairyu_signature_status::Valid;
        assert_eq!(zairyu_read_result_signature(r, &mut s), zairyu_result::Ok);
        assert_eq!(s, zairyu_signature_status::NotChecked);
        let mut len = 0;
        let rc = zairyu_read_result_image(r, zairyu_image_kind::Face as u32, null_mut(), 0, &mut len);
        assert_eq!(rc, zairyu_result::NotPresent);
        zairyu_read_result_free(r);
    }
}

/// The header promises that trust stores, read results and reader lists may be used
/// from several threads at once.
#[test]
fn shared_handles_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<zairyu_trust_store>();
    shared::<zairyu_read_result>();
    shared::<zairyu_reader_list>();
}
