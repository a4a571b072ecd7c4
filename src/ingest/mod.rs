//! `aup ingest`: from a pile of scans in the inbox to one verified, archived form
//! per person. Each file is kept (content-addressed) before anything else; its
//! pages are read, identified by their QR code, checked for ink in the boxes the
//! register knows, grouped into forms across files, judged, filed, and indexed in
//! one transaction. Only then do inbox files go.

pub mod assign;
pub(crate) mod ink;
pub mod pages;
pub mod qr;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use image::GrayImage;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::archive::{
    self, Archive, ArchiveError, IngestRecord, QuarantineRow, ReceivedFile, RegisteredForm,
    ReturnRow,
};
use crate::form::id::hex;
use crate::form::stamp::qr_symbol_square;
use pages::{FileBytes, FileKind, MAX_FILE_BYTES, PageSource, Unreadable};
use qr::PageToImage;

/// The resolution pages are first read at: enough for 0.6 mm modules (3.5 px)
/// and for ink. Pages that fail are read again at [`RETRY_DPI`].
const FIRST_DPI: f32 = 150.0;
const RETRY_DPI: f32 = 300.0;
/// Archived form pages are kept at this resolution, as grey JPEG.
const ARCHIVE_DPI: f64 = 150.0;
/// A page with less ink than this (and no code) is the blank back of a duplex scan.
const BLANK_PAGE_INK: f64 = 0.002;

/// Scratch space for page images between reading and filing, inside the archive
/// (same file system, so nothing is copied twice); emptied at the start and end of
/// every run.
struct Spool {
    dir: PathBuf,
    next: std::sync::atomic::AtomicUsize,
}

impl Spool {
    fn new(archive: &Path) -> std::io::Result<Self> {
        let dir = archive.join(".spool");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            next: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    fn put(&self, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.dir.join(format!("{n}.jpg"));
        std::fs::write(&path, bytes)?;
        Ok(path)
    }
}

impl Drop for Spool {
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
}

/// What digital returns are checked against beyond the register: each school
/// and year's current policy version, and each school's trust roots.
#[derive(Default)]
pub struct DigitalContext {
    pub current: HashMap<(String, String), Option<String>>,
    pub roots: HashMap<String, Vec<x509_cert::Certificate>>,
    /// Schools whose trust roots could not be read: said once per run.
    pub root_problems: Vec<String>,
}

impl DigitalContext {
    /// Reads current versions from the index and trust roots from `schools`.
    pub fn load(
        index: &Archive,
        register: &HashMap<String, RegisteredForm>,
        schools: &Path,
    ) -> Result<Self, ArchiveError> {
        let mut context = Self::default();
        for form in register.values() {
            let key = (form.school.clone(), form.year.clone());
            if let std::collections::hash_map::Entry::Vacant(slot) = context.current.entry(key) {
                slot.insert(index.current_fingerprint(&form.school, &form.year)?);
            }
            if !context.roots.contains_key(&form.school) {
                let file = schools.join(format!("{}.yaml", form.school));
                let roots = match crate::config::load(&file) {
                    Ok(school) => school.trust_roots().unwrap_or_else(|errors| {
                        for e in errors {
                            context.root_problems.push(e.to_string());
                        }
                        Vec::new()
                    }),
                    // No YAML here (ingest run elsewhere): no roots, signatures
                    // are still checked for integrity.
                    Err(_) if !file.exists() => Vec::new(),
                    Err(e) => {
                        context.root_problems.push(format!(
                            "{e}\n  (trust roots of {} not read: its certificate signatures show as untrusted)",
                            form.school
                        ));
                        Vec::new()
                    }
                };
                context.roots.insert(form.school.clone(), roots);
            }
        }
        Ok(context)
    }

    pub fn expected<'a>(&'a self, form: &'a RegisteredForm) -> crate::digital::Expected<'a> {
        crate::digital::Expected {
            form,
            current_fingerprint: self
                .current
                .get(&(form.school.clone(), form.year.clone()))
                .and_then(|c| c.as_deref()),
            roots: self
                .roots
                .get(&form.school)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        }
    }
}

/// Inspects one of our PDFs returned digitally.
pub fn inspect_digital(
    bytes: &[u8],
    source: &PageSource,
    form_id: &str,
    register: &HashMap<String, RegisteredForm>,
    context: &DigitalContext,
) -> Result<crate::digital::Inspection, Unreadable> {
    let Some(form) = register.get(form_id) else {
        return Err(Unreadable {
            reason: "unknown_form",
            message: format!(
                "the PDF says it is form {form_id}, which is not in this archive's issue register"
            ),
        });
    };
    let doc = lopdf::Document::load_mem(bytes).map_err(|e| Unreadable {
        reason: "unreadable",
        message: format!("the PDF is damaged: {e}"),
    })?;
    Ok(crate::digital::inspect(
        bytes,
        &doc,
        &context.expected(form),
        &|page| {
            source
                .page(page, crate::digital::INK_DPI)
                .map_err(|e| e.message)
        },
    ))
}

/// One line of the run's output: a form, a quarantined file or page, or a file
/// that was left alone.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outcome {
    pub file: String,
    pub form_id: Option<String>,
    pub school: Option<String>,
    pub person: Option<String>,
    pub verdict: String,
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
    Outcome(Outcome),
    /// Something the office should fix, that did not stop the run.
    Warning(String),
}

/// The closing count of a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub pages: usize,
    pub by_verdict: BTreeMap<String, usize>,
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

/// A page read from a file: identified by its code, blank, or not readable.
enum PageResult {
    Identified(Box<IdentifiedPage>),
    Blank,
    Quarantine {
        reason: &'static str,
        message: String,
        image: Option<GrayImage>,
    },
}

struct IdentifiedPage {
    form_id: String,
    page: u32,
    /// The page turned upright, as grey JPEG at [`ARCHIVE_DPI`].
    /// How the page will be filed; its image data is spooled to disk as soon as it
    /// is known, so that a 500-page batch is not held in memory until filing.
    filed: FiledImage,
    /// Ink by field name, for the boxes on this page.
    written: BTreeMap<String, bool>,
}

/// A page image ready to be filed: its image dictionary, its data (spooled), and
/// the matrix that draws it upright on the form's page.
struct FiledImage {
    dict: lopdf::Dictionary,
    data: FiledData,
    matrix: [f64; 6],
}

/// Where a page image's data waits until it is filed.
enum FiledData {
    /// Written to the spool (a re-encoded page).
    Spooled(PathBuf),
    /// A scanner's image, read from the archive's copy of the received file.
    InReceivedFile { offset: u64, len: usize },
}

impl FiledData {
    fn read(&self, received: &Path) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Spooled(path) => std::fs::read(path),
            Self::InReceivedFile { offset, len } => {
                use std::os::unix::fs::FileExt;
                let mut data = vec![0; *len];
                std::fs::File::open(received)?.read_exact_at(&mut data, *offset)?;
                Ok(data)
            }
        }
    }
}

/// One received file and what its pages were.
struct FileResult {
    name: String,
    sha256: String,
    stored: PathBuf,
    pages: Vec<PageResult>,
    /// The whole file could not be read: it is quarantined as it is.
    unreadable: Option<Unreadable>,
    /// One of our PDFs returned digitally: judged as a whole, not page by page.
    digital: Option<Box<crate::digital::Inspection>>,
}

/// Runs an ingest; `report` hears of progress, files and outcomes as they happen.
pub fn run(plan: &IngestPlan, mut report: impl FnMut(&Event)) -> Result<Summary, IngestError> {
    let _lock = archive::lock(&plan.archive)?;
    let mut index = Archive::open(&plan.archive)?;
    let register: HashMap<String, RegisteredForm> = index
        .all_issued()?
        .into_iter()
        .map(|f| (f.form_id.clone(), f))
        .collect();
    let context = DigitalContext::load(&index, &register, &plan.schools)?;
    for problem in &context.root_problems {
        report(&Event::Warning(problem.clone()));
    }
    let mut summary = Summary::default();
    let files = scan_inbox(&plan.inbox, plan.settle)?;
    let spool = Spool::new(&plan.archive).map_err(|source| IngestError::Write {
        path: plan.archive.join(".spool"),
        source,
    })?;

    let mut record = IngestRecord::default();
    let mut results = Vec::new();
    let mut done_with = Vec::new();
    let total = files.len();
    for (position, path) in files.into_iter().enumerate() {
        let name = path
            .strip_prefix(&plan.inbox)
            .unwrap_or(&path)
            .display()
            .to_string();
        report(&Event::Reading {
            index: position + 1,
            total,
            file: name.clone(),
        });
        summary.files += 1;
        let (sha256, size) = match check_size(&path)
            .and_then(|()| archive::hash_file(&path).map_err(|e| format!("cannot read: {e}")))
        {
            Ok(found) => found,
            Err(message) => {
                report(&Event::Outcome(quarantine_outcome(
                    &name,
                    None,
                    "unreadable",
                    &message,
                    None,
                )));
                continue;
            }
        };
        if let Some(stored) = index.received(&sha256)? {
            // The same bytes are archived already: nothing new is written, and the
            // inbox copy can go because the archive holds it.
            let outcome = Outcome {
                file: name.clone(),
                form_id: None,
                school: None,
                person: None,
                verdict: "duplicate".into(),
                missing: Vec::new(),
                reason: Some("these exact bytes were ingested before".into()),
                archived: Some(stored),
                page: None,
            };
            *summary.by_verdict.entry("duplicate".into()).or_default() += 1;
            report(&Event::Outcome(outcome));
            done_with.push(path);
            continue;
        }
        let kind = FileKind::sniff(&first_bytes(&path));
        let extension = kind.map(FileKind::extension).unwrap_or("bin");
        let stored = plan
            .archive
            .join("received")
            .join(&sha256[..2])
            .join(format!("{sha256}.{extension}"));
        // The archive's copy first, durably; everything else reads that copy.
        archive::copy_durably(&path, &stored).map_err(|source| IngestError::Write {
            path: stored.clone(),
            source,
        })?;
        record.received.push(ReceivedFile {
            sha256: sha256.clone(),
            name: name.clone(),
            size,
            stored_path: relative(&plan.archive, &stored),
        });
        let file = match (kind, FileBytes::map(&stored)) {
            (None, _) => FileResult {
                name,
                sha256,
                stored,
                pages: Vec::new(),
                unreadable: Some(Unreadable {
                    reason: "unreadable",
                    message: "not a PDF, JPEG, PNG or TIFF file (whatever its name says)".into(),
                }),
                digital: None,
            },
            (Some(_), Err(e)) => {
                return Err(IngestError::Write {
                    path: stored,
                    source: e,
                });
            }
            (Some(kind), Ok(bytes)) => read_file(
                (name, sha256, stored),
                Arc::new(bytes),
                kind,
                &register,
                &context,
                &spool,
            ),
        };
        summary.pages += file.pages.len();
        let count = |f: fn(&PageResult) -> bool| file.pages.iter().filter(|p| f(p)).count();
        report(&Event::File {
            file: file.name.clone(),
            pages: file.pages.len(),
            identified: count(|p| matches!(p, PageResult::Identified(_))),
            blank: count(|p| matches!(p, PageResult::Blank)),
            quarantined: count(|p| matches!(p, PageResult::Quarantine { .. })),
        });
        results.push(file);
        done_with.push(path);
    }

    let outcomes = judge(plan, &index, &register, &results, &mut record)?;
    // Fault injection for the crash test: everything is on disk, nothing indexed.
    if std::env::var("AUP_FAULT").as_deref() == Ok("before-commit") {
        std::process::abort();
    }
    let now = now_text();
    index.record_ingest(&record, &now)?;
    // The archive copies are durable and the index committed: the inbox files can go.
    for path in done_with {
        let _ = std::fs::remove_file(&path);
    }
    for outcome in outcomes {
        *summary
            .by_verdict
            .entry(outcome.verdict.clone())
            .or_default() += 1;
        report(&Event::Outcome(outcome));
    }
    Ok(summary)
}

/// Files in the inbox that are ready: regular, not hidden, not changed within the
/// settle time (a copier may still be writing them).
fn scan_inbox(inbox: &Path, settle: Duration) -> Result<Vec<PathBuf>, IngestError> {
    if !inbox.is_dir() {
        return Err(IngestError::Inbox {
            path: inbox.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
        });
    }
    let now = SystemTime::now();
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(inbox)
        .follow_links(false)
        .sort_by_file_name()
    {
        let Ok(entry) = entry else { continue };
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !entry.file_type().is_file() || hidden {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if age < settle {
            continue;
        }
        files.push(entry.into_path());
    }
    Ok(files)
}

fn check_size(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    match meta.len() > MAX_FILE_BYTES {
        true => Err(format!(
            "the file is {} MB, more than a scan batch can be",
            meta.len() / 1_000_000
        )),
        false => Ok(()),
    }
}

/// The first kilobyte, to tell what a file is.
fn first_bytes(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut head = Vec::with_capacity(1024);
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(1024).read_to_end(&mut head);
    }
    head
}

/// Reads every page of a file, in parallel, each worker with its own parser.
fn read_file(
    (name, sha256, stored): (String, String, PathBuf),
    bytes: Arc<FileBytes>,
    kind: FileKind,
    register: &HashMap<String, RegisteredForm>,
    context: &DigitalContext,
    spool: &Spool,
) -> FileResult {
    let source = match PageSource::open(bytes.clone(), kind) {
        Ok(source) => source,
        Err(unreadable) => {
            return FileResult {
                name,
                sha256,
                stored,
                pages: Vec::new(),
                unreadable: Some(unreadable),
                digital: None,
            };
        }
    };
    if let PageSource::Pdf(pdf) = &source
        && let Some(form_id) = &pdf.form_id
    {
        let (digital, unreadable) =
            match inspect_digital((*bytes).as_ref(), &source, form_id, register, context) {
                Ok(inspection) => (Some(Box::new(inspection)), None),
                Err(unreadable) => (None, Some(unreadable)),
            };
        pdf.release();
        return FileResult {
            name,
            sha256,
            stored,
            pages: Vec::new(),
            unreadable,
            digital,
        };
    }
    let count = source.count();
    let pages = match source {
        PageSource::Raster(images) => images
            .into_par_iter()
            .map(|image| analyse(spool, Ok(image), None, register))
            .collect(),
        PageSource::Pdf(ref pdf) => {
            let done = std::sync::atomic::AtomicUsize::new(0);
            let pages = (0..count)
                .into_par_iter()
                .map_init(
                    || source.reopen(),
                    |reader, index| {
                        let result = match reader {
                            Some(reader) => {
                                let first = match reader.quick_page(index, FIRST_DPI) {
                                    Some(image) => Ok(image),
                                    None => reader.page(index, FIRST_DPI),
                                };
                                analyse(spool, first, Some((reader, index)), register)
                            }
                            None => PageResult::Quarantine {
                                reason: "unreadable",
                                message: "the PDF could not be opened again".into(),
                                image: None,
                            },
                        };
                        // Every few pages, let go of the file's pages already read:
                        // memory stays flat through a 500-page batch.
                        if done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 8 == 7 {
                            pdf.release();
                        }
                        result
                    },
                )
                .collect();
            pdf.release();
            pages
        }
    };
    FileResult {
        name,
        sha256,
        stored,
        pages,
        unreadable: None,
        digital: None,
    }
}

/// Identifies one page: its code in a corner (at first resolution, then again at
/// a higher one for PDFs), else a whole-page search; then the ink in its boxes.
fn analyse(
    spool: &Spool,
    first: Result<GrayImage, Unreadable>,
    rerender: Option<(&PageSource, usize)>,
    register: &HashMap<String, RegisteredForm>,
) -> PageResult {
    let image = match first {
        Ok(image) => image,
        Err(e) => {
            return PageResult::Quarantine {
                reason: e.reason,
                message: e.message,
                image: None,
            };
        }
    };
    // The page is searched at first resolution, then (PDFs) re-rendered sharper, or
    // (rasters) searched whole; the image that held the code is kept, never copied.
    let found = match qr::find(&image, false) {
        Some(code) => Ok((code, image)),
        None => match rerender {
            Some((source, index)) => match source.page(index, RETRY_DPI) {
                Ok(sharper) => match qr::find(&sharper, true) {
                    Some(code) => Ok((code, sharper)),
                    None => Err(image),
                },
                Err(_) => Err(image),
            },
            None => match qr::find(&image, true) {
                Some(code) => Ok((code, image)),
                None => Err(image),
            },
        },
    };
    let (code, image) = match found {
        Ok(found) => found,
        Err(image) => {
            return match ink::page_ink(&image) < BLANK_PAGE_INK {
                true => PageResult::Blank,
                false => PageResult::Quarantine {
                    reason: "no_qr",
                    message: "no readable QR code on this page".into(),
                    image: Some(image),
                },
            };
        }
    };
    let payload = match code.payload() {
        Ok(payload) => payload,
        Err(e) => {
            let reason = match e {
                crate::form::PayloadError::Foreign => "no_qr",
                crate::form::PayloadError::BadCheck => "bad_check",
            };
            return PageResult::Quarantine {
                reason,
                message: e.to_string(),
                image: Some(image),
            };
        }
    };
    let form_id = payload.form.to_string();
    let Some(form) = register.get(&form_id) else {
        return PageResult::Quarantine {
            reason: "unknown_form",
            message: format!("form {form_id} is not in this archive's issue register"),
            image: Some(image),
        };
    };
    if !form
        .fingerprint
        .to_ascii_uppercase()
        .starts_with(&payload.fingerprint)
    {
        return PageResult::Quarantine {
            reason: "bad_check",
            message: format!(
                "the code says policy version {} but form {form_id} was issued with another",
                payload.fingerprint
            ),
            image: Some(image),
        };
    }
    let Some(&(width, height)) = form.page_sizes.get(payload.page as usize - 1) else {
        return PageResult::Quarantine {
            reason: "bad_check",
            message: format!("form {form_id} has no page {}", payload.page),
            image: Some(image),
        };
    };
    let map = PageToImage::from_code(&code, qr_symbol_square(width, height));
    let written = form
        .boxes
        .iter()
        .filter(|b| b.page == payload.page as usize)
        .map(|b| {
            (
                b.name.clone(),
                ink::measure(&image, &map, &b.rect, height).written(),
            )
        })
        .collect();
    let filed = match rerender.and_then(|(source, index)| source.source_image(index)) {
        // The scanner's own image, filed as it came under a matrix that turns and
        // straightens it: no decode, no re-encode, full original quality.
        Some(source) => {
            let data = match &source.data {
                pages::ImageData::InFile { offset, len, .. } => Ok(FiledData::InReceivedFile {
                    offset: *offset as u64,
                    len: *len,
                }),
                pages::ImageData::Owned(bytes) => spool
                    .put(bytes)
                    .map(FiledData::Spooled)
                    .map_err(|e| e.to_string()),
            };
            data.map(|data| FiledImage {
                matrix: source_matrix(&source, &map, image.height() as f64, height),
                dict: source.dict,
                data,
            })
        }
        None => reencoded(&image, &map, width, height, spool),
    };
    let filed = match filed {
        Ok(filed) => filed,
        Err(e) => {
            return PageResult::Quarantine {
                reason: "unreadable",
                message: format!("cannot keep the page: {e}"),
                image: None,
            };
        }
    };
    PageResult::Identified(Box::new(IdentifiedPage {
        form_id,
        page: payload.page,
        filed,
        written,
    }))
}

/// The page turned upright and straightened at [`ARCHIVE_DPI`], as grey JPEG.
fn reencoded(
    image: &GrayImage,
    map: &PageToImage,
    width: f64,
    height: f64,
    spool: &Spool,
) -> Result<FiledImage, String> {
    let upright = upright_page(image, map, width, height);
    let (w, h) = upright.dimensions();
    let jpeg = encode_jpeg(&upright)?;
    let data = FiledData::Spooled(spool.put(&jpeg).map_err(|e| e.to_string())?);
    let name = |n: &[u8]| lopdf::Object::Name(n.to_vec());
    let dict = lopdf::Dictionary::from_iter([
        ("Width", (w as i64).into()),
        ("Height", (h as i64).into()),
        ("ColorSpace", name(b"DeviceGray")),
        ("BitsPerComponent", 8.into()),
        ("Filter", name(b"DCTDecode")),
    ]);
    Ok(FiledImage {
        dict,
        data,
        matrix: [width, 0.0, 0.0, height, 0.0, 0.0],
    })
}

/// The matrix that draws a scanner's image on the form's upright page: image unit
/// square → scanned page (its own `cm`) → rendered pixels (`render_height` pixels
/// for the page's height) → form page, through the inverse of the code's map.
fn source_matrix(
    source: &pages::SourceImage,
    map: &PageToImage,
    render_height: f64,
    form_height: f64,
) -> [f64; 6] {
    let scale = render_height / source.page_height;
    let to_pixels = [scale, 0.0, 0.0, -scale, 0.0, scale * source.page_height];
    let y_up = [1.0, 0.0, 0.0, -1.0, 0.0, form_height];
    let m = then(source.placement, to_pixels);
    let m = then(m, invert(map.matrix()));
    then(m, y_up)
}

/// `first` followed by `second`, as PDF matrices.
fn then(first: [f64; 6], second: [f64; 6]) -> [f64; 6] {
    let [a1, b1, c1, d1, e1, f1] = first;
    let [a2, b2, c2, d2, e2, f2] = second;
    [
        a2 * a1 + c2 * b1,
        b2 * a1 + d2 * b1,
        a2 * c1 + c2 * d1,
        b2 * c1 + d2 * d1,
        a2 * e1 + c2 * f1 + e2,
        b2 * e1 + d2 * f1 + f2,
    ]
}

fn invert(m: [f64; 6]) -> [f64; 6] {
    let [a, b, c, d, e, f] = m;
    let det = a * d - b * c;
    [
        d / det,
        -b / det,
        -c / det,
        a / det,
        (c * f - d * e) / det,
        (b * e - a * f) / det,
    ]
}

/// Grey JPEG at quality 75 with the jpeg-encoder crate, several times faster than
/// the image crate's encoder on full pages (the archive re-encodes every page).
fn encode_jpeg(page: &GrayImage) -> Result<Vec<u8>, String> {
    let (w, h) = page.dimensions();
    let (w, h) = (
        u16::try_from(w).map_err(|e| e.to_string())?,
        u16::try_from(h).map_err(|e| e.to_string())?,
    );
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 75)
        .encode(page.as_raw(), w, h, jpeg_encoder::ColorType::Luma)
        .map_err(|e| e.to_string())?;
    Ok(jpeg)
}

/// The page as it was printed: turned upright and straightened, resampled at
/// [`ARCHIVE_DPI`] through the map the code gave.
fn upright_page(image: &GrayImage, map: &PageToImage, width: f64, height: f64) -> GrayImage {
    let scale = ARCHIVE_DPI / 72.0;
    let (w, h) = ((width * scale) as u32, (height * scale) as u32);
    let (iw, ih) = (image.width() as i64, image.height() as i64);
    let source = image.as_raw();
    let mut out = vec![255u8; w as usize * h as usize];
    // The map is affine: step along each output row by a constant image offset
    // (this loop runs for millions of pixels a page).
    let origin = map.map(0.0, 0.0);
    let step_x = map.map(1.0 / scale, 0.0);
    let step_y = map.map(0.0, 1.0 / scale);
    let (dx, dy) = (step_x.x - origin.x, step_x.y - origin.y);
    let (ex, ey) = (step_y.x - origin.x, step_y.y - origin.y);
    for (row, line) in out.chunks_exact_mut(w as usize).enumerate() {
        let (mut x, mut y) = (
            origin.x + row as f64 * ex + 0.5,
            origin.y + row as f64 * ey + 0.5,
        );
        for pixel in line {
            // Truncation is floor here: negative coordinates are rejected first.
            if x >= 0.0 && y >= 0.0 {
                let (px, py) = (x as i64, y as i64);
                if px < iw && py < ih {
                    *pixel = source[(py * iw + px) as usize];
                }
            }
            x += dx;
            y += dy;
        }
    }
    GrayImage::from_raw(w, h, out).unwrap_or_else(|| GrayImage::new(w, h))
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
                reason: unreadable.reason.into(),
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
            outcomes.push(judge_digital(
                plan,
                file,
                inspection,
                &register[&inspection.form_id],
                record,
            )?);
            continue;
        }
        if !file.pages.is_empty() && file.pages.iter().all(|p| matches!(p, PageResult::Blank)) {
            // Nothing at all to file: say so, rather than let the file vanish.
            let blank = Unreadable {
                reason: "blank",
                message: format!(
                    "every page of this file ({}) is blank: nothing to identify",
                    file.pages.len()
                ),
            };
            let path = quarantine_file(plan, file, &blank)?;
            record.quarantined.push(QuarantineRow {
                received_sha256: file.sha256.clone(),
                page: None,
                reason: blank.reason.into(),
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
                PageResult::Blank => {}
                PageResult::Identified(found) => {
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
                                "duplicate_page",
                                &message,
                            )?;
                            record.quarantined.push(QuarantineRow {
                                received_sha256: file.sha256.clone(),
                                page: Some(number),
                                reason: "duplicate_page".into(),
                                message: message.clone(),
                                path: path.clone(),
                            });
                            outcomes.push(quarantine_outcome(
                                &file.name,
                                Some(number),
                                "duplicate_page",
                                &message,
                                Some(path),
                            ));
                        }
                    }
                }
                PageResult::Quarantine {
                    reason,
                    message,
                    image,
                } => {
                    let path =
                        quarantine_page(plan, file, number, image.as_ref(), reason, message)?;
                    record.quarantined.push(QuarantineRow {
                        received_sha256: file.sha256.clone(),
                        page: Some(number),
                        reason: (*reason).into(),
                        message: message.clone(),
                        path: path.clone(),
                    });
                    outcomes.push(quarantine_outcome(
                        &file.name,
                        Some(number),
                        reason,
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
        (false, _) => "outdated",
        (true, true) => "accepted",
        (true, false) => "incomplete",
    };
    // The files the form's pages came from, each once, in page order.
    let mut file_names: Vec<String> = Vec::new();
    for (file, _) in pages.values() {
        if !file_names.iter().any(|f| f == file) {
            file_names.push(file.to_string());
        }
    }
    let (archived, archived_sha256) = file_form(plan, files, form, pages, verdict)?;
    if verdict == "accepted" {
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
        verdict: verdict.into(),
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
        verdict: verdict.into(),
        reason: match verdict {
            "outdated" => {
                Some("signed an older version of the policy: the current one must be signed".into())
            }
            "incomplete" => Some(format!("missing: {}", missing.join(", "))),
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
        "accepted" => {
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
        verdict: inspection.verdict.into(),
        missing: inspection.missing.clone(),
        method: inspection.method.into(),
        files: vec![file.name.clone()],
        received: vec![file.sha256.clone()],
        archived_path: archived.clone(),
    });
    Ok(Outcome {
        file: file.name.clone(),
        form_id: Some(form.form_id.clone()),
        school: Some(form.school.clone()),
        person: inspection.person.clone(),
        verdict: inspection.verdict.into(),
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
    verdict: &str,
) -> Result<(String, String), IngestError> {
    let mut images = Vec::with_capacity(pages.len());
    for (file, page) in pages.values() {
        let received = files
            .iter()
            .find(|f| f.name == *file)
            .map(|f| f.stored.as_path())
            .unwrap_or(Path::new(""));
        // A page that cannot be read back is an error, never an empty page filed.
        let data = page
            .filed
            .data
            .read(received)
            .map_err(|source| IngestError::Read {
                path: received.to_owned(),
                source,
            })?;
        images.push(ImagePage {
            dict: page.filed.dict.clone(),
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
    if verdict == "accepted" {
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
    image: Option<&GrayImage>,
    reason: &str,
    message: &str,
) -> Result<String, IngestError> {
    let dir = plan.archive.join("quarantine");
    let stem = format!("{}-p{page}", &file.sha256[..12]);
    let path = match image {
        Some(image) => {
            let path = dir.join(format!("{stem}.png"));
            store(&path, &png(image))?;
            let thumb = thumbnail(image);
            let thumb_path = dir.join(format!("{stem}.thumb.png"));
            store(&thumb_path, &png(&thumb))?;
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
    reason: &str,
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

fn png(image: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = image.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png);
    out
}

fn thumbnail(image: &GrayImage) -> GrayImage {
    let (w, h) = image.dimensions();
    let width = 200u32.min(w.max(1));
    let height = ((h as u64 * width as u64) / w.max(1) as u64).max(1) as u32;
    image::imageops::resize(image, width, height, image::imageops::FilterType::Triangle)
}

fn quarantine_outcome(
    file: &str,
    page: Option<u32>,
    reason: &str,
    message: &str,
    archived: Option<String>,
) -> Outcome {
    Outcome {
        file: file.to_owned(),
        form_id: None,
        school: None,
        person: None,
        verdict: "unidentified".into(),
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
