//! `aup assign FILE FORM_ID`: identify a quarantined scan by hand.

use std::path::PathBuf;

use clap::Args;

use super::{Outcome, SchoolsDir};
use crate::ingest::assign::{self, AssignPlan};

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// The page image or PDF to file.
    pub file: PathBuf,
    /// The form it belongs to, e.g. PAK-2526-0007-X.
    pub form_id: String,
    /// The form's page number of FILE's first page (later pages follow in order).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub page: u32,
    /// The archive folder (with its index, aup.sqlite).
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
    #[command(flatten)]
    pub dir: SchoolsDir,
    /// One JSON object per line, as `aup ingest --json` prints.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: AssignArgs) -> Result<Outcome, String> {
    let id: crate::form::FormId = args.form_id.parse()?;
    let outcomes = assign::run(&AssignPlan {
        file: args.file.clone(),
        form_id: id.to_string(),
        first_page: args.page,
        archive: args.archive.clone(),
        schools: args.dir.schools.clone(),
        by: None,
        settles: None,
    })
    .map_err(|e| e.to_string())?;
    for outcome in outcomes {
        if args.json {
            super::json_line(&outcome);
            continue;
        }
        let reason = outcome
            .reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        outln!(
            "{} {}: {}{reason}",
            outcome.form_id.as_deref().unwrap_or(&outcome.file),
            outcome.person.as_deref().unwrap_or("(blank form)"),
            outcome.verdict
        );
    }
    Ok(Outcome::Success)
}
