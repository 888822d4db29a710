//! Runs a simulated residence card as a vpcd virtual card, for manual checks
//! against a real pcscd (with vsmartcard's vpcd driver):
//!
//! ```text
//! pcscd
//! cargo run -p zairyu-sim --example serve -- [--port 35963] [--link 106k] [--short]
//!     [--gen2] [--pad-read N] [--drop-after N] [--drop-mid N] [--no-quickack] [--seconds S]
//! pcsc_scan -n                                     # "Virtual PCD 00 00": the ATR
//! echo "00 A4 00 00 02 3F 00" | scriptor -r "Virtual PCD 00 00"
//! ```
//!
//! `--pad-read N` makes every READ BINARY answer N garbage bytes more (to try
//! large responses without authentication); `--drop-after N` and `--drop-mid N`
//! inject the link faults [`ServeFault::DropAfter`] and
//! [`ServeFault::DropMidResponse`]. Logs go to stderr (`RUST_LOG=debug`
//! shows headers and status words). Stops after `--seconds` (default: never).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use zairyu::files::CardType;
use zairyu_sim::vpcd::{ServeFault, ServeOptions, serve};
use zairyu_sim::{Fault, IssueOptions, IssuedCard, SimCard};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut opts = ServeOptions::default();
    let mut issue = IssueOptions::default();
    let mut pad = 0usize;
    let mut seconds = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match a.as_str() {
            "--host" => opts.host = value(),
            "--port" => opts.port = value().parse().unwrap_or_else(|_| usage("bad port")),
            "--link" => opts.link = Some(value().parse().unwrap_or_else(|e| usage(&format!("{e}")))),
            "--short" => opts.short_apdus_only = true,
            "--gen2" => issue.card_type = CardType::Gen2ResidenceCard,
            "--pad-read" => pad = value().parse().unwrap_or_else(|_| usage("bad --pad-read")),
            "--drop-after" => {
                opts.faults.push(ServeFault::DropAfter(value().parse().unwrap_or_else(|_| usage("bad N"))))
            }
            "--drop-mid" => {
                opts.faults.push(ServeFault::DropMidResponse(value().parse().unwrap_or_else(|_| usage("bad N"))))
            }
            "--no-quickack" => opts.tcp_quickack = false,
            "--seconds" => seconds = Some(value().parse::<u64>().unwrap_or_else(|_| usage("bad --seconds"))),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    let stop = AtomicBool::new(false);
    let stats = std::thread::scope(|s| {
        if let Some(secs) = seconds {
            let stop = &stop;
            s.spawn(move || {
                std::thread::sleep(Duration::from_secs(secs));
                stop.store(true, Ordering::SeqCst);
            });
        }
        let card = || {
            let c = SimCard::new(IssuedCard::issue(&issue));
            if pad > 0 { c.with_fault(Fault::AppendGarbage { ins: 0xB0, p1: None, bytes: pad }) } else { c }
        };
        serve(card, &opts, &stop)
    });
    match stats {
        Ok(st) => eprintln!("{st:?}"),
        Err(e) => {
            eprintln!("serve: {e}");
            std::process::exit(1);
        }
    }
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "{msg}\nusage: serve [--host H] [--port P] [--link 106k|212k|424k|848k] [--short] [--gen2] [--pad-read N] [--drop-after N] [--drop-mid N] [--no-quickack] [--seconds S]"
    );
    std::process::exit(2)
}
