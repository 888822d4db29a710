//! Full reads of simulated first-generation cards through the public API.

use zairyu::files::{CardType, ImageFormat, RenewalStatus, TextEncoding};
use zairyu::report::Report;
use zairyu::verify::{AnchorProfile, ChainStatus, CheckCodeFormat, SignatureStatus};
use zairyu_sim::{Address, CheckCodeFormat as SimFormat, IssueOptions, IssuedCard, Under16Df3};
use zairyu_tests::issue_and_read;

fn sha256_hex(der: &[u8]) -> String {
    use zairyu::verify::TrustStore;
    let mut t = TrustStore::new();
    t.add_test_anchor_der(der, "x").unwrap();
    t.anchors()[0].fingerprint_hex()
}

#[test]
fn residence_card_reads_and_verifies_under_the_test_profile() {
    let r = issue_and_read(&IssueOptions::default()).unwrap();
    assert_eq!(r.card_type, CardType::ResidenceCard);
    assert_eq!(r.flow.name(), "gen1-3des");
    assert_eq!(r.common.spec_version, "0001");
    // The spec minimum: SELECT MF, 2 MF reads, challenge, MA, VERIFY, 3 SELECT DF,
    // 2 SM reads, 4 DF2 reads, 1 DF3 read.
    assert_eq!(r.metrics.apdus, 16);
    let v = &r.verification;
    assert_eq!(v.signature, SignatureStatus::Valid);
    assert_eq!(v.signature_format, Some(CheckCodeFormat::BareHash));
    assert_eq!(v.chain, ChainStatus::Verified);
    assert_eq!(v.anchor_profile, Some(AnchorProfile::Test));
    assert_eq!(v.anchor.as_deref(), Some(sha256_hex(IssuedCard::test_ca_der()).as_str()));
    assert!(!v.is_production_valid());
    let d = r.gen1().unwrap();
    let (front, face) = (d.front_image.as_ref().unwrap(), d.face_image.as_ref().unwrap());
    assert_eq!(front.format, ImageFormat::Tiff);
    assert_eq!(front.value.len(), 7000);
    assert_eq!(face.format, ImageFormat::Jp2);
    assert_eq!(face.value.len(), 3000);
    // Exported whole, although the TIFF itself ends in a 00 byte.
    assert_eq!(front.bytes(), zairyu_sim::FRONT_TIF);
    assert_eq!(face.bytes(), zairyu_sim::FACE_JP2);
    let addr = d.address.address.as_ref().unwrap();
    assert_eq!(addr.encoding, TextEncoding::Utf8);
    assert!(!addr.text.is_empty());
    assert_eq!(d.address.municipality_code.as_deref(), Some("131016"));
    assert!(d.comprehensive_permission.is_some());
    assert_eq!(d.renewal, Some(RenewalStatus::None));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn special_permanent_resident_certificate_has_no_permission_files() {
    let opts = IssueOptions { card_type: CardType::SpecialPermanentResident, ..IssueOptions::default() };
    let r = issue_and_read(&opts).unwrap();
    assert_eq!(r.card_type, CardType::SpecialPermanentResident);
    assert_eq!(r.metrics.apdus, 13);
    let d = r.gen1().unwrap();
    assert_eq!(d.comprehensive_permission, None);
    assert_eq!(d.individual_permission, None);
    assert_eq!(d.renewal, None);
    assert_eq!(r.verification.signature, SignatureStatus::Valid);
    let json = Report::from_read(&r).to_json_pretty();
    assert!(!json.contains("comprehensive_permission"));
}

#[test]
fn check_code_with_digest_info_is_accepted_and_reported() {
    let opts = IssueOptions { check_code_format: SimFormat::DigestInfo, ..IssueOptions::default() };
    let r = issue_and_read(&opts).unwrap();
    assert_eq!(r.verification.signature, SignatureStatus::Valid);
    assert_eq!(r.verification.signature_format, Some(CheckCodeFormat::DigestInfo));
}

#[test]
fn tampered_front_image_is_invalid_not_an_error() {
    let opts = IssueOptions { tamper_front_image: true, ..IssueOptions::default() };
    let r = issue_and_read(&opts).unwrap();
    assert_eq!(r.verification.signature, SignatureStatus::Invalid);
    assert!(r.verification.reason.is_some());
}

#[test]
fn under_16_cards_report_signature_absent_for_every_documented_layout() {
    for variant in [Under16Df3::DaDbZero, Under16Df3::DaOnly, Under16Df3::AllZero] {
        let opts = IssueOptions { under_16: true, under_16_df3_variant: variant, ..IssueOptions::default() };
        let r = issue_and_read(&opts).unwrap();
        assert_eq!(r.verification.signature, SignatureStatus::Absent, "{variant:?}");
        assert_ne!(r.verification.signature, SignatureStatus::Invalid);
        assert!(!r.gen1().unwrap().face_image.as_ref().unwrap().is_present());
        assert_eq!(r.metrics.apdus, 16);
    }
}

#[test]
fn permission_withdrawn_reads_as_empty() {
    let opts = IssueOptions {
        comprehensive_permission: None,
        individual_permission: None,
        renewal_pending: true,
        ..IssueOptions::default()
    };
    let r = issue_and_read(&opts).unwrap();
    let d = r.gen1().unwrap();
    assert_eq!(d.comprehensive_permission, Some(None));
    assert_eq!(d.individual_permission, Some(None));
    assert_eq!(d.renewal, Some(RenewalStatus::Pending));
}

#[test]
fn shift_jis_address_is_decoded_and_flagged() {
    let opts = IssueOptions {
        address: Some(Address {
            date: "20240401".into(),
            municipality_code: "271004".into(),
            text: "大阪府大阪市北区中之島１丁目".into(),
        }),
        address_encoding_sjis: true,
        ..IssueOptions::default()
    };
    let r = issue_and_read(&opts).unwrap();
    let a = r.gen1().unwrap().address.address.as_ref().unwrap();
    assert_eq!(a.text, "大阪府大阪市北区中之島１丁目");
    assert_eq!(a.encoding, TextEncoding::ShiftJisFallback);
    assert_eq!(r.warnings.len(), 1);
}

#[test]
fn unusual_card_number_shape_is_a_warning() {
    let opts = IssueOptions { card_number: "123456789012".into(), ..IssueOptions::default() };
    let r = issue_and_read(&opts).unwrap();
    assert_eq!(r.verification.signature, SignatureStatus::Valid);
    assert_eq!(r.warnings.len(), 1);
}

#[test]
fn report_has_the_documented_fields_and_never_the_card_number() {
    let r = issue_and_read(&IssueOptions::default()).unwrap();
    let json = Report::from_read(&r).to_json_pretty();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["card_type"], "1");
    assert_eq!(v["generation"], 1);
    assert_eq!(v["verification"]["signature"], "valid");
    assert_eq!(v["verification"]["anchor_profile"], "test");
    assert!(v["verification"]["anchor"].is_string());
    assert_eq!(v["metrics"]["apdus"], 16);
    assert!(v["metrics"]["bytes_sent"].as_u64().unwrap() > 0);
    assert!(v["metrics"]["bytes_received"].as_u64().unwrap() > 10_000);
    assert!(v["fields"]["address"]["text"].is_string());
    assert_eq!(v["card_number"], "AB********CD");
    let number = IssueOptions::default().card_number;
    assert!(!json.contains(&number));
    assert!(!json.contains(&hex::encode_upper(number.as_bytes())));
}
