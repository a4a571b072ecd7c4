//! Inside a reader worker: from one received file to what its pages say. This is
//! the only code that parses, decodes and renders received bytes, and it runs only
//! in a worker process (see [`super::worker`]), so a file that crashes it or runs
//! it out of memory or time costs that file alone. What it finds goes back to the
//! ingest process as a [`protocol`](super::protocol) answer; page images go back as
//! files in the spool folder it was given, never anywhere else.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use image::GrayImage;
use rayon::prelude::*;

use super::pages::{self, FileBytes, FileKind, PageSource, Unreadable};
use super::protocol::{
    self, AssignPages, FileReading, FiledData, FiledImage, IdentifiedPage, PageReading,
    SpooledImage,
};
use super::upright::{encode_jpeg, png, source_matrix, thumbnail, upright_page};
use crate::archive::{Archive, ArchiveError, RegisteredForm};
use crate::scan::page_map::PageToImage;
use crate::scan::{ink, locate, qr};
use crate::verdict::Reason;

/// The resolution pages are first read at: enough for 0.6 mm modules (3.5 px)
/// and for ink. Pages that fail are read again at [`RETRY_DPI`].
pub(crate) const FIRST_DPI: f32 = 150.0;
const RETRY_DPI: f32 = 300.0;
/// A page with less ink than this (and no code) is the blank back of a duplex scan.
const BLANK_PAGE_INK: f64 = 0.002;
/// Pages of filed returns are read back at this resolution (they were filed at 150).
pub(crate) const REREAD_DPI: f32 = 150.0;

/// The worker's folder for page images it hands back: made by the ingest process,
/// emptied by it after the run.
pub struct Spool {
    dir: PathBuf,
    next: std::sync::atomic::AtomicUsize,
    /// The first write that failed: the archive's disk, not the page, is at
    /// fault, so the run must stop rather than quarantine what it could not keep.
    failed: Mutex<Option<i32>>,
}

impl Spool {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            next: std::sync::atomic::AtomicUsize::new(0),
            failed: Mutex::new(None),
        }
    }

    fn put(&self, extension: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.dir.join(format!("{n}.{extension}"));
        if let Err(error) = std::fs::write(&path, bytes) {
            let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
            failed.get_or_insert(error.raw_os_error().unwrap_or(libc::EIO));
            return Err(error);
        }
        Ok(path)
    }

    /// The OS error of the first write into the spool that failed, if any.
    pub fn failure(&self) -> Option<i32> {
        *self.failed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A page for the quarantine: the page and its thumbnail, as PNG.
    fn put_page(&self, image: &GrayImage) -> Option<SpooledImage> {
        let png_path = self.put("png", &png(image)).ok()?;
        let thumbnail = self.put("png", &png(&thumbnail(image))).ok()?;
        Some(SpooledImage {
            png: png_path,
            thumbnail,
        })
    }
}

/// The issue register as a worker sees it: forms looked up in the index (opened
/// read-only) as codes name them, each once.
pub struct Register {
    index: Mutex<Archive>,
    forms: Mutex<HashMap<String, Option<Arc<RegisteredForm>>>>,
}

impl Register {
    pub fn open(archive: &Path) -> Result<Self, ArchiveError> {
        Ok(Self {
            index: Mutex::new(Archive::open_read_only(archive)?),
            forms: Mutex::new(HashMap::new()),
        })
    }

    pub fn get(&self, form_id: &str) -> Result<Option<Arc<RegisteredForm>>, String> {
        if let Some(known) = self
            .forms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(form_id)
        {
            return Ok(known.clone());
        }
        let found = self
            .index
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .issued(form_id)
            .map_err(|e| e.to_string())?
            .map(Arc::new);
        self.forms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(form_id.to_owned(), found.clone());
        Ok(found)
    }

    /// What a digital return of `form` is checked against beyond the register:
    /// its school year's current policy version, and its school's trust roots.
    fn context(&self, form: &RegisteredForm, schools: &Path) -> Result<DigitalContext, String> {
        let (current, archive) = {
            let index = self.index.lock().unwrap_or_else(|e| e.into_inner());
            let current = index
                .current_fingerprint_for(form)
                .map_err(|e| e.to_string())?;
            (current, index.root().to_owned())
        };
        let mut problems = Vec::new();
        let file = schools.join(format!("{}.yaml", form.school));
        let roots = match crate::config::load(&file) {
            Ok(school) => school.trust_roots().unwrap_or_else(|errors| {
                problems.extend(errors.iter().map(ToString::to_string));
                Vec::new()
            }),
            // No YAML here (ingest run elsewhere): no roots, signatures are still
            // checked for integrity.
            Err(_) if !file.exists() => Vec::new(),
            Err(e) => {
                problems.push(format!(
                    "{e}\n  (trust roots of {} not read: its certificate signatures show as untrusted)",
                    form.school
                ));
                Vec::new()
            }
        };
        // The school's own seal is always one of its trust roots.
        let mut roots = roots;
        let mut seal_sha256 = None;
        match crate::online::seal::certificate(&archive, &form.school) {
            Ok(Some(seal)) => {
                seal_sha256 = der::Encode::to_der(&seal)
                    .ok()
                    .map(|der| crate::form::id::hex(&<sha2::Sha256 as sha2::Digest>::digest(der)));
                roots.push(seal);
            }
            Ok(None) => {}
            Err(e) => problems.push(e.to_string()),
        }
        Ok(DigitalContext {
            current,
            roots,
            seal_sha256,
            problems,
        })
    }
}

/// What one digital return is checked against beyond the register.
struct DigitalContext {
    /// The policy version currently issued for the form's school and year.
    current: Option<String>,
    roots: Vec<x509_cert::Certificate>,
    /// SHA-256 of the school's seal certificate, when it has one.
    seal_sha256: Option<String>,
    /// Why the school's trust roots could not be read, for the office.
    problems: Vec<String>,
}

impl DigitalContext {
    fn expected<'a>(&'a self, form: &'a RegisteredForm) -> crate::digital::Expected<'a> {
        crate::digital::Expected {
            form,
            current_fingerprint: self.current.as_deref(),
            roots: &self.roots,
            seal_sha256: self.seal_sha256.as_deref(),
        }
    }
}

/// Everything a worker needs besides the request: the register, the school
/// folder, the spool, and the warnings it gathers on the way.
pub struct Reader<'a> {
    pub register: &'a Register,
    pub schools: &'a Path,
    pub spool: &'a Spool,
    pub warnings: Mutex<Vec<String>>,
}

impl Reader<'_> {
    fn warn(&self, problems: Vec<String>) {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(problems);
    }

    /// Inspects one of our PDFs returned digitally.
    fn inspect_digital(
        &self,
        bytes: &[u8],
        source: &PageSource,
        form_id: &str,
    ) -> Result<crate::digital::Inspection, Unreadable> {
        let unreadable = |message: String| Unreadable::new(Reason::Unreadable, message);
        let Some(form) = self.register.get(form_id).map_err(unreadable)? else {
            return Err(Unreadable::new(
                Reason::UnknownForm,
                format!(
                    "the PDF says it is form {form_id}, which is not in this archive's issue register"
                ),
            ));
        };
        let context = self
            .register
            .context(&form, self.schools)
            .map_err(unreadable)?;
        self.warn(context.problems.clone());
        let doc = lopdf::Document::load_mem(bytes)
            .map_err(|e| unreadable(format!("the PDF is damaged: {e}")))?;
        Ok(crate::digital::inspect(
            bytes,
            &doc,
            &context.expected(&form),
            &|page| {
                source
                    .page(page, crate::digital::INK_DPI)
                    .map_err(|e| e.message)
            },
            &|pdf, pages| {
                let view =
                    PageSource::open(Arc::new(FileBytes::Owned(pdf.to_vec())), FileKind::Pdf)
                        .map_err(|e| e.message)?;
                pages
                    .iter()
                    .map(|&page| {
                        view.page(page, crate::digital::INK_DPI)
                            .map_err(|e| e.message)
                    })
                    .collect()
            },
        ))
    }

    /// `aup ingest`: every page of a received file, in parallel; or, for one of our
    /// PDFs returned digitally, the file as a whole.
    pub fn scan(&self, file: &Path, kind: FileKind) -> FileReading {
        let bytes = match FileBytes::map(file) {
            Ok(bytes) => Arc::new(bytes),
            Err(e) => {
                return FileReading {
                    unreadable: Some(Unreadable::new(
                        Reason::Unreadable,
                        format!("cannot read the archive's copy: {e}"),
                    )),
                    ..FileReading::default()
                };
            }
        };
        let source = match PageSource::open(bytes.clone(), kind) {
            Ok(source) => source,
            Err(unreadable) => {
                return FileReading {
                    unreadable: Some(unreadable),
                    ..FileReading::default()
                };
            }
        };
        if let PageSource::Pdf(pdf) = &source
            && let Some(form_id) = &pdf.form_id
        {
            let reading = match self.inspect_digital((*bytes).as_ref(), &source, form_id) {
                Ok(inspection) => FileReading {
                    name_box_crop: self.digital_name_box_crop(&inspection, &source),
                    digital: Some(Box::new(inspection)),
                    ..FileReading::default()
                },
                Err(unreadable) => FileReading {
                    unreadable: Some(unreadable),
                    ..FileReading::default()
                },
            };
            pdf.release();
            return reading;
        }
        FileReading {
            pages: self.pages(source),
            ..FileReading::default()
        }
    }

    /// Every page of a scan, read in parallel: identified, blank or for the
    /// quarantine.
    fn pages(&self, source: PageSource) -> Vec<PageReading> {
        let count = source.count();
        match source {
            PageSource::Raster(images) => images
                .into_par_iter()
                .map(|image| self.analyse(Ok(image), None))
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
                                    self.analyse(first, Some((reader, index)))
                                }
                                None => PageReading::Quarantine {
                                    reason: Reason::Unreadable,
                                    message: "the PDF could not be opened again".into(),
                                    image: None,
                                },
                            };
                            // Every few pages, let go of the file's pages already
                            // read: memory stays flat through a 500-page batch.
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
        }
    }

    /// `aup verify`: one of our PDFs, inspected as ingest would.
    pub fn verify(&self, file: &Path) -> Result<crate::digital::Inspection, String> {
        let bytes = Arc::new(FileBytes::map(file).map_err(|e| format!("cannot read it: {e}"))?);
        let source = PageSource::open(bytes.clone(), FileKind::Pdf)
            .map_err(|e| format!("{} ({})", e.message, e.reason))?;
        let PageSource::Pdf(pdf) = &source else {
            return Err("it is not a PDF".into());
        };
        let Some(form_id) = pdf.form_id.clone() else {
            return self.verify_as_scan(source);
        };
        self.inspect_digital((*bytes).as_ref(), &source, &form_id)
            .map_err(|e| e.message)
    }

    /// A PDF without our metadata (Ghostscript, "print to PDF"): its pages are
    /// identified by their QR codes and judged as ingest judges a scan.
    fn verify_as_scan(&self, source: PageSource) -> Result<crate::digital::Inspection, String> {
        let pages = self.pages(source);
        let mut forms: BTreeMap<&str, BTreeMap<u32, &IdentifiedPage>> = BTreeMap::new();
        for page in &pages {
            if let PageReading::Identified(found) = page {
                forms
                    .entry(found.form_id.as_str())
                    .or_default()
                    .entry(found.page)
                    .or_insert(found);
            }
        }
        let (form_id, pages) = match forms.len() {
            0 => {
                return Err(
                    "it is not one of our forms: it has no aup form id in its metadata, \
                     and no page carries one of our QR codes"
                        .into(),
                );
            }
            1 => forms.pop_first().expect("one form"),
            _ => {
                return Err(format!(
                    "it holds pages of {} forms ({}): verify one return at a time, or file \
                     them all with `aup ingest`",
                    forms.len(),
                    forms.keys().copied().collect::<Vec<_>>().join(", ")
                ));
            }
        };
        let form = self
            .register
            .get(form_id)?
            .ok_or_else(|| format!("form {form_id} is not in this archive's issue register"))?;
        let context = self.register.context(&form, self.schools)?;
        Ok(super::paper::inspection(
            &form,
            &pages,
            context.current.as_deref(),
        ))
    }

    /// `aup assign`: the file's pages as the given pages of a form, taken upright.
    pub fn assign(
        &self,
        file: &Path,
        kind: FileKind,
        form_id: &str,
        numbers: &AssignPages,
        dpi: f32,
    ) -> Result<Option<Vec<PageReading>>, String> {
        let form = self
            .register
            .get(form_id)?
            .ok_or_else(|| format!("form {form_id} is not in the issue register"))?;
        let bytes = FileBytes::map(file).map_err(|e| e.to_string())?;
        let source = PageSource::open(Arc::new(bytes), kind)
            .map_err(|e| format!("{} ({})", e.message, e.reason))?;
        let count = source.count();
        let numbers: Vec<u32> = match numbers {
            AssignPages::From(first) => {
                let last = u32::try_from(count)
                    .ok()
                    .and_then(|n| first.checked_add(n.saturating_sub(1)));
                match last {
                    Some(last) if count > 0 && *first > 0 && i64::from(last) <= form.pages => {
                        (*first..=last).collect()
                    }
                    _ => {
                        return Err(format!(
                            "it has {count} pages; from page {first} they would go past the form's {} pages",
                            form.pages
                        ));
                    }
                }
            }
            AssignPages::Exactly(numbers) if numbers.len() == count => numbers.clone(),
            AssignPages::Exactly(_) => return Ok(None),
        };
        let mut pages = Vec::with_capacity(count);
        for (i, &number) in numbers.iter().enumerate() {
            let image = source.page(i, dpi).map_err(|e| e.message)?;
            pages.push(self.by_hand(&form, number, &image)?);
        }
        Ok(Some(pages))
    }

    /// A page given by hand: the code can't be read, so the page is taken as
    /// upright and unskewed, its width the form's page width.
    fn by_hand(
        &self,
        form: &RegisteredForm,
        number: u32,
        image: &GrayImage,
    ) -> Result<PageReading, String> {
        let (width, height) = number
            .checked_sub(1)
            .and_then(|i| form.page_sizes.get(i as usize))
            .copied()
            .ok_or_else(|| format!("form {} has no page {number}", form.form_id))?;
        let map = PageToImage::scaled(image.width() as f64 / width);
        let ink = box_ink(form, number, image, &map, height);
        let filed = self.reencoded(image, &map, width, height)?;
        // The name box is not compared: without a code to fix the map the box
        // may be millimetres off, and the office placing the page sees it.
        Ok(PageReading::Identified(Box::new(IdentifiedPage {
            form_id: form.form_id.clone(),
            page: number,
            filed,
            ink,
            name_box: None,
            name_box_crop: None,
            name_box_text: None,
        })))
    }

    /// Identifies one page: its code in a corner (at first resolution, then again
    /// at a higher one for PDFs), else a whole-page search; then the ink in its
    /// boxes.
    fn analyse(
        &self,
        first: Result<GrayImage, Unreadable>,
        rerender: Option<(&PageSource, usize)>,
    ) -> PageReading {
        let image = match first {
            Ok(image) => image,
            Err(e) => {
                return PageReading::Quarantine {
                    reason: e.reason,
                    message: e.message,
                    image: None,
                };
            }
        };
        let quarantine =
            |reason: Reason, message: String, image: &GrayImage| PageReading::Quarantine {
                reason,
                message,
                image: self.spool.put_page(image),
            };
        // A blank duplex back is decided before any search: otherwise it fails
        // every corner, is rendered again at 300 dpi and searched whole, the
        // slowest page of a pile. Every page of a form prints text, well over
        // this much ink.
        if ink::page_ink(&image) < BLANK_PAGE_INK {
            return PageReading::Blank;
        }
        // The page is searched at first resolution, then (PDFs) re-rendered sharper,
        // or (rasters) searched whole; the image that held the code is kept.
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
                return quarantine(
                    Reason::NoQr,
                    "no readable QR code on this page".into(),
                    &image,
                );
            }
        };
        let payload = match code.payload() {
            Ok(payload) => payload,
            Err(e) => {
                let reason = match e {
                    crate::form::PayloadError::Foreign => Reason::NoQr,
                    crate::form::PayloadError::BadCheck => Reason::BadCheck,
                };
                return quarantine(reason, e.to_string(), &image);
            }
        };
        let form_id = payload.form.to_string();
        let form = match self.register.get(&form_id) {
            Ok(Some(form)) => form,
            Ok(None) => {
                return quarantine(
                    Reason::UnknownForm,
                    format!("form {form_id} is not in this archive's issue register"),
                    &image,
                );
            }
            Err(e) => {
                return quarantine(
                    Reason::Unreadable,
                    format!("the issue register could not be read: {e}"),
                    &image,
                );
            }
        };
        if !form
            .fingerprint
            .to_ascii_uppercase()
            .starts_with(&payload.fingerprint)
        {
            return quarantine(
                Reason::BadCheck,
                format!(
                    "the code says policy version {} but form {form_id} was issued with another",
                    payload.fingerprint
                ),
                &image,
            );
        }
        let size = (payload.page as usize)
            .checked_sub(1)
            .and_then(|i| form.page_sizes.get(i));
        let Some(&(width, height)) = size else {
            return quarantine(
                Reason::BadCheck,
                format!("form {form_id} has no page {}", payload.page),
                &image,
            );
        };
        let map = locate::page_map(&image, &code, &payload, width, height);
        let ink = box_ink(&form, payload.page, &image, &map, height);
        let name_box = issued_name_box(&form, payload.page, &image, &map, height);
        let not_as_issued = name_box.is_some_and(|b| !b.shows_issued_name());
        let rect = form.name_box().map(|(spec, _)| &spec.rect);
        let name_box_crop = not_as_issued
            .then(|| self.name_box_crop(rect?, &image, &map, height))
            .flatten();
        let name_box_text = not_as_issued
            .then(|| {
                let (source, index) = rerender?;
                let rect = rect?;
                // The box's corners in the page image: the area of the PDF's page.
                let corners =
                    [(rect.x0, rect.y1), (rect.x1, rect.y0)].map(|(x, y)| map.map(x, height - y));
                let area = [
                    corners[0].x.min(corners[1].x),
                    corners[0].y.min(corners[1].y),
                    corners[0].x.max(corners[1].x),
                    corners[0].y.max(corners[1].y),
                ];
                source.text_in(index, area, image.width())
            })
            .flatten();
        // A scanner's image can be filed under a matrix only when the map is
        // affine; a photo seen in perspective is flattened into a new image.
        let source = rerender
            .filter(|_| !map.is_projective())
            .and_then(|(source, index)| source.source_image(index));
        let filed = match source.and_then(|s| self.as_it_came(s, &map, &image, width, height)) {
            // The scanner's own image, filed as it came under a matrix that turns
            // and straightens it: no decode, no re-encode, full original quality.
            Some(filed) => Ok(filed),
            None => self.reencoded(&image, &map, width, height),
        };
        match filed {
            Ok(filed) => PageReading::Identified(Box::new(IdentifiedPage {
                form_id,
                page: payload.page,
                filed,
                ink,
                name_box,
                name_box_crop,
                name_box_text,
            })),
            Err(e) => PageReading::Quarantine {
                reason: Reason::Unreadable,
                message: format!("cannot keep the page: {e}"),
                image: None,
            },
        }
    }

    /// The name box cropped from a page for the office to check by eye, as a
    /// PNG in the spool.
    fn name_box_crop(
        &self,
        rect: &crate::form::Rect,
        image: &GrayImage,
        map: &PageToImage,
        height: f64,
    ) -> Option<PathBuf> {
        let crop = crate::scan::name_box::crop(image, map, rect, height);
        self.spool.put("png", &png(&crop)).ok()
    }

    /// The name box of a digital return whose name check found it showing
    /// something else than the issued name, drawn and cropped.
    fn digital_name_box_crop(
        &self,
        inspection: &crate::digital::Inspection,
        source: &PageSource,
    ) -> Option<PathBuf> {
        let not_as_issued = crate::scan::name_box::NOT_AS_ISSUED;
        if !inspection.reason.as_deref()?.contains(not_as_issued) {
            return None;
        }
        let form = self.register.get(&inspection.form_id).ok()??;
        let (spec, height) = form.name_box()?;
        let px_per_pt = crate::scan::name_box::CROP_PX_PER_PT;
        let image = source.page(spec.page - 1, (px_per_pt * 72.0) as f32).ok()?;
        self.name_box_crop(&spec.rect, &image, &PageToImage::scaled(px_per_pt), height)
    }

    /// A scanner's image filed as it came; `None` when its dictionary is not
    /// plain data or its bytes cannot be spooled (it is re-encoded instead).
    fn as_it_came(
        &self,
        source: pages::SourceImage,
        map: &PageToImage,
        image: &GrayImage,
        form_width: f64,
        form_height: f64,
    ) -> Option<FiledImage> {
        let data = match &source.data {
            pages::ImageData::InFile { offset, len, .. } => FiledData::InReceivedFile {
                offset: *offset as u64,
                len: *len as u64,
            },
            pages::ImageData::Owned(bytes) => {
                FiledData::Spooled(self.spool.put("bin", bytes).ok()?)
            }
        };
        Some(FiledImage {
            matrix: source_matrix(&source, map, image.height() as f64, form_width, form_height),
            dict: protocol::dict_from_lopdf(&source.dict)?,
            data,
        })
    }

    /// The page turned upright and straightened at the archive's resolution, as grey JPEG.
    fn reencoded(
        &self,
        image: &GrayImage,
        map: &PageToImage,
        width: f64,
        height: f64,
    ) -> Result<FiledImage, String> {
        let upright = upright_page(image, map, width, height);
        let (w, h) = upright.dimensions();
        let jpeg = encode_jpeg(&upright)?;
        let data = FiledData::Spooled(self.spool.put("jpg", &jpeg).map_err(|e| e.to_string())?);
        let name = |n: &[u8]| protocol::PlainValue::Name(n.to_vec());
        Ok(FiledImage {
            dict: vec![
                (b"Width".to_vec(), protocol::PlainValue::Int(w as i64)),
                (b"Height".to_vec(), protocol::PlainValue::Int(h as i64)),
                (b"ColorSpace".to_vec(), name(b"DeviceGray")),
                (b"BitsPerComponent".to_vec(), protocol::PlainValue::Int(8)),
                (b"Filter".to_vec(), name(b"DCTDecode")),
            ],
            data,
            matrix: [width, 0.0, 0.0, height, 0.0, 0.0],
        })
    }
}

/// The ink in each of the form's boxes on page `number`, seen in `image` through `map`.
fn box_ink(
    form: &RegisteredForm,
    number: u32,
    image: &GrayImage,
    map: &PageToImage,
    height: f64,
) -> BTreeMap<String, f64> {
    form.boxes
        .iter()
        .filter(|b| b.page == number as usize)
        .map(|b| {
            let measure = match b.kind.as_str() {
                "check" => ink::measure_tick_box,
                _ => ink::measure,
            };
            (
                b.name.clone(),
                measure(image, map, &b.rect, height).fraction,
            )
        })
        .collect()
}

/// The name box on page `number` beside the name the form was issued with,
/// when the form names a person and the page holds the box. `None` also when
/// the comparison cannot be made (the name cannot be drawn): the box is then
/// judged by its ink alone, as before.
fn issued_name_box(
    form: &RegisteredForm,
    number: u32,
    image: &GrayImage,
    map: &PageToImage,
    height: f64,
) -> Option<crate::scan::name_box::NameBox> {
    let name = form.name.as_deref()?;
    let (spec, _) = form.name_box().filter(|(b, _)| b.page == number as usize)?;
    crate::scan::name_box::compare(image, map, &spec.rect, height, name, &render_alone).ok()
}

/// Page 1 of a PDF `aup` made itself (the issued name drawn alone), rendered
/// as received PDFs are.
pub(crate) fn render_alone(pdf: &[u8], dpi: f32) -> Result<GrayImage, String> {
    PageSource::open(Arc::new(FileBytes::Owned(pdf.to_vec())), FileKind::Pdf)
        .and_then(|source| source.page(0, dpi))
        .map_err(|e| e.message)
}
