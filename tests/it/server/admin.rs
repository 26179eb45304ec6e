//! Async jobs, result-file expiry, the admin API (terminate / re-enable sync, expire results,
//! faults, breaking schema changes) and its guard, over real HTTP.

use crate::support::server::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use syncwatch::protocol::{ReplicaResponse, ReplyError, parse_reply};
use syncwatch::server::ServerConfig;

fn with_job_delay(ms: u64) -> ServerConfig {
    ServerConfig {
        job_step_delay: Duration::from_millis(ms),
        ..Default::default()
    }
}

/// An async createReplica goes Pending → InProgress → Completed; the result file holds the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_create_is_polled_to_completed() {
    let fx = start_with(with_job_delay(60)).await;
    let reply = fx.create("3", &[("async", "true")]).await;
    let status_url = reply["statusUrl"].as_str().expect("statusUrl").to_string();
    assert!(status_url.contains("/FeatureServer/jobs/"));
    let (seen, last) = fx.poll(&status_url).await;
    assert_eq!(seen, vec!["Pending", "InProgress", "Completed"]);
    let status: ReplicaResponse = parse_reply(last.to_string().as_bytes()).unwrap();
    assert!(status.replica_id.is_some() && status.replica_server_gen.is_some());
    let (code, data) = fx.get_json(status.result_location().unwrap()).await;
    assert_eq!(code, 200);
    assert_eq!(data["replicaID"], last["replicaID"]);
    assert!(!data["layers"][0]["features"].as_array().unwrap().is_empty());
}

/// An async sync with a refused edit ends CompletedWithErrors; one of an unknown replica ends
/// Failed with the seed's envelope in the status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_sync_completed_with_errors_and_failed() {
    let fx = start_with(with_job_delay(5)).await;
    let (replica, generation) = fx.replica("0", "").await;
    let bad = adds(0, vec![json!({"attributes":{"GlobalID":new_gid()}})]);
    let reply = fx
        .sync(&replica, generation, &bad, &[("async", "true")])
        .await;
    let (seen, last) = fx.poll(reply["statusUrl"].as_str().unwrap()).await;
    assert_eq!(seen.last().map(String::as_str), Some("CompletedWithErrors"));
    let (_, result) = fx.get_json(last["resultUrl"].as_str().unwrap()).await;
    assert_eq!(results(&result, 0, "addResults")[0]["error"]["code"], 1001);

    let reply = fx
        .sync(&new_gid(), 1, &json!([]), &[("async", "true")])
        .await;
    let (seen, last) = fx.poll(reply["statusUrl"].as_str().unwrap()).await;
    assert_eq!(seen.last().map(String::as_str), Some("Failed"));
    match parse_reply::<ReplicaResponse>(last.to_string().as_bytes()) {
        Err(ReplyError::Service(e)) => assert_eq!(
            e.details,
            vec!["Replica with this GUID does not exist on the server"]
        ),
        other => panic!("expected the envelope, got {other:?}"),
    }
    let (_, missing) = fx.get_json(&format!("{}/jobs/nope?f=json", fx.url)).await;
    assert_eq!(missing["error"]["code"], 404);
}

/// A result file not accessed for the TTL is removed; a later GET gets a 404 envelope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn result_files_expire_after_the_ttl() {
    let fx = start_with(ServerConfig {
        result_ttl: Duration::from_millis(150),
        ..Default::default()
    })
    .await;
    let reply = fx
        .create("3", &[("transportType", "esriTransportTypeUrl")])
        .await;
    let url = reply["URL"].as_str().unwrap().to_string();
    assert_eq!(fx.get_json(&url).await.0, 200);
    let mut status = 200;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = fx.http.get(&url).send().await.unwrap().status().as_u16();
        if status == 404 {
            break;
        }
        // An access refreshes the TTL, so stop touching it and wait it out.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 404);
    let (_, body) = fx.get_json(&url).await;
    assert_eq!(body["error"]["code"], 404);
    assert!(
        body["error"]["details"][0]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

/// The admin API answers only with the right X-Admin-Key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_refuses_without_the_key() {
    let fx = start().await;
    let base = fx.server.base_url().to_string();
    for (method, path) in [
        (Method::GET, "/admin/status"),
        (Method::POST, "/admin/sync/terminate"),
        (Method::POST, "/admin/sync/enable"),
        (Method::POST, "/admin/results/expire"),
        (Method::POST, "/admin/faults"),
        (Method::DELETE, "/admin/faults"),
        (Method::POST, "/admin/schema"),
    ] {
        for key in [None, Some("wrong")] {
            let mut req = fx.http.request(method.clone(), format!("{base}{path}"));
            if let Some(key) = key {
                req = req.header("X-Admin-Key", key);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 401, "{method} {path} {key:?}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["error"]["message"], "Admin access denied.");
        }
    }
    let (status, body) = fx.admin(Method::GET, "/admin/status", None).await;
    assert_eq!((status, body["syncEnabled"].as_bool()), (200, Some(true)));
    let reply = fx.create("0", &[]).await;
    assert!(
        reply["replicaID"].is_string(),
        "sync still enabled after refused admin calls"
    );
}

/// Terminating sync drops every replica and refuses sync; re-enabling lets new replicas sync
/// while old ones stay gone (their clients need a client reset).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_and_reenable_sync() {
    let fx = start().await;
    let (old, old_gen) = fx.replica("0", "").await;
    let (status, body) = fx.admin(Method::POST, "/admin/sync/terminate", None).await;
    assert_eq!((status, body["replicasDropped"].as_i64()), (200, Some(1)));
    let refused = fx.sync(&old, old_gen, &json!([]), &[]).await;
    assert!(
        refused["error"]["details"][0]
            .as_str()
            .unwrap()
            .contains("Sync is disabled")
    );
    assert!(fx.create("0", &[]).await["error"].is_object());
    fx.admin(Method::POST, "/admin/sync/enable", None).await;
    let gone = fx.sync(&old, old_gen, &json!([]), &[]).await;
    assert_eq!(
        gone["error"]["details"][0],
        "Replica with this GUID does not exist on the server"
    );
    let (fresh, fresh_gen) = fx.replica("0", "").await;
    assert!(
        fx.sync(&fresh, fresh_gen, &json!([]), &[])
            .await
            .get("error")
            .is_none()
    );
}

/// Expire-all removes every result file at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expire_all_results_now() {
    let fx = start().await;
    let url = fx
        .create("3", &[("transportType", "esriTransportTypeUrl")])
        .await["URL"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, body) = fx.admin(Method::POST, "/admin/results/expire", None).await;
    assert_eq!(body["expired"], 1);
    assert_eq!(fx.get_json(&url).await.0, 404);
}

/// Each fault kind hits the next N requests of its operation, then the service answers normally;
/// a dropped connection and truncated JSON still commit the sync (so the resend must be idempotent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults() {
    let fx = start().await;
    let replicas = format!("{}/replicas?f=json", fx.url);
    fx.fault(json!({"operation":"replicas","kind":"http500","count":2}))
        .await;
    assert_eq!(
        fx.http
            .get(&replicas)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        500
    );
    assert_eq!(
        fx.http
            .get(&replicas)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        500
    );
    assert_eq!(
        fx.http
            .get(&replicas)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    fx.fault(json!({"operation":"replicas","kind":"http503"}))
        .await;
    assert_eq!(
        fx.http
            .get(&replicas)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        503
    );
    fx.fault(json!([{"operation":"replicas","kind":"htmlPage"},{"operation":"replicas","kind":"malformedJson"}])).await;
    for _ in 0..2 {
        let resp = fx.http.get(&replicas).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let body = resp.bytes().await.unwrap();
        assert!(serde_json::from_slice::<Value>(&body).is_err());
    }
    fx.fault(json!({"operation":"replicas","kind":"delay","delayMs":150}))
        .await;
    let started = std::time::Instant::now();
    assert_eq!(
        fx.http
            .get(&replicas)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(150));

    let (replica, generation) = fx.replica("0", "").await;
    let gid = new_gid();
    let edits = adds(0, vec![hydrant(&gid, "HYD-F1")]);
    fx.fault(json!({"operation":"synchronizeReplica","kind":"dropConnection","afterBytes":10}))
        .await;
    let form = [
        ("f", "json"),
        ("replicaID", replica.as_str()),
        ("edits", &edits.to_string()),
        ("transportType", "esriTransportTypeEmbedded"),
    ];
    let dropped = fx
        .http
        .post(format!("{}/synchronizeReplica", fx.url))
        .form(&form)
        .send()
        .await;
    let body = match dropped {
        Ok(resp) => resp.bytes().await.map(|b| b.to_vec()),
        Err(e) => Err(e),
    };
    assert!(body.is_err(), "the body must fail mid-way, got {body:?}");
    fx.fault(json!({"operation":"synchronizeReplica","kind":"truncatedJson"}))
        .await;
    let truncated = fx
        .http
        .post(format!("{}/synchronizeReplica", fx.url))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(serde_json::from_slice::<Value>(&truncated.bytes().await.unwrap()).is_err());
    let (_, status) = fx.admin(Method::GET, "/admin/status", None).await;
    assert_eq!(status["faults"], json!([]), "every rule was used up");
    let reply = fx
        .sync(
            &replica,
            generation,
            &edits,
            &[("returnIdsForAdds", "true")],
        )
        .await;
    assert_eq!(
        results(&reply, 0, "addResults")[0]["success"],
        true,
        "the resend is accepted"
    );
    let all = fx.create("0", &[]).await;
    let copies = all["layers"][0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["attributes"]["GlobalID"] == gid.as_str())
        .count();
    assert_eq!(copies, 1, "committed once despite three deliveries");
    let (status, _) = fx
        .admin(
            Method::POST,
            "/admin/faults",
            Some(json!({"operation":"x","kind":"explode"})),
        )
        .await;
    assert_eq!(status, 400);
}

/// Breaking schema changes: existing replicas can no longer sync (client reset), new replicas
/// see the new schema, and edits to a dropped field or layer are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaking_schema_changes() {
    let fx = start().await;
    let (old, old_gen) = fx.replica("0,2", "").await;
    let (status, body) = fx
        .admin(
            Method::POST,
            "/admin/schema",
            Some(json!({"change":"dropField","layer":0,"field":"Notes"})),
        )
        .await;
    assert_eq!((status, body["schemaVersion"].as_i64()), (200, Some(2)));
    let refused = fx.sync(&old, old_gen, &json!([]), &[]).await;
    let detail = refused["error"]["details"][0].as_str().unwrap();
    assert!(
        detail.contains("generation is not valid") && detail.contains("Notes"),
        "{detail}"
    );
    let layer = fx.post("0", &[("f", "json")]).await;
    assert!(
        layer["fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["name"] != "Notes")
    );
    let fresh = fx.create("0", &[]).await;
    assert!(
        fresh["layers"][0]["features"][0]["attributes"]
            .get("Notes")
            .is_none()
    );
    let (replica, generation) = fx.replica("0,2", "").await;
    let mut with_notes = hydrant(&new_gid(), "HYD-S1");
    with_notes["attributes"]["Notes"] = json!("old schema");
    let reply = fx
        .sync(&replica, generation, &adds(0, vec![with_notes]), &[])
        .await;
    assert_eq!(results(&reply, 0, "addResults")[0]["error"]["code"], 1016);

    fx.admin(Method::POST, "/admin/schema", Some(json!({"change":"changeFieldType","layer":0,"field":"Flow_GPM","type":"esriFieldTypeString"}))).await;
    let (status, _) = fx
        .admin(
            Method::POST,
            "/admin/schema",
            Some(json!({"change":"dropLayer","layer":2})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = fx
        .admin(
            Method::POST,
            "/admin/schema",
            Some(json!({"change":"dropLayer","layer":2})),
        )
        .await;
    assert_eq!(status, 400, "dropping it twice is refused");
    assert!(
        fx.create("2", &[]).await["error"]["details"][0]
            .as_str()
            .unwrap()
            .contains("Layer 2 does not exist")
    );
    let (replica, generation) = fx.replica("0", "").await;
    let edits = json!([{"id":2,"features":{"adds":[{"attributes":{"GlobalID":new_gid(),"MainID":"MN-S"}}]}}]);
    let reply = fx.sync(&replica, generation, &edits, &[]).await;
    assert_eq!(results(&reply, 2, "addResults")[0]["error"]["code"], 2001);
    let number_flow = adds(0, vec![hydrant(&new_gid(), "HYD-S2")]);
    let reply = fx.sync(&replica, generation, &number_flow, &[]).await;
    assert_eq!(
        results(&reply, 0, "addResults")[0]["error"]["description"],
        "Setting of value for Flow_GPM failed."
    );
}

/// Without a tokio runtime (the GUI thread): `start_blocking` serves on its own runtime and
/// stops when dropped.
#[test]
fn blocking_server_serves_and_stops_on_drop() {
    use std::io::{Read, Write};
    let server = syncwatch::server::start_blocking(ServerConfig::default()).unwrap();
    let addr = server.server().local_addr();
    assert!(
        server
            .service_url()
            .ends_with("/arcgis/rest/services/WaterNetwork/FeatureServer")
    );
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /arcgis/rest/info?f=json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200") && reply.contains("currentVersion"),
        "{reply}"
    );
    drop(server);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "stopped listening"
    );
}
