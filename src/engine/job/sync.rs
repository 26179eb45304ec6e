//! The sync job up to the server's reply: refuses a replica that needs a client reset, refreshes
//! the cached rules, predicts refusals and marks the upload (one blocking step), builds the
//! synchronizeReplica parameters (after the conflict step, [`super::conflicts`], which holds
//! conflicting edits back), sends them and fetches the reply's attachments. Applying the
//! reply is [`super::sync_reply`]'s; a failed call is [`super::rollback`]'s.

use super::create::refresh_rules;
use super::data_format::data_format;
use super::report::{cancelled, log, predicted_rows, progress_events, replica_client};
use super::rollback::sync_failed;
use super::sync_params::sync_params;
use super::sync_reply::{Sent, apply_reply};
use super::sync_result::SyncReplyBody;
use super::{Done, Failed, conflicts, reset};
use crate::engine::api::{
    EditResultRecord, Event, JobId, LocalReplicaId, PredictedPolicy, SyncOptions,
};
use crate::engine::error::{EngineError, chain};
use crate::engine::{Deps, attachment_transfer, prediction};
use crate::geodatabase::replica_file::{
    ChangeKey, Generations, Refusal, ReplicaDefinition, ReplicaFile, Upload,
};
use crate::protocol::catalog::TransportKind;
use crate::protocol::{FeatureServiceInfo, JobState, SyncDirection};
use std::path::PathBuf;
use tokio::sync::watch;

/// How often a sync is redone from the stored generation when its result expired before download.
const MAX_EXPIRED_RESULT_REDOS: u32 = 2;

pub(super) async fn sync(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    options: SyncOptions,
    cancel: watch::Receiver<bool>,
) -> Result<Done, Failed> {
    let record = deps.with_store(move |s| s.replica(replica)).await?;
    if record.reset_reason.is_none() {
        reset::finish_interrupted_switch(deps, &record).await;
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
    let client = replica_client(deps, &record).await?;
    let path = record.file_path.clone();
    refresh_rules(&client, &guid, &path).await?;
    let policy = deps
        .with_store(move |s| s.predicted_policy(replica))
        .await?;
    // Conflicts first: a download-only sync, then the comparison; held edits stay queued.
    let detected = if options.direction == SyncDirection::Download {
        conflicts::Detected::default()
    } else {
        conflicts::detect(
            deps,
            &client,
            replica,
            job_id,
            &record.name,
            &guid,
            path.clone(),
            &options,
            cancel.clone(),
        )
        .await?
    };
    let mut redos = 0;
    loop {
        let prepared = prepare_upload(
            path.clone(),
            options.direction,
            policy,
            detected.held.clone(),
        )
        .await?;
        let Prepared {
            definition,
            generations,
            upload,
            predictions,
            predicted_rows,
            service,
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
        let format = data_format(deps.config.download_format, service.as_ref());
        let params = sync_params(&guid, &definition, &generations, &options, upload, format);
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
            r = client.synchronize_replica_to_file(&params, &results_dir, &progress) => r,
            _ = cancelled(cancel.clone()) => return Err(EngineError::Cancelled.into()),
        };
        match reply {
            Ok(result) => {
                let state = result.state.clone();
                let body = SyncReplyBody::read(&client, result, &results_dir, &progress).await?;
                // Attachment data by URL is fetched before anything is applied: a failed
                // download leaves the replica exactly as it was (the sync can simply run again).
                let wanted = attachment_transfer::by_url(&body.response);
                let fetched = tokio::select! {
                    r = attachment_transfer::fetch(&client, &wanted, &results_dir) => r?,
                    _ = cancelled(cancel.clone()) => return Err(EngineError::Cancelled.into()),
                };
                let sent = Sent {
                    upload_gen,
                    count: uploaded,
                    predictions,
                };
                let mut done = apply_reply(
                    deps,
                    replica,
                    job_id,
                    &record.name,
                    &options,
                    sent,
                    body,
                    state,
                    fetched,
                )
                .await?;
                done.downloaded += detected.downloaded;
                done.held_conflicts = detected.held.len() as u32;
                if done.held_conflicts > 0 {
                    done.state = Some(JobState::CompletedWithErrors);
                }
                return Ok(done);
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
    /// The service's properties as just refreshed (which result format it can give).
    service: Option<FeatureServiceInfo>,
}

/// Reads the definition and generations, predicts the queued changes' refusals and, unless
/// downloading only, marks the changes the policy sends as uploaded — one blocking step.
async fn prepare_upload(
    path: PathBuf,
    direction: SyncDirection,
    policy: PredictedPolicy,
    held_conflicts: Vec<ChangeKey>,
) -> Result<Prepared, EngineError> {
    tokio::task::spawn_blocking(move || {
        let mut file = ReplicaFile::open(&path)?;
        let predictions = prediction::predict_and_store(&mut file)?;
        let predicted_rows = predicted_rows(&file, &predictions)?;
        let mut predictions = predictions;
        let upload = if direction == SyncDirection::Download {
            None
        } else {
            let mut plan = prediction::plan(&file, policy, &predictions)?;
            plan.held.extend(held_conflicts);
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
            service: file.service_info()?,
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
