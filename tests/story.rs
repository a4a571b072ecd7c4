//! The whole story, three schools at once: forms generated from rosters; some come
//! back as scans, some filled and signed digitally, some incomplete; one school
//! changes its policy after a teacher signed; ingest; then the headteacher's report
//! must count exactly right in every format, and the HTML must load cleanly in a
//! real browser. Years later the forms are pruned, and the audit log says so.

mod common;
mod scan;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, python};
use scan::{Ink, SIGNED, scan_pdf};
use serde_json::Value;

/// Every generated 2025-26 form of `school` whose name contains `who`.
fn forms_of(scratch: &Scratch, school: &str, who: &str) -> Vec<PathBuf> {
    let dir = scratch.path(&format!("out/{school}/2025-26/forms"));
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(who))
        .collect();
    found.sort();
    found
}

fn scan_into_inbox(scratch: &Scratch, form: &Path, ink: Ink, name: &str) {
    let pages = scan::paper(&scratch.path("archive"), form, 150.0, ink);
    std::fs::write(scratch.path("inbox").join(name), scan_pdf(&pages, 150.0)).unwrap();
}

fn status(scratch: &Scratch, format: &str) -> String {
    scratch
        .aup(&["status", "--year", "2025-26", "--format", format])
        .success()
        .stdout()
}

#[test]
fn three_schools_from_generation_to_the_governors_report() {
    let scratch = Scratch::with_shipped_schools();
    let header = "Staff Code,Forename,Surname,Job Title\n";
    scratch.write(
        "schools/pakeman.staff.csv",
        &format!("{header}P1,Amelia,Hart,Teacher\nP2,Ben,Okafor,TA\nP3,Chloe,Price,Governor\n"),
    );
    scratch.write(
        "schools/st-margarets.staff.csv",
        &format!("{header}M1,Priya,Shah,Teacher\nM2,Tom,Reed,Caretaker\n"),
    );
    scratch.write(
        "schools/kensington.staff.csv",
        &format!("{header}K1,Quinn,Adams,Teacher\nK2,Rosa,Diaz,TA\nK3,Sam,Lee,Volunteer\n"),
    );
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();

    // Week one: paper returns, and Tom signs St Margaret's policy as first issued.
    let unsigned = Ink {
        signature: false,
        date: true,
    };
    scan_into_inbox(
        &scratch,
        &forms_of(&scratch, "pakeman", "amelia")[0],
        SIGNED,
        "pak-1.pdf",
    );
    scan_into_inbox(
        &scratch,
        &forms_of(&scratch, "pakeman", "okafor")[0],
        unsigned,
        "pak-2.pdf",
    );
    let tom_first = forms_of(&scratch, "st-margarets", "tom")[0].clone();
    scan_into_inbox(&scratch, &tom_first, SIGNED, "stm-1.pdf");
    let verdicts: Vec<String> = scratch
        .ingest_json()
        .iter()
        .map(|o| o["verdict"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        verdicts.iter().filter(|v| *v == "accepted").count(),
        2,
        "{verdicts:?}"
    );
    assert_eq!(
        verdicts.iter().filter(|v| *v == "incomplete").count(),
        1,
        "{verdicts:?}"
    );

    // St Margaret's changes its policy: everyone must sign the new version.
    let yaml = std::fs::read_to_string(scratch.path("schools/st-margarets.yaml")).unwrap();
    scratch.write(
        "schools/st-margarets.yaml",
        &yaml.replacen("name: ", "name: The ", 1),
    );
    scratch.aup(&["generate", "--date", "2025-10-01"]).success();

    // Week six: digital returns. Priya signs the new version with a certificate;
    // Quinn draws a signature in Firefox; Rosa types her date but does not sign.
    // forms/ holds only the new version's forms: the old ones moved aside, so
    // nobody prints one by mistake.
    let priya = forms_of(&scratch, "st-margarets", "priya");
    assert_eq!(priya.len(), 1, "only the current version: {priya:?}");
    let priya_new = priya[0].clone();
    assert!(!same_version(&scratch, &priya_new, &tom_first));
    let superseded = scratch.path("out/st-margarets/2025-26/superseded");
    let old_versions: Vec<PathBuf> = std::fs::read_dir(&superseded)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(old_versions.len(), 1, "{old_versions:?}");
    assert!(
        std::fs::read_dir(&old_versions[0]).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("priya")),
        "Priya's first form is kept in {}",
        old_versions[0].display()
    );
    let (key, cert, filled) = (
        scratch.path("k.pem"),
        scratch.path("c.pem"),
        scratch.path("priya-filled.pdf"),
    );
    python("selfsigned.py", &[&key, &cert, Path::new("Priya Shah")]);
    python(
        "fill.py",
        &[&priya_new, &filled, Path::new("signer_date=6 October 2025")],
    );
    let signed = scratch.path("inbox/priya.pdf");
    common::pyhanko_sign(&filled, &signed, &key, &cert);
    let quinn = forms_of(&scratch, "kensington", "quinn")[0].clone();
    python(
        "draw.py",
        &[
            &quinn,
            &scratch.path("inbox/quinn.pdf"),
            Path::new("stamp"),
            Path::new("incremental"),
            Path::new("signer_date=7 October 2025"),
        ],
    );
    let rosa = forms_of(&scratch, "kensington", "rosa")[0].clone();
    python(
        "fill.py",
        &[
            &rosa,
            &scratch.path("inbox/rosa.pdf"),
            Path::new("signer_date=7 October 2025"),
        ],
    );
    let outcomes = scratch.ingest_json();
    let verdict = |file: &str| {
        outcomes
            .iter()
            .find(|o| o["file"] == file)
            .unwrap_or_else(|| panic!("{file}: {outcomes:#?}"))["verdict"]
            .clone()
    };
    assert_eq!(verdict("priya.pdf"), "accepted");
    assert_eq!(verdict("quinn.pdf"), "accepted");
    assert_eq!(verdict("rosa.pdf"), "incomplete");

    // JSON: one object per roster person, each state and method exactly right.
    let json: Value = serde_json::from_str(&status(&scratch, "json")).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 8, "{json:#}");
    let expect = [
        ("Amelia Hart", "pakeman", "signed", Some("paper"), vec![]),
        (
            "Ben Okafor",
            "pakeman",
            "incomplete",
            None,
            vec!["signature"],
        ),
        ("Chloe Price", "pakeman", "outstanding", None, vec![]),
        (
            "Priya Shah",
            "st-margarets",
            "signed",
            Some("certificate"),
            vec![],
        ),
        (
            "Tom Reed",
            "st-margarets",
            "outdated",
            None,
            vec!["the current policy version"],
        ),
        ("Quinn Adams", "kensington", "signed", Some("pdf"), vec![]),
        (
            "Rosa Diaz",
            "kensington",
            "incomplete",
            None,
            vec!["signature"],
        ),
        ("Sam Lee", "kensington", "outstanding", None, vec![]),
    ];
    for (name, school, state, method, missing) in expect {
        let row = rows
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {json:#}"));
        assert_eq!(row["school"], school, "{row:#}");
        assert_eq!(row["state"], state, "{row:#}");
        assert_eq!(row["method"].as_str(), method, "{row:#}");
        assert_eq!(row["missing"], serde_json::json!(missing), "{row:#}");
        assert_eq!(row["year"], "2025-26");
    }

    // The table: per-school totals.
    let table = status(&scratch, "table");
    for line in [
        "3 people: 1 signed, 1 incomplete, 0 outdated, 1 outstanding",
        "2 people: 1 signed, 0 incomplete, 1 outdated, 0 outstanding",
    ] {
        assert!(table.contains(line), "{line}\n{table}");
    }
    assert_eq!(
        table
            .matches("3 people: 1 signed, 1 incomplete, 0 outdated, 1 outstanding")
            .count(),
        2,
        "{table}"
    );

    // CSV: a header and a line per person, the states in their column.
    let csv = status(&scratch, "csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 9, "{csv}");
    let states: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(4).unwrap())
        .collect();
    for (state, count) in [
        ("signed", 3),
        ("incomplete", 2),
        ("outdated", 1),
        ("outstanding", 2),
    ] {
        assert_eq!(
            states.iter().filter(|s| **s == state).count(),
            count,
            "{state}\n{csv}"
        );
    }

    // HTML: progress per school, the people still to chase, nothing external.
    scratch
        .aup(&[
            "status",
            "--year",
            "2025-26",
            "--format",
            "html",
            "--out",
            "report.html",
        ])
        .success();
    let html = std::fs::read_to_string(scratch.path("report.html")).unwrap();
    assert_eq!(html.matches("1 of 3 signed (33%)").count(), 2, "{html}");
    assert!(html.contains("1 of 2 signed (50%)"), "{html}");
    for chase in [
        "Ben Okafor",
        "Chloe Price",
        "Tom Reed",
        "Rosa Diaz",
        "Sam Lee",
    ] {
        assert!(html.contains(chase), "{chase} is not listed to chase");
    }
    for done in ["Amelia Hart", "Priya Shah", "Quinn Adams"] {
        assert!(!html.contains(done), "{done} signed but is listed");
    }
    for external in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(external), "external asset: {external}");
    }
    render_in_chromium(&scratch.path("report.html"), &scratch.path("report.png"));
}

/// Two forms are of the same policy version when the register says so.
fn same_version(scratch: &Scratch, a: &Path, b: &Path) -> bool {
    let archive = aup::archive::Archive::open(&scratch.path("archive")).unwrap();
    let fingerprint = |p: &Path| {
        let id = &p.file_name().unwrap().to_str().unwrap()[..15];
        archive
            .issued(id)
            .unwrap()
            .expect("a registered form")
            .fingerprint
    };
    fingerprint(a) == fingerprint(b)
}

/// Loads the report in headless Chromium (Debian's package, installed by
/// scripts/test.sh), screenshots it, and fails on any console error or on a blank
/// page.
fn render_in_chromium(html: &Path, png: &Path) {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
        ])
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1000,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium: run scripts/test.sh, which installs it");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "chromium failed:\n{stderr}");
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    let image = image::open(png).expect("a PNG screenshot").to_luma8();
    let dark = image.pixels().filter(|p| p.0[0] < 128).count();
    assert!(
        dark > 2_000,
        "the screenshot is blank ({dark} dark pixels of {})",
        image.width() * image.height()
    );
}

#[test]
fn forms_past_their_retention_are_pruned_and_the_audit_log_says_so() {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nP1,Amelia,Hart,Teacher\n",
    );
    for (year, date) in [("2018-19", "2018-09-03"), ("2025-26", "2025-09-01")] {
        scratch
            .aup(&["generate", "--year", year, "--date", date])
            .success();
        let dir = scratch.path(&format!("out/pakeman/{year}/forms"));
        let form = std::fs::read_dir(&dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        std::fs::create_dir_all(scratch.path("inbox")).unwrap();
        scan_into_inbox(&scratch, &form, SIGNED, &format!("scan-{year}.pdf"));
        assert_eq!(scratch.ingest_json()[0]["verdict"], "accepted");
    }
    let old_received: Vec<PathBuf> = walk(&scratch.path("archive/received"));
    assert_eq!(old_received.len(), 2);

    // A dry run changes nothing.
    let dry = scratch
        .aup(&[
            "prune",
            "--before",
            "2026-27",
            "--today",
            "2026-11-23",
            "--dry-run",
        ])
        .success()
        .stdout();
    assert!(dry.contains("pakeman 2018-19: would be removed"), "{dry}");
    assert!(scratch.path("archive/pakeman/2018-19").exists());

    let out = scratch
        .aup(&["prune", "--before", "2026-27", "--today", "2026-11-23"])
        .success()
        .stdout();
    // 2018-19 ended on 31 August 2019; six years later it may go. 2025-26 stays.
    assert!(
        out.contains("pakeman 2018-19: removed 1 forms, 1 returns, 1 received files"),
        "{out}"
    );
    assert!(
        out.contains("pakeman 2025-26: kept until 2032-08-31"),
        "{out}"
    );
    assert!(!scratch.path("archive/pakeman/2018-19").exists());
    assert!(scratch.path("archive/pakeman/2025-26").exists());
    assert_eq!(walk(&scratch.path("archive/received")).len(), 1);
    let forms = common::index_rows(&scratch.path("archive"), "forms");
    assert_eq!(forms, 1);
    scratch.aup(&["audit", "verify"]).success();
    let detail = common::sqlite(
        &scratch.path("archive"),
        "SELECT detail FROM audit WHERE action = 'prune'",
    );
    assert!(!detail.is_empty(), "a prune entry in the audit log");
    assert!(
        detail.starts_with("pakeman 2018-19: 1 forms, 1 returns"),
        "{detail}"
    );

    // Pruning again finds nothing more to remove.
    let again = scratch
        .aup(&["prune", "--before", "2026-27", "--today", "2026-11-23"])
        .success()
        .stdout();
    assert!(!again.contains("removed"), "{again}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match path.is_dir() {
            true => files.extend(walk(&path)),
            false => files.push(path),
        }
    }
    files
}
