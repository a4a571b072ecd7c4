//! A headteacher's typing mistakes: each one is reported with the file, line,
//! column and key path, the exit code says it failed, and nothing panics.

mod common;

use common::Scratch;

const VALID: &str = "name: Test School\nheadteacher:\n  name: A Head\n";

fn check(yaml: &str) -> String {
    let scratch = Scratch::empty();
    scratch.write("schools/test.yaml", yaml);
    scratch.aup(&["check", "test"]).failure()
}

#[test]
fn shipped_schools_are_valid() {
    let scratch = Scratch::with_shipped_schools();
    let run = scratch.aup(&["check"]).success();
    assert!(
        run.stderr().contains("3 of 3 school files are valid"),
        "{}",
        run.stderr()
    );
}

#[test]
fn yaml_syntax_error_points_at_its_line() {
    let err = check("name: Test School\nheadteacher:\n  name: A Head\n    title: Principal\n");
    assert!(
        err.contains(
            "schools/test.yaml:4:10: `headteacher`: mapping values are not allowed in this context"
        ),
        "{err}"
    );
    assert!(err.contains("4 |     title: Principal"), "{err}");
}

#[test]
fn unknown_key_suggests_the_right_one() {
    let err = check("name: Test School\nheadteacher:\n  nmae: A Head\n");
    assert!(
        err.contains("schools/test.yaml:3:3: `headteacher.nmae`: unknown field `nmae`, expected `name` or `title`"),
        "{err}"
    );
    assert!(err.contains("did you mean `name`?"), "{err}");
    // The offending line is shown under the message, like a compiler does.
    assert!(err.contains("3 |   nmae: A Head"), "{err}");
}

#[test]
fn wrong_type_names_what_was_expected() {
    let err = check(&format!("{VALID}audience: staff\n"));
    assert!(err.contains("schools/test.yaml:4:11: `audience`: invalid type: string \"staff\", expected a sequence"), "{err}");
    let err = check(&format!(
        "{VALID}wording:\n  networks_in_scope: sometimes\n"
    ));
    assert!(
        err.contains("`wording.networks_in_scope`: invalid type"),
        "{err}"
    );
    assert!(err.contains("expected a boolean"), "{err}");
}

#[test]
fn unknown_enum_value_suggests_one() {
    let err = check(&format!("{VALID}curriculum: RHSE\n"));
    assert!(
        err.contains("schools/test.yaml:4:13: `curriculum`: unknown variant `RHSE`"),
        "{err}"
    );
    assert!(err.contains("did you mean `RSHE`?"), "{err}");
}

#[test]
fn missing_required_key() {
    let err = check("name: Test School\n");
    assert!(err.contains("schools/test.yaml"), "{err}");
    assert!(err.contains("missing field `headteacher`"), "{err}");
}

#[test]
fn empty_file() {
    let err = check("");
    assert!(
        err.contains("schools/test.yaml: the file is empty"),
        "{err}"
    );
    assert!(err.contains("aup init test"), "{err}");
    let err = check("# only a comment\n\n");
    assert!(err.contains("the file is empty"), "{err}");
}

#[test]
fn alias_bomb_is_refused_quickly() {
    // The classic "billion laughs": 10^11 strings if expanded.
    let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        yaml.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    yaml.push_str("name: *a11\nheadteacher: {name: X}\n");
    let started = std::time::Instant::now();
    let err = check(&yaml);
    assert!(
        err.contains("schools/test.yaml:1:1: `a0`: unknown field `a0`"),
        "{err}"
    );
    // The same bomb under known keys stops at the first alias that is not text.
    let mut yaml = String::from(
        "name: X\nheadteacher: {name: X}\ncommitments_of: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    yaml.push_str("audience: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\n");
    let err = check(&yaml);
    // serde_yaml places an alias's error at the anchored node it stands for.
    assert!(
        err.contains(
            "schools/test.yaml:3:17: `audience[0]`: invalid type: sequence, expected a string"
        ),
        "{err}"
    );
    // Not a timing target, a guard against expansion: both runs together.
    assert!(started.elapsed().as_secs() < 20);
}

#[test]
fn not_a_mapping_and_not_utf8() {
    let err = check("- just\n- a list\n");
    assert!(
        err.contains("invalid type: sequence, expected struct SchoolConfig"),
        "{err}"
    );
    let scratch = Scratch::empty();
    std::fs::write(scratch.path("schools/test.yaml"), b"name: \xff\xfe\n").unwrap();
    let err = scratch.aup(&["check", "test"]).failure();
    assert!(err.contains("not UTF-8"), "{err}");
}

#[test]
fn unknown_clause_id_is_placed_and_suggested() {
    let err = check(&format!(
        "{VALID}clauses:\n  remove:\n    - extremisn\n  replace:\n    remote-lgo: x\n"
    ));
    assert!(
        err.contains("schools/test.yaml:6:7: `clauses.remove[0]`: there is no clause `extremisn`"),
        "{err}"
    );
    assert!(err.contains("did you mean `extremism`?"), "{err}");
    assert!(
        err.contains("schools/test.yaml:8:5: `clauses.replace.remote-lgo`"),
        "{err}"
    );
    assert!(err.contains("did you mean `remote-log`?"), "{err}");
}

#[test]
fn bad_placeholder_and_date_and_blank_name() {
    let yaml = "name: ''\nheadteacher:\n  name: A\nclauses:\n  add:\n    - id: phones\n      after: extremism\n      text: At {shcool} we\napproval:\n  kind: headteacher\n  date: 26/01/2025\n";
    let err = check(yaml);
    assert!(
        err.contains("schools/test.yaml:1:7: `name`: this cannot be blank"),
        "{err}"
    );
    assert!(err.contains("schools/test.yaml:8:13: `clauses.add[0].text`: unknown placeholder {shcool} (did you mean {school}?)"), "{err}");
    assert!(
        err.contains("schools/test.yaml:11:9: `approval.date`: `26/01/2025` is not a date"),
        "{err}"
    );
}

#[test]
fn unknown_school_slug_on_the_command_line() {
    let scratch = Scratch::with_shipped_schools();
    let err = scratch.aup(&["check", "pakemann"]).failure();
    assert!(err.contains("there is no school `pakemann`"), "{err}");
    assert!(err.contains("did you mean `pakeman`?"), "{err}");
}

#[test]
fn one_bad_school_does_not_stop_the_others() {
    let scratch = Scratch::with_shipped_schools();
    scratch.write("schools/broken.yaml", "name: [\n");
    let run = scratch.aup(&["generate", "--date", "2025-09-01"]);
    let err = run.stderr();
    assert_eq!(run.code(), Some(1), "{err}");
    assert!(err.contains("schools/broken.yaml:"), "{err}");
    for slug in ["pakeman", "st-margarets", "kensington"] {
        assert!(
            scratch
                .path(&format!("out/{slug}/2025-26/{slug}-staff-aup.pdf"))
                .is_file()
        );
    }
}

#[test]
fn template_errors_show_file_line_and_source() {
    let scratch = Scratch::with_shipped_schools();
    let repo = common::repo();
    for name in ["staff-aup.typ", "aup-lib.typ"] {
        std::fs::create_dir_all(scratch.path("tpl")).unwrap();
        std::fs::copy(
            repo.join("templates").join(name),
            scratch.path("tpl").join(name),
        )
        .unwrap();
    }
    let lib = std::fs::read_to_string(scratch.path("tpl/aup-lib.typ")).unwrap();
    std::fs::write(
        scratch.path("tpl/aup-lib.typ"),
        lib.replace("#let ink = rgb(\"#1a1a1a\")", "#let ink = rgb(\"#1a1a1a\""),
    )
    .unwrap();
    let err = scratch
        .aup(&[
            "generate",
            "--school",
            "pakeman",
            "--templates",
            "tpl",
            "--date",
            "2025-09-01",
        ])
        .failure();
    assert!(err.contains("templates/aup-lib.typ:"), "{err}");
    assert!(err.contains("#let ink = rgb(\"#1a1a1a\""), "{err}");
}

/// One school file per kind of mistake `aup check` knows, and the line and column
/// each must be reported at. Every error about what a file says carries its place;
/// the three about the file as a whole (its name, whether it can be read, and a
/// file with nothing in it) have no place inside it to point at.
#[test]
fn every_kind_of_config_error_carries_a_line_and_column() {
    let scratch = Scratch::empty();
    let kinds: &[(&str, &[u8], (u64, u64))] = &[
        ("syntax", b"name: X\nheadteacher:\n  name: A Head\n    title: Principal\n", (4, 10)),
        ("unknown-key", b"name: X\nheadteacher:\n  nmae: A Head\n", (3, 3)),
        ("wrong-type", b"name: X\nheadteacher:\n  name: A Head\naudience: staff\n", (4, 11)),
        ("bad-enum", b"name: X\nheadteacher:\n  name: A Head\ncurriculum: RHSE\n", (4, 13)),
        ("missing-key", b"name: X\n", (1, 1)),
        ("not-a-mapping", b"- just\n- a list\n", (1, 1)),
        ("not-utf8", b"name: X\nheadteacher:\n  name: A H\xffead\n", (3, 12)),
        ("blank", b"name: \"\"\nheadteacher:\n  name: A Head\n", (1, 7)),
        ("no-audience", b"name: X\nheadteacher:\n  name: A Head\naudience: []\n", (4, 1)),
        ("bad-prefix", b"name: X\nheadteacher:\n  name: A Head\nform_prefix: \"12\"\n", (4, 14)),
        (
            "unknown-clause",
            b"name: X\nheadteacher:\n  name: A Head\nclauses:\n  remove: [no-such]\n",
            (5, 12),
        ),
        (
            "bad-placeholder",
            b"name: X\nheadteacher:\n  name: A Head\nclauses:\n  add:\n    - id: phones\n      after: extremism\n      text: At {shcool} we\n",
            (8, 13),
        ),
        (
            "bad-date",
            b"name: X\nheadteacher:\n  name: A Head\napproval:\n  kind: headteacher\n  date: 26/01/2025\n",
            (6, 9),
        ),
        (
            "missing-trust-root",
            b"name: X\nheadteacher:\n  name: A Head\nrecords:\n  trust_roots: [missing.pem]\n",
            (5, 17),
        ),
    ];
    for (name, text, _) in kinds {
        std::fs::write(scratch.path(&format!("schools/{name}.yaml")), text).unwrap();
    }
    let run = scratch.aup(&["check", "--json"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    let reports = run.json_lines();
    for (name, _, (line, column)) in kinds {
        let report = reports
            .iter()
            .find(|r| {
                r["file"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/{name}.yaml"))
            })
            .unwrap_or_else(|| panic!("{name} not checked: {reports:#?}"));
        let first = &report["errors"][0];
        assert_eq!(
            (first["line"].as_u64(), first["column"].as_u64()),
            (Some(*line), Some(*column)),
            "{name}: {first:#}"
        );
    }
    // The human form names the same place, the way editors jump to it.
    let err = scratch.aup(&["check", "not-utf8"]).failure();
    assert!(err.contains("schools/not-utf8.yaml:3:12:"), "{err}");
}

#[test]
fn settings_that_would_do_nothing_are_errors_at_their_keys() {
    let err = check(&format!(
        "{VALID}wording:\n  contact_only_approved_ways: false\nclauses:\n  remove: [contact-pupils, ethos]\n  \
         replace:\n    key-people: Our people\n    extremism: At {{shcool}}, {{logg}} applies.\n"
    ));
    for expected in [
        "test.yaml:5:3: `wording.contact_only_approved_ways`: `wording.contact_only_approved_ways` changes the clause `contact-pupils`, which is removed, so it does nothing",
        "hint: delete `contact_only_approved_ways`, or keep the clause `contact-pupils`",
        "test.yaml:7:28: `clauses.remove[1]`: no `ethos` is set, so there is no `ethos` to remove",
        "test.yaml:9:5: `clauses.replace.key-people`: the key-people table is not text that can be replaced",
        "hint: write the table's rows, in your words and order, under `key_people.rows`",
        // Every unknown placeholder of one text, not only the first.
        "unknown placeholders {shcool} (did you mean {school}?), {logg} (did you mean {log}?)",
    ] {
        assert!(err.contains(expected), "`{expected}` not in:\n{err}");
    }
}

#[test]
fn a_headteacher_approval_without_its_date_is_reported_at_the_approval() {
    let err = check(&format!(
        "{VALID}approval:\n  kind: headteacher\n  name: A Head\n  role: Headteacher\n"
    ));
    assert!(
        err.contains("test.yaml:4:1: `approval`: missing field `date`"),
        "{err}"
    );
}

#[test]
fn every_mistake_in_a_file_is_reported_not_only_the_first() {
    let err = check(
        "name: Test School\nnmae: x\nheadteacher:\n  name: A Head\n  titel: Principal\n\
         usb_keys: never\nclauses:\n  add:\n    - id: x\n      afer: read-policy\n      text: z\n\
         \x20   - id: w\n      after: read-policy\n      txt: q\n",
    );
    for expected in [
        "test.yaml:2:1: `nmae`: unknown field `nmae`",
        "test.yaml:5:3: `headteacher.titel`: unknown field `titel`",
        "test.yaml:6:11: `usb_keys`: unknown variant `never`",
        "test.yaml:10:7: `clauses.add[0].afer`: unknown field `afer`",
        // The second item keeps its own number and line once the first is set aside.
        "test.yaml:14:7: `clauses.add[1].txt`: unknown field `txt`",
    ] {
        assert!(err.contains(expected), "`{expected}` not in:\n{err}");
    }
    assert!(err.contains("0 of 1 school files are valid"));
}

/// The four YAML mistakes a new school makes most, each with its exact
/// message, the line, and a hint that says what to type.
#[test]
fn yaml_mistakes_get_a_hint_that_says_what_to_type() {
    // A tab for indentation.
    let err = check("name: Test School\nheadteacher:\n\tname: A Head\n");
    assert!(
        err.contains("schools/test.yaml:3:1: `headteacher`: found character that cannot start any token, while scanning for the next token"),
        "{err}"
    );
    assert!(
        err.contains("= hint: line 3 is indented with a tab; YAML indents with spaces only: replace the tab with two spaces for each level, so it reads `  name: A Head`"),
        "{err}"
    );

    // A colon in an unquoted value.
    let err = check("name: Test School\nheadteacher:\n  name: A Head\n  title: Head: Mrs Bonnin\n");
    assert!(
        err.contains(
            "schools/test.yaml:4:14: `headteacher`: mapping values are not allowed in this context"
        ),
        "{err}"
    );
    assert!(
        err.contains("= hint: a value with \": \" in it must be in quotes: write `  title: \"Head: Mrs Bonnin\"`"),
        "{err}"
    );

    // A key indented under the one above.
    let err = check("name: Test School\nheadteacher:\n  name: A Head\n    title: Principal\n");
    assert!(
        err.contains("= hint: line 4 is indented further than line 3 above it, so it reads as more of that line's value: start it in column 3, so it reads `  title: Principal`"),
        "{err}"
    );

    // A list item out of line with the one above.
    let err = check(&format!(
        "{VALID}commitments_of:\n  - pupils/students\n - parents\n"
    ));
    assert!(
        err.contains("schools/test.yaml:6:2: did not find expected key"),
        "{err}"
    );
    assert!(
        err.contains("= hint: this list item is not lined up with the one on line 5: start its `-` in column 3, so it reads `  - parents`"),
        "{err}"
    );

    // A key outdented out of its block: where it belongs, not a spelling guess.
    let err = check("name: Test School\nheadteacher:\n  name: A Head\ntitle: Principal\n");
    assert!(
        err.contains("schools/test.yaml:4:1: `title`: unknown field `title`"),
        "{err}"
    );
    assert!(
        err.contains("= hint: `title` belongs under `headteacher:` — indent it by two spaces inside that block"),
        "{err}"
    );
    assert!(!err.contains("did you mean"), "{err}");

    // And a top-level key indented into a block.
    let err = check("name: Test School\nheadteacher:\n  name: A Head\n  curriculum: RSE\n");
    assert!(
        err.contains("= hint: `curriculum` is not part of `headteacher:`; it is a key of its own: start it at the beginning of the line, with no indentation"),
        "{err}"
    );
}

#[test]
fn a_class_list_is_checked_with_the_school_and_a_row_without_a_class_names_its_line() {
    let scratch = Scratch::empty();
    scratch.write("schools/test.yaml", VALID);
    // As Bromcom exports it.
    scratch.write(
        "schools/test.pupils.csv",
        "Forename,Surname,Preferred Name,Tutor Group,NC Year,Contact 1 Name,Contact 1 Email Address\n\
         Chloe,Price,,RB,R,Dan Price,dan@home.example\n\
         Aiyana,Begum,Ana,3C,3,,\n\
         Tom,Reed,,3C,Year 3,Jo Reed,jo@home.example\n",
    );
    let said = scratch.aup(&["check"]).success().stderr();
    assert!(
        said.contains(
            "test.pupils.csv: 3 pupils in 2 classes (EYFS 1, KS2 2); 1 with no contact's e-mail"
        ),
        "{said}"
    );
    scratch.write(
        "schools/test.pupils.csv",
        "Forename,Surname,Tutor Group,NC Year\nChloe,Price,RB,R\nAiyana,Begum,,3\n",
    );
    let said = scratch.aup(&["check"]).failure();
    assert!(
        said.contains("test.pupils.csv:3: Aiyana Begum has no class"),
        "{said}"
    );
    assert!(said.contains("1 of 1 school files are valid"), "{said}");
}
