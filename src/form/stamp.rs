//! From one compiled policy to many personal forms. Typst lays the policy out once
//! per school; each person's copy is that PDF plus, per page, a small content stream
//! (the QR code and the form id beside it), AcroForm fields over the boxes the
//! template marked, and metadata naming the form. Personalising a copy is object
//! surgery with lopdf, not a new compile, which is what makes hundreds of forms a
//! second possible.

use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat};
use sha2::{Digest, Sha256};

use super::copy_writer::CopyWriter;
use super::drawing::{DrawingHasher, DrawingPrint};
use super::font::{FONT, FONT_NAME};
use super::id::{FormId, Mark, PagePayload, hex};
use super::overlay::{Overlay, draw_code};
use super::tagging;
use super::xmp::FormMetadata;
use super::{FieldSpec, FormMeta, Rect};

const MM: f64 = 72.0 / 25.4;

/// QR geometry, in millimetres. A version 2 code is 25 modules; at 0.6 mm a module
/// it is 15 mm wide, 19.8 mm with its 4-module quiet zone, and still reads from a
/// 100 dpi scan (2.4 px a module). The quiet zone's outer edge sits 11 mm inside the
/// paper's top and right edges: office printers don't print the outer 5 mm.
pub const QR_MODULE_MM: f64 = 0.6;
pub const QR_QUIET_MODULES: usize = 4;
pub const QR_EDGE_MM: f64 = 11.0;

/// The margin marks, bottom-left and top-left: with the first they span the
/// page, so a page is identified if any of them reads, and the map from page to
/// image is fixed across the whole page, perspective included (two marks on one
/// diagonal leave the other diagonal's perspective to each code's own 15 mm).
/// They live in the left margin, which the templates keep empty (their text
/// starts 20 mm in): 0.5 mm modules make them 12.5 mm wide, from 6 mm to 18.5 mm,
/// leaving 3 modules of paper before the text. The bottom one's lower edge and
/// the top one's upper edge are 11 mm from the paper's edge, like the first's.
pub const MARGIN_MODULE_MM: f64 = 0.5;
pub const MARGIN_LEFT_MM: f64 = 6.0;

/// Where a mark's QR symbol (without its quiet zone) sits on a page of `width` ×
/// `height` points: its left edge and top edge measured from the page's top-left
/// corner, and its side, all in points. Ingest maps scans through these squares.
pub fn mark_square(mark: Mark, width: f64, height: f64) -> (f64, f64, f64) {
    match mark {
        Mark::TopRight => {
            let module = QR_MODULE_MM * MM;
            let quiet = QR_QUIET_MODULES as f64 * module;
            let side = QR_MODULES as f64 * module;
            let zone = side + 2.0 * quiet;
            let left = width - QR_EDGE_MM * MM - zone + quiet;
            let top = QR_EDGE_MM * MM + quiet;
            (left, top, side)
        }
        Mark::BottomLeft | Mark::TopLeft => {
            let side = QR_MODULES as f64 * MARGIN_MODULE_MM * MM;
            let top = match mark {
                Mark::TopLeft => QR_EDGE_MM * MM,
                _ => height - QR_EDGE_MM * MM - side,
            };
            (MARGIN_LEFT_MM * MM, top, side)
        }
    }
}

/// Modules of a version 2 QR code (every mark).
pub const QR_MODULES: usize = super::qr_code::MODULES;

/// A compiled policy ready to be personalised.
#[derive(Clone)]
pub struct FormBase {
    doc: Document,
    /// The base's objects written out once, for every personal copy.
    copies: CopyWriter,
    pages: Vec<ObjectId>,
    /// Page width and height in points.
    sizes: Vec<(f64, f64)>,
    fields: Vec<FieldSpec>,
    font: ObjectId,
    /// Per page, SHA-256 state after the page's own content (see [`PageOverlay`]).
    content_hashers: Vec<Sha256>,
    /// Per page, the drawing fingerprint's state after the page's own content.
    drawing_hashers: Vec<DrawingHasher>,
}

/// One page's personal content: the QR code and form id, compressed for the PDF,
/// and the hash of the page's whole content once it is added.
#[derive(Clone)]
pub struct PageOverlay {
    stream: Stream,
    /// SHA-256 over the page's content streams, decoded, in order, each followed
    /// by a newline (as lopdf's `get_page_content` joins them): what the issue
    /// register stores and a digital return is checked against.
    pub content_hash: String,
    /// What the page draws, by operators (see [`super::drawing`]).
    pub drawing: DrawingPrint,
}

/// One personalised form: its bytes and what the issue register records.
pub struct Stamped {
    pub pdf: Vec<u8>,
    /// SHA-256 of `pdf` (hex).
    pub sha256: String,
    /// SHA-256 of each page's decoded content, as issued.
    pub page_hashes: Vec<String>,
    /// What each page draws, as issued.
    pub page_drawings: Vec<DrawingPrint>,
}

#[derive(Debug, thiserror::Error)]
pub enum StampError {
    #[error("cannot read the compiled PDF: {0}")]
    Load(#[from] lopdf::Error),
    #[error("the compiled PDF is malformed: {0}")]
    Malformed(String),
    #[error("cannot draw the QR code: {0}")]
    Qr(String),
    #[error("cannot write the PDF: {0}")]
    Write(#[from] std::io::Error),
}

impl FormBase {
    /// Prepares `pdf` (Typst's output) once: the embedded font is added, and each
    /// page's content is wrapped in q/Q so our overlay starts from a clean graphics
    /// state whatever Typst left behind.
    pub fn new(pdf: &[u8], fields: Vec<FieldSpec>) -> Result<Self, StampError> {
        let mut doc = Document::load_mem(pdf)?;
        let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
        if pages.is_empty() {
            return Err(StampError::Malformed("it has no pages".into()));
        }
        let font = FONT.add_to(&mut doc);
        let open = doc.add_object(Stream::new(Dictionary::new(), b"q\n".to_vec()));
        let mut sizes = Vec::new();
        for &page in &pages {
            let contents: Vec<Object> = doc
                .get_page_contents(page)
                .into_iter()
                .map(Object::Reference)
                .collect();
            let dict = doc.get_dictionary_mut(page).map_err(StampError::Load)?;
            let media_box = dict
                .get(b"MediaBox")
                .and_then(|o| o.as_array())
                .map_err(|_| StampError::Malformed("a page has no MediaBox".into()))?;
            let numbers: Vec<f64> = media_box
                .iter()
                .filter_map(|o| o.as_float().ok())
                .map(f64::from)
                .collect();
            let [x0, y0, x1, y1] = numbers[..] else {
                return Err(StampError::Malformed(
                    "a page's MediaBox is not 4 numbers".into(),
                ));
            };
            sizes.push((x1 - x0, y1 - y0));
            let mut wrapped = vec![Object::Reference(open)];
            wrapped.extend(contents);
            dict.set("Contents", Object::Array(wrapped));
            // Fields and the QR code draw with our font; pages reference it directly.
            let resources = dict.get_mut(b"Resources").map_err(StampError::Load)?;
            let resources = match resources {
                Object::Reference(id) => {
                    let id = *id;
                    doc.get_dictionary_mut(id).map_err(StampError::Load)?
                }
                Object::Dictionary(d) => d,
                _ => {
                    return Err(StampError::Malformed(
                        "a page's Resources is not a dictionary".into(),
                    ));
                }
            };
            add_font_resource(resources, font);
        }
        let content_hashers = pages
            .iter()
            .map(|&page| {
                let mut hasher = Sha256::new();
                hasher.update(doc.get_page_content(page));
                hasher
            })
            .collect();
        let drawing_hashers = pages
            .iter()
            .map(|&page| {
                let mut hasher = DrawingHasher::default();
                hasher
                    .add_content(&doc.get_page_content(page))
                    .map_err(StampError::Malformed)?;
                Ok(hasher)
            })
            .collect::<Result<_, StampError>>()?;
        for field in &fields {
            if field.page == 0 || field.page > pages.len() {
                return Err(StampError::Malformed(format!(
                    "field {} is on page {}",
                    field.name, field.page
                )));
            }
        }
        // Copies are written with a cross-reference table (what Typst writes),
        // whatever a future Typst chooses.
        doc.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
        // A copy starts from what personalising it reads or changes: every
        // dictionary but the structure elements below the top one (fields
        // join the top), and no stream.
        let top = tagging::top_element(&doc)?;
        let copies = CopyWriter::new(&doc, |id, object| match object {
            Object::Stream(_) => false,
            Object::Dictionary(dict) => {
                id == top
                    || !matches!(
                        dict.get(b"Type").and_then(Object::as_name),
                        Ok(b"StructElem")
                    )
            }
            _ => true,
        })?;
        Ok(Self {
            doc,
            copies,
            pages,
            sizes,
            fields,
            font,
            content_hashers,
            drawing_hashers,
        })
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    pub fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }

    /// Page sizes in points.
    pub fn sizes(&self) -> &[(f64, f64)] {
        &self.sizes
    }

    /// The personal content of each page of `meta`'s form, computed once and used
    /// both for the form itself and for the print file.
    pub fn overlays(&self, meta: &FormMeta) -> Result<Vec<PageOverlay>, StampError> {
        let pages = self.pages.len() as u32;
        (0..pages)
            .map(|i| {
                let drawing = self.drawing_hashers[i as usize].clone();
                let (content, drawing) = self.overlay(meta, i + 1, pages, drawing)?;
                let mut hasher = self.content_hashers[i as usize].clone();
                hasher.update(&content);
                hasher.update(b"\n");
                Ok(PageOverlay {
                    stream: compressed(content),
                    content_hash: hex(&hasher.finalize()),
                    drawing: drawing.finish(),
                })
            })
            .collect()
    }

    /// A personal copy: overlay, fields, metadata, ids.
    pub fn stamp(&self, meta: &FormMeta, overlays: &[PageOverlay]) -> Result<Stamped, StampError> {
        let doc = self.personalise(self.copies.copy(), meta, overlays)?;
        let (pdf, sha256) = self.copies.save(&doc)?;
        Ok(Stamped {
            pdf,
            sha256,
            page_hashes: overlays.iter().map(|o| o.content_hash.clone()).collect(),
            page_drawings: overlays.iter().map(|o| o.drawing.clone()).collect(),
        })
    }

    /// The whole document of a personal copy, as lopdf would write it: what
    /// [`Self::stamp`]'s bytes are checked against.
    pub fn personalised_in_full(
        &self,
        meta: &FormMeta,
        overlays: &[PageOverlay],
    ) -> Result<Document, StampError> {
        self.personalise(self.doc.clone(), meta, overlays)
    }

    /// `doc` (the base, or the part of it a copy changes) made `meta`'s.
    fn personalise(
        &self,
        mut doc: Document,
        meta: &FormMeta,
        overlays: &[PageOverlay],
    ) -> Result<Document, StampError> {
        for (&page, overlay) in self.pages.iter().zip(overlays) {
            let overlay = doc.add_object(overlay.stream.clone());
            append_contents(&mut doc, page, overlay)?;
        }
        self.add_fields(&mut doc, meta)?;
        set_metadata(&mut doc, meta);
        set_viewer_preferences(&mut doc)?;
        let id = document_id(&meta.form_id, &meta.fingerprint);
        doc.trailer.set("ID", Object::Array(vec![id.clone(), id]));
        Ok(doc)
    }

    /// Every form in one document for printing: each form's pages, padded with a
    /// blank page to an even count so duplex printing never puts two people on one
    /// sheet. The policy's page content and fonts are shared, so the file stays small;
    /// pre-filled values are drawn onto the page since there are no fields.
    /// Each of `covers` is a sheet (a page of its lines, and a blank back) put
    /// before the form it names: the class sheets of a pupils' print file.
    pub fn print_all(
        &self,
        forms: &[(&FormMeta, &[PageOverlay])],
        covers: &[super::Cover],
    ) -> Result<Vec<u8>, StampError> {
        let mut doc = self.doc.clone();
        let pages_id = doc
            .catalog()
            .and_then(|c| c.get(b"Pages"))
            .and_then(|p| p.as_reference())
            .map_err(|_| StampError::Malformed("no page tree".into()))?;
        let mut kids = Vec::new();
        let mut copies = Vec::new();
        let pages = self.pages.len();
        let (w, h) = self.sizes[0];
        let blank_page = |doc: &mut Document, (w, h): (f64, f64)| {
            doc.add_object(Dictionary::from_iter([
                ("Type", Object::Name(b"Page".to_vec())),
                ("Parent", Object::Reference(pages_id)),
                ("MediaBox", crate::pdf::rect(0.0, 0.0, w, h)),
                ("Resources", Object::Dictionary(Dictionary::new())),
            ]))
        };
        for (index, (meta, overlays)) in forms.iter().enumerate() {
            for cover in covers.iter().filter(|c| c.before == index) {
                let content = doc.add_object(compressed(super::cover::content(cover, w, h)));
                let page = doc.add_object(Dictionary::from_iter([
                    ("Type", Object::Name(b"Page".to_vec())),
                    ("Parent", Object::Reference(pages_id)),
                    ("MediaBox", crate::pdf::rect(0.0, 0.0, w, h)),
                    ("Contents", Object::Reference(content)),
                    (
                        "Resources",
                        Object::Dictionary(Dictionary::from_iter([(
                            "Font",
                            Object::Dictionary(Dictionary::from_iter([(
                                FONT_NAME,
                                Object::Reference(self.font),
                            )])),
                        )])),
                    ),
                ]));
                kids.push(Object::Reference(page));
                kids.push(Object::Reference(blank_page(&mut doc, (w, h))));
            }
            let mut copied = Vec::with_capacity(pages);
            for (i, &page) in self.pages.iter().enumerate() {
                let overlay = doc.add_object(overlays[i].stream.clone());
                let mut dict = doc.get_dictionary(page)?.clone();
                let mut contents = dict.get(b"Contents")?.as_array()?.clone();
                contents.push(Object::Reference(overlay));
                if let Some(values) = self.values_overlay(meta, i + 1) {
                    contents.push(Object::Reference(doc.add_object(compressed(values))));
                }
                dict.set("Contents", Object::Array(contents));
                dict.set("Parent", Object::Reference(pages_id));
                dict.remove(b"Annots");
                dict.remove(b"StructParents");
                let copy = doc.add_object(dict);
                copied.push((page, copy));
                kids.push(Object::Reference(copy));
            }
            copies.push(copied);
            if pages % 2 == 1 {
                let last = self.sizes[self.sizes.len() - 1];
                kids.push(Object::Reference(blank_page(&mut doc, last)));
            }
        }
        // Each person's pages get their own copy of the structure, so the print
        // file is tagged like the forms it holds.
        tagging::structure_for_copies(&mut doc, &copies)?;
        let count = kids.len() as i64;
        let tree = doc.get_dictionary_mut(pages_id)?;
        tree.set("Kids", Object::Array(kids));
        tree.set("Count", count);
        crate::pdf::prune_unreachable(&mut doc);
        set_viewer_preferences(&mut doc)?;
        let pdf = super::copy_writer::save_in_parallel(&doc)?;
        // Freeing tens of thousands of objects takes as long as writing them:
        // a thread of its own does it, not the caller. Not one of rayon's: a
        // worker waiting for this very call to return would take the job and
        // free everything before it noticed the call was done.
        let _ = std::thread::Builder::new()
            .name("free-print-file".into())
            .spawn(move || drop(doc));
        Ok(pdf)
    }

    /// The per-page content: QR code, form id and page number beside it and, for
    /// print files, the pre-filled values of the fields on this page.
    fn overlay(
        &self,
        meta: &FormMeta,
        page: u32,
        pages: u32,
        drawing: DrawingHasher,
    ) -> Result<(Vec<u8>, DrawingHasher), StampError> {
        let (width, height) = self.sizes[page as usize - 1];
        let payload = PagePayload {
            form: meta.form_id.clone(),
            page,
            pages,
            fingerprint: meta.fingerprint_short.clone(),
        };
        let mut out = Overlay::artifact(drawing);
        out.text.push_str("q\n");
        let (symbol_left, symbol_top, side) = mark_square(Mark::TopRight, width, height);
        let module = side / QR_MODULES as f64;
        let quiet = QR_QUIET_MODULES as f64 * module;
        // The first mark's whole quiet zone is painted white; the margin marks'
        // only one module round, so they never cover the text column beside them.
        draw_code(
            &mut out,
            &payload.encode(),
            (symbol_left, symbol_top, side),
            quiet,
            height,
        )?;
        for mark in [Mark::BottomLeft, Mark::TopLeft] {
            let square = mark_square(mark, width, height);
            let module = square.2 / QR_MODULES as f64;
            draw_code(&mut out, &payload.encode_for(mark), square, module, height)?;
        }
        let zone_left = symbol_left - quiet;
        let zone_top = height - (symbol_top - quiet);
        // The id a person types when a code won't scan, right-aligned beside the code.
        let right = zone_left - 1.5 * MM;
        let id = meta.form_id.as_str();
        let page_text = format!("page {page} of {pages}");
        text_at(
            &mut out.text,
            id,
            11.0,
            right - FONT.width(id, 11.0),
            zone_top - 6.5 * MM,
        );
        text_at(
            &mut out.text,
            &page_text,
            8.0,
            right - FONT.width(&page_text, 8.0),
            zone_top - 10.5 * MM,
        );
        out.text.push_str("Q\n");
        out.finish()
    }

    /// For print files, which have no fields: the pre-filled values drawn onto
    /// page `page` (1-based), if it has any.
    fn values_overlay(&self, meta: &FormMeta, page: usize) -> Option<Vec<u8>> {
        let mut out = String::new();
        for field in self.fields.iter().filter(|f| f.page == page) {
            if let Some(value) = meta.value_of(&field.name) {
                let (x, y) = value_origin(&field.rect, 11.0);
                text_at(&mut out, value, 11.0, x, y);
            }
        }
        (!out.is_empty()).then(|| tagging::artifact(&format!("q 0 g\n{out}Q\n")).into_bytes())
    }

    /// AcroForm fields (PDF 1.7 §12.7) over the marked boxes: merged field/widget
    /// dictionaries, each with a normal appearance stream, so pre-filled values show
    /// and print without the viewer regenerating anything.
    fn add_fields(&self, doc: &mut Document, meta: &FormMeta) -> Result<(), StampError> {
        let helv = doc.add_object(Dictionary::from_iter([
            ("Type", Object::Name(b"Font".to_vec())),
            ("Subtype", Object::Name(b"Type1".to_vec())),
            ("BaseFont", Object::Name(b"Helvetica".to_vec())),
            ("Encoding", Object::Name(b"WinAnsiEncoding".to_vec())),
        ]));
        let mut field_refs = Vec::new();
        let mut widgets = Vec::new();
        for field in &self.fields {
            let page = self.pages[field.page - 1];
            let r = &field.rect;
            let (w, h) = (r.x1 - r.x0, r.y1 - r.y0);
            let value = meta.value_of(&field.name);
            let appearance = match field.kind.as_str() {
                // A check box: on ("Yes") a tick, off nothing; it starts off.
                "check" => Object::Dictionary(Dictionary::from_iter([
                    (
                        "Yes",
                        Object::Reference(doc.add_object(tick_appearance(w, h, self.font))),
                    ),
                    (
                        "Off",
                        Object::Reference(doc.add_object(form_xobject(
                            w,
                            h,
                            self.font,
                            String::new(),
                        ))),
                    ),
                ])),
                kind => Object::Reference(doc.add_object(appearance_stream(
                    w,
                    h,
                    value,
                    kind == "signature",
                    self.font,
                ))),
            };
            let mut dict = Dictionary::from_iter([
                ("Type", Object::Name(b"Annot".to_vec())),
                ("Subtype", Object::Name(b"Widget".to_vec())),
                ("T", Object::string_literal(field.name.as_str())),
                ("TU", text_string(&field.tooltip())),
                ("Rect", crate::pdf::rect(r.x0, r.y0, r.x1, r.y1)),
                // Print flag: the field appears on paper too.
                ("F", 4.into()),
                ("P", Object::Reference(page)),
                (
                    "AP",
                    Object::Dictionary(Dictionary::from_iter([("N", appearance)])),
                ),
            ]);
            if field.kind == "signature" {
                dict.set("FT", Object::Name(b"Sig".to_vec()));
            } else if field.kind == "check" {
                dict.set("FT", Object::Name(b"Btn".to_vec()));
                dict.set("V", Object::Name(b"Off".to_vec()));
                dict.set("AS", Object::Name(b"Off".to_vec()));
            } else {
                dict.set("FT", Object::Name(b"Tx".to_vec()));
                // Viewers regenerate typed values with Helvetica, which every
                // reader has; our pre-filled appearances use the embedded font.
                dict.set("DA", Object::string_literal("/Helv 11 Tf 0 g"));
                if let Some(value) = value {
                    dict.set("V", text_string(value));
                }
            }
            let id = doc.add_object(dict);
            append_annotation(doc, page, id)?;
            field_refs.push(Object::Reference(id));
            widgets.push((id, page));
        }
        let resources = Dictionary::from_iter([(
            "Font",
            Object::Dictionary(Dictionary::from_iter([
                ("Helv", Object::Reference(helv)),
                (FONT_NAME, Object::Reference(self.font)),
            ])),
        )]);
        let acro_form = Dictionary::from_iter([
            ("Fields", Object::Array(field_refs)),
            ("DR", Object::Dictionary(resources)),
            ("DA", Object::string_literal("/Helv 0 Tf 0 g")),
        ]);
        let acro_form = doc.add_object(acro_form);
        doc.catalog_mut()?
            .set("AcroForm", Object::Reference(acro_form));
        tagging::add_form_elements(doc, &widgets)
    }
}

/// A FlateDecode stream of `content`. Each thread keeps one deflate state and
/// resets it, because setting one up (zeroing its window and tables) costs more
/// than compressing a page overlay.
fn compressed(content: Vec<u8>) -> Stream {
    use flate2::{Compress, Compression, FlushCompress, Status};
    thread_local! {
        static DEFLATE: std::cell::RefCell<Compress> = std::cell::RefCell::new(Compress::new(Compression::new(6), true));
    }
    let packed = DEFLATE.with(|deflate| {
        let mut deflate = deflate.borrow_mut();
        deflate.reset();
        // Deflate never grows data by more than a few bytes per 16 KB block.
        let mut out = Vec::with_capacity(content.len() + content.len() / 8 + 64);
        match deflate.compress_vec(&content, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => Some(out),
            _ => None,
        }
    });
    match packed {
        Some(packed) if packed.len() < content.len() => {
            let dict = Dictionary::from_iter([("Filter", Object::Name(b"FlateDecode".to_vec()))]);
            Stream::new(dict, packed)
        }
        _ => Stream::new(Dictionary::new(), content),
    }
}

fn add_font_resource(resources: &mut Dictionary, font: ObjectId) {
    match resources.get_mut(b"Font") {
        Ok(Object::Dictionary(fonts)) => fonts.set(FONT_NAME, Object::Reference(font)),
        _ => resources.set(
            "Font",
            Object::Dictionary(Dictionary::from_iter([(
                FONT_NAME,
                Object::Reference(font),
            )])),
        ),
    }
}

fn append_contents(doc: &mut Document, page: ObjectId, stream: ObjectId) -> Result<(), StampError> {
    let dict = doc.get_dictionary_mut(page)?;
    let mut contents = dict.get(b"Contents")?.as_array()?.clone();
    contents.push(Object::Reference(stream));
    dict.set("Contents", Object::Array(contents));
    Ok(())
}

fn append_annotation(
    doc: &mut Document,
    page: ObjectId,
    annotation: ObjectId,
) -> Result<(), StampError> {
    let existing = doc.get_dictionary(page)?.get(b"Annots").ok().cloned();
    let mut annots = match existing {
        Some(Object::Array(items)) => items,
        Some(Object::Reference(id)) => doc.get_object(id)?.as_array()?.clone(),
        _ => Vec::new(),
    };
    annots.push(Object::Reference(annotation));
    doc.get_dictionary_mut(page)?
        .set("Annots", Object::Array(annots));
    Ok(())
}

pub(crate) fn text_at(out: &mut String, text: &str, size: f64, x: f64, y: f64) {
    out.push_str(&format!(
        "BT /{FONT_NAME} {size} Tf {x:.2} {y:.2} Td <{}> Tj ET\n",
        FONT.encode(text)
    ));
}

/// A one-page PDF of `area` (page points) showing only `value` as the form
/// prints it pre-filled in the box `rect`: what a box must look like when the
/// value is still the one issued, to be compared with what a return shows.
pub fn value_alone(rect: &Rect, value: &str, area: &Rect) -> Result<Vec<u8>, StampError> {
    let mut doc = Document::with_version("1.7");
    let font = FONT.add_to(&mut doc);
    let (x, y) = value_origin(rect, 11.0);
    let mut content = format!("q 1 0 0 1 {:.2} {:.2} cm 0 g\n", -area.x0, -area.y0);
    text_at(&mut content, value, 11.0, x, y);
    content.push_str("Q\n");
    let content = doc.add_object(Stream::new(Dictionary::new(), content.into_bytes()));
    let resources = Dictionary::from_iter([(
        "Font",
        Object::Dictionary(Dictionary::from_iter([(
            FONT_NAME,
            Object::Reference(font),
        )])),
    )]);
    let pages_id = doc.new_object_id();
    let page = doc.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"Page".to_vec())),
        ("Parent", Object::Reference(pages_id)),
        (
            "MediaBox",
            crate::pdf::rect(0.0, 0.0, area.x1 - area.x0, area.y1 - area.y0),
        ),
        ("Resources", Object::Dictionary(resources)),
        ("Contents", Object::Reference(content)),
    ]));
    doc.objects.insert(
        pages_id,
        Object::Dictionary(Dictionary::from_iter([
            ("Type", Object::Name(b"Pages".to_vec())),
            ("Kids", Object::Array(vec![Object::Reference(page)])),
            ("Count", 1.into()),
        ])),
    );
    let catalog = doc.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"Catalog".to_vec())),
        ("Pages", Object::Reference(pages_id)),
    ]));
    doc.trailer.set("Root", Object::Reference(catalog));
    let mut pdf = Vec::new();
    doc.save_to(&mut pdf)?;
    Ok(pdf)
}

/// Where a value's baseline starts inside a box: 2 mm in, vertically centred on
/// the capital height (for tall boxes, near the bottom, like handwriting on a line).
fn value_origin(rect: &Rect, size: f64) -> (f64, f64) {
    let cap = FONT.cap_height() * size;
    let height = rect.y1 - rect.y0;
    let y = match height > 3.0 * size {
        true => rect.y0 + 2.5 * MM,
        false => rect.y0 + (height - cap) / 2.0,
    };
    (rect.x0 + 2.0 * MM, y)
}

/// A field's normal appearance (PDF 1.7 §12.7.3.3): text fields draw their value
/// in the embedded font inside the `/Tx BMC … EMC` marked content viewers expect.
pub(crate) fn appearance_stream(
    width: f64,
    height: f64,
    value: Option<&str>,
    signature: bool,
    font: ObjectId,
) -> Stream {
    let mut content = String::new();
    if !signature {
        content.push_str("/Tx BMC\n");
        if let Some(value) = value {
            let rect = Rect {
                x0: 0.0,
                y0: 0.0,
                x1: width,
                y1: height,
            };
            let (x, y) = value_origin(&rect, 11.0);
            content.push_str(&format!(
                "q 1 1 {:.2} {:.2} re W n\n",
                width - 2.0,
                height - 2.0
            ));
            text_at(&mut content, value, 11.0, x, y);
            content.push_str("Q\n");
        }
        content.push_str("EMC\n");
    }
    form_xobject(width, height, font, content)
}

/// A ticked check box's appearance: a tick in the box, in black.
fn tick_appearance(width: f64, height: f64, font: ObjectId) -> Stream {
    let content = format!(
        "q 0 G 1.5 w 1 J 1 j {:.2} {:.2} m {:.2} {:.2} l {:.2} {:.2} l S Q\n",
        width * 0.2,
        height * 0.5,
        width * 0.42,
        height * 0.25,
        width * 0.8,
        height * 0.78,
    );
    form_xobject(width, height, font, content)
}

/// A widget's appearance: a form XObject of `width` × `height` drawing
/// `content`, with the embedded font `font` as its one resource.
pub(crate) fn form_xobject(width: f64, height: f64, font: ObjectId, content: String) -> Stream {
    let dict = Dictionary::from_iter([
        ("Type", Object::Name(b"XObject".to_vec())),
        ("Subtype", Object::Name(b"Form".to_vec())),
        ("BBox", crate::pdf::rect(0.0, 0.0, width, height)),
        (
            "Resources",
            Object::Dictionary(Dictionary::from_iter([(
                "Font",
                Object::Dictionary(Dictionary::from_iter([(
                    FONT_NAME,
                    Object::Reference(font),
                )])),
            )])),
        ),
    ]);
    Stream::new(dict, content.into_bytes())
}

/// A PDF text string (PDF 1.7 §7.9.2.2): plain bytes for ASCII, UTF-16BE with a
/// byte-order mark for anything else.
pub fn text_string(text: &str) -> Object {
    if text.is_ascii() {
        return Object::String(text.as_bytes().to_vec(), StringFormat::Literal);
    }
    let mut bytes = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

fn document_id(form: &FormId, fingerprint: &str) -> Object {
    let digest = Sha256::digest(format!("{form}/{fingerprint}").as_bytes());
    Object::String(digest[..16].to_vec(), StringFormat::Hexadecimal)
}

/// `/ViewerPreferences /PrintScaling /None` (PDF 1.6): readers print at actual
/// size instead of shrinking to fit, which would move the boxes ingest looks in.
fn set_viewer_preferences(doc: &mut Document) -> Result<(), StampError> {
    let catalog = doc.catalog_mut()?;
    let mut prefs = match catalog.get(b"ViewerPreferences") {
        Ok(Object::Dictionary(d)) => d.clone(),
        _ => Dictionary::new(),
    };
    prefs.set("PrintScaling", Object::Name(b"None".to_vec()));
    catalog.set("ViewerPreferences", Object::Dictionary(prefs));
    Ok(())
}

/// The Info dictionary and XMP packet carry the form's identity (see
/// [`super::xmp`]); the issue date Typst wrote is kept.
fn set_metadata(doc: &mut Document, meta: &FormMeta) {
    let created = doc
        .trailer
        .get(b"Info")
        .and_then(Object::as_reference)
        .and_then(|id| doc.get_dictionary(id))
        .and_then(|info| info.get(b"CreationDate"))
        .and_then(Object::as_str)
        .ok()
        .map(|date| String::from_utf8_lossy(date).into_owned());
    let metadata = FormMetadata::new(meta, created);
    let mut info = Dictionary::from_iter([
        ("Title", text_string(&metadata.title)),
        ("Author", text_string(&meta.school_name)),
        ("Subject", text_string(&metadata.subject)),
        ("Keywords", text_string(&metadata.keywords)),
        ("Creator", Object::string_literal("aup")),
        ("AupFormId", Object::string_literal(meta.form_id.as_str())),
        ("AupSchool", Object::string_literal(meta.school.as_str())),
        ("AupYear", Object::string_literal(meta.year.as_str())),
        (
            "AupFingerprint",
            Object::string_literal(meta.fingerprint.as_str()),
        ),
        ("AupPerson", text_string(metadata.person)),
    ]);
    if let Some(date) = &metadata.created {
        info.set("CreationDate", Object::string_literal(date.as_str()));
        info.set("ModDate", Object::string_literal(date.as_str()));
    }
    let info = doc.add_object(info);
    doc.trailer.set("Info", Object::Reference(info));
    let mut stream = Stream::new(
        Dictionary::from_iter([
            ("Type", Object::Name(b"Metadata".to_vec())),
            ("Subtype", Object::Name(b"XML".to_vec())),
        ]),
        metadata.packet().into_bytes(),
    );
    // XMP stays uncompressed so that tools that scan for packets find it.
    stream.allows_compression = false;
    let metadata = doc.add_object(stream);
    if let Ok(catalog) = doc.catalog_mut() {
        catalog.set("Metadata", Object::Reference(metadata));
    }
}
