//! The feature change queue (`changes`) as stored, and the words both change queues use: what
//! a queued change does ([`ChangeKind`]) and where it stands ([`ChangeState`]), one queued
//! change ([`LocalChange`]) and its key at a revision ([`ChangeKey`]), a refusal of one
//! ([`Refusal`]). Reading and writing queue rows; [`Queue`] holds the steps the feature and
//! attachment queues share (marking refusals, taking a change out).
//!
//! What it must not do: decide what a local edit does to the queue ([`super::local_edits`]
//! does), or change the server's version of a feature.

use super::{ReplicaFile, ReplicaFileError, from_json, sql_at, to_json};
use crate::protocol::{Attributes, EditResultRow, Feature, Guid, ObjectType};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a queued local change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Add,
    Update,
    Delete,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Add => "add",
            ChangeKind::Update => "update",
            ChangeKind::Delete => "delete",
        }
    }
    pub(super) fn parse(text: &str) -> Option<Self> {
        match text {
            "add" => Some(ChangeKind::Add),
            "update" => Some(ChangeKind::Update),
            "delete" => Some(ChangeKind::Delete),
            _ => None,
        }
    }
    /// The edit-result change type this kind is reported as.
    pub fn change_type(self) -> crate::protocol::ChangeType {
        match self {
            ChangeKind::Add => crate::protocol::ChangeType::Insert,
            ChangeKind::Update => crate::protocol::ChangeType::Update,
            ChangeKind::Delete => crate::protocol::ChangeType::Delete,
        }
    }
}

/// Where a queued change stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeState {
    /// Not sent yet (or changed since it was sent).
    Pending,
    /// Sent; the server has not confirmed it. Resent on the next sync.
    Uploaded,
    /// The server refused it; resent on the next sync until fixed or dropped.
    Failed,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Pending => "pending",
            ChangeState::Uploaded => "uploaded",
            ChangeState::Failed => "failed",
        }
    }
    pub(super) fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(ChangeState::Pending),
            "uploaded" => Some(ChangeState::Uploaded),
            "failed" => Some(ChangeState::Failed),
            _ => None,
        }
    }
}

/// One queued local change of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalChange {
    pub layer_id: i64,
    pub global_id: Guid,
    pub kind: ChangeKind,
    /// Add: every attribute. Update: only the changed fields. Delete: empty.
    pub attributes: Attributes,
    /// Add: the geometry. Update: the new geometry, `None` when unchanged. Delete: `None`.
    pub geometry: Option<serde_json::Value>,
    /// The server's version when the change was first made (none for an add).
    pub before: Option<Feature>,
    /// The client generation of the last upload that carried it.
    pub upload_gen: Option<i64>,
    pub state: ChangeState,
    pub error_code: Option<i64>,
    pub error_text: Option<String>,
    /// Epoch milliseconds of the last local edit.
    pub edited_ms: i64,
    /// Bumped on every local edit; tells an acknowledgement whether the change moved on since upload.
    pub revision: i64,
}

/// One queued change as it was when judged: a plan entry only applies while the change is still
/// at that revision (an edit made since then is sent as it is).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChangeKey {
    pub layer_id: i64,
    pub global_id: Guid,
    pub revision: i64,
}

impl ChangeKey {
    pub fn of(change: &LocalChange) -> Self {
        ChangeKey {
            layer_id: change.layer_id,
            global_id: change.global_id.clone(),
            revision: change.revision,
        }
    }
}

/// A refusal of one queued change: the server's (recorded when a reply is applied) or the one
/// the service's rules predict (kept only while the change is at `change.revision`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub change: ChangeKey,
    pub kind: ChangeKind,
    /// The server's error code (a refusal may come without one; a prediction always has one).
    pub code: Option<i64>,
    pub description: String,
}

impl Refusal {
    /// The server's refusal of a change, from its edit result.
    pub(super) fn from_result(change: ChangeKey, kind: ChangeKind, result: &EditResultRow) -> Self {
        Refusal {
            change,
            kind,
            code: result.code,
            description: result.description.clone().unwrap_or_default(),
        }
    }
}

/// The replica file's two change queues. They keep their changes alike (state, refusal, the
/// upload that carried them), so the steps that only touch those columns are written once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Queue {
    /// `changes`: local feature adds, updates and deletes.
    Features,
    /// `attachment_changes`: local attachment adds, updates and deletes.
    Attachments,
}

impl Queue {
    /// The edit results that answer this queue's changes.
    fn object_type(self) -> ObjectType {
        match self {
            Queue::Features => ObjectType::Feature,
            Queue::Attachments => ObjectType::Attachment,
        }
    }

    /// Marks one queued change refused by the server, with the server's code and text; it stays
    /// queued (and is resent) until fixed or dropped. Returns how many rows changed (0 or 1).
    pub(super) fn mark_refused(
        self,
        tx: &Transaction,
        path: &Path,
        layer_id: i64,
        global_id: &Guid,
        code: Option<i64>,
        text: Option<&str>,
    ) -> Result<usize, ReplicaFileError> {
        let sql = match self {
            Queue::Features => {
                "UPDATE changes SET state = 'failed', error_code = ?3, error_text = ?4
                 WHERE layer_id = ?1 AND global_id = ?2"
            }
            Queue::Attachments => {
                "UPDATE attachment_changes SET state = 'failed', error_code = ?3, error_text = ?4
                 WHERE layer_id = ?1 AND global_id = ?2"
            }
        };
        tx.execute(sql, params![layer_id, global_id.as_str(), code, text])
            .map_err(|e| sql_at(path, e))
    }

    /// Marks failed every change of this queue that `rows` refuse (a rolled-back sync's
    /// `infos`); returns how many were queued.
    pub(super) fn record_refusals(
        self,
        tx: &Transaction,
        path: &Path,
        rows: &[EditResultRow],
    ) -> Result<u32, ReplicaFileError> {
        let mut count = 0;
        for row in rows
            .iter()
            .filter(|r| !r.success && r.object_type == self.object_type())
        {
            let Some(gid) = &row.global_id else { continue };
            count += self.mark_refused(
                tx,
                path,
                row.layer_id,
                gid,
                row.code,
                row.description.as_deref(),
            )? as u32;
        }
        Ok(count)
    }

    /// Takes one change out of the queue (acknowledged, dropped, or superseded).
    pub(super) fn delete_change(
        self,
        tx: &Transaction,
        path: &Path,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<(), ReplicaFileError> {
        let sql = match self {
            Queue::Features => "DELETE FROM changes WHERE layer_id = ?1 AND global_id = ?2",
            Queue::Attachments => {
                "DELETE FROM attachment_changes WHERE layer_id = ?1 AND global_id = ?2"
            }
        };
        tx.prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params![layer_id, global_id.as_str()]))
            .map_err(|e| sql_at(path, e))?;
        Ok(())
    }
}

impl ReplicaFile {
    /// Every queued change, by layer then GlobalID.
    pub fn changes(&self) -> Result<Vec<LocalChange>, ReplicaFileError> {
        read_changes(&self.conn, &self.path)
    }

    /// One queued change.
    pub fn change(
        &self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<Option<LocalChange>, ReplicaFileError> {
        read_change(&self.conn, &self.path, layer_id, global_id)
    }
}

pub(super) fn without_global_id(mut attributes: Attributes) -> Attributes {
    attributes.retain(|k, _| !k.eq_ignore_ascii_case("globalid"));
    attributes
}

type ChangeRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    String,
    Option<i64>,
    Option<String>,
    i64,
    i64,
);

const CHANGE_COLUMNS: &str =
    "layer_id, global_id, kind, attributes_json, geometry_json, before_json,
    upload_gen, state, error_code, error_text, edited_ms, revision";

fn change_row(r: &rusqlite::Row) -> rusqlite::Result<ChangeRow> {
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
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

fn change_from_row(path: &Path, row: ChangeRow) -> Result<LocalChange, ReplicaFileError> {
    let (layer_id, gid, kind, attrs, geometry, before, upload_gen, state, code, text, edited, rev) =
        row;
    let bad = |what: &str| ReplicaFileError::NotAReplicaFile {
        path: path.to_path_buf(),
        reason: format!("unreadable {what} in the change queue"),
    };
    Ok(LocalChange {
        layer_id,
        global_id: Guid::parse(&gid).map_err(|_| bad("GlobalID"))?,
        kind: ChangeKind::parse(&kind).ok_or_else(|| bad("change kind"))?,
        attributes: from_json(path, "queued attributes", &attrs)?,
        geometry: geometry
            .map(|g| from_json(path, "a queued geometry", &g))
            .transpose()?,
        before: before
            .map(|b| from_json(path, "a before-image", &b))
            .transpose()?,
        upload_gen,
        state: ChangeState::parse(&state).ok_or_else(|| bad("change state"))?,
        error_code: code,
        error_text: text,
        edited_ms: edited,
        revision: rev,
    })
}

pub(super) fn read_change(
    conn: &Connection,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
) -> Result<Option<LocalChange>, ReplicaFileError> {
    let sql =
        format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE layer_id = ?1 AND global_id = ?2");
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut statement| {
            statement.query_row(params![layer_id, global_id.as_str()], change_row)
        })
        .optional()
        .map_err(|e| sql_at(path, e))?;
    row.map(|r| change_from_row(path, r)).transpose()
}

pub(super) fn read_changes(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<LocalChange>, ReplicaFileError> {
    let sql = format!("SELECT {CHANGE_COLUMNS} FROM changes ORDER BY layer_id, global_id");
    let mut stmt = conn.prepare(&sql).map_err(|e| sql_at(path, e))?;
    let rows = stmt
        .query_map([], change_row)
        .map_err(|e| sql_at(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sql_at(path, e))?;
    rows.into_iter().map(|r| change_from_row(path, r)).collect()
}

pub(super) fn write_change(
    tx: &Transaction,
    path: &Path,
    change: &LocalChange,
) -> Result<(), ReplicaFileError> {
    let attributes_json = to_json(&change.attributes)?;
    let geometry_json = change.geometry.as_ref().map(to_json).transpose()?;
    let before_json = change.before.as_ref().map(to_json).transpose()?;
    tx.prepare_cached(
        "INSERT INTO changes (layer_id, global_id, kind, attributes_json, geometry_json,
             before_json, upload_gen, state, error_code, error_text, edited_ms, revision)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (layer_id, global_id) DO UPDATE SET kind = excluded.kind,
             attributes_json = excluded.attributes_json, geometry_json = excluded.geometry_json,
             before_json = excluded.before_json, upload_gen = excluded.upload_gen,
             state = excluded.state, error_code = excluded.error_code,
             error_text = excluded.error_text, edited_ms = excluded.edited_ms,
             revision = excluded.revision",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            change.layer_id,
            change.global_id.as_str(),
            change.kind.as_str(),
            attributes_json,
            geometry_json,
            before_json,
            change.upload_gen,
            change.state.as_str(),
            change.error_code,
            change.error_text,
            change.edited_ms,
            change.revision,
        ])
    })
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}

pub(super) fn delete_change(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
) -> Result<(), ReplicaFileError> {
    Queue::Features.delete_change(tx, path, layer_id, global_id)
}
