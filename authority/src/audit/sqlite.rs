//! The audit log in SQLite (embedded through rusqlite's `bundled` SQLite: no system
//! library), table `audit_log`.
//!
//! Rows are read in the order of the `id` column (`INTEGER PRIMARY KEY
//! AUTOINCREMENT`, the order of insertion); `seq` is a column of its own, covered by
//! the hash, so swapped rows show as reordered. Triggers refuse `UPDATE` and `DELETE`
//! on the table; they keep honest code honest, the chain catches the rest (anyone
//! with the file can drop a trigger). The database runs in WAL mode with
//! `synchronous = FULL`, and each append is one `IMMEDIATE` transaction that reads
//! the last row and inserts the next, so two processes sharing the file still make
//! one chain.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    AuditEntry, AuditError, AuditHead, AuditLog, AuditRecord, AuditResult, BreakKind, chain_entry, verify_chain,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_log (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    seq                 INTEGER NOT NULL,
    prev_hash           BLOB NOT NULL,
    time_unix           INTEGER NOT NULL,
    session             TEXT NOT NULL,
    counter_id          TEXT NOT NULL,
    operator_id         TEXT NOT NULL,
    card_number_sha256  BLOB,
    target              TEXT,
    municipality_code   TEXT,
    address             TEXT,
    old_content_sha256  BLOB,
    new_content_sha256  BLOB,
    result              TEXT NOT NULL,
    refusal_code        TEXT,
    refusal_message     TEXT,
    hash                BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
";

const COLUMNS: &str = "seq, prev_hash, time_unix, session, counter_id, operator_id, card_number_sha256, target, \
                       municipality_code, address, old_content_sha256, new_content_sha256, result, refusal_code, \
                       refusal_message, hash";

fn db(e: rusqlite::Error) -> AuditError {
    AuditError::Database(e.to_string())
}

/// The audit log in an SQLite database.
#[derive(Debug)]
pub struct SqliteAuditLog {
    conn: Connection,
    head: AuditHead,
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

type Row = (
    i64,
    Vec<u8>,
    i64,
    String,
    String,
    String,
    Option<Vec<u8>>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    String,
    Option<String>,
    Option<String>,
    Vec<u8>,
);

fn entry_of(r: Row) -> Option<AuditEntry> {
    Some(AuditEntry {
        seq: u64::try_from(r.0).ok()?,
        prev_hash: b32(r.1)?,
        record: AuditRecord {
            time_unix: u64::try_from(r.2).ok()?,
            session: r.3,
            counter_id: r.4,
            operator_id: r.5,
            card_number_sha256: opt_b32(r.6)?,
            target: r.7,
            municipality_code: r.8,
            address: r.9,
            old_content_sha256: opt_b32(r.10)?,
            new_content_sha256: opt_b32(r.11)?,
            result: AuditResult::from_parts(&r.12, r.13, r.14)?,
        },
        hash: b32(r.15)?,
    })
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
        row.get(11)?,
        row.get(12)?,
        row.get(13)?,
        row.get(14)?,
        row.get(15)?,
    ))
}

fn load(conn: &Connection) -> Result<Vec<Result<AuditEntry, BreakKind>>, AuditError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY id")).map_err(db)?;
    let rows = stmt.query_map([], read_row).map_err(db)?;
    let mut out = Vec::new();
    for r in rows {
        // A value of the wrong SQL type counts as an altered record, not a failure
        // of the database.
        out.push(r.ok().and_then(entry_of).ok_or(BreakKind::Altered));
    }
    Ok(out)
}

impl SqliteAuditLog {
    /// Opens (or creates) the database at `path`, creates the table and triggers if
    /// needed, and verifies the chain; a broken log is refused with the break.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        let verified = verify_chain(&load(&conn)?, None)?;
        Ok(SqliteAuditLog { conn, head: verified.head })
    }

    /// The connection (tests, `audit export`).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl AuditLog for SqliteAuditLog {
    fn append(&mut self, record: &AuditRecord) -> Result<AuditHead, AuditError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
        let last: Option<(i64, Vec<u8>)> = tx
            .query_row("SELECT seq, hash FROM audit_log ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(db)?;
        let head = match last {
            None => AuditHead::EMPTY,
            Some((seq, hash)) => {
                let seq = u64::try_from(seq).map_err(|_| ChainBreakAt::altered(seq))?;
                let hash = b32(hash).ok_or_else(|| ChainBreakAt::altered(seq as i64))?;
                AuditHead { seq, hash }
            }
        };
        let e = chain_entry(&head, record);
        let r = &e.record;
        let seq = i64::try_from(e.seq).map_err(|_| AuditError::Database("sequence overflow".into()))?;
        let time = i64::try_from(r.time_unix).map_err(|_| AuditError::Database("time out of range".into()))?;
        tx.execute(
            &format!("INSERT INTO audit_log ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"),
            params![
                seq,
                &e.prev_hash[..],
                time,
                r.session,
                r.counter_id,
                r.operator_id,
                r.card_number_sha256.as_ref().map(|h| &h[..]),
                r.target,
                r.municipality_code,
                r.address,
                r.old_content_sha256.as_ref().map(|h| &h[..]),
                r.new_content_sha256.as_ref().map(|h| &h[..]),
                r.result.name(),
                r.result.code(),
                r.result.message(),
                &e.hash[..],
            ],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        self.head = AuditHead { seq: e.seq, hash: e.hash };
        Ok(self.head)
    }

    fn entries(&self) -> Result<Vec<Result<AuditEntry, BreakKind>>, AuditError> {
        load(&self.conn)
    }

    fn head(&self) -> AuditHead {
        self.head
    }
}

struct ChainBreakAt;

impl ChainBreakAt {
    fn altered(seq: i64) -> AuditError {
        AuditError::Chain(super::ChainBreak { seq: u64::try_from(seq).unwrap_or(0), kind: BreakKind::Altered })
    }
}

/// Entries as stored, without opening the log (tests).
#[cfg(test)]
pub(super) fn tests_read(path: &Path) -> Vec<Result<AuditEntry, BreakKind>> {
    load(&Connection::open(path).unwrap()).unwrap()
}
