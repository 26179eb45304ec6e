//! The service browser through the engine, over real HTTP on the GridTown test service:
//! `Command::DescribeService` gives the service's facts (name, SR, full extent, every layer
//! with its geometry type and count), `Command::CountArea` each layer's count inside an extent
//! (equal to a brute-force check over the service's features, in 4326 and 3857), a bad area is
//! refused; and a replica created with a work area and a `where` holds exactly those features,
//! keeps its area, and shows it in its summary.

use crate::support::client_config::fast;
use crate::support::engine::Harness;
use crate::support::spatial::{
    CABLES, EXTENT_4326, LAYERS, PARCELS, POLES, envelope_in, gridtown, hits_envelope,
};
use serde_json::Value;
use syncwatch::engine::{Command, CreateRequest, CreateScope, Event};
use syncwatch::model::{Extent, ServiceFacts, WorkArea};
use syncwatch::server::ServerConfig;

/// A layer as the test compares it: id, name, geometry type, count, sync.
type LayerRow<'a> = (i64, &'a str, Option<&'a str>, Option<i64>, bool);

/// The extent the tests use, in WGS84: it splits every GridTown layer.
const AREA: [f64; 4] = [-122.665, 45.50, -122.615, 45.535];

async fn gridtown_harness() -> Harness {
    let config = ServerConfig {
        definition: Some(gridtown(4326)),
        ..Default::default()
    };
    Harness::start(config, fast()).await
}

async fn describe(h: &Harness) -> ServiceFacts {
    h.send(Command::DescribeService {
        service_url: h.service_url.clone(),
        token: None,
    })
    .await;
    h.next(|e| match e {
        Event::ServiceDescribed { facts } => Some(facts.as_ref().clone()),
        Event::CommandFailed { error, .. } => panic!("describe failed: {error:?}"),
        _ => None,
    })
    .await
}

async fn count(h: &Harness, area: WorkArea) -> Result<Vec<(i64, i64)>, String> {
    h.send(Command::CountArea {
        service_url: h.service_url.clone(),
        token: None,
        area,
        layers: LAYERS.to_vec(),
    })
    .await;
    h.next(|e| match e {
        Event::AreaCounted { counts, .. } => Some(Ok(counts.clone())),
        Event::CommandFailed { error, .. } => Some(Err(error.message.clone())),
        _ => None,
    })
    .await
}

/// Every feature of a layer with its geometry, read with a plain query (service SR).
async fn features(h: &Harness, layer: i64) -> Vec<Value> {
    let url = format!(
        "{}/{layer}/query?f=json&where=1%3D1&outFields=*&returnGeometry=true",
        h.service_url
    );
    let reply: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    reply["features"].as_array().expect("features").clone()
}

async fn brute_force(h: &Harness, area: [f64; 4]) -> Vec<(i64, i64)> {
    let mut counts = Vec::new();
    for layer in LAYERS {
        let all = features(h, layer).await;
        let n = all
            .iter()
            .filter(|f| hits_envelope(&f["geometry"], area))
            .count();
        counts.push((layer, n as i64));
    }
    counts
}

/// DescribeService names the service, its SR and extent, and every layer with its count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_service_gives_the_browser_facts() {
    let h = gridtown_harness().await;
    let facts = describe(&h).await;
    assert_eq!(facts.name, "GridTown");
    assert_eq!(facts.wkid, Some(4326));
    let full = facts.full_extent.expect("full extent");
    assert_eq!([full.xmin, full.ymin, full.xmax, full.ymax], EXTENT_4326);
    assert!(facts.sync_enabled && facts.sync_capabilities.supports_async);
    let layers: Vec<LayerRow> = facts
        .layers
        .iter()
        .map(|l| {
            let kind = l.geometry_type.as_deref();
            (l.id, l.name.as_str(), kind, l.feature_count, l.sync_enabled)
        })
        .collect();
    assert_eq!(
        layers,
        vec![
            (POLES, "Poles", Some("esriGeometryPoint"), Some(90), true),
            (
                CABLES,
                "Cables",
                Some("esriGeometryPolyline"),
                Some(60),
                true
            ),
            (
                PARCELS,
                "Parcels",
                Some("esriGeometryPolygon"),
                Some(45),
                true
            ),
        ]
    );
}

/// CountArea equals a brute-force count, for the extent in 4326 and in 3857; an inverted
/// extent is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_area_matches_a_brute_force_count() {
    let h = gridtown_harness().await;
    let expected = brute_force(&h, AREA).await;
    assert!(
        expected.iter().all(|(_, n)| *n > 0 && *n < 90),
        "the area splits every layer: {expected:?}"
    );
    for wkid in [4326, 3857] {
        let e = envelope_in(AREA, wkid);
        let area = WorkArea::Extent(Extent::new(e[0], e[1], e[2], e[3], Some(wkid)).unwrap());
        assert_eq!(count(&h, area).await.unwrap(), expected, "in {wkid}");
    }
    let inverted = WorkArea::Extent(Extent {
        xmin: 1.0,
        ymin: 0.0,
        xmax: 0.0,
        ymax: 1.0,
        wkid: None,
    });
    let refused = count(&h, inverted).await.unwrap_err();
    assert!(refused.contains("inverted"), "{refused}");
}

/// A replica created with an extent and a `where` holds exactly the features inside the area
/// that the clause picks; its summary and file keep the area.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_for_an_area_holds_the_features_inside() {
    let h = gridtown_harness().await;
    let extent = Extent::new(AREA[0], AREA[1], AREA[2], AREA[3], Some(4326)).unwrap();
    let area = WorkArea::Extent(extent);
    let mut scope = CreateScope {
        area: area.clone(),
        ..Default::default()
    };
    scope.wheres.insert(POLES, "CATEGORY = 'A'".into());
    let request = CreateRequest {
        layers: vec![POLES, CABLES],
        scope: Box::new(scope),
        ..h.create_request("gridtown-area", false)
    };
    let (replica, end) = h.job(Command::CreateReplica(request)).await;
    let outcome = end.expect("created");
    let poles = features(&h, POLES).await;
    let inside_a = poles
        .iter()
        .filter(|f| hits_envelope(&f["geometry"], AREA) && f["attributes"]["CATEGORY"] == "A")
        .count();
    let cables = brute_force(&h, AREA).await[CABLES as usize].1 as usize;
    assert_eq!(outcome.downloaded as usize, inside_a + cables);
    let summary = h.summary(replica).await;
    assert_eq!(summary.work_area.as_deref(), Some(&area));
    assert_eq!(h.file(replica).work_area().unwrap(), Some(area));
}
