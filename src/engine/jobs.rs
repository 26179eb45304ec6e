//! The bodies of the jobs the runner schedules: create a replica, sync it, unregister it. Each
//! runs as its own tokio task, reports progress as [`Event`]s, and ends with exactly one of
//! `JobCompleted` / `JobFailed` (plus `ResetRequired` when only a client reset can help).
//!
//! Edits are sacred: an upload is marked in the replica file before it is sent, acknowledged only
//! from the server's results, and the downloaded changes and the new generation are written in one
//! transaction after the reply is complete. A cancelled or failed job leaves every edit queued.

use super::api::{
    CreateRequest, Event, JobId, JobOutcome, LocalReplicaId, LogEntry, ResetMode, SyncOptions,
};
use super::error::{EngineError, chain};
use super::{Deps, now_ms, summary};
use crate::geodatabase::replica_file::{
    AppliedSync, ChangeKind, Generations, ReplicaDefinition, ReplicaFile, ReplicaLayer, Upload,
};
use crate::protocol::catalog::TransportKind;
use crate::protocol::{
    ChangeType, CreateReplicaParams, DataFormat, EditResultRow, Guid, JobState, LayerInfo,
    ObjectType, ReplicaResponse, SyncDirection, SyncLayerSpec, SyncModel, SyncReplicaParams,
};
use crate::service::{FeatureServiceClient, JobProgress, Token};
use crate::store::{JobFinish, JobKind, NewReplica};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// How often a sync is redone from the stored generation when its result expired before download.
const MAX_EXPIRED_RESULT_REDOS: u32 = 2;

/// What the runner asks a job task to do.
#[derive(Debug, Clone)]
pub(crate) enum Job {
    Create(CreateRequest),
    Sync(SyncOptions),
    Unregister,
    /// A client reset in this mode; `confirmed` when the user confirmed a manual reset.
    Reset {
        mode: ResetMode,
        confirmed: bool,
    },
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Job::Create(_) => JobKind::Create,
            Job::Sync(_) => JobKind::Sync,
            Job::Unregister => JobKind::Unregister,
            Job::Reset { .. } => JobKind::Reset,
        }
    }
    pub fn direction(&self) -> Option<&'static str> {
        match self {
            Job::Sync(o) => Some(o.direction.as_str()),
            _ => None,
        }
    }
}

/// Whether the job reached its service, for auto-sync backoff and NetworkLost/NetworkBack.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reach {
    Reached,
    Unreachable(String),
    /// The job never talked to the service (local failure, cancelled early).
    NotTried,
}

/// What a finished job tells the runner.
#[derive(Debug)]
pub(crate) struct JobReport {
    pub replica: LocalReplicaId,
    pub service_url: String,
    pub reach: Reach,
    /// The replica was removed (unregistered, or its create failed).
    pub removed: bool,
    /// A sync just found that only a client reset can help (first detection, not a refusal of a
    /// replica already marked).
    pub needs_reset: bool,
    /// Queue a sync next (a recovery's replayed edits are waiting to be uploaded).
    pub then_sync: bool,
    /// `JobCompleted` or `JobFailed`: the runner sends it once the replica is no longer busy, so a
    /// front end that hears it and asks for a summary never sees the replica still syncing.
    pub final_event: Option<Event>,
}

/// Registers a replica about to be created, so the job has a local id. Its file path is final.
pub(crate) async fn register_new(
    deps: &Deps,
    request: &CreateRequest,
) -> Result<LocalReplicaId, EngineError> {
    let dirs = deps.dirs.clone();
    let request = request.clone();
    deps.blocking(move |store| {
        let local_id = store.add_replica(&NewReplica {
            name: request.name.clone(),
            service_url: request.service_url.clone(),
            token: request.token.clone(),
            replica_guid: None,
            file_path: PathBuf::new(),
        })?;
        let path = dirs.replica_file_path(local_id, &request.name);
        store.set_replica_path(local_id, &path)?;
        Ok(local_id)
    })
    .await
}

/// Runs one job to its end and reports to the runner.
pub(crate) async fn run(
    deps: Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    job: Job,
    cancel: watch::Receiver<bool>,
) -> JobReport {
    let started = std::time::Instant::now();
    let service_url = match &job {
        Job::Create(r) => r.service_url.clone(),
        _ => deps
            .with_store(move |s| s.replica(replica))
            .await
            .map(|r| r.service_url)
            .unwrap_or_default(),
    };
    let _ = deps.with_store(move |s| s.mark_job_running(job_id)).await;
    send_summary(&deps, replica, true).await;
    deps.events.send(Event::JobStatus {
        replica,
        job: job_id,
        state: JobState::Pending,
        progress: None,
        message: "starting".into(),
    });
    let mut report = JobReport {
        replica,
        service_url,
        reach: Reach::NotTried,
        removed: false,
        needs_reset: false,
        then_sync: false,
        final_event: None,
    };
    let result = match job {
        Job::Create(request) => create(&deps, replica, job_id, request, cancel).await,
        Job::Sync(options) => sync(&deps, replica, job_id, options, cancel).await,
        Job::Unregister => unregister(&deps, replica).await,
        Job::Reset { mode, confirmed } => {
            super::reset::job::run(&deps, replica, job_id, mode, confirmed, cancel).await
        }
    };
    match result {
        Ok(done) => {
            report.reach = Reach::Reached;
            report.removed = done.removed;
            report.then_sync = done.then_sync;
            report.final_event = Some(finish_ok(&deps, job_id, done, started, replica).await);
        }
        Err(failure) => {
            report.reach = match &failure.error {
                e if e.is_unreachable() => Reach::Unreachable(chain(e)),
                EngineError::Service(_) => Reach::Reached,
                _ => Reach::NotTried,
            };
            report.removed = failure.removed;
            report.needs_reset =
                matches!(&failure.error, EngineError::Service(e) if e.needs_client_reset());
            report.final_event = Some(finish_failed(&deps, replica, job_id, failure).await);
        }
    }
    report
}

/// A successful job's counts.
#[derive(Debug, Default)]
pub(crate) struct Done {
    pub state: Option<JobState>,
    pub uploaded: u32,
    pub downloaded: u32,
    pub failed_edits: u32,
    pub removed: bool,
    pub then_sync: bool,
}

/// A failed job: the error, and whether the replica is gone as a result.
pub(crate) struct Failed {
    pub error: EngineError,
    pub removed: bool,
}

impl From<EngineError> for Failed {
    fn from(error: EngineError) -> Self {
        Failed {
            error,
            removed: false,
        }
    }
}

macro_rules! failed_from {
    ($($source:ty),+) => {$(
        impl From<$source> for Failed {
            fn from(error: $source) -> Self {
                Failed::from(EngineError::from(error))
            }
        }
    )+};
}
failed_from!(
    crate::service::ServiceClientError,
    crate::store::StoreError,
    crate::geodatabase::replica_file::ReplicaFileError
);

async fn finish_ok(
    deps: &Deps,
    job_id: JobId,
    done: Done,
    started: std::time::Instant,
    replica: LocalReplicaId,
) -> Event {
    let state = done.state.clone().unwrap_or(JobState::Completed);
    let finish = JobFinish {
        state: state.as_str().to_string(),
        uploaded: done.uploaded,
        downloaded: done.downloaded,
        failed_edits: done.failed_edits,
        error: None,
    };
    if !done.removed {
        let _ = deps
            .with_store(move |s| s.finish_job(job_id, &finish))
            .await;
    }
    Event::JobCompleted {
        replica,
        job: job_id,
        outcome: JobOutcome {
            state,
            uploaded: done.uploaded,
            downloaded: done.downloaded,
            failed_edits: done.failed_edits,
            duration_ms: started.elapsed().as_millis() as i64,
        },
    }
}

async fn finish_failed(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    failed: Failed,
) -> Event {
    let failure = failed.error.to_failure();
    tracing::warn!(replica = %replica, job = job_id.0, error = %failure.message, "job failed");
    let message = failure.message.clone();
    let finish = JobFinish {
        state: JobState::Failed.as_str().to_string(),
        error: Some(message.clone()),
        ..Default::default()
    };
    let is_cancel = matches!(failed.error, EngineError::Cancelled);
    let name = if failed.removed {
        String::new()
    } else {
        deps.with_store(move |s| {
            s.finish_job(job_id, &finish)?;
            if !is_cancel {
                s.record_attempt(replica, now_ms(), Some(&message))?;
            }
            Ok(s.replica(replica)?.name)
        })
        .await
        .unwrap_or_default()
    };
    if !is_cancel {
        log(deps, Some(replica), &name, failure.code, &failure.message).await;
    }
    Event::JobFailed {
        replica,
        job: job_id,
        error: failure,
    }
}

/// Writes a line to the sync error log and shows it in the log panel.
pub(crate) async fn log(
    deps: &Deps,
    replica: Option<LocalReplicaId>,
    replica_name: &str,
    code: Option<i64>,
    message: &str,
) {
    let entry = LogEntry {
        at_ms: now_ms(),
        replica,
        replica_name: replica_name.to_string(),
        code,
        message: message.to_string(),
    };
    let stored = entry.clone();
    if let Err(e) = deps.with_store(move |s| s.log(&stored)).await {
        tracing::warn!(error = %chain(&e), "could not write the sync error log");
    }
    deps.events.send(Event::Logged { entry });
}

/// Sends the replica's current summary.
pub(crate) async fn send_summary(deps: &Deps, replica: LocalReplicaId, syncing: bool) {
    match deps
        .with_store(move |s| {
            let record = s.replica(replica)?;
            summary::build(s, &record, syncing)
        })
        .await
    {
        Ok(summary) => deps.events.send(Event::ReplicaChanged { summary }),
        Err(e) => tracing::debug!(replica = %replica, error = %chain(&e), "no summary"),
    }
}

/// Sends the replica's edit results.
pub(crate) async fn send_edit_results(deps: &Deps, replica: LocalReplicaId) {
    match deps.with_store(move |s| s.edit_results(replica)).await {
        Ok(rows) => deps.events.send(Event::EditResultsReady {
            replica,
            rows: Arc::from(rows),
        }),
        Err(e) => {
            tracing::warn!(replica = %replica, error = %chain(&e), "could not load edit results")
        }
    }
}

pub(crate) fn client_for(
    deps: &Deps,
    service_url: &str,
    token: Option<String>,
) -> Result<FeatureServiceClient, EngineError> {
    Ok(FeatureServiceClient::new(
        service_url,
        token.and_then(Token::new),
        deps.config.client.clone(),
    )?)
}

/// A progress callback that turns job status into [`Event::JobStatus`].
pub(crate) fn progress_events(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
) -> impl Fn(JobProgress) + Send + Sync + 'static {
    let events = deps.events.clone();
    move |p: JobProgress| {
        events.send(Event::JobStatus {
            replica,
            job: job_id,
            state: p.state,
            progress: p.fraction,
            message: p.message,
        })
    }
}

/// Resolves when the job is cancelled (never, if the runner is gone).
pub(crate) async fn cancelled(mut cancel: watch::Receiver<bool>) {
    if cancel.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn create(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    request: CreateRequest,
    cancel: watch::Receiver<bool>,
) -> Result<Done, Failed> {
    match create_inner(deps, replica, job_id, &request, cancel).await {
        Ok(done) => Ok(done),
        Err(error) => {
            // Nothing of the technician's exists yet: forget the half-made entry.
            let _ = deps.with_store(move |s| s.remove_replica(replica)).await;
            Err(Failed {
                error,
                removed: true,
            })
        }
    }
}

async fn create_inner(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    request: &CreateRequest,
    cancel: watch::Receiver<bool>,
) -> Result<Done, EngineError> {
    let client = client_for(deps, &request.service_url, request.token.clone())?;
    let path = deps
        .with_store(move |s| s.replica(replica))
        .await?
        .file_path;
    let fresh = create_replica_file(deps, &client, replica, job_id, request, &path, cancel).await?;
    let guid = fresh.guid.clone();
    let registered = deps
        .with_store(move |store| {
            store.set_replica_guid(replica, &guid)?;
            store.record_success(replica, now_ms())
        })
        .await;
    if let Err(e) = registered {
        unregister_quietly(&client, &fresh.guid).await;
        return Err(e);
    }
    Ok(Done {
        state: Some(JobState::Completed),
        downloaded: fresh.downloaded,
        ..Default::default()
    })
}

/// A replica just created on the server and written to its local file.
pub(crate) struct FreshReplica {
    pub guid: Guid,
    pub downloaded: u32,
}

/// A replica the server just created, not yet written to a file.
pub(crate) struct RequestedReplica {
    pub guid: Guid,
    definition: ReplicaDefinition,
    response: ReplicaResponse,
    service_info: crate::protocol::FeatureServiceInfo,
    pub layer_infos: Vec<LayerInfo>,
}

impl RequestedReplica {
    /// Features the createReplica reply carried.
    pub fn downloaded(&self) -> u32 {
        self.response
            .layers
            .iter()
            .map(|l| l.features.len() as u32)
            .sum()
    }

    /// Writes the replica to a new file at `path` (never overwriting; blocking).
    pub fn write_file(
        &self,
        path: &std::path::Path,
    ) -> Result<ReplicaFile, crate::geodatabase::replica_file::ReplicaFileError> {
        ReplicaFile::create(
            path,
            &self.definition,
            &self.response,
            Some(&self.service_info),
            &self.layer_infos,
        )
    }
}

/// Creates a replica on the service and writes it to a new file at `path` (never overwriting).
/// If the file cannot be written, the server replica is unregistered again.
pub(crate) async fn create_replica_file(
    deps: &Deps,
    client: &FeatureServiceClient,
    replica: LocalReplicaId,
    job_id: JobId,
    request: &CreateRequest,
    path: &std::path::Path,
    cancel: watch::Receiver<bool>,
) -> Result<FreshReplica, EngineError> {
    let requested =
        Arc::new(request_replica(deps, client, replica, job_id, request, cancel).await?);
    let written = {
        let (path, requested) = (path.to_path_buf(), requested.clone());
        tokio::task::spawn_blocking(move || requested.write_file(&path).map(drop)).await
    };
    let failure: EngineError = match written {
        Ok(Ok(())) => {
            return Ok(FreshReplica {
                guid: requested.guid.clone(),
                downloaded: requested.downloaded(),
            });
        }
        Ok(Err(e)) => e.into(),
        Err(e) => e.into(),
    };
    unregister_quietly(client, &requested.guid).await;
    Err(failure)
}

/// Asks the service for a new replica (createReplica, following an async job and downloading
/// its result) together with the service and layer properties its file caches.
pub(crate) async fn request_replica(
    deps: &Deps,
    client: &FeatureServiceClient,
    replica: LocalReplicaId,
    job_id: JobId,
    request: &CreateRequest,
    cancel: watch::Receiver<bool>,
) -> Result<RequestedReplica, EngineError> {
    let service_info = client.service_info().await?;
    let mut layer_infos: Vec<LayerInfo> = Vec::with_capacity(request.layers.len());
    for layer_id in &request.layers {
        let mut info = client.layer_info(*layer_id).await?;
        info.id = Some(*layer_id);
        layer_infos.push(info);
    }
    let mut params = CreateReplicaParams::new(&request.name, request.layers.clone());
    params.sync_model = request.sync_model;
    params.is_async = request.is_async;
    params.data_format = DataFormat::Json;
    let progress = progress_events(deps, replica, job_id);
    let results_dir = deps.dirs.results_dir();
    let result = tokio::select! {
        r = client.create_replica(&params, &results_dir, &progress) => r?,
        _ = cancelled(cancel) => return Err(EngineError::Cancelled),
    };
    let response = result.response;
    let guid = response
        .replica_id
        .clone()
        .ok_or(crate::geodatabase::replica_file::ReplicaFileError::MissingReplicaId)?;
    let definition = ReplicaDefinition {
        service_url: request.service_url.clone(),
        replica_guid: guid.clone(),
        name: request.name.clone(),
        sync_model: request.sync_model,
        direction: params
            .sync_direction
            .unwrap_or(SyncDirection::Bidirectional),
        layers: request
            .layers
            .iter()
            .map(|id| ReplicaLayer {
                layer_id: *id,
                name: layer_infos
                    .iter()
                    .find(|i| i.id == Some(*id))
                    .map(|i| i.name.clone())
                    .unwrap_or_else(|| format!("layer {id}")),
                query: params
                    .layer_queries
                    .get(&id.to_string())
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect(),
        created_ms: now_ms(),
    };
    Ok(RequestedReplica {
        guid,
        definition,
        response,
        service_info,
        layer_infos,
    })
}

/// Gives a server replica nobody can sync back to the server; failures are only logged.
pub(crate) async fn unregister_quietly(client: &FeatureServiceClient, guid: &Guid) {
    if let Err(u) = client.unregister_replica(guid).await {
        tracing::warn!(error = %chain(&u), "could not unregister a replica that is no longer used");
    }
}

async fn unregister(deps: &Deps, replica: LocalReplicaId) -> Result<Done, Failed> {
    let record = deps.with_store(move |s| s.replica(replica)).await?;
    super::reset::job::abandon_interrupted(deps, &record).await;
    if let Some(guid) = &record.replica_guid {
        let client = client_for(deps, &record.service_url, record.token.clone())?;
        client.unregister_replica(guid).await?;
    }
    // The replica file stays on disk as a backup of anything unsynced; say where.
    let path = record.file_path.clone();
    let unsynced = tokio::task::spawn_blocking(move || {
        ReplicaFile::open(&path)
            .and_then(|f| f.pending_counts())
            .map(|counts| counts.iter().map(|c| c.total()).sum::<u32>())
            .unwrap_or(0)
    })
    .await
    .unwrap_or(0);
    if unsynced > 0 {
        let message = format!(
            "unregistered with {unsynced} unsynced local edit(s); they remain in {}",
            record.file_path.display()
        );
        log(deps, Some(replica), &record.name, None, &message).await;
    }
    deps.with_store(move |s| s.remove_replica(replica)).await?;
    Ok(Done {
        state: Some(JobState::Completed),
        removed: true,
        ..Default::default()
    })
}

/// The synchronizeReplica parameters for this replica's stored generations.
fn sync_params(
    guid: &Guid,
    definition: &ReplicaDefinition,
    generations: &Generations,
    options: &SyncOptions,
    upload: Option<&Upload>,
) -> SyncReplicaParams {
    let mut params = SyncReplicaParams::new(guid.clone(), options.direction);
    params.is_async = options.is_async;
    params.data_format = DataFormat::Json;
    params.return_ids_for_adds = true;
    if let Some(upload) = upload
        && options.direction != SyncDirection::Download
    {
        params.edits = upload.edits.clone();
        params.rollback_on_failure = Some(options.rollback_on_failure);
    }
    match definition.sync_model {
        SyncModel::PerLayer => {
            params.sync_layers = definition
                .layers
                .iter()
                .map(|layer| SyncLayerSpec {
                    id: layer.layer_id,
                    server_gen: generations
                        .layer_server_gens
                        .iter()
                        .find(|(id, _)| *id == layer.layer_id)
                        .map(|(_, g)| *g),
                    server_sib_gen: None,
                    sync_direction: Some(options.direction),
                })
                .collect();
        }
        _ => params.replica_server_gen = generations.replica_server_gen,
    }
    params
}

async fn sync(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    options: SyncOptions,
    cancel: watch::Receiver<bool>,
) -> Result<Done, Failed> {
    let record = deps.with_store(move |s| s.replica(replica)).await?;
    if record.reset_required.is_none() {
        super::reset::job::finish_interrupted_switch(deps, &record).await;
    }
    if let Some(reason) = record.reset_required.clone() {
        deps.events.send(Event::ResetRequired {
            replica,
            reason: reason.clone(),
        });
        return Err(EngineError::ResetRequired { replica, reason }.into());
    }
    let guid = record
        .replica_guid
        .clone()
        .ok_or(EngineError::NotCreated { replica })?;
    let client = client_for(deps, &record.service_url, record.token.clone())?;
    let path = record.file_path.clone();
    let mut redos = 0;
    loop {
        let prepared = prepare_upload(path.clone(), options.direction).await?;
        let (definition, generations, upload) = prepared;
        let params = sync_params(&guid, &definition, &generations, &options, upload.as_ref());
        let uploaded = upload.as_ref().map_or(0, |u| u.change_count);
        deps.events.send(Event::JobStatus {
            replica,
            job: job_id,
            state: JobState::InProgress,
            progress: None,
            message: format!("synchronizing ({uploaded} local edits to send)"),
        });
        let progress = progress_events(deps, replica, job_id);
        let results_dir = deps.dirs.results_dir();
        let reply = tokio::select! {
            r = client.synchronize_replica(&params, &results_dir, &progress) => r,
            _ = cancelled(cancel.clone()) => return Err(EngineError::Cancelled.into()),
        };
        match reply {
            Ok(result) => {
                if let Some(file) = &result.sqlite_file {
                    let _ = std::fs::remove_file(file);
                    return Err(EngineError::Unsupported(
                        "the service sent a SQLite delta; syncwatch asks for JSON results".into(),
                    )
                    .into());
                }
                let upload_gen = upload.as_ref().map(|u| u.upload_gen);
                return apply_reply(
                    deps,
                    replica,
                    job_id,
                    &record.name,
                    &options,
                    upload_gen,
                    result.response,
                    result.state,
                    uploaded,
                )
                .await;
            }
            Err(e) if is_expired_result(&e) && redos < MAX_EXPIRED_RESULT_REDOS => {
                redos += 1;
                // Nothing was applied and no generation stored: redo from the old generation.
                // The resent uploads are idempotent by GlobalID on the server.
                let message = format!("{}; redoing the sync from the stored generation", chain(&e));
                log(deps, Some(replica), &record.name, None, &message).await;
            }
            Err(e) => return Err(sync_failed(deps, replica, job_id, e, path.clone()).await),
        }
    }
}

/// The result file was gone when downloaded. The service client classifies an envelope 404 as
/// `ResultExpired`; a plain HTTP 404 on the result download means the same.
fn is_expired_result(error: &crate::service::ServiceClientError) -> bool {
    error.transport_kind() == Some(TransportKind::ResultExpired)
}

/// Reads the definition and generations and, unless downloading only, marks the queued changes
/// as uploaded — one blocking step.
async fn prepare_upload(
    path: PathBuf,
    direction: SyncDirection,
) -> Result<(ReplicaDefinition, Generations, Option<Upload>), EngineError> {
    tokio::task::spawn_blocking(move || {
        let mut file = ReplicaFile::open(&path)?;
        let upload = if direction == SyncDirection::Download {
            None
        } else {
            file.begin_upload()?
        };
        Ok((file.definition()?, file.generations()?, upload))
    })
    .await?
}

#[allow(clippy::too_many_arguments)]
async fn apply_reply(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    replica_name: &str,
    options: &SyncOptions,
    upload_gen: Option<i64>,
    response: ReplicaResponse,
    state: JobState,
    uploaded: u32,
) -> Result<Done, Failed> {
    let advance = options.direction != SyncDirection::Upload;
    let (applied, layer_names, response) = deps
        .blocking(move |store| {
            let path = store.replica(replica)?.file_path;
            let mut file = ReplicaFile::open(&path)?;
            let applied: AppliedSync = file.apply_sync(upload_gen, &response, advance)?;
            let names = file.definition()?.layers;
            Ok((applied, names, response))
        })
        .await?;
    let mut server_rows = response.result_rows();
    // Servers report failures (and adds with returnIdsForAdds); an acknowledged change without a
    // row still succeeded, and its success must clear earlier failures.
    for (layer_id, global_id, kind) in &applied.acknowledged {
        let reported = server_rows
            .iter()
            .any(|r| r.layer_id == *layer_id && r.global_id.as_ref() == Some(global_id));
        if !reported {
            server_rows.push(EditResultRow {
                layer_id: *layer_id,
                object_id: None,
                global_id: Some(global_id.clone()),
                object_type: ObjectType::Feature,
                change_type: kind.change_type(),
                success: true,
                code: None,
                description: None,
            });
        }
    }
    let rows: Vec<(EditResultRow, String)> = server_rows
        .into_iter()
        .map(|row| {
            let name = layer_name(&layer_names, row.layer_id);
            (row, name)
        })
        .collect();
    let failed_edits = rows.iter().filter(|(r, _)| !r.success).count() as u32;
    let superseded = applied.superseded.clone();
    let has_results = !rows.is_empty() || !superseded.is_empty();
    deps.with_store(move |s| {
        s.record_edit_results(replica, job_id, &rows, now_ms())?;
        for (layer_id, global_id) in &superseded {
            s.clear_edit_results(replica, *layer_id, global_id)?;
        }
        s.record_success(replica, now_ms())?;
        s.clear_reset_guard(replica)
    })
    .await?;
    if failed_edits > 0 {
        let codes: Vec<String> = applied
            .refused
            .iter()
            .filter_map(|r| r.code.map(|c| c.to_string()))
            .collect();
        let message = format!(
            "{failed_edits} edit(s) refused by the server (codes {}); they stay queued until fixed or dropped",
            codes.join(", ")
        );
        log(
            deps,
            Some(replica),
            replica_name,
            applied.refused.first().and_then(|r| r.code),
            &message,
        )
        .await;
    }
    for (layer_id, global_id) in &applied.superseded {
        let message = format!(
            "the server deleted feature {global_id} in layer {layer_id}; the local edit of it was dropped (server delete wins)"
        );
        log(deps, Some(replica), replica_name, None, &message).await;
    }
    if has_results {
        send_edit_results(deps, replica).await;
    }
    let state = if failed_edits > 0 || state == JobState::CompletedWithErrors {
        JobState::CompletedWithErrors
    } else {
        JobState::Completed
    };
    Ok(Done {
        state: Some(state),
        uploaded,
        downloaded: applied.downloaded(),
        failed_edits,
        ..Default::default()
    })
}

fn layer_name(layers: &[ReplicaLayer], layer_id: i64) -> String {
    layers
        .iter()
        .find(|l| l.layer_id == layer_id)
        .map(|l| l.name.clone())
        .unwrap_or_else(|| format!("layer {layer_id}"))
}

/// Handles a failed synchronizeReplica: a replica-level error that needs a client reset marks
/// the replica; a rolled-back upload records which edit caused it. Edits stay queued either way.
async fn sync_failed(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    error: crate::service::ServiceClientError,
    path: PathBuf,
) -> Failed {
    if error.needs_client_reset() {
        let entry = error.replica_error();
        let reason = match entry {
            Some(e) => format!("{} (code {}): {}", e.title, e.code, chain(&error)),
            None => chain(&error),
        };
        let stored = reason.clone();
        if let Err(e) = deps
            .with_store(move |s| s.set_reset_required(replica, Some(&stored)))
            .await
        {
            tracing::error!(error = %chain(&e), "could not mark the replica as needing a reset");
        }
        deps.events.send(Event::ResetRequired { replica, reason });
        return EngineError::Service(error).into();
    }
    let infos = error
        .service_error()
        .map(|e| e.infos.clone())
        .unwrap_or_default();
    if !infos.is_empty() {
        if let Err(e) = record_rollback(deps, replica, job_id, infos, path).await {
            tracing::warn!(error = %chain(&e), "could not record the rolled-back edits");
        }
        send_edit_results(deps, replica).await;
    }
    EngineError::Service(error).into()
}

/// A rolled-back sync (`rollbackOnFailure=true`): the `infos` name the failed edits.
async fn record_rollback(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    infos: Vec<crate::protocol::ErrorInfo>,
    path: PathBuf,
) -> Result<(), EngineError> {
    deps.blocking(move |store| {
        let mut file = ReplicaFile::open(&path)?;
        let layers = file.definition()?.layers;
        let named: Vec<Guid> = infos.iter().filter_map(|i| i.object_guid.clone()).collect();
        let changes = file.changes()?;
        let mut rows = Vec::new();
        let mut layer_rows = Vec::new();
        for info in &infos {
            match (&info.object_guid, info.layer_id) {
                (Some(global_id), layer_id) => {
                    let change = changes.iter().find(|c| {
                        &c.global_id == global_id && layer_id.is_none_or(|l| l == c.layer_id)
                    });
                    if let Some(change) = change {
                        rows.push((
                            rollback_row(info, change),
                            layer_name(&layers, change.layer_id),
                        ));
                    }
                }
                // A layer-level entry (2000 "Edits to layer N rolled back") names no feature: it
                // applies to every queued change of that layer the server did not name itself.
                (None, Some(layer_id)) => {
                    for change in changes
                        .iter()
                        .filter(|c| c.layer_id == layer_id && !named.contains(&c.global_id))
                    {
                        layer_rows
                            .push((rollback_row(info, change), layer_name(&layers, layer_id)));
                    }
                }
                (None, None) => {}
            }
        }
        // Only the refusals that name a feature mark the change in the file; a layer-level
        // rollback keeps each change's own last error there.
        let plain: Vec<EditResultRow> = rows.iter().map(|(r, _)| r.clone()).collect();
        file.record_refusals(&plain)?;
        rows.extend(layer_rows);
        store.record_edit_results(replica, job_id, &rows, now_ms())?;
        Ok(())
    })
    .await
}

/// The edit-result row of a rolled-back sync's `infos` entry for one queued change.
fn rollback_row(
    info: &crate::protocol::ErrorInfo,
    change: &crate::geodatabase::replica_file::LocalChange,
) -> EditResultRow {
    EditResultRow {
        layer_id: change.layer_id,
        object_id: None,
        global_id: Some(change.global_id.clone()),
        object_type: ObjectType::from_code(info.object_type.unwrap_or(0))
            .unwrap_or(ObjectType::Feature),
        change_type: match change.kind {
            ChangeKind::Add => ChangeType::Insert,
            ChangeKind::Update => ChangeType::Update,
            ChangeKind::Delete => ChangeType::Delete,
        },
        success: false,
        code: info.error_code,
        description: Some(info.description.clone()),
    }
}
