//! Server: applying 10,000 and 100,000 hydrant adds in one synchronizeReplica on the reference
//! service (edits/s; budget ≥ 50,000 at 100,000 edits), and one download of 100,000 server changes
//! to another replica. Over HTTP on loopback, server in this process: form decoding, JSON parsing,
//! every per-edit check, one SQLite transaction. Request bodies are encoded before the clock starts.
//! Run: `cargo bench --bench server`.

mod support;

use serde_json::{Value, json};
use std::time::Instant;
use syncwatch::protocol::Guid;
use syncwatch::server::{self, RunningServer, ServerConfig};

struct Service {
    _server: RunningServer,
    http: reqwest::Client,
    url: String,
}

impl Service {
    async fn post(&self, op: &str, form: &[(&str, &str)]) -> (Value, usize) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.post_encoded(op, body).await
    }

    async fn post_encoded(&self, op: &str, body: String) -> (Value, usize) {
        let resp = self
            .http
            .post(format!("{}/{op}", self.url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request reaches the reference service");
        let bytes = resp.bytes().await.expect("reply body");
        let value = serde_json::from_slice(&bytes).expect("JSON reply");
        (value, bytes.len())
    }

    /// A hydrant replica; returns its ID and generation.
    async fn replica(&self) -> (String, i64) {
        let (reply, _) = self
            .post(
                "createReplica",
                &[
                    ("f", "json"),
                    ("layers", "0"),
                    ("syncModel", "perReplica"),
                    ("transportType", "esriTransportTypeEmbedded"),
                    ("returnAttachments", "false"),
                ],
            )
            .await;
        let id = reply["replicaID"].as_str().expect("replicaID").to_string();
        let generation = reply["replicaServerGen"].as_i64().expect("generation");
        (id, generation)
    }
}

fn upload_body(replica: &str, generation: i64, first: usize, edits: usize) -> String {
    let features: Vec<Value> = (first..first + edits)
        .map(|i| {
            json!({"geometry": {"x": -122.65, "y": 45.52},
                   "attributes": {"GlobalID": Guid::new_v4().as_str(), "FacilityID": format!("B-{i:07}"),
                                  "Status": "IS", "Flow_GPM": 750}})
        })
        .collect();
    let edits = json!([{"id": 0, "features": {"adds": features}}]).to_string();
    let generation = generation.to_string();
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("f", "json"),
            ("replicaID", replica),
            ("replicaServerGen", generation.as_str()),
            ("syncDirection", "upload"),
            ("rollbackOnFailure", "true"),
            ("transportType", "esriTransportTypeEmbedded"),
            ("edits", edits.as_str()),
        ])
        .finish()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = server::start(ServerConfig::default())
        .await
        .expect("reference service starts");
    let service = Service {
        url: server.service_url(),
        _server: server,
        http: reqwest::Client::new(),
    };
    let (uploader, mut generation) = service.replica().await;
    let (downloader, download_gen) = service.replica().await;
    let mut results = Vec::new();
    let mut first = 0;
    for edits in [10_000usize, 100_000] {
        let body = upload_body(&uploader, generation, first, edits);
        first += edits;
        let cpu = support::cpu_seconds("self");
        let started = Instant::now();
        let (reply, _) = service.post_encoded("synchronizeReplica", body).await;
        let wall = started.elapsed().as_secs_f64();
        let cpu = support::cpu_seconds("self").zip(cpu).map(|(b, a)| b - a);
        assert!(reply.get("error").is_none(), "upload refused: {reply}");
        generation = reply["replicaServerGen"].as_i64().unwrap_or(generation);
        let per_cpu = cpu.map(|c| edits as f64 / c);
        println!(
            "apply {edits:>7} edits: {wall:.2} s = {:.0} edits/s wall; {} per CPU-second",
            edits as f64 / wall,
            per_cpu.map_or("n/a".into(), |r| format!("{r:.0}"))
        );
        results.push(json!({"bench": "apply", "edits": edits, "wall_s": wall,
                            "edits_per_s": edits as f64 / wall, "cpu_s": cpu, "edits_per_cpu_s": per_cpu}));
    }

    let download_gen = download_gen.to_string();
    let started = Instant::now();
    let (reply, bytes) = service
        .post(
            "synchronizeReplica",
            &[
                ("f", "json"),
                ("replicaID", downloader.as_str()),
                ("replicaServerGen", download_gen.as_str()),
                ("syncDirection", "download"),
                ("transportType", "esriTransportTypeEmbedded"),
            ],
        )
        .await;
    let wall = started.elapsed().as_secs_f64();
    let adds = reply["edits"]
        .as_array()
        .and_then(|layers| layers.first())
        .and_then(|l| l["features"]["adds"].as_array())
        .map_or(0, Vec::len);
    assert_eq!(adds, first, "the download carries every uploaded hydrant");
    println!(
        "download {adds} changes: {wall:.2} s = {:.0} changes/s, {:.1} MB reply",
        adds as f64 / wall,
        bytes as f64 / 1e6
    );
    results.push(json!({"bench": "download", "changes": adds, "wall_s": wall,
                        "changes_per_s": adds as f64 / wall, "reply_bytes": bytes}));
    support::write_report("server", json!({ "results": results }));
}
