//! Readers and cards without extended APDUs, as they really fail (issue 11, point 1):
//! the simulator's reader mode that fails the transmit, its card mode that refuses
//! extended APDUs and answers `6C XX`, a host link that carries fewer bytes than the
//! spec's whole-file reads, and a driver failure on one short variant. Each test
//! fails when the fallback it is about is taken away.

use zairyu::auth::OsRandom;
use zairyu::error::{Error, LinkRefusal, TransportError};
use zairyu::files::CardType;
use zairyu::sequence::{CardRead, ReadOptions, ReadPolicy, read_card};
use zairyu::session::{Card, fallback};
use zairyu::transport::{Limits, Transport};
use zairyu::verify::SignatureStatus;
use zairyu::warning::WarningCode;
use zairyu::{CardNumber, apdu::ParsedCommand};
use zairyu_sim::{Fault, IssueOptions, IssuedCard, SimCard, TraceEntry};
use zairyu_tests::{Rewrite, sim_trust};

const TYPES: [CardType; 4] = [
    CardType::ResidenceCard,
    CardType::SpecialPermanentResident,
    CardType::Gen2ResidenceCard,
    CardType::Gen2SpecialPermanentResident,
];
const POLICIES: [ReadPolicy; 2] = [ReadPolicy::Full, ReadPolicy::TextOnly];

fn sim(card_type: CardType) -> SimCard {
    SimCard::new(IssuedCard::issue(&IssueOptions { card_type, ..IssueOptions::default() }))
}

fn read<T: Transport>(t: T, policy: ReadPolicy) -> (Result<CardRead, Error>, Card<T>) {
    let number = CardNumber::parse(&IssueOptions::default().card_number).unwrap();
    let mut card = Card::new(t);
    let opts = ReadOptions { policy, ..ReadOptions::default() };
    let r = read_card(&mut card, &number, &sim_trust(), &mut OsRandom, &opts);
    (r, card)
}

/// The read succeeded and verified as far as its policy reads.
fn assert_complete(r: &CardRead, policy: ReadPolicy, what: &str) {
    match policy {
        ReadPolicy::Full => assert_eq!(r.verification.signature, SignatureStatus::Valid, "{what}"),
        _ => assert_eq!(r.verification.signature, SignatureStatus::NotChecked, "{what}"),
    }
    assert!(
        r.warnings.iter().any(|w| w.code == WarningCode::ShortApduFallback && w.message.contains("extended APDUs")),
        "{what}: {:?}",
        r.warnings
    );
}

fn sw(t: &TraceEntry) -> Option<u16> {
    t.sw.map(u16::from_be_bytes)
}

/// A transport whose limits are not its inner transport's.
struct Limited<T> {
    inner: T,
    limits: Limits,
}

impl<T: Transport> Transport for Limited<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.inner.transmit(command)
    }
    fn limits(&self) -> Limits {
        self.limits
    }
}

/// A reader whose driver fails the transmit of the commands `fails` picks (they never
/// reach the card), as a driver that cannot carry them does.
struct FailWhen<T, P> {
    inner: T,
    fails: P,
    failed: usize,
}

impl<T: Transport, P: Fn(&ParsedCommand) -> bool> Transport for FailWhen<T, P> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if ParsedCommand::parse(command).is_some_and(|c| (self.fails)(&c)) {
            self.failed += 1;
            return Err(TransportError::LinkRefused(LinkRefusal::NotTransacted));
        }
        self.inner.transmit(command)
    }
    fn limits(&self) -> Limits {
        self.inner.limits()
    }
}

#[test]
fn a_reader_that_fails_extended_transmits_is_learnt_from_the_first_failure() {
    for t in TYPES {
        for policy in POLICIES {
            let what = format!("{t:?} {policy:?}");
            let (r, card) = read(sim(t).with_fault(Fault::ReaderFailsExtended), policy);
            let r = r.unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_complete(&r, policy, &what);
            assert_eq!(r.link.extended_length, Some(false), "{what}");
            assert_eq!(r.link.fallbacks[0], fallback::SHORT_PLAIN_CHUNKED, "{what}");
            let trace = card.transport().trace();
            // One extended command left the host (the first MF read); its transmit
            // failed (no status word), and the reader was never asked again.
            let extended: Vec<_> = trace.iter().enumerate().filter(|(_, t)| t.extended).collect();
            assert_eq!(extended.len(), 1, "{what}: {trace:?}");
            assert_eq!((extended[0].0, extended[0].1.sw), (1, None), "{what}");
            // Every answer the reader carried fits a short response.
            assert!(trace.iter().all(|t| t.response_len <= 256), "{what}");
        }
    }
    // The first-generation SM files are too long for one short answer: chunks.
    let (r, _) = read(sim(CardType::ResidenceCard).with_fault(Fault::ReaderFailsExtended), ReadPolicy::Full);
    assert!(r.unwrap().link.fallbacks.contains(&fallback::SM_SHORT_CHUNKED));
}

#[test]
fn a_driver_failure_on_the_whole_file_short_sm_read_moves_on_to_chunks() {
    // The driver fails the short whole-file SM read (`08 B0 P1 00 04 96 02 00 00 00`)
    // of every file: the chunked variant reads them. Second generation, where the
    // whole-file variant would otherwise work for DF1/EF01 and EF02.
    let whole_sm = |c: &ParsedCommand| c.header[0] == 0x08 && !c.extended && c.data[..] == [0x96, 0x02, 0x00, 0x00];
    for t in TYPES {
        let inner = sim(t).with_fault(Fault::ShortApdusOnly);
        let (r, card) = read(FailWhen { inner, fails: whole_sm, failed: 0 }, ReadPolicy::Full);
        let r = r.unwrap_or_else(|e| panic!("{t:?}: {e:?}"));
        assert_complete(&r, ReadPolicy::Full, &format!("{t:?}"));
        assert!(card.transport().failed > 0, "{t:?}");
        assert!(r.link.fallbacks.contains(&fallback::SM_SHORT_CHUNKED), "{t:?} {:?}", r.link);
        assert!(!r.link.fallbacks.contains(&fallback::SM_SHORT_WHOLE), "{t:?} {:?}", r.link);
    }
}

#[test]
fn when_the_last_variant_is_not_carried_the_error_says_so() {
    let any_sm = |c: &ParsedCommand| c.header[0] == 0x08 && c.header[1] == 0xB0;
    let inner = sim(CardType::Gen2ResidenceCard).with_fault(Fault::ShortApdusOnly);
    let (r, card) = read(FailWhen { inner, fails: any_sm, failed: 0 }, ReadPolicy::Full);
    let e = r.unwrap_err();
    assert_eq!(e, Error::Transport(TransportError::LinkRefused(LinkRefusal::NotTransacted)));
    assert_eq!(e.code(), "transport_link_refused");
    // Both short variants were tried (there is no extended one on this link).
    assert_eq!(card.transport().failed, 2);
}

#[test]
fn a_card_without_extended_apdus_is_asked_per_file_and_its_6c_answers_are_retried() {
    for t in TYPES {
        for policy in POLICIES {
            let what = format!("{t:?} {policy:?}");
            let (r, card) = read(sim(t).with_fault(Fault::ShortCard), policy);
            let r = r.unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_complete(&r, policy, &what);
            assert_eq!(r.link.extended_length, Some(false), "{what}");
            let trace = card.transport().trace();
            // The card's 67 00 holds for one file: every file is asked in the
            // extended form first, and refused.
            let extended: Vec<_> = trace.iter().filter(|t| t.extended).collect();
            assert_eq!(extended.len(), r.raw_files.len(), "{what}: one extended attempt per file");
            assert!(extended.iter().all(|t| sw(t) == Some(0x6700)), "{what}");
            // A plain read asking for more than the file has left is answered 6C XX;
            // the same command with Le = XX follows and succeeds.
            let wrong_le: Vec<_> =
                trace.iter().enumerate().filter(|(_, t)| t.sw.is_some_and(|s| s[0] == 0x6C)).collect();
            assert!(!wrong_le.is_empty(), "{what}");
            for (i, t) in wrong_le {
                let xx = t.sw.unwrap()[1];
                let retry = &trace[i + 1];
                assert_eq!(retry.header, t.header, "{what}");
                assert_eq!(retry.ne, Some(if xx == 0 { 256 } else { usize::from(xx) }), "{what}");
                assert_eq!(sw(retry), Some(0x9000), "{what}");
            }
        }
    }
}

#[test]
fn every_chip_answers_at_most_ne_and_refuses_a_long_short_sm_read() {
    // The whole-file short SM read of a first-generation DF1/EF01 (7 KiB) is answered
    // 67 00 by the chip itself, not with more than 256 bytes.
    let (r, card) = read(Limited { inner: sim(CardType::ResidenceCard), limits: Limits::SHORT }, ReadPolicy::Full);
    let r = r.unwrap();
    assert_eq!(r.link.extended_length, Some(false));
    let trace = card.transport().inner.trace();
    let whole = trace.iter().find(|t| t.header == [0x08, 0xB0, 0x85, 0x00] && t.ne == Some(256)).unwrap();
    assert_eq!((sw(whole), whole.response_len), (Some(0x6700), 0));
    assert!(trace.iter().all(|t| t.ne.is_none_or(|ne| t.response_len <= ne)), "{trace:?}");
}

#[test]
fn one_refused_mf_read_does_not_disable_extended_apdus_for_the_session() {
    // A card that refuses the extended form for the MF files only.
    for t in TYPES {
        let refuse_mf = |cmd: &[u8], r: Vec<u8>| {
            let extended = ParsedCommand::parse(cmd).is_some_and(|p| p.extended);
            if extended && cmd[1] == 0xB0 && matches!(cmd[2], 0x8A | 0x8B) { vec![0x67, 0x00] } else { r }
        };
        let (r, card) = read(Rewrite { inner: sim(t), f: refuse_mf }, ReadPolicy::Full);
        let r = r.unwrap_or_else(|e| panic!("{t:?}: {e:?}"));
        assert_eq!(r.verification.signature, SignatureStatus::Valid);
        assert_eq!(r.link.extended_length, Some(true), "{t:?}");
        assert_eq!(r.link.fallbacks, [fallback::SHORT_PLAIN_CHUNKED], "{t:?}");
        // Every SM read after the MF files was the spec's extended whole-file read.
        let trace = card.transport().inner.trace();
        assert!(trace.iter().filter(|t| t.header[0] == 0x08 && t.header[1] == 0xB0).all(|t| t.extended), "{t:?}");
    }
}

#[test]
fn a_host_link_that_carries_fewer_bytes_is_never_asked_for_more() {
    for t in [CardType::ResidenceCard, CardType::Gen2ResidenceCard] {
        // The spec's reads on a full link: whole files, Le 00 00.
        let (r, card) = read(sim(t), ReadPolicy::Full);
        assert!(r.unwrap().link.fallbacks.is_empty());
        assert!(card.transport().trace().iter().any(|t| t.ne == Some(65536)));

        for (extended_length, max_response) in [(true, 258), (true, 130), (true, 1000), (true, 7000), (false, 300)] {
            let what = format!("{t:?} extended={extended_length} max_response={max_response}");
            let limits = Limits { extended_length, max_command: Limits::FULL.max_command, max_response };
            let (r, card) = read(Limited { inner: sim(t), limits }, ReadPolicy::Full);
            let r = r.unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_eq!(r.verification.signature, SignatureStatus::Valid, "{what}");
            let trace = card.transport().inner.trace();
            for e in trace {
                assert!(e.ne.is_none_or(|ne| ne <= max_response - 2), "{what}: {e:?}");
                assert!(e.response_len + 2 <= max_response, "{what}: {e:?}");
            }
            if extended_length {
                assert_eq!(r.link.extended_length, Some(true), "{what}");
                assert!(r.link.fallbacks.contains(&fallback::EXTENDED_CHUNKED), "{what}: {:?}", r.link);
                assert!(r.link.fallbacks.contains(&fallback::SM_EXTENDED_CHUNKED), "{what}: {:?}", r.link);
            } else {
                assert!(trace.iter().all(|t| !t.extended), "{what}");
            }
        }
    }
}

#[test]
fn the_fault_names_parse() {
    assert_eq!("reader_fails_extended".parse::<Fault>().unwrap(), Fault::ReaderFailsExtended);
    assert_eq!("short_card".parse::<Fault>().unwrap(), Fault::ShortCard);
}
