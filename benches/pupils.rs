//! Benchmark: a 2,000-pupil secondary's September. Generating: every pupil's
//! KS3/4 form and every parent's form (4,000 personal forms and two print
//! files) as one whole `aup generate` process; forms per second, three runs on
//! fresh archives. Reading: a 600-page simplex pile of returns, 300-dpi grey
//! JPEG as a copier scans them, half pupils' forms (the pupil's and the
//! parent's signatures) and half parents' forms (signature and a tick in every
//! consent), read by one `aup ingest` process: pages per second and peak
//! memory (GNU time's max RSS). Targets: the staff benches' (500 forms/s,
//! 80 pages/s on 2 cores, under 300 MB).
//!
//! Run with `cargo bench --bench pupils`; it prints the figures. Making the
//! pile takes a few minutes: every page is rendered, inked and JPEG-encoded
//! first.

#[path = "../tests/scan/mod.rs"]
mod scan;
mod timed;

use timed::{ingest, settle_on_disk};

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use rayon::prelude::*;

const PUPILS: usize = 2_000;
const RUNS: usize = 3;
/// Forms of each AUP in the pile: 150 KS3/4 and 150 parents' forms, 2 pages each.
const RETURNED: usize = 150;

/// A class list as SIMS exports it: Years 7 to 11, eight forms of 50 a year.
fn class_list() -> String {
    let mut list = String::from(
        "Forename,Surname,Reg Group,Year,UPN,Contact 1 Name,Contact 1 Relationship,Contact 1 Email\n",
    );
    for i in 0..PUPILS {
        let year = 7 + i / 400;
        let form = ["A", "B", "C", "D", "E", "F", "G", "H"][(i / 50) % 8];
        list.push_str(&format!(
            "Pupil{i},Surname{},{year}{form},Year {year},A{:012},Parent {i},Mother,parent{i}@home.example\n",
            i * 7 % 101,
            100_000 + i
        ));
    }
    list
}

fn school(dir: &Path) {
    let schools = dir.join("schools");
    std::fs::create_dir_all(&schools).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut yaml = std::fs::read_to_string(repo.join("schools/kensington.yaml")).unwrap();
    yaml.push_str("\naups: [staff, ks3-4, parents]\n");
    std::fs::write(schools.join("kensington.yaml"), yaml).unwrap();
    std::fs::copy(
        repo.join("schools/kensington.staff.csv"),
        schools.join("kensington.staff.csv"),
    )
    .unwrap();
    std::fs::write(schools.join("kensington.pupils.csv"), class_list()).unwrap();
}

fn generate(dir: &Path, archive: &str) -> (f64, String) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_aup"))
        .args(["generate", "--date", "2025-09-01", "--archive", archive])
        .current_dir(dir)
        .output()
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (elapsed, stderr)
}

fn forms(dir: &Path, aup: &str) -> Vec<std::path::PathBuf> {
    let mut forms: Vec<_> =
        std::fs::read_dir(dir.join("out/kensington/2025-26").join(aup).join("forms"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    forms.sort();
    forms
}

/// The returns as filled in, scanned at 300 dpi: pupils' forms signed twice,
/// parents' forms signed with a tick in each consent's Yes or No box.
fn pile(dir: &Path) -> (Vec<u8>, usize) {
    let archive = dir.join("archive");
    let pupils = forms(dir, "ks3-4");
    let parents = forms(dir, "parents");
    let both = [
        "pupil_signature",
        "pupil_date",
        "parent_signature",
        "parent_name",
        "parent_date",
    ];
    let mut pages: Vec<image::GrayImage> = pupils[..RETURNED]
        .par_iter()
        .flat_map_iter(|pdf| scan::paper_written(&archive, pdf, 300.0, &both))
        .collect();
    let consents = ["displays", "website", "social-media", "press"];
    pages.extend(
        parents[..RETURNED]
            .par_iter()
            .enumerate()
            .flat_map_iter(|(i, pdf)| {
                let mut pages = scan::paper_written(
                    &archive,
                    pdf,
                    300.0,
                    &["parent_signature", "parent_name", "parent_date"],
                );
                let ticks: Vec<(String, scan::TickMark)> = consents
                    .iter()
                    .enumerate()
                    .map(|(j, id)| {
                        let answer = if (i + j) % 3 == 0 { "no" } else { "yes" };
                        (format!("consent_{id}_{answer}"), scan::TickMark::Tick)
                    })
                    .collect();
                scan::tick(&archive, pdf, 300.0, &mut pages, &ticks);
                pages
            })
            .collect::<Vec<_>>(),
    );
    for (i, page) in pages.iter_mut().enumerate() {
        scan::noise(page, i as u32);
    }
    (scan::scan_pdf(&pages, 300.0), pages.len())
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    school(dir.path());
    let mut times = Vec::new();
    let mut said = String::new();
    for run in 0..RUNS {
        let (elapsed, stderr) = generate(dir.path(), &format!("archive-{run}"));
        times.push(elapsed);
        said = stderr;
    }
    times.sort_by(f64::total_cmp);
    let made = 2 * PUPILS;
    println!(
        "generate: {PUPILS} pupils' KS3/4 forms and {PUPILS} parents' forms, whole process, {RUNS} runs"
    );
    println!(
        "  median {:.2} s: {:.0} forms/s (target 500); best {:.0} forms/s",
        times[RUNS / 2],
        made as f64 / times[RUNS / 2],
        made as f64 / times[0]
    );
    for line in said.lines().filter(|l| l.starts_with("wrote kensington")) {
        println!("  {line}");
    }

    // The pile is read into the last run's archive, renamed to the default.
    std::fs::rename(
        dir.path().join(format!("archive-{}", RUNS - 1)),
        dir.path().join("archive"),
    )
    .unwrap();
    let (scan, pages) = pile(dir.path());
    std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
    std::fs::write(dir.path().join("inbox/pile.pdf"), &scan).unwrap();
    settle_on_disk();
    let (elapsed, rss, stderr) = ingest(dir.path());
    assert!(
        stderr.contains(&format!("{} accepted", 2 * RETURNED)),
        "{stderr}"
    );
    println!(
        "ingest: {pages}-page simplex pile of 300 dpi grey JPEG returns ({RETURNED} pupils' forms, {RETURNED} parents' forms with consents), {} MB",
        scan.len() / 1_000_000
    );
    println!(
        "  {:.1} s, {:.1} pages/s (target 80), max RSS {} MB (target 300)",
        elapsed,
        pages as f64 / elapsed,
        rss / 1024
    );
}
