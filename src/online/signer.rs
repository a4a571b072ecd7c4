//! Who signs a form on the signing page, and what the page asks them: a
//! member of staff (or a visitor) gives their role; a parent or carer gives
//! their name and answers each consent. A form two people sign (a pupil and a
//! parent) is signed on paper: one person at one screen cannot sign for both.

use super::fill::{SignatureMark, Submission};
use crate::archive::RegisteredForm;
use crate::consents::{self, Answer};

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
