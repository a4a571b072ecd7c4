//! What a page draws, as a fingerprint of its operators and their operands
//! rather than of its bytes. A reader that rewrites a file may write the same
//! drawing differently (`qpdf --qdf` writes strings in hex and numbers in its
//! own notation, splits or joins content streams); the policy text is what is
//! drawn, so that is what the register keeps and a return is compared by.
//!
//! Each operation is written out canonically (strings by value whatever their
//! notation, numbers by value to 1/10000, whitespace gone) and hashed; the page
//! keeps the count of its operations, the hash of its first, and the hash of all.
//! Any change of text, position or drawing changes the hash.

use lopdf::Object;
use lopdf::content::{Content, Operation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::id::hex;

/// How many places where the issued drawing could start are tried on one page
/// before giving up: an honest return has one or two, a hostile page many.
const MAX_CANDIDATES: usize = 64;

/// A page's drawing as issued, as the register keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawingPrint {
    pub operations: usize,
    /// SHA-256 of the first operation's canonical form: where a run may start.
    pub first: String,
    /// SHA-256 of every operation's canonical form, in order.
    pub sha256: String,
}

/// Builds a [`DrawingPrint`] from content streams added in drawing order.
#[derive(Clone, Default)]
pub struct DrawingHasher {
    hasher: Sha256,
    operations: usize,
    first: Option<String>,
}

impl DrawingHasher {
    /// Adds one content stream's operations; `Err` when it is not content.
    pub fn add_content(&mut self, content: &[u8]) -> Result<(), String> {
        for operation in operations(content)? {
            self.add_canonical(&canonical(&operation));
        }
        Ok(())
    }

    /// Adds one operation already in its [`canonical`] form.
    pub fn add_canonical(&mut self, canonical: &[u8]) {
        if self.first.is_none() {
            self.first = Some(hex(&Sha256::digest(canonical)));
        }
        self.hasher.update(canonical);
        self.operations += 1;
    }

    pub fn finish(self) -> DrawingPrint {
        DrawingPrint {
            operations: self.operations,
            first: self.first.unwrap_or_default(),
            sha256: hex(&self.hasher.finalize()),
        }
    }
}

/// The operations of one content stream.
pub fn operations(content: &[u8]) -> Result<Vec<Operation>, String> {
    Content::decode(content)
        .map(|c| c.operations)
        .map_err(|e| format!("its drawing commands cannot be read: {e}"))
}

/// Where among `operations` the issued drawing lies, as (start, end).
pub fn find(operations: &[Operation], issued: &DrawingPrint) -> Option<(usize, usize)> {
    if issued.operations == 0 || issued.operations > operations.len() {
        return None;
    }
    let canonical: Vec<Vec<u8>> = operations.iter().map(canonical).collect();
    (0..=operations.len() - issued.operations)
        .filter(|&start| hex(&Sha256::digest(&canonical[start])) == issued.first)
        .take(MAX_CANDIDATES)
        .find(|&start| {
            let mut hasher = Sha256::new();
            for op in &canonical[start..start + issued.operations] {
                hasher.update(op);
            }
            hex(&hasher.finalize()) == issued.sha256
        })
        .map(|start| (start, start + issued.operations))
}

/// True for operations that only save or restore the graphics state, which
/// readers wrap around a page's content when they add to it.
pub fn is_state_only(operation: &Operation) -> bool {
    matches!(operation.operator.as_str(), "q" | "Q")
}

/// One operation, written so that two notations of the same drawing are equal.
pub fn canonical(operation: &Operation) -> Vec<u8> {
    let mut out = canonical_start(&operation.operator, operation.operands.len());
    for operand in &operation.operands {
        object(&mut out, operand, 0);
    }
    out
}

/// The start of an operation's [`canonical`] form: its operator and how many
/// operands follow, each as [`canonical_operand`] writes it.
pub fn canonical_start(operator: &str, operands: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + operands * 9);
    framed(&mut out, b'o', operator.as_bytes());
    out.extend_from_slice(&(operands as u32).to_le_bytes());
    out
}

/// One operand of an operation's [`canonical`] form.
pub fn canonical_operand(operand: &Object) -> Vec<u8> {
    let mut out = Vec::with_capacity(9);
    object(&mut out, operand, 0);
    out
}

fn framed(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn object(out: &mut Vec<u8>, value: &Object, depth: u8) {
    if depth > 16 {
        out.push(b'!');
        return;
    }
    match value {
        Object::Null => out.push(b'z'),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"t" } else { b"f" }),
        Object::Integer(i) => number(out, *i as f64),
        Object::Real(r) => number(out, *r as f64),
        Object::Name(name) => framed(out, b'/', name),
        Object::String(bytes, _) => framed(out, b'(', bytes),
        Object::Array(items) => {
            out.push(b'[');
            out.extend_from_slice(&(items.len() as u32).to_le_bytes());
            for item in items {
                object(out, item, depth + 1);
            }
        }
        Object::Dictionary(dict) => dictionary(out, dict, depth),
        // An inline image: its dictionary and its data.
        Object::Stream(stream) => {
            dictionary(out, &stream.dict, depth);
            framed(out, b's', &stream.content);
        }
        Object::Reference((id, generation)) => {
            out.push(b'R');
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&generation.to_le_bytes());
        }
    }
}

fn dictionary(out: &mut Vec<u8>, dict: &lopdf::Dictionary, depth: u8) {
    let mut entries: Vec<(&Vec<u8>, &Object)> = dict.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push(b'<');
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for (key, value) in entries {
        framed(out, b'/', key);
        object(out, value, depth + 1);
    }
}

/// A number by its value to 1/10000, so `1`, `1.0` and `1.00000` are one number.
fn number(out: &mut Vec<u8>, value: f64) {
    out.push(b'n');
    let scaled = (value * 10_000.0).round();
    out.extend_from_slice(&(scaled as i64).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(content: &[u8]) -> DrawingPrint {
        let mut hasher = DrawingHasher::default();
        hasher.add_content(content).unwrap();
        hasher.finish()
    }

    #[test]
    fn the_same_drawing_written_differently_has_one_print() {
        let issued =
            print(b"BT /F1 12 Tf 1 0 0 1 72.5 700 Tm (I agree) Tj ET\n0 0 1 rg 10 10 50 50 re f");
        // qpdf --qdf: one operation per line, strings in hex, numbers rewritten.
        let rewritten = print(
            b"BT\n/F1 12.0 Tf\n1 0 0 1 72.50 700 Tm\n<49206167726565> Tj\nET\n0 0 1.0 rg\n10 10 50 50 re\nf\n",
        );
        assert_eq!(issued.operations, 8);
        assert_eq!(issued, rewritten);
    }

    #[test]
    fn any_change_of_text_position_or_drawing_changes_the_print() {
        let issued = print(b"BT /F1 12 Tf 72 700 Td (I agree) Tj ET");
        for edited in [
            &b"BT /F1 12 Tf 72 700 Td (I disagree) Tj ET"[..],
            b"BT /F1 12 Tf 72 701 Td (I agree) Tj ET",
            b"BT /F2 12 Tf 72 700 Td (I agree) Tj ET",
            b"BT /F1 12 Tf 72 700 Td (I agree) Tj ET 1 1 1 rg 0 0 9 9 re f",
        ] {
            assert_ne!(
                issued.sha256,
                print(edited).sha256,
                "{}",
                String::from_utf8_lossy(edited)
            );
        }
    }

    #[test]
    fn the_issued_drawing_is_found_among_what_a_reader_added() {
        let issued = print(b"BT (a) Tj ET 0 0 m 5 5 l S");
        let page = operations(b"q BT (a) Tj ET 0 0 m 5 5 l S Q 0 g 200 200 m 300 210 l S").unwrap();
        assert_eq!(find(&page, &issued), Some((1, 7)));
        assert!(is_state_only(&page[0]) && is_state_only(&page[7]));
        let edited = operations(b"q BT (b) Tj ET 0 0 m 5 5 l S Q").unwrap();
        assert_eq!(find(&edited, &issued), None);
    }
}
