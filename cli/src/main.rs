//! `zairyu`: read and verify residence cards from the command line.

mod bench;
#[cfg(feature = "pcsc")]
mod pcsc_cmds;
mod serve;
mod summary;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use zairyu::auth::OsRandom;
use zairyu::files::CardType;
use zairyu::files::gen2::CodeTable;
use zairyu::report::Report;
use zairyu::sequence::{CardRead, Flow, ReadOptions, ReadPolicy, read_card};
use zairyu::session::Card;
use zairyu::verify::{TrustStore, Verdict};
use zairyu::{CardNumber, Error};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

const EXIT_CODES: &str = "\
Exit codes:
  0   read complete, signature valid, certificate chains to a trusted anchor
  2   usage error
  3   wrong card number (the card rejected it)
  4   card or transport error (status word, card removed, reader gone)
  5   card data error (malformed response, TLV, secure messaging, authentication)
  6   card type not supported (second-generation or specified card, unknown type)
  7   trust store error (e.g. a file in --trust-dir is not a pinned Ministry root)
  10  read complete, signature INVALID (possible forgery or alteration)
  11  read complete, signature absent or not checked, or no trusted anchor
      (e.g. under-16 card without photo and signature)";

/// Read and verify the IC chip of Japanese residence cards (在留カード) and special
/// permanent resident certificates (特別永住者証明書).
#[derive(Parser)]
#[command(name = "zairyu", version, after_help = EXIT_CODES)]
struct Cli {
    /// Log APDU headers and status words to stderr (never card data or numbers).
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum SimType {
    /// 在留カード (first generation).
    #[value(name = "1")]
    One,
    /// 特別永住者証明書 (first generation).
    #[value(name = "2")]
    Two,
    /// 第２世代在留カード (second generation).
    #[value(name = "05")]
    Five,
    /// 第２世代特別永住者証明書 (second generation).
    #[value(name = "06")]
    Six,
}

impl SimType {
    fn to_sim(self) -> CardType {
        match self {
            SimType::One => CardType::ResidenceCard,
            SimType::Two => CardType::SpecialPermanentResident,
            SimType::Five => CardType::Gen2ResidenceCard,
            SimType::Six => CardType::Gen2SpecialPermanentResident,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Policy {
    /// Read everything and verify the signature.
    Full,
    /// Privacy option: no face, name or card-face image and no signature file; the
    /// signature is reported as not checked.
    TextOnly,
}

#[derive(Clone, Copy, ValueEnum)]
enum ForceFlow {
    /// First-generation flow (3DES).
    Gen1,
    /// Second-generation flow (AES).
    Gen2,
}

#[derive(clap::Args)]
struct ReadArgs {
    /// Which files to read.
    #[arg(long, value_enum, default_value = "full")]
    policy: Policy,
    /// A status-of-residence code table (UTF-8, `code<TAB>日本語<TAB>English` per line,
    /// `#` comments) to name the second generation's status codes.
    #[arg(long, value_name = "FILE")]
    status_table: Option<PathBuf>,
    /// Diagnostics: force an access flow instead of choosing it from the card type.
    #[arg(long, value_enum, hide = true)]
    force_flow: Option<ForceFlow>,
}

impl ReadArgs {
    fn options(&self) -> Result<ReadOptions, Error> {
        let status_table = match &self.status_table {
            None => None,
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| bad_file(p, &e.to_string()))?;
                let t = CodeTable::parse(&text)
                    .map_err(|line| bad_file(p, &format!("line {line} is not code<TAB>name<TAB>name")))?;
                Some(Arc::new(t))
            }
        };
        Ok(ReadOptions {
            policy: match self.policy {
                Policy::Full => ReadPolicy::Full,
                Policy::TextOnly => ReadPolicy::TextOnly,
            },
            force_flow: self.force_flow.map(|f| match f {
                ForceFlow::Gen1 => Flow::Gen1,
                ForceFlow::Gen2 => Flow::Gen2,
            }),
            status_table,
            ..ReadOptions::default()
        })
    }
}

fn bad_file(p: &std::path::Path, reason: &str) -> Error {
    Error::Input(zairyu::error::InputError::BadFile { path: p.display().to_string(), reason: reason.to_owned() })
}

#[derive(clap::Args)]
struct TrustArgs {
    /// Directory with the Ministry's "ZairyuCard CA" root certificates (DER or PEM),
    /// downloaded from the Ministry's site; every file must match a pinned fingerprint.
    #[arg(long, value_name = "DIR")]
    trust_dir: Option<PathBuf>,
    /// Directory with test anchors (any certificate; reported as profile "test", never production).
    #[arg(long, value_name = "DIR")]
    test_anchors: Option<PathBuf>,
    /// Do not trust the simulator's own test CA (it is trusted as a *test* anchor by default
    /// when reading the in-process simulator).
    #[arg(long)]
    no_sim_test_ca: bool,
    /// Trust the simulator's test CAs (as test anchors) when reading a real reader, e.g.
    /// a simulated card served on vpcd by `zairyu sim serve`.
    #[cfg(feature = "pcsc")]
    #[arg(long)]
    trust_sim_ca: bool,
}

#[derive(clap::Args)]
struct SourceArgs {
    /// Read the card in this PC/SC reader (see `zairyu readers`) instead of the
    /// in-process simulator.
    #[cfg(feature = "pcsc")]
    #[arg(long, value_name = "NAME")]
    reader: Option<String>,
    #[command(flatten)]
    sim: SimArgs,
}

#[derive(clap::Args)]
struct SimArgs {
    /// Card type of the in-process simulated card.
    #[arg(long, value_enum, default_value = "1")]
    sim_card_type: SimType,
    /// Card number printed on the simulated card (the number you type must match it).
    #[arg(long, default_value = "AB12345678CD", value_name = "N")]
    sim_card_number: String,
    /// Simulate a card of a holder under 16 (no photo, no signature).
    #[arg(long)]
    sim_under_16: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Issue a simulated card in-process, read it, verify it, and print the result.
    Demo {
        /// Print the JSON report instead of the summary.
        #[arg(long)]
        json: bool,
        /// Card generation: 1 (type "1") or 2 (type "05").
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
        generation: u8,
        /// Card type of the simulated card (overrides --generation).
        #[arg(long, value_enum)]
        card_type: Option<SimType>,
    },
    /// Read and verify a card (this version: the in-process simulator).
    Read {
        /// The card number the clerk types (在留カード等番号, 12 characters).
        #[arg(long, value_name = "N")]
        card_number: String,
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        trust: TrustArgs,
        #[command(flatten)]
        read: ReadArgs,
        /// Print the JSON report instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Read a card and write every file's raw content, the images and the JSON report to DIR.
    Dump {
        /// The card number the clerk types.
        #[arg(long, value_name = "N")]
        card_number: String,
        /// Output directory (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        trust: TrustArgs,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Measure APDUs, bytes and host CPU time per full read + verify (in-process simulator).
    Bench {
        /// Number of reads.
        #[arg(long, default_value_t = 50)]
        iterations: u32,
        /// Card types to measure (repeatable); default: 1, 2, 05, 06.
        #[arg(long, value_enum)]
        card_type: Vec<SimType>,
        /// Measure through the real pcscd: serve the simulated card on vpcd (port
        /// 35963, reader "Virtual PCD 00 00") with the link model, and read it there.
        #[cfg(feature = "pcsc")]
        #[arg(long)]
        pcsc: bool,
        /// Link speed for --pcsc.
        #[arg(long, default_value = "424k", value_name = "RATE")]
        link: zairyu_sim::vpcd::LinkSpeed,
        /// Air-time model for --pcsc: `nominal` (bits / rate + per-frame overhead) or
        /// `type-b` (every bit on the air, with start/stop bits and turnarounds).
        #[arg(long, default_value = "nominal", value_name = "MODEL")]
        link_model: zairyu_sim::vpcd::LinkModel,
    },
    /// List PC/SC readers.
    #[cfg(feature = "pcsc")]
    Readers {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// The counter loop: emit a JSON line when a card arrives, take the card number as
    /// one line on stdin, read and verify, emit one JSON result line, emit a line on
    /// removal; runs until stdin closes.
    #[cfg(feature = "pcsc")]
    Watch {
        /// The reader.
        #[arg(long, value_name = "NAME")]
        reader: String,
        #[command(flatten)]
        trust: TrustArgs,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// A redacted capability report per reader: protocol, ATR, extended-length support,
    /// timings (no card data).
    #[cfg(feature = "pcsc")]
    Doctor {
        /// Only this reader.
        #[arg(long, value_name = "NAME")]
        reader: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// The card simulator.
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
}

#[derive(Subcommand)]
enum SimCommand {
    /// Run a simulated card as the card in a vpcd slot of pcscd (vsmartcard's virtual
    /// reader: port 35963 is "Virtual PCD 00 00", 35964 is "Virtual PCD 00 01").
    Serve {
        /// vpcd port.
        #[arg(long, default_value_t = 35963)]
        vpcd_port: u16,
        /// vpcd host.
        #[arg(long, default_value = "127.0.0.1")]
        vpcd_host: String,
        /// Card type.
        #[arg(long, value_enum, default_value = "1")]
        card_type: SimType,
        /// Card number printed on the simulated card.
        #[arg(long, default_value = "AB12345678CD")]
        card_number: String,
        /// A holder under 16 (no photo, no signature).
        #[arg(long)]
        under_16: bool,
        /// Delay each exchange by its modelled ISO/IEC 14443 Type B air time.
        #[arg(long, value_name = "RATE")]
        link: Option<zairyu_sim::vpcd::LinkSpeed>,
        /// Air-time model: `nominal` (bits / rate + per-frame overhead) or `type-b`.
        #[arg(long, default_value = "nominal", value_name = "MODEL")]
        link_model: zairyu_sim::vpcd::LinkModel,
        /// Behave like a reader that cannot carry extended APDUs.
        #[arg(long)]
        short_apdus_only: bool,
        /// Link faults for tests (repeatable): drop-after:N, drop-mid-response:N, corrupt:APDU:INDEX.
        #[arg(long, value_parser = serve::parse_fault)]
        fault: Vec<zairyu_sim::vpcd::ServeFault>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose {
        env_logger::Builder::new().filter_module("zairyu", log::LevelFilter::Debug).init();
    }
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error [{}]: {e}", e.code());
            ExitCode::from(exit_code_for_error(&e))
        }
    }
}

fn exit_code_for_error(e: &Error) -> u8 {
    match e {
        Error::WrongCardNumber { .. } | Error::CardNumberMismatch => 3,
        Error::WrongGeneration { .. } => 6,
        Error::Card { .. } | Error::Transport(_) => 4,
        Error::Unsupported(_) => 6,
        Error::Verify(_) => 7,
        Error::Input(_) => 2,
        _ => 5,
    }
}

fn exit_code_for_read(r: &CardRead) -> u8 {
    match r.verification.verdict() {
        Verdict::Production | Verdict::Test => 0,
        Verdict::Invalid => 10,
        _ => 11,
    }
}

fn build_trust(args: &TrustArgs, with_sim_ca: bool) -> Result<TrustStore, Error> {
    let mut trust = TrustStore::new();
    if let Some(dir) = &args.trust_dir {
        trust.load_production_dir(dir)?;
    }
    if let Some(dir) = &args.test_anchors {
        trust.add_test_anchors_dir(dir)?;
    }
    if with_sim_ca && !args.no_sim_test_ca {
        zairyu_sim::add_test_anchors(&mut trust);
    }
    Ok(trust)
}

fn issue(sim: &SimArgs) -> IssuedCard {
    let opts = IssueOptions {
        card_type: sim.sim_card_type.to_sim(),
        card_number: sim.sim_card_number.clone(),
        under_16: sim.sim_under_16,
        ..IssueOptions::default()
    };
    IssuedCard::issue(&opts)
}

fn read_sim(issued: IssuedCard, number: &str, trust: &TrustStore, opts: &ReadOptions) -> Result<CardRead, Error> {
    let number = CardNumber::parse(number)?;
    let mut card = Card::new(SimCard::new(issued));
    read_card(&mut card, &number, trust, &mut OsRandom, opts)
}

fn read_source(source: &SourceArgs, number: &str, trust: &TrustArgs, read: &ReadArgs) -> Result<CardRead, Error> {
    let opts = read.options()?;
    #[cfg(feature = "pcsc")]
    if let Some(reader) = &source.reader {
        // Real cards: the simulator's test CAs are not trusted unless asked for.
        let store = build_trust(trust, trust.trust_sim_ca)?;
        return pcsc_cmds::read(reader, number, &store, &opts);
    }
    let store = build_trust(trust, true)?;
    read_sim(issue(&source.sim), number, &store, &opts)
}

fn print_read(r: &CardRead, json: bool) {
    if json {
        println!("{}", Report::from_read(r).to_json_pretty());
    } else {
        print!("{}", summary::render(r));
    }
}

fn run(cmd: Command) -> Result<u8, Error> {
    match cmd {
        Command::Demo { json, generation, card_type } => {
            let card_type = card_type.unwrap_or(if generation == 2 { SimType::Five } else { SimType::One });
            let sim = SimArgs { sim_card_type: card_type, sim_card_number: "AB12345678CD".into(), sim_under_16: false };
            let trust = build_trust(
                &TrustArgs {
                    trust_dir: None,
                    test_anchors: None,
                    no_sim_test_ca: false,
                    #[cfg(feature = "pcsc")]
                    trust_sim_ca: false,
                },
                true,
            )?;
            if !json {
                println!("zairyu demo: a simulated card (synthetic data, test CA), card number AB12345678CD\n");
            }
            let r = read_sim(issue(&sim), "AB12345678CD", &trust, &ReadOptions::default())?;
            print_read(&r, json);
            Ok(exit_code_for_read(&r))
        }
        Command::Read { card_number, source, trust, read, json } => {
            let r = read_source(&source, &card_number, &trust, &read)?;
            print_read(&r, json);
            Ok(exit_code_for_read(&r))
        }
        Command::Dump { card_number, out, source, trust, read } => {
            let r = read_source(&source, &card_number, &trust, &read)?;
            write_dump(&r, &out).map_err(|e| {
                Error::Transport(zairyu::error::TransportError::Other(format!("writing {}: {e}", out.display())))
            })?;
            println!(
                "wrote {} card files, {} images and report.json to {}",
                r.raw_files.len(),
                r.images().len(),
                out.display()
            );
            Ok(exit_code_for_read(&r))
        }
        Command::Bench {
            iterations,
            card_type,
            #[cfg(feature = "pcsc")]
            pcsc,
            link,
            link_model,
        } => {
            let types = if card_type.is_empty() {
                vec![SimType::One, SimType::Two, SimType::Five, SimType::Six]
            } else {
                card_type
            };
            let types: Vec<_> = types.into_iter().map(SimType::to_sim).collect();
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
        Command::Watch { reader, trust, read } => {
            pcsc_cmds::watch(&reader, &build_trust(&trust, trust.trust_sim_ca)?, &read.options()?)
        }
        #[cfg(feature = "pcsc")]
        Command::Doctor { reader, json } => pcsc_cmds::doctor(reader.as_deref(), json),
        Command::Sim {
            command:
                SimCommand::Serve {
                    vpcd_port,
                    vpcd_host,
                    card_type,
                    card_number,
                    under_16,
                    link,
                    link_model,
                    short_apdus_only,
                    fault,
                },
        } => {
            let issue =
                IssueOptions { card_type: card_type.to_sim(), card_number, under_16, ..IssueOptions::default() };
            let opts = zairyu_sim::vpcd::ServeOptions {
                host: vpcd_host,
                port: vpcd_port,
                link,
                link_model,
                short_apdus_only,
                faults: fault,
                ..Default::default()
            };
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            serve::run(issue, opts, stop)
        }
    }
}

fn write_dump(r: &CardRead, out: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    for f in &r.raw_files {
        std::fs::write(out.join(format!("{}.bin", f.name.replace('/', "-"))), &f.bytes)?;
    }
    for (name, image) in r.images() {
        if image.is_present() {
            std::fs::write(out.join(format!("{name}.{}", image.format.extension())), image.bytes())?;
        }
    }
    std::fs::write(out.join("report.json"), Report::from_read(r).to_json_pretty())?;
    Ok(())
}
