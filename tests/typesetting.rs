//! Typesetting a school would print: even word gaps, no line broken inside
//! "and/or", and the declaration never alone on its page, whatever the length of
//! the school's policy.

mod common;

use common::Scratch;

/// The text before the declaration's heading on the page that holds it.
fn above_the_declaration(pdf: &std::path::Path) -> String {
    let text = common::pdftotext(pdf);
    let page = text
        .split('\u{c}')
        .find(|page| page.contains("To be completed by the user"))
        .unwrap_or_else(|| panic!("no declaration in {}:\n{text}", pdf.display()));
    page[..page.find("To be completed by the user").unwrap()]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_shipped_schools_print_with_even_word_gaps_and_whole_slash_words() {
    let scratch = Scratch::with_shipped_schools();
    scratch
        .aup(&["generate", "--date", "2025-09-01", "--blank", "1"])
        .success();
    common::assert_even_word_gaps(&scratch.path("out"));
}

#[test]
fn the_declaration_never_stands_alone_on_its_page() {
    let scratch = Scratch::empty();
    let base = std::fs::read_to_string(common::repo().join("schools/kensington.yaml")).unwrap();
    // One more clause at a time: somewhere the declaration and its boxes no
    // longer fit below the last clause and move to a new page.
    let mut pages_seen = std::collections::BTreeSet::new();
    for extra in 0..30 {
        let clauses: String = (1..=extra)
            .map(|n| {
                format!(
                    "    - id: extra-{n}\n      after: breach-consequences\n      text: I will read extra clause {n} of this policy, which the school added for its own staff and volunteers, with care.\n"
                )
            })
            .collect();
        let yaml = match extra {
            0 => base.clone(),
            _ => base.replace("clauses:\n", &format!("clauses:\n  add:\n{clauses}")),
        };
        scratch.write("schools/kensington.yaml", &yaml);
        scratch.aup(&["generate", "--date", "2025-09-01"]).success();
        let policy = scratch.path("out/kensington/2025-26/kensington-staff-aup.pdf");
        let above = above_the_declaration(&policy);
        // The last clause at least: numbered, with its words.
        assert!(
            above.lines().any(|l| l.len() > 40),
            "{extra} extra clauses: the declaration's page has nothing above it but:\n{above}"
        );
        let info = common::run_tool("pdfinfo", &[policy.as_os_str()]);
        pages_seen.insert(
            info.lines()
                .find(|l| l.starts_with("Pages:"))
                .unwrap()
                .to_owned(),
        );
    }
    // The loop did push the declaration over a page break.
    assert!(pages_seen.len() > 1, "{pages_seen:?}");
}
