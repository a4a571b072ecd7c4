//! `aup status`: who has signed the current policy, and who has not.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use anstream::eprintln;

use super::{Outcome, SchoolsDir, json_line, output, select_schools};
use crate::archive::Archive;
use crate::config::aups::{self, AupKind};
use crate::config::pupils;
use crate::config::{self, AcademicYear};
use crate::report;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// A table per school with totals (coloured on a terminal unless NO_COLOR is set).
    Table,
    /// CSV for Excel (UTF-8 with BOM).
    Csv,
    /// A JSON array, one object per person.
    Json,
    /// A self-contained HTML page to print or email to governors.
    Html,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this school (repeatable); by default every school in the folder.
    #[arg(long = "school", value_name = "SLUG")]
    pub schools_only: Vec<String>,
    /// Academic year, like 2025-26; defaults to the current one.
    #[arg(long, value_name = "YEAR", value_parser = crate::config::year::academic_year_arg)]
    pub year: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The archive folder (with its index, aup.sqlite).
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
    #[command(flatten)]
    pub dir: SchoolsDir,
    /// Which AUP: staff (the default), eyfs-ks1, ks2, ks3-4, parents or
    /// visitors. The pupils' and parents' AUPs are reported class by class,
    /// with totals per year group.
    #[arg(long, value_name = "AUP", default_value = "staff", value_parser = aup_arg)]
    pub aup: AupKind,
    /// Only this class (as the class list writes it), for the pupils' and
    /// parents' AUPs.
    #[arg(long, value_name = "CLASS")]
    pub class: Option<String>,
    /// One JSON object per line on stdout for each person (see above), in place of
    /// `--format`.
    #[arg(long, conflicts_with_all = ["format", "out"])]
    pub json: bool,
}

pub fn run(args: StatusArgs) -> Result<Outcome, String> {
    let today = time::OffsetDateTime::now_utc().date();
    let year = match &args.year {
        Some(text) => text.parse::<AcademicYear>()?,
        None => AcademicYear::containing(today),
    }
    .to_string();
    let files = select_schools(&args.dir.schools, &args.schools_only)?;
    let archive = Archive::open_read_only(&args.archive).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for file in &files {
        let school = config::load(file).map_err(|e| e.to_string())?;
        let slug = school.slug.as_str();
        if !school.config.aups.contains(&args.aup) {
            if args.schools_only.is_empty() {
                continue;
            }
            return Err(format!(
                "{slug} does not use the {} AUP: its `aups` are {}",
                args.aup,
                school
                    .config
                    .aups
                    .iter()
                    .map(|a| a.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let people = aups::people_of(&school, args.aup).map_err(|e| e.to_string())?;
        let forms = archive
            .forms_with_returns(slug, &year, args.aup)
            .map_err(|e| e.to_string())?;
        let current = archive
            .current_fingerprint_of(slug, &year, args.aup)
            .map_err(|e| e.to_string())?;
        let problems = archive
            .mail_problems(slug, &year)
            .map_err(|e| e.to_string())?;
        let year_of_class = match args.aup.uses_class_lists() {
            true => year_groups_of_classes(&school)?,
            false => Default::default(),
        };
        rows.extend(
            report::rows(slug, &year, &people, &forms, current.as_deref())
                .into_iter()
                .map(|mut row| {
                    row.mail_problem = row.form_id.as_ref().and_then(|f| problems.get(f).cloned());
                    row.aup = args.aup.name().to_owned();
                    if args.aup.uses_class_lists() {
                        row.year_group = year_of_class.get(&row.role).cloned();
                        row.class = Some(row.role.clone());
                    }
                    row
                })
                .filter(|row| {
                    args.class
                        .as_ref()
                        .is_none_or(|class| row.role.trim().eq_ignore_ascii_case(class.trim()))
                }),
        );
    }
    if args.json {
        rows.iter().for_each(json_line);
        return Ok(Outcome::Success);
    }
    let text = match args.format {
        // Coloured only for a stdout that keeps colour (see `--color`); a file
        // never gets it.
        Format::Table => report::table(&rows, args.out.is_none() && output::stdout_has_colour()),
        Format::Csv => report::csv(&rows),
        Format::Json => serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())? + "\n",
        Format::Html => report::html(&rows, &crate::clock::uk_date_long(&today.to_string())),
    };
    match &args.out {
        Some(path) => {
            crate::durable::write_atomically(path, text.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => out!("{text}"),
    }
    Ok(Outcome::Success)
}

pub(super) fn aup_arg(text: &str) -> Result<AupKind, String> {
    AupKind::parse(text).ok_or_else(|| {
        format!(
            "`{text}` is not an AUP: use one of {}",
            AupKind::ALL.map(|a| a.name()).join(", ")
        )
    })
}

/// Each class's year group, as the class list gives it (a mixed-age class
/// takes the year group of its first pupil).
fn year_groups_of_classes(
    school: &config::LoadedSchool,
) -> Result<std::collections::HashMap<String, String>, String> {
    let path = pupils::pupils_path(school.dir(), school.slug.as_str());
    let mut map = std::collections::HashMap::new();
    if path.is_file() {
        for pupil in pupils::read(&path).map_err(|e| e.to_string())? {
            map.entry(pupil.class)
                .or_insert_with(|| pupil.year.to_string());
        }
    }
    Ok(map)
}
