//! Benchmark: `aup status` as a whole process over a synthetic index of 50 schools ×
//! 200 staff × 5 academic years (50,000 issued forms, about 40,000 returns), for one
//! year across all schools, as table and as JSON. Target: under 100 ms.
//!
//! The index is written through the archive's own API (`Archive::record` and
//! `Archive::record_ingest`, as generate and ingest write it) without making the
//! PDFs: making 50,000 of them would measure `generate`, not `status`.
//!
//! Run with `cargo bench --bench status`; it prints the figures.

use std::process::Command;
use std::time::Instant;

use aup::archive::{Archive, IngestRecord, IssuedForm, PolicyRecord, Recipient, ReturnRow};
use aup::config::AcademicYear;
use aup::verdict::Verdict;

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
    let mut index = Archive::open(&archive).expect("archive");
    let mut returns = 0usize;
    for school in 0..SCHOOLS {
        let slug = format!("school{school:02}");
        let prefix = format!(
            "X{}{}",
            (b'A' + school as u8 / 26) as char,
            (b'A' + school as u8 % 26) as char
        );
        for year in YEARS {
            let academic: AcademicYear = year.parse().unwrap();
            // Two policy versions a year: the second is current, so some people
            // signed an outdated one.
            let mut rows = Vec::new();
            for (version, issued, outdated) in
                [("v1", "2021-09-01", true), ("v2", "2021-09-02", false)]
            {
                let fingerprint = format!("{slug}-{year}-{version}");
                let people: Vec<usize> = (0..STAFF).filter(|p| (p % 10 == 9) == outdated).collect();
                let recipients: Vec<Recipient> = people
                    .iter()
                    .map(|person| Recipient {
                        key: format!("id:s{person:04}"),
                        name: Some(format!("Person{person}")),
                        role: Some("Teacher".into()),
                        staff_id: Some(format!("S{person:04}")),
                        email: None,
                    })
                    .collect();
                let ids = index
                    .assign_ids(&slug, &prefix, academic, &fingerprint, &recipients)
                    .unwrap();
                let pages = [(595.28, 841.89); 3];
                let hashes = vec![String::new(); 3];
                let forms: Vec<IssuedForm> = ids
                    .iter()
                    .zip(&recipients)
                    .map(|(form_id, recipient)| IssuedForm {
                        form_id,
                        recipient,
                        pages: &pages,
                        page_hashes: &hashes,
                        page_drawings: &[],
                        fields: &[],
                        file_sha256: "",
                    })
                    .collect();
                let policy = PolicyRecord {
                    fingerprint: &fingerprint,
                    school: &slug,
                    year: academic,
                    template: "staff-aup",
                    policy_json: "{}",
                    issued_on: issued,
                };
                index.record(&policy, &forms).unwrap();
                for (form_id, person) in ids.iter().zip(&people) {
                    let verdict = match person % 10 {
                        0..=6 | 9 => Verdict::Accepted,
                        7 => Verdict::Incomplete,
                        _ => continue,
                    };
                    rows.push(ReturnRow {
                        form_id: form_id.as_str().to_owned(),
                        school: slug.clone(),
                        year: year.to_string(),
                        fingerprint: fingerprint.clone(),
                        verdict,
                        missing: match verdict {
                            Verdict::Incomplete => vec!["date".into()],
                            _ => Vec::new(),
                        },
                        method: "paper".into(),
                        files: vec!["scan.pdf".into()],
                        received: Vec::new(),
                        archived_path: "x.pdf".into(),
                    });
                }
            }
            returns += rows.len();
            let record = IngestRecord {
                returns: rows,
                ..Default::default()
            };
            index
                .record_ingest(&record, "2025-10-01T09:00:00Z")
                .unwrap();
        }
    }
    drop(index);

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
