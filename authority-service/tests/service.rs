//! The write authority service end to end: real TLS on 127.0.0.1 (rustls both
//! sides), the real SQLite database, the simulator's cards, the counter's
//! `write_address` with the HTTPS link. Each test checks the audit chain at its end.

mod common;

use std::time::Duration;

use common::*;
use zairyu::files::CardType;
use zairyu::write::counter::WriteError;
use zairyu::write::relay::{AuthorityLink, LinkError, RelayError, read_chip_auth_info};
use zairyu::write::sha256;
use zairyu_authority_core::audit::{BreakKind, verify_chain};

#[test]
fn writes_over_https_for_both_generations() {
    let d = Deployment::new(|c| c);
    let a = d.start();
    let pki = d.pki();
    for t in [CardType::ResidenceCard, CardType::Gen2ResidenceCard] {
        let c = card(&pki, t);
        let old = file(&c, t);
        let mut link = d.link_as("counter-1", &[a.url()]);
        let (out, after) = write(zairyu_sim::SimCard::new(c), &mut link, "131016");
        let out = out.unwrap_or_else(|e| panic!("{t:?}: {e}"));
        assert_eq!(out.round_trips, 4);
        assert_eq!(out.receipt.content_sha256, hex::encode(sha256(&file(&after, t))));
        assert_eq!(out.receipt.old_content_sha256, Some(hex::encode(sha256(&old))));
        assert_ne!(file(&after, t), old);
    }
    let audit = d.audit();
    assert_eq!(results(&audit), ["opened", "written", "opened", "written"]);
    // The card-number hash in the log is keyed by the deployment: not the plain SHA-256.
    let plain = sha256(NUMBER.as_bytes());
    assert!(audit.iter().all(|e| e.record.card_number_sha256.is_some_and(|h| h != plain)));
    assert_eq!(audit[0].record.counter_id, "counter-1");
    assert_eq!(audit[1].record.operator_id, "clerk-007");
    // The session rows keep no readable secret: the sealed state is all they hold.
    let db = d.sqlite();
    let states: Vec<String> = db
        .prepare("SELECT state FROM sessions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(states, ["finished", "finished"]);
}

#[test]
fn mutual_tls_refuses_unknown_expired_and_missing_client_certificates() {
    let d = Deployment::new(|c| c);
    let a = d.start();
    let pki = d.pki();
    let open = |link: &mut dyn AuthorityLink| {
        let mut sim = accessed(card(&pki, CardType::ResidenceCard));
        let mut n = 0;
        let info = read_chip_auth_info(&mut sim, &mut n).unwrap();
        link.open(&zairyu::write::relay::OpenRequest {
            target: zairyu::write::record::WriteTarget::Df2Ef01,
            record: record("131016"),
            operator_id: "x".into(),
            chip_auth_info: info,
            limits: zairyu::transport::Limits::FULL,
            card_number_hash: None,
        })
    };
    // A certificate from another CA with a policy-listed name.
    let wrong_ca = other_ca().counter("counter-1", now() - 3600, now() + 3600).unwrap();
    let e = open(&mut d.link_with(&wrong_ca, &[a.url()])).unwrap_err();
    assert!(matches!(&e, LinkError::Unavailable(m) if m.contains("receive") || m.contains("send")), "{e:?}");
    // An expired certificate from the right CA.
    let right = right_ca(&d);
    let expired = right.counter("counter-1", now() - 7200, now() - 3600).unwrap();
    let e = open(&mut d.link_with(&expired, &[a.url()])).unwrap_err();
    assert!(matches!(e, LinkError::Unavailable(_)), "{e:?}");
    // The same CA, valid: accepted (control).
    let valid = right.counter("counter-1", now() - 3600, now() + 3600).unwrap();
    assert!(open(&mut d.link_with(&valid, &[a.url()])).is_ok());
    // No client certificate at all: the handshake fails.
    assert!(no_client_cert_request(&d, a.addr()).is_err());
    // The counter pins the authority's CA: a service with another CA's certificate is refused.
    let mut roots_elsewhere = zairyu_authority_core::remote::RemoteAuthority::new(
        &[&a.url()],
        valid.cert_pem.as_bytes(),
        valid.key_pem.as_bytes(),
        other_ca().cert_pem.as_bytes(),
    )
    .unwrap()
    .with_options(fast());
    assert!(matches!(open(&mut roots_elsewhere).unwrap_err(), LinkError::Unavailable(m) if m.contains("certificate")));
    // Only the accepted connection reached the service.
    assert_eq!(a.service().requests_served(), 1);
    assert_eq!(results(&d.audit()), ["opened"]);
}

/// The test CA of the deployment, rebuilt from its files.
fn right_ca(d: &Deployment) -> zairyu_authority::init::TlsCa {
    zairyu_authority::init::TlsCa::load_for_tests(
        &std::fs::read_to_string(d.path().join("tls/ca.pem")).unwrap(),
        &std::fs::read_to_string(d.path().join("tls/ca.key")).unwrap(),
    )
    .unwrap()
}

/// A TLS client that offers no certificate; returns whether an HTTP answer came.
fn no_client_cert_request(d: &Deployment, addr: std::net::SocketAddr) -> Result<(), String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use std::io::{Read, Write};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&d.ca_pem()) {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(cfg), "127.0.0.1".try_into().unwrap()).unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut s = rustls::StreamOwned::new(conn, tcp);
    s.write_all(b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    if buf.is_empty() { Err("no answer".into()) } else { Ok(()) }
}

#[test]
fn policy_and_rate_refusals_are_typed_errors_at_the_counter() {
    let d = Deployment::new(|c| c);
    let a = d.start();
    let pki = d.pki();
    let code_of = |counter: &str, muni: &str| {
        let c = card(&pki, CardType::ResidenceCard);
        let before = file(&c, CardType::ResidenceCard);
        let (out, after) = write(zairyu_sim::SimCard::new(c), &mut d.link_as(counter, &[a.url()]), muni);
        let e = out.err().map(|e| {
            assert!(matches!(e, WriteError::Relay(RelayError::Link(LinkError::RemoteRefused { .. }))), "{e:?}");
            e.code()
        });
        if e.is_some() {
            assert_eq!(file(&after, CardType::ResidenceCard), before, "a refused write leaves the card unchanged");
        }
        e
    };
    assert_eq!(code_of("counter-2", "131016").as_deref(), Some("policy_municipality_not_allowed"));
    assert_eq!(code_of("counter-9", "131016").as_deref(), Some("policy_unknown_counter"));
    assert_eq!(code_of("counter-2", "131091"), None);
    assert_eq!(code_of("counter-slow", "131016"), None);
    assert_eq!(code_of("counter-slow", "131016").as_deref(), Some("rate_limited"));
    assert_eq!(
        results(&d.audit()),
        [
            "policy_municipality_not_allowed",
            "policy_unknown_counter",
            "opened",
            "written",
            "opened",
            "written",
            "rate_limited"
        ]
    );
}

#[test]
fn one_session_is_served_by_two_instances_in_turn() {
    let d = Deployment::new(|c| c);
    let (a, b) = (d.start(), d.start());
    let pki = d.pki();
    let mut opts = fast();
    opts.round_robin = true;
    let mut link = d.link_as("counter-1", &[a.url(), b.url()]).with_options(opts);
    let (out, _) = write(zairyu_sim::SimCard::new(card(&pki, CardType::Gen2ResidenceCard)), &mut link, "131016");
    out.unwrap();
    // Four exchanges, alternating: two each.
    assert_eq!((a.service().requests_served(), b.service().requests_served()), (2, 2));
    assert_eq!(results(&d.audit()), ["opened", "written"]);
}

/// A link that kills instance `victim` after `after` exchanges.
struct Killer<'a> {
    inner: &'a mut dyn AuthorityLink,
    victim: Option<zairyu_authority::RunningServer>,
    after: usize,
    n: usize,
}

impl AuthorityLink for Killer<'_> {
    fn open(&mut self, r: &zairyu::write::relay::OpenRequest) -> Result<zairyu::write::authority::Batch, LinkError> {
        self.tick();
        self.inner.open(r)
    }
    fn send(&mut self, r: &[Vec<u8>]) -> Result<zairyu::write::authority::Next, LinkError> {
        self.tick();
        self.inner.send(r)
    }
}

impl Killer<'_> {
    fn tick(&mut self) {
        if self.n == self.after
            && let Some(v) = self.victim.take()
        {
            v.kill();
        }
        self.n += 1;
    }
}

#[test]
fn a_killed_instance_mid_session_gives_a_typed_error_and_an_audited_end() {
    let d = Deployment::new(|c| c.replace("session_timeout_secs = 120", "session_timeout_secs = 2"));
    let pki = d.pki();
    let t = CardType::ResidenceCard;

    // Only the killed instance: the counter gets `authority_unavailable`, the card is unchanged.
    let (a, b) = (d.start(), d.start());
    let c = card(&pki, t);
    let before = file(&c, t);
    let mut inner = d.link_as("counter-1", &[a.url()]);
    let mut link = Killer { inner: &mut inner, victim: Some(a), after: 2, n: 0 };
    let (out, after) = write(zairyu_sim::SimCard::new(c), &mut link, "131016");
    let e = out.unwrap_err();
    assert_eq!(e.code(), "authority_unavailable", "{e:?}");
    assert_eq!(file(&after, t), before);
    // The other instance expires the abandoned session, on the record.
    // Times are whole seconds: 2.1 s is past the end of a 2 s session opened at any
    // moment of its second, and a write of ~0.1 s always fits in one.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(b.service().sweep().unwrap(), 1);
    assert_eq!(results(&d.audit()), ["opened", "session_expired"]);

    // With both instances listed, the counter goes on at the other: fully written.
    let a2 = d.start();
    let c = card(&pki, t);
    let mut inner = d.link_as("counter-1", &[a2.url(), b.url()]);
    let mut link = Killer { inner: &mut inner, victim: Some(a2), after: 2, n: 0 };
    let (out, after) = write(zairyu_sim::SimCard::new(c), &mut link, "131016");
    let out = out.unwrap();
    assert_eq!(out.receipt.content_sha256, hex::encode(sha256(&file(&after, t))));
    assert_eq!(results(&d.audit()), ["opened", "session_expired", "opened", "written"]);
}

#[test]
fn an_unavailable_database_is_a_typed_error_and_leaves_the_card_unchanged() {
    let d = Deployment::new(|c| c.replace("busy_timeout_ms = 5000", "busy_timeout_ms = 200"));
    let a = d.start();
    let pki = d.pki();
    let t = CardType::ResidenceCard;
    let c = card(&pki, t);
    let before = file(&c, t);
    // Another process holds the database's write lock for the whole write.
    let holder = d.sqlite();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (out, after) = write(zairyu_sim::SimCard::new(c), &mut d.link_as("counter-1", &[a.url()]), "131016");
    let e = out.unwrap_err();
    assert_eq!(e.code(), "authority_unavailable");
    assert!(e.to_string().contains("store_unavailable"), "{e}");
    assert_eq!(file(&after, t), before);
    holder.execute_batch("ROLLBACK").unwrap();
    // Nothing was opened while the database was away.
    assert!(d.audit().is_empty());
}

#[test]
fn replayed_and_reordered_messages_are_refused() {
    let d = Deployment::new(|c| c);
    let a = d.start();
    let pki = d.pki();
    let mut sim = accessed(card(&pki, CardType::ResidenceCard));
    let mut n = 0;
    let info = read_chip_auth_info(&mut sim, &mut n).unwrap();
    let open_body = |rid: &str| {
        serde_json::json!({"version":1,"request_id":rid,"target":"DF2/EF01",
            "record":{"date":"20261201","municipality_code":"131016","address":"東京都"},
            "operator_id":"clerk","chip_auth_info":hex::encode(&info),
            "limits":{"extended_length":true,"max_command":65544,"max_response":65538},"card_number_sha256":null})
    };
    let post = |path: &str, v: &serde_json::Value| raw_post(&d, a.addr(), "counter-1", path, v.to_string().as_bytes());
    let (st, r) = post("/v1/sessions", &open_body("00112233445566778899aabbccddeeff"));
    assert_eq!(st, 201, "{r}");
    // A retried opening (same request id) is the same session, not a second one.
    let (st2, r2) = post("/v1/sessions", &open_body("00112233445566778899aabbccddeeff"));
    assert_eq!((st2, &r2), (201, &r));
    let id = r["session_id"].as_str().unwrap().to_owned();
    let answers: Vec<String> = r["next"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            hex::encode(
                zairyu::transport::Transport::transmit(&mut sim, &hex::decode(c["apdu"].as_str().unwrap()).unwrap())
                    .unwrap(),
            )
        })
        .collect();
    let path = format!("/v1/sessions/{id}/responses");
    // Out of order: message 2 before message 1 ends the session.
    let (st, e) = post(&path, &serde_json::json!({"version":1,"seq":2,"responses":answers}));
    assert_eq!((st, e["error"]["code"].as_str()), (409, Some("relay_out_of_sequence")));
    let (st, e) = post(&path, &serde_json::json!({"version":1,"seq":1,"responses":answers}));
    assert_eq!((st, e["error"]["code"].as_str()), (409, Some("session_aborted")));

    // A new session: message 1, its exact retry (same answer, nothing signed again),
    // then message 1 with other content (a replay): refused, session ended.
    let (_, r) = post("/v1/sessions", &open_body("ffeeddccbbaa99887766554433221100"));
    let id = r["session_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/sessions/{id}/responses");
    let mut sim = accessed(card(&pki, CardType::ResidenceCard));
    read_chip_auth_info(&mut sim, &mut n).unwrap();
    let answers: Vec<String> = r["next"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            hex::encode(
                zairyu::transport::Transport::transmit(&mut sim, &hex::decode(c["apdu"].as_str().unwrap()).unwrap())
                    .unwrap(),
            )
        })
        .collect();
    let msg = serde_json::json!({"version":1,"seq":1,"responses":answers});
    let (st, first) = post(&path, &msg);
    assert_eq!(st, 200, "{first}");
    assert_eq!(first["next"]["kind"], "batch");
    let (st, again) = post(&path, &msg);
    assert_eq!((st, &again), (200, &first));
    let mut other = answers.clone();
    other[0] = "6300".into();
    let (st, e) = post(&path, &serde_json::json!({"version":1,"seq":1,"responses":other}));
    assert_eq!((st, e["error"]["code"].as_str()), (409, Some("relay_out_of_sequence")));
    // Another counter cannot see the session; a too-large body is refused.
    let (st, e) = raw_post(&d, a.addr(), "counter-2", &path, msg.to_string().as_bytes());
    assert_eq!((st, e["error"]["code"].as_str()), (404, Some("session_not_found")));
    let big = vec![b'x'; 70_000];
    let (st, e) = raw_post(&d, a.addr(), "counter-1", "/v1/sessions", &big);
    assert_eq!((st, e["error"]["code"].as_str()), (413, Some("request_too_large")));
    assert_eq!(results(&d.audit()), ["opened", "relay_out_of_sequence", "opened", "relay_out_of_sequence"]);
}

/// One POST with a counter's certificate; the status and the JSON answer.
fn raw_post(
    d: &Deployment,
    addr: std::net::SocketAddr,
    counter: &str,
    path: &str,
    body: &[u8],
) -> (u16, serde_json::Value) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::io::{Read, Write};
    let tls = d.path().join("tls");
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&d.ca_pem()) {
        roots.add(c.unwrap()).unwrap();
    }
    let chain: Vec<_> =
        CertificateDer::pem_file_iter(tls.join(format!("{counter}.pem"))).unwrap().map(Result::unwrap).collect();
    let key = PrivateKeyDer::from_pem_file(tls.join(format!("{counter}.key"))).unwrap();
    let cfg =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .unwrap();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(cfg), "127.0.0.1".try_into().unwrap()).unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut s = rustls::StreamOwned::new(conn, tcp);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).to_string();
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let json = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, serde_json::from_str(json).unwrap_or(serde_json::Value::Null))
}

#[test]
fn an_altered_inserted_or_deleted_audit_row_is_detected() {
    let d = Deployment::new(|c| c);
    let a = d.start();
    let pki = d.pki();
    for _ in 0..2 {
        let (out, _) = write(
            zairyu_sim::SimCard::new(card(&pki, CardType::ResidenceCard)),
            &mut d.link_as("counter-1", &[a.url()]),
            "131016",
        );
        out.unwrap();
    }
    a.kill();
    assert_eq!(d.audit().len(), 4);
    let store = || zairyu_authority::service::open_store(&d.config()).unwrap();
    let verdict = || verify_chain(&store().audit_entries().unwrap(), None);
    let copy = d.path().join("copy.sqlite3");
    let db = d.path().join("authority.sqlite3");
    let conn = d.sqlite();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(conn);
    std::fs::copy(&db, &copy).unwrap();
    let restore = || {
        std::fs::copy(&copy, &db).unwrap();
    };
    let tamper = |sql: &str| {
        let c = d.sqlite();
        c.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;").unwrap();
        c.execute_batch(sql).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    };
    // Altered: another address in record 2.
    tamper("UPDATE audit_log SET address = '大阪府' WHERE seq = 2");
    assert_eq!(verdict().unwrap_err().seq, 2);
    assert_eq!(verdict().unwrap_err().kind, BreakKind::Altered);
    restore();
    // Deleted: record 3.
    tamper("DELETE FROM audit_log WHERE seq = 3");
    assert_eq!((verdict().unwrap_err().seq, verdict().unwrap_err().kind), (3, BreakKind::Removed));
    restore();
    // Inserted: a copy of record 1 appended after record 4 with seq 5 but old hashes.
    tamper(
        "INSERT INTO audit_log (seq, prev_hash, time_unix, session, counter_id, operator_id, card_number_sha256, target, \
         municipality_code, address, old_content_sha256, new_content_sha256, result, refusal_code, refusal_message, hash) \
         SELECT 5, prev_hash, time_unix, session, counter_id, operator_id, card_number_sha256, target, municipality_code, \
         address, old_content_sha256, new_content_sha256, result, refusal_code, refusal_message, hash FROM audit_log WHERE seq = 1",
    );
    assert_eq!((verdict().unwrap_err().seq, verdict().unwrap_err().kind), (5, BreakKind::Altered));
    // The service refuses to start on a broken log; `audit verify` reports the break.
    let e = zairyu_authority::Service::from_config(&d.config()).unwrap_err();
    assert!(e.0.contains("record 5"), "{e}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zairyu-authority"))
        .args(["audit", "verify", "--config"])
        .arg(&d.config_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("BROKEN at record 5: altered"));
    restore();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zairyu-authority"))
        .args(["audit", "export", "--config"])
        .arg(&d.config_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[3]["result"], "written");
    assert_eq!(lines[3]["counter_id"], "counter-1");
}

#[test]
fn init_writes_a_deployment_that_serves_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zairyu-authority"))
        .args(["init", "--out"])
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Never over an existing deployment.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_zairyu-authority"))
        .args(["init", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
    #[cfg(unix)]
    for key in ["tls/ca.key", "tls/server.key", "tls/counter-1.key", "deployment.key", "pki/test-terminal.key.p8"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(key)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key}");
    }
    let cfg = zairyu_authority::Config::load(&dir.path().join("authority.toml")).unwrap();
    let s = zairyu_authority::RunningServer::start(&cfg).unwrap();
    let s2 = zairyu_authority::RunningServer::start(&cfg).unwrap();
    drop((s, s2));
    let store = zairyu_authority::service::open_store(&cfg).unwrap();
    assert_eq!(store.schema_version().unwrap(), 1);
    let n: i64 = store.connection().query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}
