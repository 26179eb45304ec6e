//! The client-reset job (DESIGN.md §3, seed 000). Order of work, so a crash at any point leaves
//! either the old replica with its unsynced changes or a verified backup:
//! 1. the reset guard decides whether this reset may run (no loops);
//! 2. the replica file is backed up and the backup re-read ([`super::backup`]); `BeforeReset`;
//! 3. the guard record is written; a fresh replica is created into a NEW file;
//! 4. recover: the old file's changes are replayed onto the fresh file by the seed's rules
//!    ([`super::replay`]); discard: nothing is replayed (the changes stay in the backup);
//! 5. one store update switches the registry to the fresh file; only then is the old file moved
//!    into the backup folder and the old server replica unregistered;
//! 6. `AfterRecovery` / `AfterDiscard`; a recovery then queues a sync to upload what it replayed.
//!
//! A failed step falls back as the seed says (RecoverOrDiscard → Discard → Manual; Recover →
//! Manual; Discard → Manual): the fresh file and server replica are given back, and a manual
//! fallback waits for the user (`ManualResetFallback` + `ResetAwaitingConfirmation`).

use super::backup::{Backup, back_up, new_recovery_dir};
use super::guard::{self, GuardDecision, Strategy};
use super::replay::{replay_attachments, replay_into};
use crate::engine::api::{
    CreateRequest, Event, JobId, LayerChangeCounts, LocalReplicaId, ResetMode, ResetPlan,
    ResetReport,
};
use crate::engine::error::{EngineError, chain};
use crate::engine::jobs::{self, Done, Failed, FreshReplica};
use crate::engine::{Deps, now_ms};
use crate::geodatabase::replica_file::ReplicaFile;
use crate::protocol::JobState;
use crate::store::{ReplicaRecord, ResetGuard};
use std::path::PathBuf;
use tokio::sync::watch;

/// Runs a reset of `replica` in `mode` (`confirmed`: the user confirmed a manual reset).
pub(crate) async fn run(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    mode: ResetMode,
    confirmed: bool,
    cancel: watch::Receiver<bool>,
) -> Result<Done, Failed> {
    let record = deps.with_store(move |s| s.replica(replica)).await?;
    let reason = record
        .reset_required
        .clone()
        .unwrap_or_else(|| "requested by the technician".to_string());
    let previous = deps.with_store(move |s| s.reset_guard(replica)).await?;
    let decision = if confirmed {
        GuardDecision::Proceed(ResetMode::Manual)
    } else {
        guard::check(previous.as_ref(), mode)
    };
    let effective = match decision {
        GuardDecision::Proceed(m) => m,
        GuardDecision::DowngradeToDiscard => {
            let message =
                "a previous recovery was not yet proven by a sync: this reset discards instead";
            jobs::log(deps, Some(replica), &record.name, None, message).await;
            ResetMode::Discard
        }
        GuardDecision::FallBackToManual(why) => {
            return Err(fall_back_to_manual(deps, &record, &reason, why).await);
        }
    };
    if effective == ResetMode::Manual && !confirmed {
        let plan = plan(deps, &record, ResetMode::Manual, &reason).await?;
        deps.events.send(Event::ResetAwaitingConfirmation {
            plan,
            fallback_error: None,
        });
        return Ok(Done {
            state: Some(JobState::Running("AwaitingConfirmation".into())),
            ..Default::default()
        });
    }

    let mut plan = plan(deps, &record, effective, &reason).await?;
    let backup = make_backup(deps, &record, &reason).await?;
    plan.backup_dir = backup.dir.clone();
    deps.events.send(Event::BeforeReset { plan: plan.clone() });
    jobs::log(
        deps,
        Some(replica),
        &record.name,
        None,
        &format!(
            "client reset ({}) started: {reason}; backup in {}",
            effective.label(),
            backup.dir.display()
        ),
    )
    .await;

    let strategies: &[Strategy] = match effective {
        ResetMode::RecoverOrDiscard => &[Strategy::Recover, Strategy::Discard],
        ResetMode::Recover => &[Strategy::Recover],
        ResetMode::Discard | ResetMode::Manual => &[Strategy::Discard],
    };
    let mut last_error = String::new();
    for &strategy in strategies {
        write_guard(deps, replica, strategy, &reason).await?;
        match attempt(deps, &record, job_id, strategy, &backup, cancel.clone()).await {
            Ok(report) => {
                let then_sync = strategy == Strategy::Recover && !report.recovered.is_empty();
                let event = match strategy {
                    Strategy::Recover => Event::AfterRecovery { report },
                    Strategy::Discard => Event::AfterDiscard { report },
                };
                deps.events.send(event);
                return Ok(Done {
                    state: Some(JobState::Completed),
                    then_sync,
                    ..Default::default()
                });
            }
            Err(EngineError::Cancelled) => return Err(EngineError::Cancelled.into()),
            Err(e) => {
                last_error = chain(&e);
                let message = format!("{} failed: {last_error}", strategy_label(strategy));
                jobs::log(deps, Some(replica), &record.name, None, &message).await;
            }
        }
    }
    Err(fall_back_to_manual(deps, &record, &reason, last_error).await)
}

fn strategy_label(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Recover => "recovery",
        Strategy::Discard => "discard",
    }
}

async fn write_guard(
    deps: &Deps,
    replica: LocalReplicaId,
    strategy: Strategy,
    reason: &str,
) -> Result<(), EngineError> {
    let guard = ResetGuard {
        local_id: replica,
        mode: strategy.as_mode(),
        at_ms: now_ms(),
        reason: reason.to_string(),
    };
    deps.with_store(move |s| s.set_reset_guard(&guard)).await
}

/// What the reset will do: counts of unsynced changes by layer and kind, the fallback chain.
pub(crate) async fn plan(
    deps: &Deps,
    record: &ReplicaRecord,
    mode: ResetMode,
    reason: &str,
) -> Result<ResetPlan, EngineError> {
    let path = record.file_path.clone();
    let counts = tokio::task::spawn_blocking(move || -> Result<_, EngineError> {
        let file = ReplicaFile::open(&path)?;
        let layers = file.definition()?.layers;
        let counts = file.pending_counts()?;
        Ok(counts
            .into_iter()
            .map(|c| LayerChangeCounts {
                layer_id: c.layer_id,
                layer_name: layers
                    .iter()
                    .find(|l| l.layer_id == c.layer_id)
                    .map(|l| l.name.clone())
                    .unwrap_or_else(|| format!("layer {}", c.layer_id)),
                adds: c.adds,
                updates: c.updates,
                deletes: c.deletes,
            })
            .collect::<Vec<_>>())
    })
    .await??;
    Ok(ResetPlan {
        replica: record.local_id,
        replica_name: record.name.clone(),
        reason: reason.to_string(),
        mode,
        fallback_chain: mode.fallback_chain().to_vec(),
        changes: counts,
        backup_dir: deps.dirs.recovery_dir(),
    })
}

async fn make_backup(
    deps: &Deps,
    record: &ReplicaRecord,
    reason: &str,
) -> Result<Backup, EngineError> {
    let root = deps.dirs.recovery_dir();
    let (path, name, reason) = (
        record.file_path.clone(),
        record.name.clone(),
        reason.to_string(),
    );
    tokio::task::spawn_blocking(move || -> Result<Backup, EngineError> {
        let file = ReplicaFile::open(&path)?;
        let dir = new_recovery_dir(&root, &name, chrono::Utc::now())
            .map_err(|e| EngineError::Reset(chain(&e)))?;
        back_up(&file, &dir, &name, &reason).map_err(|e| EngineError::Reset(chain(&e)))
    })
    .await?
}

/// One strategy: a fresh replica (replayed onto for recovery), then the switch.
async fn attempt(
    deps: &Deps,
    record: &ReplicaRecord,
    job_id: JobId,
    strategy: Strategy,
    backup: &Backup,
    cancel: watch::Receiver<bool>,
) -> Result<ResetReport, EngineError> {
    let replica = record.local_id;
    let old_path = record.file_path.clone();
    let (definition, old_changes, old_attachments) = {
        let path = old_path.clone();
        tokio::task::spawn_blocking(move || -> Result<_, EngineError> {
            let file = ReplicaFile::open(&path)?;
            let queued: Vec<_> = file
                .attachments(None)?
                .into_iter()
                .filter(|a| a.pending.is_some())
                .collect();
            Ok((file.definition()?, file.changes()?, queued))
        })
        .await??
    };
    let request = CreateRequest {
        service_url: record.service_url.clone(),
        token: record.token.clone(),
        name: record.name.clone(),
        layers: definition.layers.iter().map(|l| l.layer_id).collect(),
        sync_model: definition.sync_model,
        is_async: true,
    };
    let client = jobs::client_for(deps, &record.service_url, record.token.clone())?;
    let fresh_path = deps.dirs.reset_file_path(replica, &record.name, now_ms());
    let fresh = jobs::create_replica_file(
        deps,
        &client,
        replica,
        job_id,
        &request,
        &fresh_path,
        cancel,
    )
    .await?;
    let outcome = match strategy {
        Strategy::Recover => {
            replay(
                &old_path,
                &fresh_path,
                old_changes.clone(),
                fresh.layer_infos.clone(),
            )
            .await
        }
        Strategy::Discard => Ok((Vec::new(), Vec::new())),
    };
    let (recovered, mut discarded) = match outcome {
        Ok(lists) => lists,
        Err(e) => {
            give_back(&client, &fresh, &fresh_path).await;
            return Err(e);
        }
    };
    if strategy == Strategy::Discard {
        discarded = old_changes
            .iter()
            .map(|c| crate::engine::api::ObjectOutcome {
                layer_id: c.layer_id,
                global_id: c.global_id.clone(),
                change_type: c.kind.change_type(),
                note: "discarded; kept in the backup".into(),
            })
            .collect();
        discarded.extend(old_attachments.iter().filter_map(|a| {
            Some(crate::engine::api::ObjectOutcome {
                layer_id: a.layer_id,
                global_id: a.global_id.clone(),
                change_type: a.pending?.change_type(),
                note: "attachment edit discarded; kept in the backup".into(),
            })
        }));
    }
    if let Err(e) = switch(deps, replica, &fresh, &fresh_path).await {
        give_back(&client, &fresh, &fresh_path).await;
        return Err(e);
    }
    // The registry now points at the fresh file: the old one moves into the backup folder.
    let kept_original = backup.dir.join("replica-original.replica");
    if let Err(e) = std::fs::rename(&old_path, &kept_original) {
        tracing::warn!(error = %e, "could not move the old replica file into the backup folder; it stays where it was");
    }
    if let Some(old_guid) = &record.replica_guid {
        jobs::unregister_quietly(&client, old_guid).await;
    }
    Ok(ResetReport {
        replica,
        mode_used: strategy.as_mode(),
        recovered,
        discarded,
        backup_files: vec![backup.replica_copy.clone(), backup.changes_export.clone()],
    })
}

type Outcomes = (
    Vec<crate::engine::api::ObjectOutcome>,
    Vec<crate::engine::api::ObjectOutcome>,
);

async fn replay(
    old_path: &std::path::Path,
    fresh_path: &std::path::Path,
    old_changes: Vec<crate::geodatabase::replica_file::LocalChange>,
    layer_infos: Vec<crate::protocol::LayerInfo>,
) -> Result<Outcomes, EngineError> {
    let (old, path) = (old_path.to_path_buf(), fresh_path.to_path_buf());
    tokio::task::spawn_blocking(move || -> Result<Outcomes, EngineError> {
        let mut fresh = ReplicaFile::open(&path)?;
        let mut plan = replay_into(&old_changes, &mut fresh, &layer_infos)
            .map_err(|e| EngineError::Reset(chain(&e)))?;
        let old = ReplicaFile::open(&old)?;
        let (recovered, discarded) = replay_attachments(&old, &mut fresh)?;
        plan.recovered.extend(recovered);
        plan.discarded.extend(discarded);
        Ok((plan.recovered, plan.discarded))
    })
    .await?
}

/// One store update: the fresh file and replicaID become the replica's; "reset required" clears.
async fn switch(
    deps: &Deps,
    replica: LocalReplicaId,
    fresh: &FreshReplica,
    fresh_path: &std::path::Path,
) -> Result<(), EngineError> {
    let (guid, path) = (fresh.guid.clone(), fresh_path.to_path_buf());
    deps.with_store(move |s| s.switch_replica_file(replica, &path, &guid))
        .await
}

/// Undoes a fresh replica that will not be used: unregister it and delete its file.
async fn give_back(
    client: &crate::service::FeatureServiceClient,
    fresh: &FreshReplica,
    fresh_path: &std::path::Path,
) {
    jobs::unregister_quietly(client, &fresh.guid).await;
    let path: PathBuf = fresh_path.to_path_buf();
    if let Err(e) = std::fs::remove_file(&path) {
        tracing::warn!(error = %e, path = %path.display(), "could not delete an unused fresh replica file");
    }
}

/// Every automatic path failed (or the guard stopped a loop): wait for the user.
async fn fall_back_to_manual(
    deps: &Deps,
    record: &ReplicaRecord,
    reason: &str,
    error: String,
) -> Failed {
    let replica = record.local_id;
    deps.events.send(Event::ManualResetFallback {
        replica,
        error: error.clone(),
    });
    match plan(deps, record, ResetMode::Manual, reason).await {
        Ok(plan) => deps.events.send(Event::ResetAwaitingConfirmation {
            plan,
            fallback_error: Some(error.clone()),
        }),
        Err(e) => tracing::warn!(error = %chain(&e), "could not plan the manual reset"),
    }
    let message = format!("automatic client reset fell back to manual: {error}");
    jobs::log(deps, Some(replica), &record.name, None, &message).await;
    EngineError::Reset(format!("fell back to manual: {error}")).into()
}
