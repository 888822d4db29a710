//! `zairyu-authority`: the write authority of zairyu's address write (AWP v1) as a
//! service (issue 13). Counters reach it over HTTPS with mutual TLS and relay the
//! card's APDUs in batches; the authority's key, policy and audit log stay here.
//!
//! | module | what |
//! |---|---|
//! | [`config`] | `authority.toml` |
//! | [`http`] | rustls mutual TLS, the axum routes of API v1, a running instance |
//! | [`service`] | opening, relaying and expiring sessions; policy, rate and audit |
//! | [`store`] | the database, SQLite or PostgreSQL: versioned migrations, `sessions`, `audit_log` |
//! | [`seal`] | session state encrypted at rest (AES-256-GCM), the audit log's keyed card-number hash |
//! | [`init`] | `init --out DIR`: a test deployment (TLS CA and certificates, write PKI, policy, keys) |
//!
//! The counter's side is `zairyu_authority_core::remote::RemoteAuthority`
//! (feature `remote` of `zairyu-authority-core`); the messages are
//! `zairyu_authority_core::wire`.

#![forbid(unsafe_code)]

pub mod config;
pub mod http;
pub mod init;
pub mod seal;
pub mod service;
pub mod store;

pub use config::Config;
pub use http::RunningServer;
pub use service::{ApiError, Service, SetupError};
