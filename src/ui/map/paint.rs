//! Painting layers with egui's `Painter`: polygons filled by ear-cut triangulation (holes cut
//! out) and outlined, polylines, points as circles. Shapes outside the visible extent are
//! skipped, and at most a capped number of vertices is drawn per frame, so a big layer cannot
//! stall the UI thread. Reads the view; changes nothing.

use super::layer::MapLayer;
use super::shapes::{MapShape, PolygonPart};
use super::view::MapView;
use egui::epaint::{Mesh, PathStroke, Vertex, WHITE_UV};
use egui::{Color32, Painter, Pos2, Rect, Shape, Stroke};

/// The most vertices one frame draws over all layers.
pub const MAX_DRAWN_VERTICES: usize = 200_000;

/// What a paint pass drew.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaintStats {
    pub shapes_drawn: usize,
    pub vertices_drawn: usize,
    /// Shapes left out because the vertex cap was reached.
    pub shapes_capped: usize,
}

/// Paints `layers` (first at the bottom) into `rect` as `view` sees them.
pub fn paint_layers(
    painter: &Painter,
    view: &MapView,
    rect: Rect,
    layers: &[MapLayer],
    max_vertices: usize,
) -> PaintStats {
    let mut stats = PaintStats::default();
    // a little slack so a point's circle or a wide line at the edge is still drawn
    let slack = 16.0 / view.scale();
    let visible = view.visible_extent(rect, None).grown(slack);
    for layer in layers {
        if layer.bounds().is_none_or(|b| !b.intersects(&visible)) {
            continue;
        }
        for shape in layer.shapes() {
            if shape.bounds().is_none_or(|b| !b.intersects(&visible)) {
                continue;
            }
            let n = shape.vertex_count();
            if stats.vertices_drawn + n > max_vertices {
                stats.shapes_capped += 1;
                continue;
            }
            stats.vertices_drawn += n;
            stats.shapes_drawn += 1;
            paint_shape(painter, view, rect, layer, shape);
        }
    }
    stats
}

fn paint_shape(painter: &Painter, view: &MapView, rect: Rect, layer: &MapLayer, shape: &MapShape) {
    let style = layer.style;
    let screen = |p: &[f64; 2]| view.to_screen(rect, *p);
    let stroke = Stroke::new(style.line_width, style.stroke);
    match shape {
        MapShape::Point(p) => point(painter, screen(p), style.point_radius, style.stroke),
        MapShape::MultiPoint(ps) => {
            for p in ps {
                point(painter, screen(p), style.point_radius, style.stroke);
            }
        }
        MapShape::Polyline(paths) => {
            for path in paths {
                let pts: Vec<Pos2> = path.iter().map(screen).collect();
                if pts.len() >= 2 {
                    painter.add(Shape::line(pts, PathStroke::from(stroke)));
                }
            }
        }
        MapShape::Polygon(parts) => {
            for part in parts {
                if let Some(fill) = style.fill
                    && let Some(mesh) = fill_mesh(part, &screen, fill)
                {
                    painter.add(Shape::mesh(mesh));
                }
                for ring in std::iter::once(&part.exterior).chain(part.holes.iter()) {
                    let pts: Vec<Pos2> = ring.iter().map(screen).collect();
                    if pts.len() >= 2 {
                        painter.add(Shape::closed_line(pts, PathStroke::from(stroke)));
                    }
                }
            }
        }
    }
}

fn point(painter: &Painter, at: Pos2, radius: f32, colour: Color32) {
    painter.circle(at, radius, colour, Stroke::new(1.0, Color32::WHITE));
}

/// The triangles of one polygon part in screen space; None when it has no area or cannot be
/// triangulated.
fn fill_mesh(
    part: &PolygonPart,
    screen: &dyn Fn(&[f64; 2]) -> Pos2,
    fill: Color32,
) -> Option<Mesh> {
    let mut coords: Vec<f64> = Vec::new();
    let mut hole_starts: Vec<usize> = Vec::new();
    let mut positions: Vec<Pos2> = Vec::new();
    for (i, ring) in std::iter::once(&part.exterior)
        .chain(part.holes.iter())
        .enumerate()
    {
        // a closing vertex equal to the first is dropped: earcut wants open rings
        let open = match ring.as_slice() {
            [first, .., last] if first == last => &ring[..ring.len() - 1],
            all => all,
        };
        if open.len() < 3 {
            if i == 0 {
                return None;
            }
            continue;
        }
        if i > 0 {
            hole_starts.push(positions.len());
        }
        for p in open {
            let s = screen(p);
            coords.extend([f64::from(s.x), f64::from(s.y)]);
            positions.push(s);
        }
    }
    let triangles = earcutr::earcut(&coords, &hole_starts, 2).ok()?;
    if triangles.is_empty() {
        return None;
    }
    let vertices = positions
        .into_iter()
        .map(|pos| Vertex {
            pos,
            uv: WHITE_UV,
            color: fill,
        })
        .collect();
    let indices = triangles
        .into_iter()
        .filter_map(|i| u32::try_from(i).ok())
        .collect();
    let mesh = Mesh {
        vertices,
        indices,
        ..Mesh::default()
    };
    Some(mesh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::map::LayerStyle;
    use egui::{pos2, vec2};

    /// Paints `layers` in a 200×100 widget at the origin with 1 point per unit centred on (0, 0).
    fn paint(layers: &[MapLayer], max_vertices: usize) -> PaintStats {
        let ctx = egui::Context::default();
        let mut stats = PaintStats::default();
        let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
            let rect = Rect::from_min_size(pos2(0.0, 0.0), vec2(200.0, 100.0));
            let view = MapView::new([0.0, 0.0], 1.0);
            stats = paint_layers(ui.painter(), &view, rect, layers, max_vertices);
        });
        // no renderer takes the font texture: unapplied texture deltas panic when dropped
        out.textures_delta.clear();
        stats
    }

    fn square(x: f64, y: f64) -> MapShape {
        MapShape::Polygon(vec![PolygonPart {
            exterior: vec![
                [x, y],
                [x, y + 10.0],
                [x + 10.0, y + 10.0],
                [x + 10.0, y],
                [x, y],
            ],
            holes: vec![],
        }])
    }

    #[test]
    fn shapes_outside_the_view_are_culled() {
        let layer = MapLayer::new(
            "squares",
            LayerStyle::solid(Color32::RED, 1.0, 3.0),
            vec![square(0.0, 0.0), square(5000.0, 0.0), square(-40.0, 20.0)],
        );
        let stats = paint(&[layer], MAX_DRAWN_VERTICES);
        assert_eq!(stats.shapes_drawn, 2, "the far square is not drawn");
        assert_eq!(stats.vertices_drawn, 10);
        assert_eq!(stats.shapes_capped, 0);
    }

    #[test]
    fn the_vertex_cap_leaves_shapes_out_and_says_so() {
        let points: Vec<MapShape> = (0..50).map(|i| MapShape::Point([i as f64, 0.0])).collect();
        let layer = MapLayer::new("points", LayerStyle::solid(Color32::RED, 1.0, 3.0), points);
        let stats = paint(&[layer], 20);
        assert_eq!((stats.shapes_drawn, stats.shapes_capped), (20, 30));
    }

    #[test]
    fn a_polygon_with_a_hole_triangulates_around_it() {
        let part = PolygonPart {
            exterior: vec![
                [0.0, 0.0],
                [0.0, 10.0],
                [10.0, 10.0],
                [10.0, 0.0],
                [0.0, 0.0],
            ],
            holes: vec![vec![
                [3.0, 3.0],
                [7.0, 3.0],
                [7.0, 7.0],
                [3.0, 7.0],
                [3.0, 3.0],
            ]],
        };
        let mesh = fill_mesh(&part, &|p| pos2(p[0] as f32, p[1] as f32), Color32::RED).unwrap();
        // 8 vertices, 8 triangles around the hole; their area is the square's minus the hole's
        assert_eq!(mesh.vertices.len(), 8);
        let area: f32 = mesh
            .indices
            .chunks_exact(3)
            .map(|t| {
                let [a, b, c] = [t[0], t[1], t[2]].map(|i| mesh.vertices[i as usize].pos);
                ((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)).abs() / 2.0
            })
            .sum();
        assert!((area - 84.0).abs() < 1e-3, "area {area}");
    }
}
