//! `aup init`: a commented starter file for a new school.

use std::path::Path;

use clap::Args;

use anstream::eprintln;

use super::{Outcome, SchoolsDir};
use crate::config::SchoolSlug;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The new school's slug: lowercase letters, digits and dashes, e.g. st-marys.
    /// It becomes the file name and the folder name of its forms.
    pub slug: String,
    #[command(flatten)]
    pub dir: SchoolsDir,
}

/// The starter file. Blank names fail `aup check` until they are filled in, so a
/// half-edited file cannot produce a policy naming nobody.
pub const STARTER: &str = include_str!("starter.yaml");

pub fn run(args: InitArgs) -> Result<Outcome, String> {
    let slug = SchoolSlug::parse(&args.slug)?;
    let path = args.dir.schools.join(format!("{slug}.yaml"));
    write_new(&path, STARTER)?;
    outln!("{}", path.display());
    eprintln!(
        "wrote {}: fill in the names, then run `aup check {slug}`",
        path.display()
    );
    Ok(Outcome::Success)
}

fn write_new(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    // create_new: never overwrite a school's existing settings.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("{} already exists; nothing written", path.display())
            }
            _ => format!("cannot create {}: {e}", path.display()),
        })?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
