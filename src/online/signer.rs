//! Who signs a form on the signing page, and what the page asks them: a
//! member of staff (or a visitor) gives their role; a parent or carer gives
//! their name and answers each consent. A form two people sign (a pupil and a
//! parent) is signed on paper: one person at one screen cannot sign for both.

use super::fill::{SignatureMark, Submission};
use crate::archive::RegisteredForm;
use crate::consents::{self, Answer};
use crate::form::font::FONT;

/// Who signs a form online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// The person the form was issued to: staff, governors, visitors.
    Staff,
    /// A parent or carer, for the child the form was issued for, answering
    /// the consents the form asks (their ids, in the form's order).
    Parent { consents: Vec<String> },
}

impl Signer {
    /// `None` for a form the signing page cannot sign: one with a pupil's
    /// signature besides a parent's.
    pub fn of(form: &RegisteredForm) -> Option<Self> {
        let has = |field: &str| form.boxes.iter().any(|b| b.name == field);
        match (
            has("signer_signature"),
            has("parent_signature"),
            has("pupil_signature"),
        ) {
            (true, _, _) => Some(Self::Staff),
            (false, true, false) => Some(Self::Parent {
                consents: consents::consent_ids(&form.boxes),
            }),
            _ => None,
        }
    }

    /// What the person typed and chose on the page, checked: the staff's
    /// role; a parent's name (in letters the form's font shows) and a Yes or
    /// No to every consent (`answers` keyed `consent_<id>`). The error is the
    /// sentence the page shows.
    pub fn given<'a>(
        &self,
        role: &'a str,
        parent_name: &'a str,
        answers: &std::collections::HashMap<String, String>,
    ) -> Result<Given<'a>, &'static str> {
        match self {
            Self::Staff => {
                let role = role.trim();
                if role.is_empty() || role.chars().count() > 80 {
                    return Err("Give your role (at most 80 characters).");
                }
                Ok(Given::Staff { role })
            }
            Self::Parent { consents } => {
                let name = parent_name.trim();
                if name.chars().count() < 2 || name.chars().count() > 80 {
                    return Err("Give your name (at most 80 characters).");
                }
                if !name.chars().all(|c| FONT.has(c) && !c.is_control()) {
                    return Err(
                        "Your name has characters the form's font cannot show: write it in plain letters.",
                    );
                }
                let answers = consents
                    .iter()
                    .map(|id| {
                        answers
                            .get(&format!("consent_{id}"))
                            .and_then(|a| Answer::parse(a))
                            .filter(|a| *a != Answer::Unclear)
                            .map(|answer| (id.clone(), answer))
                            .ok_or(
                                "Answer Yes or No to each question about photographs and videos.",
                            )
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Given::Parent { name, answers })
            }
        }
    }
}

/// What the person gave on the page, checked.
pub enum Given<'a> {
    Staff {
        role: &'a str,
    },
    Parent {
        name: &'a str,
        /// Each consent's answer, yes or no.
        answers: Vec<(String, Answer)>,
    },
}

impl<'a> Given<'a> {
    /// The fields to write into the form, dated `date`.
    pub fn submission(&'a self, date: &'a str, signature: &'a SignatureMark) -> Submission<'a> {
        match self {
            Self::Staff { role } => Submission::staff(role, date, signature),
            Self::Parent { name, answers } => Submission {
                texts: vec![("parent_name", name), ("parent_date", date)],
                signature_field: "parent_signature",
                signature,
                ticked: answers
                    .iter()
                    .map(|(id, answer)| match answer {
                        Answer::Yes => consents::yes_box(id),
                        _ => consents::no_box(id),
                    })
                    .collect(),
            },
        }
    }

    /// The answers as the seal's reason says them: "website yes, press no".
    pub fn answers_said(&self) -> Option<String> {
        match self {
            Self::Parent { answers, .. } if !answers.is_empty() => Some(
                answers
                    .iter()
                    .map(|(id, answer)| format!("{id} {answer}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parent_answers_every_consent_yes_or_no() {
        let parent = Signer::Parent {
            consents: vec!["website".into(), "press".into()],
        };
        let mut answers = std::collections::HashMap::new();
        answers.insert("consent_website".to_owned(), "yes".to_owned());
        assert!(
            parent.given("", "Tom Hart", &answers).is_err(),
            "press unanswered"
        );
        answers.insert("consent_press".to_owned(), "unclear".to_owned());
        assert!(
            parent.given("", "Tom Hart", &answers).is_err(),
            "unclear is no answer"
        );
        answers.insert("consent_press".to_owned(), "no".to_owned());
        match parent.given("", " Tom Hart ", &answers) {
            Ok(Given::Parent { name, answers }) => {
                assert_eq!(name, "Tom Hart");
                assert_eq!(
                    answers,
                    [
                        ("website".to_owned(), Answer::Yes),
                        ("press".to_owned(), Answer::No)
                    ]
                );
            }
            _ => panic!("a parent's answers were refused"),
        }
        assert!(
            parent.given("", "T", &answers).is_err(),
            "a name of one letter"
        );
        assert!(Signer::Staff.given("  ", "", &answers).is_err(), "no role");
    }
}
