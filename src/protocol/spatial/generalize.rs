//! Generalising geometry JSON for previews (`maxAllowableOffset`): each path and ring keeps the
//! vertices the Ramer–Douglas–Peucker simplification chooses (with their z and m), so no vertex
//! moves further than the offset; a ring that would fall below four vertices keeps its own. No
//! I/O.

use geo::{Coord, LineString, SimplifyIdx};
use serde_json::Value;

/// Generalises `geometry` (polyline `paths`, polygon `rings`) in place by `offset`, in the
/// geometry's own units. Points and multipoints are left as they are.
pub fn generalize(geometry: &mut Value, offset: f64) {
    if !(offset.is_finite() && offset > 0.0) {
        return;
    }
    let Some(object) = geometry.as_object_mut() else {
        return;
    };
    for (key, min) in [("paths", 2), ("rings", 4)] {
        if let Some(Value::Array(parts)) = object.get_mut(key) {
            for part in parts.iter_mut() {
                simplify_part(part, offset, min);
            }
        }
    }
}

fn simplify_part(part: &mut Value, offset: f64, min: usize) {
    let Value::Array(vertices) = part else {
        return;
    };
    let coords: Option<Vec<Coord<f64>>> = vertices
        .iter()
        .map(|v| {
            let xy = v.as_array()?;
            Some(Coord {
                x: xy.first()?.as_f64()?,
                y: xy.get(1)?.as_f64()?,
            })
        })
        .collect();
    let Some(coords) = coords else {
        return;
    };
    let keep = LineString::new(coords).simplify_idx(offset);
    if keep.len() < min || keep.len() == vertices.len() {
        return;
    }
    let kept: Vec<Value> = keep.into_iter().map(|i| vertices[i].clone()).collect();
    *vertices = kept;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_vertices_within_the_offset_and_keeps_z() {
        let mut g = json!({"paths": [[[0.0, 0.0, 1.0], [5.0, 0.1, 2.0], [10.0, 0.0, 3.0]]]});
        generalize(&mut g, 0.5);
        assert_eq!(g, json!({"paths": [[[0.0, 0.0, 1.0], [10.0, 0.0, 3.0]]]}));
        let mut far = json!({"paths": [[[0.0, 0.0], [5.0, 3.0], [10.0, 0.0]]]});
        generalize(&mut far, 0.5);
        assert_eq!(far["paths"][0].as_array().unwrap().len(), 3);
    }

    #[test]
    fn a_ring_never_collapses() {
        let ring = json!({"rings": [[[0.0, 0.0], [0.0, 0.1], [0.1, 0.1], [0.1, 0.0], [0.0, 0.0]]]});
        let mut g = ring.clone();
        generalize(&mut g, 5.0);
        assert_eq!(g, ring);
    }
}
