//! The in-process authority through core's relay: loading from a directory, the
//! policy before anything reaches the card, the renderer for the second generation,
//! and an audit record for every attempt.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use zairyu::transport::Limits;
use zairyu::write::authority::{AuthorityConfig, AuthorityError};
use zairyu::write::cvc::TrustAnchor;
use zairyu::write::record::{NewAddress, NewContent, WriteTarget};
use zairyu::write::relay::{LinkError, RelayError, RelayRequest, relay_write};
use zairyu::write::sha256;
use zairyu_authority_core::audit::{AuditEntry, AuditHead, AuditRecord, AuditResult, BreakKind};
use zairyu_authority_core::inprocess::{AuditStore, DirOptions, SESSION_ABANDONED};
use zairyu_authority_core::render::{FontSetting, RenderSettings};
use zairyu_authority_core::{
    AddressRenderer, AuditError, AuditLog, InProcessAuthority, Policy, SetupError, SqliteAuditLog, layout,
};

fn opts() -> DirOptions {
    DirOptions { now_unix: Some(NOW), ..DirOptions::default() }
}

fn setup(dir: &Path) -> Pki {
    let pki = Pki::new();
    pki.write_dir(dir, POLICY);
    pki
}

fn authority(dir: &Path, counter: &str) -> InProcessAuthority {
    InProcessAuthority::from_dir_with(dir, counter, &opts()).unwrap().with_rng(Counter(9))
}

fn request(target: WriteTarget, record: NewAddress) -> RelayRequest {
    RelayRequest { target, record, operator_id: "clerk-007".into(), card_number_hash: Some(card_hash()) }
}

fn entries(a: &InProcessAuthority) -> Vec<AuditEntry> {
    a.audit().entries().unwrap().into_iter().map(Result::unwrap).collect()
}

/// The card saw nothing but the relay's own SELECT and READ BINARY of EF.ChipAuthInfo.
fn nothing_but_the_relay_reads(card: &TestCard) {
    assert!(card.apdus.iter().all(|a| a[1] == 0xA4 || a[1] == 0xB0), "{} APDUs", card.apdus.len());
    assert!(card.ta_result.is_none());
}

#[test]
fn a_first_generation_write_is_audited_opened_then_written() {
    for limits in [Limits::FULL, Limits::SHORT] {
        let dir = tempfile::tempdir().unwrap();
        let pki = setup(dir.path());
        let mut card = TestCard::new(&pki, limits);
        let old = card.df2_ef01.clone();
        let mut a = authority(dir.path(), "window-1");
        let out = relay_write(&mut card, &mut a, request(WriteTarget::Df2Ef01, new_record())).unwrap();
        let expected = NewContent::df2_ef01(&new_record()).unwrap();
        assert_eq!(card.df2_ef01, expected.bytes());
        assert_eq!(out.round_trips, 4);

        let e = entries(&a);
        assert_eq!(e.len(), 2);
        let (opened, written) = (&e[0].record, &e[1].record);
        assert_eq!(opened.result, AuditResult::Opened);
        assert_eq!(written.result, AuditResult::Written);
        assert_eq!(opened.session, written.session);
        for r in [opened, written] {
            assert_eq!(r.counter_id, "window-1");
            assert_eq!(r.operator_id, "clerk-007");
            assert_eq!(r.card_number_sha256, Some(card_hash()));
            assert_eq!(r.target.as_deref(), Some("DF2/EF01"));
            assert_eq!(r.municipality_code.as_deref(), Some("131016"));
            assert_eq!(r.new_content_sha256, Some(sha256(expected.bytes())));
            assert_eq!(r.time_unix, NOW);
        }
        // The old content's hash (read under SM) is in the final record.
        assert_eq!(written.old_content_sha256, Some(sha256(&old)));
        // The number itself appears nowhere in the log.
        let text = std::fs::read_to_string(dir.path().join(layout::AUDIT_JSONL)).unwrap();
        assert!(!text.contains("AB12345678CD"));
        // The receipt's head verifies the log.
        let (receipt, head) = a.last_receipt().unwrap().clone();
        assert_eq!(receipt, out.receipt);
        assert_eq!(head.seq, 2);
        a.audit().verify_against(&head).unwrap();
    }
}

#[test]
fn a_second_generation_write_renders_the_image_with_the_font() {
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let mut card = TestCard::new(&pki, Limits::SHORT);
    let mut a = authority(dir.path(), "window-1");
    relay_write(&mut card, &mut a, request(WriteTarget::Df1Ef04, new_record())).unwrap();
    // The card holds exactly what an independent renderer with the same settings makes.
    let r = AddressRenderer::new(RenderSettings::default()).unwrap();
    let expected = r.content(&new_record()).unwrap();
    assert_eq!(card.df1_ef04, expected.bytes());
    let img = zairyu::files::gen2::parse_address_image(&card.df1_ef04).unwrap();
    assert_eq!(img.format, zairyu::files::ImageFormat::Tiff);
    assert_eq!(img.bytes(), &r.render(&new_record()).unwrap().tiff[..]);
    let e = entries(&a);
    assert_eq!(e[1].record.result, AuditResult::Written);
    assert_eq!(e[1].record.target.as_deref(), Some("DF1/EF04"));
    assert_eq!(e[1].record.address.as_deref(), Some(new_record().address.as_str()));
    assert_eq!(e[1].record.old_content_sha256, Some(sha256(&[0u8; 2505])));
}

#[test]
fn policy_refusals_never_reach_the_card_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    for (counter, code) in [("window-9", "policy_unknown_counter"), ("window-2", "policy_municipality_not_allowed")] {
        let mut card = TestCard::new(&pki, Limits::FULL);
        let old = card.df2_ef01.clone();
        let mut a = authority(dir.path(), counter);
        let before = a.audit().head().seq;
        let e = relay_write(&mut card, &mut a, request(WriteTarget::Df2Ef01, new_record())).unwrap_err();
        match e {
            RelayError::Link(LinkError::RemoteRefused { code: c, .. }) => assert_eq!(c, code),
            other => panic!("{other:?}"),
        }
        nothing_but_the_relay_reads(&card);
        assert_eq!(card.df2_ef01, old);
        let e = entries(&a);
        assert_eq!(e.len() as u64, before + 1);
        let last = &e.last().unwrap().record;
        assert_eq!(last.result.code(), Some(code));
        assert_eq!(last.counter_id, counter);
        assert_eq!(last.card_number_sha256, Some(card_hash()));
        a.audit().verify().unwrap();
    }
    // window-2 may write for its own municipality.
    let mut card = TestCard::new(&pki, Limits::FULL);
    let mut a = authority(dir.path(), "window-2");
    let rec = NewAddress { municipality_code: "131091".into(), ..new_record() };
    relay_write(&mut card, &mut a, request(WriteTarget::Df2Ef01, rec)).unwrap();
}

#[test]
fn refusals_of_the_record_and_of_ef_chip_auth_info_are_audited_before_the_card() {
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    // A record that fails its checks (the policy allows 27*, so the record check decides).
    let mut card = TestCard::new(&pki, Limits::FULL);
    let mut a = authority(dir.path(), "window-1");
    let bad = NewAddress { municipality_code: "271277".into(), ..new_record() };
    let e = relay_write(&mut card, &mut a, request(WriteTarget::Df2Ef01, bad)).unwrap_err();
    assert!(matches!(e, RelayError::Link(LinkError::Refused(AuthorityError::Record(_)))), "{e:?}");
    nothing_but_the_relay_reads(&card);
    assert_eq!(entries(&a).last().unwrap().record.result.code(), Some("record_invalid"));
    // Another card's number: EF.ChipAuthInfo does not match the number typed.
    let mut card = TestCard::new(&pki, Limits::FULL);
    let mut r = request(WriteTarget::Df2Ef01, new_record());
    r.card_number_hash = Some(sha256(b"ZZ99999999ZZ"));
    let e = relay_write(&mut card, &mut a, r).unwrap_err();
    assert!(matches!(e, RelayError::Link(LinkError::Refused(AuthorityError::ChipAuthInfo(_)))), "{e:?}");
    nothing_but_the_relay_reads(&card);
    let last = entries(&a).last().unwrap().record.clone();
    assert_eq!(last.result.code(), Some("chip_auth_info_invalid"));
    assert_eq!(last.new_content_sha256, Some(sha256(NewContent::df2_ef01(&new_record()).unwrap().bytes())));
    a.audit().verify().unwrap();
}

#[test]
fn a_card_refusal_mid_session_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let mut card = TestCard::new(&pki, Limits::FULL);
    let old = card.df2_ef01.clone();
    // The card's date is past the certificates' expiry.
    card.card_date = date(2028, 1, 1);
    let mut a = authority(dir.path(), "window-1");
    let e = relay_write(&mut card, &mut a, request(WriteTarget::Df2Ef01, new_record())).unwrap_err();
    assert!(matches!(e, RelayError::Refused(AuthorityError::CardRefused { sw: Some(0x6300), .. })), "{e:?}");
    assert_eq!(card.df2_ef01, old);
    let e = entries(&a);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].record.result, AuditResult::Opened);
    assert_eq!(e[1].record.result.code(), Some("card_refused"));
    assert_eq!(e[1].record.session, e[0].record.session);
}

#[test]
fn an_unfinished_session_is_audited_as_abandoned() {
    use zairyu::write::relay::{AuthorityLink, OpenRequest};
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let card = TestCard::new(&pki, Limits::FULL);
    let chip = zairyu::write::eac::ChipAuthKey::generate(&mut zairyu::auth::FixedRandom::new(&[0x77, 0x31]));
    let open = OpenRequest {
        target: WriteTarget::Df2Ef01,
        record: new_record(),
        operator_id: "clerk-007".into(),
        chip_auth_info: pki.chip_auth_info(&chip, card_hash()),
        limits: card.limits,
        card_number_hash: Some(card_hash()),
    };
    {
        let mut a = authority(dir.path(), "window-1");
        a.open(&open).unwrap();
        // A second opening abandons the first session.
        a.open(&open).unwrap();
        let e = entries(&a);
        assert_eq!(e.iter().map(|e| e.record.result.name()).collect::<Vec<_>>(), ["opened", "refused", "opened"]);
        assert_eq!(e[1].record.result.code(), Some(SESSION_ABANDONED));
        assert_eq!(e[1].record.session, e[0].record.session);
        // Dropping the authority with a session open records it too.
    }
    let a = authority(dir.path(), "window-1");
    let e = entries(&a);
    assert_eq!(e.len(), 4);
    assert_eq!(e[3].record.result.code(), Some(SESSION_ABANDONED));
    assert_eq!(e[3].record.session, e[2].record.session);
    a.audit().verify().unwrap();
}

/// An audit log that cannot be written.
struct FailingLog;

impl AuditLog for FailingLog {
    fn append(&mut self, _: &AuditRecord) -> Result<AuditHead, AuditError> {
        Err(AuditError::Io("disk full".into()))
    }
    fn entries(&self) -> Result<Vec<Result<AuditEntry, BreakKind>>, AuditError> {
        Ok(Vec::new())
    }
    fn head(&self) -> AuditHead {
        AuditHead::EMPTY
    }
}

#[test]
fn without_an_audit_log_nothing_reaches_the_card() {
    let pki = Pki::new();
    let config = AuthorityConfig {
        terminal_chain: vec![pki.dv.clone(), pki.terminal.clone()],
        cvca: TrustAnchor::from_self_signed(&pki.cvca).unwrap(),
        signer: Arc::new(pki.terminal_key.clone()),
        issuer_root: TrustAnchor::from_self_signed(&pki.issuer_root).unwrap(),
    };
    let mut a = InProcessAuthority::new(
        config,
        Policy::from_toml(POLICY).unwrap(),
        Box::new(FailingLog),
        AddressRenderer::new(RenderSettings::default()),
        "window-1",
    )
    .at_time(NOW);
    let mut card = TestCard::new(&pki, Limits::FULL);
    let e = relay_write(&mut card, &mut a, request(WriteTarget::Df2Ef01, new_record())).unwrap_err();
    assert!(matches!(e, RelayError::Link(LinkError::Unavailable(ref m)) if m.contains("disk full")), "{e:?}");
    nothing_but_the_relay_reads(&card);
    // A refusal whose record cannot be written is reported as the audit failure too.
    let mut a = a;
    let mut card = TestCard::new(&pki, Limits::FULL);
    let bad = NewAddress { municipality_code: "999999".into(), ..new_record() };
    let e = relay_write(&mut card, &mut a, request(WriteTarget::Df2Ef01, bad)).unwrap_err();
    assert!(matches!(e, RelayError::Link(LinkError::Unavailable(_))), "{e:?}");
}

#[test]
fn without_a_font_second_generation_writes_are_refused_and_first_generation_ones_work() {
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let o = DirOptions {
        render: Some(RenderSettings { font: FontSetting::Path("/nonexistent/font.ttf".into()), ..Default::default() }),
        ..opts()
    };
    let mut a = InProcessAuthority::from_dir_with(dir.path(), "window-1", &o).unwrap();
    let mut card = TestCard::new(&pki, Limits::FULL);
    let e = relay_write(&mut card, &mut a, request(WriteTarget::Df1Ef04, new_record())).unwrap_err();
    assert!(
        matches!(e, RelayError::Link(LinkError::RemoteRefused { ref code, .. }) if code == "font_not_found"),
        "{e:?}"
    );
    nothing_but_the_relay_reads(&card);
    assert_eq!(entries(&a).last().unwrap().record.result.code(), Some("font_not_found"));
    let mut card = TestCard::new(&pki, Limits::FULL);
    relay_write(&mut card, &mut a, request(WriteTarget::Df2Ef01, new_record())).unwrap();
}

#[test]
fn the_sqlite_store_is_chosen_and_records_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    // The file exists: `Auto` picks it.
    drop(SqliteAuditLog::open(&dir.path().join(layout::AUDIT_SQLITE)).unwrap());
    let mut a = authority(dir.path(), "window-1");
    let mut card = TestCard::new(&pki, Limits::FULL);
    relay_write(&mut card, &mut a, request(WriteTarget::Df2Ef01, new_record())).unwrap();
    let mut card = TestCard::new(&pki, Limits::FULL);
    let _ = relay_write(&mut card, &mut authority(dir.path(), "window-9"), request(WriteTarget::Df2Ef01, new_record()));
    assert!(!dir.path().join(layout::AUDIT_JSONL).exists());
    let log = SqliteAuditLog::open(&dir.path().join(layout::AUDIT_SQLITE)).unwrap();
    let names: Vec<_> = log.entries().unwrap().into_iter().map(|e| e.unwrap().record.result.name()).collect();
    assert_eq!(names, ["opened", "written", "refused"]);
    assert_eq!(log.verify().unwrap().records, 3);
    // An explicit store elsewhere.
    let other = dir.path().join("elsewhere.sqlite3");
    let o = DirOptions { audit: AuditStore::Sqlite(other.clone()), ..opts() };
    let mut a = InProcessAuthority::from_dir_with(dir.path(), "window-1", &o).unwrap();
    let mut card = TestCard::new(&pki, Limits::FULL);
    relay_write(&mut card, &mut a, request(WriteTarget::Df2Ef01, new_record())).unwrap();
    drop(a);
    assert_eq!(SqliteAuditLog::open(&other).unwrap().verify().unwrap().records, 2);
}

#[test]
fn loading_a_directory_checks_what_it_can_without_a_card() {
    let load = |dir: &Path| InProcessAuthority::from_dir_with(dir, "window-1", &opts()).map(|_| ());
    // A key that is not the terminal certificate's.
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let other = Pki { terminal_key: pki.ds_key.clone(), ..Pki::new() };
    other.write_dir(dir.path(), POLICY);
    std::fs::write(dir.path().join(layout::TERMINAL), pki.terminal.encode()).unwrap();
    assert_eq!(load(dir.path()), Err(SetupError::KeyMismatch));
    // A key file others may read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let k = dir.path().join(layout::TERMINAL_KEY);
        std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(dir.path()).unwrap_err();
        assert!(matches!(e, SetupError::Key(ref k) if k.code() == "key_file_permissions"), "{e:?}");
    }
    // A chain not from this CVCA.
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    std::fs::write(dir.path().join(layout::CVCA), pki.issuer_root.encode()).unwrap();
    assert!(matches!(load(dir.path()), Err(SetupError::Chain(_))));
    // Expired today.
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let late = DirOptions { now_unix: Some(NOW + 3 * 365 * 86_400), ..opts() };
    assert!(matches!(InProcessAuthority::from_dir_with(dir.path(), "w", &late), Err(SetupError::Chain(_))));
    // No policy.
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    std::fs::remove_file(dir.path().join(layout::POLICY_TOML)).unwrap();
    assert!(matches!(load(dir.path()), Err(SetupError::Policy(_))));
    // A policy in JSON instead.
    std::fs::write(
        dir.path().join(layout::POLICY_JSON),
        r#"{"version":1,"counter":[{"id":"window-1","municipalities":["*"]}]}"#,
    )
    .unwrap();
    assert_eq!(load(dir.path()), Ok(()));
    // A tampered audit log: the authority does not start.
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    {
        let mut a = authority(dir.path(), "window-1");
        let mut card = TestCard::new(&pki, Limits::FULL);
        relay_write(&mut card, &mut a, request(WriteTarget::Df2Ef01, new_record())).unwrap();
    }
    let p = dir.path().join(layout::AUDIT_JSONL);
    let text = std::fs::read_to_string(&p).unwrap().replace("clerk-007", "clerk-008");
    std::fs::write(&p, text).unwrap();
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(e, SetupError::Audit(AuditError::Chain(b)) if b.seq == 1 && b.kind == BreakKind::Altered),
        "{e:?}"
    );
}
