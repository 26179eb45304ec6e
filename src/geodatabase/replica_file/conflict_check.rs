//! Finding conflicts: every queued local update compared with the replica's server copy, which
//! a download-first sync has just brought up to date.
//! A field conflicts where the server's current value differs from the before-image the local
//! edit started from, the local edit changed it too, and the two values differ; a local update
//! of a feature the server deleted conflicts as a whole. Fields changed on one side only are not
//! conflicts (they merge). The replica's [`ConflictPolicy`] then holds the conflict (ask) or
//! settles it at once (keep mine, take the server's) and records it.
//!
//! What it must not do: talk to the service, or drop a local value except where the policy
//! *take the server's* says so.

use super::conflicts::{apply_resolution, attributes_of, write_conflict};
use super::definition::read_layer_info;
use super::queue::{ChangeKey, ChangeKind, read_changes};
use super::server_features::read_server_feature;
use super::{ReplicaFile, ReplicaFileError, now_ms, sql_at};
use crate::model::{
    Conflict, ConflictField, ConflictKind, ConflictPolicy, ConflictStatus, Resolution, Side,
    conflicting_fields, value_of,
};
use std::collections::HashMap;

/// What one check found and did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConflictCheck {
    /// Changes held back from the upload (policy ask), at the revision they were judged.
    pub held: Vec<ChangeKey>,
    /// Every conflict found, held or settled by the policy.
    pub found: Vec<Conflict>,
}

impl ReplicaFile {
    /// Compares every queued update with the server's copy and applies `policy`, in one
    /// transaction. Conflicts recorded at an earlier check are found again from scratch (a
    /// resolution rebased its edit, so only a newer server change brings one back).
    pub fn check_conflicts(
        &mut self,
        policy: ConflictPolicy,
    ) -> Result<ConflictCheck, ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        tx.execute("DELETE FROM conflicts", [])
            .map_err(|e| sql_at(&path, e))?;
        let mut check = ConflictCheck::default();
        let mut layer_names: HashMap<i64, String> = HashMap::new();
        let mut editor_fields: HashMap<i64, (Option<String>, Option<String>)> = HashMap::new();
        for change in read_changes(&tx, &path)? {
            if change.kind != ChangeKind::Update {
                continue;
            }
            let Some(before) = change.before.clone() else {
                continue;
            };
            let server = read_server_feature(&tx, &path, change.layer_id, &change.global_id)?;
            let server_attributes = attributes_of(server.as_ref());
            let kind = if server.is_none() {
                ConflictKind::ServerDeleted
            } else {
                ConflictKind::SameFields
            };
            let fields: Vec<ConflictField> = if server.is_some() {
                conflicting_fields(&change.attributes, &before.attributes, &server_attributes)
            } else {
                // Deleted on the server: every field the local edit changed is at stake.
                change
                    .attributes
                    .iter()
                    .map(|(name, mine)| ConflictField {
                        name: name.clone(),
                        started_from: value_of(&before.attributes, name),
                        mine: mine.clone(),
                        server: serde_json::Value::Null,
                    })
                    .collect()
            };
            if fields.is_empty() && server.is_some() {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) =
                layer_names.entry(change.layer_id)
            {
                let name: Option<String> = tx
                    .query_row(
                        "SELECT name FROM layers WHERE layer_id = ?1",
                        [change.layer_id],
                        |r| r.get(0),
                    )
                    .ok();
                slot.insert(name.unwrap_or_else(|| format!("layer {}", change.layer_id)));
                let tracking = read_layer_info(&tx, &path, change.layer_id)?
                    .and_then(|l| l.edit_fields_info)
                    .map(|e| (e.editor_field, e.edit_date_field))
                    .unwrap_or((None, None));
                editor_fields.insert(change.layer_id, tracking);
            }
            let (editor_field, date_field) = editor_fields
                .get(&change.layer_id)
                .cloned()
                .unwrap_or((None, None));
            let server_editor = editor_field.and_then(|f| {
                value_of(&server_attributes, &f)
                    .as_str()
                    .map(str::to_string)
            });
            let server_edited_ms =
                date_field.and_then(|f| value_of(&server_attributes, &f).as_i64());
            let status = match policy {
                ConflictPolicy::Ask => ConflictStatus::Held,
                ConflictPolicy::KeepMine => ConflictStatus::KeptMine,
                ConflictPolicy::TakeServer => ConflictStatus::TookServer,
            };
            let conflict = Conflict {
                layer_id: change.layer_id,
                layer_name: layer_names
                    .get(&change.layer_id)
                    .cloned()
                    .unwrap_or_default(),
                global_id: change.global_id.clone(),
                kind,
                status,
                fields,
                server_editor,
                server_edited_ms,
                detected_ms: now_ms(),
            };
            match policy {
                ConflictPolicy::Ask => check.held.push(ChangeKey::of(&change)),
                ConflictPolicy::KeepMine => {
                    apply_resolution(
                        &tx,
                        &path,
                        change,
                        &conflict,
                        &Resolution::Whole(Side::Mine),
                    )?;
                }
                ConflictPolicy::TakeServer => {
                    apply_resolution(
                        &tx,
                        &path,
                        change,
                        &conflict,
                        &Resolution::Whole(Side::Server),
                    )?;
                }
            }
            write_conflict(&tx, &path, &conflict)?;
            check.found.push(conflict);
        }
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(check)
    }
}
