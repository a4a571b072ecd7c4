//! Personal signing links: one live link per issued form and policy version.
//! The index keeps a random nonce and the SHA-256 of the link's token, never the
//! token: `online::links` makes the token from the nonce with a key kept beside
//! the archive, so a copy of the index alone opens no signing page.

use rusqlite::{OptionalExtension, params};

use super::{Archive, ArchiveError};

/// A signing link as the index keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningLink {
    pub id: i64,
    pub form_id: String,
    /// The policy version the link was made for.
    pub fingerprint: String,
    pub nonce: String,
    /// The last day it opens the signing page (YYYY-MM-DD).
    pub expires_on: String,
    pub revoked_at: Option<String>,
    pub used_at: Option<String>,
    /// When the person who opened it said it was not theirs.
    pub reported_at: Option<String>,
}

/// A link to make: the form, its version, the nonce and the token's SHA-256.
pub struct NewLink<'a> {
    pub form_id: &'a str,
    pub fingerprint: &'a str,
    pub nonce: String,
    pub token_sha256: String,
}

fn link(row: &rusqlite::Row<'_>) -> rusqlite::Result<SigningLink> {
    Ok(SigningLink {
        id: row.get(0)?,
        form_id: row.get(1)?,
        fingerprint: row.get(2)?,
        nonce: row.get(3)?,
        expires_on: row.get(4)?,
        revoked_at: row.get(5)?,
        used_at: row.get(6)?,
        reported_at: row.get(7)?,
    })
}

const COLUMNS: &str =
    "id, form_id, fingerprint, nonce, expires_on, revoked_at, used_at, reported_at";

impl Archive {
    /// The link of `form_id` for `fingerprint` that still opens on `today`
    /// (not revoked, not expired), used or not.
    pub fn live_link(
        &self,
        form_id: &str,
        fingerprint: &str,
        today: &str,
    ) -> Result<Option<SigningLink>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM signing_links
                     WHERE form_id = ?1 AND fingerprint = ?2 AND revoked_at IS NULL
                       AND expires_on >= ?3
                     ORDER BY id DESC LIMIT 1"
                ),
                params![form_id, fingerprint, today],
                link,
            )
            .optional()?)
    }

    /// Records new links, in one audited change naming their forms (never a
    /// token).
    pub fn add_links(
        &self,
        links: &[NewLink<'_>],
        expires_on: &str,
        by: &str,
    ) -> Result<(), ArchiveError> {
        if links.is_empty() {
            return Ok(());
        }
        let tx = self.begin_audited()?;
        let at = crate::clock::now_text();
        for new in links {
            tx.execute(
                "INSERT INTO signing_links (form_id, fingerprint, nonce, token_sha256, created_at, expires_on)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![new.form_id, new.fingerprint, new.nonce, new.token_sha256, at, expires_on],
            )?;
        }
        let forms: Vec<&str> = links.iter().map(|l| l.form_id).collect();
        tx.commit(
            "links",
            &format!(
                "{by} made signing links for {}, open until {expires_on}",
                forms.join(", ")
            ),
        )
    }

    /// The newest link of `form_id`, whatever its state: what the office's
    /// page says of signing online.
    pub fn newest_link(&self, form_id: &str) -> Result<Option<SigningLink>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM signing_links WHERE form_id = ?1 ORDER BY id DESC LIMIT 1"
                ),
                params![form_id],
                link,
            )
            .optional()?)
    }

    /// The link a token opens, by the token's SHA-256, whatever its state.
    pub fn link_by_token(&self, token_sha256: &str) -> Result<Option<SigningLink>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM signing_links WHERE token_sha256 = ?1"),
                params![token_sha256],
                link,
            )
            .optional()?)
    }

    /// Revokes every link of `form_id` not yet revoked; how many.
    pub fn revoke_links(&self, form_id: &str, by: &str) -> Result<usize, ArchiveError> {
        let tx = self.begin_audited()?;
        let revoked = tx.execute(
            "UPDATE signing_links SET revoked_at = ?2 WHERE form_id = ?1 AND revoked_at IS NULL",
            params![form_id, crate::clock::now_text()],
        )?;
        tx.commit(
            "links",
            &format!("{by} revoked {revoked} signing link(s) of {form_id}"),
        )?;
        Ok(revoked)
    }

    /// Revokes a link its recipient says is not theirs (an unused one only),
    /// recorded so the office sees it and no new link goes to the same
    /// address unasked; false when it was used or revoked already.
    pub fn report_link(&self, id: i64, form_id: &str) -> Result<bool, ArchiveError> {
        let tx = self.begin_audited()?;
        let at = crate::clock::now_text();
        let reported = tx.execute(
            "UPDATE signing_links SET revoked_at = ?2, reported_at = ?2
             WHERE id = ?1 AND used_at IS NULL AND revoked_at IS NULL",
            params![id, at],
        )?;
        if reported == 0 {
            return Ok(false);
        }
        tx.commit(
            "links",
            &format!(
                "the person who opened the signing link of {form_id} said it is not theirs; the link was revoked"
            ),
        )?;
        Ok(true)
    }

    /// When the newest link of `form_id` for `fingerprint` was reported as not
    /// its recipient's, if it was.
    pub fn reported_link(
        &self,
        form_id: &str,
        fingerprint: &str,
    ) -> Result<Option<String>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                "SELECT reported_at FROM signing_links WHERE form_id = ?1 AND fingerprint = ?2
                 ORDER BY id DESC LIMIT 1",
                params![form_id, fingerprint],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    /// Marks a link used, once: false when it was used already (two submits at
    /// once sign once).
    pub fn use_link(&self, id: i64, form_id: &str) -> Result<bool, ArchiveError> {
        let tx = self.begin_audited()?;
        let used = tx.execute(
            "UPDATE signing_links SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL",
            params![id, crate::clock::now_text()],
        )?;
        if used == 0 {
            return Ok(false);
        }
        tx.commit("signed online", &format!("{form_id} was signed online"))?;
        Ok(true)
    }

    /// Gives a link back after signing failed on the server's side (nothing
    /// was filed), so the person can sign again.
    pub fn unuse_link(&self, id: i64, form_id: &str) -> Result<(), ArchiveError> {
        let tx = self.begin_audited()?;
        tx.execute(
            "UPDATE signing_links SET used_at = NULL WHERE id = ?1",
            params![id],
        )?;
        tx.commit(
            "signed online",
            &format!("signing {form_id} online failed on the server; its link opens again"),
        )
    }

    /// The newest form issued to the same person as `form_id` for the same
    /// school and year, when it is of another policy version: what an old link
    /// points to after the policy changed.
    pub fn newer_form_of(&self, form_id: &str) -> Result<Option<String>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                "SELECT newer.form_id FROM forms AS old
                 JOIN forms AS newer ON newer.school = old.school AND newer.year = old.year
                   AND newer.person_key = old.person_key AND newer.fingerprint <> old.fingerprint
                   AND newer.serial > old.serial
                 WHERE old.form_id = ?1
                 ORDER BY newer.serial DESC LIMIT 1",
                params![form_id],
                |row| row.get(0),
            )
            .optional()?)
    }
}
