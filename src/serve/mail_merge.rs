//! The office's mail merge: everyone yet to sign, with their personal signing
//! link, as the CSV `aup links` writes (`online::mail_merge`). Links are made
//! for whoever has none, so this is a POST (CSRF-guarded, audited by the
//! account's name) and is answered only when `aup serve` knows the address
//! people reach it at (`--public-url`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::App;
use super::auth::User;
use super::pages::{blocking, message, school_rows};
use crate::archive::Archive;
use crate::config::AcademicYear;
use crate::online::links::LinkKey;
use crate::online::mail_merge::{self, Wanted};
use crate::online::seal::Seal;

pub async fn signing_links(
    user: User,
    State(app): State<Arc<App>>,
    Path((slug, year)): Path<(String, String)>,
) -> Response {
    if let Err(refused) = user.require(user.role.files_returns(), "make signing links") {
        return refused;
    }
    blocking(move || {
        let refused = |status, text: &str| message(&app, &user, status, "No signing links", text);
        let Some(public_url) = app.public_url.as_deref() else {
            return refused(
                StatusCode::CONFLICT,
                "aup serve was started without --public-url, so it does not know the address people open links at. Ask whoever runs aup to add --public-url https://… (the address of these pages).",
            );
        };
        let found = match school_rows(&app, &user, &slug, &year) {
            Ok(found) => found,
            Err(page) => return page,
        };
        match Seal::load(&app.folders.archive, &slug) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return refused(
                    StatusCode::CONFLICT,
                    &format!(
                        "{} has no seal yet, so nobody could sign online. Ask whoever runs aup to run: aup seal init --school {slug}",
                        found.name
                    ),
                );
            }
            Err(error) => return refused(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
        }
        let drawn_up = (|| {
            let index = Archive::open_unlocked(&app.folders.archive).map_err(|e| e.to_string())?;
            let current = index
                .current_fingerprint(&slug, &year)
                .map_err(|e| e.to_string())?
                .ok_or("no forms are issued for this year")?;
            let key = LinkKey::load_or_create(&app.folders.archive)?;
            let today = time::OffsetDateTime::now_utc().date();
            let expires = mail_merge::default_expiry(year.parse::<AcademicYear>()?, today).to_string();
            mail_merge::draw_up(
                &index,
                &key,
                &found.rows,
                &found.people,
                &current,
                &Wanted {
                    public_url,
                    expires: &expires,
                    all: false,
                    renew: &[],
                    by: &format!("{} on the office's pages", user.name),
                },
            )
        })();
        match drawn_up {
            Ok(list) => (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{slug}-{year}-signing-links.csv\""),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
                mail_merge::csv(&list.rows),
            )
                .into_response(),
            Err(error) => refused(StatusCode::INTERNAL_SERVER_ERROR, &error),
        }
    })
    .await
}
