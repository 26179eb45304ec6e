//! The feature-service client over real HTTP on loopback, against small stand-in hosts that
//! record what they receive: a foreign host (another origin) and a flaky proxy.

use crate::support::client_config::{Tuned as _, fast};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use syncwatch::protocol::JobState;
use syncwatch::protocol::catalog::TransportKind;
use syncwatch::service::{ClientConfig, FeatureServiceClient, Token};

/// What a stand-in host saw: (path and query, all header lines).
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A canned reply: status, content type, body.
type Reply = (u16, &'static str, &'static str);

/// Replies, in order; the last one repeats.
#[derive(Clone)]
struct Host {
    seen: Seen,
    replies: Arc<Mutex<Vec<Reply>>>,
}

async fn record(State(host): State<Host>, request: Request) -> Response {
    let uri = request.uri().to_string();
    let headers = format!("{:?}", request.headers());
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    host.seen
        .lock()
        .unwrap()
        .push((format!("{uri} {}", String::from_utf8_lossy(&body)), headers));
    let mut replies = host.replies.lock().unwrap();
    let (status, content_type, body) = if replies.len() > 1 {
        replies.remove(0)
    } else {
        replies[0]
    };
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", content_type)],
        body,
    )
        .into_response()
}

async fn start_host(replies: Vec<Reply>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let host = Host {
        seen: seen.clone(),
        replies: Arc::new(Mutex::new(replies)),
    };
    let app = axum::Router::new().fallback(record).with_state(host);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (format!("http://{addr}"), seen)
}

fn fast_config() -> ClientConfig {
    fast().poll_ms(5).request_timeout(Duration::from_secs(5))
}

const STATUS_JSON: &str = r#"{"status":"Completed","responseType":"esriReplicaResponseTypeNoEdits","replicaServerGen":7}"#;

/// The token goes to the service's own origin only; a status URL on another host gets none.
#[tokio::test]
async fn token_never_reaches_a_foreign_host() {
    let (service_host, service_seen) = start_host(vec![(
        200,
        "application/json",
        r#"{"capabilities":"Sync","syncEnabled":true}"#,
    )])
    .await;
    let (foreign_host, foreign_seen) =
        start_host(vec![(200, "application/json", STATUS_JSON)]).await;
    for as_parameter in [false, true] {
        let config = ClientConfig {
            token_as_parameter: as_parameter,
            ..fast_config()
        };
        let client = FeatureServiceClient::new(
            &format!("{service_host}/arcgis/rest/services/Water/FeatureServer"),
            Token::new("tok-SECRET-123"),
            config,
        )
        .unwrap();
        let info = client.service_info().await.unwrap();
        assert!(info.has_capability("Sync"));
        let status = client
            .job_status(&format!("{foreign_host}/jobs/1"))
            .await
            .unwrap();
        assert_eq!(status.status, Some(JobState::Completed));
    }
    let service_seen = service_seen.lock().unwrap();
    assert_eq!(service_seen.len(), 2);
    assert!(
        service_seen[0].1.contains("tok-SECRET-123"),
        "header form reaches the service"
    );
    assert!(
        service_seen[1].0.contains("token=tok-SECRET-123"),
        "parameter form reaches the service"
    );
    let foreign_seen = foreign_seen.lock().unwrap();
    assert_eq!(foreign_seen.len(), 2);
    for (request, headers) in foreign_seen.iter() {
        assert!(
            !request.contains("SECRET") && !headers.contains("SECRET"),
            "leaked to foreign host: {request} {headers}"
        );
    }
}

/// HTTP 503 twice, then a good reply: the client retries with backoff and succeeds.
#[tokio::test]
async fn retries_5xx_then_succeeds() {
    let (host, seen) = start_host(vec![
        (503, "text/plain", "busy"),
        (500, "text/plain", "oops"),
        (200, "application/json", STATUS_JSON),
    ])
    .await;
    let client =
        FeatureServiceClient::new(&format!("{host}/FeatureServer"), None, fast_config()).unwrap();
    let status = client.job_status("jobs/9").await.unwrap();
    assert_eq!(status.replica_server_gen, Some(7));
    assert_eq!(seen.lock().unwrap().len(), 3);
}

/// An HTML page with status 200 (a proxy's login page) is a malformed reply after the retries run out,
/// with a one-line message; a 404 is not retried.
#[tokio::test]
async fn html_page_is_malformed_and_404_is_final() {
    let (host, seen) = start_host(vec![(
        200,
        "text/html",
        "<html><body>Please log in</body></html>",
    )])
    .await;
    let client =
        FeatureServiceClient::new(&format!("{host}/FeatureServer"), None, fast_config()).unwrap();
    let err = client.service_info().await.unwrap_err();
    assert_eq!(err.transport_kind(), Some(TransportKind::MalformedReply));
    assert!(
        err.to_string().contains("Please log in") && !err.to_string().contains('\n'),
        "{err}"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "malformed replies are retried"
    );

    let (host, seen) = start_host(vec![(404, "text/plain", "no such thing")]).await;
    let client =
        FeatureServiceClient::new(&format!("{host}/FeatureServer"), None, fast_config()).unwrap();
    let err = client.layer_info(3).await.unwrap_err();
    assert_eq!(err.transport_kind(), Some(TransportKind::HttpStatus));
    assert!(!err.is_transient());
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// Nobody listening: a connection-lost error naming the operation, after the configured attempts.
#[tokio::test]
async fn connection_refused_is_connection_lost() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client =
        FeatureServiceClient::new(&format!("http://{addr}/FeatureServer"), None, fast_config())
            .unwrap();
    let err = client.service_info().await.unwrap_err();
    assert_eq!(err.transport_kind(), Some(TransportKind::ConnectionLost));
    assert!(err.to_string().starts_with("service properties:"), "{err}");
}

/// A service error envelope inside a 200 reply is an error, classified by the catalog.
#[tokio::test]
async fn envelope_in_200_is_an_error_and_classified() {
    let (host, _) = start_host(vec![(
        200,
        "application/json",
        r#"{"error":{"code":404,"message":"Unable to complete operation.","details":["Replica with this GUID does not exist on the server"],"infos":[]}}"#,
    )])
    .await;
    let client =
        FeatureServiceClient::new(&format!("{host}/FeatureServer"), None, fast_config()).unwrap();
    let err = client
        .replica_info(&syncwatch::protocol::Guid::new_v4())
        .await
        .unwrap_err();
    assert!(err.needs_client_reset());
    assert_eq!(err.replica_error().unwrap().code, 3061);
}

/// A host whose every reply is an endless JSON-looking body (a hostile or broken service);
/// the bytes it produced so far (a chunk is produced only when the connection takes it).
async fn start_endless_host() -> (String, Arc<std::sync::atomic::AtomicU64>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let produced = Arc::new(AtomicU64::new(0));
    let counter = produced.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
            let head = futures_util::stream::once(async {
                Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{\"layers\":["))
            });
            let rest = futures_util::stream::repeat_with(move || {
                counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                Ok(chunk.clone())
            });
            use futures_util::StreamExt as _;
            (
                [("content-type", "application/json")],
                axum::body::Body::from_stream(head.chain(rest)),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (
        format!("http://{addr}/arcgis/rest/services/Water/FeatureServer"),
        produced,
    )
}

/// An endless reply is read only up to its limit, then the call fails with one line naming the
/// limit: 16 MiB for an ordinary call (the default), the replica-data limit for a
/// synchronizeReplica (set to 4 MiB here). The host never produced much more than the limit:
/// the client stopped reading, so memory stays bounded.
#[tokio::test]
async fn replies_are_bounded_with_a_clear_error() {
    use std::sync::atomic::Ordering;
    let (service, produced) = start_endless_host().await;
    let defaults = ClientConfig::default();
    assert_eq!(defaults.max_reply_bytes, 16 << 20);
    assert!(
        defaults.max_replica_reply_bytes >= 200 << 20,
        "a 1,000,000-result sync fits"
    );
    let client = FeatureServiceClient::new(&service, None, fast_config()).unwrap();
    let err = client.service_info().await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, syncwatch::service::ServiceClientError::TooLarge { limit_bytes, .. } if limit_bytes == 16 << 20),
        "{message}"
    );
    assert!(
        message.contains("larger than 16 MiB") && !message.contains('\n'),
        "{message}"
    );
    let read = produced.swap(0, Ordering::SeqCst);
    assert!(read < (16 + 16) << 20, "the host produced {read} bytes");

    let config = ClientConfig {
        max_replica_reply_bytes: 4 << 20,
        ..fast_config()
    };
    let client = FeatureServiceClient::new(&service, None, config).unwrap();
    let params = syncwatch::protocol::SyncReplicaParams::new(
        syncwatch::protocol::Guid::new_v4(),
        syncwatch::protocol::SyncDirection::Download,
    );
    let dir = tempfile::tempdir().unwrap();
    let err = client
        .synchronize_replica(&params, dir.path(), &|_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("larger than 4 MiB"), "{err}");
    let read = produced.load(Ordering::SeqCst);
    assert!(read < (4 + 16) << 20, "the host produced {read} bytes");
}
