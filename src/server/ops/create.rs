//! createReplica: checks the request's layers, filters and attachment settings, registers the
//! replica (unless syncModel=none) at a fresh generation and returns its data: the rows and
//! attachments of each layer the caller may see.

use super::attachment_wire::DataBy;
use super::caller_view::{replica_attachments, replica_rows};
use super::{Core, OpError, bad_request, set_generations, sync_disabled};
use crate::protocol::rules::Caller;
use crate::protocol::{
    AttachmentsSyncDirection, CreateReplicaParams, Guid, QueryOption, ReplicaLayerData,
    ReplicaResponse, ResponseType, SyncDirection, SyncModel,
};
use crate::server::db::{RegisteredReplica, ReplicaLayerRecord};
use crate::server::definition::LayerDef;
use crate::server::now_ms;
use crate::server::where_clause::Condition;

/// createReplica: registers the replica (unless syncModel=none) and returns its data.
pub fn create_replica(
    core: &mut Core,
    caller: &Caller,
    params: &CreateReplicaParams,
) -> Result<ReplicaResponse, OpError> {
    if !core.db.sync_enabled()? {
        return Err(sync_disabled());
    }
    if params.layers.is_empty() {
        return Err(bad_request("'layers' names no layer"));
    }
    let attachments_sync_direction = attachments_direction(params)?;
    let mut layers = Vec::new();
    for id in &params.layers {
        let layer = core
            .def
            .layer(*id)
            .ok_or_else(|| bad_request(format!("Layer {id} does not exist in this service")))?;
        layers.push(layer_record(layer, params)?);
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
        server_gen: 0,
        schema_version: core.schema_version,
        created_ms: now_ms(),
        last_sync_ms: None,
        geometry: params.geometry.as_deref().and_then(geometry_json),
    };
    let registered = params.sync_model != SyncModel::None;
    let generation = if registered {
        core.db.register_replica(&mut record)?
    } else {
        core.db.current_gen()?
    };
    let data_by = if params.return_attachments_data_by_url {
        DataBy::Url
    } else {
        DataBy::Base64
    };
    let mut data = Vec::new();
    for layer in &record.layers {
        let features = replica_rows(&core.db.conn, &core.def, caller, layer)?;
        let attachments = if record.return_attachments {
            replica_attachments(&core.db.conn, &core.def, layer.id, &features, data_by)?
        } else {
            Vec::new()
        };
        data.push(ReplicaLayerData {
            id: layer.id,
            features,
            attachments,
            ..Default::default()
        });
    }
    let mut response = ReplicaResponse {
        replica_name: Some(record.name.clone()),
        transport_type: Some(params.transport_type),
        response_type: Some(ResponseType::Data),
        layers: data,
        ..Default::default()
    };
    if registered {
        response.replica_id = Some(record.replica_id.clone());
        set_generations(
            &mut response,
            &record,
            generation,
            record.layers.iter().map(|l| l.id),
        );
    }
    tracing::info!(replica = %record.replica_id, registered, generation, "replica created");
    Ok(response)
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

fn layer_record(
    layer: &LayerDef,
    params: &CreateReplicaParams,
) -> Result<ReplicaLayerRecord, OpError> {
    let query = params.layer_queries.get(&layer.id.to_string());
    let where_clause = query
        .and_then(|q| q.where_clause.clone())
        .filter(|w| !w.trim().is_empty());
    let query_option = match query.and_then(|q| q.query_option) {
        Some(option) => option,
        None if where_clause.is_some() => QueryOption::UseFilter,
        None => QueryOption::All,
    };
    if query_option == QueryOption::UseFilter
        && let Some(clause) = &where_clause
    {
        parse_where(layer, clause)?;
    }
    Ok(ReplicaLayerRecord {
        id: layer.id,
        query_option,
        where_clause,
        server_gen: 0,
    })
}

fn parse_where(layer: &LayerDef, clause: &str) -> Result<Condition, OpError> {
    Condition::parse(clause, &|name| layer.field(name).is_some())
        .map_err(|e| bad_request(format!("Invalid where clause for layer {}: {e}", layer.id)))
}

/// createReplica's `geometry` as JSON: geometry JSON text as given, or the envelope
/// `xmin,ymin,xmax,ymax`; `None` when it is neither.
fn geometry_json(text: &str) -> Option<serde_json::Value> {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
        && value.is_object()
    {
        return Some(value);
    }
    let corners: Vec<f64> = text
        .split(',')
        .map(|n| n.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    match corners[..] {
        [xmin, ymin, xmax, ymax] => {
            Some(serde_json::json!({"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}))
        }
        _ => None,
    }
}
