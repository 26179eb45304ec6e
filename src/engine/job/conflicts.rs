//! The sync job's conflict step, before anything is uploaded (ARCHITECTURE.md, "Conflicts"):
//! when the queue holds local updates and the service has sync direction control, a
//! download-only synchronizeReplica brings the replica's server copy up to date first; then the
//! replica file compares every queued update with it and applies the replica's
//! conflict policy. What is held stays out of the upload that follows.
//!
//! What it must not do: send any local edit (the upload is [`super::sync`]'s) or drop one the
//! policy keeps. A service without sync direction control gets no download-first: its uploads
//! win as before, and the log says so once per sync.

use super::Failed;
use super::data_format::data_format;
use super::report::{cancelled, log, log_unreadable_features, progress_events};
use super::rollback::sync_failed;
use super::sync_params::sync_params;
use super::sync_result::{ApplyAs, SyncReplyBody};
use crate::engine::api::{Conflict, ConflictStatus, JobId, LocalReplicaId, SyncOptions};
use crate::engine::error::EngineError;
use crate::engine::{Deps, attachment_transfer};
use crate::geodatabase::replica_file::{ChangeKey, ChangeKind, ReplicaFile};
use crate::protocol::{Guid, SyncDirection};
use crate::service::FeatureServiceClient;
use std::path::{Path, PathBuf};
use tokio::sync::watch;

/// What the conflict step found and did.
#[derive(Debug, Default)]
pub(super) struct Detected {
    /// Changes to keep out of the upload (held conflicts).
    pub(super) held: Vec<ChangeKey>,
    /// Every conflict found (held, or settled by the policy).
    pub(super) found: Vec<Conflict>,
    /// Server changes the download-first sync applied.
    pub(super) downloaded: u32,
}

/// Whether there is anything to check, and whether the service lets a sync download only.
fn needs_check(path: &Path) -> Result<(bool, bool), EngineError> {
    let file = ReplicaFile::open(path)?;
    let updates = file.changes()?.iter().any(|c| c.kind == ChangeKind::Update);
    let control = file
        .service_info()?
        .is_some_and(|i| i.sync_capabilities.supports_sync_direction_control);
    Ok((updates, control))
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn detect(
    deps: &Deps,
    client: &FeatureServiceClient,
    replica: LocalReplicaId,
    job_id: JobId,
    replica_name: &str,
    guid: &Guid,
    path: PathBuf,
    options: &SyncOptions,
    cancel: watch::Receiver<bool>,
) -> Result<Detected, Failed> {
    let policy = deps.with_store(move |s| s.conflict_policy(replica)).await?;
    let checked = path.clone();
    let (updates, control) = tokio::task::spawn_blocking(move || needs_check(&checked))
        .await
        .map_err(EngineError::from)??;
    let mut detected = Detected::default();
    if updates && control {
        detected.downloaded = download_first(
            deps,
            client,
            replica,
            job_id,
            replica_name,
            guid,
            &path,
            options,
            cancel,
        )
        .await?;
    } else if updates {
        log(
            deps,
            Some(replica),
            replica_name,
            None,
            "this service has no sync direction control (supportsSyncDirectionControl): conflicts with newer server changes cannot be detected before uploading",
        )
        .await;
    }
    let check_path = path.clone();
    let check = tokio::task::spawn_blocking(move || {
        ReplicaFile::open(&check_path)?.check_conflicts(policy)
    })
    .await
    .map_err(EngineError::from)?
    .map_err(EngineError::from)?;
    for conflict in &check.found {
        let fields: Vec<&str> = conflict.fields.iter().map(|f| f.name.as_str()).collect();
        let what = match conflict.status {
            ConflictStatus::Held => "held until resolved",
            ConflictStatus::KeptMine => "the local values are sent (policy: keep mine)",
            ConflictStatus::TookServer => {
                "the server's values are kept (policy: take the server's)"
            }
        };
        let message = format!(
            "conflict on {} in {} ({}: {}): {what}",
            conflict.global_id,
            conflict.layer_name,
            conflict.kind.as_str(),
            fields.join(", "),
        );
        log(deps, Some(replica), replica_name, None, &message).await;
    }
    crate::engine::conflicts::send_conflicts(deps, replica).await;
    detected.held = check.held;
    detected.found = check.found;
    Ok(detected)
}

/// A download-only synchronizeReplica applied to the replica's server copy, keeping every local
/// update (a server delete does not supersede it here). Returns the server changes applied.
#[allow(clippy::too_many_arguments)]
async fn download_first(
    deps: &Deps,
    client: &FeatureServiceClient,
    replica: LocalReplicaId,
    job_id: JobId,
    replica_name: &str,
    guid: &Guid,
    path: &Path,
    options: &SyncOptions,
    cancel: watch::Receiver<bool>,
) -> Result<u32, Failed> {
    let read = path.to_path_buf();
    let (definition, generations, service) = tokio::task::spawn_blocking(move || {
        let file = ReplicaFile::open(&read)?;
        Ok::<_, EngineError>((
            file.definition()?,
            file.generations()?,
            file.service_info()?,
        ))
    })
    .await
    .map_err(EngineError::from)??;
    let download = SyncOptions {
        direction: SyncDirection::Download,
        ..options.clone()
    };
    let format = data_format(deps.config.download_format, service.as_ref());
    let params = sync_params(guid, &definition, &generations, &download, None, format);
    let progress = progress_events(deps, replica, job_id);
    let results_dir = deps.dirs.results_dir();
    let reply = tokio::select! {
        r = client.synchronize_replica_to_file(&params, &results_dir, &progress) => r,
        _ = cancelled(cancel.clone()) => return Err(EngineError::Cancelled.into()),
    };
    let result = match reply {
        Ok(result) => result,
        Err(e) => return Err(sync_failed(deps, replica, job_id, e, path.to_path_buf()).await),
    };
    let body = SyncReplyBody::read(client, result, &results_dir, &progress).await?;
    let wanted = attachment_transfer::by_url(&body.response);
    let fetched = tokio::select! {
        r = attachment_transfer::fetch(client, &wanted, &results_dir) => r?,
        _ = cancelled(cancel.clone()) => return Err(EngineError::Cancelled.into()),
    };
    let apply_path = path.to_path_buf();
    let report = progress_events(deps, replica, job_id);
    let (applied, response) = tokio::task::spawn_blocking(move || {
        let mut file = ReplicaFile::open(&apply_path)?;
        let how = ApplyAs {
            upload_gen: None,
            advance_generations: true,
            keep_local_updates: true,
        };
        let applied = body.apply(&mut file, &how, &fetched.payloads, &report)?;
        drop(fetched);
        Ok::<_, EngineError>(applied)
    })
    .await
    .map_err(EngineError::from)??;
    log_unreadable_features(deps, replica, replica_name, &response).await;
    Ok(applied.downloaded())
}
