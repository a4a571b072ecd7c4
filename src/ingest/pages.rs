//! From a file in the inbox to grey page images. Raster files (JPEG, PNG, TIFF,
//! multi-page TIFF too) are decoded with the image crate; PDFs are rendered page by
//! page with hayro, which decodes the JPEG, CCITT G4, JBIG2 and JPEG 2000 images
//! scanners write. Everything here works under limits, because the inbox is the one
//! place where anyone can drop anything.

use std::io::Cursor;
use std::sync::Arc;

use image::{GrayImage, ImageDecoder, ImageReader, Limits};

use crate::verdict::Reason;

/// Limits on hostile input. A scan of an A4 page at 600 dpi is 4960 × 7016 pixels
/// (35 MP); anything much larger is not a page.
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
pub const MAX_PAGE_PIXELS: u64 = 60_000_000;
pub const MAX_PAGES: usize = 2000;
/// Decoder allocation cap per image.
pub const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
/// Decoded drawing commands per PDF page; a scanner's page is a few hundred bytes.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024 * 1024;

/// A received file's bytes: memory-mapped from the archive's own copy (which is
/// written once and never changed), so a 500-page batch is not read into memory;
/// or owned, for bytes made in memory.
pub enum FileBytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl AsRef<[u8]> for FileBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            Self::Mapped(map) => map,
            Self::Owned(bytes) => bytes,
        }
    }
}

impl FileBytes {
    /// Maps the archive's copy of a received file.
    pub fn map(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(Self::Owned(Vec::new()));
        }
        // SAFETY: the file is the archive's content-addressed copy: written to a
        // temporary name, synced and renamed into place, and never modified or
        // truncated afterwards, so the mapping cannot change under us.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Self::Mapped(map))
    }

    /// Lets the kernel drop the mapped pages from this process's memory; they are
    /// read again from the page cache if touched. Called as a batch is read, it keeps
    /// memory flat however large the file.
    pub fn release(&self) {
        if let Self::Mapped(map) = self {
            // SAFETY: the mapping is private and read-only; dropping its pages only
            // makes the next access fault them in from the unchanged file.
            let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }
}

/// What kind of file this is, by its first bytes, never by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
    Tiff,
}

impl FileKind {
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-")
            || (bytes.len() > 5
                && bytes[..bytes.len().min(1024)]
                    .windows(5)
                    .any(|w| w == b"%PDF-"))
        {
            return Some(Self::Pdf);
        }
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(Self::Jpeg);
        }
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(Self::Png);
        }
        if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            return Some(Self::Tiff);
        }
        None
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Tiff => "tif",
        }
    }
}

/// Why a file or a page could not be read. The code is what quarantine sidecars
/// carry; the message is for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unreadable {
    pub reason: Reason,
    pub message: String,
}

impl Unreadable {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

/// A source of page images: rasters are decoded up front (they are what they are),
/// PDF pages are rendered on demand at the resolution asked for.
pub enum PageSource {
    Raster(Vec<GrayImage>),
    Pdf(PdfPages),
}

impl PageSource {
    pub fn open(bytes: Arc<FileBytes>, kind: FileKind) -> Result<Self, Unreadable> {
        let data: &[u8] = (*bytes).as_ref();
        match kind {
            FileKind::Tiff => decode_tiff(data).map(Self::Raster),
            FileKind::Jpeg | FileKind::Png => {
                decode_raster(data).map(|page| Self::Raster(vec![page]))
            }
            FileKind::Pdf => PdfPages::open(bytes).map(Self::Pdf),
        }
    }

    /// Another reader of the same PDF for a worker thread: the checks made by
    /// [`PageSource::open`] are not repeated.
    pub fn reopen(&self) -> Option<Self> {
        match self {
            Self::Raster(_) => None,
            Self::Pdf(pdf) => pdf.reopen().map(Self::Pdf),
        }
    }

    pub fn count(&self) -> usize {
        match self {
            Self::Raster(pages) => pages.len(),
            Self::Pdf(pdf) => pdf.count,
        }
    }

    /// The text page `index` of a PDF draws inside `area`, given in pixels of
    /// a rendering of the page `image_width` pixels wide (see
    /// [`crate::scan::box_text`]); `None` for rasters, which have no text.
    pub fn text_in(&self, index: usize, area: [f64; 4], image_width: u32) -> Option<String> {
        let Self::Pdf(pdf) = self else {
            return None;
        };
        let pages = pdf.pdf.pages();
        let page = pages.get(index)?;
        let scale = image_width as f64 / page.render_dimensions().0 as f64;
        (scale > 0.0).then_some(())?;
        crate::scan::box_text::text_on(page, area.map(|v| v / scale))
    }

    /// Page `index` (0-based) in grey. `dpi` is a hint for PDFs; rasters come at
    /// their own resolution.
    pub fn page(&self, index: usize, dpi: f32) -> Result<GrayImage, Unreadable> {
        match self {
            Self::Raster(pages) => pages.get(index).cloned().ok_or_else(|| {
                Unreadable::new(
                    Reason::Unreadable,
                    format!("the file has no page {}", index + 1),
                )
            }),
            Self::Pdf(pdf) => pdf.render(index, dpi),
        }
    }
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

fn decode_raster(bytes: &[u8]) -> Result<GrayImage, Unreadable> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Unreadable::new(Reason::Unreadable, format!("cannot read the image: {e}")))?;
    reader.limits(limits());
    let decoder = reader.into_decoder().map_err(|e| {
        Unreadable::new(Reason::Unreadable, format!("cannot decode the image: {e}"))
    })?;
    let (w, h) = decoder.dimensions();
    if w as u64 * h as u64 > MAX_PAGE_PIXELS {
        return Err(Unreadable::new(
            Reason::TooLarge,
            format!("the image is {w} × {h} pixels, more than a 600 dpi A4 scan"),
        ));
    }
    let image = image::DynamicImage::from_decoder(decoder).map_err(|e| {
        Unreadable::new(Reason::Unreadable, format!("cannot decode the image: {e}"))
    })?;
    Ok(image.into_luma8())
}

fn decode_tiff(bytes: &[u8]) -> Result<Vec<GrayImage>, Unreadable> {
    use image::codecs::tiff::TiffDecoder;
    // The image crate reads one TIFF page; multi-page TIFFs are split with the
    // tiff crate's directory walk and each page decoded on its own.
    let mut pages = Vec::new();
    let mut decoder = tiff::decoder::Decoder::new(Cursor::new(bytes))
        .map_err(|e| Unreadable::new(Reason::Unreadable, format!("cannot read the TIFF: {e}")))?;
    loop {
        let (w, h) = decoder.dimensions().map_err(|e| {
            Unreadable::new(Reason::Unreadable, format!("cannot read the TIFF: {e}"))
        })?;
        if w as u64 * h as u64 > MAX_PAGE_PIXELS {
            return Err(Unreadable::new(
                Reason::TooLarge,
                format!("a TIFF page is {w} × {h} pixels"),
            ));
        }
        let image = decoder.read_image().map_err(|e| {
            Unreadable::new(
                Reason::Unreadable,
                format!("cannot decode a TIFF page: {e}"),
            )
        })?;
        pages.push(tiff_to_gray(image, w, h, decoder.colortype().ok())?);
        if pages.len() > MAX_PAGES {
            return Err(Unreadable::new(
                Reason::TooLarge,
                "the TIFF has more pages than a batch can",
            ));
        }
        if !decoder.more_images() {
            break;
        }
        decoder.next_image().map_err(|e| {
            Unreadable::new(
                Reason::Unreadable,
                format!("cannot read the next TIFF page: {e}"),
            )
        })?;
    }
    // A single-page TIFF in a format the walk above doesn't handle still goes
    // through the image crate.
    if pages.is_empty() {
        let decoder = TiffDecoder::new(Cursor::new(bytes)).map_err(|e| {
            Unreadable::new(Reason::Unreadable, format!("cannot read the TIFF: {e}"))
        })?;
        let image = image::DynamicImage::from_decoder(decoder).map_err(|e| {
            Unreadable::new(Reason::Unreadable, format!("cannot decode the TIFF: {e}"))
        })?;
        pages.push(image.into_luma8());
    }
    Ok(pages)
}

fn tiff_to_gray(
    image: tiff::decoder::DecodingResult,
    w: u32,
    h: u32,
    colour: Option<tiff::ColorType>,
) -> Result<GrayImage, Unreadable> {
    use tiff::ColorType;
    use tiff::decoder::DecodingResult;
    let unsupported = || {
        Unreadable::new(
            Reason::UnsupportedFilter,
            "the TIFF uses a pixel format aup cannot read",
        )
    };
    let (w_us, h_us) = (w as usize, h as usize);
    let data = match image {
        DecodingResult::U8(data) => data,
        _ => return Err(unsupported()),
    };
    let gray: Vec<u8> = match colour {
        Some(ColorType::Gray(8)) => data,
        Some(ColorType::Gray(1)) => {
            // 1-bit rows are padded to whole bytes; 0 is black unless the TIFF says
            // otherwise (PhotometricInterpretation is folded in by the decoder).
            let stride = w_us.div_ceil(8);
            let mut out = Vec::with_capacity(w_us * h_us);
            for y in 0..h_us {
                for x in 0..w_us {
                    let bit = data
                        .get(y * stride + x / 8)
                        .map(|b| (b >> (7 - x % 8)) & 1)
                        .unwrap_or(1);
                    out.push(if bit == 1 { 255 } else { 0 });
                }
            }
            out
        }
        Some(ColorType::RGB(8)) => data
            .chunks_exact(3)
            .map(|p| luma(p[0], p[1], p[2]))
            .collect(),
        Some(ColorType::RGBA(8)) => data
            .chunks_exact(4)
            .map(|p| luma(p[0], p[1], p[2]))
            .collect(),
        _ => return Err(unsupported()),
    };
    GrayImage::from_raw(w, h, gray).ok_or_else(unsupported)
}

fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 299 + g as u32 * 587 + b as u32 * 114) / 1000) as u8
}

/// A PDF whose pages are rendered with hayro on demand.
pub struct PdfPages {
    bytes: Arc<FileBytes>,
    pdf: hayro::hayro_syntax::Pdf,
    count: usize,
    /// Per page: the image filters its XObjects use, to tell "blank" from
    /// "could not decode".
    filters: Vec<Vec<String>>,
    /// The form id in the file's metadata: one of our PDFs, returned digitally.
    pub form_id: Option<String>,
}

/// Image filters hayro decodes (PDF 1.7 §7.4).
const DECODABLE_FILTERS: &[&str] = &[
    "DCTDecode",
    "FlateDecode",
    "CCITTFaxDecode",
    "JBIG2Decode",
    "JPXDecode",
    "LZWDecode",
    "RunLengthDecode",
    "ASCIIHexDecode",
    "ASCII85Decode",
];

impl PdfPages {
    fn open(bytes: Arc<FileBytes>) -> Result<Self, Unreadable> {
        // lopdf reads the structure first: it says clearly when a file is
        // encrypted, truncated or not a PDF, and lists the image filters. Image
        // data is dropped as it is parsed (only the dictionaries are needed), so
        // this costs little memory however large the scans.
        let options = lopdf::LoadOptions {
            filter: Some(drop_image_data),
            ..Default::default()
        };
        // While lopdf walks the file, the filter lets go of the mapped pages every
        // few images (see `drop_image_data`), so a 1 GB batch is never resident.
        *LOADING.lock().unwrap_or_else(|e| e.into_inner()) = Some(bytes.clone());
        let loaded = lopdf::Document::load_mem_with_options(bytes.as_ref().as_ref(), options);
        *LOADING.lock().unwrap_or_else(|e| e.into_inner()) = None;
        bytes.release();
        let doc = loaded.map_err(|e| {
            let text = e.to_string();
            match text.to_lowercase().contains("encrypt") {
                true => Unreadable::new(
                    Reason::Encrypted,
                    "the PDF is encrypted; save it without a password",
                ),
                false => Unreadable::new(
                    Reason::Unreadable,
                    format!("the PDF is damaged or incomplete: {text}"),
                ),
            }
        })?;
        if doc.is_encrypted() {
            return Err(Unreadable::new(
                Reason::Encrypted,
                "the PDF is encrypted; save it without a password",
            ));
        }
        let page_ids: Vec<lopdf::ObjectId> = doc.get_pages().into_values().collect();
        for (i, &page) in page_ids.iter().enumerate() {
            // A small stream can inflate to gigabytes: content is decoded under a
            // budget, and images are sized from their dictionaries before any decode.
            if doc
                .get_page_content_with_limit(page, MAX_CONTENT_BYTES)
                .is_err()
            {
                return Err(Unreadable::new(
                    Reason::TooLarge,
                    format!(
                        "page {} inflates to more than {} MB of drawing commands (a decompression bomb?)",
                        i + 1,
                        MAX_CONTENT_BYTES >> 20
                    ),
                ));
            }
            if let Some((w, h)) =
                largest_image(&doc, page).filter(|(w, h)| w.saturating_mul(*h) > MAX_PAGE_PIXELS)
            {
                return Err(Unreadable::new(
                    Reason::TooLarge,
                    format!(
                        "page {} holds a {w} × {h} pixel image, more than a 600 dpi scan",
                        i + 1
                    ),
                ));
            }
        }
        let filters = page_ids
            .iter()
            .map(|&page| image_filters(&doc, page))
            .collect::<Vec<_>>();
        let form_id = crate::digital::form_id(&doc);
        drop(doc);
        let pdf = hayro::hayro_syntax::Pdf::new(bytes.clone()).map_err(|e| {
            Unreadable::new(
                Reason::Unreadable,
                format!("the PDF cannot be rendered: {e:?}"),
            )
        })?;
        let count = pdf.pages().len();
        if count == 0 {
            return Err(Unreadable::new(Reason::Unreadable, "the PDF has no pages"));
        }
        if count > MAX_PAGES {
            return Err(Unreadable::new(
                Reason::TooLarge,
                format!("the PDF has {count} pages"),
            ));
        }
        for names in &filters {
            if let Some(bad) = names
                .iter()
                .find(|f| *f != "raw" && !DECODABLE_FILTERS.contains(&f.as_str()))
            {
                return Err(Unreadable::new(
                    Reason::UnsupportedFilter,
                    format!("a page's image uses the {bad} filter, which aup cannot decode"),
                ));
            }
        }
        Ok(Self {
            bytes,
            pdf,
            count,
            filters,
            form_id,
        })
    }

    fn reopen(&self) -> Option<Self> {
        let pdf = hayro::hayro_syntax::Pdf::new(self.bytes.clone()).ok()?;
        Some(Self {
            bytes: self.bytes.clone(),
            pdf,
            count: self.count,
            filters: self.filters.clone(),
            form_id: self.form_id.clone(),
        })
    }

    /// See [`FileBytes::release`].
    pub fn release(&self) {
        self.bytes.release();
    }

    fn render(&self, index: usize, dpi: f32) -> Result<GrayImage, Unreadable> {
        let pages = self.pdf.pages();
        let Some(page) = pages.get(index) else {
            return Err(Unreadable::new(
                Reason::Unreadable,
                format!("the PDF has no page {}", index + 1),
            ));
        };
        let (w, h) = page.render_dimensions();
        let scale = dpi / 72.0;
        let (pw, ph) = ((w * scale) as u64, (h * scale) as u64);
        if pw == 0
            || ph == 0
            || pw.saturating_mul(ph) > MAX_PAGE_PIXELS
            || pw > u16::MAX as u64
            || ph > u16::MAX as u64
        {
            return Err(Unreadable::new(
                Reason::TooLarge,
                format!(
                    "page {} is {w:.0} × {h:.0} points, not a page of paper",
                    index + 1
                ),
            ));
        }
        let pixmap_settings = hayro::PixmapSettings {
            x_scale: scale,
            y_scale: scale,
            bg_color: hayro::vello_cpu::color::palette::css::WHITE,
        };
        let cache = hayro::RenderCache::new();
        let pixmap = hayro::render(
            page,
            &cache,
            &Default::default(),
            &Default::default(),
            &pixmap_settings,
        );
        let (pw, ph) = (pixmap.width() as u32, pixmap.height() as u32);
        let gray: Vec<u8> = pixmap
            .data_as_u8_slice()
            .chunks_exact(4)
            .map(|p| luma(p[0], p[1], p[2]))
            .collect();
        let image = GrayImage::from_raw(pw, ph, gray).ok_or_else(|| {
            Unreadable::new(Reason::Unreadable, "the renderer returned a malformed page")
        })?;
        // A page with image data that renders all white was not decoded: an error,
        // never silently a blank page.
        if self.filters.get(index).is_some_and(|f| !f.is_empty())
            && image.as_raw().iter().all(|&p| p >= 250)
        {
            return Err(Unreadable::new(
                Reason::UnsupportedFilter,
                format!(
                    "page {} holds an image that rendered blank: its data could not be decoded",
                    index + 1
                ),
            ));
        }
        Ok(image)
    }
}

/// The file lopdf is loading, so its filter (a plain function) can release the
/// pages it has walked past. Releasing another load's pages would be harmless: they
/// are read again on demand.
static LOADING: std::sync::Mutex<Option<Arc<FileBytes>>> = std::sync::Mutex::new(None);
static IMAGES_DROPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// lopdf load filter: keeps image dictionaries, drops their data.
fn drop_image_data(
    id: (u32, u16),
    object: &mut lopdf::Object,
) -> Option<((u32, u16), lopdf::Object)> {
    if let lopdf::Object::Stream(stream) = object
        && stream.dict.get(b"Subtype").and_then(|s| s.as_name()).ok() == Some(b"Image".as_slice())
    {
        stream.content = Vec::new();
        if IMAGES_DROPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 8 == 7
            && let Some(bytes) = LOADING.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
        {
            bytes.release();
        }
    }
    // lopdf keeps a top-level object as changed in place, but takes an object
    // stream's member from what is returned: returning `Null` there lost the page
    // tree of every file written with object streams (ocrmypdf, qpdf, pikepdf).
    Some((id, object.clone()))
}

/// Width and height of the largest image XObject a page draws, from its dictionary.
fn largest_image(doc: &lopdf::Document, page: lopdf::ObjectId) -> Option<(u64, u64)> {
    let images = doc.get_page_images(page).ok()?;
    images
        .iter()
        .map(|i| (i.width.max(0) as u64, i.height.max(0) as u64))
        .max_by_key(|(w, h)| w.saturating_mul(*h))
}

/// The filters of the image XObjects a page draws; `raw` for unfiltered data.
fn image_filters(doc: &lopdf::Document, page: lopdf::ObjectId) -> Vec<String> {
    let mut names = Vec::new();
    let Ok((resources, inherited)) = doc.get_page_resources(page) else {
        return names;
    };
    let mut dicts: Vec<&lopdf::Dictionary> = resources.into_iter().collect();
    dicts.extend(
        inherited
            .iter()
            .filter_map(|id| doc.get_dictionary(*id).ok()),
    );
    for dict in dicts {
        let xobjects = dict
            .get(b"XObject")
            .and_then(|o| doc.dereference(o))
            .and_then(|(_, o)| o.as_dict());
        let Ok(xobjects) = xobjects else { continue };
        for (_, object) in xobjects.iter() {
            let Ok((_, lopdf::Object::Stream(stream))) = doc.dereference(object) else {
                continue;
            };
            if stream.dict.get(b"Subtype").and_then(|s| s.as_name()).ok()
                != Some(b"Image".as_slice())
            {
                continue;
            }
            match stream.dict.get(b"Filter").ok() {
                Some(lopdf::Object::Name(n)) => names.push(String::from_utf8_lossy(n).into_owned()),
                Some(lopdf::Object::Array(items)) => names.extend(
                    items
                        .iter()
                        .filter_map(|o| o.as_name().ok())
                        .map(|n| String::from_utf8_lossy(n).into_owned()),
                ),
                _ => names.push("raw".into()),
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_scanners_image_is_a_view_into_the_file_not_a_copy() {
        let jpeg = {
            let mut out = Vec::new();
            let page = GrayImage::from_pixel(80, 113, image::Luma([200]));
            jpeg_encoder::Encoder::new(&mut out, 80)
                .encode(page.as_raw(), 80, 113, jpeg_encoder::ColorType::Luma)
                .unwrap();
            out
        };
        let name = |n: &[u8]| lopdf::Object::Name(n.to_vec());
        let pdf = crate::ingest::image_pages_pdf([crate::ingest::ImagePage {
            dict: lopdf::Dictionary::from_iter([
                ("Width", 80.into()),
                ("Height", 113.into()),
                ("ColorSpace", name(b"DeviceGray")),
                ("BitsPerComponent", 8.into()),
                ("Filter", name(b"DCTDecode")),
            ]),
            data: jpeg.clone(),
            matrix: [595.28, 0.0, 0.0, 841.89, 0.0, 0.0],
            size: (595.28, 841.89),
        }]);
        let source =
            PageSource::open(Arc::new(FileBytes::Owned(pdf.clone())), FileKind::Pdf).unwrap();
        let image = source.source_image(0).expect("one image over the page");
        let ImageData::InFile { offset, len, .. } = image.data else {
            panic!("copied: {:?}", image.data);
        };
        assert_eq!(&pdf[offset..offset + len], jpeg.as_slice());
        assert_eq!(image.data.bytes(), jpeg.as_slice());
    }

    #[test]
    fn shrinking_averages_blocks_and_drops_the_ragged_edge() {
        let image = GrayImage::from_fn(5, 3, |x, y| image::Luma([(x * 10 + y * 100) as u8]));
        let half = shrink(&image, 2);
        assert_eq!(half.dimensions(), (2, 1));
        // (0 + 10 + 100 + 110) / 4 = 55; (20 + 30 + 120 + 130) / 4 = 75.
        assert_eq!(half.as_raw(), &vec![55, 75]);
        assert_eq!(shrink(&image, 1), image);
    }
    use super::*;

    #[test]
    fn sniffing_ignores_names() {
        assert_eq!(FileKind::sniff(b"%PDF-1.7\n"), Some(FileKind::Pdf));
        assert_eq!(
            FileKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(FileKind::Jpeg)
        );
        assert_eq!(FileKind::sniff(b"II*\0...."), Some(FileKind::Tiff));
        assert_eq!(FileKind::sniff(b"Dear office, please find attached"), None);
        assert_eq!(FileKind::sniff(b""), None);
    }

    #[test]
    fn garbage_pdfs_are_unreadable_not_panics() {
        for bytes in [
            &b"%PDF-1.7\n"[..],
            b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog",
            b"%PDF-1.5\n%%EOF",
        ] {
            let err = PageSource::open(Arc::new(FileBytes::Owned(bytes.to_vec())), FileKind::Pdf)
                .err()
                .expect("an error");
            assert_eq!(err.reason, Reason::Unreadable, "{err:?}");
        }
    }

    /// Found by fuzzing (`fuzz/run.sh pages`): a fax page whose Width is
    /// 44444444444444444444444414 overflowed the pixel count it was checked by.
    #[test]
    fn an_image_width_past_any_integer_is_refused_not_an_overflow() {
        let pdf = include_bytes!("../../tests/fixtures/fuzz/pages/fax-image-width-overflows.pdf");
        let source =
            PageSource::open(Arc::new(FileBytes::Owned(pdf.to_vec())), FileKind::Pdf).unwrap();
        assert_eq!(source.count(), 1);
        assert!(source.source_image(0).is_some(), "one image over the page");
        assert!(source.quick_page(0, 150.0).is_none());
        // The renderer, which reads the page instead, does not panic either
        // (hayro draws the page without the impossible image).
        let _ = source.page(0, 150.0);
    }

    #[test]
    fn absurd_image_sizes_are_refused_before_decoding() {
        // A PNG header claiming 100000 × 100000 pixels.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
        let err = PageSource::open(Arc::new(FileBytes::Owned(png)), FileKind::Png)
            .err()
            .expect("an error");
        assert!(
            matches!(err.reason, Reason::TooLarge | Reason::Unreadable),
            "{err:?}"
        );
    }
}

/// A scanner's page image as stored in its PDF, with where it is drawn: the image
/// can be filed as it came (no decode, no re-encode) under another transform.
#[derive(Debug, Clone)]
pub struct SourceImage {
    /// The image dictionary's entries that describe its data (Width, Height,
    /// ColorSpace, BitsPerComponent, Filter, DecodeParms, Decode, ImageMask).
    pub dict: lopdf::Dictionary,
    /// The stream's data, still encoded.
    pub data: ImageData,
    /// The `cm` matrix that draws it on its page (unit square to points, y up).
    pub placement: [f64; 6],
    /// Height of the page it was on, in points.
    pub page_height: f64,
    /// Width of the page it was on, in points.
    pub page_width: f64,
}

/// An image stream's encoded bytes.
#[derive(Clone)]
pub enum ImageData {
    /// Stored in the file as is (no object stream around it): a view into the
    /// mapped file, never copied, and filed from the archive's copy by offset.
    InFile {
        file: Arc<FileBytes>,
        offset: usize,
        len: usize,
    },
    /// Decoded out of a container (an object stream): owned.
    Owned(Vec<u8>),
}

impl ImageData {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::InFile { file, offset, len } => &(**file).as_ref()[*offset..*offset + *len],
            Self::Owned(bytes) => bytes,
        }
    }
}

impl std::fmt::Debug for ImageData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InFile { offset, len, .. } => write!(f, "InFile({offset}+{len})"),
            Self::Owned(bytes) => write!(f, "Owned({})", bytes.len()),
        }
    }
}

impl PageSource {
    /// A quick first read of a page that is one image drawn over the whole page
    /// (what scanners write), averaged down to about `dpi`, skipping the
    /// renderer, which spends two thirds of its time resampling the image onto
    /// its canvas: a JPEG decoded straight to grey by zune-jpeg, a 1-bit CCITT
    /// fax image decoded by hayro-ccitt straight into the smaller image. `None`
    /// for any other page, or an image either decoder refuses: the renderer
    /// reads those (and reports why).
    pub fn quick_page(&self, index: usize, dpi: f32) -> Option<GrayImage> {
        let source = self.source_image(index)?;
        let filter = match source.dict.get(b"Filter").ok()? {
            lopdf::Object::Name(name) => name.clone(),
            lopdf::Object::Array(items) if items.len() == 1 => items[0].as_name().ok()?.to_vec(),
            _ => return None,
        };
        let colour = source
            .dict
            .get(b"ColorSpace")
            .ok()
            .and_then(|c| c.as_name().ok());
        let [a, b, c, d, e, f] = source.placement;
        let full_page = b == 0.0
            && c == 0.0
            && e.abs() < 0.5
            && f.abs() < 0.5
            && (a - source.page_width).abs() < 0.5
            && (d - source.page_height).abs() < 0.5;
        if !full_page || source.dict.has(b"ImageMask") {
            return None;
        }
        let (width, height) = (
            source.dict.get(b"Width").ok()?.as_i64().ok()?,
            source.dict.get(b"Height").ok()?.as_i64().ok()?,
        );
        // Hostile sizes too: a width of 10^25 must not overflow the product.
        let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
            return None;
        };
        if width < 1 || height < 1 || u64::from(width) * u64::from(height) > MAX_PAGE_PIXELS {
            return None;
        }
        // The image must fill the page evenly: the same scale across and down.
        let (across, down) = (
            width as f64 / source.page_width,
            height as f64 / source.page_height,
        );
        if (across / down - 1.0).abs() > 0.01 {
            return None;
        }
        let factor = (across / (dpi as f64 / 72.0)).floor().max(1.0) as u32;
        match (filter.as_slice(), colour) {
            (b"DCTDecode", Some(b"DeviceGray" | b"DeviceRGB"))
                if !["Decode", "DecodeParms"]
                    .iter()
                    .any(|k| source.dict.has(k.as_bytes())) =>
            {
                quick_jpeg(source.data.bytes(), (width, height), factor)
            }
            (b"CCITTFaxDecode", Some(b"DeviceGray")) => {
                let fax = Fax::of(&source.dict, width, height)?;
                fax.shrunk(source.data.bytes(), factor)
            }
            _ => None,
        }
    }

    /// The page's image when the page is just one image (what scanners write), with
    /// a plain page box and no rotation; `None` for anything else.
    pub fn source_image(&self, index: usize) -> Option<SourceImage> {
        match self {
            Self::Raster(_) => None,
            Self::Pdf(pdf) => pdf.source_image(index),
        }
    }
}

impl PdfPages {
    fn source_image(&self, index: usize) -> Option<SourceImage> {
        use hayro::hayro_syntax::object::{Dict, Name, Object, Stream};
        use hayro::hayro_syntax::page::Rotation;
        let page = self.pdf.pages().get(index)?;
        let media = page.media_box();
        let crop = page.intersected_crop_box();
        let plain = media.x0 == 0.0
            && media.y0 == 0.0
            && (crop.x0, crop.y0, crop.x1, crop.y1) == (media.x0, media.y0, media.x1, media.y1);
        if !plain || !matches!(page.rotation(), Rotation::None) {
            return None;
        }
        // The content must be only `q`, `Q`, one `cm` and one `Do`.
        let content = std::str::from_utf8(page.page_stream()?).ok()?;
        let mut numbers: Vec<f64> = Vec::new();
        let (mut placement, mut name) = (None, None);
        let mut last_name = None;
        for token in content.split_ascii_whitespace() {
            match token {
                "q" | "Q" => {}
                "cm" if numbers.len() >= 6 && placement.is_none() => {
                    let n = &numbers[numbers.len() - 6..];
                    placement = Some([n[0], n[1], n[2], n[3], n[4], n[5]]);
                    numbers.clear();
                }
                "Do" if name.is_none() => name = last_name.take(),
                t if t.starts_with('/') => last_name = Some(t[1..].to_owned()),
                t => numbers.push(t.parse().ok()?),
            }
        }
        let (placement, name) = (placement?, name?);
        let stream: Stream = page.resources().x_objects.get(name.as_bytes())?;
        let source: &Dict = stream.dict();
        if source.get::<Name>(b"Subtype".as_slice())?.as_ref() != b"Image" {
            return None;
        }
        let mut dict = lopdf::Dictionary::new();
        for key in ["Width", "Height", "BitsPerComponent"] {
            if let Some(value) = source.get::<hayro::hayro_syntax::object::Number>(key.as_bytes()) {
                dict.set(key, value.as_i64());
            }
        }
        for key in ["ColorSpace", "Filter", "DecodeParms", "Decode", "ImageMask"] {
            if let Some(value) = source.get::<Object>(key.as_bytes()) {
                dict.set(key, plain_object(&value, 0)?);
            }
        }
        // Only simple, self-contained images: a colour space or parameter that needs
        // other objects (ICC profiles, JBIG2 globals) is re-encoded instead.
        if !dict.has(b"Width") || !dict.has(b"Height") {
            return None;
        }
        let raw = stream.raw_data();
        let file: &[u8] = self.bytes.as_ref().as_ref();
        // A borrowed slice lies inside the mapped file: its position is its offset.
        let in_file = match &raw {
            std::borrow::Cow::Borrowed(slice) => (slice.as_ptr() as usize)
                .checked_sub(file.as_ptr() as usize)
                .filter(|start| start + slice.len() <= file.len())
                .map(|offset| ImageData::InFile {
                    file: self.bytes.clone(),
                    offset,
                    len: slice.len(),
                }),
            std::borrow::Cow::Owned(_) => None,
        };
        let data = in_file.unwrap_or_else(|| ImageData::Owned(raw.into_owned()));
        Some(SourceImage {
            dict,
            data,
            placement,
            page_height: media.y1,
            page_width: media.x1,
        })
    }
}

/// A JPEG of `size` pixels decoded to grey, shrunk by `factor`.
fn quick_jpeg(jpeg: &[u8], size: (u32, u32), factor: u32) -> Option<GrayImage> {
    let options = zune_jpeg::zune_core::options::DecoderOptions::default()
        .jpeg_set_out_colorspace(zune_jpeg::zune_core::colorspace::ColorSpace::Luma)
        .set_max_width(20_000)
        .set_max_height(20_000);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(std::io::Cursor::new(jpeg), options);
    decoder.decode_headers().ok()?;
    let (width, height) = decoder.dimensions()?;
    // The JPEG must be the image its dictionary says it is.
    if (width as u32, height as u32) != size {
        return None;
    }
    let pixels = decoder.decode().ok()?;
    let full = GrayImage::from_raw(width as u32, height as u32, pixels)?;
    Some(shrink(&full, factor))
}

/// A 1-bit CCITT fax image as its dictionary describes it.
struct Fax {
    settings: hayro_ccitt::DecodeSettings,
    /// Whether the fax code's black is dark on the page (`BlackIs1` and
    /// `Decode` can each turn it round).
    black_is_dark: bool,
}

impl Fax {
    /// `None` for parameters this reader leaves to the renderer.
    fn of(dict: &lopdf::Dictionary, width: u32, height: u32) -> Option<Self> {
        use lopdf::Object;
        if dict.get(b"BitsPerComponent").ok()?.as_i64().ok()? != 1 {
            return None;
        }
        let inverted = match dict.get(b"Decode") {
            Err(_) => false,
            Ok(Object::Array(range)) => match range.as_slice() {
                [low, high] => match (low.as_float().ok()?, high.as_float().ok()?) {
                    (0.0, 1.0) => false,
                    (1.0, 0.0) => true,
                    _ => return None,
                },
                _ => return None,
            },
            Ok(_) => return None,
        };
        let parms = match dict.get(b"DecodeParms") {
            Err(_) => None,
            Ok(Object::Dictionary(parms)) => Some(parms),
            Ok(Object::Array(items)) if items.len() == 1 => Some(items[0].as_dict().ok()?),
            Ok(_) => return None,
        };
        let int = |key: &[u8], default: i64| -> Option<i64> {
            match parms.and_then(|p| p.get(key).ok()) {
                None => Some(default),
                Some(value) => value.as_i64().ok(),
            }
        };
        let flag = |key: &[u8], default: bool| -> Option<bool> {
            match parms.and_then(|p| p.get(key).ok()) {
                None => Some(default),
                Some(value) => value.as_bool().ok(),
            }
        };
        let k = int(b"K", 0)?;
        let (columns, rows) = (int(b"Columns", 1728)?, int(b"Rows", 0)?);
        if columns != width as i64 || !(rows == 0 || rows == height as i64) {
            return None;
        }
        let encoding = match k {
            k if k < 0 => hayro_ccitt::EncodingMode::Group4,
            0 => hayro_ccitt::EncodingMode::Group3_1D,
            _ => hayro_ccitt::EncodingMode::Group3_2D,
        };
        Some(Self {
            settings: hayro_ccitt::DecodeSettings {
                columns: width,
                rows: height,
                end_of_block: flag(b"EndOfBlock", true)?,
                end_of_line: flag(b"EndOfLine", false)?,
                rows_are_byte_aligned: flag(b"EncodedByteAlign", false)?,
                encoding,
                strict: false,
            },
            // Fax black is 0 unless BlackIs1; 0 is dark unless Decode is [1 0].
            black_is_dark: !flag(b"BlackIs1", false)? ^ inverted,
        })
    }

    /// The image decoded straight into its `factor`-smaller grey version, each
    /// pixel the share of its block that is white: the full-size image is
    /// never made. `None` when the data does not decode to every row.
    fn shrunk(&self, data: &[u8], factor: u32) -> Option<GrayImage> {
        let (width, height) = (self.settings.columns, self.settings.rows);
        // A factor past the image's size would leave no pixel.
        let factor = match width / factor == 0 || height / factor == 0 {
            true => 1,
            false => factor,
        };
        let mut sink = Shrinking {
            factor,
            black_is_dark: self.black_is_dark,
            width,
            row: 0,
            bands: height / factor,
            dark: vec![0; (width / factor) as usize],
            out: Vec::with_capacity((width / factor) as usize * (height / factor) as usize),
        };
        let mut context = hayro_ccitt::DecoderContext::new(self.settings);
        hayro_ccitt::decode(data, &mut sink, &mut context).ok()?;
        if sink.row < height {
            return None;
        }
        GrayImage::from_raw(width / factor, height / factor, sink.out)
    }
}

/// Collects a fax image's rows into a `factor`-smaller grey image.
struct Shrinking {
    factor: u32,
    black_is_dark: bool,
    width: u32,
    /// Rows pushed so far.
    row: u32,
    /// Bands of `factor` rows the image has room for.
    bands: u32,
    /// Dark pixels of each block of the current band of `factor` rows.
    dark: Vec<u32>,
    out: Vec<u8>,
}

impl hayro_ccitt::Decoder for Shrinking {
    fn push_row(&mut self, changes: &[u32]) {
        let columns = self.dark.len() as u32 * self.factor;
        // The runs of fax black, then whichever colour is dark counted.
        let mut black = changes.chunks(2).map(|run| {
            let start = run[0].min(self.width);
            let end = run.get(1).copied().unwrap_or(self.width).min(self.width);
            (start, end)
        });
        let count = |from: u32, to: u32, dark: &mut [u32]| {
            for x in from..to.min(columns) {
                dark[(x / self.factor) as usize] += 1;
            }
        };
        if self.black_is_dark {
            for (start, end) in black.by_ref() {
                count(start, end, &mut self.dark);
            }
        } else {
            let mut white_from = 0;
            for (start, end) in black.by_ref() {
                count(white_from, start, &mut self.dark);
                white_from = end;
            }
            count(white_from, self.width, &mut self.dark);
        }
        self.row += 1;
        // A band complete: its blocks become pixels; the ragged bottom is dropped.
        if self.row.is_multiple_of(self.factor) && self.row / self.factor <= self.bands {
            let area = self.factor * self.factor;
            for dark in &mut self.dark {
                let light = (area - (*dark).min(area)) * 255;
                self.out.push(((light + area / 2) / area) as u8);
                *dark = 0;
            }
        }
    }
}

/// `image` with each `factor` × `factor` block averaged into one pixel.
fn shrink(image: &GrayImage, factor: u32) -> GrayImage {
    let (w, h) = (
        image.width() / factor.max(1),
        image.height() / factor.max(1),
    );
    // A factor past the image's size (a page a few points wide) would leave no
    // pixel: keep the image as it is.
    if factor <= 1 || w == 0 || h == 0 {
        return image.clone();
    }
    let source = image.as_raw();
    let stride = image.width() as usize;
    let k = factor as usize;
    let mut out = vec![0u8; w as usize * h as usize];
    let area = (k * k) as u32;
    for (y, row) in out.chunks_exact_mut(w as usize).enumerate() {
        for (x, pixel) in row.iter_mut().enumerate() {
            let mut sum = 0u32;
            for dy in 0..k {
                let start = (y * k + dy) * stride + x * k;
                sum += source[start..start + k]
                    .iter()
                    .map(|&v| v as u32)
                    .sum::<u32>();
            }
            *pixel = ((sum + area / 2) / area) as u8;
        }
    }
    GrayImage::from_raw(w, h, out).unwrap_or_else(|| GrayImage::new(w, h))
}

/// A hayro object as a lopdf object, when it is plain data (numbers, names,
/// booleans, arrays and dictionaries of those).
fn plain_object(object: &hayro::hayro_syntax::object::Object, depth: u8) -> Option<lopdf::Object> {
    use hayro::hayro_syntax::object::Object;
    if depth > 4 {
        return None;
    }
    Some(match object {
        Object::Null(_) => lopdf::Object::Null,
        Object::Boolean(b) => lopdf::Object::Boolean(*b),
        Object::Number(n) => match n.as_f64().fract() == 0.0 {
            true => lopdf::Object::Integer(n.as_i64()),
            false => lopdf::Object::Real(n.as_f32()),
        },
        Object::Name(name) => lopdf::Object::Name(name.as_ref().to_vec()),
        Object::Array(array) => lopdf::Object::Array(
            array
                .iter::<Object>()
                .map(|item| plain_object(&item, depth + 1))
                .collect::<Option<Vec<_>>>()?,
        ),
        Object::Dict(dict) => {
            let mut out = lopdf::Dictionary::new();
            for key in dict.keys() {
                let value: Object = dict.get(key.as_ref())?;
                out.set(key.as_ref().to_vec(), plain_object(&value, depth + 1)?);
            }
            lopdf::Object::Dictionary(out)
        }
        _ => return None,
    })
}
