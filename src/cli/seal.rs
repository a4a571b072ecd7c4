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
    /// Take the school's seal from a certificate authority: a PKCS#12 file
    /// (.p12 or .pfx, AES-encrypted as OpenSSL 3, Windows and macOS export it)
    /// holding the seal's key (P-256 or RSA), its certificate and the
    /// authority's. PDF readers that trust the authority then show sealed
    /// returns as trusted without being told about this seal. The password is
    /// asked for (not echoed), or read from the first line of standard input
    /// with --password-stdin. An existing seal is never replaced.
    ///
    /// Output: the certificate's path on stdout.
    ///
    /// Exit status: 0 when imported; 1 when the file cannot be read or opened,
    /// or the school already has a seal; 2 for a usage error.
    Import {
        /// The school, by slug.
        #[arg(long, value_name = "SLUG")]
        school: String,
        /// The PKCS#12 file.
        #[arg(value_name = "FILE.p12")]
        file: PathBuf,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

pub fn run(args: SealArgs) -> Result<Outcome, String> {
    match args.command {
        SealCommand::Import {
            school,
            file,
            password_stdin,
        } => {
            select_schools(&args.dir.schools, std::slice::from_ref(&school))?;
            let metadata = std::fs::metadata(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            if !metadata.is_file() || metadata.len() > 1024 * 1024 {
                return Err(format!(
                    "{} is not a PKCS#12 file (a regular file of at most 1 MB)",
                    file.display()
                ));
            }
            let bytes =
                std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let password = match password_stdin {
                true => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .map_err(|e| format!("cannot read the password: {e}"))?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
                false => rpassword::prompt_password(format!("Password of {}: ", file.display()))
                    .map_err(|e| format!("cannot read the password: {e}"))?,
            };
            let seal = Seal::import(&args.archive, &school, &bytes, &password)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let certificate = seal::seal_dir(&args.archive, &school).join("seal.crt");
            outln!("{}", certificate.display());
            eprintln!(
                "imported the seal of {school} ({}), with {} authority certificate(s): keep {} private and back it up with the archive",
                crate::digital::signature::common_name(&seal.certificate).unwrap_or_default(),
                seal.chain.len(),
                seal::seal_dir(&args.archive, &school)
                    .join("seal.key")
                    .display()
            );
            Ok(Outcome::Success)
        }
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
