//! Test services for spatial work: "GridTown", a service with a point layer (0 Poles), a
//! polyline layer (1 Cables) and a polygon layer (2 Parcels, some with holes), in WGS84 (4326)
//! or Web Mercator (3857), with a deterministic spread of features over the demo's extent; and
//! the tests' own, independent spatial code to check the service against: the Web Mercator
//! formulas and brute-force intersection of a feature's geometry JSON with an envelope or a
//! polygon (simple segment and ring tests, no library).

use super::server::{Fixture, start_with};
use serde_json::{Value, json};
use syncwatch::server::{ServerConfig, ServiceDefinition};

/// The WGS84 extent the features spread over (the demo's).
pub const EXTENT_4326: [f64; 4] = [-122.70, 45.49, -122.58, 45.56];
pub const POLES: i64 = 0;
pub const CABLES: i64 = 1;
pub const PARCELS: i64 = 2;
pub const LAYERS: [i64; 3] = [POLES, CABLES, PARCELS];

const RADIUS: f64 = 6_378_137.0;

/// Web Mercator of a WGS84 longitude / latitude (the spherical formulas, written here again).
pub fn to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let x = RADIUS * lon * std::f64::consts::PI / 180.0;
    let y = RADIUS
        * (std::f64::consts::PI / 4.0 + lat * std::f64::consts::PI / 360.0)
            .tan()
            .ln();
    (x, y)
}

/// WGS84 longitude / latitude of a Web Mercator point.
pub fn to_wgs84(x: f64, y: f64) -> (f64, f64) {
    let lon = x / RADIUS * 180.0 / std::f64::consts::PI;
    let lat = (2.0 * (y / RADIUS).exp().atan() - std::f64::consts::PI / 2.0) * 180.0
        / std::f64::consts::PI;
    (lon, lat)
}

/// A WGS84 envelope in the spatial reference `wkid` (4326 or 3857).
pub fn envelope_in(env: [f64; 4], wkid: i64) -> [f64; 4] {
    if wkid == 4326 {
        return env;
    }
    let (x0, y0) = to_mercator(env[0], env[1]);
    let (x1, y1) = to_mercator(env[2], env[3]);
    [x0, y0, x1, y1]
}

/// A deterministic pseudo-random sequence in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn lon_lat(&mut self) -> (f64, f64) {
        let [x0, y0, x1, y1] = EXTENT_4326;
        (x0 + self.next() * (x1 - x0), y0 + self.next() * (y1 - y0))
    }
}

/// GridTown in `wkid` (4326 or 3857): 90 poles, 60 cables, 45 parcels (every fifth with a hole).
pub fn gridtown(wkid: i64) -> ServiceDefinition {
    let mut rng = Lcg(0x5eed_1234);
    let to_sr = |(lon, lat): (f64, f64)| -> [f64; 2] {
        if wkid == 4326 {
            [lon, lat]
        } else {
            let (x, y) = to_mercator(lon, lat);
            [x, y]
        }
    };
    let attrs = |prefix: &str, i: usize| json!({"NAME": format!("{prefix}-{i:03}"), "CATEGORY": (["A", "B", "C"][i % 3]), "RANK": (i * 7) % 23});
    let poles: Vec<Value> = (0..90)
        .map(|i| {
            let [x, y] = to_sr(rng.lon_lat());
            json!({"geometry": {"x": x, "y": y}, "attributes": attrs("POLE", i)})
        })
        .collect();
    let cables: Vec<Value> = (0..60)
        .map(|i| {
            let (lon, lat) = rng.lon_lat();
            let step = 0.004 + rng.next() * 0.02;
            let vertices: Vec<[f64; 2]> = (0..(2 + i % 4))
                .map(|k| {
                    let k = k as f64;
                    to_sr((
                        lon + k * step * (rng.next() - 0.3),
                        lat + k * step * (rng.next() - 0.5),
                    ))
                })
                .collect();
            json!({"geometry": {"paths": [vertices]}, "attributes": attrs("CABLE", i)})
        })
        .collect();
    let parcels: Vec<Value> = (0..45)
        .map(|i| {
            let (lon, lat) = rng.lon_lat();
            let (w, h) = (0.002 + rng.next() * 0.01, 0.002 + rng.next() * 0.008);
            // Clockwise outer ring (ArcGIS winding); a counter-clockwise hole in every fifth.
            let outer = [
                (lon, lat),
                (lon, lat + h),
                (lon + w, lat + h),
                (lon + w, lat),
                (lon, lat),
            ];
            let mut rings = vec![outer.iter().map(|p| to_sr(*p)).collect::<Vec<_>>()];
            if i % 5 == 0 {
                let (a, b) = (lon + w * 0.25, lat + h * 0.25);
                let (c, d) = (lon + w * 0.75, lat + h * 0.75);
                let hole = [(a, b), (c, b), (c, d), (a, d), (a, b)];
                rings.push(hole.iter().map(|p| to_sr(*p)).collect());
            }
            json!({"geometry": {"rings": rings}, "attributes": attrs("PARCEL", i)})
        })
        .collect();
    let (min, max) = (
        to_sr((EXTENT_4326[0], EXTENT_4326[1])),
        to_sr((EXTENT_4326[2], EXTENT_4326[3])),
    );
    let fields = json!([
        {"name": "NAME", "type": "esriFieldTypeString", "length": 20},
        {"name": "CATEGORY", "type": "esriFieldTypeString", "length": 1},
        {"name": "RANK", "type": "esriFieldTypeInteger"}
    ]);
    let layer = |id: i64, name: &str, kind: &str, seed: Vec<Value>| json!({"id": id, "name": name, "geometryType": kind, "fields": fields, "seed": seed});
    let def = json!({
        "name": "GridTown",
        "description": format!("Spatial test service in {wkid}"),
        "spatialReference": {"wkid": if wkid == 3857 { 102100 } else { 4326 }, "latestWkid": wkid},
        "fullExtent": {"xmin": min[0], "ymin": min[1], "xmax": max[0], "ymax": max[1],
                       "spatialReference": {"wkid": wkid}},
        "layers": [
            layer(POLES, "Poles", "esriGeometryPoint", poles),
            layer(CABLES, "Cables", "esriGeometryPolyline", cables),
            layer(PARCELS, "Parcels", "esriGeometryPolygon", parcels)
        ]
    });
    ServiceDefinition::from_json(&def.to_string()).expect("GridTown definition")
}

/// The reference service serving GridTown in `wkid`.
pub async fn start_gridtown(wkid: i64) -> Fixture {
    start_with(ServerConfig {
        definition: Some(gridtown(wkid)),
        ..Default::default()
    })
    .await
}

/// Every feature of a layer, paged through `query` (all fields, geometry in the service's SR).
pub async fn all_features(fx: &Fixture, layer: i64) -> Vec<Value> {
    let mut features = Vec::new();
    loop {
        let offset = features.len().to_string();
        let page = fx
            .post(
                &format!("{layer}/query"),
                &[
                    ("f", "json"),
                    ("where", "1=1"),
                    ("outFields", "*"),
                    ("resultOffset", &offset),
                    ("resultRecordCount", "50"),
                ],
            )
            .await;
        let got = page["features"].as_array().expect("features").clone();
        let more = page["exceededTransferLimit"] == json!(true);
        assert!(
            !got.is_empty() || !more,
            "an empty page that claims more: {page}"
        );
        features.extend(got);
        if !more {
            return features;
        }
    }
}

/// The GlobalIDs of the features (sorted).
pub fn global_ids<'a>(features: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let mut ids: Vec<String> = features
        .into_iter()
        .map(|f| {
            f["attributes"]["GlobalID"]
                .as_str()
                .expect("GlobalID")
                .to_string()
        })
        .collect();
    ids.sort();
    ids
}

fn xy(v: &Value) -> [f64; 2] {
    [v[0].as_f64().expect("x"), v[1].as_f64().expect("y")]
}

fn parts(geometry: &Value, key: &str) -> Vec<Vec<[f64; 2]>> {
    geometry[key]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| p.as_array().expect("part").iter().map(xy).collect())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether segment `a`–`b` meets the closed box (Liang–Barsky clipping).
fn segment_meets_box(a: [f64; 2], b: [f64; 2], [x0, y0, x1, y1]: [f64; 4]) -> bool {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    for (p, q) in [
        (-dx, a[0] - x0),
        (dx, x1 - a[0]),
        (-dy, a[1] - y0),
        (dy, y1 - a[1]),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t)
            } else {
                t1 = t1.min(t)
            }
        }
    }
    t0 <= t1
}

/// Even-odd point in rings.
fn inside_rings(p: [f64; 2], rings: &[Vec<[f64; 2]>]) -> bool {
    let mut inside = false;
    for ring in rings {
        for w in ring.windows(2) {
            let (a, b) = (w[0], w[1]);
            if (a[1] > p[1]) != (b[1] > p[1])
                && p[0] < a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0])
            {
                inside = !inside;
            }
        }
    }
    inside
}

fn segments_cross(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
    let orient = |p: [f64; 2], q: [f64; 2], r: [f64; 2]| {
        (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    };
    let (d1, d2) = (orient(c, d, a), orient(c, d, b));
    let (d3, d4) = (orient(a, b, c), orient(a, b, d));
    (d1 * d2 <= 0.0) && (d3 * d4 <= 0.0)
}

/// Brute force: does a feature's geometry JSON intersect the envelope (same SR)?
pub fn hits_envelope(geometry: &Value, env: [f64; 4]) -> bool {
    if geometry.get("x").is_some() {
        let [x, y] = [
            geometry["x"].as_f64().unwrap(),
            geometry["y"].as_f64().unwrap(),
        ];
        return env[0] <= x && x <= env[2] && env[1] <= y && y <= env[3];
    }
    let lines = parts(geometry, "paths");
    let rings = parts(geometry, "rings");
    let edges_meet = lines
        .iter()
        .chain(&rings)
        .any(|part| part.windows(2).any(|w| segment_meets_box(w[0], w[1], env)));
    let centre = [(env[0] + env[2]) / 2.0, (env[1] + env[3]) / 2.0];
    edges_meet || (!rings.is_empty() && inside_rings(centre, &rings))
}

/// Brute force: does a feature's geometry JSON intersect the polygon `area` (one closed ring)?
pub fn hits_polygon(geometry: &Value, area: &[[f64; 2]]) -> bool {
    let area_rings = vec![area.to_vec()];
    if geometry.get("x").is_some() {
        let p = [
            geometry["x"].as_f64().unwrap(),
            geometry["y"].as_f64().unwrap(),
        ];
        return inside_rings(p, &area_rings);
    }
    let lines = parts(geometry, "paths");
    let rings = parts(geometry, "rings");
    let crosses = lines.iter().chain(&rings).any(|part| {
        part.windows(2).any(|w| {
            area.windows(2)
                .any(|e| segments_cross(w[0], w[1], e[0], e[1]))
        })
    });
    let vertex_inside = lines
        .iter()
        .chain(&rings)
        .flatten()
        .any(|p| inside_rings(*p, &area_rings));
    let area_inside_feature = !rings.is_empty() && inside_rings(area[0], &rings);
    crosses || vertex_inside || area_inside_feature
}
