//! Fuzzes what a reader worker does with a received file: sniffing its kind,
//! then everything `aup __reader` does for `aup ingest` (parse, decode, render,
//! find and decode QR codes, measure ink, inspect digital returns against a real
//! issue register), and the answer's serialisation. It runs the worker's own
//! entry point in-process, on a thread with the worker's stack, so a crash here
//! is a crash a worker would have on that file.
//!
//! Needs `AUP_FUZZ_ARCHIVE` (an archive with issued forms) and
//! `AUP_FUZZ_SCHOOLS` (their YAML folder); `fuzz/run.sh` makes both.

use std::path::PathBuf;

use aup::ingest::pages::FileKind;
use aup::ingest::protocol::{Request, Task};
use aup::ingest::worker::{READER_STACK, answer, prepare_reading_threads};

fn main() {
    let folder = |name: &str| -> PathBuf {
        std::env::var_os(name)
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("{name} must name a folder (see fuzz/run.sh)"))
    };
    let archive = folder("AUP_FUZZ_ARCHIVE");
    let schools = folder("AUP_FUZZ_SCHOOLS");
    let work = tempfile::tempdir().expect("a temporary folder");
    let spool = work.path().join("spool");
    afl::fuzz!(|data: &[u8]| {
        // Threads made before this loop would not exist in AFL's forked copies of
        // this process, so the pool is made in the first run of each copy.
        prepare_reading_threads();
        // Ingest quarantines anything it cannot sniff without reading it further.
        let Some(kind) = FileKind::sniff(data) else {
            return;
        };
        let file = work.path().join(format!("received.{}", kind.extension()));
        std::fs::write(&file, data).expect("the fuzz input can be written");
        std::fs::create_dir_all(&spool).expect("the spool can be made");
        let request = Request {
            file,
            kind,
            archive: archive.clone(),
            schools: schools.clone(),
            spool: spool.clone(),
            task: Task::Scan,
        };
        let answer = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(READER_STACK)
                .spawn_scoped(scope, || answer(&request))
                .expect("a reading thread")
                .join()
                .expect("the reader does not panic")
        });
        serde_json::to_vec(&answer).expect("an answer serialises");
        let _ = std::fs::remove_dir_all(&spool);
    });
}
