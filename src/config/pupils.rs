//! The class lists, `schools/<slug>.pupils.csv`: every pupil with their class
//! and year group, as SIMS, Arbor and Bromcom export them (any of their
//! header spellings), and up to two contacts who sign for them. A pupil's
//! key stage, and so which AUP they are given, follows their year group. A
//! bad row is reported with its line.

use std::path::{Path, PathBuf};

use super::mis_csv::{Row, Table};
use super::roster::{RosterError, check_name};

/// The class list file of a school, `<dir>/<slug>.pupils.csv`.
pub fn pupils_path(schools_dir: &Path, slug: &str) -> PathBuf {
    schools_dir.join(format!("{slug}.pupils.csv"))
}

/// A 2,000-pupil secondary's export with two contacts each is about 1 MB.
pub const MAX_PUPILS_BYTES: u64 = 16 * 1024 * 1024;

/// One pupil.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pupil {
    /// As the school calls them: the preferred forename where there is one.
    pub name: String,
    /// The legal name, when the preferred one differs from it.
    pub legal_name: Option<String>,
    /// Registration group or class, printed on the form and used to sort.
    pub class: String,
    pub year: YearGroup,
    /// The UPN, or else the admission number.
    pub pupil_id: Option<String>,
    pub date_of_birth: Option<time::Date>,
    /// In the MIS's priority order; at most two.
    pub contacts: Vec<Contact>,
    /// The class teacher or form tutor, when the class list has the column:
    /// named on the class's cover sheet in the print file.
    pub teacher: Option<String>,
    pub line: u64,
}

/// Puts pupils in the order their forms are printed: by year group, then
/// class, then name, so each class's pile is together for its teacher.
pub fn sort_by_class(pupils: &mut [Pupil]) {
    pupils.sort_by(|a, b| (a.year, &a.class, &a.name).cmp(&(b.year, &b.class, &b.name)));
}

/// Someone who signs for a pupil: a parent or carer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: Option<String>,
    pub relationship: Option<String>,
    pub email: Option<String>,
}

/// The National Curriculum year group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum YearGroup {
    Nursery,
    Reception,
    /// Year 1 to Year 13.
    Year(u8),
}

/// The key stage a year group is in; EYFS is Nursery and Reception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyStage {
    Eyfs,
    Ks1,
    Ks2,
    Ks3,
    Ks4,
    /// The sixth form (Years 12 and 13).
    Ks5,
}

impl YearGroup {
    /// Reads what MIS exports write: "Year 3", "Y3", "3", "Yr 10", "NC Year 7",
    /// "R", "Reception", "N", "N1", "N2", "Nursery", "F1", "F2".
    pub fn parse(text: &str) -> Option<Self> {
        let key: String = text
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "r" | "rec" | "reception" | "yr" | "f2" | "fs2" | "yearr" => {
                return Some(Self::Reception);
            }
            "n" | "n1" | "n2" | "nur" | "nursery" | "f1" | "fs1" | "yearn" => {
                return Some(Self::Nursery);
            }
            _ => {}
        }
        let number = ["ncyear", "year", "yr", "y"]
            .iter()
            .find_map(|prefix| key.strip_prefix(prefix))
            .unwrap_or(&key);
        match number.parse::<u8>() {
            Ok(n @ 1..=13) => Some(Self::Year(n)),
            _ => None,
        }
    }

    pub fn key_stage(self) -> KeyStage {
        match self {
            Self::Nursery | Self::Reception => KeyStage::Eyfs,
            Self::Year(1..=2) => KeyStage::Ks1,
            Self::Year(3..=6) => KeyStage::Ks2,
            Self::Year(7..=9) => KeyStage::Ks3,
            Self::Year(10..=11) => KeyStage::Ks4,
            Self::Year(_) => KeyStage::Ks5,
        }
    }
}

impl std::fmt::Display for YearGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Nursery => f.write_str("Nursery"),
            Self::Reception => f.write_str("Reception"),
            Self::Year(n) => write!(f, "Year {n}"),
        }
    }
}

impl KeyStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eyfs => "EYFS",
            Self::Ks1 => "KS1",
            Self::Ks2 => "KS2",
            Self::Ks3 => "KS3",
            Self::Ks4 => "KS4",
            Self::Ks5 => "KS5",
        }
    }
}

/// Header spellings (as `mis_csv::header_key`s); the first column whose header
/// is one of them is read.
const FULL_NAME: &[&str] = &["name", "fullname", "pupilname", "studentname", "childname"];
const PREFERRED_FIRST: &[&str] = &[
    "preferredforename",
    "preferredfirstname",
    "preferredname",
    "knownas",
    "chosenname",
];
const LEGAL_FIRST: &[&str] = &[
    "legalforename",
    "forename",
    "firstname",
    "legalfirstname",
    "givenname",
    "pupilforename",
    "studentfirstname",
];
const PREFERRED_LAST: &[&str] = &["preferredsurname", "preferredlastname"];
const LEGAL_LAST: &[&str] = &[
    "legalsurname",
    "surname",
    "lastname",
    "legallastname",
    "familyname",
    "pupilsurname",
    "studentlastname",
];
const CLASS: &[&str] = &[
    "reggroup",
    "registrationgroup",
    "reg",
    "regform",
    "registrationform",
    "form",
    "formgroup",
    "tutorgroup",
    "class",
    "classname",
    "regclass",
];
const YEAR: &[&str] = &[
    "yeargroup",
    "year",
    "ncyear",
    "ncyeargroup",
    "yr",
    "curriculumyear",
    "yeargrp",
];
const UPN: &[&str] = &["upn", "uniquepupilnumber"];
const ADMISSION: &[&str] = &[
    "adno",
    "admno",
    "admissionnumber",
    "admissionno",
    "pupilid",
    "studentid",
    "misid",
];
const BIRTH: &[&str] = &["dob", "dateofbirth", "birthdate"];
const TEACHER: &[&str] = &[
    "classteacher",
    "teacher",
    "formtutor",
    "tutor",
    "regtutor",
    "registrationtutor",
    "teachername",
];

/// The spellings of contact `n`'s `field` ("name", "relationship", "email").
fn contact_headers(n: u8, field: &str) -> Vec<String> {
    let mut names: Vec<String> = [
        "contact",
        "prioritycontact",
        "parent",
        "parentcarer",
        "guardian",
        "carer",
    ]
    .iter()
    .flat_map(|who| {
        [
            format!("{who}{n}{field}"),
            format!("priority{n}{who}{field}"),
            format!("{who}{field}{n}"),
        ]
    })
    .collect();
    let which = match n {
        1 => ["primarycontact", "maincontact", "firstcontact"],
        _ => ["secondarycontact", "secondcontact", "othercontact"],
    };
    names.extend(which.iter().map(|w| format!("{w}{field}")));
    if field == "email" {
        let more: Vec<String> = names.iter().map(|n| format!("{n}address")).collect();
        names.extend(more);
    }
    names
}

/// Where a contact's cells are.
struct ContactColumns {
    name: Option<usize>,
    relationship: Option<usize>,
    email: Option<usize>,
}

impl ContactColumns {
    fn find(table: &Table, n: u8) -> Self {
        let column = |field: &str| {
            let names = contact_headers(n, field);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            table.column(&names)
        };
        Self {
            name: column("name"),
            relationship: column("relationship"),
            email: column("email"),
        }
    }

    fn read(&self, row: &Row) -> Option<Contact> {
        let contact = Contact {
            name: row.get(self.name).map(str::to_owned),
            relationship: row.get(self.relationship).map(str::to_owned),
            email: row.get(self.email).map(str::to_owned),
        };
        (contact.name.is_some() || contact.email.is_some()).then_some(contact)
    }
}

/// Reads a class list. Every pupil needs a name, a class and a year group.
pub fn read(file: &Path) -> Result<Vec<Pupil>, RosterError> {
    pupils(&Table::read(file, MAX_PUPILS_BYTES, "class list")?)
}

/// The pupils of a parsed class list.
fn pupils(table: &Table) -> Result<Vec<Pupil>, RosterError> {
    let full = table.column(FULL_NAME);
    let preferred_first = table.column(PREFERRED_FIRST);
    let legal_first = table.column(LEGAL_FIRST);
    let preferred_last = table.column(PREFERRED_LAST);
    let legal_last = table.column(LEGAL_LAST);
    if full.is_none() && (legal_first.or(preferred_first).is_none() || legal_last.is_none()) {
        return Err(table.error(
            Some(1),
            format!("no name columns among the headers: {}", table.headers()),
            Some(
                "give `Forename` and `Surname` (SIMS, Arbor and Bromcom spellings work), or `Name`",
            ),
        ));
    }
    let required = |names: &[&str], what: &str, hint: &str| {
        table.column(names).ok_or_else(|| {
            table.error(
                Some(1),
                format!("no {what} column among the headers: {}", table.headers()),
                Some(hint),
            )
        })
    };
    let class = required(
        CLASS,
        "class",
        "name the column `Class` or `Reg Group` (the class each pupil's form goes to)",
    )?;
    let year = required(
        YEAR,
        "year group",
        "name the column `Year Group`; a pupil's key stage, and so their AUP, follows it",
    )?;
    let upn = table.column(UPN);
    let admission = table.column(ADMISSION);
    let birth = table.column(BIRTH);
    let teacher = table.column(TEACHER);
    let contacts = [
        ContactColumns::find(table, 1),
        ContactColumns::find(table, 2),
    ];

    let mut pupils = Vec::new();
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for row in &table.rows {
        let line = row.line;
        let first = row.get(preferred_first).or(row.get(legal_first));
        let last = row.get(preferred_last).or(row.get(legal_last));
        let name = match (row.get(full), first, last) {
            (Some(full), _, _) => full.to_owned(),
            (None, Some(first), Some(last)) => format!("{first} {last}"),
            _ => return Err(table.error(Some(line), "this row has no name".into(), None)),
        };
        check_name(table, line, &name)?;
        let legal_name = match (row.get(legal_first), row.get(legal_last)) {
            (Some(first), Some(last)) => Some(format!("{first} {last}")),
            _ => None,
        }
        .filter(|legal| *legal != name);
        let Some(class) = row.get(Some(class)) else {
            return Err(table.error(
                Some(line),
                format!("{name} has no class"),
                Some("every pupil's form goes to their class: fill in their registration group"),
            ));
        };
        let year_text = row.get(Some(year)).unwrap_or_default();
        let Some(year) = YearGroup::parse(year_text) else {
            return Err(table.error(
                Some(line),
                match year_text.is_empty() {
                    true => format!("{name} has no year group"),
                    false => format!("{name}'s year group `{year_text}` is not one aup knows"),
                },
                Some("write it as Nursery, Reception, or Year 1 to Year 13"),
            ));
        };
        let date_of_birth = match row.get(birth) {
            Some(text) => Some(parse_date(text).ok_or_else(|| {
                table.error(
                    Some(line),
                    format!("{name}'s date of birth `{text}` is not a date"),
                    Some("write it as 23/04/2016 or 2016-04-23"),
                )
            })?),
            None => None,
        };
        let pupil = Pupil {
            name,
            legal_name,
            class: class.to_owned(),
            year,
            pupil_id: row.get(upn).or(row.get(admission)).map(str::to_owned),
            date_of_birth,
            contacts: contacts.iter().filter_map(|c| c.read(row)).collect(),
            teacher: row.get(teacher).map(str::to_owned),
            line,
        };
        let key = match &pupil.pupil_id {
            Some(id) => format!("id:{}", id.to_lowercase()),
            None => format!(
                "name:{}:{}",
                pupil.name.to_lowercase(),
                pupil.class.to_lowercase()
            ),
        };
        if let Some(earlier) = seen.insert(key, line) {
            return Err(table.error(
                Some(line),
                format!("{} is already on line {earlier}", pupil.name),
                Some("remove the repeat, or include the UPN column to tell two pupils apart"),
            ));
        }
        pupils.push(pupil);
    }
    Ok(pupils)
}

/// What a class list holds, for `aup check`: "420 pupils in 14 classes
/// (EYFS 60, KS1 120, KS2 240); 12 with no contact's e-mail".
pub fn summary(pupils: &[Pupil]) -> String {
    let classes: std::collections::BTreeSet<&str> =
        pupils.iter().map(|p| p.class.as_str()).collect();
    let mut stages: std::collections::BTreeMap<KeyStage, usize> = Default::default();
    for pupil in pupils {
        *stages.entry(pupil.year.key_stage()).or_default() += 1;
    }
    let stages: Vec<String> = stages
        .iter()
        .map(|(stage, n)| format!("{} {n}", stage.as_str()))
        .collect();
    let unreachable = pupils
        .iter()
        .filter(|p| p.contacts.iter().all(|c| c.email.is_none()))
        .count();
    let mut said = format!(
        "{} pupils in {} classes ({})",
        pupils.len(),
        classes.len(),
        stages.join(", ")
    );
    if unreachable > 0 {
        said.push_str(&format!(
            "; {unreachable} with no contact's e-mail (their form goes home on paper)"
        ));
    }
    said
}

/// A date as UK exports write it: 23/04/2016, 23-04-2016 or 2016-04-23.
fn parse_date(text: &str) -> Option<time::Date> {
    let parts: Vec<&str> = text.split(['/', '-', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (year, month, day) = match a.len() {
        4 => (a, b, c),
        _ => (c, b, a),
    };
    let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Vec<Pupil>, RosterError> {
        let file = Path::new("pakeman.pupils.csv");
        pupils(&Table::parse(file, text.as_bytes().to_vec(), "class list")?)
    }

    #[test]
    fn a_sims_export_with_a_preferred_name_and_two_contacts() {
        let list = read_text(
            "\u{feff}Legal Forename,Legal Surname,Preferred Forename,Reg Group,Year,UPN,Adno,DOB,\
             Priority 1 Contact Name,Priority 1 Contact Relationship,Priority 1 Contact Email,\
             Priority 2 Contact Name,Priority 2 Contact Relationship,Priority 2 Contact Email\n\
             Alexander,Nowak,Olek,3B,Year 3,A123456789012,1042,23/04/2017,Marta Nowak,Mother,marta@home.example,Piotr Nowak,Father,piotr@home.example\n\
             Grace,Obi,,3B,Year 3,B123456789012,1043,2017-01-09,Ada Obi,Mother,,,,\n",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        let olek = &list[0];
        assert_eq!(olek.name, "Olek Nowak");
        assert_eq!(olek.legal_name.as_deref(), Some("Alexander Nowak"));
        assert_eq!(olek.class, "3B");
        assert_eq!(olek.year, YearGroup::Year(3));
        assert_eq!(olek.year.key_stage(), KeyStage::Ks2);
        assert_eq!(olek.pupil_id.as_deref(), Some("A123456789012"));
        assert_eq!(
            olek.date_of_birth,
            Some(time::macros::date!(2017 - 04 - 23))
        );
        assert_eq!(olek.contacts.len(), 2);
        assert_eq!(olek.contacts[1].name.as_deref(), Some("Piotr Nowak"));
        assert_eq!(olek.contacts[1].relationship.as_deref(), Some("Father"));
        assert_eq!(
            olek.contacts[0].email.as_deref(),
            Some("marta@home.example")
        );
        let grace = &list[1];
        assert_eq!(grace.name, "Grace Obi");
        assert_eq!(grace.legal_name, None);
        assert_eq!(grace.contacts.len(), 1);
        assert_eq!(grace.contacts[0].email, None);
    }

    #[test]
    fn an_arbor_export() {
        let list = read_text(
            "First name,Last name,Preferred first name,Registration form,Year group,UPN,Date of birth,\
             Primary contact name,Primary contact relationship,Primary contact email,\
             Secondary contact name,Secondary contact relationship,Secondary contact email\n\
             Mohammed,Khan,Mo,RH,Reception,C123456789012,2021-02-03,Sara Khan,Mother,sara@home.example,,,\n\
             Lily,Evans,,10Y,Y10,D123456789012,,Rose Evans,Grandparent,rose@home.example,Tom Evans,Father,tom@home.example\n",
        )
        .unwrap();
        assert_eq!(list[0].name, "Mo Khan");
        assert_eq!(list[0].year, YearGroup::Reception);
        assert_eq!(list[0].year.key_stage(), KeyStage::Eyfs);
        assert_eq!(list[0].class, "RH");
        assert_eq!(list[1].year.key_stage(), KeyStage::Ks4);
        assert_eq!(list[1].contacts.len(), 2);
        assert_eq!(
            list[1].contacts[0].relationship.as_deref(),
            Some("Grandparent")
        );
    }

    #[test]
    fn a_bromcom_export() {
        let list = read_text(
            "Forename,Surname,Preferred Name,Tutor Group,NC Year,Admission No,Date Of Birth,\
             Contact 1 Name,Contact 1 Relationship,Contact 1 Email Address,\
             Contact 2 Name,Contact 2 Relationship,Contact 2 Email Address\n\
             Chloe,Price,,7NR,7,2201,01/09/2014,Dan Price,Father,dan@home.example,,,\n\
             Aiyana,Begum,Ana,12A,Yr 12,2202,,,,,,,\n",
        )
        .unwrap();
        assert_eq!(list[0].class, "7NR");
        assert_eq!(list[0].year.key_stage(), KeyStage::Ks3);
        assert_eq!(list[0].pupil_id.as_deref(), Some("2201"));
        assert_eq!(
            list[0].contacts[0].email.as_deref(),
            Some("dan@home.example")
        );
        assert_eq!(list[1].name, "Ana Begum");
        assert_eq!(list[1].legal_name.as_deref(), Some("Aiyana Begum"));
        assert_eq!(list[1].year, YearGroup::Year(12));
        assert_eq!(list[1].year.key_stage(), KeyStage::Ks5);
        assert!(list[1].contacts.is_empty());
    }

    #[test]
    fn the_class_teacher_is_read_where_the_list_has_one() {
        let pupils = read_text(
            "Forename,Surname,Reg Group,Year,Form Tutor\nAmelia,Hart,4B,Year 4,Ms Okoye\nBen,Ode,4C,Year 4,\n",
        )
        .unwrap();
        assert_eq!(pupils[0].teacher.as_deref(), Some("Ms Okoye"));
        assert_eq!(pupils[1].teacher, None);
    }

    #[test]
    fn a_row_without_a_class_is_refused_with_its_line() {
        let e = read_text("Forename,Surname,Class,Year\nAmy,Lee,1C,Year 1\nBen,Cole,,Year 1\n")
            .unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(
            e.to_string().lines().next().unwrap(),
            "pakeman.pupils.csv:3: Ben Cole has no class"
        );
        let e = read_text("Forename,Surname,Year\nAmy,Lee,Year 1\n").unwrap_err();
        assert!(e.message.contains("no class column"), "{e}");
        let e = read_text("Forename,Surname,Class,Year\nAmy,Lee,1C,Year 14\n").unwrap_err();
        assert!(
            e.message
                .contains("year group `Year 14` is not one aup knows"),
            "{e}"
        );
        let e =
            read_text("Forename,Surname,Class,Year,DOB\nAmy,Lee,1C,1,31/02/2019\n").unwrap_err();
        assert!(
            e.message
                .contains("date of birth `31/02/2019` is not a date"),
            "{e}"
        );
        let e = read_text("Forename,Surname,Class,Year,UPN\nAmy,Lee,1C,1,X1\nAmy,Lee,1D,1,x1\n")
            .unwrap_err();
        assert!(e.message.contains("already on line 2"), "{e}");
    }

    #[test]
    fn the_summary_counts_classes_key_stages_and_who_has_no_email() {
        let list = read_text(
            "Forename,Surname,Class,Year,Contact 1 Email\n\
             Amy,Lee,RB,R,amy@home.example\nBen,Cole,1C,1,\nCat,Dunn,1C,Year 1,cat@home.example\n",
        )
        .unwrap();
        assert_eq!(
            summary(&list),
            "3 pupils in 2 classes (EYFS 1, KS1 2); 1 with no contact's e-mail (their form goes home on paper)"
        );
    }

    #[test]
    fn year_groups_as_exports_write_them() {
        for (text, year) in [
            ("Year 3", YearGroup::Year(3)),
            ("Y3", YearGroup::Year(3)),
            ("3", YearGroup::Year(3)),
            ("NC Year 11", YearGroup::Year(11)),
            ("Yr 7", YearGroup::Year(7)),
            ("R", YearGroup::Reception),
            ("Reception", YearGroup::Reception),
            ("F2", YearGroup::Reception),
            ("N2", YearGroup::Nursery),
            ("Nursery", YearGroup::Nursery),
        ] {
            assert_eq!(YearGroup::parse(text), Some(year), "{text}");
        }
        for text in ["", "0", "14", "Year", "Sixth"] {
            assert_eq!(YearGroup::parse(text), None, "{text}");
        }
    }
}
