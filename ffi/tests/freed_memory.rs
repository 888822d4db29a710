//! Secrets do not outlive their use in freed memory: a global allocator scans every
//! block the library frees, during a read and when its result is dropped, for the
//! card number and the keys of the session (Kenc, K.IFD, K.ICC, KSenc), for both
//! generations, on the success path and on the error paths a wrong number takes.
//!
//! The simulator stands in for the chip and keeps its own copies of everything; the
//! scan is switched off while it runs (inside `transmit`, and when it is dropped),
//! so what is found was freed by the library. The keys of the session are learnt
//! as an eavesdropper who knows the card number would learn them: by decrypting
//! the MUTUAL AUTHENTICATE cryptograms with Kenc.
//!
//! It lives in the ffi crate because a global allocator needs `unsafe`, which the
//! project allows only here.

// The global allocator below is this test's one use of unsafe code.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use zairyu_core::auth::OsRandom;
use zairyu_core::crypto::derive_base_key;
use zairyu_core::error::TransportError;
use zairyu_core::files::CardType;
use zairyu_core::sequence::{ReadOptions, read_card};
use zairyu_core::session::Card;
use zairyu_core::transport::{Limits, Transport};
use zairyu_core::verify::TrustStore;
use zairyu_core::{CardNumber, Error};
use zairyu_sim::eavesdrop::session_keys;
use zairyu_sim::{Fault, IssueOptions, IssuedCard, SimCard};

const NUMBER: &[u8; 12] = b"AB12345678CD";
const WRONG: &[u8; 12] = b"ZZ99999999ZZ";

/// What to look for: the card number and up to four 16-byte keys.
struct Needles {
    keys: [[u8; 16]; 4],
    /// How many of `keys` are set.
    n: usize,
}

static NEEDLES: Mutex<Needles> = Mutex::new(Needles { keys: [[0; 16]; 4], n: 0 });
/// Blocks freed that held a needle, by needle: 0 = a card number (the card's or the
/// wrong one typed), 1.. = keys.
static FOUND: [AtomicUsize; 5] = [const { AtomicUsize::new(0) }; 5];
static FIRST_FIND: Mutex<Option<String>> = Mutex::new(None);
/// Only one test reads at a time: the needles are global.
static SERIAL: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether frees on this thread are scanned.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// Set while the scanner itself runs (it may allocate to record a find).
    static IN_SCAN: Cell<bool> = const { Cell::new(false) };
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

struct Scanner;

// SAFETY: every call is forwarded to the system allocator unchanged; `dealloc` reads
// the block it is given (valid for `layout.size()` bytes until it is freed) first.
unsafe impl GlobalAlloc for Scanner {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.with(Cell::get) && !IN_SCAN.with(Cell::get) && layout.size() >= 12 {
            IN_SCAN.with(|s| s.set(true));
            // SAFETY: the caller owns `ptr` for `layout.size()` bytes until the call
            // below frees it.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            scan(block);
            IN_SCAN.with(|s| s.set(false));
        }
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Scanner = Scanner;

fn scan(block: &[u8]) {
    let mut hit = None;
    if contains(block, NUMBER) || contains(block, WRONG) {
        hit = Some(0);
    } else if let Ok(n) = NEEDLES.try_lock() {
        hit = (0..n.n).find(|&i| contains(block, &n.keys[i])).map(|i| i + 1);
    }
    if let Some(i) = hit {
        FOUND[i].fetch_add(1, Ordering::SeqCst);
        if let Ok(mut first) = FIRST_FIND.try_lock()
            && first.is_none()
        {
            let what = ["card number", "Kenc", "K.IFD", "K.ICC", "KSenc"][i];
            *first = Some(format!(
                "{what} in a freed block of {} bytes, freed at:\n{}",
                block.len(),
                std::backtrace::Backtrace::force_capture()
            ));
        }
    }
}

fn with_scan_off<R>(f: impl FnOnce() -> R) -> R {
    let was = ARMED.with(|a| a.replace(false));
    let r = f();
    ARMED.with(|a| a.set(was));
    r
}

fn add_key(k: &[u8; 16]) {
    let mut n = NEEDLES.lock().unwrap();
    let i = n.n;
    n.keys[i] = *k;
    n.n += 1;
}

/// The simulator, with the scan off while it works, learning the session keys from
/// MUTUAL AUTHENTICATE as it passes.
struct Chip {
    sim: Option<SimCard>,
    generation: u8,
    typed: [u8; 12],
}

impl Transport for Chip {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        with_scan_off(|| {
            let response = self.sim.as_mut().unwrap().transmit(command)?;
            if let Some(k) = session_keys(&self.typed, self.generation, command, &response) {
                add_key(&k.k_ifd);
                add_key(&k.k_icc);
                add_key(k.ks_enc.expose());
            }
            Ok(response)
        })
    }

    fn limits(&self) -> Limits {
        self.sim.as_ref().unwrap().limits()
    }
}

impl Drop for Chip {
    fn drop(&mut self) {
        let sim = self.sim.take();
        with_scan_off(|| drop(sim));
    }
}

/// Reads a simulated card of `card_type` with `typed`, scanning every block the
/// library frees until the result is dropped; returns whether the read succeeded.
fn scanned_read(card_type: CardType, typed: &[u8; 12]) -> bool {
    scanned_read_with(card_type, typed, None)
}

/// [`scanned_read`] with the simulator's fault `fault` (for the fallback paths).
fn scanned_read_with(card_type: CardType, typed: &[u8; 12], fault: Option<Fault>) -> bool {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for f in &FOUND {
        f.store(0, Ordering::SeqCst);
    }
    *FIRST_FIND.lock().unwrap() = None;
    // Kenc as the library derives it: from the number typed.
    let kenc = *derive_base_key(typed).expose();
    {
        let mut n = NEEDLES.lock().unwrap();
        n.n = 0;
    }
    add_key(&kenc);
    let issued = IssuedCard::issue(&IssueOptions {
        card_type,
        card_number: String::from_utf8(NUMBER.to_vec()).unwrap(),
        ..IssueOptions::default()
    });
    let mut trust = TrustStore::new();
    zairyu_sim::add_test_anchors(&mut trust);
    let generation = card_type.generation();
    let mut sim = SimCard::new(issued);
    if let Some(f) = fault {
        sim = sim.with_fault(f);
    }
    let chip = Chip { sim: Some(sim), generation, typed: *typed };
    let number = CardNumber::parse(std::str::from_utf8(typed).unwrap()).unwrap();

    ARMED.with(|a| a.set(true));
    let mut card = Card::new(chip);
    let result: Result<_, Error> = read_card(&mut card, &number, &trust, &mut OsRandom, &ReadOptions::default());
    let ok = result.is_ok();
    drop(result);
    drop(card);
    drop(number);
    ARMED.with(|a| a.set(false));

    let found: Vec<usize> = FOUND.iter().map(|f| f.load(Ordering::SeqCst)).collect();
    let keys = NEEDLES.lock().unwrap().n;
    if ok {
        assert_eq!(keys, 4, "the scan learnt Kenc, K.IFD, K.ICC and KSenc");
    }
    assert!(
        found.iter().all(|&n| n == 0),
        "type {card_type:?}: freed blocks held secrets {found:?} (card number, Kenc, K.IFD, K.ICC, KSenc); first: {}",
        FIRST_FIND.lock().unwrap().as_deref().unwrap_or("")
    );
    ok
}

#[test]
fn the_scan_finds_a_secret_left_in_freed_memory() {
    // The control: a copy of the card number in a plain Vec, freed while armed.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    FOUND[0].store(0, Ordering::SeqCst);
    ARMED.with(|a| a.set(true));
    let leak = std::hint::black_box(NUMBER.to_vec());
    drop(leak);
    ARMED.with(|a| a.set(false));
    assert_eq!(FOUND[0].load(Ordering::SeqCst), 1);
    FOUND[0].store(0, Ordering::SeqCst);
}

#[test]
fn first_generation_read_leaves_no_secret_in_freed_memory() {
    assert!(scanned_read(CardType::ResidenceCard, NUMBER));
    assert!(scanned_read(CardType::SpecialPermanentResident, NUMBER));
}

#[test]
fn second_generation_read_leaves_no_secret_in_freed_memory() {
    assert!(scanned_read(CardType::Gen2ResidenceCard, NUMBER));
    assert!(scanned_read(CardType::Gen2SpecialPermanentResident, NUMBER));
}

#[test]
fn a_wrong_number_leaves_no_secret_in_freed_memory() {
    for t in [CardType::ResidenceCard, CardType::Gen2ResidenceCard] {
        assert!(!scanned_read(t, WRONG));
    }
}

#[test]
fn short_apdu_fallback_reads_leave_no_secret_in_freed_memory() {
    for t in [CardType::ResidenceCard, CardType::Gen2ResidenceCard] {
        assert!(scanned_read_with(t, NUMBER, Some(Fault::ShortApdusOnly)));
    }
}
