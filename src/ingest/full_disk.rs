//! A run that fails because the archive's disk is full says so in those words.
//! The failure shows up in many shapes (ENOSPC from a write, EDQUOT from a
//! quota, SQLite's "database or disk is full", or only "disk I/O error" when the
//! write-ahead log cannot grow), and an office cannot be expected to read them.

use std::path::Path;

use super::IngestError;
use crate::durable::is_full;

/// `error`, or [`IngestError::DiskFull`] when the archive's disk being full is
/// what caused it.
pub(super) fn explain(error: IngestError, archive: &Path) -> IngestError {
    let detail = match &error {
        IngestError::Write { path, source } if is_full(source) => {
            format!("cannot write {}: {source}", path.display())
        }
        IngestError::Archive(archive_error) if archive_error.is_disk_full(archive) => {
            archive_error.to_string()
        }
        _ => return error,
    };
    IngestError::DiskFull {
        archive: archive.to_owned(),
        detail,
    }
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
        assert!(crate::durable::free_bytes(dir.path()).is_some());
    }
}
