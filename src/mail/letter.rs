//! One person's message asking them to sign, an invitation or a reminder, in
//! the school's own words (school YAML `mail:`) or plain-English defaults,
//! with their personal link and, where the school wants it, their form as a
//! PDF. A text part and an HTML part saying the same; `Auto-Submitted:
//! auto-generated` (RFC 3834) so auto-replies stay quiet; a Message-ID aup
//! records.

use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::config::SchoolMail;

/// The placeholders the school's words may use.
pub const PLACEHOLDERS: [&str; 5] = ["name", "school", "year", "link", "expires"];

const SUBJECT: &str = "Please sign {school}'s Acceptable Use Policy";

const REMINDER_SUBJECT: &str = "Reminder: please sign {school}'s Acceptable Use Policy";

const REMINDER_TEXT: &str = "Dear {name},

This is a reminder: we have not yet had your signed Acceptable Use Policy for {year}. It takes a few minutes, on a phone or a computer:

{link}

This link is for you alone, so please do not forward it. It works until {expires}. If you have signed in the last day or two, thank you, and please ignore this message.

Thank you,
{school}";

const TEXT: &str = "Dear {name},

Please read and sign {school}'s Acceptable Use Policy for {year}. It takes a few minutes, on a phone or a computer:

{link}

This link is for you alone, so please do not forward it. It works until {expires}.

Thank you,
{school}";

const PAPER: &str = "If you would rather sign on paper, print the attached form, sign it, and hand it to the school office.";

/// Which message: the mail log's `kind` is its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invitation,
    /// The n-th reminder, from 1.
    Reminder(u16),
}

impl Kind {
    /// As the mail log keeps it: `invitation`, `reminder-2`.
    pub fn name(self) -> String {
        match self {
            Self::Invitation => "invitation".into(),
            Self::Reminder(n) => format!("reminder-{n}"),
        }
    }
}

/// What one message says and to whom.
pub struct Letter<'a> {
    pub kind: Kind,
    pub from: &'a str,
    pub reply_to: Option<&'a str>,
    /// The person's name and address.
    pub name: &'a str,
    pub email: &'a str,
    pub school: &'a str,
    pub year: &'a str,
    pub link: &'a str,
    /// As people read it: "31 August 2026".
    pub expires: &'a str,
    pub form_id: &'a str,
    /// The person's issued form, when the school attaches it: (file name, PDF).
    pub form: Option<(String, Vec<u8>)>,
    /// `<…@…>`, made by [`message_id`].
    pub message_id: &'a str,
}

/// Problems with a school's words for `aup check`: (key, problem).
pub fn check_words(mail: &SchoolMail) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    for (key, text) in [
        ("mail.invitation_subject", &mail.invitation_subject),
        ("mail.invitation_text", &mail.invitation_text),
        ("mail.reminder_subject", &mail.reminder_subject),
        ("mail.reminder_text", &mail.reminder_text),
    ] {
        let Some(text) = text else { continue };
        for unknown in placeholders_in(text).filter(|p| !PLACEHOLDERS.contains(p)) {
            problems.push((
                key,
                format!(
                    "{{{unknown}}} is not a placeholder aup fills; it fills {}",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                ),
            ));
        }
    }
    for (key, text) in [
        ("mail.invitation_text", &mail.invitation_text),
        ("mail.reminder_text", &mail.reminder_text),
    ] {
        if let Some(text) = text
            && !text.trim().is_empty()
            && !text.contains("{link}")
        {
            problems.push((
                key,
                "it must contain {link}, the person's own signing link".into(),
            ));
        }
    }
    problems
}

fn placeholders_in(text: &str) -> impl Iterator<Item = &str> {
    text.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
}

/// A Message-ID for a message about `form_id` from `from`'s domain.
pub fn message_id(form_id: &str, from: &str) -> Result<String, String> {
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').trim())
        .filter(|d| !d.is_empty())
        .unwrap_or("aup.invalid");
    let mut random = [0u8; 12];
    getrandom::fill(&mut random).map_err(|e| e.to_string())?;
    Ok(format!(
        "<{}.{}@{domain}>",
        crate::form::id::hex(&random),
        form_id.to_ascii_lowercase()
    ))
}

/// `Auto-Submitted`: this message was written by a program (`auto-generated`)
/// or answers one (`auto-replied`), so vacation responders must not answer it
/// (RFC 3834).
#[derive(Clone)]
struct AutoSubmitted(&'static str);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self("auto-generated"))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.to_owned())
    }
}

/// One return a receipt speaks of.
pub struct Received<'a> {
    /// Whose form it is.
    pub name: &'a str,
    pub form_id: &'a str,
    pub verdict: &'a str,
    pub missing: &'a [String],
    /// Their signing link, to finish online, when one is open.
    pub link: Option<&'a str>,
}

/// The reply to a message whose attachments were filed: what became of each
/// return in it. `Auto-Submitted: auto-replied`, in reply to the message.
pub struct Receipt<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub in_reply_to: &'a str,
    pub school: &'a str,
    pub returns: &'a [Received<'a>],
    pub message_id: &'a str,
}

impl Receipt<'_> {
    pub fn text(&self) -> String {
        let mut lines = vec!["Thank you for your message.".to_owned(), String::new()];
        if self.returns.is_empty() {
            lines.push(
                "We could not find a signed form in what you sent, so the school office will look at it and be in touch if anything is needed.".into(),
            );
        }
        for r in self.returns {
            lines.push(match (r.verdict, r.link) {
                ("accepted", _) => format!(
                    "{}'s Acceptable Use Policy (form {}) has arrived and is complete. Nothing more is needed.",
                    r.name, r.form_id
                ),
                (_, Some(link)) => format!(
                    "{}'s Acceptable Use Policy (form {}) has arrived but is not complete yet: {} missing. You can finish it online here:\n\n{link}",
                    r.name,
                    r.form_id,
                    r.missing.join(", ")
                ),
                (_, None) => format!(
                    "{}'s Acceptable Use Policy (form {}) has arrived but is not complete yet: {} missing. Please complete it and send it again.",
                    r.name,
                    r.form_id,
                    r.missing.join(", ")
                ),
            });
            lines.push(String::new());
        }
        lines.push(self.school.to_owned());
        lines.join("\n")
    }

    pub fn message(&self) -> Result<Message, String> {
        let bad = |text: &str| format!("`{text}` is not an e-mail address");
        let text = self.text();
        Message::builder()
            .from(self.from.parse().map_err(|_| bad(self.from))?)
            .to(self.to.parse().map_err(|_| bad(self.to))?)
            .subject(format!(
                "{}: your Acceptable Use Policy has arrived",
                self.school
            ))
            .message_id(Some(self.message_id.to_owned()))
            .in_reply_to(self.in_reply_to.to_owned())
            .references(self.in_reply_to.to_owned())
            .header(AutoSubmitted("auto-replied"))
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(text.clone()))
                    .singlepart(SinglePart::html(html(&text, ""))),
            )
            .map_err(|e| e.to_string())
    }
}

impl Letter<'_> {
    fn fill(&self, text: &str) -> String {
        text.replace("{name}", self.name)
            .replace("{school}", self.school)
            .replace("{year}", self.year)
            .replace("{link}", self.link)
            .replace("{expires}", self.expires)
    }

    /// Its subject and text, as the person reads them (and the office's
    /// preview shows them).
    pub fn words(&self, words: &SchoolMail) -> (String, String) {
        let (subject, text) = match self.kind {
            Kind::Invitation => (
                words.invitation_subject.as_deref().unwrap_or(SUBJECT),
                words.invitation_text.as_deref().unwrap_or(TEXT),
            ),
            Kind::Reminder(_) => (
                words
                    .reminder_subject
                    .as_deref()
                    .unwrap_or(REMINDER_SUBJECT),
                words.reminder_text.as_deref().unwrap_or(REMINDER_TEXT),
            ),
        };
        let subject = self.fill(subject);
        let mut text = self.fill(text);
        if self.form.is_some() {
            text = match text.rsplit_once("\n\nThank you") {
                Some((before, after)) => format!("{before}\n\n{PAPER}\n\nThank you{after}"),
                None => format!("{text}\n\n{PAPER}"),
            };
        }
        (subject, text)
    }

    /// The message, ready to send.
    pub fn message(&self, words: &SchoolMail) -> Result<Message, String> {
        let bad = |what: &str, text: &str| format!("{what} `{text}` is not an e-mail address");
        let from: Mailbox = self.from.parse().map_err(|_| bad("from", self.from))?;
        let to = Mailbox::new(
            Some(self.name.to_owned()),
            self.email
                .parse()
                .map_err(|_| bad("the roster's", self.email))?,
        );
        let (subject, text) = self.words(words);
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .message_id(Some(self.message_id.to_owned()))
            .header(AutoSubmitted("auto-generated"));
        if let Some(reply_to) = self.reply_to {
            builder = builder.reply_to(reply_to.parse().map_err(|_| bad("reply_to", reply_to))?);
        }
        let words = MultiPart::alternative()
            .singlepart(SinglePart::plain(text.clone()))
            .singlepart(SinglePart::html(html(&text, self.link)));
        let body =
            match &self.form {
                Some((name, pdf)) => MultiPart::mixed().multipart(words).singlepart(
                    Attachment::new(name.clone()).body(
                        pdf.clone(),
                        ContentType::parse("application/pdf").map_err(|e| e.to_string())?,
                    ),
                ),
                None => words,
            };
        builder.multipart(body).map_err(|e| e.to_string())
    }
}

/// The text as HTML: paragraphs, escaped, with the link a link.
fn html(text: &str, link: &str) -> String {
    let escape = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| {
            let escaped = escape(p.trim()).replace('\n', "<br>\n");
            let link = escape(link);
            let linked = match link.is_empty() {
                true => escaped,
                false => escaped.replace(&link, &format!("<a href=\"{link}\">{link}</a>")),
            };
            format!("<p>{linked}</p>")
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"></head>\n<body style=\"font-family: sans-serif; font-size: 16px; line-height: 1.5\">\n{}\n</body></html>\n",
        paragraphs.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amelia(form: Option<(String, Vec<u8>)>) -> Letter<'static> {
        Letter {
            kind: Kind::Invitation,
            from: "Pakeman Primary School <office@pakeman.example>",
            reply_to: None,
            name: "Amelia Hart",
            email: "amelia@pakeman.example",
            school: "Pakeman Primary School",
            year: "2025-26",
            link: "https://aup.pakeman.example/s/abc",
            expires: "31 August 2026",
            form_id: "PAK-2526-0001-X",
            form,
            message_id: "<1.pak-2526-0001-x@pakeman.example>",
        }
    }

    #[test]
    fn an_invitation_has_the_link_in_both_parts_and_says_it_is_automatic() {
        let message = amelia(None).message(&SchoolMail::default()).unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(
            raw.contains("Subject: Please sign Pakeman Primary School's Acceptable Use Policy"),
            "{raw}"
        );
        assert!(raw.contains("Auto-Submitted: auto-generated"));
        assert!(raw.contains("Message-ID: <1.pak-2526-0001-x@pakeman.example>"));
        assert!(
            raw.contains("To: \"Amelia Hart\" <amelia@pakeman.example>"),
            "{raw}"
        );
        assert!(raw.contains("Content-Type: text/plain"));
        assert!(raw.contains("Content-Type: text/html"));
        assert!(
            raw.contains("<a href=3D\"https://aup.pakeman.example/s/abc\">")
                || raw.contains("<a href=\"https://aup.pakeman.example/s/abc\">"),
            "{raw}"
        );
        assert!(!raw.contains("attached form"));
    }

    #[test]
    fn a_school_that_attaches_forms_says_so_and_attaches_the_pdf() {
        let form = Some((
            "PAK-2526-0001-X-amelia-hart.pdf".to_owned(),
            b"%PDF-1.7".to_vec(),
        ));
        let raw = String::from_utf8(
            amelia(form)
                .message(&SchoolMail::default())
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(raw.contains("Content-Type: application/pdf"));
        assert!(
            raw.contains("filename=\"PAK-2526-0001-X-amelia-hart.pdf\""),
            "{raw}"
        );
        assert!(raw.contains("print the attached form"), "{raw}");
    }

    #[test]
    fn a_receipt_says_what_is_missing_and_gives_the_link_to_finish_online() {
        let missing = ["page 2".to_owned(), "signature".to_owned()];
        let returns = [
            Received {
                name: "Amelia Hart",
                form_id: "PAK-2526-0001-X",
                verdict: "accepted",
                missing: &[],
                link: None,
            },
            Received {
                name: "Ben Okafor",
                form_id: "PAK-2526-0002-V",
                verdict: "incomplete",
                missing: &missing,
                link: Some("https://aup.pakeman.example/s/abc"),
            },
        ];
        let receipt = Receipt {
            from: "Pakeman Primary School <office@pakeman.example>",
            to: "amelia@pakeman.example",
            in_reply_to: "<reply@pakeman.example>",
            school: "Pakeman Primary School",
            returns: &returns,
            message_id: "<r@pakeman.example>",
        };
        let text = receipt.text();
        assert!(text.contains("Amelia Hart's Acceptable Use Policy (form PAK-2526-0001-X) has arrived and is complete."));
        assert!(text.contains("not complete yet: page 2, signature missing. You can finish it online here:\n\nhttps://aup.pakeman.example/s/abc"), "{text}");
        let raw = String::from_utf8(receipt.message().unwrap().formatted()).unwrap();
        assert!(
            raw.contains("In-Reply-To: <reply@pakeman.example>"),
            "{raw}"
        );
        assert!(raw.contains("Auto-Submitted: auto-replied"));
    }

    #[test]
    fn a_schools_words_need_the_link_and_known_placeholders() {
        let words = SchoolMail {
            invitation_subject: Some("AUP for {nmae}".into()),
            invitation_text: Some("Dear {name}, please sign.".into()),
            ..SchoolMail::default()
        };
        let problems = check_words(&words);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].1.contains("{nmae} is not a placeholder"));
        assert!(problems[1].1.contains("must contain {link}"));
    }
}
