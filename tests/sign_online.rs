//! Signing online: the office makes personal links, a person opens theirs,
//! reads the policy and signs without an account, and the sealed return is
//! filed like any other, shown as signed online. Links that open nothing all
//! look alike, guesses are braked, and no token is written anywhere.

mod common;
mod office;
mod scan;

use std::time::Duration;

use common::{Scratch, run_tool};
use office::{Client, Server, answer, count, office, wait_until};

/// `aup links` for Pakeman's 2025-26 forms as JSON lines, with `extra`.
fn links_json(scratch: &Scratch, public_url: &str, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "links",
        "--school",
        "pakeman",
        "--year",
        "2025-26",
        "--expires",
        "2027-08-31",
        "--public-url",
        public_url,
        "--format",
        "json",
    ];
    args.extend(extra);
    scratch.aup(&args).success()
}

/// The links of everyone who has not signed, for `server`: (name, link).
fn links(scratch: &Scratch, server: &Server) -> Vec<(String, String)> {
    links_json(scratch, &server.url, &[])
        .json_lines()
        .into_iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_owned(),
                l["link"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn sealed_office() -> Scratch {
    let scratch = office();
    scratch
        .aup(&["seal", "init", "--school", "pakeman"])
        .success();
    scratch
}

fn path_of(link: &str, server: &Server) -> String {
    link.strip_prefix(&server.url).unwrap().to_owned()
}

/// The signing form's own token.
fn page_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + 43].to_owned()
}

/// The text of HTML, tags dropped and entities read.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// Letters only: pdftotext joins words hyphenated at a line end, with or
/// without their hyphen, so words are compared without spaces and hyphens.
fn squeezed(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '\u{ad}')
        .collect()
}

#[test]
fn a_personal_link_signs_online_and_the_return_is_filed_as_signed_online() {
    let scratch = sealed_office();
    let server = Server::start(&scratch, &["--out", "out"]);
    let all = links(&scratch, &server);
    assert_eq!(all.len(), 3, "{all:?}");
    let (_, link) = all.iter().find(|(n, _)| n == "Amelia Hart").unwrap();
    let path = path_of(link, &server);
    let client = Client::anonymous(&server);

    let page = client.get(&path);
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let html = page.text();
    assert!(html.contains("For Amelia Hart."), "{html}");
    assert!(html.contains("value=\"Teacher\""), "{html}");
    let csrf = page_csrf(&html);

    // The declaration must be ticked; nothing is signed without it.
    let unticked = client.post_form(
        &path,
        &format!("csrf={csrf}&role=Teacher&how=typed&typed=Amelia+Hart"),
    );
    assert_eq!(unticked.status, 422);
    assert!(
        unticked.text().contains("Tick the box"),
        "{}",
        unticked.text()
    );
    // A form from elsewhere (no token of this link) signs nothing.
    let forged = client.post_form(
        &path,
        "csrf=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx&role=Teacher&declaration=yes&how=typed&typed=Amelia+Hart",
    );
    assert_eq!(forged.status, 403);
    assert_eq!(count(&scratch, "SELECT COUNT(*) FROM returns"), 0);

    let signed = client.post_form(
        &path,
        &format!("csrf={csrf}&role=Teacher&declaration=yes&how=typed&typed=Amelia+Hart"),
    );
    assert_eq!(signed.status, 200, "{}", signed.text());
    assert!(
        signed
            .text()
            .contains("Amelia Hart signed this Acceptable Use Policy on")
    );
    wait_until(
        &scratch,
        "SELECT COUNT(*) FROM returns WHERE verdict = 'accepted' AND method = 'online'",
        1,
        Duration::from_secs(60),
    );
    let status = scratch
        .aup(&["status", "--year", "2025-26", "--format", "json"])
        .success()
        .stdout();
    let rows: serde_json::Value = serde_json::from_str(&status).unwrap();
    let amelia = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Amelia Hart")
        .unwrap();
    assert_eq!(amelia["state"], "signed", "{status}");
    assert_eq!(amelia["method"], "online", "{status}");
    // The evidence page says how, when and from where.
    let evidence = office::walkdir(&scratch.path("archive"))
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".evidence.pdf"))
        .expect("an evidence page");
    let said = common::pdftotext(&evidence);
    let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        said.contains("signed online on the school's signing page, sealed by the school: Amelia Hart ticked the declaration and signed online (typed) at"),
        "{said}"
    );
    assert!(
        said.contains("UK time, from 127.0.0.1, link 1, browser"),
        "{said}"
    );

    // Again: signed on that day, with the download, never a second form.
    let again = client.get(&path);
    assert_eq!(again.status, 200);
    assert!(
        again
            .text()
            .contains("signed this Acceptable Use Policy on")
    );
    assert!(!again.text().contains("name=\"csrf\""));
    let resubmitted = client.post_form(
        &path,
        &format!("csrf={csrf}&role=Teacher&declaration=yes&how=typed&typed=Someone"),
    );
    assert!(
        resubmitted
            .text()
            .contains("signed this Acceptable Use Policy on")
    );
    let pdf = client.get(&format!("{path}/signed.pdf"));
    assert_eq!(pdf.status, 200);
    let copy = scratch.path("copy.pdf");
    std::fs::write(&copy, &pdf.body).unwrap();
    let pdfsig = run_tool("pdfsig", &[copy.as_os_str()]);
    assert!(pdfsig.contains("Signature is Valid."), "{pdfsig}");
    assert!(pdfsig.contains("Pakeman Primary School seal"), "{pdfsig}");
    assert_eq!(
        count(
            &scratch,
            "SELECT COUNT(*) FROM uploads WHERE user = 'online signing'"
        ),
        1
    );

    // The token is nowhere: not in the server's log, the audit log, the index
    // or any file of the archive.
    let token = path.rsplit('/').next().unwrap().to_owned();
    let log = std::fs::read_to_string(scratch.path("serve.log")).unwrap();
    assert!(!log.contains(&token), "{log}");
    for file in office::walkdir(&scratch.path("archive")) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{} holds the token",
            file.display()
        );
    }
}

#[test]
fn links_that_open_nothing_all_look_alike_and_guesses_are_braked() {
    let scratch = sealed_office();
    let server = Server::start(&scratch, &["--out", "out", "--behind-proxy"]);
    let all = links(&scratch, &server);
    let link_of = |who: &str| path_of(&all.iter().find(|(n, _)| n == who).unwrap().1, &server);
    let client = Client::anonymous(&server);
    let from = |path: &str, address: &str| {
        answer(
            client
                .agent
                .get(&format!("{}{path}", server.url))
                .header("X-Forwarded-For", address)
                .call(),
        )
    };
    let unknown = from(
        "/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "203.0.113.1",
    );
    assert_eq!(unknown.status, 404);

    // Revoked.
    let ben = link_of("Ben Okafor");
    let ben_id = office::form(&scratch, "ben-okafor").1;
    scratch.aup(&["links", "revoke", &ben_id]).success();
    let revoked = from(&ben, "203.0.113.2");
    // Expired.
    let chloe = link_of("Chloe Price");
    let chloe_id = office::form(&scratch, "chloe-price").1;
    common::sqlite(
        &scratch.path("archive"),
        &format!("UPDATE signing_links SET expires_on = '2026-01-01' WHERE form_id = '{chloe_id}'"),
    );
    let expired = from(&chloe, "203.0.113.3");
    for other in [&revoked, &expired] {
        assert_eq!(other.status, unknown.status);
        assert_eq!(other.text(), unknown.text());
    }
    // Posting to them writes nothing.
    let before = count(&scratch, "SELECT COUNT(*) FROM audit");
    let post = client.post_form(
        &ben,
        "csrf=x&role=TA&declaration=yes&how=typed&typed=Ben+Okafor",
    );
    assert_eq!(post.status, 404);
    assert_eq!(count(&scratch, "SELECT COUNT(*) FROM audit"), before);
    assert!(office::inbox_files(&scratch).is_empty());

    // Fifty wrong tokens from one client: the first twenty are answered, the
    // rest refused, and then even its own link; the next client is not.
    let answered: Vec<u16> = (0..50)
        .map(|n| from(&format!("/s/{:A>43}", n), "198.51.100.9").status)
        .collect();
    assert_eq!(answered[..20], [404; 20]);
    assert_eq!(answered[20..], [429; 30]);
    let amelia = link_of("Amelia Hart");
    assert_eq!(from(&amelia, "198.51.100.9").status, 429);
    assert_eq!(from(&amelia, "198.51.100.10").status, 200);
    // A new link for Ben works again.
    let renewed = links(&scratch, &server);
    let ben_again = path_of(
        &renewed.iter().find(|(n, _)| n == "Ben Okafor").unwrap().1,
        &server,
    );
    assert_ne!(ben_again, ben);
    assert_eq!(from(&ben_again, "203.0.113.4").status, 200);
}

#[test]
fn the_signing_page_holds_the_words_of_the_issued_pdf_for_every_shipped_school() {
    let scratch = Scratch::with_shipped_schools();
    scratch.aup(&["generate", "--date", "2026-09-01"]).success();
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    let server = Server::start(&scratch, &["--out", "out"]);
    for school in ["pakeman", "st-margarets", "kensington"] {
        let run = scratch
            .aup(&[
                "links",
                "--school",
                school,
                "--public-url",
                &server.url,
                "--format",
                "json",
            ])
            .success();
        let first = run.json_lines().into_iter().next().unwrap();
        let path = path_of(first["link"].as_str().unwrap(), &server);
        let html = Client::anonymous(&server).get(&path).text();
        let policy = &html[html.find("<article").unwrap()..html.find("</article>").unwrap()];
        let agree = &html[html.find("class=\"agree\"").unwrap()..];
        let declaration = &agree[agree.find("<span>").unwrap()..agree.find("</span>").unwrap()];

        let pdf = scratch.path(&format!("out/{school}/2026-27/{school}-staff-aup.pdf"));
        let text = common::pdftotext(&pdf);
        let heading = text.find("To be completed by the user").unwrap();
        let boxes = text.find("Signature:").unwrap();
        // Words only: list numbers and bullets are the list's drawing (the
        // page's lists number themselves), page numbers are artifacts.
        let words = |text: &str| -> String {
            let page_number = |line: &str| {
                let line = line.replace(' ', "");
                line.split_once('/').is_some_and(|(a, b)| {
                    !a.is_empty()
                        && !b.is_empty()
                        && a.chars().chain(b.chars()).all(|c| c.is_ascii_digit())
                })
            };
            squeezed(
                &text
                    .lines()
                    .filter(|l| !page_number(l))
                    .flat_map(str::split_whitespace)
                    .filter(|w| *w != "•")
                    .filter(|w| {
                        let number = w.trim_end_matches('.');
                        !(w.ends_with('.')
                            && !number.is_empty()
                            && number.chars().all(|c| c.is_ascii_digit()))
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        };
        let printed_policy = words(&text[..heading]);
        let printed_declaration =
            words(&text[heading + "To be completed by the user".len()..boxes]);
        assert_eq!(printed_policy, squeezed(&text_of(policy)), "{school}");
        assert_eq!(
            printed_declaration,
            squeezed(&text_of(declaration)),
            "{school}"
        );
    }
}

/// Signs `who`'s link in Chromium at phone size, in `mode` (drawn or typed);
/// returns what the script saw and the signed copy's path.
fn sign_in_chromium(
    scratch: &Scratch,
    server: &Server,
    who: &str,
    mode: &str,
) -> (String, std::path::PathBuf) {
    let all = links(scratch, server);
    let (name, link) = all.iter().find(|(n, _)| n == who).unwrap();
    let shots = common::repo().join("target/test-artefacts/sign-online");
    std::fs::create_dir_all(&shots).unwrap();
    let seen = common::python(
        "sign_in_chromium.py",
        &[link.as_str(), mode, name.as_str(), shots.to_str().unwrap()],
    );
    let copy = scratch.path(&format!("{mode}.pdf"));
    let pdf = Client::anonymous(server).get(&format!("{}/signed.pdf", path_of(link, server)));
    assert_eq!(pdf.status, 200, "{seen}");
    std::fs::write(&copy, &pdf.body).unwrap();
    (seen, copy)
}

#[test]
fn a_phone_signs_with_a_finger_and_another_types_without_javascript() {
    let scratch = sealed_office();
    let server = Server::start(&scratch, &["--out", "out"]);

    let (seen, drawn) = sign_in_chromium(&scratch, &server, "Amelia Hart", "drawn");
    assert!(seen.contains("after submit: Signed"), "{seen}");
    assert!(seen.contains("reopened: Signed"), "{seen}");
    // WCAG 2.1 A and AA, as axe-core checks them in Chromium.
    let passed: usize = seen
        .lines()
        .find_map(|l| l.strip_prefix("axe: 0 violations, "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{seen}"));
    assert!(passed >= 10, "{seen}");
    assert!(seen.contains("download: http"), "{seen}");
    assert!(
        seen.contains("typed font: 1 \"AUP Handwriting\", cursive"),
        "{seen}"
    );
    let ink: usize = seen
        .lines()
        .find_map(|l| l.strip_prefix("pad ink pixels: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(ink > 500, "{seen}");
    // The finger's strokes are the signature box's appearance, inside the box.
    let issued = scratch.form_pdf("pakeman", "amelia-hart");
    let where_ink = common::python("ink_outside_boxes.py", &[&issued, &drawn]);
    assert!(where_ink.contains("signer_signature: inked"), "{where_ink}");
    assert!(
        where_ink.contains("outside boxes: 0 pixels changed"),
        "{where_ink}"
    );

    let (seen, typed) = sign_in_chromium(&scratch, &server, "Ben Okafor", "typed");
    assert!(seen.contains("after submit: Signed"), "{seen}");
    let issued = scratch.form_pdf("pakeman", "ben-okafor");
    let where_ink = common::python("ink_outside_boxes.py", &[&issued, &typed]);
    assert!(where_ink.contains("signer_signature: inked"), "{where_ink}");

    wait_until(
        &scratch,
        "SELECT COUNT(*) FROM returns WHERE verdict = 'accepted' AND method = 'online'",
        2,
        Duration::from_secs(60),
    );
    for copy in [&drawn, &typed] {
        let verify = scratch
            .aup(&["verify", "--json", copy.to_str().unwrap()])
            .success();
        let report: serde_json::Value = serde_json::from_str(&verify.stdout()).unwrap();
        assert_eq!(report["verdict"], "accepted", "{report:#}");
        assert_eq!(report["method"], "online", "{report:#}");
    }
}

#[test]
fn markup_in_a_schools_own_words_is_shown_as_text_on_the_signing_page() {
    let scratch = sealed_office();
    let yaml = std::fs::read_to_string(scratch.path("schools/pakeman.yaml")).unwrap();
    scratch.write(
        "schools/pakeman.yaml",
        &yaml.replacen(
            "ethos: >-\n",
            "ethos: >-\n  <script src=\"https://evil.example/x.js\"></script><b onclick=\"steal()\">Bold</b> &amp;\n",
            1,
        ),
    );
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    let server = Server::start(&scratch, &["--out", "out"]);
    let (_, link) = links(&scratch, &server)
        .into_iter()
        .find(|(n, _)| n == "Amelia Hart")
        .unwrap();
    let page = Client::anonymous(&server).get(&path_of(&link, &server));
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(!html.contains("evil.example/x.js\"></script>"), "{html}");
    assert!(!html.contains("<b onclick"), "{html}");
    assert!(html.contains("&lt;script"), "{html}");
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the page's own script"
    );
}

#[test]
fn someone_who_is_not_the_person_named_says_so_and_the_link_stops() {
    let scratch = sealed_office();
    let server = Server::start(&scratch, &["--out", "out"]);
    let all = links(&scratch, &server);
    let amelia = path_of(
        &all.iter().find(|(n, _)| n == "Amelia Hart").unwrap().1,
        &server,
    );
    let client = Client::anonymous(&server);
    let page = client.get(&amelia);
    assert!(
        page.text().contains(&format!("href=\"{amelia}/not-me\"")),
        "{}",
        page.text()
    );

    let ask = client.get(&format!("{amelia}/not-me"));
    assert_eq!(ask.status, 200);
    let asked = ask.text();
    assert!(asked.contains("If you are not Amelia Hart"), "{asked}");
    assert!(asked.contains("This link is not for me"), "{asked}");
    let csrf = page_csrf(&asked);

    // Not from the page: nothing changes.
    let forged = client.post_form(
        &format!("{amelia}/not-me"),
        "csrf=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    );
    assert_eq!(forged.status, 403);
    assert_eq!(client.get(&amelia).status, 200);

    let said = client.post_form(&format!("{amelia}/not-me"), &format!("csrf={csrf}"));
    assert_eq!(said.status, 200);
    assert!(
        said.text().contains("the school office has been told"),
        "{}",
        said.text()
    );
    let unknown = client.get("/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let now = client.get(&amelia);
    assert_eq!((now.status, now.text()), (404, unknown.text()));
    let audit = common::sqlite(&scratch.path("archive"), "SELECT detail FROM audit");
    let (_, amelia_id) = office::form(&scratch, "amelia-hart");
    assert!(
        audit.contains(&format!(
            "the person who opened the signing link of {amelia_id} said it is not theirs"
        )),
        "{audit}"
    );
    let token = amelia.trim_start_matches("/s/");
    assert!(!audit.contains(token));

    // No new link goes to the same address unasked.
    let again = links(&scratch, &server);
    assert!(again.iter().all(|(n, _)| n != "Amelia Hart"), "{again:?}");
    let run = links_json(&scratch, &server.url, &["--renew", &amelia_id]);
    assert!(
        !run.stderr().contains("no new link for Amelia Hart"),
        "{}",
        run.stderr()
    );
    let renewed = run
        .json_lines()
        .into_iter()
        .find(|l| l["name"] == "Amelia Hart")
        .expect("a new link for Amelia");
    let renewed = path_of(renewed["link"].as_str().unwrap(), &server);
    assert_ne!(renewed, amelia);
    assert_eq!(client.get(&renewed).status, 200);
}

#[test]
fn the_office_downloads_everyones_signing_links_from_its_pages() {
    let scratch = sealed_office();
    let public = "https://aup.pakeman.example";
    let server = Server::start(&scratch, &["--out", "out", "--public-url", public]);
    let office = Client::signed_in(&server, "office");
    let page = office.get("/school/pakeman/2025-26");
    assert!(
        page.text().contains("Signing links (CSV)"),
        "{}",
        page.text()
    );
    let viewer = Client::signed_in(&server, "viewer");
    assert!(
        !viewer
            .get("/school/pakeman/2025-26")
            .text()
            .contains("Signing links")
    );
    let refused = viewer.post_form(
        "/school/pakeman/2025-26/signing-links.csv",
        &format!("csrf={}", viewer.csrf),
    );
    assert_eq!(refused.status, 403);
    assert_eq!(count(&scratch, "SELECT COUNT(*) FROM signing_links"), 0);

    let csv = office.post_form(
        "/school/pakeman/2025-26/signing-links.csv",
        &format!("csrf={}", office.csrf),
    );
    assert_eq!(csv.status, 200, "{}", csv.text());
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(csv.header("cache-control"), Some("no-store"));
    let text = csv.text();
    assert!(
        text.starts_with("\u{feff}name,email,role,form_id,state,expires,link\r\n"),
        "{text}"
    );
    let lines: Vec<&str> = text.trim_end().split("\r\n").skip(1).collect();
    assert_eq!(lines.len(), 3, "{text}");
    // A year over: the links stay open four weeks from today.
    let four_weeks =
        (time::OffsetDateTime::now_utc().date() + time::Duration::days(28)).to_string();
    let amelia = lines
        .iter()
        .find(|l| l.starts_with("Amelia Hart,"))
        .unwrap();
    assert!(amelia.contains(&four_weeks), "{amelia}");
    let link = amelia.rsplit(',').next().unwrap();
    let path = link.strip_prefix(public).expect("the public address");
    assert!(
        Client::anonymous(&server)
            .get(path)
            .text()
            .contains("For Amelia Hart.")
    );

    // The command line lists the same links, and the person's page says one is out.
    let cli = scratch
        .aup(&[
            "links",
            "--school",
            "pakeman",
            "--year",
            "2025-26",
            "--public-url",
            public,
        ])
        .success();
    assert!(cli.stdout().contains(link), "{}", cli.stdout());
    let (_, amelia_id) = office::form(&scratch, "amelia-hart");
    let person = office.get(&format!("/form/{amelia_id}")).text();
    assert!(
        person.contains("Signing online: a link is out, open until"),
        "{person}"
    );
    assert!(!person.contains(path));
    let audit = common::sqlite(&scratch.path("archive"), "SELECT detail FROM audit");
    assert!(
        audit.contains("office on the office's pages made signing links for"),
        "{audit}"
    );

    // Without the public address the page offers nothing and says why.
    drop(server);
    let server = Server::start(&scratch, &["--out", "out"]);
    let office = Client::signed_in(&server, "office");
    assert!(
        !office
            .get("/school/pakeman/2025-26")
            .text()
            .contains("Signing links")
    );
    let said = office.post_form(
        "/school/pakeman/2025-26/signing-links.csv",
        &format!("csrf={}", office.csrf),
    );
    assert_eq!(said.status, 409);
    assert!(said.text().contains("--public-url"), "{}", said.text());
}

#[test]
fn pruning_a_year_whose_forms_have_signing_links_removes_the_links_and_the_signed_copies() {
    let scratch = Scratch::pakeman_with_roster(
        "Staff Code,Forename,Surname,Job Title\nP1,Amelia,Hart,Teacher\n",
    );
    scratch
        .aup(&["generate", "--year", "2018-19", "--date", "2018-09-03"])
        .success();
    scratch
        .aup(&["seal", "init", "--school", "pakeman"])
        .success();
    let made = scratch
        .aup(&[
            "links",
            "--school",
            "pakeman",
            "--year",
            "2018-19",
            "--expires",
            "2027-08-31",
            "--public-url",
            "https://aup.pakeman.example",
            "--format",
            "json",
        ])
        .success();
    assert_eq!(made.json_lines().len(), 1);
    // As the signing page leaves a signed link: used, with the person's copy.
    let archive = scratch.path("archive");
    common::sqlite(
        &archive,
        "UPDATE signing_links SET used_at = '2019-01-07T10:00:00Z'",
    );
    let id = count(&scratch, "SELECT id FROM signing_links");
    let copy = archive.join(format!("signed-online/{id}.pdf"));
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::write(&copy, b"%PDF-1.7 signed copy").unwrap();

    let out = scratch
        .aup(&["prune", "--before", "2026-27", "--today", "2026-11-23"])
        .success()
        .stdout();
    assert!(
        out.contains("pakeman 2018-19: removed 1 forms, 0 returns, 1 received files"),
        "{out}"
    );
    assert_eq!(common::index_rows(&archive, "signing_links"), 0);
    assert!(!copy.exists());
    scratch.aup(&["audit", "verify"]).success();
}
