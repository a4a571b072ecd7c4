//! Every AUP a school asks for: a primary lists the pupils' AUPs, the parents'
//! and the visitors' beside the staff one, puts its class list beside its
//! roster, and generates. Each policy prints the school's own settings for its
//! own readers; each class's forms carry the pupil's name and class; a KS2
//! class's paper returns, filled with pen by pupils and parents and scanned,
//! come back accepted, or incomplete naming the parent's missing signature;
//! and `aup status --aup` says so class by class.

mod common;
mod scan;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Scratch;

/// A class list as Arbor exports it: two Reception children, three in 4B
/// (one with a preferred name, one with two contacts), one in Year 8.
const CLASS_LIST: &str = "\
Legal Forename,Legal Surname,Preferred Forename,Reg Group,Year Group,UPN,\
Primary Contact Name,Primary Contact Relationship,Primary Contact Email,\
Secondary Contact Name,Secondary Contact Relationship,Secondary Contact Email
Mohammed,Khan,Mo,RH,Reception,A100000000001,Sara Khan,Mother,sara@home.example,,,
Lily,Evans,,RH,Reception,A100000000002,Ruth Evans,Mother,ruth@home.example,,,
Amelia,Hart,,4B,Year 4,A100000000003,Tom Hart,Father,tom@home.example,Jo Hart,Mother,jo@home.example
Oluwaseun,Okafor,Seun,4B,Year 4,A100000000004,Ada Okafor,Mother,ada@home.example,,,
Chloe,Price,,4B,Year 4,A100000000005,Dan Price,Father,dan@home.example,,,
Priya,Shah,,8NR,Year 8,A100000000006,Anil Shah,Father,anil@home.example,,,
";

/// Pakeman using every AUP, with its class list, generated for 2025-26.
fn primary_with_every_aup() -> Scratch {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nA1,Grace,Adeyemi,Teacher\n",
    );
    let yaml = scratch.path("schools/pakeman.yaml");
    let mut text = std::fs::read_to_string(&yaml).unwrap();
    text.push_str(
        "\naups: [staff, eyfs-ks1, ks2, ks3-4, parents, visitors]\n\
         dsl:\n  name: Dawn Ellis\n\
         aup_options:\n  visitors:\n    blank_forms: 2\n",
    );
    std::fs::write(&yaml, text).unwrap();
    scratch.write("schools/pakeman.pupils.csv", CLASS_LIST);
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    scratch
}

fn year_dir(scratch: &Scratch) -> PathBuf {
    scratch.path("out/pakeman/2025-26")
}

fn page_count(pdf: &Path) -> usize {
    lopdf::Document::load(pdf).unwrap().get_pages().len()
}

fn forms_of(scratch: &Scratch, aup: &str) -> Vec<PathBuf> {
    let dir = year_dir(scratch).join(aup).join("forms");
    common::file_names(&dir)
        .into_iter()
        .map(|name| dir.join(name))
        .collect()
}

/// The QR payloads zbarimg reads on each page of `pdf` rendered at 150 dpi,
/// the least a copier scans at. (At 100 dpi zbar misses all three codes of
/// some pages: which ones depends on the payload, so on the policy version.)
fn codes_per_page(pdf: &Path) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("pdftoppm")
        .args(["-gray", "-png", "-r", "150"])
        .arg(pdf)
        .arg(dir.path().join("p"))
        .status()
        .unwrap();
    assert!(status.success());
    common::file_names(dir.path())
        .into_iter()
        .map(|png| {
            let output = Command::new("zbarimg")
                .args(["--raw", "-q"])
                .arg(dir.path().join(png))
                .output()
                .expect("zbarimg (zbar-tools)");
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

#[test]
fn each_aup_prints_the_schools_settings_for_its_own_readers() {
    let scratch = primary_with_every_aup();
    let dir = year_dir(&scratch);
    let text = |aup: &str| common::pdftotext(&dir.join(format!("pakeman-{aup}-aup.pdf")));
    for aup in ["eyfs-ks1", "ks2", "ks3-4", "parents", "visitors"] {
        let words = text(aup);
        assert!(words.contains("Pakeman Primary School"), "{aup}: {words}");
        // No staff duties in any AUP but the staff one.
        for staff_words in ["disciplinary", "SLT approval", "remote teaching", "staff"] {
            assert!(
                !words.contains(staff_words),
                "{aup} has the staff AUP's `{staff_words}`:\n{words}"
            );
        }
    }
    assert!(text("eyfs-ks1").contains("EARLY YEARS AND KEY STAGE 1"));
    assert!(text("eyfs-ks1").contains("I will keep my passwords a secret"));
    assert!(text("ks2").contains("KEY STAGE 2"));
    assert!(text("ks2").contains("Dawn Ellis or my teacher"));
    assert!(text("ks3-4").contains("the Designated Safeguarding Lead (Dawn Ellis)"));
    assert!(text("ks3-4").contains("E.Safety policy"));
    let parents = text("parents");
    assert!(parents.contains("RSE curriculum"), "{parents}");
    for question in [
        "displays inside the school",
        "on the school website",
        "on the school's social media",
        "in the local press",
    ] {
        assert!(
            parents.contains(question),
            "{question} not asked:\n{parents}"
        );
    }
    assert!(parents.contains("Emma Bonnin, Headteacher"), "{parents}");
    // The youngest pupils' AUP and the visitors' promise one page.
    assert_eq!(page_count(&dir.join("pakeman-eyfs-ks1-aup.pdf")), 1);
    assert_eq!(page_count(&dir.join("pakeman-visitors-aup.pdf")), 1);
}

#[test]
fn a_secondary_that_says_students_says_it_throughout_the_ks3_4_aup() {
    let scratch = Scratch::pakeman_with_roster("Staff Code,Forename,Surname,Job Title\n");
    let yaml = scratch.path("schools/pakeman.yaml");
    let text = std::fs::read_to_string(&yaml)
        .unwrap()
        .replace("learners: pupils/students", "learners: students");
    std::fs::write(&yaml, text + "\naups: [ks3-4]\n").unwrap();
    scratch.write("schools/pakeman.pupils.csv", CLASS_LIST);
    let run = scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    // Only the AUP the school lists is made.
    assert!(run.stderr().contains("pakeman ks3-4"), "{}", run.stderr());
    assert!(
        !scratch
            .path("out/pakeman/2025-26/pakeman-staff-aup.pdf")
            .exists()
    );
    let words = common::pdftotext(&scratch.path("out/pakeman/2025-26/pakeman-ks3-4-aup.pdf"));
    assert!(words.contains("STUDENTS IN KEY STAGES 3 AND 4"), "{words}");
    assert!(words.contains("every student"), "{words}");
    assert!(words.contains("Student’s signature"), "{words}");
    assert!(!words.to_lowercase().contains("pupil"), "{words}");
    // Priya (Year 8) alone is in Key Stages 3 and 4.
    let forms = forms_of(&scratch, "ks3-4");
    assert_eq!(forms.len(), 1, "{forms:?}");
    let form = common::pdftotext(&forms[0]);
    assert!(
        form.contains("Priya Shah") && form.contains("8NR"),
        "{form}"
    );
}

#[test]
fn personal_forms_carry_the_pupil_and_class_with_codes_on_every_page_and_boxes_inside_it() {
    let scratch = primary_with_every_aup();
    // Reception to EYFS/KS1, 4B to KS2, Year 8 to KS3/4; a parents' form for
    // each child; the visitors' blank forms.
    let counts: Vec<usize> = ["eyfs-ks1", "ks2", "ks3-4", "parents", "visitors"]
        .iter()
        .map(|aup| forms_of(&scratch, aup).len())
        .collect();
    assert_eq!(counts, [2, 3, 1, 6, 2]);
    let seun = forms_of(&scratch, "ks2")
        .into_iter()
        .find(|f| f.to_string_lossy().contains("seun-okafor"))
        .expect("the preferred name names the file");
    let words = common::pdftotext(&seun);
    assert!(
        words.contains("Seun Okafor") && words.contains("4B"),
        "{words}"
    );
    let archive = aup::archive::Archive::open(&scratch.path("archive")).unwrap();
    for aup in ["eyfs-ks1", "ks2", "ks3-4", "parents", "visitors"] {
        for pdf in forms_of(&scratch, aup) {
            let id = scan::form_id(&pdf);
            let codes = codes_per_page(&pdf);
            let pages = codes.len();
            for (i, page) in codes.iter().enumerate() {
                let identified = page
                    .iter()
                    .filter_map(|c| aup::form::PagePayload::decode(c).ok())
                    .filter(|p| p.form.as_str() == id)
                    .map(|p| (p.page as usize, p.pages as usize))
                    .collect::<Vec<_>>();
                assert!(
                    !identified.is_empty() && identified.iter().all(|&p| p == (i + 1, pages)),
                    "{aup} {id} page {}: codes {page:?}",
                    i + 1
                );
            }
            let form = archive.issued(&id).unwrap().unwrap();
            for b in &form.boxes {
                let (w, h) = form.page_sizes[b.page - 1];
                assert!(
                    b.rect.x0 >= 0.0 && b.rect.y0 >= 0.0 && b.rect.x1 <= w && b.rect.y1 <= h,
                    "{aup} {id}: {} outside its page",
                    b.name
                );
            }
        }
    }
    for one_page in ["eyfs-ks1", "visitors"] {
        for pdf in forms_of(&scratch, one_page) {
            assert_eq!(page_count(&pdf), 1, "{}", pdf.display());
        }
    }
}

/// A KS2 form filled on paper: the pupil's and the parent's boxes named.
fn ks2_paper(scratch: &Scratch, who: &str, fields: &[&str], dpi: f32) -> Vec<image::GrayImage> {
    let pdf = forms_of(scratch, "ks2")
        .into_iter()
        .find(|f| f.to_string_lossy().contains(who))
        .unwrap();
    scan::paper_written(&scratch.path("archive"), &pdf, dpi, fields)
}

const BOTH_SIGNED: [&str; 5] = [
    "pupil_signature",
    "pupil_date",
    "parent_signature",
    "parent_name",
    "parent_date",
];

#[test]
fn a_ks2_class_returned_on_paper_is_read_for_both_signatures_and_status_says_so_by_class() {
    let scratch = primary_with_every_aup();
    // Amelia and her parent sign everything, scanned in grey at 200 dpi.
    scan::img2pdf(
        &ks2_paper(&scratch, "amelia-hart", &BOTH_SIGNED, 200.0),
        200.0,
        &scratch.path("inbox/amelia.pdf"),
    );
    // Seun signs, his parent writes the name and date but does not sign:
    // scanned by a copier in black and white (1-bit) at 300 dpi.
    let pages = ks2_paper(
        &scratch,
        "seun-okafor",
        &[
            "pupil_signature",
            "pupil_date",
            "parent_name",
            "parent_date",
        ],
        300.0,
    );
    // The copier's scan to folder writes into the inbox, outside it first.
    let scanned = scratch.path("seun.pdf");
    scan::g4_pdf(&pages, 300.0, &scanned);
    std::fs::rename(&scanned, scratch.path("inbox/seun.pdf")).unwrap();

    let outcomes = scratch.ingest_json();
    let of = |who: &str| {
        outcomes
            .iter()
            .find(|o| o["person"] == who)
            .unwrap_or_else(|| panic!("no outcome for {who}: {outcomes:#?}"))
    };
    assert_eq!(of("Amelia Hart")["verdict"], "accepted", "{outcomes:#?}");
    let seun = of("Seun Okafor");
    assert_eq!(seun["verdict"], "incomplete", "{seun:#}");
    assert_eq!(
        seun["missing"],
        serde_json::json!(["parent's signature"]),
        "{seun:#}"
    );

    let rows = scratch
        .aup(&["status", "--aup", "ks2", "--year", "2025-26", "--json"])
        .success()
        .json_lines();
    let state = |who: &str| {
        rows.iter()
            .find(|r| r["name"] == who)
            .unwrap_or_else(|| panic!("{who} not in {rows:#?}"))["state"]
            .clone()
    };
    assert_eq!(rows.len(), 3, "the three pupils of 4B: {rows:#?}");
    assert_eq!(state("Amelia Hart"), "signed");
    assert_eq!(state("Seun Okafor"), "incomplete");
    assert_eq!(state("Chloe Price"), "outstanding");
    assert!(
        rows.iter()
            .all(|r| r["class"] == "4B" && r["year_group"] == "Year 4" && r["aup"] == "ks2")
    );
    // The staff AUP's status is untouched by pupils' returns.
    let staff = scratch
        .aup(&["status", "--year", "2025-26", "--json"])
        .success()
        .json_lines();
    assert_eq!(staff.len(), 1, "{staff:#?}");
    assert_eq!(staff[0]["name"], "Grace Adeyemi");
    // The table is headed by class, with totals per year group.
    let table = scratch
        .aup(&[
            "status", "--aup", "ks2", "--year", "2025-26", "--class", "4b",
        ])
        .success()
        .stdout();
    assert!(table.contains("pakeman 2025-26 ks2, class 4B"), "{table}");
    assert!(
        table.contains("Year 4: 3 people: 1 signed, 1 incomplete, 0 outdated, 1 outstanding"),
        "{table}"
    );
    let csv = scratch
        .aup(&[
            "status", "--aup", "ks2", "--year", "2025-26", "--format", "csv",
        ])
        .success()
        .stdout();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",aup,class,year_group"),
        "{csv}"
    );
    assert!(csv.contains("Seun Okafor,4B,incomplete"), "{csv}");
}

#[test]
fn an_eyfs_form_is_signed_by_the_parent_alone() {
    let scratch = primary_with_every_aup();
    let pdf = forms_of(&scratch, "eyfs-ks1")
        .into_iter()
        .find(|f| f.to_string_lossy().contains("mo-khan"))
        .unwrap();
    let pages = scan::paper_written(
        &scratch.path("archive"),
        &pdf,
        200.0,
        &["parent_signature", "parent_name", "parent_date"],
    );
    scan::img2pdf(&pages, 200.0, &scratch.path("inbox/mo.pdf"));
    // Lily's parent signs but leaves the date empty.
    let lily = forms_of(&scratch, "eyfs-ks1")
        .into_iter()
        .find(|f| f.to_string_lossy().contains("lily-evans"))
        .unwrap();
    let pages = scan::paper_written(
        &scratch.path("archive"),
        &lily,
        200.0,
        &["parent_signature", "parent_name"],
    );
    scan::img2pdf(&pages, 200.0, &scratch.path("inbox/lily.pdf"));
    let outcomes = scratch.ingest_json();
    let of = |who: &str| outcomes.iter().find(|o| o["person"] == who).unwrap();
    assert_eq!(of("Mo Khan")["verdict"], "accepted", "{outcomes:#?}");
    assert_eq!(of("Lily Evans")["verdict"], "incomplete", "{outcomes:#?}");
    assert_eq!(
        of("Lily Evans")["missing"],
        serde_json::json!(["parent's date"])
    );
}

#[test]
fn aup_options_are_checked_where_the_file_has_them() {
    let scratch = Scratch::pakeman_with_roster("Staff Code,Forename,Surname,Job Title\n");
    let yaml = scratch.path("schools/pakeman.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(
        &yaml,
        text + "\naups: [staff, ks2, ks3-4]\n\
                aup_options:\n  ks2:\n    year_groups: [3, 4, 5, 6, 7]\n    clauses:\n      remove: [ask-frist]\n",
    )
    .unwrap();
    let errors = scratch.aup(&["check"]).failure();
    assert!(
        errors.contains(
            "`aup_options.ks2.year_groups`: Year 7 is given both the `ks2` and the `ks3-4` AUP"
        ),
        "{errors}"
    );
    assert!(
        errors.contains("`aup_options.ks2.clauses.remove[0]`: there is no clause `ask-frist`"),
        "{errors}"
    );
    assert!(errors.contains("did you mean `ask-first`?"), "{errors}");
    let clauses = scratch.aup(&["check", "--clauses"]).success().stdout();
    for aup in ["eyfs-ks1", "ks2", "ks3-4", "parents", "visitors"] {
        assert!(clauses.contains(&format!("\n{aup} (")), "{clauses}");
    }
    assert!(
        clauses.contains("ask-first age-limits passwords"),
        "{clauses}"
    );
}

/// Dark pixels of page `page` of `pdf`, rendered grey at 100 dpi by poppler,
/// inside `rect` (PDF points).
fn dark_pixels_in(pdf: &Path, page: usize, page_height: f64, rect: &aup::form::Rect) -> usize {
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
        .arg(pdf)
        .arg(dir.path().join("p"))
        .status()
        .unwrap();
    assert!(status.success());
    let png = dir.path().join(&common::file_names(dir.path())[0]);
    let image = image::open(png).unwrap().to_luma8();
    let scale = 100.0 / 72.0;
    // Inside the printed border: 1.5 pt in from each side.
    let (x0, x1) = ((rect.x0 + 1.5) * scale, (rect.x1 - 1.5) * scale);
    let (y0, y1) = (
        (page_height - rect.y1 + 1.5) * scale,
        (page_height - rect.y0 - 1.5) * scale,
    );
    let mut dark = 0;
    for y in y0 as u32..y1 as u32 {
        for x in x0 as u32..x1 as u32 {
            if image.get_pixel(x, y).0[0] < 128 {
                dark += 1;
            }
        }
    }
    dark
}

#[test]
fn a_parents_consents_are_check_boxes_a_pdf_reader_ticks_and_poppler_shows() {
    let scratch = primary_with_every_aup();
    let pdf = forms_of(&scratch, "parents")
        .into_iter()
        .find(|f| f.to_string_lossy().contains("amelia-hart"))
        .unwrap();
    let fields = common::python("fields.py", &[&pdf]);
    let fields: serde_json::Value = serde_json::from_str(&fields).unwrap();
    let kinds: Vec<(String, String)> = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"].as_str().unwrap().starts_with("consent_"))
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(kinds.len(), 8, "{kinds:?}");
    assert!(kinds.iter().all(|(_, kind)| kind == "/Btn"), "{kinds:?}");
    // pypdf ticks Yes for the website and No for the press, as a reader would.
    let filled = scratch.path("filled.pdf");
    common::python(
        "fill.py",
        &[
            pdf.as_os_str(),
            filled.as_os_str(),
            std::ffi::OsStr::new("consent_website_yes=/Yes"),
            std::ffi::OsStr::new("consent_press_no=/Yes"),
        ],
    );
    let archive = aup::archive::Archive::open(&scratch.path("archive")).unwrap();
    let form = archive.issued(&scan::form_id(&pdf)).unwrap().unwrap();
    let ink = |field: &str, file: &Path| {
        let b = form.boxes.iter().find(|b| b.name == field).unwrap();
        dark_pixels_in(file, b.page, form.page_sizes[b.page - 1].1, &b.rect)
    };
    for field in ["consent_website_yes", "consent_press_no"] {
        assert_eq!(
            ink(field, &pdf),
            0,
            "{field} is ticked before anyone ticks it"
        );
        assert!(ink(field, &filled) > 5, "{field}: poppler shows no tick");
    }
    for field in [
        "consent_website_no",
        "consent_press_yes",
        "consent_displays_yes",
    ] {
        assert_eq!(ink(field, &filled), 0, "{field} shows a tick nobody made");
    }
}

#[test]
fn a_ks2_pdf_return_needs_the_pupils_signature_beside_the_parents() {
    let scratch = primary_with_every_aup();
    let pdf = forms_of(&scratch, "ks2")
        .into_iter()
        .find(|f| f.to_string_lossy().contains("amelia-hart"))
        .unwrap();
    let verify = |file: &Path| -> serde_json::Value {
        serde_json::from_str(
            &scratch
                .aup(&["verify", "--json", file.to_str().unwrap()])
                .stdout(),
        )
        .unwrap()
    };
    // The parent signs in a reader and sends it back; the pupil has not.
    let parent = scratch.path("parent.pdf");
    common::python(
        "draw.py",
        &[
            pdf.to_str().unwrap(),
            parent.to_str().unwrap(),
            "ink",
            "incremental",
            "@box=parent_signature",
            "parent_name=Tom Hart",
            "parent_date=3 September 2025",
        ],
    );
    let report = verify(&parent);
    assert_eq!(report["verdict"], "incomplete", "{report:#}");
    assert_eq!(
        report["missing"],
        serde_json::json!(["pupil's signature", "pupil's date"]),
        "{report:#}"
    );
    // Then Amelia signs the same file.
    let both = scratch.path("both.pdf");
    common::python(
        "draw.py",
        &[
            parent.to_str().unwrap(),
            both.to_str().unwrap(),
            "ink",
            "incremental",
            "@box=pupil_signature",
            "pupil_date=4 September 2025",
        ],
    );
    let report = verify(&both);
    assert_eq!(report["verdict"], "accepted", "{report:#}");
}
