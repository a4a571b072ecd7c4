//! A form returned on paper (or as a PDF that lost our metadata, which is read
//! as a scan is) judged from its identified pages: every page present, the
//! policy version current, ink in the signature, name and date boxes. `ingest`
//! files what this decides; `verify` explains it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::protocol::IdentifiedPage;
use crate::archive::RegisteredForm;
use crate::consents::{ConsentAnswer, consent_ids, no_box, reading, yes_box};
use crate::digital::{Check, Inspection};
use crate::scan::ink;
use crate::scan::name_box::{NOT_AS_ISSUED, NameBox};
use crate::verdict::Verdict;

/// The verdict on a form from the pages of it that were found.
pub(crate) struct PaperVerdict {
    pub verdict: Verdict,
    /// What is missing ("page 2", "signature", "name", "date").
    pub missing: Vec<String>,
    /// Why it is not accepted, in the office's words.
    pub reason: Option<String>,
}

/// The boxes a return must have ink in, each with its word when it has none:
/// the signer's (staff and visitors), the pupil's, and the parent's or
/// carer's. A form asks only for those it has: an EYFS form has no pupil's
/// signature, a KS3/4 form whose pupil alone signs has no parent's.
const REQUIRED_BOXES: [(&str, &str); 8] = [
    ("signer_signature", "signature"),
    ("signer_name", "name"),
    ("signer_date", "date"),
    ("pupil_signature", "pupil's signature"),
    ("pupil_date", "pupil's date"),
    ("parent_signature", "parent's signature"),
    ("parent_name", "parent's name"),
    ("parent_date", "parent's date"),
];

/// The required boxes `form` has, in the order they are reported.
pub(crate) fn required_boxes(
    form: &RegisteredForm,
) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    REQUIRED_BOXES
        .into_iter()
        .filter(|(field, _)| form.boxes.iter().any(|b| b.name == *field))
}

/// The verdict on a form from the pages of it that were found: every page
/// present, the policy version current, ink in the boxes, and on a form issued
/// to a person, the name box showing that name.
pub(crate) fn verdict(
    form: &RegisteredForm,
    pages: &BTreeMap<u32, &IdentifiedPage>,
    current: Option<&str>,
) -> PaperVerdict {
    let mut missing: Vec<String> = (1..=form.pages as u32)
        .filter(|p| !pages.contains_key(p))
        .map(|p| format!("page {p}"))
        .collect();
    // A missing page's boxes are covered by "page N"; only judge boxes we saw.
    for (field, what) in required_boxes(form) {
        let is_printed = field == "signer_name" && form.name.is_some();
        if on_present_page(form, pages, field) && !is_printed && !written(pages, field) {
            missing.push(what.to_owned());
        }
    }
    let name_not_as_issued = name_box(pages).is_some_and(|b| !b.shows_issued_name());
    if name_not_as_issued {
        missing.push("name".to_owned());
    }
    let verdict = match (
        current == Some(form.fingerprint.as_str()),
        missing.is_empty(),
    ) {
        (false, _) => Verdict::Outdated,
        (true, true) => Verdict::Accepted,
        (true, false) => Verdict::Incomplete,
    };
    let reason = match verdict {
        Verdict::Outdated => {
            Some("signed an older version of the policy: the current one must be signed".into())
        }
        Verdict::Incomplete => {
            let mut reason = format!("missing: {}", missing.join(", "));
            if name_not_as_issued {
                reason.push_str("; ");
                reason.push_str(NOT_AS_ISSUED);
                if let Some(text) = pages.values().find_map(|p| p.name_box_text.as_deref()) {
                    reason.push_str(&format!("; it reads \"{text}\""));
                }
            }
            Some(reason)
        }
        _ => None,
    };
    PaperVerdict {
        verdict,
        missing,
        reason,
    }
}

/// The name box as compared with the issued name, from the page that holds it.
pub(crate) fn name_box(pages: &BTreeMap<u32, &IdentifiedPage>) -> Option<NameBox> {
    pages.values().find_map(|page| page.name_box)
}

/// A box's ink as measured, and the threshold it was judged against: so a
/// doubtful case can be checked by a person (`--json`, the evidence page).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoxInk {
    pub field: String,
    pub page: u32,
    /// Percent of the box in pen strokes.
    pub ink_percent: f64,
    /// Percent from which a box counts as written in.
    pub threshold_percent: f64,
    pub written: bool,
}

impl BoxInk {
    /// "2.41% of the box in pen strokes; counts from 0.80%".
    pub fn said(&self) -> String {
        format!(
            "{:.2}% of the box in pen strokes; counts from {:.2}%",
            self.ink_percent, self.threshold_percent
        )
    }
}

/// The ink of every box on the pages found, in page and field order.
pub(crate) fn boxes(pages: &BTreeMap<u32, &IdentifiedPage>) -> Vec<BoxInk> {
    pages
        .iter()
        .flat_map(|(&page, found)| {
            found.ink.iter().map(move |(field, &fraction)| BoxInk {
                field: field.clone(),
                page,
                ink_percent: (fraction * 10_000.0).round() / 100.0,
                threshold_percent: ink::WRITTEN * 100.0,
                written: fraction >= ink::WRITTEN,
            })
        })
        .collect()
}

/// A parent's answer to each consent the form asks, read from the ink in its
/// Yes and No boxes (see [`crate::consents::reading`]).
pub(crate) fn consents(
    form: &RegisteredForm,
    pages: &BTreeMap<u32, &IdentifiedPage>,
) -> Vec<ConsentAnswer> {
    let fraction = |field: &str| pages.values().find_map(|page| page.ink.get(field).copied());
    consent_ids(&form.boxes)
        .iter()
        .map(|id| reading::from_ink(id, fraction(&yes_box(id)), fraction(&no_box(id))))
        .collect()
}

fn measured(pages: &BTreeMap<u32, &IdentifiedPage>, field: &str) -> Option<BoxInk> {
    boxes(pages).into_iter().find(|b| b.field == field)
}

fn written(pages: &BTreeMap<u32, &IdentifiedPage>, field: &str) -> bool {
    measured(pages, field).is_some_and(|b| b.written)
}

fn on_present_page(
    form: &RegisteredForm,
    pages: &BTreeMap<u32, &IdentifiedPage>,
    field: &str,
) -> bool {
    form.boxes
        .iter()
        .find(|b| b.name == field)
        .is_some_and(|b| pages.contains_key(&(b.page as u32)))
}

/// `aup verify` on a PDF without our metadata whose pages carry our codes
/// (Ghostscript and "print to PDF" drop the metadata): what ingest would decide,
/// with each check in words.
pub(crate) fn inspection(
    form: &RegisteredForm,
    pages: &BTreeMap<u32, &IdentifiedPage>,
    current: Option<&str>,
) -> Inspection {
    let PaperVerdict {
        verdict,
        missing,
        reason,
    } = verdict(form, pages, current);
    let found: Vec<String> = pages.keys().map(u32::to_string).collect();
    let box_check = |field: &str, what: &str| {
        let found = measured(pages, field);
        let ink = found.as_ref().is_some_and(|b| b.written);
        Check {
            check: what.to_owned(),
            passed: ink,
            detail: match (on_present_page(form, pages, field), found) {
                (false, _) | (true, None) => "its page is missing".to_owned(),
                (true, Some(b)) if b.written => format!("the {what} box has ink: {}", b.said()),
                (true, Some(b)) => format!("the {what} box is empty: {}", b.said()),
            },
        }
    };
    let version = &form.fingerprint[..12.min(form.fingerprint.len())];
    let mut checks = vec![
        Check {
            check: "read as a scan".into(),
            passed: true,
            detail: "the file has no aup metadata (a program such as Ghostscript rewrote it), \
                so it is read as a scan is: by the QR code on each page and the ink in the boxes; \
                its policy text is not compared with what was issued"
                .into(),
        },
        Check {
            check: "pages".into(),
            passed: found.len() as i64 == form.pages,
            detail: match found.len() {
                1 => format!(
                    "page {} of {} identified by its QR code",
                    found[0], form.pages
                ),
                _ => format!(
                    "pages {} of {} identified by their QR codes",
                    found.join(", "),
                    form.pages
                ),
            },
        },
        Check {
            check: "policy version is the current one".into(),
            passed: current == Some(form.fingerprint.as_str()),
            detail: match current == Some(form.fingerprint.as_str()) {
                true => format!("version {version} is current"),
                false => format!(
                    "version {version} was replaced by a newer policy for {} {}",
                    form.school, form.year
                ),
            },
        },
    ];
    for (field, what) in required_boxes(form) {
        checks.push(match field {
            "signer_name" => name_check(form, pages, &box_check),
            _ => box_check(field, what),
        });
    }
    Inspection {
        form_id: form.form_id.clone(),
        school: form.school.clone(),
        year: form.year.clone(),
        person: form.name.clone(),
        name: None,
        role: None,
        date: None,
        signatures: Vec::new(),
        signature_ink: required_boxes(form)
            .filter(|(field, _)| field.ends_with("_signature"))
            .all(|(field, _)| written(pages, field)),
        checks,
        verdict,
        missing,
        reason,
        method: "paper".into(),
        consents: consents(form, pages),
    }
}

/// The name check of a form with a signer's name box: the name issued shown
/// in it, or ink in it on a blank form.
fn name_check(
    form: &RegisteredForm,
    pages: &BTreeMap<u32, &IdentifiedPage>,
    box_check: &dyn Fn(&str, &str) -> Check,
) -> Check {
    match (&form.name, name_box(pages)) {
        (Some(name), Some(shown)) => Check {
            check: "name".into(),
            passed: shown.shows_issued_name(),
            detail: match shown.shows_issued_name() {
                true => format!(
                    "the name box shows the name issued, {name}: {}",
                    shown.said()
                ),
                false => format!("{NOT_AS_ISSUED} ({name}): {}", shown.said()),
            },
        },
        (Some(name), None) if on_present_page(form, pages, "signer_name") => Check {
            check: "name".into(),
            passed: true,
            detail: format!("issued to {name}; the name box was not compared with the name"),
        },
        (Some(_), None) => Check {
            check: "name".into(),
            passed: false,
            detail: "its page is missing".into(),
        },
        (None, _) => box_check("signer_name", "name"),
    }
}
