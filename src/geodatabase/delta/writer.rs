//! Writing a delta file (the server's side): the tables, then the reply's generations, changes,
//! attachment changes and edit results in one transaction.
//!
//! What it must not do: leave a half-written file that reads as complete (the content is one
//! transaction), or keep an older file at the path.

use super::{Delta, DeltaError, FORMAT_VERSION, SCHEMA};
use crate::protocol::ChangeType;
use rusqlite::{Connection, params};
use std::path::Path;

/// Writes `delta` as a new SQLite file at `path` (an existing file is replaced).
pub fn write(path: &Path, delta: &Delta) -> Result<(), DeltaError> {
    let shown = path.display().to_string();
    if path.exists() {
        std::fs::remove_file(path).map_err(|source| DeltaError::Io {
            path: shown.clone(),
            source,
        })?;
    }
    let fail = |source| DeltaError::Write {
        path: shown.clone(),
        source,
    };
    let mut conn = Connection::open(path).map_err(fail)?;
    conn.execute_batch(SCHEMA).map_err(fail)?;
    let tx = conn.transaction().map_err(fail)?;
    write_content(&tx, delta).map_err(fail)?;
    tx.commit().map_err(fail)?;
    Ok(())
}

fn write_content(conn: &Connection, delta: &Delta) -> rusqlite::Result<()> {
    let mut info = conn.prepare("INSERT INTO GDB_DeltaInfo(Key, Value) VALUES (?1, ?2)")?;
    info.execute(params!["FormatVersion", FORMAT_VERSION.to_string()])?;
    let entries = [
        (
            "ReplicaID",
            delta.replica_id.as_ref().map(|g| g.as_str().to_string()),
        ),
        ("ReplicaName", delta.replica_name.clone()),
        (
            "ResponseType",
            delta.response_type.map(|t| t.as_str().to_string()),
        ),
        (
            "ReplicaServerGen",
            delta.replica_server_gen.map(|g| g.to_string()),
        ),
    ];
    for (key, value) in entries {
        if let Some(value) = value {
            info.execute(params![key, value])?;
        }
    }
    let mut gens =
        conn.prepare("INSERT INTO GDB_DeltaLayerGens(LayerId, ServerGen) VALUES (?1, ?2)")?;
    for g in &delta.layer_server_gens {
        gens.execute(params![g.id, g.server_gen])?;
    }
    let mut change = conn.prepare(
        "INSERT INTO GDB_DataChanges(LayerId, ChangeType, GlobalID, Feature) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for layer in &delta.changes {
        for (features, change_type) in [
            (&layer.features.adds, ChangeType::Insert),
            (&layer.features.updates, ChangeType::Update),
        ] {
            for feature in features {
                let gid = feature
                    .global_id()
                    .map(|g| g.as_str().to_string())
                    .unwrap_or_default();
                let json = serde_json::to_string(feature).unwrap_or_else(|_| "{}".into());
                change.execute(params![layer.id, change_type.code(), gid, json])?;
            }
        }
        for gid in &layer.features.delete_ids {
            change.execute(params![
                layer.id,
                ChangeType::Delete.code(),
                gid,
                Option::<String>::None
            ])?;
        }
    }
    let mut attachment = conn.prepare(
        "INSERT INTO GDB_AttachmentChanges(LayerId, ChangeType, GlobalID, Attachment) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for layer in &delta.changes {
        for (items, change_type) in [
            (&layer.attachments.adds, ChangeType::Insert),
            (&layer.attachments.updates, ChangeType::Update),
        ] {
            for item in items {
                let json = serde_json::to_string(item).unwrap_or_else(|_| "{}".into());
                attachment.execute(params![layer.id, change_type.code(), item.global_id, json])?;
            }
        }
        for gid in &layer.attachments.delete_ids {
            attachment.execute(params![
                layer.id,
                ChangeType::Delete.code(),
                gid,
                Option::<String>::None
            ])?;
        }
    }
    let mut result = conn.prepare(
        "INSERT INTO GDB_DataChangesEditResults(ObjectID, ObjectGuid, ObjectType, Success, Code, Description, ChangeType, SyncedLayerId)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for row in &delta.edit_results {
        result.execute(params![
            row.object_id,
            row.global_id.as_ref().map(|g| g.as_str().to_string()),
            row.object_type.code(),
            i64::from(row.success),
            row.code,
            row.description,
            row.change_type.code(),
            row.layer_id
        ])?;
    }
    Ok(())
}
