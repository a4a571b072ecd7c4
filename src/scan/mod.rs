//! Scan geometry, shared by paper and digital returns: finding a page's QR code in
//! an image ([`qr`]), the map from the form's page to that image ([`page_map`],
//! fixed by the marks in [`locate`]),
//! whether a box on the page holds writing ([`ink`]) and whether the name box
//! still shows the name issued ([`name_box`]). Nothing here knows about
//! files, workers or the archive; `ingest` and `digital` both stand on it.

pub mod box_text;
pub mod ink;
pub mod locate;
pub mod name_box;
pub mod page_map;
pub mod qr;
