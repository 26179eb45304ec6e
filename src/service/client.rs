//! [`FeatureServiceClient`]: typed calls to one feature service over reqwest, with per-request
//! timeouts, retries (exponential backoff with jitter) on transport failures and 5xx, async job
//! polling that survives connection loss, result download (JSON or SQLite), response size limits,
//! and a token that is only ever sent to the service's own origin and never logged.

use super::backoff::Backoff;
use super::error::ServiceClientError;
use crate::protocol::catalog::TransportKind;
use crate::protocol::{
    CarriesServiceError, CreateReplicaParams, DataFormat, FeatureServiceInfo, Guid, JobState,
    LayerInfo, ReplicaInfo, ReplicaListEntry, ReplicaResponse, ReplyError, SuccessReply,
    SyncReplicaParams,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// Timeouts, retry and size limits of a client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Whole-request limit (connect + send + reply).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Tries per request, the first included.
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// Longest pause between two status checks of an async job. The first checks come sooner
    /// ([`FIRST_POLL_DELAY`], doubling), so a job that finishes quickly is not waited on.
    pub poll_interval: Duration,
    /// How long status polling keeps trying while the service is unreachable.
    pub max_outage: Duration,
    /// Give up on an async job that has not finished after this long.
    pub max_job_duration: Duration,
    /// Largest JSON reply read into memory.
    pub max_reply_bytes: u64,
    /// Largest result file written to disk.
    pub max_result_file_bytes: u64,
    /// Send the token as a `token` parameter instead of the `X-Esri-Authorization` header.
    pub token_as_parameter: bool,
}

/// The pause after the first status check of an async job; it doubles per check up to
/// [`ClientConfig::poll_interval`].
pub const FIRST_POLL_DELAY: Duration = Duration::from_millis(100);

/// The pause after status check number `polls` (0-based): doubling from [`FIRST_POLL_DELAY`],
/// never longer than `longest`.
fn poll_delay(polls: u32, longest: Duration) -> Duration {
    FIRST_POLL_DELAY
        .saturating_mul(1u32 << polls.min(16))
        .min(longest)
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            request_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 4,
            backoff: Backoff {
                base: Duration::from_millis(250),
                max: Duration::from_secs(8),
            },
            poll_interval: Duration::from_secs(2),
            max_outage: Duration::from_secs(600),
            max_job_duration: Duration::from_secs(4 * 3600),
            max_reply_bytes: 1 << 30,
            max_result_file_bytes: 8 << 30,
            token_as_parameter: false,
        }
    }
}

/// A service token. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Option<Token> {
        let value = value.into();
        (!value.trim().is_empty()).then(|| Token(value.trim().to_string()))
    }
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Live state of an async job, for progress display.
#[derive(Debug, Clone, PartialEq)]
pub struct JobProgress {
    pub state: JobState,
    /// 0.0–1.0 when the service reports it.
    pub fraction: Option<f32>,
    pub message: String,
}

/// Called with each status of an async job.
pub type ProgressFn<'a> = &'a (dyn Fn(JobProgress) + Send + Sync);

/// What createReplica or synchronizeReplica produced: the reply (generations, response type, JSON
/// edits and results) and, for `dataFormat=sqlite`, the downloaded delta file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaResult {
    pub response: ReplicaResponse,
    /// Final job state (Completed or CompletedWithErrors for async jobs; Completed for direct replies).
    pub state: JobState,
    pub sqlite_file: Option<PathBuf>,
}

/// How unRegisterReplica ended; a replica the server no longer knows counts as unregistered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unregistered {
    Now,
    AlreadyGone,
}

/// A client of one FeatureServer. Cheap to clone.
#[derive(Clone)]
pub struct FeatureServiceClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// Used for requests that carry the token: follows redirects only within the service's origin.
    authed: reqwest::Client,
    /// Used for requests without a token (other origins): ordinary redirects.
    anonymous: reqwest::Client,
    service_url: Url,
    token: Option<Token>,
    config: ClientConfig,
}

impl std::fmt::Debug for FeatureServiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureServiceClient")
            .field("service_url", &self.inner.service_url.as_str())
            .field("token", &self.inner.token)
            .finish()
    }
}

impl FeatureServiceClient {
    /// A client for `service_url` (`…/FeatureServer`). The URL must be http(s) and absolute.
    pub fn new(
        service_url: &str,
        token: Option<Token>,
        config: ClientConfig,
    ) -> Result<Self, ServiceClientError> {
        let service_url = parse_service_url(service_url)?;
        let origin = service_url.origin();
        let same_origin_only = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if attempt.url().origin() == origin {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let build = |policy| {
            reqwest::Client::builder()
                .timeout(config.request_timeout)
                .connect_timeout(config.connect_timeout)
                .redirect(policy)
                .user_agent(concat!("syncwatch/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| ServiceClientError::InvalidUrl {
                    url: service_url.to_string(),
                    reason: format!("could not set up the HTTP client: {e}"),
                })
        };
        let authed = build(same_origin_only)?;
        let anonymous = build(reqwest::redirect::Policy::limited(5))?;
        Ok(FeatureServiceClient {
            inner: Arc::new(Inner {
                authed,
                anonymous,
                service_url,
                token,
                config,
            }),
        })
    }

    pub fn service_url(&self) -> &Url {
        &self.inner.service_url
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The FeatureServer root resource.
    pub async fn service_info(&self) -> Result<FeatureServiceInfo, ServiceClientError> {
        let url = self.inner.service_url.clone();
        self.call("service properties", Method::GET, url, json_form())
            .await
    }

    /// A layer or table resource.
    pub async fn layer_info(&self, layer_id: i64) -> Result<LayerInfo, ServiceClientError> {
        let url = self.endpoint(&[&layer_id.to_string()]);
        self.call("layer properties", Method::GET, url, json_form())
            .await
    }

    /// The replicas the token's user can see.
    pub async fn replicas(&self) -> Result<Vec<ReplicaListEntry>, ServiceClientError> {
        let url = self.endpoint(&["replicas"]);
        self.call("list replicas", Method::GET, url, json_form())
            .await
    }

    /// One replica's server-side definition and generations.
    pub async fn replica_info(&self, replica_id: &Guid) -> Result<ReplicaInfo, ServiceClientError> {
        let url = self.endpoint(&["replicas", replica_id.as_str()]);
        self.call("replica info", Method::GET, url, json_form())
            .await
    }

    /// Unregisters a replica; a replica the server no longer has is treated as already gone.
    pub async fn unregister_replica(
        &self,
        replica_id: &Guid,
    ) -> Result<Unregistered, ServiceClientError> {
        let url = self.endpoint(&["unRegisterReplica"]);
        let form = vec![
            ("f".to_string(), "json".to_string()),
            ("replicaID".to_string(), replica_id.to_string()),
        ];
        match self
            .call::<SuccessReply>("unRegisterReplica", Method::POST, url, form)
            .await
        {
            Ok(reply) if reply.success => Ok(Unregistered::Now),
            Ok(_) => Err(ServiceClientError::Service {
                operation: "unRegisterReplica",
                error: crate::protocol::ServiceError::new(
                    0,
                    "the service did not confirm the unregistration",
                    vec![],
                ),
            }),
            Err(e)
                if e.replica_error().is_some_and(|c| c.code == 3061) || e.code() == Some(404) =>
            {
                Ok(Unregistered::AlreadyGone)
            }
            Err(e) => Err(e),
        }
    }

    /// createReplica, following an async job and downloading the result (into `result_dir` for SQLite).
    ///
    /// createReplica is not idempotent: a request whose reply was lost (connection dropped, timeout,
    /// truncated reply) may have registered a replica, and each retry another. Replicas that appear
    /// under this name while the call runs and are not the one it returns are unregistered again,
    /// so none is left orphaned on the server. Best effort: it needs the `replicas` resource, and
    /// an async job whose submission reply was lost may register its replica after the call ends.
    pub async fn create_replica(
        &self,
        params: &CreateReplicaParams,
        result_dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResult, ServiceClientError> {
        let before = self.replica_ids_named(&params.replica_name).await;
        let outcome = self.create_replica_once(params, result_dir, progress).await;
        if let Some(before) = before {
            let kept = outcome
                .as_ref()
                .ok()
                .and_then(|r| r.response.replica_id.clone());
            self.remove_strays(&params.replica_name, &before, kept.as_ref())
                .await;
        }
        outcome
    }

    /// The ids of the replicas named `name` this user can see; `None` when the list is unavailable.
    async fn replica_ids_named(&self, name: &str) -> Option<Vec<Guid>> {
        match self.replicas().await {
            Ok(list) => Some(
                list.into_iter()
                    .filter(|r| r.replica_name == name)
                    .map(|r| r.replica_id)
                    .collect(),
            ),
            Err(e) => {
                tracing::debug!(error = %e, "replica list unavailable; strays cannot be cleaned up");
                None
            }
        }
    }

    /// Unregisters replicas named `name` that were not there `before` and are not `kept`.
    async fn remove_strays(&self, name: &str, before: &[Guid], kept: Option<&Guid>) {
        let Some(now) = self.replica_ids_named(name).await else {
            return;
        };
        for stray in now
            .iter()
            .filter(|id| !before.contains(id) && Some(*id) != kept)
        {
            match self.unregister_replica(stray).await {
                Ok(_) => {
                    tracing::info!(replica = %stray, "unregistered a replica left by a lost createReplica reply")
                }
                Err(e) => {
                    tracing::warn!(replica = %stray, error = %e, "could not unregister a stray replica")
                }
            }
        }
    }

    async fn create_replica_once(
        &self,
        params: &CreateReplicaParams,
        result_dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResult, ServiceClientError> {
        let url = self.endpoint(&["createReplica"]);
        let first: ReplicaResponse = self
            .call("createReplica", Method::POST, url, params.to_form())
            .await?;
        self.finish_job(
            "createReplica",
            first,
            params.data_format,
            result_dir,
            progress,
        )
        .await
    }

    /// synchronizeReplica, following an async job and downloading the result. A lost synchronous
    /// request is re-issued (uploads are idempotent by GlobalID); a lost status check is re-polled.
    pub async fn synchronize_replica(
        &self,
        params: &SyncReplicaParams,
        result_dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResult, ServiceClientError> {
        let url = self.endpoint(&["synchronizeReplica"]);
        let first: ReplicaResponse = self
            .call("synchronizeReplica", Method::POST, url, params.to_form())
            .await?;
        self.finish_job(
            "synchronizeReplica",
            first,
            params.data_format,
            result_dir,
            progress,
        )
        .await
    }

    /// One status check of an async job at `status_url` (absolute, or relative to the service).
    pub async fn job_status(
        &self,
        status_url: &str,
    ) -> Result<ReplicaResponse, ServiceClientError> {
        let url = self.resolve("job status", status_url)?;
        self.call("job status", Method::GET, url, json_form()).await
    }

    async fn finish_job(
        &self,
        operation: &'static str,
        first: ReplicaResponse,
        format: DataFormat,
        result_dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResult, ServiceClientError> {
        let (reply, state) = match first.status_location() {
            Some(status_url) => {
                let status_url = status_url.to_string();
                self.poll_until_done(operation, &status_url, progress)
                    .await?
            }
            None => (first, JobState::Completed),
        };
        let Some(location) = reply.result_location().map(str::to_string) else {
            // Embedded result, or NoEdits: the reply itself carries everything (generations included).
            return Ok(ReplicaResult {
                response: reply,
                state,
                sqlite_file: None,
            });
        };
        let url = self.resolve("download result", &location)?;
        if format == DataFormat::Sqlite {
            let path = self.download_file(&url, result_dir).await?;
            return Ok(ReplicaResult {
                response: reply,
                state,
                sqlite_file: Some(path),
            });
        }
        let mut result: ReplicaResponse = self.download_json(&url).await?;
        merge_status_into_result(&mut result, &reply);
        Ok(ReplicaResult {
            response: result,
            state,
            sqlite_file: None,
        })
    }

    /// Polls `status_url` until the job ends. Transport failures are retried with backoff for up to
    /// `max_outage`: the job keeps running on the server while the laptop is offline.
    async fn poll_until_done(
        &self,
        operation: &'static str,
        status_url: &str,
        progress: ProgressFn<'_>,
    ) -> Result<(ReplicaResponse, JobState), ServiceClientError> {
        let url = self.resolve("job status", status_url)?;
        let config = &self.inner.config;
        let started = Instant::now();
        let mut outage_started: Option<Instant> = None;
        let mut outage_attempt = 0u32;
        let mut polls = 0u32;
        loop {
            match self
                .call::<ReplicaResponse>("job status", Method::GET, url.clone(), json_form())
                .await
            {
                Ok(status) => {
                    outage_started = None;
                    outage_attempt = 0;
                    let state = status.status.clone().unwrap_or(JobState::Pending);
                    progress(JobProgress {
                        state: state.clone(),
                        fraction: status.progress.map(|p| (p.clamp(0, 100) as f32) / 100.0),
                        message: status
                            .error
                            .as_ref()
                            .map(|e| e.summary())
                            .unwrap_or_default(),
                    });
                    match state {
                        JobState::Failed => {
                            let error = status.error.clone().map(Box::new);
                            let message =
                                error.as_ref().map(|e| e.summary()).unwrap_or_else(|| {
                                    "the server reported Failed without a reason".into()
                                });
                            return Err(ServiceClientError::JobFailed {
                                operation,
                                message,
                                error,
                            });
                        }
                        s if s.is_terminal() => return Ok((status, s)),
                        _ => {
                            tokio::time::sleep(poll_delay(polls, config.poll_interval)).await;
                            polls = polls.saturating_add(1);
                        }
                    }
                }
                Err(e) if e.is_transient() => {
                    let since = *outage_started.get_or_insert_with(Instant::now);
                    if since.elapsed() >= config.max_outage {
                        return Err(e);
                    }
                    tracing::info!(operation, error = %e, "status check failed; will poll again");
                    tokio::time::sleep(config.backoff.delay(outage_attempt)).await;
                    outage_attempt = outage_attempt.saturating_add(1);
                }
                Err(e) => return Err(e),
            }
            if started.elapsed() >= config.max_job_duration {
                return Err(ServiceClientError::Transport {
                    operation,
                    kind: TransportKind::Timeout,
                    status: None,
                    detail: format!(
                        "the job did not finish within {} s",
                        config.max_job_duration.as_secs()
                    ),
                    url: url.to_string(),
                });
            }
        }
    }

    async fn download_json(&self, url: &Url) -> Result<ReplicaResponse, ServiceClientError> {
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
    async fn download_file(&self, url: &Url, dir: &Path) -> Result<PathBuf, ServiceClientError> {
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

    /// One request with retries; the reply is parsed, and `{"error":…}` becomes `Err`.
    async fn call<T: DeserializeOwned + CarriesServiceError>(
        &self,
        operation: &'static str,
        method: Method,
        url: Url,
        form: Vec<(String, String)>,
    ) -> Result<T, ServiceClientError> {
        let config = &self.inner.config;
        let mut attempt = 0;
        loop {
            let outcome = match self
                .fetch_body(operation, method.clone(), &url, &form)
                .await
            {
                Ok(body) => parse(operation, &body),
                Err(e) => Err(e),
            };
            match outcome {
                Err(e) if e.is_transient() && attempt + 1 < config.max_attempts => {
                    tracing::info!(operation, attempt, error = %e, "retrying");
                    tokio::time::sleep(config.backoff.delay(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn fetch_body(
        &self,
        operation: &'static str,
        method: Method,
        url: &Url,
        form: &[(String, String)],
    ) -> Result<Vec<u8>, ServiceClientError> {
        let mut response = self.send(operation, method, url, form).await?;
        check_status(operation, url, response.status())?;
        let limit = self.inner.config.max_reply_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(too_large(operation, url, limit));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > limit {
                        return Err(too_large(operation, url, limit));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(transport_error(operation, url, &e)),
            }
        }
    }

    /// Sends one request. The token goes only to the service's own origin.
    async fn send(
        &self,
        operation: &'static str,
        method: Method,
        url: &Url,
        form: &[(String, String)],
    ) -> Result<reqwest::Response, ServiceClientError> {
        let token = self
            .inner
            .token
            .as_ref()
            .filter(|_| url.origin() == self.inner.service_url.origin());
        let client = if token.is_some() {
            &self.inner.authed
        } else {
            &self.inner.anonymous
        };
        tracing::debug!(operation, url = %url, with_token = token.is_some(), "request");
        let mut request = client.request(method.clone(), url.clone());
        let mut pairs: Vec<(&str, &str)> =
            form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if let Some(token) = token {
            if self.inner.config.token_as_parameter {
                pairs.push(("token", token.expose()));
            } else {
                request =
                    request.header("X-Esri-Authorization", format!("Bearer {}", token.expose()));
            }
        }
        request = if method == Method::GET {
            request.query(&pairs)
        } else {
            request.form(&pairs)
        };
        request
            .send()
            .await
            .map_err(|e| transport_error(operation, url, &e))
    }

    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.service_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn resolve(&self, operation: &'static str, location: &str) -> Result<Url, ServiceClientError> {
        let base = format!("{}/", self.inner.service_url.as_str().trim_end_matches('/'));
        Url::parse(&base)
            .and_then(|b| b.join(location.trim()))
            .map_err(|e| ServiceClientError::Malformed {
                operation,
                reason: format!("the service sent an unusable URL: {e}"),
                snippet: location.chars().take(120).collect(),
            })
    }
}

fn parse_service_url(text: &str) -> Result<Url, ServiceClientError> {
    let invalid = |reason: String| ServiceClientError::InvalidUrl {
        url: text.to_string(),
        reason,
    };
    let url = Url::parse(text.trim()).map_err(|e| invalid(e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host".into()));
    }
    let mut url = url;
    url.set_query(None);
    url.set_fragment(None);
    if url.path().ends_with('/') && url.path() != "/" {
        let trimmed = url.path().trim_end_matches('/').to_string();
        url.set_path(&trimmed);
    }
    Ok(url)
}

fn json_form() -> Vec<(String, String)> {
    vec![("f".to_string(), "json".to_string())]
}

fn parse<T: DeserializeOwned + CarriesServiceError>(
    operation: &'static str,
    body: &[u8],
) -> Result<T, ServiceClientError> {
    crate::protocol::parse_reply::<T>(body).map_err(|e| match e {
        ReplyError::Service(error) => ServiceClientError::Service { operation, error },
        ReplyError::Malformed { reason, snippet } => ServiceClientError::Malformed {
            operation,
            reason,
            snippet,
        },
    })
}

fn check_status(
    operation: &'static str,
    url: &Url,
    status: StatusCode,
) -> Result<(), ServiceClientError> {
    if status == StatusCode::OK {
        return Ok(());
    }
    Err(ServiceClientError::Transport {
        operation,
        kind: TransportKind::HttpStatus,
        status: Some(status.as_u16()),
        detail: format!("HTTP {status}"),
        url: url.to_string(),
    })
}

fn transport_error(operation: &'static str, url: &Url, e: &reqwest::Error) -> ServiceClientError {
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::ConnectionLost
    };
    ServiceClientError::Transport {
        operation,
        kind,
        status: None,
        detail: transport_detail(e, url.scheme() == "https"),
        url: url.to_string(),
    }
}

/// The causes of a reqwest error on one line, without reqwest's own "error sending request for
/// url (…)" (the message names the URL once, at its end) and without repeated links. A failed
/// TLS handshake (over https, an I/O error of kind `InvalidData` while connecting) says so.
fn transport_detail(e: &reqwest::Error, is_https: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    if is_https && e.is_connect() && is_tls_failure(e) {
        parts.push("TLS handshake failed".into());
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        // No cause to show: reqwest's own text, with the URL (which never carries the token) removed.
        let text = e.to_string();
        return match text.find(" for url (") {
            Some(at) => text[..at].to_string(),
            None => text,
        };
    }
    parts.join(": ").replace('\n', " ")
}

fn is_tls_failure(e: &reqwest::Error) -> bool {
    // An I/O error may wrap another one (`get_ref`), which `source()` skips.
    fn invalid_data(io: &std::io::Error) -> bool {
        io.kind() == std::io::ErrorKind::InvalidData
            || io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<std::io::Error>())
                .is_some_and(invalid_data)
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some_and(invalid_data) {
            return true;
        }
        source = s.source();
    }
    false
}

fn too_large(operation: &'static str, url: &Url, limit: u64) -> ServiceClientError {
    ServiceClientError::TooLarge {
        operation,
        limit_bytes: limit,
        url: url.to_string(),
    }
}

fn expired(url: &Url) -> ServiceClientError {
    ServiceClientError::Transport {
        operation: "download result",
        kind: TransportKind::ResultExpired,
        status: Some(404),
        detail: "the result file is no longer on the server".into(),
        url: url.to_string(),
    }
}

fn malformed(operation: &'static str, reason: String, body: &[u8]) -> ServiceClientError {
    match crate::protocol::error::malformed(reason, body) {
        ReplyError::Malformed { reason, snippet } => ServiceClientError::Malformed {
            operation,
            reason,
            snippet,
        },
        ReplyError::Service(error) => ServiceClientError::Service { operation, error },
    }
}

/// A result file may omit what the status already said (generations, response type); keep both.
fn merge_status_into_result(result: &mut ReplicaResponse, status: &ReplicaResponse) {
    if result.replica_server_gen.is_none() {
        result.replica_server_gen = status.replica_server_gen;
    }
    if result.layer_server_gens.is_empty() {
        result.layer_server_gens = status.layer_server_gens.clone();
    }
    if result.response_type.is_none() {
        result.response_type = status.response_type;
    }
    if result.replica_id.is_none() {
        result.replica_id = status.replica_id.clone();
    }
    if result.replica_name.is_none() {
        result.replica_name = status.replica_name.clone();
    }
    if result.status.is_none() {
        result.status = status.status.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Status checks start quickly and back off to the configured interval.
    #[test]
    fn poll_delays_double_up_to_the_interval() {
        let longest = Duration::from_secs(2);
        let delays: Vec<u128> = (0..7).map(|n| poll_delay(n, longest).as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(poll_delay(u32::MAX, longest), longest);
        assert_eq!(
            poll_delay(0, Duration::from_millis(20)),
            Duration::from_millis(20)
        );
    }

    #[test]
    fn service_urls_are_validated_and_normalised() {
        let ok = parse_service_url(
            "http://127.0.0.1:8080/arcgis/rest/services/Water/FeatureServer/?f=json",
        )
        .unwrap();
        assert_eq!(
            ok.as_str(),
            "http://127.0.0.1:8080/arcgis/rest/services/Water/FeatureServer"
        );
        for bad in ["", "ftp://x/FeatureServer", "not a url", "http://"] {
            let err = parse_service_url(bad).unwrap_err();
            assert!(
                matches!(err, ServiceClientError::InvalidUrl { .. }),
                "{bad}"
            );
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn endpoints_encode_braced_ids() {
        let c = FeatureServiceClient::new(
            "http://h/arcgis/rest/services/W/FeatureServer",
            None,
            ClientConfig::default(),
        )
        .unwrap();
        let g = Guid::parse("7a0c2c24-5ca5-408f-8705-a23ef105f351").unwrap();
        let url = c.endpoint(&["replicas", g.as_str()]);
        assert_eq!(
            url.as_str(),
            "http://h/arcgis/rest/services/W/FeatureServer/replicas/%7B7A0C2C24-5CA5-408F-8705-A23EF105F351%7D"
        );
        assert_eq!(
            c.resolve("x", "jobs/12").unwrap().as_str(),
            "http://h/arcgis/rest/services/W/FeatureServer/jobs/12"
        );
        assert_eq!(
            c.resolve("x", "https://other/file.json").unwrap().as_str(),
            "https://other/file.json"
        );
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = Token::new("s3cret-value").unwrap();
        assert!(!format!("{t:?}").contains("s3cret"));
        let c =
            FeatureServiceClient::new("http://h/FeatureServer", Some(t), ClientConfig::default())
                .unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(Token::new("  ").is_none());
    }
}
