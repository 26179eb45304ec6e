//! The download half of synchronizeReplica: each layer's server changes since the client's
//! generation (feature and attachment adds, updates and deletes the caller may see), or
//! replacement data for a snapshot layer, and merging them into the upload's results.

use super::attachment_wire::{self, DataBy};
use super::caller_view::{layer_filter, project, replica_attachments, replica_rows, visible};
use super::plan::LayerPlan;
use crate::protocol::rules::Caller;
use crate::protocol::{
    AttachmentChanges, AttachmentsSyncDirection, FeatureChanges, Guid, LayerSyncResult,
    QueryOption, ReplicaLayerData, SyncDirection,
};
use crate::server::db::{self, RegisteredReplica, ReplicaLayerRecord, ServiceDbError};
use crate::server::definition::ServiceDefinition;
use rusqlite::Connection;

type Downloads = (Vec<LayerSyncResult>, Vec<ReplicaLayerData>);

/// Server changes since each layer's client generation (edits), or replacement data (snapshot).
pub(super) fn download(
    conn: &Connection,
    def: &ServiceDefinition,
    caller: &Caller,
    record: &RegisteredReplica,
    plan: &[LayerPlan],
    generation: i64,
    data_by: DataBy,
) -> Result<Downloads, ServiceDbError> {
    let mut changes = Vec::new();
    let mut snapshot = Vec::new();
    for p in plan {
        let Some(layer) = record.layers.iter().find(|l| l.id == p.id) else {
            continue;
        };
        match p.direction {
            SyncDirection::Snapshot => {
                let features = replica_rows(conn, def, caller, layer)?;
                let attachments = if record.return_attachments {
                    replica_attachments(conn, def, p.id, &features, data_by)?
                } else {
                    Vec::new()
                };
                snapshot.push(ReplicaLayerData {
                    id: p.id,
                    features,
                    attachments,
                    ..Default::default()
                })
            }
            SyncDirection::Download | SyncDirection::Bidirectional => {
                let features = layer_changes(conn, def, caller, layer, p.client_gen, generation)?;
                let attachments = if record.attachments_sync_direction
                    == AttachmentsSyncDirection::Bidirectional
                {
                    attachment_changes(conn, def, caller, layer, p.client_gen, generation, data_by)?
                } else {
                    AttachmentChanges::default()
                };
                if !features.is_empty() || !attachments.is_empty() {
                    changes.push(LayerSyncResult {
                        id: p.id,
                        features,
                        attachments,
                        ..Default::default()
                    });
                }
            }
            SyncDirection::Upload => {}
        }
    }
    Ok((changes, snapshot))
}

pub(super) fn layer_changes(
    conn: &Connection,
    def: &ServiceDefinition,
    caller: &Caller,
    layer: &ReplicaLayerRecord,
    client_gen: i64,
    generation: i64,
) -> Result<FeatureChanges, ServiceDbError> {
    let mut changes = FeatureChanges::default();
    let Some(layer_def) = def.layer(layer.id) else {
        return Ok(changes);
    };
    if layer.query_option == QueryOption::None {
        return Ok(changes);
    }
    let filter = layer_filter(def, layer);
    for row in db::changes_between(conn, layer.id, client_gen, generation)? {
        let is_new = row.created_gen > client_gen;
        if row.deleted {
            if !is_new {
                changes.delete_ids.push(row.global_id.clone());
            }
        } else if visible(layer_def, caller, filter.as_ref(), &row) {
            if is_new {
                changes.adds.push(project(layer_def, row));
            } else {
                changes.updates.push(project(layer_def, row));
            }
        }
    }
    Ok(changes)
}

/// Attachment changes of one replica layer in generations `(client_gen, generation)` whose
/// parents the caller may see; deletes of attachments the client never had are left out.
pub(super) fn attachment_changes(
    conn: &Connection,
    def: &ServiceDefinition,
    caller: &Caller,
    layer: &ReplicaLayerRecord,
    client_gen: i64,
    generation: i64,
    data_by: DataBy,
) -> Result<AttachmentChanges, ServiceDbError> {
    let mut changes = AttachmentChanges::default();
    let Some(layer_def) = def.layer(layer.id).filter(|l| l.has_attachments) else {
        return Ok(changes);
    };
    if layer.query_option == QueryOption::None {
        return Ok(changes);
    }
    let filter = layer_filter(def, layer);
    for stored in db::attachment_changes_between(conn, layer.id, client_gen, generation)? {
        let is_new = stored.created_gen > client_gen;
        if stored.deleted {
            if !is_new {
                changes.delete_ids.push(stored.global_id.clone());
            }
            continue;
        }
        let parent = match Guid::parse(&stored.parent_global_id) {
            Ok(gid) => db::readable_row_by_global_id(conn, layer.id, &gid)?,
            Err(_) => None,
        };
        let Some(parent) = parent.filter(|p| !p.deleted) else {
            continue;
        };
        if !visible(layer_def, caller, filter.as_ref(), &parent) {
            continue;
        }
        if let Some(wire) = attachment_wire::to_wire(conn, &stored, data_by)? {
            if is_new {
                changes.adds.push(wire);
            } else {
                changes.updates.push(wire);
            }
        }
    }
    Ok(changes)
}

pub(super) fn merge_downloads(results: &mut Vec<LayerSyncResult>, downloads: Vec<LayerSyncResult>) {
    for d in downloads {
        match results.iter_mut().find(|r| r.id == d.id) {
            Some(r) => {
                r.features = d.features;
                r.attachments.adds = d.attachments.adds;
                r.attachments.updates = d.attachments.updates;
                r.attachments.delete_ids = d.attachments.delete_ids;
            }
            None => results.push(d),
        }
    }
    results.sort_by_key(|r| r.id);
}
