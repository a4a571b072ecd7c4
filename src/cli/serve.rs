//! `aup serve`: the office's web pages and an inbox that files itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{Outcome, SchoolsDir};
use crate::serve::{Folders, ServeOptions};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address and port to serve on. Another address than loopback (this
    /// machine only) needs --tls-cert and --tls-key, or --insecure-lan.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The folder the copier scans into and uploads are saved to; subfolders
    /// are read too.
    #[arg(long, value_name = "DIR", default_value = "inbox")]
    pub inbox: PathBuf,
    /// The archive folder (with its index, aup.sqlite, which also holds the
    /// accounts).
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,
    /// Where `aup generate` writes forms (for printing them again from the page).
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Look in the inbox every SECS seconds instead of waiting for the file
    /// system's notifications: needed when the inbox is a network share that
    /// another machine writes to (SMB, NFS), which sends no notifications here.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub poll: Option<u64>,
    /// A file is taken only once its size and modification time have stayed
    /// the same for SECS seconds: a copier may still be writing it.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub settle: u64,
    /// Serve HTTPS with this certificate chain (PEM): then any address may be
    /// listened on. Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A TLS reverse proxy on this machine (Caddy, nginx) forwards to aup: the
    /// session cookie is marked Secure, and failed sign-ins are counted per
    /// client by the address the proxy adds to X-Forwarded-For.
    #[arg(long)]
    pub behind_proxy: bool,
    /// Serve plain HTTP on an address other than loopback. Passwords and
    /// names then cross the network unencrypted: only on a network you trust.
    #[arg(long)]
    pub insecure_lan: bool,
    /// The address people reach these pages at, e.g. https://aup.school.example
    /// (behind the proxy, if any): the office's pages then offer each school's
    /// signing links as a CSV for a mail merge, as `aup links` does.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The mail settings (see `aup send`): serve then reads the mailbox for
    /// returns (`imap:`) and sends the reminders due, every --mail-every
    /// seconds, each in a child process.
    #[arg(long, value_name = "FILE")]
    pub mail: Option<PathBuf>,
    /// Seconds between mail rounds.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub mail_every: u64,
    #[command(flatten)]
    pub dir: SchoolsDir,
}

pub fn run(args: ServeArgs) -> Result<Outcome, String> {
    if let Some(url) = &args.public_url {
        crate::online::mail_merge::check_public_url(url)?;
    }
    if let Some(mail) = &args.mail {
        // Said at the start, not five minutes later in a log.
        crate::mail::settings::MailSettings::load(mail).map_err(|e| e.to_string())?;
    }
    crate::serve::run(ServeOptions {
        listen: args.listen,
        folders: Folders {
            inbox: args.inbox,
            archive: args.archive,
            schools: args.dir.schools,
            out: args.out,
        },
        poll: args.poll.map(Duration::from_secs),
        settle: Duration::from_secs(args.settle),
        insecure_lan: args.insecure_lan,
        tls: args.tls_cert.zip(args.tls_key),
        behind_proxy: args.behind_proxy,
        public_url: args.public_url,
        mail: args
            .mail
            .map(|file| (file, Duration::from_secs(args.mail_every))),
    })?;
    Ok(Outcome::Success)
}
