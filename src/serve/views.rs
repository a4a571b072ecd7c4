//! What the pages show, gathered from the index and the school files: the same
//! status rows `aup status` prints, so the page and the CLI never disagree.
//! Rows are kept between requests against the index's generation (see
//! [`Archive::generation`]) and the school files' modification times, so an
//! unchanged school year is not read again; what changed is read on both cores.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use rayon::prelude::*;
use serde::Serialize;

use crate::archive::Archive;
use crate::config::aups::AupKind;
use crate::config::roster::{self, Person};
use crate::report::{self, State, StatusRow};

/// One school year on the overview.
#[derive(Debug, Clone, Serialize)]
pub struct YearSummary {
    pub school: String,
    pub school_name: String,
    pub year: String,
    pub total: usize,
    /// Counts by state (signed, incomplete, outdated, rejected, outstanding).
    pub counts: Vec<(&'static str, usize)>,
    /// Whole percent signed, for the progress bar.
    pub percent_signed: usize,
    /// The school's older years in the index, newest first: links, not cards.
    pub earlier: Vec<String>,
}

/// Figures kept between requests.
#[derive(Default)]
pub struct ViewCache {
    schools: Mutex<HashMap<String, SchoolFiles>>,
    years: Mutex<HashMap<(String, String), SchoolYear>>,
}

/// A school's name and roster, read again only when their files change.
#[derive(Clone)]
struct SchoolFiles {
    stamp: (Option<SystemTime>, Option<SystemTime>),
    name: String,
    people: Arc<Vec<Person>>,
}

/// A school year's rows, as of an index generation and a roster.
#[derive(Clone)]
pub struct SchoolYear {
    generation: i64,
    pub people: Arc<Vec<Person>>,
    pub name: String,
    pub rows: Arc<Vec<StatusRow>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl ViewCache {
    /// The school's display name and roster (empty when it has none). A school
    /// whose YAML is gone or broken is shown by its slug: its returns still count.
    fn school(&self, schools: &Path, slug: &str) -> Result<SchoolFiles, String> {
        let yaml = schools.join(format!("{slug}.yaml"));
        let roster_file = roster::roster_path(schools, slug);
        let stamp = (modified(&yaml), modified(&roster_file));
        if let Some(cached) = lock(&self.schools).get(slug).filter(|c| c.stamp == stamp) {
            return Ok(cached.clone());
        }
        let name = crate::config::school_name(schools, slug);
        let people = match roster_file.is_file() {
            true => roster::read(&roster_file).map_err(|e| e.to_string())?,
            false => Vec::new(),
        };
        let files = SchoolFiles {
            stamp,
            name,
            people: Arc::new(people),
        };
        lock(&self.schools).insert(slug.to_owned(), files.clone());
        Ok(files)
    }

    /// A school's name as its YAML gives it (its slug when the file is gone).
    pub fn school_name(&self, schools: &Path, slug: &str) -> String {
        self.school(schools, slug)
            .map(|files| files.name)
            .unwrap_or_else(|_| slug.to_owned())
    }

    /// The kept rows of a school year, if nothing they came from has changed.
    fn kept(
        &self,
        slug: &str,
        year: &str,
        generation: i64,
        people: &Arc<Vec<Person>>,
    ) -> Option<SchoolYear> {
        lock(&self.years)
            .get(&(slug.to_owned(), year.to_owned()))
            .filter(|y| y.generation == generation && Arc::ptr_eq(&y.people, people))
            .cloned()
    }

    /// Everyone's status for one school and year: `aup status`'s rows.
    pub fn school_year(
        &self,
        index: &Archive,
        schools: &Path,
        slug: &str,
        year: &str,
    ) -> Result<SchoolYear, String> {
        let generation = index.generation().map_err(|e| e.to_string())?;
        self.school_year_at(index, generation, schools, slug, year)
    }

    fn school_year_at(
        &self,
        index: &Archive,
        generation: i64,
        schools: &Path,
        slug: &str,
        year: &str,
    ) -> Result<SchoolYear, String> {
        let files = self.school(schools, slug)?;
        if let Some(kept) = self.kept(slug, year, generation, &files.people) {
            return Ok(kept);
        }
        let forms = index
            .forms_with_returns(slug, year, AupKind::Staff)
            .map_err(|e| e.to_string())?;
        let current = index
            .current_fingerprint(slug, year)
            .map_err(|e| e.to_string())?;
        let fresh = SchoolYear {
            generation,
            people: files.people.clone(),
            name: files.name,
            rows: Arc::new(report::rows(
                slug,
                year,
                &files.people,
                &forms,
                current.as_deref(),
            )),
        };
        lock(&self.years).insert((slug.to_owned(), year.to_owned()), fresh.clone());
        Ok(fresh)
    }

    /// Each school's newest year in the index (of the schools `visible` lets
    /// through) with its counts, and the school's earlier years to link to. A
    /// headteacher asks about this year; five years of cards per school would
    /// bury it, and reading every past year on each visit would cost five times
    /// as much.
    pub fn overview(
        &self,
        archive: &Path,
        schools: &Path,
        visible: impl Fn(&str) -> bool,
    ) -> Result<Vec<YearSummary>, String> {
        let index = Archive::open_read_only(archive).map_err(|e| e.to_string())?;
        let generation = index.generation().map_err(|e| e.to_string())?;
        let mut by_school: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (school, year) in index.school_years().map_err(|e| e.to_string())? {
            if visible(&school) {
                by_school.entry(school).or_default().push(year);
            }
        }
        // Every school listed has at least one year.
        let newest: Vec<(String, String, Vec<String>)> = by_school
            .into_iter()
            .map(|(school, mut years)| {
                years.sort_by(|a, b| b.cmp(a));
                let newest = years.remove(0);
                (school, newest, years)
            })
            .collect();
        // Each reader thread has its own read-only connection to the index.
        newest
            .into_par_iter()
            .map_init(
                || Archive::open_read_only(archive).map_err(|e| e.to_string()),
                |index, (slug, year, earlier)| {
                    let index = index.as_ref().map_err(Clone::clone)?;
                    let found = self.school_year_at(index, generation, schools, &slug, &year)?;
                    let mut summary = summary(slug, found.name, year, &found.rows);
                    summary.earlier = earlier;
                    Ok(summary)
                },
            )
            .collect()
    }
}

pub fn summary(
    school: String,
    school_name: String,
    year: String,
    rows: &[StatusRow],
) -> YearSummary {
    let signed = rows.iter().filter(|r| r.state == State::Signed).count();
    YearSummary {
        school,
        school_name,
        year,
        total: rows.len(),
        counts: State::ALL
            .into_iter()
            .map(|state| {
                (
                    state.as_str(),
                    rows.iter().filter(|r| r.state == state).count(),
                )
            })
            .collect(),
        percent_signed: (signed * 100).checked_div(rows.len()).unwrap_or(0),
        earlier: Vec::new(),
    }
}
