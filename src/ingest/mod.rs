//! `aup ingest`: from a pile of scans in the inbox to one verified, archived form
//! per person. Each file's exact bytes are kept (content-addressed) before anything
//! else; a reader worker process then reads its pages (identified by their QR code,
//! ink measured in the boxes the register knows); this process groups pages into
//! forms across files, judges, files, and indexes them in one transaction. Only
//! then do inbox files go, and only if each is still the very file that was read.
//!
//! This process never parses received bytes: see [`worker`] for why and how.

pub mod assign;
pub mod inbox;
pub(crate) mod ink;
pub mod pages;
pub mod protocol;
pub mod qr;
pub mod read;
pub mod worker;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::archive::{
    self, Archive, ArchiveError, IngestRecord, QuarantineRow, ReceivedFile, RegisteredForm,
    ReturnRow,
};
use crate::form::id::hex;
use crate::verdict::{Reason, Verdict};
use pages::Unreadable;
use protocol::{FiledData, IdentifiedPage, PageReading, Reading, Request, SpooledImage, Task};

/// Scratch space for page images between reading and filing, inside the archive
/// (same file system, so nothing is copied twice): one folder per worker, emptied
/// at the start and end of every run.
pub(crate) struct RunSpool {
    dir: PathBuf,
}

impl RunSpool {
    pub(crate) fn new(archive: &Path) -> Result<Self, IngestError> {
        let dir = archive.join(".spool");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|source| IngestError::Write {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    /// A fresh folder for one worker.
    pub(crate) fn for_worker(&self, n: usize) -> Result<PathBuf, IngestError> {
        worker::spool_for(&self.dir, n).map_err(|source| IngestError::Write {
            path: self.dir.clone(),
            source,
        })
    }

    /// A path a worker handed back, if it lies in the spool (a worker's answer is
    /// checked, not trusted).
    pub(crate) fn holds(&self, path: &Path) -> bool {
        path.starts_with(&self.dir)
            && path
                .components()
                .all(|c| !matches!(c, std::path::Component::ParentDir))
    }
}

impl Drop for RunSpool {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What `aup ingest` was asked to do.
#[derive(Debug, Clone)]
pub struct IngestPlan {
    pub inbox: PathBuf,
    pub archive: PathBuf,
    /// Files changed more recently than this are still being written.
    pub settle: Duration,
    /// The school YAML folder: trust roots for certificate signatures.
    pub schools: PathBuf,
    /// How long a reader may take on one file; `None`: by the file's size.
    pub reader_timeout: Option<Duration>,
}

/// One line of the run's output: a form, a quarantined file or page, or a file
/// that was left alone.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outcome {
    pub file: String,
    pub form_id: Option<String>,
    pub school: Option<String>,
    pub person: Option<String>,
    pub verdict: Verdict,
    pub missing: Vec<String>,
    pub reason: Option<String>,
    /// Where the archive keeps what was received (a form's PDF, or the
    /// quarantined file or page).
    pub archived: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// What a run reports as it goes: progress (for a terminal's progress line), one
/// line per file read, and the outcomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// About to read file `index` (1-based) of `total`.
    Reading {
        index: usize,
        total: usize,
        file: String,
    },
    /// A file was read: how many pages, and what they were.
    File {
        file: String,
        pages: usize,
        identified: usize,
        blank: usize,
        quarantined: usize,
    },
    /// An inbox entry left where it is, and why (a link, a FIFO, still being
    /// written, changed while read): it is never skipped without a word.
    Skipped {
        file: String,
        reason: String,
    },
    Outcome(Outcome),
    /// Something the office should fix, that did not stop the run.
    Warning(String),
}

/// The closing count of a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub pages: usize,
    pub skipped: usize,
    pub by_verdict: BTreeMap<Verdict, usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{0}")]
    Archive(#[from] ArchiveError),
    #[error("cannot read the inbox {}: {source}", path.display())]
    Inbox {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read back {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One received file and what its pages were.
pub(crate) struct FileResult {
    pub(crate) name: String,
    pub(crate) sha256: String,
    pub(crate) stored: PathBuf,
    pub(crate) pages: Vec<PageReading>,
    /// The whole file could not be read: it is quarantined as it is.
    pub(crate) unreadable: Option<Unreadable>,
    /// One of our PDFs returned digitally: judged as a whole, not page by page.
    pub(crate) digital: Option<Box<crate::digital::Inspection>>,
}

/// A file handed to a reader, waiting for its answer.
struct Pending {
    name: String,
    sha256: String,
    stored: PathBuf,
}

/// Runs an ingest; `report` hears of progress, files and outcomes as they happen.
pub fn run(plan: &IngestPlan, mut report: impl FnMut(&Event)) -> Result<Summary, IngestError> {
    let _lock = archive::lock(&plan.archive)?;
    let mut index = Archive::open(&plan.archive)?;
    for note in archive::tidy_after_crash(&plan.archive) {
        report(&Event::Warning(note));
    }
    for note in inbox::recover(&plan.inbox) {
        report(&Event::Warning(note));
    }
    let register: HashMap<String, RegisteredForm> = index
        .all_issued()?
        .into_iter()
        .map(|f| (f.form_id.clone(), f))
        .collect();
    let mut summary = Summary::default();
    let (ready, skipped) =
        inbox::list(&plan.inbox, plan.settle).map_err(|source| IngestError::Inbox {
            path: plan.inbox.clone(),
            source,
        })?;
    for skip in skipped {
        summary.skipped += 1;
        report(&Event::Skipped {
            file: skip.name,
            reason: skip.reason,
        });
    }
    let spool = RunSpool::new(&plan.archive)?;

    let mut record = IngestRecord::default();
    let mut results: Vec<(usize, FileResult)> = Vec::new();
    let mut done_with: Vec<(PathBuf, inbox::Identity)> = Vec::new();
    let mut warned: Vec<String> = Vec::new();
    let total = ready.len();
    let readers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 4);
    let (jobs, queue) = std::sync::mpsc::channel::<(usize, Request, worker::Limits)>();
    let queue = Mutex::new(queue);
    let mut jobs = Some(jobs);
    std::thread::scope(|scope| -> Result<(), IngestError> {
        // Readers run while this thread takes the next files in: each reader
        // thread starts one worker process per file and waits for its answer.
        let (answers, answered) = std::sync::mpsc::channel();
        for _ in 0..readers {
            let (queue, answers) = (&queue, answers.clone());
            scope.spawn(move || {
                loop {
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((n, request, limits)) = job else { break };
                    if answers.send((n, worker::read(&request, limits))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(answers);
        let mut pending: HashMap<usize, Pending> = HashMap::new();
        let mut finish = |n: usize,
                          answer: Result<protocol::Answer, Unreadable>,
                          pending: &mut HashMap<usize, Pending>,
                          report: &mut dyn FnMut(&Event)| {
            let Some(file) = pending.remove(&n) else {
                return;
            };
            let reading = match answer {
                Ok(answer) => {
                    for warning in answer.warnings {
                        if !warned.contains(&warning) {
                            report(&Event::Warning(warning.clone()));
                            warned.push(warning);
                        }
                    }
                    match answer.reading {
                        Reading::Scan(reading) => reading,
                        _ => protocol::FileReading {
                            unreadable: Some(Unreadable::new(
                                Reason::ReaderFailed,
                                "the reader answered another question than it was asked",
                            )),
                            ..Default::default()
                        },
                    }
                }
                Err(failed) => protocol::FileReading {
                    unreadable: Some(failed),
                    ..Default::default()
                },
            };
            let result = FileResult {
                name: file.name,
                sha256: file.sha256,
                stored: file.stored,
                pages: reading.pages,
                unreadable: reading.unreadable,
                digital: reading.digital,
            };
            let count = |f: fn(&PageReading) -> bool| result.pages.iter().filter(|p| f(p)).count();
            report(&Event::File {
                file: result.name.clone(),
                pages: result.pages.len(),
                identified: count(|p| matches!(p, PageReading::Identified(_))),
                blank: count(|p| matches!(p, PageReading::Blank)),
                quarantined: count(|p| matches!(p, PageReading::Quarantine { .. })),
            });
            results.push((n, result));
        };
        for (position, entry) in ready.into_iter().enumerate() {
            report(&Event::Reading {
                index: position + 1,
                total,
                file: entry.name.clone(),
            });
            let received = inbox::receive(&entry.path, &plan.archive, |sha| {
                index.received(sha).ok().flatten()
            });
            let received = match received {
                Ok(received) => received,
                Err(inbox::Refused::Archive(path, source)) => {
                    return Err(IngestError::Write { path, source });
                }
                Err(inbox::Refused::Changed(reason)) => {
                    summary.skipped += 1;
                    report(&Event::Skipped {
                        file: entry.name,
                        reason,
                    });
                    continue;
                }
                Err(inbox::Refused::Unreadable(message) | inbox::Refused::TooLarge(message)) => {
                    summary.files += 1;
                    report(&Event::Outcome(quarantine_outcome(
                        &entry.name,
                        None,
                        Reason::Unreadable,
                        &message,
                        None,
                    )));
                    continue;
                }
            };
            summary.files += 1;
            if let Some(stored) = received.known {
                // The same bytes are archived already: nothing new is written, and
                // the inbox copy can go because the archive holds it.
                *summary.by_verdict.entry(Verdict::Duplicate).or_default() += 1;
                report(&Event::Outcome(Outcome {
                    file: entry.name.clone(),
                    form_id: None,
                    school: None,
                    person: None,
                    verdict: Verdict::Duplicate,
                    missing: Vec::new(),
                    reason: Some("these exact bytes were ingested before".into()),
                    archived: Some(stored),
                    page: None,
                }));
                done_with.push((entry.path, received.identity));
                continue;
            }
            let Some(stored) = received.stored else {
                continue;
            };
            record.received.push(ReceivedFile {
                sha256: received.sha256.clone(),
                name: entry.name.clone(),
                size: received.size,
                stored_path: relative(&plan.archive, &stored),
            });
            done_with.push((entry.path, received.identity));
            pending.insert(
                position,
                Pending {
                    name: entry.name,
                    sha256: received.sha256,
                    stored: stored.clone(),
                },
            );
            match received.kind {
                None => finish(
                    position,
                    Ok(protocol::Answer {
                        reading: Reading::Scan(protocol::FileReading {
                            unreadable: Some(Unreadable::new(
                                Reason::Unreadable,
                                "not a PDF, JPEG, PNG or TIFF file (whatever its name says)",
                            )),
                            ..Default::default()
                        }),
                        warnings: Vec::new(),
                    }),
                    &mut pending,
                    &mut report,
                ),
                Some(kind) => {
                    let request = Request {
                        file: stored,
                        kind,
                        archive: plan.archive.clone(),
                        schools: plan.schools.clone(),
                        spool: spool.for_worker(position)?,
                        task: Task::Scan,
                    };
                    let limits = worker::Limits::for_file(received.size, plan.reader_timeout);
                    if let Some(jobs) = &jobs {
                        let _ = jobs.send((position, request, limits));
                    }
                }
            }
            while let Ok((n, answer)) = answered.try_recv() {
                finish(n, answer, &mut pending, &mut report);
            }
        }
        jobs = None;
        for (n, answer) in answered {
            finish(n, answer, &mut pending, &mut report);
        }
        Ok(())
    })?;
    results.sort_by_key(|(n, _)| *n);
    let mut results: Vec<FileResult> = results.into_iter().map(|(_, r)| r).collect();
    for file in &mut results {
        check_answer(file, &spool, &register);
    }
    summary.pages = results.iter().map(|f| f.pages.len()).sum();

    let outcomes = judge(plan, &index, &register, &results, &mut record)?;
    // Fault injection for the crash test: everything is on disk, nothing indexed.
    if std::env::var("AUP_FAULT").as_deref() == Ok("before-commit") {
        std::process::abort();
    }
    let now = now_text();
    index.record_ingest(&record, &now)?;
    // The archive copies are durable and the index committed: the inbox files can
    // go, each only if it is still the file that was read.
    for (path, identity) in done_with {
        if let Err(warning) = inbox::release(&path, identity) {
            report(&Event::Warning(warning));
        }
    }
    for outcome in outcomes {
        *summary.by_verdict.entry(outcome.verdict).or_default() += 1;
        report(&Event::Outcome(outcome));
    }
    Ok(summary)
}

/// A worker's answer is checked, not trusted: page images must lie in the spool,
/// and identified forms must be in the register this run loaded.
fn check_answer(
    file: &mut FileResult,
    spool: &RunSpool,
    register: &HashMap<String, RegisteredForm>,
) {
    let failed = |message: &str| Unreadable::new(Reason::ReaderFailed, message);
    for page in &mut file.pages {
        match page {
            PageReading::Identified(found) => {
                let outside = match &found.filed.data {
                    FiledData::Spooled(path) => !spool.holds(path),
                    FiledData::InReceivedFile { .. } => false,
                };
                if outside {
                    file.unreadable =
                        Some(failed("the reader named a page image outside its folder"));
                } else if !register.contains_key(&found.form_id) {
                    *page = PageReading::Quarantine {
                        reason: Reason::UnknownForm,
                        message: format!(
                            "form {} is not in this archive's issue register",
                            found.form_id
                        ),
                        image: None,
                    };
                }
            }
            PageReading::Quarantine {
                image: Some(SpooledImage { png, thumbnail }),
                ..
            } if !spool.holds(png) || !spool.holds(thumbnail) => {
                file.unreadable = Some(failed("the reader named a page image outside its folder"));
            }
            _ => {}
        }
    }
    let unknown = file
        .digital
        .as_ref()
        .map(|inspection| inspection.form_id.clone())
        .filter(|form_id| !register.contains_key(form_id));
    if let Some(form_id) = unknown {
        file.unreadable = Some(Unreadable::new(
            Reason::UnknownForm,
            format!(
                "the PDF says it is form {form_id}, which is not in this archive's issue register"
            ),
        ));
    }
    if file.unreadable.is_some() {
        file.pages.clear();
        file.digital = None;
    }
}

/// Groups identified pages into forms, decides verdicts, files forms and
/// quarantines what could not be identified.
fn judge(
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
    let mut missing: Vec<String> = (1..=form.pages as u32)
        .filter(|p| !pages.contains_key(p))
        .map(|p| format!("page {p}"))
        .collect();
    let written = |field: &str| {
        pages
            .values()
            .any(|(_, p)| p.written.get(field).copied().unwrap_or(false))
    };
    let on_present_page = |field: &str| {
        form.boxes
            .iter()
            .find(|b| b.name == field)
            .is_some_and(|b| pages.contains_key(&(b.page as u32)))
    };
    // A missing page's boxes are covered by "page N"; only judge boxes we saw.
    if on_present_page("signer_signature") && !written("signer_signature") {
        missing.push("signature".into());
    }
    if on_present_page("signer_name") && form.name.is_none() && !written("signer_name") {
        missing.push("name".into());
    }
    if on_present_page("signer_date") && !written("signer_date") {
        missing.push("date".into());
    }
    let verdict = match (
        current == Some(form.fingerprint.as_str()),
        missing.is_empty(),
    ) {
        (false, _) => Verdict::Outdated,
        (true, true) => Verdict::Accepted,
        (true, false) => Verdict::Incomplete,
    };
    // The files the form's pages came from, each once, in page order.
    let mut file_names: Vec<String> = Vec::new();
    for (file, _) in pages.values() {
        if !file_names.iter().any(|f| f == file) {
            file_names.push(file.to_string());
        }
    }
    let (archived, archived_sha256) = file_form(plan, files, form, pages, verdict)?;
    if verdict == Verdict::Accepted {
        let checks = vec![
            (
                format!(
                    "all {} pages present, identified by their QR codes",
                    form.pages
                ),
                true,
            ),
            ("policy version is the current one".to_owned(), true),
            ("signature box has ink".to_owned(), true),
            (
                match form.name {
                    Some(_) => "name printed on the form".to_owned(),
                    None => "name box has ink".to_owned(),
                },
                true,
            ),
            ("date box has ink".to_owned(), true),
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
        let evidence = crate::report::Evidence {
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
        store(&path, &crate::report::evidence_pdf(&evidence))?;
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
    archive::link_durably(&file.stored, &history).map_err(failed(&history))?;
    let archived = match inspection.verdict {
        Verdict::Accepted => {
            let current = dir.join(format!("{}.pdf", form.form_id));
            archive::link_durably(&file.stored, &current).map_err(failed(&current))?;
            let evidence = crate::report::Evidence {
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
                &crate::report::evidence_pdf(&evidence),
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
    })
}

/// Files a form's pages, upright, as one PDF: every return under `returns/`, and
/// an accepted one also as `<form-id>.pdf`, superseding the previous accepted copy
/// (which stays under `returns/`).
fn file_form(
    plan: &IngestPlan,
    files: &[FileResult],
    form: &RegisteredForm,
    pages: &BTreeMap<u32, (&str, &IdentifiedPage)>,
    verdict: Verdict,
) -> Result<(String, String), IngestError> {
    let mut images = Vec::with_capacity(pages.len());
    for (file, page) in pages.values() {
        let received = files
            .iter()
            .find(|f| f.name == *file)
            .map(|f| f.stored.as_path())
            .unwrap_or(Path::new(""));
        // A page that cannot be read back is an error, never an empty page filed.
        let data =
            read_filed_data(&page.filed.data, received).map_err(|source| IngestError::Read {
                path: received.to_owned(),
                source,
            })?;
        let dict =
            protocol::dict_to_lopdf(&page.filed.dict, 1).ok_or_else(|| IngestError::Read {
                path: received.to_owned(),
                source: std::io::Error::other(
                    "the reader sent an image dictionary nested too deep",
                ),
            })?;
        images.push(ImagePage {
            dict,
            data,
            matrix: page.filed.matrix,
            size: form
                .page_sizes
                .get(page.page as usize - 1)
                .copied()
                .unwrap_or((595.28, 841.89)),
        });
    }
    let pdf = image_pages_pdf(images);
    // Named by its content: two returns never share a history file.
    let digest = hex(&Sha256::digest(&pdf));
    let dir = plan.archive.join(&form.school).join(&form.year);
    let history = dir
        .join("returns")
        .join(format!("{}-{}.pdf", form.form_id, &digest[..8]));
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| IngestError::Write { path, source }
    };
    archive::store_durably(&history, &pdf).map_err(failed(&history))?;
    if verdict == Verdict::Accepted {
        // The current copy is a second name for the history file: no second write.
        let current = dir.join(format!("{}.pdf", form.form_id));
        archive::link_durably(&history, &current).map_err(failed(&current))?;
        return Ok((relative(&plan.archive, &current), digest));
    }
    Ok((relative(&plan.archive, &history), digest))
}

/// One page of a scan-like PDF: a grey JPEG drawn over the whole page.
pub struct JpegPage {
    pub jpeg: Vec<u8>,
    /// The image's width and height in pixels.
    pub pixels: (u32, u32),
    /// The page's width and height in points.
    pub size: (f64, f64),
}

/// A page that is one image drawn by a matrix.
pub struct ImagePage {
    /// The image dictionary without Type and Subtype.
    pub dict: lopdf::Dictionary,
    pub data: Vec<u8>,
    pub matrix: [f64; 6],
    pub size: (f64, f64),
}

impl From<JpegPage> for ImagePage {
    fn from(page: JpegPage) -> Self {
        let name = |n: &[u8]| lopdf::Object::Name(n.to_vec());
        let (w, h) = page.size;
        Self {
            dict: lopdf::Dictionary::from_iter([
                ("Width", (page.pixels.0 as i64).into()),
                ("Height", (page.pixels.1 as i64).into()),
                ("ColorSpace", name(b"DeviceGray")),
                ("BitsPerComponent", 8.into()),
                ("Filter", name(b"DCTDecode")),
            ]),
            data: page.jpeg,
            matrix: [w, 0.0, 0.0, h, 0.0, 0.0],
            size: page.size,
        }
    }
}

/// A PDF of grey JPEG pages, the way a scanner writes one (the tests make scans
/// with it).
pub fn jpeg_pages_pdf(pages: impl IntoIterator<Item = JpegPage>) -> Vec<u8> {
    image_pages_pdf(pages.into_iter().map(ImagePage::from))
}

/// A PDF whose pages are each one image: how forms are filed.
pub fn image_pages_pdf(pages: impl IntoIterator<Item = ImagePage>) -> Vec<u8> {
    use lopdf::{Dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.7");
    let pages: Vec<crate::pdf::SimplePage> = pages
        .into_iter()
        .map(|page| {
            let mut dict = page.dict;
            dict.set("Type", Object::Name(b"XObject".to_vec()));
            dict.set("Subtype", Object::Name(b"Image".to_vec()));
            let image = doc.add_object(Stream::new(dict, page.data));
            let [a, b, c, d, e, f] = page.matrix;
            let xobjects = Dictionary::from_iter([("Scan", Object::Reference(image))]);
            crate::pdf::SimplePage {
                content: Stream::new(
                    Dictionary::new(),
                    format!("q {a:.4} {b:.4} {c:.4} {d:.4} {e:.3} {f:.3} cm /Scan Do Q\n")
                        .into_bytes(),
                ),
                resources: Dictionary::from_iter([("XObject", Object::Dictionary(xobjects))]),
                size: page.size,
            }
        })
        .collect();
    crate::pdf::save_pages(doc, pages)
}

/// A file that could not be read at all: quarantined as it is, with a sidecar.
fn quarantine_file(
    plan: &IngestPlan,
    file: &FileResult,
    why: &Unreadable,
) -> Result<String, IngestError> {
    let dir = plan.archive.join("quarantine");
    let extension = file
        .stored
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("bin");
    let path = dir.join(format!("{}.{extension}", &file.sha256[..12]));
    let bytes = std::fs::read(&file.stored).map_err(|source| IngestError::Write {
        path: file.stored.clone(),
        source,
    })?;
    store(&path, &bytes)?;
    sidecar(&path, &file.name, None, why.reason, &why.message, None)?;
    Ok(relative(&plan.archive, &path))
}

/// One page that could not be placed: kept as a PNG with a sidecar and thumbnail.
fn quarantine_page(
    plan: &IngestPlan,
    file: &FileResult,
    page: u32,
    image: Option<&SpooledImage>,
    reason: Reason,
    message: &str,
) -> Result<String, IngestError> {
    let dir = plan.archive.join("quarantine");
    let stem = format!("{}-p{page}", &file.sha256[..12]);
    let path = match image {
        Some(image) => {
            let path = dir.join(format!("{stem}.png"));
            store(&path, &read_spooled(&image.png)?)?;
            let thumb_path = dir.join(format!("{stem}.thumb.png"));
            store(&thumb_path, &read_spooled(&image.thumbnail)?)?;
            sidecar(
                &path,
                &file.name,
                Some(page),
                reason,
                message,
                Some(&thumb_path),
            )?;
            path
        }
        None => {
            // No image (the page could not be decoded): point at the whole file.
            let path = dir.join(format!("{stem}.json"));
            sidecar(&path, &file.name, Some(page), reason, message, None)?;
            path
        }
    };
    Ok(relative(&plan.archive, &path))
}

fn sidecar(
    path: &Path,
    file: &str,
    page: Option<u32>,
    reason: Reason,
    message: &str,
    thumbnail: Option<&Path>,
) -> Result<(), IngestError> {
    let json = serde_json::json!({
        "file": file,
        "page": page,
        "reason": reason,
        "message": message,
        "thumbnail": thumbnail.and_then(|t| t.file_name()).map(|n| n.to_string_lossy().into_owned()),
        "help": "identify it by hand with `aup assign FILE FORM_ID [--page N]`, or rescan it",
    });
    let sidecar = match path.extension().is_some_and(|e| e == "json") {
        true => path.to_owned(),
        false => path.with_extension(format!(
            "{}.json",
            path.extension().and_then(|e| e.to_str()).unwrap_or("")
        )),
    };
    store(
        &sidecar,
        serde_json::to_string_pretty(&json)
            .unwrap_or_default()
            .as_bytes(),
    )
}

fn store(path: &Path, bytes: &[u8]) -> Result<(), IngestError> {
    archive::store_durably(path, bytes).map_err(|source| IngestError::Write {
        path: path.to_owned(),
        source,
    })
}

/// A page image's data, from the spool or from the archive's copy of the
/// received file.
fn read_filed_data(data: &FiledData, received: &Path) -> std::io::Result<Vec<u8>> {
    match data {
        FiledData::Spooled(path) => std::fs::read(path),
        FiledData::InReceivedFile { offset, len } => {
            use std::os::unix::fs::FileExt;
            let file = std::fs::File::open(received)?;
            // The offset and length come from a worker: checked against the file.
            let size = file.metadata()?.len();
            if offset.checked_add(*len).is_none_or(|end| end > size) {
                return Err(std::io::Error::other(
                    "the reader named bytes past the end of the file",
                ));
            }
            let mut bytes = vec![0; *len as usize];
            file.read_exact_at(&mut bytes, *offset)?;
            Ok(bytes)
        }
    }
}

/// A page image a worker spooled, read back to be filed.
fn read_spooled(path: &Path) -> Result<Vec<u8>, IngestError> {
    std::fs::read(path).map_err(|source| IngestError::Read {
        path: path.to_owned(),
        source,
    })
}

fn quarantine_outcome(
    file: &str,
    page: Option<u32>,
    reason: Reason,
    message: &str,
    archived: Option<String>,
) -> Outcome {
    Outcome {
        file: file.to_owned(),
        form_id: None,
        school: None,
        person: None,
        verdict: Verdict::Unidentified,
        missing: Vec::new(),
        reason: Some(format!("{reason}: {message}")),
        archived,
        page,
    }
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn now_text() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
