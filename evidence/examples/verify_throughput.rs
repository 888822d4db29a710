//! Throughput of offline re-verification (`verify_evidence`): evidence files of a
//! simulated first-generation (type 1) and second-generation (type 05) card, each
//! signed by a station key, verified over and over on N threads.
//!
//! ```sh
//! cargo run --release -p zairyu-evidence --example verify_throughput -- [--jobs N] [--seconds S] [--unsigned]
//! ```
//!
//! Goal (issue 14): at least 2,000 first-generation and 500 second-generation files
//! per second per core, scaling across cores. Prints figures; asserts nothing.

use std::time::{Duration, Instant};

use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::files::CardType;
use zairyu::sequence::{ReadOptions, read_card};
use zairyu::session::Card;
use zairyu_evidence::{EvidenceOptions, StationKey, evidence_json, verify_evidence};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

fn evidence(card_type: CardType, key: Option<&StationKey>) -> Vec<u8> {
    let issued = IssuedCard::try_issue(&IssueOptions {
        card_type,
        card_number: "AB12345678CD".into(),
        ..IssueOptions::default()
    })
    .expect("issue");
    let number = CardNumber::parse("AB12345678CD").expect("number");
    let trust = zairyu_sim::test_trust_store();
    let read = read_card(&mut Card::new(SimCard::new(issued)), &number, &trust, &mut OsRandom, &ReadOptions::default())
        .expect("read");
    evidence_json(&read, &EvidenceOptions { station_key: key, ..EvidenceOptions::default() })
}

/// Files per second over `seconds` on `jobs` threads.
fn measure(bytes: &[u8], jobs: usize, seconds: f64) -> f64 {
    let trust = zairyu_sim::test_trust_store();
    let deadline = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                let trust = &trust;
                s.spawn(move || {
                    let mut n = 0u64;
                    while start.elapsed() < deadline {
                        let v = verify_evidence(bytes, trust);
                        assert!(v.accepted(), "evidence rejected");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let mut jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut seconds = 3.0;
    let mut signed = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--jobs" => jobs = args.next().and_then(|v| v.parse().ok()).filter(|&n| n > 0).expect("--jobs N"),
            "--unsigned" => signed = false,
            "--seconds" => seconds = args.next().and_then(|v| v.parse().ok()).expect("--seconds S"),
            other => panic!("unknown argument {other}; use --jobs N, --seconds S, --unsigned"),
        }
    }
    let key = {
        use p256::pkcs8::EncodePrivateKey;
        let k = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("key");
        StationKey::from_pkcs8_der(k.to_pkcs8_der().expect("pkcs8").as_bytes()).expect("station key")
    };
    let station = if signed { "station-signed" } else { "unsigned" };
    println!("verify_evidence throughput ({seconds} s per figure, {station} evidence)");
    println!("{:<22} {:>6} {:>12} {:>16} {:>8}", "card", "jobs", "files/s", "files/s per job", "goal");
    for (name, t, goal) in [
        ("type 1 (first gen.)", CardType::ResidenceCard, 2000.0),
        ("type 05 (second gen.)", CardType::Gen2ResidenceCard, 500.0),
    ] {
        let bytes = evidence(t, signed.then_some(&key));
        let mut counts = vec![1];
        if jobs > 1 {
            counts.push(jobs);
        }
        for j in counts {
            let rate = measure(&bytes, j, seconds);
            let per = rate / j as f64;
            let met = if per >= goal { "met" } else { "MISSED" };
            println!("{name:<22} {j:>6} {rate:>12.0} {per:>16.0} {goal:>6.0} {met}   ({} bytes)", bytes.len());
        }
    }
}
