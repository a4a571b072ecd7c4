//! Finding a page's QR code wherever its corner landed. A form's code sits in the
//! top-right corner of the upright page, so on a scan turned by a multiple of 90°
//! it is in one of the four corners: those are searched first, at the resolution
//! the page came at, and only a page that fails everywhere is searched whole.
//!
//! Decoder: rqrr (pure Rust). It reads codes in any orientation and with a few
//! degrees of skew, and on a corner crop it takes a few milliseconds, so the speed
//! that zxing-cpp has on whole pages matters less than a C++ build we avoid.

use image::GrayImage;

use super::page_map::Px;
use crate::form::{PagePayload, PayloadError};

/// A decoded code: what it says and where its corners are in the page image
/// (top-left, top-right, bottom-right, bottom-left of the symbol itself).
#[derive(Debug, Clone)]
pub struct Found {
    pub text: String,
    pub corners: [Px; 4],
}

impl Found {
    /// Our payload, or why the code is not one of ours.
    pub fn payload(&self) -> Result<PagePayload, PayloadError> {
        PagePayload::decode(&self.text)
    }

    /// How far the page is turned, in quarter turns clockwise (0 = upright), from
    /// the direction of the code's top edge.
    pub fn quarter_turns(&self) -> u8 {
        let [tl, tr, ..] = self.corners;
        let angle = (tr.y - tl.y).atan2(tr.x - tl.x).to_degrees();
        (((angle + 45.0).rem_euclid(360.0)) / 90.0) as u8 % 4
    }
}

/// The fraction of each side searched in a corner: the code's quiet zone ends
/// about 31 mm from the top and 31 mm from the right of an A4 page (10% and 15%),
/// and a skewed or offset scan moves it a little.
const CORNER: f64 = 0.24;

/// Other corner sizes tried when a code was seen but did not decode: rqrr's
/// threshold adapts to what is in the crop, so a slightly different crop often
/// reads a code that noise spoiled in the first.
const CORNER_RETRIES: [f64; 3] = [0.19, 0.30, 0.40];

/// Searches the four corners, then (if `whole_page`) the whole page. A page may
/// carry another system's code too (a document tracker's sticker): a code that is
/// not ours never stops the search for ours. It is returned only when ours is
/// nowhere and the search was the last one (`whole_page`), so the page is
/// reported as not one of ours rather than read again sharper.
pub fn find(page: &GrayImage, whole_page: bool) -> Option<Found> {
    let (w, h) = page.dimensions();
    let crop = |fraction: f64| {
        let (cw, ch) = ((w as f64 * fraction) as u32, (h as f64 * fraction) as u32);
        [
            (w - cw, 0, cw, ch),
            (0, 0, cw, ch),
            (0, h - ch, cw, ch),
            (w - cw, h - ch, cw, ch),
        ]
    };
    let mut foreign: Option<Found> = None;
    let mut ours = |decoded: Decoded| match decoded {
        Decoded::Code(found) if found.payload().is_ok() => Some(found),
        Decoded::Code(found) => {
            foreign.get_or_insert(found);
            None
        }
        _ => None,
    };
    let mut seen = Vec::new();
    for (i, (x, y, cw, ch)) in crop(CORNER).into_iter().enumerate() {
        match decode_region(page, x, y, cw, ch) {
            Decoded::Unreadable => seen.push(i),
            decoded => {
                if let Some(found) = ours(decoded) {
                    return Some(found);
                }
            }
        }
    }
    // A code was there but did not decode: the same corner, cropped otherwise.
    for fraction in CORNER_RETRIES {
        for &i in &seen {
            let (x, y, cw, ch) = crop(fraction)[i];
            if let Some(found) = ours(decode_region(page, x, y, cw, ch)) {
                return Some(found);
            }
        }
    }
    // Dust and toner specks on the glass break the finder patterns' runs: the
    // corners again, each speck smoothed away (a 3×3 median keeps modules,
    // which are three pixels or more).
    for (x, y, cw, ch) in crop(CORNER) {
        let despeckled = median3(page, x, y, cw, ch);
        if let Some(mut found) = ours(decode_region(&despeckled, 0, 0, cw, ch)) {
            for corner in &mut found.corners {
                corner.x += x as f64;
                corner.y += y as f64;
            }
            return Some(found);
        }
    }
    if !whole_page {
        return None;
    }
    if seen.is_empty() {
        // Nothing of ours in any corner: a photo, or a page that is not where a
        // scan puts it. Larger corners first, then the whole page.
        for fraction in CORNER_RETRIES {
            for (x, y, cw, ch) in crop(fraction) {
                if let Some(found) = ours(decode_region(page, x, y, cw, ch)) {
                    return Some(found);
                }
            }
        }
    }
    if let Some(found) = ours(decode_region(page, 0, 0, w, h)) {
        return Some(found);
    }
    foreign
}

/// The region `(x0, y0, w, h)` of `page` through a 3×3 median filter.
fn median3(page: &GrayImage, x0: u32, y0: u32, w: u32, h: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        let mut window = [0u8; 9];
        let mut n = 0;
        for dy in [-1i64, 0, 1] {
            for dx in [-1i64, 0, 1] {
                let sx = (x0 as i64 + x as i64 + dx).clamp(x0 as i64, (x0 + w - 1) as i64);
                let sy = (y0 as i64 + y as i64 + dy).clamp(y0 as i64, (y0 + h - 1) as i64);
                window[n] = page.get_pixel(sx as u32, sy as u32).0[0];
                n += 1;
            }
        }
        window.select_nth_unstable(4);
        image::Luma([window[4]])
    })
}

enum Decoded {
    Code(Found),
    /// A code's finder patterns were found but its data did not decode.
    Unreadable,
    Nothing,
}

fn decode_region(page: &GrayImage, x0: u32, y0: u32, w: u32, h: u32) -> Decoded {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            page.get_pixel(x0 + x as u32, y0 + y as u32).0[0]
        });
    let mut first_foreign = None;
    let mut unreadable = false;
    for grid in prepared.detect_grids() {
        let Ok((_, text)) = grid.decode() else {
            unreadable = true;
            continue;
        };
        let corners = grid.bounds.map(|p| Px {
            x: x0 as f64 + p.x as f64,
            y: y0 as f64 + p.y as f64,
        });
        let found = Found { text, corners };
        // Prefer our code when a page carries others (a poster's QR, say).
        match found.payload() {
            Ok(_) => return Decoded::Code(found),
            Err(_) => first_foreign = first_foreign.or(Some(found)),
        }
    }
    match (first_foreign, unreadable) {
        (_, true) => Decoded::Unreadable,
        (Some(found), false) => Decoded::Code(found),
        (None, false) => Decoded::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarter_turns_follow_the_top_edge() {
        let found = |tl: (f64, f64), tr: (f64, f64)| Found {
            text: String::new(),
            corners: [
                Px { x: tl.0, y: tl.1 },
                Px { x: tr.0, y: tr.1 },
                Px { x: 0.0, y: 0.0 },
                Px { x: 0.0, y: 0.0 },
            ],
        };
        assert_eq!(found((0.0, 0.0), (10.0, 0.3)).quarter_turns(), 0);
        assert_eq!(found((0.0, 0.0), (0.0, 10.0)).quarter_turns(), 1);
        assert_eq!(found((10.0, 0.0), (0.0, -0.5)).quarter_turns(), 2);
        assert_eq!(found((0.0, 10.0), (0.2, 0.0)).quarter_turns(), 3);
    }
}
