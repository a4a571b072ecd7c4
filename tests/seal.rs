//! The school's seal: `aup seal init` makes a key and certificate, and a PDF
//! sealed with them is shown by poppler and pyHanko as intact and sealed by the
//! school (PAdES B-B), and as broken once a byte changes. A form filled in as
//! the signing page does and sealed is filed as signed online.

mod common;

use std::process::Command;

use aup::online::Seal;
use aup::online::fill::{SignatureMark, Submission, fill};
use aup::online::pades::{SealDetails, seal_pdf};
use common::{Scratch, run_tool};

fn sealed_form(scratch: &Scratch) -> std::path::PathBuf {
    let made = scratch
        .aup(&["seal", "init", "--school", "pakeman"])
        .success()
        .stdout();
    assert!(
        made.trim().ends_with("archive/seals/pakeman/seal.crt"),
        "{made}"
    );
    let seal = Seal::load(&scratch.path("archive"), "pakeman")
        .unwrap()
        .expect("a seal");
    let form = std::fs::read(scratch.form_pdf("pakeman", "amelia-hart")).unwrap();
    let details = SealDetails {
        name: "Pakeman Primary School",
        reason: "Signed online by Amelia Hart",
        when: time::macros::datetime!(2025-09-08 10:30 UTC),
    };
    let sealed = seal_pdf(&form, &seal, &details).unwrap();
    // An incremental update: the form's bytes are kept as they were.
    assert_eq!(&sealed[..form.len()], &form[..]);
    let path = scratch.path("sealed.pdf");
    std::fs::write(&path, &sealed).unwrap();
    path
}

#[test]
fn a_sealed_form_is_valid_and_trusted_in_poppler_and_pyhanko() {
    let scratch = Scratch::pakeman_issued("Name,Role\nAmelia Hart,Class Teacher\n", &[]);
    let sealed = sealed_form(&scratch);

    let pdfsig = run_tool("pdfsig", &[sealed.as_os_str()]);
    assert!(pdfsig.contains("Signature is Valid."), "{pdfsig}");
    assert!(
        pdfsig.contains("Signer Certificate Common Name: Pakeman Primary School seal"),
        "{pdfsig}"
    );
    assert!(
        pdfsig.contains("Signature Type: ETSI.CAdES.detached"),
        "{pdfsig}"
    );
    assert!(pdfsig.contains("Signed Ranges:"), "{pdfsig}");
    assert!(pdfsig.contains("Total document signed"), "{pdfsig}");

    let cert = scratch.path("archive/seals/pakeman/seal.crt");
    let validated = Command::new("pyhanko")
        .args(["sign", "validate", "--pretty-print", "--trust"])
        .arg(&cert)
        .arg(&sealed)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&validated.stdout);
    assert!(
        validated.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&validated.stderr)
    );
    assert!(
        report.contains("The signer's certificate is trusted."),
        "{report}"
    );
    assert!(
        report.contains("The signature covers the entire file."),
        "{report}"
    );
    assert!(
        report.contains("The signature is judged VALID."),
        "{report}"
    );
    // PAdES B-B: content type, message digest and signing-certificate-v2
    // (id-aa-signingCertificateV2, which asn1crypto names by its number) signed,
    // and the signing time in /M, not in the CMS.
    assert_eq!(
        common::python("cms_attributes.py", &[&sealed]).trim(),
        "school_seal: content_type,message_digest,1.2.840.113549.1.9.16.2.47"
    );

    // The key is its owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(scratch.path("archive/seals/pakeman/seal.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn one_changed_byte_breaks_the_seal() {
    let scratch = Scratch::pakeman_issued("Name,Role\nAmelia Hart,Class Teacher\n", &[]);
    let sealed = sealed_form(&scratch);
    let mut bytes = std::fs::read(&sealed).unwrap();
    // A letter of the policy's text in a content stream is compressed; change
    // a byte of the Info dictionary's producer-free title instead.
    let at = bytes
        .windows(b"Acceptable Use Policy".len())
        .position(|w| w == b"Acceptable Use Policy")
        .expect("the title in the Info dictionary");
    bytes[at] = b'a';
    let broken = scratch.path("broken.pdf");
    std::fs::write(&broken, &bytes).unwrap();
    let pdfsig = Command::new("pdfsig").arg(&broken).output().unwrap();
    let text = String::from_utf8_lossy(&pdfsig.stdout);
    assert!(!text.contains("Signature is Valid."), "{text}");
    assert!(
        text.contains("Signature is Invalid.") || text.contains("Digest Mismatch"),
        "{text}"
    );
}

#[test]
fn a_seal_is_never_replaced() {
    let scratch = Scratch::pakeman_issued("Name,Role\nAmelia Hart,Class Teacher\n", &[]);
    scratch
        .aup(&["seal", "init", "--school", "pakeman"])
        .success();
    let key = std::fs::read(scratch.path("archive/seals/pakeman/seal.key")).unwrap();
    let again = scratch
        .aup(&["seal", "init", "--school", "pakeman"])
        .failure();
    assert!(
        again.contains("already holds a seal for this school; it is kept, not replaced"),
        "{again}"
    );
    assert_eq!(
        std::fs::read(scratch.path("archive/seals/pakeman/seal.key")).unwrap(),
        key
    );
}

/// A signature as a finger draws it: two strokes across the pad.
fn drawn() -> SignatureMark {
    let wave: Vec<(f64, f64)> = (0..=60)
        .map(|i| {
            let t = i as f64 / 60.0;
            (0.05 + 0.6 * t, 0.5 + 0.3 * (t * 12.0).sin())
        })
        .collect();
    let stroke: Vec<(f64, f64)> = (0..=20)
        .map(|i| (0.7 + 0.01 * i as f64, 0.2 + 0.03 * i as f64))
        .collect();
    SignatureMark::Drawn(vec![wave, stroke])
}

/// Amelia's form filled as the signing page does (a drawn signature) and
/// sealed by a new seal of Pakeman.
fn signed_and_sealed(scratch: &Scratch) -> Vec<u8> {
    scratch
        .aup(&["seal", "init", "--school", "pakeman"])
        .success();
    let seal = Seal::load(&scratch.path("archive"), "pakeman")
        .unwrap()
        .unwrap();
    let form = std::fs::read(scratch.form_pdf("pakeman", "amelia-hart")).unwrap();
    let mark = drawn();
    let filled = fill(
        &form,
        &Submission::staff("Class Teacher", "8 September 2025", &mark),
    )
    .unwrap();
    let details = SealDetails {
        name: "Pakeman Primary School",
        reason: "Signed online by Amelia Hart",
        when: time::macros::datetime!(2025-09-08 10:30 UTC),
    };
    seal_pdf(&filled, &seal, &details).unwrap()
}

#[test]
fn a_form_filled_online_and_sealed_is_filed_as_signed_online() {
    let scratch = Scratch::pakeman_issued("Name,Role\nAmelia Hart,Class Teacher\n", &[]);
    let issued = scratch.form_pdf("pakeman", "amelia-hart");
    let sealed = signed_and_sealed(&scratch);
    let path = scratch.path("signed-online.pdf");
    std::fs::write(&path, &sealed).unwrap();
    let pdfsig = run_tool("pdfsig", &[path.as_os_str()]);
    assert!(pdfsig.contains("Signature is Valid."), "{pdfsig}");
    assert!(pdfsig.contains("Total document signed"), "{pdfsig}");
    if let Ok(dir) = std::env::var("AUP_ARTEFACTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&path, std::path::Path::new(&dir).join("signed-online.pdf")).unwrap();
    }

    // The drawn signature is inside the signature box, as poppler renders it,
    // and nothing else on the page changed but the date box.
    let ink = common::python("ink_outside_boxes.py", &[&issued, &path]);
    assert!(ink.contains("signer_signature: inked"), "{ink}");
    assert!(ink.contains("outside boxes: 0 pixels changed"), "{ink}");

    let verify = scratch
        .aup(&["verify", "--json", path.to_str().unwrap()])
        .success();
    let report: serde_json::Value = serde_json::from_str(&verify.stdout()).unwrap();
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["method"], "online", "{report:#}");

    std::fs::copy(&path, scratch.path("inbox/signed-online.pdf")).unwrap();
    scratch.aup(&["ingest", "--settle", "0"]).success();
    let json = scratch
        .aup(&["status", "--year", "2025-26", "--format", "json"])
        .success()
        .stdout();
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let amelia = &rows.as_array().unwrap()[0];
    assert_eq!(amelia["state"], "signed", "{json}");
    assert_eq!(amelia["method"], "online", "{json}");
}

#[test]
fn a_typed_signature_counts_and_nonsense_is_refused() {
    let scratch = Scratch::pakeman_issued("Name,Role\nAmelia Hart,Class Teacher\n", &[]);
    let form = std::fs::read(scratch.form_pdf("pakeman", "amelia-hart")).unwrap();
    let typed = SignatureMark::Typed("Amelia Hart".into());
    let filled = fill(
        &form,
        &Submission::staff("Class Teacher", "8 September 2025", &typed),
    )
    .unwrap();
    let path = scratch.path("typed.pdf");
    std::fs::write(&path, &filled).unwrap();
    let verify = scratch
        .aup(&["verify", "--json", path.to_str().unwrap()])
        .success();
    let report: serde_json::Value = serde_json::from_str(&verify.stdout()).unwrap();
    // Unsealed, it is a PDF filled in a reader: accepted, by ink in the box.
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["method"], "pdf", "{report:#}");
    // Drawn in the handwriting as outlines, inside the box: ink for poppler,
    // and no second "Amelia Hart" in the text layer.
    let issued = scratch.form_pdf("pakeman", "amelia-hart");
    let where_ink = common::python("ink_outside_boxes.py", &[&issued, &path]);
    assert!(where_ink.contains("signer_signature: inked"), "{where_ink}");
    assert!(
        where_ink.contains("outside boxes: 0 pixels changed"),
        "{where_ink}"
    );
    let artefacts = common::repo().join("target/test-artefacts/seal");
    std::fs::create_dir_all(&artefacts).unwrap();
    std::fs::copy(&path, artefacts.join("typed-signature.pdf")).unwrap();
    let names = |pdf: &std::path::Path| common::pdftotext(pdf).matches("Amelia Hart").count();
    assert_eq!(names(&path), names(&issued));
    // A Polish name, in the handwriting too.
    let polish = SignatureMark::Typed("Łukasz Wójcik".into());
    let filled = fill(
        &form,
        &Submission::staff("Class Teacher", "8 September 2025", &polish),
    )
    .unwrap();
    let polish_pdf = scratch.path("polish.pdf");
    std::fs::write(&polish_pdf, &filled).unwrap();
    assert!(!common::pdftotext(&polish_pdf).contains("Łukasz"));
    let where_ink = common::python("ink_outside_boxes.py", &[&issued, &polish_pdf]);
    assert!(where_ink.contains("signer_signature: inked"), "{where_ink}");

    for (mark, said) in [
        (SignatureMark::Drawn(vec![]), "the signature pad is empty"),
        (
            SignatureMark::Drawn(vec![vec![(0.5, 1.5), (0.6, 0.6)]]),
            "outside the pad",
        ),
        (
            SignatureMark::Drawn(vec![vec![(0.5, 0.5); 5000]]),
            "at most 64 strokes and 4000 points",
        ),
        (SignatureMark::Typed(" A ".into()), "type your name"),
        (SignatureMark::Typed("名前です".into()), "cannot show"),
    ] {
        let refused = fill(
            &form,
            &Submission::staff("Class Teacher", "8 September 2025", &mark),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(refused.contains(said), "{mark:?}: {refused}");
    }
}

#[test]
fn a_sealed_return_with_one_byte_changed_or_a_page_added_is_rejected() {
    let scratch = Scratch::pakeman_issued("Name,Role\nAmelia Hart,Class Teacher\n", &[]);
    let sealed = signed_and_sealed(&scratch);
    let verdict = |bytes: &[u8], name: &str| {
        let path = scratch.path(name);
        std::fs::write(&path, bytes).unwrap();
        let run = scratch.aup(&["verify", "--json", path.to_str().unwrap()]);
        let report: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
        report["verdict"].as_str().unwrap().to_owned()
    };
    assert_eq!(verdict(&sealed, "sealed.pdf"), "accepted");

    // One byte of the date the person gave (in the filled revision, under the
    // seal), and one of the policy's own metadata (in the form as issued).
    for (needle, name) in [
        (&b"8 September 2025"[..], "date.pdf"),
        (&b"Acceptable Use Policy"[..], "title.pdf"),
    ] {
        let mut bytes = sealed.clone();
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap_or_else(|| panic!("{name}: not found"));
        bytes[at] ^= 0x01;
        assert_eq!(verdict(&bytes, name), "rejected", "{name}");
    }

    // A page added by qpdf after sealing.
    let path = scratch.path("sealed-again.pdf");
    std::fs::write(&path, &sealed).unwrap();
    let added = scratch.path("added.pdf");
    run_tool(
        "qpdf",
        &[
            path.as_os_str(),
            "--pages".as_ref(),
            ".".as_ref(),
            path.as_os_str(),
            "1".as_ref(),
            "--".as_ref(),
            added.as_os_str(),
        ],
    );
    let bytes = std::fs::read(&added).unwrap();
    assert_eq!(verdict(&bytes, "added-copy.pdf"), "rejected");
}

/// `aup seal import` of `p12` with `password` on standard input.
fn import(scratch: &Scratch, p12: &std::path::Path, password: &str) -> common::Run {
    scratch.aup_stdin(
        &[
            "seal",
            "import",
            "--school",
            "pakeman",
            p12.to_str().unwrap(),
            "--password-stdin",
        ],
        &format!("{password}\n"),
    )
}

/// A certificate authority (RSA) and a seal certificate it issued, of `kind`
/// (rsa or ec), bundled as PKCS#12 with `password` (`aes` or `legacy`):
/// (the .p12, the authority's certificate).
fn authority_seal(
    scratch: &Scratch,
    kind: &str,
    encryption: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let path = |name: &str| scratch.path(name).to_str().unwrap().to_owned();
    common::python(
        "selfsigned.py",
        &[
            path("ca.key"),
            path("ca.crt"),
            "Schools Trust CA".into(),
            "ca".into(),
        ],
    );
    common::python(
        "selfsigned.py",
        &[
            path("seal.key"),
            path("seal.crt"),
            "Pakeman Primary School seal".into(),
            kind.into(),
            path("ca.key"),
            path("ca.crt"),
        ],
    );
    common::python(
        "pkcs12.py",
        &[
            path("seal.key"),
            path("seal.crt"),
            path("seal.p12"),
            "seal".into(),
            "correct horse".into(),
            encryption.into(),
            path("ca.crt"),
        ],
    );
    (scratch.path("seal.p12"), scratch.path("ca.crt"))
}

#[test]
fn a_seal_from_a_certificate_authority_is_trusted_through_the_authority() {
    for kind in ["rsa", "ec"] {
        let scratch = Scratch::pakeman_issued("Name,Role\nAmelia Hart,Class Teacher\n", &[]);
        let (p12, ca) = authority_seal(&scratch, kind, "aes");
        // A wrong password opens nothing and keeps nothing.
        let wrong = import(&scratch, &p12, "wrong").failure();
        assert!(wrong.contains("the password does not open it"), "{wrong}");
        assert!(!scratch.path("archive/seals/pakeman").exists());

        let imported = import(&scratch, &p12, "correct horse").success();
        assert!(
            imported
                .stderr()
                .contains("with 1 authority certificate(s)"),
            "{}",
            imported.stderr()
        );
        let seal = Seal::load(&scratch.path("archive"), "pakeman")
            .unwrap()
            .unwrap();
        let form = std::fs::read(scratch.form_pdf("pakeman", "amelia-hart")).unwrap();
        let details = SealDetails {
            name: "Pakeman Primary School",
            reason: "Signed online by Amelia Hart",
            when: time::macros::datetime!(2025-09-08 10:30 UTC),
        };
        let sealed = scratch.path("sealed.pdf");
        std::fs::write(&sealed, seal_pdf(&form, &seal, &details).unwrap()).unwrap();
        let pdfsig = run_tool("pdfsig", &[sealed.as_os_str()]);
        assert!(pdfsig.contains("Signature is Valid."), "{kind}: {pdfsig}");
        // pyHanko trusts it through the authority alone: the chain is in the CMS.
        let validated = Command::new("pyhanko")
            .args(["sign", "validate", "--pretty-print", "--trust"])
            .arg(&ca)
            .arg(&sealed)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&validated.stdout);
        assert!(
            report.contains("Trust anchor: \"Common Name: Schools Trust CA\""),
            "{kind}: {report}"
        );
        assert!(
            report.contains("The signature is judged VALID."),
            "{kind}: {report}"
        );
    }
}

#[test]
fn a_pkcs12_file_with_the_old_encryption_is_refused_with_how_to_export_it() {
    let scratch = Scratch::pakeman_issued("Name,Role\nAmelia Hart,Class Teacher\n", &[]);
    let (p12, _) = authority_seal(&scratch, "rsa", "legacy");
    let refused = import(&scratch, &p12, "correct horse").failure();
    assert!(refused.contains("old 3DES/RC2 encryption"), "{refused}");
    assert!(refused.contains("openssl pkcs12 -export"), "{refused}");
    assert!(!scratch.path("archive/seals/pakeman").exists());
}
