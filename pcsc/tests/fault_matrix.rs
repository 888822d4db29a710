//! The fault matrix through a real pcscd with vsmartcard's vpcd driver: for card types
//! `1` and `05` (a full read), each fault is injected at every APDU of the read, and
//! each run must end in the fault's typed error — or, where the fault cannot reach a
//! session that holds its PC/SC transaction, in a complete read identical to the
//! undisturbed one — never in a report from a half-read card. After every run an
//! undisturbed read must succeed: the reader recovers.
//!
//! How the faults are made, and what pcsc-lite 1.9.9 with vsmartcard-vpcd 3.3 was seen
//! to do:
//!
//! | fault | how | expected |
//! |---|---|---|
//! | card removed | the vpcd card leaves when it receives APDU `i` (`Fault::RemoveCardAfter(i)`: it closes its connection to vpcd without answering) | `transport_card_removed` at APDU `i`. vpcd reports the transmit as *successful* with no bytes; `PcscCard` then asks the card's status, which shows it gone |
//! | card reset, transaction released | before APDU `i` the session ends its transaction, another process resets the card (`SCardReconnect(SCARD_RESET_CARD)`), the session takes the transaction back | `transport_card_reset` at APDU `i` (`SCARD_W_RESET_CARD`, already when taking the transaction back) |
//! | card reset, transaction held | another process asks to reset the card before APDU `i` | pcscd holds the reset until the session ends: a complete read, then the reset |
//! | pcscd restarted | before APDU `i` the test stops and starts pcscd (`scripts/pcscd`) | `transport_reader_unavailable` at APDU `i` (`SCARD_E_NO_SERVICE` on the old handle); restarted before the connect, the read completes (the context is established again) |
//! | reader busy, before connect | another process holds the reader in exclusive mode | `transport_sharing_violation` at connect |
//! | reader busy, at APDU `i` | another process asks for the reader in exclusive mode before APDU `i` | pcscd holds its connect back until the session disconnects (a refusal would pass too): a complete read |
//!
//! "APDU `i`" counts the command APDUs of the read from 0; the matrix covers every `i`
//! below the undisturbed read's count (16 APDUs for type `1`, 17 for `05`), and asserts
//! the index: the first failed transmit is APDU `i`. Restarting pcscd costs about two
//! seconds a run (a clean stop takes pcscd 1.5 s), so that row runs at every index for
//! type `1` and at [`SPREAD`] indices for type `05` (set `ZAIRYU_FAULT_MATRIX_FULL=1`
//! for every index of both); the whole file takes about 100 s.
//!
//! `#[ignore]`d like the other pcscd tests: `scripts/test-all` runs them with
//! `--ignored --test-threads=1` (they share pcscd's slots, and one restarts pcscd).

mod common;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::error::{Error, ErrorCode, TransportError};
use zairyu::files::CardType;
use zairyu::sequence::{CardRead, ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::transport::{Limits, Transport};
use zairyu::verify::{SignatureStatus, TrustStore};
use zairyu_pcsc::PcscCard;
use zairyu_sim::vpcd::ServeOptions;
use zairyu_sim::{Fault, IssueOptions, IssuedCard};

use crate::common::faults::{OtherAction, OtherProcess, Slot, VirtualCard, other_process_main};
use crate::common::pcscd::{pcscd, wait_card};

const SLOT: Slot = ("Virtual PCD 00 00", 35963);
const NUMBER: &str = "AB12345678CD";
/// The test the other process runs (see [`other_process`]).
const OTHER_PROCESS_TEST: &str = "other_process";
/// How many indices the pcscd-restart row covers for type `05` (first, last, and
/// evenly between), unless `ZAIRYU_FAULT_MATRIX_FULL` is set.
const SPREAD: usize = 6;
/// How long the session waits, once the other process is ready, for its request to
/// reach pcscd before the session sends its next APDU. (Were it slower, its request
/// would meet the session later or after it: the assertions hold either way, the run
/// only tests less.)
const REQUEST_REACHES_PCSCD: Duration = Duration::from_millis(100);

fn init_log() {
    let _ = env_logger::builder().is_test(true).try_init();
}

fn sim_trust() -> TrustStore {
    let mut t = TrustStore::new();
    zairyu_sim::add_test_anchors(&mut t);
    t
}

/// Where a fault is injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before the session connects.
    Connect,
    /// Before command APDU `i` (from 0) of the read leaves the host.
    Apdu(usize),
}

/// A transport over a [`PcscCard`] that runs `inject` once, before APDU `at`, and
/// records every failed transmit with its index.
struct Faulty<'a> {
    card: PcscCard,
    at: Option<usize>,
    sent: usize,
    inject: &'a mut dyn FnMut(&mut PcscCard),
    failures: Vec<(usize, TransportError)>,
}

impl Transport for Faulty<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.at == Some(self.sent) {
            (self.inject)(&mut self.card);
        }
        let i = self.sent;
        self.sent += 1;
        let r = self.card.transmit(command);
        if let Err(e) = &r {
            self.failures.push((i, e.clone()));
        }
        r
    }
    fn limits(&self) -> Limits {
        self.card.limits()
    }
}

/// One read with a fault injected.
struct Run {
    result: Result<CardRead, Error>,
    /// Command APDUs that left the host.
    sent: usize,
    /// Failed transmits (index, error); a failed connect is index `usize::MAX`.
    failures: Vec<(usize, TransportError)>,
}

const AT_CONNECT: usize = usize::MAX;

/// Reads the card in `reader`, running `inject` at `at` (`None` for `At::Connect`,
/// else with the session's card). `before_drop` runs after the read, while the session
/// still holds its transaction.
fn read_with(
    reader: &str,
    at: Option<At>,
    inject: &mut dyn FnMut(Option<&mut PcscCard>),
    before_drop: &mut dyn FnMut(&Result<CardRead, Error>),
) -> Run {
    if at == Some(At::Connect) {
        inject(None);
    }
    let pcsc = match PcscCard::connect(reader) {
        Ok(c) => c,
        Err(e) => return Run { result: Err(e.clone().into()), sent: 0, failures: vec![(AT_CONNECT, e)] },
    };
    let mut at_card = |c: &mut PcscCard| inject(Some(c));
    let apdu = match at {
        Some(At::Apdu(i)) => Some(i),
        _ => None,
    };
    let mut card = Card::new(Faulty { card: pcsc, at: apdu, sent: 0, inject: &mut at_card, failures: Vec::new() });
    let number = CardNumber::parse(NUMBER).unwrap();
    let result = read_card(&mut card, &number, &sim_trust(), &mut OsRandom, &ReadOptions::default());
    before_drop(&result);
    let t = card.into_transport();
    let run = Run { sent: t.sent, failures: t.failures.clone(), result };
    drop(t);
    run
}

/// What an undisturbed read of a card gives.
struct Baseline {
    code: &'static str,
    apdus: usize,
    files: Vec<(&'static str, Vec<u8>)>,
    read: CardRead,
}

impl Baseline {
    /// Panics unless `r` is the complete read of the baseline's card: every file, byte
    /// for byte, the same verdict, and every APDU of a full read sent.
    fn assert_complete(&self, r: &CardRead, sent: usize, what: &str) {
        assert_eq!(r.card_type.code(), self.code, "{what}");
        let files: Vec<(&str, &[u8])> = r.raw_files.iter().map(|f| (f.name, &f.bytes[..])).collect();
        let want: Vec<(&str, &[u8])> = self.files.iter().map(|(n, b)| (*n, &b[..])).collect();
        assert_eq!(files, want, "{what}: files");
        let (v, w) = (&r.verification, &self.read.verification);
        assert_eq!(v.signature, SignatureStatus::Valid, "{what}: {v:?}");
        assert_eq!(
            (v.signature, &v.reason_code, v.chain, &v.anchor, v.anchor_profile),
            (w.signature, &w.reason_code, w.chain, &w.anchor, w.anchor_profile),
            "{what}: verdict"
        );
        assert_eq!(r.card_number_redacted, self.read.card_number_redacted, "{what}");
        assert_eq!(r.metrics.apdus as usize, self.apdus, "{what}: APDUs in the report");
        assert_eq!(sent, self.apdus, "{what}: APDUs sent");
    }
}

fn issue(card_type: CardType) -> IssuedCard {
    IssuedCard::issue(&IssueOptions { card_type, card_number: NUMBER.to_owned(), ..Default::default() })
}

/// An undisturbed read, which must be complete (`baseline` given) — the reader
/// recovered — or becomes the baseline.
fn undisturbed(reader: &str, baseline: Option<&Baseline>, what: &str) -> Baseline {
    let run = read_with(reader, None, &mut |_| {}, &mut |_| {});
    let read = run.result.unwrap_or_else(|e| panic!("{what}: undisturbed read failed: {e:?} ({})", e.code()));
    if let Some(b) = baseline {
        b.assert_complete(&read, run.sent, what);
    }
    assert!(run.failures.is_empty(), "{what}: {:?}", run.failures);
    let files = read.raw_files.iter().map(|f| (f.name, f.bytes.to_vec())).collect();
    Baseline { code: read.card_type.code(), apdus: run.sent, files, read }
}

/// Panics unless the run failed with `want` (whose stable code is `code`), its first
/// failed transmit being APDU `first` (or the connect, [`AT_CONNECT`]).
fn assert_typed_failure(run: &Run, want: &TransportError, code: ErrorCode, first: usize, what: &str) {
    match &run.result {
        Ok(r) => panic!("{what}: a report from a half-read card ({} files)", r.raw_files.len()),
        Err(e) => {
            assert_eq!(e.error_code(), code, "{what}: {e:?}");
            assert_eq!(e, &Error::Transport(want.clone()), "{what}: {e:?}");
        }
    }
    let failed_first = run.failures.first().map(|(i, e)| (*i, e.clone()));
    assert_eq!(failed_first, Some((first, want.clone())), "{what}: failures {:?}", run.failures);
}

fn card_types() -> [(CardType, &'static str); 2] {
    [(CardType::ResidenceCard, "1"), (CardType::Gen2ResidenceCard, "05")]
}

/// Tallies what each run ended in, for the log (`--nocapture`).
fn summary(fault: &str, code: &str, started: Instant, outcomes: &[(At, String)]) {
    let mut by: Vec<(String, Vec<String>)> = Vec::new();
    for (at, o) in outcomes {
        let at = match at {
            At::Connect => "connect".to_owned(),
            At::Apdu(i) => i.to_string(),
        };
        match by.iter_mut().find(|(k, _)| k == o) {
            Some((_, v)) => v.push(at),
            None => by.push((o.clone(), vec![at])),
        }
    }
    eprintln!("fault matrix: {fault}, type {code}: {} runs in {:.1?}", outcomes.len(), started.elapsed());
    for (o, at) in by {
        eprintln!("  {o}: at {}", at.join(" "));
    }
}

fn outcome(run: &Run) -> String {
    match &run.result {
        Ok(_) => "complete read".to_owned(),
        Err(e @ Error::Transport(TransportError::ReaderUnavailable(why))) => format!("{} ({why})", e.code()),
        Err(e) => e.code().to_owned(),
    }
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn card_removed_at_every_apdu() {
    init_log();
    for (t, code) in card_types() {
        let started = Instant::now();
        let issued = issue(t);
        let card = VirtualCard::insert(SLOT, &issued, &[], ServeOptions::default());
        let baseline = undisturbed(SLOT.0, None, "baseline");
        assert_eq!(baseline.code, code);
        card.remove();
        let mut outcomes = Vec::new();
        for i in 0..baseline.apdus {
            let what = format!("type {code}, card removed at APDU {i}");
            // The card leaves on APDU n + i: the first read is the undisturbed one that
            // shows the reader recovered from the previous run (or, for i = 0, that the
            // card reads), the second the faulty one.
            let card = VirtualCard::insert(
                SLOT,
                &issued,
                &[Fault::RemoveCardAfter(baseline.apdus + i)],
                ServeOptions::default(),
            );
            undisturbed(SLOT.0, Some(&baseline), &format!("{what}: read before"));
            let run = read_with(SLOT.0, Some(At::Apdu(i)), &mut |_| {}, &mut |_| {});
            assert_typed_failure(&run, &TransportError::CardRemoved, ErrorCode::TransportCardRemoved, i, &what);
            assert_eq!(run.sent, i + 1, "{what}: commands sent after the card left");
            outcomes.push((At::Apdu(i), outcome(&run)));
            card.remove();
        }
        let card = VirtualCard::insert(SLOT, &issued, &[], ServeOptions::default());
        undisturbed(SLOT.0, Some(&baseline), &format!("type {code}: after the last removal"));
        card.remove();
        summary("card removed", code, started, &outcomes);
    }
}

/// Resets the card from another process, as a second application would.
fn reset_by_other_process(reader: &str) {
    let other = OtherProcess::spawn(OTHER_PROCESS_TEST, OtherAction::Reset, reader);
    let (_, line) = other.next(Duration::from_secs(10)).expect("the other process reports its reset");
    assert_eq!(line, "reset Ok");
    assert!(other.finish(Duration::from_secs(5)).is_empty());
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn card_reset_at_every_apdu() {
    init_log();
    for (t, code) in card_types() {
        let started = Instant::now();
        let issued = issue(t);
        let card = VirtualCard::insert(SLOT, &issued, &[], ServeOptions::default());
        let baseline = undisturbed(SLOT.0, None, "baseline");
        assert_eq!(baseline.code, code);
        let mut outcomes = Vec::new();
        for i in 0..baseline.apdus {
            // Transaction released: the reset reaches the session.
            let what = format!("type {code}, card reset at APDU {i} (transaction released)");
            let mut begin = None;
            let run = read_with(
                SLOT.0,
                Some(At::Apdu(i)),
                &mut |c| {
                    let c = c.unwrap();
                    c.end_transaction();
                    reset_by_other_process(SLOT.0);
                    begin = Some(c.begin_transaction());
                },
                &mut |_| {},
            );
            assert_eq!(begin, Some(Err(TransportError::CardReset)), "{what}: taking the transaction back");
            assert_typed_failure(&run, &TransportError::CardReset, ErrorCode::TransportCardReset, i, &what);
            outcomes.push((At::Apdu(i), format!("{} (transaction released)", outcome(&run))));
            undisturbed(SLOT.0, Some(&baseline), &format!("{what}: read after"));

            // Transaction held: pcscd keeps the other process's reset waiting.
            let what = format!("type {code}, card reset at APDU {i} (transaction held)");
            let other = RefCell::new(None);
            let run = read_with(
                SLOT.0,
                Some(At::Apdu(i)),
                &mut |_| {
                    let o = OtherProcess::spawn(OTHER_PROCESS_TEST, OtherAction::Reset, SLOT.0);
                    // Long enough for its reset request to reach pcscd.
                    std::thread::sleep(REQUEST_REACHES_PCSCD);
                    *other.borrow_mut() = Some(o);
                },
                &mut |_| {
                    let o = other.borrow();
                    let o = o.as_ref().expect("injected");
                    assert_eq!(o.poll(), None, "{what}: the reset went through during the session's transaction");
                },
            );
            let r = run.result.as_ref().unwrap_or_else(|e| panic!("{what}: {e:?} ({})", e.code()));
            baseline.assert_complete(r, run.sent, &what);
            let other = other.into_inner().unwrap();
            let (_, line) = other.next(Duration::from_secs(10)).expect("the reset runs once the session is over");
            assert_eq!(line, "reset Ok", "{what}");
            other.finish(Duration::from_secs(5));
            outcomes.push((At::Apdu(i), format!("{} (transaction held)", outcome(&run))));
            undisturbed(SLOT.0, Some(&baseline), &format!("{what}: read after"));
        }
        card.remove();
        summary("card reset", code, started, &outcomes);
    }
}

/// The indices of the pcscd-restart row for a read of `n` APDUs.
fn restart_indices(n: usize, every: bool) -> Vec<usize> {
    if every || std::env::var_os("ZAIRYU_FAULT_MATRIX_FULL").is_some() || n <= SPREAD {
        return (0..n).collect();
    }
    let mut v: Vec<usize> = (0..SPREAD).map(|k| k * (n - 1) / (SPREAD - 1)).collect();
    v.dedup();
    v
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn pcscd_restarted_at_every_apdu() {
    init_log();
    for (t, code) in card_types() {
        let started = Instant::now();
        let issued = issue(t);
        let card = VirtualCard::insert(SLOT, &issued, &[], ServeOptions::default());
        let baseline = undisturbed(SLOT.0, None, "baseline");
        assert_eq!(baseline.code, code);
        let mut outcomes = Vec::new();
        let restart = || {
            pcscd("stop");
            pcscd("start");
        };
        // Before the connect: the session's context is re-established, the read completes
        // once the card is back in the new pcscd's reader.
        {
            let what = format!("type {code}, pcscd restarted before connect");
            let run = read_with(
                SLOT.0,
                Some(At::Connect),
                &mut |_| {
                    restart();
                    wait_card(SLOT.0, true, Duration::from_secs(15));
                },
                &mut |_| {},
            );
            let r = run.result.as_ref().unwrap_or_else(|e| panic!("{what}: {e:?} ({})", e.code()));
            baseline.assert_complete(r, run.sent, &what);
            outcomes.push((At::Connect, outcome(&run)));
        }
        for i in restart_indices(baseline.apdus, code == "1") {
            let what = format!("type {code}, pcscd restarted at APDU {i}");
            let run = read_with(SLOT.0, Some(At::Apdu(i)), &mut |_| restart(), &mut |_| {});
            let gone = match run.result.as_ref().map(|_| ()) {
                Err(Error::Transport(e @ TransportError::ReaderUnavailable(_))) => e.clone(),
                other => panic!("{what}: {other:?}"),
            };
            assert_typed_failure(&run, &gone, ErrorCode::TransportReaderUnavailable, i, &what);
            outcomes.push((At::Apdu(i), outcome(&run)));
            wait_card(SLOT.0, true, Duration::from_secs(15));
            undisturbed(SLOT.0, Some(&baseline), &format!("{what}: read after"));
        }
        card.remove();
        summary("pcscd restarted", code, started, &outcomes);
    }
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd: run by scripts/test-all"]
fn reader_busy_at_every_apdu() {
    init_log();
    for (t, code) in card_types() {
        let started = Instant::now();
        let issued = issue(t);
        let card = VirtualCard::insert(SLOT, &issued, &[], ServeOptions::default());
        let baseline = undisturbed(SLOT.0, None, "baseline");
        assert_eq!(baseline.code, code);
        let mut outcomes = Vec::new();
        // Held before the session connects: a sharing violation.
        {
            let what = format!("type {code}, reader busy before connect");
            let mut holder = None;
            let run = read_with(
                SLOT.0,
                Some(At::Connect),
                &mut |_| {
                    let o = OtherProcess::spawn(OTHER_PROCESS_TEST, OtherAction::HoldExclusive, SLOT.0);
                    let (_, line) = o.next(Duration::from_secs(10)).expect("the other process reports");
                    assert_eq!(line, "connect Ok", "{what}");
                    holder = Some(o);
                },
                &mut |_| {},
            );
            assert_typed_failure(
                &run,
                &TransportError::SharingViolation,
                ErrorCode::TransportSharingViolation,
                AT_CONNECT,
                &what,
            );
            let rest = holder.take().unwrap().finish(Duration::from_secs(5));
            assert_eq!(rest, ["released Ok(())"], "{what}");
            outcomes.push((At::Connect, outcome(&run)));
            undisturbed(SLOT.0, Some(&baseline), &format!("{what}: read after"));
        }
        // Asked for during the session: refused or held back until the session is over.
        for i in 0..baseline.apdus {
            let what = format!("type {code}, reader busy at APDU {i}");
            let mut holder = None;
            let mut read_done = None;
            let run = read_with(
                SLOT.0,
                Some(At::Apdu(i)),
                &mut |_| {
                    let o = OtherProcess::spawn(OTHER_PROCESS_TEST, OtherAction::HoldExclusive, SLOT.0);
                    std::thread::sleep(REQUEST_REACHES_PCSCD);
                    holder = Some(o);
                },
                &mut |_| read_done = Some(Instant::now()),
            );
            let r = run.result.as_ref().unwrap_or_else(|e| panic!("{what}: {e:?} ({})", e.code()));
            baseline.assert_complete(r, run.sent, &what);
            let holder = holder.take().unwrap();
            let (when, line) = holder.next(Duration::from_secs(10)).expect("the other process reports");
            if line == "connect Ok" {
                assert!(when > read_done.unwrap(), "{what}: another process held the reader during the session");
            } else {
                assert_eq!(line, "connect Err SharingViolation", "{what}");
            }
            holder.finish(Duration::from_secs(5));
            outcomes.push((At::Apdu(i), format!("{} (other process: {line})", outcome(&run))));
            undisturbed(SLOT.0, Some(&baseline), &format!("{what}: read after"));
        }
        card.remove();
        summary("reader busy", code, started, &outcomes);
    }
}

/// Not a test: the other process of [`OtherProcess`] (the test binary run again with
/// its action in the environment). Without it, it does nothing.
#[test]
#[ignore = "run as the other process by the fault-matrix tests"]
fn other_process() {
    other_process_main();
}
