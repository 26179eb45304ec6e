//! The download half of synchronizeReplica: each layer's server changes since the client's
//! generation (feature and attachment adds, updates and deletes the caller may see), or
//! replacement data for a snapshot layer, written into the sync's [`ReplicaSink`] row by row as
//! they are read from the database, each layer's entry completed with the upload's results for
//! it. On a layer the replica's work area filters, what the replica holds decides the kind: a
//! changed feature now inside is an update when the replica holds it and an add when it moved
//! in; one now outside that the replica holds is a delete (it moved out); the changes to what
//! the replica holds are handed back (`Holdings`) for the sync's transaction to record. It must
//! not collect the features: only GlobalIDs (holdings, attachment parents) and each layer's
//! attachment changes are kept.

use super::OpError;
use super::attachment_wire::{self, DataBy};
use super::caller_view::{
    RowFilter, area_shape, for_each_replica_feature, layer_filter, project, replica_attachments,
    visible,
};
use super::plan::LayerPlan;
use super::replica_sink::{Change, ReplicaSink};
use crate::protocol::rules::Caller;
use crate::protocol::{
    AttachmentChanges, AttachmentsSyncDirection, FeatureChanges, Guid, LayerSyncResult,
    QueryOption, SyncDirection,
};
use crate::server::db::{self, RegisteredReplica, ReplicaLayerRecord, ServiceDbError, members};
use crate::server::definition::ServiceDefinition;
use rusqlite::Connection;
use std::collections::HashSet;

/// What a download wrote into the sink, and what it changes in the replica's holdings.
#[derive(Debug, Default)]
pub(super) struct Downloaded {
    /// Entries of the reply's `edits` (server changes, upload results, or both).
    pub(super) edits: usize,
    /// Snapshot layers (the reply's `layers`).
    pub(super) snapshot: usize,
    pub(super) holdings: Vec<Holdings>,
}

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

/// One sync's download: what it reads and for whom.
pub(super) struct Download<'a> {
    pub(super) conn: &'a Connection,
    pub(super) def: &'a ServiceDefinition,
    pub(super) caller: &'a Caller,
    pub(super) record: &'a RegisteredReplica,
    pub(super) plan: &'a [LayerPlan],
    /// The sync's own generation (its uploads are not downloaded).
    pub(super) generation: i64,
    pub(super) data_by: DataBy,
}

impl Download<'_> {
    /// Writes the reply's `edits` into `sink`, in layer id order: each downloading layer's
    /// server changes since its client generation merged with the upload's results for it
    /// (`uploads`, as `apply` made them), and every other layer the upload has results for;
    /// then each snapshot layer's replacement data, in plan order.
    pub(super) fn write(
        &self,
        uploads: Vec<LayerSyncResult>,
        sink: &mut dyn ReplicaSink,
    ) -> Result<Downloaded, OpError> {
        let mut out = Downloaded::default();
        let area = area_shape(self.record);
        let downloading: Vec<(&LayerPlan, &ReplicaLayerRecord)> = self
            .plan
            .iter()
            .filter(|p| {
                matches!(
                    p.direction,
                    SyncDirection::Download | SyncDirection::Bidirectional
                )
            })
            .filter_map(|p| self.layer(p.id).map(|layer| (p, layer)))
            .collect();
        let mut ids: Vec<i64> = downloading
            .iter()
            .map(|(p, _)| p.id)
            .chain(uploads.iter().map(|u| u.id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut uploads = uploads;
        for id in ids {
            // As a stable sort by id leaves them: the first result of a layer takes its download.
            let mine: Vec<LayerSyncResult>;
            (mine, uploads) = uploads.into_iter().partition(|u| u.id == id);
            let listed = !mine.is_empty();
            let mut mine = mine.into_iter();
            let mut rest = mine.next().unwrap_or_else(|| LayerSyncResult {
                id,
                ..Default::default()
            });
            sink.begin_changes(id)?;
            let mut changed = false;
            if let Some((p, layer)) = downloading.iter().find(|(p, _)| p.id == id) {
                let filter = layer_filter(self.def, area.as_ref(), layer);
                let span = (p.client_gen, self.generation);
                let mut count = 0_usize;
                let mut each = |change: Change<'_>| {
                    count += 1;
                    sink.change(change)
                };
                if filter.has_area() {
                    out.holdings
                        .push(self.area_changes(&filter, layer, span, &mut each)?);
                } else {
                    self.layer_changes(&filter, layer, span, &mut each)?;
                }
                let attachments = if self.record.attachments_sync_direction
                    == AttachmentsSyncDirection::Bidirectional
                {
                    attachment_changes(
                        self.conn,
                        self.def,
                        self.caller,
                        &filter,
                        layer,
                        span,
                        self.data_by,
                    )?
                } else {
                    AttachmentChanges::default()
                };
                if count > 0 || !attachments.is_empty() {
                    changed = true;
                    rest.attachments.adds = attachments.adds;
                    rest.attachments.updates = attachments.updates;
                    rest.attachments.delete_ids = attachments.delete_ids;
                }
            }
            rest.features = FeatureChanges::default();
            let in_reply = listed || changed;
            out.edits += usize::from(in_reply);
            sink.end_changes(rest, in_reply)?;
            for again in mine {
                sink.begin_changes(id)?;
                out.edits += 1;
                sink.end_changes(again, true)?;
            }
        }
        for p in self
            .plan
            .iter()
            .filter(|p| p.direction == SyncDirection::Snapshot)
        {
            let Some(layer) = self.layer(p.id) else {
                continue;
            };
            let filter = layer_filter(self.def, area.as_ref(), layer);
            if let Some(held) = self.snapshot(&filter, layer, sink)? {
                out.holdings.push(held);
            }
            out.snapshot += 1;
        }
        Ok(out)
    }

    fn layer(&self, id: i64) -> Option<&ReplicaLayerRecord> {
        self.record.layers.iter().find(|l| l.id == id)
    }

    /// A snapshot layer's replacement data (every row the caller may see inside the filter)
    /// and its attachments; what an area-filtered layer now holds.
    fn snapshot(
        &self,
        filter: &RowFilter,
        layer: &ReplicaLayerRecord,
        sink: &mut dyn ReplicaSink,
    ) -> Result<Option<Holdings>, OpError> {
        let holds = filter.has_area();
        let with_attachments = self.record.return_attachments
            && self.def.layer(layer.id).is_some_and(|l| l.has_attachments);
        let mut held = Vec::new();
        let mut parents = HashSet::new();
        sink.begin_layer(layer.id)?;
        for_each_replica_feature(
            self.conn,
            self.def,
            self.caller,
            filter,
            layer,
            |feature| -> Result<(), OpError> {
                if (holds || with_attachments)
                    && let Some(global_id) = feature.global_id()
                {
                    let global_id = global_id.as_str().to_string();
                    if with_attachments {
                        parents.insert(global_id.clone());
                    }
                    if holds {
                        held.push(global_id);
                    }
                }
                sink.feature(&feature)
            },
        )?;
        let attachments = if with_attachments {
            replica_attachments(self.conn, self.def, layer.id, &parents, self.data_by)?
        } else {
            Vec::new()
        };
        sink.end_layer(attachments)?;
        Ok(holds.then(|| Holdings {
            layer_id: layer.id,
            replaced: true,
            added: held,
            removed: Vec::new(),
        }))
    }

    /// A layer's feature changes in generations `span` = `(client_gen, generation)`, by their
    /// generations: a row inserted after the client's generation is an add, else an update.
    fn layer_changes(
        &self,
        filter: &RowFilter,
        layer: &ReplicaLayerRecord,
        (client_gen, generation): (i64, i64),
        each: &mut dyn FnMut(Change<'_>) -> Result<(), OpError>,
    ) -> Result<(), OpError> {
        let Some(layer_def) = self.def.layer(layer.id) else {
            return Ok(());
        };
        if layer.query_option == QueryOption::None {
            return Ok(());
        }
        db::for_each_change_between(self.conn, layer.id, client_gen, generation, |row| {
            let is_new = row.created_gen > client_gen;
            if row.deleted {
                if is_new {
                    Ok(())
                } else {
                    each(Change::Delete(&row.global_id))
                }
            } else if visible(layer_def, self.caller, filter, &row) {
                let feature = project(layer_def, row);
                if is_new {
                    each(Change::Add(&feature))
                } else {
                    each(Change::Update(&feature))
                }
            } else {
                Ok(())
            }
        })
    }

    /// An area-filtered layer's feature changes in generations `span`, by what the replica
    /// holds: a changed feature inside the area is an update when held and an add when not (it
    /// moved in); one outside, or deleted, is a delete when held (it moved out or went) and
    /// nothing otherwise.
    fn area_changes(
        &self,
        filter: &RowFilter,
        layer: &ReplicaLayerRecord,
        (client_gen, generation): (i64, i64),
        each: &mut dyn FnMut(Change<'_>) -> Result<(), OpError>,
    ) -> Result<Holdings, OpError> {
        let mut held = Holdings {
            layer_id: layer.id,
            ..Default::default()
        };
        let Some(layer_def) = self.def.layer(layer.id) else {
            return Ok(held);
        };
        let replica_id = &self.record.replica_id;
        db::for_each_change_between(self.conn, layer.id, client_gen, generation, |row| {
            let holds = members::holds(self.conn, replica_id, layer.id, &row.global_id)?;
            let inside = !row.deleted && visible(layer_def, self.caller, filter, &row);
            match (inside, holds) {
                (true, true) => each(Change::Update(&project(layer_def, row))),
                (true, false) => {
                    held.added.push(row.global_id.clone());
                    each(Change::Add(&project(layer_def, row)))
                }
                (false, true) => {
                    each(Change::Delete(&row.global_id))?;
                    held.removed.push(row.global_id);
                    Ok(())
                }
                (false, false) => Ok(()),
            }
        })?;
        Ok(held)
    }
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
