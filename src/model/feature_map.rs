//! What a map is drawn from, as the engine sends it: one feature of a replica with its local and
//! server geometry, its neighbours and the replica's work area ([`FeatureMap`]); and a preview of
//! a service's layers for choosing a work area ([`ServicePreview`]). Geometry stays ArcGIS
//! geometry JSON with its geometry type; the window turns it into shapes. Plain data, no I/O.

use super::extent::Extent;
use super::ids::LocalReplicaId;
use crate::protocol::Guid;
use serde_json::Value;

/// A geometry as the replica file or the service holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct MapGeometry {
    /// `esriGeometryPoint`, `esriGeometryPolyline`, … (None: inferred from the JSON's keys).
    pub geometry_type: Option<String>,
    pub json: Value,
}

/// A feature near the selected one.
#[derive(Debug, Clone, PartialEq)]
pub struct NeighbourFeature {
    pub layer_id: i64,
    pub global_id: String,
    pub geometry: MapGeometry,
}

/// Most neighbours one [`FeatureMap`] carries.
pub const MAX_NEIGHBOURS: usize = 500;

/// One feature of a replica on a map, read from its replica file (it works offline).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMap {
    pub replica: LocalReplicaId,
    pub layer_id: i64,
    pub global_id: Guid,
    /// The layer's name, for the legend.
    pub layer_name: String,
    /// The spatial reference of every geometry here (the service's), when known.
    pub wkid: Option<i64>,
    /// The feature as the technician sees it (the server's with the queued change laid over);
    /// None when it is deleted locally or has no geometry.
    pub local: Option<MapGeometry>,
    /// The server's version, as last downloaded; None for a local add.
    pub server: Option<MapGeometry>,
    /// True when both exist and their geometry JSON differs.
    pub geometry_differs: bool,
    /// Features of the replica (any of its layers) within the search radius, at most
    /// [`MAX_NEIGHBOURS`]; `neighbours_capped` says when more were there.
    pub neighbours: Vec<NeighbourFeature>,
    pub neighbours_capped: bool,
    /// The replica's work area, when the replica file knows one.
    pub work_area: Option<MapGeometry>,
}

/// One layer of a service preview.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewLayer {
    pub layer_id: i64,
    pub name: String,
    pub geometry_type: Option<String>,
    /// Geometries, simplified to the preview's resolution.
    pub geometries: Vec<Value>,
    /// True when the layer holds more features than the preview's cap.
    pub capped: bool,
    /// Why the layer could not be read, if it could not.
    pub error: Option<String>,
}

/// The chosen layers of a service over its full extent, for the area picker.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePreview {
    pub service_url: String,
    pub wkid: Option<i64>,
    pub full_extent: Option<Extent>,
    pub layers: Vec<PreviewLayer>,
}
