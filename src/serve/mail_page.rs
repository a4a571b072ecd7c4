//! The head's mail page for a school year: how many people the invitations
//! and the reminders due would reach now, who they would pass over and why,
//! the letter as the first of them would read it, and the buttons that send
//! them. Sending runs `aup send` or `aup remind` as a child process (the
//! same claims, caps and window as from cron), one at a time per school
//! year; the page says how it went.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Serialize;

use super::App;
use super::auth::User;
use super::pages::{blocking, message, school_rows, viewer};
use crate::archive::Archive;
use crate::config::AcademicYear;
use crate::config::aups::AupKind;
use crate::mail::letter::{Kind, Letter};
use crate::mail::plan::{self, Expect, Plan};
use crate::mail::settings::MailSettings;
use crate::online::mail_merge::{self, Roll};

/// Which letters a button sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum What {
    Invitations,
    Reminders,
}

impl What {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "invitations" => Some(Self::Invitations),
            "reminders" => Some(Self::Reminders),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Invitations => "invitations",
            Self::Reminders => "reminders",
        }
    }

    /// The command that sends them.
    fn command(self) -> &'static str {
        match self {
            Self::Invitations => "send",
            Self::Reminders => "remind",
        }
    }
}

/// Letters sent from the page, by school year.
#[derive(Default)]
pub struct Mailings(Mutex<HashMap<(String, String), Run>>);

/// One press of a button and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub what: What,
    pub by: String,
    /// RFC 3339.
    pub started_at: String,
    pub finished_at: Option<String>,
    pub sent: usize,
    /// "Name <address>: refused: 550 …", one per letter that did not go.
    pub problems: Vec<String>,
    /// Why the run itself failed, in its own words.
    pub failed: Option<String>,
}

impl Mailings {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Run>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn of(&self, slug: &str, year: &str) -> Option<Run> {
        self.lock()
            .get(&(slug.to_owned(), year.to_owned()))
            .cloned()
    }
}

/// What the page says of one kind of letter.
#[derive(Serialize)]
struct Letters {
    /// Also the button's path.
    what: What,
    to_send: Vec<String>,
    already_sent: Vec<String>,
    refused_before: Vec<String>,
    preview: Option<Preview>,
}

#[derive(Serialize)]
struct Preview {
    to: String,
    subject: String,
    text: String,
}

pub async fn page(
    user: User,
    State(app): State<Arc<App>>,
    Path((slug, year)): Path<(String, String)>,
) -> Response {
    if let Err(refused) = user.require(user.role.issues_forms(), "send mail to staff") {
        return refused;
    }
    blocking(move || {
        let found = match school_rows(&app, &user, &slug, &year) {
            Ok(found) => found,
            Err(page) => return page,
        };
        let Some(mail_file) = app.mail_file.clone() else {
            return no_mail(&app, &user);
        };
        let drawn = draw(&app, &mail_file, &slug, &year);
        let mut drawn = match drawn {
            Ok(drawn) => drawn,
            Err(problem) => {
                return message(
                    &app,
                    &user,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Mail",
                    &format!("The mail page cannot be shown: {problem}"),
                );
            }
        };
        drawn.no_public_url &= app.public_url.is_none();
        let run = app.mailings.of(&slug, &year);
        let running = run.as_ref().is_some_and(|r| r.finished_at.is_none());
        app.render(
            "mail.html",
            context! {
                user => viewer(&user),
                school => slug,
                school_name => found.name,
                year => year,
                mail => drawn,
                run => run,
                running => running,
            },
        )
    })
    .await
}

/// What the page shows of the school year's mail.
#[derive(Serialize)]
struct Drawn {
    /// Why nothing can be sent now (outside the sending window).
    closed: Option<String>,
    /// Neither the settings nor `--public-url` say where links open.
    no_public_url: bool,
    invitations: Letters,
    reminders: Letters,
    schedule: crate::config::schema::Reminders,
    /// Yet to sign, with no address on the roster.
    no_address: Vec<String>,
}

fn draw(app: &App, mail_file: &std::path::Path, slug: &str, year: &str) -> Result<Drawn, String> {
    let settings = MailSettings::load(mail_file).map_err(|e| e.to_string())?;
    let index = Archive::open_read_only(&app.folders.archive).map_err(|e| e.to_string())?;
    let roll = Roll::read(&index, &app.folders.schools, slug, year, AupKind::Staff)?;
    let invitations = plan::invitations(&index, &roll, &[], false)?;
    let reminders = plan::reminders(&index, &roll, crate::clock::now())?;
    let expires =
        mail_merge::default_expiry(year.parse::<AcademicYear>()?, crate::clock::now().date());
    let shown = |plan: &Plan, what| letters(plan, what, &settings, &roll, year, expires);
    Ok(Drawn {
        closed: settings.sending.closed_now(mail_file),
        no_public_url: settings.public_url.is_none(),
        invitations: shown(&invitations, What::Invitations),
        reminders: shown(&reminders, What::Reminders),
        schedule: roll.school.config.mail.reminders.clone(),
        no_address: invitations.no_address,
    })
}

/// The names, counts and preview of one kind of letter.
fn letters(
    plan: &Plan,
    what: What,
    settings: &MailSettings,
    roll: &Roll,
    year: &str,
    expires: time::Date,
) -> Letters {
    let named = |expect: fn(&Expect) -> bool| -> Vec<String> {
        plan.people
            .iter()
            .filter(|p| expect(&p.expect))
            .map(|p| p.row.name.clone())
            .collect()
    };
    let first = plan.to_send().next();
    let config = &roll.school.config;
    let preview = first.map(|planned| {
        let attach = config.mail.attach_form && planned.kind == Kind::Invitation;
        let (subject, text) = Letter {
            kind: planned.kind,
            from: &settings.from,
            reply_to: settings.reply_to.as_deref(),
            name: &planned.row.name,
            email: &planned.email,
            school: &config.name,
            year,
            link: "(their own signing link)",
            expires: &crate::clock::uk_date_long(&expires.to_string()),
            form_id: planned.row.form_id.as_deref().unwrap_or_default(),
            form: attach.then(|| ("form.pdf".to_owned(), Vec::new())),
            message_id: "",
        }
        .words(&config.mail);
        Preview {
            to: format!("{} <{}>", planned.row.name, planned.email),
            subject,
            text,
        }
    });
    Letters {
        what,
        to_send: named(|e| *e == Expect::Send),
        already_sent: named(|e| *e == Expect::AlreadySent),
        refused_before: named(|e| matches!(e, Expect::RefusedBefore(_))),
        preview,
    }
}

fn no_mail(app: &App, user: &User) -> Response {
    message(
        app,
        user,
        StatusCode::CONFLICT,
        "Mail is not set up",
        "aup serve was started without --mail, so it has no mail server to send through. Ask whoever runs aup to add --mail mail.yaml (the README's Email section says what goes in it).",
    )
}

/// Starts the invitations or the reminders due, then shows the mail page.
pub async fn send(
    user: User,
    State(app): State<Arc<App>>,
    Path((slug, year, what)): Path<(String, String, String)>,
) -> Response {
    if let Err(refused) = user.require(user.role.issues_forms(), "send mail to staff") {
        return refused;
    }
    let Some(what) = What::parse(&what) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(mail_file) = app.mail_file.clone() else {
        return no_mail(&app, &user);
    };
    let checked = {
        let (app, user, slug, year) = (app.clone(), user.clone(), slug.clone(), year.clone());
        blocking(move || match school_rows(&app, &user, &slug, &year) {
            Ok(_) => StatusCode::OK.into_response(),
            Err(page) => page,
        })
        .await
    };
    if checked.status() != StatusCode::OK {
        return checked;
    }
    let key = (slug.clone(), year.clone());
    {
        let mut runs = app.mailings.lock();
        if runs.get(&key).is_some_and(|r| r.finished_at.is_none()) {
            return message(
                &app,
                &user,
                StatusCode::CONFLICT,
                "Already sending",
                "Letters for this school year are being sent now; the mail page says when they are done.",
            );
        }
        runs.insert(
            key.clone(),
            Run {
                what,
                by: user.name.clone(),
                started_at: crate::clock::now_text(),
                finished_at: None,
                sent: 0,
                problems: Vec::new(),
                failed: None,
            },
        );
    }
    let command = Command {
        what,
        slug: slug.clone(),
        year: year.clone(),
        mail_file,
        by: user.name.clone(),
    };
    let worker = app.clone();
    tokio::task::spawn_blocking(move || {
        let finished = command.run(&worker);
        if let Some(run) = worker.mailings.lock().get_mut(&key) {
            match finished {
                Ok((sent, problems)) => {
                    run.sent = sent;
                    run.problems = problems;
                }
                Err(failed) => run.failed = Some(failed),
            }
            run.finished_at = Some(crate::clock::now_text());
        }
    });
    Redirect::to(&mail_page_path(&slug, &year)).into_response()
}

fn mail_page_path(slug: &str, year: &str) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    format!(
        "/school/{}/{}/mail",
        utf8_percent_encode(slug, NON_ALPHANUMERIC),
        utf8_percent_encode(year, NON_ALPHANUMERIC)
    )
}

/// One press of a button, as the command it runs.
struct Command {
    what: What,
    slug: String,
    year: String,
    mail_file: PathBuf,
    by: String,
}

impl Command {
    /// Records who asked, runs the command, and says how many went and which
    /// did not.
    fn run(&self, app: &App) -> Result<(usize, Vec<String>), String> {
        let folders = &app.folders;
        {
            let _lock =
                crate::archive::lock_waiting(&folders.archive).map_err(|e| e.to_string())?;
            let mut index = Archive::open(&folders.archive).map_err(|e| e.to_string())?;
            index
                .record_action(
                    "mail",
                    &format!(
                        "{} asked on the office's pages for the {} of {} {}",
                        self.by,
                        self.what.as_str(),
                        self.slug,
                        self.year
                    ),
                )
                .map_err(|e| e.to_string())?;
        }
        let told = super::mailroom::Told {
            mail: &self.mail_file,
            folders,
            public_url: app.public_url.as_deref(),
        };
        let words = [
            self.what.command(),
            "--json",
            "--school",
            &self.slug,
            "--year",
            &self.year,
        ];
        let mut args = told.args(&words, true);
        if self.what == What::Invitations {
            // The school may attach each person's form.
            args.extend(["--out".into(), folders.out.clone().into()]);
        }
        let lines = super::mailroom::child(&args, SENDING_DEADLINE)?;
        let sent = lines.iter().filter(|l| l["outcome"] == "sent").count();
        let problems = lines
            .iter()
            .filter(|l| !matches!(l["outcome"].as_str(), Some("sent" | "already_sent")))
            .map(|l| {
                let detail = l["detail"].as_str().unwrap_or_default();
                let said = match detail.is_empty() {
                    true => String::new(),
                    false => format!(": {detail}"),
                };
                format!(
                    "{} <{}>: {}{said}",
                    l["name"].as_str().unwrap_or_default(),
                    l["to"].as_str().unwrap_or_default(),
                    l["outcome"].as_str().unwrap_or_default().replace('_', " ")
                )
            })
            .collect();
        Ok((sent, problems))
    }
}

/// A day's cap at 30 a minute takes about half an hour; longer is a hang.
const SENDING_DEADLINE: Duration = Duration::from_secs(3 * 60 * 60);
