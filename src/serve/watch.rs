//! Noticing what lands in the inbox: file-system notifications (the `notify`
//! crate: inotify here) where they work, polling where they do not (network
//! shares: a copier writing over SMB or NFS to another machine's folder sends no
//! notification to this one), and in both a file taken only once it has settled:
//! its size and modification time unchanged for the settle time, as seen by us.
//! A copy that keeps the source's modification time (Explorer over SMB does)
//! still grows, so the size is watched too.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// How often the inbox is swept even when notifications work: a missed event
/// (an overflowed queue, a folder replaced under the watch) costs at most this.
pub const SWEEP: Duration = Duration::from_secs(60);

/// How the inbox is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watching {
    Notifications,
    Polling(Duration),
}

impl Watching {
    pub fn describe(self) -> String {
        match self {
            Self::Notifications => "notifications, and a sweep every minute".into(),
            Self::Polling(every) => format!("polling every {} s", every.as_secs()),
        }
    }

    /// How the office's pages say it.
    pub fn plain(self) -> String {
        match self {
            Self::Notifications => "new files are filed as soon as they have arrived".into(),
            Self::Polling(every) => {
                format!(
                    "the inbox folder is looked at every {} seconds",
                    every.as_secs()
                )
            }
        }
    }
}

/// Starts watching `inbox`: every change calls `wake`, which answers false once
/// nobody listens any more. Returns how it is watched (polling when
/// notifications could not be set up) and the watcher, which must be kept alive.
pub fn start(
    inbox: &Path,
    wanted: Watching,
    wake: impl Fn() -> bool + Clone + Send + 'static,
) -> (Watching, Option<notify::RecommendedWatcher>) {
    let (watching, watcher) = match wanted {
        Watching::Polling(_) => (wanted, None),
        Watching::Notifications => match notifications(inbox, wake.clone()) {
            Ok(watcher) => (wanted, Some(watcher)),
            Err(error) => {
                eprintln!(
                    "aup serve: warning: no file-system notifications for {} ({error}); polling every 10 s instead",
                    inbox.display()
                );
                (Watching::Polling(Duration::from_secs(10)), None)
            }
        },
    };
    let every = match watching {
        Watching::Notifications => SWEEP,
        Watching::Polling(every) => every,
    };
    std::thread::Builder::new()
        .name("aup-poll".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                if !wake() {
                    return;
                }
            }
        })
        .expect("the polling thread starts");
    (watching, watcher)
}

fn notifications(
    inbox: &Path,
    wake: impl Fn() -> bool + Send + 'static,
) -> notify::Result<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reads and errors wake it too: a sweep costs little, a missed file a lot.
        let quiet = matches!(&event, Ok(e) if e.kind.is_access());
        if !quiet {
            wake();
        }
    })?;
    watcher.watch(inbox, RecursiveMode::Recursive)?;
    Ok(watcher)
}

/// What one look in the inbox found.
#[derive(Debug, Default)]
pub struct Look {
    /// Files unchanged for the settle time: ready to file.
    pub settled: BTreeSet<PathBuf>,
    /// Files still changing, or not yet watched for long enough.
    pub settling: usize,
    /// Files a batch was given and left where they were (unreadable, say): not
    /// offered again until they change. Names below the inbox.
    pub left: Vec<String>,
    /// When the next of those will have settled.
    pub next_check: Option<Duration>,
}

/// Remembers each inbox file's size and modification time and since when they
/// have stayed the same.
#[derive(Debug, Default)]
pub struct SettleTracker {
    seen: HashMap<PathBuf, (u64, Option<SystemTime>, Instant)>,
    /// Files a batch left in the inbox, as they were then.
    held: HashMap<PathBuf, (u64, Option<SystemTime>)>,
}

impl SettleTracker {
    pub fn look(&mut self, inbox: &Path, settle: Duration) -> Look {
        self.look_at(inbox, settle, Instant::now())
    }

    fn look_at(&mut self, inbox: &Path, settle: Duration, now: Instant) -> Look {
        let mut look = Look::default();
        let mut present = HashMap::new();
        let mut present_held = HashMap::new();
        for entry in walkdir::WalkDir::new(inbox)
            .follow_links(false)
            .into_iter()
            .flatten()
        {
            // Hidden files (ours while taking, a copier's while writing) and
            // anything not a file are ingest's to explain, not ours to time.
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if entry.depth() == 0 || hidden || !entry.file_type().is_file() {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let now_is = (meta.len(), meta.modified().ok());
            if self.held.get(entry.path()) == Some(&now_is) {
                let name = entry.path().strip_prefix(inbox).unwrap_or(entry.path());
                look.left.push(name.to_string_lossy().into_owned());
                present_held.insert(entry.path().to_owned(), now_is);
                continue;
            }
            let since = match self.seen.get(entry.path()) {
                Some((size, modified, since)) if (*size, *modified) == now_is => *since,
                _ => now,
            };
            let steady = now.duration_since(since);
            match steady >= settle {
                true => {
                    look.settled.insert(entry.path().to_owned());
                }
                false => {
                    look.settling += 1;
                    let left = settle - steady;
                    look.next_check = Some(look.next_check.map_or(left, |n| n.min(left)));
                }
            }
            present.insert(entry.into_path(), (now_is.0, now_is.1, since));
        }
        self.seen = present;
        self.held = present_held;
        look
    }

    /// After a batch: those of `given` still in the inbox exactly as they were
    /// offered are held back until they change (ingest left them, and said why
    /// in its log). One that changed while it was read is not held: it settles
    /// and is offered again.
    pub fn hold_left(&mut self, given: &BTreeSet<PathBuf>) {
        for path in given {
            let Ok(meta) = std::fs::symlink_metadata(path) else {
                continue;
            };
            let now_is = (meta.len(), meta.modified().ok());
            let unchanged = self
                .seen
                .get(path)
                .is_some_and(|(size, modified, _)| (*size, *modified) == now_is);
            if unchanged {
                self.held.insert(path.clone(), now_is);
                self.seen.remove(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_settles_only_after_it_stops_growing() {
        let inbox = tempfile::tempdir().unwrap();
        let file = inbox.path().join("scan.pdf");
        std::fs::write(&file, b"%PDF-1.7 part").unwrap();
        let settle = Duration::from_secs(5);
        let mut tracker = SettleTracker::default();
        let start = Instant::now();
        let first = tracker.look_at(inbox.path(), settle, start);
        assert!(first.settled.is_empty());
        assert_eq!(first.settling, 1);
        assert_eq!(first.next_check, Some(settle));
        // It grows after 4 s: the clock starts again.
        std::fs::write(&file, b"%PDF-1.7 part and more").unwrap();
        let grown = tracker.look_at(inbox.path(), settle, start + Duration::from_secs(4));
        assert!(grown.settled.is_empty());
        let early = tracker.look_at(inbox.path(), settle, start + Duration::from_secs(8));
        assert!(early.settled.is_empty(), "only 4 s unchanged");
        let settled = tracker.look_at(inbox.path(), settle, start + Duration::from_secs(9));
        assert_eq!(settled.settled.into_iter().collect::<Vec<_>>(), [file]);
    }

    #[test]
    fn hidden_files_and_subfolders() {
        let inbox = tempfile::tempdir().unwrap();
        std::fs::create_dir(inbox.path().join("copier")).unwrap();
        let nested = inbox.path().join("copier").join("scan.pdf");
        std::fs::write(&nested, b"x").unwrap();
        std::fs::write(inbox.path().join(".partial.pdf"), b"x").unwrap();
        let mut tracker = SettleTracker::default();
        let start = Instant::now();
        tracker.look_at(inbox.path(), Duration::from_secs(1), start);
        let look = tracker.look_at(
            inbox.path(),
            Duration::from_secs(1),
            start + Duration::from_secs(2),
        );
        assert_eq!(look.settled.into_iter().collect::<Vec<_>>(), [nested]);
        assert_eq!(look.settling, 0);
    }
}

#[cfg(test)]
mod held_tests {
    use super::*;

    #[test]
    fn a_file_a_batch_left_is_not_offered_again_until_it_changes() {
        let inbox = tempfile::tempdir().unwrap();
        let file = inbox.path().join("locked.pdf");
        std::fs::write(&file, b"%PDF-1.7").unwrap();
        let mut tracker = SettleTracker::default();
        let start = Instant::now();
        tracker.look_at(inbox.path(), Duration::from_secs(1), start);
        let look = tracker.look_at(
            inbox.path(),
            Duration::from_secs(1),
            start + Duration::from_secs(2),
        );
        assert_eq!(look.settled.len(), 1);
        tracker.hold_left(&look.settled);
        let again = tracker.look_at(
            inbox.path(),
            Duration::from_secs(1),
            start + Duration::from_secs(9),
        );
        assert!(again.settled.is_empty());
        assert_eq!(again.left, ["locked.pdf"]);
        // Replaced by a good copy: offered again once it settles.
        std::fs::write(&file, b"%PDF-1.7 and more").unwrap();
        let changed = tracker.look_at(
            inbox.path(),
            Duration::from_secs(1),
            start + Duration::from_secs(10),
        );
        assert!(changed.left.is_empty() && changed.settling == 1);
    }
}
