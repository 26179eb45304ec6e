//! Replays a recovery onto the fresh replica file: the old file's queued changes become
//! [`UnsyncedChange`]s, the recovery rules decide, and what survives is queued as ordinary local
//! changes of the fresh replica, so the next sync uploads it (and a crash before that sync loses
//! nothing: the changes are in the fresh file and in the backup). Queued attachment changes
//! follow the same rules: a local add is kept while its feature exists, a server delete beats a
//! local update, a local delete of what is gone is done. Where the server changed a field the
//! technician changed too (the sync's conflict comparison), the report names it and the rule
//! that applied (the decision is [`super::recovery::decide`]'s, which a restore from a backup
//! shares). Blocking (the replica file).

use super::recovery::{RecoveryError, RecoveryPlan, UnsyncedChange, UnsyncedKind, plan_recovery};
use crate::engine::api::ObjectOutcome;
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
                    before: c.before.as_ref().map(|f| f.attributes.clone()),
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
            Ok(found) => found,
            Err(e) => {
                lookup_error.get_or_insert(e);
                None
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

/// Queues the old file's attachment changes in the fresh one; returns (recovered, discarded).
pub fn replay_attachments(
    old: &ReplicaFile,
    fresh: &mut ReplicaFile,
) -> Result<(Vec<ObjectOutcome>, Vec<ObjectOutcome>), ReplicaFileError> {
    let (mut recovered, mut discarded) = (Vec::new(), Vec::new());
    for queued in old.attachments(None)? {
        let Some(kind) = queued.pending else { continue };
        let outcome = |note: &str| ObjectOutcome {
            layer_id: queued.layer_id,
            global_id: queued.global_id.clone(),
            change_type: kind.change_type(),
            note: note.into(),
        };
        let on_server = fresh.attachment(&queued.global_id)?.is_some();
        let data = old.queued_attachment_data(&queued.global_id)?;
        match kind {
            ChangeKind::Add => {
                let parent_kept = fresh
                    .local_feature(queued.layer_id, &queued.parent_global_id)
                    .is_ok_and(|f| f.is_some());
                if on_server {
                    recovered.push(outcome("attachment already on the server"));
                } else if parent_kept {
                    fresh.record_attachment_add_as(
                        &queued.global_id,
                        &queued.parent_global_id,
                        &queued.name,
                        &queued.content_type,
                        data.as_deref().unwrap_or_default(),
                    )?;
                    recovered.push(outcome("attachment add kept"));
                } else {
                    discarded.push(outcome("its feature is gone; kept in the backup"));
                }
            }
            ChangeKind::Update if on_server => {
                fresh.record_attachment_update(
                    &queued.global_id,
                    Some(&queued.name),
                    Some(&queued.content_type),
                    data.as_deref(),
                )?;
                recovered.push(outcome("attachment update kept"));
            }
            ChangeKind::Update => discarded.push(outcome(
                "the server deleted the attachment; kept in the backup",
            )),
            ChangeKind::Delete if on_server => {
                fresh.record_attachment_delete(&queued.global_id)?;
                recovered.push(outcome("attachment delete kept"));
            }
            ChangeKind::Delete => recovered.push(outcome("attachment already deleted")),
        }
    }
    Ok((recovered, discarded))
}
