//! `aup serve` as the office uses it: the real binary on a loopback port, a real
//! HTTP client, and headless Chromium (tests/py/office_in_chromium.py) for the
//! pages; files copied into the inbox the ways copiers and people copy them.

mod common;
mod office;
mod scan;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Scratch, repo, sqlite};
use image::Luma;
use office::*;

#[test]
fn the_office_files_scans_in_a_real_browser() {
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    // Ben's return comes off the copier with a stained page 3: quarantined.
    let (_, ben) = form(&scratch, "ben");
    std::fs::write(
        scratch.path("inbox/copier-0001.pdf"),
        scan_with_smudged_last_page(&scratch, "ben"),
    )
    .unwrap();
    wait_until(
        &scratch,
        "SELECT count(*) FROM quarantine WHERE settled IS NULL",
        1,
        Duration::from_secs(90),
    );
    let amelia_scan = scratch.path("amelia-signed.pdf");
    std::fs::write(&amelia_scan, signed_scan(&scratch, "amelia")).unwrap();

    let shots = repo().join("target/test-artefacts/serve");
    std::fs::create_dir_all(&shots).unwrap();
    let csv = scratch.path("browser.csv");
    let output = Command::new("python3")
        .arg(repo().join("tests/py/office_in_chromium.py"))
        .arg(&server.url)
        .arg(&amelia_scan)
        .arg("Okafor")
        .arg("3")
        .arg(&csv)
        .arg(&shots)
        .arg(scratch.form_pdf("pakeman", "chloe"))
        .output()
        .expect("python3 with selenium: run scripts/test.sh, which installs it");
    assert!(
        output.status.success(),
        "the browser scenario failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(scratch.path("serve.log")).unwrap_or_default()
    );

    // The evidence page of Amelia's return, as the office's PDF viewer shows it.
    let evidence = std::fs::read_dir(scratch.path("archive/pakeman/2025-26"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".evidence.pdf"))
        .expect("an evidence page");
    common::run_tool(
        "pdftoppm",
        &[
            "-png".as_ref(),
            "-r".as_ref(),
            "70".as_ref(),
            "-singlefile".as_ref(),
            evidence.as_os_str(),
            shots.join("evidence").as_os_str(),
        ],
    );
    let said = common::pdftotext(&evidence);
    assert!(said.contains("Pakeman Primary School, 2025-26"), "{said}");
    assert!(
        said.contains("received amelia-signed.pdf (uploaded)"),
        "{said}"
    );
    assert!(
        !said.contains("T0")
            && !said.contains(
                "Z
"
            ),
        "an RFC 3339 time: {said}"
    );

    // What the browser did is what the archive says.
    let status = scratch
        .aup(&["status", "--year", "2025-26", "--format", "csv"])
        .success()
        .stdout();
    // Byte for byte, with the BOM Excel needs.
    let downloaded = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        downloaded, status,
        "the page's CSV is `aup status --format csv`"
    );
    assert!(status.contains("Amelia Hart,Teacher,signed"), "{status}");
    assert!(status.contains("Ben Okafor,TA,signed"), "{status}");
    let shown = scratch.aup(&["show", &ben]).success().stdout();
    assert!(
        shown.contains("incomplete") && shown.contains("accepted"),
        "{shown}"
    );
    let audit = sqlite(
        &scratch.path("archive"),
        "SELECT action || ': ' || detail FROM audit",
    );
    assert!(
        audit.contains("upload: ") && audit.contains("by office"),
        "{audit}"
    );
    assert!(
        audit.contains("assign: ") && audit.contains("quarantine entry 1 assigned to"),
        "{audit}"
    );
    scratch.aup(&["audit", "verify"]).success();
    for shot in ["overview", "school-year", "quarantine"] {
        let png = shots.join(format!("{shot}.png"));
        let image = image::open(&png).unwrap().to_luma8();
        let dark = image.pixels().filter(|p| p.0[0] < 128).count();
        assert!(dark > 2_000, "{shot}.png is blank");
    }
}

#[test]
fn every_page_needs_a_session() {
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    // Plain HTTP on loopback: no HSTS, which would break the next visit.
    assert_eq!(
        Client::anonymous(&server)
            .get("/login")
            .header("strict-transport-security"),
        None
    );
    let anonymous = Client::anonymous(&server);
    let (_, amelia) = form(&scratch, "amelia");
    for path in [
        "/".to_owned(),
        "/school/pakeman/2025-26".to_owned(),
        "/school/pakeman/2025-26/status.csv".to_owned(),
        "/school/pakeman/2025-26/chase".to_owned(),
        format!("/form/{amelia}"),
        format!("/form/{amelia}/evidence"),
        format!("/form/{amelia}/return/1"),
        format!("/form/{amelia}/issued"),
        "/upload".to_owned(),
        "/upload/results".to_owned(),
        "/quarantine".to_owned(),
        "/quarantine/1".to_owned(),
        "/quarantine/1/image".to_owned(),
        "/quarantine/1/thumb".to_owned(),
        "/check".to_owned(),
        "/issue".to_owned(),
        "/issue/pakeman/2025-26/print-all".to_owned(),
    ] {
        let answer = anonymous.get(&path);
        assert_eq!(answer.status, 303, "{path}");
        let to = answer.header("location").unwrap();
        assert!(to.starts_with("/login?next="), "{path} -> {to}");
    }
    // Actions without a session are refused before anything happens.
    for path in [
        "/upload",
        "/quarantine/1/assign",
        "/quarantine/1/set-aside",
        "/issue",
        "/check",
    ] {
        let answer = anonymous.post_form(path, "csrf=0");
        assert_eq!(answer.status, 403, "{path}");
    }
}

#[test]
fn sign_in_cookies_tokens_and_roles() {
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    let mut client = Client::anonymous(&server);
    let answer = client.sign_in("office", "office password 1");
    assert_eq!(answer.status, 303);
    let session = answer
        .all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("aup_session="))
        .unwrap()
        .to_owned();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Max-Age="), "{session}");

    // A state-changing request without the page's token, or with another, is refused.
    let quarantined_before = count(&scratch, "SELECT count(*) FROM audit");
    let missing = client.post_form("/quarantine/1/set-aside", "");
    assert_eq!(missing.status, 403, "{}", missing.text());
    assert!(
        missing.text().contains("security token"),
        "{}",
        missing.text()
    );
    let wrong = client.post_form(
        "/quarantine/1/set-aside",
        &format!("csrf={}", "0".repeat(64)),
    );
    assert_eq!(wrong.status, 403);
    assert_eq!(
        count(&scratch, "SELECT count(*) FROM audit"),
        quarantined_before
    );
    // The sign-in form needs its own token too.
    let forged =
        Client::anonymous(&server).post_form("/login", "name=office&password=office+password+1");
    assert_eq!(forged.status, 403);

    // The office cannot issue forms; the viewer cannot upload or assign.
    assert_eq!(client.get("/issue").status, 403);
    let viewer = Client::signed_in(&server, "viewer");
    assert_eq!(viewer.get("/upload").status, 403);
    let upload = viewer.upload("/upload", "scan.pdf", b"%PDF-1.7\n");
    assert_eq!(upload.status, 403);
    let assign = viewer.post_form(
        "/quarantine/1/assign",
        &format!("csrf={}&form_id=PAK-2526-0001-L&page=1", viewer.csrf),
    );
    assert_eq!(assign.status, 403);
    assert!(inbox_files(&scratch).is_empty());

    // Signing out ends the session.
    let out = client.post_form("/logout", &format!("csrf={}", client.csrf));
    assert_eq!(out.status, 303);
    assert_eq!(client.get("/").status, 303);

    // Guessing is braked: after five failures even the right password waits.
    let mut guesser = Client::anonymous(&server);
    for _ in 0..5 {
        assert_eq!(guesser.sign_in("head", "wrong password").status, 401);
    }
    let braked = guesser.sign_in("head", "head password 1");
    assert_eq!(braked.status, 429);
    assert!(
        braked.text().contains("Too many failed sign-ins"),
        "{}",
        braked.text()
    );
    // Another account is not locked by them.
    assert_eq!(
        Client::anonymous(&server)
            .sign_in("office", "office password 1")
            .status,
        303
    );
}

#[test]
fn downloads_come_from_the_index_never_from_the_url() {
    let scratch = Scratch::with_shipped_schools();
    scratch.write("schools/pakeman.staff.csv", ROSTER);
    scratch.write(
        "schools/kensington.staff.csv",
        "Staff Code,Forename,Surname,Job Title\nK1,Quinn,Adams,Teacher\n",
    );
    std::fs::remove_file(scratch.path("schools/st-margarets.yaml")).unwrap();
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    add_user(&scratch, "office", "office", &[]);
    add_user(&scratch, "kensington", "office", &["kensington"]);
    let server = Server::start(&scratch, &[]);
    let office = Client::signed_in(&server, "office");
    let (_, amelia) = form(&scratch, "amelia");

    // The whole-archive account can print Amelia's form again.
    let issued = office.get(&format!("/form/{amelia}/issued"));
    assert_eq!(issued.status, 200);
    assert_eq!(issued.header("content-type"), Some("application/pdf"));
    assert!(issued.body.starts_with(b"%PDF-"));
    for path in [
        "/form/..%2F..%2F..%2Fetc%2Fpasswd/evidence".to_owned(),
        "/form/%2Fetc%2Fpasswd/return/1".to_owned(),
        format!("/form/{amelia}/return/0"),
        format!("/form/{amelia}/return/..%2F..%2Faup.sqlite"),
        "/school/..%2F..%2Fetc/2025-26".to_owned(),
        "/school/pakeman/..%2F..%2F/status.csv".to_owned(),
        "/issue/..%2F..%2Fetc/2025-26/print-all".to_owned(),
        "/quarantine/99/image".to_owned(),
    ] {
        let answer = office.get(&path);
        assert!(
            answer.status == 404 || answer.status == 400 || answer.status == 403,
            "{path}: {}",
            answer.status
        );
        assert!(!answer.text().contains("root:"), "{path}");
        assert!(!answer.body.starts_with(b"SQLite"), "{path}");
    }

    // An account for Kensington sees no Pakeman form, page or file.
    let kensington = Client::signed_in(&server, "kensington");
    for path in [
        format!("/form/{amelia}"),
        format!("/form/{amelia}/issued"),
        "/school/pakeman/2025-26".to_owned(),
        "/school/pakeman/2025-26/status.csv".to_owned(),
    ] {
        assert_eq!(kensington.get(&path).status, 404, "{path}");
    }
    let overview = kensington.get("/").text();
    assert!(overview.contains("Kensington"), "{overview}");
    assert!(!overview.contains("Pakeman"), "{overview}");
    assert_eq!(kensington.get("/school/kensington/2025-26").status, 200);
}

#[test]
fn a_roster_name_with_markup_is_shown_as_text() {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nX1,<script>alert(1)</script>,\"O'Neil & <b>Sons</b>\",Teacher\n",
    );
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    add_user(&scratch, "office", "office", &[]);
    let server = Server::start(&scratch, &[]);
    let office = Client::signed_in(&server, "office");
    let page = office.get("/school/pakeman/2025-26");
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(!html.contains("<script>alert(1)</script>"), "{html}");
    assert!(!html.contains("<b>Sons</b>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    let search = office.get("/school/pakeman/2025-26?q=%3Cscript%3E%22%3E");
    assert!(
        !search.text().contains("<script>\">"),
        "the search box echoes escaped"
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("script-src 'self'"),
        "inline scripts are refused by the browser too"
    );
}

#[test]
fn an_upload_over_the_limit_is_refused_and_leaves_nothing() {
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    let office = Client::signed_in(&server, "office");
    let too_big = vec![b'%'; 100 * 1024 * 1024 + 10];
    let answer = office.upload("/upload", "whole-term.pdf", &too_big);
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert!(
        answer
            .text()
            .contains("whole-term.pdf is larger than the upload limit of 100 MB"),
        "{}",
        answer.text()
    );
    assert!(
        inbox_files(&scratch).is_empty(),
        "{:?}",
        inbox_files(&scratch)
    );
    assert_eq!(count(&scratch, "SELECT count(*) FROM uploads"), 0);
}

#[test]
fn an_upload_is_filed_and_its_result_is_found_by_the_page() {
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    let office = Client::signed_in(&server, "office");
    let bytes = signed_scan(&scratch, "chloe");
    let answer = office.upload("/upload", "../../Chloe's form.pdf", &bytes);
    assert_eq!(answer.status, 200, "{}", answer.text());
    // Written only into the inbox's web/ folder, under a name we made.
    let written = inbox_files(&scratch);
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(
        written[0].starts_with(scratch.path("inbox/web")),
        "{written:?}"
    );
    assert!(
        written[0].to_string_lossy().ends_with("Chloe_s_form.pdf"),
        "{written:?}"
    );
    wait_until(
        &scratch,
        "SELECT count(*) FROM returns WHERE verdict = 'accepted'",
        1,
        Duration::from_secs(60),
    );
    let results: serde_json::Value =
        serde_json::from_slice(&office.get("/upload/results").body).unwrap();
    let upload = &results["uploads"][0];
    assert_eq!(upload["name"], "../../Chloe's form.pdf");
    assert_eq!(upload["state"], "filed");
    assert_eq!(upload["forms"][0]["verdict"], "accepted");
    assert_eq!(upload["forms"][0]["person"], "Chloe Price");
    // The same bytes again: said to be a duplicate, filed once.
    assert_eq!(office.upload("/upload", "again.pdf", &bytes).status, 200);
    wait_until(
        &scratch,
        "SELECT count(*) FROM uploads",
        2,
        Duration::from_secs(5),
    );
    let start = Instant::now();
    while !inbox_files(&scratch).is_empty() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let results: serde_json::Value =
        serde_json::from_slice(&office.get("/upload/results").body).unwrap();
    assert_eq!(results["uploads"][0]["state"], "duplicate", "{results:#}");
    assert_eq!(count(&scratch, "SELECT count(*) FROM returns"), 1);
}

#[test]
fn a_scan_copied_slowly_is_filed_once_after_it_settles() {
    let scratch = office();
    let _server = Server::start(&scratch, &["--settle", "2"]);
    let bytes = signed_scan(&scratch, "amelia");
    // Written in eight chunks over four seconds, as a copier over SMB writes.
    let path = scratch.path("inbox/slow.pdf");
    let mut file = std::fs::File::create(&path).unwrap();
    for chunk in bytes.chunks(bytes.len().div_ceil(8)) {
        file.write_all(chunk).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            count(&scratch, "SELECT count(*) FROM received"),
            0,
            "taken while still growing"
        );
    }
    drop(file);
    wait_until(
        &scratch,
        "SELECT count(*) FROM returns WHERE verdict = 'accepted'",
        1,
        Duration::from_secs(60),
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(count(&scratch, "SELECT count(*) FROM received"), 1);
    assert_eq!(count(&scratch, "SELECT count(*) FROM returns"), 1);
    assert_eq!(
        count(&scratch, "SELECT count(*) FROM quarantine"),
        0,
        "no half file quarantined"
    );
    assert!(inbox_files(&scratch).is_empty());
}

#[test]
fn files_in_subfolders_are_filed() {
    let scratch = office();
    let _server = Server::start(&scratch, &[]);
    let folder = scratch.path("inbox/copier/2025-09");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("scan 0001.pdf"), signed_scan(&scratch, "ben")).unwrap();
    wait_until(
        &scratch,
        "SELECT count(*) FROM returns WHERE verdict = 'accepted'",
        1,
        Duration::from_secs(60),
    );
    let name = sqlite(&scratch.path("archive"), "SELECT name FROM received");
    assert_eq!(name.trim(), "copier/2025-09/scan 0001.pdf");
}

#[test]
fn polling_files_a_scan_without_notifications() {
    let scratch = office();
    let _server = Server::start(&scratch, &["--poll", "1"]);
    let log = std::fs::read_to_string(scratch.path("serve.log")).unwrap();
    assert!(log.contains("polling every 1 s"), "{log}");
    std::fs::write(
        scratch.path("inbox/scan.pdf"),
        signed_scan(&scratch, "amelia"),
    )
    .unwrap();
    wait_until(
        &scratch,
        "SELECT count(*) FROM returns WHERE verdict = 'accepted'",
        1,
        Duration::from_secs(60),
    );
}

#[test]
fn two_hundred_files_dropped_at_once_with_a_cli_ingest_beside_are_each_filed_once() {
    let scratch = office();
    let _server = Server::start(&scratch, &[]);
    // Three signed forms and 197 pages that are no form of ours (each different).
    let mut files: Vec<(String, Vec<u8>)> = ["amelia", "ben", "chloe"]
        .iter()
        .map(|who| (format!("{who}.pdf"), signed_scan(&scratch, who)))
        .collect();
    for n in 0..197u32 {
        // A printed note, no code: a bar whose length tells the pages apart.
        let mut page = image::GrayImage::from_pixel(240, 320, Luma([250]));
        for y in 100..140 {
            for x in 10..(15 + n) {
                page.put_pixel(x.min(239), y, Luma([20]));
            }
        }
        let mut png = Vec::new();
        page.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        files.push((format!("note-{n:03}.png"), png));
    }
    // Dropped at once: written hidden, then renamed in, as a copier's batch lands.
    for (name, bytes) in &files {
        let hidden = scratch.path(&format!("inbox/.{name}"));
        std::fs::write(&hidden, bytes).unwrap();
    }
    for (name, _) in &files {
        std::fs::rename(
            scratch.path(&format!("inbox/.{name}")),
            scratch.path(&format!("inbox/{name}")),
        )
        .unwrap();
    }
    // Somebody runs the CLI at the same time: the archive's lock keeps them apart.
    let cli = scratch.aup(&["ingest", "--settle", "0"]);
    let start = Instant::now();
    while !inbox_files(&scratch).is_empty() && start.elapsed() < Duration::from_secs(240) {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        inbox_files(&scratch).is_empty(),
        "{} files left; CLI said {}; server said {}",
        inbox_files(&scratch).len(),
        cli.stderr(),
        std::fs::read_to_string(scratch.path("serve.log")).unwrap_or_default()
    );
    wait_until(
        &scratch,
        "SELECT count(*) FROM received",
        200,
        Duration::from_secs(30),
    );
    assert_eq!(
        count(&scratch, "SELECT count(DISTINCT sha256) FROM received"),
        200
    );
    assert_eq!(count(&scratch, "SELECT count(*) FROM returns"), 3);
    assert_eq!(
        count(
            &scratch,
            "SELECT count(*) FROM returns WHERE verdict = 'accepted'"
        ),
        3
    );
    assert_eq!(
        count(&scratch, "SELECT count(*) FROM quarantine"),
        197,
        "each foreign page quarantined once"
    );
    assert_eq!(
        count(
            &scratch,
            "SELECT count(DISTINCT received_sha256) FROM quarantine"
        ),
        197
    );
}

#[test]
fn the_shipped_service_unit_starts_the_server_it_describes() {
    let scratch = office();
    let unit = std::fs::read_to_string(repo().join("deploy/aup-serve.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/aup"));
    let root = scratch.dir.path().to_string_lossy().into_owned();
    let args: Vec<String> = words
        .map(|w| match w {
            "127.0.0.1:8080" => "127.0.0.1:0".to_owned(),
            other => other.replace("/srv/aup", &root),
        })
        .collect();
    assert!(args.contains(&"--listen".to_owned()) && args.contains(&"127.0.0.1:0".to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&scratch, &args[1..]);
    let office = Client::signed_in(&server, "office");
    assert_eq!(office.get("/").status, 200);
    assert!(unit.contains("ReadWritePaths=/srv/aup") && unit.contains("NoNewPrivileges=yes"));
}

#[test]
fn another_address_needs_insecure_lan_and_accounts_need_good_passwords() {
    let scratch = office();
    let refused = scratch.aup(&["serve", "--listen", "0.0.0.0:0"]).failure();
    assert!(
        refused.contains("refusing to serve plain HTTP on 0.0.0.0:0"),
        "{refused}"
    );
    assert!(refused.contains("--insecure-lan"), "{refused}");

    let short = scratch.aup_stdin(
        &[
            "user",
            "add",
            "clerk",
            "--role",
            "office",
            "--password-stdin",
        ],
        "short\n",
    );
    assert_eq!(short.code(), Some(1));
    assert!(
        short.stderr().contains("at least 10 characters"),
        "{}",
        short.stderr()
    );
    let taken = scratch.aup_stdin(
        &[
            "user",
            "add",
            "office",
            "--role",
            "office",
            "--password-stdin",
        ],
        "a long enough one\n",
    );
    assert_eq!(taken.code(), Some(1));
    assert!(
        taken
            .stderr()
            .contains("there is an account called office already")
    );
    let odd = scratch.aup_stdin(
        &["user", "add", "<b>", "--role", "office", "--password-stdin"],
        "a long enough one\n",
    );
    assert!(
        odd.stderr().contains("not a usable account name"),
        "{}",
        odd.stderr()
    );
    let listed = scratch.aup(&["user", "list"]).success().stdout();
    assert!(listed.contains("office\toffice\tevery school"), "{listed}");
    assert!(!listed.contains("argon2"), "hashes are not listed");
    let stored = sqlite(
        &scratch.path("archive"),
        "SELECT password_hash FROM users WHERE name = 'office'",
    );
    assert!(stored.trim().starts_with("$argon2id$v=19$"), "{stored}");
    assert!(!stored.contains("office password 1"));
}

/// curl's answer (headers and body) to a request over TLS trusting `ca`.
fn curl_tls(ca: &Path, jar: &Path, args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(["-s", "-i", "--max-time", "20", "--cacert"])
        .arg(ca)
        .arg("-c")
        .arg(jar)
        .arg("-b")
        .arg(jar)
        .args(args)
        .output()
        .expect("curl")
}

#[test]
fn over_tls_any_address_may_be_served_and_the_cookie_is_secure() {
    let scratch = office();
    let (cert, key) = (scratch.path("cert.pem"), scratch.path("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args([
            "-subj",
            "/CN=aup.school.test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = Server::start(
        &scratch,
        &[
            "--listen",
            "0.0.0.0:0",
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
        ],
    );
    assert!(server.url.starts_with("https://0.0.0.0:"), "{}", server.url);
    let port = server.url.rsplit(':').next().unwrap();
    let base = format!("https://127.0.0.1:{port}");
    let jar = scratch.path("cookies.txt");
    let form = curl_tls(&cert, &jar, &[&format!("{base}/login")]);
    let form = String::from_utf8_lossy(&form.stdout).into_owned();
    assert!(
        form.starts_with("HTTP/2 200") || form.starts_with("HTTP/1.1 200"),
        "{form}"
    );
    let token = hidden_csrf(&form);
    let signed_in = curl_tls(
        &cert,
        &jar,
        &[
            "--data",
            &format!("csrf={token}&name=office&password=office+password+1"),
            &format!("{base}/login"),
        ],
    );
    let signed_in = String::from_utf8_lossy(&signed_in.stdout).into_owned();
    let cookie = signed_in
        .lines()
        .find(|l| l.to_lowercase().starts_with("set-cookie: aup_session="))
        .unwrap_or_else(|| panic!("{signed_in}"));
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let overview = curl_tls(&cert, &jar, &[&format!("{base}/")]);
    assert!(String::from_utf8_lossy(&overview.stdout).contains("Who has signed"));
    // Plain HTTP to the TLS port gets no page.
    let plain = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "10",
            &format!("http://127.0.0.1:{port}/login"),
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("Sign in"));

    // A key that is not a key is said at once, naming the file.
    std::fs::write(scratch.path("broken.pem"), "not a key\n").unwrap();
    let refused = scratch
        .aup(&["serve", "--tls-cert", "cert.pem", "--tls-key", "broken.pem"])
        .failure();
    assert!(
        refused.contains("cannot read a private key from broken.pem"),
        "{refused}"
    );
}

/// A multipart body with one file field, as a browser's plain form sends it.

#[test]
fn a_page_set_aside_leaves_the_list_but_stays_in_the_archive() {
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    let office = Client::signed_in(&server, "office");
    // A photo of the staff-room noticeboard, uploaded by mistake.
    let mut page = image::GrayImage::from_pixel(600, 800, Luma([245]));
    for y in 200..260 {
        for x in 50..550 {
            page.put_pixel(x, y, Luma([30]));
        }
    }
    let mut png = Vec::new();
    page.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let uploaded = office.post_file_form("/upload", "noticeboard.png", &png);
    assert_eq!(uploaded.status, 303, "{}", uploaded.text());
    assert_eq!(uploaded.header("location"), Some("/upload"));
    wait_until(
        &scratch,
        "SELECT count(*) FROM quarantine",
        1,
        Duration::from_secs(60),
    );
    let id = count(&scratch, "SELECT id FROM quarantine");
    let listed = office.get("/quarantine").text();
    assert!(listed.contains("noticeboard.png"), "{listed}");
    let entry = office.get(&format!("/quarantine/{id}"));
    assert!(entry.text().contains("Set aside"), "{}", entry.text());
    let image = office.get(&format!("/quarantine/{id}/image"));
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("image/png"));

    let set_aside = office.post_form(
        &format!("/quarantine/{id}/set-aside"),
        &format!("csrf={}", office.csrf),
    );
    assert_eq!(set_aside.status, 303, "{}", set_aside.text());
    assert!(!office.get("/quarantine").text().contains("noticeboard.png"));
    let all = office.get("/quarantine?all=1").text();
    assert!(all.contains("set aside by office"), "{all}");
    let path = sqlite(&scratch.path("archive"), "SELECT path FROM quarantine");
    assert!(
        scratch.path("archive").join(path.trim()).is_file(),
        "never deleted"
    );
    // Settled once: a second click changes nothing.
    let again = office.post_form(
        &format!("/quarantine/{id}/set-aside"),
        &format!("csrf={}", office.csrf),
    );
    assert_eq!(again.status, 409);
    let audit = sqlite(
        &scratch.path("archive"),
        "SELECT detail FROM audit WHERE action = 'quarantine'",
    );
    assert_eq!(audit.trim().lines().count(), 1, "{audit}");
    assert!(audit.contains("set aside by office"), "{audit}");
    scratch.aup(&["audit", "verify"]).success();
}

#[test]
fn a_pdf_is_checked_without_being_filed() {
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    let viewer = Client::signed_in(&server, "viewer");
    let (pdf, id) = form(&scratch, "amelia");
    // The form as issued, unsigned: checked as aup verify checks it.
    let checked = viewer.post_file_form("/check", "amelia.pdf", &std::fs::read(&pdf).unwrap());
    assert_eq!(checked.status, 200, "{}", checked.text());
    let html = checked.text();
    assert!(
        html.contains("amelia.pdf: <span class=\"state incomplete\">incomplete</span>"),
        "{html}"
    );
    assert!(html.contains(&id) && html.contains("Amelia Hart"), "{html}");
    // Not a PDF: said plainly.
    let junk = viewer.post_file_form("/check", "notes.txt", b"shopping list");
    assert!(
        junk.text()
            .contains("notes.txt</strong> could not be checked"),
        "{}",
        junk.text()
    );
    assert_eq!(
        count(&scratch, "SELECT count(*) FROM received"),
        0,
        "nothing filed"
    );
    let leftovers: Vec<_> = walkdir(&scratch.path("archive"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".checking"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_head_issues_forms_from_the_page() {
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    let head = Client::signed_in(&server, "head");
    let page = head.get("/issue").text();
    assert!(page.contains("<option>pakeman</option>"), "{page}");
    let issued = head.post_form(
        "/issue",
        &format!("csrf={}&school=pakeman&year=2026-27", head.csrf),
    );
    assert_eq!(issued.status, 200, "{}", issued.text());
    let html = issued.text();
    assert!(html.contains("3 forms for pakeman 2026-27"), "{html}");
    let print_all = head.get("/issue/pakeman/2026-27/print-all");
    assert_eq!(print_all.status, 200);
    assert_eq!(print_all.header("content-type"), Some("application/pdf"));
    let pages = common::run_tool(
        "pdfinfo",
        &[scratch
            .path("out/pakeman/2026-27/print-all.pdf")
            .as_os_str()],
    );
    assert!(pages.contains("Pages:"), "{pages}");
    let listed = head.get("/").text();
    assert!(
        listed.contains("2026-27"),
        "the new year is on the overview"
    );
    let audit = sqlite(
        &scratch.path("archive"),
        "SELECT detail FROM audit WHERE action = 'issue'",
    );
    assert!(
        audit.contains("pakeman 2026-27: 3 forms") && audit.contains("by head"),
        "{audit}"
    );
    // A school that is not in the folder is refused.
    let unknown = head.post_form(
        "/issue",
        &format!("csrf={}&school=..%2Fetc&year=2026-27", head.csrf),
    );
    assert_eq!(unknown.status, 400);
}

#[test]
fn an_account_for_one_school_sees_only_its_own_quarantine() {
    let scratch = office();
    add_user(&scratch, "kensington", "office", &["kensington"]);
    let server = Server::start(&scratch, &[]);
    std::fs::write(
        scratch.path("inbox/copier-0001.pdf"),
        scan_with_smudged_last_page(&scratch, "ben"),
    )
    .unwrap();
    wait_until(
        &scratch,
        "SELECT count(*) FROM quarantine",
        1,
        Duration::from_secs(60),
    );
    let id = count(&scratch, "SELECT id FROM quarantine");
    let office = Client::signed_in(&server, "office");
    assert!(office.get("/quarantine").text().contains("copier-0001.pdf"));
    let other = Client::signed_in(&server, "kensington");
    assert!(!other.get("/quarantine").text().contains("copier-0001.pdf"));
    assert!(!other.get("/").text().contains("quarantined page"));
    for path in [
        format!("/quarantine/{id}"),
        format!("/quarantine/{id}/image"),
        format!("/quarantine/{id}/thumb"),
    ] {
        assert_eq!(other.get(&path).status, 404, "{path}");
    }
    let set_aside = other.post_form(
        &format!("/quarantine/{id}/set-aside"),
        &format!("csrf={}", other.csrf),
    );
    assert_eq!(set_aside.status, 404);
    assert_eq!(
        count(
            &scratch,
            "SELECT count(*) FROM quarantine WHERE settled IS NULL"
        ),
        1
    );
}

#[test]
fn a_removed_account_is_signed_out_and_big_forms_are_not_read() {
    let scratch = office();
    let server = Server::start(&scratch, &[]);
    let viewer = Client::signed_in(&server, "viewer");
    assert_eq!(viewer.get("/").status, 200);
    scratch.aup(&["user", "remove", "viewer"]).success();
    assert_eq!(viewer.get("/").status, 303, "removed, so signed out");
    // A sign-in (or any form) is small: a huge body is refused unread. The
    // request announces 200 KB and sends none of it: the refusal must come
    // without the server waiting for the body.
    let client = Client::anonymous(&server);
    let form = client.get("/login");
    let login_cookie = cookie_value(&form, "aup_login").unwrap();
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /login HTTP/1.1\r\nHost: {address}\r\nCookie: aup_login={login_cookie}\r\nX-CSRF-Token: {login_cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 204800\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 64];
    let read = std::io::Read::read(&mut stream, &mut head).expect("an answer before the body");
    let head = String::from_utf8_lossy(&head[..read]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
}

#[test]
fn behind_a_proxy_cookies_are_secure_and_clients_are_told_apart() {
    let scratch = office();
    let server = Server::start(&scratch, &["--behind-proxy"]);
    // As Caddy forwards a sign-in: the client's address last in X-Forwarded-For.
    let sign_in = |from: &str, password: &str| {
        let client = Client::anonymous(&server);
        let form = client.get("/login");
        let login_cookie = cookie_value(&form, "aup_login").unwrap();
        let token = hidden_csrf(&form.text());
        answer(
            client
                .agent
                .post(&format!("{}/login", client.base))
                .header("Cookie", &format!("aup_login={login_cookie}"))
                .header("X-Forwarded-For", &format!("10.9.9.9, {from}"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(format!("csrf={token}&name=head&password={password}").as_bytes()),
        )
    };
    let signed_in = sign_in("203.0.113.7", "head+password+1");
    assert_eq!(signed_in.status, 303);
    let cookie = cookie_value(&signed_in, "aup_session").unwrap();
    let header = signed_in
        .all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("aup_session=") && c.contains(&cookie))
        .unwrap();
    assert!(header.contains("; Secure"), "{header}");
    // Behind a TLS proxy, browsers are told to come back over HTTPS only.
    for answer in [&signed_in, &Client::anonymous(&server).get("/login")] {
        assert_eq!(
            answer.header("strict-transport-security"),
            Some("max-age=31536000")
        );
    }
    // Twenty wrong guesses from one client (at five names' worth) stop that
    // client, not the next one behind the same proxy.
    for n in 0..20 {
        let client = Client::anonymous(&server);
        let form = client.get("/login");
        let login_cookie = cookie_value(&form, "aup_login").unwrap();
        let token = hidden_csrf(&form.text());
        let wrong = answer(
            client
                .agent
                .post(&format!("{}/login", client.base))
                .header("Cookie", &format!("aup_login={login_cookie}"))
                .header("X-Forwarded-For", "198.51.100.4")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(format!("csrf={token}&name=guess{n}&password=wrong").as_bytes()),
        );
        assert_eq!(wrong.status, 401);
    }
    assert_eq!(sign_in("198.51.100.4", "head+password+1").status, 429);
    assert_eq!(sign_in("203.0.113.8", "head+password+1").status, 303);
}
