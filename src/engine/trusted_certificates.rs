//! Certificates the user trusted from a front end ([`Command::TrustCertificate`]): the server's
//! certificate fetched again, its SHA-256 fingerprint checked against the one the user saw, kept
//! as `<data dir>/trusted-certificates/<fingerprint>.pem` (user-only, through `private_fs`),
//! loaded at start and added to every client built afterwards ([`Trusted`]).
//!
//! It never trusts a certificate whose fingerprint the user did not see, and never trusts one
//! on its own.
//!
//! [`Command::TrustCertificate`]: super::Command::TrustCertificate

use super::api::{CommandId, Event};
use super::error::EngineError;
use super::{Deps, private_fs};
use crate::service::sign_in::{SignInClient, SignInError};
use crate::service::{CaCertificate, ClientConfig};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// The folder under the data directory.
pub(crate) const FOLDER: &str = "trusted-certificates";

/// The certificates trusted since start, and the sign-in client that trusts them too; shared by
/// every clone of [`Deps`].
#[derive(Debug)]
pub(crate) struct Trusted {
    added: RwLock<Vec<CaCertificate>>,
    sign_in: RwLock<SignInClient>,
}

impl Trusted {
    pub fn new(sign_in: SignInClient) -> Self {
        Trusted {
            added: RwLock::new(Vec::new()),
            sign_in: RwLock::new(sign_in),
        }
    }

    /// `base` plus the certificates trusted since start.
    pub fn client_config(&self, base: &ClientConfig) -> ClientConfig {
        let mut config = base.clone();
        let added = self.added.read().unwrap_or_else(|p| p.into_inner());
        config.ca_certificates.extend(added.iter().cloned());
        config
    }

    pub fn sign_in_client(&self) -> SignInClient {
        self.sign_in
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Trusts `certificate` in every client built from now on.
    fn add(&self, certificate: CaCertificate, base: &ClientConfig) -> Result<(), SignInError> {
        let mut config = self.client_config(base);
        config.ca_certificates.push(certificate.clone());
        let sign_in = SignInClient::new(&config)?;
        self.added
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(certificate);
        *self.sign_in.write().unwrap_or_else(|p| p.into_inner()) = sign_in;
        Ok(())
    }
}

/// The certificates kept in `<data dir>/trusted-certificates/` (a file that cannot be read is
/// skipped with a warning: the server stays untrusted, nothing else is lost).
pub(crate) fn load(data_dir: &Path) -> Vec<CaCertificate> {
    let Ok(entries) = std::fs::read_dir(data_dir.join(FOLDER)) else {
        return Vec::new();
    };
    let mut certificates = Vec::new();
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if path.extension().is_none_or(|ext| ext != "pem") {
            continue;
        }
        match CaCertificate::from_pem_file(&path) {
            Ok(found) => certificates.extend(found),
            Err(e) => tracing::warn!(error = %e, "skipping a trusted certificate"),
        }
    }
    certificates
}

/// Runs [`trust`] and answers [`Event::CertificateTrusted`] or [`Event::CommandFailed`].
pub(crate) async fn answer(
    deps: Deps,
    command: Option<CommandId>,
    url: String,
    fingerprint: String,
) {
    match trust(&deps, &url, &fingerprint).await {
        Ok(_) => deps.events.send(Event::CertificateTrusted {
            url,
            fingerprint: fingerprint.trim().to_ascii_uppercase(),
        }),
        Err(e) => {
            tracing::warn!(url = %url, "certificate not trusted");
            super::job::command_failed(&deps, command, "trust the certificate", &e);
        }
    }
}

/// Fetches the certificate `url` presents, checks it is the one with `fingerprint` (what the
/// user saw), keeps it and trusts it from now on. Returns the file written.
pub(crate) async fn trust(
    deps: &Deps,
    url: &str,
    fingerprint: &str,
) -> Result<PathBuf, EngineError> {
    let certificate = crate::service::presented_certificate(url)
        .await
        .ok_or_else(|| {
            EngineError::Unsupported(format!(
                "could not read the certificate of {url} (is it an https:// address that answers?)"
            ))
        })?;
    let presented = certificate.fingerprint_sha256();
    if !presented.eq_ignore_ascii_case(fingerprint.trim()) {
        return Err(EngineError::Unsupported(format!(
            "the certificate of {url} changed: it is now {presented}, not the {} you were shown; nothing was trusted",
            fingerprint.trim()
        )));
    }
    let (root, kept) = (deps.dirs.root.clone(), certificate.clone());
    let path = tokio::task::spawn_blocking(move || save(&root, &kept)).await??;
    deps.trusted
        .add(certificate, &deps.config.client)
        .map_err(|e| EngineError::Unsupported(format!("could not trust the certificate: {e}")))?;
    tracing::info!(url = %url, fingerprint = %presented, "certificate trusted");
    Ok(path)
}

/// Writes `certificate` as `<fingerprint without colons>.pem`, readable by the user only.
fn save(data_dir: &Path, certificate: &CaCertificate) -> Result<PathBuf, EngineError> {
    let folder = data_dir.join(FOLDER);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EngineError::Io { path, source }
    };
    private_fs::create_dir(&folder, true).map_err(io(&folder))?;
    let name = certificate.fingerprint_sha256().replace(':', "");
    let path = folder.join(format!("{name}.pem"));
    let mut file = private_fs::create_file(&path).map_err(io(&path))?;
    file.write_all(certificate.to_pem().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(&path))?;
    Ok(path)
}
