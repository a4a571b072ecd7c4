//! The evidence page filed beside every accepted return: who signed which policy
//! version, when and how, the checks that passed, and the hashes that tie the
//! filed PDF to the files received. Its own one-page PDF, so the return itself
//! stays exactly as it came.

/// What a certificate of completion says about one accepted return.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub form_id: String,
    /// The school's name, as its YAML gives it.
    pub school: String,
    pub year: String,
    pub person: String,
    pub role: String,
    pub fingerprint: String,
    /// When the policy version was first issued (`YYYY-MM-DD`), if known.
    pub policy_issued: Option<String>,
    pub issued_on: String,
    pub returned_at: String,
    pub method: String,
    /// Each check and whether it passed.
    pub checks: Vec<(String, bool)>,
    /// The files received, with their SHA-256.
    pub originals: Vec<(String, String)>,
    /// SHA-256 of the archived form PDF.
    pub archived_sha256: String,
}

/// The evidence page as its own one-page PDF (the archived form stays untouched):
/// who signed what, when, how, the checks and the hashes that tie them together.
pub fn evidence_pdf(evidence: &Evidence) -> Vec<u8> {
    use crate::form::font::{FONT, FONT_NAME};
    use lopdf::{Dictionary, Document, Object, Stream};
    let mut lines: Vec<(f64, String)> = vec![
        (16.0, "Acceptable Use Policy: evidence of signature".into()),
        (10.0, String::new()),
        (10.5, format!("Form:            {}", evidence.form_id)),
        (
            10.5,
            format!("Person:          {} ({})", evidence.person, evidence.role),
        ),
        (
            10.5,
            format!("School / year:   {}, {}", evidence.school, evidence.year),
        ),
        (
            10.5,
            match &evidence.policy_issued {
                Some(day) => format!(
                    "Policy:          of {} (version {})",
                    crate::clock::uk_date_long(day),
                    evidence.fingerprint
                ),
                None => format!("Policy:          version {}", evidence.fingerprint),
            },
        ),
        (
            10.5,
            format!(
                "Issued:          {}",
                crate::clock::uk_date_long(&evidence.issued_on)
            ),
        ),
        (
            10.5,
            format!(
                "Returned:        {}",
                crate::clock::uk_moment(&evidence.returned_at)
            ),
        ),
        (10.5, format!("Signed:          {}", evidence.method)),
        (10.0, String::new()),
        (12.0, "Checks".into()),
    ];
    for (check, passed) in &evidence.checks {
        lines.push((
            10.5,
            format!("{}  {check}", if *passed { "pass" } else { "FAIL" }),
        ));
    }
    lines.push((10.0, String::new()));
    lines.push((12.0, "Files (SHA-256)".into()));
    for (name, sha) in &evidence.originals {
        lines.push((9.0, format!("received  {name}")));
        lines.push((9.0, format!("          {sha}")));
    }
    lines.push((9.0, "archived form".into()));
    lines.push((9.0, format!("          {}", evidence.archived_sha256)));
    // Lines wrap at the right margin (a check lists every signature, with why)
    // and run onto further pages rather than off the bottom of the first.
    let mut pages: Vec<String> = vec![String::from("BT\n")];
    let mut y = TOP;
    for (size, text) in &lines {
        for piece in wrap(text, *size) {
            y -= size * 1.45;
            if y < BOTTOM {
                pages.last_mut().expect("a page").push_str("ET\n");
                pages.push(String::from("BT\n"));
                y = TOP - size * 1.45;
            }
            pages.last_mut().expect("a page").push_str(&format!(
                "/{FONT_NAME} {size} Tf 1 0 0 1 {MARGIN} {y:.1} Tm <{}> Tj\n",
                FONT.encode(&piece)
            ));
        }
    }
    pages.last_mut().expect("a page").push_str("ET\n");
    let mut doc = Document::with_version("1.7");
    let font = FONT.add_to(&mut doc);
    let resources = Dictionary::from_iter([(
        "Font",
        Object::Dictionary(Dictionary::from_iter([(
            FONT_NAME,
            Object::Reference(font),
        )])),
    )]);
    let pages = pages.into_iter().map(|content| crate::pdf::SimplePage {
        content: Stream::new(Dictionary::new(), content.into_bytes()),
        resources: resources.clone(),
        size: (PAGE_WIDTH, 841.89),
    });
    crate::pdf::save_pages(doc, pages)
}

const PAGE_WIDTH: f64 = 595.28;
const MARGIN: f64 = 56.0;
const TOP: f64 = 790.0;
const BOTTOM: f64 = 50.0;

/// A line cut at spaces to fit between the margins; continuation lines are
/// indented under the text after a check's "pass" or "FAIL".
fn wrap(text: &str, size: f64) -> Vec<String> {
    use crate::form::font::FONT;
    let room = PAGE_WIDTH - 2.0 * MARGIN;
    let indent = "      ";
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = match line.is_empty() {
            true => word.to_owned(),
            false => format!("{line} {word}"),
        };
        if line.trim().is_empty() || FONT.width(&candidate, size) <= room {
            line = candidate;
        } else {
            lines.push(line);
            line = format!("{indent}{word}");
        }
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_checks_wrap_within_the_margins() {
        let check = "pass  certificate signature in office: not counted: it is in the field office, \
            whose widget is not over the signature box; signed by Pakeman Office; at 2026-11-24";
        let lines = wrap(check, 10.5);
        assert!(lines.len() > 1, "{lines:?}");
        for line in &lines {
            assert!(crate::form::font::FONT.width(line, 10.5) <= PAGE_WIDTH - 2.0 * MARGIN);
        }
        assert_eq!(
            lines.join(" ").split_whitespace().collect::<Vec<_>>(),
            check.split_whitespace().collect::<Vec<_>>()
        );
        // Spaces that align the header's values are kept.
        assert_eq!(wrap("Form:            X", 10.5), vec!["Form:            X"]);
    }
}
