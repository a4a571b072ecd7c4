//! `aup check`: validate school files without generating anything.

use clap::Args;

use anstream::eprintln;
use serde_json::json;

use super::{Outcome, SchoolsDir, json_line, select_schools, style};
use crate::config::ConfigError;
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
    #[command(flatten)]
    pub dir: SchoolsDir,
    /// One JSON object per line on stdout for each school file (see above).
    #[arg(long)]
    pub json: bool,
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
    let mut failed = 0;
    for file in &files {
        let errors = match crate::config::load_all(file) {
            Ok(school) => school.resolve(&catalogue).err().unwrap_or_default(),
            Err(errors) => errors,
        };
        if args.json {
            json_line(&json!({
                "file": file,
                "valid": errors.is_empty(),
                "errors": errors.iter().map(error_json).collect::<Vec<_>>(),
            }));
        }
        if errors.is_empty() {
            eprintln!("{} {}", style.ok("ok"), file.display());
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
    Ok(match failed {
        0 => Outcome::Success,
        _ => Outcome::SomeFailed,
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
