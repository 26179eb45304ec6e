//! synchronizeReplica, all in one transaction: checks the replica and its generations, applies
//! the uploaded edits (through `apply`), writes the server's changes with the upload's results
//! into a [`ReplicaSink`] row by row (through `download`), records what an area-filtered replica
//! now holds, moves the replica's generations and returns the reply without its `edits` and
//! `layers`, or rolls everything back on a failed edit under rollbackOnFailure (before anything
//! is written into the sink). It must not collect the downloaded features.

use super::attachment_wire::DataBy;
use super::download::{Download, record_holdings};
use super::plan::{LayerPlan, plan_layers, upload_mode};
use super::replica_access::accessible_replica;
use super::replica_sink::ReplicaSink;
use super::{Core, OpError, bad_request, set_generations, sync_disabled};
use crate::protocol::catalog;
use crate::protocol::rules::Caller;
use crate::protocol::{
    AttachmentsSyncDirection, ErrorInfo, LayerEdits, ReplicaResponse, ResponseType, ServiceError,
    SyncDirection, SyncReplicaParams,
};
use crate::server::apply::{self, ApplyOptions, ApplyOutcome, FailedEdit};
use crate::server::db::{self, RegisteredReplica, ServiceDbError, members};
use crate::server::now_ms;

/// A synchronizeReplica result.
#[derive(Debug)]
pub struct SyncOutcome {
    /// The reply without its `edits` and `layers` (they are in the sink), for the sink's owner
    /// to complete the output with.
    pub response: ReplicaResponse,
    /// Some uploaded edits failed (the job ends CompletedWithErrors).
    pub has_failed_edits: bool,
}

/// synchronizeReplica, all in one transaction; the reply's `edits` and `layers` are written
/// into `sink` as they are read.
pub fn synchronize(
    core: &mut Core,
    caller: &Caller,
    params: &SyncReplicaParams,
    sink: &mut dyn ReplicaSink,
) -> Result<SyncOutcome, OpError> {
    let started = std::time::Instant::now();
    if !core.db.sync_enabled()? {
        return Err(sync_disabled());
    }
    let mut record = accessible_replica(core, caller, &params.replica_id)?;
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
    let current = core.db.current_gen()?;
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
    let tx = core.db.conn.transaction().map_err(ServiceDbError::from)?;
    let generation = db::next_gen(&tx)?;
    let uploads = |id: i64| upload_mode(&plan, id);
    let options = ApplyOptions {
        def,
        caller,
        generation,
        rollback_on_failure: params.rollback_on_failure.unwrap_or(false),
        return_ids_for_adds: params.return_ids_for_adds,
        attachments_upload: record.attachments_sync_direction != AttachmentsSyncDirection::None,
    };
    let (results, failed, applied) =
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
    let downloaded = Download {
        conn: &tx,
        def,
        caller,
        record: &record,
        plan: &plan,
        generation,
        data_by,
    }
    .write(results, sink)?;
    record_uploads_held(&tx, &record, generation)?;
    record_holdings(&tx, &record.replica_id, &downloaded.holdings)?;
    record.last_sync_ms = Some(now_ms());
    for p in &plan {
        if let Some(layer) = record.layers.iter_mut().find(|l| l.id == p.id) {
            layer.server_gen = generation;
        }
    }
    record.server_gen = generation;
    if params.close_replica {
        db::delete_replica(&tx, &record.replica_id)?;
    } else {
        db::put_replica(&tx, &record)?;
    }
    tx.commit().map_err(ServiceDbError::from)?;
    core.db.checkpoint_soon();
    let response_type = response_type(&plan, downloaded.edits, downloaded.snapshot);
    let mut response = ReplicaResponse {
        replica_name: Some(record.name.clone()),
        replica_id: Some(record.replica_id.clone()),
        transport_type: Some(params.transport_type),
        response_type: Some(response_type),
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

/// On layers the work area filters, the replica holds what it uploaded in this sync (its own
/// adds and updates, wherever they lie) and no longer what it deleted.
fn record_uploads_held(
    conn: &rusqlite::Connection,
    record: &RegisteredReplica,
    generation: i64,
) -> Result<(), ServiceDbError> {
    if record.area.is_none() {
        return Ok(());
    }
    for layer in record.layers.iter().filter(|l| l.use_geometry) {
        let (live, gone) = members::uploaded_at(conn, layer.id, generation)?;
        members::add(conn, &record.replica_id, layer.id, &live)?;
        members::remove(conn, &record.replica_id, layer.id, &gone)?;
    }
    Ok(())
}

/// The rollback envelope: the failed edit first (as ArcGIS sends it), then a 2000 per layer whose
/// edits were rolled back with it.
fn rolled_back(failure: &FailedEdit, edits: &[LayerEdits]) -> ServiceError {
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

/// The reply's type from how many `edits` entries and snapshot `layers` it has.
fn response_type(plan: &[LayerPlan], edits: usize, snapshot: usize) -> ResponseType {
    let all_snapshot = plan.iter().all(|p| p.direction == SyncDirection::Snapshot);
    if !plan.is_empty() && all_snapshot {
        ResponseType::ReplacementData
    } else if snapshot > 0 {
        ResponseType::EditsAndData
    } else if edits == 0 {
        ResponseType::NoEdits
    } else {
        ResponseType::Edits
    }
}
