//! The bodies of the jobs the runner schedules: create a replica, sync it, unregister it. Each
//! runs as its own tokio task, reports progress as [`Event`]s, and ends with exactly one of
//! `JobCompleted` / `JobFailed` (plus `ResetRequired` when only a client reset can help).
//!
//! Edits are sacred: an upload is marked in the replica file before it is sent, acknowledged only
//! from the server's results, and the downloaded changes and the new generation are written in one
//! transaction after the reply is complete. A cancelled or failed job leaves every edit queued.

use super::api::{
    AttachmentDetail, CreateRequest, EditResultRecord, Event, JobId, JobOutcome, LocalReplicaId,
    LogEntry, PredictedPolicy, ResetMode, SyncOptions,
};
use super::error::{EngineError, chain};
use super::{Deps, attachment_transfer, now_ms, summary, validate};
use crate::geodatabase::replica_file::{
    AppliedSync, AttachmentSetup, ChangeKind, Generations, Refusal, ReplicaDefinition, ReplicaFile,
    ReplicaLayer, Upload,
};
use crate::protocol::catalog::TransportKind;
use crate::protocol::{
    AttachmentsSyncDirection, ChangeType, CreateReplicaParams, DataFormat, EditResultRow, Guid,
    JobState, LayerInfo, ObjectType, ReplicaResponse, SyncDirection, SyncLayerSpec, SyncModel,
    SyncReplicaParams,
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

/// Sends the replica's edit results: the server's (attachment rows with what the replica file
/// knows about the attachment: name, size, parent), then the refusals predicted for queued
/// changes (checked again against the cached rules first).
pub(crate) async fn send_edit_results(deps: &Deps, replica: LocalReplicaId) {
    let loaded = deps
        .blocking(move |store| {
            let record = store.replica(replica)?;
            let mut rows = store.edit_results(replica)?;
            if record.replica_guid.is_some() {
                let mut file = ReplicaFile::open(&record.file_path)?;
                if rows.iter().any(|r| r.object_type == ObjectType::Attachment) {
                    describe_attachments(&file, &mut rows);
                }
                validate::refresh(&mut file)?;
                // Changes the server already refused show their real result instead.
                rows.extend(predicted_rows(&file, &file.predicted_refusals()?)?);
            }
            Ok(rows)
        })
        .await;
    match loaded {
        Ok(rows) => deps.events.send(Event::EditResultsReady {
            replica,
            rows: Arc::from(rows),
        }),
        Err(e) => {
            tracing::warn!(replica = %replica, error = %chain(&e), "could not load edit results")
        }
    }
}

/// Predicted refusals as edit-result rows (`predicted: true`), for the grid and the CLI.
pub(crate) fn predicted_rows(
    file: &ReplicaFile,
    predictions: &[Refusal],
) -> Result<Vec<EditResultRecord>, EngineError> {
    let layers = file.definition()?.layers;
    let now = now_ms();
    predictions
        .iter()
        .map(|p| {
            let object_id = file
                .server_feature(p.change.layer_id, &p.change.global_id)?
                .and_then(|f| f.attr_ci("objectid").and_then(|v| v.as_i64()));
            Ok(EditResultRecord {
                layer_id: p.change.layer_id,
                layer_name: layer_name(&layers, p.change.layer_id).into(),
                object_id,
                global_id: Some(p.change.global_id.clone()),
                object_type: ObjectType::Feature,
                change_type: p.kind.change_type(),
                success: false,
                code: p.code,
                description: p.description.as_str().into(),
                first_seen_ms: now,
                last_seen_ms: now,
                attempts: 0,
                predicted: true,
                attachment: None,
            })
        })
        .collect()
}

/// Fills in the attachment details of attachment rows from the replica file (rows whose
/// attachment the file no longer holds keep none).
fn describe_attachments(file: &ReplicaFile, rows: &mut [EditResultRecord]) {
    let Ok(known) = file.attachments(None) else {
        return;
    };
    let by_global_id: std::collections::HashMap<&Guid, _> =
        known.iter().map(|a| (&a.global_id, a)).collect();
    for row in rows
        .iter_mut()
        .filter(|r| r.object_type == ObjectType::Attachment)
    {
        row.attachment = row
            .global_id
            .as_ref()
            .and_then(|g| by_global_id.get(g))
            .map(|a| {
                Box::new(AttachmentDetail {
                    name: a.name.clone(),
                    content_type: a.content_type.clone(),
                    size_bytes: a.size,
                    parent_global_id: a.parent_global_id.clone(),
                })
            });
    }
}

pub(crate) fn client_for(
    deps: &Deps,
    service_url: &str,
    token: Option<crate::model::Secret>,
) -> Result<FeatureServiceClient, EngineError> {
    Ok(FeatureServiceClient::new(
        service_url,
        token.as_ref().and_then(Token::from_secret),
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
    /// How the replica syncs attachments.
    attachments: AttachmentsSyncDirection,
    /// The data of the attachments the reply gave by URL, already downloaded.
    fetched: attachment_transfer::Fetched,
    /// The user the service knows the replica's uploads by, when it said.
    editor: Option<String>,
}

impl RequestedReplica {
    /// Features and attachments the createReplica reply carried.
    pub fn downloaded(&self) -> u32 {
        self.response
            .layers
            .iter()
            .map(|l| (l.features.len() + l.attachments.len()) as u32)
            .sum()
    }

    /// Writes the replica to a new file at `path` (never overwriting; blocking).
    pub fn write_file(
        &self,
        path: &std::path::Path,
    ) -> Result<ReplicaFile, crate::geodatabase::replica_file::ReplicaFileError> {
        let setup = AttachmentSetup {
            direction: self.attachments,
            payloads: &self.fetched.payloads,
        };
        let mut file = ReplicaFile::create_with_attachments(
            path,
            &self.definition,
            &self.response,
            Some(&self.service_info),
            &self.layer_infos,
            &setup,
        )?;
        if let Some(editor) = &self.editor {
            file.set_editor(editor)?;
        }
        Ok(file)
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
    // Attachments come along (their data by URL, fetched one by one) and sync both ways.
    let attachments = if layer_infos.iter().any(|l| l.has_attachments) {
        params.return_attachments = true;
        params.return_attachments_data_by_url = true;
        if service_info
            .sync_capabilities
            .supports_attachments_sync_direction
        {
            params.attachments_sync_direction = Some(AttachmentsSyncDirection::Bidirectional);
        }
        AttachmentsSyncDirection::Bidirectional
    } else {
        AttachmentsSyncDirection::None
    };
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
    let fetched = match attachment_transfer::fetch(
        client,
        &attachment_transfer::by_url(&response),
        &results_dir,
    )
    .await
    {
        Ok(fetched) => fetched,
        Err(e) => {
            // Nobody will ever sync the replica the server just made.
            unregister_quietly(client, &guid).await;
            return Err(e);
        }
    };
    let editor = replica_owner(client, &guid).await;
    Ok(RequestedReplica {
        guid,
        definition,
        response,
        service_info,
        layer_infos,
        attachments,
        fetched,
        editor,
    })
}

/// The user the service knows the replica's uploads by (`replicaOwner`); `None` when the
/// service does not say (ownership is then not judged locally).
async fn replica_owner(client: &FeatureServiceClient, guid: &Guid) -> Option<String> {
    match client.replica_info(guid).await {
        Ok(info) => Some(info.replica_owner),
        Err(e) => {
            tracing::warn!(error = %chain(&e), "could not read the replica's owner; ownership rules are not checked locally");
            None
        }
    }
}

/// Fetches the service's root and layer resources (and the replica's owner, when not known yet)
/// and caches them in the replica file, so predictions follow the service's current rules. An
/// unreachable service fails the sync here; any other failure keeps the cached rules.
async fn refresh_rules(
    client: &FeatureServiceClient,
    guid: &Guid,
    path: &std::path::Path,
) -> Result<(), EngineError> {
    let known = {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || -> Result<_, EngineError> {
            let file = ReplicaFile::open(&path)?;
            let layer_ids: Vec<i64> = file
                .definition()?
                .layers
                .iter()
                .map(|l| l.layer_id)
                .collect();
            Ok((layer_ids, file.editor()?))
        })
        .await??
    };
    let (layer_ids, editor) = known;
    let fetched = fetch_rules(client, &layer_ids).await;
    let (service_info, layer_infos) = match fetched {
        Ok(rules) => rules,
        Err(e) if e.is_unreachable() => return Err(e),
        Err(e) => {
            tracing::warn!(error = %chain(&e), "could not refresh the service's rules; predicting from the cached ones");
            return Ok(());
        }
    };
    let editor = match editor {
        Some(_) => None,
        None => replica_owner(client, guid).await,
    };
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<(), EngineError> {
        let mut file = ReplicaFile::open(&path)?;
        file.cache_properties(&service_info, &layer_infos)?;
        if let Some(editor) = editor {
            file.set_editor(&editor)?;
        }
        Ok(())
    })
    .await?
}

async fn fetch_rules(
    client: &FeatureServiceClient,
    layer_ids: &[i64],
) -> Result<(crate::protocol::FeatureServiceInfo, Vec<LayerInfo>), EngineError> {
    let service_info = client.service_info().await?;
    let mut layer_infos = Vec::with_capacity(layer_ids.len());
    for layer_id in layer_ids {
        let mut info = client.layer_info(*layer_id).await?;
        info.id = Some(*layer_id);
        layer_infos.push(info);
    }
    Ok((service_info, layer_infos))
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
    upload: Option<Upload>,
) -> SyncReplicaParams {
    let mut params = SyncReplicaParams::new(guid.clone(), options.direction);
    params.is_async = options.is_async;
    params.data_format = DataFormat::Json;
    params.return_ids_for_adds = true;
    if let Some(upload) = upload
        && options.direction != SyncDirection::Download
    {
        // Moved, not copied: with attachments the edits can hold megabytes of base64.
        params.edits = upload.edits;
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
    if record.reset_reason.is_none() {
        super::reset::job::finish_interrupted_switch(deps, &record).await;
    }
    if let Some(reason) = record.reset_reason.clone() {
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
    refresh_rules(&client, &guid, &path).await?;
    let policy = deps
        .with_store(move |s| s.predicted_policy(replica))
        .await?;
    let mut redos = 0;
    loop {
        let prepared = prepare_upload(path.clone(), options.direction, policy).await?;
        let Prepared {
            definition,
            generations,
            upload,
            predictions,
            predicted_rows,
        } = prepared;
        if !predicted_rows.is_empty() {
            report_predictions(
                deps,
                replica,
                job_id,
                &record.name,
                policy,
                predicted_rows,
                upload.as_ref(),
            )
            .await;
        }
        let uploaded = upload.as_ref().map_or(0, |u| u.change_count);
        let upload_gen = upload.as_ref().map(|u| u.upload_gen);
        let params = sync_params(&guid, &definition, &generations, &options, upload);
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
                // Attachment data by URL is fetched before anything is applied: a failed
                // download leaves the replica exactly as it was (the sync can simply run again).
                let wanted = attachment_transfer::by_url(&result.response);
                let fetched = tokio::select! {
                    r = attachment_transfer::fetch(&client, &wanted, &results_dir) => r?,
                    _ = cancelled(cancel.clone()) => return Err(EngineError::Cancelled.into()),
                };
                let sent = Sent {
                    upload_gen,
                    count: uploaded,
                    predictions,
                };
                return apply_reply(
                    deps,
                    replica,
                    job_id,
                    &record.name,
                    &options,
                    sent,
                    result.response,
                    result.state,
                    fetched,
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

/// What a sync is about to send, and what the rules predict for it.
struct Prepared {
    definition: ReplicaDefinition,
    generations: Generations,
    upload: Option<Upload>,
    /// The predicted refusals of the changes sent as they are (not held, not trimmed): what the
    /// server's answer is compared with.
    predictions: Vec<Refusal>,
    /// Every queued change's predicted refusal, as rows for front ends.
    predicted_rows: Vec<EditResultRecord>,
}

/// Reads the definition and generations, predicts the queued changes' refusals and, unless
/// downloading only, marks the changes the policy sends as uploaded — one blocking step.
async fn prepare_upload(
    path: PathBuf,
    direction: SyncDirection,
    policy: PredictedPolicy,
) -> Result<Prepared, EngineError> {
    tokio::task::spawn_blocking(move || {
        let mut file = ReplicaFile::open(&path)?;
        let predictions = validate::refresh(&mut file)?;
        let predicted_rows = predicted_rows(&file, &predictions)?;
        let mut predictions = predictions;
        let upload = if direction == SyncDirection::Download {
            None
        } else {
            let plan = validate::plan(&file, policy, &predictions)?;
            let trimmed: std::collections::HashSet<_> =
                plan.trimmed.iter().map(|t| &t.change).collect();
            predictions.retain(|p| !trimmed.contains(&p.change));
            file.begin_upload_with(&plan)?
        };
        Ok(Prepared {
            definition: file.definition()?,
            generations: file.generations()?,
            upload,
            predictions,
            predicted_rows,
        })
    })
    .await?
}

/// Tells front ends (and the sync error log) which queued changes the rules predict the
/// service will refuse, and what the policy did with them, before anything is sent.
async fn report_predictions(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    replica_name: &str,
    policy: PredictedPolicy,
    rows: Vec<EditResultRecord>,
    upload: Option<&Upload>,
) {
    let (held, trimmed) = upload.map_or((0, 0), |u| (u.held, u.trimmed));
    let mut codes: Vec<i64> = rows.iter().filter_map(|r| r.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let codes: Vec<String> = codes.iter().map(i64::to_string).collect();
    let message = format!(
        "{} queued edit(s) predicted to be refused (codes {}); policy: {}{}",
        rows.len(),
        codes.join(", "),
        policy.label(),
        match policy {
            PredictedPolicy::Hold => format!(", {held} held back"),
            PredictedPolicy::EditableOnly => format!(", {trimmed} sent without read-only content"),
            PredictedPolicy::Send => String::new(),
        }
    );
    log(
        deps,
        Some(replica),
        replica_name,
        rows.first().and_then(|r| r.code),
        &message,
    )
    .await;
    deps.events.send(Event::FailuresPredicted {
        replica,
        job: job_id,
        policy,
        rows,
        held,
        trimmed,
    });
}

/// What an upload sent: its generation, how many changes, and the predictions made for it.
struct Sent {
    upload_gen: Option<i64>,
    count: u32,
    predictions: Vec<Refusal>,
}

/// Compares the server's answer with the prediction for every change that was sent: the real
/// result is what is kept; each difference goes to the sync error log.
async fn log_prediction_differences(
    deps: &Deps,
    replica: LocalReplicaId,
    replica_name: &str,
    predictions: &[Refusal],
    applied: &AppliedSync,
) {
    let mut refusals = std::collections::HashMap::new();
    for r in applied.refused.iter().rev() {
        refusals.insert((r.change.layer_id, &r.change.global_id), r);
    }
    let accepted: std::collections::HashSet<(i64, &Guid)> = applied
        .acknowledged
        .iter()
        .map(|(layer_id, gid, _)| (*layer_id, gid))
        .collect();
    for p in predictions {
        let key = (p.change.layer_id, &p.change.global_id);
        let refused = refusals.get(&key).copied();
        let accepted = accepted.contains(&key);
        let answer = match (refused, accepted) {
            (Some(r), _) if r.code == p.code => continue,
            (Some(r), _) => format!(
                "the server refused it with {} ({})",
                r.code
                    .map_or_else(|| "no code".to_string(), |c| c.to_string()),
                r.description
            ),
            (None, true) => "the server accepted it".to_string(),
            // Held back, or not answered: nothing to compare.
            (None, false) => continue,
        };
        let message = format!(
            "prediction differed for {} {} in layer {}: predicted {} ({}), but {answer}; the server's result is kept",
            p.kind.as_str(),
            p.change.global_id,
            p.change.layer_id,
            p.code
                .map_or_else(|| "no code".to_string(), |c| c.to_string()),
            p.description
        );
        tracing::info!(replica = %replica, predicted = p.code, "{message}");
        log(deps, Some(replica), replica_name, p.code, &message).await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn apply_reply(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    replica_name: &str,
    options: &SyncOptions,
    sent: Sent,
    response: ReplicaResponse,
    state: JobState,
    fetched: attachment_transfer::Fetched,
) -> Result<Done, Failed> {
    let advance = options.direction != SyncDirection::Upload;
    let upload_gen = sent.upload_gen;
    let uploaded = sent.count;
    let (applied, layer_names, response) = deps
        .blocking(move |store| {
            let path = store.replica(replica)?.file_path;
            let mut file = ReplicaFile::open(&path)?;
            let applied: AppliedSync = file.apply_sync_with_attachments(
                upload_gen,
                &response,
                advance,
                &fetched.payloads,
            )?;
            drop(fetched);
            // What is still queued is judged again against what the server now holds.
            validate::refresh(&mut file)?;
            let names = file.definition()?.layers;
            Ok((applied, names, response))
        })
        .await?;
    log_prediction_differences(deps, replica, replica_name, &sent.predictions, &applied).await;
    let mut server_rows = response.result_rows();
    // Servers report failures (and adds with returnIdsForAdds); an acknowledged change without a
    // row still succeeded, and its success must clear earlier failures.
    let acknowledged = applied
        .acknowledged
        .iter()
        .map(|a| (a, ObjectType::Feature))
        .chain(
            applied
                .acknowledged_attachments
                .iter()
                .map(|a| (a, ObjectType::Attachment)),
        );
    let reported: std::collections::HashSet<(i64, ObjectType, Guid)> = server_rows
        .iter()
        .filter_map(|r| Some((r.layer_id, r.object_type, r.global_id.clone()?)))
        .collect();
    for ((layer_id, global_id, kind), object_type) in acknowledged {
        if !reported.contains(&(*layer_id, object_type, global_id.clone())) {
            server_rows.push(EditResultRow {
                layer_id: *layer_id,
                object_id: None,
                global_id: Some(global_id.clone()),
                object_type,
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
            .chain(&applied.refused_attachments)
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
            applied
                .refused
                .iter()
                .chain(&applied.refused_attachments)
                .next()
                .and_then(|r| r.code),
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

/// The result row of a rollback `infos` entry naming an attachment (objectType 1), when that
/// attachment still has a queued change.
fn attachment_rollback_row(
    file: &ReplicaFile,
    info: &crate::protocol::ErrorInfo,
    global_id: &Guid,
) -> Result<Option<EditResultRow>, EngineError> {
    let Some(attachment) = file.attachment(global_id)? else {
        return Ok(None);
    };
    let Some(kind) = attachment.pending else {
        return Ok(None);
    };
    Ok(Some(EditResultRow {
        layer_id: attachment.layer_id,
        object_id: None,
        global_id: Some(global_id.clone()),
        object_type: ObjectType::Attachment,
        change_type: kind.change_type(),
        success: false,
        code: info.error_code,
        description: Some(info.description.clone()),
    }))
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
                (Some(global_id), _) if info.object_type == Some(ObjectType::Attachment.code()) => {
                    if let Some(row) = attachment_rollback_row(&file, info, global_id)? {
                        let name = layer_name(&layers, row.layer_id);
                        rows.push((row, name));
                    }
                }
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
