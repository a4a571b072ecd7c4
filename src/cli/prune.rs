//! `aup prune --before YEAR`: let go of signed forms the school no longer has to keep.

use std::path::PathBuf;

use clap::Args;

use anstream::eprintln;
use serde_json::json;

use super::{Outcome, SchoolsDir, json_line};
use crate::archive::{self, Archive};
use crate::config::AcademicYear;

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Prune academic years before this one, e.g. 2019-20.
    #[arg(long, value_name = "YEAR", value_parser = crate::config::year::academic_year_arg)]
    pub before: String,
    /// The archive folder (with its index, aup.sqlite).
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
    #[command(flatten)]
    pub dir: SchoolsDir,
    /// Say what would be removed, and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// One JSON object per line on stdout for each school year (see above).
    #[arg(long)]
    pub json: bool,
    /// Prune as if today were this date (YYYY-MM-DD); for checking a schedule.
    #[arg(long, value_name = "DATE", hide = true, value_parser = crate::config::year::iso_date_arg)]
    pub today: Option<String>,
}

pub fn run(args: PruneArgs) -> Result<Outcome, String> {
    let before: AcademicYear = args.before.parse()?;
    let today = match &args.today {
        Some(text) => crate::config::year::parse_iso_date(text)?,
        None => time::OffsetDateTime::now_utc().date(),
    };
    let _lock = archive::lock(&args.archive).map_err(|e| e.to_string())?;
    let mut index = Archive::open(&args.archive).map_err(|e| e.to_string())?;
    let mut removed_any = false;
    let mut refused = false;
    for (school, year_text) in index.school_years().map_err(|e| e.to_string())? {
        let Ok(year) = year_text.parse::<AcademicYear>() else {
            continue;
        };
        if year >= before {
            continue;
        }
        let retention = match retention_years(&args.dir.schools, &school) {
            Ok(retention) => retention,
            Err(why) => {
                eprintln!(
                    "{} {school} {year} not pruned: {why}\n  = hint: its retention period is in \
                     records.retention_years of its YAML; restore the file, or pass --schools DIR",
                    super::style().error("error:")
                );
                refused = true;
                if args.json {
                    json_line(&json!({"school": school, "year": year_text, "action": "refused"}));
                }
                continue;
            }
        };
        let Some(start) = i32::try_from(retention)
            .ok()
            .and_then(|r| year.start.checked_add(r))
        else {
            continue;
        };
        let keep_until = AcademicYear { start }.last_day();
        let line = |action: &str| {
            json!({
                "school": school,
                "year": year_text,
                "action": action,
                "keep_until": keep_until.to_string(),
            })
        };
        if today <= keep_until {
            match args.json {
                true => json_line(&line("kept")),
                false => outln!(
                    "{school} {year}: kept until {keep_until} ({retention} years after the year ends)"
                ),
            }
            continue;
        }
        if args.dry_run {
            match args.json {
                true => json_line(&line("would_remove")),
                false => outln!(
                    "{school} {year}: would be removed (retention of {retention} years is over)"
                ),
            }
            continue;
        }
        let pruned = index
            .prune(
                &school,
                &year_text,
                &format!("retention of {retention} years ended {keep_until}"),
            )
            .map_err(|e| e.to_string())?;
        // The index no longer names these files; now they go.
        let mut failed = Vec::new();
        for stored in &pruned.received {
            let path = args.archive.join(stored);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                failed.push(format!("{}: {e}", path.display()));
            }
        }
        let folder = args.archive.join(&school).join(&year_text);
        if let Err(e) = std::fs::remove_dir_all(&folder)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            failed.push(format!("{}: {e}", folder.display()));
        }
        if args.json {
            let mut removed = line("removed");
            removed["forms"] = pruned.forms.into();
            removed["returns"] = pruned.returns.into();
            removed["received_files"] = pruned.received.len().into();
            removed["messages_taken_in"] = pruned.mail_in.into();
            json_line(&removed);
        } else {
            let messages = match pruned.mail_in {
                0 => String::new(),
                n => format!(", {n} messages taken in by mail"),
            };
            outln!(
                "{school} {year}: removed {} forms, {} returns, {} received files{messages}",
                pruned.forms,
                pruned.returns,
                pruned.received.len()
            );
        }
        for failure in &failed {
            eprintln!("warning: could not delete {failure}; run prune again to retry");
        }
        removed_any = true;
    }
    if !removed_any && !args.dry_run && !refused && !args.json {
        outln!("nothing to prune before {before}");
    }
    Ok(match refused {
        true => Outcome::SomeFailed,
        false => Outcome::Success,
    })
}

/// The school's retention period from its YAML (the default when the YAML has no
/// `records.retention_years`); why not, when the YAML cannot be read.
fn retention_years(schools: &std::path::Path, school: &str) -> Result<u32, String> {
    crate::config::load(&schools.join(format!("{school}.yaml")))
        .map(|s| s.config.records.retention_years)
        .map_err(|e| e.to_string())
}
