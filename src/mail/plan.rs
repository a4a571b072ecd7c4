//! Who a run of `aup send` or `aup remind` would mail now, and who it would
//! pass over and why: what a dry run prints and what the office's mail page
//! counts before the head presses the button. The mail log's claim stays the
//! authority when the letters go (a second runner may have sent one since).

use time::OffsetDateTime;

use super::letter::Kind;
use super::reminders;
use crate::archive::{Archive, MailEntry};
use crate::online::mail_merge::Roll;
use crate::report::{State, StatusRow};

/// What a run would do for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Send,
    /// An invitation went (or is going) to the form already.
    AlreadySent,
    /// The server refused this address for good before: its words.
    RefusedBefore(String),
}

impl Expect {
    /// As the commands' output says it.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Send => "would_send",
            Self::AlreadySent => "already_sent",
            Self::RefusedBefore(_) => "refused_before",
        }
    }
}

/// One person's line of a plan.
#[derive(Debug, Clone)]
pub struct Planned {
    pub row: StatusRow,
    pub email: String,
    pub kind: Kind,
    pub expect: Expect,
}

/// The run's plan.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Everyone it would consider, in roster order.
    pub people: Vec<Planned>,
    /// Yet to sign, with no address on the roster: their form is printed.
    pub no_address: Vec<String>,
}

impl Plan {
    /// Those it would mail.
    pub fn to_send(&self) -> impl Iterator<Item = &Planned> {
        self.people.iter().filter(|p| p.expect == Expect::Send)
    }
}

/// The invitations: everyone yet to sign (those named in `to`, when any).
pub fn invitations(
    archive: &Archive,
    roll: &Roll,
    to: &[String],
    again: bool,
) -> Result<Plan, String> {
    let (with, no_address) = yet_to_sign(roll, to)?;
    let mut people = Vec::new();
    for (row, email) in with {
        let log = log_of(archive, row)?;
        let invited = log
            .iter()
            .any(|m| m.kind == "invitation" && matches!(m.outcome.as_str(), "sending" | "sent"));
        let refused = log
            .iter()
            .rev()
            .find(|m| m.recipient == email && m.outcome == "refused");
        let expect = match (invited && !again, refused) {
            (true, _) => Expect::AlreadySent,
            (false, Some(entry)) => Expect::RefusedBefore(entry.detail.clone()),
            (false, None) => Expect::Send,
        };
        people.push(Planned {
            row: row.clone(),
            email: email.to_owned(),
            kind: Kind::Invitation,
            expect,
        });
    }
    Ok(Plan { people, no_address })
}

/// The reminders due at `now` by the school's schedule.
pub fn reminders(archive: &Archive, roll: &Roll, now: OffsetDateTime) -> Result<Plan, String> {
    let (with, no_address) = yet_to_sign(roll, &[])?;
    let schedule = &roll.school.config.mail.reminders;
    let mut people = Vec::new();
    for (row, email) in with {
        if let Some(kind) = reminders::due(&log_of(archive, row)?, schedule, now) {
            people.push(Planned {
                row: row.clone(),
                email: email.to_owned(),
                kind,
                expect: Expect::Send,
            });
        }
    }
    Ok(Plan { people, no_address })
}

fn log_of(archive: &Archive, row: &StatusRow) -> Result<Vec<MailEntry>, String> {
    archive
        .mail_of(row.form_id.as_deref().unwrap_or_default())
        .map_err(|e| e.to_string())
}

/// People yet to sign with their address, and the names of those without one.
type YetToSign<'a> = (Vec<(&'a StatusRow, &'a str)>, Vec<String>);

/// Everyone on the roll with a current form who has not signed (those named
/// in `to`, when any).
fn yet_to_sign<'a>(roll: &'a Roll, to: &[String]) -> Result<YetToSign<'a>, String> {
    for name in to {
        if !roll
            .rows
            .iter()
            .any(|r| r.on_roster && r.name.eq_ignore_ascii_case(name.trim()))
        {
            return Err(format!("--to `{name}` is nobody on the roster"));
        }
    }
    let mut with = Vec::new();
    let mut without = Vec::new();
    let chosen = roll
        .rows
        .iter()
        .filter(|r| r.on_roster && r.form_id.is_some() && r.state != State::Signed)
        .filter(|r| to.is_empty() || to.iter().any(|n| n.trim().eq_ignore_ascii_case(&r.name)));
    for row in chosen {
        match roll.email_of(row) {
            Some(email) => with.push((row, email)),
            None => without.push(row.name.clone()),
        }
    }
    Ok((with, without))
}
