//! Reading a downloaded createReplica JSON result into a staged replica file as a stream
//! (`protocol::read_replica_stream` into `geodatabase::replica_file::StagedFeatures`): memory
//! stays bounded whatever the replica's size, and the job view hears how many features are
//! stored. The result file is removed once read. Blocking: run inside `spawn_blocking`.

use crate::engine::error::EngineError;
use crate::geodatabase::replica_file::{StagedFeatures, StagedFile};
use crate::protocol::{
    ChangeType, Feature, FeatureSink, JobState, StreamError, StreamedReply, read_replica_stream,
};
use crate::service::{JobProgress, ServiceClientError};
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the count of stored features is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Read buffer of the result file.
const READ_BUFFER: usize = 256 * 1024;

/// Reads the JSON result at `json` into a new staged file at `staging`; removes `json`.
pub(crate) fn ingest(
    json: &Path,
    staging: &Path,
    report: &(dyn Fn(JobProgress) + Send + Sync),
) -> Result<(StreamedReply, StagedFile), EngineError> {
    let outcome = ingest_kept(json, staging, report);
    let _ = std::fs::remove_file(json);
    outcome
}

fn ingest_kept(
    json: &Path,
    staging: &Path,
    report: &(dyn Fn(JobProgress) + Send + Sync),
) -> Result<(StreamedReply, StagedFile), EngineError> {
    let io = |source| EngineError::Io {
        path: json.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(json).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let read = Arc::new(AtomicU64::new(0));
    let reader = BufReader::with_capacity(
        READ_BUFFER,
        CountingReader {
            inner: file,
            read: read.clone(),
        },
    );
    let mut sink = ReportingSink {
        staged: StagedFeatures::begin(staging)?,
        report,
        read,
        total,
        last: None,
    };
    let streamed = match read_replica_stream(reader, &mut sink) {
        Ok(streamed) => streamed,
        Err(StreamError::Sink(e)) => return Err(e.into()),
        Err(StreamError::Reply(e)) => {
            return Err(ServiceClientError::from_reply("read the result", e).into());
        }
    };
    sink.tell(true);
    Ok((streamed, sink.staged.finish()?))
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

/// Stores each feature and says every quarter second how many are stored.
struct ReportingSink<'a> {
    staged: StagedFeatures,
    report: &'a (dyn Fn(JobProgress) + Send + Sync),
    read: Arc<AtomicU64>,
    total: u64,
    last: Option<Instant>,
}

impl ReportingSink<'_> {
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
            message: format!("storing the features: {} stored", self.staged.stored()),
        });
    }
}

impl FeatureSink for ReportingSink<'_> {
    type Error = crate::geodatabase::replica_file::ReplicaFileError;
    fn feature(
        &mut self,
        layer_id: i64,
        _change: ChangeType,
        feature: Feature,
    ) -> Result<(), Self::Error> {
        self.staged.add(layer_id, &feature)?;
        if self.staged.stored().is_multiple_of(1024) {
            self.tell(false);
        }
        Ok(())
    }
}
