//! The command line. Each subcommand lives in its own file; this one holds the
//! argument types (whose doc comments are the `--help` text) and maps a run's
//! outcome to the exit code.

/// `outln!` is `println!` for data on stdout, except that a closed pipe (`aup
/// status | head`) ends the program quietly instead of panicking.
macro_rules! outln {
    () => { $crate::cli::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}
/// `print!` for data on stdout; see [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_out(format_args!($($arg)*)) };
}

mod assign;
mod audit;
mod check;
mod consents;
mod generate;
mod ingest;
mod init;
mod links;
mod mail;
mod output;
mod prune;
mod remind;
mod schema;
mod seal;
mod send;
mod serve;
mod show;
mod status;
mod user;
mod verify;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anstream::eprintln;
use clap::{Args, Parser, Subcommand};

pub use output::{ColorWhen, json_line, style, write_out};

/// Acceptable Use Policy forms for UK schools: generate a signable form per person
/// from one YAML file per school and its staff roster, then ingest the signed
/// returns (scans) into a verified, indexed archive.
///
/// Typical year: `aup check`, `aup generate`, print or email the forms, scan the
/// returns into inbox/, `aup ingest`.
///
/// Output: data on stdout (`--json` gives one JSON object per line), messages and
/// progress on stderr; colour only on a terminal unless `--color` says otherwise,
/// and never with NO_COLOR set.
///
/// Exit status: 0 when everything asked for was done, 1 when any school or file
/// failed (each failure is reported and the others still run), 2 for a usage error.
/// `aup ingest` exits 1 only for operational failures, not for incomplete forms.
/// `aup verify` and `aup audit verify` exit 1 for "checked, and not accepted"
/// and 3 for "could not check". Each command's `--help` lists its own.
#[derive(Debug, Parser)]
#[command(name = "aup", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to colour the output: auto (on a terminal, unless NO_COLOR is set),
    /// always or never.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        global = true
    )]
    pub color: ColorWhen,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check school YAML files and report every problem with file, line and column.
    ///
    /// Checks each school's YAML (and its roster and trust roots) against the schema
    /// and the template's clauses, without generating anything, and reports every
    /// problem (up to 20 per file) with file, line and column and a hint where a fix
    /// is known. Settings that would change nothing are problems too.
    ///
    /// When the archive (`--archive`) holds a policy version the school issued, each
    /// valid school is laid out as `generate` would and compared with it: a warning
    /// says when the edit changes the printed policy, so staff will be asked to sign
    /// again; otherwise a note says the printed policy is unchanged.
    ///
    /// Output: `ok FILE` or each error on stderr and a closing count; with `--json`,
    /// one object per school file on stdout: file, valid (true or false), errors
    /// (each with file, line, column, key, message and hint; line and column are null
    /// only for a problem with the whole file), policy_version (the fingerprint the
    /// staff AUP prints now; null when the file is not valid),
    /// changes_printed_policy (true or false; null when there is nothing issued
    /// to compare with), and aups (the same two for each AUP in `aups`, with its
    /// name). Every AUP the school uses is laid out, so a clause edit or text
    /// block of any of them that cannot print is found here.
    ///
    /// Exit status: 0 when every school file is valid; 1 when any is not; 2 for a
    /// usage error.
    Check(check::CheckArgs),
    /// Generate each school's policy, a signable form per person on its roster, and a print file.
    ///
    /// Writes each school's policy, its personal forms and its print file, and
    /// records every form in the archive's issue register. Re-running with the same
    /// inputs and date rewrites byte-identical PDFs with the same form ids. When the
    /// wording changed (a new policy version), the older version's personal forms are
    /// moved out of `forms/` into `superseded/<version>/`, so only forms that may be
    /// signed now are left to print.
    ///
    /// Output: the written paths on stdout, one per line; with `--json`, one object
    /// per school: school, year, fingerprint (the policy version), policy (path),
    /// pages, forms (each form_id and path), print_all (path) and superseded (each
    /// from and to). A summary line per school, a line for moved forms, and a
    /// progress bar (on a terminal) go to stderr.
    ///
    /// Exit status: 0 when every school was written; 1 when any school failed (each
    /// is reported, and the others are still written); 2 for a usage error.
    Generate(generate::GenerateArgs),
    /// File the signed returns in the inbox: identify, verify, archive, index.
    ///
    /// Identifies every page in the inbox by its QR code, checks each form (right
    /// policy version, every page, signed, named, dated), files it in the archive and
    /// indexes it. Forms filled in a PDF reader and emailed back are recognised by their
    /// metadata and checked digitally (fields, drawn or certificate signature, policy
    /// text unchanged; see `aup verify`). Received files are kept content-addressed under
    /// <ARCHIVE>/received/; forms under <ARCHIVE>/<school>/<year>/; pages that can't be
    /// placed under <ARCHIVE>/quarantine/ with a JSON sidecar saying why. An inbox file
    /// is removed only once its archive copy is on disk and the index committed, so
    /// running ingest again is always safe.
    ///
    /// Verdicts: accepted, incomplete (with what is missing), outdated (an older policy
    /// version), rejected (tampered: a broken certificate signature or changed policy
    /// text), unidentified (quarantined), duplicate (the same bytes came before).
    ///
    /// Output: a line per file read and per form or quarantined page on stdout (with
    /// `--json`, one object per form or quarantined file or page); skipped entries,
    /// warnings, the closing count and a progress bar (on a terminal) on stderr.
    ///
    /// Exit status: 0 when the run completed, whatever the verdicts; 1 for an
    /// operational failure (the archive can't be written, another ingest holds its
    /// lock, the inbox is missing); 2 for a usage error.
    ///
    /// Every file is read in a separate reader process under limits (3 GiB of memory
    /// plus the file's size, a 256 MiB stack, 30 s plus 1 s per 4 MB of file): a file
    /// that crashes its reader or overruns is quarantined (`reader_failed`, `timeout`)
    /// and the run goes on. Files over 2 GB, pages over 60 megapixels, PDFs or TIFFs
    /// over 2000 pages and image decodes over 512 MB are quarantined unread.
    ///
    /// Inbox entries that are not read are listed with the reason: symbolic links (not
    /// followed), FIFOs and devices, hidden files, files still being written, files
    /// that changed while being read. An inbox file is removed only if it is still the
    /// very file that was read; a file replaced meanwhile is left for the next run.
    Ingest(ingest::IngestArgs),
    /// Check one returned PDF as ingest would (fields, signature, policy text) and explain each check.
    ///
    /// Checks one returned PDF the way `aup ingest` would and explains each check:
    /// the policy text as issued (the issued file is a byte prefix of the return, or
    /// every page's content is unchanged), the policy version, the name and date fields,
    /// and the signature: a certificate signature (intact, valid, trusted, what changed
    /// after signing, in pyHanko's words) or a drawn one (ink in the signature box).
    /// Every certificate signature is listed, counted for the person or not, with why.
    /// A PDF that lost our metadata (Ghostscript, "print to PDF") is read as a scan is,
    /// by the QR codes on its pages and the ink in its boxes. The archive is only read.
    ///
    /// Output: each check on stdout; with `--json`, one object (file, form_id, school,
    /// year, person, role, verdict, reason, missing, method, checks, signatures; each
    /// signature with signer, signer_emails, intact, valid, trust, counted and
    /// counted_because).
    ///
    /// Exit status: 0 when the form would be accepted; 1 when it was checked and
    /// would not be (the verdict says why); 3 when it could not be checked at all
    /// (not a PDF, not one of our forms, unreadable, no archive); 2 for a usage error.
    Verify(verify::VerifyArgs),
    /// Who has signed the current policy and who has not: table, CSV, JSON or HTML.
    ///
    /// Everyone on each school's roster is signed (with the dates and how), incomplete
    /// (with what is missing), outdated (signed an older policy version) or
    /// outstanding; people who returned a form but are not on the roster are listed too.
    ///
    /// Output: the chosen `--format` on stdout (or in `--out FILE`); with `--json`,
    /// one object per person per line instead: school, year, name, role, state
    /// (signed, incomplete, outdated, rejected, outstanding), form_id, signed_on
    /// (the date the person wrote on a PDF return, as written; null on paper),
    /// received_on (YYYY-MM-DD, the UK day it was filed), method, missing and
    /// on_roster. The CSV gives received_on as DD/MM/YYYY, and any cell that
    /// starts with = + - @ with a leading ' so that a spreadsheet shows it as text.
    ///
    /// Exit status: 0 when the report was written; 1 when it could not be (no
    /// archive, a school file or roster that cannot be read); 2 for a usage error.
    Status(status::StatusArgs),
    /// The parents' consents, class by class: who may appear in photos, and who may not.
    ///
    /// For each pupil issued a parents' form, the answer to each of the school's
    /// consents (`aup_options.parents.consents`) from the newest accepted return:
    /// yes, no (both boxes left empty counts as no, as the form tells parents),
    /// unclear (not clearly one answer on paper: both boxes ticked,
    /// a box struck through or scribbled over, a faint mark; the office settles it on
    /// `aup serve`'s Consents page), or not returned. Only a clear yes is
    /// consent: not returned and unclear count as no.
    ///
    /// Output: the chosen `--format` on stdout (or in `--out FILE`): a table
    /// per class with counts under it; CSV with a row per pupil and a column
    /// per consent (yes, no, unclear, not returned), cells safe to open in a
    /// spreadsheet; JSON, one object per pupil (school, year, class, pupil,
    /// form_id, return_id, received_on, method, consents: each with consent,
    /// answer, how it was read, settled_by and settled_at); or HTML, one
    /// printed sheet per class for its teacher.
    ///
    /// Exit status: 0 when the register was written; 1 when it could not be
    /// (no archive, no school using the parents' AUP, a school file that
    /// cannot be read); 2 for a usage error.
    Consents(consents::ConsentsArgs),
    /// Identify a quarantined page by hand as a page of a form, and judge the form again.
    ///
    /// Files a page whose QR code could not be read as a page of FORM_ID (the id printed
    /// beside the code, or on the person's copy), and judges the form again: ink in its
    /// boxes, every page, the policy version. FILE is usually a quarantined page
    /// (archive/quarantine/*.png, named in its sidecar) or a rescan; it must be upright.
    /// When the form's last return was missing exactly these pages, its other pages are
    /// taken along, so the form is judged whole. Recorded in the audit log.
    ///
    /// Output: a line per form judged on stdout; with `--json`, one object per line,
    /// with the fields `aup ingest --json` prints (file, form_id, school, person,
    /// verdict, missing, reason, archived).
    ///
    /// Exit status: 0 when the page was filed, whatever the verdict; 1 when it could not
    /// be (unknown form, unreadable file, page numbers past the form's end); 2 for a
    /// usage error.
    Assign(assign::AssignArgs),
    /// A form's history: issued, returns, verdicts.
    ///
    /// Shows who a form was issued to, for which school year and policy version
    /// (current or superseded), and every return of it with its verdict, how it came
    /// and where it is filed. The archive is only read.
    ///
    /// Output: the form and its returns on stdout; with `--json`, one object: form_id,
    /// school, year, person, role, fingerprint, current (true when its policy
    /// version is the current one), pages, issued_on and returns (each with
    /// ingested_at, verdict, missing, method, files and archived).
    ///
    /// Exit status: 0 when the form was shown; 1 when the id is mistyped (its check
    /// character says so), the form is not in the register or the archive cannot be
    /// read; 2 for a usage error.
    Show(show::ShowArgs),
    /// Remove archived forms whose retention period is over (recorded in the audit log).
    ///
    /// Removes the archived forms, returns, received scans and index rows of academic
    /// years before YEAR whose retention period is over: each school keeps a year's
    /// forms for `records.retention_years` (default 6) after that year ends on 31
    /// August. Years still inside their retention period are listed and kept. Every
    /// removal is recorded in the audit log. `--dry-run` says what would go.
    ///
    /// A school whose YAML cannot be read (missing, or with errors) is not pruned: its
    /// retention period is unknown, and guessing could delete what must be kept.
    ///
    /// Output: a line per school year on stdout; with `--json`, one object per school
    /// year before YEAR: school, year, action (removed, would_remove, kept or
    /// refused), keep_until, and for removed ones forms, returns and received_files.
    ///
    /// Exit status: 0 when done (or nothing was due); 1 when a school was left
    /// unpruned because its YAML cannot be read, or the archive can't be changed
    /// (another ingest holds its lock, the index can't be written); 2 for a usage
    /// error.
    Prune(prune::PruneArgs),
    /// The audit log of generate, ingest, assign and prune runs.
    ///
    /// Exit status: see `aup audit verify --help`.
    Audit(audit::AuditArgs),
    /// Serve the office's web pages and file whatever lands in the inbox, unattended.
    ///
    /// One process: pages for status (per school and year, CSV, a printable chase
    /// list), each form's history with its archived return and evidence page, the
    /// quarantine (assign a page to a form or set it aside), uploads ("drop scans
    /// here"), checking a PDF without filing it, and issuing forms. Every page needs
    /// a sign-in (`aup user add`). The inbox is watched (file-system notifications,
    /// or `--poll` for network shares) and each file is filed once it has settled,
    /// through the same ingest and the same archive lock as `aup ingest`, so the two
    /// never file one file twice.
    ///
    /// Uploads are limited to 100 MB per file and are written only into
    /// <INBOX>/web/. Serves plain HTTP on loopback; see the README for running it as
    /// a service behind a TLS proxy.
    ///
    /// Output: the address served, on stdout; what is filed and any warning on
    /// stderr (the service's log).
    ///
    /// Exit status: 0 when stopped by Ctrl-C or SIGTERM; 1 when it cannot start
    /// (the address is taken or refused, the archive cannot be opened); 2 for a
    /// usage error.
    Serve(serve::ServeArgs),
    /// Accounts for `aup serve`: add, list, remove.
    ///
    /// Exit status: 0 when done; 1 when it could not be done; 2 for a usage error.
    User(user::UserArgs),
    /// Print the JSON Schema of a school's YAML file, for editors.
    ///
    /// Output: the schema (JSON) on stdout.
    ///
    /// Exit status: 0 when written; 2 for a usage error.
    Schema(schema::SchemaArgs),
    /// Write a commented starter YAML for a new school.
    ///
    /// Output: the new file's path on stdout; what to do next on stderr.
    ///
    /// Exit status: 0 when written; 1 when the slug is not valid or the file
    /// exists already (it is never overwritten) or cannot be written; 2 for a
    /// usage error.
    Init(init::InitArgs),
    /// Personal signing links for a mail merge (one per person who has not
    /// signed, made where missing), or `aup links revoke FORM_ID`.
    ///
    /// Each link opens the signing page of `aup serve` for one person's own form
    /// of the current policy version, until it expires (by default the end of
    /// the academic year), is revoked, or is used. The index keeps only a hash
    /// of each link; the key they are made with is <archive>/seals/link.key.
    ///
    /// Output: CSV (name, email, role, form_id, state, expires, link) or, with
    /// --format json, one object per line with those keys.
    ///
    /// Exit status: 0 when listed; 1 when the school has no forms for the year
    /// or the archive cannot be written; 2 for a usage error.
    Links(links::LinksArgs),
    /// Mail each person who has not signed their invitation: their personal
    /// signing link, in the school's words (school YAML `mail:`), and their
    /// form as a PDF where the school attaches it. Never a second invitation
    /// for the same form without --again. Sent through the SMTP server of the
    /// mail settings (--mail, default mail.yaml), at most sending.per_minute a
    /// minute, only inside the sending window (default Monday to Friday,
    /// 08:00–17:00 UK time). People without an address are listed: print
    /// their form.
    ///
    /// Output: a line per person (outcome, name and address, form id, the
    /// server's words), or with --json one object per person: to, name,
    /// form_id, outcome (sent, refused, failed, already_sent, refused_before,
    /// would_send, not_sent, daily_cap), detail, message_id.
    ///
    /// Exit status: 0 when every message went (or none was due); 1 when any
    /// was refused or failed, or nothing could be sent (settings, window,
    /// archive); 2 for a usage error.
    Send(send::SendArgs),
    /// Remind people who were invited and have not signed, on each school's
    /// schedule (school YAML `mail.reminders`: by default 5 days after the
    /// invitation, then every 7 days, at most 3), for cron; `aup serve` does
    /// it too. Each reminder is claimed in the index first, so two runs at
    /// once send it once. Inside the sending window only.
    ///
    /// Output: as `aup send`, a line or JSON object per reminder sent or due.
    ///
    /// Exit status: 0 when every due reminder went (or none was due); 1 when
    /// any was refused or failed, or nothing could be sent; 2 for a usage
    /// error.
    Remind(remind::RemindArgs),
    /// The mailbox and the mail server: `aup mail test` signs in to both and
    /// says exactly what failed; `aup mail fetch` takes returns from the
    /// mailbox into the inbox.
    ///
    /// Exit status: 0 when done; 1 when it could not sign in or read; 2 for a
    /// usage error.
    Mail(mail::MailArgs),
    /// The school's seal, with which aup signs what people sign online: init
    /// (made here) or import (from a certificate authority's PKCS#12 file).
    ///
    /// Exit status: 0 when done; 1 when it could not be done; 2 for a usage error.
    Seal(seal::SealArgs),
}

/// Where the school files are.
#[derive(Debug, Clone, Args)]
pub struct SchoolsDir {
    /// The folder holding `<slug>.yaml` per school.
    #[arg(long, value_name = "DIR", default_value = "schools", global = true)]
    pub schools: PathBuf,
}

/// Parses `args` and runs the command. Errors go to stderr; data to stdout.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // A reader worker (see `ingest::worker`): not a command for people, so not in
    // the help either.
    if args
        .get(1)
        .is_some_and(|a| a == crate::ingest::worker::SUBCOMMAND)
    {
        return crate::ingest::worker::serve();
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return match error.use_stderr() {
                true => ExitCode::from(2),
                false => ExitCode::SUCCESS,
            };
        }
    };
    output::use_color(cli.color);
    let outcome = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Status(args) => status::run(args),
        Command::Consents(args) => consents::run(args),
        Command::Assign(args) => assign::run(args),
        Command::Show(args) => show::run(args),
        Command::Prune(args) => prune::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Serve(args) => serve::run(args),
        Command::User(args) => user::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Init(args) => init::run(args),
        Command::Seal(args) => seal::run(args),
        Command::Links(args) => links::run(args),
        Command::Send(args) => send::run(args),
        Command::Remind(args) => remind::run(args),
        Command::Mail(args) => mail::run(args),
    };
    match outcome {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::SomeFailed | Outcome::NotAccepted) => ExitCode::from(1),
        Ok(Outcome::CouldNotCheck) => ExitCode::from(3),
        Err(message) => {
            eprintln!("{} {message}", style().error("error:"));
            ExitCode::from(1)
        }
    }
}

/// How a command ended when it ran to completion.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// At least one school or file failed; each was reported already.
    SomeFailed,
    /// Checked, and not accepted (`verify`, `audit verify`): exit 1.
    NotAccepted,
    /// Could not be checked at all (`verify`, `audit verify`): exit 3, so a
    /// script can tell "rejected" from "try again or look at the file".
    CouldNotCheck,
}

/// The school files a command acts on: the named slugs, or every school in the folder.
pub(crate) fn select_schools(
    dir: &std::path::Path,
    slugs: &[String],
) -> Result<Vec<PathBuf>, String> {
    if slugs.is_empty() {
        let files = crate::config::school_files(dir)
            .map_err(|e| format!("cannot read the schools folder {}: {e}", dir.display()))?;
        if files.is_empty() {
            return Err(format!(
                "no school files (*.yaml) in {}\n  = hint: `aup init <slug>` writes one",
                dir.display()
            ));
        }
        return Ok(files);
    }
    slugs
        .iter()
        .map(|slug| {
            let slug = slug.trim_end_matches(".yaml");
            let path = dir.join(format!("{slug}.yaml"));
            match path.is_file() {
                true => Ok(path),
                false => {
                    let known: Vec<String> = crate::config::school_files(dir)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|p| p.file_stem()?.to_str().map(String::from))
                        .collect();
                    let hint = crate::config::closest(slug, known.iter().map(String::as_str))
                        .map(|b| format!("\n  = hint: did you mean `{b}`?"))
                        .unwrap_or_else(|| {
                            format!("\n  = hint: schools here: {}", known.join(", "))
                        });
                    Err(format!(
                        "there is no school `{slug}` ({} does not exist){hint}",
                        path.display()
                    ))
                }
            }
        })
        .collect()
}
