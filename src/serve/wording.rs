//! Words for an office: what the pages say of a quarantined page, a received
//! file or an upload, in plain sentences. The reader's own words (a decoder's
//! error, an internal file name) are kept only as details for the IT person,
//! cleaned of control characters and cut short.

use serde::Serialize;

use crate::verdict::Reason;

/// Details longer than this are cut: a decoder can dump a whole buffer.
const DETAILS_CHARS: usize = 240;

/// A reason as the pages give it: a sentence, and what the reader said.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlainReason {
    pub sentence: String,
    /// The reader's message, cleaned; `None` when it adds nothing.
    pub details: Option<String>,
}

/// The sentence for a stored reason code, with its message as details.
pub fn plain_reason(code: &str, message: &str) -> PlainReason {
    let sentence = match Reason::parse(code) {
        Some(reason) => reason.sentence().to_owned(),
        None => "This could not be filed.".to_owned(),
    };
    let details = printable(message);
    let adds_nothing = details.is_empty()
        || Reason::parse(code).is_some_and(|r| r == Reason::OtherSchool || details == r.sentence());
    PlainReason {
        sentence,
        details: (!adds_nothing).then_some(details),
    }
}

/// `text` with control characters, replacement characters and runs of space
/// made single spaces, cut at [`DETAILS_CHARS`].
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(DETAILS_CHARS * 4));
    let mut count = 0;
    let mut space = false;
    for c in text.chars() {
        let c = match c.is_control() || c == '\u{fffd}' || c.is_whitespace() {
            true => ' ',
            false => c,
        };
        if c == ' ' {
            if space || out.is_empty() {
                continue;
            }
            space = true;
        } else {
            space = false;
        }
        if count == DETAILS_CHARS {
            out.push('…');
            return out;
        }
        out.push(c);
        count += 1;
    }
    out.trim_end().to_owned()
}

/// A received file's name as the office gave it: an upload's own name, or the
/// inbox file's name without the folders and the stamp the upload page adds.
pub fn arrived_as(upload_name: Option<&str>, received_name: Option<&str>) -> String {
    if let Some(name) = upload_name {
        return printable(name);
    }
    let Some(received) = received_name else {
        return "a received file".to_owned();
    };
    let last = received.rsplit('/').next().unwrap_or(received);
    // `web/20261203-083825-25e59fa1-Scan.pdf`: the upload page's own name.
    let stamped = last.len() > 25
        && received.starts_with(&format!("{}/", super::actions::UPLOADS_FOLDER))
        && last.as_bytes()[8] == b'-'
        && last.as_bytes()[15] == b'-'
        && last.as_bytes()[24] == b'-';
    match stamped {
        true => printable(&last[25..]),
        false => printable(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoder_dump_becomes_a_sentence_and_clean_details() {
        let dump = "cannot decode the image: Format error decoding Png: ChunkType { type: \u{b8}:\u{80}(, critical: false } chunk appeared before IHDR chunk\u{0}\u{7}";
        let plain = plain_reason("unreadable", dump);
        assert!(
            plain
                .sentence
                .starts_with("The file is not a readable PDF or image.")
        );
        let details = plain.details.unwrap();
        assert!(!details.chars().any(char::is_control), "{details:?}");
        assert!(
            plain_reason("no_qr", &"x".repeat(5000))
                .details
                .unwrap()
                .chars()
                .count()
                <= 241
        );
        assert_eq!(plain_reason("other_school", "anything").details, None);
        assert_eq!(
            plain_reason("made_up", "").sentence,
            "This could not be filed."
        );
    }

    #[test]
    fn files_are_named_as_they_arrived() {
        assert_eq!(
            arrived_as(Some("Scan 3.pdf"), Some("web/x.pdf")),
            "Scan 3.pdf"
        );
        assert_eq!(
            arrived_as(None, Some("web/20261203-083825-25e59fa1-Scan_3.pdf")),
            "Scan_3.pdf"
        );
        assert_eq!(arrived_as(None, Some("copier/batch 7.pdf")), "batch 7.pdf");
        assert_eq!(arrived_as(None, None), "a received file");
    }
}
