//! A reader worker's answer is checked, not trusted: what it names must lie where
//! it may (page images in the spool) and be what this archive knows (forms in the
//! register). A worker that lies costs only its own file.

use std::collections::HashMap;

use super::FileResult;
use super::pages::Unreadable;
use super::protocol::{FiledData, PageReading, SpooledImage};
use super::spool::RunSpool;
use crate::archive::RegisteredForm;
use crate::verdict::Reason;

/// A worker's answer is checked, not trusted: page images must lie in the spool,
/// and identified forms must be in the register this run loaded.
pub(super) fn check_answer(
    file: &mut FileResult,
    spool: &RunSpool,
    register: &HashMap<String, RegisteredForm>,
) {
    let failed = |message: &str| Unreadable::new(Reason::ReaderFailed, message);
    for page in &mut file.pages {
        match page {
            PageReading::Identified(found) => {
                let outside = match &found.filed.data {
                    FiledData::Spooled(path) => !spool.holds(path),
                    FiledData::InReceivedFile { .. } => false,
                };
                if outside {
                    file.unreadable =
                        Some(failed("the reader named a page image outside its folder"));
                } else if !register.contains_key(&found.form_id) {
                    *page = PageReading::Quarantine {
                        reason: Reason::UnknownForm,
                        message: format!(
                            "form {} is not in this archive's issue register",
                            found.form_id
                        ),
                        image: None,
                    };
                }
            }
            PageReading::Quarantine {
                image: Some(SpooledImage { png, thumbnail }),
                ..
            } if !spool.holds(png) || !spool.holds(thumbnail) => {
                file.unreadable = Some(failed("the reader named a page image outside its folder"));
            }
            _ => {}
        }
    }
    let unknown = file
        .digital
        .as_ref()
        .map(|inspection| inspection.form_id.clone())
        .filter(|form_id| !register.contains_key(form_id));
    if let Some(form_id) = unknown {
        file.unreadable = Some(Unreadable::new(
            Reason::UnknownForm,
            format!(
                "the PDF says it is form {form_id}, which is not in this archive's issue register"
            ),
        ));
    }
    if file.unreadable.is_some() {
        file.pages.clear();
        file.digital = None;
    }
}
