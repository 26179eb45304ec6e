//! The conflict commands (ARCHITECTURE.md, "Conflicts"): setting a replica's
//! [`ConflictPolicy`], loading its recorded conflicts and resolving one, each answered with
//! [`Event::ConflictsReady`] (and a new summary where the badge may change). Detection is the
//! sync job's ([`super::job`]'s conflict step).
//!
//! What it must not do: touch the network, or run rusqlite outside `spawn_blocking`.

use super::Deps;
use super::api::{ConflictPolicy, Event, LocalReplicaId, Resolution};
use super::error::EngineError;
use crate::geodatabase::replica_file::{ReplicaFile, ResolveOutcome};
use crate::protocol::Guid;

/// Sends the replica's conflicts and policy ([`Event::ConflictsReady`]); a failure is logged.
pub(crate) async fn send_conflicts(deps: &Deps, replica: LocalReplicaId) {
    match load(deps, replica).await {
        Ok(event) => deps.events.send(event),
        Err(e) => {
            tracing::warn!(replica = %replica, error = %super::error::chain(&e), "could not load conflicts")
        }
    }
}

async fn load(deps: &Deps, replica: LocalReplicaId) -> Result<Event, EngineError> {
    deps.blocking(move |store| {
        let policy = store.conflict_policy(replica)?;
        let record = store.replica(replica)?;
        let conflicts = if record.replica_guid.is_some() {
            ReplicaFile::open(&record.file_path)?.conflicts()?
        } else {
            Vec::new()
        };
        Ok(Event::ConflictsReady {
            replica,
            policy,
            conflicts,
        })
    })
    .await
}

/// [`super::api::Command::LoadConflicts`].
pub(crate) async fn answer(deps: &Deps, replica: LocalReplicaId) -> Result<(), EngineError> {
    let event = load(deps, replica).await?;
    deps.events.send(event);
    Ok(())
}

/// [`super::api::Command::SetConflictPolicy`].
pub(crate) async fn set_policy(
    deps: &Deps,
    replica: LocalReplicaId,
    policy: ConflictPolicy,
    syncing: bool,
) -> Result<(), EngineError> {
    deps.with_store(move |s| s.set_conflict_policy(replica, policy))
        .await?;
    super::job::send_summary(deps, replica, syncing).await;
    answer(deps, replica).await
}

/// [`super::api::Command::ResolveConflict`].
pub(crate) async fn resolve(
    deps: &Deps,
    replica: LocalReplicaId,
    layer_id: i64,
    global_id: Guid,
    resolution: Resolution,
    syncing: bool,
) -> Result<(), EngineError> {
    let gid = global_id.clone();
    let outcome = deps
        .blocking(move |store| {
            let record = store.replica(replica)?;
            let mut file = ReplicaFile::open(&record.file_path)?;
            Ok(file.resolve_conflict(layer_id, &gid, &resolution)?)
        })
        .await?;
    match outcome {
        ResolveOutcome::Applied { .. } => {}
        ResolveOutcome::NoConflict => {
            return Err(EngineError::Unsupported(format!(
                "no conflict is recorded for {global_id} in layer {layer_id}"
            )));
        }
        ResolveOutcome::UnknownField(name) => {
            return Err(EngineError::Unsupported(format!(
                "field {name} of {global_id} is not in conflict"
            )));
        }
    }
    super::job::send_summary(deps, replica, syncing).await;
    answer(deps, replica).await
}
