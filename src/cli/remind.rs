//! `aup remind`: the reminders due now, for every school with forms this year
//! (or one), as cron would run it.

use std::path::PathBuf;

use anstream::eprintln;
use clap::Args;

use super::send::{Asked, Mailing, ready, say_no_address, say_plan};
use super::{Outcome, SchoolsDir};
use crate::archive::Archive;
use crate::config::AcademicYear;
use crate::mail::letter::Kind;
use crate::mail::plan;
use crate::mail::post::Posted;
use crate::mail::settings::MailSettings;
use crate::online::mail_merge::LinkRow;

#[derive(Debug, Args)]
pub struct RemindArgs {
    /// The school, by slug; by default every school in the schools folder.
    #[arg(long, value_name = "SLUG")]
    pub school: Option<String>,
    /// The academic year, like 2025-26; by default the one today falls in.
    #[arg(long, value_name = "YEAR", value_parser = crate::config::year::academic_year_arg)]
    pub year: Option<String>,
    /// Say who is due a reminder, and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub mailing: Mailing,
    #[command(flatten)]
    pub dir: SchoolsDir,
}

pub fn run(args: RemindArgs) -> Result<Outcome, String> {
    let schools = match &args.school {
        Some(school) => vec![school.clone()],
        None => super::select_schools(&args.dir.schools, &[])?
            .iter()
            .filter_map(|f| f.file_stem()?.to_str().map(str::to_owned))
            .collect(),
    };
    let settings = MailSettings::load(&args.mailing.mail).map_err(|e| e.to_string())?;
    if !args.dry_run
        && let Some(closed) = settings.sending.closed_now(&args.mailing.mail)
    {
        // Cron calls at any hour: outside the window is not a failure.
        eprintln!("{closed}: reminders wait for it");
        return Ok(Outcome::Success);
    }
    let year = match &args.year {
        Some(text) => text.parse::<AcademicYear>()?,
        None => AcademicYear::containing(crate::clock::now().date()),
    };
    let year_text = year.to_string();
    let index = Archive::open_read_only(&args.mailing.archive).map_err(|e| e.to_string())?;
    let mut problems = false;
    for school in &schools {
        let issued = index
            .current_fingerprint(school, &year_text)
            .map_err(|e| e.to_string())?;
        // A school with no forms this year has nobody to remind.
        if issued.is_none() && args.school.is_none() {
            continue;
        }
        let ready = ready(&Asked {
            mail: &args.mailing.mail,
            public_url: args.mailing.public_url.as_deref(),
            year: Some(&year_text),
            archive: &args.mailing.archive,
            schools: &args.dir.schools,
            school,
            dry_run: args.dry_run,
            window: false,
        })?;
        let plan = plan::reminders(&ready.archive, &ready.roll, crate::clock::now())?;
        say_no_address(&plan);
        if args.dry_run {
            say_plan(&plan, args.mailing.json);
            continue;
        }
        if plan.people.is_empty() {
            continue;
        }
        let due_rows: Vec<_> = plan.people.iter().map(|p| p.row.clone()).collect();
        let links = ready.links(&args.mailing.archive, &due_rows, "aup remind")?;
        let letters: Vec<(&LinkRow, Kind)> = plan
            .people
            .iter()
            .filter_map(|planned| {
                let link = links
                    .iter()
                    .find(|l| Some(&l.form_id) == planned.row.form_id.as_ref())?;
                Some((link, planned.kind))
            })
            .collect();
        let out = PathBuf::from("out");
        let posted = ready.post(&letters, &out, false, args.mailing.json)?;
        let sent = posted.iter().filter(|p| p.outcome == "sent").count();
        eprintln!("{sent} reminder(s) sent for {school} {}", ready.year);
        problems |= posted.iter().any(Posted::is_problem);
    }
    Ok(match problems {
        false => Outcome::Success,
        true => Outcome::SomeFailed,
    })
}
