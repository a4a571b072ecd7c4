//! Dates and academic years. A form belongs to an academic year (September to
//! August in England), and the date printed on it is fixed per run so that the same
//! inputs always give the same bytes.

use std::fmt;
use std::str::FromStr;

use time::{Date, Month, OffsetDateTime};

/// An English academic year, 1 September to 31 August, written `2025-26`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AcademicYear {
    /// The calendar year in which it starts.
    pub start: i32,
}

impl AcademicYear {
    /// The academic year `date` falls in.
    pub fn containing(date: Date) -> Self {
        let start = match date.month() as u8 >= Month::September as u8 {
            true => date.year(),
            false => date.year() - 1,
        };
        Self { start }
    }

    /// 1 September, the year's first day: the date a policy for the year carries,
    /// so that generating it on another day of the year gives the same bytes.
    pub fn first_day(&self) -> Date {
        Date::from_calendar_date(self.start, Month::September, 1).unwrap_or(Date::MIN)
    }

    /// 31 August, the year's last day.
    pub fn last_day(&self) -> Date {
        Date::from_calendar_date(self.start + 1, Month::August, 31).unwrap_or(Date::MAX)
    }

    /// The short code used in form ids: `2526` for 2025-26.
    pub fn code(&self) -> String {
        format!("{:02}{:02}", self.start % 100, (self.start + 1) % 100)
    }
}

impl fmt::Display for AcademicYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.start, (self.start + 1) % 100)
    }
}

impl FromStr for AcademicYear {
    type Err = String;

    /// Accepts `2025-26`, `2025/26` and `2025-2026`.
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{text}` is not an academic year: write it like 2025-26 (September 2025 to August 2026)"
            )
        };
        let (first, second) = text.split_once(['-', '/']).ok_or_else(bad)?;
        let start: i32 = first.parse().map_err(|_| bad())?;
        if !(2000..=2200).contains(&start) || first.len() != 4 {
            return Err(bad());
        }
        let end_ok = match second.len() {
            2 => second.parse::<i32>().ok() == Some((start + 1) % 100),
            4 => second.parse::<i32>().ok() == Some(start + 1),
            _ => false,
        };
        match end_ok {
            true => Ok(Self { start }),
            false => Err(format!(
                "`{text}`: an academic year runs into the next calendar year, e.g. {start}-{:02}",
                (start + 1) % 100
            )),
        }
    }
}

/// The date a run of `aup generate` stamps on its forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueDate(pub Date);

impl IssueDate {
    /// `--date` wins, then SOURCE_DATE_EPOCH (the reproducible-builds convention),
    /// then today's date in UTC.
    pub fn choose(explicit: Option<&str>, source_date_epoch: Option<&str>) -> Result<Self, String> {
        if let Some(text) = explicit {
            return parse_iso_date(text).map(Self);
        }
        if let Some(epoch) = source_date_epoch.filter(|s| !s.trim().is_empty()) {
            let seconds: i64 = epoch.trim().parse().map_err(|_| {
                format!("SOURCE_DATE_EPOCH=`{epoch}` is not a number of seconds since 1970")
            })?;
            let at = OffsetDateTime::from_unix_timestamp(seconds)
                .map_err(|_| format!("SOURCE_DATE_EPOCH=`{epoch}` is out of range"))?;
            return Ok(Self(at.date()));
        }
        Ok(Self(OffsetDateTime::now_utc().date()))
    }
}

/// `--date` as clap checks it: a date that does not parse is a usage error
/// (exit 2, with the usage line), not a failed run.
pub fn iso_date_arg(text: &str) -> Result<String, String> {
    parse_iso_date(text).map(|_| text.trim().to_owned())
}

/// `--year` and `--before` as clap checks them, like [`iso_date_arg`].
pub fn academic_year_arg(text: &str) -> Result<String, String> {
    text.parse::<AcademicYear>().map(|_| text.trim().to_owned())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_iso_date(text: &str) -> Result<Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format)
        .map_err(|_| format!("`{text}` is not a date: write it as YYYY-MM-DD, e.g. 2025-01-26"))
}

/// "26th January 2025", the way school letters write dates.
pub fn long_date(date: Date) -> String {
    let day = date.day();
    let suffix = match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{day}{suffix} {} {}", date.month(), date.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn academic_year_turns_in_september() {
        assert_eq!(AcademicYear::containing(date!(2026 - 08 - 31)).start, 2025);
        assert_eq!(AcademicYear::containing(date!(2026 - 09 - 01)).start, 2026);
        assert_eq!(AcademicYear { start: 2025 }.to_string(), "2025-26");
        assert_eq!(AcademicYear { start: 2099 }.to_string(), "2099-00");
        assert_eq!(AcademicYear { start: 2025 }.code(), "2526");
    }

    #[test]
    fn academic_year_parses_common_spellings() {
        for text in ["2025-26", "2025/26", "2025-2026"] {
            assert_eq!(
                text.parse::<AcademicYear>(),
                Ok(AcademicYear { start: 2025 })
            );
        }
        for text in ["2025-27", "25-26", "2025", "abcd-ef", "2025-2027"] {
            assert!(text.parse::<AcademicYear>().is_err(), "{text}");
        }
    }

    #[test]
    fn long_dates_have_ordinals() {
        assert_eq!(long_date(date!(2025 - 01 - 26)), "26th January 2025");
        assert_eq!(long_date(date!(2025 - 03 - 01)), "1st March 2025");
        assert_eq!(long_date(date!(2025 - 03 - 22)), "22nd March 2025");
        assert_eq!(long_date(date!(2025 - 03 - 13)), "13th March 2025");
    }

    #[test]
    fn issue_date_precedence() {
        let d = IssueDate::choose(Some("2025-09-01"), Some("0")).unwrap();
        assert_eq!(d.0, date!(2025 - 09 - 01));
        let d = IssueDate::choose(None, Some("1757000000")).unwrap();
        assert_eq!(d.0, date!(2025 - 09 - 04));
        assert!(IssueDate::choose(None, Some("soon")).is_err());
        assert!(IssueDate::choose(Some("1/9/2025"), None).is_err());
    }
}
