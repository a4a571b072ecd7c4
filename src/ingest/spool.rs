//! The run's spool: scratch space for page images between a reader worker and
//! filing, inside the archive so nothing is copied across file systems.

use std::path::{Path, PathBuf};

use super::{IngestError, worker};

/// Scratch space for page images between reading and filing, inside the archive
/// (same file system, so nothing is copied twice): one folder per worker, emptied
/// at the start and end of every run.
pub(crate) struct RunSpool {
    dir: PathBuf,
}

impl RunSpool {
    pub(crate) fn new(archive: &Path) -> Result<Self, IngestError> {
        let dir = archive.join(".spool");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|source| IngestError::Write {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    /// A fresh folder for one worker.
    pub(crate) fn for_worker(&self, n: usize) -> Result<PathBuf, IngestError> {
        worker::spool_for(&self.dir, n).map_err(|source| IngestError::Write {
            path: self.dir.clone(),
            source,
        })
    }

    /// A path a worker handed back, if it lies in the spool (a worker's answer is
    /// checked, not trusted).
    pub(crate) fn holds(&self, path: &Path) -> bool {
        path.starts_with(&self.dir)
            && path
                .components()
                .all(|c| !matches!(c, std::path::Component::ParentDir))
    }
}

impl Drop for RunSpool {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
