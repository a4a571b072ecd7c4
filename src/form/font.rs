//! The font `aup` writes with after Typst is done: the form id beside each QR code
//! and the appearance streams of pre-filled fields. A PDF reader must be able to
//! show and print those without any font of its own, so Liberation Sans is embedded
//! as a subset covering the Latin repertoire of English school rosters (ASCII,
//! Latin-1, Latin Extended-A, typographic punctuation): about 30 KB, made once per
//! process, written as a Type0 / CIDFontType2 font (PDF 1.7 §9.7), the form the
//! subsetter requires because it drops the font's own cmap.

use std::collections::HashMap;
use std::sync::LazyLock;

use lopdf::{Dictionary, Object, ObjectId, Stream};

const REGULAR: &[u8] = include_bytes!("../../fonts/LiberationSans-Regular.ttf");

/// The PDF name of the font in resource dictionaries.
pub const FONT_NAME: &str = "AupSans";

pub struct EmbeddedFont {
    /// The subset font program and the ToUnicode CMap as PDF streams,
    /// compressed once: every evidence page and every name box drawn for
    /// comparison embeds them, and deflating them again for each was a tenth
    /// of filing.
    program: Stream,
    to_unicode: Stream,
    /// Character to CID (the glyph id in the subset).
    cids: HashMap<char, u16>,
    /// Advance widths by CID, in 1/1000 em.
    widths: Vec<u16>,
    ascent: i16,
    descent: i16,
    cap_height: i16,
    bbox: [i16; 4],
}

fn repertoire() -> impl Iterator<Item = char> {
    let ranges = [(0x20u32, 0x7E), (0xA0, 0xFF), (0x100, 0x17F)];
    let extra = "‘’‚“”„–—…•€™";
    ranges
        .into_iter()
        .flat_map(|(a, b)| (a..=b).filter_map(char::from_u32))
        .chain(extra.chars())
}

/// The embedded font, subset once per process.
pub static FONT: LazyLock<EmbeddedFont> =
    LazyLock::new(|| EmbeddedFont::build().expect("the bundled Liberation Sans subsets"));

impl EmbeddedFont {
    fn build() -> Result<Self, String> {
        let face = ttf_parser::Face::parse(REGULAR, 0).map_err(|e| e.to_string())?;
        let scale = 1000.0 / face.units_per_em() as f64;
        let mut remapper = subsetter::GlyphRemapper::new();
        let mut cids = HashMap::new();
        for c in repertoire() {
            if let Some(gid) = face.glyph_index(c) {
                cids.insert(c, remapper.remap(gid.0));
            }
        }
        let program = subsetter::subset(REGULAR, 0, &remapper).map_err(|e| format!("{e:?}"))?;
        let mut widths = vec![0u16; remapper.num_gids() as usize];
        for old in remapper.remapped_gids() {
            let new = remapper.get(old).unwrap_or(0) as usize;
            let advance = face
                .glyph_hor_advance(ttf_parser::GlyphId(old))
                .unwrap_or(0);
            widths[new] = (advance as f64 * scale).round() as u16;
        }
        let s = |v: i16| (v as f64 * scale).round() as i16;
        let bbox = face.global_bounding_box();
        let length = program.len() as i64;
        let mut program = Stream::new(Dictionary::new(), program);
        program.dict.set("Length1", length);
        let _ = program.compress();
        let mut to_unicode = Stream::new(Dictionary::new(), to_unicode_cmap(&cids).into_bytes());
        let _ = to_unicode.compress();
        Ok(Self {
            program,
            to_unicode,
            cids,
            widths,
            ascent: s(face.ascender()),
            descent: s(face.descender()),
            cap_height: s(face.capital_height().unwrap_or(1409)),
            bbox: [s(bbox.x_min), s(bbox.y_min), s(bbox.x_max), s(bbox.y_max)],
        })
    }

    fn cid(&self, c: char) -> u16 {
        self.cids
            .get(&c)
            .or_else(|| self.cids.get(&'?'))
            .copied()
            .unwrap_or(0)
    }

    /// `text` as a hex string of 2-byte CIDs, for `Tj` with Identity-H. Characters
    /// outside the repertoire print as `?` rather than vanish.
    pub fn encode(&self, text: &str) -> String {
        text.chars()
            .map(|c| format!("{:04X}", self.cid(c)))
            .collect()
    }

    /// Whether `c` is in the embedded repertoire.
    pub fn has(&self, c: char) -> bool {
        self.cids.contains_key(&c)
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f64) -> f64 {
        let units: u32 = text
            .chars()
            .map(|c| self.widths.get(self.cid(c) as usize).copied().unwrap_or(0) as u32)
            .sum();
        units as f64 * size / 1000.0
    }

    /// Cap height as a fraction of the font size, for centring text in a box.
    pub fn cap_height(&self) -> f64 {
        self.cap_height as f64 / 1000.0
    }

    /// Adds the font's objects to `doc` and returns the Type0 font's id.
    pub fn add_to(&self, doc: &mut lopdf::Document) -> ObjectId {
        let base_font = Object::Name(b"AUPAAA+LiberationSans".to_vec());
        let file_id = doc.add_object(self.program.clone());
        let descriptor = doc.add_object(Dictionary::from_iter([
            ("Type", Object::Name(b"FontDescriptor".to_vec())),
            ("FontName", base_font.clone()),
            ("Flags", 32.into()),
            (
                "FontBBox",
                Object::Array(self.bbox.iter().map(|v| (*v as i64).into()).collect()),
            ),
            ("ItalicAngle", 0.into()),
            ("Ascent", (self.ascent as i64).into()),
            ("Descent", (self.descent as i64).into()),
            ("CapHeight", (self.cap_height as i64).into()),
            ("StemV", 80.into()),
            ("FontFile2", file_id.into()),
        ]));
        let widths = Object::Array(vec![
            0.into(),
            Object::Array(self.widths.iter().map(|w| (*w as i64).into()).collect()),
        ]);
        let cid_font = doc.add_object(Dictionary::from_iter([
            ("Type", Object::Name(b"Font".to_vec())),
            ("Subtype", Object::Name(b"CIDFontType2".to_vec())),
            ("BaseFont", base_font.clone()),
            (
                "CIDSystemInfo",
                Object::Dictionary(Dictionary::from_iter([
                    ("Registry", Object::string_literal("Adobe")),
                    ("Ordering", Object::string_literal("Identity")),
                    ("Supplement", 0.into()),
                ])),
            ),
            ("FontDescriptor", descriptor.into()),
            ("W", widths),
            ("CIDToGIDMap", Object::Name(b"Identity".to_vec())),
        ]));
        let to_unicode = doc.add_object(self.to_unicode.clone());
        doc.add_object(Dictionary::from_iter([
            ("Type", Object::Name(b"Font".to_vec())),
            ("Subtype", Object::Name(b"Type0".to_vec())),
            ("BaseFont", base_font),
            ("Encoding", Object::Name(b"Identity-H".to_vec())),
            ("DescendantFonts", Object::Array(vec![cid_font.into()])),
            ("ToUnicode", to_unicode.into()),
        ]))
    }
}

/// The ToUnicode CMap, so that text drawn with this font can be copied and
/// extracted (pdftotext, screen readers).
fn to_unicode_cmap(cids: &HashMap<char, u16>) -> String {
    let mut pairs: Vec<(u16, char)> = cids.iter().map(|(c, cid)| (*cid, *c)).collect();
    pairs.sort();
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in pairs.chunks(100) {
        cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (cid, c) in chunk {
            let mut units = [0u16; 2];
            let hex: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            cmap.push_str(&format!("<{cid:04X}> <{hex}>\n"));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_covers_roster_names_and_is_small() {
        let font = &*FONT;
        for c in "Siân O’Brien-Łukasz Ærøskøbing Zoë Ğ".chars() {
            assert!(font.cids.contains_key(&c), "{c} missing");
        }
        let length = font.program.dict.get(b"Length1").and_then(|l| l.as_i64());
        assert!(matches!(length, Ok(1..120_000)), "{length:?} bytes");
        // Liberation Sans is metric-compatible with Arial: "M" is 833/1000 em.
        assert!((font.width("M", 1000.0) - 833.0).abs() < 1.0);
        // Something outside the repertoire prints as "?".
        assert_eq!(font.encode("中"), font.encode("?"));
    }
}
