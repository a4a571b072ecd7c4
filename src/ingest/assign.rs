//! `aup assign FILE FORM_ID`: the office identifies by hand a page whose code could
//! not be read (a smudge, a torn corner) and files it as the form it is. The page
//! is judged like any scan; when the form's last return was missing exactly these
//! pages, that return's pages are taken along, so the form is judged whole.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::pages::{FileBytes, FileKind, PageSource};
use super::qr::PageToImage;
use super::{
    FileResult, IdentifiedPage, IngestError, IngestPlan, Outcome, PageResult, Spool, ink, judge,
    reencoded,
};
use crate::archive::{self, Archive, IngestRecord, ReceivedFile, RegisteredForm};

/// Pages of filed returns are read back at this resolution (they were filed at 150).
const REREAD_DPI: f32 = 150.0;

/// What `aup assign` was asked to do.
pub struct AssignPlan {
    pub file: PathBuf,
    pub form_id: String,
    /// The form's page number of the file's first page.
    pub first_page: u32,
    pub archive: PathBuf,
    pub schools: PathBuf,
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
    let (sha256, size) = archive::hash_file(&plan.file).map_err(|e| unreadable(e.to_string()))?;
    let bytes = FileBytes::map(&plan.file).map_err(|e| unreadable(e.to_string()))?;
    let kind = FileKind::sniff(bytes.as_ref())
        .ok_or_else(|| unreadable("not a PDF, JPEG, PNG or TIFF file".into()))?;
    let source = PageSource::open(Arc::new(bytes), kind)
        .map_err(|e| unreadable(format!("{} ({})", e.message, e.reason)))?;
    let count = source.count() as u32;
    let last = plan.first_page.saturating_add(count.saturating_sub(1));
    if count == 0 || plan.first_page == 0 || last > form.pages as u32 {
        return Err(AssignError::Input(format!(
            "{name} has {count} pages; from page {} they would go past the form's {} pages",
            plan.first_page, form.pages
        )));
    }

    let plan_for_judge = IngestPlan {
        inbox: PathBuf::new(),
        archive: plan.archive.clone(),
        settle: std::time::Duration::ZERO,
        schools: plan.schools.clone(),
    };
    let spool = Spool::new(&plan.archive).map_err(|source| IngestError::Write {
        path: plan.archive.join(".spool"),
        source,
    })?;
    let stored = plan
        .archive
        .join("received")
        .join(&sha256[..2])
        .join(format!("{sha256}.{}", kind.extension()));
    archive::copy_durably(&plan.file, &stored).map_err(|source| IngestError::Write {
        path: stored.clone(),
        source,
    })?;
    let mut record = IngestRecord {
        action: "assign",
        ..IngestRecord::default()
    };
    record.received.push(ReceivedFile {
        sha256: sha256.clone(),
        name: name.clone(),
        size,
        stored_path: super::relative(&plan.archive, &stored),
    });

    let mut pages = Vec::new();
    for i in 0..count {
        let image = source
            .page(i as usize, super::FIRST_DPI)
            .map_err(|e| unreadable(e.message))?;
        let number = plan.first_page + i;
        pages.push(identified(&form, number, &image, &spool).map_err(unreadable)?);
    }
    let mut files = vec![FileResult {
        name,
        sha256,
        stored,
        pages,
        unreadable: None,
        digital: None,
    }];
    if let Some(earlier) =
        earlier_pages(&plan.archive, &index, &form, plan.first_page..=last, &spool)?
    {
        files.push(earlier);
    }
    let register: HashMap<String, RegisteredForm> =
        HashMap::from([(form.form_id.clone(), form.clone())]);
    let outcomes = judge(&plan_for_judge, &index, &register, &files, &mut record)?;
    index.record_ingest(&record, &super::now_text())?;
    Ok(outcomes)
}

/// A page given by hand: the code can't be read, so the page is taken as upright
/// and unskewed, its width the form's page width.
fn identified(
    form: &RegisteredForm,
    number: u32,
    image: &image::GrayImage,
    spool: &Spool,
) -> Result<PageResult, String> {
    let (width, height) = form
        .page_sizes
        .get(number as usize - 1)
        .copied()
        .ok_or_else(|| format!("form {} has no page {number}", form.form_id))?;
    let map = PageToImage::scaled(image.width() as f64 / width);
    let written: BTreeMap<String, bool> = form
        .boxes
        .iter()
        .filter(|b| b.page == number as usize)
        .map(|b| {
            (
                b.name.clone(),
                ink::measure(image, &map, &b.rect, height).written(),
            )
        })
        .collect();
    let filed = reencoded(image, &map, width, height, spool)?;
    Ok(PageResult::Identified(Box::new(IdentifiedPage {
        form_id: form.form_id.clone(),
        page: number,
        filed,
        written,
    })))
}

/// The pages of the form's last return, when it was a paper return missing
/// exactly some of the pages now given: read back from the filed PDF.
fn earlier_pages(
    root: &Path,
    index: &Archive,
    form: &RegisteredForm,
    given: std::ops::RangeInclusive<u32>,
    spool: &Spool,
) -> Result<Option<FileResult>, AssignError> {
    let Some(last) = index.latest_return(&form.form_id)? else {
        return Ok(None);
    };
    if last.method != "paper" || last.verdict == "accepted" {
        return Ok(None);
    }
    let missing_pages: Vec<u32> = last
        .missing
        .iter()
        .filter_map(|m| m.strip_prefix("page ")?.parse().ok())
        .collect();
    if missing_pages.is_empty() || !missing_pages.iter().all(|p| given.contains(p)) {
        return Ok(None);
    }
    let present: Vec<u32> = (1..=form.pages as u32)
        .filter(|p| !missing_pages.contains(p))
        .collect();
    let path = root.join(&last.archived_path);
    let bytes = FileBytes::map(&path).map_err(|e| {
        AssignError::Input(format!(
            "the earlier return {} cannot be read: {e}",
            path.display()
        ))
    })?;
    let source = PageSource::open(Arc::new(bytes), FileKind::Pdf).map_err(|e| {
        AssignError::Input(format!(
            "the earlier return {}: {}",
            path.display(),
            e.message
        ))
    })?;
    if source.count() != present.len() {
        return Ok(None);
    }
    let mut pages = Vec::new();
    for (i, &number) in present.iter().enumerate() {
        let image = source
            .page(i, REREAD_DPI)
            .map_err(|e| AssignError::Input(e.message))?;
        pages.push(identified(form, number, &image, spool).map_err(AssignError::Input)?);
    }
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
    }))
}
