//! Code tables of the second generation (GEN2 §3.3.4; `docs/spec-facts.md`, code
//! tables): the small lists the spec fixes (sex, work restriction, comprehensive
//! permission), the nationality/region table shipped as data, and the
//! user-supplied [`CodeTable`] for codes the Ministry hands out separately.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A code with its names in Japanese and English, where known.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Coded {
    /// The code exactly as stored (zero fill removed).
    pub code: String,
    /// Japanese name, if the code is in the table.
    pub ja: Option<String>,
    /// English name, if the code is in the table.
    pub en: Option<String>,
}

impl Coded {
    pub(crate) fn raw(code: String) -> Self {
        Coded { code, ja: None, en: None }
    }
    pub(crate) fn named(code: String, ja: &str, en: &str) -> Self {
        Coded { code, ja: Some(ja.to_owned()), en: Some(en.to_owned()) }
    }
}

/// `C7` 性別 (notes §6.2).
pub fn sex_name(code: char) -> Option<(&'static str, &'static str)> {
    match code {
        '1' => Some(("男", "male")),
        '2' => Some(("女", "female")),
        '3' => Some(("未指定", "unspecified")),
        _ => None,
    }
}

/// `CC` 就労制限の有無 (notes §6.2). Unknown codes stay raw.
pub fn work_restriction_name(code: char) -> Option<(&'static str, &'static str)> {
    match code {
        '1' => Some(("就労制限なし", "no work restriction")),
        '2' => Some(("在留資格に基づく就労活動のみ可", "only work permitted under the status of residence")),
        '4' => Some(("指定書により指定された就労活動のみ可", "only work designated in the designation document")),
        '9' => Some(("就労不可", "work not permitted")),
        _ => None,
    }
}

/// `D5` 資格外活動 包括許可 (notes §6.2).
pub fn comprehensive_permission_name(code: char) -> Option<(&'static str, &'static str)> {
    match code {
        '0' => Some(("なし", "none")),
        '1' => Some((
            "許可あり（原則週28時間以内・風俗営業等の従事を除く）",
            "permitted: up to 28 hours a week, excluding adult-entertainment businesses",
        )),
        '2' => Some(("許可あり（教育等に係る資格外活動）", "permitted: activities related to education etc.")),
        _ => None,
    }
}

/// The nationality/region table (`C8`, notes §6.3): ISO 3166-1 alpha-3 plus `XXX`
/// (stateless), shipped as data in `core/data/nationality.tsv`.
pub fn nationality(code: &str) -> Option<(&'static str, &'static str)> {
    static TABLE: OnceLock<BTreeMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        include_str!("../../data/nationality.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut it = l.split('\t');
                let code = it.next()?;
                let _numeric = it.next()?;
                Some((code, (it.next()?, it.next()?)))
            })
            .collect()
    });
    table.get(code).copied()
}

/// A user-supplied code table for 在留資格 (status of residence, `C9`) or other codes
/// the Ministry hands out separately (second-generation notes §6.4).
///
/// File format: UTF-8 text, one code per line, `code<TAB>Japanese name<TAB>English
/// name` (the English column may be empty); lines starting with `#` and blank lines are
/// ignored. Codes are matched exactly as stored on the card, zero fill removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeTable {
    entries: BTreeMap<String, (String, String)>,
}

impl CodeTable {
    /// Parses the text of a table file. Returns the 1-based line number of a bad line.
    pub fn parse(text: &str) -> Result<Self, usize> {
        let mut entries = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut it = line.split('\t');
            let code = it.next().unwrap_or_default().trim();
            let ja = it.next().map(str::trim).unwrap_or_default();
            let en = it.next().map(str::trim).unwrap_or_default();
            if code.is_empty() || ja.is_empty() || it.next().is_some() {
                return Err(i + 1);
            }
            entries.insert(code.to_owned(), (ja.to_owned(), en.to_owned()));
        }
        Ok(CodeTable { entries })
    }

    /// Reads and parses a table file. An unreadable file or a bad line is
    /// [`crate::error::InputError::BadFile`] naming the file (and the line).
    pub fn load(path: &std::path::Path) -> crate::Result<Self> {
        let bad = |reason: String| crate::error::InputError::BadFile { path: path.display().to_string(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        Ok(Self::parse(&text)
            .map_err(|line| bad(format!("line {line}: expected code<TAB>Japanese name[<TAB>English name]")))?)
    }

    /// Looks a code up.
    pub fn get(&self, code: &str) -> Option<(&str, &str)> {
        self.entries.get(code).map(|(j, e)| (j.as_str(), e.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
