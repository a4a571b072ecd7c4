//! Nothing drawn outside the boxes. A return may add ink, stamps, typed text and
//! signatures inside the signature, name, role and date boxes; anything else it
//! draws, or covers (an opaque white box over the declaration), changes what the
//! person agreed to. Incremental saves, rewritten files and flattened files are
//! judged alike, by what a viewer shows: each page of the return is rendered with
//! its annotations beside the same page as issued (only the issued content
//! stream, no annotations), and the two must agree outside the boxes.

use image::GrayImage;
use lopdf::{Dictionary, Document, Object, Stream};

use super::integrity::{IssuedOnPage, issued_on_page};
use crate::archive::RegisteredForm;
use crate::form::FieldSpec;

/// Pen strokes run past a box's border: this much around each box is the box's
/// own (3 mm).
const OVERSHOOT_PT: f64 = 8.5;
/// Two renders of the same content agree to the pixel; a grey level this far
/// apart is drawing, not rendering noise.
const DIFFERENT: u8 = 48;
/// A signature's stamp may draw this far past its rectangle (its border's
/// outer half, antialiased), in points.
const STAMP_EDGE_PT: f64 = 1.5;
/// More differing pixels than this (at 100 dpi, about 1.3 mm²) is a change.
const MAX_STRAY_PIXELS: usize = 20;

/// One page of the return: what was issued for it, and whether it shows more.
pub struct PageContent {
    id: lopdf::ObjectId,
    issued: IssuedOnPage,
    annotated: bool,
}

impl PageContent {
    /// True when the page draws only what was issued (and saves and restores
    /// the graphics state) and has no annotations: it cannot show anything but
    /// what was issued, and need not be drawn to be sure.
    pub fn shows_only_what_was_issued(&self) -> bool {
        !self.annotated && !self.issued.draws_more
    }
}

/// Every page of the return with what was issued for it, as the policy-text
/// check `located` it when it did, else found here. `None` when a page's issued
/// content is not there (the policy-text check says so already).
pub fn page_contents(
    doc: &Document,
    form: &RegisteredForm,
    located: Option<Vec<IssuedOnPage>>,
) -> Option<Vec<PageContent>> {
    let pages: Vec<lopdf::ObjectId> = doc.page_iter().collect();
    if pages.len() != form.page_hashes.len() {
        return None;
    }
    let mut located = located
        .filter(|l| l.len() == pages.len())
        .map(Vec::into_iter);
    pages
        .into_iter()
        .enumerate()
        .map(|(index, id)| {
            let issued = match located.as_mut() {
                Some(known) => known.next()?,
                None => issued_on_page(doc, id, form, index).ok()??,
            };
            let annotated = doc
                .get_dictionary(id)
                .ok()
                .and_then(|d| d.get(b"Annots").ok())
                .and_then(|a| super::fields::deref(doc, a))
                .and_then(|a| a.as_array().ok())
                .is_some_and(|annots| !annots.is_empty());
            Some(PageContent {
                id,
                issued,
                annotated,
            })
        })
        .collect()
}

/// The form as issued, rebuilt from the return: each page with only what was
/// issued for it, and no annotations.
pub fn issued_view(doc: &Document, pages: &[PageContent]) -> Option<Vec<u8>> {
    let mut view = doc.clone();
    for page in pages {
        let content = page.issued.content.clone();
        let id = view.add_object(Stream::new(Dictionary::new(), content));
        let dict = view.get_object_mut(page.id).ok()?.as_dict_mut().ok()?;
        dict.set("Contents", Object::Reference(id));
        dict.remove(b"Annots");
    }
    let mut out = Vec::new();
    view.save_to(&mut out).ok()?;
    Some(out)
}

/// Each box with its overshoot, in pixels from the top-left corner.
fn box_areas(boxes: &[&FieldSpec], page_height: f64, scale: f64) -> Vec<[f64; 4]> {
    boxes
        .iter()
        .map(|b| {
            let r = &b.rect;
            [
                (r.x0 - OVERSHOOT_PT) * scale,
                (page_height - r.y1 - OVERSHOOT_PT) * scale,
                (r.x1 + OVERSHOOT_PT) * scale,
                (page_height - r.y0 + OVERSHOOT_PT) * scale,
            ]
        })
        .collect()
}

/// A PDF rectangle (either corner order) in pixels from the top-left corner.
fn in_pixels(rect: &[f64; 4], page_height: f64, scale: f64) -> [f64; 4] {
    let (x0, x1) = (rect[0].min(rect[2]), rect[0].max(rect[2]));
    let (y0, y1) = (rect[1].min(rect[3]), rect[1].max(rect[3]));
    [
        x0 * scale,
        (page_height - y1) * scale,
        x1 * scale,
        (page_height - y0) * scale,
    ]
}

/// Whether the page as issued draws anything under `rect` (a widget's
/// rectangle, PDF points) outside the boxes: a signature stamped there
/// hides policy text, a rule or a code.
pub fn shows_issued_under(
    issued: &GrayImage,
    rect: &[f64; 4],
    boxes: &[&FieldSpec],
    page_height: f64,
    dpi: f32,
) -> bool {
    let scale = dpi as f64 / 72.0;
    let boxes = box_areas(boxes, page_height, scale);
    let [x0, y0, x1, y1] = in_pixels(rect, page_height, scale);
    let (width, height) = issued.dimensions();
    let mut drawn = 0usize;
    for y in (y0.max(0.0) as u32)..(y1.max(0.0) as u32).min(height) {
        for x in (x0.max(0.0) as u32)..(x1.max(0.0) as u32).min(width) {
            let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
            let in_a_box = boxes
                .iter()
                .any(|[bx0, by0, bx1, by1]| fx >= *bx0 && fx <= *bx1 && fy >= *by0 && fy <= *by1);
            if !in_a_box && issued.get_pixel(x, y).0[0] < 255 - DIFFERENT {
                drawn += 1;
            }
        }
    }
    drawn > MAX_STRAY_PIXELS
}

/// Where the return draws or covers something outside the boxes of page `page`
/// (1-based), said for the office; `None` when it does not. What is drawn in
/// `stamps` (the rectangles of the person's signatures placed beside the box,
/// PDF points) is theirs and not compared.
pub fn outside_boxes(
    page: usize,
    returned: &GrayImage,
    issued: &GrayImage,
    boxes: &[&FieldSpec],
    stamps: &[[f64; 4]],
    page_height: f64,
    dpi: f32,
) -> Option<String> {
    if returned.dimensions() != issued.dimensions() {
        return Some(format!("page {page} is not the size it was issued at"));
    }
    let scale = dpi as f64 / 72.0;
    let mut allowed = box_areas(boxes, page_height, scale);
    // A stamp's border is drawn on its edge: half of it falls outside.
    allowed.extend(stamps.iter().map(|r| {
        let [x0, y0, x1, y1] = in_pixels(r, page_height, scale);
        let edge = STAMP_EDGE_PT * scale;
        [x0 - edge, y0 - edge, x1 + edge, y1 + edge]
    }));
    let (width, _) = returned.dimensions();
    let mut stray = 0usize;
    let (mut left, mut top, mut right, mut bottom) = (u32::MAX, u32::MAX, 0u32, 0u32);
    for (i, (a, b)) in returned.as_raw().iter().zip(issued.as_raw()).enumerate() {
        if a.abs_diff(*b) <= DIFFERENT {
            continue;
        }
        let (x, y) = ((i as u32 % width), (i as u32 / width));
        let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
        if allowed
            .iter()
            .any(|[x0, y0, x1, y1]| fx >= *x0 && fx <= *x1 && fy >= *y0 && fy <= *y1)
        {
            continue;
        }
        stray += 1;
        (left, top, right, bottom) = (left.min(x), top.min(y), right.max(x), bottom.max(y));
    }
    if stray <= MAX_STRAY_PIXELS {
        return None;
    }
    let mm = |pixels: u32| pixels as f64 / dpi as f64 * 25.4;
    Some(format!(
        "page {page}: something was drawn or covered outside the boxes, {:.0} × {:.0} mm \
         at {:.0} mm from the left and {:.0} mm from the top",
        mm(right - left + 1),
        mm(bottom - top + 1),
        mm(left),
        mm(top)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Rect;

    fn signature_box() -> FieldSpec {
        FieldSpec {
            name: "signer_signature".into(),
            kind: "signature".into(),
            page: 1,
            rect: Rect {
                x0: 72.0,
                y0: 72.0,
                x1: 144.0,
                y1: 108.0,
            },
        }
    }

    /// A 2 × 3 inch page at 72 dpi, white, with a dark square at (x, y) from the
    /// top-left, `side` pixels wide.
    fn page_with(square: Option<(u32, u32, u32)>) -> GrayImage {
        let mut image = GrayImage::from_pixel(144, 216, image::Luma([255]));
        if let Some((x, y, side)) = square {
            for dy in 0..side {
                for dx in 0..side {
                    image.put_pixel(x + dx, y + dy, image::Luma([20]));
                }
            }
        }
        image
    }

    #[test]
    fn ink_in_and_just_over_a_box_is_allowed() {
        let b = signature_box();
        // The box spans x 72-144, y 108-144 from the top on a 216 pt page.
        let issued = page_with(None);
        for square in [(80, 115, 10), (66, 104, 8)] {
            let returned = page_with(Some(square));
            assert_eq!(
                outside_boxes(1, &returned, &issued, &[&b], &[], 216.0, 72.0),
                None,
                "{square:?}"
            );
        }
    }

    #[test]
    fn drawing_or_covering_elsewhere_is_named_with_its_place() {
        let b = signature_box();
        let issued = page_with(Some((10, 20, 30)));
        // New marks above the box.
        let added = page_with(Some((10, 150, 6)));
        let said = outside_boxes(1, &added, &page_with(None), &[&b], &[], 216.0, 72.0).unwrap();
        assert!(
            said.starts_with("page 1: something was drawn or covered"),
            "{said}"
        );
        assert!(
            said.contains("at 4 mm from the left and 53 mm from the top"),
            "{said}"
        );
        // Issued words covered over (white where they were dark).
        let covered = page_with(None);
        assert!(outside_boxes(1, &covered, &issued, &[&b], &[], 216.0, 72.0).is_some());
        // Noise below the threshold is not a change.
        let speck = page_with(Some((5, 5, 4)));
        assert_eq!(
            outside_boxes(1, &speck, &page_with(None), &[&b], &[], 216.0, 72.0),
            None
        );
    }
}
