//! Benchmark: `aup status` as a whole process over a synthetic index of 50 schools ×
//! 200 staff × 5 academic years (50,000 issued forms, about 40,000 returns), for one
//! year across all schools, as table and as JSON. Target: under 100 ms.
//!
//! The index is the one `fixture` writes (through the archive's own API).
//!
//! Run with `cargo bench --bench status`; it prints the figures.

mod fixture;

use std::process::Command;
use std::time::Instant;

use fixture::{SCHOOLS, STAFF, YEARS};

const RUNS: usize = 11;

fn main() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let returns = fixture::fifty_schools(scratch.path());

    // For profiling: AUP_BENCH_KEEP=DIR keeps the schools and the archive.
    if let Ok(keep) = std::env::var("AUP_BENCH_KEEP") {
        let status = Command::new("cp")
            .arg("-r")
            .arg(scratch.path())
            .arg(&keep)
            .status()
            .unwrap();
        assert!(status.success());
    }

    for format in ["table", "json"] {
        let mut times = Vec::new();
        let mut lines = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let output = Command::new(env!("CARGO_BIN_EXE_aup"))
                .args(["status", "--year", "2025-26", "--format", format])
                .current_dir(scratch.path())
                .env("NO_COLOR", "1")
                .output()
                .expect("run aup");
            times.push(started.elapsed().as_secs_f64());
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            lines = output.stdout.iter().filter(|&&b| b == b'\n').count();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "status --format {format}: {SCHOOLS} schools × {STAFF} staff, index of {} forms and {returns} returns over {} years; {lines} lines out",
            SCHOOLS * STAFF * YEARS.len(),
            YEARS.len()
        );
        println!(
            "  median {:.1} ms, best {:.1} ms, worst {:.1} ms ({RUNS} runs, whole process)",
            times[RUNS / 2] * 1e3,
            times[0] * 1e3,
            times[RUNS - 1] * 1e3
        );
    }
}
