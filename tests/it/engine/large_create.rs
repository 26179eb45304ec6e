//! A replica read as a stream (issue 21), through the real engine against the reference service
//! over HTTP: the createReplica result file is read feature by feature into the replica file
//! (the engine never holds the whole reply), and what lands in the file is exactly what the
//! service holds; the job view hears how many features are stored; a result file that cannot be
//! read fails the create in one line, leaves no replica file and no staged file, and gives the
//! service's replica back.

use crate::support::client_config::fast;
use crate::support::engine::Harness;
use crate::support::server::{demo, hydrant, new_gid};
use serde_json::{Value, json};
use syncwatch::engine::{Command, DownloadFormat, Event};
use syncwatch::protocol::Feature;
use syncwatch::server::{ServerConfig, ServiceDefinition};
use syncwatch::service::ClientConfig;

const HYDRANTS: usize = 3_000;

/// The demo service with `n` more hydrants in layer 0.
fn many_hydrants(n: usize) -> ServiceDefinition {
    let mut def = demo();
    let layer = def
        .layers
        .iter_mut()
        .find(|l| l.id == 0)
        .expect("the demo has layer 0");
    for i in 0..n {
        let mut feature = hydrant(&new_gid(), &format!("H-{i:05}"));
        feature["geometry"] = json!({"x": -122.7 + i as f64 * 1e-5, "y": 45.5});
        layer
            .seed
            .push(serde_json::from_value::<Feature>(feature).expect("a feature"));
    }
    def
}

/// Every feature of layer 0 as the service's query gives it (page by page), by GlobalID.
async fn service_features(h: &Harness) -> Vec<(String, Value, Value)> {
    let mut rows: Vec<(String, Value, Value)> = Vec::new();
    loop {
        let offset = rows.len().to_string();
        let reply: Value = reqwest::Client::new()
            .get(format!("{}/0/query", h.service_url))
            .query(&[
                ("where", "1=1"),
                ("outFields", "*"),
                ("orderByFields", "OBJECTID"),
                ("resultOffset", offset.as_str()),
                ("f", "json"),
            ])
            .send()
            .await
            .expect("query")
            .json()
            .await
            .expect("a FeatureSet");
        let page = reply["features"]
            .as_array()
            .unwrap_or_else(|| panic!("features in {reply}"));
        rows.extend(page.iter().map(|f| {
            let gid = f["attributes"]["GlobalID"].as_str().expect("a GlobalID");
            (
                gid.to_uppercase(),
                f["attributes"].clone(),
                f["geometry"].clone(),
            )
        }));
        if page.is_empty() || reply["exceededTransferLimit"] != json!(true) {
            break;
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

#[tokio::test]
async fn a_large_replica_is_read_feature_by_feature_into_its_file() {
    let config = ServerConfig {
        definition: Some(many_hydrants(HYDRANTS)),
        ..Default::default()
    };
    let h = Harness::start(config, fast()).await;
    let replica = h.create("streamed").await;
    let expected = service_features(&h).await;
    assert!(expected.len() > HYDRANTS, "{} features", expected.len());

    let file = h.file(replica);
    assert_eq!(
        file.server_feature_count(0).unwrap() as usize,
        expected.len()
    );
    for (gid, attributes, geometry) in &expected {
        let gid = syncwatch::protocol::Guid::parse(gid).unwrap();
        let stored = file
            .server_feature(0, &gid)
            .unwrap()
            .unwrap_or_else(|| panic!("{gid} is in the replica file"));
        let mut stored_attributes = serde_json::to_value(&stored.attributes).unwrap();
        // The query answers GlobalIDs as stored; the replica keeps them as the service sent them.
        for v in [&mut stored_attributes] {
            if let Some(g) = v.get_mut("GlobalID") {
                *g = json!(g.as_str().unwrap_or_default().to_uppercase());
            }
        }
        let mut want = attributes.clone();
        want["GlobalID"] = json!(want["GlobalID"].as_str().unwrap_or_default().to_uppercase());
        assert_eq!(stored_attributes, want, "attributes of {gid}");
        assert_eq!(
            stored.geometry.as_ref(),
            Some(geometry),
            "geometry of {gid}"
        );
    }

    // The job view heard the features being stored, ending with all of them.
    let stored: Vec<String> = h
        .seen_events()
        .iter()
        .filter_map(|e| match e {
            Event::JobStatus {
                replica: r,
                message,
                ..
            } if *r == replica && message.starts_with("storing the features: ") => {
                Some(message.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        stored.last().map(String::as_str),
        Some(format!("storing the features: {} stored", expected.len()).as_str()),
        "{stored:?}"
    );
    // Nothing of the download is left in the results folder.
    assert_eq!(leftovers(&h), Vec::<String>::new());
}

#[tokio::test]
async fn a_result_file_that_cannot_be_read_fails_the_create_and_gives_the_replica_back() {
    // JSON results (the SQLite delta's are `sqlite_results`'s).
    let h = Harness::start_with(ServerConfig::default(), fast(), |c| {
        c.download_format = DownloadFormat::Json
    })
    .await;
    // Every download of the result file gets only the first half of its JSON.
    let (status, reply) = admin(
        &h,
        reqwest::Method::POST,
        "/admin/faults",
        Some(json!({"operation": "result", "kind": "truncatedJson", "count": 10})),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let (replica, end) = h
        .job(Command::CreateReplica(h.create_request("half", false)))
        .await;
    let failure = end.expect_err("a half result file cannot make a replica");
    assert!(
        !failure.message.contains('\n') && failure.message.contains("not valid sync JSON"),
        "{failure:?}"
    );
    assert!(h.file_path(replica).is_none(), "no replica file was left");
    assert_eq!(leftovers(&h), Vec::<String>::new());
    let (_, status) = admin(&h, reqwest::Method::GET, "/admin/status", None).await;
    assert_eq!(status["replicas"], json!(0), "{status}");
}

/// A JSON result file is read as a stream from disk, so it is held to the result-file limit,
/// not to the limit of a reply read into memory: a result larger than the in-memory limit makes
/// a replica (2,000,000 parcels are about 860 MB, past that 512 MiB default), and one larger
/// than the file limit fails in one line with nothing left behind.
#[tokio::test]
async fn a_result_file_is_limited_as_a_file_not_as_a_reply_in_memory() {
    const LIMIT: u64 = 16 << 10;
    let start = |client: ClientConfig| {
        let config = ServerConfig {
            definition: Some(many_hydrants(500)),
            ..Default::default()
        };
        Harness::start_with(config, client, |c| c.download_format = DownloadFormat::Json)
    };
    let past_memory = start(ClientConfig {
        max_replica_reply_bytes: LIMIT,
        ..fast()
    })
    .await;
    let replica = past_memory.create("past the memory limit").await;
    let stored = past_memory.file(replica).server_feature_count(0).unwrap();
    assert!(stored > 500, "{stored} features");

    let past_file = start(ClientConfig {
        max_result_file_bytes: LIMIT,
        ..fast()
    })
    .await;
    let (replica, end) = past_file
        .job(Command::CreateReplica(
            past_file.create_request("past the file limit", false),
        ))
        .await;
    let failure = end.expect_err("a result past the file limit is refused");
    assert!(
        !failure.message.contains('\n') && failure.message.contains("larger than"),
        "{failure:?}"
    );
    assert!(
        past_file.file_path(replica).is_none(),
        "no replica file was left"
    );
    assert_eq!(leftovers(&past_file), Vec::<String>::new());
}

/// A call to the service's admin API.
async fn admin(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", h.server.base_url()))
        .header("X-Admin-Key", h.server.admin_key());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("admin request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// What is left in the engine's results folder (downloads, staged files).
fn leftovers(h: &Harness) -> Vec<String> {
    let dir = h.dir.path().join("results");
    std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}
