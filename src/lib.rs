//! `aup` turns one YAML file per school into signable Acceptable Use Policy forms.
//!
//! The stages follow the pipeline in DESIGN.md: [`config`] reads and checks a
//! school's YAML, [`render`] compiles Typst templates in-process, [`generate`]
//! writes the PDFs, and [`cli`] maps command lines onto those stages.

// Config errors carry the file, position, key, message, hint and source line a
// person needs; they are built only on the cold path, so their size is fine.
#![allow(clippy::result_large_err)]

pub mod archive;
pub mod cli;
pub mod config;
pub mod digital;
pub mod durable;
pub mod form;
pub mod generate;
pub mod ingest;
pub mod pdf;
pub mod render;
pub mod report;
pub mod scan;
pub mod verdict;
