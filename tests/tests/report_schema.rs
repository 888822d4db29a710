//! The JSON report is a documented interface (README "The report"): these tests pin
//! it byte for byte for every card type and policy, so that a rename in the parser
//! or the verifier cannot change it silently. After an intended change, regenerate
//! the files with `ZAIRYU_BLESS=1 cargo test -p zairyu-tests --test report_schema`
//! and review the diff.

use std::path::PathBuf;

use zairyu::CardNumber;
use zairyu::files::CardType;
use zairyu::report::Report;
use zairyu::sequence::{ReadOptions, ReadPolicy, read_card};
use zairyu::session::Card;
use zairyu_sim::{IssueOptions, IssuedCard, SimCard, SimRandomness};
use zairyu_tests::sim_trust;

/// 2026-12-01T00:00:00Z: inside the validity of the simulator's test PKI.
const NOW: i64 = 1_796_083_200;

fn report_json(card_type: CardType, policy: ReadPolicy, sjis_address: bool) -> String {
    let opts = IssueOptions {
        card_type,
        address_encoding_sjis: sjis_address,
        randomness: SimRandomness::Seeded(7),
        ..IssueOptions::default()
    };
    let mut card = Card::new(SimCard::new(IssuedCard::issue(&opts)));
    let number = CardNumber::parse(&opts.card_number).unwrap();
    let read_opts = ReadOptions { policy, now_unix: Some(NOW), ..ReadOptions::default() };
    let read = read_card(&mut card, &number, &sim_trust(), &mut zairyu::auth::OsRandom, &read_opts).unwrap();
    let mut value = serde_json::to_value(Report::from_read(&read)).unwrap();
    // The one field that changes with every release.
    value["zairyu_version"] = "VERSION".into();
    serde_json::to_string_pretty(&value).unwrap() + "\n"
}

fn check(name: &str, json: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden").join(format!("report-{name}.json"));
    if std::env::var_os("ZAIRYU_BLESS").is_some() {
        std::fs::write(&path, json).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        expected == json,
        "the JSON report of {name} changed; if intended, bless it (see the module docs).\n--- expected\n{expected}\n--- got\n{json}"
    );
}

#[test]
fn report_of_every_card_type_is_pinned() {
    for (name, t) in [
        ("1", CardType::ResidenceCard),
        ("2", CardType::SpecialPermanentResident),
        ("05", CardType::Gen2ResidenceCard),
        ("06", CardType::Gen2SpecialPermanentResident),
    ] {
        check(name, &report_json(t, ReadPolicy::Full, false));
    }
}

#[test]
fn report_of_text_only_reads_is_pinned() {
    check("1-text-only", &report_json(CardType::ResidenceCard, ReadPolicy::TextOnly, false));
    check("05-text-only", &report_json(CardType::Gen2ResidenceCard, ReadPolicy::TextOnly, false));
}

#[test]
fn report_with_a_warning_is_pinned() {
    check("1-sjis-address", &report_json(CardType::ResidenceCard, ReadPolicy::Full, true));
}

#[test]
fn signed_and_unsigned_fields_name_every_field_of_the_report() {
    for t in [
        CardType::ResidenceCard,
        CardType::SpecialPermanentResident,
        CardType::Gen2ResidenceCard,
        CardType::Gen2SpecialPermanentResident,
    ] {
        let json: serde_json::Value = serde_json::from_str(&report_json(t, ReadPolicy::Full, false)).unwrap();
        let v = &json["verification"];
        let listed = |k: &str| -> Vec<String> {
            v[k].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
        };
        let (signed, unsigned) = (listed("signed_fields"), listed("unsigned_fields"));
        assert!(!signed.is_empty(), "{t:?}: a valid signature binds something");
        // Every name is a key of the report; every non-null field is listed once.
        let is_key =
            |n: &str| json["fields"].get(n).is_some() || json["images"].get(n).is_some() || json.get(n).is_some();
        for n in signed.iter().chain(&unsigned) {
            assert!(is_key(n), "{t:?}: {n} is not a report key");
        }
        let all: Vec<&String> = signed.iter().chain(&unsigned).collect();
        for (k, value) in json["fields"].as_object().unwrap().iter().chain(json["images"].as_object().unwrap()) {
            if !value.is_null() {
                assert_eq!(all.iter().filter(|n| **n == k).count(), 1, "{t:?}: {k} listed once");
            }
        }
        for n in ["address", "card_type", "card_number"] {
            assert!(unsigned.contains(&n.to_owned()), "{t:?}: {n} must be listed as not signed");
        }
    }
    // No valid signature: nothing is listed as signed.
    let json: serde_json::Value =
        serde_json::from_str(&report_json(CardType::ResidenceCard, ReadPolicy::TextOnly, false)).unwrap();
    assert_eq!(json["verification"]["signed_fields"], serde_json::json!([]));
}
