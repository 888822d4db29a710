//! Every error path of a first-generation read ends in its typed error, never a
//! panic and never a result that looks complete.

use zairyu::apdu::StatusWord;
use zairyu::error::{AuthError, Error, ParseProblem, SmError, Step, TransportError};
use zairyu::files::CardType;
use zairyu_sim::{Fault, IssueOptions, IssuedCard, SimCard};
use zairyu_tests::{Rewrite, read_with, sim_trust};

fn card() -> SimCard {
    SimCard::new(IssuedCard::issue(&IssueOptions::default()))
}

fn number() -> String {
    IssueOptions::default().card_number
}

fn read_err(card: SimCard) -> Error {
    read_with(card, &number(), &sim_trust()).0.expect_err("the read must fail")
}

#[test]
fn wrong_card_number_is_rejected_at_mutual_authenticate() {
    let (r, c) = read_with(card(), "ZZ99999999ZZ", &sim_trust());
    let e = r.unwrap_err();
    assert_eq!(e, Error::WrongCardNumber { step: Step::MutualAuthenticate, flow: zairyu::options::Flow::Gen1 });
    assert_eq!(e.code(), "wrong_card_number");
    assert!(!e.to_string().contains("ZZ99999999ZZ"));
    // SELECT MF, 2 MF reads, GET CHALLENGE, MUTUAL AUTHENTICATE: nothing more.
    assert_eq!(c.metrics().apdus, 5);
}

#[test]
fn wrong_card_number_is_rejected_at_verify() {
    // The card answers 63 00 to VERIFY (as it does for a number that does not match).
    let e = read_err(card().with_fault(Fault::StatusWord { ins: 0x20, p1: None, sw: [0x63, 0x00] }));
    assert_eq!(e, Error::WrongCardNumber { step: Step::Verify, flow: zairyu::options::Flow::Gen1 });
}

/// (INS, P1 or None, step) of every command in the read sequence.
const COMMANDS: &[(u8, Option<u8>, Step)] = &[
    (0xA4, Some(0x00), Step::SelectMf),
    (0xB0, Some(0x8B), Step::ReadBinary),
    (0x84, None, Step::GetChallenge),
    (0x82, None, Step::MutualAuthenticate),
    (0x20, None, Step::Verify),
    (0xA4, Some(0x04), Step::SelectDf),
    (0xB0, Some(0x85), Step::SmReadBinary),
    (0xB0, Some(0x81), Step::ReadBinary),
    (0xB0, Some(0x84), Step::ReadBinary),
];

#[test]
fn every_spec_status_word_at_every_command_is_a_named_card_error() {
    for &(ins, p1, step) in COMMANDS {
        for sw in StatusWord::SPEC_TABLE {
            if *sw == [0x90, 0x00] {
                continue;
            }
            let e = read_err(card().with_fault(Fault::StatusWord { ins, p1, sw: *sw }));
            let named = StatusWord::from_bytes(sw[0], sw[1]);
            assert!(!matches!(named, StatusWord::Unknown(..)));
            let wrong_number_step = matches!(step, Step::MutualAuthenticate | Step::Verify) && *sw == [0x63, 0x00];
            // A 67 00 to an extended command reads as "the reader cannot carry extended
            // APDUs": the session falls back, and when every variant is refused too the
            // error says so.
            if step == Step::SmReadBinary && *sw == [0x67, 0x00] {
                assert_eq!(e, Error::Transport(TransportError::ExtendedLengthUnsupported));
            } else if wrong_number_step {
                assert_eq!(
                    e,
                    Error::WrongCardNumber { step, flow: zairyu::options::Flow::Gen1 },
                    "{sw:02X?} at {step}"
                );
            } else {
                assert_eq!(e, Error::Card { step, sw: named }, "{sw:02X?} at {step}");
                assert_eq!(e.status_word(), Some(named));
                assert_eq!(e.code(), "card_status");
            }
        }
    }
}

#[test]
fn unknown_status_word_keeps_both_bytes() {
    let e = read_err(card().with_fault(Fault::StatusWord { ins: 0xB0, p1: Some(0x82), sw: [0x6C, 0x42] }));
    assert_eq!(e, Error::Card { step: Step::ReadBinary, sw: StatusWord::Unknown(0x6C, 0x42) });
    assert!(e.to_string().contains("6C 42"));
}

#[test]
fn truncated_responses() {
    let data = |ins, p1, keep| card().with_fault(Fault::TruncateData { ins, p1, keep });
    // GET CHALLENGE with 4 bytes.
    let e = read_err(data(0x84, None, 4));
    assert_eq!(e, Error::Auth(AuthError::BadLength { step: Step::GetChallenge, got: 4, expected: 8 }));
    // MUTUAL AUTHENTICATE with 39 bytes.
    let e = read_err(data(0x82, None, 39));
    assert_eq!(e, Error::Auth(AuthError::BadLength { step: Step::MutualAuthenticate, got: 39, expected: 40 }));
    // SM read cut inside the cryptogram.
    let e = read_err(data(0xB0, Some(0x85), 5000));
    assert_eq!(e, Error::SecureMessaging(SmError::MissingDataObject));
    // Plain DF2 read cut inside D4.
    let e = read_err(data(0xB0, Some(0x81), 100));
    assert!(matches!(e, Error::Parse(ref p) if p.what == ParseProblem::Truncated && p.file == "DF2/EF01"), "{e:?}");
    // Card type cut (C1 01 without its value).
    let e = read_err(data(0xB0, Some(0x8A), 2));
    assert!(matches!(e, Error::Parse(ref p) if p.file == "MF/EF02"), "{e:?}");
    // The transport cuts the raw response: what remains is not a success.
    let e = read_err(card().with_fault(Fault::TruncateResponse { ins: 0xB0, p1: Some(0x85), keep: 3000 }));
    assert!(matches!(e, Error::Card { step: Step::SmReadBinary, sw: StatusWord::Unknown(..) }), "{e:?}");
    // A response of one byte (no status word).
    let mut c = zairyu::session::Card::new(Rewrite { inner: card(), f: |_: &[u8], _r: Vec<u8>| vec![0x90] });
    let e = c.select_mf().unwrap_err();
    assert!(matches!(e, Error::Parse(ref p) if p.what == ParseProblem::ShortResponse));
}

#[test]
fn oversized_and_malformed_responses() {
    // More than the largest response the spec defines.
    let e = read_err(card().with_fault(Fault::AppendGarbage { ins: 0xB0, p1: Some(0x85), bytes: 200 }));
    assert!(matches!(e, Error::Parse(ref p) if matches!(p.what, ParseProblem::Oversized(_))), "{e:?}");
    // Bytes after the 86 object.
    let e = read_err(card().with_fault(Fault::AppendGarbage { ins: 0xB0, p1: Some(0x86), bytes: 3 }));
    assert_eq!(e, Error::SecureMessaging(SmError::TrailingData));
    // Non-zero bytes after the last object of a plain file: read as a malformed object.
    let e = read_err(card().with_fault(Fault::AppendGarbage { ins: 0xB0, p1: Some(0x84), bytes: 2 }));
    assert!(
        matches!(e, Error::Parse(ref p) if p.file == "DF2/EF04" && p.what == ParseProblem::BadLengthForm(0xA5)),
        "{e:?}"
    );
    // Non-zero bytes inside the zero fill after the last object (under-16 layout
    // `DA 00 DB 00 00…`).
    let under16 = IssuedCard::issue(&IssueOptions { under_16: true, ..IssueOptions::default() });
    let e = read_err(SimCard::new(under16).with_fault(Fault::CorruptResponseByte {
        ins: 0xB0,
        p1: Some(0x82),
        index: 1463,
    }));
    assert!(
        matches!(e, Error::Parse(ref p) if p.file == "DF3/EF01" && p.what == ParseProblem::TrailingGarbage),
        "{e:?}"
    );
    // A non-zero byte in the certificate's own zero fill: the data was read whole,
    // the certificate cannot be trusted, so the signature is invalid (not absent).
    let r = read_with(
        card().with_fault(Fault::CorruptResponseByte { ins: 0xB0, p1: Some(0x82), index: 1463 }),
        &number(),
        &sim_trust(),
    )
    .0
    .unwrap();
    assert_eq!(r.verification.signature, zairyu::verify::SignatureStatus::Invalid);
    assert!(r.verification.reason.as_deref().unwrap().contains("certificate"));
    // A corrupted tag in DF2/EF01.
    let e = read_err(card().with_fault(Fault::CorruptResponseByte { ins: 0xB0, p1: Some(0x81), index: 0 }));
    assert!(matches!(e, Error::Parse(_)), "{e:?}");
    // A corrupted padding indicator.
    let e = read_err(card().with_fault(Fault::CorruptResponseByte { ins: 0xB0, p1: Some(0x86), index: 4 }));
    assert_eq!(e, Error::SecureMessaging(SmError::BadPaddingIndicator));
}

#[test]
fn bad_sm_padding_is_rejected() {
    let e = read_err(card().with_fault(Fault::BadSmPadding));
    assert_eq!(e, Error::SecureMessaging(SmError::BadPadding));
}

#[test]
fn bad_card_mac_is_rejected() {
    let e = read_err(card().with_fault(Fault::CorruptMacIcc));
    assert_eq!(e, Error::Auth(AuthError::CardMacMismatch));
}

#[test]
fn card_removed_mid_read_yields_no_result() {
    for after in [1, 5, 8, 12, 15] {
        let e = read_err(card().with_fault(Fault::RemoveCardAfter(after)));
        assert_eq!(e, Error::Transport(TransportError::CardRemoved), "after {after}");
    }
}

#[test]
fn card_reset_mid_read_drops_the_session() {
    let e = read_err(card().with_fault(Fault::ResetAfter(9)));
    assert_eq!(e, Error::Transport(TransportError::CardReset));
    assert_eq!(e.code(), "transport_card_reset");
}

#[test]
fn unknown_and_unsupported_card_types() {
    let cases: &[(&[u8], &str)] = &[
        (&[0xC1, 0x01, b'9'], "unknown_card_type"),
        (&[0xC1, 0x02, b'0', b'7'], "unsupported_card_type"),
        (&[0xC1, 0x02, b'0', b'8'], "unsupported_card_type"),
    ];
    for (ef02, code) in cases {
        let mut issued = IssuedCard::issue(&IssueOptions::default());
        issued.set_file(zairyu::layout::Df::Mf, 0x0A, ef02.to_vec());
        let (r, c) = read_with(SimCard::new(issued), &number(), &sim_trust());
        let e = r.unwrap_err();
        assert_eq!(e.code(), *code, "{ef02:02X?}");
        // Refused before any authentication attempt.
        assert_eq!(c.metrics().apdus, 3);
    }
}

#[test]
fn short_apdu_only_reader_falls_back_and_says_so() {
    for opts in
        [IssueOptions::default(), IssueOptions { card_type: CardType::Gen2ResidenceCard, ..IssueOptions::default() }]
    {
        let card = SimCard::new(IssuedCard::issue(&opts)).with_fault(Fault::ShortApdusOnly);
        let (r, c) = read_with(card, &opts.card_number, &sim_trust());
        let r = r.unwrap();
        assert_eq!(r.verification.signature, zairyu::verify::SignatureStatus::Valid);
        assert_eq!(r.link.extended_length, Some(false));
        assert!(r.link.fallbacks.contains(&"short_plain_chunked"));
        assert!(r.link.fallbacks.contains(&"sm_short_chunked"), "{:?}", r.link);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.code == zairyu::warning::WarningCode::ShortApduFallback
                    && w.message.contains("extended APDUs"))
        );
        // No extended command ever left the host.
        assert!(c.transport().trace().iter().all(|t| t.lc <= 255));
        let json = zairyu::report::Report::from_read(&r).to_json_pretty();
        assert!(json.contains("\"sm_short_chunked\""));
    }
    // Second-generation small files fit a short answer whole.
    let opts = IssueOptions { card_type: CardType::Gen2ResidenceCard, ..IssueOptions::default() };
    let r = read_with(
        SimCard::new(IssuedCard::issue(&opts)).with_fault(Fault::ShortApdusOnly),
        &opts.card_number,
        &sim_trust(),
    )
    .0
    .unwrap();
    // The MF files are read header first (short plain reads), then DF1/EF01 whole.
    assert_eq!(r.link.fallbacks[..2], ["short_plain_chunked", "sm_short_whole"]);
}

#[test]
fn extended_length_is_learnt_from_a_67_00_answer() {
    // A transport that claims extended support but whose reader answers 67 00 to
    // extended commands: the first MF read teaches the session to fall back.
    let card = card().with_fault(Fault::ShortApdusOnly);
    let claims_full = Rewrite { inner: card, f: |_: &[u8], r: Vec<u8>| r };
    struct Claim<T>(T);
    impl<T: zairyu::transport::Transport> zairyu::transport::Transport for Claim<T> {
        fn transmit(&mut self, c: &[u8]) -> Result<Vec<u8>, TransportError> {
            self.0.transmit(c)
        }
        fn limits(&self) -> zairyu::transport::Limits {
            zairyu::transport::Limits::FULL
        }
    }
    let number = zairyu::CardNumber::parse(&number()).unwrap();
    let mut c = zairyu::session::Card::new(Claim(claims_full));
    let r =
        zairyu::sequence::read_card(&mut c, &number, &sim_trust(), &mut zairyu::auth::OsRandom, &Default::default())
            .unwrap();
    assert_eq!(r.link.extended_length, Some(false));
    assert_eq!(r.verification.signature, zairyu::verify::SignatureStatus::Valid);
}

#[test]
fn short_apdu_only_reader_whose_card_refuses_chunks_gives_a_clear_error() {
    // Offset reads in the first 256 bytes have P1 = 00: the card refuses them.
    let card = card().with_fault(Fault::ShortApdusOnly).with_fault(Fault::StatusWord {
        ins: 0xB0,
        p1: Some(0x00),
        sw: [0x6A, 0x86],
    });
    let e = read_err(card);
    assert_eq!(e, Error::Transport(TransportError::ExtendedLengthUnsupported));
    assert_eq!(e.to_string(), "reader cannot carry extended APDUs");
}

#[test]
fn bad_card_number_input() {
    let e = zairyu::CardNumber::parse("AB1234").unwrap_err();
    assert_eq!(Error::from(e).code(), "input_bad_card_number");
}
