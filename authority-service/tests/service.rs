//! The write authority service end to end: real TLS on 127.0.0.1 (rustls both
//! sides), the simulator's cards, the counter's `write_address` with the HTTPS
//! link. Each test checks the audit chain at its end.
//!
//! Every test runs twice, once per store (`sqlite::…` and `postgres::…`): the real
//! SQLite file, and a real PostgreSQL cluster of the test's own (`common::pg`:
//! Debian's binaries, a private port and data directory under `target/`, stopped
//! when the test ends, passed or not). Tests that only make sense for one store say
//! so at their start.

mod common;

/// One `#[test]` per store for each test function `f(Backend)`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::Backend::Postgres) } )*

            #[test]
            fn the_database_stopped_mid_session_is_a_typed_error_and_audited_after_restart() {
                super::the_database_stopped_mid_session_is_a_typed_error_and_audited_after_restart()
            }
        }
    };
}

on_both_stores!(
    writes_over_https_for_both_generations,
    mutual_tls_refuses_unknown_expired_and_missing_client_certificates,
    revoked_client_certificates_are_refused_at_the_handshake,
    policy_and_rate_refusals_are_typed_errors_at_the_counter,
    one_session_is_served_by_two_instances_in_turn,
    a_killed_instance_mid_session_gives_a_typed_error_and_an_audited_end,
    an_unavailable_database_is_a_typed_error_and_leaves_the_card_unchanged,
    replayed_and_reordered_messages_are_refused,
    an_altered_inserted_or_deleted_audit_row_is_detected,
    init_writes_a_deployment_that_serves_and_migrates_once,
    two_instances_appending_at_once_make_one_chain,
    the_same_message_at_two_instances_at_once_is_processed_once,
);

use std::time::Duration;

use common::*;
use zairyu::files::CardType;
use zairyu::write::counter::WriteError;
use zairyu::write::relay::{AuthorityLink, LinkError, RelayError, read_chip_auth_info};
use zairyu::write::sha256;
use zairyu_authority_core::audit::{BreakKind, verify_chain};

fn writes_over_https_for_both_generations(b: Backend) {
    let d = Deployment::on(b, |c| c);
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
    let states = d.raw().strings("SELECT state FROM sessions");
    assert_eq!(states, ["finished", "finished"]);
}

fn mutual_tls_refuses_unknown_expired_and_missing_client_certificates(b: Backend) {
    let d = Deployment::on(b, |c| c);
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
    assert_certificate_refused(&e);
    // An expired certificate from the right CA.
    let right = right_ca(&d);
    let expired = right.counter("counter-1", now() - 7200, now() - 3600).unwrap();
    let e = open(&mut d.link_with(&expired, &[a.url()])).unwrap_err();
    assert_certificate_refused(&e);
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

fn revoked_client_certificates_are_refused_at_the_handshake(b: Backend) {
    // Two counter certificates of the deployment's CA; the CRL revokes the first.
    let d = Deployment::on(b, |c| c.replace("client_crls = []", "client_crls = [\"tls/counters.crl.pem\"]"));
    let ca = right_ca(&d);
    let revoked = ca.counter("counter-1", now() - 3600, now() + 3600).unwrap();
    let good = ca.counter("counter-1", now() - 3600, now() + 3600).unwrap();
    let crl = ca.revocation_list(&[&revoked.cert_pem], 1).unwrap();
    std::fs::write(d.path().join("tls/counters.crl.pem"), crl).unwrap();
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
    let e = open(&mut d.link_with(&revoked, &[a.url()])).unwrap_err();
    assert_certificate_refused(&e);
    // Listed after a dead endpoint, the refusal is still the answer (not "unavailable").
    let e = open(&mut d.link_with(&revoked, &[dead_url(), a.url()])).unwrap_err();
    assert_certificate_refused(&e);
    assert!(open(&mut d.link_with(&good, &[a.url()])).is_ok(), "a certificate the CRL does not list is accepted");
    assert_eq!(a.service().requests_served(), 1, "the revoked counter never reached the service");
    assert_eq!(results(&d.audit()), ["opened"]);
}

/// The service refused the counter's certificate in the handshake: a typed refusal
/// (exit 20 at the CLI), not an unreachable authority, which a retry might mend.
fn assert_certificate_refused(e: &LinkError) {
    match e {
        LinkError::RemoteRefused { code, message } => {
            assert_eq!(code, zairyu_authority_core::remote::CLIENT_CERTIFICATE_REFUSED);
            assert!(message.contains("alert"), "{message}");
        }
        other => panic!("expected the certificate refusal, got {other:?}"),
    }
    let kind = zairyu::write::counter::kind_of_code(zairyu_authority_core::remote::CLIENT_CERTIFICATE_REFUSED);
    assert_eq!(kind, zairyu::write::counter::WriteErrorKind::AuthorityRefused);
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

fn policy_and_rate_refusals_are_typed_errors_at_the_counter(b: Backend) {
    let d = Deployment::on(b, |c| c);
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

fn one_session_is_served_by_two_instances_in_turn(b: Backend) {
    let d = Deployment::on(b, |c| c);
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

/// Sweeps at `instance` until it expires exactly one session: once the session's
/// time is up (and the instance can reach its database again). At most 30 s; a
/// sweep that expires anything but one session, or still fails then, fails the test.
fn sweep_until_expired(instance: &zairyu_authority::http::RunningServer) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match instance.service().sweep() {
            Ok(1) => return,
            Ok(0) | Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(250)),
            other => panic!("the abandoned session was not expired: {other:?}"),
        }
    }
}

fn a_killed_instance_mid_session_gives_a_typed_error_and_an_audited_end(b: Backend) {
    let d = Deployment::on(b, |c| {
        // Long enough for the second part's fail-over on a loaded machine, short
        // enough for the first part to see the session expire.
        c.replace("session_timeout_secs = 120", "session_timeout_secs = 6")
            // Only the test sweeps (its background sweep would race it).
            .replace("sweep_interval_secs = 5", "sweep_interval_secs = 3600")
    });
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
    sweep_until_expired(&b);
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

fn an_unavailable_database_is_a_typed_error_and_leaves_the_card_unchanged(b: Backend) {
    let d = Deployment::on(b, |c| c.replace("busy_timeout_ms = 5000", "busy_timeout_ms = 200"));
    let a = d.start();
    let pki = d.pki();
    let t = CardType::ResidenceCard;
    let c = card(&pki, t);
    let before = file(&c, t);
    // Another process holds the database's write lock for the whole write (SQLite's
    // exclusive lock; PostgreSQL's EXCLUSIVE table locks, past `lock_timeout`).
    let mut holder = d.raw();
    holder.hold_write_lock();
    let (out, after) = write(zairyu_sim::SimCard::new(c), &mut d.link_as("counter-1", &[a.url()]), "131016");
    let e = out.unwrap_err();
    assert_eq!(e.code(), "authority_unavailable");
    assert!(e.to_string().contains("store_unavailable"), "{e}");
    assert_eq!(file(&after, t), before);
    holder.batch("ROLLBACK");
    // Nothing was opened while the database was away.
    assert!(d.audit().is_empty());
}

fn replayed_and_reordered_messages_are_refused(b: Backend) {
    let d = Deployment::on(b, |c| c);
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

fn an_altered_inserted_or_deleted_audit_row_is_detected(b: Backend) {
    let d = Deployment::on(b, |c| c);
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
    let verdict = || {
        let mut store = zairyu_authority::service::open_store(&d.config()).unwrap();
        verify_chain(&store.audit_entries().unwrap(), None)
    };
    let mut raw = d.raw();
    // The table refuses changes of its own (the triggers), on both stores …
    for sql in ["UPDATE audit_log SET address = 'x' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 3"] {
        let e = raw.try_batch(sql).unwrap_err();
        assert!(e.contains("audit_log is append-only"), "{e}");
    }
    if b == Backend::Postgres {
        let e = raw.try_batch("TRUNCATE audit_log").unwrap_err();
        assert!(e.contains("audit_log is append-only"), "{e}");
    }
    // … and whoever drops the triggers is caught by the chain.
    raw.drop_audit_triggers();
    raw.batch("CREATE TABLE audit_copy AS SELECT * FROM audit_log");
    let mut restore = || raw.batch("DELETE FROM audit_log; INSERT INTO audit_log SELECT * FROM audit_copy");
    let tamper = |sql: &str| d.raw().batch(sql);
    // Altered: another address in record 2.
    tamper("UPDATE audit_log SET address = '大阪府' WHERE seq = 2");
    assert_eq!(verdict().unwrap_err().seq, 2);
    assert_eq!(verdict().unwrap_err().kind, BreakKind::Altered);
    restore();
    assert!(verdict().is_ok());
    // Deleted: record 3.
    tamper("DELETE FROM audit_log WHERE seq = 3");
    assert_eq!((verdict().unwrap_err().seq, verdict().unwrap_err().kind), (3, BreakKind::Removed));
    restore();
    assert!(verdict().is_ok());
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

fn init_writes_a_deployment_that_serves_and_migrates_once(b: Backend) {
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
    let config_path = dir.path().join("authority.toml");
    let cluster = (b == Backend::Postgres).then(|| {
        let c = common::pg::Cluster::start();
        c.create_database(PG_DB);
        let text = std::fs::read_to_string(&config_path).unwrap();
        std::fs::write(&config_path, to_postgres(&text, &c, PG_DB)).unwrap();
        c
    });
    let cfg = zairyu_authority::Config::load(&config_path).unwrap();
    // Four instances open the empty database at the same moment: each migration is
    // applied once (the others wait for it and find it done), and none fails.
    let start = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        let opens: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    zairyu_authority::service::open_store(&cfg)
                })
            })
            .collect();
        for h in opens {
            h.join().unwrap().unwrap();
        }
    });
    // Then two instances serve it.
    let servers =
        (zairyu_authority::RunningServer::start(&cfg).unwrap(), zairyu_authority::RunningServer::start(&cfg).unwrap());
    drop(servers);
    let mut store = zairyu_authority::service::open_store(&cfg).unwrap();
    assert_eq!(store.kind(), if b == Backend::Sqlite { "sqlite" } else { "postgres" });
    assert_eq!(store.schema_version().unwrap(), zairyu_authority::store::SCHEMA_VERSION);
    assert_eq!(store.migrations_applied().unwrap(), 1);
    drop(store);
    drop(cluster);
}

/// Two instances (two connections) append to the audit log at the same moment, many
/// times: the appends take turns on the database's append lock, so the chain has
/// every record once, in one line, with no fork (two records chained to the same
/// predecessor would break `verify_chain`).
fn two_instances_appending_at_once_make_one_chain(b: Backend) {
    use zairyu_authority_core::audit::{AuditRecord, AuditResult};
    let d = Deployment::on(b, |c| c);
    const EACH: usize = 60;
    // Both stores are opened before the threads start, so a failed open fails the
    // test instead of leaving the other thread at the barrier.
    let stores: Vec<_> = (0..2).map(|_| zairyu_authority::service::open_store(&d.config()).unwrap()).collect();
    let start = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        for (who, mut store) in ["instance-a", "instance-b"].into_iter().zip(stores) {
            let start = &start;
            s.spawn(move || {
                start.wait();
                let mut seqs = Vec::new();
                for n in 0..EACH {
                    let r = AuditRecord {
                        time_unix: now(),
                        session: format!("{who}-{n}"),
                        counter_id: who.into(),
                        operator_id: "op".into(),
                        card_number_sha256: None,
                        target: None,
                        municipality_code: None,
                        address: None,
                        old_content_sha256: None,
                        new_content_sha256: None,
                        result: AuditResult::Refused { code: "test".into(), message: "concurrent append".into() },
                    };
                    seqs.push(store.append_audit(&r).unwrap().seq);
                }
                // Each appender sees its own records at strictly rising places.
                assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
            });
        }
    });
    let audit = d.audit();
    assert_eq!(audit.len(), 2 * EACH);
    assert!(audit.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1));
    // On PostgreSQL both really ran at once: their records interleave. (SQLite's
    // busy handler backs off and lets one writer run ahead: no interleaving to see.)
    if b == Backend::Postgres {
        let switches = audit.windows(2).filter(|w| w[0].record.counter_id != w[1].record.counter_id).count();
        assert!(switches > 1, "the appenders did not overlap ({switches} switches)");
    }
}

/// A link that runs `action` before exchange number `at` (0 = the opening).
struct Before<'a> {
    inner: &'a mut dyn AuthorityLink,
    at: usize,
    n: usize,
    action: Option<Box<dyn FnOnce() + 'a>>,
}

impl<'a> Before<'a> {
    fn new(inner: &'a mut dyn AuthorityLink, at: usize, action: impl FnOnce() + 'a) -> Self {
        Before { inner, at, n: 0, action: Some(Box::new(action)) }
    }

    fn tick(&mut self) {
        if self.n == self.at
            && let Some(a) = self.action.take()
        {
            a();
        }
        self.n += 1;
    }
}

impl AuthorityLink for Before<'_> {
    fn open(&mut self, r: &zairyu::write::relay::OpenRequest) -> Result<zairyu::write::authority::Batch, LinkError> {
        self.tick();
        self.inner.open(r)
    }
    fn send(&mut self, r: &[Vec<u8>]) -> Result<zairyu::write::authority::Next, LinkError> {
        self.tick();
        self.inner.send(r)
    }
}

/// PostgreSQL only: the cluster is stopped (`pg_ctl stop -m fast`) in the middle of
/// write sessions.
///
/// 1. Stopped after the opening and kept down: every retry of the counter gets
///    `503 store_unavailable`, so the write ends with `authority_unavailable`
///    naming `store_unavailable`, and the card is unchanged. After the restart the
///    same instance reconnects by itself; the abandoned session is expired on the
///    record (`opened`, `session_expired`).
/// 2. Stopped before the last message (the card has just written) and started again
///    while the counter retries that same message: the authority processes it once
///    on a fresh connection, the card holds exactly the receipt's content, and the
///    log says `written`.
fn the_database_stopped_mid_session_is_a_typed_error_and_audited_after_restart() {
    let mut d = Deployment::on(Backend::Postgres, |c| {
        // Long enough for the second part's outage and retries on a loaded machine,
        // short enough for the first part to see the session expire.
        c.replace("session_timeout_secs = 120", "session_timeout_secs = 6")
            // Only the test sweeps (its background sweep would race it).
            .replace("sweep_interval_secs = 5", "sweep_interval_secs = 3600")
    });
    let a = d.start();
    let pki = d.pki();
    let t = CardType::ResidenceCard;
    let cluster = std::sync::Mutex::new(d.pg.take().unwrap());

    // 1. Down for good (until after the write).
    let c = card(&pki, t);
    let before = file(&c, t);
    let mut inner = d.link_as("counter-1", &[a.url()]);
    let mut link = Before::new(&mut inner, 1, || cluster.lock().unwrap().stop());
    let (out, after) = write(zairyu_sim::SimCard::new(c), &mut link, "131016");
    drop(link);
    let e = out.unwrap_err();
    assert_eq!(e.code(), "authority_unavailable", "{e:?}");
    assert!(e.to_string().contains("store_unavailable"), "{e}");
    assert_eq!(file(&after, t), before, "the card is unchanged");
    cluster.lock().unwrap().restart();
    // The instance reconnects by itself and expires the session.
    sweep_until_expired(&a);
    d.pg = Some(cluster.into_inner().unwrap());
    assert_eq!(results(&d.audit()), ["opened", "session_expired"]);

    // 2. Down before the last message, back while the counter retries it.
    let cluster = std::sync::Mutex::new(d.pg.take().unwrap());
    let mut opts = fast();
    // Up to 4 s of retries (a restart takes longer on a loaded machine), inside the
    // session's 6 s.
    opts.retries = 16;
    opts.retry_pause = Duration::from_millis(250);
    let mut inner = d.link_as("counter-1", &[a.url()]).with_options(opts);
    let restarted = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let mut link = Before::new(&mut inner, 3, || {
            cluster.lock().unwrap().stop();
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(400));
                cluster.lock().unwrap().restart();
                restarted.store(true, std::sync::atomic::Ordering::SeqCst);
            });
        });
        let c = card(&pki, t);
        let old = file(&c, t);
        let (out, after) = write(zairyu_sim::SimCard::new(c), &mut link, "131016");
        let out = out.unwrap();
        assert!(restarted.load(std::sync::atomic::Ordering::SeqCst), "the database came back during the retries");
        assert_eq!(out.receipt.content_sha256, hex::encode(sha256(&file(&after, t))));
        assert_ne!(file(&after, t), old);
    });
    d.pg = Some(cluster.into_inner().unwrap());
    let audit = d.audit();
    assert_eq!(results(&audit), ["opened", "session_expired", "opened", "written"]);
    // The log around the outage is one chain (d.audit() verified it), and the
    // session moved on exactly once per message.
    assert_eq!(d.raw().strings("SELECT state FROM sessions ORDER BY created_unix, state"), ["expired", "finished"]);
}

/// The counter's retry of a message can reach a second instance while the first is
/// still processing it: both get the one answer, the session advances once, nothing
/// is refused. (Whichever instance loses the race finds the session moved on — at
/// the start, or at its compare-and-set — and answers with the stored reply.)
fn the_same_message_at_two_instances_at_once_is_processed_once(b: Backend) {
    let d = Deployment::on(b, |c| c);
    let (a, b2) = (d.start(), d.start());
    let pki = d.pki();
    const ROUNDS: usize = 4;
    for round in 0..ROUNDS {
        let mut sim = accessed(card(&pki, CardType::ResidenceCard));
        let mut n = 0;
        let info = read_chip_auth_info(&mut sim, &mut n).unwrap();
        let open = serde_json::json!({"version":1,"request_id":format!("{round:032x}"),"target":"DF2/EF01",
            "record":{"date":"20261201","municipality_code":"131016","address":"東京都"},
            "operator_id":"clerk","chip_auth_info":hex::encode(&info),
            "limits":{"extended_length":true,"max_command":65544,"max_response":65538},"card_number_sha256":null});
        let (st, r) = raw_post(&d, a.addr(), "counter-1", "/v1/sessions", open.to_string().as_bytes());
        assert_eq!(st, 201, "{r}");
        let answers: Vec<String> = r["next"]["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let apdu = hex::decode(c["apdu"].as_str().unwrap()).unwrap();
                hex::encode(zairyu::transport::Transport::transmit(&mut sim, &apdu).unwrap())
            })
            .collect();
        let path = format!("/v1/sessions/{}/responses", r["session_id"].as_str().unwrap());
        let msg = serde_json::json!({"version":1,"seq":1,"responses":answers}).to_string();
        let start = std::sync::Barrier::new(2);
        let (x, y) = std::thread::scope(|s| {
            let post = |addr| {
                let (d, path, msg, start) = (&d, &path, &msg, &start);
                s.spawn(move || {
                    start.wait();
                    raw_post(d, addr, "counter-1", path, msg.as_bytes())
                })
            };
            let (x, y) = (post(a.addr()), post(b2.addr()));
            (x.join().unwrap(), y.join().unwrap())
        });
        assert_eq!(x.0, 200, "{}", x.1);
        assert_eq!(x, y, "both instances give the one answer");
        assert_eq!(x.1["next"]["kind"], "batch");
    }
    let mut raw = d.raw();
    assert_eq!(raw.strings("SELECT CAST(next_seq AS TEXT) FROM sessions"), vec!["2".to_owned(); ROUNDS]);
    assert_eq!(results(&d.audit()), vec!["opened".to_owned(); ROUNDS]);
}
