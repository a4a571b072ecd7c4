//! `aup serve`: the office's web pages and an inbox that files itself, in one
//! process. axum (on tokio) serves server-rendered pages (minijinja templates,
//! auto-escaped, built into the binary, one small script for uploads); one
//! thread ([`filing`]) makes every change to the archive, the same way the CLI
//! does and under the same lock; [`watch`] notices what lands in the inbox.
//!
//! - `accounts`: roles and Argon2id password hashes
//! - `sessions`: who is signed in, CSRF tokens, the brake on password guessing
//! - `auth`: sign-in and sign-out, the signed-in user, the CSRF check
//! - `pages`: what the office reads; `actions`: what it changes
//! - `views`: the figures pages show; `downloads`: files, resolved from the index
//! - `filing`, `watch`: the inbox
//! - `signing`: the signing page personal links open, without an account

pub mod accounts;
mod actions;
mod auth;
mod consents;
mod downloads;
pub mod filing;
mod mail_merge;
mod mail_page;
mod mailroom;
mod pages;
pub mod sessions;
mod signing;
mod tls;
pub mod views;
pub mod watch;
mod wording;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::archive::{self, Archive};
use filing::Filing;
pub use filing::Folders;
use sessions::Sessions;
use watch::Watching;

/// The largest file one upload may carry. A 30-page colour scan at 300 dpi is
/// about 25 MB; a copier's whole batch goes to the inbox folder, not the page.
pub const UPLOAD_LIMIT_BYTES: u64 = 100 * 1024 * 1024;
/// An upload request: its files (each within [`UPLOAD_LIMIT_BYTES`]) together,
/// plus the form's own fields.
pub(crate) const UPLOAD_REQUEST_BYTES: usize = UPLOAD_LIMIT_BYTES as usize + 1024 * 1024;
/// A signing page's form: a drawn signature of at most 4000 points is about
/// 70 KB as the page sends it.
pub(crate) const SIGNING_REQUEST_BYTES: usize = 256 * 1024;
/// Any other request's body: a sign-in, an assignment, a choice of school.
pub(crate) const FORM_LIMIT_BYTES: usize = 64 * 1024;

/// What `aup serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub folders: Folders,
    /// Poll the inbox every so often instead of waiting for notifications.
    pub poll: Option<Duration>,
    pub settle: Duration,
    /// Serve plain HTTP on an address other than loopback.
    pub insecure_lan: bool,
    /// The certificate chain and private key (PEM) to serve HTTPS with.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// A TLS reverse proxy on this machine forwards to us.
    pub behind_proxy: bool,
    /// The address people reach these pages at, for signing links.
    pub public_url: Option<String>,
    /// The mail settings, and how often to read the mailbox and send the
    /// reminders due.
    pub mail: Option<(PathBuf, Duration)>,
}

/// Everything a request handler needs.
pub struct App {
    pub folders: Folders,
    templates: minijinja::Environment<'static>,
    pub sessions: Sessions,
    pub filing: Filing,
    pub views: views::ViewCache,
    /// Cookies get `Secure` when the pages are served over TLS.
    pub tls: bool,
    /// A TLS reverse proxy on this machine forwards to us: cookies get
    /// `Secure`, and a client's address is the one the proxy says.
    pub behind_proxy: bool,
    /// Password checks (Argon2, 19 MiB each) allowed at once.
    pub checking_passwords: Arc<tokio::sync::Semaphore>,
    /// `aup verify` children allowed at once for "Check a PDF".
    pub checking_pdfs: Arc<tokio::sync::Semaphore>,
    /// The signing page's brake on guesses and its copies of policies.
    pub signing: signing::Signing,
    /// The address people reach these pages at (`--public-url`), for links.
    pub public_url: Option<String>,
    /// How the last mail round went, when `--mail` is given.
    pub mail: std::sync::Mutex<Option<mailroom::MailState>>,
    /// The mail settings (`--mail`), for the head's mail page.
    pub mail_file: Option<std::path::PathBuf>,
    /// Letters sent from the mail page, and how it went.
    pub mailings: mail_page::Mailings,
}

const TEMPLATES: [(&str, &str); 16] = [
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("overview.html", include_str!("templates/overview.html")),
    (
        "school_year.html",
        include_str!("templates/school_year.html"),
    ),
    ("chase.html", include_str!("templates/chase.html")),
    ("form.html", include_str!("templates/form.html")),
    ("upload.html", include_str!("templates/upload.html")),
    ("quarantine.html", include_str!("templates/quarantine.html")),
    (
        "quarantine_entry.html",
        include_str!("templates/quarantine_entry.html"),
    ),
    ("check.html", include_str!("templates/check.html")),
    ("issue.html", include_str!("templates/issue.html")),
    ("message.html", include_str!("templates/message.html")),
    ("sign.html", include_str!("templates/sign.html")),
    ("link.html", include_str!("templates/link.html")),
    ("mail.html", include_str!("templates/mail.html")),
    ("consents.html", include_str!("templates/consents.html")),
];

/// The page script: progressive upload, live results. No framework, no build.
const SCRIPT: &str = include_str!("assets/app.js");

/// The templates, parsed once. Names ending `.html` are HTML-escaped.
pub fn templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.add_filter("uk_time", |text: String| crate::clock::uk_local(&text));
    env.add_filter("uk_date", |text: String| crate::clock::uk_date(&text));
    env.add_filter("uk_date_long", |text: String| {
        crate::clock::uk_date_long(&text)
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("built-in template {name}: {e}"));
    }
    env
}

impl App {
    pub fn new(folders: Folders, filing: Filing, tls: bool, behind_proxy: bool) -> Self {
        Self {
            folders,
            templates: templates(),
            sessions: Sessions::default(),
            filing,
            views: views::ViewCache::default(),
            tls,
            behind_proxy,
            checking_passwords: Arc::new(tokio::sync::Semaphore::new(2)),
            checking_pdfs: Arc::new(tokio::sync::Semaphore::new(1)),
            signing: signing::Signing::default(),
            public_url: None,
            mail: std::sync::Mutex::new(None),
            mail_file: None,
            mailings: mail_page::Mailings::default(),
        }
    }

    /// A page from a template; a template error is our bug, said plainly.
    pub fn render(&self, name: &str, context: impl Serialize) -> Response {
        match self
            .templates
            .get_template(name)
            .and_then(|t| t.render(context))
        {
            Ok(html) => Html(html).into_response(),
            Err(error) => {
                eprintln!("aup serve: page {name}: {error:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "This page could not be made; the server's log says why.",
                )
                    .into_response()
            }
        }
    }

    /// Renders a template to a string (for benchmarks and tests).
    pub fn render_text(&self, name: &str, context: impl Serialize) -> Result<String, String> {
        self.templates
            .get_template(name)
            .and_then(|t| t.render(context))
            .map_err(|e| format!("{e:#}"))
    }
}

/// Every page and action.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/school/{slug}/{year}", get(pages::school_year))
        .route(
            "/school/{slug}/{year}/status.csv",
            get(pages::school_year_csv),
        )
        .route("/school/{slug}/{year}/chase", get(pages::chase_list))
        .route("/school/{slug}/{year}/consents", get(consents::page))
        .route(
            "/school/{slug}/{year}/consents/sheets",
            get(consents::sheets),
        )
        .route(
            "/school/{slug}/{year}/consents/settle",
            post(consents::settle),
        )
        .route("/school/{slug}/{year}/mail", get(mail_page::page))
        .route("/school/{slug}/{year}/mail/{what}", post(mail_page::send))
        .route(
            "/school/{slug}/{year}/signing-links.csv",
            post(mail_merge::signing_links),
        )
        .route("/form/{id}", get(pages::form))
        .route("/form/{id}/return/{n}", get(pages::form_return))
        .route(
            "/form/{id}/return/{n}/name-box",
            get(pages::form_return_name_box),
        )
        .route("/form/{id}/evidence", get(pages::form_evidence))
        .route("/form/{id}/issued", get(pages::form_issued))
        .route(
            "/upload",
            get(pages::upload_page)
                .post(actions::upload)
                .layer(DefaultBodyLimit::max(UPLOAD_REQUEST_BYTES)),
        )
        .route("/upload/results", get(pages::upload_results))
        .route("/quarantine", get(pages::quarantine))
        .route("/quarantine/{id}", get(pages::quarantine_entry))
        .route("/quarantine/{id}/image", get(pages::quarantine_image))
        .route("/quarantine/{id}/thumb", get(pages::quarantine_thumb))
        .route("/quarantine/{id}/assign", post(actions::assign))
        .route("/quarantine/{id}/set-aside", post(actions::set_aside))
        .route(
            "/check",
            get(pages::check_page)
                .post(actions::check)
                .layer(DefaultBodyLimit::max(UPLOAD_REQUEST_BYTES)),
        )
        .route("/issue", get(pages::issue_page).post(actions::issue))
        .route("/issue/{slug}/{year}/print-all", get(pages::print_all))
        .route("/assets/app.js", get(script))
        .route(
            "/s/{token}",
            get(signing::show)
                .post(signing::submit)
                .layer(DefaultBodyLimit::max(SIGNING_REQUEST_BYTES)),
        )
        .route("/s/{token}/signed.pdf", get(signing::signed_pdf))
        .route(
            "/s/{token}/not-me",
            get(signing::not_me_page)
                .post(signing::not_me)
                .layer(DefaultBodyLimit::max(SIGNING_REQUEST_BYTES)),
        )
        .route("/s/assets/sign.js", get(signing::script))
        .route("/s/assets/handwriting.ttf", get(signing::handwriting_font))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            auth::csrf_guard,
        ))
        // Every other request is a small form: nothing larger is read.
        .layer(DefaultBodyLimit::max(FORM_LIMIT_BYTES))
        .layer(middleware::map_response_with_state(
            app.clone(),
            security_headers,
        ))
        .with_state(app)
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// Headers on every response: no framing, no sniffing, no referrer leaving the
/// site, scripts only from this server; over TLS (ours or a proxy's), HSTS.
/// X-XSS-Protection is left out on purpose: browsers dropped the filter it
/// controlled, and the content security policy does its work.
async fn security_headers(State(app): State<Arc<App>>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    if app.tls || app.behind_proxy {
        // A year, for this host only: a school's other sites under the same
        // domain may not all be served over HTTPS.
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // A PDF must stay viewable in the browser's own viewer, which a page's
    // policy would block; it runs no script of ours anyway.
    if html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
        );
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Runs the server until it is stopped (Ctrl-C or SIGTERM).
pub fn run(options: ServeOptions) -> Result<(), String> {
    if !options.listen.ip().is_loopback() && !options.insecure_lan && options.tls.is_none() {
        return Err(format!(
            "refusing to serve plain HTTP on {}: passwords and staff's names would cross the network unencrypted\n  = hint: give the school's certificate with --tls-cert and --tls-key, serve on 127.0.0.1 behind a TLS reverse proxy, or pass --insecure-lan on a network you trust",
            options.listen
        ));
    }
    // Read before anything starts: a wrong path is said at once.
    let acceptor = match &options.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    let folders = options.folders.clone();
    std::fs::create_dir_all(&folders.inbox)
        .map_err(|e| format!("cannot make the inbox {}: {e}", folders.inbox.display()))?;
    actions::tidy_partial_uploads(&folders.inbox);
    actions::tidy_checking(&folders.archive);
    // Brought up to date (and made, for a new school) before anyone reads it.
    {
        let _lock = archive::lock_waiting(&folders.archive).map_err(|e| e.to_string())?;
        let index = Archive::open(&folders.archive).map_err(|e| e.to_string())?;
        if index.users().map_err(|e| e.to_string())?.is_empty() {
            eprintln!(
                "aup serve: warning: there are no accounts yet, so nobody can sign in\n  = hint: aup user add NAME --role head --archive {}",
                folders.archive.display()
            );
        }
    }
    if options.insecure_lan && acceptor.is_none() && !options.listen.ip().is_loopback() {
        eprintln!(
            "aup serve: warning: serving plain HTTP on {} (--insecure-lan): anyone on this network can read what crosses it",
            options.listen
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server's runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let wanted = match options.poll {
            Some(every) => Watching::Polling(every),
            None => Watching::Notifications,
        };
        let (filing, wake) = Filing::start(folders.clone(), options.settle);
        let (watching, _watcher) = watch::start(&folders.inbox, wanted, move || {
            wake.send(filing::Job::Wake).is_ok()
        });
        filing
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .watching = watching.plain();
        let mut app = App::new(
            folders.clone(),
            filing,
            acceptor.is_some(),
            options.behind_proxy,
        );
        app.public_url = options.public_url.clone();
        app.mail_file = options.mail.as_ref().map(|(file, _)| file.clone());
        let app = Arc::new(app);
        if let Some((mail, every)) = &options.mail {
            mailroom::start(app.clone(), mail.clone(), *every);
        }
        eprintln!(
            "aup serve: inbox {} ({}), archive {}",
            folders.inbox.display(),
            watching.describe(),
            folders.archive.display()
        );
        // The address on stdout, alone, for scripts (and tests) that asked for port 0.
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        println!("{scheme}://{address}/");
        match acceptor {
            Some(acceptor) => {
                tls::serve(listener, acceptor, router(app), stopped()).await;
                Ok(())
            }
            None => axum::serve(
                listener,
                router(app).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(stopped())
            .await
            .map_err(|e| format!("the server stopped: {e}")),
        }
    })
}

async fn stopped() {
    let interrupt = tokio::signal::ctrl_c();
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    eprintln!("aup serve: stopping");
}
