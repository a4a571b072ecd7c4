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
mod generate;
mod ingest;
mod init;
mod prune;
mod schema;
mod show;
mod status;
mod verify;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Acceptable Use Policy forms for UK schools: generate a signable form per person
/// from one YAML file per school and its staff roster, then ingest the signed
/// returns (scans) into a verified, indexed archive.
///
/// Typical year: `aup check`, `aup generate`, print or email the forms, scan the
/// returns into inbox/, `aup ingest`.
///
/// Exit status: 0 when everything asked for was done, 1 when any school or file
/// failed (each failure is reported and the others still run), 2 for a usage error.
/// `aup ingest` exits 1 only for operational failures, not for incomplete forms.
#[derive(Debug, Parser)]
#[command(name = "aup", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check school YAML files and report every problem with file, line and column.
    Check(check::CheckArgs),
    /// Generate each school's policy, a signable form per person on its roster, and a print file.
    Generate(generate::GenerateArgs),
    /// File the signed returns in the inbox: identify, verify, archive, index.
    Ingest(ingest::IngestArgs),
    /// Check one returned PDF as ingest would (fields, signature, policy text) and explain each check.
    Verify(verify::VerifyArgs),
    /// Who has signed the current policy and who has not: table, CSV, JSON or HTML.
    Status(status::StatusArgs),
    /// Identify a quarantined page by hand as a page of a form, and judge the form again.
    Assign(assign::AssignArgs),
    /// A form's history: issued, returns, verdicts.
    Show(show::ShowArgs),
    /// Remove archived forms whose retention period is over (recorded in the audit log).
    Prune(prune::PruneArgs),
    /// The audit log of generate and ingest runs.
    Audit(audit::AuditArgs),
    /// Print the JSON Schema of a school's YAML file, for editors.
    Schema(schema::SchemaArgs),
    /// Write a commented starter YAML for a new school.
    Init(init::InitArgs),
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
    let outcome = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Status(args) => status::run(args),
        Command::Assign(args) => assign::run(args),
        Command::Show(args) => show::run(args),
        Command::Prune(args) => prune::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Init(args) => init::run(args),
    };
    match outcome {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::SomeFailed) => ExitCode::from(1),
        Err(message) => {
            eprintln!("{} {message}", style().error("error:"));
            ExitCode::from(1)
        }
    }
}

/// Writes data to stdout. A reader that went away (a closed pipe) ends the program
/// quietly with status 0, as `yes | head` does; any other failure to write is an
/// error, exit status 1.
pub fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("{} cannot write the output: {e}", style().error("error:"));
        std::process::exit(1);
    }
}

/// How a command ended when it ran to completion.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// At least one school or file failed; each was reported already.
    SomeFailed,
}

/// Colour on stderr only when it is a terminal and NO_COLOR is unset.
pub struct Style {
    colour: bool,
}

pub fn style() -> Style {
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    Style { colour }
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        match self.colour {
            true => format!("\x1b[{code}m{text}\x1b[0m"),
            false => text.to_owned(),
        }
    }

    pub fn error(&self, text: &str) -> String {
        self.paint("1;31", text)
    }

    pub fn ok(&self, text: &str) -> String {
        self.paint("1;32", text)
    }

    pub fn warn(&self, text: &str) -> String {
        self.paint("1;33", text)
    }
}

/// The school files a command acts on: the named slugs, or every school in the folder.
fn select_schools(dir: &std::path::Path, slugs: &[String]) -> Result<Vec<PathBuf>, String> {
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
