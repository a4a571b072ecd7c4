//! `aup` turns one YAML file per school into signable Acceptable Use Policy forms.
//!
//! The stages follow the pipeline in DESIGN.md: [`config`] reads and checks a
//! school's YAML, [`render`] compiles Typst templates in-process, [`generate`]
//! writes the PDFs, and [`cli`] maps command lines onto those stages.

pub mod cli;
pub mod config;
pub mod generate;
pub mod render;
