//! Which form a PDF says it is: the form id in its Info dictionary, else in its
//! XMP packet under any namespace prefix (readers rewrite the packet with their
//! own), never its file name.

use lopdf::{Document, Object};

/// The form id a PDF carries in its Info dictionary or, if a reader dropped
/// that, in its XMP metadata.
pub fn form_id(doc: &Document) -> Option<String> {
    let from_info = doc
        .trailer
        .get(b"Info")
        .ok()
        .and_then(|info| match info {
            Object::Reference(id) => doc.get_dictionary(*id).ok(),
            Object::Dictionary(d) => Some(d),
            _ => None,
        })
        .and_then(|info| info.get(b"AupFormId").ok())
        .and_then(|v| v.as_str().ok())
        .map(|v| String::from_utf8_lossy(v).trim().to_owned());
    from_info.or_else(|| xmp_form_id(doc)).filter(|id| {
        !id.is_empty()
            && id.len() < 40
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// `formId` in our XMP namespace, as an element or an attribute, under whatever
/// prefix the last writer chose (pyHanko rewrites the packet with `ns0:` and
/// attributes): parsed as XML, by namespace, with roxmltree (already in Typst's
/// tree).
pub(super) fn xmp_form_id(doc: &Document) -> Option<String> {
    let catalog = doc.catalog().ok()?;
    let id = catalog.get(b"Metadata").ok()?.as_reference().ok()?;
    let stream = doc.get_object(id).ok()?.as_stream().ok()?;
    let xml = stream
        .decompressed_content_with_limit(1 << 20)
        .unwrap_or_else(|_| stream.content.clone());
    let text = String::from_utf8_lossy(&xml);
    // The packet's processing instructions and BOM are fine for roxmltree; DTDs
    // are refused, which is what hostile metadata would use.
    let tree = roxmltree::Document::parse(text.trim_start_matches('\u{feff}')).ok()?;
    let ns = crate::form::xmp::XMP_NAMESPACE;
    tree.descendants().find_map(|node| {
        if node.tag_name().namespace() == Some(ns) && node.tag_name().name() == "formId" {
            return node.text().map(|t| t.trim().to_owned());
        }
        node.attributes()
            .find(|a| a.namespace() == Some(ns) && a.name() == "formId")
            .map(|a| a.value().trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::Dictionary;

    #[test]
    fn the_form_id_is_read_from_xmp_under_any_prefix() {
        let ns = crate::form::xmp::XMP_NAMESPACE;
        for xmp in [
            format!(
                "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:aup=\"{ns}\"><aup:formId>PAK-2526-0001-X</aup:formId></rdf:Description></rdf:RDF></x:xmpmeta>"
            ),
            // pyHanko's rewrite: another prefix, the property as an attribute.
            format!(
                "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:ns0=\"{ns}\" ns0:formId=\"PAK-2526-0001-X\"/></rdf:RDF></x:xmpmeta>"
            ),
        ] {
            let mut doc = Document::with_version("1.7");
            let metadata = doc.add_object(lopdf::Stream::new(Dictionary::new(), xmp.into_bytes()));
            let catalog = doc.add_object(Dictionary::from_iter([
                ("Type", Object::Name(b"Catalog".to_vec())),
                ("Metadata", Object::Reference(metadata)),
            ]));
            doc.trailer.set("Root", Object::Reference(catalog));
            assert_eq!(form_id(&doc).as_deref(), Some("PAK-2526-0001-X"));
        }
        // Another namespace's formId is not ours.
        let mut doc = Document::with_version("1.7");
        let metadata = doc.add_object(lopdf::Stream::new(
            Dictionary::new(),
            b"<r xmlns:aup=\"https://example.org/other\"><aup:formId>PAK-2526-0001-X</aup:formId></r>".to_vec(),
        ));
        let catalog = doc.add_object(Dictionary::from_iter([(
            "Metadata",
            Object::Reference(metadata),
        )]));
        doc.trailer.set("Root", Object::Reference(catalog));
        assert_eq!(form_id(&doc), None);
    }
}
