//! `aup check`: validate school files without generating anything, and say
//! whether an edit changes the policy people sign.

use std::path::PathBuf;

use clap::Args;

use anstream::eprintln;
use serde_json::json;

use super::{Outcome, SchoolsDir, json_line, select_schools, style};
use crate::archive::{Archive, DATABASE};
use crate::config::aups::AupKind;
use crate::config::{ConfigError, IssueDate, LoadedSchool, ResolvedSchool};
use crate::generate::{self, GeneratePlan};
use crate::render::{self, TemplateSource};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Schools to check, by slug (file name without .yaml); all when omitted.
    #[arg(value_name = "SLUG")]
    pub slugs: Vec<String>,
    /// List each AUP's clause ids (for `clauses.remove`, `replace` and `add`;
    /// the staff AUP's first, then each other AUP's, edited under
    /// `aup_options.<aup>.clauses`) and the placeholders clause text may use,
    /// then exit.
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
    if args.clauses {
        for aup in AupKind::ALL {
            let catalogue = render::catalogue_of(aup, &templates)?;
            if aup != AupKind::Staff {
                outln!();
                outln!("{aup} ({}; edits under aup_options.{aup}):", aup.title());
            }
            outln!("paragraphs: {}", catalogue.blocks.join(" "));
            outln!("clauses:    {}", catalogue.clauses.join(" "));
            outln!("bullets:    {}", catalogue.bullets.join(" "));
        }
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
        let (errors, changes) = match crate::config::load_all(file) {
            Ok(school) => check_aups(archive.as_ref(), &school, &args, &templates),
            Err(errors) => (errors, Vec::new()),
        };
        let lists = check_lists(file);
        if args.json {
            json_line(&json!({
                "file": file,
                "valid": errors.is_empty(),
                "errors": errors.iter().map(error_json).collect::<Vec<_>>(),
                "policy_version": changes.iter().find(|c| c.aup == AupKind::Staff).map(|c| &c.now),
                "changes_printed_policy": changes.iter().find(|c| c.aup == AupKind::Staff).and_then(VersionChange::compared),
                "aups": changes.iter().map(|c| json!({
                    "aup": c.aup.name(),
                    "policy_version": c.now,
                    "changes_printed_policy": c.compared(),
                })).collect::<Vec<_>>(),
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
            for change in changes.iter().filter(|c| c.issued.is_some()) {
                let issued = change.issued.as_deref().unwrap_or_default();
                let which = match change.aup {
                    AupKind::Staff => String::new(),
                    aup => format!(" of the {aup} AUP"),
                };
                match change.changes() {
                    true => eprintln!(
                        "{} {}: this changes the printed policy{which}: {} will be asked to sign again (version {} issued for {} becomes {})",
                        style.warn("warning:"),
                        file.display(),
                        match change.aup {
                            AupKind::Staff => "staff",
                            aup => aup.title(),
                        },
                        short(issued),
                        change.year,
                        short(&change.now),
                    ),
                    false => eprintln!(
                        "  the printed policy{which} is unchanged since version {} issued for {}: nobody is asked to sign again",
                        short(issued),
                        change.year,
                    ),
                }
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

/// An AUP's version as a school issued it last, and the one its file now prints.
struct VersionChange {
    aup: AupKind,
    year: String,
    /// `None` when the school has not issued this AUP yet.
    issued: Option<String>,
    now: String,
}

impl VersionChange {
    fn changes(&self) -> bool {
        self.issued
            .as_deref()
            .is_some_and(|issued| issued != self.now)
    }

    /// Whether the printed policy changes; `None` with nothing issued to
    /// compare with.
    fn compared(&self) -> Option<bool> {
        self.issued.as_ref().map(|_| self.changes())
    }
}

/// Resolves the school for each AUP it uses and, when it issued that AUP
/// before, compares the version its file prints now with it. The staff
/// resolution reports the school's settings; the others add only what is
/// their own (their clause edits and text blocks), so a mistake is told once.
fn check_aups(
    archive: Option<&Archive>,
    school: &LoadedSchool,
    args: &CheckArgs,
    templates: &TemplateSource,
) -> (Vec<ConfigError>, Vec<VersionChange>) {
    let mut errors = Vec::new();
    let mut changes = Vec::new();
    let staff = render::catalogue_of(AupKind::Staff, templates)
        .map_err(|e| vec![whole_file_error(school, e)])
        .and_then(|catalogue| school.resolve(&catalogue));
    let staff = match staff {
        Ok(resolved) => Some(resolved),
        Err(found) => {
            errors.extend(found);
            None
        }
    };
    for &aup in &school.config.aups {
        let resolved = match (aup, &staff) {
            (AupKind::Staff, None) => continue,
            (AupKind::Staff, Some(staff)) => Ok(staff.clone()),
            _ => render::catalogue_of(aup, templates)
                .map_err(|e| vec![whole_file_error(school, e)])
                .and_then(|catalogue| school.resolve_aup(aup, &catalogue))
                .map_err(|found| {
                    let own = format!("aup_options.{aup}.");
                    found
                        .into_iter()
                        .filter(|e| e.key.starts_with(&own) || e.key.is_empty())
                        .collect()
                }),
        };
        match resolved.and_then(|resolved| {
            version_change(archive, school, aup, &resolved, args).map_err(|e| vec![e])
        }) {
            Ok(change) => changes.push(change),
            Err(found) => errors.extend(found),
        }
    }
    (errors, changes)
}

fn whole_file_error(school: &LoadedSchool, message: String) -> ConfigError {
    ConfigError {
        file: school.file.clone(),
        position: None,
        key: String::new(),
        message,
        hint: None,
        source_line: None,
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

/// Lays an AUP's policy and form out, as `aup generate` would today, and
/// compares their version with the one the school issued last.
fn version_change(
    archive: Option<&Archive>,
    school: &LoadedSchool,
    aup: AupKind,
    resolved: &ResolvedSchool,
    args: &CheckArgs,
) -> Result<VersionChange, ConfigError> {
    let as_error = |message: String| whole_file_error(school, message);
    let issued = match archive {
        Some(archive) => archive
            .latest_policy(school.slug.as_str(), aup)
            .map_err(|e| as_error(e.to_string()))?,
        None => None,
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
    // Every AUP is laid out, issued or not: a school's edit that breaks the
    // layout (a block the page cannot hold) is found here, not at generate.
    let (policy, form) = generate::compile_policy_and_form(resolved, &school.slug, &plan)
        .map_err(|e| as_error(e.to_string()))?;
    let now =
        generate::fingerprint(&policy, &form, &school.slug).map_err(|e| as_error(e.to_string()))?;
    let (year, issued) = match issued {
        Some((year, fingerprint)) => (year, Some(fingerprint)),
        None => (String::new(), None),
    };
    Ok(VersionChange {
        aup,
        year,
        issued,
        now: now.as_str().to_owned(),
    })
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
