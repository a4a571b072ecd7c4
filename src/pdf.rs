//! The little PDF plumbing that several stages need when they write a PDF of their
//! own (filed scans, evidence pages): a rectangle array and a page tree around
//! pages whose content and resources the caller made.

use lopdf::{Dictionary, Document, Object, Stream};

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
