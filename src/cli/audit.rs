//! `aup audit verify`: check that no audit entry was edited or deleted.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Outcome, style};
use crate::archive::Archive;

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    /// The archive folder (with its index, aup.sqlite).
    #[arg(long, value_name = "DIR", default_value = "archive", global = true)]
    pub archive: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Re-compute the hash chain of the audit log (every generate and ingest is an
    /// entry chained to the one before); exit 1 if an entry was edited or deleted.
    Verify,
}

pub fn run(args: AuditArgs) -> Result<Outcome, String> {
    let archive = Archive::open_read_only(&args.archive).map_err(|e| e.to_string())?;
    match args.command {
        AuditCommand::Verify => match archive.verify_audit().map_err(|e| e.to_string())? {
            Ok(entries) => {
                outln!("audit log intact: {entries} entries");
                Ok(Outcome::Success)
            }
            Err(problem) => {
                eprintln!("{} audit log broken: {problem}", style().error("error:"));
                Ok(Outcome::SomeFailed)
            }
        },
    }
}
