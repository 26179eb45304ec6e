//! HTTPS for the reference service: the certificate it serves, from PEM files the operator
//! gives (`--tls-cert`, `--tls-key`) or self-signed for demos and tests (`--tls-self-signed`:
//! written to `<data dir>/tls/cert.pem`, the key beside it with mode 0600, and reused on the
//! next start from the same data directory). Builds the rustls acceptor (aws-lc-rs, the provider
//! the client already uses; HTTP/1.1 only). Owns no connection handling.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig as RustlsConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the served certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files: the certificate chain (server first) and its private key.
    Files { cert: PathBuf, key: PathBuf },
    /// A certificate generated for `localhost`, the loopback addresses and `names` (the bound
    /// address, the public host names), kept in `<data dir>/tls/`.
    SelfSigned { names: Vec<String> },
}

/// Why HTTPS could not be set up; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not read the TLS {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} holds no {what} in PEM form", path.display())]
    NoPem { what: &'static str, path: PathBuf },
    #[error("could not write the self-signed certificate to {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not generate a self-signed certificate: {0}")]
    Generate(String),
    #[error("the TLS certificate and key do not fit together: {0}")]
    Config(String),
}

/// The acceptor, and the certificate file a client must trust.
pub(crate) struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) cert_path: PathBuf,
}

/// Loads or generates the certificate and builds the acceptor.
pub(crate) fn prepare(source: &TlsSource, data_dir: &Path) -> Result<Tls, TlsError> {
    let (cert_path, key_path) = match source {
        TlsSource::Files { cert, key } => (cert.clone(), key.clone()),
        TlsSource::SelfSigned { names } => self_signed_files(data_dir, names)?,
    };
    let chain = read_chain(&cert_path)?;
    let key = read_key(&key_path)?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = RustlsConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        cert_path,
    })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path, "certificate")?;
    let chain: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoPem {
            what: "certificate",
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path, "key")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::NoPem {
        what: "private key",
        path: path.to_path_buf(),
    })
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// `<data dir>/tls/cert.pem` and `key.pem`: kept when both are there, generated otherwise.
fn self_signed_files(data_dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    let dir = data_dir.join("tls");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if cert_path.is_file() && key_path.is_file() {
        return Ok((cert_path, key_path));
    }
    let mut subject_names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    for name in names {
        if !subject_names.contains(name) {
            subject_names.push(name.clone());
        }
    }
    let generated = rcgen::generate_simple_self_signed(subject_names)
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Write { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(write_error(&dir))?;
    write_private(&key_path, generated.signing_key.serialize_pem().as_bytes())
        .map_err(write_error(&key_path))?;
    std::fs::write(&cert_path, generated.cert.pem()).map_err(write_error(&cert_path))?;
    Ok((cert_path, key_path))
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}
