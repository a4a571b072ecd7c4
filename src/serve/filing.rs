//! The one thread of `aup serve` that changes the archive. Everything that
//! writes (filing the inbox, assigning or setting aside a quarantined page,
//! issuing forms) is a job on its queue, done
//! in order, each under the archive's lock as the CLI takes it: the server and a
//! CLI `aup ingest` never file the same file twice, and a scan that lands while
//! a batch runs is taken by the next batch.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

use super::watch::SettleTracker;
use crate::archive::{self, Archive, ArchiveError};
use crate::config::{self, AcademicYear};
use crate::generate::{GeneratePlan, generate_school};
use crate::ingest::assign::{AssignError, AssignPlan};
use crate::ingest::{self, Event, IngestError, IngestPlan, Outcome};
use crate::render::TemplateSource;

/// How long the inbox must be quiet after a notification before it is looked
/// at: a copier writing twenty pages sends hundreds of events.
const QUIET: Duration = Duration::from_millis(500);
/// How soon to try again when a CLI `aup ingest` holds the archive's lock.
const LOCKED_RETRY: Duration = Duration::from_secs(2);
/// How soon to try again after a batch failed (a full disk, a broken index).
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(30);

/// Where the server's folders are.
#[derive(Debug, Clone)]
pub struct Folders {
    pub inbox: PathBuf,
    pub archive: PathBuf,
    pub schools: PathBuf,
    pub out: PathBuf,
}

/// A change for the filing thread to make.
pub enum Job {
    /// Something may have arrived in the inbox.
    Wake,
    /// File a quarantined entry as pages of a form.
    Assign {
        entry: i64,
        form_id: String,
        first_page: u32,
        by: String,
        reply: oneshot::Sender<Result<Vec<Outcome>, String>>,
    },
    /// Take a quarantined entry off the office's list; its file stays.
    SetAside {
        entry: i64,
        by: String,
        reply: oneshot::Sender<Result<bool, String>>,
    },
    /// Settle a consent answer read as unclear (see `Archive::settle_consent`).
    SettleConsent {
        return_id: i64,
        consent: String,
        answer: crate::consents::Answer,
        by: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Generate a school's forms for a year.
    Issue {
        school: String,
        year: AcademicYear,
        by: String,
        reply: oneshot::Sender<Result<Issued, String>>,
    },
}

/// What issuing a school's forms wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Issued {
    pub school: String,
    pub year: String,
    pub forms: usize,
    pub fingerprint: String,
    pub superseded: usize,
}

/// What the office's pages say about the inbox.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InboxState {
    /// "notifications" or "polling every N s".
    pub watching: String,
    /// Files seen in the inbox that have not settled yet.
    pub settling: usize,
    /// Files a batch could not take and left in the inbox (the log says why);
    /// tried again when they change.
    pub left: Vec<String>,
    /// Whether a batch is being filed now.
    pub filing: bool,
    /// The end of the last batch (RFC 3339), and what it did.
    pub last_batch_at: Option<String>,
    pub last_batch: Option<String>,
    /// The last thing that went wrong, as the server's log says it.
    pub problem: Option<String>,
    /// The same, in a sentence for the office.
    pub problem_plain: Option<String>,
    /// The error itself, cleaned, for whoever looks after aup.
    pub problem_details: Option<String>,
}

impl InboxState {
    fn set_problem(&mut self, problem: Option<(&str, String)>) {
        self.problem_plain = problem.as_ref().map(|(plain, _)| plain.to_string());
        self.problem_details = problem
            .as_ref()
            .map(|(_, error)| super::wording::printable(error));
        self.problem = problem.map(|(_, error)| error);
    }
}

/// The handle the web side holds.
#[derive(Clone)]
pub struct Filing {
    jobs: Sender<Job>,
    pub state: Arc<Mutex<InboxState>>,
}

impl Filing {
    /// Starts the filing thread.
    pub fn start(folders: Folders, settle: Duration) -> (Self, Sender<Job>) {
        let (jobs, queue) = std::sync::mpsc::channel();
        let state = Arc::new(Mutex::new(InboxState::default()));
        let thread_state = state.clone();
        std::thread::Builder::new()
            .name("aup-filing".into())
            .spawn(move || FilingThread::new(folders, settle, thread_state).run(queue))
            .expect("the filing thread starts");
        (
            Self {
                jobs: jobs.clone(),
                state,
            },
            jobs,
        )
    }

    pub fn send(&self, job: Job) {
        // The thread lives as long as the process; a send fails only at exit.
        let _ = self.jobs.send(job);
    }

    pub fn inbox_state(&self) -> InboxState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

struct FilingThread {
    folders: Folders,
    settle: Duration,
    tracker: SettleTracker,
    state: Arc<Mutex<InboxState>>,
    /// When to look in the inbox next; `None`: when woken.
    due: Option<Instant>,
}

impl FilingThread {
    fn new(folders: Folders, settle: Duration, state: Arc<Mutex<InboxState>>) -> Self {
        Self {
            folders,
            settle,
            tracker: SettleTracker::default(),
            state,
            // Whatever waited in the inbox while the server was down.
            due: Some(Instant::now()),
        }
    }

    fn run(mut self, queue: Receiver<Job>) {
        loop {
            let wait = self
                .due
                .map(|due| due.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(3600));
            match queue.recv_timeout(wait) {
                Ok(Job::Wake) => {
                    let soon = Instant::now() + QUIET;
                    self.due = Some(self.due.map_or(soon, |due| due.min(soon)));
                }
                Ok(job) => self.perform(job),
                Err(RecvTimeoutError::Timeout) => {
                    self.due = None;
                    self.look_in_inbox();
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn set_state(&self, change: impl FnOnce(&mut InboxState)) {
        change(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn later(&mut self, after: Duration) {
        let at = Instant::now() + after;
        self.due = Some(self.due.map_or(at, |due| due.min(at)));
    }

    /// Files what has settled; comes back when the rest has.
    fn look_in_inbox(&mut self) {
        let look = self.tracker.look(&self.folders.inbox, self.settle);
        self.set_state(|s| {
            s.settling = look.settling;
            s.left = look.left.clone();
        });
        if let Some(next) = look.next_check {
            self.later(next);
        }
        if look.settled.is_empty() {
            return;
        }
        match self.file(look.settled) {
            Ok(()) => self.set_state(|s| s.set_problem(None)),
            Err(IngestError::Archive(ArchiveError::Locked(_))) => {
                self.set_state(|s| {
                    s.set_problem(Some((
                        "Someone is filing scans from the command line just now; these are filed when they have finished.",
                        "another aup ingest is filing this archive: the inbox is taken when it has finished"
                            .into(),
                    )))
                });
                self.later(LOCKED_RETRY);
            }
            Err(error) => {
                eprintln!("aup serve: filing the inbox failed: {error}");
                let plain = match &error {
                    IngestError::DiskFull { .. } => {
                        "The disk that holds the archive is full. Ask whoever looks after aup to free some space."
                    }
                    _ => {
                        "Something went wrong while filing. Ask whoever looks after aup to look at the details below."
                    }
                };
                self.set_state(|s| s.set_problem(Some((plain, error.to_string()))));
                // Not a tight loop on a broken archive: try again in a while.
                self.later(RETRY_AFTER_ERROR);
            }
        }
    }

    fn file(&mut self, settled: BTreeSet<PathBuf>) -> Result<(), IngestError> {
        let given = settled.clone();
        let plan = IngestPlan {
            inbox: self.folders.inbox.clone(),
            archive: self.folders.archive.clone(),
            settle: Duration::ZERO,
            schools: self.folders.schools.clone(),
            reader_timeout: None,
            only: Some(settled),
            by: Some("aup serve (inbox)".into()),
            uploader_scope: true,
        };
        self.set_state(|s| s.filing = true);
        let mut outcomes = 0;
        let summary = ingest::run(&plan, |event| match event {
            Event::Outcome(_) => outcomes += 1,
            Event::Warning(text) => eprintln!("aup serve: warning: {text}"),
            Event::Skipped { file, reason } => eprintln!("aup serve: left {file}: {reason}"),
            _ => {}
        });
        self.set_state(|s| s.filing = false);
        let summary = summary?;
        // What the batch could not take stays put: not offered again (and the
        // archive not locked for it every few seconds) until it changes.
        self.tracker.hold_left(&given);
        let counts: Vec<String> = summary
            .by_verdict
            .iter()
            .map(|(verdict, n)| format!("{n} {verdict}"))
            .collect();
        let plural = |n: usize, one: &str, many: &str| match n {
            1 => format!("1 {one}"),
            n => format!("{n} {many}"),
        };
        let said = format!(
            "{}, {}: {}",
            plural(summary.files, "file", "files"),
            plural(summary.pages, "page", "pages"),
            counts.join(", ")
        );
        eprintln!("aup serve: filed {said}");
        self.set_state(|s| {
            s.last_batch_at = Some(crate::clock::now_text());
            s.last_batch = Some(said);
        });
        // Files that changed while read are back in the inbox: look again soon.
        self.later(self.settle.max(QUIET));
        Ok(())
    }

    fn perform(&mut self, job: Job) {
        match job {
            Job::Wake => {}
            Job::Assign {
                entry,
                form_id,
                first_page,
                by,
                reply,
            } => {
                let _ = reply.send(self.assign(entry, form_id, first_page, &by));
            }
            Job::SetAside { entry, by, reply } => {
                let _ = reply
                    .send(self.with_lock(|index| index.settle_quarantine(entry, "set aside", &by)));
            }
            Job::SettleConsent {
                return_id,
                consent,
                answer,
                by,
                reply,
            } => {
                let _ = reply.send(
                    self.with_lock(|index| index.settle_consent(return_id, &consent, answer, &by)),
                );
            }
            Job::Issue {
                school,
                year,
                by,
                reply,
            } => {
                let _ = reply.send(self.issue(&school, year, &by));
            }
        }
    }

    /// Runs `change` on the index under the archive's lock, waiting for a CLI
    /// run that holds it.
    fn with_lock<T, E: std::fmt::Display>(
        &self,
        change: impl FnOnce(&mut Archive) -> Result<T, E>,
    ) -> Result<T, String> {
        let _lock = archive::lock_waiting(&self.folders.archive).map_err(|e| e.to_string())?;
        let mut index = Archive::open(&self.folders.archive).map_err(|e| e.to_string())?;
        change(&mut index).map_err(|e| e.to_string())
    }

    fn assign(
        &self,
        entry: i64,
        form_id: String,
        first_page: u32,
        by: &str,
    ) -> Result<Vec<Outcome>, String> {
        let index = Archive::open_read_only(&self.folders.archive).map_err(|e| e.to_string())?;
        let quarantined = index
            .quarantine_entry(entry)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("there is no quarantined entry {entry}"))?;
        if let Some(how) = &quarantined.settled {
            return Err(format!("this entry was {how} already"));
        }
        drop(index);
        // Resolved from the index, never from the request: the file is the
        // archive's own copy.
        let file = super::downloads::inside(&self.folders.archive, &quarantined.path)
            .ok_or_else(|| format!("the quarantined file {} is missing", quarantined.path))?;
        let plan = AssignPlan {
            file,
            form_id: form_id.clone(),
            first_page,
            archive: self.folders.archive.clone(),
            schools: self.folders.schools.clone(),
            by: Some(by.to_owned()),
            settles: Some(entry),
        };
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            match crate::ingest::assign::run(&plan) {
                Err(AssignError::Archive(ArchiveError::Locked(_))) if Instant::now() < deadline => {
                    std::thread::sleep(LOCKED_RETRY)
                }
                other => return other.map_err(|e| e.to_string()),
            }
        }
    }

    fn issue(&self, school: &str, year: AcademicYear, by: &str) -> Result<Issued, String> {
        let file = self.folders.schools.join(format!("{school}.yaml"));
        let loaded = config::load(&file).map_err(|e| e.to_string())?;
        let date = time::OffsetDateTime::now_utc().date();
        let plan = GeneratePlan {
            templates: TemplateSource::Embedded,
            year: Some(year),
            date,
            out_dir: self.folders.out.clone(),
            archive: self.folders.archive.clone(),
            blank: 0,
        };
        let generated = generate_school(&loaded, &plan, &|_| {}).map_err(|e| e.to_string())?;
        let issued = Issued {
            school: school.to_owned(),
            year: year.to_string(),
            forms: generated.forms.len(),
            fingerprint: generated.fingerprint.as_str().to_owned(),
            superseded: generated.superseded.len(),
        };
        let detail = format!(
            "{school} {year}: {} forms of policy version {} by {by}",
            issued.forms,
            &issued.fingerprint[..12.min(issued.fingerprint.len())]
        );
        self.with_lock(|index| index.record_action("issue", &detail))?;
        Ok(issued)
    }
}
