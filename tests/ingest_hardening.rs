//! Ingest that no file can stop: the office leaves `aup ingest` running on the
//! scan folder, and whatever lands there (a scan cut short, a file from an OCR
//! tool, a hostile PDF, a link, a FIFO, a file replaced mid-run) must neither stop
//! it nor lose bytes. Each test is named after a failure it pins.

mod common;
mod scan;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, copy_tree, python, run_tool, sqlite};
use scan::{SIGNED, form_id, noise, scan_pdf};
use sha2::{Digest, Sha256};

/// A school with a three-person roster, generated, with an empty inbox.
fn school() -> Scratch {
    Scratch::pakeman_issued(
        "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\nA2,Ben,Okafor,TA\nA3,Chloe,Price,Governor\n",
        &[],
    )
}

/// A signed 150-dpi scan of `who`'s form.
fn signed_scan(scratch: &Scratch, who: &str) -> (Vec<u8>, String) {
    let pdf = scratch.form_pdf("pakeman", who);
    let mut pages = scan::paper(&scratch.path("archive"), &pdf, 150.0, SIGNED);
    for (i, page) in pages.iter_mut().enumerate() {
        noise(page, i as u32 + 7);
    }
    (scan_pdf(&pages, 150.0), form_id(&pdf))
}

fn outcome<'a>(outcomes: &'a [serde_json::Value], key: &str, value: &str) -> &'a serde_json::Value {
    outcomes
        .iter()
        .find(|o| o[key] == value)
        .unwrap_or_else(|| panic!("no outcome with {key} = {value}: {outcomes:#?}"))
}

fn reason_code(outcome: &serde_json::Value) -> String {
    outcome["reason"]
        .as_str()
        .unwrap_or_default()
        .split(':')
        .next()
        .unwrap()
        .to_owned()
}

fn inbox_files(scratch: &Scratch) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(scratch.path("inbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file under `archive/received/` is named by the SHA-256 of its bytes.
fn received_files_are_named_by_their_hash(archive: &Path) -> usize {
    let mut count = 0;
    for entry in walk(&archive.join("received")) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let stem = name.split('.').next().unwrap();
        assert_eq!(
            sha256(&std::fs::read(&entry).unwrap()),
            stem,
            "{} is not what its name says",
            entry.display()
        );
        count += 1;
    }
    count
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        match path.is_dir() {
            true => out.extend(walk(&path)),
            false => out.push(path),
        }
    }
    out
}

#[test]
fn a_scan_cut_short_is_quarantined_beside_good_scans_and_a_second_run_is_clean() {
    let scratch = school();
    let (amelia, amelia_id) = signed_scan(&scratch, "amelia");
    let (ben, ben_id) = signed_scan(&scratch, "okafor");
    let (chloe, _) = signed_scan(&scratch, "price");
    std::fs::write(scratch.path("inbox/a-amelia.pdf"), &amelia).unwrap();
    std::fs::write(scratch.path("inbox/b-ben.pdf"), &ben).unwrap();
    // A copier still writing, or a damaged file: cut anywhere from 10% to 99%.
    for percent in [10, 37, 50, 73, 99] {
        let cut = &chloe[..chloe.len() * percent / 100];
        std::fs::write(scratch.path(&format!("inbox/cut-{percent}.pdf")), cut).unwrap();
    }
    let outcomes = scratch.ingest_json();
    assert_eq!(
        outcome(&outcomes, "form_id", &amelia_id)["verdict"],
        "accepted"
    );
    assert_eq!(
        outcome(&outcomes, "form_id", &ben_id)["verdict"],
        "accepted"
    );
    for percent in [10, 37, 50, 73, 99] {
        let file = format!("cut-{percent}.pdf");
        let cut = outcomes
            .iter()
            .filter(|o| o["file"] == file.as_str())
            .collect::<Vec<_>>();
        assert!(!cut.is_empty(), "nothing said of {file}: {outcomes:#?}");
        for o in cut {
            // Quarantined whole or page by page; never accepted, never lost.
            assert_eq!(o["verdict"], "unidentified", "{o}");
            assert!(!reason_code(o).is_empty(), "{o}");
            assert!(o["archived"].is_string(), "{o}");
        }
    }
    assert!(
        inbox_files(&scratch).is_empty(),
        "{:?}",
        inbox_files(&scratch)
    );
    let again = scratch
        .aup(&["ingest", "--json", "--settle", "0"])
        .success();
    assert!(again.stdout().trim().is_empty(), "{}", again.stdout());
    assert!(
        again.stderr().contains("nothing to do"),
        "{}",
        again.stderr()
    );
}

#[test]
fn scans_and_forms_written_with_object_streams_are_read() {
    let scratch = school();
    let (amelia, amelia_id) = signed_scan(&scratch, "amelia");
    let plain = scratch.path("amelia-plain.pdf");
    std::fs::write(&plain, &amelia).unwrap();
    // qpdf and pikepdf (and some copiers) put the page tree in object streams.
    run_tool(
        "qpdf",
        &[
            "--object-streams=generate".as_ref(),
            plain.as_os_str(),
            scratch.path("inbox/amelia-qpdf.pdf").as_os_str(),
        ],
    );
    // One of our own forms re-saved the same way is still one of our forms.
    let form = scratch.form_pdf("pakeman", "okafor");
    let ben_id = form_id(&form);
    run_tool(
        "qpdf",
        &[
            "--object-streams=generate".as_ref(),
            form.as_os_str(),
            scratch.path("inbox/ben-resaved.pdf").as_os_str(),
        ],
    );
    let outcomes = scratch.ingest_json();
    assert_eq!(
        outcome(&outcomes, "form_id", &amelia_id)["verdict"],
        "accepted",
        "{outcomes:#?}"
    );
    // Unsigned and undated, but recognised by its metadata as Ben's form.
    let ben = outcome(&outcomes, "form_id", &ben_id);
    assert_eq!(ben["verdict"], "incomplete", "{ben}");
    assert_eq!(ben["file"], "ben-resaved.pdf");
}

#[test]
fn a_scan_run_through_ocrmypdf_is_filed() {
    let scratch = school();
    let (chloe, chloe_id) = signed_scan(&scratch, "price");
    let plain = scratch.path("chloe.pdf");
    std::fs::write(&plain, &chloe).unwrap();
    // What an office's "searchable PDF" step writes: a text layer, object streams.
    run_tool(
        "ocrmypdf",
        &[
            "--quiet".as_ref(),
            "--output-type".as_ref(),
            "pdf".as_ref(),
            "--optimize".as_ref(),
            "1".as_ref(),
            plain.as_os_str(),
            scratch.path("inbox/chloe-ocr.pdf").as_os_str(),
        ],
    );
    let outcomes = scratch.ingest_json();
    assert_eq!(
        outcome(&outcomes, "form_id", &chloe_id)["verdict"],
        "accepted",
        "{outcomes:#?}"
    );
}

/// A PDF that opens `depth` arrays and never closes them.
fn nested(depth: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n1 0 obj\n".to_vec();
    pdf.extend(std::iter::repeat_n(b'[', depth));
    pdf.extend_from_slice(b"\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    pdf
}

#[test]
fn a_pdf_nested_200000_deep_is_quarantined_and_the_run_goes_on() {
    let scratch = school();
    let (amelia, amelia_id) = signed_scan(&scratch, "amelia");
    std::fs::write(scratch.path("inbox/amelia.pdf"), &amelia).unwrap();
    std::fs::write(scratch.path("inbox/nested.pdf"), nested(200_000)).unwrap();
    // 100,000 levels of dictionaries inside a real form, before its trailer.
    let form = std::fs::read(scratch.form_pdf("pakeman", "okafor")).unwrap();
    let mut hostile = form[..form.len() / 2].to_vec();
    hostile.extend_from_slice(b"\n99 0 obj\n");
    hostile.extend(b"<< /A ".repeat(100_000));
    hostile.extend_from_slice(&form[form.len() / 2..]);
    std::fs::write(scratch.path("inbox/form-nested.pdf"), hostile).unwrap();
    let run = scratch
        .aup(&["ingest", "--json", "--settle", "0"])
        .success();
    let outcomes = run.json_lines();
    assert_eq!(
        outcome(&outcomes, "form_id", &amelia_id)["verdict"],
        "accepted"
    );
    for file in ["nested.pdf", "form-nested.pdf"] {
        let o = outcome(&outcomes, "file", file);
        assert!(
            matches!(
                o["verdict"].as_str(),
                Some("unidentified" | "incomplete" | "rejected")
            ),
            "{o}"
        );
        assert!(o["archived"].is_string(), "{o}");
    }
    assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
    assert!(inbox_files(&scratch).is_empty());
}

#[test]
fn a_reader_that_overruns_its_deadline_is_stopped_and_its_file_quarantined() {
    let scratch = school();
    // A 300-dpi batch of 135 pages: seconds of work, given one second. (45 pages
    // were once enough; hayro 0.9 renders them in about a second.)
    let mut pages = Vec::new();
    for who in ["amelia", "okafor", "price"] {
        let pdf = scratch.form_pdf("pakeman", who);
        pages.extend(scan::paper(&scratch.path("archive"), &pdf, 300.0, SIGNED));
    }
    let pages: Vec<_> = (0..15).flat_map(|_| pages.iter().cloned()).collect();
    std::fs::write(scratch.path("inbox/batch.pdf"), scan_pdf(&pages, 300.0)).unwrap();
    let (ben, ben_id) = signed_scan(&scratch, "okafor");
    std::fs::write(scratch.path("inbox/ben.pdf"), &ben).unwrap();
    let run = scratch
        .aup(&["ingest", "--json", "--settle", "0", "--reader-timeout", "1"])
        .success();
    let outcomes = run.json_lines();
    let batch = outcome(&outcomes, "file", "batch.pdf");
    assert_eq!(batch["verdict"], "unidentified", "{batch}");
    assert_eq!(reason_code(batch), "timeout", "{batch}");
    assert!(
        batch["reason"]
            .as_str()
            .unwrap()
            .contains("longer than 1 s"),
        "{batch}"
    );
    // The other file of the run is filed as usual.
    assert_eq!(
        outcome(&outcomes, "form_id", &ben_id)["verdict"],
        "accepted"
    );
    // The quarantined batch can be read again with more time.
    let sidecar: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            scratch
                .path("archive")
                .join(batch["archived"].as_str().unwrap().to_owned() + ".json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(sidecar["reason"], "timeout", "{sidecar}");
}

#[test]
fn a_file_renamed_over_an_inbox_entry_during_a_run_is_kept_for_the_next() {
    let scratch = school();
    let (amelia, amelia_id) = signed_scan(&scratch, "amelia");
    let (ben, ben_id) = signed_scan(&scratch, "okafor");
    // A big batch keeps the run busy after the small file has been read.
    let mut pages = Vec::new();
    for _ in 0..4 {
        let pdf = scratch.form_pdf("pakeman", "price");
        pages.extend(scan::paper(&scratch.path("archive"), &pdf, 300.0, SIGNED));
    }
    std::fs::write(scratch.path("inbox/a-first.pdf"), &amelia).unwrap();
    std::fs::write(scratch.path("inbox/z-batch.pdf"), scan_pdf(&pages, 300.0)).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_aup"))
        .args(["ingest", "--json", "--settle", "0"])
        .current_dir(scratch.dir.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once a-first.pdf's bytes are in the archive, Ben's scan is renamed over it.
    let stored = scratch.path(&format!(
        "archive/received/{}/{}.pdf",
        &sha256(&amelia)[..2],
        sha256(&amelia)
    ));
    let started = std::time::Instant::now();
    while !stored.exists() {
        assert!(
            started.elapsed().as_secs() < 60,
            "the run never read a-first.pdf"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let newer = scratch.path("inbox-ben.tmp");
    std::fs::write(&newer, &ben).unwrap();
    std::fs::rename(&newer, scratch.path("inbox/a-first.pdf")).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("changed after it was read"), "{stderr}");
    // Ben's bytes were not deleted: still in the inbox, and filed next run.
    assert_eq!(
        std::fs::read(scratch.path("inbox/a-first.pdf")).unwrap(),
        ben
    );
    let outcomes = scratch.ingest_json();
    assert_eq!(
        outcome(&outcomes, "form_id", &ben_id)["verdict"],
        "accepted"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&amelia_id), "{stdout}");
    assert!(inbox_files(&scratch).is_empty());
    received_files_are_named_by_their_hash(&scratch.path("archive"));
}

#[test]
fn a_file_rewritten_while_it_is_hashed_is_stored_under_its_own_hash() {
    let scratch = school();
    let (amelia, _) = signed_scan(&scratch, "amelia");
    let (ben, _) = signed_scan(&scratch, "okafor");
    let path = scratch.path("inbox/scan.pdf");
    std::fs::write(&path, &amelia).unwrap();
    // A copier that keeps rewriting the same name while ingest runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let bytes = if n.is_multiple_of(2) { &ben } else { &amelia };
                let _ = std::fs::write(&path, bytes);
                n += 1;
            }
        })
    };
    for _ in 0..5 {
        let run = scratch.aup(&["ingest", "--json", "--settle", "0"]);
        assert_eq!(run.code(), Some(0), "{}", run.stderr());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    received_files_are_named_by_their_hash(&scratch.path("archive"));
}

#[test]
fn two_generates_at_once_with_different_new_people_get_distinct_ids() {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\n",
    );
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    for round in 0..3 {
        // Two offices, each adding its own new member of staff, on one archive.
        let mut children = Vec::new();
        for office in ["north", "south"] {
            let schools = scratch.path(&format!("schools-{office}-{round}"));
            std::fs::create_dir_all(&schools).unwrap();
            std::fs::copy(
                scratch.path("schools/pakeman.yaml"),
                schools.join("pakeman.yaml"),
            )
            .unwrap();
            std::fs::write(
                schools.join("pakeman.staff.csv"),
                format!(
                    "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\n{office}{round},New{office}{round},Person,TA\n"
                ),
            )
            .unwrap();
            children.push(
                Command::new(env!("CARGO_BIN_EXE_aup"))
                    .args(["generate", "--date", "2025-09-01", "--schools"])
                    .arg(&schools)
                    .arg("--out")
                    .arg(scratch.path(&format!("out-{office}-{round}")))
                    .current_dir(scratch.dir.path())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap(),
            );
        }
        let mut ids = Vec::new();
        for (child, office) in children.into_iter().zip(["north", "south"]) {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let forms = scratch.path(&format!("out-{office}-{round}/pakeman/2025-26/forms"));
            let new = std::fs::read_dir(&forms)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .find(|n| n.contains(&format!("new{office}")))
                .unwrap_or_else(|| panic!("no form for the new person of {office}"));
            ids.push(new[..15].to_owned());
        }
        assert_ne!(ids[0], ids[1], "two new people share a form id");
        for id in &ids {
            let show = scratch.aup(&["show", id]).success().stdout();
            assert!(show.contains("New"), "{show}");
        }
    }
}

#[test]
fn a_kill_between_commit_and_head_write_is_no_tampering_alarm() {
    let scratch = school();
    let (amelia, amelia_id) = signed_scan(&scratch, "amelia");
    std::fs::write(scratch.path("inbox/amelia.pdf"), &amelia).unwrap();
    let run = scratch.aup_env(
        &["ingest", "--settle", "0"],
        &[("AUP_FAULT", "after-commit")],
    );
    assert_ne!(run.code(), Some(0));
    // Committed, head not yet moved on: the chain is whole, and verify says so.
    let verify = scratch.aup(&["audit", "verify"]).success();
    assert!(verify.stdout().contains("intact"), "{}", verify.stdout());
    // The next run repairs the head, and files nothing twice.
    let outcomes = scratch.ingest_json();
    assert_eq!(
        outcome(&outcomes, "file", "amelia.pdf")["verdict"],
        "duplicate"
    );
    assert!(!outcomes.iter().any(|o| o["form_id"] == amelia_id.as_str()));
    scratch.aup(&["audit", "verify"]).success();
    // Deleting the newest entry is still detected.
    sqlite(
        &scratch.path("archive"),
        "DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit)",
    );
    let broken = scratch.aup(&["audit", "verify"]);
    assert_eq!(broken.code(), Some(1));
    assert!(broken.stderr().contains("deleted"), "{}", broken.stderr());
}

#[test]
fn tidying_after_a_crash_leaves_the_temporary_files_of_a_running_process() {
    // `aup serve` writes the audit head's next value through a temporary file
    // while a CLI ingest starts beside it: that file is not a crash's leftover.
    let scratch = school();
    let live = format!("archive/.audit.head.next.{}.tmp", std::process::id());
    scratch.write(&live, "1 abc\n");
    let run = scratch.aup(&["ingest", "--settle", "0"]).success();
    assert!(!run.stderr().contains("temporary file"), "{}", run.stderr());
    assert!(scratch.path(&live).exists());
}

#[test]
fn temporary_files_of_a_killed_run_are_removed_by_the_next() {
    let scratch = school();
    // Process 4194305 cannot exist (Linux numbers processes below 2^22).
    let leftovers = [
        "archive/received/ab/.abcdef.pdf.4194305.tmp",
        "archive/received/.incoming.4194305.tmp",
        "archive/pakeman/2025-26/returns/.PAK-2526-0001-X-1234.pdf.4194305.link",
    ];
    for leftover in leftovers {
        scratch.write(leftover, &"x".repeat(100_000));
    }
    let run = scratch.aup(&["ingest", "--settle", "0"]).success();
    assert!(
        run.stderr().contains("removed 3 temporary files"),
        "{}",
        run.stderr()
    );
    for leftover in leftovers {
        assert!(
            !scratch.path(leftover).exists(),
            "{leftover} is still there"
        );
    }
}

#[test]
fn links_fifos_and_odd_names_in_the_inbox_are_reported_and_never_followed() {
    use std::os::unix::ffi::OsStrExt;
    let scratch = school();
    let (amelia, _) = signed_scan(&scratch, "amelia");
    let (ben, ben_id) = signed_scan(&scratch, "okafor");
    // A scan outside the inbox, linked in: not followed, not taken, not deleted.
    let outside = scratch.path("private/amelia.pdf");
    std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
    std::fs::write(&outside, &amelia).unwrap();
    std::os::unix::fs::symlink(&outside, scratch.path("inbox/link.pdf")).unwrap();
    let fifo = scratch.path("inbox/pipe.pdf");
    run_tool("mkfifo", &[fifo.as_os_str()]);
    // A name that is not UTF-8 (Latin-1 "é"), as an old copier writes it.
    let odd = scratch
        .path("inbox")
        .join(std::ffi::OsStr::from_bytes(b"scan-\xe9.pdf"));
    std::fs::write(&odd, &ben).unwrap();
    let run = scratch
        .aup(&["ingest", "--json", "--settle", "0"])
        .success();
    let stderr = run.stderr();
    assert!(stderr.contains("link.pdf: a symbolic link"), "{stderr}");
    assert!(stderr.contains("pipe.pdf: a FIFO"), "{stderr}");
    let outcomes = run.json_lines();
    assert_eq!(
        outcome(&outcomes, "form_id", &ben_id)["verdict"],
        "accepted"
    );
    assert!(outside.is_file(), "the link's target was touched");
    assert!(scratch.path("inbox/link.pdf").symlink_metadata().is_ok());
    assert!(fifo.symlink_metadata().is_ok());
    assert!(!odd.exists(), "the odd name was not taken");
    // Nothing was read through the link.
    let stored = scratch.path(&format!(
        "archive/received/{}/{}.pdf",
        &sha256(&amelia)[..2],
        sha256(&amelia)
    ));
    assert!(!stored.exists());
}

#[test]
fn status_shows_a_rejected_current_return_as_rejected_and_chases_it() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    // A white box drawn over the policy text of page 1, saved incrementally.
    python(
        "tamper.py",
        &[&form, &scratch.path("inbox/amelia.pdf"), Path::new("1")],
    );
    let outcomes = scratch.ingest_json();
    assert_eq!(
        outcome(&outcomes, "file", "amelia.pdf")["verdict"],
        "rejected"
    );
    let json = scratch
        .aup(&["status", "--year", "2025-26", "--format", "json"])
        .success()
        .stdout();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let amelia = rows.iter().find(|r| r["name"] == "Amelia Hart").unwrap();
    assert_eq!(amelia["state"], "rejected", "{amelia}");
    let table = scratch
        .aup(&["status", "--year", "2025-26"])
        .success()
        .stdout();
    assert!(table.contains("1 rejected"), "{table}");
    let html_path = scratch.path("status.html");
    scratch
        .aup(&[
            "status",
            "--year",
            "2025-26",
            "--format",
            "html",
            "--out",
            html_path.to_str().unwrap(),
        ])
        .success();
    let html = std::fs::read_to_string(html_path).unwrap();
    let chase = html.split("Amelia Hart").nth(1).unwrap_or_default();
    assert!(chase.contains("rejected"), "not on the chase list: {html}");
}

#[test]
fn a_mistyped_archive_is_an_error_and_creates_nothing() {
    let scratch = school();
    for args in [
        vec!["status", "--archive", "archvie"],
        vec!["show", "PAK-2526-0001-X", "--archive", "archvie"],
        vec!["audit", "verify", "--archive", "archvie"],
    ] {
        let run = scratch.aup(&args);
        // `audit verify` could not check anything: exit 3, not "broken" (1).
        let err = match args[0] {
            "audit" => run.could_not_check(),
            _ => run.failure(),
        };
        assert!(err.contains("there is no archive in archvie"), "{err}");
        assert!(err.contains("hint: pass --archive"), "{err}");
        assert!(!scratch.path("archvie").exists(), "{args:?} created it");
    }
}

#[test]
fn prune_refuses_a_school_whose_yaml_cannot_be_read() {
    let scratch = Scratch::pakeman_with_roster("Name,Role\nAmelia Hart,Teacher\n");
    scratch
        .aup(&["generate", "--year", "2012-13", "--date", "2012-09-03"])
        .success();
    std::fs::write(scratch.path("schools/pakeman.yaml"), "name: [unclosed\n").unwrap();
    let err = scratch
        .aup(&["prune", "--before", "2020-21", "--today", "2026-11-23"])
        .failure();
    assert!(err.contains("pakeman 2012-13 not pruned"), "{err}");
    assert!(scratch.path("out/pakeman/2012-13").exists());
    let show = scratch.aup(&["status", "--year", "2012-13"]);
    assert!(!show.stderr().contains("panicked"));
}

#[test]
fn status_piped_into_head_ends_quietly() {
    let scratch = Scratch::pakeman_with_roster(&{
        let mut roster = String::from("Name,Role\n");
        for i in 0..3000 {
            roster.push_str(&format!("Person {i},Teacher\n"));
        }
        roster
    });
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    let output = Command::new("sh")
        .args([
            "-c",
            &format!(
                "'{}' status --format csv | head -n 1",
                env!("CARGO_BIN_EXE_aup")
            ),
        ])
        .current_dir(scratch.dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.trim().is_empty(), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("school"));
}

#[test]
fn a_trust_root_that_is_not_a_regular_file_is_refused_by_check() {
    let scratch = Scratch::pakeman_with_roster("Name,Role\nAmelia Hart,Teacher\n");
    let yaml = std::fs::read_to_string(scratch.path("schools/pakeman.yaml")).unwrap();
    scratch.write(
        "schools/pakeman.yaml",
        &format!("{yaml}\nrecords:\n  trust_roots: [/dev/zero]\n"),
    );
    let err = scratch.aup(&["check", "pakeman"]).failure();
    assert!(err.contains("/dev/zero"), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

/// A small seeded generator (xorshift), so a failing mutation can be made again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// `bytes` damaged one of the ways files are damaged: bytes flipped, cut short, a
/// run of junk written over, a chunk repeated, or a run zeroed.
fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let len = out.len().max(1);
    match rng.below(5) {
        0 => {
            for _ in 0..1 + rng.below(16) {
                let i = rng.below(len);
                if let Some(b) = out.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
        1 => out.truncate(rng.below(len)),
        2 => {
            let at = rng.below(len);
            for i in at..(at + 1 + rng.below(64)).min(out.len()) {
                out[i] = rng.next() as u8;
            }
        }
        3 => {
            let at = rng.below(len);
            let end = (at + rng.below(4096)).min(out.len());
            let chunk = out[at..end].to_vec();
            let to = rng.below(len).min(out.len());
            out.splice(to..to, chunk);
        }
        _ => {
            let at = rng.below(len);
            for b in out.iter_mut().skip(at).take(1 + rng.below(512)) {
                *b = 0;
            }
        }
    }
    out
}

#[test]
fn two_thousand_mutated_forms_and_scans_each_end_filed_or_quarantined() {
    let scratch = school();
    let form = std::fs::read(scratch.form_pdf("pakeman", "amelia")).unwrap();
    // A small scan: one 100-dpi page of Ben's form.
    let pdf = scratch.form_pdf("pakeman", "okafor");
    let pages = scan::paper(&scratch.path("archive"), &pdf, 100.0, SIGNED);
    let scan = scan_pdf(&pages[..1], 100.0);
    let mut rng = Rng(0x5eed_a0b1_c2d3_e4f5);
    let mut names = Vec::new();
    for i in 0..2000 {
        let base = if i % 2 == 0 { &form } else { &scan };
        let name = format!("m{i:04}.pdf");
        std::fs::write(scratch.path("inbox").join(&name), mutate(base, &mut rng)).unwrap();
        names.push(name);
    }
    let started = std::time::Instant::now();
    let run = scratch.aup(&["ingest", "--json", "--settle", "0"]);
    let took = started.elapsed();
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
    let outcomes = run.json_lines();
    let mut told: std::collections::HashSet<String> = Default::default();
    for o in &outcomes {
        let verdict = o["verdict"].as_str().unwrap();
        if verdict == "unidentified" {
            assert!(
                !reason_code(o).is_empty(),
                "quarantined without a reason: {o}"
            );
            assert!(o["archived"].is_string(), "quarantined but not kept: {o}");
        }
        for file in o["file"].as_str().unwrap().split(", ") {
            told.insert(file.to_owned());
        }
    }
    // A file whose pages were all blank or that only added pages to a form is
    // named by that form's outcome; every file is named by some outcome.
    let untold: Vec<&String> = names.iter().filter(|n| !told.contains(*n)).collect();
    assert!(
        untold.is_empty(),
        "no outcome for {} files, e.g. {:?}",
        untold.len(),
        &untold[..untold.len().min(5)]
    );
    assert!(
        inbox_files(&scratch).is_empty(),
        "left in the inbox: {:?}",
        inbox_files(&scratch)
    );
    eprintln!("2000 mutated files ingested in {:.1} s", took.as_secs_f64());
}

#[test]
fn ingest_killed_at_random_points_loses_and_duplicates_nothing() {
    let template = school();
    let mut inbox: Vec<(String, Vec<u8>, String)> = Vec::new();
    for (name, who) in [("a.pdf", "amelia"), ("b.pdf", "okafor"), ("c.pdf", "price")] {
        let (bytes, id) = signed_scan(&template, who);
        std::fs::write(template.path("inbox").join(name), &bytes).unwrap();
        inbox.push((name.to_owned(), bytes, id));
    }
    // How long a whole run takes, so kills land all through it.
    let timing = Scratch::empty();
    copy_tree(template.dir.path(), timing.dir.path());
    let started = std::time::Instant::now();
    timing.aup(&["ingest", "--settle", "0"]).success();
    let whole = started.elapsed().as_millis() as u64;
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let trials = 22;
    for trial in 0..trials {
        let scratch = Scratch::empty();
        copy_tree(template.dir.path(), scratch.dir.path());
        // Two trials use fault injection to land exactly before and after the
        // commit; the others kill -9 at a random moment of the run.
        let fault = match trial {
            0 => "before-commit",
            1 => "after-commit",
            _ => "",
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_aup"))
            .args(["ingest", "--settle", "0"])
            .current_dir(scratch.dir.path())
            .env("AUP_FAULT", fault)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        if fault.is_empty() {
            let delay = rng.next() % (whole + whole / 4 + 1);
            std::thread::sleep(std::time::Duration::from_millis(delay));
            let _ = child.kill();
        }
        let _ = child.wait();
        let archive = scratch.path("archive");
        for (name, bytes, _) in &inbox {
            if scratch.path("inbox").join(name).exists() {
                continue;
            }
            let sha = sha256(bytes);
            let stored = archive.join(format!("received/{}/{sha}.pdf", &sha[..2]));
            assert_eq!(
                std::fs::read(&stored).ok().as_ref(),
                Some(bytes),
                "trial {trial}: {name} lost"
            );
            let indexed = sqlite(
                &archive,
                &format!("SELECT COUNT(*) FROM received WHERE sha256 = '{sha}'"),
            );
            assert_eq!(
                indexed.trim(),
                "1",
                "trial {trial}: {name} gone but not indexed"
            );
        }
        if archive.join("aup.sqlite").exists() {
            assert_eq!(
                sqlite(&archive, "PRAGMA integrity_check").trim(),
                "ok",
                "trial {trial}"
            );
            let verify = scratch.aup(&["audit", "verify"]);
            assert_eq!(verify.code(), Some(0), "trial {trial}: {}", verify.stderr());
        }
        // The next run finishes the job: every form filed exactly once.
        scratch.aup(&["ingest", "--settle", "0"]).success();
        for (name, _, id) in &inbox {
            let returns = sqlite(
                &archive,
                &format!("SELECT COUNT(*) FROM returns WHERE form_id = '{id}'"),
            );
            assert_eq!(
                returns.trim(),
                "1",
                "trial {trial}: {name} filed {returns} times"
            );
        }
        assert!(
            inbox_files(&scratch).is_empty(),
            "trial {trial}: {:?}",
            inbox_files(&scratch)
        );
        scratch.aup(&["audit", "verify"]).success();
        received_files_are_named_by_their_hash(&archive);
    }
}
