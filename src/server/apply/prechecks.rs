//! The pure per-edit rules of an upload's adds, worked out ahead of the database work: each
//! add's GlobalID and checked row with its JSON, and, for a large upload, a checking thread
//! that runs a batch ahead of the feature applier so checking and inserting overlap. No
//! database here: existence and uniqueness need the stored rows and stay with the applier.

use crate::protocol::Feature;
use crate::protocol::Guid;
use crate::protocol::rules::{self, EditContext, Rejection};
use std::sync::mpsc;

/// Adds of at least this many features are checked on a second thread (below, a thread costs
/// more than it saves).
pub(super) const PIPELINE_MIN_ADDS: usize = 1024;
/// Adds per batch handed from the checking thread to the database side (one wake-up per batch).
pub(super) const PIPELINE_BATCH: usize = 512;
/// Checked batches waiting for the database side, at most.
pub(super) const PIPELINE_BATCHES_AHEAD: usize = 16;

/// The checking side of `LayerApplier::apply_adds` (in `features`): checks `adds` batch by
/// batch, in the same chunks the database side takes them, and frees the batches the database
/// side sends back.
pub(super) fn check_ahead(
    ctx: EditContext<'_>,
    adds: &[Feature],
    checked_tx: &mpsc::SyncSender<Vec<CheckedAdd>>,
    spent_rx: mpsc::Receiver<Vec<CheckedAdd>>,
) {
    for chunk in adds.chunks(PIPELINE_BATCH) {
        let batch = check_adds(ctx, chunk);
        while let Ok(spent) = spent_rx.try_recv() {
            drop(spent);
        }
        // A closed channel means the database side stopped (rollback or error).
        if checked_tx.send(batch).is_err() {
            break;
        }
    }
    // The database side hangs up when it is done.
    for spent in spent_rx {
        drop(spent);
    }
}

pub(super) fn check_adds(ctx: EditContext<'_>, adds: &[Feature]) -> Vec<CheckedAdd> {
    adds.iter().map(|f| CheckedAdd::new(ctx, f)).collect()
}

/// What the pure rules say about one add: why its GlobalID is refused, or the GlobalID with the
/// row to store (and its attribute and geometry JSON) or why the row is refused. Depends only on
/// the edit and the layer, not on the store, so it can be worked out ahead of the store work.
pub(super) enum CheckedAdd {
    NoGlobalId(Rejection),
    Checked {
        global_id: Guid,
        row: Result<PreparedAdd, Rejection>,
    },
}

/// A checked row with its attribute JSON and geometry JSON (if any).
pub(super) type PreparedAdd = (
    rules::PreparedRow,
    Result<String, serde_json::Error>,
    Result<Option<String>, serde_json::Error>,
);

impl CheckedAdd {
    pub(super) fn new(ctx: EditContext<'_>, feature: &Feature) -> Self {
        let global_id = match rules::global_id_of(feature) {
            Ok(g) => g,
            Err(rejection) => return CheckedAdd::NoGlobalId(rejection),
        };
        let row = rules::prepare_add(ctx, feature).map(|row| {
            let attributes = serde_json::to_string(&row.attributes);
            let geometry = row.geometry.as_ref().map(serde_json::to_string).transpose();
            (row, attributes, geometry)
        });
        CheckedAdd::Checked { global_id, row }
    }
}
