//! The authority directory: the files [`crate::InProcessAuthority::from_dir`] reads.
//!
//! | file | content | required |
//! |---|---|---|
//! | [`CVCA`] `test-cvca.cvcert` | the write CVCA's self-signed CV certificate (DER, `7F21 …`): the trust anchor the cards hold | yes |
//! | [`DV`] `test-dv.cvcert` | the document verifier's CV certificate, issued by the CVCA | if the chain has a DV |
//! | [`TERMINAL`] `test-terminal.cvcert` | the terminal's CV certificate (with the write right), issued by the DV or the CVCA | yes |
//! | [`TERMINAL_KEY`] `test-terminal.key.p8` | the terminal's P-256 private key, PKCS#8, DER or PEM (`PRIVATE KEY`, told apart by content); mode `0600` or stricter on unix | yes |
//! | [`ISSUER_ROOT`] `test-issuer-root.cvcert` | the write-issuer root's self-signed CV certificate, which EF.ChipAuthInfo's document signer chains to | yes |
//! | [`POLICY_TOML`] `policy.toml` or [`POLICY_JSON`] `policy.json` | the counter policy ([`crate::policy`]) | one of them |
//! | [`AUDIT_SQLITE`] `audit.sqlite3` | the audit log in SQLite, used when the file exists | — |
//! | [`AUDIT_JSONL`] `audit.jsonl` | the audit log as JSON lines, created when no SQLite log exists | — |
//!
//! The certificate and key names are those of the test write PKI that `zairyu pki init`
//! writes (`zairyu_sim::write_pki`), so its directory, with a `policy.toml` added, is an
//! authority directory; the other PKI files there (the CVCA's, DV's and issuers' keys,
//! the document signer) are not read. A production authority keeps its key in an HSM
//! (issue 13).

/// The write CVCA's self-signed certificate.
pub const CVCA: &str = "test-cvca.cvcert";
/// The DV certificate (optional: a chain may go CVCA → terminal directly).
pub const DV: &str = "test-dv.cvcert";
/// The terminal certificate.
pub const TERMINAL: &str = "test-terminal.cvcert";
/// The terminal key, PKCS#8 (DER or PEM).
pub const TERMINAL_KEY: &str = "test-terminal.key.p8";
/// The write-issuer root's self-signed certificate.
pub const ISSUER_ROOT: &str = "test-issuer-root.cvcert";
/// The policy, TOML.
pub const POLICY_TOML: &str = "policy.toml";
/// The policy, JSON (read when the TOML file does not exist).
pub const POLICY_JSON: &str = "policy.json";
/// The SQLite audit log (chosen when it exists).
pub const AUDIT_SQLITE: &str = "audit.sqlite3";
/// The JSON-lines audit log (the default).
pub const AUDIT_JSONL: &str = "audit.jsonl";
