//! BER to DER, for CMS signatures as NSS writes them. Poppler's `pdfsig` (the
//! engine behind Okular), Evince and LibreOffice sign through NSS, which encodes
//! the outer CMS structures in BER: indefinite lengths, and octet strings cut
//! into segments. pyHanko and Poppler accept such signatures; the `cms` crate
//! reads DER only. X.690 allows exactly one DER encoding for each BER value, so
//! re-encoding loses nothing: the signed attributes, which the signer must
//! encode in DER (RFC 5652 5.4) and which the signature is checked over, come
//! out byte for byte as they went in.
//!
//! Only the first value is read: a signature's hole is padded with zeros after it.

/// Nesting deeper than any CMS message (certificates included) has.
const MAX_DEPTH: usize = 64;

/// The DER encoding of the BER value at the start of `ber`.
pub fn to_der(ber: &[u8]) -> Result<Vec<u8>, String> {
    let mut reader = Reader { bytes: ber, at: 0 };
    let mut der = Vec::with_capacity(ber.len());
    reader.value(0, &mut der)?;
    Ok(der)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| format!("the value ends early, at byte {}", self.at))?;
        self.at += 1;
        Ok(byte)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| format!("a length at byte {} runs past the end", self.at))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    /// Reads one value and appends its DER encoding to `out`.
    fn value(&mut self, depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("values nested deeper than {MAX_DEPTH}"));
        }
        let mut tag = vec![self.byte()?];
        if tag[0] & 0x1f == 0x1f {
            // High tag number: base-128 digits, the last without bit 8.
            loop {
                let digit = self.byte()?;
                tag.push(digit);
                if digit & 0x80 == 0 {
                    break;
                }
                if tag.len() > 5 {
                    return Err(format!("a tag number too large at byte {}", self.at));
                }
            }
        }
        let constructed = tag[0] & 0x20 != 0;
        let length = self.length()?;
        if !constructed {
            let len = length.ok_or_else(|| {
                format!("a primitive value of indefinite length at byte {}", self.at)
            })?;
            let content = self.take(len)?;
            write_header(out, &tag, content.len());
            out.extend_from_slice(content);
            return Ok(());
        }
        let mut children = Vec::new();
        match length {
            Some(len) => {
                let end = self
                    .at
                    .checked_add(len)
                    .filter(|&end| end <= self.bytes.len())
                    .ok_or_else(|| format!("a length at byte {} runs past the end", self.at))?;
                while self.at < end {
                    self.value(depth + 1, &mut children)?;
                }
                if self.at != end {
                    return Err(format!("a value overruns its parent at byte {}", self.at));
                }
            }
            None => loop {
                if self.bytes.get(self.at..self.at + 2) == Some(&[0, 0]) {
                    self.at += 2;
                    break;
                }
                self.value(depth + 1, &mut children)?;
            },
        }
        match segmented_string(tag[0]) {
            // DER writes a string whole: the segments' contents, joined.
            Some(primitive) => {
                let mut joined = Vec::with_capacity(children.len());
                let mut rest = children.as_slice();
                while !rest.is_empty() {
                    let (segment_tag, content, after) = split_der(rest)?;
                    if segment_tag != primitive {
                        return Err("a string segment of another type".into());
                    }
                    joined.extend_from_slice(content);
                    rest = after;
                }
                write_header(out, &[primitive], joined.len());
                out.extend_from_slice(&joined);
            }
            None => {
                write_header(out, &tag, children.len());
                out.extend_from_slice(&children);
            }
        }
        Ok(())
    }

    /// A definite length, or `None` for the indefinite form.
    fn length(&mut self) -> Result<Option<usize>, String> {
        let first = self.byte()?;
        if first & 0x80 == 0 {
            return Ok(Some(first as usize));
        }
        let count = (first & 0x7f) as usize;
        match count {
            0 => Ok(None),
            1..=4 => {
                let mut len = 0usize;
                for _ in 0..count {
                    len = (len << 8) | self.byte()? as usize;
                }
                Ok(Some(len))
            }
            _ => Err(format!("a length of {count} bytes at byte {}", self.at)),
        }
    }
}

/// The primitive tag of a universal string type given in constructed form,
/// which BER allows and DER does not (bit strings are left alone: their
/// segments each carry an unused-bits count, and CMS has none in segments).
fn segmented_string(tag: u8) -> Option<u8> {
    const OCTET_STRING: u8 = 0x04;
    const UTF8_STRING: u8 = 0x0c;
    const PRINTABLE_STRING: u8 = 0x13;
    const IA5_STRING: u8 = 0x16;
    match tag & !0x20 {
        t @ (OCTET_STRING | UTF8_STRING | PRINTABLE_STRING | IA5_STRING) if tag & 0xc0 == 0 => {
            Some(t)
        }
        _ => None,
    }
}

/// Tag byte, content and what follows, of a DER value this module wrote.
fn split_der(der: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let mut reader = Reader { bytes: der, at: 1 };
    let len = reader
        .length()?
        .ok_or("an indefinite length where DER was written")?;
    let content = reader.take(len)?;
    Ok((der[0], content, &der[reader.at..]))
}

fn write_header(out: &mut Vec<u8>, tag: &[u8], len: usize) {
    out.extend_from_slice(tag);
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_comes_out_as_it_went_in() {
        // SEQUENCE { INTEGER 5, OCTET STRING "ab", [0] { NULL } } with a long length inside.
        let mut der = vec![0x30, 0x81, 0x8a, 0x02, 0x01, 0x05, 0x04, 0x81, 0x80];
        der.extend([b'x'; 128]);
        der.extend([0xa0, 0x02, 0x05, 0x00]);
        assert_eq!(to_der(&der).unwrap(), der);
    }

    #[test]
    fn indefinite_lengths_and_string_segments_become_der() {
        // SEQUENCE (indefinite) { OCTET STRING in two segments (indefinite), INTEGER 1 }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x01, b'a', 0x04, 0x02, b'b', b'c', 0x00, 0x00, 0x02,
            0x01, 0x01, 0x00, 0x00, // end of the sequence, then the hole's padding
            0x00, 0x00, 0x00,
        ];
        assert_eq!(
            to_der(&ber).unwrap(),
            [0x30, 0x08, 0x04, 0x03, b'a', b'b', b'c', 0x02, 0x01, 0x01]
        );
    }

    #[test]
    fn broken_ber_is_an_error_not_a_panic() {
        for ber in [
            &[][..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x80, 0x02, 0x01],
            &[0x04, 0x80, 0x00, 0x00],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
            &[0x30, 0x03, 0x02, 0x05, 0x00],
            &[0x24, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00],
            &[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00],
        ] {
            assert!(to_der(ber).is_err(), "{ber:?}");
        }
        let deep: Vec<u8> = [0x30, 0x80].repeat(100_000);
        assert!(to_der(&deep).is_err());
    }
}
