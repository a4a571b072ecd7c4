//! The QR code stamped on every page: version 2, error correction M, made with
//! the qrcode crate's encoder and choosing the same mask it chooses, module
//! for module (so forms stay byte for byte what earlier versions of aup
//! issued, and a copy downloaded then still matches its register entry).
//!
//! Only the choice is done here: the crate scores each of the eight masks
//! with general code (boxed closures per window, module enums), which was
//! about 30% of `aup generate` for 1,800 codes. The same four penalty rules
//! of ISO/IEC 18004 §7.8.3, with the crate's own variations (no rounding of
//! the balance to 5% steps; every finder-like run counted, less the 360 the
//! three finder patterns themselves always give), are scored here on a plain
//! grid of dark bits.

use qrcode::canvas::{Canvas, MaskPattern};
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
    let mut canvas = Canvas::new(version, ec_level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    let mut best: Option<(i32, Vec<bool>)> = None;
    for mask in MASKS {
        let mut masked = canvas.clone();
        masked.apply_mask(mask);
        let dark: Vec<bool> = masked
            .into_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        let score = penalty(&dark);
        if best.as_ref().is_none_or(|(lowest, _)| score < *lowest) {
            best = Some((score, dark));
        }
    }
    best.map(|(_, dark)| dark)
        .ok_or_else(|| "no mask".to_owned())
}

/// The penalty of a masked symbol, as the crate scores it.
fn penalty(dark: &[bool]) -> i32 {
    let at = |x: usize, y: usize| dark[y * MODULES + x];
    let mut score = 0;
    for horizontal in [true, false] {
        let line = |i: usize, j: usize| match horizontal {
            true => at(j, i),
            false => at(i, j),
        };
        for i in 0..MODULES {
            // Runs of five or more of one colour: 3 + (length - 5).
            let mut run = 1;
            for j in 1..=MODULES {
                if j < MODULES && line(i, j) == line(i, j - 1) {
                    run += 1;
                    continue;
                }
                if run >= 5 {
                    score += run - 2;
                }
                run = 1;
            }
            // 1:1:3:1:1 dark-light-dark-light-dark with four light modules
            // (or the edge) on at least one side: 40 each.
            for j in 0..MODULES - 6 {
                let finder = [true, false, true, true, true, false, true]
                    .iter()
                    .enumerate()
                    .all(|(k, &d)| line(i, j + k) == d);
                if !finder {
                    continue;
                }
                let dark_in = |from: isize, to: isize| {
                    (from..to).any(|k| k >= 0 && (k as usize) < MODULES && line(i, k as usize))
                };
                let j = j as isize;
                if !dark_in(j - 4, j) || !dark_in(j + 7, j + 11) {
                    score += 40;
                }
            }
        }
        score -= 360;
    }
    // 2×2 blocks of one colour: 3 each.
    for y in 0..MODULES - 1 {
        for x in 0..MODULES - 1 {
            let c = at(x, y);
            if at(x + 1, y) == c && at(x, y + 1) == c && at(x + 1, y + 1) == c {
                score += 3;
            }
        }
    }
    // Balance: distance from half dark, in percent of 200.
    let dark_count = dark.iter().filter(|&&d| d).count();
    let ratio = (dark_count * 200 / dark.len()) as i32;
    score + (ratio - 100).abs()
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
