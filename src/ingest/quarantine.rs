//! What could not be placed is kept, never dropped: a whole file as it came, or
//! one page as a PNG with a thumbnail, each with a JSON sidecar saying why and how
//! to place it by hand (`aup assign`), for the office to look at.

use std::path::Path;

use super::file::{image_page, image_pages_pdf, store};
use super::pages::Unreadable;
use super::protocol::{IdentifiedPage, SpooledImage};
use super::{FileResult, IngestError, IngestPlan, Outcome, relative};
use crate::archive::RegisteredForm;
use crate::verdict::{Reason, Verdict};

/// A file that could not be read at all: quarantined as it is, with a sidecar.
pub(super) fn quarantine_file(
    plan: &IngestPlan,
    file: &FileResult,
    why: &Unreadable,
) -> Result<String, IngestError> {
    let dir = plan.archive.join("quarantine");
    let extension = file
        .stored
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("bin");
    let path = dir.join(format!("{}.{extension}", short(&file.sha256)));
    let bytes = std::fs::read(&file.stored).map_err(|source| IngestError::Write {
        path: file.stored.clone(),
        source,
    })?;
    store(&path, &bytes)?;
    sidecar(&path, &file.name, None, why.reason, &why.message, None)?;
    Ok(relative(&plan.archive, &path))
}

/// An identified page that may not be filed from this file (another school's
/// form in an upload by an account for some schools): kept upright as a
/// one-page PDF, which `aup assign` and the quarantine page can place.
pub(super) fn quarantine_identified_page(
    plan: &IngestPlan,
    file: &FileResult,
    page: u32,
    found: &IdentifiedPage,
    form: &RegisteredForm,
    reason: Reason,
    message: &str,
) -> Result<String, IngestError> {
    let path = plan
        .archive
        .join("quarantine")
        .join(format!("{}-p{page}.pdf", short(&file.sha256)));
    let image = image_page(&file.stored, found, form)?;
    store(&path, &image_pages_pdf([image]))?;
    sidecar(&path, &file.name, Some(page), reason, message, None)?;
    Ok(relative(&plan.archive, &path))
}

/// One page that could not be placed: kept as a PNG with a sidecar and thumbnail.
pub(super) fn quarantine_page(
    plan: &IngestPlan,
    file: &FileResult,
    page: u32,
    image: Option<&SpooledImage>,
    reason: Reason,
    message: &str,
) -> Result<String, IngestError> {
    let dir = plan.archive.join("quarantine");
    let stem = format!("{}-p{page}", short(&file.sha256));
    let path = match image {
        Some(image) => {
            let path = dir.join(format!("{stem}.png"));
            store(&path, &read_spooled(&image.png)?)?;
            let thumb_path = dir.join(format!("{stem}.thumb.png"));
            store(&thumb_path, &read_spooled(&image.thumbnail)?)?;
            sidecar(
                &path,
                &file.name,
                Some(page),
                reason,
                message,
                Some(&thumb_path),
            )?;
            path
        }
        None => {
            // No image (the page could not be decoded): point at the whole file.
            let path = dir.join(format!("{stem}.json"));
            sidecar(&path, &file.name, Some(page), reason, message, None)?;
            path
        }
    };
    Ok(relative(&plan.archive, &path))
}

fn sidecar(
    path: &Path,
    file: &str,
    page: Option<u32>,
    reason: Reason,
    message: &str,
    thumbnail: Option<&Path>,
) -> Result<(), IngestError> {
    let json = serde_json::json!({
        "file": file,
        "page": page,
        "reason": reason,
        "message": message,
        "thumbnail": thumbnail.and_then(|t| t.file_name()).map(|n| n.to_string_lossy().into_owned()),
        "help": "identify it by hand with `aup assign FILE FORM_ID [--page N]`, or rescan it",
    });
    let sidecar = match path.extension().is_some_and(|e| e == "json") {
        true => path.to_owned(),
        false => path.with_extension(format!(
            "{}.json",
            path.extension().and_then(|e| e.to_str()).unwrap_or("")
        )),
    };
    store(
        &sidecar,
        serde_json::to_string_pretty(&json)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// A received file's hash shortened for a file name (the whole of a short one).
fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// A page image a worker spooled, read back to be filed.
pub(super) fn read_spooled(path: &Path) -> Result<Vec<u8>, IngestError> {
    std::fs::read(path).map_err(|source| IngestError::Read {
        path: path.to_owned(),
        source,
    })
}

pub(super) fn quarantine_outcome(
    file: &str,
    page: Option<u32>,
    reason: Reason,
    message: &str,
    archived: Option<String>,
) -> Outcome {
    Outcome {
        file: file.to_owned(),
        form_id: None,
        school: None,
        person: None,
        verdict: Verdict::Unidentified,
        missing: Vec::new(),
        reason: Some(format!("{reason}: {message}")),
        archived,
        page,
        boxes: Vec::new(),
        consents: Vec::new(),
    }
}
