//! The audit log: every action that changes the archive appends an entry chained
//! by hash to the one before, inside the action's own transaction, and the newest
//! entry is also kept in a file beside the database, so editing, reordering or
//! deleting entries (even the last ones) shows.
//!
//! Writers are many (a CLI ingest, the server's filing thread, every upload
//! request at once), so an audited change is an [`AuditedTx`]: it holds the
//! audit lock (a short file lock, so the head file is staged, committed and
//! promoted by one writer at a time) and a `BEGIN IMMEDIATE` transaction (the
//! database's write lock from the start: a deferred transaction that read first
//! fails with "database is locked" at once when another writer committed).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, params};

use super::{Archive, ArchiveError};
use crate::durable::store_durably;

/// The file beside the database holding the audit chain's newest entry.
pub const AUDIT_HEAD: &str = "audit.head";
/// The head an action is about to commit, written before its commit and renamed
/// to [`AUDIT_HEAD`] after it: a crash in between never looks like tampering.
const AUDIT_HEAD_STAGED: &str = "audit.head.next";

/// Writes the head an action is about to commit, durably, before the commit.
pub(super) fn stage_audit_head(root: &Path, head: &(i64, String)) -> Result<(), ArchiveError> {
    let path = root.join(AUDIT_HEAD_STAGED);
    store_durably(&path, format!("{} {}\n", head.0, head.1).as_bytes())
        .map_err(|source| ArchiveError::Folder { path, source })
}

/// Makes the staged head the head, once its entry is committed.
pub(super) fn promote_audit_head(root: &Path) -> Result<(), ArchiveError> {
    // Fault injection for the crash test: committed, head not yet promoted.
    if std::env::var("AUP_FAULT").as_deref() == Ok("after-commit") {
        std::process::abort();
    }
    let (staged, head) = (root.join(AUDIT_HEAD_STAGED), root.join(AUDIT_HEAD));
    let promoted =
        std::fs::rename(&staged, &head).and_then(|()| std::fs::File::open(root)?.sync_all());
    promoted.map_err(|source| ArchiveError::Folder { path: head, source })
}

/// The lock file every writer of the audit chain holds for one change.
const AUDIT_LOCK: &str = "audit.lock";
/// How long a writer waits for the audit lock and the database's write lock
/// before the change is refused: each holder keeps them for milliseconds.
const WRITE_WAIT: Duration = Duration::from_secs(60);

/// The audit lock, held while it lives.
pub(super) struct AuditLock {
    _file: std::fs::File,
}

/// Takes the audit lock, waiting (with back-off) for another writer's change.
pub(super) fn audit_lock(root: &Path) -> Result<AuditLock, ArchiveError> {
    let (file, path) = super::lock::open_lock_file(&root.join(AUDIT_LOCK))?;
    let deadline = Instant::now() + WRITE_WAIT;
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(AuditLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(ArchiveError::Busy(path)),
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(ArchiveError::Folder { path, source });
            }
        }
    }
}

/// A change that the audit log records: its transaction, begun with the
/// database's write lock, and the audit lock; [`AuditedTx::commit`] appends the
/// entry in the same transaction. Dropped without a commit, nothing happened.
pub(crate) struct AuditedTx<'a> {
    // Declared before the lock: the transaction rolls back before the lock goes.
    tx: rusqlite::Transaction<'a>,
    root: PathBuf,
    _lock: AuditLock,
}

impl<'a> std::ops::Deref for AuditedTx<'a> {
    type Target = rusqlite::Transaction<'a>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl AuditedTx<'_> {
    /// Appends the entry for this change and commits both at once.
    pub(crate) fn commit(self, action: &str, detail: &str) -> Result<(), ArchiveError> {
        let head = append_audit(&self.tx, action, detail)?;
        stage_audit_head(&self.root, &head)?;
        self.tx.commit()?;
        promote_audit_head(&self.root)
    }
}

/// `BEGIN IMMEDIATE`, tried again with back-off while another writer holds the
/// database (SQLite's own busy timeout waits inside each try).
pub(super) fn begin_immediate(
    conn: &rusqlite::Connection,
) -> Result<rusqlite::Transaction<'_>, ArchiveError> {
    let deadline = Instant::now() + WRITE_WAIT;
    let mut pause = Duration::from_millis(20);
    loop {
        match rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate) {
            Ok(tx) => return Ok(tx),
            Err(error)
                if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            Err(error) => return Err(error.into()),
        }
    }
}

const GENESIS: &str = "aup-audit-genesis";

struct AuditEntry {
    id: i64,
    at: String,
    action: String,
    detail: String,
    prev_hash: String,
    hash: String,
}

fn entry_hash(prev: &str, at: &str, action: &str, detail: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [prev, at, action, detail] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    crate::form::id::hex(&hasher.finalize())
}

/// Appends an entry chained to the previous one, inside the action's transaction.
pub(super) fn append_audit(
    tx: &rusqlite::Transaction<'_>,
    action: &str,
    detail: &str,
) -> Result<(i64, String), ArchiveError> {
    let prev: String = tx
        .query_row(
            "SELECT hash FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or_else(|| GENESIS.to_owned());
    let at = crate::clock::now_text();
    let hash = entry_hash(&prev, &at, action, detail);
    tx.execute(
        "INSERT INTO audit (at, action, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, action, detail, prev, hash],
    )?;
    Ok((tx.last_insert_rowid(), hash))
}

impl Archive {
    /// Begins a change the audit log will record (see [`AuditedTx`]).
    pub(crate) fn begin_audited(&self) -> Result<AuditedTx<'_>, ArchiveError> {
        let lock = audit_lock(&self.root)?;
        Ok(AuditedTx {
            tx: begin_immediate(&self.conn)?,
            root: self.root.clone(),
            _lock: lock,
        })
    }

    /// After a crash between an index commit and the promotion of the audit head
    /// (see [`stage_audit_head`]): a staged head that names the chain's newest
    /// entry is promoted; one that names nothing committed is dropped. Runs on every
    /// writable open (writers hold the archive's lock).
    pub(super) fn repair_audit_head(&self) -> Result<(), ArchiveError> {
        let staged = self.root.join(AUDIT_HEAD_STAGED);
        if !staged.exists() {
            return Ok(());
        }
        // A writer between its staging and its promotion is not a crash.
        let _lock = audit_lock(&self.root)?;
        let Ok(text) = std::fs::read_to_string(&staged) else {
            return Ok(());
        };
        let last: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let committed = last.is_some_and(|(id, hash)| text.trim() == format!("{id} {hash}"));
        match committed {
            true => promote_audit_head(&self.root)?,
            false => {
                let _ = std::fs::remove_file(&staged);
            }
        }
        Ok(())
    }

    /// Re-computes the audit chain: `Ok(n)` for `n` intact entries, or what is wrong.
    pub fn verify_audit(&self) -> Result<Result<usize, String>, ArchiveError> {
        // The log and its head file read as one: no writer between them. A
        // read-only archive folder has no writers to wait for.
        let _lock = audit_lock(&self.root).ok();
        let _snapshot = self.conn.unchecked_transaction()?;
        let mut statement = self
            .conn
            .prepare("SELECT id, at, action, detail, prev_hash, hash FROM audit ORDER BY id")?;
        let rows: Vec<AuditEntry> = statement
            .query_map([], |row| {
                Ok(AuditEntry {
                    id: row.get(0)?,
                    at: row.get(1)?,
                    action: row.get(2)?,
                    detail: row.get(3)?,
                    prev_hash: row.get(4)?,
                    hash: row.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut prev = GENESIS.to_owned();
        for (i, entry) in rows.iter().enumerate() {
            if entry.id != i as i64 + 1 || entry.prev_hash != prev {
                return Ok(Err(format!(
                    "entry {} does not follow entry {}: an entry was deleted or reordered",
                    entry.id, i
                )));
            }
            if entry_hash(&prev, &entry.at, &entry.action, &entry.detail) != entry.hash {
                return Ok(Err(format!(
                    "entry {} ({} at {}) was edited",
                    entry.id, entry.action, entry.at
                )));
            }
            prev = entry.hash.clone();
        }
        let head = std::fs::read_to_string(self.root.join(AUDIT_HEAD)).unwrap_or_default();
        let staged = std::fs::read_to_string(self.root.join(AUDIT_HEAD_STAGED)).unwrap_or_default();
        let entry = |e: Option<&AuditEntry>| {
            e.map(|e| format!("{} {}", e.id, e.hash))
                .unwrap_or_default()
        };
        let expected = entry(rows.last());
        let before_last = entry(rows.len().checked_sub(2).and_then(|i| rows.get(i)));
        // A crash after a commit and before its head was promoted leaves the head
        // one entry behind and the staged head naming the newest entry: the chain
        // is whole. Deleting entries leaves a head (or staged head) naming an entry
        // the log no longer has.
        let interrupted =
            !staged.trim().is_empty() && staged.trim() == expected && head.trim() == before_last;
        if head.trim() != expected && !interrupted {
            return Ok(Err(format!(
                "the log ends at entry {} but {AUDIT_HEAD} records `{}`: entries at the end were deleted",
                rows.len(),
                head.trim()
            )));
        }
        Ok(Ok(rows.len()))
    }
}
