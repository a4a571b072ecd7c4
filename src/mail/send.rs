//! Sending through the school's SMTP server with lettre: signed in as the
//! settings say, encrypted unless the server is this machine, one message at
//! a time under the per-minute cap. A server that says "later" (4xx, or no
//! answer) is tried again after a pause; one that says no (5xx) is not, and
//! its words are kept for the person's page.

use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls as LettreTls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};

use super::oauth::TokenSource;
use super::settings::{Auth, MailSettings, Tls};

/// Waits before the second and third tries of a message the server put off.
pub const RETRY_AFTER: [Duration; 2] = [Duration::from_secs(2), Duration::from_secs(10)];

/// What the server made of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    Sent,
    /// Refused for good (5xx): the server's words.
    Refused(String),
    /// Put off every time, or the server could not be reached.
    Failed(String),
}

impl Sent {
    /// The mail log's word for it.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Refused(_) => "refused",
            Self::Failed(_) => "failed",
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Self::Sent => "",
            Self::Refused(words) | Self::Failed(words) => words,
        }
    }
}

/// A connection to the school's SMTP server, and the pace it is used at.
pub struct Mailer {
    settings: MailSettings,
    transport: SmtpTransport,
    /// For `auth: xoauth2`: the tokens, and the transport is made again with
    /// each new one.
    tokens: Option<TokenSource>,
    gap: Duration,
    last: Option<Instant>,
}

impl Mailer {
    /// The transport the settings describe; nothing is sent or connected yet
    /// (an OAuth token is fetched, though, so a refusal shows at once).
    pub fn new(settings: &MailSettings) -> Result<Self, String> {
        let mut tokens = settings.smtp.oauth.clone().map(TokenSource::new);
        let secret = match (settings.smtp.auth, tokens.as_mut()) {
            (Auth::Xoauth2, Some(tokens)) => Some(tokens.token()?.0),
            (Auth::Password, _) => Some(
                settings
                    .smtp
                    .password()
                    .map_err(|e| format!("smtp password: {e}"))?,
            ),
            _ => None,
        };
        Ok(Self {
            transport: transport(settings, secret)?,
            settings: settings.clone(),
            tokens: tokens.filter(|_| settings.smtp.auth == Auth::Xoauth2),
            gap: Duration::from_secs(60) / settings.sending.per_minute.max(1),
            last: None,
        })
    }

    /// A fresh token when the one in use is near its expiry.
    fn refresh(&mut self) -> Result<(), String> {
        let Some(tokens) = self.tokens.as_mut() else {
            return Ok(());
        };
        let (token, new) = tokens.token()?;
        if new {
            self.transport = transport(&self.settings, Some(token))?;
        }
        Ok(())
    }

    /// Signs in and says hello, for `aup mail test`: the server's words when
    /// it fails.
    pub fn test(&self) -> Result<(), String> {
        match self.transport.test_connection() {
            Ok(true) => Ok(()),
            Ok(false) => Err("the server did not answer NOOP".into()),
            Err(error) => Err(error.to_string()),
        }
    }

    /// Sends `message`, waiting first for the per-minute cap, and trying again
    /// when the server puts it off.
    pub fn send(&mut self, message: &Message) -> Sent {
        let mut waits = RETRY_AFTER.iter();
        loop {
            if let Err(problem) = self.refresh() {
                return Sent::Failed(problem);
            }
            if let Some(last) = self.last {
                let since = last.elapsed();
                if since < self.gap {
                    std::thread::sleep(self.gap - since);
                }
            }
            self.last = Some(Instant::now());
            let error = match self.transport.send(message) {
                Ok(_) => return Sent::Sent,
                Err(error) => error,
            };
            let words = error.to_string();
            if error.is_permanent() {
                return Sent::Refused(words);
            }
            match waits.next() {
                Some(wait) => std::thread::sleep(*wait),
                None => return Sent::Failed(words),
            }
        }
    }
}

/// The SMTP transport of `settings`, signing in with `secret` (a password or
/// an access token, as `smtp.auth` says).
fn transport(settings: &MailSettings, secret: Option<String>) -> Result<SmtpTransport, String> {
    let smtp = &settings.smtp;
    let tls_parameters = || {
        let mut parameters = TlsParameters::builder(smtp.host.clone());
        if let Some(ca) = &smtp.ca_file {
            let pem =
                std::fs::read(ca).map_err(|e| format!("smtp.ca_file {}: {e}", ca.display()))?;
            let certificate = Certificate::from_pem(&pem)
                .map_err(|e| format!("smtp.ca_file {}: {e}", ca.display()))?;
            parameters = parameters.add_root_certificate(certificate);
        }
        parameters.build_rustls().map_err(|e| e.to_string())
    };
    let tls = match smtp.tls {
        Tls::None => LettreTls::None,
        Tls::Starttls => LettreTls::Required(tls_parameters()?),
        Tls::Implicit => LettreTls::Wrapper(tls_parameters()?),
    };
    let domain = settings
        .from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').trim().to_owned())
        .unwrap_or_else(|| "localhost".into());
    let mut builder = SmtpTransport::builder_dangerous(smtp.host.clone())
        .port(smtp.port)
        .tls(tls)
        .hello_name(ClientId::Domain(domain))
        .timeout(Some(Duration::from_secs(60)));
    let mechanisms = match smtp.auth {
        Auth::None => None,
        Auth::Password => Some(vec![Mechanism::Plain, Mechanism::Login]),
        Auth::Xoauth2 => Some(vec![Mechanism::Xoauth2]),
    };
    if let (Some(mechanisms), Some(secret)) = (mechanisms, secret) {
        let username = smtp.username.clone().unwrap_or_default();
        builder = builder
            .credentials(Credentials::new(username, secret))
            .authentication(mechanisms);
    }
    Ok(builder.build())
}
