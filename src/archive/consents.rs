//! The consent register: each pupil's parents' form, the answers read from
//! its newest accepted return, and the office's decision on an answer that
//! was unclear. A decision belongs to the return it settles: a later return
//! brings its own answers.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::{Archive, ArchiveError};
use crate::config::aups::AupKind;
use crate::consents::{Answer, ConsentAnswer};

/// One pupil's parents' form and what its newest accepted return answered.
#[derive(Debug, Clone)]
pub struct ConsentEntry {
    pub form_id: String,
    pub person_key: String,
    /// The pupil's name, as issued.
    pub name: Option<String>,
    /// The pupil's class, as the class list gave it when the form was issued.
    pub class: Option<String>,
    /// `None` while no return of the form is accepted.
    pub returned: Option<ReturnedConsents>,
}

/// The answers of one accepted return.
#[derive(Debug, Clone)]
pub struct ReturnedConsents {
    pub return_id: i64,
    /// RFC 3339 time of the ingest.
    pub ingested_at: String,
    /// `paper`, `online`, `pdf`...
    pub method: String,
    pub answers: Vec<RecordedAnswer>,
}

/// One consent's answer as read, and the office's decision when it was unclear.
#[derive(Debug, Clone)]
pub struct RecordedAnswer {
    pub read: ConsentAnswer,
    pub decided: Option<Decision>,
}

impl RecordedAnswer {
    /// The answer that stands: the office's decision, else what was read.
    pub fn answer(&self) -> Answer {
        self.decided.as_ref().map_or(self.read.answer, |d| d.answer)
    }
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub answer: Answer,
    pub by: String,
    /// RFC 3339.
    pub at: String,
}

/// Why an answer cannot be settled.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

impl From<rusqlite::Error> for SettleError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Archive(e.into())
    }
}

impl Archive {
    /// The answers recorded for one return, in the form's order.
    pub fn consent_answers(&self, return_id: i64) -> Result<Vec<ConsentAnswer>, ArchiveError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT consent, answer, how FROM consent_answers WHERE return_id = ?1 ORDER BY rowid",
        )?;
        let rows = statement.query_map(params![return_id], |row| {
            Ok(ConsentAnswer {
                consent: row.get(0)?,
                answer: row.get(1)?,
                how: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every parents' form issued for a school and year, in the order they
    /// were issued (class by class), with its newest accepted return's answers.
    /// A pupil issued a form for each of several policy versions is listed
    /// once, by their newest form with the newest accepted return of any.
    pub fn consent_register(
        &self,
        school: &str,
        year: &str,
    ) -> Result<Vec<ConsentEntry>, ArchiveError> {
        let mut forms = self.conn.prepare_cached(
            "SELECT f.form_id, f.person_key, f.name, f.role FROM forms f
             JOIN policies p ON p.fingerprint = f.fingerprint
             WHERE f.school = ?1 AND f.year = ?2 AND p.template = ?3 ORDER BY f.serial",
        )?;
        let mut entries: Vec<ConsentEntry> = Vec::new();
        let mut forms_of: HashMap<String, usize> = HashMap::new();
        let mut person_of_form: HashMap<String, usize> = HashMap::new();
        let rows = forms.query_map(params![school, year, AupKind::Parents.template()], |row| {
            Ok(ConsentEntry {
                form_id: row.get(0)?,
                person_key: row.get(1)?,
                name: row.get(2)?,
                class: row.get(3)?,
                returned: None,
            })
        })?;
        for row in rows {
            let entry = row?;
            match forms_of.get(&entry.person_key) {
                // A newer version's form for the same pupil: their name and
                // class as it was issued last.
                Some(&at) => {
                    person_of_form.insert(entry.form_id.clone(), at);
                    let returned = entries[at].returned.take();
                    entries[at] = ConsentEntry { returned, ..entry };
                }
                None => {
                    forms_of.insert(entry.person_key.clone(), entries.len());
                    person_of_form.insert(entry.form_id.clone(), entries.len());
                    entries.push(entry);
                }
            }
        }
        let mut accepted = self.conn.prepare_cached(
            "SELECT id, form_id, ingested_at, method FROM returns
             WHERE school = ?1 AND year = ?2 AND verdict = 'accepted' ORDER BY id",
        )?;
        let rows = accepted.query_map(params![school, year], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (return_id, form_id, ingested_at, method) = row?;
            if let Some(&at) = person_of_form.get(&form_id) {
                // Oldest first: the newest accepted return is the one left.
                entries[at].returned = Some(ReturnedConsents {
                    return_id,
                    ingested_at,
                    method,
                    answers: Vec::new(),
                });
            }
        }
        // Every answer of the school year's accepted returns, with its
        // decision, in one query; only those of each pupil's newest are kept.
        let newest: HashMap<i64, usize> = entries
            .iter()
            .enumerate()
            .filter_map(|(at, e)| Some((e.returned.as_ref()?.return_id, at)))
            .collect();
        let mut answers = self.conn.prepare_cached(
            "SELECT a.return_id, a.consent, a.answer, a.how, d.answer, d.decided_by, d.decided_at
             FROM consent_answers a JOIN returns r ON r.id = a.return_id
             LEFT JOIN consent_decisions d ON d.return_id = a.return_id AND d.consent = a.consent
             WHERE r.school = ?1 AND r.year = ?2 AND r.verdict = 'accepted' ORDER BY a.rowid",
        )?;
        let rows = answers.query_map(params![school, year], |row| {
            let decided = match row.get::<_, Option<Answer>>(4)? {
                Some(answer) => Some(Decision {
                    answer,
                    by: row.get(5)?,
                    at: row.get(6)?,
                }),
                None => None,
            };
            Ok((
                row.get::<_, i64>(0)?,
                RecordedAnswer {
                    read: ConsentAnswer {
                        consent: row.get(1)?,
                        answer: row.get(2)?,
                        how: row.get(3)?,
                    },
                    decided,
                },
            ))
        })?;
        for row in rows {
            let (return_id, answer) = row?;
            if let Some(returned) = newest
                .get(&return_id)
                .and_then(|&at| entries[at].returned.as_mut())
            {
                returned.answers.push(answer);
            }
        }
        Ok(entries)
    }

    /// Settles an unclear answer of return `return_id` to consent `consent`
    /// as `answer` (yes or no), decided by `by`, with an audit entry. Refused
    /// for an answer that was read clearly, one settled already, or a return
    /// that is not the form's newest accepted one.
    pub fn settle_consent(
        &mut self,
        return_id: i64,
        consent: &str,
        answer: Answer,
        by: &str,
    ) -> Result<(), SettleError> {
        if answer == Answer::Unclear {
            return Err(SettleError::Refused(
                "an answer is settled as yes or no".into(),
            ));
        }
        let tx = self.begin_audited()?;
        let found: Option<(String, String, String)> = tx
            .query_row(
                "SELECT r.form_id, a.answer, a.how FROM consent_answers a
                 JOIN returns r ON r.id = a.return_id
                 WHERE a.return_id = ?1 AND a.consent = ?2",
                params![return_id, consent],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let Some((form_id, read, how)) = found else {
            return Err(SettleError::Refused(format!(
                "return {return_id} has no answer to the consent `{consent}`"
            )));
        };
        if read != Answer::Unclear.as_str() {
            return Err(SettleError::Refused(format!(
                "the answer to `{consent}` was read clearly as {read}: only an unclear answer is settled"
            )));
        }
        let newest: Option<i64> = tx
            .query_row(
                "SELECT MAX(id) FROM returns WHERE form_id = ?1 AND verdict = 'accepted'",
                params![form_id],
                |row| row.get(0),
            )
            .optional()?
            .flatten();
        if newest != Some(return_id) {
            return Err(SettleError::Refused(format!(
                "form {form_id} has a newer return: settle its answers instead"
            )));
        }
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO consent_decisions (return_id, consent, answer, decided_by, decided_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![return_id, consent, answer.as_str(), by, crate::clock::now_text()],
        )?;
        if inserted == 0 {
            return Err(SettleError::Refused(format!(
                "the answer to `{consent}` on form {form_id} was settled already"
            )));
        }
        let name: Option<String> = tx
            .query_row(
                "SELECT name FROM forms WHERE form_id = ?1",
                params![form_id],
                |row| row.get(0),
            )
            .optional()?
            .flatten();
        tx.commit(
            "consent",
            &format!(
                "form {form_id} ({}): consent {consent} settled as {answer} by {by}; it was read as unclear: {how}",
                name.as_deref().unwrap_or("blank form")
            ),
        )?;
        Ok(())
    }
}

impl rusqlite::types::FromSql for Answer {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        Answer::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown consent answer `{text}`").into())
        })
    }
}
