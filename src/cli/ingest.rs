//! `aup ingest`: file the signed returns waiting in the inbox.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use anstream::eprintln;

use super::{Outcome, SchoolsDir, json_line, output, style};
use crate::ingest::{self, Event, IngestPlan};
use crate::verdict::Verdict;

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The inbox folder the office drops scans and emailed PDFs into.
    #[arg(value_name = "INBOX", default_value = "inbox")]
    pub inbox: PathBuf,
    /// The archive folder (with its index, aup.sqlite).
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
    /// One JSON object per line on stdout for each form and each quarantined file
    /// or page: file, form_id, school, person, verdict, missing, reason, archived
    /// (and page, for a page; and boxes, for a paper form: each box's field, page,
    /// ink_percent, threshold_percent and written). Entries left in the inbox are
    /// listed on stderr.
    #[arg(long)]
    pub json: bool,
    /// Give each file's reader at most SECS seconds (default: 30 s plus 1 s per
    /// 4 MB of file); a reader that overruns is stopped and its file quarantined
    /// with reason `timeout`.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub reader_timeout: Option<u64>,
    /// Leave files changed in the last SECS seconds for the next run: a copier may
    /// still be writing them.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub settle: u64,
    #[command(flatten)]
    pub dir: SchoolsDir,
}

pub fn run(args: IngestArgs) -> Result<Outcome, String> {
    let plan = IngestPlan {
        inbox: args.inbox.clone(),
        archive: args.archive.clone(),
        settle: Duration::from_secs(args.settle),
        schools: args.dir.schools.clone(),
        reader_timeout: args.reader_timeout.map(Duration::from_secs),
        only: None,
        by: None,
        uploader_scope: true,
    };
    let style = style();
    let bar = output::progress(args.json);
    bar.set_message("looking in the inbox");
    let summary = ingest::run(&plan, |event| match event {
        Event::Reading { index, total, file } => {
            output::count(&bar, *total as u64, "files");
            bar.set_position(index.saturating_sub(1) as u64);
            bar.set_message(file.clone());
        }
        Event::Warning(text) => bar.suspend(|| eprintln!("{} {text}", style.warn("warning:"))),
        // Entries left alone are diagnostics, not results: on stderr, so that
        // stdout (and --json) holds only what was filed.
        Event::Skipped { file, reason } => {
            bar.suspend(|| eprintln!("{} {file}: {reason}", style.warn("skipped:")))
        }
        Event::File {
            file,
            pages,
            identified,
            blank,
            quarantined,
        } if !args.json => {
            bar.suspend(|| outln!("{file}: {pages} pages, {identified} identified, {blank} blank, {quarantined} quarantined"));
        }
        Event::File { .. } => {}
        Event::Outcome(outcome) if args.json => json_line(outcome),
        Event::Outcome(outcome) => {
            let who = outcome
                .form_id
                .as_ref()
                .map(|id| {
                    format!(
                        "{id} {}",
                        outcome.person.as_deref().unwrap_or("(blank form)")
                    )
                })
                .unwrap_or_else(|| outcome.file.clone());
            let page = outcome
                .page
                .map(|p| format!(" page {p}"))
                .unwrap_or_default();
            let verdict = match outcome.verdict {
                Verdict::Accepted => style.ok("accepted"),
                Verdict::Duplicate => Verdict::Duplicate.to_string(),
                other => style.warn(other.as_str()),
            };
            let reason = outcome
                .reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            bar.suspend(|| outln!("  {who}{page}: {verdict}{reason}"));
        }
    });
    bar.finish_and_clear();
    let summary = summary.map_err(|e| e.to_string())?;
    let mut counts: Vec<String> = summary
        .by_verdict
        .iter()
        .map(|(v, n)| format!("{n} {v}"))
        .collect();
    if summary.skipped > 0 {
        counts.push(format!("{} left in the inbox", summary.skipped));
    }
    eprintln!(
        "{} files, {} pages: {}",
        summary.files,
        summary.pages,
        match counts.is_empty() {
            true => "nothing to do".into(),
            false => counts.join(", "),
        }
    );
    Ok(Outcome::Success)
}
