//! The reference service's listener and HTTP edge, over real sockets on 127.0.0.1: slow and
//! idle clients are closed after their timeouts, idle sockets of one address do not lock others
//! out, a bad token is refused before the body is read, unverified bodies are capped, web pages
//! of other origins cannot change the service, and HTTPS with its self-signed certificate.

use crate::support::client_config::fast;
use crate::support::https::{start_https, trusting};
use crate::support::server::{TECH1, demo, start_with};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use syncwatch::server::{Limits, ServerConfig};
use syncwatch::service::{FeatureServiceClient, ServiceClientError, Token, fingerprint_sha256};

/// The longest any socket read in these tests waits (a safety net, not what is asserted).
const SAFETY: Duration = Duration::from_secs(10);

fn config_with(limits: Limits) -> ServerConfig {
    ServerConfig {
        limits,
        ..ServerConfig::default()
    }
}

fn token_service(limits: Limits) -> ServerConfig {
    let mut definition = demo();
    definition.require_token = true;
    ServerConfig {
        definition: Some(definition),
        limits,
        ..ServerConfig::default()
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(SAFETY)).expect("timeout");
    stream
}

/// Reads until the server closes the connection; `Err` when it is still open after [`SAFETY`].
fn read_until_closed(stream: &mut TcpStream) -> Result<String, std::io::Error> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                return Ok(String::from_utf8_lossy(&bytes).into_owned());
            }
            Err(e) => return Err(e),
        }
    }
}

fn service_path(server: &syncwatch::server::RunningServer, op: &str) -> String {
    format!(
        "/arcgis/rest/services/{}/FeatureServer/{op}",
        server.service_name()
    )
}

/// Headers dripped a byte at a time never finish: the connection is closed once the header
/// timeout has passed, while an ordinary request on the same service is answered.
#[tokio::test(flavor = "multi_thread")]
async fn a_dripped_request_head_is_closed_after_the_header_timeout() {
    let fx = start_with(config_with(Limits {
        header_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    }))
    .await;
    let addr = fx.server.local_addr();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut stream = connect(addr);
        let head = format!("GET /arcgis/rest/info?f=json HTTP/1.1\r\nHost: {addr}\r\nX-Drip: ");
        let mut write_failed = false;
        // 40 bytes, 50 ms apart: the head takes far longer than the 300 ms allowed.
        for byte in head.bytes().chain(std::iter::repeat_n(b'a', 40)).take(40) {
            if stream.write_all(&[byte]).is_err() {
                write_failed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (write_failed, read_until_closed(&mut stream))
    })
    .await
    .unwrap();
    match outcome {
        (true, _) => {}
        (false, Ok(reply)) => assert!(!reply.contains("currentVersion"), "{reply}"),
        (false, Err(e)) => panic!("the dripping connection is still open: {e}"),
    }
    let (status, body) = fx
        .get_json(&format!("{}/arcgis/rest/info?f=json", fx.server.base_url()))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A body that stops arriving is answered 408 after the stall timeout and the connection closed;
/// a keep-alive connection left idle after its reply is closed too.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_body_and_an_idle_keep_alive_connection_are_closed() {
    let fx = start_with(config_with(Limits {
        header_read_timeout: Duration::from_millis(400),
        body_stall_timeout: Duration::from_millis(300),
        ..Limits::default()
    }))
    .await;
    let addr = fx.server.local_addr();
    let path = service_path(&fx.server, "replicas");
    let (stalled, idle) = tokio::task::spawn_blocking(move || {
        let mut stream = connect(addr);
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nf=json&"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let stalled = read_until_closed(&mut stream);

        let mut idle_stream = connect(addr);
        let request = format!("GET /arcgis/rest/info?f=json HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        idle_stream.write_all(request.as_bytes()).unwrap();
        // The reply comes at once; then nothing is sent and the server must close.
        (stalled, read_until_closed(&mut idle_stream))
    })
    .await
    .unwrap();
    let stalled = stalled.expect("the stalled request is answered and closed");
    assert!(stalled.starts_with("HTTP/1.1 408"), "{stalled}");
    assert!(stalled.contains("\"code\":408"), "{stalled}");
    let idle = idle.expect("the idle keep-alive connection is closed");
    assert!(
        idle.starts_with("HTTP/1.1 200") && idle.contains("currentVersion"),
        "{idle}"
    );
}

/// 300 idle sockets from one address: all but that address's allowance are closed at once, and
/// a client from another address is served.
#[tokio::test(flavor = "multi_thread")]
async fn many_idle_sockets_do_not_stop_a_new_client() {
    let per_client = 16;
    let fx = start_with(config_with(Limits {
        max_connections: 64,
        max_connections_per_client: per_client,
        ..Limits::default()
    }))
    .await;
    let addr = fx.server.local_addr();
    let mut idle = Vec::new();
    for _ in 0..300 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        idle.push(socket.connect(addr).await.expect("connect"));
    }
    let (status, body) = fx
        .get_json(&format!("{}/arcgis/rest/info?f=json", fx.server.base_url()))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut closed = 0;
    for stream in &mut idle {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::io::AsyncReadExt::read(stream, &mut buf),
        )
        .await;
        if matches!(read, Ok(Ok(0)) | Ok(Err(_))) {
            closed += 1;
        }
    }
    assert_eq!(closed, 300 - per_client, "sockets closed by the service");
}

/// A wrong token in the header is answered 498 before the 100 MB body is sent; a service that
/// requires tokens caps a body whose token is not known beforehand; a small body carrying its
/// own token is served.
#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_checked_before_the_body_is_read() {
    let fx = start_with(token_service(Limits {
        unverified_body_bytes: 64 * 1024,
        ..Limits::default()
    }))
    .await;
    let addr = fx.server.local_addr();
    let path = service_path(&fx.server, "synchronizeReplica");
    let (refused, too_large) = tokio::task::spawn_blocking(move || {
        let send_head = |extra: &str| {
            let mut stream = connect(addr);
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 104857600\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).unwrap();
            read_until_closed(&mut stream)
        };
        (
            send_head("X-Esri-Authorization: Bearer not-a-token\r\n"),
            send_head(""),
        )
    })
    .await
    .unwrap();
    let refused = refused.expect("answered without the body");
    assert!(refused.contains("\"code\":498"), "{refused}");
    let too_large = too_large.expect("answered without the body");
    assert!(too_large.starts_with("HTTP/1.1 413"), "{too_large}");

    // A chunked body past the allowance is cut off at it.
    let big = "x".repeat(200 * 1024);
    let reply = fx
        .http
        .post(format!("{}/replicas", fx.url))
        .body(reqwest::Body::wrap(http_body_util::StreamBody::new(
            futures_util::stream::iter(vec![Ok::<_, std::io::Error>(hyper::body::Frame::data(
                bytes::Bytes::from(format!("f=json&pad={big}")),
            ))]),
        )))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 413);

    let listed = fx
        .post("replicas", &[("f", "json"), ("token", TECH1)])
        .await;
    assert!(listed.is_array(), "{listed}");
}

/// A form POST from another web origin (by `Origin` or the browser's `Sec-Fetch-Site`), a GET of
/// an operation from one, and a request under a foreign `Host` are refused with 403 and change
/// nothing; the service's own origin and plain programs pass; no CORS header is sent.
#[tokio::test(flavor = "multi_thread")]
async fn cross_origin_writes_and_foreign_hosts_are_refused() {
    let fx = start_with(ServerConfig::default()).await;
    let created = fx.create("0", &[]).await;
    let replica_id = created["replicaID"].as_str().expect("created").to_string();
    let unregister = format!("{}/unRegisterReplica", fx.url);
    let form = [("f", "json"), ("replicaID", "*")];
    let own_origin = fx.server.base_url().to_string();
    let attempts = [
        fx.http
            .post(&unregister)
            .form(&form)
            .header("Origin", "http://evil.example"),
        fx.http
            .post(&unregister)
            .form(&form)
            .header("Origin", "null"),
        fx.http
            .post(&unregister)
            .form(&form)
            .header("Sec-Fetch-Site", "cross-site"),
        fx.http
            .get(format!("{unregister}?f=json&replicaID=*"))
            .header("Origin", "http://evil.example"),
        fx.http.post(&unregister).form(&form).header(
            "Host",
            format!("rebind.evil.example:{}", fx.server.local_addr().port()),
        ),
    ];
    for attempt in attempts {
        let reply = attempt.send().await.unwrap();
        assert_eq!(reply.status().as_u16(), 403);
        assert!(reply.headers().get("access-control-allow-origin").is_none());
        let body: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(body["error"]["code"], 403, "{body}");
    }
    let info = fx
        .get_json(&format!("{}/replicas/{replica_id}?f=json", fx.url))
        .await;
    assert_eq!(info.0, 200);
    assert_eq!(info.1["replicaID"], replica_id.as_str(), "{}", info.1);

    let preflight = fx
        .http
        .request(reqwest::Method::OPTIONS, &unregister)
        .header("Origin", "http://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // The service's own page may; so may a program that sends no Origin.
    let own = fx
        .http
        .post(&unregister)
        .form(&[("f", "json"), ("replicaID", replica_id.as_str())])
        .header("Origin", own_origin)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = own.json().await.unwrap();
    assert_eq!(body["success"], true, "{body}");
}

/// HTTPS with the self-signed certificate: a client that trusts it reads the service and lists
/// replicas; one that does not fails at once (no retries) with one line saying the certificate
/// is not trusted and giving its SHA-256 fingerprint, the same as the certificate file's.
#[tokio::test(flavor = "multi_thread")]
async fn https_is_trusted_only_explicitly() {
    let server = start_https(ServerConfig::default()).await;
    assert!(server.base_url().starts_with("https://127.0.0.1:"));
    let url = server.service_url();
    let trusted =
        FeatureServiceClient::new(&url, Token::new(TECH1), trusting(&server, fast())).unwrap();
    let info = trusted
        .service_info()
        .await
        .expect("service info over HTTPS");
    assert!(!info.layers.is_empty());
    trusted.replicas().await.expect("replicas over HTTPS");

    let untrusted = FeatureServiceClient::new(&url, None, fast()).unwrap();
    let error = untrusted.service_info().await.unwrap_err();
    let text = error.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(
        text.contains("TLS handshake failed") && text.contains("certificate is not trusted"),
        "{text}"
    );
    let pem = std::fs::read(server.tls_cert_path().unwrap()).unwrap();
    let der = pem_to_der(&pem);
    let expected = fingerprint_sha256(&der);
    assert_eq!(
        error.untrusted_certificate_fingerprint(),
        Some(expected.as_str())
    );
    assert!(text.contains(&expected), "{text}");
    assert!(!error.is_transient());
    assert!(matches!(
        error,
        ServiceClientError::UntrustedCertificate { .. }
    ));
}

fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let text = String::from_utf8_lossy(pem);
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM base64")
}
