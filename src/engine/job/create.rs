//! The create job: asks the service for a new replica (createReplica, its async job, its
//! attachments by URL, the service and layer properties the file caches) and writes the replica
//! file, never overwriting. A create that fails forgets its half-made entry and gives the server
//! replica back. Each createReplica is a recorded `CreateAttempt`, so a killed create is cleaned
//! up by the next one (`interrupted_create`). Also refreshes the cached rules before a sync.
//! Client resets reuse [`request_replica`] and [`RequestedReplica`] for their fresh replica.

use super::crash_point::crash_point;
use super::data_format::data_format;
use super::interrupted_create::{self, CreateLock};
use super::replica_ingest::{self, ResultFormat, download_again, worth_downloading_again};
use super::report::{
    cancelled, client_for, log_unreadable_features, progress_events, signed_in_client,
};
use super::{Done, Failed};
use crate::engine::api::{CreateRequest, JobId, LocalReplicaId};
use crate::engine::error::{EngineError, chain};
use crate::engine::{Deps, attachment_transfer, now_ms};
use crate::geodatabase::replica_file::{
    AttachmentSetup, ReplicaDefinition, ReplicaFile, ReplicaLayer, StagedFile,
};
use crate::protocol::{
    AttachmentsSyncDirection, CreateReplicaParams, Guid, JobState, LayerInfo, ReplicaResponse,
    SyncDirection,
};
use crate::service::{
    CreateAttempt, FeatureServiceClient, JobProgress, JsonResultFile, merge_status_into_result,
};
use std::sync::Arc;
use tokio::sync::watch;

pub(super) async fn create(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    request: CreateRequest,
    cancel: watch::Receiver<bool>,
) -> Result<Done, Failed> {
    let path = deps
        .with_store(move |s| s.replica(replica))
        .await?
        .file_path;
    // Another syncwatch working on this create keeps its entry: nothing here is ours to forget.
    let _lock = CreateLock::take(&path, &request.name)?;
    if deps
        .with_store(move |s| s.replica(replica))
        .await?
        .replica_guid
        .is_some()
    {
        // Another syncwatch took this create over and finished it while this job waited.
        return Err(EngineError::Unsupported(format!(
            "the replica {:?} was created meanwhile",
            request.name
        ))
        .into());
    }
    let earlier = interrupted_create::earlier_attempts(deps, replica).await?;
    let client = match &request.token {
        // A token given with the request is what the technician chose for this replica.
        Some(_) => client_for(deps, &request.service_url, request.token.clone()),
        None => signed_in_client(deps, replica, &request.service_url, None).await,
    };
    let client = match client {
        Ok(client) => client,
        Err(error) => return Err(forget(deps, replica, error).await),
    };
    if !earlier.is_empty() {
        // What a killed create left is given back first; if that fails the entry stays (with
        // its attempts) for the next run.
        interrupted_create::clean_up(&client, &earlier, &path).await?;
    }
    match create_inner(deps, &client, replica, job_id, &request, &path, cancel).await {
        Ok(done) => {
            interrupted_create::give_back_late(&client, &earlier).await;
            let _ = deps
                .with_store(move |s| s.clear_create_attempts(replica))
                .await;
            Ok(done)
        }
        Err(error) => Err(forget(deps, replica, error).await),
    }
}

/// Nothing of the technician's exists yet: the half-made entry is forgotten.
async fn forget(deps: &Deps, replica: LocalReplicaId, error: EngineError) -> Failed {
    let secrets = deps.secrets.clone();
    let _ = deps
        .with_store(move |s| {
            crate::engine::secrets::forget_replica_token(s, &secrets, replica);
            s.remove_replica(replica)
        })
        .await;
    Failed {
        error,
        removed: true,
    }
}

async fn create_inner(
    deps: &Deps,
    client: &FeatureServiceClient,
    replica: LocalReplicaId,
    job_id: JobId,
    request: &CreateRequest,
    path: &std::path::Path,
    cancel: watch::Receiver<bool>,
) -> Result<Done, EngineError> {
    // Recorded before the request is sent: a kill from here on leaves the name its replica has.
    let attempt = CreateAttempt::new(&request.name);
    let service_name = attempt.service_name();
    deps.with_store(move |s| s.record_create_attempt(replica, &service_name))
        .await?;
    let requested = request_replica_as(deps, client, replica, job_id, request, &attempt, cancel);
    let requested = requested.await?;
    crash_point("create-requested");
    let fresh = write_replica_file(client, requested, path).await?;
    crash_point("create-written");
    let guid = fresh.guid.clone();
    let registered = deps
        .with_store(move |store| {
            store.set_replica_guid(replica, &guid)?;
            store.record_success(replica, now_ms())
        })
        .await;
    if let Err(e) = registered {
        unregister_quietly(client, &fresh.guid).await;
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
    /// The work area it was made for, kept in its file.
    area: crate::model::WorkArea,
    definition: ReplicaDefinition,
    /// The reply; without its features when they were staged while read (`staged`).
    response: ReplicaResponse,
    /// The features, already in a staged replica file (a JSON result read as a stream).
    staged: Option<std::sync::Mutex<StagedFile>>,
    /// Features and attachments the reply carried.
    downloaded: u32,
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
        self.downloaded
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
        let mut file = match &self.staged {
            Some(staged) => {
                let mut staged = staged
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                ReplicaFile::create_from_staged(
                    path,
                    &mut staged,
                    &self.definition,
                    &self.response,
                    Some(&self.service_info),
                    &self.layer_infos,
                    &setup,
                )?
            }
            None => ReplicaFile::create_with_attachments(
                path,
                &self.definition,
                &self.response,
                Some(&self.service_info),
                &self.layer_infos,
                &setup,
            )?,
        };
        if let Some(editor) = &self.editor {
            file.set_editor(editor)?;
        }
        file.set_work_area(&self.area)?;
        Ok(file)
    }
}

/// Writes a replica the service just created to a new file at `path` (never overwriting). If
/// the file cannot be written, the server replica is unregistered again.
async fn write_replica_file(
    client: &FeatureServiceClient,
    requested: RequestedReplica,
    path: &std::path::Path,
) -> Result<FreshReplica, EngineError> {
    let requested = Arc::new(requested);
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
    let attempt = CreateAttempt::new(&request.name);
    request_replica_as(deps, client, replica, job_id, request, &attempt, cancel).await
}

/// [`request_replica`] as a given attempt (its service name is the replica's `replicaName`).
async fn request_replica_as(
    deps: &Deps,
    client: &FeatureServiceClient,
    replica: LocalReplicaId,
    job_id: JobId,
    request: &CreateRequest,
    attempt: &CreateAttempt,
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
    params.data_format = data_format(deps.config.download_format, Some(&service_info));
    let scope = &request.scope;
    params.layer_queries = request
        .layers
        .iter()
        .map(|id| (id.to_string(), scope.layer_query(*id)))
        .collect();
    if let Some(area) = scope.area.geometry() {
        params.geometry = Some(area.geometry);
        params.geometry_type = Some(area.geometry_type.to_string());
        params.in_sr = area.in_sr;
    }
    // Attachments come along (their data by URL, fetched one by one) and sync both ways.
    let attachments = if scope.attachments && layer_infos.iter().any(|l| l.has_attachments) {
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
        r = client.create_replica_to_file_as(attempt, &params, &results_dir, &progress) => r?,
        _ = cancelled(cancel) => return Err(EngineError::Cancelled),
    };
    let downloaded = match (result.json_file, result.sqlite_file) {
        (Some(json), _) => Some(Downloaded::Json(json)),
        (None, Some(path)) => Some(Downloaded::Delta(path, result.sqlite_url)),
        (None, None) => None,
    };
    let (response, staged, features) = match downloaded {
        Some(file) => {
            read_result_file(client, result.response, file, &results_dir, progress).await?
        }
        None => {
            let features = result
                .response
                .layers
                .iter()
                .map(|l| l.features.len() as u64)
                .sum();
            (result.response, None, features)
        }
    };
    let attachment_count: usize = response.layers.iter().map(|l| l.attachments.len()).sum();
    let downloaded = u32::try_from(features + attachment_count as u64).unwrap_or(u32::MAX);
    log_unreadable_features(deps, replica, &request.name, &response).await;
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
        area: request.scope.area.clone(),
        definition,
        response,
        staged: staged.map(std::sync::Mutex::new),
        downloaded,
        service_info,
        layer_infos,
        attachments,
        fetched,
        editor,
    })
}

/// A createReplica result left on disk.
enum Downloaded {
    Json(JsonResultFile),
    /// A SQLite result (a syncwatch delta, or refused) and where it came from.
    Delta(std::path::PathBuf, Option<String>),
}

/// Reads a result left on disk (JSON, or a SQLite delta) into a staged replica file, as a
/// stream (bounded memory), and completes it with what the reply and the job's status said. A
/// file that does not read (cut short by a proxy) is fetched again, twice at most; if it still
/// cannot be read (or a SQLite result is not a delta), the replica the service made is given
/// back (when its id is known).
async fn read_result_file(
    client: &FeatureServiceClient,
    status: ReplicaResponse,
    result: Downloaded,
    results_dir: &std::path::Path,
    progress: impl Fn(JobProgress) + Send + Sync + 'static,
) -> Result<(ReplicaResponse, Option<StagedFile>, u64), EngineError> {
    let progress = Arc::new(progress);
    let (mut path, format, url) = match result {
        Downloaded::Json(json) => (json.path, ResultFormat::Json, Some(json.url)),
        Downloaded::Delta(path, url) => (path, ResultFormat::Delta, url),
    };
    let mut attempt = 0;
    let read = loop {
        let staging = results_dir.join(format!("{}.staged", Guid::new_v4().bare()));
        let report = progress.clone();
        let read = tokio::task::spawn_blocking(move || {
            replica_ingest::ingest(&path, format, &staging, report.as_ref())
        })
        .await
        .map_err(EngineError::from)
        .and_then(|r| r);
        match (read, &url) {
            (Err(e), Some(url)) if attempt < 2 && worth_downloading_again(&e) => {
                tracing::info!(attempt, error = %chain(&e), "the result file does not read; downloading it again");
                attempt += 1;
                match download_again(client, format, url, results_dir, progress.as_ref()).await {
                    Ok(again) => path = again,
                    Err(e) => break Err(e.into()),
                }
            }
            (other, _) => break other,
        }
    };
    match read {
        Ok((mut streamed, staged)) => {
            merge_status_into_result(&mut streamed.response, &status);
            let features = streamed.feature_count();
            Ok((streamed.response, Some(staged), features))
        }
        Err(e) => {
            if let Some(guid) = &status.replica_id {
                unregister_quietly(client, guid).await;
            }
            Err(e)
        }
    }
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
pub(super) async fn refresh_rules(
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
