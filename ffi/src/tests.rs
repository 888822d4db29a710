//! Rust-side tests of the C API (the C tests are `ffi/tests/test_api.c`).

use std::ffi::{CStr, c_void};
use std::ptr::{null, null_mut};

use zairyu_core::error::ErrorCode;
use zairyu_core::verify::Verdict;

use super::*;
use crate::util::CEnum;

fn c_str(p: *const std::ffi::c_char) -> &'static str {
    // SAFETY: the name functions return static NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

#[test]
fn every_result_code_has_a_distinct_number_and_name() {
    let all = zairyu_result::ALL;
    for (i, r) in all.iter().enumerate() {
        assert_ne!(r.name(), "unknown", "{r:?} has no name");
        assert_eq!(c_str(zairyu_result_name(r.number())), r.name());
        assert_eq!(zairyu_result::from_number(r.number()), Some(*r));
        assert!(r.number() < 1200);
        for s in &all[i + 1..] {
            assert_ne!(r.number(), s.number());
            assert_ne!(r.name(), s.name());
        }
    }
    assert_eq!(c_str(zairyu_result_name(12345)), "unknown");
    assert_eq!(c_str(zairyu_result_name(950)), "unknown");
    assert_eq!(c_str(zairyu_result_name(1010)), "unknown");
    assert_eq!(c_str(zairyu_result_name(1106)), "unknown");
    assert_eq!(c_str(zairyu_result_name(1100)), "image_malformed");
}

/// The category block a core error code belongs in, by its name.
fn block(code: ErrorCode) -> u32 {
    match code.as_str() {
        s if s.starts_with("input_") => 1,
        s if s.starts_with("transport_") => 2,
        "card_status" => 3,
        s if s.starts_with("auth_") || s.contains("card_number") || s == "wrong_generation" => 4,
        s if s.starts_with("sm_") => 5,
        "parse" => 6,
        s if s.starts_with("verify_") => 7,
        s if s.ends_with("card_type") => 8,
        other => panic!("no block for the new core code {other}: add one here and in the header's table"),
    }
}

/// Every core error code has its own result code, of the same name, in its
/// category block; `zairyu_error_code_count`/`_at` list exactly these.
#[test]
fn every_core_error_code_has_its_result_code() {
    assert_eq!(zairyu_error_code_count(), ErrorCode::ALL.len());
    let mut seen = Vec::new();
    for (i, code) in ErrorCode::ALL.iter().enumerate() {
        let r = zairyu_result::from_code(*code);
        assert_eq!(r.name(), code.as_str());
        assert_eq!(c_str(zairyu_result_name(r.number())), code.as_str());
        assert_eq!(r.error_code(), Some(*code));
        assert_eq!(r.number() / 100, block(*code), "{code}");
        assert!(!seen.contains(&r), "{code} shares {r:?}");
        seen.push(r);
        let mut at = zairyu_result::Ok;
        // SAFETY: a valid out-pointer.
        assert_eq!(unsafe { zairyu_error_code_at(i, &mut at) }, zairyu_result::Ok);
        assert_eq!(at, r);
    }
    let mut at = zairyu_result::Ok;
    // SAFETY: a valid out-pointer; NULL is refused.
    unsafe {
        assert_eq!(zairyu_error_code_at(ErrorCode::ALL.len(), &mut at), zairyu_result::InvalidArgument);
        assert_eq!(zairyu_error_code_at(0, null_mut()), zairyu_result::NullPointer);
    }
    assert_eq!(at, zairyu_result::Ok, "out written on failure");
    // The C-only codes mirror no core error; unknown_error is not reached by any.
    for r in zairyu_result::ALL {
        assert_eq!(r.error_code().is_some(), seen.contains(r), "{r:?}");
    }
    assert!(!seen.contains(&zairyu_result::UnknownError));
}

/// The values of an enum in the checked-in header: `(CONSTANT, number)` pairs.
fn header_enum(name: &str) -> Vec<(String, u32)> {
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../include/zairyu.h")).unwrap();
    let start = header.find(&format!("\nenum {name}\n")).unwrap_or_else(|| panic!("enum {name} not in the header"));
    let body = &header[start..];
    let body = &body[..body.find("};").unwrap()];
    body.lines()
        .filter_map(|l| l.trim().strip_suffix(',')?.split_once(" = "))
        .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
        .collect()
}

/// `NotChecked` -> `NOT_CHECKED` (cbindgen's ScreamingSnakeCase for these names).
fn screaming(variant: &str) -> String {
    let mut out = String::new();
    for (i, c) in variant.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn values_of<E: CEnum + std::fmt::Debug>(prefix: &str) -> Vec<(String, u32)> {
    E::ALL.iter().map(|v| (format!("{prefix}{}", screaming(&format!("{v:?}"))), v.number())).collect()
}

/// The `uint32_t` enums decode exactly the values the header declares, and a
/// result code's name is its constant without the prefix, in lower case.
#[test]
fn decoders_match_the_header() {
    assert_eq!(header_enum("zairyu_result"), values_of::<zairyu_result>("ZAIRYU_RESULT_"));
    assert_eq!(header_enum("zairyu_read_policy"), values_of::<zairyu_read_policy>("ZAIRYU_READ_POLICY_"));
    assert_eq!(header_enum("zairyu_field"), values_of::<zairyu_field>("ZAIRYU_FIELD_"));
    assert_eq!(header_enum("zairyu_image_kind"), values_of::<zairyu_image_kind>("ZAIRYU_IMAGE_KIND_"));
    assert_eq!(header_enum("zairyu_export_format"), values_of::<zairyu_export_format>("ZAIRYU_EXPORT_FORMAT_"));
    let proofs =
        [zairyu_evidence_proof::Nothing, zairyu_evidence_proof::ChipSignedFieldsOnly, zairyu_evidence_proof::WholeFile];
    let proofs: Vec<(String, u32)> =
        proofs.iter().map(|p| (format!("ZAIRYU_EVIDENCE_PROOF_{}", screaming(&format!("{p:?}"))), *p as u32)).collect();
    assert_eq!(header_enum("zairyu_evidence_proof"), proofs);
    for (constant, n) in header_enum("zairyu_result") {
        let name = constant.strip_prefix("ZAIRYU_RESULT_").unwrap().to_ascii_lowercase();
        assert_eq!(c_str(zairyu_result_name(n)), name);
    }
    let verdicts = header_enum("zairyu_verdict");
    assert_eq!(verdicts.len(), 6);
    for v in
        [Verdict::Production, Verdict::Test, Verdict::Untrusted, Verdict::Invalid, Verdict::Absent, Verdict::NotChecked]
    {
        let c = zairyu_verdict::from_core(v).unwrap();
        let constant = format!("ZAIRYU_VERDICT_{}", v.as_str().to_ascii_uppercase());
        assert!(verdicts.contains(&(constant, c as u32)), "{v:?}");
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

/// Reads the simulated card of `card_type` (number AB12345678CD) under `policy`.
fn read(card_type: &CStr, flags: u32, policy: u32) -> *mut zairyu_read_result {
    let h = sim(card_type, flags);
    let mut r = null_mut();
    // SAFETY: live handles, valid strings and out-pointers.
    let rc = unsafe { zairyu_card_read(h.card, h.trust, c"AB12345678CD".as_ptr(), policy, &mut r) };
    assert_eq!(rc, zairyu_result::Ok, "type {card_type:?}");
    r
}

/// A getter's value (asserting success).
fn get<T>(
    r: *const zairyu_read_result,
    init: T,
    f: unsafe extern "C" fn(*const zairyu_read_result, *mut T) -> zairyu_result,
) -> T {
    let mut v = init;
    // SAFETY: a live result and a valid out-pointer.
    assert_eq!(unsafe { f(r, &mut v) }, zairyu_result::Ok);
    v
}

#[test]
fn reads_every_simulated_type() {
    for (t, gen_) in [(c"1", 1u8), (c"2", 1), (c"05", 2), (c"06", 2), (c"5", 2), (c"6", 2)] {
        let r = read(t, 0, zairyu_read_policy::Full as u32);
        assert_eq!(get(r, 0, zairyu_read_result_generation), gen_);
        assert_eq!(
            get(r, zairyu_signature_status::Invalid, zairyu_read_result_signature),
            zairyu_signature_status::Valid
        );
        assert_eq!(get(r, zairyu_anchor_profile::None, zairyu_read_result_anchor_profile), zairyu_anchor_profile::Test);
        assert_eq!(get(r, zairyu_verdict::Production, zairyu_read_result_verdict), zairyu_verdict::Test);
        assert!(!get(r, true, zairyu_read_result_is_production_valid));
        let j = json_of(r);
        assert_eq!(j["card_number"], "AB********CD");
        assert_eq!(j["verification"]["signature"], "valid");
        assert_eq!(j["verdict"], "test");
        // SAFETY: live result, freed once.
        unsafe { zairyu_read_result_free(r) };
    }
}

/// The verdict getter agrees with the report's `verdict` for each outcome the
/// simulator can give (production needs a Ministry root: see `decoders_match_the_header`).
#[test]
fn verdict_of_each_outcome() {
    let cases = [
        (c"1", ZAIRYU_SIM_TAMPERED, zairyu_read_policy::Full, zairyu_verdict::Invalid, "invalid"),
        (c"1", ZAIRYU_SIM_UNDER_16, zairyu_read_policy::Full, zairyu_verdict::Absent, "absent"),
        (c"05", 0, zairyu_read_policy::TextOnly, zairyu_verdict::NotChecked, "not_checked"),
        (c"06", 0, zairyu_read_policy::Full, zairyu_verdict::Test, "test"),
    ];
    for (t, flags, policy, want, name) in cases {
        let r = read(t, flags, policy as u32);
        let v = get(r, zairyu_verdict::Production, zairyu_read_result_verdict);
        assert_eq!(v, want, "{t:?} {flags}");
        assert_eq!(json_of(r)["verdict"], name);
        // SAFETY: live result, freed once.
        unsafe { zairyu_read_result_free(r) };
    }
    // No anchors: a valid signature that chains to nothing.
    let mut h = sim(c"2", 0);
    let mut empty = null_mut();
    let mut r = null_mut();
    // SAFETY: valid out-pointers, live handles.
    unsafe {
        assert_eq!(zairyu_trust_store_new(&mut empty), zairyu_result::Ok);
        zairyu_trust_store_free(std::mem::replace(&mut h.trust, empty));
        assert_eq!(zairyu_card_read(h.card, h.trust, c"AB12345678CD".as_ptr(), 0, &mut r), zairyu_result::Ok);
    }
    assert_eq!(get(r, zairyu_verdict::Production, zairyu_read_result_verdict), zairyu_verdict::Untrusted);
    assert_eq!(json_of(r)["verdict"], "untrusted");
    // SAFETY: live result, freed once.
    unsafe { zairyu_read_result_free(r) };
    assert_eq!(zairyu_verdict::from_core(Verdict::Production).unwrap(), zairyu_verdict::Production);
}

/// Warnings in the JSON report are `{code, message}` objects.
#[test]
fn json_warnings_are_coded() {
    let r = read(c"1", ZAIRYU_SIM_SHORT_APDUS_ONLY, 0);
    let j = json_of(r);
    let w = j["warnings"].as_array().unwrap();
    assert!(w.iter().any(|w| w["code"] == "short_apdu_fallback" && w["message"].is_string()), "{w:?}");
    // SAFETY: live result, freed once.
    unsafe { zairyu_read_result_free(r) };
}

/// Card types through the core's parser; bad ones stay INVALID_ARGUMENT (as in 0.1.0).
#[test]
fn simulator_card_types_and_read_policies() {
    for bad in [c"3", c"07", c"", c"005", c" 1"] {
        let mut card = null_mut();
        // SAFETY: valid strings and out-pointer.
        let rc = unsafe { zairyu_card_open_simulator(bad.as_ptr(), null(), 0, &mut card) };
        assert_eq!(rc, zairyu_result::InvalidArgument, "{bad:?}");
        assert!(card.is_null());
    }
    let h = sim(c"1", 0);
    let mut r = null_mut();
    // SAFETY: live handles, valid strings and out-pointers.
    let rc = unsafe { zairyu_card_read(h.card, h.trust, c"AB12345678CD".as_ptr(), 2, &mut r) };
    assert_eq!(rc, zairyu_result::InvalidArgument);
    assert!(r.is_null());
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

/// A transmit callback that forwards to the card `*userdata` points at.
unsafe extern "C" fn to_card(u: *mut c_void, c: *const u8, n: usize, r: *mut u8, cap: usize, l: *mut usize) -> u32 {
    // SAFETY: userdata points at a card pointer that outlives the outer card; the rest is forwarded.
    unsafe { zairyu_card_transmit(*u.cast::<*mut zairyu_card>(), c, n, r, cap, l) as u32 }
}

#[test]
fn callback_transport_forwards_and_detects_reentry() {
    let inner = sim(c"05", 0);
    let mut target = inner.card;
    let mut outer = null_mut();
    let mut r = null_mut();
    // SAFETY: valid callback, userdata outlives the outer card, valid out-pointers.
    unsafe {
        let ud = (&raw mut target).cast::<c_void>();
        assert_eq!(
            zairyu_card_open_callback(Some(to_card), ud, ZAIRYU_TRANSPORT_EXTENDED_LENGTH, &mut outer),
            zairyu_result::Ok
        );
        assert_eq!(zairyu_card_read(outer, inner.trust, c"AB12345678CD".as_ptr(), 0, &mut r), zairyu_result::Ok);
        zairyu_read_result_free(r);
        zairyu_card_free(outer);

        // A callback into its own card.
        let mut own: *mut zairyu_card = null_mut();
        let ud = (&raw mut own).cast::<c_void>();
        assert_eq!(zairyu_card_open_callback(Some(to_card), ud, 0, &mut own), zairyu_result::Ok);
        let mut r = null_mut();
        let rc = zairyu_card_read(own, inner.trust, c"AB12345678CD".as_ptr(), 0, &mut r);
        // The callback got HANDLE_BUSY (107), which is not a 2xx transport code.
        assert_eq!(rc, zairyu_result::TransportOther);
        zairyu_card_free(own);
    }
}

#[test]
fn short_apdus_and_text_only() {
    let r = read(c"1", ZAIRYU_SIM_SHORT_APDUS_ONLY, zairyu_read_policy::TextOnly as u32);
    assert_eq!(
        get(r, zairyu_signature_status::Valid, zairyu_read_result_signature),
        zairyu_signature_status::NotChecked
    );
    let mut len = 0;
    // SAFETY: a live result and valid out-pointers.
    unsafe {
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
    shared::<zairyu_evidence_verdict>();
}

/// The NUL rule: text output never holds a NUL byte of its own; such a value is
/// refused before the buffer size is looked at, and nothing is written.
#[test]
fn text_with_a_nul_is_refused_and_given_as_bytes() {
    let mut buf = [b'X'; 64];
    let mut len = 777usize;
    // SAFETY: a buffer of 64 bytes and a valid length pointer.
    let rc = unsafe { util::copy_out(b"ab\0cd", true, buf.as_mut_ptr(), buf.len(), &mut len) };
    assert_eq!(rc.unwrap_err().code, zairyu_result::TextContainsNul);
    assert_eq!((len, buf[0]), (777, b'X'));
    // SAFETY: as above.
    unsafe { util::copy_out(b"ab\0cd", false, buf.as_mut_ptr(), buf.len(), &mut len) }.unwrap();
    assert_eq!(&buf[..len], b"ab\0cd");

    let r = read(c"05", ZAIRYU_SIM_HOSTILE_TEXT, 0);
    let f = zairyu_field::NoteText as u32;
    // SAFETY: a live result, valid buffers.
    unsafe {
        let rc = zairyu_read_result_field(r, f, buf.as_mut_ptr().cast(), buf.len(), &mut len);
        assert_eq!(rc, zairyu_result::TextContainsNul);
        let mut raw = vec![0u8; 256];
        assert_eq!(zairyu_read_result_field_raw(r, f, raw.as_mut_ptr(), raw.len(), &mut len), zairyu_result::Ok);
        raw.truncate(len);
        let text = String::from_utf8(raw).unwrap();
        assert!(text.contains('\0') && text.contains('\u{202E}') && text.starts_with("東京都"));
        zairyu_read_result_free(r);
    }
}

/// `zairyu_read_result_field_signed` is the report's `signed_fields`, name by name.
#[test]
fn field_signed_follows_the_report() {
    for (t, flags) in [(c"1", 0), (c"06", 0), (c"05", ZAIRYU_SIM_TAMPERED)] {
        let r = read(t, flags, 0);
        let j = json_of(r);
        let listed = |key: &str| -> Vec<String> {
            j["verification"][key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
        };
        for (key, want) in [("signed_fields", true), ("unsigned_fields", false)] {
            for name in listed(key) {
                let c = std::ffi::CString::new(name.clone()).unwrap();
                let mut v = !want;
                // SAFETY: a live result, a valid string and out-pointer.
                assert_eq!(unsafe { zairyu_read_result_field_signed(r, c.as_ptr(), &mut v) }, zairyu_result::Ok);
                assert_eq!(v, want, "{t:?} {name}");
            }
        }
        assert_eq!(listed("signed_fields").is_empty(), flags == ZAIRYU_SIM_TAMPERED);
        let mut v = false;
        // SAFETY: as above.
        unsafe {
            assert_eq!(zairyu_read_result_field_signed(r, c"bogus".as_ptr(), &mut v), zairyu_result::InvalidArgument);
            zairyu_read_result_free(r);
        }
    }
}

/// Every stable code a write can end with (the core's relay and counter, the
/// authority's state machine, the in-process authority's policy and renderer) has
/// the result code of its class; the access read's and the transport's keep theirs.
#[test]
fn every_write_code_maps_to_its_class() {
    use crate::write::write_result;
    use zairyu_result as R;
    let table: &[(&str, zairyu_result)] = &[
        ("policy_unknown_counter", R::PolicyRefused),
        ("policy_municipality_not_allowed", R::PolicyRefused),
        ("record_invalid", R::RecordInvalid),
        ("font_not_found", R::AddressImageFailed),
        ("font_unreadable", R::AddressImageFailed),
        ("glyph_missing", R::AddressImageFailed),
        ("address_image_too_large", R::AddressImageFailed),
        ("render_settings_invalid", R::AddressImageFailed),
        ("card_refused", R::WriteCardRefused),
        ("write_card_status", R::WriteNotSupported),
        ("write_chip_auth_info_unreadable", R::WriteNotSupported),
        ("write_unsupported_card", R::WriteNotSupported),
        ("read_back_mismatch", R::ReadbackMismatch),
        ("readback_mismatch", R::ReadbackMismatch),
        ("authority_unavailable", R::AuthorityUnavailable),
        ("authority_protocol", R::AuthorityUnavailable),
        ("chip_auth_info_invalid", R::AuthorityRefused),
        ("terminal_chain_invalid", R::AuthorityRefused),
        ("clock_out_of_range", R::AuthorityRefused),
        ("link_too_small", R::AuthorityRefused),
        ("response_count", R::WriteCardRefused),
        ("authentication_failed", R::WriteCardRefused),
        ("secure_messaging_failed", R::WriteCardRefused),
        ("signer_failed", R::AuthorityRefused),
        ("signer_key_mismatch", R::AuthorityRefused),
        ("session_over", R::AuthorityRefused),
        ("session_abandoned", R::AuthorityRefused),
    ];
    for (code, want) in table {
        let remote = LinkError::RemoteRefused { code: (*code).to_owned(), message: String::new() };
        assert_eq!(write_result(&WriteError::Relay(RelayError::Link(remote))), *want, "{code}");
    }

    use zairyu_core::error::TransportError;
    use zairyu_core::write::authority::AuthorityError;
    use zairyu_core::write::counter::WriteError;
    use zairyu_core::write::record::RecordError;
    use zairyu_core::write::relay::{LinkError, RelayError};
    let cases: Vec<(WriteError, zairyu_result)> = vec![
        (WriteError::Access(zairyu_core::Error::CardNumberMismatch), R::CardNumberMismatch),
        (WriteError::Relay(RelayError::Transport(TransportError::CardRemoved)), R::TransportCardRemoved),
        (WriteError::Relay(RelayError::CardStatus { step: "SELECT", sw: 0x6A82 }), R::WriteNotSupported),
        (WriteError::Relay(RelayError::ChipAuthInfo("x")), R::WriteNotSupported),
        (WriteError::Relay(RelayError::Link(LinkError::Refused(RecordError::Date.into()))), R::RecordInvalid),
        (
            WriteError::Relay(RelayError::Link(LinkError::RemoteRefused {
                code: "policy_unknown_counter".into(),
                message: "m".into(),
            })),
            R::PolicyRefused,
        ),
        (WriteError::Relay(RelayError::Link(LinkError::Unavailable("down".into()))), R::AuthorityUnavailable),
        (
            WriteError::Relay(RelayError::Refused(AuthorityError::CardRefused { step: "PSO", sw: Some(0x6982) })),
            R::WriteCardRefused,
        ),
        (WriteError::Relay(RelayError::Refused(AuthorityError::SessionOver)), R::AuthorityRefused),
        (WriteError::Relay(RelayError::TooManyRoundTrips), R::AuthorityUnavailable),
        (WriteError::Relay(RelayError::EmptyBatch), R::AuthorityUnavailable),
        (WriteError::Unsupported("07"), R::WriteNotSupported),
        (WriteError::Reset(TransportError::CardRemoved), R::WriteUnconfirmed),
        (WriteError::Reread(TransportError::CardRemoved.into()), R::WriteUnconfirmed),
        (WriteError::ReadBackMismatch, R::ReadbackMismatch),
    ];
    for (e, want) in cases {
        assert_eq!(crate::write::write_result(&e), want, "{e} ({})", e.code());
    }
}

/// Copies a byte or text output of `f` under the buffer rule: the size query, then
/// the copy into a buffer of exactly that size (text: without its NUL).
fn copied(text: bool, f: impl Fn(*mut u8, usize, *mut usize) -> zairyu_result) -> Result<Vec<u8>, zairyu_result> {
    let mut len = 0usize;
    match f(null_mut(), 0, &mut len) {
        zairyu_result::BufferTooSmall => {}
        zairyu_result::Ok => return Ok(Vec::new()),
        other => return Err(other),
    }
    let mut buf = vec![0u8; len];
    let mut got = usize::MAX;
    assert_eq!(f(buf.as_mut_ptr(), len, &mut got), zairyu_result::Ok);
    assert_eq!(got + usize::from(text), len);
    if text {
        assert_eq!(buf[got], 0);
    }
    buf.truncate(got);
    Ok(buf)
}

fn png_of(r: *const zairyu_read_result, kind: impl Into<u32>) -> Result<Vec<u8>, zairyu_result> {
    let kind = kind.into();
    // SAFETY: a live result; `copied` passes a valid buffer and length pointer.
    copied(false, |b, n, l| unsafe { zairyu_read_result_image_png(r, kind, b, n, l) })
}

/// (width, height) of a PNG's IHDR.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn images_as_png_equal_the_evidence_crate() {
    use zairyu_image_kind as K;
    for (t, kinds) in [(c"1", &[K::Front, K::Face][..]), (c"05", &[K::Name, K::Face, K::Address][..])] {
        let r = read(t, 0, 0);
        // SAFETY: a live result (read only here).
        let images = unsafe { &(*r).read }.images();
        for &k in kinds {
            let png = png_of(r, k).unwrap();
            let name = crate::read_result::image_name(k as u32).unwrap();
            let (_, image) = images.iter().find(|(n, _)| *n == name).unwrap();
            assert_eq!(png, zairyu_evidence::image_png(image).unwrap(), "{name}");
            let p = zairyu_evidence::image::decode(image).unwrap();
            assert_eq!(png_size(&png), (p.width, p.height));
        }
        // Not on this generation, and an unknown kind.
        let other = if t == c"1" { K::Name } else { K::Front };
        assert_eq!(png_of(r, other), Err(zairyu_result::NotPresent));
        assert_eq!(png_of(r, 9u32), Err(zairyu_result::InvalidArgument));
        // SAFETY: live result, freed once.
        unsafe { zairyu_read_result_free(r) };
    }
    // Under 16: no face; text only: no image at all.
    let r = read(c"1", ZAIRYU_SIM_UNDER_16, 0);
    assert_eq!(png_of(r, K::Face), Err(zairyu_result::NotPresent));
    assert!(png_of(r, K::Front).is_ok());
    // SAFETY: live result, freed once.
    unsafe { zairyu_read_result_free(r) };
    let r = read(c"05", 0, zairyu_read_policy::TextOnly as u32);
    assert_eq!(png_of(r, K::Face), Err(zairyu_result::NotPresent));
    // SAFETY: live result, freed once.
    unsafe { zairyu_read_result_free(r) };
}

/// A read result whose first-generation card-face image is `bytes` (a forged chip's).
impl From<zairyu_image_kind> for u32 {
    fn from(k: zairyu_image_kind) -> u32 {
        k as u32
    }
}

fn with_front_image(bytes: &[u8]) -> *mut zairyu_read_result {
    let r = read(c"1", 0, 0);
    // SAFETY: a live result from Box::into_raw, taken back once.
    let owned = unsafe { Box::from_raw(r) };
    let mut cr = owned.read;
    match &mut cr.data {
        zairyu_core::sequence::CardData::Gen1(d) => {
            d.front_image = Some(zairyu_core::files::Image::from_value(bytes));
        }
        zairyu_core::sequence::CardData::Gen2(_) => unreachable!(),
    }
    Box::into_raw(Box::new(crate::read_result::zairyu_read_result::new(cr)))
}

/// A malformed chip image is a typed result code, never a panic, and breaks nothing
/// else: the other image, the JSON report, the report page and the evidence.
#[test]
fn a_malformed_image_is_a_typed_error_that_breaks_nothing_else() {
    use zairyu_image_kind as K;
    for (bytes, code, detail) in [
        (&b"II*\0\x08\0\0\0\0\0"[..], zairyu_result::ImageMalformed, "image_malformed: malformed: the front image"),
        (&b"GIF89a-not-an-image"[..], zairyu_result::ImageUnknownFormat, "image_unknown_format: unknown_format"),
        (&[0xFF, 0x4F, 0xFF, 0x51, 0][..], zairyu_result::ImageMalformed, "image_malformed: malformed"),
    ] {
        let r = with_front_image(bytes);
        assert_eq!(png_of(r, K::Front), Err(code));
        let mut msg = [0u8; 512];
        let mut n = 0usize;
        // SAFETY: valid buffer and length pointer.
        assert_eq!(unsafe { zairyu_last_error_message(msg.as_mut_ptr().cast(), msg.len(), &mut n) }, zairyu_result::Ok);
        let msg = std::str::from_utf8(&msg[..n]).unwrap();
        assert!(msg.starts_with(detail), "{msg}");
        // Twice: the decoding error is kept, not retried into something else.
        assert_eq!(png_of(r, K::Front), Err(code));
        assert!(png_of(r, K::Face).is_ok());
        assert_eq!(json_of(r)["card_type"], "1");
        // SAFETY: a live result; `copied` passes valid buffers.
        let html = copied(true, |b, n, l| unsafe { zairyu_read_result_report_html(r, b.cast(), n, l) }).unwrap();
        assert!(String::from_utf8(html).unwrap().contains("<!DOCTYPE html>"));
        // SAFETY: as above; NULL options are the defaults.
        let ev = copied(false, |b, n, l| unsafe { zairyu_read_result_evidence_json(r, null(), b, n, l) }).unwrap();
        assert!(ev.ends_with(b"\n"));
        // SAFETY: live result, freed once.
        unsafe { zairyu_read_result_free(r) };
    }
}

fn verify(data: &[u8], trust: *const zairyu_trust_store) -> (bool, *mut zairyu_evidence_verdict) {
    let mut accepted = false;
    let mut v = null_mut();
    // SAFETY: valid buffers, a live trust store and out-pointers.
    let rc = unsafe { zairyu_verify_evidence(data.as_ptr(), data.len(), trust, 0, &mut accepted, &mut v) };
    assert_eq!(rc, zairyu_result::Ok);
    (accepted, v)
}

fn export(vs: &[*const zairyu_evidence_verdict], format: u32, flags: u32) -> Result<String, zairyu_result> {
    // SAFETY: `vs` lives during the call; `copied` passes valid buffers.
    copied(true, |b, n, l| unsafe { zairyu_export_rows(vs.as_ptr(), vs.len(), format, flags, b.cast(), n, l) })
        .map(|v| String::from_utf8(v).unwrap())
}

#[test]
fn evidence_verifies_and_a_changed_byte_is_rejected() {
    let h = sim(c"05", 0);
    let mut r = null_mut();
    // SAFETY: live handles, valid strings and out-pointers.
    assert_eq!(unsafe { zairyu_card_read(h.card, h.trust, c"AB12345678CD".as_ptr(), 0, &mut r) }, zairyu_result::Ok);
    let opts = zairyu_evidence_options {
        station_key_pkcs8: zairyu_sim::GEN1_CARD_SIGNER_KEY_DER.as_ptr(),
        station_key_len: 0,
        card_number: c"AB12345678CD".as_ptr(),
        flags: ZAIRYU_EVIDENCE_CREATED_AT | ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER,
        created_at_unix: 1_760_000_000,
    };
    // SAFETY: a live result, valid options; `copied` passes valid buffers.
    let ev = copied(false, |b, n, l| unsafe { zairyu_read_result_evidence_json(r, &opts, b, n, l) }).unwrap();
    let text = String::from_utf8(ev.clone()).unwrap();
    assert!(
        text.contains("\"created_at\":\"2025-10-09T08:53:20Z\"")
            && text.contains("\"card_number_full\":\"AB12345678CD\"")
    );
    let (accepted, v) = verify(&ev, h.trust);
    assert!(accepted);
    assert!(get_v(v, false, zairyu_evidence_verdict_accepted));
    let mut verdict = zairyu_verdict::Production;
    // SAFETY: a live verdict and a valid out-pointer.
    assert_eq!(unsafe { zairyu_evidence_verdict_verdict(v, &mut verdict) }, zairyu_result::Ok);
    assert_eq!(verdict, zairyu_verdict::Test);
    // SAFETY: a live verdict; `copied` passes valid buffers.
    let j = copied(true, |b, n, l| unsafe { zairyu_evidence_verdict_json(v, 0, b.cast(), n, l) }).unwrap();
    let j: serde_json::Value = serde_json::from_slice(&j).unwrap();
    assert_eq!((j["accepted"].as_bool(), j["verdict"].as_str()), (Some(true), Some("test")));
    assert!(!j.to_string().contains("AB12345678CD"), "the verdict JSON never holds the card number");

    // Export: CSV with its header and one row; the full number only when asked for.
    let csv = export(&[v], zairyu_export_format::Csv as u32, 0).unwrap();
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("schema_version,card_type,"));
    assert!(lines[1].starts_with("1,05,") && lines[1].contains("AB********CD"));
    let full = export(&[v], zairyu_export_format::Csv as u32, ZAIRYU_EXPORT_BOM | ZAIRYU_EXPORT_INCLUDE_CARD_NUMBER);
    let full = full.unwrap();
    assert!(full.starts_with('\u{FEFF}') && full.contains(",AB12345678CD,"));
    let jsonl = export(&[v, v], zairyu_export_format::Jsonl as u32, ZAIRYU_EXPORT_JAPANESE_ERA).unwrap();
    assert_eq!(jsonl.lines().count(), 2);
    let row: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert!(row["birth_date_era"].as_str().unwrap().contains('年'));
    assert_eq!(export(&[], zairyu_export_format::Csv as u32, 0).unwrap().split_terminator("\r\n").count(), 1);
    assert_eq!(export(&[v], 3, 0), Err(zairyu_result::InvalidArgument));
    assert_eq!(export(&[v], 1, 16), Err(zairyu_result::InvalidArgument));
    assert_eq!(
        export(&[v], zairyu_export_format::Jsonl as u32, ZAIRYU_EXPORT_GUARD_FORMULAS),
        Err(zairyu_result::InvalidArgument)
    );
    assert!(export(&[v], zairyu_export_format::Csv as u32, ZAIRYU_EXPORT_GUARD_FORMULAS).is_ok());
    assert_eq!(
        export(&[v], zairyu_export_format::Jsonl as u32, ZAIRYU_EXPORT_BOM),
        Err(zairyu_result::InvalidArgument)
    );
    assert_eq!(export(&[v, null()], 1, 0), Err(zairyu_result::NullPointer));

    // One changed byte (inside a base64 file, and in the verification) is rejected,
    // and a rejected file is not exported.
    for at in [text.find("\"base64\":\"").unwrap() + 20, text.find("\"signature\":\"valid").unwrap() + 14, ev.len() - 1]
    {
        let mut bad = ev.clone();
        bad[at] ^= 0x01;
        let (accepted, w) = verify(&bad, h.trust);
        assert!(!accepted, "byte {at}");
        assert_eq!(export(&[v, w], 1, 0), Err(zairyu_result::EvidenceRejected));
        // SAFETY: live verdict, freed once.
        unsafe { zairyu_evidence_verdict_free(w) };
    }
    // Not evidence at all: judged (rejected), and without a card verdict.
    let (accepted, w) = verify(b"{}", h.trust);
    assert!(!accepted);
    // SAFETY: a live verdict and a valid out-pointer.
    assert_eq!(unsafe { zairyu_evidence_verdict_verdict(w, &mut verdict) }, zairyu_result::NotPresent);
    // SAFETY: live handles, freed once.
    unsafe {
        zairyu_evidence_verdict_free(w);
        zairyu_evidence_verdict_free(v);
        zairyu_read_result_free(r);
    }
}

fn get_v<T>(
    v: *const zairyu_evidence_verdict,
    init: T,
    f: unsafe extern "C" fn(*const zairyu_evidence_verdict, *mut T) -> zairyu_result,
) -> T {
    let mut out = init;
    // SAFETY: a live verdict and a valid out-pointer.
    assert_eq!(unsafe { f(v, &mut out) }, zairyu_result::Ok);
    out
}

#[test]
fn evidence_options_and_null_arguments() {
    let r = read(c"1", 0, 0);
    let mut len = 0usize;
    let mut buf = [0u8; 16];
    let opts = |key: &[u8], number: *const std::ffi::c_char, flags: u32| zairyu_evidence_options {
        station_key_pkcs8: key.as_ptr(),
        station_key_len: key.len(),
        card_number: number,
        flags,
        created_at_unix: 0,
    };
    let evidence = |o: &zairyu_evidence_options| {
        // SAFETY: a live result, valid options; `copied` passes valid buffers.
        copied(false, |b, n, l| unsafe { zairyu_read_result_evidence_json(r, o, b, n, l) })
    };
    let signed = evidence(&opts(zairyu_sim::GEN1_CARD_SIGNER_KEY_DER, null(), 0));
    assert_eq!(signed, Err(zairyu_result::StationKeyInvalid), "an RSA key is not a station key");
    assert_eq!(evidence(&opts(b"not a key", null(), 0)), Err(zairyu_result::StationKeyInvalid));
    assert_eq!(evidence(&opts(&[], null(), 4)), Err(zairyu_result::InvalidArgument));
    assert_eq!(evidence(&opts(&[], null(), ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER)), Err(zairyu_result::InvalidArgument));
    assert_eq!(evidence(&opts(&[], c"AB123".as_ptr(), 0)), Err(zairyu_result::InputBadCardNumber));
    let mut no_key = opts(&[], null(), 0);
    (no_key.station_key_pkcs8, no_key.station_key_len) = (null(), 5);
    assert_eq!(evidence(&no_key), Err(zairyu_result::NullPointer));
    // A P-256 PKCS#8 key signs; verification names it.
    let key = station_key_der();
    let ev = evidence(&opts(&key, c"AB12345678CD".as_ptr(), 0)).unwrap();
    assert!(!String::from_utf8_lossy(&ev).contains("AB12345678CD"));
    let h = sim(c"1", 0);
    let (accepted, v) = verify(&ev, h.trust);
    assert!(accepted);
    // SAFETY: a live verdict; `copied` passes valid buffers.
    let j = copied(true, |b, n, l| unsafe { zairyu_evidence_verdict_json(v, ZAIRYU_JSON_PRETTY, b.cast(), n, l) });
    let j: serde_json::Value = serde_json::from_slice(&j.unwrap()).unwrap();
    assert_eq!(j["station"]["status"], "valid");
    // SAFETY: deliberate NULL and bad arguments; nothing is written.
    unsafe {
        let mut accepted = true;
        let mut out = null_mut();
        let png = zairyu_image_kind::Front as u32;
        assert_eq!(
            zairyu_read_result_image_png(null(), png, buf.as_mut_ptr(), 16, &mut len),
            zairyu_result::NullPointer
        );
        assert_eq!(zairyu_read_result_image_png(r, png, buf.as_mut_ptr(), 16, null_mut()), zairyu_result::NullPointer);
        assert_eq!(zairyu_read_result_image_png(r, png, null_mut(), 16, &mut len), zairyu_result::NullPointer);
        assert_eq!(zairyu_read_result_report_html(null(), null_mut(), 0, &mut len), zairyu_result::NullPointer);
        assert_eq!(
            zairyu_read_result_evidence_json(null(), null(), null_mut(), 0, &mut len),
            zairyu_result::NullPointer
        );
        assert_eq!(zairyu_read_result_evidence_json(r, null(), null_mut(), 0, null_mut()), zairyu_result::NullPointer);
        assert_eq!(zairyu_verify_evidence(null(), 3, h.trust, 0, &mut accepted, &mut out), zairyu_result::NullPointer);
        assert_eq!(
            zairyu_verify_evidence(ev.as_ptr(), ev.len(), null(), 0, &mut accepted, &mut out),
            zairyu_result::NullPointer
        );
        assert_eq!(
            zairyu_verify_evidence(ev.as_ptr(), ev.len(), h.trust, 0, null_mut(), &mut out),
            zairyu_result::NullPointer
        );
        assert_eq!(
            zairyu_verify_evidence(ev.as_ptr(), ev.len(), h.trust, 0, &mut accepted, null_mut()),
            zairyu_result::NullPointer
        );
        assert_eq!(
            zairyu_verify_evidence(ev.as_ptr(), ev.len(), h.trust, 1, &mut accepted, &mut out),
            zairyu_result::InvalidArgument
        );
        assert!(accepted && out.is_null(), "outputs written on failure");
        assert_eq!(zairyu_evidence_verdict_accepted(null(), &mut accepted), zairyu_result::NullPointer);
        assert_eq!(zairyu_evidence_verdict_accepted(v, null_mut()), zairyu_result::NullPointer);
        assert_eq!(zairyu_evidence_verdict_json(v, 2, null_mut(), 0, &mut len), zairyu_result::InvalidArgument);
        assert_eq!(zairyu_export_rows(null(), 1, 1, 0, null_mut(), 0, &mut len), zairyu_result::NullPointer);
        assert_eq!(zairyu_export_rows(null(), 0, 1, 0, null_mut(), 0, null_mut()), zairyu_result::NullPointer);
        zairyu_evidence_verdict_free(null_mut());
        zairyu_evidence_verdict_free(v);
        zairyu_read_result_free(r);
    }
}

/// A fixed P-256 station key as PKCS#8 DER (a test key, made for this test).
fn station_key_der() -> Vec<u8> {
    // PKCS#8 v1 wrapping an RFC 5915 ECPrivateKey with the scalar 1..=32 and no
    // public key: p256 derives it.
    let scalar: Vec<u8> = (1..=32).collect();
    let mut ec = vec![0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20];
    ec.extend_from_slice(&scalar);
    let mut der = vec![0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
    der.extend_from_slice(&[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x04, 0x27]);
    der.extend_from_slice(&ec);
    der
}

/// `zairyu_verify_evidence_pinned` with `pins` (32 bytes each): (rc, accepted, verdict).
fn verify_pinned(
    data: &[u8],
    trust: *const zairyu_trust_store,
    pins: *const u8,
    count: usize,
    flags: u32,
) -> (zairyu_result, bool, *mut zairyu_evidence_verdict) {
    let mut accepted = false;
    let mut v = null_mut();
    // SAFETY: valid buffers (the caller passes `count` pins or a deliberate bad value),
    // a live trust store and out-pointers.
    let rc = unsafe {
        zairyu_verify_evidence_pinned(data.as_ptr(), data.len(), trust, pins, count, flags, &mut accepted, &mut v)
    };
    (rc, accepted, v)
}

fn proof_of(v: *const zairyu_evidence_verdict) -> zairyu_evidence_proof {
    get_v(v, zairyu_evidence_proof::Nothing, zairyu_evidence_verdict_proves)
}

#[test]
fn pinned_station_keys_accept_only_files_that_station_signed() {
    let r = read(c"1", 0, 0);
    let h = sim(c"1", 0);
    let key_der = station_key_der();
    let pin = zairyu_evidence::StationKey::from_pkcs8_der(&key_der).unwrap().key_sha256_bytes();
    let evidence = |key: &[u8]| {
        let o = zairyu_evidence_options {
            station_key_pkcs8: key.as_ptr(),
            station_key_len: key.len(),
            card_number: null(),
            flags: 0,
            created_at_unix: 0,
        };
        // SAFETY: a live result, valid options; `copied` passes valid buffers.
        copied(false, |b, n, l| unsafe { zairyu_read_result_evidence_json(r, &o, b, n, l) }).unwrap()
    };
    let signed = evidence(&key_der);
    let unsigned = evidence(&[]);
    let mut pins = vec![0u8; 32];
    pins.extend_from_slice(&pin);

    // Genuine, signed, under its pin (alone or second of two): the whole file.
    for (p, n) in [(&pin[..], 1), (&pins[..], 2)] {
        let (rc, accepted, v) = verify_pinned(&signed, h.trust, p.as_ptr(), n, 0);
        assert_eq!(rc, zairyu_result::Ok);
        assert!(accepted && get_v(v, false, zairyu_evidence_verdict_accepted));
        assert_eq!(proof_of(v), zairyu_evidence_proof::WholeFile);
        // SAFETY: a live verdict; `copied` passes valid buffers.
        let j = copied(true, |b, n, l| unsafe { zairyu_evidence_verdict_json(v, 0, b.cast(), n, l) }).unwrap();
        let j: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert_eq!((j["proves"].as_str(), j["station_pin"]["status"].as_str()), (Some("whole_file"), Some("pinned")));
        assert!(export(&[v], zairyu_export_format::Csv as u32, 0).is_ok());
        // SAFETY: live verdict, freed once.
        unsafe { zairyu_evidence_verdict_free(v) };
    }
    // Without a pin: accepted, but proves only the chip-signed fields, and says so.
    let (accepted, v) = verify(&signed, h.trust);
    assert!(accepted);
    assert_eq!(proof_of(v), zairyu_evidence_proof::ChipSignedFieldsOnly);
    // SAFETY: a live verdict; `copied` passes valid buffers.
    let j = copied(true, |b, n, l| unsafe { zairyu_evidence_verdict_json(v, 0, b.cast(), n, l) }).unwrap();
    let j: serde_json::Value = serde_json::from_slice(&j).unwrap();
    assert_eq!(j["proves"], "chip_signed_fields_only");
    assert!(j["caveat"].as_str().unwrap().contains("recomputed hashes"));
    // SAFETY: live verdict, freed once.
    unsafe { zairyu_evidence_verdict_free(v) };

    // Another station's pin, or an unsigned file: judged, rejected, not exported.
    for (data, status) in [(&signed, "unknown_key"), (&unsigned, "unsigned")] {
        let p = if status == "unsigned" { pin } else { [7u8; 32] };
        let (rc, accepted, v) = verify_pinned(data, h.trust, p.as_ptr(), 1, 0);
        assert_eq!(rc, zairyu_result::Ok);
        assert!(!accepted, "{status}");
        assert_eq!(proof_of(v), zairyu_evidence_proof::Nothing);
        // SAFETY: a live verdict; `copied` passes valid buffers.
        let j = copied(true, |b, n, l| unsafe { zairyu_evidence_verdict_json(v, 0, b.cast(), n, l) }).unwrap();
        let j: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert_eq!(j["station_pin"]["status"], status);
        assert!(!j["rejected_because"].as_array().unwrap().is_empty());
        assert_eq!(export(&[v], 1, 0), Err(zairyu_result::EvidenceRejected));
        // SAFETY: live verdict, freed once.
        unsafe { zairyu_evidence_verdict_free(v) };
    }

    // Bad arguments write nothing: no pins, NULL pins, a count that overflows, flags.
    for (p, n, flags, want) in [
        (pin.as_ptr(), 0, 0, zairyu_result::InvalidArgument),
        (null(), 1, 0, zairyu_result::NullPointer),
        (pin.as_ptr(), usize::MAX / 16, 0, zairyu_result::InvalidArgument),
        (pin.as_ptr(), 1, 1, zairyu_result::InvalidArgument),
    ] {
        let (rc, accepted, v) = verify_pinned(&signed, h.trust, p, n, flags);
        assert_eq!(rc, want, "{n} {flags}");
        assert!(!accepted && v.is_null());
    }
    let mut out = zairyu_evidence_proof::Nothing;
    // SAFETY: deliberate NULL arguments; nothing is written.
    unsafe {
        assert_eq!(zairyu_evidence_verdict_proves(null(), &mut out), zairyu_result::NullPointer);
        let mut accepted = false;
        let mut v = null_mut();
        assert_eq!(
            zairyu_verify_evidence_pinned(
                signed.as_ptr(),
                signed.len(),
                null(),
                pin.as_ptr(),
                1,
                0,
                &mut accepted,
                &mut v
            ),
            zairyu_result::NullPointer
        );
        assert_eq!(
            zairyu_verify_evidence_pinned(
                signed.as_ptr(),
                signed.len(),
                h.trust,
                pin.as_ptr(),
                1,
                0,
                null_mut(),
                &mut v
            ),
            zairyu_result::NullPointer
        );
        zairyu_read_result_free(r);
    }
}
