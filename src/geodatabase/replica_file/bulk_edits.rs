//! Several queued changes fixed or dropped at once, all or nothing: one field set to one value in
//! a list of queued adds and updates (the technician's "set this field for N edits"), and a list
//! of queued changes dropped. Each runs in one transaction; when one of the changes is missing
//! (or a delete, which has no values to set) nothing is written.
//!
//! What it must not do: change the server's version of a feature, or leave some of the changes
//! done and others not.

use super::queue::{ChangeKind, ChangeState, delete_change, read_change, write_change};
use super::{ReplicaFile, ReplicaFileError, now_ms, sql_at};
use crate::protocol::Guid;

impl ReplicaFile {
    /// Sets `field` to `value` in each of these queued adds and updates of `layer_id` and
    /// queues them again (pending, a new revision). Returns how many were changed.
    pub fn set_field_in_changes(
        &mut self,
        layer_id: i64,
        global_ids: &[Guid],
        field: &str,
        value: &serde_json::Value,
    ) -> Result<usize, ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        for global_id in global_ids {
            let Some(mut change) = read_change(&tx, &path, layer_id, global_id)? else {
                return Err(ReplicaFileError::NoSuchChange {
                    layer_id,
                    global_id: global_id.clone(),
                });
            };
            if change.kind == ChangeKind::Delete {
                return Err(ReplicaFileError::CannotFixDelete {
                    layer_id,
                    global_id: global_id.clone(),
                });
            }
            change
                .attributes
                .retain(|k, _| !k.eq_ignore_ascii_case(field));
            change.attributes.insert(field.to_string(), value.clone());
            change.state = ChangeState::Pending;
            change.error_code = None;
            change.error_text = None;
            change.edited_ms = now_ms();
            change.revision += 1;
            write_change(&tx, &path, &change)?;
        }
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(global_ids.len())
    }

    /// Drops each of these queued feature changes (`(layer_id, global_id)`): the features revert
    /// to the server's versions. Returns how many were dropped.
    pub fn drop_changes(&mut self, changes: &[(i64, Guid)]) -> Result<usize, ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        for (layer_id, global_id) in changes {
            if read_change(&tx, &path, *layer_id, global_id)?.is_none() {
                return Err(ReplicaFileError::NoSuchChange {
                    layer_id: *layer_id,
                    global_id: global_id.clone(),
                });
            }
            delete_change(&tx, &path, *layer_id, global_id)?;
        }
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(changes.len())
    }
}
