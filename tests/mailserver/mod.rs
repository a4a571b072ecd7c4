//! Real mail servers on loopback for the tests: aiosmtpd (SMTP, optionally
//! with an OAuth token endpoint), delivering into a Maildir or through LMTP
//! into Dovecot, and Dovecot itself serving IMAP from its own configuration
//! in a scratch folder.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;

/// aiosmtpd on a free loopback port, delivering into `maildir`; stopped when
/// dropped.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    /// The token endpoint's port, with `--oauth`.
    pub token_port: Option<u16>,
    maildir: PathBuf,
}

impl SmtpServer {
    pub fn start(maildir: &Path, options: &[&str]) -> Self {
        let mut child = Command::new("python3")
            .arg(common::repo().join("tests/py/smtp_server.py"))
            .arg(maildir)
            .args(options)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut ports = line
            .split_whitespace()
            .map(|p| p.parse().unwrap_or_else(|_| panic!("ports, not {line:?}")));
        Self {
            port: ports.next().expect("a port"),
            token_port: ports.next(),
            child,
            maildir: maildir.to_owned(),
        }
    }

    /// What the token endpoint has given: tokens issued, refreshes, and the
    /// refresh token now current.
    pub fn token_stats(&self) -> serde_json::Value {
        let port = self.token_port.expect("--oauth");
        let answer = ureq::get(&format!("http://127.0.0.1:{port}/stats"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        serde_json::from_str(&answer).unwrap()
    }

    /// Every message delivered so far, as Python's e-mail parser reads it.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let json = common::python("read_maildir.py", &[&self.maildir]);
        serde_json::from_str(&json).unwrap()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (closed again at once; a race with another process
/// taking it is possible but has not been seen).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Dovecot serving IMAP and LMTP on loopback from `dir`, its users' mail in
/// Maildirs there (owned by `nobody`: Dovecot never reads mail as root);
/// stopped when dropped.
pub struct Dovecot {
    child: Child,
    pub imap_port: u16,
    pub lmtp_port: u16,
    dir: PathBuf,
}

impl Dovecot {
    /// `users`: (name, password); mail to `name@anything` is theirs.
    pub fn start(dir: &Path, users: &[(&str, &str)]) -> Self {
        Self::start_with_oauth(dir, users, None)
    }

    /// As [`Dovecot::start`], also taking XOAUTH2 tokens that the
    /// introspection endpoint on `introspect` (RFC 7662) says are live.
    pub fn start_with_oauth(dir: &Path, users: &[(&str, &str)], introspect: Option<u16>) -> Self {
        use std::os::unix::fs::PermissionsExt;
        for sub in ["mail", "home", "run", "state"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // Dovecot's processes (dovecot, dovenull, nobody) must reach into it.
        let mut up = Some(dir);
        while let Some(folder) = up {
            if folder.starts_with(std::env::temp_dir()) && folder != std::env::temp_dir() {
                std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            up = folder.parent();
        }
        for sub in ["mail", "home"] {
            let status = Command::new("chown")
                .args(["-R", "nobody:nogroup"])
                .arg(dir.join(sub))
                .status()
                .unwrap();
            assert!(status.success());
        }
        let passwd: String = users
            .iter()
            .map(|(user, password)| format!("{user}:{{PLAIN}}{password}::::::\n"))
            .collect();
        std::fs::write(dir.join("passwd"), passwd).unwrap();
        let (imap_port, lmtp_port) = (free_port(), free_port());
        let d = dir.display();
        let config = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
             protocols = imap lmtp\nlisten = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\n\
             auth_mechanisms = plain login\nmail_location = maildir:{d}/mail/%u\n\
             first_valid_uid = 100\ndefault_internal_user = dovecot\ndefault_login_user = dovenull\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%n {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/home/%n\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap_port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {lmtp_port}\n  }}\n}}\n\
             protocol lmtp {{\n  auth_username_format = %Ln\n}}\n"
        );
        let config = match introspect {
            None => config,
            Some(port) => {
                std::fs::write(
                    dir.join("oauth2.conf"),
                    format!(
                        "introspection_mode = post\nintrospection_url = http://127.0.0.1:{port}/introspect\n\
                         username_attribute = username\nactive_attribute = active\nactive_value = true\nforce_introspection = yes\n"
                    ),
                )
                .unwrap();
                config.replace(
                    "auth_mechanisms = plain login",
                    "auth_mechanisms = plain login xoauth2 oauthbearer",
                ) + &format!(
                    "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {d}/oauth2.conf\n}}\n"
                )
            }
        };
        std::fs::write(dir.join("dovecot.conf"), config).unwrap();
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(dir.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dovecot: run scripts/test.sh, which installs dovecot-imapd");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", imap_port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "dovecot did not start: {}",
                std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            imap_port,
            lmtp_port,
            dir: dir.to_owned(),
        }
    }

    /// The subjects of the messages in each of `folders` of `user`, read with
    /// Python's imaplib.
    pub fn folders(&self, user: &str, password: &str, folders: &[&str]) -> serde_json::Value {
        let mut args = vec![
            "127.0.0.1".to_owned(),
            self.imap_port.to_string(),
            user.to_owned(),
            password.to_owned(),
        ];
        args.extend(folders.iter().map(|f| f.to_string()));
        serde_json::from_str(&common::python("imap_folders.py", &args)).unwrap()
    }

    /// The messages in `user`'s INBOX with their plain text ("text").
    pub fn inbox_with_text(&self, user: &str, password: &str) -> Vec<serde_json::Value> {
        let args = [
            "--text",
            "127.0.0.1",
            &self.imap_port.to_string(),
            user,
            password,
            "INBOX",
        ];
        let found: serde_json::Value =
            serde_json::from_str(&common::python("imap_folders.py", &args)).unwrap();
        found["INBOX"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM: the master stops its children too.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}
