//! The replica resources: unRegisterReplica, the replicas list, `replicas/<id>` and an
//! attachment's data (the attachment URL), each with the caller's ownership rules (replicas:
//! `replica_access`; features: `caller_view`).

use super::caller_view::owner_visible;
use super::replica_access::{accessible_replica, may_act_on};
use super::{Core, OpError, bad_request};
use crate::protocol::rules::Caller;
use crate::protocol::{
    Guid, LayerServerGen, ReplicaInfo, ReplicaLayerInfo, ReplicaListEntry, SyncModel,
};
use crate::server::db;

/// unRegisterReplica: one replica the caller may act on, or `*` for every replica the caller
/// may act on (all of them for an administrator). Another user's replica is "does not exist".
pub fn unregister(core: &mut Core, caller: &Caller, replica_id: &str) -> Result<usize, OpError> {
    if replica_id.trim() == "*" {
        let removed = core
            .db
            .delete_replicas_where(|r| may_act_on(caller, &r.owner))?;
        tracing::info!(removed, caller = %caller.name, "replicas unregistered (replicaID=*)");
        return Ok(removed);
    }
    let id = parse_replica_id(replica_id)?;
    accessible_replica(core, caller, &id)?;
    core.db.delete_replica(&id)?;
    tracing::info!(replica = %id, "replica unregistered");
    Ok(1)
}

/// A replica id from a path or parameter: braced, bare or URL-decoded text.
pub fn parse_replica_id(text: &str) -> Result<Guid, OpError> {
    Guid::parse(text).map_err(|e| bad_request(format!("'replicaID' is invalid: {e}")))
}

/// The replicas resource: admins see all, others the replicas they may act on (a signed-in
/// user their own, an anonymous caller the anonymous ones).
pub fn list(core: &Core, caller: &Caller) -> Result<Vec<ReplicaListEntry>, OpError> {
    Ok(core
        .db
        .replicas()?
        .into_iter()
        .filter(|r| may_act_on(caller, &r.owner))
        .map(|r| ReplicaListEntry {
            replica_name: r.name,
            replica_id: r.replica_id,
        })
        .collect())
}

/// The `replicas/<id>` resource, for a replica the caller may act on.
pub fn info(core: &Core, caller: &Caller, replica_id: &Guid) -> Result<ReplicaInfo, OpError> {
    let r = accessible_replica(core, caller, replica_id)?;
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
        geometry: r.geometry.clone(),
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
    let conn = &core.db.conn;
    let Some(stored) = db::attachment_under(conn, layer_id, object_id, attachment_id)? else {
        return Ok(None);
    };
    let parent = match Guid::parse(&stored.parent_global_id) {
        Ok(gid) => db::row_by_global_id(conn, layer_id, &gid)?,
        Err(_) => None,
    };
    if !parent.is_some_and(|p| owner_visible(layer, caller, &p.owner)) {
        return Ok(None);
    }
    Ok(db::attachment_data(conn, attachment_id)?.map(|data| (stored.content_type, data)))
}
