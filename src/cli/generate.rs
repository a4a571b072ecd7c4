//! `aup generate`: parse the arguments into a plan, then generate each school.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use anstream::{eprint, eprintln};
use serde_json::json;

use super::{Outcome, SchoolsDir, json_line, output, select_schools, style};
use crate::config::aups::AupKind;
use crate::config::{self, AcademicYear, IssueDate};
use crate::generate::{GeneratePlan, Generated, Step, generate_aup};
use crate::render::TemplateSource;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Generate only this school (repeatable); by default every school in the folder.
    #[arg(long = "school", value_name = "SLUG")]
    pub schools_only: Vec<String>,
    /// Academic year of the forms, like 2025-26. Defaults to the year the issue date
    /// falls in (September starts a new one).
    #[arg(long, value_name = "YEAR", value_parser = crate::config::year::academic_year_arg)]
    pub year: Option<String>,
    /// Issue date, YYYY-MM-DD. Defaults to SOURCE_DATE_EPOCH when set, else today.
    /// The same inputs and date always give byte-identical PDFs.
    #[arg(long, value_name = "DATE", value_parser = crate::config::year::iso_date_arg)]
    pub date: Option<String>,
    /// Where PDFs go: <OUT>/<slug>/<year>/ holds <slug>-staff-aup.pdf (the policy
    /// to read), forms/<form-id>-<name>.pdf (one per person on the roster
    /// schools/<slug>.staff.csv, and per blank) and print-all.pdf (every form, each
    /// padded to an even page count for duplex printing).
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Also make N unnamed forms per school, with their own ids. Blanks are
    /// numbered per policy version, so re-running reprints the same N ids.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub blank: u32,
    /// The archive folder; its index (aup.sqlite) records every form issued, so
    /// re-running gives each person the same form id.
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
    /// Read templates from this folder instead of the built-in ones (for people
    /// editing templates; template errors show file, line and column).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    #[command(flatten)]
    pub dir: SchoolsDir,
    /// One JSON object per line on stdout for each school written (see above).
    #[arg(long)]
    pub json: bool,
}

impl GenerateArgs {
    fn plan(&self) -> Result<GeneratePlan, String> {
        let epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
        let date = IssueDate::choose(self.date.as_deref(), epoch.as_deref())?.0;
        let year = self
            .year
            .as_deref()
            .map(str::parse::<AcademicYear>)
            .transpose()?;
        let templates = match &self.templates {
            Some(dir) if !dir.is_dir() => {
                return Err(format!(
                    "the templates folder {} does not exist",
                    dir.display()
                ));
            }
            Some(dir) => TemplateSource::Dir(dir.clone()),
            None => TemplateSource::Embedded,
        };
        Ok(GeneratePlan {
            templates,
            year,
            date,
            out_dir: self.out.clone(),
            archive: self.archive.clone(),
            blank: self.blank,
        })
    }
}

pub fn run(args: GenerateArgs) -> Result<Outcome, String> {
    let plan = args.plan()?;
    let files = select_schools(&args.dir.schools, &args.schools_only)?;
    let style = style();
    let bar = output::progress(args.json);
    let mut failed = 0;
    for file in &files {
        let name = file.file_stem().unwrap_or_default().to_string_lossy();
        let school = match config::load(file) {
            Ok(school) => school,
            Err(e) => {
                failed += 1;
                bar.suspend(|| eprintln!("{} {e}", style.error("error:")));
                continue;
            }
        };
        for &aup in &school.config.aups {
            let started = Instant::now();
            let label = match aup {
                AupKind::Staff => name.to_string(),
                _ => format!("{name} {aup}"),
            };
            bar.set_message(format!("{label}: compiling the policy"));
            let progress = |step: Step| match step {
                Step::Stamping(forms) => {
                    output::count(&bar, forms as u64, "forms");
                    bar.set_position(0);
                    bar.set_message(label.clone());
                }
                Step::FormWritten => bar.inc(1),
            };
            let result = generate_aup(&school, aup, &plan, &progress).map_err(|e| e.to_string());
            bar.suspend(|| match result {
                Ok(generated) => report(&args, &plan, &generated, &label, started),
                Err(message) => {
                    failed += 1;
                    eprintln!("{} {message}", style.error("error:"));
                }
            });
        }
    }
    bar.finish_and_clear();
    Ok(match failed {
        0 => Outcome::Success,
        _ => Outcome::SomeFailed,
    })
}

/// What one AUP's run wrote: the paths on stdout (or a JSON line), a summary
/// on stderr.
fn report(
    args: &GenerateArgs,
    plan: &GeneratePlan,
    generated: &Generated,
    label: &str,
    started: Instant,
) {
    let style = style();
    if !generated.warnings.is_empty() {
        eprint!("{}", generated.warnings);
    }
    if args.json {
        json_line(&json!({
            "school": generated.school.as_str(),
            "aup": generated.aup.name(),
            "year": plan.year().to_string(),
            "fingerprint": generated.fingerprint.as_str(),
            "policy": generated.policy,
            "pages": generated.pages,
            "forms": generated.forms.iter().map(|(id, path)| json!({
                "form_id": id.as_str(),
                "path": path,
            })).collect::<Vec<_>>(),
            "print_all": generated.print_all,
            "superseded": generated.superseded.iter().map(|(from, to)| json!({
                "from": from,
                "to": to,
            })).collect::<Vec<_>>(),
        }));
    } else {
        // The written paths are the command's data: stdout, one per line.
        outln!("{}", generated.policy.display());
        for (_, path) in &generated.forms {
            outln!("{}", path.display());
        }
        if let Some(path) = &generated.print_all {
            outln!("{}", path.display());
        }
    }
    eprintln!(
        "{} {label}: policy {} pages, {} forms, policy version {} in {} ms",
        style.ok("wrote"),
        generated.pages,
        generated.forms.len(),
        &generated.fingerprint.as_str()[..12],
        started.elapsed().as_millis()
    );
    if let Some((_, to)) = generated.superseded.first() {
        let folder = to.parent().and_then(Path::parent).unwrap_or(to);
        eprintln!(
            "{} {label}: {} forms of an older policy version moved out of forms/ to {} (they must not be printed)",
            style.warn("moved"),
            generated.superseded.len(),
            folder.display()
        );
    }
}
