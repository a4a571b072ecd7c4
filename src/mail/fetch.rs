//! Taking returns in from the office's mailbox (`aup mail fetch`): every
//! message in the IMAP folder is read once; its PDF and picture attachments
//! are written durably into aup's inbox (`inbox/mail/`), where ingest judges
//! and files them like any scan; the message is recorded in the index, then
//! moved to the filed folder (or, with nothing aup can file, to the not-filed
//! folder). Bounded everywhere: message size, attachments per message,
//! nesting of forwarded messages; names from the message never become paths.
//!
//! IMAP with async-imap on tokio, TLS with tokio-rustls (the system's
//! authorities, or the school's own), MIME with mail-parser.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_imap::{Authenticator, Client, Session};
use mail_parser::{Message, MessageParser, MimeHeaders};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::oauth::TokenSource;
use super::settings::{Auth, Imap, MailSettings, Tls};
use crate::archive::{Archive, TakenMail};

/// The largest message read (bigger ones are moved aside, unread).
pub const MAX_MESSAGE_BYTES: u32 = 40 * 1024 * 1024;
/// Attachments taken from one message at most.
pub const MAX_ATTACHMENTS: usize = 20;
/// Forwarded messages inside messages, followed this deep.
pub const MAX_NESTING: usize = 3;
/// Messages read in one fetch; the rest wait for the next.
pub const MAX_MESSAGES: usize = 500;
/// Pictures smaller than this are a mail signature's logo, not a photo of a
/// form (a phone photo of a page is hundreds of kilobytes).
pub const MIN_PICTURE_BYTES: usize = 30 * 1024;

/// What became of one message.
#[derive(Debug, Clone, Serialize)]
pub struct Fetched {
    pub message_id: String,
    pub from: String,
    /// `filed` (attachments placed in the inbox), `not_filed` (nothing aup
    /// can file: moved to the not-filed folder) or `already_taken` (taken
    /// before: only moved).
    pub outcome: String,
    /// The inbox files made, relative to the inbox.
    pub files: Vec<String>,
    pub detail: String,
}

/// What a fetch is for: taking the messages in, or only signing in and
/// counting them (`aup mail test`).
#[derive(Clone, Copy)]
pub enum Mode<'a> {
    Take {
        archive: &'a Archive,
        inbox: &'a Path,
    },
    Probe,
}

/// Reads the folder once: how many messages it held, and what became of each
/// one taken.
pub async fn fetch(settings: &MailSettings, mode: Mode<'_>) -> Result<(u32, Vec<Fetched>), String> {
    let imap = settings
        .imap
        .as_ref()
        .ok_or("the mail settings have no imap: section, so there is no mailbox to read")?;
    let address = format!("{}:{}", imap.host, imap.port);
    let tcp = TcpStream::connect(&address)
        .await
        .map_err(|e| format!("imap: cannot reach {address}: {e}"))?;
    match imap.tls {
        Tls::None => work(Client::new(tcp), imap, mode).await,
        Tls::Implicit => {
            let connector = TlsConnector::from(Arc::new(tls_config(imap)?));
            let name = rustls::pki_types::ServerName::try_from(imap.host.clone())
                .map_err(|e| format!("imap.host {}: {e}", imap.host))?;
            let tls = connector
                .connect(name, tcp)
                .await
                .map_err(|e| format!("imap: TLS with {address}: {e}"))?;
            work(Client::new(tls), imap, mode).await
        }
        Tls::Starttls => {
            Err("imap: use tls: implicit (port 993); STARTTLS is not offered for IMAP".into())
        }
    }
}

fn tls_config(imap: &Imap) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for certificate in native.certs {
        let _ = roots.add(certificate);
    }
    if let Some(ca) = &imap.ca_file {
        let pem = std::fs::read(ca).map_err(|e| format!("imap.ca_file {}: {e}", ca.display()))?;
        for certificate in rustls_pemfile_certs(&pem) {
            roots
                .add(certificate)
                .map_err(|e| format!("imap.ca_file {}: {e}", ca.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The certificates of a PEM file.
fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}

struct XOAuth2 {
    user: String,
    token: String,
}

impl Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

async fn work<T>(
    client: Client<T>,
    imap: &Imap,
    mode: Mode<'_>,
) -> Result<(u32, Vec<Fetched>), String>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    // The server's greeting first: a command sent before it is read takes
    // the greeting for its answer (AUTHENTICATE then waits for ever).
    let mut client = client;
    match client.read_response().await {
        Ok(Some(_)) => {}
        Err(e) => return Err(format!("imap: {}: {e}", imap.host)),
        Ok(None) => {
            return Err(format!(
                "imap: {} closed the connection before greeting",
                imap.host
            ));
        }
    }
    let mut session = match imap.auth {
        Auth::Xoauth2 => {
            let oauth = imap.oauth.clone().ok_or("imap.oauth is missing")?;
            let token = TokenSource::new(oauth).token()?.0;
            let auth = XOAuth2 {
                user: imap.username.clone(),
                token,
            };
            client
                .authenticate("XOAUTH2", auth)
                .await
                .map_err(|(e, _)| format!("imap: {} refused the token: {e}", imap.host))?
        }
        _ => client
            .login(&imap.username, imap.password()?)
            .await
            .map_err(|(e, _)| format!("imap: {} refused {}: {e}", imap.host, imap.username))?,
    };
    let taken = take_all(&mut session, imap, mode).await;
    let _ = session.logout().await;
    taken
}

async fn take_all<T>(
    session: &mut Session<T>,
    imap: &Imap,
    mode: Mode<'_>,
) -> Result<(u32, Vec<Fetched>), String>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    use futures_util::TryStreamExt;
    let imap_error = |e: async_imap::error::Error| format!("imap: {e}");
    // Folders are written with `/`; the server may separate with `.`
    // (Dovecot's Maildir++) or anything else it says.
    let delimiter: String = {
        let names: Vec<_> = session
            .list(Some(""), Some("*"))
            .await
            .map_err(imap_error)?
            .try_collect()
            .await
            .map_err(imap_error)?;
        names
            .iter()
            .find_map(|n| n.delimiter())
            .unwrap_or("/")
            .to_owned()
    };
    let imap = &Imap {
        filed_folder: imap.filed_folder.replace('/', &delimiter),
        not_filed_folder: imap.not_filed_folder.replace('/', &delimiter),
        folder: imap.folder.replace('/', &delimiter),
        ..imap.clone()
    };
    for folder in [&imap.filed_folder, &imap.not_filed_folder] {
        // Made once; "already exists" afterwards is fine.
        let _ = session.create(folder).await;
    }
    let mailbox = session.select(&imap.folder).await.map_err(imap_error)?;
    let Mode::Take { archive, inbox } = mode else {
        return Ok((mailbox.exists, Vec::new()));
    };
    let uidvalidity = mailbox.uid_validity.unwrap_or(0);
    let mut uids: Vec<u32> = session
        .uid_search("ALL")
        .await
        .map_err(imap_error)?
        .into_iter()
        .collect();
    uids.sort_unstable();
    uids.truncate(MAX_MESSAGES);
    let mut all = Vec::new();
    for uid in uids {
        let heads: Vec<_> = session
            .uid_fetch(uid.to_string(), "(UID RFC822.SIZE BODY.PEEK[HEADER])")
            .await
            .map_err(imap_error)?
            .try_collect()
            .await
            .map_err(imap_error)?;
        let Some(head) = heads.iter().find(|f| f.uid == Some(uid)) else {
            continue;
        };
        let size = head.size.unwrap_or(0);
        let header = MessageParser::default().parse_headers(head.header().unwrap_or_default());
        let message_id = header
            .as_ref()
            .and_then(|m| m.message_id())
            .unwrap_or_default()
            .to_owned();
        let from = header
            .as_ref()
            .and_then(|m| m.from())
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned();
        let automatic = header.as_ref().is_none_or(sent_by_a_program);
        if let Some(before) = archive
            .taken_mail(uidvalidity, uid, &message_id)
            .map_err(|e| e.to_string())?
        {
            let folder = folder_for(imap, &before.outcome);
            move_message(session, uid, folder).await?;
            all.push(Fetched {
                message_id,
                from,
                outcome: "already_taken".into(),
                files: Vec::new(),
                detail: format!("taken before ({}); moved to {folder}", before.outcome),
            });
            continue;
        }
        let (files, attachments, detail) = if size > MAX_MESSAGE_BYTES {
            (
                Vec::new(),
                Vec::new(),
                format!(
                    "the message is {} MB; aup reads messages of at most {} MB: send the PDF or photo on its own",
                    size / (1024 * 1024),
                    MAX_MESSAGE_BYTES / (1024 * 1024)
                ),
            )
        } else {
            let bodies: Vec<_> = session
                .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                .await
                .map_err(imap_error)?
                .try_collect()
                .await
                .map_err(imap_error)?;
            let raw = bodies
                .iter()
                .find(|f| f.uid == Some(uid))
                .and_then(|f| f.body())
                .unwrap_or_default();
            match bounce(raw) {
                // A delivery report about one of aup's messages: the person's
                // page and status say the address bounced.
                Some((about, words)) => {
                    let matched = archive
                        .mail_bounced(&about, &words)
                        .map_err(|e| e.to_string())?;
                    let said = match matched {
                        true => format!("delivery report: {about} bounced: {words}"),
                        false => format!(
                            "delivery report about a message aup did not send ({about}): {words}"
                        ),
                    };
                    (Vec::new(), Vec::new(), said)
                }
                None => place(raw, uidvalidity, uid, inbox)?,
            }
        };
        let outcome = match (files.is_empty(), detail.starts_with("delivery report")) {
            (_, true) => "bounce",
            (true, false) => "not_filed",
            (false, false) => "filed",
        };
        archive
            .take_mail(&TakenMail {
                uidvalidity,
                uid,
                message_id: message_id.clone(),
                sender: from.clone(),
                at: crate::clock::now()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                outcome: outcome.into(),
                detail: detail.clone(),
                attachments,
                automatic,
            })
            .map_err(|e| e.to_string())?;
        move_message(session, uid, folder_for(imap, outcome)).await?;
        all.push(Fetched {
            message_id,
            from,
            outcome: outcome.into(),
            files,
            detail,
        });
    }
    Ok((mailbox.exists, all))
}

fn folder_for<'a>(imap: &'a Imap, outcome: &str) -> &'a str {
    match outcome {
        "filed" | "bounce" => &imap.filed_folder,
        _ => &imap.not_filed_folder,
    }
}

async fn move_message<T>(session: &mut Session<T>, uid: u32, folder: &str) -> Result<(), String>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    session
        .uid_mv(uid.to_string(), folder)
        .await
        .map_err(|e| format!("imap: moving message {uid} to {folder}: {e}"))
}

/// A delivery status notification (RFC 3464): the Message-ID of the message
/// it reports on and what the server said, when it reports a failure.
fn bounce(raw: &[u8]) -> Option<(String, String)> {
    let message = MessageParser::default().parse(raw)?;
    let report = message.content_type().is_some_and(|t| {
        t.c_type.eq_ignore_ascii_case("multipart")
            && t.c_subtype
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    if !report {
        return None;
    }
    let mut about = None;
    let mut fields = Vec::new();
    for part in message.parts.iter() {
        let Some(kind) = part.content_type() else {
            continue;
        };
        let subtype = kind
            .c_subtype
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match (kind.c_type.to_ascii_lowercase().as_str(), subtype.as_str()) {
            ("message", "rfc822") => {
                about = about.or_else(|| {
                    part.message()
                        .and_then(|m| m.message_id())
                        .map(str::to_owned)
                });
            }
            ("text", "rfc822-headers") | ("message", "rfc822-headers") => {
                about = about.or_else(|| {
                    MessageParser::default()
                        .parse_headers(part.contents())
                        .and_then(|m| m.message_id().map(str::to_owned))
                });
            }
            ("message", "delivery-status") | ("message", "global-delivery-status") => {
                fields.extend(
                    String::from_utf8_lossy(part.contents())
                        .lines()
                        .map(str::to_owned),
                );
            }
            _ => {}
        }
    }
    let field = |name: &str| {
        fields.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    if field("Action").is_some_and(|a| !a.eq_ignore_ascii_case("failed")) {
        return None;
    }
    let words = field("Diagnostic-Code")
        .map(|d| {
            d.split_once(';')
                .map_or(d.clone(), |(_, rest)| rest.trim().to_owned())
        })
        .or_else(|| field("Status"))
        .unwrap_or_else(|| "the message could not be delivered".into());
    let about = about?;
    Some((
        format!("<{}>", about.trim_matches(['<', '>'])),
        words.chars().take(300).collect(),
    ))
}

/// Whether a message was written by a program (RFC 3834 `Auto-Submitted`, a
/// delivery report, a list, a vacation responder, a no-reply sender): aup
/// never answers one, so no two programs answer each other for ever.
fn sent_by_a_program(header: &Message<'_>) -> bool {
    let raw = |name: &str| {
        header
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let auto_submitted = raw("Auto-Submitted").is_some_and(|v| v != "no");
    let bulk = raw("Precedence")
        .is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply"));
    let report = raw("Content-Type").is_some_and(|v| v.starts_with("multipart/report"));
    let responder = [
        "X-Autoreply",
        "X-Autorespond",
        "List-Id",
        "X-Auto-Response-Suppress",
    ]
    .iter()
    .any(|name| raw(name).is_some());
    let sender = header
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let machine = [
        "mailer-daemon",
        "postmaster",
        "noreply",
        "no-reply",
        "donotreply",
    ]
    .iter()
    .any(|m| sender.starts_with(m));
    auto_submitted || bulk || report || responder || machine || sender.is_empty()
}

/// Writes the message's attachments aup can file into the inbox, durably;
/// the files' names (relative to the inbox), their SHA-256, and what was left
/// and why.
fn place(
    raw: &[u8],
    uidvalidity: u32,
    uid: u32,
    inbox: &Path,
) -> Result<(Vec<String>, Vec<String>, String), String> {
    use sha2::Digest;
    let Some(message) = MessageParser::default().parse(raw) else {
        return Ok((
            Vec::new(),
            Vec::new(),
            "the message could not be read as e-mail".into(),
        ));
    };
    let mut found = Vec::new();
    let mut notes = Vec::new();
    collect(&message, 0, &mut found, &mut notes);
    if found.len() > MAX_ATTACHMENTS {
        notes.push(format!(
            "{} attachments: aup takes the first {MAX_ATTACHMENTS}",
            found.len()
        ));
        found.truncate(MAX_ATTACHMENTS);
    }
    let folder = inbox.join("mail");
    let mut files = Vec::new();
    let mut hashes = Vec::new();
    for (n, (name, bytes)) in found.iter().enumerate() {
        hashes.push(crate::form::id::hex(&sha2::Sha256::digest(bytes)));
        let file = format!("mail-{uidvalidity}-{uid}-{}-{}", n + 1, safe_name(name));
        let path: PathBuf = folder.join(&file);
        crate::durable::store_durably(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        files.push(format!("mail/{file}"));
    }
    let detail = match (files.is_empty(), notes.is_empty()) {
        (true, true) => "no PDF or photo attached: nothing to file".to_owned(),
        (false, true) => format!("placed {}", files.join(", ")),
        (false, false) => format!("placed {}; {}", files.join(", "), notes.join("; ")),
        (true, false) => notes.join("; "),
    };
    Ok((files, hashes, detail))
}

/// What a file is, by its first bytes (never by its name or declared type).
fn kind_of(bytes: &[u8]) -> Option<&'static str> {
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        Some("pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some("tif")
    } else {
        None
    }
}

fn collect(
    message: &Message<'_>,
    depth: usize,
    found: &mut Vec<(String, Vec<u8>)>,
    notes: &mut Vec<String>,
) {
    for part in message.attachments() {
        if let Some(inner) = part.message() {
            match depth < MAX_NESTING {
                true => collect(inner, depth + 1, found, notes),
                false => notes.push(format!(
                    "a message forwarded more than {MAX_NESTING} deep was not opened"
                )),
            }
            continue;
        }
        let bytes = part.contents();
        let name = part.attachment_name().unwrap_or("attachment").to_owned();
        match kind_of(bytes) {
            Some("pdf") => found.push((name, bytes.to_vec())),
            Some(_) if bytes.len() < MIN_PICTURE_BYTES => {}
            Some(_) => found.push((name, bytes.to_vec())),
            None if bytes.starts_with(b"PK\x03\x04") => notes.push(format!(
                "{} is a zip file, which aup does not open: attach the PDF or photo itself",
                safe_name(&name)
            )),
            None => {}
        }
    }
}

/// A name from a message as part of a file name: letters, digits, `.`, `-`
/// and `_` only, no leading dot, at most 60 characters.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let kept: String = base
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                true => c,
                false => '_',
            },
        )
        .collect();
    let trimmed = kept.trim_start_matches('.');
    let mut short: String = trimmed
        .chars()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if short.is_empty() {
        short = "attachment".into();
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_a_message_never_leave_the_folder() {
        assert_eq!(safe_name("../../x.pdf"), "x.pdf");
        assert_eq!(safe_name("..\\..\\windows\\x.pdf"), "x.pdf");
        assert_eq!(safe_name(".."), "attachment");
        assert_eq!(
            safe_name("Amelia's form (signed).pdf"),
            "Amelia_s_form__signed_.pdf"
        );
        assert_eq!(safe_name(&"a".repeat(300)).len(), 60);
    }

    #[test]
    fn a_file_is_what_its_bytes_say() {
        assert_eq!(kind_of(b"%PDF-1.7\n"), Some("pdf"));
        assert_eq!(kind_of(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("jpg"));
        assert_eq!(kind_of(b"MZ\x90\0"), None);
        assert_eq!(kind_of(b"PK\x03\x04"), None);
    }
}
