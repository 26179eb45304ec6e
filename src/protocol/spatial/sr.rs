//! Spatial references by wkid and the exact conversions between them: WGS84 (4326) and spherical
//! Web Mercator (3857, with its older wkids 102100, 102113 and 900913), by the closed formulas of
//! the sphere of radius 6,378,137 m; any spatial reference converts to itself. Converting
//! geometry JSON walks every vertex and keeps z and m. No I/O; anything else is a typed
//! [`SpatialError`].

use super::SpatialError;
use serde_json::{Value, json};

/// WGS84 longitude / latitude.
pub const WGS84_WKID: i64 = 4326;
/// Web Mercator (auxiliary sphere).
pub const WEB_MERCATOR_WKID: i64 = 3857;
/// The wkids that name spherical Web Mercator.
const WEB_MERCATOR_WKIDS: [i64; 4] = [3857, 102100, 102113, 900913];
/// The sphere Web Mercator projects onto (WGS84's semi-major axis).
const EARTH_RADIUS_M: f64 = 6_378_137.0;
/// The latitude Web Mercator's square world ends at.
const MAX_MERCATOR_LATITUDE: f64 = 85.051_128_779_806_59;

/// A spatial reference, as far as this service knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sr {
    Wgs84,
    WebMercator,
    /// Any other wkid: it converts only to itself.
    Other(i64),
}

impl Sr {
    pub fn from_wkid(wkid: i64) -> Sr {
        if wkid == WGS84_WKID {
            Sr::Wgs84
        } else if WEB_MERCATOR_WKIDS.contains(&wkid) {
            Sr::WebMercator
        } else {
            Sr::Other(wkid)
        }
    }

    /// The wkid this service writes (3857 for Web Mercator).
    pub fn wkid(self) -> i64 {
        match self {
            Sr::Wgs84 => WGS84_WKID,
            Sr::WebMercator => WEB_MERCATOR_WKID,
            Sr::Other(wkid) => wkid,
        }
    }

    /// The spatial reference JSON ArcGIS writes: `{"wkid": 102100, "latestWkid": 3857}` for
    /// Web Mercator.
    pub fn to_json(self) -> Value {
        match self {
            Sr::Wgs84 => json!({"wkid": WGS84_WKID, "latestWkid": WGS84_WKID}),
            Sr::WebMercator => json!({"wkid": 102100, "latestWkid": WEB_MERCATOR_WKID}),
            Sr::Other(wkid) => json!({"wkid": wkid, "latestWkid": wkid}),
        }
    }

    /// A spatial reference object (`latestWkid` first, then `wkid`), or a bare number.
    pub fn from_json(value: &Value) -> Result<Sr, SpatialError> {
        let wkid = match value {
            Value::Object(o) => o
                .get("latestWkid")
                .and_then(Value::as_i64)
                .or_else(|| o.get("wkid").and_then(Value::as_i64)),
            other => other.as_i64(),
        };
        wkid.map(Sr::from_wkid)
            .ok_or_else(|| SpatialError::UnreadableSr(value.to_string()))
    }

    /// A parameter's text: a wkid (`4326`) or spatial reference JSON (`{"wkid":102100}`).
    pub fn parse(text: &str) -> Result<Sr, SpatialError> {
        let text = text.trim();
        if let Ok(wkid) = text.parse::<i64>() {
            return Ok(Sr::from_wkid(wkid));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|_| SpatialError::UnreadableSr(text.chars().take(80).collect()))?;
        Sr::from_json(&value)
    }

    /// The conversion from `self` to `to`, when it is exact.
    pub fn to(self, to: Sr) -> Result<Conversion, SpatialError> {
        match (self, to) {
            (a, b) if a == b => Ok(Conversion::Identity),
            (Sr::Wgs84, Sr::WebMercator) => Ok(Conversion::ToMercator),
            (Sr::WebMercator, Sr::Wgs84) => Ok(Conversion::ToWgs84),
            (from, to) => Err(SpatialError::Unconvertible {
                from: from.wkid(),
                to: to.wkid(),
            }),
        }
    }
}

/// An exact conversion of coordinates between two spatial references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    Identity,
    ToMercator,
    ToWgs84,
}

impl Conversion {
    /// One `x, y` pair (longitude, latitude in degrees for WGS84; metres for Web Mercator).
    /// Latitudes beyond Web Mercator's square world are clamped to its edge.
    pub fn point(self, x: f64, y: f64) -> (f64, f64) {
        match self {
            Conversion::Identity => (x, y),
            Conversion::ToMercator => {
                let lat = y.clamp(-MAX_MERCATOR_LATITUDE, MAX_MERCATOR_LATITUDE);
                let mx = EARTH_RADIUS_M * x.to_radians();
                let my = EARTH_RADIUS_M
                    * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
                        .tan()
                        .ln();
                (mx, my)
            }
            Conversion::ToWgs84 => {
                let lon = (x / EARTH_RADIUS_M).to_degrees();
                let lat = (2.0 * (y / EARTH_RADIUS_M).exp().atan() - std::f64::consts::FRAC_PI_2)
                    .to_degrees();
                (lon, lat)
            }
        }
    }

    /// Converts every vertex of geometry JSON in place (a point's `x`/`y`, an envelope's
    /// corners, the vertices of `points`, `paths` and `rings`), keeping z and m, and sets its
    /// `spatialReference` to `to` when it had one.
    pub fn geometry_json(self, geometry: &mut Value, to: Sr) {
        let Some(object) = geometry.as_object_mut() else {
            return;
        };
        if self != Conversion::Identity {
            for (xk, yk) in [("x", "y"), ("xmin", "ymin"), ("xmax", "ymax")] {
                let x = object.get(xk).and_then(Value::as_f64);
                let y = object.get(yk).and_then(Value::as_f64);
                if let (Some(x), Some(y)) = (x, y) {
                    let (cx, cy) = self.point(x, y);
                    object.insert(xk.into(), json!(cx));
                    object.insert(yk.into(), json!(cy));
                }
            }
            for key in ["points", "paths", "rings", "curvePaths", "curveRings"] {
                if let Some(v) = object.get_mut(key) {
                    self.vertices(v);
                }
            }
        }
        if object.contains_key("spatialReference") {
            object.insert("spatialReference".into(), to.to_json());
        }
    }

    /// Every vertex (an array that starts with two numbers) under `value`.
    fn vertices(self, value: &mut Value) {
        match value {
            Value::Array(items) => {
                let xy = (
                    items.first().and_then(Value::as_f64),
                    items.get(1).and_then(Value::as_f64),
                );
                if let (Some(x), Some(y)) = xy {
                    let (cx, cy) = self.point(x, y);
                    items[0] = json!(cx);
                    items[1] = json!(cy);
                } else {
                    items.iter_mut().for_each(|v| self.vertices(v));
                }
            }
            Value::Object(o) => o.values_mut().for_each(|v| self.vertices(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_mercator_round_trips_and_matches_known_values() {
        let (x, y) = Conversion::ToMercator.point(-122.6, 45.5);
        // EPSG:3857 of (-122.6, 45.5), from the closed formulas.
        assert!((x - -13_647_769.571_255).abs() < 1e-3, "{x}");
        assert!((y - 5_700_582.732_404).abs() < 1e-3, "{y}");
        let (lon, lat) = Conversion::ToWgs84.point(x, y);
        assert!((lon - -122.6).abs() < 1e-9 && (lat - 45.5).abs() < 1e-9);
        assert_eq!(
            Conversion::ToMercator.point(180.0, 0.0).0,
            20_037_508.342_789_244
        );
    }

    #[test]
    fn aliases_and_unconvertible_pairs() {
        assert_eq!(Sr::parse("102100"), Ok(Sr::WebMercator));
        assert_eq!(
            Sr::parse(r#"{"wkid":102100,"latestWkid":3857}"#),
            Ok(Sr::WebMercator)
        );
        assert_eq!(Sr::parse(" 4326 "), Ok(Sr::Wgs84));
        assert!(matches!(
            Sr::parse(r#"{"wkt":"PROJCS[..]"}"#),
            Err(SpatialError::UnreadableSr(_))
        ));
        assert_eq!(
            Sr::Other(2263).to(Sr::Other(2263)),
            Ok(Conversion::Identity)
        );
        assert_eq!(
            Sr::Other(2263).to(Sr::Wgs84),
            Err(SpatialError::Unconvertible {
                from: 2263,
                to: 4326
            })
        );
    }

    #[test]
    fn geometry_json_converts_vertices_and_keeps_z() {
        let mut g = json!({"paths": [[[0.0, 0.0, 7.0], [180.0, 0.0, 8.0]]],
                           "spatialReference": {"wkid": 4326}});
        Conversion::ToMercator.geometry_json(&mut g, Sr::WebMercator);
        assert_eq!(g["paths"][0][1][0], json!(20_037_508.342_789_244));
        assert_eq!(g["paths"][0][1][2], json!(8.0));
        assert_eq!(g["spatialReference"]["latestWkid"], json!(3857));
    }
}
