//! Where an identified page lies in its image: the map from the form's page to
//! the pixels, fixed by the mark that identified the page and, where they read
//! too, the others, each looked for where the first says it must be.

use image::GrayImage;

use super::page_map::{PageToImage, Seen};
use super::qr;
use crate::form::stamp::mark_square;
use crate::form::{Mark, PagePayload};

/// How far, in millimetres on the page, the fitted map may put a mark's corner
/// from where it was read before that mark is distrusted: decoders place corners
/// to a tenth of a millimetre, perspective is fitted exactly.
const DISAGREEMENT_MM: f64 = 1.0;

/// How far round where the map puts another mark it is searched for, in
/// millimetres beyond the mark's own square: near first, then far.
const SEARCH_MM: [f64; 2] = [8.0, 25.0];

/// The map from the form's page to `image`, from the mark that identified it
/// and the others that read: marks at three corners fix scale, turn and
/// perspective across the page; one alone fixes an affine map extrapolated from
/// its corners.
pub fn page_map(
    image: &GrayImage,
    code: &qr::Found,
    payload: &PagePayload,
    width: f64,
    height: f64,
) -> PageToImage {
    let mark = code.mark().map(|(_, mark)| mark).unwrap_or(Mark::TopRight);
    let mut seen: Vec<Seen> = code.seen(mark_square(mark, width, height)).to_vec();
    let Some(mut map) = PageToImage::fit(&seen) else {
        return PageToImage::scaled(image.width() as f64 / width);
    };
    // The nearest mark first, then the map refitted on what was found, so that
    // the furthest is looked for through a map fixed at two places.
    let at = |m: Mark| {
        let (left, top, side) = mark_square(m, width, height);
        (left + side / 2.0, top + side / 2.0)
    };
    let (fx, fy) = at(mark);
    let mut others: Vec<Mark> = Mark::ALL.into_iter().filter(|&m| m != mark).collect();
    others.sort_by(|&a, &b| {
        let distance = |m| {
            let (x, y) = at(m);
            (x - fx).hypot(y - fy)
        };
        distance(a).total_cmp(&distance(b))
    });
    for other in others {
        let square = mark_square(other, width, height);
        let centre = map.map(square.0 + square.2 / 2.0, square.1 + square.2 / 2.0);
        // A flatbed scan puts the other mark within a few millimetres of where
        // the first says it is: that small square is searched first. Extrapolated
        // across a photo from one small code, it can be 15 mm away: a square that
        // far round it is searched when the small one does not read.
        let found = SEARCH_MM.into_iter().find_map(|margin| {
            let reach = (square.2 / 2.0 + margin * 72.0 / 25.4) * map.scale_at(square.0, square.1);
            let region = (
                (centre.x - reach) as i64,
                (centre.y - reach) as i64,
                (2.0 * reach) as i64,
                (2.0 * reach) as i64,
            );
            qr::find_mark(image, region, payload, other)
        });
        if let Some(found) = found {
            let mut with = seen.clone();
            with.extend(found.seen(square));
            // A mark whose corners no map agrees with (a code read across a
            // fold, its corners displaced) would bend the map: it is left out.
            let tolerance = DISAGREEMENT_MM * 72.0 / 25.4 * map.scale();
            if let Some(refitted) = PageToImage::fit(&with)
                && refitted.worst_error(&with) <= tolerance
            {
                seen = with;
                map = refitted;
            }
        }
    }
    map
}
