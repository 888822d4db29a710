//! The audit log as an append-only file of JSON lines, one record a line.
//!
//! Each append writes one whole line and `fsync`s the file before it returns; a new
//! file is created with mode `0600` and its directory synced. Opening verifies the
//! whole chain and refuses a broken log (the authority fails closed rather than
//! chaining new records to a tampered one). One writer per file: the service's
//! many instances share a database instead (issue 13).
//!
//! A line:
//!
//! ```json
//! {"seq":1,"prev_hash":"00…","time_unix":1777507200,"session":"9f…","counter_id":"window-1",
//!  "operator_id":"clerk-007","card_number_sha256":"5b…","target":"DF2/EF01",
//!  "municipality_code":"131016","address":"東京都…","old_content_sha256":null,
//!  "new_content_sha256":"a1…","result":"refused","refusal_code":"policy_unknown_counter",
//!  "refusal_message":"…","hash":"c4…"}
//! ```

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use super::{
    AuditEntry, AuditError, AuditHead, AuditLog, AuditRecord, AuditResult, BreakKind, chain_entry, verify_chain,
};

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    seq: u64,
    prev_hash: String,
    time_unix: u64,
    session: String,
    counter_id: String,
    operator_id: String,
    card_number_sha256: Option<String>,
    target: Option<String>,
    municipality_code: Option<String>,
    address: Option<String>,
    old_content_sha256: Option<String>,
    new_content_sha256: Option<String>,
    result: String,
    refusal_code: Option<String>,
    refusal_message: Option<String>,
    hash: String,
}

fn h32(s: &str) -> Option<[u8; 32]> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

fn opt_h32(s: &Option<String>) -> Option<Option<[u8; 32]>> {
    match s {
        None => Some(None),
        Some(s) => h32(s).map(Some),
    }
}

impl Line {
    fn of(e: &AuditEntry) -> Self {
        let r = &e.record;
        Line {
            seq: e.seq,
            prev_hash: hex::encode(e.prev_hash),
            time_unix: r.time_unix,
            session: r.session.clone(),
            counter_id: r.counter_id.clone(),
            operator_id: r.operator_id.clone(),
            card_number_sha256: r.card_number_sha256.map(hex::encode),
            target: r.target.clone(),
            municipality_code: r.municipality_code.clone(),
            address: r.address.clone(),
            old_content_sha256: r.old_content_sha256.map(hex::encode),
            new_content_sha256: r.new_content_sha256.map(hex::encode),
            result: r.result.name().to_owned(),
            refusal_code: r.result.code().map(str::to_owned),
            refusal_message: r.result.message().map(str::to_owned),
            hash: hex::encode(e.hash),
        }
    }

    fn entry(self) -> Option<AuditEntry> {
        Some(AuditEntry {
            seq: self.seq,
            prev_hash: h32(&self.prev_hash)?,
            hash: h32(&self.hash)?,
            record: AuditRecord {
                time_unix: self.time_unix,
                session: self.session,
                counter_id: self.counter_id,
                operator_id: self.operator_id,
                card_number_sha256: opt_h32(&self.card_number_sha256)?,
                target: self.target,
                municipality_code: self.municipality_code,
                address: self.address,
                old_content_sha256: opt_h32(&self.old_content_sha256)?,
                new_content_sha256: opt_h32(&self.new_content_sha256)?,
                result: AuditResult::from_parts(&self.result, self.refusal_code, self.refusal_message)?,
            },
        })
    }
}

/// The audit log in a JSON-lines file.
#[derive(Debug)]
pub struct JsonlAuditLog {
    path: PathBuf,
    file: File,
    head: AuditHead,
}

fn io(path: &Path, e: std::io::Error) -> AuditError {
    AuditError::Io(format!("{}: {e}", path.display()))
}

/// Reads and parses every line of `path`.
fn read_entries(path: &Path) -> Result<Vec<Result<AuditEntry, BreakKind>>, AuditError> {
    let mut f = File::open(path).map_err(|e| io(path, e))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(|e| io(path, e))?;
    let mut out = Vec::new();
    let complete = bytes.last().is_none_or(|&b| b == b'\n');
    let mut lines = BufReader::new(&bytes[..]).split(b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.map_err(|e| io(path, e))?;
        let last = lines.peek().is_none();
        if last && !complete {
            out.push(Err(BreakKind::Truncated));
            break;
        }
        let parsed = serde_json::from_slice::<Line>(&line).ok().and_then(Line::entry);
        out.push(parsed.ok_or(BreakKind::Altered));
    }
    Ok(out)
}

impl JsonlAuditLog {
    /// Opens (or creates, mode `0600`) the log at `path` and verifies its chain; a
    /// broken log is refused with the break.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let existed = path.exists();
        let mut opts = OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(path).map_err(|e| io(path, e))?;
        if !existed {
            file.sync_all().map_err(|e| io(path, e))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // Make the new directory entry durable too (best effort where a
                // directory cannot be opened).
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
        }
        let verified = verify_chain(&read_entries(path)?, None)?;
        Ok(JsonlAuditLog { path: path.to_path_buf(), file, head: verified.head })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AuditLog for JsonlAuditLog {
    fn append(&mut self, record: &AuditRecord) -> Result<AuditHead, AuditError> {
        let entry = chain_entry(&self.head, record);
        let mut line = serde_json::to_vec(&Line::of(&entry)).map_err(|e| AuditError::Io(e.to_string()))?;
        line.push(b'\n');
        // One write of the whole line, then fsync: the call returns only once the
        // record is on disk.
        self.file.write_all(&line).map_err(|e| io(&self.path, e))?;
        self.file.sync_data().map_err(|e| io(&self.path, e))?;
        self.head = AuditHead { seq: entry.seq, hash: entry.hash };
        Ok(self.head)
    }

    fn entries(&self) -> Result<Vec<Result<AuditEntry, BreakKind>>, AuditError> {
        read_entries(&self.path)
    }

    fn head(&self) -> AuditHead {
        self.head
    }
}

/// Entries as stored, without opening the log (tests).
#[cfg(test)]
pub(super) fn tests_read(path: &Path) -> Vec<Result<AuditEntry, BreakKind>> {
    read_entries(path).unwrap()
}
