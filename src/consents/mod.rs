//! A parent's Yes/No consents (photos on the website, in the press...): the
//! answer read from each return, however it came ([`reading`]: ticks on paper,
//! check boxes in a PDF, the signing page), and the register a class teacher
//! works from ([`register`]): each pupil's answer to each consent, an unclear
//! one settled by the office.
//!
//! A consent is given only by a clear Yes on a signed return: no answer, a
//! return not signed, an unclear tick not yet settled, all count as no.

pub mod reading;
pub mod register;

use serde::{Deserialize, Serialize};

use crate::form::FieldSpec;

/// One answer to one consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Yes,
    No,
    /// Not clearly one answer (both ticked, struck through, scribbled over, a faint
    /// mark): for the office to settle, never guessed.
    Unclear,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::No => "no",
            Self::Unclear => "unclear",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Yes, Self::No, Self::Unclear]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A consent's answer as read from one return, with how it was read (the ink
/// in each box, or the check box's state) for the office to check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentAnswer {
    /// The consent's id, as the school's YAML names it.
    pub consent: String,
    pub answer: Answer,
    pub how: String,
}

const PREFIX: &str = "consent_";

/// The consent ids a form asks, in the order its boxes were laid out: each
/// has a `consent_<id>_yes` and a `consent_<id>_no` box.
pub fn consent_ids(boxes: &[FieldSpec]) -> Vec<String> {
    boxes
        .iter()
        .filter_map(|b| b.name.strip_prefix(PREFIX)?.strip_suffix("_yes"))
        .filter(|id| boxes.iter().any(|b| b.name == no_box(id)))
        .map(str::to_owned)
        .collect()
}

/// The field of the Yes answer to consent `id`.
pub fn yes_box(id: &str) -> String {
    format!("{PREFIX}{id}_yes")
}

/// The field of the No answer to consent `id`.
pub fn no_box(id: &str) -> String {
    format!("{PREFIX}{id}_no")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Rect;

    fn field(name: &str) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            kind: "check".into(),
            page: 1,
            rect: Rect {
                x0: 0.0,
                y0: 0.0,
                x1: 1.0,
                y1: 1.0,
            },
        }
    }

    #[test]
    fn a_consent_is_asked_when_the_form_has_both_its_boxes() {
        let boxes = [
            field("parent_signature"),
            field("consent_press_yes"),
            field("consent_press_no"),
            field("consent_website_yes"),
            field("consent_website_no"),
            field("consent_half_yes"),
        ];
        assert_eq!(consent_ids(&boxes), ["press", "website"]);
    }

    #[test]
    fn answers_are_the_words_the_index_and_csv_keep() {
        for answer in [Answer::Yes, Answer::No, Answer::Unclear] {
            assert_eq!(Answer::parse(answer.as_str()), Some(answer));
        }
        assert_eq!(Answer::parse(" YES "), Some(Answer::Yes));
        assert_eq!(Answer::parse("maybe"), None);
    }
}
