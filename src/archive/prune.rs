//! `aup prune`'s part in the index: removing a school year's forms, returns and
//! the received files nothing else still needs, in one audited transaction.

use rusqlite::{OptionalExtension, params};

use super::{Archive, ArchiveError};

/// What `aup prune` removed for one school and year.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub forms: usize,
    pub returns: usize,
    /// Received files (scans, emailed PDFs) no other return still needs, with
    /// their stored paths: deleted once the index no longer names them.
    pub received: Vec<String>,
    /// Messages taken in from the mailbox whose every attachment went with
    /// the year: the sender's address and the message are not kept longer
    /// than what they brought.
    pub mail_in: usize,
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
        let tx = self.begin_audited()?;
        let mut pruned = Pruned::default();
        let mut removed = std::collections::HashSet::new();
        let candidates: Vec<String> = tx
            .prepare(
                "SELECT DISTINCT sha256 FROM return_received
                 WHERE return_id IN (SELECT id FROM returns WHERE school = ?1 AND year = ?2)
                 ORDER BY sha256",
            )?
            .query_map(params![school, year], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        // Their return_received rows go with them (ON DELETE CASCADE; every
        // writable open turns foreign keys on).
        pruned.returns = tx.execute(
            "DELETE FROM returns WHERE school = ?1 AND year = ?2",
            params![school, year],
        )?;
        for sha in candidates {
            // A batch scan can hold forms of several years: keep it while any
            // remaining return still comes from it.
            let still_needed: bool = tx
                .prepare("SELECT 1 FROM return_received WHERE sha256 = ?1")?
                .exists(params![sha])?;
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
            removed.insert(sha);
        }
        let taken: Vec<(i64, String)> = tx
            .prepare("SELECT id, attachments FROM mail_in WHERE outcome = 'filed'")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (id, attachments) in taken {
            let shas: Vec<String> = serde_json::from_str(&attachments).unwrap_or_default();
            if !shas.is_empty() && shas.iter().all(|sha| removed.contains(sha)) {
                pruned.mail_in += tx.execute("DELETE FROM mail_in WHERE id = ?1", params![id])?;
            }
        }
        let in_year = "(SELECT form_id FROM forms WHERE school = ?1 AND year = ?2)";
        // Copies kept for the person's download of what they signed online.
        let signed_online: Vec<i64> = tx
            .prepare(&format!(
                "SELECT id FROM signing_links WHERE used_at IS NOT NULL AND form_id IN {in_year}"
            ))?
            .query_map(params![school, year], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        pruned.received.extend(
            signed_online
                .iter()
                .map(|id| format!("signed-online/{id}.pdf")),
        );
        for table in ["signing_links", "mail_log"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE form_id IN {in_year}"),
                params![school, year],
            )?;
        }
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
            "{school} {year}: {} forms, {} returns, {} received files, {} messages taken in by mail removed ({why})",
            pruned.forms,
            pruned.returns,
            pruned.received.len(),
            pruned.mail_in
        );
        tx.commit("prune", &detail)?;
        Ok(pruned)
    }
}
