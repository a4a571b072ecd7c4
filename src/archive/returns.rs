//! What came back: the received files (by hash), the returns judged from them,
//! and what was quarantined, written by one transaction per ingest run; and the
//! views of them that status, show and assign read.

use rusqlite::{OptionalExtension, params};

use super::{Archive, ArchiveError};
use crate::config::aups::AupKind;
use crate::consents::ConsentAnswer;
use crate::verdict::Verdict;

/// What one ingest run writes to the index, in one transaction.
#[derive(Debug, Default)]
pub struct IngestRecord {
    /// The audit log's word for the run: `ingest` unless set (`assign`).
    pub action: &'static str,
    /// Who asked for it (`aup serve`'s signed-in user), said in the audit entry.
    pub by: Option<String>,
    /// A quarantined entry this run settles (`aup serve`'s assign): its id and
    /// how, marked in the same transaction as the return it became.
    pub settles: Option<(i64, String)>,
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
    /// The date the person wrote on the form, as written; `None` on paper,
    /// where the handwriting is not read.
    pub signed_date: Option<String>,
    /// A parent's answer to each consent the form asks, as read from it.
    pub consents: Vec<ConsentAnswer>,
}

#[derive(Debug, Clone)]
pub struct QuarantineRow {
    pub received_sha256: String,
    pub page: Option<u32>,
    pub reason: String,
    pub message: String,
    pub path: String,
    /// The form and page it probably is, from its neighbours in the file:
    /// offered to the office, never filed without a click.
    pub suggested: Option<(String, u32)>,
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
    /// The date the person wrote on the form, as written (PDF returns only).
    pub signed_date: Option<String>,
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

    /// Commits one ingest run.
    pub fn record_ingest(&mut self, record: &IngestRecord, at: &str) -> Result<(), ArchiveError> {
        let tx = self.begin_audited()?;
        for r in &record.received {
            tx.execute(
                "INSERT OR IGNORE INTO received (sha256, name, size, stored_path, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![r.sha256, r.name, r.size as i64, r.stored_path, at],
            )?;
        }
        for r in &record.returns {
            let missing = serde_json::to_string(&r.missing).unwrap_or_default();
            let files = serde_json::to_string(&r.files).unwrap_or_default();
            tx.execute(
                "INSERT INTO returns (form_id, school, year, fingerprint, verdict, missing, method, files, archived_path, ingested_at, signed_date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![r.form_id, r.school, r.year, r.fingerprint, r.verdict.as_str(), missing, r.method, files, r.archived_path, at, r.signed_date],
            )?;
            let return_id = tx.last_insert_rowid();
            for answer in &r.consents {
                tx.execute(
                    "INSERT INTO consent_answers (return_id, consent, answer, how) VALUES (?1, ?2, ?3, ?4)",
                    params![return_id, answer.consent, answer.answer.as_str(), answer.how],
                )?;
            }
            for (position, sha256) in r.received.iter().enumerate() {
                tx.execute(
                    "INSERT INTO return_received (return_id, position, sha256) VALUES (?1, ?2, ?3)",
                    params![return_id, position as i64, sha256],
                )?;
            }
        }
        for q in &record.quarantined {
            tx.execute(
                "INSERT INTO quarantine (received_sha256, page, reason, message, path, created_at, suggested_form, suggested_page)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![q.received_sha256, q.page, q.reason, q.message, q.path, at,
                    q.suggested.as_ref().map(|s| &s.0), q.suggested.as_ref().map(|s| s.1)],
            )?;
        }
        if let Some((id, how)) = &record.settles {
            tx.execute(
                "UPDATE quarantine SET settled = ?2, settled_by = ?3, settled_at = ?4
                 WHERE id = ?1 AND settled IS NULL",
                params![id, how, record.by.as_deref().unwrap_or("aup"), at],
            )?;
        }
        let mut detail = format!(
            "received {} files: {} returns, {} quarantined",
            record.received.len(),
            record.returns.len(),
            record.quarantined.len()
        );
        if let Some((id, how)) = &record.settles {
            detail.push_str(&format!("; quarantine entry {id} {how}"));
        }
        if let Some(by) = &record.by {
            detail.push_str(&format!(" by {by}"));
        }
        let action = match record.action {
            "" => "ingest",
            other => other,
        };
        tx.commit(action, &detail)?;
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

    /// Every form of one AUP issued for a school and year with its returns, for
    /// the status report: (form, returns oldest first).
    pub fn forms_with_returns(
        &self,
        school: &str,
        year: &str,
        aup: AupKind,
    ) -> Result<Vec<IssuedWithReturns>, ArchiveError> {
        let mut forms = self.conn.prepare_cached(
            "SELECT f.form_id, f.person_key, f.name, f.role, f.fingerprint FROM forms f
             JOIN policies p ON p.fingerprint = f.fingerprint
             WHERE f.school = ?1 AND f.year = ?2 AND p.template = ?3 ORDER BY f.serial",
        )?;
        // Every return of the school year in one indexed query, not one per form.
        let mut returns = self.conn.prepare_cached(
            "SELECT form_id, verdict, missing, method, ingested_at, signed_date FROM returns
             WHERE school = ?1 AND year = ?2 ORDER BY id",
        )?;
        let mut by_form: std::collections::HashMap<String, Vec<ReturnSummary>> =
            std::collections::HashMap::new();
        let rows = returns.query_map(params![school, year], |row| {
            // Most returns miss nothing: no JSON to parse for those.
            let missing = row.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
            Ok((
                row.get::<_, String>(0)?,
                ReturnSummary {
                    verdict: row.get(1)?,
                    missing: match missing {
                        "[]" => Vec::new(),
                        text => serde_json::from_str(text).unwrap_or_default(),
                    },
                    method: row.get(3)?,
                    ingested_at: row.get(4)?,
                    signed_date: row.get(5)?,
                },
            ))
        })?;
        for row in rows {
            let (form_id, summary) = row?;
            by_form.entry(form_id).or_default().push(summary);
        }
        let mut out: Vec<IssuedWithReturns> = forms
            .query_map(params![school, year, aup.template()], |row| {
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

    /// Every return of a form, oldest first, with where it is filed.
    pub fn history(
        &self,
        form_id: &str,
    ) -> Result<Vec<(ReturnSummary, Vec<String>, String)>, ArchiveError> {
        let mut statement = self.conn.prepare(
            "SELECT verdict, missing, method, ingested_at, files, archived_path, signed_date
             FROM returns WHERE form_id = ?1 ORDER BY id",
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
                    signed_date: row.get(6)?,
                },
                serde_json::from_str(&files).unwrap_or_default(),
                row.get(5)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest return of a form: what `aup assign` completes.
    pub fn latest_return(&self, form_id: &str) -> Result<Option<ReturnRow>, ArchiveError> {
        let found = self
            .conn
            .query_row(
                "SELECT id, school, year, fingerprint, verdict, missing, method, files, archived_path,
                        signed_date
                 FROM returns WHERE form_id = ?1 ORDER BY id DESC LIMIT 1",
                params![form_id],
                |row| {
                    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
                        Ok(serde_json::from_str(&row.get::<_, String>(i)?).unwrap_or_default())
                    };
                    Ok((
                        row.get::<_, i64>(0)?,
                        ReturnRow {
                            form_id: form_id.to_owned(),
                            school: row.get(1)?,
                            year: row.get(2)?,
                            fingerprint: row.get(3)?,
                            verdict: row.get(4)?,
                            missing: list(5)?,
                            method: row.get(6)?,
                            files: list(7)?,
                            received: Vec::new(),
                            archived_path: row.get(8)?,
                            signed_date: row.get(9)?,
                            consents: Vec::new(),
                        },
                    ))
                },
            )
            .optional()?;
        let Some((id, mut row)) = found else {
            return Ok(None);
        };
        row.received = self
            .conn
            .prepare("SELECT sha256 FROM return_received WHERE return_id = ?1 ORDER BY position")?
            .query_map(params![id], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        row.consents = self.consent_answers(id)?;
        Ok(Some(row))
    }
}

impl rusqlite::types::FromSql for Verdict {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        Verdict::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown verdict `{text}`").into())
        })
    }
}
