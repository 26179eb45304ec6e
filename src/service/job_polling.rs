//! Following an async job to its end: status checks at a doubling pace, kept up through a
//! connection loss for up to `max_outage`, then the result (embedded, JSON to download, or a
//! SQLite file). The job runs on the server whether or not we are looking.

use super::client::FeatureServiceClient;
use super::config::poll_delay;
use super::error::ServiceClientError;
use super::transport::json_form;
use crate::protocol::catalog::TransportKind;
use crate::protocol::{DataFormat, JobState, ReplicaResponse};
use reqwest::Method;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    /// Where `sqlite_file` came from (to fetch it again when what arrived cannot be read).
    pub sqlite_url: Option<String>,
    /// For a result asked to stay on disk ([`ResultIn::File`]): the downloaded JSON result, to
    /// be read as a stream; `response` then holds only what the reply and the job's status said.
    pub json_file: Option<JsonResultFile>,
}

/// A JSON result downloaded and left on disk, with where it came from (to fetch it again when
/// what arrived cannot be read: a proxy that cut it short).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonResultFile {
    pub path: PathBuf,
    pub url: String,
}

/// Where a JSON result file ends up: parsed into the reply, or left on disk for the caller to
/// read as a stream (a large createReplica).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultIn {
    Reply,
    File,
}

impl FeatureServiceClient {
    /// One status check of an async job at `status_url` (absolute, or relative to the service).
    pub async fn job_status(
        &self,
        status_url: &str,
    ) -> Result<ReplicaResponse, ServiceClientError> {
        let url = self.resolve("job status", status_url)?;
        self.call("job status", Method::GET, url, json_form()).await
    }

    pub(super) async fn finish_job(
        &self,
        operation: &'static str,
        first: ReplicaResponse,
        format: DataFormat,
        result_in: ResultIn,
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
                sqlite_url: None,
                json_file: None,
            });
        };
        let url = self.resolve("download result", &location)?;
        if format == DataFormat::Sqlite {
            let path = self.download_file(&url, result_dir, progress).await?;
            return Ok(ReplicaResult {
                response: reply,
                state,
                sqlite_file: Some(path),
                sqlite_url: Some(url.to_string()),
                json_file: None,
            });
        }
        if result_in == ResultIn::File {
            let path = self.download_json_file(&url, result_dir, progress).await?;
            return Ok(ReplicaResult {
                response: reply,
                state,
                sqlite_file: None,
                sqlite_url: None,
                json_file: Some(JsonResultFile {
                    path,
                    url: url.to_string(),
                }),
            });
        }
        let mut result: ReplicaResponse = self.download_json(&url, result_dir, progress).await?;
        merge_status_into_result(&mut result, &reply);
        Ok(ReplicaResult {
            response: result,
            state,
            sqlite_file: None,
            sqlite_url: None,
            json_file: None,
        })
    }

    /// Downloads a SQLite result again (see [`ReplicaResult::sqlite_url`]) into `dir`; its new
    /// path.
    pub async fn download_sqlite_result(
        &self,
        url: &str,
        dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<PathBuf, ServiceClientError> {
        let url = self.resolve("download result", url)?;
        self.download_file(&url, dir, progress).await
    }

    /// Downloads a JSON result again (see [`JsonResultFile`]) into `dir`; its new path.
    pub async fn download_json_result(
        &self,
        url: &str,
        dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<PathBuf, ServiceClientError> {
        let url = self.resolve("download result", url)?;
        self.download_json_file(&url, dir, progress).await
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
}

/// A result file may omit what the status already said (generations, response type); keep both.
pub fn merge_status_into_result(result: &mut ReplicaResponse, status: &ReplicaResponse) {
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
