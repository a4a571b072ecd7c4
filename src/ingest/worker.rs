//! Reader workers: every received file is parsed, decoded and rendered in a child
//! process (this same binary, run as `aup __reader`), never in the process that
//! holds the archive's lock, the archive and the index. The child runs under
//! resource limits set before it starts; if it panics, aborts, overflows its
//! stack, runs out of memory or time, or is killed, only its file is lost to
//! quarantine (with a sentence saying what happened), and the run goes on.
//!
//! The limits (see [`Limits::for_file`]) and why:
//! - **address space** 3 GiB plus the file's size: the file is memory-mapped; a
//!   600-dpi A4 page renders to 140 MB of RGBA, decodes are capped at 512 MB each,
//!   and two pages render at once. A 500-page batch peaks near 100 MB.
//! - **stack** 256 MiB for the main thread and each reading thread: deep but legal
//!   nesting still reads, and hostile nesting hits the guard page (the worker dies,
//!   the run does not).
//! - **CPU** twice the deadline in seconds (two reading threads), then SIGXCPU.
//! - **deadline** 30 s plus 1 s per 4 MB of file, measured by the parent, which
//!   kills the worker: a 3-page form reads in well under a second and a 940 MB,
//!   500-page batch in about 16 s, against a 265 s deadline. `--reader-timeout`
//!   overrides it.
//! - **no core files** (they would copy untrusted data and our memory to disk),
//!   **files written** at most 1 GiB each (the spool's page images), and no
//!   privileges gained through exec.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::pages::Unreadable;
use super::protocol::{Answer, Reading, Request, Task};
use super::read::{Reader, Register, Spool};
use crate::verdict::Reason;

/// The hidden subcommand a worker runs as.
pub const SUBCOMMAND: &str = "__reader";

const GIB: u64 = 1024 * 1024 * 1024;
/// A request is a few paths; an answer a few hundred bytes a page.
const MAX_REQUEST_BYTES: u64 = 1024 * 1024;
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;
/// What the parent keeps of a worker's stderr to say why it stopped.
const STDERR_TAIL: usize = 8 * 1024;
/// Stack of the worker's main thread and of each reading thread.
pub const READER_STACK: usize = 256 * 1024 * 1024;

/// The resource limits of one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub address_space: u64,
    pub cpu_seconds: u64,
    pub deadline: Duration,
    pub stack: u64,
    pub file_size: u64,
}

impl Limits {
    /// The limits for reading a file of `size` bytes; `deadline` overrides the
    /// one the size gives.
    pub fn for_file(size: u64, deadline: Option<Duration>) -> Self {
        let deadline =
            deadline.unwrap_or_else(|| Duration::from_secs(30 + size / (4 * 1024 * 1024)));
        Self {
            address_space: 3 * GIB + size,
            cpu_seconds: 2 * deadline.as_secs().max(1),
            deadline,
            stack: READER_STACK as u64,
            file_size: GIB,
        }
    }
}

/// Reads one file in a fresh worker. `Err` says why the worker failed: reason
/// `reader_failed` or `timeout`, and a sentence for the quarantine sidecar.
pub fn read(request: &Request, limits: Limits) -> Result<Answer, Unreadable> {
    let failed = |message: String| Unreadable::new(Reason::ReaderFailed, message);
    let exe = std::env::current_exe().map_err(|e| {
        failed(format!(
            "cannot find the aup program to start a reader: {e}"
        ))
    })?;
    let mut command = Command::new(exe);
    command
        .arg(SUBCOMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The worker's own ink and QR code never look at colour or locale, but a
        // panic message should be plain.
        .env("RUST_BACKTRACE", "0");
    apply_limits(&mut command, limits);
    let mut child = command
        .spawn()
        .map_err(|e| failed(format!("cannot start a reader process: {e}")))?;
    let request_json = serde_json::to_vec(request).unwrap_or_default();
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let started = Instant::now();
    let (answer, tail, status) = std::thread::scope(|scope| {
        // Writing the request and reading both pipes run beside the wait, so a
        // worker that fills a pipe never deadlocks with us.
        scope.spawn(move || {
            if let Some(mut stdin) = stdin.take() {
                let _ = stdin.write_all(&request_json);
            }
        });
        let answer = scope.spawn(move || {
            let mut out = Vec::new();
            if let Some(stdout) = stdout.take() {
                let _ = stdout.take(MAX_ANSWER_BYTES + 1).read_to_end(&mut out);
            }
            out
        });
        let tail = scope.spawn(move || {
            let mut tail = Vec::new();
            let mut buffer = [0u8; 4096];
            if let Some(mut stderr) = stderr.take() {
                while let Ok(n) = stderr.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    tail.extend_from_slice(&buffer[..n]);
                    if tail.len() > STDERR_TAIL {
                        tail.drain(..tail.len() - STDERR_TAIL);
                    }
                }
            }
            tail
        });
        let status = wait_until(&mut child, started + limits.deadline);
        (
            answer.join().unwrap_or_default(),
            tail.join().unwrap_or_default(),
            status,
        )
    });
    let stderr = String::from_utf8_lossy(&tail);
    let status = match status {
        Waited::Exited(status) => status,
        Waited::Overran => {
            return Err(Unreadable::new(
                Reason::Timeout,
                format!(
                    "reading this file took longer than {} s, so the reader was stopped; \
                     the file is kept (a damaged or hostile file, or a very slow machine: \
                     `--reader-timeout` gives more time)",
                    limits.deadline.as_secs()
                ),
            ));
        }
        Waited::Failed(e) => return Err(failed(format!("cannot wait for the reader: {e}"))),
    };
    if !status.success() {
        return Err(why_it_stopped(status, &stderr, limits));
    }
    if answer.len() as u64 > MAX_ANSWER_BYTES {
        return Err(failed(
            "the reader's answer was larger than any file's can be".into(),
        ));
    }
    serde_json::from_slice(&answer)
        .map_err(|e| failed(format!("the reader's answer could not be understood: {e}")))
}

enum Waited {
    Exited(std::process::ExitStatus),
    Overran,
    Failed(std::io::Error),
}

/// Waits for the child, killing it at `deadline`.
fn wait_until(child: &mut std::process::Child, deadline: Instant) -> Waited {
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Waited::Exited(status),
            Ok(None) => {}
            Err(e) => return Waited::Failed(e),
        }
        let now = Instant::now();
        if now >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Waited::Overran;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// A sentence for people from how the worker ended and the end of its stderr.
fn why_it_stopped(status: std::process::ExitStatus, stderr: &str, limits: Limits) -> Unreadable {
    use std::os::unix::process::ExitStatusExt;
    let mib = |bytes: u64| bytes / (1024 * 1024);
    let what = if stderr.contains("has overflowed its stack") {
        format!(
            "it nests deeper than the reader's {} MiB stack allows (a damaged or hostile file)",
            mib(limits.stack)
        )
    } else if stderr.contains("memory allocation of") || stderr.contains("capacity overflow") {
        format!(
            "it needed more than the {} MiB of memory a reader may use",
            mib(limits.address_space)
        )
    } else if let Some(panic) = stderr
        .lines()
        .skip_while(|l| !l.contains("panicked at"))
        .nth(1)
    {
        format!("the reader hit a bug on it ({})", panic.trim())
    } else {
        match status.signal() {
            Some(libc::SIGXCPU) => {
                return Unreadable::new(
                    Reason::Timeout,
                    format!(
                        "reading it used more than {} s of processor time, so the reader was stopped",
                        limits.cpu_seconds
                    ),
                );
            }
            Some(libc::SIGKILL) => "the reader was killed (out of memory?)".to_owned(),
            Some(libc::SIGSEGV | libc::SIGBUS) => "the reader crashed (memory fault)".to_owned(),
            Some(libc::SIGABRT) => "the reader aborted".to_owned(),
            Some(libc::SIGXFSZ) => "the reader wrote more than a page image can be".to_owned(),
            Some(signal) => format!("the reader was stopped by signal {signal}"),
            None => format!(
                "the reader stopped with exit code {}",
                status.code().unwrap_or(-1)
            ),
        }
    };
    Unreadable::new(
        Reason::ReaderFailed,
        format!("the reader process stopped on this file: {what}; nothing else was affected"),
    )
}

/// Sets the worker's limits between fork and exec, so they hold from its first
/// instruction.
pub(crate) fn apply_limits(command: &mut Command, limits: Limits) {
    use std::os::unix::process::CommandExt;
    let set = move |resource, value: u64| {
        let limit = libc::rlimit {
            rlim_cur: value as libc::rlim_t,
            rlim_max: value as libc::rlim_t,
        };
        // SAFETY: setrlimit only reads the struct; it is async-signal-safe.
        unsafe { libc::setrlimit(resource, &limit) }
    };
    let cpu = limits.cpu_seconds;
    // SAFETY: the closure runs in the child between fork and exec and calls only
    // async-signal-safe functions (setrlimit, prctl); it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            set(libc::RLIMIT_AS, limits.address_space);
            set(libc::RLIMIT_STACK, limits.stack);
            set(libc::RLIMIT_CORE, 0);
            set(libc::RLIMIT_FSIZE, limits.file_size);
            // SIGXCPU at the soft limit, SIGKILL a little later if it is ignored.
            let limit = libc::rlimit {
                rlim_cur: cpu as libc::rlim_t,
                rlim_max: (cpu + 5) as libc::rlim_t,
            };
            libc::setrlimit(libc::RLIMIT_CPU, &limit);
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            // A worker dies with the run that started it (a killed ingest leaves no
            // reader behind to write into a later run's spool).
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
}

/// The worker's side: one request on stdin, one answer on stdout. Exits 0 after
/// answering; anything else is a failure the parent explains.
pub fn serve() -> std::process::ExitCode {
    let mut input = Vec::new();
    if std::io::stdin()
        .take(MAX_REQUEST_BYTES)
        .read_to_end(&mut input)
        .is_err()
    {
        return std::process::ExitCode::from(3);
    }
    let request: Request = match serde_json::from_slice(&input) {
        Ok(request) => request,
        Err(e) => {
            eprintln!("aup reader: bad request: {e}");
            return std::process::ExitCode::from(3);
        }
    };
    prepare_reading_threads();
    let answer = answer(&request);
    let mut stdout = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut stdout, &answer)
        .map_err(std::io::Error::from)
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(_) => std::process::ExitCode::from(3),
    }
}

/// Gives the reading threads the same deep stack as the worker's main thread.
pub fn prepare_reading_threads() {
    // Fails only if the pool already exists, which then has these threads.
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(READER_STACK)
        .build_global();
}

/// What a worker answers to `request`, read in this process. Only the worker
/// (and the fuzzing harness, which stands in for it) calls this: everywhere
/// else received files are read through [`read`].
pub fn answer(request: &Request) -> Answer {
    let register = match Register::open(&request.archive) {
        Ok(register) => register,
        Err(e) => {
            let message = format!("the archive's issue register cannot be read: {e}");
            let reading = match &request.task {
                Task::Scan => Reading::Scan(super::protocol::FileReading {
                    unreadable: Some(Unreadable::new(Reason::Unreadable, message)),
                    ..Default::default()
                }),
                Task::Verify => Reading::Verify(Err(message)),
                Task::Assign { .. } => Reading::Assign(Err(message)),
            };
            return Answer {
                reading,
                warnings: Vec::new(),
                spool_failed: None,
            };
        }
    };
    let spool = Spool::new(request.spool.clone());
    let reader = Reader {
        register: &register,
        schools: &request.schools,
        spool: &spool,
        warnings: Default::default(),
    };
    let reading = match &request.task {
        Task::Scan => Reading::Scan(reader.scan(&request.file, request.kind)),
        Task::Verify => Reading::Verify(reader.verify(&request.file).map(Box::new)),
        Task::Assign { form_id, pages } => Reading::Assign(reader.assign(
            &request.file,
            request.kind,
            form_id,
            pages,
            match pages {
                super::protocol::AssignPages::From(_) => super::read::FIRST_DPI,
                super::protocol::AssignPages::Exactly(_) => super::read::REREAD_DPI,
            },
        )),
    };
    Answer {
        reading,
        warnings: reader.warnings.into_inner().unwrap_or_default(),
        spool_failed: spool.failure(),
    }
}

/// The folder a request's worker may write to, inside the run's spool.
pub fn spool_for(run_spool: &Path, n: usize) -> std::io::Result<std::path::PathBuf> {
    let dir = run_spool.join(format!("{}.{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_grow_with_the_file_and_can_be_set() {
        let small = Limits::for_file(100_000, None);
        assert_eq!(small.deadline, Duration::from_secs(30));
        let batch = Limits::for_file(941_000_000, None);
        assert!(batch.deadline > Duration::from_secs(200), "{batch:?}");
        assert!(batch.address_space > 941_000_000 + 3 * GIB - 1);
        let set = Limits::for_file(941_000_000, Some(Duration::from_secs(2)));
        assert_eq!(set.deadline, Duration::from_secs(2));
        assert_eq!(set.cpu_seconds, 4);
    }
}
