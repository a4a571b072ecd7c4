//! What the ingest process asks a reader worker and what the worker answers.
//!
//! Received bytes are parsed only in worker processes (see [`super::worker`]); this
//! is the whole of what crosses between them, as one JSON document each way over
//! pipes. Nothing here holds a parser's object: image dictionaries travel as
//! [`PlainValue`]s, page images as files the worker wrote to its spool folder.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::pages::{FileKind, Unreadable};
use crate::digital::Inspection;

/// One file to read, and what for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// The file to read: the archive's copy of a received file, or the file given
    /// to `aup verify` / `aup assign`.
    pub file: PathBuf,
    pub kind: FileKind,
    /// The archive whose issue register names the forms (opened read-only).
    pub archive: PathBuf,
    /// The school YAML folder: trust roots for certificate signatures.
    pub schools: PathBuf,
    /// The only folder the worker writes to: page images it hands back.
    pub spool: PathBuf,
    pub task: Task,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Task {
    /// Identify every page by its code, or inspect one of our PDFs as a whole
    /// (`aup ingest`).
    Scan,
    /// Inspect one of our PDFs returned digitally (`aup verify`).
    Verify,
    /// Read the file's pages as pages of one form, by hand (`aup assign`).
    Assign { form_id: String, pages: AssignPages },
}

/// Which pages of the form a file given to `aup assign` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AssignPages {
    /// The file's pages in order, from this page of the form on.
    From(u32),
    /// Exactly these pages, one per page of the file (a filed return read back);
    /// a file with another page count is [`Answer::Assign`] `Ok(None)`.
    Exactly(Vec<u32>),
}

/// The worker's answer; `warnings` are things the office should fix that did not
/// stop the reading (a school's trust roots that cannot be read).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub reading: Reading,
    pub warnings: Vec<String>,
    /// The OS error of a page image the worker could not write into its spool
    /// (a full disk): the run stops with it rather than quarantine pages it
    /// could not keep.
    #[serde(default)]
    pub spool_failed: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reading {
    Scan(FileReading),
    Verify(Result<Box<Inspection>, String>),
    Assign(Result<Option<Vec<PageReading>>, String>),
}

/// What a received file turned out to be.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileReading {
    pub pages: Vec<PageReading>,
    /// The whole file could not be read: it is quarantined as it is.
    pub unreadable: Option<Unreadable>,
    /// One of our PDFs returned digitally: judged as a whole, not page by page.
    pub digital: Option<Box<Inspection>>,
    /// For a digital return whose name box does not show the issued name: a
    /// crop of the box, as a PNG in the spool.
    #[serde(default)]
    pub name_box_crop: Option<PathBuf>,
}

/// A page read from a file: identified by its code, blank, or not placeable.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PageReading {
    Identified(Box<IdentifiedPage>),
    Blank,
    Quarantine {
        reason: crate::verdict::Reason,
        message: String,
        image: Option<SpooledImage>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentifiedPage {
    pub form_id: String,
    pub page: u32,
    /// How the page will be filed.
    pub filed: FiledImage,
    /// Ink by field name, for the boxes on this page: the fraction of the box
    /// in pen strokes (see `scan::ink`).
    pub ink: BTreeMap<String, f64>,
    /// On the page with the name box of a form issued to a person: the box
    /// beside the issued name (see `scan::name_box`).
    #[serde(default)]
    pub name_box: Option<crate::scan::name_box::NameBox>,
    /// When the name box does not show the issued name: a crop of it, as a
    /// PNG in the spool, for the office to check by eye.
    #[serde(default)]
    pub name_box_crop: Option<PathBuf>,
    /// And what the box reads, when the page is a PDF's that draws it as
    /// text (a form printed to PDF).
    #[serde(default)]
    pub name_box_text: Option<String>,
}

/// A page that could not be placed, as PNG files in the spool: the page and a
/// thumbnail, for the quarantine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpooledImage {
    pub png: PathBuf,
    pub thumbnail: PathBuf,
}

/// A page image ready to be filed: its image dictionary, its data, and the matrix
/// that draws it upright on the form's page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FiledImage {
    /// The image dictionary's entries (without Type and Subtype).
    pub dict: Vec<(Vec<u8>, PlainValue)>,
    pub data: FiledData,
    pub matrix: [f64; 6],
}

/// Where a page image's data waits until it is filed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FiledData {
    /// Written to the spool (a re-encoded page).
    Spooled(PathBuf),
    /// A scanner's image, read from the archive's copy of the received file.
    InReceivedFile { offset: u64, len: u64 },
}

/// PDF data with no references and no streams: what an image dictionary of a scan
/// holds (numbers, names, booleans, arrays and dictionaries of those).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlainValue {
    Null,
    Bool(bool),
    Int(i64),
    Real(f32),
    Name(Vec<u8>),
    Array(Vec<PlainValue>),
    Dict(Vec<(Vec<u8>, PlainValue)>),
}

/// How deep a plain value may nest: an image's DecodeParms is two levels.
const MAX_PLAIN_DEPTH: usize = 4;

impl PlainValue {
    pub fn from_lopdf(object: &lopdf::Object) -> Option<Self> {
        Self::from_lopdf_at(object, 0)
    }

    fn from_lopdf_at(object: &lopdf::Object, depth: usize) -> Option<Self> {
        use lopdf::Object;
        if depth > MAX_PLAIN_DEPTH {
            return None;
        }
        Some(match object {
            Object::Null => Self::Null,
            Object::Boolean(b) => Self::Bool(*b),
            Object::Integer(i) => Self::Int(*i),
            Object::Real(r) => Self::Real(*r),
            Object::Name(n) => Self::Name(n.clone()),
            Object::Array(items) => Self::Array(
                items
                    .iter()
                    .map(|i| Self::from_lopdf_at(i, depth + 1))
                    .collect::<Option<_>>()?,
            ),
            Object::Dictionary(dict) => Self::Dict(
                dict.iter()
                    .map(|(k, v)| Some((k.clone(), Self::from_lopdf_at(v, depth + 1)?)))
                    .collect::<Option<_>>()?,
            ),
            _ => return None,
        })
    }

    /// The value as lopdf writes it; `None` past the nesting bound (a worker's
    /// answer is checked, not trusted).
    pub fn to_lopdf(&self) -> Option<lopdf::Object> {
        self.to_lopdf_at(0)
    }

    fn to_lopdf_at(&self, depth: usize) -> Option<lopdf::Object> {
        use lopdf::Object;
        if depth > MAX_PLAIN_DEPTH {
            return None;
        }
        Some(match self {
            Self::Null => Object::Null,
            Self::Bool(b) => Object::Boolean(*b),
            Self::Int(i) => Object::Integer(*i),
            Self::Real(r) => Object::Real(*r),
            Self::Name(n) => Object::Name(n.clone()),
            Self::Array(items) => Object::Array(
                items
                    .iter()
                    .map(|i| i.to_lopdf_at(depth + 1))
                    .collect::<Option<_>>()?,
            ),
            Self::Dict(entries) => Object::Dictionary(dict_to_lopdf(entries, depth + 1)?),
        })
    }
}

/// An image dictionary as lopdf writes it.
pub fn dict_to_lopdf(entries: &[(Vec<u8>, PlainValue)], depth: usize) -> Option<lopdf::Dictionary> {
    let mut dict = lopdf::Dictionary::new();
    for (key, value) in entries {
        dict.set(key.clone(), value.to_lopdf_at(depth)?);
    }
    Some(dict)
}

/// A lopdf image dictionary as plain entries.
pub fn dict_from_lopdf(dict: &lopdf::Dictionary) -> Option<Vec<(Vec<u8>, PlainValue)>> {
    dict.iter()
        .map(|(k, v)| Some((k.clone(), PlainValue::from_lopdf_at(v, 1)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_dictionaries_cross_the_pipe_unchanged() {
        let dict = lopdf::Dictionary::from_iter([
            ("Width", lopdf::Object::Integer(2480)),
            ("Filter", lopdf::Object::Name(b"CCITTFaxDecode".to_vec())),
            (
                "DecodeParms",
                lopdf::Object::Dictionary(lopdf::Dictionary::from_iter([
                    ("K", lopdf::Object::Integer(-1)),
                    ("BlackIs1", lopdf::Object::Boolean(false)),
                ])),
            ),
        ]);
        let plain = dict_from_lopdf(&dict).unwrap();
        let json = serde_json::to_string(&plain).unwrap();
        let back: Vec<(Vec<u8>, PlainValue)> = serde_json::from_str(&json).unwrap();
        assert_eq!(dict_to_lopdf(&back, 1).unwrap(), dict);
    }

    #[test]
    fn a_worker_cannot_send_a_dictionary_nested_past_the_bound() {
        let mut value = PlainValue::Int(1);
        for _ in 0..10 {
            value = PlainValue::Array(vec![value]);
        }
        assert_eq!(value.to_lopdf(), None);
    }
}
