//! Finding a page's identity marks wherever its corners landed. A form carries
//! three QR codes, top-right, bottom-left and top-left (forms issued before the
//! margin marks carry the first only), so on a scan turned by a multiple of 90° a
//! code is in one of the four corners: those are searched first, at the
//! resolution the page came at, and only a page that fails everywhere is searched
//! whole. Once one mark is read, the others are looked for where it says they are.
//!
//! Two decoders. rqrr (pure Rust) reads the first mark of a page, in the
//! corners: it refits each code's perspective over 81 passes of its grid, so its
//! corners are the most exact, and the map of the whole page starts from them (a
//! photo in perspective: 0.12 mm worst box error, against 0.79 mm from the
//! corners of zxing-cpp's plain pass). zxing-cpp (the C++ library, built from
//! source by its crate) in one plain pass reads the other marks where the first
//! says they are, in a fraction of rqrr's time (its refitting was a quarter of
//! reading a simplex pile); rqrr reads what that pass missed. zxing-cpp trying
//! hard (every orientation, harder binarisation, downscaled) reads what rqrr
//! cannot: codes at 2-3 pixels a module, through a fold, a coffee ring or a
//! blot. Both run inside the reader worker, never in the ingest process.

use image::GrayImage;

use super::page_map::{Px, Seen};
use crate::form::stamp::QR_MODULES;
use crate::form::{Mark, PagePayload, PayloadError};

/// A decoded code: what it says and where its corners are in the page image
/// (top-left, top-right, bottom-right, bottom-left, as the symbol is upright).
#[derive(Debug, Clone)]
pub struct Found {
    pub text: String,
    pub corners: [Px; 4],
    /// How many modules the corners are apart: the decoders differ. zxing-cpp
    /// reports the symbol's outer corners (25 modules of a version 2 code); rqrr
    /// the corners of module coordinates 0 and size + 1 (26).
    pub span_modules: f64,
}

impl Found {
    /// Our payload, or why the code is not one of ours.
    pub fn payload(&self) -> Result<PagePayload, PayloadError> {
        PagePayload::decode(&self.text)
    }

    /// Our payload and which mark it is.
    pub fn mark(&self) -> Result<(PagePayload, Mark), PayloadError> {
        PagePayload::decode_mark(&self.text)
    }

    /// How far the page is turned, in quarter turns clockwise (0 = upright), from
    /// the direction of the code's top edge.
    pub fn quarter_turns(&self) -> u8 {
        let [tl, tr, ..] = self.corners;
        let angle = (tr.y - tl.y).atan2(tr.x - tl.x).to_degrees();
        (((angle + 45.0).rem_euclid(360.0)) / 90.0) as u8 % 4
    }

    /// Where the corners are on the page and in the image, given the symbol's
    /// square on the page (left, top, side in points).
    pub fn seen(&self, (left, top, side): (f64, f64, f64)) -> [Seen; 4] {
        let reach = side * self.span_modules / QR_MODULES as f64;
        let page = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)].map(|(u, v)| Px {
            x: left + u * reach,
            y: top + v * reach,
        });
        std::array::from_fn(|i| Seen {
            page: page[i],
            image: self.corners[i],
        })
    }

    fn moved_by(mut self, x: u32, y: u32) -> Self {
        for corner in &mut self.corners {
            corner.x += x as f64;
            corner.y += y as f64;
        }
        self
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
        if let Some(found) = ours(decode_region(&despeckled, 0, 0, cw, ch)) {
            return Some(found.moved_by(x, y));
        }
    }
    // What rqrr could not read, zxing-cpp may: the corners once more, a little
    // larger, with the stronger decoder.
    for (x, y, cw, ch) in crop(CORNER_RETRIES[1]) {
        if let Some(found) = ours(decode_zxing(page, x, y, cw, ch)) {
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
    if let Some(found) = ours(decode_zxing(page, 0, 0, w, h)) {
        return Some(found);
    }
    foreign
}

/// Looks for the mark `wanted` of the page that `payload` names, within the
/// region `(x, y, w, h)` of `page` (clamped to the page): each decoder in turn.
pub fn find_mark(
    page: &GrayImage,
    region: (i64, i64, i64, i64),
    payload: &PagePayload,
    wanted: Mark,
) -> Option<Found> {
    let (pw, ph) = (page.width() as i64, page.height() as i64);
    let (x0, y0) = (region.0.clamp(0, pw), region.1.clamp(0, ph));
    let (x1, y1) = (
        (region.0 + region.2).clamp(0, pw),
        (region.1 + region.3).clamp(0, ph),
    );
    if x1 - x0 < 16 || y1 - y0 < 16 {
        return None;
    }
    let (x, y, w, h) = (x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32);
    let is_wanted =
        |found: &Found| matches!(found.mark(), Ok((p, m)) if m == wanted && p == *payload);
    let attempts: [&dyn Fn() -> Vec<Found>; 4] = [
        &|| decode_zxing_all(page, x, y, w, h, Effort::Quick),
        &|| codes(decode_all(page, x, y, w, h)),
        &|| {
            let despeckled = median3(page, x, y, w, h);
            codes(decode_all(&despeckled, 0, 0, w, h))
                .into_iter()
                .map(|f| f.moved_by(x, y))
                .collect()
        },
        &|| decode_zxing_all(page, x, y, w, h, Effort::Hard),
    ];
    attempts
        .iter()
        .find_map(|attempt| attempt().into_iter().find(is_wanted))
}

fn codes(decoded: Vec<Result<Found, ()>>) -> Vec<Found> {
    decoded.into_iter().flatten().collect()
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

/// Every code rqrr sees in the region: decoded, or `Err` for one whose finder
/// patterns were found but whose data did not decode.
fn decode_all(page: &GrayImage, x0: u32, y0: u32, w: u32, h: u32) -> Vec<Result<Found, ()>> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            page.get_pixel(x0 + x as u32, y0 + y as u32).0[0]
        });
    prepared
        .detect_grids()
        .into_iter()
        .map(|grid| {
            let (_, text) = grid.decode().map_err(|_| ())?;
            let corners = grid.bounds.map(|p| Px {
                x: x0 as f64 + p.x as f64,
                y: y0 as f64 + p.y as f64,
            });
            Ok(Found {
                text,
                corners,
                span_modules: QR_MODULES as f64 + 1.0,
            })
        })
        .collect()
}

fn decode_region(page: &GrayImage, x0: u32, y0: u32, w: u32, h: u32) -> Decoded {
    classify(decode_all(page, x0, y0, w, h))
}

/// Ours first; else the first foreign code; else whether a code was seen.
fn classify(decoded: Vec<Result<Found, ()>>) -> Decoded {
    let mut first_foreign = None;
    let mut unreadable = false;
    for found in decoded {
        let Ok(found) = found else {
            unreadable = true;
            continue;
        };
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

fn decode_zxing(page: &GrayImage, x0: u32, y0: u32, w: u32, h: u32) -> Decoded {
    classify(
        decode_zxing_all(page, x0, y0, w, h, Effort::Hard)
            .into_iter()
            .map(Ok)
            .collect(),
    )
}

/// How hard zxing-cpp tries.
#[derive(Clone, Copy)]
enum Effort {
    /// One pass: the codes of a clean scan, with no retries; its corners, on a
    /// mark found where the first one says, keep the box-accuracy test's
    /// limits (0.05 mm on scans, 0.61 mm on photos).
    Quick,
    /// Every orientation, harder binarisation, downscaled retries: codes at
    /// 2-3 pixels a module, through a fold, a ring or a blot.
    Hard,
}

/// Every QR code zxing-cpp reads in the region.
fn decode_zxing_all(
    page: &GrayImage,
    x0: u32,
    y0: u32,
    w: u32,
    h: u32,
    effort: Effort,
) -> Vec<Found> {
    let (pw, ph) = page.dimensions();
    let Ok(view) =
        zxingcpp::ImageView::from_slice(page.as_raw(), pw, ph, zxingcpp::ImageFormat::Lum)
    else {
        return Vec::new();
    };
    let view = view.cropped(x0 as i32, y0 as i32, w as i32, h as i32);
    let hard = matches!(effort, Effort::Hard);
    let reader = zxingcpp::read()
        .formats([zxingcpp::BarcodeFormat::QRCode])
        .try_harder(hard)
        .try_rotate(hard)
        .try_invert(false)
        .try_downscale(hard);
    let Ok(codes) = reader.from(&view) else {
        return Vec::new();
    };
    codes
        .into_iter()
        .filter(|code| code.is_valid())
        .map(|code| {
            let p = code.position();
            let corner = |q: zxingcpp::PointI| Px {
                x: x0 as f64 + q.x as f64,
                y: y0 as f64 + q.y as f64,
            };
            Found {
                text: code.text(),
                corners: [
                    corner(p.top_left),
                    corner(p.top_right),
                    corner(p.bottom_right),
                    corner(p.bottom_left),
                ],
                span_modules: QR_MODULES as f64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 2 code at `module` pixels a module, its symbol's top-left corner
    /// at (`at`, `at`), on white.
    fn drawn_code(text: &str, module: u32, at: u32) -> GrayImage {
        let code = qrcode::QrCode::with_version(
            text.as_bytes(),
            qrcode::Version::Normal(2),
            qrcode::EcLevel::M,
        )
        .unwrap();
        let colors = code.to_colors();
        let n = code.width() as u32;
        GrayImage::from_fn(2 * at + n * module, 2 * at + n * module, |x, y| {
            let inside = x >= at && y >= at && x < at + n * module && y < at + n * module;
            let dark = inside
                && colors[(((y - at) / module) * n + (x - at) / module) as usize]
                    == qrcode::Color::Dark;
            image::Luma([if dark { 0 } else { 255 }])
        })
    }

    #[test]
    fn both_decoders_corners_map_onto_the_symbol_square() {
        let (module, at) = (8, 40);
        let image = drawn_code("AUPL:PAK-2526-0007-X:2/3:A1B2C3:0000", module, at);
        let (w, h) = image.dimensions();
        let rqrr = codes(decode_all(&image, 0, 0, w, h));
        let zxing: Vec<Found> = [Effort::Quick, Effort::Hard]
            .into_iter()
            .flat_map(|effort| decode_zxing_all(&image, 0, 0, w, h, effort))
            .collect();
        for found in rqrr.iter().chain(&zxing) {
            // The symbol's square is 25 modules from (at, at), whatever the
            // decoder's own convention for its corners.
            let side = 25.0 * module as f64;
            for seen in found.seen((at as f64, at as f64, side)) {
                assert!(
                    (seen.page.x - seen.image.x).hypot(seen.page.y - seen.image.y) <= 1.5,
                    "span {}: {seen:?}",
                    found.span_modules
                );
            }
        }
        assert_eq!((rqrr.len(), zxing.len()), (1, 2));
    }

    #[test]
    fn quarter_turns_follow_the_top_edge() {
        let found = |tl: (f64, f64), tr: (f64, f64)| Found {
            text: String::new(),
            span_modules: 26.0,
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
