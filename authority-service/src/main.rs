//! `zairyu-authority`: `init`, `serve`, `audit verify`, `audit export`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zairyu_authority::config::Config;
use zairyu_authority::http::RunningServer;
use zairyu_authority::service::open_store;
use zairyu_authority_core::audit::{ChainBreak, verify_chain};

/// The write authority service of zairyu's address write.
#[derive(Parser)]
#[command(name = "zairyu-authority", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a test deployment: authority.toml, a TLS CA with server and counter
    /// certificates, the test write PKI, the policy, the deployment key.
    Init {
        /// The directory to write (created; existing files are never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Counter identities to issue client certificates for.
        #[arg(long = "counter", default_values_t = vec!["counter-1".to_string()])]
        counters: Vec<String>,
        /// The address the service will listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: String,
    },
    /// Runs the service until Ctrl-C or SIGTERM.
    Serve {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Generates the terminal key pair in a PKCS#11 token (non-extractable) and
    /// prints its public key and the token's protection attributes as JSON; the
    /// DV then certifies the public key as the terminal certificate.
    Pkcs11Keygen {
        /// The PKCS#11 module.
        #[arg(long)]
        module: PathBuf,
        /// The token's label.
        #[arg(long)]
        token: String,
        /// The key's label.
        #[arg(long)]
        label: String,
        /// A file holding the user PIN (mode 0600).
        #[arg(long)]
        pin_file: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walks the hash chain; exit status 1 and the first broken or missing record
    /// if it is broken.
    Verify {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Also check that the log still holds this head (`SEQ:HASH`, from a receipt).
        #[arg(long)]
        head: Option<String>,
    },
    /// Writes every record as a JSON line (standard output, or --out).
    Export {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// The output file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn load(path: &std::path::Path) -> Result<Config, String> {
    Config::load(path).map_err(|e| e.to_string())
}

fn parse_head(s: &str) -> Option<zairyu_authority_core::audit::AuditHead> {
    let (seq, hash) = s.split_once(':')?;
    Some(zairyu_authority_core::audit::AuditHead {
        seq: seq.parse().ok()?,
        hash: hex::decode(hash).ok()?.try_into().ok()?,
    })
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Init { out, counters, listen } => {
            let r = zairyu_authority::init::init(&out, &counters, &listen).map_err(|e| e.to_string())?;
            println!("wrote a TEST deployment to {}", out.display());
            println!("  start it:   zairyu-authority serve --config {}", r.config.display());
            for (c, cert, key) in &r.counters {
                println!(
                    "  counter {c}: --client-cert {} --client-key {} --authority-ca {}",
                    cert.display(),
                    key.display(),
                    r.ca.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Pkcs11Keygen { module, token, label, pin_file } => {
            use zairyu_authority_core::pkcs11::{PinSource, Pkcs11Key, Pkcs11Signer, generate_key, load_module};
            let key = Pkcs11Key { module, token, key_label: label, pin: PinSource::File(pin_file) };
            let ctx = load_module(&key.module).map_err(|e| e.to_string())?;
            let public = generate_key(&ctx, &key).map_err(|e| e.to_string())?;
            drop(ctx);
            let signer = Pkcs11Signer::open(&key).map_err(|e| e.to_string())?;
            let (sensitive, extractable, never_extractable) = signer.protection().map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::json!({
                    "public_key": hex::encode(public.to_uncompressed()),
                    "sensitive": sensitive,
                    "extractable": extractable,
                    "never_extractable": never_extractable,
                    "private_value_readable": signer.try_export_private_value().is_ok(),
                })
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { config } => {
            let cfg = load(&config)?;
            let server = RunningServer::start(&cfg).map_err(|e| e.to_string())?;
            eprintln!("zairyu-authority listening on {}", server.url());
            server.wait_for_shutdown();
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command: AuditCommand::Verify { config, head } } => {
            let cfg = load(&config)?;
            let mut store = open_store(&cfg).map_err(|e| e.to_string())?;
            let head = match head {
                None => None,
                Some(h) => Some(parse_head(&h).ok_or("--head is SEQ:HASH (64 hex digits)")?),
            };
            match verify_chain(&store.audit_entries().map_err(|e| e.to_string())?, head.as_ref()) {
                Ok(v) => {
                    println!(
                        "audit log whole: {} records, head {}:{}",
                        v.records,
                        v.head.seq,
                        hex::encode(v.head.hash)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(ChainBreak { seq, kind }) => {
                    println!("audit log BROKEN at record {seq}: {}", kind.name());
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Audit { command: AuditCommand::Export { config, out } } => {
            let cfg = load(&config)?;
            let mut store = open_store(&cfg).map_err(|e| e.to_string())?;
            let entries = store.audit_entries().map_err(|e| e.to_string())?;
            let mut w: Box<dyn Write> = match &out {
                Some(p) => Box::new(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
                None => Box::new(std::io::stdout().lock()),
            };
            for (i, e) in entries.iter().enumerate() {
                let line = match e {
                    Ok(e) => serde_json::json!({
                        "seq": e.seq,
                        "prev_hash": hex::encode(e.prev_hash),
                        "time_unix": e.record.time_unix,
                        "session": e.record.session,
                        "counter_id": e.record.counter_id,
                        "operator_id": e.record.operator_id,
                        "card_number_hmac": e.record.card_number_sha256.map(hex::encode),
                        "target": e.record.target,
                        "municipality_code": e.record.municipality_code,
                        "address": e.record.address,
                        "old_content_sha256": e.record.old_content_sha256.map(hex::encode),
                        "new_content_sha256": e.record.new_content_sha256.map(hex::encode),
                        "result": e.record.result.name(),
                        "refusal_code": e.record.result.code(),
                        "refusal_message": e.record.result.message(),
                        "hash": hex::encode(e.hash),
                    }),
                    Err(k) => serde_json::json!({"row": i + 1, "unreadable": k.name()}),
                };
                writeln!(w, "{line}").map_err(|e| e.to_string())?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(Cli::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("zairyu-authority: {e}");
            ExitCode::from(2)
        }
    }
}
