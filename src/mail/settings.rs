//! The mail settings of a deployment (`mail.yaml`, given with `--mail`): the
//! sender, the SMTP server and how to sign in to it, when and how fast to send,
//! and the reminder schedule. One file serves a trust's schools from one
//! mailbox, or one school. No secret is ever in it: a password comes from a
//! file only the service's user can read (a systemd credential) or from the
//! environment. Like the school files, these types are what `aup check`
//! accepts and what `aup schema --mail` prints for editors.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How to send the schools' mail (`mail.yaml`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// The sender, as people see it: `Pakeman Primary School <office@pakeman.example>`.
    pub from: String,
    /// Where replies go, when not to `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The address people reach `aup serve` at, for the links in invitations,
    /// e.g. `https://aup.pakeman.example`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// The server mail is sent through.
    pub smtp: Smtp,
    /// When and how fast mail is sent.
    #[serde(default)]
    pub sending: Sending,
    /// The mailbox returns arrive in (`aup mail fetch`), when aup reads one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap: Option<Imap>,
}

/// An IMAP mailbox people send returns to: Microsoft 365 is
/// `outlook.office365.com`, port 993, `implicit`; Google Workspace
/// `imap.gmail.com`, port 993, `implicit`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Imap {
    pub host: String,
    /// 993 for `implicit`, 143 for `starttls`.
    pub port: u16,
    pub tls: Tls,
    /// `password` or `xoauth2` (`none` is not possible for IMAP).
    pub auth: Auth,
    pub username: String,
    /// As for `smtp`: a file only the service's user may read, or
    /// `password_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// For `auth: xoauth2` (Microsoft 365: `IMAP.AccessAsApp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<super::oauth::OAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The folder read. Default `INBOX`.
    #[serde(default = "inbox_folder")]
    pub folder: String,
    /// Where a message goes once its attachments are in aup's inbox.
    /// Default `aup/filed`; made when missing.
    #[serde(default = "filed_folder")]
    pub filed_folder: String,
    /// Where a message with nothing aup can file goes. Default
    /// `aup/not-filed`.
    #[serde(default = "not_filed_folder")]
    pub not_filed_folder: String,
}

fn inbox_folder() -> String {
    "INBOX".into()
}

fn filed_folder() -> String {
    "aup/filed".into()
}

fn not_filed_folder() -> String {
    "aup/not-filed".into()
}

/// An SMTP server: Microsoft 365 is `smtp.office365.com`, port 587, `starttls`;
/// Google Workspace `smtp.gmail.com`, port 587, `starttls`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    pub host: String,
    /// 587 for `starttls`, 465 for `implicit`.
    pub port: u16,
    pub tls: Tls,
    #[serde(default)]
    pub auth: Auth,
    /// The account to sign in as (for `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A file holding the password (an app password), readable by the service's
    /// user only (a relative path is beside this file), e.g. `/run/credentials/aup-serve/smtp` (systemd's
    /// `LoadCredential=`). Or give `password_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// The environment variable holding the password, e.g. `AUP_SMTP_PASSWORD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// For `auth: xoauth2`: where the access tokens come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<super::oauth::OAuth>,
    /// A PEM file of the certificate authority that signed the server's
    /// certificate, when it is not one the system trusts (a school's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// How the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// Plain text: refused except to a server on this machine (127.0.0.1, ::1).
    None,
    /// Plain, then upgraded with STARTTLS before signing in (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// How aup signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// Not at all: a relay that knows this machine.
    #[default]
    None,
    /// A username and password (an app password for Microsoft 365 or Google).
    Password,
    /// OAuth 2.0 (`XOAUTH2`), with tokens from `oauth`: what Microsoft 365
    /// and Google Workspace ask for now.
    Xoauth2,
}

/// When and how fast mail goes out.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Sending {
    /// Messages a minute at most (Exchange Online allows 30).
    pub per_minute: u32,
    /// Messages a day at most (UK time), across every school of this file.
    pub per_day: u32,
    /// The days mail may go out: `mon` … `sun`.
    pub days: Vec<Weekday>,
    /// The first minute mail may go out, UK time, `HH:MM`.
    pub from: String,
    /// The minute it stops, UK time, `HH:MM` (`24:00` for the day's end).
    pub until: String,
}

impl Default for Sending {
    fn default() -> Self {
        Self {
            per_minute: 30,
            per_day: 1000,
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            from: "08:00".into(),
            until: "17:00".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    fn of(day: time::Weekday) -> Self {
        match day {
            time::Weekday::Monday => Self::Mon,
            time::Weekday::Tuesday => Self::Tue,
            time::Weekday::Wednesday => Self::Wed,
            time::Weekday::Thursday => Self::Thu,
            time::Weekday::Friday => Self::Fri,
            time::Weekday::Saturday => Self::Sat,
            time::Weekday::Sunday => Self::Sun,
        }
    }
}

/// Minutes since midnight of `HH:MM` (up to `24:00`).
fn minutes(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0)) && text.len() == 5).then_some(h * 60 + m)
}

impl Sending {
    /// Whether `at` (UK local time) is inside the sending window.
    pub fn open_at(&self, at: time::PrimitiveDateTime) -> bool {
        let now = u16::from(at.hour()) * 60 + u16::from(at.minute());
        let (Some(from), Some(until)) = (minutes(&self.from), minutes(&self.until)) else {
            return false;
        };
        self.days.contains(&Weekday::of(at.weekday())) && from <= now && now < until
    }

    /// What to say when now is outside the window (`file`: the settings
    /// file, named so the reader knows where to change it); `None` inside it.
    pub fn closed_now(&self, file: &Path) -> Option<String> {
        let now = crate::clock::uk_now();
        if self.open_at(now) {
            return None;
        }
        let days: Vec<String> = self
            .days
            .iter()
            .map(|d| format!("{d:?}").to_lowercase())
            .collect();
        Some(format!(
            "it is {} UK time, outside the sending window ({} {}–{}, UK time; `sending:` in {})",
            now.time()
                .format(&time::macros::format_description!("[hour]:[minute]"))
                .unwrap_or_default(),
            days.join(","),
            self.from,
            self.until,
            file.display()
        ))
    }
}

/// What was wrong with the mail settings, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{file}: cannot read it: {error}")]
    Read {
        file: PathBuf,
        error: std::io::Error,
    },
    #[error("{file}: {error}")]
    Yaml {
        file: PathBuf,
        error: serde_yaml::Error,
    },
    #[error("{file}: {key}: {problem}")]
    Invalid {
        file: PathBuf,
        key: &'static str,
        problem: String,
    },
}

impl MailSettings {
    /// Reads and checks `file`.
    pub fn load(file: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(file).map_err(|error| SettingsError::Read {
            file: file.to_owned(),
            error,
        })?;
        let settings: Self = serde_yaml::from_str(&text).map_err(|error| SettingsError::Yaml {
            file: file.to_owned(),
            error,
        })?;
        settings
            .check()
            .map_err(|(key, problem)| SettingsError::Invalid {
                file: file.to_owned(),
                key,
                problem,
            })?;
        // Files named in the settings are found beside them.
        let mut settings = settings;
        let beside = |path: &mut Option<PathBuf>| {
            if let (Some(path), Some(folder)) = (path.as_mut(), file.parent())
                && path.is_relative()
            {
                *path = folder.join(&*path);
            }
        };
        beside(&mut settings.smtp.password_file);
        beside(&mut settings.smtp.ca_file);
        if let Some(oauth) = settings.smtp.oauth.as_mut() {
            oauth.files_mut().into_iter().for_each(beside);
        }
        if let Some(imap) = settings.imap.as_mut() {
            beside(&mut imap.password_file);
            beside(&mut imap.ca_file);
            if let Some(oauth) = imap.oauth.as_mut() {
                oauth.files_mut().into_iter().for_each(beside);
            }
        }
        Ok(settings)
    }

    /// What a person must fix: the key and the problem.
    fn check(&self) -> Result<(), (&'static str, String)> {
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err((
                "from",
                format!(
                    "`{}` is not an address: write it like Pakeman Primary School <office@pakeman.example>",
                    self.from
                ),
            ));
        }
        if let Some(reply_to) = &self.reply_to
            && reply_to.parse::<lettre::message::Mailbox>().is_err()
        {
            return Err(("reply_to", format!("`{reply_to}` is not an address")));
        }
        if let Some(url) = &self.public_url {
            crate::online::mail_merge::check_public_url(url).map_err(|e| ("public_url", e))?;
        }
        let smtp = &self.smtp;
        if smtp.host.trim().is_empty() {
            return Err(("smtp.host", "give the server's name".into()));
        }
        if smtp.tls == Tls::None && !is_loopback(&smtp.host) {
            return Err((
                "smtp.tls",
                format!(
                    "`none` would send passwords and people's links unencrypted to {}: use starttls (port 587) or implicit (port 465); `none` is only for a server on this machine",
                    smtp.host
                ),
            ));
        }
        if smtp.auth == Auth::Password {
            if smtp.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
                return Err(("smtp.username", "auth: password needs a username".into()));
            }
            if smtp.password_file.is_none() == smtp.password_env.is_none() {
                return Err((
                    "smtp.password_file",
                    "auth: password needs exactly one of password_file and password_env (never the password itself)".into(),
                ));
            }
        }
        if smtp.auth == Auth::Xoauth2 {
            if smtp.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
                return Err((
                    "smtp.username",
                    "auth: xoauth2 needs the mailbox's address as username".into(),
                ));
            }
            match &smtp.oauth {
                Some(oauth) => oauth.check()?,
                None => {
                    return Err((
                        "smtp.oauth",
                        "auth: xoauth2 needs oauth: {token_url, grant, …} (the README's Email section has Microsoft 365's and Google's)".into(),
                    ));
                }
            }
        }
        if let Some(imap) = &self.imap {
            if imap.tls == Tls::None && !is_loopback(&imap.host) {
                return Err((
                    "imap.tls",
                    format!(
                        "`none` would send the mailbox's password unencrypted to {}: use implicit (port 993)",
                        imap.host
                    ),
                ));
            }
            match imap.auth {
                Auth::None => {
                    return Err((
                        "imap.auth",
                        "an IMAP mailbox needs password or xoauth2".into(),
                    ));
                }
                Auth::Password if imap.password_file.is_none() == imap.password_env.is_none() => {
                    return Err((
                        "imap.password_file",
                        "auth: password needs exactly one of password_file and password_env".into(),
                    ));
                }
                Auth::Xoauth2 => match &imap.oauth {
                    Some(oauth) => oauth.check()?,
                    None => return Err(("imap.oauth", "auth: xoauth2 needs oauth".into())),
                },
                Auth::Password => {}
            }
        }
        let sending = &self.sending;
        if sending.per_minute == 0 || sending.per_day == 0 {
            return Err(("sending.per_minute", "caps must be at least 1".into()));
        }
        for (key, value) in [
            ("sending.from", &sending.from),
            ("sending.until", &sending.until),
        ] {
            if minutes(value).is_none() {
                return Err((key, format!("`{value}` is not a time like 08:00")));
            }
        }
        if minutes(&sending.from) >= minutes(&sending.until) {
            return Err((
                "sending.until",
                "the window must end after it starts".into(),
            ));
        }
        if sending.days.is_empty() {
            return Err(("sending.days", "give at least one day".into()));
        }
        Ok(())
    }
}

impl Smtp {
    /// The password, from its file or the environment, with its source in
    /// any error. The file must be readable by its owner only.
    pub fn password(&self) -> Result<String, String> {
        password_from(&self.password_file, &self.password_env)
    }
}

impl Imap {
    /// The mailbox's password, as [`Smtp::password`].
    pub fn password(&self) -> Result<String, String> {
        password_from(&self.password_file, &self.password_env)
    }
}

/// A password from its file or the environment.
fn password_from(file: &Option<PathBuf>, env: &Option<String>) -> Result<String, String> {
    if let Some(file) = file {
        return secret_file(file);
    }
    if let Some(name) = env {
        return std::env::var(name)
            .map(|v| v.trim_end_matches(['\r', '\n']).to_owned())
            .map_err(|_| format!("the environment variable {name} is not set"));
    }
    Err("no password_file or password_env is given".into())
}

/// A secret from a file the service's user alone may read.
pub fn secret_file(file: &Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "{}: others may read it (mode {:o}): run chmod 600 on it, or use a systemd credential",
            file.display(),
            meta.permissions().mode() & 0o777
        ));
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let secret = text.trim_end_matches(['\r', '\n']).to_owned();
    match secret.is_empty() {
        true => Err(format!("{}: it is empty", file.display())),
        false => Ok(secret),
    }
}

/// Whether `host` is this machine: the only place plain text may go.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(yaml: &str) -> Result<MailSettings, String> {
        let settings: MailSettings = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        settings
            .check()
            .map(|()| settings)
            .map_err(|(key, problem)| format!("{key}: {problem}"))
    }

    const MICROSOFT: &str = "from: Pakeman Primary School <office@pakeman.example>
smtp: {host: smtp.office365.com, port: 587, tls: starttls, auth: password, username: office@pakeman.example, password_file: /run/credentials/aup-serve/smtp}
";

    #[test]
    fn a_microsoft_365_mailbox_with_an_app_password_is_accepted_with_default_caps() {
        let read = settings(MICROSOFT).unwrap();
        assert_eq!(read.sending.per_minute, 30);
        assert_eq!(read.smtp.tls, Tls::Starttls);
    }

    #[test]
    fn plain_text_goes_only_to_this_machine_and_passwords_never_in_the_file() {
        let plain = MICROSOFT.replace("tls: starttls", "tls: none");
        assert!(
            settings(&plain)
                .unwrap_err()
                .contains("smtp.tls: `none` would send")
        );
        let local = plain.replace("smtp.office365.com", "127.0.0.1");
        assert!(settings(&local).is_ok());
        let inline = MICROSOFT.replace(
            "password_file: /run/credentials/aup-serve/smtp",
            "password: hunter2",
        );
        assert!(
            settings(&inline)
                .unwrap_err()
                .contains("unknown field `password`")
        );
        let both = MICROSOFT.replace("}\n", ", password_env: X}\n");
        assert!(settings(&both).unwrap_err().contains("exactly one of"));
    }

    #[test]
    fn the_sending_window_is_school_days_eight_to_five_uk_time() {
        let window = Sending::default();
        let at = |day: u8, h: u8, m: u8| {
            time::PrimitiveDateTime::new(
                time::Date::from_calendar_date(2026, time::Month::December, day).unwrap(),
                time::Time::from_hms(h, m, 0).unwrap(),
            )
        };
        // 3 December 2026 is a Thursday, the 5th a Saturday.
        assert!(window.open_at(at(3, 8, 0)));
        assert!(window.open_at(at(3, 16, 59)));
        assert!(!window.open_at(at(3, 17, 0)));
        assert!(!window.open_at(at(3, 7, 59)));
        assert!(!window.open_at(at(5, 10, 0)));
        let bad = MICROSOFT.to_owned() + "sending: {from: '8am'}\n";
        assert!(
            settings(&bad)
                .unwrap_err()
                .contains("sending.from: `8am` is not a time")
        );
    }
}
