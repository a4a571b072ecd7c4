//! Digital returns: a form filled in a PDF reader and emailed back. The file is
//! recognised as ours by its metadata (not its name), its policy pages are checked
//! against the register, its fields are read, and its signature is either a
//! certificate signature (verified cryptographically) or ink in the signature box
//! (a drawn, stamped or flattened signature, measured on a render of the page with
//! its annotations, exactly as for scans).
//!
//! Everything here reads; nothing writes. `aup ingest` files what this finds and
//! `aup verify` prints it. This file runs the checks and decides the verdict;
//! `identity` finds the form id, `integrity` the policy as issued, `drawn` what
//! is drawn outside the boxes, `fields` the fields and widgets, `person` whether a
//! name is the person's, `certificate` and `signature` (with `ber`) certificate
//! signatures, `changes` what an incremental update changed.

mod ber;
mod certificate;
pub mod changes;
mod drawn;
mod draws_nothing;
mod fields;
mod identity;
mod integrity;
pub mod person;
pub mod signature;

use std::collections::HashMap;

use image::GrayImage;
use lopdf::Document;
use serde::{Deserialize, Serialize};

use crate::verdict::Verdict;
use x509_cert::Certificate;

use crate::archive::RegisteredForm;
use crate::scan::ink;
use crate::scan::page_map::PageToImage;
pub use certificate::CertificateSignature;
use certificate::certificate_signature;
use changes::Modifications;
use fields::{Field, covers, deref_dict, terminal_fields, text_value};
pub use identity::form_id;
use integrity::policy_integrity;

/// Pages are rendered at this resolution to measure ink in the boxes.
pub const INK_DPI: f32 = 100.0;

/// One check and its result, in words an office can act on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Check {
    pub check: String,
    pub passed: bool,
    pub detail: String,
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
    /// A parents' form's consents: each answer, from its check boxes or ink.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consents: Vec<crate::consents::ConsentAnswer>,
}

impl Inspection {
    /// How it was signed, for the evidence page and the status report.
    pub fn how_signed(&self) -> String {
        if self.method == "online" {
            let said = self
                .signatures
                .iter()
                .find(|s| s.seal)
                .and_then(|s| s.reason.as_deref())
                .map(|reason| format!(": {reason}"))
                .unwrap_or_default();
            return format!(
                "signed online on the school's signing page, sealed by the school{said}"
            );
        }
        match self.signatures.iter().find(|s| s.counted) {
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
    /// SHA-256 (hex) of the school's seal certificate, when it has a seal: a
    /// signature by it is aup's seal on a return made online, not the person's.
    pub seal_sha256: Option<&'a str>,
}

/// The boxes of whoever signs a digital return, and the words for each when
/// it is empty: the signer's on staff and visitors' forms (their name is the
/// one issued); a parent's or carer's on the parents' and the youngest
/// pupils' forms (the form names the child, so the parent's name is theirs
/// to write); a pupil's where the pupil alone signs.
struct SignerBoxes {
    signature: &'static str,
    name: &'static str,
    date: &'static str,
    words: [&'static str; 3],
    /// Whether the form's issued name is the signer's.
    named_on_issue: bool,
}

impl SignerBoxes {
    fn of(form: &RegisteredForm) -> Self {
        let has = |field: &str| form.boxes.iter().any(|b| b.name == field);
        if !has("signer_signature") && has("parent_signature") {
            Self {
                signature: "parent_signature",
                name: "parent_name",
                date: "parent_date",
                words: ["parent's signature", "parent's name", "parent's date"],
                named_on_issue: false,
            }
        } else if !has("signer_signature") && has("pupil_signature") {
            Self {
                signature: "pupil_signature",
                name: "child_name",
                date: "pupil_date",
                words: ["pupil's signature", "pupil's name", "pupil's date"],
                named_on_issue: true,
            }
        } else {
            Self {
                signature: "signer_signature",
                name: "signer_name",
                date: "signer_date",
                words: ["signature", "name", "date"],
                named_on_issue: true,
            }
        }
    }
}

/// Why the person's own signature, stamped over what was issued, does not count.
const COVERS_POLICY_TEXT: &str = "the signature covers the policy text: sign again inside the box";

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
    let signer = SignerBoxes::of(form);
    let signature_field = signer.signature;
    // The name the signer was issued the form under: none for a parent, whose
    // child's name the form carries.
    let issued_name = form.name.as_ref().filter(|_| signer.named_on_issue);
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
    let (integrity, located) = match policy_integrity(bytes, doc, form) {
        Ok((how, located)) => (Ok(how), located),
        Err(problem) => (Err(problem), None),
    };
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
    let (name, role, date) = (text(signer.name), text("signer_role"), text(signer.date));

    // Certificate signatures, every one in the file.
    // In field-name order, so reports of files with several signatures are stable.
    let mut signed_fields: Vec<&(String, Field)> = fields.iter().collect();
    signed_fields.sort_by(|a, b| a.0.cmp(&b.0));
    let page_numbers: HashMap<lopdf::ObjectId, usize> = doc
        .get_pages()
        .into_iter()
        .map(|(number, id)| (id, number as usize))
        .collect();
    let signature_box = form.boxes.iter().find(|b| b.name == signature_field);
    let mut signatures: Vec<CertificateSignature> = signed_fields
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
            signature.invisible = f.invisible;
            Some(signature)
        })
        .collect();
    // A sound signature counts for the person only if its certificate names
    // them, by name or by the roster's e-mail address; on a blank form (no name
    // issued) any signer is the person.
    let names_the_person = |sig: &CertificateSignature| match (issued_name, &sig.cms.signer) {
        (None, _) => true,
        _ if person::same_email(form.email.as_deref(), &sig.cms.signer_emails) => true,
        (Some(issued), Some(signer)) => person::same_person(issued, signer),
        (Some(_), None) => false,
    };
    // A sound signature of the person whose visible widget is beside the box
    // (readers let the signer drag it anywhere) is theirs, not tampering: its
    // rectangle is left out of the drawing check, which says whether it hides
    // anything that was issued there.
    // (field, (page, rectangle)) of each such signature.
    let beside: Vec<(&String, (usize, [f64; 4]))> = fields
        .iter()
        .filter_map(|(name, f)| {
            let sig = signatures.iter().find(|s| &s.field == name)?;
            let (page, rect) = f.widget?;
            let mine = sig.sound() && names_the_person(sig);
            (mine && !sig.in_the_signers_place(signature_field))
                .then(|| Some((name, (*page_numbers.get(&page)?, rect))))?
        })
        .collect();
    let mut covers_issued = vec![false; beside.len()];
    // Nothing drawn or covered outside the boxes, whatever way it was saved.
    if integrity.is_ok() {
        let outside;
        let stamps: Vec<(usize, [f64; 4])> = beside.iter().map(|(_, at)| *at).collect();
        (outside, covers_issued) =
            drawn_outside_boxes(doc, form, located, render, render_pdf, &stamps);
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

    let is_the_seal = |sig: &CertificateSignature| {
        expected.seal_sha256.is_some()
            && sig.cms.signer_certificate_sha256.as_deref() == expected.seal_sha256
    };
    for sig in &mut signatures {
        if is_the_seal(sig) {
            sig.seal = true;
            (sig.counted, sig.counted_because) = match sig.sound() {
                true => (
                    false,
                    "the school's seal: aup sealed what the person signed online; it is not their signature"
                        .to_owned(),
                ),
                false => (false, "not counted: it does not hold".to_owned()),
            };
            continue;
        }
        let signs_the_box = sig.in_the_signers_place(signature_field);
        let person = form.name.as_deref().unwrap_or("the person");
        let placed_beside = beside
            .iter()
            .position(|(field, _)| **field == sig.field)
            .map(|at| covers_issued[at]);
        (sig.counted, sig.counted_because) = match (sig.sound(), signs_the_box) {
            (false, _) => (false, "not counted: it does not hold".to_owned()),
            (true, false) if placed_beside == Some(false) => (
                true,
                format!(
                    "counted: it signs the form for {person}; its stamp in the field {} is beside the box, over nothing that was issued",
                    sig.field
                ),
            ),
            (true, false) if placed_beside == Some(true) => {
                (false, format!("not counted: {COVERS_POLICY_TEXT}"))
            }
            (true, false) => (
                false,
                format!(
                    "not counted: it is in the field {}, whose widget is visible and not over the signature box",
                    sig.field
                ),
            ),
            (true, true) if names_the_person(sig) && sig.invisible => (
                true,
                format!("counted: an invisible signature over the whole form, for {person}"),
            ),
            (true, true) if names_the_person(sig) => {
                (true, format!("counted: it signs the form for {person}"))
            }
            (true, true) => (
                false,
                format!(
                    "not counted: its certificate names {}, not {person}",
                    sig.cms.signer.as_deref().unwrap_or("no one")
                ),
            ),
        };
    }
    for sig in &signatures {
        let mut detail = vec![
            sig.counted_because.clone(),
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
            detail.insert(1, format!("signed by {who}"));
        }
        if let Some(at) = &sig.cms.signing_time {
            detail.insert(2.min(detail.len()), format!("at {at}"));
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
    let certified = signatures.iter().any(|s| s.counted);
    let sealed = signatures.iter().any(|s| s.sound() && is_the_seal(s));
    // Why the return cannot be accepted beyond what is missing, in the office's words.
    let mut notes: Vec<String> = Vec::new();
    // A sound signature over the box that is not the person's.
    let someone_else = signatures.iter().find(|s| {
        s.sound()
            && s.in_the_signers_place(signature_field)
            && !names_the_person(s)
            && !is_the_seal(s)
    });
    if let (false, Some(sig), Some(issued)) = (certified, someone_else, issued_name) {
        let signer = sig
            .cms
            .signer
            .as_deref()
            .unwrap_or("an unnamed certificate");
        notes.push(format!(
            "signed with the certificate of {signer}, not of {issued}, to whom the form was issued"
        ));
    }

    if !certified && covers_issued.iter().any(|c| *c) {
        notes.push(COVERS_POLICY_TEXT.to_owned());
    }

    // Ink in the boxes, as drawn with annotations.
    let ink = box_ink(form, render);
    let inked = |field: &str| ink.get(field).is_some_and(|f| *f >= ink::WRITTEN);
    let signature_ink = inked(signature_field);
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
        missing.push(signer.words[0].to_owned());
    }
    // The name: the one issued, still there (when a reader flattened the field,
    // still what the box shows), or on a blank form whatever was written.
    let named: Result<String, String> = match (issued_name, &name) {
        (Some(issued), Some(typed)) if person::same_person(issued, typed) => {
            Ok(format!("name field: {typed}"))
        }
        (Some(issued), Some(typed)) => Err(format!(
            "the name typed, \"{typed}\", is not {issued}, to whom the form was issued"
        )),
        (Some(issued), None) if inked(signer.name) => {
            match name_box(form, issued, render, render_pdf) {
                Some(shown) if shown.shows_issued_name() => Ok(format!(
                    "no name field: the name box shows the name issued, {issued} ({})",
                    shown.said()
                )),
                Some(shown) => Err(format!(
                    "{} ({issued}): {}",
                    crate::scan::name_box::NOT_AS_ISSUED,
                    shown.said()
                )),
                None => Err(format!(
                    "{} ({issued}): the box could not be compared with the name",
                    crate::scan::name_box::NOT_AS_ISSUED
                )),
            }
        }
        (Some(issued), None) => Err(format!(
            "the name field, issued filled in with {issued}, was cleared"
        )),
        (None, Some(typed)) => Ok(format!("name field: {typed}")),
        (None, None) if inked(signer.name) => Ok("written in the name box".into()),
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
        missing.push(signer.words[1].to_owned());
        if issued_name.is_some() {
            // The measures stay in the check's detail; the reason says what to
            // do, and what the box reads when the name was drawn as text.
            let not_as_issued = crate::scan::name_box::NOT_AS_ISSUED;
            notes.push(match problem.starts_with(not_as_issued) {
                true => match name_box_text(bytes, form) {
                    Some(shown) => format!("{not_as_issued}; it reads \"{shown}\""),
                    None => not_as_issued.to_owned(),
                },
                false => problem,
            });
        }
    }
    let has_date = date.is_some() || inked(signer.date);
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
        missing.push(signer.words[2].to_owned());
    }
    // A pupil's signature and date beside the parent's, as on paper: ink or
    // a value in each.
    for (field, what) in [
        ("pupil_signature", "pupil's signature"),
        ("pupil_date", "pupil's date"),
    ] {
        let asked = form.boxes.iter().any(|b| b.name == field);
        if !asked || field == signer.signature || field == signer.date {
            continue;
        }
        let given = inked(field) || text(field).is_some();
        checks.push(Check {
            check: what.to_owned(),
            passed: given,
            detail: match given {
                true => format!("the {what} box is filled in"),
                false => format!("the {what} box is empty"),
            },
        });
        if !given {
            missing.push(what.to_owned());
        }
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
        // Only aup holds the seal's key: a sound seal means the person signed on
        // the school's signing page.
        method: match (certified, sealed) {
            (true, _) => "certificate",
            (false, true) => "online",
            (false, false) => "pdf",
        }
        .into(),
        signatures,
        checks,
        verdict,
        missing,
        reason,
        consents: consents(form, &fields, &ink),
    }
}

/// What the return draws or covers outside the boxes, page by page, against the
/// form as issued rebuilt from it (see [`drawn`]); and for each of the person's
/// signatures stamped `beside` the box (page, rectangle), whether what was
/// issued shows under it (it is left out of the comparison either way).
fn drawn_outside_boxes(
    doc: &Document,
    form: &RegisteredForm,
    located: Option<Vec<integrity::IssuedOnPage>>,
    render: &dyn Fn(usize) -> Result<GrayImage, String>,
    render_pdf: &RenderPdf,
    beside: &[(usize, [f64; 4])],
) -> (Vec<String>, Vec<bool>) {
    let mut covers = vec![false; beside.len()];
    let Some(contents) = drawn::page_contents(doc, form, located) else {
        return (Vec::new(), covers);
    };
    // A page that draws only its issued content and has no annotations shows
    // what was issued: only the others are drawn and compared.
    let pages: Vec<usize> = contents
        .iter()
        .enumerate()
        .filter(|(_, page)| !page.shows_only_what_was_issued())
        .map(|(index, _)| index)
        .collect();
    if pages.is_empty() {
        return (Vec::new(), covers);
    }
    let Some(view) = drawn::issued_view(doc, &contents) else {
        return (Vec::new(), covers);
    };
    let issued = match render_pdf(&view, &pages) {
        Ok(images) => images,
        Err(problem) => {
            return (
                vec![format!("the form as issued cannot be drawn: {problem}")],
                covers,
            );
        }
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
        let stamps: Vec<[f64; 4]> = beside
            .iter()
            .filter(|(p, _)| *p == page)
            .map(|(_, rect)| *rect)
            .collect();
        for (at, (p, rect)) in beside.iter().enumerate() {
            if *p == page {
                covers[at] = drawn::shows_issued_under(issued, rect, &boxes, height, INK_DPI);
            }
        }
        found.extend(drawn::outside_boxes(
            page, &returned, issued, &boxes, &stamps, height, INK_DPI,
        ));
    }
    (found, covers)
}

/// The text drawn in the name box of a return (a flattened name field keeps
/// its value as text), when there is any.
fn name_box_text(bytes: &[u8], form: &RegisteredForm) -> Option<String> {
    let (spec, height) = form.name_box()?;
    let r = &spec.rect;
    crate::scan::box_text::text_in(
        bytes,
        spec.page - 1,
        [r.x0, height - r.y1, r.x1, height - r.y0],
    )
}

/// The name box as rendered beside the issued name drawn alone (see
/// [`crate::scan::name_box`]); `None` when either cannot be drawn.
fn name_box(
    form: &RegisteredForm,
    issued: &str,
    render: &dyn Fn(usize) -> Result<GrayImage, String>,
    render_pdf: &RenderPdf,
) -> Option<crate::scan::name_box::NameBox> {
    let (spec, height) = form.name_box()?;
    let image = render(spec.page - 1).ok()?;
    let map = PageToImage::scaled(INK_DPI as f64 / 72.0);
    // `render_pdf` draws at INK_DPI, the resolution the grid is read at.
    let alone = |pdf: &[u8], _dpi: f32| {
        render_pdf(pdf, &[0])?
            .pop()
            .ok_or_else(|| "nothing was drawn".to_owned())
    };
    crate::scan::name_box::compare(&image, &map, &spec.rect, height, issued, &alone).ok()
}

/// Ink in each box, measured on renders of the pages that hold boxes.
fn box_ink(
    form: &RegisteredForm,
    render: &dyn Fn(usize) -> Result<GrayImage, String>,
) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    let pages: std::collections::BTreeSet<usize> = form.boxes.iter().map(|b| b.page).collect();
    let map = PageToImage::scaled(INK_DPI as f64 / 72.0);
    for page in pages {
        let Ok(image) = render(page - 1) else {
            continue;
        };
        let height = form.page_sizes.get(page - 1).map(|s| s.1).unwrap_or(841.89);
        for b in form.boxes.iter().filter(|b| b.page == page) {
            let measure = match b.kind.as_str() {
                "check" => ink::measure_tick_box,
                _ => ink::measure,
            };
            out.insert(
                b.name.clone(),
                measure(&image, &map, &b.rect, height).fraction,
            );
        }
    }
    out
}

/// A parents' form's consents: from its check boxes while the return has them
/// (the state a reader saved), else (flattened, printed to PDF) from the ink
/// the page shows in each box, as on paper.
fn consents(
    form: &RegisteredForm,
    fields: &[(String, Field)],
    ink: &HashMap<String, f64>,
) -> Vec<crate::consents::ConsentAnswer> {
    use crate::consents::{consent_ids, no_box, reading, yes_box};
    let check_box = |name: &str| {
        fields.iter().find(|(n, _)| n == name).map(|(_, f)| {
            matches!(&f.value, Some(lopdf::Object::Name(state)) if state.as_slice() != b"Off")
        })
    };
    consent_ids(&form.boxes)
        .iter()
        .map(|id| {
            let (yes, no) = (yes_box(id), no_box(id));
            match (check_box(&yes), check_box(&no)) {
                (Some(yes), Some(no)) => reading::from_check_boxes(id, yes, no),
                _ => reading::from_ink(id, ink.get(&yes).copied(), ink.get(&no).copied()),
            }
        })
        .collect()
}
