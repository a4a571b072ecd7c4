//! The policy as issued is still what the file shows: the issued file is a byte
//! prefix of the return (an incremental save, judged by what the update changed),
//! or each page still draws its issued content as one run of content streams.

use std::collections::HashSet;

use lopdf::content::Content;
use lopdf::{Document, Object};
use sha2::{Digest, Sha256};

use super::changes::{self, Modifications};
use crate::archive::RegisteredForm;
use crate::form::drawing;
use crate::form::id::hex;

/// Page content that inflates beyond this is hostile (a policy page is ~20 KB).
pub(super) const MAX_CONTENT_BYTES: usize = 16 << 20;

/// The policy as issued is still what the file shows. Either the issued file is
/// a byte prefix of the return (an incremental save) and what was saved after it
/// is only form filling and annotations; or the reader rewrote the file and each
/// page's issued content is still there as one run of its content streams, with
/// anything added only on the pages that hold boxes (a flattened signature or
/// typed values). For a rewritten file, what each page issued was found is
/// handed back too, for the drawing check to use rather than find again.
pub(super) fn policy_integrity(
    bytes: &[u8],
    doc: &Document,
    form: &RegisteredForm,
) -> Result<(String, Option<Vec<IssuedOnPage>>), String> {
    if let Some(issued) = &form.file_sha256 {
        for end in revision_ends(bytes) {
            if hex(&Sha256::digest(&bytes[..end])) != *issued {
                continue;
            }
            if end == bytes.len() {
                return Ok(("the file is exactly the form as issued".into(), None));
            }
            // Unreadable as a revision: judge the pages instead, below. A
            // revision that changed a page's resources is not judged by its
            // render: the issued view is rebuilt with the return's resources,
            // so a swapped font would draw the same on both sides.
            if let Ok(as_issued) = Document::load_mem(&bytes[..end]) {
                return match changes::compare(&as_issued, doc) {
                    Modifications::Other(changes) => Err(format!(
                        "the form was changed after it was issued: {}",
                        changes.join("; ")
                    )),
                    saved => Ok((
                        format!(
                            "the form as issued is kept byte for byte, then {}",
                            saved.describe()
                        ),
                        None,
                    )),
                };
            }
        }
    }
    let pages: Vec<lopdf::ObjectId> = doc.page_iter().take(1000).collect();
    if pages.len() != form.page_hashes.len() {
        return Err(format!(
            "the form was issued with {} pages; this file has {}",
            form.page_hashes.len(),
            pages.len()
        ));
    }
    let box_pages: HashSet<usize> = form.boxes.iter().map(|b| b.page).collect();
    let mut added = Vec::new();
    let mut drawn_on = Vec::new();
    let mut rewritten = Vec::new();
    let mut located = Vec::with_capacity(pages.len());
    for (n, &page) in pages.iter().enumerate() {
        let found = issued_on_page(doc, page, form, n)
            .map_err(|e| format!("page {}'s content cannot be read: {e}", n + 1))?;
        let Some(found) = found else {
            return Err(format!(
                "page {}'s policy text is not what was issued: the page was edited",
                n + 1
            ));
        };
        if found.rewritten {
            rewritten.push(n + 1);
        }
        // What a page draws beyond what was issued is judged by how it renders
        // (the drawing check): a zero-size image or an empty form changes nothing.
        if found.draws_more {
            match box_pages.contains(&(n + 1)) {
                true => added.push(n + 1),
                false => drawn_on.push(n + 1),
            }
        }
        located.push(found);
    }
    let mut how =
        "every page shows the policy exactly as issued (the PDF program saved the file in its own way)".to_owned();
    if !rewritten.is_empty() {
        how.push_str(&format!(
            "; {} the same drawing written differently",
            pages_said(&rewritten, ("is", "are"))
        ));
    }
    if !added.is_empty() {
        how.push_str(&format!(
            "; {} also what was filled in (flattened)",
            pages_said(&added, ("draws", "draw"))
        ));
    }
    if !drawn_on.is_empty() {
        how.push_str(&format!(
            "; {} more than was issued, compared with the form as issued by what it shows",
            pages_said(&drawn_on, ("draws", "draw"))
        ));
    }
    Ok((how, Some(located)))
}

/// "page 3 draws" or "pages 1, 3 draw".
fn pages_said(pages: &[usize], (one, many): (&str, &str)) -> String {
    let list = pages
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    match pages.len() {
        1 => format!("page {list} {one}"),
        _ => format!("pages {list} {many}"),
    }
}

/// Where one page of the return draws what was issued for it.
pub(super) struct IssuedOnPage {
    /// The issued drawing as content-stream bytes, to draw the form as issued.
    pub content: Vec<u8>,
    /// The page draws more than that (beyond saving and restoring state).
    pub draws_more: bool,
    /// Found by its operators, not its bytes: the reader wrote it differently.
    pub rewritten: bool,
}

/// Page `index` (0-based) of the return against the page as issued: its issued
/// content streams byte for byte, else (for forms whose drawing the register
/// keeps) the same operators written another way. `Ok(None)` when neither is
/// there: the page was edited.
pub(super) fn issued_on_page(
    doc: &Document,
    page: lopdf::ObjectId,
    form: &RegisteredForm,
    index: usize,
) -> Result<Option<IssuedOnPage>, String> {
    let streams = decoded_streams(doc, page)?;
    if let Some(issued) = form.page_hashes.get(index)
        && let Some((start, end)) = issued_run(&streams, issued)
    {
        let mut content = Vec::new();
        for stream in &streams[start..end] {
            content.extend_from_slice(stream);
            content.push(b'\n');
        }
        let added: Vec<&Vec<u8>> = streams[..start]
            .iter()
            .chain(&streams[end..])
            .filter(|s| !is_state_only(s))
            .collect();
        let draws_more = !added.is_empty() && {
            let joined: Vec<u8> = added
                .iter()
                .flat_map(|s| s.iter().chain(b"\n"))
                .copied()
                .collect();
            drawing::operations(&joined)
                .map(|ops| !super::draws_nothing::draws_nothing(doc, page, &ops))
                .unwrap_or(true)
        };
        return Ok(Some(IssuedOnPage {
            content,
            draws_more,
            rewritten: false,
        }));
    }
    let Some(Some(issued)) = form.page_drawings.get(index) else {
        return Ok(None);
    };
    // Streams are one drawing joined by whitespace (PDF 32000-1 7.8.2): a
    // reader may split or join them.
    let joined = streams.join(&b'\n');
    let operations = drawing::operations(&joined)?;
    let Some((start, end)) = drawing::find(&operations, issued) else {
        return Ok(None);
    };
    let content = Content {
        operations: &operations[start..end],
    }
    .encode()
    .map_err(|e| e.to_string())?;
    Ok(Some(IssuedOnPage {
        content,
        draws_more: !super::draws_nothing::draws_nothing(
            doc,
            page,
            &[&operations[..start], &operations[end..]].concat(),
        ),
        rewritten: true,
    }))
}

/// A stream that only saves or restores graphics state (qpdf wraps a page's
/// content in `q` … `Q` when it flattens).
pub(super) fn is_state_only(stream: &[u8]) -> bool {
    stream
        .split(|b| b.is_ascii_whitespace())
        .all(|token| token.is_empty() || token == b"q" || token == b"Q")
}

/// Where a revision may end: just past each `%%EOF` marker, and past the end of
/// line after it when there is one. Our forms end at `%%EOF` with no end of line,
/// and the readers that save incrementally (MuPDF, pdf.js, pyHanko, Poppler)
/// begin their update with one; a writer that ends its own file with an end of
/// line keeps it in its revision. Both ends are candidates, oldest first.
pub(super) fn revision_ends(bytes: &[u8]) -> Vec<usize> {
    let marker = b"%%EOF";
    let mut ends = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], marker) {
        let mut end = from + at + marker.len();
        ends.push(end);
        for eol in [b'\r', b'\n'] {
            if bytes.get(end) == Some(&eol) {
                end += 1;
            }
        }
        if end != *ends.last().unwrap_or(&0) {
            ends.push(end);
        }
        from = end;
        if ends.len() > 128 {
            break;
        }
    }
    ends
}

pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A page's content streams, each decoded, within one budget for the page.
pub(super) fn decoded_streams(
    doc: &Document,
    page: lopdf::ObjectId,
) -> Result<Vec<Vec<u8>>, String> {
    let mut budget = MAX_CONTENT_BYTES;
    let mut streams = Vec::new();
    for id in doc.get_page_contents(page) {
        let Ok(stream) = doc.get_object(id).and_then(Object::as_stream) else {
            continue;
        };
        let data = match stream.decompressed_content_with_limit(budget) {
            Ok(data) => data,
            Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded {
                ..
            })) => {
                return Err(format!(
                    "it inflates to more than {} MB",
                    MAX_CONTENT_BYTES >> 20
                ));
            }
            // lopdf's own rule (get_page_content): undecodable streams count raw.
            Err(_) => stream.content.clone(),
        };
        budget = budget.saturating_sub(data.len());
        streams.push(data);
    }
    Ok(streams)
}

/// The run of consecutive streams (start, end) that, each followed by a newline,
/// hashes to `issued`.
pub(super) fn issued_run(streams: &[Vec<u8>], issued: &str) -> Option<(usize, usize)> {
    (0..streams.len()).find_map(|start| {
        let mut hasher = Sha256::new();
        (start..streams.len()).find_map(|end| {
            hasher.update(&streams[end]);
            hasher.update(b"\n");
            (hex(&hasher.clone().finalize()) == issued).then_some((start, end + 1))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_streams_is_found_wherever_it_sits() {
        let streams = vec![
            b"q".to_vec(),
            b"BT (a) Tj ET".to_vec(),
            b"overlay".to_vec(),
            b"Q".to_vec(),
        ];
        let issued = hex(&Sha256::digest(b"BT (a) Tj ET\noverlay\n"));
        assert_eq!(issued_run(&streams, &issued), Some((1, 3)));
        assert!(is_state_only(&streams[0]) && is_state_only(&streams[3]));
        let edited = hex(&Sha256::digest(b"BT (b) Tj ET\noverlay\n"));
        assert_eq!(issued_run(&streams, &edited), None);
    }

    #[test]
    fn revision_ends_follow_each_eof_marker_with_and_without_its_end_of_line() {
        let file = b"%PDF-1.7\n...%%EOF\nupdate%%EOF\r\n";
        assert_eq!(revision_ends(file), vec![17, 18, 29, file.len()]);
        assert_eq!(revision_ends(b"%%EOF"), vec![5]);
    }
}
