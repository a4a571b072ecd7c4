//! `aup seal`: the school's seal, with which aup signs what people sign online.

use std::path::PathBuf;

use anstream::eprintln;
use clap::{Args, Subcommand};

use super::{Outcome, SchoolsDir, select_schools};
use crate::online::{Seal, seal};

#[derive(Debug, Args)]
pub struct SealArgs {
    #[command(subcommand)]
    pub command: SealCommand,
    /// The archive folder; the seal is kept in its `seals/<slug>/` (never served).
    #[arg(long, value_name = "DIR", default_value = "archive", global = true)]
    pub archive: PathBuf,
    #[command(flatten)]
    pub dir: SchoolsDir,
}

#[derive(Debug, Subcommand)]
pub enum SealCommand {
    /// Make the school's seal: a new P-256 key (seal.key, readable by its owner
    /// only) and a certificate naming the school, valid for ten years
    /// (seal.crt), in <archive>/seals/<slug>/. An existing seal is never
    /// replaced. Give seal.crt to anyone who should trust the school's sealed
    /// returns (it is what PDF readers ask for).
    ///
    /// Output: the certificate's path on stdout.
    ///
    /// Exit status: 0 when made; 1 when the school already has a seal, its file
    /// cannot be read, or the seal cannot be written; 2 for a usage error.
    Init {
        /// The school, by slug.
        #[arg(long, value_name = "SLUG")]
        school: String,
    },
}

pub fn run(args: SealArgs) -> Result<Outcome, String> {
    match args.command {
        SealCommand::Init { school } => {
            let files = select_schools(&args.dir.schools, std::slice::from_ref(&school))?;
            let file = files
                .first()
                .ok_or_else(|| format!("there is no school `{school}`"))?;
            let loaded = crate::config::load(file).map_err(|e| e.to_string())?;
            let today = time::OffsetDateTime::now_utc().date();
            Seal::create(&args.archive, &school, &loaded.config.name, today)
                .map_err(|e| e.to_string())?;
            let certificate = seal::seal_dir(&args.archive, &school).join("seal.crt");
            outln!("{}", certificate.display());
            eprintln!(
                "made the seal of {}: keep {} private and back it up with the archive",
                loaded.config.name,
                seal::seal_dir(&args.archive, &school)
                    .join("seal.key")
                    .display()
            );
            Ok(Outcome::Success)
        }
    }
}
