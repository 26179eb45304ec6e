//! Preparing an upload: the `edits` parameter of synchronizeReplica built from both queues,
//! following a plan that holds some changes back and trims others ([`UploadPlan`]), and
//! marking what was sent with a new client generation, in one transaction.
//!
//! What it must not do: change a queued change's values or drop one; what is sent is recorded
//! so that an acknowledgement folds in exactly that.

use super::attachment_sync;
use super::definition::global_id_field;
use super::queue::{ChangeKey, ChangeKind, LocalChange, read_changes};
use super::{ReplicaFile, ReplicaFileError, now_ms, sql_at, to_json};
use crate::protocol::{Feature, FeatureChanges, Guid, LayerEdits};
use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// An upload prepared by [`ReplicaFile::begin_upload`]: the `edits` parameter and its client generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub upload_gen: i64,
    pub edits: Vec<LayerEdits>,
    pub change_count: u32,
    /// Changes the plan kept back (still queued, not marked).
    pub held: u32,
    /// Changes sent without some of their content.
    pub trimmed: u32,
}

/// Content left out of one change when it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trim {
    pub change: ChangeKey,
    /// Attribute names (any case) not sent.
    pub fields: Vec<String>,
    /// The geometry is not sent.
    pub geometry: bool,
}

/// What an upload leaves out (the engine decides it from predicted refusals).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UploadPlan {
    /// Changes kept back locally: not sent, not marked, still queued.
    pub held: Vec<ChangeKey>,
    /// Changes sent without some of their content; what is sent is what an acknowledgement keeps.
    pub trimmed: Vec<Trim>,
}

impl ReplicaFile {
    /// The `edits` parameter for every queued change (pending, unconfirmed and refused alike;
    /// attachments with their data as base64), without marking anything. Empty layers are left
    /// out.
    pub fn build_edits(&self) -> Result<Vec<LayerEdits>, ReplicaFileError> {
        let (mut edits, _, _) = build_edits(&self.conn, &self.path, &UploadPlan::default())?;
        attachment_sync::push_edits(&self.conn, &self.path, &mut edits)?;
        Ok(edits)
    }

    /// Builds the `edits` for an upload and marks every included change as uploaded with a new
    /// client generation, in one transaction. `None` when nothing is queued.
    pub fn begin_upload(&mut self) -> Result<Option<Upload>, ReplicaFileError> {
        self.begin_upload_with(&UploadPlan::default())
    }

    /// [`ReplicaFile::begin_upload`] following `plan`: held changes stay queued and unmarked,
    /// trimmed ones are sent (and marked) without the content the plan leaves out. `None` when
    /// nothing is queued; an upload with no edits when everything queued is held.
    pub fn begin_upload_with(
        &mut self,
        plan: &UploadPlan,
    ) -> Result<Option<Upload>, ReplicaFileError> {
        let path = self.path.clone();
        // Built and marked in one write transaction: an edit cannot slip in between and be
        // mistaken for the uploaded revision.
        let tx = self.write_tx()?;
        let (mut edits, held, trimmed) = build_edits(&tx, &path, plan)?;
        let attachment_count = attachment_sync::push_edits(&tx, &path, &mut edits)?;
        if edits.is_empty() && held == 0 {
            return Ok(None);
        }
        let last_gen: Option<i64> = tx
            .query_row(
                "SELECT MAX(g) FROM (SELECT MAX(upload_gen) AS g FROM changes
                                     UNION ALL SELECT MAX(upload_gen) FROM attachment_changes)",
                [],
                |r| r.get(0),
            )
            .map_err(|e| sql_at(&path, e))?;
        let upload_gen = now_ms().max(last_gen.unwrap_or(0) + 1);
        attachment_sync::mark_uploaded(&tx, &path, upload_gen)?;
        let mut change_count = attachment_count;
        for layer in &edits {
            for feature in layer.features.adds.iter().chain(&layer.features.updates) {
                if let Some(gid) = feature.global_id() {
                    mark_uploaded(&tx, &path, layer.id, &gid, upload_gen, Some(feature))?;
                    change_count += 1;
                }
            }
            for text in &layer.features.delete_ids {
                if let Ok(gid) = Guid::parse(text) {
                    mark_uploaded(&tx, &path, layer.id, &gid, upload_gen, None)?;
                    change_count += 1;
                }
            }
        }
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(Some(Upload {
            upload_gen,
            edits,
            change_count,
            held,
            trimmed,
        }))
    }
}

/// The `edits` parameter for every queued change the plan does not hold back, one entry per
/// layer that has any; with the numbers of changes held and trimmed.
fn build_edits(
    conn: &Connection,
    path: &Path,
    plan: &UploadPlan,
) -> Result<(Vec<LayerEdits>, u32, u32), ReplicaFileError> {
    let mut edits: Vec<LayerEdits> = Vec::new();
    let (mut held, mut trimmed) = (0, 0);
    let held_back: std::collections::HashSet<&ChangeKey> = plan.held.iter().collect();
    let trims: HashMap<&ChangeKey, &Trim> = plan.trimmed.iter().map(|t| (&t.change, t)).collect();
    // Read (and parsed from the layer's JSON) once per layer, not once per change.
    let mut gid_fields: HashMap<i64, String> = HashMap::new();
    for mut change in read_changes(conn, path)? {
        let key = ChangeKey::of(&change);
        if held_back.contains(&key) {
            held += 1;
            continue;
        }
        if let Some(trim) = trims.get(&key) {
            change
                .attributes
                .retain(|name, _| !trim.fields.iter().any(|f| f.eq_ignore_ascii_case(name)));
            if trim.geometry {
                change.geometry = None;
            }
            trimmed += 1;
        }
        let gid_field = match gid_fields.entry(change.layer_id) {
            std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(global_id_field(conn, path, change.layer_id)?)
            }
        };
        let index = match edits.iter().position(|e| e.id == change.layer_id) {
            Some(i) => i,
            None => {
                edits.push(LayerEdits {
                    id: change.layer_id,
                    ..Default::default()
                });
                edits.len() - 1
            }
        };
        push_edit(&mut edits[index].features, &change, gid_field);
    }
    Ok((edits, held, trimmed))
}

/// The feature an add or update is sent as (`None` for a delete): an add's attributes as
/// queued; an update's changed attributes plus its GlobalID in `gid_field`.
pub fn wire_feature(change: &LocalChange, gid_field: &str) -> Option<Feature> {
    match change.kind {
        ChangeKind::Add => Some(Feature {
            attributes: change.attributes.clone(),
            geometry: change.geometry.clone(),
        }),
        ChangeKind::Update => {
            let mut attributes = change.attributes.clone();
            attributes.insert(
                gid_field.to_string(),
                serde_json::Value::String(change.global_id.as_str().to_string()),
            );
            Some(Feature {
                attributes,
                geometry: change.geometry.clone(),
            })
        }
        ChangeKind::Delete => None,
    }
}

/// Adds one queued change to a layer's `features` edits.
fn push_edit(features: &mut FeatureChanges, change: &LocalChange, gid_field: &str) {
    match (change.kind, wire_feature(change, gid_field)) {
        (ChangeKind::Add, Some(feature)) => features.adds.push(feature),
        (ChangeKind::Update, Some(feature)) => features.updates.push(feature),
        _ => features
            .delete_ids
            .push(change.global_id.as_str().to_string()),
    }
}

fn mark_uploaded(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
    upload_gen: i64,
    sent: Option<&Feature>,
) -> Result<(), ReplicaFileError> {
    // A refused change keeps its `failed` state (and error) until the server says otherwise.
    let sent_json = sent.map(to_json).transpose()?;
    tx.prepare_cached(
        "UPDATE changes SET upload_gen = ?3, uploaded_revision = revision, uploaded_json = ?4,
             state = CASE state WHEN 'failed' THEN 'failed' ELSE 'uploaded' END
         WHERE layer_id = ?1 AND global_id = ?2",
    )
    .and_then(|mut statement| {
        statement.execute(params![layer_id, global_id.as_str(), upload_gen, sent_json])
    })
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}
