//! Form identity and signable PDFs: the fingerprint of a policy version, form ids
//! people can type, the per-page QR code (`qr_code`), the embedded font, and the surgery that
//! turns one compiled policy into personal forms with AcroForm fields.

mod copy_writer;
mod cover;
pub mod drawing;
pub mod font;
pub mod id;
mod overlay;
pub mod qr_code;
pub mod stamp;
pub mod tagging;
pub mod xmp;

pub use cover::Cover;
pub use id::{Fingerprint, FormId, Mark, PagePayload, PayloadError};
pub use stamp::{FormBase, Stamped};

use crate::render::FieldBox;

/// A rectangle in PDF user space (points, origin at the page's bottom-left).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

/// A fillable box of the form, kept apart from any lopdf object: its stable field
/// name (see the README's field table), kind, page (1-based) and rectangle.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub name: String,
    /// `text` or `signature`.
    pub kind: String,
    pub page: usize,
    pub rect: Rect,
}

impl FieldSpec {
    /// Converts a box laid out by Typst (top-left origin) to PDF coordinates.
    pub fn from_layout(b: &FieldBox, page_height: f64) -> Self {
        Self {
            name: b.name.clone(),
            kind: b.kind.clone(),
            page: b.page,
            rect: Rect {
                x0: b.left,
                y0: page_height - b.bottom,
                x1: b.right,
                y1: page_height - b.top,
            },
        }
    }

    /// The tooltip a PDF reader shows over the field.
    pub fn tooltip(&self) -> String {
        let what = match self.name.as_str() {
            "signer_signature" => "Your signature",
            "signer_name" => "Your name",
            "signer_role" => "Your role",
            "signer_date" => "Today's date",
            "approval_systems" => "Systems (completed by the school)",
            "approval_permissions" => "Additional permissions (completed by the school)",
            "approval_signature" => "Approver's signature",
            "approval_name" => "Approver's name",
            "approval_role" => "Approver's role",
            "approval_date" => "Date of approval",
            "child_name" => "The child's name",
            "child_class" => "The child's class",
            "child_writes" => "The child's name, written by the child",
            "pupil_signature" => "The pupil's signature",
            "pupil_date" => "The date the pupil signed",
            "parent_signature" => "Parent's or carer's signature",
            "parent_name" => "Parent's or carer's name",
            "parent_date" => "The date the parent or carer signed",
            other => {
                // consent_<id>_yes / _no: the parents' Yes/No answers.
                if let Some(rest) = other.strip_prefix("consent_") {
                    if let Some(id) = rest.strip_suffix("_yes") {
                        return format!("Yes to the consent {id}");
                    }
                    if let Some(id) = rest.strip_suffix("_no") {
                        return format!("No to the consent {id}");
                    }
                }
                other
            }
        };
        what.to_owned()
    }
}

/// Everything that identifies one issued form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormMeta {
    pub form_id: FormId,
    pub school: String,
    pub school_name: String,
    pub year: String,
    pub fingerprint: String,
    pub fingerprint_short: String,
    /// None for a blank form.
    pub person: Option<String>,
    pub role: Option<String>,
}

impl FormMeta {
    /// The pre-filled value of a field, if any: the signer's name and role.
    pub fn value_of(&self, field: &str) -> Option<&str> {
        match field {
            "signer_name" | "child_name" => self.person.as_deref(),
            "signer_role" | "child_class" => self.role.as_deref(),
            _ => None,
        }
    }
}
