//! From what the readers found to verdicts: identified pages are grouped into
//! forms across files (a form may arrive in pieces, a batch may hold many forms),
//! each form is judged (pages present, policy version current, boxes written), and
//! filed with its evidence page; digital returns arrive judged and are filed as
//! they came. What could not be placed goes to [`super::quarantine`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;

use super::evidence::{Evidence, evidence_pdf};
use super::file::{file_form, store};
use super::pages::Unreadable;
use super::protocol::{IdentifiedPage, PageReading};
use super::quarantine::{
    quarantine_file, quarantine_identified_page, quarantine_outcome, quarantine_page,
};
use super::{FileResult, IngestError, IngestPlan, Outcome, now_text, relative};
use crate::archive::{Archive, IngestRecord, QuarantineRow, RegisteredForm, ReturnRow};
use crate::durable;
use crate::verdict::{Reason, Verdict};

/// Why a form of another school is not filed from an upload. It names neither
/// the school nor the person: the uploader may not see that school.
const OTHER_SCHOOL: &str = "this is a form of a school that the account which uploaded it does not cover, so it was not filed; someone whose account covers every school can assign it";

/// How many forms are filed at once. Each holds its PDF in memory while it
/// is written (a few megabytes of scans).
const FILING_AT_ONCE: usize = 8;

/// A quarantined file or page: its index row and its line of output.
fn held(
    file: &FileResult,
    page: Option<u32>,
    reason: Reason,
    message: &str,
    path: String,
    suggested: Option<(String, u32)>,
) -> (QuarantineRow, Outcome) {
    let outcome = quarantine_outcome(&file.name, page, reason, message, Some(path.clone()));
    let row = QuarantineRow {
        received_sha256: file.sha256.clone(),
        page,
        reason: reason.as_str().into(),
        message: message.to_owned(),
        path,
        suggested,
    };
    (row, outcome)
}

/// Groups identified pages into forms, decides verdicts, files forms and
/// quarantines what could not be identified.
pub(super) fn judge(
    plan: &IngestPlan,
    index: &Archive,
    register: &HashMap<String, RegisteredForm>,
    files: &[FileResult],
    record: &mut IngestRecord,
) -> Result<Vec<Outcome>, IngestError> {
    let mut outcomes = Vec::new();
    // The schools each uploaded file may be filed for, by its uploader's account.
    let mut scopes: HashMap<&str, Vec<String>> = HashMap::new();
    for file in files.iter().filter(|_| plan.uploader_scope) {
        if let Some(schools) = index.upload_scope(&file.sha256)? {
            scopes.insert(file.sha256.as_str(), schools);
        }
    }
    let naming = Naming::of(plan, index, register, files)?;
    let may_file = |file: &FileResult, school: &str| {
        scopes
            .get(file.sha256.as_str())
            .is_none_or(|schools| schools.iter().any(|s| s == school))
    };
    // form id -> page number -> (file name, page)
    let mut forms: BTreeMap<String, BTreeMap<u32, (&str, &IdentifiedPage)>> = BTreeMap::new();
    for file in files {
        if let Some(unreadable) = &file.unreadable {
            let path = quarantine_file(plan, file, unreadable)?;
            let (row, outcome) = held(
                file,
                None,
                unreadable.reason,
                &unreadable.message,
                path,
                None,
            );
            record.quarantined.push(row);
            outcomes.push(outcome);
            continue;
        }
        if let Some(inspection) = &file.digital {
            match register.get(&inspection.form_id) {
                Some(form) if !may_file(file, &form.school) => {
                    let why = Unreadable::new(Reason::OtherSchool, OTHER_SCHOOL);
                    let path = quarantine_file(plan, file, &why)?;
                    let (row, outcome) = held(file, None, why.reason, &why.message, path, None);
                    record.quarantined.push(row);
                    outcomes.push(outcome);
                }
                Some(form) => outcomes.push(judge_digital(
                    plan, file, inspection, form, &naming, record,
                )?),
                None => {}
            }
            continue;
        }
        if !file.pages.is_empty() && file.pages.iter().all(|p| matches!(p, PageReading::Blank)) {
            // Nothing at all to file: say so, rather than let the file vanish.
            let blank = Unreadable::new(
                Reason::Blank,
                format!(
                    "every page of this file ({}) is blank: nothing to identify",
                    file.pages.len()
                ),
            );
            let path = quarantine_file(plan, file, &blank)?;
            let (row, outcome) = held(file, None, blank.reason, &blank.message, path, None);
            record.quarantined.push(row);
            outcomes.push(outcome);
            continue;
        }
        for (i, page) in file.pages.iter().enumerate() {
            let number = i as u32 + 1;
            match page {
                PageReading::Blank => {}
                PageReading::Identified(found)
                    if register
                        .get(&found.form_id)
                        .is_some_and(|form| !may_file(file, &form.school)) =>
                {
                    let form = &register[&found.form_id];
                    let path = quarantine_identified_page(
                        plan,
                        file,
                        number,
                        found,
                        form,
                        Reason::OtherSchool,
                        OTHER_SCHOOL,
                    )?;
                    let (row, outcome) = held(
                        file,
                        Some(number),
                        Reason::OtherSchool,
                        OTHER_SCHOOL,
                        path,
                        None,
                    );
                    record.quarantined.push(row);
                    outcomes.push(outcome);
                }
                PageReading::Identified(found) => {
                    let pages = forms.entry(found.form_id.clone()).or_default();
                    match pages.entry(found.page) {
                        std::collections::btree_map::Entry::Vacant(slot) => {
                            slot.insert((file.name.as_str(), found));
                        }
                        std::collections::btree_map::Entry::Occupied(_) => {
                            let message = format!(
                                "page {} of {} came twice; the first copy is kept",
                                found.page, found.form_id
                            );
                            let path = quarantine_page(
                                plan,
                                file,
                                number,
                                None,
                                Reason::DuplicatePage,
                                &message,
                            )?;
                            let (row, outcome) = held(
                                file,
                                Some(number),
                                Reason::DuplicatePage,
                                &message,
                                path,
                                None,
                            );
                            record.quarantined.push(row);
                            outcomes.push(outcome);
                        }
                    }
                }
                PageReading::Quarantine {
                    reason,
                    message,
                    image,
                } => {
                    let suggested = match reason {
                        Reason::NoQr | Reason::BadCheck => {
                            super::suggest::neighbouring_page(&file.pages, i, |form_id| {
                                register.get(form_id).map(|f| f.pages as u32)
                            })
                        }
                        _ => None,
                    };
                    let path =
                        quarantine_page(plan, file, number, image.as_ref(), *reason, message)?;
                    let (row, outcome) =
                        held(file, Some(number), *reason, message, path, suggested);
                    record.quarantined.push(row);
                    outcomes.push(outcome);
                }
            }
        }
    }

    // The current version of each AUP of each school year, read once (keyed by
    // the version forms were issued with); then the forms are judged and filed
    // in parallel (filing writes and syncs a PDF per form), and their rows and
    // outcomes kept in form order.
    let mut currents: HashMap<(String, String, String), Option<String>> = HashMap::new();
    forms.retain(|form_id, _| register.contains_key(form_id));
    for form_id in forms.keys() {
        let form = &register[form_id];
        let key = (
            form.school.clone(),
            form.year.clone(),
            form.fingerprint.clone(),
        );
        if let std::collections::hash_map::Entry::Vacant(slot) = currents.entry(key) {
            slot.insert(index.current_fingerprint_for(form)?);
        }
    }
    let forms: Vec<_> = forms.into_iter().collect();
    let judge_all = || -> Vec<Result<(ReturnRow, Outcome), IngestError>> {
        forms
            .into_par_iter()
            .map(|(form_id, pages)| {
                let form = &register[&form_id];
                let current = &currents[&(
                    form.school.clone(),
                    form.year.clone(),
                    form.fingerprint.clone(),
                )];
                judge_form(
                    plan,
                    files,
                    form,
                    &form_id,
                    &pages,
                    current.as_deref(),
                    &naming,
                )
            })
            .collect()
    };
    // Filing waits on the disk (a sync for each PDF) longer than it computes:
    // more forms at once than cores keep the disk and the cores busy together.
    let judged = match rayon::ThreadPoolBuilder::new()
        .num_threads(FILING_AT_ONCE)
        .build()
    {
        Ok(pool) => pool.install(judge_all),
        Err(_) => judge_all(),
    };
    for judgement in judged {
        let (row, outcome) = judgement?;
        record.returns.push(row);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// What the evidence pages call things: each school by its name (its YAML's
/// `name`; the slug when the file cannot be read) and each policy version by
/// the day it was first issued.
struct Naming {
    schools: HashMap<String, String>,
    policies: HashMap<String, Option<String>>,
    /// Uploaded files by SHA-256: the name they had on the uploader's computer
    /// (the inbox's copy carries a stamp the upload page adds).
    uploads: HashMap<String, String>,
}

impl Naming {
    fn of(
        plan: &IngestPlan,
        index: &Archive,
        register: &HashMap<String, RegisteredForm>,
        files: &[FileResult],
    ) -> Result<Self, IngestError> {
        let mut naming = Naming {
            schools: HashMap::new(),
            policies: HashMap::new(),
            uploads: HashMap::new(),
        };
        for file in files {
            if let Some(name) = index.upload_name(&file.sha256)? {
                naming.uploads.insert(file.sha256.clone(), name);
            }
        }
        let named = files.iter().flat_map(|file| {
            let digital = file.digital.as_ref().map(|d| d.form_id.as_str());
            let pages = file.pages.iter().filter_map(|page| match page {
                PageReading::Identified(found) => Some(found.form_id.as_str()),
                _ => None,
            });
            digital.into_iter().chain(pages)
        });
        for form in named.filter_map(|form_id| register.get(form_id)) {
            if !naming.schools.contains_key(&form.school) {
                let name = crate::config::school_name(&plan.schools, &form.school);
                naming.schools.insert(form.school.clone(), name);
            }
            if !naming.policies.contains_key(&form.fingerprint) {
                let issued = index.policy_first_issued(&form.fingerprint)?;
                naming.policies.insert(form.fingerprint.clone(), issued);
            }
        }
        Ok(naming)
    }

    fn school(&self, slug: &str) -> String {
        self.schools
            .get(slug)
            .cloned()
            .unwrap_or_else(|| slug.to_owned())
    }

    fn policy_issued(&self, fingerprint: &str) -> Option<String> {
        self.policies.get(fingerprint).cloned().flatten()
    }

    /// A received file as the evidence page names it: an upload by its own
    /// name, anything else by its name in the inbox.
    fn file(&self, file: &FileResult) -> String {
        match self.uploads.get(&file.sha256) {
            Some(name) => format!("{name} (uploaded)"),
            None => file.name.clone(),
        }
    }
}

/// Judges one form from its pages and files it (its PDF, and its evidence page
/// when accepted).
fn judge_form(
    plan: &IngestPlan,
    files: &[FileResult],
    form: &RegisteredForm,
    form_id: &str,
    pages: &BTreeMap<u32, (&str, &IdentifiedPage)>,
    current: Option<&str>,
    naming: &Naming,
) -> Result<(ReturnRow, Outcome), IngestError> {
    let found: BTreeMap<u32, &IdentifiedPage> = pages.iter().map(|(&n, (_, p))| (n, *p)).collect();
    let super::paper::PaperVerdict {
        verdict,
        missing,
        reason,
    } = super::paper::verdict(form, &found, current);
    // The files the form's pages came from, each once, in page order.
    let mut file_names: Vec<String> = Vec::new();
    for (file, _) in pages.values() {
        if !file_names.iter().any(|f| f == file) {
            file_names.push(file.to_string());
        }
    }
    let (archived, archived_sha256) = file_form(plan, files, form, pages, verdict)?;
    let crop = found.values().find_map(|p| p.name_box_crop.as_deref());
    file_name_box_crop(plan, &archived, crop)?;
    if verdict == Verdict::Accepted {
        let measured = super::paper::boxes(&found);
        let ink_of = |field: &str, what: &str| {
            let said = measured
                .iter()
                .find(|b| b.field == field)
                .map(|b| format!(" ({})", b.said()))
                .unwrap_or_default();
            (format!("{what} box has ink{said}"), true)
        };
        let mut checks = vec![
            (
                format!(
                    "all {} pages present, identified by their QR codes",
                    form.pages
                ),
                true,
            ),
            ("policy version is the current one".to_owned(), true),
        ];
        for (field, what) in super::paper::required_boxes(form) {
            checks.push(match (field, &form.name, super::paper::name_box(&found)) {
                ("signer_name", Some(name), Some(shown)) => (
                    format!(
                        "the name box shows the name issued, {name} ({})",
                        shown.said()
                    ),
                    true,
                ),
                ("signer_name", Some(name), None) => {
                    (format!("issued to {name}; name box not compared"), true)
                }
                _ => ink_of(field, what),
            });
        }
        let originals = file_names
            .iter()
            .map(|name| match files.iter().find(|f| &f.name == name) {
                Some(file) => (naming.file(file), file.sha256.clone()),
                None => (name.clone(), String::new()),
            })
            .collect();
        let evidence = Evidence {
            form_id: form_id.to_owned(),
            school: naming.school(&form.school),
            year: form.year.clone(),
            person: form
                .name
                .clone()
                .unwrap_or_else(|| "(blank form, name handwritten)".into()),
            role: form.role.clone().unwrap_or_default(),
            fingerprint: form.fingerprint.clone(),
            policy_issued: naming.policy_issued(&form.fingerprint),
            issued_on: form.issued_on.clone(),
            returned_at: now_text(),
            method: "on paper, scanned".into(),
            checks,
            originals,
            archived_sha256,
        };
        let path = plan
            .archive
            .join(&form.school)
            .join(&form.year)
            .join(format!("{form_id}.evidence.pdf"));
        store(&path, &evidence_pdf(&evidence))?;
    }
    let row = ReturnRow {
        form_id: form_id.to_owned(),
        school: form.school.clone(),
        year: form.year.clone(),
        fingerprint: form.fingerprint.clone(),
        verdict,
        missing: missing.clone(),
        method: "paper".into(),
        files: file_names.clone(),
        received: file_names
            .iter()
            .filter_map(|name| files.iter().find(|f| &f.name == name))
            .map(|f| f.sha256.clone())
            .collect(),
        archived_path: archived.clone(),
        signed_date: None,
        consents: super::paper::consents(form, &found),
    };
    let outcome = Outcome {
        file: file_names.join(", "),
        form_id: Some(form_id.to_owned()),
        school: Some(form.school.clone()),
        person: form.name.clone(),
        verdict,
        reason,
        missing,
        archived: Some(archived),
        page: None,
        boxes: super::paper::boxes(&found),
        consents: row.consents.clone(),
    };
    Ok((row, outcome))
}

/// Files a digital return as it came (its signature must stay verifiable): under
/// `returns/`, and when accepted also as `<form-id>.pdf`, with its evidence page.
fn judge_digital(
    plan: &IngestPlan,
    file: &FileResult,
    inspection: &crate::digital::Inspection,
    form: &RegisteredForm,
    naming: &Naming,
    record: &mut IngestRecord,
) -> Result<Outcome, IngestError> {
    let dir = plan.archive.join(&form.school).join(&form.year);
    let history = dir
        .join("returns")
        .join(format!("{}-{}.pdf", form.form_id, &file.sha256[..8]));
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| IngestError::Write { path, source }
    };
    durable::link_durably(&file.stored, &history).map_err(failed(&history))?;
    let archived = match inspection.verdict {
        Verdict::Accepted => {
            let current = dir.join(format!("{}.pdf", form.form_id));
            durable::link_durably(&file.stored, &current).map_err(failed(&current))?;
            let evidence = Evidence {
                form_id: form.form_id.clone(),
                school: naming.school(&form.school),
                year: form.year.clone(),
                person: inspection
                    .person
                    .clone()
                    .unwrap_or_else(|| "(name not given)".into()),
                role: inspection
                    .role
                    .clone()
                    .or_else(|| form.role.clone())
                    .unwrap_or_default(),
                fingerprint: form.fingerprint.clone(),
                policy_issued: naming.policy_issued(&form.fingerprint),
                issued_on: form.issued_on.clone(),
                returned_at: now_text(),
                method: inspection.how_signed(),
                checks: inspection
                    .checks
                    .iter()
                    .map(|c| (format!("{}: {}", c.check, c.detail), c.passed))
                    .collect(),
                originals: vec![(naming.file(file), file.sha256.clone())],
                archived_sha256: file.sha256.clone(),
            };
            store(
                &dir.join(format!("{}.evidence.pdf", form.form_id)),
                &evidence_pdf(&evidence),
            )?;
            relative(&plan.archive, &current)
        }
        _ => relative(&plan.archive, &history),
    };
    file_name_box_crop(plan, &archived, file.name_box_crop.as_deref())?;
    record.returns.push(ReturnRow {
        form_id: form.form_id.clone(),
        school: form.school.clone(),
        year: form.year.clone(),
        fingerprint: form.fingerprint.clone(),
        verdict: inspection.verdict,
        missing: inspection.missing.clone(),
        method: inspection.method.clone(),
        files: vec![file.name.clone()],
        received: vec![file.sha256.clone()],
        archived_path: archived.clone(),
        // Typed by the signer: kept printable and short, it is shown as written.
        signed_date: inspection
            .date
            .as_deref()
            .map(|d| {
                d.chars()
                    .filter(|c| !c.is_control())
                    .take(60)
                    .collect::<String>()
            })
            .filter(|d| !d.trim().is_empty()),
        consents: inspection.consents.clone(),
    });
    Ok(Outcome {
        file: file.name.clone(),
        form_id: Some(form.form_id.clone()),
        school: Some(form.school.clone()),
        person: inspection.person.clone(),
        verdict: inspection.verdict,
        missing: inspection.missing.clone(),
        reason: inspection.reason.clone(),
        archived: Some(archived),
        page: None,
        boxes: Vec::new(),
        consents: inspection.consents.clone(),
    })
}

/// Files the crop of a name box that does not show the issued name beside the
/// return it came with, for the office to check by eye (see
/// [`super::name_box_crop_path`]).
fn file_name_box_crop(
    plan: &IngestPlan,
    archived: &str,
    crop: Option<&Path>,
) -> Result<(), IngestError> {
    let Some(crop) = crop else {
        return Ok(());
    };
    let path = plan.archive.join(super::name_box_crop_path(archived));
    store(&path, &super::quarantine::read_spooled(crop)?)
}
