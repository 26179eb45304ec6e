//! Writing a delta file (the server's side): [`DeltaWriter`] takes the changes, attachment
//! changes and edit results one row at a time (a createReplica of a million features is never
//! a [`Delta`] in memory), then the reply's ids and generations, all in one transaction with the
//! tables; [`write`] writes a whole [`Delta`] through it.
//!
//! What it must not do: leave a half-written file that reads as complete (the tables and the
//! content are one transaction: a file that was not finished holds no table), keep an older
//! file at the path, or change the format (`mod.rs` owns it; the client reads it).

use super::{Delta, DeltaError, FORMAT_VERSION, SCHEMA};
use crate::protocol::{
    Attachment, ChangeType, EditResultRow, Feature, Guid, LayerServerGen, ResponseType,
};
use rusqlite::{Connection, params};
use std::path::Path;

/// Writes `delta` as a new SQLite file at `path` (an existing file is replaced).
pub fn write(path: &Path, delta: &Delta) -> Result<(), DeltaError> {
    let mut writer = DeltaWriter::create(path)?;
    for layer in &delta.changes {
        for (features, change_type) in [
            (&layer.features.adds, ChangeType::Insert),
            (&layer.features.updates, ChangeType::Update),
        ] {
            for feature in features {
                writer.feature(layer.id, change_type, feature)?;
            }
        }
        for gid in &layer.features.delete_ids {
            writer.feature_delete(layer.id, gid)?;
        }
    }
    for layer in &delta.changes {
        for (items, change_type) in [
            (&layer.attachments.adds, ChangeType::Insert),
            (&layer.attachments.updates, ChangeType::Update),
        ] {
            for item in items {
                writer.attachment(layer.id, change_type, item)?;
            }
        }
        for gid in &layer.attachments.delete_ids {
            writer.attachment_delete(layer.id, gid)?;
        }
    }
    for row in &delta.edit_results {
        writer.edit_result(row)?;
    }
    writer.finish(&DeltaInfo {
        replica_id: delta.replica_id.clone(),
        replica_name: delta.replica_name.clone(),
        response_type: delta.response_type,
        replica_server_gen: delta.replica_server_gen,
        layer_server_gens: delta.layer_server_gens.clone(),
    })
}

/// What a delta says about its reply besides the rows: `GDB_DeltaInfo` and `GDB_DeltaLayerGens`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeltaInfo {
    pub replica_id: Option<Guid>,
    pub replica_name: Option<String>,
    pub response_type: Option<ResponseType>,
    /// perReplica generation.
    pub replica_server_gen: Option<i64>,
    /// perLayer generations.
    pub layer_server_gens: Vec<LayerServerGen>,
}

/// A delta file being written, row by row, inside one open transaction. Dropped without
/// [`DeltaWriter::finish`], the transaction is rolled back and the file holds no table.
pub struct DeltaWriter {
    conn: Connection,
    shown: String,
}

const INSERT_CHANGE: &str =
    "INSERT INTO GDB_DataChanges(LayerId, ChangeType, GlobalID, Feature) VALUES (?1, ?2, ?3, ?4)";
const INSERT_ATTACHMENT: &str = "INSERT INTO GDB_AttachmentChanges(LayerId, ChangeType, GlobalID, Attachment) VALUES (?1, ?2, ?3, ?4)";
const INSERT_RESULT: &str = "INSERT INTO GDB_DataChangesEditResults(ObjectID, ObjectGuid, ObjectType, Success, Code, Description, ChangeType, SyncedLayerId)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

impl DeltaWriter {
    /// Starts a new delta file at `path` (an existing file is replaced).
    pub fn create(path: &Path) -> Result<DeltaWriter, DeltaError> {
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
        let conn = Connection::open(path).map_err(fail)?;
        conn.execute_batch("BEGIN").map_err(fail)?;
        conn.execute_batch(SCHEMA).map_err(fail)?;
        Ok(DeltaWriter { conn, shown })
    }

    fn fail(&self, source: rusqlite::Error) -> DeltaError {
        DeltaError::Write {
            path: self.shown.clone(),
            source,
        }
    }

    /// A feature added (`Insert`, also createReplica's data) or updated (`Update`) in `layer_id`.
    pub fn feature(
        &mut self,
        layer_id: i64,
        change_type: ChangeType,
        feature: &Feature,
    ) -> Result<(), DeltaError> {
        let gid = feature
            .global_id()
            .map(|g| g.as_str().to_string())
            .unwrap_or_default();
        let json = serde_json::to_string(feature).unwrap_or_else(|_| "{}".into());
        self.conn
            .prepare_cached(INSERT_CHANGE)
            .and_then(|mut s| s.execute(params![layer_id, change_type.code(), gid, json]))
            .map(drop)
            .map_err(|e| self.fail(e))
    }

    /// A feature of `layer_id` deleted, by GlobalID.
    pub fn feature_delete(&mut self, layer_id: i64, global_id: &str) -> Result<(), DeltaError> {
        let change = ChangeType::Delete.code();
        self.conn
            .prepare_cached(INSERT_CHANGE)
            .and_then(|mut s| {
                s.execute(params![layer_id, change, global_id, Option::<String>::None])
            })
            .map(drop)
            .map_err(|e| self.fail(e))
    }

    /// An attachment of `layer_id` added or updated (its data as base64 or a URL).
    pub fn attachment(
        &mut self,
        layer_id: i64,
        change_type: ChangeType,
        attachment: &Attachment,
    ) -> Result<(), DeltaError> {
        let json = serde_json::to_string(attachment).unwrap_or_else(|_| "{}".into());
        let gid = &attachment.global_id;
        self.conn
            .prepare_cached(INSERT_ATTACHMENT)
            .and_then(|mut s| s.execute(params![layer_id, change_type.code(), gid, json]))
            .map(drop)
            .map_err(|e| self.fail(e))
    }

    /// An attachment of `layer_id` deleted, by GlobalID.
    pub fn attachment_delete(&mut self, layer_id: i64, global_id: &str) -> Result<(), DeltaError> {
        let change = ChangeType::Delete.code();
        self.conn
            .prepare_cached(INSERT_ATTACHMENT)
            .and_then(|mut s| {
                s.execute(params![layer_id, change, global_id, Option::<String>::None])
            })
            .map(drop)
            .map_err(|e| self.fail(e))
    }

    /// One edit result of an upload.
    pub fn edit_result(&mut self, row: &EditResultRow) -> Result<(), DeltaError> {
        self.conn
            .prepare_cached(INSERT_RESULT)
            .and_then(|mut s| {
                s.execute(params![
                    row.object_id,
                    row.global_id.as_ref().map(|g| g.as_str().to_string()),
                    row.object_type.code(),
                    i64::from(row.success),
                    row.code,
                    row.description,
                    row.change_type.code(),
                    row.layer_id
                ])
            })
            .map(drop)
            .map_err(|e| self.fail(e))
    }

    /// Writes the reply's ids and generations and commits: the file is complete.
    pub fn finish(self, info: &DeltaInfo) -> Result<(), DeltaError> {
        write_info(&self.conn, info).map_err(|e| self.fail(e))?;
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| self.fail(e))?;
        Ok(())
    }
}

fn write_info(conn: &Connection, info: &DeltaInfo) -> rusqlite::Result<()> {
    let mut insert = conn.prepare("INSERT INTO GDB_DeltaInfo(Key, Value) VALUES (?1, ?2)")?;
    insert.execute(params!["FormatVersion", FORMAT_VERSION.to_string()])?;
    let entries = [
        (
            "ReplicaID",
            info.replica_id.as_ref().map(|g| g.as_str().to_string()),
        ),
        ("ReplicaName", info.replica_name.clone()),
        (
            "ResponseType",
            info.response_type.map(|t| t.as_str().to_string()),
        ),
        (
            "ReplicaServerGen",
            info.replica_server_gen.map(|g| g.to_string()),
        ),
    ];
    for (key, value) in entries {
        if let Some(value) = value {
            insert.execute(params![key, value])?;
        }
    }
    let mut gens =
        conn.prepare("INSERT INTO GDB_DeltaLayerGens(LayerId, ServerGen) VALUES (?1, ?2)")?;
    for g in &info.layer_server_gens {
        gens.execute(params![g.id, g.server_gen])?;
    }
    Ok(())
}
