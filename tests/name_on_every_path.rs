//! The person on every path: Amelia's form comes back with her own name, or
//! with Daniel's typed over it, however it travelled: as filled in PyMuPDF,
//! flattened (PyMuPDF's bake, `qpdf --flatten-annotations`, `pdftk … flatten`),
//! printed to PDF (`pdftocairo -pdf`), or printed and scanned (poppler renders
//! the page, ImageMagick adds the pen, img2pdf wraps the JPEGs as a copier
//! does). Her name passes on every path; Daniel's on none, with the reason.

mod common;
mod office;
mod scan;

use std::path::{Path, PathBuf};

use common::{Scratch, python, run_tool};
use serde_json::Value;

fn school() -> Scratch {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\nA2,Daniel,Okoro,TA\n",
    );
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    scratch
}

fn verify(scratch: &Scratch, file: &Path) -> Value {
    let run = scratch.aup(&["verify", "--json", file.to_str().unwrap()]);
    serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout(), run.stderr()))
}

fn name_check(report: &Value) -> &Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "name")
        .unwrap_or_else(|| panic!("no name check: {report:#}"))
}

/// Amelia's form filled in PyMuPDF (a pen signature as an Ink annotation, the
/// date typed, and `values`), saved whole or baked flat.
fn pymupdf(scratch: &Scratch, out: &str, bake: bool, values: &[&str]) -> PathBuf {
    let path = scratch.path(out);
    let mut args: Vec<std::ffi::OsString> = vec![
        scratch.form_pdf("pakeman", "amelia").into(),
        path.clone().into(),
    ];
    if bake {
        args.push("--bake".into());
    }
    args.push("signer_date=2 September 2025".into());
    args.extend(values.iter().map(Into::into));
    python("pymupdf_fill.py", &args);
    path
}

/// The pages of a PDF as a 200 dpi grey scanner sees them, as JPEG files.
fn scanned_pages(scratch: &Scratch, pdf: &Path, stem: &str) -> Vec<PathBuf> {
    let prefix = scratch.path(stem);
    run_tool(
        "pdftoppm",
        &[
            "-r".as_ref(),
            "200".as_ref(),
            "-gray".as_ref(),
            "-jpeg".as_ref(),
            pdf.as_os_str(),
            prefix.as_os_str(),
        ],
    );
    (1..=3)
        .map(|n| scratch.path(&format!("{stem}-{n}.jpg")))
        .collect()
}

fn img2pdf(pages: &[PathBuf], out: &Path) {
    let mut args: Vec<&std::ffi::OsStr> = pages.iter().map(|p| p.as_os_str()).collect();
    args.extend(["-o".as_ref(), out.as_os_str()]);
    run_tool("img2pdf", &args);
}

/// Every way the filled form `file` travels back: as it is, flattened by three
/// programs, printed to PDF, printed and scanned.
fn travelled(scratch: &Scratch, file: &Path, stem: &str, baked: PathBuf) -> Vec<(String, PathBuf)> {
    let out = |how: &str| scratch.path(&format!("{stem}-{how}.pdf"));
    let (qpdf, pdftk, cairo, scan) = (out("qpdf"), out("pdftk"), out("pdftocairo"), out("scan"));
    run_tool(
        "qpdf",
        &[
            "--flatten-annotations=all".as_ref(),
            file.as_os_str(),
            qpdf.as_os_str(),
        ],
    );
    run_tool(
        "pdftk",
        &[
            file.as_os_str(),
            "output".as_ref(),
            pdftk.as_os_str(),
            "flatten".as_ref(),
        ],
    );
    run_tool(
        "pdftocairo",
        &["-pdf".as_ref(), file.as_os_str(), cairo.as_os_str()],
    );
    img2pdf(
        &scanned_pages(scratch, file, &format!("{stem}-page")),
        &scan,
    );
    vec![
        ("filled in PyMuPDF".into(), file.to_owned()),
        ("baked by PyMuPDF".into(), baked),
        ("flattened by qpdf".into(), qpdf),
        ("flattened by pdftk".into(), pdftk),
        ("printed to PDF by pdftocairo".into(), cairo),
        ("printed and scanned".into(), scan),
    ]
}

#[test]
fn another_persons_name_is_not_accepted_however_the_return_travelled() {
    let scratch = school();
    let hers = pymupdf(&scratch, "hers.pdf", false, &[]);
    let hers_baked = pymupdf(&scratch, "hers-baked.pdf", true, &[]);
    let daniel = ["signer_name=Daniel Okoro"];
    let daniels = pymupdf(&scratch, "daniels.pdf", false, &daniel);
    let daniels_baked = pymupdf(&scratch, "daniels-baked.pdf", true, &daniel);

    for (how, file) in travelled(&scratch, &hers, "hers", hers_baked) {
        let report = verify(&scratch, &file);
        assert_eq!(report["verdict"], "accepted", "hers, {how}: {report:#}");
        let detail = name_check(&report)["detail"].as_str().unwrap().to_owned();
        assert!(!detail.contains("printed on the form"), "{how}: {detail}");
    }
    let mut inbox = Vec::new();
    for (how, file) in travelled(&scratch, &daniels, "daniels", daniels_baked) {
        let report = verify(&scratch, &file);
        assert_eq!(
            report["verdict"], "incomplete",
            "Daniel's, {how}: {report:#}"
        );
        assert_eq!(report["missing"], serde_json::json!(["name"]), "{how}");
        let reason = report["reason"].as_str().unwrap();
        let expected = match how.as_str() {
            "filled in PyMuPDF" => "the name typed, \"Daniel Okoro\", is not Amelia Hart",
            _ => "the name box does not show the name it was issued with: check by eye",
        };
        assert!(reason.contains(expected), "{how}: {reason}");
        // Flattened or printed to PDF, the name is still text on the page, and
        // the reason reads it; a scan has no text.
        if how.starts_with("baked") || how.starts_with("flattened") || how.starts_with("printed to")
        {
            assert!(
                reason.ends_with("; it reads \"Daniel Okoro\""),
                "{how}: {reason}"
            );
        }
        assert_eq!(name_check(&report)["passed"], false, "{how}");
        inbox.push(file);
    }

    // Ingest files every one of them as Amelia's, none accepted: she has not
    // signed. (The scan goes in a later run: in one run, the same form's pages
    // from two paper files would be duplicates of each other.)
    let (scan, others) = inbox.split_last().unwrap();
    let mut cropped = 0;
    for batch in [others, std::slice::from_ref(scan)] {
        std::fs::create_dir_all(scratch.path("inbox")).unwrap();
        for file in batch {
            let name = file.file_name().unwrap().to_str().unwrap();
            std::fs::copy(file, scratch.path(&format!("inbox/{name}"))).unwrap();
        }
        let outcomes = scratch.ingest_json();
        assert_eq!(outcomes.len(), batch.len(), "{outcomes:#?}");
        for outcome in outcomes.iter().filter(|o| {
            o["reason"]
                .as_str()
                .unwrap()
                .contains("the name box does not show the name")
        }) {
            // Beside each such return, the name box as it came back, to check by eye.
            cropped += 1;
            let archived = outcome["archived"].as_str().unwrap();
            let crop = scratch.path(&format!(
                "archive/{}",
                archived.trim_end_matches(".pdf").to_owned() + ".name-box.png"
            ));
            let crop = image::open(&crop)
                .unwrap_or_else(|e| panic!("{}: {e}: {outcome:#}", crop.display()))
                .to_luma8();
            let ink = crop.pixels().filter(|p| p.0[0] < 128).count();
            assert!(
                crop.width() > 600 && ink > 500,
                "{}x{}, {ink} dark px",
                crop.width(),
                crop.height()
            );
            assert_eq!(outcome["verdict"], "incomplete", "{outcome:#}");
            assert_eq!(outcome["person"], "Amelia Hart", "{outcome:#}");
            let reason = outcome["reason"].as_str().unwrap();
            assert!(
                reason.contains(
                    "the name box does not show the name it was issued with: check by eye"
                ) || reason.ends_with("is not Amelia Hart, to whom the form was issued"),
                "{outcome:#}"
            );
        }
    }
    let people = scratch
        .aup(&["status", "--json", "--year", "2025-26"])
        .success()
        .json_lines();
    let amelia = people
        .iter()
        .find(|p| p["name"] == "Amelia Hart")
        .unwrap_or_else(|| panic!("{people:#?}"));
    assert_ne!(amelia["state"], "signed", "{amelia:#}");

    // The office sees each crop on Amelia's page, beside the return it came with.
    office::add_user(&scratch, "head", "head", &[]);
    let server = office::Server::start(&scratch, &[]);
    let head = office::Client::signed_in(&server, "head");
    let page = head.get("/form/PAK-2526-0001-X");
    assert_eq!(page.status, 200);
    let page = page.text();
    // Every return but the one whose name field says Daniel (its reason names him).
    assert_eq!(cropped, inbox.len() - 1);
    let crops: Vec<&str> = page
        .split("src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|src| src.ends_with("/name-box"))
        .collect();
    assert_eq!(crops.len(), cropped, "{page}");
    for crop in crops {
        let image = head.get(crop);
        assert_eq!(image.status, 200, "{crop}");
        assert_eq!(image.header("content-type"), Some("image/png"));
        assert!(image::load_from_memory(&image.body).is_ok(), "{crop}");
    }
    assert!(page.contains("check it by eye"), "{page}");
    // In a real browser, on a desktop and a phone: every crop shows, nothing
    // scrolls sideways. Photographs in target/test-artefacts/name-box/.
    let shots = common::repo().join("target/test-artefacts/name-box");
    std::fs::create_dir_all(&shots).unwrap();
    let seen = python(
        "name_box_in_chromium.py",
        &[
            server.url.as_str(),
            "head",
            "head password 1",
            "/form/PAK-2526-0001-X",
            shots.to_str().unwrap(),
        ],
    );
    assert!(seen.contains(&format!("phone: {cropped} crops")), "{seen}");
    // Signed out, nothing is shown.
    let anonymous = office::Client::anonymous(&server);
    let refused = anonymous.get("/form/PAK-2526-0001-X/return/1/name-box");
    assert_ne!(refused.status, 200);
}

/// Pen work on page 3 of a 200 dpi scan, with ImageMagick `-draw` arguments.
fn with_pen(scratch: &Scratch, pages: &[PathBuf], name: &str, draw: &[&str]) -> PathBuf {
    let page3 = scratch.path(&format!("{name}-3.jpg"));
    let mut args: Vec<&std::ffi::OsStr> = vec![pages[2].as_os_str()];
    args.extend(draw.iter().map(std::ffi::OsStr::new));
    args.push(page3.as_os_str());
    run_tool("convert", &args);
    let out = scratch.path(&format!("{name}.pdf"));
    img2pdf(&[pages[0].clone(), pages[1].clone(), page3], &out);
    out
}

#[test]
fn a_name_crossed_out_or_covered_on_paper_goes_to_the_office_to_check() {
    let scratch = school();
    let signed = pymupdf(&scratch, "signed.pdf", true, &[]);
    let pages = scanned_pages(&scratch, &signed, "signed");
    // The name box of the form as issued: where to write on the 200 dpi page.
    let issued = python(
        "fields.py",
        &[scratch.form_pdf("pakeman", "amelia").as_os_str()],
    );
    let issued: Value = serde_json::from_str(&issued).unwrap();
    let rect: Vec<f64> = issued["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "signer_name")
        .expect("a name field")["rect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let px = |pt: f64| (pt * 200.0 / 72.0).round() as i64;
    let page_height = 841.89;
    let (left, top, bottom) = (
        px(rect[0]),
        px(page_height - rect[3]),
        px(page_height - rect[1]),
    );
    let baseline = bottom - px(9.0);
    let strike = format!(
        "line {},{} {},{}",
        left + px(4.0),
        baseline - px(4.0),
        left + px(72.0),
        baseline - px(5.0)
    );
    let write = |x: i64| format!("+{x}+{baseline}");
    let pen = [
        "-fill",
        "#202040",
        "-font",
        "DejaVu-Sans-Condensed-Oblique",
        "-pointsize",
        "30",
    ];

    let untouched = scratch.path("untouched.pdf");
    img2pdf(&pages, &untouched);
    let struck_and_written = {
        let mut draw = vec![
            "-stroke",
            "black",
            "-strokewidth",
            "4",
            "-draw",
            &strike,
            "-stroke",
            "none",
        ];
        draw.extend(pen);
        let at = write(left + px(110.0));
        draw.extend(["-annotate", &at, "Daniel Okoro"]);
        with_pen(&scratch, &pages, "struck", &draw)
    };
    let covered_and_written = {
        let cover = format!(
            "rectangle {},{} {},{}",
            left + px(2.0),
            top + px(4.0),
            left + px(90.0),
            bottom - px(4.0)
        );
        let mut draw = vec!["-fill", "white", "-draw", &cover];
        draw.extend(pen);
        let at = write(left + px(6.0));
        draw.extend(["-annotate", &at, "Daniel Okoro"]);
        with_pen(&scratch, &pages, "covered", &draw)
    };
    // Her own name written again beside the printed one: not another person,
    // but not what was issued either, and only a person can tell; the office
    // looks at it rather than aup guessing.
    let written_again = {
        let mut draw: Vec<&str> = pen.to_vec();
        let at = write(left + px(110.0));
        draw.extend(["-annotate", &at, "Amelia Hart"]);
        with_pen(&scratch, &pages, "again", &draw)
    };

    // A signature that runs long, down from its box into the name box beside
    // the name: her signature, not writing in the name box.
    let flourish = {
        let tail = format!(
            "polyline {},{} {},{} {},{}",
            left + px(200.0),
            top - px(20.0),
            left + px(215.0),
            top + px(18.0),
            left + px(235.0),
            top - px(22.0)
        );
        let draw = [
            "-fill",
            "none",
            "-stroke",
            "#202040",
            "-strokewidth",
            "4",
            "-draw",
            &tail,
        ];
        with_pen(&scratch, &pages, "flourish", &draw)
    };

    for file in [&untouched, &flourish] {
        let report = verify(&scratch, file);
        assert_eq!(
            report["verdict"],
            "accepted",
            "{}: {report:#}",
            file.display()
        );
    }
    for (what, file) in [
        ("struck out, another name beside", &struck_and_written),
        ("covered, another name over it", &covered_and_written),
        ("her name written again beside", &written_again),
    ] {
        let report = verify(&scratch, file);
        assert_eq!(report["verdict"], "incomplete", "{what}: {report:#}");
        assert_eq!(report["missing"], serde_json::json!(["name"]), "{what}");
        assert!(
            report["reason"]
                .as_str()
                .unwrap()
                .ends_with("the name box does not show the name it was issued with: check by eye"),
            "{what}: {report:#}"
        );
    }
}
