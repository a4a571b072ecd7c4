//! `aup send`: mails each person who has not signed their invitation, with
//! their personal signing link (and their form, where the school attaches it).

use std::path::PathBuf;

use super::{Outcome, SchoolsDir, json_line};
use crate::archive::Archive;
use crate::config::AcademicYear;
use crate::config::aups::AupKind;
use crate::mail::letter::Kind;
use crate::mail::plan::{self, Expect, Plan};
use crate::mail::post::{Batch, Posted, post};
use crate::mail::send::Mailer;
use crate::mail::settings::MailSettings;
use crate::online::links::LinkKey;
use crate::online::mail_merge::{self, LinkRow, Roll, Wanted};
use crate::report::StatusRow;
use anstream::eprintln;
use clap::Args;

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The school, by slug.
    #[arg(long, value_name = "SLUG")]
    pub school: String,
    /// The academic year, like 2025-26; by default the one today falls in.
    #[arg(long, value_name = "YEAR", value_parser = crate::config::year::academic_year_arg)]
    pub year: Option<String>,
    /// Say who would be mailed, and send nothing (no link is made either).
    #[arg(long)]
    pub dry_run: bool,
    /// Only these people, by their name on the roster; repeatable.
    #[arg(long, value_name = "NAME")]
    pub to: Vec<String>,
    /// Invite again people invited before (a new message with the same link).
    #[arg(long)]
    pub again: bool,
    #[command(flatten)]
    pub mailing: Mailing,
    /// Where `aup generate` wrote the forms (for attaching them).
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub dir: SchoolsDir,
}

/// What `send` and `remind` are both told.
#[derive(Debug, Args)]
pub struct Mailing {
    /// The address people reach `aup serve` at; by default mail.yaml's
    /// `public_url`.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// One JSON object per message (to, name, form_id, outcome, detail,
    /// message_id) instead of a line per message.
    #[arg(long)]
    pub json: bool,
    /// The mail settings.
    #[arg(long, value_name = "FILE", default_value = "mail.yaml")]
    pub mail: PathBuf,
    /// The archive folder (its index holds the links and the mail log).
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
}

/// What `send` and `remind` need before posting: the settings, the year, the
/// archive, and the school's roll.
pub(super) struct Ready {
    pub settings: MailSettings,
    pub public_url: String,
    pub year: AcademicYear,
    pub archive: Archive,
    pub roll: Roll,
}

/// What a mail command was asked to do.
pub(super) struct Asked<'a> {
    pub mail: &'a std::path::Path,
    pub public_url: Option<&'a str>,
    pub year: Option<&'a str>,
    pub archive: &'a std::path::Path,
    pub schools: &'a std::path::Path,
    pub school: &'a str,
    pub dry_run: bool,
    /// Refuse outside the sending window.
    pub window: bool,
}

/// Loads the settings, refuses outside the sending window (unless only
/// looking, or `window` is false: the caller asks `closed_now` itself), and
/// reads the school's roll.
pub(super) fn ready(asked: &Asked<'_>) -> Result<Ready, String> {
    let Asked {
        mail,
        public_url,
        year,
        archive: archive_dir,
        schools,
        school,
        dry_run,
        window,
    } = *asked;
    let settings = MailSettings::load(mail).map_err(|e| e.to_string())?;
    let public_url = public_url
        .map(str::to_owned)
        .or_else(|| settings.public_url.clone())
        .ok_or("give --public-url (or public_url in the mail settings): the address people reach aup serve at")?;
    mail_merge::check_public_url(&public_url)?;
    if !dry_run
        && window
        && let Some(closed) = settings.sending.closed_now(mail)
    {
        return Err(format!("{closed}: nothing was sent. Run it again then."));
    }
    let year = match year {
        Some(text) => text.parse::<AcademicYear>()?,
        None => AcademicYear::containing(crate::clock::now().date()),
    };
    let archive = Archive::open(archive_dir).map_err(|e| e.to_string())?;
    let roll = Roll::read(&archive, schools, school, &year.to_string(), AupKind::Staff)?;
    Ok(Ready {
        settings,
        public_url,
        year,
        archive,
        roll,
    })
}

impl Ready {
    /// The links of `rows`, made where missing (under the writers' lock).
    pub fn links(
        &self,
        archive_dir: &std::path::Path,
        rows: &[StatusRow],
        by: &str,
    ) -> Result<Vec<LinkRow>, String> {
        let _lock = crate::archive::lock_waiting(archive_dir).map_err(|e| e.to_string())?;
        let key = LinkKey::load_or_create(archive_dir)?;
        let expires = mail_merge::default_expiry(self.year, crate::clock::now().date()).to_string();
        let list = mail_merge::draw_up(
            &self.archive,
            &key,
            rows,
            &self.roll.people,
            &self.roll.current,
            &Wanted {
                public_url: &self.public_url,
                expires: &expires,
                all: false,
                renew: &[],
                by,
            },
        )?;
        for (name, form_id, _) in &list.held_back {
            eprintln!(
                "not mailed: {name} ({form_id}) said their last link was not theirs; check their address, then aup links --renew {form_id}"
            );
        }
        Ok(list.rows)
    }

    /// Posts `letters`, printing each as it is settled.
    pub fn post(
        &self,
        letters: &[(&LinkRow, Kind)],
        out: &std::path::Path,
        again: bool,
        json: bool,
    ) -> Result<Vec<Posted>, String> {
        let mut mailer = Mailer::new(&self.settings)?;
        let batch = Batch {
            settings: &self.settings,
            archive: &self.archive,
            words: &self.roll.school.config.mail,
            school_name: &self.roll.school.config.name,
            year: &self.year.to_string(),
            out,
            again,
        };
        post(&batch, letters, &mut mailer, |posted| report(posted, json))
    }
}

/// Lists the people with no address (their form is printed instead).
pub(super) fn say_no_address(plan: &Plan) {
    if !plan.no_address.is_empty() {
        eprintln!(
            "no e-mail address on the roster, so print their form: {}",
            plan.no_address.join(", ")
        );
    }
}

/// A dry run's lines: who would be mailed, and who would not and why.
pub(super) fn say_plan(plan: &Plan, json: bool) {
    for planned in &plan.people {
        let detail = match &planned.expect {
            Expect::RefusedBefore(words) => format!("this address was refused before ({words})"),
            Expect::Send | Expect::AlreadySent => planned.kind.name(),
        };
        let posted = Posted {
            to: planned.email.clone(),
            name: planned.row.name.clone(),
            form_id: planned.row.form_id.clone().unwrap_or_default(),
            outcome: planned.expect.outcome().into(),
            detail,
            message_id: String::new(),
        };
        report(&posted, json);
    }
}

/// One person's line: tab-separated for people, or a JSON object.
pub(super) fn report(posted: &Posted, json: bool) {
    if json {
        json_line(posted);
        return;
    }
    let said = match posted.detail.is_empty() {
        true => String::new(),
        false => format!(": {}", posted.detail),
    };
    outln!(
        "{}\t{} <{}>\t{}{said}",
        posted.outcome,
        posted.name,
        posted.to,
        posted.form_id
    );
}

pub fn run(args: SendArgs) -> Result<Outcome, String> {
    let ready = ready(&Asked {
        mail: &args.mailing.mail,
        public_url: args.mailing.public_url.as_deref(),
        year: args.year.as_deref(),
        archive: &args.mailing.archive,
        schools: &args.dir.schools,
        school: &args.school,
        dry_run: args.dry_run,
        window: true,
    })?;
    let year = ready.year.to_string();
    let plan = plan::invitations(&ready.archive, &ready.roll, &args.to, args.again)?;
    say_no_address(&plan);
    if args.dry_run {
        say_plan(&plan, args.mailing.json);
        eprintln!(
            "{} invitation(s) would be sent for {} {year}; nothing was sent",
            plan.to_send().count(),
            args.school
        );
        return Ok(Outcome::Success);
    }
    // Everyone goes to the post, which claims each letter and so says again
    // who was invited before (a runner may have sent one since the plan).
    let rows: Vec<StatusRow> = plan.people.iter().map(|p| p.row.clone()).collect();
    let links = ready.links(&args.mailing.archive, &rows, "aup send")?;
    let letters: Vec<(&LinkRow, Kind)> = links.iter().map(|l| (l, Kind::Invitation)).collect();
    let posted = ready.post(&letters, &args.out, args.again, args.mailing.json)?;
    let sent = posted.iter().filter(|p| p.outcome == "sent").count();
    eprintln!("{sent} invitation(s) sent for {} {year}", args.school);
    Ok(match posted.iter().any(Posted::is_problem) {
        false => Outcome::Success,
        true => Outcome::SomeFailed,
    })
}
