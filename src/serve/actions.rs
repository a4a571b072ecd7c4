//! What the office changes from its pages: uploads into the inbox, assigning or
//! setting aside quarantined pages, issuing forms; and checking a PDF without
//! filing it. Changes go to the filing thread; uploads are written only into the
//! inbox, and only under a name we make.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::multipart::Field;
use axum::extract::{Multipart, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::App;
use super::auth::User;
use super::downloads::safe_file_name;
use super::filing::Job;
use super::pages::{blocking, message, viewer};
use super::{UPLOAD_LIMIT_BYTES, sessions};
use crate::archive::{Archive, NewUpload};
use crate::config::AcademicYear;
use crate::config::aups::AupKind;

/// The inbox subfolder uploads are written to.
pub const UPLOADS_FOLDER: &str = "web";
/// An upload being written is hidden (ingest leaves hidden files alone) under
/// this prefix until its last byte is on disk.
const PARTIAL: &str = ".aup-upload-";

#[derive(Debug)]
enum UploadError {
    TooLarge(String),
    Broken(String),
    Disk(String),
}

/// A file the browser sent, now in the inbox.
#[derive(Debug, serde::Serialize)]
struct Uploaded {
    id: i64,
    name: String,
    size: u64,
    sha256: String,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

fn refuse(app: &App, user: &User, json: bool, status: StatusCode, text: &str) -> Response {
    match json {
        true => (status, Json(context! { error => text })).into_response(),
        false => message(app, user, status, "The upload was refused", text),
    }
}

pub async fn upload(
    user: User,
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let json = wants_json(&headers);
    if let Err(refused) = user.require(user.role.files_returns(), "upload scans") {
        return refused;
    }
    let folder = app.folders.inbox.join(UPLOADS_FOLDER);
    if let Err(error) = tokio::fs::create_dir_all(&folder).await {
        let text = format!(
            "The inbox folder {} cannot be written: {error}",
            folder.display()
        );
        return refuse(&app, &user, json, StatusCode::INTERNAL_SERVER_ERROR, &text);
    }
    let mut uploaded = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                let text = format!("The upload did not arrive whole ({error}). Try again.");
                return refuse(&app, &user, json, StatusCode::BAD_REQUEST, &text);
            }
        };
        if field.name() != Some("file") || field.file_name().is_none_or(str::is_empty) {
            continue;
        }
        match store(&app, &user, &folder, field).await {
            Ok(file) => uploaded.push(file),
            Err(UploadError::TooLarge(name)) => {
                let text = format!(
                    "{name} is larger than the upload limit of {} MB. Split the scan into smaller files, or save it into the inbox folder directly.",
                    UPLOAD_LIMIT_BYTES / (1024 * 1024)
                );
                return refuse(&app, &user, json, StatusCode::PAYLOAD_TOO_LARGE, &text);
            }
            Err(UploadError::Broken(text)) => {
                return refuse(&app, &user, json, StatusCode::BAD_REQUEST, &text);
            }
            Err(UploadError::Disk(text)) => {
                return refuse(&app, &user, json, StatusCode::INTERNAL_SERVER_ERROR, &text);
            }
        }
    }
    if uploaded.is_empty() {
        return refuse(
            &app,
            &user,
            json,
            StatusCode::BAD_REQUEST,
            "Choose a file to upload.",
        );
    }
    app.filing.send(Job::Wake);
    match json {
        true => Json(context! { uploads => uploaded }).into_response(),
        false => Redirect::to("/upload").into_response(),
    }
}

/// A file being written, removed when dropped unless kept: a request cancelled
/// mid-upload (the browser closed, the network dropped) leaves nothing behind.
struct Partial {
    path: PathBuf,
    keep: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Streams one file field into a new file at `path` (tokio's file: the writes
/// run off the async threads), counting and hashing as it comes, synced to disk.
/// Returns the file's guard, size and SHA-256.
async fn receive(
    field: &mut Field<'_>,
    path: PathBuf,
    original: &str,
) -> Result<(Partial, u64, String), UploadError> {
    use tokio::io::AsyncWriteExt;
    let disk =
        |e: std::io::Error| UploadError::Disk(format!("The upload could not be written: {e}"));
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .await
        .map_err(disk)?;
    let partial = Partial { path, keep: false };
    let (mut hasher, mut size) = (Sha256::new(), 0u64);
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                size += chunk.len() as u64;
                if size > UPLOAD_LIMIT_BYTES {
                    return Err(UploadError::TooLarge(original.to_owned()));
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await.map_err(disk)?;
            }
            Ok(None) => break,
            Err(error) => {
                return Err(UploadError::Broken(format!(
                    "{original} did not arrive whole ({error}). Try again."
                )));
            }
        }
    }
    file.sync_all().await.map_err(disk)?;
    Ok((partial, size, crate::form::id::hex(&hasher.finalize())))
}

/// Streams one uploaded file into the inbox: hidden while it is written; then
/// recorded, with its audit entry, in the index; then renamed to its visible
/// name. An upload that cannot be recorded never reaches the inbox (its hidden
/// copy is removed), so every file filed from the page is in the audit log.
async fn store(
    app: &Arc<App>,
    user: &User,
    folder: &Path,
    mut field: Field<'_>,
) -> Result<Uploaded, UploadError> {
    let original = field.file_name().unwrap_or("upload").to_owned();
    let hidden = folder.join(format!("{PARTIAL}{}.part", sessions::token()));
    let (mut partial, size, sha256) = receive(&mut field, hidden, &original).await?;
    let stamp = time::OffsetDateTime::now_utc();
    let visible = folder.join(format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}-{}-{}",
        stamp.year(),
        stamp.month() as u8,
        stamp.day(),
        stamp.hour(),
        stamp.minute(),
        stamp.second(),
        &sha256[..8],
        safe_file_name(&original)
    ));
    let at = stamp
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let (archive, from, folder) = (
        app.folders.archive.clone(),
        partial.path.clone(),
        folder.to_owned(),
    );
    let (name, schools) = (user.name.clone(), user.schools.clone());
    let (sha, file_name) = (sha256.clone(), original.clone());
    let placed = tokio::task::spawn_blocking(move || -> Result<i64, UploadError> {
        let upload = NewUpload {
            sha256: &sha,
            name: &file_name,
            size,
        };
        let not_recorded = |error: crate::archive::ArchiveError| {
            UploadError::Disk(format!(
                "{file_name} was not uploaded: it could not be recorded in the archive ({error}). Try again; if it keeps failing, tell whoever looks after aup."
            ))
        };
        let index = Archive::open_unlocked(&archive).map_err(not_recorded)?;
        let id = index
            .record_upload(&upload, &name, &schools, &at)
            .map_err(not_recorded)?;
        let placed =
            std::fs::rename(&from, &visible).and_then(|()| std::fs::File::open(&folder)?.sync_all());
        if let Err(error) = placed {
            // Recorded but not in the inbox: the record is taken back, so the
            // page does not wait for a file that will never be filed.
            if let Err(undo) = index.withdraw_upload(id, &format!("not placed in the inbox: {error}")) {
                eprintln!("aup serve: upload {id} could not be withdrawn: {undo}");
            }
            return Err(UploadError::Disk(format!(
                "{file_name} was not uploaded: it could not be moved into the inbox ({error}). Try again."
            )));
        }
        Ok(id)
    })
    .await
    .unwrap_or_else(|e| Err(UploadError::Disk(format!("The upload failed: {e}"))))?;
    partial.keep = true;
    Ok(Uploaded {
        id: placed,
        name: original,
        size,
        sha256,
    })
}

/// Removes uploads a stopped server left half-written (it is the only writer
/// of these names, and at start it is writing none).
pub fn tidy_partial_uploads(inbox: &Path) {
    let Ok(entries) = std::fs::read_dir(inbox.join(UPLOADS_FOLDER)) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(PARTIAL) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[derive(Deserialize)]
pub struct AssignForm {
    form_id: String,
    page: u32,
}

pub async fn assign(
    user: User,
    State(app): State<Arc<App>>,
    UrlPath(entry): UrlPath<i64>,
    axum::Form(form): axum::Form<AssignForm>,
) -> Response {
    if let Err(refused) = user.require(user.role.files_returns(), "assign quarantined pages") {
        return refused;
    }
    let bad = |text: String| message(&app, &user, StatusCode::BAD_REQUEST, "Not assigned", &text);
    let Ok(form_id) = form.form_id.trim().parse::<crate::form::FormId>() else {
        return bad(format!("{} is not a form id.", form.form_id));
    };
    // The entry and the form must both be ones this user may see.
    let (app2, school_allowed) = (app.clone(), user.clone());
    let id = form_id.to_string();
    let visible = tokio::task::spawn_blocking(move || {
        let index = Archive::open_read_only(&app2.folders.archive).ok()?;
        let quarantined = index.quarantine_entry(entry).ok()??;
        if !school_allowed.may_see_quarantined(&index, &quarantined) {
            return None;
        }
        index
            .issued(&id)
            .ok()
            .flatten()
            .filter(|f| school_allowed.may_see(&f.school))
            .map(|f| f.pages)
    })
    .await
    .ok()
    .flatten();
    let Some(pages) = visible else {
        return bad(format!(
            "There is no form {form_id}, or quarantined entry {entry}, that your account may see."
        ));
    };
    if form.page == 0 || i64::from(form.page) > pages {
        return bad(format!(
            "Form {form_id} has pages 1 to {pages}, not {}.",
            form.page
        ));
    }
    let (reply, answer) = oneshot::channel();
    app.filing.send(Job::Assign {
        entry,
        form_id: form_id.to_string(),
        first_page: form.page,
        by: user.name.clone(),
        reply,
    });
    match answer.await {
        Ok(Ok(outcomes)) => {
            let lines: Vec<String> = outcomes
                .iter()
                .map(|o| {
                    let missing = match o.missing.is_empty() {
                        true => String::new(),
                        false => format!(" (missing: {})", o.missing.join(", ")),
                    };
                    format!(
                        "{} {}: {}{missing}",
                        o.form_id.as_deref().unwrap_or(&o.file),
                        o.person.as_deref().unwrap_or("(blank form)"),
                        o.verdict
                    )
                })
                .collect();
            app.render(
                "message.html",
                context! {
                    user => viewer(&user),
                    title => format!("Filed as page {} of {form_id}", form.page),
                    lines => lines,
                    links => [
                        (format!("/form/{form_id}"), format!("Form {form_id}")),
                        ("/quarantine".to_owned(), "Back to quarantine".to_owned()),
                    ],
                },
            )
        }
        Ok(Err(text)) => message(
            &app,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not assigned",
            &text,
        ),
        Err(_) => message(
            &app,
            &user,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not assigned",
            "The filing thread stopped.",
        ),
    }
}

pub async fn set_aside(
    user: User,
    State(app): State<Arc<App>>,
    UrlPath(entry): UrlPath<i64>,
) -> Response {
    if let Err(refused) = user.require(user.role.files_returns(), "set quarantined pages aside") {
        return refused;
    }
    let (app2, allowed) = (app.clone(), user.clone());
    let visible = tokio::task::spawn_blocking(move || {
        let index = Archive::open_read_only(&app2.folders.archive).ok()?;
        let quarantined = index.quarantine_entry(entry).ok()??;
        Some(allowed.may_see_quarantined(&index, &quarantined))
    })
    .await
    .ok()
    .flatten();
    if visible != Some(true) {
        return message(
            &app,
            &user,
            StatusCode::NOT_FOUND,
            "Not set aside",
            &format!("There is no quarantined entry {entry} that your account may see."),
        );
    }
    let (reply, answer) = oneshot::channel();
    app.filing.send(Job::SetAside {
        entry,
        by: user.name.clone(),
        reply,
    });
    match answer.await {
        Ok(Ok(true)) => Redirect::to("/quarantine").into_response(),
        Ok(Ok(false)) => message(
            &app,
            &user,
            StatusCode::CONFLICT,
            "Not set aside",
            "That entry was settled already, or does not exist.",
        ),
        Ok(Err(text)) => message(
            &app,
            &user,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not set aside",
            &text,
        ),
        Err(_) => message(
            &app,
            &user,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not set aside",
            "The filing thread stopped.",
        ),
    }
}

/// How long `aup verify` may take on an uploaded PDF.
const CHECK_DEADLINE: Duration = Duration::from_secs(120);

/// Checks an uploaded PDF with `aup verify`, in a child process under the
/// reader's limits (a hostile PDF must not take the server down), and shows
/// its explanation. Nothing is filed; the temporary copy is removed.
pub async fn check(user: User, State(app): State<Arc<App>>, mut multipart: Multipart) -> Response {
    // One check at a time: each may hold 100 MB and a reader's 3 GiB for two
    // minutes, and the inbox must keep filing meanwhile.
    let Ok(_permit) = app.checking_pdfs.clone().try_acquire_owned() else {
        return message(
            &app,
            &user,
            StatusCode::SERVICE_UNAVAILABLE,
            "Not checked",
            "Another PDF is being checked. Try again in a minute.",
        );
    };
    let mut received = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        let original = field.file_name().unwrap_or("upload.pdf").to_owned();
        match store_temporary(&app.folders.archive.join(CHECKING_FOLDER), field).await {
            Ok(partial) => received = Some((original, partial)),
            Err(UploadError::TooLarge(_)) => {
                return message(
                    &app,
                    &user,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Not checked",
                    &format!(
                        "{original} is larger than the upload limit of {} MB.",
                        UPLOAD_LIMIT_BYTES / (1024 * 1024)
                    ),
                );
            }
            Err(UploadError::Broken(text)) => {
                return message(&app, &user, StatusCode::BAD_REQUEST, "Not checked", &text);
            }
            Err(UploadError::Disk(text)) => {
                return message(
                    &app,
                    &user,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Not checked",
                    &text,
                );
            }
        }
        break;
    }
    let Some((original, partial)) = received else {
        return message(
            &app,
            &user,
            StatusCode::BAD_REQUEST,
            "Not checked",
            "Choose a PDF to check.",
        );
    };
    let folders = app.folders.clone();
    let app2 = app.clone();
    blocking(move || {
        let result = run_verify(&folders.archive, &folders.schools, &partial.path);
        drop(partial);
        let (report, problem) = match result {
            Ok(Verified::Report(report)) => (Some(report), None),
            Ok(Verified::CouldNot(text)) | Err(text) => (None, Some(text)),
        };
        let report = report.filter(|r| r.is_object());
        let allowed = report
            .as_ref()
            .and_then(|r| r.get("school"))
            .and_then(|s| s.as_str())
            .is_none_or(|school| user.may_see(school));
        if !allowed {
            return message(
                &app2,
                &user,
                StatusCode::FORBIDDEN,
                "Not shown",
                "That form belongs to a school your account may not see.",
            );
        }
        app2.render(
            "check.html",
            context! {
                user => viewer(&user),
                limit_mb => UPLOAD_LIMIT_BYTES / (1024 * 1024),
                file => original,
                report => report,
                problem => problem,
            },
        )
    })
    .await
}

enum Verified {
    Report(serde_json::Value),
    CouldNot(String),
}

fn run_verify(archive: &Path, schools: &Path, file: &Path) -> Result<Verified, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find aup itself: {e}"))?;
    let mut command = std::process::Command::new(exe);
    command
        .arg("verify")
        .arg("--json")
        .arg("--archive")
        .arg(archive)
        .arg("--schools")
        .arg(schools)
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    crate::ingest::worker::apply_limits(
        &mut command,
        crate::ingest::worker::Limits::for_file(size, Some(CHECK_DEADLINE)),
    );
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start aup verify: {e}"))?;
    // Its output is read while it runs (a full pipe would stall it), and it is
    // stopped at the deadline: killed only before it was waited for, so never a
    // process that has gone and whose id was given to another.
    fn read_all(
        pipe: Option<impl std::io::Read + Send + 'static>,
    ) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(pipe) = pipe {
                let _ = std::io::Read::read_to_end(
                    &mut std::io::Read::take(pipe, 16 << 20),
                    &mut bytes,
                );
            }
            bytes
        })
    }
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > CHECK_DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => return Err(format!("aup verify failed: {error}")),
        }
    };
    let output = std::process::Output {
        status: status.unwrap_or_else(|| std::os::unix::process::ExitStatusExt::from_raw(9)),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0 | 1) => serde_json::from_slice(&output.stdout)
            .map(Verified::Report)
            .map_err(|e| format!("aup verify's answer could not be read: {e}")),
        Some(3) => Ok(Verified::CouldNot(
            stderr
                .lines()
                .map(|l| l.trim_start_matches("error: "))
                .collect::<Vec<_>>()
                .join(" "),
        )),
        Some(2) => Err(format!("aup verify refused its arguments: {stderr}")),
        _ => Err(format!(
            "the check stopped without an answer (over {} s, or the file broke its reader)",
            CHECK_DEADLINE.as_secs()
        )),
    }
}

/// Where "Check a PDF" keeps an uploaded file while `aup verify` reads it: a
/// folder of the archive's own that ingest's tidying leaves alone, emptied when
/// the server starts.
pub const CHECKING_FOLDER: &str = ".checking";

/// Streams an upload to a file of its own in `folder`; removed when the guard goes.
async fn store_temporary(folder: &Path, mut field: Field<'_>) -> Result<Partial, UploadError> {
    let original = field.file_name().unwrap_or("upload").to_owned();
    tokio::fs::create_dir_all(folder)
        .await
        .map_err(|e| UploadError::Disk(format!("The file could not be written: {e}")))?;
    let path = folder.join(format!("{}.pdf", sessions::token()));
    Ok(receive(&mut field, path, &original).await?.0)
}

/// Empties the checking folder a stopped server may have left files in.
pub fn tidy_checking(archive: &Path) {
    let _ = std::fs::remove_dir_all(archive.join(CHECKING_FOLDER));
}

#[derive(Deserialize)]
pub struct IssueForm {
    school: String,
    year: String,
}

pub async fn issue(
    user: User,
    State(app): State<Arc<App>>,
    axum::Form(form): axum::Form<IssueForm>,
) -> Response {
    if let Err(refused) = user.require(user.role.issues_forms(), "issue forms") {
        return refused;
    }
    let bad = |text: String| message(&app, &user, StatusCode::BAD_REQUEST, "Not issued", &text);
    let Ok(year) = form.year.parse::<AcademicYear>() else {
        return bad(format!(
            "{} is not an academic year like 2025-26.",
            form.year
        ));
    };
    let known = crate::config::school_files(&app.folders.schools)
        .unwrap_or_default()
        .iter()
        .any(|p| p.file_stem().and_then(|s| s.to_str()) == Some(form.school.as_str()));
    if !known || !user.may_see(&form.school) {
        return bad(format!(
            "There is no school {} your account may issue forms for.",
            form.school
        ));
    }
    let (reply, answer) = oneshot::channel();
    app.filing.send(Job::Issue {
        school: form.school.clone(),
        year,
        by: user.name.clone(),
        reply,
    });
    match answer.await {
        Ok(Ok(issued)) => {
            let (app2, slug, year_text) = (app.clone(), form.school.clone(), year.to_string());
            let forms: Vec<(String, Option<String>)> = tokio::task::spawn_blocking(move || {
                Archive::open_read_only(&app2.folders.archive)
                    .and_then(|index| index.forms_with_returns(&slug, &year_text, AupKind::Staff))
                    .map(|forms| {
                        let current = issued_fingerprint(&app2, &slug, &year_text);
                        forms
                            .into_iter()
                            .filter(|f| f.fingerprint == current)
                            .map(|f| (f.form_id, f.name))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .await
            .unwrap_or_default();
            app.render(
                "issue.html",
                context! {
                    user => viewer(&user),
                    issued => issued,
                    forms => forms,
                },
            )
        }
        Ok(Err(text)) => message(
            &app,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not issued",
            &text,
        ),
        Err(_) => message(
            &app,
            &user,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not issued",
            "The filing thread stopped.",
        ),
    }
}

fn issued_fingerprint(app: &App, slug: &str, year: &str) -> String {
    Archive::open_read_only(&app.folders.archive)
        .ok()
        .and_then(|index| index.current_fingerprint(slug, year).ok().flatten())
        .unwrap_or_default()
}
