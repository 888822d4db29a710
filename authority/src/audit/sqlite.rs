//! The audit log in SQLite (embedded through rusqlite's `bundled` SQLite: no system
//! library), table `audit_log`. The write authority service keeps its audit log in
//! the same table through [`SCHEMA`], [`append_in`] and [`load`], so this log and the
//! service's database read and verify the same way.
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

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::row::{AUDIT_COLUMNS, AuditRow, OutOfRange, head_of};
use super::{
    AuditEntry, AuditError, AuditHead, AuditLog, AuditRecord, BreakKind, ChainBreak, chain_entry, verify_chain,
};

/// The table `audit_log` and its append-only triggers (idempotent).
pub const SCHEMA: &str = "
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

/// Why [`append_in`] failed.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The last row is unreadable (its stored `seq`): the chain cannot be extended.
    #[error("the last audit record (seq {0}) is unreadable")]
    Tail(i64),
    /// The new entry does not fit the table's integers.
    #[error(transparent)]
    Range(#[from] OutOfRange),
}

/// The row under `row`'s cursor (columns in the order of [`AUDIT_COLUMNS`]).
fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: row.get(0)?,
        prev_hash: row.get(1)?,
        time_unix: row.get(2)?,
        session: row.get(3)?,
        counter_id: row.get(4)?,
        operator_id: row.get(5)?,
        card_number_sha256: row.get(6)?,
        target: row.get(7)?,
        municipality_code: row.get(8)?,
        address: row.get(9)?,
        old_content_sha256: row.get(10)?,
        new_content_sha256: row.get(11)?,
        result: row.get(12)?,
        refusal_code: row.get(13)?,
        refusal_message: row.get(14)?,
        hash: row.get(15)?,
    })
}

/// Every entry in row order; a row that cannot be an entry (a value of the wrong
/// SQL type or range) is `Err(Altered)`, not a failure of the database.
pub fn load(conn: &Connection) -> rusqlite::Result<Vec<Result<AuditEntry, BreakKind>>> {
    let mut stmt = conn.prepare(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY id"))?;
    let rows = stmt.query_map([], read_row)?;
    Ok(rows.map(|r| r.ok().and_then(AuditRow::entry).ok_or(BreakKind::Altered)).collect())
}

/// Appends `record` after the last row inside the caller's transaction (begun
/// `IMMEDIATE`, so no other writer comes between the read of the last row and the
/// insert); the caller commits it with whatever else belongs to the same change.
pub fn append_in(tx: &Transaction<'_>, record: &AuditRecord) -> Result<AuditEntry, AppendError> {
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row("SELECT seq, hash FROM audit_log ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let head = match last {
        None => AuditHead::EMPTY,
        Some((seq, hash)) => head_of(seq, hash).ok_or(AppendError::Tail(seq))?,
    };
    let e = chain_entry(&head, record);
    let r = AuditRow::of(&e)?;
    tx.execute(
        &format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"),
        params![
            r.seq,
            r.prev_hash,
            r.time_unix,
            r.session,
            r.counter_id,
            r.operator_id,
            r.card_number_sha256,
            r.target,
            r.municipality_code,
            r.address,
            r.old_content_sha256,
            r.new_content_sha256,
            r.result,
            r.refusal_code,
            r.refusal_message,
            r.hash,
        ],
    )?;
    Ok(e)
}

fn db(e: rusqlite::Error) -> AuditError {
    AuditError::Database(e.to_string())
}

impl From<AppendError> for AuditError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::Database(e) => db(e),
            AppendError::Tail(seq) => {
                AuditError::Chain(ChainBreak { seq: u64::try_from(seq).unwrap_or(0), kind: BreakKind::Altered })
            }
            AppendError::Range(e) => AuditError::Database(e.to_string()),
        }
    }
}

/// The audit log in an SQLite database.
#[derive(Debug)]
pub struct SqliteAuditLog {
    conn: Connection,
    head: AuditHead,
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
        let verified = verify_chain(&load(&conn).map_err(db)?, None)?;
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
        let e = append_in(&tx, record)?;
        tx.commit().map_err(db)?;
        self.head = AuditHead { seq: e.seq, hash: e.hash };
        Ok(self.head)
    }

    fn entries(&self) -> Result<Vec<Result<AuditEntry, BreakKind>>, AuditError> {
        load(&self.conn).map_err(db)
    }

    fn head(&self) -> AuditHead {
        self.head
    }
}

/// Entries as stored, without opening the log (tests).
#[cfg(test)]
pub(super) fn tests_read(path: &Path) -> Vec<Result<AuditEntry, BreakKind>> {
    load(&Connection::open(path).unwrap()).unwrap()
}
