//! Security guarantees end to end: tokens never reach another origin; local files are readable by
//! the user only; the admin API refuses requests from a non-loopback address; exported cells never
//! start a formula. Elsewhere: tokens in logs and exports in `tests/token_logs.rs` (a binary of
//! its own); ownership against resends and GlobalID collisions in `server/checks.rs`; tokens in
//! summaries and CSV content in `engine/sync.rs`.

use crate::support::client_config::fast;
use crate::support::engine::Harness;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::path::Path;
use std::sync::{Arc, Mutex};
use syncwatch::engine::{Command, Event, ResetMode, SyncOptions};
use syncwatch::protocol::{Guid, SyncDirection, SyncReplicaParams};
use syncwatch::server::ServerConfig;
use syncwatch::service::{ClientConfig, FeatureServiceClient, Token};

/// What a stand-in host saw: request line, headers and body of each request.
type Seen = Arc<Mutex<Vec<String>>>;

/// A canned answer: path suffix, status, an extra header, body.
type Route = (String, u16, Option<(String, String)>, String);

#[derive(Clone)]
struct StandIn {
    seen: Seen,
    /// The first route whose suffix matches the path answers.
    routes: Arc<Vec<Route>>,
}

async fn answer(State(host): State<StandIn>, request: Request) -> Response {
    let line = format!("{} {}", request.method(), request.uri());
    let headers = format!("{:?}", request.headers());
    let path = request.uri().path().to_string();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    host.seen.lock().unwrap().push(format!(
        "{line} {headers} {}",
        String::from_utf8_lossy(&body)
    ));
    let Some((_, status, header, body)) = host.routes.iter().find(|r| path.ends_with(&r.0)) else {
        return (axum::http::StatusCode::NOT_FOUND, "no route").into_response();
    };
    let mut response = (
        axum::http::StatusCode::from_u16(*status).unwrap(),
        [("content-type", "application/json")],
        body.clone(),
    )
        .into_response();
    if let Some((name, value)) = header {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
}

async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn serve(listener: tokio::net::TcpListener, routes: Vec<Route>) -> Seen {
    let seen: Seen = Arc::default();
    let host = StandIn {
        seen: seen.clone(),
        routes: Arc::new(routes),
    };
    let app = axum::Router::new().fallback(answer).with_state(host);
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    seen
}

/// An async sync whose result file lives on another origin, and a service that redirects to
/// another origin: the result is downloaded without the token, and the redirect is not followed
/// with it. Both token forms (header and parameter).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_never_reaches_another_origin() {
    let (foreign_listener, foreign) = bind().await;
    let (service_listener, service) = bind().await;
    let result = json!({"replicaID": "{7A0C2C24-5CA5-408F-8705-A23EF105F351}",
        "replicaServerGen": 12, "responseType": "esriReplicaResponseTypeEdits", "edits": []});
    let foreign_seen = serve(
        foreign_listener,
        vec![("/out/result.json".into(), 200, None, result.to_string())],
    );
    let service_seen = serve(
        service_listener,
        vec![
            (
                "/synchronizeReplica".into(),
                200,
                None,
                json!({"statusUrl": format!("{service}/rest/services/W/FeatureServer/jobs/1")})
                    .to_string(),
            ),
            (
                "/jobs/1".into(),
                200,
                None,
                json!({"status": "Completed", "replicaServerGen": 12,
                       "resultUrl": format!("{foreign}/out/result.json")})
                .to_string(),
            ),
            (
                "/FeatureServer".into(),
                302,
                Some((
                    "location".into(),
                    format!("{foreign}/elsewhere/FeatureServer"),
                )),
                String::new(),
            ),
        ],
    );
    let secret = "tok-ORIGIN-SECRET";
    for as_parameter in [false, true] {
        let client = FeatureServiceClient::new(
            &format!("{service}/rest/services/W/FeatureServer"),
            Token::new(secret),
            ClientConfig {
                token_as_parameter: as_parameter,
                ..fast()
            },
        )
        .unwrap();
        let mut params = SyncReplicaParams::new(Guid::new_v4(), SyncDirection::Bidirectional);
        params.is_async = true;
        let dir = tempfile::tempdir().unwrap();
        let synced = client
            .synchronize_replica(&params, dir.path(), &|_| {})
            .await
            .unwrap();
        assert_eq!(synced.response.replica_server_gen, Some(12));
        let redirected = client.service_info().await.unwrap_err();
        assert!(redirected.to_string().contains("302"), "{redirected}");
    }
    let service_seen = service_seen.lock().unwrap();
    assert_eq!(service_seen.len(), 6);
    assert!(
        service_seen.iter().all(|r| r.contains(secret)),
        "the service's own origin gets the token"
    );
    let foreign_seen = foreign_seen.lock().unwrap();
    assert_eq!(
        foreign_seen.len(),
        2,
        "results fetched, redirects not followed"
    );
    for request in foreign_seen.iter() {
        assert!(
            request.contains("/out/result.json") && !request.contains(secret),
            "{request}"
        );
    }
}

/// Every file the engine creates under the data directory — the app database, replica files,
/// their WAL companions, the reset backup and the export of unsynced changes — the folders it
/// creates there, a downloaded SQLite result file, and an exported CSV in a world-readable folder
/// (overwriting a 0644 file) are readable and writable by the user only.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_files_are_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::start(ServerConfig::default(), fast()).await;
    let replica = h.create("private").await;
    h.add_hydrant(replica, "PRIV-1").await;
    h.sync(replica, false).await.unwrap();
    h.add_hydrant(replica, "PRIV-2").await;
    h.admin(reqwest::Method::POST, "sync/terminate", None).await;
    h.admin(reqwest::Method::POST, "sync/enable", None).await;
    h.send(Command::SyncNow {
        replica,
        options: SyncOptions::default(),
    })
    .await;
    h.next(|e| matches!(e, Event::ResetRequired { .. }).then_some(()))
        .await;
    h.send(Command::Reset {
        replica,
        mode: ResetMode::Discard,
    })
    .await;
    h.next(|e| matches!(e, Event::AfterDiscard { .. }).then_some(()))
        .await;

    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let csv = shared.path().join("results.csv");
    std::fs::write(&csv, "old export\n").unwrap();
    std::fs::set_permissions(&csv, std::fs::Permissions::from_mode(0o644)).unwrap();
    h.export_csv(Arc::from(Vec::new()), &csv).await;

    // A SQLite result file, as the service client downloads it for dataFormat=sqlite.
    let downloads = tempfile::tempdir().unwrap();
    let client = FeatureServiceClient::new(&h.service_url, None, fast()).unwrap();
    let mut params = syncwatch::protocol::CreateReplicaParams::new("download", vec![0]);
    params.data_format = syncwatch::protocol::DataFormat::Sqlite;
    let created = client
        .create_replica(&params, downloads.path(), &|_| {})
        .await
        .unwrap();
    let delta_file = created.sqlite_file.expect("a downloaded SQLite result");

    let mut files = Vec::new();
    walk(h.dir.path(), &mut files);
    files.push(csv);
    files.push(delta_file);
    let kinds = |ext: &str| {
        files
            .iter()
            .filter(|p| p.to_string_lossy().contains(ext))
            .count()
    };
    assert!(
        kinds("syncwatch.db") >= 1 && kinds(".replica") >= 2,
        "{files:?}"
    );
    assert!(
        kinds("recovery") >= 2,
        "the reset backup is among them: {files:?}"
    );
    for file in &files {
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{} is mode {:o}",
            file.display(),
            mode & 0o777
        );
    }
    let mut dirs = vec![
        h.dir.path().join("replicas"),
        h.dir.path().join("results"),
        h.dir.path().join("recovery"),
    ];
    dirs.extend(
        std::fs::read_dir(h.dir.path().join("recovery"))
            .unwrap()
            .flatten()
            .map(|e| e.path()),
    );
    for dir in &dirs {
        let mode = std::fs::metadata(dir).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{} is mode {:o}",
            dir.display(),
            mode & 0o777
        );
    }
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The admin API answers on loopback with the key, refuses without it, and refuses a request with
/// the right key that arrives from a non-loopback address (the service listening on all
/// interfaces, reached through this machine's own network address).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_refuses_without_key_and_from_non_loopback() {
    let server = syncwatch::server::start(ServerConfig {
        addr: "0.0.0.0:0".parse().unwrap(),
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let port = server.local_addr().port();
    let http = reqwest::Client::new();
    let status = |host: String, key: Option<String>| {
        let mut request = http.get(format!("http://{host}:{port}/admin/status"));
        if let Some(key) = key {
            request = request.header("X-Admin-Key", key);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let key = server.admin_key().to_string();
    assert_eq!(status("127.0.0.1".into(), Some(key.clone())).await, 200);
    assert_eq!(status("127.0.0.1".into(), None).await, 401);
    assert_eq!(status("127.0.0.1".into(), Some("wrong".into())).await, 401);
    let address = non_loopback_address().expect(
        "this machine needs a non-loopback IPv4 address to prove the loopback-only admin API",
    );
    assert_eq!(status(address.to_string(), Some(key)).await, 403);
}

/// This machine's own non-loopback IPv4 address (the source of a route; no packet is sent).
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    for probe in ["10.255.255.255:9", "192.0.2.1:9", "8.8.8.8:53"] {
        if socket.connect(probe).is_ok()
            && let Ok(local) = socket.local_addr()
            && !local.ip().is_loopback()
            && !local.ip().is_unspecified()
        {
            return Some(local.ip());
        }
    }
    None
}

/// CSV injection: a layer name or server message that a spreadsheet would run as a formula is
/// exported with a leading apostrophe (shown as text); other text and the numbers are unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_csv_cells_never_start_a_formula() {
    let h = Harness::start(ServerConfig::default(), ClientConfig::default()).await;
    let hostile = [
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\tindented",
    ];
    let row = |i: usize, text: &str| syncwatch::engine::EditResultRecord {
        layer_id: -1,
        layer_name: Arc::from(text),
        object_id: Some(-(i as i64)),
        global_id: None,
        object_type: syncwatch::protocol::ObjectType::Feature,
        change_type: syncwatch::protocol::ChangeType::Update,
        success: false,
        code: Some(1001),
        description: Arc::from(text),
        first_seen_ms: 1,
        last_seen_ms: 2,
        attempts: 1,
        predicted: false,
        attachment: None,
    };
    let mut rows: Vec<_> = hostile.iter().enumerate().map(|(i, t)| row(i, t)).collect();
    rows.push(row(9, "Field: Status is not nullable."));
    let csv = h.dir.path().join("hostile.csv");
    h.export_csv(rows.into(), &csv).await;
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), hostile.len() + 1);
    for (i, (record, text)) in records.iter().zip(hostile).enumerate() {
        assert_eq!(&record[1], format!("'{text}"), "layer name");
        assert_eq!(&record[8], format!("'{text}"), "description");
        assert_eq!(&record[0], "-1", "negative numbers are left alone");
        assert_eq!(record[2], (-(i as i64)).to_string());
    }
    assert_eq!(&records[5][8], "Field: Status is not nullable.");
}
