//! The words results are given in: a return's verdict and a quarantined file's
//! reason. They are enums inside (a typo is a compile error, a new case must be
//! handled everywhere) and today's strings outside: in `--json`, in the index, in
//! quarantine sidecars.

use serde::{Deserialize, Serialize};

/// What ingest decided about a return (DESIGN.md, "Verdicts of ingest").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    Incomplete,
    Outdated,
    Rejected,
    Unidentified,
    Duplicate,
}

impl Verdict {
    pub const ALL: [Verdict; 6] = [
        Self::Accepted,
        Self::Incomplete,
        Self::Outdated,
        Self::Rejected,
        Self::Unidentified,
        Self::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Incomplete => "incomplete",
            Self::Outdated => "outdated",
            Self::Rejected => "rejected",
            Self::Unidentified => "unidentified",
            Self::Duplicate => "duplicate",
        }
    }

    /// A verdict as the index stores it; `None` for a word this version does not know.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a file or a page went to quarantine: the code its sidecar carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    NoQr,
    BadCheck,
    UnknownForm,
    DuplicatePage,
    UnsupportedFilter,
    Encrypted,
    TooLarge,
    Unreadable,
    Blank,
    /// The reader process stopped on the file: a crash, a limit, a signal.
    ReaderFailed,
    /// The reader process ran past its deadline.
    Timeout,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoQr => "no_qr",
            Self::BadCheck => "bad_check",
            Self::UnknownForm => "unknown_form",
            Self::DuplicatePage => "duplicate_page",
            Self::UnsupportedFilter => "unsupported_filter",
            Self::Encrypted => "encrypted",
            Self::TooLarge => "too_large",
            Self::Unreadable => "unreadable",
            Self::Blank => "blank",
            Self::ReaderFailed => "reader_failed",
            Self::Timeout => "timeout",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_keep_their_strings_in_json_and_the_index() {
        for verdict in Verdict::ALL {
            let json = serde_json::to_string(&verdict).unwrap();
            assert_eq!(json, format!("\"{}\"", verdict.as_str()));
            assert_eq!(Verdict::parse(verdict.as_str()), Some(verdict));
        }
        assert_eq!(
            serde_json::to_string(&Reason::ReaderFailed).unwrap(),
            "\"reader_failed\""
        );
    }
}
