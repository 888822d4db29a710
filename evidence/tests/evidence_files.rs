//! Evidence files: re-verified offline with the same result as the read; a changed
//! byte anywhere is found; the station signature; the card number only on request.

use zairyu::CardNumber;
use zairyu::files::CardType;
use zairyu::verify::{TrustStore, Verdict};
use zairyu_evidence::{
    CardNumberPolicy, EvidenceOptions, Integrity, StationKey, StationStatus, evidence_json, verify_evidence,
};

mod common;

fn station() -> StationKey {
    // A throw-away P-256 key of the simulator's write PKI fixtures is not at hand
    // here, so one is derived from a fixed scalar (tests only).
    use p256::pkcs8::EncodePrivateKey;
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    StationKey::from_pkcs8_der(key.to_pkcs8_der().unwrap().as_bytes()).unwrap()
}

const TYPES: [CardType; 4] = [
    CardType::ResidenceCard,
    CardType::SpecialPermanentResident,
    CardType::Gen2ResidenceCard,
    CardType::Gen2SpecialPermanentResident,
];

#[test]
fn re_verification_gives_the_result_of_the_read() {
    let trust = zairyu_sim::test_trust_store();
    let key = station();
    for t in TYPES {
        let read = common::read(t);
        for signed in [false, true] {
            let opts = EvidenceOptions {
                created_at_unix: Some(common::NOW),
                station_key: signed.then_some(&key),
                ..EvidenceOptions::default()
            };
            let bytes = evidence_json(&read, &opts);
            let v = verify_evidence(&bytes, &trust);
            assert_eq!(v.integrity, Integrity::Intact, "{t:?}");
            assert!(v.matches_recorded, "{t:?}: {:?}", v.differences);
            assert!(v.accepted());
            assert_eq!(v.verdict(), Some(Verdict::Test));
            assert_eq!(v.recorded_verdict.as_deref(), Some("test"));
            match (&v.station, signed) {
                (StationStatus::Valid { key_sha256 }, true) => assert_eq!(*key_sha256, key.key_sha256()),
                (StationStatus::Unsigned, false) => {}
                (s, _) => panic!("{t:?}: station {s:?}"),
            }
            // The rebuilt read reports exactly as the original one.
            let again = zairyu::report::Report::from_read(v.read.as_ref().unwrap()).to_json_pretty();
            let original = zairyu::report::Report::from_read(&read).to_json_pretty();
            assert_eq!(again, original, "{t:?}");
            // Same evidence bytes for the same read and time: canonical.
            assert_eq!(evidence_json(&read, &opts), bytes);
        }
    }
}

#[test]
fn other_trust_gives_another_result_and_says_so() {
    let read = common::read(CardType::Gen2ResidenceCard);
    let bytes = evidence_json(&read, &EvidenceOptions { created_at_unix: Some(common::NOW), ..Default::default() });
    let v = verify_evidence(&bytes, &TrustStore::new());
    assert_eq!(v.integrity, Integrity::Intact);
    assert_eq!(v.verdict(), Some(Verdict::Untrusted));
    assert!(!v.matches_recorded && !v.accepted());
    assert!(v.differences.contains(&"verdict".to_string()), "{:?}", v.differences);
}

#[test]
fn a_forged_card_stays_invalid_offline() {
    let read = common::read_with(zairyu_sim::IssueOptions {
        card_type: CardType::ResidenceCard,
        card_number: common::NUMBER.into(),
        tamper_front_image: true,
        ..Default::default()
    });
    assert_eq!(read.verification.verdict(), Verdict::Invalid);
    let bytes = evidence_json(&read, &EvidenceOptions { created_at_unix: Some(common::NOW), ..Default::default() });
    let v = verify_evidence(&bytes, &zairyu_sim::test_trust_store());
    assert!(v.accepted(), "the evidence is intact; the card is not");
    assert_eq!(v.verdict(), Some(Verdict::Invalid));
}

/// Byte ranges of the evidence text worth flipping: each value of the document.
fn regions(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for key in [
        "\"base64\":\"",
        "\"sha256\":\"",
        "\"card_type\":\"",
        "\"apdus\":",
        "\"bytes_received\":",
        "\"created_at\":\"",
        "\"created_at_unix\":",
        "\"zairyu_version\":\"",
        "\"verdict\":\"",
        "\"signature\":\"",
        "\"chain\":\"",
        "\"content_sha256\":\"",
        "\"public_key\":\"",
        "\"key_sha256\":\"",
        "\"message\":\"",
        "\"policy\":\"",
        "\"length\":",
        "\"name\":\"",
    ] {
        let mut from = 0;
        while let Some(at) = text[from..].find(key) {
            let start = from + at + key.len();
            out.push((key.to_string(), start));
            out.push((key.to_string(), start + 1));
            from = start;
        }
    }
    out
}

fn assert_detected(bytes: &[u8], trust: &TrustStore, what: &str) {
    let v = verify_evidence(bytes, trust);
    assert!(!v.accepted(), "{what}: a changed byte was not detected");
    assert_ne!(v.integrity, Integrity::Intact, "{what}");
}

#[test]
fn a_changed_byte_anywhere_is_detected() {
    let trust = zairyu_sim::test_trust_store();
    let key = station();
    for t in [CardType::ResidenceCard, CardType::Gen2ResidenceCard] {
        let read = common::read(t);
        for signed in [true, false] {
            let opts = EvidenceOptions {
                created_at_unix: Some(common::NOW),
                station_key: signed.then_some(&key),
                ..Default::default()
            };
            let bytes = evidence_json(&read, &opts);
            let text = String::from_utf8(bytes.clone()).unwrap();
            let mut positions: Vec<(String, usize)> = regions(&text);
            // And a stride over the whole file, first and last byte included.
            positions.extend((0..bytes.len()).step_by(211).map(|i| ("stride".to_string(), i)));
            positions.push(("last".into(), bytes.len() - 2));
            for (what, at) in positions {
                for flip in [0x01u8, 0x20] {
                    let mut changed = bytes.clone();
                    changed[at] ^= flip;
                    if changed[at] == bytes[at] {
                        continue;
                    }
                    assert_detected(&changed, &trust, &format!("{t:?} signed={signed} {what} at {at} ^{flip:#x}"));
                }
            }
            // Truncated, or with a byte added.
            assert_detected(&bytes[..bytes.len() / 2], &trust, "truncated");
            let mut longer = bytes.clone();
            longer.insert(10, b' ');
            assert_detected(&longer, &trust, "a space added");
        }
    }
}

#[test]
fn a_forger_who_recomputes_the_hashes_is_caught_by_the_station_signature() {
    let read = common::read(CardType::ResidenceCard);
    let key = station();
    let opts = EvidenceOptions { created_at_unix: Some(common::NOW), station_key: Some(&key), ..Default::default() };
    let bytes = evidence_json(&read, &opts);
    let mut doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    // Change an unsigned metric and recompute content_sha256 consistently.
    doc["content"]["metrics"]["apdus"] = serde_json::json!(1);
    let content = zairyu_evidence::evidence::canonical_json(&doc["content"]);
    doc["content_sha256"] = serde_json::json!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(content.as_bytes())));
    let forged = format!("{}\n", zairyu_evidence::evidence::canonical_json(&doc));
    let v = verify_evidence(forged.as_bytes(), &zairyu_sim::test_trust_store());
    assert!(matches!(v.station, StationStatus::Invalid { .. }), "{:?}", v.station);
    assert!(!v.accepted());
    // Without a station signature the same forgery passes: the metrics are
    // protected by nothing else (documented).
    doc["station"] = serde_json::Value::Null;
    let unsigned = format!("{}\n", zairyu_evidence::evidence::canonical_json(&doc));
    assert!(verify_evidence(unsigned.as_bytes(), &zairyu_sim::test_trust_store()).accepted());
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    h.windows(n.len()).any(|w| w == n)
}

#[test]
fn the_card_number_only_on_request() {
    use base64::Engine as _;
    let read = common::read(CardType::Gen2ResidenceCard);
    let number = CardNumber::parse(common::NUMBER).unwrap();
    let decoded_files = |bytes: &[u8]| -> Vec<Vec<u8>> {
        let doc: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        doc["content"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| base64::engine::general_purpose::STANDARD.decode(f["base64"].as_str().unwrap()).unwrap())
            .collect()
    };
    for policy in [CardNumberPolicy::Redact, CardNumberPolicy::RedactTyped(&number)] {
        let opts = EvidenceOptions { created_at_unix: Some(common::NOW), card_number: policy, ..Default::default() };
        let bytes = evidence_json(&read, &opts);
        assert!(!contains(&bytes, common::NUMBER.as_bytes()));
        assert!(decoded_files(&bytes).iter().all(|f| !contains(f, common::NUMBER.as_bytes())));
        let v = verify_evidence(&bytes, &zairyu_sim::test_trust_store());
        assert!(v.accepted() && v.card_number_full.is_none());
    }
    let opts = EvidenceOptions {
        created_at_unix: Some(common::NOW),
        card_number: CardNumberPolicy::Include(&number),
        ..Default::default()
    };
    let bytes = evidence_json(&read, &opts);
    assert!(decoded_files(&bytes).iter().any(|f| contains(f, common::NUMBER.as_bytes())));
    let v = verify_evidence(&bytes, &zairyu_sim::test_trust_store());
    assert!(v.accepted());
    assert_eq!(v.card_number_full.as_deref().map(String::as_str), Some(common::NUMBER));
    // Never in the JSON summary.
    assert!(!v.to_json().to_string().contains(common::NUMBER));
}

#[test]
fn text_only_and_under_16_reads_round_trip() {
    let trust = zairyu_sim::test_trust_store();
    let under_16 = common::read_with(zairyu_sim::IssueOptions {
        card_type: CardType::ResidenceCard,
        card_number: common::NUMBER.into(),
        under_16: true,
        ..Default::default()
    });
    let bytes = evidence_json(&under_16, &EvidenceOptions { created_at_unix: Some(common::NOW), ..Default::default() });
    let v = verify_evidence(&bytes, &trust);
    assert!(v.accepted(), "{:?} {:?}", v.integrity, v.differences);
    assert_eq!(v.verdict(), Some(Verdict::Absent));
}

#[test]
fn not_evidence_is_malformed_not_a_panic() {
    let trust = TrustStore::new();
    for bytes in [&b""[..], b"{}", b"[]", b"null", b"{\"format\":\"zairyu-evidence\",\"version\":2}", b"\xff\xfe"] {
        let v = verify_evidence(bytes, &trust);
        assert!(!v.accepted());
        assert_ne!(v.integrity, Integrity::Intact);
    }
}
