//! `aup audit verify`: check that no audit entry was edited or deleted.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use anstream::eprintln;
use serde_json::json;

use super::{Outcome, json_line, style};
use crate::archive::Archive;

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    /// The archive folder (with its index, aup.sqlite).
    #[arg(long, value_name = "DIR", default_value = "archive", global = true)]
    pub archive: PathBuf,
    /// One JSON object on stdout: intact (true or false), entries (when intact)
    /// and problem (when not).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Re-compute the hash chain of the audit log (every generate, ingest, assign
    /// and prune is an entry chained to the one before).
    ///
    /// Exit status: 0 when the log is intact; 1 when an entry was edited, reordered
    /// or deleted; 3 when it could not be checked (no archive, unreadable index);
    /// 2 for a usage error.
    Verify,
}

pub fn run(args: AuditArgs) -> Result<Outcome, String> {
    let checked = Archive::open_read_only(&args.archive).and_then(|a| a.verify_audit());
    let verdict = match checked {
        Ok(verdict) => verdict,
        Err(error) => {
            eprintln!("{} {error}", style().error("error:"));
            return Ok(Outcome::CouldNotCheck);
        }
    };
    match args.command {
        AuditCommand::Verify => match verdict {
            Ok(entries) => {
                match args.json {
                    true => json_line(&json!({"intact": true, "entries": entries})),
                    false => outln!("audit log intact: {entries} entries"),
                }
                Ok(Outcome::Success)
            }
            Err(problem) => {
                if args.json {
                    json_line(&json!({"intact": false, "problem": problem}));
                }
                eprintln!("{} audit log broken: {problem}", style().error("error:"));
                Ok(Outcome::NotAccepted)
            }
        },
    }
}
