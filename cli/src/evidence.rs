//! `zairyu verify-evidence` and `zairyu export`: the evidence files `dump` writes,
//! re-verified without a card (`zairyu_evidence::verify_evidence`), and turned into
//! registry rows (`zairyu_evidence::export_row`). The formats and their limits are
//! the evidence crate's (README, "Evidence and export").

use std::path::{Path, PathBuf};

use zairyu::CardNumber;
use zairyu::verify::TrustStore;
use zairyu_evidence::{
    CsvOptions, EvidenceVerdict, ExportOptions, Integrity, StationStatus, export_row, verify_evidence, write_csv,
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
fn verify_all(files: &[PathBuf], trust: &TrustStore, jobs: usize) -> Result<Vec<EvidenceVerdict>, CliError> {
    let inputs = files.iter().map(|f| read_file(f)).collect::<Result<Vec<_>, _>>()?;
    let jobs = jobs.clamp(1, inputs.len().max(1));
    let chunk = inputs.len().div_ceil(jobs).max(1);
    let verdicts = std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|b| verify_evidence(b, trust)).collect::<Vec<_>>()))
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
    let station = match &v.station {
        StationStatus::Unsigned => "no station signature".to_owned(),
        StationStatus::Valid { key_sha256 } => format!("station signature valid (key {key_sha256})"),
        other => format!("station signature {other:?}"),
    };
    let verdict = v.verdict().map_or("-", |x| x.as_str());
    let same = if v.matches_recorded {
        "same result as the read".to_owned()
    } else {
        format!("DIFFERS from the read: {}", v.differences.join(", "))
    };
    format!("{integrity}; {station}; verdict {verdict}; {same}")
}

/// `zairyu verify-evidence`: exit 0 when every file is accepted (intact, station
/// signature valid or absent, the same verification result as the read), else 13.
pub fn verify(files: &[PathBuf], trust: &EvidenceTrustArgs, json: bool, jobs: usize) -> Result<u8, CliError> {
    let store = trust.store()?;
    let verdicts = verify_all(files, &store, jobs)?;
    let mut all = true;
    for (file, v) in files.iter().zip(&verdicts) {
        all &= v.accepted();
        let line = if json {
            let mut j = v.to_json();
            j["file"] = serde_json::Value::String(file.display().to_string());
            serde_json::to_string(&j).expect("JSON")
        } else {
            format!("{}: {}: {}", file.display(), if v.accepted() { "accepted" } else { "REJECTED" }, describe(v))
        };
        outln!("{line}")?;
    }
    Ok(if all { exit::OK } else { exit::EVIDENCE_REJECTED })
}

/// `zairyu export`: one registry row per evidence file; a file that is not accepted
/// is refused (exit 13) and nothing is written.
pub fn export(
    files: &[PathBuf],
    trust: &EvidenceTrustArgs,
    format: ExportFormat,
    bom: bool,
    japanese_era: bool,
    include_card_number: bool,
) -> Result<u8, CliError> {
    let store = trust.store()?;
    let verdicts = verify_all(files, &store, 1)?;
    if let Some((file, v)) = files.iter().zip(&verdicts).find(|(_, v)| !v.accepted()) {
        eprintln!("zairyu export: {}: REJECTED: {}", file.display(), describe(v));
        return Ok(exit::EVIDENCE_REJECTED);
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
        ExportFormat::Csv => write_csv(&rows, &CsvOptions { bom, guard_formulas: false }),
        ExportFormat::Jsonl => write_jsonl(&rows),
    };
    out!("{text}")?;
    Ok(exit::OK)
}
