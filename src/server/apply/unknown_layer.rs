//! A layer the service does not have, or the replica does not take: every one of its uploaded
//! edits, features and attachments alike, fails with 2001; under rollbackOnFailure the first
//! one stops the apply. Touches no database.

use super::{FailedEdit, LayerOutcome};
use crate::protocol::rules::Rejection;
use crate::protocol::{EditResult, Feature, Guid, LayerEdits, LayerSyncResult, ObjectType};

/// The edit-result code of an edit to a layer the service or the replica does not have.
const UNKNOWN_LAYER: i64 = 2001;

/// Every edit of a layer the service does not know fails with [`UNKNOWN_LAYER`] (2001).
pub(super) fn fail_every_edit_of_unknown_layer(
    edits: &LayerEdits,
    result: &mut LayerSyncResult,
    rollback: bool,
) -> LayerOutcome {
    let rejection = Rejection::new(UNKNOWN_LAYER, edits.id.to_string());
    let failed =
        |gid: Option<Guid>| EditResult::failed(None, gid, rejection.code, rejection.description());
    let first = edits
        .features
        .adds
        .iter()
        .chain(edits.features.updates.iter())
        .map(Feature::global_id)
        .next()
        .flatten()
        .or_else(|| {
            edits
                .features
                .delete_ids
                .first()
                .and_then(|s| Guid::parse(s).ok())
        });
    if rollback && !edits.features.is_empty() {
        return LayerOutcome {
            rolled_back: Some(FailedEdit::feature(edits.id, first, &rejection)),
            ..Default::default()
        };
    }
    if rollback && !edits.attachments.is_empty() {
        let first = edits
            .attachments
            .adds
            .iter()
            .chain(&edits.attachments.updates)
            .map(|a| a.global_id.as_str())
            .chain(edits.attachments.delete_ids.iter().map(String::as_str))
            .find_map(|g| Guid::parse(g).ok());
        return LayerOutcome {
            rolled_back: Some(FailedEdit {
                object_type: ObjectType::Attachment,
                ..FailedEdit::feature(edits.id, first, &rejection)
            }),
            ..Default::default()
        };
    }
    let attachment_failed = |g: &str| failed(Guid::parse(g).ok());
    result.attachments.add_results = edits
        .attachments
        .adds
        .iter()
        .map(|a| attachment_failed(&a.global_id))
        .collect();
    result.attachments.update_results = edits
        .attachments
        .updates
        .iter()
        .map(|a| attachment_failed(&a.global_id))
        .collect();
    result.attachments.delete_results = edits
        .attachments
        .delete_ids
        .iter()
        .map(|g| attachment_failed(g))
        .collect();
    result.add_results = edits
        .features
        .adds
        .iter()
        .map(|f| failed(f.global_id()))
        .collect();
    result.update_results = edits
        .features
        .updates
        .iter()
        .map(|f| failed(f.global_id()))
        .collect();
    result.delete_results = edits
        .features
        .delete_ids
        .iter()
        .map(|s| failed(Guid::parse(s).ok()))
        .collect();
    LayerOutcome {
        failed: edits.features.len()
            + edits.attachments.adds.len()
            + edits.attachments.updates.len()
            + edits.attachments.delete_ids.len(),
        ..Default::default()
    }
}
