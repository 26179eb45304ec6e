//! Builds [`ReplicaSummary`]s from the app database and the replica file (blocking; called from
//! `spawn_blocking`). A replica file that cannot be read shows as an error on the summary rather
//! than hiding the replica.

use super::api::{LayerState, ReplicaSummary, SyncHistoryPoint};
use super::error::chain;
use crate::geodatabase::replica_file::ReplicaFile;
use crate::protocol::{SyncDirection, SyncModel};
use crate::store::{ReplicaRecord, Store, StoreError};

/// Past syncs shown in the history plot.
const HISTORY_POINTS: u32 = 50;

/// The summary of one replica. `syncing`: a job of it is running now.
pub(crate) fn build(
    store: &Store,
    record: &ReplicaRecord,
    syncing: bool,
) -> Result<ReplicaSummary, StoreError> {
    let failed_by_layer = store.failed_edit_counts(record.local_id)?;
    let history = store
        .jobs(record.local_id, HISTORY_POINTS)?
        .into_iter()
        .filter(|j| j.kind == "sync")
        .filter_map(|j| {
            let finished_ms = j.finished_ms?;
            Some(SyncHistoryPoint {
                finished_ms,
                duration_ms: finished_ms - j.started_ms,
                failed_edits: j.failed_edits,
                state: j.state.unwrap_or_default(),
            })
        })
        .rev()
        .collect();
    let mut summary = ReplicaSummary {
        id: record.local_id,
        name: record.name.clone(),
        service_url: record.service_url.clone(),
        replica_guid: record.replica_guid.clone(),
        sync_model: SyncModel::PerReplica,
        direction: SyncDirection::Bidirectional,
        server_gen: None,
        layer_gens: Vec::new(),
        layers: Vec::new(),
        last_success_ms: record.last_success_ms,
        last_sync_attempt_ms: record.last_attempt_ms,
        pending_changes: 0,
        failed_edits: failed_by_layer.iter().map(|(_, n)| n).sum(),
        predicted_failures: 0,
        predicted_policy: store.predicted_policy(record.local_id)?,
        reset_reason: record.reset_reason.clone(),
        reset_mode: record.reset_mode,
        paused: record.paused,
        syncing,
        last_error: record.last_error.clone(),
        history,
        signed_in_as: store.replica_account(record.local_id)?,
        sign_in_needed: store.sign_in_needed(record.local_id)?,
        held_conflicts: 0,
        conflict_policy: store.conflict_policy(record.local_id)?,
        work_area: None,
    };
    if record.replica_guid.is_none() {
        // Still being created: no file yet.
        return Ok(summary);
    }
    if let Err(e) = fill_from_file(&mut summary, record, &failed_by_layer) {
        summary.last_error = Some(e);
    }
    Ok(summary)
}

fn fill_from_file(
    summary: &mut ReplicaSummary,
    record: &ReplicaRecord,
    failed_by_layer: &[(i64, u32)],
) -> Result<(), String> {
    let file = ReplicaFile::open(&record.file_path).map_err(|e| chain(&e))?;
    let definition = file.definition().map_err(|e| chain(&e))?;
    let generations = file.generations().map_err(|e| chain(&e))?;
    let counts = file.pending_counts().map_err(|e| chain(&e))?;
    summary.held_conflicts = file.held_conflict_count().map_err(|e| chain(&e))?;
    let area = file.work_area().map_err(|e| chain(&e))?;
    summary.work_area = Some(Box::new(area.unwrap_or_default()));
    summary.sync_model = definition.sync_model;
    summary.direction = definition.direction;
    summary.server_gen = generations.replica_server_gen;
    summary.layer_gens = generations.layer_server_gens.clone();
    summary.pending_changes = counts.iter().map(|c| c.total()).sum();
    summary.predicted_failures = counts.iter().map(|c| c.predicted).sum();
    summary.layers = definition
        .layers
        .iter()
        .map(|layer| LayerState {
            layer_id: layer.layer_id,
            name: layer.name.clone(),
            server_gen: generations
                .layer_server_gens
                .iter()
                .find(|(id, _)| *id == layer.layer_id)
                .map(|(_, g)| *g),
            pending_changes: counts
                .iter()
                .find(|c| c.layer_id == layer.layer_id)
                .map_or(0, |c| c.total()),
            failed_edits: failed_by_layer
                .iter()
                .find(|(id, _)| *id == layer.layer_id)
                .map_or(0, |(_, n)| *n),
        })
        .collect();
    Ok(())
}

/// Summaries of every replica; `is_syncing` says which have a running job.
pub(crate) fn build_all(
    store: &Store,
    is_syncing: impl Fn(super::api::LocalReplicaId) -> bool,
) -> Result<Vec<ReplicaSummary>, StoreError> {
    store
        .replicas()?
        .iter()
        .map(|r| build(store, r, is_syncing(r.local_id)))
        .collect()
}
