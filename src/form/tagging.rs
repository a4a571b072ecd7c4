//! Keeping Typst's tagged structure true when aup adds to its output, so a form
//! and the print file stay PDF/UA-1 and PDF/A-2a like the policy: the QR marks,
//! form ids and drawn values are artifacts (a screen reader skips them), every
//! field's widget sits in a `Form` structure element, and the print file, whose
//! pages are copies of the form's, gets a copy of the structure per person.

use std::collections::HashMap;

use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat};

use super::stamp::StampError;

/// What opens and closes content that is not part of the document's text.
pub const ARTIFACT: (&str, &str) = ("/Artifact BMC\n", "EMC\n");

/// Wraps content that is not part of the document's text (QR marks, ids, the
/// values drawn on printed copies) as an artifact.
pub fn artifact(content: &str) -> String {
    format!("{}{content}{}", ARTIFACT.0, ARTIFACT.1)
}

/// The structure tree's root and the element everything hangs under (Typst's
/// `Document`).
struct Tree {
    root: ObjectId,
    top: ObjectId,
}

fn tree(doc: &Document) -> Result<Tree, StampError> {
    let malformed = |what: &str| StampError::Malformed(format!("the structure tree {what}"));
    let root = doc
        .catalog()?
        .get(b"StructTreeRoot")
        .and_then(Object::as_reference)
        .map_err(|_| malformed("is missing"))?;
    let top = match doc.get_dictionary(root)?.get(b"K") {
        Ok(Object::Reference(id)) => *id,
        Ok(Object::Array(kids)) if kids.len() == 1 => kids[0]
            .as_reference()
            .map_err(|_| malformed("has no top element"))?,
        _ => return Err(malformed("has no single top element")),
    };
    Ok(Tree { root, top })
}

/// The structure element everything hangs under, which form fields join.
pub fn top_element(doc: &Document) -> Result<ObjectId, StampError> {
    tree(doc).map(|tree| tree.top)
}

/// The parent tree's entries (key, value), from a flat `/Nums` or `/Kids`.
fn parent_tree_entries(doc: &Document, node: &Dictionary) -> Vec<(i64, Object)> {
    let mut entries = Vec::new();
    if let Ok(nums) = node.get(b"Nums").and_then(Object::as_array) {
        for pair in nums.chunks(2) {
            if let [Object::Integer(key), value] = pair {
                entries.push((*key, value.clone()));
            }
        }
    }
    if let Ok(kids) = node.get(b"Kids").and_then(Object::as_array) {
        for kid in kids {
            if let Ok(kid) = kid.as_reference().and_then(|id| doc.get_dictionary(id)) {
                entries.extend(parent_tree_entries(doc, kid));
            }
        }
    }
    entries
}

fn parent_tree(doc: &Document, root: ObjectId) -> Result<Vec<(i64, Object)>, StampError> {
    let node = match doc.get_dictionary(root)?.get(b"ParentTree") {
        Ok(Object::Reference(id)) => doc.get_dictionary(*id)?.clone(),
        Ok(Object::Dictionary(d)) => d.clone(),
        _ => Dictionary::new(),
    };
    Ok(parent_tree_entries(doc, &node))
}

fn set_parent_tree(doc: &mut Document, root: ObjectId, mut entries: Vec<(i64, Object)>) {
    entries.sort_by_key(|(key, _)| *key);
    let next = entries.last().map_or(0, |(key, _)| key + 1);
    let nums = entries
        .into_iter()
        .flat_map(|(key, value)| [Object::Integer(key), value])
        .collect();
    let tree = doc.add_object(Dictionary::from_iter([("Nums", Object::Array(nums))]));
    if let Ok(root) = doc.get_dictionary_mut(root) {
        root.set("ParentTree", Object::Reference(tree));
        root.set("ParentTreeNextKey", Object::Integer(next));
    }
}

fn push_kid(doc: &mut Document, parent: ObjectId, kid: ObjectId) -> Result<(), StampError> {
    let element = doc.get_dictionary_mut(parent)?;
    let mut kids = match element.get(b"K") {
        Ok(Object::Array(kids)) => kids.clone(),
        Ok(other) => vec![other.clone()],
        Err(_) => Vec::new(),
    };
    kids.push(Object::Reference(kid));
    element.set("K", Object::Array(kids));
    Ok(())
}

/// Puts each widget (`widget`, its `page`) in a `Form` element of its own at
/// the end of the document's structure, linked both ways (`/StructParent` and
/// the parent tree), as PDF/UA-1 §7.18.4 asks. The field's `/TU` is its
/// accessible name.
pub fn add_form_elements(
    doc: &mut Document,
    widgets: &[(ObjectId, ObjectId)],
) -> Result<(), StampError> {
    let tree = tree(doc)?;
    let mut entries = parent_tree(doc, tree.root)?;
    let first_key = entries.iter().map(|(key, _)| key + 1).max().unwrap_or(0);
    for (key, &(widget, page)) in (first_key..).zip(widgets) {
        let element = doc.add_object(Dictionary::from_iter([
            ("Type", Object::Name(b"StructElem".to_vec())),
            ("S", Object::Name(b"Form".to_vec())),
            ("P", Object::Reference(tree.top)),
            ("Pg", Object::Reference(page)),
            (
                "K",
                Object::Dictionary(Dictionary::from_iter([
                    ("Type", Object::Name(b"OBJR".to_vec())),
                    ("Obj", Object::Reference(widget)),
                    ("Pg", Object::Reference(page)),
                ])),
            ),
        ]));
        push_kid(doc, tree.top, element)?;
        doc.get_dictionary_mut(widget)?
            .set("StructParent", Object::Integer(key));
        entries.push((key, Object::Reference(element)));
    }
    set_parent_tree(doc, tree.root, entries);
    Ok(())
}

/// The print file's structure: per person, a copy of the form's elements whose
/// marked content points at that person's copies of the pages (`copies` maps
/// each original page to its copy), under one `Document` element. Annotations
/// are not copied into the print file, so references to them are dropped.
pub fn structure_for_copies(
    doc: &mut Document,
    copies: &[HashMap<ObjectId, ObjectId>],
) -> Result<(), StampError> {
    let tree = tree(doc)?;
    let entries = parent_tree(doc, tree.root)?;
    let by_key: HashMap<i64, Object> = entries.into_iter().collect();
    let top_kids = match doc.get_dictionary(tree.top)?.get(b"K") {
        Ok(Object::Array(kids)) => kids.clone(),
        Ok(other) => vec![other.clone()],
        Err(_) => Vec::new(),
    };
    let mut top = doc.get_dictionary(tree.top)?.clone();
    top.set("P", Object::Reference(tree.root));
    let new_top = doc.add_object(top);

    let mut new_entries = Vec::new();
    let mut next_key = 0;
    let mut kids = Vec::new();
    let mut ids = Vec::new();
    for (n, pages) in copies.iter().enumerate() {
        let mut copy = Copy {
            pages,
            suffix: format!("-{}", n + 1),
            cloned: HashMap::new(),
            ids: Vec::new(),
        };
        for kid in &top_kids {
            if let Some(kid) = copy_kid(doc, kid, new_top, &mut copy)? {
                kids.push(kid);
            }
        }
        let Copy {
            cloned, ids: named, ..
        } = copy;
        ids.extend(named);
        for (&original, &copy) in pages {
            let key = doc
                .get_dictionary(original)?
                .get(b"StructParents")
                .and_then(Object::as_i64);
            let Ok(key) = key else { continue };
            let Some(Object::Array(marked)) = by_key.get(&key) else {
                continue;
            };
            let remapped = marked
                .iter()
                .map(|element| match element {
                    Object::Reference(id) => cloned
                        .get(id)
                        .map_or(Object::Null, |new| Object::Reference(*new)),
                    _ => Object::Null,
                })
                .collect();
            new_entries.push((next_key, Object::Array(remapped)));
            doc.get_dictionary_mut(copy)?
                .set("StructParents", Object::Integer(next_key));
            next_key += 1;
        }
    }
    doc.get_dictionary_mut(new_top)?
        .set("K", Object::Array(kids));
    let root = doc.get_dictionary_mut(tree.root)?;
    root.set("K", Object::Reference(new_top));
    // Element ids (table header cells, which data cells name in `/Headers`) are
    // unique per document: each copy's carry its person's suffix.
    root.remove(b"IDTree");
    if !ids.is_empty() {
        ids.sort_by(|a, b| a.0.cmp(&b.0));
        let names = ids
            .into_iter()
            .flat_map(|(id, element)| {
                [
                    Object::String(id, StringFormat::Literal),
                    Object::Reference(element),
                ]
            })
            .collect();
        let id_tree = doc.add_object(Dictionary::from_iter([("Names", Object::Array(names))]));
        doc.get_dictionary_mut(tree.root)?
            .set("IDTree", Object::Reference(id_tree));
    }
    set_parent_tree(doc, tree.root, new_entries);
    Ok(())
}

/// One person's copy of the structure in the making.
struct Copy<'a> {
    /// Each original page's copy for this person.
    pages: &'a HashMap<ObjectId, ObjectId>,
    /// Appended to every element id of this copy.
    suffix: String,
    /// Each original element's copy.
    cloned: HashMap<ObjectId, ObjectId>,
    /// The copy's element ids and their elements, for the `IDTree`.
    ids: Vec<(Vec<u8>, ObjectId)>,
}

/// One kid of a structure element, copied for a person's pages: elements are
/// copied whole, marked-content references follow their page, marked-content
/// ids stay, and object references (annotations) are dropped.
fn copy_kid(
    doc: &mut Document,
    kid: &Object,
    parent: ObjectId,
    copy: &mut Copy<'_>,
) -> Result<Option<Object>, StampError> {
    match kid {
        Object::Integer(_) => Ok(Some(kid.clone())),
        Object::Reference(id) => {
            let Ok(element) = doc.get_dictionary(*id).cloned() else {
                return Ok(None);
            };
            if !is_element(&element) {
                return Ok(None);
            }
            let element = copy_element(doc, *id, element, parent, copy)?;
            Ok(Some(Object::Reference(element)))
        }
        Object::Dictionary(dict) => match dict.get(b"Type").and_then(Object::as_name) {
            Ok(b"MCR") => {
                let mut dict = dict.clone();
                remap_page(&mut dict, copy.pages);
                Ok(Some(Object::Dictionary(dict)))
            }
            Ok(b"OBJR") => Ok(None),
            _ if is_element(dict) => {
                let id = doc.add_object(dict.clone());
                let element = copy_element(doc, id, dict.clone(), parent, copy)?;
                Ok(Some(Object::Reference(element)))
            }
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

fn is_element(dict: &Dictionary) -> bool {
    dict.has(b"S")
        && !matches!(
            dict.get(b"Type").and_then(Object::as_name),
            Ok(b"MCR" | b"OBJR")
        )
}

fn copy_element(
    doc: &mut Document,
    original: ObjectId,
    mut element: Dictionary,
    parent: ObjectId,
    copy: &mut Copy<'_>,
) -> Result<ObjectId, StampError> {
    let new = doc.add_object(Object::Null);
    copy.cloned.insert(original, new);
    element.set("P", Object::Reference(parent));
    remap_page(&mut element, copy.pages);
    if let Ok(id) = element.get(b"ID").and_then(Object::as_str) {
        let id = [id, copy.suffix.as_bytes()].concat();
        element.set("ID", Object::String(id.clone(), StringFormat::Literal));
        copy.ids.push((id, new));
    }
    if let Ok(attributes) = element.get(b"A") {
        let attributes = suffix_headers(doc, attributes.clone(), &copy.suffix);
        element.set("A", attributes);
    }
    let kids = match element.get(b"K") {
        Ok(Object::Array(kids)) => kids.clone(),
        Ok(other) => vec![other.clone()],
        Err(_) => Vec::new(),
    };
    let mut copied = Vec::new();
    for kid in &kids {
        if let Some(kid) = copy_kid(doc, kid, new, copy)? {
            copied.push(kid);
        }
    }
    element.set("K", Object::Array(copied));
    doc.objects.insert(new, Object::Dictionary(element));
    Ok(new)
}

/// An element's attributes with the ids named in `/Headers` given the copy's
/// suffix, so data cells still name their header cells.
fn suffix_headers(doc: &Document, attributes: Object, suffix: &str) -> Object {
    match attributes {
        Object::Reference(id) => match doc.get_object(id) {
            Ok(object) => suffix_headers(doc, object.clone(), suffix),
            Err(_) => Object::Reference(id),
        },
        Object::Array(items) => Object::Array(
            items
                .into_iter()
                .map(|item| suffix_headers(doc, item, suffix))
                .collect(),
        ),
        Object::Dictionary(mut dict) => {
            if let Ok(Object::Array(headers)) = dict.get(b"Headers") {
                let headers = headers
                    .iter()
                    .map(|header| match header.as_str() {
                        Ok(id) => {
                            Object::String([id, suffix.as_bytes()].concat(), StringFormat::Literal)
                        }
                        Err(_) => header.clone(),
                    })
                    .collect();
                dict.set("Headers", Object::Array(headers));
            }
            Object::Dictionary(dict)
        }
        other => other,
    }
}

fn remap_page(dict: &mut Dictionary, pages: &HashMap<ObjectId, ObjectId>) {
    if let Ok(page) = dict.get(b"Pg").and_then(Object::as_reference)
        && let Some(copy) = pages.get(&page)
    {
        dict.set("Pg", Object::Reference(*copy));
    }
}
