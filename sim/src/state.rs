//! The card's non-volatile memory in a file (`zairyu sim serve --state FILE`), so a
//! written address survives power cycles and restarts of the simulator.
//!
//! ## Format (`zairyu-sim-state/1`)
//!
//! One JSON object, written atomically (a temporary file in the same directory,
//! `fsync`, `rename`), mode 0600 (it holds the card's chip-authentication key):
//!
//! ```text
//! {
//!   "format": "zairyu-sim-state/1",
//!   "sha256": "<hex SHA-256 of the compact JSON of body>",
//!   "body": {
//!     "card_type": "1",                          the card type code (MF/EF02)
//!     "card_number_sha256": "<hex>",             the card it belongs to (never the number)
//!     "files": { "DF2/01": "<hex>", … },         every EF, keyed "DF/SFI"
//!     "write": null | {                          the write application
//!       "cvca": "JPTESTCVCA00001",               the CVCA it trusts (CHR) …
//!       "cvca_key": "<hex 04‖X‖Y>",              … and key
//!       "card_date": "2026-04-01",
//!       "chip_key": "<hex scalar>",              the chip-authentication private key
//!       "chip_auth_info": "<hex>",               EF.ChipAuthInfo
//!       "journal": null | { "file": "DF2/01", "content": "<hex>", "committed": false }
//!     }
//!   }
//! }
//! ```
//!
//! A state is applied to a card issued with the same options ([`load`]): the card
//! type, the card-number hash, every file's size, the presence of the write
//! application and its CVCA must match, and the checksum must verify; anything
//! else is a [`StateError`], never a silently fresh card. A pending `journal` is
//! recovered at the card's power up ([`crate::SimCard::new`]).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use zairyu::layout::Df;
use zairyu::write::CvDate;
use zairyu::write::eac::ChipAuthKey;
use zeroize::Zeroizing;

use crate::IssuedCard;
use crate::write::Journal;

/// The format name in every state file.
pub const FORMAT: &str = "zairyu-sim-state/1";

/// Why a state file cannot be written or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The file does not exist.
    #[error("state file {0} does not exist")]
    Missing(PathBuf),
    /// The file could not be read or written.
    #[error("state file {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The file is not a state file of this format, or its checksum fails.
    #[error("state file is corrupt: {0}")]
    Corrupt(String),
    /// The state belongs to another card (type, number, files, write application).
    #[error("state file belongs to another card: {0}")]
    OtherCard(String),
}

fn corrupt(s: impl Into<String>) -> StateError {
    StateError::Corrupt(s.into())
}

fn file_key(df: Df, sfi: u8) -> String {
    format!("{}/{sfi:02X}", df.name())
}

fn parse_key(s: &str) -> Option<(Df, u8)> {
    let (df, sfi) = s.split_once('/')?;
    let df = Df::ALL.into_iter().find(|d| d.name() == df)?;
    (sfi.len() == 2).then(|| u8::from_str_radix(sfi, 16).ok()).flatten().map(|s| (df, s))
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(zairyu::write::sha256(data))
}

/// The card's non-volatile memory as state-file bytes.
pub fn encode(card: &IssuedCard) -> Zeroizing<Vec<u8>> {
    let mut files = Map::new();
    for ((df, sfi), v) in card.files() {
        files.insert(file_key(df, sfi), Value::String(hex::encode(v)));
    }
    let write = match card.write_nvm() {
        None => Value::Null,
        Some(w) => json!({
            "cvca": w.anchor.chr.as_str(),
            "cvca_key": hex::encode(w.anchor.key.to_uncompressed()),
            "card_date": w.card_date.to_string(),
            "chip_key": hex::encode(&w.chip_key.to_scalar()[..]),
            "chip_auth_info": hex::encode(&w.chip_auth_info),
            "journal": w.journal.as_ref().map(|j| json!({
                "file": file_key(j.df, j.sfi),
                "content": hex::encode(&j.content),
                "committed": j.committed,
            })),
        }),
    };
    let body = json!({
        "card_type": card.card_type().code(),
        "card_number_sha256": sha256_hex(card.card_number().as_bytes()),
        "files": files,
        "write": write,
    });
    let compact = Zeroizing::new(serde_json::to_vec(&body).unwrap_or_default());
    let doc = json!({ "format": FORMAT, "sha256": sha256_hex(&compact), "body": body });
    let mut out = Zeroizing::new(serde_json::to_vec_pretty(&doc).unwrap_or_default());
    out.push(b'\n');
    out
}

fn str_of<'a>(v: &'a Value, k: &str) -> Result<&'a str, StateError> {
    v.get(k).and_then(Value::as_str).ok_or_else(|| corrupt(format!("\"{k}\" missing or not a string")))
}

fn hex_of(v: &Value, k: &str) -> Result<Zeroizing<Vec<u8>>, StateError> {
    hex::decode(str_of(v, k)?).map(Zeroizing::new).map_err(|_| corrupt(format!("\"{k}\" is not hex")))
}

fn date_of(s: &str) -> Option<CvDate> {
    let mut it = s.splitn(3, '-').map(str::parse::<u16>);
    let (y, m, d) = (it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?);
    CvDate::new(y, u8::try_from(m).ok()?, u8::try_from(d).ok()?)
}

/// Applies state-file bytes to `card`, a card issued with the same options.
pub fn apply(card: &mut IssuedCard, bytes: &[u8]) -> Result<(), StateError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not JSON: {e}")))?;
    if doc.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(corrupt(format!("not a {FORMAT} file")));
    }
    let body = doc.get("body").ok_or_else(|| corrupt("\"body\" missing"))?;
    let compact = Zeroizing::new(serde_json::to_vec(body).map_err(|e| corrupt(e.to_string()))?);
    if str_of(&doc, "sha256")? != sha256_hex(&compact) {
        return Err(corrupt("checksum does not match"));
    }
    if str_of(body, "card_type")? != card.card_type().code() {
        return Err(StateError::OtherCard(format!("card type {}", str_of(body, "card_type")?)));
    }
    if str_of(body, "card_number_sha256")? != sha256_hex(card.card_number().as_bytes()) {
        return Err(StateError::OtherCard("another card number".into()));
    }
    let files = body.get("files").and_then(Value::as_object).ok_or_else(|| corrupt("\"files\" missing"))?;
    let mut restored = Vec::new();
    for (k, v) in files {
        let (df, sfi) = parse_key(k).ok_or_else(|| corrupt(format!("bad file name {k:?}")))?;
        let content = hex::decode(v.as_str().unwrap_or("-")).map_err(|_| corrupt(format!("file {k} is not hex")))?;
        match card.file(df, sfi) {
            Some(now) if now.len() == content.len() => restored.push((df, sfi, content)),
            _ => return Err(StateError::OtherCard(format!("file {k} is not on this card, or has another size"))),
        }
    }
    if restored.len() != card.files().count() {
        return Err(StateError::OtherCard("the state does not hold every file of the card".into()));
    }
    let write = match (body.get("write").filter(|w| !w.is_null()), card.write_nvm()) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(StateError::OtherCard(
                "the state has a write application; the card was issued without one (no write PKI)".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(StateError::OtherCard(
                "the card has a write application; the state has none (issued without a write PKI)".into(),
            ));
        }
        (Some(w), Some(nvm)) => {
            if str_of(w, "cvca")? != nvm.anchor.chr.as_str()
                || hex_of(w, "cvca_key")?[..] != nvm.anchor.key.to_uncompressed()[..]
            {
                return Err(StateError::OtherCard("the card in the state trusts another write CVCA".into()));
            }
            let mut nvm = nvm.clone();
            nvm.card_date = date_of(str_of(w, "card_date")?).ok_or_else(|| corrupt("bad card_date"))?;
            let scalar: Zeroizing<[u8; 32]> =
                Zeroizing::new(hex_of(w, "chip_key")?[..].try_into().map_err(|_| corrupt("chip_key is not 32 bytes"))?);
            nvm.chip_key = ChipAuthKey::from_scalar(&scalar).ok_or_else(|| corrupt("chip_key is not a P-256 key"))?;
            nvm.chip_auth_info = hex_of(w, "chip_auth_info")?.to_vec();
            nvm.journal = match w.get("journal").filter(|j| !j.is_null()) {
                None => None,
                Some(j) => {
                    let (df, sfi) = parse_key(str_of(j, "file")?).ok_or_else(|| corrupt("bad journal file"))?;
                    let content = hex_of(j, "content")?.to_vec();
                    if card.file(df, sfi).map(<[u8]>::len) != Some(content.len()) {
                        return Err(corrupt("the journal does not fit its file"));
                    }
                    let committed =
                        j.get("committed").and_then(Value::as_bool).ok_or_else(|| corrupt("bad journal"))?;
                    Some(Journal { df, sfi, content, committed })
                }
            };
            Some(nvm)
        }
    };
    for (df, sfi, content) in restored {
        card.set_file(df, sfi, content);
    }
    if let (Some(w), Some(n)) = (write, card.write_nvm_mut()) {
        *n = w;
    }
    Ok(())
}

/// Reads the state file at `path` and applies it to `card` (issued with the same
/// options as the card that wrote it).
pub fn load(path: &Path, mut card: IssuedCard) -> Result<IssuedCard, StateError> {
    let bytes = match fs::read(path) {
        Ok(b) => Zeroizing::new(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StateError::Missing(path.to_owned())),
        Err(e) => return Err(StateError::Io { path: path.to_owned(), message: e.to_string() }),
    };
    apply(&mut card, &bytes)?;
    Ok(card)
}

/// Writes `card`'s state to `path` atomically: a temporary file next to it (mode
/// 0600), `fsync`, then `rename` over `path`.
pub fn save(path: &Path, card: &IssuedCard) -> Result<(), StateError> {
    let io = |e: std::io::Error| StateError::Io { path: path.to_owned(), message: e.to_string() };
    let bytes = encode(card);
    let name = path.file_name().ok_or_else(|| io(std::io::Error::other("not a file name")))?;
    let mut tmp_name = name.to_owned();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let mut o = fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let result = o.open(&tmp).and_then(|mut f| {
        f.write_all(&bytes)?;
        f.sync_all()
    });
    if let Err(e) = result.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(io(e));
    }
    // The rename is durable once the directory is synced (best effort).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write_pki::WritePki;
    use crate::{Drbg, IssueOptions};

    fn opts() -> IssueOptions {
        let pki = WritePki::generate_with(&mut Drbg::new(3), CvDate::new(2026, 4, 1).unwrap());
        IssueOptions { write: Some(pki.write_issue()), ..Default::default() }
    }

    #[test]
    fn state_round_trips_and_refuses_other_cards_and_corruption() {
        let o = opts();
        let mut card = IssuedCard::issue(&o);
        card.set_file(Df::Df2, 1, vec![0x42; 342]);
        if let Some(n) = card.write_nvm_mut() {
            n.card_date = CvDate::new(2026, 5, 1).unwrap();
            n.journal = Some(Journal { df: Df::Df2, sfi: 1, content: vec![7; 342], committed: true });
        }
        let bytes = encode(&card);
        let mut back = IssuedCard::issue(&o);
        apply(&mut back, &bytes).unwrap();
        assert_eq!(back.file(Df::Df2, 1), Some(&[0x42; 342][..]));
        assert_eq!(back.write_card_date(), CvDate::new(2026, 5, 1));
        assert!(back.has_pending_commit());
        assert_eq!(back.chip_auth_info(), card.chip_auth_info());
        assert_eq!(&encode(&back)[..], &bytes[..]);

        // One byte changed anywhere in the body: the checksum fails.
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let altered = text.replacen("42424242", "42424243", 1);
        assert!(matches!(apply(&mut IssuedCard::issue(&o), altered.as_bytes()), Err(StateError::Corrupt(_))));
        assert!(matches!(apply(&mut IssuedCard::issue(&o), b"{"), Err(StateError::Corrupt(_))));
        assert!(matches!(apply(&mut IssuedCard::issue(&o), &bytes[..bytes.len() / 2]), Err(StateError::Corrupt(_))));
        // Another number, another type, no write application.
        let other = IssueOptions { card_number: "XY98765432ZW".into(), ..opts() };
        assert!(matches!(apply(&mut IssuedCard::issue(&other), &bytes), Err(StateError::OtherCard(_))));
        let other = IssueOptions { card_type: zairyu::files::CardType::SpecialPermanentResident, ..opts() };
        assert!(matches!(apply(&mut IssuedCard::issue(&other), &bytes), Err(StateError::OtherCard(_))));
        let plain = IssueOptions::default();
        assert!(matches!(apply(&mut IssuedCard::issue(&plain), &bytes), Err(StateError::OtherCard(_))));
    }

    #[test]
    fn save_is_atomic_and_load_says_missing() {
        let dir = std::env::temp_dir().join(format!("zairyu-sim-state-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("card.json");
        let _ = fs::remove_file(&path);
        let o = opts();
        assert_eq!(load(&path, IssuedCard::issue(&o)).unwrap_err(), StateError::Missing(path.clone()));
        let mut card = IssuedCard::issue(&o);
        card.set_file(Df::Df2, 1, vec![0x33; 342]);
        save(&path, &card).unwrap();
        save(&path, &card).unwrap();
        let back = load(&path, IssuedCard::issue(&o)).unwrap();
        assert_eq!(back.file(Df::Df2, 1), Some(&[0x33; 342][..]));
        // Only the state file is left (no temporary file).
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
