//! The Consents page: the register `aup consents` prints, class by class, where
//! the office or the head settles an unclear answer after looking at the form
//! (each decision an audit entry), and the class sheets to print for teachers.

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::App;
use super::auth::User;
use super::filing::Job;
use super::pages::{blocking, index_error, message, not_found, open_index, viewer};
use crate::config::aups::{AupKind, Consent};
use crate::config::{self, AcademicYear};
use crate::consents::register::{self, Row, Shown};

#[derive(Deserialize, Default)]
pub struct ClassFilter {
    class: Option<String>,
}

impl ClassFilter {
    /// The class asked for; none when the field was left empty.
    fn wanted(&self) -> Option<&str> {
        self.class
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }
}

/// A class as the page shows it.
#[derive(Serialize)]
struct ClassView<'a> {
    class: &'a str,
    pupils: Vec<&'a Row>,
    returned: usize,
    /// Per consent: how many may appear, how many may not, how many unclear.
    counts: Vec<register::Counts>,
}

/// The school's consents and its register rows, when the user may see the
/// school and the school uses the parents' AUP.
fn register_of(
    app: &App,
    user: &User,
    slug: &str,
    year: &str,
    class: Option<&str>,
) -> Result<(String, Vec<Consent>, Vec<Row>), Response> {
    let refused = || {
        not_found(
            app,
            user,
            &format!("There is no consent register for {slug} {year} that your account may see."),
        )
    };
    let is_slug = !slug.is_empty()
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !user.may_see(slug) || !is_slug || year.parse::<AcademicYear>().is_err() {
        return Err(refused());
    }
    let file = app.folders.schools.join(format!("{slug}.yaml"));
    let school = config::load(&file).map_err(|_| refused())?;
    if !school.config.aups.contains(&AupKind::Parents) {
        return Err(refused());
    }
    let consents = school.config.aup_options.consents();
    let index = open_index(app, user)?;
    let entries = index
        .consent_register(slug, year)
        .map_err(|e| index_error(app, user, e))?;
    let rows = register::rows(slug, year, &consents, &entries, class);
    Ok((school.config.name.clone(), consents, rows))
}

pub async fn page(
    user: User,
    State(app): State<Arc<App>>,
    Path((slug, year)): Path<(String, String)>,
    Query(filter): Query<ClassFilter>,
) -> Response {
    blocking(move || {
        let (school_name, consents, rows) = match register_of(&app, &user, &slug, &year, None) {
            Ok(found) => found,
            Err(response) => return response,
        };
        let every_class: Vec<&str> = register::by_class(&rows)
            .into_iter()
            .map(|(class, _)| class)
            .collect();
        let wanted = filter.wanted();
        let classes: Vec<ClassView> = register::by_class(&rows)
            .into_iter()
            .filter(|(class, _)| wanted.is_none_or(|w| class.eq_ignore_ascii_case(w)))
            .map(|(class, pupils)| ClassView {
                class,
                returned: pupils.iter().filter(|p| p.return_id.is_some()).count(),
                counts: (0..consents.len())
                    .map(|i| register::counts(&pupils, i))
                    .collect(),
                pupils,
            })
            .collect();
        let unclear = rows
            .iter()
            .flat_map(|r| &r.consents)
            .filter(|c| c.answer == Shown::Unclear)
            .count();
        app.render(
            "consents.html",
            context! {
                user => viewer(&user),
                school => slug,
                school_name => school_name,
                year => year,
                consents => consents,
                classes => classes,
                every_class => every_class,
                class => wanted,
                unclear => unclear,
            },
        )
    })
    .await
}

/// The printable sheets, one per class (the page `aup consents --format html`
/// writes).
pub async fn sheets(
    user: User,
    State(app): State<Arc<App>>,
    Path((slug, year)): Path<(String, String)>,
    Query(filter): Query<ClassFilter>,
) -> Response {
    blocking(move || {
        let (school_name, consents, rows) =
            match register_of(&app, &user, &slug, &year, filter.wanted()) {
                Ok(found) => found,
                Err(response) => return response,
            };
        let today = time::OffsetDateTime::now_utc().date().to_string();
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            register::class_sheets(
                &school_name,
                &rows,
                &consents,
                &crate::clock::uk_date_long(&today),
            ),
        )
            .into_response()
    })
    .await
}

#[derive(Deserialize)]
pub struct Settle {
    return_id: i64,
    consent: String,
    answer: String,
    class: Option<String>,
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Settles an unclear answer as yes or no.
pub async fn settle(
    user: User,
    State(app): State<Arc<App>>,
    Path((slug, year)): Path<(String, String)>,
    Form(settle): Form<Settle>,
) -> Response {
    if let Err(refused) = user.require(user.role.files_returns(), "settle consent answers") {
        return refused;
    }
    let answer = match crate::consents::Answer::parse(&settle.answer) {
        Some(answer @ (crate::consents::Answer::Yes | crate::consents::Answer::No)) => answer,
        _ => {
            return message(
                &app,
                &user,
                StatusCode::BAD_REQUEST,
                "Not settled",
                "An answer is settled as yes or no.",
            );
        }
    };
    // The return must be one of this school year's, which the user may see.
    let (app2, user2, slug2, year2) = (app.clone(), user.clone(), slug.clone(), year.clone());
    let return_id = settle.return_id;
    let refused = tokio::task::spawn_blocking(move || {
        match register_of(&app2, &user2, &slug2, &year2, None) {
            Ok((_, _, rows)) if rows.iter().any(|r| r.return_id == Some(return_id)) => None,
            Ok(_) => Some(message(
                &app2,
                &user2,
                StatusCode::NOT_FOUND,
                "Not settled",
                "That return is not in this school year's consent register.",
            )),
            Err(response) => Some(response),
        }
    })
    .await
    .unwrap_or_else(|_| {
        Some(message(
            &app,
            &user,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not settled",
            "The register could not be read.",
        ))
    });
    if let Some(refused) = refused {
        return refused;
    }
    let (reply, answered) = oneshot::channel();
    app.filing.send(Job::SettleConsent {
        return_id,
        consent: settle.consent.clone(),
        answer,
        by: user.name.clone(),
        reply,
    });
    match answered.await {
        Ok(Ok(())) => {
            let mut to = format!("/school/{}/{}/consents", encode(&slug), encode(&year));
            if let Some(class) = settle.class.filter(|c| !c.trim().is_empty()) {
                to.push_str(&format!("?class={}", encode(&class)));
            }
            Redirect::to(&to).into_response()
        }
        Ok(Err(text)) => message(&app, &user, StatusCode::CONFLICT, "Not settled", &text),
        Err(_) => message(
            &app,
            &user,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not settled",
            "The filing thread stopped.",
        ),
    }
}
