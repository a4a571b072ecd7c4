//! Mail taken in from the office's mailbox: one row per message, by the
//! folder's UIDVALIDITY and the message's UID, and by its Message-ID, so a
//! restart, a second runner or a mailbox moved (new UIDVALIDITY, same
//! Message-IDs) never takes a message twice. The row is written once the
//! message's attachments are durable in aup's inbox, before the message is
//! moved out of the folder: a crash between the two leaves a message the next
//! fetch only moves.

use rusqlite::{OptionalExtension, params};

use super::{Archive, ArchiveError};

/// A message taken in, as the index keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TakenMail {
    pub uidvalidity: u32,
    pub uid: u32,
    pub message_id: String,
    /// The sender's address, for a receipt.
    pub sender: String,
    pub at: String,
    /// `filed` (its attachments went to the inbox) or `not_filed`.
    pub outcome: String,
    /// What was done, for the office: the files placed, or why none.
    pub detail: String,
    /// The SHA-256 of each attachment placed in the inbox.
    pub attachments: Vec<String>,
    /// Sent by a program (an auto-reply, a bounce, a list): never answered.
    pub automatic: bool,
}

/// How one return that came by mail was judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub form_id: String,
    pub school: String,
    pub verdict: String,
    pub missing: Vec<String>,
}

const COLUMNS: &str =
    "id, uidvalidity, uid, message_id, sender, at, outcome, detail, attachments, automatic";

fn taken(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, TakenMail)> {
    let attachments: String = row.get(8)?;
    Ok((
        row.get(0)?,
        TakenMail {
            uidvalidity: row.get(1)?,
            uid: row.get(2)?,
            message_id: row.get(3)?,
            sender: row.get(4)?,
            at: row.get(5)?,
            outcome: row.get(6)?,
            detail: row.get(7)?,
            attachments: serde_json::from_str(&attachments).unwrap_or_default(),
            automatic: row.get(9)?,
        },
    ))
}

impl Archive {
    /// Messages whose attachments were filed and whose sender is owed a
    /// receipt: (row id, message).
    pub fn receipts_due(&self) -> Result<Vec<(i64, TakenMail)>, ArchiveError> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM mail_in
             WHERE outcome = 'filed' AND automatic = 0 AND receipt IS NULL ORDER BY id"
        ))?;
        let rows = statement.query_map([], taken)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How the attachments with these SHA-256 were judged, newest return per
    /// form; `None` while any of them is still waiting in the inbox.
    pub fn judged(&self, attachments: &[String]) -> Result<Option<Vec<Judged>>, ArchiveError> {
        let mut all = Vec::new();
        for sha in attachments {
            let received: bool = self
                .conn
                .prepare("SELECT 1 FROM received WHERE sha256 = ?1")?
                .exists(params![sha])?;
            if !received {
                return Ok(None);
            }
            let mut statement = self.conn.prepare(
                "SELECT r.form_id, r.school, r.verdict, r.missing FROM returns r
                 JOIN return_received rr ON rr.return_id = r.id
                 WHERE rr.sha256 = ?1 ORDER BY r.id DESC",
            )?;
            let rows = statement.query_map(params![sha], |row| {
                let missing: String = row.get(3)?;
                Ok(Judged {
                    form_id: row.get(0)?,
                    school: row.get(1)?,
                    verdict: row.get(2)?,
                    missing: serde_json::from_str(&missing).unwrap_or_default(),
                })
            })?;
            for judged in rows {
                let judged = judged?;
                if !all.iter().any(|j: &Judged| j.form_id == judged.form_id) {
                    all.push(judged);
                }
            }
        }
        Ok(Some(all))
    }

    /// Records the receipt sent (or why none was) for a message taken in.
    pub fn mark_receipt(&self, id: i64, receipt: &str) -> Result<(), ArchiveError> {
        let tx = self.begin_audited()?;
        let message_id: String = tx.query_row(
            "SELECT message_id FROM mail_in WHERE id = ?1",
            params![id],
            |row| row.get(0),
        )?;
        tx.execute(
            "UPDATE mail_in SET receipt = ?2 WHERE id = ?1",
            params![id, receipt],
        )?;
        tx.commit(
            "mail in",
            &format!("receipt for message {message_id}: {receipt}"),
        )
    }

    /// The message taken in as `uid` of the folder with `uidvalidity`, or
    /// with `message_id` from any folder state.
    pub fn taken_mail(
        &self,
        uidvalidity: u32,
        uid: u32,
        message_id: &str,
    ) -> Result<Option<TakenMail>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM mail_in
                     WHERE (uidvalidity = ?1 AND uid = ?2) OR (?3 <> '' AND message_id = ?3)
                     ORDER BY id LIMIT 1"
                ),
                params![uidvalidity, uid, message_id],
                |row| taken(row).map(|(_, t)| t),
            )
            .optional()?)
    }

    /// Records a message taken in, audited by its Message-ID (never its
    /// sender or contents).
    pub fn take_mail(&self, taken: &TakenMail) -> Result<(), ArchiveError> {
        let tx = self.begin_audited()?;
        tx.execute(
            "INSERT INTO mail_in (uidvalidity, uid, message_id, sender, at, outcome, detail,
                                  attachments, automatic, receipt)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                taken.uidvalidity,
                taken.uid,
                taken.message_id,
                taken.sender,
                taken.at,
                taken.outcome,
                taken.detail,
                serde_json::to_string(&taken.attachments).unwrap_or_default(),
                taken.automatic,
                // A program's message is never answered: no receipt is due.
                taken.automatic.then_some("none: sent by a program"),
            ],
        )?;
        tx.commit(
            "mail in",
            &format!(
                "message {} from the mailbox: {}",
                taken.message_id, taken.outcome
            ),
        )
    }
}
