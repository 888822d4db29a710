//! `demo`, `read` and `dump`: read a card (in a PC/SC reader, or an in-process
//! simulated card), verify it, and print or write the result.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use zairyu::auth::OsRandom;
#[cfg(feature = "pcsc")]
use zairyu::error::TransportError;
use zairyu::files::CardType;
use zairyu::files::gen2::CodeTable;
use zairyu::report::Report;
use zairyu::sequence::{CardRead, RawFile, ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::transport::Transport;
use zairyu::verify::TrustStore;
use zairyu::{CardNumber, Error};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};
use zeroize::Zeroizing;

use crate::args::{CardArgs, ReadArgs, SimArgs, SourceArgs, TrustArgs};
use crate::error::{CliCode, CliError};
use crate::{exit, number, summary};

/// The card number of the simulated cards the CLI issues unless told otherwise.
pub const SIM_CARD_NUMBER: &str = "AB12345678CD";

impl ReadArgs {
    /// The core's read options.
    pub fn options(&self) -> Result<ReadOptions, Error> {
        let status_table = match &self.status_table {
            Some(path) => Some(Arc::new(CodeTable::load(path)?)),
            None => None,
        };
        Ok(ReadOptions { policy: self.policy, force_flow: self.force_flow, status_table, ..ReadOptions::default() })
    }
}

impl TrustArgs {
    /// The trust store: `--trust-dir` (pinned production roots), `--test-anchors`, and
    /// the simulator's test CAs if `with_sim_ca` and not `--no-sim-test-ca`.
    pub fn store(&self, with_sim_ca: bool) -> Result<TrustStore, Error> {
        let mut trust = TrustStore::new();
        if let Some(dir) = &self.trust_dir {
            trust.load_production_dir(dir)?;
        }
        if let Some(dir) = &self.test_anchors {
            trust.add_test_anchors_dir(dir)?;
        }
        if with_sim_ca && !self.no_sim_test_ca {
            zairyu_sim::add_test_anchors(&mut trust);
        }
        Ok(trust)
    }
}

/// Whether the simulator issues cards of type `t`: those whose files the core's layout
/// table describes (1, 2, 05, 06).
pub fn simulated(t: CardType) -> bool {
    !zairyu::layout::files(t).is_empty()
}

/// Issues a simulated card; options the simulator refuses are a typed input error.
pub fn issue(opts: &IssueOptions) -> Result<IssuedCard, Error> {
    IssuedCard::try_issue(opts).map_err(|e| {
        zairyu::error::InputError::BadFile { path: "simulated card options".into(), reason: e.to_string() }.into()
    })
}

/// Reads and verifies the card on `transport`.
pub fn read_on(
    transport: impl Transport,
    number: &CardNumber,
    trust: &TrustStore,
    opts: &ReadOptions,
) -> Result<CardRead, Error> {
    read_card(&mut Card::new(transport), number, trust, &mut OsRandom, opts)
}

fn read_sim(sim: &SimArgs, number: &CardNumber, trust: &TrustStore, opts: &ReadOptions) -> Result<CardRead, Error> {
    let issued = issue(&IssueOptions {
        card_type: sim.sim_card_type.unwrap_or(CardType::ResidenceCard),
        card_number: sim.sim_card_number.clone().unwrap_or_else(|| SIM_CARD_NUMBER.to_owned()),
        under_16: sim.sim_under_16,
        pki: sim.sim_pki.unwrap_or_default().into(),
        ..IssueOptions::default()
    })?;
    read_on(SimCard::new(issued), number, trust, opts)
}

/// The card `read` and `dump` read.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// The in-process simulated card (`--sim`, `--sim-*`).
    Sim,
    /// A PC/SC reader: `--reader`, or the one connected.
    #[cfg(feature = "pcsc")]
    Reader(String),
}

/// The card to read: `--reader NAME`; the simulator if asked for; else the one
/// connected PC/SC reader (an error listing them if there are none or several), or,
/// without PC/SC support, an error asking for `--sim`.
pub fn target(source: &SourceArgs) -> Result<Target, CliError> {
    #[cfg(feature = "pcsc")]
    if let Some(reader) = &source.reader {
        return Ok(Target::Reader(reader.clone()));
    }
    if source.sim.requested() {
        return Ok(Target::Sim);
    }
    #[cfg(feature = "pcsc")]
    {
        let names = match zairyu_pcsc::list_readers() {
            Ok(readers) => readers.into_iter().map(|r| r.name).collect(),
            Err(TransportError::ReaderUnavailable(why)) => return Err(no_reader(Some(&why))),
            Err(e) => return Err(e.into()),
        };
        the_one_reader(names).map(Target::Reader)
    }
    #[cfg(not(feature = "pcsc"))]
    Err(CliError::cli(
        CliCode::PcscNotBuilt,
        "this zairyu is built without PC/SC readers (feature `pcsc`): pass --sim to read the in-process \
         simulated card",
    ))
}

/// The error for no reader; `why` says why none could be listed.
#[cfg_attr(not(feature = "pcsc"), allow(dead_code))]
fn no_reader(why: Option<&str>) -> CliError {
    let why = why.map(|w| format!(" (PC/SC service unavailable: {w})")).unwrap_or_default();
    CliError::cli(
        CliCode::NoReader,
        format!(
            "no PC/SC reader is connected{why}: connect one (and start pcscd), name it with --reader NAME, or pass \
             --sim to read the in-process simulated card"
        ),
    )
}

/// The reader of a list of reader names: the only one; none or several is an error
/// that lists them.
#[cfg_attr(not(feature = "pcsc"), allow(dead_code))]
fn the_one_reader(mut names: Vec<String>) -> Result<String, CliError> {
    match names.len() {
        0 => Err(no_reader(None)),
        1 => Ok(names.remove(0)),
        n => {
            let list = names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
            Err(CliError::cli(
                CliCode::SeveralReaders,
                format!("{n} PC/SC readers are connected ({list}): choose one with --reader NAME"),
            ))
        }
    }
}

/// Reads the card `read` and `dump` are asked for; the read and the card number given.
/// Problems of the command line (the number's source, the reader to use) are found
/// before the number is read from its source.
fn read_source(card: &mut CardArgs) -> Result<(CardRead, CardNumber), CliError> {
    let number_source = card.number.source(number::env_set())?;
    let opts = card.read.options()?;
    let target = target(&card.source)?;
    let trust = &card.trust;
    match target {
        Target::Sim => {
            let store = trust.store(true)?;
            let number = number_source.read()?;
            Ok((read_sim(&card.source.sim, &number, &store, &opts)?, number))
        }
        #[cfg(feature = "pcsc")]
        Target::Reader(reader) => {
            // Real cards: the simulator's test CAs are not trusted unless asked for.
            let store = trust.store(trust.trust_sim_ca)?;
            let number = number_source.read()?;
            Ok((read_on(zairyu_pcsc::PcscCard::connect(&reader)?, &number, &store, &opts)?, number))
        }
    }
}

fn print(r: &CardRead, json: bool) -> Result<(), CliError> {
    if json {
        outln!("{}", Report::from_read(r).to_json_pretty())?;
    } else {
        out!("{}", summary::render(r))?;
    }
    Ok(())
}

/// `zairyu demo`.
pub fn demo(json: bool, generation: u8, card_type: Option<CardType>) -> Result<u8, CliError> {
    let sim_card_type =
        card_type.unwrap_or(if generation == 2 { CardType::Gen2ResidenceCard } else { CardType::ResidenceCard });
    let sim = SimArgs {
        sim: true,
        sim_card_type: Some(sim_card_type),
        sim_card_number: None,
        sim_under_16: false,
        sim_pki: None,
    };
    if !json {
        outln!("zairyu demo: a simulated card (synthetic data, test CA), card number {SIM_CARD_NUMBER}\n")?;
    }
    let number = CardNumber::parse(SIM_CARD_NUMBER)?;
    let r = read_sim(&sim, &number, &TrustArgs::default().store(true)?, &ReadOptions::default())?;
    print(&r, json)?;
    Ok(exit::for_demo(r.verification.verdict()))
}

/// `zairyu read`.
pub fn read(mut card: CardArgs, json: bool) -> Result<u8, CliError> {
    let (r, _number) = read_source(&mut card)?;
    print(&r, json)?;
    Ok(exit::for_verdict(r.verification.verdict()))
}

/// `zairyu dump`.
pub fn dump(
    mut card: CardArgs,
    out: &Path,
    include_card_number: bool,
    station_key: Option<&Path>,
) -> Result<u8, CliError> {
    // The key first: a key that does not load must not cost the clerk a card read.
    let station = station_key
        .map(|path| {
            zairyu_evidence::StationKey::from_pkcs8_file(path).map_err(|e| {
                let reason = match e {
                    zairyu_evidence::StationKeyError::Io { reason, .. } => {
                        format!("cannot read the station key: {reason}")
                    }
                    other => other.to_string(),
                };
                CliError::from(zairyu::Error::from(zairyu::error::InputError::BadFile {
                    path: path.display().to_string(),
                    reason,
                }))
            })
        })
        .transpose()?;
    let (r, number) = read_source(&mut card)?;
    write_dump(&r, out, &number, include_card_number, station.as_ref())?;
    let note = if include_card_number { "card number in full" } else { "card number redacted" };
    let signed = match &station {
        Some(k) => format!(", signed by station key {}", k.key_sha256()),
        None => String::new(),
    };
    outln!(
        "wrote {} card files ({note}), {} images (as stored and as PNG), report.json, report.html and evidence.json{signed} to {}",
        r.raw_files.len(),
        r.images().len(),
        out.display()
    )?;
    Ok(exit::for_verdict(r.verification.verdict()))
}

/// Writes every raw file, every present image (as stored and as PNG), the JSON report,
/// the side-by-side HTML report and the evidence file into `out`, each file created
/// mode 0600 (the directory, if created, 0700). Unless `include_card_number`, the card
/// number is redacted in the raw files ([`redacted`]) and in the evidence.
fn write_dump(
    r: &CardRead,
    out: &Path,
    number: &CardNumber,
    include_card_number: bool,
    station_key: Option<&zairyu_evidence::StationKey>,
) -> Result<(), CliError> {
    create_private_dir(out).map_err(|e| CliError::output(out, e))?;
    #[cfg(windows)]
    windows_access_note(out);
    let write = |name: String, bytes: &[u8]| {
        let path = out.join(name);
        write_private(&path, bytes).map_err(|e| CliError::output(path, e))
    };
    for f in &r.raw_files {
        let name = format!("{}.bin", f.name.replace('/', "-"));
        if include_card_number {
            write(name, &f.bytes)?;
        } else {
            write(name, &redacted(r.card_type, f, number))?;
        }
    }
    for (name, image) in r.images() {
        if image.is_present() {
            write(format!("{name}.{}", image.format.extension()), image.bytes())?;
        }
    }
    // PNG beside each stored image: a chip image that does not decode is reported and
    // skipped, never a failed dump (the report page shows "cannot be shown").
    let pngs: Vec<_> = zairyu_evidence::png_images(r)
        .into_iter()
        .filter(|p| r.images().iter().any(|(n, i)| *n == p.name && i.is_present()))
        .collect();
    for p in &pngs {
        match &p.png {
            Ok(png) => write(format!("{}.png", p.name), png)?,
            Err(e) => eprintln!("zairyu dump: {}.png not written [{}]: {e}", p.name, e.code()),
        }
    }
    write("report.json".to_owned(), Report::from_read(r).to_json_pretty().as_bytes())?;
    write("report.html".to_owned(), zairyu_evidence::report_html(r, &pngs).as_bytes())?;
    let policy = if include_card_number {
        zairyu_evidence::CardNumberPolicy::Include(number)
    } else {
        zairyu_evidence::CardNumberPolicy::RedactTyped(number)
    };
    let opts = zairyu_evidence::EvidenceOptions { card_number: policy, station_key, ..Default::default() };
    write("evidence.json".to_owned(), &zairyu_evidence::evidence_json(r, &opts))
}

/// Creates `dir` (and its parents) with mode 0700 where missing. On Windows there
/// is no mode: see `windows_access_note`.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to `path`, created with mode 0600; an existing file is truncated and
/// set to 0600 before anything is written to it. On Windows the file has no mode and
/// keeps (or inherits) its folder's access control list: see `windows_access_note`.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.flush()
}

/// Windows: `dump` sets no access control list of its own; its files inherit the one
/// of the folder they are written to. Under the user's profile folder
/// (`%USERPROFILE%`, e.g. `C:\Users\NAME\Documents`) Windows gives that to the user,
/// SYSTEM and the Administrators only; elsewhere (`C:\temp`, a shared or network
/// drive) other users of the PC may read it. So when `out` is not under the profile
/// folder, `dump` says so on standard error (the dump is still written).
#[cfg(windows)]
fn windows_access_note(out: &Path) {
    let profile = std::env::var_os("USERPROFILE").and_then(|p| std::fs::canonicalize(p).ok());
    let dir = std::fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf());
    if let Some(profile) = profile
        && dir.starts_with(&profile)
    {
        return;
    }
    eprintln!(
        "zairyu dump: note: on Windows the files get the permissions (access control list) of {}, which is not \
         under your profile folder (%USERPROFILE%): other users of this PC may be able to read them. \
         Dump under your profile folder for files only you (and the administrators) can read.",
        out.display()
    );
}

/// Masks a card number in place as the report redacts it (`AB********CD`); a value of
/// another length is masked whole.
fn mask(value: &mut [u8]) {
    match value.len() {
        12 => value[2..10].fill(b'*'),
        _ => value.fill(b'*'),
    }
}

/// A raw file as `dump` writes it by default: the second generation's DF1/EF01 with
/// its `C2` value (the card number on the chip, GEN2 §3.3.4.3) masked, and, in every
/// file, any occurrence of `number` (ASCII case ignored) masked.
fn redacted(card_type: CardType, file: &RawFile, number: &CardNumber) -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(file.bytes.to_vec());
    if card_type.generation() == 2
        && file.name == zairyu::layout::gen2::DF1_EF01.name
        && let Ok(objects) = zairyu::tlv::parse_all(file.name, &file.bytes)
    {
        let base = file.bytes.as_ptr().addr();
        for t in objects.iter().filter(|t| t.tag == 0xC2) {
            let start = t.value.as_ptr().addr() - base;
            mask(&mut bytes[start..start + t.value.len()]);
        }
    }
    let needle = number.expose();
    let mut i = 0;
    while i + needle.len() <= bytes.len() {
        if bytes[i..i + needle.len()].eq_ignore_ascii_case(needle) {
            mask(&mut bytes[i..i + needle.len()]);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_sim_card(card_type: CardType) -> (CardRead, CardNumber) {
        let sim = SimArgs {
            sim: true,
            sim_card_type: Some(card_type),
            sim_card_number: None,
            sim_under_16: false,
            sim_pki: None,
        };
        let number = CardNumber::parse(SIM_CARD_NUMBER).unwrap();
        let trust = TrustArgs::default().store(true).unwrap();
        (read_sim(&sim, &number, &trust, &ReadOptions::default()).unwrap(), number)
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn the_second_generation_card_number_is_masked_in_df1_ef01() {
        for t in [CardType::Gen2ResidenceCard, CardType::Gen2SpecialPermanentResident] {
            let (r, number) = read_sim_card(t);
            let ef01 = r.raw_files.iter().find(|f| f.name == "DF1/EF01").expect("DF1/EF01 read");
            assert!(contains(&ef01.bytes, SIM_CARD_NUMBER.as_bytes()), "the chip holds the number");
            // A number that differs from the chip's still leaves no trace of the chip's.
            let other = CardNumber::parse("ZZ00000000ZZ").unwrap();
            for n in [&number, &other] {
                let out = redacted(r.card_type, ef01, n);
                assert_eq!(out.len(), ef01.bytes.len());
                assert!(!contains(&out, SIM_CARD_NUMBER.as_bytes()));
                assert!(contains(&out, b"AB********CD"));
            }
            for f in &r.raw_files {
                assert!(!contains(&redacted(r.card_type, f, &number), SIM_CARD_NUMBER.as_bytes()), "{}", f.name);
            }
        }
    }

    #[test]
    fn the_typed_number_is_masked_wherever_it_appears() {
        let (r, _) = read_sim_card(CardType::ResidenceCard);
        let mut file = RawFile { name: "MF/EF01", bytes: Zeroizing::new(b"xxab12345678cdyyAB12345678CD".to_vec()) };
        let number = CardNumber::parse("AB12345678CD").unwrap();
        assert_eq!(&redacted(r.card_type, &file, &number)[..], b"xxab********cdyyAB********CD");
        file.bytes = Zeroizing::new(b"AB12345678C".to_vec());
        assert_eq!(&redacted(r.card_type, &file, &number)[..], b"AB12345678C");
        let mut short = *b"ABC";
        mask(&mut short);
        assert_eq!(&short, b"***");
    }

    #[test]
    fn the_one_reader_or_an_error_that_lists_them() {
        assert_eq!(the_one_reader(vec!["Reader A".into()]).unwrap(), "Reader A");
        let none = the_one_reader(Vec::new()).unwrap_err();
        assert_eq!((none.code(), none.exit_code()), ("no_reader", exit::CARD_OR_TRANSPORT));
        assert!(none.to_string().contains("--sim") && none.to_string().contains("--reader"), "{none}");
        let several = the_one_reader(vec!["Reader A".into(), "Reader B".into()]).unwrap_err();
        assert_eq!((several.code(), several.exit_code()), ("several_readers", exit::USAGE));
        assert!(
            several.to_string().starts_with("2 PC/SC readers are connected (\"Reader A\", \"Reader B\")"),
            "{several}"
        );
    }
}
