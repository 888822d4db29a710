//! The attack catalogue: each test is a simulated card altered the way a forger with
//! a chip emulator would alter a genuine card's data, and asserts the verdict. A
//! wrong `valid` or an `absent` for a blanked signature is the worst defect this
//! library can have; every test here would have passed such a card before the
//! layout and honest-absence checks of `zairyu::verify`.

use zairyu::files::CardType;
use zairyu::layout::{self, Ef};
use zairyu::sequence::CardRead;
use zairyu::tlv;
use zairyu::verify::{Reason, SignatureStatus, Verdict};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};
use zairyu_tests::{read_with, sim_trust};

const NUMBER: &str = "AB12345678CD";

fn issue(card_type: CardType) -> IssuedCard {
    IssuedCard::issue(&IssueOptions { card_type, ..IssueOptions::default() })
}

fn file(card: &IssuedCard, ef: &Ef) -> Vec<u8> {
    card.file(ef.df, ef.sfi).unwrap_or_else(|| panic!("{} not issued", ef.name)).to_vec()
}

fn read(card: IssuedCard) -> CardRead {
    read_with(SimCard::new(card), NUMBER, &sim_trust()).0.expect("the altered card still reads")
}

#[track_caller]
fn assert_invalid(r: &CardRead, reason: Reason) {
    let v = &r.verification;
    assert_eq!((v.signature, v.reason_code), (SignatureStatus::Invalid, Some(reason)), "{:?}", v.reason);
    assert_eq!(v.verdict(), Verdict::Invalid);
    assert!(!v.is_production_valid());
}

/// The objects of a TLV file as (tag, value), in file order.
fn objects(data: &[u8]) -> Vec<(u16, Vec<u8>)> {
    tlv::parse_all("test", data).unwrap().iter().map(|t| (t.tag, t.value.to_vec())).collect()
}

/// Encodes objects and zero-fills to at least `len` (a chip emulator is not bound
/// by the file's capacity).
fn encode(objs: &[(u16, Vec<u8>)], len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, value) in objs {
        tlv::encode(*tag, value, &mut out);
    }
    out.resize(out.len().max(len), 0);
    out
}

/// Rewrites one file of a fresh card of `card_type` with `f` (objects in, objects out).
fn altered(card_type: CardType, ef: &Ef, f: impl FnOnce(&mut Vec<(u16, Vec<u8>)>)) -> CardRead {
    let mut card = issue(card_type);
    let original = file(&card, ef);
    let mut objs = objects(&original);
    f(&mut objs);
    card.set_file(ef.df, ef.sfi, encode(&objs, original.len()));
    read(card)
}

fn index(objs: &[(u16, Vec<u8>)], tag: u16) -> usize {
    objs.iter().position(|(t, _)| *t == tag).unwrap()
}

#[test]
fn genuine_cards_of_every_type_stay_valid() {
    for t in [
        CardType::ResidenceCard,
        CardType::SpecialPermanentResident,
        CardType::Gen2ResidenceCard,
        CardType::Gen2SpecialPermanentResident,
    ] {
        let r = read(issue(t));
        assert_eq!(r.verification.signature, SignatureStatus::Valid, "{t:?}: {:?}", r.verification.reason);
        assert_eq!(r.verification.verdict(), Verdict::Test, "{t:?}");
    }
}

// --- Second generation: the signature covers the printed entries' values, not their tags.

#[test]
fn relabelled_sex_and_work_restriction_are_invalid() {
    // C7 (sex) and CC (work restriction) are both one byte: swapping the tags keeps
    // every signed byte and changes the meaning.
    let r = altered(CardType::Gen2ResidenceCard, &layout::gen2::DF1_EF02, |o| {
        let (a, b) = (index(o, 0xC7), index(o, 0xCC));
        (o[a].0, o[b].0) = (0xCC, 0xC7);
    });
    let printed = &r.gen2().unwrap().printed;
    assert_eq!(printed.sex.as_ref().unwrap().code, "2", "the parser shows the altered meaning");
    assert_invalid(&r, Reason::PrintedEntriesLayout);
}

#[test]
fn swapped_dates_are_invalid() {
    // C5 (card expiry) and CD (stay expiry): 8 digits each.
    let r = altered(CardType::Gen2ResidenceCard, &layout::gen2::DF1_EF02, |o| {
        let (a, b) = (index(o, 0xC5), index(o, 0xCD));
        (o[a].0, o[b].0) = (0xCD, 0xC5);
    });
    assert_invalid(&r, Reason::PrintedEntriesLayout);
}

#[test]
fn repeated_entry_is_invalid() {
    // A second C5 in place of CB (both 8 bytes): the parser may take either value.
    let r = altered(CardType::Gen2ResidenceCard, &layout::gen2::DF1_EF02, |o| {
        let i = index(o, 0xCB);
        o[i].0 = 0xC5;
    });
    assert_invalid(&r, Reason::PrintedEntriesLayout);
}

#[test]
fn appended_entries_that_keep_the_signed_bytes_are_invalid() {
    // A type-06 card signs its 34 value bytes zero-padded to 53: an appended entry of
    // zeros leaves the signed data unchanged.
    let r = altered(CardType::Gen2SpecialPermanentResident, &layout::gen2::DF1_EF02, |o| {
        o.push((0xCB, vec![0; 8]));
    });
    assert_invalid(&r, Reason::PrintedEntriesLayout);
}

#[test]
fn oversized_entries_are_a_parse_error_never_valid() {
    // Move the last byte of C9 to the front of CE: the concatenated values are
    // unchanged, but CE is then wider than its field.
    let mut card = issue(CardType::Gen2ResidenceCard);
    let ef = layout::gen2::DF1_EF02;
    let mut o = objects(&file(&card, &ef));
    let (c9, ce) = (index(&o, 0xC9), index(&o, 0xCE));
    let moved = o[c9].1.pop().unwrap();
    o[ce].1.insert(0, moved);
    card.set_file(ef.df, ef.sfi, encode(&o, ef.capacity));
    let e = read_with(SimCard::new(card), NUMBER, &sim_trust()).0.unwrap_err();
    assert_eq!(e.code(), "parse");
}

#[test]
fn entries_of_the_other_card_type_are_invalid() {
    // A type-06 file layout (no CA CB CC CD) on a type-05 card.
    let r = altered(CardType::Gen2ResidenceCard, &layout::gen2::DF1_EF02, |o| o.truncate(6));
    assert_invalid(&r, Reason::PrintedEntriesLayout);
}

#[test]
fn swapped_name_and_face_are_never_valid() {
    // Swapping the tags alone: a parse error (D1 is 3000 bytes at most, D0 2500).
    let mut card = issue(CardType::Gen2ResidenceCard);
    let ef = layout::gen2::DF1_EF03;
    let mut o = objects(&file(&card, &ef));
    (o[0].0, o[1].0) = (0xD1, 0xD0);
    card.set_file(ef.df, ef.sfi, encode(&o, ef.capacity));
    assert_eq!(read_with(SimCard::new(card), NUMBER, &sim_trust()).0.unwrap_err().code(), "parse");
    // Swapping the objects (face first): invalid.
    let r = altered(CardType::Gen2ResidenceCard, &ef, |o| o.swap(0, 1));
    assert_invalid(&r, Reason::ImageLayout);
}

#[test]
fn gen2_zeroed_signature_file_with_the_photo_kept_is_invalid_not_absent() {
    let mut card = issue(CardType::Gen2ResidenceCard);
    let ef = layout::gen2::DF3_EF01;
    card.set_file(ef.df, ef.sfi, vec![0; ef.capacity]);
    assert_invalid(&read(card), Reason::SignatureMissing);
}

#[test]
fn gen2_zeroed_check_code_alone_is_invalid() {
    let r = altered(CardType::Gen2SpecialPermanentResident, &layout::gen2::DF3_EF01, |o| {
        o[0].1.fill(0);
    });
    assert_invalid(&r, Reason::SignatureMissing);
}

#[test]
fn gen2_under_16_card_is_absent_and_with_no_signature_file_too() {
    let opts = IssueOptions { card_type: CardType::Gen2ResidenceCard, under_16: true, ..IssueOptions::default() };
    let r = read(IssuedCard::issue(&opts));
    assert_eq!(r.verification.verdict(), Verdict::Absent);
    assert_eq!(r.verification.reason_code, Some(Reason::Under16));

    let mut card = IssuedCard::issue(&opts);
    let ef = layout::gen2::DF3_EF01;
    card.remove_file(ef.df, ef.sfi);
    let r = read(card);
    assert_eq!(r.verification.verdict(), Verdict::Absent, "DF3 answered 6A 82");
}

// --- First generation: honest "absent".

#[test]
fn gen1_under_16_filler_beside_a_face_photo_is_invalid_not_absent() {
    for filler in [&[0xDA, 0x00, 0xDB, 0x00][..], &[0xDA, 0x00], &[]] {
        let mut card = issue(CardType::ResidenceCard);
        let ef = layout::gen1::DF3_EF01;
        let mut f = filler.to_vec();
        f.resize(ef.capacity, 0);
        card.set_file(ef.df, ef.sfi, f);
        let r = read(card);
        assert!(r.gen1().unwrap().face_image.as_ref().unwrap().is_present());
        assert_invalid(&r, Reason::SignatureMissing);
    }
}

#[test]
fn gen1_zeroed_certificate_alone_is_invalid() {
    let r = altered(CardType::ResidenceCard, &layout::gen1::DF3_EF01, |o| o[1].1.fill(0));
    assert_invalid(&r, Reason::SignatureMissing);
    let r = altered(CardType::SpecialPermanentResident, &layout::gen1::DF3_EF01, |o| o.truncate(1));
    assert_invalid(&r, Reason::SignatureMissing);
}

#[test]
fn gen1_under_16_card_without_face_or_signature_files_is_absent() {
    let opts = IssueOptions { under_16: true, ..IssueOptions::default() };
    for (drop_face, drop_df3) in [(true, false), (false, true), (true, true)] {
        let mut card = IssuedCard::issue(&opts);
        if drop_face {
            card.remove_file(layout::gen1::DF1_EF02.df, layout::gen1::DF1_EF02.sfi);
        }
        if drop_df3 {
            card.remove_file(layout::gen1::DF3_EF01.df, layout::gen1::DF3_EF01.sfi);
        }
        let r = read(card);
        assert_eq!(r.verification.verdict(), Verdict::Absent, "face 6A82 {drop_face}, DF3 6A82 {drop_df3}");
        assert_eq!(r.verification.reason_code, Some(Reason::Under16));
    }
}

#[test]
fn gen1_face_removed_while_the_signature_is_kept_is_invalid() {
    let mut card = issue(CardType::ResidenceCard);
    card.remove_file(layout::gen1::DF1_EF02.df, layout::gen1::DF1_EF02.sfi);
    assert_invalid(&read(card), Reason::SignatureMismatch);
}

#[test]
fn gen1_front_image_with_a_second_object_is_invalid() {
    // Shorten D0 by 8 bytes and append a second object in the room: the signed value
    // (zero-padded to 7000) would be unchanged.
    let r = altered(CardType::ResidenceCard, &layout::gen1::DF1_EF01, |o| {
        let keep = o[0].1.len() - 8;
        o[0].1.truncate(keep);
        o.push((0xD0, vec![0x41]));
    });
    assert_invalid(&r, Reason::ImageLayout);
}

#[test]
fn replaced_face_is_invalid() {
    let r = altered(CardType::ResidenceCard, &layout::gen1::DF1_EF02, |o| o[0].1[100] ^= 0x01);
    assert_invalid(&r, Reason::SignatureMismatch);
    let r = altered(CardType::Gen2ResidenceCard, &layout::gen2::DF1_EF03, |o| o[1].1[100] ^= 0x01);
    assert_invalid(&r, Reason::SignatureMismatch);
}

// --- Unsigned data: the signature does not cover it, so altering it keeps `valid`.

#[test]
fn altered_address_keeps_the_signature_valid_because_it_is_not_signed() {
    let opts = IssueOptions {
        address: Some(zairyu_sim::Address {
            date: "20260101".into(),
            municipality_code: "131016".into(),
            text: "偽の住所".into(),
        }),
        ..IssueOptions::default()
    };
    let r = read(IssuedCard::issue(&opts));
    assert_eq!(r.verification.signature, SignatureStatus::Valid);
    assert_eq!(r.gen1().unwrap().address.address.as_ref().unwrap().text, "偽の住所");
}

// --- Text that could attack the terminal or the page.

#[test]
fn control_and_bidi_characters_in_card_text_are_flagged() {
    let opts = IssueOptions {
        address: Some(zairyu_sim::Address {
            date: "20260101".into(),
            municipality_code: "131016".into(),
            text: "東京都\u{202E}区田代千\u{1b}[2J\u{0}x".into(),
        }),
        individual_permission: Some("許可\u{2066}なし\u{2069}".into()),
        ..IssueOptions::default()
    };
    let r = read(IssuedCard::issue(&opts));
    let codes: Vec<_> = r.warnings.iter().map(|w| (w.code, w.message.clone())).collect();
    let unsafe_warnings: Vec<_> =
        codes.iter().filter(|(c, _)| *c == zairyu::warning::WarningCode::UnsafeCharacters).collect();
    assert_eq!(unsafe_warnings.len(), 2, "{codes:?}");
    assert!(unsafe_warnings[0].1.contains("address") && unsafe_warnings[1].1.contains("individual"));
    // The read completes and the text is kept as read, for the bindings to escape.
    assert!(r.gen1().unwrap().address.address.as_ref().unwrap().text.contains('\u{202E}'));
    // A clean card has no such warning.
    assert!(read(issue(CardType::ResidenceCard)).warnings.is_empty());
}

// --- Values with a wrong form never sink the read: they are shown as read, with a
// coded warning.

#[test]
fn wrong_values_are_warnings_and_the_read_completes() {
    use zairyu::warning::WarningCode as W;
    let codes = |r: &CardRead| r.warnings.iter().map(|w| w.code).collect::<Vec<_>>();
    let opts = IssueOptions {
        address: Some(zairyu_sim::Address {
            date: "20240231".into(),
            municipality_code: "131017".into(),
            text: "東京都".into(),
        }),
        ..IssueOptions::default()
    };
    let r = read(IssuedCard::issue(&opts));
    assert_eq!(codes(&r), [W::DateInvalid, W::MunicipalityCodeInvalid]);
    assert_eq!(r.gen1().unwrap().address.municipality_code.as_deref(), Some("131017"));
    assert_eq!(r.verification.signature, SignatureStatus::Valid);

    let printed = zairyu_sim::PrintedEntries {
        period_of_stay: "090 ".into(),
        sex: '8',
        birth_date: "20001302".into(),
        ..Default::default()
    };
    let opts = IssueOptions { card_type: CardType::Gen2ResidenceCard, printed, ..IssueOptions::default() };
    let r = read(IssuedCard::issue(&opts));
    let got = codes(&r);
    for w in [W::DateInvalid, W::CodeUnknown, W::PeriodOfStayUnusual] {
        assert!(got.contains(&w), "{w:?} in {got:?}");
    }
    // Signed, and still valid: the values are what the issuer signed.
    assert_eq!(r.verification.signature, SignatureStatus::Valid);
    assert_eq!(r.gen2().unwrap().printed.birth_date.as_deref(), Some("20001302"));
}

fn fields_json(r: &CardRead) -> serde_json::Value {
    serde_json::to_value(zairyu::report::Report::from_read(r)).unwrap()["fields"].clone()
}

#[test]
fn unknown_flag_and_code_values_are_kept_with_a_warning() {
    use zairyu::files::{Flag, RenewalStatus};
    use zairyu::warning::WarningCode as W;
    // First generation: DF2/EF04 D7 holds neither "0" nor "1".
    let r = altered(CardType::ResidenceCard, &layout::gen1::DF2_EF04, |o| o[0].1 = vec![0xFF]);
    assert_eq!(r.gen1().unwrap().renewal, Some(RenewalStatus::Unknown("\\xFF".into())));
    assert!(r.warnings.iter().any(|w| w.code == W::CodeUnknown && w.message.contains("D7")), "{:?}", r.warnings);
    assert_eq!(fields_json(&r)["renewal_application"], "unknown");
    assert_eq!(r.verification.signature, SignatureStatus::Valid);

    // Second generation: the D7–D9 flags, wherever the card keeps them in DF2.
    let mut card = issue(CardType::Gen2ResidenceCard);
    let mut changed = 0;
    for ef in layout::files(CardType::Gen2ResidenceCard).iter().filter(|ef| ef.name.starts_with("DF2/")) {
        let Some(original) = card.file(ef.df, ef.sfi).map(<[u8]>::to_vec) else { continue };
        let mut objs = objects(&original);
        for (tag, value) in objs.iter_mut() {
            if matches!(tag, 0xD7..=0xD9) {
                *value = vec![b'7'];
                changed += 1;
            }
        }
        card.set_file(ef.df, ef.sfi, encode(&objs, original.len()));
    }
    assert_eq!(changed, 3, "the simulator issues D7, D8 and D9");
    let r = read(card);
    let back = &r.gen2().unwrap().back;
    for f in [&back.individual_permission, &back.renewal_application_pending, &back.note_recorded] {
        assert_eq!(f.as_ref(), Some(&Flag::Unknown("7".into())));
    }
    let unknown = r.warnings.iter().filter(|w| w.code == W::CodeUnknown).count();
    assert_eq!(unknown, 3, "{:?}", r.warnings);
    assert!(fields_json(&r)["note_recorded"].is_null());
    assert_eq!(r.verification.signature, SignatureStatus::Valid);

    // A non-ASCII byte in a signed one-character code: shown escaped, the read
    // completes; the layout is intact, so only the signature decides (and it fails:
    // the byte is not what the issuer signed).
    let r = altered(CardType::Gen2ResidenceCard, &layout::gen2::DF1_EF02, |o| {
        let i = index(o, 0xC7);
        o[i].1 = vec![0x9B];
    });
    assert_eq!(r.gen2().unwrap().printed.sex.as_ref().map(|c| c.code.as_str()), Some("\\x9B"));
    assert!(r.warnings.iter().any(|w| w.code == W::CodeUnknown));
    assert_invalid(&r, Reason::SignatureMismatch);
}

#[test]
fn a_valid_signature_from_an_untrusted_key_binds_nothing() {
    // A forger signs with a key of their own: the signature is valid, the chain is not.
    let r = read_with(SimCard::new(issue(CardType::Gen2ResidenceCard)), NUMBER, &zairyu::verify::TrustStore::new())
        .0
        .unwrap();
    assert_eq!((r.verification.signature, r.verification.verdict()), (SignatureStatus::Valid, Verdict::Untrusted));
    let json = serde_json::to_value(zairyu::report::Report::from_read(&r)).unwrap();
    assert_eq!(json["verification"]["signed_fields"], serde_json::json!([]));
    assert!(json["verification"]["unsigned_fields"].as_array().unwrap().iter().any(|f| f == "face"));
}
