//! GeoJSON features (RFC 7946: WGS 84 longitude and latitude) as ArcGIS features: the
//! properties become attributes, the geometry ArcGIS geometry JSON in wkid 4326 (polygons with
//! clockwise outer rings). Used for batches of local adds. Pure; reads no file.

use super::shape::Shape;
use super::sr::{Sr, WGS84_WKID};
use crate::protocol::Feature;
use serde_json::Value;

/// The features of a GeoJSON `FeatureCollection` (or one `Feature`), in order; the first one
/// that cannot be read is named by its position (`features[3]: …`).
pub fn features(value: &Value) -> Result<Vec<Feature>, String> {
    match value.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {
            let list = value
                .get("features")
                .and_then(Value::as_array)
                .ok_or("a FeatureCollection without a \"features\" array")?;
            list.iter()
                .enumerate()
                .map(|(i, f)| feature(f).map_err(|e| format!("features[{i}]: {e}")))
                .collect()
        }
        Some("Feature") => Ok(vec![feature(value)?]),
        other => Err(format!(
            "not GeoJSON features (its \"type\" is {}; expected FeatureCollection or Feature)",
            other.map_or_else(|| "missing".to_owned(), |t| format!("{t:?}"))
        )),
    }
}

fn feature(value: &Value) -> Result<Feature, String> {
    if value.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err("not a GeoJSON Feature".into());
    }
    let attributes = match value.get("properties") {
        Some(Value::Object(properties)) => properties.clone(),
        None | Some(Value::Null) => Default::default(),
        Some(_) => return Err("\"properties\" is not an object".into()),
    };
    let geometry = match value.get("geometry") {
        None | Some(Value::Null) => None,
        Some(geometry) => Some(esri_geometry(geometry)?),
    };
    Ok(Feature {
        geometry,
        attributes,
    })
}

fn esri_geometry(value: &Value) -> Result<Value, String> {
    let geometry: geojson::Geometry = serde_json::from_value(value.clone())
        .map_err(|e| format!("the geometry is not GeoJSON ({e})"))?;
    let shape = geo::Geometry::<f64>::try_from(&geometry.value)
        .map_err(|e| format!("the geometry cannot be used ({e})"))?;
    let shape = match shape {
        // ArcGIS has no single line: a polyline of one path.
        geo::Geometry::LineString(line) => geo::Geometry::MultiLineString(line.into()),
        geo::Geometry::GeometryCollection(_) => {
            return Err("a GeometryCollection has no ArcGIS geometry type".into());
        }
        other => other,
    };
    Ok(Shape(shape).to_esri(Sr::from_wkid(WGS84_WKID)).1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn points_lines_and_polygons_become_arcgis_geometry_in_4326() {
        let collection = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"FacilityID": "H-1"},
             "geometry": {"type": "Point", "coordinates": [-122.6, 45.5]}},
            {"type": "Feature", "properties": null,
             "geometry": {"type": "LineString", "coordinates": [[0.0, 0.0], [1.0, 1.0]]}},
            {"type": "Feature", "properties": {},
             "geometry": {"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]}},
            {"type": "Feature", "properties": {"Notes": "no geometry"}, "geometry": null}
        ]});
        let read = features(&collection).unwrap();
        assert_eq!(read.len(), 4);
        assert_eq!(read[0].attributes["FacilityID"], "H-1");
        let point = read[0].geometry.as_ref().unwrap();
        assert_eq!(
            (point["x"].as_f64(), point["y"].as_f64()),
            (Some(-122.6), Some(45.5))
        );
        assert_eq!(point["spatialReference"]["wkid"], 4326);
        assert_eq!(
            read[1].geometry.as_ref().unwrap()["paths"],
            json!([[[0.0, 0.0], [1.0, 1.0]]])
        );
        // Clockwise outer ring, as ArcGIS writes it.
        assert_eq!(
            read[2].geometry.as_ref().unwrap()["rings"],
            json!([[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]])
        );
        assert!(read[3].geometry.is_none());
    }

    #[test]
    fn the_first_bad_feature_is_named_by_its_position() {
        let collection = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1.0, 2.0]}},
            {"type": "Feature", "properties": [1, 2], "geometry": null}
        ]});
        let error = features(&collection).unwrap_err();
        assert!(error.starts_with("features[1]: "), "{error}");
        let error = features(&json!({"type": "Feature", "properties": {},
            "geometry": {"type": "Point", "coordinates": "here"}}))
        .unwrap_err();
        assert!(error.contains("not GeoJSON"), "{error}");
        assert!(
            features(&json!([1, 2]))
                .unwrap_err()
                .contains("not GeoJSON features")
        );
    }
}
