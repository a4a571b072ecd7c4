//! `aup assign FILE FORM_ID`: the office identifies by hand a page whose code could
//! not be read (a smudge, a torn corner) and files it as the form it is. The page
//! is judged like any scan; when the form's last return was missing these pages,
//! that return's pages are taken along, so the form is judged whole.

use std::path::{Path, PathBuf};

use super::inbox;
use super::pages::{FileKind, Unreadable};
use super::protocol::{AssignPages, PageReading, Reading, Request, Task};
use super::{FileResult, IngestError, IngestPlan, Outcome, RunSpool, judge, worker};
use crate::archive::{self, Archive, IngestRecord, ReceivedFile, RegisteredForm};
use crate::verdict::Verdict;

/// What `aup assign` was asked to do.
pub struct AssignPlan {
    pub file: PathBuf,
    pub form_id: String,
    /// The form's page number of the file's first page.
    pub first_page: u32,
    pub archive: PathBuf,
    pub schools: PathBuf,
    /// Who assigned it, for the audit log (`aup serve`'s signed-in user).
    pub by: Option<String>,
    /// The quarantined entry this files (`aup serve`): settled in the same
    /// transaction, so a page is never both filed and still waiting.
    pub settles: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("{0}")]
    Ingest(#[from] IngestError),
    #[error("{0}")]
    Archive(#[from] archive::ArchiveError),
    #[error("{0}")]
    Input(String),
}

/// Files `plan.file` as pages of `plan.form_id` and returns the form's outcome.
pub fn run(plan: &AssignPlan) -> Result<Vec<Outcome>, AssignError> {
    let _lock = archive::lock(&plan.archive)?;
    let mut index = Archive::open(&plan.archive)?;
    let Some(form) = index.issued(&plan.form_id)? else {
        return Err(AssignError::Input(format!(
            "form {} is not in the issue register of {}",
            plan.form_id,
            plan.archive.display()
        )));
    };
    let name = plan.file.display().to_string();
    let unreadable = |why: String| AssignError::Input(format!("{name}: {why}"));
    let received =
        inbox::receive(&plan.file, &plan.archive, |_| None).map_err(|refused| match refused {
            inbox::Refused::Archive(path, source) => {
                AssignError::Ingest(IngestError::Write { path, source })
            }
            inbox::Refused::Unreadable(why)
            | inbox::Refused::TooLarge(why)
            | inbox::Refused::Changed(why) => unreadable(why),
        })?;
    let (Some(kind), Some(stored)) = (received.kind, received.stored) else {
        return Err(unreadable("not a PDF, JPEG, PNG or TIFF file".into()));
    };
    let spool = RunSpool::new(&plan.archive)?;
    let pages = read_as_pages(
        &plan.archive,
        &plan.schools,
        &spool,
        0,
        &stored,
        kind,
        &form,
        AssignPages::From(plan.first_page),
    )?
    .map_err(unreadable)?
    .unwrap_or_default();
    let last = plan.first_page + pages.len().saturating_sub(1) as u32;

    let plan_for_judge = IngestPlan {
        inbox: PathBuf::new(),
        archive: plan.archive.clone(),
        settle: std::time::Duration::ZERO,
        schools: plan.schools.clone(),
        reader_timeout: None,
        only: None,
        by: plan.by.clone(),
        // The file is one the office placed by hand: whoever assigns it has
        // been checked against the form's school, not the uploader.
        uploader_scope: false,
    };
    let mut record = IngestRecord {
        action: "assign",
        by: plan.by.clone(),
        settles: plan.settles.map(|id| {
            (
                id,
                format!("assigned to {} page {}", plan.form_id, plan.first_page),
            )
        }),
        ..IngestRecord::default()
    };
    record.received.push(ReceivedFile {
        sha256: received.sha256.clone(),
        name: name.clone(),
        size: received.size,
        stored_path: super::relative(&plan.archive, &stored),
    });
    let mut files = vec![FileResult {
        name,
        sha256: received.sha256,
        stored,
        pages,
        unreadable: None,
        digital: None,
        name_box_crop: None,
    }];
    if let Some(earlier) = earlier_pages(plan, &index, &form, plan.first_page..=last, &spool)? {
        files.push(earlier);
    }
    let register = std::collections::HashMap::from([(form.form_id.clone(), form.clone())]);
    for file in &mut files {
        super::check_answer(file, &spool, &register);
    }
    let outcomes = judge(&plan_for_judge, &index, &register, &files, &mut record)?;
    index.record_ingest(&record, &super::now_text())?;
    Ok(outcomes)
}

/// Reads a file's pages as pages of `form` in a reader worker. The outer error
/// stops the command; the inner one is the file's problem, for people; `None`
/// when the file's page count is not that of `pages`.
#[allow(clippy::too_many_arguments)]
fn read_as_pages(
    archive: &Path,
    schools: &Path,
    spool: &RunSpool,
    n: usize,
    file: &Path,
    kind: FileKind,
    form: &RegisteredForm,
    pages: AssignPages,
) -> Result<Result<Option<Vec<PageReading>>, String>, AssignError> {
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let request = Request {
        file: file.to_owned(),
        kind,
        archive: archive.to_owned(),
        schools: schools.to_owned(),
        spool: spool.for_worker(n)?,
        task: Task::Assign {
            form_id: form.form_id.clone(),
            pages,
        },
    };
    Ok(
        match worker::read(&request, worker::Limits::for_file(size, None)) {
            Ok(answer) => match answer.reading {
                Reading::Assign(reading) => reading,
                _ => Err("the reader answered another question than it was asked".into()),
            },
            Err(Unreadable { message, .. }) => Err(message),
        },
    )
}

/// The pages of the form's last return, when it was a paper return missing
/// every page now given: read back from the filed PDF. Pages quarantined one
/// by one are assigned one by one, and each assignment keeps what came before.
fn earlier_pages(
    plan: &AssignPlan,
    index: &Archive,
    form: &RegisteredForm,
    given: std::ops::RangeInclusive<u32>,
    spool: &RunSpool,
) -> Result<Option<FileResult>, AssignError> {
    let Some(last) = index.latest_return(&form.form_id)? else {
        return Ok(None);
    };
    if last.method != "paper" || last.verdict == Verdict::Accepted {
        return Ok(None);
    }
    let missing_pages: Vec<u32> = last
        .missing
        .iter()
        .filter_map(|m| m.strip_prefix("page ")?.parse().ok())
        .collect();
    if missing_pages.is_empty() || !given.clone().all(|p| missing_pages.contains(&p)) {
        return Ok(None);
    }
    let present: Vec<u32> = (1..=form.pages as u32)
        .filter(|p| !missing_pages.contains(p))
        .collect();
    let path = plan.archive.join(&last.archived_path);
    let pages = read_as_pages(
        &plan.archive,
        &plan.schools,
        spool,
        1,
        &path,
        FileKind::Pdf,
        form,
        AssignPages::Exactly(present),
    )?
    .map_err(|e| AssignError::Input(format!("the earlier return {}: {e}", path.display())))?;
    let Some(pages) = pages else {
        return Ok(None);
    };
    Ok(Some(FileResult {
        name: last
            .files
            .first()
            .cloned()
            .unwrap_or(last.archived_path.clone()),
        sha256: last.received.first().cloned().unwrap_or_default(),
        stored: path,
        pages,
        unreadable: None,
        digital: None,
        name_box_crop: None,
    }))
}
