//! The typed signature's handwriting: Dancing Script (SIL Open Font License
//! 1.1, which allows embedding it in documents; `fonts/LICENSE-DancingScript.txt`),
//! the Google Fonts build, which has every letter of the form's font but the
//! long s (Latin-1 and Latin Extended-A: Polish, Czech, Romanian, Turkish names).
//! The signing page shows the typed name in it, and the signed PDF draws the
//! same shaped glyphs as filled outlines in the signature box. Outlines, not
//! text: the box then holds a mark as a drawn signature does, the PDF needs no
//! second embedded font, and every reader shows exactly what the page showed.

use rustybuzz::ttf_parser::{GlyphId, OutlineBuilder};
use rustybuzz::{Face, UnicodeBuffer};

/// The font file, as the signing page serves it.
pub const FONT_FILE: &[u8] = include_bytes!("../../fonts/DancingScript-Regular.ttf");

fn face() -> Option<Face<'static>> {
    Face::from_slice(FONT_FILE, 0)
}

/// Whether the font has a glyph for every character of `name` (spaces aside).
pub fn covers(name: &str) -> bool {
    let Some(face) = face() else {
        return false;
    };
    name.chars()
        .all(|c| c == ' ' || face.glyph_index(c).is_some())
}

/// PDF path operators filling `name` in the font, fitted into the box with
/// its lower-left corner at (`x`, `y`), `width` by `height` points: as large as
/// fits up to `max_size` points, on one line from the left. `None` when the
/// font lacks a character.
pub fn outlines(
    name: &str,
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    max_size: f64,
) -> Option<String> {
    let face = face()?;
    if !covers(name) {
        return None;
    }
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(name);
    buffer.guess_segment_properties();
    let shaped = rustybuzz::shape(&face, &[], buffer);
    let units = f64::from(face.units_per_em());
    let advance: i64 = shaped
        .glyph_positions()
        .iter()
        .map(|p| i64::from(p.x_advance))
        .sum();
    let (ascender, descender) = (f64::from(face.ascender()), f64::from(face.descender()));
    let tall = (ascender - descender).max(1.0);
    let mut size = max_size.min(height * units / tall);
    let long = advance.max(1) as f64 * size / units;
    if long > width {
        size *= width / long;
    }
    let scale = size / units;
    // Centred in the box's height between the font's ascender and descender.
    let baseline = y + (height - tall * scale) / 2.0 - descender * scale;
    let mut pen = Pen {
        ops: String::new(),
        scale,
        origin: (x, baseline),
        last: (0.0, 0.0),
    };
    let mut along = 0.0;
    for (info, position) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
        pen.origin = (
            x + (along + f64::from(position.x_offset)) * scale,
            baseline + f64::from(position.y_offset) * scale,
        );
        // A glyph with no outline (a space) draws nothing.
        let _ = face.outline_glyph(GlyphId(info.glyph_id as u16), &mut pen);
        along += f64::from(position.x_advance);
    }
    if pen.ops.is_empty() {
        return None;
    }
    pen.ops.push_str("f\n");
    Some(pen.ops)
}

/// Writes a glyph's outline as PDF path operators in page points.
struct Pen {
    ops: String,
    scale: f64,
    origin: (f64, f64),
    /// The current point in font units, which `quad_to` needs.
    last: (f32, f32),
}

impl Pen {
    fn point(&mut self, x: f32, y: f32) {
        let (px, py) = (
            self.origin.0 + f64::from(x) * self.scale,
            self.origin.1 + f64::from(y) * self.scale,
        );
        self.ops.push_str(&format!("{px:.2} {py:.2} "));
    }
}

impl OutlineBuilder for Pen {
    fn move_to(&mut self, x: f32, y: f32) {
        self.point(x, y);
        self.ops.push_str("m\n");
        self.last = (x, y);
    }

    fn line_to(&mut self, x: f32, y: f32) {
        self.point(x, y);
        self.ops.push_str("l\n");
        self.last = (x, y);
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        // PDF has cubic curves only: the quadratic's control point, raised.
        let (x0, y0) = self.last;
        let c1 = (x0 + 2.0 / 3.0 * (x1 - x0), y0 + 2.0 / 3.0 * (y1 - y0));
        let c2 = (x + 2.0 / 3.0 * (x1 - x), y + 2.0 / 3.0 * (y1 - y));
        self.curve_to(c1.0, c1.1, c2.0, c2.1, x, y);
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.point(x1, y1);
        self.point(x2, y2);
        self.point(x, y);
        self.ops.push_str("c\n");
        self.last = (x, y);
    }

    fn close(&mut self) {
        self.ops.push_str("h\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(ops: &str) -> Vec<f64> {
        ops.split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect()
    }

    #[test]
    fn a_typed_name_is_filled_outlines_inside_its_box() {
        let ops = outlines("Amelia Hart", 10.0, 20.0, 150.0, 30.0, 28.0).expect("covered");
        assert!(ops.ends_with("f\n"));
        assert!(ops.matches(" c\n").count() > 20, "curves of script glyphs");
        let all = numbers(&ops);
        let xs: Vec<f64> = all.iter().step_by(2).copied().collect();
        let ys: Vec<f64> = all.iter().skip(1).step_by(2).copied().collect();
        let within =
            |v: &[f64], lo: f64, hi: f64| v.iter().all(|&n| n >= lo - 0.5 && n <= hi + 0.5);
        assert!(within(&xs, 10.0, 160.0), "{xs:?}");
        assert!(within(&ys, 20.0, 50.0), "{ys:?}");
    }

    #[test]
    fn a_long_name_shrinks_to_fit_the_width() {
        let name = "Bartholomew Fitzwilliam-Montgomery-Smythe";
        let ops = outlines(name, 0.0, 0.0, 120.0, 30.0, 28.0).expect("covered");
        let xs: Vec<f64> = numbers(&ops).iter().step_by(2).copied().collect();
        let widest = xs.iter().cloned().fold(f64::MIN, f64::max);
        assert!(widest <= 121.0 && widest > 100.0, "{widest}");
    }

    #[test]
    fn a_name_the_font_cannot_show_has_no_outlines() {
        assert!(covers("Zoë O'Brien-Núñez"));
        assert!(covers("Łukasz Wójcik, Ştefan Ţurcanu, Dže Šimić"));
        assert!(!covers("Иван Петров"));
        assert_eq!(outlines("Иван Петров", 0.0, 0.0, 100.0, 30.0, 28.0), None);
        // The long s, which the form's font has: the one letter of a roster's
        // repertoire the handwriting lacks.
        assert!(!covers("Gauſs"));
    }
}
