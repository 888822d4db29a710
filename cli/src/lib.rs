//! The pure parts of the `zairyu` command-line tool that other crates reach: the
//! line protocol of `zairyu watch` ([`watch_line`]), which the fuzz crate fuzzes.
//! The commands themselves live in the `zairyu` binary (`src/main.rs`).

pub mod watch_line;
