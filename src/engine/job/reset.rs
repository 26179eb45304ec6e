//! The client-reset job (ARCHITECTURE.md, "Client reset"): orchestrates the pure and blocking
//! steps of `engine::reset`, which knows nothing of jobs. Every step is recorded in the reset
//! journal (`store::ResetJournal`) before the step whose leftovers it names, so at every moment
//! either the old replica file with all its unsynced changes is what the registry points at, or the switch
//! to the fresh file has committed and the verified backup holds those changes too:
//! 1. the reset guard decides whether this reset may run (no loops);
//! 2. `backing-up`: the journal is written and the replica marked as needing a reset; the file is
//!    backed up and the backup re-read (`reset::backup`); `backed-up`; the backup is recorded in
//!    the store (`store::BackupRecord`, for restoring from it later); `BeforeReset`;
//! 3. the guard record is written; `creating`: a fresh replica is requested; `created`: its
//!    replicaID is recorded, then its file is written under a temporary name, a recovery replays
//!    the old file's changes onto it by ArcGIS's recovery rules (`reset::replay`), and it is
//!    renamed into place ([`super::reset_fresh`]);
//! 4. `switched`: one store transaction points the registry at the fresh file;
//! 5. the old file moves into the backup folder, the old server replica is unregistered, the
//!    journal is deleted; `AfterRecovery` / `AfterDiscard`; a recovery then queues a sync.
//!
//! Running the reset again while a journal exists resumes it: a `switched` reset finishes step 5;
//! an earlier one gives back its fresh replica (unregistered, files deleted), reuses the backup if
//! it still matches the old file, and restarts from step 3 in the same mode, without the guard
//! (the guard stops resets that *finished* and did not help, not interrupted ones).
//!
//! A failed step falls back as ArcGIS's client-reset modes say (RecoverOrDiscard → Discard →
//! Manual; Recover → Manual; Discard → Manual): the fresh replica is given back, and a manual
//! fallback waits for the user (`ManualResetFallback` + `ResetAwaitingConfirmation`).

use super::crash_point::crash_point;
use super::create::{request_replica, unregister_quietly};
use super::report::{log, replica_client, signed_in_client};
use super::reset_fresh as fresh;
use super::{Done, Failed};
use crate::engine::api::{
    CreateRequest, Event, JobId, LayerChangeCounts, LocalReplicaId, ObjectOutcome, ResetMode,
    ResetPlan, ResetReport,
};
use crate::engine::error::{EngineError, chain};
use crate::engine::reset::backup::{self, Backup, back_up, new_recovery_dir};
use crate::engine::reset::guard::{self, GuardDecision, Strategy};
use crate::engine::{Deps, now_ms};
use crate::geodatabase::replica_file::{LocalAttachment, LocalChange, ReplicaFile};
use crate::protocol::JobState;
use crate::store::{BackupRecord, ReplicaRecord, ResetGuard, ResetJournal, ResetPhase};
use std::sync::Arc;
use tokio::sync::watch;

/// Runs a reset of `replica` in `mode` (`confirmed`: the user confirmed a manual reset), or
/// resumes the replica's interrupted reset.
pub(crate) async fn run(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    mode: ResetMode,
    confirmed: bool,
    cancel: watch::Receiver<bool>,
) -> Result<Done, Failed> {
    let record = deps.with_store(move |s| s.replica(replica)).await?;
    if let Some(journal) = deps.with_store(move |s| s.reset_journal(replica)).await? {
        return resume(deps, &record, job_id, journal, cancel).await;
    }
    let reason = record
        .reset_reason
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
            log(deps, Some(replica), &record.name, None, message).await;
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
    let journal = ResetJournal {
        local_id: replica,
        mode: effective,
        strategy: None,
        reason,
        required_before: record.reset_reason.is_some(),
        phase: ResetPhase::BackingUp,
        attempts: 1,
        started_ms: now_ms(),
        old_path: record.file_path.clone(),
        old_guid: record.replica_guid.clone(),
        backup_dir: None,
        fresh_path: None,
        fresh_guid: None,
        report: None,
    };
    let started = journal.clone();
    deps.with_store(move |s| s.begin_reset(&started)).await?;
    crash_point(ResetPhase::BackingUp.as_str());
    run_journal(deps, &record, job_id, journal, cancel).await
}

/// Picks up a reset that a crash, a kill or a shutdown interrupted.
async fn resume(
    deps: &Deps,
    record: &ReplicaRecord,
    job_id: JobId,
    mut journal: ResetJournal,
    cancel: watch::Receiver<bool>,
) -> Result<Done, Failed> {
    journal.attempts += 1;
    let message = format!(
        "resuming a client reset ({}) interrupted at step {:?} (attempt {})",
        journal.mode.label(),
        journal.phase.as_str(),
        journal.attempts
    );
    log(deps, Some(record.local_id), &record.name, None, &message).await;
    if journal.phase == ResetPhase::Switched {
        return Ok(finish_switched(deps, record, journal).await);
    }
    give_back(deps, record, &mut journal).await;
    run_journal(deps, record, job_id, journal, cancel).await
}

/// Steps 2 to 5 for a started (or restarted) reset.
async fn run_journal(
    deps: &Deps,
    record: &ReplicaRecord,
    job_id: JobId,
    mut journal: ResetJournal,
    cancel: watch::Receiver<bool>,
) -> Result<Done, Failed> {
    let backup = match ensure_backup(deps, record, &mut journal).await {
        Ok(backup) => backup,
        Err(e) => {
            end_without_reset(deps, &journal).await;
            return Err(e.into());
        }
    };
    let mut plan = plan(deps, record, journal.mode, &journal.reason).await?;
    plan.backup_dir = backup.dir.clone();
    deps.events.send(Event::BeforeReset { plan });
    let message = format!(
        "client reset ({}) started: {}; backup in {}",
        journal.mode.label(),
        journal.reason,
        backup.dir.display()
    );
    log(deps, Some(record.local_id), &record.name, None, &message).await;

    let mut last_error = String::new();
    for strategy in strategies(journal.mode, journal.strategy) {
        write_guard(deps, record.local_id, strategy, &journal.reason).await?;
        match attempt(
            deps,
            record,
            job_id,
            strategy,
            &backup,
            &mut journal,
            cancel.clone(),
        )
        .await
        {
            Ok(()) => return Ok(finish_switched(deps, record, journal).await),
            // The journal stays: the next run resumes this reset.
            Err(EngineError::Cancelled) => return Err(EngineError::Cancelled.into()),
            Err(e) => {
                // Nothing changed (the fresh replica was given back): this attempt is no reset
                // that could loop, so it leaves no guard; the fallback chain stops a repeat.
                let replica = record.local_id;
                if let Err(e) = deps.with_store(move |s| s.clear_reset_guard(replica)).await {
                    tracing::warn!(error = %chain(&e), "could not clear the reset guard");
                }
                last_error = chain(&e);
                let message = format!("{} failed: {last_error}", strategy_label(strategy));
                log(deps, Some(record.local_id), &record.name, None, &message).await;
            }
        }
    }
    end_without_reset(deps, &journal).await;
    let reason = journal.reason.clone();
    Err(fall_back_to_manual(deps, record, &reason, last_error).await)
}

/// The automatic strategies `mode` tries, from `from` on (a restarted reset continues its chain).
fn strategies(mode: ResetMode, from: Option<ResetMode>) -> Vec<Strategy> {
    let chain: &[Strategy] = match mode {
        ResetMode::RecoverOrDiscard => &[Strategy::Recover, Strategy::Discard],
        ResetMode::Recover => &[Strategy::Recover],
        ResetMode::Discard | ResetMode::Manual => &[Strategy::Discard],
    };
    let start = from
        .and_then(|m| chain.iter().position(|s| s.as_mode() == m))
        .unwrap_or(0);
    chain[start..].to_vec()
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

async fn save(deps: &Deps, journal: &ResetJournal) -> Result<(), EngineError> {
    let journal = journal.clone();
    deps.with_store(move |s| s.update_reset(&journal)).await
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

/// The journal's backup if it still holds exactly the old file's changes, else a new one.
async fn ensure_backup(
    deps: &Deps,
    record: &ReplicaRecord,
    journal: &mut ResetJournal,
) -> Result<Backup, EngineError> {
    let root = deps.dirs.recovery_dir();
    let (path, name, reason) = (
        record.file_path.clone(),
        record.name.clone(),
        journal.reason.clone(),
    );
    let earlier = journal.backup_dir.clone();
    let backup = tokio::task::spawn_blocking(move || -> Result<Backup, EngineError> {
        let file = ReplicaFile::open(&path)?;
        let reset_err = |e: backup::BackupError| EngineError::Reset(chain(&e));
        if let Some(dir) = earlier
            && let Some(backup) = backup::reuse(&dir, &file).map_err(reset_err)?
        {
            return Ok(backup);
        }
        let dir = new_recovery_dir(&root, &name, chrono::Utc::now()).map_err(reset_err)?;
        back_up(&file, &dir, &name, &reason).map_err(reset_err)
    })
    .await??;
    journal.backup_dir = Some(backup.dir.clone());
    journal.phase = ResetPhase::BackedUp;
    save(deps, journal).await?;
    record_backup(deps, record, journal, &backup).await;
    crash_point(ResetPhase::BackedUp.as_str());
    Ok(backup)
}

/// Keeps a lasting record of a verified backup, so it is listed after the journal is gone (a
/// failure is logged: the backup folder is still found by its export).
async fn record_backup(
    deps: &Deps,
    record: &ReplicaRecord,
    journal: &ResetJournal,
    backup: &Backup,
) {
    let kept = BackupRecord {
        local_id: record.local_id,
        dir: backup.dir.clone(),
        made_ms: now_ms(),
        mode: journal.mode,
        mode_used: None,
        reason: journal.reason.clone(),
        replica_file: record.file_path.clone(),
    };
    if let Err(e) = deps.with_store(move |s| s.record_backup(&kept)).await {
        tracing::warn!(error = %chain(&e), "could not record the reset's backup");
    }
}

/// One strategy, up to and including the switch: a fresh replica (replayed onto for recovery)
/// under a temporary name, then the registry switch. On failure the fresh replica is given back.
async fn attempt(
    deps: &Deps,
    record: &ReplicaRecord,
    job_id: JobId,
    strategy: Strategy,
    backup: &Backup,
    journal: &mut ResetJournal,
    cancel: watch::Receiver<bool>,
) -> Result<(), EngineError> {
    let replica = record.local_id;
    let (definition, old_changes, old_attachments, area) = {
        let path = record.file_path.clone();
        tokio::task::spawn_blocking(move || -> Result<_, EngineError> {
            let file = ReplicaFile::open(&path)?;
            let queued: Vec<_> = file
                .attachments(None)?
                .into_iter()
                .filter(|a| a.pending.is_some())
                .collect();
            Ok((
                file.definition()?,
                file.changes()?,
                queued,
                file.work_area()?,
            ))
        })
        .await??
    };
    let request = CreateRequest {
        service_url: record.service_url.clone(),
        token: crate::engine::secrets::replica_token(deps, record).await?,
        name: record.name.clone(),
        layers: definition.layers.iter().map(|l| l.layer_id).collect(),
        sync_model: definition.sync_model,
        is_async: true,
        // The fresh replica holds what the old one did: its area and each layer's `where`.
        scope: Box::new(crate::engine::api::CreateScope {
            area: area.unwrap_or_default(),
            wheres: definition
                .layers
                .iter()
                .filter_map(|l| l.query.where_clause.clone().map(|w| (l.layer_id, w)))
                .collect(),
            attachments: true,
        }),
    };
    let client =
        signed_in_client(deps, replica, &record.service_url, request.token.clone()).await?;
    let fresh_path = deps.dirs.reset_file_path(replica, &record.name, now_ms());
    journal.strategy = Some(strategy.as_mode());
    journal.fresh_path = Some(fresh_path.clone());
    journal.fresh_guid = None;
    journal.phase = ResetPhase::Creating;
    save(deps, journal).await?;
    crash_point(ResetPhase::Creating.as_str());

    let requested = match request_replica(deps, &client, replica, job_id, &request, cancel).await {
        Ok(requested) => Arc::new(requested),
        Err(EngineError::Cancelled) => return Err(EngineError::Cancelled),
        Err(e) => {
            give_back(deps, record, journal).await;
            return Err(e);
        }
    };
    journal.fresh_guid = Some(requested.guid.clone());
    journal.phase = ResetPhase::Created;
    if let Err(e) = save(deps, journal).await {
        give_back(deps, record, journal).await;
        return Err(e);
    }
    crash_point(ResetPhase::Created.as_str());

    let replayed = strategy == Strategy::Recover;
    let built = {
        let (requested, path) = (requested.clone(), fresh_path.clone());
        let changes = old_changes.clone();
        let old_path = record.file_path.clone();
        tokio::task::spawn_blocking(move || {
            let old = replayed.then_some(fresh::OldReplica {
                changes: changes.as_slice(),
                path: &old_path,
            });
            fresh::build(&requested, &path, old)
        })
        .await
        .map_err(EngineError::from)
        .and_then(|r| r)
    };
    let (recovered, discarded) = match built {
        Ok(_) if !replayed => (
            Vec::new(),
            discarded_in_backup(&old_changes, &old_attachments),
        ),
        Ok(outcomes) => outcomes,
        Err(e) => {
            give_back(deps, record, journal).await;
            return Err(e);
        }
    };
    journal.report = Some(ResetReport {
        replica,
        mode_used: strategy.as_mode(),
        recovered,
        discarded,
        backup_files: vec![backup.replica_copy.clone(), backup.changes_export.clone()],
    });
    let switching = journal.clone();
    if let Err(e) = deps
        .with_store(move |s| s.switch_replica_file(&switching))
        .await
    {
        give_back(deps, record, journal).await;
        return Err(e);
    }
    journal.phase = ResetPhase::Switched;
    crash_point(ResetPhase::Switched.as_str());
    Ok(())
}

fn discarded_in_backup(
    changes: &[LocalChange],
    attachments: &[LocalAttachment],
) -> Vec<ObjectOutcome> {
    let features = changes.iter().map(|c| ObjectOutcome {
        layer_id: c.layer_id,
        global_id: c.global_id.clone(),
        change_type: c.kind.change_type(),
        note: "discarded; kept in the backup".into(),
    });
    let attachments = attachments.iter().filter_map(|a| {
        Some(ObjectOutcome {
            layer_id: a.layer_id,
            global_id: a.global_id.clone(),
            change_type: a.pending?.change_type(),
            note: "attachment edit discarded; kept in the backup".into(),
        })
    });
    features.chain(attachments).collect()
}

/// Undoes a fresh replica that will not be used (before the switch only): unregisters it, deletes
/// its files and records the reset as backed up again.
async fn give_back(deps: &Deps, record: &ReplicaRecord, journal: &mut ResetJournal) {
    if let Some(guid) = journal.fresh_guid.take() {
        match replica_client(deps, record).await {
            Ok(client) => unregister_quietly(&client, &guid).await,
            Err(e) => {
                tracing::warn!(error = %chain(&e), "could not unregister an unused fresh replica")
            }
        }
    }
    if let Some(path) = journal.fresh_path.take() {
        let keep = record.file_path.clone();
        let removed = tokio::task::spawn_blocking(move || fresh::remove(&path, &keep)).await;
        if let Err(e) = removed {
            tracing::warn!(error = %e, "could not delete an unused fresh replica file");
        }
    }
    journal.phase = if journal.backup_dir.is_some() {
        ResetPhase::BackedUp
    } else {
        ResetPhase::BackingUp
    };
    journal.report = None;
    if let Err(e) = save(deps, journal).await {
        tracing::warn!(error = %chain(&e), "could not record the reset's progress");
    }
}

/// Step 5, after the switch: keeps the old file in the backup folder, unregisters the old server
/// replica, forgets the journal and reports.
async fn finish_switched(deps: &Deps, record: &ReplicaRecord, journal: ResetJournal) -> Done {
    clean_up_after_switch(deps, record, &journal).await;
    if let (Some(dir), Some(used)) = (journal.backup_dir.clone(), journal.strategy)
        && let Err(e) = deps
            .with_store(move |s| s.set_backup_mode_used(&dir, used))
            .await
    {
        tracing::warn!(error = %chain(&e), "could not record what the reset did");
    }
    let report = journal.report.unwrap_or_else(|| ResetReport {
        replica: record.local_id,
        mode_used: journal.strategy.unwrap_or(ResetMode::Discard),
        recovered: Vec::new(),
        discarded: Vec::new(),
        backup_files: journal.backup_dir.into_iter().collect(),
    });
    let then_sync = report.mode_used == ResetMode::Recover && !report.recovered.is_empty();
    let event = match report.mode_used {
        ResetMode::Recover => Event::AfterRecovery { report },
        _ => Event::AfterDiscard { report },
    };
    deps.events.send(event);
    Done {
        state: Some(JobState::Completed),
        then_sync,
        ..Default::default()
    }
}

async fn clean_up_after_switch(deps: &Deps, record: &ReplicaRecord, journal: &ResetJournal) {
    // `record` may predate the switch: the journal says which file and replica were replaced.
    if let Some(dir) = journal.backup_dir.clone()
        && journal.fresh_path.as_ref() != Some(&journal.old_path)
    {
        let old = journal.old_path.clone();
        let moved = tokio::task::spawn_blocking(move || fresh::keep_old_file(&old, &dir)).await;
        if let Err(e) = moved {
            tracing::warn!(error = %e, "could not move the old replica file");
        }
    }
    if let Some(old_guid) = &journal.old_guid
        && journal.fresh_guid.as_ref() != Some(old_guid)
    {
        match replica_client(deps, record).await {
            Ok(client) => unregister_quietly(&client, old_guid).await,
            Err(e) => tracing::warn!(error = %chain(&e), "could not unregister the old replica"),
        }
    }
    let replica = record.local_id;
    if let Err(e) = deps.with_store(move |s| s.end_reset(replica)).await {
        tracing::warn!(error = %chain(&e), "could not delete the reset journal");
    }
}

/// Before a sync: finishes the clean-up of a reset that was interrupted after its switch (a
/// reset interrupted before it left the replica marked as needing a reset, so it does not sync).
pub(crate) async fn finish_interrupted_switch(deps: &Deps, record: &ReplicaRecord) {
    if let Some(journal) = interrupted(deps, record.local_id).await
        && journal.phase == ResetPhase::Switched
    {
        clean_up_after_switch(deps, record, &journal).await;
        let message = "finished the clean-up of a client reset interrupted after its switch";
        log(deps, Some(record.local_id), &record.name, None, message).await;
    }
}

/// Before the replica is unregistered: an interrupted reset gives back its fresh replica, or
/// finishes its clean-up if it had switched.
pub(crate) async fn abandon_interrupted(deps: &Deps, record: &ReplicaRecord) {
    match interrupted(deps, record.local_id).await {
        Some(journal) if journal.phase == ResetPhase::Switched => {
            clean_up_after_switch(deps, record, &journal).await
        }
        Some(mut journal) => give_back(deps, record, &mut journal).await,
        None => {}
    }
}

async fn interrupted(deps: &Deps, replica: LocalReplicaId) -> Option<ResetJournal> {
    match deps.with_store(move |s| s.reset_journal(replica)).await {
        Ok(journal) => journal,
        Err(e) => {
            tracing::warn!(error = %chain(&e), "could not read the reset journal");
            None
        }
    }
}

/// The reset ended before any switch (fallen back to manual, or its backup failed): forget the
/// journal; a replica that did not need a reset before this one is healthy again.
async fn end_without_reset(deps: &Deps, journal: &ResetJournal) {
    let (replica, required_before) = (journal.local_id, journal.required_before);
    let ended = deps
        .with_store(move |s| {
            s.end_reset(replica)?;
            if !required_before {
                s.set_reset_required(replica, None)?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = ended {
        tracing::warn!(error = %chain(&e), "could not end the reset journal");
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
    log(deps, Some(replica), &record.name, None, &message).await;
    EngineError::Reset(format!("fell back to manual: {error}")).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A restarted reset continues its fallback chain where the interrupted attempt was.
    #[test]
    fn strategies_continue_the_chain() {
        use Strategy::{Discard, Recover};
        assert_eq!(
            strategies(ResetMode::RecoverOrDiscard, None),
            vec![Recover, Discard]
        );
        assert_eq!(
            strategies(ResetMode::RecoverOrDiscard, Some(ResetMode::Discard)),
            vec![Discard]
        );
        assert_eq!(strategies(ResetMode::Recover, None), vec![Recover]);
        assert_eq!(strategies(ResetMode::Manual, None), vec![Discard]);
    }
}
