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
use super::quarantine::{quarantine_file, quarantine_outcome, quarantine_page};
use super::{FileResult, IngestError, IngestPlan, Outcome, now_text, relative};
use crate::archive::{Archive, IngestRecord, QuarantineRow, RegisteredForm, ReturnRow};
use crate::durable;
use crate::verdict::{Reason, Verdict};

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
    // form id -> page number -> (file name, page)
    let mut forms: BTreeMap<String, BTreeMap<u32, (&str, &IdentifiedPage)>> = BTreeMap::new();
    for file in files {
        if let Some(unreadable) = &file.unreadable {
            let path = quarantine_file(plan, file, unreadable)?;
            record.quarantined.push(QuarantineRow {
                received_sha256: file.sha256.clone(),
                page: None,
                reason: unreadable.reason.as_str().into(),
                message: unreadable.message.clone(),
                path: path.clone(),
            });
            outcomes.push(quarantine_outcome(
                &file.name,
                None,
                unreadable.reason,
                &unreadable.message,
                Some(path),
            ));
            continue;
        }
        if let Some(inspection) = &file.digital {
            if let Some(form) = register.get(&inspection.form_id) {
                outcomes.push(judge_digital(plan, file, inspection, form, record)?);
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
            record.quarantined.push(QuarantineRow {
                received_sha256: file.sha256.clone(),
                page: None,
                reason: blank.reason.as_str().into(),
                message: blank.message.clone(),
                path: path.clone(),
            });
            outcomes.push(quarantine_outcome(
                &file.name,
                None,
                blank.reason,
                &blank.message,
                Some(path),
            ));
            continue;
        }
        for (i, page) in file.pages.iter().enumerate() {
            let number = i as u32 + 1;
            match page {
                PageReading::Blank => {}
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
                            record.quarantined.push(QuarantineRow {
                                received_sha256: file.sha256.clone(),
                                page: Some(number),
                                reason: Reason::DuplicatePage.as_str().into(),
                                message: message.clone(),
                                path: path.clone(),
                            });
                            outcomes.push(quarantine_outcome(
                                &file.name,
                                Some(number),
                                Reason::DuplicatePage,
                                &message,
                                Some(path),
                            ));
                        }
                    }
                }
                PageReading::Quarantine {
                    reason,
                    message,
                    image,
                } => {
                    let path =
                        quarantine_page(plan, file, number, image.as_ref(), *reason, message)?;
                    record.quarantined.push(QuarantineRow {
                        received_sha256: file.sha256.clone(),
                        page: Some(number),
                        reason: reason.as_str().into(),
                        message: message.clone(),
                        path: path.clone(),
                    });
                    outcomes.push(quarantine_outcome(
                        &file.name,
                        Some(number),
                        *reason,
                        message,
                        Some(path),
                    ));
                }
            }
        }
    }

    // Each school year's current version, read once; then the forms are judged
    // and filed in parallel (filing writes and syncs a PDF per form), and their
    // rows and outcomes kept in form order.
    let mut currents: HashMap<(String, String), Option<String>> = HashMap::new();
    forms.retain(|form_id, _| register.contains_key(form_id));
    for form_id in forms.keys() {
        let form = &register[form_id];
        let key = (form.school.clone(), form.year.clone());
        if let std::collections::hash_map::Entry::Vacant(slot) = currents.entry(key) {
            slot.insert(index.current_fingerprint(&form.school, &form.year)?);
        }
    }
    let forms: Vec<_> = forms.into_iter().collect();
    let judged: Vec<Result<(ReturnRow, Outcome), IngestError>> = forms
        .into_par_iter()
        .map(|(form_id, pages)| {
            let form = &register[&form_id];
            let current = &currents[&(form.school.clone(), form.year.clone())];
            judge_form(plan, files, form, &form_id, &pages, current.as_deref())
        })
        .collect();
    for judgement in judged {
        let (row, outcome) = judgement?;
        record.returns.push(row);
        outcomes.push(outcome);
    }
    Ok(outcomes)
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
) -> Result<(ReturnRow, Outcome), IngestError> {
    let found: BTreeMap<u32, &IdentifiedPage> = pages.iter().map(|(&n, (_, p))| (n, *p)).collect();
    let (verdict, missing) = super::paper::verdict(form, &found, current);
    // The files the form's pages came from, each once, in page order.
    let mut file_names: Vec<String> = Vec::new();
    for (file, _) in pages.values() {
        if !file_names.iter().any(|f| f == file) {
            file_names.push(file.to_string());
        }
    }
    let (archived, archived_sha256) = file_form(plan, files, form, pages, verdict)?;
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
        let checks = vec![
            (
                format!(
                    "all {} pages present, identified by their QR codes",
                    form.pages
                ),
                true,
            ),
            ("policy version is the current one".to_owned(), true),
            ink_of("signer_signature", "signature"),
            match form.name {
                Some(_) => ("name printed on the form".to_owned(), true),
                None => ink_of("signer_name", "name"),
            },
            ink_of("signer_date", "date"),
        ];
        let originals = file_names
            .iter()
            .map(|name| {
                let sha = files
                    .iter()
                    .find(|f| &f.name == name)
                    .map(|f| f.sha256.clone());
                (name.clone(), sha.unwrap_or_default())
            })
            .collect();
        let evidence = Evidence {
            form_id: form_id.to_owned(),
            school: form.school.clone(),
            year: form.year.clone(),
            person: form
                .name
                .clone()
                .unwrap_or_else(|| "(blank form, name handwritten)".into()),
            role: form.role.clone().unwrap_or_default(),
            fingerprint: form.fingerprint.clone(),
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
    };
    let outcome = Outcome {
        file: file_names.join(", "),
        form_id: Some(form_id.to_owned()),
        school: Some(form.school.clone()),
        person: form.name.clone(),
        verdict,
        reason: match verdict {
            Verdict::Outdated => {
                Some("signed an older version of the policy: the current one must be signed".into())
            }
            Verdict::Incomplete => Some(format!("missing: {}", missing.join(", "))),
            _ => None,
        },
        missing,
        archived: Some(archived),
        page: None,
        boxes: super::paper::boxes(&found),
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
                school: form.school.clone(),
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
                issued_on: form.issued_on.clone(),
                returned_at: now_text(),
                method: inspection.how_signed(),
                checks: inspection
                    .checks
                    .iter()
                    .map(|c| (format!("{}: {}", c.check, c.detail), c.passed))
                    .collect(),
                originals: vec![(file.name.clone(), file.sha256.clone())],
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
    })
}
