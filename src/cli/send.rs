//! `aup send`: mails each person who has not signed their invitation, with
//! their personal signing link (and their form, where the school attaches it).

use std::path::PathBuf;

use anstream::eprintln;
use clap::Args;
use serde_json::json;

use super::{Outcome, SchoolsDir, json_line};
use crate::archive::{Archive, Claim, Claimed};
use crate::config::AcademicYear;
use crate::mail::invitation::{self, Invitation};
use crate::mail::send::{Mailer, Sent};
use crate::mail::settings::MailSettings;
use crate::online::links::LinkKey;
use crate::online::mail_merge::{self, Roll, Wanted};
use crate::report::{State, StatusRow};

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
    /// The address people reach `aup serve` at; by default mail.yaml's
    /// `public_url`.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// One JSON object per person (to, name, form_id, outcome, detail,
    /// message_id) instead of lines for a person.
    #[arg(long)]
    pub json: bool,
    /// The mail settings.
    #[arg(long, value_name = "FILE", default_value = "mail.yaml")]
    pub mail: PathBuf,
    /// The archive folder (its index holds the links and the mail log).
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
    /// Where `aup generate` wrote the forms (for attaching them).
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub dir: SchoolsDir,
}

pub fn run(args: SendArgs) -> Result<Outcome, String> {
    let settings = MailSettings::load(&args.mail).map_err(|e| e.to_string())?;
    let public_url = args
        .public_url
        .clone()
        .or_else(|| settings.public_url.clone())
        .ok_or("give --public-url (or public_url in the mail settings): the address people reach aup serve at")?;
    mail_merge::check_public_url(&public_url)?;
    let now = crate::clock::uk_now();
    if !args.dry_run && !settings.sending.open_at(now) {
        return Err(format!(
            "it is {} UK time, outside the sending window ({} {}–{}, UK time; `sending:` in {}): nothing was sent. Run aup send again then.",
            now.time()
                .format(&time::macros::format_description!("[hour]:[minute]"))
                .unwrap_or_default(),
            settings
                .sending
                .days
                .iter()
                .map(|d| format!("{d:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(","),
            settings.sending.from,
            settings.sending.until,
            args.mail.display()
        ));
    }
    let today = time::OffsetDateTime::now_utc().date();
    let year = match &args.year {
        Some(text) => text.parse::<AcademicYear>()?,
        None => AcademicYear::containing(today),
    };
    let year_text = year.to_string();
    let school = args.school.as_str();

    let lock = crate::archive::lock_waiting(&args.archive).map_err(|e| e.to_string())?;
    let archive = Archive::open(&args.archive).map_err(|e| e.to_string())?;
    let roll = Roll::read(&archive, &args.dir.schools, school, &year_text)?;
    let wanted_name = |row: &StatusRow| {
        args.to.is_empty()
            || args
                .to
                .iter()
                .any(|n| n.trim().eq_ignore_ascii_case(&row.name))
    };
    for name in &args.to {
        if !roll
            .rows
            .iter()
            .any(|r| r.on_roster && r.name.eq_ignore_ascii_case(name.trim()))
        {
            return Err(format!("--to `{name}` is nobody on {school}'s roster"));
        }
    }
    let outstanding: Vec<&StatusRow> = roll
        .rows
        .iter()
        .filter(|r| r.on_roster && r.form_id.is_some() && r.state != State::Signed)
        .filter(|r| wanted_name(r))
        .collect();
    let (with_address, without): (Vec<&StatusRow>, Vec<&StatusRow>) = outstanding
        .into_iter()
        .partition(|r| roll.email_of(r).is_some());
    if !without.is_empty() {
        eprintln!(
            "no e-mail address on the roster, so print their form: {}",
            without
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let school_name = roll.school.config.name.clone();
    if args.dry_run {
        for row in &with_address {
            let email = roll.email_of(row).unwrap_or_default();
            report_one(
                &args,
                &row.name,
                email,
                row.form_id.as_deref().unwrap_or_default(),
                "would_send",
                "",
                "",
            );
        }
        eprintln!(
            "{} invitation(s) would be sent for {school} {year_text}; nothing was sent",
            with_address.len()
        );
        return Ok(Outcome::Success);
    }

    // Links for everyone to be mailed, made under the writers' lock; the
    // sending itself does not hold it (it takes minutes under the cap).
    let key = LinkKey::load_or_create(&args.archive)?;
    let expires = mail_merge::default_expiry(year, today).to_string();
    let chosen: Vec<StatusRow> = with_address.iter().map(|r| (*r).clone()).collect();
    let list = mail_merge::draw_up(
        &archive,
        &key,
        &chosen,
        &roll.people,
        &roll.current,
        &Wanted {
            public_url: &public_url,
            expires: &expires,
            all: false,
            renew: &[],
            by: "aup send",
        },
    )?;
    for (name, form_id, _) in &list.held_back {
        eprintln!(
            "not invited: {name} ({form_id}) said their last link was not theirs; check their address, then aup links --renew {form_id}"
        );
    }
    drop(lock);

    let day_ago = (time::OffsetDateTime::now_utc() - time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut sent_today = archive
        .mail_claimed_since(&day_ago)
        .map_err(|e| e.to_string())?;
    let mut mailer = Mailer::new(&settings)?;
    let words = &roll.school.config.mail;
    let (mut sent, mut problems) = (0, 0);
    for row in &list.rows {
        if sent_today >= settings.sending.per_day {
            eprintln!(
                "stopped at the daily cap of {} messages (sending.per_day); run aup send again tomorrow for the rest",
                settings.sending.per_day
            );
            problems += 1;
            break;
        }
        let form = match words.attach_form {
            true => attached_form(&archive, &args.out, &row.form_id)?,
            false => None,
        };
        let message_id = invitation::message_id(&row.form_id, &settings.from)?;
        let message = Invitation {
            from: &settings.from,
            reply_to: settings.reply_to.as_deref(),
            name: &row.name,
            email: &row.email,
            school: &school_name,
            year: &year_text,
            link: &row.link,
            expires: &crate::clock::uk_date_long(&row.expires),
            form_id: &row.form_id,
            form,
            message_id: &message_id,
        }
        .message(words);
        let message = match message {
            Ok(message) => message,
            Err(problem) => {
                report_one(
                    &args,
                    &row.name,
                    &row.email,
                    &row.form_id,
                    "not_sent",
                    &problem,
                    "",
                );
                problems += 1;
                continue;
            }
        };
        let claim = Claim {
            form_id: &row.form_id,
            kind: "invitation",
            recipient: &row.email,
            message_id: &message_id,
        };
        let id = match archive
            .claim_mail(&claim, args.again)
            .map_err(|e| e.to_string())?
        {
            Claimed::Claimed(id) => id,
            Claimed::AlreadySent => {
                report_one(
                    &args,
                    &row.name,
                    &row.email,
                    &row.form_id,
                    "already_invited",
                    "",
                    "",
                );
                continue;
            }
            Claimed::RefusedBefore(words) => {
                let hint =
                    format!("this address was refused before ({words}); correct it in the roster");
                report_one(
                    &args,
                    &row.name,
                    &row.email,
                    &row.form_id,
                    "refused_before",
                    &hint,
                    "",
                );
                problems += 1;
                continue;
            }
        };
        sent_today += 1;
        let answer = mailer.send(&message);
        archive
            .mail_outcome(id, answer.outcome(), answer.detail())
            .map_err(|e| e.to_string())?;
        match answer {
            Sent::Sent => sent += 1,
            _ => problems += 1,
        }
        report_one(
            &args,
            &row.name,
            &row.email,
            &row.form_id,
            answer.outcome(),
            answer.detail(),
            &message_id,
        );
    }
    eprintln!("{sent} invitation(s) sent for {school} {year_text}");
    Ok(match problems {
        0 => Outcome::Success,
        _ => Outcome::SomeFailed,
    })
}

/// The person's issued form as an attachment: its file name and bytes.
fn attached_form(
    archive: &Archive,
    out: &std::path::Path,
    form_id: &str,
) -> Result<Option<(String, Vec<u8>)>, String> {
    let form = archive
        .issued(form_id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("form {form_id} is not in the issue register"))?;
    let (path, bytes) = crate::issued::issued_form(out, &form).ok_or_else(|| {
        format!(
            "the school attaches forms, but {form_id} is not under {} as it was issued: run aup send with --out where aup generate wrote it",
            out.display()
        )
    })?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("form.pdf")
        .to_owned();
    Ok(Some((name, bytes)))
}

#[allow(clippy::too_many_arguments)]
fn report_one(
    args: &SendArgs,
    name: &str,
    email: &str,
    form_id: &str,
    outcome: &str,
    detail: &str,
    message_id: &str,
) {
    match args.json {
        true => json_line(&json!({
            "to": email,
            "name": name,
            "form_id": form_id,
            "outcome": outcome,
            "detail": detail,
            "message_id": message_id,
        })),
        false => {
            let said = match detail.is_empty() {
                true => String::new(),
                false => format!(": {detail}"),
            };
            outln!("{outcome}\t{name} <{email}>\t{form_id}{said}");
        }
    }
}
