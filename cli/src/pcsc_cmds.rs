//! Commands on real PC/SC readers (feature `pcsc`): `readers`, `doctor`, and the
//! simulated card on vpcd that the benchmark through pcscd reads. (`read --reader` is
//! in `read.rs`, `watch` in `watch.rs`.)

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zairyu::Error;
use zairyu::sequence::read_card_type;
use zairyu::session::Card;
use zairyu_pcsc::{PcscCard, list_readers, wait_for_card};

use crate::error::CliError;

/// `zairyu readers`.
pub fn readers(json: bool) -> Result<u8, CliError> {
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
        outln!("{:#}", serde_json::Value::Array(v))?;
    } else if list.is_empty() {
        outln!("no readers (is pcscd running, and a reader connected?)")?;
    } else {
        for r in &list {
            let card = match (&r.card_present, &r.atr) {
                (true, Some(atr)) => format!("card present, ATR {}", hex::encode_upper(atr)),
                (true, None) => "card present".to_owned(),
                (false, _) => "no card".to_owned(),
            };
            outln!("{}\t{card}", r.name)?;
        }
    }
    Ok(0)
}

/// `zairyu doctor`: a redacted capability report per reader.
pub fn doctor(only: Option<&str>, json: bool) -> Result<u8, CliError> {
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
        outln!("{:#}", serde_json::Value::Array(reports.clone()))?;
    } else {
        if reports.is_empty() {
            outln!("no readers (is pcscd running, and a reader connected?)")?;
        }
        for r in &reports {
            for (k, v) in r.as_object().expect("object") {
                outln!("{k:<22}: {}", v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))?;
            }
            outln!()?;
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
    // What the reader says it can carry, asked before the first read.
    let caps = pcsc.capabilities();
    let known = |v: Option<u32>| v.map_or(serde_json::Value::from("unknown"), serde_json::Value::from);
    out["max_input"] = known(caps.max_input);
    out["max_apdu_data_size"] = known(caps.max_apdu_data_size);
    if pcsc.protocol() == "T=0" {
        out["atr_extended_length"] = caps.atr_extended_length.map_or("unknown".to_owned(), |b| b.to_string()).into();
    }
    let limits = zairyu::transport::Transport::limits(&pcsc);
    out["link_extended_length"] = limits.extended_length.into();
    out["link_max_command"] = limits.max_command.into();
    out["link_max_response"] = limits.max_response.into();
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
    out["fallbacks"] = card.link_report().fallbacks.join(", ").into();
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

/// Serves the simulated card on vpcd in a thread, waits (up to 10 s) until `reader`
/// shows it, runs `f`, stops serving and waits (up to 5 s) until `reader` no longer
/// shows the card. A card that never shows is [`TransportError::CardRemoved`].
///
/// [`TransportError::CardRemoved`]: zairyu::error::TransportError::CardRemoved
pub fn with_served_card<R>(
    reader: &str,
    issue: &zairyu_sim::IssueOptions,
    opts: zairyu_sim::vpcd::ServeOptions,
    f: impl FnOnce() -> Result<R, Error>,
) -> Result<R, Error> {
    let stop = Arc::new(AtomicBool::new(false));
    let issued = crate::read::issue(issue)?;
    let s = stop.clone();
    let handle =
        std::thread::spawn(move || zairyu_sim::vpcd::serve(|| zairyu_sim::SimCard::new(issued.clone()), &opts, &s));
    let r = match wait_for_card(reader, true, Duration::from_secs(10)) {
        Ok(true) => f(),
        Ok(false) => Err(zairyu::error::TransportError::CardRemoved.into()),
        Err(e) => Err(e.into()),
    };
    stop.store(true, Ordering::SeqCst);
    let _ = handle.join();
    let _ = wait_for_card(reader, false, Duration::from_secs(5));
    r
}
