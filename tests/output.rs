//! What every command prints, as a script or a person at a terminal meets it:
//! `--json` gives one JSON object per line with the documented fields (a test per
//! command), colour follows `--color` and NO_COLOR, and every command's `--help`
//! states its exit codes.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Scratch, python, sqlite};
use serde_json::Value;

const ROSTER: &str =
    "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\nA2,Daniel,Okoro,TA\n";

/// Pakeman with two staff, generated for 2025-26.
fn generated() -> (Scratch, Vec<Value>) {
    let scratch = Scratch::pakeman_with_roster(ROSTER);
    let lines = scratch
        .aup(&["generate", "--json", "--date", "2025-09-01"])
        .success()
        .json_lines();
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    (scratch, lines)
}

/// Amelia's form signed with a drawn signature and dated; Daniel's only dated.
fn returned(scratch: &Scratch) -> (PathBuf, PathBuf) {
    let amelia = scratch.path("amelia-signed.pdf");
    let daniel = scratch.path("daniel-dated.pdf");
    python(
        "draw.py",
        &[
            scratch.form_pdf("pakeman", "amelia").as_os_str(),
            amelia.as_os_str(),
            "ink".as_ref(),
            "incremental".as_ref(),
            "signer_date=01/10/2025".as_ref(),
        ],
    );
    python(
        "fill.py",
        &[
            scratch.form_pdf("pakeman", "daniel").as_os_str(),
            daniel.as_os_str(),
            "signer_date=01/10/2025".as_ref(),
        ],
    );
    (amelia, daniel)
}

/// Both returns ingested; their form ids (Amelia's, Daniel's).
fn ingested() -> (Scratch, String, String) {
    let (scratch, _) = generated();
    let (amelia, daniel) = returned(&scratch);
    std::fs::copy(&amelia, scratch.path("inbox/amelia.pdf")).unwrap();
    std::fs::copy(&daniel, scratch.path("inbox/daniel.pdf")).unwrap();
    scratch.ingest_json();
    let id = |who: &str| {
        let form = scratch.form_pdf("pakeman", who);
        form.file_name().unwrap().to_string_lossy()[..15].to_owned()
    };
    let (amelia, daniel) = (id("amelia"), id("daniel"));
    (scratch, amelia, daniel)
}

#[test]
fn generate_json_gives_one_line_per_school_with_its_files() {
    let (scratch, lines) = generated();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let school = &lines[0];
    assert_eq!(school["school"], "pakeman");
    assert_eq!(school["year"], "2025-26");
    assert_eq!(school["pages"], 3);
    let fingerprint = school["fingerprint"].as_str().unwrap();
    assert_eq!(fingerprint.len(), 64, "{school:#}");
    let forms = school["forms"].as_array().unwrap();
    assert_eq!(forms.len(), 2, "{school:#}");
    for path in forms
        .iter()
        .map(|form| &form["path"])
        .chain([&school["policy"], &school["print_all"]])
    {
        assert!(
            scratch.path(path.as_str().unwrap()).is_file(),
            "{path} was not written"
        );
    }
    let ids: Vec<&str> = forms
        .iter()
        .map(|f| f["form_id"].as_str().unwrap())
        .collect();
    assert!(ids[0].starts_with("PAK-2526-"), "{ids:?}");
}

#[test]
fn check_json_gives_each_error_with_line_and_column() {
    let scratch = Scratch::pakeman_with_roster(ROSTER);
    scratch.write(
        "schools/broken.yaml",
        "name: Broken School\nheadteacher:\n  name: A Head\nclauses:\n  remove: [no-such-clause]\n",
    );
    let run = scratch.aup(&["check", "--json"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    let lines = run.json_lines();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let by_file = |name: &str| {
        lines
            .iter()
            .find(|l| l["file"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} in {lines:#?}"))
    };
    let pakeman = by_file("pakeman.yaml");
    assert_eq!(pakeman["valid"], true);
    assert_eq!(pakeman["errors"], serde_json::json!([]));
    let broken = by_file("broken.yaml");
    assert_eq!(broken["valid"], false);
    let error = &broken["errors"][0];
    assert_eq!(error["line"], 5, "{error:#}");
    assert!(error["column"].as_u64().unwrap() > 0, "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no-such-clause"),
        "{error:#}"
    );
}

#[test]
fn ingest_json_gives_one_line_per_form_with_its_verdict() {
    let (scratch, _) = generated();
    let (amelia, daniel) = returned(&scratch);
    std::fs::copy(&amelia, scratch.path("inbox/amelia.pdf")).unwrap();
    std::fs::copy(&daniel, scratch.path("inbox/daniel.pdf")).unwrap();
    let mut lines = scratch.ingest_json();
    lines.sort_by_key(|l| l["file"].as_str().unwrap().to_owned());
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for line in &lines {
        for field in [
            "file", "form_id", "school", "person", "verdict", "missing", "reason", "archived",
        ] {
            assert!(line.get(field).is_some(), "no {field}: {line:#}");
        }
    }
    assert_eq!(lines[0]["file"], "amelia.pdf");
    assert_eq!(lines[0]["verdict"], "accepted");
    assert_eq!(lines[1]["verdict"], "incomplete");
    assert_eq!(lines[1]["missing"], serde_json::json!(["signature"]));
}

#[test]
fn verify_json_is_one_line_and_its_exit_code_says_accepted_or_not() {
    let (scratch, _) = generated();
    let (amelia, daniel) = returned(&scratch);
    let run = scratch.aup(&["verify", "--json", amelia.to_str().unwrap()]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["verdict"], "accepted");
    assert!(lines[0]["checks"].as_array().unwrap().len() > 2);

    let run = scratch.aup(&["verify", "--json", daniel.to_str().unwrap()]);
    assert_eq!(run.code(), Some(1), "checked, not accepted");
    assert_eq!(run.json_lines()[0]["verdict"], "incomplete");

    let text = scratch.write("notes.pdf", "not a pdf at all");
    let run = scratch.aup(&["verify", "--json", text.to_str().unwrap()]);
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    assert!(run.could_not_check().contains("is not a PDF"));
}

#[test]
fn status_json_gives_one_line_per_person() {
    let (scratch, _, _) = ingested();
    let lines = scratch
        .aup(&["status", "--json", "--year", "2025-26"])
        .success()
        .json_lines();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let state = |name: &str| {
        lines
            .iter()
            .find(|l| l["name"] == name)
            .map(|l| l["state"].clone())
            .unwrap()
    };
    assert_eq!(state("Amelia Hart"), "signed");
    assert_eq!(state("Daniel Okoro"), "incomplete");
    for field in [
        "school",
        "year",
        "role",
        "form_id",
        "signed_on",
        "received_on",
        "method",
        "missing",
    ] {
        assert!(lines[0].get(field).is_some(), "no {field}: {:#}", lines[0]);
    }
    // --json replaces --format; asking for both is a usage error.
    let run = scratch.aup(&["status", "--json", "--format", "csv"]);
    assert_eq!(run.code(), Some(2));
}

#[test]
fn show_json_gives_the_form_and_its_returns() {
    let (scratch, amelia, _) = ingested();
    let lines = scratch
        .aup(&["show", "--json", &amelia])
        .success()
        .json_lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let form = &lines[0];
    assert_eq!(form["form_id"], amelia.as_str());
    assert_eq!(form["person"], "Amelia Hart");
    assert_eq!(form["current"], true);
    assert_eq!(form["pages"], 3);
    let returns = form["returns"].as_array().unwrap();
    assert_eq!(returns.len(), 1, "{form:#}");
    assert_eq!(returns[0]["verdict"], "accepted");
    assert_eq!(returns[0]["files"], serde_json::json!(["amelia.pdf"]));
}

#[test]
fn audit_json_says_intact_or_what_is_broken() {
    let (scratch, _, _) = ingested();
    let lines = scratch
        .aup(&["audit", "verify", "--json"])
        .success()
        .json_lines();
    assert_eq!(lines, [serde_json::json!({"intact": true, "entries": 2})]);
    sqlite(
        &scratch.path("archive"),
        "UPDATE audit SET detail = 'nothing happened' WHERE id = 2",
    );
    let run = scratch.aup(&["audit", "verify", "--json"]);
    assert_eq!(run.code(), Some(1), "checked, and broken");
    let line = &run.json_lines()[0];
    assert_eq!(line["intact"], false);
    assert!(
        line["problem"].as_str().unwrap().contains("was edited"),
        "{line:#}"
    );
}

#[test]
fn prune_json_gives_one_line_per_school_year() {
    let (scratch, _, _) = ingested();
    // Prune as if today were `today`.
    let prune_on = |today: &str| {
        scratch
            .aup(&["prune", "--json", "--before", "2026-27", "--today", today])
            .success()
            .json_lines()
    };
    let kept = prune_on("2026-11-24");
    assert_eq!(
        kept,
        [serde_json::json!({
            "school": "pakeman", "year": "2025-26", "action": "kept", "keep_until": "2032-08-31"
        })]
    );
    let removed = prune_on("2032-09-01");
    assert_eq!(removed.len(), 1, "{removed:#?}");
    assert_eq!(removed[0]["action"], "removed");
    assert_eq!(removed[0]["forms"], 2);
    assert_eq!(removed[0]["returns"], 2);
    assert_eq!(removed[0]["received_files"], 2);
}

#[test]
fn assign_json_gives_the_form_judged_again() {
    let (scratch, _, daniel) = ingested();
    // Daniel's first page, as a page image whose code the office could not read.
    let page = scratch.path("page");
    let run = Command::new("pdftoppm")
        .args(["-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile"])
        .arg(scratch.form_pdf("pakeman", "daniel"))
        .arg(&page)
        .output()
        .expect("pdftoppm (poppler-utils): run scripts/test.sh, which installs it");
    assert!(run.status.success(), "{run:?}");
    let lines = scratch
        .aup(&["assign", "--json", "page.png", &daniel])
        .success()
        .json_lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["form_id"], daniel.as_str());
    assert_eq!(lines[0]["verdict"], "incomplete");
    let missing = lines[0]["missing"].as_array().unwrap();
    assert!(missing.contains(&"page 2".into()), "{:#}", lines[0]);
}

#[test]
fn colour_follows_the_color_flag_and_no_color() {
    let (scratch, _, _) = ingested();
    let status = ["status", "--year", "2025-26"];
    // Into a pipe (as here) and with NO_COLOR set: plain text.
    let plain = scratch.aup(&status).success().stdout();
    assert!(!plain.contains('\x1b'), "{plain}");
    let always = scratch
        .aup(&[&status[..], &["--color", "always"]].concat())
        .success()
        .stdout();
    assert!(always.contains("\x1b["), "--color always: {always}");
    assert_eq!(strip_ansi(&always), plain);
    let forced = scratch.aup_env(&status, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]);
    assert!(forced.success().stdout().contains("\x1b["));
    let never = scratch.aup_env(
        &[&status[..], &["--color", "never"]].concat(),
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")],
    );
    assert!(!never.success().stdout().contains('\x1b'));
    // Diagnostics follow the same rule.
    let checked = scratch
        .aup(&["check", "--color", "always"])
        .success()
        .stderr();
    assert!(checked.contains("\x1b["), "{checked}");
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn every_command_documents_its_exit_codes_and_output() {
    let scratch = Scratch::empty();
    for command in [
        &["check"][..],
        &["generate"],
        &["ingest"],
        &["verify"],
        &["status"],
        &["assign"],
        &["show"],
        &["prune"],
        &["audit", "verify"],
        &["schema"],
        &["init"],
    ] {
        let help = words(
            &scratch
                .aup(&[command, &["--help"]].concat())
                .success()
                .stdout(),
        );
        assert!(help.contains("Exit status: 0"), "{command:?}:\n{help}");
        assert!(help.contains("2 for a usage error"), "{command:?}:\n{help}");
    }
    for command in [
        "generate", "check", "ingest", "verify", "assign", "status", "show", "prune",
    ] {
        let help = scratch.aup(&[command, "--help"]).success().stdout();
        assert!(help.contains("--json"), "{command}:\n{help}");
    }
    let audit = words(
        &scratch
            .aup(&["audit", "verify", "--help"])
            .success()
            .stdout(),
    );
    assert!(audit.contains("--json") && audit.contains("3 when it could not be checked"));
}

/// Help text with its line wrapping undone.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn progress_bars_are_drawn_on_a_terminal_and_nowhere_else() {
    let (scratch, _) = generated();
    let (amelia, _) = returned(&scratch);
    // Into a pipe: no bar, on stdout or stderr.
    let piped = scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    assert!(!piped.stderr().contains("forms ["), "{}", piped.stderr());
    assert!(!piped.stdout().contains("forms ["), "{}", piped.stdout());
    // On a terminal (util-linux `script` gives aup a pseudo-terminal).
    let on_terminal = |args: &str| {
        let run = Command::new("script")
            .args([
                "-qec",
                &format!("'{}' {args}", env!("CARGO_BIN_EXE_aup")),
                "/dev/null",
            ])
            .current_dir(scratch.dir.path())
            .output()
            .expect("script (util-linux)");
        assert!(run.status.success(), "{run:?}");
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    let generated = on_terminal("generate --date 2025-09-01");
    assert!(generated.contains("/2 forms ["), "{generated}");
    std::fs::copy(&amelia, scratch.path("inbox/amelia.pdf")).unwrap();
    let ingested = on_terminal("ingest --settle 0");
    assert!(ingested.contains("/1 files ["), "{ingested}");
    assert!(ingested.contains("accepted"), "{ingested}");
}
