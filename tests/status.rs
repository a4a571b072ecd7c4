//! The headteacher's question before an inspection: who has signed the current
//! policy? Forms are generated, some come back signed, one unsigned, one not at all.

mod common;
mod scan;

use common::Scratch;
use scan::{Ink, SIGNED, form_id, scan_pdf};

fn form_pdf(scratch: &Scratch, who: &str) -> std::path::PathBuf {
    scratch.form_pdf("pakeman", who)
}

#[test]
fn status_lists_signed_incomplete_and_outstanding_people() {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\nA2,Ben,Okafor,TA\nA3,Chloe,Price,Governor\n",
    );
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    let archive = scratch.path("archive");
    let amelia = form_pdf(&scratch, "amelia");
    let ben = form_pdf(&scratch, "okafor");
    std::fs::write(
        scratch.path("inbox/a.pdf"),
        scan_pdf(&scan::paper(&archive, &amelia, 150.0, SIGNED), 150.0),
    )
    .unwrap();
    let unsigned = Ink {
        signature: false,
        date: true,
    };
    std::fs::write(
        scratch.path("inbox/b.pdf"),
        scan_pdf(&scan::paper(&archive, &ben, 150.0, unsigned), 150.0),
    )
    .unwrap();
    scratch.aup(&["ingest", "--settle", "0"]).success();

    let json = scratch
        .aup(&["status", "--year", "2025-26", "--format", "json"])
        .success()
        .stdout();
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{json}");
    let by_name = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {json}"))
    };
    let a = by_name("Amelia Hart");
    assert_eq!(a["state"], "signed");
    assert_eq!(a["method"], "paper");
    assert_eq!(a["form_id"], form_id(&amelia).as_str());
    assert_eq!(a["school"], "pakeman");
    assert_eq!(a["year"], "2025-26");
    // Paper: the handwritten date is not read; the day it was filed is known.
    assert!(a["signed_on"].is_null(), "{a}");
    assert!(a["received_on"].as_str().unwrap().len() == 10);
    let b = by_name("Ben Okafor");
    assert_eq!(b["state"], "incomplete");
    assert_eq!(b["missing"], serde_json::json!(["signature"]));
    assert_eq!(by_name("Chloe Price")["state"], "outstanding");

    let table = scratch
        .aup(&["status", "--year", "2025-26"])
        .success()
        .stdout();
    assert!(
        table.contains("3 people: 1 signed, 1 incomplete, 0 outdated, 1 outstanding"),
        "{table}"
    );
    assert!(!table.contains('\x1b'), "colour on a pipe");

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
    assert!(html.contains("1 of 3 signed (33%)"), "{html}");
    assert!(
        html.contains("Chloe Price")
            && html.contains("Ben Okafor")
            && !html.contains("Amelia Hart")
    );
    let csv = scratch
        .aup(&["status", "--year", "2025-26", "--format", "csv"])
        .success()
        .stdout();
    assert!(
        csv.starts_with("\u{feff}school,year,name,role,state"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 4);
}

#[test]
fn show_tells_a_forms_history_and_the_audit_log_detects_tampering() {
    let scratch = Scratch::pakeman_with_roster("Name,Role\nAmelia Hart,Teacher\n");
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    let amelia = form_pdf(&scratch, "amelia");
    let id = form_id(&amelia);
    let archive = scratch.path("archive");
    let unsigned = Ink {
        signature: false,
        date: false,
    };
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    std::fs::write(
        scratch.path("inbox/first.pdf"),
        scan_pdf(&scan::paper(&archive, &amelia, 150.0, unsigned), 150.0),
    )
    .unwrap();
    scratch.aup(&["ingest", "--settle", "0"]).success();
    std::fs::write(
        scratch.path("inbox/second.pdf"),
        scan_pdf(&scan::paper(&archive, &amelia, 150.0, SIGNED), 150.0),
    )
    .unwrap();
    scratch.aup(&["ingest", "--settle", "0"]).success();

    // Both returns are kept, in order: re-signing adds, it never overwrites.
    let shown = scratch
        .aup(&["show", &id.to_lowercase()])
        .success()
        .stdout();
    assert!(
        shown.contains("person:  Amelia Hart") && shown.contains("(current)"),
        "{shown}"
    );
    let first = shown
        .find("incomplete (missing: signature, date) by paper, from first.pdf")
        .expect(&shown);
    let second = shown
        .find("accepted by paper, from second.pdf")
        .expect(&shown);
    assert!(first < second);
    let err = scratch.aup(&["show", "PAK-2526-0001-Y"]).failure();
    assert!(err.contains("wrong check character"), "{err}");

    // One generate and two ingests: three entries, chained.
    let run = scratch.aup(&["audit", "verify"]).success();
    assert_eq!(run.stdout().trim(), "audit log intact: 3 entries");
    let archive = scratch.path("archive");
    common::sqlite(
        &archive,
        "UPDATE audit SET detail = 'nothing happened' WHERE id = 2",
    );
    let err = scratch.aup(&["audit", "verify"]).failure();
    assert!(err.contains("entry 2 (ingest at"), "{err}");
    assert!(err.contains("was edited"), "{err}");
    common::sqlite(&archive, "DELETE FROM audit WHERE id >= 2");
    let err = scratch.aup(&["audit", "verify"]).failure();
    assert!(err.contains("entries at the end were deleted"), "{err}");
}
