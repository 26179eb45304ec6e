//! Hostile values end to end: HTML and script, SQL metacharacters, quotes, commas, newlines,
//! control and right-to-left characters and a 300 KB string travel from a local edit through
//! synchronizeReplica into the service, back down to another replica and out to a CSV export,
//! unchanged; a layer named like an injection is just a name; where clauses and GlobalIDs made of
//! SQL are literals or refusals, never code.

use crate::support::client_config::Tuned as _;
use crate::support::engine::{Harness, ServerDb, attrs};
use serde_json::{Value, json};
use syncwatch::engine::LocalEdit;
use syncwatch::protocol::Guid;
use syncwatch::server::{ServerConfig, ServiceDefinition};
use syncwatch::service::ClientConfig;

const LAYER_NAME: &str = "Points \"A\", <script>alert('x')</script>'; DROP TABLE features; --\nend";

fn hostile_values() -> Vec<String> {
    vec![
        "<script>alert(document.cookie)</script>".into(),
        "<img src=x onerror=\"alert(1)\">".into(),
        "'; DROP TABLE features; --".into(),
        "\"); DELETE FROM changes; --".into(),
        "x' OR '1'='1".into(),
        "100%_done\\".into(),
        "comma, \"quote\", and\nnewline\r\n".into(),
        "\u{202e}reversed \u{0007} bell \u{0000} nul".into(),
        "漢字 émoji 🚒".into(),
        "A".repeat(300_000),
    ]
}

/// A one-layer service with an injection-shaped layer name, the HTML filter off (so script text
/// is stored, not refused), a long text field and a seeded row whose Notes look like SQL.
fn hostile_service() -> ServiceDefinition {
    ServiceDefinition::from_json(
        &json!({
            "name": "Hostile",
            "xssPreventionInfo": {"xssPreventionEnabled": false},
            "layers": [{
                "id": 0, "name": LAYER_NAME, "geometryType": "esriGeometryPoint",
                "fields": [
                    {"name": "Notes", "type": "esriFieldTypeString", "length": 1_000_000},
                    {"name": "Code", "type": "esriFieldTypeString", "length": 20}
                ],
                "seed": [
                    {"geometry": {"x": 1.0, "y": 1.0}, "attributes": {"Notes": "x' OR '1'='1", "Code": "S1"}},
                    {"geometry": {"x": 2.0, "y": 2.0}, "attributes": {"Notes": "plain", "Code": "S2"}}
                ]
            }]
        })
        .to_string(),
    )
    .unwrap()
}

/// The hostile service and an engine in front of it.
async fn start() -> Harness {
    let client = ClientConfig::default().poll_ms(10);
    let config = ServerConfig {
        definition: Some(hostile_service()),
        ..ServerConfig::default()
    };
    Harness::start(config, client).await
}

/// Every hostile value is stored by the service, downloaded by a second replica and exported to
/// CSV exactly as typed; the layer keeps its injection-shaped name everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_round_trips_literally_end_to_end() {
    let h = start().await;
    let field = h.create("field").await;
    let office = h.create("office").await;
    let values = hostile_values();
    let mut ids = Vec::new();
    for (n, value) in values.iter().enumerate() {
        let global_id = Guid::new_v4();
        h.engine
            .edit_feature(
                field,
                0,
                LocalEdit::Add {
                    attributes: attrs(json!({
                        "GlobalID": global_id.as_str(), "Notes": value, "Code": format!("H{n}")
                    })),
                    geometry: Some(json!({"x": 3.0, "y": 4.0})),
                },
            )
            .await
            .unwrap();
        ids.push(global_id);
    }
    // One refused edit whose value is hostile too: a Code longer than its field.
    h.engine
        .edit_feature(
            field,
            0,
            LocalEdit::Add {
                attributes: attrs(json!({"Notes": "refused", "Code": "'; DROP TABLE x; --------"})),
                geometry: Some(json!({"x": 3.0, "y": 4.0})),
            },
        )
        .await
        .unwrap();
    let outcome = h.sync(field, true).await.unwrap();
    assert_eq!(outcome.failed_edits, 1);
    h.sync(office, false).await.unwrap();

    let db = h.server_db();
    let office_file =
        syncwatch::geodatabase::replica_file::ReplicaFile::open(&h.file_path(office).unwrap())
            .unwrap();
    for (value, global_id) in values.iter().zip(&ids) {
        let shown = &value[..value.len().min(40)];
        let stored = db.attributes(0, global_id).unwrap();
        assert_eq!(stored["Notes"], json!(value), "service: {shown:?}");
        let downloaded = office_file.server_feature(0, global_id).unwrap().unwrap();
        assert_eq!(
            downloaded.attributes["Notes"],
            json!(value),
            "download: {shown:?}"
        );
    }
    assert_eq!(office_file.definition().unwrap().layers[0].name, LAYER_NAME);

    let rows = h.edit_results(field).await;
    let csv = h.dir.path().join("hostile.csv");
    h.export_csv(rows.clone(), &csv).await;
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let back: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(back.len(), rows.len());
    for (record, row) in back.iter().zip(rows.iter()) {
        assert_eq!(
            &record[1], LAYER_NAME,
            "the layer name survives CSV quoting"
        );
        assert_eq!(&record[8], &*row.description);
    }
    assert!(
        rows.iter().any(|r| !r.success),
        "the refused edit is exported"
    );
}

/// Where clauses and identifiers made of SQL: a quoted literal selects exactly the row whose text
/// it is; a clause with a statement tacked on is refused; a GlobalID or replicaID made of SQL is
/// refused as such; the service's data is intact afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_in_where_clauses_and_identifiers_is_never_run() {
    let h = start().await;
    let http = reqwest::Client::new();
    let create = |clause: &str| {
        let queries = json!({"0": {"queryOption": "useFilter", "where": clause}}).to_string();
        let request = http
            .post(format!("{}/createReplica", h.service_url))
            .form(&[
                ("f", "json"),
                ("replicaName", "filtered"),
                ("layers", "0"),
                ("layerQueries", queries.as_str()),
                ("transportType", "esriTransportTypeEmbedded"),
            ]);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let codes = |reply: &Value| -> Vec<String> {
        reply["layers"][0]["features"]
            .as_array()
            .map(|f| {
                f.iter()
                    .map(|f| f["attributes"]["Code"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let literal = create("Notes = 'x'' OR ''1''=''1'").await;
    assert_eq!(codes(&literal), vec!["S1"], "{literal}");
    let unquoted = create("Notes = 'x' OR '1'='1'").await;
    assert_eq!(
        codes(&unquoted).len(),
        2,
        "an OR of the caller's own is just an OR"
    );
    for injected in [
        "Notes = 'plain'; DROP TABLE features; --",
        "Notes = 'plain' -- ",
        "1=1) UNION SELECT * FROM replicas --",
    ] {
        let reply = create(injected).await;
        assert!(reply.get("error").is_some(), "{injected}: {reply}");
    }

    let (replica, generation) = {
        let reply = create("1=1").await;
        (
            reply["replicaID"].as_str().unwrap().to_string(),
            reply["replicaServerGen"].as_i64().unwrap(),
        )
    };
    let edits = json!([{"id": 0, "features": {
        "adds": [{"attributes": {"GlobalID": "'); DROP TABLE features; --", "Code": "BAD"}}],
        "deleteIds": ["' OR 1=1 --"]
    }}]);
    let reply: Value = http
        .post(format!("{}/synchronizeReplica", h.service_url))
        .form(&[
            ("f", "json"),
            ("replicaID", replica.as_str()),
            ("replicaServerGen", generation.to_string().as_str()),
            ("syncDirection", "upload"),
            ("transportType", "esriTransportTypeEmbedded"),
            ("rollbackOnFailure", "false"),
            ("edits", edits.to_string().as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let layer = &reply["edits"][0];
    assert_eq!(layer["addResults"][0]["success"], false, "{reply}");
    assert_eq!(layer["deleteResults"][0]["success"], false, "{reply}");
    for path in [
        "replicas/'%20OR%201=1%20--",
        "replicas/%27%29%3B%20DROP%20TABLE%20replicas",
    ] {
        let status = http
            .get(format!("{}/{path}?f=json", h.service_url))
            .send()
            .await
            .unwrap();
        let body: Value = status.json().await.unwrap();
        assert!(body.get("error").is_some(), "{path}: {body}");
    }
    let db: ServerDb = h.server_db();
    assert_eq!(
        db.count_marker("S1") + db.count_marker("S2"),
        2,
        "seed rows intact"
    );
    assert_eq!(db.count_marker("BAD"), 0);
    assert!(db.replica_count() >= 1, "replicas intact");
}
