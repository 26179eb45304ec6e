//! The rectangle tool: drag on the map to draw an extent, drag a corner handle to move that
//! corner, drag inside to move the whole rectangle. It keeps the extent in map coordinates and
//! paints it with its handles; the pointer logic is plain methods on screen positions so it is
//! testable without a window. It never pans or zooms the view.

use super::view::MapView;
use crate::model::Extent;
use egui::{Color32, Painter, Pos2, Rect, Stroke, StrokeKind, vec2};

/// How near (screen points) a press must be to a corner to grab it.
pub const HANDLE_GRAB_RADIUS: f32 = 9.0;
/// A drawn rectangle smaller than this (screen points, either side) is ignored as a click.
const MIN_DRAWN_SIDE: f32 = 3.0;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Drag {
    /// Drawing a new rectangle from this map corner.
    New { start: [f64; 2] },
    /// Moving one corner; the opposite one stays.
    Corner { fixed: [f64; 2] },
    /// Moving the whole rectangle; the press was at `grab` with the extent at `from`.
    Move { grab: [f64; 2], from: Extent },
}

/// The extent being drawn or adjusted.
#[derive(Debug, Clone, PartialEq)]
pub struct RectangleTool {
    extent: Option<Extent>,
    drag: Option<Drag>,
    /// When false a drag on empty map pans instead of drawing (handles still work).
    pub draw_enabled: bool,
    wkid: Option<i64>,
}

impl RectangleTool {
    /// A tool with no extent yet, drawing in spatial reference `wkid`.
    pub fn new(wkid: Option<i64>) -> RectangleTool {
        RectangleTool {
            extent: None,
            drag: None,
            draw_enabled: true,
            wkid,
        }
    }

    pub fn extent(&self) -> Option<Extent> {
        self.extent
    }

    /// Replaces the extent (typed coordinates); an invalid one clears it.
    pub fn set_extent(&mut self, extent: Option<Extent>) {
        self.extent = extent.filter(Extent::is_valid).map(|e| Extent {
            wkid: self.wkid.or(e.wkid),
            ..e
        });
        self.drag = None;
    }

    pub fn is_dragging(&self) -> bool {
        self.drag.is_some()
    }

    fn corners(e: &Extent) -> [[f64; 2]; 4] {
        [
            [e.xmin, e.ymin],
            [e.xmin, e.ymax],
            [e.xmax, e.ymax],
            [e.xmax, e.ymin],
        ]
    }

    /// A press at screen `pos`: grabs a corner, the inside, or starts a new rectangle. Returns
    /// true when the tool took the press (the widget must then not pan).
    pub fn press(&mut self, view: &MapView, rect: Rect, pos: Pos2) -> bool {
        let at = view.to_map(rect, pos);
        if let Some(e) = self.extent {
            let corners = Self::corners(&e);
            let nearest = corners
                .iter()
                .enumerate()
                .map(|(i, c)| (i, view.to_screen(rect, *c).distance(pos)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, d)) = nearest
                && d <= HANDLE_GRAB_RADIUS
            {
                self.drag = Some(Drag::Corner {
                    fixed: corners[(i + 2) % 4],
                });
                return true;
            }
            let screen = Rect::from_two_pos(
                view.to_screen(rect, [e.xmin, e.ymin]),
                view.to_screen(rect, [e.xmax, e.ymax]),
            );
            if screen.contains(pos) && !self.draw_enabled {
                self.drag = Some(Drag::Move { grab: at, from: e });
                return true;
            }
        }
        if self.draw_enabled {
            self.drag = Some(Drag::New { start: at });
            return true;
        }
        false
    }

    /// The pointer moved to screen `pos` while pressed. Returns true when the extent changed.
    pub fn drag_to(&mut self, view: &MapView, rect: Rect, pos: Pos2) -> bool {
        let at = view.to_map(rect, pos);
        let next = match self.drag {
            None => return false,
            Some(Drag::New { start }) => {
                let a = view.to_screen(rect, start);
                if (a.x - pos.x).abs() < MIN_DRAWN_SIDE || (a.y - pos.y).abs() < MIN_DRAWN_SIDE {
                    return false;
                }
                Extent::from_corners(start, at, self.wkid)
            }
            Some(Drag::Corner { fixed }) => Extent::from_corners(fixed, at, self.wkid),
            Some(Drag::Move { grab, from }) => {
                let (dx, dy) = (at[0] - grab[0], at[1] - grab[1]);
                Extent {
                    xmin: from.xmin + dx,
                    ymin: from.ymin + dy,
                    xmax: from.xmax + dx,
                    ymax: from.ymax + dy,
                    wkid: self.wkid,
                }
            }
        };
        if !next.is_valid() || self.extent == Some(next) {
            return false;
        }
        self.extent = Some(next);
        true
    }

    /// The press ended.
    pub fn release(&mut self) {
        self.drag = None;
    }

    /// Paints the rectangle, lightly filled, with its four handles.
    pub fn paint(&self, painter: &Painter, view: &MapView, rect: Rect) {
        let Some(e) = self.extent else { return };
        let colour = Color32::from_rgb(0xE0, 0x7B, 0x00);
        let screen = Rect::from_two_pos(
            view.to_screen(rect, [e.xmin, e.ymin]),
            view.to_screen(rect, [e.xmax, e.ymax]),
        );
        painter.rect(
            screen,
            0.0,
            colour.gamma_multiply(0.12),
            Stroke::new(2.0, colour),
            StrokeKind::Middle,
        );
        for c in Self::corners(&e) {
            let at = view.to_screen(rect, c);
            painter.rect(
                Rect::from_center_size(at, vec2(8.0, 8.0)),
                1.0,
                Color32::WHITE,
                Stroke::new(1.5, colour),
                StrokeKind::Middle,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::pos2;

    fn setup() -> (MapView, Rect) {
        // 1 point per map unit, map (0,0) at the centre of a 200×200 widget at the origin
        (
            MapView::new([0.0, 0.0], 1.0),
            Rect::from_min_size(Pos2::ZERO, vec2(200.0, 200.0)),
        )
    }

    #[test]
    fn dragging_draws_an_extent_in_map_coordinates() {
        let (view, rect) = setup();
        let mut tool = RectangleTool::new(Some(3857));
        assert!(tool.press(&view, rect, pos2(110.0, 90.0)));
        assert!(tool.drag_to(&view, rect, pos2(150.0, 140.0)));
        tool.release();
        let e = tool.extent().unwrap();
        // screen y grows downwards, map y upwards
        assert_eq!((e.xmin, e.ymin, e.xmax, e.ymax), (10.0, -40.0, 50.0, 10.0));
        assert_eq!(e.wkid, Some(3857));
    }

    #[test]
    fn a_click_draws_nothing() {
        let (view, rect) = setup();
        let mut tool = RectangleTool::new(None);
        tool.press(&view, rect, pos2(50.0, 50.0));
        assert!(!tool.drag_to(&view, rect, pos2(51.0, 51.0)));
        tool.release();
        assert_eq!(tool.extent(), None);
    }

    #[test]
    fn a_corner_handle_moves_only_that_corner() {
        let (view, rect) = setup();
        let mut tool = RectangleTool::new(None);
        tool.set_extent(Some(Extent::from_corners(
            [-20.0, -20.0],
            [20.0, 20.0],
            None,
        )));
        // the top-right corner (20, 20) is at screen (120, 80); grab it a few points off
        assert!(tool.press(&view, rect, pos2(123.0, 78.0)));
        assert!(tool.drag_to(&view, rect, pos2(160.0, 50.0)));
        tool.release();
        let e = tool.extent().unwrap();
        assert_eq!((e.xmin, e.ymin, e.xmax, e.ymax), (-20.0, -20.0, 60.0, 50.0));
    }

    #[test]
    fn without_drawing_a_press_outside_is_left_to_the_map_and_inside_moves() {
        let (view, rect) = setup();
        let mut tool = RectangleTool::new(None);
        tool.draw_enabled = false;
        assert!(!tool.press(&view, rect, pos2(10.0, 10.0)));
        tool.set_extent(Some(Extent::from_corners(
            [-20.0, -20.0],
            [20.0, 20.0],
            None,
        )));
        assert!(tool.press(&view, rect, pos2(100.0, 100.0)));
        assert!(tool.drag_to(&view, rect, pos2(110.0, 100.0)));
        let e = tool.extent().unwrap();
        assert_eq!((e.xmin, e.xmax), (-10.0, 30.0));
    }

    #[test]
    fn an_inverted_typed_extent_is_refused() {
        let mut tool = RectangleTool::new(None);
        tool.set_extent(Some(Extent {
            xmin: 5.0,
            ymin: 0.0,
            xmax: 1.0,
            ymax: 3.0,
            wkid: None,
        }));
        assert_eq!(tool.extent(), None);
    }
}
