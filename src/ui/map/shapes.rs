//! What the map draws, in map coordinates: a point, a multipoint, a polyline's paths, a
//! polygon's rings (each outer ring with its holes). Built from `protocol::spatial` shapes, i.e.
//! from ArcGIS geometry JSON, once when the data arrives, never per frame. No painting here.

use crate::model::Extent;
use crate::protocol::spatial::Shape;
use geo::{Geometry, LineString, Polygon};
use serde_json::Value;

/// One polygon part: its outer ring and its holes, each a closed list of vertices.
#[derive(Debug, Clone, PartialEq)]
pub struct PolygonPart {
    pub exterior: Vec<[f64; 2]>,
    pub holes: Vec<Vec<[f64; 2]>>,
}

/// A geometry the map can draw.
#[derive(Debug, Clone, PartialEq)]
pub enum MapShape {
    Point([f64; 2]),
    MultiPoint(Vec<[f64; 2]>),
    /// Paths of a polyline.
    Polyline(Vec<Vec<[f64; 2]>>),
    /// Parts of a polygon.
    Polygon(Vec<PolygonPart>),
}

fn line(l: &LineString<f64>) -> Vec<[f64; 2]> {
    l.0.iter()
        .filter(|c| c.x.is_finite() && c.y.is_finite())
        .map(|c| [c.x, c.y])
        .collect()
}

fn part(p: &Polygon<f64>) -> PolygonPart {
    PolygonPart {
        exterior: line(p.exterior()),
        holes: p.interiors().iter().map(line).collect(),
    }
}

impl MapShape {
    /// A feature's geometry JSON (`geometry_type` as the layer names it, or inferred from the
    /// JSON's keys); None when it is empty or not understood.
    pub fn from_json(geometry_type: Option<&str>, geometry: &Value) -> Option<MapShape> {
        MapShape::from_shape(&Shape::from_feature(geometry_type, geometry)?)
    }

    /// A `protocol::spatial` shape; None when it has no drawable vertex.
    pub fn from_shape(shape: &Shape) -> Option<MapShape> {
        let finite = |x: f64, y: f64| x.is_finite() && y.is_finite();
        let out = match &shape.0 {
            Geometry::Point(p) if finite(p.x(), p.y()) => MapShape::Point([p.x(), p.y()]),
            Geometry::Point(_) => return None,
            Geometry::MultiPoint(mp) => MapShape::MultiPoint(
                mp.0.iter()
                    .filter(|p| finite(p.x(), p.y()))
                    .map(|p| [p.x(), p.y()])
                    .collect(),
            ),
            Geometry::Line(l) => {
                MapShape::Polyline(vec![vec![[l.start.x, l.start.y], [l.end.x, l.end.y]]])
            }
            Geometry::LineString(l) => MapShape::Polyline(vec![line(l)]),
            Geometry::MultiLineString(ml) => MapShape::Polyline(ml.0.iter().map(line).collect()),
            Geometry::Polygon(p) => MapShape::Polygon(vec![part(p)]),
            Geometry::MultiPolygon(mp) => MapShape::Polygon(mp.0.iter().map(part).collect()),
            Geometry::Rect(r) => MapShape::Polygon(vec![part(&r.to_polygon())]),
            Geometry::Triangle(t) => MapShape::Polygon(vec![part(&t.to_polygon())]),
            Geometry::GeometryCollection(_) => return None,
        };
        (out.vertex_count() > 0).then_some(out)
    }

    /// An extent's outline as a polygon.
    pub fn from_extent(e: &Extent) -> MapShape {
        MapShape::Polygon(vec![PolygonPart {
            exterior: vec![
                [e.xmin, e.ymin],
                [e.xmin, e.ymax],
                [e.xmax, e.ymax],
                [e.xmax, e.ymin],
                [e.xmin, e.ymin],
            ],
            holes: vec![],
        }])
    }

    /// Every vertex, in order.
    pub fn vertices(&self) -> Box<dyn Iterator<Item = [f64; 2]> + '_> {
        match self {
            MapShape::Point(p) => Box::new(std::iter::once(*p)),
            MapShape::MultiPoint(ps) => Box::new(ps.iter().copied()),
            MapShape::Polyline(paths) => Box::new(paths.iter().flatten().copied()),
            MapShape::Polygon(parts) => Box::new(
                parts
                    .iter()
                    .flat_map(|p| std::iter::once(&p.exterior).chain(p.holes.iter()))
                    .flatten()
                    .copied(),
            ),
        }
    }

    pub fn vertex_count(&self) -> usize {
        match self {
            MapShape::Point(_) => 1,
            MapShape::MultiPoint(ps) => ps.len(),
            MapShape::Polyline(paths) => paths.iter().map(Vec::len).sum(),
            MapShape::Polygon(parts) => parts
                .iter()
                .map(|p| p.exterior.len() + p.holes.iter().map(Vec::len).sum::<usize>())
                .sum(),
        }
    }

    /// The bounding extent (no spatial reference); None when there is no vertex.
    pub fn bounds(&self) -> Option<Extent> {
        Extent::of_points(self.vertices(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn geometry_json_becomes_map_shapes() {
        let point = MapShape::from_json(Some("esriGeometryPoint"), &json!({"x": 1.0, "y": 2.0}));
        assert_eq!(point, Some(MapShape::Point([1.0, 2.0])));
        let line =
            MapShape::from_json(None, &json!({"paths": [[[0, 0], [1, 1], [2, 0]]]})).unwrap();
        assert_eq!(line.vertex_count(), 3);
        let polygon = MapShape::from_json(
            Some("esriGeometryPolygon"),
            &json!({"rings": [
                [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]],
                [[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]]
            ]}),
        )
        .unwrap();
        let MapShape::Polygon(parts) = &polygon else {
            panic!("not a polygon: {polygon:?}")
        };
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].holes.len(), 1);
        let b = polygon.bounds().unwrap();
        assert_eq!((b.xmin, b.ymin, b.xmax, b.ymax), (0.0, 0.0, 10.0, 10.0));
    }

    #[test]
    fn empty_or_unknown_geometry_is_none() {
        assert_eq!(MapShape::from_json(None, &json!({})), None);
        assert_eq!(MapShape::from_json(None, &json!({"paths": []})), None);
        assert_eq!(MapShape::from_json(None, &json!("junk")), None);
    }
}
