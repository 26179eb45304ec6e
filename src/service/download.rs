//! Downloads: a JSON result, a SQLite result file and attachment data. Files are streamed to
//! disk chunk by chunk (user-only), refused past their size limit and removed on any failure;
//! a result the server no longer has reads as "expired".

use super::client::FeatureServiceClient;
use super::error::{ServiceClientError, expired, malformed, too_large, transport_error};
use super::transport::{check_status, json_form};
use crate::protocol::{Guid, ReplicaResponse};
use reqwest::{Method, StatusCode};
use std::path::{Path, PathBuf};
use url::Url;

impl FeatureServiceClient {
    pub(super) async fn download_json(
        &self,
        url: &Url,
    ) -> Result<ReplicaResponse, ServiceClientError> {
        match self
            .call::<ReplicaResponse>("download result", Method::GET, url.clone(), json_form())
            .await
        {
            // The output directory removed the file: an envelope with 404, or a plain HTTP 404.
            Err(ServiceClientError::Service { error, .. }) if error.code == Some(404) => {
                Err(expired(url))
            }
            Err(ServiceClientError::Transport {
                status: Some(404), ..
            }) => Err(expired(url)),
            other => other,
        }
    }

    /// Streams a result file to `dir` (a `.part` file renamed when complete).
    pub(super) async fn download_file(
        &self,
        url: &Url,
        dir: &Path,
    ) -> Result<PathBuf, ServiceClientError> {
        let config = &self.inner.config;
        let mut attempt = 0;
        loop {
            match self.download_file_once(url, dir).await {
                Err(e) if e.is_transient() && attempt + 1 < config.max_attempts => {
                    tokio::time::sleep(config.backoff.delay(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn download_file_once(
        &self,
        url: &Url,
        dir: &Path,
    ) -> Result<PathBuf, ServiceClientError> {
        let operation = "download result";
        let final_path = dir.join(format!("{}.geodatabase", Guid::new_v4().bare()));
        let part_path = final_path.with_extension("part");
        let first_bytes = self
            .stream_to_file(
                operation,
                url,
                &part_path,
                self.inner.config.max_result_file_bytes,
            )
            .await?;
        if !first_bytes.starts_with(b"SQLite format 3\0") {
            let _ = tokio::fs::remove_file(&part_path).await;
            if let Ok(env) = serde_json::from_slice::<crate::protocol::ErrorEnvelope>(&first_bytes)
            {
                if env.error.code == Some(404) {
                    return Err(expired(url));
                }
                return Err(ServiceClientError::Service {
                    operation,
                    error: env.error,
                });
            }
            return Err(malformed(
                operation,
                "expected a SQLite geodatabase".into(),
                &first_bytes,
            ));
        }
        tokio::fs::rename(&part_path, &final_path)
            .await
            .map_err(|source| ServiceClientError::Io {
                path: final_path.clone(),
                source,
            })?;
        Ok(final_path)
    }

    /// Streams an attachment's data from `url` to a new file in `dir` (never held in memory
    /// whole), refusing more than `max_bytes`; retried like other downloads. Returns the file.
    pub async fn download_attachment(
        &self,
        url: &str,
        dir: &Path,
        max_bytes: u64,
    ) -> Result<PathBuf, ServiceClientError> {
        let operation = "download attachment";
        let url = self.resolve(operation, url)?;
        let path = dir.join(format!("{}.attachment", Guid::new_v4().bare()));
        let config = &self.inner.config;
        let mut attempt = 0;
        loop {
            match self.stream_to_file(operation, &url, &path, max_bytes).await {
                Ok(_) => return Ok(path),
                Err(e) if e.is_transient() && attempt + 1 < config.max_attempts => {
                    tokio::time::sleep(config.backoff.delay(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// GETs `url` into `path` chunk by chunk, stopping past `limit` bytes (the file is removed on
    /// any failure). Returns the first bytes, for callers that check what they received.
    async fn stream_to_file(
        &self,
        operation: &'static str,
        url: &Url,
        path: &Path,
        limit: u64,
    ) -> Result<Vec<u8>, ServiceClientError> {
        use tokio::io::AsyncWriteExt;
        let mut response = self.send(operation, Method::GET, url, &[]).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(expired(url));
        }
        check_status(operation, url, response.status())?;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(too_large(operation, url, limit));
        }
        let io_err = |source| ServiceClientError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io_err)?;
        }
        // Results and attachments are the technician's data: readable by the user only.
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(path).await.map_err(io_err)?;
        let mut written: u64 = 0;
        let mut first_bytes = Vec::new();
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    drop(file);
                    let _ = tokio::fs::remove_file(path).await;
                    return Err(transport_error(operation, url, &e));
                }
            };
            written += chunk.len() as u64;
            if written > limit {
                drop(file);
                let _ = tokio::fs::remove_file(path).await;
                return Err(too_large(operation, url, limit));
            }
            if first_bytes.len() < 256 {
                first_bytes.extend_from_slice(&chunk[..chunk.len().min(256 - first_bytes.len())]);
            }
            if let Err(e) = file.write_all(&chunk).await {
                drop(file);
                let _ = tokio::fs::remove_file(path).await;
                return Err(io_err(e));
            }
        }
        file.sync_all().await.map_err(io_err)?;
        Ok(first_bytes)
    }
}
