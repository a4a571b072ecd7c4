//! The archive's SQLite index. For now it holds the issue register: every policy
//! version and every form `aup generate` has issued, with where its boxes are and a
//! hash of each page as issued, so ingest can tell our forms from strangers and know
//! where to look for ink. Only this module talks to the database.
//!
//! Default location: `archive/aup.sqlite` (see `--archive`).

use std::path::{Path, PathBuf};

use crate::verdict::Verdict;
use rusqlite::{Connection, OptionalExtension, params};

use crate::config::AcademicYear;
use crate::form::{FieldSpec, FormId};

/// The database file inside an archive folder.
pub const DATABASE: &str = "aup.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS policies (
    fingerprint  TEXT PRIMARY KEY,
    school       TEXT NOT NULL,
    year         TEXT NOT NULL,
    template     TEXT NOT NULL,
    policy_json  TEXT NOT NULL,
    first_issued TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS policy_years (
    school       TEXT NOT NULL,
    year         TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    issued_seq   INTEGER NOT NULL,
    PRIMARY KEY (school, year, fingerprint)
);
CREATE TABLE IF NOT EXISTS forms (
    form_id      TEXT PRIMARY KEY,
    school       TEXT NOT NULL,
    year         TEXT NOT NULL,
    serial       INTEGER NOT NULL,
    person_key   TEXT NOT NULL,
    name         TEXT,
    role         TEXT,
    staff_id     TEXT,
    email        TEXT,
    fingerprint  TEXT NOT NULL REFERENCES policies(fingerprint),
    pages        INTEGER NOT NULL,
    issued_on    TEXT NOT NULL,
    file_sha256  TEXT,
    UNIQUE (school, year, fingerprint, person_key)
);
CREATE INDEX IF NOT EXISTS forms_by_school_year ON forms (school, year);
CREATE TABLE IF NOT EXISTS form_boxes (
    form_id TEXT NOT NULL REFERENCES forms(form_id),
    field   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    page    INTEGER NOT NULL,
    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
    PRIMARY KEY (form_id, field)
);
CREATE TABLE IF NOT EXISTS audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS received (
    sha256      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    stored_path TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS returns (
    id            INTEGER PRIMARY KEY,
    form_id       TEXT NOT NULL,
    school        TEXT NOT NULL,
    year          TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    verdict       TEXT NOT NULL,
    missing       TEXT NOT NULL,
    method        TEXT NOT NULL,
    files         TEXT NOT NULL,
    archived_path TEXT NOT NULL,
    ingested_at   TEXT NOT NULL,
    received      TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS returns_by_form ON returns (form_id);
CREATE INDEX IF NOT EXISTS returns_by_school_year ON returns (school, year);
CREATE TABLE IF NOT EXISTS quarantine (
    id              INTEGER PRIMARY KEY,
    received_sha256 TEXT NOT NULL,
    page            INTEGER,
    reason          TEXT NOT NULL,
    message         TEXT NOT NULL,
    path            TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS form_pages (
    form_id        TEXT NOT NULL REFERENCES forms(form_id),
    page           INTEGER NOT NULL,
    width          REAL NOT NULL,
    height         REAL NOT NULL,
    content_sha256 TEXT NOT NULL,
    PRIMARY KEY (form_id, page)
);
";

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
    #[error("no more form ids for {0}: the serial range is used up")]
    SerialsExhausted(String),
    #[error("another aup ingest is using this archive (lock {} is held); try again when it has finished", .0.display())]
    Locked(PathBuf),
    #[error(
        "there is no archive in {} (it has no {DATABASE})\n  = hint: pass --archive DIR with the folder `aup generate` and `aup ingest` use",
        .0.display()
    )]
    Missing(PathBuf),
}

/// Who a form is for, as the register keys it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// `id:<staff id>`, `name:<normalised name>` or `blank:<n>`.
    pub key: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub staff_id: Option<String>,
    pub email: Option<String>,
}

/// A policy version as the register stores it.
pub struct PolicyRecord<'a> {
    pub fingerprint: &'a str,
    pub school: &'a str,
    pub year: AcademicYear,
    pub template: &'a str,
    pub policy_json: &'a str,
    pub issued_on: &'a str,
}

/// One issued form, for the register.
pub struct IssuedForm<'a> {
    pub form_id: &'a FormId,
    pub recipient: &'a Recipient,
    pub pages: &'a [(f64, f64)],
    pub page_hashes: &'a [String],
    pub fields: &'a [FieldSpec],
    pub file_sha256: &'a str,
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
        let conn = Connection::open(&path).map_err(database)?;
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
        conn.execute_batch(SCHEMA).map_err(database)?;
        // Archives made before policy_years existed: each policy row is its year.
        conn.execute_batch(
            "INSERT OR IGNORE INTO policy_years (school, year, fingerprint, issued_seq)
             SELECT school, year, fingerprint, rowid FROM policies
             WHERE NOT EXISTS (SELECT 1 FROM policy_years)",
        )
        .map_err(database)?;
        // Archives made before returns recorded their received files gain the column.
        let has_received: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('returns') WHERE name = 'received'")
            .and_then(|mut s| s.exists([]))
            .map_err(database)?;
        if !has_received {
            conn.execute_batch(
                "ALTER TABLE returns ADD COLUMN received TEXT NOT NULL DEFAULT '[]'",
            )
            .map_err(database)?;
        }
        let archive = Self {
            conn,
            root: root.to_owned(),
        };
        archive.repair_audit_head()?;
        Ok(archive)
    }

    /// Opens an existing index for reading only: nothing in the archive changes
    /// (`aup verify`, `aup status`).
    pub fn open_read_only(root: &Path) -> Result<Self, ArchiveError> {
        let path = root.join(DATABASE);
        let database = |source| ArchiveError::Database {
            path: path.clone(),
            source,
        };
        if !path.is_file() {
            return Err(ArchiveError::Missing(root.to_owned()));
        }
        let conn = Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(database)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(database)?;
        Ok(Self {
            conn,
            root: root.to_owned(),
        })
    }

    /// The form id of each recipient for this policy version: the one issued before
    /// if there is one (so re-running `generate` reprints the same ids), else the
    /// next free serial of the school and year. Nothing is written until
    /// [`Archive::record`].
    pub fn assign_ids(
        &self,
        school: &str,
        prefix: &str,
        year: AcademicYear,
        fingerprint: &str,
        recipients: &[Recipient],
    ) -> Result<Vec<FormId>, ArchiveError> {
        let year_text = year.to_string();
        let mut lookup = self.conn.prepare_cached(
            "SELECT form_id FROM forms WHERE school = ?1 AND year = ?2 AND fingerprint = ?3 AND person_key = ?4",
        )?;
        let mut next: u32 = self.conn.query_row(
            "SELECT COALESCE(MAX(serial), 0) FROM forms WHERE school = ?1 AND year = ?2",
            params![school, year_text],
            |row| row.get(0),
        )?;
        let mut ids = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let known: Option<String> = lookup
                .query_row(
                    params![school, year_text, fingerprint, recipient.key],
                    |row| row.get(0),
                )
                .optional()?;
            let id = match known.and_then(|k| k.parse::<FormId>().ok()) {
                Some(id) => id,
                None => loop {
                    next += 1;
                    if next > 99_999 {
                        return Err(ArchiveError::SerialsExhausted(format!("{school} {year}")));
                    }
                    if let Some(id) = FormId::new(prefix, year, next) {
                        break id;
                    }
                },
            };
            ids.push(id);
        }
        Ok(ids)
    }

    /// Records a policy version and the forms issued for it, in one transaction.
    pub fn record(
        &mut self,
        policy: &PolicyRecord<'_>,
        forms: &[IssuedForm<'_>],
    ) -> Result<(), ArchiveError> {
        let tx = self.conn.transaction()?;
        let year = policy.year.to_string();
        tx.execute(
            "INSERT OR IGNORE INTO policies (fingerprint, school, year, template, policy_json, first_issued)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![policy.fingerprint, policy.school, year, policy.template, policy.policy_json, policy.issued_on],
        )?;
        // The same wording can be issued in several years (the year is not part of
        // the fingerprint), and a school can go back to an earlier wording: the
        // version issued last for a school and year is its current one.
        tx.execute(
            "INSERT INTO policy_years (school, year, fingerprint, issued_seq)
             VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(issued_seq), 0) + 1 FROM policy_years))
             ON CONFLICT (school, year, fingerprint) DO UPDATE SET issued_seq = excluded.issued_seq",
            params![policy.school, year, policy.fingerprint],
        )?;
        {
            let mut form_row = tx.prepare_cached(
                "INSERT INTO forms (form_id, school, year, serial, person_key, name, role, staff_id, email,
                                    fingerprint, pages, issued_on, file_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT (form_id) DO UPDATE SET
                    name = excluded.name, role = excluded.role, staff_id = excluded.staff_id,
                    email = excluded.email, pages = excluded.pages, file_sha256 = excluded.file_sha256",
            )?;
            let mut box_row = tx.prepare_cached(
                "INSERT OR REPLACE INTO form_boxes (form_id, field, kind, page, x0, y0, x1, y1)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut page_row = tx.prepare_cached(
                "INSERT OR REPLACE INTO form_pages (form_id, page, width, height, content_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for form in forms {
                let id = form.form_id.as_str();
                let r = form.recipient;
                form_row.execute(params![
                    id,
                    policy.school,
                    year,
                    form.form_id.serial(),
                    r.key,
                    r.name,
                    r.role,
                    r.staff_id,
                    r.email,
                    policy.fingerprint,
                    form.pages.len() as i64,
                    policy.issued_on,
                    form.file_sha256,
                ])?;
                for field in form.fields {
                    let b = &field.rect;
                    box_row.execute(params![
                        id,
                        field.name,
                        field.kind,
                        field.page as i64,
                        b.x0,
                        b.y0,
                        b.x1,
                        b.y1
                    ])?;
                }
                for (i, ((width, height), hash)) in
                    form.pages.iter().zip(form.page_hashes).enumerate()
                {
                    page_row.execute(params![id, i as i64 + 1, width, height, hash])?;
                }
            }
        }
        let detail = format!(
            "issued {} forms of {} {} with policy version {}",
            forms.len(),
            policy.school,
            year,
            &policy.fingerprint[..12.min(policy.fingerprint.len())]
        );
        let head = append_audit(&tx, "generate", &detail)?;
        stage_audit_head(&self.root, &head)?;
        tx.commit()?;
        promote_audit_head(&self.root)?;
        Ok(())
    }

    /// The register's view of one form, for tests and `aup show`.
    pub fn issued(&self, form_id: &str) -> Result<Option<RegisteredForm>, ArchiveError> {
        let form = self
            .conn
            .query_row(
                "SELECT school, year, name, role, fingerprint, pages, issued_on, file_sha256 FROM forms WHERE form_id = ?1",
                params![form_id],
                |row| {
                    Ok(RegisteredForm {
                        form_id: form_id.to_owned(),
                        school: row.get(0)?,
                        year: row.get(1)?,
                        name: row.get(2)?,
                        role: row.get(3)?,
                        fingerprint: row.get(4)?,
                        pages: row.get(5)?,
                        issued_on: row.get(6)?,
                        file_sha256: row.get(7)?,
                        boxes: Vec::new(),
                        page_hashes: Vec::new(),
                        page_sizes: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut form) = form else {
            return Ok(None);
        };
        let mut boxes = self
            .conn
            .prepare("SELECT field, kind, page, x0, y0, x1, y1 FROM form_boxes WHERE form_id = ?1 ORDER BY page, y1 DESC")?;
        form.boxes = boxes
            .query_map(params![form_id], |row| {
                Ok(FieldSpec {
                    name: row.get(0)?,
                    kind: row.get(1)?,
                    page: row.get::<_, i64>(2)? as usize,
                    rect: crate::form::Rect {
                        x0: row.get(3)?,
                        y0: row.get(4)?,
                        x1: row.get(5)?,
                        y1: row.get(6)?,
                    },
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut pages = self.conn.prepare(
            "SELECT content_sha256, width, height FROM form_pages WHERE form_id = ?1 ORDER BY page",
        )?;
        let rows: Vec<(String, f64, f64)> = pages
            .query_map(params![form_id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        form.page_hashes = rows.iter().map(|(hash, ..)| hash.clone()).collect();
        form.page_sizes = rows.iter().map(|(_, w, h)| (*w, *h)).collect();
        Ok(Some(form))
    }
}

/// What one ingest run writes to the index, in one transaction.
#[derive(Debug, Default)]
pub struct IngestRecord {
    /// The audit log's word for the run: `ingest` unless set (`assign`).
    pub action: &'static str,
    pub received: Vec<ReceivedFile>,
    pub returns: Vec<ReturnRow>,
    pub quarantined: Vec<QuarantineRow>,
}

#[derive(Debug, Clone)]
pub struct ReceivedFile {
    pub sha256: String,
    pub name: String,
    pub size: u64,
    pub stored_path: String,
}

#[derive(Debug, Clone)]
pub struct ReturnRow {
    pub form_id: String,
    pub school: String,
    pub year: String,
    pub fingerprint: String,
    pub verdict: Verdict,
    pub missing: Vec<String>,
    /// `paper` for scans.
    pub method: String,
    pub files: Vec<String>,
    /// SHA-256 of each received file the return came from (what `aup prune`
    /// deletes with it).
    pub received: Vec<String>,
    pub archived_path: String,
}

#[derive(Debug, Clone)]
pub struct QuarantineRow {
    pub received_sha256: String,
    pub page: Option<u32>,
    pub reason: String,
    pub message: String,
    pub path: String,
}

impl Archive {
    /// Where a file with these bytes was stored, if it was received before.
    pub fn received(&self, sha256: &str) -> Result<Option<String>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                "SELECT stored_path FROM received WHERE sha256 = ?1",
                params![sha256],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Every issued form, for ingest to look pages up in without a database
    /// round trip per page.
    pub fn all_issued(&self) -> Result<Vec<RegisteredForm>, ArchiveError> {
        let ids: Vec<String> = self
            .conn
            .prepare("SELECT form_id FROM forms")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut forms = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(form) = self.issued(&id)? {
                forms.push(form);
            }
        }
        Ok(forms)
    }

    /// The policy version most recently issued for a school and year: forms of any
    /// other version are outdated.
    pub fn current_fingerprint(
        &self,
        school: &str,
        year: &str,
    ) -> Result<Option<String>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                "SELECT fingerprint FROM policy_years WHERE school = ?1 AND year = ?2
                 ORDER BY issued_seq DESC LIMIT 1",
                params![school, year],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Commits one ingest run.
    pub fn record_ingest(&mut self, record: &IngestRecord, at: &str) -> Result<(), ArchiveError> {
        let tx = self.conn.transaction()?;
        for r in &record.received {
            tx.execute(
                "INSERT OR IGNORE INTO received (sha256, name, size, stored_path, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![r.sha256, r.name, r.size as i64, r.stored_path, at],
            )?;
        }
        for r in &record.returns {
            let missing = serde_json::to_string(&r.missing).unwrap_or_default();
            let files = serde_json::to_string(&r.files).unwrap_or_default();
            let received = serde_json::to_string(&r.received).unwrap_or_default();
            tx.execute(
                "INSERT INTO returns (form_id, school, year, fingerprint, verdict, missing, method, files, archived_path, ingested_at, received)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![r.form_id, r.school, r.year, r.fingerprint, r.verdict.as_str(), missing, r.method, files, r.archived_path, at, received],
            )?;
        }
        for q in &record.quarantined {
            tx.execute(
                "INSERT INTO quarantine (received_sha256, page, reason, message, path, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![q.received_sha256, q.page, q.reason, q.message, q.path, at],
            )?;
        }
        let detail = format!(
            "received {} files: {} returns, {} quarantined",
            record.received.len(),
            record.returns.len(),
            record.quarantined.len()
        );
        let action = match record.action {
            "" => "ingest",
            other => other,
        };
        let head = append_audit(&tx, action, &detail)?;
        stage_audit_head(&self.root, &head)?;
        tx.commit()?;
        promote_audit_head(&self.root)?;
        Ok(())
    }

    /// The verdicts recorded for a form, oldest first.
    pub fn returns_of(&self, form_id: &str) -> Result<Vec<(String, Vec<String>)>, ArchiveError> {
        let mut statement = self
            .conn
            .prepare("SELECT verdict, missing FROM returns WHERE form_id = ?1 ORDER BY id")?;
        let rows = statement.query_map(params![form_id], |row| {
            let missing: String = row.get(1)?;
            Ok((
                row.get(0)?,
                serde_json::from_str(&missing).unwrap_or_default(),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every form issued for a school and year with its returns, for the status
    /// report: (form, returns oldest first).
    pub fn forms_with_returns(
        &self,
        school: &str,
        year: &str,
    ) -> Result<Vec<IssuedWithReturns>, ArchiveError> {
        let mut forms = self.conn.prepare(
            "SELECT form_id, person_key, name, role, fingerprint FROM forms
             WHERE school = ?1 AND year = ?2 ORDER BY serial",
        )?;
        // Every return of the school year in one indexed query, not one per form.
        let mut returns = self.conn.prepare_cached(
            "SELECT form_id, verdict, missing, method, ingested_at FROM returns
             WHERE school = ?1 AND year = ?2 ORDER BY id",
        )?;
        let mut by_form: std::collections::HashMap<String, Vec<ReturnSummary>> =
            std::collections::HashMap::new();
        let rows = returns.query_map(params![school, year], |row| {
            let missing: String = row.get(2)?;
            Ok((
                row.get::<_, String>(0)?,
                ReturnSummary {
                    verdict: row.get(1)?,
                    missing: serde_json::from_str(&missing).unwrap_or_default(),
                    method: row.get(3)?,
                    ingested_at: row.get(4)?,
                },
            ))
        })?;
        for row in rows {
            let (form_id, summary) = row?;
            by_form.entry(form_id).or_default().push(summary);
        }
        let mut out: Vec<IssuedWithReturns> = forms
            .query_map(params![school, year], |row| {
                Ok(IssuedWithReturns {
                    form_id: row.get(0)?,
                    person_key: row.get(1)?,
                    name: row.get(2)?,
                    role: row.get(3)?,
                    fingerprint: row.get(4)?,
                    returns: Vec::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        for form in &mut out {
            form.returns = by_form.remove(&form.form_id).unwrap_or_default();
        }
        Ok(out)
    }

    /// After a crash between an index commit and the promotion of the audit head
    /// (see [`stage_audit_head`]): a staged head that names the chain's newest
    /// entry is promoted; one that names nothing committed is dropped. Runs on every
    /// writable open (writers hold the archive's lock).
    fn repair_audit_head(&self) -> Result<(), ArchiveError> {
        let staged = self.root.join(AUDIT_HEAD_STAGED);
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

    /// Every return of a form, oldest first, with where it is filed.
    pub fn history(
        &self,
        form_id: &str,
    ) -> Result<Vec<(ReturnSummary, Vec<String>, String)>, ArchiveError> {
        let mut statement = self.conn.prepare(
            "SELECT verdict, missing, method, ingested_at, files, archived_path FROM returns
             WHERE form_id = ?1 ORDER BY id",
        )?;
        let rows = statement.query_map(params![form_id], |row| {
            let missing: String = row.get(1)?;
            let files: String = row.get(4)?;
            Ok((
                ReturnSummary {
                    verdict: row.get(0)?,
                    missing: serde_json::from_str(&missing).unwrap_or_default(),
                    method: row.get(2)?,
                    ingested_at: row.get(3)?,
                },
                serde_json::from_str(&files).unwrap_or_default(),
                row.get(5)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest return of a form: what `aup assign` completes.
    pub fn latest_return(&self, form_id: &str) -> Result<Option<ReturnRow>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                "SELECT school, year, fingerprint, verdict, missing, method, files, received, archived_path
                 FROM returns WHERE form_id = ?1 ORDER BY id DESC LIMIT 1",
                params![form_id],
                |row| {
                    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
                        Ok(serde_json::from_str(&row.get::<_, String>(i)?).unwrap_or_default())
                    };
                    Ok(ReturnRow {
                        form_id: form_id.to_owned(),
                        school: row.get(0)?,
                        year: row.get(1)?,
                        fingerprint: row.get(2)?,
                        verdict: row.get(3)?,
                        missing: list(4)?,
                        method: row.get(5)?,
                        files: list(6)?,
                        received: list(7)?,
                        archived_path: row.get(8)?,
                    })
                },
            )
            .optional()?)
    }

    /// Counts of rows, for tests and the closing line of a run.
    pub fn count(&self, table: &str) -> Result<i64, ArchiveError> {
        let table = match table {
            "received" | "returns" | "quarantine" | "forms" => table,
            _ => return Ok(0),
        };
        Ok(self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                row.get(0)
            })?)
    }
}

/// Holds the archive's lock for as long as it lives: two ingests never write one
/// archive at once.
pub struct ArchiveLock {
    _file: std::fs::File,
}

/// Takes the archive's lock, or says another run holds it.
pub fn lock(root: &Path) -> Result<ArchiveLock, ArchiveError> {
    let (file, path) = lock_file(root)?;
    match file.try_lock() {
        Ok(()) => Ok(ArchiveLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(ArchiveError::Locked(path)),
        Err(std::fs::TryLockError::Error(source)) => Err(ArchiveError::Folder { path, source }),
    }
}

/// Takes the archive's lock, waiting for a run that holds it to finish.
pub fn lock_waiting(root: &Path) -> Result<ArchiveLock, ArchiveError> {
    let (file, path) = lock_file(root)?;
    file.lock()
        .map_err(|source| ArchiveError::Folder { path, source })?;
    Ok(ArchiveLock { _file: file })
}

/// The archive's lock file, opened (and the archive folder made) but not locked.
fn lock_file(root: &Path) -> Result<(std::fs::File, PathBuf), ArchiveError> {
    std::fs::create_dir_all(root).map_err(|source| ArchiveError::Folder {
        path: root.to_owned(),
        source,
    })?;
    let path = root.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| ArchiveError::Folder {
            path: path.clone(),
            source,
        })?;
    Ok((file, path))
}

/// SHA-256 and size of a file, read in chunks (a batch can be bigger than memory
/// should hold).
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((crate::form::id::hex(&hasher.finalize()), size))
}

/// Copies `source` to `path` durably (see [`store_durably`]), streaming.
pub fn copy_durably(source: &Path, path: &Path) -> std::io::Result<()> {
    write_via_temp(path, true, |file| {
        std::io::copy(&mut std::fs::File::open(source)?, file).map(drop)
    })
}

/// Writes `bytes` to `path` so that it survives a crash once this returns: a
/// temporary file is written and synced, renamed into place, and the folder synced.
pub fn store_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    write_via_temp(path, true, |file| file.write_all(bytes))
}

/// Makes `path` another name for `existing` (same file system), replacing what
/// `path` was atomically and durably; copies if the file system has no hard links.
pub fn link_durably(existing: &Path, path: &Path) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.link", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    if std::fs::hard_link(existing, &temp).is_err() {
        return copy_durably(existing, path);
    }
    std::fs::rename(&temp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Fills a temporary file beside `path`, syncs it and renames it into place, so
/// `path` is always either absent, the old file or the whole new one. With
/// `sync_dir` the rename itself is made durable too.
pub fn write_via_temp(
    path: &Path,
    sync_dir: bool,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        fill(&mut file)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        match sync_dir {
            true => std::fs::File::open(dir)?.sync_all(),
            false => Ok(()),
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// The file beside the database holding the audit chain's newest entry.
pub const AUDIT_HEAD: &str = "audit.head";
/// The head an action is about to commit, written before its commit and renamed
/// to [`AUDIT_HEAD`] after it: a crash in between never looks like tampering.
const AUDIT_HEAD_STAGED: &str = "audit.head.next";

/// Writes the head an action is about to commit, durably, before the commit.
fn stage_audit_head(root: &Path, head: &(i64, String)) -> Result<(), ArchiveError> {
    let path = root.join(AUDIT_HEAD_STAGED);
    store_durably(&path, format!("{} {}\n", head.0, head.1).as_bytes())
        .map_err(|source| ArchiveError::Folder { path, source })
}

/// Makes the staged head the head, once its entry is committed.
fn promote_audit_head(root: &Path) -> Result<(), ArchiveError> {
    // Fault injection for the crash test: committed, head not yet promoted.
    if std::env::var("AUP_FAULT").as_deref() == Ok("after-commit") {
        std::process::abort();
    }
    let (staged, head) = (root.join(AUDIT_HEAD_STAGED), root.join(AUDIT_HEAD));
    let promoted =
        std::fs::rename(&staged, &head).and_then(|()| std::fs::File::open(root)?.sync_all());
    promoted.map_err(|source| ArchiveError::Folder { path: head, source })
}

/// Removes what killed runs left behind: temporary files (`.<name>.<pid>.tmp`,
/// `.<name>.<pid>.link`, `.incoming.<pid>.tmp`, as big as a scan) anywhere in the
/// archive. Call only under the archive's lock: no other run is writing then.
/// Returns a note for the run's output when anything was removed.
pub fn tidy_after_crash(root: &Path) -> Vec<String> {
    let (mut files, mut bytes) = (0u64, 0u64);
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy();
        let temporary = name.starts_with('.')
            && (name.ends_with(".tmp") || name.ends_with(".link"))
            && entry.file_type().is_file();
        if temporary {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            if std::fs::remove_file(entry.path()).is_ok() {
                files += 1;
                bytes += size;
            }
        }
    }
    match files {
        0 => Vec::new(),
        n => vec![format!(
            "removed {n} temporary file{} ({} KB) left by an interrupted run",
            if n == 1 { "" } else { "s" },
            bytes / 1024
        )],
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
fn append_audit(
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
    let at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let hash = entry_hash(&prev, &at, action, detail);
    tx.execute(
        "INSERT INTO audit (at, action, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, action, detail, prev, hash],
    )?;
    Ok((tx.last_insert_rowid(), hash))
}

/// What `aup prune` removed for one school and year.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub forms: usize,
    pub returns: usize,
    /// Received files (scans, emailed PDFs) no other return still needs, with
    /// their stored paths: deleted once the index no longer names them.
    pub received: Vec<String>,
}

impl Archive {
    /// The school years the index holds, oldest first.
    pub fn school_years(&self) -> Result<Vec<(String, String)>, ArchiveError> {
        let mut statement = self.conn.prepare(
            "SELECT DISTINCT school, year FROM forms UNION SELECT DISTINCT school, year FROM returns ORDER BY 2, 1",
        )?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes a school year from the index in one transaction, recorded in the
    /// audit log. The caller deletes the files afterwards: a crash in between
    /// leaves files the index no longer names, never index rows without files.
    pub fn prune(&mut self, school: &str, year: &str, why: &str) -> Result<Pruned, ArchiveError> {
        let tx = self.conn.transaction()?;
        let mut pruned = Pruned::default();
        let received_lists: Vec<String> = tx
            .prepare("SELECT received FROM returns WHERE school = ?1 AND year = ?2")?
            .query_map(params![school, year], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut candidates: Vec<String> = received_lists
            .iter()
            .flat_map(|list| serde_json::from_str::<Vec<String>>(list).unwrap_or_default())
            .collect();
        candidates.sort();
        candidates.dedup();
        pruned.returns = tx.execute(
            "DELETE FROM returns WHERE school = ?1 AND year = ?2",
            params![school, year],
        )?;
        for sha in candidates {
            // A batch scan can hold forms of several years: keep it while any
            // remaining return still comes from it.
            let still_needed: bool = tx
                .prepare("SELECT 1 FROM returns WHERE received LIKE ?1")?
                .exists(params![format!("%\"{sha}\"%")])?;
            if still_needed {
                continue;
            }
            let stored: Option<String> = tx
                .query_row(
                    "SELECT stored_path FROM received WHERE sha256 = ?1",
                    params![sha],
                    |row| row.get(0),
                )
                .optional()?;
            tx.execute("DELETE FROM received WHERE sha256 = ?1", params![sha])?;
            tx.execute(
                "DELETE FROM quarantine WHERE received_sha256 = ?1",
                params![sha],
            )?;
            pruned.received.extend(stored);
        }
        let in_year = "(SELECT form_id FROM forms WHERE school = ?1 AND year = ?2)";
        tx.execute(
            &format!("DELETE FROM form_boxes WHERE form_id IN {in_year}"),
            params![school, year],
        )?;
        tx.execute(
            &format!("DELETE FROM form_pages WHERE form_id IN {in_year}"),
            params![school, year],
        )?;
        pruned.forms = tx.execute(
            "DELETE FROM forms WHERE school = ?1 AND year = ?2",
            params![school, year],
        )?;
        tx.execute(
            "DELETE FROM policy_years WHERE school = ?1 AND year = ?2",
            params![school, year],
        )?;
        // The same wording may be issued in later years: keep what they use.
        tx.execute(
            "DELETE FROM policies WHERE school = ?1 AND year = ?2
             AND fingerprint NOT IN (SELECT fingerprint FROM forms)",
            params![school, year],
        )?;
        let detail = format!(
            "{school} {year}: {} forms, {} returns, {} received files removed ({why})",
            pruned.forms,
            pruned.returns,
            pruned.received.len()
        );
        let head = append_audit(&tx, "prune", &detail)?;
        stage_audit_head(&self.root, &head)?;
        tx.commit()?;
        promote_audit_head(&self.root)?;
        Ok(pruned)
    }
}

/// An issued form and what came back for it.
#[derive(Debug, Clone)]
pub struct IssuedWithReturns {
    pub form_id: String,
    pub person_key: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub fingerprint: String,
    pub returns: Vec<ReturnSummary>,
}

/// One return of a form.
#[derive(Debug, Clone)]
pub struct ReturnSummary {
    pub verdict: Verdict,
    pub missing: Vec<String>,
    /// `paper` for scans.
    pub method: String,
    /// RFC 3339 time of the ingest.
    pub ingested_at: String,
}

/// A form as the register knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredForm {
    pub form_id: String,
    pub school: String,
    pub year: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub fingerprint: String,
    pub pages: i64,
    /// The issue date (YYYY-MM-DD).
    pub issued_on: String,
    /// SHA-256 of the personal PDF as issued: a return saved incrementally
    /// starts with exactly these bytes.
    pub file_sha256: Option<String>,
    pub boxes: Vec<FieldSpec>,
    pub page_hashes: Vec<String>,
    /// Width and height of each page, in points.
    pub page_sizes: Vec<(f64, f64)>,
}

impl rusqlite::types::FromSql for Verdict {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        Verdict::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown verdict `{text}`").into())
        })
    }
}
