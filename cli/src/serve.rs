//! `zairyu sim serve`: a simulated card as the card in a vpcd slot of the real
//! pcscd (vsmartcard's virtual reader). Needs no PC/SC library: it speaks vpcd's
//! TCP protocol.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use zairyu::error::TransportError;
use zairyu_sim::vpcd::{ServeOptions, serve};
use zairyu_sim::{IssueOptions, SimCard};

use crate::args::ServeArgs;
use crate::error::CliError;
use crate::exit;

/// Serves until the process is ended (SIGINT/SIGTERM).
pub fn run(args: ServeArgs) -> Result<u8, CliError> {
    let issued = crate::read::issue(&IssueOptions {
        card_type: args.card_type,
        card_number: args.card_number,
        under_16: args.under_16,
        pki: args.pki.into(),
        ..IssueOptions::default()
    })?;
    let opts = ServeOptions {
        host: args.vpcd_host,
        port: args.vpcd_port,
        link: args.link,
        link_model: args.link_model,
        short_apdus_only: args.short_apdus_only,
        faults: args.fault,
        ..ServeOptions::default()
    };
    eprintln!(
        "zairyu sim serve: card type {} on vpcd {}:{}{}{} (synthetic card, {} PKI; Ctrl-C to stop)",
        args.card_type,
        opts.host,
        opts.port,
        opts.link.map(|l| format!(", link {l}")).unwrap_or_default(),
        if opts.short_apdus_only { ", short APDUs only" } else { "" },
        match args.pki {
            crate::args::SimPkiArg::Test => "test",
            crate::args::SimPkiArg::SyntheticProduction => "synthetic production",
        }
    );
    let stop = Arc::new(AtomicBool::new(false));
    let stats = serve(|| SimCard::new(issued.clone()), &opts, &stop)
        .map_err(|e| TransportError::Other(format!("vpcd: {e}")))?;
    eprintln!(
        "served {} APDUs ({} bytes in, {} bytes out), {} reconnects",
        stats.apdus, stats.bytes_in, stats.bytes_out, stats.reconnects
    );
    Ok(exit::OK)
}
