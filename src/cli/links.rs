//! `aup links`: personal signing links for a mail merge, and revoking them.

use std::path::PathBuf;

use anstream::eprintln;
use clap::{Args, Subcommand, ValueEnum};

use super::{Outcome, SchoolsDir, json_line};
use crate::archive::Archive;
use crate::config::AcademicYear;
use crate::config::aups::AupKind;
use crate::online::links::LinkKey;
use crate::online::mail_merge::{self, Roll, Wanted};

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
    /// the end of the academic year (31 August), or four weeks from today for
    /// a year already over.
    #[arg(long, value_name = "DATE", value_parser = crate::config::year::iso_date_arg)]
    pub expires: Option<String>,
    /// Also list people who have signed already.
    #[arg(long)]
    pub all: bool,
    /// Which AUP: staff (the default), or parents (a link per pupil, to the
    /// first parent's address in the class list, to sign and answer the
    /// consents on the signing page).
    #[arg(long, value_name = "AUP", default_value = "staff", value_parser = super::status::aup_arg)]
    pub aup: AupKind,
    /// Make a new link for this form although the person who opened its last
    /// link said it was not theirs (check the roster's email first); repeatable.
    #[arg(long, value_name = "FORM_ID")]
    pub renew: Vec<String>,
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
    if !matches!(list.aup, AupKind::Staff | AupKind::Parents) {
        return Err(format!(
            "the {} AUP is signed on paper: signing links are made for the staff AUP and the parents' (--aup parents)",
            list.aup
        ));
    }
    let school = list
        .school
        .as_deref()
        .ok_or("say which school: aup links --school SLUG --public-url URL")?;
    let public_url = list.public_url.as_deref().ok_or(
        "give --public-url, the address people reach aup serve at (e.g. https://aup.school.example)",
    )?;
    mail_merge::check_public_url(public_url)?;
    let today = time::OffsetDateTime::now_utc().date();
    let year = match &list.year {
        Some(text) => text.parse::<AcademicYear>()?,
        None => AcademicYear::containing(today),
    };
    let expires = list
        .expires
        .clone()
        .unwrap_or_else(|| mail_merge::default_expiry(year, today).to_string());
    if expires < today.to_string() {
        return Err(format!("--expires {expires} is in the past"));
    }
    let year_text = year.to_string();
    let roll = Roll::read(&archive, &list.dir.schools, school, &year_text, list.aup)?;
    let key = LinkKey::load_or_create(&args.archive)?;
    let drawn_up = mail_merge::draw_up(
        &archive,
        &key,
        &roll.rows,
        &roll.people,
        &roll.current,
        &Wanted {
            public_url,
            expires: &expires,
            all: list.all,
            renew: &list.renew,
            by,
        },
    )?;
    for (name, form_id, at) in &drawn_up.held_back {
        eprintln!(
            "no new link for {name} ({form_id}): on {} the person who opened their link said it is not theirs. Check their email in the roster, then run again with --renew {form_id}",
            crate::clock::uk_date_long(at)
        );
    }
    match list.format {
        LinkFormat::Json => {
            for row in &drawn_up.rows {
                json_line(&row);
            }
        }
        LinkFormat::Csv => outln!("{}", mail_merge::csv(&drawn_up.rows).trim_end()),
    }
    eprintln!(
        "{} link(s) for {school} {year_text}, {} new, open until {expires}; each opens one person's own form",
        drawn_up.rows.len(),
        drawn_up.made
    );
    Ok(Outcome::Success)
}
