//! Delta files: one SQLite file carrying the result of a createReplica or synchronizeReplica
//! with `dataFormat=sqlite` — the replica id and new generation(s), the downloaded changes per
//! layer (adds and updates as feature JSON, deletes by GlobalID) and the edit results in
//! `GDB_DataChangesEditResults` with the columns of seed 004 (ID, ObjectID, ObjectGuid,
//! ObjectType, Success, Code, Description, ChangeType, SyncedLayerId). createReplica's initial
//! data travels as adds. The server writes them ([`write`]); the client reads them back into the
//! protocol types ([`read`], [`Delta::to_response`]). Reading never panics: a corrupt or
//! truncated file is a [`DeltaError`]. Blocking (rusqlite); call from `spawn_blocking`.
//!
//! Tables:
//! * `GDB_DeltaInfo(Key, Value)`: `FormatVersion`, `ReplicaID`, `ReplicaName`, `ResponseType`,
//!   `ReplicaServerGen` (perReplica).
//! * `GDB_DeltaLayerGens(LayerId, ServerGen)`: perLayer generations.
//! * `GDB_DataChanges(ID, LayerId, ChangeType, GlobalID, Feature)`: ChangeType 1 insert,
//!   2 update (Feature = feature JSON), 3 delete (Feature NULL).
//! * `GDB_DataChangesEditResults(…)`: as in seed 004 (ObjectType 0 feature, 1 attachment).
//! * `GDB_AttachmentChanges(ID, LayerId, ChangeType, GlobalID, Attachment)`: downloaded
//!   attachment changes (Attachment = attachment JSON with its data as base64 or URL; NULL for a
//!   delete). Optional when reading: deltas written before attachments have none.

use crate::protocol::{
    Attachment, ChangeType, EditError, EditResult, EditResultRow, Feature, Guid, LayerServerGen,
    LayerSyncResult, ObjectType, ReplicaLayerData, ReplicaResponse, ResponseType, TransportType,
};
use rusqlite::{Connection, OpenFlags, params};
use std::path::Path;

/// Version written to `GDB_DeltaInfo.FormatVersion`.
pub const FORMAT_VERSION: i64 = 1;

const TABLES: [&str; 4] = [
    "GDB_DeltaInfo",
    "GDB_DeltaLayerGens",
    "GDB_DataChanges",
    "GDB_DataChangesEditResults",
];

const SCHEMA: &str = "
CREATE TABLE GDB_DeltaInfo (Key TEXT PRIMARY KEY, Value TEXT);
CREATE TABLE GDB_DeltaLayerGens (LayerId INTEGER PRIMARY KEY, ServerGen INTEGER NOT NULL);
CREATE TABLE GDB_DataChanges (
    ID INTEGER PRIMARY KEY, LayerId INTEGER NOT NULL, ChangeType INTEGER NOT NULL,
    GlobalID TEXT NOT NULL, Feature TEXT);
CREATE TABLE GDB_DataChangesEditResults (
    ID INTEGER PRIMARY KEY, ObjectID INTEGER, ObjectGuid TEXT, ObjectType INTEGER NOT NULL,
    Success INTEGER NOT NULL, Code INTEGER, Description TEXT, ChangeType INTEGER NOT NULL,
    SyncedLayerId INTEGER NOT NULL);
CREATE TABLE GDB_AttachmentChanges (
    ID INTEGER PRIMARY KEY, LayerId INTEGER NOT NULL, ChangeType INTEGER NOT NULL,
    GlobalID TEXT NOT NULL, Attachment TEXT);
";

/// Optional table of attachment changes (absent in deltas written before attachments).
const ATTACHMENT_TABLE: &str = "GDB_AttachmentChanges";

/// Why a delta file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    #[error("could not write the delta file {path}")]
    Write {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("could not read the delta file (not an SQLite file, or damaged) {path}")]
    Unreadable {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the delta file has no table {table}: {path}")]
    MissingTable { table: &'static str, path: String },
    #[error("the delta file holds an invalid value ({reason}): {path}")]
    Corrupt { reason: String, path: String },
    #[error("could not replace the delta file {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The content of a delta file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delta {
    pub replica_id: Option<Guid>,
    pub replica_name: Option<String>,
    pub response_type: Option<ResponseType>,
    /// perReplica generation.
    pub replica_server_gen: Option<i64>,
    /// perLayer generations.
    pub layer_server_gens: Vec<LayerServerGen>,
    /// Downloaded changes per layer (`features`, and `attachments` adds / updates / deleteIds).
    pub changes: Vec<LayerSyncResult>,
    pub edit_results: Vec<EditResultRow>,
}

impl Delta {
    /// The delta of a reply: sync edits and edit results, or createReplica / snapshot data as adds.
    pub fn from_response(response: &ReplicaResponse) -> Delta {
        let mut changes: Vec<LayerSyncResult> = response
            .edits
            .iter()
            .filter(|l| !l.features.is_empty() || has_attachment_changes(l))
            .map(|l| {
                let mut layer = LayerSyncResult {
                    id: l.id,
                    features: l.features.clone(),
                    ..Default::default()
                };
                layer.attachments.adds = l.attachments.adds.clone();
                layer.attachments.updates = l.attachments.updates.clone();
                layer.attachments.delete_ids = l.attachments.delete_ids.clone();
                layer
            })
            .collect();
        for data in &response.layers {
            let mut layer = LayerSyncResult {
                id: data.id,
                ..Default::default()
            };
            layer.features.adds = data.features.clone();
            layer.attachments.adds = data.attachments.clone();
            changes.push(layer);
        }
        Delta {
            replica_id: response.replica_id.clone(),
            replica_name: response.replica_name.clone(),
            response_type: response.response_type,
            replica_server_gen: response.replica_server_gen,
            layer_server_gens: response.layer_server_gens.clone(),
            changes,
            edit_results: response.result_rows(),
        }
    }

    /// Back to the protocol reply: Data / ReplacementData as `layers`, otherwise `edits` with
    /// the downloaded changes and the edit results per layer.
    pub fn to_response(&self) -> ReplicaResponse {
        let is_data = matches!(
            self.response_type,
            Some(ResponseType::Data | ResponseType::ReplacementData)
        );
        let mut response = ReplicaResponse {
            replica_id: self.replica_id.clone(),
            replica_name: self.replica_name.clone(),
            response_type: self.response_type,
            transport_type: Some(TransportType::Url),
            replica_server_gen: self.replica_server_gen,
            layer_server_gens: self.layer_server_gens.clone(),
            ..Default::default()
        };
        if is_data {
            response.layers = self
                .changes
                .iter()
                .map(|l| ReplicaLayerData {
                    id: l.id,
                    features: l.features.adds.clone(),
                    attachments: l.attachments.adds.clone(),
                })
                .collect();
        } else {
            response.edits = self.changes.clone();
        }
        for row in &self.edit_results {
            let layer = layer_entry(&mut response.edits, row.layer_id);
            let result = EditResult {
                object_id: row.object_id,
                global_id: row.global_id.clone(),
                success: row.success,
                error: row.code.map(|code| EditError {
                    code,
                    description: row.description.clone().unwrap_or_default(),
                }),
            };
            results_for(layer, row.object_type, row.change_type).push(result);
        }
        response
    }
}

fn has_attachment_changes(layer: &LayerSyncResult) -> bool {
    !layer.attachments.adds.is_empty()
        || !layer.attachments.updates.is_empty()
        || !layer.attachments.delete_ids.is_empty()
}

fn layer_entry(edits: &mut Vec<LayerSyncResult>, layer_id: i64) -> &mut LayerSyncResult {
    let index = match edits.iter().position(|l| l.id == layer_id) {
        Some(i) => i,
        None => {
            edits.push(LayerSyncResult {
                id: layer_id,
                ..Default::default()
            });
            edits.len() - 1
        }
    };
    &mut edits[index]
}

fn results_for(
    layer: &mut LayerSyncResult,
    object_type: ObjectType,
    change_type: ChangeType,
) -> &mut Vec<EditResult> {
    match (object_type, change_type) {
        (ObjectType::Feature, ChangeType::Insert) => &mut layer.add_results,
        (ObjectType::Feature, ChangeType::Update) => &mut layer.update_results,
        (ObjectType::Feature, ChangeType::Delete) => &mut layer.delete_results,
        (ObjectType::Attachment, ChangeType::Insert) => &mut layer.add_attachment_results,
        (ObjectType::Attachment, ChangeType::Update) => &mut layer.update_attachment_results,
        (ObjectType::Attachment, ChangeType::Delete) => &mut layer.delete_attachment_results,
    }
}

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
                let feature: Feature = match serde_json::from_str(&json) {
                    Ok(f) => f,
                    Err(e) => return Ok(Err(corrupt(format!("feature {global_id}: {e}")))),
                };
                if kind == ChangeType::Insert {
                    layer.features.adds.push(feature);
                } else {
                    layer.features.updates.push(feature);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::FeatureChanges;
    use serde_json::json;

    fn sample() -> Delta {
        let feature: Feature = serde_json::from_value(json!({
            "geometry": {"x": 1.0, "y": 2.0},
            "attributes": {"GlobalID": "{7A0C2C24-5CA5-408F-8705-A23EF105F351}", "OBJECTID": 3, "Name": "H-1"}
        }))
        .unwrap();
        Delta {
            replica_id: Some(Guid::new_v4()),
            replica_name: Some("laptop".into()),
            response_type: Some(ResponseType::Edits),
            replica_server_gen: Some(42),
            layer_server_gens: vec![],
            changes: vec![LayerSyncResult {
                id: 0,
                features: FeatureChanges {
                    adds: vec![feature.clone()],
                    updates: vec![feature],
                    delete_ids: vec!["{419D227B-2A61-43C4-8884-4B7B5BF3EABB}".into()],
                },
                ..Default::default()
            }],
            edit_results: vec![EditResultRow {
                layer_id: 7,
                object_id: Some(156),
                global_id: Some(Guid::parse("{7C18638F-BA93-4D12-869F-E7087B5BD691}").unwrap()),
                object_type: ObjectType::Feature,
                change_type: ChangeType::Insert,
                success: false,
                code: Some(1001),
                description: Some("Field: Depth is not nullable. Cannot set null value.".into()),
            }],
        }
    }

    #[test]
    fn a_delta_round_trips_through_sqlite_and_the_protocol_types() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.geodatabase");
        let delta = sample();
        write(&path, &delta).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back, delta);
        let response = back.to_response();
        assert_eq!(response.replica_server_gen, Some(42));
        assert_eq!(response.result_rows(), delta.edit_results);
        assert_eq!(Delta::from_response(&response), delta);
        let conn = Connection::open(&path).unwrap();
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('GDB_DataChangesEditResults')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            columns,
            [
                "ID",
                "ObjectID",
                "ObjectGuid",
                "ObjectType",
                "Success",
                "Code",
                "Description",
                "ChangeType",
                "SyncedLayerId"
            ]
        );
    }

    #[test]
    fn corrupt_truncated_and_foreign_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.geodatabase");
        std::fs::write(&garbage, b"<html>Proxy Error</html>").unwrap();
        assert!(read(&garbage).is_err());
        let missing = dir.path().join("missing.geodatabase");
        assert!(read(&missing).is_err());
        let good = dir.path().join("good.geodatabase");
        let mut big = sample();
        big.changes[0].features.adds = (0..2000)
            .map(|_| big.changes[0].features.adds[0].clone())
            .collect();
        write(&good, &big).unwrap();
        let bytes = std::fs::read(&good).unwrap();
        for cut in [10, 100, bytes.len() / 3, bytes.len() / 2, bytes.len() - 100] {
            let truncated = dir.path().join(format!("cut{cut}.geodatabase"));
            std::fs::write(&truncated, &bytes[..cut]).unwrap();
            // Either a typed error or (when the cut only lost free pages) a readable delta; never a panic.
            let _ = read(&truncated);
        }
        let truncated = dir.path().join("cut.geodatabase");
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read(&truncated).is_err());
        let empty_db = dir.path().join("empty.sqlite");
        Connection::open(&empty_db)
            .unwrap()
            .execute_batch("CREATE TABLE x(a)")
            .unwrap();
        assert!(matches!(
            read(&empty_db),
            Err(DeltaError::MissingTable { .. })
        ));
        let bad = dir.path().join("bad.geodatabase");
        write(&bad, &sample()).unwrap();
        Connection::open(&bad)
            .unwrap()
            .execute("UPDATE GDB_DataChanges SET ChangeType = 9", [])
            .unwrap();
        assert!(matches!(read(&bad), Err(DeltaError::Corrupt { .. })));
    }
}
