//! `aup ingest`: file the signed returns waiting in the inbox.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{Outcome, SchoolsDir, style};
use crate::ingest::{self, Event, IngestPlan};
use crate::verdict::Verdict;

/// Identifies every page in the inbox by its QR code, checks each form (right
/// policy version, every page, signed, named, dated), files it in the archive and
/// indexes it. Forms filled in a PDF reader and emailed back are recognised by their
/// metadata and checked digitally (fields, drawn or certificate signature, policy
/// text unchanged; see `aup verify`). Received files are kept content-addressed under
/// <ARCHIVE>/received/; forms under <ARCHIVE>/<school>/<year>/; pages that can't be
/// placed under <ARCHIVE>/quarantine/ with a JSON sidecar saying why. An inbox file
/// is removed only once its archive copy is on disk and the index committed, so
/// running ingest again is always safe.
///
/// Verdicts: accepted, incomplete (with what is missing), outdated (an older policy
/// version), rejected (tampered: a broken certificate signature or changed policy
/// text), unidentified (quarantined), duplicate (the same bytes came before).
///
/// Exit status: 0 when the run completed, whatever the verdicts; 1 for an
/// operational failure (the archive can't be written, another ingest holds its
/// lock, the inbox is missing).
///
/// Every file is read in a separate reader process under limits (3 GiB of memory
/// plus the file's size, a 256 MiB stack, 30 s plus 1 s per 4 MB of file): a file
/// that crashes its reader or overruns is quarantined (`reader_failed`, `timeout`)
/// and the run goes on. Files over 2 GB, pages over 60 megapixels, PDFs or TIFFs
/// over 2000 pages and image decodes over 512 MB are quarantined unread.
///
/// Inbox entries that are not read are listed with the reason: symbolic links (not
/// followed), FIFOs and devices, hidden files, files still being written, files
/// that changed while being read. An inbox file is removed only if it is still the
/// very file that was read; a file replaced meanwhile is left for the next run.
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
    /// (and page, for a page). Entries left in the inbox are listed on stderr.
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
    };
    let style = style();
    let terminal = std::io::stderr().is_terminal();
    let summary = ingest::run(&plan, |event| match event {
        // The progress line lives on a terminal only, and is overwritten in place.
        Event::Reading { index, total, file } if terminal && !args.json => {
            eprint!("\r\x1b[2Kreading {index}/{total}: {file}");
        }
        Event::Reading { .. } => {}
        Event::Warning(text) => eprintln!("{} {text}", style.warn("warning:")),
        // Entries left alone are diagnostics, not results: on stderr, so that
        // stdout (and --json) holds only what was filed.
        Event::Skipped { file, reason } => {
            if terminal {
                eprint!("\r\x1b[2K");
            }
            eprintln!("{} {file}: {reason}", style.warn("skipped:"));
        }
        Event::File { file, pages, identified, blank, quarantined } if !args.json => {
            if terminal {
                eprint!("\r\x1b[2K");
            }
            outln!("{file}: {pages} pages, {identified} identified, {blank} blank, {quarantined} quarantined");
        }
        Event::File { .. } => {}
        Event::Outcome(outcome) if args.json => {
            outln!("{}", serde_json::to_string(outcome).unwrap_or_default());
        }
        Event::Outcome(outcome) => {
            if terminal {
                eprint!("\r\x1b[2K");
            }
            let who = outcome
                .form_id
                .as_ref()
                .map(|id| format!("{id} {}", outcome.person.as_deref().unwrap_or("(blank form)")))
                .unwrap_or_else(|| outcome.file.clone());
            let page = outcome.page.map(|p| format!(" page {p}")).unwrap_or_default();
            let verdict = match outcome.verdict {
                Verdict::Accepted => style.ok("accepted"),
                Verdict::Duplicate => Verdict::Duplicate.to_string(),
                other => style.warn(other.as_str()),
            };
            let reason = outcome.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
            outln!("  {who}{page}: {verdict}{reason}");
        }
    })
    .map_err(|e| e.to_string())?;
    if terminal && !args.json {
        eprint!("\r\x1b[2K");
    }
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
