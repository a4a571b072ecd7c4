//! The index's tables, as numbered migrations (rusqlite_migration, counted in
//! SQLite's `user_version`): an archive made by an older `aup` is brought up to
//! date, in one transaction per step, the first time a newer one opens it. Add a
//! step at the end; never edit one that has shipped.

use rusqlite::{Connection, Transaction};
use rusqlite_migration::{HookError, HookResult, M, Migrations};

/// Step 1: the tables of every archive made before the steps were numbered
/// (`user_version` 0). Each statement is `IF NOT EXISTS`, so on such an archive
/// the step adds only what it lacks (see [`catch_up_unnumbered`]).
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS policies (
    fingerprint  TEXT PRIMARY KEY,
    school       TEXT NOT NULL,
    year         TEXT NOT NULL,
    template     TEXT NOT NULL,
    policy_json  TEXT NOT NULL,
    first_issued TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS policy_years (
    school       TEXT NOT NULL,
    year         TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    issued_seq   INTEGER NOT NULL,
    PRIMARY KEY (school, year, fingerprint)
);
CREATE TABLE IF NOT EXISTS forms (
    form_id      TEXT PRIMARY KEY,
    school       TEXT NOT NULL,
    year         TEXT NOT NULL,
    serial       INTEGER NOT NULL,
    person_key   TEXT NOT NULL,
    name         TEXT,
    role         TEXT,
    staff_id     TEXT,
    email        TEXT,
    fingerprint  TEXT NOT NULL REFERENCES policies(fingerprint),
    pages        INTEGER NOT NULL,
    issued_on    TEXT NOT NULL,
    file_sha256  TEXT,
    UNIQUE (school, year, fingerprint, person_key)
);
CREATE INDEX IF NOT EXISTS forms_by_school_year ON forms (school, year);
CREATE TABLE IF NOT EXISTS form_boxes (
    form_id TEXT NOT NULL REFERENCES forms(form_id),
    field   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    page    INTEGER NOT NULL,
    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
    PRIMARY KEY (form_id, field)
);
CREATE TABLE IF NOT EXISTS audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS received (
    sha256      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    stored_path TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS returns (
    id            INTEGER PRIMARY KEY,
    form_id       TEXT NOT NULL,
    school        TEXT NOT NULL,
    year          TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    verdict       TEXT NOT NULL,
    missing       TEXT NOT NULL,
    method        TEXT NOT NULL,
    files         TEXT NOT NULL,
    archived_path TEXT NOT NULL,
    ingested_at   TEXT NOT NULL,
    received      TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS returns_by_form ON returns (form_id);
CREATE INDEX IF NOT EXISTS returns_by_school_year ON returns (school, year);
CREATE TABLE IF NOT EXISTS quarantine (
    id              INTEGER PRIMARY KEY,
    received_sha256 TEXT NOT NULL,
    page            INTEGER,
    reason          TEXT NOT NULL,
    message         TEXT NOT NULL,
    path            TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS form_pages (
    form_id        TEXT NOT NULL REFERENCES forms(form_id),
    page           INTEGER NOT NULL,
    width          REAL NOT NULL,
    height         REAL NOT NULL,
    content_sha256 TEXT NOT NULL,
    PRIMARY KEY (form_id, page)
);
";

/// Step 2: the received files a return came from, one row each, instead of a
/// JSON list searched with `LIKE` (`aup prune` asks "does any return still need
/// this file?" for every file it might delete).
const RECEIVED_PER_RETURN: &str = "
CREATE TABLE return_received (
    return_id INTEGER NOT NULL REFERENCES returns(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    PRIMARY KEY (return_id, position)
);
CREATE INDEX return_received_by_file ON return_received (sha256);
INSERT INTO return_received (return_id, position, sha256)
    SELECT returns.id, CAST(item.key AS INTEGER), item.value
    FROM returns, json_each(returns.received) AS item
    WHERE json_valid(returns.received);
ALTER TABLE returns DROP COLUMN received;
";

/// Step 3: what each issued page draws, by operators (see `form::drawing`), so a
/// return whose reader rewrote the page's bytes without changing what it draws
/// is still the form as issued. Forms issued before this step have none and are
/// compared by bytes, as they were.
const PAGE_DRAWINGS: &str = "
ALTER TABLE form_pages ADD COLUMN drawing_operations INTEGER;
ALTER TABLE form_pages ADD COLUMN drawing_first TEXT;
ALTER TABLE form_pages ADD COLUMN drawing_sha256 TEXT;
";

/// Step 4: what `aup serve` keeps: the office's accounts (Argon2id hashes), the
/// files uploaded through its page (so their results survive a reload), and how
/// each quarantined page was settled (assigned to a form, or set aside).
const OFFICE: &str = "
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    schools       TEXT NOT NULL DEFAULT '[]',
    created_at    TEXT NOT NULL
);
CREATE TABLE uploads (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT NOT NULL,
    name        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    user        TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX uploads_by_file ON uploads (sha256);
CREATE INDEX quarantine_by_file ON quarantine (received_sha256);
ALTER TABLE quarantine ADD COLUMN settled TEXT;
ALTER TABLE quarantine ADD COLUMN settled_by TEXT;
ALTER TABLE quarantine ADD COLUMN settled_at TEXT;
";

/// Step 5: the schools an upload's account could file for when it uploaded
/// (a JSON list; NULL: every school), so filing holds the uploader's scope;
/// the date a person wrote on a return, as written (PDF returns only: a
/// handwritten date is not read); and the form and page a quarantined page
/// probably is, offered to the office.
const UPLOAD_SCOPE: &str = "
ALTER TABLE uploads ADD COLUMN schools TEXT;
ALTER TABLE returns ADD COLUMN signed_date TEXT;
ALTER TABLE quarantine ADD COLUMN suggested_form TEXT;
ALTER TABLE quarantine ADD COLUMN suggested_page INTEGER;
UPDATE uploads SET schools = (SELECT users.schools FROM users WHERE users.name = uploads.user)
    WHERE (SELECT users.schools FROM users WHERE users.name = uploads.user) NOT IN ('[]', '');
";

/// Step 6: personal signing links (see `archive::links`). A link's token is
/// never stored: only a random nonce (from which the token is made with a key
/// kept outside the index) and the token's SHA-256, by which a visit finds it.
const SIGNING_LINKS: &str = "
CREATE TABLE signing_links (
    id           INTEGER PRIMARY KEY,
    form_id      TEXT NOT NULL REFERENCES forms(form_id),
    fingerprint  TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_on   TEXT NOT NULL,
    revoked_at   TEXT,
    used_at      TEXT
);
CREATE INDEX signing_links_by_form ON signing_links (form_id);
";

/// Step 7: a link whose recipient said "this is not me" (revoked then, and
/// not made again for that form until the office asks).
const LINK_REPORTS: &str = "
ALTER TABLE signing_links ADD COLUMN reported_at TEXT;
";

/// Step 8: the mail log (see `archive::mail`).
const MAIL_LOG: &str = "
CREATE TABLE mail_log (
    id         INTEGER PRIMARY KEY,
    form_id    TEXT NOT NULL REFERENCES forms(form_id),
    kind       TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    message_id TEXT NOT NULL,
    at         TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX mail_log_by_form ON mail_log (form_id, kind);
CREATE INDEX mail_log_by_time ON mail_log (at);
";

/// Step 9: mail taken in from the office's mailbox (see `archive::mail_in`).
const MAIL_IN: &str = "
CREATE TABLE mail_in (
    id          INTEGER PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    message_id  TEXT NOT NULL,
    sender      TEXT NOT NULL,
    at          TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    UNIQUE (uidvalidity, uid)
);
CREATE INDEX mail_in_by_message_id ON mail_in (message_id);
";

/// Step 10: what a message taken in held (its attachments' SHA-256, whether
/// it was sent by a program) and the receipt sent for it.
const MAIL_RECEIPTS: &str = "
ALTER TABLE mail_in ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
ALTER TABLE mail_in ADD COLUMN automatic INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mail_in ADD COLUMN receipt TEXT;
";

/// Step 11: a parent's consent answers as read from each return, and the
/// office's decision on an unclear one (see `archive::consents`).
const CONSENTS: &str = "
CREATE TABLE consent_answers (
    return_id INTEGER NOT NULL REFERENCES returns(id) ON DELETE CASCADE,
    consent   TEXT NOT NULL,
    answer    TEXT NOT NULL,
    how       TEXT NOT NULL,
    PRIMARY KEY (return_id, consent)
);
CREATE TABLE consent_decisions (
    return_id  INTEGER NOT NULL REFERENCES returns(id) ON DELETE CASCADE,
    consent    TEXT NOT NULL,
    answer     TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    PRIMARY KEY (return_id, consent)
);
";

/// Every step, oldest first. The archive's schema version is how many have run.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up_with_hook(TABLES, catch_up_unnumbered),
        M::up(RECEIVED_PER_RETURN),
        M::up(PAGE_DRAWINGS),
        M::up(OFFICE),
        M::up(UPLOAD_SCOPE),
        M::up(SIGNING_LINKS),
        M::up(LINK_REPORTS),
        M::up(MAIL_LOG),
        M::up(MAIL_IN),
        M::up(MAIL_RECEIPTS),
        M::up(CONSENTS),
    ])
}

/// The schema version this `aup` writes.
pub const LATEST: usize = 11;

/// Archives from before numbered steps took their changes at every open; what
/// the oldest of them lack is added here, once.
fn catch_up_unnumbered(tx: &Transaction) -> HookResult {
    // Made before policy_years existed: each policy row is its own year.
    tx.execute_batch(
        "INSERT OR IGNORE INTO policy_years (school, year, fingerprint, issued_seq)
         SELECT school, year, fingerprint, rowid FROM policies
         WHERE NOT EXISTS (SELECT 1 FROM policy_years)",
    )?;
    // Made before returns recorded the files they came from.
    let has_received = tx
        .prepare("SELECT 1 FROM pragma_table_info('returns') WHERE name = 'received'")?
        .exists([])?;
    if !has_received {
        tx.execute_batch("ALTER TABLE returns ADD COLUMN received TEXT NOT NULL DEFAULT '[]'")?;
    }
    Ok::<(), HookError>(())
}

/// Where an archive's schema stands against this `aup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Current,
    /// Made by an older `aup`: at this version, migrated on a writable open.
    Older(usize),
    /// Made by a newer `aup`, which this one must not write to.
    Newer(usize),
}

/// The archive's schema version, read without changing anything.
pub fn standing(conn: &Connection) -> rusqlite::Result<Standing> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    Ok(match version {
        v if v == LATEST => Standing::Current,
        v if v < LATEST => Standing::Older(v),
        v => Standing::Newer(v),
    })
}

/// Runs the steps the archive has not had yet, each in its own transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), rusqlite_migration::Error> {
    migrations().to_latest(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite_migration::SchemaVersion;

    #[test]
    fn latest_counts_every_step() {
        let migrations = migrations();
        migrations.validate().unwrap();
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(
            migrations.current_version(&conn).unwrap(),
            SchemaVersion::Inside(std::num::NonZeroUsize::new(LATEST).unwrap())
        );
        assert_eq!(standing(&conn).unwrap(), Standing::Current);
    }

    #[test]
    fn received_lists_become_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrations().to_version(&mut conn, 1).unwrap();
        conn.execute_batch(
            "INSERT INTO returns (form_id, school, year, fingerprint, verdict, missing, method,
                                  files, archived_path, ingested_at, received)
             VALUES ('F', 's', '2025-26', 'x', 'accepted', '[]', 'paper', '[\"a.pdf\",\"b.pdf\"]',
                     'F.pdf', '2025-10-01T09:00:00Z', '[\"aaa\",\"bbb\"]')",
        )
        .unwrap();
        assert_eq!(standing(&conn).unwrap(), Standing::Older(1));
        migrate(&mut conn).unwrap();
        let rows: Vec<(i64, String)> = conn
            .prepare("SELECT position, sha256 FROM return_received ORDER BY position")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [(0, "aaa".to_owned()), (1, "bbb".to_owned())]);
    }
}
