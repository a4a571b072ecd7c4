//! Where a form's page lies in an image: the map from page points to image pixels
//! that the identity marks' corners fix, and the matrix arithmetic that composes
//! such maps. Paper returns and digital returns both measure boxes through it.
//!
//! A flatbed or feeder scan only scales, turns, skews and offsets the page: an
//! affine map. A phone photo also sees the page in perspective, which only a
//! homography (a projective map) straightens. With the marks of a current form
//! spread over the page, the affine map is fitted first and kept when it
//! explains every corner to within a fraction of a millimetre; otherwise the
//! homography is. With a single mark (the others lost, or a form issued before
//! the margin marks were printed) the page can only be extrapolated affinely.

/// A point in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Px {
    pub x: f64,
    pub y: f64,
}

/// A map from page coordinates (points, from the top-left corner, y down) to
/// image pixels: image = H · (x, y, 1), divided through by its last element.
#[derive(Debug, Clone, Copy)]
pub struct PageToImage {
    /// Row-major 3 × 3; the last row is (0, 0, 1) for an affine map.
    h: [f64; 9],
}

/// One correspondence: where a point of the page is seen in the image.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub page: Px,
    pub image: Px,
}

/// The affine fit is kept when no corner is further than this from where it
/// puts it, in millimetres on the page: decoders place a corner to within about
/// a tenth of a module (0.06 mm); a phone photo's perspective moves the corners of
/// a code 25 cm away by several millimetres.
const AFFINE_TOLERANCE_MM: f64 = 0.35;

impl PageToImage {
    /// The map that best explains `seen` (least squares): affine when the points
    /// lie within one mark or the affine fit explains them all, projective when
    /// they span the page and perspective is plain. `None` when they fix no map
    /// (fewer than three points, or all in a line).
    pub fn fit(seen: &[Seen]) -> Option<Self> {
        let affine = fit_affine(seen)?;
        if seen.len() < 8 {
            return Some(affine);
        }
        let tolerance = AFFINE_TOLERANCE_MM * 72.0 / 25.4 * affine.scale();
        let worst = affine.worst_error(seen);
        if worst <= tolerance {
            return Some(affine);
        }
        match fit_homography(seen) {
            Some(projective) if projective.worst_error(seen) < worst => Some(projective),
            _ => Some(affine),
        }
    }

    /// The map of a page rendered upright at `pixels_per_point` (a PDF page read
    /// digitally rather than scanned).
    pub fn scaled(pixels_per_point: f64) -> Self {
        Self {
            h: [
                pixels_per_point,
                0.0,
                0.0,
                0.0,
                pixels_per_point,
                0.0,
                0.0,
                0.0,
                1.0,
            ],
        }
    }

    pub fn map(&self, x: f64, y: f64) -> Px {
        let h = &self.h;
        let w = h[6] * x + h[7] * y + h[8];
        Px {
            x: (h[0] * x + h[1] * y + h[2]) / w,
            y: (h[3] * x + h[4] * y + h[5]) / w,
        }
    }

    /// The 3 × 3 matrix, row-major: image = H · (x, y, 1).
    pub fn homogeneous(&self) -> [f64; 9] {
        self.h
    }

    /// Whether the map is projective (perspective corrected), not affine.
    pub fn is_projective(&self) -> bool {
        self.h[6] != 0.0 || self.h[7] != 0.0
    }

    /// The affine map through the images of the page's corners (0, 0), (w, 0) and
    /// (0, h), as a PDF matrix `[a b c d e f]` (x' = a x + c y + e, y' = b x + d y + f):
    /// the map itself when it is affine.
    pub fn matrix(&self, width: f64, height: f64) -> [f64; 6] {
        let o = self.map(0.0, 0.0);
        let x = self.map(width, 0.0);
        let y = self.map(0.0, height);
        [
            (x.x - o.x) / width,
            (x.y - o.y) / width,
            (y.x - o.x) / height,
            (y.y - o.y) / height,
            o.x,
            o.y,
        ]
    }

    /// Pixels per point along the page's x axis near the page point (x, y).
    pub fn scale_at(&self, x: f64, y: f64) -> f64 {
        let a = self.map(x, y);
        let b = self.map(x + 1.0, y);
        (b.x - a.x).hypot(b.y - a.y)
    }

    /// Pixels per point along the page's x axis at the page's top-left corner
    /// (everywhere, for an affine map).
    pub fn scale(&self) -> f64 {
        self.scale_at(0.0, 0.0)
    }

    /// How far, in pixels, the map puts the worst of `seen` from where it was seen.
    pub fn worst_error(&self, seen: &[Seen]) -> f64 {
        seen.iter()
            .map(|s| {
                let p = self.map(s.page.x, s.page.y);
                (p.x - s.image.x).hypot(p.y - s.image.y)
            })
            .fold(0.0, f64::max)
    }
}

/// Coordinates moved to their centroid and scaled to unit spread, so that the
/// normal equations of a fit are well conditioned: `(centre, scale)`.
fn normaliser(points: impl Iterator<Item = Px> + Clone) -> Normaliser {
    let n = points.clone().count().max(1) as f64;
    let (sx, sy) = points
        .clone()
        .fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
    let centre = Px {
        x: sx / n,
        y: sy / n,
    };
    let spread = points
        .map(|p| (p.x - centre.x).hypot(p.y - centre.y))
        .sum::<f64>()
        / n;
    (centre, if spread > 0.0 { 1.0 / spread } else { 1.0 })
}

/// `h` fitted in normalised coordinates, brought back to page points and pixels.
fn denormalise(h: [f64; 9], page: Normaliser, image: Normaliser) -> [f64; 9] {
    let (pc, ps) = page;
    let (ic, is) = image;
    // H = T_image⁻¹ · Hn · T_page, with T(p) = s (p - c).
    let t_page = [ps, 0.0, -ps * pc.x, 0.0, ps, -ps * pc.y, 0.0, 0.0, 1.0];
    let t_image_inv = [1.0 / is, 0.0, ic.x, 0.0, 1.0 / is, ic.y, 0.0, 0.0, 1.0];
    let m = mul3(&t_image_inv, &mul3(&h, &t_page));
    let w = m[8];
    m.map(|v| v / w)
}

fn mul3(a: &[f64; 9], b: &[f64; 9]) -> [f64; 9] {
    let mut out = [0.0; 9];
    for r in 0..3 {
        for c in 0..3 {
            out[r * 3 + c] = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum();
        }
    }
    out
}

/// A normalisation: `(centre, scale)`.
type Normaliser = (Px, f64);

/// The pairs in normalised coordinates, and the page's and the image's normalisers.
fn normalised(seen: &[Seen]) -> (Vec<(Px, Px)>, Normaliser, Normaliser) {
    let page = normaliser(seen.iter().map(|s| s.page));
    let image = normaliser(seen.iter().map(|s| s.image));
    let apply = |p: Px, (c, s): Normaliser| Px {
        x: (p.x - c.x) * s,
        y: (p.y - c.y) * s,
    };
    let pairs = seen
        .iter()
        .map(|s| (apply(s.page, page), apply(s.image, image)))
        .collect();
    (pairs, page, image)
}

fn fit_affine(seen: &[Seen]) -> Option<PageToImage> {
    if seen.len() < 3 {
        return None;
    }
    let (pairs, page, image) = normalised(seen);
    // x' and y' are each a x + b y + c: two 3 × 3 least-squares problems.
    let mut ata = [[0.0; 3]; 3];
    let (mut atu, mut atv) = ([0.0; 3], [0.0; 3]);
    for (p, i) in &pairs {
        let row = [p.x, p.y, 1.0];
        for r in 0..3 {
            for c in 0..3 {
                ata[r][c] += row[r] * row[c];
            }
            atu[r] += row[r] * i.x;
            atv[r] += row[r] * i.y;
        }
    }
    let u = solve(ata.iter().map(|r| r.to_vec()).collect(), atu.to_vec())?;
    let v = solve(ata.iter().map(|r| r.to_vec()).collect(), atv.to_vec())?;
    let h = [u[0], u[1], u[2], v[0], v[1], v[2], 0.0, 0.0, 1.0];
    let mut h = denormalise(h, page, image);
    // Exactly affine, whatever rounding left in the last row.
    h[6] = 0.0;
    h[7] = 0.0;
    h[8] = 1.0;
    Some(PageToImage { h })
}

fn fit_homography(seen: &[Seen]) -> Option<PageToImage> {
    if seen.len() < 4 {
        return None;
    }
    let (pairs, page, image) = normalised(seen);
    // The direct linear transform with h₃₃ = 1, in the least-squares sense.
    let mut ata = vec![vec![0.0; 8]; 8];
    let mut atb = vec![0.0; 8];
    for (p, i) in &pairs {
        let rows = [
            ([p.x, p.y, 1.0, 0.0, 0.0, 0.0, -i.x * p.x, -i.x * p.y], i.x),
            ([0.0, 0.0, 0.0, p.x, p.y, 1.0, -i.y * p.x, -i.y * p.y], i.y),
        ];
        for (row, b) in rows {
            for r in 0..8 {
                for c in 0..8 {
                    ata[r][c] += row[r] * row[c];
                }
                atb[r] += row[r] * b;
            }
        }
    }
    let x = solve(ata, atb)?;
    let h = [x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], 1.0];
    let h = denormalise(h, page, image);
    h.iter().all(|v| v.is_finite()).then_some(PageToImage { h })
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None` when
/// `a` is singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            for (value, above) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *value -= factor * above;
            }
            b[col + 1 + offset] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let rest: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    Some(x)
}

/// `first` followed by `second`, as PDF matrices.
pub fn then(first: [f64; 6], second: [f64; 6]) -> [f64; 6] {
    let [a1, b1, c1, d1, e1, f1] = first;
    let [a2, b2, c2, d2, e2, f2] = second;
    [
        a2 * a1 + c2 * b1,
        b2 * a1 + d2 * b1,
        a2 * c1 + c2 * d1,
        b2 * c1 + d2 * d1,
        a2 * e1 + c2 * f1 + e2,
        b2 * e1 + d2 * f1 + f2,
    ]
}

/// The inverse of an invertible PDF matrix.
pub fn invert(m: [f64; 6]) -> [f64; 6] {
    let [a, b, c, d, e, f] = m;
    let det = a * d - b * c;
    [
        d / det,
        -b / det,
        -c / det,
        a / det,
        (c * f - d * e) / det,
        (b * e - a * f) / det,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(left: f64, top: f64, side: f64, map: impl Fn(f64, f64) -> Px) -> Vec<Seen> {
        [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
            .into_iter()
            .map(|(u, v)| {
                let page = Px {
                    x: left + u * side,
                    y: top + v * side,
                };
                Seen {
                    page,
                    image: map(page.x, page.y),
                }
            })
            .collect()
    }

    #[test]
    fn one_square_fixes_an_affine_map() {
        // A page scanned at 2 px a point, turned a quarter clockwise.
        let turned = |x: f64, y: f64| Px {
            x: 1200.0 - 2.0 * y,
            y: 2.0 * x,
        };
        let map = PageToImage::fit(&square(500.0, 50.0, 42.5, turned)).unwrap();
        assert!(!map.is_projective());
        for (x, y) in [(0.0, 0.0), (595.0, 842.0), (100.0, 700.0)] {
            let (p, want) = (map.map(x, y), turned(x, y));
            assert!((p.x - want.x).abs() < 1e-6 && (p.y - want.y).abs() < 1e-6);
        }
        assert!((map.scale() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn two_squares_far_apart_fix_a_perspective() {
        // A photo: the page's top edge further from the camera than its bottom.
        let photo = |x: f64, y: f64| {
            let w = 1.0 + 0.0006 * (842.0 - y) + 0.0001 * x;
            Px {
                x: (300.0 + 3.1 * x + 0.2 * y) / w,
                y: (150.0 - 0.1 * x + 3.0 * y) / w,
            }
        };
        let mut seen = square(511.0, 45.0, 42.5, photo);
        seen.extend(square(17.0, 789.0, 35.4, photo));
        let map = PageToImage::fit(&seen).unwrap();
        assert!(map.is_projective());
        for (x, y) in [(0.0, 0.0), (595.0, 842.0), (100.0, 700.0), (595.0, 0.0)] {
            let (p, want) = (map.map(x, y), photo(x, y));
            assert!((p.x - want.x).hypot(p.y - want.y) < 1e-6, "{p:?} {want:?}");
        }
    }

    #[test]
    fn a_flat_scan_keeps_the_affine_map_despite_noisy_corners() {
        let scan = |x: f64, y: f64| Px {
            x: 20.0 + 4.16 * x - 0.05 * y,
            y: 10.0 + 0.05 * x + 4.16 * y,
        };
        // Corners placed a third of a pixel off, as a decoder places them.
        let jitter = [0.3, -0.3, 0.2, -0.1, 0.33, 0.0, -0.25, 0.15];
        let mut seen = square(511.0, 45.0, 42.5, scan);
        seen.extend(square(17.0, 789.0, 35.4, scan));
        for (s, j) in seen.iter_mut().zip(jitter) {
            s.image.x += j;
            s.image.y -= j;
        }
        let map = PageToImage::fit(&seen).unwrap();
        assert!(!map.is_projective());
        // Within half a millimetre (5.9 px at 4.16 px a point) even at the page's
        // far corners, which lie off the marks' diagonal and so are fixed only by
        // each code's own 15 mm: the worst place, not where boxes are.
        for (x, y) in [(0.0, 0.0), (595.0, 842.0), (300.0, 600.0), (595.0, 0.0)] {
            let (p, want) = (map.map(x, y), scan(x, y));
            assert!((p.x - want.x).hypot(p.y - want.y) < 5.9, "{p:?} {want:?}");
        }
    }
}
