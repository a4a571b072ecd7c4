//! The pages the office reads. Each reads the index afresh (read-only), so what
//! a page shows after a reload is what the archive holds, never what a browser
//! remembered.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::App;
use super::auth::User;
use super::downloads::{inside, send};
use super::views;
use super::wording::{PlainReason, arrived_as, plain_reason, printable};
use crate::archive::{Archive, RegisteredForm};
use crate::config::AcademicYear;
use crate::report;

/// What every page's header needs to know of the user.
#[derive(Serialize)]
pub struct Viewer<'a> {
    name: &'a str,
    role: &'a str,
    csrf: &'a str,
    files_returns: bool,
    issues_forms: bool,
}

pub fn viewer(user: &User) -> Viewer<'_> {
    Viewer {
        name: &user.name,
        role: user.role.as_str(),
        csrf: &user.csrf,
        files_returns: user.role.files_returns(),
        issues_forms: user.role.issues_forms(),
    }
}

/// A page saying what went wrong, with the usual header.
pub fn message(app: &App, user: &User, status: StatusCode, title: &str, text: &str) -> Response {
    let mut response = app.render(
        "message.html",
        context! { user => viewer(user), title => title, text => text },
    );
    *response.status_mut() = status;
    response
}

pub(super) fn not_found(app: &App, user: &User, what: &str) -> Response {
    message(app, user, StatusCode::NOT_FOUND, "Not found", what)
}

/// Runs index reads off the async threads.
pub async fn blocking(work: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|_| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "This page failed; the server's log says why.",
        )
            .into_response()
    })
}

/// The index, read-only; a page saying so when there is none yet.
pub(super) fn open_index(app: &App, user: &User) -> Result<Archive, Response> {
    Archive::open_read_only(&app.folders.archive).map_err(|error| {
        message(
            app,
            user,
            StatusCode::SERVICE_UNAVAILABLE,
            "The archive cannot be read",
            &error.to_string(),
        )
    })
}

macro_rules! or_page {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(response) => return response,
        }
    };
}

pub(super) fn index_error(app: &App, user: &User, error: impl std::fmt::Display) -> Response {
    message(
        app,
        user,
        StatusCode::INTERNAL_SERVER_ERROR,
        "The archive could not be read",
        &error.to_string(),
    )
}

pub async fn overview(user: User, State(app): State<Arc<App>>) -> Response {
    blocking(move || {
        let index = or_page!(open_index(&app, &user));
        let years = app
            .views
            .overview(&app.folders.archive, &app.folders.schools, |school| {
                user.may_see(school)
            });
        let years = match years {
            Ok(years) => years,
            Err(error) => return index_error(&app, &user, error),
        };
        let filings: Vec<_> = index
            .latest_filings(40)
            .unwrap_or_default()
            .into_iter()
            .filter(|f| user.may_see(&f.school))
            .take(12)
            .map(|f| {
                let school_name = app.views.school_name(&app.folders.schools, &f.school);
                context! { school_name => school_name, ..minijinja::Value::from_serialize(&f) }
            })
            .collect();
        let open_quarantine = index
            .quarantine(true)
            .unwrap_or_default()
            .iter()
            .filter(|entry| user.may_see_quarantined(&index, entry))
            .count();
        app.render(
            "overview.html",
            context! {
                user => viewer(&user),
                years => years,
                filings => filings,
                open_quarantine => open_quarantine,
                inbox => inbox_for(&app, &user),
                mail => app.mail.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            },
        )
    })
    .await
}

#[derive(Deserialize, Default)]
pub struct RosterFilter {
    state: Option<String>,
    q: Option<String>,
}

/// The school year's rows, checked: the user may see the school, and it has
/// forms in that year.
pub(super) fn school_rows(
    app: &App,
    user: &User,
    slug: &str,
    year: &str,
) -> Result<views::SchoolYear, Response> {
    let refused = || {
        not_found(
            app,
            user,
            &format!("There is no school year {slug} {year} that your account may see."),
        )
    };
    if !user.may_see(slug) || year.parse::<AcademicYear>().is_err() {
        return Err(refused());
    }
    let index = open_index(app, user)?;
    let known = index
        .school_years()
        .map_err(|e| index_error(app, user, e))?
        .iter()
        .any(|(s, y)| s == slug && y == year);
    if !known {
        return Err(refused());
    }
    app.views
        .school_year(&index, &app.folders.schools, slug, year)
        .map_err(|e| index_error(app, user, e))
}

pub async fn school_year(
    user: User,
    State(app): State<Arc<App>>,
    Path((slug, year)): Path<(String, String)>,
    Query(filter): Query<RosterFilter>,
) -> Response {
    blocking(move || {
        let found = or_page!(school_rows(&app, &user, &slug, &year));
        let rows = &found.rows;
        let summary = views::summary(slug.clone(), found.name.clone(), year.clone(), rows);
        let wanted_state = filter
            .state
            .clone()
            .filter(|s| report::State::ALL.iter().any(|state| state.as_str() == s));
        let needle = filter.q.as_deref().unwrap_or("").trim().to_lowercase();
        let shown: Vec<_> = rows
            .iter()
            .filter(|r| {
                wanted_state
                    .as_deref()
                    .is_none_or(|s| r.state.as_str() == s)
            })
            .filter(|r| needle.is_empty() || r.name.to_lowercase().contains(&needle))
            .collect();
        app.render(
            "school_year.html",
            context! {
                user => viewer(&user),
                summary => summary,
                rows => shown,
                state => wanted_state,
                q => filter.q.unwrap_or_default(),
                states => report::State::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                signing_links => app.public_url.is_some() && user.role.files_returns(),
                mail_page => app.mail_file.is_some() && user.role.issues_forms(),
                consents_page => uses_parents_aup(&app, &slug),
            },
        )
    })
    .await
}

/// Whether the school's file lists the parents' AUP (the one with consents).
fn uses_parents_aup(app: &App, slug: &str) -> bool {
    crate::config::load(&app.folders.schools.join(format!("{slug}.yaml"))).is_ok_and(|school| {
        school
            .config
            .aups
            .contains(&crate::config::aups::AupKind::Parents)
    })
}

pub async fn school_year_csv(
    user: User,
    State(app): State<Arc<App>>,
    Path((slug, year)): Path<(String, String)>,
) -> Response {
    blocking(move || {
        let rows = or_page!(school_rows(&app, &user, &slug, &year)).rows;
        let disposition = format!("attachment; filename=\"{slug}-{year}-status.csv\"");
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            report::csv(&rows),
        )
            .into_response()
    })
    .await
}

pub async fn chase_list(
    user: User,
    State(app): State<Arc<App>>,
    Path((slug, year)): Path<(String, String)>,
) -> Response {
    blocking(move || {
        let found = or_page!(school_rows(&app, &user, &slug, &year));
        let school_name = found.name.clone();
        let chase: Vec<_> = found
            .rows
            .iter()
            .filter(|r| r.state != report::State::Signed)
            .collect();
        app.render(
            "chase.html",
            context! {
                user => viewer(&user),
                school => slug,
                school_name => school_name,
                year => year,
                rows => chase,
                today => crate::clock::uk_date_long(&time::OffsetDateTime::now_utc().date().to_string()),
            },
        )
    })
    .await
}

/// The form, if it exists and the user may see its school.
fn visible_form(
    app: &App,
    user: &User,
    index: &Archive,
    id: &str,
) -> Result<RegisteredForm, Response> {
    let missing = || {
        not_found(
            app,
            user,
            &format!("There is no form {id} that your account may see."),
        )
    };
    let id: crate::form::FormId = id.parse().map_err(|_| missing())?;
    match index.issued(id.as_str()) {
        Ok(Some(form)) if user.may_see(&form.school) => Ok(form),
        Ok(_) => Err(missing()),
        Err(error) => Err(index_error(app, user, error)),
    }
}

/// What the person's page says of their signing link (never the link).
fn signing_link_state(link: &crate::archive::SigningLink) -> String {
    let day = crate::clock::uk_date_long;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    if let Some(at) = &link.used_at {
        format!("signed online on {}", day(at))
    } else if let Some(at) = &link.reported_at {
        format!(
            "on {} the person who opened the link said it is not theirs, so it was revoked: check their email, then make a new one with aup links --renew",
            day(at)
        )
    } else if let Some(at) = &link.revoked_at {
        format!("the link was revoked on {}", day(at))
    } else if link.expires_on < today {
        format!("the link expired on {}", day(&link.expires_on))
    } else {
        format!("a link is out, open until {}", day(&link.expires_on))
    }
}

pub async fn form(user: User, State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    blocking(move || {
        let index = or_page!(open_index(&app, &user));
        let form = or_page!(visible_form(&app, &user, &index, &id));
        let current = index.current_fingerprint_for(&form).ok().flatten();
        let history = index.history(&form.form_id).unwrap_or_default();
        // The return that stands: the newest accepted one (a later tampered
        // copy does not undo it), else the newest. Those before it are superseded.
        let standing = history
            .iter()
            .rposition(|(summary, _, _)| summary.verdict == crate::verdict::Verdict::Accepted)
            .or(history.len().checked_sub(1));
        let returns: Vec<_> = history
            .iter()
            .enumerate()
            .map(|(n, (summary, files, archived))| {
                context! {
                    n => n + 1,
                    superseded => standing.is_some_and(|standing| n < standing),
                    ingested_at => summary.ingested_at,
                    verdict => summary.verdict.as_str(),
                    missing => summary.missing,
                    method => summary.method,
                    files => files.iter().map(|f| arrived_as(None, Some(f))).collect::<Vec<_>>(),
                    archived => archived,
                    name_box => inside(
                        &app.folders.archive,
                        &crate::ingest::name_box_crop_path(archived),
                    )
                    .is_some(),
                }
            })
            .collect();
        let policy = match index.policy_first_issued(&form.fingerprint).ok().flatten() {
            Some(day) => format!("The policy of {}", crate::clock::uk_date_long(&day)),
            None => "The policy".to_owned(),
        };
        let school_name = app.views.school_name(&app.folders.schools, &form.school);
        let online = index
            .newest_link(&form.form_id)
            .ok()
            .flatten()
            .map(|link| signing_link_state(&link));
        let mail = index.mail_of(&form.form_id).unwrap_or_default();
        let evidence = inside(
            &app.folders.archive,
            &format!(
                "{}/{}/{}.evidence.pdf",
                form.school, form.year, form.form_id
            ),
        )
        .is_some();
        app.render(
            "form.html",
            context! {
                user => viewer(&user),
                form_id => form.form_id,
                school => form.school,
                school_name => school_name,
                year => form.year,
                person => form.name,
                role => form.role,
                pages => form.pages,
                issued_on => form.issued_on,
                policy => policy,
                current => current.as_deref() == Some(form.fingerprint.as_str()),
                returns => returns,
                evidence => evidence,
                online => online,
                mail => mail,
            },
        )
    })
    .await
}

/// A file the archive holds for a form, resolved from the index.
async fn form_file(
    user: User,
    app: Arc<App>,
    id: String,
    pick: impl FnOnce(&App, &Archive, &RegisteredForm) -> Option<(std::path::PathBuf, String)>
    + Send
    + 'static,
) -> Response {
    let (app2, user2) = (app.clone(), user.clone());
    let found = tokio::task::spawn_blocking(move || {
        let index = open_index(&app2, &user2)?;
        let form = visible_form(&app2, &user2, &index, &id)?;
        pick(&app2, &index, &form).ok_or_else(|| {
            not_found(
                &app2,
                &user2,
                &format!("The archive holds no such file for form {id}."),
            )
        })
    })
    .await;
    match found {
        Ok(Ok((path, name))) => send(&path, &name, true).await,
        Ok(Err(response)) => response,
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "failed").into_response(),
    }
}

pub async fn form_return(
    user: User,
    State(app): State<Arc<App>>,
    Path((id, n)): Path<(String, usize)>,
) -> Response {
    form_file(user, app, id, move |app, index, form| {
        let archived = nth_return(index, form, n)?;
        let path = inside(&app.folders.archive, &archived)?;
        let extension = path.extension()?.to_str()?.to_owned();
        Some((path, format!("{}-return-{n}.{extension}", form.form_id)))
    })
    .await
}

/// Where the form's `n`th return (1-based, oldest first) is filed.
fn nth_return(index: &Archive, form: &RegisteredForm, n: usize) -> Option<String> {
    let mut history = index.history(&form.form_id).ok()?;
    let at = n.checked_sub(1).filter(|&at| at < history.len())?;
    Some(history.swap_remove(at).2)
}

/// The crop of a return's name box, kept when the box did not show the name
/// the form was issued with.
pub async fn form_return_name_box(
    user: User,
    State(app): State<Arc<App>>,
    Path((id, n)): Path<(String, usize)>,
) -> Response {
    form_file(user, app, id, move |app, index, form| {
        let crop = crate::ingest::name_box_crop_path(&nth_return(index, form, n)?);
        Some((
            inside(&app.folders.archive, &crop)?,
            format!("{}-return-{n}-name-box.png", form.form_id),
        ))
    })
    .await
}

pub async fn form_evidence(
    user: User,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Response {
    form_file(user, app, id, |app, _, form| {
        let relative = format!(
            "{}/{}/{}.evidence.pdf",
            form.school, form.year, form.form_id
        );
        Some((
            inside(&app.folders.archive, &relative)?,
            format!("{}.evidence.pdf", form.form_id),
        ))
    })
    .await
}

/// The form as issued, to print again: the file `aup generate` wrote, only if
/// its bytes are still those the register recorded.
pub async fn form_issued(
    user: User,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = user.require(user.role.files_returns(), "print forms") {
        return refused;
    }
    form_file(user, app, id, |app, _, form| {
        let (path, _) = super::downloads::issued_form(&app.folders.out, form)?;
        let name = path.file_name()?.to_str()?.to_owned();
        Some((path, name))
    })
    .await
}

pub async fn upload_page(user: User, State(app): State<Arc<App>>) -> Response {
    if let Err(refused) = user.require(user.role.files_returns(), "upload scans") {
        return refused;
    }
    blocking(move || {
        let index = or_page!(open_index(&app, &user));
        let uploads = or_page!(uploads_for(&app, &user, &index));
        app.render(
            "upload.html",
            context! {
                user => viewer(&user),
                uploads => uploads,
                limit_mb => super::UPLOAD_LIMIT_BYTES / (1024 * 1024),
                inbox => inbox_for(&app, &user),
            },
        )
    })
    .await
}

/// The inbox as `user` may see it: an account for some schools is not told
/// what the last batch filed, which counts other schools' returns, nor the
/// names of files left in the inbox, which may be theirs.
fn inbox_for(app: &App, user: &User) -> super::filing::InboxState {
    let mut state = app.filing.inbox_state();
    if !user.schools.is_empty() {
        // The raw error can name another school's files: the sentence stays.
        state.last_batch = None;
        state.left.clear();
        state.problem_details = None;
    }
    state
}

/// An upload as the page shows it.
#[derive(Serialize)]
pub struct UploadView {
    id: i64,
    name: String,
    size_kb: i64,
    user: String,
    uploaded_at: String,
    /// When, in UK time, for people.
    uploaded_local: String,
    /// `waiting`, `filed`, `partly-filed` (some pages wait in quarantine),
    /// `quarantined` (nothing filed), or `duplicate` (these bytes came before).
    state: &'static str,
    /// The state in words, for its badge.
    state_label: &'static str,
    received_at: Option<String>,
    forms: Vec<crate::archive::UploadForm>,
    /// What of it waits in quarantine (settled entries are not listed).
    quarantined: Vec<UploadQuarantineView>,
}

/// A page or file of an upload that waits in quarantine.
#[derive(Serialize)]
pub struct UploadQuarantineView {
    id: i64,
    page: Option<u32>,
    reason: PlainReason,
    /// Whether the uploader may open it (another school's form: no).
    link: bool,
}

/// What became of an upload: its state, and the words on its badge.
fn upload_state(
    u: &crate::archive::UploadRecord,
    open_quarantine: usize,
) -> (&'static str, &'static str) {
    match &u.received_at {
        None => ("waiting", "waiting to be filed"),
        Some(at) if *at < u.uploaded_at => ("duplicate", "already filed before"),
        Some(_) if open_quarantine == 0 => ("filed", "filed"),
        Some(_) if u.forms.is_empty() => ("quarantined", "not filed: see below"),
        Some(_) => ("partly-filed", "partly filed: see below"),
    }
}

/// A quarantine reason as `user` reads it: an account for some schools gets
/// no reader's details (a code misread as another school's form names it).
fn reason_for(user: &User, code: &str, message: &str) -> PlainReason {
    let reason = plain_reason(code, message);
    match user.schools.is_empty() {
        true => reason,
        false => PlainReason {
            details: None,
            ..reason
        },
    }
}

fn uploads_for(app: &App, user: &User, index: &Archive) -> Result<Vec<UploadView>, Response> {
    let uploads = index
        .recent_uploads(50)
        .map_err(|e| index_error(app, user, e))?;
    Ok(uploads
        .into_iter()
        // An account for some schools sees its own uploads only: another
        // school's forms could be in the others.
        .filter(|u| user.schools.is_empty() || u.user == user.name)
        .map(|mut u| {
            // Nothing of a school the account does not cover, even from its
            // own upload (filed there by someone who covers it).
            u.forms.retain(|f| user.may_see(&f.school));
            let open: Vec<UploadQuarantineView> = u
                .quarantined
                .iter()
                .filter(|q| q.settled.is_none())
                .map(|q| UploadQuarantineView {
                    id: q.id,
                    page: q.page,
                    reason: reason_for(user, &q.reason, &q.message),
                    link: user.schools.is_empty()
                        || q.reason != crate::verdict::Reason::OtherSchool.as_str(),
                })
                .collect();
            let (state, state_label) = upload_state(&u, open.len());
            UploadView {
                id: u.id,
                name: printable(&u.name),
                size_kb: (u.size + 1023) / 1024,
                user: u.user,
                uploaded_local: crate::clock::uk_local(&u.uploaded_at),
                uploaded_at: u.uploaded_at,
                state,
                state_label,
                received_at: u.received_at,
                forms: u.forms,
                quarantined: open,
            }
        })
        .collect())
}

/// The uploads and their results, for the upload page's script to show without
/// a reload.
pub async fn upload_results(user: User, State(app): State<Arc<App>>) -> Response {
    blocking(move || {
        let index = or_page!(open_index(&app, &user));
        let uploads = or_page!(uploads_for(&app, &user, &index));
        Json(context! { uploads => uploads, inbox => inbox_for(&app, &user) }).into_response()
    })
    .await
}

#[derive(Serialize)]
struct QuarantineView {
    id: i64,
    /// The file's name as it arrived (an upload's own name).
    file: String,
    page: Option<u32>,
    reason: PlainReason,
    created_at: String,
    thumbnail: bool,
    settled: Option<String>,
    settled_by: Option<String>,
    settled_at: Option<String>,
    /// The form and page it probably is, said for people, while it is open.
    suggestion: Option<Suggestion>,
}

/// A guess the office can accept with one click.
#[derive(Serialize)]
struct Suggestion {
    form_id: String,
    page: u32,
    said: String,
}

/// The entry's guess, if it is open and the form one this user may see.
fn suggestion(
    index: &Archive,
    user: &User,
    q: &crate::archive::QuarantineEntry,
) -> Option<Suggestion> {
    let (form_id, page) = q.suggested.clone().filter(|_| q.settled.is_none())?;
    let form = index.issued(&form_id).ok()??;
    user.may_see(&form.school).then(|| Suggestion {
        said: crate::ingest::suggest::say(&form, page),
        form_id,
        page,
    })
}

impl QuarantineView {
    /// The entry as `user` may read it: an account for some schools is not
    /// given the reader's details (a code misread as another school's form
    /// names it) nor the form another school's page was assigned to.
    fn of(
        mut q: crate::archive::QuarantineEntry,
        thumbnail: bool,
        index: &Archive,
        user: &User,
    ) -> Self {
        let suggestion = suggestion(index, user, &q);
        let reason = reason_for(user, &q.reason, &q.message);
        if !user.schools.is_empty() {
            let assigned_elsewhere = q
                .settled
                .as_deref()
                .and_then(|how| how.strip_prefix("assigned to "))
                .and_then(|rest| rest.split_whitespace().next())
                .is_some_and(|form_id| {
                    !index
                        .issued(form_id)
                        .ok()
                        .flatten()
                        .is_some_and(|form| user.may_see(&form.school))
                });
            if assigned_elsewhere {
                q.settled = Some("assigned to a form".into());
            }
        }
        Self {
            suggestion,
            id: q.id,
            file: arrived_as(q.upload_name.as_deref(), q.received_name.as_deref()),
            page: q.page,
            reason,
            created_at: q.created_at,
            thumbnail,
            settled: q.settled,
            settled_by: q.settled_by,
            settled_at: q.settled_at,
        }
    }
}

fn thumbnail_of(path: &str) -> Option<String> {
    path.strip_suffix(".png")
        .map(|stem| format!("{stem}.thumb.png"))
}

#[derive(Deserialize, Default)]
pub struct QuarantineFilter {
    all: Option<String>,
}

pub async fn quarantine(
    user: User,
    State(app): State<Arc<App>>,
    Query(filter): Query<QuarantineFilter>,
) -> Response {
    blocking(move || {
        let index = or_page!(open_index(&app, &user));
        let all = filter.all.is_some();
        let entries = match index.quarantine(!all) {
            Ok(entries) => entries,
            Err(error) => return index_error(&app, &user, error),
        };
        let entries: Vec<QuarantineView> = entries
            .into_iter()
            .filter(|entry| user.may_see_quarantined(&index, entry))
            .map(|q| {
                let thumbnail = thumbnail_of(&q.path)
                    .and_then(|t| inside(&app.folders.archive, &t))
                    .is_some();
                QuarantineView::of(q, thumbnail, &index, &user)
            })
            .collect();
        app.render(
            "quarantine.html",
            context! { user => viewer(&user), entries => entries, all => all },
        )
    })
    .await
}

#[derive(Deserialize, Default)]
pub struct PersonSearch {
    q: Option<String>,
}

pub async fn quarantine_entry(
    user: User,
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    Query(search): Query<PersonSearch>,
) -> Response {
    blocking(move || {
        let index = or_page!(open_index(&app, &user));
        let entry = match index.quarantine_entry(id) {
            Ok(Some(entry)) if user.may_see_quarantined(&index, &entry) => entry,
            Ok(_) => {
                return not_found(&app, &user, &format!("There is no quarantined entry {id}."));
            }
            Err(error) => return index_error(&app, &user, error),
        };
        let q = search.q.unwrap_or_default();
        let matches: Vec<_> = match q.trim().chars().count() >= 2 {
            true => index
                .find_forms(q.trim(), 40)
                .unwrap_or_default()
                .into_iter()
                .filter(|f| user.may_see(&f.school))
                .collect(),
            false => Vec::new(),
        };
        let image = entry.path.ends_with(".png");
        let entry = QuarantineView::of(entry, false, &index, &user);
        app.render(
            "quarantine_entry.html",
            context! {
                user => viewer(&user),
                entry => entry,
                image => image,
                q => q,
                searched => q.trim().chars().count() >= 2,
                matches => matches,
            },
        )
    })
    .await
}

async fn quarantine_file(user: User, app: Arc<App>, id: i64, thumbnail: bool) -> Response {
    let (app2, user2) = (app.clone(), user.clone());
    let found = tokio::task::spawn_blocking(move || {
        let index = open_index(&app2, &user2).ok()?;
        let entry = index.quarantine_entry(id).ok()??;
        if !user2.may_see_quarantined(&index, &entry) {
            return None;
        }
        let relative = match thumbnail {
            true => thumbnail_of(&entry.path)?,
            false => entry.path,
        };
        inside(&app2.folders.archive, &relative)
    })
    .await
    .ok()
    .flatten();
    match found {
        Some(path) => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            send(&path, &name, true).await
        }
        None => not_found(&app, &user, "That quarantined file is not in the archive."),
    }
}

pub async fn quarantine_image(
    user: User,
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
) -> Response {
    quarantine_file(user, app, id, false).await
}

pub async fn quarantine_thumb(
    user: User,
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
) -> Response {
    quarantine_file(user, app, id, true).await
}

pub async fn check_page(user: User, State(app): State<Arc<App>>) -> Response {
    app.render(
        "check.html",
        context! { user => viewer(&user), limit_mb => super::UPLOAD_LIMIT_BYTES / (1024 * 1024) },
    )
}

/// The schools in the schools folder the user may see, and the years to offer.
pub async fn issue_page(user: User, State(app): State<Arc<App>>) -> Response {
    if let Err(refused) = user.require(user.role.issues_forms(), "issue forms") {
        return refused;
    }
    let schools: Vec<String> = crate::config::school_files(&app.folders.schools)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_owned))
        .filter(|slug| user.may_see(slug))
        .collect();
    let this_year = AcademicYear::containing(time::OffsetDateTime::now_utc().date());
    let next_year = AcademicYear {
        start: this_year.start + 1,
    };
    let years = [this_year.to_string(), next_year.to_string()];
    app.render(
        "issue.html",
        context! { user => viewer(&user), schools => schools, years => years, issued => None::<()> },
    )
}

pub async fn print_all(
    user: User,
    State(app): State<Arc<App>>,
    Path((slug, year)): Path<(String, String)>,
) -> Response {
    if let Err(refused) = user.require(user.role.files_returns(), "print forms") {
        return refused;
    }
    if !user.may_see(&slug) || year.parse::<AcademicYear>().is_err() {
        return not_found(&app, &user, "There is no such print file.");
    }
    match inside(&app.folders.out, &format!("{slug}/{year}/print-all.pdf")) {
        Some(path) => send(&path, &format!("{slug}-{year}-print-all.pdf"), true).await,
        None => not_found(
            &app,
            &user,
            "There is no print file for that school year yet: issue its forms first.",
        ),
    }
}
