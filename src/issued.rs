//! Files `aup generate` wrote, found again safely: a person's issued form under
//! `out/` (for the office's pages, the signing page and mail attachments), and
//! the check every handout of a file makes that a path stays inside its folder.

use std::path::{Component, Path, PathBuf};

/// `relative` under `root`, if it names a file that really lies inside `root`
/// (no `..`, not absolute, no link leading out).
pub fn inside(root: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative);
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if !plain || relative.as_os_str().is_empty() {
        return None;
    }
    let path = root.join(relative).canonicalize().ok()?;
    let root = root.canonicalize().ok()?;
    (path.starts_with(&root) && path.is_file()).then_some(path)
}

/// A person's form as `aup generate` wrote it under `out/` (any AUP's): its path and bytes,
/// only if they are still those the register recorded (any, for a form issued
/// before the register kept its hash).
pub fn issued_form(
    out: &Path,
    form: &crate::archive::RegisteredForm,
) -> Option<(PathBuf, Vec<u8>)> {
    use sha2::Digest;
    let year = Path::new(&form.school).join(&form.year);
    // The staff AUP's forms are in `forms/`, every other AUP's in `<aup>/forms/`.
    let folders = std::iter::once(year.join("forms")).chain(
        crate::config::aups::AupKind::ALL
            .into_iter()
            .filter(|aup| *aup != crate::config::aups::AupKind::Staff)
            .map(|aup| year.join(aup.name()).join("forms")),
    );
    let prefix = format!("{}-", form.form_id);
    folders.into_iter().find_map(|folder| {
        std::fs::read_dir(out.join(&folder))
            .ok()?
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_str()?.to_owned();
                (name.starts_with(&prefix) && name.ends_with(".pdf")).then_some(name)
            })
            .find_map(|name| {
                let path = inside(out, folder.join(&name).to_str()?)?;
                let bytes = std::fs::read(&path).ok()?;
                let same = form
                    .file_sha256
                    .as_deref()
                    .is_none_or(|sha| sha == crate::form::id::hex(&sha2::Sha256::digest(&bytes)));
                same.then_some((path, bytes))
            })
    })
}
