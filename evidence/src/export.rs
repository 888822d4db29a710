//! Registry export: one row per card with the fields a residence record (住民票)
//! needs, under a documented, versioned column schema ([`COLUMNS`],
//! [`EXPORT_SCHEMA`]), written as CSV (RFC 4180, UTF-8, optional BOM) or JSON lines.
//!
//! Dates are ISO 8601 (`YYYY-MM-DD`); with [`ExportOptions::japanese_era`] each date
//! also has an `_era` column as registry systems print it (`令和元年5月1日`,
//! `平成31年4月30日`, `昭和64年1月7日`): 令和 from 2019-05-01, 平成 from 1989-01-08,
//! 昭和 from 1926-12-25, 大正 from 1912-07-30, 明治 from 1873-01-01 (the Gregorian
//! calendar's adoption; earlier dates get no era). A value with a wrong form is left
//! empty (the `warnings` column names it). The card number is redacted
//! (`AB********CD`) unless the caller passes the full number. Every field has a
//! `*_signed` column: `true` only where a valid signature chained to a trust anchor
//! covers it on this card ([`zairyu::verify::bound_fields`]).

use std::fmt::Write as _;

use zairyu::CardNumber;
use zairyu::files::gen2::Coded;
use zairyu::files::{Flag, RenewalStatus, Text, is_calendar_date};
use zairyu::sequence::{CardData, CardRead};
use zairyu::verify::bound_fields;

/// Version of the column schema; it changes whenever a column is added, removed,
/// renamed or changes meaning.
pub const EXPORT_SCHEMA: u32 = 1;

/// One column: its name and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header.
    pub name: &'static str,
    /// What it holds.
    pub description: &'static str,
}

const fn col(name: &'static str, description: &'static str) -> Column {
    Column { name, description }
}

/// The columns of schema version 1, in order. Empty means "not on this card" or "not
/// read"; booleans are `true`/`false`.
pub const COLUMNS: &[Column] = &[
    col("schema_version", "1"),
    col("card_type", "1, 2 (first generation), 05, 06 (second generation)"),
    col("card_type_ja", "在留カード, 特別永住者証明書, …"),
    col("generation", "1 or 2"),
    col("verdict", "production, test, untrusted, invalid, absent, not_checked"),
    col("verdict_ja", "the verdict for a clerk, in Japanese"),
    col("card_number", "AB********CD, or in full only when requested"),
    col("name", "always empty: the chip holds the name only as an image"),
    col("name_source", "image (card-face image on the first generation, name image on the second), or not_read"),
    col("birth_date", "生年月日, YYYY-MM-DD (second generation)"),
    col("birth_date_era", "生年月日 in the Japanese era, if requested"),
    col("sex_code", "性別 code: 1, 2, 3"),
    col("sex", "性別 in Japanese: 男, 女, 未指定"),
    col("nationality_code", "国籍・地域, ISO 3166-1 alpha-3 or XXX"),
    col("nationality_ja", "国籍・地域 in Japanese"),
    col("nationality_en", "国籍・地域 in English"),
    col("status_of_residence_code", "在留資格 code as stored"),
    col("status_of_residence_ja", "在留資格 in Japanese, from the user's status table"),
    col("status_of_residence_en", "在留資格 in English, from the user's status table"),
    col("period_of_stay", "在留期間 as printed: 3年, 1年3月, 90日, 無期限 (or the stored value)"),
    col("stay_expiry", "在留期間の満了日, YYYY-MM-DD"),
    col("stay_expiry_era", "in the Japanese era"),
    col("card_expiry", "有効期間の満了日, YYYY-MM-DD"),
    col("card_expiry_era", "in the Japanese era"),
    col("permission_type", "許可の種類 code"),
    col("permission_date", "許可年月日, YYYY-MM-DD"),
    col("permission_date_era", "in the Japanese era"),
    col("work_restriction_code", "就労制限の有無 code: 1, 2, 4, 9"),
    col("work_restriction", "就労制限の有無 in Japanese"),
    col("address", "住居地: the text on the first generation; empty on the second"),
    col("address_source", "text, image (the second generation holds the address only as an image), or not_read"),
    col("address_written_on", "住居地の追記年月日, YYYY-MM-DD (first generation)"),
    col("address_written_on_era", "in the Japanese era"),
    col("municipality_code", "市町村コード (first generation)"),
    col("comprehensive_permission", "資格外活動許可 (包括): first generation text, second generation in Japanese"),
    col("comprehensive_permission_deadline", "包括許可の期限, YYYY-MM-DD (second generation)"),
    col("comprehensive_permission_deadline_era", "in the Japanese era"),
    col("individual_permission", "資格外活動許可 (個別): first generation text, second generation true/false"),
    col("renewal_application", "在留期間更新等許可申請中: true/false"),
    col("note_recorded", "長官記録事項の有無: true/false (second generation)"),
    col("warnings", "warning codes of the read, separated by spaces"),
    col("card_number_signed", "whether the signature covers the field (here and below)"),
    col("name_signed", ""),
    col("photo_signed", "the face photo"),
    col("card_face_image_signed", "the first generation's card-face image"),
    col("birth_date_signed", ""),
    col("sex_signed", ""),
    col("nationality_signed", ""),
    col("status_of_residence_signed", ""),
    col("period_of_stay_signed", ""),
    col("stay_expiry_signed", ""),
    col("card_expiry_signed", ""),
    col("permission_type_signed", ""),
    col("permission_date_signed", ""),
    col("work_restriction_signed", ""),
    col("address_signed", ""),
    col("address_written_on_signed", ""),
    col("municipality_code_signed", ""),
    col("comprehensive_permission_signed", ""),
    col("comprehensive_permission_deadline_signed", ""),
    col("individual_permission_signed", ""),
    col("renewal_application_signed", ""),
    col("note_recorded_signed", ""),
];

/// A cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// No value.
    Empty,
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
}

impl Cell {
    fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into())
    }
    fn opt(s: Option<impl Into<String>>) -> Self {
        s.map_or(Cell::Empty, |s| Cell::Text(s.into()))
    }

    /// The cell as CSV shows it (before quoting).
    pub fn as_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Bool(b) => b.to_string(),
            Cell::Int(i) => i.to_string(),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Cell::Empty => serde_json::Value::Null,
            Cell::Text(s) => serde_json::Value::String(s.clone()),
            Cell::Bool(b) => serde_json::Value::Bool(*b),
            Cell::Int(i) => serde_json::Value::from(*i),
        }
    }
}

/// One row: a cell per column of [`COLUMNS`], in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The cells.
    pub cells: Vec<Cell>,
}

impl Row {
    /// The cell of a column by name.
    pub fn get(&self, column: &str) -> Option<&Cell> {
        COLUMNS.iter().position(|c| c.name == column).and_then(|i| self.cells.get(i))
    }
}

/// Options of [`export_row`].
#[derive(Debug, Default, Clone, Copy)]
pub struct ExportOptions<'a> {
    /// The full card number, written only when given (`--include-card-number`).
    pub card_number: Option<&'a CardNumber>,
    /// Fill the `*_era` columns.
    pub japanese_era: bool,
}

/// A `YYYYMMDD` date as ISO 8601 `YYYY-MM-DD`, if it is a calendar date.
pub fn iso_date(d: &str) -> Option<String> {
    is_calendar_date(d).then(|| format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..8]))
}

/// A `YYYYMMDD` date in the Japanese era (`令和元年5月1日`), if it is a calendar
/// date on or after 1873-01-01.
pub fn japanese_era_date(d: &str) -> Option<String> {
    if !is_calendar_date(d) {
        return None;
    }
    let n: u32 = d.parse().ok()?;
    let (y, m, day) = (n / 10_000, n / 100 % 100, n % 100);
    let (era, first_year) = match n {
        20_190_501.. => ("令和", 2019),
        19_890_108.. => ("平成", 1989),
        19_261_225.. => ("昭和", 1926),
        19_120_730.. => ("大正", 1912),
        18_730_101.. => ("明治", 1868),
        _ => return None,
    };
    let year = y - first_year + 1;
    let year = if year == 1 { "元".to_owned() } else { year.to_string() };
    Some(format!("{era}{year}年{m}月{day}日"))
}

/// The verdict for a clerk, in Japanese.
pub fn verdict_ja(v: zairyu::verify::Verdict) -> &'static str {
    use zairyu::verify::Verdict::*;
    match v {
        Production => "真正（法務省の証明書で署名を確認）",
        Test => "テスト用カード（本物ではありません）",
        Untrusted => "署名者を確認できません（本物と確認できません）",
        Invalid => "署名が不正（偽造・改ざんの疑い）",
        Absent => "署名なし（16歳未満のカード等）：本物と確認できません",
        NotChecked => "署名を確認していません",
    }
}

fn text(t: Option<&Text>) -> Cell {
    Cell::opt(t.map(|t| t.text.clone()))
}

fn coded_ja(c: Option<&Coded>) -> Cell {
    Cell::opt(c.and_then(|c| c.ja.clone()))
}

fn flag(f: Option<&Flag>) -> Cell {
    f.and_then(Flag::as_bool).map_or(Cell::Empty, Cell::Bool)
}

/// The export row of a read.
pub fn export_row(read: &CardRead, opts: &ExportOptions<'_>) -> Row {
    let bound = bound_fields(read.card_type, &read.verification);
    let signed = |name: &str| Cell::Bool(bound.signed.contains(&name));
    let date = |d: Option<&String>| Cell::opt(d.and_then(|d| iso_date(d)));
    let era = |d: Option<&String>| {
        if opts.japanese_era { Cell::opt(d.and_then(|d| japanese_era_date(d))) } else { Cell::Empty }
    };
    let (ja, _) = read.card_type.names();
    let card_number = match opts.card_number {
        Some(n) => Cell::text(String::from_utf8_lossy(n.expose()).into_owned()),
        None => Cell::text(read.card_number_redacted.clone()),
    };
    let verdict = read.verification.verdict();
    let mut v: Vec<(&str, Cell)> = vec![
        ("schema_version", Cell::Int(i64::from(EXPORT_SCHEMA))),
        ("card_type", Cell::text(read.card_type.code())),
        ("card_type_ja", Cell::text(ja)),
        ("generation", Cell::Int(i64::from(read.card_type.generation()))),
        ("verdict", Cell::text(verdict.as_str())),
        ("verdict_ja", Cell::text(verdict_ja(verdict))),
        ("card_number", card_number),
        ("name", Cell::Empty),
    ];
    let warnings = read.warnings.iter().map(|w| w.code.as_str()).collect::<Vec<_>>().join(" ");
    match &read.data {
        CardData::Gen1(d) => {
            let a = &d.address;
            let name_source = if d.front_image.is_some() { "image" } else { "not_read" };
            v.extend([
                ("name_source", Cell::text(name_source)),
                ("address", text(a.address.as_ref())),
                ("address_source", Cell::text(if a.address.is_some() { "text" } else { "" })),
                ("address_written_on", date(a.date.as_ref())),
                ("address_written_on_era", era(a.date.as_ref())),
                ("municipality_code", Cell::opt(a.municipality_code.clone())),
                ("comprehensive_permission", text(d.comprehensive_permission.as_ref().and_then(Option::as_ref))),
                ("individual_permission", text(d.individual_permission.as_ref().and_then(Option::as_ref))),
                (
                    "renewal_application",
                    match &d.renewal {
                        Some(RenewalStatus::Pending) => Cell::Bool(true),
                        Some(RenewalStatus::None) => Cell::Bool(false),
                        _ => Cell::Empty,
                    },
                ),
                ("name_signed", signed("front")),
                ("card_face_image_signed", signed("front")),
            ]);
        }
        CardData::Gen2(d) => {
            let (p, b) = (&d.printed, &d.back);
            let name_source = if d.name_image.is_some() { "image" } else { "not_read" };
            let address_source = if d.address_image.is_some() { "image" } else { "not_read" };
            v.extend([
                ("name_source", Cell::text(name_source)),
                ("birth_date", date(p.birth_date.as_ref())),
                ("birth_date_era", era(p.birth_date.as_ref())),
                ("sex_code", Cell::opt(p.sex.as_ref().map(|c| c.code.clone()))),
                ("sex", coded_ja(p.sex.as_ref())),
                ("nationality_code", Cell::opt(p.nationality.as_ref().map(|c| c.code.clone()))),
                ("nationality_ja", coded_ja(p.nationality.as_ref())),
                ("nationality_en", Cell::opt(p.nationality.as_ref().and_then(|c| c.en.clone()))),
                ("status_of_residence_code", Cell::opt(p.status_of_residence.as_ref().map(|c| c.code.clone()))),
                ("status_of_residence_ja", coded_ja(p.status_of_residence.as_ref())),
                ("status_of_residence_en", Cell::opt(p.status_of_residence.as_ref().and_then(|c| c.en.clone()))),
                ("period_of_stay", Cell::opt(p.period_of_stay.as_ref().map(|p| p.japanese()))),
                ("stay_expiry", date(p.stay_expiry.as_ref())),
                ("stay_expiry_era", era(p.stay_expiry.as_ref())),
                ("card_expiry", date(p.card_expiry.as_ref())),
                ("card_expiry_era", era(p.card_expiry.as_ref())),
                ("permission_type", Cell::opt(p.permission_type.clone())),
                ("permission_date", date(p.permission_date.as_ref())),
                ("permission_date_era", era(p.permission_date.as_ref())),
                ("work_restriction_code", Cell::opt(p.work_restriction.as_ref().map(|c| c.code.clone()))),
                ("work_restriction", coded_ja(p.work_restriction.as_ref())),
                ("address_source", Cell::text(address_source)),
                (
                    "comprehensive_permission",
                    Cell::opt(
                        b.comprehensive_permission.as_ref().map(|c| c.ja.clone().unwrap_or_else(|| c.code.clone())),
                    ),
                ),
                ("comprehensive_permission_deadline", date(b.comprehensive_permission_deadline.as_ref())),
                ("comprehensive_permission_deadline_era", era(b.comprehensive_permission_deadline.as_ref())),
                ("individual_permission", flag(b.individual_permission.as_ref())),
                ("renewal_application", flag(b.renewal_application_pending.as_ref())),
                ("note_recorded", flag(b.note_recorded.as_ref())),
                ("name_signed", signed("name")),
                ("card_face_image_signed", Cell::Bool(false)),
            ]);
        }
    }
    v.push(("warnings", Cell::text(warnings)));
    v.push(("photo_signed", signed("face")));
    for name in [
        "card_number",
        "birth_date",
        "sex",
        "nationality",
        "status_of_residence",
        "period_of_stay",
        "stay_expiry",
        "card_expiry",
        "permission_type",
        "permission_date",
        "work_restriction",
        "address",
        "address_written_on",
        "municipality_code",
        "comprehensive_permission",
        "comprehensive_permission_deadline",
        "individual_permission",
        "renewal_application",
        "note_recorded",
    ] {
        // The export's `renewal_application` is the second generation's
        // `renewal_application_pending`.
        let covered = bound.signed.contains(&name)
            || (name == "renewal_application" && bound.signed.contains(&"renewal_application_pending"));
        v.push((leak_signed_name(name), Cell::Bool(covered)));
    }
    let cells = COLUMNS
        .iter()
        .map(|c| v.iter().find(|(n, _)| *n == c.name).map_or(Cell::Empty, |(_, cell)| cell.clone()))
        .collect();
    Row { cells }
}

/// `<name>_signed` as a static column name from [`COLUMNS`].
fn leak_signed_name(name: &str) -> &'static str {
    COLUMNS.iter().map(|c| c.name).find(|c| c.strip_suffix("_signed") == Some(name)).unwrap_or("")
}

/// Options of the CSV writer.
#[derive(Debug, Default, Clone, Copy)]
pub struct CsvOptions {
    /// Start with a UTF-8 byte order mark (for spreadsheet programs).
    pub bom: bool,
    /// Prefix a cell starting with `=`, `+`, `-`, `@`, tab or CR with `'`, so a
    /// spreadsheet does not run card text as a formula (changes the value; for
    /// spreadsheet users, not for registry import).
    pub guard_formulas: bool,
}

fn csv_field(s: &str, guard: bool, out: &mut String) {
    let guarded;
    let s = if guard && s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{s}");
        guarded.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// CSV after RFC 4180: a header line, then one line per row, fields separated by
/// commas, lines ended by CRLF, a field quoted when it holds a comma, quote, CR or LF
/// (a quote doubled inside).
pub fn write_csv(rows: &[Row], opts: &CsvOptions) -> String {
    let mut out = String::new();
    if opts.bom {
        out.push('\u{FEFF}');
    }
    let line = |cells: &mut dyn Iterator<Item = String>, out: &mut String| {
        for (i, c) in cells.enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&c, opts.guard_formulas, out);
        }
        out.push_str("\r\n");
    };
    line(&mut COLUMNS.iter().map(|c| c.name.to_owned()), &mut out);
    for r in rows {
        line(&mut r.cells.iter().map(Cell::as_text), &mut out);
    }
    out
}

/// JSON lines: one object per row, keys the column names, in [`COLUMNS`] order;
/// empty cells `null`, booleans and integers as JSON values.
pub fn write_jsonl(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows {
        let mut obj = String::from("{");
        for (i, (c, cell)) in COLUMNS.iter().zip(&r.cells).enumerate() {
            if i > 0 {
                obj.push(',');
            }
            let _ = write!(obj, "{}:{}", serde_json::Value::String(c.name.to_owned()), cell.to_json());
        }
        obj.push('}');
        out.push_str(&obj);
        out.push('\n');
    }
    out
}

/// The schema as Markdown (for the README and `--help`).
pub fn schema_markdown() -> String {
    let mut out = format!("Export schema version {EXPORT_SCHEMA}\n\n| column | holds |\n|---|---|\n");
    for c in COLUMNS {
        let _ = writeln!(out, "| `{}` | {} |", c.name, c.description);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn era_boundaries() {
        let cases = [
            ("19890107", "昭和64年1月7日"),
            ("19890108", "平成元年1月8日"),
            ("20190430", "平成31年4月30日"),
            ("20190501", "令和元年5月1日"),
            ("20250401", "令和7年4月1日"),
            ("19261224", "大正15年12月24日"),
            ("19261225", "昭和元年12月25日"),
            ("19120729", "明治45年7月29日"),
            ("19120730", "大正元年7月30日"),
            ("18730101", "明治6年1月1日"),
        ];
        for (d, want) in cases {
            assert_eq!(japanese_era_date(d).as_deref(), Some(want), "{d}");
        }
        for bad in ["18721231", "20190230", "2019050", "2019-05-01", "abcdefgh", ""] {
            assert_eq!(japanese_era_date(bad), None, "{bad}");
        }
        assert_eq!(iso_date("20190501").as_deref(), Some("2019-05-01"));
        assert_eq!(iso_date("20191301"), None);
    }

    #[test]
    fn csv_quoting_after_rfc_4180() {
        let mut out = String::new();
        for (s, want) in [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("line\nbreak", "\"line\nbreak\""),
            ("cr\r", "\"cr\r\""),
            ("東京都新宿区", "東京都新宿区"),
            ("", ""),
        ] {
            out.clear();
            csv_field(s, false, &mut out);
            assert_eq!(out, want);
        }
        out.clear();
        csv_field("=HYPERLINK(\"x\")", true, &mut out);
        assert_eq!(out, "\"'=HYPERLINK(\"\"x\"\")\"");
        out.clear();
        csv_field("=1", false, &mut out);
        assert_eq!(out, "=1");
    }

    #[test]
    fn every_column_is_named_once() {
        let mut names: Vec<_> = COLUMNS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
        assert!(schema_markdown().contains("| `birth_date_era` |"));
    }
}
