//! The QR code stamped on every page: version 2, error correction M, made with
//! the qrcode crate's encoder and choosing the same mask it chooses, module
//! for module (so forms stay byte for byte what earlier versions of aup
//! issued, and a copy downloaded then still matches its register entry).
//!
//! Only the masking and the choice are done here. The crate clones the symbol
//! for each of the eight masks and scores it with general code (boxed closures
//! per window, module enums): about 30% of `aup generate` for 1,800 codes.
//! Here each row is a word of bits; a mask is one XOR per row with a symbol
//! made once from the crate for that mask; and the same four penalty rules
//! of ISO/IEC 18004 §7.8.3, with the crate's own variations (no rounding of
//! the balance to 5% steps; every finder-like run counted, less the 360 the
//! three finder patterns themselves always give), are a few shifts and
//! counts per line.

use qrcode::canvas::{Canvas, MaskPattern, Module};
use qrcode::{EcLevel, Version};

/// Modules per side of a version 2 symbol.
pub const MODULES: usize = 25;

/// The masks in the order the crate tries them; the first of equal scores wins.
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// What every version 2-M symbol shares, found once from the crate itself:
/// which modules carry data, and for each mask the symbol an all-zero
/// message gives (the function patterns, the format information naming that
/// mask, and the mask itself over the data modules). A message's symbol
/// under a mask is then that, with the message's data bits flipped in.
struct Shared {
    /// The function patterns alone, before any data.
    functional: Canvas,
    data: [u32; MODULES],
    masked: [[u32; MODULES]; 8],
    /// `data` and `masked` by columns.
    data_columns: [u32; MODULES],
    masked_columns: [[u32; MODULES]; 8],
}

fn shared() -> &'static Shared {
    static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let mut functional = Canvas::new(Version::Normal(2), EcLevel::M);
        functional.draw_all_functional_patterns();
        let zeros = placed(&functional, &[0; 28], &[0; 16]);
        let mut data = [0u32; MODULES];
        for (y, row) in data.iter_mut().enumerate() {
            for x in 0..MODULES {
                if matches!(zeros.get(x as i16, y as i16), Module::Unmasked(_)) {
                    *row |= 1 << x;
                }
            }
        }
        let masked = MASKS.map(|mask| {
            let mut canvas = zeros.clone();
            canvas.apply_mask(mask);
            rows_of(&canvas)
        });
        Shared {
            functional,
            data,
            data_columns: columns_of(&data),
            masked_columns: masked.map(|rows| columns_of(&rows)),
            masked,
        }
    })
}

/// The symbol before masking: the function patterns, and the codewords placed.
fn placed(functional: &Canvas, data: &[u8], ec: &[u8]) -> Canvas {
    let mut canvas = functional.clone();
    canvas.draw_data(data, ec);
    canvas
}

/// The symbol for `data`: `MODULES × MODULES` modules, row by row, `true`
/// where dark.
pub fn encode(data: &[u8]) -> Result<Vec<bool>, String> {
    let version = Version::Normal(2);
    let ec_level = EcLevel::M;
    let mut bits = qrcode::bits::Bits::new(version);
    bits.push_optimal_data(data).map_err(|e| e.to_string())?;
    bits.push_terminator(ec_level).map_err(|e| e.to_string())?;
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, ec_level)
        .map_err(|e| e.to_string())?;
    let shared = shared();
    let message = rows_of(&placed(&shared.functional, &data, &ec));
    let message_columns = columns_of(&message);
    let mut best: Option<(i32, [u32; MODULES])> = None;
    for (masked, masked_columns) in shared.masked.iter().zip(&shared.masked_columns) {
        let mut rows = *masked;
        for ((row, message), data) in rows.iter_mut().zip(&message).zip(&shared.data) {
            *row ^= message & data;
        }
        // Columns the same way: transposing is linear, so the masked
        // symbol's columns are the mask's, flipped by the message's data.
        let mut columns = *masked_columns;
        for ((column, message), data) in columns
            .iter_mut()
            .zip(&message_columns)
            .zip(&shared.data_columns)
        {
            *column ^= message & data;
        }
        let score = penalty(&rows, &columns);
        if best.as_ref().is_none_or(|(lowest, _)| score < *lowest) {
            best = Some((score, rows));
        }
    }
    let (_, rows) = best.ok_or("no mask")?;
    Ok((0..MODULES * MODULES)
        .map(|i| rows[i / MODULES] >> (i % MODULES) & 1 == 1)
        .collect())
}

/// Each row of a symbol as a word of bits, bit `x` dark.
fn rows_of(canvas: &Canvas) -> [u32; MODULES] {
    let mut rows = [0u32; MODULES];
    for (y, row) in rows.iter_mut().enumerate() {
        for x in 0..MODULES {
            if canvas.get(x as i16, y as i16).is_dark() {
                *row |= 1 << x;
            }
        }
    }
    rows
}

/// The penalty of a masked symbol, as the crate scores it, from its rows and
/// its columns. Each line is a word of 25 bits (bit `k` is module `k`), so
/// every rule is a few shifts and counts per line rather than a walk over
/// modules.
fn penalty(rows: &[u32; MODULES], columns: &[u32; MODULES]) -> i32 {
    let mut score = 0;
    for lines in [rows, columns] {
        score += lines
            .iter()
            .map(|&line| runs(line) + finders(line))
            .sum::<i32>()
            - 360;
    }
    // 2×2 blocks of one colour: 3 each.
    for pair in rows.windows(2) {
        let (top, bottom) = (pair[0], pair[1]);
        let dark = top & (top >> 1) & bottom & (bottom >> 1);
        let light = !top & !(top >> 1) & !bottom & !(bottom >> 1);
        // Module 24 has no right neighbour.
        let within = ALL >> 1;
        score += 3 * ((dark & within).count_ones() + (light & within).count_ones()) as i32;
    }
    // Balance: distance from half dark, in percent of 200.
    let dark_count: u32 = rows.iter().map(|r| r.count_ones()).sum();
    let ratio = (dark_count as usize * 200 / (MODULES * MODULES)) as i32;
    score + (ratio - 100).abs()
}

/// Every module of a line.
const ALL: u32 = (1 << MODULES) - 1;

/// The columns of a symbol given by its rows, as words of bits (bit `y` of
/// column `x` is row `y`'s module `x`).
fn columns_of(rows: &[u32; MODULES]) -> [u32; MODULES] {
    let mut columns = [0u32; MODULES];
    for (y, row) in rows.iter().enumerate() {
        for (x, column) in columns.iter_mut().enumerate() {
            *column |= (row >> x & 1) << y;
        }
    }
    columns
}

/// Runs of five or more of one colour along a line: 3 + (length - 5) each.
/// A run of length `n` holds `n - 4` windows of five, and starts one run of
/// windows; so its score is its windows plus two for its start.
fn runs(line: u32) -> i32 {
    let mut score = 0;
    for same in [line, !line & ALL] {
        let windows = same & (same >> 1) & (same >> 2) & (same >> 3) & (same >> 4);
        let starts = windows & !(windows << 1);
        score += (windows.count_ones() + 2 * starts.count_ones()) as i32;
    }
    score
}

/// Finder-like 1:1:3:1:1 (dark, light, dark ×3, light, dark) along a line
/// with four light modules (or the edge) on at least one side: 40 each.
fn finders(line: u32) -> i32 {
    let light = !line & ALL;
    // Where the pattern starts: bit `j` set when modules j..j+7 match it.
    let found =
        line & (light >> 1) & (line >> 2) & (line >> 3) & (line >> 4) & (light >> 5) & (line >> 6);
    // Light modules with the paper beyond both edges light too, shifted four
    // up so that bit `p` is module `p - 4`; then bit `p` of `four` is set when
    // modules p-4 to p-1 are all light.
    let padded = u64::from(light) << 4 | 0xF | !0u64 << (MODULES + 4);
    let four = padded & (padded >> 1) & (padded >> 2) & (padded >> 3);
    // Light before the pattern at `j` (modules j-4 to j-1) is bit `j` of
    // `four`; light after it (modules j+7 to j+10) is bit `j + 11`.
    let beside = (four | four >> 11) as u32;
    40 * (found & beside).count_ones() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crate's own choice, module for module.
    fn crate_symbol(data: &[u8]) -> Vec<bool> {
        qrcode::QrCode::with_version(data, Version::Normal(2), EcLevel::M)
            .unwrap()
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect()
    }

    #[test]
    fn every_symbol_is_the_one_the_crate_makes() {
        // Payloads as forms carry them, and others of every length that fits.
        let mut tried = 0;
        for n in 0..3000u32 {
            let payloads = [
                format!(
                    "{}:PAK-2526-{n:04}-K:{}/3:{:08X}:{:04X}",
                    ["T", "L", "B"][n as usize % 3],
                    n % 3 + 1,
                    n.wrapping_mul(2654435761),
                    n.wrapping_mul(40503) & 0xFFFF
                ),
                format!("{n}"),
                "x".repeat((n % 26) as usize),
                format!("https://aup.school.example/s/{:x}", n.wrapping_mul(40503)),
            ];
            for payload in payloads {
                let Ok(ours) = encode(payload.as_bytes()) else {
                    assert!(
                        qrcode::QrCode::with_version(&payload, Version::Normal(2), EcLevel::M)
                            .is_err()
                    );
                    continue;
                };
                assert_eq!(ours, crate_symbol(payload.as_bytes()), "{payload}");
                tried += 1;
            }
        }
        assert!(tried > 8_000, "{tried}");
    }
}
