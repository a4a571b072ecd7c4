//! Who a form is and which policy it carries: the form id people can type, the
//! policy fingerprint, and the payload of the per-page QR code.

use std::fmt;
use std::str::FromStr;

use crate::config::AcademicYear;

/// ISO 7064 MOD 37-2's alphabet: the check character of a form id is one of these.
const MOD37_ALPHABET: &[u8; 37] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*";

/// The ISO 7064 MOD 37-2 check character over `text`'s letters and digits (other
/// characters, such as dashes, are skipped). Its weights are distinct powers of 2
/// modulo the prime 37, so any one wrong character and any two swapped characters
/// change the check; the dashes people add or drop do not matter.
pub fn check_character(text: &str) -> Option<char> {
    let mut p: u32 = 0;
    for c in text.chars().filter(|c| *c != '-') {
        let value = MOD37_ALPHABET[..36]
            .iter()
            .position(|&a| a as char == c.to_ascii_uppercase())? as u32;
        p = ((p + value) * 2) % 37;
    }
    Some(MOD37_ALPHABET[((38 - p) % 37) as usize] as char)
}

/// A form id such as `PAK-2526-0007-K`: school prefix, academic year, serial, check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FormId(String);

impl FormId {
    /// The id of serial `serial` for `prefix` in `year`, or `None` when its check
    /// character would be `*`: serials are skipped rather than printing an id that
    /// is awkward to type.
    pub fn new(prefix: &str, year: AcademicYear, serial: u32) -> Option<Self> {
        let body = format!("{prefix}-{}-{serial:04}", year.code());
        match check_character(&body)? {
            '*' => None,
            check => Some(Self(format!("{body}-{check}"))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The school prefix (`PAK`).
    pub fn prefix(&self) -> &str {
        self.0.split('-').next().unwrap_or_default()
    }

    /// The serial within the school and year.
    pub fn serial(&self) -> u32 {
        self.0
            .split('-')
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

impl fmt::Display for FormId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for FormId {
    type Err = String;

    /// Parses an id as typed by a person: case and surrounding spaces don't matter.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_uppercase();
        let parts: Vec<&str> = text.split('-').collect();
        let shape_ok = parts.len() == 4
            && (2..=4).contains(&parts[0].len())
            && parts[0].chars().all(|c| c.is_ascii_uppercase())
            && parts[1].len() == 4
            && parts[1].chars().all(|c| c.is_ascii_digit())
            && parts[2].len() >= 4
            && parts[2].chars().all(|c| c.is_ascii_digit())
            && parts[3].len() == 1;
        if !shape_ok {
            return Err(format!(
                "`{text}` is not a form id; they look like PAK-2526-0007-K"
            ));
        }
        let body = parts[..3].join("-");
        match check_character(&body) {
            Some(check) if parts[3].starts_with(check) => Ok(Self(text)),
            _ => Err(format!(
                "`{text}` has a wrong check character: a character was mistyped"
            )),
        }
    }
}

/// The policy version: SHA-256 over the policy's and the form's pages as laid
/// out (`render::printed`), so it changes exactly when what a person signs does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn from_hex(text: &str) -> Self {
        Self(text.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 6 hex digits, upper case, as carried in the QR code.
    pub fn short(&self) -> String {
        self.0[..6].to_ascii_uppercase()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): a short check that rejects a
/// foreign or misread QR payload.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in bytes {
        crc ^= (byte as u16) << 8;
        for _ in 0..8 {
            crc = match crc & 0x8000 {
                0 => crc << 1,
                _ => (crc << 1) ^ 0x1021,
            };
        }
    }
    crc
}

/// What a page's QR codes say: `AUP1:<form id>:<page>/<pages>:<fingerprint>:<crc>`
/// in the top-right mark, the same with `AUPB` in the bottom-left one and `AUPL`
/// in the top-left one. Only QR
/// alphanumeric characters are used, so it fits a version 2 code at error
/// correction M. It carries no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePayload {
    pub form: FormId,
    pub page: u32,
    pub pages: u32,
    /// The policy fingerprint's first 6 hex digits.
    pub fingerprint: String,
}

/// Which of a page's identity marks a code is. Forms issued before the margin
/// marks were printed carry only the top-right one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    TopRight,
    BottomLeft,
    TopLeft,
}

impl Mark {
    pub const ALL: [Mark; 3] = [Mark::TopRight, Mark::BottomLeft, Mark::TopLeft];

    fn prefix(self) -> &'static str {
        match self {
            Mark::TopRight => "AUP1",
            Mark::BottomLeft => "AUPB",
            Mark::TopLeft => "AUPL",
        }
    }
}

impl PagePayload {
    /// The top-right mark's text.
    pub fn encode(&self) -> String {
        self.encode_for(Mark::TopRight)
    }

    pub fn encode_for(&self, mark: Mark) -> String {
        let body = format!(
            "{}:{}:{}/{}:{}",
            mark.prefix(),
            self.form,
            self.page,
            self.pages,
            self.fingerprint
        );
        format!("{body}:{:04X}", crc16(body.as_bytes()))
    }

    /// Parses a decoded QR text; a foreign code or a damaged one is an error.
    pub fn decode(text: &str) -> Result<Self, PayloadError> {
        Self::decode_mark(text).map(|(payload, _)| payload)
    }

    /// Parses a decoded QR text, and says which mark it came from.
    pub fn decode_mark(text: &str) -> Result<(Self, Mark), PayloadError> {
        let (body, crc) = text.rsplit_once(':').ok_or(PayloadError::Foreign)?;
        let mut parts = body.split(':');
        let mark = match parts.next() {
            Some("AUP1") => Mark::TopRight,
            Some("AUPB") => Mark::BottomLeft,
            Some("AUPL") => Mark::TopLeft,
            _ => return Err(PayloadError::Foreign),
        };
        if u16::from_str_radix(crc, 16).ok() != Some(crc16(body.as_bytes())) {
            return Err(PayloadError::BadCheck);
        }
        let (form, pages, fingerprint) =
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(f), Some(p), Some(fp), None) => (f, p, fp),
                _ => return Err(PayloadError::BadCheck),
            };
        let form: FormId = form.parse().map_err(|_| PayloadError::BadCheck)?;
        let (page, pages) = pages.split_once('/').ok_or(PayloadError::BadCheck)?;
        let page: u32 = page.parse().map_err(|_| PayloadError::BadCheck)?;
        let pages: u32 = pages.parse().map_err(|_| PayloadError::BadCheck)?;
        if page == 0 || page > pages || fingerprint.len() != 6 {
            return Err(PayloadError::BadCheck);
        }
        Ok((
            Self {
                form,
                page,
                pages,
                fingerprint: fingerprint.to_owned(),
            },
            mark,
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the QR code is not one of ours")]
    Foreign,
    #[error("the QR code's check does not match: damaged or misread")]
    BadCheck,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year() -> AcademicYear {
        AcademicYear { start: 2025 }
    }

    #[test]
    fn form_ids_round_trip_and_skip_star_checks() {
        let mut made = 0;
        for serial in 1..=200 {
            match FormId::new("PAK", year(), serial) {
                Some(id) => {
                    made += 1;
                    assert_eq!(id.as_str().len(), 15);
                    assert_eq!(id.serial(), serial);
                    assert_eq!(id.prefix(), "PAK");
                    assert_eq!(id.as_str().parse::<FormId>().unwrap(), id);
                    assert_eq!(id.as_str().to_lowercase().parse::<FormId>().unwrap(), id);
                }
                None => assert_eq!(check_character(&format!("PAK-2526-{serial:04}")), Some('*')),
            }
        }
        // About 1 in 37 serials is skipped.
        assert!((190..200).contains(&made), "{made}");
    }

    #[test]
    fn check_catches_every_single_substitution_and_every_swap() {
        let alphabet: Vec<char> = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".chars().collect();
        for serial in [7, 42, 1234] {
            let Some(id) = FormId::new("STM", year(), serial) else {
                continue;
            };
            let chars: Vec<char> = id.as_str().chars().collect();
            for i in 0..chars.len() {
                if chars[i] == '-' {
                    continue;
                }
                for &c in alphabet.iter().chain(['*'].iter()) {
                    if c == chars[i] {
                        continue;
                    }
                    let mut typo = chars.clone();
                    typo[i] = c;
                    let typo: String = typo.into_iter().collect();
                    assert!(typo.parse::<FormId>().is_err(), "{typo} accepted for {id}");
                }
                for j in i + 1..chars.len() {
                    if chars[j] == '-' || chars[j] == chars[i] {
                        continue;
                    }
                    let mut swapped = chars.clone();
                    swapped.swap(i, j);
                    let swapped: String = swapped.into_iter().collect();
                    assert!(
                        swapped.parse::<FormId>().is_err(),
                        "{swapped} accepted for {id}"
                    );
                }
            }
        }
    }

    #[test]
    fn crc16_matches_the_standard_check_value() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn payload_round_trips_and_rejects_damage() {
        let payload = PagePayload {
            form: FormId::new("PAK", year(), 7).unwrap(),
            page: 2,
            pages: 3,
            fingerprint: "A1B2C3".into(),
        };
        let text = payload.encode();
        assert!(text.starts_with("AUP1:PAK-2526-0007-"), "{text}");
        assert!(
            text.len() <= 38,
            "fits a version 2-M alphanumeric code: {text}"
        );
        assert_eq!(PagePayload::decode(&text), Ok(payload));
        assert_eq!(
            PagePayload::decode(&text.replace(":2/3:", ":3/3:")),
            Err(PayloadError::BadCheck)
        );
        assert_eq!(
            PagePayload::decode("https://example.com"),
            Err(PayloadError::Foreign)
        );
        assert_eq!(
            PagePayload::decode("AUP1:junk:0000"),
            Err(PayloadError::BadCheck)
        );
    }

    #[test]
    fn the_second_mark_says_the_same_and_names_itself() {
        let payload = PagePayload {
            form: FormId::new("PAK", year(), 7).unwrap(),
            page: 12,
            pages: 12,
            fingerprint: "A1B2C3".into(),
        };
        for mark in Mark::ALL {
            let text = payload.encode_for(mark);
            assert!(text.len() <= 38, "fits version 2-M: {text}");
            assert_eq!(PagePayload::decode_mark(&text), Ok((payload.clone(), mark)));
        }
        let second = payload.encode_for(Mark::BottomLeft);
        assert!(second.starts_with("AUPB:"), "{second}");
        assert_eq!(
            PagePayload::decode(&second.replacen("AUPB", "AUP1", 1)),
            Err(PayloadError::BadCheck)
        );
    }
}
