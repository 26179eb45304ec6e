//! Which TLS certificates the client trusts besides the system's: [`CaCertificate`]s the user
//! added explicitly (`--ca-cert FILE`, `SYNCWATCH_CA_CERT`), and, when a server's certificate
//! is refused, its SHA-256 fingerprint (read by a second handshake that only looks at the
//! certificate and sends nothing), so a front end can show what it would be trusting; the same
//! handshake fetches the presented certificate itself ([`presented_certificate`]) for the
//! engine to keep once the user trusts it. Never trusts anything on its own.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{DigitallySignedStruct, SignatureScheme};
use url::Url;

/// How long the fingerprint handshake may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A certificate (DER) the user chose to trust as a root.
#[derive(Clone, PartialEq, Eq)]
pub struct CaCertificate {
    der: Vec<u8>,
}

impl std::fmt::Debug for CaCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaCertificate({})", fingerprint_sha256(&self.der))
    }
}

/// Why a certificate file cannot be trusted.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("could not read the CA certificate {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate { path: PathBuf },
}

impl CaCertificate {
    /// Every certificate in a PEM file.
    pub fn from_pem_file(path: &Path) -> Result<Vec<CaCertificate>, TrustError> {
        let pem = std::fs::read(path).map_err(|source| TrustError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let certificates: Vec<CaCertificate> = CertificateDer::pem_slice_iter(&pem)
            .filter_map(Result::ok)
            .map(|der| CaCertificate { der: der.to_vec() })
            .collect();
        if certificates.is_empty() {
            return Err(TrustError::NoCertificate {
                path: path.to_path_buf(),
            });
        }
        Ok(certificates)
    }

    pub(super) fn der(&self) -> &[u8] {
        &self.der
    }

    /// `AB:CD:…`, the SHA-256 of the certificate.
    pub fn fingerprint_sha256(&self) -> String {
        fingerprint_sha256(&self.der)
    }

    /// The certificate as one PEM block (what [`CaCertificate::from_pem_file`] reads back).
    pub fn to_pem(&self) -> String {
        use base64::Engine;
        let body = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }
}

/// The certificate the server at `url` presents (its end-entity certificate, unverified: the
/// caller decides whether to trust it, e.g. after comparing its fingerprint); `None` when it
/// cannot be read (not a URL, not TLS, unreachable, too slow). Sends no HTTP.
pub async fn presented_certificate(url: &str) -> Option<CaCertificate> {
    let url = Url::parse(url).ok()?;
    if url.scheme() != "https" {
        return None;
    }
    presented_der(&url).await.map(|der| CaCertificate { der })
}

/// The SHA-256 of a DER certificate as colon-separated upper-case hex.
pub fn fingerprint_sha256(der: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(der);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// The fingerprint of the certificate the server at `url` presents; `None` when it cannot be
/// read (not TLS, unreachable, too slow).
pub(super) async fn presented_fingerprint(url: &Url) -> Option<String> {
    presented_der(url).await.map(|der| fingerprint_sha256(&der))
}

/// The DER of the certificate the server at `url` presents, by a handshake that sends nothing.
async fn presented_der(url: &Url) -> Option<Vec<u8>> {
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = url.port_or_known_default()?;
    let name = ServerName::try_from(host.to_string()).ok()?;
    let seen = Arc::new(Recorder::default());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(seen.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let probe = async {
        let tcp = tokio::net::TcpStream::connect((host, port)).await.ok()?;
        // Only the certificate is wanted: the stream is dropped without a byte of HTTP.
        let _ = connector.connect(name, tcp).await;
        seen.end_entity()
    };
    tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .ok()
        .flatten()
}

/// A verifier that records the server's certificate; used only by the fingerprint handshake,
/// whose connection carries no data.
#[derive(Debug, Default)]
struct Recorder {
    end_entity: Mutex<Option<Vec<u8>>>,
}

impl Recorder {
    fn end_entity(&self) -> Option<Vec<u8>> {
        self.end_entity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.end_entity.lock().unwrap_or_else(|e| e.into_inner()) = Some(end_entity.to_vec());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
