//! `zairyu sim serve`: a simulated card as the card in a vpcd slot of the real
//! pcscd (vsmartcard's virtual reader). Needs no PC/SC library: it speaks vpcd's
//! TCP protocol.
//!
//! With `--write-pki DIR` the card carries the address-write application trusting
//! that test PKI; with `--state FILE` its memory (files, card date, a pending
//! commit) is loaded from FILE at start and saved atomically after every change, so
//! a written address survives power cycles and restarts. A missing (without
//! `--init-state`), corrupt or foreign state file is an error, never a fresh card.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use zairyu::error::{InputError, TransportError};
use zairyu_sim::state::{self, StateError};
use zairyu_sim::vpcd::{ServeOptions, serve_with};
use zairyu_sim::write_pki::WritePki;
use zairyu_sim::{IssueOptions, IssuedCard, SimCard, SimRandomness};

use crate::args::ServeArgs;
use crate::error::CliError;
use crate::exit;

fn state_error(path: &Path, e: StateError) -> CliError {
    let reason = match e {
        StateError::Missing(_) => {
            "does not exist; give --init-state to issue a new card and create it (or check the path)".to_owned()
        }
        e => e.to_string(),
    };
    CliError::Core(InputError::BadFile { path: path.display().to_string(), reason }.into())
}

/// Serves until the process is ended (SIGINT/SIGTERM).
pub fn run(args: ServeArgs) -> Result<u8, CliError> {
    let write = match &args.write_pki {
        Some(dir) => Some(WritePki::load(dir).map_err(crate::pki::error)?.write_issue()),
        None => None,
    };
    let has_write = write.is_some();
    let mut issued = crate::read::issue(&IssueOptions {
        card_type: args.card_type,
        card_number: args.card_number,
        under_16: args.under_16,
        pki: args.pki.into(),
        // A write card's challenges must never repeat, not even after a restart.
        randomness: if has_write { SimRandomness::Os } else { IssueOptions::default().randomness },
        write,
        tamper_front_image: args.tamper == Some(crate::args::TamperKind::FrontImage),
        tamper_printed_entries: args.tamper == Some(crate::args::TamperKind::PrintedEntries),
        ..IssueOptions::default()
    })?;
    if args.tamper == Some(crate::args::TamperKind::SpecifiedCardType) {
        // MF/EF02 as a specified card would hold it: `C1 02 "07"`.
        let ef02 = zairyu::layout::gen2::MF_EF02;
        issued.set_file(ef02.df, ef02.sfi, vec![0xC1, 0x02, b'0', b'7']);
    }
    if let Some(path) = &args.state {
        if args.init_state {
            if path.exists() {
                let reason = "exists; --init-state never overwrites a card's state (drop --init-state to load it)";
                return Err(CliError::Core(
                    InputError::BadFile { path: path.display().to_string(), reason: reason.into() }.into(),
                ));
            }
            state::save(path, &issued).map_err(|e| state_error(path, e))?;
            eprintln!("zairyu sim serve: new card, state in {}", path.display());
        } else {
            issued = state::load(path, issued).map_err(|e| state_error(path, e))?;
            eprintln!("zairyu sim serve: card memory loaded from {}", path.display());
        }
    }
    let opts = ServeOptions {
        host: args.vpcd_host,
        port: args.vpcd_port,
        link: args.link,
        link_model: args.link_model,
        short_apdus_only: args.short_apdus_only,
        faults: args.fault,
        ..ServeOptions::default()
    };
    if let Some(kind) = args.tamper {
        eprintln!("zairyu sim serve: TAMPERED card ({kind:?}): a reader must not accept it");
    }
    eprintln!(
        "zairyu sim serve: card type {} on vpcd {}:{}{}{}{} (synthetic card, {} PKI; Ctrl-C to stop)",
        args.card_type,
        opts.host,
        opts.port,
        opts.link.map(|l| format!(", link {l}")).unwrap_or_default(),
        if opts.short_apdus_only { ", short APDUs only" } else { "" },
        if has_write { ", write application (TEST write PKI)" } else { "" },
        match args.pki {
            crate::args::SimPkiArg::Test => "test",
            crate::args::SimPkiArg::SyntheticProduction => "synthetic production",
        }
    );
    // The latest memory: a card presented again (a drop-after fault) starts from it.
    let latest = Arc::new(Mutex::new(issued));
    let fresh = {
        let latest = Arc::clone(&latest);
        move || SimCard::new(latest.lock().map(|c| c.clone()).unwrap_or_else(|p| p.into_inner().clone()))
    };
    let state_path = args.state.clone();
    let mut on_change = |card: &SimCard| {
        let snapshot: IssuedCard = card.issued().clone();
        if let Some(path) = &state_path
            && let Err(e) = state::save(path, &snapshot)
        {
            log::error!("sim serve: saving the state failed: {e}");
            eprintln!("zairyu sim serve: saving the state failed: {e}");
        }
        if let Ok(mut l) = latest.lock() {
            *l = snapshot;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stats =
        serve_with(fresh, &opts, &stop, &mut on_change).map_err(|e| TransportError::Other(format!("vpcd: {e}")))?;
    eprintln!(
        "served {} APDUs ({} bytes in, {} bytes out), {} reconnects",
        stats.apdus, stats.bytes_in, stats.bytes_out, stats.reconnects
    );
    Ok(exit::OK)
}
