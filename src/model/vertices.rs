//! The vertices of a feature's geometry JSON with their z and m, for the attribute form's
//! geometry fixes (1014 a missing z, 1002 a missing m): read them out of a point (`x`, `y`, `z`,
//! `m`) or the coordinate arrays of a multipoint, polyline or polygon, and write new z / m values
//! back into the same JSON. Coordinate arrays are read the way the layer declares them (`[x, y,
//! z, m]`, `[x, y, m]` on a layer with m only). Curve segments (objects inside a path) are left
//! as they are. Pure functions: no I/O.

use serde_json::{Map, Value};

/// One vertex of a geometry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vertex {
    pub x: f64,
    pub y: f64,
    pub z: Option<f64>,
    pub m: Option<f64>,
}

/// Every vertex of `geometry` in order, z and m as a layer with `has_z` / `has_m` reads them.
pub fn vertices_of(geometry: &Value, has_z: bool, has_m: bool) -> Vec<Vertex> {
    let mut out = Vec::new();
    visit(geometry, has_z, has_m, &mut |v| {
        out.push(*v);
    });
    out
}

/// `geometry` with the z and m of `vertices` (in [`vertices_of`]'s order) written in, as the
/// layer declares them: a point gets `z` / `m` keys, coordinate arrays `[x, y, z, m]`, and the
/// geometry's `hasZ` / `hasM` flags are set when it has them.
pub fn with_z_m(geometry: &Value, vertices: &[Vertex], has_z: bool, has_m: bool) -> Value {
    let mut out = geometry.clone();
    let mut index = 0;
    visit_mut(&mut out, has_z, has_m, &mut |v| {
        if let Some(new) = vertices.get(index) {
            *v = *new;
        }
        index += 1;
    });
    if let Value::Object(map) = &mut out
        && !map.contains_key("x")
    {
        if has_z {
            map.insert("hasZ".into(), Value::Bool(true));
        }
        if has_m {
            map.insert("hasM".into(), Value::Bool(true));
        }
    }
    out
}

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

fn visit(geometry: &Value, has_z: bool, has_m: bool, f: &mut dyn FnMut(&Vertex)) {
    let mut copy = geometry.clone();
    visit_mut(&mut copy, has_z, has_m, &mut |v| f(v));
}

fn visit_mut(geometry: &mut Value, has_z: bool, has_m: bool, f: &mut dyn FnMut(&mut Vertex)) {
    let Value::Object(map) = geometry else {
        return;
    };
    if map.contains_key("x") {
        point_mut(map, f);
        return;
    }
    for key in ["points", "paths", "rings"] {
        if let Some(value) = map.get_mut(key) {
            arrays_mut(value, has_z, has_m, f);
        }
    }
}

fn point_mut(map: &mut Map<String, Value>, f: &mut dyn FnMut(&mut Vertex)) {
    let get = |k: &str| map.get(k).and_then(Value::as_f64);
    let (Some(x), Some(y)) = (get("x"), get("y")) else {
        return;
    };
    let mut vertex = Vertex {
        x,
        y,
        z: get("z"),
        m: get("m"),
    };
    f(&mut vertex);
    for (key, value) in [("z", vertex.z), ("m", vertex.m)] {
        match value {
            Some(v) => {
                map.insert(key.into(), number(v));
            }
            None => {
                map.remove(key);
            }
        }
    }
}

/// Coordinate arrays at any depth (`points` holds them directly, `paths` / `rings` one level down).
fn arrays_mut(value: &mut Value, has_z: bool, has_m: bool, f: &mut dyn FnMut(&mut Vertex)) {
    let Value::Array(items) = value else {
        return;
    };
    let is_coordinate = items.len() >= 2 && items.iter().all(Value::is_number);
    if !is_coordinate {
        for item in items.iter_mut() {
            arrays_mut(item, has_z, has_m, f);
        }
        return;
    }
    let n: Vec<f64> = items.iter().filter_map(Value::as_f64).collect();
    let mut rest = n.iter().skip(2).copied();
    let z = if has_z { rest.next() } else { None };
    let m = if has_m { rest.next() } else { None };
    let mut vertex = Vertex {
        x: n[0],
        y: n[1],
        z,
        m,
    };
    f(&mut vertex);
    let mut coords = vec![number(vertex.x), number(vertex.y)];
    if has_z {
        coords.push(vertex.z.map_or(Value::Null, number));
    }
    if has_m {
        coords.push(vertex.m.map_or(Value::Null, number));
    }
    // A coordinate array carries no nulls: a missing trailing value is left out.
    while coords.last().is_some_and(Value::is_null) {
        coords.pop();
    }
    *items = coords;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_point_gets_its_z() {
        let g = json!({"x": 1.0, "y": 2.0});
        let mut v = vertices_of(&g, true, false);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].z, None);
        v[0].z = Some(51.5);
        assert_eq!(
            with_z_m(&g, &v, true, false),
            json!({"x": 1.0, "y": 2.0, "z": 51.5})
        );
    }

    #[test]
    fn paths_get_z_and_m_per_vertex() {
        let g = json!({"paths": [[[1.0, 2.0], [3.0, 4.0]]]});
        let mut v = vertices_of(&g, true, true);
        assert_eq!(v.len(), 2);
        v[0].z = Some(10.0);
        v[0].m = Some(0.0);
        v[1].z = Some(11.0);
        v[1].m = Some(5.0);
        assert_eq!(
            with_z_m(&g, &v, true, true),
            json!({"paths": [[[1.0, 2.0, 10.0, 0.0], [3.0, 4.0, 11.0, 5.0]]], "hasZ": true, "hasM": true})
        );
        let back = vertices_of(&with_z_m(&g, &v, true, true), true, true);
        assert_eq!(back, v);
    }

    #[test]
    fn m_only_arrays_read_the_third_number_as_m() {
        let g = json!({"paths": [[[1.0, 2.0, 7.0]]]});
        assert_eq!(vertices_of(&g, false, true)[0].m, Some(7.0));
        assert_eq!(vertices_of(&g, false, true)[0].z, None);
    }
}
