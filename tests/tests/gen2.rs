//! Second-generation cards (types "05" and "06") end to end: AES access, every file,
//! ECDSA P-384 verification, the privacy policy, and the cross-generation errors.

use zairyu::error::{Error, Step};
use zairyu::files::gen2::PeriodOfStay;
use zairyu::files::{CardType, ImageFormat};
use zairyu::report::Report;
use zairyu::sequence::{Flow, ReadOptions, ReadPolicy, read_card};
use zairyu::session::Card;
use zairyu::verify::{AnchorProfile, ChainStatus, CheckCodeFormat, SignatureStatus, TrustStore};
use zairyu::{CardNumber, auth::OsRandom};
use zairyu_sim::{Fault, IssueOptions, IssuedCard, SimCard};
use zairyu_tests::{issue_and_read, read_with, sim_trust};

fn gen2(card_type: CardType) -> IssueOptions {
    IssueOptions { card_type, ..IssueOptions::default() }
}

fn read_opts(
    card: SimCard,
    number: &str,
    opts: &ReadOptions,
) -> (Result<zairyu::sequence::CardRead, Error>, Card<SimCard>) {
    let number = CardNumber::parse(number).unwrap();
    let mut c = Card::new(card);
    let r = read_card(&mut c, &number, &sim_trust(), &mut OsRandom, opts);
    (r, c)
}

#[test]
fn residence_card_05_reads_and_verifies_under_the_test_profile() {
    let r = issue_and_read(&gen2(CardType::Gen2ResidenceCard)).unwrap();
    assert_eq!(r.card_type, CardType::Gen2ResidenceCard);
    assert_eq!(r.flow, Flow::Gen2);
    // SELECT MF, 2 MF reads, challenge, MA, VERIFY, SELECT DF1, 4 SM reads,
    // SELECT DF2, 3 reads, SELECT DF3, 1 read.
    assert_eq!(r.metrics.apdus, 17);
    let v = &r.verification;
    assert_eq!(v.signature, SignatureStatus::Valid, "{:?}", v.reason);
    assert_eq!(v.signature_format, Some(CheckCodeFormat::EcdsaRaw));
    assert_eq!(v.chain, ChainStatus::Verified);
    assert_eq!(v.anchor_profile, Some(AnchorProfile::Test));
    assert!(!v.is_production_valid());
    let d = r.gen2().unwrap();
    let p = &d.printed;
    assert!(p.birth_date.is_some() && p.card_expiry.is_some() && p.stay_expiry.is_some());
    assert!(p.sex.is_some() && p.work_restriction.is_some() && p.permission_type.is_some());
    let n = p.nationality.as_ref().unwrap();
    assert!(n.ja.is_some() && n.en.is_some(), "{n:?}");
    assert!(matches!(p.period_of_stay, Some(PeriodOfStay::YearsMonths { .. })));
    assert_eq!(d.face_image.as_ref().unwrap().format, ImageFormat::Jp2);
    assert_eq!(d.name_image.as_ref().unwrap().format, ImageFormat::Tiff);
    assert_eq!(d.address_image.as_ref().unwrap().format, ImageFormat::Tiff);
    assert_eq!(d.face_image.as_ref().unwrap().bytes(), zairyu_sim::FACE_JP2);
    assert!(d.back.comprehensive_permission.is_some());
    assert!(d.back.renewal_application_pending.is_some());
    assert!(d.back.note_recorded.is_some());
}

#[test]
fn special_permanent_resident_06_reads_and_verifies() {
    let r = issue_and_read(&gen2(CardType::Gen2SpecialPermanentResident)).unwrap();
    assert_eq!(r.card_type, CardType::Gen2SpecialPermanentResident);
    assert_eq!(r.verification.signature, SignatureStatus::Valid, "{:?}", r.verification.reason);
    let d = r.gen2().unwrap();
    assert_eq!(d.printed.permission_type, None);
    assert_eq!(d.printed.work_restriction, None);
    assert_eq!(d.back.comprehensive_permission, None);
    assert!(d.back.note_recorded.is_some());
    assert_eq!(r.metrics.apdus, 15);
}

#[test]
fn sprc_df2_file_at_sfi_1_is_found_by_the_fallback() {
    let opts = IssueOptions { sprc_df2_sfi: 0x01, ..gen2(CardType::Gen2SpecialPermanentResident) };
    let r = issue_and_read(&opts).unwrap();
    assert!(r.gen2().unwrap().back.note_recorded.is_some());
    assert_eq!(r.metrics.apdus, 16);
}

#[test]
fn der_encoded_signature_is_accepted_and_reported() {
    let opts = IssueOptions { gen2_signature_der: true, ..gen2(CardType::Gen2ResidenceCard) };
    let r = issue_and_read(&opts).unwrap();
    assert_eq!(r.verification.signature, SignatureStatus::Valid, "{:?}", r.verification.reason);
    assert_eq!(r.verification.signature_format, Some(CheckCodeFormat::EcdsaDer));
}

#[test]
fn tampered_printed_entry_or_face_is_invalid() {
    for opts in [
        IssueOptions { tamper_printed_entries: true, ..gen2(CardType::Gen2ResidenceCard) },
        IssueOptions { tamper_front_image: true, ..gen2(CardType::Gen2ResidenceCard) },
        IssueOptions { tamper_printed_entries: true, ..gen2(CardType::Gen2SpecialPermanentResident) },
    ] {
        let r = issue_and_read(&opts).unwrap();
        assert_eq!(r.verification.signature, SignatureStatus::Invalid);
    }
}

#[test]
fn test_ca2_is_never_production_and_other_anchors_do_not_chain() {
    let r = issue_and_read(&gen2(CardType::Gen2ResidenceCard)).unwrap();
    let json = Report::from_read(&r).to_json_pretty();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["verification"]["anchor_profile"], "test");
    assert_eq!(v["generation"], 2);
    assert_eq!(v["flow"], "gen2-aes");
    // With only the first-generation test CA, the card certificate chains nowhere.
    let mut only_gen1 = TrustStore::new();
    only_gen1.add_test_anchor_der(IssuedCard::test_ca_der(), "gen1").unwrap();
    let opts = gen2(CardType::Gen2ResidenceCard);
    let (r, _) = read_with(SimCard::new(IssuedCard::issue(&opts)), &opts.card_number, &only_gen1);
    let r = r.unwrap();
    assert_eq!(r.verification.signature, SignatureStatus::Valid);
    assert_eq!(r.verification.chain, ChainStatus::NoMatchingAnchor);
    assert_eq!(r.verification.anchor_profile, None);
}

#[test]
fn text_only_policy_reads_no_face_bytes() {
    let opts = gen2(CardType::Gen2ResidenceCard);
    let full = issue_and_read(&opts).unwrap();
    let text_only = ReadOptions { policy: ReadPolicy::TextOnly, ..ReadOptions::default() };
    let (r, card) = read_opts(SimCard::new(IssuedCard::issue(&opts)), &opts.card_number, &text_only);
    let r = r.unwrap();
    assert_eq!(r.verification.signature, SignatureStatus::NotChecked);
    assert!(r.verification.reason.as_deref().unwrap().contains("text_only"));
    let d = r.gen2().unwrap();
    assert!(d.face_image.is_none() && d.name_image.is_none() && d.address_image.is_none());
    assert!(d.printed.birth_date.is_some());
    // Neither DF1/EF03 (P1 84) nor DF1/EF04 (P1 86) nor DF3 was read.
    assert!(card.transport().trace().iter().all(|t| t.header[1] != 0xB0 || !matches!(t.header[2], 0x84 | 0x86)));
    assert!(r.raw_files.iter().all(|f| f.name != "DF1/EF03" && f.name != "DF3/EF01"));
    // 5520 + 2512 + 704 bytes fewer on the wire, at least.
    assert!(full.metrics.bytes_received - r.metrics.bytes_received >= 5520 + 2512 + 704);
    assert!(r.metrics.bytes_received < 600, "{}", r.metrics.bytes_received);
    let v: serde_json::Value = serde_json::from_str(&Report::from_read(&r).to_json_pretty()).unwrap();
    assert_eq!(v["verification"]["signature"], "not_checked");
    assert_eq!(v["policy"], "text_only");
    assert!(v["images"].as_object().unwrap().is_empty());
}

#[test]
fn text_only_policy_on_a_first_generation_card() {
    let opts = IssueOptions::default();
    let text_only = ReadOptions { policy: ReadPolicy::TextOnly, ..ReadOptions::default() };
    let (r, _) = read_opts(SimCard::new(IssuedCard::issue(&opts)), &opts.card_number, &text_only);
    let r = r.unwrap();
    assert_eq!(r.verification.signature, SignatureStatus::NotChecked);
    assert!(r.gen1().unwrap().face_image.is_none());
    assert_eq!(r.metrics.apdus, 11);
    assert!(r.metrics.bytes_received < 1000);
}

#[test]
fn wrong_card_number_on_a_second_generation_card() {
    let opts = gen2(CardType::Gen2ResidenceCard);
    let (r, _) = read_with(SimCard::new(IssuedCard::issue(&opts)), "ZZ99999999ZZ", &sim_trust());
    assert_eq!(
        r.unwrap_err(),
        Error::WrongCardNumber { step: Step::MutualAuthenticate, flow: zairyu::options::Flow::Gen2 }
    );
    let card =
        SimCard::new(IssuedCard::issue(&opts)).with_fault(Fault::StatusWord { ins: 0x20, p1: None, sw: [0x63, 0x00] });
    let (r, _) = read_with(card, &opts.card_number, &sim_trust());
    assert_eq!(r.unwrap_err(), Error::WrongCardNumber { step: Step::Verify, flow: zairyu::options::Flow::Gen2 });
}

#[test]
fn card_number_on_the_chip_must_match_the_number_typed() {
    let opts = gen2(CardType::Gen2ResidenceCard);
    let mut issued = IssuedCard::issue(&opts);
    let mut ef01 = vec![0xC2, 0x0C];
    ef01.extend_from_slice(b"XY00000000ZZ");
    issued.set_file(zairyu::layout::Df::Df1, 0x01, ef01);
    let (r, _) = read_with(SimCard::new(issued), &opts.card_number, &sim_trust());
    let e = r.unwrap_err();
    assert_eq!(e, Error::CardNumberMismatch);
    assert_eq!(e.code(), "card_number_mismatch");
    assert!(!e.to_string().contains("XY00000000ZZ"));
}

#[test]
fn forcing_the_other_generations_flow_is_a_wrong_generation_error() {
    let gen1_flow = ReadOptions { force_flow: Some(Flow::Gen1), ..ReadOptions::default() };
    let opts = gen2(CardType::Gen2ResidenceCard);
    let (r, _) = read_opts(SimCard::new(IssuedCard::issue(&opts)), &opts.card_number, &gen1_flow);
    let e = r.unwrap_err();
    assert_eq!(
        e,
        Error::WrongGeneration {
            card_type: zairyu::files::CardType::Gen2ResidenceCard,
            flow: zairyu::options::Flow::Gen1
        }
    );
    assert_eq!(e.code(), "wrong_generation");

    let gen2_flow = ReadOptions { force_flow: Some(Flow::Gen2), ..ReadOptions::default() };
    let opts = IssueOptions::default();
    let (r, _) = read_opts(SimCard::new(IssuedCard::issue(&opts)), &opts.card_number, &gen2_flow);
    assert_eq!(
        r.unwrap_err(),
        Error::WrongGeneration { card_type: zairyu::files::CardType::ResidenceCard, flow: zairyu::options::Flow::Gen2 }
    );
}

#[test]
fn second_generation_error_paths_repeat_the_first_generations() {
    use zairyu::apdu::StatusWord;
    use zairyu::error::{AuthError, SmError};
    let opts = gen2(CardType::Gen2ResidenceCard);
    let read = |f: Fault| {
        read_with(SimCard::new(IssuedCard::issue(&opts)).with_fault(f), &opts.card_number, &sim_trust()).0.unwrap_err()
    };
    assert_eq!(read(Fault::BadSmPadding), Error::SecureMessaging(SmError::BadPadding));
    assert_eq!(read(Fault::CorruptMacIcc), Error::Auth(AuthError::CardMacMismatch));
    assert_eq!(
        read(Fault::TruncateData { ins: 0xB0, p1: Some(0x84), keep: 3000 }),
        Error::SecureMessaging(SmError::MissingDataObject)
    );
    assert_eq!(
        read(Fault::AppendGarbage { ins: 0xB0, p1: Some(0x83), bytes: 1 }),
        Error::SecureMessaging(SmError::TrailingData)
    );
    assert_eq!(
        read(Fault::StatusWord { ins: 0xB0, p1: Some(0x84), sw: [0x69, 0x82] }),
        Error::Card { step: Step::SmReadBinary, sw: StatusWord::SecurityStatusNotSatisfied }
    );
    assert!(matches!(
        read(Fault::CorruptResponseByte { ins: 0xB0, p1: Some(0x81), index: 3 }),
        Error::SecureMessaging(_)
    ));
    assert_eq!(read(Fault::RemoveCardAfter(10)), Error::Transport(zairyu::error::TransportError::CardRemoved));
    for sw in StatusWord::SPEC_TABLE.iter().filter(|sw| **sw != [0x90, 0x00] && **sw != [0x63, 0x00]) {
        let e = read(Fault::StatusWord { ins: 0x82, p1: None, sw: *sw });
        assert_eq!(e, Error::Card { step: Step::MutualAuthenticate, sw: StatusWord::from_bytes(sw[0], sw[1]) });
    }
}

#[test]
fn under_16_second_generation_card_reports_signature_absent() {
    let opts = IssueOptions { under_16: true, ..gen2(CardType::Gen2ResidenceCard) };
    let r = issue_and_read(&opts).unwrap();
    assert_eq!(r.verification.signature, SignatureStatus::Absent);
    assert!(!r.gen2().unwrap().face_image.as_ref().unwrap().is_present());
}
