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
    /// A form of a school the uploading account may not file for.
    OtherSchool,
}

impl Reason {
    pub const ALL: [Reason; 12] = [
        Self::NoQr,
        Self::BadCheck,
        Self::UnknownForm,
        Self::DuplicatePage,
        Self::UnsupportedFilter,
        Self::Encrypted,
        Self::TooLarge,
        Self::Unreadable,
        Self::Blank,
        Self::ReaderFailed,
        Self::Timeout,
        Self::OtherSchool,
    ];

    /// A reason as the index stores it; `None` for a code this version does not know.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The reason as an office reads it: one sentence that says what happened
    /// and what to do. The reader's own words (a decoder's error, a byte
    /// offset) are details, for whoever looks after aup.
    pub fn sentence(self) -> &'static str {
        match self {
            Self::NoQr => {
                "No aup code could be read on this page. It may be another document, or the code may be smudged, folded or cut off. Find whose form it is and assign it, or scan it again."
            }
            Self::BadCheck => {
                "An aup code was found but did not read correctly (a smudge or a fold across it). Find whose form it is and assign it, or scan it again."
            }
            Self::UnknownForm => {
                "This is an aup form, but not one issued from this archive (another school's system, or a test print)."
            }
            Self::DuplicatePage => {
                "This page came twice. The first copy was filed; this one is kept here in case it is the better scan."
            }
            Self::UnsupportedFilter => {
                "The file stores its pages in a way aup cannot read. Scan it again as PDF, JPEG or PNG."
            }
            Self::Encrypted => {
                "The PDF is protected with a password. Open it, save a copy without the password, and upload that."
            }
            Self::TooLarge => {
                "The file is too large to be a scan of forms. Scan fewer pages at a time."
            }
            Self::Unreadable => {
                "The file is not a readable PDF or image. It may be damaged, or it was still being copied."
            }
            Self::Blank => "Every page of the file is blank, so there was nothing to file.",
            Self::ReaderFailed => {
                "The file could not be read. It may be damaged: try scanning or saving it again."
            }
            Self::Timeout => {
                "Reading the file took too long. It may be damaged or very large: try scanning fewer pages at a time."
            }
            Self::OtherSchool => {
                "This is a form of a school that the account which uploaded it does not cover, so it was not filed. Someone whose account covers every school can assign it."
            }
        }
    }

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
            Self::OtherSchool => "other_school",
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
        for reason in Reason::ALL {
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
            assert_eq!(Reason::parse(reason.as_str()), Some(reason));
            let sentence = reason.sentence();
            assert!(
                sentence.ends_with('.') && !sentence.contains('_'),
                "{sentence}"
            );
        }
    }
}
