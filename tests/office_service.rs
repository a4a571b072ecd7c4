//! The office's service under a real day's strain: many uploads at once with a
//! CLI ingest beside them (every upload in the audit log, once), an account
//! for one school uploading another school's scan (never filed there, nothing
//! of it shown back), formula-like names in the CSV, and broken files whose
//! reasons an office must be able to read.

mod common;
mod office;
mod scan;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Scratch, sqlite};
use image::Luma;
use office::*;

/// A distinct small PNG: a photo of something that is not a form.
fn not_a_form(n: u32) -> Vec<u8> {
    let mut page = image::GrayImage::from_pixel(320, 240, Luma([240]));
    for x in 0..(n % 300 + 10) {
        page.put_pixel(x, 100 + n % 100, Luma([20]));
    }
    let mut png = Vec::new();
    page.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

fn audit_verify(scratch: &Scratch) -> String {
    scratch.aup(&["audit", "verify"]).success().stdout()
}

/// Uploads `files` at once, each from its own thread, and waits until each is
/// filed; then every upload must have exactly one audit entry.
fn uploads_at_once(scratch: &Scratch, server: &Server, first: u32, files: u32) {
    let office = Arc::new(Client::signed_in(server, "office"));
    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let sending: Vec<_> = (first..first + files)
            .map(|n| {
                let office = office.clone();
                scope.spawn(move || {
                    let answer =
                        office.upload("/upload", &format!("photo {n}.png"), &not_a_form(n));
                    (answer.status, answer.text())
                })
            })
            .collect();
        sending.into_iter().map(|s| s.join().unwrap()).collect()
    });
    for (status, text) in &statuses {
        assert_eq!(*status, 200, "an upload was refused: {text}");
    }
    let total = i64::from(first + files - 1);
    wait_until(
        scratch,
        "SELECT COUNT(*) FROM uploads",
        total,
        Duration::from_secs(60),
    );
    wait_until(
        scratch,
        "SELECT COUNT(*) FROM uploads JOIN received USING (sha256)",
        total,
        Duration::from_secs(180),
    );
}

#[test]
fn eight_then_fifty_uploads_at_once_beside_a_cli_ingest_each_have_one_audit_entry() {
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    uploads_at_once(&scratch, &server, 1, 8);

    // Fifty more, while a CLI ingest files another folder into the same archive.
    let copier = scratch.path("copier");
    std::fs::create_dir_all(&copier).unwrap();
    for who in ["amelia", "ben", "chloe"] {
        std::fs::write(
            copier.join(format!("{who}.pdf")),
            signed_scan(&scratch, who),
        )
        .unwrap();
    }
    let cli = std::thread::scope(|scope| {
        let cli = scope.spawn(|| scratch.aup(&["ingest", "copier", "--settle", "0", "--json"]));
        uploads_at_once(&scratch, &server, 9, 50);
        cli.join().unwrap()
    });
    let cli = cli.success();
    assert!(
        !cli.stderr().contains("database is locked"),
        "{}",
        cli.stderr()
    );
    let accepted = cli
        .json_lines()
        .iter()
        .filter(|o| o["verdict"] == "accepted")
        .count();
    assert_eq!(accepted, 3, "{}", cli.stdout());

    // Exactly one audit entry per upload, naming its bytes.
    let uploads = sqlite(&scratch.path("archive"), "SELECT sha256 FROM uploads");
    let uploads: Vec<&str> = uploads.lines().collect();
    assert_eq!(uploads.len(), 58);
    let entries = sqlite(
        &scratch.path("archive"),
        "SELECT detail FROM audit WHERE action = 'upload'",
    );
    assert_eq!(entries.lines().count(), 58, "{entries}");
    for sha in &uploads {
        let naming = entries.lines().filter(|e| e.contains(sha)).count();
        assert_eq!(naming, 1, "upload {sha} has {naming} audit entries");
    }
    assert!(audit_verify(&scratch).contains("intact"));
    let log = std::fs::read_to_string(scratch.path("serve.log")).unwrap();
    assert!(!log.contains("database is locked"), "{log}");
    assert!(!log.contains("cannot record"), "{log}");
}

/// Pakeman and Kensington, both issued; `ken` may file for Kensington only.
fn two_schools() -> Scratch {
    let scratch = Scratch::with_shipped_schools();
    std::fs::remove_file(scratch.path("schools/st-margarets.yaml")).unwrap();
    scratch.write("schools/pakeman.staff.csv", ROSTER);
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    add_user(&scratch, "head", "head", &[]);
    add_user(&scratch, "ken", "office", &["kensington"]);
    scratch
}

fn upload_results(client: &Client) -> serde_json::Value {
    let answer = client.get("/upload/results");
    assert_eq!(answer.status, 200, "{}", answer.text());
    serde_json::from_slice(&answer.body).unwrap()
}

#[test]
fn an_account_for_one_school_cannot_file_another_schools_scan_or_see_it() {
    let scratch = two_schools();
    let server = Server::start(&scratch, &[]);
    let ken = Client::signed_in(&server, "ken");
    let head = Client::signed_in(&server, "head");
    let (_, amelia) = form(&scratch, "amelia");

    // Ken uploads a signed Pakeman scan, and a file holding a Kensington form
    // and a Pakeman one.
    let pakeman_scan = signed_scan(&scratch, "amelia");
    assert_eq!(
        ken.upload("/upload", "scan1.pdf", &pakeman_scan).status,
        200
    );
    let quinn = scratch.form_pdf("kensington", "quinn");
    let mut mixed = scan::paper(&scratch.path("archive"), &quinn, 150.0, scan::SIGNED);
    let (ben_pdf, _) = form(&scratch, "ben");
    mixed.extend(scan::paper(
        &scratch.path("archive"),
        &ben_pdf,
        150.0,
        scan::SIGNED,
    ));
    let mixed = scan::scan_pdf(&mixed, 150.0);
    assert_eq!(ken.upload("/upload", "scan2.pdf", &mixed).status, 200);
    wait_until(
        &scratch,
        "SELECT COUNT(*) FROM uploads JOIN received USING (sha256)",
        2,
        Duration::from_secs(120),
    );

    // Nothing was filed for Pakeman; Kensington's form was.
    let count = |query: &str| office::count(&scratch, query);
    assert_eq!(
        count("SELECT COUNT(*) FROM returns WHERE school = 'pakeman'"),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM returns WHERE school = 'kensington' AND verdict = 'accepted'"),
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM quarantine WHERE reason = 'other_school'"),
        6
    );

    // Ken's page shows neither Pakeman's people nor its pages.
    let results = upload_results(&ken);
    let text = results.to_string();
    for secret in ["Amelia", "Hart", "Okafor", "Pakeman", "pakeman", "PAK-"] {
        assert!(!text.contains(secret), "{secret} shown to ken: {text}");
    }
    assert!(results["inbox"]["last_batch"].is_null(), "{results:#}");
    let uploads = results["uploads"].as_array().unwrap();
    let state = |name: &str| {
        uploads
            .iter()
            .find(|u| u["name"] == name)
            .map(|u| u["state"].clone())
            .unwrap()
    };
    assert_eq!(state("scan1.pdf"), "quarantined");
    assert_eq!(state("scan2.pdf"), "partly-filed");
    assert!(uploads.iter().all(|u| {
        u["quarantined"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["link"] == false)
    }));
    let page = ken.get("/upload").text();
    assert!(
        !page.contains("Amelia") && !page.contains("Pakeman"),
        "{page}"
    );
    let list = ken.get("/quarantine").text();
    assert!(!list.contains("data-entry"), "{list}");
    let entry = sqlite(
        &scratch.path("archive"),
        "SELECT id FROM quarantine WHERE page = 1 AND reason = 'other_school' LIMIT 1",
    );
    assert_eq!(
        ken.get(&format!("/quarantine/{}", entry.trim())).status,
        404
    );
    assert_eq!(
        ken.get(&format!("/quarantine/{}/image", entry.trim()))
            .status,
        404
    );
    assert_eq!(ken.get(&format!("/form/{amelia}")).status, 404);

    // The head, who covers every school, sees why and files the pages by hand.
    let list = head.get("/quarantine").text();
    assert!(list.contains("does not cover"), "{list}");
    let pakeman_sha = sqlite(
        &scratch.path("archive"),
        "SELECT sha256 FROM uploads WHERE name = 'scan1.pdf'",
    );
    let ids = sqlite(
        &scratch.path("archive"),
        &format!(
            "SELECT id || ' ' || page FROM quarantine WHERE received_sha256 = '{}' ORDER BY page",
            pakeman_sha.trim()
        ),
    );
    for line in ids.lines() {
        let (id, page) = line.split_once(' ').unwrap();
        let answer = head.post_form(
            &format!("/quarantine/{id}/assign"),
            &format!("csrf={}&form_id={amelia}&page={page}", head.csrf),
        );
        assert!(answer.status < 400, "{}", answer.text());
    }
    wait_until(
        &scratch,
        &format!(
            "SELECT COUNT(*) FROM returns WHERE form_id = '{amelia}' AND verdict = 'accepted'"
        ),
        1,
        Duration::from_secs(120),
    );
    // A PDF return of another school's form is held back whole, and the head
    // can still file it (the uploader's limit is not applied to the head).
    let chloe = std::fs::read(scratch.form_pdf("pakeman", "chloe")).unwrap();
    assert_eq!(ken.upload("/upload", "scan3.pdf", &chloe).status, 200);
    wait_until(
        &scratch,
        "SELECT COUNT(*) FROM quarantine WHERE reason = 'other_school' AND page IS NULL",
        1,
        Duration::from_secs(120),
    );
    let (_, chloe_id) = form(&scratch, "chloe");
    let whole = sqlite(
        &scratch.path("archive"),
        "SELECT id FROM quarantine WHERE page IS NULL",
    );
    let answer = head.post_form(
        &format!("/quarantine/{}/assign", whole.trim()),
        &format!("csrf={}&form_id={chloe_id}&page=1", head.csrf),
    );
    assert!(
        answer.text().contains("Chloe Price: incomplete"),
        "{}",
        answer.text()
    );
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM returns WHERE form_id = '{chloe_id}'"
        )),
        1
    );
    // ...and ken's page still names nobody of Pakeman, nor lists settled pages.
    let text = upload_results(&ken).to_string();
    assert!(!text.contains("Amelia") && !text.contains("PAK-"), "{text}");
    assert!(audit_verify(&scratch).contains("intact"));
}

#[test]
fn formula_like_roster_names_are_neutralised_in_every_csv_and_kept_in_json() {
    let roster = "Staff Code,Forename,Surname,Job Title\n\
        A1,\"=HYPERLINK(\"\"http://evil.example/\"\",\"\"Click me\"\")\",X,Teacher\n\
        A2,+44 20,Caller,@SUM(A1)\n\
        A3,-2+3,Minus,TA\n\
        A4,Amelia,Hart,Teacher\n";
    let scratch = Scratch::pakeman_issued(roster, &[]);
    let csv = scratch
        .aup(&["status", "--year", "2025-26", "--format", "csv"])
        .success()
        .stdout();
    for cell in [
        "\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"Click me\"\") X\"",
        "'+44 20 Caller",
        "'@SUM(A1)",
        "'-2+3 Minus",
        ",Amelia Hart,",
    ] {
        assert!(csv.contains(cell), "{cell} not in\n{csv}");
    }
    // Every cell, read back as a spreadsheet reads it, starts harmlessly.
    let mut reader =
        csv::ReaderBuilder::new().from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    for record in reader.records() {
        for cell in record.unwrap().iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?}"
            );
        }
    }
    let json = scratch
        .aup(&["status", "--year", "2025-26", "--format", "json"])
        .success()
        .stdout();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"=HYPERLINK(\"http://evil.example/\",\"Click me\") X"),
        "{names:?}"
    );
    assert!(names.contains(&"+44 20 Caller"), "{names:?}");

    // The page's CSV is the same bytes.
    add_user(&scratch, "head", "head", &[]);
    let server = Server::start(&scratch, &[]);
    let head = Client::signed_in(&server, "head");
    let page = head.get("/school/pakeman/2025-26/status.csv");
    assert_eq!(page.status, 200);
    assert_eq!(String::from_utf8(page.body).unwrap(), csv);
}

/// Files that break readers, as offices send them by mistake.
fn hostile_corpus(scratch: &Scratch, dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    write("empty.pdf", b"");
    write("letter.pdf", b"Dear office, the scanner is broken again.\n");
    let amelia = std::fs::read(scratch.form_pdf("pakeman", "amelia")).unwrap();
    write("truncated.pdf", &amelia[..amelia.len() / 3]);
    // A PNG whose first chunk is garbage before IHDR: the decoder's own error
    // quotes the garbage bytes.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x04\xb8:\x80(\x01\x02\x03\x04\0\0\0\0".to_vec();
    png.extend_from_slice(&[0u8; 64]);
    write("broken.png", &png);
    let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    huge.extend_from_slice(&100_000u32.to_be_bytes());
    huge.extend_from_slice(&100_000u32.to_be_bytes());
    huge.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
    write("huge.png", &huge);
    write("cut.jpg", &scan::jpeg(&scan::blank_page(50.0))[..400]);
    write("not-a-tiff.tif", b"II*\0\x08\0\0\0\xff\xff\xff\xff garbage");
    write(
        "control-chars.pdf",
        b"%PDF-1.7\n\x00\x01\x02\x1b[31m\x07%%EOF",
    );
    let locked = dir.join("locked.pdf");
    let status = Command::new("qpdf")
        .args(["--encrypt", "user", "owner", "256", "--"])
        .arg(scratch.form_pdf("pakeman", "ben"))
        .arg(&locked)
        .status()
        .expect("qpdf");
    assert!(status.success());
    common::file_names(dir)
}

/// A sentence an office can read: capital first, a full stop last, nothing
/// of a decoder's dump.
fn assert_plain_sentence(text: &str) {
    assert!(
        text.chars().next().is_some_and(char::is_uppercase),
        "{text:?}"
    );
    assert!(text.ends_with('.'), "{text:?}");
    assert!(
        !text.chars().any(|c| c.is_control() || c == '\u{fffd}'),
        "{text:?}"
    );
    for dump in ["{", "}", "ChunkType", "Format error", "os error", "_", "0x"] {
        assert!(!text.contains(dump), "{dump} in {text:?}");
    }
}

#[test]
fn broken_files_uploaded_through_the_page_get_reasons_an_office_can_read() {
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    let office = Client::signed_in(&server, "office");
    let corpus = scratch.path("corpus");
    let names = hostile_corpus(&scratch, &corpus);
    for name in &names {
        let bytes = std::fs::read(corpus.join(name)).unwrap();
        let answer = office.upload("/upload", name, &bytes);
        assert_eq!(answer.status, 200, "{name}: {}", answer.text());
    }
    // The empty file is refused by nothing; all are filed or quarantined.
    let start = Instant::now();
    let results = loop {
        let results = upload_results(&office);
        let uploads = results["uploads"].as_array().unwrap().clone();
        if uploads.len() == names.len() && uploads.iter().all(|u| u["state"] != "waiting") {
            break uploads;
        }
        assert!(start.elapsed() < Duration::from_secs(180), "{results:#}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let mut quarantined = BTreeSet::new();
    for upload in &results {
        for entry in upload["quarantined"].as_array().unwrap() {
            assert_plain_sentence(entry["reason"]["sentence"].as_str().unwrap());
            quarantined.insert(upload["name"].as_str().unwrap().to_owned());
        }
    }
    for name in [
        "empty.pdf",
        "letter.pdf",
        "truncated.pdf",
        "broken.png",
        "huge.png",
        "locked.pdf",
    ] {
        assert!(
            quarantined.contains(name),
            "{name} not quarantined: {results:#?}"
        );
    }
    // The pages say the same, and the decoder's words only inside the details.
    let list = office.get("/quarantine").text();
    let reasons = between_all(&list, "<div class=\"reason\">", "</div>");
    assert!(reasons.len() >= 6, "{list}");
    for reason in &reasons {
        assert_plain_sentence(&unescape(reason));
    }
    assert!(
        !list.contains("ChunkType") && !list.contains("Format error"),
        "{list}"
    );
    assert!(!list.contains("web/2"), "internal file names shown: {list}");
    for name in ["broken.png", "locked.pdf", "control-chars.pdf"] {
        assert!(
            list.contains(name),
            "{name} not named as it arrived: {list}"
        );
    }
    let upload_page = office.get("/upload").text();
    for reason in between_all(&upload_page, "<span class=\"reason\">", "</span>") {
        assert_plain_sentence(&unescape(&reason));
    }
    let id = sqlite(
        &scratch.path("archive"),
        "SELECT quarantine.id FROM quarantine JOIN uploads ON uploads.sha256 = quarantine.received_sha256 WHERE uploads.name = 'broken.png'",
    );
    let entry = office.get(&format!("/quarantine/{}", id.trim())).text();
    let sentence = between_all(&entry, "<p class=\"reason\">", "</p>");
    assert_plain_sentence(&unescape(&sentence[0]));
    let details = between_all(&entry, "<p class=\"muted details\">", "</p>");
    assert_eq!(details.len(), 1, "{entry}");
    assert!(!details[0].chars().any(|c| c.is_control()), "{details:?}");
}

fn between_all(text: &str, open: &str, close: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(open) {
        let after = &rest[at + open.len()..];
        let end = after.find(close).unwrap_or(after.len());
        found.push(after[..end].to_owned());
        rest = &after[end..];
    }
    found
}

fn unescape(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn a_page_whose_code_is_smudged_is_offered_as_the_page_its_neighbours_say_and_filed_with_one_click()
{
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    let office = Client::signed_in(&server, "office");
    let (_, ben) = form(&scratch, "ben");
    let answer = office.upload(
        "/upload",
        "copier-0001.pdf",
        &scan_with_smudged_last_page(&scratch, "ben"),
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    wait_until(
        &scratch,
        "SELECT COUNT(*) FROM quarantine",
        1,
        Duration::from_secs(120),
    );
    let said = format!("page 3 of Ben Okafor's form {ben}");
    let list = unescape(&office.get("/quarantine").text());
    assert!(list.contains(&format!("Probably {said}.")), "{list}");
    let id = sqlite(&scratch.path("archive"), "SELECT id FROM quarantine")
        .trim()
        .to_owned();
    let entry = office.get(&format!("/quarantine/{id}")).text();
    assert!(entry.contains("id=\"suggested\""), "{entry}");
    // Nothing is filed by the guess alone.
    assert_eq!(
        office::count(
            &scratch,
            "SELECT COUNT(*) FROM returns WHERE verdict = 'accepted'"
        ),
        0
    );
    let hidden = |name: &str| {
        let at = entry.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
        entry[at..].split('"').next().unwrap().to_owned()
    };
    assert_eq!(hidden("form_id"), ben);
    assert_eq!(hidden("page"), "3");
    let answer = office.post_form(
        &format!("/quarantine/{id}/assign"),
        &format!(
            "csrf={}&form_id={}&page={}",
            office.csrf,
            hidden("form_id"),
            hidden("page")
        ),
    );
    assert!(
        answer.text().contains("Ben Okafor: accepted"),
        "{}",
        answer.text()
    );
    // Settled: the guess is no longer offered, and the upload is filed.
    assert!(!office.get("/quarantine?all=1").text().contains("Probably"));
    let results = upload_results(&office);
    assert_eq!(results["uploads"][0]["state"], "filed", "{results:#}");
}
