//! `zairyu pki init`: a TEST write PKI on disk (`zairyu_sim::write_pki`), for
//! `zairyu sim serve --write-pki` and the in-process write authority.

use std::path::Path;

use zairyu::error::InputError;
use zairyu_sim::write_pki::{PkiError, WritePki};

use crate::error::CliError;
use crate::exit;

/// A PKI failure as the CLI reports it.
pub fn error(e: PkiError) -> CliError {
    match e {
        PkiError::Io { path, message } => CliError::Output { path, source: std::io::Error::other(message) },
        e => CliError::Core(InputError::BadFile { path: "write PKI".into(), reason: e.to_string() }.into()),
    }
}

/// Makes the PKI in `out` and says what it wrote.
pub fn init(out: &Path) -> Result<u8, CliError> {
    let pki = WritePki::generate(out).map_err(error)?;
    let t = pki.terminal.body();
    outln!("TEST write PKI written to {} (test keys: never for a real card)", out.display())?;
    outln!("  write CVCA       {} (cards trust it)", pki.cvca.chr())?;
    outln!("  DV               {}", pki.dv.chr())?;
    outln!("  terminal         {} (write right), valid {} to {}", pki.terminal.chr(), t.effective, t.expiry)?;
    outln!("  issuer root      {}", pki.issuer_root.chr())?;
    outln!("  document signer  {} (signs EF.ChipAuthInfo)", pki.document_signer.chr())?;
    Ok(exit::OK)
}
