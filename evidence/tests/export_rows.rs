//! Registry export rows of simulated reads, and from evidence files.

use zairyu::CardNumber;
use zairyu::files::CardType;
use zairyu_evidence::export::Cell;
use zairyu_evidence::{
    COLUMNS, CsvOptions, EvidenceOptions, ExportOptions, evidence_json, export_row, verify_evidence, write_csv,
    write_jsonl,
};

mod common;

fn text(c: Option<&Cell>) -> String {
    c.expect("column").as_text()
}

#[test]
fn rows_of_both_generations() {
    let number = CardNumber::parse(common::NUMBER).unwrap();
    let gen2 = common::read(CardType::Gen2ResidenceCard);
    let row = export_row(&gen2, &ExportOptions { japanese_era: true, ..Default::default() });
    assert_eq!(row.cells.len(), COLUMNS.len());
    assert_eq!(text(row.get("verdict")), "test");
    assert_eq!(text(row.get("card_number")), "AB********CD");
    assert_eq!(text(row.get("generation")), "2");
    let birth = gen2.gen2().unwrap().printed.birth_date.clone().unwrap();
    assert_eq!(text(row.get("birth_date")), format!("{}-{}-{}", &birth[..4], &birth[4..6], &birth[6..]));
    assert!(text(row.get("birth_date_era")).ends_with('日'));
    assert_eq!(text(row.get("address")), "");
    assert_eq!(text(row.get("address_source")), "image");
    assert_eq!(row.get("birth_date_signed"), Some(&Cell::Bool(true)));
    assert_eq!(row.get("photo_signed"), Some(&Cell::Bool(true)));
    assert_eq!(row.get("address_signed"), Some(&Cell::Bool(false)));
    assert_eq!(row.get("card_number_signed"), Some(&Cell::Bool(false)));
    let full = export_row(&gen2, &ExportOptions { card_number: Some(&number), japanese_era: false });
    assert_eq!(text(full.get("card_number")), common::NUMBER);
    assert_eq!(text(full.get("birth_date_era")), "");

    let gen1 = common::read(CardType::ResidenceCard);
    let row1 = export_row(&gen1, &ExportOptions::default());
    assert_eq!(text(row1.get("address_source")), "text");
    assert!(!text(row1.get("address")).is_empty());
    assert_eq!(text(row1.get("birth_date")), "");
    assert_eq!(row1.get("card_face_image_signed"), Some(&Cell::Bool(true)));
    assert_eq!(row1.get("address_signed"), Some(&Cell::Bool(false)));

    // CSV: a header and two records of as many fields; JSON lines: two objects.
    let csv = write_csv(&[row.clone(), row1.clone()], &CsvOptions { bom: true, guard_formulas: false });
    assert!(csv.starts_with('\u{FEFF}'));
    let lines: Vec<&str> = csv.trim_start_matches('\u{FEFF}').split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].split(',').count(), COLUMNS.len());
    let jsonl = write_jsonl(&[row, row1]);
    let objects: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["schema_version"], 1);
    assert_eq!(objects[0]["birth_date_signed"], true);
    assert_eq!(objects[1]["birth_date"], serde_json::Value::Null);
}

#[test]
fn rows_from_evidence_equal_rows_from_the_read() {
    for t in [CardType::ResidenceCard, CardType::Gen2SpecialPermanentResident] {
        let read = common::read(t);
        let bytes = evidence_json(&read, &EvidenceOptions { created_at_unix: Some(common::NOW), ..Default::default() });
        let v = verify_evidence(&bytes, &zairyu_sim::test_trust_store());
        let opts = ExportOptions { japanese_era: true, ..Default::default() };
        assert_eq!(export_row(v.read.as_ref().unwrap(), &opts), export_row(&read, &opts), "{t:?}");
    }
}

#[test]
fn card_text_with_commas_quotes_and_newlines_stays_one_field() {
    let read = common::read_with(zairyu_sim::IssueOptions {
        card_type: CardType::ResidenceCard,
        card_number: common::NUMBER.into(),
        address: Some(zairyu_sim::Address {
            date: "20190501".into(),
            municipality_code: "131016".into(),
            text: "東京都千代田区,1-1 \"A\"\n2F".into(),
        }),
        ..Default::default()
    });
    let row = export_row(&read, &ExportOptions { japanese_era: true, ..Default::default() });
    assert_eq!(text(row.get("address_written_on_era")), "令和元年5月1日");
    let csv = write_csv(&[row], &CsvOptions::default());
    assert!(csv.contains(",\"東京都千代田区,1-1 \"\"A\"\"\n2F\","), "{csv}");
}

#[test]
fn guarded_formulas_start_with_a_quote_only_when_asked() {
    let read = common::read_with(zairyu_sim::IssueOptions {
        card_type: CardType::ResidenceCard,
        card_number: common::NUMBER.into(),
        address: Some(zairyu_sim::Address {
            date: "20190501".into(),
            municipality_code: "131016".into(),
            text: "=HYPERLINK(\"http://x\",\"y\")".into(),
        }),
        ..Default::default()
    });
    let row = export_row(&read, &ExportOptions::default());
    let plain = write_csv(std::slice::from_ref(&row), &CsvOptions::default());
    assert!(plain.contains(",\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","), "{plain}");
    let guarded = write_csv(&[row], &CsvOptions { guard_formulas: true, ..Default::default() });
    assert!(guarded.contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","), "{guarded}");
    assert!(!guarded.contains(",\"=") && !guarded.contains(",="), "{guarded}");
}
