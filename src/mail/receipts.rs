//! Receipts: once ingest has judged what a message brought, its sender gets a
//! short reply saying what became of each return in it (complete; or what is
//! missing, with the person's link to finish online). Never to a message a
//! program sent (see `fetch`), never twice, only inside the sending window,
//! and not for a school that switched them off (`mail.receipts: false`).

use std::path::Path;

use serde::Serialize;

use super::letter::{self, Receipt, Received};
use super::send::{Mailer, Sent};
use super::settings::MailSettings;
use crate::archive::Archive;
use crate::online::links::{self, LinkKey};

/// What became of one receipt.
#[derive(Debug, Clone, Serialize)]
pub struct Answered {
    pub to: String,
    pub message_id: String,
    /// `sent`, `refused`, `failed` (tried again next time), `off` (the school
    /// sends none).
    pub outcome: String,
    pub detail: String,
}

/// Where receipts look things up.
pub struct Places<'a> {
    pub archive_dir: &'a Path,
    pub schools: &'a Path,
    /// For the link in a receipt of an incomplete return.
    pub public_url: Option<&'a str>,
}

/// Sends the receipts that are due and whose returns are judged.
pub fn send_due(
    settings: &MailSettings,
    archive: &Archive,
    places: &Places<'_>,
) -> Result<Vec<Answered>, String> {
    if !settings.sending.open_at(crate::clock::uk_now()) {
        return Ok(Vec::new());
    }
    let today = crate::clock::now().date().to_string();
    let key = LinkKey::load(places.archive_dir)?;
    let mut mailer = None;
    let mut schools = std::collections::HashMap::new();
    let mut all = Vec::new();
    for (id, taken) in archive.receipts_due().map_err(|e| e.to_string())? {
        // Still waiting in the inbox: next time.
        let Some(judged) = archive
            .judged(&taken.attachments)
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        // Each school's file read once a run, however many messages it has.
        let config = match judged.first() {
            Some(j) => schools
                .entry(j.school.clone())
                .or_insert_with(|| {
                    let file = places.schools.join(format!("{}.yaml", j.school));
                    crate::config::load(&file).ok().map(|l| l.config)
                })
                .clone(),
            None => None,
        };
        if config.as_ref().is_some_and(|c| !c.mail.receipts) {
            archive
                .mark_receipt(id, "none: the school sends no receipts")
                .map_err(|e| e.to_string())?;
            all.push(Answered {
                to: taken.sender.clone(),
                message_id: taken.message_id.clone(),
                outcome: "off".into(),
                detail: String::new(),
            });
            continue;
        }
        let mut people = Vec::new();
        for j in &judged {
            let form = archive.issued(&j.form_id).map_err(|e| e.to_string())?;
            let name = form
                .as_ref()
                .and_then(|f| f.name.clone())
                .unwrap_or_else(|| "Your".into());
            let link = match (j.verdict.as_str(), &key, places.public_url, &form) {
                ("accepted", ..) | (_, None, ..) | (_, _, None, _) | (.., None) => None,
                (_, Some(key), Some(url), Some(form)) => archive
                    .live_link(&j.form_id, &form.fingerprint, &today)
                    .map_err(|e| e.to_string())?
                    .map(|l| links::url(url, &key.token(&l.nonce))),
            };
            people.push((name, link));
        }
        let received: Vec<Received<'_>> = judged
            .iter()
            .zip(&people)
            .map(|(j, (name, link))| Received {
                name,
                form_id: &j.form_id,
                verdict: &j.verdict,
                missing: &j.missing,
                link: link.as_deref(),
            })
            .collect();
        let school_name = config.as_ref().map(|c| c.name.clone()).unwrap_or_default();
        let message_id = letter::message_id("receipt", &settings.from)?;
        let message = Receipt {
            from: &settings.from,
            to: &taken.sender,
            in_reply_to: &taken.message_id,
            school: &school_name,
            returns: &received,
            message_id: &message_id,
        }
        .message();
        let message = match message {
            Ok(message) => message,
            Err(problem) => {
                archive
                    .mark_receipt(id, &format!("none: {problem}"))
                    .map_err(|e| e.to_string())?;
                continue;
            }
        };
        if mailer.is_none() {
            mailer = Some(Mailer::new(settings)?);
        }
        let answer = mailer
            .as_mut()
            .map(|m| m.send(&message))
            .unwrap_or(Sent::Failed(String::new()));
        match &answer {
            Sent::Sent => archive.mark_receipt(id, &format!("sent {message_id}")),
            Sent::Refused(words) => archive.mark_receipt(id, &format!("refused: {words}")),
            Sent::Failed(_) => Ok(()),
        }
        .map_err(|e| e.to_string())?;
        all.push(Answered {
            to: taken.sender.clone(),
            message_id: message_id.clone(),
            outcome: answer.outcome().into(),
            detail: answer.detail().into(),
        });
    }
    Ok(all)
}
