//! The hash-chained audit log (AWP §4 step 4, §6.9): every write attempt, refused or
//! not, is one or more records; each record holds the hash of the one before it and
//! the hash over all its own fields, so a removed, altered or reordered record breaks
//! the chain at its sequence number.
//!
//! Behind the [`AuditLog`] trait, two stores: [`JsonlAuditLog`] (an append-only file
//! of JSON lines, fsynced on every append) and [`SqliteAuditLog`] (table `audit_log`,
//! SQLite embedded). Both verify the same way ([`verify_chain`]).
//!
//! **The hash.** `hash = SHA-256("zairyu-audit-v1" ‖ field₁ ‖ field₂ ‖ …)`, each field
//! as a 4-byte big-endian length and its bytes, in the order of [`entry_hash`]: seq,
//! previous hash, time, session, counter, operator, card-number hash, target,
//! municipality code, address, old and new content hashes, result, refusal code and
//! message. An absent optional field and an empty one differ (a presence byte). The
//! first record's previous hash is [`GENESIS`] (32 zero bytes).
//!
//! **What the chain proves, and what it does not.** Anyone can recompute SHA-256, so
//! someone who can rewrite the store can rewrite the chain from a record onwards;
//! what they cannot do is leave the records before it, the hashes others already
//! hold, and their change all consistent. The authority therefore reports the head
//! (`seq`, `hash`) of every append ([`AuditHead`]); [`AuditLog::verify_against`]
//! checks the log against a head kept elsewhere (a receipt, an auditor's note), which
//! also detects records cut off the end.

mod jsonl;
pub mod row;
pub mod sqlite;

pub use jsonl::JsonlAuditLog;
pub use row::{AUDIT_COLUMNS, AuditRow};
pub use sqlite::SqliteAuditLog;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The previous hash of the first record.
pub const GENESIS: [u8; 32] = [0; 32];

/// Domain separation of the record hash.
const DOMAIN: &[u8] = b"zairyu-audit-v1";

/// The result of the attempt a record describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditResult {
    /// Every check passed; the first commands are about to go to the card. A
    /// `written` or `refused` record of the same session follows.
    Opened,
    /// The card wrote the content and proved it (the receipt was issued).
    Written,
    /// Refused or failed, with the stable code of the refusal and its message.
    Refused {
        /// The stable code (`policy_unknown_counter`, `card_refused`, …).
        code: String,
        /// The message.
        message: String,
    },
}

impl AuditResult {
    /// `opened`, `written` or `refused`.
    pub fn name(&self) -> &'static str {
        match self {
            AuditResult::Opened => "opened",
            AuditResult::Written => "written",
            AuditResult::Refused { .. } => "refused",
        }
    }

    /// Rebuilds a result from its stored parts; `None` for an unknown name or
    /// refusal parts on another result.
    pub fn from_parts(name: &str, code: Option<String>, message: Option<String>) -> Option<Self> {
        match (name, code, message) {
            ("opened", None, None) => Some(AuditResult::Opened),
            ("written", None, None) => Some(AuditResult::Written),
            ("refused", Some(code), Some(message)) => Some(AuditResult::Refused { code, message }),
            _ => None,
        }
    }

    /// The refusal code, if refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            AuditResult::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The refusal message, if refused.
    pub fn message(&self) -> Option<&str> {
        match self {
            AuditResult::Refused { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// What the authority records about one step of a write attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When (Unix seconds).
    pub time_unix: u64,
    /// The write session (random, hex), pairing an `opened` record with its outcome.
    pub session: String,
    /// The counter's identity.
    pub counter_id: String,
    /// The clerk's operator id.
    pub operator_id: String,
    /// SHA-256 of the card number, from the card's EF.ChipAuthInfo (never the number).
    pub card_number_sha256: Option<[u8; 32]>,
    /// The file written (`DF2/EF01`, `DF1/EF04`).
    pub target: Option<String>,
    /// The record's municipality code.
    pub municipality_code: Option<String>,
    /// The address text (the second generation writes it only as an image, so the
    /// text is kept here: AWP §3).
    pub address: Option<String>,
    /// SHA-256 of the file before the write (read under secure messaging).
    pub old_content_sha256: Option<[u8; 32]>,
    /// SHA-256 of the exact new content.
    pub new_content_sha256: Option<[u8; 32]>,
    /// The result.
    pub result: AuditResult,
}

/// A stored record: the record, its place in the chain and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// 1, 2, 3, … in order of appending.
    pub seq: u64,
    /// The hash of the record before ([`GENESIS`] for the first).
    pub prev_hash: [u8; 32],
    /// The record.
    pub record: AuditRecord,
    /// [`entry_hash`] of all the above.
    pub hash: [u8; 32],
}

/// The last record of a log: its sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AuditHead {
    /// Its sequence number (0 for an empty log).
    pub seq: u64,
    /// Its hash ([`GENESIS`] for an empty log).
    #[serde(serialize_with = "hex_ser")]
    pub hash: [u8; 32],
}

fn hex_ser<S: serde::Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(h))
}

impl AuditHead {
    /// The head of an empty log.
    pub const EMPTY: AuditHead = AuditHead { seq: 0, hash: GENESIS };
}

/// How the chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The record with this number is missing (from the middle, or cut off the end
    /// when checked against a head).
    Removed,
    /// The record's content does not hash to its hash, is unreadable, or is not the
    /// record its successor (or the head) was chained to.
    Altered,
    /// The record is out of its place.
    Reordered,
    /// The store ends in a partly written record (a JSON-lines file cut mid-line).
    Truncated,
}

impl BreakKind {
    /// `removed`, `altered`, `reordered`, `truncated`.
    pub fn name(self) -> &'static str {
        match self {
            BreakKind::Removed => "removed",
            BreakKind::Altered => "altered",
            BreakKind::Reordered => "reordered",
            BreakKind::Truncated => "truncated",
        }
    }
}

/// Where and how a chain is broken: the first broken record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("audit log broken at record {seq}: {}", kind.name())]
pub struct ChainBreak {
    /// The sequence number of the first record that is missing, altered or out of place.
    pub seq: u64,
    /// How.
    pub kind: BreakKind,
}

/// Failures of an audit log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The chain is broken.
    #[error(transparent)]
    Chain(#[from] ChainBreak),
    /// The file cannot be read or written.
    #[error("audit log I/O: {0}")]
    Io(String),
    /// The database failed.
    #[error("audit database: {0}")]
    Database(String),
}

impl AuditError {
    /// The break, if the chain is broken.
    pub fn chain_break(&self) -> Option<ChainBreak> {
        match self {
            AuditError::Chain(b) => Some(*b),
            _ => None,
        }
    }
}

/// The result of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Records in the log.
    pub records: u64,
    /// The last record.
    pub head: AuditHead,
}

/// An append-only, hash-chained log of write attempts.
pub trait AuditLog: Send {
    /// Appends a record, chained to the last one, durably (the call returns after the
    /// store has it on disk). Returns the new head.
    fn append(&mut self, record: &AuditRecord) -> Result<AuditHead, AuditError>;

    /// Every stored entry in store order; an entry that cannot be read is an `Err`
    /// with the kind it counts as ([`BreakKind::Altered`] or [`BreakKind::Truncated`]).
    fn entries(&self) -> Result<Vec<Result<AuditEntry, BreakKind>>, AuditError>;

    /// The head after the last append (or after opening).
    fn head(&self) -> AuditHead;

    /// Walks the whole chain: every record hashes to its hash, links to the one
    /// before, and has the next sequence number.
    fn verify(&self) -> Result<Verified, AuditError> {
        Ok(verify_chain(&self.entries()?, None)?)
    }

    /// As [`AuditLog::verify`], and the log still holds `head` (so records cut off
    /// after it, or a rewritten tail, are detected).
    fn verify_against(&self, head: &AuditHead) -> Result<Verified, AuditError> {
        Ok(verify_chain(&self.entries()?, Some(head))?)
    }
}

fn field(h: &mut Sha256, b: &[u8]) {
    h.update((b.len() as u32).to_be_bytes());
    h.update(b);
}

fn opt_field(h: &mut Sha256, b: Option<&[u8]>) {
    match b {
        None => h.update([0u8]),
        Some(b) => {
            h.update([1u8]);
            field(h, b);
        }
    }
}

/// The hash of a record at `seq` chained to `prev_hash` (the module documentation
/// gives the encoding).
pub fn entry_hash(seq: u64, prev_hash: &[u8; 32], r: &AuditRecord) -> [u8; 32] {
    let mut h = Sha256::new();
    field(&mut h, DOMAIN);
    field(&mut h, &seq.to_be_bytes());
    field(&mut h, prev_hash);
    field(&mut h, &r.time_unix.to_be_bytes());
    field(&mut h, r.session.as_bytes());
    field(&mut h, r.counter_id.as_bytes());
    field(&mut h, r.operator_id.as_bytes());
    opt_field(&mut h, r.card_number_sha256.as_ref().map(|x| &x[..]));
    opt_field(&mut h, r.target.as_deref().map(str::as_bytes));
    opt_field(&mut h, r.municipality_code.as_deref().map(str::as_bytes));
    opt_field(&mut h, r.address.as_deref().map(str::as_bytes));
    opt_field(&mut h, r.old_content_sha256.as_ref().map(|x| &x[..]));
    opt_field(&mut h, r.new_content_sha256.as_ref().map(|x| &x[..]));
    field(&mut h, r.result.name().as_bytes());
    opt_field(&mut h, r.result.code().map(str::as_bytes));
    opt_field(&mut h, r.result.message().map(str::as_bytes));
    h.finalize().into()
}

/// The entry that appending `record` after `head` makes.
pub fn chain_entry(head: &AuditHead, record: &AuditRecord) -> AuditEntry {
    let seq = head.seq + 1;
    AuditEntry { seq, prev_hash: head.hash, record: record.clone(), hash: entry_hash(seq, &head.hash, record) }
}

fn eq32(a: &[u8; 32], b: &[u8; 32]) -> bool {
    bool::from(a.ct_eq(b))
}

/// Walks entries in store order and reports the first break; with `head`, also
/// checks that the log still holds that record unchanged.
///
/// * an entry that is unreadable, or does not hash to its hash → altered, at the
///   sequence number expected there;
/// * a sequence number above the expected one → reordered if the expected record
///   comes later, removed otherwise;
/// * a sequence number below the expected one → reordered (at that number);
/// * the expected number, but its previous hash is not the hash of the record
///   before → that record before was altered (rewritten with a new hash);
/// * against a head: the log ends before it → removed (the first missing number);
///   the head's record has another hash → altered.
pub fn verify_chain(
    entries: &[Result<AuditEntry, BreakKind>],
    head: Option<&AuditHead>,
) -> Result<Verified, ChainBreak> {
    let mut expected = 1u64;
    let mut prev = GENESIS;
    for (i, e) in entries.iter().enumerate() {
        let e = match e {
            Ok(e) => e,
            Err(kind) => return Err(ChainBreak { seq: expected, kind: *kind }),
        };
        if !eq32(&entry_hash(e.seq, &e.prev_hash, &e.record), &e.hash) {
            return Err(ChainBreak { seq: expected, kind: BreakKind::Altered });
        }
        if e.seq > expected {
            let later = entries[i + 1..].iter().any(|x| matches!(x, Ok(x) if x.seq == expected));
            let kind = if later { BreakKind::Reordered } else { BreakKind::Removed };
            return Err(ChainBreak { seq: expected, kind });
        }
        if e.seq < expected {
            return Err(ChainBreak { seq: e.seq, kind: BreakKind::Reordered });
        }
        if !eq32(&e.prev_hash, &prev) {
            return Err(ChainBreak { seq: expected.saturating_sub(1).max(1), kind: BreakKind::Altered });
        }
        if let Some(h) = head
            && h.seq == e.seq
            && !eq32(&h.hash, &e.hash)
        {
            return Err(ChainBreak { seq: e.seq, kind: BreakKind::Altered });
        }
        prev = e.hash;
        expected += 1;
    }
    let last = AuditHead { seq: expected - 1, hash: prev };
    if let Some(h) = head
        && h.seq > last.seq
    {
        return Err(ChainBreak { seq: last.seq + 1, kind: BreakKind::Removed });
    }
    Ok(Verified { records: last.seq, head: last })
}

#[cfg(test)]
pub(crate) mod tests;
