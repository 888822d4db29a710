//! # zairyu
//!
//! Reads and verifies the IC chip of Japan's residence card (在留カード) and special
//! permanent resident certificate (特別永住者証明書), following 在留カード等仕様書
//! Ver 1.5 (cited as SPEC15 with its section numbers) for the first generation.
//!
//! The crate does no I/O: a backend implements [`transport::Transport`]. Layers,
//! one module each, bottom up:
//!
//! | module | spec | what |
//! |---|---|---|
//! | [`apdu`] | §4.1 | command/response APDUs, status words |
//! | [`tlv`] | §3.2.3.1 | BER-TLV with zero fill |
//! | [`crypto`] | Annex 1 | the per-generation suite (3DES / AES) |
//! | [`auth`] | §3.4.1, §4.2.3–4 | MUTUAL AUTHENTICATE, terminal side |
//! | [`sm`] | §3.4.2, §4.2.2, §4.2.5 | secure messaging, one wrapper for both suites |
//! | [`card_number`] | §3.4.1 | the 在留カード等番号 secret |
//! | [`session`] | §3.5.1, §4.2 | the read sequence, typestate |
//! | [`files`] | §3.3 | the data model of every EF |
//! | [`verify`] | §3.4.3 | check code and certificate chain, trust store |
//! | [`report`] | — | the JSON report shared by the CLI, C and Python |

pub mod apdu;
pub mod auth;
pub mod card_number;
pub mod crypto;
pub mod error;
pub mod files;
pub mod layout;
pub mod options;
pub mod report;
pub mod sequence;
pub mod session;
pub mod sm;
pub mod tlv;
pub mod transport;
pub mod vectors;
pub mod verify;
pub mod warning;

pub use card_number::CardNumber;
pub use error::{Error, Result};
