//! A failed synchronizeReplica: marks a replica that only a client reset can help, or records
//! which queued edits a rolled-back upload (`rollbackOnFailure=true`) names as the cause. Edits
//! stay queued either way; nothing here retries.

use super::Failed;
use super::report::{layer_name, send_edit_results};
use crate::engine::api::{Event, JobId, LocalReplicaId};
use crate::engine::error::{EngineError, chain};
use crate::engine::{Deps, now_ms};
use crate::geodatabase::replica_file::{ChangeKind, ReplicaFile};
use crate::protocol::{ChangeType, EditResultRow, Guid, ObjectType};
use std::path::PathBuf;

/// Handles a failed synchronizeReplica: a replica-level error that needs a client reset marks
/// the replica; a rolled-back upload records which edit caused it. Edits stay queued either way.
pub(super) async fn sync_failed(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    error: crate::service::ServiceClientError,
    path: PathBuf,
) -> Failed {
    if error.needs_client_reset() {
        let entry = error.replica_error();
        let reason = match entry {
            Some(e) => format!("{} (code {}): {}", e.title, e.code, chain(&error)),
            None => chain(&error),
        };
        let stored = reason.clone();
        if let Err(e) = deps
            .with_store(move |s| s.set_reset_required(replica, Some(&stored)))
            .await
        {
            tracing::error!(error = %chain(&e), "could not mark the replica as needing a reset");
        }
        deps.events.send(Event::ResetRequired { replica, reason });
        return EngineError::Service(error).into();
    }
    let infos = error
        .service_error()
        .map(|e| e.infos.clone())
        .unwrap_or_default();
    if !infos.is_empty() {
        if let Err(e) = record_rollback(deps, replica, job_id, infos, path).await {
            tracing::warn!(error = %chain(&e), "could not record the rolled-back edits");
        }
        send_edit_results(deps, replica).await;
    }
    EngineError::Service(error).into()
}

/// The result row of a rollback `infos` entry naming an attachment (objectType 1), when that
/// attachment still has a queued change.
fn attachment_rollback_row(
    file: &ReplicaFile,
    info: &crate::protocol::ErrorInfo,
    global_id: &Guid,
) -> Result<Option<EditResultRow>, EngineError> {
    let Some(attachment) = file.attachment(global_id)? else {
        return Ok(None);
    };
    let Some(kind) = attachment.pending else {
        return Ok(None);
    };
    Ok(Some(EditResultRow {
        layer_id: attachment.layer_id,
        object_id: None,
        global_id: Some(global_id.clone()),
        object_type: ObjectType::Attachment,
        change_type: kind.change_type(),
        success: false,
        code: info.error_code,
        description: Some(info.description.clone()),
    }))
}

/// A rolled-back sync (`rollbackOnFailure=true`): the `infos` name the failed edits.
async fn record_rollback(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    infos: Vec<crate::protocol::ErrorInfo>,
    path: PathBuf,
) -> Result<(), EngineError> {
    deps.blocking(move |store| {
        let mut file = ReplicaFile::open(&path)?;
        let layers = file.definition()?.layers;
        let named: Vec<Guid> = infos.iter().filter_map(|i| i.object_guid.clone()).collect();
        let changes = file.changes()?;
        let mut rows = Vec::new();
        let mut layer_rows = Vec::new();
        for info in &infos {
            match (&info.object_guid, info.layer_id) {
                (Some(global_id), _) if info.object_type == Some(ObjectType::Attachment.code()) => {
                    if let Some(row) = attachment_rollback_row(&file, info, global_id)? {
                        let name = layer_name(&layers, row.layer_id);
                        rows.push((row, name));
                    }
                }
                (Some(global_id), layer_id) => {
                    let change = changes.iter().find(|c| {
                        &c.global_id == global_id && layer_id.is_none_or(|l| l == c.layer_id)
                    });
                    if let Some(change) = change {
                        rows.push((
                            rollback_row(info, change),
                            layer_name(&layers, change.layer_id),
                        ));
                    }
                }
                // A layer-level entry (2000 "Edits to layer N rolled back") names no feature: it
                // applies to every queued change of that layer the server did not name itself.
                (None, Some(layer_id)) => {
                    for change in changes
                        .iter()
                        .filter(|c| c.layer_id == layer_id && !named.contains(&c.global_id))
                    {
                        layer_rows
                            .push((rollback_row(info, change), layer_name(&layers, layer_id)));
                    }
                }
                (None, None) => {}
            }
        }
        // Only the refusals that name a feature mark the change in the file; a layer-level
        // rollback keeps each change's own last error there.
        let plain: Vec<EditResultRow> = rows.iter().map(|(r, _)| r.clone()).collect();
        file.record_refusals(&plain)?;
        rows.extend(layer_rows);
        store.record_edit_results(replica, job_id, &rows, now_ms())?;
        Ok(())
    })
    .await
}

/// The edit-result row of a rolled-back sync's `infos` entry for one queued change.
fn rollback_row(
    info: &crate::protocol::ErrorInfo,
    change: &crate::geodatabase::replica_file::LocalChange,
) -> EditResultRow {
    EditResultRow {
        layer_id: change.layer_id,
        object_id: None,
        global_id: Some(change.global_id.clone()),
        object_type: ObjectType::from_code(info.object_type.unwrap_or(0))
            .unwrap_or(ObjectType::Feature),
        change_type: match change.kind {
            ChangeKind::Add => ChangeType::Insert,
            ChangeKind::Update => ChangeType::Update,
            ChangeKind::Delete => ChangeType::Delete,
        },
        success: false,
        code: info.error_code,
        description: Some(info.description.clone()),
    }
}
