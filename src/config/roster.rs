//! The staff roster, `schools/<slug>.staff.csv`: who gets a personal form. Schools
//! export it from their MIS, so the header spellings of SIMS, Arbor and Bromcom
//! exports are all understood, and a bad row is reported with its line number.

use std::path::{Path, PathBuf};

use super::mis_csv::Table;

/// One person on the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub role: String,
    pub staff_id: Option<String>,
    pub email: Option<String>,
    /// The CSV line the person came from, for messages.
    pub line: u64,
}

impl Person {
    /// What identifies a person across runs: the staff id when the MIS gives one,
    /// else the name with case and spacing normalised.
    pub fn key(&self) -> String {
        match &self.staff_id {
            Some(id) => format!("id:{}", id.trim().to_lowercase()),
            None => format!("name:{}", normalise_name(&self.name)),
        }
    }
}

fn normalise_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A roster problem, with the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}{}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), hint.as_ref().map(|h| format!("\n  = hint: {h}")).unwrap_or_default())]
pub struct RosterError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub message: String,
    pub hint: Option<String>,
}

/// Header spellings, lower-cased with spaces, dashes and underscores removed.
const FULL_NAME: &[&str] = &[
    "name",
    "fullname",
    "staffname",
    "displayname",
    "employeename",
];
const FIRST_NAME: &[&str] = &[
    "forename",
    "firstname",
    "preferredforename",
    "knownas",
    "preferredfirstname",
    "legalforename",
    "givenname",
];
const LAST_NAME: &[&str] = &[
    "surname",
    "lastname",
    "legalsurname",
    "preferredsurname",
    "familyname",
];
const ROLE: &[&str] = &[
    "role",
    "jobtitle",
    "post",
    "position",
    "staffrole",
    "roles",
    "title",
    "jobrole",
    "contracttype",
];
const STAFF_ID: &[&str] = &[
    "staffid",
    "staffcode",
    "employeeid",
    "employeenumber",
    "payrollnumber",
    "id",
    "upn",
    "misid",
    "personid",
];
const EMAIL: &[&str] = &[
    "email",
    "emailaddress",
    "workemail",
    "schoolemail",
    "primaryemail",
    "email1",
];

/// The roster file of a school, `<dir>/<slug>.staff.csv`.
pub fn roster_path(schools_dir: &Path, slug: &str) -> PathBuf {
    schools_dir.join(format!("{slug}.staff.csv"))
}

/// A roster of 2,000 people with every column an MIS exports is about 1 MB.
pub const MAX_ROSTER_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a roster. Every row must have a name; people appear once.
pub fn read(file: &Path) -> Result<Vec<Person>, RosterError> {
    people(&Table::read(file, MAX_ROSTER_BYTES, "roster")?)
}

/// The people of a parsed roster.
fn people(table: &Table) -> Result<Vec<Person>, RosterError> {
    let full = table.column(FULL_NAME);
    let first = table.column(FIRST_NAME);
    let last = table.column(LAST_NAME);
    if full.is_none() && (first.is_none() || last.is_none()) {
        return Err(table.error(
            Some(1),
            format!("no name column among the headers: {}", table.headers()),
            Some(
                "name the column `Name`, or give `Forename` and `Surname` (SIMS, Arbor and Bromcom spellings work)",
            ),
        ));
    }
    let Some(role) = table.column(ROLE) else {
        return Err(table.error(
            Some(1),
            format!("no role column among the headers: {}", table.headers()),
            Some("name the column `Role` or `Job Title`"),
        ));
    };
    let staff_id = table.column(STAFF_ID);
    let email = table.column(EMAIL);

    let mut people: Vec<Person> = Vec::new();
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for row in &table.rows {
        let line = row.line;
        let name = match (row.get(full), row.get(first), row.get(last)) {
            (Some(full), _, _) => full.to_owned(),
            (None, Some(first), Some(last)) => format!("{first} {last}"),
            _ => return Err(table.error(Some(line), "this row has no name".into(), None)),
        };
        let Some(role) = row.get(Some(role)) else {
            return Err(table.error(
                Some(line),
                format!("{name} has no role"),
                Some("the role is printed on the form; write e.g. Teacher, Governor, Volunteer"),
            ));
        };
        check_name(table, line, &name)?;
        let person = Person {
            name,
            role: role.to_owned(),
            staff_id: row.get(staff_id).map(String::from),
            email: row.get(email).map(String::from),
            line,
        };
        // One key per person, looked up: a 2,000-line roster stays linear.
        if let Some(earlier) = seen.insert(person.key(), line) {
            return Err(table.error(
                Some(line),
                format!("{} is already on line {earlier}", person.name),
                Some(
                    "remove the repeat, or add a staff id column to tell two people of one name apart",
                ),
            ));
        }
        people.push(person);
    }
    Ok(people)
}

/// Refuses what cannot be a name printed on a form.
pub(super) fn check_name(table: &Table, line: u64, name: &str) -> Result<(), RosterError> {
    match name.chars().count() > 80 || name.chars().any(char::is_control) {
        true => Err(table.error(
            Some(line),
            format!("`{name}` does not look like a person's name"),
            None,
        )),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(text: &str) -> Result<Vec<Person>, RosterError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.staff.csv");
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    #[test]
    fn reads_mis_exports() {
        // SIMS-like
        let p = roster("\u{feff}Staff Code,Forename,Surname,Job Title,Email Address\nJS1,Jane,Smith,Teacher,j@x.sch.uk\n").unwrap();
        assert_eq!(p[0].name, "Jane Smith");
        assert_eq!(p[0].role, "Teacher");
        assert_eq!(p[0].staff_id.as_deref(), Some("JS1"));
        assert_eq!(p[0].email.as_deref(), Some("j@x.sch.uk"));
        // Arbor-like
        let p = roster("First name,Last name,Job title\nSiân,O’Brien,TA\n").unwrap();
        assert_eq!(p[0].name, "Siân O’Brien");
        // Plain
        let p = roster("name,role\n\"Smith, Jane\",Governor\n\n,\n").unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].name, "Smith, Jane");
        assert_eq!(p[0].key(), "name:smith, jane");
    }

    #[test]
    fn a_roster_linked_to_a_device_is_refused_not_read_for_ever() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.staff.csv");
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let e = read(&path).unwrap_err();
        assert_eq!(e.file, path);
        assert!(e.message.contains("not a regular file"), "{e}");
    }

    #[test]
    fn bad_rows_name_their_line() {
        let e = roster("name,role\nJane Smith,Teacher\nBob, Jones,TA\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("3 fields but the header has 2"), "{e}");
        let e = roster("name,role\nJane Smith,\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("has no role"));
        let e = roster("name,role\nJane Smith,Teacher\njane  smith,TA\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("already on line 2"), "{e}");
        let e = roster("who,what\nx,y\n").unwrap_err();
        assert!(e.message.contains("no name column"));
        let e = roster("name,colour\nx,y\n").unwrap_err();
        assert!(e.message.contains("no role column"));
    }
}
