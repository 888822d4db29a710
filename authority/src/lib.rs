//! The in-process write authority of zairyu's address write (AWP v1, issue 12 points 2
//! and 3), as a library: the remote service (`zairyu-authority`, issue 13) puts this
//! crate behind HTTPS.
//!
//! The protocol itself — the authority as a sans-I/O state machine, the relay, the
//! certificates — is in the core crate (`zairyu::write`). This crate adds what an
//! authority needs around it:
//!
//! | module | what |
//! |---|---|
//! | [`signer`] | the terminal key behind [`zairyu::write::cvc::Signer`]: a PKCS#8 P-256 key file now ([`signer::KeyFileSigner`]); [`signer::SignerSource`] is where PKCS#11 plugs in |
//! | [`policy`] | which counters may write for which municipality codes; refusals with stable codes |
//! | [`audit`] | the hash-chained audit log behind [`audit::AuditLog`]: a JSON-lines file or SQLite |
//! | [`render`] | the second generation's address image: text → bi-level bitmap → CCITT G4 TIFF ≤ 2,500 bytes |
//! | [`inprocess`] | [`InProcessAuthority`]: an [`zairyu::write::relay::AuthorityLink`] with policy, audit and renderer, loadable from a directory ([`layout`]) |
//! | [`wire`] | the JSON messages of the service's relay API (`/v1`) |
//! | `pkcs11` (feature `pkcs11`) | the terminal key in a PKCS#11 token (`cryptoki`; SoftHSM2 in the tests), non-extractable |
//! | `remote` (feature `remote`) | `RemoteAuthority`: the counter's HTTPS [`zairyu::write::relay::AuthorityLink`] to the service, mutual TLS with rustls |

#![forbid(unsafe_code)]

pub mod audit;
pub mod inprocess;
pub mod layout;
pub mod policy;
pub mod render;
pub mod signer;
pub mod wire;

#[cfg(feature = "remote")]
pub mod remote;

#[cfg(feature = "pkcs11")]
pub mod pkcs11;

pub use audit::{AuditError, AuditLog, JsonlAuditLog, SqliteAuditLog};
pub use inprocess::{DirOptions, InProcessAuthority, SetupError};
pub use render::{AddressRenderer, FontSetting, RenderError, RenderSettings};

pub use policy::{Policy, PolicyRefusal};

pub use signer::{KeyFileError, KeyFileSigner, SignerSource};
