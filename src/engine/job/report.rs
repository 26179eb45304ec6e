//! What jobs (and the runner) tell the outside while they work: the sync error log, replica
//! summaries, edit-result snapshots (with predicted refusals), progress events, and the small
//! helpers every job uses to reach its service and name layers. Sends and records only; it runs
//! no job step of its own.

use crate::engine::api::{
    AttachmentDetail, CommandId, EditResultRecord, Event, JobId, LocalReplicaId, LogEntry,
};
use crate::engine::error::{EngineError, chain};
use crate::engine::{Deps, now_ms, prediction, summary};
use crate::geodatabase::replica_file::{Refusal, ReplicaFile, ReplicaLayer};
use crate::protocol::{Guid, ObjectType, ReplicaResponse};
use crate::service::{FeatureServiceClient, JobProgress, Token};
use std::sync::Arc;
use tokio::sync::watch;

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

/// Sends the stored sync error log ([`Event::LogHistory`]); at start, before any new line.
pub(crate) async fn send_log_history(deps: &Deps) {
    match deps.with_store(|s| s.stored_log()).await {
        Ok(entries) => deps.events.send(Event::LogHistory { entries }),
        Err(e) => tracing::warn!(error = %chain(&e), "could not read the sync error log"),
    }
}

/// Answers a command that could not be carried out: [`Event::CommandFailed`] for whoever sent
/// it, and a line in the sync error log (written from a task of its own, so callers that are
/// not async can report too). A dialog's own question answers with [`answer_failed`] instead.
pub(crate) fn command_failed(
    deps: &Deps,
    command: Option<CommandId>,
    what: &str,
    error: &EngineError,
) {
    tracing::warn!(error = %chain(error), "{what} failed");
    let failure = error.to_failure();
    let message = format!("{what} failed: {}", failure.message);
    let code = failure.code;
    deps.events.send(Event::CommandFailed {
        what: what.to_owned(),
        error: failure,
        command,
    });
    log_soon(deps, None, code, message);
}

/// Answers a dialog's question that could not be answered ([`Event::CommandFailed`] only): the
/// dialog shows it, so it is no line of the sync error log (the service browser, a map preview,
/// a restore's list and preview).
pub(crate) fn answer_failed(
    deps: &Deps,
    command: Option<CommandId>,
    what: &str,
    error: &EngineError,
) {
    tracing::info!(error = %chain(error), "{what} failed");
    deps.events.send(Event::CommandFailed {
        what: what.to_owned(),
        error: error.to_failure(),
        command,
    });
}

/// [`log`] from a task of its own, for callers that are not async (the engine's own notes, a
/// command's failure, a service's outage); the replica's name is looked up.
pub(crate) fn log_soon(
    deps: &Deps,
    replica: Option<LocalReplicaId>,
    code: Option<i64>,
    message: String,
) {
    let deps = deps.clone();
    tokio::spawn(async move {
        let name = match replica {
            Some(id) => deps
                .with_store(move |s| Ok(s.replica(id)?.name))
                .await
                .unwrap_or_default(),
            None => String::new(),
        };
        log(&deps, replica, &name, code, &message).await
    });
}

/// Logs (tracing and the sync error log) every downloaded feature of `response` that could not
/// be read and was skipped, by GlobalID or by position; the rest of the download was kept.
pub(crate) async fn log_unreadable_features(
    deps: &Deps,
    replica: LocalReplicaId,
    replica_name: &str,
    response: &ReplicaResponse,
) {
    for (layer_id, feature) in response.unreadable_features() {
        let message = format!(
            "{}; it was skipped and the other features were kept",
            feature.describe(layer_id)
        );
        tracing::error!(replica = %replica, layer_id, global_id = ?feature.global_id, "{message}");
        log(deps, Some(replica), replica_name, None, &message).await;
    }
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
/// changes (checked again against the cached rules first). A failure is only logged: this is the
/// engine's own refresh after a change; a front end's request goes through
/// [`answer_edit_results`], which reports it.
pub(crate) async fn send_edit_results(deps: &Deps, replica: LocalReplicaId) {
    if let Err(e) = answer_edit_results(deps, replica).await {
        tracing::warn!(replica = %replica, error = %chain(&e), "could not load edit results");
    }
}

/// [`send_edit_results`] for a front end's request: a replica file that is missing or damaged
/// is the caller's error to report (as the command's `CommandFailed`), never silence.
pub(crate) async fn answer_edit_results(
    deps: &Deps,
    replica: LocalReplicaId,
) -> Result<(), EngineError> {
    let rows = deps
        .blocking(move |store| {
            let record = store.replica(replica)?;
            let mut rows = store.edit_results(replica)?;
            if record.replica_guid.is_some() {
                let mut file = ReplicaFile::open(&record.file_path)?;
                if rows.iter().any(|r| r.object_type == ObjectType::Attachment) {
                    describe_attachments(&file, &mut rows);
                }
                prediction::predict_and_store(&mut file)?;
                // Changes the server already refused show their real result instead.
                rows.extend(predicted_rows(&file, &file.predicted_refusals()?)?);
            }
            Ok(rows)
        })
        .await?;
    deps.events.send(Event::EditResultsReady {
        replica,
        rows: Arc::from(rows),
    });
    Ok(())
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

/// The client of a registered replica's service, with the replica's token (from the secret
/// store).
pub(crate) async fn replica_client(
    deps: &Deps,
    record: &crate::store::ReplicaRecord,
) -> Result<FeatureServiceClient, EngineError> {
    let token = crate::engine::secrets::replica_token(deps, record).await?;
    signed_in_client(deps, record.local_id, &record.service_url, token).await
}

/// The client of a replica's service: with the signed-in account of the service's server (or
/// its portal) when there is one, else with the pasted `token`. Records which account the
/// replica uses ("signed in as").
pub(crate) async fn signed_in_client(
    deps: &Deps,
    replica: LocalReplicaId,
    service_url: &str,
    token: Option<crate::model::Secret>,
) -> Result<FeatureServiceClient, EngineError> {
    let account = crate::engine::sessions::provider_for(deps, service_url).await;
    let key = account.as_ref().map(|(key, _)| key.clone());
    if let Err(e) = deps
        .with_store(move |s| s.set_replica_account(replica, key.as_ref()))
        .await
    {
        tracing::debug!(replica = %replica, error = %e, "could not record the replica's account");
    }
    match account {
        Some((_, provider)) => Ok(FeatureServiceClient::with_token_provider(
            service_url,
            provider,
            deps.client_config(),
        )?),
        None => client_for(deps, service_url, token),
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
        deps.client_config(),
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

pub(super) fn layer_name(layers: &[ReplicaLayer], layer_id: i64) -> String {
    layers
        .iter()
        .find(|l| l.layer_id == layer_id)
        .map(|l| l.name.clone())
        .unwrap_or_else(|| format!("layer {layer_id}"))
}
