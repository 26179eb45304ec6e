//! A synchronizeReplica result on disk, read as a stream in two passes so the downloaded
//! features are never held in memory: [`SyncReplyBody::read`] first reads the file without its
//! features (what attachments to fetch, the edit results, the generations; a file that does not
//! read is fetched again, twice at most), then [`SyncReplyBody::apply`] reads it again straight
//! into the replica file's one apply transaction. A reply that came whole (a synchronous sync)
//! is applied as it is. Owns the result file and removes it when dropped. Blocking parts run
//! in `spawn_blocking`.

use super::replica_ingest::{self, ReplyKind};
use crate::engine::error::EngineError;
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
struct ResultFile(PathBuf);

impl Drop for ResultFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
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
    /// The reply of `result`: a JSON result file is read once without its features (fetched
    /// again when it does not read), and completed with what the job's status said.
    pub(super) async fn read(
        client: &FeatureServiceClient,
        result: ReplicaResult,
        results_dir: &Path,
        progress: &(dyn Fn(JobProgress) + Send + Sync),
    ) -> Result<SyncReplyBody, EngineError> {
        let Some(json) = result.json_file else {
            return Ok(SyncReplyBody {
                response: result.response,
                file: None,
            });
        };
        let mut file = ResultFile(json.path);
        let mut attempt = 0;
        loop {
            let path = file.0.clone();
            let read = tokio::task::spawn_blocking(move || read_without_features(&path))
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
                Err(EngineError::Service(e @ ServiceClientError::Malformed { .. }))
                    if attempt < DOWNLOADS_AGAIN =>
                {
                    tracing::info!(attempt, error = %e, "the sync result does not read; downloading it again");
                    attempt += 1;
                    drop(file);
                    file = ResultFile(
                        client
                            .download_json_result(&json.url, results_dir, progress)
                            .await?,
                    );
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
        let (applied, _) = file.apply_sync_streamed(
            how.upload_gen,
            how.advance_generations,
            payloads,
            how.keep_local_updates,
            |sink: &mut DownloadedFeatures<'_>| {
                replica_ingest::read_with_progress(
                    &result.0,
                    sink,
                    "applying the downloaded features",
                    report,
                    ReplyKind::Sync,
                )?;
                // The first pass's reply, with what the job's status added.
                Ok::<_, EngineError>(first_pass.clone())
            },
        )?;
        Ok((applied, first_pass))
    }
}

/// The reply in `path` without its downloaded features (they are counted, not kept).
fn read_without_features(path: &Path) -> Result<ReplicaResponse, EngineError> {
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
