//! `zairyu sim serve`: a simulated card as the card in a vpcd slot of the real
//! pcscd (vsmartcard's virtual reader). Needs no PC/SC library: it speaks vpcd's
//! TCP protocol.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use zairyu::Error;
use zairyu_sim::vpcd::{ServeFault, ServeOptions, serve};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

/// Parses a `--fault` value: `drop-after:N`, `drop-mid-response:N`, `corrupt:APDU:INDEX`.
pub fn parse_fault(s: &str) -> Result<ServeFault, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |x: &str| x.parse::<usize>().map_err(|_| format!("{x:?} is not a number"));
    match parts.as_slice() {
        ["drop-after", n] => Ok(ServeFault::DropAfter(num(n)?)),
        ["drop-mid-response", n] => Ok(ServeFault::DropMidResponse(num(n)?)),
        ["corrupt", a, i] => Ok(ServeFault::CorruptByte { apdu: num(a)?, index: num(i)? }),
        _ => Err(format!("unknown fault {s:?}: expected drop-after:N, drop-mid-response:N or corrupt:APDU:INDEX")),
    }
}

/// Runs until SIGINT/SIGTERM closes the process (or `stop` is set by a caller).
pub fn run(issue: IssueOptions, opts: ServeOptions, stop: Arc<AtomicBool>) -> Result<u8, Error> {
    let issued = IssuedCard::try_issue(&issue).map_err(|e| {
        Error::Input(zairyu::error::InputError::BadFile {
            path: "simulated card options".into(),
            reason: e.to_string(),
        })
    })?;
    eprintln!(
        "zairyu sim serve: card type {} on vpcd {}:{}{}{} (synthetic card, test CA; Ctrl-C to stop)",
        issue.card_type.code(),
        opts.host,
        opts.port,
        opts.link.map(|l| format!(", link {l}")).unwrap_or_default(),
        if opts.short_apdus_only { ", short APDUs only" } else { "" }
    );
    let stats = serve(|| SimCard::new(issued.clone()), &opts, &stop)
        .map_err(|e| Error::Transport(zairyu::error::TransportError::Other(format!("vpcd: {e}"))))?;
    stop.store(true, Ordering::SeqCst);
    eprintln!(
        "served {} APDUs ({} bytes in, {} bytes out), {} reconnects",
        stats.apdus, stats.bytes_in, stats.bytes_out, stats.reconnects
    );
    Ok(0)
}
