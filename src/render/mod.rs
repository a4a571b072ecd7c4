//! Typst, in-process. This module owns the `World` the templates compile in: the
//! templates (embedded in the binary, or read from a folder while editing them),
//! the fonts (embedded, never the system's), the data files `aup` hands the
//! template, and a fixed date. Nothing here touches the network.

pub mod inputs;
pub mod printed;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{LazyLock, OnceLock};

use serde::Deserialize;
use typst::diag::{FileError, FileResult, SourceDiagnostic, Warned};
use typst::foundations::{Bytes, Datetime, Duration, Label, Selector, Value};
use typst::introspection::{Introspector, MetadataElem};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::{LazyHash, PicoStr};
use typst::{Library, LibraryExt, World};
use typst_kit::diagnostics::{DiagnosticFormat, DiagnosticWorld};
use typst_layout::PagedDocument;

use crate::config::aups::AupKind;
use crate::config::resolve::ClauseCatalogue;

/// The templates shipped in the binary, by file name.
pub const EMBEDDED_TEMPLATES: &[(&str, &str)] = &[
    (
        "staff-aup.typ",
        include_str!("../../templates/staff-aup.typ"),
    ),
    ("aup-lib.typ", include_str!("../../templates/aup-lib.typ")),
    (
        "audience-lib.typ",
        include_str!("../../templates/audience-lib.typ"),
    ),
    (
        "eyfs-ks1-aup.typ",
        include_str!("../../templates/eyfs-ks1-aup.typ"),
    ),
    ("ks2-aup.typ", include_str!("../../templates/ks2-aup.typ")),
    (
        "ks3-4-aup.typ",
        include_str!("../../templates/ks3-4-aup.typ"),
    ),
    (
        "parents-aup.typ",
        include_str!("../../templates/parents-aup.typ"),
    ),
    (
        "visitors-aup.typ",
        include_str!("../../templates/visitors-aup.typ"),
    ),
];

/// The template of the staff, governors and volunteers AUP.
pub const STAFF_AUP: &str = "staff-aup.typ";

/// Fonts embedded in the binary: Liberation Sans (the template's face, metric
/// compatible with the Arial the seed documents were written in) and Typst's
/// own embedded fonts as fallbacks.
const LIBERATION_SANS: &[&[u8]] = &[
    include_bytes!("../../fonts/LiberationSans-Regular.ttf"),
    include_bytes!("../../fonts/LiberationSans-Bold.ttf"),
    include_bytes!("../../fonts/LiberationSans-Italic.ttf"),
    include_bytes!("../../fonts/LiberationSans-BoldItalic.ttf"),
];

struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

/// Fonts are parsed once per process; every compilation shares them.
static FONTS: LazyLock<Fonts> = LazyLock::new(|| {
    let mut fonts: Vec<Font> = LIBERATION_SANS
        .iter()
        .flat_map(|data| Font::iter(Bytes::new(*data)))
        .collect();
    fonts.extend(typst_kit::fonts::embedded().map(|(font, _)| font));
    let book = FontBook::from_fonts(&fonts);
    Fonts {
        book: LazyHash::new(book),
        fonts,
    }
});

/// The standard library, built once: per-compile data comes through files, not
/// `sys.inputs`, so one library serves every school and Typst's caches stay warm.
/// `A11yExtras` gives the templates `pdf.header-cell`, which makes the key-people
/// labels row headers for a screen reader; `Html` lets the same template make
/// the signing page's copy of the policy.
static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| {
    let features = [typst::Feature::A11yExtras, typst::Feature::Html]
        .into_iter()
        .collect();
    LazyHash::new(Library::builder().with_features(features).build())
});

/// Where templates come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TemplateSource {
    /// The templates built into this binary.
    #[default]
    Embedded,
    /// A folder of templates, for people editing them: `aup generate --templates DIR`.
    Dir(PathBuf),
}

impl TemplateSource {
    /// The text of template `name`.
    pub fn read(&self, name: &str) -> Result<String, String> {
        match self {
            Self::Embedded => EMBEDDED_TEMPLATES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| format!("there is no built-in template `{name}`")),
            Self::Dir(dir) => {
                let path = dir.join(name);
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read template {}: {e}", path.display()))
            }
        }
    }
}

impl TemplateSource {
    /// True for a folder without template `name`.
    fn lacks(&self, name: &str) -> bool {
        match self {
            Self::Embedded => false,
            Self::Dir(dir) => !dir.join(name).exists(),
        }
    }
}

fn file_id(path: &str) -> FileId {
    // Ids are interned for the life of the process (at most 2^16), so the few
    // paths we use are interned once each and reused.
    let vpath = VirtualPath::new(path).expect("static virtual paths are valid");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

/// What one compilation needs: the main template, the data files, the date.
pub struct Job<'a> {
    pub templates: &'a TemplateSource,
    pub main: &'a str,
    /// Virtual files by absolute path, e.g. `/policy.json`.
    pub files: Vec<(&'a str, Vec<u8>)>,
    pub today: time::Date,
}

/// A `World` holding everything one compilation can read.
pub struct AupWorld {
    main: FileId,
    sources: HashMap<FileId, Source>,
    files: HashMap<FileId, Bytes>,
    names: HashMap<FileId, String>,
    today: Datetime,
}

impl AupWorld {
    pub fn new(job: Job<'_>) -> Result<Self, RenderError> {
        let mut sources = HashMap::new();
        let mut names = HashMap::new();
        for (name, _) in EMBEDDED_TEMPLATES {
            let text = match job.templates.read(name) {
                Ok(text) => text,
                // A folder of templates being edited need hold only the main
                // one and what it imports: an import of a missing file fails
                // in Typst, naming it.
                Err(_) if *name != job.main && job.templates.lacks(name) => continue,
                Err(message) => return Err(RenderError::Template(message)),
            };
            let id = file_id(&format!("/{name}"));
            sources.insert(id, Source::new(id, text));
            names.insert(id, format!("templates/{name}"));
        }
        let files = job
            .files
            .into_iter()
            .map(|(path, bytes)| {
                let id = file_id(path);
                names.insert(id, path.to_owned());
                (id, Bytes::new(bytes))
            })
            .collect();
        let today = Datetime::from_ymd(job.today.year(), job.today.month() as u8, job.today.day())
            .ok_or_else(|| {
                RenderError::Template(format!("cannot represent the date {}", job.today))
            })?;
        Ok(Self {
            main: file_id(&format!("/{}", job.main)),
            sources,
            files,
            names,
            today,
        })
    }

    /// Compiles the main template; errors come back formatted like the typst CLI
    /// prints them (file:line:col, the source line, hints).
    pub fn compile(&self) -> Result<Compiled, RenderError> {
        let Warned { output, warnings } = typst::compile::<PagedDocument>(self);
        match output {
            Ok(document) => Ok(Compiled {
                document,
                warnings: self.format(&warnings),
            }),
            Err(errors) => Err(RenderError::Compile(self.format(&errors))),
        }
    }

    /// Compiles the main template for HTML: the policy's words for a web page.
    /// Returns the document's HTML and Typst's warnings.
    pub fn compile_html(&self) -> Result<(String, String), RenderError> {
        let Warned { output, warnings } = typst::compile::<typst_html::HtmlDocument>(self);
        let document = output.map_err(|errors| RenderError::Compile(self.format(&errors)))?;
        let html = typst_html::html(&document, &typst_html::HtmlOptions::default())
            .map_err(|errors| RenderError::Export(self.format(&errors)))?;
        Ok((html, self.format(&warnings)))
    }

    fn format(&self, diagnostics: &[SourceDiagnostic]) -> String {
        if diagnostics.is_empty() {
            return String::new();
        }
        let mut buffer = typst_kit::diagnostics::termcolor::Buffer::no_color();
        let _ =
            typst_kit::diagnostics::emit(&mut buffer, self, diagnostics, DiagnosticFormat::Human);
        String::from_utf8_lossy(buffer.as_slice()).into_owned()
    }
}

impl World for AupWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        self.sources.get(&id).cloned().ok_or_else(|| not_found(id))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if let Some(bytes) = self.files.get(&id) {
            return Ok(bytes.clone());
        }
        match self.sources.get(&id) {
            Some(source) => Ok(Bytes::from_string(source.text().to_owned())),
            None => Err(not_found(id)),
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

impl DiagnosticWorld for AupWorld {
    fn name(&self, id: FileId) -> String {
        self.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| id.vpath().get_with_slash().to_owned())
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(std::path::PathBuf::from(id.vpath().get_with_slash()))
}

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Template(String),
    #[error("the template failed to compile\n{0}")]
    Compile(String),
    #[error("PDF export failed:\n{0}")]
    Export(String),
}

/// A laid-out document and what the template said while compiling it.
pub struct Compiled {
    pub document: PagedDocument,
    pub warnings: String,
}

/// A fillable box as laid out: page (1-based) and rectangle in PDF points from
/// the page's top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldBox {
    pub name: String,
    pub kind: String,
    pub page: usize,
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

#[derive(Deserialize)]
struct FieldMarker {
    name: String,
    kind: String,
    corner: String,
}

impl Compiled {
    /// Exports the document as PDF/UA-1 and PDF/A-2a, dated `date` (PDF/A wants a
    /// date). `ident` keeps the PDF's /ID stable across runs.
    pub fn pdf(&self, ident: &str, date: time::Date) -> Result<Vec<u8>, RenderError> {
        let timestamp = Datetime::from_ymd(date.year(), date.month() as u8, date.day())
            .map(typst_pdf::Timestamp::new_utc);
        let standards = typst_pdf::PdfStandards::new(&[
            typst_pdf::PdfStandard::Ua_1,
            typst_pdf::PdfStandard::A_2a,
        ])
        .map_err(|e| RenderError::Export(format!("{e:?}")))?;
        let options = typst_pdf::PdfOptions {
            ident: typst::foundations::Smart::Custom(ident.to_owned()),
            timestamp,
            standards,
            ..Default::default()
        };
        typst_pdf::pdf(&self.document, &options).map_err(|errors| {
            RenderError::Export(
                errors
                    .iter()
                    .map(|e| e.message.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })
    }

    pub fn page_count(&self) -> usize {
        self.document.pages().len()
    }

    /// The values of every `metadata` element carrying `label`.
    fn metadata(&self, label: &str) -> Vec<(Value, Option<typst::introspection::Location>)> {
        let Some(label) = Label::new(PicoStr::intern(label)) else {
            return Vec::new();
        };
        self.document
            .introspector()
            .query(&Selector::Label(label))
            .iter()
            .filter_map(|content| {
                let meta = content.to_packed::<MetadataElem>()?;
                Some((meta.value.clone(), content.location()))
            })
            .collect()
    }

    /// The fillable boxes the template marked, in document order.
    pub fn field_boxes(&self) -> Result<Vec<FieldBox>, RenderError> {
        let introspector = self.document.introspector();
        let mut boxes: Vec<FieldBox> = Vec::new();
        for (value, location) in self.metadata("aup-field") {
            let marker: FieldMarker = serde_json::to_value(&value)
                .and_then(serde_json::from_value)
                .map_err(|e| RenderError::Template(format!("a field marker is malformed: {e}")))?;
            let position = location
                .and_then(|l| introspector.position(l))
                .ok_or_else(|| {
                    RenderError::Template(format!("field `{}` has no position", marker.name))
                })?;
            let (x, y) = (position.point.x.to_pt(), position.point.y.to_pt());
            let page = position.page.get();
            match marker.corner.as_str() {
                "top-left" => boxes.push(FieldBox {
                    name: marker.name,
                    kind: marker.kind,
                    page,
                    left: x,
                    top: y,
                    right: x,
                    bottom: y,
                }),
                _ => {
                    let open = boxes
                        .iter_mut()
                        .rev()
                        .find(|b| b.name == marker.name && b.page == page)
                        .ok_or_else(|| {
                            RenderError::Template(format!(
                                "field `{}` was split across pages",
                                marker.name
                            ))
                        })?;
                    open.right = x;
                    open.bottom = y;
                }
            }
        }
        Ok(boxes)
    }

    /// The template's catalogue of clause ids.
    pub fn catalogue(&self) -> Result<ClauseCatalogue, RenderError> {
        #[derive(Deserialize)]
        struct Raw {
            blocks: Vec<String>,
            clauses: Vec<String>,
            bullets: Vec<String>,
            #[serde(default)]
            anchors: Vec<String>,
        }
        let (value, _) = self
            .metadata("aup-catalogue")
            .into_iter()
            .next()
            .ok_or_else(|| RenderError::Template("the template has no <aup-catalogue>".into()))?;
        let raw: Raw = serde_json::to_value(&value)
            .and_then(serde_json::from_value)
            .map_err(|e| {
                RenderError::Template(format!("the clause catalogue is malformed: {e}"))
            })?;
        Ok(ClauseCatalogue {
            blocks: raw.blocks,
            clauses: raw.clauses,
            bullets: raw.bullets,
            anchors: raw.anchors,
        })
    }
}

/// The clause catalogue of the staff template (see [`catalogue_of`]).
pub fn staff_catalogue(templates: &TemplateSource) -> Result<ClauseCatalogue, String> {
    catalogue_of(AupKind::Staff, templates)
}

/// The clause catalogue of `aup`'s template, compiled once per process with a
/// neutral school (the catalogue does not depend on the school).
pub fn catalogue_of(aup: AupKind, templates: &TemplateSource) -> Result<ClauseCatalogue, String> {
    static EMBEDDED: [OnceLock<Result<ClauseCatalogue, String>>; AupKind::ALL.len()] =
        [const { OnceLock::new() }; AupKind::ALL.len()];
    let build = || -> Result<ClauseCatalogue, String> {
        let input = inputs::neutral_policy_input();
        let files = inputs::template_files(&input, None, "2025-26", "2025-09-01", false)
            .map_err(|e| e.to_string())?;
        let world = AupWorld::new(Job {
            templates,
            main: aup.template(),
            files,
            today: time::macros::date!(2025 - 09 - 01),
        })
        .map_err(|e| e.to_string())?;
        world
            .compile()
            .and_then(|c| c.catalogue())
            .map_err(|e| e.to_string())
    };
    match templates {
        TemplateSource::Embedded => {
            let slot = AupKind::ALL.iter().position(|k| *k == aup).unwrap_or(0);
            EMBEDDED[slot].get_or_init(build).clone()
        }
        TemplateSource::Dir(_) => build(),
    }
}
