//! The data the window's maps are drawn from, through the engine against the reference service:
//! `Command::LoadFeatureMap` carries a moved hydrant's local and server geometry and the
//! replica's features around it (read from the replica file; `ui::geometry_map` shows it works
//! with the service stopped); `Command::LoadServicePreview` queries only the chosen layers, capped and generalised.

use crate::support::client_config::fast;
use crate::support::demo_data::{HYD_1, gid};
use crate::support::engine::Harness;
use serde_json::{Value, json};
use syncwatch::engine::{Command, Event, FeatureMap, LocalEdit, ServicePreview};
use syncwatch::protocol::SyncModel;
use syncwatch::server::{ServerConfig, ServiceDefinition};

async fn feature_map(h: &Harness, command: Command) -> FeatureMap {
    h.send(command).await;
    h.next(|e| match e {
        Event::FeatureMap(m) => Some((**m).clone()),
        _ => None,
    })
    .await
}

/// The demo hydrant HYD-0001 sits at (-122.582951, 45.525345).
const HYD_1_XY: [f64; 2] = [-122.582951, 45.525345];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_point_carries_both_geometries_and_its_neighbours() {
    let h = Harness::start(ServerConfig::default(), fast()).await;
    let replica = h
        .create_with("map", vec![0, 2], SyncModel::PerReplica, false)
        .await;
    let moved = json!({"x": HYD_1_XY[0] - 0.0004, "y": HYD_1_XY[1] + 0.0003});
    h.edit(
        replica,
        LocalEdit::Update {
            global_id: gid(HYD_1),
            attributes: Default::default(),
            geometry: Some(moved.clone()),
        },
    )
    .await;
    let load = Command::LoadFeatureMap {
        replica,
        layer_id: 0,
        global_id: gid(HYD_1),
    };
    let map = feature_map(&h, load).await;
    assert_eq!(map.wkid, Some(4326));
    assert_eq!(map.layer_name, "Hydrants");
    let local = map.local.as_ref().expect("local geometry");
    let server = map.server.as_ref().expect("server geometry");
    assert_eq!(local.json["x"], moved["x"]);
    assert_eq!(server.json["x"], json!(HYD_1_XY[0]));
    assert_eq!(server.json["y"], json!(HYD_1_XY[1]));
    assert_eq!(local.geometry_type.as_deref(), Some("esriGeometryPoint"));
    assert!(map.geometry_differs);
    // neighbours: other features near it, never the feature itself, each inside the radius
    assert!(!map.neighbours.is_empty(), "the demo has hydrants nearby");
    assert!(map.neighbours.len() <= syncwatch::engine::MAX_NEIGHBOURS);
    for n in &map.neighbours {
        assert!(!n.global_id.eq_ignore_ascii_case(HYD_1));
        if let (Some(x), Some(y)) = (n.geometry.json["x"].as_f64(), n.geometry.json["y"].as_f64()) {
            assert!((x - HYD_1_XY[0]).abs() < 0.01 && (y - HYD_1_XY[1]).abs() < 0.01);
        }
    }
    assert_eq!(
        map.work_area, None,
        "a replica of the whole service draws no work area"
    );
}

/// A replica made for an extent in Web Mercator draws its work area on the feature's map, as a
/// polygon converted to the service's WGS84.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_for_an_extent_draws_its_work_area_in_the_maps_sr() {
    use syncwatch::engine::{CreateRequest, CreateScope, Extent, WorkArea};
    use syncwatch::protocol::spatial::Sr;
    let h = Harness::start(ServerConfig::default(), fast()).await;
    let to_mercator = Sr::from_wkid(4326).to(Sr::from_wkid(3857)).unwrap();
    let (x0, y0) = to_mercator.point(HYD_1_XY[0] - 0.01, HYD_1_XY[1] - 0.01);
    let (x1, y1) = to_mercator.point(HYD_1_XY[0] + 0.01, HYD_1_XY[1] + 0.01);
    let area = WorkArea::Extent(Extent::new(x0, y0, x1, y1, Some(3857)).unwrap());
    let request = CreateRequest {
        scope: Box::new(CreateScope {
            area,
            ..Default::default()
        }),
        ..h.create_request("map-area", false)
    };
    let (replica, end) = h.job(Command::CreateReplica(request)).await;
    end.expect("created");
    let load = Command::LoadFeatureMap {
        replica,
        layer_id: 0,
        global_id: gid(HYD_1),
    };
    let map = feature_map(&h, load).await;
    assert_eq!(map.wkid, Some(4326));
    let area = map.work_area.expect("the work area is drawn");
    assert_eq!(area.geometry_type.as_deref(), Some("esriGeometryPolygon"));
    let ring = area.json["rings"][0].as_array().expect("one ring").clone();
    assert_eq!(ring.len(), 5, "a closed rectangle: {ring:?}");
    let xs: Vec<f64> = ring.iter().filter_map(|p| p[0].as_f64()).collect();
    let ys: Vec<f64> = ring.iter().filter_map(|p| p[1].as_f64()).collect();
    let near = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(xs.iter().any(|x| near(*x, HYD_1_XY[0] - 0.01)), "{xs:?}");
    assert!(xs.iter().any(|x| near(*x, HYD_1_XY[0] + 0.01)), "{xs:?}");
    assert!(ys.iter().any(|y| near(*y, HYD_1_XY[1] - 0.01)), "{ys:?}");
    assert!(ys.iter().any(|y| near(*y, HYD_1_XY[1] + 0.01)), "{ys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feature_the_replica_does_not_hold_has_no_geometry() {
    let h = Harness::start(ServerConfig::default(), fast()).await;
    let replica = h.create("map-none").await;
    let map = feature_map(
        &h,
        Command::LoadFeatureMap {
            replica,
            layer_id: 0,
            global_id: gid("{00000000-0000-4000-8000-000000000001}"),
        },
    )
    .await;
    assert_eq!((map.local, map.server), (None, None));
    assert!(!map.geometry_differs);
    assert!(map.neighbours.is_empty());
}

/// A service with 30 points, one dense wiggly line of 1000 vertices and a polygon layer.
fn preview_service() -> ServiceDefinition {
    let points: Vec<Value> = (0..30)
        .map(|i| json!({"geometry": {"x": -122.7 + 0.003 * i as f64, "y": 45.5}, "attributes": {"NAME": format!("P{i}")}}))
        .collect();
    let wiggle: Vec<[f64; 2]> = (0..1000)
        .map(|i| {
            let x = -122.7 + 0.0001 * i as f64;
            [x, 45.52 + if i % 2 == 0 { 0.000001 } else { -0.000001 }]
        })
        .collect();
    let line = json!({"geometry": {"paths": [wiggle]}, "attributes": {"NAME": "L"}});
    let parcel = json!({"geometry": {"rings": [[[-122.6, 45.5], [-122.6, 45.51], [-122.59, 45.51], [-122.59, 45.5], [-122.6, 45.5]]]}, "attributes": {"NAME": "A"}});
    let fields = json!([{"name": "NAME", "type": "esriFieldTypeString", "length": 20}]);
    let def = json!({
        "name": "Preview",
        "spatialReference": {"wkid": 4326, "latestWkid": 4326},
        "fullExtent": {"xmin": -122.7, "ymin": 45.49, "xmax": -122.58, "ymax": 45.56,
                       "spatialReference": {"wkid": 4326}},
        "layers": [
            {"id": 0, "name": "Points", "geometryType": "esriGeometryPoint", "fields": fields, "seed": points},
            {"id": 1, "name": "Lines", "geometryType": "esriGeometryPolyline", "fields": fields, "seed": [line]},
            {"id": 2, "name": "Parcels", "geometryType": "esriGeometryPolygon", "fields": fields, "seed": [parcel]}
        ]
    });
    ServiceDefinition::from_json(&def.to_string()).expect("preview service")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_preview_queries_only_the_chosen_layers_capped_and_simplified() {
    let h = Harness::start(
        ServerConfig {
            definition: Some(preview_service()),
            ..Default::default()
        },
        fast(),
    )
    .await;
    h.send(Command::LoadServicePreview {
        service_url: h.service_url.clone(),
        token: None,
        layers: vec![0, 1],
        max_features: 10,
    })
    .await;
    let preview: ServicePreview = h
        .next(|e| match e {
            Event::ServicePreview(p) => Some((**p).clone()),
            _ => None,
        })
        .await;
    assert_eq!(preview.wkid, Some(4326));
    let extent = preview.full_extent.expect("full extent");
    assert_eq!((extent.xmin, extent.ymax), (-122.7, 45.56));
    let ids: Vec<i64> = preview.layers.iter().map(|l| l.layer_id).collect();
    assert_eq!(ids, vec![0, 1], "only the chosen layers");
    let points = &preview.layers[0];
    assert_eq!(points.name, "Points");
    assert_eq!(points.error, None);
    assert_eq!(points.geometries.len(), 10, "capped at max_features");
    assert!(points.capped, "30 points, 10 shown");
    let lines = &preview.layers[1];
    assert_eq!(lines.geometry_type.as_deref(), Some("esriGeometryPolyline"));
    assert!(!lines.capped);
    let vertices = lines.geometries[0]["paths"][0]
        .as_array()
        .expect("a path")
        .len();
    assert!(
        (2..100).contains(&vertices),
        "the 1000-vertex line is generalised to the preview's resolution: {vertices} vertices"
    );
}
