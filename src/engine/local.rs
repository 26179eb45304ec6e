//! Commands that only touch local files: recording a local edit, fixing or dropping a refused
//! edit, and exporting edit results as CSV. Each runs as one blocking step (one transaction in the
//! replica file) and answers with events; none talks to the network.

use super::Deps;
use super::api::{EditResultRecord, Event, LocalEdit, LocalReplicaId, ReplicaSummary};
use super::error::EngineError;
use super::jobs::{send_edit_results, send_summary};
use crate::geodatabase::replica_file::ReplicaFile;
use crate::protocol::{Attributes, Feature, Guid};
use std::path::PathBuf;
use std::sync::Arc;

/// Records a local add, update or delete in the replica's change queue (one transaction) and
/// returns the replica's summary afterwards (`syncing` is not known here and reads false).
pub(crate) async fn edit_feature(
    deps: &Deps,
    replica: LocalReplicaId,
    layer_id: i64,
    edit: LocalEdit,
) -> Result<ReplicaSummary, EngineError> {
    deps.blocking(move |store| {
        let path = store.replica(replica)?.file_path;
        let mut file = ReplicaFile::open(&path)?;
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
        }
        drop(file);
        let record = store.replica(replica)?;
        Ok(super::summary::build(store, &record, false)?)
    })
    .await
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
        file.fix_change(layer_id, &global_id, attributes, geometry)?;
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
        file.drop_change(layer_id, &global_id)?;
        store.clear_edit_results(replica, layer_id, &global_id)?;
        Ok(())
    })
    .await?;
    send_edit_results(deps, replica).await;
    send_summary(deps, replica, syncing).await;
    Ok(())
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

fn write_csv(
    rows: &[EditResultRecord],
    indices: &[u32],
    path: &std::path::Path,
) -> Result<usize, EngineError> {
    let csv_err = |source| EngineError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let file = create_user_only(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut writer = csv::Writer::from_writer(file);
    writer.write_record(CSV_HEADER).map_err(csv_err)?;
    let mut count = 0;
    for index in indices {
        let Some(row) = rows.get(*index as usize) else {
            continue;
        };
        writer
            .write_record([
                row.layer_id.to_string(),
                row.layer_name.to_string(),
                row.object_id.map(|o| o.to_string()).unwrap_or_default(),
                row.global_id
                    .as_ref()
                    .map(|g| g.to_string())
                    .unwrap_or_default(),
                format!("{:?}", row.object_type).to_lowercase(),
                row.change_type.label().to_string(),
                row.success.to_string(),
                row.code.map(|c| c.to_string()).unwrap_or_default(),
                row.description.to_string(),
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

/// Creates (or truncates) a file readable and writable by the user only. An existing file keeps
/// its owner but loses any group and other permissions.
fn create_user_only(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}
