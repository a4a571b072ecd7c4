//! Times as the office reads them: the index keeps UTC (RFC 3339); pages show
//! UK time, GMT in winter and BST (UTC+1) from 01:00 UTC on the last Sunday of
//! March to 01:00 UTC on the last Sunday of October (the Summer Time Order 2002).

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// "2026-11-24 09:11" in UK time, from an RFC 3339 time; text that is not one is
/// shown as it is.
pub fn uk_local(text: &str) -> String {
    let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) else {
        return text.to_owned();
    };
    let at = at.to_offset(UtcOffset::UTC);
    let offset = match summer_time(at) {
        true => UtcOffset::from_hms(1, 0, 0).unwrap_or(UtcOffset::UTC),
        false => UtcOffset::UTC,
    };
    let local = at.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        local.year(),
        local.month() as u8,
        local.day(),
        local.hour(),
        local.minute()
    )
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
        assert_eq!(uk_local("2026-11-24T09:11:42.5Z"), "2026-11-24 09:11");
        assert_eq!(uk_local("2026-07-01T12:00:00Z"), "2026-07-01 13:00");
        // 2026: summer time from 29 March to 25 October, 01:00 UTC.
        assert_eq!(uk_local("2026-03-29T00:59:00Z"), "2026-03-29 00:59");
        assert_eq!(uk_local("2026-03-29T01:00:00Z"), "2026-03-29 02:00");
        assert_eq!(uk_local("2026-10-25T00:59:00Z"), "2026-10-25 01:59");
        assert_eq!(uk_local("2026-10-25T01:00:00Z"), "2026-10-25 01:00");
        assert_eq!(uk_local("2026-10-25T02:00:00+01:00"), "2026-10-25 01:00");
        assert_eq!(uk_local("not a time"), "not a time");
    }
}
