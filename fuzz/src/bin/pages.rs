//! Fuzzes the first stage of reading a received file: opening it and turning
//! each page into the grey image the code search and ink measurement work on
//! (rasters decoded, a scanner's JPEG or CCITT fax page decoded straight to
//! grey without the renderer, any other PDF page rendered by hayro). The
//! `reader` target runs this too, but behind the code search, at a few
//! executions a second; this one runs the decoders alone, thousands of times
//! faster, so a change to them is fuzzed in minutes, not hours.

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
            // The quick path first, as the reader tries it (at a resolution
            // that shrinks the seeds' 100-dpi pages), then the renderer, at a
            // low resolution so that each input stays quick.
            let _ = source.quick_page(index, 40.0);
            let _ = source.page(index, 40.0);
        }
    });
}
