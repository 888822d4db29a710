//! The vpcd wire protocol of `zairyu_sim::vpcd::serve`, against a fake vpcd: a
//! TCP listener in the test that plays the reader driver's side. No pcscd is
//! needed. The check against the real pcscd + vpcd was made by hand with
//! `examples/serve.rs` (findings in the `vpcd` module documentation).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zairyu::crypto::TdesSuite;
use zairyu::error::TransportError;
use zairyu::layout::Df;
use zairyu::transport::{Limits, Transport};
use zairyu::vectors::hex;
use zairyu_sim::vpcd::*;
use zairyu_sim::*;

mod common;

use common::*;

/// The reader side of one connection.
struct Vpcd(TcpStream);

impl Vpcd {
    fn write_msg(&mut self, body: &[u8]) {
        let mut out = (body.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        self.0.write_all(&out).unwrap();
    }

    /// A whole message, or `None` if the card closed the connection.
    fn read_msg(&mut self) -> Option<Vec<u8>> {
        let mut len = [0u8; 2];
        self.0.read_exact(&mut len).ok()?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
        self.0.read_exact(&mut body).ok()?;
        Some(body)
    }

    fn ctrl(&mut self, code: u8) {
        self.write_msg(&[code]);
    }

    fn atr(&mut self) -> Vec<u8> {
        self.ctrl(CTRL_ATR);
        self.read_msg().expect("ATR")
    }

    fn raw(&mut self, apdu: &[u8]) -> Option<Vec<u8>> {
        self.write_msg(apdu);
        self.read_msg()
    }

    /// Whether the card has closed the connection (EOF within 3 s).
    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.0.read(&mut b), Ok(0) | Err(_))
    }
}

/// The reader side as a transport: a closed connection is a removed card.
impl Transport for Vpcd {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.raw(command).ok_or(TransportError::CardRemoved)
    }

    fn limits(&self) -> Limits {
        Limits::FULL
    }
}

/// GET CHALLENGE, MUTUAL AUTHENTICATE and VERIFY with the default card number.
fn open(v: &mut Vpcd) {
    open_with::<TdesSuite>(v, &IssueOptions::default().card_number);
}

/// A fake vpcd listening on a free port, with `serve` running in a thread.
struct Harness {
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    cards: Arc<AtomicUsize>,
    thread: Option<JoinHandle<std::io::Result<ServeStats>>>,
}

impl Harness {
    fn start(opts: ServeOptions, faults: Vec<Fault>) -> Harness {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let opts = ServeOptions { port: listener.local_addr().unwrap().port(), ..opts };
        let stop = Arc::new(AtomicBool::new(false));
        let cards = Arc::new(AtomicUsize::new(0));
        let (s, c) = (stop.clone(), cards.clone());
        let thread = std::thread::spawn(move || {
            let factory = || {
                c.fetch_add(1, Ordering::SeqCst);
                let mut card = SimCard::new(IssuedCard::issue(&IssueOptions::default()));
                for f in &faults {
                    card = card.with_fault(f.clone());
                }
                card
            };
            serve(factory, &opts, &s)
        });
        Harness { listener, stop, cards, thread: Some(thread) }
    }

    fn accept(&self) -> Vpcd {
        let (s, _) = self.listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s.set_nodelay(true).unwrap();
        Vpcd(s)
    }

    fn finish(mut self) -> ServeStats {
        self.stop.store(true, Ordering::SeqCst);
        let t0 = Instant::now();
        let stats = self.thread.take().unwrap().join().unwrap().unwrap();
        assert!(t0.elapsed() < Duration::from_secs(1), "stop honoured within a poll period");
        stats
    }
}

fn harness() -> Harness {
    Harness::start(ServeOptions::default(), Vec::new())
}

#[test]
fn default_atr_is_a_pcsc_type_b_atr() {
    let atr = default_atr();
    assert_eq!(atr, hex("3B 88 80 01 00 00 00 00 77 81 80 40 3F"));
    // ISO/IEC 7816-3: T0 … TCK XOR to zero.
    assert_eq!(atr[1..].iter().fold(0, |a, b| a ^ b), 0);
    assert_eq!(atr[1] & 0x0F, 8, "eight historical bytes");
    assert_eq!(
        tck(&hex("3B 88 80 01 11 22 33 44 00 71 81 00")),
        0x88 ^ 0x80 ^ 0x01 ^ 0x11 ^ 0x22 ^ 0x33 ^ 0x44 ^ 0x71 ^ 0x81
    );
    assert_eq!(type_b_atr([1, 2, 3, 4], [5, 6, 7], 0x80).len(), 13);
}

#[test]
fn atr_power_on_and_apdus() {
    let h = harness();
    let mut v = h.accept();
    assert_eq!(v.atr(), default_atr());
    v.ctrl(CTRL_ON); // no answer: the next message read is the ATR
    v.ctrl(0x7F); // unknown control codes are ignored, without answer
    assert_eq!(v.atr(), default_atr());
    assert_eq!(sendh(&mut v, "00 A4 00 00 02 3F 00"), (vec![], OK));
    assert_eq!(sendh(&mut v, "00 B0 8B 00 00 00 00"), (b"\xC0\x040001".to_vec(), OK));
    assert_eq!(v.atr(), default_atr(), "ATR polls between APDUs");
    assert_eq!(sendh(&mut v, "00 B0 8A 00 03"), (b"\xC1\x011".to_vec(), OK));
    v.ctrl(CTRL_OFF);
    drop(v);
    // pcscd restarted: the card connects again and keeps its state.
    let mut v = h.accept();
    assert_eq!(v.atr(), default_atr());
    assert_eq!(sendh(&mut v, "00 B0 8A 00 03").1, OK);
    let cards = h.cards.load(Ordering::SeqCst);
    let stats = h.finish();
    assert_eq!(cards, 1);
    assert_eq!(stats, ServeStats { apdus: 4, bytes_in: 7 + 7 + 5 + 5, bytes_out: 2 + 8 + 5 + 5, reconnects: 1 });
}

#[test]
fn reset_and_power_cycle_clear_the_session() {
    let h = harness();
    let mut v = h.accept();
    v.ctrl(CTRL_ON);
    open(&mut v);
    assert_eq!(select_df(&mut v, Df::Df2), OK);
    let (addr, s) = sendh(&mut v, "00 B0 81 00 00 00 00");
    assert_eq!((addr.len(), s), (342, OK));
    v.ctrl(CTRL_RESET);
    assert_eq!(select_df(&mut v, Df::Df2), OK);
    assert_eq!(sendh(&mut v, "00 B0 81 00 00 00 00"), (vec![], [0x69, 0x82]));

    open(&mut v);
    assert_eq!(select_df(&mut v, Df::Df2), OK);
    assert_eq!(sendh(&mut v, "00 B0 81 00 00 00 00").1, OK);
    v.ctrl(CTRL_OFF);
    v.ctrl(CTRL_ON);
    assert_eq!(select_df(&mut v, Df::Df2), OK);
    assert_eq!(sendh(&mut v, "00 B0 81 00 00 00 00").1, [0x69, 0x82]);
    h.finish();
}

#[test]
fn short_apdus_only_reader() {
    let opts = ServeOptions { short_apdus_only: true, ..Default::default() };
    // The chip appends 300 bytes to every READ BINARY answer: more than 256 data bytes.
    let h = Harness::start(opts, vec![Fault::AppendGarbage { ins: 0xB0, p1: Some(0x8A), bytes: 300 }]);
    let mut v = h.accept();
    assert_eq!(sendh(&mut v, "00 B0 8B 00 00 00 00"), (vec![], [0x67, 0x00]), "extended Le refused");
    assert_eq!(sendh(&mut v, "00 B0 8B 00 00"), (b"\xC0\x040001".to_vec(), OK), "short Le works");
    assert_eq!(sendh(&mut v, "00 B0 8A 00 00"), (vec![], [0x67, 0x00]), "long response refused");
    let stats = h.finish();
    assert_eq!(stats.apdus, 3);
}

#[test]
fn drop_after_presents_a_new_card_after_a_second() {
    let opts = ServeOptions { faults: vec![ServeFault::DropAfter(3)], ..Default::default() };
    let h = Harness::start(opts, Vec::new());
    let mut v = h.accept();
    open(&mut v); // 3 APDUs: GET CHALLENGE, MUTUAL AUTHENTICATE, VERIFY
    let t0 = Instant::now();
    assert!(v.closed(), "connection closed after the third answer");
    let mut v = h.accept();
    let away = t0.elapsed();
    assert!(away >= Duration::from_millis(900) && away < Duration::from_secs(3), "away for {away:?}");
    assert_eq!(h.cards.load(Ordering::SeqCst), 2, "a fresh card");
    assert_eq!(select_df(&mut v, Df::Df2), OK);
    assert_eq!(sendh(&mut v, "00 B0 81 00 00 00 00").1, [0x69, 0x82], "new card: not authenticated");
    let stats = h.finish();
    assert_eq!((stats.apdus, stats.reconnects), (5, 1));
}

#[test]
fn drop_mid_response_cuts_the_answer() {
    let opts = ServeOptions { faults: vec![ServeFault::DropMidResponse(2)], ..Default::default() };
    let h = Harness::start(opts, Vec::new());
    let mut v = h.accept();
    assert_eq!(sendh(&mut v, "00 A4 00 00 02 3F 00").1, OK);
    v.write_msg(&hex("00 B0 8B 00 00 00 00"));
    let mut len = [0u8; 2];
    v.0.read_exact(&mut len).unwrap();
    assert_eq!(u16::from_be_bytes(len), 8, "the prefix announces the whole answer");
    let mut rest = Vec::new();
    let _ = v.0.read_to_end(&mut rest);
    assert_eq!(rest, b"\xC0\x04\x30\x30", "then half of it, then EOF");
    let mut v = h.accept();
    assert_eq!(sendh(&mut v, "00 B0 8B 00 00 00 00").1, OK, "reconnected at once");
    assert_eq!(h.cards.load(Ordering::SeqCst), 1, "same card");
    let stats = h.finish();
    assert_eq!((stats.apdus, stats.bytes_out, stats.reconnects), (3, 2 + 4 + 8, 1));
}

#[test]
fn corrupt_byte_flips_one_response_byte_once() {
    let opts = ServeOptions { faults: vec![ServeFault::CorruptByte { apdu: 2, index: 1 }], ..Default::default() };
    let h = Harness::start(opts, Vec::new());
    let mut v = h.accept();
    assert_eq!(sendh(&mut v, "00 B0 8B 00 00 00 00"), (b"\xC0\x040001".to_vec(), OK));
    assert_eq!(sendh(&mut v, "00 B0 8B 00 00 00 00"), (b"\xC0\xFB0001".to_vec(), OK));
    assert_eq!(sendh(&mut v, "00 B0 8B 00 00 00 00"), (b"\xC0\x040001".to_vec(), OK));
    h.finish();
}

#[test]
fn chip_transport_error_closes_the_connection() {
    let h = Harness::start(ServeOptions::default(), vec![Fault::RemoveCardAfter(1)]);
    let mut v = h.accept();
    assert_eq!(sendh(&mut v, "00 A4 00 00 02 3F 00").1, OK);
    assert_eq!(v.raw(&hex("00 B0 8B 00 00 00 00")), None, "card left the field");
    let stats = h.finish();
    assert_eq!(stats.apdus, 2);
}

#[test]
fn stop_while_waiting_for_vpcd() {
    // Nothing listens on this port: serve keeps retrying until stopped.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let stop = AtomicBool::new(false);
    let t0 = Instant::now();
    let stats = std::thread::scope(|sc| {
        let t = sc.spawn(|| {
            serve(
                || SimCard::new(IssuedCard::issue(&IssueOptions::default())),
                &ServeOptions { port, ..Default::default() },
                &stop,
            )
        });
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::SeqCst);
        t.join().unwrap().unwrap()
    });
    assert!(t0.elapsed() < Duration::from_millis(1200));
    assert_eq!(stats, ServeStats::default());
}

#[test]
fn link_speed_parses() {
    assert_eq!("106k".parse::<LinkSpeed>(), Ok(LinkSpeed::K106));
    assert_eq!("212".parse::<LinkSpeed>(), Ok(LinkSpeed::K212));
    assert_eq!("424K".parse::<LinkSpeed>(), Ok(LinkSpeed::K424));
    assert_eq!("848kbps".parse::<LinkSpeed>(), Ok(LinkSpeed::K848));
    assert!("100k".parse::<LinkSpeed>().is_err());
    assert_eq!(LinkSpeed::K848.to_string(), "848k");
}

#[test]
fn air_time_formula() {
    // Chaining: 253 INF bytes per I-block (FSC 256 − PCB − CRC_B).
    assert_eq!((i_blocks(0), i_blocks(253), i_blocks(254), i_blocks(1466)), (1, 1, 2, 6));

    // GET CHALLENGE: c = 5, r = 10, one frame each way.
    // 10·(15 + 3·2) + 22·2 = 254 etu; + one card turnaround (2304/fc).
    assert_eq!(air_time_fc(LinkSpeed::K106, 5, 10), 254 * 128 + 2304);
    assert_eq!(air_time_fc(LinkSpeed::K848, 5, 10), 254 * 16 + 2304);
    assert_eq!(air_time(LinkSpeed::K106, 5, 10), Duration::from_nanos(2_567_551));

    // READ BINARY of the 1 464-byte DF3 file: c = 7, r = 1 466 → kc = 1, kr = 6,
    // F = 12 frames (7 I-blocks, 5 R(ACK)), 1 509 bytes on the air,
    // 6 card and 5 reader turnarounds.
    let etu = 10 * (7 + 1466 + 3 * 12) + 22 * 12;
    assert_eq!(etu, 15_354);
    assert_eq!(air_time_fc(LinkSpeed::K106, 7, 1466), (etu + 5 * 14) * 128 + 6 * 2304);
    assert_eq!(air_time_fc(LinkSpeed::K106, 7, 1466), 1_988_096);
    assert_eq!(air_time(LinkSpeed::K106, 7, 1466), Duration::from_nanos(146_614_749));
    assert_eq!(air_time_fc(LinkSpeed::K424, 7, 1466), (etu + 5 * 14) * 32 + 6 * 2304);

    // A chained 300-byte extended command and a 2-byte answer: kc = 2, kr = 1,
    // F = 4 (2 I-blocks, 1 R(ACK) from the card, 1 response), 2 card and 1 reader turnarounds.
    assert_eq!(air_time_fc(LinkSpeed::K212, 300, 2), (10 * (302 + 12) + 22 * 4 + 14) * 64 + 2 * 2304);

    // The data bits alone are (c + r)·8/rate; the model is always above that.
    for (c, r) in [(5, 10), (7, 1466), (300, 2), (13, 7013)] {
        for l in [LinkSpeed::K106, LinkSpeed::K212, LinkSpeed::K424, LinkSpeed::K848] {
            let data_only = Duration::from_nanos(((c + r) as u64 * 8 * l.etu_fc() * 1_000_000_000) / FC_HZ);
            assert!(air_time(l, c, r) > data_only);
        }
    }
}
