//! Benchmark: pages per second for a duplex pile of 300-dpi grey JPEG scans, as a
//! copier's duplex setting makes one: 20 signed forms, every printed page followed
//! by its blank back (half the pages blank), a quarter of the pages upside down,
//! shuffled into one 120-page PDF; whole `aup ingest` process. And the peak memory
//! (max RSS, by GNU time) of a 504-page pile made the same way. Targets: at least
//! 80 pages/s on 2 cores, under 300 MB.
//!
//! Run with `cargo bench --bench ingest`; it prints the figures. Making the scans
//! takes a minute: every page is rendered, inked and JPEG-encoded first.

#[path = "../tests/scan/mod.rs"]
mod scan;
mod timed;

use timed::{ingest, settle_on_disk};

use std::path::Path;
use std::process::Command;

use rayon::prelude::*;

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

/// One PDF of every form's pages at 300 dpi, signed and noised, each followed by
/// a blank back, every fourth page turned upside down, shuffled.
fn batch(dir: &Path) -> Vec<u8> {
    let forms: Vec<_> = std::fs::read_dir(dir.join("out/pakeman/2025-26/forms"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let archive = dir.join("archive");
    let printed: Vec<image::GrayImage> = forms
        .par_iter()
        .flat_map_iter(|pdf| scan::paper(&archive, pdf, 300.0, scan::SIGNED))
        .collect();
    let mut pages: Vec<image::GrayImage> = printed
        .into_iter()
        .flat_map(|page| [page, scan::blank_page(300.0)])
        .collect();
    pages.par_iter_mut().enumerate().for_each(|(i, page)| {
        scan::noise(page, i as u32 + 1);
        if i % 4 == 1 {
            *page = image::imageops::rotate180(page);
        }
    });
    // A fixed shuffle: every 7th page, wrapping.
    let n = pages.len();
    let order: Vec<usize> = (0..n).map(|i| (i * 7) % n).collect();
    let shuffled: Vec<_> = match n % 7 {
        0 => pages,
        _ => order.into_iter().map(|i| pages[i].clone()).collect(),
    };
    scan::scan_pdf(&shuffled, 300.0)
}

fn main() {
    // Speed: 120 pages, three runs on fresh archives copies.
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 20);
    let scan = batch(dir.path());
    // For profiling: AUP_BENCH_KEEP=DIR keeps the school, archive and batch.
    if let Ok(keep) = std::env::var("AUP_BENCH_KEEP") {
        let status = Command::new("cp")
            .arg("-r")
            .arg(dir.path())
            .arg(&keep)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::write(Path::new(&keep).join("batch.pdf"), &scan).unwrap();
        return;
    }
    println!(
        "ingest: 120-page duplex pile of 300 dpi grey JPEG scans (60 blank backs, 30 pages upside down), {} MB",
        scan.len() / 1_000_000
    );
    let mut times = Vec::new();
    for run in 0..3 {
        let work = dir.path().join(format!("run{run}"));
        std::fs::create_dir_all(work.join("inbox")).unwrap();
        let status = Command::new("cp")
            .arg("-r")
            .arg(dir.path().join("archive"))
            .arg(&work)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::write(work.join("inbox/batch.pdf"), &scan).unwrap();
        settle_on_disk();
        let (elapsed, rss, stderr) = ingest(&work);
        assert!(stderr.contains("20 accepted"), "{stderr}");
        println!(
            "  run {run}: {:.2} s, {:.1} pages/s, max RSS {} MB",
            elapsed,
            120.0 / elapsed,
            rss / 1024
        );
        times.push(elapsed);
    }
    times.sort_by(f64::total_cmp);
    println!("  median {:.1} pages/s (target 80)", 120.0 / times[1]);

    // Memory: 504 pages (84 forms and their backs) in one file.
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 84);
    let scan = batch(dir.path());
    std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
    std::fs::write(dir.path().join("inbox/batch.pdf"), &scan).unwrap();
    settle_on_disk();
    let (elapsed, rss, stderr) = ingest(dir.path());
    assert!(stderr.contains("84 accepted"), "{stderr}");
    println!(
        "ingest: 504-page duplex pile ({} MB): {:.1} s, {:.1} pages/s, max RSS {} MB (target 300)",
        scan.len() / 1_000_000,
        elapsed,
        504.0 / elapsed,
        rss / 1024
    );
}
