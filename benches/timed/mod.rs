//! Timing a whole `aup ingest` process as an office runs it, shared by the
//! ingest benchmarks.

// Each bench uses part of this.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Writes the bench's own files back to disk first: a copier writes its PDF
/// over seconds and ingest waits for it to settle, so the file is on disk
/// before ingest starts. Without this, the archive's first fsync would pay for
/// writing back the bench's scans (ext4 commits all pending data with the
/// journal), which no office sees.
pub fn settle_on_disk() {
    let status = Command::new("sync").status().expect("sync");
    assert!(status.success());
}

/// Runs `aup ingest` in `dir` under GNU time: (seconds, max RSS in KB, stderr).
pub fn ingest(dir: &Path) -> (f64, u64, String) {
    ingest_with(Path::new(env!("CARGO_BIN_EXE_aup")), dir)
}

/// As [`ingest`], with another build of aup (a before/after comparison).
pub fn ingest_with(aup: &Path, dir: &Path) -> (f64, u64, String) {
    let started = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "maxrss_kb=%M"])
        .arg(aup)
        .args(["ingest", "--settle", "0"])
        .current_dir(dir)
        .output()
        .expect("GNU time at /usr/bin/time");
    let elapsed = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let rss = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kb="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (elapsed, rss, stderr)
}
