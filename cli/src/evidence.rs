//! `zairyu verify-evidence` and `zairyu export`: the evidence files `dump` writes,
//! re-verified without a card (`zairyu_evidence::verify_evidence`), and turned into
//! registry rows (`zairyu_evidence::export_row`). The formats and their limits are
//! the evidence crate's (README, "Evidence and export"). With `--station-key-sha256`
//! (or `--station-key-pub`) only files signed by a pinned station key are accepted;
//! without, every accepted file's line (and `export`'s standard error) says that only
//! the chip-signed fields are proven.

use std::path::{Path, PathBuf};

use zairyu::CardNumber;
use zairyu::verify::TrustStore;
use zairyu_evidence::{
    CsvOptions, EvidenceVerdict, ExportOptions, Integrity, Proves, StationPin, StationStatus, UNPINNED_CAVEAT,
    VerifyOptions, export_row, parse_station_key_sha256, station_public_key_sha256, verify_evidence_with, write_csv,
    write_jsonl,
};

use crate::args::{EvidenceTrustArgs, ExportFormat, TrustArgs};
use crate::error::CliError;
use crate::exit;

impl EvidenceTrustArgs {
    /// The trust store evidence is checked with: `--trust-dir`, `--test-anchors`, and
    /// the simulator's test CAs with `--trust-sim-ca`.
    fn store(&self) -> Result<TrustStore, CliError> {
        let args = TrustArgs {
            trust_dir: self.trust_dir.clone(),
            test_anchors: self.test_anchors.clone(),
            no_sim_test_ca: !self.trust_sim_ca,
            ..TrustArgs::default()
        };
        Ok(args.store(true)?)
    }

    /// The pinned station keys: `--station-key-sha256` and `--station-key-pub`.
    fn station_keys(&self) -> Result<Vec<[u8; 32]>, CliError> {
        let mut pins = Vec::new();
        for hex in &self.station_key_sha256 {
            let pin = parse_station_key_sha256(hex).map_err(|_| {
                zairyu::Error::from(zairyu::error::InputError::BadOption {
                    option: "--station-key-sha256 (64 hex digits)",
                    value: hex.chars().take(16).collect(),
                })
            })?;
            pins.push(pin);
        }
        for path in &self.station_key_pub {
            let pin = station_public_key_sha256(&read_file(path)?).map_err(|e| {
                zairyu::Error::from(zairyu::error::InputError::BadFile {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })
            })?;
            pins.push(pin);
        }
        Ok(pins)
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| {
        zairyu::Error::from(zairyu::error::InputError::BadFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
        .into()
    })
}

/// Re-verifies every file, on `jobs` threads, keeping the files' order.
fn verify_all(
    files: &[PathBuf],
    trust: &TrustStore,
    pins: &[[u8; 32]],
    jobs: usize,
) -> Result<Vec<EvidenceVerdict>, CliError> {
    let inputs = files.iter().map(|f| read_file(f)).collect::<Result<Vec<_>, _>>()?;
    let opts = VerifyOptions { station_keys: pins, ..VerifyOptions::default() };
    let opts = &opts;
    let jobs = jobs.clamp(1, inputs.len().max(1));
    let chunk = inputs.len().div_ceil(jobs).max(1);
    let verdicts = std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|b| verify_evidence_with(b, trust, opts)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a verification thread does not panic")).collect()
    });
    Ok(verdicts)
}

fn describe(v: &EvidenceVerdict) -> String {
    let integrity = match &v.integrity {
        Integrity::Intact => "intact".to_owned(),
        Integrity::Altered(why) => format!("ALTERED ({why})"),
        Integrity::Malformed(why) => format!("MALFORMED ({why})"),
    };
    let station = match (&v.station, &v.station_pin) {
        (_, StationPin::Pinned { key_sha256 }) => format!("station signature valid (pinned key {key_sha256})"),
        (_, StationPin::UnknownKey { key_sha256 }) => {
            format!("station signature by key {key_sha256}, which is NOT PINNED")
        }
        (StationStatus::Unsigned, StationPin::Unsigned) => "NO station signature (a pinned key is required)".to_owned(),
        (StationStatus::Unsigned, _) => "no station signature".to_owned(),
        (StationStatus::Valid { key_sha256 }, _) => {
            format!("station signature valid under the key the file carries (key {key_sha256}, not pinned)")
        }
        (StationStatus::Invalid { reason }, _) => format!("station signature INVALID ({reason})"),
        (StationStatus::NotChecked, _) => "station signature not checked".to_owned(),
    };
    let verdict = v.verdict().map_or("-", |x| x.as_str());
    let same = if v.matches_recorded {
        "same result as the read".to_owned()
    } else {
        format!("DIFFERS from the read: {}", v.differences.join(", "))
    };
    format!("{integrity}; {station}; verdict {verdict}; {same}")
}

/// The line of one file: `accepted: …` and what that proves (with the caveat when no
/// station key is pinned), or `REJECTED: …` and why.
fn line(file: &Path, v: &EvidenceVerdict) -> String {
    let (file, what) = (file.display(), describe(v));
    match v.proves() {
        Proves::WholeFile => format!("{file}: accepted: {what}; proves the whole file (pinned station key)"),
        Proves::ChipSignedFieldsOnly => format!(
            "{file}: accepted: {what}; proves the chip-signed fields only. CAVEAT: {UNPINNED_CAVEAT} \
             (pin the station with --station-key-sha256)"
        ),
        Proves::Nothing => format!("{file}: REJECTED: {what}; rejected because: {}", v.rejection_reasons().join("; ")),
    }
}

/// `zairyu verify-evidence`: exit 0 when every file is accepted (intact, the same
/// verification result as the read, and the station signature valid or absent, or
/// with pinned keys made by one of them), else 13.
pub fn verify(files: &[PathBuf], trust: &EvidenceTrustArgs, json: bool, jobs: usize) -> Result<u8, CliError> {
    let store = trust.store()?;
    let pins = trust.station_keys()?;
    let verdicts = verify_all(files, &store, &pins, jobs)?;
    let mut all = true;
    for (file, v) in files.iter().zip(&verdicts) {
        all &= v.accepted();
        let text = if json {
            let mut j = v.to_json();
            j["file"] = serde_json::Value::String(file.display().to_string());
            serde_json::to_string(&j).expect("JSON")
        } else {
            line(file, v)
        };
        outln!("{text}")?;
    }
    Ok(if all { exit::OK } else { exit::EVIDENCE_REJECTED })
}

/// `zairyu export`: one registry row per evidence file; a file that is not accepted
/// (under the pinned station keys, if any) is refused (exit 13) and nothing is
/// written. Without pinned keys the rows are written with the caveat on standard
/// error: only the `*_signed` fields are proven.
pub fn export(
    files: &[PathBuf],
    trust: &EvidenceTrustArgs,
    format: ExportFormat,
    csv: CsvOptions,
    japanese_era: bool,
    include_card_number: bool,
) -> Result<u8, CliError> {
    let store = trust.store()?;
    let pins = trust.station_keys()?;
    let verdicts = verify_all(files, &store, &pins, 1)?;
    if let Some((file, v)) = files.iter().zip(&verdicts).find(|(_, v)| !v.accepted()) {
        eprintln!("zairyu export: {}", line(file, v));
        return Ok(exit::EVIDENCE_REJECTED);
    }
    if verdicts.iter().any(|v| v.proves() != Proves::WholeFile) {
        eprintln!(
            "zairyu export: CAVEAT: {UNPINNED_CAVEAT}; only the *_signed columns are proven (pin the station with --station-key-sha256)"
        );
    }
    let mut rows = Vec::with_capacity(verdicts.len());
    for v in &verdicts {
        let read = v.read.as_ref().expect("an accepted evidence file has its read");
        let number = match (&v.card_number_full, include_card_number) {
            (Some(n), true) => Some(CardNumber::parse(n).map_err(zairyu::Error::from)?),
            _ => None,
        };
        rows.push(export_row(read, &ExportOptions { card_number: number.as_ref(), japanese_era }));
    }
    if include_card_number && verdicts.iter().any(|v| v.card_number_full.is_none()) {
        eprintln!(
            "zairyu export: --include-card-number: an evidence file made without the number keeps it redacted (dump --include-card-number)"
        );
    }
    let text = match format {
        ExportFormat::Csv => write_csv(&rows, &csv),
        ExportFormat::Jsonl => write_jsonl(&rows),
    };
    out!("{text}")?;
    Ok(exit::OK)
}
