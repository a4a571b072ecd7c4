//! `aup show FORM_ID`: a form's history, from issue to every return.

use std::path::PathBuf;

use clap::Args;

use serde_json::json;

use super::{Outcome, json_line};
use crate::archive::Archive;
use crate::form::FormId;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The form id as printed beside the QR code, e.g. PAK-2526-0007-X.
    pub form_id: String,
    /// The archive folder (with its index, aup.sqlite).
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
    /// One JSON object on stdout (see above).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ShowArgs) -> Result<Outcome, String> {
    let id: FormId = args.form_id.parse()?;
    let archive = Archive::open_read_only(&args.archive).map_err(|e| e.to_string())?;
    let Some(form) = archive.issued(id.as_str()).map_err(|e| e.to_string())? else {
        return Err(format!(
            "form {id} is not in the issue register of {}",
            args.archive.display()
        ));
    };
    let current = archive
        .current_fingerprint_for(&form)
        .map_err(|e| e.to_string())?;
    let history = archive.history(id.as_str()).map_err(|e| e.to_string())?;
    if args.json {
        json_line(&json!({
            "form_id": id.as_str(),
            "school": form.school,
            "year": form.year,
            "person": form.name,
            "role": form.role,
            "fingerprint": form.fingerprint,
            "current": current.as_deref() == Some(form.fingerprint.as_str()),
            "pages": form.pages,
            "issued_on": form.issued_on,
            "returns": history.iter().map(|(r, files, archived)| json!({
                "ingested_at": r.ingested_at,
                "verdict": r.verdict,
                "missing": r.missing,
                "method": r.method,
                "files": files,
                "archived": archived,
            })).collect::<Vec<_>>(),
        }));
        return Ok(Outcome::Success);
    }
    outln!("form {id}");
    outln!("  school:  {} {}", form.school, form.year);
    outln!(
        "  person:  {}",
        form.name.as_deref().unwrap_or("(blank form)")
    );
    outln!("  role:    {}", form.role.as_deref().unwrap_or("-"));
    let version = match current.as_deref() == Some(form.fingerprint.as_str()) {
        true => "current",
        false => "superseded",
    };
    outln!(
        "  policy:  {} ({version})",
        &form.fingerprint[..12.min(form.fingerprint.len())]
    );
    outln!("  pages:   {}", form.pages);
    if history.is_empty() {
        outln!("  returns: none yet");
    }
    for (r, files, archived) in history {
        let missing = match r.missing.is_empty() {
            true => String::new(),
            false => format!(" (missing: {})", r.missing.join(", ")),
        };
        outln!(
            "  {}  {}{missing} by {}, from {} -> {archived}",
            r.ingested_at,
            r.verdict,
            r.method,
            files.join(", ")
        );
    }
    Ok(Outcome::Success)
}
