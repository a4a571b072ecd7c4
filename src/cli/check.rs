//! `aup check`: validate school files without generating anything, and say
//! whether an edit changes the policy people sign.

use std::path::PathBuf;

use clap::Args;

use anstream::eprintln;
use serde_json::json;

use super::{Outcome, SchoolsDir, json_line, select_schools, style};
use crate::archive::{Archive, DATABASE};
use crate::config::{ConfigError, IssueDate, LoadedSchool, ResolvedSchool};
use crate::generate::{self, GeneratePlan};
use crate::render::{self, TemplateSource};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Schools to check, by slug (file name without .yaml); all when omitted.
    #[arg(value_name = "SLUG")]
    pub slugs: Vec<String>,
    /// List the template's clause ids (for `clauses.remove`, `replace` and `add`)
    /// and the placeholders clause text may use, then exit.
    #[arg(long)]
    pub clauses: bool,
    /// The archive folder `aup generate` records forms in: each valid school is
    /// laid out and compared with the policy version it issued last, to say
    /// before generating whether staff will be asked to sign again.
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
    #[command(flatten)]
    pub dir: SchoolsDir,
    /// One JSON object per line on stdout for each school file (see above).
    #[arg(long)]
    pub json: bool,
    /// The mail settings, checked too when the file exists (the default,
    /// mail.yaml in this folder, may be absent; a named file must exist).
    #[arg(long, value_name = "FILE")]
    pub mail: Option<PathBuf>,
}

pub fn run(args: CheckArgs) -> Result<Outcome, String> {
    let templates = TemplateSource::Embedded;
    let catalogue = render::staff_catalogue(&templates)?;
    if args.clauses {
        outln!("paragraphs: {}", catalogue.blocks.join(" "));
        outln!("clauses:    {}", catalogue.clauses.join(" "));
        outln!("bullets:    {}", catalogue.bullets.join(" "));
        outln!("placeholders:");
        for (name, meaning) in crate::config::PLACEHOLDERS {
            outln!("  {{{name}}}  {meaning}");
        }
        return Ok(Outcome::Success);
    }
    let files = select_schools(&args.dir.schools, &args.slugs)?;
    let style = style();
    let archive = open_archive(&args.archive)?;
    let mut failed = 0;
    // A roster or class list a school file is fine without.
    let mut lists_failed = false;
    for file in &files {
        let (errors, change) = match crate::config::load_all(file) {
            Ok(school) => match school.resolve(&catalogue) {
                Ok(resolved) => match version_change(archive.as_ref(), &school, &resolved, &args) {
                    Ok(change) => (Vec::new(), change),
                    Err(error) => (vec![error], None),
                },
                Err(errors) => (errors, None),
            },
            Err(errors) => (errors, None),
        };
        let lists = check_lists(file);
        if args.json {
            json_line(&json!({
                "file": file,
                "valid": errors.is_empty(),
                "errors": errors.iter().map(error_json).collect::<Vec<_>>(),
                "policy_version": change.as_ref().map(|c| &c.now),
                "changes_printed_policy": change.as_ref().map(VersionChange::changes),
                "lists": lists.iter().map(|l| json!({
                    "file": l.file,
                    "valid": l.read.is_ok(),
                    "summary": l.read.as_ref().ok(),
                    "error": l.read.as_ref().err(),
                })).collect::<Vec<_>>(),
            }));
        }
        for list in &lists {
            match &list.read {
                Ok(summary) => eprintln!("{} {}: {summary}", style.ok("ok"), list.file.display()),
                Err(error) => eprintln!("{} {error}", style.error("error:")),
            }
        }
        lists_failed |= lists.iter().any(|l| l.read.is_err());
        if errors.is_empty() {
            eprintln!("{} {}", style.ok("ok"), file.display());
            match change {
                Some(change) if change.changes() => eprintln!(
                    "{} {}: this changes the printed policy: staff will be asked to sign again (version {} issued for {} becomes {})",
                    style.warn("warning:"),
                    file.display(),
                    short(&change.issued),
                    change.year,
                    short(&change.now),
                ),
                Some(change) => eprintln!(
                    "  the printed policy is unchanged since version {} issued for {}: nobody is asked to sign again",
                    short(&change.issued),
                    change.year,
                ),
                None => {}
            }
            continue;
        }
        failed += 1;
        for error in errors {
            eprintln!("{} {error}", style.error("error:"));
        }
    }
    eprintln!(
        "{} of {} school files are valid",
        files.len() - failed,
        files.len()
    );
    let mail = args
        .mail
        .clone()
        .unwrap_or_else(|| PathBuf::from("mail.yaml"));
    if args.mail.is_some() || mail.exists() {
        match crate::mail::settings::MailSettings::load(&mail) {
            Ok(_) => eprintln!("{} {}", style.ok("ok"), mail.display()),
            Err(error) => {
                failed += 1;
                eprintln!("{} {error}", style.error("error:"));
            }
        }
    }
    Ok(match failed == 0 && !lists_failed {
        true => Outcome::Success,
        false => Outcome::SomeFailed,
    })
}

/// A school's staff roster or class list, and what reading it found.
struct ListCheck {
    file: PathBuf,
    /// What it holds ("21 people"), or the problem with its line.
    read: Result<String, String>,
}

/// Reads the school's staff roster and class list, where they exist.
fn check_lists(school_file: &std::path::Path) -> Vec<ListCheck> {
    use crate::config::{pupils, roster};
    let (Some(dir), Some(slug)) = (
        school_file.parent(),
        school_file.file_stem().and_then(|s| s.to_str()),
    ) else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    let staff = roster::roster_path(dir, slug);
    if staff.exists() {
        checks.push(ListCheck {
            read: roster::read(&staff)
                .map(|people| format!("{} people", people.len()))
                .map_err(|e| e.to_string()),
            file: staff,
        });
    }
    let class_list = pupils::pupils_path(dir, slug);
    if class_list.exists() {
        checks.push(ListCheck {
            read: pupils::read(&class_list)
                .map(|list| pupils::summary(&list))
                .map_err(|e| e.to_string()),
            file: class_list,
        });
    }
    checks
}

/// The policy a school issued last, and the one its file now prints.
struct VersionChange {
    year: String,
    issued: String,
    now: String,
}

impl VersionChange {
    fn changes(&self) -> bool {
        self.issued != self.now
    }
}

/// The version as `aup generate` prints it: the fingerprint's first 12 digits.
fn short(fingerprint: &str) -> &str {
    &fingerprint[..12.min(fingerprint.len())]
}

/// The archive's index, read only, when the folder has one: a school that has
/// issued nothing yet has no version to compare with.
fn open_archive(root: &std::path::Path) -> Result<Option<Archive>, String> {
    match root.join(DATABASE).is_file() {
        true => Archive::open_read_only(root)
            .map(Some)
            .map_err(|e| e.to_string()),
        false => Ok(None),
    }
}

/// Lays the school's policy and form out, as `aup generate` would today, and
/// compares their version with the one the school issued last.
fn version_change(
    archive: Option<&Archive>,
    school: &LoadedSchool,
    resolved: &ResolvedSchool,
    args: &CheckArgs,
) -> Result<Option<VersionChange>, ConfigError> {
    let as_error = |message: String| ConfigError {
        file: school.file.clone(),
        position: None,
        key: String::new(),
        message,
        hint: None,
        source_line: None,
    };
    let Some(archive) = archive else {
        return Ok(None);
    };
    let Some((year, issued)) = archive
        .latest_policy(school.slug.as_str())
        .map_err(|e| as_error(e.to_string()))?
    else {
        return Ok(None);
    };
    let epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
    let plan = GeneratePlan {
        templates: TemplateSource::Embedded,
        year: None,
        date: IssueDate::choose(None, epoch.as_deref())
            .map_err(as_error)?
            .0,
        out_dir: PathBuf::new(),
        archive: args.archive.clone(),
        blank: 0,
    };
    let (policy, form) = generate::compile_policy_and_form(resolved, &school.slug, &plan)
        .map_err(|e| as_error(e.to_string()))?;
    let now =
        generate::fingerprint(&policy, &form, &school.slug).map_err(|e| as_error(e.to_string()))?;
    Ok(Some(VersionChange {
        year,
        issued,
        now: now.as_str().to_owned(),
    }))
}

fn error_json(error: &ConfigError) -> serde_json::Value {
    json!({
        "file": error.file,
        "line": error.position.map(|at| at.line),
        "column": error.position.map(|at| at.column),
        "key": error.key,
        "message": error.message,
        "hint": error.hint,
    })
}
