//! Commands on real PC/SC readers (feature `pcsc`): `readers`, `read --reader`,
//! `watch`, `doctor`, and the benchmark through pcscd + vpcd.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zairyu::auth::OsRandom;
use zairyu::sequence::{CardRead, ReadOptions, read_card, read_card_type};
use zairyu::session::Card;
use zairyu::verify::TrustStore;
use zairyu::{CardNumber, Error};
use zairyu_pcsc::{PcscCard, list_readers};

/// `zairyu readers`.
pub fn readers(json: bool) -> Result<u8, Error> {
    let list = list_readers()?;
    if json {
        let v: Vec<_> = list
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "card_present": r.card_present,
                    "atr": r.atr.as_ref().map(hex::encode_upper),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else if list.is_empty() {
        println!("no readers (is pcscd running, and a reader connected?)");
    } else {
        for r in &list {
            let card = match (&r.card_present, &r.atr) {
                (true, Some(atr)) => format!("card present, ATR {}", hex::encode_upper(atr)),
                (true, None) => "card present".to_owned(),
                (false, _) => "no card".to_owned(),
            };
            println!("{}\t{card}", r.name);
        }
    }
    Ok(0)
}

/// `zairyu read --reader NAME`.
pub fn read(reader: &str, number: &str, trust: &TrustStore, opts: &ReadOptions) -> Result<CardRead, Error> {
    let number = CardNumber::parse(number)?;
    let mut card = Card::new(PcscCard::connect(reader)?);
    read_card(&mut card, &number, trust, &mut OsRandom, opts)
}

/// `zairyu watch --reader NAME`: the counter loop on stdin/stdout. Stdin is read on
/// a thread that sets `stop` when it closes, so that closing it ends the loop even
/// while no card is present.
pub fn watch(reader: &str, trust: &TrustStore, opts: &ReadOptions) -> Result<u8, Error> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut input = zairyu_pcsc::watch::LineInput::spawn(std::io::BufReader::new(std::io::stdin()), stop.clone());
    let stdout = std::io::stdout();
    let mut output = stdout.lock();
    zairyu_pcsc::watch::run(reader, trust, opts, &mut input, &mut output, &stop)
        .map_err(|e| Error::Transport(zairyu::error::TransportError::Other(format!("watch: {e}"))))?;
    Ok(0)
}

/// `zairyu doctor`: a redacted capability report per reader.
pub fn doctor(only: Option<&str>, json: bool) -> Result<u8, Error> {
    let list = list_readers()?;
    let mut reports = Vec::new();
    for r in list.iter().filter(|r| only.is_none_or(|n| n == r.name)) {
        reports.push(diagnose(&r.name, r.card_present));
    }
    if let Some(n) = only
        && reports.is_empty()
    {
        return Err(zairyu::error::TransportError::NoSuchReader(n.to_owned()).into());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports).expect("json"));
    } else {
        if reports.is_empty() {
            println!("no readers (is pcscd running, and a reader connected?)");
        }
        for r in &reports {
            for (k, v) in r.as_object().expect("object") {
                println!("{k:<22}: {}", v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));
            }
            println!();
        }
    }
    let _ = std::io::stdout().flush();
    Ok(0)
}

fn diagnose(reader: &str, card_present: bool) -> serde_json::Value {
    let mut out = serde_json::json!({ "reader": reader, "card_present": card_present });
    if !card_present {
        return out;
    }
    let t0 = Instant::now();
    let pcsc = match PcscCard::connect(reader) {
        Ok(c) => c,
        Err(e) => {
            out["error"] = e.to_string().into();
            return out;
        }
    };
    out["connect_ms"] = ms(t0.elapsed()).into();
    out["protocol"] = pcsc.protocol().to_string().into();
    out["atr"] = hex::encode_upper(pcsc.atr()).into();
    let mut card = Card::new(pcsc);
    let t1 = Instant::now();
    match read_card_type(&mut card) {
        Ok((common, card_type, _)) => {
            out["card_type"] = card_type.code().into();
            out["spec_version"] = common.spec_version.into();
        }
        Err(e) => out["card_type_error"] = format!("[{}] {e}", e.code()).into(),
    }
    let m = card.metrics();
    out["extended_length"] = card.link_report().extended_length.map_or("unknown".to_owned(), |b| b.to_string()).into();
    out["mf_reads_apdus"] = m.apdus.into();
    out["mf_reads_ms"] = ms(t1.elapsed()).into();
    // Round trip of a harmless command (SELECT MF), ten times.
    let t2 = Instant::now();
    let mut ok = 0u32;
    for _ in 0..10 {
        if card.select_mf().is_ok() {
            ok += 1;
        }
    }
    if ok > 0 {
        out["select_mf_round_trip_ms"] = (ms(t2.elapsed()) / f64::from(ok)).into();
    }
    out
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Waits until `reader` shows a card, or no card (`present = false`).
pub fn wait_for_card(reader: &str, present: bool, timeout: Duration) -> Result<(), Error> {
    let t0 = Instant::now();
    loop {
        if let Ok(list) = list_readers()
            && list.iter().any(|r| r.name == reader && r.card_present == present)
        {
            return Ok(());
        }
        if t0.elapsed() > timeout {
            return Err(zairyu::error::TransportError::CardRemoved.into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the simulator on vpcd in a thread for the duration of `f`, then waits until
/// `reader` no longer shows the card.
pub fn with_served_card<R>(
    reader: &str,
    issue: &zairyu_sim::IssueOptions,
    opts: zairyu_sim::vpcd::ServeOptions,
    f: impl FnOnce() -> R,
) -> R {
    let stop = Arc::new(AtomicBool::new(false));
    let issued = zairyu_sim::IssuedCard::issue(issue);
    let s = stop.clone();
    let handle =
        std::thread::spawn(move || zairyu_sim::vpcd::serve(|| zairyu_sim::SimCard::new(issued.clone()), &opts, &s));
    let r = f();
    stop.store(true, Ordering::SeqCst);
    let _ = handle.join();
    let _ = wait_for_card(reader, false, Duration::from_secs(5));
    r
}
