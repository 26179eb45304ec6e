//! The reference service over HTTPS on 127.0.0.1 with its self-signed certificate
//! (`TlsSource::SelfSigned`, written to the service's data dir), and client settings that trust
//! exactly that certificate. For the HTTPS and sign-in tests.

use syncwatch::server::{self, RunningServer, ServerConfig, TlsSource};
use syncwatch::service::{CaCertificate, ClientConfig};

/// `config` served over HTTPS with a self-signed certificate.
pub fn with_tls(config: ServerConfig) -> ServerConfig {
    ServerConfig {
        tls: Some(TlsSource::SelfSigned { names: Vec::new() }),
        ..config
    }
}

/// Starts `config` over HTTPS; `base_url()` says `https://127.0.0.1:PORT`.
pub async fn start_https(config: ServerConfig) -> RunningServer {
    server::start(with_tls(config))
        .await
        .expect("HTTPS service starts")
}

/// `config` trusting the service's certificate (and nothing else beyond the system's roots).
pub fn trusting(server: &RunningServer, config: ClientConfig) -> ClientConfig {
    let path = server.tls_cert_path().expect("served over TLS");
    let mut config = config;
    config
        .ca_certificates
        .extend(CaCertificate::from_pem_file(path).expect("the service's certificate"));
    config
}
