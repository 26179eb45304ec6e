//! The download half of synchronizeReplica: each layer's server changes since the client's
//! generation (feature and attachment adds, updates and deletes the caller may see), or
//! replacement data for a snapshot layer, and merging them into the upload's results. On a layer
//! the replica's work area filters, what the replica holds decides the kind: a changed feature
//! now inside is an update when the replica holds it and an add when it moved in; one now
//! outside that the replica holds is a delete (it moved out); the changes to what the replica
//! holds are handed back (`Holdings`) for the sync's transaction to record.

use super::attachment_wire::{self, DataBy};
use super::caller_view::{
    RowFilter, area_shape, layer_filter, parents_of, project, replica_attachments, replica_rows,
    visible,
};
use super::plan::LayerPlan;
use crate::protocol::rules::Caller;
use crate::protocol::{
    AttachmentChanges, AttachmentsSyncDirection, FeatureChanges, Guid, LayerSyncResult,
    QueryOption, ReplicaLayerData, SyncDirection,
};
use crate::server::db::{self, RegisteredReplica, ReplicaLayerRecord, ServiceDbError, members};
use crate::server::definition::ServiceDefinition;
use rusqlite::Connection;

type Downloads = (Vec<LayerSyncResult>, Vec<ReplicaLayerData>, Vec<Holdings>);

/// How a download changes what the replica holds of one area-filtered layer.
#[derive(Debug, Default)]
pub(super) struct Holdings {
    pub(super) layer_id: i64,
    /// A snapshot replaced the layer: forget what it held first.
    pub(super) replaced: bool,
    pub(super) added: Vec<String>,
    pub(super) removed: Vec<String>,
}

/// Records the holdings in the caller's transaction.
pub(super) fn record_holdings(
    conn: &Connection,
    replica_id: &Guid,
    holdings: &[Holdings],
) -> Result<(), ServiceDbError> {
    for h in holdings {
        if h.replaced {
            members::clear_layer(conn, replica_id, h.layer_id)?;
        }
        members::add(conn, replica_id, h.layer_id, &h.added)?;
        members::remove(conn, replica_id, h.layer_id, &h.removed)?;
    }
    Ok(())
}

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
    let mut holdings = Vec::new();
    let area = area_shape(record);
    for p in plan {
        let Some(layer) = record.layers.iter().find(|l| l.id == p.id) else {
            continue;
        };
        let filter = layer_filter(def, area.as_ref(), layer);
        match p.direction {
            SyncDirection::Snapshot => {
                let features = replica_rows(conn, def, caller, &filter, layer)?;
                if filter.has_area() {
                    holdings.push(Holdings {
                        layer_id: p.id,
                        replaced: true,
                        added: features
                            .iter()
                            .filter_map(|f| f.global_id())
                            .map(|g| g.as_str().to_string())
                            .collect(),
                        removed: Vec::new(),
                    });
                }
                let attachments = if record.return_attachments {
                    replica_attachments(conn, def, p.id, &parents_of(&features), data_by)?
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
                let span = (p.client_gen, generation);
                let features = if filter.has_area() {
                    let (features, held) =
                        area_changes(conn, def, caller, &filter, record, layer, span)?;
                    holdings.push(held);
                    features
                } else {
                    layer_changes(conn, def, caller, &filter, layer, span)?
                };
                let attachments = if record.attachments_sync_direction
                    == AttachmentsSyncDirection::Bidirectional
                {
                    attachment_changes(conn, def, caller, &filter, layer, span, data_by)?
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
    Ok((changes, snapshot, holdings))
}

/// A layer's feature changes in generations `span` = `(client_gen, generation)`, by their
/// generations: a row inserted after the client's generation is an add, else an update.
fn layer_changes(
    conn: &Connection,
    def: &ServiceDefinition,
    caller: &Caller,
    filter: &RowFilter,
    layer: &ReplicaLayerRecord,
    (client_gen, generation): (i64, i64),
) -> Result<FeatureChanges, ServiceDbError> {
    let mut changes = FeatureChanges::default();
    let Some(layer_def) = def.layer(layer.id) else {
        return Ok(changes);
    };
    if layer.query_option == QueryOption::None {
        return Ok(changes);
    }
    for row in db::changes_between(conn, layer.id, client_gen, generation)? {
        let is_new = row.created_gen > client_gen;
        if row.deleted {
            if !is_new {
                changes.delete_ids.push(row.global_id.clone());
            }
        } else if visible(layer_def, caller, filter, &row) {
            if is_new {
                changes.adds.push(project(layer_def, row));
            } else {
                changes.updates.push(project(layer_def, row));
            }
        }
    }
    Ok(changes)
}

/// An area-filtered layer's feature changes in generations `span`, by what the replica holds:
/// a changed feature inside the area is an update when held and an add when not (it moved in);
/// one outside, or deleted, is a delete when held (it moved out or went) and nothing otherwise.
fn area_changes(
    conn: &Connection,
    def: &ServiceDefinition,
    caller: &Caller,
    filter: &RowFilter,
    record: &RegisteredReplica,
    layer: &ReplicaLayerRecord,
    (client_gen, generation): (i64, i64),
) -> Result<(FeatureChanges, Holdings), ServiceDbError> {
    let mut changes = FeatureChanges::default();
    let mut held = Holdings {
        layer_id: layer.id,
        ..Default::default()
    };
    let Some(layer_def) = def.layer(layer.id) else {
        return Ok((changes, held));
    };
    for row in db::changes_between(conn, layer.id, client_gen, generation)? {
        let holds = members::holds(conn, &record.replica_id, layer.id, &row.global_id)?;
        let inside = !row.deleted && visible(layer_def, caller, filter, &row);
        match (inside, holds) {
            (true, true) => changes.updates.push(project(layer_def, row)),
            (true, false) => {
                held.added.push(row.global_id.clone());
                changes.adds.push(project(layer_def, row));
            }
            (false, true) => {
                held.removed.push(row.global_id.clone());
                changes.delete_ids.push(row.global_id);
            }
            (false, false) => {}
        }
    }
    Ok((changes, held))
}

/// Attachment changes of one replica layer in generations `span` whose parents the caller may
/// see; deletes of attachments the client never had are left out.
fn attachment_changes(
    conn: &Connection,
    def: &ServiceDefinition,
    caller: &Caller,
    filter: &RowFilter,
    layer: &ReplicaLayerRecord,
    (client_gen, generation): (i64, i64),
    data_by: DataBy,
) -> Result<AttachmentChanges, ServiceDbError> {
    let mut changes = AttachmentChanges::default();
    let Some(layer_def) = def.layer(layer.id).filter(|l| l.has_attachments) else {
        return Ok(changes);
    };
    if layer.query_option == QueryOption::None {
        return Ok(changes);
    }
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
        if !visible(layer_def, caller, filter, &parent) {
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
