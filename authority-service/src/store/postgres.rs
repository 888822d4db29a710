//! The PostgreSQL backend of [`super::Store`]: the scale-out choice, instances on
//! several hosts sharing one database. Same tables, same migrations numbers and the
//! same behaviour as [`super::sqlite`]:
//!
//! * **Migrations** run in one transaction that first takes the advisory lock
//!   [`MIGRATION_LOCK`], so instances starting together apply each migration once
//!   (the others wait, then find it applied).
//! * **Sessions** change by compare-and-set: the row is read `FOR UPDATE`, checked
//!   against the expected state and sequence number, then updated in the same
//!   transaction as the audit record the change implies.
//! * **The audit chain** is extended only under the transaction-scoped advisory lock
//!   [`AUDIT_APPEND_LOCK`]: read the last record, insert the next, commit (which
//!   releases the lock). Under `READ COMMITTED` the read after the lock sees every
//!   append committed before it, so appends of all instances form one chain.
//!   Locks are taken in one order (session row, then the audit lock): no deadlock.
//!
//! The connection is plain TCP (or a Unix socket): on loopback or a trusted link;
//! no OpenSSL. It is opened lazily and again after it broke (the database
//! restarted): a failure before a transaction began is retried once on a fresh
//! connection, any later one is `store_unavailable` for that request — the counter
//! resends the same message, which the service processes at most once.
//! `lock_timeout` bounds waits for locks, `statement_timeout` any statement.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};
use zairyu_authority_core::audit::row::head_of;
use zairyu_authority_core::audit::{
    AUDIT_COLUMNS, AuditEntry, AuditHead, AuditRecord, AuditRow, BreakKind, chain_entry,
};

use super::{Advance, POSTGRES_MIGRATIONS, SessionRow, SessionState, StoreError, i, now, opt_b32, u};
use crate::config::PostgresConfig;

/// The advisory lock (one 64-bit key) held while migrating: `"zairyu"` ‖ 0x0001.
pub const MIGRATION_LOCK: i64 = 0x7a61_6972_7975_0001;

/// The advisory lock held while appending to `audit_log`: `"zairyu"` ‖ 0x0002.
pub const AUDIT_APPEND_LOCK: i64 = 0x7a61_6972_7975_0002;

macro_rules! session_columns {
    () => {
        "id, counter_id, request_id, created_unix, expires_unix, state, next_seq, last_request_sha256, sealed"
    };
}

const SQL_SESSION: &str = concat!("SELECT ", session_columns!(), " FROM sessions WHERE id = $1");
const SQL_SESSION_BY_REQUEST: &str =
    concat!("SELECT ", session_columns!(), " FROM sessions WHERE counter_id = $1 AND request_id = $2");
const SQL_EXPIRED: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE state = 'open' AND expires_unix <= $1 ORDER BY expires_unix LIMIT 100"
);
const SQL_SINCE: &str = "SELECT COUNT(*) FROM sessions WHERE counter_id = $1 AND created_unix >= $2";
const SQL_INSERT_SESSION: &str =
    concat!("INSERT INTO sessions (", session_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
const SQL_LOCK_SESSION: &str = "SELECT state, next_seq FROM sessions WHERE id = $1 FOR UPDATE";
const SQL_UPDATE_SESSION: &str =
    "UPDATE sessions SET state = $1, next_seq = $2, last_request_sha256 = $3, sealed = $4 WHERE id = $5";
const SQL_AUDIT_LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
const SQL_AUDIT_LAST: &str = "SELECT seq, hash FROM audit_log ORDER BY id DESC LIMIT 1";
static SQL_AUDIT_INSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    )
});
static SQL_AUDIT_ALL: LazyLock<String> = LazyLock::new(|| format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY id"));

fn db(e: postgres::Error) -> StoreError {
    let detail = match e.as_db_error() {
        Some(d) => format!("{} {}: {}", d.severity(), d.code().code(), d.message()),
        None => match std::error::Error::source(&e) {
            Some(s) => format!("{e}: {s}"),
            None => e.to_string(),
        },
    };
    StoreError::Unavailable(detail)
}

/// One connection and its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Conn {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query(&s, params)
    }

    fn query_opt(&mut self, sql: &'static str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query_opt(&s, params)
    }

    fn execute(&mut self, sql: &'static str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.execute(&s, params)
    }
}

/// The PostgreSQL database.
pub struct PostgresStore {
    config: postgres::Config,
    session_settings: String,
    conn: Option<Conn>,
}

impl core::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("dbname", &self.config.get_dbname())
            .field("user", &self.config.get_user())
            .field("connected", &self.conn.is_some())
            .finish_non_exhaustive()
    }
}

/// Closes a connection on a thread of its own: the synchronous client runs a small
/// runtime of its own, which must not be dropped on a thread of the service's
/// runtime (an instance that is killed drops its store there).
fn discard(conn: Conn) {
    let dropped = std::thread::Builder::new().name("postgres-close".into()).spawn(move || drop(conn));
    if let Err(e) = dropped {
        log::warn!("closing a database connection: {e}");
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            discard(c);
        }
    }
}

/// The first line of a password file.
fn read_password(path: &std::path::Path) -> Result<zeroize::Zeroizing<String>, StoreError> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| StoreError::Unavailable(format!("password file {}: {e}", path.display())))?,
    );
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(StoreError::Unavailable(format!("password file {} is empty", path.display())));
    }
    Ok(zeroize::Zeroizing::new(line.to_owned()))
}

impl PostgresStore {
    /// Connects to the database of `config` and runs the migrations.
    pub fn open(config: &PostgresConfig) -> Result<Self, StoreError> {
        let mut c = postgres::Config::new();
        c.host(&config.host)
            .port(config.port)
            .dbname(&config.dbname)
            .user(&config.user)
            .application_name("zairyu-authority")
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .keepalives(true);
        if let Some(p) = &config.password_file {
            c.password(read_password(p)?.as_bytes());
        }
        let session_settings = format!(
            "SET lock_timeout = {}; SET statement_timeout = {}; SET idle_in_transaction_session_timeout = {}",
            config.lock_timeout_ms,
            config.lock_timeout_ms.saturating_add(30_000),
            config.lock_timeout_ms.saturating_add(60_000),
        );
        let mut s = PostgresStore { config: c, session_settings, conn: None };
        s.migrate()?;
        Ok(s)
    }

    fn drop_conn(&mut self) {
        if let Some(c) = self.conn.take() {
            discard(c);
        }
    }

    /// Another connection to the same database (opened at its first use).
    pub fn another(&self) -> PostgresStore {
        PostgresStore { config: self.config.clone(), session_settings: self.session_settings.clone(), conn: None }
    }

    /// The connection, opened if there is none or the last one broke.
    fn conn(&mut self) -> Result<&mut Conn, StoreError> {
        if self.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            self.drop_conn();
        }
        match self.conn {
            Some(ref mut c) => Ok(c),
            None => {
                let mut client = self.config.connect(NoTls).map_err(db)?;
                client.batch_execute(&self.session_settings).map_err(db)?;
                Ok(self.conn.insert(Conn { client, statements: HashMap::new() }))
            }
        }
    }

    /// Runs a read; on a connection that turns out to be broken (the database
    /// restarted since the last request), once more on a fresh one.
    fn read<T>(&mut self, f: impl Fn(&mut Conn) -> Result<T, postgres::Error>) -> Result<T, StoreError> {
        match f(self.conn()?) {
            Ok(v) => Ok(v),
            Err(e) if e.is_closed() => {
                self.drop_conn();
                f(self.conn()?).map_err(db)
            }
            Err(e) => Err(db(e)),
        }
    }

    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back
    /// otherwise. A connection found broken at `BEGIN` is replaced once.
    fn transaction<T>(&mut self, f: impl FnOnce(&mut Conn) -> Result<T, StoreError>) -> Result<T, StoreError> {
        match self.conn()?.client.batch_execute("BEGIN") {
            Ok(()) => {}
            Err(e) if e.is_closed() => {
                self.drop_conn();
                self.conn()?.client.batch_execute("BEGIN").map_err(db)?;
            }
            Err(e) => return Err(db(e)),
        }
        let c = self.conn()?;
        match f(c) {
            Ok(v) => {
                c.client.batch_execute("COMMIT").map_err(db)?;
                Ok(v)
            }
            Err(e) => {
                if let Err(r) = c.client.batch_execute("ROLLBACK") {
                    log::warn!("rollback: {r}");
                }
                Err(e)
            }
        }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        self.transaction(|c| {
            c.client.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(db)?;
            c.client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_unix BIGINT NOT NULL)",
                )
                .map_err(db)?;
            let current: i64 = c
                .client
                .query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations", &[])
                .and_then(|r| r.try_get(0))
                .map_err(db)?;
            let known = POSTGRES_MIGRATIONS.last().map_or(0, |m| m.0);
            if current > known {
                return Err(StoreError::SchemaTooNew { found: current, known });
            }
            for &(version, parts) in POSTGRES_MIGRATIONS {
                if current >= version {
                    continue;
                }
                for sql in parts {
                    c.client.batch_execute(sql).map_err(db)?;
                }
                c.client
                    .execute(
                        "INSERT INTO schema_migrations (version, applied_unix) VALUES ($1, $2)",
                        &[&version, &i(now())],
                    )
                    .map_err(db)?;
                log::info!("database migrated to schema version {version}");
            }
            Ok(())
        })
    }

    /// The schema version after migrating.
    pub fn schema_version(&mut self) -> Result<i64, StoreError> {
        self.read(|c| {
            c.client.query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations", &[])?.try_get(0)
        })
    }

    /// How many migrations `schema_migrations` records.
    pub fn migrations_applied(&mut self) -> Result<i64, StoreError> {
        self.read(|c| c.client.query_one("SELECT COUNT(*) FROM schema_migrations", &[])?.try_get(0))
    }

    /// Sessions `counter` opened at or after `since`.
    pub fn sessions_since(&mut self, counter: &str, since: u64) -> Result<u64, StoreError> {
        let since = i(since);
        let n: i64 = self.read(|c| c.query_opt(SQL_SINCE, &[&counter, &since])?.map_or(Ok(0), |r| r.try_get(0)))?;
        Ok(u(n))
    }

    /// A session by id.
    pub fn session(&mut self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = self.read(|c| c.query_opt(SQL_SESSION, &[&id]))?;
        Ok(row.as_ref().and_then(session_of))
    }

    /// A session by its counter and request id.
    pub fn session_by_request(&mut self, counter: &str, request_id: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = self.read(|c| c.query_opt(SQL_SESSION_BY_REQUEST, &[&counter, &request_id]))?;
        Ok(row.as_ref().and_then(session_of))
    }

    /// Open sessions whose time is up.
    pub fn expired_open(&mut self, now: u64) -> Result<Vec<SessionRow>, StoreError> {
        let now = i(now);
        let rows = self.read(|c| c.query(SQL_EXPIRED, &[&now]))?;
        Ok(rows.iter().filter_map(session_of).collect())
    }

    /// Inserts a new session and appends its audit record, in one transaction.
    pub fn insert_session(&mut self, row: &SessionRow, audit: &AuditRecord) -> Result<AuditHead, StoreError> {
        self.transaction(|c| {
            c.execute(
                SQL_INSERT_SESSION,
                &[
                    &row.id,
                    &row.counter_id,
                    &row.request_id,
                    &i(row.created_unix),
                    &i(row.expires_unix),
                    &row.state.name(),
                    &i(row.next_seq),
                    &row.last_request_sha256.as_ref().map(|h| &h[..]),
                    &row.sealed,
                ],
            )
            .map_err(db)?;
            append(c, audit)
        })
    }

    /// See [`super::Store::advance`].
    pub fn advance<R>(
        &mut self,
        id: &str,
        from: SessionState,
        seq: u64,
        to: &Advance<'_>,
        make: impl FnOnce(Option<AuditHead>) -> (Vec<u8>, R),
    ) -> Result<Option<R>, StoreError> {
        self.transaction(|c| {
            let at = c.query_opt(SQL_LOCK_SESSION, &[&id]).map_err(db)?;
            let at = at.map(|r| (r.try_get::<_, String>(0), r.try_get::<_, i64>(1)));
            let matches = matches!(at, Some((Ok(ref s), Ok(n))) if s == from.name() && n == i(seq));
            if !matches {
                return Ok(None);
            }
            let head = match to.audit {
                Some(a) => Some(append(c, a)?),
                None => None,
            };
            let (sealed, out) = make(head);
            c.execute(
                SQL_UPDATE_SESSION,
                &[&to.state.name(), &i(to.next_seq), &to.last_request_sha256.as_ref().map(|h| &h[..]), &sealed, &id],
            )
            .map_err(db)?;
            Ok(Some(out))
        })
    }

    /// Appends one audit record on its own.
    pub fn append_audit(&mut self, record: &AuditRecord) -> Result<AuditHead, StoreError> {
        self.transaction(|c| append(c, record))
    }

    /// Every audit entry in row order; an unreadable row is `Err(Altered)`.
    pub fn audit_entries(&mut self) -> Result<Vec<Result<AuditEntry, BreakKind>>, StoreError> {
        let rows = self.read(|c| c.query(&SQL_AUDIT_ALL, &[]))?;
        Ok(rows.iter().map(|r| entry_of(r).ok_or(BreakKind::Altered)).collect())
    }
}

fn session_of(r: &Row) -> Option<SessionRow> {
    Some(SessionRow {
        id: r.try_get(0).ok()?,
        counter_id: r.try_get(1).ok()?,
        request_id: r.try_get(2).ok()?,
        created_unix: u(r.try_get(3).ok()?),
        expires_unix: u(r.try_get(4).ok()?),
        state: SessionState::parse(r.try_get(5).ok()?)?,
        next_seq: u(r.try_get(6).ok()?),
        last_request_sha256: opt_b32(r.try_get(7).ok()?)?,
        sealed: r.try_get(8).ok()?,
    })
}

fn entry_of(r: &Row) -> Option<AuditEntry> {
    AuditRow {
        seq: r.try_get(0).ok()?,
        prev_hash: r.try_get(1).ok()?,
        time_unix: r.try_get(2).ok()?,
        session: r.try_get(3).ok()?,
        counter_id: r.try_get(4).ok()?,
        operator_id: r.try_get(5).ok()?,
        card_number_sha256: r.try_get(6).ok()?,
        target: r.try_get(7).ok()?,
        municipality_code: r.try_get(8).ok()?,
        address: r.try_get(9).ok()?,
        old_content_sha256: r.try_get(10).ok()?,
        new_content_sha256: r.try_get(11).ok()?,
        result: r.try_get(12).ok()?,
        refusal_code: r.try_get(13).ok()?,
        refusal_message: r.try_get(14).ok()?,
        hash: r.try_get(15).ok()?,
    }
    .entry()
}

/// Appends `record` after the last row, inside the caller's transaction, holding
/// the append lock until it ends.
fn append(c: &mut Conn, record: &AuditRecord) -> Result<AuditHead, StoreError> {
    c.query_opt(SQL_AUDIT_LOCK, &[&AUDIT_APPEND_LOCK]).map_err(db)?;
    let last = c.query_opt(SQL_AUDIT_LAST, &[]).map_err(db)?;
    let head = match last {
        None => AuditHead::EMPTY,
        Some(r) => match (r.try_get(0), r.try_get(1)) {
            (Ok(seq), Ok(hash)) => head_of(seq, hash).ok_or(StoreError::AuditTail)?,
            _ => return Err(StoreError::AuditTail),
        },
    };
    let e = chain_entry(&head, record);
    let r = AuditRow::of(&e).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    c.execute(
        &SQL_AUDIT_INSERT,
        &[
            &r.seq,
            &r.prev_hash,
            &r.time_unix,
            &r.session,
            &r.counter_id,
            &r.operator_id,
            &r.card_number_sha256,
            &r.target,
            &r.municipality_code,
            &r.address,
            &r.old_content_sha256,
            &r.new_content_sha256,
            &r.result,
            &r.refusal_code,
            &r.refusal_message,
            &r.hash,
        ],
    )
    .map_err(db)?;
    Ok(AuditHead { seq: e.seq, hash: e.hash })
}
