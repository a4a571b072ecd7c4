//! The office's story: staff sign printed forms, the office scans the pile (pages
//! in any order, some upside down or skewed, blank duplex backs, a stray page) and
//! drops the scans in the inbox; `aup ingest` files one verified form per person.
//! The scans are made here from the generated forms: rendered, inked, turned,
//! skewed, noised, encoded as JPEG or CCITT G4, wrapped as PDF.

mod common;
mod scan;

use std::path::{Path, PathBuf};
use std::process::Command;

use aup::archive::Archive;
use common::Scratch;
use image::{GrayImage, Luma};
use scan::{Ink, SIGNED, blank_page, dust, form_id, noise, scan_pdf, skew};

/// The form's pages as printed and filled in by hand.
fn paper(scratch: &Scratch, pdf: &Path, dpi: f32, ink: Ink) -> Vec<GrayImage> {
    scan::paper(&scratch.path("archive"), pdf, dpi, ink)
}

/// ImageMagick options that turn a grey page into a 200-dpi CCITT G4 bilevel image,
/// as an office copier's "black and white" setting does.
const G4: [&str; 8] = [
    "-threshold",
    "50%",
    "-type",
    "bilevel",
    "-density",
    "200",
    "-compress",
    "Group4",
];

/// A school with a three-person roster, generated.
fn school() -> Scratch {
    Scratch::pakeman_issued(
        "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\nA2,Ben,Okafor,TA\nA3,Chloe,Price,Governor\n",
        &["--blank", "1"],
    )
}

fn form_pdf(scratch: &Scratch, who: &str) -> PathBuf {
    scratch.form_pdf("pakeman", who)
}

fn verdict_of<'a>(outcomes: &'a [serde_json::Value], form: &str) -> &'a serde_json::Value {
    outcomes
        .iter()
        .find(|o| o["form_id"] == form)
        .unwrap_or_else(|| panic!("no outcome for {form}: {outcomes:#?}"))
}

fn inbox_is_empty(scratch: &Scratch) -> bool {
    std::fs::read_dir(scratch.path("inbox"))
        .unwrap()
        .next()
        .is_none()
}

#[test]
fn a_300_dpi_grey_jpeg_scan_of_a_signed_form_is_accepted_and_filed() {
    let scratch = school();
    let pdf = form_pdf(&scratch, "amelia");
    let mut pages = paper(&scratch, &pdf, 300.0, SIGNED);
    for (i, page) in pages.iter_mut().enumerate() {
        noise(page, i as u32 + 1);
    }
    scratch.write("inbox/scan0001.pdf", "");
    let scan = scan_pdf(&pages, 300.0);
    std::fs::write(scratch.path("inbox/scan0001.pdf"), &scan).unwrap();
    let outcomes = scratch.ingest_json();
    let id = form_id(&pdf);
    let outcome = verdict_of(&outcomes, &id);
    assert_eq!(outcome["verdict"], "accepted", "{outcome}");
    assert_eq!(outcome["person"], "Amelia Hart");
    assert_eq!(outcome["school"], "pakeman");
    assert_eq!(outcome["missing"], serde_json::json!([]));
    assert_eq!(outcome["file"], "scan0001.pdf");
    // Filed upright, the received file kept, the inbox emptied.
    let filed = scratch.path(&format!("archive/pakeman/2025-26/{id}.pdf"));
    let doc = lopdf::Document::load(&filed).unwrap();
    assert_eq!(doc.get_pages().len(), 3);
    assert!(inbox_is_empty(&scratch));
    // The scanner's JPEGs are filed as they came, byte for byte.
    let images = |doc: &lopdf::Document| -> Vec<Vec<u8>> {
        doc.objects
            .values()
            .filter_map(|o| o.as_stream().ok())
            .filter(|s| s.dict.get(b"Subtype").and_then(|t| t.as_name()).ok() == Some(b"Image"))
            .map(|s| s.content.clone())
            .collect()
    };
    let scanned = images(&lopdf::Document::load_mem(&scan).unwrap());
    let kept = images(&doc);
    assert_eq!(kept.len(), 3);
    assert!(
        kept.iter().all(|k| scanned.contains(k)),
        "a page was re-encoded"
    );
    // Beside it, the evidence page: who, what, when, how, the checks and the hashes.
    let evidence =
        common::pdftotext(&scratch.path(&format!("archive/pakeman/2025-26/{id}.evidence.pdf")));
    for line in [
        format!("Form: {id}"),
        "Person: Amelia Hart (Teacher)".to_owned(),
        "Issued: 1 September 2025".to_owned(),
        "School / year: Pakeman Primary School, 2025-26".to_owned(),
        "Policy: of 1 September 2025 (version".to_owned(),
        "Signed: on paper, scanned".to_owned(),
        "pass signature box has ink".to_owned(),
        "pass date box has ink".to_owned(),
        "received scan0001.pdf".to_owned(),
    ] {
        let flat = evidence.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&line), "{line} not in {flat}");
    }
    use sha2::Digest;
    let filed_sha: String = sha2::Sha256::digest(std::fs::read(&filed).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        evidence.contains(&filed_sha),
        "the evidence names the archived form's hash"
    );
    let archive = Archive::open(&scratch.path("archive")).unwrap();
    assert_eq!(common::index_rows(&scratch.path("archive"), "received"), 1);
    assert_eq!(
        archive.returns_of(&id).unwrap(),
        vec![("accepted".to_owned(), vec![])]
    );
}

#[test]
fn a_shuffled_batch_with_an_upside_down_form_skew_blank_backs_and_a_stray_page() {
    let scratch = school();
    let people = ["amelia", "okafor", "price"];
    let mut batch = Vec::new();
    for (n, who) in people.iter().enumerate() {
        let pdf = form_pdf(&scratch, who);
        for (i, mut page) in paper(&scratch, &pdf, 200.0, SIGNED).into_iter().enumerate() {
            match n {
                // Ben's form went through upside down.
                1 => page = image::imageops::rotate180(&page),
                // Chloe's pages are skewed by +3° and -3°.
                2 => page = skew(&page, if i % 2 == 0 { 3.0 } else { -3.0 }),
                _ => {}
            }
            noise(&mut page, (n * 10 + i) as u32);
            batch.push(page);
            // Duplex backs after every page of the first form.
            if n == 0 {
                batch.push(blank_page(200.0));
            }
        }
    }
    // A page that isn't ours: a letter with text-like marks and no code.
    let mut letter = blank_page(200.0);
    for line in 0..30 {
        for x in 200..1400 {
            if (x / 7 + line) % 5 != 0 {
                for t in 0..4 {
                    letter.put_pixel(x, 300 + line * 60 + t, Luma([30]));
                }
            }
        }
    }
    batch.push(letter);
    // Shuffle deterministically.
    let order = [9, 3, 0, 12, 7, 1, 10, 5, 2, 11, 6, 4, 8, 13, 14, 15];
    let shuffled: Vec<GrayImage> = order
        .iter()
        .filter(|i| **i < batch.len())
        .map(|&i| batch[i].clone())
        .collect();
    assert_eq!(shuffled.len(), batch.len());
    std::fs::write(scratch.path("inbox/batch.pdf"), scan_pdf(&shuffled, 200.0)).unwrap();

    let outcomes = scratch.ingest_json();
    for who in people {
        let id = form_id(&form_pdf(&scratch, who));
        let outcome = verdict_of(&outcomes, &id);
        assert_eq!(outcome["verdict"], "accepted", "{who}: {outcome}");
        // Filed upright: on every filed page the code reads the right way up, in the
        // top-right corner.
        let filed = scratch.path(&format!(
            "archive/{}",
            outcome["archived"].as_str().unwrap()
        ));
        let bytes = std::sync::Arc::new(aup::ingest::pages::FileBytes::Owned(
            std::fs::read(&filed).unwrap(),
        ));
        let source =
            aup::ingest::pages::PageSource::open(bytes, aup::ingest::pages::FileKind::Pdf).unwrap();
        assert_eq!(source.count(), 3);
        for page in 0..3 {
            let (image, code) = [300.0, 150.0, 200.0]
                .into_iter()
                .find_map(|dpi| {
                    let image = source.page(page, dpi).unwrap();
                    aup::scan::qr::find(&image, true).map(|code| (image, code))
                })
                .unwrap_or_else(|| panic!("{who} page {page}: no code"));
            assert_eq!(code.quarter_turns(), 0, "{who} page {page}");
            // Each mark in its own corner of the upright page.
            let [tl, ..] = code.corners;
            let (w, h) = (image.width() as f64, image.height() as f64);
            match code.mark().unwrap().1 {
                aup::form::Mark::TopRight => assert!(
                    tl.x > w * 0.8 && tl.y < h * 0.1,
                    "{who}: top-right mark at {tl:?}"
                ),
                aup::form::Mark::BottomLeft => assert!(
                    tl.x < w * 0.05 && tl.y > h * 0.9,
                    "{who}: bottom-left mark at {tl:?}"
                ),
                aup::form::Mark::TopLeft => assert!(
                    tl.x < w * 0.05 && tl.y < h * 0.1,
                    "{who}: top-left mark at {tl:?}"
                ),
            }
        }
    }
    let stray: Vec<_> = outcomes
        .iter()
        .filter(|o| o["verdict"] == "unidentified")
        .collect();
    assert_eq!(stray.len(), 1, "{outcomes:#?}");
    assert!(
        stray[0]["reason"].as_str().unwrap().starts_with("no_qr"),
        "{}",
        stray[0]
    );
    // The stray page is in quarantine with a sidecar and a thumbnail.
    let path = scratch.path(&format!(
        "archive/{}",
        stray[0]["archived"].as_str().unwrap()
    ));
    assert!(path.is_file());
    let sidecar: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{}.json", path.display())).unwrap())
            .unwrap();
    assert_eq!(sidecar["reason"], "no_qr");
    assert_eq!(sidecar["file"], "batch.pdf");
    assert!(
        path.with_file_name(sidecar["thumbnail"].as_str().unwrap())
            .is_file()
    );
    assert!(inbox_is_empty(&scratch));
}

#[test]
fn missing_page_unsigned_and_undated_forms_are_incomplete() {
    let scratch = school();
    let (amelia, ben, chloe) = (
        form_pdf(&scratch, "amelia"),
        form_pdf(&scratch, "okafor"),
        form_pdf(&scratch, "price"),
    );
    let mut pages = paper(&scratch, &amelia, 200.0, SIGNED);
    pages.remove(1);
    std::fs::write(scratch.path("inbox/a.pdf"), scan_pdf(&pages, 200.0)).unwrap();
    let pages = paper(
        &scratch,
        &ben,
        200.0,
        Ink {
            signature: false,
            date: false,
        },
    );
    std::fs::write(scratch.path("inbox/b.pdf"), scan_pdf(&pages, 200.0)).unwrap();
    let pages = paper(
        &scratch,
        &chloe,
        200.0,
        Ink {
            signature: true,
            date: false,
        },
    );
    std::fs::write(scratch.path("inbox/c.pdf"), scan_pdf(&pages, 200.0)).unwrap();
    let outcomes = scratch.ingest_json();
    let missing = |pdf: &Path| {
        let o = verdict_of(&outcomes, &form_id(pdf));
        assert_eq!(o["verdict"], "incomplete", "{o}");
        o["missing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(missing(&amelia), ["page 2"]);
    assert_eq!(missing(&ben), ["signature", "date"]);
    assert_eq!(missing(&chloe), ["date"]);
}

#[test]
fn colour_jpeg_photos_of_each_page_are_grouped_into_one_form() {
    let scratch = school();
    let pdf = form_pdf(&scratch, "okafor");
    for (i, page) in paper(&scratch, &pdf, 150.0, SIGNED).iter().enumerate() {
        // Warm paper, blue pen: a colour image of a grey page.
        let colour = image::RgbImage::from_fn(page.width(), page.height(), |x, y| {
            let v = page.get_pixel(x, y).0[0];
            image::Rgb([
                v.saturating_sub(5),
                v.saturating_sub(10),
                v.saturating_add(0).min(240),
            ])
        });
        colour
            .save(scratch.path(&format!("inbox/IMG_{i}.jpg")))
            .unwrap();
    }
    let outcomes = scratch.ingest_json();
    let outcome = verdict_of(&outcomes, &form_id(&pdf));
    assert_eq!(outcome["verdict"], "accepted", "{outcome}");
    assert_eq!(outcome["file"], "IMG_0.jpg, IMG_1.jpg, IMG_2.jpg");
}

#[test]
fn a_200_dpi_ccitt_g4_scan_is_read() {
    let scratch = school();
    let pdf = form_pdf(&scratch, "price");
    let pages = paper(&scratch, &pdf, 200.0, SIGNED);
    let scanned = scratch.path("g4.pdf");
    scan::g4_pdf(&pages, 200.0, &scanned);
    std::fs::rename(&scanned, scratch.path("inbox/g4.pdf")).unwrap();
    let bytes = std::fs::read(scratch.path("inbox/g4.pdf")).unwrap();
    assert!(
        bytes.windows(14).any(|w| w == b"CCITTFaxDecode"),
        "img2pdf did not keep G4"
    );
    let outcomes = scratch.ingest_json();
    assert_eq!(
        verdict_of(&outcomes, &form_id(&pdf))["verdict"],
        "accepted",
        "{outcomes:#?}"
    );
}

#[test]
fn the_same_file_twice_is_a_duplicate_and_writes_nothing_new() {
    let scratch = school();
    let pdf = form_pdf(&scratch, "amelia");
    let scan = scan_pdf(&paper(&scratch, &pdf, 150.0, SIGNED), 150.0);
    std::fs::write(scratch.path("inbox/first.pdf"), &scan).unwrap();
    let outcomes = scratch.ingest_json();
    assert_eq!(verdict_of(&outcomes, &form_id(&pdf))["verdict"], "accepted");
    std::fs::write(scratch.path("inbox/again.pdf"), &scan).unwrap();
    let outcomes = scratch.ingest_json();
    assert_eq!(outcomes.len(), 1, "{outcomes:#?}");
    assert_eq!(outcomes[0]["verdict"], "duplicate");
    assert_eq!(outcomes[0]["file"], "again.pdf");
    assert_eq!(common::index_rows(&scratch.path("archive"), "received"), 1);
    assert_eq!(common::index_rows(&scratch.path("archive"), "returns"), 1);
    assert!(inbox_is_empty(&scratch));
}

#[test]
fn a_run_killed_before_it_commits_loses_nothing_and_a_rerun_finishes() {
    let scratch = school();
    let pdf = form_pdf(&scratch, "okafor");
    std::fs::write(
        scratch.path("inbox/scan.pdf"),
        scan_pdf(&paper(&scratch, &pdf, 150.0, SIGNED), 150.0),
    )
    .unwrap();
    // Fault injection: the process aborts after storing the received copy and the
    // form, just before the index transaction.
    let run = scratch.aup_env(
        &["ingest", "--settle", "0"],
        &[("AUP_FAULT", "before-commit")],
    );
    assert_ne!(run.code(), Some(0));
    assert!(
        scratch.path("inbox/scan.pdf").is_file(),
        "the inbox file went before the commit"
    );
    let outcomes = scratch.ingest_json();
    assert_eq!(
        verdict_of(&outcomes, &form_id(&pdf))["verdict"],
        "accepted",
        "{outcomes:#?}"
    );
    assert!(inbox_is_empty(&scratch));
    assert_eq!(common::index_rows(&scratch.path("archive"), "returns"), 1);
}

#[test]
fn hostile_and_broken_files_are_quarantined_with_a_reason() {
    let scratch = school();
    scratch.write("inbox/empty.pdf", "");
    scratch.write(
        "inbox/letter.pdf",
        "Dear office, the scanner is broken again.\n",
    );
    let pdf = std::fs::read(form_pdf(&scratch, "amelia")).unwrap();
    std::fs::write(scratch.path("inbox/truncated.pdf"), &pdf[..pdf.len() / 3]).unwrap();
    // A PNG whose header claims 100000 × 100000 pixels.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&100_000u32.to_be_bytes());
    png.extend_from_slice(&100_000u32.to_be_bytes());
    png.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
    std::fs::write(scratch.path("inbox/huge.png"), png).unwrap();
    let encrypted = scratch.path("inbox/locked.pdf");
    let status = Command::new("qpdf")
        .args(["--encrypt", "user", "owner", "256", "--"])
        .arg(form_pdf(&scratch, "okafor"))
        .arg(&encrypted)
        .status()
        .expect("qpdf");
    assert!(status.success());
    let outcomes = scratch.ingest_json();
    let reason = |file: &str| {
        let o = outcomes
            .iter()
            .find(|o| o["file"] == file)
            .unwrap_or_else(|| panic!("no outcome for {file}: {outcomes:#?}"));
        assert_eq!(o["verdict"], "unidentified", "{o}");
        o["reason"]
            .as_str()
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(reason("empty.pdf"), "unreadable");
    assert_eq!(reason("letter.pdf"), "unreadable");
    assert_eq!(reason("truncated.pdf"), "unreadable");
    assert!(matches!(
        reason("huge.png").as_str(),
        "too_large" | "unreadable"
    ));
    assert_eq!(reason("locked.pdf"), "encrypted");
    // Everything is kept: quarantined, with a sidecar each.
    let quarantine = std::fs::read_dir(scratch.path("archive/quarantine"))
        .unwrap()
        .count();
    assert!(quarantine >= 10, "{quarantine}");
    assert!(inbox_is_empty(&scratch));
}

#[test]
fn a_second_ingest_waits_for_the_lock_and_a_missing_inbox_is_an_error() {
    let scratch = school();
    let _held = aup::archive::lock(&scratch.path("archive")).unwrap();
    let err = scratch.aup(&["ingest", "--settle", "0"]).failure();
    assert!(
        err.contains("another aup ingest is using this archive"),
        "{err}"
    );
    drop(_held);
    let err = scratch
        .aup(&["ingest", "nowhere", "--settle", "0"])
        .failure();
    assert!(err.contains("cannot read the inbox nowhere"), "{err}");
}

#[test]
fn files_still_being_written_are_left_for_the_next_run() {
    let scratch = school();
    let pdf = form_pdf(&scratch, "amelia");
    std::fs::write(
        scratch.path("inbox/fresh.pdf"),
        scan_pdf(&paper(&scratch, &pdf, 150.0, SIGNED), 150.0),
    )
    .unwrap();
    let run = scratch
        .aup(&["ingest", "--json", "--settle", "60"])
        .success();
    assert!(run.stdout().trim().is_empty(), "{}", run.stdout());
    assert!(scratch.path("inbox/fresh.pdf").is_file());
}

/// A one-page PDF whose content stream is `content`, deflated.
fn pdf_with_content(content: &[u8], image: Option<(i64, i64)>) -> Vec<u8> {
    use lopdf::{Dictionary, Document, Object, Stream};
    use std::io::Write;
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    deflate.write_all(content).unwrap();
    let packed = deflate.finish().unwrap();
    let mut doc = Document::with_version("1.4");
    let content = Stream::new(
        Dictionary::from_iter([("Filter", Object::Name(b"FlateDecode".to_vec()))]),
        packed,
    );
    let mut resources = Dictionary::new();
    if let Some((w, h)) = image {
        let image = doc.add_object(Stream::new(
            Dictionary::from_iter([
                ("Type", Object::Name(b"XObject".to_vec())),
                ("Subtype", Object::Name(b"Image".to_vec())),
                ("Width", w.into()),
                ("Height", h.into()),
                ("ColorSpace", Object::Name(b"DeviceGray".to_vec())),
                ("BitsPerComponent", 8.into()),
            ]),
            vec![0; 16],
        ));
        resources.set(
            "XObject",
            Object::Dictionary(Dictionary::from_iter([("Im0", Object::Reference(image))])),
        );
    }
    let page = aup::pdf::SimplePage {
        content,
        resources,
        size: (595.0, 842.0),
    };
    aup::pdf::save_pages(doc, [page])
}

#[test]
fn decompression_bombs_and_absurd_images_in_pdfs_are_refused_unread() {
    let scratch = school();
    // 200 MB of spaces deflate to about 200 KB.
    let bomb = pdf_with_content(&vec![b' '; 200 * 1024 * 1024], None);
    assert!(bomb.len() < 1024 * 1024);
    std::fs::write(scratch.path("inbox/bomb.pdf"), bomb).unwrap();
    std::fs::write(
        scratch.path("inbox/giant.pdf"),
        pdf_with_content(b"q 595 0 0 842 0 0 cm /Im0 Do Q", Some((90_000, 90_000))),
    )
    .unwrap();
    let outcomes = scratch.ingest_json();
    for file in ["bomb.pdf", "giant.pdf"] {
        let o = outcomes.iter().find(|o| o["file"] == file).unwrap();
        assert_eq!(o["verdict"], "unidentified", "{o}");
        assert!(
            o["reason"].as_str().unwrap().starts_with("too_large"),
            "{o}"
        );
    }
}

#[test]
fn a_form_of_an_older_policy_version_is_outdated() {
    let scratch = school();
    let old = form_pdf(&scratch, "amelia");
    let pages = paper(&scratch, &old, 150.0, SIGNED);
    // The policy changes and is issued again: a new version is current.
    let yaml = std::fs::read_to_string(scratch.path("schools/pakeman.yaml")).unwrap();
    scratch.write(
        "schools/pakeman.yaml",
        &yaml.replace("name: the issue log", "name: the CPOMS log"),
    );
    scratch.aup(&["generate", "--date", "2025-10-01"]).success();
    std::fs::write(scratch.path("inbox/old.pdf"), scan_pdf(&pages, 150.0)).unwrap();
    let outcomes = scratch.ingest_json();
    let outcome = verdict_of(&outcomes, &form_id(&old));
    assert_eq!(outcome["verdict"], "outdated", "{outcome}");
    assert!(
        outcome["reason"]
            .as_str()
            .unwrap()
            .contains("older version")
    );
}

#[test]
fn a_multi_page_g4_tiff_from_the_copier_is_read() {
    let scratch = school();
    let pdf = form_pdf(&scratch, "okafor");
    let mut pngs = Vec::new();
    for (i, page) in paper(&scratch, &pdf, 200.0, SIGNED).iter().enumerate() {
        let png = scratch.path(&format!("p{i}.png"));
        page.save(&png).unwrap();
        pngs.push(png);
    }
    let status = Command::new("convert")
        .args(&pngs)
        .args(G4)
        .arg(scratch.path("inbox/copier.tif"))
        .status()
        .expect("ImageMagick's convert: run scripts/test.sh, which installs it");
    assert!(status.success());
    let outcomes = scratch.ingest_json();
    let outcome = verdict_of(&outcomes, &form_id(&pdf));
    assert_eq!(outcome["verdict"], "accepted", "{outcomes:#?}");
    assert_eq!(outcome["file"], "copier.tif");
}

#[test]
fn a_page_with_a_smudged_code_is_assigned_by_hand_and_the_form_completed() {
    let scratch = school();
    let pdf = form_pdf(&scratch, "amelia");
    let id = form_id(&pdf);
    let mut pages = paper(&scratch, &pdf, 150.0, SIGNED);
    // Coffee over every mark of the signature page, top right and down the left
    // margin: no code to read.
    let last = pages.last_mut().unwrap();
    scan::damage::cover_every_mark(last);
    std::fs::write(scratch.path("inbox/scan.pdf"), scan_pdf(&pages, 150.0)).unwrap();
    let outcomes = scratch.ingest_json();
    let form = verdict_of(&outcomes, &id);
    assert_eq!(form["verdict"], "incomplete");
    assert_eq!(form["missing"], serde_json::json!(["page 3"]));
    let page = outcomes
        .iter()
        .find(|o| o["page"] == 3)
        .expect("page 3 quarantined");
    assert!(page["reason"].as_str().unwrap().starts_with("no_qr"));
    let quarantined = page["archived"].as_str().unwrap();

    let run = scratch
        .aup(&[
            "assign",
            "--json",
            "--page",
            "3",
            &format!("archive/{quarantined}"),
            &id,
        ])
        .success();
    let outcome: serde_json::Value = serde_json::from_str(run.stdout().trim()).unwrap();
    assert_eq!(outcome["verdict"], "accepted", "{outcome:#}");
    assert_eq!(outcome["form_id"], id.as_str());
    let filed = scratch
        .path("archive")
        .join(outcome["archived"].as_str().unwrap());
    let rendered = Command::new("pdfinfo").arg(&filed).output().unwrap();
    assert!(
        String::from_utf8_lossy(&rendered.stdout).contains("Pages:           3"),
        "the completed form has all three pages"
    );
    let history = scratch.aup(&["show", &id]).success().stdout();
    assert!(
        history.contains("incomplete") && history.contains("accepted"),
        "{history}"
    );
    scratch.aup(&["audit", "verify"]).success();

    // A page past the form's end, or an unknown form, is refused and changes nothing.
    let refused = scratch
        .aup(&[
            "assign",
            "--page",
            "4",
            &format!("archive/{quarantined}"),
            &id,
        ])
        .failure();
    assert!(refused.contains("past the form's 3 pages"), "{refused}");
    let unknown = scratch
        .aup(&[
            "assign",
            &format!("archive/{quarantined}"),
            "PAK-2526-0099-Q",
        ])
        .failure();
    assert!(!unknown.is_empty());
}

/// Another system's QR code (a document tracker's sticker), drawn at (x, y).
fn stick_foreign_code(page: &mut GrayImage, x: u32, y: u32) {
    let code = qrcode::QrCode::new(b"https://tracker.example.org/doc/48213").unwrap();
    let width = code.width() as u32;
    let module = 4;
    for (i, colour) in code.to_colors().into_iter().enumerate() {
        if colour == qrcode::Color::Dark {
            let (mx, my) = (i as u32 % width, i as u32 / width);
            for dx in 0..module {
                for dy in 0..module {
                    page.put_pixel(x + mx * module + dx, y + my * module + dy, Luma([0]));
                }
            }
        }
    }
}

#[test]
fn a_foreign_code_in_another_corner_does_not_hide_ours_at_any_quarter_turn() {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\nA2,Ben,Okafor,TA\n\
         A3,Chloe,Price,Governor\nA4,Dev,Shah,TA\n",
    );
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    // Each person's form gets the sticker top-left on every page, and is fed
    // turned by 0, 1, 2 or 3 quarter turns: in two of those the sticker's
    // corner is searched before ours.
    let mut forms = Vec::new();
    for (turns, who) in ["amelia", "ben", "chloe", "dev"].into_iter().enumerate() {
        let pdf = form_pdf(&scratch, who);
        let pages: Vec<GrayImage> = paper(&scratch, &pdf, 150.0, SIGNED)
            .into_iter()
            .map(|mut page| {
                stick_foreign_code(&mut page, 50, 50);
                match turns {
                    0 => page,
                    1 => image::imageops::rotate90(&page),
                    2 => image::imageops::rotate180(&page),
                    _ => image::imageops::rotate270(&page),
                }
            })
            .collect();
        std::fs::write(
            scratch.path(&format!("inbox/{who}.pdf")),
            scan_pdf(&pages, 150.0),
        )
        .unwrap();
        forms.push(form_id(&pdf));
    }
    let outcomes = scratch.ingest_json();
    for form in &forms {
        assert_eq!(
            verdict_of(&outcomes, form)["verdict"],
            "accepted",
            "{form}: {outcomes:#?}"
        );
    }
    assert!(
        outcomes.iter().all(|o| o["verdict"] != "unidentified"),
        "{outcomes:#?}"
    );
}

/// Issue 15: at 1% dust an unsigned page read as signed and dated (a dark-pixel
/// fraction over 0.8%). Specks are not strokes: unsigned forms stay incomplete,
/// signed ones are still accepted, at 150 and 300 dpi.
#[test]
fn dust_on_an_unsigned_form_is_not_a_signature() {
    let scratch = school();
    let unsigned = Ink {
        signature: false,
        date: false,
    };
    let mut expected = Vec::new();
    for (n, (who, ink, dpi)) in [
        ("amelia", unsigned, 150.0),
        ("ben", unsigned, 300.0),
        ("chloe", SIGNED, 150.0),
    ]
    .into_iter()
    .enumerate()
    {
        let pdf = form_pdf(&scratch, who);
        let mut pages = paper(&scratch, &pdf, dpi, ink);
        for (i, page) in pages.iter_mut().enumerate() {
            noise(page, (n * 10 + i) as u32 + 3);
            dust(page, 0.01, (n * 10 + i) as u32 + 11);
        }
        std::fs::write(
            scratch.path(&format!("inbox/{who}.pdf")),
            scan_pdf(&pages, dpi),
        )
        .unwrap();
        expected.push((form_id(&pdf), ink.signature));
    }
    let outcomes = scratch.ingest_json();
    for (id, signed) in expected {
        let outcome = verdict_of(&outcomes, &id);
        // Each box's measure and threshold are reported, for a person to check.
        let signature = outcome["boxes"]
            .as_array()
            .unwrap_or_else(|| panic!("no boxes: {outcome}"))
            .iter()
            .find(|b| b["field"] == "signer_signature")
            .unwrap()
            .clone();
        assert_eq!(signature["threshold_percent"], 0.8, "{signature}");
        assert_eq!(signature["written"], signed, "{signature}");
        let percent = signature["ink_percent"].as_f64().unwrap();
        match signed {
            true => {
                assert_eq!(outcome["verdict"], "accepted", "{outcome}");
                assert!(percent >= 0.8, "{signature}");
                let evidence = scratch.path(&format!("archive/pakeman/2025-26/{id}.evidence.pdf"));
                let text = common::pdftotext(&evidence);
                assert!(
                    text.contains("of the box in pen strokes; counts from 0.80%"),
                    "{text}"
                );
            }
            false => {
                assert_eq!(outcome["verdict"], "incomplete", "{outcome}");
                let missing = outcome["missing"].to_string();
                assert!(
                    missing.contains("signature") && missing.contains("date"),
                    "{outcome}"
                );
                assert!(percent < 0.8, "{signature}");
            }
        }
    }
}

/// The 1-bit page as aup reads it without the renderer, against poppler's
/// rendering of the same PDF at the image's own resolution: the share of
/// pixels on which they differ (the same dark pixels, within 1%, asserted).
/// poppler's sampling moves a stroke's edge by a pixel here and there (1.4% of
/// a signed page's pixels); black turned round would differ on 95%, a row
/// misread would shear the page and differ on several times its 3.6% of ink.
fn fax_read_against_poppler(scratch: &Scratch, pdf: &Path) -> f64 {
    use aup::ingest::pages::{FileBytes, FileKind, PageSource};
    let bytes = std::fs::read(pdf).unwrap();
    let source = PageSource::open(
        std::sync::Arc::new(FileBytes::Owned(bytes.clone())),
        FileKind::Pdf,
    )
    .unwrap();
    let ours = source
        .quick_page(0, 150.0)
        .expect("a fax page read without the renderer");
    let doc = lopdf::Document::load_mem(&bytes).unwrap();
    let page = doc.get_pages()[&1];
    let media = doc.get_dictionary(page).unwrap().get(b"MediaBox").unwrap();
    let width_pt = media.as_array().unwrap()[2].as_float().unwrap() as f64;
    // poppler at the resolution that gives the image's own pixels.
    let dpi = ours.width() as f64 / width_pt * 72.0;
    let out = scratch.path("poppler");
    let status = Command::new("pdftoppm")
        .args(["-gray", "-png", "-r", &format!("{dpi:.4}"), "-singlefile"])
        .arg(pdf)
        .arg(&out)
        .status()
        .expect("pdftoppm: run scripts/test.sh, which installs it");
    assert!(status.success());
    let theirs = image::open(out.with_extension("png")).unwrap().to_luma8();
    let (w, h) = (
        ours.width().min(theirs.width()),
        ours.height().min(theirs.height()),
    );
    assert!(
        w + 2 >= ours.width() && h + 2 >= ours.height(),
        "sizes differ"
    );
    let differ = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| (ours.get_pixel(x, y).0[0] < 128) != (theirs.get_pixel(x, y).0[0] < 128))
        .count();
    let dark = |image: &GrayImage| image.pixels().filter(|p| p.0[0] < 128).count() as f64;
    let (our_ink, their_ink) = (dark(&ours), dark(&theirs));
    assert!(
        (our_ink - their_ink).abs() <= their_ink * 0.01,
        "ink: {our_ink} pixels read, poppler shows {their_ink}"
    );
    differ as f64 / (w as f64 * h as f64)
}

#[test]
fn a_fax_page_read_without_the_renderer_shows_what_poppler_shows() {
    let scratch = school();
    let pdf = form_pdf(&scratch, "price");
    let pages = paper(&scratch, &pdf, 200.0, SIGNED);
    let scanned = scratch.path("g4.pdf");
    scan::g4_pdf(&pages[2..], 200.0, &scanned);
    let plain = fax_read_against_poppler(&scratch, &scanned);
    assert!(
        plain < 0.02,
        "as img2pdf wrote it: {:.3}% of pixels differ",
        plain * 100.0
    );
    // Each way a PDF can turn a fax image's black round: BlackIs1 in its
    // parameters, a Decode array, and both (which cancel).
    let mut doc = lopdf::Document::load(&scanned).unwrap();
    let image_id = doc
        .objects
        .iter()
        .find(|(_, o)| o.as_stream().is_ok_and(|s| s.dict.has(b"DecodeParms")))
        .map(|(id, _)| *id)
        .unwrap();
    for (black_is_1, decode) in [(true, false), (false, true), (true, true)] {
        let stream = doc
            .get_object_mut(image_id)
            .unwrap()
            .as_stream_mut()
            .unwrap();
        let parms = match stream.dict.get_mut(b"DecodeParms").unwrap() {
            lopdf::Object::Array(items) => items[0].as_dict_mut().unwrap(),
            other => other.as_dict_mut().unwrap(),
        };
        parms.set("BlackIs1", black_is_1);
        match decode {
            true => stream.dict.set("Decode", vec![1.into(), 0.into()]),
            false => {
                stream.dict.remove(b"Decode");
            }
        }
        let turned = scratch.path(&format!("g4-{black_is_1}-{decode}.pdf"));
        doc.save(&turned).unwrap();
        let differ = fax_read_against_poppler(&scratch, &turned);
        assert!(
            differ < 0.02,
            "BlackIs1 {black_is_1}, Decode [1 0] {decode}: {:.3}% of pixels differ",
            differ * 100.0
        );
    }
}
