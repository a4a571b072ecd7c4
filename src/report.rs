//! `aup status`: who has signed the current policy, per school and year. The
//! roster says who should have; the issue register and the returns say who did.
//! One set of rows, four views: a terminal table, CSV for Excel, JSON, and a
//! self-contained HTML page for governors.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::archive::IssuedWithReturns;
use crate::config::roster::Person;
use crate::verdict::Verdict;

/// Where one person stands with the current policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// An accepted return of the current version.
    Signed,
    /// A return of the current version with something missing.
    Incomplete,
    /// Signed an older version only.
    Outdated,
    /// The latest return of the current version was rejected (tampered).
    Rejected,
    /// Nothing returned.
    Outstanding,
}

impl State {
    pub const ALL: [State; 5] = [
        Self::Signed,
        Self::Incomplete,
        Self::Outdated,
        Self::Rejected,
        Self::Outstanding,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signed => "signed",
            Self::Incomplete => "incomplete",
            Self::Outdated => "outdated",
            Self::Rejected => "rejected",
            Self::Outstanding => "outstanding",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one person stands.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatusRow {
    pub school: String,
    pub year: String,
    pub name: String,
    pub role: String,
    pub state: State,
    pub form_id: Option<String>,
    /// The date the person wrote on the accepted return, as written; `None`
    /// for paper, where handwriting is not read.
    pub signed_on: Option<String>,
    /// The day the accepted return was received and filed (YYYY-MM-DD, UK).
    pub received_on: Option<String>,
    /// How it was signed: paper (scan), pdf, certificate.
    pub method: Option<String>,
    pub missing: Vec<String>,
    /// False for someone who returned a form but is not on the roster now.
    pub on_roster: bool,
    /// When the last message to them was refused or bounced: the address and
    /// the server's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_problem: Option<String>,
    /// The AUP: `staff`, `ks2`, `parents`...
    pub aup: String,
    /// For the pupils' and parents' AUPs: the pupil's class (their row's
    /// `role`) and year group, by which the report is grouped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_group: Option<String>,
}

/// The status of everyone on `roster`, and of anyone else who returned a form,
/// against the `current` policy version.
pub fn rows(
    school: &str,
    year: &str,
    roster: &[Person],
    forms: &[IssuedWithReturns],
    current: Option<&str>,
) -> Vec<StatusRow> {
    let mut by_person: BTreeMap<&str, Vec<&IssuedWithReturns>> = BTreeMap::new();
    for form in forms {
        by_person
            .entry(form.person_key.as_str())
            .or_default()
            .push(form);
    }
    let mut out = Vec::new();
    for person in roster {
        let key = person.key();
        let forms = by_person.remove(key.as_str()).unwrap_or_default();
        out.push(row(
            school,
            year,
            &person.name,
            &person.role,
            &forms,
            current,
            true,
        ));
    }
    // Returns from people no longer (or never) on the roster: listed, not lost.
    for forms in by_person.into_values() {
        if forms.iter().all(|f| f.returns.is_empty()) {
            continue;
        }
        let name = forms
            .iter()
            .find_map(|f| f.name.clone())
            .unwrap_or_else(|| "(blank form)".into());
        let role = forms
            .iter()
            .find_map(|f| f.role.clone())
            .unwrap_or_default();
        out.push(row(school, year, &name, &role, &forms, current, false));
    }
    out
}

fn row(
    school: &str,
    year: &str,
    name: &str,
    role: &str,
    forms: &[&IssuedWithReturns],
    current: Option<&str>,
    on_roster: bool,
) -> StatusRow {
    let is_current = |f: &&&IssuedWithReturns| Some(f.fingerprint.as_str()) == current;
    let accepted = |f: &&&IssuedWithReturns| {
        f.returns
            .iter()
            .rev()
            .find(|r| r.verdict == Verdict::Accepted)
            .cloned()
    };
    let mut status = StatusRow {
        school: school.to_owned(),
        year: year.to_owned(),
        name: name.to_owned(),
        role: role.to_owned(),
        state: State::Outstanding,
        form_id: forms.iter().find(is_current).map(|f| f.form_id.clone()),
        signed_on: None,
        received_on: None,
        method: None,
        missing: Vec::new(),
        on_roster,
        mail_problem: None,
        aup: "staff".to_owned(),
        class: None,
        year_group: None,
    };
    if let Some((form, signed)) = forms
        .iter()
        .filter(is_current)
        .find_map(|f| accepted(&f).map(|r| (f, r)))
    {
        status.state = State::Signed;
        status.form_id = Some(form.form_id.clone());
        status.signed_on = signed.signed_date.clone();
        status.received_on = Some(crate::clock::uk_day_iso(&signed.ingested_at));
        status.method = Some(signed.method);
    } else if let Some(last) = forms
        .iter()
        .filter(is_current)
        .flat_map(|f| f.returns.last())
        .last()
    {
        match last.verdict {
            // Tampered: nothing of it counts, and the person is chased again.
            Verdict::Rejected => {
                status.state = State::Rejected;
                status.missing = vec!["a return that is not tampered with".into()];
            }
            _ => {
                status.state = State::Incomplete;
                status.missing = last.missing.clone();
            }
        }
    } else if forms.iter().any(|f| accepted(&f).is_some()) {
        status.state = State::Outdated;
        status.missing = vec!["the current policy version".into()];
    }
    status
}

/// Counts by state, in a fixed order; `rejected` only when there is one (it is
/// rare, and a zero would be noise on every line).
pub fn totals(rows: &[StatusRow]) -> Vec<(&'static str, usize)> {
    let count = |state: State| rows.iter().filter(|r| r.state == state).count();
    State::ALL
        .into_iter()
        .map(|state| (state.as_str(), count(state)))
        .filter(|&(state, n)| n > 0 || state != State::Rejected.as_str())
        .collect()
}

/// A plain-text table, one block per school with its totals; `colour` adds ANSI
/// colours to the states.
pub fn table(rows: &[StatusRow], colour: bool) -> String {
    let mut out = String::new();
    let paint = |state: State| -> String {
        let code = match state {
            State::Signed => "32",
            State::Incomplete | State::Outdated => "33",
            State::Rejected | State::Outstanding => "31",
        };
        let state = state.as_str();
        match colour {
            true => format!("\x1b[{code}m{state:<11}\x1b[0m"),
            false => format!("{state:<11}"),
        }
    };
    for (heading, rows) in by_section(rows) {
        let name_width = rows
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let role_width = rows
            .iter()
            .map(|r| r.role.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(out, "{heading}");
        for r in &rows {
            let detail = match r.state {
                State::Signed => {
                    let signed = r
                        .signed_on
                        .as_deref()
                        .map(|day| format!("signed {day}, "))
                        .unwrap_or_default();
                    let received = r.received_on.as_deref().map(crate::clock::uk_date);
                    format!(
                        "{signed}received {} ({})",
                        received.as_deref().unwrap_or("?"),
                        r.method.as_deref().unwrap_or("")
                    )
                }
                _ => r.missing.join(", "),
            };
            let note = if r.on_roster {
                ""
            } else {
                " (not on the roster)"
            };
            let _ = writeln!(
                out,
                "  {:name_width$}  {:role_width$}  {}  {:15}  {}{note}",
                r.name,
                r.role,
                paint(r.state),
                r.form_id.as_deref().unwrap_or("-"),
                detail.trim(),
            );
        }
        let totals: Vec<String> = totals(&rows)
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let _ = writeln!(out, "  {} people: {}\n", rows.len(), totals.join(", "));
    }
    let years = by_year_group(rows);
    if !years.is_empty() {
        let _ = writeln!(out, "By year group");
        for (year_group, rows) in years {
            let totals: Vec<String> = totals(&rows)
                .iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect();
            let _ = writeln!(
                out,
                "  {year_group}: {} people: {}",
                rows.len(),
                totals.join(", ")
            );
        }
        out.push('\n');
    }
    out
}

/// A cell as a spreadsheet may be given it: text starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return would be read as a formula (a roster name
/// `=HYPERLINK(...)` runs when the file is opened), so it gets a leading `'`,
/// which Excel, LibreOffice and Google Sheets show as text (OWASP's advice for
/// CSV injection). JSON keeps the value as it is.
pub fn spreadsheet_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => std::borrow::Cow::Owned(format!("'{text}")),
        false => std::borrow::Cow::Borrowed(text),
    }
}

/// CSV that opens cleanly in Excel: UTF-8 with a byte-order mark, CRLF lines,
/// UK dates (`14/09/2025`), and no cell a spreadsheet would run as a formula
/// ([`spreadsheet_cell`]).
pub fn csv(rows: &[StatusRow]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = writer.write_record([
        "school",
        "year",
        "name",
        "role",
        "state",
        "form_id",
        "signed_on",
        "received_on",
        "method",
        "missing",
        "on_roster",
        "aup",
        "class",
        "year_group",
    ]);
    for r in rows {
        let received = r.received_on.as_deref().map(crate::clock::uk_date);
        let cells = [
            r.school.as_str(),
            r.year.as_str(),
            r.name.as_str(),
            r.role.as_str(),
            r.state.as_str(),
            r.form_id.as_deref().unwrap_or(""),
            r.signed_on.as_deref().unwrap_or(""),
            received.as_deref().unwrap_or(""),
            r.method.as_deref().unwrap_or(""),
            &r.missing.join("; "),
            if r.on_roster { "yes" } else { "no" },
            r.aup.as_str(),
            r.class.as_deref().unwrap_or(""),
            r.year_group.as_deref().unwrap_or(""),
        ];
        let _ = writer.write_record(cells.map(spreadsheet_cell).iter().map(|c| c.as_bytes()));
    }
    let bytes = writer.into_inner().unwrap_or_default();
    format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
}

/// A self-contained HTML report (no external assets): per school a progress bar
/// and the people still to sign, fit to print and to email.
pub fn html(rows: &[StatusRow], generated_on: &str) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut body = String::new();
    for (heading, rows) in by_section(rows) {
        let (school, year) = heading.split_once(' ').unwrap_or((&heading, ""));
        let signed = rows.iter().filter(|r| r.state == State::Signed).count();
        let percent = match rows.len() {
            0 => 0,
            n => signed * 100 / n,
        };
        let _ = write!(
            body,
            "<section><h2>{} <small>{}</small></h2>\
             <div class=\"bar\" role=\"progressbar\" aria-valuenow=\"{percent}\" aria-valuemin=\"0\" aria-valuemax=\"100\">\
             <div style=\"width:{percent}%\"></div></div><p>{signed} of {} signed ({percent}%): {}</p>",
            escape(school),
            escape(year),
            rows.len(),
            totals(&rows)
                .iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let pending: Vec<&StatusRow> = rows.iter().filter(|r| r.state != State::Signed).collect();
        if pending.is_empty() {
            body.push_str("<p>Everyone has signed the current policy.</p>");
        } else {
            body.push_str("<table><thead><tr><th>Name</th><th>Role</th><th>State</th><th>What is missing</th></tr></thead><tbody>");
            for r in pending {
                let _ = write!(
                    body,
                    "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    r.state,
                    escape(&r.name),
                    escape(&r.role),
                    r.state,
                    escape(&r.missing.join(", "))
                );
            }
            body.push_str("</tbody></table>");
        }
        body.push_str("</section>");
    }
    format!(
        "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">\
         <title>Acceptable Use Policy: who has signed</title><style>\
         body{{font-family:Arial,Helvetica,sans-serif;margin:2em;color:#1a1a1a}}\
         h1{{color:#1f4e79}}h2{{color:#1f4e79;margin-bottom:.3em}}small{{color:#666;font-weight:normal}}\
         .bar{{background:#e6e6e6;border-radius:4px;height:14px;width:100%;max-width:40em}}\
         .bar div{{background:#2e7d32;height:14px;border-radius:4px}}\
         table{{border-collapse:collapse;margin-top:.5em}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}\
         tr.outstanding td:nth-child(3){{color:#b71c1c}}tr.incomplete td:nth-child(3),tr.outdated td:nth-child(3){{color:#a15c00}}\
         @media print{{section{{break-inside:avoid}}}}</style></head><body>\
         <h1>Acceptable Use Policy: who has signed</h1><p>Report of {}.</p>{body}</body></html>\n",
        escape(generated_on)
    )
}

/// The rows in sections, in the order they come: one per school (and AUP,
/// when it is not the staff one), and for the pupils' and parents' AUPs one
/// per class, each with its heading: `pakeman 2025-26`, `pakeman 2025-26 ks2,
/// class 4B`.
fn by_section(rows: &[StatusRow]) -> Vec<(String, Vec<StatusRow>)> {
    let mut sections: Vec<(String, Vec<StatusRow>)> = Vec::new();
    for r in rows {
        let mut heading = format!("{} {}", r.school, r.year);
        if r.aup != "staff" {
            heading.push_str(&format!(" {}", r.aup));
        }
        if let Some(class) = &r.class {
            heading.push_str(&format!(", class {class}"));
        }
        match sections.iter_mut().find(|(h, _)| *h == heading) {
            Some((_, list)) => list.push(r.clone()),
            None => sections.push((heading, vec![r.clone()])),
        }
    }
    sections
}

/// The rows of each year group, in the order the year groups come; none for
/// the staff AUP.
fn by_year_group(rows: &[StatusRow]) -> Vec<(String, Vec<StatusRow>)> {
    let mut years: Vec<(String, Vec<StatusRow>)> = Vec::new();
    for r in rows {
        let Some(year_group) = &r.year_group else {
            continue;
        };
        match years.iter_mut().find(|(y, _)| y == year_group) {
            Some((_, list)) => list.push(r.clone()),
            None => years.push((year_group.clone(), vec![r.clone()])),
        }
    }
    years
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ReturnSummary;

    fn person(name: &str, id: &str) -> Person {
        Person {
            name: name.into(),
            role: "Teacher".into(),
            staff_id: Some(id.into()),
            email: None,
            line: 2,
        }
    }

    fn form(
        id: &str,
        key: &str,
        fingerprint: &str,
        verdicts: &[(&str, &[&str])],
    ) -> IssuedWithReturns {
        IssuedWithReturns {
            form_id: id.into(),
            person_key: key.into(),
            name: Some(format!("Person {key}")),
            role: Some("TA".into()),
            fingerprint: fingerprint.into(),
            returns: verdicts
                .iter()
                .map(|(v, m)| ReturnSummary {
                    verdict: Verdict::parse(v).unwrap(),
                    missing: m.iter().map(|s| s.to_string()).collect(),
                    method: "paper".into(),
                    ingested_at: "2025-10-02T09:00:00Z".into(),
                    signed_date: None,
                })
                .collect(),
        }
    }

    #[test]
    fn states_follow_the_current_policy_version() {
        let roster = [
            person("A", "1"),
            person("B", "2"),
            person("C", "3"),
            person("D", "4"),
        ];
        let forms = [
            form(
                "F1",
                "id:1",
                "new",
                &[("incomplete", &["date"]), ("accepted", &[])],
            ),
            form("F2", "id:2", "new", &[("incomplete", &["signature"])]),
            form("F3old", "id:3", "old", &[("accepted", &[])]),
            form("F3", "id:3", "new", &[]),
            form("F9", "id:9", "new", &[("accepted", &[])]),
        ];
        let rows = rows("pakeman", "2025-26", &roster, &forms, Some("new"));
        let states: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.name.as_str(), r.state.as_str()))
            .collect();
        assert_eq!(
            states,
            [
                ("A", "signed"),
                ("B", "incomplete"),
                ("C", "outdated"),
                ("D", "outstanding"),
                ("Person id:9", "signed")
            ]
        );
        assert_eq!(rows[0].received_on.as_deref(), Some("2025-10-02"));
        assert_eq!(rows[0].signed_on, None);
        assert_eq!(rows[1].missing, ["signature"]);
        assert_eq!(rows[2].form_id.as_deref(), Some("F3"));
        assert!(!rows[4].on_roster);
        assert_eq!(
            totals(&rows),
            [
                ("signed", 2),
                ("incomplete", 1),
                ("outdated", 1),
                ("outstanding", 1)
            ]
        );
    }

    #[test]
    fn a_rejected_current_return_is_rejected_and_chased() {
        let roster = [person("A", "1"), person("B", "2")];
        let forms = [
            form("F1", "id:1", "new", &[("rejected", &[])]),
            form("F2", "id:2", "new", &[("accepted", &[]), ("rejected", &[])]),
        ];
        let rows = rows("pakeman", "2025-26", &roster, &forms, Some("new"));
        assert_eq!(rows[0].state, State::Rejected);
        assert!(!rows[0].missing.is_empty());
        // An accepted return stands; a later tampered copy does not undo it.
        assert_eq!(rows[1].state, State::Signed);
        assert!(
            table(&rows, false)
                .contains("1 signed, 0 incomplete, 0 outdated, 1 rejected, 0 outstanding")
        );
        assert!(html(&rows, "2025-10-03").contains("<td>rejected</td>"));
    }

    #[test]
    fn views_are_well_formed() {
        let roster = [person("Siân <O’Brien>", "1")];
        let rows = rows("pakeman", "2025-26", &roster, &[], Some("new"));
        let csv = csv(&rows);
        assert!(csv.starts_with('\u{feff}') && csv.contains("\r\n"));
        let html = html(&rows, "2025-10-03");
        assert!(html.contains("Siân &lt;O’Brien&gt;") && !html.contains("<O’Brien>"));
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("src="));
        assert!(table(&rows, false).contains("0 signed, 0 incomplete, 0 outdated, 1 outstanding"));
        assert!(table(&rows, true).contains("\x1b[31m"));
    }

    #[test]
    fn formula_like_cells_are_neutralised_and_others_kept() {
        for risky in [
            "=HYPERLINK(\"http://x\",\"Click\")",
            "+44 20",
            "-1+1",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(spreadsheet_cell(risky), format!("'{risky}"));
        }
        for plain in [
            "Amelia Hart",
            "O'Brien",
            "",
            "Head = DSL",
            "teacher-in-charge",
        ] {
            assert_eq!(spreadsheet_cell(plain), plain);
        }
    }
}
