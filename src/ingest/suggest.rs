//! A guess for a page that could not be identified, from the pages around it in
//! the same file: a copier's pile keeps a form's pages together, so a page
//! between page 2 and nothing of form F, in a 3-page form, is probably page 3
//! of F. The guess is only offered (on the quarantine page, with a button);
//! nothing is filed by it.

use super::protocol::PageReading;
use crate::archive::RegisteredForm;

/// The form and page the unidentified page at `index` of `pages` probably is,
/// when a neighbour (blank backs of a duplex scan skipped) says so and no page
/// of the file is that page already.
pub(super) fn neighbouring_page(
    pages: &[PageReading],
    index: usize,
    pages_of: impl Fn(&str) -> Option<u32>,
) -> Option<(String, u32)> {
    let identified = |i: usize| match pages.get(i) {
        Some(PageReading::Identified(found)) => Some((found.form_id.as_str(), found.page)),
        _ => None,
    };
    let content = |i: &usize| !matches!(pages.get(*i), Some(PageReading::Blank));
    let before = (0..index).rev().find(content).and_then(identified);
    let after = (index + 1..pages.len()).find(content).and_then(identified);
    let from_before = before
        .and_then(|(form, page)| (page < pages_of(form)?).then(|| (form.to_owned(), page + 1)));
    let from_after = after.and_then(|(form, page)| (page > 1).then(|| (form.to_owned(), page - 1)));
    let guess = match (from_before, from_after) {
        (Some(a), Some(b)) if a != b => return None,
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => return None,
    };
    let taken = (0..pages.len()).any(|i| identified(i) == Some((guess.0.as_str(), guess.1)));
    (!taken).then_some(guess)
}

/// Says a guess as the office reads it: "page 3 of Isla Hughes' form
/// PAK-2526-0005-P".
pub fn say(form: &RegisteredForm, page: u32) -> String {
    match &form.name {
        Some(name) => {
            let possessive = match name.ends_with('s') {
                true => format!("{name}'"),
                false => format!("{name}'s"),
            };
            format!("page {page} of {possessive} form {}", form.form_id)
        }
        None => format!("page {page} of the blank form {}", form.form_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::protocol::{FiledData, FiledImage, IdentifiedPage};
    use crate::verdict::Reason;

    fn page(form: &str, n: u32) -> PageReading {
        PageReading::Identified(Box::new(IdentifiedPage {
            form_id: form.into(),
            page: n,
            filed: FiledImage {
                dict: Vec::new(),
                data: FiledData::InReceivedFile { offset: 0, len: 0 },
                matrix: [0.0; 6],
            },
            ink: Default::default(),
            name_box: None,
            name_box_crop: None,
            name_box_text: None,
        }))
    }

    fn lost() -> PageReading {
        PageReading::Quarantine {
            reason: Reason::NoQr,
            message: String::new(),
            image: None,
        }
    }

    #[test]
    fn a_lost_page_is_guessed_from_its_neighbours_never_against_them() {
        let three = |_: &str| Some(3);
        let pile = [page("F", 1), page("F", 2), lost(), page("G", 1)];
        assert_eq!(neighbouring_page(&pile, 2, three), Some(("F".into(), 3)));
        // A duplex pile: blank backs between the pages are looked past.
        let duplex = [
            page("F", 1),
            PageReading::Blank,
            lost(),
            PageReading::Blank,
            page("F", 3),
        ];
        assert_eq!(neighbouring_page(&duplex, 2, three), Some(("F".into(), 2)));
        // The first page of the next form, guessed from what follows it.
        let first = [page("F", 3), lost(), page("G", 2)];
        assert_eq!(neighbouring_page(&first, 1, three), Some(("G".into(), 1)));
        // Neighbours that disagree, or a page already present: no guess.
        let disagree = [page("F", 1), lost(), page("G", 3)];
        assert_eq!(neighbouring_page(&disagree, 1, three), None);
        let present = [page("F", 1), lost(), page("G", 1), page("F", 2)];
        assert_eq!(neighbouring_page(&present, 1, three), None);
        assert_eq!(neighbouring_page(&[lost()], 0, three), None);
    }
}
