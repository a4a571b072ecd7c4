//! Files the pages hand out: archived returns, evidence pages, quarantined
//! pages, issued forms. A URL names a form id or a quarantine entry, never a
//! path: the path comes from the index, and must still resolve inside its folder.

use std::path::Path;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use crate::issued::{inside, issued_form};

/// The content type for what the archive holds, by extension.
fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("tif" | "tiff") => "image/tiff",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// Sends a file, streamed; `inline` lets the browser show it (its own PDF viewer)
/// rather than save it.
pub async fn send(path: &Path, download_name: &str, inline: bool) -> Response {
    let file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(_) => {
            return (
                StatusCode::NOT_FOUND,
                "That file is no longer in the archive.",
            )
                .into_response();
        }
    };
    let length = file.metadata().await.map(|m| m.len()).ok();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    if let Some(length) = length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    let disposition = format!(
        "{}; filename=\"{}\"",
        if inline { "inline" } else { "attachment" },
        safe_file_name(download_name)
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// A name safe for a header and for any file system: letters, digits, `.-_`,
/// others turned into `_`, no leading dot, at most 120 characters.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut safe: String = base
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                true => c,
                false => '_',
            },
        )
        .take(120)
        .collect();
    while safe.starts_with('.') {
        safe.remove(0);
    }
    match safe.is_empty() {
        true => "file".into(),
        false => safe,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_folder_are_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("pak")).unwrap();
        std::fs::write(root.path().join("pak").join("F.pdf"), b"x").unwrap();
        std::fs::write(root.path().parent().unwrap().join("outside.pdf"), b"x").ok();
        assert!(inside(root.path(), "pak/F.pdf").is_some());
        assert!(inside(root.path(), "../outside.pdf").is_none());
        assert!(inside(root.path(), "pak/../../outside.pdf").is_none());
        assert!(inside(root.path(), "/etc/passwd").is_none());
        assert!(inside(root.path(), "").is_none());
        assert!(
            inside(root.path(), "pak").is_none(),
            "a folder is not a file"
        );
        std::os::unix::fs::symlink("/etc/passwd", root.path().join("link")).unwrap();
        assert!(
            inside(root.path(), "link").is_none(),
            "a link out is refused"
        );
    }

    #[test]
    fn file_names_are_tamed() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\scans\\Ms O'Neil.pdf"), "Ms_O_Neil.pdf");
        assert_eq!(safe_file_name("..."), "file");
        assert_eq!(safe_file_name("a\"b\r\nc.pdf"), "a_b__c.pdf");
    }
}
