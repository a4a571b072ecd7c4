//! What a compilation of the staff template reads besides the template itself:
//! the school's policy as JSON, the issue's year and date (which the policy must
//! not print: its version is a digest of its pages), and the headteacher's signature image when there is one. Handed
//! to Typst as virtual files, never pasted into Typst source.

use std::path::Path;

use serde::Serialize;

use crate::config::{self, PolicyInput, SchoolSlug};

/// The data that varies per issue but is not policy text. Only the form's footer
/// flag changes the pages, and it is the same for every issue.
#[derive(Debug, Clone, Serialize)]
struct IssueInput<'a> {
    year: &'a str,
    date: &'a str,
    /// True for the base of personal forms (adds the print-at-actual-size note).
    form: bool,
}

/// The virtual files a compilation of the staff template reads.
pub fn template_files(
    input: &PolicyInput,
    signature_image: Option<&(String, Vec<u8>)>,
    year: &str,
    date: &str,
    form: bool,
) -> Result<Vec<(&'static str, Vec<u8>)>, serde_json::Error> {
    let mut files = vec![
        ("/policy.json", serde_json::to_vec(input)?),
        (
            "/issue.json",
            serde_json::to_vec(&IssueInput { year, date, form })?,
        ),
    ];
    if let Some((path, bytes)) = signature_image {
        // One of two fixed names, chosen by the image's type in `resolve`.
        let path: &'static str = match path.ends_with(".png") {
            true => "/approval-signature.png",
            false => "/approval-signature.jpg",
        };
        files.push((path, bytes.clone()));
    }
    Ok(files)
}

/// A valid policy input for a school with no edits, used to read the template's
/// clause catalogue before any school is checked against it.
pub fn neutral_policy_input() -> PolicyInput {
    let text = "name: Neutral School\nheadteacher:\n  name: A Head\n".to_owned();
    let slug = SchoolSlug::parse("neutral").expect("valid slug");
    let loaded =
        config::parse(Path::new("neutral.yaml"), slug, text).expect("neutral config parses");
    loaded
        .resolve(&Default::default())
        .expect("neutral config resolves")
        .input
}
