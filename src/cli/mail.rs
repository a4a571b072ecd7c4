//! `aup mail test`: signs in to the mail server as `aup send` would, and says
//! exactly what failed.

use std::path::PathBuf;

use anstream::eprintln;
use clap::{Args, Subcommand};

use super::Outcome;
use crate::mail::send::Mailer;
use crate::mail::settings::MailSettings;

#[derive(Debug, Args)]
pub struct MailArgs {
    #[command(subcommand)]
    pub command: MailCommand,
    /// The mail settings.
    #[arg(long, value_name = "FILE", default_value = "mail.yaml", global = true)]
    pub mail: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Connect and sign in to the SMTP server; nothing is sent.
    Test,
}

pub fn run(args: MailArgs) -> Result<Outcome, String> {
    let MailCommand::Test = args.command;
    let settings = MailSettings::load(&args.mail).map_err(|e| e.to_string())?;
    let smtp = &settings.smtp;
    let mailer = Mailer::new(&settings)?;
    match mailer.test() {
        Ok(()) => {
            outln!(
                "smtp: signed in to {}:{} ({:?}, auth {:?})",
                smtp.host,
                smtp.port,
                smtp.tls,
                smtp.auth
            );
            Ok(Outcome::Success)
        }
        Err(error) => {
            eprintln!("smtp: {}:{}: {error}", smtp.host, smtp.port);
            Err(format!(
                "could not sign in to {}; nothing was sent",
                smtp.host
            ))
        }
    }
}
