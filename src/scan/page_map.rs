//! Where a form's page lies in an image: the affine map from page points to image
//! pixels that a QR code's corners fix (scale, rotation, skew and offset of a
//! scan), and the matrix arithmetic that composes such maps. Paper returns and
//! digital returns both measure boxes through it.

/// A point in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Px {
    pub x: f64,
    pub y: f64,
}

/// An affine map from page coordinates (points, from the top-left corner, y down)
/// to image pixels, fixed by where the code's corners are on the page and in the
/// image. It carries the scan's scale, rotation, skew and offset.
#[derive(Debug, Clone, Copy)]
pub struct PageToImage {
    origin: Px,
    /// Image displacement per point along the page's x and y axes.
    along_x: Px,
    along_y: Px,
}

impl PageToImage {
    /// `corners` are where a decoded code's corners are in the image (top-left,
    /// top-right, bottom-right, bottom-left, as [`super::qr::Found`] has them);
    /// `symbol` is the code's square on the page: left, top and side in points.
    pub fn from_code(corners: [Px; 4], symbol: (f64, f64, f64)) -> Self {
        let (left, top, side) = symbol;
        // rqrr reports the corners of module coordinates 0 and size + 1 (its
        // `detect_grids` maps (0, 0) and (n + 1, n + 1)), so the reported square is
        // one module wider than the symbol, from the same top-left corner.
        let modules = crate::form::stamp::QR_MODULES as f64;
        let side = side * (modules + 1.0) / modules;
        let [tl, tr, _, bl] = corners;
        let along_x = Px {
            x: (tr.x - tl.x) / side,
            y: (tr.y - tl.y) / side,
        };
        let along_y = Px {
            x: (bl.x - tl.x) / side,
            y: (bl.y - tl.y) / side,
        };
        let origin = Px {
            x: tl.x - left * along_x.x - top * along_y.x,
            y: tl.y - left * along_x.y - top * along_y.y,
        };
        Self {
            origin,
            along_x,
            along_y,
        }
    }

    /// The map of a page rendered upright at `pixels_per_point` (a PDF page read
    /// digitally rather than scanned).
    pub fn scaled(pixels_per_point: f64) -> Self {
        Self {
            origin: Px { x: 0.0, y: 0.0 },
            along_x: Px {
                x: pixels_per_point,
                y: 0.0,
            },
            along_y: Px {
                x: 0.0,
                y: pixels_per_point,
            },
        }
    }

    pub fn map(&self, x: f64, y: f64) -> Px {
        Px {
            x: self.origin.x + x * self.along_x.x + y * self.along_y.x,
            y: self.origin.y + x * self.along_x.y + y * self.along_y.y,
        }
    }

    /// The map as a PDF matrix `[a b c d e f]` (x' = a x + c y + e, y' = b x + d y + f).
    pub fn matrix(&self) -> [f64; 6] {
        [
            self.along_x.x,
            self.along_x.y,
            self.along_y.x,
            self.along_y.y,
            self.origin.x,
            self.origin.y,
        ]
    }

    /// Pixels per point along the page's x axis.
    pub fn scale(&self) -> f64 {
        self.along_x.x.hypot(self.along_x.y)
    }
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

    #[test]
    fn page_to_image_maps_the_code_square_onto_its_corners() {
        // A page scanned at 2 px a point, turned a quarter clockwise.
        let corners = [
            Px { x: 100.0, y: 500.0 },
            Px { x: 100.0, y: 580.0 },
            Px { x: 20.0, y: 580.0 },
            Px { x: 20.0, y: 500.0 },
        ];
        // rqrr's square is 26 modules of a 25-module symbol.
        let side = 40.0 * 25.0 / 26.0;
        let map = PageToImage::from_code(corners, (500.0, 50.0, side));
        let p = map.map(500.0, 50.0);
        assert!((p.x - 100.0).abs() < 1e-9 && (p.y - 500.0).abs() < 1e-9);
        let p = map.map(540.0, 90.0);
        assert!((p.x - 20.0).abs() < 1e-9 && (p.y - 580.0).abs() < 1e-9);
        assert!((map.scale() - 2.0).abs() < 1e-9);
    }
}
