//! Posting a batch of letters: each is claimed in the mail log before it is
//! sent (so two runners, or a second run, never send it twice), sent under the
//! per-minute and daily caps, and its outcome recorded, with one report per
//! person for the command's output.

use std::path::Path;

use serde::Serialize;

use super::letter::{self, Kind, Letter};
use super::send::{Mailer, Sent};
use super::settings::MailSettings;
use crate::archive::{Archive, Claim, Claimed};
use crate::config::SchoolMail;
use crate::online::mail_merge::LinkRow;

/// What the batch is for.
pub struct Batch<'a> {
    pub settings: &'a MailSettings,
    pub archive: &'a Archive,
    pub words: &'a SchoolMail,
    pub school_name: &'a str,
    pub year: &'a str,
    /// Where `aup generate` wrote the forms, for attaching them.
    pub out: &'a Path,
    /// Send although one of its kind went to the form already.
    pub again: bool,
}

/// What became of one person's letter.
#[derive(Debug, Clone, Serialize)]
pub struct Posted {
    pub to: String,
    pub name: String,
    pub form_id: String,
    /// `sent`, `refused`, `failed`, `already_sent`, `refused_before`,
    /// `not_sent` (the message could not be made), `daily_cap`.
    pub outcome: String,
    pub detail: String,
    pub message_id: String,
}

impl Posted {
    fn of(row: &LinkRow, outcome: &str, detail: &str, message_id: &str) -> Self {
        Self {
            to: row.email.clone(),
            name: row.name.clone(),
            form_id: row.form_id.clone(),
            outcome: outcome.into(),
            detail: detail.into(),
            message_id: message_id.into(),
        }
    }

    /// Whether the office must look at it.
    pub fn is_problem(&self) -> bool {
        !matches!(self.outcome.as_str(), "sent" | "already_sent")
    }
}

/// Posts `letters` (a person's row and which letter), calling `each` as each
/// one is settled. Stops at the daily cap.
pub fn post(
    batch: &Batch<'_>,
    letters: &[(&LinkRow, Kind)],
    mailer: &mut Mailer,
    mut each: impl FnMut(&Posted),
) -> Result<Vec<Posted>, String> {
    let day_ago = (crate::clock::now() - time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut claimed_today = batch
        .archive
        .mail_claimed_since(&day_ago)
        .map_err(|e| e.to_string())?;
    let mut all = Vec::new();
    let mut settle = |posted: Posted| {
        each(&posted);
        all.push(posted);
    };
    for (row, kind) in letters {
        if claimed_today >= batch.settings.sending.per_day {
            settle(Posted::of(
                row,
                "daily_cap",
                &format!(
                    "the daily cap of {} messages (sending.per_day) is reached: run again tomorrow",
                    batch.settings.sending.per_day
                ),
                "",
            ));
            continue;
        }
        let form = match batch.words.attach_form && *kind == Kind::Invitation {
            true => Some(attached_form(batch.archive, batch.out, &row.form_id)?),
            false => None,
        };
        let message_id = letter::message_id(&row.form_id, &batch.settings.from)?;
        let made = Letter {
            kind: *kind,
            from: &batch.settings.from,
            reply_to: batch.settings.reply_to.as_deref(),
            name: &row.name,
            email: &row.email,
            school: batch.school_name,
            year: batch.year,
            link: &row.link,
            expires: &crate::clock::uk_date_long(&row.expires),
            form_id: &row.form_id,
            form,
            message_id: &message_id,
        }
        .message(batch.words);
        let message = match made {
            Ok(message) => message,
            Err(problem) => {
                settle(Posted::of(row, "not_sent", &problem, ""));
                continue;
            }
        };
        let kind_name = kind.name();
        let claim = Claim {
            form_id: &row.form_id,
            kind: &kind_name,
            recipient: &row.email,
            message_id: &message_id,
        };
        let id = match batch
            .archive
            .claim_mail(&claim, batch.again)
            .map_err(|e| e.to_string())?
        {
            Claimed::Claimed(id) => id,
            Claimed::AlreadySent => {
                settle(Posted::of(row, "already_sent", "", ""));
                continue;
            }
            Claimed::RefusedBefore(words) => {
                let hint =
                    format!("this address was refused before ({words}); correct it in the roster");
                settle(Posted::of(row, "refused_before", &hint, ""));
                continue;
            }
        };
        claimed_today += 1;
        let answer = mailer.send(&message);
        batch
            .archive
            .mail_outcome(id, answer.outcome(), answer.detail())
            .map_err(|e| e.to_string())?;
        let outcome = match &answer {
            Sent::Sent => "sent",
            Sent::Refused(_) => "refused",
            Sent::Failed(_) => "failed",
        };
        settle(Posted::of(row, outcome, answer.detail(), &message_id));
    }
    Ok(all)
}

/// The person's issued form as an attachment: its file name and bytes.
fn attached_form(
    archive: &Archive,
    out: &Path,
    form_id: &str,
) -> Result<(String, Vec<u8>), String> {
    let form = archive
        .issued(form_id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("form {form_id} is not in the issue register"))?;
    let (path, bytes) = crate::issued::issued_form(out, &form).ok_or_else(|| {
        format!(
            "the school attaches forms, but {form_id} is not under {} as it was issued: give --out where aup generate wrote it",
            out.display()
        )
    })?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("form.pdf")
        .to_owned();
    Ok((name, bytes))
}
