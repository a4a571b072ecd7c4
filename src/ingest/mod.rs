//! `aup ingest`: from a pile of scans in the inbox to one verified, archived form
//! per person. Each file's exact bytes are copied into the archive (content-
//! addressed) before anything else, and synced while a reader worker process
//! reads the copy's pages (identified by their QR code, ink measured in the
//! boxes the register knows); once every copy is durable, this process groups
//! pages into forms across files, judges, files, and indexes them in one
//! transaction. Only then do inbox files go, and only if each is still the very
//! file that was read.
//!
//! This process never parses received bytes: see [`worker`] for why and how.

pub mod assign;
mod check_answer;
mod evidence;
mod file;
mod full_disk;
pub mod inbox;
mod judge;
pub mod pages;
mod paper;
pub mod protocol;
mod quarantine;
pub mod read;
mod spool;
pub mod suggest;
mod upright;
pub mod worker;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::archive::{self, Archive, ArchiveError, IngestRecord, ReceivedFile, RegisteredForm};
use crate::verdict::{Reason, Verdict};
use check_answer::check_answer;
pub use file::{ImagePage, image_pages_pdf};
use judge::judge;
use pages::Unreadable;
pub use paper::BoxInk;
use protocol::{PageReading, Reading, Request, Task};
use quarantine::quarantine_outcome;
pub(crate) use spool::RunSpool;

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
    /// Take only these inbox files (`aup serve` passes the ones it saw settle);
    /// `None`: every file that is ready.
    pub only: Option<std::collections::BTreeSet<PathBuf>>,
    /// Who asked for the run, for the audit log (`aup serve`'s signed-in user).
    pub by: Option<String>,
    /// Hold each uploaded file to the schools of the account that uploaded it.
    /// Off for `aup assign`, where the person assigning has been checked.
    pub uploader_scope: bool,
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
    /// A paper form's boxes: the ink measured in each and the threshold, so a
    /// doubtful verdict can be checked by a person.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub boxes: Vec<paper::BoxInk>,
    /// A parents' form's consents as read: each answer and how it was read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub consents: Vec<crate::consents::ConsentAnswer>,
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
    #[error(
        "the archive's disk is full: {detail}\n  = hint: free some space on the disk that holds {} (or move the archive to a bigger one), then run ingest again; nothing was taken out of the inbox",
        archive.display()
    )]
    DiskFull { archive: PathBuf, detail: String },
}

/// Where the crop of a return's name box is kept, beside the return filed at
/// `archived` (relative to the archive): `<return>.name-box.png`. Made only
/// when the box does not show the name the form was issued with.
pub fn name_box_crop_path(archived: &str) -> String {
    let stem = archived.strip_suffix(".pdf").unwrap_or(archived);
    format!("{stem}.name-box.png")
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
    /// A digital return's name box, cropped, when it does not show the issued name.
    pub(crate) name_box_crop: Option<PathBuf>,
}

/// A file handed to a reader, waiting for its answer.
struct Pending {
    name: String,
    sha256: String,
    stored: PathBuf,
}

/// Runs an ingest; `report` hears of progress, files and outcomes as they happen.
/// An error ends the run with the inbox as it was for every file not filed.
pub fn run(plan: &IngestPlan, report: impl FnMut(&Event)) -> Result<Summary, IngestError> {
    run_to_end(plan, report).map_err(|error| full_disk::explain(error, &plan.archive))
}

fn run_to_end(plan: &IngestPlan, mut report: impl FnMut(&Event)) -> Result<Summary, IngestError> {
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
    let (mut ready, skipped) =
        inbox::list(&plan.inbox, plan.settle).map_err(|source| IngestError::Inbox {
            path: plan.inbox.clone(),
            source,
        })?;
    if let Some(only) = &plan.only {
        ready.retain(|entry| only.contains(&entry.path));
    }
    for skip in skipped {
        summary.skipped += 1;
        report(&Event::Skipped {
            file: skip.name,
            reason: skip.reason,
        });
    }
    let spool = RunSpool::new(&plan.archive)?;

    let mut record = IngestRecord {
        by: plan.by.clone(),
        ..IngestRecord::default()
    };
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
    let stopping = AtomicBool::new(false);
    // The first spool write a worker could not make: the archive's disk, so the
    // run stops before anything is judged on pages it could not keep.
    let mut spool_failed: Option<i32> = None;
    std::thread::scope(|scope| -> Result<(), IngestError> {
        // Owned here, not outside the scope: however this closure ends (an error
        // half way included), the sender is dropped and the readers are told to
        // stop before the scope waits for them; otherwise a reader blocked on
        // the queue waits for ever and so does the run.
        let jobs = jobs;
        let _stop = StopReaders(&stopping);
        // Received copies are synced on their own thread, one after another,
        // until the first that fails.
        let (to_sync, synced_in_turn) = std::sync::mpsc::channel::<inbox::Unsynced>();
        let syncer = scope.spawn(move || -> Result<(), (PathBuf, std::io::Error)> {
            for unsynced in synced_in_turn {
                unsynced.make_durable()?;
            }
            Ok(())
        });
        // Readers run while this thread takes the next files in: each reader
        // thread starts one worker process per file and waits for its answer.
        let (answers, answered) = std::sync::mpsc::channel();
        for _ in 0..readers {
            let (queue, answers, stopping) = (&queue, answers.clone(), &stopping);
            scope.spawn(move || {
                loop {
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((n, request, limits)) = job else { break };
                    // Jobs still queued when the run gave up are not read.
                    if stopping.load(Ordering::Relaxed) {
                        break;
                    }
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
                    if let Some(failed) = answer.spool_failed {
                        spool_failed.get_or_insert(failed);
                    }
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
                name_box_crop: reading.name_box_crop,
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
            let received = inbox::receive_unsynced(&entry.path, &plan.archive, |sha| {
                index.received(sha).ok().flatten()
            });
            let received = match received {
                Ok((received, unsynced)) => {
                    // The copy is synced while it is read: the disk and the
                    // reader work at once, and everything is durable before
                    // anything is judged.
                    if let Some(unsynced) = unsynced {
                        let _ = to_sync.send(unsynced);
                    }
                    received
                }
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
                    boxes: Vec::new(),
                    consents: Vec::new(),
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
                        spool_failed: None,
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
                    let _ = jobs.send((position, request, limits));
                }
            }
            while let Ok((n, answer)) = answered.try_recv() {
                finish(n, answer, &mut pending, &mut report);
            }
        }
        // No more jobs: the readers end once the queue is empty.
        drop(jobs);
        for (n, answer) in answered {
            finish(n, answer, &mut pending, &mut report);
        }
        drop(to_sync);
        let synced = syncer.join().unwrap_or_else(|_| {
            Err((
                plan.archive.join("received"),
                std::io::Error::other("the thread syncing received files stopped"),
            ))
        });
        synced.map_err(|(path, source)| IngestError::Write { path, source })?;
        Ok(())
    })?;
    if let Some(os_error) = spool_failed {
        return Err(IngestError::Write {
            path: plan.archive.join(".spool"),
            source: std::io::Error::from_raw_os_error(os_error),
        });
    }
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

/// Tells the reader threads to stop when dropped: on every way out of a run.
struct StopReaders<'a>(&'a AtomicBool);

impl Drop for StopReaders<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
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
