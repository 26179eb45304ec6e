//! The map's camera: which map point sits at the centre of the widget and how many screen points
//! one map unit takes; the transform between map coordinates (y up) and screen positions (y
//! down); panning, zooming about a point and fitting bounds. Plain state, no painting, no I/O.

use crate::model::Extent;
use egui::{Pos2, Rect, Vec2, pos2};

/// The smallest and largest scale (screen points per map unit) a view accepts.
const MIN_SCALE: f64 = 1e-9;
const MAX_SCALE: f64 = 1e9;

/// A map camera. `scale` is screen points per map unit; `None` centre means "not placed yet":
/// the widget fits the layers' bounds on its first frame.
#[derive(Debug, Clone, PartialEq)]
pub struct MapView {
    center: Option<[f64; 2]>,
    scale: f64,
    /// Bounds to fit on the next frame (the widget knows its size only then).
    pending_fit: Option<Extent>,
}

impl Default for MapView {
    fn default() -> Self {
        MapView {
            center: None,
            scale: 1.0,
            pending_fit: None,
        }
    }
}

impl MapView {
    /// A view centred on `center` at `scale` screen points per map unit.
    pub fn new(center: [f64; 2], scale: f64) -> MapView {
        MapView {
            center: Some(center),
            scale: scale.clamp(MIN_SCALE, MAX_SCALE),
            pending_fit: None,
        }
    }

    pub fn center(&self) -> Option<[f64; 2]> {
        self.center
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// True until the view has been placed (by `new`, a fit or a pan).
    pub fn is_placed(&self) -> bool {
        self.center.is_some()
    }

    /// Fits `bounds` the next time the widget is drawn.
    pub fn request_fit(&mut self, bounds: Extent) {
        self.pending_fit = Some(bounds);
    }

    pub(super) fn take_pending_fit(&mut self) -> Option<Extent> {
        self.pending_fit.take()
    }

    /// Centres `bounds` in a widget of `size` with `margin` points on every side. A degenerate
    /// extent (one point) keeps the current scale, or one point per unit when unplaced.
    pub fn fit(&mut self, bounds: &Extent, size: Vec2, margin: f32) {
        let usable_w = f64::from((size.x - 2.0 * margin).max(1.0));
        let usable_h = f64::from((size.y - 2.0 * margin).max(1.0));
        let center = bounds.center();
        if !(center[0].is_finite() && center[1].is_finite()) {
            return;
        }
        let sx = if bounds.width() > 0.0 {
            usable_w / bounds.width()
        } else {
            f64::INFINITY
        };
        let sy = if bounds.height() > 0.0 {
            usable_h / bounds.height()
        } else {
            f64::INFINITY
        };
        let scale = sx.min(sy);
        if scale.is_finite() {
            self.scale = scale.clamp(MIN_SCALE, MAX_SCALE);
        } else if self.center.is_none() {
            self.scale = 1.0;
        }
        self.center = Some(center);
    }

    /// The screen position of map point `p` in a widget occupying `rect`.
    pub fn to_screen(&self, rect: Rect, p: [f64; 2]) -> Pos2 {
        let c = self.center.unwrap_or([0.0, 0.0]);
        let mid = rect.center();
        pos2(
            mid.x + ((p[0] - c[0]) * self.scale) as f32,
            mid.y - ((p[1] - c[1]) * self.scale) as f32,
        )
    }

    /// The map point under screen position `pos` in a widget occupying `rect`.
    pub fn to_map(&self, rect: Rect, pos: Pos2) -> [f64; 2] {
        let c = self.center.unwrap_or([0.0, 0.0]);
        let mid = rect.center();
        [
            c[0] + f64::from(pos.x - mid.x) / self.scale,
            c[1] - f64::from(pos.y - mid.y) / self.scale,
        ]
    }

    /// The map extent a widget occupying `rect` shows.
    pub fn visible_extent(&self, rect: Rect, wkid: Option<i64>) -> Extent {
        Extent::from_corners(
            self.to_map(rect, rect.left_bottom()),
            self.to_map(rect, rect.right_top()),
            wkid,
        )
    }

    /// Moves the map with the pointer: a drag of `delta` screen points.
    pub fn pan_by(&mut self, delta: Vec2) {
        let c = self.center.unwrap_or([0.0, 0.0]);
        self.center = Some([
            c[0] - f64::from(delta.x) / self.scale,
            c[1] + f64::from(delta.y) / self.scale,
        ]);
    }

    /// Zooms by `factor` (> 1 zooms in) keeping the map point under `anchor` where it is.
    pub fn zoom_about(&mut self, rect: Rect, anchor: Pos2, factor: f64) {
        if !(factor.is_finite() && factor > 0.0) {
            return;
        }
        let before = self.to_map(rect, anchor);
        self.scale = (self.scale * factor).clamp(MIN_SCALE, MAX_SCALE);
        let after = self.to_map(rect, anchor);
        let c = self.center.unwrap_or([0.0, 0.0]);
        self.center = Some([c[0] + before[0] - after[0], c[1] + before[1] - after[1]]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect() -> Rect {
        Rect::from_min_size(pos2(10.0, 20.0), egui::vec2(200.0, 100.0))
    }

    #[test]
    fn map_and_screen_round_trip_with_y_up() {
        let view = MapView::new([1000.0, 500.0], 2.0);
        let r = rect();
        assert_eq!(view.to_screen(r, [1000.0, 500.0]), r.center());
        // one map unit north is two points up the screen
        let north = view.to_screen(r, [1000.0, 501.0]);
        assert_eq!(north, r.center() - egui::vec2(0.0, 2.0));
        let p = view.to_map(r, pos2(33.0, 44.0));
        let back = view.to_screen(r, p);
        assert!((back - pos2(33.0, 44.0)).length() < 1e-3);
    }

    #[test]
    fn fit_shows_the_whole_extent_centred() {
        let mut view = MapView::default();
        let bounds = Extent::from_corners([0.0, 0.0], [100.0, 10.0], None);
        view.fit(&bounds, egui::vec2(200.0, 100.0), 0.0);
        assert_eq!(view.center(), Some([50.0, 5.0]));
        assert!((view.scale() - 2.0).abs() < 1e-12); // the width decides
        let visible = view.visible_extent(rect(), None);
        assert!(visible.xmin <= 0.0 + 1e-9 && visible.xmax >= 100.0 - 1e-9);
        assert!(visible.ymin <= 0.0 && visible.ymax >= 10.0);
    }

    #[test]
    fn fitting_one_point_centres_it() {
        let mut view = MapView::default();
        view.fit(
            &Extent::from_corners([7.0, 8.0], [7.0, 8.0], None),
            egui::vec2(100.0, 100.0),
            10.0,
        );
        assert_eq!(view.center(), Some([7.0, 8.0]));
        assert_eq!(view.scale(), 1.0);
    }

    #[test]
    fn zoom_keeps_the_anchor_still_and_pan_follows_the_pointer() {
        let mut view = MapView::new([0.0, 0.0], 1.0);
        let r = rect();
        let anchor = pos2(50.0, 30.0);
        let under = view.to_map(r, anchor);
        view.zoom_about(r, anchor, 4.0);
        assert_eq!(view.scale(), 4.0);
        let still = view.to_map(r, anchor);
        assert!((still[0] - under[0]).abs() < 1e-9 && (still[1] - under[1]).abs() < 1e-9);

        let before = view.to_screen(r, [3.0, 3.0]);
        view.pan_by(egui::vec2(12.0, -8.0));
        let after = view.to_screen(r, [3.0, 3.0]);
        assert!((after - before - egui::vec2(12.0, -8.0)).length() < 1e-3);
    }
}
