//! `aup` turns one YAML file per school into signable Acceptable Use Policy forms,
//! and the signed returns into a verified, indexed archive.
//!
//! The stages follow the pipeline in DESIGN.md, each taking the previous one's
//! typed output: [`config`] reads and checks a school's YAML, [`render`] compiles
//! Typst templates in-process, [`form`] gives each form its identity and fields,
//! [`generate`] writes the PDFs and the issue register. Returns come back through
//! [`ingest`] (paper, read in isolated workers) and [`digital`] (PDFs filled in a
//! reader), both standing on [`scan`] geometry; [`archive`] is the only code that
//! touches the index, [`durable`] the only code that writes files that must
//! survive a crash, [`report`] the status views; [`cli`] maps command lines onto
//! all of it.

// Config errors carry the file, position, key, message, hint and source line a
// person needs; they are built only on the cold path, so their size is fine.
#![allow(clippy::result_large_err)]

pub mod archive;
pub mod cli;
pub mod clock;
pub mod config;
pub mod consents;
pub mod digital;
pub mod durable;
pub mod form;
pub mod generate;
pub mod ingest;
pub mod issued;
pub mod mail;
pub mod online;
pub mod pdf;
pub mod render;
pub mod report;
pub mod scan;
pub mod serve;
pub mod verdict;
