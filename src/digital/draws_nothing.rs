//! Whether what a reader added to a page draws anything. pdftk's `multistamp`
//! adds to every page a Form XObject from the stamp's page, with empty content
//! where that page is blank; qpdf wraps content in `q … Q`. Such additions
//! leave the page exactly as it renders, so they are not changes of the page:
//! only what renders differently counts.

use lopdf::content::Operation;
use lopdf::{Dictionary, Document, Object};

/// Form XObjects followed inside one another before an addition is taken to
/// draw (hostile files nest them without end).
const MAX_DEPTH: usize = 4;
/// Bytes of Form XObject content read for one addition.
const MAX_BYTES: usize = 4 << 20;

/// True when `operations`, drawn on `page`, leave it as it was: they only
/// change graphics state or paint Form XObjects that themselves draw nothing.
pub(super) fn draws_nothing(
    doc: &Document,
    page: lopdf::ObjectId,
    operations: &[Operation],
) -> bool {
    let resources = page_resources(doc, page);
    let mut budget = MAX_BYTES;
    all_silent(doc, &resources, operations, 0, &mut budget)
}

fn all_silent(
    doc: &Document,
    resources: &[&Dictionary],
    operations: &[Operation],
    depth: usize,
    budget: &mut usize,
) -> bool {
    operations.iter().all(|op| match op.operator.as_str() {
        // Graphics state only (PDF 32000-1, table 57): nothing is painted.
        "q" | "Q" | "cm" | "w" | "J" | "j" | "M" | "d" | "ri" | "i" | "gs" => true,
        "Do" => op
            .operands
            .first()
            .and_then(|name| name.as_name().ok())
            .and_then(|name| xobject(doc, resources, name))
            .is_some_and(|form| form_draws_nothing(doc, resources, form, depth, budget)),
        _ => false,
    })
}

fn form_draws_nothing(
    doc: &Document,
    outer: &[&Dictionary],
    form: &lopdf::Stream,
    depth: usize,
    budget: &mut usize,
) -> bool {
    if depth >= MAX_DEPTH
        || form.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Form")
    {
        return false;
    }
    let Ok(content) = form.decompressed_content_with_limit(*budget) else {
        return false;
    };
    *budget = budget.saturating_sub(content.len());
    let Ok(operations) = crate::form::drawing::operations(&content) else {
        return false;
    };
    // A form's own resources, else (PDF 1.1 style) the page's.
    let own = form
        .dict
        .get(b"Resources")
        .ok()
        .and_then(|r| resolve(doc, r))
        .and_then(|r| r.as_dict().ok());
    let resources: Vec<&Dictionary> = match own {
        Some(own) => vec![own],
        None => outer.to_vec(),
    };
    all_silent(doc, &resources, &operations, depth + 1, budget)
}

fn page_resources(doc: &Document, page: lopdf::ObjectId) -> Vec<&Dictionary> {
    let Ok((own, inherited)) = doc.get_page_resources(page) else {
        return Vec::new();
    };
    own.into_iter()
        .chain(
            inherited
                .into_iter()
                .filter_map(|id| doc.get_dictionary(id).ok()),
        )
        .collect()
}

fn xobject<'a>(
    doc: &'a Document,
    resources: &[&'a Dictionary],
    name: &[u8],
) -> Option<&'a lopdf::Stream> {
    resources.iter().find_map(|r| {
        let xobjects = resolve(doc, r.get(b"XObject").ok()?)?.as_dict().ok()?;
        resolve(doc, xobjects.get(name).ok()?)?.as_stream().ok()
    })
}

fn resolve<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Object> {
    match object {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}
