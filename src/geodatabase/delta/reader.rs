//! Reading a delta file (the client's side) back into [`Delta`]: its info, generations,
//! changes, attachment changes (optional: older deltas have none) and edit results.
//!
//! What it must not do: panic or trust the file; a missing table, a damaged file or an invalid
//! value is a [`DeltaError`], except one feature whose JSON cannot be read: that one is set aside
//! as an [`UnreadableFeature`] and the rest of the file is read.

use super::{ATTACHMENT_TABLE, Delta, DeltaError, TABLES, layer_entry};
use crate::protocol::{
    Attachment, ChangeType, EditResultRow, Feature, Guid, LayerServerGen, LayerSyncResult,
    ObjectType, ResponseType, UnreadableFeature,
};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// Reads a delta file. A file that is not a delta (or is damaged) is an error, never a panic.
pub fn read(path: &Path) -> Result<Delta, DeltaError> {
    let shown = path.display().to_string();
    let unreadable = |source| DeltaError::Unreadable {
        path: shown.clone(),
        source,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(unreadable)?;
    for table in TABLES {
        let found: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .map_err(unreadable)?;
        if found == 0 {
            return Err(DeltaError::MissingTable {
                table,
                path: shown.clone(),
            });
        }
    }
    let corrupt = |reason: String| DeltaError::Corrupt {
        reason,
        path: shown.clone(),
    };
    let mut delta = read_info(&conn, &corrupt).map_err(|e| e.into_delta(&shown))??;
    delta.layer_server_gens = read_gens(&conn).map_err(unreadable)?;
    delta.changes = read_changes(&conn, &corrupt).map_err(|e| e.into_delta(&shown))??;
    let has_attachments: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [ATTACHMENT_TABLE],
            |r| r.get(0),
        )
        .map_err(unreadable)?;
    if has_attachments > 0 {
        read_attachment_changes(&conn, &mut delta.changes, &corrupt)
            .map_err(|e| e.into_delta(&shown))??;
    }
    delta.edit_results = read_results(&conn, &corrupt).map_err(|e| e.into_delta(&shown))??;
    Ok(delta)
}

trait IntoDelta {
    fn into_delta(self, path: &str) -> DeltaError;
}

impl IntoDelta for rusqlite::Error {
    fn into_delta(self, path: &str) -> DeltaError {
        DeltaError::Unreadable {
            path: path.to_string(),
            source: self,
        }
    }
}

type Nested<T> = rusqlite::Result<Result<T, DeltaError>>;

fn read_info(conn: &Connection, corrupt: &dyn Fn(String) -> DeltaError) -> Nested<Delta> {
    let mut stmt = conn.prepare("SELECT Key, Value FROM GDB_DeltaInfo")?;
    let pairs = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut delta = Delta::default();
    for (key, value) in pairs {
        let Some(value) = value else { continue };
        match key.as_str() {
            "ReplicaID" => match Guid::parse(&value) {
                Ok(g) => delta.replica_id = Some(g),
                Err(e) => return Ok(Err(corrupt(e.to_string()))),
            },
            "ReplicaName" => delta.replica_name = Some(value),
            "ResponseType" => match value.parse::<ResponseType>() {
                Ok(t) => delta.response_type = Some(t),
                Err(e) => return Ok(Err(corrupt(e))),
            },
            "ReplicaServerGen" => match value.parse::<i64>() {
                Ok(g) => delta.replica_server_gen = Some(g),
                Err(_) => return Ok(Err(corrupt(format!("ReplicaServerGen {value:?}")))),
            },
            _ => {}
        }
    }
    Ok(Ok(delta))
}

fn read_gens(conn: &Connection) -> rusqlite::Result<Vec<LayerServerGen>> {
    let mut stmt =
        conn.prepare("SELECT LayerId, ServerGen FROM GDB_DeltaLayerGens ORDER BY LayerId")?;
    stmt.query_map([], |r| {
        Ok(LayerServerGen {
            id: r.get(0)?,
            server_gen: r.get(1)?,
            server_sib_gen: None,
        })
    })?
    .collect()
}

type ChangeRow = (i64, i64, String, Option<String>);

fn read_changes(
    conn: &Connection,
    corrupt: &dyn Fn(String) -> DeltaError,
) -> Nested<Vec<LayerSyncResult>> {
    let mut stmt = conn.prepare(
        "SELECT LayerId, ChangeType, GlobalID, Feature FROM GDB_DataChanges ORDER BY ID",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<Vec<ChangeRow>>>()?;
    let mut layers: Vec<LayerSyncResult> = Vec::new();
    for (layer_id, change_code, global_id, feature) in rows {
        let layer = layer_entry(&mut layers, layer_id);
        match (ChangeType::from_code(change_code), feature) {
            (Some(ChangeType::Delete), _) => layer.features.delete_ids.push(global_id),
            (Some(kind), Some(json)) => {
                let (list, name) = if kind == ChangeType::Insert {
                    (&mut layer.features.adds, "adds")
                } else {
                    (&mut layer.features.updates, "updates")
                };
                match serde_json::from_str::<Feature>(&json) {
                    Ok(feature) => list.push(feature),
                    // One feature that cannot be read is set aside (and logged by the engine),
                    // not a reason to refuse every other change of the file.
                    Err(e) => {
                        let position = list.len();
                        layer.features.unreadable.push(UnreadableFeature {
                            list: name,
                            position,
                            global_id: Some(global_id),
                            reason: e.to_string(),
                        });
                    }
                }
            }
            (Some(_), None) => {
                return Ok(Err(corrupt(format!("change {global_id} has no feature"))));
            }
            (None, _) => return Ok(Err(corrupt(format!("ChangeType {change_code}")))),
        }
    }
    Ok(Ok(layers))
}

fn read_attachment_changes(
    conn: &Connection,
    layers: &mut Vec<LayerSyncResult>,
    corrupt: &dyn Fn(String) -> DeltaError,
) -> Nested<()> {
    let mut stmt = conn.prepare(
        "SELECT LayerId, ChangeType, GlobalID, Attachment FROM GDB_AttachmentChanges ORDER BY ID",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<Vec<ChangeRow>>>()?;
    for (layer_id, change_code, global_id, json) in rows {
        let layer = layer_entry(layers, layer_id);
        match (ChangeType::from_code(change_code), json) {
            (Some(ChangeType::Delete), _) => layer.attachments.delete_ids.push(global_id),
            (Some(kind), Some(json)) => {
                let item: Attachment = match serde_json::from_str(&json) {
                    Ok(a) => a,
                    Err(e) => return Ok(Err(corrupt(format!("attachment {global_id}: {e}")))),
                };
                if kind == ChangeType::Insert {
                    layer.attachments.adds.push(item);
                } else {
                    layer.attachments.updates.push(item);
                }
            }
            (Some(_), None) => {
                return Ok(Err(corrupt(format!("attachment {global_id} has no JSON"))));
            }
            (None, _) => return Ok(Err(corrupt(format!("ChangeType {change_code}")))),
        }
    }
    Ok(Ok(()))
}

type ResultRow = (
    Option<i64>,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    i64,
    i64,
);

fn read_results(
    conn: &Connection,
    corrupt: &dyn Fn(String) -> DeltaError,
) -> Nested<Vec<EditResultRow>> {
    let mut stmt = conn.prepare(
        "SELECT ObjectID, ObjectGuid, ObjectType, Success, Code, Description, ChangeType, SyncedLayerId
         FROM GDB_DataChangesEditResults ORDER BY ID",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<ResultRow>>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (object_id, guid, object_type, success, code, description, change_type, layer_id) in rows {
        let global_id = match guid.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            None => None,
            Some(g) => match Guid::parse(g) {
                Ok(g) => Some(g),
                Err(e) => return Ok(Err(corrupt(e.to_string()))),
            },
        };
        let (Some(object_type), Some(change_type)) = (
            ObjectType::from_code(object_type),
            ChangeType::from_code(change_type),
        ) else {
            return Ok(Err(corrupt(format!(
                "ObjectType {object_type} / ChangeType {change_type}"
            ))));
        };
        out.push(EditResultRow {
            layer_id,
            object_id,
            global_id,
            object_type,
            change_type,
            success: success != 0,
            code,
            description,
        });
    }
    Ok(Ok(out))
}
