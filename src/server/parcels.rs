//! Generated parcels, for large-replica benchmarks anyone can reproduce from a shell
//! (`syncwatch serve --generate-polygons N`, `POST /admin/generate`): the `Parcels` polygon
//! layer added to a definition that has none, and N parcels written into a polygon layer of the
//! service in one transaction. Each parcel is a closed clockwise ring of 5 to 12 points (4 to 11
//! corners and the first again) inside its own cell of a 1024 × 1024 grid over the service's
//! full extent, in the service's spatial reference, with a parcel id, zoning, area, land value,
//! last sale date and a GlobalID. Deterministic: the same database state gives the same parcels.
//!
//! What it must not do: hold the parcels in memory (each row is made, written and dropped), or
//! touch a layer that is not a polygon layer.

use crate::server::db::{Inserted, NewRow, ServiceDb, ServiceDbError};
use crate::server::definition::{DefinitionError, GLOBAL_ID_FIELD, LayerDef, ServiceDefinition};
use serde_json::{Value, json};
use std::f64::consts::TAU;
use std::fmt::Write as _;

/// The geometry type of the layers parcels go into.
pub const POLYGON: &str = "esriGeometryPolygon";

/// The name of the layer [`with_parcels_layer`] adds.
pub const PARCELS_LAYER_NAME: &str = "Parcels";

/// Cells per side of the grid parcels are laid out on (about a million cells).
const GRID: i64 = 1024;

/// The extent used when the definition has none (the demo network's).
const DEFAULT_EXTENT: Extent = Extent {
    xmin: -122.7,
    ymin: 45.49,
    xmax: -122.58,
    ymax: 45.56,
};

const ZONING: [&str; 8] = ["R1", "R2", "R3", "RM", "C1", "C2", "I1", "AG"];

/// Why parcels could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("the service has no polygon layer to generate parcels in")]
    NoPolygonLayer,
    #[error("layer {0} is not a polygon layer of this service")]
    NotAPolygonLayer(i64),
    #[error("could not store the generated parcels")]
    Db(#[from] ServiceDbError),
}

/// What [`generate`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    pub layer_id: i64,
    pub inserted: Inserted,
}

/// `def` with a `Parcels` polygon layer (the next free id) when it has no polygon layer yet;
/// unchanged otherwise.
pub fn with_parcels_layer(def: ServiceDefinition) -> Result<ServiceDefinition, DefinitionError> {
    if polygon_layer(&def, None).is_ok() {
        return Ok(def);
    }
    let id = def.all_layers().map(|l| l.id).max().map_or(0, |m| m + 1);
    let layer: LayerDef = serde_json::from_value(json!({
        "id": id,
        "name": PARCELS_LAYER_NAME,
        "geometryType": POLYGON,
        "fields": [
            {"name": "ParcelID", "type": "esriFieldTypeString", "alias": "Parcel ID", "length": 16, "nullable": false},
            {"name": "Zoning", "type": "esriFieldTypeString", "alias": "Zoning", "length": 8},
            {"name": "Area_m2", "type": "esriFieldTypeDouble", "alias": "Area (m²)"},
            {"name": "LandValue", "type": "esriFieldTypeInteger", "alias": "Land value"},
            {"name": "LastSale", "type": "esriFieldTypeDate", "alias": "Last sale", "length": 8}
        ]
    }))?;
    def.with_layer(layer)
}

/// The polygon layer parcels go into: `wanted`, or the first polygon layer.
pub fn polygon_layer(def: &ServiceDefinition, wanted: Option<i64>) -> Result<i64, GenerateError> {
    let is_polygon = |l: &&LayerDef| l.geometry_type.as_deref() == Some(POLYGON);
    match wanted {
        Some(id) => def
            .layers
            .iter()
            .find(|l| l.id == id)
            .filter(is_polygon)
            .map(|l| l.id)
            .ok_or(GenerateError::NotAPolygonLayer(id)),
        None => def
            .layers
            .iter()
            .find(is_polygon)
            .map(|l| l.id)
            .ok_or(GenerateError::NoPolygonLayer),
    }
}

/// Writes `count` generated parcels into `layer` (default: the first polygon layer) in one
/// transaction at one new generation.
pub fn generate(
    db: &mut ServiceDb,
    def: &ServiceDefinition,
    layer: Option<i64>,
    count: u64,
) -> Result<Generated, GenerateError> {
    let layer_id = polygon_layer(def, layer)?;
    let started = std::time::Instant::now();
    let extent = Extent::of(def);
    let mut rng: Option<fastrand::Rng> = None;
    let inserted = db.insert_many(layer_id, count, |object_id| {
        // Seeded by the first object id: the same database state gives the same parcels, and a
        // second batch gets other GlobalIDs.
        let rng = rng.get_or_insert_with(|| fastrand::Rng::with_seed(object_id as u64));
        parcel(rng, &extent, object_id)
    })?;
    tracing::info!(
        layer_id,
        count,
        first_object_id = inserted.first_object_id,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "parcels generated"
    );
    Ok(Generated { layer_id, inserted })
}

/// A rectangle in the service's spatial reference.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Extent {
    xmin: f64,
    ymin: f64,
    xmax: f64,
    ymax: f64,
}

impl Extent {
    /// The definition's full extent, or the demo network's when it has none (or a bad one).
    fn of(def: &ServiceDefinition) -> Extent {
        let Some(value) = def.full_extent.as_ref() else {
            return DEFAULT_EXTENT;
        };
        let get = |k: &str| {
            value
                .get(k)
                .and_then(Value::as_f64)
                .filter(|v| v.is_finite())
        };
        match (get("xmin"), get("ymin"), get("xmax"), get("ymax")) {
            (Some(xmin), Some(ymin), Some(xmax), Some(ymax)) if xmax > xmin && ymax > ymin => {
                Extent {
                    xmin,
                    ymin,
                    xmax,
                    ymax,
                }
            }
            _ => DEFAULT_EXTENT,
        }
    }

    /// Geographic coordinates (degrees) rather than projected ones (metres).
    fn is_geographic(&self) -> bool {
        self.xmin >= -180.0 && self.xmax <= 180.0 && self.ymin >= -90.0 && self.ymax <= 90.0
    }
}

/// One parcel: a star-shaped ring around the centre of cell `object_id mod GRID²`.
fn parcel(rng: &mut fastrand::Rng, extent: &Extent, object_id: i64) -> NewRow {
    let cell = object_id.rem_euclid(GRID * GRID);
    let (col, row) = (cell % GRID, cell / GRID);
    let width = (extent.xmax - extent.xmin) / GRID as f64;
    let height = (extent.ymax - extent.ymin) / GRID as f64;
    let cx = extent.xmin + (col as f64 + 0.5) * width;
    let cy = extent.ymin + (row as f64 + 0.5) * height;
    let geographic = extent.is_geographic();
    let scale = if geographic { 1e7 } else { 1e3 };
    let round = |v: f64| (v * scale).round() / scale;
    let corners = rng.usize(4..=11);
    let step = TAU / corners as f64;
    let start = rng.f64() * step;
    let mut ring: Vec<(f64, f64)> = (0..corners)
        .map(|i| {
            // Clockwise (decreasing angles), as ArcGIS wants an outer ring.
            let angle = -(start + i as f64 * step + (rng.f64() - 0.5) * 0.6 * step);
            let reach = 0.30 + 0.15 * rng.f64();
            (
                round(cx + reach * width * angle.cos()),
                round(cy + reach * height * angle.sin()),
            )
        })
        .collect();
    ring.push(ring[0]);
    let mut geometry = String::with_capacity(32 + ring.len() * 28);
    geometry.push_str("{\"rings\":[[");
    for (i, (x, y)) in ring.iter().enumerate() {
        if i > 0 {
            geometry.push(',');
        }
        let _ = write!(geometry, "[{x},{y}]");
    }
    geometry.push_str("]]}");
    let area = ring_area(&ring, geographic, cy);
    let global_id = guid(rng);
    let zoning = ZONING[rng.usize(..ZONING.len())];
    let attributes = json!({
        GLOBAL_ID_FIELD: global_id,
        "ParcelID": format!("PCL-{object_id:08}"),
        "Zoning": zoning,
        "Area_m2": (area * 100.0).round() / 100.0,
        "LandValue": rng.i64(20_000..2_000_000),
        // 1990-01-01 .. 2025-01-01, midnight UTC.
        "LastSale": (7305 + rng.i64(0..12_784)) * 86_400_000,
    });
    NewRow {
        global_id,
        attributes: attributes.to_string(),
        geometry: Some(geometry),
    }
}

/// The ring's area in square metres (shoelace; degrees scaled at latitude `lat`).
fn ring_area(ring: &[(f64, f64)], geographic: bool, lat: f64) -> f64 {
    let twice: f64 = ring
        .windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum();
    let area = twice.abs() / 2.0;
    if geographic {
        let metres_per_degree = 111_320.0;
        area * metres_per_degree * metres_per_degree * lat.to_radians().cos()
    } else {
        area
    }
}

/// A random (version 4) GlobalID in ArcGIS's braced upper-case form.
fn guid(rng: &mut fastrand::Rng) -> String {
    let bytes = rng.u128(..).to_le_bytes();
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    format!("{{{}}}", id.hyphenated()).to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Guid;
    use crate::protocol::spatial::Shape;

    #[test]
    fn parcels_are_closed_clockwise_rings_inside_their_cell_with_valid_globalids() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut seen = std::collections::HashSet::new();
        for object_id in 1..=500 {
            let row = parcel(&mut rng, &DEFAULT_EXTENT, object_id);
            let geometry: Value = serde_json::from_str(row.geometry.as_deref().unwrap()).unwrap();
            let ring = geometry["rings"][0].as_array().unwrap();
            assert!((5..=12).contains(&ring.len()), "{} points", ring.len());
            assert_eq!(ring.first(), ring.last());
            let points: Vec<(f64, f64)> = ring
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                .collect();
            let signed: f64 = points
                .windows(2)
                .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
                .sum();
            assert!(signed < 0.0, "clockwise");
            let width = (DEFAULT_EXTENT.xmax - DEFAULT_EXTENT.xmin) / GRID as f64;
            let cx = DEFAULT_EXTENT.xmin + (object_id as f64 + 0.5) * width;
            assert!(points.iter().all(|p| (p.0 - cx).abs() < width / 2.0));
            assert!(Shape::from_feature(Some(POLYGON), &geometry).is_some());
            let attributes: Value = serde_json::from_str(&row.attributes).unwrap();
            assert_eq!(attributes["GlobalID"], row.global_id);
            assert!(Guid::parse(&row.global_id).is_ok());
            assert!(attributes["Area_m2"].as_f64().unwrap() > 0.0);
            assert!(seen.insert(row.global_id));
        }
    }

    #[test]
    fn the_parcels_layer_is_added_once_and_only_polygon_layers_take_parcels() {
        let demo = ServiceDefinition::demo().unwrap();
        assert!(matches!(
            polygon_layer(&demo, None),
            Err(GenerateError::NoPolygonLayer)
        ));
        let with = with_parcels_layer(demo.clone()).unwrap();
        let id = polygon_layer(&with, None).unwrap();
        assert_eq!(with.layer(id).unwrap().name, PARCELS_LAYER_NAME);
        assert!(with.layer(id).unwrap().field("GlobalID").is_some());
        assert_eq!(with_parcels_layer(with.clone()).unwrap(), with);
        assert!(matches!(
            polygon_layer(&with, Some(0)),
            Err(GenerateError::NotAPolygonLayer(0))
        ));
    }
}
