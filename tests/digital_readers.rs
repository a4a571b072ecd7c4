//! Returns as real PDF readers save them: the form filled (and signed) in MuPDF,
//! Poppler, pdf.js, Ghostscript, and what `aup verify` and `aup ingest` make of
//! each. The files are made by those programs themselves, as on a member of
//! staff's machine.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, pyhanko_intact_with, python, run_tool};
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
    let script = common::repo().join("tests/js/mutool-fill.js");
    let mut args = vec![
        "run".as_ref(),
        script.as_os_str(),
        input.as_os_str(),
        output.as_os_str(),
        mode.as_ref(),
    ];
    args.extend(values.iter().map(std::ffi::OsStr::new));
    run_tool("mutool", &args);
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
            .contains("the PDF program saved the file in its own way"),
        "{policy:#}"
    );
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(report["date"], "2 September 2025");
}

/// An NSS certificate database holding `name`'s key and self-signed certificate,
/// made the way a person's Okular or LibreOffice profile gets one: the
/// certificate imported from PKCS#12 with NSS's own `pk12util`.
fn nss_database(scratch: &Scratch, name: &str) -> PathBuf {
    let (key, cert, p12) = (
        scratch.path("signer.key"),
        scratch.path("signer.pem"),
        scratch.path("signer.p12"),
    );
    python(
        "selfsigned.py",
        &[key.as_os_str(), cert.as_os_str(), name.as_ref()],
    );
    python(
        "pkcs12.py",
        &[
            key.as_os_str(),
            cert.as_os_str(),
            p12.as_os_str(),
            "signer".as_ref(),
        ],
    );
    let db = scratch.path("nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let location = format!("sql:{}", db.display());
    run_tool(
        "certutil",
        &[
            "-N".as_ref(),
            "-d".as_ref(),
            location.as_ref(),
            "--empty-password".as_ref(),
        ],
    );
    run_tool(
        "pk12util",
        &[
            "-i".as_ref(),
            p12.as_os_str(),
            "-d".as_ref(),
            location.as_ref(),
            "-W".as_ref(),
            "".as_ref(),
        ],
    );
    db
}

/// Signs `field` with Poppler's `pdfsig` through NSS, as Okular does; `extra`
/// adds options (`-etsi` for a PAdES signature).
fn pdfsig_sign(db: &Path, input: &Path, output: &Path, field: &str, extra: &[&str]) {
    let location = format!("sql:{}", db.display());
    let options = ["-nssdir", &location, "-nick", "signer", "-sign", field];
    let mut args: Vec<&std::ffi::OsStr> = options.iter().map(std::ffi::OsStr::new).collect();
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.extend([input.as_os_str(), output.as_os_str()]);
    run_tool("pdfsig", &args);
}

/// Poppler's own verdict on a file's first signature.
fn pdfsig_validation(db: &Path, file: &Path) -> String {
    let run = Command::new("pdfsig")
        .arg("-nssdir")
        .arg(format!("sql:{}", db.display()))
        .arg(file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("- Signature Validation: "))
        .unwrap_or_else(|| panic!("pdfsig printed no validation:\n{stdout}"))
        .to_owned()
}

/// Amelia's form with the date typed (pypdf, as a reader fills it).
fn dated(scratch: &Scratch) -> PathBuf {
    let filled = scratch.path("dated.pdf");
    python(
        "fill.py",
        &[
            scratch.form_pdf("pakeman", "amelia").as_os_str(),
            filled.as_os_str(),
            "signer_date=2 September 2025".as_ref(),
        ],
    );
    filled
}

#[test]
fn nss_signatures_from_pdfsig_are_read_as_poppler_and_pyhanko_read_them() {
    let scratch = school();
    let db = nss_database(&scratch, "Amelia Hart");
    let filled = dated(&scratch);
    for (name, extra) in [("pkcs7", &[][..]), ("etsi", &["-etsi"][..])] {
        let signed = scratch.path(&format!("signed-{name}.pdf"));
        pdfsig_sign(&db, &filled, &signed, "signer_signature", extra);
        // NSS writes the CMS in BER (indefinite lengths): what this is about.
        let bytes = std::fs::read(&signed).unwrap();
        let hole = bytes
            .windows(11)
            .position(|w| w == b"/Contents <")
            .expect("a signature");
        assert_eq!(&bytes[hole + 11..hole + 15], b"3080", "{name}: not BER");

        assert_eq!(
            pdfsig_validation(&db, &signed),
            "Signature is Valid.",
            "{name}"
        );
        // pyHanko reads pdfsig's cross-reference table only leniently.
        assert!(
            pyhanko_intact_with(&signed, &["--no-strict-syntax"]),
            "{name}"
        );
        let report = verify(&scratch, &signed);
        assert_eq!(report["verdict"], "accepted", "{name}: {report:#}");
        let signature = &report["signatures"][0];
        assert_eq!(signature["intact"], true, "{name}: {signature:#}");
        assert_eq!(signature["valid"], true, "{name}: {signature:#}");
        assert_eq!(signature["signer"], "Amelia Hart");
    }
    let filed = {
        std::fs::create_dir_all(scratch.path("inbox")).unwrap();
        std::fs::copy(
            scratch.path("signed-pkcs7.pdf"),
            scratch.path("inbox/amelia.pdf"),
        )
        .unwrap();
        scratch.ingest_json()
    };
    assert_eq!(filed[0]["verdict"], "accepted", "{filed:#?}");
}

#[test]
fn an_nss_signature_over_changed_bytes_is_rejected_as_poppler_and_pyhanko_reject_it() {
    let scratch = school();
    let db = nss_database(&scratch, "Amelia Hart");
    let signed = scratch.path("signed.pdf");
    pdfsig_sign(&db, &dated(&scratch), &signed, "signer_signature", &[]);
    // The typed date changed after signing, inside the signed bytes.
    let mut bytes = std::fs::read(&signed).unwrap();
    let at = bytes
        .windows(16)
        .position(|w| w == b"2 September 2025")
        .expect("the date in the file");
    bytes[at] = b'3';
    let tampered = scratch.path("tampered.pdf");
    std::fs::write(&tampered, &bytes).unwrap();
    assert_eq!(pdfsig_validation(&db, &tampered), "Digest Mismatch.");
    assert!(!pyhanko_intact_with(&tampered, &["--no-strict-syntax"]));
    let report = verify(&scratch, &tampered);
    assert_eq!(report["verdict"], "rejected", "{report:#}");
    assert_eq!(report["signatures"][0]["intact"], false, "{report:#}");
    assert_eq!(report["signatures"][0]["valid"], true, "{report:#}");
}

/// Amelia's form with a drawn signature (an Ink annotation saved incrementally,
/// as Acrobat and pdf.js save one) and `values` typed.
fn drawn(scratch: &Scratch, out: &str, values: &[&str]) -> PathBuf {
    let path = scratch.path(out);
    let mut args = vec![
        scratch.form_pdf("pakeman", "amelia").into_os_string(),
        path.clone().into_os_string(),
        "ink".into(),
        "incremental".into(),
    ];
    args.extend(values.iter().map(|v| v.into()));
    python("draw.py", &args);
    path
}

#[test]
fn the_name_typed_must_be_the_person_the_form_was_issued_to() {
    let scratch = school();
    // Written another way: still Amelia.
    let hers = drawn(
        &scratch,
        "hers.pdf",
        &["signer_name=HART, amelia", "signer_date=2 September 2025"],
    );
    assert_eq!(verify(&scratch, &hers)["verdict"], "accepted");

    // Somebody else's name on Amelia's form.
    let daniels = drawn(
        &scratch,
        "daniels.pdf",
        &["signer_name=Daniel Okoro", "signer_date=2 September 2025"],
    );
    let report = verify(&scratch, &daniels);
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(report["missing"], serde_json::json!(["name"]));
    let reason = report["reason"].as_str().unwrap();
    assert!(
        reason.contains("the name typed, \"Daniel Okoro\", is not Amelia Hart"),
        "{reason}"
    );

    // The name she was issued, cleared: the box is empty, so the name is missing.
    let cleared = drawn(
        &scratch,
        "cleared.pdf",
        &["signer_name=", "signer_date=2 September 2025"],
    );
    let report = verify(&scratch, &cleared);
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(report["missing"], serde_json::json!(["name"]));
    assert!(
        report["reason"].as_str().unwrap().contains("was cleared"),
        "{report:#}"
    );

    // Ingest files them the same way.
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    std::fs::copy(&daniels, scratch.path("inbox/daniels.pdf")).unwrap();
    let outcomes = scratch.ingest_json();
    assert_eq!(outcomes[0]["verdict"], "incomplete", "{outcomes:#?}");
    assert_eq!(outcomes[0]["person"], "Amelia Hart");
}

#[test]
fn a_certificate_of_somebody_else_does_not_sign_for_the_person() {
    let scratch = school();
    let filled = dated(&scratch);
    let (key, cert) = (scratch.path("daniel.key"), scratch.path("daniel.pem"));
    python(
        "selfsigned.py",
        &[key.as_os_str(), cert.as_os_str(), "Daniel Okoro".as_ref()],
    );
    let signed = scratch.path("signed-by-daniel.pdf");
    common::pyhanko_sign(&filled, &signed, &key, &cert);
    assert!(common::pyhanko_intact(&signed), "a sound signature");
    let report = verify(&scratch, &signed);
    assert_eq!(report["signatures"][0]["signer"], "Daniel Okoro");
    assert_eq!(report["signatures"][0]["valid"], true);
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(report["missing"], serde_json::json!(["signature"]));
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("signed with the certificate of Daniel Okoro, not of Amelia Hart"),
        "{report:#}"
    );
}

#[test]
fn a_mupdf_signature_over_sha1_is_accepted_and_called_weak() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let filled = scratch.path("filled.pdf");
    mutool_fill(
        &form,
        &filled,
        "incremental",
        &["Today's date=2 September 2025"],
    );
    let (key, cert, p12) = (
        scratch.path("amelia.key"),
        scratch.path("amelia.pem"),
        scratch.path("amelia.p12"),
    );
    python(
        "selfsigned.py",
        &[key.as_os_str(), cert.as_os_str(), "Amelia Hart".as_ref()],
    );
    python(
        "pkcs12.py",
        &[
            key.as_os_str(),
            cert.as_os_str(),
            p12.as_os_str(),
            "amelia".as_ref(),
        ],
    );
    // `mutool sign` signs the form's empty signature field, as MuPDF's viewer does.
    let signed = scratch.path("mupdf-signed.pdf");
    run_tool(
        "mutool",
        &[
            "sign".as_ref(),
            "-P".as_ref(),
            "".as_ref(),
            "-s".as_ref(),
            p12.as_os_str(),
            "-o".as_ref(),
            signed.as_os_str(),
            filled.as_os_str(),
        ],
    );
    let poppler = run_tool("pdfsig", &[signed.as_os_str()]);
    assert!(
        poppler.contains("Signing Hash Algorithm: SHA1"),
        "{poppler}"
    );
    assert!(
        poppler.contains("Signature Validation: Signature is Valid."),
        "{poppler}"
    );

    let report = verify(&scratch, &signed);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["signatures"][0]["digest_algorithm"], "SHA-1");
    let signature = check(&report, "certificate signature in signer_signature");
    assert!(
        signature["detail"]
            .as_str()
            .unwrap()
            .contains("weak: the signer's software used SHA-1"),
        "{signature:#}"
    );
}

/// Where pypdf finds the form's signature box: page and rectangle.
fn signature_box(form: &Path) -> (u64, Vec<f64>) {
    let fields: Value = serde_json::from_str(&python("fields.py", &[form])).unwrap();
    let field = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "signer_signature")
        .expect("a signature field")
        .clone();
    let rect = field["rect"].as_array().unwrap();
    (
        field["page"].as_u64().unwrap(),
        rect.iter().map(|v| v.as_f64().unwrap()).collect(),
    )
}

#[test]
fn a_second_field_of_the_same_name_does_not_hide_the_signature() {
    // `pdfsig -add-signature` adds a new field, here with the form's own field
    // name: two fields are called signer_signature, and the new one is signed.
    let scratch = school();
    let db = nss_database(&scratch, "Amelia Hart");
    let signed = scratch.path("added.pdf");
    pdfsig_sign(
        &db,
        &dated(&scratch),
        &signed,
        "",
        &[
            "-add-signature",
            "-new-signature-field-name",
            "signer_signature",
        ],
    );
    assert_eq!(pdfsig_validation(&db, &signed), "Signature is Valid.");
    let report = verify(&scratch, &signed);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1, "{report:#}");
    assert_eq!(signatures[0]["field"], "signer_signature");
}

#[test]
fn a_signature_over_or_beside_the_box_signs_whatever_its_field_is_called() {
    let scratch = school();
    let filled = dated(&scratch);
    let (page, rect) = signature_box(&filled);
    let (key, cert) = (scratch.path("amelia.key"), scratch.path("amelia.pem"));
    python(
        "selfsigned.py",
        &[key.as_os_str(), cert.as_os_str(), "Amelia Hart".as_ref()],
    );
    // pyHanko's new visible field: inside the box, and in a corner of page 1.
    let sign_in = |spec: String, out: &str| {
        let path = scratch.path(out);
        common::pyhanko_sign_in(&spec, &filled, &path, &key, &cert);
        path
    };
    // pyHanko takes whole points.
    let inside = format!(
        "{page}/{},{},{},{}/my_signature",
        (rect[0] + 6.0).round(),
        (rect[1] + 4.0).round(),
        (rect[2] - 6.0).round(),
        (rect[3] - 4.0).round()
    );
    let over = sign_in(inside, "over-the-box.pdf");
    let report = verify(&scratch, &over);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    let signature = &report["signatures"][0];
    assert_eq!(signature["field"], "my_signature");
    assert_eq!(signature["over_signature_box"], true, "{signature:#}");
    // Signed by the certificate, not merely by the ink its appearance leaves.
    assert_eq!(report["method"], "certificate", "{report:#}");

    // Readers let the signer drag a visible signature anywhere. Beside the box
    // (between its label and the box), over nothing that was issued: hers.
    let beside = sign_in(
        format!(
            "{page}/110,{},180,{}/beside",
            (rect[1] + 2.0).round(),
            (rect[3] - 2.0).round()
        ),
        "beside-the-box.pdf",
    );
    let report = verify(&scratch, &beside);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["signatures"][0]["over_signature_box"], false);
    assert_eq!(report["signatures"][0]["counted"], true, "{report:#}");
    assert_eq!(report["method"], "certificate", "{report:#}");

    // Over the declaration above the box, or over the footer and code of page 1:
    // her signature, not tampering, but it hides what she signs; sign again.
    let over_the_words = sign_in(
        format!(
            "{page}/60,{},300,{}/over_words",
            (rect[3] + 14.0).round(),
            (rect[3] + 52.0).round()
        ),
        "over-the-declaration.pdf",
    );
    let elsewhere = sign_in("1/40,40,200,80/elsewhere".into(), "elsewhere.pdf");
    for file in [&over_the_words, &elsewhere] {
        let report = verify(&scratch, file);
        assert_eq!(report["signatures"][0]["valid"], true, "{report:#}");
        assert_eq!(report["signatures"][0]["counted"], false, "{report:#}");
        assert_eq!(report["verdict"], "incomplete", "{report:#}");
        assert_eq!(
            report["reason"],
            "missing: signature; the signature covers the policy text: sign again inside the box",
            "{report:#}"
        );
    }
    // pyHanko's view: the signature itself is sound and intact.
    assert!(pyhanko_intact_with(&over_the_words, &[]));

    // Somebody else's visible signature beside the box is still drawing
    // outside the boxes.
    let (key, cert) = (scratch.path("daniel.key"), scratch.path("daniel.pem"));
    python(
        "selfsigned.py",
        &[key.as_os_str(), cert.as_os_str(), "Daniel Okoro".as_ref()],
    );
    let his = scratch.path("his-beside.pdf");
    common::pyhanko_sign_in(
        &format!(
            "{page}/110,{},180,{}/beside",
            (rect[1] + 2.0).round(),
            (rect[3] - 2.0).round()
        ),
        &filled,
        &his,
        &key,
        &cert,
    );
    let report = verify(&scratch, &his);
    assert_eq!(report["verdict"], "rejected", "{report:#}");
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .starts_with(&format!("page {page}: something was drawn")),
        "{report:#}"
    );
}

/// Covers a band of `page` with a white box and new words, with MuPDF.
fn mutool_cover(input: &Path, output: &Path, mode: &str, page: u32) {
    let script = common::repo().join("tests/js/mutool-cover.js");
    let page = page.to_string();
    run_tool(
        "mutool",
        &[
            "run".as_ref(),
            script.as_os_str(),
            input.as_os_str(),
            output.as_os_str(),
            mode.as_ref(),
            page.as_ref(),
            "I do not agree to monitoring of my school accounts".as_ref(),
        ],
    );
}

#[test]
fn words_covered_or_added_outside_the_boxes_are_rejected_however_saved() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    // Signed and dated in the boxes, so only the cover-up stands between the
    // return and `accepted`.
    let signed = drawn(&scratch, "signed.pdf", &["signer_date=2 September 2025"]);
    assert_eq!(verify(&scratch, &signed)["verdict"], "accepted");
    let covered = scratch.path("covered.pdf");
    mutool_cover(&signed, &covered, "incremental", 3);
    // `mutool clean -gg` rewrites the file: the same page, saved another way.
    let cleaned = scratch.path("cleaned.pdf");
    run_tool(
        "mutool",
        &[
            "clean".as_ref(),
            "-gg".as_ref(),
            covered.as_os_str(),
            cleaned.as_os_str(),
        ],
    );
    let page_one = scratch.path("page-one.pdf");
    mutool_cover(&form, &page_one, "incremental", 1);
    for (file, page) in [(&covered, 3), (&cleaned, 3), (&page_one, 1)] {
        let report = verify(&scratch, file);
        assert_eq!(
            report["verdict"],
            "rejected",
            "{}: {report:#}",
            file.display()
        );
        let reason = report["reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!(
                "page {page}: something was drawn or covered outside the boxes"
            )),
            "{}: {reason}",
            file.display()
        );
    }
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    std::fs::copy(&covered, scratch.path("inbox/covered.pdf")).unwrap();
    assert_eq!(scratch.ingest_json()[0]["verdict"], "rejected");
}

/// Fills and draws with pdf.js under Node.js (`tests/js/pdfjs-fill.mjs`), saved
/// with `saveDocument()` as Firefox saves: `field=value` by field name, and
/// `ink=PAGE,X0,Y0,X1,Y1` for a pen stroke across that rectangle.
fn pdfjs_fill(input: &Path, output: &Path, edits: &[&str]) {
    let script = common::repo().join("tests/js/pdfjs-fill.mjs");
    let mut args = vec![script.as_os_str(), input.as_os_str(), output.as_os_str()];
    args.extend(edits.iter().map(std::ffi::OsStr::new));
    run_tool("node", &args);
}

/// Ghostscript's `pdfwrite`, as "print to PDF" and PDF shrinkers rewrite a file.
fn ghostscript(input: &Path, output: &Path) {
    let to = format!("-sOutputFile={}", output.display());
    let options = ["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite"];
    let mut args: Vec<&std::ffi::OsStr> = options.iter().map(std::ffi::OsStr::new).collect();
    args.extend([to.as_ref(), input.as_os_str()]);
    run_tool("gs", &args);
}

fn qpdf_qdf(input: &Path, output: &Path) {
    run_tool(
        "qpdf",
        &["--qdf".as_ref(), input.as_os_str(), output.as_os_str()],
    );
}

/// A pen stroke across the middle of Amelia's signature box, for `pdfjs_fill`.
fn ink_in_signature_box(form: &Path) -> String {
    let (page, r) = signature_box(form);
    format!(
        "ink={page},{},{},{},{}",
        r[0] + 20.0,
        r[1] + 10.0,
        r[2] - 40.0,
        r[3] - 10.0
    )
}

/// pdf.js returns: the typed values, the drawn signature, and each again after
/// `qpdf --qdf` rewrote every byte of the file.
fn pdfjs_returns(scratch: &Scratch) -> [PathBuf; 3] {
    let form = scratch.form_pdf("pakeman", "amelia");
    let date = "signer_date=2 September 2025";
    let typed = scratch.path("pdfjs-typed.pdf");
    pdfjs_fill(&form, &typed, &[date, "signer_signature=Amelia Hart"]);
    let ink = scratch.path("pdfjs-ink.pdf");
    pdfjs_fill(&form, &ink, &[date, &ink_in_signature_box(&form)]);
    let dated_only = scratch.path("pdfjs-dated.pdf");
    pdfjs_fill(&form, &dated_only, &[date]);
    [typed, ink, dated_only]
}

#[test]
fn pdfjs_returns_are_judged_as_firefox_saves_them() {
    let scratch = school();
    let [typed, ink, dated_only] = pdfjs_returns(&scratch);
    // What pdf.js does that aup must take: it saves incrementally, and rewrites
    // the page it draws on with every number at two decimals (595.2756 → 595.28).
    let issued = std::fs::read(scratch.form_pdf("pakeman", "amelia")).unwrap();
    let saved = std::fs::read(&ink).unwrap();
    assert_eq!(&saved[..issued.len()], issued.as_slice());
    assert!(
        saved[issued.len()..]
            .windows(27)
            .any(|w| w == b"/MediaBox [0 0 595.28 841.8"),
        "pdf.js no longer rounds the page it rewrites"
    );

    let report = verify(&scratch, &typed);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["name"], "Amelia Hart");
    let report = verify(&scratch, &ink);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert!(
        check(&report, "policy text as issued")["detail"]
            .as_str()
            .unwrap()
            .ends_with("extended with form filling and annotations"),
        "{report:#}"
    );
    assert_eq!(report["signature_ink"], true);
    // Without the stroke, the same save is not signed.
    let report = verify(&scratch, &dated_only);
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(report["missing"], serde_json::json!(["signature"]));

    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    std::fs::copy(&ink, scratch.path("inbox/amelia.pdf")).unwrap();
    let filed = scratch.ingest_json();
    assert_eq!(filed[0]["verdict"], "accepted", "{filed:#?}");
}

#[test]
fn a_return_rewritten_by_qpdf_is_compared_by_what_it_draws() {
    let scratch = school();
    let [_, ink, dated_only] = pdfjs_returns(&scratch);
    let rewritten = scratch.path("qdf-ink.pdf");
    qpdf_qdf(&ink, &rewritten);
    // Not one byte of the issued revision is left as it was.
    let issued = std::fs::read(scratch.form_pdf("pakeman", "amelia")).unwrap();
    let bytes = std::fs::read(&rewritten).unwrap();
    assert_ne!(&bytes[..issued.len().min(bytes.len())], issued.as_slice());
    let report = verify(&scratch, &rewritten);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert!(
        check(&report, "policy text as issued")["detail"]
            .as_str()
            .unwrap()
            .contains("pages 1, 2, 3 are the same drawing written differently"),
        "{report:#}"
    );
    let unsigned = scratch.path("qdf-dated.pdf");
    qpdf_qdf(&dated_only, &unsigned);
    let report = verify(&scratch, &unsigned);
    assert_eq!(report["verdict"], "incomplete", "{report:#}");

    // One letter of the policy changed in the rewritten file: "School" on page
    // 1 reads "SchooT" in poppler's pdftotext.
    let edited = scratch.path("qdf-edited.pdf");
    python(
        "retext.py",
        &[rewritten.as_os_str(), edited.as_os_str(), "1".as_ref()],
    );
    let text = |file: &Path| {
        let run = Command::new("pdftotext")
            .args(["-f", "1", "-l", "1"])
            .arg(file)
            .arg("-")
            .output()
            .unwrap();
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    assert_ne!(text(&edited), text(&rewritten), "the edit shows");
    let report = verify(&scratch, &edited);
    assert_eq!(report["verdict"], "rejected", "{report:#}");
    assert_eq!(
        report["reason"],
        "page 1's policy text is not what was issued: the page was edited"
    );
}

#[test]
fn a_signed_return_rewritten_by_qpdf_is_rejected_as_poppler_and_pyhanko_reject_it() {
    let scratch = school();
    let db = nss_database(&scratch, "Amelia Hart");
    let signed = scratch.path("signed.pdf");
    pdfsig_sign(&db, &dated(&scratch), &signed, "signer_signature", &[]);
    assert_eq!(verify(&scratch, &signed)["verdict"], "accepted");
    let rewritten = scratch.path("qdf-signed.pdf");
    qpdf_qdf(&signed, &rewritten);
    assert_ne!(pdfsig_validation(&db, &rewritten), "Signature is Valid.");
    assert!(!pyhanko_intact_with(&rewritten, &["--no-strict-syntax"]));
    let report = verify(&scratch, &rewritten);
    assert_eq!(report["verdict"], "rejected", "{report:#}");
    let signature = &report["signatures"][0];
    assert_eq!(signature["intact"], false, "{signature:#}");
    assert_eq!(signature["counted"], false, "{signature:#}");
}

#[test]
fn ghostscript_output_has_no_metadata_and_is_read_by_its_qr_codes() {
    let scratch = school();
    let [typed, ink, dated_only] = pdfjs_returns(&scratch);
    let through_gs = |file: &Path, out: &str| {
        let path = scratch.path(out);
        ghostscript(file, &path);
        path
    };
    let (typed, ink, dated_only) = (
        through_gs(&typed, "gs-typed.pdf"),
        through_gs(&ink, "gs-ink.pdf"),
        through_gs(&dated_only, "gs-dated.pdf"),
    );
    // What this is about: pypdf finds none of our metadata in Ghostscript's file,
    // and the drawn signature's appearance is in Ghostscript's own units, fitted
    // to its rectangle by /BBox (PDF 32000-1 12.5.5).
    let fields = python("fields.py", &[ink.as_os_str()]);
    let fields: Value = serde_json::from_str(&fields).unwrap();
    assert_eq!(fields["xmp_has_form_id"], false, "{fields:#}");
    let annotations = python("annotations.py", &[ink.as_os_str(), "3".as_ref()]);
    let line = annotations
        .lines()
        .find_map(|l| l.strip_prefix("Ink "))
        .unwrap_or_else(|| panic!("Ghostscript kept no ink: {annotations}"));
    let boxes: Vec<Vec<f64>> =
        serde_json::from_str(&format!("[{}]", line.replace("] [", "],["))).unwrap();
    let (rect, bbox) = (&boxes[0], &boxes[1]);
    assert!(
        (bbox[2] - bbox[0]) > 5.0 * (rect[2] - rect[0]) && bbox[0] > 5.0 * rect[0],
        "the appearance is no longer in other units than the page: {line}"
    );

    for (file, verdict) in [
        (&typed, "accepted"),
        (&ink, "accepted"),
        (&dated_only, "incomplete"),
    ] {
        let report = verify(&scratch, file);
        assert_eq!(report["verdict"], verdict, "{}: {report:#}", file.display());
        assert_eq!(check(&report, "read as a scan")["passed"], true);
        assert!(
            check(&report, "pages")["detail"]
                .as_str()
                .unwrap()
                .starts_with("pages 1, 2, 3 of 3 identified by their QR codes")
        );
    }
    assert_eq!(
        verify(&scratch, &dated_only)["missing"],
        serde_json::json!(["signature"])
    );

    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    std::fs::copy(&ink, scratch.path("inbox/amelia.pdf")).unwrap();
    let filed = scratch.ingest_json();
    let accepted: Vec<&Value> = filed
        .iter()
        .filter(|o| o["verdict"] == "accepted")
        .collect();
    assert_eq!(accepted.len(), 1, "{filed:#?}");
    assert_eq!(accepted[0]["form_id"], "PAK-2526-0001-X");
}

#[test]
fn a_certificate_names_the_person_by_the_rosters_email_address() {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title,Email\n\
         A1,Amelia,Hart,Teacher,a.hart@pakeman.sch.uk\n\
         A2,Daniel,Okoro,TA,d.okoro@pakeman.sch.uk\n",
    );
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    let filled = dated(&scratch);
    // A certificate whose common name is the laptop's, not the person's, as
    // school-issued S/MIME certificates often are.
    let sign_as = |who: &str, out: &str| {
        let (key, cert) = (
            scratch.path(&format!("{out}.key")),
            scratch.path(&format!("{out}.pem")),
        );
        python(
            "selfsigned.py",
            &[key.as_os_str(), cert.as_os_str(), who.as_ref()],
        );
        let signed = scratch.path(&format!("{out}.pdf"));
        common::pyhanko_sign(&filled, &signed, &key, &cert);
        assert!(common::pyhanko_intact(&signed));
        verify(&scratch, &signed)
    };
    let report = sign_as("Staff Laptop 14 <A.Hart@pakeman.sch.uk>", "by-email");
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["method"], "certificate");
    let signature = &report["signatures"][0];
    assert_eq!(signature["counted"], true, "{signature:#}");
    assert_eq!(
        signature["signer_emails"],
        serde_json::json!(["A.Hart@pakeman.sch.uk"])
    );
    assert_eq!(
        signature["counted_because"],
        "counted: it signs the form for Amelia Hart"
    );

    // The office countersigns in a field of its own (invisible, as pyHanko makes
    // one): the evidence page lists both signatures, and says which counts.
    let (key, cert) = (scratch.path("office.key"), scratch.path("office.pem"));
    python(
        "selfsigned.py",
        &[key.as_os_str(), cert.as_os_str(), "Pakeman Office".as_ref()],
    );
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    common::pyhanko_sign_in(
        "office_countersignature",
        &scratch.path("by-email.pdf"),
        &scratch.path("inbox/amelia.pdf"),
        &key,
        &cert,
    );
    let filed = scratch.ingest_json();
    assert_eq!(filed[0]["verdict"], "accepted", "{filed:#?}");
    let evidence = scratch.path("archive/pakeman/2025-26/PAK-2526-0001-X.evidence.pdf");
    let run = Command::new("pdftotext")
        .arg(&evidence)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for said in [
        "certificate signature in signer_signature: counted: it signs the form for Amelia Hart",
        // pyHanko makes the missing field invisible: a candidate for the
        // person's signature, and not theirs.
        "certificate signature in office_countersignature: not counted: its certificate names \
         Pakeman Office, not Amelia Hart; signed by Pakeman Office",
    ] {
        assert!(
            text.contains(said),
            "the evidence page does not say \"{said}\":\n{text}"
        );
    }

    let report = sign_as("Staff Laptop 14 <d.okoro@pakeman.sch.uk>", "other-email");
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(report["signatures"][0]["counted"], false);
    assert_eq!(
        report["signatures"][0]["counted_because"],
        "not counted: its certificate names Staff Laptop 14, not Amelia Hart"
    );
}

/// The widget of the first signature field that is not one of the form's own,
/// as pypdf reads it: its name, `/Rect` and `/F` flags.
fn added_field(file: &Path) -> Value {
    let fields: Value =
        serde_json::from_str(&python("sig_widgets.py", &[file.as_os_str()])).unwrap();
    fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] != "signer_signature" && f["name"] != "office_countersignature")
        .cloned()
        .unwrap_or_else(|| panic!("no added signature field: {fields:#}"))
}

#[test]
fn an_invisible_signature_by_the_person_counts_and_by_another_person_does_not() {
    // `pdfsig -add-signature` without a field name (Okular's "sign" without a
    // chosen field) adds its own field with a zero-size widget, as LibreOffice does.
    for (signer, verdict) in [("Amelia Hart", "accepted"), ("Daniel Okoro", "incomplete")] {
        let scratch = school();
        let db = nss_database(&scratch, signer);
        let signed = scratch.path("invisible.pdf");
        pdfsig_sign(&db, &dated(&scratch), &signed, "", &["-add-signature"]);
        let field = added_field(&signed);
        let rect: Vec<f64> = field["rect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(
            rect[2] - rect[0] < 1.0 || rect[3] - rect[1] < 1.0,
            "not invisible: {field:#}"
        );
        // Poppler and pyHanko find it sound.
        assert_eq!(
            pdfsig_validation(&db, &signed),
            "Signature is Valid.",
            "{signer}"
        );
        assert!(
            pyhanko_intact_with(&signed, &["--no-strict-syntax"]),
            "{signer}"
        );
        let report = verify(&scratch, &signed);
        assert_eq!(report["verdict"], verdict, "{signer}: {report:#}");
        let signature = &report["signatures"][0];
        assert_eq!(signature["invisible"], true, "{signature:#}");
        assert_eq!(signature["signer"], signer);
        match verdict {
            "accepted" => {
                assert_eq!(signature["counted"], true, "{signature:#}");
                assert!(report["reason"].is_null(), "{report:#}");
            }
            _ => {
                assert_eq!(signature["counted"], false, "{signature:#}");
                let reason = report["reason"].as_str().unwrap();
                assert!(
                    reason.contains("certificate of Daniel Okoro, not of Amelia Hart"),
                    "{reason}"
                );
            }
        }
    }
}

#[test]
fn a_signature_image_stamped_by_pdftk_onto_its_page_is_accepted_though_pdftk_touches_every_page() {
    // pdftk-java's multistamp adds a Form XObject to every page; where the
    // stamp's page is blank its content is empty: page 1 draws nothing new.
    let scratch = school();
    let filled = dated(&scratch);
    let (page, rect) = signature_box(&filled);
    let stamp = scratch.path("signature-stamp.pdf");
    let arg = |v: f64| format!("{v:.2}");
    python(
        "stamp_pages.py",
        &[
            stamp.display().to_string(),
            "3".into(),
            page.to_string(),
            arg(rect[0]),
            arg(rect[1]),
            arg(rect[2]),
            arg(rect[3]),
        ],
    );
    let stamped = scratch.path("stamped.pdf");
    run_tool(
        "pdftk",
        &[
            filled.as_os_str(),
            "multistamp".as_ref(),
            stamp.as_os_str(),
            "output".as_ref(),
            stamped.as_os_str(),
        ],
    );
    // Poppler renders page 1 exactly as issued: the empty stamp drew nothing.
    assert_eq!(
        poppler_page_one(&scratch, &filled, "issued-p1"),
        poppler_page_one(&scratch, &stamped, "stamped-p1")
    );
    let report = verify(&scratch, &stamped);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["signature_ink"], true, "{report:#}");
}

#[test]
fn what_draws_nothing_on_a_page_without_boxes_is_not_a_change_and_what_draws_is() {
    let scratch = school();
    // Rewritten as Chrome and Preview save (an incremental save that changes
    // a page's content is judged by its changes, not by its render).
    let filled = scratch.path("filled.pdf");
    python(
        "draw.py",
        &[
            scratch.form_pdf("pakeman", "amelia").as_os_str(),
            filled.as_os_str(),
            "ink".as_ref(),
            "rewrite".as_ref(),
            "signer_date=2 September 2025".as_ref(),
        ],
    );
    // A zero-size image, an empty `q Q` and an annotation with an empty
    // appearance on page 1, which has no boxes: poppler draws the page as issued.
    let nothing = scratch.path("draws-nothing.pdf");
    python(
        "draw_nothing.py",
        &[filled.as_os_str(), nothing.as_os_str()],
    );
    let visible = scratch.path("draws-an-image.pdf");
    python(
        "draw_nothing.py",
        &[
            filled.as_os_str(),
            visible.as_os_str(),
            "--visible".as_ref(),
        ],
    );
    let page_one = |file: &Path, stem: &str| poppler_page_one(&scratch, file, stem);
    assert_eq!(page_one(&nothing, "nothing"), page_one(&filled, "filled"));
    assert_ne!(
        page_one(&visible, "visible"),
        page_one(&filled, "filled-again")
    );

    let report = verify(&scratch, &nothing);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    let report = verify(&scratch, &visible);
    assert_eq!(report["verdict"], "rejected", "{report:#}");
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .starts_with("page 1: something was drawn or covered outside the boxes"),
        "{report:#}"
    );
}

/// Signs `input` as LibreOffice 7.4 does ("Sign Existing PDF"), with the
/// certificate in the NSS database `db`.
fn libreoffice_sign(db: &Path, input: &Path, output: &Path) {
    let script = common::repo().join("tests/py/libreoffice_sign.py");
    run_tool(
        "/usr/bin/python3",
        &[
            script.as_os_str(),
            db.as_os_str(),
            input.as_os_str(),
            output.as_os_str(),
        ],
    );
}

#[test]
fn a_libreoffice_signature_by_the_person_counts_and_by_another_person_does_not() {
    let scratch = school();
    let filled = dated(&scratch);
    let signed_by = |name: &str, out: &str| {
        let db = nss_database(&scratch, name);
        let path = scratch.path(out);
        libreoffice_sign(&db, &filled, &path);
        (db, path)
    };
    let (db, hers) = signed_by("Amelia Hart", "libreoffice-amelia.pdf");
    // What LibreOffice made: its own new field, whose widget is zero-size.
    let added = added_field(&hers);
    assert_eq!(added["name"], "Signature1", "{added:#}");
    assert_eq!(
        added["rect"],
        serde_json::json!([0.0, 0.0, 0.0, 0.0]),
        "{added:#}"
    );
    assert_eq!(pdfsig_validation(&db, &hers), "Signature is Valid.");
    let report = verify(&scratch, &hers);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["method"], "certificate", "{report:#}");
    assert_eq!(report["signatures"][0]["invisible"], true, "{report:#}");

    std::fs::remove_dir_all(&db).unwrap();
    let (db, his) = signed_by("Daniel Okoro", "libreoffice-daniel.pdf");
    assert_eq!(pdfsig_validation(&db, &his), "Signature is Valid.");
    let report = verify(&scratch, &his);
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(
        report["reason"],
        "missing: signature; signed with the certificate of Daniel Okoro, not of Amelia Hart, \
         to whom the form was issued",
        "{report:#}"
    );
}

/// Page 1 of `pdf` as poppler draws it (grey, 50 dpi), as PGM bytes: two files
/// that show the same page give the same bytes.
fn poppler_page_one(scratch: &Scratch, pdf: &Path, stem: &str) -> Vec<u8> {
    let out = scratch.path(stem);
    run_tool(
        "pdftoppm",
        &[
            "-f".as_ref(),
            "1".as_ref(),
            "-l".as_ref(),
            "1".as_ref(),
            "-r".as_ref(),
            "50".as_ref(),
            "-gray".as_ref(),
            "-singlefile".as_ref(),
            pdf.as_os_str(),
            out.as_os_str(),
        ],
    );
    std::fs::read(scratch.path(&format!("{stem}.pgm"))).unwrap()
}
