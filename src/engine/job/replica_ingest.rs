//! Reading a downloaded result into a replica file as a stream, with progress: a
//! createReplica result into a staged replica file ([`ingest`]: a JSON result through
//! `protocol::read_replica_stream`, a SQLite delta through `geodatabase::delta::read_streamed`,
//! into `geodatabase::replica_file::StagedFeatures`), and the reading of a sync result inside
//! its apply transaction ([`read_with_progress`], used by `sync_result`). Memory stays bounded
//! whatever the reply's size, and the job view (and the CLI's bar) hears how many features are
//! stored and how much of the file is read (its bytes for JSON, its feature rows for a delta).
//! A SQLite result that is not a syncwatch delta is refused in one line ([`delta_refused`]); a
//! result file cut short may be fetched again ([`worth_downloading_again`], [`download_again`],
//! the one async step here). Everything else is blocking: run inside `spawn_blocking`.

use crate::engine::error::EngineError;
use crate::geodatabase::delta::{self, DeltaError, DeltaReadError};
use crate::geodatabase::replica_file::{
    DownloadedFeatures, ReplicaFileError, StagedFeatures, StagedFile,
};
use crate::protocol::{
    ChangeType, Feature, FeatureSink, FrontRead, JobState, StreamError, StreamedReply,
    UnreadableFeature, read_replica_stream, read_sync_stream,
};
use crate::service::{FeatureServiceClient, JobProgress, ServiceClientError};
use serde_json::value::RawValue;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the count of stored features is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Read buffer of the result file.
const READ_BUFFER: usize = 256 * 1024;

/// How a downloaded result file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultFormat {
    /// The reply as a JSON document.
    Json,
    /// syncwatch's SQLite delta (`geodatabase::delta`).
    Delta,
}

/// Which reply a result file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyKind {
    Create,
    Sync,
}

/// A sink that says how many features it has stored.
pub(crate) trait StoredCount: FeatureSink<Error = ReplicaFileError> {
    fn stored(&self) -> u64;
}

impl StoredCount for StagedFeatures {
    fn stored(&self) -> u64 {
        StagedFeatures::stored(self)
    }
}

impl StoredCount for DownloadedFeatures<'_> {
    fn stored(&self) -> u64 {
        DownloadedFeatures::stored(self)
    }
}

/// Reads the result at `file` into a new staged file at `staging`; removes `file`.
pub(crate) fn ingest(
    file: &Path,
    format: ResultFormat,
    staging: &Path,
    report: &(dyn Fn(JobProgress) + Send + Sync),
) -> Result<(StreamedReply, StagedFile), EngineError> {
    let outcome = StagedFeatures::begin(staging)
        .map_err(EngineError::from)
        .and_then(|mut staged| {
            let streamed = read_with_progress(
                file,
                format,
                &mut staged,
                "storing the features",
                report,
                ReplyKind::Create,
            )?;
            Ok((streamed, staged.finish()?))
        });
    let _ = std::fs::remove_file(file);
    outcome
}

/// Reads the `reply` at `file`, each feature into `sink`, telling `report`
/// "`what`: N stored" every quarter second and at the end.
pub(crate) fn read_with_progress<S: StoredCount>(
    file: &Path,
    format: ResultFormat,
    sink: &mut S,
    what: &'static str,
    report: &(dyn Fn(JobProgress) + Send + Sync),
    reply: ReplyKind,
) -> Result<StreamedReply, EngineError> {
    match format {
        ResultFormat::Json => read_json(file, sink, what, report, reply),
        ResultFormat::Delta => read_delta(file, sink, what, report),
    }
}

/// A SQLite result that cannot be used, as the engine reports it: one that is not a syncwatch
/// delta (an Esri mobile geodatabase) says to ask for JSON instead.
pub(crate) fn delta_refused(error: DeltaError) -> EngineError {
    match error {
        DeltaError::NotADelta { .. } => EngineError::Unsupported(
            "the service's SQLite result is not a syncwatch delta (an Esri mobile geodatabase?): \
             syncwatch reads JSON results from this service; set the download format to JSON \
             (--download-format json); nothing was applied"
                .into(),
        ),
        other => EngineError::Delta(other),
    }
}

/// Whether a result file that did not read may read when downloaded again: JSON that is not
/// a whole document, a SQLite file SQLite cannot read (both: cut short on the way). A file that
/// reads but says something wrong, or is not a delta, would arrive the same again.
pub(crate) fn worth_downloading_again(error: &EngineError) -> bool {
    matches!(
        error,
        EngineError::Service(ServiceClientError::Malformed { .. })
            | EngineError::Delta(DeltaError::Unreadable { .. })
    )
}

/// Downloads the result at `url` again into `dir`, as a file of `format`; its new path.
pub(crate) async fn download_again(
    client: &FeatureServiceClient,
    format: ResultFormat,
    url: &str,
    dir: &Path,
    progress: &(dyn Fn(JobProgress) + Send + Sync),
) -> Result<std::path::PathBuf, ServiceClientError> {
    match format {
        ResultFormat::Json => client.download_json_result(url, dir, progress).await,
        ResultFormat::Delta => client.download_sqlite_result(url, dir, progress).await,
    }
}

/// A delta's features into `sink`, progress counted in feature rows.
fn read_delta<S: StoredCount>(
    file: &Path,
    sink: &mut S,
    what: &'static str,
    report: &(dyn Fn(JobProgress) + Send + Sync),
) -> Result<StreamedReply, EngineError> {
    let total = delta::feature_rows(file).map_err(delta_refused)?;
    let mut reporting = ReportingSink {
        sink,
        what,
        report,
        read: Arc::new(AtomicU64::new(0)),
        total,
        last: None,
        counts_rows: true,
    };
    let streamed = match delta::read_streamed(file, &mut reporting) {
        Ok(streamed) => streamed,
        Err(DeltaReadError::Sink(e)) => return Err(e.into()),
        Err(DeltaReadError::Delta(e)) => return Err(delta_refused(e)),
    };
    reporting.tell(true);
    Ok(streamed)
}

/// A JSON document's features into `sink`, progress counted in bytes read.
fn read_json<S: StoredCount>(
    json: &Path,
    sink: &mut S,
    what: &'static str,
    report: &(dyn Fn(JobProgress) + Send + Sync),
    reply: ReplyKind,
) -> Result<StreamedReply, EngineError> {
    let io = |source| EngineError::Io {
        path: json.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(json).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let count = Arc::new(AtomicU64::new(0));
    let reader = BufReader::with_capacity(
        READ_BUFFER,
        CountingReader {
            inner: file,
            read: count.clone(),
        },
    );
    let mut reporting = ReportingSink {
        sink,
        what,
        report,
        read: count,
        total,
        last: None,
        counts_rows: false,
    };
    let read = match reply {
        ReplyKind::Create => read_replica_stream(reader, &mut reporting),
        ReplyKind::Sync => read_sync_stream(reader, &mut reporting),
    };
    let streamed = match read {
        Ok(streamed) => streamed,
        Err(StreamError::Sink(e)) => return Err(e.into()),
        Err(StreamError::Reply(e)) => {
            return Err(ServiceClientError::from_reply("read the result", e).into());
        }
    };
    reporting.tell(true);
    Ok(streamed)
}

/// Counts the bytes read, for the progress fraction.
struct CountingReader<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Hands each feature to the sink and says every quarter second how many are stored.
struct ReportingSink<'a, S> {
    sink: &'a mut S,
    what: &'static str,
    report: &'a (dyn Fn(JobProgress) + Send + Sync),
    read: Arc<AtomicU64>,
    total: u64,
    last: Option<Instant>,
    /// `read` counts the features handed on (a delta's rows), not bytes.
    counts_rows: bool,
}

impl<S: StoredCount> ReportingSink<'_, S> {
    /// After each feature: tells now and then.
    fn stored_one(&mut self) {
        if self.counts_rows {
            self.read.fetch_add(1, Ordering::Relaxed);
        }
        if self.sink.stored().is_multiple_of(1024) {
            self.tell(false);
        }
    }

    fn tell(&mut self, force: bool) {
        let now = Instant::now();
        if !force && self.last.is_some_and(|t| now - t < PROGRESS_EVERY) {
            return;
        }
        self.last = Some(now);
        let fraction = (self.total > 0).then(|| {
            (self.read.load(Ordering::Relaxed) as f64 / self.total as f64).min(1.0) as f32
        });
        (self.report)(JobProgress {
            state: JobState::Running("Storing".into()),
            fraction,
            message: format!("{}: {} stored", self.what, self.sink.stored()),
        });
    }
}

impl<S: StoredCount> FeatureSink for ReportingSink<'_, S> {
    type Error = ReplicaFileError;
    fn feature(
        &mut self,
        layer_id: i64,
        change: ChangeType,
        feature: Feature,
    ) -> Result<(), Self::Error> {
        self.sink.feature(layer_id, change, feature)?;
        self.stored_one();
        Ok(())
    }

    fn feature_text(
        &mut self,
        layer_id: i64,
        change: ChangeType,
        text: &RawValue,
        list: &'static str,
        position: usize,
    ) -> Result<Option<UnreadableFeature>, Self::Error> {
        let skipped = self
            .sink
            .feature_text(layer_id, change, text, list, position)?;
        self.stored_one();
        Ok(skipped)
    }

    fn feature_front(
        &mut self,
        layer_id: i64,
        change: ChangeType,
        json: &[u8],
        list: &'static str,
        position: usize,
    ) -> FrontRead<Self::Error> {
        let read = self
            .sink
            .feature_front(layer_id, change, json, list, position)?;
        if read.as_ref().is_some_and(|(handed, _)| handed.is_ok()) {
            self.stored_one();
        }
        Ok(read)
    }
}
