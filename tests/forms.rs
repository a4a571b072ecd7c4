//! Signable, identifiable, personal forms, checked by independent readers: pypdf
//! sees the fields and fills them, poppler renders the filled values, pyHanko signs
//! the signature field, zbar reads every page's QR code from a 100 dpi render, and
//! the issue register knows every box and page.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use aup::form::PagePayload;
use common::{Scratch, pyhanko_sign, python};
use sha2::Digest;

fn generated() -> Scratch {
    let scratch = Scratch::with_shipped_schools();
    scratch
        .aup(&["generate", "--date", "2025-09-01", "--blank", "1"])
        .success();
    scratch
}

/// The form of the roster person whose file name contains `who`.
fn form_of(scratch: &Scratch, school: &str, who: &str) -> PathBuf {
    let dir = scratch.path(&format!("out/{school}/2025-26/forms"));
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().contains(who))
        .unwrap_or_else(|| panic!("no form for {who} in {}", dir.display()))
}

fn form_id_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy()[..15].to_owned()
}

/// A grey render of one page (1-based) as (width, height, pixels).
fn render_gray(pdf: &Path, page: u32, dpi: u32) -> (usize, usize, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("page");
    let status = Command::new("pdftoppm")
        .args([
            "-gray",
            "-r",
            &dpi.to_string(),
            "-f",
            &page.to_string(),
            "-l",
            &page.to_string(),
        ])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(status.success());
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(file).unwrap();
    // Binary PGM: "P5\n<w> <h>\n255\n" then one byte a pixel.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, bytes[at + 1..].to_vec())
}

/// Dark pixels inside a PDF-space rectangle of a 72 dpi render.
fn ink(render: &(usize, usize, Vec<u8>), rect: [f64; 4]) -> usize {
    let (w, h, pixels) = render;
    let inset = 3.0; // stay clear of the printed box border
    let (x0, x1) = ((rect[0] + inset) as usize, (rect[2] - inset) as usize);
    let (y0, y1) = (
        (*h as f64 - rect[3] + inset) as usize,
        (*h as f64 - rect[1] - inset) as usize,
    );
    (y0..y1.min(*h))
        .flat_map(|y| (x0..x1.min(*w)).map(move |x| (x, y)))
        .filter(|(x, y)| pixels[y * w + x] < 128)
        .count()
}

/// A JSON array of numbers.
fn numbers(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn fields_of(pdf: &Path) -> serde_json::Value {
    serde_json::from_str(&python("fields.py", &[pdf.to_str().unwrap()])).unwrap()
}

fn field<'a>(fields: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

#[test]
fn pypdf_sees_named_fields_inside_their_pages_with_prefilled_values() {
    let scratch = generated();
    let pdf = form_of(&scratch, "pakeman", "sian-obrien");
    let fields = fields_of(&pdf);
    let names: Vec<&str> = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "signer_signature",
            "signer_name",
            "signer_role",
            "signer_date"
        ]
    );
    for f in fields["fields"].as_array().unwrap() {
        let r: Vec<f64> = numbers(&f["rect"]);
        let b: Vec<f64> = numbers(&f["page_box"]);
        assert!(
            r[0] >= b[0]
                && r[1] >= b[1]
                && r[2] <= b[2]
                && r[3] <= b[3]
                && r[0] < r[2]
                && r[1] < r[3],
            "{f}"
        );
        assert_eq!(f["has_appearance"], true, "{f}");
        assert_eq!(f["page"], 3);
    }
    assert_eq!(field(&fields, "signer_signature")["type"], "/Sig");
    assert_eq!(field(&fields, "signer_name")["value"], "Siân O’Brien");
    assert_eq!(field(&fields, "signer_role")["value"], "Teaching Assistant");
    assert_eq!(
        field(&fields, "signer_date")["value"],
        serde_json::Value::Null
    );
    assert_eq!(fields["viewer_preferences"]["/PrintScaling"], "/None");
    let id = form_id_of(&pdf);
    assert_eq!(fields["metadata"]["/AupFormId"], id.as_str());
    assert_eq!(fields["metadata"]["/AupSchool"], "pakeman");
    assert_eq!(fields["metadata"]["/AupPerson"], "Siân O’Brien");
    assert_eq!(fields["xmp_has_form_id"], true);

    // St Margaret's has the office approval block: its fields are there too.
    let fields = fields_of(&form_of(&scratch, "st-margarets", "priya"));
    for name in [
        "approval_systems",
        "approval_permissions",
        "approval_signature",
        "approval_name",
        "approval_role",
        "approval_date",
    ] {
        field(&fields, name);
    }
    assert_eq!(field(&fields, "approval_signature")["type"], "/Sig");
}

#[test]
fn values_filled_by_pypdf_show_in_a_poppler_render() {
    let scratch = generated();
    let pdf = form_of(&scratch, "kensington", "quinn");
    let filled = scratch.path("filled.pdf");
    python(
        "fill.py",
        &[
            pdf.to_str().unwrap(),
            filled.to_str().unwrap(),
            "signer_date=1 October 2025",
        ],
    );
    let fields = fields_of(&filled);
    let date = field(&fields, "signer_date");
    let name = field(&fields, "signer_name");
    let rect = |f: &serde_json::Value| -> [f64; 4] {
        let v: Vec<f64> = numbers(&f["rect"]);
        [v[0], v[1], v[2], v[3]]
    };
    let before = render_gray(&pdf, 3, 72);
    let after = render_gray(&filled, 3, 72);
    assert!(ink(&before, rect(date)) < 5, "the empty date box has ink");
    assert!(
        ink(&after, rect(date)) > 60,
        "the filled date does not show: {}",
        ink(&after, rect(date))
    );
    // The pre-filled name shows from our own appearance stream.
    assert!(ink(&before, rect(name)) > 60);
}

#[test]
fn pyhanko_signs_the_signature_field_and_finds_it_intact() {
    let scratch = generated();
    let pdf = form_of(&scratch, "pakeman", "hart");
    let (key, cert, signed) = (
        scratch.path("key.pem"),
        scratch.path("cert.pem"),
        scratch.path("signed.pdf"),
    );
    python(
        "selfsigned.py",
        &[key.to_str().unwrap(), cert.to_str().unwrap(), "Amelia Hart"],
    );
    pyhanko_sign(&pdf, &signed, &key, &cert);
    // pyHanko exits 1 for an untrusted (self-signed) certificate: read the line.
    let output = Command::new("pyhanko")
        .args(["sign", "validate"])
        .arg(&signed)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("signer_signature:") && l.contains(":INTACT:")),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_page_qr_decodes_from_a_100_dpi_render_and_sits_inside_the_margins() {
    let scratch = generated();
    for (school, who) in [
        ("pakeman", "wisniewski"),
        ("st-margarets", "blank"),
        ("kensington", "begum"),
    ] {
        let pdf = form_of(&scratch, school, who);
        let id = form_id_of(&pdf);
        for page in 1..=3u32 {
            let dir = tempfile::tempdir().unwrap();
            let status = Command::new("pdftoppm")
                .args([
                    "-gray",
                    "-png",
                    "-r",
                    "100",
                    "-f",
                    &page.to_string(),
                    "-l",
                    &page.to_string(),
                ])
                .arg(&pdf)
                .arg(dir.path().join("p"))
                .status()
                .unwrap();
            assert!(status.success());
            let png = std::fs::read_dir(dir.path())
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path();
            let output = Command::new("zbarimg")
                .args(["--xml", "-q"])
                .arg(&png)
                .output()
                .expect("zbarimg (zbar-tools)");
            let xml = String::from_utf8_lossy(&output.stdout);
            let data = xml
                .split("<data><![CDATA[")
                .nth(1)
                .and_then(|s| s.split("]]>").next());
            let data = data.unwrap_or_else(|| panic!("{school} page {page}: no QR decoded\n{xml}"));
            let payload = PagePayload::decode(data).unwrap();
            assert_eq!(payload.form.as_str(), id);
            assert_eq!((payload.page, payload.pages), (page, 3));
            // The symbol's extent, from the same render: the only ink right of
            // 179 mm and above 35 mm is the code (its finder patterns mark the corners).
            let (w, h, pixels) = render_gray(&pdf, page, 100);
            let mm = |px: usize| px as f64 * 25.4 / 100.0;
            let dark: Vec<(usize, usize)> = (0..h)
                .flat_map(|y| (0..w).map(move |x| (x, y)))
                .filter(|&(x, y)| mm(x) > 179.0 && mm(y) < 35.0 && pixels[y * w + x] < 128)
                .collect();
            assert!(
                !dark.is_empty(),
                "{school} page {page}: no code in the corner"
            );
            let min_x = mm(dark.iter().map(|p| p.0).min().unwrap());
            let max_x = mm(dark.iter().map(|p| p.0).max().unwrap() + 1);
            let min_y = mm(dark.iter().map(|p| p.1).min().unwrap());
            let symbol = max_x - min_x;
            let quiet = 4.0 * symbol / 25.0;
            assert!(symbol / 25.0 >= 0.5 - 0.05, "module {} mm", symbol / 25.0);
            assert!(
                symbol + 2.0 * quiet >= 18.0 - 0.5,
                "code with quiet zone {} mm",
                symbol + 2.0 * quiet
            );
            assert!(
                210.0 - (max_x + quiet) >= 10.0 - 0.5,
                "right edge {} mm",
                210.0 - max_x - quiet
            );
            assert!(min_y - quiet >= 10.0 - 0.5, "top edge {} mm", min_y - quiet);
        }
    }
}

#[test]
fn register_records_boxes_and_page_hashes_as_issued() {
    let scratch = generated();
    let pdf = form_of(&scratch, "st-margarets", "okoro");
    let id = form_id_of(&pdf);
    let archive = aup::archive::Archive::open(&scratch.path("archive")).unwrap();
    let form = archive.issued(&id).unwrap().expect("registered");
    assert_eq!(form.school, "st-margarets");
    assert_eq!(form.year, "2025-26");
    assert_eq!(form.name.as_deref(), Some("Daniel Okoro"));
    assert_eq!(form.role.as_deref(), Some("Deputy Headteacher"));
    assert_eq!(form.pages, 3);
    let boxes: BTreeMap<&str, &aup::form::FieldSpec> =
        form.boxes.iter().map(|b| (b.name.as_str(), b)).collect();
    assert_eq!(boxes.len(), 10, "{boxes:?}");
    // The register's rectangles are the ones in the PDF.
    let fields = fields_of(&pdf);
    for f in fields["fields"].as_array().unwrap() {
        let b = boxes[f["name"].as_str().unwrap()];
        let r: Vec<f64> = numbers(&f["rect"]);
        assert!(
            (b.rect.x0 - r[0]).abs() < 0.01 && (b.rect.y1 - r[3]).abs() < 0.01,
            "{f} vs {b:?}"
        );
        assert_eq!(b.page as u64, f["page"].as_u64().unwrap());
    }
    // Page hashes: SHA-256 of each page's decoded content, recomputed independently.
    let doc = lopdf::Document::load(&pdf).unwrap();
    for (i, page) in doc.get_pages().values().enumerate() {
        let digest = sha2::Sha256::digest(doc.get_page_content(*page));
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(form.page_hashes[i], hex);
    }
    // The fingerprint in the register is the one in the PDF's metadata.
    assert_eq!(
        fields["metadata"]["/AupFingerprint"],
        form.fingerprint.as_str()
    );
}

fn digests(dir: &Path) -> BTreeMap<String, String> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let digest = sha2::Sha256::digest(std::fs::read(&p).unwrap());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            (p.strip_prefix(dir).unwrap().display().to_string(), hex)
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        match path.is_dir() {
            true => files.extend(walk(&path)),
            false => files.push(path),
        }
    }
    files.sort();
    files
}

#[test]
fn reruns_are_byte_identical_and_ids_are_stable_per_person() {
    let scratch = generated();
    let first = digests(&scratch.path("out"));
    assert!(first.len() >= 3 + 15 + 3, "{first:?}");
    scratch
        .aup(&["generate", "--date", "2025-09-01", "--blank", "1"])
        .success();
    assert_eq!(first, digests(&scratch.path("out")));
    // A fresh archive allocates the same ids in roster order: same bytes again.
    scratch
        .aup(&[
            "generate",
            "--date",
            "2025-09-01",
            "--blank",
            "1",
            "--archive",
            "archive2",
        ])
        .success();
    assert_eq!(first, digests(&scratch.path("out")));

    // Reordering the roster and adding someone keeps everyone's id.
    let ids_before: Vec<String> = ["okoro", "raman", "mills", "lyle"]
        .iter()
        .map(|who| form_id_of(&form_of(&scratch, "st-margarets", who)))
        .collect();
    scratch.write(
        "schools/st-margarets.staff.csv",
        "Name,Role\nRevd Peter Lyle,Foundation Governor\nNew Person,Teacher\nHannah Mills,School Business Manager\nPriya Raman,Class Teacher\nDaniel Okoro,Deputy Headteacher\n",
    );
    std::fs::remove_dir_all(scratch.path("out")).unwrap();
    scratch
        .aup(&[
            "generate",
            "--school",
            "st-margarets",
            "--date",
            "2025-09-01",
            "--blank",
            "1",
        ])
        .success();
    let ids_after: Vec<String> = ["okoro", "raman", "mills", "lyle"]
        .iter()
        .map(|who| form_id_of(&form_of(&scratch, "st-margarets", who)))
        .collect();
    assert_eq!(ids_before, ids_after);
    // The newcomer gets the next serial after the blank (serial 5).
    assert!(
        form_id_of(&form_of(&scratch, "st-margarets", "new-person")).starts_with("STM-2526-0006-")
    );
}

fn fingerprint_of(scratch: &Scratch, school: &str, who: &str) -> String {
    let fields = fields_of(&form_of(scratch, school, who));
    fields["metadata"]["/AupFingerprint"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn fingerprint_changes_with_the_policy_text_only() {
    let scratch = generated();
    let original = fingerprint_of(&scratch, "kensington", "quinn");
    let id = form_id_of(&form_of(&scratch, "kensington", "quinn"));
    // Another roster and another date in the same year: same policy version.
    scratch.write(
        "schools/kensington.staff.csv",
        "Name,Role\nOliver Quinn,Class Teacher\nAnn Other,Cook\n",
    );
    std::fs::remove_dir_all(scratch.path("out")).unwrap();
    scratch
        .aup(&["generate", "--school", "kensington", "--date", "2026-02-03"])
        .success();
    assert_eq!(fingerprint_of(&scratch, "kensington", "quinn"), original);
    // Oliver has no staff id now, so he is keyed by name: a new form, same version.
    assert_ne!(form_id_of(&form_of(&scratch, "kensington", "quinn")), id);
    // A wording change is a new policy version.
    let yaml = std::fs::read_to_string(scratch.path("schools/kensington.yaml")).unwrap();
    scratch.write(
        "schools/kensington.yaml",
        &yaml.replace("name: a CPOMS log", "name: a MyConcern log"),
    );
    std::fs::remove_dir_all(scratch.path("out")).unwrap();
    scratch
        .aup(&["generate", "--school", "kensington", "--date", "2026-02-03"])
        .success();
    assert_ne!(fingerprint_of(&scratch, "kensington", "quinn"), original);
}

#[test]
fn print_all_pads_every_form_to_an_even_page_count() {
    let scratch = generated();
    let print_all = scratch.path("out/pakeman/2025-26/print-all.pdf");
    let doc = lopdf::Document::load(&print_all).unwrap();
    // 5 people + 1 blank, 3 pages each, padded to 4.
    assert_eq!(doc.get_pages().len(), 6 * 4);
    let text = common::pdftotext(&print_all);
    let pages: Vec<&str> = text.split('\u{c}').collect();
    for (form, who) in [
        "Amelia Hart",
        "Siân O’Brien",
        "Tomasz Wiśniewski",
        "Grace Adeyemi",
        "Zoë Fairbanks",
    ]
    .iter()
    .enumerate()
    {
        // Each form starts on a front side (odd page) and its name is printed.
        assert!(pages[form * 4].contains("page 1 of 3"), "form {form}");
        assert!(
            pages[form * 4 + 2].contains(who),
            "{who} not printed on page {}",
            form * 4 + 3
        );
        assert!(
            pages[form * 4 + 3].trim().is_empty(),
            "padding page not blank"
        );
    }
    let status = Command::new("qpdf")
        .arg("--check")
        .arg(&print_all)
        .output()
        .expect("qpdf");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
}

#[test]
fn roster_problems_name_the_file_and_line() {
    let scratch = Scratch::with_shipped_schools();
    scratch.write(
        "schools/kensington.staff.csv",
        "First name,Last name,Job title\nOliver,Quinn,Class Teacher\nFatima,Begum\n",
    );
    let err = scratch
        .aup(&["generate", "--school", "kensington", "--date", "2025-09-01"])
        .failure();
    assert!(
        err.contains("schools/kensington.staff.csv:3: this row has 2 fields but the header has 3"),
        "{err}"
    );
    scratch.write("schools/kensington.staff.csv", "Colour,Shape\nred,round\n");
    let err = scratch
        .aup(&["generate", "--school", "kensington", "--date", "2025-09-01"])
        .failure();
    assert!(
        err.contains("schools/kensington.staff.csv:1: no name column"),
        "{err}"
    );
    assert!(err.contains("Forename"), "{err}");
}

#[test]
fn forms_pass_qpdf_check() {
    let scratch = generated();
    for path in walk(&scratch.path("out")) {
        let output = Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .expect("qpdf");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("No syntax or stream encoding errors"),
            "{}: {stdout}",
            path.display()
        );
    }
}
