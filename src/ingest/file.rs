//! Filing a paper return: its pages, turned upright, become one PDF of images
//! (what the office opens), named by its content under `returns/`, and an
//! accepted one is also `<form-id>.pdf`. Every write is durable before the index
//! commits.

use std::collections::BTreeMap;
use std::path::Path;

use super::protocol::{self, FiledData, IdentifiedPage};
use super::{FileResult, IngestError, IngestPlan, relative};
use crate::archive::RegisteredForm;
use crate::durable;
use crate::verdict::Verdict;

/// Files a form's pages, upright, as one PDF: every return under `returns/`, and
/// an accepted one also as `<form-id>.pdf`, superseding the previous accepted copy
/// (which stays under `returns/`).
pub(super) fn file_form(
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
        images.push(image_page(received, page, form)?);
    }
    let dir = plan.archive.join(&form.school).join(&form.year);
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| IngestError::Write { path, source }
    };
    // Named by its content: two returns never share a history file.
    let returns = dir.join("returns");
    let (history, digest) = durable::store_named_by_content(
        &returns,
        |digest| format!("{}-{}.pdf", form.form_id, &digest[..8]),
        |out| write_image_pages_pdf(images, out),
    )
    .map_err(failed(&returns))?;
    if verdict == Verdict::Accepted {
        // The current copy is a second name for the history file: no second write.
        let current = dir.join(format!("{}.pdf", form.form_id));
        durable::link_durably(&history, &current).map_err(failed(&current))?;
        return Ok((relative(&plan.archive, &current), digest));
    }
    Ok((relative(&plan.archive, &history), digest))
}

/// An identified page as the image page it is filed as, upright on the form's
/// page size; `received` is the archive's copy of the file it came in.
pub(super) fn image_page(
    received: &Path,
    page: &IdentifiedPage,
    form: &RegisteredForm,
) -> Result<ImagePage, IngestError> {
    // A page that cannot be read back is an error, never an empty page filed.
    let data = read_filed_data(&page.filed.data, received).map_err(|source| IngestError::Read {
        path: received.to_owned(),
        source,
    })?;
    let dict = protocol::dict_to_lopdf(&page.filed.dict, 1).ok_or_else(|| IngestError::Read {
        path: received.to_owned(),
        source: std::io::Error::other("the reader sent an image dictionary nested too deep"),
    })?;
    Ok(ImagePage {
        dict,
        data,
        matrix: page.filed.matrix,
        size: (page.page as usize)
            .checked_sub(1)
            .and_then(|i| form.page_sizes.get(i))
            .copied()
            .unwrap_or((595.28, 841.89)),
    })
}

/// A page that is one image drawn by a matrix.
pub struct ImagePage {
    /// The image dictionary without Type and Subtype.
    pub dict: lopdf::Dictionary,
    pub data: Vec<u8>,
    pub matrix: [f64; 6],
    pub size: (f64, f64),
}

/// A PDF whose pages are each one image: how forms are filed.
pub fn image_pages_pdf(pages: impl IntoIterator<Item = ImagePage>) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = write_image_pages_pdf(pages, &mut out);
    out
}

/// [`image_pages_pdf`], written to `out` as it is made.
fn write_image_pages_pdf(
    pages: impl IntoIterator<Item = ImagePage>,
    mut out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
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
    crate::pdf::write_pages(doc, pages, &mut out)
}

/// Writes a file the archive must keep, durably.
pub(super) fn store(path: &Path, bytes: &[u8]) -> Result<(), IngestError> {
    durable::store_durably(path, bytes).map_err(|source| IngestError::Write {
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
            use std::io::{Read, Seek};
            let mut file = std::fs::File::open(received)?;
            // The offset and length come from a worker: checked against the file.
            let size = file.metadata()?.len();
            if offset.checked_add(*len).is_none_or(|end| end > size) {
                return Err(std::io::Error::other(
                    "the reader named bytes past the end of the file",
                ));
            }
            // Read into spare capacity: a page's megabytes are not zeroed first.
            let mut bytes = Vec::with_capacity(*len as usize);
            file.seek(std::io::SeekFrom::Start(*offset))?;
            file.take(*len).read_to_end(&mut bytes)?;
            if bytes.len() as u64 != *len {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
            }
            Ok(bytes)
        }
    }
}
