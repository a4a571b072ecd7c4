//! `aup consents`: each pupil's answers to the parents' consents, class by class.

use std::path::PathBuf;

use anstream::eprintln;
use clap::{Args, ValueEnum};

use super::{Outcome, SchoolsDir, select_schools};
use crate::archive::Archive;
use crate::config::aups::AupKind;
use crate::config::{self, AcademicYear};
use crate::consents::register;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// A table per class with each consent's counts.
    Table,
    /// CSV for Excel (UTF-8 with BOM): a row per pupil, a column per consent.
    Csv,
    /// A JSON array, one object per pupil with each consent's answer and how
    /// it was read.
    Json,
    /// A printable HTML page: one sheet per class for its teacher.
    Html,
}

#[derive(Debug, Args)]
pub struct ConsentsArgs {
    /// Only this school (repeatable); by default every school in the folder
    /// that uses the parents' AUP.
    #[arg(long = "school", value_name = "SLUG")]
    pub schools_only: Vec<String>,
    /// Academic year, like 2025-26; defaults to the current one.
    #[arg(long, value_name = "YEAR", value_parser = crate::config::year::academic_year_arg)]
    pub year: Option<String>,
    /// Only this class, as the class list writes it (any case).
    #[arg(long, value_name = "CLASS")]
    pub class: Option<String>,
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
}

pub fn run(args: ConsentsArgs) -> Result<Outcome, String> {
    let today = time::OffsetDateTime::now_utc().date();
    let year = match &args.year {
        Some(text) => text.parse::<AcademicYear>()?,
        None => AcademicYear::containing(today),
    }
    .to_string();
    let files = select_schools(&args.dir.schools, &args.schools_only)?;
    let archive = Archive::open_read_only(&args.archive).map_err(|e| e.to_string())?;
    let mut text = String::new();
    let mut every_row = Vec::new();
    let mut used = 0;
    let mut csv_columns: Option<Vec<String>> = None;
    for file in &files {
        let school = config::load(file).map_err(|e| e.to_string())?;
        let slug = school.slug.as_str();
        if !school.config.aups.contains(&AupKind::Parents) {
            if args.schools_only.is_empty() {
                continue;
            }
            return Err(format!(
                "{slug} does not use the parents' AUP, which carries the consents: add `parents` to its `aups`"
            ));
        }
        used += 1;
        let consents = school.config.aup_options.consents();
        let entries = archive
            .consent_register(slug, &year)
            .map_err(|e| e.to_string())?;
        let rows = register::rows(slug, &year, &consents, &entries, args.class.as_deref());
        if let Some(class) = &args.class
            && rows.is_empty()
            && !args.schools_only.is_empty()
        {
            return Err(format!(
                "{slug} has no parents' forms for class {class} in {year}"
            ));
        }
        text.push_str(&match args.format {
            Format::Table => register::table(&rows, &consents),
            // One header: a second school's rows follow under it when it asks
            // the same consents.
            Format::Csv => {
                let csv = register::csv(&rows, &consents);
                let columns: Vec<String> = consents.iter().map(|c| c.id.clone()).collect();
                match &csv_columns {
                    Some(first) if *first != columns => {
                        return Err(format!(
                            "{slug} asks other consents than the school before it, so one CSV cannot hold both: use --school"
                        ));
                    }
                    _ => csv_columns = Some(columns),
                }
                match text.is_empty() {
                    true => csv,
                    false => csv
                        .trim_start_matches('\u{feff}')
                        .split_once("\r\n")
                        .map(|(_, rest)| rest.to_owned())
                        .unwrap_or_default(),
                }
            }
            Format::Json => String::new(),
            Format::Html => register::class_sheets(
                &school.config.name,
                &rows,
                &consents,
                &crate::clock::uk_date_long(&today.to_string()),
            ),
        });
        every_row.extend(rows);
    }
    if used == 0 {
        return Err(
            "no school here uses the parents' AUP, which carries the consents: add `parents` to a school's `aups`"
                .into(),
        );
    }
    if let Format::Json = args.format {
        text = serde_json::to_string_pretty(&every_row).map_err(|e| e.to_string())? + "\n";
    }
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
