//! What a caller may see of a replica layer: its live rows that pass the layer's filter (its
//! `where` and, with `useGeometry`, the replica's work area) and the layer's ownership rules,
//! projected to the layer's current fields with true curves densified (one at a time, so a
//! replica of any size passes through in bounded memory), and the live attachments of those
//! rows. Read-only.

use super::area::feature_shape;
use super::attachment_wire::{self, DataBy};
use crate::protocol::rules::{Caller, is_anonymous_owner};
use crate::protocol::spatial::{Shape, SpatialRel};
use crate::protocol::{Attachment, Feature, QueryOption};
use crate::server::curves;
use crate::server::db::{self, RegisteredReplica, ReplicaLayerRecord, ServiceDbError, StoredRow};
use crate::server::definition::{LayerDef, ServiceDefinition};
use crate::server::where_clause::Condition;
use rusqlite::Connection;
use std::collections::HashSet;

/// The live attachments of the replica's features (the caller may see), named by their
/// GlobalIDs (`parents`).
pub(super) fn replica_attachments(
    conn: &Connection,
    def: &ServiceDefinition,
    layer_id: i64,
    parents: &HashSet<String>,
    data_by: DataBy,
) -> Result<Vec<Attachment>, ServiceDbError> {
    if !def.layer(layer_id).is_some_and(|l| l.has_attachments) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for stored in db::live_attachments(conn, layer_id)? {
        if parents.contains(&stored.parent_global_id)
            && let Some(wire) = attachment_wire::to_wire(conn, &stored, data_by)?
        {
            out.push(wire);
        }
    }
    Ok(out)
}

/// Which rows of a layer a replica takes: its `where` condition and its work area (under
/// `useFilter`); neither takes every row.
#[derive(Debug, Default)]
pub(super) struct RowFilter {
    condition: Option<Condition>,
    area: Option<Shape>,
}

impl RowFilter {
    /// Whether the replica's filter is spatial (so what it holds is tracked, `db::members`).
    pub(super) fn has_area(&self) -> bool {
        self.area.is_some()
    }

    fn admits(&self, layer: &LayerDef, row: &StoredRow) -> bool {
        self.condition
            .as_ref()
            .is_none_or(|c| c.matches(&row.attributes))
            && self.area.as_ref().is_none_or(|area| {
                feature_shape(layer, row.geometry.as_ref())
                    .is_some_and(|shape| SpatialRel::Intersects.holds(area, &shape))
            })
    }
}

/// The replica's work area as a shape (in the service's spatial reference).
pub(super) fn area_shape(record: &RegisteredReplica) -> Option<Shape> {
    let area = record.area.as_ref()?;
    Shape::from_feature(Some(&area.geometry_type), &area.geometry)
}

/// The layer's filter: `where` and, with `useGeometry`, the replica's `area`.
pub(super) fn layer_filter(
    def: &ServiceDefinition,
    area: Option<&Shape>,
    layer: &ReplicaLayerRecord,
) -> RowFilter {
    let Some(layer_def) = def.layer(layer.id) else {
        return RowFilter::default();
    };
    if layer.query_option != QueryOption::UseFilter {
        return RowFilter::default();
    }
    RowFilter {
        condition: layer
            .where_clause
            .as_deref()
            .and_then(|clause| Condition::parse(clause, &|n| layer_def.field(n).is_some()).ok()),
        area: area
            .filter(|_| layer.use_geometry && !layer_def.is_table())
            .cloned(),
    }
}

/// The rows of one replica layer the caller may see, as features, each handed to `each` as it
/// is read from the database, so a layer of any size passes through in bounded memory.
pub(super) fn for_each_replica_feature<E: From<ServiceDbError>>(
    conn: &Connection,
    def: &ServiceDefinition,
    caller: &Caller,
    filter: &RowFilter,
    layer: &ReplicaLayerRecord,
    mut each: impl FnMut(Feature) -> Result<(), E>,
) -> Result<(), E> {
    let Some(layer_def) = def.layer(layer.id) else {
        return Ok(());
    };
    if layer.query_option == QueryOption::None {
        return Ok(());
    }
    db::for_each_live_row(conn, layer.id, |row| {
        if visible(layer_def, caller, filter, &row) {
            each(project(layer_def, row))
        } else {
            Ok(())
        }
    })
}

/// The row as a feature with only the layer's current fields (a dropped field disappears) and
/// its true curves densified (clients do not edit curves).
pub(super) fn project(layer: &LayerDef, row: StoredRow) -> Feature {
    let mut feature = row.into_feature();
    feature
        .attributes
        .retain(|name, _| layer.field(name).is_some());
    if layer.is_table() {
        feature.geometry = None;
    }
    if let Some(geometry) = feature.geometry.as_mut()
        && curves::has_true_curves(geometry)
    {
        *geometry = curves::densify(geometry);
    }
    feature
}

/// Whether `caller` may see a feature owned by `owner` (createReplica data, downloads).
pub(super) fn owner_visible(layer: &LayerDef, caller: &Caller, owner: &str) -> bool {
    match layer.ownership.as_ref() {
        None => true,
        Some(rules) => {
            rules.allow_others_to_query
                || caller.is_admin
                || is_anonymous_owner(owner)
                || owner == caller.name
        }
    }
}

pub(super) fn visible(
    layer: &LayerDef,
    caller: &Caller,
    filter: &RowFilter,
    row: &StoredRow,
) -> bool {
    owner_visible(layer, caller, &row.owner) && filter.admits(layer, row)
}
