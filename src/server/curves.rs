//! True curves: densifying `curvePaths` / `curveRings` geometry JSON into plain `paths` /
//! `rings` (what createReplica and downloads hand to clients, which do not edit curves), and the
//! 1005 check for an update that would replace a stored true curve. Pure functions over geometry
//! JSON: no I/O, no database. Segments understood: circular arcs through an interior point
//! (`{"c": [end, interior]}`), elliptic / circular arcs by centre (`{"a": [end, centre, minor,
//! clockwise, rotation, axis, ratio]}`) and cubic Béziers (`{"b": [end, control1, control2]}`);
//! z and m are interpolated along each curve.

use crate::protocol::rules::Rejection;
use serde_json::{Map, Value};

/// Angle between two densified vertices on an arc, in radians (about 4 degrees).
const MAX_ARC_STEP_RADIANS: f64 = std::f64::consts::PI / 45.0;
/// Straight pieces a Bézier segment is split into.
const BEZIER_STEPS: usize = 16;

pub use crate::protocol::rules::has_true_curves;

/// The geometry with its curves densified (`curvePaths` → `paths`, `curveRings` → `rings`);
/// geometry without curves is returned unchanged. A part that cannot be read is left out rather
/// than guessed.
pub fn densify(geometry: &Value) -> Value {
    let Some(object) = geometry.as_object() else {
        return geometry.clone();
    };
    if !has_true_curves(geometry) {
        return geometry.clone();
    }
    let mut out = Map::new();
    for (key, value) in object {
        match key.as_str() {
            "curvePaths" => {
                out.insert("paths".into(), densify_parts(value));
            }
            "curveRings" => {
                out.insert("rings".into(), densify_parts(value));
            }
            // A curve geometry may repeat its parts as plain paths/rings; the densified ones win.
            "paths" | "rings" => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// What a checked update does to a stored curve.
#[derive(Debug, Clone, PartialEq)]
pub enum CurveUpdate {
    /// The stored geometry has no curve, or the update leaves the geometry alone.
    Untouched,
    /// The update sends the densified stored geometry back unchanged: keep the stored curve.
    SameAsDensified,
    /// The update replaces the curve (allowed by `allowTrueCurvesUpdates`).
    Replaces,
}

/// 1005 when an update would replace a stored true curve and the layer does not allow true
/// curve updates. `new_geometry` is the update's geometry (`None` = unchanged).
pub fn check_curve_update(
    allows_true_curves_updates: bool,
    stored_geometry: Option<&Value>,
    new_geometry: Option<&Value>,
) -> Result<CurveUpdate, Rejection> {
    let (Some(stored), Some(new)) = (stored_geometry, new_geometry.filter(|g| !g.is_null())) else {
        return Ok(CurveUpdate::Untouched);
    };
    if !has_true_curves(stored) || new == stored {
        return Ok(CurveUpdate::Untouched);
    }
    if same_coordinates(&densify(stored), new) {
        return Ok(CurveUpdate::SameAsDensified);
    }
    if allows_true_curves_updates {
        Ok(CurveUpdate::Replaces)
    } else {
        Err(Rejection::new(1005, ""))
    }
}

/// Paths or rings equal vertex by vertex (within 1e-9, as JSON numbers round-trip).
fn same_coordinates(a: &Value, b: &Value) -> bool {
    let parts = |v: &Value| {
        v.get("paths")
            .or_else(|| v.get("rings"))
            .and_then(Value::as_array)
            .cloned()
    };
    let (Some(a), Some(b)) = (parts(a), parts(b)) else {
        return false;
    };
    a.len() == b.len()
        && a.iter().zip(&b).all(|(pa, pb)| {
            let (Some(pa), Some(pb)) = (pa.as_array(), pb.as_array()) else {
                return false;
            };
            pa.len() == pb.len()
                && pa.iter().zip(pb).all(|(va, vb)| {
                    let (Some(va), Some(vb)) = (coords(va), coords(vb)) else {
                        return false;
                    };
                    va.len() == vb.len() && va.iter().zip(&vb).all(|(x, y)| (x - y).abs() < 1e-9)
                })
        })
}

fn densify_parts(parts: &Value) -> Value {
    let Some(parts) = parts.as_array() else {
        return Value::Array(Vec::new());
    };
    Value::Array(
        parts
            .iter()
            .filter_map(densify_part)
            .map(|vertices| Value::Array(vertices.into_iter().map(to_json).collect()))
            .collect(),
    )
}

/// One path or ring: plain vertices and curve segments, each segment starting at the vertex
/// before it.
fn densify_part(part: &Value) -> Option<Vec<Vec<f64>>> {
    let mut out: Vec<Vec<f64>> = Vec::new();
    for item in part.as_array()? {
        if let Some(vertex) = coords(item) {
            out.push(vertex);
            continue;
        }
        let segment = item.as_object()?;
        let start = out.last()?.clone();
        let points = if let Some(c) = segment.get("c") {
            let c = c.as_array()?;
            three_point_arc(&start, &coords(c.first()?)?, &coords(c.get(1)?)?)
        } else if let Some(a) = segment.get("a") {
            centre_arc(&start, a.as_array()?)?
        } else if let Some(b) = segment.get("b") {
            let b = b.as_array()?;
            bezier(
                &start,
                &coords(b.first()?)?,
                &coords(b.get(1)?)?,
                &coords(b.get(2)?)?,
            )
        } else {
            return None;
        };
        out.extend(points);
    }
    (out.len() >= 2).then_some(out)
}

/// A vertex `[x, y, …]` as numbers; `None` for anything else (a curve segment object).
fn coords(v: &Value) -> Option<Vec<f64>> {
    let items = v.as_array()?;
    if items.len() < 2 {
        return None;
    }
    items
        .iter()
        .map(|n| n.as_f64().filter(|f| f.is_finite()))
        .collect()
}

fn to_json(vertex: Vec<f64>) -> Value {
    Value::Array(
        vertex
            .into_iter()
            .map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))
            .collect(),
    )
}

/// The vertex at `t` of the way from `start` to `end`, with `xy` as its position: z and m
/// (everything after x and y) are interpolated linearly.
fn vertex_at(start: &[f64], end: &[f64], t: f64, xy: (f64, f64)) -> Vec<f64> {
    let mut v = vec![xy.0, xy.1];
    for (i, to) in end.iter().enumerate().skip(2) {
        let from = start.get(i).copied().unwrap_or(*to);
        v.push(from + (to - from) * t);
    }
    v
}

/// Densified vertices after `start` of the arc through `interior` to `end` (the end included).
/// Collinear points make a straight segment.
fn three_point_arc(start: &[f64], end: &[f64], interior: &[f64]) -> Vec<Vec<f64>> {
    let (ax, ay, bx, by, cx, cy) = (start[0], start[1], interior[0], interior[1], end[0], end[1]);
    let d = 2.0 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by));
    if d.abs() < 1e-15 {
        return vec![end.to_vec()];
    }
    let (a2, b2, c2) = (ax * ax + ay * ay, bx * bx + by * by, cx * cx + cy * cy);
    let ux = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / d;
    let uy = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / d;
    let angle = |x: f64, y: f64| (y - uy).atan2(x - ux);
    let (ts, ti, te) = (angle(ax, ay), angle(bx, by), angle(cx, cy));
    let ccw = |from: f64, to: f64| (to - from).rem_euclid(std::f64::consts::TAU);
    // Counter-clockwise from start, the interior comes before the end on a ccw arc.
    let sweep = if ccw(ts, ti) <= ccw(ts, te) {
        ccw(ts, te)
    } else {
        ccw(ts, te) - std::f64::consts::TAU
    };
    let radius = ((ax - ux).powi(2) + (ay - uy).powi(2)).sqrt();
    arc_vertices(start, end, sweep, |t| {
        let a = ts + sweep * t;
        (ux + radius * a.cos(), uy + radius * a.sin())
    })
}

/// `{"a": [end, centre, minor, clockwise, rotation, axis, ratio]}`: an elliptic arc (circular
/// when ratio is 1) around `centre` from `start` to `end`, clockwise when that flag is 1.
fn centre_arc(start: &[f64], a: &[Value]) -> Option<Vec<Vec<f64>>> {
    let end = coords(a.first()?)?;
    let centre = coords(a.get(1)?)?;
    let flag = |i: usize| a.get(i).and_then(Value::as_f64).unwrap_or(0.0);
    let clockwise = flag(3) != 0.0;
    let rotation = flag(4);
    let ratio = a
        .get(6)
        .and_then(Value::as_f64)
        .filter(|r| *r > 0.0)
        .unwrap_or(1.0);
    // Into the ellipse's frame (rotated, minor axis stretched): there the arc is circular.
    let to_frame = |x: f64, y: f64| {
        let (dx, dy) = (x - centre[0], y - centre[1]);
        let (s, c) = (-rotation).sin_cos();
        (dx * c - dy * s, (dx * s + dy * c) / ratio)
    };
    let from_frame = |x: f64, y: f64| {
        let y = y * ratio;
        let (s, c) = rotation.sin_cos();
        (centre[0] + x * c - y * s, centre[1] + x * s + y * c)
    };
    let (sx, sy) = to_frame(start[0], start[1]);
    let (ex, ey) = to_frame(end[0], end[1]);
    let radius = (sx * sx + sy * sy).sqrt();
    let (ts, te) = (sy.atan2(sx), ey.atan2(ex));
    let mut sweep = (te - ts).rem_euclid(std::f64::consts::TAU);
    if sweep < 1e-12 {
        sweep = std::f64::consts::TAU; // start = end: a full circle
    }
    if clockwise {
        sweep -= std::f64::consts::TAU;
    }
    Some(arc_vertices(start, &end, sweep, |t| {
        let angle = ts + sweep * t;
        from_frame(radius * angle.cos(), radius * angle.sin())
    }))
}

fn arc_vertices(
    start: &[f64],
    end: &[f64],
    sweep: f64,
    at: impl Fn(f64) -> (f64, f64),
) -> Vec<Vec<f64>> {
    let steps = ((sweep.abs() / MAX_ARC_STEP_RADIANS).ceil() as usize).max(2);
    let mut out: Vec<Vec<f64>> = (1..steps)
        .map(|i| {
            let t = i as f64 / steps as f64;
            vertex_at(start, end, t, at(t))
        })
        .collect();
    out.push(end.to_vec());
    out
}

fn bezier(start: &[f64], end: &[f64], c1: &[f64], c2: &[f64]) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = (1..BEZIER_STEPS)
        .map(|i| {
            let t = i as f64 / BEZIER_STEPS as f64;
            let u = 1.0 - t;
            let p = |k: usize| {
                u * u * u * start[k]
                    + 3.0 * u * u * t * c1[k]
                    + 3.0 * u * t * t * c2[k]
                    + t * t * t * end[k]
            };
            vertex_at(start, end, t, (p(0), p(1)))
        })
        .collect();
    out.push(end.to_vec());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(v: &Value) -> Vec<Vec<f64>> {
        v["paths"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| coords(p).unwrap())
            .collect()
    }

    /// A half circle through (0,1) from (-1,0) to (1,0): every vertex on the unit circle, above
    /// the x axis, m interpolated, ends kept exactly.
    #[test]
    fn three_point_arcs_densify_onto_their_circle() {
        let g = json!({"curvePaths": [[[-1.0, 0.0, 0.0], {"c": [[1.0, 0.0, 10.0], [0.0, 1.0]]}]], "hasM": true});
        let d = densify(&g);
        assert!(!has_true_curves(&d) && d["hasM"] == true);
        let p = path(&d);
        assert!(p.len() > 20, "{}", p.len());
        assert_eq!(p.first().unwrap(), &vec![-1.0, 0.0, 0.0]);
        assert_eq!(p.last().unwrap(), &vec![1.0, 0.0, 10.0]);
        for v in &p {
            assert!(((v[0] * v[0] + v[1] * v[1]).sqrt() - 1.0).abs() < 1e-9);
            assert!(v[1] >= -1e-12 && (0.0..=10.0).contains(&v[2]));
        }
        // The interior point below the chord bends the arc the other way.
        let below = json!({"curvePaths": [[[-1.0, 0.0], {"c": [[1.0, 0.0], [0.0, -1.0]]}]]});
        assert!(path(&densify(&below)).iter().all(|v| v[1] <= 1e-12));
    }

    /// Centre arcs honour the clockwise flag; Béziers end at their end point; rings densify too.
    #[test]
    fn centre_arcs_beziers_and_rings() {
        let ccw = json!({"curvePaths": [[[1.0, 0.0], {"a": [[-1.0, 0.0], [0.0, 0.0], 0, 0, 0.0, 1.0, 1.0]}]]});
        assert!(path(&densify(&ccw)).iter().all(|v| v[1] >= -1e-12));
        let cw = json!({"curvePaths": [[[1.0, 0.0], {"a": [[-1.0, 0.0], [0.0, 0.0], 0, 1, 0.0, 1.0, 1.0]}]]});
        assert!(path(&densify(&cw)).iter().all(|v| v[1] <= 1e-12));
        let b = json!({"curvePaths": [[[0.0, 0.0], {"b": [[3.0, 0.0], [1.0, 1.0], [2.0, 1.0]]}]]});
        let p = path(&densify(&b));
        assert_eq!(p.len(), BEZIER_STEPS + 1);
        assert_eq!(p.last().unwrap(), &vec![3.0, 0.0]);
        let ring =
            json!({"curveRings": [[[0.0, 0.0], [2.0, 0.0], {"c": [[0.0, 0.0], [1.0, 1.0]]}]]});
        let d = densify(&ring);
        assert!(d["rings"][0].as_array().unwrap().len() > 10);
        let plain = json!({"paths": [[[0.0, 0.0], [1.0, 1.0]]]});
        assert_eq!(densify(&plain), plain);
    }

    /// 1005 only for an update that changes a stored curve while curve updates are off.
    #[test]
    fn curve_updates_need_permission() {
        let stored = json!({"curvePaths": [[[-1.0, 0.0], {"c": [[1.0, 0.0], [0.0, 1.0]]}]]});
        let densified = densify(&stored);
        let moved = json!({"paths": [[[-1.0, 0.5], [1.0, 0.5]]]});
        assert_eq!(
            check_curve_update(false, Some(&stored), Some(&moved))
                .unwrap_err()
                .code,
            1005
        );
        assert_eq!(
            check_curve_update(true, Some(&stored), Some(&moved)),
            Ok(CurveUpdate::Replaces)
        );
        assert_eq!(
            check_curve_update(false, Some(&stored), Some(&densified)),
            Ok(CurveUpdate::SameAsDensified)
        );
        assert_eq!(
            check_curve_update(false, Some(&stored), None),
            Ok(CurveUpdate::Untouched)
        );
        assert_eq!(
            check_curve_update(false, Some(&moved), Some(&stored)),
            Ok(CurveUpdate::Untouched)
        );
    }
}
