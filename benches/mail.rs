//! Benchmark: mail, against the real servers the tests use (aiosmtpd, and
//! Dovecot serving IMAP, as `scripts/test.sh` installs them).
//! - Sending: invitations to 60 people uncapped (what aup itself manages a
//!   minute, link making and the mail log's claims included), and 10 under
//!   the default cap of 30 a minute (the rate a school actually gets).
//! - Reading: `aup mail fetch` of 500 messages, each with a PDF, from
//!   Dovecot over IMAP into the inbox: wall time, and the fetch's peak RSS.
//!
//! Run with `cargo bench --bench mail`; it prints the figures.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/mailserver/mod.rs"]
mod mailserver;

use std::time::{Duration, Instant};

use common::Scratch;
use mailserver::{Dovecot, SmtpServer};

const PEOPLE: usize = 60;
const CAPPED: usize = 10;
const MESSAGES: usize = 500;

fn settings(scratch: &Scratch, smtp: u16, imap: Option<u16>, per_minute: u32) {
    let imap = match imap {
        Some(port) => format!(
            "imap: {{host: 127.0.0.1, port: {port}, tls: none, auth: password, username: office, password_file: imap-password}}\n"
        ),
        None => String::new(),
    };
    scratch.write(
        "mail.yaml",
        &format!(
            "from: Pakeman Primary School <office@pakeman.example>\n\
             public_url: https://aup.pakeman.example\n\
             smtp: {{host: 127.0.0.1, port: {smtp}, tls: none}}\n\
             sending: {{per_minute: {per_minute}, per_day: 100000, days: [mon, tue, wed, thu, fri, sat, sun], from: '00:00', until: '24:00'}}\n\
             {imap}"
        ),
    );
}

fn timed(scratch: &Scratch, args: &[&str]) -> Duration {
    let started = Instant::now();
    scratch.aup(args).success();
    started.elapsed()
}

fn main() {
    let roster: String =
        std::iter::once("Staff Code,Forename,Surname,Job Title,Email\n".to_owned())
            .chain(
                (0..PEOPLE).map(|i| {
                    format!("S{i},Person,Number{i:02},Teacher,person{i}@pakeman.example\n")
                }),
            )
            .collect();
    let scratch = Scratch::pakeman_issued(&roster, &[]);
    scratch
        .aup(&["seal", "init", "--school", "pakeman"])
        .success();
    let servers = Scratch::empty();
    let smtp = SmtpServer::start(&servers.path("maildir"), &[]);

    settings(&scratch, smtp.port, None, 100_000);
    let send = ["send", "--school", "pakeman", "--year", "2025-26", "--json"];
    let uncapped = timed(&scratch, &send);
    assert_eq!(smtp.messages().len(), PEOPLE);
    println!(
        "send, uncapped: {PEOPLE} invitations in {:.2} s ({:.0} a minute)",
        uncapped.as_secs_f64(),
        PEOPLE as f64 / uncapped.as_secs_f64() * 60.0
    );

    settings(&scratch, smtp.port, None, 30);
    let mut again: Vec<String> = send.iter().map(|s| s.to_string()).collect();
    again.push("--again".into());
    for i in 0..CAPPED {
        again.extend(["--to".into(), format!("Person Number{i:02}")]);
    }
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    let capped = timed(&scratch, &again);
    assert_eq!(smtp.messages().len(), PEOPLE + CAPPED);
    println!(
        "send, per_minute 30: {CAPPED} invitations in {:.2} s (one every {:.2} s after the first: {:.1} a minute)",
        capped.as_secs_f64(),
        capped.as_secs_f64() / (CAPPED - 1) as f64,
        (CAPPED - 1) as f64 / capped.as_secs_f64() * 60.0
    );

    let dovecot = Dovecot::start(&servers.path("dovecot"), &[("office", "imap password 1")]);
    let password = scratch.write("imap-password", "imap password 1\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
    settings(&scratch, smtp.port, Some(dovecot.imap_port), 30);
    common::python(
        "lmtp_deliver.py",
        &[
            dovecot.lmtp_port.to_string(),
            "office@pakeman.example".to_owned(),
            MESSAGES.to_string(),
        ],
    );
    std::fs::create_dir_all(scratch.path("inbox")).unwrap();
    let started = Instant::now();
    // Reaped below with wait4, which std's Child cannot do.
    #[allow(clippy::zombie_processes)]
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_aup"))
        .args(["mail", "fetch", "--json"])
        .current_dir(scratch.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    // wait4 for this child's own peak RSS, not the servers'.
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let fetch = started.elapsed();
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    let filed = common::index_rows(&scratch.path("archive"), "mail_in");
    assert_eq!(filed, MESSAGES as i64);
    println!(
        "mail fetch: {MESSAGES} messages with a PDF each in {:.2} s ({:.1} ms a message), peak RSS {:.1} MB",
        fetch.as_secs_f64(),
        fetch.as_secs_f64() * 1000.0 / MESSAGES as f64,
        usage.ru_maxrss as f64 / 1024.0
    );
}
