//! Times as the office reads them: the index keeps UTC (RFC 3339); pages, the
//! evidence page and anything else a person reads show UK dates and UK time, GMT in winter and BST (UTC+1) from 01:00 UTC on the last Sunday of
//! March to 01:00 UTC on the last Sunday of October (the Summer Time Order 2002).

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// "24/11/2026 09:11" in UK time, from an RFC 3339 time; text that is not one is
/// shown as it is.
pub fn uk_local(text: &str) -> String {
    let Some(local) = uk_time(text) else {
        return text.to_owned();
    };
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}",
        local.day(),
        local.month() as u8,
        local.year(),
        local.hour(),
        local.minute()
    )
}

/// "14 September 2025", from an RFC 3339 time (its UK day) or a plain
/// `YYYY-MM-DD` date; text that is neither is shown as it is.
pub fn uk_date_long(text: &str) -> String {
    match day_of(text) {
        Some(day) => format!("{} {} {}", day.day(), day.month(), day.year()),
        None => text.to_owned(),
    }
}

/// "14/09/2025", for tables: from an RFC 3339 time (its UK day) or a plain
/// `YYYY-MM-DD` date; text that is neither is shown as it is.
pub fn uk_date(text: &str) -> String {
    match day_of(text) {
        Some(day) => format!(
            "{:02}/{:02}/{:04}",
            day.day(),
            day.month() as u8,
            day.year()
        ),
        None => text.to_owned(),
    }
}

/// The UK day of an RFC 3339 time as `YYYY-MM-DD`, for data (JSON); text that
/// is not one is given back as its first ten characters.
pub fn uk_day_iso(text: &str) -> String {
    match uk_time(text) {
        Some(local) => format!(
            "{:04}-{:02}-{:02}",
            local.year(),
            local.month() as u8,
            local.day()
        ),
        None => text.chars().take(10).collect(),
    }
}

fn day_of(text: &str) -> Option<Date> {
    if let Some(local) = uk_time(text) {
        return Some(local.date());
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.get(..10).unwrap_or(text), &format).ok()
}

/// "3 December 2026, 08:19 UK time", from an RFC 3339 time; text that is not
/// one is shown as it is.
pub fn uk_moment(text: &str) -> String {
    match uk_time(text) {
        Some(local) => format!(
            "{} {} {}, {:02}:{:02} UK time",
            local.day(),
            local.month(),
            local.year(),
            local.hour(),
            local.minute()
        ),
        None => text.to_owned(),
    }
}

/// Now, for the mail's schedule and caps. `AUP_NOW` (RFC 3339) stands in
/// for the clock, so tests move time instead of waiting for it.
pub fn now() -> OffsetDateTime {
    std::env::var("AUP_NOW")
        .ok()
        .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok())
        .unwrap_or_else(OffsetDateTime::now_utc)
}

/// The wall clock's now as RFC 3339 in UTC, as the index keeps moments
/// (never the test clock: a record says when it really happened).
pub fn now_text() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Now on a UK clock (for the mail's sending window).
pub fn uk_now() -> time::PrimitiveDateTime {
    let now = now();
    let local = in_uk(now).unwrap_or(now);
    PrimitiveDateTime::new(local.date(), local.time())
}

/// An RFC 3339 time in UK time.
fn uk_time(text: &str) -> Option<OffsetDateTime> {
    in_uk(OffsetDateTime::parse(text, &Rfc3339).ok()?)
}

/// A moment in UK time.
fn in_uk(at: OffsetDateTime) -> Option<OffsetDateTime> {
    // Checked: a time at the very end of year 9999 has no UK time.
    let at = at.checked_to_offset(UtcOffset::UTC)?;
    let offset = match summer_time(at) {
        true => UtcOffset::from_hms(1, 0, 0).unwrap_or(UtcOffset::UTC),
        false => UtcOffset::UTC,
    };
    at.checked_to_offset(offset)
}

fn summer_time(at: OffsetDateTime) -> bool {
    let change = |month: Month| {
        let last = Date::from_calendar_date(at.year(), month, 31).ok()?;
        let mut day = last;
        while day.weekday() != Weekday::Sunday {
            day = day.previous_day()?;
        }
        Some(PrimitiveDateTime::new(day, Time::from_hms(1, 0, 0).ok()?).assume_utc())
    };
    match (change(Month::March), change(Month::October)) {
        (Some(starts), Some(ends)) => at >= starts && at < ends,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmt_in_winter_bst_in_summer_changing_at_one_utc() {
        assert_eq!(uk_local("2026-11-24T09:11:42.5Z"), "24/11/2026 09:11");
        assert_eq!(uk_local("2026-07-01T12:00:00Z"), "01/07/2026 13:00");
        // 2026: summer time from 29 March to 25 October, 01:00 UTC.
        assert_eq!(uk_local("2026-03-29T00:59:00Z"), "29/03/2026 00:59");
        assert_eq!(uk_local("2026-03-29T01:00:00Z"), "29/03/2026 02:00");
        assert_eq!(uk_local("2026-10-25T00:59:00Z"), "25/10/2026 01:59");
        assert_eq!(uk_local("2026-10-25T01:00:00Z"), "25/10/2026 01:00");
        assert_eq!(uk_local("2026-10-25T02:00:00+01:00"), "25/10/2026 01:00");
        assert_eq!(uk_local("not a time"), "not a time");
    }

    #[test]
    fn dates_are_written_the_uk_way() {
        assert_eq!(uk_date_long("2025-09-14"), "14 September 2025");
        assert_eq!(uk_date("2025-09-14"), "14/09/2025");
        // 23:30 UTC on 31 August in summer is already 1 September in the UK.
        assert_eq!(uk_date_long("2025-08-31T23:30:00Z"), "1 September 2025");
        assert_eq!(uk_date("2026-12-03T08:19:07.709307222Z"), "03/12/2026");
        assert_eq!(uk_date("14/09/2025"), "14/09/2025");
        assert_eq!(uk_day_iso("2025-08-31T23:30:00Z"), "2025-09-01");
        assert_eq!(
            uk_moment("2026-12-03T08:19:07.709307222Z"),
            "3 December 2026, 08:19 UK time"
        );
    }
}
