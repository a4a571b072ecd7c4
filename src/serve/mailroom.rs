//! `aup serve`'s mail rounds: every few minutes `aup mail fetch` takes the
//! returns that arrived in the office's mailbox into the inbox (the filing
//! thread files them), `aup mail receipts` answers the messages whose returns
//! were filed since, and `aup remind` sends the reminders due. Both run as
//! child processes under the readers' limits, as readers do: a message built
//! to crash a parser takes down a child, never the office's pages. The
//! overview says how the last round went.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::{App, Folders};

/// How long one child may run.
const ROUND_DEADLINE: Duration = Duration::from_secs(10 * 60);

/// What the overview says of the mail.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MailState {
    /// The end of the last round (RFC 3339).
    pub last_round_at: Option<String>,
    /// Whether the settings name a mailbox to read.
    pub reads_mailbox: bool,
    /// Messages read from the mailbox in it, and of those filed.
    pub read: usize,
    pub filed: usize,
    /// Reminders sent in it.
    pub reminded: usize,
    /// Receipts sent in it, for returns that came by mail.
    pub receipts: usize,
    /// What went wrong in it, in the command's own words.
    pub problem: Option<String>,
}

/// Starts the rounds: the first at once, then every `every`.
pub fn start(app: Arc<App>, mail: PathBuf, every: Duration) {
    *lock(&app.mail) = Some(MailState::default());
    tokio::spawn(async move {
        loop {
            let (folders, mail_file) = (app.folders.clone(), mail.clone());
            let public_url = app.public_url.clone();
            let state = tokio::task::spawn_blocking(move || {
                round(&mail_file, &folders, public_url.as_deref())
            })
            .await
            .unwrap_or_else(|e| MailState {
                problem: Some(format!("the mail round failed: {e}")),
                ..MailState::default()
            });
            if state.filed > 0 {
                app.filing.send(super::filing::Job::Wake);
            }
            if let Some(problem) = &state.problem {
                eprintln!("aup serve: mail: {problem}");
            }
            *lock(&app.mail) = Some(state);
            tokio::time::sleep(every).await;
        }
    });
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn round(mail: &Path, folders: &Folders, public_url: Option<&str>) -> MailState {
    let mut state = MailState::default();
    let mut problems = Vec::new();
    let reads_mailbox = crate::mail::settings::MailSettings::load(mail)
        .map(|s| s.imap.is_some())
        .unwrap_or(true);
    state.reads_mailbox = reads_mailbox;
    let told = Told {
        mail,
        folders,
        public_url,
    };
    let run = |args: Vec<std::ffi::OsString>| child(&args, ROUND_DEADLINE);
    if reads_mailbox {
        let mut fetch = told.args(&["mail", "fetch", "--json"], false);
        fetch.extend(["--inbox".into(), folders.inbox.clone().into()]);
        match run(fetch) {
            Ok(lines) => {
                state.read = lines.len();
                state.filed = lines.iter().filter(|l| l["outcome"] == "filed").count();
            }
            Err(problem) => problems.push(problem),
        }
        match run(told.args(&["mail", "receipts", "--json"], true)) {
            Ok(lines) => state.receipts = lines.iter().filter(|l| l["outcome"] == "sent").count(),
            Err(problem) => problems.push(problem),
        }
    }
    match run(told.args(&["remind", "--json"], true)) {
        Ok(lines) => state.reminded = lines.iter().filter(|l| l["outcome"] == "sent").count(),
        Err(problem) => problems.push(problem),
    }
    state.last_round_at = Some(crate::clock::now_text());
    if !problems.is_empty() {
        state.problem = Some(problems.join("; "));
    }
    state
}

/// What every mail command `aup serve` runs is told.
pub(super) struct Told<'a> {
    pub mail: &'a Path,
    pub folders: &'a Folders,
    /// `--public-url`, for commands that write links.
    pub public_url: Option<&'a str>,
}

impl Told<'_> {
    /// `words`, then the settings and the archive; with `letters`, the
    /// schools folder too (and the address links open at, when serve knows
    /// it), for the commands that write to people.
    pub fn args(&self, words: &[&str], letters: bool) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = words.iter().map(Into::into).collect();
        args.extend([
            "--mail".into(),
            self.mail.into(),
            "--archive".into(),
            self.folders.archive.clone().into(),
        ]);
        if letters {
            args.extend(["--schools".into(), self.folders.schools.clone().into()]);
            if let Some(url) = self.public_url {
                args.extend(["--public-url".into(), url.into()]);
            }
        }
        args
    }
}

/// Runs `aup <args>` under the readers' limits; its JSON lines. A command
/// that ran but settled some letters badly (exit 1, each said in its lines)
/// still gives its lines; one that stopped with an `error:` gives its words.
pub(super) fn child<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    deadline: Duration,
) -> Result<Vec<serde_json::Value>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find aup itself: {e}"))?;
    let mut command = std::process::Command::new(exe);
    command
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    crate::ingest::worker::apply_limits(
        &mut command,
        crate::ingest::worker::Limits::for_file(64 * 1024 * 1024, Some(deadline)),
    );
    let output = command
        .output()
        .map_err(|e| format!("cannot start aup: {e}"))?;
    let lines = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let said = String::from_utf8_lossy(&output.stderr);
    let error = said.lines().rev().find_map(|l| l.strip_prefix("error: "));
    match (output.status.code(), error) {
        (Some(0), _) | (Some(1), None) => Ok(lines),
        (_, Some(error)) => Err(error.trim().to_owned()),
        (code, None) => Err(match code {
            Some(code) => format!("aup stopped with exit code {code}"),
            None => "aup was stopped by a signal (it ran too long, or ran out of memory)".into(),
        }),
    }
}
