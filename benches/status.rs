//! Benchmark: `aup status` as a whole process over a synthetic index of 50 schools ×
//! 200 staff × 5 academic years (50,000 issued forms, about 40,000 returns), for one
//! year across all schools, as table and as JSON. Target: under 100 ms.
//!
//! The index is written directly (real schema, opened by `Archive::open`): making
//! 50,000 PDFs to get it would measure `generate`, not `status`.
//!
//! Run with `cargo bench --bench status`; it prints the figures.

use std::process::Command;
use std::time::Instant;

use rusqlite::params;

const SCHOOLS: usize = 50;
const STAFF: usize = 200;
const YEARS: [&str; 5] = ["2021-22", "2022-23", "2023-24", "2024-25", "2025-26"];
const RUNS: usize = 11;

fn main() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = tempfile::tempdir().expect("temp dir");
    let schools = scratch.path().join("schools");
    std::fs::create_dir_all(&schools).unwrap();
    let yaml = std::fs::read_to_string(repo.join("schools/pakeman.yaml")).unwrap();
    let mut roster = String::from("Staff Code,Forename,Surname,Job Title\n");
    for person in 0..STAFF {
        roster.push_str(&format!(
            "S{person:04},Person{person},Surname{},Teacher\n",
            person * 7 % 101
        ));
    }
    for school in 0..SCHOOLS {
        std::fs::write(schools.join(format!("school{school:02}.yaml")), &yaml).unwrap();
        std::fs::write(
            schools.join(format!("school{school:02}.staff.csv")),
            &roster,
        )
        .unwrap();
    }

    let archive = scratch.path().join("archive");
    drop(aup::archive::Archive::open(&archive).expect("archive"));
    let mut conn = rusqlite::Connection::open(archive.join("aup.sqlite")).unwrap();
    let tx = conn.transaction().unwrap();
    let mut returns = 0usize;
    for school in 0..SCHOOLS {
        let slug = format!("school{school:02}");
        for (y, year) in YEARS.iter().enumerate() {
            // Two policy versions a year: the second is current, so some people
            // signed an outdated one.
            let old = format!("{slug}-{year}-v1");
            let current = format!("{slug}-{year}-v2");
            for (fingerprint, issued) in [(&old, "2021-09-01"), (&current, "2021-09-02")] {
                tx.execute(
                    "INSERT INTO policies (fingerprint, school, year, template, policy_json, first_issued) VALUES (?1, ?2, ?3, 'staff-aup', '{}', ?4)",
                    params![fingerprint, slug, year, issued],
                )
                .unwrap();
            }
            for person in 0..STAFF {
                let outdated = person % 10 == 9;
                let fingerprint = if outdated { &old } else { &current };
                let form_id = format!("S{school:02}-{y}-{person:04}");
                tx.execute(
                    "INSERT INTO forms (form_id, school, year, serial, person_key, name, role, fingerprint, pages, issued_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'Teacher', ?7, 3, '2021-09-01')",
                    params![form_id, slug, year, person as i64, format!("id:s{person:04}"), format!("Person{person}"), fingerprint],
                )
                .unwrap();
                let verdict = match person % 10 {
                    0..=6 | 9 => "accepted",
                    7 => "incomplete",
                    _ => continue,
                };
                tx.execute(
                    "INSERT INTO returns (form_id, school, year, fingerprint, verdict, missing, method, files, archived_path, ingested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'paper', '[\"scan.pdf\"]', 'x.pdf', '2025-10-01T09:00:00Z')",
                    params![form_id, slug, year, fingerprint, verdict, if verdict == "incomplete" { "[\"date\"]" } else { "[]" }],
                )
                .unwrap();
                returns += 1;
            }
        }
    }
    tx.commit().unwrap();
    drop(conn);

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
