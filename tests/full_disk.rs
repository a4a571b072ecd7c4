//! The archive's disk fills up: an office's server runs for years and nobody
//! watches the free space. Ingest must end with a clear error (or file
//! everything), lose nothing, and file everything once when space is freed;
//! `aup serve` must say so on its pages and go on.
//!
//! The archive lives on a small tmpfs mounted for each case (the tests run as
//! root, as CI does), filled by a file of zeros to leave an exact amount free.

mod common;
mod office;
mod scan;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Scratch, copy_tree, sqlite};
use office::{Client, Server, add_user};

const ROSTER: &str = "Staff Code,Forename,Surname,Job Title\n\
    A1,Amelia,Hart,Teacher\nA2,Ben,Okafor,TA\nA3,Chloe,Price,Governor\n\
    A4,Daniel,Shah,Teacher\nA5,Eve,Jones,Cook\nA6,Farah,Ali,Governor\n";

/// A tmpfs mounted at a folder, unmounted when dropped.
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    fn mount(at: &Path, bytes: u64) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={bytes},mode=0755"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .expect("mount");
        assert!(
            status.success(),
            "mounting a tmpfs at {} failed: these tests run as root (scripts/test.sh in CI is)",
            at.display()
        );
        Self { at: at.to_owned() }
    }

    fn free(&self) -> u64 {
        let c = std::ffi::CString::new(self.at.as_os_str().as_encoded_bytes()).unwrap();
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut stat) }, 0);
        stat.f_bavail as u64 * stat.f_frsize as u64
    }

    /// Fills the file system with zeros until `left` bytes are free.
    fn fill_leaving(&self, left: u64) -> PathBuf {
        use std::io::Write;
        let filler = self.at.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while self.free() > left {
            let step = (self.free() - left).min(chunk.len() as u64) as usize;
            if file.write_all(&chunk[..step]).is_err() {
                break;
            }
            file.flush().unwrap();
        }
        file.sync_all().unwrap();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

/// Pakeman with six staff: three signed scans (grey JPEGs wrapped by img2pdf,
/// as a copier's PDF holds them) and three forms returned as PDFs filled in
/// nothing (incomplete), ten files with the four blank pages.
fn pile(scratch: &Scratch) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for who in ["amelia", "ben", "chloe"] {
        let pdf = scratch.form_pdf("pakeman", who);
        let pages = scan::paper(&scratch.path("archive"), &pdf, 150.0, scan::SIGNED);
        let scanned = scratch.path(&format!("{who}-scanned.pdf"));
        scan::img2pdf(&pages, 150.0, &scanned);
        files.push((format!("{who}.pdf"), std::fs::read(&scanned).unwrap()));
    }
    for who in ["shah", "jones", "ali"] {
        files.push((
            format!("{who}-emailed.pdf"),
            std::fs::read(scratch.form_pdf("pakeman", who)).unwrap(),
        ));
    }
    for n in 0..4 {
        let mut page = scan::blank_page(100.0);
        scan::noise(&mut page, n);
        files.push((format!("blank-{n}.pdf"), scan::scan_pdf(&[page], 100.0)));
    }
    files
}

/// Runs aup with a deadline: a run that does not end is the bug.
fn aup_within(scratch: &Scratch, args: &[&str], deadline: Duration) -> (bool, String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_aup"))
        .args(args)
        .current_dir(scratch.dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (done, waited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match waited.recv_timeout(deadline) {
        Ok(output) => {
            let output = output.unwrap();
            (
                output.status.success(),
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        }
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("aup {args:?} did not end within {deadline:?}: it hangs");
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn ingest_on_a_nearly_full_disk_ends_with_a_clear_error_loses_nothing_and_files_everything_later() {
    let scratch = Scratch::pakeman_issued(ROSTER, &[]);
    let files = pile(&scratch);
    for (case, left) in [
        0u64,
        4 << 10,
        64 << 10,
        256 << 10,
        1 << 20,
        4 << 20,
        6 << 20,
        8 << 20,
        12 << 20,
        64 << 20,
    ]
    .into_iter()
    .enumerate()
    {
        let disk = Tmpfs::mount(&scratch.path(&format!("disk-{case}")), 160 << 20);
        let archive = disk.at.join("archive");
        copy_tree(&scratch.path("archive"), &archive);
        let inbox = scratch.path(&format!("inbox-{case}"));
        std::fs::create_dir_all(&inbox).unwrap();
        for (name, bytes) in &files {
            std::fs::write(inbox.join(name), bytes).unwrap();
        }
        let filler = disk.fill_leaving(left);
        let (inbox_arg, archive_arg) = (inbox.display().to_string(), archive.display().to_string());
        let args = [
            "ingest",
            &inbox_arg,
            "--archive",
            &archive_arg,
            "--settle",
            "0",
            "--json",
        ];
        let (ok, stdout, stderr) = aup_within(&scratch, &args, Duration::from_secs(240));
        let said = format!("with {left} bytes free:\nstdout:\n{stdout}\nstderr:\n{stderr}");
        if !ok {
            assert!(
                stderr.contains("the archive's disk is full"),
                "the error does not say the disk is full, {said}"
            );
            assert!(!stderr.contains("panicked"), "{said}");
        }
        eprintln!(
            "{left} bytes free: {}",
            match ok {
                true => "filed everything".to_owned(),
                false => stderr
                    .lines()
                    .find(|l| l.contains("disk is full"))
                    .unwrap_or("")
                    .to_owned(),
            }
        );
        // Nothing lost: every file is still in the inbox or its bytes are indexed
        // (read once there is room again: SQLite cannot open its log on a full disk).
        std::fs::remove_file(&filler).unwrap();
        let indexed = sqlite(&archive, "SELECT sha256 FROM received");
        for (name, bytes) in &files {
            let kept = inbox.join(name).exists();
            assert!(
                kept || indexed.contains(&sha256(bytes)),
                "{name} left the inbox unfiled, {said}"
            );
            if !ok {
                assert!(kept, "{name} left the inbox on a failed run, {said}");
            }
        }
        // Space freed, a second run files everything, once.
        let (ok, stdout, stderr) = aup_within(&scratch, &args, Duration::from_secs(240));
        assert!(
            ok,
            "the run after freeing space failed ({left} free before):\n{stdout}\n{stderr}"
        );
        assert_eq!(
            std::fs::read_dir(&inbox).unwrap().count(),
            0,
            "{stdout}\n{stderr}"
        );
        let returns = sqlite(
            &archive,
            "SELECT form_id || ' ' || verdict FROM returns ORDER BY form_id",
        );
        assert_eq!(
            returns.lines().count(),
            6,
            "each form once, {left} free before:\n{returns}"
        );
        assert_eq!(returns.matches(" accepted").count(), 3, "{returns}");
        assert_eq!(returns.matches(" incomplete").count(), 3, "{returns}");
        let received: Vec<&str> = indexed.lines().collect();
        let unique: std::collections::BTreeSet<&str> = received.iter().copied().collect();
        assert_eq!(received.len(), unique.len());
        let audit = Command::new(env!("CARGO_BIN_EXE_aup"))
            .args(["audit", "verify", "--archive", &archive_arg])
            .output()
            .unwrap();
        assert!(
            audit.status.success(),
            "{}",
            String::from_utf8_lossy(&audit.stdout)
        );
    }
}

#[test]
fn the_server_says_the_disk_is_full_on_its_pages_and_files_once_there_is_room() {
    let scratch = Scratch::pakeman_issued(ROSTER, &[]);
    add_user(&scratch, "office", "office", &[]);
    let pdf = scratch.form_pdf("pakeman", "amelia");
    let pages = scan::paper(&scratch.path("archive"), &pdf, 150.0, scan::SIGNED);
    let disk = Tmpfs::mount(&scratch.path("disk"), 96 << 20);
    copy_tree(&scratch.path("archive"), &disk.at.join("archive"));
    std::fs::remove_dir_all(scratch.path("archive")).unwrap();
    std::os::unix::fs::symlink(disk.at.join("archive"), scratch.path("archive")).unwrap();
    let server = Server::start(&scratch, &[]);
    let office = Client::signed_in(&server, "office");
    let filler = disk.fill_leaving(64 << 10);
    std::fs::write(
        scratch.path("inbox/amelia.pdf"),
        scan::scan_pdf(&pages, 150.0),
    )
    .unwrap();

    let start = Instant::now();
    loop {
        let page = office.get("/").text();
        if page.contains("Scans are not being filed") {
            assert!(
                page.contains("The disk that holds the archive is full"),
                "{page}"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no problem shown:\n{page}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(scratch.path("inbox/amelia.pdf").exists());
    // The server goes on: pages answer, and with room the scan is filed.
    std::fs::remove_file(&filler).unwrap();
    let start = Instant::now();
    loop {
        let returns = sqlite(&disk.at.join("archive"), "SELECT verdict FROM returns");
        if returns.trim() == "accepted" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "not filed once there was room: {returns}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let page = office.get("/").text();
    assert!(!page.contains("Scans are not being filed"), "{page}");
    assert!(!scratch.path("inbox/amelia.pdf").exists());
    drop(server);
}
