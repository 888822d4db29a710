//! `zairyu`: read and verify residence cards from the command line.
//!
//! | module | concern |
//! |---|---|
//! | `args` | the command line (clap structures; values parsed by the core's `FromStr`) |
//! | `exit` | the exit-code table, printed by `--help` |
//! | `error` | the CLI's error: a core error, a command-line error of its own, or an output error |
//! | `number` | where `read` and `dump` take the card number from |
//! | `read` | `demo`, `read`, `dump` |
//! | `summary` | the human summary of a read |
//! | `bench` | `bench` |
//! | `serve` | `sim serve` |
//! | `pki` | `pki init` (the test write PKI and its test policy) |
//! | `write` | `write-address` (the address write through the authority) |
//! | `pcsc_cmds` | `readers`, `doctor` (feature `pcsc`) |
//! | `watch` | `watch`, the counter loop (feature `pcsc`); its line protocol is the library's `zairyu_cli::watch_line` |
//! | `counter` | `counter`, the clerk's local web page (feature `counter`) |

/// `print!` that returns [`CliError::Output`] instead of panicking when standard
/// output is gone.
macro_rules! out {
    ($($arg:tt)*) => { $crate::error::write_stdout(format_args!($($arg)*)) };
}

/// `println!` that returns [`CliError::Output`] instead of panicking when standard
/// output is gone.
macro_rules! outln {
    () => { $crate::error::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::error::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

mod args;
mod bench;
mod console;
#[cfg(feature = "counter")]
mod counter;
mod error;
mod evidence;
mod exit;
mod number;
#[cfg(feature = "pcsc")]
mod pcsc_cmds;
mod pki;
mod read;
mod serve;
mod summary;
#[cfg(feature = "pcsc")]
mod watch;
mod write;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command, PkiCommand, SimCommand};
use crate::error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose {
        env_logger::Builder::new().filter_module("zairyu", log::LevelFilter::Debug).init();
    }
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error [{}]: {e}", e.code());
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cmd: Command) -> Result<u8, CliError> {
    match cmd {
        Command::Demo { json, generation, card_type } => read::demo(json, generation, card_type),
        Command::Read { card, json } => read::read(card, json),
        Command::Dump { card, out, include_card_number, station_key } => {
            read::dump(card, &out, include_card_number, station_key.as_deref())
        }
        Command::VerifyEvidence { files, trust, json, jobs } => evidence::verify(&files, &trust, json, jobs.into()),
        Command::Export { format, bom, era, include_card_number, guard_formulas, trust, files } => {
            let csv = zairyu_evidence::CsvOptions { bom, guard_formulas };
            evidence::export(&files, &trust, format, csv, era, include_card_number)
        }
        Command::Bench {
            iterations,
            card_type,
            #[cfg(feature = "pcsc")]
            pcsc,
            write,
            link,
            link_model,
        } => {
            if write {
                let types = if card_type.is_empty() { bench::write_types() } else { card_type };
                return bench::run_write(iterations, &types, link, link_model);
            }
            let types = if card_type.is_empty() { bench::default_types() } else { card_type };
            #[cfg(feature = "pcsc")]
            if pcsc {
                return bench::run_pcsc(iterations, &types, link, link_model);
            }
            let _ = (link, link_model);
            bench::run(iterations, &types)
        }
        #[cfg(feature = "pcsc")]
        Command::Readers { json } => pcsc_cmds::readers(json),
        #[cfg(feature = "pcsc")]
        Command::Watch { reader, trust, read, test_delay_before_read } => watch::command(
            &reader,
            &trust.store(trust.trust_sim_ca)?,
            &read.options()?,
            std::time::Duration::from_millis(test_delay_before_read),
        ),
        #[cfg(feature = "counter")]
        Command::Counter(args) => counter::command(*args),
        #[cfg(feature = "pcsc")]
        Command::Doctor { reader, json } => pcsc_cmds::doctor(reader.as_deref(), json),
        Command::WriteAddress(args) => write::command(*args),
        Command::Sim { command: SimCommand::Serve(args) } => serve::run(args),
        Command::Pki { command: PkiCommand::Init { out } } => pki::init(&out),
    }
}
