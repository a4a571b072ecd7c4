//! `aup links`: personal signing links for a mail merge, and revoking them.

use std::path::PathBuf;

use anstream::eprintln;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::{Outcome, SchoolsDir, json_line, select_schools};
use crate::archive::{Archive, NewLink};
use crate::config::{self, AcademicYear, roster};
use crate::online::links::{self, LinkKey};
use crate::report::{self, State};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LinksArgs {
    #[command(subcommand)]
    pub command: Option<LinksCommand>,
    #[command(flatten)]
    pub list: ListArgs,
    /// The archive folder (its index holds the links; its seals/ the key they
    /// are made with).
    #[arg(long, value_name = "DIR", default_value = "archive", global = true)]
    pub archive: PathBuf,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The school, by slug.
    #[arg(long, value_name = "SLUG")]
    pub school: Option<String>,
    /// The academic year, like 2025-26; by default the one today falls in.
    #[arg(long, value_name = "YEAR", value_parser = crate::config::year::academic_year_arg)]
    pub year: Option<String>,
    /// The address people reach `aup serve` at, as given to its --public-url,
    /// e.g. https://aup.school.example (links are <URL>/s/<token>).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The last day the new links open the signing page, YYYY-MM-DD; by default
    /// the end of the academic year (31 August).
    #[arg(long, value_name = "DATE", value_parser = crate::config::year::iso_date_arg)]
    pub expires: Option<String>,
    /// Also list people who have signed already.
    #[arg(long)]
    pub all: bool,
    /// csv (for a mail merge: UTF-8 with a byte-order mark) or json (one object
    /// per line).
    #[arg(long, value_enum, default_value = "csv")]
    pub format: LinkFormat,
    #[command(flatten)]
    pub dir: SchoolsDir,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LinkFormat {
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum LinksCommand {
    /// Revoke every signing link of a form: they then open nothing. `aup links`
    /// makes a new one on its next run. Recorded in the audit log.
    ///
    /// Exit status: 0 when revoked (or there was none); 1 when the form is not
    /// in the archive; 2 for a usage error.
    Revoke {
        /// The form, e.g. PAK-2526-0007-K.
        form_id: String,
    },
}

pub fn run(args: LinksArgs) -> Result<Outcome, String> {
    // The writers' lock, as every command that changes the index holds it.
    let _lock = crate::archive::lock_waiting(&args.archive).map_err(|e| e.to_string())?;
    let archive = Archive::open(&args.archive).map_err(|e| e.to_string())?;
    let by = "the command line";
    if let Some(LinksCommand::Revoke { form_id }) = &args.command {
        let form_id = form_id.trim().to_ascii_uppercase();
        if archive
            .issued(&form_id)
            .map_err(|e| e.to_string())?
            .is_none()
        {
            return Err(format!(
                "form {form_id} is not in this archive's issue register"
            ));
        }
        let revoked = archive
            .revoke_links(&form_id, by)
            .map_err(|e| e.to_string())?;
        eprintln!("revoked {revoked} signing link(s) of {form_id}");
        return Ok(Outcome::Success);
    }
    let list = &args.list;
    let school = list
        .school
        .as_deref()
        .ok_or("say which school: aup links --school SLUG --public-url URL")?;
    let public_url = list.public_url.as_deref().ok_or(
        "give --public-url, the address people reach aup serve at (e.g. https://aup.school.example)",
    )?;
    if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
        return Err(format!(
            "--public-url `{public_url}` is not a web address: start it with https://"
        ));
    }
    let today = time::OffsetDateTime::now_utc().date();
    let year = match &list.year {
        Some(text) => text.parse::<AcademicYear>()?,
        None => AcademicYear::containing(today),
    };
    let expires = list
        .expires
        .clone()
        .unwrap_or_else(|| year.last_day().to_string());
    if expires < today.to_string() {
        return Err(format!("--expires {expires} is in the past"));
    }
    let files = select_schools(&list.dir.schools, &[school.to_owned()])?;
    let loaded = config::load(&files[0]).map_err(|e| e.to_string())?;
    let roster_file = roster::roster_path(loaded.dir(), school);
    let people = match roster_file.is_file() {
        true => roster::read(&roster_file).map_err(|e| e.to_string())?,
        false => Vec::new(),
    };
    let year_text = year.to_string();
    let current = archive
        .current_fingerprint(school, &year_text)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!("{school} has no forms issued for {year_text}: run aup generate first")
        })?;
    let forms = archive
        .forms_with_returns(school, &year_text)
        .map_err(|e| e.to_string())?;
    let rows = report::rows(school, &year_text, &people, &forms, Some(&current));
    let key = LinkKey::load_or_create(&args.archive)?;
    let today_text = today.to_string();

    // Each person's live link for the current form, made where missing.
    let wanted: Vec<&report::StatusRow> = rows
        .iter()
        .filter(|r| r.on_roster && r.form_id.is_some())
        .filter(|r| list.all || r.state != State::Signed)
        .collect();
    let mut new = Vec::new();
    for row in &wanted {
        let form_id = row.form_id.as_deref().unwrap_or_default();
        let live = archive
            .live_link(form_id, &current, &today_text)
            .map_err(|e| e.to_string())?;
        if live.is_none() {
            let nonce = links::new_nonce()?;
            let token_sha256 = links::token_sha256(&key.token(&nonce));
            new.push(NewLink {
                form_id,
                fingerprint: &current,
                nonce,
                token_sha256,
            });
        }
    }
    archive
        .add_links(&new, &expires, by)
        .map_err(|e| e.to_string())?;

    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = csv.write_record([
        "name", "email", "role", "form_id", "state", "expires", "link",
    ]);
    for row in &wanted {
        let form_id = row.form_id.as_deref().unwrap_or_default();
        let Some(link) = archive
            .live_link(form_id, &current, &today_text)
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        let email = people
            .iter()
            .find(|p| p.name == row.name)
            .and_then(|p| p.email.clone())
            .unwrap_or_default();
        let url = links::url(public_url, &key.token(&link.nonce));
        let state = format!("{:?}", row.state).to_lowercase();
        match list.format {
            LinkFormat::Json => json_line(&json!({
                "name": row.name,
                "email": email,
                "role": row.role,
                "form_id": form_id,
                "state": state,
                "expires": link.expires_on,
                "link": url,
            })),
            LinkFormat::Csv => {
                let cells = [
                    row.name.as_str(),
                    email.as_str(),
                    row.role.as_str(),
                    form_id,
                    state.as_str(),
                    link.expires_on.as_str(),
                    url.as_str(),
                ];
                let _ = csv.write_record(cells.map(|c| report::spreadsheet_cell(c).into_owned()));
            }
        }
    }
    if let LinkFormat::Csv = list.format {
        let bytes = csv.into_inner().map_err(|e| e.to_string())?;
        outln!("\u{feff}{}", String::from_utf8_lossy(&bytes).trim_end());
    }
    eprintln!(
        "{} link(s) for {school} {year_text}, {} new, open until {expires}; each opens one person's own form",
        wanted.len(),
        new.len()
    );
    Ok(Outcome::Success)
}
