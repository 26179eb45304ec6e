//! Downloads: a JSON result, a SQLite result file and attachment data. Files are streamed to
//! disk chunk by chunk (user-only) with no whole-request time limit, only an idle one; a dropped
//! or stalled connection is resumed with `Range` where it stopped; a file is refused past its
//! size limit and removed on any failure; a result the server no longer has reads as "expired".

use super::client::FeatureServiceClient;
use super::error::{ServiceClientError, expired, malformed, too_large, transport_error};
use super::job_polling::{JobProgress, ProgressFn};
use super::transport::{Transfer, check_status, parse};
use crate::protocol::catalog::TransportKind;
use crate::protocol::{Guid, JobState, ReplicaResponse};
use reqwest::{Method, StatusCode};
use std::path::{Path, PathBuf};
use url::Url;

impl FeatureServiceClient {
    /// Downloads a JSON result file into `dir` like any result file (idle limit only, resumed
    /// with `Range` where it stopped), then parses it and removes it. A file that does not
    /// parse (cut without an error) is downloaded again, a refused token renewed once.
    pub(super) async fn download_json(
        &self,
        url: &Url,
        dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResponse, ServiceClientError> {
        let operation = "download result";
        let config = &self.inner.config;
        let (mut attempt, mut renewed) = (0, false);
        loop {
            match self.download_json_once(operation, url, dir, progress).await {
                // The output directory removed the file: an envelope with 404.
                Err(ServiceClientError::Service { error, .. }) if error.code == Some(404) => {
                    return Err(expired(url));
                }
                Err(e) if e.is_token_refusal() && !renewed => {
                    let sent = self.request_token(operation, url).await?;
                    self.renew_refused_token(operation, e, sent.as_ref())
                        .await?;
                    renewed = true;
                }
                Err(e) if e.is_token_refusal() => {
                    let had_token = self.request_token(operation, url).await?.is_some();
                    return Err(self.sign_in_needed(operation, &e, had_token));
                }
                // A transfer that failed was already retried and resumed (`stream_to_file`); a
                // whole file that does not parse (a proxy that closed it early) or that holds a
                // passing service error is fetched again.
                Err(e)
                    if matches!(
                        e,
                        ServiceClientError::Malformed { .. } | ServiceClientError::Service { .. }
                    ) && e.is_transient()
                        && attempt + 1 < config.max_attempts =>
                {
                    tracing::info!(operation, attempt, error = %e, "downloading the result again");
                    tokio::time::sleep(config.backoff.delay(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn download_json_once(
        &self,
        operation: &'static str,
        url: &Url,
        dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResponse, ServiceClientError> {
        let path = dir.join(format!("{}.json.part", Guid::new_v4().bare()));
        let limit = self.inner.config.max_replica_reply_bytes;
        self.stream_to_file(operation, url, &path, limit, Some(progress))
            .await?;
        let read_path = path.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            std::fs::read(&read_path).map(|body| parse::<ReplicaResponse>(operation, &body))
        })
        .await;
        let _ = tokio::fs::remove_file(&path).await;
        match parsed {
            Ok(Ok(reply)) => reply,
            Ok(Err(source)) => Err(ServiceClientError::Io { path, source }),
            Err(e) => Err(ServiceClientError::Io {
                path,
                source: std::io::Error::other(e),
            }),
        }
    }

    /// A JSON result file streamed to `dir` and left there (`<guid>.json`) to be read as a
    /// stream; an expired file is [`expired`], a refused token is renewed once.
    pub(super) async fn download_json_file(
        &self,
        url: &Url,
        dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<PathBuf, ServiceClientError> {
        let operation = "download result";
        let path = dir.join(format!("{}.json", Guid::new_v4().bare()));
        let part = path.with_extension("json.part");
        // Read as a stream from disk, never into memory: a file's limit, not a reply's.
        let limit = self.inner.config.max_result_file_bytes;
        let mut renewed = false;
        loop {
            match self
                .stream_to_file(operation, url, &part, limit, Some(progress))
                .await
            {
                Ok(_) => break,
                Err(ServiceClientError::Service { error, .. }) if error.code == Some(404) => {
                    return Err(expired(url));
                }
                Err(e) if e.is_token_refusal() && !renewed => {
                    let sent = self.request_token(operation, url).await?;
                    self.renew_refused_token(operation, e, sent.as_ref())
                        .await?;
                    renewed = true;
                }
                Err(e) if e.is_token_refusal() => {
                    let had_token = self.request_token(operation, url).await?.is_some();
                    return Err(self.sign_in_needed(operation, &e, had_token));
                }
                Err(e) => return Err(e),
            }
        }
        tokio::fs::rename(&part, &path)
            .await
            .map_err(|source| ServiceClientError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(path)
    }

    /// Streams a result file to `dir` (a `.part` file renamed when complete), resuming after a
    /// dropped or stalled connection ([`Self::stream_to_file`]).
    pub(super) async fn download_file(
        &self,
        url: &Url,
        dir: &Path,
        progress: ProgressFn<'_>,
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
                Some(progress),
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
    /// whole), refusing more than `max_bytes`; resumed like other downloads. Returns the file.
    pub async fn download_attachment(
        &self,
        url: &str,
        dir: &Path,
        max_bytes: u64,
    ) -> Result<PathBuf, ServiceClientError> {
        let operation = "download attachment";
        let url = self.resolve(operation, url)?;
        let path = dir.join(format!("{}.attachment", Guid::new_v4().bare()));
        self.stream_to_file(operation, &url, &path, max_bytes, None)
            .await?;
        Ok(path)
    }

    /// GETs `url` into `path` chunk by chunk, stopping past `limit` bytes. A connection that
    /// drops or stalls ([`ClientConfig::idle_timeout`](super::ClientConfig)) is resumed with
    /// `Range` from the bytes already written when the server answers ranges (206), else
    /// restarted; a try that moved the download forward does not count against
    /// `max_attempts`. The file is removed on any failure. Returns the first bytes, for callers
    /// that check what they received.
    async fn stream_to_file(
        &self,
        operation: &'static str,
        url: &Url,
        path: &Path,
        limit: u64,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<Vec<u8>, ServiceClientError> {
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
        let file = options.open(path).await.map_err(io_err)?;
        let mut partial = PartialFile {
            file,
            path: path.to_path_buf(),
            written: 0,
            first_bytes: Vec::new(),
            progress: progress.map(|report| ByteProgress {
                report,
                total: None,
                last: None,
            }),
        };
        let config = &self.inner.config;
        let mut failures = 0;
        loop {
            let before = partial.written;
            match self.stream_once(operation, url, &mut partial, limit).await {
                Ok(()) => break,
                Err(e) if e.is_transient() => {
                    failures = if partial.written > before {
                        0
                    } else {
                        failures + 1
                    };
                    if failures >= config.max_attempts {
                        drop(partial.file);
                        let _ = tokio::fs::remove_file(path).await;
                        return Err(e);
                    }
                    tracing::info!(
                        operation, url = %url, bytes = partial.written, error = %e,
                        "download interrupted; resuming"
                    );
                    tokio::time::sleep(config.backoff.delay(failures.saturating_sub(1))).await;
                }
                Err(e) => {
                    drop(partial.file);
                    let _ = tokio::fs::remove_file(path).await;
                    return Err(e);
                }
            }
        }
        if let Some(progress) = &mut partial.progress {
            // The last report: all of it.
            progress.total = Some(partial.written);
            progress.tell(partial.written, true);
        }
        partial.file.sync_all().await.map_err(io_err)?;
        Ok(partial.first_bytes)
    }

    /// One GET of what `partial` still lacks, appended to it.
    async fn stream_once(
        &self,
        operation: &'static str,
        url: &Url,
        partial: &mut PartialFile<'_>,
        limit: u64,
    ) -> Result<(), ServiceClientError> {
        let transfer = Transfer::Download {
            from: partial.written,
        };
        let mut response = self
            .send(operation, Method::GET, url, &[], transfer)
            .await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(expired(url));
        }
        if status == StatusCode::RANGE_NOT_SATISFIABLE && partial.written > 0 {
            // Nothing left to send: complete when the file is as long as we have.
            let total = content_range_total(response.headers());
            if total == Some(partial.written) {
                return Ok(());
            }
            partial.restart().await?;
            return Err(interrupted(
                operation,
                url,
                "the server no longer has that range",
            ));
        }
        let resumed = status == StatusCode::PARTIAL_CONTENT;
        if !resumed {
            check_status(operation, url, status)?;
        }
        if resumed {
            let start = content_range_start(response.headers());
            if start != Some(partial.written) {
                partial.restart().await?;
                return Err(interrupted(operation, url, "the server sent another range"));
            }
        } else if partial.written > 0 {
            // The server sent the whole file again: start over.
            partial.restart().await?;
        }
        let expected_total = if resumed {
            content_range_total(response.headers())
        } else {
            response.content_length()
        };
        if expected_total.is_some_and(|len| len > limit) {
            return Err(too_large(operation, url, limit));
        }
        if let Some(progress) = &mut partial.progress {
            // A resumed part's total is the whole file's; a reply without a length keeps the
            // total already known.
            progress.total = expected_total.or(progress.total);
        }
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => return Err(transport_error(operation, url, &e)),
            };
            if partial.written + chunk.len() as u64 > limit {
                return Err(too_large(operation, url, limit));
            }
            partial.append(&chunk).await?;
        }
        match expected_total {
            // A body that ended early without an error (a proxy closing cleanly) is resumed too.
            Some(total) if partial.written < total => {
                Err(interrupted(operation, url, "the reply ended early"))
            }
            _ => Ok(()),
        }
    }
}

/// A download being written: the file, how much of it is there, its first bytes, and whom to
/// tell how far it got.
struct PartialFile<'a> {
    file: tokio::fs::File,
    path: PathBuf,
    written: u64,
    first_bytes: Vec<u8>,
    progress: Option<ByteProgress<'a>>,
}

/// Reports a download's bytes as job progress, at most every [`PROGRESS_EVERY`].
struct ByteProgress<'a> {
    report: ProgressFn<'a>,
    total: Option<u64>,
    last: Option<std::time::Instant>,
}

/// How often a download's progress is reported.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

impl ByteProgress<'_> {
    /// Reports `written` unless the last report was just now (`force`: report anyway).
    fn tell(&mut self, written: u64, force: bool) {
        let now = std::time::Instant::now();
        if !force && self.last.is_some_and(|t| now - t < PROGRESS_EVERY) {
            return;
        }
        self.last = Some(now);
        let fraction = self
            .total
            .filter(|t| *t > 0)
            .map(|t| (written as f64 / t as f64).min(1.0) as f32);
        let message = match self.total {
            Some(total) => format!(
                "downloading the result: {} of {}",
                transfer_size(written),
                transfer_size(total)
            ),
            None => format!("downloading the result: {}", transfer_size(written)),
        };
        (self.report)(JobProgress {
            state: JobState::Running("Downloading".into()),
            fraction,
            message,
        });
    }
}

/// "812 KB", "117.2 MB" (powers of 1000, as transfer sizes are given).
fn transfer_size(bytes: u64) -> String {
    if bytes < 1_000_000 {
        format!("{} KB", bytes.div_ceil(1000))
    } else {
        format!("{:.1} MB", bytes as f64 / 1e6)
    }
}

impl PartialFile<'_> {
    async fn append(&mut self, chunk: &[u8]) -> Result<(), ServiceClientError> {
        use tokio::io::AsyncWriteExt;
        if self.first_bytes.len() < 256 {
            let take = chunk.len().min(256 - self.first_bytes.len());
            self.first_bytes.extend_from_slice(&chunk[..take]);
        }
        self.file
            .write_all(chunk)
            .await
            .map_err(|source| ServiceClientError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.written += chunk.len() as u64;
        if let Some(progress) = &mut self.progress {
            progress.tell(self.written, false);
        }
        Ok(())
    }

    /// Empties the file to download it again from the start.
    async fn restart(&mut self) -> Result<(), ServiceClientError> {
        use tokio::io::AsyncSeekExt;
        let io_err = |source| ServiceClientError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.set_len(0).await.map_err(io_err)?;
        self.file
            .seek(std::io::SeekFrom::Start(0))
            .await
            .map_err(io_err)?;
        self.written = 0;
        self.first_bytes.clear();
        Ok(())
    }
}

/// A transfer cut short, to be resumed (transient).
fn interrupted(operation: &'static str, url: &Url, detail: &str) -> ServiceClientError {
    ServiceClientError::Transport {
        operation,
        kind: TransportKind::ConnectionLost,
        status: None,
        detail: detail.to_string(),
        url: url.to_string(),
    }
}

/// `Content-Range: bytes START-END/TOTAL` (or `bytes */TOTAL`): (START, TOTAL).
fn content_range(headers: &reqwest::header::HeaderMap) -> (Option<u64>, Option<u64>) {
    let Some(text) = headers
        .get(reqwest::header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes "))
    else {
        return (None, None);
    };
    let (span, total) = text.split_once('/').unwrap_or((text, ""));
    let start = span
        .split_once('-')
        .and_then(|(s, _)| s.trim().parse().ok());
    (start, total.trim().parse().ok())
}

fn content_range_start(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    content_range(headers).0
}

fn content_range_total(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    content_range(headers).1
}

#[cfg(test)]
mod tests {
    use super::content_range;
    use reqwest::header::{CONTENT_RANGE, HeaderMap, HeaderValue};

    #[test]
    fn content_range_gives_start_and_total() {
        let of = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_RANGE, HeaderValue::from_static(v));
            content_range(&h)
        };
        assert_eq!(of("bytes 200-999/1000"), (Some(200), Some(1000)));
        assert_eq!(of("bytes */1000"), (None, Some(1000)));
        assert_eq!(of("bytes 0-9/*"), (Some(0), None));
        assert_eq!(of("items 0-9/10"), (None, None));
        assert_eq!(content_range(&HeaderMap::new()), (None, None));
    }
}
