//! A rectangle in map coordinates (`xmin, ymin, xmax, ymax`) with the spatial reference it is
//! in: a replica's work area, a map's bounds, the extent drawn in the area picker. Plain data, no
//! I/O; the exact conversions between spatial references live in `protocol::spatial::sr`.

use serde::{Deserialize, Serialize};

/// An axis-aligned rectangle in map units. `wkid` is the spatial reference (None: unknown).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Extent {
    pub xmin: f64,
    pub ymin: f64,
    pub xmax: f64,
    pub ymax: f64,
    pub wkid: Option<i64>,
}

impl Extent {
    /// The rectangle spanned by two corners in any order.
    pub fn from_corners(a: [f64; 2], b: [f64; 2], wkid: Option<i64>) -> Extent {
        Extent {
            xmin: a[0].min(b[0]),
            ymin: a[1].min(b[1]),
            xmax: a[0].max(b[0]),
            ymax: a[1].max(b[1]),
            wkid,
        }
    }

    /// True when every bound is finite and the rectangle has a positive width and height.
    pub fn is_valid(&self) -> bool {
        [self.xmin, self.ymin, self.xmax, self.ymax]
            .iter()
            .all(|v| v.is_finite())
            && self.xmax > self.xmin
            && self.ymax > self.ymin
    }

    pub fn width(&self) -> f64 {
        self.xmax - self.xmin
    }

    pub fn height(&self) -> f64 {
        self.ymax - self.ymin
    }

    pub fn center(&self) -> [f64; 2] {
        [(self.xmin + self.xmax) / 2.0, (self.ymin + self.ymax) / 2.0]
    }

    /// The smallest extent holding both (the spatial reference of `self` is kept).
    pub fn union(&self, other: &Extent) -> Extent {
        Extent {
            xmin: self.xmin.min(other.xmin),
            ymin: self.ymin.min(other.ymin),
            xmax: self.xmax.max(other.xmax),
            ymax: self.ymax.max(other.ymax),
            wkid: self.wkid,
        }
    }

    /// True when the two rectangles share at least a boundary point.
    pub fn intersects(&self, other: &Extent) -> bool {
        self.xmin <= other.xmax
            && other.xmin <= self.xmax
            && self.ymin <= other.ymax
            && other.ymin <= self.ymax
    }

    /// The extent grown by `by` map units on every side.
    pub fn grown(&self, by: f64) -> Extent {
        Extent {
            xmin: self.xmin - by,
            ymin: self.ymin - by,
            xmax: self.xmax + by,
            ymax: self.ymax + by,
            wkid: self.wkid,
        }
    }

    /// The bounds of a set of points; None when there are none (or none finite).
    pub fn of_points(
        points: impl IntoIterator<Item = [f64; 2]>,
        wkid: Option<i64>,
    ) -> Option<Extent> {
        let mut out: Option<Extent> = None;
        for p in points {
            if !(p[0].is_finite() && p[1].is_finite()) {
                continue;
            }
            let e = Extent::from_corners(p, p, wkid);
            out = Some(out.map_or(e, |o| o.union(&e)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_in_any_order_make_the_same_extent() {
        let a = Extent::from_corners([5.0, 1.0], [2.0, 4.0], Some(3857));
        assert_eq!((a.xmin, a.ymin, a.xmax, a.ymax), (2.0, 1.0, 5.0, 4.0));
        assert!(a.is_valid());
        assert!(!Extent::from_corners([1.0, 1.0], [1.0, 3.0], None).is_valid());
    }

    #[test]
    fn union_and_intersection() {
        let a = Extent::from_corners([0.0, 0.0], [1.0, 1.0], None);
        let b = Extent::from_corners([2.0, 2.0], [3.0, 3.0], None);
        assert!(!a.intersects(&b));
        let u = a.union(&b);
        assert_eq!((u.xmin, u.ymax), (0.0, 3.0));
        assert!(u.intersects(&a));
        let p = Extent::of_points([[1.0, 2.0], [f64::NAN, 0.0], [-1.0, 5.0]], None).unwrap();
        assert_eq!((p.xmin, p.ymin, p.xmax, p.ymax), (-1.0, 2.0, 1.0, 5.0));
    }
}
