//! Who is due a reminder: people whose invitation went out, who have not
//! signed the current version, and whose next reminder's day has come (the
//! school's schedule: by default 5 days after the invitation, then every 7,
//! at most 3). The reminder's number is part of its kind in the mail log
//! (`reminder-2`), so claiming it twice is impossible.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::letter::Kind;
use crate::archive::MailEntry;
use crate::config::schema::Reminders;

/// The reminder due now for a form with this mail log, if any.
pub fn due(log: &[MailEntry], schedule: &Reminders, now: OffsetDateTime) -> Option<Kind> {
    let invited = log
        .iter()
        .filter(|m| m.kind == "invitation" && m.outcome == "sent")
        .filter_map(|m| OffsetDateTime::parse(&m.at, &Rfc3339).ok())
        .min()?;
    let reminded = log
        .iter()
        .filter(|m| m.kind.starts_with("reminder-"))
        .filter(|m| matches!(m.outcome.as_str(), "sent" | "sending"))
        .count();
    let next = u16::try_from(reminded).ok()?.checked_add(1)?;
    if next > schedule.at_most {
        return None;
    }
    let days =
        i64::from(schedule.first_after_days) + i64::from(schedule.every_days) * i64::from(next - 1);
    (now >= invited + time::Duration::days(days)).then_some(Kind::Reminder(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, at: &str, outcome: &str) -> MailEntry {
        MailEntry {
            id: 0,
            form_id: "PAK-2526-0001-X".into(),
            kind: kind.into(),
            recipient: "a@b.example".into(),
            message_id: "<x@y>".into(),
            at: at.into(),
            outcome: outcome.into(),
            detail: String::new(),
        }
    }

    fn on(day: u8) -> OffsetDateTime {
        OffsetDateTime::parse(&format!("2026-12-{day:02}T09:00:00Z"), &Rfc3339).unwrap()
    }

    #[test]
    fn five_days_after_the_invitation_then_every_seven_at_most_three() {
        let schedule = Reminders::default();
        let mut log = vec![entry("invitation", "2026-12-01T09:00:00Z", "sent")];
        assert_eq!(due(&log, &schedule, on(5)), None);
        assert_eq!(due(&log, &schedule, on(6)), Some(Kind::Reminder(1)));
        log.push(entry("reminder-1", "2026-12-06T09:00:00Z", "sent"));
        assert_eq!(due(&log, &schedule, on(12)), None);
        assert_eq!(due(&log, &schedule, on(13)), Some(Kind::Reminder(2)));
        // A reminder the server kept putting off is tried again.
        log.push(entry("reminder-2", "2026-12-13T09:00:00Z", "failed"));
        assert_eq!(due(&log, &schedule, on(14)), Some(Kind::Reminder(2)));
        log.push(entry("reminder-2", "2026-12-14T09:00:00Z", "sent"));
        log.push(entry("reminder-3", "2026-12-20T09:00:00Z", "sent"));
        assert_eq!(due(&log, &schedule, on(31)), None);
    }

    #[test]
    fn no_reminder_without_an_invitation_that_went() {
        let schedule = Reminders::default();
        assert_eq!(due(&[], &schedule, on(30)), None);
        let refused = [entry("invitation", "2026-12-01T09:00:00Z", "refused")];
        assert_eq!(due(&refused, &schedule, on(30)), None);
        let none = Reminders {
            at_most: 0,
            ..Reminders::default()
        };
        let sent = [entry("invitation", "2026-12-01T09:00:00Z", "sent")];
        assert_eq!(due(&sent, &none, on(30)), None);
    }
}
