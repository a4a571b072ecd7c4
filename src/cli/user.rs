//! `aup user`: the accounts that may sign in to `aup serve`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anstream::eprintln;
use clap::{Args, Subcommand};

use super::Outcome;
use crate::archive::{self, Archive};
use crate::serve::accounts::{self, MIN_PASSWORD_CHARS, Role};

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
    /// The archive folder (its index holds the accounts).
    #[arg(long, value_name = "DIR", default_value = "archive", global = true)]
    pub archive: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account. The password is asked for twice (not echoed); with
    /// --password-stdin it is read from the first line of standard input.
    ///
    /// Roles: head (everything, including issuing forms), office (uploads,
    /// assigns and sets aside quarantined pages; cannot issue forms), viewer
    /// (reads everything, changes nothing). Recorded in the audit log.
    ///
    /// Exit status: 0 when added; 1 when the name is taken, not usable, or the
    /// password is too short; 2 for a usage error.
    Add {
        /// The name to sign in with: letters, digits, '.', '-', '_', '@'.
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Only this school's forms (repeatable); by default every school's.
        #[arg(long = "school", value_name = "SLUG")]
        schools: Vec<String>,
        /// Read the password from standard input (for scripts).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts: name, role, schools, created.
    List,
    /// Remove an account (recorded in the audit log). Its sessions end at the
    /// server's next restart at the latest.
    Remove { name: String },
}

pub fn run(args: UserArgs) -> Result<Outcome, String> {
    match args.command {
        UserCommand::Add {
            name,
            role,
            schools,
            password_stdin,
        } => {
            accounts::check_name(&name)?;
            let password = match password_stdin {
                true => {
                    let mut line = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut line)
                        .map_err(|e| format!("cannot read the password: {e}"))?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
                false => prompt_twice(&name)?,
            };
            if password.chars().count() < MIN_PASSWORD_CHARS {
                return Err(format!(
                    "the password is too short: use at least {MIN_PASSWORD_CHARS} characters (three random words make a good one)"
                ));
            }
            let hash = accounts::hash_password(&password)?;
            let _lock = archive::lock_waiting(&args.archive).map_err(|e| e.to_string())?;
            let mut index = Archive::open(&args.archive).map_err(|e| e.to_string())?;
            match index
                .add_user(&name, role.as_str(), &hash, &schools)
                .map_err(|e| e.to_string())?
            {
                true => {
                    eprintln!("added {name} ({})", role.as_str());
                    Ok(Outcome::Success)
                }
                false => Err(format!(
                    "there is an account called {name} already\n  = hint: `aup user remove {name}` first to replace it"
                )),
            }
        }
        UserCommand::List => {
            let index = Archive::open_read_only(&args.archive).map_err(|e| e.to_string())?;
            for user in index.users().map_err(|e| e.to_string())? {
                let schools = match user.schools.is_empty() {
                    true => "every school".to_owned(),
                    false => user.schools.join(","),
                };
                outln!(
                    "{}\t{}\t{}\t{}",
                    user.name,
                    user.role,
                    schools,
                    user.created_at
                );
            }
            Ok(Outcome::Success)
        }
        UserCommand::Remove { name } => {
            let _lock = archive::lock_waiting(&args.archive).map_err(|e| e.to_string())?;
            let mut index = Archive::open(&args.archive).map_err(|e| e.to_string())?;
            match index.remove_user(&name).map_err(|e| e.to_string())? {
                true => {
                    eprintln!("removed {name}");
                    Ok(Outcome::Success)
                }
                false => Err(format!("there is no account called {name}")),
            }
        }
    }
}

fn prompt_twice(name: &str) -> Result<String, String> {
    if !std::io::stdin().is_terminal() {
        return Err(
            "no terminal to ask for the password on\n  = hint: pass --password-stdin and give it on standard input"
                .into(),
        );
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|e| format!("cannot read the password: {e}"))
    };
    let first = ask(&format!("password for {name}: "))?;
    let second = ask("the same again: ")?;
    match first == second {
        true => Ok(first),
        false => Err("the two passwords differ; nothing was changed".into()),
    }
}
