//! A scanned page as it was printed: turned upright and straightened through the
//! map its QR code gave, resampled at the archive's resolution, and encoded for
//! filing (grey JPEG), for quarantine (PNG) and for the office's thumbnails.

use image::GrayImage;

use super::pages;
use crate::scan::page_map::{self, PageToImage};

/// Archived form pages are kept at this resolution, as grey JPEG.
const ARCHIVE_DPI: f64 = 150.0;

/// The matrix that draws a scanner's image on the form's upright page: image unit
/// square → scanned page (its own `cm`) → rendered pixels (`render_height` pixels
/// for the page's height) → form page, through the inverse of the code's map.
pub(super) fn source_matrix(
    source: &pages::SourceImage,
    map: &PageToImage,
    render_height: f64,
    form_height: f64,
) -> [f64; 6] {
    let scale = render_height / source.page_height;
    let to_pixels = [scale, 0.0, 0.0, -scale, 0.0, scale * source.page_height];
    let y_up = [1.0, 0.0, 0.0, -1.0, 0.0, form_height];
    let m = page_map::then(source.placement, to_pixels);
    let m = page_map::then(m, page_map::invert(map.matrix()));
    page_map::then(m, y_up)
}

/// Grey JPEG at quality 75 with the jpeg-encoder crate, several times faster than
/// the image crate's encoder on full pages (the archive re-encodes every page).
pub(super) fn encode_jpeg(page: &GrayImage) -> Result<Vec<u8>, String> {
    let (w, h) = page.dimensions();
    let (w, h) = (
        u16::try_from(w).map_err(|e| e.to_string())?,
        u16::try_from(h).map_err(|e| e.to_string())?,
    );
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 75)
        .encode(page.as_raw(), w, h, jpeg_encoder::ColorType::Luma)
        .map_err(|e| e.to_string())?;
    Ok(jpeg)
}

/// The page as it was printed: turned upright and straightened, resampled at
/// [`ARCHIVE_DPI`] through the map the code gave.
pub(super) fn upright_page(
    image: &GrayImage,
    map: &PageToImage,
    width: f64,
    height: f64,
) -> GrayImage {
    let scale = ARCHIVE_DPI / 72.0;
    let (w, h) = ((width * scale) as u32, (height * scale) as u32);
    let (iw, ih) = (image.width() as i64, image.height() as i64);
    let source = image.as_raw();
    let mut out = vec![255u8; w as usize * h as usize];
    // The map is affine: step along each output row by a constant image offset
    // (this loop runs for millions of pixels a page).
    let origin = map.map(0.0, 0.0);
    let step_x = map.map(1.0 / scale, 0.0);
    let step_y = map.map(0.0, 1.0 / scale);
    let (dx, dy) = (step_x.x - origin.x, step_x.y - origin.y);
    let (ex, ey) = (step_y.x - origin.x, step_y.y - origin.y);
    for (row, line) in out.chunks_exact_mut(w.max(1) as usize).enumerate() {
        let (mut x, mut y) = (
            origin.x + row as f64 * ex + 0.5,
            origin.y + row as f64 * ey + 0.5,
        );
        for pixel in line {
            // Truncation is floor here: negative coordinates are rejected first.
            if x >= 0.0 && y >= 0.0 {
                let (px, py) = (x as i64, y as i64);
                if px < iw && py < ih {
                    *pixel = source[(py * iw + px) as usize];
                }
            }
            x += dx;
            y += dy;
        }
    }
    GrayImage::from_raw(w, h, out).unwrap_or_else(|| GrayImage::new(w, h))
}

pub(super) fn png(image: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = image.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png);
    out
}

pub(super) fn thumbnail(image: &GrayImage) -> GrayImage {
    let (w, h) = image.dimensions();
    let width = 200u32.min(w.max(1));
    let height = ((h as u64 * width as u64) / w.max(1) as u64).max(1) as u32;
    image::imageops::resize(image, width, height, image::imageops::FilterType::Triangle)
}
