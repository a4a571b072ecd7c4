//! The cover sheets of a print file: a page of plain lines before each
//! class's forms, so the pile for each class is found and goes to its teacher.

use super::font::FONT;
use super::stamp::text_at;
use super::tagging;

/// A sheet of the print file before a group of forms: lines of text, each at
/// its size in points, from the top of the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Cover {
    /// The index of the form it goes before.
    pub before: usize,
    pub lines: Vec<(f64, String)>,
}

/// A cover's text, 25 mm in from the left and down from the top, each line
/// wrapped to the page's width. Marked as an artifact: it is print furniture
/// for the office, not part of any form.
pub(super) fn content(cover: &Cover, width: f64, height: f64) -> Vec<u8> {
    let margin = 25.0 * 72.0 / 25.4;
    let mut y = height - margin;
    let mut out = String::from("q 0 g\n");
    for (size, line) in &cover.lines {
        let mut current = String::new();
        let mut lines = Vec::new();
        for word in line.split_whitespace() {
            let candidate = match current.is_empty() {
                true => word.to_owned(),
                false => format!("{current} {word}"),
            };
            if !current.is_empty() && FONT.width(&candidate, *size) > width - 2.0 * margin {
                lines.push(std::mem::replace(&mut current, word.to_owned()));
            } else {
                current = candidate;
            }
        }
        lines.push(current);
        for text in lines {
            y -= size * 1.3;
            text_at(&mut out, &text, *size, margin, y);
        }
        y -= size * 0.6;
    }
    out.push_str("Q\n");
    tagging::artifact(&out).into_bytes()
}
