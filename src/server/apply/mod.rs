//! Applies the uploaded edits of one synchronizeReplica inside the caller's transaction, layer
//! by layer: `features` (the per-layer feature applier: adds, updates and deletes by GlobalID,
//! idempotent resends, uniqueness 1022, existence 1011, the per-edit rules of
//! `protocol::rules`, the true-curve check of `curves` 1005), with `prechecks` running the pure
//! rules of a large upload on a second thread; `attachments` (each layer's attachment edits,
//! after its feature edits); `unknown_layer` (every edit of a layer the service or the replica
//! does not have fails with 2001). This file owns the entry point, its options and its outcome.
//! It must not commit or roll back: the caller decides from the outcome (rollbackOnFailure)
//! what happens to the transaction.

mod attachments;
mod features;
mod prechecks;
mod unknown_layer;

use super::db::ServiceDbError;
use super::definition::ServiceDefinition;
use crate::protocol::rules::{Caller, EditContext, Rejection};
use crate::protocol::{Guid, LayerEdits, LayerSyncResult, ObjectType};
use features::LayerApplier;
use rusqlite::Connection;
use unknown_layer::fail_every_edit_of_unknown_layer;

/// How one layer's uploaded edits are treated in this sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerUpload {
    Apply,
    /// The layer syncs download-only or snapshot: its edits are ignored.
    Ignore,
    /// The layer is not in the service or not in the replica: every edit fails with 2001.
    NotFound,
}

/// An edit that failed, as the rollback envelope names it.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedEdit {
    pub layer_id: i64,
    pub global_id: Option<Guid>,
    pub code: i64,
    pub description: String,
    /// A feature (0) or an attachment (1).
    pub object_type: ObjectType,
}

impl FailedEdit {
    fn feature(layer_id: i64, global_id: Option<Guid>, rejection: &Rejection) -> Self {
        FailedEdit {
            layer_id,
            global_id,
            code: rejection.code,
            description: rejection.description(),
            object_type: ObjectType::Feature,
        }
    }
}

/// What applying the edits came to.
#[derive(Debug)]
pub enum ApplyOutcome {
    /// Every edit was tried; failures (if any) are in the results.
    Applied {
        results: Vec<LayerSyncResult>,
        failed: usize,
        applied: usize,
    },
    /// rollbackOnFailure: the first failure stops everything; the caller rolls back.
    RolledBack(FailedEdit),
}

/// The options of one apply.
pub struct ApplyOptions<'a> {
    pub def: &'a ServiceDefinition,
    pub caller: &'a Caller,
    pub generation: i64,
    pub rollback_on_failure: bool,
    pub return_ids_for_adds: bool,
    /// The replica uploads attachments (attachmentsSyncDirection upload or bidirectional).
    pub attachments_upload: bool,
}

/// Applies `edits` at `options.generation`; `upload` says how each layer is treated.
pub fn apply_edits(
    conn: &Connection,
    edits: &[LayerEdits],
    upload: &dyn Fn(i64) -> LayerUpload,
    options: &ApplyOptions<'_>,
) -> Result<ApplyOutcome, ServiceDbError> {
    let mut results = Vec::new();
    let (mut failed, mut applied) = (0, 0);
    // The checks read the service as its clients see it: the root and layer resources.
    let service = options.def.service_info();
    for layer_edits in edits {
        let mut result = LayerSyncResult {
            id: layer_edits.id,
            ..Default::default()
        };
        let mode = match options.def.layer(layer_edits.id) {
            None => LayerUpload::NotFound,
            Some(_) => upload(layer_edits.id),
        };
        let outcome = match (mode, options.def.layer(layer_edits.id)) {
            (LayerUpload::Ignore, _) => continue,
            (LayerUpload::Apply, Some(layer)) => {
                let layer_info = options.def.layer_info(layer);
                let mut applier = LayerApplier::new(conn, layer, &layer_info, &service, options)?;
                let mut outcome = applier.apply(layer_edits, &mut result)?;
                applier.free_lookups();
                if outcome.rolled_back.is_none() && !layer_edits.attachments.is_empty() {
                    let attached = attachments::apply(
                        conn,
                        layer,
                        EditContext {
                            def: &service,
                            layer: &layer_info,
                            caller: options.caller,
                        },
                        options,
                        &layer_edits.attachments,
                        &mut result.attachments,
                    )?;
                    outcome.failed += attached.failed;
                    outcome.applied += attached.applied;
                    outcome.rolled_back = attached.rolled_back;
                }
                outcome
            }
            _ => fail_every_edit_of_unknown_layer(
                layer_edits,
                &mut result,
                options.rollback_on_failure,
            ),
        };
        if let Some(failure) = outcome.rolled_back {
            return Ok(ApplyOutcome::RolledBack(failure));
        }
        failed += outcome.failed;
        applied += outcome.applied;
        if !result.add_results.is_empty()
            || !result.update_results.is_empty()
            || !result.delete_results.is_empty()
            || !result.attachments.is_empty()
        {
            results.push(result);
        }
    }
    Ok(ApplyOutcome::Applied {
        results,
        failed,
        applied,
    })
}

/// What applying one layer's feature or attachment edits came to.
#[derive(Debug, Default)]
struct LayerOutcome {
    failed: usize,
    applied: usize,
    /// rollbackOnFailure: the first failure, which stops the apply.
    rolled_back: Option<FailedEdit>,
}
