//! Writing personal copies of one document. A form has some two hundred
//! objects, and a copy changes a dozen of them (its pages, the catalogue, the
//! structure elements its fields join) and adds a few dozen; the rest are the
//! base's, untouched. Each of the base's objects is written out once, when the
//! base is prepared, and those bytes are copied into every copy that still
//! holds the object unchanged, rather than written again number by number.
//!
//! The file is byte for byte what lopdf's `Document::save_to` writes for the
//! same document (a test holds it to that): the same framing, the same
//! cross-reference table and trailer. Forms issued by earlier versions of aup
//! keep matching their register entries.

use std::collections::BTreeMap;
use std::io::Write;

use lopdf::xref::{XrefEntry, XrefSection, XrefType};
use lopdf::{Document, Object, ObjectId, Writer};
use sha2::{Digest, Sha256};

use super::id::hex;

/// A document's objects, each with the bytes lopdf writes for it, and the
/// few of them a copy starts from.
#[derive(Clone)]
pub(super) struct CopyWriter {
    base: BTreeMap<ObjectId, (Object, Vec<u8>)>,
    /// The objects a copy may change or read; the rest (streams, most
    /// structure elements) are never cloned for a copy, only written.
    lean: Document,
    /// Every copy's file up to the first object a copy holds: the header and
    /// the base's objects numbered below it, the same bytes in every copy.
    leading: Framed,
    /// SHA-256 state over `leading`, so each copy hashes only its own rest.
    leading_hash: Sha256,
    /// The first object number a copy holds.
    split: ObjectId,
    /// The size of the base written out: what a copy's file is allocated.
    size_hint: usize,
}

impl CopyWriter {
    /// Writes out each of `doc`'s objects once; a copy starts from those
    /// `changeable` picks. Copies are saved with a cross-reference table, the
    /// form Typst writes and lopdf keeps.
    pub fn new(
        doc: &Document,
        changeable: impl Fn(ObjectId, &Object) -> bool,
    ) -> std::io::Result<Self> {
        let mut base = BTreeMap::new();
        let mut size_hint = 4096;
        let mut lean = doc.clone();
        lean.objects.clear();
        for (&id, object) in &doc.objects {
            let mut body = Vec::new();
            Writer::write_object(&mut body, object)?;
            size_hint += body.len() + 40;
            if changeable(id, object) {
                lean.objects.insert(id, object.clone());
            }
            base.insert(id, (object.clone(), body));
        }
        let split = lean.objects.keys().next().copied().unwrap_or((u32::MAX, 0));
        let mut leading = Framed::start(&lean, size_hint)?;
        for (id, (object, body)) in base.range(..split) {
            leading.object(id, object, Some(body))?;
        }
        let mut leading_hash = Sha256::new();
        leading_hash.update(&leading.out);
        Ok(Self {
            base,
            lean,
            leading,
            leading_hash,
            split,
            size_hint,
        })
    }

    /// What a copy starts from: the document with only its changeable
    /// objects. Reading any other object of it fails (lopdf's "object not
    /// found"), so a copy never changes what this writer would not write.
    pub fn copy(&self) -> Document {
        self.lean.clone()
    }

    /// `copy` (made by [`Self::copy`], changed and added to) as lopdf's
    /// `save_to` writes the whole document it stands for, and the SHA-256
    /// of those bytes (hex).
    pub fn save(&self, copy: &Document) -> std::io::Result<(Vec<u8>, String)> {
        let same_start = copy.version == self.lean.version
            && copy.binary_mark == self.lean.binary_mark
            && copy
                .objects
                .keys()
                .next()
                .is_none_or(|&first| first >= self.split);
        if !same_start {
            let pdf = write_framed(copy, self.objects_of(copy, (0, 0)), self.size_hint)?;
            let digest = hex(&Sha256::digest(&pdf));
            return Ok((pdf, digest));
        }
        let mut framed = self.leading.clone();
        for (id, object, body) in self.objects_of(copy, self.split) {
            framed.object(id, object, body)?;
        }
        let pdf = framed.finish(copy)?;
        let mut hasher = self.leading_hash.clone();
        hasher.update(&pdf[self.leading.out.len()..]);
        Ok((pdf, hex(&hasher.finalize())))
    }

    /// Every object of the document `copy` stands for, numbered from `from`
    /// on, in number order, with the base's bytes for it when it is the
    /// base's unchanged: the copy's own objects, and the base's that a copy
    /// never holds. An object the copy started with and removed is gone.
    #[allow(clippy::type_complexity)]
    fn objects_of<'a>(
        &'a self,
        copy: &'a Document,
        from: ObjectId,
    ) -> impl Iterator<Item = (&'a ObjectId, &'a Object, Option<&'a [u8]>)> {
        let mut base = self.base.range(from..).peekable();
        let mut own = copy.objects.range(from..).peekable();
        std::iter::from_fn(move || {
            loop {
                let next_base = base.peek().map(|(id, _)| **id);
                let next_own = own.peek().map(|(id, _)| **id);
                return match (next_base, next_own) {
                    (None, None) => None,
                    (Some(b), Some(o)) if b == o => {
                        let (id, (original, body)) = base.next()?;
                        let (_, object) = own.next()?;
                        let body = (original == object).then_some(body.as_slice());
                        Some((id, object, body))
                    }
                    (Some(b), o) if o.is_none_or(|o| b < o) => {
                        let (id, (original, body)) = base.next()?;
                        if self.lean.objects.contains_key(id) {
                            continue;
                        }
                        Some((id, original, Some(body.as_slice())))
                    }
                    _ => {
                        let (id, object) = own.next()?;
                        Some((id, object, None))
                    }
                };
            }
        })
    }
}

/// `doc` as lopdf's `save_to` writes it, its objects written on every core
/// and then put in order: the print file has tens of thousands.
pub(super) fn save_in_parallel(doc: &Document) -> std::io::Result<Vec<u8>> {
    use rayon::prelude::*;
    let objects: Vec<(&ObjectId, &Object)> = doc.objects.iter().collect();
    let bodies = objects
        .par_iter()
        .map(|(_, object)| {
            let mut body = Vec::new();
            Writer::write_object(&mut body, object).map(|()| body)
        })
        .collect::<std::io::Result<Vec<Vec<u8>>>>()?;
    let size = bodies.iter().map(|body| body.len() + 40).sum::<usize>() + 4096;
    let with_bodies = objects
        .iter()
        .zip(&bodies)
        .map(|(&(id, object), body)| (id, object, Some(body.as_slice())));
    write_framed(doc, with_bodies, size)
}

/// The file lopdf's `save_to` writes for `doc`, whose objects come in number
/// order from `objects`, each with its bytes when already written.
fn write_framed<'a>(
    doc: &Document,
    objects: impl Iterator<Item = (&'a ObjectId, &'a Object, Option<&'a [u8]>)>,
    size_hint: usize,
) -> std::io::Result<Vec<u8>> {
    let mut framed = Framed::start(doc, size_hint)?;
    for (id, object, body) in objects {
        framed.object(id, object, body)?;
    }
    framed.finish(doc)
}

/// A file being written as lopdf's `save_to` writes one: its bytes so far,
/// and where each object starts.
#[derive(Clone)]
struct Framed {
    out: Vec<u8>,
    offsets: Vec<(u32, XrefEntry)>,
}

impl Framed {
    /// The header, for `doc`'s version and binary mark.
    fn start(doc: &Document, size_hint: usize) -> std::io::Result<Self> {
        if !matches!(
            doc.reference_table.cross_reference_type,
            XrefType::CrossReferenceTable
        ) {
            return Err(std::io::Error::other(
                "a copy is written with a cross-reference table only",
            ));
        }
        let mut out = Vec::with_capacity(size_hint);
        writeln!(out, "%PDF-{}", doc.version)?;
        if doc.binary_mark.is_empty() || doc.binary_mark.iter().any(|&byte| byte < 128) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "Invalid binary mark",
            ));
        }
        out.push(b'%');
        out.extend_from_slice(&doc.binary_mark);
        out.push(b'\n');
        Ok(Self {
            out,
            offsets: Vec::new(),
        })
    }

    /// The next object, framed, from `body` when already written.
    fn object(
        &mut self,
        &(id, generation): &ObjectId,
        object: &Object,
        body: Option<&[u8]>,
    ) -> std::io::Result<()> {
        if is_regenerated_on_save(object) {
            return Ok(());
        }
        let out = &mut self.out;
        self.offsets.push((
            id,
            XrefEntry::Normal {
                offset: out.len() as u32,
                generation,
            },
        ));
        write!(
            out,
            "{id} {generation} obj\n{}",
            if Writer::need_separator(object) {
                " "
            } else {
                ""
            }
        )?;
        match body {
            Some(body) => out.extend_from_slice(body),
            None => Writer::write_object(out, object)?,
        }
        writeln!(
            out,
            "{}\nendobj",
            if Writer::need_end_separator(object) {
                " "
            } else {
                ""
            }
        )
    }

    /// The cross-reference table and `doc`'s trailer after the objects.
    fn finish(self, doc: &Document) -> std::io::Result<Vec<u8>> {
        let Self { mut out, offsets } = self;
        let xref_start = out.len();
        writeln!(out, "xref")?;
        for section in sections(offsets) {
            section.write_xref_section(&mut out)?;
        }
        let mut trailer = doc.trailer.clone();
        trailer.set("Size", i64::from(doc.max_id) + 1);
        out.extend_from_slice(b"trailer\n");
        Writer::write_object(&mut out, &Object::Dictionary(trailer))?;
        write!(out, "\nstartxref\n{xref_start}\n%%EOF")?;
        Ok(out)
    }
}

/// The objects lopdf does not write in a plain save: it makes object and
/// cross-reference streams afresh, and drops linearization.
fn is_regenerated_on_save(object: &Object) -> bool {
    matches!(object.type_name(), Ok(b"ObjStm" | b"XRef" | b"Linearized"))
}

/// The table's subsections: runs of consecutive object numbers, object 0
/// (always free) joining the first when it starts at 1.
fn sections(offsets: Vec<(u32, XrefEntry)>) -> Vec<XrefSection> {
    let mut sections: Vec<XrefSection> = Vec::new();
    for (id, entry) in offsets.into_iter().filter(|(id, _)| *id > 0) {
        match sections.last_mut() {
            Some(section) if section.starting_id + section.entries.len() as u32 == id => {
                section.add_entry(entry);
            }
            _ => {
                let mut section = XrefSection::new(id);
                section.add_entry(entry);
                sections.push(section);
            }
        }
    }
    if sections.first().is_some_and(|s| s.starting_id == 1) {
        sections[0].starting_id = 0;
    } else {
        sections.insert(0, XrefSection::new(0));
    }
    sections[0].entries.insert(0, XrefEntry::UnusableFree);
    sections
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{Dictionary, Stream};

    fn saved(doc: &mut Document) -> Vec<u8> {
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    #[test]
    fn a_copy_is_written_byte_for_byte_as_lopdf_writes_it() {
        // A one-page document as aup's own PDF plumbing writes one.
        let page = crate::pdf::SimplePage {
            content: Stream::new(Dictionary::new(), b"0 0 m 9 9 l S".to_vec()),
            resources: Dictionary::new(),
            size: (100.0, 100.0),
        };
        let bytes = crate::pdf::save_pages(Document::with_version("1.7"), [page]);
        let mut doc = Document::load_mem(&bytes).unwrap();
        doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
        let page = doc.page_iter().next().unwrap();
        let content = doc.get_page_contents(page)[0];
        let catalog = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
        doc.add_object(Object::Real(0.5));
        let gone = doc.add_object(Object::Null);
        // A copy holds the page, the catalogue and one object it will remove;
        // the content stream and the rest are only written.
        let writer = CopyWriter::new(&doc, |id, _| [page, catalog, gone].contains(&id)).unwrap();
        assert_eq!(
            writer.save(&writer.copy()).unwrap().0,
            saved(&mut doc.clone())
        );
        assert!(writer.copy().get_object(content).is_err());

        // Changed, added to, and with a gap in the numbering.
        let mut copy = writer.copy();
        let overlay = copy.add_object(Stream::new(Dictionary::new(), b"1 g".to_vec()));
        copy.get_dictionary_mut(page).unwrap().set(
            "Contents",
            Object::Array(vec![Object::Reference(content), Object::Reference(overlay)]),
        );
        copy.objects.remove(&gone);
        copy.trailer.set("ID", Object::string_literal("x"));
        let (ours, digest) = writer.save(&copy).unwrap();
        assert_eq!(digest, hex(&Sha256::digest(&ours)));
        // The same changes made to the whole document, saved by lopdf.
        let mut whole = doc.clone();
        whole.objects.extend(copy.objects.clone());
        whole.objects.remove(&gone);
        whole.max_id = copy.max_id;
        whole.trailer = copy.trailer.clone();
        assert_eq!(ours, saved(&mut whole));
        assert_eq!(save_in_parallel(&whole).unwrap(), ours);
        // And the unchanged objects really came from the base's bytes.
        assert!(String::from_utf8_lossy(&ours).contains("0 0 m 9 9 l S"));
    }
}
