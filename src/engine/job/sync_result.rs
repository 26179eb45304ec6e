//! A synchronizeReplica result on disk — a JSON document or a SQLite delta — read as a stream
//! in two passes so the downloaded features are never held in memory: [`SyncReplyBody::read`]
//! first reads the file without its features (what attachments to fetch, the edit results, the
//! generations; a file cut short is fetched again, twice at most; a SQLite result
//! that is not a syncwatch delta is refused in one line), then [`SyncReplyBody::apply`] reads it
//! again straight into the replica file's one apply transaction. A reply that came whole (a
//! synchronous sync) is applied as it is. Owns the result file and removes it when dropped.
//! Blocking parts run in `spawn_blocking`.

use super::replica_ingest::{
    self, ReplyKind, ResultFormat, delta_refused, download_again, worth_downloading_again,
};
use crate::engine::error::{EngineError, chain};
use crate::geodatabase::delta;
use crate::geodatabase::replica_file::{
    AppliedSync, AttachmentPayloads, DownloadedFeatures, ReplicaFile,
};
use crate::protocol::{
    ChangeType, Feature, FeatureSink, ReplicaResponse, StreamError, read_sync_stream,
};
use crate::service::{
    FeatureServiceClient, JobProgress, ReplicaResult, ServiceClientError, merge_status_into_result,
};
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Read buffer of a result file.
const READ_BUFFER: usize = 256 * 1024;
/// How many times a result file that does not read is downloaded again.
const DOWNLOADS_AGAIN: u32 = 2;

/// A sync's reply: whole, or on disk with its reply read without features.
pub(super) struct SyncReplyBody {
    /// The reply; without its adds and updates when they are in `file`.
    pub(super) response: ReplicaResponse,
    file: Option<ResultFile>,
}

/// A downloaded result file, removed when dropped.
struct ResultFile {
    path: PathBuf,
    format: ResultFormat,
}

impl Drop for ResultFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// How the reply is applied (see `ReplicaFile::apply_sync_streamed`).
pub(super) struct ApplyAs {
    pub(super) upload_gen: Option<i64>,
    pub(super) advance_generations: bool,
    /// A download-first sync: a server delete keeps a local update for the conflict check.
    pub(super) keep_local_updates: bool,
}

impl SyncReplyBody {
    /// The reply of `result`: a result file (JSON, or a SQLite delta) is read once without its
    /// features (a JSON one fetched again when it does not read), and completed with what the
    /// job's status said.
    pub(super) async fn read(
        client: &FeatureServiceClient,
        result: ReplicaResult,
        results_dir: &Path,
        progress: &(dyn Fn(JobProgress) + Send + Sync),
    ) -> Result<SyncReplyBody, EngineError> {
        let (mut file, url) = match (result.json_file, result.sqlite_file) {
            (Some(json), _) => (
                ResultFile {
                    path: json.path,
                    format: ResultFormat::Json,
                },
                Some(json.url),
            ),
            (None, Some(path)) => (
                ResultFile {
                    path,
                    format: ResultFormat::Delta,
                },
                result.sqlite_url,
            ),
            (None, None) => {
                return Ok(SyncReplyBody {
                    response: result.response,
                    file: None,
                });
            }
        };
        let mut attempt = 0;
        loop {
            let (path, format) = (file.path.clone(), file.format);
            let read = tokio::task::spawn_blocking(move || read_without_features(&path, format))
                .await
                .map_err(EngineError::from)
                .and_then(|r| r);
            match read {
                Ok(mut response) => {
                    merge_status_into_result(&mut response, &result.response);
                    return Ok(SyncReplyBody {
                        response,
                        file: Some(file),
                    });
                }
                Err(e) if attempt < DOWNLOADS_AGAIN && worth_downloading_again(&e) => {
                    let Some(url) = url.as_deref() else {
                        return Err(e);
                    };
                    tracing::info!(attempt, error = %chain(&e), "the sync result does not read; downloading it again");
                    attempt += 1;
                    let format = file.format;
                    drop(file);
                    file = ResultFile {
                        path: download_again(client, format, url, results_dir, progress).await?,
                        format,
                    };
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Applies the reply to `file` in one transaction (blocking); the downloaded features are
    /// read from the result file as they are stored, `report` hearing how many. Returns what was applied and the reply
    /// without its features (what was read on the first pass).
    pub(super) fn apply(
        self,
        file: &mut ReplicaFile,
        how: &ApplyAs,
        payloads: &AttachmentPayloads,
        report: &(dyn Fn(JobProgress) + Send + Sync),
    ) -> Result<(AppliedSync, ReplicaResponse), EngineError> {
        let Some(result) = &self.file else {
            let applied = if how.keep_local_updates {
                file.apply_download_first(&self.response, payloads)?
            } else {
                file.apply_sync_with_attachments(
                    how.upload_gen,
                    &self.response,
                    how.advance_generations,
                    payloads,
                )?
            };
            return Ok((applied, self.response));
        };
        let first_pass = self.response;
        let (applied, response) = file.apply_sync_streamed(
            how.upload_gen,
            how.advance_generations,
            payloads,
            how.keep_local_updates,
            |sink: &mut DownloadedFeatures<'_>| {
                let streamed = replica_ingest::read_with_progress(
                    &result.path,
                    result.format,
                    sink,
                    "applying the downloaded features",
                    report,
                    ReplyKind::Sync,
                )?;
                // The first pass's reply, with what the job's status added, and the features
                // this pass set aside (a delta's first pass does not read them).
                Ok::<_, EngineError>(with_unreadable_of(first_pass, streamed.response))
            },
        )?;
        Ok((applied, response))
    }
}

/// `reply` with the unreadable features `streamed` found, layer by layer.
fn with_unreadable_of(mut reply: ReplicaResponse, streamed: ReplicaResponse) -> ReplicaResponse {
    for layer in streamed.edits {
        if layer.features.unreadable.is_empty() {
            continue;
        }
        let index = match reply.edits.iter().position(|l| l.id == layer.id) {
            Some(i) => i,
            None => {
                reply.edits.push(crate::protocol::LayerSyncResult {
                    id: layer.id,
                    ..Default::default()
                });
                reply.edits.len() - 1
            }
        };
        reply.edits[index].features.unreadable = layer.features.unreadable;
    }
    reply
}

/// The reply in `path` without its downloaded features (for JSON they are read and counted,
/// not kept; a delta's feature rows are checked, not read).
fn read_without_features(
    path: &Path,
    format: ResultFormat,
) -> Result<ReplicaResponse, EngineError> {
    if format == ResultFormat::Delta {
        return delta::read_skeleton(path).map_err(delta_refused);
    }
    let reply = std::fs::File::open(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let streamed = read_sync_stream(
        BufReader::with_capacity(READ_BUFFER, reply),
        &mut SkipFeatures,
    )
    .map_err(|e| stream_failed(e, |never| match never {}))?;
    Ok(streamed.response)
}

/// A streamed read's failure as the engine reports it.
fn stream_failed<E: std::error::Error + 'static>(
    e: StreamError<E>,
    sink_failed: impl FnOnce(E) -> EngineError,
) -> EngineError {
    match e {
        StreamError::Reply(reply) => {
            ServiceClientError::from_reply("read the sync result", reply).into()
        }
        StreamError::Sink(e) => sink_failed(e),
    }
}

/// The first pass keeps no feature.
struct SkipFeatures;

impl FeatureSink for SkipFeatures {
    type Error = std::convert::Infallible;
    fn feature(&mut self, _: i64, _: ChangeType, _: Feature) -> Result<(), Self::Error> {
        Ok(())
    }
}
