//! What the pages show, gathered from the index and the school files: the same
//! status rows `aup status` prints, so the page and the CLI never disagree.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;

use crate::archive::{Archive, ArchiveError};
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
}

/// A school's name and roster, read again only when their files change: the
/// overview of fifty schools must not parse fifty YAML files per request.
#[derive(Default)]
pub struct SchoolFiles {
    cache: Mutex<HashMap<String, Cached>>,
}

#[derive(Clone)]
struct Cached {
    stamp: (Option<SystemTime>, Option<SystemTime>),
    name: String,
    people: std::sync::Arc<Vec<Person>>,
}

impl SchoolFiles {
    /// The school's display name and roster (empty when it has none). A school
    /// whose YAML is gone or broken is shown by its slug: its returns still count.
    pub fn get(
        &self,
        schools: &Path,
        slug: &str,
    ) -> Result<(String, std::sync::Arc<Vec<Person>>), String> {
        let yaml = schools.join(format!("{slug}.yaml"));
        let roster_file = roster::roster_path(schools, slug);
        let stamp = (modified(&yaml), modified(&roster_file));
        if let Some(cached) = self.lock().get(slug).filter(|c| c.stamp == stamp) {
            return Ok((cached.name.clone(), cached.people.clone()));
        }
        let name = crate::config::load(&yaml)
            .map(|school| school.config.name)
            .unwrap_or_else(|_| slug.to_owned());
        let people = match roster_file.is_file() {
            true => roster::read(&roster_file).map_err(|e| e.to_string())?,
            false => Vec::new(),
        };
        let cached = Cached {
            stamp,
            name,
            people: std::sync::Arc::new(people),
        };
        self.lock().insert(slug.to_owned(), cached.clone());
        Ok((cached.name, cached.people))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn modified(path: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Everyone's status for one school and year: `aup status`'s rows.
pub fn school_year_rows(
    index: &Archive,
    files: &SchoolFiles,
    schools: &Path,
    slug: &str,
    year: &str,
) -> Result<(String, Vec<StatusRow>), String> {
    let (name, people) = files.get(schools, slug)?;
    let forms = index
        .forms_with_returns(slug, year)
        .map_err(|e| e.to_string())?;
    let current = index
        .current_fingerprint(slug, year)
        .map_err(|e| e.to_string())?;
    Ok((
        name,
        report::rows(slug, year, &people, &forms, current.as_deref()),
    ))
}

/// Every school year forms were issued for, with its counts.
pub fn overview(
    index: &Archive,
    files: &SchoolFiles,
    schools: &Path,
) -> Result<Vec<YearSummary>, String> {
    let years = index
        .school_years()
        .map_err(|e: ArchiveError| e.to_string())?;
    let mut out = Vec::with_capacity(years.len());
    // Newest year first, schools in order within it.
    let mut years = years;
    years.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (slug, year) in years {
        let (school_name, rows) = school_year_rows(index, files, schools, &slug, &year)?;
        out.push(summary(slug, school_name, year, &rows));
    }
    Ok(out)
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
    }
}
