//! What `aup serve` keeps in the index beside the forms: the office's accounts,
//! the files uploaded through its page, the quarantine as a to-do list (open
//! until assigned or set aside), and actions recorded under the user who did them.
//! Every change here appends to the audit log in its own transaction.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Archive, ArchiveError};

/// A stored account: its role and password hash (Argon2id, PHC string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    pub role: String,
    pub password_hash: String,
    /// The schools (slugs) the account may see; empty: every school.
    pub schools: Vec<String>,
    pub created_at: String,
}

/// A file being uploaded through the web page, as it is recorded.
#[derive(Debug, Clone)]
pub struct NewUpload<'a> {
    pub sha256: &'a str,
    /// The name it had on the uploader's computer.
    pub name: &'a str,
    pub size: u64,
}

/// A file uploaded through the web page, with what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct UploadRecord {
    pub id: i64,
    pub sha256: String,
    pub name: String,
    pub size: i64,
    pub user: String,
    pub uploaded_at: String,
    /// When the archive first received these bytes (before the upload, for a
    /// duplicate); `None` while the file waits in the inbox.
    pub received_at: Option<String>,
    pub forms: Vec<UploadForm>,
    pub quarantined: Vec<UploadQuarantine>,
}

/// A form filed from an uploaded file.
#[derive(Debug, Clone, Serialize)]
pub struct UploadForm {
    pub form_id: String,
    /// The form's school (slug): an account sees only its own schools' forms.
    pub school: String,
    pub person: Option<String>,
    pub verdict: String,
    pub missing: Vec<String>,
}

/// A page or file of an upload that went to quarantine.
#[derive(Debug, Clone, Serialize)]
pub struct UploadQuarantine {
    pub id: i64,
    pub page: Option<u32>,
    /// The reason's code (`no_qr`, `other_school`...).
    pub reason: String,
    pub message: String,
    /// How it was settled since ("assigned to F", "set aside"); `None`: open.
    pub settled: Option<String>,
}

/// A quarantined file or page, for the office to settle.
#[derive(Debug, Clone, Serialize)]
pub struct QuarantineEntry {
    pub id: i64,
    pub received_sha256: String,
    /// The name the file came in with (its path below the inbox).
    pub received_name: Option<String>,
    /// The name it had on the uploader's computer, when it was uploaded.
    pub upload_name: Option<String>,
    /// The form and page it probably is (from its neighbours in the file).
    pub suggested: Option<(String, u32)>,
    pub page: Option<u32>,
    pub reason: String,
    pub message: String,
    /// Relative to the archive.
    pub path: String,
    pub created_at: String,
    /// How it was settled ("assigned to F", "set aside"); `None` while open.
    pub settled: Option<String>,
    pub settled_by: Option<String>,
    pub settled_at: Option<String>,
}

/// A return as the overview lists it.
#[derive(Debug, Clone, Serialize)]
pub struct FiledReturn {
    pub form_id: String,
    pub person: Option<String>,
    pub school: String,
    pub year: String,
    pub verdict: String,
    pub method: String,
    pub ingested_at: String,
}

/// A form found by name, for assigning a quarantined page to it.
#[derive(Debug, Clone, Serialize)]
pub struct FormMatch {
    pub form_id: String,
    pub school: String,
    pub year: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub pages: i64,
}

impl Archive {
    /// Appends one entry to the audit log on its own: an action of a signed-in
    /// user that changes nothing else in the index (an upload, issuing forms).
    pub fn record_action(&mut self, action: &str, detail: &str) -> Result<(), ArchiveError> {
        let tx = self.begin_audited()?;
        tx.commit(action, detail)
    }

    /// Adds an account; `false` when the name is taken (nothing changes then).
    pub fn add_user(
        &mut self,
        name: &str,
        role: &str,
        password_hash: &str,
        schools: &[String],
    ) -> Result<bool, ArchiveError> {
        let tx = self.begin_audited()?;
        let listed = serde_json::to_string(schools).unwrap_or_else(|_| "[]".into());
        let added = tx.execute(
            "INSERT OR IGNORE INTO users (name, role, password_hash, schools, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, role, password_hash, listed, crate::clock::now_text()],
        )?;
        if added == 0 {
            return Ok(false);
        }
        let scope = match schools.is_empty() {
            true => "every school".to_owned(),
            false => schools.join(", "),
        };
        tx.commit("user add", &format!("{name} as {role} for {scope}"))?;
        Ok(true)
    }

    /// Removes an account; `false` when there is none of that name.
    pub fn remove_user(&mut self, name: &str) -> Result<bool, ArchiveError> {
        let tx = self.begin_audited()?;
        if tx.execute("DELETE FROM users WHERE name = ?1", params![name])? == 0 {
            return Ok(false);
        }
        tx.commit("user remove", name)?;
        Ok(true)
    }

    pub fn user(&self, name: &str) -> Result<Option<UserRecord>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, role, password_hash, schools, created_at FROM users WHERE name = ?1",
                params![name],
                user_row,
            )
            .optional()?)
    }

    pub fn users(&self) -> Result<Vec<UserRecord>, ArchiveError> {
        let mut statement = self.conn.prepare(
            "SELECT name, role, password_hash, schools, created_at FROM users ORDER BY name",
        )?;
        Ok(statement
            .query_map([], user_row)?
            .collect::<Result<_, _>>()?)
    }

    /// Records a file uploaded by `user` (at `at`, RFC 3339) and its audit entry
    /// in one transaction, before the file is let into the inbox: no upload is
    /// filed that the log does not name. `schools` is the account's scope when
    /// it uploaded (empty: every school): filing holds it (see
    /// [`Archive::upload_scope`]). Needs no archive lock, only the audit lock.
    pub fn record_upload(
        &self,
        upload: &NewUpload<'_>,
        user: &str,
        schools: &[String],
        at: &str,
    ) -> Result<i64, ArchiveError> {
        let tx = self.begin_audited()?;
        let scope = match schools.is_empty() {
            true => None,
            false => Some(serde_json::to_string(schools).unwrap_or_else(|_| "[]".into())),
        };
        tx.execute(
            "INSERT INTO uploads (sha256, name, size, user, uploaded_at, schools) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![upload.sha256, upload.name, upload.size as i64, user, at, scope],
        )?;
        let id = tx.last_insert_rowid();
        let detail = format!(
            "{} ({} bytes, sha256 {}) by {user}",
            upload.name, upload.size, upload.sha256
        );
        tx.commit("upload", &detail)?;
        Ok(id)
    }

    /// Takes back an upload recorded by [`Archive::record_upload`] whose file
    /// could not then be put into the inbox, with its own audit entry.
    pub fn withdraw_upload(&self, id: i64, why: &str) -> Result<(), ArchiveError> {
        let tx = self.begin_audited()?;
        let name: Option<String> = tx
            .query_row(
                "SELECT name FROM uploads WHERE id = ?1",
                params![id],
                |row| row.get(0),
            )
            .optional()?;
        tx.execute("DELETE FROM uploads WHERE id = ?1", params![id])?;
        let detail = format!("{} (upload {id}): {why}", name.unwrap_or_default());
        tx.commit("upload withdrawn", &detail)
    }

    /// The schools the bytes `sha256` may be filed for, by who uploaded them:
    /// `None` (any school) when they did not come through the upload page or an
    /// account for every school uploaded them; otherwise the schools the
    /// uploading accounts could file for.
    pub fn upload_scope(&self, sha256: &str) -> Result<Option<Vec<String>>, ArchiveError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT schools FROM uploads WHERE sha256 = ?1")?;
        let scopes: Vec<Option<String>> = statement
            .query_map(params![sha256], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        if scopes.is_empty() || scopes.iter().any(Option::is_none) {
            return Ok(None);
        }
        let mut schools: Vec<String> = scopes
            .iter()
            .flatten()
            .flat_map(|listed| serde_json::from_str::<Vec<String>>(listed).unwrap_or_default())
            .collect();
        schools.sort();
        schools.dedup();
        Ok(Some(schools))
    }

    /// The name the bytes `sha256` had on the computer they were first uploaded
    /// from; `None` when they did not come through the upload page.
    pub fn upload_name(&self, sha256: &str) -> Result<Option<String>, ArchiveError> {
        Ok(self
            .conn
            .prepare_cached("SELECT name FROM uploads WHERE sha256 = ?1 ORDER BY id LIMIT 1")?
            .query_row(params![sha256], |row| row.get(0))
            .optional()?)
    }

    /// Whether `user` uploaded a file with these bytes.
    pub fn uploaded_by(&self, user: &str, sha256: &str) -> Result<bool, ArchiveError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM uploads WHERE user = ?1 AND sha256 = ?2")?
            .exists(params![user, sha256])?)
    }

    /// The newest uploads, newest first, each with what became of it.
    pub fn recent_uploads(&self, limit: u32) -> Result<Vec<UploadRecord>, ArchiveError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT uploads.id, uploads.sha256, uploads.name, uploads.size, uploads.user,
                    uploads.uploaded_at, received.received_at
             FROM uploads LEFT JOIN received ON received.sha256 = uploads.sha256
             ORDER BY uploads.id DESC LIMIT ?1",
        )?;
        let mut uploads: Vec<UploadRecord> = statement
            .query_map(params![limit], |row| {
                Ok(UploadRecord {
                    id: row.get(0)?,
                    sha256: row.get(1)?,
                    name: row.get(2)?,
                    size: row.get(3)?,
                    user: row.get(4)?,
                    uploaded_at: row.get(5)?,
                    received_at: row.get(6)?,
                    forms: Vec::new(),
                    quarantined: Vec::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut forms = self.conn.prepare_cached(
            "SELECT returns.form_id, forms.name, returns.verdict, returns.missing, returns.school
             FROM return_received
             JOIN returns ON returns.id = return_received.return_id
             LEFT JOIN forms ON forms.form_id = returns.form_id
             WHERE return_received.sha256 = ?1 ORDER BY returns.id",
        )?;
        let mut quarantined = self.conn.prepare_cached(
            "SELECT id, page, reason, message, settled FROM quarantine
             WHERE received_sha256 = ?1 ORDER BY id",
        )?;
        for upload in &mut uploads {
            upload.forms = forms
                .query_map(params![upload.sha256], |row| {
                    let missing: String = row.get(3)?;
                    Ok(UploadForm {
                        form_id: row.get(0)?,
                        school: row.get(4)?,
                        person: row.get(1)?,
                        verdict: row.get(2)?,
                        missing: serde_json::from_str(&missing).unwrap_or_default(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            upload.quarantined = quarantined
                .query_map(params![upload.sha256], |row| {
                    Ok(UploadQuarantine {
                        id: row.get(0)?,
                        page: row.get(1)?,
                        reason: row.get(2)?,
                        message: row.get(3)?,
                        settled: row.get(4)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
        }
        Ok(uploads)
    }

    /// Quarantined files and pages, newest first: the open ones, or all.
    pub fn quarantine(&self, open_only: bool) -> Result<Vec<QuarantineEntry>, ArchiveError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "{QUARANTINE_SELECT} {} ORDER BY quarantine.id DESC",
            match open_only {
                true => "WHERE quarantine.settled IS NULL",
                false => "",
            }
        ))?;
        Ok(statement
            .query_map([], quarantine_row)?
            .collect::<Result<_, _>>()?)
    }

    pub fn quarantine_entry(&self, id: i64) -> Result<Option<QuarantineEntry>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                &format!("{QUARANTINE_SELECT} WHERE quarantine.id = ?1"),
                params![id],
                quarantine_row,
            )
            .optional()?)
    }

    /// Marks a quarantined entry settled (`how`: "set aside", "assigned to F"):
    /// it leaves the office's list but its file stays in the archive. `false`
    /// when it was settled already or does not exist.
    pub fn settle_quarantine(
        &mut self,
        id: i64,
        how: &str,
        by: &str,
    ) -> Result<bool, ArchiveError> {
        let tx = self.begin_audited()?;
        let changed = tx.execute(
            "UPDATE quarantine SET settled = ?2, settled_by = ?3, settled_at = ?4
             WHERE id = ?1 AND settled IS NULL",
            params![id, how, by, crate::clock::now_text()],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        let path: String = tx.query_row(
            "SELECT path FROM quarantine WHERE id = ?1",
            params![id],
            |row| row.get(0),
        )?;
        tx.commit("quarantine", &format!("{path} {how} by {by}"))?;
        Ok(true)
    }

    /// Issued forms whose person's name contains `text` (any case), current
    /// years first: whom a quarantined page may belong to.
    pub fn find_forms(&self, text: &str, limit: u32) -> Result<Vec<FormMatch>, ArchiveError> {
        let pattern = format!(
            "%{}%",
            text.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut statement = self.conn.prepare_cached(
            "SELECT form_id, school, year, name, role, pages FROM forms
             WHERE name LIKE ?1 ESCAPE '\\' OR form_id LIKE ?1 ESCAPE '\\'
             ORDER BY year DESC, name, serial LIMIT ?2",
        )?;
        Ok(statement
            .query_map(params![pattern, limit], |row| {
                Ok(FormMatch {
                    form_id: row.get(0)?,
                    school: row.get(1)?,
                    year: row.get(2)?,
                    name: row.get(3)?,
                    role: row.get(4)?,
                    pages: row.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    /// A number that changes whenever what status reports could change: every
    /// such change (generate, ingest, assign, prune) appends to the audit log in
    /// its own transaction. Pages cache their figures against it.
    pub fn generation(&self) -> Result<i64, ArchiveError> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(id), 0) FROM audit", [], |row| {
                row.get(0)
            })?)
    }

    /// The newest returns filed, newest first.
    pub fn latest_filings(&self, limit: u32) -> Result<Vec<FiledReturn>, ArchiveError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT returns.form_id, forms.name, returns.school, returns.year, returns.verdict,
                    returns.method, returns.ingested_at
             FROM returns LEFT JOIN forms ON forms.form_id = returns.form_id
             ORDER BY returns.id DESC LIMIT ?1",
        )?;
        Ok(statement
            .query_map(params![limit], |row| {
                Ok(FiledReturn {
                    form_id: row.get(0)?,
                    person: row.get(1)?,
                    school: row.get(2)?,
                    year: row.get(3)?,
                    verdict: row.get(4)?,
                    method: row.get(5)?,
                    ingested_at: row.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    /// The newest audit entries, newest first: (at, action, detail).
    pub fn recent_audit(&self, limit: u32) -> Result<Vec<(String, String, String)>, ArchiveError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT at, action, detail FROM audit ORDER BY id DESC LIMIT ?1")?;
        Ok(statement
            .query_map(params![limit], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<Result<_, _>>()?)
    }
}

const QUARANTINE_SELECT: &str = "
SELECT quarantine.id, quarantine.received_sha256, received.name, quarantine.page,
       quarantine.reason, quarantine.message, quarantine.path, quarantine.created_at,
       quarantine.settled, quarantine.settled_by, quarantine.settled_at,
       (SELECT uploads.name FROM uploads WHERE uploads.sha256 = quarantine.received_sha256
        ORDER BY uploads.id LIMIT 1),
       quarantine.suggested_form, quarantine.suggested_page
FROM quarantine LEFT JOIN received ON received.sha256 = quarantine.received_sha256";

fn quarantine_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<QuarantineEntry> {
    Ok(QuarantineEntry {
        id: row.get(0)?,
        received_sha256: row.get(1)?,
        received_name: row.get(2)?,
        page: row.get(3)?,
        reason: row.get(4)?,
        message: row.get(5)?,
        path: row.get(6)?,
        created_at: row.get(7)?,
        settled: row.get(8)?,
        settled_by: row.get(9)?,
        settled_at: row.get(10)?,
        upload_name: row.get(11)?,
        suggested: match (
            row.get::<_, Option<String>>(12)?,
            row.get::<_, Option<u32>>(13)?,
        ) {
            (Some(form), Some(page)) => Some((form, page)),
            _ => None,
        },
    })
}

fn user_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        name: row.get(0)?,
        role: row.get(1)?,
        password_hash: row.get(2)?,
        schools: serde_json::from_str(&row.get::<_, String>(3)?).unwrap_or_default(),
        created_at: row.get(4)?,
    })
}
