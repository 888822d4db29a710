//! Which counters may write for which municipality codes.
//!
//! A small file, TOML or JSON, read at start-up:
//!
//! ```toml
//! version = 1
//!
//! [[counter]]
//! id = "shinagawa-window-1"            # the counter's identity (its TLS client name in the service)
//! municipalities = ["131091"]          # 6-digit codes with a valid check digit
//!
//! [[counter]]
//! id = "tokyo-metro-bench"
//! municipalities = ["13*"]             # every code of prefecture 13 (two digits then `*`)
//!
//! [[counter]]
//! id = "ministry-test-bench"
//! municipalities = ["*"]               # every municipality
//! max_sessions_per_minute = 30         # optional: the service's rate limit for this counter
//! ```
//!
//! The check runs at the opening of a write session, before anything is sent to the
//! card; a refusal is a [`PolicyRefusal`] with a stable [`PolicyRefusal::code`].
//! Unknown keys, a duplicate counter, or a malformed code make the file invalid
//! ([`PolicyError`]), so a typo never silently widens or narrows the policy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use zairyu::files::gen1::municipality_check_digit_ok;

/// The policy file format version this crate reads.
pub const POLICY_VERSION: u32 = 1;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: u32,
    #[serde(default, rename = "counter")]
    counters: Vec<CounterFile>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterFile {
    id: String,
    municipalities: Vec<String>,
    #[serde(default)]
    max_sessions_per_minute: Option<u32>,
}

/// One grant of a counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Every municipality.
    All,
    /// Every code of one prefecture (its two leading digits).
    Prefecture(String),
    /// One municipality code.
    Code(String),
}

impl Grant {
    fn parse(s: &str) -> Option<Self> {
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        match s {
            "*" => Some(Grant::All),
            _ if s.len() == 3 && s.ends_with('*') && digits(&s[..2]) => Some(Grant::Prefecture(s[..2].to_owned())),
            _ if s.len() == 6 && municipality_check_digit_ok(s) => Some(Grant::Code(s.to_owned())),
            _ => None,
        }
    }

    fn covers(&self, code: &str) -> bool {
        match self {
            Grant::All => true,
            Grant::Prefecture(p) => code.starts_with(p.as_str()),
            Grant::Code(c) => c == code,
        }
    }
}

/// The policy: each counter identity and its grants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    counters: BTreeMap<String, Vec<Grant>>,
    rates: BTreeMap<String, u32>,
}

/// Why a policy file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file cannot be read.
    #[error("policy {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The file is not valid TOML / JSON of the policy's form.
    #[error("policy: {0}")]
    Syntax(String),
    /// The file's version is not [`POLICY_VERSION`].
    #[error("policy version {0} is not supported (expected 1)")]
    Version(u32),
    /// A counter identity is empty, or has control characters.
    #[error("policy: invalid counter id {0:?}")]
    CounterId(String),
    /// A counter appears twice.
    #[error("policy: counter {0:?} appears twice")]
    DuplicateCounter(String),
    /// A grant is not `*`, `NN*` or a 6-digit code with a valid check digit.
    #[error("policy: counter {counter:?} has an invalid municipality entry {entry:?}")]
    Grant {
        /// The counter.
        counter: String,
        /// The entry.
        entry: String,
    },
}

/// A write the policy does not allow. Checked before anything goes to the card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyRefusal {
    /// The counter is not in the policy.
    #[error("counter {0:?} is not allowed to write")]
    UnknownCounter(String),
    /// The counter may not write for this municipality code.
    #[error("counter {counter:?} may not write for municipality code {code:?}")]
    MunicipalityNotAllowed {
        /// The counter.
        counter: String,
        /// The record's municipality code.
        code: String,
    },
}

impl PolicyRefusal {
    /// A stable name for the audit record, logs and remote links.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyRefusal::UnknownCounter(_) => "policy_unknown_counter",
            PolicyRefusal::MunicipalityNotAllowed { .. } => "policy_municipality_not_allowed",
        }
    }
}

impl Policy {
    /// Parses a TOML policy.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let f: PolicyFile = toml::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
        Self::build(f)
    }

    /// Parses a JSON policy (`{"version": 1, "counter": [{"id": …, "municipalities": […]}]}`).
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        let f: PolicyFile = serde_json::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
        Self::build(f)
    }

    /// Reads a policy file: JSON if its name ends in `.json`, TOML otherwise.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PolicyError::Io { path: path.to_path_buf(), reason: e.to_string() })?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            Self::from_json(&text)
        } else {
            Self::from_toml(&text)
        }
    }

    fn build(f: PolicyFile) -> Result<Self, PolicyError> {
        if f.version != POLICY_VERSION {
            return Err(PolicyError::Version(f.version));
        }
        let mut counters = BTreeMap::new();
        let mut rates = BTreeMap::new();
        for c in f.counters {
            if c.id.trim().is_empty() || c.id.chars().any(char::is_control) {
                return Err(PolicyError::CounterId(c.id));
            }
            let mut grants = Vec::with_capacity(c.municipalities.len());
            for m in &c.municipalities {
                let g =
                    Grant::parse(m).ok_or_else(|| PolicyError::Grant { counter: c.id.clone(), entry: m.clone() })?;
                grants.push(g);
            }
            if let Some(r) = c.max_sessions_per_minute {
                rates.insert(c.id.clone(), r);
            }
            if counters.insert(c.id.clone(), grants).is_some() {
                return Err(PolicyError::DuplicateCounter(c.id));
            }
        }
        Ok(Policy { counters, rates })
    }

    /// Whether `counter` may write a record with `municipality_code`.
    pub fn check(&self, counter: &str, municipality_code: &str) -> Result<(), PolicyRefusal> {
        let grants = self.counters.get(counter).ok_or_else(|| PolicyRefusal::UnknownCounter(counter.to_owned()))?;
        if grants.iter().any(|g| g.covers(municipality_code)) {
            Ok(())
        } else {
            Err(PolicyRefusal::MunicipalityNotAllowed {
                counter: counter.to_owned(),
                code: municipality_code.to_owned(),
            })
        }
    }

    /// The most write sessions `counter` may open in any 60 seconds, if limited
    /// (`max_sessions_per_minute`; the service enforces it across its instances).
    pub fn max_sessions_per_minute(&self, counter: &str) -> Option<u32> {
        self.rates.get(counter).copied()
    }

    /// The grants of a counter.
    pub fn grants(&self, counter: &str) -> Option<&[Grant]> {
        self.counters.get(counter).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
version = 1

[[counter]]
id = "shinagawa-window-1"
municipalities = ["131091", "131016"]

[[counter]]
id = "osaka-bench"
municipalities = ["27*"]

[[counter]]
id = "ministry"
municipalities = ["*"]

[[counter]]
id = "suspended"
municipalities = []
max_sessions_per_minute = 0
"#;

    #[test]
    fn grants_are_exact_codes_prefectures_or_all() {
        let p = Policy::from_toml(TOML).unwrap();
        assert_eq!(p.check("shinagawa-window-1", "131091"), Ok(()));
        assert_eq!(p.check("shinagawa-window-1", "131016"), Ok(()));
        let e = p.check("shinagawa-window-1", "271276").unwrap_err();
        assert_eq!(e.code(), "policy_municipality_not_allowed");
        assert_eq!(
            e,
            PolicyRefusal::MunicipalityNotAllowed { counter: "shinagawa-window-1".into(), code: "271276".into() }
        );
        assert_eq!(p.check("osaka-bench", "271276"), Ok(()));
        assert!(p.check("osaka-bench", "131016").is_err());
        assert_eq!(p.check("ministry", "131016"), Ok(()));
        assert!(p.check("suspended", "131016").is_err());
        let e = p.check("unknown", "131016").unwrap_err();
        assert_eq!(e, PolicyRefusal::UnknownCounter("unknown".into()));
        assert_eq!(e.code(), "policy_unknown_counter");
        // Identities are exact: no case folding, no prefix match.
        assert!(p.check("Shinagawa-window-1", "131091").is_err());
        assert!(p.check("shinagawa-window-", "131091").is_err());
        // Rate limits are per counter, absent unless given.
        assert_eq!(p.max_sessions_per_minute("suspended"), Some(0));
        assert_eq!(p.max_sessions_per_minute("ministry"), None);
    }

    #[test]
    fn json_is_the_same_policy() {
        let json = r#"{"version":1,"counter":[{"id":"shinagawa-window-1","municipalities":["131091","131016"]},
            {"id":"osaka-bench","municipalities":["27*"]},{"id":"ministry","municipalities":["*"]},
            {"id":"suspended","municipalities":[],"max_sessions_per_minute":0}]}"#;
        assert_eq!(Policy::from_json(json).unwrap(), Policy::from_toml(TOML).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let pj = dir.path().join("policy.json");
        std::fs::write(&pj, json).unwrap();
        let pt = dir.path().join("policy.toml");
        std::fs::write(&pt, TOML).unwrap();
        assert_eq!(Policy::load(&pj).unwrap(), Policy::load(&pt).unwrap());
    }

    #[test]
    fn invalid_files_are_refused() {
        let bad = |s: &str| Policy::from_toml(s).unwrap_err();
        assert_eq!(bad("version = 2"), PolicyError::Version(2));
        assert!(matches!(bad("version = 1\nextra = true"), PolicyError::Syntax(_)));
        assert!(matches!(
            bad("version = 1\n[[counter]]\nid = \"a\"\nmunicipality = [\"131016\"]"),
            PolicyError::Syntax(_)
        ));
        // A wrong check digit, a short code, a prefecture pattern of the wrong form.
        for entry in ["131017", "13101", "1*", "13**", "abcdef", ""] {
            let e = bad(&format!("version = 1\n[[counter]]\nid = \"a\"\nmunicipalities = [\"{entry}\"]"));
            assert_eq!(e, PolicyError::Grant { counter: "a".into(), entry: entry.into() }, "{entry}");
        }
        let dup =
            "version = 1\n[[counter]]\nid = \"a\"\nmunicipalities = []\n[[counter]]\nid = \"a\"\nmunicipalities = []";
        assert_eq!(bad(dup), PolicyError::DuplicateCounter("a".into()));
        assert_eq!(
            bad("version = 1\n[[counter]]\nid = \" \"\nmunicipalities = []"),
            PolicyError::CounterId(" ".into())
        );
        assert!(matches!(Policy::load(Path::new("/nonexistent/policy.toml")), Err(PolicyError::Io { .. })));
    }
}
