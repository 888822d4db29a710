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
use zairyu::apdu::ParsedCommand;
use zairyu::auth::OsRandom;
use zairyu::crypto::TdesSuite;
use zairyu::error::{Error, LinkRefusal, Step, TransportError};
use zairyu::files::CardType;
use zairyu::sequence::{CardRead, ReadOptions, read_card, read_card_type};
use zairyu::session::{Card, Df, fallback};
use zairyu::transport::Transport;
use zairyu::verify::{AnchorProfile, SignatureStatus, TrustStore};
use zairyu_pcsc::pcsc;
use zairyu_pcsc::{PcscCard, list_readers, wait_for_card};

use crate::common::pcscd::{pcscd, wait_card};
use zairyu_sim::vpcd::{ServeFault, ServeOptions, serve};
use zairyu_sim::{Fault, IssueOptions, IssuedCard, SimCard};

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
    fn start(slot: (&'static str, u16), card_type: CardType, opts: ServeOptions) -> Served {
        Served::start_card(slot, move || issue(card_type), opts)
    }

    /// Serves the cards `card` makes (a fresh one after each removal).
    fn start_card(
        slot: (&'static str, u16),
        card: impl FnMut() -> SimCard + Send + 'static,
        mut opts: ServeOptions,
    ) -> Served {
        opts.port = slot.1;
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || serve(card, &opts, &s));
        Served { stop, thread: Some(thread), reader: slot.0 }
    }

    /// Starts serving and waits until pcscd shows the card.
    fn present(slot: (&'static str, u16), card_type: CardType, opts: ServeOptions) -> Served {
        let s = Served::start(slot, card_type, opts);
        wait_card(s.reader, true, Duration::from_secs(10));
        s
    }

    /// [`Served::present`] for a card with a simulator fault.
    fn present_with(slot: (&'static str, u16), card_type: CardType, fault: Fault, opts: ServeOptions) -> Served {
        let s = Served::start_card(slot, move || issue(card_type).with_fault(fault.clone()), opts);
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

/// A transport over a [`PcscCard`] that counts what went over the link: extended
/// commands, failed transmits, and `6C XX` answers.
struct Counting {
    card: PcscCard,
    extended: usize,
    failed: Vec<TransportError>,
    wrong_le: usize,
}

impl Counting {
    fn connect(reader: &str) -> Counting {
        Counting { card: PcscCard::connect(reader).unwrap(), extended: 0, failed: Vec::new(), wrong_le: 0 }
    }
}

impl Transport for Counting {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if ParsedCommand::parse(command).is_some_and(|p| p.extended) {
            self.extended += 1;
        }
        let r = self.card.transmit(command);
        match &r {
            Ok(resp) if resp.len() >= 2 && resp[resp.len() - 2] == 0x6C => self.wrong_le += 1,
            Ok(_) => {}
            Err(e) => self.failed.push(e.clone()),
        }
        r
    }
    fn limits(&self) -> zairyu::transport::Limits {
        self.card.limits()
    }
}

fn read_counting(reader: &str) -> (CardRead, Counting) {
    let number = CardNumber::parse(NUMBER).unwrap();
    let mut card = Card::new(Counting::connect(reader));
    let r = read_card(&mut card, &number, &sim_trust(), &mut OsRandom, &ReadOptions::default())
        .unwrap_or_else(|e| panic!("{reader}: {e:?}"));
    (r, card.into_transport())
}

const EXTENDED_READ: [u8; 7] = [0x00, 0xB0, 0x8B, 0x00, 0x00, 0x00, 0x00];
const SELECT_MF: [u8; 7] = [0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00];

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn short_apdu_only_reader() {
    init_log();
    let opts = ServeOptions { short_apdus_only: true, ..Default::default() };
    let served = Served::present(SLOT1, CardType::ResidenceCard, opts);
    // vpcd tells nothing about the reader, so the transport claims extended length;
    // this reader answers extended commands `67 00` itself. The core asks each file
    // in the extended form, is refused, and reads it with short APDUs.
    let (read, link) = read_counting(SLOT1.0);
    eprintln!("short-APDU reader: read in {} APDUs, link {:?}", read.metrics.apdus, read.link);
    assert_verified(&read, "1");
    assert_eq!(read.link.extended_length, Some(false));
    assert_eq!(read.link.fallbacks, [fallback::SHORT_PLAIN_CHUNKED, fallback::SM_SHORT_CHUNKED]);
    assert_eq!(link.extended, read.raw_files.len(), "one extended attempt per file");
    assert!(link.failed.is_empty(), "{:?}", link.failed);
    served.remove();
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn reader_that_fails_extended_transmits() {
    init_log();
    for (slot, t, code) in [(SLOT0, CardType::ResidenceCard, "1"), (SLOT1, CardType::Gen2ResidenceCard, "05")] {
        let opts = ServeOptions { fail_extended_transmit: true, ..Default::default() };
        let served = Served::present(slot, t, opts);
        {
            // pcscd fails the transmit itself; the card stays in the field and answers.
            let mut card = PcscCard::connect(slot.0).unwrap();
            assert!(card.limits().extended_length, "vpcd says nothing about the reader");
            let e = card.transmit(&EXTENDED_READ).unwrap_err();
            assert_eq!(e, TransportError::LinkRefused(LinkRefusal::InsufficientBuffer));
            assert_eq!(card.transmit(&SELECT_MF).unwrap(), [0x90, 0x00]);
        }
        let (read, link) = read_counting(slot.0);
        assert_verified(&read, code);
        assert_eq!(read.link.extended_length, Some(false));
        assert_eq!(read.link.fallbacks[0], fallback::SHORT_PLAIN_CHUNKED, "{:?}", read.link);
        if code == "1" {
            assert!(read.link.fallbacks.contains(&fallback::SM_SHORT_CHUNKED), "{:?}", read.link);
        }
        // The first extended command failed the transmit and was the last one sent.
        assert_eq!(link.extended, 1);
        assert_eq!(link.failed, [TransportError::LinkRefused(LinkRefusal::InsufficientBuffer)]);
        served.remove();
    }
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn card_without_extended_apdus_answering_6c() {
    init_log();
    let served =
        Served::present_with(SLOT0, CardType::Gen2SpecialPermanentResident, Fault::ShortCard, Default::default());
    {
        let mut card = PcscCard::connect(SLOT0.0).unwrap();
        assert_eq!(card.transmit(&EXTENDED_READ).unwrap(), [0x67, 0x00]);
        // MF/EF01 is shorter than 256 bytes: a T=0-style card wants the exact Le.
        let r = card.transmit(&[0x00, 0xB0, 0x8B, 0x00, 0x00]).unwrap();
        assert_eq!((r.len(), r[0]), (2, 0x6C), "{r:02X?}");
    }
    let (read, link) = read_counting(SLOT0.0);
    assert_verified(&read, "06");
    assert_eq!(read.link.extended_length, Some(false));
    assert_eq!(read.link.fallbacks[0], fallback::SHORT_PLAIN_CHUNKED, "{:?}", read.link);
    assert_eq!(link.extended, read.raw_files.len(), "one extended attempt per file");
    assert!(link.wrong_le > 0, "the card answered 6C XX and the read went on");
    assert!(link.failed.is_empty(), "{:?}", link.failed);
    served.remove();
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn t0_card_without_extended_length_is_never_sent_one() {
    init_log();
    // A contact card on T=0 whose ATR declares no extended Lc/Le (TS, T0 = two
    // historical bytes, no interface bytes: T=0 only).
    let atr = vec![0x3B, 0x02, 0x14, 0x50];
    let opts = ServeOptions { atr: atr.clone(), ..Default::default() };
    let served = Served::present_with(SLOT1, CardType::ResidenceCard, Fault::ShortCard, opts);
    {
        let mut card = PcscCard::connect(SLOT1.0).unwrap();
        assert_eq!(card.protocol(), "T=0");
        assert_eq!(card.atr(), &atr[..]);
        assert_eq!(card.capabilities().atr_extended_length, None);
        // Known before the first read.
        assert!(!card.limits().extended_length);
        let e = card.transmit(&EXTENDED_READ).unwrap_err();
        assert_eq!(e, TransportError::LinkRefused(LinkRefusal::T0WithoutExtendedLength));
    }
    let (read, link) = read_counting(SLOT1.0);
    assert_verified(&read, "1");
    assert_eq!(read.link.extended_length, Some(false));
    assert_eq!(read.link.fallbacks, [fallback::SHORT_PLAIN_CHUNKED, fallback::SM_SHORT_CHUNKED]);
    assert_eq!(link.extended, 0, "no extended command left the host");
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
