//! `aup serve` for the tests: the real binary on a loopback port, a real HTTP
//! client that keeps one session, and the office's school with its accounts.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Scratch, sqlite};
use crate::scan::{self, SIGNED, scan_pdf};

pub const ROSTER: &str = "Staff Code,Forename,Surname,Job Title\nA1,Amelia,Hart,Teacher\nA2,Ben,Okafor,TA\nA3,Chloe,Price,Governor\n";

/// Pakeman with three staff, forms issued for 2025-26, and three accounts.
pub fn office() -> Scratch {
    let scratch = Scratch::pakeman_with_roster(ROSTER);
    scratch.aup(&["generate", "--date", "2025-09-01"]).success();
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    for (name, role) in [("head", "head"), ("office", "office"), ("viewer", "viewer")] {
        add_user(&scratch, name, role, &[]);
    }
    scratch
}

pub fn add_user(scratch: &Scratch, name: &str, role: &str, schools: &[&str]) {
    let mut args = vec!["user", "add", name, "--role", role, "--password-stdin"];
    for school in schools {
        args.extend(["--school", school]);
    }
    scratch
        .aup_stdin(&args, &format!("{name} password 1\n"))
        .success();
}

/// A running `aup serve`, stopped when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    pub fn start(scratch: &Scratch, extra: &[&str]) -> Self {
        Self::start_with_env(scratch, extra, &[])
    }

    /// `aup serve` with `env` set besides (e.g. `AUP_NOW`, the mail's test
    /// clock, which the commands it runs inherit).
    pub fn start_with_env(scratch: &Scratch, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let log = std::fs::File::create(scratch.path("serve.log")).unwrap();
        let settle: &[&str] = match extra.contains(&"--settle") {
            true => &[],
            false => &["--settle", "1"],
        };
        let listen: &[&str] = match extra.contains(&"--listen") {
            true => &[],
            false => &["--listen", "127.0.0.1:0"],
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_aup"))
            .arg("serve")
            .args(listen)
            .args(settle)
            .args(extra)
            .envs(env.iter().copied())
            .current_dir(scratch.dir.path())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let url = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("aup serve printed its address");
        assert!(url.starts_with("http"), "{url:?}");
        Self {
            child,
            url: url.trim().trim_end_matches('/').to_owned(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that follows no redirects and keeps one session's cookie.
pub struct Client {
    pub agent: ureq::Agent,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

pub fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.expect("the server answered");
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(200 * 1024 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    Answer {
        status: response.status().as_u16(),
        headers,
        body,
    }
}

impl Client {
    pub fn anonymous(server: &Server) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Self {
            agent,
            base: server.url.clone(),
            cookie: String::new(),
            csrf: String::new(),
        }
    }

    pub fn signed_in(server: &Server, name: &str) -> Self {
        let mut client = Self::anonymous(server);
        let answer = client.sign_in(name, &format!("{name} password 1"));
        assert_eq!(answer.status, 303, "{}", answer.text());
        client
    }

    /// Signs in as a browser would: the form's token from its own cookie.
    pub fn sign_in(&mut self, name: &str, password: &str) -> Answer {
        let form = self.get("/login");
        let login_cookie = cookie_value(&form, "aup_login").expect("a login cookie");
        let token = hidden_csrf(&form.text());
        let body = format!(
            "csrf={token}&name={name}&password={}",
            password.replace(' ', "+")
        );
        let answer = answer(
            self.agent
                .post(&format!("{}/login", self.base))
                .header("Cookie", &format!("aup_login={login_cookie}"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(body.as_bytes()),
        );
        if let Some(session) = cookie_value(&answer, "aup_session").filter(|s| !s.is_empty()) {
            self.cookie = format!("aup_session={session}");
            self.csrf = hidden_csrf(&self.get("/").text());
        }
        answer
    }

    pub fn get(&self, path: &str) -> Answer {
        let mut request = self.agent.get(&format!("{}{path}", self.base));
        if !self.cookie.is_empty() {
            request = request.header("Cookie", &self.cookie);
        }
        answer(request.call())
    }

    pub fn post_form(&self, path: &str, body: &str) -> Answer {
        let mut request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if !self.cookie.is_empty() {
            request = request.header("Cookie", &self.cookie);
        }
        answer(request.send(body.as_bytes()))
    }

    /// A multipart upload with one file, the token in the header as the page's
    /// script sends it.
    pub fn upload(&self, path: &str, name: &str, bytes: &[u8]) -> Answer {
        let boundary = "aupTestBoundary7MA4YWxkTrZu0gW";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        answer(
            self.agent
                .post(&format!("{}{path}", self.base))
                .header("Cookie", &self.cookie)
                .header("X-CSRF-Token", &self.csrf)
                .header("Accept", "application/json")
                .header(
                    "Content-Type",
                    &format!("multipart/form-data; boundary={boundary}"),
                )
                .send(&body[..]),
        )
    }
}

pub fn cookie_value(answer: &Answer, name: &str) -> Option<String> {
    answer.all("set-cookie").iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (key, value) = first.split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

pub fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + 64].to_owned()
}

/// The form ids of the issued 2025-26 forms whose file name contains `who`.
pub fn form(scratch: &Scratch, who: &str) -> (PathBuf, String) {
    let pdf = scratch.form_pdf("pakeman", who);
    let id = scan::form_id(&pdf);
    (pdf, id)
}

pub fn signed_scan(scratch: &Scratch, who: &str) -> Vec<u8> {
    let (pdf, _) = form(scratch, who);
    scan_pdf(
        &scan::paper(&scratch.path("archive"), &pdf, 150.0, SIGNED),
        150.0,
    )
}

/// A signed scan whose last page's codes are under a coffee stain (top right and
/// down the left margin): that page is quarantined and the form incomplete until
/// someone assigns it.
pub fn scan_with_smudged_last_page(scratch: &Scratch, who: &str) -> Vec<u8> {
    let (pdf, _) = form(scratch, who);
    let mut pages = scan::paper(&scratch.path("archive"), &pdf, 150.0, SIGNED);
    let last = pages.last_mut().unwrap();
    scan::damage::cover_every_mark(last);
    scan_pdf(&pages, 150.0)
}

pub fn count(scratch: &Scratch, query: &str) -> i64 {
    sqlite(&scratch.path("archive"), query)
        .trim()
        .parse()
        .unwrap_or(-1)
}

/// Waits until `query` counts `wanted`, or fails saying what the log says.
pub fn wait_until(scratch: &Scratch, query: &str, wanted: i64, within: Duration) {
    let start = Instant::now();
    loop {
        let now = count(scratch, query);
        if now == wanted {
            return;
        }
        if start.elapsed() > within {
            let log = std::fs::read_to_string(scratch.path("serve.log")).unwrap_or_default();
            panic!("`{query}` is {now}, not {wanted}, after {within:?}; the server said:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn inbox_files(scratch: &Scratch) -> Vec<PathBuf> {
    walkdir(&scratch.path("inbox"))
}

pub fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match path.is_dir() {
            true => out.extend(walkdir(&path)),
            false => out.push(path),
        }
    }
    out
}

pub fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "aupFormBoundary0123456789";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Client {
    /// Posts a file as the page's plain form does: the token in the action URL.
    pub fn post_file_form(&self, path: &str, name: &str, bytes: &[u8]) -> Answer {
        let (content_type, body) = multipart(name, bytes);
        answer(
            self.agent
                .post(&format!("{}{path}?csrf={}", self.base, self.csrf))
                .header("Cookie", &self.cookie)
                .header("Content-Type", &content_type)
                .send(&body[..]),
        )
    }
}
