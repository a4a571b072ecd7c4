//! A page's personal overlay (its three QR codes, the form id, the page
//! number), written as content-stream text and, as it is written, hashed as
//! the register's drawing print (`drawing`). The print is the same as
//! parsing the finished text would give; only the QR codes' rectangles,
//! about 600 a page, skip the parser: their numbers are the same few dozen
//! on every page of every form, so each is parsed once and its canonical
//! form kept.

use lopdf::Object;

use super::drawing::{self, DrawingHasher};
use super::stamp::{QR_MODULES, StampError};

/// The overlay being written.
pub(super) struct Overlay {
    /// The content so far. Text pushed here directly is parsed for the
    /// drawing print when the next known operation comes, or at the end.
    pub text: String,
    drawing: DrawingHasher,
    /// Where the text not yet in the drawing print starts.
    unparsed: usize,
}

impl Overlay {
    /// An overlay marked as an artifact (PDF/UA: not part of the document's
    /// structure), drawn after `drawing`, the page's own content.
    pub fn artifact(drawing: DrawingHasher) -> Self {
        Self {
            text: String::from(super::tagging::ARTIFACT.0),
            drawing,
            unparsed: 0,
        }
    }

    /// Puts what was written since the last known operation into the print.
    fn parse_pending(&mut self) -> Result<(), StampError> {
        let pending = &self.text[self.unparsed..];
        if !pending.trim().is_empty() {
            self.drawing
                .add_content(pending.as_bytes())
                .map_err(StampError::Malformed)?;
        }
        self.unparsed = self.text.len();
        Ok(())
    }

    /// Adds an operation whose canonical form (see [`drawing::canonical`]) is
    /// known: written as `text`.
    fn push_known(&mut self, text: &str, canonical: &[u8]) -> Result<(), StampError> {
        self.parse_pending()?;
        self.text.push_str(text);
        self.drawing.add_canonical(canonical);
        self.unparsed = self.text.len();
        Ok(())
    }

    /// The finished content, and the page's drawing print with it.
    pub fn finish(mut self) -> Result<(Vec<u8>, DrawingHasher), StampError> {
        self.text.push_str(super::tagging::ARTIFACT.1);
        self.parse_pending()?;
        Ok((self.text.into_bytes(), self.drawing))
    }
}

/// Draws a QR code with `text` over the square `(left, top, side)` (points, from the
/// page's top-left corner) of a page `height` points tall, on a white ground
/// reaching `margin` points beyond the symbol.
pub(super) fn draw_code(
    out: &mut Overlay,
    text: &str,
    square: (f64, f64, f64),
    margin: f64,
    height: f64,
) -> Result<(), StampError> {
    let dark = super::qr_code::encode(text.as_bytes()).map_err(StampError::Qr)?;
    let grid = ModuleGrid::at(square, margin, height);
    out.text.push_str(&grid.ground);
    // One rectangle per run of dark modules in a row keeps the stream small.
    let mut line = String::with_capacity(48);
    let mut canonical = Vec::with_capacity(64);
    for row in 0..QR_MODULES {
        let mut col = 0;
        while col < QR_MODULES {
            if dark[row * QR_MODULES + col] {
                let start = col;
                while col < QR_MODULES && dark[row * QR_MODULES + col] {
                    col += 1;
                }
                let (x, y, w) = (&grid.xs[start], &grid.ys[row], &grid.widths[col - start]);
                line.clear();
                for part in [&x.0, &y.0, &w.0, &grid.module.0] {
                    line.push_str(part);
                    line.push(' ');
                }
                line.push_str("re\n");
                canonical.clear();
                canonical.extend_from_slice(&grid.rectangle);
                for part in [&x.1, &y.1, &w.1, &grid.module.1] {
                    canonical.extend_from_slice(part);
                }
                out.push_known(&line, &canonical)?;
            } else {
                col += 1;
            }
        }
    }
    out.text.push_str("f\n");
    Ok(())
}

/// A number as the content stream writes it, and the canonical form (see
/// [`drawing::canonical_operand`]) of what a reader parses back.
type Number = (String, Vec<u8>);

/// The numbers a code's rectangles are written with at one place on the page,
/// formatted and parsed once: the same three places on every page of every
/// form, so 1,800 codes need a few dozen numbers instead of a million.
struct ModuleGrid {
    /// The white ground, with its fill.
    ground: String,
    /// The left edge of each column, 0..=25.
    xs: Vec<Number>,
    /// The bottom edge of each row.
    ys: Vec<Number>,
    /// The width of a run of n modules, 0..=25.
    widths: Vec<Number>,
    module: Number,
    /// The canonical start of a rectangle of four operands.
    rectangle: Vec<u8>,
}

impl ModuleGrid {
    fn at((left, top, side): (f64, f64, f64), margin: f64, height: f64) -> std::rc::Rc<Self> {
        thread_local! {
            static MADE: std::cell::RefCell<Vec<([u64; 5], std::rc::Rc<ModuleGrid>)>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        let key = [left, top, side, margin, height].map(f64::to_bits);
        MADE.with_borrow_mut(|made| {
            if let Some((_, grid)) = made.iter().find(|(k, _)| *k == key) {
                return grid.clone();
            }
            let module = side / QR_MODULES as f64;
            // In PDF coordinates (origin bottom-left).
            let symbol_top = height - top;
            let ground = side + 2.0 * margin;
            let grid = std::rc::Rc::new(Self {
                ground: format!(
                    "1 g\n{:.2} {:.2} {ground:.2} {ground:.2} re f\n0 g\n",
                    left - margin,
                    symbol_top - side - margin
                ),
                xs: (0..=QR_MODULES)
                    .map(|start| number(left + start as f64 * module))
                    .collect(),
                ys: (0..QR_MODULES)
                    .map(|row| number(symbol_top - (row + 1) as f64 * module))
                    .collect(),
                widths: (0..=QR_MODULES)
                    .map(|n| number(n as f64 * module))
                    .collect(),
                module: number(module),
                rectangle: drawing::canonical_start("re", 4),
            });
            made.push((key, grid.clone()));
            grid
        })
    }
}

/// `value` written to 1/1000 of a point, and read back by lopdf's parser.
fn number(value: f64) -> Number {
    let text = format!("{value:.3}");
    let parsed = drawing::operations(format!("{text} n").as_bytes())
        .ok()
        .and_then(|mut ops| ops.pop())
        .and_then(|mut op| op.operands.pop())
        .unwrap_or(Object::Null);
    (text, drawing::canonical_operand(&parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drawing_print_is_what_parsing_the_finished_overlay_gives() {
        let mut overlay = Overlay::artifact(DrawingHasher::default());
        overlay.text.push_str("q\n");
        for (n, square) in [(497.2, 28.35, 42.52), (28.35, 790.0, 25.5)]
            .into_iter()
            .enumerate()
        {
            let text = format!("T:PAK-2526-00{n}7-K:1/3:0123ABCD:BEEF");
            draw_code(&mut overlay, &text, square, 4.0, 841.89).unwrap();
        }
        overlay
            .text
            .push_str("BT /F1 11 Tf 400.00 780.00 Td <0041> Tj ET\nQ\n");
        let (content, written) = overlay.finish().unwrap();
        let mut parsed = DrawingHasher::default();
        parsed.add_content(&content).unwrap();
        let (written, parsed) = (written.finish(), parsed.finish());
        assert!(written.operations > 100, "{written:?}");
        assert_eq!(written, parsed);
        let text = String::from_utf8(content).unwrap();
        assert!(text.starts_with("/Artifact BMC\nq\n1 g\n") && text.ends_with("Q\nEMC\n"));
    }
}
