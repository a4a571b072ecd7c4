//! Returns that arrive by e-mail: the office sends invitations, people reply
//! with a signed PDF or photos of their form, and `aup mail fetch` takes the
//! attachments from the office's mailbox into the inbox, where ingest files
//! them. Real servers on loopback: aiosmtpd relaying through LMTP into
//! Dovecot, which serves the mailboxes over IMAP.

mod common;
mod mailserver;
mod office;
mod scan;

use std::time::Duration;

use common::Scratch;
use mailserver::{Dovecot, SmtpServer};

const ROSTER: &str = "Staff Code,Forename,Surname,Job Title,Email\n\
A1,Amelia,Hart,Teacher,amelia@pakeman.example\n\
A2,Ben,Okafor,TA,ben@pakeman.example\n\
A3,Dev,Patel,Teacher,dev@pakeman.example\n";

const USERS: [(&str, &str); 4] = [
    ("office", "imap password 1"),
    ("amelia", "amelia pw"),
    ("ben", "ben pw"),
    ("dev", "dev pw"),
];

struct Post {
    scratch: Scratch,
    /// Holds the servers' folders; dropped last.
    _servers: Scratch,
    dovecot: Dovecot,
    smtp: SmtpServer,
}

/// Pakeman's forms issued; Dovecot holding everyone's mailbox; an SMTP server
/// delivering into it; mail settings sending through the one and reading the
/// office's mailbox from the other.
fn post() -> Post {
    let servers = Scratch::empty();
    let dovecot = Dovecot::start(&servers.path("dovecot"), &USERS);
    let lmtp = dovecot.lmtp_port.to_string();
    let smtp = SmtpServer::start(&servers.path("unused-maildir"), &["--lmtp", &lmtp]);
    let scratch = Scratch::pakeman_with_roster(ROSTER);
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    scratch
        .aup(&["seal", "init", "--school", "pakeman"])
        .success();
    let password = scratch.write("imap-password", "imap password 1\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
    scratch.write(
        "mail.yaml",
        &format!(
            "from: Pakeman Primary School <office@pakeman.example>\n\
             public_url: https://aup.pakeman.example\n\
             smtp: {{host: 127.0.0.1, port: {}, tls: none}}\n\
             sending: {{per_minute: 600, days: [mon, tue, wed, thu, fri, sat, sun], from: '00:00', until: '24:00'}}\n\
             imap: {{host: 127.0.0.1, port: {}, tls: none, auth: password, username: office, password_file: imap-password}}\n",
            smtp.port, dovecot.imap_port
        ),
    );
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    Post {
        scratch,
        _servers: servers,
        dovecot,
        smtp,
    }
}

impl Post {
    /// Sends a message to the office as a person's mail program would.
    fn reply(&self, from: &str, subject: &str, attachments: &[std::path::PathBuf]) {
        let mut args = vec![
            self.smtp.port.to_string(),
            from.to_owned(),
            "office@pakeman.example".to_owned(),
            subject.to_owned(),
        ];
        for file in attachments {
            args.push("--attach".into());
            args.push(file.display().to_string());
        }
        common::python("send_mail.py", &args);
    }

    /// Amelia replies with her signed form scanned to PDF; Ben with a phone
    /// photo of each page of his.
    fn amelia_and_ben_reply_with_their_forms(&self) {
        let scratch = &self.scratch;
        let scan = scratch.path("amelia-signed.pdf");
        std::fs::write(&scan, office::signed_scan(scratch, "amelia-hart")).unwrap();
        self.reply("amelia@pakeman.example", "Re: AUP", &[scan]);
        let (ben_form, _) = office::form(scratch, "ben-okafor");
        let photos: Vec<_> = scan::paper(&scratch.path("archive"), &ben_form, 150.0, scan::SIGNED)
            .iter()
            .enumerate()
            .map(|(i, page)| {
                let path = scratch.path(&format!("IMG_{i}.jpg"));
                std::fs::write(&path, scan::jpeg(page)).unwrap();
                path
            })
            .collect();
        self.reply("ben@pakeman.example", "signed", &photos);
    }

    fn office_folders(&self) -> serde_json::Value {
        self.dovecot.folders(
            "office",
            "imap password 1",
            &["INBOX", "aup/filed", "aup/not-filed"],
        )
    }

    fn fetch(&self) -> Vec<serde_json::Value> {
        self.scratch
            .aup(&["mail", "fetch", "--json"])
            .success()
            .json_lines()
    }
}

fn count(folders: &serde_json::Value, folder: &str) -> usize {
    folders[folder].as_array().map_or(0, Vec::len)
}

#[test]
fn replies_with_a_signed_pdf_or_photos_are_taken_from_the_mailbox_and_filed_once() {
    let post = post();
    let scratch = &post.scratch;
    scratch
        .aup(&["send", "--school", "pakeman", "--year", "2025-26"])
        .success();
    // Each person's own mailbox in Dovecot has their invitation.
    let amelia = post.dovecot.folders("amelia", "amelia pw", &["INBOX"]);
    assert_eq!(count(&amelia, "INBOX"), 1, "{amelia}");
    assert_eq!(
        amelia["INBOX"][0]["subject"],
        "Please sign Pakeman Primary School's Acceptable Use Policy"
    );

    // Amelia replies with her signed scan; Ben with a photo of each page; Dev
    // with words only.
    post.amelia_and_ben_reply_with_their_forms();
    post.reply("dev@pakeman.example", "I will sign tomorrow", &[]);
    assert_eq!(count(&post.office_folders(), "INBOX"), 3);
    // Signing in reads and moves nothing.
    let tested = scratch.aup(&["mail", "test"]).success().stdout();
    assert!(tested.contains("imap: signed in to 127.0.0.1:"), "{tested}");
    assert!(
        tested.contains("as office; INBOX holds 3 message(s)"),
        "{tested}"
    );
    assert_eq!(count(&post.office_folders(), "INBOX"), 3);

    let taken = post.fetch();
    assert_eq!(taken.len(), 3, "{taken:#?}");
    let of = |who: &str| {
        taken
            .iter()
            .find(|m| m["from"].as_str().unwrap().starts_with(who))
            .unwrap_or_else(|| panic!("{who} in {taken:#?}"))
    };
    assert_eq!(of("amelia")["outcome"], "filed");
    assert_eq!(of("amelia")["files"].as_array().unwrap().len(), 1);
    assert_eq!(of("ben")["outcome"], "filed");
    assert_eq!(of("ben")["files"].as_array().unwrap().len(), 3);
    assert_eq!(of("dev")["outcome"], "not_filed");
    assert!(
        of("dev")["detail"]
            .as_str()
            .unwrap()
            .contains("no PDF or photo attached")
    );
    // Moved only now that the attachments are aup's: filed, or set aside.
    let folders = post.office_folders();
    assert_eq!(count(&folders, "INBOX"), 0, "{folders}");
    assert_eq!(count(&folders, "aup/filed"), 2, "{folders}");
    assert_eq!(count(&folders, "aup/not-filed"), 1, "{folders}");

    // Ingest files both returns; status shows them signed.
    let outcomes = scratch.ingest_json();
    let accepted = outcomes
        .iter()
        .filter(|o| o["verdict"] == "accepted")
        .count();
    assert_eq!(accepted, 2, "{outcomes:#?}");
    let status = scratch
        .aup(&["status", "--year", "2025-26", "--format", "json"])
        .success()
        .stdout();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&status).unwrap();
    let state = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap()["state"].clone();
    assert_eq!(state("Amelia Hart"), "signed");
    assert_eq!(state("Ben Okafor"), "signed");
    assert_eq!(state("Dev Patel"), "outstanding");

    // Each sender of a return hears what became of it, once.
    let receipts = scratch
        .aup(&["mail", "receipts", "--json"])
        .success()
        .json_lines();
    assert_eq!(receipts.len(), 2, "{receipts:#?}");
    assert!(
        receipts.iter().all(|r| r["outcome"] == "sent"),
        "{receipts:#?}"
    );
    assert!(
        scratch
            .aup(&["mail", "receipts", "--json"])
            .success()
            .json_lines()
            .is_empty()
    );
    for (user, password) in [("amelia", "amelia pw"), ("ben", "ben pw")] {
        let inbox = post.dovecot.folders(user, password, &["INBOX"]);
        let subjects: Vec<&str> = inbox["INBOX"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["subject"].as_str().unwrap())
            .collect();
        assert!(
            subjects.contains(&"Pakeman Primary School: your Acceptable Use Policy has arrived"),
            "{user}: {subjects:?}"
        );
    }
    // Dev sent no form: no receipt, as the not-filed folder says why.
    assert_eq!(
        count(&post.dovecot.folders("dev", "dev pw", &["INBOX"]), "INBOX"),
        1
    );

    // Again, and after someone drags a filed message back to the inbox: taken
    // once only.
    assert!(post.fetch().is_empty());
    common::python(
        "imap_copy.py",
        &[
            "127.0.0.1".to_owned(),
            post.dovecot.imap_port.to_string(),
            "office".to_owned(),
            "imap password 1".to_owned(),
            "aup/filed".to_owned(),
            "INBOX".to_owned(),
        ],
    );
    let again = post.fetch();
    assert_eq!(again.len(), 2, "{again:#?}");
    assert!(
        again.iter().all(|m| m["outcome"] == "already_taken"),
        "{again:#?}"
    );
    assert!(common::pdfs_under(&scratch.path("inbox")).is_empty());
    assert_eq!(count(&post.office_folders(), "INBOX"), 0);
    scratch.aup(&["audit", "verify"]).success();

    // Pruning the year removes the returns, and the record of the messages
    // that brought them (sender and all) with them; Dev's words-only message
    // brought nothing of the year and stays.
    let pruned = scratch
        .aup(&["prune", "--before", "2026-27", "--today", "2032-09-01"])
        .success()
        .stdout();
    assert!(
        pruned.contains("pakeman 2025-26: removed 3 forms, 2 returns, 4 received files, 2 messages taken in by mail"),
        "{pruned}"
    );
    let left = common::sqlite(
        &scratch.path("archive"),
        "SELECT outcome, sender FROM mail_in",
    );
    assert_eq!(left.trim(), "not_filed dev@pakeman.example", "{left}");
    scratch.aup(&["audit", "verify"]).success();
}

#[test]
fn hostile_mail_is_bounded_and_reported_and_the_rest_of_the_folder_is_still_filed() {
    let post = post();
    let scratch = &post.scratch;
    let pdf = std::fs::read(scratch.form_pdf("pakeman", "amelia-hart")).unwrap();
    // A 60 MB attachment, straight into the mailbox (it is over the SMTP
    // server's own limit): left unread, and said why.
    common::python(
        "lmtp_deliver.py",
        &[
            post.dovecot.lmtp_port.to_string(),
            "office@pakeman.example".to_owned(),
            "1".to_owned(),
            "900".to_owned(),
            "--megabytes".to_owned(),
            "60".to_owned(),
        ],
    );
    // A PDF named to climb out of the inbox.
    let climbing = scratch.path("climb.pdf");
    std::fs::write(&climbing, &pdf).unwrap();
    common::python(
        "send_mail.py",
        &[
            post.smtp.port.to_string(),
            "amelia@pakeman.example".into(),
            "office@pakeman.example".into(),
            "climb".into(),
            "--attach".into(),
            format!("{}:../../x.pdf", climbing.display()),
        ],
    );
    // Two hundred small PDFs in one message.
    let many: Vec<_> = (0..200)
        .map(|i| {
            let path = scratch.path(&format!("many-{i}.pdf"));
            std::fs::write(&path, format!("%PDF-1.4\n% {i}\n")).unwrap();
            path
        })
        .collect();
    post.reply("ben@pakeman.example", "lots", &many);
    // A zip of a zip.
    let zip = scratch.path("forms.zip");
    std::fs::write(&zip, b"PK\x03\x04nested PK\x03\x04 zip").unwrap();
    post.reply("dev@pakeman.example", "zipped", &[zip]);
    // A MIME tree that ends in the middle of a part.
    let broken = scratch.write(
        "broken.eml",
        "From: dev@pakeman.example\r\nTo: office@pakeman.example\r\nSubject: broken\r\nMessage-ID: <broken@pakeman.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/pdf; name=\"half.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK%%%not base64",
    );
    common::python(
        "send_mail.py",
        &[
            post.smtp.port.to_string(),
            "dev@pakeman.example".into(),
            "office@pakeman.example".into(),
            "broken".into(),
            "--raw".into(),
            broken.display().to_string(),
        ],
    );
    // An out-of-office reply that happens to carry a PDF: filed, never answered.
    common::python(
        "send_mail.py",
        &[
            post.smtp.port.to_string(),
            "ben@pakeman.example".into(),
            "office@pakeman.example".into(),
            "Automatic reply: away".into(),
            "--header".into(),
            "Auto-Submitted: auto-replied".into(),
            "--attach".into(),
            climbing.display().to_string(),
        ],
    );
    // And one good return after them all.
    let scan = scratch.path("amelia-signed.pdf");
    std::fs::write(&scan, office::signed_scan(scratch, "amelia-hart")).unwrap();
    post.reply("amelia@pakeman.example", "my form", &[scan]);

    let taken = post.fetch();
    assert_eq!(taken.len(), 7, "{taken:#?}");
    let huge = taken
        .iter()
        .find(|m| m["from"] == "person900@pakeman.example")
        .unwrap();
    assert_eq!(huge["outcome"], "not_filed");
    assert!(
        huge["detail"]
            .as_str()
            .unwrap()
            .contains("aup reads messages of at most 40 MB"),
        "{huge}"
    );
    let by_subject = |files: usize| {
        taken
            .iter()
            .filter(move |m| m["files"].as_array().unwrap().len() == files)
    };
    // Twenty of two hundred, said so.
    let lots = by_subject(20)
        .next()
        .unwrap_or_else(|| panic!("{taken:#?}"));
    assert!(
        lots["detail"]
            .as_str()
            .unwrap()
            .contains("200 attachments: aup takes the first 20"),
        "{lots}"
    );
    let zipped = taken
        .iter()
        .find(|m| m["detail"].as_str().unwrap().contains("zip file"))
        .unwrap();
    assert_eq!(zipped["outcome"], "not_filed");
    // The climbing name stays in the inbox's mail folder.
    let names: Vec<String> = taken
        .iter()
        .flat_map(|m| {
            m["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_owned())
        })
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("mail/mail-") && !n.contains("..")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with("-x.pdf")), "{names:?}");
    assert!(!scratch.path("x.pdf").exists() && !scratch.path("inbox/x.pdf").exists());
    // The good return is among them, and is filed.
    let outcomes = scratch
        .aup(&["ingest", "--json", "--settle", "0"])
        .json_lines();
    assert!(
        outcomes.iter().any(|o| o["verdict"] == "accepted"),
        "{outcomes:#?}"
    );
    assert_eq!(count(&post.office_folders(), "INBOX"), 0);
    // The program that replied is never answered: no receipt is due for it.
    let automatic = common::sqlite(
        &scratch.path("archive"),
        "SELECT receipt FROM mail_in WHERE automatic = 1",
    );
    assert!(automatic.contains("none: sent by a program"), "{automatic}");
}

#[test]
fn killing_a_fetch_at_any_moment_loses_no_message_and_takes_none_twice() {
    let post = post();
    let scratch = &post.scratch;
    let deliver = |first: u64| {
        common::python(
            "lmtp_deliver.py",
            &[
                post.dovecot.lmtp_port.to_string(),
                "office@pakeman.example".to_owned(),
                "5".to_owned(),
                first.to_string(),
            ],
        );
    };
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_aup"))
            .args(["mail", "fetch", "--json"])
            .current_dir(scratch.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // How long a whole fetch of five messages takes on this machine, so the
    // kills land inside one however fast the machine is.
    deliver(0);
    let started = std::time::Instant::now();
    assert!(spawn().wait().unwrap().success());
    let whole = started.elapsed();
    // Nineteen fetches killed with SIGKILL, each after five more messages
    // arrived, at moments spread over a whole fetch's run (starting, writing
    // attachments, recording, moving).
    let mut progress = vec![5];
    for trial in 1..20u64 {
        deliver(trial * 5);
        let mut fetch = spawn();
        std::thread::sleep(whole.mul_f64(((trial * 7) % 19) as f64 / 19.0));
        let _ = fetch.kill();
        let _ = fetch.wait();
        progress.push(common::index_rows(&scratch.path("archive"), "mail_in"));
    }
    eprintln!("a whole fetch: {whole:?}; messages taken after each killed fetch: {progress:?}");
    // Most were cut off with messages still to take.
    let cut = progress
        .iter()
        .enumerate()
        .filter(|&(trial, &n)| n < (trial as i64 + 1) * 5)
        .count();
    assert!(cut >= 10, "{progress:?}");
    // Then one that runs to the end.
    post.fetch();
    let folders = post.office_folders();
    assert_eq!(count(&folders, "INBOX"), 0, "{folders}");
    let filed: Vec<&str> = folders["aup/filed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    let mut distinct = filed.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!((filed.len(), distinct.len()), (100, 100), "{folders}");
    // Each message's attachment is in the inbox once, under one name.
    let mut placed: Vec<String> = std::fs::read_dir(scratch.path("inbox/mail"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    placed.sort();
    assert_eq!(placed.len(), 100, "{placed:?}");
    let bytes: std::collections::BTreeSet<Vec<u8>> = placed
        .iter()
        .map(|n| std::fs::read(scratch.path(&format!("inbox/mail/{n}"))).unwrap())
        .collect();
    assert_eq!(bytes.len(), 100);
    assert_eq!(common::index_rows(&scratch.path("archive"), "mail_in"), 100);
    scratch.aup(&["audit", "verify"]).success();
}

/// Polls `path` as `browser` until its page says `wanted`.
fn page_saying(browser: &office::Client, path: &str, wanted: &str, within: Duration) -> String {
    let started = std::time::Instant::now();
    loop {
        let page = browser.get(path).text();
        if page.contains(wanted) {
            return page;
        }
        assert!(started.elapsed() < within, "no `{wanted}` in {page}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn the_head_sends_invitations_from_the_pages_and_serve_files_the_replies_once_across_a_restart() {
    let post = post();
    let scratch = &post.scratch;
    office::add_user(scratch, "head", "head", &[]);
    office::add_user(scratch, "office", "office", &[]);
    let serve_args = ["--out", "out", "--mail", "mail.yaml", "--mail-every", "1"];
    let server = office::Server::start(scratch, &serve_args);
    let head = office::Client::signed_in(&server, "head");
    let mail_page = "/school/pakeman/2025-26/mail";
    assert!(
        head.get("/school/pakeman/2025-26")
            .text()
            .contains("Send invitations or reminders")
    );
    // The office may not send mail; the head sees the count and the letter first.
    let office_account = office::Client::signed_in(&server, "office");
    assert_eq!(office_account.get(mail_page).status, 403);
    let page = head.get(mail_page);
    assert_eq!(page.status, 200);
    let page = page.text();
    assert!(
        page.contains(
            "<strong>3 people</strong> would get an invitation: Amelia Hart, Ben Okafor, Dev Patel."
        ),
        "{page}"
    );
    assert!(
        page.contains("What Amelia Hart &lt;amelia@pakeman.example&gt; would read"),
        "{page}"
    );
    assert!(page.contains("Dear Amelia Hart,"), "{page}");
    assert!(page.contains("Send 3 invitations</button>"), "{page}");
    assert!(page.contains("Nobody is due a reminder today."), "{page}");
    assert_eq!(
        count(
            &post.dovecot.folders("amelia", "amelia pw", &["INBOX"]),
            "INBOX"
        ),
        0,
        "a page view sends nothing"
    );

    // A forged press (no CSRF token) sends nothing; the real one sends three.
    assert_eq!(
        head.post_form(&format!("{mail_page}/invitations"), "")
            .status,
        403
    );
    let pressed = head.post_form(
        &format!("{mail_page}/invitations"),
        &format!("csrf={}", office::hidden_csrf(&page)),
    );
    assert_eq!(pressed.status, 303, "{}", pressed.text());
    let done = page_saying(
        &head,
        mail_page,
        "3 invitations sent</strong>",
        Duration::from_secs(60),
    );
    assert!(done.contains("asked for by head"), "{done}");
    assert!(
        done.contains("Invited before, so not again: Amelia Hart, Ben Okafor, Dev Patel."),
        "{done}"
    );
    assert!(!done.contains("Send 3 invitations"), "{done}");
    let audit = common::sqlite(&scratch.path("archive"), "SELECT detail FROM audit");
    assert!(
        audit.contains("head asked on the office's pages for the invitations of pakeman 2025-26"),
        "{audit}"
    );
    // Each has their own link, and nobody else's name.
    let mut links = Vec::new();
    for (user, password, name) in [
        ("amelia", "amelia pw", "Amelia Hart"),
        ("ben", "ben pw", "Ben Okafor"),
        ("dev", "dev pw", "Dev Patel"),
    ] {
        let inbox = post.dovecot.inbox_with_text(user, password);
        assert_eq!(inbox.len(), 1, "{user}: {inbox:#?}");
        let text = inbox[0]["text"].as_str().unwrap();
        assert!(text.contains(&format!("Dear {name},")), "{text}");
        let link = text
            .split_whitespace()
            .find(|w| w.starts_with("https://aup.pakeman.example/s/"))
            .unwrap_or_else(|| panic!("no link in {text}"))
            .to_owned();
        for other in ["Amelia", "Ben", "Dev"]
            .iter()
            .filter(|o| !name.starts_with(**o))
        {
            assert!(!text.contains(other), "{user} reads {other}: {text}");
        }
        links.push(link);
    }
    links.sort();
    links.dedup();
    assert_eq!(links.len(), 3);

    // Amelia replies with a signed scan, Ben with a photo of each page; serve
    // files both, moves the messages, and answers each sender once.
    post.amelia_and_ben_reply_with_their_forms();
    let accepted = "SELECT COUNT(*) FROM returns WHERE verdict = 'accepted'";
    office::wait_until(scratch, accepted, 2, Duration::from_secs(120));
    let receipted = "SELECT COUNT(*) FROM mail_in WHERE receipt LIKE 'sent %'";
    office::wait_until(scratch, receipted, 2, Duration::from_secs(60));
    let folders = post.office_folders();
    assert_eq!(count(&folders, "INBOX"), 0, "{folders}");
    assert_eq!(count(&folders, "aup/filed"), 2, "{folders}");
    let school = head.get("/school/pakeman/2025-26").text();
    assert!(
        school.contains("67% signed") || school.contains("66% signed"),
        "{school}"
    );
    for (user, password) in [("amelia", "amelia pw"), ("ben", "ben pw")] {
        let inbox = post.dovecot.folders(user, password, &["INBOX"]);
        let receipts = inbox["INBOX"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                m["subject"] == "Pakeman Primary School: your Acceptable Use Policy has arrived"
            })
            .count();
        assert_eq!(receipts, 1, "{user}: {inbox}");
    }
    // A second send sends nothing.
    let again = scratch
        .aup(&["send", "--school", "pakeman", "--year", "2025-26", "--json"])
        .success()
        .json_lines();
    assert!(
        again.iter().all(|l| l["outcome"] == "already_sent"),
        "{again:#?}"
    );

    // A restart of serve files nothing twice.
    let inbox_before = office::inbox_files(scratch).len();
    let mail_in = office::count(scratch, "SELECT COUNT(*) FROM mail_in");
    drop(server);
    let server = office::Server::start(scratch, &serve_args);
    let head = office::Client::signed_in(&server, "head");
    page_saying(
        &head,
        "/",
        "id=\"mailbox\">Mail: last round",
        Duration::from_secs(60),
    );
    page_saying(
        &head,
        "/",
        "id=\"mailbox\">Mail: last round",
        Duration::from_secs(60),
    );
    assert_eq!(office::count(scratch, accepted), 2);
    assert_eq!(
        office::count(scratch, "SELECT COUNT(*) FROM mail_in"),
        mail_in
    );
    assert_eq!(office::inbox_files(scratch).len(), inbox_before);
    assert_eq!(office::count(scratch, receipted), 2);
    scratch.aup(&["audit", "verify"]).success();

    // A mailbox that refuses the password is said on the overview.
    scratch.write("imap-password", "wrong\n");
    let page = page_saying(&head, "/", "Mail is not working", Duration::from_secs(60));
    assert!(page.contains("refused office"), "{page}");
}

#[test]
fn a_delivery_report_marks_the_address_bounced_on_the_person_and_in_status() {
    let post = post();
    let scratch = &post.scratch;
    scratch
        .aup(&[
            "send",
            "--school",
            "pakeman",
            "--year",
            "2025-26",
            "--to",
            "Dev Patel",
        ])
        .success();
    let sent = common::sqlite(
        &scratch.path("archive"),
        "SELECT message_id FROM mail_log WHERE kind = 'invitation'",
    );
    let about = sent.trim().to_owned();
    common::python(
        "send_dsn.py",
        &[
            post.smtp.port.to_string(),
            "office@pakeman.example".to_owned(),
            about.clone(),
            "dev@pakeman.example".to_owned(),
        ],
    );
    let taken = post.fetch();
    assert_eq!(taken.len(), 1, "{taken:#?}");
    assert_eq!(taken[0]["outcome"], "bounce", "{taken:#?}");
    assert!(
        taken[0]["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("{about} bounced: 550 5.1.1")),
        "{taken:#?}"
    );
    let status = scratch
        .aup(&["status", "--year", "2025-26", "--format", "json"])
        .success()
        .stdout();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&status).unwrap();
    let dev = rows.iter().find(|r| r["name"] == "Dev Patel").unwrap();
    let problem = dev["mail_problem"]
        .as_str()
        .unwrap_or_else(|| panic!("{dev}"));
    assert!(
        problem.starts_with("dev@pakeman.example: address bounced: 550 5.1.1"),
        "{problem}"
    );
    assert!(
        rows.iter()
            .find(|r| r["name"] == "Amelia Hart")
            .unwrap()
            .get("mail_problem")
            .is_none()
    );
    // A report is a program's message: no receipt for it.
    assert!(
        scratch
            .aup(&["mail", "receipts", "--json"])
            .success()
            .json_lines()
            .is_empty()
    );
    assert_eq!(count(&post.office_folders(), "aup/filed"), 1);
}

#[test]
fn the_mailbox_is_read_with_xoauth2_tokens_dovecot_checks_at_the_token_endpoint() {
    let servers = Scratch::empty();
    let smtp = SmtpServer::start(&servers.path("maildir"), &["--oauth"]);
    let dovecot = Dovecot::start_with_oauth(&servers.path("dovecot"), &USERS, smtp.token_port);
    let scratch = Scratch::pakeman_with_roster(ROSTER);
    use std::os::unix::fs::PermissionsExt;
    let secret = scratch.write("client-secret", "s3cret\n");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let settings = |secret_file: &str| {
        format!(
            "from: Pakeman Primary School <office@pakeman.example>\n\
             smtp: {{host: 127.0.0.1, port: {}, tls: none}}\n\
             imap:\n  host: 127.0.0.1\n  port: {}\n  tls: none\n  auth: xoauth2\n  username: office\n  \
             oauth: {{token_url: 'http://127.0.0.1:{}/token', grant: client_credentials, client_id: aup, client_secret_file: {secret_file}, scope: 'https://outlook.office365.com/.default'}}\n",
            smtp.port,
            dovecot.imap_port,
            smtp.token_port.unwrap()
        )
    };
    scratch.write("mail.yaml", &settings("client-secret"));
    let run = scratch.aup(&["mail", "test"]);
    if run.code() != Some(0) {
        panic!(
            "{}\n{}",
            run.stderr(),
            std::fs::read_to_string(servers.path("dovecot/dovecot.log")).unwrap_or_default()
        );
    }
    let tested = run.stdout();
    assert!(tested.contains("imap: signed in to 127.0.0.1:"), "{tested}");
    assert!(
        tested.contains("as office; INBOX holds 0 message(s)"),
        "{tested}"
    );
    // A token the endpoint never gave is refused by Dovecot, and said so.
    let wrong = scratch.write("wrong-secret", "nope\n");
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    scratch.write("mail.yaml", &settings("wrong-secret"));
    let said = scratch.aup(&["mail", "test"]).failure();
    assert!(said.contains("Invalid client secret provided"), "{said}");
    assert!(smtp.token_stats()["client_credentials"].as_u64().unwrap() >= 1);
}
