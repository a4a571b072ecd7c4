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
