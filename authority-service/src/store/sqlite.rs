//! The SQLite backend of [`super::Store`]: one file in WAL mode with
//! `synchronous = FULL`; every change is one `IMMEDIATE` transaction, so two
//! processes sharing the file serialize their writes (and the audit chain's
//! appends) on SQLite's write lock.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use zairyu_authority_core::audit::sqlite::{AppendError, append_in, load};
use zairyu_authority_core::audit::{AuditEntry, AuditHead, AuditRecord, BreakKind};

use super::{Advance, SESSION_COLUMNS, SQLITE_MIGRATIONS, SessionRow, SessionState, StoreError, i, now, opt_b32, u};

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The SQLite database.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (or creates) the SQLite database at `path` (WAL, `synchronous = FULL`)
    /// and runs the migrations.
    pub fn open_sqlite(path: &Path, busy_timeout: Duration) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(busy_timeout).map_err(db)?;
        // Instances starting together race to switch a new file to WAL; SQLite answers
        // some of those lock steps with SQLITE_BUSY without waiting in the busy
        // handler, so the switch is retried until the busy time-out.
        let deadline = std::time::Instant::now() + busy_timeout;
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Ok(()) => break,
                Err(e)
                    if matches!(
                        e.sqlite_error_code(),
                        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                    ) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(db(e)),
            }
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        let mut s = SqliteStore { conn };
        s.migrate()?;
        Ok(s)
    }

    /// The schema version after migrating.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0)).map_err(db)
    }

    /// How many migrations `schema_migrations` records.
    pub fn migrations_applied(&self) -> Result<i64, StoreError> {
        self.conn.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0)).map_err(db)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_unix INTEGER NOT NULL)",
            )
            .map_err(db)?;
        let known = SQLITE_MIGRATIONS.last().map_or(0, |m| m.0);
        for &(version, parts) in SQLITE_MIGRATIONS {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
            let current: i64 = tx
                .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))
                .map_err(db)?;
            if current > known {
                return Err(StoreError::SchemaTooNew { found: current, known });
            }
            if current >= version {
                continue;
            }
            for sql in parts {
                tx.execute_batch(sql).map_err(db)?;
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_unix) VALUES (?1, ?2)",
                params![version, i(now())],
            )
            .map_err(db)?;
            tx.commit().map_err(db)?;
            log::info!("database migrated to schema version {version}");
        }
        Ok(())
    }

    /// Sessions `counter` opened at or after `since`.
    pub fn sessions_since(&self, counter: &str, since: u64) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sessions WHERE counter_id = ?1 AND created_unix >= ?2",
                params![counter, i(since)],
                |r| r.get(0),
            )
            .map_err(db)?;
        Ok(u(n))
    }

    fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<SessionRow>> {
        let state: String = r.get(5)?;
        let last: Option<Vec<u8>> = r.get(7)?;
        Ok(Some(SessionRow {
            id: r.get(0)?,
            counter_id: r.get(1)?,
            request_id: r.get(2)?,
            created_unix: u(r.get(3)?),
            expires_unix: u(r.get(4)?),
            state: match SessionState::parse(&state) {
                Some(s) => s,
                None => return Ok(None),
            },
            next_seq: u(r.get(6)?),
            last_request_sha256: match opt_b32(last) {
                Some(h) => h,
                None => return Ok(None),
            },
            sealed: r.get(8)?,
        }))
    }

    /// A session by id.
    pub fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        self.conn
            .query_row(&format!("SELECT {} FROM sessions WHERE id = ?1", SESSION_COLUMNS), [id], Self::row)
            .optional()
            .map_err(db)
            .map(Option::flatten)
    }

    /// A session by its counter and request id.
    pub fn session_by_request(&self, counter: &str, request_id: &str) -> Result<Option<SessionRow>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {} FROM sessions WHERE counter_id = ?1 AND request_id = ?2", SESSION_COLUMNS),
                [counter, request_id],
                Self::row,
            )
            .optional()
            .map_err(db)
            .map(Option::flatten)
    }

    /// Open sessions whose time is up.
    pub fn expired_open(&self, now: u64) -> Result<Vec<SessionRow>, StoreError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM sessions WHERE state = 'open' AND expires_unix <= ?1 ORDER BY expires_unix LIMIT 100",
                SESSION_COLUMNS
            ))
            .map_err(db)?;
        let rows = st.query_map([i(now)], Self::row).map_err(db)?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(r) = r.map_err(db)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Inserts a new session and appends its audit record, in one transaction.
    pub fn insert_session(&mut self, row: &SessionRow, audit: &AuditRecord) -> Result<AuditHead, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
        tx.execute(
            &format!("INSERT INTO sessions ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", SESSION_COLUMNS),
            params![
                row.id,
                row.counter_id,
                row.request_id,
                i(row.created_unix),
                i(row.expires_unix),
                row.state.name(),
                i(row.next_seq),
                row.last_request_sha256.as_ref().map(|h| &h[..]),
                row.sealed,
            ],
        )
        .map_err(db)?;
        let head = append(&tx, audit)?;
        tx.commit().map_err(db)?;
        Ok(head)
    }

    /// Moves session `id` from (`from`, `seq`) to the new state, appending the
    /// audit record if any, in one transaction; `make` gets the new audit head and
    /// gives the new sealed state and what the caller returns. `Ok(None)` when the
    /// session is no longer at (`from`, `seq`) (another instance moved it first):
    /// nothing changed.
    pub fn advance<R>(
        &mut self,
        id: &str,
        from: SessionState,
        seq: u64,
        to: &Advance<'_>,
        make: impl FnOnce(Option<AuditHead>) -> (Vec<u8>, R),
    ) -> Result<Option<R>, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
        let at: Option<(String, i64)> = tx
            .query_row("SELECT state, next_seq FROM sessions WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(db)?;
        if at != Some((from.name().to_owned(), i(seq))) {
            return Ok(None);
        }
        let head = match to.audit {
            Some(a) => Some(append(&tx, a)?),
            None => None,
        };
        let (sealed, out) = make(head);
        tx.execute(
            "UPDATE sessions SET state = ?1, next_seq = ?2, last_request_sha256 = ?3, sealed = ?4 WHERE id = ?5",
            params![to.state.name(), i(to.next_seq), to.last_request_sha256.as_ref().map(|h| &h[..]), sealed, id],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(Some(out))
    }

    /// Appends one audit record on its own.
    pub fn append_audit(&mut self, record: &AuditRecord) -> Result<AuditHead, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
        let head = append(&tx, record)?;
        tx.commit().map_err(db)?;
        Ok(head)
    }

    /// Every audit entry in row order; an unreadable row is `Err(Altered)`.
    pub fn audit_entries(&self) -> Result<Vec<Result<AuditEntry, BreakKind>>, StoreError> {
        load(&self.conn).map_err(db)
    }

    /// The connection (tests, tools).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Appends `record` after the last row, inside the caller's transaction.
fn append(tx: &rusqlite::Transaction<'_>, record: &AuditRecord) -> Result<AuditHead, StoreError> {
    match append_in(tx, record) {
        Ok(e) => Ok(AuditHead { seq: e.seq, hash: e.hash }),
        Err(AppendError::Database(e)) => Err(db(e)),
        Err(AppendError::Tail(_)) => Err(StoreError::AuditTail),
        Err(AppendError::Range(e)) => Err(StoreError::Unavailable(e.to_string())),
    }
}
