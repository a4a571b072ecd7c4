//! The archive: the folder where every received file is kept by its hash, every
//! return is filed, and the SQLite index that says what is where. Only this module
//! talks to the database; every other stage goes through [`Archive`].
//!
//! - `schema`: the tables, and migrating an older archive on open
//! - `register`: the issue register (policy versions, issued forms, their boxes)
//! - `returns`: received files, returns and quarantine, recorded per ingest run
//! - `audit`: the hash-chained log of every change
//! - `prune`: removing school years past their retention
//! - `lock`: one writer at a time, and tidying after a killed one
//!
//! Default location: `archive/` beside the school files (see `--archive`).

mod audit;
mod consents;
mod links;
mod lock;
mod mail;
mod mail_in;
mod office;
mod prune;
mod register;
mod returns;
mod schema;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use audit::AUDIT_HEAD;
pub use consents::{ConsentEntry, Decision, RecordedAnswer, ReturnedConsents, SettleError};
pub use links::{NewLink, SigningLink};
pub use lock::{ArchiveLock, lock, lock_waiting, tidy_after_crash};
pub use mail::{Claim, Claimed, MailEntry};
pub use mail_in::{Judged, TakenMail};
pub use office::{
    FiledReturn, FormMatch, NewUpload, QuarantineEntry, UploadForm, UploadQuarantine, UploadRecord,
    UserRecord,
};
pub use prune::Pruned;
pub use register::{IssuedForm, PolicyRecord, Recipient, RegisteredForm};
pub use returns::{
    IngestRecord, IssuedWithReturns, QuarantineRow, ReceivedFile, ReturnRow, ReturnSummary,
};

/// The database file inside an archive folder.
pub const DATABASE: &str = "aup.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot use {} in the archive: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the archive index {} cannot be used: {source}", path.display())]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the archive index: {0}")]
    Query(#[from] rusqlite::Error),
    #[error("the archive is busy: another aup has held {} for over a minute; try again", .0.display())]
    Busy(PathBuf),
    #[error("no more form ids for {0}: the serial range is used up")]
    SerialsExhausted(String),
    #[error("another aup ingest is using this archive (lock {} is held); try again when it has finished", .0.display())]
    Locked(PathBuf),
    #[error(
        "there is no archive in {} (it has no {DATABASE})\n  = hint: pass --archive DIR with the folder `aup generate` and `aup ingest` use",
        .0.display()
    )]
    Missing(PathBuf),
    #[error("cannot bring the archive index {} up to date: {source}", path.display())]
    Migration {
        path: PathBuf,
        source: rusqlite_migration::Error,
    },
    #[error(
        "the archive index {} was made by a newer aup (schema version {version}; this one knows up to {})\n  = hint: use the newer aup with this archive",
        path.display(),
        schema::LATEST
    )]
    TooNew { path: PathBuf, version: usize },
}

impl ArchiveError {
    /// Whether the archive's disk being full is what failed: a write's ENOSPC
    /// or EDQUOT, SQLite's "database or disk is full", or its bare "disk I/O
    /// error" (the write-ahead log could not grow) with under 4 MiB free.
    pub fn is_disk_full(&self, root: &Path) -> bool {
        const NEARLY_FULL_BYTES: u64 = 4 << 20;
        let sqlite = match self {
            Self::Folder { source, .. } => return crate::durable::is_full(source),
            Self::Query(error) | Self::Database { source: error, .. } => error,
            _ => return false,
        };
        match sqlite.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => true,
            Some(rusqlite::ErrorCode::SystemIoFailure) => {
                crate::durable::free_bytes(root).is_some_and(|free| free < NEARLY_FULL_BYTES)
            }
            _ => false,
        }
    }
}

/// An open archive index.
pub struct Archive {
    conn: Connection,
    root: PathBuf,
}

impl Archive {
    /// Opens (creating if needed) the index in `root`.
    pub fn open(root: &Path) -> Result<Self, ArchiveError> {
        std::fs::create_dir_all(root).map_err(|source| ArchiveError::Folder {
            path: root.to_owned(),
            source,
        })?;
        let path = root.join(DATABASE);
        let database = |source| ArchiveError::Database {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(database)?;
        // Before anything is written: an archive of a newer aup is left alone.
        let standing = schema::standing(&conn).map_err(database)?;
        if let schema::Standing::Newer(version) = standing {
            return Err(ArchiveError::TooNew { path, version });
        }
        // WAL keeps readers (status) working while a writer commits; the busy
        // timeout lets two commands queue rather than fail at once.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(database)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(database)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(database)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(database)?;
        if let schema::Standing::Older(_) = standing {
            schema::migrate(&mut conn).map_err(|source| ArchiveError::Migration {
                path: path.clone(),
                source,
            })?;
        }
        let archive = Self {
            conn,
            root: root.to_owned(),
        };
        archive.repair_audit_head()?;
        Ok(archive)
    }

    /// The archive's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens an existing index for reading only (`aup verify`, `aup status`, `aup
    /// show`, `aup audit`): nothing in the archive changes, except that an archive
    /// of an older aup is first brought up to date, once.
    pub fn open_read_only(root: &Path) -> Result<Self, ArchiveError> {
        Self::open_existing(
            root,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }

    /// Opens an up-to-date index without the writers' lock, for short audited
    /// changes that run beside a long ingest (recording an upload): it neither
    /// migrates nor repairs the audit head after a crash, which only a lock
    /// holder may do.
    pub fn open_unlocked(root: &Path) -> Result<Self, ArchiveError> {
        Self::open_existing(
            root,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }

    /// An existing index opened with `flags`, without the writers' lock. One made
    /// by an older aup is brought up to date once, under the lock, first.
    fn open_existing(root: &Path, flags: rusqlite::OpenFlags) -> Result<Self, ArchiveError> {
        let path = root.join(DATABASE);
        let database = |source| ArchiveError::Database {
            path: path.clone(),
            source,
        };
        if !path.is_file() {
            return Err(ArchiveError::Missing(root.to_owned()));
        }
        let open = || {
            let conn = Connection::open_with_flags(&path, flags)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            Ok(conn)
        };
        let mut conn = open().map_err(database)?;
        match schema::standing(&conn).map_err(database)? {
            schema::Standing::Current => {}
            schema::Standing::Newer(version) => {
                return Err(ArchiveError::TooNew { path, version });
            }
            schema::Standing::Older(_) => {
                // Made by an older aup: brought up to date once, under the
                // writers' lock, so using it after an upgrade just works.
                drop(conn);
                let _lock = lock_waiting(root)?;
                drop(Self::open(root)?);
                conn = open().map_err(database)?;
            }
        }
        Ok(Self {
            conn,
            root: root.to_owned(),
        })
    }
}
