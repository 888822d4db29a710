//! A test deployment (`init` into a temporary directory), instances of the service
//! on 127.0.0.1, the simulator's cards, and the counter's HTTPS link.

#![allow(dead_code)]

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

pub struct Deployment {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
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
        let dir = tempfile::tempdir().unwrap();
        let counters: Vec<String> =
            ["counter-1", "counter-2", "counter-slow", "counter-9"].iter().map(|s| s.to_string()).collect();
        let r = zairyu_authority::init::init(dir.path(), &counters, "127.0.0.1:0").unwrap();
        std::fs::write(dir.path().join("policy.toml"), POLICY).unwrap();
        let text = std::fs::read_to_string(&r.config).unwrap();
        std::fs::write(&r.config, edit(text)).unwrap();
        Deployment { config_path: r.config, dir }
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
        let store = open_store(&self.config()).unwrap();
        verify_audit(&store).unwrap().expect("the audit chain is whole");
        store.audit_entries().unwrap().into_iter().map(Result::unwrap).collect()
    }

    pub fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path().join("authority.sqlite3")).unwrap()
    }
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
