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

/// Regression: the print file's parent tree was empty and its pages had no
/// `/StructParents`. Typst keeps each page's array of elements in an object of
/// its own, which the copying per person skipped, so no marked content in the
/// print file led back to its element (assistive tools and tag editors go that
/// way); the checkers did not notice.
#[test]
fn print_file_parent_tree_leads_each_copy_back_to_its_elements() {
    use lopdf::{Document, Object};
    let scratch = shipped_generated();
    let print = scratch.path("out/pakeman/2025-26/print-all.pdf");
    let doc = Document::load(&print).unwrap();
    let deref = |object: &Object| -> Object {
        match object {
            Object::Reference(id) => doc.get_object(*id).unwrap().clone(),
            other => other.clone(),
        }
    };
    let root = deref(doc.catalog().unwrap().get(b"StructTreeRoot").unwrap());
    let root = root.as_dict().unwrap();
    let tree = deref(root.get(b"ParentTree").unwrap());
    let nums = tree
        .as_dict()
        .unwrap()
        .get(b"Nums")
        .unwrap()
        .as_array()
        .unwrap();
    let marked_by_key: std::collections::HashMap<i64, Vec<Object>> = nums
        .chunks(2)
        .map(|pair| {
            let value = deref(&pair[1]);
            (pair[0].as_i64().unwrap(), value.as_array().unwrap().clone())
        })
        .collect();

    let mut linked = 0;
    let mut keys = std::collections::HashSet::new();
    for (number, page) in doc.get_pages() {
        let content = lopdf::content::Content::decode(&doc.get_page_content(page)).unwrap();
        let mcids: Vec<i64> = content
            .operations
            .iter()
            .filter(|op| op.operator == "BDC")
            .filter_map(|op| {
                op.operands
                    .get(1)?
                    .as_dict()
                    .ok()?
                    .get(b"MCID")
                    .ok()?
                    .as_i64()
                    .ok()
            })
            .collect();
        if mcids.is_empty() {
            continue;
        }
        let key = doc
            .get_dictionary(page)
            .unwrap()
            .get(b"StructParents")
            .and_then(Object::as_i64)
            .unwrap_or_else(|_| panic!("page {number} has marked content but no /StructParents"));
        assert!(keys.insert(key), "page {number} shares its key {key}");
        let marked = &marked_by_key[&key];
        for mcid in mcids {
            let element = deref(&marked[mcid as usize]);
            let element = element
                .as_dict()
                .unwrap_or_else(|_| panic!("page {number}'s MCID {mcid} leads nowhere"));
            assert!(element.has(b"S"), "page {number}'s MCID {mcid}");
            if let Ok(on) = element.get(b"Pg").and_then(Object::as_reference) {
                assert_eq!(on, page, "page {number}'s MCID {mcid} names another page");
            }
        }
        linked += 1;
    }
    // Every page of every person's form (pakeman's are three pages; the blank
    // backs have no marked content).
    let forms = std::fs::read_dir(scratch.path("out/pakeman/2025-26/forms"))
        .unwrap()
        .count();
    assert_eq!(linked, 3 * forms);
}
