//! Fuzzes the school config loader as `aup check` runs it: reading a school's
//! YAML, parsing it, resolving it against the staff template's clauses
//! (placeholders, dates, clause edits, the trust roots and images it names),
//! and writing every error as the office would see it.

use aup::render::{self, TemplateSource};

fn main() {
    let catalogue =
        render::staff_catalogue(&TemplateSource::Embedded).expect("the embedded template");
    let work = tempfile::tempdir().expect("a temporary folder");
    let file = work.path().join("fuzzed-school.yaml");
    afl::fuzz!(|data: &[u8]| {
        std::fs::write(&file, data).expect("the fuzz input can be written");
        let errors = match aup::config::load(&file) {
            Ok(school) => school.resolve(&catalogue).err().unwrap_or_default(),
            Err(error) => vec![error],
        };
        for error in errors {
            let _ = error.to_string();
        }
    });
}
