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
    /// Connect and sign in to the SMTP server, and to the IMAP mailbox when
    /// there is one; nothing is sent, read or moved.
    Test,
    /// Read the mailbox (`imap:` in the settings) once: each new message's
    /// PDF and photo attachments go into the inbox for `aup ingest` (or `aup
    /// serve`) to file, and the message moves to the filed folder; one with
    /// nothing to file moves to the not-filed folder. A message is never taken
    /// twice, not after a restart, nor when the mailbox was moved.
    ///
    /// Output: a line per message (outcome, sender, Message-ID, what was
    /// done), or with --json one object per message: message_id, from,
    /// outcome (filed, not_filed, already_taken), files, detail.
    ///
    /// Exit status: 0 when the folder was read; 1 when it could not be.
    Fetch {
        /// aup's inbox: attachments go into its `mail/` folder.
        #[arg(long, value_name = "DIR", default_value = "inbox")]
        inbox: PathBuf,
        /// The archive folder (its index remembers the messages taken).
        #[arg(long, value_name = "DIR", default_value = "archive")]
        archive: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Answer the messages whose returns ingest has judged: each sender gets
    /// what became of their return (complete, or what is missing and their
    /// link). Never to a program's message, never twice; inside the sending
    /// window only.
    ///
    /// Output: a line per receipt, or with --json one object per receipt:
    /// to, message_id, outcome (sent, refused, failed, off), detail.
    Receipts {
        /// The archive folder.
        #[arg(long, value_name = "DIR", default_value = "archive")]
        archive: PathBuf,
        /// The folder of the school files.
        #[arg(long, value_name = "DIR", default_value = "schools")]
        schools: PathBuf,
        /// The address people reach `aup serve` at; by default the settings'
        /// `public_url`.
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: MailArgs) -> Result<Outcome, String> {
    let settings = MailSettings::load(&args.mail).map_err(|e| e.to_string())?;
    if let MailCommand::Fetch {
        inbox,
        archive,
        json,
    } = &args.command
    {
        return fetch(&settings, inbox, archive, *json);
    }
    if let MailCommand::Receipts {
        archive,
        schools,
        public_url,
        json,
    } = &args.command
    {
        let _lock = crate::archive::lock_waiting(archive).map_err(|e| e.to_string())?;
        let index = crate::archive::Archive::open(archive).map_err(|e| e.to_string())?;
        let places = crate::mail::receipts::Places {
            archive_dir: archive,
            schools,
            public_url: public_url.as_deref().or(settings.public_url.as_deref()),
        };
        let answered = crate::mail::receipts::send_due(&settings, &index, &places)?;
        for receipt in &answered {
            match json {
                true => super::json_line(receipt),
                false => outln!("{}\t{}\t{}", receipt.outcome, receipt.to, receipt.detail),
            }
        }
        eprintln!("{} receipt(s)", answered.len());
        return Ok(Outcome::Success);
    }
    let smtp = &settings.smtp;
    let mut failed = Vec::new();
    match Mailer::new(&settings).and_then(|mailer| mailer.test()) {
        Ok(()) => outln!(
            "smtp: signed in to {}:{} ({:?}, auth {:?})",
            smtp.host,
            smtp.port,
            smtp.tls,
            smtp.auth
        ),
        Err(error) => {
            eprintln!("smtp: {}:{}: {error}", smtp.host, smtp.port);
            failed.push(smtp.host.clone());
        }
    }
    if let Some(imap) = &settings.imap {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let probe = crate::mail::fetch::fetch(&settings, crate::mail::fetch::Mode::Probe);
        let probe = async { tokio::time::timeout(std::time::Duration::from_secs(60), probe).await };
        match runtime.block_on(probe).unwrap_or_else(|_| {
            Err(format!(
                "imap: {} did not answer within a minute",
                imap.host
            ))
        }) {
            Ok((messages, _)) => outln!(
                "imap: signed in to {}:{} as {}; {} holds {messages} message(s)",
                imap.host,
                imap.port,
                imap.username,
                imap.folder
            ),
            Err(error) => {
                eprintln!("{error}");
                failed.push(imap.host.clone());
            }
        }
    }
    match failed.is_empty() {
        true => Ok(Outcome::Success),
        false => Err(format!(
            "could not sign in to {}; nothing was sent or read",
            failed.join(" and ")
        )),
    }
}

fn fetch(
    settings: &MailSettings,
    inbox: &std::path::Path,
    archive: &std::path::Path,
    json: bool,
) -> Result<Outcome, String> {
    // One reader at a time: two would both take a new message.
    let _lock = crate::archive::lock_waiting(archive).map_err(|e| e.to_string())?;
    let index = crate::archive::Archive::open(archive).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mode = crate::mail::fetch::Mode::Take {
        archive: &index,
        inbox,
    };
    // A server that stops answering must not hold the archive's lock forever.
    let deadline = std::time::Duration::from_secs(10 * 60);
    let (_, fetched) = runtime
        .block_on(async {
            tokio::time::timeout(deadline, crate::mail::fetch::fetch(settings, mode)).await
        })
        .map_err(|_| {
            "imap: the mailbox did not answer within 10 minutes; nothing more was taken".to_owned()
        })??;
    for message in &fetched {
        match json {
            true => super::json_line(message),
            false => outln!(
                "{}\t{}\t{}\t{}",
                message.outcome,
                message.from,
                message.message_id,
                message.detail
            ),
        }
    }
    eprintln!(
        "{} message(s) read; {} filed",
        fetched.len(),
        fetched.iter().filter(|m| m.outcome == "filed").count()
    );
    Ok(Outcome::Success)
}
