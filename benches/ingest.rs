//! Benchmark: how fast `aup ingest` reads the piles a copier writes in
//! September, whole process, 20 signed three-page forms each:
//! - duplex: every printed page followed by its blank back (half the pages
//!   blank), a quarter of the pages upside down, shuffled; 120 pages of 300-dpi
//!   grey JPEG;
//! - simplex: the 60 signed pages in order, 300-dpi grey JPEG;
//! - 1-bit: the same 60 pages at 200 dpi, thresholded and CCITT G4 compressed
//!   by ImageMagick and wrapped by img2pdf, as a "black and white" scan;
//! - colour: the same 60 pages at 300 dpi on cream paper, colour JPEG;
//!
//! and the peak memory (max RSS, by GNU time) of a 504-page duplex pile.
//!
//! For each JPEG pile, in the same run, the decode limit: libjpeg-turbo
//! (Pillow) decoding the same JPEGs at full scale on as many processes as
//! there are cores, nothing else (`benches/peer/turbo_decode.py`), and
//! aup's share of it. Issue 29's target: at least 0.42 on the grey piles.
//!
//! `AUP_BENCH_BEFORE=/path/to/old/aup` times another build of aup on every pile
//! too, runs interleaved with this build's, and prints after/before.
//! `AUP_BENCH_KEEP=DIR` keeps the school, its archive and each pile's PDF in DIR
//! (for a profiler or farm-bench) instead of timing.
//!
//! Run with `cargo bench --bench ingest`; it prints the figures. Making the scans
//! takes a few minutes: every page is rendered, inked and encoded first.

#[path = "../tests/scan/mod.rs"]
mod scan;
mod timed;

use timed::{ingest_with, settle_on_disk};

use std::path::{Path, PathBuf};
use std::process::Command;

use image::{GrayImage, RgbImage};
use rayon::prelude::*;

const FORMS: usize = 20;
const RUNS: usize = 3;

fn generate(dir: &Path, people: usize) {
    let schools = dir.join("schools");
    std::fs::create_dir_all(&schools).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(
        repo.join("schools/pakeman.yaml"),
        schools.join("pakeman.yaml"),
    )
    .unwrap();
    let mut roster = String::from("Staff Code,Forename,Surname,Job Title\n");
    for i in 0..people {
        roster.push_str(&format!(
            "B{i:04},Person{i},Surname{},Teacher\n",
            i * 7 % 101
        ));
    }
    std::fs::write(schools.join("pakeman.staff.csv"), roster).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_aup"))
        .args(["generate", "--date", "2025-09-01"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(status.status.success());
}

/// Every generated form's pages, signed, at `dpi`, in form order.
fn signed_pages(dir: &Path, dpi: f32) -> Vec<GrayImage> {
    let mut forms: Vec<_> = std::fs::read_dir(dir.join("out/pakeman/2025-26/forms"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    forms.sort();
    let archive = dir.join("archive");
    forms
        .par_iter()
        .flat_map_iter(|pdf| scan::paper(&archive, pdf, dpi, scan::SIGNED))
        .collect()
}

/// A pile to time: its PDF, and the JPEGs inside it when it is made of JPEGs.
struct Pile {
    name: &'static str,
    what: String,
    pdf: Vec<u8>,
    pages: usize,
    forms: usize,
    jpegs: Vec<Vec<u8>>,
}

/// The duplex pile: each page followed by a blank back, every fourth page
/// upside down, shuffled (every 7th page, wrapping).
fn duplex(printed: Vec<GrayImage>) -> Vec<GrayImage> {
    let mut pages: Vec<GrayImage> = printed
        .into_iter()
        .flat_map(|page| [page, scan::blank_page(300.0)])
        .collect();
    pages.par_iter_mut().enumerate().for_each(|(i, page)| {
        scan::noise(page, i as u32 + 1);
        if i % 4 == 1 {
            *page = image::imageops::rotate180(page);
        }
    });
    let n = pages.len();
    match n % 7 {
        0 => pages,
        _ => (0..n).map(|i| pages[(i * 7) % n].clone()).collect(),
    }
}

/// Grey pages as a scanner's PDF of JPEGs at 300 dpi, with those JPEGs.
fn grey_pile(name: &'static str, what: String, pages: &[GrayImage]) -> Pile {
    let jpegs: Vec<Vec<u8>> = pages.par_iter().map(scan::jpeg).collect();
    let pdf =
        aup::ingest::image_pages_pdf(pages.iter().zip(&jpegs).map(|(page, jpeg)| {
            scan::jpeg_page(jpeg.clone(), page.dimensions(), points(page, 300.0))
        }));
    Pile {
        name,
        what,
        pdf,
        pages: pages.len(),
        forms: FORMS,
        jpegs,
    }
}

/// The pages printed on cream paper and scanned in colour: colour JPEGs at 300
/// dpi. The image crate writes them 4:4:4; a copier's are often subsampled,
/// which makes them cheaper to decode.
fn colour_pile(pages: &[GrayImage]) -> Pile {
    let jpegs: Vec<Vec<u8>> = pages
        .par_iter()
        .map(|page| {
            let cream = RgbImage::from_fn(page.width(), page.height(), |x, y| {
                let g = page.get_pixel(x, y).0[0] as u32;
                image::Rgb([g as u8, (g * 250 / 255) as u8, (g * 232 / 255) as u8])
            });
            let mut out = Vec::new();
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
            cream.write_with_encoder(encoder).unwrap();
            out
        })
        .collect();
    let pdf = aup::ingest::image_pages_pdf(pages.iter().zip(&jpegs).map(|(page, jpeg)| {
        let mut image = scan::jpeg_page(jpeg.clone(), page.dimensions(), points(page, 300.0));
        image
            .dict
            .set("ColorSpace", lopdf::Object::Name(b"DeviceRGB".to_vec()));
        image
    }));
    Pile {
        name: "colour",
        what: format!(
            "{}-page simplex pile of 300 dpi colour JPEG scans",
            pages.len()
        ),
        pdf,
        pages: pages.len(),
        forms: FORMS,
        jpegs,
    }
}

fn points(page: &GrayImage, dpi: f32) -> (f64, f64) {
    let (w, h) = page.dimensions();
    (w as f64 * 72.0 / dpi as f64, h as f64 * 72.0 / dpi as f64)
}

/// The pages as a copier's 1-bit scan at 200 dpi (ImageMagick's G4, img2pdf).
fn g4_pile(dir: &Path, pages: &[GrayImage]) -> Pile {
    let out = dir.join("g4.pdf");
    scan::g4_pdf(pages, 200.0, &out);
    Pile {
        name: "1-bit",
        what: format!(
            "{}-page simplex pile of 200 dpi 1-bit CCITT G4 scans",
            pages.len()
        ),
        pdf: std::fs::read(&out).unwrap(),
        pages: pages.len(),
        forms: FORMS,
        jpegs: Vec::new(),
    }
}

/// One timed run of `aup` on `pile`, in a fresh copy of the archive.
fn run(aup: &Path, dir: &Path, pile: &Pile, label: &str) -> (f64, u64) {
    let work = dir.join(format!("run-{}-{label}", pile.name));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("inbox")).unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(dir.join("archive"))
        .arg(&work)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(work.join("inbox/pile.pdf"), &pile.pdf).unwrap();
    settle_on_disk();
    let (elapsed, rss, stderr) = ingest_with(aup, &work);
    let accepted = format!("{} accepted", pile.forms);
    assert!(
        stderr.contains(&accepted),
        "{label} on {}: {stderr}",
        pile.name
    );
    std::fs::remove_dir_all(&work).unwrap();
    (elapsed, rss)
}

/// libjpeg-turbo's pages/s on the pile's JPEGs, all cores; `None` (and why)
/// when Pillow is not installed.
fn decode_limit(dir: &Path, pile: &Pile) -> Option<(f64, String)> {
    let folder = dir.join(format!("jpegs-{}", pile.name));
    std::fs::create_dir_all(&folder).unwrap();
    for (i, jpeg) in pile.jpegs.iter().enumerate() {
        std::fs::write(folder.join(format!("{i:04}.jpg")), jpeg).unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer/turbo_decode.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(&folder)
        .arg(rayon::current_num_threads().to_string())
        .output();
    std::fs::remove_dir_all(&folder).unwrap();
    let Ok(output) = output else {
        println!("  decode limit: skipped (python3 did not start)");
        return None;
    };
    if !output.status.success() {
        println!(
            "  decode limit: skipped ({})",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return None;
    }
    let line = String::from_utf8_lossy(&output.stdout).into_owned();
    let (rate, version) = line.trim().split_once(' ')?;
    Some((rate.parse().ok()?, version.to_owned()))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn time_pile(dir: &Path, pile: &Pile, before: Option<&Path>) {
    println!("ingest: {} ({} MB)", pile.what, pile.pdf.len() / 1_000_000);
    let after = Path::new(env!("CARGO_BIN_EXE_aup"));
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut our_rss, mut their_rss) = (0, 0);
    for _ in 0..RUNS {
        let (seconds, rss) = run(after, dir, pile, "after");
        ours.push(seconds);
        our_rss = our_rss.max(rss);
        if let Some(before) = before {
            let (seconds, rss) = run(before, dir, pile, "before");
            theirs.push(seconds);
            their_rss = their_rss.max(rss);
        }
    }
    let rate = pile.pages as f64 / median(ours);
    println!(
        "  this build: {rate:.1} pages/s (median of {RUNS}), max RSS {} MB",
        our_rss / 1024
    );
    if before.is_some() {
        let old = pile.pages as f64 / median(theirs);
        println!(
            "  before:     {old:.1} pages/s, max RSS {} MB; after/before {:.2}",
            their_rss / 1024,
            rate / old
        );
    }
    if !pile.jpegs.is_empty()
        && let Some((limit, version)) = decode_limit(dir, pile)
    {
        println!(
            "  decode limit (libjpeg-turbo {version}, {} processes): {limit:.1} pages/s; aup at {:.2} of it",
            rayon::current_num_threads(),
            rate / limit
        );
    }
}

fn main() {
    let before = std::env::var_os("AUP_BENCH_BEFORE").map(PathBuf::from);
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), FORMS);
    let signed = signed_pages(dir.path(), 300.0);
    let simplex_pages: Vec<GrayImage> = signed
        .par_iter()
        .enumerate()
        .map(|(i, page)| {
            let mut page = page.clone();
            scan::noise(&mut page, 1000 + i as u32);
            page
        })
        .collect();
    let piles = [
        grey_pile(
            "duplex",
            format!(
                "{}-page duplex pile of 300 dpi grey JPEG scans ({} blank backs, {} pages upside down)",
                signed.len() * 2,
                signed.len(),
                signed.len() / 2
            ),
            &duplex(signed),
        ),
        grey_pile(
            "simplex",
            format!(
                "{}-page simplex pile of 300 dpi grey JPEG scans, signed",
                simplex_pages.len()
            ),
            &simplex_pages,
        ),
        g4_pile(dir.path(), &signed_pages(dir.path(), 200.0)),
        colour_pile(&simplex_pages),
    ];
    drop(simplex_pages);
    if let Ok(keep) = std::env::var("AUP_BENCH_KEEP") {
        let status = Command::new("cp")
            .arg("-r")
            .arg(dir.path())
            .arg(&keep)
            .status()
            .unwrap();
        assert!(status.success());
        for pile in &piles {
            std::fs::write(
                Path::new(&keep).join(format!("{}.pdf", pile.name)),
                &pile.pdf,
            )
            .unwrap();
        }
        return;
    }
    for pile in &piles {
        time_pile(dir.path(), pile, before.as_deref());
    }
    drop(piles);

    // Memory: 504 pages (84 forms and their backs) in one file.
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 84);
    let pages = duplex(signed_pages(dir.path(), 300.0));
    let pile = Pile {
        name: "504",
        what: String::new(),
        pdf: scan::scan_pdf(&pages, 300.0),
        pages: pages.len(),
        forms: 84,
        jpegs: Vec::new(),
    };
    drop(pages);
    let builds = [
        Some(Path::new(env!("CARGO_BIN_EXE_aup"))),
        before.as_deref(),
    ];
    for (aup, label) in builds.into_iter().zip(["this build", "before"]) {
        let Some(aup) = aup else { continue };
        let (elapsed, rss) = run(aup, dir.path(), &pile, label);
        println!(
            "ingest: 504-page duplex pile ({} MB), {label}: {:.1} s, {:.1} pages/s, max RSS {} MB (target 300)",
            pile.pdf.len() / 1_000_000,
            elapsed,
            pile.pages as f64 / elapsed,
            rss / 1024
        );
    }
}
