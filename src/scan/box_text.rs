//! The text a PDF page draws in a box. A reader that flattens a form (qpdf,
//! pdftk, PyMuPDF's bake) turns the name field into page content, and keeps it
//! as text: what the box shows can then be said in words ("the name box shows
//! Daniel Okoro"), not only seen to differ. hayro interprets the page as it
//! renders it, and every glyph whose origin falls in the box is kept with the
//! character its font maps it to.

use hayro::hayro_interpret::font::{Glyph, GlyphRun};
use hayro::hayro_interpret::hayro_cmap::BfString;
use hayro::hayro_interpret::kurbo::{Affine, BezPath, Point, Rect, Shape};
use hayro::hayro_interpret::{
    ClipPath, Context, Device, DrawMode, DrawProps, Image, ImageDrawProps, InterpreterCache,
    InterpreterSettings, SoftMask, TransformExt, interpret_page,
};
use hayro::hayro_syntax::Pdf;
use hayro::hayro_syntax::page::Page;

/// Glyphs kept from one box: a name is a few dozen; a page of hostile text is
/// not read past this.
const MAX_GLYPHS: usize = 400;

/// The text page `index` (0-based) of `pdf` draws with its glyphs' origins in
/// `area`: (left, top, right, bottom) in points from the page's top-left
/// corner. Lines top to bottom, glyphs left to right, a space where a gap is
/// wider than a third of the text's height; `None` when nothing is there.
pub fn text_in(pdf: &[u8], index: usize, area: [f64; 4]) -> Option<String> {
    let pdf = Pdf::new(pdf.to_vec()).ok()?;
    text_on(pdf.pages().get(index)?, area)
}

/// [`text_in`] on a page already open.
pub fn text_on(page: &Page<'_>, area: [f64; 4]) -> Option<String> {
    let (width, height) = page.render_dimensions();
    let cache = InterpreterCache::new();
    let mut context = Context::new(
        page.initial_transform(true).to_kurbo(),
        Rect::new(0.0, 0.0, width as f64, height as f64),
        &cache,
        page.xref(),
        InterpreterSettings::default(),
    );
    let mut glyphs = Glyphs {
        area: Rect::new(area[0], area[1], area[2], area[3]),
        found: Vec::new(),
    };
    interpret_page(page, &mut context, &mut glyphs);
    said(glyphs.found)
}

/// A glyph in the box: its origin, where its ink ends on the right, the
/// height of its em on the page, and its text.
struct Found {
    x: f64,
    y: f64,
    right: f64,
    size: f64,
    text: String,
}

struct Glyphs {
    area: Rect,
    found: Vec<Found>,
}

impl<'a> Device<'a> for Glyphs {
    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, 'a>, props: DrawProps<'a>, _: &DrawMode) {
        for glyph in run.glyphs() {
            if self.found.len() >= MAX_GLYPHS {
                return;
            }
            let placed: Affine = props.transform * glyph.transform();
            let origin = placed * Point::ZERO;
            if !self.area.contains(origin) {
                continue;
            }
            // Outlines are in thousandths of an em.
            let size = (placed * Point::new(0.0, 1000.0) - origin).hypot();
            let right = match &**glyph {
                Glyph::Outline(outline) => {
                    let ink = outline.outline().bounding_box();
                    match ink.width() > 0.0 {
                        true => placed.transform_rect_bbox(ink).x1,
                        false => origin.x,
                    }
                }
                Glyph::Type3(_) => origin.x,
            };
            let text = match glyph.as_unicode() {
                Some(BfString::Char(c)) => c.to_string(),
                Some(BfString::String(s)) => s,
                None => continue,
            };
            self.found.push(Found {
                x: origin.x,
                y: origin.y,
                right,
                size,
                text,
            });
        }
    }
    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'a>, _: &DrawMode) {}
    fn push_clip_path(&mut self, _: &ClipPath) {}
    fn push_transparency_group(
        &mut self,
        _: f32,
        _: Option<SoftMask<'a>>,
        _: hayro::hayro_interpret::BlendMode,
    ) {
    }
    fn draw_image(&mut self, _: Image<'a, '_>, _: ImageDrawProps<'a>) {}
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}
}

/// The glyphs as text, in reading order.
fn said(mut found: Vec<Found>) -> Option<String> {
    if found.is_empty() {
        return None;
    }
    let size = found.iter().map(|g| g.size).fold(0.0, f64::max).max(1.0);
    // Glyphs on one line share a baseline to within a fifth of their height.
    found.sort_by(|a, b| {
        let line = |g: &Found| (g.y / (size / 5.0)).round() as i64;
        line(a).cmp(&line(b)).then(a.x.total_cmp(&b.x))
    });
    let mut text = String::new();
    let mut previous: Option<&Found> = None;
    for glyph in &found {
        if let Some(before) = previous {
            let new_line = (glyph.y - before.y).abs() > size / 5.0;
            // Letters sit a twentieth of an em apart; a gap of more than
            // 0.15 em is a space the program drew as a move, not a glyph.
            let gap = glyph.x - before.right > 0.15 * size;
            if (new_line || gap) && !text.ends_with(' ') && !glyph.text.starts_with(' ') {
                text.push(' ');
            }
        }
        text.push_str(&glyph.text);
        previous = Some(glyph);
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}
