//! The mail log: every message aup sends a person (invitations now; reminders
//! and receipts use the same log), with its Message-ID, recipient, time and
//! outcome. A message is claimed before it is sent, in one transaction that
//! first checks none of its kind went to that form, so two runners never send
//! the same invitation; the outcome follows once the server has answered.

use rusqlite::{OptionalExtension, params};

use super::{Archive, ArchiveError};

/// One message as the log keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MailEntry {
    pub id: i64,
    pub form_id: String,
    /// `invitation`.
    pub kind: String,
    pub recipient: String,
    pub message_id: String,
    /// When it was claimed (RFC 3339, UTC).
    pub at: String,
    /// `sending` (claimed, no answer yet: a run was cut off), `sent`,
    /// `refused` (the server said no for good: 5xx) or `failed` (it kept
    /// saying "later", or could not be reached).
    pub outcome: String,
    /// The server's words, for `refused` and `failed`.
    pub detail: String,
}

/// What claiming a message found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed {
    /// Claimed: send it, then record the outcome under this id.
    Claimed(i64),
    /// One of its kind went (or is going) to the form already.
    AlreadySent,
    /// The server refused one of its kind to the same address before: its
    /// words. A new address on the roster is tried.
    RefusedBefore(String),
}

/// A message about to be sent.
pub struct Claim<'a> {
    pub form_id: &'a str,
    pub kind: &'a str,
    pub recipient: &'a str,
    pub message_id: &'a str,
}

const COLUMNS: &str = "id, form_id, kind, recipient, message_id, at, outcome, detail";

fn entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<MailEntry> {
    Ok(MailEntry {
        id: row.get(0)?,
        form_id: row.get(1)?,
        kind: row.get(2)?,
        recipient: row.get(3)?,
        message_id: row.get(4)?,
        at: row.get(5)?,
        outcome: row.get(6)?,
        detail: row.get(7)?,
    })
}

impl Archive {
    /// Claims `claim` for sending, unless one of its kind went (or is going)
    /// to its form already and `again` is not set, or the same address was
    /// refused before.
    pub fn claim_mail(&self, claim: &Claim<'_>, again: bool) -> Result<Claimed, ArchiveError> {
        let tx = self.begin_audited()?;
        let sent: bool = tx
            .prepare(
                "SELECT 1 FROM mail_log WHERE form_id = ?1 AND kind = ?2
                   AND outcome IN ('sending', 'sent')",
            )?
            .exists(params![claim.form_id, claim.kind])?;
        if sent && !again {
            return Ok(Claimed::AlreadySent);
        }
        let refused: Option<String> = tx
            .query_row(
                "SELECT detail FROM mail_log WHERE form_id = ?1 AND recipient = ?2
                   AND outcome = 'refused' ORDER BY id DESC LIMIT 1",
                params![claim.form_id, claim.recipient],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(words) = refused {
            return Ok(Claimed::RefusedBefore(words));
        }
        tx.execute(
            "INSERT INTO mail_log (form_id, kind, recipient, message_id, at, outcome, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, 'sending', '')",
            params![
                claim.form_id,
                claim.kind,
                claim.recipient,
                claim.message_id,
                crate::clock::now_text()
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit(
            "mail",
            &format!(
                "sending the {} of {} as {}",
                claim.kind, claim.form_id, claim.message_id
            ),
        )?;
        Ok(Claimed::Claimed(id))
    }

    /// Records what the server said of a claimed message.
    pub fn mail_outcome(&self, id: i64, outcome: &str, detail: &str) -> Result<(), ArchiveError> {
        let tx = self.begin_audited()?;
        let (form_id, kind): (String, String) = tx.query_row(
            "SELECT form_id, kind FROM mail_log WHERE id = ?1",
            params![id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        tx.execute(
            "UPDATE mail_log SET outcome = ?2, detail = ?3 WHERE id = ?1",
            params![id, outcome, detail],
        )?;
        let said = match detail.is_empty() {
            true => String::new(),
            false => format!(": {detail}"),
        };
        tx.commit(
            "mail",
            &format!("the {kind} of {form_id} was {outcome}{said}"),
        )
    }

    /// Marks the message with `message_id` bounced, as a delivery report
    /// arriving later says; false when aup sent no such message.
    pub fn mail_bounced(&self, message_id: &str, detail: &str) -> Result<bool, ArchiveError> {
        let tx = self.begin_audited()?;
        let form: Option<(i64, String, String)> = tx
            .query_row(
                "SELECT id, form_id, kind FROM mail_log WHERE message_id = ?1",
                params![message_id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let Some((id, form_id, kind)) = form else {
            return Ok(false);
        };
        tx.execute(
            "UPDATE mail_log SET outcome = 'bounced', detail = ?2 WHERE id = ?1",
            params![id, detail],
        )?;
        tx.commit(
            "mail",
            &format!("the {kind} of {form_id} bounced: {detail}"),
        )?;
        Ok(true)
    }

    /// For each form of `school` and `year` whose latest message was refused
    /// or bounced: what the office should know ("address bounced: 550 …").
    pub fn mail_problems(
        &self,
        school: &str,
        year: &str,
    ) -> Result<std::collections::HashMap<String, String>, ArchiveError> {
        let mut statement = self.conn.prepare(
            "SELECT m.form_id, m.outcome, m.detail, m.recipient FROM mail_log m
             JOIN forms f ON f.form_id = m.form_id
             WHERE f.school = ?1 AND f.year = ?2
               AND m.id = (SELECT MAX(id) FROM mail_log WHERE form_id = m.form_id)
               AND m.outcome IN ('refused', 'bounced')",
        )?;
        let rows = statement.query_map(params![school, year], |row| {
            let (form, outcome, detail, to): (String, String, String, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            Ok((form, format!("{to}: address {outcome}: {detail}")))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every message sent about `form_id`, oldest first.
    pub fn mail_of(&self, form_id: &str) -> Result<Vec<MailEntry>, ArchiveError> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM mail_log WHERE form_id = ?1 ORDER BY id"
        ))?;
        let rows = statement.query_map(params![form_id], entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many messages were claimed since `since` (RFC 3339), for a day's cap.
    pub fn mail_claimed_since(&self, since: &str) -> Result<u32, ArchiveError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM mail_log WHERE at >= ?1",
            params![since],
            |row| row.get(0),
        )?)
    }
}
