//! The form's fields as the return has them: every terminal field with its value
//! (several may share a name), and where its widget sits; and the small
//! dereferencing and text-string helpers the other checks share.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, Object};

/// Form fields followed before giving up on a hostile field tree.
pub(super) const MAX_FIELDS: usize = 2_000;

/// A terminal form field: its type (inherited) and value.
pub(super) struct Field {
    pub(super) value: Option<Object>,
    /// The page (`/P`) and `/Rect` of its first widget.
    pub(super) widget: Option<(lopdf::ObjectId, [f64; 4])>,
    /// No widget of it shows anything: none at all, or each zero-size or
    /// flagged Hidden or NoView (PDF 32000-1, 12.5.3).
    pub(super) invisible: bool,
}

/// Fully qualified names of the form's terminal fields and their values, every
/// one even when several share a name, following `/Kids` with a visited set and
/// a bound (hostile trees loop).
pub(super) fn terminal_fields(doc: &Document) -> Vec<(String, Field)> {
    let mut out = Vec::new();
    let Some(fields) = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"AcroForm").ok())
        .and_then(|a| deref_dict(doc, a))
        .and_then(|a| a.get(b"Fields").ok())
        .and_then(|f| deref(doc, f))
        .and_then(|f| f.as_array().ok())
    else {
        return out;
    };
    let mut seen = HashSet::new();
    let mut stack: Vec<(String, &Object)> = fields.iter().map(|f| (String::new(), f)).collect();
    while let Some((prefix, object)) = stack.pop() {
        if seen.len() > MAX_FIELDS {
            break;
        }
        if let Object::Reference(id) = object
            && !seen.insert(*id)
        {
            continue;
        }
        let Some(dict) = deref_dict(doc, object) else {
            continue;
        };
        let partial = dict.get(b"T").ok().and_then(text_value).unwrap_or_default();
        let name = match (prefix.is_empty(), partial.is_empty()) {
            (_, true) => prefix.clone(),
            (true, false) => partial,
            (false, false) => format!("{prefix}.{partial}"),
        };
        let kids = dict
            .get(b"Kids")
            .ok()
            .and_then(|k| deref(doc, k))
            .and_then(|k| k.as_array().ok());
        // Kids with names are fields; kids without are this field's widgets.
        let named_kids: Vec<&Object> = kids
            .map(|kids| {
                kids.iter()
                    .filter(|k| deref_dict(doc, k).is_some_and(|d| d.has(b"T")))
                    .collect()
            })
            .unwrap_or_default();
        if named_kids.is_empty() {
            // A field merged with its widget has the widget's keys itself.
            let widgets: Vec<&Dictionary> = std::iter::once(dict)
                .chain(
                    kids.into_iter()
                        .flatten()
                        .filter_map(|k| deref_dict(doc, k)),
                )
                .filter(|w| w.has(b"Rect"))
                .collect();
            out.push((
                name,
                Field {
                    value: dict.get(b"V").ok().cloned(),
                    widget: widgets.iter().find_map(|w| widget_place(w)),
                    invisible: widgets.iter().all(|w| shows_nothing(w)),
                },
            ));
        } else {
            stack.extend(named_kids.into_iter().map(|k| (name.clone(), k)));
        }
    }
    out
}

/// A widget's page and rectangle, when it names both.
pub(super) fn widget_place(widget: &Dictionary) -> Option<(lopdf::ObjectId, [f64; 4])> {
    let page = widget.get(b"P").ok()?.as_reference().ok()?;
    let rect = widget.get(b"Rect").ok()?.as_array().ok()?;
    let number = |i: usize| rect.get(i).and_then(|o| o.as_float().ok()).map(f64::from);
    let (x0, y0, x1, y1) = (number(0)?, number(1)?, number(2)?, number(3)?);
    Some((page, [x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)]))
}

/// A widget that draws nothing: a rectangle under a point wide or high, or
/// flagged Hidden (bit 2) or NoView (bit 6).
fn shows_nothing(widget: &Dictionary) -> bool {
    const HIDDEN: i64 = 1 << 1;
    const NO_VIEW: i64 = 1 << 5;
    let flags = widget
        .get(b"F")
        .ok()
        .and_then(|f| f.as_i64().ok())
        .unwrap_or(0);
    let rect: Vec<f64> = widget
        .get(b"Rect")
        .ok()
        .and_then(|r| r.as_array().ok())
        .map(|r| {
            r.iter()
                .filter_map(|o| o.as_float().ok())
                .map(f64::from)
                .collect()
        })
        .unwrap_or_default();
    let tiny = match rect.as_slice() {
        [x0, y0, x1, y1] => (x1 - x0).abs() < 1.0 || (y1 - y0).abs() < 1.0,
        _ => true,
    };
    tiny || flags & (HIDDEN | NO_VIEW) != 0
}

/// A widget covers a box when they overlap by at least half of the smaller of
/// the two: a signature drawn a little off the box still signs it, one in
/// another corner of the page (or with no size at all) does not.
pub(super) fn covers(widget: &[f64; 4], rect: &crate::form::Rect) -> bool {
    let [x0, y0, x1, y1] = *widget;
    let overlap_w = x1.min(rect.x1) - x0.max(rect.x0);
    let overlap_h = y1.min(rect.y1) - y0.max(rect.y0);
    let area = |w: f64, h: f64| w.max(0.0) * h.max(0.0);
    let smaller = area(x1 - x0, y1 - y0).min(area(rect.x1 - rect.x0, rect.y1 - rect.y0));
    smaller > 0.0 && area(overlap_w, overlap_h) >= 0.5 * smaller
}

pub(super) fn deref<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Object> {
    let mut current = object;
    for _ in 0..16 {
        match current {
            Object::Reference(id) => current = doc.objects.get(id)?,
            other => return Some(other),
        }
    }
    None
}

pub(super) fn deref_dict<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Dictionary> {
    match deref(doc, object)? {
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

/// A PDF text string: UTF-16BE with its byte order mark, UTF-8 with its mark, or
/// PDFDocEncoding (Latin-1 for the characters a name or date uses).
pub(super) fn text_value(object: &Object) -> Option<String> {
    let bytes = match object {
        Object::String(bytes, _) => bytes,
        Object::Name(bytes) => bytes,
        _ => return None,
    };
    if let Some(utf16) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = utf16
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return Some(String::from_utf16_lossy(&units));
    }
    if let Some(utf8) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return Some(String::from_utf8_lossy(utf8).into_owned());
    }
    Some(bytes.iter().map(|&b| b as char).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_strings_decode_utf16_and_latin1() {
        let utf16 = Object::String(
            vec![0xFE, 0xFF, 0, b'J', 0, 0xF3],
            lopdf::StringFormat::Literal,
        );
        assert_eq!(text_value(&utf16).as_deref(), Some("Jó"));
        let latin1 = Object::String(vec![b'J', 0xF3], lopdf::StringFormat::Literal);
        assert_eq!(text_value(&latin1).as_deref(), Some("Jó"));
    }
}
