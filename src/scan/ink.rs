//! Is there writing in a box? The register knows each box's rectangle on the
//! page; the QR code's corners give the map from page to scan. The box is sampled
//! on a grid in its own coordinates, so a turned or skewed scan is read straight.
//!
//! The blank form's own ink in a box is its border and nothing else (pre-filled
//! values are known from the register), so the border is what must not count: the
//! box is read a little inside its edges, and any row or column of samples that is
//! mostly dark (a rule line that the map placed a pixel or two off) is dropped.
//!
//! Ink is counted in strokes, not pixels: dark samples are joined into connected
//! pieces, and a piece smaller than any pen stroke (dust, toner specks, a copier's
//! grain) does not count, however many of them there are.

use image::GrayImage;

use super::page_map::PageToImage;
use crate::form::Rect;

/// Keep this far inside a box's printed border, in points (2.5 mm): it absorbs the
/// error of a map fixed by a 15 mm code 25 cm away.
const INSET: f64 = 7.0;

/// A pixel darker than this is ink. Scans put paper at 200-250 and pen at 0-120.
pub(crate) const DARK: u8 = 140;

/// A box counts as written in when this fraction of its interior is ink. A
/// signature covers 2-8% of its box, a date 1.5-4% of its line; scanner noise and
/// dust stay under 0.3%.
pub const WRITTEN: f64 = 0.008;

/// A piece of ink counts when it reaches this far (in mm, across or down): the
/// smallest mark a pen leaves in a date or signature (a "1", a dot of an "i" drawn
/// as a dash) is 1.5 mm or more; dust and toner specks are under 0.5 mm.
pub const MIN_STROKE_MM: f64 = 1.5;

/// The ink measured in one box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ink {
    /// Fraction of the sampled interior that is dark, rule lines excluded.
    pub fraction: f64,
    /// Number of samples taken.
    pub samples: usize,
}

impl Ink {
    pub fn written(&self) -> bool {
        self.fraction >= WRITTEN && self.samples > 0
    }
}

/// A tick box is read closer to its border (1.4 mm): an 8 mm box read 2.5 mm
/// inside would leave 3 mm of it, which a tick can miss. Its border is still
/// kept out, as the rule lines of a box placed a little off are dropped.
const TICK_INSET: f64 = 4.0;

/// Where a printed rule line (a box's border the map placed a little off) may
/// be found, to be cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rules {
    /// Any mostly dark row or column.
    Anywhere,
    /// Only within [`RULES_NEAR_EDGE`] of the sampled area's edges.
    NearEdges,
}

/// How far inside a tick box's sampled area a border placed off may reach,
/// in points (1 mm: the worst error of a 300-dpi scan's map).
const RULES_NEAR_EDGE: f64 = 2.9;

/// Measures the ink inside `rect` (PDF points, origin bottom-left) on a page of
/// `page_height` points scanned as `image` and mapped by `map`.
pub fn measure(image: &GrayImage, map: &PageToImage, rect: &Rect, page_height: f64) -> Ink {
    ink_of(Grid::sample(
        image,
        map,
        rect,
        page_height,
        (INSET, Rules::Anywhere),
        DARK,
    ))
}

/// As [`measure`], for a Yes/No tick box. A box filled in or scribbled over
/// is mostly dark in every row: only rows and columns near its edges, where
/// a border placed a little off can fall, are taken for rule lines.
pub fn measure_tick_box(
    image: &GrayImage,
    map: &PageToImage,
    rect: &Rect,
    page_height: f64,
) -> Ink {
    ink_of(Grid::sample(
        image,
        map,
        rect,
        page_height,
        (TICK_INSET, Rules::NearEdges),
        DARK,
    ))
}

/// The share of a sampled box in strokes; none for a box with nothing left
/// to sample.
fn ink_of(grid: Option<Grid>) -> Ink {
    let Some(grid) = grid else {
        return Ink {
            fraction: 0.0,
            samples: 0,
        };
    };
    let samples = grid.samples;
    let ink = stroke_samples(&grid.dark, grid.cols, grid.rows, grid.reach(MIN_STROKE_MM));
    Ink {
        fraction: match samples {
            0 => 0.0,
            n => ink as f64 / n as f64,
        },
        samples,
    }
}

/// A box read on a grid in its own coordinates: one sample per image pixel,
/// row 0 at the top, dark where the scan is darker than a threshold, and the
/// rows and columns of a rule line (a border the map placed a pixel or two
/// off) cleared.
pub(crate) struct Grid {
    pub dark: Vec<bool>,
    /// The scan's grey at each sample (0 black, 255 paper).
    pub grey: Vec<u8>,
    pub cols: usize,
    pub rows: usize,
    /// Points between samples.
    pub step: f64,
    /// Samples outside the rule lines.
    pub samples: usize,
    /// The sampled area's left and top edges on the page, in points (x right,
    /// y up as PDF has it).
    pub left: f64,
    pub top: f64,
}

impl Grid {
    /// Samples `rect` less `inset` points on every side, clearing the rule
    /// lines `rules` allows; `None` when nothing is left of it or it would take
    /// more than four million samples.
    pub fn sample(
        image: &GrayImage,
        map: &PageToImage,
        rect: &Rect,
        page_height: f64,
        (inset, rules): (f64, Rules),
        dark_below: u8,
    ) -> Option<Self> {
        let rules_within = match rules {
            Rules::Anywhere => None,
            Rules::NearEdges => Some(RULES_NEAR_EDGE),
        };
        // Page coordinates with y down, as the map wants them.
        let (left, right) = (rect.x0 + inset, rect.x1 - inset);
        let (top, bottom) = (page_height - rect.y1 + inset, page_height - rect.y0 - inset);
        if right <= left || bottom <= top {
            return None;
        }
        // One sample per image pixel, whatever the scan's resolution.
        let step = 1.0
            / map
                .scale_at((left + right) / 2.0, (top + bottom) / 2.0)
                .max(0.1);
        let cols = ((right - left) / step).ceil() as usize;
        let rows = ((bottom - top) / step).ceil() as usize;
        if cols == 0 || rows == 0 || cols * rows > 4_000_000 {
            return None;
        }
        let (w, h) = image.dimensions();
        // Outside the image (a page cut off by the scanner) reads as paper.
        let mut grey = vec![255u8; cols * rows];
        let pixels = image.as_raw();
        for r in 0..rows {
            for c in 0..cols {
                let p = map.map(left + c as f64 * step, top + r as f64 * step);
                // The nearest pixel, rounding by a cast: x86-64's baseline has
                // no rounding instruction, and `f64::round` as a call was a
                // tenth of this loop. Above -0.5 the two agree.
                if p.x > -0.5 && p.y > -0.5 {
                    let (x, y) = ((p.x + 0.5) as u32, (p.y + 0.5) as u32);
                    if x < w && y < h {
                        grey[r * cols + c] = pixels[y as usize * w as usize + x as usize];
                    }
                }
            }
        }
        let mut dark: Vec<bool> = grey.iter().map(|&g| g < dark_below).collect();
        // Where a rule line may be: anywhere, or only near the edges.
        let band = rules_within.map(|points| (points / step).ceil() as usize);
        let may_be_rule = |at: usize, of: usize| band.is_none_or(|b| at < b || at + b >= of);
        // Rule lines: rows or columns that are mostly dark.
        let row_line: Vec<bool> = (0..rows)
            .map(|r| {
                may_be_rule(r, rows)
                    && dark[r * cols..(r + 1) * cols]
                        .iter()
                        .filter(|d| **d)
                        .count()
                        * 10
                        > cols * 6
            })
            .collect();
        let col_line: Vec<bool> = (0..cols)
            .map(|c| {
                may_be_rule(c, cols)
                    && (0..rows).filter(|r| dark[r * cols + c]).count() * 10 > rows * 6
            })
            .collect();
        let samples = (0..rows).filter(|r| !row_line[*r]).count()
            * (0..cols).filter(|c| !col_line[*c]).count();
        for r in 0..rows {
            for c in 0..cols {
                if row_line[r] || col_line[c] {
                    dark[r * cols + c] = false;
                }
            }
        }
        Some(Self {
            dark,
            grey,
            cols,
            rows,
            step,
            samples,
            left,
            top: page_height - top,
        })
    }

    /// How many samples a piece must reach across or down to be `mm` long.
    pub fn reach(&self, mm: f64) -> usize {
        (mm / (self.step * 25.4 / 72.0)).ceil().max(2.0) as usize
    }
}

/// The samples next to sample `at` of a `cols` × `rows` grid, through corners
/// as well as edges (pieces of ink are 8-connected).
pub(crate) fn neighbours(at: usize, cols: usize, rows: usize) -> impl Iterator<Item = usize> {
    let (r, c) = ((at / cols) as isize, (at % cols) as isize);
    NEIGHBOURS.into_iter().filter_map(move |(dr, dc)| {
        let (nr, nc) = (r + dr, c + dc);
        let inside = nr >= 0 && nc >= 0 && nr < rows as isize && nc < cols as isize;
        inside.then(|| nr as usize * cols + nc as usize)
    })
}

const NEIGHBOURS: [(isize, isize); 8] = [
    (-1, -1),
    (-1, 0),
    (-1, 1),
    (0, -1),
    (0, 1),
    (1, -1),
    (1, 0),
    (1, 1),
];

/// How many of the `dark` samples lie in pieces (8-connected) that reach at
/// least `min_reach` samples across or down: the strokes, without the specks.
fn stroke_samples(dark: &[bool], cols: usize, rows: usize, min_reach: usize) -> usize {
    strokes(dark, cols, rows, min_reach)
        .iter()
        .filter(|s| **s)
        .count()
}

/// The `dark` samples that lie in pieces (8-connected) reaching at least
/// `min_reach` samples across or down.
pub(crate) fn strokes(dark: &[bool], cols: usize, rows: usize, min_reach: usize) -> Vec<bool> {
    let mut seen = vec![false; dark.len()];
    let mut kept = vec![false; dark.len()];
    let mut stack = Vec::new();
    let mut piece = Vec::new();
    for start in 0..dark.len() {
        if !dark[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        piece.clear();
        let (mut x0, mut x1, mut y0, mut y1) = (cols, 0, rows, 0);
        while let Some(at) = stack.pop() {
            let (r, c) = (at / cols, at % cols);
            piece.push(at);
            (x0, x1, y0, y1) = (x0.min(c), x1.max(c), y0.min(r), y1.max(r));
            for next in neighbours(at, cols, rows) {
                if dark[next] && !seen[next] {
                    seen[next] = true;
                    stack.push(next);
                }
            }
        }
        if (x1 - x0 + 1).max(y1 - y0 + 1) >= min_reach {
            for &at in &piece {
                kept[at] = true;
            }
        }
    }
    kept
}

/// The fraction of a page that is ink, ignoring a margin where scanners leave
/// shadows: what tells a duplex back from a page that lost its code.
pub fn page_ink(image: &GrayImage) -> f64 {
    let (w, h) = image.dimensions();
    let (mx, my) = (w / 20, h / 20);
    let (mut dark, mut total) = (0u64, 0u64);
    let (left, right) = (mx as usize, w.saturating_sub(mx) as usize);
    // Every second pixel in each direction is plenty for a yes/no.
    for row in image
        .as_raw()
        .chunks_exact(w.max(1) as usize)
        .take(h.saturating_sub(my) as usize)
        .skip(my as usize)
        .step_by(2)
    {
        let inner = row.get(left..right).unwrap_or_default();
        total += inner.len().div_ceil(2) as u64;
        dark += inner.iter().step_by(2).filter(|&&g| g < DARK).count() as u64;
    }
    match total {
        0 => 0.0,
        n => dark as f64 / n as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borders_do_not_count_but_writing_does() {
        // A 200 × 60 pt box on a 300 × 300 pt page at 2 px/pt.
        let mut image = GrayImage::from_pixel(600, 600, image::Luma([235]));
        let rect = Rect {
            x0: 50.0,
            y0: 100.0,
            x1: 250.0,
            y1: 160.0,
        };
        let page_height = 300.0;
        // The border, drawn 2 px off where the map expects it, 2 px thick.
        let (top, bottom) = ((page_height - rect.y1) * 2.0, (page_height - rect.y0) * 2.0);
        for x in 100..500 {
            for t in 0..2 {
                image.put_pixel(x, top as u32 + 2 + t, image::Luma([20]));
                image.put_pixel(x, bottom as u32 + 2 + t, image::Luma([20]));
            }
        }
        for y in top as u32..bottom as u32 {
            for t in 0..2 {
                image.put_pixel(102 + t, y, image::Luma([20]));
                image.put_pixel(498 + t, y, image::Luma([20]));
            }
        }
        let map = PageToImage::scaled(2.0);
        let empty = measure(&image, &map, &rect, page_height);
        assert!(!empty.written(), "{empty:?}");
        assert!(empty.fraction < 0.001);
        // A scribble across the middle.
        for x in 150..420 {
            let y = (top + bottom) / 2.0 + ((x as f64) / 9.0).sin() * 15.0;
            for t in 0..3 {
                image.put_pixel(x, y as u32 + t, image::Luma([40]));
            }
        }
        let signed = measure(&image, &map, &rect, page_height);
        assert!(signed.written(), "{signed:?}");
    }

    /// A tick box filled in read as 0% ink: every row of it was dark, so
    /// every row was cleared as if it were the box's border.
    #[test]
    fn a_tick_box_scribbled_over_reads_as_mostly_ink_not_as_empty() {
        // An 8 mm (22.7 pt) box at 4 px/pt, its border 2 px off where the
        // map expects it.
        let mut image = GrayImage::from_pixel(400, 400, image::Luma([235]));
        let rect = Rect {
            x0: 40.0,
            y0: 40.0,
            x1: 62.7,
            y1: 62.7,
        };
        let page_height = 100.0;
        let map = PageToImage::scaled(4.0);
        let (left, top) = (rect.x0 * 4.0, (page_height - rect.y1) * 4.0);
        let side = (rect.x1 - rect.x0) * 4.0;
        for i in 0..side as u32 {
            for t in 0..2 {
                for (x, y) in [
                    (left as u32 + i, top as u32 + 2 + t),
                    (left as u32 + i, (top + side) as u32 + 2 + t),
                    (left as u32 + 2 + t, top as u32 + i),
                    ((left + side) as u32 + 2 + t, top as u32 + i),
                ] {
                    image.put_pixel(x, y, image::Luma([20]));
                }
            }
        }
        let empty = measure_tick_box(&image, &map, &rect, page_height);
        assert!(empty.fraction < 0.01, "{empty:?}");
        // Filled in, line by line, leaving a millimetre at each side.
        for y in (top + 12.0) as u32..(top + side - 12.0) as u32 {
            for x in (left + 12.0) as u32..(left + side - 12.0) as u32 {
                image.put_pixel(x, y, image::Luma([30]));
            }
        }
        let filled = measure_tick_box(&image, &map, &rect, page_height);
        assert!(filled.fraction > 0.6, "{filled:?}");
        // Read as a signature box is read, it would have been cleared.
        let cleared = Grid::sample(
            &image,
            &map,
            &rect,
            page_height,
            (TICK_INSET, Rules::Anywhere),
            DARK,
        )
        .unwrap();
        assert!(cleared.dark.iter().all(|d| !d));
    }

    #[test]
    fn blank_pages_have_almost_no_ink() {
        let image = GrayImage::from_pixel(200, 300, image::Luma([240]));
        assert_eq!(page_ink(&image), 0.0);
    }
}
