//! Commands that only touch local files: recording a local edit (features and attachments) or a
//! batch of them,
//! fixing or dropping a refused edit, and exporting edit results as CSV. Each runs as one blocking step (one transaction in the
//! replica file) and answers with events; none talks to the network.

use super::Deps;
use super::api::{
    EditResultRecord, Event, LocalEdit, LocalReplicaId, NewAttachment, ReplicaSummary,
};
use super::error::EngineError;
use super::job::{send_edit_results, send_summary};
use crate::geodatabase::replica_file::{QueuedEdit, ReplicaFile, ReplicaFileError};
use crate::protocol::{Attributes, Feature, Guid};
use std::path::PathBuf;
use std::sync::Arc;

/// Records a local add, update or delete, or an attachment added or deleted, in the replica's
/// change queue (one transaction) and returns the replica's summary afterwards (`syncing` is not
/// known here and reads false). `layer_id` is not used for attachments: the parent's layer is.
pub(crate) async fn edit_feature(
    deps: &Deps,
    replica: LocalReplicaId,
    layer_id: i64,
    edit: LocalEdit,
) -> Result<ReplicaSummary, EngineError> {
    change_then_summarize(deps, replica, move |file| {
        let is_attachment = matches!(edit, LocalEdit::Attach(_) | LocalEdit::Detach { .. });
        match edit {
            LocalEdit::Add {
                attributes,
                geometry,
            } => {
                file.record_add(
                    layer_id,
                    Feature {
                        geometry,
                        attributes,
                    },
                )?;
            }
            LocalEdit::Update {
                global_id,
                attributes,
                geometry,
            } => file.record_update(layer_id, &global_id, attributes, geometry)?,
            LocalEdit::Delete { global_id } => file.record_delete(layer_id, &global_id)?,
            LocalEdit::Attach(new) => {
                let NewAttachment {
                    global_id,
                    parent_global_id,
                    file: source,
                    content_type,
                } = *new;
                let data = std::fs::read(&source).map_err(|e| EngineError::Io {
                    path: source.clone(),
                    source: e,
                })?;
                let name = source
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "attachment".into());
                let content_type = content_type.unwrap_or_else(|| guess_content_type(&name).into());
                file.record_attachment_add_as(
                    &global_id,
                    &parent_global_id,
                    &name,
                    &content_type,
                    &data,
                )?;
            }
            LocalEdit::Detach { global_id } => {
                file.record_attachment_delete(&global_id)?;
            }
        }
        // Judged again once edits pause (prediction::refresh): judging the whole queue on
        // every edit would make a burst of edits quadratic. A feature change marked the
        // predictions due in its own transaction; an attachment change is marked here.
        if is_attachment {
            file.mark_predictions_due()?;
        }
        Ok(())
    })
    .await
}

/// Opens the replica's file, lets `change` record in it (in transactions of its own), and
/// answers the replica's summary afterwards (`syncing` reads false); the predictions are judged
/// again once edits pause.
async fn change_then_summarize(
    deps: &Deps,
    replica: LocalReplicaId,
    change: impl FnOnce(&mut ReplicaFile) -> Result<(), EngineError> + Send + 'static,
) -> Result<ReplicaSummary, EngineError> {
    let summary = deps
        .blocking(move |store| {
            let record = store.replica(replica)?;
            let mut file = ReplicaFile::open(&record.file_path)?;
            change(&mut file)?;
            drop(file);
            Ok(super::summary::build(store, &record, false)?)
        })
        .await;
    if summary.is_ok() {
        super::prediction::refresh::schedule(deps, replica);
    }
    summary
}

/// Records a batch of local adds, updates and deletes (`(layer_id, edit)` in order) in one
/// transaction of the replica file: all of them, or, when one cannot be recorded, none
/// ([`EngineError::BatchEntry`] names it). Predictions are judged once, after the batch.
/// Attachments are not batched (`edit_feature` records them one by one).
pub(crate) async fn record_edits(
    deps: &Deps,
    replica: LocalReplicaId,
    edits: Vec<(i64, LocalEdit)>,
) -> Result<ReplicaSummary, EngineError> {
    let queued = edits
        .into_iter()
        .enumerate()
        .map(|(position, (layer_id, edit))| queued_edit(position, layer_id, edit))
        .collect::<Result<Vec<_>, _>>()?;
    change_then_summarize(deps, replica, move |file| {
        file.record_batch(&queued).map_err(|e| match e.position {
            Some(position) => EngineError::BatchEntry {
                position,
                source: e.source,
            },
            None => EngineError::ReplicaFile(e.source),
        })
    })
    .await
}

fn queued_edit(position: usize, layer_id: i64, edit: LocalEdit) -> Result<QueuedEdit, EngineError> {
    Ok(match edit {
        LocalEdit::Add {
            attributes,
            geometry,
        } => QueuedEdit::Add {
            layer_id,
            feature: Feature {
                geometry,
                attributes,
            },
        },
        LocalEdit::Update {
            global_id,
            attributes,
            geometry,
        } => QueuedEdit::Update {
            layer_id,
            global_id,
            attributes,
            geometry,
            started_from: Attributes::new(),
        },
        LocalEdit::Delete { global_id } => QueuedEdit::Delete {
            layer_id,
            global_id,
        },
        LocalEdit::Attach(_) | LocalEdit::Detach { .. } => {
            return Err(EngineError::Unsupported(format!(
                "edit {position} of the batch is an attachment change: attach and detach files \
                 one by one (`syncwatch edit --attach` / `--detach`); nothing was recorded"
            )));
        }
    })
}

/// Replaces a refused edit's values; it is resent on the next sync. Its failure stays in the
/// edit results until the server accepts it.
pub(crate) async fn fix_edit(
    deps: &Deps,
    replica: LocalReplicaId,
    layer_id: i64,
    global_id: Guid,
    attributes: Attributes,
    geometry: Option<serde_json::Value>,
    syncing: bool,
) -> Result<(), EngineError> {
    deps.blocking(move |store| {
        let path = store.replica(replica)?.file_path;
        let mut file = ReplicaFile::open(&path)?;
        match file.fix_change(layer_id, &global_id, attributes.clone(), geometry) {
            Ok(_) => {}
            // Not a feature change: the refused edit is an attachment's.
            Err(ReplicaFileError::NoSuchChange { .. }) => {
                fix_attachment(&mut file, &global_id, &attributes)?
            }
            Err(e) => return Err(e.into()),
        }
        super::prediction::predict_and_store(&mut file)?;
        Ok(())
    })
    .await?;
    send_summary(deps, replica, syncing).await;
    Ok(())
}

/// Drops a queued edit (the feature reverts to the server's version) and clears its failures.
pub(crate) async fn drop_edit(
    deps: &Deps,
    replica: LocalReplicaId,
    layer_id: i64,
    global_id: Guid,
    syncing: bool,
) -> Result<(), EngineError> {
    deps.blocking(move |store| {
        let path = store.replica(replica)?.file_path;
        let mut file = ReplicaFile::open(&path)?;
        if !file.drop_queued(layer_id, &global_id)? {
            return Err(ReplicaFileError::NoSuchChange {
                layer_id,
                global_id: global_id.clone(),
            }
            .into());
        }
        super::prediction::predict_and_store(&mut file)?;
        store.clear_edit_results(replica, layer_id, &global_id)?;
        Ok(())
    })
    .await?;
    send_edit_results(deps, replica).await;
    send_summary(deps, replica, syncing).await;
    Ok(())
}

/// A refused attachment change fixed from the grid: `name` and `contentType` among the values
/// replace the queued ones (the data stays), and it is queued again.
fn fix_attachment(
    file: &mut ReplicaFile,
    global_id: &Guid,
    values: &Attributes,
) -> Result<(), ReplicaFileError> {
    let text = |key: &str| {
        values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str())
    };
    file.record_attachment_update(global_id, text("name"), text("contentType"), None)
}

/// The content type of a file by its extension (what field devices attach most), else
/// `application/octet-stream`.
pub fn guess_content_type(name: &str) -> &'static str {
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "tif" | "tiff" => "image/tiff",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// Writes the chosen rows of an edit-results snapshot as CSV. Tokens are never part of a row.
/// Values are written literally (CSV quoting only); the file is readable by the user only.
pub(crate) async fn export_csv(
    deps: &Deps,
    rows: Arc<[EditResultRecord]>,
    indices: Vec<u32>,
    path: PathBuf,
) -> Result<(), EngineError> {
    let written_path = path.clone();
    let count = tokio::task::spawn_blocking(move || write_csv(&rows, &indices, &path)).await??;
    deps.events.send(Event::ExportFinished {
        path: written_path,
        rows: count,
    });
    Ok(())
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 13] = [
    "layer_id",
    "layer_name",
    "object_id",
    "global_id",
    "object_type",
    "change_type",
    "success",
    "code",
    "description",
    "first_seen_ms",
    "last_seen_ms",
    "attempts",
    "predicted",
];

/// A CSV export file, private to the user (0600), with its header row written.
pub(super) fn csv_file(
    path: &std::path::Path,
    header: &[&str],
) -> Result<csv::Writer<std::fs::File>, EngineError> {
    let file = super::private_fs::create_file(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut writer = csv::Writer::from_writer(file);
    writer
        .write_record(header)
        .map_err(|source| EngineError::Csv {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(writer)
}

fn write_csv(
    rows: &[EditResultRecord],
    indices: &[u32],
    path: &std::path::Path,
) -> Result<usize, EngineError> {
    let csv_err = |source| EngineError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut writer = csv_file(path, &CSV_HEADER)?;
    let mut count = 0;
    for index in indices {
        let Some(row) = rows.get(*index as usize) else {
            continue;
        };
        writer
            .write_record([
                row.layer_id.to_string(),
                spreadsheet_safe(&row.layer_name),
                row.object_id.map(|o| o.to_string()).unwrap_or_default(),
                row.global_id
                    .as_ref()
                    .map(|g| g.to_string())
                    .unwrap_or_default(),
                format!("{:?}", row.object_type).to_lowercase(),
                row.change_type.label().to_string(),
                row.success.to_string(),
                row.code.map(|c| c.to_string()).unwrap_or_default(),
                spreadsheet_safe(&row.description),
                row.first_seen_ms.to_string(),
                row.last_seen_ms.to_string(),
                row.attempts.to_string(),
                row.predicted.to_string(),
            ])
            .map_err(csv_err)?;
        count += 1;
    }
    writer.flush().map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(count)
}

/// Server text as a CSV cell a spreadsheet shows as text: a cell starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return would be run as a formula (CSV injection), so it gets a leading
/// apostrophe, which spreadsheets hide. Only the free-text columns need it; numbers stay numbers.
pub(crate) fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}
