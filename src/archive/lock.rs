//! One writer at a time: the archive's lock file, and the tidying a writer does
//! under it after a run that was killed.

use std::path::{Path, PathBuf};

use super::ArchiveError;

/// Holds the archive's lock for as long as it lives: two ingests never write one
/// archive at once.
pub struct ArchiveLock {
    _file: std::fs::File,
}

/// Takes the archive's lock, or says another run holds it.
pub fn lock(root: &Path) -> Result<ArchiveLock, ArchiveError> {
    let (file, path) = lock_file(root)?;
    match file.try_lock() {
        Ok(()) => Ok(ArchiveLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(ArchiveError::Locked(path)),
        Err(std::fs::TryLockError::Error(source)) => Err(ArchiveError::Folder { path, source }),
    }
}

/// Takes the archive's lock, waiting for a run that holds it to finish.
pub fn lock_waiting(root: &Path) -> Result<ArchiveLock, ArchiveError> {
    let (file, path) = lock_file(root)?;
    file.lock()
        .map_err(|source| ArchiveError::Folder { path, source })?;
    Ok(ArchiveLock { _file: file })
}

/// The archive's lock file, opened (and the archive folder made) but not locked.
fn lock_file(root: &Path) -> Result<(std::fs::File, PathBuf), ArchiveError> {
    std::fs::create_dir_all(root).map_err(|source| ArchiveError::Folder {
        path: root.to_owned(),
        source,
    })?;
    open_lock_file(&root.join(".lock"))
}

/// A lock file in the archive, opened (made if missing) but not locked.
pub(super) fn open_lock_file(path: &Path) -> Result<(std::fs::File, PathBuf), ArchiveError> {
    let path = path.to_owned();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| ArchiveError::Folder {
            path: path.clone(),
            source,
        })?;
    Ok((file, path))
}

/// Removes what killed runs left behind: temporary files (`.<name>.<pid>.tmp`,
/// `.<name>.<pid>.link`, `.incoming.<pid>.tmp`, as big as a scan) anywhere in the
/// archive. Call only under the archive's lock: no other run is writing then.
/// Returns a note for the run's output when anything was removed.
/// Whether a temporary file named `.<name>.<pid>.tmp` (or `.link`), as
/// `durable` names them, belongs to a process that is still running.
fn written_by_a_live_process(file_name: &str) -> bool {
    let stem = file_name
        .strip_suffix(".tmp")
        .or_else(|| file_name.strip_suffix(".link"))
        .unwrap_or(file_name);
    let Some(pid) = stem
        .rsplit('.')
        .next()
        .and_then(|p| p.parse::<libc::pid_t>().ok())
        .filter(|pid| *pid > 0)
    else {
        return false;
    };
    // SAFETY: signal 0 only asks whether the process exists.
    let status = unsafe { libc::kill(pid, 0) };
    status == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

pub fn tidy_after_crash(root: &Path) -> Vec<String> {
    let (mut files, mut bytes) = (0u64, 0u64);
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy();
        let temporary = name.starts_with('.')
            && (name.ends_with(".tmp") || name.ends_with(".link"))
            && entry.file_type().is_file();
        // A temporary file of a process still running is being written now
        // (`aup serve` records uploads beside a CLI run): it is not left over.
        if temporary && !written_by_a_live_process(&name) {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            if std::fs::remove_file(entry.path()).is_ok() {
                files += 1;
                bytes += size;
            }
        }
    }
    match files {
        0 => Vec::new(),
        n => vec![format!(
            "removed {n} temporary file{} ({} KB) left by an interrupted run",
            if n == 1 { "" } else { "s" },
            bytes / 1024
        )],
    }
}
