//! `Harness::assert_no_edit_lost`, the conflict tests' invariant: every local edit a test made
//! is on the service, or still in the replica's change queue (queued or held by a conflict),
//! with its values. An edit the user chose to give up (take the server's) is not listed.
//! It reads the service's SQLite database and the replica file directly; it changes nothing.

use super::Harness;
use serde_json::Value;
use syncwatch::engine::LocalReplicaId;
use syncwatch::protocol::Guid;

/// One local update a test made: these attribute values of one feature.
pub struct MadeEdit {
    pub layer_id: i64,
    pub global_id: Guid,
    pub values: Value,
}

impl MadeEdit {
    pub fn new(layer_id: i64, global_id: &Guid, values: Value) -> MadeEdit {
        MadeEdit {
            layer_id,
            global_id: global_id.clone(),
            values,
        }
    }
}

/// `values`' fields all hold the same values in `attributes` (any case of the names).
fn holds(attributes: &serde_json::Map<String, Value>, values: &Value) -> bool {
    values.as_object().is_some_and(|wanted| {
        wanted.iter().all(|(name, value)| {
            attributes
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case(name) && v == value)
        })
    })
}

impl Harness {
    /// Asserts every edit in `made` is on the service or still in `replica`'s change queue.
    pub fn assert_no_edit_lost(&self, replica: LocalReplicaId, made: &[MadeEdit]) {
        let server = self.server_db();
        let file = self.file(replica);
        for edit in made {
            let on_server = server
                .attributes(edit.layer_id, &edit.global_id)
                .and_then(|a| a.as_object().cloned())
                .is_some_and(|a| holds(&a, &edit.values));
            let queued = file
                .change(edit.layer_id, &edit.global_id)
                .unwrap()
                .is_some_and(|c| holds(&c.attributes, &edit.values));
            assert!(
                on_server || queued,
                "the local edit {} of {} in layer {} is neither on the service nor queued",
                edit.values,
                edit.global_id,
                edit.layer_id
            );
        }
    }
}
