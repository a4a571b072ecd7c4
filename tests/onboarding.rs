//! A new school needs only YAML: schools unlike the seeds (a key-people table, a
//! different log, their own clauses, volunteers and visitors as the audience, a
//! scanned headteacher signature) are generated without touching the template.

mod common;

use common::{Scratch, pdftotext};

const OTHER_SCHOOL: &str = r#"# yaml-language-server: $schema=./school.schema.json
name: Hillside Community Primary School
short_name: Hillside
form_prefix: HIL
website: www.hillside.example.sch.uk
headteacher:
  name: Mr D Okafor
  title: Principal
dsl:
  name: Ms R Patel
audience: [volunteers, visitors]
commitments_of: [pupils, parents, volunteers]
live_lesson_log:
  name: the MyConcern log
  action: record incidents in
key_people:
  designated_safeguarding_lead: Ms R Patel
  deputy_dsls: [Mr T Jones, Mrs A Lee]
  safeguarding_link_governor: Dr S Green
  network_manager: Atlas IT Services
  reviewed: September 2025
  next_review: September 2026
clauses:
  remove: [remote-video, role-model-images]
  replace:
    lockdown-risks: At {short_name}, {pupils} learn online too; I will keep {log} up to date.
  add:
    - id: mobile-phones
      after: appropriate-use
      text: I will keep my mobile phone out of sight in classrooms and never photograph pupils.
    - id: smart-watches
      after: mobile-phones
      text: The same applies to smart watches.
      bullets: [No recording, No messaging during lessons]
    - id: remote-feedback
      after: remote-log
      text: I will give feedback to {pupils} only through the school platform.
approval:
  kind: headteacher
  date: 2025-09-03
  signature_image: hillside-signature.png
"#;

fn tiny_png() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 60, 20);
    encoder.set_color(png::ColorType::Grayscale);
    let mut writer = encoder.write_header().unwrap();
    let pixels: Vec<u8> = (0..60 * 20)
        .map(|i| if (i % 60) / 3 == (i / 60) { 0 } else { 255 })
        .collect();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    bytes
}

fn position_of(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the PDF:\n{text}"))
}

#[test]
fn a_school_unlike_the_seeds_needs_only_yaml() {
    let scratch = Scratch::empty();
    scratch.write("schools/hillside.yaml", OTHER_SCHOOL);
    std::fs::write(scratch.path("schools/hillside-signature.png"), tiny_png()).unwrap();
    scratch.aup(&["check"]).success();
    scratch.aup(&["generate", "--date", "2025-09-03"]).success();
    common::assert_pdf_ua_and_pdf_a(&scratch.path("out"));
    common::assert_even_word_gaps(&scratch.path("out"));
    let pdf = scratch.path("out/hillside/2025-26/hillside-staff-aup.pdf");
    let text = pdftotext(&pdf);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");

    // Title, audience and key people.
    assert!(flat.contains("VOLUNTEERS AND VISITORS"), "{flat}");
    assert!(
        flat.contains("All volunteers and visitors should read Hillside’s full"),
        "{flat}"
    );
    for cell in [
        "Mr T Jones, Mrs A Lee",
        "Dr S Green",
        "Atlas IT Services",
        "September 2026",
    ] {
        assert!(flat.contains(cell), "{cell} missing");
    }
    // Named DSL, principal, the log and the placeholders.
    assert!(flat.contains(
        "Designated Safeguarding Lead, Ms R Patel (if by a child) or Principal (if by an adult)."
    ));
    assert!(flat.contains("I will record incidents in the MyConcern log for live lessons"));
    assert!(flat.contains(
        "At Hillside, pupils learn online too; I will keep the MyConcern log up to date."
    ));
    // Removed clauses are gone, added ones sit where they were put, in order.
    assert!(!flat.contains("correctly dressed"));
    assert!(!flat.contains("not sharing other’s images"));
    let appropriate = position_of(&flat, "look after devices loaned to me.");
    let phones = position_of(&flat, "mobile phone out of sight");
    let watches = position_of(&flat, "The same applies to smart watches.");
    let extremism = position_of(&flat, "I will not support or promote extremist");
    assert!(appropriate < phones && phones < watches && watches < extremism);
    assert!(flat.contains("No recording"));
    let feedback = position_of(
        &flat,
        "I will give feedback to pupils only through the school platform.",
    );
    assert!(position_of(&flat, "MyConcern log for live lessons") < feedback);
    assert!(feedback < position_of(&flat, "I understand that I am a role model"));
    // Numbering follows the edits: 17 clauses, one removed from the top level? No:
    // two added at top level make 19 numbered clauses.
    assert!(text.contains("19."), "{text}");
    assert!(!text.contains("20."), "{text}");
    // The pre-approved block takes the headteacher's name and title by default.
    assert!(flat.contains("Name: Mr D Okafor"), "{flat}");
    assert!(flat.contains("Role: Principal"));
    assert!(flat.contains("Date: 3rd September 2025"));
    // The signature image is embedded as an image XObject.
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(
        bytes
            .windows(14)
            .any(|w| w == b"/Subtype/Image" || w == b"/Subtype /Imag")
    );
}

#[test]
fn init_writes_a_starter_that_passes_once_names_are_filled_in() {
    let scratch = Scratch::empty();
    scratch.aup(&["init", "st-marys"]).success();
    let path = scratch.path("schools/st-marys.yaml");
    let starter = std::fs::read_to_string(&path).unwrap();
    assert!(starter.starts_with("# yaml-language-server: $schema=./school.schema.json"));
    // Unfilled, it fails and says which names are missing.
    let err = scratch.aup(&["check", "st-marys"]).failure();
    assert!(
        err.contains("schools/st-marys.yaml:13:7: `name`: this cannot be blank"),
        "{err}"
    );
    assert!(
        err.contains("schools/st-marys.yaml:26:9: `headteacher.name`: this cannot be blank"),
        "{err}"
    );
    // Every setting is in it, set or commented out, so each can be found there.
    let schema: serde_json::Value =
        serde_json::from_str(&scratch.aup(&["schema"]).success().stdout()).unwrap();
    let mut absent = Vec::new();
    for (key, property) in schema["properties"].as_object().unwrap() {
        if !starter.contains(&format!("{key}:")) {
            absent.push(key.clone());
        }
        for nested in properties_of(&schema, property) {
            for child in nested.as_object().unwrap().keys() {
                if !starter.contains(&format!("{child}:")) {
                    absent.push(format!("{key}.{child}"));
                }
            }
        }
    }
    assert!(absent.is_empty(), "`aup init` leaves out {absent:?}");
    // A second init never overwrites it.
    let err = scratch.aup(&["init", "st-marys"]).failure();
    assert!(err.contains("already exists"), "{err}");
    // Filled in, it passes and generates.
    let filled = starter
        .replacen("name: \"\"", "name: St Mary’s Primary", 1)
        .replacen("  name: \"\"", "  name: Mrs K Brown", 1);
    std::fs::write(&path, filled).unwrap();
    scratch.aup(&["check", "st-marys"]).success();
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    assert!(
        scratch
            .path("out/st-marys/2025-26/st-marys-staff-aup.pdf")
            .is_file()
    );
    // A bad slug is refused before anything is written.
    let err = scratch.aup(&["init", "St Marys"]).failure();
    assert!(err.contains("is not a school slug"), "{err}");
}

#[test]
fn same_inputs_and_date_give_identical_bytes() {
    let scratch = Scratch::with_shipped_schools();
    // Compared as digests, so a failure prints something readable.
    let read_all = |scratch: &Scratch| -> Vec<String> {
        use sha2::Digest;
        ["pakeman", "st-margarets", "kensington"]
            .iter()
            .map(|s| {
                let bytes =
                    std::fs::read(scratch.path(&format!("out/{s}/2025-26/{s}-staff-aup.pdf")))
                        .unwrap();
                let digest = sha2::Sha256::digest(&bytes);
                format!(
                    "{s}: {}",
                    digest
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                )
            })
            .collect()
    };
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    let first = read_all(&scratch);
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    assert_eq!(first, read_all(&scratch));
    // SOURCE_DATE_EPOCH (2025-09-01T12:00:00Z) stands in for --date.
    scratch
        .aup_env(&["generate"], &[("SOURCE_DATE_EPOCH", "1756728000")])
        .success();
    assert_eq!(first, read_all(&scratch));
    // The policy document prints the academic year, not the day: another day of the
    // same year gives the same bytes.
    scratch.aup(&["generate", "--date", "2026-03-02"]).success();
    assert_eq!(first, read_all(&scratch));
}

#[test]
fn academic_year_defaults_from_the_date() {
    let scratch = Scratch::with_shipped_schools();
    let run = scratch
        .aup(&["generate", "--school", "pakeman", "--date", "2026-08-31"])
        .success();
    assert_eq!(
        run.stdout().lines().next().unwrap_or_default(),
        "out/pakeman/2025-26/pakeman-staff-aup.pdf"
    );
    let run = scratch
        .aup(&["generate", "--school", "pakeman", "--date", "2026-09-01"])
        .success();
    assert_eq!(
        run.stdout().lines().next().unwrap_or_default(),
        "out/pakeman/2026-27/pakeman-staff-aup.pdf"
    );
    let run = scratch
        .aup(&[
            "generate",
            "--school",
            "pakeman",
            "--year",
            "2024/25",
            "--date",
            "2026-09-01",
        ])
        .success();
    assert_eq!(
        run.stdout().lines().next().unwrap_or_default(),
        "out/pakeman/2024-25/pakeman-staff-aup.pdf"
    );
    // A date or year aup cannot read is a usage error: exit 2, saying how to
    // write it, before anything is generated.
    let err = scratch
        .aup(&["generate", "--year", "2024-26"])
        .usage_error();
    assert!(
        err.contains("an academic year runs into the next calendar year"),
        "{err}"
    );
    let err = scratch
        .aup(&["generate", "--date", "01/09/2025"])
        .usage_error();
    assert!(
        err.contains("`01/09/2025` is not a date: write it as YYYY-MM-DD"),
        "{err}"
    );
    let err = scratch.aup(&["status", "--year", "2025"]).usage_error();
    assert!(err.contains("is not an academic year"), "{err}");
}

#[test]
fn shipped_schema_matches_the_types_and_every_school_points_at_it() {
    let scratch = Scratch::empty();
    let printed = scratch.aup(&["schema"]).success().stdout();
    let shipped =
        std::fs::read_to_string(common::repo().join("schools/school.schema.json")).unwrap();
    assert_eq!(
        printed, shipped,
        "run `cargo run -- schema > schools/school.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .contains(&"name".into())
    );
    for entry in std::fs::read_dir(common::repo().join("schools")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with("# yaml-language-server: $schema=./school.schema.json\n"),
                "{} lacks the schema line",
                path.display()
            );
        }
    }
}

#[test]
fn a_wording_change_moves_the_older_versions_forms_out_of_forms() {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\nA2,Daniel,Okoro,TA\n",
    );
    let generate = || {
        scratch
            .aup(&["generate", "--json", "--date", "2025-09-01"])
            .success()
    };
    let first = generate().json_lines()[0].clone();
    let old_version = first["fingerprint"].as_str().unwrap()[..12].to_owned();
    let forms = scratch.path("out/pakeman/2025-26/forms");
    let listed = common::file_names;
    let old_forms = listed(&forms);
    let old_bytes: Vec<Vec<u8>> = old_forms
        .iter()
        .map(|name| std::fs::read(forms.join(name)).unwrap())
        .collect();

    // The same wording again: nothing moves.
    let again = generate();
    assert_eq!(again.json_lines()[0]["superseded"], serde_json::json!([]));
    assert!(!again.stderr().contains("moved"), "{}", again.stderr());

    let yaml = std::fs::read_to_string(scratch.path("schools/pakeman.yaml")).unwrap();
    scratch.write(
        "schools/pakeman.yaml",
        &yaml.replacen("name: ", "name: The ", 1),
    );
    let run = generate();
    let second = run.json_lines()[0].clone();
    assert_ne!(second["fingerprint"], first["fingerprint"]);
    assert!(
        run.stderr().contains(
            "2 forms of an older policy version moved out of forms/ to out/pakeman/2025-26/superseded"
        ),
        "{}",
        run.stderr()
    );
    // forms/ holds only this version's forms; the old ones are kept, unchanged.
    let new_ids: Vec<&str> = second["forms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["form_id"].as_str().unwrap())
        .collect();
    let now = listed(&forms);
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(
        now.iter()
            .all(|name| new_ids.iter().any(|id| name.starts_with(id)))
    );
    let superseded = scratch.path(&format!("out/pakeman/2025-26/superseded/{old_version}"));
    assert_eq!(listed(&superseded), old_forms);
    for (name, bytes) in old_forms.iter().zip(&old_bytes) {
        assert_eq!(
            &std::fs::read(superseded.join(name)).unwrap(),
            bytes,
            "{name}"
        );
    }
    assert_eq!(second["superseded"].as_array().unwrap().len(), 2);
    // A superseded form returned anyway is still recognised, and outdated.
    let returned = scratch.path("old-return.pdf");
    std::fs::copy(superseded.join(&old_forms[0]), &returned).unwrap();
    let verify = scratch.aup(&["verify", "--json", returned.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&verify.stdout()).unwrap();
    assert_eq!(report["verdict"], "outdated", "{report:#}");
}

#[test]
fn a_bilingual_school_that_forbids_usb_keys_says_both_in_yaml() {
    let scratch = Scratch::empty();
    let school = OTHER_SCHOOL
        .replace(
            "short_name: Hillside\n",
            "short_name: Hillside\nsubtitle: Polisi Defnydd Derbyniol\nsubtitle_language: Welsh\n",
        )
        .replace("key_people:", "usb_keys: nevermore\nkey_people:");
    scratch.write("schools/hillside.yaml", &school);
    std::fs::write(scratch.path("schools/hillside-signature.png"), tiny_png()).unwrap();
    // A value that is not one of the choices: where, what, and where to look.
    let refused = scratch.aup(&["check"]).stderr();
    assert!(
        refused.contains("schools/hillside.yaml:18:11: `usb_keys`: unknown variant `nevermore`, expected one of `allowed-if-encrypted`, `always-encrypted`, `forbidden`"),
        "{refused}"
    );
    assert!(
        refused.contains("hint: use one of the values listed; `aup schema` and the README's school-file table say what each does"),
        "{refused}"
    );

    // Then a language written as a name, not a code.
    let school = school.replace("usb_keys: nevermore", "usb_keys: forbidden");
    scratch.write("schools/hillside.yaml", &school);
    let refused = scratch.aup(&["check"]).stderr();
    assert!(
        refused.contains(
            "schools/hillside.yaml:5:20: `subtitle_language`: `Welsh` is not a language code"
        ),
        "{refused}"
    );
    assert!(
        refused.contains("hint: use the two-letter ISO 639 code in lower case: cy for Welsh"),
        "{refused}"
    );

    scratch.write(
        "schools/hillside.yaml",
        &school.replace("subtitle_language: Welsh", "subtitle_language: cy"),
    );
    scratch.aup(&["check"]).success();
    scratch.aup(&["generate", "--date", "2025-09-03"]).success();
    common::assert_pdf_ua_and_pdf_a(&scratch.path("out"));
    common::assert_even_word_gaps(&scratch.path("out"));
    let text = pdftotext(&scratch.path("out/hillside/2025-26/hillside-staff-aup.pdf"));
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(
            "I will not store school-related data on personal devices, storage or cloud platforms. \
             I will not use USB keys or other removable media with school devices or school data, \
             and I will only use safe and appropriately licensed software"
        ),
        "{flat}"
    );
    assert!(!flat.contains("will be encrypted"), "{flat}");
    // The subtitle is its own line in the title block, under the audience and
    // above the website.
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let at = |line: &str| {
        lines
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("no line `{line}`: {lines:#?}"))
    };
    assert_eq!(
        at("Polisi Defnydd Derbyniol"),
        at("VOLUNTEERS AND VISITORS") + 1
    );
    assert_eq!(
        at("www.hillside.example.sch.uk"),
        at("Polisi Defnydd Derbyniol") + 1
    );
    // A screen reader speaks the subtitle in Welsh: its marked content says so.
    let policy = scratch.path("out/hillside/2025-26/hillside-staff-aup.pdf");
    let plain = scratch.path("plain.pdf");
    common::run_tool(
        "qpdf",
        &[
            "--qdf".as_ref(),
            "--object-streams=disable".as_ref(),
            policy.as_os_str(),
            plain.as_os_str(),
        ],
    );
    let bytes = String::from_utf8_lossy(&std::fs::read(&plain).unwrap()).into_owned();
    assert_eq!(
        bytes.matches("/Lang (cy)").count() + bytes.matches("/Lang(cy)").count(),
        1
    );
}

#[test]
fn a_students_only_academy_with_a_principal_never_says_pupil_or_headteacher() {
    let school = |learners: &str, title: &str| {
        format!(
            "name: Northgate Academy\nform_prefix: NGA\nheadteacher:\n  name: Dr E Mensah\n  \
             title: {title}\ndsl:\n  name: Mr J Fraser\nlearners: {learners}\n\
             audience: [staff, visitors, contractors]\n"
        )
    };
    let words_of = |learners: &str, title: &str| {
        let scratch = Scratch::empty();
        scratch.write("schools/northgate.yaml", &school(learners, title));
        scratch.aup(&["check"]).success();
        scratch.aup(&["generate", "--date", "2025-09-03"]).success();
        common::assert_pdf_ua_and_pdf_a(&scratch.path("out"));
        common::assert_even_word_gaps(&scratch.path("out"));
        let text = pdftotext(&scratch.path("out/northgate/2025-26/northgate-staff-aup.pdf"));
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };

    let academy = words_of("students", "Principal");
    let lower = academy.to_lowercase();
    for never in ["pupil", "headteacher", "head teacher"] {
        assert!(!lower.contains(never), "`{never}` in: {academy}");
    }
    for said in [
        "never do so directly with a student",
        "screenshots of myself or students during live lessons",
        "supporting students remotely",
        "contact any student",
        "attempts by students to do the same to the Principal.",
        "commitments made by students, parents and fellow staff, governors and volunteers",
        "STAFF, VISITORS AND CONTRACTORS",
    ] {
        assert!(academy.contains(said), "`{said}` not in: {academy}");
    }

    // A primary that says "pupils" never says "student"; its head is "the headteacher".
    let primary = words_of("pupils", "Headteacher");
    assert!(!primary.to_lowercase().contains("student"), "{primary}");
    assert!(primary.contains("attempts by pupils to do the same to the headteacher."));
}

const CHURCH_SCHOOL: &str = r#"name: St Aidan's CE Primary School
short_name: St Aidan's
possessive: St Aidan’s
headteacher:
  name: Mrs H Clarke
ethos: Let your light shine before others.
ethos_heading: Our Vision
key_people:
  rows:
    - label: Designated Safeguarding Lead (DSL) team, each with their role in school in brackets
      lines: ["Mrs H Clarke (Headteacher)", "Mr P Adeyemi (Deputy Headteacher)", "Ms L Wong (SENCo)"]
    - label: Online-safety lead (if different)
      value: ""
    - label: Trust data protection officer
      lines: ["Ms K Ibrahim", "01234 567890"]
    - label: "Next review: by the Board of Directors by 31st August 2026"
text_blocks:
  - id: prayer
    after: start
    heading: Our School Prayer
    text: |
      Dear Lord, keep us safe in all we do,
      online and offline.
      Amen.
  - id: equality
    after: key-people
    heading: Equality Impact Statement
    text: |
      We have considered the impact of this policy on equality.

      No group is disadvantaged by {possessive} approach.
  - id: phones-note
    after: contact-pupils
    text: Staff phones are covered by the Mobile Phone Policy.
"#;

/// Each word on page 1 with its left and right edges and its top (pdftotext -bbox).
fn words_with_edges(pdf: &std::path::Path) -> Vec<(String, f64, f64, f64)> {
    let run = std::process::Command::new("pdftotext")
        .args(["-bbox", "-f", "1", "-l", "1"])
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&run.stdout).into_owned();
    html.lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix("<word ")?;
            let attr = |name: &str| -> f64 {
                let at = l.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                l[at..l[at..].find('"').unwrap() + at].parse().unwrap()
            };
            let word = l[l.find('>')? + 1..l.find("</word>")?].to_owned();
            Some((word, attr("xMin"), attr("xMax"), attr("yMin")))
        })
        .collect()
}

#[test]
fn a_church_school_words_its_own_table_and_adds_its_own_text() {
    let scratch = Scratch::empty();
    scratch.write("schools/st-aidans.yaml", CHURCH_SCHOOL);
    scratch.aup(&["check"]).success();
    scratch.aup(&["generate", "--date", "2025-09-03"]).success();
    common::assert_pdf_ua_and_pdf_a(&scratch.path("out"));
    common::assert_even_word_gaps(&scratch.path("out"));
    let pdf = scratch.path("out/st-aidans/2025-26/st-aidans-staff-aup.pdf");
    let text = pdftotext(&pdf);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");

    // The prayer opens the page, above the school's name.
    assert!(
        position_of(
            &flat,
            "Our School Prayer Dear Lord, keep us safe in all we do, online and offline. Amen."
        ) < position_of(&flat, "St Aidan's CE Primary School Acceptable Use Policy")
    );
    // Its line breaks are kept: three lines, as written.
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let dear = lines
        .iter()
        .position(|l| l.starts_with("Dear Lord"))
        .unwrap();
    assert_eq!(lines[dear + 1], "online and offline.");
    assert_eq!(lines[dear + 2], "Amen.");
    // The ethos under the school's own heading.
    assert!(
        flat.contains("Our Vision Let your light shine before others."),
        "{flat}"
    );
    assert!(!flat.contains("Ethos Statement"));
    // The table: the school's rows in its order, a blank cell, multi-line cells.
    // (pdftotext reads the wrapped label's lines between the value's.)
    let rows = [
        "Designated Safeguarding Lead",
        "Mrs H Clarke (Headteacher)",
        "Mr P Adeyemi (Deputy Headteacher)",
        "Ms L Wong (SENCo)",
        "Online-safety lead (if different)",
        "Trust data protection officer",
        "Ms K Ibrahim",
        "01234 567890",
        "Next review: by the Board of Directors by 31st August 2026",
    ];
    let at: Vec<usize> = rows.iter().map(|r| position_of(&flat, r)).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "rows out of order: {at:?}\n{flat}"
    );
    assert!(
        !flat.contains("Policy reviewed")
            && !flat.contains("Designated Safeguarding Lead (DSL) Mrs")
    );
    // Each line of a cell is its own line of the page (pdftotext -layout puts
    // the label's lines beside them).
    let ending = |value: &str| {
        lines
            .iter()
            .position(|l| l.ends_with(value))
            .unwrap_or_else(|| panic!("no line ends with `{value}`:\n{text}"))
    };
    let team = ending("Mrs H Clarke (Headteacher)");
    assert_eq!(ending("Mr P Adeyemi (Deputy Headteacher)"), team + 1);
    assert_eq!(ending("Ms L Wong (SENCo)"), team + 2);
    assert_eq!(ending("01234 567890"), ending("Ms K Ibrahim") + 1);
    // The blank cell: its label stands alone on its line.
    assert!(
        lines.contains(&"Online-safety lead (if different)"),
        "{text}"
    );
    // The equality statement follows the table, its two paragraphs in order.
    let equality = position_of(
        &flat,
        "Equality Impact Statement We have considered the impact",
    );
    assert!(at[8] < equality);
    assert!(flat.contains(
        "impact of this policy on equality. No group is disadvantaged by St Aidan’s approach."
    ));
    assert!(equality < position_of(&flat, "What is an AUP?"));
    // "Why do we need an AUP?" follows the audience (the default).
    assert!(
        flat.contains(
            "All staff (including support staff), governors and volunteers have particular"
        )
    );
    // A block after clause 8 cuts the list; numbering carries on at 9.
    let note = position_of(
        &flat,
        "Staff phones are covered by the Mobile Phone Policy.",
    );
    assert!(
        position_of(
            &flat,
            "8. I will not contact or attempt to contact any pupil"
        ) < note
    );
    assert!(note < position_of(&flat, "9. Details on social media behaviour"));
    assert!(text.contains("17.") && !text.contains("18."), "{text}");

    // The label column is set flush left: the long label's words sit a space
    // apart, not stretched to the column's width as justified text is.
    let words = words_with_edges(&pdf);
    let first = words
        .iter()
        .position(|w| w.0 == "Designated" && words.iter().any(|v| v.0 == "team,"))
        .unwrap();
    let line_y = words[first].3;
    // The label column runs from the 20 mm margin to 60 mm further right.
    let label_column_right = (20.0 + 60.0) * 72.0 / 25.4;
    let on_line: Vec<&(String, f64, f64, f64)> = words[first..]
        .iter()
        .take_while(|w| (w.3 - line_y).abs() < 1.0)
        .filter(|w| w.2 < label_column_right)
        .collect();
    assert!(on_line.len() >= 3, "{on_line:?}");
    for pair in on_line.windows(2) {
        let gap = pair[1].1 - pair[0].2;
        assert!(
            gap < 4.5,
            "a {gap:.1} pt gap between `{}` and `{}`: justified",
            pair[0].0,
            pair[1].0
        );
    }
}

#[test]
fn school_text_that_would_not_print_is_an_error_at_its_key() {
    let scratch = Scratch::empty();
    let broken = CHURCH_SCHOOL
        .replace("    after: contact-pupils", "    after: contact-pupil")
        .replace("    after: key-people", "    after: ethos")
        .replace("ethos: Let your light shine before others.\n", "")
        .replace("  rows:", "  reviewed: July 2025\n  rows:");
    scratch.write("schools/st-aidans.yaml", &broken);
    let said = scratch.aup(&["check"]).stderr();
    for expected in [
        "`key_people.rows`: `rows` is the whole table: the named rows beside it would not print",
        "`text_blocks[1].after`: no `ethos` is set, so the block after `ethos` would not print",
        "`text_blocks[2].after`: there is nothing called `contact-pupil` to put the block after",
        "did you mean `contact-pupils`?",
    ] {
        assert!(said.contains(expected), "`{expected}` not in:\n{said}");
    }
    // A new clause after a paragraph points to text blocks, not back at itself.
    scratch.write(
        "schools/st-aidans.yaml",
        &format!("{CHURCH_SCHOOL}clauses:\n  add:\n    - id: mission\n      after: questions\n      text: Our mission.\n"),
    );
    let said = scratch.aup(&["check"]).stderr();
    assert!(
        said.contains("`questions` is a heading or paragraph"),
        "{said}"
    );
    assert!(
        said.contains(
            "hint: for text outside the numbered clauses, use `text_blocks` with `after: questions`"
        ),
        "{said}"
    );
}

/// The definition a property's schema points to (through `$ref`, or an
/// `anyOf`/`oneOf` that allows null), if it is an object with properties.
fn properties_of<'a>(
    schema: &'a serde_json::Value,
    property: &'a serde_json::Value,
) -> Vec<&'a serde_json::Value> {
    let resolve = |node: &'a serde_json::Value| -> Option<&'a serde_json::Value> {
        let name = node["$ref"].as_str()?.strip_prefix("#/$defs/")?;
        Some(&schema["$defs"][name])
    };
    let mut found = Vec::new();
    let mut nodes = vec![property];
    while let Some(node) = nodes.pop() {
        if let Some(target) = resolve(node) {
            nodes.push(target);
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(options) = node[key].as_array() {
                nodes.extend(options);
            }
        }
        if node["properties"].is_object() {
            found.push(&node["properties"]);
        }
    }
    found
}

#[test]
fn the_readme_describes_every_key_of_the_schema_and_no_other() {
    let scratch = Scratch::empty();
    let schema: serde_json::Value =
        serde_json::from_str(&scratch.aup(&["schema"]).success().stdout()).unwrap();
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    // The school-file table: each row's first cell names its keys in backticks.
    let rows: Vec<(String, String)> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| key | meaning | default |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            (cells[0].trim_start_matches("| ").to_owned(), l.to_owned())
        })
        .collect();
    assert!(
        rows.len() > 20,
        "the README's school-file table was not found"
    );
    let named_in_first_cells: Vec<String> = rows
        .iter()
        .flat_map(|(first, _)| first.split('`').skip(1).step_by(2).map(str::to_owned))
        .collect();

    let mut missing = Vec::new();
    let top = schema["properties"].as_object().unwrap();
    for (key, property) in top {
        let row = rows.iter().find(|(first, _)| {
            first.contains(&format!("`{key}`")) || first.contains(&format!("`{key}."))
        });
        let Some((_, row)) = row else {
            missing.push(key.clone());
            continue;
        };
        for nested in properties_of(&schema, property) {
            for child in nested.as_object().unwrap().keys() {
                let said = [
                    format!("`{key}.{child}`"),
                    format!("`.{child}`"),
                    format!("`{child}`"),
                ];
                let described = said.iter().any(|s| row.contains(s.as_str()))
                    || rows
                        .iter()
                        .any(|(first, _)| first.contains(&format!("`{key}.{child}`")));
                if !described {
                    missing.push(format!("{key}.{child}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the README's table does not describe: {missing:?}"
    );

    // And the table names no key the schema does not have.
    let mut unknown = Vec::new();
    for named in &named_in_first_cells {
        let Some(first) = named.split('.').next().filter(|f| !f.is_empty()) else {
            continue; // `.action`, continuing the key before it
        };
        let Some(property) = top.get(first) else {
            unknown.push(named.clone());
            continue;
        };
        if let Some((_, child)) = named.split_once('.') {
            let known = properties_of(&schema, property)
                .iter()
                .any(|props| props.get(child).is_some());
            if !known {
                unknown.push(named.clone());
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "the README's table names keys the schema lacks: {unknown:?}"
    );
}

#[test]
fn key_people_go_above_the_title_under_the_schools_heading_or_none() {
    let scratch = Scratch::empty();
    std::fs::write(scratch.path("schools/hillside-signature.png"), tiny_png()).unwrap();
    let generate = |yaml: &str| {
        scratch.write("schools/hillside.yaml", yaml);
        scratch.aup(&["check"]).success();
        scratch.aup(&["generate", "--date", "2025-09-03"]).success();
        let text = pdftotext(&scratch.path("out/hillside/2025-26/hillside-staff-aup.pdf"));
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };

    let above = generate(&OTHER_SCHOOL.replace(
        "key_people:\n",
        "key_people:\n  heading: Key people / dates\n  placement: before-title\n",
    ));
    let heading = position_of(&above, "Key people / dates");
    let first_row = position_of(&above, "Designated Safeguarding Lead (DSL) Ms R Patel");
    let last_row = position_of(&above, "Next review September 2026");
    let title = position_of(
        &above,
        "Hillside Community Primary School Acceptable Use Policy",
    );
    assert!(
        heading < first_row && first_row < last_row && last_row < title,
        "{above}"
    );
    assert!(!above.contains("Key people Designated"), "{above}");
    common::assert_pdf_ua_and_pdf_a(&scratch.path("out"));

    let without =
        generate(&OTHER_SCHOOL.replace("key_people:\n", "key_people:\n  heading: \"\"\n"));
    assert!(!without.contains("Key people"), "{without}");
    let title = position_of(
        &without,
        "Hillside Community Primary School Acceptable Use Policy",
    );
    let first_row = position_of(&without, "Designated Safeguarding Lead (DSL) Ms R Patel");
    assert!(title < first_row, "{without}");
    assert!(
        first_row < position_of(&without, "What is an AUP?"),
        "{without}"
    );
    common::assert_pdf_ua_and_pdf_a(&scratch.path("out"));
}
