//! createReplica: checks the request's layers, filters, work area and attachment settings,
//! writes its data into a [`ReplicaSink`] row by row as it reads it (the rows and attachments
//! of each layer the caller may see inside its filters), then registers the replica (unless
//! syncModel=none) at a fresh generation, with what its area-filtered layers hold. It must not
//! collect the features: a replica of a million polygons passes through in bounded memory.

use super::area::{read_area, service_sr};
use super::attachment_wire::DataBy;
use super::caller_view::{for_each_replica_feature, layer_filter, replica_attachments};
use super::replica_sink::ReplicaSink;
use super::{Core, OpError, bad_request, set_generations, sync_disabled};
use crate::protocol::rules::Caller;
use crate::protocol::spatial::Shape;
use crate::protocol::{
    AttachmentsSyncDirection, CreateReplicaParams, Guid, QueryOption, ReplicaResponse,
    ResponseType, SyncDirection, SyncModel,
};
use crate::server::db::{RegisteredReplica, ReplicaArea, ReplicaLayerRecord};
use crate::server::definition::{LayerDef, ServiceDefinition};
use crate::server::now_ms;
use crate::server::where_clause::Condition;
use std::collections::HashSet;

/// createReplica: writes the replica's data into `sink` as it is read, registers the replica
/// (unless syncModel=none) and returns the reply without its `layers`, for the sink's owner to
/// complete the output with. Nothing but the GlobalIDs a work-area replica holds, and the parents and metadata of
/// returned attachments, is kept in memory.
pub fn create_replica(
    core: &mut Core,
    caller: &Caller,
    params: &CreateReplicaParams,
    sink: &mut dyn ReplicaSink,
) -> Result<ReplicaResponse, OpError> {
    if !core.db.sync_enabled()? {
        return Err(sync_disabled());
    }
    if params.layers.is_empty() {
        return Err(bad_request("'layers' names no layer"));
    }
    let attachments_sync_direction = attachments_direction(params)?;
    let area = work_area(&core.def, params)?;
    let mut layers = Vec::new();
    for id in &params.layers {
        let layer = core
            .def
            .layer(*id)
            .ok_or_else(|| bad_request(format!("Layer {id} does not exist in this service")))?;
        layers.push(layer_record(layer, params, area.is_some())?);
    }
    let mut record = RegisteredReplica {
        replica_id: Guid::new_v4(),
        name: params.replica_name.clone(),
        owner: caller.name.clone(),
        sync_model: params.sync_model,
        sync_direction: params
            .sync_direction
            .unwrap_or(SyncDirection::Bidirectional),
        return_attachments: params.return_attachments,
        attachments_sync_direction,
        layers,
        area: area.as_ref().map(|shape| {
            let (geometry_type, geometry) = shape.to_esri(service_sr(&core.def));
            ReplicaArea {
                geometry_type: geometry_type.to_string(),
                geometry,
            }
        }),
        server_gen: 0,
        schema_version: core.schema_version,
        created_ms: now_ms(),
        last_sync_ms: None,
    };
    let data_by = if params.return_attachments_data_by_url {
        DataBy::Url
    } else {
        DataBy::Base64
    };
    let mut members = Vec::new();
    let mut features_written = 0_u64;
    for layer in &record.layers {
        let filter = layer_filter(&core.def, area.as_ref(), layer);
        let holds = filter.has_area();
        let with_attachments = record.return_attachments
            && core.def.layer(layer.id).is_some_and(|l| l.has_attachments);
        let mut held = Vec::new();
        let mut parents = HashSet::new();
        sink.begin_layer(layer.id)?;
        for_each_replica_feature(
            &core.db.conn,
            &core.def,
            caller,
            &filter,
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
                features_written += 1;
                sink.feature(&feature)
            },
        )?;
        if holds {
            members.push((layer.id, held));
        }
        let attachments = if with_attachments {
            replica_attachments(&core.db.conn, &core.def, layer.id, &parents, data_by)?
        } else {
            Vec::new()
        };
        sink.end_layer(attachments)?;
    }
    let registered = params.sync_model != SyncModel::None;
    let generation = if registered {
        core.db.register_replica(&mut record, &members)?
    } else {
        core.db.current_gen()?
    };
    let mut header = ReplicaResponse {
        replica_name: Some(record.name.clone()),
        transport_type: Some(params.transport_type),
        response_type: Some(ResponseType::Data),
        ..Default::default()
    };
    if registered {
        header.replica_id = Some(record.replica_id.clone());
        set_generations(
            &mut header,
            &record,
            generation,
            record.layers.iter().map(|l| l.id),
        );
    }
    tracing::info!(replica = %record.replica_id, registered, generation, features = features_written, "replica created");
    Ok(header)
}

/// `attachmentsSyncDirection`, defaulting as the Runtime does: bidirectional when attachments are
/// returned, none otherwise. Returned attachments cannot sync `none`; attachments that are not
/// returned cannot sync `bidirectional` (the replica would miss the older ones).
fn attachments_direction(
    params: &CreateReplicaParams,
) -> Result<AttachmentsSyncDirection, OpError> {
    let direction = params
        .attachments_sync_direction
        .unwrap_or(if params.return_attachments {
            AttachmentsSyncDirection::Bidirectional
        } else {
            AttachmentsSyncDirection::None
        });
    let consistent = match direction {
        AttachmentsSyncDirection::Upload => true,
        AttachmentsSyncDirection::Bidirectional => params.return_attachments,
        AttachmentsSyncDirection::None => !params.return_attachments,
    };
    if consistent {
        Ok(direction)
    } else {
        Err(bad_request(format!(
            "attachmentsSyncDirection {direction} does not fit returnAttachments={}: use bidirectional or upload with returned attachments, upload or none without",
            params.return_attachments
        )))
    }
}

/// createReplica's `geometry` (with `geometryType` and `inSR`) in the service's spatial
/// reference; refused, before anything is made, when it cannot be read or converted.
fn work_area(
    def: &ServiceDefinition,
    params: &CreateReplicaParams,
) -> Result<Option<Shape>, OpError> {
    let Some(geometry) = params.geometry.as_deref().filter(|g| !g.trim().is_empty()) else {
        return Ok(None);
    };
    let shape = read_area(
        def,
        geometry,
        params.geometry_type.as_deref(),
        params.in_sr.as_deref(),
        "Unable to complete operation.",
    )?;
    Ok(Some(shape))
}

/// One layer's part of the replica (`layerQueries`). With a work area, a layer without an
/// entry, or whose entry leaves `queryOption` out, is filtered by it (`useFilter`); `useGeometry`
/// defaults to true; `queryOption` `all` takes every row and `none` none.
fn layer_record(
    layer: &LayerDef,
    params: &CreateReplicaParams,
    has_area: bool,
) -> Result<ReplicaLayerRecord, OpError> {
    let query = params.layer_queries.get(&layer.id.to_string());
    let where_clause = query
        .and_then(|q| q.where_clause.clone())
        .filter(|w| !w.trim().is_empty());
    let use_geometry =
        has_area && !layer.is_table() && query.and_then(|q| q.use_geometry).unwrap_or(true);
    let query_option = match query.and_then(|q| q.query_option) {
        Some(option) => option,
        None if where_clause.is_some() || use_geometry => QueryOption::UseFilter,
        None => QueryOption::All,
    };
    let use_geometry = use_geometry && query_option == QueryOption::UseFilter;
    if query_option == QueryOption::UseFilter
        && let Some(clause) = &where_clause
    {
        parse_where(layer, clause)?;
    }
    Ok(ReplicaLayerRecord {
        id: layer.id,
        query_option,
        where_clause,
        use_geometry,
        server_gen: 0,
    })
}

fn parse_where(layer: &LayerDef, clause: &str) -> Result<Condition, OpError> {
    Condition::parse(clause, &|name| layer.field(name).is_some())
        .map_err(|e| bad_request(format!("Invalid where clause for layer {}: {e}", layer.id)))
}
