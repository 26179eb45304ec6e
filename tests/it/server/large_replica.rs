//! A large createReplica (issue 21): 20,000 generated parcels (15,000 by `generate_polygons` at
//! start, 5,000 more by `POST /admin/generate`) come back feature for feature as the layer's
//! `query` returns them, in every output the service writes row by row: the embedded JSON reply,
//! a JSON result file (synchronous and async), and a SQLite delta file; no spool is left in the
//! output directory. A large synchronizeReplica download (20,000 parcels generated after the
//! replicas were created, some updated and deleted by another client) arrives change for
//! change in the same outputs. The memory side of it is measured in BENCHMARKS.md, not here.

use crate::support::server::{Fixture, start_with};
use serde_json::{Value, json};
use std::collections::HashMap;
use syncwatch::geodatabase::delta;
use syncwatch::server::ServerConfig;

const AT_START: u64 = 15_000;
const ADDED: u64 = 5_000;
const TOTAL: usize = (AT_START + ADDED) as usize;

/// GlobalID → (attributes, geometry), for comparing feature for feature.
type Features = HashMap<String, (Value, Value)>;

fn by_global_id(features: &[Value]) -> Features {
    let mut out = HashMap::new();
    for f in features {
        let gid = f["attributes"]["GlobalID"]
            .as_str()
            .unwrap_or_else(|| panic!("a feature without GlobalID: {f}"))
            .to_string();
        let geometry = strip_sr(f["geometry"].clone());
        let previous = out.insert(gid.clone(), (f["attributes"].clone(), geometry));
        assert!(previous.is_none(), "{gid} came twice");
    }
    out
}

/// Geometry JSON without its `spatialReference` (the query's features may carry it).
fn strip_sr(mut geometry: Value) -> Value {
    if let Some(map) = geometry.as_object_mut() {
        map.remove("spatialReference");
    }
    geometry
}

/// Every feature of `layer`, paged through the layer's `query` (maxRecordCount 2000).
async fn queried(fx: &Fixture, layer: i64) -> Vec<Value> {
    let mut all: Vec<Value> = Vec::new();
    loop {
        let offset = all.len().to_string();
        let page: Value = fx
            .http
            .get(format!("{}/{layer}/query", fx.url))
            .query(&[
                ("f", "json"),
                ("where", "1=1"),
                ("outFields", "*"),
                ("returnGeometry", "true"),
                ("orderByFields", "OBJECTID"),
                ("resultOffset", &offset),
            ])
            .send()
            .await
            .expect("query")
            .json()
            .await
            .expect("JSON");
        let features = page["features"].as_array().expect("features").clone();
        assert!(!features.is_empty() || page["exceededTransferLimit"] != json!(true));
        all.extend(features);
        if page["exceededTransferLimit"] != json!(true) {
            return all;
        }
    }
}

async fn create(fx: &Fixture, layer: i64, name: &str, extra: &[(&str, &str)]) -> Value {
    let layer_text = layer.to_string();
    let mut form = vec![
        ("f", "json"),
        ("replicaName", name),
        ("layers", layer_text.as_str()),
        ("syncModel", "perReplica"),
    ];
    form.extend_from_slice(extra);
    fx.post("createReplica", &form).await
}

async fn download(fx: &Fixture, url: &str) -> bytes::Bytes {
    let resp = fx.http.get(url).send().await.expect("result file");
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    resp.bytes().await.expect("its bytes")
}

/// The features of the only layer of a createReplica reply (JSON).
fn reply_features(reply: &Value, layer: i64) -> Vec<Value> {
    let layers = reply["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "one layer");
    assert_eq!(layers[0]["id"], layer);
    layers[0]["features"].as_array().expect("features").clone()
}

/// The service's layers as the FeatureServer resource lists them: the Parcels layer's id.
async fn parcels_layer(fx: &Fixture) -> i64 {
    let (_, root) = fx.get_json(&format!("{}?f=json", fx.url)).await;
    let layers = root["layers"].as_array().expect("layers");
    let parcels = layers
        .iter()
        .find(|l| l["name"] == "Parcels")
        .unwrap_or_else(|| panic!("no Parcels layer in {root}"));
    parcels["id"].as_i64().expect("an id")
}

/// Spools (`*.part`) and other files in the output directory.
fn output_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir.join("arcgisoutput"))
        .expect("the output directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_replica_equals_the_layer_query_in_every_output() {
    let data = tempfile::tempdir().unwrap();
    let fx = start_with(ServerConfig {
        data_dir: Some(data.path().to_path_buf()),
        generate_polygons: Some(AT_START),
        ..Default::default()
    })
    .await;
    let layer = parcels_layer(&fx).await;
    let (status, generated) = fx
        .admin(
            reqwest::Method::POST,
            "/admin/generate",
            Some(json!({"polygons": ADDED})),
        )
        .await;
    assert_eq!(status, 200, "{generated}");
    assert_eq!(generated["layer"], layer);
    assert_eq!(generated["added"], ADDED);
    let (status, refused) = fx
        .admin(
            reqwest::Method::POST,
            "/admin/generate",
            Some(json!({"polygons": 10, "layer": 0})),
        )
        .await;
    assert_eq!(status, 400, "hydrants are points: {refused}");

    let expected = by_global_id(&queried(&fx, layer).await);
    assert_eq!(expected.len(), TOTAL);
    let (sample_attributes, sample_geometry) = expected.values().next().expect("a parcel");
    let ring = sample_geometry["rings"][0].as_array().expect("a ring");
    assert!((5..=12).contains(&ring.len()) && ring.first() == ring.last());
    for field in ["ParcelID", "Zoning", "Area_m2", "LandValue", "LastSale"] {
        assert!(!sample_attributes[field].is_null(), "{field}");
    }

    // Embedded: the reply itself, header members before the layers (as a whole reply
    // serializes, and as ArcGIS sends it).
    let body = fx
        .http
        .post(format!("{}/createReplica", fx.url))
        .form(&[
            ("f", "json"),
            ("replicaName", "embedded"),
            ("layers", layer.to_string().as_str()),
            ("syncModel", "perReplica"),
            ("transportType", "esriTransportTypeEmbedded"),
        ])
        .send()
        .await
        .expect("createReplica")
        .text()
        .await
        .expect("a body");
    assert!(
        body.starts_with(r#"{"replicaName":"embedded","replicaID":"#),
        "{}",
        &body[..200.min(body.len())]
    );
    let embedded: Value = serde_json::from_str(&body).expect("JSON");
    assert!(embedded["replicaServerGen"].as_i64().is_some());
    assert_eq!(by_global_id(&reply_features(&embedded, layer)), expected);

    // A JSON result file, synchronous.
    let reply = create(
        &fx,
        layer,
        "file",
        &[("transportType", "esriTransportTypeUrl")],
    )
    .await;
    let url = reply["URL"].as_str().unwrap_or_else(|| panic!("{reply}"));
    let file: Value = serde_json::from_slice(&download(&fx, url).await).expect("JSON file");
    assert_eq!(file["replicaID"], reply["replicaID"]);
    assert_eq!(file["replicaServerGen"], reply["replicaServerGen"]);
    assert_eq!(by_global_id(&reply_features(&file, layer)), expected);

    // A JSON result file from an async job.
    let job = create(&fx, layer, "async", &[("async", "true")]).await;
    let status_url = job["statusUrl"].as_str().unwrap_or_else(|| panic!("{job}"));
    let (_, done) = fx.poll(status_url).await;
    assert_eq!(done["status"], "Completed", "{done}");
    let url = done["resultUrl"].as_str().expect("resultUrl");
    let file: Value = serde_json::from_slice(&download(&fx, url).await).expect("JSON file");
    assert_eq!(file["replicaID"], done["replicaID"]);
    assert_eq!(by_global_id(&reply_features(&file, layer)), expected);

    // A SQLite delta file.
    let reply = create(
        &fx,
        layer,
        "sqlite",
        &[
            ("transportType", "esriTransportTypeUrl"),
            ("dataFormat", "sqlite"),
        ],
    )
    .await;
    let url = reply["URL"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(url.ends_with(".geodatabase"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.geodatabase");
    std::fs::write(&path, download(&fx, url).await).unwrap();
    let delta = delta::read(&path).expect("a readable delta");
    assert_eq!(
        delta.replica_id.as_ref().map(|g| g.as_str().to_string()),
        reply["replicaID"].as_str().map(str::to_string)
    );
    assert_eq!(
        delta.replica_server_gen,
        reply["replicaServerGen"].as_i64(),
        "the delta's generation is the reply's"
    );
    assert_eq!(delta.changes.len(), 1);
    let adds: Vec<Value> = delta.changes[0]
        .features
        .adds
        .iter()
        .map(|f| serde_json::to_value(f).unwrap())
        .collect();
    assert_eq!(by_global_id(&adds), expected);

    // Four replicas registered, each at its own generation; no spool left behind.
    let listed = fx.post("replicas", &[("f", "json")]).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(4), "{listed}");
    let files = output_files(data.path());
    assert!(
        files.iter().all(|f| !f.ends_with(".part")),
        "spools left: {files:?}"
    );
    assert_eq!(files.len(), 3, "three result files: {files:?}");
}

/// A createReplica that is refused writes nothing into the output directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_create_leaves_no_file() {
    let data = tempfile::tempdir().unwrap();
    let fx = start_with(ServerConfig {
        data_dir: Some(data.path().to_path_buf()),
        generate_polygons: Some(100),
        ..Default::default()
    })
    .await;
    let layer = parcels_layer(&fx).await;
    let bad_where = json!({layer.to_string(): {"where": "NoSuchField = 1"}}).to_string();
    for format in ["json", "sqlite"] {
        let reply = create(
            &fx,
            layer,
            "bad",
            &[
                ("transportType", "esriTransportTypeUrl"),
                ("dataFormat", format),
                ("layerQueries", bad_where.as_str()),
            ],
        )
        .await;
        assert!(reply["error"].is_object(), "{reply}");
    }
    assert_eq!(output_files(data.path()), Vec::<String>::new());
}

/// Parcels at start for the sync test, and parcels `POST /admin/generate` adds after the
/// replicas were created (the server changes a sync downloads).
const SYNC_AT_START: u64 = 400;
const SYNC_ADDED: u64 = 20_000;
/// Parcels another client updates and deletes after the replicas were created.
const UPDATED: usize = 40;
const DELETED: usize = 25;

/// Registers a perReplica replica of `layers`; its id and generation.
async fn register(fx: &Fixture, layers: &str, name: &str) -> (String, i64) {
    let reply = fx
        .post(
            "createReplica",
            &[
                ("f", "json"),
                ("replicaName", name),
                ("layers", layers),
                ("syncModel", "perReplica"),
                ("transportType", "esriTransportTypeEmbedded"),
            ],
        )
        .await;
    let id = reply["replicaID"]
        .as_str()
        .unwrap_or_else(|| panic!("{reply}"))
        .to_string();
    let generation = reply["replicaServerGen"].as_i64().expect("a generation");
    (id, generation)
}

/// A download synchronizeReplica form for `replica` from `generation`.
fn sync_form<'a>(replica: &'a str, generation: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("f", "json"),
        ("replicaID", replica),
        ("replicaServerGen", generation),
        ("syncDirection", "download"),
    ]
}

/// What a sync downloaded of one layer: adds and updates by GlobalID, and its deleteIds.
struct Downloaded {
    adds: Features,
    updates: Features,
    deletes: Vec<String>,
}

fn downloaded_of(reply: &Value, layer: i64) -> Downloaded {
    let entries = reply["edits"].as_array().expect("edits");
    let mine: Vec<&Value> = entries.iter().filter(|e| e["id"] == layer).collect();
    assert_eq!(mine.len(), 1, "one entry for layer {layer}");
    let features = &mine[0]["features"];
    let list = |key: &str| features[key].as_array().cloned().unwrap_or_default();
    Downloaded {
        adds: by_global_id(&list("adds")),
        updates: by_global_id(&list("updates")),
        deletes: list("deleteIds")
            .iter()
            .map(|g| g.as_str().expect("a GlobalID").to_string())
            .collect(),
    }
}

/// Every generated parcel arrives once as an add, every updated one once as an update with
/// its new attributes, every deleted one once in deleteIds.
fn check_download(got: &Downloaded, expected: &Features, wanted: &Wanted, output: &str) {
    assert_eq!(got.adds.len(), SYNC_ADDED as usize, "{output}: adds");
    for (gid, feature) in &got.adds {
        assert!(wanted.generated.contains(gid), "{output}: {gid} is not new");
        assert_eq!(Some(feature), expected.get(gid), "{output}: add {gid}");
    }
    assert_eq!(got.updates.len(), UPDATED, "{output}: updates");
    for gid in &wanted.updated {
        assert_eq!(
            got.updates.get(gid),
            expected.get(gid),
            "{output}: update {gid}"
        );
    }
    let mut deletes = got.deletes.clone();
    deletes.sort();
    assert_eq!(deletes, wanted.deleted, "{output}: deleteIds, each once");
}

/// What the sync must bring.
struct Wanted {
    generated: std::collections::HashSet<String>,
    updated: Vec<String>,
    /// Sorted.
    deleted: Vec<String>,
}

/// A large synchronizeReplica download (issue 21): after four replicas were created, the
/// service gets 20,000 generated parcels and another client updates and deletes some; each
/// replica's download brings every generated parcel exactly once as an add (attributes and
/// geometry as the layer's query returns them), the updates with their new values and the
/// deleteIds, in the embedded reply (with the upload's results, header first, adds before
/// updates before deleteIds), a JSON result file (sync and async) and a SQLite delta.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_sync_download_brings_every_server_change_once_in_every_output() {
    let data = tempfile::tempdir().unwrap();
    let fx = start_with(ServerConfig {
        data_dir: Some(data.path().to_path_buf()),
        generate_polygons: Some(SYNC_AT_START),
        ..Default::default()
    })
    .await;
    let layer = parcels_layer(&fx).await;
    let layer_text = layer.to_string();
    let initial: Vec<String> = by_global_id(&queried(&fx, layer).await)
        .into_keys()
        .collect();
    let both = format!("0,{layer}");
    let (embedded_id, embedded_gen) = register(&fx, &both, "embedded").await;
    let (file_id, file_gen) = register(&fx, &layer_text, "file").await;
    let (job_id, job_gen) = register(&fx, &layer_text, "async").await;
    let (sqlite_id, sqlite_gen) = register(&fx, &layer_text, "sqlite").await;
    let (editor_id, editor_gen) = register(&fx, &layer_text, "editor").await;

    let (status, generated) = fx
        .admin(
            reqwest::Method::POST,
            "/admin/generate",
            Some(json!({"polygons": SYNC_ADDED})),
        )
        .await;
    assert_eq!(status, 200, "{generated}");
    let updated: Vec<String> = initial[..UPDATED].to_vec();
    let mut deleted: Vec<String> = initial[UPDATED..UPDATED + DELETED].to_vec();
    let updates: Vec<Value> = updated
        .iter()
        .enumerate()
        .map(|(i, gid)| json!({"attributes": {"GlobalID": gid, "LandValue": 1_000 + i}}))
        .collect();
    let edits = json!([{"id": layer, "features": {"updates": updates, "deleteIds": deleted}}]);
    let edited = fx
        .sync(
            &editor_id,
            editor_gen,
            &edits,
            &[("syncDirection", "upload")],
        )
        .await;
    // A sync reports only failed edits (and adds under returnIdsForAdds): none here.
    assert!(edited.get("error").is_none(), "{edited}");
    assert_eq!(edited["edits"], Value::Null, "no failed edit: {edited}");

    let expected = by_global_id(&queried(&fx, layer).await);
    assert_eq!(
        expected.len(),
        SYNC_AT_START as usize + SYNC_ADDED as usize - DELETED
    );
    deleted.sort();
    let initial: std::collections::HashSet<String> = initial.into_iter().collect();
    let wanted = Wanted {
        generated: expected
            .keys()
            .filter(|g| !initial.contains(*g))
            .cloned()
            .collect(),
        updated,
        deleted,
    };
    assert_eq!(wanted.generated.len(), SYNC_ADDED as usize);

    // Embedded, with an upload: the upload's results (layer 0) come first, then the parcels'
    // changes; header members first, and in the entry adds, updates, deleteIds in that order.
    let hydrant_gid = crate::support::server::new_gid();
    let upload = crate::support::server::adds(
        0,
        vec![crate::support::server::hydrant(&hydrant_gid, "HL-1")],
    );
    let upload_text = upload.to_string();
    let gen_text = embedded_gen.to_string();
    let mut form = sync_form(&embedded_id, &gen_text);
    form.retain(|(k, _)| *k != "syncDirection");
    form.extend([
        ("syncDirection", "bidirectional"),
        ("transportType", "esriTransportTypeEmbedded"),
        ("edits", upload_text.as_str()),
        ("returnIdsForAdds", "true"),
    ]);
    let body = fx
        .http
        .post(format!("{}/synchronizeReplica", fx.url))
        .form(&form)
        .send()
        .await
        .expect("synchronizeReplica")
        .text()
        .await
        .expect("a body");
    assert!(
        body.starts_with(r#"{"replicaName":"embedded","replicaID":"#),
        "{}",
        &body[..200.min(body.len())]
    );
    let order: Vec<usize> = [
        "\"responseType\":",
        "\"edits\":[{\"id\":0,\"addResults\":",
        &format!("{{\"id\":{layer},\"features\":{{\"adds\":["),
        "\"updates\":[",
        "\"deleteIds\":[",
    ]
    .iter()
    .map(|needle| body.find(needle).unwrap_or_else(|| panic!("no {needle}")))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "member order {order:?}"
    );
    let reply: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(reply["responseType"], "esriReplicaResponseTypeEdits");
    assert!(reply["replicaServerGen"].as_i64() > Some(embedded_gen));
    let hydrant = &reply["edits"][0]["addResults"][0];
    assert_eq!(
        hydrant["globalId"].as_str().map(str::to_lowercase),
        Some(hydrant_gid.to_lowercase()),
        "{hydrant}"
    );
    assert_eq!(hydrant["success"], true, "{hydrant}");
    check_download(
        &downloaded_of(&reply, layer),
        &expected,
        &wanted,
        "embedded",
    );

    // A JSON result file, synchronous.
    let gen_text = file_gen.to_string();
    let mut form = sync_form(&file_id, &gen_text);
    form.push(("transportType", "esriTransportTypeUrl"));
    let reply = fx.post("synchronizeReplica", &form).await;
    let url = reply["URL"].as_str().unwrap_or_else(|| panic!("{reply}"));
    let file: Value = serde_json::from_slice(&download(&fx, url).await).expect("JSON file");
    assert_eq!(file["replicaID"], reply["replicaID"]);
    assert_eq!(file["replicaServerGen"], reply["replicaServerGen"]);
    assert_eq!(file["responseType"], "esriReplicaResponseTypeEdits");
    check_download(
        &downloaded_of(&file, layer),
        &expected,
        &wanted,
        "result file",
    );

    // A JSON result file from an async job.
    let gen_text = job_gen.to_string();
    let mut form = sync_form(&job_id, &gen_text);
    form.push(("async", "true"));
    let job = fx.post("synchronizeReplica", &form).await;
    let status_url = job["statusUrl"].as_str().unwrap_or_else(|| panic!("{job}"));
    let (_, done) = fx.poll(status_url).await;
    assert_eq!(done["status"], "Completed", "{done}");
    let url = done["resultUrl"].as_str().expect("resultUrl");
    let file: Value = serde_json::from_slice(&download(&fx, url).await).expect("JSON file");
    assert_eq!(file["replicaID"], done["replicaID"]);
    check_download(
        &downloaded_of(&file, layer),
        &expected,
        &wanted,
        "async result file",
    );

    // A SQLite delta file.
    let gen_text = sqlite_gen.to_string();
    let mut form = sync_form(&sqlite_id, &gen_text);
    form.extend([
        ("transportType", "esriTransportTypeUrl"),
        ("dataFormat", "sqlite"),
    ]);
    let reply = fx.post("synchronizeReplica", &form).await;
    let url = reply["URL"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(url.ends_with(".geodatabase"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.geodatabase");
    std::fs::write(&path, download(&fx, url).await).unwrap();
    let delta = delta::read(&path).expect("a readable delta");
    assert_eq!(
        delta.replica_id.as_ref().map(|g| g.as_str().to_string()),
        reply["replicaID"].as_str().map(str::to_string)
    );
    assert_eq!(delta.replica_server_gen, reply["replicaServerGen"].as_i64());
    let as_reply = serde_json::to_value(delta.to_response()).expect("the delta as a reply");
    check_download(
        &downloaded_of(&as_reply, layer),
        &expected,
        &wanted,
        "delta",
    );

    // Nothing changed since: NoEdits, and no file for it.
    let before = output_files(data.path()).len();
    let gen_text = reply["replicaServerGen"]
        .as_i64()
        .expect("a generation")
        .to_string();
    let mut form = sync_form(&sqlite_id, &gen_text);
    form.extend([
        ("transportType", "esriTransportTypeUrl"),
        ("dataFormat", "sqlite"),
    ]);
    let reply = fx.post("synchronizeReplica", &form).await;
    assert_eq!(
        reply["responseType"], "esriReplicaResponseTypeNoEdits",
        "{reply}"
    );
    let files = output_files(data.path());
    assert_eq!(files.len(), before, "{files:?}");
    assert!(
        files.iter().all(|f| !f.ends_with(".part")),
        "spools left: {files:?}"
    );
}
