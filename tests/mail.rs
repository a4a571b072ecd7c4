//! Mailing people their links: `aup send` against a real SMTP server (Python's
//! aiosmtpd) on loopback, which delivers into a Maildir that Python's own
//! e-mail parser reads back. Each person gets their own link and nobody
//! else's, once; refusals and put-offs are handled as a mail server means
//! them; nothing goes out of the sending window.

mod common;
mod mailserver;
mod office;
mod scan;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::Scratch;
use mailserver::SmtpServer;

const ROSTER: &str = "Staff Code,Forename,Surname,Job Title,Email\n\
A1,Amelia,Hart,Teacher,amelia@pakeman.example\n\
A2,Ben,Okafor,TA,ben@pakeman.example\n\
A3,Chloe,Price,Governor,\n\
A4,Dev,Patel,Teacher,dev@gone.example\n";

const PUBLIC: &str = "https://aup.pakeman.example";

/// Pakeman's forms issued, and mail settings for `server` with an app password
/// kept in a file only its owner reads; the window open all week.
fn school_with_mail(server: &SmtpServer) -> Scratch {
    let scratch = Scratch::pakeman_with_roster(ROSTER);
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    scratch
        .aup(&["seal", "init", "--school", "pakeman"])
        .success();
    let password = scratch.write("smtp-password", "app password 1\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
    scratch.write(
        "mail.yaml",
        &format!(
            "from: Pakeman Primary School <office@pakeman.example>\n\
             public_url: {PUBLIC}\n\
             smtp: {{host: 127.0.0.1, port: {}, tls: none, auth: password, username: office, password_file: smtp-password}}\n\
             sending: {{per_minute: 600, days: [mon, tue, wed, thu, fri, sat, sun], from: '00:00', until: '24:00'}}\n",
            server.port
        ),
    );
    scratch
}

fn send(scratch: &Scratch, extra: &[&str]) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let mut args = vec!["send", "--school", "pakeman", "--year", "2025-26", "--json"];
    args.extend(extra);
    let run = scratch.aup(&args);
    (run.code(), run.json_lines(), run.stderr())
}

fn outcome_of<'a>(lines: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {lines:#?}"))
}

#[test]
fn each_person_is_invited_once_with_their_own_link_and_refusals_are_kept() {
    let mailroom = Scratch::empty();
    let server = SmtpServer::start(
        &mailroom.path("maildir"),
        &[
            "--login",
            "office:app password 1",
            "--refuse",
            "dev@gone.example",
            "--later",
            "ben@pakeman.example",
        ],
    );
    let scratch = school_with_mail(&server);

    // A dry run says who, and sends and makes nothing.
    let (code, lines, said) = send(&scratch, &["--dry-run"]);
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines.iter().all(|l| l["outcome"] == "would_send"));
    assert!(
        said.contains("no e-mail address on the roster, so print their form: Chloe Price"),
        "{said}"
    );
    assert!(server.messages().is_empty());
    assert_eq!(
        common::index_rows(&scratch.path("archive"), "signing_links"),
        0
    );

    let (code, lines, said) = send(&scratch, &[]);
    // Dev's address does not exist: exit 1, the others went.
    assert_eq!(code, Some(1), "{said}");
    assert_eq!(outcome_of(&lines, "Amelia Hart")["outcome"], "sent");
    // Ben's server said "later" once (451): tried again, and sent.
    assert_eq!(outcome_of(&lines, "Ben Okafor")["outcome"], "sent");
    let dev = outcome_of(&lines, "Dev Patel");
    assert_eq!(dev["outcome"], "refused");
    assert!(dev["detail"].as_str().unwrap().contains("550"), "{dev}");
    assert!(
        dev["detail"].as_str().unwrap().contains("User unknown"),
        "{dev}"
    );

    // Each message: the person's own name and link, nobody else's.
    let links = scratch
        .aup(&[
            "links",
            "--school",
            "pakeman",
            "--year",
            "2025-26",
            "--public-url",
            PUBLIC,
            "--format",
            "json",
        ])
        .success()
        .json_lines();
    let link_of = |name: &str| {
        links.iter().find(|l| l["name"] == name).unwrap()["link"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let messages = server.messages();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    for (name, address) in [
        ("Amelia Hart", "amelia@pakeman.example"),
        ("Ben Okafor", "ben@pakeman.example"),
    ] {
        let message = messages
            .iter()
            .find(|m| m["to"].as_str().unwrap().contains(address))
            .unwrap_or_else(|| panic!("{address} in {messages:#?}"));
        assert_eq!(
            message["to"],
            format!("{name} <{address}>").as_str(),
            "{message:#}"
        );
        assert_eq!(
            message["subject"],
            "Please sign Pakeman Primary School's Acceptable Use Policy"
        );
        assert_eq!(message["auto_submitted"], "auto-generated");
        assert_eq!(
            message["message_id"],
            outcome_of(&lines, name)["message_id"]
        );
        let text = message["text"].as_str().unwrap();
        let html = message["html"].as_str().unwrap();
        assert!(text.starts_with(&format!("Dear {name},")), "{text}");
        assert!(text.contains(&link_of(name)), "{text}");
        assert!(
            html.contains(&format!("<a href=\"{}\">", link_of(name))),
            "{html}"
        );
        assert!(text.contains("It works until "), "{text}");
        for other in ["Amelia Hart", "Ben Okafor", "Dev Patel"]
            .iter()
            .filter(|o| **o != name)
        {
            assert!(
                !text.contains(other) && !html.contains(other),
                "{other} in {name}'s mail"
            );
            assert!(
                !text.contains(&link_of(other)),
                "{other}'s link in {name}'s mail"
            );
        }
        assert!(message["attachments"].as_array().unwrap().is_empty());
    }

    // The mail log and the audit log have each message; the tokens nowhere.
    let log = common::sqlite(
        &scratch.path("archive"),
        "SELECT kind, recipient, outcome FROM mail_log ORDER BY id",
    );
    assert_eq!(log.matches("invitation").count(), 3, "{log}");
    let audit = common::sqlite(&scratch.path("archive"), "SELECT detail FROM audit");
    assert!(audit.contains("was sent"), "{audit}");
    for name in ["Amelia Hart", "Ben Okafor"] {
        let token = link_of(name).rsplit('/').next().unwrap().to_owned();
        assert!(!audit.contains(&token) && !log.contains(&token));
    }
    scratch.aup(&["audit", "verify"]).success();

    // Again: nobody is invited twice, and the refused address is not tried;
    // a dry run says so first.
    let (code, lines, said) = send(&scratch, &["--dry-run"]);
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(outcome_of(&lines, "Amelia Hart")["outcome"], "already_sent");
    assert_eq!(outcome_of(&lines, "Dev Patel")["outcome"], "refused_before");
    assert!(said.contains("0 invitation(s) would be sent"), "{said}");
    let (code, lines, _) = send(&scratch, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(outcome_of(&lines, "Amelia Hart")["outcome"], "already_sent");
    assert_eq!(outcome_of(&lines, "Ben Okafor")["outcome"], "already_sent");
    let dev = outcome_of(&lines, "Dev Patel");
    assert_eq!(dev["outcome"], "refused_before");
    assert!(
        dev["detail"]
            .as_str()
            .unwrap()
            .contains("correct it in the roster"),
        "{dev}"
    );
    assert_eq!(server.messages().len(), 2);

    // The person's page on aup serve shows what was sent, and what was refused.
    office::add_user(&scratch, "office", "office", &[]);
    let serve = office::Server::start(&scratch, &["--out", "out"]);
    let browser = office::Client::signed_in(&serve, "office");
    let (_, dev_id) = office::form(&scratch, "dev-patel");
    let page = browser.get(&format!("/form/{dev_id}")).text();
    assert!(
        page.contains("<td data-label=\"To\">dev@gone.example</td>"),
        "{page}"
    );
    assert!(page.contains("refused: "), "{page}");
    assert!(page.contains("User unknown"), "{page}");
    drop(serve);

    // --again for one person sends them one more.
    let (code, lines, said) = send(&scratch, &["--again", "--to", "amelia hart"]);
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(server.messages().len(), 3);
}

#[test]
fn nothing_goes_out_of_the_window_and_a_wrong_password_says_what_the_server_said() {
    let mailroom = Scratch::empty();
    let server = SmtpServer::start(
        &mailroom.path("maildir"),
        &["--login", "office:app password 1"],
    );
    let scratch = school_with_mail(&server);

    // The default window: Monday to Friday, 08:00 to 17:00 UK time.
    let yaml = std::fs::read_to_string(scratch.path("mail.yaml")).unwrap();
    let office_hours: String = yaml
        .lines()
        .filter(|l| !l.starts_with("sending:"))
        .map(|l| format!("{l}\n"))
        .collect();
    scratch.write("mail.yaml", &office_hours);
    // Saturday 5 December 2026, 10:00 UK time.
    let saturday = scratch.aup_env(
        &["send", "--school", "pakeman", "--year", "2025-26"],
        &[("AUP_NOW", "2026-12-05T10:00:00Z")],
    );
    let said = saturday.failure();
    assert!(
        said.contains(
            "it is 10:00 UK time, outside the sending window (mon,tue,wed,thu,fri 08:00–17:00"
        ),
        "{said}"
    );
    assert!(server.messages().is_empty());
    // Monday 7 December, 16:59 UK time: inside.
    scratch
        .aup_env(
            &["send", "--school", "pakeman", "--year", "2025-26"],
            &[("AUP_NOW", "2026-12-07T16:59:00Z")],
        )
        .success();
    assert_eq!(server.messages().len(), 3);

    scratch.aup(&["mail", "test"]).success();
    scratch.write("smtp-password", "wrong\n");
    let wrong = scratch.aup(&["mail", "test"]);
    let said = wrong.failure();
    assert!(said.contains("127.0.0.1"), "{said}");
    assert!(said.contains("535"), "{said}");

    // A password file others may read is refused, naming it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        scratch.path("smtp-password"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let said = scratch.aup(&["mail", "test"]).failure();
    assert!(
        said.contains("smtp-password: others may read it (mode 644)"),
        "{said}"
    );
}

#[test]
fn a_school_that_attaches_forms_sends_each_person_their_own_issued_pdf() {
    let mailroom = Scratch::empty();
    let server = SmtpServer::start(
        &mailroom.path("maildir"),
        &["--login", "office:app password 1"],
    );
    let scratch = school_with_mail(&server);
    let yaml = std::fs::read_to_string(scratch.path("schools/pakeman.yaml")).unwrap();
    scratch.write(
        "schools/pakeman.yaml",
        &format!("{yaml}\nmail:\n  attach_form: true\n  invitation_subject: \"{{school}}: your AUP for {{year}}\"\n"),
    );
    let (code, _, said) = send(&scratch, &["--to", "Amelia Hart"]);
    assert_eq!(code, Some(0), "{said}");
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(
        message["subject"],
        "Pakeman Primary School: your AUP for 2025-26"
    );
    let issued = std::fs::read(scratch.form_pdf("pakeman", "amelia-hart")).unwrap();
    use sha2::Digest;
    let sha = aup::form::id::hex(&sha2::Sha256::digest(&issued));
    let attachments = message["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{message:#}");
    assert_eq!(attachments[0]["type"], "application/pdf");
    assert_eq!(attachments[0]["sha256"], sha.as_str());
    assert!(
        attachments[0]["name"]
            .as_str()
            .unwrap()
            .ends_with("amelia-hart.pdf")
    );
    assert!(
        message["text"]
            .as_str()
            .unwrap()
            .contains("print the attached form")
    );

    // Words with a placeholder aup does not fill are refused by aup check.
    scratch.write(
        "schools/pakeman.yaml",
        &format!("{yaml}\nmail:\n  invitation_text: \"Dear {{nmae}}, sign here.\"\n"),
    );
    let said = scratch.aup(&["check"]).failure();
    assert!(said.contains("{nmae} is not a placeholder"), "{said}");
    assert!(said.contains("must contain {link}"), "{said}");
}

/// A certificate authority and a certificate it signed for 127.0.0.1, as a
/// school's own IT would make them with openssl: (authority, chain, key).
fn school_authority(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let path = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let made = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=Pakeman IT authority",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "smtp.key",
        "-out",
        "smtp.csr",
    ]);
    std::fs::write(
        path("san.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "smtp.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        "san.ext",
        "-out",
        "smtp.pem",
    ]);
    (path("ca.pem"), path("smtp.pem"), path("smtp.key"))
}

#[test]
fn a_server_with_starttls_is_reached_through_the_schools_own_authority() {
    let mailroom = Scratch::empty();
    let (ca, cert, key) = school_authority(mailroom.dir.path());
    let server = SmtpServer::start(
        &mailroom.path("maildir"),
        &[
            "--login",
            "office:app password 1",
            "--starttls",
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
        ],
    );
    let scratch = school_with_mail(&server);
    let plain = std::fs::read_to_string(scratch.path("mail.yaml")).unwrap();
    let starttls = plain.replace("tls: none", "tls: starttls");
    // Not an authority the system trusts: refused, and said why.
    scratch.write("mail.yaml", &starttls);
    let said = scratch.aup(&["mail", "test"]).failure();
    assert!(said.to_lowercase().contains("certificate"), "{said}");
    // With the school's authority named, it signs in and sends.
    scratch.write(
        "mail.yaml",
        &starttls.replace(
            "password_file: smtp-password",
            &format!("password_file: smtp-password, ca_file: {}", ca.display()),
        ),
    );
    scratch.aup(&["mail", "test"]).success();
    let (code, lines, said) = send(&scratch, &["--to", "Ben Okafor"]);
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(lines[0]["outcome"], "sent");
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn the_mail_schema_is_current_and_the_example_settings_check() {
    let shipped = std::fs::read_to_string(common::repo().join("mail.schema.json")).unwrap();
    let now = Scratch::empty()
        .aup(&["schema", "--mail"])
        .success()
        .stdout();
    assert_eq!(
        shipped, now,
        "run `cargo run -- schema --mail > mail.schema.json`"
    );
    let scratch = Scratch::pakeman_with_roster(ROSTER);
    std::fs::copy(
        common::repo().join("mail.example.yaml"),
        scratch.path("mail.yaml"),
    )
    .unwrap();
    let said = scratch.aup(&["check"]).success().stderr();
    assert!(said.contains("ok mail.yaml"), "{said}");
    let broken = std::fs::read_to_string(scratch.path("mail.yaml"))
        .unwrap()
        .replace("tls: starttls", "tls: none");
    scratch.write("mail.yaml", &broken);
    let said = scratch.aup(&["check"]).failure();
    assert!(
        said.contains("mail.yaml: smtp.tls: `none` would send passwords"),
        "{said}"
    );
}

#[test]
fn reminders_go_on_schedule_only_to_people_yet_to_sign_and_two_runners_send_each_once() {
    let mailroom = Scratch::empty();
    let server = SmtpServer::start(
        &mailroom.path("maildir"),
        &["--login", "office:app password 1"],
    );
    let scratch = school_with_mail(&server);
    let (code, _, said) = send(&scratch, &[]);
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(server.messages().len(), 3);

    // Amelia signs on paper; the others do not.
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    std::fs::write(
        scratch.path("inbox/amelia.pdf"),
        office::signed_scan(&scratch, "amelia-hart"),
    )
    .unwrap();
    assert_eq!(scratch.ingest_json()[0]["verdict"], "accepted");

    // The clock moves; nobody waits.
    let invited = time::OffsetDateTime::now_utc();
    let day = |n: i64| {
        (invited + time::Duration::days(n) + time::Duration::minutes(1))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let remind = |n: i64| {
        let run = scratch.aup_env(
            &["remind", "--year", "2025-26", "--json"],
            &[("AUP_NOW", &day(n))],
        );
        assert_eq!(run.code(), Some(0), "{}", run.stderr());
        run.json_lines()
    };
    assert!(remind(4).is_empty());
    assert_eq!(server.messages().len(), 3);

    // Day 5: two runners at once (cron on two servers) send each reminder once.
    let runners: Vec<_> = (0..2)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_aup"))
                .args(["remind", "--year", "2025-26", "--json"])
                .current_dir(scratch.dir.path())
                .env("AUP_NOW", day(5))
                .env("NO_COLOR", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outcomes = Vec::new();
    for runner in runners {
        let out = runner.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            outcomes.push((
                line["name"].as_str().unwrap().to_owned(),
                line["outcome"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let sent: Vec<&String> = outcomes
        .iter()
        .filter(|(_, o)| o == "sent")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(sent.len(), 2, "{outcomes:?}");
    assert!(
        sent.contains(&&"Ben Okafor".to_owned()) && sent.contains(&&"Dev Patel".to_owned()),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|(n, _)| n != "Amelia Hart"),
        "{outcomes:?}"
    );
    assert_eq!(server.messages().len(), 5);
    assert!(remind(5).iter().all(|l| l["outcome"] != "sent"));

    // Then every seven days, three reminders at most.
    assert_eq!(remind(11).len(), 0);
    assert_eq!(remind(12).len(), 2);
    assert_eq!(remind(19).len(), 2);
    assert!(remind(26).is_empty());
    assert!(remind(60).is_empty());
    let messages = server.messages();
    assert_eq!(messages.len(), 3 + 2 * 3);
    let reminders: Vec<&serde_json::Value> = messages
        .iter()
        .filter(|m| {
            m["subject"]
                .as_str()
                .unwrap()
                .starts_with("Reminder: please sign")
        })
        .collect();
    assert_eq!(reminders.len(), 6);
    assert!(
        reminders
            .iter()
            .all(|m| !m["to"].as_str().unwrap().contains("amelia"))
    );
    let kinds = common::sqlite(
        &scratch.path("archive"),
        "SELECT kind FROM mail_log WHERE kind LIKE 'reminder-%' AND outcome = 'sent' ORDER BY kind",
    );
    assert_eq!(
        kinds.split_whitespace().collect::<Vec<_>>(),
        [
            "reminder-1",
            "reminder-1",
            "reminder-2",
            "reminder-2",
            "reminder-3",
            "reminder-3"
        ]
    );
    scratch.aup(&["audit", "verify"]).success();
}

/// Mail settings signing in with XOAUTH2, tokens from the server's endpoint.
fn oauth_settings(scratch: &Scratch, server: &SmtpServer, grant: &str) {
    use std::os::unix::fs::PermissionsExt;
    for (file, text) in [
        ("client-secret", "s3cret\n"),
        ("refresh-token", "refresh-0"),
    ] {
        let path = scratch.write(file, text);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let refresh = match grant {
        "refresh_token" => ", refresh_token_file: refresh-token",
        _ => ", scope: 'https://outlook.office365.com/.default'",
    };
    xoauth2_settings(
        scratch,
        server,
        &format!("grant: {grant}, client_id: aup, client_secret_file: client-secret{refresh}"),
    );
}

/// Mail settings signing in to `server` with XOAUTH2, its token endpoint
/// asked as `oauth` (the rest of the `oauth:` map) says.
fn xoauth2_settings(scratch: &Scratch, server: &SmtpServer, oauth: &str) {
    scratch.write(
        "mail.yaml",
        &format!(
            "from: Pakeman Primary School <office@pakeman.example>\n\
             public_url: {PUBLIC}\n\
             smtp:\n  host: 127.0.0.1\n  port: {}\n  tls: none\n  auth: xoauth2\n  username: office@pakeman.example\n  \
             oauth: {{token_url: 'http://127.0.0.1:{}/token', {oauth}}}\n\
             sending: {{per_minute: 600, days: [mon, tue, wed, thu, fri, sat, sun], from: '00:00', until: '24:00'}}\n",
            server.port,
            server.token_port.unwrap()
        ),
    );
}

#[test]
fn xoauth2_tokens_are_refreshed_before_they_expire_and_a_rotated_refresh_token_is_kept() {
    let mailroom = Scratch::empty();
    // Tokens that last four minutes: inside the five-minute margin, so each
    // message needs a fresh one.
    let server = SmtpServer::start(
        &mailroom.path("maildir"),
        &["--oauth", "--token-lifetime", "240"],
    );
    let scratch = school_with_mail(&server);
    oauth_settings(&scratch, &server, "refresh_token");

    let (code, lines, said) = send(&scratch, &[]);
    assert_eq!(code, Some(0), "{said}");
    assert!(lines.iter().all(|l| l["outcome"] == "sent"), "{lines:#?}");
    assert_eq!(server.messages().len(), 3);
    let stats = server.token_stats();
    // One token to start, and one before each of the three messages.
    assert_eq!(stats["refreshed"], 4, "{stats}");
    // Every rotated refresh token was kept at once, for the owner only.
    let kept = std::fs::read_to_string(scratch.path("refresh-token")).unwrap();
    assert_eq!(kept, stats["refresh"].as_str().unwrap());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(scratch.path("refresh-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // A new process goes on with the kept one.
    scratch.aup(&["mail", "test"]).success();

    // An old refresh token is void: the endpoint's words are shown.
    scratch.write("refresh-token", "refresh-0");
    let said = scratch.aup(&["mail", "test"]).failure();
    assert!(
        said.contains("invalid_grant Token has been expired or revoked."),
        "{said}"
    );

    // A token the server does not know is refused with the server's code.
    // (Microsoft 365's client credentials; a wrong secret first.)
    oauth_settings(&scratch, &server, "client_credentials");
    scratch.write("client-secret", "wrong\n");
    let said = scratch.aup(&["mail", "test"]).failure();
    assert!(
        said.contains("AADSTS7000215: Invalid client secret provided."),
        "{said}"
    );
    scratch.write("client-secret", "s3cret\n");
    scratch.aup(&["mail", "test"]).success();
    assert_eq!(server.token_stats()["client_credentials"], 1);
}

/// A service account's key as Google Cloud gives it (JSON, the private key
/// made by openssl as PKCS#8 PEM), kept for the owner only; and the file
/// holding its public half, for the token endpoint.
fn service_account_key(scratch: &Scratch, name: &str) -> PathBuf {
    let key = scratch.path(&format!("{name}.pem"));
    let public = scratch.path(&format!("{name}.pub.pem"));
    common::run_tool(
        "openssl",
        &[
            "genpkey".as_ref(),
            "-algorithm".as_ref(),
            "RSA".as_ref(),
            "-pkeyopt".as_ref(),
            "rsa_keygen_bits:2048".as_ref(),
            "-out".as_ref(),
            key.as_os_str(),
        ],
    );
    common::run_tool(
        "openssl",
        &[
            "pkey".as_ref(),
            "-in".as_ref(),
            key.as_os_str(),
            "-pubout".as_ref(),
            "-out".as_ref(),
            public.as_os_str(),
        ],
    );
    let json = serde_json::json!({
        "type": "service_account",
        "project_id": "pakeman-aup",
        "private_key_id": "0123456789abcdef",
        "private_key": std::fs::read_to_string(&key).unwrap(),
        "client_email": "aup-mail@pakeman-aup.iam.gserviceaccount.com",
        "client_id": "104729811234567890123",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    let file = scratch.write(&format!("{name}.json"), &json.to_string());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    public
}

#[test]
fn a_google_service_account_signs_its_own_assertion_and_sends_as_the_office() {
    // Google's keys and the server's mail, outside the school's folder.
    let google = Scratch::empty();
    let public = service_account_key(&google, "google-key");
    service_account_key(&google, "another-key");
    let server = SmtpServer::start(
        &google.path("maildir"),
        &["--oauth", "--service-account", public.to_str().unwrap()],
    );
    let scratch = school_with_mail(&server);
    let settings = |key: &str, extra: &str| {
        let key = google.path(key);
        xoauth2_settings(
            &scratch,
            &server,
            &format!(
                "grant: service_account, service_account_file: {}, subject: office@pakeman.example, scope: 'https://mail.google.com/'{extra}",
                key.display()
            ),
        );
    };
    settings("google-key.json", "");
    scratch.aup(&["check"]).success();
    let (code, lines, said) = send(&scratch, &[]);
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines.iter().all(|l| l["outcome"] == "sent"), "{lines:#?}");
    assert_eq!(server.messages().len(), 3);
    // One assertion, checked by the endpoint against the account's public
    // key with Python's cryptography, for an hour's token and three messages.
    let stats = server.token_stats();
    assert_eq!(stats["assertions"], 1, "{stats}");
    assert_eq!(stats["client_credentials"], 0, "{stats}");

    // Another account's key is refused in Google's words.
    settings("another-key.json", "");
    let said = scratch.aup(&["mail", "test"]).failure();
    assert!(
        said.contains("invalid_grant Invalid JWT Signature."),
        "{said}"
    );
    // A service account has no client secret; settings giving one are said.
    settings("google-key.json", ", client_secret_file: smtp-password");
    let said = scratch.aup(&["mail", "test"]).failure();
    assert!(
        said.contains(
            "mail.yaml: oauth.client_secret_file: a service account signs with its key file"
        ),
        "{said}"
    );
}

#[test]
fn serve_sends_the_reminders_due_with_the_public_url_it_was_given() {
    let mailroom = Scratch::empty();
    let server = SmtpServer::start(
        &mailroom.path("maildir"),
        &["--login", "office:app password 1"],
    );
    let scratch = school_with_mail(&server);
    // The address links open at is given to serve alone, not in mail.yaml.
    let settings = std::fs::read_to_string(scratch.path("mail.yaml")).unwrap();
    let without: String = settings
        .lines()
        .filter(|l| !l.starts_with("public_url:"))
        .map(|l| format!("{l}\n"))
        .collect();
    scratch.write("mail.yaml", &without);
    // Serve reminds for the academic year today is in.
    scratch.aup(&["generate"]).success();
    let sent = scratch
        .aup(&[
            "send",
            "--school",
            "pakeman",
            "--json",
            "--public-url",
            PUBLIC,
        ])
        .success()
        .json_lines();
    assert_eq!(sent.len(), 3, "{sent:#?}");

    // Six days on, serve's first mail round sends each their first reminder.
    let six_days_on = (time::OffsetDateTime::now_utc() + time::Duration::days(6))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    let _serve = office::Server::start_with_env(
        &scratch,
        &[
            "--out",
            "out",
            "--mail",
            "mail.yaml",
            "--mail-every",
            "1",
            "--public-url",
            PUBLIC,
        ],
        &[("AUP_NOW", &six_days_on)],
    );
    let started = std::time::Instant::now();
    while server.messages().len() < 6 {
        let log = std::fs::read_to_string(scratch.path("serve.log")).unwrap_or_default();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let reminders = server
        .messages()
        .iter()
        .filter(|m| {
            m["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Reminder:"))
        })
        .count();
    assert_eq!(reminders, 3);
}
