//! The geometry JSON a layer accepts, and nothing else (docs/arcgis-sync.md §2, "Geometry
//! JSON"): the keys of the layer's geometry type only — a point `x`, `y` (and `z`, `m`), a
//! multipoint `points`, a polyline `paths` and/or `curvePaths`, a polygon `rings` and/or
//! `curveRings` — plus `hasZ`, `hasM` and a flat `spatialReference` (`wkid`, `latestWkid`,
//! `vcsWkid`, `latestVcsWkid`, `wkt`). Every value must have the shape its key promises, so
//! nesting is bounded by the shapes themselves (six levels at most, counting the geometry
//! object: a vertex inside a curve segment); a geometry with an unknown key, a nested spatial reference or a
//! wrongly shaped value is not understood. Yields every vertex's numbers for the z / m checks of
//! `rules`. Pure functions: no I/O.

use serde_json::{Map, Value};

/// The keys every geometry type may carry besides its own.
const COMMON_KEYS: [&str; 3] = ["spatialReference", "hasZ", "hasM"];
/// The keys of a spatial reference.
const SPATIAL_REFERENCE_KEYS: [&str; 5] = ["wkid", "latestWkid", "vcsWkid", "latestVcsWkid", "wkt"];

/// Every vertex of `geometry` as numbers when it is geometry JSON of `geometry_type`
/// (`esriGeometryPoint`, …) that this service understands; `None` otherwise.
pub fn vertices(geometry_type: &str, geometry: &Value) -> Option<Vec<Vec<f64>>> {
    let object = geometry.as_object()?;
    let own_keys: &[&str] = match geometry_type {
        "esriGeometryPoint" => &["x", "y", "z", "m"],
        "esriGeometryMultipoint" => &["points"],
        "esriGeometryPolyline" => &["paths", "curvePaths"],
        "esriGeometryPolygon" => &["rings", "curveRings"],
        _ => return None,
    };
    let known = |key: &str| own_keys.contains(&key) || COMMON_KEYS.contains(&key);
    if !object.keys().all(|k| known(k)) || !common_values_understood(object) {
        return None;
    }
    match geometry_type {
        "esriGeometryPoint" => point(object).map(|v| vec![v]),
        "esriGeometryMultipoint" => point_list(object.get("points")?, 1),
        "esriGeometryPolyline" => parts(object, "paths", "curvePaths", 2),
        _ => parts(object, "rings", "curveRings", 3),
    }
}

/// `hasZ` / `hasM` are booleans; `spatialReference` is flat: wkids are integers, `wkt` text.
fn common_values_understood(object: &Map<String, Value>) -> bool {
    let flag_ok = |key: &str| {
        object
            .get(key)
            .is_none_or(|v| v.is_boolean() || v.is_null())
    };
    if !flag_ok("hasZ") || !flag_ok("hasM") {
        return false;
    }
    match object.get("spatialReference") {
        None | Some(Value::Null) => true,
        Some(Value::Object(sr)) => sr.iter().all(|(key, value)| match key.as_str() {
            "wkt" => value.is_string() || value.is_null(),
            k if SPATIAL_REFERENCE_KEYS.contains(&k) => {
                value.is_i64() || value.is_u64() || value.is_null()
            }
            _ => false,
        }),
        Some(_) => false,
    }
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64().filter(|f| f.is_finite())
}

fn point(object: &Map<String, Value>) -> Option<Vec<f64>> {
    let mut c = vec![number(object.get("x")?)?, number(object.get("y")?)?];
    for key in ["z", "m"] {
        if let Some(v) = object.get(key).filter(|v| !v.is_null()) {
            c.push(number(v)?);
        }
    }
    Some(c)
}

/// A vertex `[x, y]`, `[x, y, z|m]` or `[x, y, z, m]`.
fn vertex(v: &Value) -> Option<Vec<f64>> {
    let items = v.as_array()?;
    if !(2..=4).contains(&items.len()) {
        return None;
    }
    items.iter().map(number).collect()
}

fn point_list(v: &Value, min_points: usize) -> Option<Vec<Vec<f64>>> {
    let items = v.as_array()?;
    if items.len() < min_points {
        return None;
    }
    items.iter().map(vertex).collect()
}

/// Plain parts under `plain` and curve parts under `curved`; at least one of them.
fn parts(
    object: &Map<String, Value>,
    plain: &str,
    curved: &str,
    min_points: usize,
) -> Option<Vec<Vec<f64>>> {
    if !object.contains_key(plain) && !object.contains_key(curved) {
        return None;
    }
    let mut all = Vec::new();
    if let Some(parts) = object.get(plain) {
        let parts = parts.as_array().filter(|p| !p.is_empty())?;
        for part in parts {
            all.extend(point_list(part, min_points)?);
        }
    }
    if let Some(parts) = object.get(curved) {
        let parts = parts.as_array().filter(|p| !p.is_empty())?;
        for part in parts {
            all.extend(curve_part(part)?);
        }
    }
    Some(all)
}

/// One curve path or ring: a start vertex, then vertices and curve segments (`{"c": [end,
/// interior]}`, `{"a": [end, centre, minor, clockwise(, rotation, axis, ratio)]}`, `{"b": [end,
/// control1, control2]}`); its vertices are the start and every segment's end.
fn curve_part(part: &Value) -> Option<Vec<Vec<f64>>> {
    let items = part.as_array().filter(|items| items.len() >= 2)?;
    let mut out = vec![vertex(&items[0])?];
    for item in &items[1..] {
        if let Some(v) = vertex(item) {
            out.push(v);
            continue;
        }
        let segment = item.as_object().filter(|s| s.len() == 1)?;
        let (kind, points) = segment.iter().next()?;
        let points = points.as_array()?;
        let end = match (kind.as_str(), points.len()) {
            ("c", 2) | ("b", 3) => {
                let all: Option<Vec<_>> = points.iter().map(vertex).collect();
                all?.swap_remove(0)
            }
            ("a", 4 | 7) => {
                vertex(&points[1])?;
                let flags_ok = points[2..]
                    .iter()
                    .all(|v| number(v).is_some() || v.is_boolean());
                if !flags_ok {
                    return None;
                }
                vertex(&points[0])?
            }
            _ => return None,
        };
        out.push(end);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested_spatial_reference(depth: usize) -> Value {
        let mut sr = json!({"wkid": 4326});
        for _ in 0..depth {
            sr = json!({"spatialReference": sr});
        }
        json!({"x": 1.0, "y": 2.0, "spatialReference": sr})
    }

    #[test]
    fn understood_geometry_of_each_type() {
        let sr =
            json!({"wkid": 102100, "latestWkid": 3857, "vcsWkid": 5703, "latestVcsWkid": 5703});
        let point = json!({"x": 1.0, "y": 2.0, "z": 3.0, "spatialReference": sr, "hasZ": true});
        assert_eq!(
            vertices("esriGeometryPoint", &point),
            Some(vec![vec![1.0, 2.0, 3.0]])
        );
        let multipoint = json!({"points": [[1, 2], [3, 4]]});
        assert_eq!(
            vertices("esriGeometryMultipoint", &multipoint)
                .unwrap()
                .len(),
            2
        );
        let line = json!({"paths": [[[0, 0], [1, 1]]], "spatialReference": {"wkt": "GEOGCS[…]"}});
        assert!(vertices("esriGeometryPolyline", &line).is_some());
        let curve = json!({"curvePaths": [[[0, 0, 5], {"c": [[1, 1, 6], [0.5, 0.8, 5]]},
            {"a": [[2, 0, 7], [1.5, 0.5], 0, 1]}, {"b": [[3, 1, 8], [2.2, 0.1], [2.8, 0.9]]}]],
            "hasM": true});
        assert_eq!(vertices("esriGeometryPolyline", &curve).unwrap().len(), 4);
        let ring = json!({"rings": [[[0, 0], [1, 0], [1, 1], [0, 0]]]});
        assert!(vertices("esriGeometryPolygon", &ring).is_some());
        let circle = json!({"curveRings": [[[0, 0], {"a": [[0, 0], [1, 0], 0, 0, 0, 1, 1]}]]});
        assert!(vertices("esriGeometryPolygon", &circle).is_some());
    }

    #[test]
    fn unknown_keys_nesting_and_other_types_are_not_understood() {
        let refused = [
            ("esriGeometryPoint", nested_spatial_reference(122)),
            ("esriGeometryPoint", nested_spatial_reference(1)),
            (
                "esriGeometryPoint",
                json!({"x": 1, "y": 2, "comment": "hi"}),
            ),
            (
                "esriGeometryPoint",
                json!({"x": 1, "y": 2, "spatialReference": {"wkid": 4326, "x": 1}}),
            ),
            (
                "esriGeometryPoint",
                json!({"x": 1, "y": 2, "spatialReference": {"wkid": "4326"}}),
            ),
            (
                "esriGeometryPoint",
                json!({"x": 1, "y": 2, "hasZ": {"deep": [1]}}),
            ),
            ("esriGeometryPoint", json!({"paths": [[[0, 0], [1, 1]]]})),
            ("esriGeometryPoint", json!({"x": [1], "y": 2})),
            ("esriGeometryPolyline", json!({"x": 1, "y": 2})),
            (
                "esriGeometryPolyline",
                json!({"rings": [[[0, 0], [1, 0], [1, 1]]]}),
            ),
            (
                "esriGeometryPolyline",
                json!({"paths": [[[0, 0], [1, [1]]]]}),
            ),
            (
                "esriGeometryPolyline",
                json!({"paths": [[[0, 0, 0, 0, 0], [1, 1]]]}),
            ),
            (
                "esriGeometryPolyline",
                json!({"curvePaths": [[[0, 0], {"c": [[1, 1]], "b": []}]]}),
            ),
            (
                "esriGeometryPolyline",
                json!({"curvePaths": [[[0, 0], {"q": [[1, 1], [2, 2]]}]]}),
            ),
            ("esriGeometryPolygon", json!({"paths": [[[0, 0], [1, 1]]]})),
            (
                "esriGeometryMultipoint",
                json!({"points": [[1, 2]], "rings": []}),
            ),
            (
                "esriGeometryEnvelope",
                json!({"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}),
            ),
        ];
        for (kind, geometry) in refused {
            assert_eq!(vertices(kind, &geometry), None, "{kind} {geometry}");
        }
    }
}
