//! Fuzzes the first stage of reading a received file: opening it (rasters are
//! decoded then) and turning each scanner's page into the grey image the code
//! search works on without the renderer (a JPEG by zune-jpeg, a CCITT fax
//! image by hayro-ccitt, each shrunk on the way). The `reader` target runs
//! this too, but behind the renderer and the code search, at a few executions
//! a second; this one runs the decoders alone, so a change to them is fuzzed
//! in minutes, not hours.

use std::sync::Arc;

use aup::ingest::pages::{FileBytes, FileKind, PageSource};

/// Pages read per input: a mutated page count must not make one input run long.
const PAGES_PER_INPUT: usize = 4;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some(kind) = FileKind::sniff(data) else {
            return;
        };
        let Ok(source) = PageSource::open(Arc::new(FileBytes::Owned(data.to_vec())), kind) else {
            return;
        };
        for index in 0..source.count().min(PAGES_PER_INPUT) {
            // At a resolution that shrinks the seeds' 100-dpi pages.
            let _ = source.quick_page(index, 40.0);
        }
    });
}
