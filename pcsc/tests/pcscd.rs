//! Tests through a real pcscd with vsmartcard's vpcd driver: the simulated chip is a
//! virtual card (`zairyu_sim::vpcd::serve`, one per slot) and `PcscCard` reaches it
//! through libpcsclite → pcscd → vpcd → TCP.
//!
//! All ignored by default: `scripts/test-all` starts pcscd and runs them with
//! `--ignored --test-threads=1` (they share pcscd's two virtual slots, and one of them
//! restarts pcscd). The counter loop's tests through pcscd are the CLI's
//! (`cli/tests/pcscd.rs`).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::crypto::TdesSuite;
use zairyu::error::{Error, Step, TransportError};
use zairyu::files::CardType;
use zairyu::sequence::{CardRead, ReadOptions, read_card, read_card_type};
use zairyu::session::{Card, Df};
use zairyu::transport::Transport;
use zairyu::verify::{AnchorProfile, SignatureStatus, TrustStore};
use zairyu_pcsc::pcsc;
use zairyu_pcsc::{PcscCard, list_readers, wait_for_card};

use crate::common::pcscd::{pcscd, wait_card};
use zairyu_sim::vpcd::{ServeFault, ServeOptions, serve};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

const SLOT0: (&str, u16) = ("Virtual PCD 00 00", 35963);
const SLOT1: (&str, u16) = ("Virtual PCD 00 01", 35964);
const NUMBER: &str = "AB12345678CD";

fn init_log() {
    let _ = env_logger::builder().is_test(true).try_init();
}

fn sim_trust() -> TrustStore {
    let mut t = TrustStore::new();
    zairyu_sim::add_test_anchors(&mut t);
    t
}

fn issue(card_type: CardType) -> SimCard {
    SimCard::new(IssuedCard::issue(&IssueOptions { card_type, card_number: NUMBER.to_owned(), ..Default::default() }))
}

/// A virtual card served into one vpcd slot until dropped.
struct Served {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<std::io::Result<zairyu_sim::vpcd::ServeStats>>>,
    reader: &'static str,
}

impl Served {
    fn start(slot: (&'static str, u16), card_type: CardType, mut opts: ServeOptions) -> Served {
        opts.port = slot.1;
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || serve(move || issue(card_type), &opts, &s));
        Served { stop, thread: Some(thread), reader: slot.0 }
    }

    /// Starts serving and waits until pcscd shows the card.
    fn present(slot: (&'static str, u16), card_type: CardType, opts: ServeOptions) -> Served {
        let s = Served::start(slot, card_type, opts);
        wait_card(s.reader, true, Duration::from_secs(10));
        s
    }

    /// Stops serving (the card leaves) and waits until pcscd shows the slot empty.
    fn remove(mut self) {
        self.stop_thread();
        wait_card(self.reader, false, Duration::from_secs(10));
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("serve thread panicked").expect("serve failed");
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

fn read(reader: &str, number: &str) -> Result<CardRead, Error> {
    let number = CardNumber::parse(number).unwrap();
    let mut card = Card::new(PcscCard::connect(reader)?);
    read_card(&mut card, &number, &sim_trust(), &mut OsRandom, &ReadOptions::default())
}

fn assert_verified(r: &CardRead, code: &str) {
    assert_eq!(r.card_type.code(), code);
    assert_eq!(r.verification.signature, SignatureStatus::Valid, "{:?}", r.verification);
    assert_eq!(r.verification.anchor_profile, Some(AnchorProfile::Test));
    assert_eq!(r.card_number_redacted, "AB********CD");
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn lists_both_virtual_readers() {
    init_log();
    let readers = list_readers().expect("pcscd running");
    let names: Vec<&str> = readers.iter().map(|r| r.name.as_str()).collect();
    assert!(names.contains(&SLOT0.0) && names.contains(&SLOT1.0), "{names:?}");
    let served = Served::present(SLOT1, CardType::ResidenceCard, ServeOptions::default());
    let info = list_readers().unwrap().into_iter().find(|r| r.name == SLOT1.0).unwrap();
    assert!(info.card_present);
    assert_eq!(info.atr.as_deref(), Some(&ServeOptions::default().atr[..]));
    served.remove();
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn unknown_reader_is_no_such_reader() {
    init_log();
    let e = PcscCard::connect("No Such Reader 00 00").unwrap_err();
    assert_eq!(e, TransportError::NoSuchReader("No Such Reader 00 00".to_owned()));
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn wait_for_card_times_out_and_refuses_unknown_readers() {
    init_log();
    wait_card(SLOT0.0, false, Duration::from_secs(10));
    // An empty slot stays empty: Ok(false) once the time is up, not before.
    let t0 = Instant::now();
    assert_eq!(wait_for_card(SLOT0.0, true, Duration::from_millis(400)), Ok(false));
    assert!(t0.elapsed() >= Duration::from_millis(400), "{:?}", t0.elapsed());
    // Already in the state asked for: at once.
    assert_eq!(wait_for_card(SLOT0.0, false, Duration::from_secs(5)), Ok(true));
    let e = wait_for_card("No Such Reader 00 00", true, Duration::from_secs(1)).unwrap_err();
    assert_eq!(e, TransportError::NoSuchReader("No Such Reader 00 00".to_owned()));
    // A card arriving ends the wait.
    let served = Served::start(SLOT0, CardType::ResidenceCard, ServeOptions::default());
    assert_eq!(wait_for_card(SLOT0.0, true, Duration::from_secs(10)), Ok(true));
    served.remove();
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn empty_reader_is_card_removed() {
    init_log();
    wait_card(SLOT0.0, false, Duration::from_secs(10));
    let e = PcscCard::connect(SLOT0.0).unwrap_err();
    assert_eq!(e, TransportError::CardRemoved);
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn reads_and_verifies_every_card_type() {
    init_log();
    for (i, (t, code)) in [
        (CardType::ResidenceCard, "1"),
        (CardType::SpecialPermanentResident, "2"),
        (CardType::Gen2ResidenceCard, "05"),
        (CardType::Gen2SpecialPermanentResident, "06"),
    ]
    .into_iter()
    .enumerate()
    {
        // Alternate the slots, so both vpcd readers are exercised.
        let slot = if i % 2 == 0 { SLOT0 } else { SLOT1 };
        let served = Served::present(slot, t, ServeOptions::default());
        {
            let card = PcscCard::connect(slot.0).unwrap();
            assert_eq!(card.reader(), slot.0);
            assert_eq!(card.atr(), &ServeOptions::default().atr[..]);
            assert_eq!(card.protocol(), "T=1");
            assert!(card.in_transaction());
            assert!(card.limits().extended_length);
            card.finish().unwrap();
        }
        let r = read(slot.0, NUMBER).unwrap_or_else(|e| panic!("type {code}: {e}"));
        assert_verified(&r, code);
        // vpcd carries extended APDUs: no fallback.
        assert_eq!(r.link.extended_length, Some(true));
        assert!(r.link.fallbacks.is_empty(), "{:?}", r.link);
        served.remove();
    }
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn wrong_card_number() {
    init_log();
    let served = Served::present(SLOT0, CardType::ResidenceCard, ServeOptions::default());
    let e = read(SLOT0.0, "AB12345678CE").unwrap_err();
    assert!(matches!(e, Error::WrongCardNumber { step: Step::MutualAuthenticate, .. }), "{e:?}");
    // The card stays usable: the right number reads it.
    assert_verified(&read(SLOT0.0, NUMBER).unwrap(), "1");
    served.remove();
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn card_removed_mid_read() {
    init_log();
    let opts = ServeOptions { faults: vec![ServeFault::DropAfter(8)], ..Default::default() };
    let served = Served::present(SLOT0, CardType::ResidenceCard, opts);
    let r = read(SLOT0.0, NUMBER);
    // The 9th APDU meets a closed vpcd connection. Observed: pcscd answers the
    // transmit SCARD_E_NOT_TRANSACTED (vpcd's transmit failed) before its presence
    // poll noticed the card was gone; PcscCard then asks SCardStatus, which answers
    // SCARD_W_REMOVED_CARD within one poll period, so the typed error is CardRemoved.
    assert_eq!(r.map(|_| ()).unwrap_err(), Error::Transport(TransportError::CardRemoved));
    drop(served);
    wait_card(SLOT0.0, false, Duration::from_secs(10));
}

/// A transport that runs `hook` on the card once, before command number `at` (from 0).
struct Hook<F: FnMut(&mut PcscCard)> {
    card: PcscCard,
    at: usize,
    sent: usize,
    hook: Option<F>,
}

impl<F: FnMut(&mut PcscCard)> Transport for Hook<F> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.sent == self.at
            && let Some(mut h) = self.hook.take()
        {
            h(&mut self.card);
        }
        self.sent += 1;
        self.card.transmit(command)
    }
    fn limits(&self) -> zairyu::transport::Limits {
        self.card.limits()
    }
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn reset_mid_session_by_another_connection() {
    init_log();
    let served = Served::present(SLOT0, CardType::ResidenceCard, ServeOptions::default());
    let number = CardNumber::parse(NUMBER).unwrap();
    // Between the session's SELECT DF1 and its first SM READ BINARY, a second
    // connection resets the card. While the session holds its transaction, pcscd makes
    // any other SCardConnect (and SCardReconnect) wait until the transaction ends, so
    // the session lets go of its transaction for the reset (`end_transaction`) and
    // takes it back afterwards: taking it back already fails with SCARD_W_RESET_CARD.
    let hook = |card: &mut PcscCard| {
        card.end_transaction();
        let ctx = pcsc::Context::establish(pcsc::Scope::User).unwrap();
        let name = std::ffi::CString::new(SLOT0.0).unwrap();
        let mut other = ctx.connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY).unwrap();
        other.reconnect(pcsc::ShareMode::Shared, pcsc::Protocols::ANY, pcsc::Disposition::ResetCard).unwrap();
        other.disconnect(pcsc::Disposition::LeaveCard).map_err(|(_, e)| e).unwrap();
        assert_eq!(card.begin_transaction(), Err(TransportError::CardReset));
    };
    // SELECT MF, 2 MF reads, GET CHALLENGE, MUTUAL AUTHENTICATE, VERIFY, SELECT DF1: 7.
    let mut card = Card::new(Hook { card: PcscCard::connect(SLOT0.0).unwrap(), at: 7, sent: 0, hook: Some(hook) });
    read_card_type(&mut card).unwrap();
    let mut session = card.authenticate::<TdesSuite>(&number, &mut OsRandom, zairyu::options::Flow::Gen1).unwrap();
    session.select_df(Df::Df1).unwrap();
    let e = session.sm_read_binary(&zairyu::layout::gen1::DF1_EF01).unwrap_err();
    assert_eq!(e, Error::Transport(TransportError::CardReset));
    assert_eq!(e.code(), "transport_card_reset");
    drop(session);
    // The handle stays reset: every later command fails the same way.
    assert_eq!(card.select_mf().unwrap_err(), Error::Transport(TransportError::CardReset));
    drop(card);
    // A fresh connection reads the card from the start.
    assert_verified(&read(SLOT0.0, NUMBER).unwrap(), "1");
    served.remove();
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn reset_waits_for_the_transaction() {
    init_log();
    // While the session holds its transaction, another application's SCardConnect
    // (and so its reset) waits in pcscd until the session is over: the read completes.
    let served = Served::present(SLOT0, CardType::Gen2ResidenceCard, ServeOptions::default());
    let mut card = Card::new(PcscCard::connect(SLOT0.0).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let resetter = std::thread::spawn(move || {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).unwrap();
        let name = std::ffi::CString::new(SLOT0.0).unwrap();
        let mut other = ctx.connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY).unwrap();
        other.reconnect(pcsc::ShareMode::Shared, pcsc::Protocols::ANY, pcsc::Disposition::ResetCard).unwrap();
        d.load(Ordering::SeqCst)
    });
    std::thread::sleep(Duration::from_millis(300));
    let number = CardNumber::parse(NUMBER).unwrap();
    let r = read_card(&mut card, &number, &sim_trust(), &mut OsRandom, &ReadOptions::default());
    assert_verified(&r.unwrap(), "05");
    done.store(true, Ordering::SeqCst);
    drop(card);
    assert!(resetter.join().unwrap(), "the reset ran before the session released its transaction");
    served.remove();
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn short_apdu_only_reader() {
    init_log();
    let opts = ServeOptions { short_apdus_only: true, ..Default::default() };
    let served = Served::present(SLOT1, CardType::ResidenceCard, opts);
    let r = read(SLOT1.0, NUMBER);
    // The transport claims extended length; the reader answers extended commands
    // `67 00`. The core probes and falls back by itself (CardRead.link records it);
    // a core without the fallback would fail with ExtendedLengthUnsupported, which is
    // accepted too. Observed 2026-11-26: the fallback reads the card (71 APDUs).
    match r {
        Ok(read) => {
            eprintln!("short-APDU reader: read in {} APDUs, link {:?}", read.metrics.apdus, read.link);
            assert_verified(&read, "1");
            // The core probed, fell back to short APDUs and says so.
            assert_eq!(read.link.extended_length, Some(false));
            assert!(!read.link.fallbacks.is_empty());
        }
        Err(e) => {
            eprintln!("short-APDU reader: read failed: {e:?}");
            assert_eq!(e, Error::Transport(TransportError::ExtendedLengthUnsupported));
        }
    }
    served.remove();
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn pcscd_restart_recovery() {
    init_log();
    let served = Served::present(SLOT0, CardType::SpecialPermanentResident, ServeOptions::default());
    assert_verified(&read(SLOT0.0, NUMBER).unwrap(), "2");
    // A connection held across the restart dies with pcscd.
    let mut held = PcscCard::connect(SLOT0.0).unwrap();
    pcscd("stop");
    let e = list_readers().unwrap_err();
    assert!(matches!(e, TransportError::ReaderUnavailable(_)), "{e:?}");
    // Observed: SCARD_E_NO_SERVICE on the handle whose daemon is gone.
    let e = held.transmit(&[0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00]).unwrap_err();
    assert!(matches!(e, TransportError::ReaderUnavailable(_)), "{e:?}");
    drop(held);
    pcscd("start");
    // The card's serve thread reconnects to the new vpcd by itself.
    wait_card(SLOT0.0, true, Duration::from_secs(15));
    assert_verified(&read(SLOT0.0, NUMBER).unwrap(), "2");
    served.remove();
}
