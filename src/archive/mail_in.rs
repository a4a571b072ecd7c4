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
}

impl Archive {
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
                "SELECT uidvalidity, uid, message_id, sender, at, outcome, detail FROM mail_in
                 WHERE (uidvalidity = ?1 AND uid = ?2) OR (?3 <> '' AND message_id = ?3)
                 ORDER BY id LIMIT 1",
                params![uidvalidity, uid, message_id],
                |row| {
                    Ok(TakenMail {
                        uidvalidity: row.get(0)?,
                        uid: row.get(1)?,
                        message_id: row.get(2)?,
                        sender: row.get(3)?,
                        at: row.get(4)?,
                        outcome: row.get(5)?,
                        detail: row.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    /// Records a message taken in, audited by its Message-ID (never its
    /// sender or contents).
    pub fn take_mail(&self, taken: &TakenMail) -> Result<(), ArchiveError> {
        let tx = self.begin_audited()?;
        tx.execute(
            "INSERT INTO mail_in (uidvalidity, uid, message_id, sender, at, outcome, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                taken.uidvalidity,
                taken.uid,
                taken.message_id,
                taken.sender,
                taken.at,
                taken.outcome,
                taken.detail
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
