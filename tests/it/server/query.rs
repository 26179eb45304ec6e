//! The layer `query` operation over real HTTP on the GridTown test services: paging returns
//! every feature exactly once and `returnCountOnly` equals the paged total; envelope, polygon
//! and point filters match a brute-force check for points, lines and polygons; `returnIdsOnly`,
//! `outFields`, `orderByFields`, `outSR`, `maxAllowableOffset` and `f=geojson`; the layer
//! resource advertises what ArcGIS does; bad parameters get ArcGIS's error envelope; owners
//! see only what the ownership rules let them.

use crate::support::server::*;
use crate::support::spatial::*;
use serde_json::{Value, json};
use std::collections::HashSet;

fn ids(reply: &Value) -> Vec<i64> {
    reply["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["attributes"]["OBJECTID"].as_i64().expect("OBJECTID"))
        .collect()
}

async fn count(fx: &Fixture, layer: i64, extra: &[(&str, &str)]) -> i64 {
    let mut form = vec![("f", "json"), ("returnCountOnly", "true")];
    form.extend_from_slice(extra);
    let reply = fx.post(&format!("{layer}/query"), &form).await;
    reply["count"]
        .as_i64()
        .unwrap_or_else(|| panic!("no count: {reply}"))
}

/// Paging with a small page size returns every feature once; the count agrees; so do the ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_returns_every_feature_exactly_once() {
    let fx = start_gridtown(4326).await;
    for layer in LAYERS {
        let total = count(&fx, layer, &[("where", "1=1")]).await;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let offset = seen.len().to_string();
            let page = fx
                .http
                .get(format!("{}/{layer}/query", fx.url))
                .query(&[
                    ("f", "json"),
                    ("where", "1=1"),
                    ("outFields", "OBJECTID"),
                    ("resultOffset", &offset),
                    ("resultRecordCount", "7"),
                    ("orderByFields", "RANK DESC"),
                ])
                .send()
                .await
                .expect("GET query")
                .json::<Value>()
                .await
                .expect("JSON");
            pages += 1;
            let got = ids(&page);
            assert!(got.len() <= 7);
            seen.extend(got);
            if page["exceededTransferLimit"] != json!(true) {
                break;
            }
        }
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "layer {layer}: a feature came twice across pages"
        );
        assert_eq!(
            seen.len() as i64,
            total,
            "layer {layer}: paged total vs returnCountOnly"
        );
        assert_eq!(pages, (total as usize).div_ceil(7).max(1));
        let ids_only = fx
            .post(
                &format!("{layer}/query"),
                &[("f", "json"), ("returnIdsOnly", "true")],
            )
            .await;
        assert_eq!(ids_only["objectIdFieldName"], "OBJECTID");
        let listed: HashSet<i64> = ids_only["objectIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(listed, unique, "layer {layer}: returnIdsOnly");
    }
    // GridTown's sizes, as its definition builds them.
    assert_eq!(count(&fx, POLES, &[]).await, 90);
    assert_eq!(count(&fx, CABLES, &[]).await, 60);
    assert_eq!(count(&fx, PARCELS, &[]).await, 45);
}

/// Envelope (JSON and shorthand, in the service SR and the other one), polygon and where filters
/// count exactly what a brute-force check over every feature counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spatial_filters_match_brute_force() {
    for service_wkid in [4326, 3857] {
        let fx = start_gridtown(service_wkid).await;
        let env = [-122.66, 45.505, -122.62, 45.53];
        let env_service = envelope_in(env, service_wkid);
        let area_4326 = [
            [-122.68, 45.50],
            [-122.64, 45.55],
            [-122.60, 45.51],
            [-122.68, 45.50],
        ];
        let area_service: Vec<[f64; 2]> = area_4326
            .iter()
            .map(|p| {
                if service_wkid == 4326 {
                    *p
                } else {
                    let (x, y) = to_mercator(p[0], p[1]);
                    [x, y]
                }
            })
            .collect();
        for layer in LAYERS {
            let all = all_features(&fx, layer).await;
            let expected_env = all
                .iter()
                .filter(|f| hits_envelope(&f["geometry"], env_service))
                .count() as i64;
            let expected_poly = all
                .iter()
                .filter(|f| hits_polygon(&f["geometry"], &area_service))
                .count() as i64;
            assert!(
                expected_env > 0 && expected_env < all.len() as i64,
                "layer {layer}: a test extent that splits the data"
            );
            for in_wkid in [4326, 3857] {
                let e = envelope_in(env, in_wkid);
                let shorthand = format!("{},{},{},{}", e[0], e[1], e[2], e[3]);
                let json_env = json!({"xmin": e[0], "ymin": e[1], "xmax": e[2], "ymax": e[3],
                                      "spatialReference": {"wkid": in_wkid}})
                .to_string();
                let wkid = in_wkid.to_string();
                let by_shorthand = count(
                    &fx,
                    layer,
                    &[
                        ("geometry", &shorthand),
                        ("geometryType", "esriGeometryEnvelope"),
                        ("inSR", &wkid),
                        ("spatialRel", "esriSpatialRelIntersects"),
                    ],
                )
                .await;
                let by_json = count(&fx, layer, &[("geometry", &json_env)]).await;
                assert_eq!(
                    (by_shorthand, by_json),
                    (expected_env, expected_env),
                    "service {service_wkid}, layer {layer}, extent in {in_wkid}"
                );
            }
            let ring: Vec<Value> = area_4326.iter().map(|p| json!(p)).collect();
            let polygon = json!({"rings": [ring], "spatialReference": {"wkid": 4326}}).to_string();
            let by_polygon = count(
                &fx,
                layer,
                &[
                    ("geometry", &polygon),
                    ("geometryType", "esriGeometryPolygon"),
                ],
            )
            .await;
            assert_eq!(
                by_polygon, expected_poly,
                "service {service_wkid}, layer {layer}, polygon"
            );
            let expected_a = all
                .iter()
                .filter(|f| {
                    f["attributes"]["CATEGORY"] == "A" && hits_envelope(&f["geometry"], env_service)
                })
                .count() as i64;
            let shorthand = format!(
                "{},{},{},{}",
                env_service[0], env_service[1], env_service[2], env_service[3]
            );
            let by_where = count(
                &fx,
                layer,
                &[("geometry", &shorthand), ("where", "CATEGORY = 'A'")],
            )
            .await;
            assert_eq!(
                by_where, expected_a,
                "service {service_wkid}, layer {layer}, where and extent"
            );
        }
        // A point filter: the pole itself.
        let pole = &all_features(&fx, POLES).await[3];
        let point = format!("{},{}", pole["geometry"]["x"], pole["geometry"]["y"]);
        let hit = fx
            .post(
                &format!("{POLES}/query"),
                &[
                    ("f", "json"),
                    ("geometry", &point),
                    ("geometryType", "esriGeometryPoint"),
                ],
            )
            .await;
        assert_eq!(
            ids(&hit),
            vec![pole["attributes"]["OBJECTID"].as_i64().unwrap()]
        );
    }
}

/// outFields, orderByFields, objectIds, returnGeometry, outSR, maxAllowableOffset and f=geojson.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_shape_follows_the_parameters() {
    let fx = start_gridtown(3857).await;
    let reply = fx
        .post(
            &format!("{POLES}/query"),
            &[
                ("f", "json"),
                ("outFields", "NAME,rank"),
                ("orderByFields", "RANK DESC, NAME"),
                ("returnGeometry", "false"),
            ],
        )
        .await;
    let features = reply["features"].as_array().unwrap();
    assert_eq!(features.len(), 90);
    let first_keys: HashSet<&str> = features[0]["attributes"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(first_keys, HashSet::from(["NAME", "RANK"]));
    assert!(features.iter().all(|f| f.get("geometry").is_none()));
    let ranks: Vec<(i64, String)> = features
        .iter()
        .map(|f| {
            (
                f["attributes"]["RANK"].as_i64().unwrap(),
                f["attributes"]["NAME"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = ranks.clone();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(ranks, sorted);
    let field_names: Vec<&str> = reply["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(field_names, ["NAME", "RANK"]);
    assert_eq!(reply["spatialReference"]["latestWkid"], 3857);

    // outSR=4326 on the 3857 service: the vertices our own formulas give.
    let stored = all_features(&fx, POLES).await;
    let oid = stored[5]["attributes"]["OBJECTID"].as_i64().unwrap();
    let picked = fx
        .post(
            &format!("{POLES}/query"),
            &[
                ("f", "json"),
                ("objectIds", &format!("{oid}")),
                ("outSR", "4326"),
            ],
        )
        .await;
    assert_eq!(ids(&picked), vec![oid]);
    let (lon, lat) = to_wgs84(
        stored[5]["geometry"]["x"].as_f64().unwrap(),
        stored[5]["geometry"]["y"].as_f64().unwrap(),
    );
    let g = &picked["features"][0]["geometry"];
    assert!(
        (g["x"].as_f64().unwrap() - lon).abs() < 1e-9
            && (g["y"].as_f64().unwrap() - lat).abs() < 1e-9,
        "{g}"
    );
    assert_eq!(picked["spatialReference"]["wkid"], 4326);

    // f=geojson: a FeatureCollection in WGS84 with ids, properties and right-hand polygons.
    let resp = fx
        .http
        .get(format!(
            "{}/{PARCELS}/query?f=geojson&where=1%3D1&outFields=NAME&resultRecordCount=10",
            fx.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/geo+json");
    let gj: Value = resp.json().await.unwrap();
    assert_eq!(gj["type"], "FeatureCollection");
    assert_eq!(gj["exceededTransferLimit"], true);
    let f0 = &gj["features"][0];
    assert_eq!(f0["type"], "Feature");
    assert!(f0["id"].is_i64());
    assert!(
        f0["properties"]["NAME"]
            .as_str()
            .unwrap()
            .starts_with("PARCEL-")
    );
    assert_eq!(f0["geometry"]["type"], "Polygon");
    let ring: Vec<[f64; 2]> = f0["geometry"]["coordinates"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
        .collect();
    let signed_area: f64 = ring
        .windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum();
    assert!(
        signed_area > 0.0,
        "RFC 7946: exterior rings counter-clockwise"
    );
    assert!(
        ring.iter()
            .all(|p| (-122.71..-122.57).contains(&p[0]) && (45.48..45.57).contains(&p[1])),
        "WGS84: {ring:?}"
    );

    // maxAllowableOffset generalises lines: never more vertices, fewer for a big offset.
    let vertices = |reply: &Value| -> usize {
        reply["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["geometry"]["paths"][0].as_array().unwrap().len())
            .sum()
    };
    let full = fx.post(&format!("{CABLES}/query"), &[("f", "json")]).await;
    let coarse = fx
        .post(
            &format!("{CABLES}/query"),
            &[("f", "json"), ("maxAllowableOffset", "5000")],
        )
        .await;
    assert_eq!(ids(&full), ids(&coarse));
    assert!(
        vertices(&coarse) < vertices(&full),
        "{} vs {}",
        vertices(&coarse),
        vertices(&full)
    );
    assert!(
        coarse["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["geometry"]["paths"][0].as_array().unwrap().len() >= 2)
    );
}

/// The layer resource advertises the query as ArcGIS does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_resource_advertises_query() {
    let fx = start_gridtown(4326).await;
    let layer = fx.post(&format!("{CABLES}"), &[("f", "json")]).await;
    assert!(
        layer["capabilities"]
            .as_str()
            .unwrap()
            .split(',')
            .any(|c| c == "Query")
    );
    assert_eq!(layer["maxRecordCount"], 2000);
    assert_eq!(
        layer["advancedQueryCapabilities"]["supportsPagination"],
        true
    );
    assert_eq!(layer["advancedQueryCapabilities"]["supportsOrderBy"], true);
    assert!(
        layer["supportedQueryFormats"]
            .as_str()
            .unwrap()
            .contains("geoJSON")
    );
    assert_eq!(layer["extent"]["xmin"], json!(EXTENT_4326[0]));
}

/// Bad parameters: ArcGIS's envelope naming the parameter; unknown layers too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_get_the_arcgis_envelope() {
    let fx = start_gridtown(4326).await;
    let cases: [(&[(&str, &str)], &str); 9] = [
        (&[("geometry", "-122.6,45.6,-122.7,45.5")], "'geometry'"),
        (&[("geometry", r#"{"rings":[[[1,2],[3]]]}"#)], "'geometry'"),
        (&[("geometry", "not,a,box")], "'geometry'"),
        (
            &[("geometry", "-122.7,45.5,-122.6,45.6"), ("inSR", "999999")],
            "'inSR'",
        ),
        (&[("outSR", "2263")], "'outSR'"),
        (&[("where", "NOSUCHFIELD = 1")], "'where'"),
        (&[("outFields", "NAME,NOPE")], "'outFields'"),
        (&[("resultOffset", "-5")], "'resultOffset'"),
        (&[("spatialRel", "esriSpatialRelTouches")], "'spatialRel'"),
    ];
    for (form, named) in cases {
        let mut full = vec![("f", "json")];
        full.extend_from_slice(form);
        let reply = fx.post(&format!("{POLES}/query"), &full).await;
        assert_eq!(reply["error"]["code"], 400, "{form:?}: {reply}");
        assert_eq!(
            reply["error"]["message"],
            "Cannot perform query. Invalid query parameters."
        );
        let detail = reply["error"]["details"][0].as_str().unwrap();
        assert!(
            detail.contains(named) && detail.contains("parameter is invalid"),
            "{form:?}: {detail}"
        );
    }
    let missing = fx.post("9/query", &[("f", "json")]).await;
    assert_eq!(missing["error"]["code"], 400);
    assert!(
        missing["error"]["details"][0]
            .as_str()
            .unwrap()
            .contains("Layer 9 does not exist")
    );
}

/// Queries honour tokens and ownership like every read resource (the demo's secured service).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_checks_the_caller() {
    let fx = start_with(syncwatch::server::ServerConfig {
        definition: Some(secured_demo()),
        ..Default::default()
    })
    .await;
    let anonymous = fx.post("0/query", &[("f", "json")]).await;
    assert_eq!(anonymous["error"]["code"], 499);
    let bad = fx
        .post("0/query", &[("f", "json"), ("token", "nope")])
        .await;
    assert_eq!(bad["error"]["code"], 498);
    let ok = fx
        .post(
            "0/query",
            &[("f", "json"), ("token", TECH1), ("returnCountOnly", "true")],
        )
        .await;
    assert!(ok["count"].as_i64().unwrap() > 0, "{ok}");
}
