//! The inbox, as the office's copier and mail rules fill it: which entries are
//! ready, taking a file's exact bytes into the archive, and letting go of an inbox
//! entry only when it is still the very file that was read.
//!
//! A file is hashed and copied through one open handle, so the SHA-256 is that of
//! the bytes stored. Removing it is a rename to a hidden name in the same folder,
//! then a check that the renamed file is the one read (device, inode, size,
//! modification time): a file renamed over the entry, or rewritten in place, after
//! it was read is put back for the next run, never deleted unarchived.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::pages::{FileKind, MAX_FILE_BYTES};

/// An inbox file being let go of is renamed to this prefix + its name first.
const TAKING: &str = ".aup-taking.";

/// An inbox entry ready to be read.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    /// The path below the inbox, for people (lossy if the name is not UTF-8).
    pub name: String,
}

/// An entry left alone, and why: said in every run's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// What is in the inbox: entries ready to read, and entries left alone.
pub fn list(inbox: &Path, settle: Duration) -> std::io::Result<(Vec<Entry>, Vec<Skipped>)> {
    if !inbox.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such folder",
        ));
    }
    let now = SystemTime::now();
    let (mut ready, mut skipped) = (Vec::new(), Vec::new());
    let name_of = |path: &Path| {
        path.strip_prefix(inbox)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    };
    for entry in walkdir::WalkDir::new(inbox)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let name = e.path().map(name_of).unwrap_or_else(|| "?".into());
                skipped.push(Skipped {
                    name,
                    reason: format!("cannot be read ({e}); check its permissions"),
                });
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let name = name_of(entry.path());
        let kind = entry.file_type();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let mut skip = |reason: String| {
            skipped.push(Skipped {
                name: name.clone(),
                reason,
            })
        };
        if kind.is_dir() {
            continue;
        }
        if hidden {
            skip("a hidden file (a copier's temporary file?): left alone".into());
            continue;
        }
        if kind.is_symlink() {
            skip(
                "a symbolic link: links are not followed out of the inbox; copy the file itself in"
                    .into(),
            );
            continue;
        }
        if !kind.is_file() {
            use std::os::unix::fs::FileTypeExt;
            let what = match () {
                _ if kind.is_fifo() => "a FIFO (named pipe)",
                _ if kind.is_socket() => "a socket",
                _ if kind.is_block_device() || kind.is_char_device() => "a device",
                _ => "not a regular file",
            };
            skip(format!("{what}, not a file: left alone"));
            continue;
        }
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            Err(e) => {
                skip(format!("cannot be read ({e})"));
                continue;
            }
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if age < settle {
            skip(format!(
                "changed {} s ago: a copier may still be writing it; taken by the next run",
                age.as_secs()
            ));
            continue;
        }
        ready.push(Entry {
            path: entry.into_path(),
            name,
        });
    }
    Ok((ready, skipped))
}

/// Which file an inbox entry was when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
}

impl Identity {
    fn of(meta: &std::fs::Metadata) -> Self {
        Self {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.len(),
            modified: (meta.mtime(), meta.mtime_nsec()),
        }
    }
}

/// A file's bytes, now in the archive.
#[derive(Debug, Clone)]
pub struct Received {
    pub sha256: String,
    pub size: u64,
    pub kind: Option<FileKind>,
    pub identity: Identity,
    /// Where the archive keeps the bytes; `None` when they were there already
    /// (the same bytes came before) and `known` said so.
    pub stored: Option<PathBuf>,
    /// For bytes that came before: where the archive keeps them.
    pub known: Option<String>,
}

/// Why a file was not taken in.
#[derive(Debug)]
pub enum Refused {
    /// Not a file that could be read; stays in the inbox.
    Unreadable(String),
    /// Bigger than any scan batch; stays in the inbox.
    TooLarge(String),
    /// It changed while it was read: left for the next run.
    Changed(String),
    /// The archive could not be written: the run stops.
    Archive(PathBuf, std::io::Error),
}

/// Hashes and copies an inbox file into `<archive>/received/` through one open
/// handle. `known` says where the archive already keeps bytes of a SHA-256; such a
/// file is not stored twice.
pub fn receive(
    path: &Path,
    archive: &Path,
    known: impl FnOnce(&str) -> Option<String>,
) -> Result<Received, Refused> {
    let (received, unsynced) = receive_unsynced(path, archive, known)?;
    if let Some(unsynced) = unsynced {
        unsynced
            .make_durable()
            .map_err(|(path, e)| Refused::Archive(path, e))?;
    }
    Ok(received)
}

/// The archive's new copy of a received file, in place under its content
/// address but not yet synced: a reader can start on it while the disk
/// catches up. Nothing may refer to it (the index, or the inbox file's
/// release) before [`Unsynced::make_durable`] has succeeded.
#[derive(Debug)]
pub struct Unsynced {
    file: std::fs::File,
    stored: PathBuf,
}

impl Unsynced {
    /// Syncs the copy and the folders that name it. On failure the copy is
    /// removed (the run stops and the inbox keeps the file), and the error
    /// names it.
    pub fn make_durable(self) -> Result<(), (PathBuf, std::io::Error)> {
        let synced = (|| {
            self.file.sync_all()?;
            let dir = self.stored.parent().unwrap_or(Path::new("."));
            std::fs::File::open(dir)?.sync_all()?;
            std::fs::File::open(dir.parent().unwrap_or(Path::new(".")))?.sync_all()
        })();
        synced.map_err(|e| {
            let _ = std::fs::remove_file(&self.stored);
            (self.stored, e)
        })
    }
}

/// [`receive`], leaving the new copy's sync to the caller.
pub fn receive_unsynced(
    path: &Path,
    archive: &Path,
    known: impl FnOnce(&str) -> Option<String>,
) -> Result<(Received, Option<Unsynced>), Refused> {
    let unreadable = |e: std::io::Error| Refused::Unreadable(format!("cannot read: {e}"));
    // O_NOFOLLOW: a link swapped in since the listing is not followed; O_NONBLOCK:
    // a FIFO swapped in does not hang the run (it is refused below).
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(unreadable)?;
    let before = file.metadata().map_err(unreadable)?;
    if !before.is_file() {
        return Err(Refused::Unreadable("not a regular file".into()));
    }
    if before.len() > MAX_FILE_BYTES {
        return Err(Refused::TooLarge(format!(
            "the file is {} MB, more than a scan batch can be",
            before.len() / 1_000_000
        )));
    }
    let received = archive.join("received");
    std::fs::create_dir_all(&received).map_err(|e| Refused::Archive(received.clone(), e))?;
    let temp = received.join(format!(".incoming.{}.tmp", std::process::id()));
    let archive_error = |e| Refused::Archive(temp.clone(), e);
    let mut out = std::fs::File::create(&temp).map_err(archive_error)?;
    let copied = (|| -> Result<(String, u64, Vec<u8>), Refused> {
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        let mut head = Vec::new();
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buffer).map_err(unreadable)?;
            if n == 0 {
                break;
            }
            if head.len() < 1024 {
                head.extend_from_slice(&buffer[..n.min(1024 - head.len())]);
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n]).map_err(archive_error)?;
            size += n as u64;
            if size > MAX_FILE_BYTES {
                return Err(Refused::TooLarge(
                    "the file grew past the size of any scan batch while it was read".into(),
                ));
            }
        }
        Ok((crate::form::id::hex(&hasher.finalize()), size, head))
    })();
    let (sha256, size, head) = match copied {
        Ok(copied) => copied,
        Err(refused) => {
            let _ = std::fs::remove_file(&temp);
            return Err(refused);
        }
    };
    let after = file.metadata().map_err(unreadable)?;
    let identity = Identity::of(&before);
    if Identity::of(&after) != identity || size != before.len() {
        let _ = std::fs::remove_file(&temp);
        return Err(Refused::Changed(
            "it changed while it was being read (still being written?): left for the next run"
                .into(),
        ));
    }
    let kind = FileKind::sniff(&head);
    if let Some(stored) = known(&sha256) {
        let _ = std::fs::remove_file(&temp);
        let received = Received {
            sha256,
            size,
            kind,
            identity,
            stored: None,
            known: Some(stored),
        };
        return Ok((received, None));
    }
    let extension = kind.map(FileKind::extension).unwrap_or("bin");
    let dir = received.join(&sha256[..2]);
    let stored = dir.join(format!("{sha256}.{extension}"));
    // Renamed into place before it is synced: a crash in between leaves an
    // unindexed copy that the next run's copy of the same bytes replaces.
    let placed = std::fs::create_dir_all(&dir).and_then(|()| std::fs::rename(&temp, &stored));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&temp);
        return Err(Refused::Archive(stored, e));
    }
    let received = Received {
        sha256,
        size,
        kind,
        identity,
        stored: Some(stored.clone()),
        known: None,
    };
    Ok((received, Some(Unsynced { file: out, stored })))
}

/// Removes an inbox entry whose bytes are archived, if it is still the file that
/// was read; otherwise leaves it (under its own name) for the next run and says why.
pub fn release(path: &Path, read: Identity) -> Result<(), String> {
    let (Some(dir), Some(file_name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let mut hidden_name = std::ffi::OsString::from(TAKING);
    hidden_name.push(file_name);
    let hidden = dir.join(hidden_name);
    match std::fs::rename(path, &hidden) {
        Ok(()) => {}
        // Gone already (moved away by someone): nothing of ours to remove.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{} could not be removed: {e}", path.display())),
    }
    let now = std::fs::symlink_metadata(&hidden).map(|m| Identity::of(&m));
    if now.as_ref().ok() == Some(&read) {
        return std::fs::remove_file(&hidden)
            .map_err(|e| format!("{} could not be removed: {e}", path.display()));
    }
    let back = put_back(&hidden, path);
    Err(format!(
        "{} changed after it was read (replaced or rewritten): left in the inbox{back} for the next run",
        path.display()
    ))
}

/// Renames a hidden entry back to its name, or beside it when that name was
/// taken meanwhile; says where it went when not under its own name.
fn put_back(hidden: &Path, path: &Path) -> String {
    // A hard link fails if the name exists: no rename ever replaces a file.
    if std::fs::hard_link(hidden, path).is_ok() {
        let _ = std::fs::remove_file(hidden);
        return String::new();
    }
    for n in 1..1000 {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".kept-{n}"));
        let beside = PathBuf::from(name);
        if std::fs::hard_link(hidden, &beside).is_ok() {
            let _ = std::fs::remove_file(hidden);
            return format!(" as {}", beside.display());
        }
    }
    format!(" as {}", hidden.display())
}

/// Entries a killed run was letting go of (renamed to a hidden name, not yet
/// checked): put back under their names. The bytes of any that were archived are
/// then found to be duplicates and removed properly.
pub fn recover(inbox: &Path) -> Vec<String> {
    let mut recovered = Vec::new();
    for entry in walkdir::WalkDir::new(inbox)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        let Some(name) = entry.file_name().to_str() else {
            continue;
        };
        let Some(original) = name.strip_prefix(TAKING) else {
            continue;
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path().with_file_name(original);
        let back = put_back(entry.path(), &path);
        recovered.push(format!(
            "{} was being removed when a run stopped: put back{back}",
            path.display()
        ));
    }
    recovered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_replaced_after_reading_is_put_back_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        let path = dir.path().join("scan.pdf");
        std::fs::write(&path, b"%PDF-1.7 first").unwrap();
        let received = receive(&path, &archive, |_| None).unwrap();
        // Someone renames a new scan over the entry after it was read.
        let newer = dir.path().join("newer.pdf");
        std::fs::write(&newer, b"%PDF-1.7 second, a different scan").unwrap();
        std::fs::rename(&newer, &path).unwrap();
        let warning = release(&path, received.identity).unwrap_err();
        assert!(warning.contains("changed after it was read"), "{warning}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"%PDF-1.7 second, a different scan"
        );
        // The unchanged file goes.
        let again = receive(&path, &archive, |_| None).unwrap();
        release(&path, again.identity).unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn the_stored_copy_has_the_hash_it_is_named_by() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        let path = dir.path().join("scan.pdf");
        std::fs::write(&path, b"%PDF-1.7 bytes").unwrap();
        let received = receive(&path, &archive, |_| None).unwrap();
        let stored = std::fs::read(received.stored.unwrap()).unwrap();
        assert_eq!(
            crate::form::id::hex(&Sha256::digest(&stored)),
            received.sha256
        );
        assert_eq!(received.kind, Some(FileKind::Pdf));
    }
}
