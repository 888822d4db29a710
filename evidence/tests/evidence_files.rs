//! Evidence files: re-verified offline with the same result as the read; a changed
//! byte anywhere is found unless the hashes are recomputed (a forger): then only a
//! pinned station key catches it, and without one the verdict says what it does not
//! prove; the station signature; the card number only on request.

use zairyu::CardNumber;
use zairyu::files::CardType;
use zairyu::verify::{TrustStore, Verdict};
use zairyu_evidence::{
    CardNumberPolicy, EvidenceOptions, EvidenceVerdict, Integrity, Proves, StationKey, StationPin, StationStatus,
    VerifyOptions, evidence_json, verify_evidence, verify_evidence_with,
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
    let v = verify_evidence(unsigned.as_bytes(), &zairyu_sim::test_trust_store());
    assert!(v.accepted());
    // ... and the verdict says so.
    assert_eq!(v.proves(), Proves::ChipSignedFieldsOnly);
    assert_eq!(v.to_json()["proves"], "chip_signed_fields_only");
    assert!(v.to_json()["caveat"].as_str().is_some_and(|c| c.contains("recomputed hashes")));
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
    // Never in the JSON summary, nor in a debug print (logs).
    assert!(!v.to_json().to_string().contains(common::NUMBER));
    let debug = format!("{v:?}");
    assert!(!debug.contains(common::NUMBER) && !debug.contains("12345678"), "{debug}");
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

/// The document of an evidence file with `edit` applied and `content_sha256`
/// recomputed, written canonically: what a forger with the file in hand produces.
fn forge(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    use sha2::Digest as _;
    let mut doc: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    edit(&mut doc);
    let content = zairyu_evidence::evidence::canonical_json(&doc["content"]);
    doc["content_sha256"] = serde_json::json!(hex::encode(sha2::Sha256::digest(content.as_bytes())));
    format!("{}\n", zairyu_evidence::evidence::canonical_json(&doc)).into_bytes()
}

/// Changes a file's bytes and recomputes its length and SHA-256.
fn edit_file(doc: &mut serde_json::Value, name: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let files = doc["content"]["files"].as_array_mut().unwrap();
    let f = files.iter_mut().find(|f| f["name"] == name).expect("the file");
    let mut bytes = b64.decode(f["base64"].as_str().unwrap()).unwrap();
    edit(&mut bytes);
    f["length"] = serde_json::json!(bytes.len());
    f["sha256"] = serde_json::json!(hex::encode(sha2::Sha256::digest(&bytes)));
    f["base64"] = serde_json::json!(b64.encode(&bytes));
}

/// Signs the document's content with `key` (as a forger with a key of their own).
fn re_sign(doc: &mut serde_json::Value, key: &p256::ecdsa::SigningKey) {
    use base64::Engine as _;
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::EncodePublicKey as _;
    use sha2::Digest as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut msg = zairyu_evidence::evidence::STATION_SIGNATURE_CONTEXT.to_vec();
    msg.extend_from_slice(zairyu_evidence::evidence::canonical_json(&doc["content"]).as_bytes());
    let sig: p256::ecdsa::DerSignature = key.sign(&msg);
    let spki = p256::ecdsa::VerifyingKey::from(key).to_public_key_der().unwrap();
    doc["station"] = serde_json::json!({
        "algorithm": "ecdsa-p256-sha256",
        "public_key": b64.encode(spki.as_bytes()),
        "key_sha256": hex::encode(sha2::Sha256::digest(spki.as_bytes())),
        "signature": b64.encode(sig.as_bytes()),
    });
}

const ADDRESS: &str = "TOKYO CHIYODA 1-1";
const FORGED_ADDRESS: &str = "OSAKA KITA-KU 9-9";

fn read_with_address() -> zairyu::sequence::CardRead {
    common::read_with(zairyu_sim::IssueOptions {
        card_type: CardType::ResidenceCard,
        card_number: common::NUMBER.into(),
        address: Some(zairyu_sim::Address {
            date: "20190501".into(),
            municipality_code: "131016".into(),
            text: ADDRESS.into(),
        }),
        ..Default::default()
    })
}

/// The reviewer's forgery: the first generation's address (DF2/EF01, not covered by
/// the chip's signature), the full card number, the creation time and the recorded
/// verification time rewritten, the hashes recomputed, the station signature left out.
fn the_reviewers_forgery(bytes: &[u8]) -> Vec<u8> {
    forge(bytes, |doc| {
        doc["station"] = serde_json::Value::Null;
        edit_file(doc, "DF2/EF01", |b| {
            let at = b.windows(ADDRESS.len()).position(|w| w == ADDRESS.as_bytes()).expect("the address");
            b[at..at + ADDRESS.len()].copy_from_slice(FORGED_ADDRESS.as_bytes());
        });
        let c = &mut doc["content"];
        c["card_number_full"] = serde_json::json!("ZZ99999999ZZ");
        c["created_at_unix"] = serde_json::json!(common::NOW - 86_400);
        c["created_at"] = serde_json::json!(zairyu_evidence::evidence::rfc3339_utc(common::NOW - 86_400));
        c["verification"]["verified_at_unix"] = serde_json::json!(common::NOW - 86_400);
    })
}

fn address_of(v: &EvidenceVerdict) -> String {
    let row = zairyu_evidence::export_row(v.read.as_ref().unwrap(), &Default::default());
    row.get("address").unwrap().as_text()
}

fn pinned<'a>(pins: &'a [[u8; 32]]) -> VerifyOptions<'a> {
    VerifyOptions { station_keys: pins, ..Default::default() }
}

#[test]
fn the_reviewers_forgery_is_accepted_only_with_its_caveat_and_rejected_under_a_pinned_key() {
    let trust = zairyu_sim::test_trust_store();
    let key = station();
    let read = read_with_address();
    let genuine = evidence_json(&read, &EvidenceOptions { created_at_unix: Some(common::NOW), ..Default::default() });
    assert_eq!(address_of(&verify_evidence(&genuine, &trust)), ADDRESS);
    let forged = the_reviewers_forgery(&genuine);

    // Without a pinned key the forgery cannot be told apart: accepted, but the verdict
    // says plainly that only the chip-signed fields are proven.
    let v = verify_evidence(&forged, &trust);
    assert!(v.accepted(), "{:?} {:?}", v.integrity, v.differences);
    assert_eq!(address_of(&v), FORGED_ADDRESS);
    assert_eq!(v.station_pin, StationPin::NoneGiven);
    assert_eq!(v.proves(), Proves::ChipSignedFieldsOnly);
    assert_eq!(v.caveat(), Some(zairyu_evidence::UNPINNED_CAVEAT));
    let j = v.to_json();
    assert_eq!((j["accepted"].as_bool(), j["proves"].as_str()), (Some(true), Some("chip_signed_fields_only")));
    let caveat = j["caveat"].as_str().unwrap();
    for word in ["pinned station key", "chip's signature", "card number", "times", "metadata", "recomputed hashes"] {
        assert!(caveat.contains(word), "{word}: {caveat}");
    }
    assert_eq!(j["station_pin"]["status"], "none_given");
    assert_eq!(j["rejected_because"], serde_json::json!([]));
    // The chip-signed fields are still what the chip signed; the address is not.
    let row = zairyu_evidence::export_row(v.read.as_ref().unwrap(), &Default::default());
    assert_eq!(row.get("card_face_image_signed"), Some(&zairyu_evidence::export::Cell::Bool(true)));
    assert_eq!(row.get("address_signed"), Some(&zairyu_evidence::export::Cell::Bool(false)));

    // With the station's key pinned: rejected, and the verdict says why.
    let pins = [key.key_sha256_bytes()];
    let v = verify_evidence_with(&forged, &trust, &pinned(&pins));
    assert!(!v.accepted());
    assert_eq!(v.integrity, Integrity::Intact);
    assert_eq!(v.station_pin, StationPin::Unsigned);
    assert_eq!(v.proves(), Proves::Nothing);
    assert_eq!(v.caveat(), None);
    let j = v.to_json();
    assert_eq!((j["accepted"].as_bool(), j["proves"].as_str()), (Some(false), Some("nothing")));
    assert_eq!(j["station_pin"]["status"], "unsigned");
    assert!(j["caveat"].is_null());
    let why = j["rejected_because"][0].as_str().unwrap();
    assert!(why.contains("no station signature") && why.contains("pinned"), "{why}");
    // The genuine unsigned file is rejected under a pin too: nothing ties it to a station.
    assert!(!verify_evidence_with(&genuine, &trust, &pinned(&pins)).accepted());
}

#[test]
fn a_station_signed_file_is_accepted_whole_only_under_its_pinned_key() {
    let trust = zairyu_sim::test_trust_store();
    let key = station();
    let other_key = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
    let read = read_with_address();
    let opts = EvidenceOptions { created_at_unix: Some(common::NOW), station_key: Some(&key), ..Default::default() };
    let signed = evidence_json(&read, &opts);
    let pins = [key.key_sha256_bytes()];

    // The genuine file under the right pin (also among others): the whole file is proven.
    for pins in [&pins[..], &[[0u8; 32], key.key_sha256_bytes()][..]] {
        let v = verify_evidence_with(&signed, &trust, &pinned(pins));
        assert!(v.accepted(), "{:?}", v.rejection_reasons());
        assert_eq!(v.station_pin, StationPin::Pinned { key_sha256: key.key_sha256() });
        assert_eq!(v.proves(), Proves::WholeFile);
        assert_eq!(v.caveat(), None);
        let j = v.to_json();
        assert_eq!((j["proves"].as_str(), j["station_pin"]["status"].as_str()), (Some("whole_file"), Some("pinned")));
        assert!(j["caveat"].is_null());
    }
    // Without a pin the signature is checked against the key in the file: that proves
    // nothing about the station, so the caveat stays.
    let v = verify_evidence(&signed, &trust);
    assert!(v.accepted());
    assert_eq!(v.proves(), Proves::ChipSignedFieldsOnly);

    // Under another pin: an unknown key.
    let v = verify_evidence_with(&signed, &trust, &pinned(&[[0u8; 32]]));
    assert!(!v.accepted());
    assert_eq!(v.station_pin, StationPin::UnknownKey { key_sha256: key.key_sha256() });
    assert!(v.rejection_reasons()[0].contains("not pinned"), "{:?}", v.rejection_reasons());

    // The forgery signed again with the forger's own key: a valid signature under the
    // key the file carries, so accepted (with the caveat) without a pin, rejected under it.
    let re_signed = forge(&the_reviewers_forgery(&signed), |doc| re_sign(doc, &other_key));
    let v = verify_evidence(&re_signed, &trust);
    assert!(matches!(v.station, StationStatus::Valid { .. }), "{:?}", v.station);
    assert!(v.accepted() && v.proves() == Proves::ChipSignedFieldsOnly);
    let v = verify_evidence_with(&re_signed, &trust, &pinned(&pins));
    assert!(!v.accepted());
    assert!(matches!(v.station_pin, StationPin::UnknownKey { .. }), "{:?}", v.station_pin);
    assert_eq!(v.to_json()["station_pin"]["status"], "unknown_key");

    // The signature stripped (content untouched): rejected under the pin.
    let stripped = forge(&signed, |doc| doc["station"] = serde_json::Value::Null);
    let v = verify_evidence(&stripped, &trust);
    assert!(v.accepted() && v.proves() == Proves::ChipSignedFieldsOnly);
    let v = verify_evidence_with(&stripped, &trust, &pinned(&pins));
    assert!(!v.accepted());
    assert_eq!(v.station_pin, StationPin::Unsigned);

    // The content changed under the genuine signature: altered, and under the pin the
    // station signature is invalid.
    let changed = forge(&signed, |doc| doc["content"]["metrics"]["apdus"] = serde_json::json!(1));
    let v = verify_evidence_with(&changed, &trust, &pinned(&pins));
    assert!(!v.accepted());
    assert_eq!(v.station_pin, StationPin::SignatureInvalid);
    assert!(matches!(v.integrity, Integrity::Altered(_)));
    assert!(v.rejection_reasons()[0].starts_with("altered: station signature"), "{:?}", v.rejection_reasons());
}

#[test]
fn station_key_pins_from_hex_and_from_the_public_key() {
    let key = station();
    let pin = zairyu_evidence::parse_station_key_sha256(&key.key_sha256()).unwrap();
    assert_eq!(pin, key.key_sha256_bytes());
    assert_eq!(zairyu_evidence::parse_station_key_sha256(&key.key_sha256().to_uppercase()).unwrap(), pin);
    assert_eq!(zairyu_evidence::station_public_key_sha256(&key.public_key_der()).unwrap(), pin);
    let pem = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(key.public_key_der());
        format!("-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n", &b64[..64], &b64[64..])
    };
    assert_eq!(zairyu_evidence::station_public_key_sha256(pem.as_bytes()).unwrap(), pin);
    for bad in ["", "00", &"g".repeat(64), &"0".repeat(66)] {
        assert!(zairyu_evidence::parse_station_key_sha256(bad).is_err(), "{bad}");
    }
    assert!(zairyu_evidence::station_public_key_sha256(b"not a key").is_err());
}
