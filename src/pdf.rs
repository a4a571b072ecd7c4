//! The little PDF plumbing that several stages need when they write a PDF of their
//! own (filed scans, evidence pages, the print file): a rectangle array, a page
//! tree around pages whose content and resources the caller made, and pruning
//! what nothing refers to.

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

/// `[x0 y0 x1 y1]`, for /MediaBox, /BBox and /Rect.
pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Object {
    Object::Array(
        [x0, y0, x1, y1]
            .iter()
            .map(|v| (*v as f32).into())
            .collect(),
    )
}

/// A page to add: its content stream, resources and size in points.
pub struct SimplePage {
    pub content: Stream,
    pub resources: Dictionary,
    pub size: (f64, f64),
}

/// Puts `pages` under a page tree and catalog in `doc` and writes it out.
pub fn save_pages(doc: Document, pages: impl IntoIterator<Item = SimplePage>) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = write_pages(doc, pages, &mut out);
    out
}

/// [`save_pages`], written straight to `out`: a filed scan's pages are
/// megabytes, better not copied into memory once more on their way to disk.
pub fn write_pages(
    mut doc: Document,
    pages: impl IntoIterator<Item = SimplePage>,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let name = |n: &[u8]| Object::Name(n.to_vec());
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for page in pages {
        let content = doc.add_object(page.content);
        let page_id = doc.add_object(Dictionary::from_iter([
            ("Type", name(b"Page")),
            ("Parent", Object::Reference(pages_id)),
            ("MediaBox", rect(0.0, 0.0, page.size.0, page.size.1)),
            ("Contents", Object::Reference(content)),
            ("Resources", Object::Dictionary(page.resources)),
        ]));
        kids.push(Object::Reference(page_id));
    }
    let count = kids.len() as i64;
    let tree = Dictionary::from_iter([
        ("Type", name(b"Pages")),
        ("Kids", Object::Array(kids)),
        ("Count", count.into()),
    ]);
    doc.objects.insert(pages_id, Object::Dictionary(tree));
    let catalog = doc.add_object(Dictionary::from_iter([
        ("Type", name(b"Catalog")),
        ("Pages", Object::Reference(pages_id)),
    ]));
    doc.trailer.set("Root", Object::Reference(catalog));
    doc.save_to(out)
}

/// Removes every object the trailer does not reach, as lopdf's
/// `prune_objects` does (the same objects go), but with the objects seen kept
/// as a bitmap by number rather than a hashed set: the print file has tens of
/// thousands of objects, and lopdf's way took a fifth of making it.
pub fn prune_unreachable(doc: &mut Document) {
    let numbers = doc
        .objects
        .keys()
        .map(|(number, _)| *number as usize + 1)
        .max()
        .unwrap_or(0);
    let mut reached = Reached {
        first_generation: vec![false; numbers],
        later_generations: std::collections::HashSet::new(),
        order: Vec::new(),
    };
    for value in doc.trailer.iter().map(|(_, value)| value) {
        references(value, &mut reached);
    }
    let mut next = 0;
    while let Some(&id) = reached.order.get(next) {
        if let Some(object) = doc.objects.get(&id) {
            references(object, &mut reached);
        }
        next += 1;
    }
    doc.objects.retain(|&id, _| reached.contains(id));
}

/// The objects reached so far, and the order they were reached in (each
/// object's references are followed in turn).
struct Reached {
    /// By number, for generation 0 (every object Typst and aup write).
    first_generation: Vec<bool>,
    later_generations: std::collections::HashSet<ObjectId>,
    order: Vec<ObjectId>,
}

impl Reached {
    fn insert(&mut self, id: ObjectId) {
        let new = match self.first_generation.get_mut(id.0 as usize) {
            Some(seen) if id.1 == 0 => !std::mem::replace(seen, true),
            _ => self.later_generations.insert(id),
        };
        if new {
            self.order.push(id);
        }
    }

    fn contains(&self, id: ObjectId) -> bool {
        match self.first_generation.get(id.0 as usize) {
            Some(&seen) if id.1 == 0 => seen,
            _ => self.later_generations.contains(&id),
        }
    }
}

fn references(object: &Object, reached: &mut Reached) {
    match object {
        Object::Array(items) => items.iter().for_each(|item| references(item, reached)),
        Object::Dictionary(dict) => dict
            .iter()
            .for_each(|(_, value)| references(value, reached)),
        Object::Stream(stream) => stream
            .dict
            .iter()
            .for_each(|(_, value)| references(value, reached)),
        Object::Reference(id) => reached.insert(*id),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_removes_what_lopdf_removes() {
        let mut doc = Document::with_version("1.7");
        let kept = doc.add_object(Object::Integer(1));
        let orphan = doc.add_object(Object::Integer(2));
        // A cycle nothing outside refers to, and one the catalogue does.
        let (a, b) = (doc.new_object_id(), doc.new_object_id());
        doc.objects
            .insert(a, Object::Array(vec![Object::Reference(b)]));
        doc.objects
            .insert(b, Object::Array(vec![Object::Reference(a)]));
        let (c, d) = (doc.new_object_id(), doc.new_object_id());
        doc.objects
            .insert(c, Object::Array(vec![Object::Reference(d)]));
        let stream = doc.add_object(Stream::new(
            Dictionary::from_iter([("Next", Object::Reference(c))]),
            b"x".to_vec(),
        ));
        doc.objects
            .insert(d, Object::Array(vec![Object::Reference(c)]));
        // A later generation, referred to, and one that is not.
        doc.objects.insert((40, 2), Object::Null);
        doc.objects.insert((41, 1), Object::Null);
        let catalog = doc.add_object(Dictionary::from_iter([(
            "Things",
            Object::Array(vec![
                Object::Reference(kept),
                Object::Dictionary(Dictionary::from_iter([("Deep", Object::Reference(stream))])),
                Object::Reference((40, 2)),
                // A number with no object: nothing to follow.
                Object::Reference((99, 0)),
            ]),
        )]));
        doc.trailer.set("Root", Object::Reference(catalog));
        let mut by_lopdf = doc.clone();
        by_lopdf.prune_objects();
        prune_unreachable(&mut doc);
        let ours: Vec<_> = doc.objects.keys().copied().collect();
        let theirs: Vec<_> = by_lopdf.objects.keys().copied().collect();
        assert_eq!(ours, theirs);
        assert!(!ours.contains(&orphan) && !ours.contains(&a) && !ours.contains(&(41, 1)));
        assert!(ours.contains(&c) && ours.contains(&d) && ours.contains(&(40, 2)));
    }
}
