//! Making scans of generated forms, shared by the ingest tests and benchmark:
//! render the issued PDF, ink the boxes as a person would, turn, skew and noise
//! the pages, and wrap them as a scanner's PDF of grey JPEG images.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use aup::archive::Archive;
use aup::ingest::pages::{FileBytes, FileKind, PageSource};
use image::{GrayImage, Luma};

pub mod damage;

pub fn form_id(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy()[..15].to_owned()
}

/// What the person wrote on the paper.
#[derive(Clone, Copy)]
pub struct Ink {
    pub signature: bool,
    pub date: bool,
}

pub const SIGNED: Ink = Ink {
    signature: true,
    date: true,
};

/// The form's pages as printed and filled in by hand, at `dpi`.
pub fn paper(archive_dir: &Path, pdf: &Path, dpi: f32, ink: Ink) -> Vec<GrayImage> {
    paper_with_pen(archive_dir, pdf, dpi, ink, 3)
}

/// As [`paper`], written with a pen `pen` pixels wide at `dpi`.
pub fn paper_with_pen(
    archive_dir: &Path,
    pdf: &Path,
    dpi: f32,
    ink: Ink,
    pen: u32,
) -> Vec<GrayImage> {
    let wanted = |field: &str| match field {
        "signer_signature" => ink.signature,
        "signer_date" => ink.date,
        _ => false,
    };
    paper_marked(archive_dir, pdf, dpi, pen, &wanted)
}

/// The form's pages as printed, with pen strokes in each box named in `fields`
/// (a pupil's and a parent's signatures, names and dates).
pub fn paper_written(archive_dir: &Path, pdf: &Path, dpi: f32, fields: &[&str]) -> Vec<GrayImage> {
    paper_marked(archive_dir, pdf, dpi, 3, &|field| fields.contains(&field))
}

fn paper_marked(
    archive_dir: &Path,
    pdf: &Path,
    dpi: f32,
    pen: u32,
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<GrayImage> {
    let archive = Archive::open(archive_dir).unwrap();
    let form = archive.issued(&form_id(pdf)).unwrap().unwrap();
    let source = PageSource::open(
        Arc::new(FileBytes::Owned(std::fs::read(pdf).unwrap())),
        FileKind::Pdf,
    )
    .unwrap();
    (0..source.count())
        .map(|i| {
            let mut page = source.page(i, dpi).unwrap();
            let scale = dpi as f64 / 72.0;
            let (_, height) = form.page_sizes[i];
            for b in form.boxes.iter().filter(|b| b.page == i + 1) {
                if !wanted(&b.name) {
                    continue;
                }
                // A pen scribble across the left half of the box.
                let (x0, x1) = (
                    b.rect.x0 * scale + 30.0,
                    (b.rect.x0 + b.rect.x1) / 2.0 * scale,
                );
                let mid = (height - (b.rect.y0 + b.rect.y1) / 2.0) * scale;
                let amplitude = (b.rect.y1 - b.rect.y0) * scale * 0.25;
                let mut x = x0;
                while x < x1 {
                    let y = mid + (x / 13.0).sin() * amplitude;
                    for dx in 0..pen {
                        for dy in 0..pen {
                            page.put_pixel(x as u32 + dx, y as u32 + dy, Luma([25]));
                        }
                    }
                    x += 0.5;
                }
            }
            page
        })
        .collect()
}

/// A mark a parent makes in a Yes/No box.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickMark {
    Tick,
    Cross,
    /// A tick struck through with hatching: changed their mind.
    CrossedOut,
    /// The box filled in with back-and-forth strokes.
    Scribble,
}

/// Draws `marks` (box field, mark) on the pages of `pdf` as printed (`pages`
/// at `dpi`), with a ballpoint 0.4 mm wide.
pub fn tick(
    archive_dir: &Path,
    pdf: &Path,
    dpi: f32,
    pages: &mut [GrayImage],
    marks: &[(String, TickMark)],
) {
    let archive = Archive::open(archive_dir).unwrap();
    let form = archive.issued(&form_id(pdf)).unwrap().unwrap();
    let scale = dpi as f64 / 72.0;
    let pen = ((dpi as f64) * 0.4 / 25.4).round().max(2.0) as u32;
    for (field, mark) in marks {
        let b = form
            .boxes
            .iter()
            .find(|b| &b.name == field)
            .unwrap_or_else(|| panic!("the form has no box {field}"));
        let (_, height) = form.page_sizes[b.page - 1];
        let page = &mut pages[b.page - 1];
        // (u, v) across and down the box, from its top-left corner.
        let at = |u: f64, v: f64| {
            (
                (b.rect.x0 + u * (b.rect.x1 - b.rect.x0)) * scale,
                (height - (b.rect.y1 - v * (b.rect.y1 - b.rect.y0))) * scale,
            )
        };
        let mut stroke = |from: (f64, f64), to: (f64, f64)| {
            let (a, z) = (at(from.0, from.1), at(to.0, to.1));
            let steps = ((z.0 - a.0).hypot(z.1 - a.1) * 2.0).ceil().max(1.0) as usize;
            for i in 0..=steps {
                let t = i as f64 / steps as f64;
                let (x, y) = (a.0 + (z.0 - a.0) * t, a.1 + (z.1 - a.1) * t);
                for dx in 0..pen {
                    for dy in 0..pen {
                        page.put_pixel(x as u32 + dx, y as u32 + dy, Luma([30]));
                    }
                }
            }
        };
        let tick = |stroke: &mut dyn FnMut((f64, f64), (f64, f64))| {
            stroke((0.2, 0.55), (0.42, 0.8));
            stroke((0.42, 0.8), (0.85, 0.15));
        };
        match mark {
            TickMark::Tick => tick(&mut stroke),
            TickMark::Cross => {
                stroke((0.18, 0.18), (0.82, 0.82));
                stroke((0.82, 0.18), (0.18, 0.82));
            }
            TickMark::CrossedOut => {
                tick(&mut stroke);
                // Hatching both ways at 45°, about 0.9 mm apart, inside the box.
                let mut c: f64 = -0.8;
                while c <= 0.8 {
                    let (u0, u1) = (0.1f64.max(0.1 + c), 0.9f64.min(0.9 + c));
                    stroke((u0, u0 - c), (u1, u1 - c));
                    let sum = 1.0 + c;
                    let (u0, u1) = (0.1f64.max(sum - 0.9), 0.9f64.min(sum - 0.1));
                    stroke((u0, sum - u0), (u1, sum - u1));
                    c += 0.14;
                }
            }
            TickMark::Scribble => {
                let mut v = 0.12;
                let mut left = true;
                while v < 0.88 {
                    let (from, to) = if left { (0.12, 0.88) } else { (0.88, 0.12) };
                    stroke((from, v), (to, v + 0.06));
                    v += 0.06;
                    left = !left;
                }
            }
        }
    }
}

/// Turns a page by a small angle (degrees) about its centre, as a feeder skews it.
pub fn skew(page: &GrayImage, degrees: f64) -> GrayImage {
    let (w, h) = page.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f64 - cx, y as f64 - cy);
        let (sx, sy) = (cx + dx * cos + dy * sin, cy - dx * sin + dy * cos);
        match sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
            true => *page.get_pixel(sx as u32, sy as u32),
            false => Luma([250]),
        }
    })
}

/// Scanner grain: a deterministic speckle of ±12 grey levels and a paper tone.
pub fn noise(page: &mut GrayImage, seed: u32) {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    for p in page.pixels_mut() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let jitter = (state % 25) as i32 - 12;
        let tone = (p.0[0] as i32 * 235 / 255 + 10 + jitter).clamp(0, 255);
        p.0[0] = tone as u8;
    }
}

/// Dust and toner specks, as a copier's glass adds them: about `fraction` of the
/// page's pixels dark, in specks of one to four pixels, at random (seeded).
pub fn dust(page: &mut GrayImage, fraction: f64, seed: u32) {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let (w, h) = page.dimensions();
    // A speck covers 2.5 pixels on average.
    let specks = (w as f64 * h as f64 * fraction / 2.5) as u64;
    for _ in 0..specks {
        let (x, y) = (next() % w, next() % h);
        let shape = next() % 4;
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)]
            .into_iter()
            .take(shape as usize + 1)
        {
            if x + dx < w && y + dy < h {
                page.put_pixel(x + dx, y + dy, Luma([35 + (next() % 60) as u8]));
            }
        }
    }
}

pub fn blank_page(dpi: f32) -> GrayImage {
    let (w, h) = ((8.27 * dpi) as u32, (11.69 * dpi) as u32);
    let mut page = GrayImage::from_pixel(w, h, Luma([255]));
    noise(&mut page, 99);
    page
}

pub fn jpeg(page: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
    page.write_with_encoder(encoder).unwrap();
    out
}

/// Pages as a scanner's PDF of grey JPEGs at `dpi`, wrapped by img2pdf (which
/// keeps each JPEG as it is, as scanners' PDFs do), written to `out`; the JPEGs
/// are made beside it.
pub fn img2pdf(pages: &[GrayImage], dpi: f32, out: &Path) {
    let mut jpegs = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let path = out.with_extension(format!("{i}.jpg"));
        std::fs::write(&path, jpeg(page)).unwrap();
        jpegs.push(path);
    }
    let status = std::process::Command::new("img2pdf")
        .arg("--imgsize")
        .arg(format!("{dpi}dpix{dpi}dpi"))
        .args(&jpegs)
        .arg("-o")
        .arg(out)
        .status()
        .expect("img2pdf: run scripts/test.sh, which installs it");
    assert!(status.success());
    for jpeg in jpegs {
        let _ = std::fs::remove_file(jpeg);
    }
}

/// Pages as a copier's "black and white" scan: each page thresholded to 1 bit
/// and CCITT G4 compressed by ImageMagick at `dpi`, then wrapped by img2pdf
/// (which keeps G4 as it is) into `out`; the TIFFs are made beside it.
pub fn g4_pdf(pages: &[GrayImage], dpi: f32, out: &Path) {
    let mut tiffs = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let png = out.with_extension(format!("{i}.png"));
        page.save(&png).unwrap();
        let tif = out.with_extension(format!("{i}.tif"));
        let status = std::process::Command::new("convert")
            .arg(&png)
            .args(["-threshold", "50%", "-type", "bilevel", "-density"])
            .arg(dpi.to_string())
            .args(["-compress", "Group4"])
            .arg(&tif)
            .status()
            .expect("ImageMagick's convert: run scripts/test.sh, which installs it");
        assert!(status.success());
        let _ = std::fs::remove_file(png);
        tiffs.push(tif);
    }
    let status = std::process::Command::new("img2pdf")
        .args(&tiffs)
        .arg("-o")
        .arg(out)
        .status()
        .expect("img2pdf: run scripts/test.sh, which installs it");
    assert!(status.success());
    for tif in tiffs {
        let _ = std::fs::remove_file(tif);
    }
}

/// Pages as a scanner's PDF: one grey JPEG image per page, at `dpi`.
pub fn scan_pdf(pages: &[GrayImage], dpi: f32) -> Vec<u8> {
    aup::ingest::image_pages_pdf(pages.iter().map(|page| {
        let (w, h) = page.dimensions();
        jpeg_page(
            jpeg(page),
            (w, h),
            (w as f64 * 72.0 / dpi as f64, h as f64 * 72.0 / dpi as f64),
        )
    }))
}

/// A grey JPEG of `pixels` drawn over a whole page of `size` points, as a
/// scanner writes a page.
pub fn jpeg_page(jpeg: Vec<u8>, pixels: (u32, u32), size: (f64, f64)) -> aup::ingest::ImagePage {
    let name = |n: &[u8]| lopdf::Object::Name(n.to_vec());
    aup::ingest::ImagePage {
        dict: lopdf::Dictionary::from_iter([
            ("Width", (pixels.0 as i64).into()),
            ("Height", (pixels.1 as i64).into()),
            ("ColorSpace", name(b"DeviceGray")),
            ("BitsPerComponent", 8.into()),
            ("Filter", name(b"DCTDecode")),
        ]),
        data: jpeg,
        matrix: [size.0, 0.0, 0.0, size.1, 0.0, 0.0],
        size,
    }
}
