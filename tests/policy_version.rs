//! The policy version changes exactly when what a person signs changes. An office
//! edits its school file, runs `aup check`, then `aup generate`: edits that print
//! nothing keep everyone's forms; one changed word supersedes them, and `check`
//! says so first.

mod common;

use common::{Scratch, repo};

/// Kensington alone, its 2025-26 forms issued to its shipped roster.
fn kensington_issued() -> (Scratch, String) {
    let scratch = Scratch::with_shipped_schools();
    for other in ["st-margarets", "pakeman"] {
        std::fs::remove_file(scratch.path(&format!("schools/{other}.yaml"))).unwrap();
    }
    let run = generate(&scratch, &[]);
    let version = run["fingerprint"].as_str().unwrap().to_owned();
    (scratch, version)
}

fn generate(scratch: &Scratch, options: &[&str]) -> serde_json::Value {
    let mut args = vec!["generate", "--json", "--date", "2025-09-01"];
    args.extend(options);
    scratch.aup(&args).success().json_lines()[0].clone()
}

fn edit(scratch: &Scratch, from: &str, to: &str) {
    let path = scratch.path("schools/kensington.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    assert!(yaml.contains(from), "{from:?} is not in kensington.yaml");
    std::fs::write(&path, yaml.replacen(from, to, 1)).unwrap();
}

/// What `aup check --json` says of the one school: (changes, version).
fn check(scratch: &Scratch) -> (serde_json::Value, String) {
    let run = scratch.aup(&["check", "--json"]).success();
    let line = run.json_lines()[0].clone();
    (line["changes_printed_policy"].clone(), run.stderr())
}

#[test]
fn edits_that_print_nothing_keep_the_policy_version_and_every_form() {
    let (scratch, version) = kensington_issued();
    let forms = common::file_names(&scratch.path("out/kensington/2025-26/forms"));
    assert!(!forms.is_empty());

    // A heading for an ethos the school does not have.
    edit(&scratch, "website:", "ethos_heading: Our ethos\nwebsite:");
    // A clause replaced by its own words.
    edit(
        &scratch,
        "  replace:\n",
        "  replace:\n    remote-systems: I will not attempt to use a personal system or personal login for remote teaching or set up any system on behalf of the school without SLT approval.\n",
    );
    // The head's name, which Kensington's policy never prints (its contacts are
    // "the Head Teacher", its DSL is not the head, and nobody approves on paper).
    edit(
        &scratch,
        "headteacher:\n",
        "headteacher:\n  name: Mrs K Example\n",
    );
    let (changes, said) = check(&scratch);
    assert_eq!(changes, serde_json::json!(false), "{said}");
    assert!(
        said.contains(&format!(
            "the printed policy is unchanged since version {} issued for 2025-26: nobody is asked to sign again",
            &version[..12]
        )),
        "{said}"
    );

    // A comment in the template is not printed either.
    let templates = scratch.path("templates");
    std::fs::create_dir_all(&templates).unwrap();
    for name in ["staff-aup.typ", "aup-lib.typ"] {
        let text = std::fs::read_to_string(repo().join("templates").join(name)).unwrap();
        std::fs::write(
            templates.join(name),
            format!("// Edited by the trust's IT person.\n{text}"),
        )
        .unwrap();
    }

    for options in [&[][..], &["--templates", "templates"][..]] {
        let again = generate(&scratch, options);
        assert_eq!(
            again["fingerprint"].as_str().unwrap(),
            version,
            "{options:?}"
        );
        assert_eq!(again["superseded"], serde_json::json!([]), "{options:?}");
        assert_eq!(
            common::file_names(&scratch.path("out/kensington/2025-26/forms")),
            forms
        );
        assert!(!scratch.path("out/kensington/2025-26/superseded").exists());
    }
}

#[test]
fn one_changed_word_makes_a_new_version_and_check_warns_first() {
    let (scratch, version) = kensington_issued();
    edit(
        &scratch,
        "  replace:\n",
        "  replace:\n    remote-systems: I will not attempt to use a personal system or personal login for remote teaching or set up any system on behalf of the school without SLT’s approval.\n",
    );
    let (changes, said) = check(&scratch);
    assert_eq!(changes, serde_json::json!(true), "{said}");
    assert!(
        said.contains(&format!(
            "this changes the printed policy: staff will be asked to sign again (version {} issued for 2025-26 becomes ",
            &version[..12]
        )),
        "{said}"
    );

    let after = generate(&scratch, &[]);
    let new_version = after["fingerprint"].as_str().unwrap();
    assert_ne!(new_version, version);
    assert!(
        said.contains(&format!("becomes {})", &new_version[..12])),
        "{said}"
    );
    assert!(!after["superseded"].as_array().unwrap().is_empty());
    let superseded = scratch.path(&format!(
        "out/kensington/2025-26/superseded/{}",
        &version[..12]
    ));
    assert!(!common::file_names(&superseded).is_empty());

    // Generated, the same file is no longer a change.
    let (changes, said) = check(&scratch);
    assert_eq!(changes, serde_json::json!(false), "{said}");
}

#[test]
fn check_without_an_archive_compares_nothing() {
    let scratch = Scratch::with_shipped_schools();
    let run = scratch.aup(&["check", "--json"]).success();
    for line in run.json_lines() {
        assert_eq!(
            line["changes_printed_policy"],
            serde_json::Value::Null,
            "{line}"
        );
    }
    assert!(!run.stderr().contains("sign again"), "{}", run.stderr());
}
