//! Writing files so that a crash never leaves half of one: everything is written
//! to a temporary file beside its target, synced, and renamed into place; for the
//! archive the folder is synced too, so the rename itself survives a power cut.
//! Every stage that writes a file it must not lose goes through here.

use std::path::{Path, PathBuf};

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

/// Writes what `fill` writes durably into `dir`, under the name `name` gives
/// its SHA-256 (hex): a file named by its content, streamed to disk and hashed
/// on the way, never held whole in memory. Returns the path and the SHA-256.
pub fn store_named_by_content(
    dir: &Path,
    name: impl FnOnce(&str) -> String,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<(std::path::PathBuf, String)> {
    use sha2::{Digest, Sha256};
    use std::io::Write;
    // Unique per call: several threads file into the same folder at once.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temp = dir.join(format!(".incoming.{}.{call}.tmp", std::process::id()));
    place_via_temp(
        dir,
        &temp,
        (true, None),
        |file| {
            let mut out = Hashing {
                inner: std::io::BufWriter::with_capacity(256 * 1024, file),
                hasher: Sha256::new(),
            };
            fill(&mut out)?;
            out.inner.flush()?;
            Ok(crate::form::id::hex(&out.hasher.finalize()))
        },
        |digest| dir.join(name(digest)),
    )
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: sha2::Sha256,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
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
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // A temporary file a crash left keeps its old mode when reopened.
    let _ = std::fs::remove_file(&temp);
    place_via_temp(dir, &temp, (sync_dir, mode), fill, |()| path.to_owned()).map(drop)
}

/// Fills `temp` in `dir` (made with `mode` when given), syncs it and renames it
/// to the path `place` names from what `fill` returned (the folder synced too
/// with `sync_dir`); on any failure `temp` is removed. Returns the path and
/// what `fill` returned.
fn place_via_temp<T>(
    dir: &Path,
    temp: &Path,
    (sync_dir, mode): (bool, Option<u32>),
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<T>,
    place: impl FnOnce(&T) -> std::path::PathBuf,
) -> std::io::Result<(std::path::PathBuf, T)> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir)?;
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        if let Some(mode) = mode {
            options.mode(mode);
        }
        let mut file = options.open(temp)?;
        let filled = fill(&mut file)?;
        file.sync_all()?;
        let path = place(&filled);
        std::fs::rename(temp, &path)?;
        if sync_dir {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok((path, filled))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(temp);
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

/// Files written as [`write_atomically`] writes them, on a thread of their
/// own and in the order given, so that whoever makes them goes on making the
/// next while the disk syncs the last: `aup generate` writes hundreds of forms,
/// each synced before it is renamed into place.
pub struct WriteBehind {
    queue: Option<std::sync::mpsc::Sender<(PathBuf, Vec<u8>)>>,
    writer: Option<std::thread::JoinHandle<Result<(), (PathBuf, std::io::Error)>>>,
}

/// The writer behind [`WriteBehind`] has stopped: [`WriteBehind::finish`]
/// says on which file and why.
#[derive(Debug)]
pub struct WriterStopped;

impl WriteBehind {
    pub fn start() -> std::io::Result<Self> {
        let (queue, files) = std::sync::mpsc::channel::<(PathBuf, Vec<u8>)>();
        let writer = std::thread::Builder::new()
            .name("write-behind".into())
            .spawn(move || {
                for (path, bytes) in files {
                    write_atomically(&path, &bytes).map_err(|error| (path, error))?;
                }
                Ok(())
            })?;
        Ok(Self {
            queue: Some(queue),
            writer: Some(writer),
        })
    }

    /// Queues `bytes` to be written to `path`.
    pub fn write(&self, path: PathBuf, bytes: Vec<u8>) -> Result<(), WriterStopped> {
        let queue = self.queue.as_ref().ok_or(WriterStopped)?;
        queue.send((path, bytes)).map_err(|_| WriterStopped)
    }

    /// Waits until every queued file is written; else the first that could
    /// not be, and why (the files after it are not written).
    pub fn finish(mut self) -> Result<(), (PathBuf, std::io::Error)> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), (PathBuf, std::io::Error)> {
        drop(self.queue.take());
        match self.writer.take().map(std::thread::JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(failed))) => Err(failed),
            Some(Err(_)) => Err((
                PathBuf::new(),
                std::io::Error::other("the writing thread panicked"),
            )),
        }
    }
}

impl Drop for WriteBehind {
    /// Files already queued are still written when the maker gives up early.
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_stored_by_content_is_named_by_the_hash_of_its_bytes() {
        use sha2::{Digest, Sha256};
        let dir = tempfile::tempdir().unwrap();
        let returns = dir.path().join("returns");
        let (path, digest) = store_named_by_content(
            &returns,
            |digest| format!("form-{}.pdf", &digest[..8]),
            |out| {
                out.write_all(b"%PDF-1.7 ")?;
                out.write_all(&[7u8; 300_000])
            },
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 300_009);
        assert_eq!(digest, crate::form::id::hex(&Sha256::digest(&bytes)));
        assert_eq!(path, returns.join(format!("form-{}.pdf", &digest[..8])));
        // Nothing else is left in the folder: no temporary file.
        assert_eq!(std::fs::read_dir(&returns).unwrap().count(), 1);
    }

    #[test]
    fn files_written_behind_are_all_in_place_once_finished() {
        let dir = tempfile::tempdir().unwrap();
        let writer = WriteBehind::start().unwrap();
        for n in 0..50u8 {
            let path = dir.path().join(format!("form-{n}.pdf"));
            writer.write(path, vec![n; 10_000]).unwrap();
        }
        writer.finish().unwrap();
        for n in 0..50u8 {
            let bytes = std::fs::read(dir.path().join(format!("form-{n}.pdf"))).unwrap();
            assert_eq!(bytes, vec![n; 10_000]);
        }
        // No temporary file is left beside them.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 50);
    }

    #[test]
    fn a_file_that_cannot_be_written_behind_is_named_by_finish() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the folder should be: nothing can be written inside it.
        let blocked = dir.path().join("forms");
        std::fs::write(&blocked, b"not a folder").unwrap();
        let writer = WriteBehind::start().unwrap();
        writer
            .write(dir.path().join("policy.pdf"), b"policy".to_vec())
            .unwrap();
        let _ = writer.write(blocked.join("form-1.pdf"), b"form".to_vec());
        let (path, _) = writer.finish().unwrap_err();
        assert_eq!(path, blocked.join("form-1.pdf"));
        assert_eq!(
            std::fs::read(dir.path().join("policy.pdf")).unwrap(),
            b"policy"
        );
    }

    #[test]
    fn a_file_whose_writing_fails_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let failed = store_named_by_content(
            dir.path(),
            |digest| format!("{digest}.pdf"),
            |out| {
                out.write_all(b"half a file")?;
                Err(std::io::Error::other("the writer gave up"))
            },
        );
        assert_eq!(failed.unwrap_err().to_string(), "the writer gave up");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
