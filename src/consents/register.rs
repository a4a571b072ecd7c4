//! The consent register as a class teacher and the office read it: per class,
//! each pupil's answer to each of the school's consents (yes, no, unclear, or
//! not returned, which counts as no), as a table, CSV, JSON or a printable
//! sheet per class. `aup consents` prints it; `aup serve` shows it and settles
//! an unclear answer.

use std::fmt::Write as _;

use serde::Serialize;

use super::Answer;
use crate::archive::ConsentEntry;
use crate::config::aups::Consent;
use crate::report::spreadsheet_cell;

/// A pupil's answer to one consent as the register shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    Yes,
    No,
    Unclear,
    /// No accepted return, or a return that did not ask this consent.
    NotReturned,
}

impl Shown {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::No => "no",
            Self::Unclear => "unclear",
            Self::NotReturned => "not returned",
        }
    }

    /// Whether the school may go ahead: only a clear yes.
    pub fn allows(self) -> bool {
        self == Self::Yes
    }
}

/// One pupil's cell for one consent.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub consent: String,
    pub answer: Shown,
    /// How it was read from the return ("Yes is ticked (Yes box 11.2% ink...)").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub how: Option<String>,
    /// Who settled an unclear answer, and when (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<String>,
}

/// One pupil's row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub school: String,
    pub year: String,
    pub class: String,
    pub pupil: String,
    pub form_id: String,
    /// The accepted return the answers come from; `None` when not returned.
    pub return_id: Option<i64>,
    /// The UK day it was filed (YYYY-MM-DD).
    pub received_on: Option<String>,
    pub method: Option<String>,
    pub consents: Vec<Cell>,
}

/// The register's rows for the school's `consents`, in class order (the order
/// forms were issued), only `class` when given (any case).
pub fn rows(
    school: &str,
    year: &str,
    consents: &[Consent],
    entries: &[ConsentEntry],
    class: Option<&str>,
) -> Vec<Row> {
    let mut rows: Vec<Row> = entries
        .iter()
        .filter(|e| {
            class.is_none_or(|c| {
                e.class
                    .as_deref()
                    .is_some_and(|mine| mine.trim().eq_ignore_ascii_case(c.trim()))
            })
        })
        .map(|entry| Row {
            school: school.to_owned(),
            year: year.to_owned(),
            class: entry.class.clone().unwrap_or_default(),
            pupil: entry.name.clone().unwrap_or_default(),
            form_id: entry.form_id.clone(),
            return_id: entry.returned.as_ref().map(|r| r.return_id),
            received_on: entry
                .returned
                .as_ref()
                .map(|r| crate::clock::uk_day_iso(&r.ingested_at)),
            method: entry.returned.as_ref().map(|r| r.method.clone()),
            consents: consents
                .iter()
                .map(|consent| {
                    let recorded = entry
                        .returned
                        .as_ref()
                        .and_then(|r| r.answers.iter().find(|a| a.read.consent == consent.id));
                    Cell {
                        consent: consent.id.clone(),
                        answer: match recorded.map(|a| a.answer()) {
                            None => Shown::NotReturned,
                            Some(Answer::Yes) => Shown::Yes,
                            Some(Answer::No) => Shown::No,
                            Some(Answer::Unclear) => Shown::Unclear,
                        },
                        how: recorded.map(|a| a.read.how.clone()),
                        settled_by: recorded.and_then(|a| a.decided.as_ref().map(|d| d.by.clone())),
                        settled_at: recorded.and_then(|a| a.decided.as_ref().map(|d| d.at.clone())),
                    }
                })
                .collect(),
        })
        .collect();
    // Classes together, in the order they were first issued.
    let mut order: Vec<String> = Vec::new();
    for row in &rows {
        if !order.contains(&row.class) {
            order.push(row.class.clone());
        }
    }
    rows.sort_by_key(|row| order.iter().position(|c| *c == row.class));
    rows
}

/// The rows of each class, in order.
pub fn by_class(rows: &[Row]) -> Vec<(&str, Vec<&Row>)> {
    let mut out: Vec<(&str, Vec<&Row>)> = Vec::new();
    for row in rows {
        match out.iter_mut().find(|(class, _)| *class == row.class) {
            Some((_, list)) => list.push(row),
            None => out.push((&row.class, vec![row])),
        }
    }
    out
}

/// A class's count of each answer to one consent, "not returned" apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub yes: usize,
    pub no: usize,
    pub unclear: usize,
    pub not_returned: usize,
}

pub fn counts(rows: &[&Row], consent: usize) -> Counts {
    let mut counts = Counts::default();
    for row in rows {
        match row.consents.get(consent).map(|c| c.answer) {
            Some(Shown::Yes) => counts.yes += 1,
            Some(Shown::No) => counts.no += 1,
            Some(Shown::Unclear) => counts.unclear += 1,
            _ => counts.not_returned += 1,
        }
    }
    counts
}

/// What the teacher needs from a count: who may appear, and who may not.
fn said(c: Counts) -> String {
    format!(
        "{} yes; {} may not ({} no, {} not returned, {} unclear)",
        c.yes,
        c.no + c.not_returned + c.unclear,
        c.no,
        c.not_returned,
        c.unclear
    )
}

/// "1 pupil", "30 pupils".
fn pupils_said(n: usize) -> String {
    match n {
        1 => "1 pupil".to_owned(),
        n => format!("{n} pupils"),
    }
}

/// A plain-text table per class: a column per consent, and each consent's
/// counts under it.
pub fn table(rows: &[Row], consents: &[Consent]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("No parents' forms are issued for this school year.\n");
        return out;
    }
    for (class, pupils) in by_class(rows) {
        let first = pupils[0];
        let _ = writeln!(
            out,
            "{} {}, class {} ({}, {} returned)",
            first.school,
            first.year,
            if class.is_empty() { "(none)" } else { class },
            pupils_said(pupils.len()),
            pupils.iter().filter(|p| p.return_id.is_some()).count()
        );
        let name_width = pupils
            .iter()
            .map(|p| p.pupil.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        let widths: Vec<usize> = consents
            .iter()
            .map(|c| c.id.chars().count().max(12))
            .collect();
        let _ = write!(out, "  {:name_width$}", "Pupil");
        for (consent, width) in consents.iter().zip(&widths) {
            let _ = write!(out, "  {:width$}", consent.id);
        }
        let end = out.trim_end_matches(' ').len();
        out.truncate(end);
        out.push('\n');
        for pupil in &pupils {
            let _ = write!(out, "  {:name_width$}", pupil.pupil);
            for (cell, width) in pupil.consents.iter().zip(&widths) {
                let word = match (cell.answer, &cell.settled_by) {
                    (Shown::Unclear, _) => "UNCLEAR".to_owned(),
                    (answer, Some(_)) => format!("{} (settled)", answer.as_str()),
                    (answer, None) => answer.as_str().to_owned(),
                };
                let _ = write!(out, "  {word:width$}");
            }
            let end = out.trim_end_matches(' ').len();
            out.truncate(end);
            out.push('\n');
        }
        for (i, consent) in consents.iter().enumerate() {
            let _ = writeln!(out, "  {}: {}", consent.id, said(counts(&pupils, i)));
        }
        out.push('\n');
    }
    out.push_str("Only a clear yes on a signed return is consent: not returned and unclear count as no until settled.\n");
    out
}

/// CSV for a spreadsheet: a row per pupil, a column per consent (UTF-8 with a
/// byte-order mark, CRLF, cells safe from formulas).
pub fn csv(rows: &[Row], consents: &[Consent]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut header: Vec<String> = ["school", "year", "class", "pupil", "form_id"]
        .map(str::to_owned)
        .to_vec();
    header.extend(consents.iter().map(|c| c.id.clone()));
    header.extend(["received_on".to_owned(), "method".to_owned()]);
    let _ = writer.write_record(header.iter().map(|h| spreadsheet_cell(h).into_owned()));
    for row in rows {
        let mut cells: Vec<String> = vec![
            row.school.clone(),
            row.year.clone(),
            row.class.clone(),
            row.pupil.clone(),
            row.form_id.clone(),
        ];
        cells.extend(row.consents.iter().map(|c| c.answer.as_str().to_owned()));
        cells.push(
            row.received_on
                .as_deref()
                .map(crate::clock::uk_date)
                .unwrap_or_default(),
        );
        cells.push(row.method.clone().unwrap_or_default());
        let _ = writer.write_record(cells.iter().map(|c| spreadsheet_cell(c).into_owned()));
    }
    let bytes = writer.into_inner().unwrap_or_default();
    format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A self-contained HTML page with one printed sheet per class: the consents'
/// questions, then each pupil with a mark per consent, so a teacher can see at
/// a glance who may not appear in a photo.
pub fn class_sheets(
    school_name: &str,
    rows: &[Row],
    consents: &[Consent],
    printed_on: &str,
) -> String {
    let mut body = String::new();
    for (class, pupils) in by_class(rows) {
        let first = pupils[0];
        let _ = write!(
            body,
            "<section><h1>{} <small>{}</small></h1><h2>Class {}: photo and video consents</h2>\
             <p>{}; {} returned a signed form. Printed {}.</p><ol class=\"questions\">",
            escape(school_name),
            escape(&first.year),
            escape(if class.is_empty() { "(none)" } else { class }),
            pupils_said(pupils.len()),
            pupils.iter().filter(|p| p.return_id.is_some()).count(),
            escape(printed_on)
        );
        for consent in consents {
            let _ = write!(body, "<li>{}</li>", escape(&consent.question));
        }
        body.push_str("</ol><table><thead><tr><th scope=\"col\">Pupil</th>");
        for (i, consent) in consents.iter().enumerate() {
            let _ = write!(
                body,
                "<th scope=\"col\" title=\"{}\">{}. {}</th>",
                escape(&consent.question),
                i + 1,
                escape(&consent.id)
            );
        }
        body.push_str("</tr></thead><tbody>");
        for pupil in &pupils {
            let _ = write!(body, "<tr><th scope=\"row\">{}</th>", escape(&pupil.pupil));
            for cell in &pupil.consents {
                let (mark, class) = match cell.answer {
                    Shown::Yes => ("&#10003; yes", "yes"),
                    Shown::No => ("&#10007; no", "no"),
                    Shown::Unclear => ("? unclear: not yet", "unclear"),
                    Shown::NotReturned => ("&#10007; not returned", "missing"),
                };
                let _ = write!(body, "<td class=\"{class}\">{mark}</td>");
            }
            body.push_str("</tr>");
        }
        body.push_str("</tbody><tfoot><tr><th scope=\"row\">May appear</th>");
        for i in 0..consents.len() {
            let c = counts(&pupils, i);
            let _ = write!(body, "<td>{} of {}</td>", c.yes, pupils.len());
        }
        body.push_str(
            "</tr></tfoot></table><p class=\"rule\">Only a &#10003; yes is consent. \
             A form not returned, and an unclear answer the office has not settled, mean no.</p></section>",
        );
    }
    if body.is_empty() {
        body.push_str("<p>No parents' forms are issued for this school year.</p>");
    }
    format!(
        "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Consents by class: {}</title><style>\
         body{{font-family:Arial,Helvetica,sans-serif;margin:1.5em;color:#1a1a1a}}\
         h1{{font-size:1.3em;margin:0}}h1 small{{color:#555;font-weight:normal}}h2{{font-size:1.1em;color:#1f4e79}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #999;padding:4px 6px;text-align:left}}\
         td.yes{{color:#1b5e20}}td.no,td.missing{{color:#b71c1c;font-weight:bold}}td.unclear{{color:#8a4b00;font-weight:bold}}\
         .questions{{margin:.3em 0 .8em}}.rule{{font-size:.9em}}\
         @media print{{section{{break-after:page}}body{{margin:0}}}}</style></head><body>{body}</body></html>\n",
        escape(school_name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{RecordedAnswer, ReturnedConsents};
    use crate::consents::ConsentAnswer;

    fn consent(id: &str) -> Consent {
        Consent {
            id: id.into(),
            question: format!("May we use {id}?"),
        }
    }

    fn entry(name: &str, class: &str, answers: Option<&[Answer]>) -> ConsentEntry {
        ConsentEntry {
            form_id: format!("F-{name}"),
            person_key: name.to_lowercase(),
            name: Some(name.into()),
            class: Some(class.into()),
            returned: answers.map(|answers| ReturnedConsents {
                return_id: 1,
                ingested_at: "2025-09-10T09:00:00Z".into(),
                method: "paper".into(),
                answers: answers
                    .iter()
                    .zip(["website", "press"])
                    .map(|(answer, id)| RecordedAnswer {
                        read: ConsentAnswer {
                            consent: id.into(),
                            answer: *answer,
                            how: String::new(),
                        },
                        decided: None,
                    })
                    .collect(),
            }),
        }
    }

    #[test]
    fn a_pupil_not_returned_counts_as_no_and_only_yes_allows() {
        let consents = [consent("website"), consent("press")];
        let entries = [
            entry("Ada", "4B", Some(&[Answer::Yes, Answer::No])),
            entry("Ben", "4B", None),
            entry("Cal", "4B", Some(&[Answer::Unclear, Answer::Yes])),
            entry("Dee", "5A", Some(&[Answer::Yes, Answer::Yes])),
        ];
        let rows = rows("pakeman", "2025-26", &consents, &entries, Some("4b"));
        assert_eq!(rows.len(), 3);
        let pupils: Vec<&Row> = rows.iter().collect();
        let website = counts(&pupils, 0);
        assert_eq!(
            website,
            Counts {
                yes: 1,
                no: 0,
                unclear: 1,
                not_returned: 1
            }
        );
        assert_eq!(
            said(website),
            "1 yes; 2 may not (0 no, 1 not returned, 1 unclear)"
        );
        assert!(!rows[1].consents[0].answer.allows());
        let table = table(&rows, &consents);
        assert!(table.contains("class 4B (3 pupils, 2 returned)"), "{table}");
        assert!(table.contains("UNCLEAR"), "{table}");
    }

    #[test]
    fn csv_cells_are_safe_to_open() {
        let consents = [consent("website"), consent("press")];
        let entries = [entry("=HYPERLINK(\"x\")", "4B", None)];
        let csv = csv(&rows("s", "2025-26", &consents, &entries, None), &consents);
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("'=HYPERLINK"), "{csv}");
        assert!(csv.contains("not returned,not returned"), "{csv}");
    }

    #[test]
    fn the_class_sheet_escapes_what_the_class_list_says() {
        let consents = [consent("website")];
        let entries = [entry("<b>Eve</b>", "4B", Some(&[Answer::Yes]))];
        let html = class_sheets(
            "Pakeman <Primary>",
            &rows("s", "2025-26", &consents, &entries, None),
            &consents,
            "3 December 2026",
        );
        assert!(html.contains("&lt;b&gt;Eve&lt;/b&gt;"));
        assert!(html.contains("Pakeman &lt;Primary&gt;"));
        assert!(!html.contains("<b>Eve"));
    }
}
