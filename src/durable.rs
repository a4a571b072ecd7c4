//! Writing files so that a crash never leaves half of one: everything is written
//! to a temporary file beside its target, synced, and renamed into place; for the
//! archive the folder is synced too, so the rename itself survives a power cut.
//! Every stage that writes a file it must not lose goes through here.

use std::path::Path;

/// Whether an I/O error is a full disk or a used-up quota.
pub fn is_full(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
        || error.kind() == std::io::ErrorKind::StorageFull
        || error.kind() == std::io::ErrorKind::QuotaExceeded
}

/// Free space for an unprivileged writer on the file system holding `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a zeroed statvfs the call fills in.
    let status = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    (status == 0).then(|| stat.f_bavail as u64 * stat.f_frsize as u64)
}

/// Copies `source` to `path` durably (see [`store_durably`]), streaming.
pub fn copy_durably(source: &Path, path: &Path) -> std::io::Result<()> {
    write_via_temp(path, true, |file| {
        std::io::copy(&mut std::fs::File::open(source)?, file).map(drop)
    })
}

/// Writes `bytes` to `path` so that it survives a crash once this returns: a
/// temporary file is written and synced, renamed into place, and the folder synced.
pub fn store_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    write_via_temp(path, true, |file| file.write_all(bytes))
}

/// Like [`store_durably`], for a secret: readable and writable by its owner
/// only, from the first byte (the temporary file is made that way).
pub fn store_secret_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    write_via_temp_as(path, true, Some(0o600), |file| file.write_all(bytes))
}

/// Makes `path` another name for `existing` (same file system), replacing what
/// `path` was atomically and durably; copies if the file system has no hard links.
pub fn link_durably(existing: &Path, path: &Path) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.link", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    if std::fs::hard_link(existing, &temp).is_err() {
        return copy_durably(existing, path);
    }
    std::fs::rename(&temp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Fills a temporary file beside `path`, syncs it and renames it into place, so
/// `path` is always either absent, the old file or the whole new one. With
/// `sync_dir` the rename itself is made durable too.
fn write_via_temp(
    path: &Path,
    sync_dir: bool,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write_via_temp_as(path, sync_dir, None, fill)
}

/// [`write_via_temp`], the temporary file made with `mode` when given.
fn write_via_temp_as(
    path: &Path,
    sync_dir: bool,
    mode: Option<u32>,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // A temporary file a crash left keeps its old mode when reopened.
    let _ = std::fs::remove_file(&temp);
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        if let Some(mode) = mode {
            options.mode(mode);
        }
        let mut file = options.open(&temp)?;
        fill(&mut file)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        match sync_dir {
            true => std::fs::File::open(dir)?.sync_all(),
            false => Ok(()),
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Like [`store_durably`] but without syncing the folder: for files that can be
/// made again (generated forms, status reports), where a rename lost to a power
/// cut costs nothing but a re-run.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    write_via_temp(path, false, |file| file.write_all(bytes))
}
