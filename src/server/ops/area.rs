//! Filter geometry in the service's spatial reference: a query's `geometry` or a replica's work
//! area read from `geometry` + `geometryType` + `inSR` (else the geometry's own
//! `spatialReference`, else the service's) and converted exactly; and a stored feature's geometry
//! as a shape (true curves densified). Refusals are ArcGIS-style envelopes naming the parameter.
//! Pure: no database.

use crate::protocol::ServiceError;
use crate::protocol::spatial::shape::parse_filter;
use crate::protocol::spatial::{Shape, SpatialError, Sr};
use crate::server::curves;
use crate::server::definition::{LayerDef, ServiceDefinition};
use geo::{Coord, MapCoords};
use serde_json::Value;

/// The service's spatial reference (WGS84 when the definition names none).
pub fn service_sr(def: &ServiceDefinition) -> Sr {
    def.spatial_reference
        .as_ref()
        .and_then(|v| Sr::from_json(v).ok())
        .unwrap_or(Sr::Wgs84)
}

/// A refused parameter: which one and why, in the words of `message` (the operation's).
pub fn invalid_parameter(message: &str, name: &str, why: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(
        400,
        message,
        vec![format!("'{name}' parameter is invalid: {why}")],
    )
}

/// `geometry` (with `geometryType` and `inSR`) as a shape in the service's spatial reference.
pub fn read_area(
    def: &ServiceDefinition,
    geometry: &str,
    geometry_type: Option<&str>,
    in_sr: Option<&str>,
    message: &str,
) -> Result<Shape, ServiceError> {
    let filter = parse_filter(geometry, geometry_type)
        .map_err(|e| invalid_parameter(message, "geometry", e))?;
    let sr = match in_sr.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => Sr::parse(text).map_err(|e| invalid_parameter(message, "inSR", e))?,
        None => filter.sr.unwrap_or_else(|| service_sr(def)),
    };
    convert(filter.shape, sr, service_sr(def)).map_err(|e| invalid_parameter(message, "inSR", e))
}

/// A shape converted between spatial references (exactly; see `protocol::spatial::sr`).
pub fn convert(shape: Shape, from: Sr, to: Sr) -> Result<Shape, SpatialError> {
    let conversion = from.to(to)?;
    Ok(Shape(shape.0.map_coords(|c| {
        let (x, y) = conversion.point(c.x, c.y);
        Coord { x, y }
    })))
}

/// A stored feature's geometry as a shape; `None` for tables, empty or unreadable geometry.
pub fn feature_shape(layer: &LayerDef, geometry: Option<&Value>) -> Option<Shape> {
    let geometry = geometry?;
    let kind = layer.geometry_type.as_deref()?;
    if curves::has_true_curves(geometry) {
        Shape::from_feature(Some(kind), &curves::densify(geometry))
    } else {
        Shape::from_feature(Some(kind), geometry)
    }
}
