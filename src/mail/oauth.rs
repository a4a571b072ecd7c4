//! OAuth 2.0 access tokens for XOAUTH2 (SMTP and IMAP): Microsoft 365 with
//! the client-credentials grant (an app registration given `SMTP.SendAsApp`
//! and `IMAP.AccessAsApp`), a refresh token (Google Workspace, or a
//! delegated Microsoft app), or a Google service account with domain-wide
//! delegation (`service_account`). A token is fetched from the token
//! endpoint with ureq and used until five minutes before it expires. A
//! refresh token the endpoint rotates is written back at once, atomically
//! and readable by its owner only: an old one is refused after rotation, and
//! losing the new one would lock the school out (paperless-ngx's users met
//! this after 90 days).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::service_account;

/// How aup gets its access tokens.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth {
    /// The token endpoint: Microsoft 365
    /// `https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token`,
    /// Google `https://oauth2.googleapis.com/token`.
    pub token_url: String,
    pub grant: Grant,
    /// The app registration's (client's) id; not for `service_account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// A file holding the client secret, readable by the service's user only
    /// (a relative path is beside the settings file). Or `client_secret_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// The environment variable holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// The scope asked for: Microsoft 365 with client credentials
    /// `https://outlook.office365.com/.default`; Google `https://mail.google.com/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// For `grant: refresh_token`: the file holding the refresh token. aup
    /// rewrites it whenever the endpoint gives a new one, so the service's user
    /// must be able to write its folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_file: Option<PathBuf>,
    /// For `grant: service_account`: the service account's JSON key file as
    /// Google Cloud gives it, readable by the service's user only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_file: Option<PathBuf>,
    /// For `grant: service_account`: the mailbox to act as (domain-wide
    /// delegation allows it), like `office@school.example`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// The app's own identity (Microsoft 365 `SMTP.SendAsApp`).
    ClientCredentials,
    /// A refresh token a person consented with once (Google Workspace).
    RefreshToken,
    /// A Google service account with domain-wide delegation: an assertion
    /// signed with its key (RFC 7523), nothing to refresh.
    ServiceAccount,
}

/// How long before expiry a token is replaced.
pub const MARGIN: Duration = Duration::from_secs(5 * 60);

impl OAuth {
    /// What a person must fix: the key and the problem.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let url = &self.token_url;
        let loopback = url
            .strip_prefix("http://")
            .and_then(|rest| rest.split(['/', ':']).next())
            .is_some_and(super::settings::is_loopback);
        if !(url.starts_with("https://") || loopback) {
            return Err((
                "oauth.token_url",
                format!("`{url}` must be an https:// address (http only to this machine)"),
            ));
        }
        if self.grant == Grant::ServiceAccount {
            return self.check_service_account();
        }
        if self
            .client_id
            .as_deref()
            .is_none_or(|id| id.trim().is_empty())
        {
            return Err((
                "oauth.client_id",
                "give the app registration's (client's) id".into(),
            ));
        }
        if self.client_secret_file.is_none() == self.client_secret_env.is_none() {
            return Err((
                "oauth.client_secret_file",
                "give exactly one of client_secret_file and client_secret_env (never the secret itself)".into(),
            ));
        }
        if self.grant == Grant::RefreshToken && self.refresh_token_file.is_none() {
            return Err((
                "oauth.refresh_token_file",
                "grant: refresh_token needs the file that holds the refresh token".into(),
            ));
        }
        Ok(())
    }

    fn check_service_account(&self) -> Result<(), (&'static str, String)> {
        let needs = |key, what: &str| Err((key, format!("grant: service_account needs {what}")));
        if self.service_account_file.is_none() {
            return needs(
                "oauth.service_account_file",
                "the service account's JSON key file",
            );
        }
        if !self.subject.as_deref().is_some_and(|s| s.contains('@')) {
            return needs(
                "oauth.subject",
                "the mailbox to act as, like office@school.example",
            );
        }
        if self.scope.is_none() {
            return needs("oauth.scope", "scope: 'https://mail.google.com/'");
        }
        if self.client_secret_file.is_some() || self.client_secret_env.is_some() {
            return Err((
                "oauth.client_secret_file",
                "a service account signs with its key file; it has no client secret".into(),
            ));
        }
        Ok(())
    }

    /// The files the settings name, so a relative path is read beside them.
    pub fn files_mut(&mut self) -> [&mut Option<PathBuf>; 3] {
        [
            &mut self.client_secret_file,
            &mut self.refresh_token_file,
            &mut self.service_account_file,
        ]
    }

    fn client_secret(&self) -> Result<String, String> {
        if let Some(file) = &self.client_secret_file {
            return super::settings::secret_file(file);
        }
        let name = self.client_secret_env.as_deref().unwrap_or_default();
        std::env::var(name)
            .map_err(|_| format!("the environment variable {name} (client_secret_env) is not set"))
    }
}

/// What a token endpoint answers.
#[derive(Deserialize)]
struct Answer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Access tokens, fetched when needed and kept until near their expiry.
pub struct TokenSource {
    oauth: OAuth,
    held: Option<(String, Instant)>,
}

impl TokenSource {
    pub fn new(oauth: OAuth) -> Self {
        Self { oauth, held: None }
    }

    /// A token good for at least [`MARGIN`], and whether it is new.
    pub fn token(&mut self) -> Result<(String, bool), String> {
        if let Some((token, until)) = &self.held
            && until.saturating_duration_since(Instant::now()) > MARGIN
        {
            return Ok((token.clone(), false));
        }
        let (token, lifetime) = self.fetch()?;
        self.held = Some((token.clone(), Instant::now() + lifetime));
        Ok((token, true))
    }

    fn fetch(&self) -> Result<(String, Duration), String> {
        let oauth = &self.oauth;
        let refresh_file = oauth.refresh_token_file.as_ref();
        let form: Vec<(&str, String)> = match oauth.grant {
            // The scope and the mailbox are inside the signed assertion.
            Grant::ServiceAccount => {
                let asked = service_account::Asked {
                    key_file: oauth
                        .service_account_file
                        .as_deref()
                        .ok_or("no service_account_file")?,
                    subject: oauth.subject.as_deref().unwrap_or_default(),
                    scope: oauth.scope.as_deref().unwrap_or_default(),
                    audience: &oauth.token_url,
                };
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                vec![
                    ("grant_type", service_account::GRANT_TYPE.into()),
                    ("assertion", service_account::assertion(&asked, now)?),
                ]
            }
            Grant::ClientCredentials | Grant::RefreshToken => {
                let mut form = vec![
                    ("client_id", oauth.client_id.clone().unwrap_or_default()),
                    ("client_secret", oauth.client_secret()?),
                ];
                if oauth.grant == Grant::RefreshToken {
                    let file = refresh_file.ok_or("no refresh_token_file")?;
                    form.push(("grant_type", "refresh_token".into()));
                    form.push(("refresh_token", super::settings::secret_file(file)?));
                } else {
                    form.push(("grant_type", "client_credentials".into()));
                }
                form.extend(oauth.scope.clone().map(|scope| ("scope", scope)));
                form
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let from = &oauth.token_url;
        let mut response = agent
            .post(from)
            .send_form(form.iter().map(|(k, v)| (*k, v.as_str())))
            .map_err(|e| format!("the token endpoint {from}: {e}"))?;
        let status = response.status();
        let answer: Answer = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_json()
            .map_err(|e| {
                format!("the token endpoint {from} answered {status} with no token: {e}")
            })?;
        let Some(token) = answer.access_token.filter(|_| status.is_success()) else {
            return Err(format!(
                "the token endpoint {from} refused ({status}): {} {}",
                answer.error.unwrap_or_default(),
                answer.error_description.unwrap_or_default()
            )
            .trim_end()
            .to_owned());
        };
        if let (Some(new), Some(file)) = (answer.refresh_token, refresh_file) {
            // The old one may already be void: keep the new one before anything else.
            crate::durable::store_secret_durably(file, new.as_bytes()).map_err(|e| {
                format!(
                    "the token endpoint gave a new refresh token, which could not be saved to {}: {e}. Sign in again to get one",
                    file.display()
                )
            })?;
        }
        Ok((
            token,
            Duration::from_secs(answer.expires_in.unwrap_or(3600)),
        ))
    }
}
