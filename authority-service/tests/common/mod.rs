//! A test deployment (`init` into a temporary directory), instances of the service
//! on 127.0.0.1, the simulator's cards, and the counter's HTTPS link.

#![allow(dead_code)]

pub mod pg;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::files::CardType;
use zairyu::sequence::{ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::verify::TrustStore;
use zairyu::write::counter::{AddressWrite, WriteError, WriteOutcome, write_address};
use zairyu::write::record::{NewAddress, WriteTarget};
use zairyu_authority::config::Config;
use zairyu_authority::http::RunningServer;
use zairyu_authority::init::{Issued, TlsCa};
use zairyu_authority::service::{open_store, verify_audit};
use zairyu_authority_core::audit::{AuditEntry, AuditResult};
use zairyu_authority_core::remote::{RemoteAuthority, RemoteOptions};
use zairyu_sim::write_pki::WritePki;
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

pub const NUMBER: &str = "AB12345678CD";

/// The database a deployment uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `authority.sqlite3` in the deployment directory.
    Sqlite,
    /// Database `authority` in a private cluster of the deployment's own.
    Postgres,
}

pub struct Deployment {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub backend: Backend,
    /// The PostgreSQL cluster (dropped, so stopped, with the deployment).
    pub pg: Option<pg::Cluster>,
}

/// The database of the PostgreSQL deployments.
pub const PG_DB: &str = "authority";

/// A handle on the raw database, as an operator (or an attacker with access) has.
pub enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

impl Raw {
    pub fn batch(&mut self, sql: &str) {
        match self {
            Raw::Sqlite(c) => c.execute_batch(sql).unwrap(),
            Raw::Postgres(c) => c.batch_execute(sql).unwrap(),
        }
    }

    /// Runs `sql`; the database's refusal as text.
    pub fn try_batch(&mut self, sql: &str) -> Result<(), String> {
        match self {
            Raw::Sqlite(c) => c.execute_batch(sql).map_err(|e| e.to_string()),
            Raw::Postgres(c) => c.batch_execute(sql).map_err(|e| format!("{e:?}")),
        }
    }

    /// The first column of each row, as text.
    pub fn strings(&mut self, sql: &str) -> Vec<String> {
        match self {
            Raw::Sqlite(c) => {
                c.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
            }
            Raw::Postgres(c) => c.query(sql, &[]).unwrap().iter().map(|r| r.get(0)).collect(),
        }
    }

    /// Drops the append-only triggers of `audit_log` (tampering needs it).
    pub fn drop_audit_triggers(&mut self) {
        match self {
            Raw::Sqlite(_) => self.batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"),
            Raw::Postgres(_) => self
                .batch("DROP TRIGGER audit_log_no_update ON audit_log; DROP TRIGGER audit_log_no_delete ON audit_log;"),
        }
    }

    /// Takes the database's write lock until [`Raw::batch`]`("ROLLBACK")`.
    pub fn hold_write_lock(&mut self) {
        match self {
            Raw::Sqlite(_) => self.batch("BEGIN EXCLUSIVE"),
            Raw::Postgres(_) => self.batch("BEGIN; LOCK TABLE sessions, audit_log IN EXCLUSIVE MODE"),
        }
    }
}

pub const POLICY: &str = r#"version = 1
[[counter]]
id = "counter-1"
municipalities = ["*"]
max_sessions_per_minute = 50
[[counter]]
id = "counter-2"
municipalities = ["131091"]
[[counter]]
id = "counter-slow"
municipalities = ["*"]
max_sessions_per_minute = 1
"#;

impl Deployment {
    /// `init` with counters 1, 2, slow and 9 (9 not in the policy); `edit` changes
    /// the configuration text.
    pub fn new(edit: impl FnOnce(String) -> String) -> Self {
        Self::on(Backend::Sqlite, edit)
    }

    /// As [`Deployment::new`] on `backend`: for PostgreSQL, a private cluster and
    /// the `[database]` section pointing at it (its `lock_timeout_ms` is the
    /// edited SQLite `busy_timeout_ms`).
    pub fn on(backend: Backend, edit: impl FnOnce(String) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let counters: Vec<String> =
            ["counter-1", "counter-2", "counter-slow", "counter-9"].iter().map(|s| s.to_string()).collect();
        let r = zairyu_authority::init::init(dir.path(), &counters, "127.0.0.1:0").unwrap();
        std::fs::write(dir.path().join("policy.toml"), POLICY).unwrap();
        let text = edit(std::fs::read_to_string(&r.config).unwrap());
        let (text, pg) = match backend {
            Backend::Sqlite => (text, None),
            Backend::Postgres => {
                let cluster = pg::Cluster::start();
                cluster.create_database(PG_DB);
                (to_postgres(&text, &cluster, PG_DB), Some(cluster))
            }
        };
        std::fs::write(&r.config, text).unwrap();
        Deployment { config_path: r.config, dir, backend, pg }
    }

    /// The cluster of a PostgreSQL deployment.
    pub fn cluster(&mut self) -> &mut pg::Cluster {
        self.pg.as_mut().expect("a PostgreSQL deployment")
    }

    /// A raw connection to the database.
    pub fn raw(&self) -> Raw {
        match &self.pg {
            None => Raw::Sqlite(self.sqlite()),
            Some(c) => Raw::Postgres(Box::new(c.client(PG_DB))),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> Config {
        Config::load(&self.config_path).unwrap()
    }

    pub fn start(&self) -> RunningServer {
        RunningServer::start(&self.config()).unwrap()
    }

    pub fn pki(&self) -> WritePki {
        WritePki::load(&self.path().join("pki")).unwrap()
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.path().join("tls/ca.pem")).unwrap()
    }

    pub fn link_as(&self, counter: &str, urls: &[String]) -> RemoteAuthority {
        let tls = self.path().join("tls");
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        RemoteAuthority::from_files(
            &urls,
            &tls.join(format!("{counter}.pem")),
            &tls.join(format!("{counter}.key")),
            &tls.join("ca.pem"),
        )
        .unwrap()
        .with_options(fast())
    }

    pub fn link_with(&self, issued: &Issued, urls: &[String]) -> RemoteAuthority {
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        RemoteAuthority::new(&urls, issued.cert_pem.as_bytes(), issued.key_pem.as_bytes(), &self.ca_pem())
            .unwrap()
            .with_options(fast())
    }

    /// Every audit entry; panics if the chain is broken.
    pub fn audit(&self) -> Vec<AuditEntry> {
        let mut store = open_store(&self.config()).unwrap();
        verify_audit(&mut store).unwrap().expect("the audit chain is whole");
        store.audit_entries().unwrap().into_iter().map(Result::unwrap).collect()
    }

    pub fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path().join("authority.sqlite3")).unwrap()
    }
}

/// `text` (an `authority.toml`) with its `[database]` section replaced by one for
/// database `db` of `cluster`.
pub fn to_postgres(text: &str, cluster: &pg::Cluster, db: &str) -> String {
    let start = text.find("[database]").unwrap();
    let end = text.find("[secrets]").unwrap();
    let busy = text[start..end]
        .lines()
        .find_map(|l| l.strip_prefix("busy_timeout_ms = "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(5000);
    format!("{}{}\n{}", &text[..start], cluster.database_toml(db, busy), &text[end..])
}

pub fn fast() -> RemoteOptions {
    RemoteOptions {
        connect_timeout: Duration::from_secs(2),
        io_timeout: Duration::from_secs(10),
        retries: 2,
        retry_pause: Duration::from_millis(50),
        round_robin: false,
    }
}

pub fn trust() -> TrustStore {
    let mut t = TrustStore::new();
    zairyu_sim::add_test_anchors(&mut t);
    t
}

pub fn card(pki: &WritePki, t: CardType) -> IssuedCard {
    IssuedCard::issue(&IssueOptions { card_type: t, write: Some(pki.write_issue()), ..IssueOptions::default() })
}

pub fn record(code: &str) -> NewAddress {
    NewAddress {
        date: "20261201".into(),
        municipality_code: code.into(),
        address: "東京都千代田区霞が関１－１－１".into(),
    }
}

pub fn target(t: CardType) -> WriteTarget {
    if t.generation() == 1 { WriteTarget::Df2Ef01 } else { WriteTarget::Df1Ef04 }
}

pub fn file(c: &IssuedCard, t: CardType) -> Vec<u8> {
    let ef = target(t).ef();
    c.file(ef.df, ef.sfi).unwrap().to_vec()
}

/// The whole counter-side write on `sim` through `link`; the card afterwards.
pub fn write(
    sim: SimCard,
    link: &mut dyn zairyu::write::relay::AuthorityLink,
    code: &str,
) -> (Result<WriteOutcome, WriteError>, IssuedCard) {
    let shared = Arc::new(std::sync::Mutex::new(None));
    let keep = Arc::clone(&shared);
    let out = write_address(
        Keeper(sim, keep),
        |k: &mut Keeper| {
            k.0.power_cycle();
            Ok(())
        },
        &CardNumber::parse(NUMBER).unwrap(),
        &trust(),
        &mut OsRandom,
        link,
        AddressWrite { record: record(code), operator_id: "clerk-007".into() },
    );
    let card = shared.lock().unwrap().take().expect("the card");
    (out, card)
}

/// A simulator card that leaves its state behind when dropped (write_address
/// consumes the transport).
pub struct Keeper(pub SimCard, pub Arc<std::sync::Mutex<Option<IssuedCard>>>);

impl Drop for Keeper {
    fn drop(&mut self) {
        *self.1.lock().unwrap() = Some(self.0.issued().clone());
    }
}

impl zairyu::transport::Transport for Keeper {
    fn transmit(&mut self, c: &[u8]) -> Result<Vec<u8>, zairyu::error::TransportError> {
        self.0.transmit(c)
    }
    fn limits(&self) -> zairyu::transport::Limits {
        self.0.limits()
    }
}

/// A card after the normal card-number access.
pub fn accessed(c: IssuedCard) -> SimCard {
    let mut card = Card::new(SimCard::new(c));
    read_card(&mut card, &CardNumber::parse(NUMBER).unwrap(), &trust(), &mut OsRandom, &ReadOptions::default())
        .expect("the access read");
    card.into_transport()
}

/// The results of the audit entries, as (`opened` | `written` | refusal code).
pub fn results(entries: &[AuditEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| match &e.record.result {
            AuditResult::Refused { code, .. } => code.clone(),
            r => r.name().to_owned(),
        })
        .collect()
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

pub fn other_ca() -> TlsCa {
    TlsCa::new("another CA").unwrap()
}

/// A loopback URL where nothing listens (a port the kernel gave and took back).
pub fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("https://127.0.0.1:{port}")
}
