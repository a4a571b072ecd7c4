//! A class's photo consents, from paper to the teacher's sheet: Pakeman sends
//! the parents' AUP home with a class of 30; parents sign and tick Yes or No
//! for each consent, as parents do (a tick, a cross, both boxes, neither, a
//! tick struck out, a box scribbled over); the office scans the piles on the
//! copier, grey and black-and-white, and ingests them. The consent register
//! then says, for each pupil and consent, exactly what the paper says, with
//! `unclear` where it is not one answer and "not returned" for a form that did
//! not come back signed; and when the office settles an unclear answer on the
//! Consents page, the register says so.

mod common;
mod office;
mod scan;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::Scratch;
use scan::TickMark::{self, Cross, CrossedOut, Scribble, Tick};

const CONSENTS: [&str; 4] = ["displays", "website", "social-media", "press"];

const FIRST_NAMES: [&str; 30] = [
    "Aisha", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Harry", "Isla", "Jack", "Kai",
    "Layla", "Mia", "Noah", "Olivia", "Priya", "Quinn", "Ruby", "Sam", "Tia", "Umar", "Violet",
    "Will", "Xena", "Yusuf", "Zara", "Alfie", "Bea", "Cody", "Daisy",
];

/// What a parent put in one consent's boxes: (Yes box, No box).
type Marks = (Option<TickMark>, Option<TickMark>);

/// The marks on pupil `i`'s form for consent `j`, and the answer the register
/// must show. Most are clear; five are not.
fn marks(i: usize, j: usize) -> (Marks, &'static str) {
    match (i, j) {
        (3, 1) => ((Some(Tick), Some(Tick)), "unclear"),
        // Left empty: No, as the form says.
        (7, 0) => ((None, None), "no"),
        (11, 2) => ((Some(CrossedOut), Some(Tick)), "unclear"),
        (15, 3) => ((Some(Scribble), None), "unclear"),
        (19, 1) => ((Some(CrossedOut), None), "unclear"),
        (22, 0) => ((Some(Cross), Some(Tick)), "unclear"),
        _ => match (i + j) % 4 {
            0 => ((Some(Tick), None), "yes"),
            1 => ((None, Some(Tick)), "no"),
            2 => ((Some(Cross), None), "yes"),
            _ => ((None, Some(Cross)), "no"),
        },
    }
}

/// Pupils 0-26 come back signed; 27 comes back without the parent's
/// signature; 28 and 29 do not come back.
const SIGNED: usize = 27;
const UNSIGNED: usize = 27;

fn class_of_30() -> Scratch {
    class_of(30)
}

/// Pakeman with the staff and parents' AUPs and a class 4B of `pupils`.
fn class_of(pupils: usize) -> Scratch {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nA1,Grace,Adeyemi,Teacher\n",
    );
    let yaml = scratch.path("schools/pakeman.yaml");
    let mut text = std::fs::read_to_string(&yaml).unwrap();
    text.push_str("\naups: [staff, parents]\n");
    std::fs::write(&yaml, text).unwrap();
    // Bromcom's spelling of a class list.
    let mut list = String::from(
        "Forename,Surname,Preferred Name,Registration Group,Year,Admission Number,\
         Contact 1 Name,Contact 1 Relationship,Contact 1 Email,Class Teacher\n",
    );
    for (i, first) in FIRST_NAMES.iter().enumerate().take(pupils) {
        list.push_str(&format!(
            "{first},Pupil{i:02},,4B,Year 4,{:04},Parent of {first},Mother,p{i}@home.example,Ms Okoye\n",
            1000 + i
        ));
    }
    scratch.write("schools/pakeman.pupils.csv", &list);
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    scratch
}

/// `form` filled in and signed in a reader, as pypdf saves it (an incremental
/// update): the parent's name and date, a drawn signature, and each check box
/// in `ticked` ticked.
fn filled_in_a_reader(scratch: &Scratch, form: &Path, ticked: &[&str]) -> PathBuf {
    let filled = scratch.path("filled.pdf");
    let mut args: Vec<String> = [
        form.to_str().unwrap(),
        filled.to_str().unwrap(),
        "ink",
        "incremental",
        "@box=parent_signature",
        "parent_name=Parent of Aisha",
        "parent_date=3 September 2025",
    ]
    .map(String::from)
    .to_vec();
    args.extend(ticked.iter().map(|field| format!("{field}=/Yes")));
    common::python("draw.py", &args);
    filled
}

fn parents_form(scratch: &Scratch, i: usize) -> PathBuf {
    let dir = scratch.path("out/pakeman/2025-26/parents/forms");
    let wanted = format!("pupil{i:02}");
    common::file_names(&dir)
        .into_iter()
        .find(|name| name.contains(&wanted))
        .map(|name| dir.join(name))
        .unwrap_or_else(|| panic!("no parents' form for pupil {i} in {}", dir.display()))
}

/// Pupil `i`'s form as their parent filled it in, printed and marked at `dpi`.
fn filled_in(scratch: &Scratch, i: usize, dpi: f32) -> Vec<image::GrayImage> {
    let pdf = parents_form(scratch, i);
    let written: &[&str] = match i {
        UNSIGNED => &["parent_name", "parent_date"],
        _ => &["parent_signature", "parent_name", "parent_date"],
    };
    let archive = scratch.path("archive");
    let mut pages = scan::paper_written(&archive, &pdf, dpi, written);
    let mut ticks = Vec::new();
    for (j, consent) in CONSENTS.iter().enumerate() {
        let ((yes, no), _) = marks(i, j);
        if let Some(mark) = yes {
            ticks.push((format!("consent_{consent}_yes"), mark));
        }
        if let Some(mark) = no {
            ticks.push((format!("consent_{consent}_no"), mark));
        }
    }
    scan::tick(&archive, &pdf, dpi, &mut pages, &ticks);
    pages
}

/// The register the paper should give: pupil name → answers in CONSENTS order.
fn expected() -> BTreeMap<String, Vec<&'static str>> {
    (0..30)
        .map(|i| {
            let answers = (0..CONSENTS.len())
                .map(|j| match i {
                    i if i < SIGNED => marks(i, j).1,
                    _ => "not returned",
                })
                .collect();
            (format!("{} Pupil{i:02}", FIRST_NAMES[i]), answers)
        })
        .collect()
}

/// `aup consents` for Pakeman's 2025-26, with `extra`: what it printed.
fn consents(scratch: &Scratch, extra: &[&str]) -> String {
    let mut args = vec!["consents", "--school", "pakeman", "--year", "2025-26"];
    args.extend(extra);
    scratch.aup(&args).success().stdout()
}

fn register_json(scratch: &Scratch) -> Vec<serde_json::Value> {
    let out = consents(scratch, &["--class", "4b", "--format", "json"]);
    serde_json::from_str::<Vec<serde_json::Value>>(&out).unwrap()
}

fn answers_of(rows: &[serde_json::Value]) -> BTreeMap<String, Vec<String>> {
    rows.iter()
        .map(|row| {
            (
                row["pupil"].as_str().unwrap().to_owned(),
                row["consents"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["answer"].as_str().unwrap().replace('_', " "))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn a_class_of_30_returned_on_paper_gives_the_consent_register_the_paper_says() {
    let scratch = class_of_30();
    // The print file starts with the class's cover sheet and its blank back,
    // then each form on its own sheets.
    let print_all = scratch.path("out/pakeman/2025-26/parents/print-all.pdf");
    assert_eq!(
        lopdf::Document::load(&print_all).unwrap().get_pages().len(),
        2 + 30 * 2
    );
    let cover = common::run_tool(
        "pdftotext",
        &["-f", "1", "-l", "1", print_all.to_str().unwrap(), "-"].map(std::ffi::OsStr::new),
    );
    for words in [
        "Class 4B",
        "30 forms for parents and carers, each with a pupil's name on it",
        "Teacher: Ms Okoye",
    ] {
        assert!(cover.contains(words), "{words}: {cover}");
    }
    // Three piles, as the copier makes them: grey at 200 dpi and at 300 dpi,
    // and black and white (CCITT G4) at 200 dpi.
    let piles: [(std::ops::Range<usize>, f32, bool); 3] = [
        (0..10, 200.0, false),
        (10..19, 300.0, false),
        (19..28, 200.0, true),
    ];
    for (n, (pupils, dpi, one_bit)) in piles.into_iter().enumerate() {
        let pages: Vec<image::GrayImage> =
            pupils.flat_map(|i| filled_in(&scratch, i, dpi)).collect();
        let scanned = scratch.path(&format!("pile-{n}.pdf"));
        match one_bit {
            true => scan::g4_pdf(&pages, dpi, &scanned),
            false => scan::img2pdf(&pages, dpi, &scanned),
        }
        std::fs::rename(&scanned, scratch.path(&format!("inbox/pile-{n}.pdf"))).unwrap();
    }
    let outcomes = scratch.ingest_json();
    let forms: Vec<&serde_json::Value> = outcomes
        .iter()
        .filter(|o| o["form_id"].is_string())
        .collect();
    assert_eq!(forms.len(), 28, "{outcomes:#?}");
    let unsigned = forms.iter().find(|o| o["person"] == "Bea Pupil27").unwrap();
    assert_eq!(unsigned["verdict"], "incomplete", "{unsigned:#}");
    assert_eq!(
        unsigned["missing"],
        serde_json::json!(["parent's signature"])
    );
    assert!(
        forms.iter().filter(|o| o["verdict"] == "accepted").count() == 27,
        "{forms:#?}"
    );
    // The ingest says how it read each answer.
    let crossed = forms
        .iter()
        .find(|o| o["person"] == "Priya Pupil15")
        .unwrap();
    let press = crossed["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["consent"] == "press")
        .unwrap();
    assert_eq!(press["answer"], "unclear", "{press}");
    assert!(
        press["how"]
            .as_str()
            .unwrap()
            .starts_with("the Yes box is filled in or scribbled over"),
        "{press}"
    );

    // JSON: every pupil's every answer is what the paper says.
    let rows = register_json(&scratch);
    assert_eq!(rows.len(), 30);
    let want = expected();
    let got = answers_of(&rows);
    for (pupil, answers) in &want {
        assert_eq!(
            got.get(pupil)
                .map(|a| a.iter().map(String::as_str).collect::<Vec<_>>()),
            Some(answers.clone()),
            "{pupil}: {:#}",
            rows.iter().find(|r| r["pupil"] == pupil.as_str()).unwrap()
        );
    }

    // CSV: the same, a column per consent.
    let csv = consents(&scratch, &["--class", "4B", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "school",
            "year",
            "class",
            "pupil",
            "form_id",
            "displays",
            "website",
            "social-media",
            "press",
            "received_on",
            "method"
        ]
    );
    let mut seen = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let answers: Vec<&str> = (5..9).map(|c| &record[c]).collect();
        assert_eq!(answers, want[&record[3]], "{record:?}");
        assert_eq!(&record[2], "4B");
        seen += 1;
    }
    assert_eq!(seen, 30);

    // The table: each consent's counts, from the same answers.
    let table = consents(&scratch, &[]);
    assert!(
        table.contains("class 4B (30 pupils, 27 returned)"),
        "{table}"
    );
    for (j, consent) in CONSENTS.iter().enumerate() {
        let count = |word: &str| want.values().filter(|a| a[j] == word).count();
        let line = format!(
            "  {consent}: {} yes; {} may not ({} no, {} not returned, {} unclear)",
            count("yes"),
            30 - count("yes"),
            count("no"),
            count("not returned"),
            count("unclear")
        );
        assert!(table.contains(&line), "{line}\n{table}");
    }

    // The printed class sheet: Chromium prints it, poppler reads it back.
    let sheet = scratch.path("sheet.html");
    consents(
        &scratch,
        &["--format", "html", "--out", sheet.to_str().unwrap()],
    );
    let printed = scratch.path("sheet.pdf");
    let status = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--print-to-pdf={}", printed.display()))
        .arg(format!("file://{}", sheet.display()))
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let text = common::pdftotext(&printed);
    assert!(
        text.contains("Class 4B: photo and video consents"),
        "{text}"
    );
    assert!(
        text.contains("Photos and videos of my child may appear on the school website."),
        "{text}"
    );
    assert!(
        text.contains("Daisy Pupil29") && text.contains("not returned"),
        "{text}"
    );

    // The office settles Dev's website answer (both boxes ticked) on the page.
    office::add_user(&scratch, "office", "office", &[]);
    let server = office::Server::start(&scratch, &[]);
    let shots = common::repo().join("target/test-artefacts/consents");
    std::fs::create_dir_all(&shots).unwrap();
    let said = common::python(
        "consents_in_chromium.py",
        &[
            server.url.as_str(),
            "/school/pakeman/2025-26/consents?class=4B",
            "website",
            "Dev Pupil03",
            shots.to_str().unwrap(),
        ],
    );
    assert!(said.contains("settled"), "{said}");
    let rows = register_json(&scratch);
    let dev = rows.iter().find(|r| r["pupil"] == "Dev Pupil03").unwrap();
    assert_eq!(dev["consents"][1]["answer"], "yes", "{dev:#}");
    assert_eq!(dev["consents"][1]["settled_by"], "office", "{dev:#}");
    let audit = common::sqlite(
        &scratch.path("archive"),
        "SELECT detail FROM audit WHERE action = 'consent'",
    );
    assert!(
        audit.contains("consent website settled as yes by office; it was read as unclear: both boxes are ticked"),
        "{audit}"
    );
    scratch.aup(&["audit", "verify"]).success();
}

#[test]
fn a_parent_signs_on_a_phone_and_answers_each_consent() {
    let scratch = class_of(3);
    scratch
        .aup(&["seal", "init", "--school", "pakeman"])
        .success();
    let server = office::Server::start(&scratch, &["--out", "out"]);
    // A pupils' AUP that two people sign has no links: it is signed on paper.
    let refused = scratch
        .aup(&[
            "links",
            "--school",
            "pakeman",
            "--year",
            "2025-26",
            "--public-url",
            &server.url,
            "--aup",
            "ks2",
        ])
        .failure();
    assert!(
        refused.contains("the ks2 AUP is signed on paper"),
        "{refused}"
    );
    let links = scratch
        .aup(&[
            "links",
            "--school",
            "pakeman",
            "--year",
            "2025-26",
            "--expires",
            "2027-08-31",
            "--public-url",
            &server.url,
            "--aup",
            "parents",
            "--format",
            "json",
        ])
        .success()
        .json_lines();
    assert_eq!(links.len(), 3, "{links:#?}");
    let ben = links.iter().find(|l| l["name"] == "Ben Pupil01").unwrap();
    assert_eq!(
        ben["email"], "p1@home.example",
        "the link goes to the parent"
    );
    let link = ben["link"].as_str().unwrap();

    // The page says whose child it is and asks each consent, in the school's words.
    let page = office::Client::anonymous(&server).get(link.strip_prefix(&server.url).unwrap());
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("For the parent or carer of Ben Pupil01 (class 4B)."),
        "{html}"
    );
    assert!(html.contains("Photos and videos of my child may appear on the school website."));
    assert_eq!(html.matches("type=\"radio\"").count(), 8, "{html}");

    let shots = common::repo().join("target/test-artefacts/consents-online");
    std::fs::create_dir_all(&shots).unwrap();
    let seen = common::python(
        "sign_in_chromium.py",
        &[
            link,
            "drawn",
            "Parent of Ben",
            shots.to_str().unwrap(),
            "Parent of Ben",
            "displays=yes,website=no,social-media=no,press=yes",
        ],
    );
    assert!(seen.contains("after submit: Signed"), "{seen}");
    assert!(seen.contains("axe: 0 violations"), "{seen}");
    office::wait_until(
        &scratch,
        "SELECT COUNT(*) FROM returns WHERE verdict = 'accepted' AND method = 'online'",
        1,
        std::time::Duration::from_secs(60),
    );
    let rows = register_json(&scratch);
    let row = rows.iter().find(|r| r["pupil"] == "Ben Pupil01").unwrap();
    assert_eq!(row["method"], "online", "{row:#}");
    let answers: Vec<&str> = row["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["answer"].as_str().unwrap())
        .collect();
    assert_eq!(answers, ["yes", "no", "no", "yes"], "{row:#}");
    assert!(
        row["consents"][0]["how"]
            .as_str()
            .unwrap()
            .starts_with("the Yes check box is ticked"),
        "{row:#}"
    );
    let status = scratch
        .aup(&["status", "--aup", "parents", "--year", "2025-26", "--json"])
        .success()
        .json_lines();
    let ben = status.iter().find(|r| r["name"] == "Ben Pupil01").unwrap();
    assert_eq!(ben["state"], "signed", "{ben:#}");

    // The signed copy: the school's seal holds for pyHanko, poppler shows the
    // ticks, and verify reads the same answers.
    let copy = scratch.path("signed.pdf");
    let pdf = office::Client::anonymous(&server).get(&format!(
        "{}/signed.pdf",
        link.strip_prefix(&server.url).unwrap()
    ));
    assert_eq!(pdf.status, 200);
    std::fs::write(&copy, &pdf.body).unwrap();
    assert!(
        common::pyhanko_intact(&copy),
        "pyHanko: the seal does not hold"
    );
    let verify = scratch
        .aup(&["verify", "--json", copy.to_str().unwrap()])
        .success();
    let report: serde_json::Value = serde_json::from_str(&verify.stdout()).unwrap();
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    assert_eq!(report["consents"][3]["answer"], "yes", "{report:#}");
    let fields = common::python("fields.py", &[&copy]);
    let fields: serde_json::Value = serde_json::from_str(&fields).unwrap();
    let value = |name: &str| {
        fields["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["value"].clone())
            .unwrap_or_default()
    };
    assert_eq!(value("consent_displays_yes"), "/Yes", "{fields:#}");
    assert_eq!(value("consent_website_no"), "/Yes", "{fields:#}");
    assert_eq!(value("parent_name"), "Parent of Ben", "{fields:#}");
}

#[test]
fn a_pdf_return_ticked_in_a_reader_gives_its_answers_and_so_does_its_flattened_copy() {
    let scratch = class_of(2);
    // The forms and the print file with its class cover are PDF/UA-1 and PDF/A-2a.
    common::assert_pdf_ua_and_pdf_a(&scratch.path("out/pakeman/2025-26/parents"));
    let form = parents_form(&scratch, 0);
    // Filled in and signed in a reader, as pypdf saves it: the parent's name
    // and date, a drawn signature, one check box of each consent ticked.
    let filled = filled_in_a_reader(
        &scratch,
        &form,
        &[
            "consent_displays_yes",
            "consent_website_no",
            "consent_social-media_no",
            "consent_press_yes",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(
        &scratch
            .aup(&["verify", "--json", filled.to_str().unwrap()])
            .success()
            .stdout(),
    )
    .unwrap();
    assert_eq!(report["verdict"], "accepted", "{report:#}");
    let answers = |report: &serde_json::Value| -> Vec<String> {
        report["consents"]
            .as_array()
            .unwrap_or_else(|| panic!("no consents: {report:#}"))
            .iter()
            .map(|c| c["answer"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(answers(&report), ["yes", "no", "no", "yes"], "{report:#}");
    assert!(
        report["consents"][1]["how"]
            .as_str()
            .unwrap()
            .starts_with("the No check box is ticked"),
        "{report:#}"
    );
    // The same return with its fields and annotations flattened into the page
    // by qpdf: no check boxes left, so the ticks are read by their ink.
    let flat = scratch.path("flat.pdf");
    let run = std::process::Command::new("qpdf")
        .arg("--flatten-annotations=all")
        .arg(&filled)
        .arg(&flat)
        .output()
        .unwrap();
    // 3: done, with warnings.
    assert!(matches!(run.status.code(), Some(0 | 3)), "{run:?}");
    let report: serde_json::Value = serde_json::from_str(
        &scratch
            .aup(&["verify", "--json", flat.to_str().unwrap()])
            .stdout(),
    )
    .unwrap();
    assert_eq!(answers(&report), ["yes", "no", "no", "yes"], "{report:#}");
    assert!(
        report["consents"][0]["how"]
            .as_str()
            .unwrap()
            .starts_with("Yes is ticked"),
        "{report:#}"
    );
    // Filed, the register has the reader's answers.
    std::fs::copy(&filled, scratch.path("inbox/filled.pdf")).unwrap();
    scratch.ingest_json();
    let rows = register_json(&scratch);
    let aisha = rows.iter().find(|r| r["pupil"] == "Aisha Pupil00").unwrap();
    assert_eq!(aisha["method"], "pdf", "{aisha:#}");
    assert_eq!(aisha["consents"][3]["answer"], "yes", "{aisha:#}");
}

#[test]
fn hostile_and_tampered_parents_returns_are_never_accepted() {
    let scratch = class_of(1);
    let form = parents_form(&scratch, 0);
    let id = scan::form_id(&form);
    // Files that claim to be the parents' form and reach the digital checks
    // of a parent's boxes and consents.
    for (kind, file) in common::hostile_pdfs(&scratch.path(""), &id) {
        let run = scratch.aup(&["verify", "--json", file.to_str().unwrap()]);
        assert!(
            !run.stderr().contains("panicked"),
            "{kind}: {}",
            run.stderr()
        );
        assert!(
            matches!(run.code(), Some(1 | 3)),
            "{kind}: {}",
            run.stderr()
        );
    }
    // A return filled in a reader, then its first page (the consents) edited.
    let filled = filled_in_a_reader(&scratch, &form, &["consent_press_yes"]);
    let tampered = scratch.path("tampered.pdf");
    common::python(
        "tamper.py",
        &[filled.to_str().unwrap(), tampered.to_str().unwrap(), "1"],
    );
    let report: serde_json::Value = serde_json::from_str(
        &scratch
            .aup(&["verify", "--json", tampered.to_str().unwrap()])
            .stdout(),
    )
    .unwrap();
    assert_eq!(report["verdict"], "rejected", "{report:#}");
}
