//! ArcGIS geometry JSON as `geo` shapes: a point, a multipoint, a polyline's paths, a polygon's
//! rings (clockwise outer rings with their counter-clockwise holes, as ArcGIS writes them) and an
//! envelope; and the filter geometry of a query or createReplica, which may also be the
//! shorthand `xmin,ymin,xmax,ymax` (an envelope) or `x,y` (a point). Curves must be densified
//! before. No I/O.

use super::SpatialError;
use super::sr::Sr;
use geo::orient::{Direction, Orient};
use geo::{Contains, Coord, Geometry, LineString, MultiPolygon, Polygon, Rect, Winding};
use serde_json::{Map, Value, json};

/// A geometry as the spatial predicates see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape(pub Geometry<f64>);

/// A filter geometry as read: its shape and the spatial reference its JSON named, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterGeometry {
    pub shape: Shape,
    pub sr: Option<Sr>,
}

impl Shape {
    /// A feature's stored geometry JSON; `None` when it is empty or not understood.
    pub fn from_feature(geometry_type: Option<&str>, geometry: &Value) -> Option<Shape> {
        let object = geometry.as_object()?;
        let kind = geometry_type.map_or_else(|| infer_type(object), Some)?;
        from_object(kind, object).ok()
    }

    /// The bounding rectangle; `None` for an empty shape.
    pub fn bbox(&self) -> Option<Rect<f64>> {
        geo::BoundingRect::bounding_rect(&self.0)
    }

    /// The shape as ArcGIS geometry JSON in `sr`, with its geometry type: an envelope, a point,
    /// a multipoint, a polyline or a polygon (outer rings clockwise, holes counter-clockwise).
    pub fn to_esri(&self, sr: Sr) -> (&'static str, Value) {
        let xy = |c: &Coord<f64>| json!([c.x, c.y]);
        let ring = |l: &LineString<f64>| Value::Array(l.0.iter().map(xy).collect());
        let (kind, mut value) = match &self.0 {
            Geometry::Rect(r) => (
                "esriGeometryEnvelope",
                json!({"xmin": r.min().x, "ymin": r.min().y, "xmax": r.max().x, "ymax": r.max().y}),
            ),
            Geometry::Point(p) => ("esriGeometryPoint", json!({"x": p.x(), "y": p.y()})),
            Geometry::MultiPoint(mp) => (
                "esriGeometryMultipoint",
                json!({"points": mp.0.iter().map(|p| xy(&p.0)).collect::<Vec<_>>()}),
            ),
            Geometry::MultiLineString(ml) => (
                "esriGeometryPolyline",
                json!({"paths": ml.0.iter().map(ring).collect::<Vec<_>>()}),
            ),
            other => {
                let polygons = match other {
                    Geometry::MultiPolygon(mp) => mp.clone(),
                    Geometry::Polygon(p) => MultiPolygon::new(vec![p.clone()]),
                    _ => MultiPolygon::new(vec![]),
                };
                let rings: Vec<Value> = polygons
                    .orient(Direction::Reversed)
                    .0
                    .iter()
                    .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                    .map(ring)
                    .collect();
                ("esriGeometryPolygon", json!({"rings": rings}))
            }
        };
        value["spatialReference"] = sr.to_json();
        (kind, value)
    }
}

/// A query's or createReplica's `geometry` text with its `geometryType` (inferred from the JSON's
/// keys when absent): geometry JSON, or the shorthand `xmin,ymin,xmax,ymax` / `x,y`.
pub fn parse_filter(
    text: &str,
    geometry_type: Option<&str>,
) -> Result<FilterGeometry, SpatialError> {
    let text = text.trim();
    if !text.starts_with('{') {
        return shorthand(text, geometry_type);
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| SpatialError::Malformed(format!("not JSON ({e})")))?;
    let object = value
        .as_object()
        .ok_or_else(|| SpatialError::Malformed("not a JSON object".into()))?;
    let kind = match geometry_type {
        Some(kind) => kind,
        None => infer_type(object).ok_or_else(|| {
            SpatialError::Malformed("no geometryType and no known geometry keys".into())
        })?,
    };
    let sr = object
        .get("spatialReference")
        .filter(|v| !v.is_null())
        .map(Sr::from_json)
        .transpose()?;
    Ok(FilterGeometry {
        shape: from_object(kind, object)?,
        sr,
    })
}

fn shorthand(text: &str, geometry_type: Option<&str>) -> Result<FilterGeometry, SpatialError> {
    let numbers = text
        .split(',')
        .map(|n| n.trim().parse::<f64>().ok().filter(|f| f.is_finite()))
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(|| {
            SpatialError::Malformed(format!("{:?} is neither JSON nor numbers", short(text)))
        })?;
    let shape = match (numbers.as_slice(), geometry_type) {
        (&[xmin, ymin, xmax, ymax], None | Some("esriGeometryEnvelope")) => {
            envelope(xmin, ymin, xmax, ymax)?
        }
        (&[x, y], None | Some("esriGeometryPoint")) => Shape(Geometry::Point((x, y).into())),
        _ => {
            return Err(SpatialError::Malformed(format!(
                "{:?}: give xmin,ymin,xmax,ymax for an envelope or x,y for a point",
                short(text)
            )));
        }
    };
    Ok(FilterGeometry { shape, sr: None })
}

fn short(text: &str) -> String {
    text.chars().take(60).collect()
}

/// The geometry type geometry JSON's keys name.
fn infer_type(object: &Map<String, Value>) -> Option<&'static str> {
    let has = |k: &str| object.contains_key(k);
    if has("xmin") {
        Some("esriGeometryEnvelope")
    } else if has("rings") || has("curveRings") {
        Some("esriGeometryPolygon")
    } else if has("paths") || has("curvePaths") {
        Some("esriGeometryPolyline")
    } else if has("points") {
        Some("esriGeometryMultipoint")
    } else if has("x") {
        Some("esriGeometryPoint")
    } else {
        None
    }
}

fn from_object(kind: &str, object: &Map<String, Value>) -> Result<Shape, SpatialError> {
    let malformed = |what: &str| SpatialError::Malformed(format!("{kind} needs {what}"));
    let geometry = match kind {
        "esriGeometryPoint" => {
            let x = number(object.get("x")).ok_or_else(|| malformed("numeric x and y"))?;
            let y = number(object.get("y")).ok_or_else(|| malformed("numeric x and y"))?;
            Geometry::Point((x, y).into())
        }
        "esriGeometryMultipoint" => {
            let points =
                coords(object.get("points")).ok_or_else(|| malformed("points [[x, y], …]"))?;
            Geometry::MultiPoint(points.into_iter().map(geo::Point::from).collect())
        }
        "esriGeometryPolyline" => {
            let paths = parts(object.get("paths"), 2)
                .ok_or_else(|| malformed("paths of two or more [x, y] vertices"))?;
            Geometry::MultiLineString(geo::MultiLineString::new(paths))
        }
        "esriGeometryPolygon" => {
            let rings = parts(object.get("rings"), 3)
                .ok_or_else(|| malformed("rings of three or more [x, y] vertices"))?;
            Geometry::MultiPolygon(assemble_rings(rings))
        }
        "esriGeometryEnvelope" => {
            let corner = |k: &str| {
                number(object.get(k)).ok_or_else(|| malformed("numeric xmin, ymin, xmax and ymax"))
            };
            return envelope(
                corner("xmin")?,
                corner("ymin")?,
                corner("xmax")?,
                corner("ymax")?,
            );
        }
        other => return Err(SpatialError::UnsupportedType(other.to_string())),
    };
    Ok(Shape(geometry))
}

/// An envelope; refused when inverted (a degenerate one, a line or a point, is allowed).
pub fn envelope(xmin: f64, ymin: f64, xmax: f64, ymax: f64) -> Result<Shape, SpatialError> {
    if xmin > xmax || ymin > ymax {
        return Err(SpatialError::InvertedEnvelope {
            xmin,
            ymin,
            xmax,
            ymax,
        });
    }
    Ok(Shape(Geometry::Rect(Rect::new((xmin, ymin), (xmax, ymax)))))
}

fn number(v: Option<&Value>) -> Option<f64> {
    v?.as_f64().filter(|f| f.is_finite())
}

/// `[[x, y, …], …]` as coordinates (z and m ignored).
fn coords(v: Option<&Value>) -> Option<Vec<Coord<f64>>> {
    v?.as_array()?
        .iter()
        .map(|vertex| {
            let items = vertex.as_array()?;
            Some(Coord {
                x: number(items.first())?,
                y: number(items.get(1))?,
            })
        })
        .collect()
}

/// Paths or rings, each with at least `min` vertices; at least one part.
fn parts(v: Option<&Value>, min: usize) -> Option<Vec<LineString<f64>>> {
    let parts: Vec<LineString<f64>> = v?
        .as_array()?
        .iter()
        .map(|part| {
            coords(Some(part))
                .filter(|c| c.len() >= min)
                .map(LineString::new)
        })
        .collect::<Option<_>>()?;
    (!parts.is_empty()).then_some(parts)
}

/// Rings as polygons: clockwise rings are outer rings, counter-clockwise ones holes of the outer
/// ring that holds them (ArcGIS's winding). Rings all wound one way are all outer rings; a hole
/// no outer ring holds becomes an outer ring of its own.
pub fn assemble_rings(rings: Vec<LineString<f64>>) -> MultiPolygon<f64> {
    let mut rings: Vec<LineString<f64>> = rings
        .into_iter()
        .map(|mut r| {
            r.close();
            r
        })
        .collect();
    let all_one_way = rings.iter().all(|r| r.is_cw()) || rings.iter().all(|r| r.is_ccw());
    if all_one_way {
        return MultiPolygon::new(rings.into_iter().map(|r| Polygon::new(r, vec![])).collect());
    }
    let holes: Vec<LineString<f64>> = rings.iter().filter(|r| !r.is_cw()).cloned().collect();
    rings.retain(|r| r.is_cw());
    let mut polygons: Vec<(LineString<f64>, Vec<LineString<f64>>)> =
        rings.into_iter().map(|r| (r, Vec::new())).collect();
    for hole in holes {
        let first = hole.0.first().copied();
        let holder = polygons.iter_mut().find(|(outer, _)| {
            first.is_some_and(|c| Polygon::new(outer.clone(), vec![]).contains(&c))
        });
        match holder {
            Some((_, inner)) => inner.push(hole),
            None => polygons.push((hole, Vec::new())),
        }
    }
    MultiPolygon::new(
        polygons
            .into_iter()
            .map(|(o, i)| Polygon::new(o, i))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Intersects;

    #[test]
    fn shorthand_envelope_and_point() {
        let f = parse_filter("-1, -2, 3, 4", None).unwrap();
        assert_eq!(f.shape.bbox(), Some(Rect::new((-1.0, -2.0), (3.0, 4.0))));
        assert!(matches!(
            parse_filter("3,0,1,1", None),
            Err(SpatialError::InvertedEnvelope { .. })
        ));
        assert!(matches!(
            parse_filter("1,2", Some("esriGeometryPoint"))
                .unwrap()
                .shape
                .0,
            Geometry::Point(_)
        ));
        assert!(matches!(
            parse_filter("1,2,3", None),
            Err(SpatialError::Malformed(_))
        ));
    }

    #[test]
    fn polygon_with_hole_excludes_the_hole() {
        // Outer ring clockwise, hole counter-clockwise (ArcGIS winding).
        let json = r#"{"rings":[[[0,0],[0,10],[10,10],[10,0],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]],
                       "spatialReference":{"wkid":3857}}"#;
        let f = parse_filter(json, Some("esriGeometryPolygon")).unwrap();
        assert_eq!(f.sr, Some(Sr::WebMercator));
        assert!(!f.shape.0.intersects(&geo::Point::new(5.0, 5.0)));
        assert!(f.shape.0.intersects(&geo::Point::new(2.0, 5.0)));
    }

    #[test]
    fn esri_json_round_trip_keeps_arcgis_winding() {
        let json =
            r#"{"rings":[[[0,0],[0,10],[10,10],[10,0],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]}"#;
        let shape = parse_filter(json, None).unwrap().shape;
        let (kind, esri) = shape.to_esri(Sr::Wgs84);
        assert_eq!(kind, "esriGeometryPolygon");
        assert_eq!(parse_filter(&esri.to_string(), None).unwrap().shape, shape);
        let (kind, env) = parse_filter("1,2,3,4", None)
            .unwrap()
            .shape
            .to_esri(Sr::WebMercator);
        assert_eq!(kind, "esriGeometryEnvelope");
        assert_eq!(env["xmax"], json!(3.0));
        assert_eq!(env["spatialReference"]["wkid"], json!(102100));
    }

    #[test]
    fn malformed_geometry_is_an_error() {
        assert!(parse_filter(r#"{"rings":[[[0,0],[1]]]}"#, None).is_err());
        assert!(parse_filter(r#"{"paths":"x"}"#, Some("esriGeometryPolyline")).is_err());
        assert!(parse_filter("{", None).is_err());
        assert!(matches!(
            parse_filter(r#"{"x":1,"y":2}"#, Some("esriGeometryBag")),
            Err(SpatialError::UnsupportedType(_))
        ));
    }
}
