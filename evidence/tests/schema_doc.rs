//! docs/export-schema.md is the export's column schema as `schema_markdown()` prints
//! it: the documentation cannot drift from the code. After an intended change,
//! regenerate it with `ZAIRYU_BLESS=1 cargo test -p zairyu-evidence --test schema_doc`.

#[test]
fn the_documented_export_schema_is_the_code_s() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/export-schema.md");
    let want = format!(
        "# Registry export, schema {}\n\n`zairyu export --format csv|jsonl` writes these columns, in this order \
         (generated from `zairyu_evidence::COLUMNS`; do not edit by hand).\n\n{}",
        zairyu_evidence::EXPORT_SCHEMA,
        zairyu_evidence::export::schema_markdown()
    );
    if std::env::var_os("ZAIRYU_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let got = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(got == want, "docs/export-schema.md is out of date: regenerate it (see the module docs)");
}
