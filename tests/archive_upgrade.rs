//! An office upgrades `aup` and keeps its archive: the archive made by the last
//! `aup` before numbered migrations (tests/fixtures/archive-before-migrations)
//! opens with today's, is brought up to date once, and reads, verifies and
//! prunes as if it had been made today.

mod common;

use common::{Scratch, copy_tree, index_rows, sqlite};

/// A scratch folder holding a copy of the fixture's schools and archive.
fn archive_from_before_migrations() -> Scratch {
    let scratch = Scratch::empty();
    let fixture = common::repo().join("tests/fixtures/archive-before-migrations");
    copy_tree(&fixture.join("schools"), &scratch.path("schools"));
    copy_tree(&fixture.join("archive"), &scratch.path("archive"));
    scratch
}

#[test]
fn an_archive_made_before_migrations_opens_upgraded_and_reads_as_before() {
    let scratch = archive_from_before_migrations();
    let archive = scratch.path("archive");
    assert_eq!(sqlite(&archive, "PRAGMA user_version").trim(), "0");

    // Status only reads, yet the first read after an upgrade brings it up to date.
    let rows: Vec<serde_json::Value> = serde_json::from_str(
        &scratch
            .aup(&["status", "--year", "2026-27", "--format", "json"])
            .success()
            .stdout(),
    )
    .unwrap();
    let state = |name: &str| {
        rows.iter()
            .find(|row| row["name"] == name)
            .map(|row| row["state"].clone())
            .unwrap_or_else(|| panic!("{name} in {rows:#?}"))
    };
    assert_eq!(state("Amelia Hart"), "signed");
    assert_eq!(state("Daniel Okoro"), "incomplete");
    assert_eq!(sqlite(&archive, "PRAGMA user_version").trim(), "11");
    // Forms issued before the register kept what each page draws are compared
    // by bytes, as they were issued: none gains a drawing it was not issued with.
    assert_eq!(
        sqlite(
            &archive,
            "SELECT COUNT(*) FROM form_pages WHERE drawing_sha256 IS NOT NULL"
        )
        .trim(),
        "0"
    );

    // The received files each return came from moved from a JSON list to rows.
    assert_eq!(index_rows(&archive, "return_received"), 2);
    let listed = sqlite(
        &archive,
        "SELECT sha256 FROM return_received JOIN returns ON returns.id = return_id
         WHERE form_id = 'PAK-2627-0001-L'",
    );
    assert!(
        listed.starts_with("6f53567c0e4c1862"),
        "Amelia's return came from her signed PDF: {listed}"
    );

    let shown = scratch.aup(&["show", "PAK-2627-0001-L"]).success().stdout();
    assert!(shown.contains("accepted"), "{shown}");
    let audit = scratch.aup(&["audit", "verify"]).success().stdout();
    assert_eq!(audit.trim(), "audit log intact: 2 entries");

    // Prune finds the received files through the new table.
    let pruned = scratch
        .aup(&["prune", "--before", "2027-28", "--today", "2034-01-01"])
        .success()
        .stdout();
    assert!(
        pruned.contains("pakeman 2026-27: removed 2 forms, 2 returns, 2 received files"),
        "{pruned}"
    );
    assert_eq!(index_rows(&archive, "return_received"), 0);
    scratch.aup(&["audit", "verify"]).success();
}

#[test]
fn an_archive_from_a_newer_aup_is_refused_not_written() {
    let scratch = archive_from_before_migrations();
    let archive = scratch.path("archive");
    sqlite(&archive, "PRAGMA user_version = 99");
    let before = std::fs::read(archive.join("aup.sqlite")).unwrap();
    for args in [
        &["status", "--year", "2026-27"][..],
        &["ingest", "--settle", "0"][..],
    ] {
        let err = scratch.aup(args).failure();
        assert!(err.contains("was made by a newer aup"), "{args:?}: {err}");
        assert!(err.contains("schema version 99"), "{args:?}: {err}");
    }
    assert_eq!(std::fs::read(archive.join("aup.sqlite")).unwrap(), before);
}
