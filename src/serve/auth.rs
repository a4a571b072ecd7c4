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
        let session = session_id(&parts.headers).and_then(|id| app.sessions.find(id));
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

/// Only a path on this site may follow a sign-in: never another host.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".into(),
    }
}

fn cookie_header(app: &App, name: &str, value: &str, max_age: u64) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if app.tls { "; Secure" } else { "" }
    )
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
    if let Some(wait) = app.sessions.refused_for(&name, peer.ip()) {
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
    let archive = app.folders.archive.clone();
    let (lookup_name, password) = (name.clone(), form.password);
    // Argon2 takes tens of milliseconds of CPU: off the async threads.
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
        app.sessions.failed(&name, peer.ip());
        return login_form(
            &app,
            &headers,
            form.next.as_deref(),
            Some("That name and password do not match an account.".into()),
            StatusCode::UNAUTHORIZED,
        );
    };
    let (role, account) = account;
    app.sessions.succeeded(&name);
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
    let refused = |why: &str| {
        (
            StatusCode::FORBIDDEN,
            format!("{why} Reload the page and try again."),
        )
            .into_response()
    };
    let headers = request.headers();
    let expected = match request.uri().path() {
        "/login" => headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| cookie(value, LOGIN_COOKIE))
            .map(str::to_owned),
        _ => session_id(headers)
            .and_then(|id| app.sessions.find(id))
            .map(|session| session.csrf),
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
        assert_eq!(local_path(None), "/");
    }
}
