//! Replays a recovery onto the fresh replica file: the old file's queued changes become
//! [`UnsyncedChange`]s, the recovery rules decide, and what survives is queued as ordinary local
//! changes of the fresh replica, so the next sync uploads it (and a crash before that sync loses
//! nothing: the changes are in the fresh file and in the backup). Blocking (rusqlite).

use super::recovery::{RecoveryError, RecoveryPlan, UnsyncedChange, UnsyncedKind, plan_recovery};
use crate::geodatabase::replica_file::{ChangeKind, LocalChange, ReplicaFile, ReplicaFileError};
use crate::protocol::{Feature, Guid, LayerInfo};

/// Why a replay could not finish.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Recovery(#[from] RecoveryError),
    #[error(transparent)]
    Replica(#[from] ReplicaFileError),
}

/// The old file's queued changes, in the recovery rules' terms.
pub fn unsynced_changes(changes: &[LocalChange]) -> Vec<UnsyncedChange> {
    changes
        .iter()
        .map(|c| UnsyncedChange {
            layer_id: c.layer_id,
            global_id: c.global_id.clone(),
            kind: match c.kind {
                ChangeKind::Add => UnsyncedKind::Add {
                    feature: Feature {
                        geometry: c.geometry.clone(),
                        attributes: c.attributes.clone(),
                    },
                },
                ChangeKind::Update => UnsyncedKind::Update {
                    changed: c.attributes.clone(),
                    geometry: c.geometry.clone(),
                },
                ChangeKind::Delete => UnsyncedKind::Delete,
            },
        })
        .collect()
}

/// Plans the recovery of `old_changes` against `fresh` and queues the surviving edits in it.
pub fn replay_into(
    old_changes: &[LocalChange],
    fresh: &mut ReplicaFile,
    fresh_layers: &[LayerInfo],
) -> Result<RecoveryPlan, ReplayError> {
    let changes = unsynced_changes(old_changes);
    let mut lookup_error = None;
    let plan = plan_recovery(&changes, fresh_layers, |layer_id, global_id| {
        match fresh.server_feature(layer_id, global_id) {
            Ok(found) => found.is_some(),
            Err(e) => {
                lookup_error.get_or_insert(e);
                false
            }
        }
    })?;
    if let Some(e) = lookup_error {
        return Err(e.into());
    }
    for layer in &plan.edits {
        for feature in &layer.features.adds {
            fresh.record_add(layer.id, feature.clone())?;
        }
        for feature in &layer.features.updates {
            if let Some(global_id) = feature.global_id() {
                let mut attributes = feature.attributes.clone();
                attributes.retain(|k, _| !k.eq_ignore_ascii_case("globalid"));
                fresh.record_update(layer.id, &global_id, attributes, feature.geometry.clone())?;
            }
        }
        for text in &layer.features.delete_ids {
            if let Ok(global_id) = Guid::parse(text) {
                fresh.record_delete(layer.id, &global_id)?;
            }
        }
    }
    Ok(plan)
}
