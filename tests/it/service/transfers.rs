//! Downloads that survive the field (issue 21), over real HTTP against the reference service: a
//! result file whose connection is cut at several points is resumed with `Range` and ends
//! byte-identical to an uncut download, the service sending only the missing bytes; a slow but
//! steady download longer than the client's whole-request limit completes; a stalled one is
//! resumed; the service answers byte ranges as a web server does.

use crate::support::client_config::{Tuned as _, fast};
use crate::support::server::{Fixture, start};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use syncwatch::service::FeatureServiceClient;

/// A SQLite replica of the three point and line layers: its result file's URL and bytes.
async fn result_file(fx: &Fixture) -> (String, Vec<u8>) {
    let reply = fx
        .create(
            "0,1,2",
            &[
                ("dataFormat", "sqlite"),
                ("transportType", "esriTransportTypeUrl"),
            ],
        )
        .await;
    let url = reply["URL"]
        .as_str()
        .expect("a result file URL")
        .to_string();
    let bytes = fx
        .http
        .get(&url)
        .send()
        .await
        .expect("download")
        .bytes()
        .await
        .expect("body")
        .to_vec();
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    (url, bytes)
}

async fn bytes_served(fx: &Fixture) -> u64 {
    let (status, reply) = fx.admin(reqwest::Method::GET, "/admin/status", None).await;
    assert_eq!(status, 200, "{reply}");
    reply["fileBytesServed"].as_u64().expect("fileBytesServed")
}

async fn faults_left(fx: &Fixture) -> Value {
    fx.admin(reqwest::Method::GET, "/admin/faults", None)
        .await
        .1
}

#[tokio::test]
async fn a_download_cut_three_times_resumes_and_fetches_only_what_was_missing() {
    let fx = start().await;
    let (url, whole) = result_file(&fx).await;
    let len = whole.len();
    assert!(len > 64 * 1024, "a file of several chunks: {len} bytes");
    // Each of the next three requests for the file is cut after a quarter of the file.
    fx.fault(
        json!({"operation": "result", "kind": "dropConnection", "afterBytes": len / 4, "count": 3}),
    )
    .await;
    let before = bytes_served(&fx).await;
    let dir = tempfile::tempdir().unwrap();
    let client = FeatureServiceClient::new(&fx.url, None, fast()).unwrap();
    let path = client
        .download_attachment(&url, dir.path(), 1 << 30)
        .await
        .expect("the download resumes to its end");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        whole,
        "byte-identical to an uncut download"
    );
    assert_eq!(faults_left(&fx).await, json!([]), "all three cuts happened");
    assert_eq!(
        bytes_served(&fx).await - before,
        len as u64,
        "the service sent each byte once: resumed, not restarted"
    );
}

#[tokio::test]
async fn a_slow_steady_download_outlasts_the_whole_request_limit() {
    let fx = start().await;
    let (url, whole) = result_file(&fx).await;
    // About 2 s of steady trickle against a 1 s whole-request limit (the old 120 s, scaled).
    let chunk = whole.len() / 20 + 1;
    fx.fault(
        json!({"operation": "result", "kind": "trickle", "chunkBytes": chunk, "intervalMs": 100}),
    )
    .await;
    let config = fast()
        .request_timeout(Duration::from_secs(1))
        .idle_timeout(Duration::from_millis(800));
    let client = FeatureServiceClient::new(&fx.url, None, config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let path = client
        .download_attachment(&url, dir.path(), 1 << 30)
        .await
        .expect("a steady download is not cut");
    assert!(
        started.elapsed() > Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(std::fs::read(&path).unwrap(), whole);
    assert_eq!(faults_left(&fx).await, json!([]), "the trickle was used");
}

#[tokio::test]
async fn a_stalled_download_is_given_up_after_the_idle_limit_and_tried_again() {
    let fx = start().await;
    let (url, whole) = result_file(&fx).await;
    // The first request's reply is held back far longer than the idle limit.
    fx.fault(json!({"operation": "result", "kind": "timeout", "delayMs": 30_000, "count": 1}))
        .await;
    let config = fast().idle_timeout(Duration::from_millis(500));
    let client = FeatureServiceClient::new(&fx.url, None, config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let path = client
        .download_attachment(&url, dir.path(), 1 << 30)
        .await
        .expect("the second try downloads");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(std::fs::read(&path).unwrap(), whole);
}

#[tokio::test]
async fn the_service_answers_byte_ranges() {
    let fx = start().await;
    let (url, whole) = result_file(&fx).await;
    let len = whole.len();
    let get = |range: &'static str| {
        let request = fx.http.get(&url).header("Range", range);
        async move {
            let reply = request.send().await.expect("request");
            let status = reply.status().as_u16();
            let content_range = reply
                .headers()
                .get("content-range")
                .map(|v| v.to_str().unwrap().to_string());
            (status, content_range, reply.bytes().await.unwrap().to_vec())
        }
    };
    let (status, range, body) = get("bytes=1000-").await;
    assert_eq!(
        (status, range),
        (206, Some(format!("bytes 1000-{}/{len}", len - 1)))
    );
    assert_eq!(body, whole[1000..]);
    let (status, range, body) = get("bytes=10-19").await;
    assert_eq!((status, range), (206, Some(format!("bytes 10-19/{len}"))));
    assert_eq!(body, whole[10..20]);
    let (status, range, body) = get("bytes=-16").await;
    assert_eq!(
        (status, range),
        (206, Some(format!("bytes {}-{}/{len}", len - 16, len - 1)))
    );
    assert_eq!(body, whole[len - 16..]);
    let (status, range, body) = get("bytes=999999999-").await;
    assert_eq!((status, range), (416, Some(format!("bytes */{len}"))));
    assert!(body.is_empty());
    let (status, range, body) = get("bytes=0-1,5-9").await;
    assert_eq!(
        (status, range),
        (200, None),
        "several ranges: the whole file"
    );
    assert_eq!(body, whole);
}

/// An async createReplica's JSON result (what the engine downloads) survives two cuts: the
/// replica arrives whole and the service sends no more bytes than for an uncut download.
#[tokio::test]
async fn a_json_result_cut_twice_is_resumed_not_restarted() {
    let fx = start().await;
    let client = FeatureServiceClient::new(&fx.url, None, fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let create = |name: &str| {
        let mut params = syncwatch::protocol::CreateReplicaParams::new(name, vec![0, 1, 2]);
        params.is_async = true;
        let (client, dir, seen) = (&client, dir.path().to_path_buf(), &seen);
        let progress = move |p: syncwatch::service::JobProgress| seen.lock().unwrap().push(p);
        async move { client.create_replica(&params, &dir, &progress).await }
    };
    let before = bytes_served(&fx).await;
    let uncut = create("uncut").await.expect("an uncut create");
    let one_download = bytes_served(&fx).await - before;
    assert!(one_download > 0, "the result came as a file");

    fx.fault(json!({"operation": "result", "kind": "dropConnection", "afterBytes": one_download / 3, "count": 2}))
        .await;
    let before = bytes_served(&fx).await;
    let cut = create("cut-twice")
        .await
        .expect("the create survives two cuts");
    let resumed = bytes_served(&fx).await - before;
    assert_eq!(faults_left(&fx).await, json!([]), "both cuts happened");
    let features = |r: &syncwatch::service::ReplicaResult| {
        r.response
            .layers
            .iter()
            .map(|l| (l.id, l.features.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(features(&cut), features(&uncut));
    assert!(
        resumed.abs_diff(one_download) <= 16,
        "resumed downloads send each byte once: {resumed} bytes against {one_download}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no part file left behind"
    );
    // The download's bytes reached the job's progress (what the window and the CLI show).
    let seen = seen.lock().unwrap();
    let downloading: Vec<_> = seen
        .iter()
        .filter(|p| p.message.starts_with("downloading the result: "))
        .collect();
    assert!(!downloading.is_empty(), "{seen:?}");
    assert!(
        downloading
            .iter()
            .all(|p| p.fraction.is_none_or(|f| f > 0.0 && f <= 1.0)),
        "{downloading:?}"
    );
    // Each download ends with a report of all of it.
    let whole = downloading
        .iter()
        .filter(|p| p.fraction == Some(1.0) && p.message.contains(" KB of "))
        .count();
    assert_eq!(whole, 2, "{downloading:?}");
}
