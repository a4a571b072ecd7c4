//! The issue register: every policy version and every form `aup generate` has
//! issued, with where its boxes are and a hash of each page as issued, so ingest
//! can tell our forms from strangers and knows where to look for ink.

use rusqlite::{OptionalExtension, params};

use super::{Archive, ArchiveError};
use crate::config::AcademicYear;
use crate::config::aups::AupKind;
use crate::form::drawing::DrawingPrint;
use crate::form::{FieldSpec, FormId};

/// Who a form is for, as the register keys it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// `id:<staff id>`, `name:<normalised name>` or `blank:<n>`.
    pub key: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub staff_id: Option<String>,
    pub email: Option<String>,
}

/// A policy version as the register stores it.
pub struct PolicyRecord<'a> {
    pub fingerprint: &'a str,
    pub school: &'a str,
    pub year: AcademicYear,
    pub template: &'a str,
    pub policy_json: &'a str,
    pub issued_on: &'a str,
}

/// One issued form, for the register.
pub struct IssuedForm<'a> {
    pub form_id: &'a FormId,
    pub recipient: &'a Recipient,
    pub pages: &'a [(f64, f64)],
    pub page_hashes: &'a [String],
    pub page_drawings: &'a [DrawingPrint],
    pub fields: &'a [FieldSpec],
    pub file_sha256: &'a str,
}

/// A form as the register knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredForm {
    pub form_id: String,
    pub school: String,
    pub year: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub fingerprint: String,
    pub pages: i64,
    /// The issue date (YYYY-MM-DD).
    pub issued_on: String,
    /// SHA-256 of the personal PDF as issued: a return saved incrementally
    /// starts with exactly these bytes.
    pub file_sha256: Option<String>,
    pub boxes: Vec<FieldSpec>,
    pub page_hashes: Vec<String>,
    /// What each page draws as issued; `None` for forms issued before aup kept it.
    pub page_drawings: Vec<Option<DrawingPrint>>,
    /// The e-mail address on the roster the form was issued from, if any.
    pub email: Option<String>,
    /// Width and height of each page, in points.
    pub page_sizes: Vec<(f64, f64)>,
}

impl RegisteredForm {
    /// The box the person's name is printed or written in, and the height of
    /// its page in points.
    pub fn name_box(&self) -> Option<(&FieldSpec, f64)> {
        let spec = self.boxes.iter().find(|b| b.name == "signer_name")?;
        let height = self.page_sizes.get(spec.page.checked_sub(1)?)?.1;
        Some((spec, height))
    }
}

impl Archive {
    /// The form id of each recipient for this policy version: the one issued before
    /// if there is one (so re-running `generate` reprints the same ids), else the
    /// next free serial of the school and year. Nothing is written until
    /// [`Archive::record`].
    pub fn assign_ids(
        &self,
        school: &str,
        prefix: &str,
        year: AcademicYear,
        fingerprint: &str,
        recipients: &[Recipient],
    ) -> Result<Vec<FormId>, ArchiveError> {
        let year_text = year.to_string();
        let mut lookup = self.conn.prepare_cached(
            "SELECT form_id FROM forms WHERE school = ?1 AND year = ?2 AND fingerprint = ?3 AND person_key = ?4",
        )?;
        let mut next: u32 = self.conn.query_row(
            "SELECT COALESCE(MAX(serial), 0) FROM forms WHERE school = ?1 AND year = ?2",
            params![school, year_text],
            |row| row.get(0),
        )?;
        let mut ids = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let known: Option<String> = lookup
                .query_row(
                    params![school, year_text, fingerprint, recipient.key],
                    |row| row.get(0),
                )
                .optional()?;
            let id = match known.and_then(|k| k.parse::<FormId>().ok()) {
                Some(id) => id,
                None => loop {
                    next += 1;
                    if next > 99_999 {
                        return Err(ArchiveError::SerialsExhausted(format!("{school} {year}")));
                    }
                    if let Some(id) = FormId::new(prefix, year, next) {
                        break id;
                    }
                },
            };
            ids.push(id);
        }
        Ok(ids)
    }

    /// Records a policy version and the forms issued for it, in one transaction.
    pub fn record(
        &mut self,
        policy: &PolicyRecord<'_>,
        forms: &[IssuedForm<'_>],
    ) -> Result<(), ArchiveError> {
        let tx = self.begin_audited()?;
        let year = policy.year.to_string();
        tx.execute(
            "INSERT OR IGNORE INTO policies (fingerprint, school, year, template, policy_json, first_issued)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![policy.fingerprint, policy.school, year, policy.template, policy.policy_json, policy.issued_on],
        )?;
        // The same wording can be issued in several years (the year is not part of
        // the fingerprint), and a school can go back to an earlier wording: the
        // version issued last for a school and year is its current one.
        tx.execute(
            "INSERT INTO policy_years (school, year, fingerprint, issued_seq)
             VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(issued_seq), 0) + 1 FROM policy_years))
             ON CONFLICT (school, year, fingerprint) DO UPDATE SET issued_seq = excluded.issued_seq",
            params![policy.school, year, policy.fingerprint],
        )?;
        {
            let mut form_row = tx.prepare_cached(
                "INSERT INTO forms (form_id, school, year, serial, person_key, name, role, staff_id, email,
                                    fingerprint, pages, issued_on, file_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT (form_id) DO UPDATE SET
                    name = excluded.name, role = excluded.role, staff_id = excluded.staff_id,
                    email = excluded.email, pages = excluded.pages, file_sha256 = excluded.file_sha256",
            )?;
            let mut box_row = tx.prepare_cached(
                "INSERT OR REPLACE INTO form_boxes (form_id, field, kind, page, x0, y0, x1, y1)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut page_row = tx.prepare_cached(
                "INSERT OR REPLACE INTO form_pages (form_id, page, width, height, content_sha256,
                                                drawing_operations, drawing_first, drawing_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for form in forms {
                let id = form.form_id.as_str();
                let r = form.recipient;
                form_row.execute(params![
                    id,
                    policy.school,
                    year,
                    form.form_id.serial(),
                    r.key,
                    r.name,
                    r.role,
                    r.staff_id,
                    r.email,
                    policy.fingerprint,
                    form.pages.len() as i64,
                    policy.issued_on,
                    form.file_sha256,
                ])?;
                for field in form.fields {
                    let b = &field.rect;
                    box_row.execute(params![
                        id,
                        field.name,
                        field.kind,
                        field.page as i64,
                        b.x0,
                        b.y0,
                        b.x1,
                        b.y1
                    ])?;
                }
                for (i, ((width, height), hash)) in
                    form.pages.iter().zip(form.page_hashes).enumerate()
                {
                    let drawing = form.page_drawings.get(i);
                    page_row.execute(params![
                        id,
                        i as i64 + 1,
                        width,
                        height,
                        hash,
                        drawing.map(|d| d.operations as i64),
                        drawing.map(|d| &d.first),
                        drawing.map(|d| &d.sha256)
                    ])?;
                }
            }
        }
        let detail = format!(
            "issued {} forms of {} {} with policy version {}",
            forms.len(),
            policy.school,
            year,
            &policy.fingerprint[..12.min(policy.fingerprint.len())]
        );
        tx.commit("generate", &detail)?;
        Ok(())
    }

    /// The day a policy version was first issued (`YYYY-MM-DD`): how people
    /// tell versions apart ("the policy of 1 September 2025").
    pub fn policy_first_issued(&self, fingerprint: &str) -> Result<Option<String>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                "SELECT first_issued FROM policies WHERE fingerprint = ?1",
                params![fingerprint],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// The register's view of one form, for tests and `aup show`.
    pub fn issued(&self, form_id: &str) -> Result<Option<RegisteredForm>, ArchiveError> {
        let form = self
            .conn
            .query_row(
                "SELECT school, year, name, role, fingerprint, pages, issued_on, file_sha256, email FROM forms WHERE form_id = ?1",
                params![form_id],
                |row| {
                    Ok(RegisteredForm {
                        form_id: form_id.to_owned(),
                        school: row.get(0)?,
                        year: row.get(1)?,
                        name: row.get(2)?,
                        role: row.get(3)?,
                        fingerprint: row.get(4)?,
                        pages: row.get(5)?,
                        issued_on: row.get(6)?,
                        file_sha256: row.get(7)?,
                        boxes: Vec::new(),
                        page_hashes: Vec::new(),
                        page_drawings: Vec::new(),
                        email: row.get(8)?,
                        page_sizes: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut form) = form else {
            return Ok(None);
        };
        let mut boxes = self
            .conn
            .prepare("SELECT field, kind, page, x0, y0, x1, y1 FROM form_boxes WHERE form_id = ?1 ORDER BY page, y1 DESC")?;
        form.boxes = boxes
            .query_map(params![form_id], |row| {
                Ok(FieldSpec {
                    name: row.get(0)?,
                    kind: row.get(1)?,
                    page: row.get::<_, i64>(2)? as usize,
                    rect: crate::form::Rect {
                        x0: row.get(3)?,
                        y0: row.get(4)?,
                        x1: row.get(5)?,
                        y1: row.get(6)?,
                    },
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut pages = self.conn.prepare(
            "SELECT content_sha256, width, height, drawing_operations, drawing_first, drawing_sha256
             FROM form_pages WHERE form_id = ?1 ORDER BY page",
        )?;
        type PageRow = (
            String,
            f64,
            f64,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<PageRow> = pages
            .query_map(params![form_id], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        form.page_hashes = rows.iter().map(|(hash, ..)| hash.clone()).collect();
        form.page_sizes = rows.iter().map(|(_, w, h, ..)| (*w, *h)).collect();
        form.page_drawings = rows
            .into_iter()
            .map(
                |(.., operations, first, sha256)| match (operations, first, sha256) {
                    (Some(operations), Some(first), Some(sha256)) => Some(DrawingPrint {
                        operations: usize::try_from(operations).unwrap_or(0),
                        first,
                        sha256,
                    }),
                    _ => None,
                },
            )
            .collect();
        Ok(Some(form))
    }

    /// Every issued form, for ingest to look pages up in without a database
    /// round trip per page.
    pub fn all_issued(&self) -> Result<Vec<RegisteredForm>, ArchiveError> {
        let ids: Vec<String> = self
            .conn
            .prepare("SELECT form_id FROM forms")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut forms = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(form) = self.issued(&id)? {
                forms.push(form);
            }
        }
        Ok(forms)
    }

    /// The version of `aup` a school issued last, in any year, with that year:
    /// what `aup check` compares an edited school file with.
    pub fn latest_policy(
        &self,
        school: &str,
        aup: AupKind,
    ) -> Result<Option<(String, String)>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                "SELECT py.year, py.fingerprint FROM policy_years py
                 JOIN policies p ON p.fingerprint = py.fingerprint
                 WHERE py.school = ?1 AND p.template = ?2
                 ORDER BY py.issued_seq DESC LIMIT 1",
                params![school, aup.template()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?)
    }

    /// The staff AUP's policy version most recently issued for a school and
    /// year: forms of any other version of it are outdated.
    pub fn current_fingerprint(
        &self,
        school: &str,
        year: &str,
    ) -> Result<Option<String>, ArchiveError> {
        self.current_fingerprint_of(school, year, AupKind::Staff)
    }

    /// `aup`'s policy version most recently issued for a school and year.
    pub fn current_fingerprint_of(
        &self,
        school: &str,
        year: &str,
        aup: AupKind,
    ) -> Result<Option<String>, ArchiveError> {
        Ok(self
            .conn
            .query_row(
                "SELECT py.fingerprint FROM policy_years py
                 JOIN policies p ON p.fingerprint = py.fingerprint
                 WHERE py.school = ?1 AND py.year = ?2 AND p.template = ?3
                 ORDER BY py.issued_seq DESC LIMIT 1",
                params![school, year, aup.template()],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// The current version of the AUP a form was issued for: the version
    /// issued last for its school and year among those of the same template.
    pub fn current_fingerprint_for(
        &self,
        form: &RegisteredForm,
    ) -> Result<Option<String>, ArchiveError> {
        match self.aup_of(&form.fingerprint)? {
            Some(aup) => self.current_fingerprint_of(&form.school, &form.year, aup),
            None => Ok(None),
        }
    }

    /// The AUP a policy version is of (`None` for a version the register does
    /// not know).
    pub fn aup_of(&self, fingerprint: &str) -> Result<Option<AupKind>, ArchiveError> {
        let template: Option<String> = self
            .conn
            .query_row(
                "SELECT template FROM policies WHERE fingerprint = ?1",
                params![fingerprint],
                |row| row.get(0),
            )
            .optional()?;
        Ok(template.and_then(|t| AupKind::of_template(&t)))
    }
}
