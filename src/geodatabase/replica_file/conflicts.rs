//! The `conflicts` table (format 5): the queued edits found in conflict with the service's
//! current version, reading them, and applying a [`Resolution`] to the queued change in the
//! same transaction as the row it settles.
//!
//! What it must not do: decide what conflicts (that is [`super::conflict_check`]'s) or drop a
//! local value the resolution did not give up. A resolution keeps the technician's values by
//! rebasing the change's before-image onto the server value it was shown, so the next check
//! only finds the conflict again if the server changed once more.

use super::definition::{global_id_field, read_layer_info};
use super::queue::{
    ChangeKind, ChangeState, LocalChange, delete_change, read_change, write_change,
};
use super::{ReplicaFile, ReplicaFileError, from_json, now_ms, sql_at, to_json};
use crate::model::{
    Conflict, ConflictField, ConflictKind, ConflictStatus, FieldChoice, Resolution, Side,
};
use crate::protocol::{Attributes, Feature, Guid};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::path::Path;

/// The `conflicts` table, added in format version 5.
pub(super) const CONFLICT_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS conflicts (
    layer_id INTEGER NOT NULL,
    global_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    fields_json TEXT NOT NULL,
    server_editor TEXT,
    server_edited_ms INTEGER,
    detected_ms INTEGER NOT NULL,
    PRIMARY KEY (layer_id, global_id)
);
";

/// Why a resolution could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveOutcome {
    /// Applied; `remaining` fields are still in conflict (held).
    Applied { remaining: usize },
    /// No conflict is recorded for this feature.
    NoConflict,
    /// A field named in the resolution is not in conflict.
    UnknownField(String),
}

type ConflictRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
    Option<String>,
);

impl ReplicaFile {
    /// Every recorded conflict (held ones and those the policy settled at the last sync), by
    /// layer then GlobalID.
    pub fn conflicts(&self) -> Result<Vec<Conflict>, ReplicaFileError> {
        read_conflicts(&self.conn, &self.path)
    }

    /// How many conflicts hold their local edit back.
    pub fn held_conflict_count(&self) -> Result<u32, ReplicaFileError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM conflicts WHERE status = 'held'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    /// Applies the user's resolution of one held conflict to its queued change, in one
    /// transaction. Resolved edits go out on the next sync (checked again first).
    pub fn resolve_conflict(
        &mut self,
        layer_id: i64,
        global_id: &Guid,
        resolution: &Resolution,
    ) -> Result<ResolveOutcome, ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let conflict = read_conflicts(&tx, &path)?
            .into_iter()
            .find(|c| c.layer_id == layer_id && &c.global_id == global_id);
        let (Some(conflict), Some(change)) =
            (conflict, read_change(&tx, &path, layer_id, global_id)?)
        else {
            return Ok(ResolveOutcome::NoConflict);
        };
        if let Resolution::Fields(choices) = resolution
            && let Some((name, _)) = choices.iter().find(|(n, _)| {
                !conflict
                    .fields
                    .iter()
                    .any(|f| f.name.eq_ignore_ascii_case(n))
            })
        {
            return Ok(ResolveOutcome::UnknownField(name.clone()));
        }
        let remaining = apply_resolution(&tx, &path, change, &conflict, resolution)?;
        let left = remaining.len();
        if remaining.is_empty() {
            delete_conflict(&tx, &path, layer_id, global_id)?;
        } else {
            let conflict = Conflict {
                fields: remaining,
                ..conflict
            };
            write_conflict(&tx, &path, &conflict)?;
        }
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(ResolveOutcome::Applied { remaining: left })
    }
}

/// The choice a resolution makes for one field (`None`: not named, still in conflict).
fn choice_for(resolution: &Resolution, field: &str) -> Option<FieldChoice> {
    match resolution {
        Resolution::Whole(Side::Mine) => Some(FieldChoice::Mine),
        Resolution::Whole(Side::Server) => Some(FieldChoice::Server),
        Resolution::Fields(choices) => choices
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(field))
            .map(|(_, c)| c.clone()),
    }
}

/// The key of `name` in `attributes` in whatever case it is stored.
fn key_in(attributes: &Attributes, name: &str) -> Option<String> {
    attributes
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
}

/// Applies `resolution` to `change`; returns the conflicting fields it left unresolved.
pub(super) fn apply_resolution(
    tx: &Transaction,
    path: &Path,
    mut change: LocalChange,
    conflict: &Conflict,
    resolution: &Resolution,
) -> Result<Vec<ConflictField>, ReplicaFileError> {
    if conflict.kind == ConflictKind::ServerDeleted {
        return resolve_server_delete(tx, path, change, conflict, resolution);
    }
    let mut remaining = Vec::new();
    let mut before = change.before.take().unwrap_or_default();
    for field in &conflict.fields {
        let Some(choice) = choice_for(resolution, &field.name) else {
            remaining.push(field.clone());
            continue;
        };
        // Rebased: the edit now starts from the server value the user was shown.
        let before_key = key_in(&before.attributes, &field.name).unwrap_or(field.name.clone());
        before.attributes.insert(before_key, field.server.clone());
        let key = key_in(&change.attributes, &field.name).unwrap_or(field.name.clone());
        match choice {
            FieldChoice::Mine => {}
            FieldChoice::Server => {
                change.attributes.remove(&key);
            }
            FieldChoice::Value(value) => {
                change.attributes.insert(key, value);
            }
        }
    }
    change.before = Some(before);
    if change.attributes.is_empty() && change.geometry.is_none() {
        // Nothing of the local edit is left: the feature is the server's version again.
        delete_change(tx, path, change.layer_id, &change.global_id)?;
    } else {
        change.revision += 1;
        if change.state != ChangeState::Failed {
            change.state = ChangeState::Pending;
        }
        write_change(tx, path, &change)?;
    }
    Ok(remaining)
}

/// A local update of a feature the service deleted: taking the server's side drops the local
/// edit; keeping it (or choosing values) recreates the feature as a new one with a fresh
/// GlobalID (a service keeps a deleted GlobalID deleted), its values the before-image with the
/// local values laid over it, less the fields the service maintains (ids, read-only fields).
fn resolve_server_delete(
    tx: &Transaction,
    path: &Path,
    change: LocalChange,
    conflict: &Conflict,
    resolution: &Resolution,
) -> Result<Vec<ConflictField>, ReplicaFileError> {
    delete_change(tx, path, change.layer_id, &change.global_id)?;
    if resolution == &Resolution::Whole(Side::Server) {
        return Ok(Vec::new());
    }
    let layer = read_layer_info(tx, path, change.layer_id)?;
    let gid_field = global_id_field(tx, path, change.layer_id)?;
    let before = change.before.clone().unwrap_or_default();
    let mut attributes = before.attributes.clone();
    for (name, value) in &change.attributes {
        let key = key_in(&attributes, name).unwrap_or(name.clone());
        attributes.insert(key, value.clone());
    }
    for field in &conflict.fields {
        let key = key_in(&attributes, &field.name).unwrap_or(field.name.clone());
        match choice_for(resolution, &field.name) {
            Some(FieldChoice::Server) => {
                attributes.insert(key, field.started_from.clone());
            }
            Some(FieldChoice::Value(v)) => {
                attributes.insert(key, v);
            }
            Some(FieldChoice::Mine) | None => {}
        }
    }
    attributes.retain(|name, _| {
        !name.eq_ignore_ascii_case("objectid")
            && !name.eq_ignore_ascii_case("globalid")
            && !name.eq_ignore_ascii_case(&gid_field)
            && !layer.as_ref().is_some_and(|l| {
                l.is_system_field(name)
                    || l.fields
                        .iter()
                        .any(|f| f.name.eq_ignore_ascii_case(name) && !f.editable)
            })
    });
    let new_id = Guid::new_v4();
    attributes.insert(
        gid_field,
        serde_json::Value::String(new_id.as_str().to_string()),
    );
    let add = LocalChange {
        layer_id: change.layer_id,
        global_id: new_id,
        kind: ChangeKind::Add,
        attributes,
        geometry: change.geometry.clone().or(before.geometry),
        before: None,
        upload_gen: None,
        state: ChangeState::Pending,
        error_code: None,
        error_text: None,
        edited_ms: now_ms(),
        revision: 1,
    };
    write_change(tx, path, &add)?;
    Ok(Vec::new())
}

pub(super) fn write_conflict(
    tx: &Transaction,
    path: &Path,
    conflict: &Conflict,
) -> Result<(), ReplicaFileError> {
    tx.execute(
        "INSERT INTO conflicts (layer_id, global_id, kind, status, fields_json, server_editor,
             server_edited_ms, detected_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (layer_id, global_id) DO UPDATE SET kind = excluded.kind,
             status = excluded.status, fields_json = excluded.fields_json,
             server_editor = excluded.server_editor,
             server_edited_ms = excluded.server_edited_ms, detected_ms = excluded.detected_ms",
        params![
            conflict.layer_id,
            conflict.global_id.as_str(),
            conflict.kind.as_str(),
            conflict.status.as_str(),
            to_json(&conflict.fields)?,
            conflict.server_editor,
            conflict.server_edited_ms,
            conflict.detected_ms,
        ],
    )
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}

fn delete_conflict(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
) -> Result<(), ReplicaFileError> {
    tx.execute(
        "DELETE FROM conflicts WHERE layer_id = ?1 AND global_id = ?2",
        params![layer_id, global_id.as_str()],
    )
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}

/// Whether a held conflict keeps this feature's local edit back (a server delete then does
/// not supersede it: the user decides).
pub(super) fn is_held(
    conn: &Connection,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
) -> Result<bool, ReplicaFileError> {
    conn.query_row(
        "SELECT 1 FROM conflicts WHERE layer_id = ?1 AND global_id = ?2 AND status = 'held'",
        params![layer_id, global_id.as_str()],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(|e| sql_at(path, e))
}

fn read_conflicts(conn: &Connection, path: &Path) -> Result<Vec<Conflict>, ReplicaFileError> {
    let mut stmt = conn
        .prepare(
            "SELECT c.layer_id, c.global_id, c.kind, c.status, c.fields_json, c.server_editor,
                 c.server_edited_ms, c.detected_ms, l.name
             FROM conflicts c LEFT JOIN layers l ON l.layer_id = c.layer_id
             ORDER BY c.layer_id, c.global_id",
        )
        .map_err(|e| sql_at(path, e))?;
    let rows: Vec<ConflictRow> = stmt
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
                r.get(8)?,
            ))
        })
        .map_err(|e| sql_at(path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| sql_at(path, e))?;
    let bad = |what: &str| ReplicaFileError::NotAReplicaFile {
        path: path.to_path_buf(),
        reason: format!("unreadable {what} in the conflicts table"),
    };
    rows.into_iter()
        .map(
            |(layer_id, gid, kind, status, fields, editor, edited, detected, name)| {
                Ok(Conflict {
                    layer_id,
                    layer_name: name.unwrap_or_else(|| format!("layer {layer_id}")),
                    global_id: Guid::parse(&gid).map_err(|_| bad("GlobalID"))?,
                    kind: ConflictKind::parse(&kind).ok_or_else(|| bad("kind"))?,
                    status: ConflictStatus::parse(&status).ok_or_else(|| bad("status"))?,
                    fields: from_json(path, "conflicting fields", &fields)?,
                    server_editor: editor,
                    server_edited_ms: edited,
                    detected_ms: detected,
                })
            },
        )
        .collect()
}

/// The server feature's attributes (empty for a deleted feature).
pub(super) fn attributes_of(feature: Option<&Feature>) -> Attributes {
    feature.map(|f| f.attributes.clone()).unwrap_or_default()
}
