//! Invalid service URLs and TLS failures give a one-line reason: through the service client, and
//! through the real binary (`syncwatch create`). TLS failures: https to a plain-HTTP port, and a
//! local TLS listener whose certificate is self-signed (`tests/tls/`, made for these tests only).

use crate::support::client_config::Tuned as _;
use std::sync::Arc;
use std::time::Duration;
use syncwatch::protocol::catalog::TransportKind;
use syncwatch::service::{ClientConfig, FeatureServiceClient, ServiceClientError};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn client_config() -> ClientConfig {
    ClientConfig::default()
        .attempts(1)
        .request_timeout(Duration::from_secs(10))
}

/// A TLS listener on loopback with the self-signed certificate; it completes handshakes (if the
/// client accepts) and then closes. Returns its port.
async fn self_signed_listener() -> u16 {
    let certs = CertificateDer::pem_file_iter(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/tls/self-signed.crt"
    ))
    .unwrap()
    .collect::<Result<Vec<_>, _>>()
    .unwrap();
    let key = PrivateKeyDer::from_pem_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/tls/self-signed.key"
    ))
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(conn).await;
            });
        }
    });
    port
}

fn one_line(error: &ServiceClientError) -> String {
    let text = error.to_string();
    assert!(!text.contains('\n') && text.len() < 400, "{text}");
    text
}

/// Malformed and unusable URLs are refused before any request, each with its reason.
#[test]
fn invalid_urls_give_the_reason() {
    for (url, reason) in [
        ("", "relative URL without a base"),
        ("not a url", "relative URL without a base"),
        ("ftp://example.com/FeatureServer", "is not http or https"),
        ("http://", "empty host"),
        ("http://exa mple.com/FeatureServer", "invalid"),
        ("https://[::1/FeatureServer", "invalid IPv6"),
    ] {
        let error = FeatureServiceClient::new(url, None, client_config()).unwrap_err();
        let text = one_line(&error);
        assert!(
            matches!(error, ServiceClientError::InvalidUrl { .. }) && text.contains(reason),
            "{url:?}: {text}"
        );
    }
}

/// https to a port that speaks plain HTTP, and https to a self-signed certificate: a transport
/// failure whose one line says what went wrong with TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_failures_give_a_one_line_reason() {
    let server = syncwatch::server::start(Default::default()).await.unwrap();
    let plain_port = server.local_addr().port();
    let plain = FeatureServiceClient::new(
        &format!("https://127.0.0.1:{plain_port}/arcgis/rest/services/WaterNetwork/FeatureServer"),
        None,
        client_config(),
    )
    .unwrap();
    let error = plain.service_info().await.unwrap_err();
    let text = one_line(&error);
    assert_eq!(error.transport_kind(), Some(TransportKind::ConnectionLost));
    assert!(
        text.starts_with("service properties:") && text.contains("TLS handshake failed"),
        "{text}"
    );

    let port = self_signed_listener().await;
    let self_signed = FeatureServiceClient::new(
        &format!("https://127.0.0.1:{port}/arcgis/rest/services/W/FeatureServer"),
        None,
        client_config(),
    )
    .unwrap();
    let error = self_signed.service_info().await.unwrap_err();
    let text = one_line(&error);
    assert!(
        text.contains("TLS handshake failed") && text.contains("certificate"),
        "{text}"
    );
}

/// The same through the binary: `syncwatch create` exits 2 with the reason on one line.
#[test]
fn the_binary_reports_bad_addresses_on_one_line() {
    let cli = crate::support::cli::Cli::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let port = runtime.block_on(self_signed_listener());
    let plain_port = cli
        .server
        .base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    for (url, needle) in [
        ("not a url".to_string(), "invalid service url"),
        (
            format!(
                "https://127.0.0.1:{plain_port}/arcgis/rest/services/WaterNetwork/FeatureServer"
            ),
            "tls",
        ),
        (
            format!("https://127.0.0.1:{port}/arcgis/rest/services/W/FeatureServer"),
            "certificate",
        ),
    ] {
        let out = cli.run(&["create", "--service", &url, "--name", "x", "--layers", "0"]);
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        assert_eq!(out.status.code(), Some(2), "{url}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{url}: {stderr}");
        assert!(stderr.to_lowercase().contains(needle), "{url}: {stderr}");
    }
}
