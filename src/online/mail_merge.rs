//! The list of people and their personal signing links, for a mail merge:
//! made by `aup links` and by the office's page on `aup serve`, the same rows
//! and the same CSV. Missing links are made as the list is drawn up (one
//! audited change); a form whose last link its recipient said was not theirs
//! gets no new one unless the office asks for it by form id.

use serde::Serialize;

use super::links::{self, LinkKey};
use crate::archive::{Archive, NewLink};
use crate::config::aups::AupKind;
use crate::config::roster::Person;
use crate::report::{self, State, StatusRow};

/// What the list is drawn up for.
pub struct Wanted<'a> {
    /// The address people reach `aup serve` at.
    pub public_url: &'a str,
    /// The last day new links open the signing page (YYYY-MM-DD).
    pub expires: &'a str,
    /// Also people who have signed already.
    pub all: bool,
    /// Forms to make a new link for although their last one was reported.
    pub renew: &'a [String],
    /// Who asks, for the audit log.
    pub by: &'a str,
}

/// One person's line.
#[derive(Debug, Clone, Serialize)]
pub struct LinkRow {
    pub name: String,
    pub email: String,
    pub role: String,
    pub form_id: String,
    pub state: String,
    pub expires: String,
    pub link: String,
}

/// The list, and what was left out and why.
pub struct LinkList {
    pub rows: Vec<LinkRow>,
    /// How many links were made now.
    pub made: usize,
    /// People whose link was reported as not theirs: (name, form id, when).
    pub held_back: Vec<(String, String, String)>,
}

/// A school year's roll as links and invitations need it: the school file,
/// the roster, everyone's state, and the current policy version.
pub struct Roll {
    pub school: crate::config::LoadedSchool,
    pub people: Vec<Person>,
    pub rows: Vec<StatusRow>,
    pub current: String,
}

impl Roll {
    /// Reads `school`'s file from `schools`, the people of `aup` (the staff
    /// roster; for the parents' AUP each pupil, with their parent's address),
    /// and the year's forms of that AUP.
    pub fn read(
        archive: &Archive,
        schools: &std::path::Path,
        school: &str,
        year: &str,
        aup: AupKind,
    ) -> Result<Self, String> {
        use crate::config;
        let files = crate::cli::select_schools(schools, &[school.to_owned()])?;
        let loaded = config::load(&files[0]).map_err(|e| e.to_string())?;
        if !loaded.config.aups.contains(&aup) {
            return Err(format!("{school} does not use the {aup} AUP"));
        }
        let people = crate::config::aups::people_of(&loaded, aup).map_err(|e| e.to_string())?;
        let current = archive
            .current_fingerprint_of(school, year, aup)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!("{school} has no {aup} forms issued for {year}: run aup generate first")
            })?;
        let forms = archive
            .forms_with_returns(school, year, aup)
            .map_err(|e| e.to_string())?;
        let rows = report::rows(school, year, &people, &forms, Some(&current));
        Ok(Self {
            school: loaded,
            people,
            rows,
            current,
        })
    }

    /// The roster's address of the person on `row`.
    pub fn email_of(&self, row: &StatusRow) -> Option<&str> {
        self.people
            .iter()
            .find(|p| p.name == row.name)
            .and_then(|p| p.email.as_deref())
            .filter(|e| !e.trim().is_empty())
    }
}

/// How long new links of a year already over stay open: the office is
/// chasing the last few.
pub const LATE_LINK_DAYS: i64 = 28;

/// The last day new links open by default: the end of the academic year, or
/// for a year already over, [`LATE_LINK_DAYS`] from today.
pub fn default_expiry(year: crate::config::AcademicYear, today: time::Date) -> time::Date {
    let end = year.last_day();
    match end >= today {
        true => end,
        false => today + time::Duration::days(LATE_LINK_DAYS),
    }
}

/// Checks a public address: a web address, without a path's query or token.
pub fn check_public_url(url: &str) -> Result<(), String> {
    let plain = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match plain {
        Some(rest) if !rest.is_empty() && !rest.contains(['?', '#', ' ', '"', '<', '>']) => Ok(()),
        _ => Err(format!(
            "--public-url `{url}` is not a web address: give it like https://aup.school.example"
        )),
    }
}

/// The links of everyone on the roster with a current form (or of those yet to
/// sign), making the missing ones.
pub fn draw_up(
    archive: &Archive,
    key: &LinkKey,
    rows: &[StatusRow],
    people: &[Person],
    current: &str,
    wanted: &Wanted<'_>,
) -> Result<LinkList, String> {
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let chosen: Vec<&StatusRow> = rows
        .iter()
        .filter(|r| r.on_roster && r.form_id.is_some())
        .filter(|r| wanted.all || r.state != State::Signed)
        .collect();
    let mut new = Vec::new();
    let mut held_back = Vec::new();
    for row in &chosen {
        let form_id = row.form_id.as_deref().unwrap_or_default();
        let live = archive
            .live_link(form_id, current, &today)
            .map_err(|e| e.to_string())?;
        if live.is_some() {
            continue;
        }
        let reported = archive
            .reported_link(form_id, current)
            .map_err(|e| e.to_string())?;
        let renew = wanted
            .renew
            .iter()
            .any(|f| f.trim().eq_ignore_ascii_case(form_id));
        if let Some(at) = reported.filter(|_| !renew) {
            held_back.push((row.name.clone(), form_id.to_owned(), at));
            continue;
        }
        let nonce = links::new_nonce()?;
        let token_sha256 = links::token_sha256(&key.token(&nonce));
        new.push(NewLink {
            form_id,
            fingerprint: current,
            nonce,
            token_sha256,
        });
    }
    archive
        .add_links(&new, wanted.expires, wanted.by)
        .map_err(|e| e.to_string())?;

    let mut list = Vec::new();
    for row in &chosen {
        let form_id = row.form_id.as_deref().unwrap_or_default();
        let Some(link) = archive
            .live_link(form_id, current, &today)
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        let email = people
            .iter()
            .find(|p| p.name == row.name)
            .and_then(|p| p.email.clone())
            .unwrap_or_default();
        list.push(LinkRow {
            name: row.name.clone(),
            email,
            role: row.role.clone(),
            form_id: form_id.to_owned(),
            state: format!("{:?}", row.state).to_lowercase(),
            expires: link.expires_on,
            link: links::url(wanted.public_url, &key.token(&link.nonce)),
        });
    }
    Ok(LinkList {
        rows: list,
        made: new.len(),
        held_back,
    })
}

/// The list as CSV for a spreadsheet or a mail merge: a byte-order mark, CRLF
/// line ends, and cells a spreadsheet never reads as formulas.
pub fn csv(rows: &[LinkRow]) -> String {
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = csv.write_record([
        "name", "email", "role", "form_id", "state", "expires", "link",
    ]);
    for row in rows {
        let cells = [
            &row.name,
            &row.email,
            &row.role,
            &row.form_id,
            &row.state,
            &row.expires,
            &row.link,
        ];
        let _ = csv.write_record(cells.map(|c| report::spreadsheet_cell(c).into_owned()));
    }
    let bytes = csv.into_inner().unwrap_or_default();
    format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_of_a_year_already_over_stay_open_four_weeks() {
        let year: crate::config::AcademicYear = "2025-26".parse().unwrap();
        let date = |y, m, d| time::Date::from_calendar_date(y, m, d).unwrap();
        assert_eq!(
            default_expiry(year, date(2026, time::Month::March, 1)),
            date(2026, time::Month::August, 31)
        );
        assert_eq!(
            default_expiry(year, date(2026, time::Month::December, 4)),
            date(2027, time::Month::January, 1)
        );
    }

    #[test]
    fn a_public_address_is_a_web_address() {
        assert!(check_public_url("https://aup.school.example").is_ok());
        assert!(check_public_url("http://127.0.0.1:8080/").is_ok());
        for bad in [
            "aup.school.example",
            "https://",
            "https://a.example/?x=1",
            "ftp://a",
        ] {
            assert!(check_public_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_mail_merge_csv_keeps_formulas_out() {
        let row = LinkRow {
            name: "=HYPERLINK(\"x\")".into(),
            email: "a@b.example".into(),
            role: "Teacher".into(),
            form_id: "PAK-2526-0001-A".into(),
            state: "outstanding".into(),
            expires: "2026-08-31".into(),
            link: "https://a.example/s/t".into(),
        };
        let text = csv(&[row]);
        assert!(text.starts_with("\u{feff}name,email,"));
        assert!(text.contains("\r\n\"'=HYPERLINK"), "{text}");
    }
}
