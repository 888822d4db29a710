//! The command line: clap's structures, nothing else. Option values parse through
//! the core's `FromStr` (card type, read policy, access flow; the simulator's
//! `ServeFault`), the one parser the C library and the Python module use too.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Parser, Subcommand};
use zairyu::files::CardType;
use zairyu::sequence::{Flow, ReadPolicy};
use zairyu_sim::vpcd::{LinkModel, LinkSpeed, ServeFault};

/// Read and verify the IC chip of Japanese residence cards (在留カード) and special
/// permanent resident certificates (特別永住者証明書).
#[derive(Parser)]
#[command(name = "zairyu", version, after_help = crate::exit::help())]
pub struct Cli {
    /// Log APDU headers and status words to stderr (never card data or numbers).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// A clap value parser for one of the core's option enums: parses with its `FromStr`
/// (so the accepted spellings are the core's), keeps only `values`, and lists their
/// stable names in `--help` and in the error for a bad value.
#[derive(Clone)]
pub struct Named<T: 'static> {
    values: Vec<T>,
    name: fn(T) -> &'static str,
}

impl<T: Copy + PartialEq + Send + Sync + 'static> Named<T> {
    /// The values in `all` for which `keep` holds; `name` gives each one's stable name.
    fn new(all: &[T], name: fn(T) -> &'static str, keep: impl Fn(T) -> bool) -> Self {
        Named { values: all.iter().copied().filter(|&v| keep(v)).collect(), name }
    }
}

impl<T> TypedValueParser for Named<T>
where
    T: FromStr + Copy + PartialEq + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let text = value.to_string_lossy();
        match text.parse::<T>() {
            Ok(v) if self.values.contains(&v) => Ok(v),
            _ => {
                let mut e = clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd);
                if let Some(arg) = arg {
                    e.insert(ContextKind::InvalidArg, ContextValue::String(arg.to_string()));
                }
                e.insert(ContextKind::InvalidValue, ContextValue::String(text.into_owned()));
                let valid = self.values.iter().map(|&v| (self.name)(v).to_owned()).collect();
                e.insert(ContextKind::ValidValue, ContextValue::Strings(valid));
                Err(e)
            }
        }
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.values.iter().map(|&v| PossibleValue::new((self.name)(v)))))
    }
}

/// Card types the simulator issues (1, 2, 05, 06; also accepted as "5" and "6").
pub fn sim_card_type() -> Named<CardType> {
    Named::new(CardType::ALL, CardType::name, crate::read::simulated)
}

/// Read policies: `full`, `text_only` (also `text-only`).
pub fn read_policy() -> Named<ReadPolicy> {
    Named::new(ReadPolicy::ALL, ReadPolicy::name, |_| true)
}

/// Access flows: `gen1-3des` (also `gen1`), `gen2-aes` (also `gen2`).
pub fn flow() -> Named<Flow> {
    Named::new(Flow::ALL, Flow::name, |_| true)
}

/// What to read and how.
#[derive(clap::Args)]
pub struct ReadArgs {
    /// Which files to read: `full` (everything, and verify the signature) or
    /// `text_only`, also spelt `text-only` (privacy option: no face, name or card-face
    /// image and no signature file; the signature is reported as not checked).
    #[arg(long, default_value = "full", value_parser = read_policy())]
    pub policy: ReadPolicy,
    /// A status-of-residence code table (UTF-8, `code<TAB>日本語<TAB>English` per line,
    /// `#` comments) to name the second generation's status codes.
    #[arg(long, value_name = "FILE")]
    pub status_table: Option<PathBuf>,
    /// Diagnostics: force an access flow instead of choosing it from the card type.
    #[arg(long, hide = true, value_parser = flow())]
    pub force_flow: Option<Flow>,
}

/// Which trust anchors to use.
#[derive(clap::Args, Default)]
pub struct TrustArgs {
    /// Directory with the Ministry's "ZairyuCard CA" root certificates (DER or PEM),
    /// downloaded from the Ministry's site; every file must match a pinned fingerprint.
    #[arg(long, value_name = "DIR")]
    pub trust_dir: Option<PathBuf>,
    /// Directory with test anchors (any certificate; reported as profile "test", never production).
    #[arg(long, value_name = "DIR")]
    pub test_anchors: Option<PathBuf>,
    /// Do not trust the simulator's own test CA (it is trusted as a *test* anchor by default
    /// when reading the in-process simulator, --sim).
    #[arg(long)]
    pub no_sim_test_ca: bool,
    /// Trust the simulator's test CAs (as test anchors) when reading a real reader, e.g.
    /// a simulated card served on vpcd by `zairyu sim serve`.
    #[cfg(feature = "pcsc")]
    #[arg(long)]
    pub trust_sim_ca: bool,
}

/// The trust anchors evidence files are re-verified with.
#[derive(clap::Args)]
pub struct EvidenceTrustArgs {
    /// Directory with the Ministry's root certificates (pinned fingerprints).
    #[arg(long, value_name = "DIR")]
    pub trust_dir: Option<PathBuf>,
    /// Directory with test anchors (profile "test", never production).
    #[arg(long, value_name = "DIR")]
    pub test_anchors: Option<PathBuf>,
    /// Trust the simulator's test CAs (as test anchors), for evidence of simulated cards.
    #[arg(long)]
    pub trust_sim_ca: bool,
    /// Accept only files signed by this reading station's key: the hex SHA-256 of its
    /// public key (SubjectPublicKeyInfo DER; `key_sha256` in a signed evidence file).
    /// Repeatable. Without a pinned key, an accepted file proves only the fields the
    /// chip's signature covers: the rest could have been rewritten with recomputed hashes.
    #[arg(long = "station-key-sha256", value_name = "HEX")]
    pub station_key_sha256: Vec<String>,
    /// As --station-key-sha256, from the station's public key file (SubjectPublicKeyInfo,
    /// PEM or DER, e.g. `openssl pkey -pubout`). Repeatable.
    #[arg(long = "station-key-pub", value_name = "FILE")]
    pub station_key_pub: Vec<PathBuf>,
}

/// `export --format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 CSV, UTF-8, CRLF line ends.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Where the card is.
#[derive(clap::Args)]
pub struct SourceArgs {
    /// Read the card in this PC/SC reader (see `zairyu readers`). Without --reader (and
    /// without --sim) the card is read in the one connected reader; with none, or
    /// several, the command fails and lists them.
    #[cfg(feature = "pcsc")]
    #[arg(long, value_name = "NAME", conflicts_with_all = ["sim", "sim_card_type", "sim_card_number", "sim_under_16", "sim_pki"])]
    pub reader: Option<String>,
    #[command(flatten)]
    pub sim: SimArgs,
}

/// The in-process simulated card: only with `--sim` (or a `--sim-*` option).
#[derive(clap::Args)]
pub struct SimArgs {
    /// Read an in-process simulated card (synthetic data, signed by the simulator's
    /// test CA) instead of a card in a reader. Implied by every --sim-* option.
    #[arg(long)]
    pub sim: bool,
    /// Card type of the simulated card [default: 1]. Implies --sim.
    #[arg(long, value_parser = sim_card_type())]
    pub sim_card_type: Option<CardType>,
    /// Card number printed on the simulated card (the number given must match it)
    /// [default: AB12345678CD]. Implies --sim.
    #[arg(long, value_name = "N")]
    pub sim_card_number: Option<String>,
    /// Simulate a card of a holder under 16 (no photo, no signature). Implies --sim.
    #[arg(long)]
    pub sim_under_16: bool,
    /// Which PKI signs the simulated card: `test` (the simulator's test CA, verdict
    /// "test") or `synthetic-production` (roots that only test builds pin as
    /// production; any other build finds them unpinned). Implies --sim.
    #[arg(long, value_enum, value_name = "PKI")]
    pub sim_pki: Option<SimPkiArg>,
}

/// `--sim-pki` / `sim serve --pki`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SimPkiArg {
    /// The simulator's test CAs.
    #[default]
    Test,
    /// The synthetic "production" roots (pinned only by test builds).
    SyntheticProduction,
}

impl From<SimPkiArg> for zairyu_sim::SimPki {
    fn from(p: SimPkiArg) -> Self {
        match p {
            SimPkiArg::Test => zairyu_sim::SimPki::Test,
            SimPkiArg::SyntheticProduction => zairyu_sim::SimPki::SyntheticProduction,
        }
    }
}

impl SimArgs {
    /// Whether the simulator was asked for (`--sim` or any `--sim-*` option).
    pub fn requested(&self) -> bool {
        self.sim
            || self.sim_card_type.is_some()
            || self.sim_card_number.is_some()
            || self.sim_under_16
            || self.sim_pki.is_some()
    }
}

/// Where the card number comes from: exactly one of these options or the environment
/// variable `ZAIRYU_CARD_NUMBER` (see `crate::number`).
#[derive(clap::Args, Default)]
pub struct NumberArgs {
    /// The card number the clerk types (在留カード等番号, 12 characters). Visible to
    /// every user of this machine (`ps`, /proc) while zairyu runs: prefer
    /// --card-number-stdin, --card-number-fd or ZAIRYU_CARD_NUMBER. Exactly one of the
    /// four gives the number.
    #[arg(long, value_name = "N")]
    pub card_number: Option<String>,
    /// Read the card number as one line from standard input.
    #[arg(long)]
    pub card_number_stdin: bool,
    /// Read the card number as one line from this open file descriptor (opened as
    /// /dev/fd/FD), e.g. `--card-number-fd 3 3<file`. The environment variable
    /// ZAIRYU_CARD_NUMBER is the fourth way.
    #[arg(long, value_name = "FD")]
    pub card_number_fd: Option<u32>,
}

/// A card to read and how: what `read` and `dump` share.
#[derive(clap::Args)]
pub struct CardArgs {
    #[command(flatten)]
    pub number: NumberArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// The `after_help` of `read` and `dump`.
const CARD_NUMBER_HELP: &str = "The card number comes from exactly one of --card-number-stdin, --card-number-fd FD, \
the environment variable ZAIRYU_CARD_NUMBER, or --card-number N (visible to other users through `ps`).";

/// The `after_help` of `write-address`.
const WRITE_HELP: &str = "The card number comes from exactly one of --card-number-stdin, --card-number-fd FD, \
the environment variable ZAIRYU_CARD_NUMBER, or --card-number N (visible to other users through `ps`). \
Every refusal prints its stable code as `error [CODE]`; the exit codes are listed in `zairyu --help`.";

/// `zairyu write-address`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("authority_source").required(true).multiple(false)))]
pub struct WriteAddressArgs {
    #[command(flatten)]
    pub number: NumberArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    /// With --sim: issue the simulated card with the address-write application trusting
    /// the test write PKI in DIR (made by `zairyu pki init`). Without it the simulated
    /// card has no write application, as a card issued before AWP.
    #[arg(long, value_name = "DIR")]
    pub write_pki: Option<PathBuf>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The date of the entry (追記書き込み年月日), YYYYMMDD.
    #[arg(long, value_name = "YYYYMMDD")]
    pub date: String,
    /// The municipality code (市町村コード): 6 digits, the last a check digit.
    #[arg(long, value_name = "CODE")]
    pub municipality_code: String,
    /// The new address (住居地), UTF-8, at most 80 characters and 320 bytes, no control
    /// characters.
    #[arg(long, value_name = "TEXT")]
    pub address: String,
    /// The clerk's operator id, recorded in the authority's audit log.
    #[arg(long, value_name = "ID")]
    pub operator: String,
    #[command(flatten)]
    pub authority: AuthorityArgs,
    /// Print the receipt as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Which write authority a command uses: in process (`--authority-dir`) or the
/// service over mutual TLS (`--authority` with the client files); at most one
/// (clap group `authority_source`, which `write-address` makes required and
/// `counter` leaves optional).
#[derive(Debug, clap::Args)]
pub struct AuthorityArgs {
    /// The write authority in process, from its directory: CVCA, terminal certificate
    /// and key, write-issuer root, policy.toml, audit log (`zairyu pki init` makes a
    /// test one). Exactly one of --authority-dir and --authority.
    #[arg(long, value_name = "DIR", group = "authority_source")]
    pub authority_dir: Option<PathBuf>,
    /// This counter's identity in the in-process authority's policy (default
    /// `test-counter`); with --authority the identity is the client certificate's
    /// common name.
    #[arg(long, value_name = "ID", conflicts_with = "authority")]
    pub counter_id: Option<String>,
    /// The write authority service (`zairyu-authority serve`): https://HOST:PORT,
    /// reached over mutual TLS. Repeatable: instances sharing one database, tried in
    /// turn when one cannot be reached (a message is sent again unchanged, never
    /// replayed as a new one). Needs --client-cert, --client-key and --authority-ca.
    #[arg(
        long,
        value_name = "URL",
        group = "authority_source",
        requires_all = ["client_cert", "client_key", "authority_ca"]
    )]
    pub authority: Vec<String>,
    /// With --authority: this counter's client certificate (PEM; its common name is
    /// the counter identity the service's policy names), then any intermediates.
    #[arg(long, value_name = "FILE", conflicts_with = "authority_dir")]
    pub client_cert: Option<PathBuf>,
    /// With --authority: the client certificate's private key (PEM: PKCS#8, SEC1 or
    /// PKCS#1; keep it mode 0600).
    #[arg(long, value_name = "FILE", conflicts_with = "authority_dir")]
    pub client_key: Option<PathBuf>,
    /// With --authority: the CA the service's certificate must chain to (PEM); the
    /// system's roots are never trusted for the authority.
    #[arg(long, value_name = "FILE", conflicts_with = "authority_dir")]
    pub authority_ca: Option<PathBuf>,
}

/// The commands.
#[derive(Subcommand)]
pub enum Command {
    /// Issue a simulated card in-process, read it, verify it, and print the result.
    Demo {
        /// Print the JSON report instead of the summary.
        #[arg(long)]
        json: bool,
        /// Card generation: 1 (type "1") or 2 (type "05").
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
        generation: u8,
        /// Card type of the simulated card (overrides --generation).
        #[arg(long, value_parser = sim_card_type())]
        card_type: Option<CardType>,
    },
    /// Read and verify a card, and print the result.
    #[cfg_attr(
        feature = "pcsc",
        command(
            about = "Read and verify the card in --reader (default: the one connected reader), or a simulated card with --sim"
        )
    )]
    #[cfg_attr(
        not(feature = "pcsc"),
        command(about = "Read and verify an in-process simulated card with --sim (this build has no PC/SC)")
    )]
    #[command(after_help = CARD_NUMBER_HELP)]
    Read {
        #[command(flatten)]
        card: CardArgs,
        /// Print the JSON report instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Read a card (as `read` does) and write every file's raw content, the images and
    /// the JSON report to DIR, each file readable by its owner only (mode 0600).
    ///
    /// The card number is redacted (`AB********CD`, as in the report) wherever it would
    /// be written: in the second generation's DF1/EF01 (tag C2) and anywhere else a raw
    /// file holds it. The first generation's card-face image shows the printed number.
    #[command(after_help = CARD_NUMBER_HELP)]
    Dump {
        #[command(flatten)]
        card: CardArgs,
        /// Output directory (created with mode 0700 if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Write the card number in full in the raw files (DF1/EF01 of a second-generation
        /// card) instead of redacting it.
        #[arg(long)]
        include_card_number: bool,
        /// Sign evidence.json with this reading station's key: ECDSA P-256 as PKCS#8, PEM
        /// (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`) or DER
        /// (`openssl pkcs8 -topk8 -nocrypt -outform DER`; not the SEC1 form of `openssl pkey
        /// -outform DER`). Read before the card; a key that does not load reads nothing.
        /// Pin its public key in `verify-evidence --station-key-pub` so that an accepted
        /// file proves all of it.
        #[arg(long, value_name = "PKCS8_FILE")]
        station_key: Option<PathBuf>,
    },
    /// Re-verify evidence files written by `dump` (evidence.json) without a card: each
    /// file's hashes and station signature, then the chip's signature and chain again,
    /// which must give the same result as the read. Exit 0 when every file is accepted,
    /// 13 when any is altered, malformed, verifies differently, or (with
    /// --station-key-sha256) is not signed by a pinned station key. Without a pinned
    /// station key an accepted file proves only the chip-signed fields: whoever holds
    /// the file can rewrite the rest (unsigned fields, card number, times, metadata)
    /// and recompute its hashes.
    VerifyEvidence {
        /// Evidence files.
        #[arg(required = true, value_name = "EVIDENCE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        trust: EvidenceTrustArgs,
        /// One JSON object per file instead of a line of text.
        #[arg(long)]
        json: bool,
        /// Verify on this many threads.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: u16,
    },
    /// Write the fields a residence record (住民票) needs, one row per evidence file,
    /// as CSV (RFC 4180, UTF-8) or JSON lines, with each field's signed flag (schema:
    /// README "Evidence and export"). Every file must verify as `verify-evidence`
    /// accepts it, under the same --station-key-sha256 pins (else exit 13, nothing
    /// written).
    Export {
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Start the CSV with a UTF-8 byte order mark (for spreadsheet programs).
        #[arg(long)]
        bom: bool,
        /// Also fill the Japanese-era date columns (令和/平成/昭和 …).
        #[arg(long)]
        era: bool,
        /// Write the full card number, where the evidence holds it (dump
        /// --include-card-number); otherwise it stays redacted.
        #[arg(long)]
        include_card_number: bool,
        /// CSV: prefix a cell starting with `=`, `+`, `-`, `@`, tab or CR with `'`, so a
        /// spreadsheet does not run card text as a formula (changes the value: for
        /// spreadsheets, not for registry import).
        #[arg(long)]
        guard_formulas: bool,
        #[command(flatten)]
        trust: EvidenceTrustArgs,
        /// Evidence files.
        #[arg(required = true, value_name = "EVIDENCE")]
        files: Vec<PathBuf>,
    },
    /// Write a new residence address (住居地) into the card through the write authority
    /// (address write, AWP v1), then re-read it on a new card session and compare.
    ///
    /// This terminal holds no key that can authorise a write: it does the normal
    /// card-number access, relays APDU bytes between the card and the authority (the
    /// in-process authority of --authority-dir, or the `zairyu-authority` service of
    /// --authority over mutual TLS: its key, policy and audit log), and checks the
    /// card's file afterwards. First generation: DF2/EF01 (date,
    /// municipality code, address text); second generation: the authority renders the
    /// text into the DF1/EF04 image. Prints the authority's receipt.
    #[cfg_attr(
        feature = "pcsc",
        command(
            about = "Write a new address into the card in --reader (or the in-process simulator with --sim) through the write authority, and confirm it by a re-read"
        )
    )]
    #[cfg_attr(
        not(feature = "pcsc"),
        command(
            about = "Write a new address into an in-process simulated card (--sim) through the write authority, and confirm it by a re-read"
        )
    )]
    #[command(after_help = WRITE_HELP)]
    WriteAddress(Box<WriteAddressArgs>),
    /// Measure APDUs, bytes and host CPU time per full read + verify.
    #[cfg_attr(
        feature = "pcsc",
        command(
            about = "Measure APDUs, bytes and time per full read + verify (in-process simulator, or through pcscd with --pcsc)"
        )
    )]
    #[cfg_attr(
        not(feature = "pcsc"),
        command(about = "Measure APDUs, bytes and host CPU time per full read + verify (in-process simulator)")
    )]
    Bench {
        /// Number of reads.
        #[arg(long, default_value_t = 50)]
        iterations: u32,
        /// Card types to measure (repeatable); default: 1, 2, 05, 06.
        #[arg(long, value_parser = sim_card_type())]
        card_type: Vec<CardType>,
        /// Measure through the real pcscd: serve the simulated card on vpcd (port
        /// 35963, reader "Virtual PCD 00 00") with the link model, and read it there.
        #[cfg(feature = "pcsc")]
        #[arg(long)]
        pcsc: bool,
        /// Measure an address write instead of a read: card-number access, the relayed
        /// write through the in-process authority (a throw-away test PKI) and the re-read,
        /// per card type (default: 1 and 05); prints APDUs, bytes, authority round trips,
        /// the modelled air time at --link (--link-model) and host CPU.
        #[cfg_attr(feature = "pcsc", arg(long, conflicts_with = "pcsc"))]
        #[cfg_attr(not(feature = "pcsc"), arg(long))]
        write: bool,
        /// Link speed for --pcsc and --write.
        #[arg(long, default_value = "424k", value_name = "RATE")]
        link: LinkSpeed,
        /// Air-time model for --pcsc and --write: `nominal` (bits / rate + per-frame overhead) or
        /// `type-b` (every bit on the air, with start/stop bits and turnarounds).
        #[arg(long, default_value = "nominal", value_name = "MODEL")]
        link_model: LinkModel,
    },
    /// List PC/SC readers.
    #[cfg(feature = "pcsc")]
    Readers {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// The counter loop: emit a JSON line when a card arrives, with its insertion id;
    /// take that insertion's card number as one line on stdin, read and verify, emit one
    /// JSON result line, emit a line on removal; runs until stdin closes.
    ///
    /// Events: `{"event":"card_inserted","insertion":N,"reader":…,"atr":…}`; a completed
    /// read `{"event":"result","insertion":N,"ok":OK,"verdict":VERDICT,"report":{…}}`,
    /// where `ok` is true exactly when `zairyu read` would exit 0 (verdict
    /// `production`); a failed read `{"event":"result","insertion":N,"ok":false,
    /// "error":{"code":…,"message":…}}`; `skipped`, `card_removed` (with `insertion`),
    /// `reader_unavailable`, and `line_rejected` for a line that is not used.
    ///
    /// Lines: `{"insertion": N, "card_number": "…"}` for insertion N (an empty number
    /// skips it), or a plain card number (or empty line) for the announced card still
    /// waiting for its number. A line for an insertion that is gone, a second line, or
    /// a line before any insertion is rejected and never used for another card.
    #[cfg(feature = "pcsc")]
    Watch {
        /// The reader.
        #[arg(long, value_name = "NAME")]
        reader: String,
        #[command(flatten)]
        trust: TrustArgs,
        #[command(flatten)]
        read: ReadArgs,
        /// Test hook: wait this many milliseconds between taking a card number and
        /// connecting to the card, widening the window in which a card can be swapped.
        #[arg(long, hide = true, value_name = "MS", default_value_t = 0)]
        test_delay_before_read: u64,
    },
    /// The counter page: a local web page for the clerk (wait for the card, type its
    /// number, see the verdict with the chip's images, save evidence, export, and
    /// write the address when an authority is given). Prints the page's URL with a
    /// per-run secret token; listens on loopback only unless told otherwise.
    #[cfg(feature = "counter")]
    Counter(Box<crate::counter::CounterArgs>),
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
    /// The test write PKI (address write, AWP v1).
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
}

/// `zairyu pki …`.
#[derive(Subcommand)]
pub enum PkiCommand {
    /// Make a TEST write PKI in DIR: write CVCA, DV, terminal key and certificate with
    /// the write right, write-issuer root and document signer for EF.ChipAuthInfo
    /// (every file named test-*, keys as PKCS#8 DER with mode 0600), and a test policy.toml
    /// letting the counter "test-counter" write for every municipality, so that DIR is an
    /// --authority-dir of `write-address`. Never overwrites.
    Init {
        /// The directory (created if needed).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// `zairyu sim …`.
#[derive(Subcommand)]
pub enum SimCommand {
    /// Run a simulated card as the card in a vpcd slot of pcscd (vsmartcard's virtual
    /// reader: port 35963 is "Virtual PCD 00 00", 35964 is "Virtual PCD 00 01").
    Serve(ServeArgs),
}

/// `zairyu sim serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// vpcd port.
    #[arg(long, default_value_t = zairyu_sim::vpcd::DEFAULT_PORT)]
    pub vpcd_port: u16,
    /// vpcd host.
    #[arg(long, default_value = "127.0.0.1")]
    pub vpcd_host: String,
    /// Card type.
    #[arg(long, default_value = "1", value_parser = sim_card_type())]
    pub card_type: CardType,
    /// Card number printed on the simulated card.
    #[arg(long, default_value = crate::read::SIM_CARD_NUMBER)]
    pub card_number: String,
    /// A holder under 16 (no photo, no signature).
    #[arg(long)]
    pub under_16: bool,
    /// Which PKI signs the card: `test` or `synthetic-production` (see `read --sim-pki`).
    #[arg(long, value_enum, default_value = "test", value_name = "PKI")]
    pub pki: SimPkiArg,
    /// Delay each exchange by its modelled ISO/IEC 14443 Type B air time.
    #[arg(long, value_name = "RATE")]
    pub link: Option<LinkSpeed>,
    /// Air-time model: `nominal` (bits / rate + per-frame overhead) or `type-b`.
    #[arg(long, default_value = "nominal", value_name = "MODEL")]
    pub link_model: LinkModel,
    /// Behave like a reader that cannot carry extended APDUs.
    #[arg(long)]
    pub short_apdus_only: bool,
    /// Link faults for tests (repeatable): drop-after:N, drop-mid-response:N, corrupt:APDU:INDEX.
    #[arg(long)]
    pub fault: Vec<ServeFault>,
    /// Give the card the address-write application, trusting the test write PKI in
    /// DIR (made by `zairyu pki init`); its card date starts at the CVCA's effective date.
    #[arg(long, value_name = "DIR")]
    pub write_pki: Option<PathBuf>,
    /// Keep the card's memory (files, card date, a pending commit) in FILE across
    /// power cycles and restarts: loaded at start, saved atomically after every
    /// change. The file must exist unless --init-state is given.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// With --state: issue a new card and create FILE (refused if it exists).
    #[arg(long, requires = "state")]
    pub init_state: bool,
    /// TESTS ONLY: issue a tampered card (a byte of a signed file changed after
    /// signing), so that a reader must find its signature invalid: `front-image` (the
    /// first generation's card-face image, the second's face image) or
    /// `printed-entries` (the second generation's printed entries); or
    /// `specified-card-type`, a card whose EF02 says `07` (a specified card, whose
    /// layout is not public), which a reader must refuse before authenticating.
    /// Not with a loaded --state, whose memory would replace the tampered file.
    #[arg(long, value_enum, value_name = "KIND", conflicts_with = "state")]
    pub tamper: Option<TamperKind>,
}

/// `sim serve --tamper` (tests only).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TamperKind {
    /// A byte of the card-face image (generation 1) or face image (generation 2).
    FrontImage,
    /// A byte of the printed entries (generation 2).
    PrintedEntries,
    /// EF02 (MF/000A) says card type `07`.
    SpecifiedCardType,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("zairyu").chain(args.iter().copied()))
    }

    fn sim_type(value: &str) -> Result<CardType, clap::Error> {
        match parse(&["read", "--card-number", "AB12345678CD", "--sim-card-type", value])?.command {
            Command::Read { card, .. } => Ok(card.source.sim.sim_card_type.expect("given")),
            _ => unreachable!("parsed a read"),
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn card_types_parse_with_the_cores_spellings() {
        assert_eq!(sim_type("1").unwrap(), CardType::ResidenceCard);
        assert_eq!(sim_type("2").unwrap(), CardType::SpecialPermanentResident);
        assert_eq!(sim_type("05").unwrap(), CardType::Gen2ResidenceCard);
        assert_eq!(sim_type("5").unwrap(), CardType::Gen2ResidenceCard);
        assert_eq!(sim_type("06").unwrap(), CardType::Gen2SpecialPermanentResident);
        // Types the simulator cannot issue, and non-types, are usage errors that name
        // the accepted values.
        for bad in ["07", "08", "3", "", "one"] {
            let e = sim_type(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidValue, "{bad:?}");
            let text = e.to_string();
            assert!(text.contains("[possible values: 1, 2, 05, 06]"), "{text}");
        }
    }

    #[test]
    fn policies_and_flows_parse_with_the_cores_spellings() {
        let read = |extra: &[&str]| match parse(&[&["read", "--card-number", "AB12345678CD"], extra].concat()) {
            Ok(Cli { command: Command::Read { card, .. }, .. }) => Ok((card.read.policy, card.read.force_flow)),
            Ok(_) => unreachable!("parsed a read"),
            Err(e) => Err(e.kind()),
        };
        assert_eq!(read(&[]), Ok((ReadPolicy::Full, None)));
        assert_eq!(read(&["--policy", "text-only"]), Ok((ReadPolicy::TextOnly, None)));
        assert_eq!(read(&["--policy", "text_only"]), Ok((ReadPolicy::TextOnly, None)));
        assert_eq!(read(&["--force-flow", "gen2"]), Ok((ReadPolicy::Full, Some(Flow::Gen2))));
        assert_eq!(read(&["--force-flow", "gen1-3des"]), Ok((ReadPolicy::Full, Some(Flow::Gen1))));
        assert_eq!(read(&["--policy", "Full"]), Err(ErrorKind::InvalidValue));
        assert_eq!(read(&["--force-flow", "gen3"]), Err(ErrorKind::InvalidValue));
    }

    #[test]
    fn the_simulator_only_when_asked_for() {
        let sim = |extra: &[&str]| match parse(&[&["read", "--card-number-stdin"], extra].concat()) {
            Ok(Cli { command: Command::Read { card, .. }, .. }) => Ok(card.source.sim.requested()),
            Ok(_) => unreachable!("parsed a read"),
            Err(e) => Err(e.kind()),
        };
        assert_eq!(sim(&[]), Ok(false));
        assert_eq!(sim(&["--sim"]), Ok(true));
        assert_eq!(sim(&["--sim-card-type", "05"]), Ok(true));
        assert_eq!(sim(&["--sim-card-number", "AB12345678CD"]), Ok(true));
        assert_eq!(sim(&["--sim-under-16"]), Ok(true));
        #[cfg(feature = "pcsc")]
        for extra in [&["--sim"][..], &["--sim-card-type", "1"], &["--sim-card-number", "X"], &["--sim-under-16"]] {
            assert_eq!(sim(&[&["--reader", "R"], extra].concat()), Err(ErrorKind::ArgumentConflict), "{extra:?}");
        }
    }

    #[test]
    fn serve_faults_parse_with_the_simulators_parser() {
        let faults = |args: &[&str]| match parse(&[&["sim", "serve"], args].concat()) {
            Ok(Cli { command: Command::Sim { command: SimCommand::Serve(a) }, .. }) => Ok(a.fault),
            Ok(_) => unreachable!("parsed sim serve"),
            Err(e) => Err(e.kind()),
        };
        assert_eq!(
            faults(&["--fault", "drop-after:8", "--fault", "corrupt:3:1"]),
            Ok(vec![ServeFault::DropAfter(8), ServeFault::CorruptByte { apdu: 3, index: 1 }])
        );
        assert_eq!(faults(&["--fault", "drop-after:x"]), Err(ErrorKind::ValueValidation));
        assert_eq!(faults(&["--fault", "explode"]), Err(ErrorKind::ValueValidation));
    }
}
