//! Returns as real PDF readers save them: the form filled (and signed) in MuPDF,
//! Poppler, pdf.js, Ghostscript, and what `aup verify` and `aup ingest` make of
//! each. The files are made by those programs themselves, as on a member of
//! staff's machine.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Scratch;
use serde_json::Value;

fn school() -> Scratch {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\nA2,Daniel,Okoro,TA\n",
    );
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    scratch
}

/// Fills fields by their labels with MuPDF's `mutool run` (1.21), saving
/// incrementally or rewriting the file, as MuPDF-based readers do.
fn mutool_fill(input: &Path, output: &Path, mode: &str, values: &[&str]) {
    let run = Command::new("mutool")
        .arg("run")
        .arg(common::repo().join("tests/js/mutool-fill.js"))
        .arg(input)
        .arg(output)
        .arg(mode)
        .args(values)
        .output()
        .expect("mutool (mupdf-tools): run scripts/test.sh, which installs it");
    assert!(run.status.success(), "{run:?}");
}

/// `aup verify --json`, and the detail of one of its checks.
fn verify(scratch: &Scratch, file: &Path) -> Value {
    let run = scratch.aup(&["verify", "--json", file.to_str().unwrap()]);
    serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout(), run.stderr()))
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no `{name}` check: {report:#}"))
}

#[test]
fn a_mupdf_incremental_save_keeps_the_form_as_issued_as_its_first_revision() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let saved: PathBuf = scratch.path("mupdf-incremental.pdf");
    mutool_fill(
        &form,
        &saved,
        "incremental",
        &["Today's date=2 September 2025"],
    );
    // What the check is about: MuPDF really kept the issued bytes, and began
    // its update with an end of line after the issued `%%EOF`.
    let (issued, returned) = (
        std::fs::read(&form).unwrap(),
        std::fs::read(&saved).unwrap(),
    );
    assert!(issued.ends_with(b"%%EOF"));
    assert_eq!(&returned[..issued.len()], issued.as_slice());
    assert_eq!(returned[issued.len()], b'\n');

    let report = verify(&scratch, &saved);
    let policy = check(&report, "policy text as issued");
    assert_eq!(policy["passed"], true, "{report:#}");
    assert!(
        policy["detail"]
            .as_str()
            .unwrap()
            .starts_with("the form as issued is kept byte for byte, then"),
        "judged as a rewrite, not as the incremental save it is: {policy:#}"
    );
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(report["missing"], serde_json::json!(["signature"]));
    assert_eq!(report["date"], "2 September 2025");
}

#[test]
fn a_mupdf_full_save_is_judged_page_by_page() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let saved = scratch.path("mupdf-rewritten.pdf");
    mutool_fill(&form, &saved, "full", &["Today's date=2 September 2025"]);
    let report = verify(&scratch, &saved);
    let policy = check(&report, "policy text as issued");
    assert_eq!(policy["passed"], true, "{report:#}");
    assert!(
        policy["detail"]
            .as_str()
            .unwrap()
            .contains("the reader rewrote the file"),
        "{policy:#}"
    );
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(report["date"], "2 September 2025");
}
