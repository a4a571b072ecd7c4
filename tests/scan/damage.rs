//! What happens to paper between the printer and the inbox, made on rendered
//! pages: a phone's photo in perspective, a copier's low resolution, a fold, a
//! coffee ring, a blot, a thin pen. Each is seeded and deterministic.

use image::{GrayImage, Luma};

/// Millimetres to pixels at `dpi`.
pub fn mm(value: f64, dpi: f32) -> f64 {
    value * dpi as f64 / 25.4
}

/// A 3 × 3 projective map, row-major: (x', y', w') = H · (x, y, 1).
pub type Homography = [f64; 9];

pub fn apply(h: &Homography, x: f64, y: f64) -> (f64, f64) {
    let w = h[6] * x + h[7] * y + h[8];
    (
        (h[0] * x + h[1] * y + h[2]) / w,
        (h[3] * x + h[4] * y + h[5]) / w,
    )
}

/// The inverse of `h`, by its adjugate.
pub fn inverse(h: &Homography) -> Homography {
    let [a, b, c, d, e, f, g, i, j] = *h;
    let adj = [
        e * j - f * i,
        c * i - b * j,
        b * f - c * e,
        f * g - d * j,
        a * j - c * g,
        c * d - a * f,
        d * i - e * g,
        b * g - a * i,
        a * e - b * d,
    ];
    let det = a * adj[0] + b * adj[3] + c * adj[6];
    adj.map(|v| v / det)
}

/// A phone's photo of `page`: the page seen through `h` (page pixels → photo
/// pixels) on a `size` frame, over a textured desk, lit unevenly (brighter at the
/// top-left), slightly soft as a phone's lens and JPEG leave it.
pub fn photo(page: &GrayImage, h: &Homography, size: (u32, u32), seed: u32) -> GrayImage {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let mut grain = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 30) as f64
    };
    let (w, hgt) = size;
    let sharp = warp(page, h, size, |x, y, seen| {
        let light = 1.0 - 0.35 * (x as f64 / w as f64 + y as f64 / hgt as f64) / 2.0;
        // Wood grain outside the page: stripes along x, with noise.
        let value = seen.unwrap_or_else(|| 90.0 + 25.0 * (y as f64 / 23.0).sin() + grain());
        value * light
    });
    box_blur(&sharp)
}

/// A flatbed's scan of `page` placed on the glass through `h` (an affine map:
/// turned, shrunk by "fit to page", offset), the glass's lid white round it.
pub fn scanned(page: &GrayImage, h: &Homography) -> GrayImage {
    warp(page, h, page.dimensions(), |_, _, seen| {
        seen.unwrap_or(250.0)
    })
}

/// `page` seen through `h` on a frame of `size`: each frame pixel is `shade`d
/// from the page's value there (bilinear), or from `None` off the page.
fn warp(
    page: &GrayImage,
    h: &Homography,
    size: (u32, u32),
    mut shade: impl FnMut(u32, u32, Option<f64>) -> f64,
) -> GrayImage {
    let back = inverse(h);
    let (pw, ph) = (page.width() as f64, page.height() as f64);
    GrayImage::from_fn(size.0, size.1, |x, y| {
        // Pixel centres: frame pixel (x, y) is the point (x + ½, y + ½), and page
        // pixel (i, j) has its value at (i + ½, j + ½).
        let (sx, sy) = apply(&back, x as f64 + 0.5, y as f64 + 0.5);
        let (sx, sy) = (sx - 0.5, sy - 0.5);
        let on_page = sx >= 0.0 && sy >= 0.0 && sx < pw - 1.0 && sy < ph - 1.0;
        let value = shade(x, y, on_page.then(|| bilinear(page, sx, sy)));
        Luma([value.clamp(0.0, 255.0) as u8])
    })
}

fn bilinear(page: &GrayImage, x: f64, y: f64) -> f64 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |dx: u32, dy: u32| page.get_pixel(x0 as u32 + dx, y0 as u32 + dy).0[0] as f64;
    (at(0, 0) * (1.0 - fx) + at(1, 0) * fx) * (1.0 - fy)
        + (at(0, 1) * (1.0 - fx) + at(1, 1) * fx) * fy
}

/// A 3 × 3 box blur: the softness of a print scanned back, or a phone's lens.
pub fn box_blur(page: &GrayImage) -> GrayImage {
    let (w, h) = page.dimensions();
    GrayImage::from_fn(w, h, |x, y| {
        let mut sum = 0u32;
        for dy in [-1i64, 0, 1] {
            for dx in [-1i64, 0, 1] {
                let sx = (x as i64 + dx).clamp(0, w as i64 - 1) as u32;
                let sy = (y as i64 + dy).clamp(0, h as i64 - 1) as u32;
                sum += page.get_pixel(sx, sy).0[0] as u32;
            }
        }
        Luma([(sum / 9) as u8])
    })
}

/// A page printed, then scanned at `dpi` from a rendering at a higher
/// resolution: area-averaged down, the toner's edge softened.
pub fn rescan(page: &GrayImage, from_dpi: f32, dpi: f32) -> GrayImage {
    let ratio = dpi as f64 / from_dpi as f64;
    let (w, h) = (
        (page.width() as f64 * ratio) as u32,
        (page.height() as f64 * ratio) as u32,
    );
    let smaller = image::imageops::resize(page, w, h, image::imageops::FilterType::Triangle);
    box_blur(&smaller)
}

/// A crease through the point (`cx`, `cy`) at `degrees` from horizontal, reaching
/// `reach` pixels either way (a dog-eared corner folded back): a dark line where
/// the paper's ridge caught the light, one side in shadow, and that side
/// displaced by `shift` pixels as the paper failed to lie flat.
pub fn fold(
    page: &GrayImage,
    (cx, cy): (f64, f64),
    degrees: f64,
    shift: f64,
    reach: f64,
) -> GrayImage {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (w, h) = page.dimensions();
    GrayImage::from_fn(w, h, |x, y| {
        if (x as f64 - cx).hypot(y as f64 - cy) > reach {
            return *page.get_pixel(x, y);
        }
        // Signed distance from the crease line.
        let d = (y as f64 - cy) * cos - (x as f64 - cx) * sin;
        let (sx, sy) = if d > 0.0 {
            (x as f64 + shift * sin, y as f64 - shift * cos)
        } else {
            (x as f64, y as f64)
        };
        let source = if sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
            page.get_pixel(sx as u32, sy as u32).0[0] as f64
        } else {
            240.0
        };
        let ridge = (-(d * d) / 8.0).exp() * 110.0;
        let shadow = if d > 0.0 {
            0.82 + 0.18 * (1.0 - (-d / 40.0).exp())
        } else {
            1.0
        };
        Luma([(source * shadow - ridge).clamp(0.0, 255.0) as u8])
    })
}

/// A coffee ring of `radius` pixels round (`cx`, `cy`): a brown rim 1.5 mm wide that
/// darkens what is under it, the stained inside a little darker than paper.
pub fn ring(page: &mut GrayImage, (cx, cy): (f64, f64), radius: f64, dpi: f32) {
    let rim = mm(1.5, dpi);
    let reach = (radius + rim) as i64 + 1;
    for y in (cy as i64 - reach).max(0)..(cy as i64 + reach).min(page.height() as i64) {
        for x in (cx as i64 - reach).max(0)..(cx as i64 + reach).min(page.width() as i64) {
            let r = (x as f64 - cx).hypot(y as f64 - cy);
            let factor = if (r - radius).abs() < rim / 2.0 {
                0.45
            } else if r < radius {
                0.85
            } else {
                continue;
            };
            let p = page.get_pixel_mut(x as u32, y as u32);
            p.0[0] = (p.0[0] as f64 * factor) as u8;
        }
    }
}

/// An ink blot: a dark disc of `radius` pixels at (`cx`, `cy`).
pub fn blot(page: &mut GrayImage, (cx, cy): (f64, f64), radius: f64) {
    let reach = radius as i64 + 1;
    for y in (cy as i64 - reach).max(0)..(cy as i64 + reach).min(page.height() as i64) {
        for x in (cx as i64 - reach).max(0)..(cx as i64 + reach).min(page.width() as i64) {
            if (x as f64 - cx).hypot(y as f64 - cy) <= radius {
                page.put_pixel(x as u32, y as u32, Luma([30]));
            }
        }
    }
}

/// A page thresholded to black and white at 50%, as a copier's "black and white"
/// setting scans it.
pub fn one_bit(page: &GrayImage) -> GrayImage {
    GrayImage::from_fn(page.width(), page.height(), |x, y| {
        Luma([if page.get_pixel(x, y).0[0] < 128 {
            0
        } else {
            255
        }])
    })
}

/// Whites out every identity mark of a 150-dpi page (the code top right and the
/// two down the left margin), as a coffee stain or a bad copy can: no code reads.
pub fn cover_every_mark(page: &mut GrayImage) {
    let (w, h) = page.dimensions();
    for y in 0..300 {
        for x in w - 330..w {
            page.put_pixel(x, y, Luma([255]));
        }
    }
    for y in 0..h {
        for x in 0..115 {
            page.put_pixel(x, y, Luma([255]));
        }
    }
}
