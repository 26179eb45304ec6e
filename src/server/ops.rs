//! The replica operations as blocking functions over the service core (database + definition):
//! createReplica, synchronizeReplica, unRegisterReplica, the replicas list and replica info.
//! They return protocol types (`ReplicaResponse`, `ReplicaInfo`, …) or a `ServiceError` for the
//! envelope; transport (embedded, URL, SQLite, async) is decided by `routes` and `jobs`. Must
//! only be called off the async runtime (`spawn_blocking`), with the core locked.

use super::apply::{self, ApplyOptions, ApplyOutcome, FailedEdit, LayerUpload};
use super::attachments::{self, DataBy};
use super::checks::{Caller, is_anonymous_owner};
use super::definition::{LayerDef, ServiceDefinition};
use super::store::{self, ReplicaLayerRecord, ReplicaRecord, Store, StoreError, StoredRow};
use super::where_clause::Condition;
use crate::protocol::catalog;
use crate::protocol::{
    Attachment, AttachmentChanges, AttachmentsSyncDirection, CreateReplicaParams, ErrorInfo,
    FeatureChanges, Guid, LayerServerGen, LayerSyncResult, QueryOption, ReplicaInfo,
    ReplicaLayerData, ReplicaLayerInfo, ReplicaListEntry, ReplicaResponse, ResponseType,
    ServiceError, SyncDirection, SyncModel, SyncReplicaParams,
};
use rusqlite::Connection;

/// The message and detail of the seed's "replica does not exist" envelope.
pub const REPLICA_MISSING_MESSAGE: &str = "Unable to complete operation.";
pub const REPLICA_MISSING_DETAIL: &str = "Replica with this GUID does not exist on the server";

/// Everything the operations work on; guarded by one mutex in `routes`.
pub struct Core {
    pub store: Store,
    pub def: ServiceDefinition,
    pub schema_version: i64,
    /// What the last breaking schema change was, for the error text.
    pub last_schema_change: Option<String>,
}

/// A failed operation: the envelope to send, or an internal database failure.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{0}")]
    Service(ServiceError),
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl From<ServiceError> for OpError {
    fn from(e: ServiceError) -> Self {
        OpError::Service(e)
    }
}

/// The envelope for a replica that is not registered (seed 004, verbatim).
pub fn replica_missing() -> ServiceError {
    ServiceError::new(
        404,
        REPLICA_MISSING_MESSAGE,
        vec![REPLICA_MISSING_DETAIL.into()],
    )
}

fn bad_request(detail: impl Into<String>) -> OpError {
    OpError::Service(ServiceError::new(
        400,
        "Unable to complete operation.",
        vec![detail.into()],
    ))
}

fn sync_disabled() -> OpError {
    bad_request("Sync is disabled on this service: the administrator terminated sync operations.")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A synchronizeReplica result.
#[derive(Debug)]
pub struct SyncOutcome {
    pub response: ReplicaResponse,
    /// Some uploaded edits failed (the job ends CompletedWithErrors).
    pub has_failed_edits: bool,
}

/// createReplica: registers the replica (unless syncModel=none) and returns its data.
pub fn create_replica(
    core: &mut Core,
    caller: &Caller,
    params: &CreateReplicaParams,
) -> Result<ReplicaResponse, OpError> {
    if !core.store.sync_enabled()? {
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
    let mut record = ReplicaRecord {
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
    };
    let registered = params.sync_model != SyncModel::None;
    let generation = if registered {
        core.store.register_replica(&mut record)?
    } else {
        core.store.current_gen()?
    };
    let data_by = if params.return_attachments_data_by_url {
        DataBy::Url
    } else {
        DataBy::Base64
    };
    let mut data = Vec::new();
    for layer in &record.layers {
        let features = replica_rows(&core.store.conn, &core.def, caller, layer)?;
        let attachments = if record.return_attachments {
            replica_attachments(&core.store.conn, &core.def, layer.id, &features, data_by)?
        } else {
            Vec::new()
        };
        data.push(ReplicaLayerData {
            id: layer.id,
            features,
            attachments,
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

/// The live attachments of the replica's `features` (those the caller may see).
fn replica_attachments(
    conn: &Connection,
    def: &ServiceDefinition,
    layer_id: i64,
    features: &[crate::protocol::Feature],
    data_by: DataBy,
) -> Result<Vec<Attachment>, StoreError> {
    if !def.layer(layer_id).is_some_and(|l| l.has_attachments) {
        return Ok(Vec::new());
    }
    let parents: std::collections::HashSet<String> = features
        .iter()
        .filter_map(|f| f.global_id())
        .map(|g| g.as_str().to_string())
        .collect();
    let mut out = Vec::new();
    for stored in store::live_attachments(conn, layer_id)? {
        if parents.contains(&stored.parent_global_id)
            && let Some(wire) = attachments::to_wire(conn, &stored, data_by)?
        {
            out.push(wire);
        }
    }
    Ok(out)
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

/// The layer's filter as a condition: `None` takes every row.
fn layer_filter(def: &ServiceDefinition, layer: &ReplicaLayerRecord) -> Option<Condition> {
    let layer_def = def.layer(layer.id)?;
    match (layer.query_option, layer.where_clause.as_deref()) {
        (QueryOption::UseFilter, Some(clause)) => {
            Condition::parse(clause, &|n| layer_def.field(n).is_some()).ok()
        }
        _ => None,
    }
}

/// The rows of one replica layer the caller may see, as features.
fn replica_rows(
    conn: &Connection,
    def: &ServiceDefinition,
    caller: &Caller,
    layer: &ReplicaLayerRecord,
) -> Result<Vec<crate::protocol::Feature>, StoreError> {
    let Some(layer_def) = def.layer(layer.id) else {
        return Ok(Vec::new());
    };
    if layer.query_option == QueryOption::None {
        return Ok(Vec::new());
    }
    let filter = layer_filter(def, layer);
    Ok(store::live_rows(conn, layer.id)?
        .into_iter()
        .filter(|row| visible(layer_def, caller, filter.as_ref(), row))
        .map(|row| project(layer_def, row))
        .collect())
}

/// The row as a feature with only the layer's current fields (a dropped field disappears) and
/// its true curves densified (clients do not edit curves).
fn project(layer: &LayerDef, row: StoredRow) -> crate::protocol::Feature {
    let mut feature = row.into_feature();
    feature
        .attributes
        .retain(|name, _| layer.field(name).is_some());
    if layer.is_table() {
        feature.geometry = None;
    }
    if let Some(geometry) = feature.geometry.as_mut()
        && super::curves::has_true_curves(geometry)
    {
        *geometry = super::curves::densify(geometry);
    }
    feature
}

/// Whether `caller` may see a feature owned by `owner` (createReplica data, downloads).
fn owner_visible(layer: &LayerDef, caller: &Caller, owner: &str) -> bool {
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

fn visible(layer: &LayerDef, caller: &Caller, filter: Option<&Condition>, row: &StoredRow) -> bool {
    owner_visible(layer, caller, &row.owner) && filter.is_none_or(|c| c.matches(&row.attributes))
}

fn set_generations(
    response: &mut ReplicaResponse,
    record: &ReplicaRecord,
    generation: i64,
    layer_ids: impl Iterator<Item = i64>,
) {
    match record.sync_model {
        SyncModel::PerLayer => {
            response.layer_server_gens = layer_ids
                .map(|id| LayerServerGen {
                    id,
                    server_gen: generation,
                    server_sib_gen: None,
                })
                .collect();
        }
        _ => response.replica_server_gen = Some(generation),
    }
}

/// One layer's part in a sync.
#[derive(Debug, Clone)]
struct LayerPlan {
    id: i64,
    direction: SyncDirection,
    client_gen: i64,
}

/// synchronizeReplica, all in one transaction.
pub fn synchronize(
    core: &mut Core,
    caller: &Caller,
    params: &SyncReplicaParams,
) -> Result<SyncOutcome, OpError> {
    let started = std::time::Instant::now();
    if !core.store.sync_enabled()? {
        return Err(sync_disabled());
    }
    let mut record = core
        .store
        .replica(&params.replica_id)?
        .ok_or_else(replica_missing)?;
    if record.schema_version != core.schema_version {
        let what = core
            .last_schema_change
            .clone()
            .unwrap_or_else(|| "the schema changed".into());
        return Err(bad_request(format!(
            "Replica generation is not valid any more: the service schema changed after the replica was created ({what}). Create a new replica."
        )));
    }
    let plan = plan_layers(&record, params)?;
    let current = core.store.current_gen()?;
    if let Some(bad) = plan
        .iter()
        .find(|p| p.client_gen > current || p.client_gen < 0)
    {
        return Err(bad_request(format!(
            "Invalid replica generation {} for layer {}: the server is at generation {current}.",
            bad.client_gen, bad.id
        )));
    }
    let def = &core.def;
    let tx = core.store.conn.transaction().map_err(StoreError::from)?;
    let generation = store::next_gen(&tx)?;
    let uploads = |id: i64| upload_mode(&plan, id);
    let options = ApplyOptions {
        def,
        caller,
        generation,
        rollback_on_failure: params.rollback_on_failure.unwrap_or(false),
        return_ids_for_adds: params.return_ids_for_adds,
        attachments_upload: record.attachments_sync_direction != AttachmentsSyncDirection::None,
    };
    let (mut results, failed, applied) =
        match apply::apply_edits(&tx, &params.edits, &uploads, &options)? {
            ApplyOutcome::RolledBack(failure) => {
                drop(tx);
                return Err(OpError::Service(rolled_back(&failure, &params.edits)));
            }
            ApplyOutcome::Applied {
                results,
                failed,
                applied,
            } => (results, failed, applied),
        };
    let data_by = if params.return_attachment_data_by_url {
        DataBy::Url
    } else {
        DataBy::Base64
    };
    let (downloads, snapshot) = download(&tx, def, caller, &record, &plan, generation, data_by)?;
    merge_downloads(&mut results, downloads);
    record.last_sync_ms = Some(now_ms());
    for p in &plan {
        if let Some(layer) = record.layers.iter_mut().find(|l| l.id == p.id) {
            layer.server_gen = generation;
        }
    }
    record.server_gen = generation;
    if params.close_replica {
        tx.execute(
            "DELETE FROM replicas WHERE replica_id = ?1",
            [record.replica_id.as_str()],
        )
        .map_err(StoreError::from)?;
    } else {
        store::put_replica(&tx, &record)?;
    }
    tx.commit().map_err(StoreError::from)?;
    core.store.checkpoint_soon();
    let response_type = response_type(&plan, &results, &snapshot);
    let mut response = ReplicaResponse {
        replica_name: Some(record.name.clone()),
        replica_id: Some(record.replica_id.clone()),
        transport_type: Some(params.transport_type),
        response_type: Some(response_type),
        edits: results,
        layers: snapshot,
        ..Default::default()
    };
    set_generations(
        &mut response,
        &record,
        generation,
        plan.iter().map(|p| p.id),
    );
    tracing::info!(
        replica = %record.replica_id,
        generation,
        applied,
        failed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "replica synchronized"
    );
    Ok(SyncOutcome {
        response,
        has_failed_edits: failed > 0,
    })
}

fn plan_layers(
    record: &ReplicaRecord,
    params: &SyncReplicaParams,
) -> Result<Vec<LayerPlan>, OpError> {
    let stored_gen = |id: i64| {
        record
            .layers
            .iter()
            .find(|l| l.id == id)
            .map(|l| l.server_gen)
            .unwrap_or(record.server_gen)
    };
    if record.sync_model != SyncModel::PerLayer || params.sync_layers.is_empty() {
        let client_gen = params.replica_server_gen.unwrap_or(record.server_gen);
        return Ok(record
            .layers
            .iter()
            .map(|l| LayerPlan {
                id: l.id,
                direction: params.sync_direction,
                client_gen: if record.sync_model == SyncModel::PerLayer {
                    stored_gen(l.id)
                } else {
                    client_gen
                },
            })
            .collect());
    }
    params
        .sync_layers
        .iter()
        .map(|spec| {
            if !record.layers.iter().any(|l| l.id == spec.id) {
                return Err(bad_request(format!(
                    "Layer {} does not exist in this replica",
                    spec.id
                )));
            }
            Ok(LayerPlan {
                id: spec.id,
                direction: spec.sync_direction.unwrap_or(params.sync_direction),
                client_gen: spec.server_gen.unwrap_or_else(|| stored_gen(spec.id)),
            })
        })
        .collect()
}

fn upload_mode(plan: &[LayerPlan], id: i64) -> LayerUpload {
    match plan.iter().find(|p| p.id == id) {
        None => LayerUpload::NotFound,
        Some(p)
            if matches!(
                p.direction,
                SyncDirection::Upload | SyncDirection::Bidirectional
            ) =>
        {
            LayerUpload::Apply
        }
        Some(_) => LayerUpload::Ignore,
    }
}

/// The rollback envelope: the failed edit first (as in seed 004), then a 2000 per layer whose
/// edits were rolled back with it.
fn rolled_back(failure: &FailedEdit, edits: &[crate::protocol::LayerEdits]) -> ServiceError {
    let mut error = ServiceError::new(400, catalog::describe(1003, ""), Vec::new());
    error.infos.push(ErrorInfo {
        error_code: Some(failure.code),
        description: failure.description.clone(),
        layer_id: Some(failure.layer_id),
        object_guid: failure.global_id.clone(),
        object_type: Some(failure.object_type.code()),
    });
    for layer in edits
        .iter()
        .filter(|l| !l.features.is_empty() || !l.attachments.is_empty())
    {
        error.infos.push(ErrorInfo {
            error_code: Some(2000),
            description: catalog::describe(2000, &layer.id.to_string()),
            layer_id: Some(layer.id),
            object_guid: None,
            object_type: Some(0),
        });
    }
    error
}

type Downloads = (Vec<LayerSyncResult>, Vec<ReplicaLayerData>);

/// Server changes since each layer's client generation (edits), or replacement data (snapshot).
fn download(
    conn: &Connection,
    def: &ServiceDefinition,
    caller: &Caller,
    record: &ReplicaRecord,
    plan: &[LayerPlan],
    generation: i64,
    data_by: DataBy,
) -> Result<Downloads, StoreError> {
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

fn layer_changes(
    conn: &Connection,
    def: &ServiceDefinition,
    caller: &Caller,
    layer: &ReplicaLayerRecord,
    client_gen: i64,
    generation: i64,
) -> Result<FeatureChanges, StoreError> {
    let mut changes = FeatureChanges::default();
    let Some(layer_def) = def.layer(layer.id) else {
        return Ok(changes);
    };
    if layer.query_option == QueryOption::None {
        return Ok(changes);
    }
    let filter = layer_filter(def, layer);
    for row in store::changes_between(conn, layer.id, client_gen, generation)? {
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
fn attachment_changes(
    conn: &Connection,
    def: &ServiceDefinition,
    caller: &Caller,
    layer: &ReplicaLayerRecord,
    client_gen: i64,
    generation: i64,
    data_by: DataBy,
) -> Result<AttachmentChanges, StoreError> {
    let mut changes = AttachmentChanges::default();
    let Some(layer_def) = def.layer(layer.id).filter(|l| l.has_attachments) else {
        return Ok(changes);
    };
    if layer.query_option == QueryOption::None {
        return Ok(changes);
    }
    let filter = layer_filter(def, layer);
    for stored in store::attachment_changes_between(conn, layer.id, client_gen, generation)? {
        let is_new = stored.created_gen > client_gen;
        if stored.deleted {
            if !is_new {
                changes.delete_ids.push(stored.global_id.clone());
            }
            continue;
        }
        let parent = match Guid::parse(&stored.parent_global_id) {
            Ok(gid) => store::row_by_global_id(conn, layer.id, &gid)?,
            Err(_) => None,
        };
        let Some(parent) = parent.filter(|p| !p.deleted) else {
            continue;
        };
        if !visible(layer_def, caller, filter.as_ref(), &parent) {
            continue;
        }
        if let Some(wire) = attachments::to_wire(conn, &stored, data_by)? {
            if is_new {
                changes.adds.push(wire);
            } else {
                changes.updates.push(wire);
            }
        }
    }
    Ok(changes)
}

fn merge_downloads(results: &mut Vec<LayerSyncResult>, downloads: Vec<LayerSyncResult>) {
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

fn response_type(
    plan: &[LayerPlan],
    edits: &[LayerSyncResult],
    snapshot: &[ReplicaLayerData],
) -> ResponseType {
    let all_snapshot = plan.iter().all(|p| p.direction == SyncDirection::Snapshot);
    if !plan.is_empty() && all_snapshot {
        ResponseType::ReplacementData
    } else if !snapshot.is_empty() {
        ResponseType::EditsAndData
    } else if edits.is_empty() {
        ResponseType::NoEdits
    } else {
        ResponseType::Edits
    }
}

/// unRegisterReplica: one replica, or `*` for every replica the caller may remove.
pub fn unregister(core: &mut Core, caller: &Caller, replica_id: &str) -> Result<usize, OpError> {
    if replica_id.trim() == "*" {
        let owner = (!caller.is_admin).then_some(caller.name.as_str());
        return Ok(core.store.delete_replicas_of(owner)?);
    }
    let id = parse_replica_id(replica_id)?;
    if core.store.delete_replica(&id)? {
        tracing::info!(replica = %id, "replica unregistered");
        Ok(1)
    } else {
        Err(OpError::Service(replica_missing()))
    }
}

/// A replica id from a path or parameter: braced, bare or URL-decoded text.
pub fn parse_replica_id(text: &str) -> Result<Guid, OpError> {
    Guid::parse(text).map_err(|e| bad_request(format!("'replicaID' is invalid: {e}")))
}

/// The replicas resource (admins see all, others their own and anonymous ones).
pub fn list(core: &Core, caller: &Caller) -> Result<Vec<ReplicaListEntry>, OpError> {
    Ok(core
        .store
        .replicas()?
        .into_iter()
        .filter(|r| {
            caller.is_admin
                || r.owner == caller.name
                || r.owner.is_empty()
                || caller.name.is_empty()
        })
        .map(|r| ReplicaListEntry {
            replica_name: r.name,
            replica_id: r.replica_id,
        })
        .collect())
}

/// The `replicas/<id>` resource.
pub fn info(core: &Core, replica_id: &Guid) -> Result<ReplicaInfo, OpError> {
    let r = core
        .store
        .replica(replica_id)?
        .ok_or_else(replica_missing)?;
    let per_layer = r.sync_model == SyncModel::PerLayer;
    Ok(ReplicaInfo {
        replica_name: r.name.clone(),
        replica_id: Some(r.replica_id.clone()),
        replica_owner: r.owner.clone(),
        sync_model: Some(r.sync_model),
        replica_server_gen: (!per_layer).then_some(r.server_gen),
        layer_server_gens: if per_layer {
            r.layers
                .iter()
                .map(|l| LayerServerGen {
                    id: l.id,
                    server_gen: l.server_gen,
                    server_sib_gen: Some(-1),
                })
                .collect()
        } else {
            Vec::new()
        },
        creation_date: Some(r.created_ms),
        last_sync_date: r.last_sync_ms,
        return_attachments: r.return_attachments,
        attachments_sync_direction: Some(r.attachments_sync_direction),
        spatial_rel: Some("esriSpatialRelIntersects".into()),
        target_type: Some("client".into()),
        sync_direction: Some(r.sync_direction),
        geometry: None,
        layers: r
            .layers
            .iter()
            .map(|l| ReplicaLayerInfo {
                id: l.id,
                query_option: Some(l.query_option),
                use_geometry: false,
                include_related: false,
                where_clause: l.where_clause.clone(),
                server_gen: Some(l.server_gen),
            })
            .collect(),
        spatial_reference: core.def.spatial_reference.clone(),
        error: None,
    })
}

/// The content type and data of a live attachment under `layer_id` / `object_id` (its parent's
/// object id), when the caller may see the parent.
pub fn attachment_data(
    core: &Core,
    caller: &Caller,
    layer_id: i64,
    object_id: i64,
    attachment_id: i64,
) -> Result<Option<(String, Vec<u8>)>, OpError> {
    let Some(layer) = core.def.layer(layer_id).filter(|l| l.has_attachments) else {
        return Ok(None);
    };
    let conn = &core.store.conn;
    let Some(stored) = store::attachment_under(conn, layer_id, object_id, attachment_id)? else {
        return Ok(None);
    };
    let parent = match Guid::parse(&stored.parent_global_id) {
        Ok(gid) => store::row_by_global_id(conn, layer_id, &gid)?,
        Err(_) => None,
    };
    if !parent.is_some_and(|p| owner_visible(layer, caller, &p.owner)) {
        return Ok(None);
    }
    Ok(store::attachment_data(conn, attachment_id)?.map(|data| (stored.content_type, data)))
}
