//! Does the name box still show the name the form was issued with? A form
//! issued to a person prints their name in the name box. Once the name is no
//! longer a field (a flattened return, one printed to PDF, a scan or a photo),
//! what the box shows is all there is: another name typed over the field before
//! printing, a name crossed out and another written beside it, or the box
//! covered over, must not pass as the person's.
//!
//! The box is read on the same grid as the ink measure ([`ink`]) and compared
//! with the issued name drawn alone, as the form draws it, at the same
//! resolution: after the best small shift (the map from the page's codes is a
//! point or two off), ink where the issued name has none is new writing, and
//! the issued name's ink that the box no longer shows was covered or rubbed out.

use image::GrayImage;
use serde::{Deserialize, Serialize};

use super::ink::{self, Grid};
use super::page_map::PageToImage;
use crate::form::Rect;

/// Read this far inside the box's border, in points: the name is drawn 2 mm
/// from the left edge and centred on its height, clear of it.
const EDGE: f64 = 4.0;
/// New ink is looked for this much further in (so 6 pt inside the border): a
/// border the map placed a little off must not read as writing.
const NEW_INK_EDGE: f64 = 2.0;
/// The map's error that a shift makes good, in points either way.
const SHIFT_PT: f64 = 4.0;
/// The name's ink samples the shift search weighs at most.
const MAX_SHIFT_SAMPLES: usize = 3000;
/// The issued name's region: its ink's bounding box grown by this (points).
const REGION_PT: f64 = 1.5;
/// New writing is made of pieces at least this long (mm): dust and toner
/// specks are not writing.
const NEW_STROKE_MM: f64 = 1.0;

/// A crop of the box shows this much round it (points) ...
const CROP_MARGIN_PT: f64 = 6.0;
/// ... at this resolution (2 px/pt, 144 dpi: handwriting reads clearly).
pub const CROP_PX_PER_PT: f64 = 2.0;

/// What the office is told when the name box of a form issued to a person
/// shows something else than the name printed in it.
pub const NOT_AS_ISSUED: &str =
    "the name box does not show the name it was issued with: check by eye";

/// The box must look this much like the issued name drawn alone (the
/// correlation of their greys over the name's region, 1 for the same drawing).
pub const MIN_LIKENESS: f64 = 0.6;
/// New ink outside the name beyond this share of the name's own ink is
/// writing beside it.
pub const MAX_NEW: f64 = 0.1;
/// And new ink must be at least this much (square points, about a 6 mm pen
/// stroke) to count: a tiny name must not turn a speck into writing.
const MIN_NEW_AREA: f64 = 5.0;

/// The name box of a return beside the issued name drawn alone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NameBox {
    /// How alike the two are where the name is printed: the correlation of
    /// their greys, from 1 (the same) down.
    pub likeness: f64,
    /// Ink in the box away from the name, as a share of the name's own ink.
    pub new_ink: f64,
    /// That ink's area in square points.
    pub new_area: f64,
}

impl NameBox {
    pub fn shows_issued_name(&self) -> bool {
        self.likeness >= MIN_LIKENESS && !(self.new_ink > MAX_NEW && self.new_area >= MIN_NEW_AREA)
    }

    /// "likeness 0.97 (counts from 0.60); other ink 0% of the name's (counts from 10%)".
    pub fn said(&self) -> String {
        format!(
            "likeness to the issued name {:.2} (must be {MIN_LIKENESS:.2} or more); \
             other ink {:.0}% of the name's own (counts from {:.0}%)",
            self.likeness,
            self.new_ink * 100.0,
            MAX_NEW * 100.0
        )
    }
}

/// Draws page 1 of a PDF (given as bytes) at a resolution in dots per inch.
pub type RenderAt<'a> = dyn Fn(&[u8], f32) -> Result<GrayImage, String> + 'a;

/// Compares the box `rect` of a page of `page_height` points, seen in `image`
/// through `map`, with `issued_name` drawn alone in it as the form draws it.
pub fn compare(
    image: &GrayImage,
    map: &PageToImage,
    rect: &Rect,
    page_height: f64,
    issued_name: &str,
    render: &RenderAt,
) -> Result<NameBox, String> {
    let seen = Grid::sample(
        image,
        map,
        rect,
        page_height,
        (EDGE, ink::Rules::Anywhere),
        ink::DARK,
    )
    .ok_or("the name box is too small to read")?;
    let (cols, rows, step) = (seen.cols, seen.rows, seen.step);
    let area = Rect {
        x0: seen.left,
        x1: seen.left + cols as f64 * step,
        y0: seen.top - rows as f64 * step,
        y1: seen.top,
    };
    let pdf = crate::form::stamp::value_alone(rect, issued_name, &area)
        .map_err(|e| format!("the issued name cannot be drawn: {e}"))?;
    let drawn = render(&pdf, (72.0 / step) as f32)?;
    // The name drawn alone, as ink (0 paper, 255 black) on the same grid.
    let mut drawn_ink = vec![0u8; cols * rows];
    for r in 0..rows.min(drawn.height() as usize) {
        for c in 0..cols.min(drawn.width() as usize) {
            drawn_ink[r * cols + c] = 255 - drawn.get_pixel(c as u32, r as u32).0[0];
        }
    }
    let seen_ink: Vec<u8> = seen.grey.iter().map(|g| 255 - g).collect();
    let reach = (SHIFT_PT / step).ceil() as isize;
    let (dy, dx) = best_shift(&seen_ink, &drawn_ink, cols, rows, reach);
    let issued = shifted(&drawn_ink, cols, rows, dy, dx);
    let name_ink = issued.iter().filter(|&&v| v >= 128).count();
    // The name's region: where its ink is, and a little round it.
    let (mut r0, mut r1, mut c0, mut c1) = (rows, 0, cols, 0);
    for (i, _) in issued.iter().enumerate().filter(|(_, v)| **v >= 64) {
        let (r, c) = (i / cols, i % cols);
        (r0, r1, c0, c1) = (r0.min(r), r1.max(r), c0.min(c), c1.max(c));
    }
    if name_ink == 0 || r1 < r0 {
        return Err("the issued name draws nothing in its box".into());
    }
    let grow = (REGION_PT / step).ceil() as usize;
    let (r0, r1) = (r0.saturating_sub(grow), (r1 + grow).min(rows - 1));
    let (c0, c1) = (c0.saturating_sub(grow), (c1 + grow).min(cols - 1));
    let in_region = |i: usize| {
        let (r, c) = (i / cols, i % cols);
        (r0..=r1).contains(&r) && (c0..=c1).contains(&c)
    };
    let region: Vec<usize> = (0..cols * rows).filter(|&i| in_region(i)).collect();
    let likeness = correlation(
        region.iter().map(|&i| seen_ink[i] as f64),
        region.iter().map(|&i| issued[i] as f64),
    );
    let inner = (NEW_INK_EDGE / step).ceil() as usize;
    let away: Vec<bool> = (0..cols * rows)
        .map(|i| seen.dark[i] && !in_region(i))
        .collect();
    // Ink that comes in over the top edge is the signature above running
    // long (the signature box is just over the name box), not writing here.
    let from_above = reached_from_top(&away, cols, rows);
    let new: Vec<bool> = (0..cols * rows)
        .map(|i| {
            let (r, c) = (i / cols, i % cols);
            let inside = r >= inner && c >= inner && r + inner < rows && c + inner < cols;
            inside && away[i] && !from_above[i]
        })
        .collect();
    let new_count = ink::strokes(&new, cols, rows, seen.reach(NEW_STROKE_MM))
        .iter()
        .filter(|d| **d)
        .count();
    Ok(NameBox {
        likeness,
        new_ink: new_count as f64 / name_ink as f64,
        new_area: new_count as f64 * step * step,
    })
}

/// The name box as the return shows it, upright, with a margin round it, at
/// [`CROP_PX_PER_PT`]: for the office to check by eye.
pub fn crop(image: &GrayImage, map: &PageToImage, rect: &Rect, page_height: f64) -> GrayImage {
    let (left, top) = (
        rect.x0 - CROP_MARGIN_PT,
        page_height - rect.y1 - CROP_MARGIN_PT,
    );
    let width = ((rect.x1 - rect.x0 + 2.0 * CROP_MARGIN_PT) * CROP_PX_PER_PT).clamp(1.0, 4000.0);
    let height = ((rect.y1 - rect.y0 + 2.0 * CROP_MARGIN_PT) * CROP_PX_PER_PT).clamp(1.0, 1000.0);
    let (w, h) = image.dimensions();
    GrayImage::from_fn(width as u32, height as u32, |x, y| {
        let p = map.map(
            left + x as f64 / CROP_PX_PER_PT,
            top + y as f64 / CROP_PX_PER_PT,
        );
        let (px, py) = (p.x.round(), p.y.round());
        match px >= 0.0 && py >= 0.0 && (px as u32) < w && (py as u32) < h {
            true => *image.get_pixel(px as u32, py as u32),
            false => image::Luma([255]),
        }
    })
}

/// The samples of `mask` joined (8-connected) to its top row.
fn reached_from_top(mask: &[bool], cols: usize, rows: usize) -> Vec<bool> {
    let mut reached = vec![false; mask.len()];
    let mut stack: Vec<usize> = (0..cols.min(mask.len())).filter(|&c| mask[c]).collect();
    for &at in &stack {
        reached[at] = true;
    }
    while let Some(at) = stack.pop() {
        for next in ink::neighbours(at, cols, rows) {
            if mask[next] && !reached[next] {
                reached[next] = true;
                stack.push(next);
            }
        }
    }
    reached
}

/// Pearson's correlation of two series; 0 when either is flat (a box with
/// nothing in it is not like a name).
fn correlation(a: impl Iterator<Item = f64>, b: impl Iterator<Item = f64>) -> f64 {
    let (mut n, mut sa, mut sb, mut saa, mut sbb, mut sab) = (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
    for (x, y) in a.zip(b) {
        n += 1.0;
        sa += x;
        sb += y;
        saa += x * x;
        sbb += y * y;
        sab += x * y;
    }
    let va = saa - sa * sa / n.max(1.0);
    let vb = sbb - sb * sb / n.max(1.0);
    match va > 1e-9 && vb > 1e-9 {
        true => (sab - sa * sb / n) / (va * vb).sqrt(),
        false => 0.0,
    }
}

/// The shift (rows, columns) of the `issued` ink within `reach` that lays it
/// on the most `seen` ink; no shift when nothing overlaps.
fn best_shift(
    seen: &[u8],
    issued: &[u8],
    cols: usize,
    rows: usize,
    reach: isize,
) -> (isize, isize) {
    let all: Vec<usize> = (0..cols * rows).filter(|&i| issued[i] >= 64).collect();
    // A fine scan (600 dpi and up) has tens of thousands of name samples and
    // a wide search: an even subset of them finds the same shift, in bounded time.
    let stride = all.len().div_ceil(MAX_SHIFT_SAMPLES).max(1);
    let ink: Vec<(isize, isize, u64)> = all
        .into_iter()
        .step_by(stride)
        .map(|i| ((i / cols) as isize, (i % cols) as isize, issued[i] as u64))
        .collect();
    let mut best: (u64, (isize, isize)) = (0, (0, 0));
    for dy in -reach..=reach {
        for dx in -reach..=reach {
            let score: u64 = ink
                .iter()
                .filter_map(|&(r, c, weight)| {
                    let (r, c) = (r + dy, c + dx);
                    let inside = r >= 0 && c >= 0 && (r as usize) < rows && (c as usize) < cols;
                    inside.then(|| weight * seen[r as usize * cols + c as usize] as u64)
                })
                .sum();
            // Ties go to the smaller shift: the map is usually right.
            let better = score > best.0
                || (score == best.0 && dy.abs() + dx.abs() < best.1.0.abs() + best.1.1.abs());
            if better {
                best = (score, (dy, dx));
            }
        }
    }
    best.1
}

fn shifted(ink: &[u8], cols: usize, rows: usize, dy: isize, dx: isize) -> Vec<u8> {
    let mut out = vec![0; ink.len()];
    for (i, &v) in ink.iter().enumerate().filter(|(_, v)| **v > 0) {
        let (r, c) = ((i / cols) as isize + dy, (i % cols) as isize + dx);
        if r >= 0 && c >= 0 && (r as usize) < rows && (c as usize) < cols {
            out[r as usize * cols + c as usize] = v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drawing_moved_by_the_map_is_found_by_the_search() {
        let (cols, rows) = (40, 20);
        let mut issued = vec![0u8; cols * rows];
        for c in 5..15 {
            issued[8 * cols + c] = 255;
            issued[(8 + c % 4) * cols + c] = 200;
        }
        let seen = shifted(&issued, cols, rows, 2, -3);
        assert_eq!(best_shift(&seen, &issued, cols, rows, 4), (2, -3));
    }

    #[test]
    fn likeness_is_one_for_the_same_drawing_and_nothing_for_an_empty_box() {
        let a = [0.0, 200.0, 10.0, 255.0, 0.0];
        assert!((correlation(a.iter().copied(), a.iter().copied()) - 1.0).abs() < 1e-9);
        assert_eq!(
            correlation(a.iter().copied(), [0.0; 5].iter().copied()),
            0.0
        );
    }
}
