//! One certificate signature in the PDF: its byte range and hole, the CMS inside
//! (see [`super::signature`]), the signing time, and what was saved after it.

use lopdf::{Dictionary, Document, Object};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use super::changes::{self, Modifications};
use super::fields::text_value;
use super::signature::{self, CmsReport};

/// A certificate signature and everything known about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificateSignature {
    pub field: String,
    pub sub_filter: String,
    #[serde(flatten)]
    pub cms: CmsReport,
    /// The byte range is the whole signed revision but the signature's own hole.
    pub covers_revision: bool,
    pub modifications: Modifications,
    pub problems: Vec<String>,
    /// Its widget lies over the form's signature box: it signs there, whatever
    /// its field is called (`pdfsig -add-signature` makes a new field).
    pub over_signature_box: bool,
    /// Its widget shows nothing (zero-size, hidden, or none): LibreOffice and
    /// `pdfsig -add-signature` (Okular without a chosen field) sign this way,
    /// over the whole document rather than in a box.
    pub invisible: bool,
    /// It signs the form for the person it was issued to.
    pub counted: bool,
    /// Why it counts or does not, in the office's words.
    pub counted_because: String,
    /// The signature dictionary's `/Reason`, as the signer's software wrote it
    /// (aup's seal writes who signed online, how, and from where).
    #[serde(default)]
    pub reason: Option<String>,
    /// It is the school's own seal (see `online`), not a person's signature.
    #[serde(default)]
    pub seal: bool,
}

impl CertificateSignature {
    /// Intact, valid, covering its revision, and nothing but form filling or
    /// annotations added since.
    pub fn sound(&self) -> bool {
        self.cms.intact && self.cms.valid && self.covers_revision && self.modifications.allowed()
    }

    /// Where it signs is the person's signature: the form's own signature
    /// field, a widget over its box, or an invisible one (which signs the whole
    /// document: nothing of it is drawn anywhere).
    pub fn in_the_signers_place(&self, signature_field: &str) -> bool {
        self.field == signature_field || self.over_signature_box || self.invisible
    }

    /// pyHanko's word for integrity: INTACT (digest and signature hold) or not.
    pub fn intact_and_valid(&self) -> bool {
        self.cms.intact && self.cms.valid && self.covers_revision
    }
}

/// Checks one signature dictionary's byte range, CMS and later changes.
pub(super) fn certificate_signature(
    bytes: &[u8],
    doc: &Document,
    field: &str,
    dict: &Dictionary,
    roots: &[Certificate],
) -> CertificateSignature {
    let sub_filter = dict
        .get(b"SubFilter")
        .ok()
        .and_then(|s| s.as_name().ok())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_default();
    let mut problems = Vec::new();
    let failed = |problems: Vec<String>, sub_filter: String| CertificateSignature {
        field: field.to_owned(),
        sub_filter,
        cms: CmsReport::unchecked(),
        covers_revision: false,
        modifications: Modifications::Untouched,
        problems,
        over_signature_box: false,
        invisible: false,
        counted: false,
        counted_because: String::new(),
        reason: None,
        seal: false,
    };
    let range = match byte_range(dict, bytes.len()) {
        Ok(range) => range,
        Err(problem) => return failed(vec![problem], sub_filter),
    };
    let [start, first_len, second_start, second_len] = range;
    let hole = &bytes[start + first_len..second_start];
    let contents = match hole_contents(hole) {
        Ok(contents) => contents,
        Err(problem) => return failed(vec![problem], sub_filter),
    };
    let declared = dict.get(b"Contents").ok().and_then(|c| match c {
        Object::String(s, _) => Some(s.as_slice()),
        _ => None,
    });
    if declared != Some(contents.as_slice()) {
        problems.push(
            "the signature's /Contents is not what the byte range leaves out: the signature was moved or replaced"
                .into(),
        );
    }
    let end = second_start + second_len;
    let revision_end = bytes[..end]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map(|i| i + 1)
        .unwrap_or(0);
    let covers_revision = bytes[..revision_end].ends_with(b"%%EOF") && problems.is_empty();
    if !bytes[..revision_end].ends_with(b"%%EOF") {
        problems.push("the signed range does not end at the end of a revision".into());
    }
    let mut cms = signature::verify_cms(
        &contents,
        [&bytes[start..start + first_len], &bytes[second_start..end]],
        roots,
    );
    // PAdES signatures carry no signingTime attribute: the time is the
    // signature dictionary's /M (claimed by the signer's software, like the other).
    if cms.signing_time.is_none() {
        cms.signing_time = dict
            .get(b"M")
            .ok()
            .and_then(text_value)
            .and_then(|m| pdf_date(&m));
    }
    let rest = &bytes[end..];
    let modifications = if rest.iter().all(|b| b.is_ascii_whitespace()) {
        Modifications::Untouched
    } else {
        match Document::load_mem(&bytes[..end]) {
            Ok(signed) => changes::compare(&signed, doc),
            Err(e) => {
                Modifications::Other(vec![format!("the signed revision cannot be read: {e}")])
            }
        }
    };
    CertificateSignature {
        field: field.to_owned(),
        sub_filter,
        cms,
        covers_revision,
        modifications,
        problems,
        over_signature_box: false,
        invisible: false,
        counted: false,
        counted_because: String::new(),
        reason: dict
            .get(b"Reason")
            .ok()
            .and_then(text_value)
            .map(|r| r.chars().take(500).collect()),
        seal: false,
    }
}

/// A PDF date (`D:YYYYMMDDHHmmSS+HH'mm'`, trailing parts optional) as RFC 3339.
pub(super) fn pdf_date(text: &str) -> Option<String> {
    let digits = text.trim().strip_prefix("D:").unwrap_or(text.trim());
    let number = |range: std::ops::Range<usize>, default: u32| -> Option<u32> {
        match digits.get(range) {
            Some(part) if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() => {
                part.parse().ok()
            }
            _ => Some(default),
        }
    };
    let year = digits.get(0..4)?.parse::<i32>().ok()?;
    let (month, day) = (number(4..6, 1)?, number(6..8, 1)?);
    let (hour, minute, second) = (number(8..10, 0)?, number(10..12, 0)?, number(12..14, 0)?);
    let offset = match digits.get(14..15) {
        Some(sign @ ("+" | "-")) => {
            let rest: String = digits[15..].chars().filter(char::is_ascii_digit).collect();
            let hours = rest
                .get(0..2)
                .and_then(|h| h.parse::<i32>().ok())
                .unwrap_or(0);
            let minutes = rest
                .get(2..4)
                .and_then(|m| m.parse::<i32>().ok())
                .unwrap_or(0);
            let total = (hours * 60 + minutes) * if sign == "-" { -1 } else { 1 };
            format!(
                "{}{:02}:{:02}",
                if total < 0 { '-' } else { '+' },
                total.abs() / 60,
                total.abs() % 60
            )
        }
        _ => "Z".to_owned(),
    };
    (1..=12).contains(&month).then_some(())?;
    (1..=31).contains(&day).then_some(())?;
    (hour < 24 && minute < 60 && second < 61).then_some(())?;
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{}",
        offset.replace("+00:00", "Z")
    ))
}

/// `/ByteRange [0 a b c]`: two ranges inside the file, the first from its start,
/// with a hole between them.
pub(super) fn byte_range(dict: &Dictionary, len: usize) -> Result<[usize; 4], String> {
    let values: Vec<i64> = dict
        .get(b"ByteRange")
        .ok()
        .and_then(|r| r.as_array().ok())
        .map(|a| a.iter().filter_map(|v| v.as_i64().ok()).collect())
        .unwrap_or_default();
    let [a, b, c, d] = values[..] else {
        return Err("the signature has no valid /ByteRange (four numbers)".into());
    };
    let bad =
        || format!("the /ByteRange [{a} {b} {c} {d}] does not describe this file of {len} bytes");
    let to = |v: i64| usize::try_from(v).map_err(|_| bad());
    let (a, b, c, d) = (to(a)?, to(b)?, to(c)?, to(d)?);
    let end_first = a.checked_add(b).ok_or_else(bad)?;
    let end = c.checked_add(d).ok_or_else(bad)?;
    if a != 0 || end_first > c || end > len || c - end_first < 2 {
        return Err(bad());
    }
    Ok([a, b, c, d])
}

/// The bytes of `<hex>` in a signature's hole, trailing zero padding kept (the
/// DER reader stops at the end of the value).
pub(super) fn hole_contents(hole: &[u8]) -> Result<Vec<u8>, String> {
    let inner = hole
        .strip_prefix(b"<")
        .and_then(|h| h.strip_suffix(b">"))
        .ok_or("the byte range's hole is not the signature's hex string")?;
    let digits: Vec<u8> = inner
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err("the signature's hex string has an odd number of digits".into());
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| "the signature's hex string holds a non-hex character".to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_outside_the_file_are_refused() {
        let dict = |v: [i64; 4]| {
            Dictionary::from_iter([(
                "ByteRange",
                Object::Array(v.iter().map(|&n| Object::Integer(n)).collect()),
            )])
        };
        assert!(byte_range(&dict([0, 10, 20, 5]), 25).is_ok());
        for bogus in [
            [0, 10, 20, 6],
            [1, 10, 20, 5],
            [0, 20, 10, 5],
            [0, -1, 20, 5],
            [0, 10, i64::MAX, i64::MAX],
            [0, 10, 11, 5],
        ] {
            assert!(byte_range(&dict(bogus), 25).is_err(), "{bogus:?}");
        }
        assert!(byte_range(&Dictionary::new(), 25).is_err());
    }

    #[test]
    fn pdf_dates_read_as_rfc3339() {
        assert_eq!(
            pdf_date("D:20251006093000+01'00'").as_deref(),
            Some("2025-10-06T09:30:00+01:00")
        );
        assert_eq!(
            pdf_date("D:20251006093000Z").as_deref(),
            Some("2025-10-06T09:30:00Z")
        );
        assert_eq!(pdf_date("D:2025").as_deref(), Some("2025-01-01T00:00:00Z"));
        assert_eq!(pdf_date("D:20251306").as_deref(), None);
        assert_eq!(pdf_date("yesterday"), None);
    }
}
