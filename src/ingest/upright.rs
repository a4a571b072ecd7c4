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
    form_width: f64,
    form_height: f64,
) -> [f64; 6] {
    let scale = render_height / source.page_height;
    let to_pixels = [scale, 0.0, 0.0, -scale, 0.0, scale * source.page_height];
    let y_up = [1.0, 0.0, 0.0, -1.0, 0.0, form_height];
    let m = page_map::then(source.placement, to_pixels);
    let m = page_map::then(m, page_map::invert(map.matrix(form_width, form_height)));
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
    // Each output row is a line on the page, so its image is a line too: step
    // along it in homogeneous coordinates (one division a pixel; this loop runs
    // for millions of pixels a page), which straightens perspective as well.
    let m = map.homogeneous();
    let step = 1.0 / scale;
    for (row, line) in out.chunks_exact_mut(w.max(1) as usize).enumerate() {
        let y_page = row as f64 * step;
        let (mut u, mut v, mut q) = (
            m[1] * y_page + m[2],
            m[4] * y_page + m[5],
            m[7] * y_page + m[8],
        );
        let (du, dv, dq) = (m[0] * step, m[3] * step, m[6] * step);
        for pixel in line {
            let (x, y) = (u / q + 0.5, v / q + 0.5);
            // Truncation is floor here: negative coordinates are rejected first.
            if x >= 0.0 && y >= 0.0 {
                let (px, py) = (x as i64, y as i64);
                if px < iw && py < ih {
                    *pixel = source[(py * iw + px) as usize];
                }
            }
            u += du;
            v += dv;
            q += dq;
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
