use std::path::{Path, PathBuf};

use super::*;

pub(crate) fn record(i: u64) -> AuditRecord {
    AuditRecord {
        time_unix: 1_777_507_200 + i,
        session: format!("{i:032x}"),
        counter_id: "window-1".into(),
        operator_id: format!("clerk-{i}"),
        card_number_sha256: Some([i as u8; 32]),
        target: Some("DF2/EF01".into()),
        municipality_code: Some("131016".into()),
        address: Some("東京都千代田区霞が関１－１－１".into()),
        old_content_sha256: i.is_multiple_of(2).then_some([0xAA; 32]),
        new_content_sha256: Some([0xBB; 32]),
        result: match i % 3 {
            0 => AuditResult::Opened,
            1 => AuditResult::Written,
            _ => AuditResult::Refused { code: "policy_unknown_counter".into(), message: "no".into() },
        },
    }
}

/// The two stores, with the ways a test tampers with each.
#[derive(Clone, Copy, Debug)]
enum Store {
    Jsonl,
    Sqlite,
}

const STORES: [Store; 2] = [Store::Jsonl, Store::Sqlite];

impl Store {
    fn path(self, dir: &Path) -> PathBuf {
        match self {
            Store::Jsonl => dir.join("audit.jsonl"),
            Store::Sqlite => dir.join("audit.sqlite3"),
        }
    }

    fn open(self, path: &Path) -> Result<Box<dyn AuditLog>, AuditError> {
        Ok(match self {
            Store::Jsonl => Box::new(JsonlAuditLog::open(path)?),
            Store::Sqlite => Box::new(SqliteAuditLog::open(path)?),
        })
    }

    /// A log of `n` records; returns it with its path and head.
    fn filled(self, dir: &Path, n: u64) -> (PathBuf, AuditHead) {
        let path = self.path(dir);
        let mut log = self.open(&path).unwrap();
        let mut head = AuditHead::EMPTY;
        for i in 1..=n {
            head = log.append(&record(i)).unwrap();
        }
        (path, head)
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect()
    }

    fn write_lines(path: &Path, lines: &[String]) {
        std::fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    }

    /// Raw SQL on the database, with the append-only triggers dropped first (as
    /// someone with the file could).
    fn sql(path: &Path, sql: &str) {
        let c = rusqlite::Connection::open(path).unwrap();
        c.execute_batch("DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;")
            .unwrap();
        c.execute_batch(sql).unwrap();
    }

    fn remove(self, path: &Path, seq: u64) {
        match self {
            Store::Jsonl => {
                let mut l = Self::lines(path);
                l.remove(seq as usize - 1);
                Self::write_lines(path, &l);
            }
            Store::Sqlite => Self::sql(path, &format!("DELETE FROM audit_log WHERE seq = {seq}")),
        }
    }

    /// Changes the operator id of record `seq`, leaving its stored hash.
    fn alter(self, path: &Path, seq: u64) {
        match self {
            Store::Jsonl => {
                let mut l = Self::lines(path);
                let i = seq as usize - 1;
                assert!(l[i].contains(&format!("\"clerk-{seq}\"")));
                l[i] = l[i].replace(&format!("\"clerk-{seq}\""), "\"clerk-999\"");
                Self::write_lines(path, &l);
            }
            Store::Sqlite => {
                Self::sql(path, &format!("UPDATE audit_log SET operator_id = 'clerk-999' WHERE seq = {seq}"))
            }
        }
    }

    /// Changes record `seq` and stores the hash that its new content has: a careful
    /// forger's change.
    fn alter_and_rehash(self, path: &Path, seq: u64) {
        let entries = self.open_unchecked_entries(path);
        let mut e = entries[seq as usize - 1].clone();
        e.record.operator_id = "clerk-999".into();
        let new_hash = entry_hash(e.seq, &e.prev_hash, &e.record);
        match self {
            Store::Jsonl => {
                let mut l = Self::lines(path);
                let i = seq as usize - 1;
                l[i] = l[i]
                    .replace(&format!("\"clerk-{seq}\""), "\"clerk-999\"")
                    .replace(&hex::encode(e.hash), &hex::encode(new_hash));
                Self::write_lines(path, &l);
            }
            Store::Sqlite => Self::sql(
                path,
                &format!(
                    "UPDATE audit_log SET operator_id = 'clerk-999', hash = x'{}' WHERE seq = {seq}",
                    hex::encode(new_hash)
                ),
            ),
        }
    }

    /// Swaps records `a` and `b` in store order.
    fn swap(self, path: &Path, a: u64, b: u64) {
        match self {
            Store::Jsonl => {
                let mut l = Self::lines(path);
                l.swap(a as usize - 1, b as usize - 1);
                Self::write_lines(path, &l);
            }
            Store::Sqlite => Self::sql(
                path,
                &format!(
                    "UPDATE audit_log SET id = -1 WHERE seq = {a};
                     UPDATE audit_log SET id = {a} WHERE seq = {b};
                     UPDATE audit_log SET id = {b} WHERE id = -1;"
                ),
            ),
        }
    }

    /// Entries as stored, without the verification `open` does.
    fn open_unchecked_entries(self, path: &Path) -> Vec<AuditEntry> {
        let entries = match self {
            Store::Jsonl => super::jsonl::tests_read(path),
            Store::Sqlite => super::sqlite::tests_read(path),
        };
        entries.into_iter().map(Result::unwrap).collect()
    }

    fn verify(self, path: &Path, head: Option<&AuditHead>) -> Result<Verified, ChainBreak> {
        let entries = match self {
            Store::Jsonl => super::jsonl::tests_read(path),
            Store::Sqlite => super::sqlite::tests_read(path),
        };
        verify_chain(&entries, head)
    }
}

fn brk(seq: u64, kind: BreakKind) -> Result<Verified, ChainBreak> {
    Err(ChainBreak { seq, kind })
}

#[test]
fn append_verify_and_reopen_continue_the_chain() {
    for store in STORES {
        let dir = tempfile::tempdir().unwrap();
        let (path, head) = store.filled(dir.path(), 5);
        assert_eq!(head.seq, 5);
        let mut log = store.open(&path).unwrap();
        assert_eq!(log.head(), head, "{store:?}");
        assert_eq!(log.verify().unwrap(), Verified { records: 5, head });
        assert_eq!(log.verify_against(&head).unwrap().records, 5);
        // The next record chains to the last one.
        let h6 = log.append(&record(6)).unwrap();
        let entries = store.open_unchecked_entries(&path);
        assert_eq!(entries.len(), 6);
        assert_eq!(entries[5].prev_hash, head.hash);
        assert_eq!(entries[5].record, record(6));
        assert_eq!(entries[0].prev_hash, GENESIS);
        assert_eq!(h6, AuditHead { seq: 6, hash: entries[5].hash });
        // An earlier head still verifies: the log only grew.
        assert!(log.verify_against(&head).is_ok());
        // Every field of every record read back is what was appended.
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.record, record(i as u64 + 1), "{store:?}");
        }
    }
}

#[test]
fn a_removed_record_is_detected() {
    for store in STORES {
        for seq in [1, 3] {
            let dir = tempfile::tempdir().unwrap();
            let (path, head) = store.filled(dir.path(), 5);
            store.remove(&path, seq);
            assert_eq!(store.verify(&path, None), brk(seq, BreakKind::Removed), "{store:?} {seq}");
            assert_eq!(store.verify(&path, Some(&head)), brk(seq, BreakKind::Removed));
            // A broken log is not opened for appending.
            let e = store.open(&path).err().unwrap();
            assert_eq!(e.chain_break(), Some(ChainBreak { seq, kind: BreakKind::Removed }));
        }
    }
}

#[test]
fn an_altered_record_is_detected() {
    for store in STORES {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = store.filled(dir.path(), 5);
        store.alter(&path, 3);
        assert_eq!(store.verify(&path, None), brk(3, BreakKind::Altered), "{store:?}");
        assert!(store.open(&path).is_err());
    }
}

#[test]
fn an_altered_record_with_a_recomputed_hash_is_detected_by_its_successor_or_the_head() {
    for store in STORES {
        let dir = tempfile::tempdir().unwrap();
        let (path, head) = store.filled(dir.path(), 5);
        store.alter_and_rehash(&path, 3);
        assert_eq!(store.verify(&path, None), brk(3, BreakKind::Altered), "{store:?}");
        // The last record has no successor: only the head kept elsewhere shows it.
        let dir = tempfile::tempdir().unwrap();
        let (path, head5) = store.filled(dir.path(), 5);
        store.alter_and_rehash(&path, 5);
        assert!(store.verify(&path, None).is_ok());
        assert_eq!(store.verify(&path, Some(&head5)), brk(5, BreakKind::Altered), "{store:?}");
        let _ = head;
    }
}

#[test]
fn reordered_records_are_detected() {
    for store in STORES {
        for (a, b) in [(2, 3), (1, 5), (4, 5)] {
            let dir = tempfile::tempdir().unwrap();
            let (path, _) = store.filled(dir.path(), 5);
            store.swap(&path, a, b);
            assert_eq!(store.verify(&path, None), brk(a, BreakKind::Reordered), "{store:?} {a} {b}");
        }
    }
}

#[test]
fn a_truncated_log_is_detected() {
    // The JSON-lines file cut in the middle of its last record.
    let dir = tempfile::tempdir().unwrap();
    let (path, head) = Store::Jsonl.filled(dir.path(), 5);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 40]).unwrap();
    assert_eq!(Store::Jsonl.verify(&path, None), brk(5, BreakKind::Truncated));
    assert_eq!(
        JsonlAuditLog::open(&path).unwrap_err().chain_break(),
        Some(ChainBreak { seq: 5, kind: BreakKind::Truncated })
    );
    // Cut at a line boundary: the chain that is left is whole, so only the head
    // shows the records cut off.
    for store in STORES {
        let dir = tempfile::tempdir().unwrap();
        let (path, head) = store.filled(dir.path(), 5);
        match store {
            Store::Jsonl => {
                let l = Store::lines(&path);
                Store::write_lines(&path, &l[..3]);
            }
            Store::Sqlite => Store::sql(&path, "DELETE FROM audit_log WHERE seq > 3"),
        }
        assert!(store.verify(&path, None).is_ok());
        assert_eq!(store.verify(&path, Some(&head)), brk(4, BreakKind::Removed), "{store:?}");
        let log = store.open(&path).unwrap();
        assert_eq!(
            log.verify_against(&head).unwrap_err().chain_break(),
            Some(ChainBreak { seq: 4, kind: BreakKind::Removed })
        );
    }
    let _ = head;
}

#[test]
fn unreadable_records_count_as_altered() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = Store::Jsonl.filled(dir.path(), 3);
    let mut l = Store::lines(&path);
    // A field the hash does not cover.
    l[1] = l[1].replacen('{', "{\"note\":\"x\",", 1);
    Store::write_lines(&path, &l);
    assert_eq!(Store::Jsonl.verify(&path, None), brk(2, BreakKind::Altered));
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = Store::Sqlite.filled(dir.path(), 3);
    Store::sql(&path, "UPDATE audit_log SET hash = x'00' WHERE seq = 2");
    assert_eq!(Store::Sqlite.verify(&path, None), brk(2, BreakKind::Altered));
}

#[test]
fn every_field_is_covered_by_the_hash() {
    let base = record(2);
    let h = entry_hash(2, &[7; 32], &base);
    let mut variants: Vec<AuditRecord> = Vec::new();
    let mut v = |f: &dyn Fn(&mut AuditRecord)| {
        let mut r = base.clone();
        f(&mut r);
        variants.push(r);
    };
    v(&|r| r.time_unix += 1);
    v(&|r| r.session.push('0'));
    v(&|r| r.counter_id.push('x'));
    v(&|r| r.operator_id.push('x'));
    v(&|r| r.card_number_sha256 = None);
    v(&|r| r.target = Some("DF1/EF04".into()));
    v(&|r| r.target = None);
    v(&|r| r.municipality_code = Some("131091".into()));
    v(&|r| r.address = Some("東京都".into()));
    v(&|r| r.address = Some(String::new()));
    v(&|r| r.old_content_sha256 = None);
    v(&|r| r.old_content_sha256 = Some([0xAB; 32]));
    v(&|r| r.new_content_sha256 = Some([0xBC; 32]));
    v(&|r| r.result = AuditResult::Written);
    v(&|r| r.result = AuditResult::Refused { code: "policy_unknown_counter".into(), message: "nO".into() });
    v(&|r| r.result = AuditResult::Refused { code: "card_refused".into(), message: "no".into() });
    // Field boundaries are part of the encoding.
    v(&|r| {
        r.counter_id = "window-1c".into();
        r.operator_id = "lerk-2".into();
    });
    for (i, r) in variants.iter().enumerate() {
        assert_ne!(entry_hash(2, &[7; 32], r), h, "variant {i}");
    }
    assert_ne!(entry_hash(3, &[7; 32], &base), h);
    assert_ne!(entry_hash(2, &[8; 32], &base), h);
    assert_eq!(entry_hash(2, &[7; 32], &base.clone()), h);
}

#[test]
fn sqlite_refuses_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = Store::Sqlite.filled(dir.path(), 2);
    let c = rusqlite::Connection::open(&path).unwrap();
    assert!(c.execute("UPDATE audit_log SET operator_id = 'x' WHERE seq = 1", []).is_err());
    assert!(c.execute("DELETE FROM audit_log WHERE seq = 1", []).is_err());
    drop(c);
    assert!(Store::Sqlite.verify(&path, None).is_ok());
}

#[cfg(unix)]
#[test]
fn the_jsonl_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = Store::Jsonl.filled(dir.path(), 1);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}
