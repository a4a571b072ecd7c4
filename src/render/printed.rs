//! The policy fingerprint, taken from what a person sees and signs: the laid-out
//! pages of the readable policy and of the form, not the configuration or the
//! template's bytes. An edit that prints nothing (a heading for a paragraph the
//! school left out, a clause replaced by its own words, a name the policy never
//! shows, a comment in a template) leaves every page as it was, so the version
//! stays and nobody is asked to sign again; one changed word or box moves a glyph
//! and makes a new version.
//!
//! Everything drawn is hashed: glyphs (font, size, colour, position and the text
//! they stand for), shapes, images and link targets. Left out is what only
//! describes where a thing came from: source spans, introspection tags, labels.

use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};
use typst::layout::{Frame, FrameItem};
use typst::model::Destination;
use typst_layout::PagedDocument;

use super::FieldBox;

/// Feeds `std::hash::Hash` straight into SHA-256, so typst's own `Hash` impls
/// (fonts by their data's digest, colours, curves) describe each item, and the
/// result is the same in every process and on every machine of one build.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("the digest is read with finalize, never as a u64")
    }
}

/// SHA-256 (hex) over the pages of the readable policy and of the form, and the
/// form's fillable boxes (a box's name decides which field a reader fills).
pub fn fingerprint(policy: &PagedDocument, form: &PagedDocument, fields: &[FieldBox]) -> String {
    let mut state = Sha256Hasher(Sha256::new());
    "aup-printed-v1".hash(&mut state);
    for document in [policy, form] {
        document.pages().len().hash(&mut state);
        for page in document.pages() {
            page.fill.hash(&mut state);
            hash_frame(&page.frame, &mut state);
        }
    }
    for field in fields {
        (&field.name, &field.kind, field.page).hash(&mut state);
        for edge in [field.left, field.top, field.right, field.bottom] {
            edge.to_bits().hash(&mut state);
        }
    }
    crate::form::id::hex(&state.0.finalize())
}

fn hash_frame(frame: &Frame, state: &mut Sha256Hasher) {
    frame.size().hash(state);
    for (at, item) in frame.items() {
        if let Some(tag) = printed_kind(item) {
            tag.hash(state);
            at.hash(state);
        }
        match item {
            FrameItem::Group(group) => {
                group.transform.hash(state);
                group.clip.hash(state);
                hash_frame(&group.frame, state);
            }
            FrameItem::Text(text) => {
                // Every field but the glyphs' source spans.
                text.font.hash(state);
                text.size.hash(state);
                text.fill.hash(state);
                text.stroke.hash(state);
                text.lang.hash(state);
                text.region.hash(state);
                text.text.hash(state);
                for glyph in &text.glyphs {
                    glyph.id.hash(state);
                    glyph.x_advance.hash(state);
                    glyph.x_offset.hash(state);
                    glyph.y_advance.hash(state);
                    glyph.y_offset.hash(state);
                    glyph.range.hash(state);
                }
            }
            FrameItem::Shape(shape, _span) => shape.hash(state),
            FrameItem::Image(image, size, _span) => {
                image.hash(state);
                size.hash(state);
            }
            FrameItem::Link(destination, size) => {
                size.hash(state);
                match destination {
                    Destination::Url(url) => url.hash(state),
                    Destination::Position(position) => position.hash(state),
                    // A location is an id made from the source: where it leads is
                    // already in the pages.
                    Destination::Location(_) => {}
                }
            }
            FrameItem::Tag(_) => {}
        }
    }
}

/// A tag per kind of item that draws or links, so two different items never
/// hash the same bytes; `None` for what is not printed.
fn printed_kind(item: &FrameItem) -> Option<u8> {
    match item {
        FrameItem::Group(_) => Some(1),
        FrameItem::Text(_) => Some(2),
        FrameItem::Shape(..) => Some(3),
        FrameItem::Image(..) => Some(4),
        FrameItem::Link(..) => Some(5),
        FrameItem::Tag(_) => None,
    }
}
