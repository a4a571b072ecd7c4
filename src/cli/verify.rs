//! `aup verify FILE`: every check ingest makes on a digital return, explained,
//! without touching the archive.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;

use anstream::eprintln;

use super::{Outcome, SchoolsDir, style};
use crate::archive::Archive;
use crate::ingest::pages::FileKind;
use crate::ingest::protocol::{Reading, Request, Task};
use crate::ingest::worker;
use crate::verdict::Verdict;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The returned PDF.
    pub file: PathBuf,
    /// The archive folder whose issue register knows the form.
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
    #[command(flatten)]
    pub dir: SchoolsDir,
    /// Print one JSON object on one line: the verdict, the fields, every check and
    /// every certificate signature.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: VerifyArgs) -> Result<Outcome, String> {
    match check(&args) {
        Ok(outcome) => Ok(outcome),
        Err(message) => {
            eprintln!("{} {message}", style().error("error:"));
            Ok(Outcome::CouldNotCheck)
        }
    }
}

fn check(args: &VerifyArgs) -> Result<Outcome, String> {
    let file = args.file.display().to_string();
    let mut head = Vec::new();
    std::fs::File::open(&args.file)
        .and_then(|f| f.take(1024).read_to_end(&mut head))
        .map_err(|e| format!("cannot read {file}: {e}"))?;
    if FileKind::sniff(&head) != Some(FileKind::Pdf) {
        return Err(format!("{file} is not a PDF"));
    }
    // The archive is only read; the reader's spool is a private temporary folder.
    Archive::open_read_only(&args.archive).map_err(|e| e.to_string())?;
    let spool = tempfile::Builder::new()
        .prefix("aup-verify-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let request = Request {
        file: args.file.clone(),
        kind: FileKind::Pdf,
        archive: args.archive.clone(),
        schools: args.dir.schools.clone(),
        spool: spool.path().to_owned(),
        task: Task::Verify,
    };
    let answer = worker::read(&request, worker::Limits::for_file(size, None))
        .map_err(|e| format!("{file}: {} ({})", e.message, e.reason))?;
    for problem in &answer.warnings {
        eprintln!("{} {problem}", style().warn("warning:"));
    }
    let inspection = match answer.reading {
        Reading::Verify(Ok(inspection)) => inspection,
        Reading::Verify(Err(message)) => return Err(format!("{file}: {message}")),
        _ => return Err(format!("{file}: the reader answered another question")),
    };

    if args.json {
        let mut json = serde_json::to_value(&inspection).map_err(|e| e.to_string())?;
        json["file"] = serde_json::Value::String(file);
        outln!("{json}");
    } else {
        let style = style();
        outln!("{file}: form {form_id}", form_id = inspection.form_id);
        outln!(
            "  {} {}, {}",
            inspection.person.as_deref().unwrap_or("(no name)"),
            inspection.school,
            inspection.year
        );
        for check in &inspection.checks {
            let mark = match check.passed {
                true => style.ok("pass"),
                false => style.error("FAIL"),
            };
            outln!("  {mark}  {}: {}", check.check, check.detail);
        }
        let verdict = match inspection.verdict {
            Verdict::Accepted => style.ok("accepted"),
            other => style.warn(other.as_str()),
        };
        let reason = inspection
            .reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        outln!("verdict: {verdict}{reason}");
    }
    Ok(match inspection.verdict {
        Verdict::Accepted => Outcome::Success,
        _ => Outcome::NotAccepted,
    })
}
