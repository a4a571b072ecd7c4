//! A small builder for running the real `aup` binary in a scratch folder that
//! holds a copy of the shipped schools.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Scratch {
    pub dir: tempfile::TempDir,
}

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Scratch {
    /// An empty scratch folder with an empty `schools/`.
    pub fn empty() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("schools")).unwrap();
        Self { dir }
    }

    /// A scratch folder with a copy of the shipped `schools/`.
    pub fn with_shipped_schools() -> Self {
        let scratch = Self::empty();
        for entry in std::fs::read_dir(repo().join("schools")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(
                &path,
                scratch.path("schools").join(path.file_name().unwrap()),
            )
            .unwrap();
        }
        scratch
    }

    /// Pakeman with `roster`, its 2025-26 forms issued on 2025-09-01 (with
    /// `options` for `aup generate` besides), and an empty inbox.
    pub fn pakeman_issued(roster: &str, options: &[&str]) -> Self {
        let scratch = Self::pakeman_with_roster(roster);
        let mut args = vec!["generate", "--date", "2025-09-01"];
        args.extend(options);
        scratch.aup(&args).success();
        std::fs::create_dir_all(scratch.path("inbox")).unwrap();
        scratch
    }

    /// The shipped Pakeman school alone, with `roster` as its staff CSV.
    pub fn pakeman_with_roster(roster: &str) -> Self {
        let scratch = Self::with_shipped_schools();
        for other in ["st-margarets", "kensington"] {
            std::fs::remove_file(scratch.path(&format!("schools/{other}.yaml"))).unwrap();
        }
        scratch.write("schools/pakeman.staff.csv", roster);
        scratch
    }

    /// The generated 2025-26 form of `school` whose file name contains `who`.
    pub fn form_pdf(&self, school: &str, who: &str) -> PathBuf {
        let dir = self.path(&format!("out/{school}/2025-26/forms"));
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().contains(who))
            .unwrap_or_else(|| panic!("no form for {who} in {}", dir.display()))
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs `aup ARGS` in the scratch folder.
    pub fn aup(&self, args: &[&str]) -> Run {
        self.aup_env(args, &[])
    }

    pub fn aup_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_aup"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .output()
            .expect("run aup");
        Run { output }
    }

    /// Runs aup with `input` on its standard input.
    pub fn aup_stdin(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_aup"))
            .args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run aup");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        Run {
            output: child.wait_with_output().expect("run aup"),
        }
    }
}

pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Stdout as JSON lines (`--json`), one value per line.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Asserts success and returns self for chaining.
    pub fn success(self) -> Self {
        assert_eq!(
            self.code(),
            Some(0),
            "aup failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    /// Asserts a clean failure: exit code 1, no panic, and returns stderr.
    pub fn failure(self) -> String {
        let stderr = self.stderr();
        assert_eq!(self.code(), Some(1), "expected exit 1\nstderr:\n{stderr}");
        assert!(!stderr.contains("panicked"), "aup panicked:\n{stderr}");
        stderr
    }
}

impl Run {
    /// Asserts a usage error: exit code 2 (as the README promises for a
    /// command line aup cannot take), no panic; returns stderr.
    pub fn usage_error(self) -> String {
        let stderr = self.stderr();
        assert_eq!(self.code(), Some(2), "expected exit 2\nstderr:\n{stderr}");
        assert!(!stderr.contains("panicked"), "aup panicked:\n{stderr}");
        stderr
    }

    /// Asserts that `verify` or `audit verify` could not check at all: exit 3 (not
    /// 1, which says "checked, and not accepted"), no panic; returns stderr.
    pub fn could_not_check(self) -> String {
        let stderr = self.stderr();
        assert_eq!(self.code(), Some(3), "expected exit 3\nstderr:\n{stderr}");
        assert!(!stderr.contains("panicked"), "aup panicked:\n{stderr}");
        stderr
    }
}

/// Text of a PDF as poppler's pdftotext sees it, in layout mode (which keeps a
/// hyphen that ends a line, so wrapped compounds can be rejoined).
pub fn pdftotext(pdf: &Path) -> String {
    let output = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect(
            "pdftotext (poppler-utils) must be installed: run scripts/test.sh, which installs it",
        );
    assert!(
        output.status.success(),
        "pdftotext failed on {}",
        pdf.display()
    );
    String::from_utf8(output.stdout).expect("pdftotext writes UTF-8")
}

/// Runs an independent tool (installed by scripts/test.sh) and returns its
/// standard output; fails the test with its stderr if it fails.
pub fn run_tool(program: &str, args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed (scripts/test.sh does): {e}"));
    assert!(
        output.status.success(),
        "{program} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Copies a folder tree (a scratch template, a fixture archive).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        match entry.file_type().unwrap().is_dir() {
            true => copy_tree(&entry.path(), &target),
            false => {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
}

/// Runs a helper script from `tests/py` (pypdf, pyHanko, cryptography) and returns
/// its standard output; fails the test with the script's stderr if it fails.
pub fn python<S: AsRef<std::ffi::OsStr>>(script: &str, args: &[S]) -> String {
    let output = Command::new("python3")
        .arg(repo().join("tests/py").join(script))
        .args(args)
        .output()
        .expect("python3 with pypdf and pyHanko: run scripts/test.sh, which installs them");
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Hostile PDFs made by `tests/py/hostile.py`, each claiming to be form `form_id`:
/// a reference cycle, deep nesting, a broken cross-reference table, huge
/// contents and a signature whose byte range lies. Written into `dir`.
pub fn hostile_pdfs(dir: &Path, form_id: &str) -> Vec<(&'static str, PathBuf)> {
    [
        "cycle",
        "deep",
        "broken_xref",
        "huge_contents",
        "bogus_byterange",
    ]
    .into_iter()
    .map(|kind| {
        let file = dir.join(format!("{kind}.pdf"));
        python(
            "hostile.py",
            &[file.as_os_str(), kind.as_ref(), form_id.as_ref()],
        );
        (kind, file)
    })
    .collect()
}

/// Runs one SQL statement on the archive's index with Python's sqlite3 (an
/// independent reader of the file, and the tool an attacker with the file would
/// use), returning its rows as text.
pub fn sqlite(archive: &Path, query: &str) -> String {
    python(
        "sqlite.py",
        &[archive.join("aup.sqlite").as_os_str(), query.as_ref()],
    )
}

/// How many rows a table of the archive's index holds.
pub fn index_rows(archive: &Path, table: &str) -> i64 {
    let count = sqlite(archive, &format!("SELECT COUNT(*) FROM {table}"));
    count.trim().parse().expect("a row count")
}

/// Signs the form's `signer_signature` field with pyHanko (an incremental update),
/// as a member of staff with a certificate would.
pub fn pyhanko_sign(input: &Path, output: &Path, key: &Path, cert: &Path) {
    pyhanko_sign_in("signer_signature", input, output, key, cert);
}

/// [`pyhanko_sign`] into `field`: an existing field's name, a new invisible
/// field's name, or `PAGE/X1,Y1,X2,Y2/NAME` for a new visible one.
pub fn pyhanko_sign_in(field: &str, input: &Path, output: &Path, key: &Path, cert: &Path) {
    let options = [
        "sign",
        "addsig",
        "--field",
        field,
        "pemder",
        "--no-pass",
        "--key",
    ];
    let mut args: Vec<&std::ffi::OsStr> = options.iter().map(std::ffi::OsStr::new).collect();
    args.extend([key.as_os_str(), "--cert".as_ref(), cert.as_os_str()]);
    args.extend([input.as_os_str(), output.as_os_str()]);
    run_tool("pyhanko", &args);
}

/// pyHanko's verdict on integrity: its summary line says INTACT or not.
pub fn pyhanko_intact(file: &Path) -> bool {
    pyhanko_intact_with(file, &[])
}

/// [`pyhanko_intact`] with more options for `pyhanko sign validate`
/// (`--no-strict-syntax` for files whose cross-reference table pyHanko's strict
/// reader refuses, as Poppler's `pdfsig` writes them).
pub fn pyhanko_intact_with(file: &Path, options: &[&str]) -> bool {
    // pyHanko exits non-zero for untrusted certificates: read the line instead.
    let run = Command::new("pyhanko")
        .args(["sign", "validate"])
        .args(options)
        .arg(file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    // `FIELD:DIGEST:STATUS:...`, for the form's field or a field a signer
    // added under a name of its own (pdfsig's are random hex).
    let summary = |l: &&str| {
        l.split(':')
            .nth(1)
            .is_some_and(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let line = stdout
        .lines()
        .find(|l| l.starts_with("signer_signature:"))
        .or_else(|| stdout.lines().find(summary))
        .unwrap_or_else(|| {
            panic!(
                "pyHanko printed no summary:\n{stdout}\n{}",
                String::from_utf8_lossy(&run.stderr)
            )
        });
    line.contains(":INTACT:")
}

impl Scratch {
    /// Runs `aup ingest --json --settle 0` and returns its outcomes.
    pub fn ingest_json(&self) -> Vec<serde_json::Value> {
        self.aup(&["ingest", "--json", "--settle", "0"])
            .success()
            .json_lines()
    }
}

/// The names of the files in `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every PDF under `dir`, sorted.
pub fn pdfs_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "pdf") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Every PDF aup wrote under `out` passes PDF/UA-1 and PDF/A-2a in
/// page-validation and PDF/UA-1 in pdfua, and poppler calls it tagged, with a
/// title.
pub fn assert_pdf_ua_and_pdf_a(out: &Path) {
    let files = pdfs_under(out);
    assert!(!files.is_empty(), "no PDF under {}", out.display());
    let report = python("pdf_standards.py", &files);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 3 * files.len(), "{report}");
    assert!(lines.iter().all(|l| l.ends_with(": ok")), "{report}");
    for file in &files {
        let info = run_tool("pdfinfo", &[file.as_os_str()]);
        assert!(
            info.contains("Tagged:          yes"),
            "{}: {info}",
            file.display()
        );
        let title = info
            .lines()
            .find_map(|l| l.strip_prefix("Title:"))
            .unwrap_or_default()
            .trim();
        assert!(
            title.contains("Acceptable Use Policy"),
            "{}: {info}",
            file.display()
        );
    }
}

/// No line of the PDFs under `out` has a word gap over 3 normal spaces or ends
/// inside "and/or", as poppler reads the lines.
pub fn assert_even_word_gaps(out: &Path) {
    let files = pdfs_under(out);
    let mut args = vec![PathBuf::from("3")];
    args.extend(files);
    let report = python("word_gaps.py", &args);
    let widest: f64 = report
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("widest "))
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(report.lines().count(), 1, "{report}");
    // A measure that found no gap at all measured nothing.
    assert!(widest > 0.5, "{report}");
}
