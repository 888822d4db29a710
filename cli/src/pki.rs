//! `zairyu pki init`: a TEST write PKI on disk (`zairyu_sim::write_pki`), for
//! `zairyu sim serve --write-pki` and the in-process write authority.
//!
//! Besides the PKI files, the directory gets a test counter policy
//! ([`POLICY_FILE`], the authority's `policy.toml`) that lets the counter identity
//! [`TEST_COUNTER`] write for every municipality, so the directory is a working
//! `write-address --authority-dir` at once.

use std::io::Write;
use std::path::Path;

use zairyu::error::InputError;
use zairyu_authority_core::layout;
use zairyu_sim::write_pki::{PkiError, WritePki};

use crate::error::CliError;
use crate::exit;

/// The counter identity the test policy allows (the default of `write-address
/// --counter-id`).
pub const TEST_COUNTER: &str = "test-counter";

/// The policy file `pki init` writes (the authority's `policy.toml`).
pub const POLICY_FILE: &str = layout::POLICY_TOML;

/// The test policy: [`TEST_COUNTER`] may write for every municipality code.
pub fn test_policy() -> String {
    format!(
        "# TEST counter policy of zairyu's in-process write authority, made by `zairyu pki init`.\n\
         # Never for a real card. Format: authority/src/policy.rs.\n\
         version = 1\n\
         \n\
         [[counter]]\n\
         id = \"{TEST_COUNTER}\"\n\
         municipalities = [\"*\"]\n"
    )
}

/// A PKI failure as the CLI reports it.
pub fn error(e: PkiError) -> CliError {
    match e {
        PkiError::Io { path, message } => CliError::Output { path, source: std::io::Error::other(message) },
        e => CliError::Core(InputError::BadFile { path: "write PKI".into(), reason: e.to_string() }.into()),
    }
}

/// Writes the test policy into `dir`; never overwrites.
fn write_policy(dir: &Path) -> Result<(), CliError> {
    let path = dir.join(POLICY_FILE);
    let mut f =
        std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| CliError::output(&path, e))?;
    f.write_all(test_policy().as_bytes()).and_then(|()| f.sync_all()).map_err(|e| CliError::output(&path, e))
}

/// Makes the PKI and the test policy in `out` and says what it wrote.
pub fn init(out: &Path) -> Result<u8, CliError> {
    let policy = out.join(POLICY_FILE);
    if policy.exists() {
        return Err(error(PkiError::Exists(policy)));
    }
    let pki = WritePki::generate(out).map_err(error)?;
    write_policy(out)?;
    let t = pki.terminal.body();
    outln!("TEST write PKI written to {} (test keys: never for a real card)", out.display())?;
    outln!("  write CVCA       {} (cards trust it)", pki.cvca.chr())?;
    outln!("  DV               {}", pki.dv.chr())?;
    outln!("  terminal         {} (write right), valid {} to {}", pki.terminal.chr(), t.effective, t.expiry)?;
    outln!("  issuer root      {}", pki.issuer_root.chr())?;
    outln!("  document signer  {} (signs EF.ChipAuthInfo)", pki.document_signer.chr())?;
    outln!("  {POLICY_FILE}      counter {TEST_COUNTER:?} may write for every municipality")?;
    outln!("The directory is an --authority-dir for `zairyu write-address` and a --write-pki for `zairyu sim serve`.")?;
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zairyu_authority_core::Policy;

    #[test]
    fn the_test_policy_lets_the_test_counter_write_everywhere_and_no_one_else() {
        let p = Policy::from_toml(&test_policy()).unwrap();
        assert_eq!(p.check(TEST_COUNTER, "131016"), Ok(()));
        assert_eq!(p.check(TEST_COUNTER, "271276"), Ok(()));
        assert_eq!(p.check("another-counter", "131016").unwrap_err().code(), "policy_unknown_counter");
    }
}
