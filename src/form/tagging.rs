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
/// marked content points at that person's copies of the pages (`copies` pairs
/// each original page with its copy, in page order), under one `Document`
/// element, and the parent tree that leads from each copied page's marked
/// content back to its elements. Annotations are not copied into the print
/// file, so references to them are dropped.
///
/// The form's structure is read once into a [`Plan`]; each person's copy is
/// then made from it on any free core, numbered from a block of object
/// numbers of its own, so the file is the same whichever core made what.
pub fn structure_for_copies(
    doc: &mut Document,
    copies: &[Vec<(ObjectId, ObjectId)>],
) -> Result<(), StampError> {
    use rayon::prelude::*;
    let tree = tree(doc)?;
    let marked_by_key: HashMap<i64, Vec<Object>> = parent_tree(doc, tree.root)?
        .into_iter()
        .filter_map(|(key, value)| {
            let value = match value {
                Object::Reference(id) => doc.get_object(id).ok()?.clone(),
                value => value,
            };
            Some((key, value.as_array().ok()?.clone()))
        })
        .collect();
    let mut top = doc.get_dictionary(tree.top)?.clone();
    top.set("P", Object::Reference(tree.root));
    let new_top = doc.add_object(top);
    let plan = Plan::of(doc, tree.top)?;

    let first = doc.max_id + 1;
    let per_copy = plan.elements.len() as u32;
    let made: Vec<CopyMade> = copies
        .par_iter()
        .enumerate()
        .map(|(n, pages)| {
            let numbered_from = first + n as u32 * per_copy;
            plan.copy(numbered_from, new_top, pages, &format!("-{}", n + 1))
        })
        .collect();

    let mut kids = Vec::new();
    let mut ids = Vec::new();
    let mut parent_entries = Vec::new();
    for (made, pages) in made.into_iter().zip(copies) {
        kids.extend(made.kids);
        ids.extend(made.ids);
        doc.objects.extend(made.elements);
        for &(original, copy) in pages {
            let key = doc
                .get_dictionary(original)?
                .get(b"StructParents")
                .and_then(Object::as_i64);
            let Some(marked) = key.ok().and_then(|key| marked_by_key.get(&key)) else {
                continue;
            };
            let remapped = marked
                .iter()
                .map(|element| match element {
                    Object::Reference(id) => plan.index_of(*id).map_or(Object::Null, |index| {
                        Object::Reference((made.numbered_from + index as u32, 0))
                    }),
                    _ => Object::Null,
                })
                .collect();
            let key = parent_entries.len() as i64;
            parent_entries.push((key, Object::Array(remapped)));
            doc.get_dictionary_mut(copy)?
                .set("StructParents", Object::Integer(key));
        }
    }
    doc.max_id = doc.max_id.max(first + copies.len() as u32 * per_copy - 1);
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
    set_parent_tree(doc, tree.root, parent_entries);
    Ok(())
}

/// The form's structure elements below the top one, in the order a copy
/// numbers them (each before its kids), read once for every person's copy.
struct Plan {
    elements: Vec<PlannedElement>,
    /// Each original element's place in `elements`.
    index: HashMap<ObjectId, usize>,
}

struct PlannedElement {
    /// The element as the form has it, less its parent and kids, its
    /// attributes taken out of any indirect objects.
    dict: Dictionary,
    /// `None` for the top element's kids.
    parent: Option<usize>,
    kids: Vec<PlannedKid>,
}

enum PlannedKid {
    /// Marked content on the element's own page.
    Mcid(Object),
    /// Marked content on a page the reference names.
    Mcr(Dictionary),
    Element(usize),
}

/// One person's copy of the structure.
struct CopyMade {
    /// The first object number of the copy's block.
    numbered_from: u32,
    elements: Vec<(ObjectId, Object)>,
    /// The top element's kids in this copy.
    kids: Vec<Object>,
    /// The copy's element ids and their elements, for the `IDTree`.
    ids: Vec<(Vec<u8>, ObjectId)>,
}

impl Plan {
    fn of(doc: &Document, top: ObjectId) -> Result<Self, StampError> {
        let mut plan = Plan {
            elements: Vec::new(),
            index: HashMap::new(),
        };
        let top = doc.get_dictionary(top)?;
        for kid in kids_of(top) {
            plan.add_kid(doc, &kid, None, 0);
        }
        Ok(plan)
    }

    fn index_of(&self, original: ObjectId) -> Option<usize> {
        self.index.get(&original).copied()
    }

    /// Plans `kid` of the element at `parent`; `None` when a copy leaves it out.
    fn add_kid(
        &mut self,
        doc: &Document,
        kid: &Object,
        parent: Option<usize>,
        depth: usize,
    ) -> Option<PlannedKid> {
        // Typst's trees are a dozen deep; a loop or a hostile depth stops here.
        if depth > 256 {
            return None;
        }
        match kid {
            Object::Integer(_) => Some(PlannedKid::Mcid(kid.clone())),
            Object::Reference(id) => {
                let element = doc.get_dictionary(*id).ok()?;
                if !is_element(element) || self.index.contains_key(id) {
                    return None;
                }
                Some(PlannedKid::Element(self.add_element(
                    doc,
                    Some(*id),
                    element,
                    parent,
                    depth,
                )))
            }
            Object::Dictionary(dict) => match dict.get(b"Type").and_then(Object::as_name) {
                Ok(b"MCR") => Some(PlannedKid::Mcr(dict.clone())),
                Ok(b"OBJR") => None,
                _ if is_element(dict) => Some(PlannedKid::Element(
                    self.add_element(doc, None, dict, parent, depth),
                )),
                _ => None,
            },
            _ => None,
        }
    }

    fn add_element(
        &mut self,
        doc: &Document,
        original: Option<ObjectId>,
        element: &Dictionary,
        parent: Option<usize>,
        depth: usize,
    ) -> usize {
        let index = self.elements.len();
        if let Some(original) = original {
            self.index.insert(original, index);
        }
        let mut dict = element.clone();
        dict.remove(b"K");
        if let Ok(attributes) = dict.get(b"A") {
            let attributes = resolved(doc, attributes.clone(), 0);
            dict.set("A", attributes);
        }
        self.elements.push(PlannedElement {
            dict,
            parent,
            kids: Vec::new(),
        });
        let kids = kids_of(element)
            .iter()
            .filter_map(|kid| self.add_kid(doc, kid, Some(index), depth + 1))
            .collect();
        self.elements[index].kids = kids;
        index
    }

    /// A person's copy: element `i` is object `numbered_from + i`, under
    /// `top`, on the person's `pages`, its ids ending in `suffix`.
    fn copy(
        &self,
        numbered_from: u32,
        top: ObjectId,
        pages: &[(ObjectId, ObjectId)],
        suffix: &str,
    ) -> CopyMade {
        let id_of = |index: usize| (numbered_from + index as u32, 0);
        let mut made = CopyMade {
            numbered_from,
            elements: Vec::with_capacity(self.elements.len()),
            kids: Vec::new(),
            ids: Vec::new(),
        };
        for (index, planned) in self.elements.iter().enumerate() {
            let mut element = planned.dict.clone();
            let parent = planned.parent.map_or(top, id_of);
            element.set("P", Object::Reference(parent));
            remap_page(&mut element, pages);
            if let Ok(id) = element.get(b"ID").and_then(Object::as_str) {
                let id = [id, suffix.as_bytes()].concat();
                element.set("ID", Object::String(id.clone(), StringFormat::Literal));
                made.ids.push((id, id_of(index)));
            }
            if let Ok(attributes) = element.get_mut(b"A") {
                suffix_headers(attributes, suffix);
            }
            let kids = planned
                .kids
                .iter()
                .map(|kid| match kid {
                    PlannedKid::Mcid(mcid) => mcid.clone(),
                    PlannedKid::Mcr(mcr) => {
                        let mut mcr = mcr.clone();
                        remap_page(&mut mcr, pages);
                        Object::Dictionary(mcr)
                    }
                    PlannedKid::Element(kid) => Object::Reference(id_of(*kid)),
                })
                .collect();
            element.set("K", Object::Array(kids));
            if planned.parent.is_none() {
                made.kids.push(Object::Reference(id_of(index)));
            }
            made.elements
                .push((id_of(index), Object::Dictionary(element)));
        }
        made
    }
}

fn kids_of(element: &Dictionary) -> Vec<Object> {
    match element.get(b"K") {
        Ok(Object::Array(kids)) => kids.clone(),
        Ok(other) => vec![other.clone()],
        Err(_) => Vec::new(),
    }
}

fn is_element(dict: &Dictionary) -> bool {
    dict.has(b"S")
        && !matches!(
            dict.get(b"Type").and_then(Object::as_name),
            Ok(b"MCR" | b"OBJR")
        )
}

/// Attributes with any indirect objects among them taken in.
fn resolved(doc: &Document, attributes: Object, depth: usize) -> Object {
    if depth > 16 {
        return Object::Null;
    }
    match attributes {
        Object::Reference(id) => match doc.get_object(id) {
            Ok(object) => resolved(doc, object.clone(), depth + 1),
            Err(_) => Object::Reference(id),
        },
        Object::Array(items) => Object::Array(
            items
                .into_iter()
                .map(|item| resolved(doc, item, depth + 1))
                .collect(),
        ),
        other => other,
    }
}

/// An element's attributes with the ids named in `/Headers` given the copy's
/// suffix, so data cells still name their header cells.
fn suffix_headers(attributes: &mut Object, suffix: &str) {
    match attributes {
        Object::Array(items) => items
            .iter_mut()
            .for_each(|item| suffix_headers(item, suffix)),
        Object::Dictionary(dict) => {
            if let Ok(Object::Array(headers)) = dict.get_mut(b"Headers") {
                for header in headers.iter_mut() {
                    if let Object::String(id, _) = header {
                        id.extend_from_slice(suffix.as_bytes());
                    }
                }
            }
        }
        _ => {}
    }
}

fn remap_page(dict: &mut Dictionary, pages: &[(ObjectId, ObjectId)]) {
    if let Ok(page) = dict.get(b"Pg").and_then(Object::as_reference)
        && let Some(&(_, copy)) = pages.iter().find(|(original, _)| *original == page)
    {
        dict.set("Pg", Object::Reference(copy));
    }
}
