//! Reading a delta file (the client's side), in bounded memory or whole:
//! * [`read_skeleton`]: everything but the features — info, generations, deletes, attachment
//!   changes, edit results — as the [`ReplicaResponse`] a streamed read of a JSON result leaves
//!   (the features' rows are checked, not read: a damaged change row is refused here, before
//!   anything is applied);
//! * [`read_features`]: each insert and update row of `GDB_DataChanges`, in `ID` order, handed
//!   to a [`FeatureSink`] as its JSON text (`FeatureSink::feature_text`), never collected;
//! * [`read_streamed`]: both, as one [`StreamedReply`] (the unreadable rows placed in their
//!   layers);
//! * [`read`]: the whole file as a [`Delta`], built from the same rows (tests and tools).
//!
//! What it must not do: panic or trust the file; a file that is not a delta, a missing table, a
//! damaged file or an invalid value is a [`DeltaError`]. One feature whose JSON cannot be read is
//! set aside as an [`UnreadableFeature`] (as the JSON stream sets one aside: its list, its
//! position there, its GlobalID) and the rest of the file is read. It must not build the list of
//! all features except in [`read`].

use super::{ATTACHMENT_TABLE, Delta, DeltaError, TABLES, layer_entry};
use crate::protocol::{
    Attachment, ChangeType, EditResultRow, Feature, FeatureSink, Guid, LayerServerGen,
    LayerSyncResult, ObjectType, ReplicaResponse, ResponseType, StreamedReply, UnreadableFeature,
};
use rusqlite::{Connection, OpenFlags};
use serde_json::value::RawValue;
use std::path::Path;

/// Why a streamed read of a delta's features stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeltaReadError<E: std::error::Error + 'static> {
    /// The file is not a readable delta.
    #[error(transparent)]
    Delta(#[from] DeltaError),
    /// The sink refused a feature (the replica file could not be written).
    #[error(transparent)]
    Sink(E),
}

/// What [`read_features`] handed on besides the features: how many per layer (in the order
/// first seen) and the rows that could not be read, with their layer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeltaFeatures {
    pub features: Vec<(i64, u64)>,
    pub unreadable: Vec<(i64, UnreadableFeature)>,
}

/// A delta file opened read-only, its tables checked.
struct Opened {
    conn: Connection,
    shown: String,
    has_attachments: bool,
}

impl Opened {
    fn open(path: &Path) -> Result<Opened, DeltaError> {
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
        let has = |table: &str| -> Result<bool, DeltaError> {
            conn.query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(unreadable)
        };
        for table in TABLES {
            if has(table)? {
                continue;
            }
            if table == TABLES[0] {
                return Err(DeltaError::NotADelta { path: shown });
            }
            return Err(DeltaError::MissingTable { table, path: shown });
        }
        let has_attachments = has(ATTACHMENT_TABLE)?;
        Ok(Opened {
            conn,
            shown,
            has_attachments,
        })
    }

    fn unreadable(&self, source: rusqlite::Error) -> DeltaError {
        DeltaError::Unreadable {
            path: self.shown.clone(),
            source,
        }
    }

    fn corrupt(&self, reason: String) -> DeltaError {
        DeltaError::Corrupt {
            reason,
            path: self.shown.clone(),
        }
    }

    /// Lifts a query's nested result: SQLite's error as `Unreadable`, the value's as it is.
    fn lift<T>(&self, nested: Nested<T>) -> Result<T, DeltaError> {
        nested.map_err(|e| self.unreadable(e))?
    }
}

/// Reads a whole delta file into memory. A file that is not a delta (or is damaged) is an
/// error, never a panic.
pub fn read(path: &Path) -> Result<Delta, DeltaError> {
    let opened = Opened::open(path)?;
    let mut delta = skeleton(&opened)?;
    let mut sink = Collect {
        changes: &mut delta.changes,
    };
    let rows = Rows::All(delta.response_type);
    let found = features_into(&opened, rows, &mut sink).map_err(|e| match e {
        DeltaReadError::Delta(e) => e,
        DeltaReadError::Sink(never) => match never {},
    })?;
    for (layer_id, skipped) in found.unreadable {
        layer_entry(&mut delta.changes, layer_id)
            .features
            .unreadable
            .push(skipped);
    }
    Ok(delta)
}

/// Reads a delta file without its features: the reply a streamed read of the same result as
/// JSON leaves (layers without features; the unreadable rows are found by [`read_features`]).
pub fn read_skeleton(path: &Path) -> Result<ReplicaResponse, DeltaError> {
    let opened = Opened::open(path)?;
    Ok(skeleton(&opened)?.to_response())
}

/// How many rows [`read_features`] will hand on (inserts and updates; inserts only for
/// replica data).
pub fn feature_rows(path: &Path) -> Result<u64, DeltaError> {
    let opened = Opened::open(path)?;
    let response_type = opened.lift(read_info(&opened))?.response_type;
    let sql = if is_data(response_type) {
        "SELECT COUNT(*) FROM GDB_DataChanges WHERE ChangeType = 1"
    } else {
        "SELECT COUNT(*) FROM GDB_DataChanges WHERE ChangeType IN (1, 2)"
    };
    opened
        .conn
        .query_row(sql, [], |r| r.get::<_, i64>(0))
        .map(|n| u64::try_from(n).unwrap_or(0))
        .map_err(|e| opened.unreadable(e))
}

/// Hands each insert and update row of the delta at `path` to `sink`, in `ID` order, as its
/// JSON text; the rows that cannot be read are returned with their layer, set aside.
pub fn read_features<S: FeatureSink>(
    path: &Path,
    sink: &mut S,
) -> Result<DeltaFeatures, DeltaReadError<S::Error>> {
    let opened = Opened::open(path)?;
    let response_type = opened.lift(read_info(&opened))?.response_type;
    features_into(&opened, Rows::Reply(response_type), sink)
}

/// [`read_skeleton`] and [`read_features`] together: the reply without its features, the rows
/// that could not be read placed in their layers, and the count handed to `sink`.
pub fn read_streamed<S: FeatureSink>(
    path: &Path,
    sink: &mut S,
) -> Result<StreamedReply, DeltaReadError<S::Error>> {
    let opened = Opened::open(path)?;
    let delta = skeleton(&opened)?;
    let found = features_into(&opened, Rows::Reply(delta.response_type), sink)?;
    let mut response = delta.to_response();
    place_unreadable(&mut response, found.unreadable);
    Ok(StreamedReply {
        response,
        features: found.features,
    })
}

/// Puts each unreadable row into its layer of `response` (`layers` for data, else `edits`).
pub fn place_unreadable(response: &mut ReplicaResponse, unreadable: Vec<(i64, UnreadableFeature)>) {
    for (layer_id, skipped) in unreadable {
        if let Some(layer) = response.layers.iter_mut().find(|l| l.id == layer_id) {
            layer.unreadable.push(skipped);
        } else {
            layer_entry(&mut response.edits, layer_id)
                .features
                .unreadable
                .push(skipped);
        }
    }
}

/// The delta without its features: info, generations, each layer with changes (in the order
/// first seen) with its deletes and attachment changes, the edit results.
fn skeleton(opened: &Opened) -> Result<Delta, DeltaError> {
    let mut delta = opened.lift(read_info(opened))?;
    delta.layer_server_gens = read_gens(&opened.conn).map_err(|e| opened.unreadable(e))?;
    check_change_rows(opened)?;
    delta.changes = read_layers_and_deletes(&opened.conn).map_err(|e| opened.unreadable(e))?;
    if opened.has_attachments {
        opened.lift(read_attachment_changes(opened, &mut delta.changes))?;
    }
    delta.edit_results = opened.lift(read_results(opened))?;
    Ok(delta)
}

type Nested<T> = rusqlite::Result<Result<T, DeltaError>>;

fn read_info(opened: &Opened) -> Nested<Delta> {
    let mut stmt = opened
        .conn
        .prepare("SELECT Key, Value FROM GDB_DeltaInfo")?;
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
                Err(e) => return Ok(Err(opened.corrupt(e.to_string()))),
            },
            "ReplicaName" => delta.replica_name = Some(value),
            "ResponseType" => match value.parse::<ResponseType>() {
                Ok(t) => delta.response_type = Some(t),
                Err(e) => return Ok(Err(opened.corrupt(e))),
            },
            "ReplicaServerGen" => match value.parse::<i64>() {
                Ok(g) => delta.replica_server_gen = Some(g),
                Err(_) => {
                    return Ok(Err(opened.corrupt(format!("ReplicaServerGen {value:?}"))));
                }
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

/// Refuses the delta when one of its change rows cannot be used (an unknown change type, an
/// add or update without its feature, a value of the wrong type): checked before any feature
/// is handed on, so a damaged file applies nothing.
fn check_change_rows(opened: &Opened) -> Result<(), DeltaError> {
    let first_bad = opened.conn.query_row(
        "SELECT CAST(ChangeType AS TEXT), CAST(GlobalID AS TEXT),
                ChangeType IN (1, 2, 3), Feature IS NULL
         FROM GDB_DataChanges
         WHERE ChangeType NOT IN (1, 2, 3)
            OR (ChangeType IN (1, 2) AND Feature IS NULL)
            OR typeof(LayerId) <> 'integer' OR typeof(GlobalID) <> 'text'
            OR typeof(Feature) NOT IN ('text', 'null')
         ORDER BY ID LIMIT 1",
        [],
        |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, bool>(3)?,
            ))
        },
    );
    let (change, global_id, known, no_feature) = match first_bad {
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(()),
        Err(e) => return Err(opened.unreadable(e)),
        Ok(row) => row,
    };
    let global_id = global_id.unwrap_or_default();
    let reason = if !known {
        format!("ChangeType {}", change.unwrap_or_default())
    } else if no_feature {
        format!("change {global_id} has no feature")
    } else {
        format!("change {global_id} has a LayerId, GlobalID or Feature of the wrong type")
    };
    Err(opened.corrupt(reason))
}

/// Every layer with a change, in the order first seen, with its deletes.
fn read_layers_and_deletes(conn: &Connection) -> rusqlite::Result<Vec<LayerSyncResult>> {
    let mut layers: Vec<LayerSyncResult> = Vec::new();
    let mut stmt =
        conn.prepare("SELECT LayerId FROM GDB_DataChanges GROUP BY LayerId ORDER BY MIN(ID)")?;
    for layer_id in stmt.query_map([], |r| r.get::<_, i64>(0))? {
        layer_entry(&mut layers, layer_id?);
    }
    let mut stmt = conn.prepare(
        "SELECT LayerId, GlobalID FROM GDB_DataChanges WHERE ChangeType = 3 ORDER BY ID",
    )?;
    let deletes = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    for delete in deletes {
        let (layer_id, global_id) = delete?;
        layer_entry(&mut layers, layer_id)
            .features
            .delete_ids
            .push(global_id);
    }
    Ok(layers)
}

/// Whether the delta carries replica data (createReplica's, or a snapshot's).
fn is_data(response_type: Option<ResponseType>) -> bool {
    matches!(
        response_type,
        Some(ResponseType::Data | ResponseType::ReplacementData)
    )
}

/// The list an unreadable row is named by, as the JSON reply names it.
fn list_name(change: ChangeType, data: bool) -> &'static str {
    match (change, data) {
        (ChangeType::Insert, true) => "features",
        (ChangeType::Insert, false) => "adds",
        _ => "updates",
    }
}

/// The next position in a layer's list (every row counts, readable or not).
fn next_position(
    positions: &mut Vec<(i64, ChangeType, usize)>,
    layer_id: i64,
    change: ChangeType,
) -> usize {
    match positions
        .iter_mut()
        .find(|(l, c, _)| *l == layer_id && *c == change)
    {
        Some((_, _, next)) => {
            *next += 1;
            *next - 1
        }
        None => {
            positions.push((layer_id, change, 1));
            0
        }
    }
}

/// One stored feature counted for its layer, layers in the order first seen.
fn count_one(counts: &mut Vec<(i64, u64)>, layer_id: i64) {
    match counts.last_mut() {
        Some((id, n)) if *id == layer_id => *n += 1,
        _ => counts.push((layer_id, 1)),
    }
}

/// Which feature rows are handed on, for a delta of what response type.
#[derive(Clone, Copy)]
enum Rows {
    /// Every insert and update row ([`read`]: the file's content).
    All(Option<ResponseType>),
    /// What the reply carries: replica data are adds only (a createReplica reply has only
    /// `features`), anything else adds and updates.
    Reply(Option<ResponseType>),
}

/// The feature rows handed to `sink` one at a time (see [`read_features`]).
fn features_into<S: FeatureSink>(
    opened: &Opened,
    rows: Rows,
    sink: &mut S,
) -> Result<DeltaFeatures, DeltaReadError<S::Error>> {
    let (data, adds_only) = match rows {
        Rows::All(t) => (is_data(t), false),
        Rows::Reply(t) => (is_data(t), is_data(t)),
    };
    let failed = |e| DeltaReadError::Delta(opened.unreadable(e));
    let sql = if adds_only {
        "SELECT LayerId, ChangeType, GlobalID, Feature FROM GDB_DataChanges
         WHERE ChangeType = 1 ORDER BY ID"
    } else {
        "SELECT LayerId, ChangeType, GlobalID, Feature FROM GDB_DataChanges
         WHERE ChangeType IN (1, 2) ORDER BY ID"
    };
    let mut stmt = opened.conn.prepare(sql).map_err(failed)?;
    let mut rows = stmt.query([]).map_err(failed)?;
    let mut positions = Vec::new();
    let mut found = DeltaFeatures::default();
    while let Some(row) = rows.next().map_err(failed)? {
        let layer_id: i64 = row.get(0).map_err(failed)?;
        let code: i64 = row.get(1).map_err(failed)?;
        let global_id: String = row.get(2).map_err(failed)?;
        let text: Option<String> = row.get(3).map_err(failed)?;
        let (Some(change), Some(text)) = (ChangeType::from_code(code), text) else {
            let reason = format!("change {global_id} has no feature");
            return Err(opened.corrupt(reason).into());
        };
        let list = list_name(change, data);
        let position = next_position(&mut positions, layer_id, change);
        let skipped = match RawValue::from_string(text) {
            Ok(raw) => sink
                .feature_text(layer_id, change, &raw, list, position)
                .map_err(DeltaReadError::Sink)?,
            Err(e) => Some(UnreadableFeature {
                list,
                position,
                global_id: None,
                reason: e.to_string(),
            }),
        };
        match skipped {
            None => count_one(&mut found.features, layer_id),
            Some(mut skipped) => {
                // The row's own GlobalID names it when its JSON does not.
                if skipped.global_id.is_none() && !global_id.trim().is_empty() {
                    skipped.global_id = Some(global_id);
                }
                found.unreadable.push((layer_id, skipped));
            }
        }
    }
    Ok(found)
}

/// [`read`]'s sink: every feature kept in its layer's adds or updates.
struct Collect<'a> {
    changes: &'a mut Vec<LayerSyncResult>,
}

impl FeatureSink for Collect<'_> {
    type Error = std::convert::Infallible;
    fn feature(
        &mut self,
        layer_id: i64,
        change: ChangeType,
        feature: Feature,
    ) -> Result<(), Self::Error> {
        let layer = layer_entry(self.changes, layer_id);
        match change {
            ChangeType::Insert => layer.features.adds.push(feature),
            _ => layer.features.updates.push(feature),
        }
        Ok(())
    }
}

type ChangeRow = (i64, i64, String, Option<String>);

fn read_attachment_changes(opened: &Opened, layers: &mut Vec<LayerSyncResult>) -> Nested<()> {
    let mut stmt = opened.conn.prepare(
        "SELECT LayerId, ChangeType, GlobalID, Attachment FROM GDB_AttachmentChanges ORDER BY ID",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    for row in rows {
        let (layer_id, change_code, global_id, json): ChangeRow = row?;
        let layer = layer_entry(layers, layer_id);
        match (ChangeType::from_code(change_code), json) {
            (Some(ChangeType::Delete), _) => layer.attachments.delete_ids.push(global_id),
            (Some(kind), Some(json)) => {
                let item: Attachment = match serde_json::from_str(&json) {
                    Ok(a) => a,
                    Err(e) => {
                        return Ok(Err(opened.corrupt(format!("attachment {global_id}: {e}"))));
                    }
                };
                if kind == ChangeType::Insert {
                    layer.attachments.adds.push(item);
                } else {
                    layer.attachments.updates.push(item);
                }
            }
            (Some(_), None) => {
                return Ok(Err(
                    opened.corrupt(format!("attachment {global_id} has no JSON"))
                ));
            }
            (None, _) => return Ok(Err(opened.corrupt(format!("ChangeType {change_code}")))),
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

fn read_results(opened: &Opened) -> Nested<Vec<EditResultRow>> {
    let mut stmt = opened.conn.prepare(
        "SELECT ObjectID, ObjectGuid, ObjectType, Success, Code, Description, ChangeType, SyncedLayerId
         FROM GDB_DataChangesEditResults ORDER BY ID",
    )?;
    let rows = stmt.query_map([], |r| {
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
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (object_id, guid, object_type, success, code, description, change_type, layer_id): ResultRow =
            row?;
        let global_id = match guid.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            None => None,
            Some(g) => match Guid::parse(g) {
                Ok(g) => Some(g),
                Err(e) => return Ok(Err(opened.corrupt(e.to_string()))),
            },
        };
        let (Some(object_type), Some(change_type)) = (
            ObjectType::from_code(object_type),
            ChangeType::from_code(change_type),
        ) else {
            return Ok(Err(opened.corrupt(format!(
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
