//! createReplica with a work area over real HTTP on the GridTown test services: a replica made
//! for an extent (in the service's SR, 4326 or 3857) or a polygon holds exactly the features a
//! brute-force check says intersect it, for points, lines and polygons; `layerQueries` `where`,
//! `useGeometry` and `queryOption`; later syncs carry only changes inside the area (a feature
//! moved out is deleted, one moved in is added); replica info reports the area; bad areas are
//! refused and create nothing.

use crate::support::server::*;
use crate::support::spatial::*;
use serde_json::{Value, json};

/// The extent the tests use, in WGS84: it splits every GridTown layer.
const AREA: [f64; 4] = [-122.665, 45.50, -122.615, 45.535];

/// The GlobalIDs a createReplica reply holds for a layer (sorted).
fn replica_ids(reply: &Value, layer: i64) -> Vec<String> {
    let layer = reply["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("no layers: {reply}"))
        .iter()
        .find(|l| l["id"] == layer)
        .unwrap_or_else(|| panic!("no layer {layer}: {reply}"));
    global_ids(layer["features"].as_array().expect("features"))
}

fn expected(all: &[Value], hit: impl Fn(&Value) -> bool) -> Vec<String> {
    global_ids(all.iter().filter(|f| hit(&f["geometry"])))
}

async fn replica_count(fx: &Fixture) -> usize {
    fx.post("replicas", &[("f", "json")])
        .await
        .as_array()
        .expect("replicas list")
        .len()
}

/// An extent replica holds exactly the intersecting features, for every pair of service SR and
/// extent SR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extent_replica_holds_exactly_the_intersecting_features() {
    for service_wkid in [4326, 3857] {
        let fx = start_gridtown(service_wkid).await;
        let env_service = envelope_in(AREA, service_wkid);
        let mut all = Vec::new();
        for layer in LAYERS {
            all.push(all_features(&fx, layer).await);
        }
        for in_wkid in [4326, 3857] {
            let e = envelope_in(AREA, in_wkid);
            let geometry = format!("{},{},{},{}", e[0], e[1], e[2], e[3]);
            let wkid = in_wkid.to_string();
            let reply = fx
                .create(
                    "0,1,2",
                    &[
                        ("geometry", &geometry),
                        ("geometryType", "esriGeometryEnvelope"),
                        ("inSR", &wkid),
                    ],
                )
                .await;
            for (i, layer) in LAYERS.iter().enumerate() {
                let want = expected(&all[i], |g| hits_envelope(g, env_service));
                assert!(
                    !want.is_empty() && want.len() < all[i].len(),
                    "layer {layer}: the area splits the data"
                );
                assert_eq!(
                    replica_ids(&reply, *layer),
                    want,
                    "service {service_wkid}, extent in {in_wkid}, layer {layer}"
                );
            }
        }
    }
}

/// A polygon work area (geometry JSON with its own spatialReference).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polygon_work_area() {
    let fx = start_gridtown(3857).await;
    let ring_4326 = [
        [-122.69, 45.50],
        [-122.65, 45.555],
        [-122.59, 45.52],
        [-122.64, 45.495],
        [-122.69, 45.50],
    ];
    let ring_service: Vec<[f64; 2]> = ring_4326
        .iter()
        .map(|p| {
            let (x, y) = to_mercator(p[0], p[1]);
            [x, y]
        })
        .collect();
    let polygon = json!({"rings": [ring_4326], "spatialReference": {"wkid": 4326}}).to_string();
    let reply = fx
        .create(
            "0,1,2",
            &[
                ("geometry", &polygon),
                ("geometryType", "esriGeometryPolygon"),
            ],
        )
        .await;
    for layer in LAYERS {
        let all = all_features(&fx, layer).await;
        let want = expected(&all, |g| hits_polygon(g, &ring_service));
        assert!(
            !want.is_empty() && want.len() < all.len(),
            "layer {layer}: the polygon splits the data"
        );
        assert_eq!(replica_ids(&reply, layer), want, "layer {layer}");
    }
}

/// layerQueries: useFilter with where and the geometry; useGeometry false; queryOption all and
/// none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_queries_where_use_geometry_and_query_option() {
    let fx = start_gridtown(4326).await;
    let geometry = format!("{},{},{},{}", AREA[0], AREA[1], AREA[2], AREA[3]);
    let poles = all_features(&fx, POLES).await;
    let cables = all_features(&fx, CABLES).await;
    let parcels = all_features(&fx, PARCELS).await;
    let queries = json!({
        "0": {"queryOption": "useFilter", "where": "CATEGORY = 'A'", "useGeometry": true},
        "1": {"queryOption": "useFilter", "where": "RANK > 10", "useGeometry": false},
        "2": {"queryOption": "none"}
    })
    .to_string();
    let reply = fx
        .create(
            "0,1,2",
            &[("geometry", &geometry), ("layerQueries", &queries)],
        )
        .await;
    let want_poles = global_ids(
        poles
            .iter()
            .filter(|f| f["attributes"]["CATEGORY"] == "A" && hits_envelope(&f["geometry"], AREA)),
    );
    let want_cables = global_ids(
        cables
            .iter()
            .filter(|f| f["attributes"]["RANK"].as_i64().unwrap() > 10),
    );
    assert!(
        !want_poles.is_empty()
            && want_cables.len()
                > cables
                    .iter()
                    .filter(|f| hits_envelope(&f["geometry"], AREA))
                    .count()
                    / 2
    );
    assert_eq!(replica_ids(&reply, POLES), want_poles);
    assert_eq!(
        replica_ids(&reply, CABLES),
        want_cables,
        "useGeometry false: the area does not filter"
    );
    assert_eq!(
        replica_ids(&reply, PARCELS),
        Vec::<String>::new(),
        "queryOption none: schema only"
    );
    let all = json!({"2": {"queryOption": "all"}}).to_string();
    let reply = fx
        .create("2", &[("geometry", &geometry), ("layerQueries", &all)])
        .await;
    assert_eq!(
        replica_ids(&reply, PARCELS),
        global_ids(&parcels),
        "queryOption all: every row"
    );

    let id = reply["replicaID"].as_str().unwrap();
    let filtered = fx
        .create(
            "0,1,2",
            &[("geometry", &geometry), ("layerQueries", &queries)],
        )
        .await;
    let info = fx
        .post(
            &format!("replicas/{}", filtered["replicaID"].as_str().unwrap()),
            &[("f", "json")],
        )
        .await;
    let layers = info["layers"].as_array().unwrap();
    assert_eq!(
        (
            layers[0]["queryOption"].as_str(),
            layers[0]["useGeometry"].as_bool()
        ),
        (Some("useFilter"), Some(true))
    );
    assert_eq!(layers[0]["where"], "CATEGORY = 'A'");
    assert_eq!(
        (
            layers[1]["useGeometry"].as_bool(),
            layers[2]["queryOption"].as_str()
        ),
        (Some(false), Some("none"))
    );
    let whole = fx.post(&format!("replicas/{id}"), &[("f", "json")]).await;
    assert_eq!(whole["layers"][0]["queryOption"], "all");
}

/// Replica info reports the area in the service's SR, as ArcGIS does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_info_reports_the_area() {
    let fx = start_gridtown(3857).await;
    let geometry = format!("{},{},{},{}", AREA[0], AREA[1], AREA[2], AREA[3]);
    let reply = fx
        .create("0,1", &[("geometry", &geometry), ("inSR", "4326")])
        .await;
    let info = fx
        .post(
            &format!("replicas/{}", reply["replicaID"].as_str().unwrap()),
            &[("f", "json")],
        )
        .await;
    let want = envelope_in(AREA, 3857);
    let g = &info["geometry"];
    for (key, value) in ["xmin", "ymin", "xmax", "ymax"].iter().zip(want) {
        assert!(
            (g[key].as_f64().unwrap() - value).abs() < 1e-6,
            "{key}: {g}"
        );
    }
    assert_eq!(g["spatialReference"]["latestWkid"], 3857);
    assert_eq!(info["spatialReference"]["latestWkid"], 3857);
    assert_eq!(info["spatialRel"], "esriSpatialRelIntersects");
    assert_eq!(info["layers"][0]["useGeometry"], true);
    assert_eq!(info["layers"][0]["queryOption"], "useFilter");
}

/// A perReplica replica of the poles inside AREA: the createReplica reply and its id.
async fn area_replica(fx: &Fixture) -> (Value, String) {
    let geometry = format!("{},{},{},{}", AREA[0], AREA[1], AREA[2], AREA[3]);
    let reply = fx.create("0", &[("geometry", &geometry)]).await;
    let id = reply["replicaID"].as_str().expect("replicaID").to_string();
    (reply, id)
}

fn gen_of(reply: &Value) -> i64 {
    reply["replicaServerGen"]
        .as_i64()
        .unwrap_or_else(|| panic!("no replicaServerGen: {reply}"))
}

/// A sync of `replica` that uploads nothing, from the generation the `last` reply gave.
async fn pull(fx: &Fixture, replica: &str, last: &Value) -> Value {
    fx.sync(replica, gen_of(last), &json!([]), &[]).await
}

fn moved(feature: &Value, x: f64, y: f64) -> Value {
    json!({"geometry": {"x": x, "y": y}, "attributes": {"GlobalID": feature["attributes"]["GlobalID"]}})
}

fn renamed(feature: &Value, name: &str) -> Value {
    json!({"attributes": {"GlobalID": feature["attributes"]["GlobalID"], "NAME": name}})
}

fn pole_at(x: f64, y: f64, name: &str) -> Value {
    json!({"geometry": {"x": x, "y": y}, "attributes": {"GlobalID": new_gid(), "NAME": name, "CATEGORY": "B", "RANK": 1}})
}

fn sorted(values: Option<&Vec<Value>>, key: impl Fn(&Value) -> String) -> Vec<String> {
    let mut out: Vec<String> = values
        .map(|v| v.iter().map(key).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Server changes (another replica's uploads) reach the area replica only inside its area; a
/// feature moved across the boundary is added or deleted; the next sync repeats nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_syncs_carry_only_changes_inside_the_area() {
    let fx = start_gridtown(4326).await;
    let (area, area_id) = area_replica(&fx).await;
    let (whole_id, whole_gen) = fx.replica("0", "").await;
    let poles = all_features(&fx, POLES).await;
    let inside: Vec<&Value> = poles
        .iter()
        .filter(|f| hits_envelope(&f["geometry"], AREA))
        .collect();
    let outside: Vec<&Value> = poles
        .iter()
        .filter(|f| !hits_envelope(&f["geometry"], AREA))
        .collect();
    assert_eq!(
        replica_ids(&area, POLES),
        global_ids(inside.iter().copied())
    );
    let (cx, cy) = ((AREA[0] + AREA[2]) / 2.0, (AREA[1] + AREA[3]) / 2.0);
    let (fx_out, fy_out) = (AREA[2] + 0.01, AREA[3] + 0.01);
    let new_in = pole_at(cx, cy, "NEW-IN");
    let new_out = pole_at(fx_out, fy_out, "NEW-OUT");
    let edits = json!([{"id": POLES, "features": {
        "adds": [new_in, new_out],
        "updates": [renamed(inside[0], "EDITED-IN"), renamed(outside[0], "EDITED-OUT"),
                    moved(inside[1], fx_out, fy_out), moved(outside[1], cx, cy)],
        "deleteIds": [inside[2]["attributes"]["GlobalID"], outside[2]["attributes"]["GlobalID"]]
    }}]);
    let upload = fx.sync(&whole_id, whole_gen, &edits, &[]).await;
    assert!(upload.get("error").is_none(), "{upload}");

    let reply = pull(&fx, &area_id, &area).await;
    let changes = downloaded(&reply, POLES);
    let gid = |f: &Value| f["attributes"]["GlobalID"].as_str().unwrap().to_string();
    let gid_of = gid;
    let mut want_adds = vec![gid_of(&new_in), gid_of(outside[1])];
    want_adds.sort();
    assert_eq!(
        sorted(changes["adds"].as_array(), gid),
        want_adds,
        "the new feature inside and the one moved in: {changes}"
    );
    assert_eq!(
        sorted(changes["updates"].as_array(), gid),
        vec![gid_of(inside[0])],
        "only the edit inside"
    );
    let mut want_deletes = vec![gid_of(inside[1]), gid_of(inside[2])];
    want_deletes.sort();
    assert_eq!(
        sorted(changes["deleteIds"].as_array(), |v| v
            .as_str()
            .unwrap()
            .to_string()),
        want_deletes,
        "the one moved out and the one deleted inside"
    );

    // The next sync carries nothing; a later edit of the feature that moved in is an update.
    let quiet = pull(&fx, &area_id, &reply).await;
    assert_eq!(downloaded(&quiet, POLES), json!({}), "{quiet}");
    let whole_gen = gen_of(&upload);
    let again = json!([{"id": POLES, "features": {"updates": [renamed(outside[1], "MOVED-IN-EDITED"), renamed(inside[1], "MOVED-OUT-EDITED")]}}]);
    fx.sync(&whole_id, whole_gen, &again, &[]).await;
    let reply = pull(&fx, &area_id, &quiet).await;
    let changes = downloaded(&reply, POLES);
    assert_eq!(
        sorted(changes["updates"].as_array(), gid),
        vec![gid_of(outside[1])],
        "{changes}"
    );
    assert!(
        changes["adds"].as_array().is_none_or(|a| a.is_empty())
            && changes["deleteIds"].as_array().is_none_or(|d| d.is_empty()),
        "{changes}"
    );
}

/// The area replica's own add outside the area is not echoed back as a delete by its own sync;
/// once the server edits it (still outside), it leaves the replica like any feature outside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_add_outside_the_area_leaves_on_a_server_edit() {
    let fx = start_gridtown(4326).await;
    let (area, area_id) = area_replica(&fx).await;
    let (whole_id, whole_gen) = fx.replica("0", "").await;
    let mine = pole_at(AREA[2] + 0.02, AREA[1], "MINE-OUTSIDE");
    let up = fx
        .sync(
            &area_id,
            gen_of(&area),
            &adds(POLES, vec![mine.clone()]),
            &[],
        )
        .await;
    assert!(up.get("error").is_none(), "{up}");
    assert!(
        downloaded(&up, POLES)["deleteIds"]
            .as_array()
            .is_none_or(|d| d.is_empty()),
        "{up}"
    );
    let quiet = pull(&fx, &area_id, &up).await;
    assert_eq!(downloaded(&quiet, POLES), json!({}), "{quiet}");
    let edit = json!([{"id": POLES, "features": {"updates": [renamed(&mine, "MINE-EDITED")]}}]);
    fx.sync(&whole_id, whole_gen, &edit, &[]).await;
    let reply = pull(&fx, &area_id, &quiet).await;
    let changes = downloaded(&reply, POLES);
    assert_eq!(
        changes["deleteIds"],
        json!([mine["attributes"]["GlobalID"]]),
        "{changes}"
    );
    assert!(
        changes["updates"].as_array().is_none_or(|u| u.is_empty()),
        "{changes}"
    );
}

/// Bad areas: an ArcGIS-style error naming the parameter, and no replica made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_areas_create_nothing() {
    let fx = start_gridtown(4326).await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("geometry", "-122.6,45.6,-122.7,45.5")], "'geometry'"),
        (
            &[(
                "geometry",
                r#"{"xmin":-122.6,"ymin":45.5,"xmax":-122.7,"ymax":45.6}"#,
            )],
            "'geometry'",
        ),
        (
            &[
                ("geometry", r#"{"rings":[[[-122.6,45.5],[-122.7]]]}"#),
                ("geometryType", "esriGeometryPolygon"),
            ],
            "'geometry'",
        ),
        (
            &[("geometry", "-122.7,45.5,-122.6,45.6"), ("inSR", "999999")],
            "'inSR'",
        ),
        (
            &[
                ("geometry", "-122.7,45.5,-122.6,45.6"),
                ("inSR", r#"{"wkt":"PROJCS[\"x\"]"}"#),
            ],
            "'inSR'",
        ),
    ];
    for (extra, named) in cases {
        let reply = fx.create("0,1,2", extra).await;
        assert_eq!(reply["error"]["code"], 400, "{extra:?}: {reply}");
        let detail = reply["error"]["details"][0].as_str().unwrap();
        assert!(
            detail.contains(named) && detail.contains("parameter is invalid"),
            "{extra:?}: {detail}"
        );
        assert_eq!(replica_count(&fx).await, 0, "{extra:?} made a replica");
    }
    let message = fx
        .create("0", &[("geometry", "1,2,3,4"), ("inSR", "2263")])
        .await;
    let detail = message["error"]["details"][0].as_str().unwrap();
    assert!(
        detail.contains("cannot convert from spatial reference 2263 to 4326"),
        "{detail}"
    );
}
