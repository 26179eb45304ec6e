//! The data the window's maps are drawn from. `Command::LoadFeatureMap`: one feature of a replica
//! read from its replica file (local and server geometry, the neighbours within a radius,
//! capped; the work area when the file knows one) — offline, inside `spawn_blocking`.
//! `Command::LoadServicePreview`: the chosen layers of a service over its full extent, one
//! simplified and capped `query` each, for the create-replica wizard's area picker. Each runs as
//! its own task; neither writes anything.

use super::Deps;
use super::api::{CommandId, Event};
use super::error::{EngineError, chain};
use crate::geodatabase::replica_file::ReplicaFile;
use crate::model::{
    Extent, FeatureMap, LocalReplicaId, MAX_NEIGHBOURS, MapGeometry, NeighbourFeature,
    PreviewLayer, Secret, ServicePreview, WorkArea,
};
use crate::protocol::spatial::{Shape, Sr};
use crate::protocol::{Guid, QueryParams};
use serde_json::Value;

/// The preview's resolution: the generalisation offset is the full extent's width over this.
const PREVIEW_RESOLUTION: f64 = 2000.0;
/// Most features one preview layer asks for, whatever the command says.
pub const MAX_PREVIEW_FEATURES: usize = 5000;

/// Loads the map of one feature and sends [`Event::FeatureMap`], or the command's
/// `CommandFailed`.
pub(crate) async fn load(
    deps: Deps,
    command: Option<CommandId>,
    replica: LocalReplicaId,
    layer_id: i64,
    global_id: Guid,
) {
    let read = async {
        let record = deps.with_store(move |s| s.replica(replica)).await?;
        let path = record.file_path;
        tokio::task::spawn_blocking(move || -> Result<FeatureMap, EngineError> {
            let file = ReplicaFile::open(&path)?;
            feature_map(&file, replica, layer_id, global_id)
        })
        .await?
    };
    match read.await {
        Ok(map) => deps.events.send(Event::FeatureMap(Box::new(map))),
        Err(e) => super::job::answer_failed(&deps, command, "load the feature's map", &e),
    }
}

/// The geometry type of a layer as its cached properties name it.
fn layer_geometry_type(file: &ReplicaFile, layer_id: i64) -> Option<String> {
    file.layer_info(layer_id)
        .ok()
        .flatten()
        .and_then(|l| l.geometry_type)
}

/// How far around the feature neighbours are looked for: three times its size, at least about
/// 500 m (0.005° in WGS84).
fn search_radius(bounds: &Extent, wkid: Option<i64>) -> f64 {
    let floor = if wkid == Some(4326) { 0.005 } else { 500.0 };
    (bounds.width().max(bounds.height()) * 3.0).max(floor)
}

fn feature_map(
    file: &ReplicaFile,
    replica: LocalReplicaId,
    layer_id: i64,
    global_id: Guid,
) -> Result<FeatureMap, EngineError> {
    let wkid = file
        .service_info()?
        .and_then(|s| s.spatial_reference)
        .and_then(|sr| Sr::from_json(&sr).ok())
        .map(Sr::wkid);
    let geometry_type = layer_geometry_type(file, layer_id);
    let layer_name = file
        .definition()?
        .layers
        .iter()
        .find(|l| l.layer_id == layer_id)
        .map(|l| l.name.clone())
        .unwrap_or_else(|| format!("layer {layer_id}"));
    let geometry = |g: Option<Value>| {
        g.filter(|v| !v.is_null()).map(|json| MapGeometry {
            geometry_type: geometry_type.clone(),
            json,
        })
    };
    let local = geometry(
        file.local_feature(layer_id, &global_id)?
            .and_then(|f| f.geometry),
    );
    let server = geometry(
        file.server_feature(layer_id, &global_id)?
            .and_then(|f| f.geometry),
    );
    let geometry_differs = matches!((&local, &server), (Some(a), Some(b)) if a.json != b.json);
    let bounds = [&local, &server]
        .into_iter()
        .flatten()
        .filter_map(|g| Shape::from_feature(g.geometry_type.as_deref(), &g.json)?.bbox())
        .map(|r| Extent::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y], wkid))
        .reduce(|a, b| a.union(&b));
    let (neighbours, neighbours_capped) = match bounds {
        Some(b) => {
            let around = b.grown(search_radius(&b, wkid));
            let (found, capped) = file.features_near(
                [around.xmin, around.ymin, around.xmax, around.ymax],
                Some((layer_id, global_id.as_str())),
                MAX_NEIGHBOURS,
                &|layer| layer_geometry_type(file, layer),
            )?;
            let mut types: std::collections::HashMap<i64, Option<String>> = Default::default();
            let neighbours = found
                .into_iter()
                .map(|n| NeighbourFeature {
                    geometry: MapGeometry {
                        geometry_type: types
                            .entry(n.layer_id)
                            .or_insert_with(|| layer_geometry_type(file, n.layer_id))
                            .clone(),
                        json: n.geometry,
                    },
                    layer_id: n.layer_id,
                    global_id: n.global_id,
                })
                .collect();
            (neighbours, capped)
        }
        None => (Vec::new(), false),
    };
    Ok(FeatureMap {
        replica,
        layer_id,
        global_id,
        layer_name,
        wkid,
        local,
        server,
        geometry_differs,
        neighbours,
        neighbours_capped,
        work_area: file
            .work_area()?
            .and_then(|area| work_area_geometry(&area, wkid)),
    })
}

/// The replica's work area as a polygon in the map's spatial reference; `None` for the whole
/// service, or when the area's SR cannot be converted exactly to the map's.
fn work_area_geometry(area: &WorkArea, map_wkid: Option<i64>) -> Option<MapGeometry> {
    let rings = match area {
        WorkArea::WholeService => return None,
        WorkArea::Extent(e) => vec![vec![
            [e.xmin, e.ymin],
            [e.xmin, e.ymax],
            [e.xmax, e.ymax],
            [e.xmax, e.ymin],
            [e.xmin, e.ymin],
        ]],
        WorkArea::Polygon { rings, .. } => rings.clone(),
    };
    let mut json = serde_json::json!({ "rings": rings });
    if let (Some(from), Some(to)) = (area.wkid(), map_wkid)
        && from != to
    {
        let (from, to) = (Sr::from_wkid(from), Sr::from_wkid(to));
        from.to(to).ok()?.geometry_json(&mut json, to);
    }
    Some(MapGeometry {
        geometry_type: Some("esriGeometryPolygon".to_owned()),
        json,
    })
}

/// Loads a preview of `layers` of the service and sends [`Event::ServicePreview`], or the
/// command's `CommandFailed` when the service itself cannot be read. A layer that fails is
/// sent with its error.
pub(crate) async fn preview(
    deps: Deps,
    command: Option<CommandId>,
    service_url: String,
    token: Option<Secret>,
    layers: Vec<i64>,
    max_features: usize,
) {
    match read_preview(&deps, &service_url, token, &layers, max_features).await {
        Ok(p) => deps.events.send(Event::ServicePreview(Box::new(p))),
        Err(e) => super::job::answer_failed(&deps, command, "load the service preview", &e),
    }
}

/// An extent JSON (`xmin`…`ymax`, with its `spatialReference`).
fn extent_of(value: &Value) -> Option<Extent> {
    let n = |k: &str| value.get(k).and_then(Value::as_f64);
    let wkid = value
        .get("spatialReference")
        .and_then(|sr| Sr::from_json(sr).ok())
        .map(Sr::wkid);
    let e = Extent {
        xmin: n("xmin")?,
        ymin: n("ymin")?,
        xmax: n("xmax")?,
        ymax: n("ymax")?,
        wkid,
    };
    e.is_valid().then_some(e)
}

async fn read_preview(
    deps: &Deps,
    service_url: &str,
    token: Option<Secret>,
    layers: &[i64],
    max_features: usize,
) -> Result<ServicePreview, EngineError> {
    let client = super::service_replicas::client_for_service(deps, service_url, token).await?;
    let info = client.service_info().await?;
    let wkid = info
        .spatial_reference
        .as_ref()
        .and_then(|sr| Sr::from_json(sr).ok())
        .map(Sr::wkid);
    let full_extent = info.full_extent.as_ref().and_then(extent_of);
    let cap = max_features.clamp(1, MAX_PREVIEW_FEATURES);
    let mut out = Vec::with_capacity(layers.len());
    for &layer_id in layers {
        out.push(preview_layer(&client, layer_id, cap, full_extent.as_ref()).await);
    }
    Ok(ServicePreview {
        service_url: service_url.to_owned(),
        wkid,
        full_extent,
        layers: out,
    })
}

async fn preview_layer(
    client: &crate::service::FeatureServiceClient,
    layer_id: i64,
    cap: usize,
    full_extent: Option<&Extent>,
) -> PreviewLayer {
    let mut layer = PreviewLayer {
        layer_id,
        name: format!("layer {layer_id}"),
        geometry_type: None,
        geometries: Vec::new(),
        capped: false,
        error: None,
    };
    let info = match client.layer_info(layer_id).await {
        Ok(info) => info,
        Err(e) => {
            layer.error = Some(chain(&e));
            return layer;
        }
    };
    layer.name = info.name.clone();
    layer.geometry_type = info.geometry_type.clone();
    let params = QueryParams {
        out_fields: vec![if info.object_id_field.is_empty() {
            "OBJECTID".to_owned()
        } else {
            info.object_id_field.clone()
        }],
        result_record_count: i64::try_from(cap).ok(),
        max_allowable_offset: full_extent
            .map(|e| e.width().max(e.height()) / PREVIEW_RESOLUTION)
            .filter(|o| o.is_finite() && *o > 0.0),
        ..QueryParams::all()
    };
    match client.query_layer(layer_id, &params).await {
        Ok(reply) => {
            layer.capped = reply.exceeded_transfer_limit || reply.features.len() > cap;
            layer.geometries = reply
                .features
                .into_iter()
                .filter_map(|f| f.geometry)
                .take(cap)
                .collect();
        }
        Err(e) => layer.error = Some(chain(&e)),
    }
    layer
}
