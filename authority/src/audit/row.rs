//! An audit entry as the sixteen columns of the `audit_log` table: one mapping for
//! every SQL store (the library's SQLite log, the service's SQLite and PostgreSQL
//! stores), so a column added or renamed changes in one place.

use super::{AuditEntry, AuditHead, AuditRecord, AuditResult};

/// The columns of `audit_log` in the order of [`AuditRow`]'s fields (and of the
/// placeholders `?1`…`?16` / `$1`…`$16` of an insert).
pub const AUDIT_COLUMNS: &str = "seq, prev_hash, time_unix, session, counter_id, operator_id, card_number_sha256, \
                                 target, municipality_code, address, old_content_sha256, new_content_sha256, result, \
                                 refusal_code, refusal_message, hash";

/// One row of `audit_log` in SQL types (integers as `i64`, hashes as byte strings).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // The fields are the columns of `AUDIT_COLUMNS`, documented on `AuditEntry`.
pub struct AuditRow {
    pub seq: i64,
    pub prev_hash: Vec<u8>,
    pub time_unix: i64,
    pub session: String,
    pub counter_id: String,
    pub operator_id: String,
    pub card_number_sha256: Option<Vec<u8>>,
    pub target: Option<String>,
    pub municipality_code: Option<String>,
    pub address: Option<String>,
    pub old_content_sha256: Option<Vec<u8>>,
    pub new_content_sha256: Option<Vec<u8>>,
    pub result: String,
    pub refusal_code: Option<String>,
    pub refusal_message: Option<String>,
    pub hash: Vec<u8>,
}

fn b32(v: Vec<u8>) -> Option<[u8; 32]> {
    v.try_into().ok()
}

fn opt_b32(v: Option<Vec<u8>>) -> Option<Option<[u8; 32]>> {
    match v {
        None => Some(None),
        Some(v) => b32(v).map(Some),
    }
}

/// An integer column that does not fit (a sequence number or time past `i64::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("audit entry out of the database's integer range")]
pub struct OutOfRange;

impl AuditRow {
    /// The row of `entry`.
    pub fn of(entry: &AuditEntry) -> Result<Self, OutOfRange> {
        let r = &entry.record;
        Ok(AuditRow {
            seq: i64::try_from(entry.seq).map_err(|_| OutOfRange)?,
            prev_hash: entry.prev_hash.to_vec(),
            time_unix: i64::try_from(r.time_unix).map_err(|_| OutOfRange)?,
            session: r.session.clone(),
            counter_id: r.counter_id.clone(),
            operator_id: r.operator_id.clone(),
            card_number_sha256: r.card_number_sha256.map(|h| h.to_vec()),
            target: r.target.clone(),
            municipality_code: r.municipality_code.clone(),
            address: r.address.clone(),
            old_content_sha256: r.old_content_sha256.map(|h| h.to_vec()),
            new_content_sha256: r.new_content_sha256.map(|h| h.to_vec()),
            result: r.result.name().to_owned(),
            refusal_code: r.result.code().map(str::to_owned),
            refusal_message: r.result.message().map(str::to_owned),
            hash: entry.hash.to_vec(),
        })
    }

    /// The entry of a stored row; `None` when a value cannot be one (a negative
    /// number, a hash of the wrong length, an unknown result): the chain then counts
    /// the record as altered.
    pub fn entry(self) -> Option<AuditEntry> {
        Some(AuditEntry {
            seq: u64::try_from(self.seq).ok()?,
            prev_hash: b32(self.prev_hash)?,
            record: AuditRecord {
                time_unix: u64::try_from(self.time_unix).ok()?,
                session: self.session,
                counter_id: self.counter_id,
                operator_id: self.operator_id,
                card_number_sha256: opt_b32(self.card_number_sha256)?,
                target: self.target,
                municipality_code: self.municipality_code,
                address: self.address,
                old_content_sha256: opt_b32(self.old_content_sha256)?,
                new_content_sha256: opt_b32(self.new_content_sha256)?,
                result: AuditResult::from_parts(&self.result, self.refusal_code, self.refusal_message)?,
            },
            hash: b32(self.hash)?,
        })
    }
}

/// The head of the chain from the last row's `seq` and `hash` columns; `None` when
/// they cannot be one (the chain cannot be extended).
pub fn head_of(seq: i64, hash: Vec<u8>) -> Option<AuditHead> {
    Some(AuditHead { seq: u64::try_from(seq).ok()?, hash: b32(hash)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditHead, chain_entry};

    fn record(result: AuditResult) -> AuditRecord {
        AuditRecord {
            time_unix: 1_700_000_000,
            session: "s1".into(),
            counter_id: "counter".into(),
            operator_id: "op".into(),
            card_number_sha256: Some([7; 32]),
            target: Some("address".into()),
            municipality_code: None,
            address: Some("".into()),
            old_content_sha256: None,
            new_content_sha256: Some([9; 32]),
            result,
        }
    }

    #[test]
    fn an_entry_survives_its_row() {
        let e = chain_entry(&AuditHead::EMPTY, &record(AuditResult::Written));
        assert_eq!(AuditRow::of(&e).unwrap().entry(), Some(e));
    }

    #[test]
    fn a_row_that_cannot_be_an_entry_is_none() {
        let e = chain_entry(&AuditHead::EMPTY, &record(AuditResult::Written));
        let row = AuditRow::of(&e).unwrap();
        let mut short = row.clone();
        short.hash.pop();
        assert_eq!(short.entry(), None);
        let mut negative = row.clone();
        negative.seq = -1;
        assert_eq!(negative.entry(), None);
        let mut unknown = row.clone();
        unknown.result = "maybe".into();
        assert_eq!(unknown.entry(), None);
        let mut bad_optional = row;
        bad_optional.card_number_sha256 = Some(vec![1; 31]);
        assert_eq!(bad_optional.entry(), None);
        assert_eq!(head_of(-1, vec![0; 32]), None);
        assert_eq!(head_of(3, vec![0; 31]), None);
        assert_eq!(head_of(3, vec![1; 32]), Some(AuditHead { seq: 3, hash: [1; 32] }));
    }
}
