//! Writing features as GeoJSON (RFC 7946, `f=geojson`): geometry JSON already in WGS84 becomes a
//! GeoJSON geometry with outer rings counter-clockwise and holes clockwise (single parts as
//! Point, LineString and Polygon); a feature keeps its object id as `id` and its attributes as
//! `properties`. No I/O.

use super::shape::Shape;
use geo::{Geometry, Orient, orient::Direction};
use geojson::{Feature, FeatureCollection, GeometryValue, feature::Id};
use serde_json::{Map, Value};

/// A GeoJSON geometry for WGS84 geometry JSON of `geometry_type`; `None` when it is empty or not
/// understood.
pub fn geometry(geometry_type: Option<&str>, esri: &Value) -> Option<geojson::Geometry> {
    let shape = Shape::from_feature(geometry_type, esri)?;
    let value = match shape.0 {
        Geometry::MultiPolygon(mp) if mp.0.len() == 1 => {
            GeometryValue::from(&mp.0[0].orient(Direction::Default))
        }
        Geometry::MultiPolygon(mp) => GeometryValue::from(&mp.orient(Direction::Default)),
        Geometry::MultiLineString(ml) if ml.0.len() == 1 => GeometryValue::from(&ml.0[0]),
        other => GeometryValue::from(&other),
    };
    Some(geojson::Geometry::from(value))
}

/// One GeoJSON feature.
pub fn feature(
    id: Option<i64>,
    geometry: Option<geojson::Geometry>,
    properties: Map<String, Value>,
) -> Feature {
    Feature {
        bbox: None,
        geometry,
        id: id.map(|i| Id::Number(i.into())),
        properties: Some(properties),
        foreign_members: None,
    }
}

/// A FeatureCollection; `exceededTransferLimit` rides along as a foreign member (ArcGIS does so)
/// when more features match than the page holds.
pub fn collection(features: Vec<Feature>, exceeded_transfer_limit: bool) -> FeatureCollection {
    let foreign_members = exceeded_transfer_limit.then(|| {
        let mut m = Map::new();
        m.insert("exceededTransferLimit".into(), Value::Bool(true));
        m
    });
    FeatureCollection {
        bbox: None,
        features,
        foreign_members,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn polygon_rings_follow_the_right_hand_rule() {
        // ArcGIS winding: outer ring clockwise.
        let esri = json!({"rings": [[[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]]});
        let g =
            serde_json::to_value(geometry(Some("esriGeometryPolygon"), &esri).unwrap()).unwrap();
        assert_eq!(g["type"], "Polygon");
        assert_eq!(
            g["coordinates"][0][1],
            json!([1.0, 0.0]),
            "counter-clockwise: {g}"
        );
        let point =
            serde_json::to_value(geometry(None, &json!({"x": 1.5, "y": 2.0})).unwrap()).unwrap();
        assert_eq!(point, json!({"type": "Point", "coordinates": [1.5, 2.0]}));
        let line =
            serde_json::to_value(geometry(None, &json!({"paths": [[[0, 0], [1, 1]]]})).unwrap())
                .unwrap();
        assert_eq!(line["type"], "LineString");
    }
}
