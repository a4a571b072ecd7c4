//! What changed in a PDF after a signed revision. Filling fields and adding
//! annotations are what a signed form may still receive (a second signer, the
//! office's approval, a reader's appearance streams); anything that touches what
//! a page draws, or the page tree, is a change to the signed document.
//!
//! Both revisions are parsed and compared object by object. An object the later
//! revision changed is allowed when it is not reachable from any page's content or
//! resources and is not a page (whose `/Annots` alone may change), the page tree,
//! or a catalogue entry other than the form, metadata and validation data.

use std::collections::{BTreeSet, HashSet};

use lopdf::{Dictionary, Document, Object, ObjectId};
use serde::Serialize;

/// How far a later revision went, in pyHanko's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modifications {
    Untouched,
    /// Only fields (values, appearances) and the form's own dictionaries.
    FormFilling,
    /// Form filling and new or changed annotations.
    Annotations,
    /// Anything else: listed, for people.
    Other(Vec<String>),
}

impl Modifications {
    pub fn describe(&self) -> String {
        match self {
            Self::Untouched => "untouched: nothing was added after signing".into(),
            Self::FormFilling => "extended with form filling only".into(),
            Self::Annotations => "extended with form filling and annotations".into(),
            Self::Other(changes) => format!("other changes after signing: {}", changes.join("; ")),
        }
    }

    pub fn allowed(&self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

/// Catalogue keys a later revision may set: the form, XMP metadata, PAdES
/// validation data, extension levels.
const CATALOG_MAY_CHANGE: &[&[u8]] = &[b"AcroForm", b"Metadata", b"DSS", b"Extensions", b"Perms"];

/// Compares the signed revision with the whole file.
pub fn compare(signed: &Document, full: &Document) -> Modifications {
    let mut other = Vec::new();
    let signed_pages: Vec<ObjectId> = signed.page_iter().collect();
    let full_pages: Vec<ObjectId> = full.page_iter().collect();
    if signed_pages != full_pages {
        other.push(format!(
            "the pages changed ({} signed, {} now)",
            signed_pages.len(),
            full_pages.len()
        ));
    }
    // What each page draws, once: their union is what may not change.
    let drawn_by_page: Vec<HashSet<ObjectId>> = signed_pages
        .iter()
        .map(|&page| drawn_objects(signed, page))
        .collect();
    let page_tree = page_tree_nodes(signed);
    let catalog = signed
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .ok();
    let mut filling = false;
    let mut annotations = false;
    for (&id, before) in &signed.objects {
        let after = full.objects.get(&id);
        if after.is_some_and(|after| same(before, after)) {
            continue;
        }
        let Some(after) = after else {
            if drawn_by_page.iter().any(|d| d.contains(&id)) || page_tree.contains(&id) {
                other.push(format!(
                    "object {} {} that a page draws was removed",
                    id.0, id.1
                ));
            }
            continue;
        };
        if let Some(n) = signed_pages.iter().position(|&p| p == id) {
            match changed_keys(before, after, &[b"Annots"]) {
                keys if keys.is_empty() => annotations = true,
                keys => other.push(format!("page {}'s {} changed", n + 1, keys.join(", "))),
            }
        } else if page_tree.contains(&id) {
            other.push("the page tree changed".into());
        } else if Some(id) == catalog {
            let keys = changed_keys(before, after, CATALOG_MAY_CHANGE);
            if !keys.is_empty() {
                other.push(format!(
                    "the document catalogue's {} changed",
                    keys.join(", ")
                ));
            }
        } else if let Some(n) = drawn_by_page.iter().position(|d| d.contains(&id)) {
            let page = format!("page {}", n + 1);
            other.push(format!(
                "{page}'s content or resources changed (object {} {})",
                id.0, id.1
            ));
        } else if is_annotation(after) && !is_field(after) {
            annotations = true;
        } else {
            filling = true;
        }
    }
    // New objects: annotations or fields; a new page content would have changed
    // a page dictionary, which is caught above.
    for (id, object) in &full.objects {
        if signed.objects.contains_key(id) {
            continue;
        }
        if is_annotation(object) && !is_field(object) {
            annotations = true;
        } else {
            filling = true;
        }
    }
    match (other.is_empty(), annotations, filling) {
        (false, _, _) => Modifications::Other(other),
        (true, true, _) => Modifications::Annotations,
        (true, false, true) => Modifications::FormFilling,
        (true, false, false) => Modifications::Untouched,
    }
}

/// Everything a page draws with: its content streams and resources, followed
/// through references (bounded, and safe against cycles).
fn drawn_objects(doc: &Document, page: ObjectId) -> HashSet<ObjectId> {
    let mut seen = HashSet::new();
    let mut stack: Vec<&Object> = Vec::new();
    if let Ok(dict) = doc.get_dictionary(page) {
        for key in [&b"Contents"[..], b"Resources"] {
            if let Ok(object) = dict.get(key) {
                stack.push(object);
            }
        }
    }
    // Inherited resources live on the page tree's nodes above the page.
    let mut node = doc.get_dictionary(page).ok();
    for _ in 0..32 {
        let Some(parent) = node
            .and_then(|d| d.get(b"Parent").ok())
            .and_then(|p| p.as_reference().ok())
            .and_then(|id| doc.get_dictionary(id).ok())
        else {
            break;
        };
        if let Ok(resources) = parent.get(b"Resources") {
            stack.push(resources);
        }
        node = Some(parent);
    }
    while let Some(object) = stack.pop() {
        if seen.len() > 200_000 {
            break;
        }
        match object {
            Object::Reference(id) => {
                if seen.insert(*id)
                    && let Some(target) = doc.objects.get(id)
                {
                    stack.push(target);
                }
            }
            Object::Array(items) => stack.extend(items.iter()),
            Object::Dictionary(dict) => stack.extend(dict.iter().map(|(_, v)| v)),
            Object::Stream(stream) => stack.extend(stream.dict.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    seen
}

/// The page tree's intermediate nodes (`/Type /Pages`).
fn page_tree_nodes(doc: &Document) -> BTreeSet<ObjectId> {
    doc.objects
        .iter()
        .filter(|(_, o)| {
            o.as_dict()
                .ok()
                .and_then(|d| d.get(b"Type").ok())
                .and_then(|t| t.as_name().ok())
                == Some(b"Pages".as_slice())
        })
        .map(|(&id, _)| id)
        .collect()
}

fn dictionary(object: &Object) -> Option<&Dictionary> {
    match object {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

fn is_annotation(object: &Object) -> bool {
    dictionary(object).is_some_and(|d| {
        d.get(b"Subtype").is_ok() && d.get(b"Rect").is_ok()
            || d.get(b"Type").and_then(Object::as_name).ok() == Some(b"Annot".as_slice())
    })
}

/// A form field or its widget: filling it in is form filling.
fn is_field(object: &Object) -> bool {
    dictionary(object).is_some_and(|d| {
        d.get(b"FT").is_ok()
            || d.get(b"T").is_ok()
            || d.get(b"Parent").is_ok()
            || d.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Widget".as_slice())
    })
}

/// The keys whose values differ, other than `ignored`.
fn changed_keys(before: &Object, after: &Object, ignored: &[&[u8]]) -> Vec<String> {
    let (Some(a), Some(b)) = (dictionary(before), dictionary(after)) else {
        return vec!["type".into()];
    };
    let keys: BTreeSet<&Vec<u8>> = a
        .iter()
        .map(|(k, _)| k)
        .chain(b.iter().map(|(k, _)| k))
        .collect();
    keys.into_iter()
        .filter(|k| !ignored.contains(&k.as_slice()))
        .filter(|k| match (a.get(k), b.get(k)) {
            (Ok(x), Ok(y)) => !same(x, y),
            (Err(_), Err(_)) => false,
            _ => true,
        })
        .map(|k| format!("/{}", String::from_utf8_lossy(k)))
        .collect()
}

/// Equal as PDF objects: streams by dictionary and bytes, not by file position.
fn same(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Stream(x), Object::Stream(y)) => {
            x.content == y.content && same_dict(&x.dict, &y.dict)
        }
        (Object::Dictionary(x), Object::Dictionary(y)) => same_dict(x, y),
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => match (number(a), number(b)) {
            // pdf.js writes every number it saves to two decimals (a page of
            // 595.2756 points becomes 595.28): a difference no one can see.
            (Some(x), Some(y)) => (x - y).abs() <= SAME_NUMBER,
            _ => a == b,
        },
    }
}

/// Numbers this close are one number written to fewer decimals (1/7200 inch).
const SAME_NUMBER: f64 = 0.01;

fn number(object: &Object) -> Option<f64> {
    match object {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(*r as f64),
        _ => None,
    }
}

fn same_dict(a: &Dictionary, b: &Dictionary) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_ok_and(|w| same(v, w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_rounded_to_two_decimals_are_the_same_numbers() {
        let issued = Object::Array(vec![0.into(), 0.into(), 595.2756.into(), 841.8898.into()]);
        let by_pdfjs = Object::Array(vec![0.into(), 0.0.into(), 595.28.into(), 841.89.into()]);
        assert!(same(&issued, &by_pdfjs));
        let moved = Object::Array(vec![0.into(), 0.into(), 595.3.into(), 841.89.into()]);
        assert!(!same(&issued, &moved));
        assert!(!same(&Object::Integer(1), &Object::Boolean(true)));
    }
}
