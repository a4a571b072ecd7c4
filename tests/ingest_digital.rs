//! Staff who don't print: they fill the form in a PDF reader, draw a signature or
//! sign with a certificate, and email it back. The readers are stood in for by
//! real clients: pypdf fills fields and draws annotations (saving incrementally
//! like Acrobat and pdf.js, or rewriting like Chrome), pyHanko signs with RSA and
//! ECDSA keys, qpdf flattens. `aup verify` must agree with `pyhanko sign validate`
//! on whether each signature is intact.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, pyhanko_intact, pyhanko_sign, python};
use serde_json::Value;

/// A school with a two-person roster, generated.
fn school() -> Scratch {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\nA2,Ben,Okafor,TA\n",
    );
    generate(&scratch);
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    scratch
}

fn generate(scratch: &Scratch) {
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
}

/// Fills the date (and any other fields) with pypdf, rewriting the file.
fn fill(scratch: &Scratch, form: &Path, out: &str, values: &[&str]) -> PathBuf {
    let out = scratch.path(out);
    let mut args: Vec<&Path> = vec![form, &out];
    args.extend(values.iter().map(Path::new));
    python("fill.py", &args);
    out
}

/// Draws a signature annotation over the signature box and fills the date.
fn draw(scratch: &Scratch, form: &Path, out: &str, kind: &str, mode: &str) -> PathBuf {
    let out = scratch.path(out);
    python(
        "draw.py",
        &[
            form,
            &out,
            Path::new(kind),
            Path::new(mode),
            Path::new("signer_date=3 September 2025"),
        ],
    );
    out
}

/// A key and certificate for `name`: self-signed, or issued by `ca` (key, cert).
fn credentials(
    scratch: &Scratch,
    name: &str,
    kind: &str,
    ca: Option<(&Path, &Path)>,
) -> (PathBuf, PathBuf) {
    let slug = name.replace(' ', "-").to_lowercase();
    let (key, cert) = (
        scratch.path(&format!("{slug}.key.pem")),
        scratch.path(&format!("{slug}.cert.pem")),
    );
    let mut args: Vec<&Path> = vec![&key, &cert, Path::new(name), Path::new(kind)];
    if let Some((ca_key, ca_cert)) = ca {
        args.extend([ca_key, ca_cert]);
    }
    python("selfsigned.py", &args);
    (key, cert)
}

/// Signs the signature field with pyHanko (an incremental update).
fn sign(input: &Path, output: &Path, (key, cert): &(PathBuf, PathBuf)) {
    pyhanko_sign(input, output, key, cert);
}

/// `aup verify --json`.
fn verify(scratch: &Scratch, file: &Path) -> Value {
    let run = scratch.aup(&["verify", "--json", file.to_str().unwrap()]);
    assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
    let report: Value = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout(), run.stderr()));
    // Checked: 0 when it would be accepted, 1 when not (3 is "could not check").
    let expected = match report["verdict"] == "accepted" {
        true => 0,
        false => 1,
    };
    assert_eq!(run.code(), Some(expected), "{report:#}");
    report
}

/// Puts `file` in the inbox, ingests, and returns the one outcome for it.
fn ingest(scratch: &Scratch, file: &Path) -> Value {
    let outcomes = ingest_all(scratch, file);
    assert_eq!(outcomes.len(), 1, "{outcomes:#?}");
    outcomes.into_iter().next().unwrap()
}

/// Puts `file` in the inbox, ingests, and returns every outcome (one per
/// quarantined page of a file that is not ours).
fn ingest_all(scratch: &Scratch, file: &Path) -> Vec<Value> {
    let name = file.file_name().unwrap().to_str().unwrap();
    std::fs::copy(file, scratch.path("inbox").join(name)).unwrap();
    let run = scratch
        .aup(&["ingest", "--json", "--settle", "0"])
        .success();
    assert!(
        !scratch.path("inbox").join(name).exists(),
        "the inbox file stayed"
    );
    run.stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn signature(report: &Value) -> &Value {
    report["signatures"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["field"] == "signer_signature"))
        .unwrap_or_else(|| panic!("no signature in {report:#}"))
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn typed_fields_without_a_signature_are_incomplete() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let filled = fill(
        &scratch,
        &form,
        "filled.pdf",
        &["signer_date=2 September 2025"],
    );
    let report = verify(&scratch, &filled);
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(report["missing"], serde_json::json!(["signature"]));
    assert_eq!(report["name"], "Amelia Hart");
    assert_eq!(report["role"], "Teacher");
    assert_eq!(report["date"], "2 September 2025");
    let outcome = ingest(&scratch, &filled);
    assert_eq!(outcome["verdict"], "incomplete");
    assert_eq!(outcome["person"], "Amelia Hart");
    assert_eq!(outcome["missing"], serde_json::json!(["signature"]));
}

#[test]
fn an_unfilled_form_sent_back_misses_signature_and_date() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let report = verify(&scratch, &form);
    assert_eq!(report["verdict"], "incomplete");
    assert_eq!(report["missing"], serde_json::json!(["signature", "date"]));
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "policy text as issued")
        .unwrap();
    assert_eq!(check["passed"], true);
}

#[test]
fn signed_with_a_self_signed_rsa_key_is_accepted_naming_the_signer() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let filled = fill(
        &scratch,
        &form,
        "filled.pdf",
        &["signer_date=2 September 2025"],
    );
    let signed = scratch.path("amelia-signed.pdf");
    sign(
        &filled,
        &signed,
        &credentials(&scratch, "Amelia Hart", "rsa", None),
    );

    let report = verify(&scratch, &signed);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["method"], "certificate");
    let sig = signature(&report);
    assert_eq!(sig["signer"], "Amelia Hart");
    assert_eq!(sig["intact"], true);
    assert_eq!(sig["valid"], true);
    assert_eq!(sig["trust"]["kind"], "self_signed");
    assert_eq!(sig["modifications"], "untouched");
    assert!(sig["signing_time"].as_str().unwrap().starts_with("20"));
    assert!(pyhanko_intact(&signed));

    let outcome = ingest(&scratch, &signed);
    assert_eq!(outcome["verdict"], "accepted", "{outcome:#}");
    // The archive keeps the return byte for byte: its signature stays verifiable.
    let archived = scratch
        .path("archive")
        .join(outcome["archived"].as_str().unwrap());
    assert_eq!(sha256(&archived), sha256(&signed));
    let evidence = archived.with_extension("evidence.pdf");
    let text = common::pdftotext(&evidence);
    assert!(text.contains("certificate by Amelia Hart"), "{text}");
    assert!(text.contains(&sha256(&signed)), "{text}");
}

#[test]
fn signed_with_an_ecdsa_p256_key_is_accepted() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "ben");
    let filled = fill(
        &scratch,
        &form,
        "filled.pdf",
        &["signer_date=4 September 2025"],
    );
    let signed = scratch.path("ben-signed.pdf");
    sign(
        &filled,
        &signed,
        &credentials(&scratch, "Ben Okafor", "ec", None),
    );
    let report = verify(&scratch, &signed);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(signature(&report)["signer"], "Ben Okafor");
    assert_eq!(signature(&report)["valid"], true);
    assert!(pyhanko_intact(&signed));
    assert_eq!(ingest(&scratch, &signed)["verdict"], "accepted");
    // The status says the date Ben wrote, and the day it was received.
    let rows: Vec<Value> = serde_json::from_str(
        &scratch
            .aup(&["status", "--year", "2025-26", "--format", "json"])
            .success()
            .stdout(),
    )
    .unwrap();
    let ben = rows.iter().find(|r| r["name"] == "Ben Okafor").unwrap();
    assert_eq!(ben["signed_on"], "4 September 2025", "{ben}");
    assert_eq!(ben["received_on"].as_str().unwrap().len(), 10, "{ben}");
}

#[test]
fn a_certificate_from_the_schools_own_root_is_trusted() {
    let scratch = school();
    let ca = credentials(&scratch, "Pakeman Staff CA", "ca", None);
    std::fs::copy(&ca.1, scratch.path("schools/pakeman-ca.pem")).unwrap();
    let yaml = std::fs::read_to_string(scratch.path("schools/pakeman.yaml")).unwrap();
    scratch.write(
        "schools/pakeman.yaml",
        &format!("{yaml}\nrecords:\n  trust_roots: [pakeman-ca.pem]\n"),
    );
    scratch.aup(&["check"]).success();
    let leaf = credentials(&scratch, "Amelia Hart", "rsa", Some((&ca.0, &ca.1)));
    let form = scratch.form_pdf("pakeman", "amelia");
    let filled = fill(
        &scratch,
        &form,
        "filled.pdf",
        &["signer_date=2 September 2025"],
    );
    let signed = scratch.path("signed.pdf");
    sign(&filled, &signed, &leaf);
    let report = verify(&scratch, &signed);
    // Record keeping is not policy wording: the form is still the current version.
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(signature(&report)["trust"]["kind"], "trusted");
    assert_eq!(signature(&report)["trust"]["root"], "Pakeman Staff CA");

    // Another school's root (or none) leaves it untrusted but intact; and a
    // certificate of somebody else does not sign for Amelia.
    let stranger = credentials(&scratch, "Somebody Else", "rsa", None);
    let other = scratch.path("other.pdf");
    sign(&filled, &other, &stranger);
    let report = verify(&scratch, &other);
    assert_eq!(signature(&report)["trust"]["kind"], "self_signed");
    assert_eq!(signature(&report)["intact"], true);
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(report["missing"], serde_json::json!(["signature"]));
    let reason = report["reason"].as_str().unwrap();
    assert!(
        reason.contains("the certificate of Somebody Else, not of Amelia Hart"),
        "{reason}"
    );
}

#[test]
fn a_byte_flipped_inside_the_signed_range_is_rejected() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let filled = fill(
        &scratch,
        &form,
        "filled.pdf",
        &["signer_date=2 September 2025"],
    );
    let signed = scratch.path("signed.pdf");
    sign(
        &filled,
        &signed,
        &credentials(&scratch, "Amelia Hart", "rsa", None),
    );
    let mut bytes = std::fs::read(&signed).unwrap();
    // The binary comment on the header's second line: the file still parses, but
    // it is no longer the file that was signed.
    assert_eq!(bytes[9], b'%');
    bytes[11] ^= 0x01;
    let flipped = scratch.path("flipped.pdf");
    std::fs::write(&flipped, &bytes).unwrap();

    let report = verify(&scratch, &flipped);
    assert_eq!(report["verdict"], "rejected", "{report:#}");
    assert_eq!(signature(&report)["intact"], false);
    assert!(!pyhanko_intact(&flipped));
    let outcome = ingest(&scratch, &flipped);
    assert_eq!(outcome["verdict"], "rejected");
    assert!(
        outcome["reason"].as_str().unwrap().contains("changed"),
        "{outcome:#}"
    );
}

#[test]
fn page_content_changed_in_an_update_after_signing_is_rejected() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let filled = fill(
        &scratch,
        &form,
        "filled.pdf",
        &["signer_date=2 September 2025"],
    );
    let signed = scratch.path("signed.pdf");
    sign(
        &filled,
        &signed,
        &credentials(&scratch, "Amelia Hart", "rsa", None),
    );
    let tampered = scratch.path("tampered.pdf");
    python("tamper.py", &[&signed, &tampered, Path::new("1")]);

    let report = verify(&scratch, &tampered);
    assert_eq!(report["verdict"], "rejected", "{report:#}");
    let sig = signature(&report);
    // The signed bytes are untouched; what was added after them is the problem.
    assert_eq!(sig["intact"], true);
    assert!(pyhanko_intact(&tampered));
    let other = sig["modifications"]["other"]
        .as_array()
        .expect("other changes");
    assert!(
        other.iter().any(|c| c.as_str().unwrap().contains("page 1")),
        "{other:?}"
    );
    assert_eq!(ingest(&scratch, &tampered)["verdict"], "rejected");
}

#[test]
fn page_content_changed_without_a_certificate_is_rejected() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let drawn = draw(&scratch, &form, "drawn.pdf", "stamp", "incremental");
    let tampered = scratch.path("tampered.pdf");
    python("tamper.py", &[&drawn, &tampered, Path::new("2")]);
    let report = verify(&scratch, &tampered);
    assert_eq!(report["verdict"], "rejected", "{report:#}");
    assert!(
        report["reason"].as_str().unwrap().contains("page 2"),
        "{report:#}"
    );
}

#[test]
fn a_drawn_signature_saved_incrementally_as_a_stamp_is_accepted() {
    // Firefox's pdf.js: an incremental update with a Stamp annotation.
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let drawn = draw(&scratch, &form, "drawn.pdf", "stamp", "incremental");
    assert!(
        std::fs::read(&drawn)
            .unwrap()
            .starts_with(&std::fs::read(&form).unwrap())
    );
    let report = verify(&scratch, &drawn);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["method"], "pdf");
    assert_eq!(report["signature_ink"], true);
    assert_eq!(ingest(&scratch, &drawn)["verdict"], "accepted");
}

#[test]
fn a_drawn_signature_flattened_by_qpdf_is_accepted() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let drawn = draw(&scratch, &form, "drawn.pdf", "ink", "rewrite");
    let flat = scratch.path("flat.pdf");
    let run = Command::new("qpdf")
        .arg("--flatten-annotations=all")
        .arg(&drawn)
        .arg(&flat)
        .output()
        .expect("qpdf: run scripts/test.sh, which installs it");
    assert!(
        run.status.code() == Some(0) || run.status.code() == Some(3),
        "{run:?}"
    );
    let bytes = std::fs::read(&flat).unwrap();
    assert!(
        !bytes.windows(4).any(|w| w == b"/Ink"),
        "qpdf did not flatten the drawing"
    );

    let report = verify(&scratch, &flat);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["signature_ink"], true);
    assert_eq!(ingest(&scratch, &flat)["verdict"], "accepted");
}

#[test]
fn a_form_of_an_older_policy_version_is_outdated() {
    let scratch = school();
    let old = scratch.path("old-form.pdf");
    std::fs::copy(scratch.form_pdf("pakeman", "amelia"), &old).unwrap();
    // The headteacher changes the policy's wording: a new version is issued.
    let yaml = std::fs::read_to_string(scratch.path("schools/pakeman.yaml")).unwrap();
    let changed = yaml.replacen("name: ", "name: The ", 1);
    assert_ne!(yaml, changed);
    scratch.write("schools/pakeman.yaml", &changed);
    generate(&scratch);

    let drawn = draw(&scratch, &old, "drawn.pdf", "stamp", "incremental");
    let report = verify(&scratch, &drawn);
    assert_eq!(report["verdict"], "outdated", "{report:#}");
    assert_eq!(ingest(&scratch, &drawn)["verdict"], "outdated");
}

#[test]
fn a_pdf_that_is_not_ours_is_unidentified() {
    let scratch = school();
    // The policy itself is a PDF of ours, but not a form: no id, no codes.
    let policy = scratch.path("out/pakeman/2025-26/pakeman-staff-aup.pdf");
    let stray = scratch.path("newsletter.pdf");
    std::fs::copy(&policy, &stray).unwrap();
    let run = scratch.aup(&["verify", stray.to_str().unwrap()]);
    let said = run.could_not_check();
    assert!(
        said.contains("not one of our forms")
            && said.contains("no page carries one of our QR codes"),
        "{said}"
    );
    let outcomes = ingest_all(&scratch, &stray);
    assert_eq!(outcomes.len(), 3, "one per page: {outcomes:#?}");
    for outcome in outcomes {
        assert_eq!(outcome["verdict"], "unidentified", "{outcome:#}");
        assert!(
            outcome["reason"].as_str().unwrap().starts_with("no_qr"),
            "{outcome:#}"
        );
    }
}

#[test]
fn hostile_pdfs_are_rejected_or_quarantined_with_a_reason() {
    let scratch = school();
    let form = scratch.form_pdf("pakeman", "amelia");
    let id = form.file_name().unwrap().to_str().unwrap()[..15].to_owned();
    for (kind, file) in common::hostile_pdfs(&scratch.path(""), &id) {
        let outcome = ingest(&scratch, &file);
        let verdict = outcome["verdict"].as_str().unwrap();
        assert!(
            verdict == "rejected" || verdict == "unidentified",
            "{kind}: {outcome:#}"
        );
        assert!(
            !outcome["reason"].as_str().unwrap_or("").is_empty(),
            "{kind}: {outcome:#}"
        );
        let run = scratch.aup(&["verify", file.to_str().unwrap()]);
        assert!(
            !run.stderr().contains("panicked"),
            "{kind}: {}",
            run.stderr()
        );
        // Rejected: checked, and not accepted. Unidentified: it could not be checked.
        let expected = match verdict {
            "rejected" => 1,
            _ => 3,
        };
        assert_eq!(run.code(), Some(expected), "{kind}: {}", run.stderr());
    }
}

#[test]
fn a_trust_root_that_cannot_be_read_is_named_by_check_and_ingest() {
    let scratch = school();
    let yaml = std::fs::read_to_string(scratch.path("schools/pakeman.yaml")).unwrap();
    scratch.write(
        "schools/pakeman.yaml",
        &format!("{yaml}\nrecords:\n  trust_roots: [missing-ca.pem]\n"),
    );
    let check = scratch.aup(&["check"]).failure();
    assert!(
        check.contains("pakeman.yaml") && check.contains("missing-ca.pem"),
        "{check}"
    );
    let form = scratch.form_pdf("pakeman", "amelia");
    let drawn = draw(&scratch, &form, "drawn.pdf", "stamp", "incremental");
    std::fs::copy(&drawn, scratch.path("inbox/drawn.pdf")).unwrap();
    let run = scratch.aup(&["ingest", "--settle", "0"]).success();
    assert!(
        run.stderr().contains("warning:") && run.stderr().contains("missing-ca.pem"),
        "{}",
        run.stderr()
    );
    // The return is still judged: trust roots only matter for certificates.
    assert!(run.stdout().contains("accepted"), "{}", run.stdout());
}
