//! The signing page: `/s/<token>`, without an account. A person opens their
//! personal link, reads the policy (the same template's words, as HTML), ticks
//! the declaration and signs, drawn or typed. aup fills their own issued form
//! (`online::fill`), seals it (`online::pades`) and places it in the inbox like
//! an upload, so the filing thread judges and files it as every other return.
//!
//! An unknown, expired or revoked token gets one plain page and status, so a
//! guess learns nothing; wrong guesses from one client are braked. Tokens are
//! never logged or written to the audit log, and pages send no Referer.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::App;
use crate::archive::{Archive, NewUpload, RegisteredForm, SigningLink};
use crate::config::aups::{AupKind, Consent};
use crate::form::id::hex;
use crate::online::fill::{SignatureMark, fill};
use crate::online::links::{self, LinkKey};
use crate::online::pades::{SealDetails, seal_pdf};
use crate::online::seal::Seal;
use crate::online::signer::{Given, Signer};

/// Wrong tokens one client may try in [`GUESS_WINDOW`] before it is refused.
pub const GUESSES_ALLOWED: usize = 20;
pub const GUESS_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The signing page's script: the drawing pad.
const SCRIPT: &str = include_str!("assets/sign.js");

/// The signing page's state that is not in the index: the brake on guesses and
/// the policy as HTML, per school file as it is now.
#[derive(Default)]
pub struct Signing {
    guesses: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    policies: Mutex<HashMap<PolicyKey, (String, Arc<PolicyText>)>>,
}

/// A school, the SHA-256 of its YAML as it is now, and the AUP; the cache
/// holds the printed version it makes and its policy HTML.
type PolicyKey = (String, String, &'static str);

/// The policy's words for the page: what comes before the declaration, and
/// the declaration.
pub struct PolicyText {
    /// The school's name, as its file gives it.
    pub school: String,
    pub body: String,
    pub declaration: String,
    /// The parents' AUP's consents, as the school's file words them (the
    /// same words the form prints: the page is shown only while the file
    /// makes the form's version).
    pub consents: Vec<Consent>,
}

impl Signing {
    fn refused(&self, address: IpAddr) -> bool {
        let now = Instant::now();
        let mut guesses = self.guesses.lock().unwrap_or_else(|e| e.into_inner());
        guesses.retain(|_, times| {
            times.retain(|t| now.duration_since(*t) < GUESS_WINDOW);
            !times.is_empty()
        });
        guesses
            .get(&address)
            .is_some_and(|times| times.len() >= GUESSES_ALLOWED)
    }

    fn guessed(&self, address: IpAddr) {
        self.guesses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(address)
            .or_default()
            .push(Instant::now());
    }
}

/// What a token opens.
enum Opened {
    /// Nothing: unknown, expired, revoked, or not a token.
    Nothing,
    /// Signed already (the link's `used_at` says when).
    Used {
        link: SigningLink,
        form: RegisteredForm,
    },
    /// A link of an older policy version: a newer form exists, or not.
    Changed { newer: bool },
    /// Ready to sign.
    Open {
        link: SigningLink,
        form: RegisteredForm,
    },
}

fn open(app: &App, token: &str) -> Opened {
    if !links::looks_like_token(token) {
        return Opened::Nothing;
    }
    let Ok(index) = Archive::open_read_only(&app.folders.archive) else {
        return Opened::Nothing;
    };
    let Ok(Some(link)) = index.link_by_token(&links::token_sha256(token)) else {
        return Opened::Nothing;
    };
    let Ok(Some(form)) = index.issued(&link.form_id) else {
        return Opened::Nothing;
    };
    if link.used_at.is_some() {
        return Opened::Used { link, form };
    }
    let today = time::OffsetDateTime::now_utc().date().to_string();
    if link.revoked_at.is_some() || link.expires_on < today {
        return Opened::Nothing;
    }
    let current = index.current_fingerprint_for(&form).ok().flatten();
    if current.as_deref() != Some(link.fingerprint.as_str()) {
        let newer = index.newer_form_of(&form.form_id).ok().flatten().is_some();
        return Opened::Changed { newer };
    }
    Opened::Open { link, form }
}

/// The link and form a token opens for signing, or the page to answer with
/// instead (a guess is counted).
fn open_for_signing(
    app: &App,
    token: &str,
    address: IpAddr,
) -> Result<(SigningLink, RegisteredForm), Response> {
    match open(app, token) {
        Opened::Nothing => {
            app.signing.guessed(address);
            Err(nothing(app))
        }
        Opened::Used { link, form } => Err(used(app, token, &form, &link)),
        Opened::Changed { newer } => Err(changed(app, newer)),
        Opened::Open { link, form } => Ok((link, form)),
    }
}

/// The client, as the brake counts it (see `auth::client_address`), or the
/// refusal when it has tried too many links that open nothing.
fn unbraked(app: &App, peer: SocketAddr, headers: &HeaderMap) -> Result<IpAddr, Response> {
    let address = super::auth::client_address(app, peer, headers);
    match app.signing.refused(address) {
        true => Err(too_many(app)),
        false => Ok(address),
    }
}

fn page(app: &App, name: &str, status: StatusCode, context: minijinja::Value) -> Response {
    let mut response = app.render(name, context);
    *response.status_mut() = status;
    response
}

/// One page for every token that opens nothing.
fn nothing(app: &App) -> Response {
    page(
        app,
        "link.html",
        StatusCode::NOT_FOUND,
        context! {
            title => "This link does not open a form",
            text => "It may have expired, been replaced, or been mistyped. Ask the school office for a new link.",
        },
    )
}

fn too_many(app: &App) -> Response {
    page(
        app,
        "link.html",
        StatusCode::TOO_MANY_REQUESTS,
        context! {
            title => "Too many tries",
            text => "Too many links that open nothing came from here. Wait a quarter of an hour, then open the link from your message again.",
        },
    )
}

fn used(app: &App, token: &str, form: &RegisteredForm, link: &SigningLink) -> Response {
    let at = link.used_at.as_deref().unwrap_or_default();
    page(
        app,
        "link.html",
        StatusCode::OK,
        context! {
            title => "Signed",
            text => format!(
                "{} signed this Acceptable Use Policy on {}. There is nothing more to do.",
                form.name.as_deref().unwrap_or("You"),
                crate::clock::uk_date_long(at)
            ),
            download => format!("/s/{token}/signed.pdf"),
        },
    )
}

fn changed(app: &App, newer: bool) -> Response {
    let text = match newer {
        true => {
            "The school has changed its policy since this link was sent, and there is a new form for you. Ask the school office for your new link."
        }
        false => {
            "The school has changed its policy since this link was sent. The office will send you a new link."
        }
    };
    page(
        app,
        "link.html",
        StatusCode::GONE,
        context! { title => "The policy has changed", text => text },
    )
}

/// The school's policy as the page shows it, made from the same template and
/// school file as the PDF; `None` when the school file no longer prints the
/// version the form was issued with (edited since), so the page never shows
/// words other than those the form holds.
fn policy_text(app: &App, form: &RegisteredForm) -> Result<Option<Arc<PolicyText>>, String> {
    let aup = Archive::open_read_only(&app.folders.archive)
        .and_then(|index| index.aup_of(&form.fingerprint))
        .map_err(|e| e.to_string())?
        .unwrap_or(AupKind::Staff);
    let file = app.folders.schools.join(format!("{}.yaml", form.school));
    let yaml = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let key = (form.school.clone(), hex(&Sha256::digest(&yaml)), aup.name());
    if let Some((version, text)) = app
        .signing
        .policies
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
    {
        return Ok((version == &form.fingerprint).then(|| text.clone()));
    }
    let loaded = crate::config::load(&file).map_err(|e| e.to_string())?;
    let plan = crate::generate::GeneratePlan {
        templates: crate::render::TemplateSource::Embedded,
        year: form.year.parse().ok(),
        date: time::OffsetDateTime::now_utc().date(),
        out_dir: PathBuf::new(),
        archive: app.folders.archive.clone(),
        blank: 0,
    };
    let resolved =
        crate::generate::resolve_aup(&loaded, aup, &plan.templates).map_err(|e| e.to_string())?;
    let (policy, base) = crate::generate::compile_policy_and_form(&resolved, &loaded.slug, &plan)
        .map_err(|e| e.to_string())?;
    let version =
        crate::generate::fingerprint(&policy, &base, &loaded.slug).map_err(|e| e.to_string())?;
    let html =
        crate::generate::policy_html(&resolved, &loaded.slug, &plan).map_err(|e| e.to_string())?;
    let mut text = split_policy(&html, &loaded.config.name);
    text.consents = resolved.input.aup.consents.clone();
    let text = Arc::new(text);
    app.signing
        .policies
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, (version.as_str().to_owned(), text.clone()));
    Ok((version.as_str() == form.fingerprint).then_some(text))
}

/// Typst's HTML document cut into the policy (its body up to the declaration)
/// and the declaration's paragraph. Typst escaped every text it wrote.
fn split_policy(html: &str, school: &str) -> PolicyText {
    let body = html
        .split_once("<body>")
        .map(|(_, rest)| rest)
        .unwrap_or(html);
    let body = body.rsplit_once("</body>").map(|(b, _)| b).unwrap_or(body);
    match body.split_once("<div id=\"aup-declaration\">") {
        Some((policy, rest)) => {
            let declaration = rest
                .split_once("<p>")
                .and_then(|(_, p)| p.split_once("</p>"))
                .map(|(p, _)| p.to_owned())
                .unwrap_or_default();
            PolicyText {
                school: school.to_owned(),
                body: policy.to_owned(),
                declaration,
                consents: Vec::new(),
            }
        }
        None => PolicyText {
            school: school.to_owned(),
            body: body.to_owned(),
            declaration: String::new(),
            consents: Vec::new(),
        },
    }
}

fn csrf(app: &App, link: &SigningLink) -> Option<String> {
    LinkKey::load(&app.folders.archive)
        .ok()
        .flatten()
        .map(|key| key.csrf(&link.nonce))
}

/// Today as the date box shows it, in the UK: "8 September 2025".
fn today_long() -> String {
    let now = crate::clock::now_text();
    crate::clock::uk_date_long(&now)
}

/// What the person gave, shown again with a problem.
#[derive(Default)]
struct Typed<'a> {
    role: Option<&'a str>,
    parent_name: Option<&'a str>,
    answers: HashMap<String, String>,
}

fn sign_page(
    app: &App,
    token: &str,
    link: &SigningLink,
    form: &RegisteredForm,
    problem: Option<String>,
    typed: &Typed<'_>,
) -> Response {
    let Some(signer) = Signer::of(form) else {
        return page(
            app,
            "link.html",
            StatusCode::OK,
            context! {
                title => "This form is signed on paper",
                text => "A pupil and a parent or carer both sign this form, so it cannot be signed here. Sign the printed form the school sent home, and return it to the school.",
            },
        );
    };
    let policy = match policy_text(app, form) {
        Ok(Some(policy)) => policy,
        Ok(None) => {
            return page(
                app,
                "link.html",
                StatusCode::SERVICE_UNAVAILABLE,
                context! {
                    title => "The policy is being updated",
                    text => "The school is changing its policy, so it cannot be signed just now. Try again later, or ask the school office.",
                },
            );
        }
        Err(error) => {
            eprintln!("aup serve: the signing page of {}: {error}", form.form_id);
            return page(
                app,
                "link.html",
                StatusCode::INTERNAL_SERVER_ERROR,
                context! {
                    title => "This page could not be made",
                    text => "Try again later, or ask the school office.",
                },
            );
        }
    };
    let Some(csrf) = csrf(app, link) else {
        return nothing(app);
    };
    page(
        app,
        "sign.html",
        if problem.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        context! {
            token => token,
            csrf => csrf,
            school => policy.school.clone(),
            name => form.name.clone().unwrap_or_default(),
            role => typed.role.map(str::to_owned).or_else(|| form.role.clone()).unwrap_or_default(),
            parent => matches!(signer, Signer::Parent { .. }),
            class => form.role.clone().unwrap_or_default(),
            parent_name => typed.parent_name.unwrap_or_default(),
            consents => match &signer {
                Signer::Parent { consents } => consents
                    .iter()
                    .map(|id| {
                        let question = policy
                            .consents
                            .iter()
                            .find(|c| &c.id == id)
                            .map(|c| c.question.clone())
                            .unwrap_or_else(|| id.clone());
                        context! {
                            id => id,
                            question => question,
                            answer => typed.answers.get(&format!("consent_{id}")).cloned().unwrap_or_default(),
                        }
                    })
                    .collect::<Vec<_>>(),
                Signer::Staff => Vec::new(),
            },
            date => today_long(),
            form_id => form.form_id.clone(),
            policy => minijinja::Value::from_safe_string(policy.body.clone()),
            declaration => minijinja::Value::from_safe_string(policy.declaration.clone()),
            problem => problem,
        },
    )
}

pub async fn show(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    UrlPath(token): UrlPath<String>,
) -> Response {
    let address = match unbraked(&app, peer, &headers) {
        Ok(address) => address,
        Err(refused) => return refused,
    };
    super::pages::blocking(move || match open_for_signing(&app, &token, address) {
        Ok((link, form)) => sign_page(&app, &token, &link, &form, None, &Typed::default()),
        Err(page) => page,
    })
    .await
}

#[derive(Deserialize)]
pub struct SignForm {
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    declaration: Option<String>,
    /// "drawn" when the pad was used, else typed.
    #[serde(default)]
    how: String,
    #[serde(default)]
    typed: String,
    /// The pad's strokes: JSON `[[[x, y], ...], ...]`, fractions of the pad.
    #[serde(default)]
    drawn: String,
    /// On a parents' form: the parent's or carer's name.
    #[serde(default)]
    parent_name: String,
    /// On a parents' form, `consent_<id>`: `yes` or `no`.
    #[serde(flatten)]
    answers: HashMap<String, String>,
}

pub async fn submit(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    UrlPath(token): UrlPath<String>,
    axum::Form(form): axum::Form<SignForm>,
) -> Response {
    let address = match unbraked(&app, peer, &headers) {
        Ok(address) => address,
        Err(refused) => return refused,
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect::<String>();
    super::pages::blocking(move || {
        let (link, issued) = match open_for_signing(&app, &token, address) {
            Ok(opened) => opened,
            Err(page) => return page,
        };
        let Some(expected) = csrf(&app, &link) else {
            return nothing(&app);
        };
        if !super::sessions::same_token(&form.csrf, &expected) {
            return page(
                &app,
                "link.html",
                StatusCode::FORBIDDEN,
                context! {
                    title => "Not signed",
                    text => "This form did not come from your signing page. Open your link again and sign there.",
                },
            );
        }
        let Some(signer) = Signer::of(&issued) else {
            return sign_page(&app, &token, &link, &issued, None, &Typed::default());
        };
        let typed = Typed {
            role: Some(form.role.trim()),
            parent_name: Some(form.parent_name.trim()),
            answers: form
                .answers
                .iter()
                .filter(|(key, _)| key.starts_with("consent_"))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        };
        let again =
            |problem: &str| sign_page(&app, &token, &link, &issued, Some(problem.to_owned()), &typed);
        if form.declaration.is_none() {
            return again("Tick the box to say you have read and agree to the policy.");
        }
        let given = match signer.given(&form.role, &form.parent_name, &form.answers) {
            Ok(given) => given,
            Err(problem) => return again(problem),
        };
        let mark = match form.how.as_str() {
            "drawn" => match parse_strokes(&form.drawn) {
                Some(strokes) => SignatureMark::Drawn(strokes),
                None => return again("The drawn signature could not be read: draw it again, or type your name."),
            },
            _ => SignatureMark::Typed(form.typed.trim().to_owned()),
        };
        if let Err(problem) = mark.check() {
            return again(&format!("{}{}", capitalised(&problem), "."));
        }
        match sign(&app, &link, &issued, &given, &mark, address, &user_agent) {
            // Signed now, or by a submit a moment before: as the link now says.
            Ok(()) | Err(SignError::Used) => match open(&app, &token) {
                Opened::Used { link, form } => used(&app, &token, &form, &link),
                _ => nothing(&app),
            },
            Err(SignError::NoSeal) => page(
                &app,
                "link.html",
                StatusCode::SERVICE_UNAVAILABLE,
                context! {
                    title => "Not signed yet",
                    text => "This school cannot take signatures online yet. Tell the school office; your link will work once they have set it up.",
                },
            ),
            Err(SignError::Failed(error)) => {
                eprintln!("aup serve: signing {} online failed: {error}", issued.form_id);
                page(
                    &app,
                    "link.html",
                    StatusCode::INTERNAL_SERVER_ERROR,
                    context! {
                        title => "Not signed",
                        text => "Something went wrong on the school's server, and nothing was signed. Try again later, or ask the school office.",
                    },
                )
            }
        }
    })
    .await
}

/// "Not you?": the person who opened the link is asked to confirm, so a slip
/// of the finger revokes nothing.
pub async fn not_me_page(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    UrlPath(token): UrlPath<String>,
) -> Response {
    let address = match unbraked(&app, peer, &headers) {
        Ok(address) => address,
        Err(refused) => return refused,
    };
    super::pages::blocking(move || match open_for_signing(&app, &token, address) {
        Err(page) => page,
        Ok((link, form)) => {
            let Some(csrf) = csrf(&app, &link) else {
                return nothing(&app);
            };
            let name = form.name.unwrap_or_default();
            page(
                &app,
                "link.html",
                StatusCode::OK,
                context! {
                    title => "Is this link not for you?",
                    text => format!(
                        "This link was sent for {name} to sign the school's Acceptable Use Policy. If you are not {name}, say so here: the link stops working and the school office is told, so they can check who it was meant for."
                    ),
                    confirm => context! {
                        action => format!("/s/{token}/not-me"),
                        csrf => csrf,
                        label => "This link is not for me",
                        back => format!("/s/{token}"),
                    },
                },
            )
        }
    })
    .await
}

#[derive(Deserialize)]
pub struct NotMeForm {
    csrf: String,
}

/// The link is revoked and marked as reported; the office sees it on the
/// person's page and `aup links` makes no new link for them unasked.
pub async fn not_me(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    UrlPath(token): UrlPath<String>,
    axum::Form(said): axum::Form<NotMeForm>,
) -> Response {
    let address = match unbraked(&app, peer, &headers) {
        Ok(address) => address,
        Err(refused) => return refused,
    };
    super::pages::blocking(move || {
        let (link, form) = match open_for_signing(&app, &token, address) {
            Ok(opened) => opened,
            Err(page) => return page,
        };
        let expected = csrf(&app, &link).unwrap_or_default();
        if expected.is_empty() || !super::sessions::same_token(&said.csrf, &expected) {
            return page(
                &app,
                "link.html",
                StatusCode::FORBIDDEN,
                context! {
                    title => "Nothing was changed",
                    text => "This did not come from your link's page. Open the link again.",
                },
            );
        }
        let reported = Archive::open_unlocked(&app.folders.archive)
            .and_then(|index| index.report_link(link.id, &form.form_id));
        match reported {
            Ok(_) => page(
                &app,
                "link.html",
                StatusCode::OK,
                context! {
                    title => "Thank you",
                    text => "This link no longer works, and the school office has been told. Nothing was signed. You can close this page.",
                },
            ),
            Err(error) => {
                eprintln!(
                    "aup serve: a link of {} reported as not its recipient's could not be revoked: {error}",
                    form.form_id
                );
                page(
                    &app,
                    "link.html",
                    StatusCode::INTERNAL_SERVER_ERROR,
                    context! {
                        title => "Not recorded",
                        text => "Something went wrong on the school's server. Please tell the school office that this link is not for you.",
                    },
                )
            }
        }
    })
    .await
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The pad's JSON, within the limits of what a person draws.
fn parse_strokes(json: &str) -> Option<Vec<Vec<(f64, f64)>>> {
    if json.len() > 200_000 {
        return None;
    }
    let strokes: Vec<Vec<[f64; 2]>> = serde_json::from_str(json).ok()?;
    Some(
        strokes
            .into_iter()
            .map(|s| s.into_iter().map(|[x, y]| (x, y)).collect())
            .collect(),
    )
}

enum SignError {
    Used,
    NoSeal,
    Failed(String),
}

/// The signed form: filled, sealed, kept for the person's download, and
/// placed in the inbox for the filing thread, recorded as an upload of the
/// form's school, and the link spent (first, so two submits sign once).
fn sign(
    app: &App,
    link: &SigningLink,
    form: &RegisteredForm,
    given: &Given<'_>,
    mark: &SignatureMark,
    address: IpAddr,
    user_agent: &str,
) -> Result<(), SignError> {
    let failed = |e: &dyn std::fmt::Display| SignError::Failed(e.to_string());
    let seal = match Seal::load(&app.folders.archive, &form.school) {
        Ok(Some(seal)) => seal,
        Ok(None) => return Err(SignError::NoSeal),
        Err(e) => return Err(failed(&e)),
    };
    let (_, issued) = super::downloads::issued_form(&app.folders.out, form).ok_or_else(|| {
        SignError::Failed(format!(
            "the issued form {} is not under {} as it was issued",
            form.form_id,
            app.folders.out.display()
        ))
    })?;
    let date = today_long();
    let filled = fill(&issued, &given.submission(&date, mark)).map_err(|e| failed(&e))?;
    let when = time::OffsetDateTime::now_utc();
    let school_name = seal_name(&seal);
    let how = match mark {
        SignatureMark::Drawn(_) => "drawn",
        SignatureMark::Typed(_) => "typed",
    };
    let person = match given {
        Given::Parent { name, .. } => format!(
            "{name}, parent or carer of {},",
            form.name.as_deref().unwrap_or("the child")
        ),
        Given::Staff { .. } => form.name.as_deref().unwrap_or("the person").to_owned(),
    };
    let answered = given
        .answers_said()
        .map(|said| format!(", answered the consents ({said})"))
        .unwrap_or_default();
    let at = when
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let reason = format!(
        "{person} ticked the declaration{answered} and signed online ({how}) at {at} UTC, {} UK time, from {address}, link {}, browser {}",
        crate::clock::uk_local(&at),
        link.id,
        if user_agent.is_empty() {
            "not named"
        } else {
            user_agent
        }
    );
    let sealed = seal_pdf(
        &filled,
        &seal,
        &SealDetails {
            name: &school_name,
            reason: &reason,
            when,
        },
    )
    .map_err(|e| failed(&e))?;

    let index = Archive::open_unlocked(&app.folders.archive).map_err(|e| failed(&e))?;
    if !index
        .use_link(link.id, &form.form_id)
        .map_err(|e| failed(&e))?
    {
        return Err(SignError::Used);
    }
    place(app, &index, link, form, &sealed, when).inspect_err(|_| {
        if let Err(undo) = index.unuse_link(link.id, &form.form_id) {
            eprintln!("aup serve: the link of {} stays used: {undo}", form.form_id);
        }
    })
}

/// Keeps the signed copy for the person's download and places it in the
/// inbox, recorded as an upload for the form's school.
fn place(
    app: &App,
    index: &Archive,
    link: &SigningLink,
    form: &RegisteredForm,
    sealed: &[u8],
    when: time::OffsetDateTime,
) -> Result<(), SignError> {
    let failed = |e: &dyn std::fmt::Display| SignError::Failed(e.to_string());
    let kept = signed_copy(&app.folders.archive, link.id);
    if let Some(dir) = kept.parent() {
        std::fs::create_dir_all(dir).map_err(|e| failed(&e))?;
    }
    crate::durable::store_durably(&kept, sealed).map_err(|e| failed(&e))?;
    let sha256 = hex(&Sha256::digest(sealed));
    let name = format!("{}-signed-online.pdf", form.form_id);
    let upload = NewUpload {
        sha256: &sha256,
        name: &name,
        size: sealed.len() as u64,
    };
    let at = when
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let folder = app.folders.inbox.join(super::actions::UPLOADS_FOLDER);
    std::fs::create_dir_all(&folder).map_err(|e| failed(&e))?;
    let hidden = folder.join(format!(".aup-online-{}.part", link.id));
    crate::durable::store_durably(&hidden, sealed).map_err(|e| failed(&e))?;
    index
        .record_upload(
            &upload,
            "online signing",
            std::slice::from_ref(&form.school),
            &at,
        )
        .map_err(|e| failed(&e))?;
    let visible = folder.join(format!("online-{}-{}.pdf", link.id, &sha256[..8]));
    std::fs::rename(&hidden, &visible)
        .and_then(|()| std::fs::File::open(&folder)?.sync_all())
        .map_err(|e| failed(&e))?;
    app.filing.send(super::filing::Job::Wake);
    Ok(())
}

/// The seal's certificate's common name, as the signature's `/Name`.
fn seal_name(seal: &Seal) -> String {
    crate::digital::signature::common_name(&seal.certificate)
        .unwrap_or_else(|| "school seal".into())
}

/// Where the signed copy of a link's form is kept for its download.
fn signed_copy(archive: &Path, link: i64) -> PathBuf {
    archive.join("signed-online").join(format!("{link}.pdf"))
}

/// The person's signed copy, once signed.
pub async fn signed_pdf(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    UrlPath(token): UrlPath<String>,
) -> Response {
    let address = match unbraked(&app, peer, &headers) {
        Ok(address) => address,
        Err(refused) => return refused,
    };
    let found = tokio::task::spawn_blocking(move || match open(&app, &token) {
        Opened::Used { link, .. } => Ok((signed_copy(&app.folders.archive, link.id), link.form_id)),
        Opened::Nothing => {
            app.signing.guessed(address);
            Err(nothing(&app))
        }
        _ => Err(nothing(&app)),
    })
    .await;
    match found {
        Ok(Ok((path, form_id))) => {
            super::downloads::send(&path, &format!("{form_id}-signed.pdf"), false).await
        }
        Ok(Err(response)) => response,
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "failed").into_response(),
    }
}

/// The typed signature's handwriting font, for the signing page's typed field.
pub async fn handwriting_font() -> Response {
    (
        [
            (header::CONTENT_TYPE, "font/ttf"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        crate::online::handwriting::FONT_FILE,
    )
        .into_response()
}

pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}
