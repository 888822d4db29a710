//! Evidence files (`evidence.json`) and their offline re-verification.
//!
//! An evidence file keeps every file of a read exactly as the chip returned it
//! (base64, with its length and SHA-256), the card type, flow, policy, the read
//! metrics and link report, the time, the library version, the verification result
//! and verdict as the read found them, and the warnings. [`verify_evidence`] parses
//! the files again with the core's parsers and verifies the signature again with the
//! core's verifier, at the recorded verification time, without a card: with the same
//! trust anchors it gives the same result as the original read.
//!
//! ## Format (version 1)
//!
//! One JSON object, written in its **canonical form** (object keys sorted by their
//! UTF-8 bytes, no insignificant whitespace, strings escaped as `serde_json` does,
//! integers only; for these value types this is RFC 8785) followed by one `\n`:
//!
//! ```text
//! {"content":{…},"content_sha256":"<hex>","format":"zairyu-evidence","station":null|{…},"version":1}
//! ```
//!
//! `content` holds `zairyu_version`, `created_at` (RFC 3339, UTC), `created_at_unix`,
//! `card_type` (`1`, `2`, `05`, `06`), `generation`, `flow`, `policy`, `card_number`
//! (redacted), `card_number_full` (null unless the caller asked for it),
//! `card_number_redacted_in_files` (whether DF1/EF01 `C2` of a second-generation card
//! was masked, as `zairyu dump` does), `metrics`, `link`, `verification` and
//! `verdict` (exactly the JSON report's), `warnings`, and `files`: a list of `{name,
//! length, sha256, base64}` in the order read. `content_sha256` is the SHA-256 of the
//! canonical form of `content`. `station`, when the reading station signed the file,
//! is `{algorithm: "ecdsa-p256-sha256", public_key: <base64 SubjectPublicKeyInfo
//! DER>, key_sha256: <hex SHA-256 of that DER>, signature: <base64 DER ECDSA
//! signature>}` over the bytes `zairyu-evidence-v1\n` ‖ canonical(`content`).
//!
//! ## What detects what
//!
//! * Any byte changed in the file: it no longer parses, is no longer canonical, or
//!   changes a value; a changed value changes `content_sha256` or a file's SHA-256
//!   (accidental damage is always found).
//! * A forger who recomputes those hashes: the chip's signature still covers the
//!   files it signs (first generation: the card-face image and photo; second: the
//!   printed entries, photo and name image); everything else in the file (DF2 with
//!   the first generation's address, `card_number_full`, `created_at`, the recorded
//!   verification time, the metrics) is protected only by the **station signature**,
//!   and only when the verifier **pins** the station's key
//!   ([`VerifyOptions::station_keys`]): the public key travels in the file, so a
//!   forger can strip the signature or sign again with a key of their own.
//!
//! So the verdict says what it proves ([`EvidenceVerdict::proves`], `proves` in its
//! JSON): `whole_file` only when a pinned station key signed the file;
//! `chip_signed_fields_only` when it is accepted without a pinned key (no keys were
//! given): then unsigned fields, the card number, the times and the metadata could
//! have been rewritten with recomputed hashes; `nothing` when it is not accepted.
//! With pinned keys, an unsigned file, a file signed by another key and a signature
//! that does not verify are not accepted (`rejected_because` says why).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use zairyu::CardNumber;
use zairyu::files::gen2::{self as g2, BackEntries, CodeTable, PrintedEntries, SignatureFile2};
use zairyu::files::{
    AddressRecord, CardType, CommonData, Image, RenewalStatus, SignatureFile, parse_face_image, parse_front_image,
    parse_permission,
};
use zairyu::layout;
use zairyu::options::{Flow, ReadPolicy};
use zairyu::report::Report;
use zairyu::sequence::{CardData, CardRead, Gen1Data, Gen2Data, RawFile};
use zairyu::session::{LinkReport, Metrics, fallback};
use zairyu::verify::{
    Gen1SignedFiles, Gen2SignedFiles, Reason, TrustStore, Verdict, Verification, unix_now, verify_first_generation,
    verify_second_generation,
};

/// `format` of an evidence file.
pub const EVIDENCE_FORMAT: &str = "zairyu-evidence";
/// `version` of the format this crate writes and reads.
pub const EVIDENCE_VERSION: u32 = 1;
/// What the station signature covers before the canonical content.
pub const STATION_SIGNATURE_CONTEXT: &[u8] = b"zairyu-evidence-v1\n";
/// The station signature's algorithm name.
pub const STATION_ALGORITHM: &str = "ecdsa-p256-sha256";
/// The reason the core gives for a text-only read (kept identical).
const TEXT_ONLY_REASON: &str = "read policy text_only: the images the signature covers were not read";

/// Errors of loading a station key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StationKeyError {
    /// The key file could not be read.
    #[error("cannot read the station key {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// Not a PKCS#8 DER (or PEM) P-256 private key.
    #[error("the station key is not a PKCS#8 P-256 private key")]
    NotP256Pkcs8,
    /// Not a P-256 public key as SubjectPublicKeyInfo DER (or PEM).
    #[error("the station public key is not a P-256 SubjectPublicKeyInfo (DER or PEM)")]
    NotP256Spki,
    /// Not a SHA-256 digest in hex (64 hex digits).
    #[error("a station key SHA-256 is 64 hex digits")]
    NotSha256Hex,
}

/// The pin of a station's public key (the `key_sha256` evidence names it by) from
/// its SubjectPublicKeyInfo, DER or PEM (`-----BEGIN PUBLIC KEY-----`, as `openssl
/// pkey -pubout` writes it): SHA-256 of the DER as [`StationKey::public_key_der`]
/// encodes it (uncompressed point).
pub fn station_public_key_sha256(spki: &[u8]) -> Result<[u8; 32], StationKeyError> {
    let key = if spki.starts_with(b"-----BEGIN") {
        let text = core::str::from_utf8(spki).map_err(|_| StationKeyError::NotP256Spki)?;
        VerifyingKey::from_public_key_pem(text.trim())
    } else {
        VerifyingKey::from_public_key_der(spki)
    }
    .map_err(|_| StationKeyError::NotP256Spki)?;
    let der = key.to_public_key_der().map_err(|_| StationKeyError::NotP256Spki)?;
    Ok(Sha256::digest(der.as_bytes()).into())
}

/// A station key pin from hex (64 digits, either case; the `key_sha256` of a signed
/// evidence file, [`StationKey::key_sha256`]).
pub fn parse_station_key_sha256(hex_digits: &str) -> Result<[u8; 32], StationKeyError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_digits.trim(), &mut out).map_err(|_| StationKeyError::NotSha256Hex)?;
    Ok(out)
}

/// The reading station's signing key (ECDSA P-256), from a PKCS#8 file.
pub struct StationKey {
    key: SigningKey,
}

impl core::fmt::Debug for StationKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "StationKey(key_sha256={})", self.key_sha256())
    }
}

impl StationKey {
    /// From PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, StationKeyError> {
        SigningKey::from_pkcs8_der(der).map(|key| StationKey { key }).map_err(|_| StationKeyError::NotP256Pkcs8)
    }

    /// From a PKCS#8 file, DER or PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_file(path: &Path) -> Result<Self, StationKeyError> {
        let bytes = Zeroizing::new(
            std::fs::read(path)
                .map_err(|e| StationKeyError::Io { path: path.display().to_string(), reason: e.to_string() })?,
        );
        if bytes.starts_with(b"-----BEGIN") {
            let text = core::str::from_utf8(&bytes).map_err(|_| StationKeyError::NotP256Pkcs8)?;
            return SigningKey::from_pkcs8_pem(text)
                .map(|key| StationKey { key })
                .map_err(|_| StationKeyError::NotP256Pkcs8);
        }
        Self::from_pkcs8_der(&bytes)
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        VerifyingKey::from(&self.key).to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    /// Hex SHA-256 of [`Self::public_key_der`]: how evidence names its station.
    pub fn key_sha256(&self) -> String {
        hex::encode(self.key_sha256_bytes())
    }

    /// SHA-256 of [`Self::public_key_der`]: the pin of this station
    /// ([`VerifyOptions::station_keys`]).
    pub fn key_sha256_bytes(&self) -> [u8; 32] {
        Sha256::digest(self.public_key_der()).into()
    }
}

/// Whether the card number goes into the evidence.
#[derive(Debug, Clone, Copy, Default)]
pub enum CardNumberPolicy<'a> {
    /// Redacted (the default): a second-generation DF1/EF01 `C2` is masked in place
    /// (`AB********CD`), and so is any occurrence of the typed number, if given, in
    /// any file. A first-generation card-face image still shows the printed number.
    #[default]
    Redact,
    /// Redacted, also masking every occurrence of this number in any file.
    RedactTyped(&'a CardNumber),
    /// In full: the files exactly as read and `card_number_full` set.
    Include(&'a CardNumber),
}

/// Options of [`evidence_json`].
#[derive(Debug, Default)]
pub struct EvidenceOptions<'a> {
    /// The time the evidence is made (Unix seconds); `None` = now.
    pub created_at_unix: Option<i64>,
    /// The station key that signs the evidence, if any.
    pub station_key: Option<&'a StationKey>,
    /// The card number in the evidence.
    pub card_number: CardNumberPolicy<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format: String,
    version: u32,
    content: Content,
    content_sha256: String,
    station: Option<Station>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Station {
    algorithm: String,
    public_key: String,
    key_sha256: String,
    signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Content {
    zairyu_version: String,
    created_at: String,
    created_at_unix: i64,
    card_type: String,
    generation: u8,
    flow: String,
    policy: String,
    card_number: String,
    card_number_full: Option<String>,
    card_number_redacted_in_files: bool,
    metrics: EvMetrics,
    link: EvLink,
    verification: Value,
    verdict: String,
    warnings: Vec<EvWarning>,
    files: Vec<EvFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvMetrics {
    apdus: u32,
    bytes_sent: u64,
    bytes_received: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvLink {
    extended_length: Option<bool>,
    fallbacks: Vec<String>,
}

/// A warning recorded at the read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvWarning {
    /// The stable code.
    pub code: String,
    /// The message.
    pub message: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvFile {
    name: String,
    length: usize,
    sha256: String,
    base64: String,
}

impl core::fmt::Debug for EvFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "EvFile({}, {} bytes)", self.name, self.length)
    }
}

/// The canonical JSON of a value: keys sorted by their UTF-8 bytes, no whitespace.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time (proleptic Gregorian, UTC).
pub fn rfc3339_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Masks a card number in place as the report redacts it (`AB********CD`).
fn mask(value: &mut [u8]) {
    match value.len() {
        12 => value[2..10].fill(b'*'),
        _ => value.fill(b'*'),
    }
}

/// The bytes of `file` as the evidence keeps them under `policy`, and whether they
/// were changed.
fn stored_bytes(card_type: CardType, file: &RawFile, policy: CardNumberPolicy<'_>) -> (Zeroizing<Vec<u8>>, bool) {
    let mut bytes = Zeroizing::new(file.bytes.to_vec());
    if matches!(policy, CardNumberPolicy::Include(_)) {
        return (bytes, false);
    }
    let mut changed = false;
    if card_type.generation() == 2
        && file.name == layout::gen2::DF1_EF01.name
        && let Ok(objects) = zairyu::tlv::parse_all(file.name, &file.bytes)
    {
        let base = file.bytes.as_ptr().addr();
        for t in objects.iter().filter(|t| t.tag == 0xC2) {
            let start = t.value.as_ptr().addr() - base;
            mask(&mut bytes[start..start + t.value.len()]);
            changed = true;
        }
    }
    if let CardNumberPolicy::RedactTyped(number) = policy {
        let needle = number.expose();
        let mut i = 0;
        while i + needle.len() <= bytes.len() {
            if bytes[i..i + needle.len()].eq_ignore_ascii_case(needle) {
                mask(&mut bytes[i..i + needle.len()]);
                changed = true;
                i += needle.len();
            } else {
                i += 1;
            }
        }
    }
    (bytes, changed)
}

/// The evidence file of a read: canonical JSON and a final `\n`.
pub fn evidence_json(read: &CardRead, opts: &EvidenceOptions<'_>) -> Vec<u8> {
    let report = Report::from_read(read);
    let created_at_unix = opts.created_at_unix.unwrap_or_else(unix_now);
    let mut redacted_in_files = false;
    let files = read
        .raw_files
        .iter()
        .map(|f| {
            let (bytes, changed) = stored_bytes(read.card_type, f, opts.card_number);
            redacted_in_files |= changed;
            EvFile {
                name: f.name.to_owned(),
                length: bytes.len(),
                sha256: hex::encode(Sha256::digest(&bytes[..])),
                base64: BASE64.encode(&bytes[..]),
            }
        })
        .collect();
    let content = Content {
        zairyu_version: report.zairyu_version.to_owned(),
        created_at: rfc3339_utc(created_at_unix),
        created_at_unix,
        card_type: report.card_type.to_owned(),
        generation: report.generation,
        flow: report.flow.to_owned(),
        policy: report.policy.to_owned(),
        card_number: report.card_number.clone(),
        card_number_full: match opts.card_number {
            CardNumberPolicy::Include(n) => Some(String::from_utf8_lossy(n.expose()).into_owned()),
            _ => None,
        },
        card_number_redacted_in_files: redacted_in_files,
        metrics: EvMetrics {
            apdus: report.metrics.apdus,
            bytes_sent: report.metrics.bytes_sent,
            bytes_received: report.metrics.bytes_received,
        },
        link: EvLink {
            extended_length: report.link.extended_length,
            fallbacks: report.link.fallbacks.iter().map(|s| (*s).to_owned()).collect(),
        },
        verification: serde_json::to_value(&report.verification).unwrap_or(Value::Null),
        verdict: report.verdict.to_owned(),
        warnings: report
            .warnings
            .iter()
            .map(|w| EvWarning { code: w.code.to_owned(), message: w.message.clone() })
            .collect(),
        files,
    };
    let content_value = serde_json::to_value(&content).unwrap_or(Value::Null);
    let canonical = canonical_json(&content_value);
    let station = opts.station_key.map(|k| {
        let mut msg = STATION_SIGNATURE_CONTEXT.to_vec();
        msg.extend_from_slice(canonical.as_bytes());
        let sig: DerSignature = k.key.sign(&msg);
        Station {
            algorithm: STATION_ALGORITHM.to_owned(),
            public_key: BASE64.encode(k.public_key_der()),
            key_sha256: k.key_sha256(),
            signature: BASE64.encode(sig.as_bytes()),
        }
    });
    let doc = Document {
        format: EVIDENCE_FORMAT.to_owned(),
        version: EVIDENCE_VERSION,
        content_sha256: hex::encode(Sha256::digest(canonical.as_bytes())),
        content,
        station,
    };
    let mut out = canonical_json(&serde_json::to_value(&doc).unwrap_or(Value::Null)).into_bytes();
    out.push(b'\n');
    out
}

/// Whether the evidence is the file zairyu wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Integrity {
    /// Parses, canonical, every hash matches (and the station signature, if any).
    Intact,
    /// Changed after it was written: the reason says where.
    Altered(String),
    /// Not an evidence file of this version, or its content does not parse.
    Malformed(String),
}

/// The station signature's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StationStatus {
    /// The evidence carries no station signature.
    Unsigned,
    /// It verifies under the key it names.
    Valid {
        /// Hex SHA-256 of the station's SubjectPublicKeyInfo DER.
        key_sha256: String,
    },
    /// It does not verify (or the key is not a P-256 key).
    Invalid {
        /// Why.
        reason: String,
    },
    /// Not checked: the file is malformed.
    NotChecked,
}

/// Whether a pinned station key signed the evidence (against
/// [`VerifyOptions::station_keys`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StationPin {
    /// No station keys were pinned: a station signature, if any, was checked against
    /// the key the file itself carries, which proves nothing about who wrote it.
    NoneGiven,
    /// Signed by one of the pinned keys.
    Pinned {
        /// Hex SHA-256 of the station's SubjectPublicKeyInfo DER.
        key_sha256: String,
    },
    /// Keys were pinned, but the file carries no station signature.
    Unsigned,
    /// Signed (validly) by a key that is not pinned.
    UnknownKey {
        /// Hex SHA-256 of the key that signed.
        key_sha256: String,
    },
    /// Keys were pinned, but the station signature does not verify or the file could
    /// not be checked.
    SignatureInvalid,
}

/// What an evidence verdict proves (`proves` in [`EvidenceVerdict::to_json`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proves {
    /// Not accepted: nothing.
    Nothing,
    /// Accepted without a pinned station key: only the fields the chip's signature
    /// covers (the `*_signed` ones, if any). Unsigned fields (the first generation's
    /// address in DF2 …), the card number, the times and the other metadata could
    /// have been rewritten with recomputed hashes.
    ChipSignedFieldsOnly,
    /// Accepted and signed by a pinned station key: the whole file is as that station
    /// wrote it.
    WholeFile,
}

impl Proves {
    /// The JSON spelling: `nothing`, `chip_signed_fields_only`, `whole_file`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proves::Nothing => "nothing",
            Proves::ChipSignedFieldsOnly => "chip_signed_fields_only",
            Proves::WholeFile => "whole_file",
        }
    }
}

/// What an evidence file accepted without a pinned station key does not prove
/// ([`EvidenceVerdict::caveat`]).
pub const UNPINNED_CAVEAT: &str = "no pinned station key: only the fields the chip's signature covers are proven; \
     unsigned fields (e.g. a first-generation address), the card number, the times and the other metadata \
     could have been rewritten with recomputed hashes";

/// Options of [`verify_evidence_with`].
#[derive(Debug, Default, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// Names the status-of-residence codes of the second generation.
    pub status_table: Option<&'a CodeTable>,
    /// Verify at this time instead of the recorded one (Unix seconds).
    pub now_unix: Option<i64>,
    /// The pinned station keys: SHA-256 of each trusted station's SubjectPublicKeyInfo
    /// DER (the `key_sha256` a signed file names; [`StationKey::key_sha256_bytes`],
    /// [`station_public_key_sha256`]). Empty: a file may be unsigned or signed by any
    /// key, and an accepted one proves only the chip-signed fields
    /// ([`Proves::ChipSignedFieldsOnly`]). Not empty: a file is accepted only when
    /// one of these keys signed it ([`Proves::WholeFile`]).
    pub station_keys: &'a [[u8; 32]],
}

/// The result of [`verify_evidence`].
#[derive(Debug, Clone)]
pub struct EvidenceVerdict {
    /// Whether the file is as written.
    pub integrity: Integrity,
    /// The station signature.
    pub station: StationStatus,
    /// Whether a pinned station key signed the file.
    pub station_pin: StationPin,
    /// The read rebuilt from the files, with the verification done again (`None` if
    /// the file is malformed).
    pub read: Option<CardRead>,
    /// The verdict recorded at the read.
    pub recorded_verdict: Option<String>,
    /// Whether the verification done again equals the recorded one field by field
    /// (signature, format, reason, chain, anchor, subjects, validity, bound fields).
    pub matches_recorded: bool,
    /// The recorded verification fields that differ.
    pub differences: Vec<String>,
    /// The warnings recorded at the read.
    pub recorded_warnings: Vec<EvWarning>,
    /// When the evidence was made (RFC 3339), and by which library version.
    pub created_at: Option<String>,
    /// The library version that wrote the evidence.
    pub zairyu_version: Option<String>,
    /// The full card number, only if the evidence was made with it.
    pub card_number_full: Option<Zeroizing<String>>,
}

impl EvidenceVerdict {
    fn failed(integrity: Integrity) -> Self {
        EvidenceVerdict {
            integrity,
            station: StationStatus::NotChecked,
            station_pin: StationPin::NoneGiven,
            read: None,
            recorded_verdict: None,
            matches_recorded: false,
            differences: Vec::new(),
            recorded_warnings: Vec::new(),
            created_at: None,
            zairyu_version: None,
            card_number_full: None,
        }
    }

    /// The verdict of the verification done again.
    pub fn verdict(&self) -> Option<Verdict> {
        self.read.as_ref().map(|r| r.verification.verdict())
    }

    /// Whether the station signature passes: with pinned keys, signed by one of them;
    /// without, valid or absent.
    fn station_passes(&self) -> bool {
        match self.station_pin {
            StationPin::NoneGiven => matches!(self.station, StationStatus::Unsigned | StationStatus::Valid { .. }),
            StationPin::Pinned { .. } => matches!(self.station, StationStatus::Valid { .. }),
            StationPin::Unsigned | StationPin::UnknownKey { .. } | StationPin::SignatureInvalid => false,
        }
    }

    /// Accepted: intact, the verification done again equal to the recorded one, and
    /// the station signature valid or absent when no station keys were pinned, or
    /// made by a pinned key when some were. Without pinned keys an accepted file
    /// proves only the chip-signed fields: see [`Self::proves`]. (What the card's
    /// verdict means is a separate question: [`Self::verdict`].)
    pub fn accepted(&self) -> bool {
        self.integrity == Integrity::Intact && self.station_passes() && self.matches_recorded
    }

    /// What the verdict proves: [`Proves::WholeFile`] only when accepted under a pinned
    /// station key.
    pub fn proves(&self) -> Proves {
        match (self.accepted(), &self.station_pin) {
            (false, _) => Proves::Nothing,
            (true, StationPin::Pinned { .. }) => Proves::WholeFile,
            (true, _) => Proves::ChipSignedFieldsOnly,
        }
    }

    /// The caveat of a file accepted without a pinned station key
    /// ([`UNPINNED_CAVEAT`]); `None` otherwise.
    pub fn caveat(&self) -> Option<&'static str> {
        (self.proves() == Proves::ChipSignedFieldsOnly).then_some(UNPINNED_CAVEAT)
    }

    /// Why the file is not accepted, in words (empty when it is).
    pub fn rejection_reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.integrity {
            Integrity::Intact => {}
            Integrity::Altered(why) => out.push(format!("altered: {why}")),
            Integrity::Malformed(why) => out.push(format!("malformed: {why}")),
        }
        if self.integrity == Integrity::Intact {
            match &self.station_pin {
                StationPin::Unsigned => {
                    out.push("no station signature, but a pinned station key is required".to_owned());
                }
                StationPin::UnknownKey { key_sha256 } => {
                    out.push(format!("signed by station key {key_sha256}, which is not pinned"));
                }
                StationPin::SignatureInvalid => out.push("the station signature is not valid".to_owned()),
                StationPin::NoneGiven | StationPin::Pinned { .. } => {}
            }
            if !self.matches_recorded {
                out.push(format!(
                    "the verification done again differs from the read's: {}",
                    self.differences.join(", ")
                ));
            }
        }
        out
    }

    /// A JSON summary (for `verify-evidence --json`): never the card number.
    ///
    /// `accepted`; `proves` (`whole_file`, `chip_signed_fields_only` or `nothing`:
    /// [`Proves`]); `caveat` (what an accepted file does not prove, or null);
    /// `rejected_because` (reasons, empty when accepted); `integrity`; `station` (the
    /// signature as the file's own key checks it); `station_pin` (`{"status":
    /// "none_given" | "pinned" | "unsigned" | "unknown_key" | "signature_invalid"}`,
    /// with `key_sha256` for `pinned` and `unknown_key`); `recorded_verdict`,
    /// `verdict`, `matches_recorded`, `differences`, `created_at`, `zairyu_version`,
    /// `report`.
    pub fn to_json(&self) -> Value {
        let report = self.read.as_ref().map(Report::from_read);
        serde_json::json!({
            "accepted": self.accepted(),
            "proves": self.proves(),
            "caveat": self.caveat(),
            "rejected_because": self.rejection_reasons(),
            "integrity": self.integrity,
            "station": self.station,
            "station_pin": self.station_pin,
            "recorded_verdict": self.recorded_verdict,
            "verdict": self.verdict().map(Verdict::as_str),
            "matches_recorded": self.matches_recorded,
            "differences": self.differences,
            "created_at": self.created_at,
            "zairyu_version": self.zairyu_version,
            "report": report,
        })
    }
}

/// Whether `station` was made by a key of `pins`.
fn station_pin(station: &StationStatus, pins: &[[u8; 32]]) -> StationPin {
    if pins.is_empty() {
        return StationPin::NoneGiven;
    }
    match station {
        StationStatus::Unsigned => StationPin::Unsigned,
        StationStatus::Valid { key_sha256 } => {
            if pins.iter().any(|p| hex::encode(p) == *key_sha256) {
                StationPin::Pinned { key_sha256: key_sha256.clone() }
            } else {
                StationPin::UnknownKey { key_sha256: key_sha256.clone() }
            }
        }
        StationStatus::Invalid { .. } | StationStatus::NotChecked => StationPin::SignatureInvalid,
    }
}

/// Re-verifies an evidence file with `trust`, at the recorded verification time,
/// without pinned station keys: an accepted file proves only the chip-signed fields
/// ([`EvidenceVerdict::proves`]); pin keys with [`verify_evidence_with`].
pub fn verify_evidence(bytes: &[u8], trust: &TrustStore) -> EvidenceVerdict {
    verify_evidence_with(bytes, trust, &VerifyOptions::default())
}

/// [`verify_evidence`] with options; with [`VerifyOptions::station_keys`], only a
/// file a pinned station key signed is accepted.
pub fn verify_evidence_with(bytes: &[u8], trust: &TrustStore, opts: &VerifyOptions<'_>) -> EvidenceVerdict {
    let mut out = verify_unpinned(bytes, trust, opts);
    out.station_pin = station_pin(&out.station, opts.station_keys);
    out
}

/// The verification before the station pins are applied.
fn verify_unpinned(bytes: &[u8], trust: &TrustStore, opts: &VerifyOptions<'_>) -> EvidenceVerdict {
    let malformed = |r: String| EvidenceVerdict::failed(Integrity::Malformed(r));
    let altered = |r: String| EvidenceVerdict::failed(Integrity::Altered(r));
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return altered(format!("not JSON: {e}")),
    };
    let canonical = canonical_json(&value);
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body != canonical.as_bytes() {
        return altered("not the bytes zairyu wrote (not in canonical form)".into());
    }
    if value.get("format").and_then(Value::as_str) != Some(EVIDENCE_FORMAT) {
        return malformed(format!("not a {EVIDENCE_FORMAT} file"));
    }
    if value.get("version").and_then(Value::as_u64) != Some(u64::from(EVIDENCE_VERSION)) {
        return malformed(format!("not version {EVIDENCE_VERSION} of the evidence format"));
    }
    let content_canonical = canonical_json(value.get("content").unwrap_or(&Value::Null));
    let doc: Document = match serde_json::from_value(value) {
        Ok(d) => d,
        Err(e) => return malformed(format!("evidence fields: {e}")),
    };
    if hex::encode(Sha256::digest(content_canonical.as_bytes())) != doc.content_sha256 {
        return altered("content_sha256 does not match the content".into());
    }
    let station = match &doc.station {
        None => StationStatus::Unsigned,
        Some(s) => station_status(s, content_canonical.as_bytes()),
    };
    let mut out = EvidenceVerdict::failed(Integrity::Intact);
    out.station = station;
    if let StationStatus::Invalid { reason } = &out.station {
        out.integrity = Integrity::Altered(format!("station signature: {reason}"));
        return out;
    }
    let c = &doc.content;
    out.recorded_verdict = Some(c.verdict.clone());
    out.recorded_warnings = c.warnings.clone();
    out.created_at = Some(c.created_at.clone());
    out.zairyu_version = Some(c.zairyu_version.clone());
    out.card_number_full = c.card_number_full.clone().map(Zeroizing::new);
    if rfc3339_utc(c.created_at_unix) != c.created_at {
        out.integrity = Integrity::Altered("created_at and created_at_unix differ".into());
        return out;
    }
    let mut files = Vec::with_capacity(c.files.len());
    for f in &c.files {
        let bytes = match BASE64.decode(&f.base64) {
            Ok(b) => Zeroizing::new(b),
            Err(e) => {
                out.integrity = Integrity::Altered(format!("file {}: not base64 ({e})", f.name));
                return out;
            }
        };
        if bytes.len() != f.length || hex::encode(Sha256::digest(&bytes[..])) != f.sha256 {
            out.integrity = Integrity::Altered(format!("file {}: length or SHA-256 does not match its bytes", f.name));
            return out;
        }
        files.push((f.name.as_str(), bytes));
    }
    let rebuilt = match rebuild(c, files, trust, opts) {
        Ok(r) => r,
        Err(reason) => {
            out.integrity = Integrity::Malformed(reason);
            return out;
        }
    };
    let now_report = serde_json::to_value(Report::from_read(&rebuilt).verification).unwrap_or(Value::Null);
    out.differences = differences(&c.verification, &now_report);
    if rebuilt.verification.verdict().as_str() != c.verdict {
        out.differences.push("verdict".into());
    }
    out.matches_recorded = out.differences.is_empty();
    out.read = Some(rebuilt);
    out
}

fn station_status(s: &Station, content: &[u8]) -> StationStatus {
    let invalid = |reason: &str| StationStatus::Invalid { reason: reason.to_owned() };
    if s.algorithm != STATION_ALGORITHM {
        return invalid("unknown algorithm");
    }
    let (Ok(spki), Ok(sig)) = (BASE64.decode(&s.public_key), BASE64.decode(&s.signature)) else {
        return invalid("public key or signature is not base64");
    };
    if hex::encode(Sha256::digest(&spki)) != s.key_sha256 {
        return invalid("key_sha256 does not match the public key");
    }
    let Ok(key) = VerifyingKey::from_public_key_der(&spki) else {
        return invalid("not a P-256 public key");
    };
    let Ok(sig) = DerSignature::try_from(&sig[..]) else {
        return invalid("signature is not a DER ECDSA signature");
    };
    let mut msg = STATION_SIGNATURE_CONTEXT.to_vec();
    msg.extend_from_slice(content);
    match key.verify(&msg, &sig) {
        Ok(()) => StationStatus::Valid { key_sha256: s.key_sha256.clone() },
        Err(_) => invalid("does not verify over the content"),
    }
}

/// The keys of two JSON objects whose values differ.
fn differences(recorded: &Value, now: &Value) -> Vec<String> {
    let (Some(a), Some(b)) = (recorded.as_object(), now.as_object()) else {
        return vec!["verification".into()];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).map(|k| format!("verification.{k}")).collect()
}

/// Rebuilds a [`CardRead`] from the evidence's files with the core's parsers and
/// verifies it again.
fn rebuild(
    c: &Content,
    files: Vec<(&str, Zeroizing<Vec<u8>>)>,
    trust: &TrustStore,
    opts: &VerifyOptions<'_>,
) -> Result<CardRead, String> {
    let card_type: CardType = c.card_type.parse().map_err(|_| "card_type unknown".to_string())?;
    let flow: Flow = c.flow.parse().map_err(|_| "flow unknown".to_string())?;
    let policy: ReadPolicy = c.policy.parse().map_err(|_| "policy unknown".to_string())?;
    let known = layout::files(card_type);
    let mut raw = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let ef =
            known.iter().find(|e| e.name == name).ok_or_else(|| format!("file {name} is not a file of this card"))?;
        if raw.iter().any(|r: &RawFile| r.name == ef.name) {
            return Err(format!("file {name} twice"));
        }
        raw.push(RawFile { name: ef.name, bytes });
    }
    let get = |name: &str| raw.iter().find(|f| f.name == name).map(|f| &f.bytes[..]);
    let need = |name: &'static str| get(name).ok_or_else(|| format!("file {name} missing"));
    let parse_err = |e: zairyu::error::ParseError| e.to_string();
    let common = CommonData::parse(need(layout::mf::EF01.name)?).map_err(parse_err)?;
    let stored_type = CardType::parse(need(layout::gen1::MF_EF02.name)?).map_err(|e| e.to_string())?;
    if stored_type != card_type {
        return Err("card_type differs from MF/EF02".into());
    }
    let verified_at = opts
        .now_unix
        .or_else(|| c.verification.get("verified_at_unix").and_then(Value::as_i64))
        .ok_or("verification.verified_at_unix missing")?;
    let full = policy == ReadPolicy::Full;
    let (data, verification) = match card_type.generation() {
        1 => {
            use layout::gen1 as l;
            let image = |name, parse: fn(&[u8]) -> Result<Image, zairyu::error::ParseError>| -> Result<_, String> {
                get(name).map(|d| parse(d).map_err(parse_err)).transpose()
            };
            let front_image = image(l::DF1_EF01.name, parse_front_image)?;
            let face_image = image(l::DF1_EF02.name, parse_face_image)?;
            let address = AddressRecord::parse(need(l::DF2_EF01.name)?).map_err(parse_err)?;
            let permission = |ef: &'static layout::Ef, tag| -> Result<_, String> {
                get(ef.name).map(|d| parse_permission(ef.name, d, tag).map_err(parse_err)).transpose()
            };
            let comprehensive_permission = permission(&l::DF2_EF02, 0xD5)?;
            let individual_permission = permission(&l::DF2_EF03, 0xD6)?;
            let renewal = get(l::DF2_EF04.name).map(RenewalStatus::parse).transpose().map_err(parse_err)?;
            let signature = get(l::DF3_EF01.name).map(SignatureFile::parse).transpose().map_err(parse_err)?;
            let verification = if full {
                let files = Gen1SignedFiles {
                    front: get(l::DF1_EF01.name).unwrap_or(&[]),
                    face: get(l::DF1_EF02.name).unwrap_or(&[]),
                    signature: get(l::DF3_EF01.name).unwrap_or(&[]),
                };
                verify_first_generation(&files, trust, verified_at)
            } else {
                Verification::not_checked(Reason::PolicyTextOnly, TEXT_ONLY_REASON, verified_at)
            };
            let d = Gen1Data {
                front_image,
                face_image,
                address,
                comprehensive_permission,
                individual_permission,
                renewal,
                signature,
            };
            (CardData::Gen1(Box::new(d)), verification)
        }
        _ => {
            use layout::gen2 as l;
            let printed = PrintedEntries::parse(need(l::DF1_EF02.name)?, opts.status_table).map_err(parse_err)?;
            let (name_image, face_image) = match get(l::DF1_EF03.name) {
                Some(d) => {
                    let (n, f) = g2::parse_name_and_face(d).map_err(parse_err)?;
                    (Some(n), Some(f))
                }
                None => (None, None),
            };
            let address_image = get(l::DF1_EF04.name).map(g2::parse_address_image).transpose().map_err(parse_err)?;
            let mut back = BackEntries::default();
            for f in raw.iter().filter(|f| f.name.starts_with("DF2/")) {
                back.add_file(f.name, &f.bytes).map_err(parse_err)?;
            }
            let signature = get(l::DF3_EF01.name).map(SignatureFile2::parse).transpose().map_err(parse_err)?;
            let verification = if full {
                let files = Gen2SignedFiles {
                    card_type,
                    printed: get(l::DF1_EF02.name).unwrap_or(&[]),
                    images: get(l::DF1_EF03.name).unwrap_or(&[]),
                    signature: get(l::DF3_EF01.name).unwrap_or(&[]),
                };
                verify_second_generation(&files, trust, verified_at)
            } else {
                Verification::not_checked(Reason::PolicyTextOnly, TEXT_ONLY_REASON, verified_at)
            };
            let d = Gen2Data { printed, name_image, face_image, address_image, back, signature };
            (CardData::Gen2(Box::new(d)), verification)
        }
    };
    let warnings = match &data {
        CardData::Gen1(d) => zairyu::checks::gen1(&d.address, d.renewal.as_ref()),
        CardData::Gen2(d) => zairyu::checks::gen2(&d.printed, &d.back),
    };
    let known_fallbacks = [
        fallback::SHORT_PLAIN_CHUNKED,
        fallback::SM_SHORT_WHOLE,
        fallback::SM_SHORT_CHUNKED,
        fallback::EXTENDED_CHUNKED,
        fallback::SM_EXTENDED_CHUNKED,
    ];
    let fallbacks = c
        .link
        .fallbacks
        .iter()
        .map(|f| known_fallbacks.iter().copied().find(|k| k == f).ok_or_else(|| format!("link fallback {f} unknown")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CardRead {
        common,
        card_type,
        flow,
        policy,
        card_number_redacted: c.card_number.clone(),
        data,
        verification,
        metrics: Metrics {
            apdus: c.metrics.apdus,
            bytes_sent: c.metrics.bytes_sent,
            bytes_received: c.metrics.bytes_received,
        },
        link: LinkReport { extended_length: c.link.extended_length, fallbacks },
        raw_files: raw,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_556_668_799), "2019-04-30T23:59:59Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn canonical_sorts_keys_and_drops_whitespace() {
        let v: Value = serde_json::from_str(r#"{ "b": [1, {"z": null, "a": "é\n"}], "a": true }"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":true,"b":[1,{"a":"é\n","z":null}]}"#);
    }
}
