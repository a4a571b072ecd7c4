//! `aup verify FILE`: every check ingest makes on a digital return, explained,
//! without touching the archive.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::{Outcome, SchoolsDir, style};
use crate::archive::Archive;
use crate::ingest::pages::{FileBytes, FileKind, PageSource};
use crate::ingest::{DigitalContext, inspect_digital};

/// Checks one returned PDF the way `aup ingest` would and explains each check:
/// the policy text as issued (the issued file is a byte prefix of the return, or
/// every page's content is unchanged), the policy version, the name and date fields,
/// and the signature: a certificate signature (intact, valid, trusted, what changed
/// after signing, in pyHanko's words) or a drawn one (ink in the signature box).
/// The archive is only read.
///
/// Exit status: 0 when the form would be accepted; 1 when it would not (the verdict
/// says why) or the file cannot be checked.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The returned PDF.
    pub file: PathBuf,
    /// The archive folder whose issue register knows the form.
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
    #[command(flatten)]
    pub dir: SchoolsDir,
    /// Print one JSON object: the verdict, the fields, every check and every
    /// certificate signature.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: VerifyArgs) -> Result<Outcome, String> {
    let file = args.file.display().to_string();
    let bytes = FileBytes::map(&args.file).map_err(|e| format!("cannot read {file}: {e}"))?;
    if FileKind::sniff(bytes.as_ref()) != Some(FileKind::Pdf) {
        return Err(format!("{file} is not a PDF"));
    }
    let bytes = Arc::new(bytes);
    let source = PageSource::open(bytes.clone(), FileKind::Pdf)
        .map_err(|e| format!("{file}: {} ({})", e.message, e.reason))?;
    let PageSource::Pdf(pdf) = &source else {
        return Err(format!("{file} is not a PDF"));
    };
    let Some(form_id) = pdf.form_id.clone() else {
        return Err(format!(
            "{file} is not one of our forms: it has no aup form id in its metadata \
             (a scan is identified by its QR codes: use `aup ingest`)"
        ));
    };
    let index = Archive::open_read_only(&args.archive).map_err(|e| e.to_string())?;
    let register: HashMap<String, _> = index
        .issued(&form_id)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|form| (form.form_id.clone(), form))
        .collect();
    let context =
        DigitalContext::load(&index, &register, &args.dir.schools).map_err(|e| e.to_string())?;
    for problem in &context.root_problems {
        eprintln!("{} {problem}", style().warn("warning:"));
    }
    let inspection = inspect_digital((*bytes).as_ref(), &source, &form_id, &register, &context)
        .map_err(|e| format!("{file}: {}", e.message))?;

    if args.json {
        let mut json = serde_json::to_value(&inspection).map_err(|e| e.to_string())?;
        json["file"] = serde_json::Value::String(file);
        println!("{json}");
    } else {
        let style = style();
        println!("{file}: form {form_id}", form_id = inspection.form_id);
        println!(
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
            println!("  {mark}  {}: {}", check.check, check.detail);
        }
        let verdict = match inspection.verdict {
            "accepted" => style.ok("accepted"),
            other => style.warn(other),
        };
        let reason = inspection
            .reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        println!("verdict: {verdict}{reason}");
    }
    Ok(match inspection.verdict {
        "accepted" => Outcome::Success,
        _ => Outcome::SomeFailed,
    })
}
