//! Signing in and out, the signed-in user every page asks for, and the CSRF
//! check every state-changing request passes before it reaches its handler.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

use super::App;
use super::accounts::{Role, decoy_hash, password_matches};
use super::sessions::{self, COOKIE, LOGIN_COOKIE, cookie, same_token};
use crate::archive::Archive;

/// The signed-in user of a request. A handler that takes one is behind the
/// login: without a live session the request is sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub csrf: String,
    /// The schools the account may see; empty: every school.
    pub schools: Vec<String>,
}

impl User {
    pub fn may_see(&self, school: &str) -> bool {
        self.schools.is_empty() || self.schools.iter().any(|s| s == school)
    }

    /// Whether the user may see a quarantined entry. A quarantined page has no
    /// school (that is why it is there), so an account for some schools sees
    /// only what it uploaded itself, and never another school's form held back
    /// from its upload; an account for every school sees all.
    pub fn may_see_quarantined(
        &self,
        index: &Archive,
        entry: &crate::archive::QuarantineEntry,
    ) -> bool {
        self.schools.is_empty()
            || (entry.reason != crate::verdict::Reason::OtherSchool.as_str()
                && index
                    .uploaded_by(&self.name, &entry.received_sha256)
                    .unwrap_or(false))
    }

    /// Refuses, with a page saying why, unless the role allows `what`.
    pub fn require(&self, allowed: bool, what: &str) -> Result<(), Response> {
        match allowed {
            true => Ok(()),
            false => Err((
                StatusCode::FORBIDDEN,
                format!(
                    "Your account ({}, role {}) cannot {what}. Ask whoever runs aup to give you an account that can.",
                    self.name,
                    self.role.as_str()
                ),
            )
                .into_response()),
        }
    }
}

fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| cookie(value, COOKIE))
}

impl FromRequestParts<Arc<App>> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let id = session_id(&parts.headers).map(str::to_owned);
        let session = id.as_deref().and_then(|id| app.sessions.find(id));
        // An account removed (or given another role or schools) since sign-in
        // loses its session at its next request.
        let session = match session {
            Some(session) => {
                let (archive, name) = (app.folders.archive.clone(), session.user.clone());
                let account = tokio::task::spawn_blocking(move || {
                    Archive::open_read_only(&archive)
                        .ok()
                        .and_then(|index| index.user(&name).ok().flatten())
                })
                .await
                .ok()
                .flatten();
                let same = account.is_some_and(|a| {
                    Role::parse(&a.role) == Some(session.role) && a.schools == session.schools
                });
                if !same {
                    app.sessions.end_all_of(&session.user);
                }
                same.then_some(session)
            }
            None => None,
        };
        match session {
            Some(session) => Ok(User {
                name: session.user,
                role: session.role,
                csrf: session.csrf,
                schools: session.schools,
            }),
            None => {
                let wanted = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let next: String =
                    serde_urlencoded::to_string([("next", wanted)]).unwrap_or_default();
                Err(Redirect::to(&format!("/login?{next}")).into_response())
            }
        }
    }
}

/// Only a path on this site may follow a sign-in: never another host. Browsers
/// drop tabs and line breaks from a `Location` and read `\\` as `/`, so only
/// the plain characters of our own URLs are let through.
fn local_path(next: Option<&str>) -> String {
    let plain = |path: &str| {
        path.starts_with('/')
            && !path.starts_with("//")
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_.~?=&%-".contains(&b))
            && !path.to_ascii_lowercase().contains("%5c")
            && !path.to_ascii_lowercase().starts_with("/%2f")
    };
    match next {
        Some(path) if plain(path) => path.to_owned(),
        _ => "/".into(),
    }
}

fn cookie_header(app: &App, name: &str, value: &str, max_age: u64) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if app.tls || app.behind_proxy {
            "; Secure"
        } else {
            ""
        }
    )
}

/// The client's address: the peer's, or behind our own reverse proxy (a
/// loopback peer, with `--behind-proxy`) the address the proxy added last to
/// `X-Forwarded-For`. Earlier entries are the client's own claims and ignored.
pub(super) fn client_address(app: &App, peer: SocketAddr, headers: &HeaderMap) -> std::net::IpAddr {
    if !(app.behind_proxy && peer.ip().is_loopback()) {
        return peer.ip();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer.ip())
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<LoginQuery>,
) -> Response {
    login_form(&app, &headers, query.next.as_deref(), None, StatusCode::OK)
}

fn login_form(
    app: &App,
    headers: &HeaderMap,
    next: Option<&str>,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    // The login form's CSRF token lives in its own cookie until there is a session.
    let existing = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| cookie(value, LOGIN_COOKIE))
        .filter(|token| token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    let token = existing.clone().unwrap_or_else(sessions::token);
    let mut response = app.render(
        "login.html",
        context! { csrf => token, next => local_path(next), problem => problem },
    );
    *response.status_mut() = status;
    if let (None, Ok(value)) = (
        &existing,
        cookie_header(app, LOGIN_COOKIE, &token, 3600).parse(),
    ) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let name = form.name.trim().to_owned();
    // Counted before the password is checked: parallel guesses cannot all slip
    // in under the limit. A right password clears it again.
    let address = client_address(&app, peer, &headers);
    let refused = app.sessions.refused_for(&name, address);
    if refused.is_none() {
        app.sessions.failed(&name, address);
    }
    if let Some(wait) = refused {
        let minutes = wait.as_secs().div_ceil(60);
        return login_form(
            &app,
            &headers,
            form.next.as_deref(),
            Some(format!(
                "Too many failed sign-ins. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            )),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    // Argon2 takes 19 MiB and tens of milliseconds of CPU per attempt: two at a
    // time, off the async threads, so a flood of sign-ins cannot exhaust memory.
    let Ok(_permit) = app.checking_passwords.clone().try_acquire_owned() else {
        return login_form(
            &app,
            &headers,
            form.next.as_deref(),
            Some("The server is busy checking other sign-ins. Try again in a moment.".into()),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let archive = app.folders.archive.clone();
    let (lookup_name, password) = (name.clone(), form.password);
    let account = tokio::task::spawn_blocking(move || {
        let account = Archive::open_read_only(&archive)
            .ok()
            .and_then(|index| index.user(&lookup_name).ok().flatten());
        let stored = account
            .as_ref()
            .map(|a| a.password_hash.as_str())
            .unwrap_or(decoy_hash());
        let matches = password_matches(&password, stored);
        account.filter(|_| matches)
    })
    .await
    .ok()
    .flatten();
    let Some(account) = account.and_then(|a| Some((Role::parse(&a.role)?, a))) else {
        return login_form(
            &app,
            &headers,
            form.next.as_deref(),
            Some("That name and password do not match an account.".into()),
            StatusCode::UNAUTHORIZED,
        );
    };
    let (role, account) = account;
    app.sessions.succeeded(&name, address);
    let id = app.sessions.start(&account.name, role, account.schools);
    let mut response = Redirect::to(&local_path(form.next.as_deref())).into_response();
    let max_age = sessions::LIFETIME.as_secs();
    for value in [
        cookie_header(&app, COOKIE, &id, max_age),
        cookie_header(&app, LOGIN_COOKIE, "", 0),
    ] {
        if let Ok(value) = value.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

pub async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(id) = session_id(&headers) {
        app.sessions.end(id);
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(value) = cookie_header(&app, COOKIE, "", 0).parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The largest urlencoded form body the CSRF check reads (a form with a name
/// and a few choices is well under 1 KB).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Lets a state-changing request through only with the right CSRF token: the
/// session's (as `X-CSRF-Token`, as the form field `csrf`, or for a plain file
/// upload form, `?csrf=` in its action URL), or for the sign-in form the token
/// of its own cookie.
pub async fn csrf_guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    // A body announced larger than its route takes is refused before a byte of
    // it is read: nobody ties up a connection sending 100 MB to the sign-in.
    let limit = match request.uri().path() {
        "/upload" | "/check" => super::UPLOAD_REQUEST_BYTES,
        path if path.starts_with("/s/") => super::SIGNING_REQUEST_BYTES,
        _ => super::FORM_LIMIT_BYTES,
    };
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > limit as u64) {
        let mut response = (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "This request is larger than the {} KB this page takes.",
                limit / 1024
            ),
        )
            .into_response();
        response.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return response;
    }
    // The signing page has no session: its form carries a token bound to its
    // link, which the page itself checks.
    if request.uri().path().starts_with("/s/") {
        return next.run(request).await;
    }
    let refused = |why: &str| {
        (
            StatusCode::FORBIDDEN,
            format!("{why} Reload the page and try again."),
        )
            .into_response()
    };
    let headers = request.headers();
    // Signing out of a session that has already ended changes nothing: let it
    // through to clear the cookie.
    let live = session_id(headers).and_then(|id| app.sessions.find(id));
    if request.uri().path() == "/logout" && live.is_none() {
        return next.run(request).await;
    }
    let expected = match request.uri().path() {
        "/login" => headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| cookie(value, LOGIN_COOKIE))
            .map(str::to_owned),
        _ => live.map(|session| session.csrf),
    };
    let Some(expected) = expected.filter(|token| !token.is_empty()) else {
        return refused("Your session has ended.");
    };
    let header_token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let query_token = request.uri().query().and_then(|query| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .ok()?
            .into_iter()
            .find_map(|(key, value)| (key == "csrf").then_some(value))
    });
    let urlencoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if let Some(token) = header_token.or(query_token.filter(|_| multipart)) {
        return match same_token(&token, &expected) {
            true => next.run(request).await,
            false => refused("This request did not carry the page's security token."),
        };
    }
    if !urlencoded {
        return refused("This request did not carry the page's security token.");
    }
    // A plain form: read its (small) body for the `csrf` field, then hand the
    // same bytes on.
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "This form is too large.").into_response();
    };
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| {
            fields
                .into_iter()
                .find_map(|(key, value)| (key == "csrf").then_some(value))
        });
    match token {
        Some(token) if same_token(&token, &expected) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => refused("This request did not carry the page's security token."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_follow_a_sign_in() {
        assert_eq!(
            local_path(Some("/school/pakeman/2025-26")),
            "/school/pakeman/2025-26"
        );
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("/\t/evil.example")), "/");
        assert_eq!(local_path(Some("/%5Cevil.example")), "/");
        assert_eq!(local_path(Some("/%2F%2Fevil.example")), "/");
        assert_eq!(local_path(Some("/x\r\nSet-Cookie: a=b")), "/");
        assert_eq!(local_path(Some("/upload?x=1")), "/upload?x=1");
        assert_eq!(local_path(None), "/");
    }
}
