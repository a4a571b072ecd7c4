//! What a person gives on the signing page, written into their own issued form
//! as a reader would: the role and date fields' values with appearances in the
//! form's embedded font, and their signature, drawn or typed, as the appearance
//! of the signature box. An incremental update, so the form as issued is kept
//! byte for byte before it and the judge reads it like any filled-in return.

use lopdf::{Dictionary, Document, IncrementalDocument, Object, ObjectId, Stream};

use crate::form::font::{FONT, FONT_NAME};
use crate::form::stamp::{appearance_stream, form_xobject, text_at, text_string};

/// The most strokes and points a drawn signature may have: a real signature
/// has a few strokes of a few hundred points.
pub const MAX_STROKES: usize = 64;
pub const MAX_POINTS: usize = 4000;

/// A signature as given on the signing page.
#[derive(Debug, Clone, PartialEq)]
pub enum SignatureMark {
    /// Strokes drawn with a finger, pen or mouse: points as fractions of the
    /// pad's width and height, from its top-left corner.
    Drawn(Vec<Vec<(f64, f64)>>),
    /// The person's name, typed.
    Typed(String),
}

/// What the signing page sends, checked.
pub struct Submission<'a> {
    /// Text fields and what goes in them: the staff's role and date
    /// (`signer_role`, `signer_date`), a parent's name and date; a date as
    /// printed in the date box, e.g. "8 September 2025".
    pub texts: Vec<(&'a str, &'a str)>,
    /// The signature box: `signer_signature`, or `parent_signature`.
    pub signature_field: &'a str,
    pub signature: &'a SignatureMark,
    /// Check boxes to tick: a parent's answer to each consent
    /// (`consent_<id>_yes` or `_no`).
    pub ticked: Vec<String>,
}

impl<'a> Submission<'a> {
    /// A staff member's (or visitor's): their role and the date, signed in
    /// the signer's box.
    pub fn staff(role: &'a str, date: &'a str, signature: &'a SignatureMark) -> Self {
        Self {
            texts: vec![("signer_role", role), ("signer_date", date)],
            signature_field: "signer_signature",
            signature,
            ticked: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FillError {
    #[error("the issued form cannot be read: {0}")]
    Load(#[from] lopdf::Error),
    #[error("the issued form has no field {0}")]
    NoField(String),
    #[error("the issued form is not one aup made: {0}")]
    Malformed(String),
    #[error("{0}")]
    Signature(String),
}

impl SignatureMark {
    /// Refuses what no person draws or types: too many strokes or points,
    /// points off the pad, no ink, or an empty name.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Self::Drawn(strokes) => {
                let points: usize = strokes.iter().map(Vec::len).sum();
                if strokes.len() > MAX_STROKES || points > MAX_POINTS {
                    return Err(format!(
                        "a signature has at most {MAX_STROKES} strokes and {MAX_POINTS} points"
                    ));
                }
                if points < 2 {
                    return Err("the signature pad is empty: sign in the box".into());
                }
                let on_pad = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
                if strokes
                    .iter()
                    .flatten()
                    .any(|&(x, y)| !on_pad(x) || !on_pad(y))
                {
                    return Err("a point of the signature is outside the pad".into());
                }
                Ok(())
            }
            Self::Typed(name) if name.trim().chars().count() < 2 => {
                Err("type your name as your signature".into())
            }
            Self::Typed(name) if name.chars().count() > 80 => {
                Err("a typed signature has at most 80 characters".into())
            }
            Self::Typed(name) if !name.chars().all(|c| FONT.has(c)) => {
                Err("the typed signature has characters the form's font cannot show".into())
            }
            Self::Typed(_) => Ok(()),
        }
    }
}

/// `form` (the person's issued PDF) with `submission` filled in.
pub fn fill(form: &[u8], submission: &Submission<'_>) -> Result<Vec<u8>, FillError> {
    submission.signature.check().map_err(FillError::Signature)?;
    let previous = Document::load_mem(form)?;
    let fields = field_ids(&previous)?;
    let font = form_font(&previous)?;
    let mut update = IncrementalDocument::create_from(form.to_vec(), previous);
    let find = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .ok_or_else(|| FillError::NoField(name.to_owned()))
    };
    for &(name, value) in &submission.texts {
        let id = find(name)?;
        let (width, height) = widget_size(&update, id)?;
        let appearance = update.new_document.add_object(appearance_stream(
            width,
            height,
            Some(value),
            false,
            font,
        ));
        update.opt_clone_object_to_new_document(id)?;
        let field = update.new_document.get_dictionary_mut(id)?;
        field.set("V", text_string(value));
        field.set("AP", appearance_dictionary(appearance));
    }
    // A check box shows its tick by its appearance state, as readers set it.
    for name in &submission.ticked {
        let id = find(name)?;
        update.opt_clone_object_to_new_document(id)?;
        let field = update.new_document.get_dictionary_mut(id)?;
        field.set("V", Object::Name(b"Yes".to_vec()));
        field.set("AS", Object::Name(b"Yes".to_vec()));
    }
    let id = find(submission.signature_field)?;
    let (width, height) = widget_size(&update, id)?;
    let appearance = update.new_document.add_object(signature_appearance(
        width,
        height,
        submission.signature,
        font,
    ));
    update.opt_clone_object_to_new_document(id)?;
    update
        .new_document
        .get_dictionary_mut(id)?
        .set("AP", appearance_dictionary(appearance));
    let mut bytes = Vec::with_capacity(form.len() + 16 * 1024);
    update
        .save_to(&mut bytes)
        .map_err(|e| FillError::Malformed(e.to_string()))?;
    Ok(bytes)
}

fn appearance_dictionary(stream: ObjectId) -> Object {
    Object::Dictionary(Dictionary::from_iter([("N", Object::Reference(stream))]))
}

/// The form's fields by name (aup's forms have merged field/widget objects).
fn field_ids(doc: &Document) -> Result<Vec<(String, ObjectId)>, FillError> {
    let acro_form = doc
        .catalog()?
        .get(b"AcroForm")
        .and_then(|o| match o {
            Object::Reference(id) => doc.get_dictionary(*id),
            Object::Dictionary(d) => Ok(d),
            _ => Err(lopdf::Error::ObjectNotFound((0, 0))),
        })
        .map_err(|_| FillError::Malformed("it has no form fields".into()))?;
    let fields = acro_form
        .get(b"Fields")
        .and_then(Object::as_array)
        .map_err(|_| FillError::Malformed("its form has no field list".into()))?;
    Ok(fields
        .iter()
        .filter_map(|f| {
            let id = f.as_reference().ok()?;
            let name = doc.get_dictionary(id).ok()?.get(b"T").ok()?.as_str().ok()?;
            Some((String::from_utf8_lossy(name).into_owned(), id))
        })
        .collect())
}

/// The embedded font the form's own appearances use, from the AcroForm's
/// resources.
fn form_font(doc: &Document) -> Result<ObjectId, FillError> {
    let missing = || FillError::Malformed(format!("its form resources have no {FONT_NAME}"));
    let acro_form = match doc.catalog()?.get(b"AcroForm").map_err(|_| missing())? {
        Object::Reference(id) => doc.get_dictionary(*id)?,
        Object::Dictionary(d) => d,
        _ => return Err(missing()),
    };
    let resources = match acro_form.get(b"DR").map_err(|_| missing())? {
        Object::Reference(id) => doc.get_dictionary(*id)?,
        Object::Dictionary(d) => d,
        _ => return Err(missing()),
    };
    let fonts = match resources.get(b"Font").map_err(|_| missing())? {
        Object::Reference(id) => doc.get_dictionary(*id)?,
        Object::Dictionary(d) => d,
        _ => return Err(missing()),
    };
    fonts
        .get(FONT_NAME.as_bytes())
        .and_then(Object::as_reference)
        .map_err(|_| missing())
}

fn widget_size(update: &IncrementalDocument, id: ObjectId) -> Result<(f64, f64), FillError> {
    let field = update.get_prev_documents().get_dictionary(id)?;
    let numbers: Vec<f64> = field
        .get(b"Rect")
        .and_then(Object::as_array)
        .map_err(|_| FillError::Malformed("a field has no rectangle".into()))?
        .iter()
        .filter_map(|o| o.as_float().ok().map(f64::from))
        .collect();
    let [x0, y0, x1, y1] = numbers[..] else {
        return Err(FillError::Malformed(
            "a field's rectangle is not 4 numbers".into(),
        ));
    };
    Ok(((x1 - x0).abs(), (y1 - y0).abs()))
}

/// The signature box's appearance: the strokes scaled into the box, 2 mm inside
/// its edge (the signing page's pad has the box's proportions), or the typed
/// name as large as fits.
fn signature_appearance(width: f64, height: f64, mark: &SignatureMark, font: ObjectId) -> Stream {
    let inset = 2.0 * 72.0 / 25.4;
    let (inner_w, inner_h) = (
        (width - 2.0 * inset).max(1.0),
        (height - 2.0 * inset).max(1.0),
    );
    let mut content = String::from("q 0 g 0 G\n");
    match mark {
        SignatureMark::Drawn(strokes) => {
            content.push_str("1.4 w 1 J 1 j\n");
            for stroke in strokes {
                for (i, (u, v)) in stroke.iter().enumerate() {
                    let x = inset + u * inner_w;
                    let y = height - inset - v * inner_h;
                    let op = if i == 0 { "m" } else { "l" };
                    content.push_str(&format!("{x:.2} {y:.2} {op}\n"));
                }
                if stroke.len() == 1 {
                    // A dot: a stroke of no length still shows with round caps.
                    let (u, v) = stroke[0];
                    content.push_str(&format!(
                        "{:.2} {:.2} l\n",
                        inset + u * inner_w + 0.1,
                        height - inset - v * inner_h
                    ));
                }
                content.push_str("S\n");
            }
        }
        SignatureMark::Typed(name) => {
            let name = name.trim();
            match super::handwriting::outlines(name, inset, inset, inner_w, inner_h, 28.0) {
                Some(ops) => content.push_str(&ops),
                // A name the handwriting lacks a letter of, in the form's font.
                None => {
                    let mut size = (inner_h * 0.7).min(28.0);
                    let fits = FONT.width(name, size);
                    if fits > inner_w {
                        size *= inner_w / fits;
                    }
                    let y = (height - size * 0.7) / 2.0;
                    text_at(&mut content, name, size, inset, y);
                }
            }
        }
    }
    content.push_str("Q\n");
    form_xobject(width, height, font, content)
}
