//! Policies anyone can read and keep: every PDF aup writes is PDF/UA-1 and
//! PDF/A-2a, as two checkers nobody here wrote say, and a screen reader reads it
//! in the order it is printed, without the QR marks' ids.

mod common;

use common::{Scratch, python, run_tool};

/// The shipped schools with their rosters, plus a blank form each.
fn shipped_generated() -> Scratch {
    let scratch = Scratch::with_shipped_schools();
    scratch
        .aup(&["generate", "--date", "2025-09-01", "--blank", "1"])
        .success();
    scratch
}

#[test]
fn every_pdf_for_the_shipped_schools_is_pdf_ua_1_and_pdf_a_2a() {
    let scratch = shipped_generated();
    let out = scratch.path("out");
    let files = common::pdfs_under(&out);
    // Per school: the policy, print-all and at least a personal and a blank form.
    assert!(files.len() >= 12, "{files:?}");
    common::assert_pdf_ua_and_pdf_a(&out);
}

#[test]
fn a_screen_reader_reads_policy_and_form_in_printed_order_without_the_marks() {
    let scratch = shipped_generated();
    for school in ["pakeman", "st-margarets", "kensington"] {
        let policy = scratch.path(&format!("out/{school}/2025-26/{school}-staff-aup.pdf"));
        assert_eq!(
            python("reading_order.py", &[&policy]).trim(),
            "same",
            "{school}"
        );
    }
    let form = scratch.form_pdf("pakeman", "amelia-hart");
    assert_eq!(python("reading_order.py", &[&form]).trim(), "same");

    let structure = run_tool("pdfinfo", &["-struct-text".as_ref(), form.as_os_str()]);
    let form_id = form.file_name().unwrap().to_string_lossy()[..15].to_owned();
    assert!(run_tool("pdftotext", &[form.as_os_str(), "-".as_ref()]).contains(&form_id));
    assert!(!structure.contains(&form_id), "{structure}");
    assert!(!structure.contains("AUP1:"), "{structure}");
    // Real headings, and a Form element per field for the boxes.
    assert!(
        structure.contains("H1 \"Pakeman Primary School\""),
        "{structure}"
    );
    assert!(
        structure.contains("H2 \"What am I agreeing to?\""),
        "{structure}"
    );
    assert!(structure.contains("L (block):"), "{structure}");
    assert!(structure.contains("Lbl (block)"), "{structure}");
    // Signature, name, role and date.
    assert_eq!(
        structure.lines().filter(|l| l.trim() == "Form").count(),
        4,
        "{structure}"
    );
}

#[test]
fn form_fields_have_accessible_names_and_print() {
    let scratch = shipped_generated();
    let form = scratch.form_pdf("st-margarets", "daniel-okoro");
    let fields = python("pdf_fields.py", &[&form]);
    assert!(!fields.is_empty());
    for line in fields.lines() {
        // name | TU | flags | appearance keys | struct parent
        let parts: Vec<&str> = line.split(" | ").collect();
        assert_eq!(parts.len(), 5, "{line}");
        assert!(!parts[1].is_empty(), "no /TU: {line}");
        assert_eq!(parts[2], "4", "print flag: {line}");
        assert_eq!(parts[3], "N", "only a normal appearance: {line}");
        assert_ne!(parts[4], "None", "no /StructParent: {line}");
    }
}
