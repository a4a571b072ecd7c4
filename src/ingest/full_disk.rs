//! A run that fails because the archive's disk is full says so in those words.
//! The failure shows up in many shapes (ENOSPC from a write, EDQUOT from a
//! quota, SQLite's "database or disk is full", or only "disk I/O error" when the
//! write-ahead log cannot grow), and an office cannot be expected to read them.

use std::path::Path;

use super::IngestError;
use crate::archive::ArchiveError;

/// Below this much free space, a SQLite I/O error is taken to be the full disk.
const NEARLY_FULL_BYTES: u64 = 4 << 20;

/// `error`, or [`IngestError::DiskFull`] when the archive's disk being full is
/// what caused it.
pub(super) fn explain(error: IngestError, archive: &Path) -> IngestError {
    let detail = match &error {
        IngestError::Write { path, source } if is_full(source) => {
            format!("cannot write {}: {source}", path.display())
        }
        IngestError::Archive(archive_error) if archive_is_full(archive_error, archive) => {
            archive_error.to_string()
        }
        _ => return error,
    };
    IngestError::DiskFull {
        archive: archive.to_owned(),
        detail,
    }
}

fn is_full(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
        || error.kind() == std::io::ErrorKind::StorageFull
        || error.kind() == std::io::ErrorKind::QuotaExceeded
}

fn archive_is_full(error: &ArchiveError, archive: &Path) -> bool {
    use rusqlite::ErrorCode;
    let sqlite = match error {
        ArchiveError::Folder { source, .. } => return is_full(source),
        ArchiveError::Query(error) | ArchiveError::Database { source: error, .. } => error,
        _ => return false,
    };
    match sqlite.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => true,
        Some(ErrorCode::SystemIoFailure) => {
            free_bytes(archive).is_some_and(|free| free < NEARLY_FULL_BYTES)
        }
        _ => false,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_found_no_space_is_called_a_full_disk() {
        let dir = tempfile::tempdir().unwrap();
        let error = IngestError::Write {
            path: dir.path().join("received/x.pdf"),
            source: std::io::Error::from_raw_os_error(libc::ENOSPC),
        };
        let said = explain(error, dir.path()).to_string();
        assert!(
            said.starts_with("the archive's disk is full: cannot write"),
            "{said}"
        );
        assert!(
            said.contains("nothing was taken out of the inbox"),
            "{said}"
        );
        let other = IngestError::Write {
            path: dir.path().join("x"),
            source: std::io::Error::from_raw_os_error(libc::EACCES),
        };
        assert!(
            explain(other, dir.path())
                .to_string()
                .starts_with("cannot write")
        );
        assert!(free_bytes(dir.path()).is_some());
    }
}
