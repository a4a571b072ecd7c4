//! Reading a consent's answer from a return. On paper, from the ink in its Yes
//! and No boxes: one box clearly marked (a tick or a cross) and the other
//! empty is that answer; both empty is No, as the form tells parents; anything
//! else (both marked, a box struck through, scribbled over or filled in, a
//! mark too faint to call) is `unclear`, for the office to settle. In a PDF,
//! from the two check boxes in the same way.

use super::{Answer, ConsentAnswer};

/// Below this fraction of a tick box's interior in pen strokes, it is empty:
/// dust and a stray edge of the printed border stay under 0.5%.
pub const EMPTY_BELOW: f64 = 0.01;

/// From this fraction a tick box is marked: a tick or a cross in a pen covers
/// 8-25% of the interior. Between [`EMPTY_BELOW`] and this, a faint mark that
/// is not called either way.
pub const MARKED_FROM: f64 = 0.03;

/// From this fraction a box is struck through, filled in or scribbled over,
/// which is how people cross out a mark: not called either way. A tick or a
/// cross in a ballpoint covers 8-25% of the interior, a tick struck through
/// more; a cross in a thick felt pen can reach it too, and then goes to the
/// office, which is the safe way to be wrong.
pub const SCRIBBLED_FROM: f64 = 0.35;

/// What a tick box shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Empty,
    Faint,
    Marked,
    Scribbled,
}

fn mark(fraction: f64) -> Mark {
    match fraction {
        f if f >= SCRIBBLED_FROM => Mark::Scribbled,
        f if f >= MARKED_FROM => Mark::Marked,
        f if f >= EMPTY_BELOW => Mark::Faint,
        _ => Mark::Empty,
    }
}

/// The answer to consent `id` from the ink (fractions of each box's interior)
/// in its Yes and No boxes; `None` for a box whose page was not found.
pub fn from_ink(id: &str, yes: Option<f64>, no: Option<f64>) -> ConsentAnswer {
    let (Some(yes), Some(no)) = (yes, no) else {
        return ConsentAnswer {
            consent: id.to_owned(),
            answer: Answer::Unclear,
            how: "the page with its boxes was not found".into(),
        };
    };
    let percent = |f: f64| format!("{:.1}%", f * 100.0);
    let measured = format!("Yes box {} ink, No box {} ink", percent(yes), percent(no));
    let (answer, said) = match (mark(yes), mark(no)) {
        (Mark::Scribbled, _) | (_, Mark::Scribbled) => {
            let which = match mark(yes) {
                Mark::Scribbled => "Yes",
                _ => "No",
            };
            (
                Answer::Unclear,
                format!("the {which} box is filled in or scribbled over"),
            )
        }
        (Mark::Marked, Mark::Marked) => (Answer::Unclear, "both boxes are ticked".to_owned()),
        (Mark::Faint, _) | (_, Mark::Faint) => (
            Answer::Unclear,
            "a faint mark that is not clearly a tick".to_owned(),
        ),
        (Mark::Marked, Mark::Empty) => (Answer::Yes, "Yes is ticked".to_owned()),
        (Mark::Empty, Mark::Marked) => (Answer::No, "No is ticked".to_owned()),
        // The form says so: "If a box is left empty, we will treat the answer as No."
        (Mark::Empty, Mark::Empty) => (
            Answer::No,
            "neither box is ticked, which the form says counts as No".to_owned(),
        ),
    };
    ConsentAnswer {
        consent: id.to_owned(),
        answer,
        how: format!("{said} ({measured})"),
    }
}

/// The answer to consent `id` from a PDF's check boxes: whether each is on.
pub fn from_check_boxes(id: &str, yes: bool, no: bool) -> ConsentAnswer {
    let (answer, how) = match (yes, no) {
        (true, false) => (Answer::Yes, "the Yes check box is ticked"),
        (false, true) => (Answer::No, "the No check box is ticked"),
        (true, true) => (Answer::Unclear, "both check boxes are ticked"),
        (false, false) => (
            Answer::No,
            "neither check box is ticked, which the form says counts as No",
        ),
    };
    ConsentAnswer {
        consent: id.to_owned(),
        answer,
        how: how.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yes: f64, no: f64) -> Answer {
        from_ink("photos", Some(yes), Some(no)).answer
    }

    #[test]
    fn one_box_ticked_and_the_other_empty_is_that_answer() {
        assert_eq!(read(0.11, 0.0), Answer::Yes);
        assert_eq!(read(0.002, 0.25), Answer::No);
    }

    #[test]
    fn both_boxes_empty_is_no_as_the_form_tells_parents() {
        assert_eq!(read(0.0, 0.004), Answer::No);
        assert!(
            from_ink("a", Some(0.0), Some(0.0))
                .how
                .starts_with("neither box is ticked")
        );
    }

    #[test]
    fn anything_not_clearly_one_answer_is_unclear() {
        for (yes, no) in [
            (0.12, 0.09), // both
            (0.70, 0.0),  // Yes filled in
            (0.60, 0.12), // Yes scribbled out, No ticked
            (0.02, 0.0),  // a faint mark
            (0.15, 0.02), // a tick and a smudge in the other box
        ] {
            assert_eq!(read(yes, no), Answer::Unclear, "{yes} {no}");
        }
    }

    #[test]
    fn the_reading_says_why_with_the_ink_measured() {
        let read = from_ink("press", Some(0.12), Some(0.10));
        assert_eq!(
            read.how,
            "both boxes are ticked (Yes box 12.0% ink, No box 10.0% ink)"
        );
        assert_eq!(
            from_ink("press", None, Some(0.1)).answer,
            Answer::Unclear,
            "a page not found is not an answer"
        );
    }

    #[test]
    fn check_boxes_answer_when_exactly_one_is_on() {
        assert_eq!(from_check_boxes("a", true, false).answer, Answer::Yes);
        assert_eq!(from_check_boxes("a", false, true).answer, Answer::No);
        assert_eq!(from_check_boxes("a", true, true).answer, Answer::Unclear);
        assert_eq!(from_check_boxes("a", false, false).answer, Answer::No);
    }
}
