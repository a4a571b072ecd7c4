//! Digital returns: a form filled in a PDF reader and emailed back. The file is
//! recognised as ours by its metadata (not its name), its policy pages are checked
//! against the register, its fields are read, and its signature is either a
//! certificate signature (verified cryptographically) or ink in the signature box
//! (a drawn, stamped or flattened signature, measured on a render of the page with
//! its annotations, exactly as for scans).
//!
//! Everything here reads; nothing writes. `aup ingest` files what this finds and
//! `aup verify` prints it.

mod ber;
pub mod changes;
mod drawn;
pub mod person;
pub mod signature;

use std::collections::{HashMap, HashSet};

use image::GrayImage;
use lopdf::{Dictionary, Document, Object};
use serde::{Deserialize, Serialize};

use crate::verdict::Verdict;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::archive::RegisteredForm;
use crate::form::id::hex;
use crate::scan::ink;
use crate::scan::page_map::PageToImage;
use changes::Modifications;
use signature::CmsReport;

/// Page content that inflates beyond this is hostile (a policy page is ~20 KB).
const MAX_CONTENT_BYTES: usize = 16 << 20;
/// Form fields followed before giving up on a hostile field tree.
const MAX_FIELDS: usize = 2_000;
/// Pages are rendered at this resolution to measure ink in the boxes.
pub const INK_DPI: f32 = 100.0;

/// The form id a PDF carries in its Info dictionary or, if a reader dropped
/// that, in its XMP metadata.
pub fn form_id(doc: &Document) -> Option<String> {
    let from_info = doc
        .trailer
        .get(b"Info")
        .ok()
        .and_then(|info| match info {
            Object::Reference(id) => doc.get_dictionary(*id).ok(),
            Object::Dictionary(d) => Some(d),
            _ => None,
        })
        .and_then(|info| info.get(b"AupFormId").ok())
        .and_then(|v| v.as_str().ok())
        .map(|v| String::from_utf8_lossy(v).trim().to_owned());
    from_info.or_else(|| xmp_form_id(doc)).filter(|id| {
        !id.is_empty()
            && id.len() < 40
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// `formId` in our XMP namespace, as an element or an attribute, under whatever
/// prefix the last writer chose (pyHanko rewrites the packet with `ns0:` and
/// attributes): parsed as XML, by namespace, with roxmltree (already in Typst's
/// tree).
fn xmp_form_id(doc: &Document) -> Option<String> {
    let catalog = doc.catalog().ok()?;
    let id = catalog.get(b"Metadata").ok()?.as_reference().ok()?;
    let stream = doc.get_object(id).ok()?.as_stream().ok()?;
    let xml = stream
        .decompressed_content_with_limit(1 << 20)
        .unwrap_or_else(|_| stream.content.clone());
    let text = String::from_utf8_lossy(&xml);
    // The packet's processing instructions and BOM are fine for roxmltree; DTDs
    // are refused, which is what hostile metadata would use.
    let tree = roxmltree::Document::parse(text.trim_start_matches('\u{feff}')).ok()?;
    let ns = crate::form::stamp::XMP_NAMESPACE;
    tree.descendants().find_map(|node| {
        if node.tag_name().namespace() == Some(ns) && node.tag_name().name() == "formId" {
            return node.text().map(|t| t.trim().to_owned());
        }
        node.attributes()
            .find(|a| a.namespace() == Some(ns) && a.name() == "formId")
            .map(|a| a.value().trim().to_owned())
    })
}

/// One check and its result, in words an office can act on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Check {
    pub check: String,
    pub passed: bool,
    pub detail: String,
}

/// A certificate signature and everything known about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificateSignature {
    pub field: String,
    pub sub_filter: String,
    #[serde(flatten)]
    pub cms: CmsReport,
    /// The byte range is the whole signed revision but the signature's own hole.
    pub covers_revision: bool,
    pub modifications: Modifications,
    pub problems: Vec<String>,
    /// Its widget lies over the form's signature box: it signs there, whatever
    /// its field is called (`pdfsig -add-signature` makes a new field).
    pub over_signature_box: bool,
}

impl CertificateSignature {
    /// Intact, valid, covering its revision, and nothing but form filling or
    /// annotations added since.
    pub fn sound(&self) -> bool {
        self.cms.intact && self.cms.valid && self.covers_revision && self.modifications.allowed()
    }

    /// pyHanko's word for integrity: INTACT (digest and signature hold) or not.
    pub fn intact_and_valid(&self) -> bool {
        self.cms.intact && self.cms.valid && self.covers_revision
    }
}

/// What a digital return is, before the archive decides anything.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inspection {
    pub form_id: String,
    pub school: String,
    pub year: String,
    pub person: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub date: Option<String>,
    pub signatures: Vec<CertificateSignature>,
    /// Ink in the signature box (drawn, stamped, typed or flattened).
    pub signature_ink: bool,
    pub checks: Vec<Check>,
    pub verdict: Verdict,
    pub missing: Vec<String>,
    pub reason: Option<String>,
    /// `certificate` when a sound certificate signature signs the form, else `pdf`.
    pub method: String,
}

impl Inspection {
    /// How it was signed, for the evidence page and the status report.
    pub fn how_signed(&self) -> String {
        match self
            .signatures
            .iter()
            .find(|s| s.field == SIGNATURE_FIELD && s.sound())
        {
            Some(sig) => format!(
                "PDF signed with a certificate by {} ({})",
                sig.cms.signer.as_deref().unwrap_or("an unnamed signer"),
                sig.cms.trust.describe()
            ),
            None => "PDF filled in a reader, signature drawn or typed in the box".into(),
        }
    }
}

/// The register's and the school's view of the form a file claims to be.
pub struct Expected<'a> {
    pub form: &'a RegisteredForm,
    /// The policy version currently issued for the form's school and year.
    pub current_fingerprint: Option<&'a str>,
    pub roots: &'a [Certificate],
}

const SIGNATURE_FIELD: &str = "signer_signature";

/// What `verify` and the evidence page say of a signature over a SHA-1 digest.
pub const WEAK_DIGEST: &str = "weak: the signer's software used SHA-1, whose collisions can be \
    made (pyHanko refuses it by default); accepted, but a signature with SHA-256 is stronger";

/// Draws the listed pages (0-based) of a PDF given as bytes, with annotations.
pub type RenderPdf<'a> = dyn Fn(&[u8], &[usize]) -> Result<Vec<GrayImage>, String> + 'a;

/// Runs every check on one of our PDFs. `render` draws a page (0-based) of the
/// return with its annotations at [`INK_DPI`]; `render_pdf` draws pages of
/// another PDF (the form as issued) the same way.
pub fn inspect(
    bytes: &[u8],
    doc: &Document,
    expected: &Expected,
    render: &dyn Fn(usize) -> Result<GrayImage, String>,
    render_pdf: &RenderPdf,
) -> Inspection {
    let form = expected.form;
    let mut checks = Vec::new();
    let mut rejected: Vec<String> = Vec::new();
    // Both the drawing check and the ink check look at the box pages: draw once.
    let drawn_pages = std::cell::RefCell::new(HashMap::new());
    let render = &|page: usize| {
        drawn_pages
            .borrow_mut()
            .entry(page)
            .or_insert_with(|| render(page))
            .clone()
    };

    // The policy as issued.
    let integrity = policy_integrity(bytes, doc, form);
    if let Err(problem) = &integrity {
        rejected.push(problem.clone());
    }
    checks.push(Check {
        check: "policy text as issued".into(),
        passed: integrity.is_ok(),
        detail: match &integrity {
            Ok(how) => how.clone(),
            Err(problem) => problem.clone(),
        },
    });
    // Nothing drawn or covered outside the boxes, whatever way it was saved.
    if integrity.is_ok() {
        let outside = drawn_outside_boxes(doc, form, render, render_pdf);
        checks.push(Check {
            check: "nothing drawn outside the boxes".into(),
            passed: outside.is_empty(),
            detail: match outside.is_empty() {
                true => "every page shows what was issued, outside the boxes".into(),
                false => outside.join("; "),
            },
        });
        rejected.extend(outside);
    }
    let current = expected.current_fingerprint == Some(form.fingerprint.as_str());
    let version = &form.fingerprint[..12.min(form.fingerprint.len())];
    checks.push(Check {
        check: "policy version is the current one".into(),
        passed: current,
        detail: match current {
            true => format!("version {version} is current"),
            false => format!(
                "version {version} was replaced by a newer policy for {} {}",
                form.school, form.year
            ),
        },
    });

    // Fields.
    let fields = terminal_fields(doc);
    // Several fields can share a name: the first with a value speaks for it.
    let text = |name: &str| {
        fields
            .iter()
            .filter(|(n, _)| n == name)
            .filter_map(|(_, f)| f.value.as_ref().and_then(text_value))
            .map(|v| v.trim().to_owned())
            .find(|v| !v.is_empty())
    };
    let (name, role, date) = (
        text("signer_name"),
        text("signer_role"),
        text("signer_date"),
    );

    // Certificate signatures, every one in the file.
    // In field-name order, so reports of files with several signatures are stable.
    let mut signed_fields: Vec<&(String, Field)> = fields.iter().collect();
    signed_fields.sort_by(|a, b| a.0.cmp(&b.0));
    let page_numbers: HashMap<lopdf::ObjectId, usize> = doc
        .get_pages()
        .into_iter()
        .map(|(number, id)| (id, number as usize))
        .collect();
    let signature_box = form.boxes.iter().find(|b| b.name == SIGNATURE_FIELD);
    let signatures: Vec<CertificateSignature> = signed_fields
        .into_iter()
        .filter_map(|(field, f)| {
            let value = f.value.as_ref()?;
            let dict = deref_dict(doc, value)?;
            dict.get(b"ByteRange").ok()?;
            let mut signature = certificate_signature(bytes, doc, field, dict, expected.roots);
            signature.over_signature_box = match (&f.widget, signature_box) {
                (Some((page, rect)), Some(b)) => {
                    page_numbers.get(page) == Some(&b.page) && covers(rect, &b.rect)
                }
                _ => false,
            };
            Some(signature)
        })
        .collect();
    for sig in &signatures {
        let mut detail = vec![
            match sig.cms.intact && sig.covers_revision {
                true => "intact: the signed bytes are unchanged".to_owned(),
                false => "not intact".to_owned(),
            },
            match sig.cms.valid {
                true => "valid: the signature verifies with the signer's key".to_owned(),
                false => "not valid".to_owned(),
            },
            sig.cms.trust.describe(),
            sig.modifications.describe(),
        ];
        if sig.cms.digest_algorithm.as_deref() == Some("SHA-1") {
            // Accepted: MuPDF 1.21 (`mutool sign`) still signs this way, and a
            // forged SHA-1 collision costs far more than forging a form on paper.
            // Shown, so the office can ask for a new signature if it wants one.
            detail.push(WEAK_DIGEST.to_owned());
        }
        detail.extend(sig.cms.problems.iter().cloned());
        detail.extend(sig.problems.iter().cloned());
        if let Some(who) = &sig.cms.signer {
            detail.insert(0, format!("signed by {who}"));
        }
        if let Some(at) = &sig.cms.signing_time {
            detail.insert(1.min(detail.len()), format!("at {at}"));
        }
        checks.push(Check {
            check: format!("certificate signature in {}", sig.field),
            passed: sig.sound(),
            detail: detail.join("; "),
        });
        if !sig.sound() {
            let why: Vec<String> = sig
                .cms
                .problems
                .iter()
                .chain(&sig.problems)
                .cloned()
                .chain(match &sig.modifications {
                    Modifications::Other(changes) => changes.clone(),
                    _ => Vec::new(),
                })
                .collect();
            rejected.push(format!(
                "the certificate signature in {} does not hold: {}",
                sig.field,
                match why.is_empty() {
                    true => "it is not intact".to_owned(),
                    false => why.join("; "),
                }
            ));
        }
    }
    // A sound signature counts for the person only if its certificate names
    // them; on a blank form (no name issued) any signer is the person.
    let names_the_person = |sig: &CertificateSignature| match (&form.name, &sig.cms.signer) {
        (None, _) => true,
        (Some(issued), Some(signer)) => person::same_person(issued, signer),
        (Some(_), None) => false,
    };
    let sound: Vec<&CertificateSignature> = signatures
        .iter()
        .filter(|s| (s.field == SIGNATURE_FIELD || s.over_signature_box) && s.sound())
        .collect();
    let certified = sound.iter().any(|s| names_the_person(s));
    // Why the return cannot be accepted beyond what is missing, in the office's words.
    let mut notes: Vec<String> = Vec::new();
    let someone_else = sound.iter().find(|s| !names_the_person(s));
    if let (false, Some(sig), Some(issued)) = (certified, someone_else, &form.name) {
        let signer = sig
            .cms
            .signer
            .as_deref()
            .unwrap_or("an unnamed certificate");
        notes.push(format!(
            "signed with the certificate of {signer}, not of {issued}, to whom the form was issued"
        ));
    }

    // Ink in the boxes, as drawn with annotations.
    let ink = box_ink(form, render);
    let inked = |field: &str| ink.get(field).copied().unwrap_or(false);
    let signature_ink = inked(SIGNATURE_FIELD);
    let mut missing = Vec::new();
    // Someone else's certificate is not made good by ink beside it.
    let signed = certified || (signature_ink && someone_else.is_none());
    checks.push(Check {
        check: "signed".into(),
        passed: signed,
        detail: match (certified, someone_else, signature_ink) {
            (true, ..) => "a sound certificate signature of the person signs the form".into(),
            (false, Some(_), _) => notes.last().cloned().unwrap_or_default(),
            (false, None, true) => {
                "the signature box has a drawn, stamped or typed signature".into()
            }
            (false, None, false) => {
                "no certificate signature and no ink in the signature box".into()
            }
        },
    });
    if !signed {
        missing.push("signature".to_owned());
    }
    // The name: the one issued, still there (or written over in ink when a reader
    // flattened the field), or on a blank form whatever was written.
    let named: Result<String, String> = match (&form.name, &name) {
        (Some(issued), Some(typed)) if person::same_person(issued, typed) => {
            Ok(format!("name field: {typed}"))
        }
        (Some(issued), Some(typed)) => Err(format!(
            "the name typed, \"{typed}\", is not {issued}, to whom the form was issued"
        )),
        (Some(_), None) if inked("signer_name") => Ok("written in the name box".into()),
        (Some(issued), None) => Err(format!(
            "the name field, issued filled in with {issued}, was cleared"
        )),
        (None, Some(typed)) => Ok(format!("name field: {typed}")),
        (None, None) if inked("signer_name") => Ok("written in the name box".into()),
        (None, None) => Err("the name field is empty".into()),
    };
    checks.push(Check {
        check: "name".into(),
        passed: named.is_ok(),
        detail: match &named {
            Ok(detail) | Err(detail) => detail.clone(),
        },
    });
    if let Err(problem) = named {
        missing.push("name".to_owned());
        if form.name.is_some() {
            notes.push(problem);
        }
    }
    let has_date = date.is_some() || inked("signer_date");
    checks.push(Check {
        check: "date".into(),
        passed: has_date,
        detail: match &date {
            Some(v) => format!("date field: {v}"),
            None if has_date => "written in the date box".into(),
            None => "the date field is empty".into(),
        },
    });
    if !has_date {
        missing.push("date".to_owned());
    }

    let (verdict, reason) = if !rejected.is_empty() {
        (Verdict::Rejected, Some(rejected.join("; ")))
    } else if !current {
        (
            Verdict::Outdated,
            Some("signed an older version of the policy: the current one must be signed".into()),
        )
    } else if !missing.is_empty() {
        let mut reason = format!("missing: {}", missing.join(", "));
        for note in &notes {
            reason.push_str("; ");
            reason.push_str(note);
        }
        (Verdict::Incomplete, Some(reason))
    } else {
        (Verdict::Accepted, None)
    };
    Inspection {
        form_id: form.form_id.clone(),
        school: form.school.clone(),
        year: form.year.clone(),
        person: form.name.clone().or_else(|| name.clone()),
        name,
        role,
        date,
        signature_ink,
        method: if certified { "certificate" } else { "pdf" }.into(),
        signatures,
        checks,
        verdict,
        missing,
        reason,
    }
}

/// What the return draws or covers outside the boxes, page by page, against the
/// form as issued rebuilt from it (see [`drawn`]).
fn drawn_outside_boxes(
    doc: &Document,
    form: &RegisteredForm,
    render: &dyn Fn(usize) -> Result<GrayImage, String>,
    render_pdf: &RenderPdf,
) -> Vec<String> {
    // A page that draws only its issued content and has no annotations shows
    // what was issued: only the others are drawn and compared.
    let pages: Vec<usize> = doc
        .page_iter()
        .enumerate()
        .filter(|(_, page)| !drawn::shows_only_what_was_issued(doc, *page, form))
        .map(|(index, _)| index)
        .collect();
    if pages.is_empty() {
        return Vec::new();
    }
    let Some(view) = drawn::issued_view(doc, &form.page_hashes) else {
        return Vec::new();
    };
    let issued = match render_pdf(&view, &pages) {
        Ok(images) => images,
        Err(problem) => return vec![format!("the form as issued cannot be drawn: {problem}")],
    };
    let mut found = Vec::new();
    for (&index, issued) in pages.iter().zip(&issued) {
        let page = index + 1;
        let returned = match render(index) {
            Ok(image) => image,
            Err(problem) => {
                found.push(format!("page {page} cannot be drawn: {problem}"));
                continue;
            }
        };
        let boxes: Vec<&crate::form::FieldSpec> =
            form.boxes.iter().filter(|b| b.page == page).collect();
        let height = form.page_sizes.get(index).map(|s| s.1).unwrap_or(841.89);
        found.extend(drawn::outside_boxes(
            page, &returned, issued, &boxes, height, INK_DPI,
        ));
    }
    found
}

/// The policy as issued is still what the file shows. Either the issued file is
/// a byte prefix of the return (an incremental save) and what was saved after it
/// is only form filling and annotations; or the reader rewrote the file and each
/// page's issued content is still there as one run of its content streams, with
/// anything added only on the pages that hold boxes (a flattened signature or
/// typed values).
fn policy_integrity(bytes: &[u8], doc: &Document, form: &RegisteredForm) -> Result<String, String> {
    if let Some(issued) = &form.file_sha256 {
        for end in revision_ends(bytes) {
            if hex(&Sha256::digest(&bytes[..end])) != *issued {
                continue;
            }
            if end == bytes.len() {
                return Ok("the file is exactly the form as issued".into());
            }
            // Unreadable as a revision: judge the pages instead, below.
            if let Ok(as_issued) = Document::load_mem(&bytes[..end]) {
                return match changes::compare(&as_issued, doc) {
                    Modifications::Other(changes) => Err(format!(
                        "the form was changed after it was issued: {}",
                        changes.join("; ")
                    )),
                    saved => Ok(format!(
                        "the form as issued is kept byte for byte, then {}",
                        saved.describe()
                    )),
                };
            }
        }
    }
    let pages: Vec<lopdf::ObjectId> = doc.page_iter().take(1000).collect();
    if pages.len() != form.page_hashes.len() {
        return Err(format!(
            "the form was issued with {} pages; this file has {}",
            form.page_hashes.len(),
            pages.len()
        ));
    }
    let box_pages: HashSet<usize> = form.boxes.iter().map(|b| b.page).collect();
    let mut added = Vec::new();
    for (n, (&page, issued)) in pages.iter().zip(&form.page_hashes).enumerate() {
        let streams = decoded_streams(doc, page)
            .map_err(|e| format!("page {}'s content cannot be read: {e}", n + 1))?;
        let Some((start, end)) = issued_run(&streams, issued) else {
            return Err(format!(
                "page {}'s policy text is not what was issued: the page was edited",
                n + 1
            ));
        };
        let draws_more = streams[..start]
            .iter()
            .chain(&streams[end..])
            .any(|s| !is_state_only(s));
        if draws_more {
            match box_pages.contains(&(n + 1)) {
                true => added.push(n + 1),
                false => {
                    return Err(format!(
                        "something was drawn over page {}, which has no boxes to fill",
                        n + 1
                    ));
                }
            }
        }
    }
    Ok(match added.is_empty() {
        true => "every page's content as issued is present (the reader rewrote the file)".into(),
        false => format!(
            "every page's content as issued is present; page {} also draws what was filled in (flattened)",
            added
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// A stream that only saves or restores graphics state (qpdf wraps a page's
/// content in `q` … `Q` when it flattens).
fn is_state_only(stream: &[u8]) -> bool {
    stream
        .split(|b| b.is_ascii_whitespace())
        .all(|token| token.is_empty() || token == b"q" || token == b"Q")
}

/// Where a revision may end: just past each `%%EOF` marker, and past the end of
/// line after it when there is one. Our forms end at `%%EOF` with no end of line,
/// and the readers that save incrementally (MuPDF, pdf.js, pyHanko, Poppler)
/// begin their update with one; a writer that ends its own file with an end of
/// line keeps it in its revision. Both ends are candidates, oldest first.
fn revision_ends(bytes: &[u8]) -> Vec<usize> {
    let marker = b"%%EOF";
    let mut ends = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], marker) {
        let mut end = from + at + marker.len();
        ends.push(end);
        for eol in [b'\r', b'\n'] {
            if bytes.get(end) == Some(&eol) {
                end += 1;
            }
        }
        if end != *ends.last().unwrap_or(&0) {
            ends.push(end);
        }
        from = end;
        if ends.len() > 128 {
            break;
        }
    }
    ends
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A page's content streams, each decoded, within one budget for the page.
fn decoded_streams(doc: &Document, page: lopdf::ObjectId) -> Result<Vec<Vec<u8>>, String> {
    let mut budget = MAX_CONTENT_BYTES;
    let mut streams = Vec::new();
    for id in doc.get_page_contents(page) {
        let Ok(stream) = doc.get_object(id).and_then(Object::as_stream) else {
            continue;
        };
        let data = match stream.decompressed_content_with_limit(budget) {
            Ok(data) => data,
            Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded {
                ..
            })) => {
                return Err(format!(
                    "it inflates to more than {} MB",
                    MAX_CONTENT_BYTES >> 20
                ));
            }
            // lopdf's own rule (get_page_content): undecodable streams count raw.
            Err(_) => stream.content.clone(),
        };
        budget = budget.saturating_sub(data.len());
        streams.push(data);
    }
    Ok(streams)
}

/// The run of consecutive streams (start, end) that, each followed by a newline,
/// hashes to `issued`.
fn issued_run(streams: &[Vec<u8>], issued: &str) -> Option<(usize, usize)> {
    (0..streams.len()).find_map(|start| {
        let mut hasher = Sha256::new();
        (start..streams.len()).find_map(|end| {
            hasher.update(&streams[end]);
            hasher.update(b"\n");
            (hex(&hasher.clone().finalize()) == issued).then_some((start, end + 1))
        })
    })
}

/// A terminal form field: its type (inherited) and value.
struct Field {
    value: Option<Object>,
    /// The page (`/P`) and `/Rect` of its first widget.
    widget: Option<(lopdf::ObjectId, [f64; 4])>,
}

/// Fully qualified names of the form's terminal fields and their values, every
/// one even when several share a name, following `/Kids` with a visited set and
/// a bound (hostile trees loop).
fn terminal_fields(doc: &Document) -> Vec<(String, Field)> {
    let mut out = Vec::new();
    let Some(fields) = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"AcroForm").ok())
        .and_then(|a| deref_dict(doc, a))
        .and_then(|a| a.get(b"Fields").ok())
        .and_then(|f| deref(doc, f))
        .and_then(|f| f.as_array().ok())
    else {
        return out;
    };
    let mut seen = HashSet::new();
    let mut stack: Vec<(String, &Object)> = fields.iter().map(|f| (String::new(), f)).collect();
    while let Some((prefix, object)) = stack.pop() {
        if seen.len() > MAX_FIELDS {
            break;
        }
        if let Object::Reference(id) = object
            && !seen.insert(*id)
        {
            continue;
        }
        let Some(dict) = deref_dict(doc, object) else {
            continue;
        };
        let partial = dict.get(b"T").ok().and_then(text_value).unwrap_or_default();
        let name = match (prefix.is_empty(), partial.is_empty()) {
            (_, true) => prefix.clone(),
            (true, false) => partial,
            (false, false) => format!("{prefix}.{partial}"),
        };
        let kids = dict
            .get(b"Kids")
            .ok()
            .and_then(|k| deref(doc, k))
            .and_then(|k| k.as_array().ok());
        // Kids with names are fields; kids without are this field's widgets.
        let named_kids: Vec<&Object> = kids
            .map(|kids| {
                kids.iter()
                    .filter(|k| deref_dict(doc, k).is_some_and(|d| d.has(b"T")))
                    .collect()
            })
            .unwrap_or_default();
        if named_kids.is_empty() {
            // A field merged with its widget has the widget's keys itself.
            let widget = std::iter::once(dict)
                .chain(
                    kids.into_iter()
                        .flatten()
                        .filter_map(|k| deref_dict(doc, k)),
                )
                .find_map(widget_place);
            out.push((
                name,
                Field {
                    value: dict.get(b"V").ok().cloned(),
                    widget,
                },
            ));
        } else {
            stack.extend(named_kids.into_iter().map(|k| (name.clone(), k)));
        }
    }
    out
}

/// A widget's page and rectangle, when it names both.
fn widget_place(widget: &Dictionary) -> Option<(lopdf::ObjectId, [f64; 4])> {
    let page = widget.get(b"P").ok()?.as_reference().ok()?;
    let rect = widget.get(b"Rect").ok()?.as_array().ok()?;
    let number = |i: usize| rect.get(i).and_then(|o| o.as_float().ok()).map(f64::from);
    let (x0, y0, x1, y1) = (number(0)?, number(1)?, number(2)?, number(3)?);
    Some((page, [x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)]))
}

/// A widget covers a box when they overlap by at least half of the smaller of
/// the two: a signature drawn a little off the box still signs it, one in
/// another corner of the page (or with no size at all) does not.
fn covers(widget: &[f64; 4], rect: &crate::form::Rect) -> bool {
    let [x0, y0, x1, y1] = *widget;
    let overlap_w = x1.min(rect.x1) - x0.max(rect.x0);
    let overlap_h = y1.min(rect.y1) - y0.max(rect.y0);
    let area = |w: f64, h: f64| w.max(0.0) * h.max(0.0);
    let smaller = area(x1 - x0, y1 - y0).min(area(rect.x1 - rect.x0, rect.y1 - rect.y0));
    smaller > 0.0 && area(overlap_w, overlap_h) >= 0.5 * smaller
}

fn deref<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Object> {
    let mut current = object;
    for _ in 0..16 {
        match current {
            Object::Reference(id) => current = doc.objects.get(id)?,
            other => return Some(other),
        }
    }
    None
}

fn deref_dict<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Dictionary> {
    match deref(doc, object)? {
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

/// A PDF text string: UTF-16BE with its byte order mark, UTF-8 with its mark, or
/// PDFDocEncoding (Latin-1 for the characters a name or date uses).
fn text_value(object: &Object) -> Option<String> {
    let bytes = match object {
        Object::String(bytes, _) => bytes,
        Object::Name(bytes) => bytes,
        _ => return None,
    };
    if let Some(utf16) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = utf16
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return Some(String::from_utf16_lossy(&units));
    }
    if let Some(utf8) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return Some(String::from_utf8_lossy(utf8).into_owned());
    }
    Some(bytes.iter().map(|&b| b as char).collect())
}

/// Checks one signature dictionary's byte range, CMS and later changes.
fn certificate_signature(
    bytes: &[u8],
    doc: &Document,
    field: &str,
    dict: &Dictionary,
    roots: &[Certificate],
) -> CertificateSignature {
    let sub_filter = dict
        .get(b"SubFilter")
        .ok()
        .and_then(|s| s.as_name().ok())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_default();
    let mut problems = Vec::new();
    let failed = |problems: Vec<String>, sub_filter: String| CertificateSignature {
        field: field.to_owned(),
        sub_filter,
        cms: CmsReport::unchecked(),
        covers_revision: false,
        modifications: Modifications::Untouched,
        problems,
        over_signature_box: false,
    };
    let range = match byte_range(dict, bytes.len()) {
        Ok(range) => range,
        Err(problem) => return failed(vec![problem], sub_filter),
    };
    let [start, first_len, second_start, second_len] = range;
    let hole = &bytes[start + first_len..second_start];
    let contents = match hole_contents(hole) {
        Ok(contents) => contents,
        Err(problem) => return failed(vec![problem], sub_filter),
    };
    let declared = dict.get(b"Contents").ok().and_then(|c| match c {
        Object::String(s, _) => Some(s.as_slice()),
        _ => None,
    });
    if declared != Some(contents.as_slice()) {
        problems.push(
            "the signature's /Contents is not what the byte range leaves out: the signature was moved or replaced"
                .into(),
        );
    }
    let end = second_start + second_len;
    let revision_end = bytes[..end]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map(|i| i + 1)
        .unwrap_or(0);
    let covers_revision = bytes[..revision_end].ends_with(b"%%EOF") && problems.is_empty();
    if !bytes[..revision_end].ends_with(b"%%EOF") {
        problems.push("the signed range does not end at the end of a revision".into());
    }
    let mut cms = signature::verify_cms(
        &contents,
        [&bytes[start..start + first_len], &bytes[second_start..end]],
        roots,
    );
    // PAdES signatures carry no signingTime attribute: the time is the
    // signature dictionary's /M (claimed by the signer's software, like the other).
    if cms.signing_time.is_none() {
        cms.signing_time = dict
            .get(b"M")
            .ok()
            .and_then(text_value)
            .and_then(|m| pdf_date(&m));
    }
    let rest = &bytes[end..];
    let modifications = if rest.iter().all(|b| b.is_ascii_whitespace()) {
        Modifications::Untouched
    } else {
        match Document::load_mem(&bytes[..end]) {
            Ok(signed) => changes::compare(&signed, doc),
            Err(e) => {
                Modifications::Other(vec![format!("the signed revision cannot be read: {e}")])
            }
        }
    };
    CertificateSignature {
        field: field.to_owned(),
        sub_filter,
        cms,
        covers_revision,
        modifications,
        problems,
        over_signature_box: false,
    }
}

/// A PDF date (`D:YYYYMMDDHHmmSS+HH'mm'`, trailing parts optional) as RFC 3339.
fn pdf_date(text: &str) -> Option<String> {
    let digits = text.trim().strip_prefix("D:").unwrap_or(text.trim());
    let number = |range: std::ops::Range<usize>, default: u32| -> Option<u32> {
        match digits.get(range) {
            Some(part) if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() => {
                part.parse().ok()
            }
            _ => Some(default),
        }
    };
    let year = digits.get(0..4)?.parse::<i32>().ok()?;
    let (month, day) = (number(4..6, 1)?, number(6..8, 1)?);
    let (hour, minute, second) = (number(8..10, 0)?, number(10..12, 0)?, number(12..14, 0)?);
    let offset = match digits.get(14..15) {
        Some(sign @ ("+" | "-")) => {
            let rest: String = digits[15..].chars().filter(char::is_ascii_digit).collect();
            let hours = rest
                .get(0..2)
                .and_then(|h| h.parse::<i32>().ok())
                .unwrap_or(0);
            let minutes = rest
                .get(2..4)
                .and_then(|m| m.parse::<i32>().ok())
                .unwrap_or(0);
            let total = (hours * 60 + minutes) * if sign == "-" { -1 } else { 1 };
            format!(
                "{}{:02}:{:02}",
                if total < 0 { '-' } else { '+' },
                total.abs() / 60,
                total.abs() % 60
            )
        }
        _ => "Z".to_owned(),
    };
    (1..=12).contains(&month).then_some(())?;
    (1..=31).contains(&day).then_some(())?;
    (hour < 24 && minute < 60 && second < 61).then_some(())?;
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{}",
        offset.replace("+00:00", "Z")
    ))
}

/// `/ByteRange [0 a b c]`: two ranges inside the file, the first from its start,
/// with a hole between them.
fn byte_range(dict: &Dictionary, len: usize) -> Result<[usize; 4], String> {
    let values: Vec<i64> = dict
        .get(b"ByteRange")
        .ok()
        .and_then(|r| r.as_array().ok())
        .map(|a| a.iter().filter_map(|v| v.as_i64().ok()).collect())
        .unwrap_or_default();
    let [a, b, c, d] = values[..] else {
        return Err("the signature has no valid /ByteRange (four numbers)".into());
    };
    let bad =
        || format!("the /ByteRange [{a} {b} {c} {d}] does not describe this file of {len} bytes");
    let to = |v: i64| usize::try_from(v).map_err(|_| bad());
    let (a, b, c, d) = (to(a)?, to(b)?, to(c)?, to(d)?);
    let end_first = a.checked_add(b).ok_or_else(bad)?;
    let end = c.checked_add(d).ok_or_else(bad)?;
    if a != 0 || end_first > c || end > len || c - end_first < 2 {
        return Err(bad());
    }
    Ok([a, b, c, d])
}

/// The bytes of `<hex>` in a signature's hole, trailing zero padding kept (the
/// DER reader stops at the end of the value).
fn hole_contents(hole: &[u8]) -> Result<Vec<u8>, String> {
    let inner = hole
        .strip_prefix(b"<")
        .and_then(|h| h.strip_suffix(b">"))
        .ok_or("the byte range's hole is not the signature's hex string")?;
    let digits: Vec<u8> = inner
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err("the signature's hex string has an odd number of digits".into());
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| "the signature's hex string holds a non-hex character".to_owned())
        })
        .collect()
}

/// Ink in each box, measured on renders of the pages that hold boxes.
fn box_ink(
    form: &RegisteredForm,
    render: &dyn Fn(usize) -> Result<GrayImage, String>,
) -> HashMap<String, bool> {
    let mut out = HashMap::new();
    let pages: std::collections::BTreeSet<usize> = form.boxes.iter().map(|b| b.page).collect();
    let map = PageToImage::scaled(INK_DPI as f64 / 72.0);
    for page in pages {
        let Ok(image) = render(page - 1) else {
            continue;
        };
        let height = form.page_sizes.get(page - 1).map(|s| s.1).unwrap_or(841.89);
        for b in form.boxes.iter().filter(|b| b.page == page) {
            out.insert(
                b.name.clone(),
                ink::measure(&image, &map, &b.rect, height).written(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_streams_is_found_wherever_it_sits() {
        let streams = vec![
            b"q".to_vec(),
            b"BT (a) Tj ET".to_vec(),
            b"overlay".to_vec(),
            b"Q".to_vec(),
        ];
        let issued = hex(&Sha256::digest(b"BT (a) Tj ET\noverlay\n"));
        assert_eq!(issued_run(&streams, &issued), Some((1, 3)));
        assert!(is_state_only(&streams[0]) && is_state_only(&streams[3]));
        let edited = hex(&Sha256::digest(b"BT (b) Tj ET\noverlay\n"));
        assert_eq!(issued_run(&streams, &edited), None);
    }

    #[test]
    fn byte_ranges_outside_the_file_are_refused() {
        let dict = |v: [i64; 4]| {
            Dictionary::from_iter([(
                "ByteRange",
                Object::Array(v.iter().map(|&n| Object::Integer(n)).collect()),
            )])
        };
        assert!(byte_range(&dict([0, 10, 20, 5]), 25).is_ok());
        for bogus in [
            [0, 10, 20, 6],
            [1, 10, 20, 5],
            [0, 20, 10, 5],
            [0, -1, 20, 5],
            [0, 10, i64::MAX, i64::MAX],
            [0, 10, 11, 5],
        ] {
            assert!(byte_range(&dict(bogus), 25).is_err(), "{bogus:?}");
        }
        assert!(byte_range(&Dictionary::new(), 25).is_err());
    }

    #[test]
    fn pdf_dates_read_as_rfc3339() {
        assert_eq!(
            pdf_date("D:20251006093000+01'00'").as_deref(),
            Some("2025-10-06T09:30:00+01:00")
        );
        assert_eq!(
            pdf_date("D:20251006093000Z").as_deref(),
            Some("2025-10-06T09:30:00Z")
        );
        assert_eq!(pdf_date("D:2025").as_deref(), Some("2025-01-01T00:00:00Z"));
        assert_eq!(pdf_date("D:20251306").as_deref(), None);
        assert_eq!(pdf_date("yesterday"), None);
    }

    #[test]
    fn the_form_id_is_read_from_xmp_under_any_prefix() {
        let ns = crate::form::stamp::XMP_NAMESPACE;
        for xmp in [
            format!(
                "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:aup=\"{ns}\"><aup:formId>PAK-2526-0001-X</aup:formId></rdf:Description></rdf:RDF></x:xmpmeta>"
            ),
            // pyHanko's rewrite: another prefix, the property as an attribute.
            format!(
                "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:ns0=\"{ns}\" ns0:formId=\"PAK-2526-0001-X\"/></rdf:RDF></x:xmpmeta>"
            ),
        ] {
            let mut doc = Document::with_version("1.7");
            let metadata = doc.add_object(lopdf::Stream::new(Dictionary::new(), xmp.into_bytes()));
            let catalog = doc.add_object(Dictionary::from_iter([
                ("Type", Object::Name(b"Catalog".to_vec())),
                ("Metadata", Object::Reference(metadata)),
            ]));
            doc.trailer.set("Root", Object::Reference(catalog));
            assert_eq!(form_id(&doc).as_deref(), Some("PAK-2526-0001-X"));
        }
        // Another namespace's formId is not ours.
        let mut doc = Document::with_version("1.7");
        let metadata = doc.add_object(lopdf::Stream::new(
            Dictionary::new(),
            b"<r xmlns:aup=\"https://example.org/other\"><aup:formId>PAK-2526-0001-X</aup:formId></r>".to_vec(),
        ));
        let catalog = doc.add_object(Dictionary::from_iter([(
            "Metadata",
            Object::Reference(metadata),
        )]));
        doc.trailer.set("Root", Object::Reference(catalog));
        assert_eq!(form_id(&doc), None);
    }

    #[test]
    fn revision_ends_follow_each_eof_marker_with_and_without_its_end_of_line() {
        let file = b"%PDF-1.7\n...%%EOF\nupdate%%EOF\r\n";
        assert_eq!(revision_ends(file), vec![17, 18, 29, file.len()]);
        assert_eq!(revision_ends(b"%%EOF"), vec![5]);
    }

    #[test]
    fn text_strings_decode_utf16_and_latin1() {
        let utf16 = Object::String(
            vec![0xFE, 0xFF, 0, b'J', 0, 0xF3],
            lopdf::StringFormat::Literal,
        );
        assert_eq!(text_value(&utf16).as_deref(), Some("Jó"));
        let latin1 = Object::String(vec![b'J', 0xF3], lopdf::StringFormat::Literal);
        assert_eq!(text_value(&latin1).as_deref(), Some("Jó"));
    }
}
