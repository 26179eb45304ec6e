//! Pure spatial code the reference service and the client share (no I/O): reading ArcGIS
//! geometry JSON (and the query's shorthand forms) into `geo` shapes (`shape`), the spatial
//! relations of a query or a replica's work area (`relation`), exact conversion between the
//! spatial references the service understands (`sr`: WGS84 4326, spherical Web Mercator 3857
//! with its alias 102100, and the service's own), generalising geometry for previews
//! (`generalize`) and writing GeoJSON (`geojson_out`). Must not do I/O or know the server.

pub mod generalize;
pub mod geojson_in;
pub mod geojson_out;
pub mod relation;
pub mod shape;
pub mod sr;

pub use relation::SpatialRel;
pub use shape::Shape;
pub use sr::Sr;

/// A geometry or spatial reference that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpatialError {
    /// The geometry text is neither geometry JSON of its type nor a shorthand form.
    #[error("the geometry is not understood: {0}")]
    Malformed(String),
    /// An envelope whose minimum exceeds its maximum.
    #[error(
        "the envelope is inverted (xmin {xmin} > xmax {xmax} or ymin {ymin} > ymax {ymax}): give xmin,ymin,xmax,ymax"
    )]
    InvertedEnvelope {
        xmin: f64,
        ymin: f64,
        xmax: f64,
        ymax: f64,
    },
    /// A geometry type the operation does not take.
    #[error(
        "geometry type {0:?} is not supported here: use esriGeometryEnvelope, esriGeometryPolygon, esriGeometryPolyline, esriGeometryPoint or esriGeometryMultipoint"
    )]
    UnsupportedType(String),
    /// A spatial reference that is not written as a wkid.
    #[error("the spatial reference {0} is not understood: give a wkid such as 4326 or 3857")]
    UnreadableSr(String),
    /// No exact conversion between the two spatial references.
    #[error(
        "cannot convert from spatial reference {from} to {to}: this service converts only between 4326 and 3857 (102100) and its own spatial reference"
    )]
    Unconvertible { from: i64, to: i64 },
}
