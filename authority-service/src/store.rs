//! The service's database: write sessions and the audit log, shared by every
//! instance. Two backends with one schema and one behaviour: **SQLite** (WAL, one
//! file; [`sqlite`]) and **PostgreSQL** ([`postgres`]); the PostgreSQL schema is the
//! SQLite one with `BYTEA` for `BLOB`, `BIGINT` for `INTEGER`, `BIGSERIAL` for the
//! row id and a PL/pgSQL function behind the append-only triggers.
//!
//! **Migrations** are numbered, the same numbers for both backends; opening a store
//! applies those the database has not seen, each recorded in `schema_migrations`,
//! and refuses a database from a newer version of the service. Instances starting
//! together apply each migration once: SQLite's `IMMEDIATE` transaction, or
//! PostgreSQL's transaction-scoped advisory lock around the whole migration.
//!
//! **Tables.** `audit_log` is exactly the table of
//! [`zairyu_authority_core::SqliteAuditLog`] (so that log, and `audit verify`, read
//! it); `sessions` holds one row per write session: its counter, the counter's
//! `request_id`, times, state (`open`, `finished`, `expired`, `aborted`), the next
//! sequence number, the hash of the last message processed and the sealed state
//! ([`crate::seal`]). Every change of a session is a compare-and-set on its state
//! and sequence number, in one `IMMEDIATE` transaction with the audit record it
//! implies, so two instances never both advance a session, and a session never
//! ends without its record.
//!
//! **One chain across instances.** An append reads the last record and inserts the
//! next inside a transaction that holds the database's one append lock: SQLite's
//! write lock, or PostgreSQL's advisory lock [`postgres::AUDIT_APPEND_LOCK`] (taken
//! after the session row's `FOR UPDATE` lock, always in that order). Two instances
//! appending at once therefore take turns; the chain never forks.

pub mod postgres;
pub mod sqlite;

use std::path::Path;
use std::time::Duration;

use zairyu_authority_core::audit::{AuditEntry, AuditHead, AuditRecord, BreakKind};

pub use self::postgres::PostgresStore;
pub use self::sqlite::SqliteStore;
use crate::config::PostgresConfig;

/// Why the database failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database cannot be reached, is locked past the busy time-out, or failed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database was written by a newer version of the service.
    #[error("database schema version {found} is newer than this service's {known}")]
    SchemaTooNew {
        /// In the database.
        found: i64,
        /// The newest this service knows.
        known: i64,
    },
    /// The last audit record is unreadable: the chain cannot be extended.
    #[error("audit log: the last record is unreadable")]
    AuditTail,
}

/// The SQLite migrations, in order: (version, SQL parts executed in order). The
/// audit table is the library's ([`sqlite::SCHEMA`](zairyu_authority_core::audit::sqlite::SCHEMA)).
pub const SQLITE_MIGRATIONS: &[(i64, &[&str])] = &[(
    1,
    &[
        zairyu_authority_core::audit::sqlite::SCHEMA,
        "
CREATE TABLE sessions (
    id                   TEXT PRIMARY KEY,
    counter_id           TEXT NOT NULL,
    request_id           TEXT NOT NULL,
    created_unix         INTEGER NOT NULL,
    expires_unix         INTEGER NOT NULL,
    state                TEXT NOT NULL,
    next_seq             INTEGER NOT NULL,
    last_request_sha256  BLOB,
    sealed               BLOB NOT NULL,
    UNIQUE (counter_id, request_id)
);
CREATE INDEX sessions_counter_created ON sessions (counter_id, created_unix);
CREATE INDEX sessions_state_expiry ON sessions (state, expires_unix);
",
    ],
)];

/// The PostgreSQL migrations: the same versions and tables as [`SQLITE_MIGRATIONS`].
pub const POSTGRES_MIGRATIONS: &[(i64, &[&str])] = &[(
    1,
    &["
CREATE TABLE audit_log (
    id                  BIGSERIAL PRIMARY KEY,
    seq                 BIGINT NOT NULL,
    prev_hash           BYTEA NOT NULL,
    time_unix           BIGINT NOT NULL,
    session             TEXT NOT NULL,
    counter_id          TEXT NOT NULL,
    operator_id         TEXT NOT NULL,
    card_number_sha256  BYTEA,
    target              TEXT,
    municipality_code   TEXT,
    address             TEXT,
    old_content_sha256  BYTEA,
    new_content_sha256  BYTEA,
    result              TEXT NOT NULL,
    refusal_code        TEXT,
    refusal_message     TEXT,
    hash                BYTEA NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TABLE sessions (
    id                   TEXT PRIMARY KEY,
    counter_id           TEXT NOT NULL,
    request_id           TEXT NOT NULL,
    created_unix         BIGINT NOT NULL,
    expires_unix         BIGINT NOT NULL,
    state                TEXT NOT NULL,
    next_seq             BIGINT NOT NULL,
    last_request_sha256  BYTEA,
    sealed               BYTEA NOT NULL,
    UNIQUE (counter_id, request_id)
);
CREATE INDEX sessions_counter_created ON sessions (counter_id, created_unix);
CREATE INDEX sessions_state_expiry ON sessions (state, expires_unix);
"],
)];

/// The newest schema version this service knows.
pub const SCHEMA_VERSION: i64 = 1;

const SESSION_COLUMNS: &str =
    "id, counter_id, request_id, created_unix, expires_unix, state, next_seq, last_request_sha256, sealed";

/// A session's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Waiting for the counter's next message.
    Open,
    /// Ended with a receipt or a refusal; the last answer is kept for retries.
    Finished,
    /// Timed out.
    Expired,
    /// Ended by a protocol violation (a replayed or reordered message).
    Aborted,
}

impl SessionState {
    /// `open`, `finished`, `expired`, `aborted` (as stored).
    pub fn name(self) -> &'static str {
        match self {
            SessionState::Open => "open",
            SessionState::Finished => "finished",
            SessionState::Expired => "expired",
            SessionState::Aborted => "aborted",
        }
    }

    /// The state of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [SessionState::Open, SessionState::Finished, SessionState::Expired, SessionState::Aborted]
            .into_iter()
            .find(|x| x.name() == s)
    }
}

/// One row of `sessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The session id (hex).
    pub id: String,
    /// The counter identity that opened it.
    pub counter_id: String,
    /// The counter's request id of the opening.
    pub request_id: String,
    /// When it opened.
    pub created_unix: u64,
    /// When it expires.
    pub expires_unix: u64,
    /// Its state.
    pub state: SessionState,
    /// The sequence number of the next message it accepts.
    pub next_seq: u64,
    /// SHA-256 of the last message processed (for idempotent retries).
    pub last_request_sha256: Option<[u8; 32]>,
    /// The sealed state, bound to `id` and `next_seq`.
    pub sealed: Vec<u8>,
}

/// The change of a session in [`Store::advance`].
#[derive(Debug, Clone)]
pub struct Advance<'a> {
    /// The new state.
    pub state: SessionState,
    /// The new next sequence number.
    pub next_seq: u64,
    /// The hash of the message processed.
    pub last_request_sha256: Option<[u8; 32]>,
    /// The audit record to append in the same transaction.
    pub audit: Option<&'a AuditRecord>,
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn opt_b32(v: Option<Vec<u8>>) -> Option<Option<[u8; 32]>> {
    match v {
        None => Some(None),
        Some(v) => v.try_into().ok().map(Some),
    }
}

/// The database: SQLite or PostgreSQL, the same operations on either.
#[derive(Debug)]
#[non_exhaustive]
pub enum Store {
    /// One SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(Box<PostgresStore>),
}

macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl Store {
    /// Opens (or creates) the SQLite database at `path` (WAL, `synchronous = FULL`)
    /// and runs the migrations.
    pub fn open_sqlite(path: &Path, busy_timeout: Duration) -> Result<Self, StoreError> {
        SqliteStore::open_sqlite(path, busy_timeout).map(Store::Sqlite)
    }

    /// Connects to the PostgreSQL database of `config` and runs the migrations.
    pub fn open_postgres(config: &PostgresConfig) -> Result<Self, StoreError> {
        PostgresStore::open(config).map(|s| Store::Postgres(Box::new(s)))
    }

    /// The schema version after migrating.
    pub fn schema_version(&mut self) -> Result<i64, StoreError> {
        each!(self, s => s.schema_version())
    }

    /// How many migrations `schema_migrations` records.
    pub fn migrations_applied(&mut self) -> Result<i64, StoreError> {
        each!(self, s => s.migrations_applied())
    }

    /// Sessions `counter` opened at or after `since`.
    pub fn sessions_since(&mut self, counter: &str, since: u64) -> Result<u64, StoreError> {
        each!(self, s => s.sessions_since(counter, since))
    }

    /// A session by id.
    pub fn session(&mut self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        each!(self, s => s.session(id))
    }

    /// A session by its counter and request id.
    pub fn session_by_request(&mut self, counter: &str, request_id: &str) -> Result<Option<SessionRow>, StoreError> {
        each!(self, s => s.session_by_request(counter, request_id))
    }

    /// Open sessions whose time is up (at most 100 at a time).
    pub fn expired_open(&mut self, now: u64) -> Result<Vec<SessionRow>, StoreError> {
        each!(self, s => s.expired_open(now))
    }

    /// Inserts a new session and appends its audit record, in one transaction.
    pub fn insert_session(&mut self, row: &SessionRow, audit: &AuditRecord) -> Result<AuditHead, StoreError> {
        each!(self, s => s.insert_session(row, audit))
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
        each!(self, s => s.advance(id, from, seq, to, make))
    }

    /// Appends one audit record on its own.
    pub fn append_audit(&mut self, record: &AuditRecord) -> Result<AuditHead, StoreError> {
        each!(self, s => s.append_audit(record))
    }

    /// Every audit entry in row order; an unreadable row is `Err(Altered)`.
    pub fn audit_entries(&mut self) -> Result<Vec<Result<AuditEntry, BreakKind>>, StoreError> {
        each!(self, s => s.audit_entries())
    }

    /// Another connection to the same database, for a pool (PostgreSQL; it connects
    /// at its first use and does not migrate again). `None` for SQLite, whose one
    /// writer a second connection would only wait for.
    pub fn another(&self) -> Option<Store> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(p) => Some(Store::Postgres(Box::new(p.another()))),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
