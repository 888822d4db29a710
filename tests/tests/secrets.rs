//! Secrets never reach Debug output or logs.

use std::sync::Mutex;

use zairyu_sim::{IssueOptions, IssuedCard, SimCard, SimRandomness};
use zairyu_tests::{read_with, sim_trust};

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

#[test]
fn logs_and_debug_output_hold_no_secrets() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let number = "AA12345678BB";
    let opts =
        IssueOptions { card_number: number.into(), randomness: SimRandomness::Annex2, ..IssueOptions::default() };
    let card = SimCard::new(IssuedCard::issue(&opts));
    let (r, c) = read_with(card, number, &sim_trust());
    let r = r.unwrap();
    let lines = LOGGER.0.lock().unwrap().clone();
    assert!(lines.len() >= 32, "expected a line per command and response, got {}", lines.len());
    let debug = format!("{r:?} {c:?}");
    let forbidden = [
        number.to_owned(),
        hex::encode_upper(number.as_bytes()),
        hex::encode(number.as_bytes()),
        // Kenc = SHA-1(number)[0..16) of the Annex-2 number.
        "6522B4E171195BB218223A976C040111".to_owned(),
        "6522b4e171195bb218223a976c040111".to_owned(),
    ];
    for f in &forbidden {
        for l in &lines {
            assert!(!l.contains(f.as_str()), "log line leaks a secret: {l}");
            assert!(!l.replace(' ', "").contains(f.as_str()), "log line leaks a secret: {l}");
        }
        assert!(!debug.contains(f.as_str()), "Debug output leaks a secret");
    }
    // Headers and status words are there.
    assert!(lines.iter().any(|l| l.contains("08 20 00 86")));
    assert!(lines.iter().any(|l| l.contains("sw=9000")));
}
