//! Secrets never reach Debug output or logs: the card number, Kenc, K.IFD, K.ICC and
//! KSenc, in every encoding a log line could use, for both generations, on the
//! success path, on the error path of a wrong number and on the short-APDU
//! fallbacks. The session keys are learnt by decrypting MUTUAL AUTHENTICATE as an
//! eavesdropper who knows the number would (`zairyu_sim::eavesdrop`).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Mutex;

use zairyu::files::CardType;
use zairyu::session::Card;
use zairyu_sim::eavesdrop::session_keys;
use zairyu_sim::{Fault, IssueOptions, IssuedCard, SimCard, SimRandomness};
use zairyu_tests::{Rewrite, sim_trust};

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push(format!("{} {}", record.target(), record.args()));
    }
    fn flush(&self) {}
}

static LOGGER: Capture = Capture(Mutex::new(Vec::new()));

/// Every way a log line or a Debug string could spell `secret`.
fn spellings(secret: &[u8]) -> Vec<String> {
    let upper = hex::encode_upper(secret);
    let spaced = secret.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ");
    let mut out = vec![upper.clone(), upper.to_lowercase(), spaced.clone(), spaced.to_lowercase()];
    if secret.iter().all(u8::is_ascii_graphic) {
        out.push(String::from_utf8(secret.to_vec()).unwrap());
    }
    // A run long enough to identify the key, in case a line shows a part of it.
    out.push(upper[..20].to_owned());
    out
}

struct Case {
    name: &'static str,
    card_type: CardType,
    typed: &'static str,
    fault: Option<Fault>,
    succeeds: bool,
}

/// Reads `case`, returns the log lines, the Debug output of the result and the card,
/// and the secrets of the session.
fn run(case: &Case) -> (Vec<String>, String, Vec<Vec<u8>>) {
    let number = "AA12345678BB";
    LOGGER.0.lock().unwrap().clear();
    let opts = IssueOptions {
        card_type: case.card_type,
        card_number: number.into(),
        randomness: SimRandomness::Annex2,
        ..IssueOptions::default()
    };
    let mut sim = SimCard::new(IssuedCard::issue(&opts));
    if let Some(f) = case.fault.clone() {
        sim = sim.with_fault(f);
    }
    let learnt = Rc::new(RefCell::new(Vec::new()));
    let seen = learnt.clone();
    let generation = case.card_type.generation();
    let typed = case.typed.as_bytes().to_vec();
    let transport = Rewrite {
        inner: sim,
        f: move |cmd: &[u8], resp: Vec<u8>| {
            if let Some(k) = session_keys(&typed, generation, cmd, &resp) {
                let mut s = seen.borrow_mut();
                s.push(k.k_ifd.to_vec());
                s.push(k.k_icc.to_vec());
                s.push(k.ks_enc.expose().to_vec());
            }
            resp
        },
    };
    let mut card = Card::new(transport);
    let typed_number = zairyu::CardNumber::parse(case.typed).unwrap();
    let r = zairyu::sequence::read_card(
        &mut card,
        &typed_number,
        &sim_trust(),
        &mut zairyu::auth::OsRandom,
        &zairyu::sequence::ReadOptions::default(),
    );
    assert_eq!(r.is_ok(), case.succeeds, "{}: {:?}", case.name, r.as_ref().err());
    let debug = format!("{r:?} {:?} {typed_number:?}", card.link_report());
    let mut secrets = vec![
        number.as_bytes().to_vec(),
        case.typed.as_bytes().to_vec(),
        zairyu::crypto::derive_base_key(number.as_bytes()).expose().to_vec(),
        zairyu::crypto::derive_base_key(case.typed.as_bytes()).expose().to_vec(),
    ];
    secrets.extend(learnt.borrow().iter().cloned());
    if case.succeeds {
        assert_eq!(secrets.len(), 7, "{}: the session keys were learnt", case.name);
    }
    (LOGGER.0.lock().unwrap().clone(), debug, secrets)
}

#[test]
fn logs_and_debug_output_hold_no_secrets() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let cases = [
        Case { name: "gen1", card_type: CardType::ResidenceCard, typed: "AA12345678BB", fault: None, succeeds: true },
        Case {
            name: "gen2",
            card_type: CardType::Gen2ResidenceCard,
            typed: "AA12345678BB",
            fault: None,
            succeeds: true,
        },
        Case {
            name: "gen1 wrong number",
            card_type: CardType::ResidenceCard,
            typed: "ZZ87654321YY",
            fault: None,
            succeeds: false,
        },
        Case {
            name: "gen2 wrong number",
            card_type: CardType::Gen2SpecialPermanentResident,
            typed: "ZZ87654321YY",
            fault: None,
            succeeds: false,
        },
        Case {
            name: "gen1 short APDUs",
            card_type: CardType::SpecialPermanentResident,
            typed: "AA12345678BB",
            fault: Some(Fault::ShortApdusOnly),
            succeeds: true,
        },
        Case {
            name: "gen2 short APDUs",
            card_type: CardType::Gen2ResidenceCard,
            typed: "AA12345678BB",
            fault: Some(Fault::ShortApdusOnly),
            succeeds: true,
        },
    ];
    for case in &cases {
        let (lines, debug, secrets) = run(case);
        assert!(
            lines.len() >= if case.succeeds { 16 } else { 8 },
            "{}: expected a line per command and response, got {}",
            case.name,
            lines.len()
        );
        for secret in &secrets {
            for f in spellings(secret) {
                for l in &lines {
                    assert!(!l.contains(&f), "{}: log line leaks a secret: {l}", case.name);
                    assert!(!l.replace(' ', "").contains(&f), "{}: log line leaks a secret: {l}", case.name);
                }
                assert!(!debug.contains(&f), "{}: Debug output leaks a secret", case.name);
            }
        }
        // Headers and status words are there.
        assert!(lines.iter().any(|l| l.contains("sw=9000")), "{}", case.name);
    }
}
