//! Which layers one synchronizeReplica touches, in which direction and from which client
//! generation, and how each layer's uploaded edits are treated.

use super::{OpError, bad_request};
use crate::protocol::{SyncDirection, SyncModel, SyncReplicaParams};
use crate::server::apply::LayerUpload;
use crate::server::db::RegisteredReplica;

/// One layer's part in a sync.
#[derive(Debug, Clone)]
pub(super) struct LayerPlan {
    pub(super) id: i64,
    pub(super) direction: SyncDirection,
    pub(super) client_gen: i64,
}

pub(super) fn plan_layers(
    record: &RegisteredReplica,
    params: &SyncReplicaParams,
) -> Result<Vec<LayerPlan>, OpError> {
    let stored_gen = |id: i64| {
        record
            .layers
            .iter()
            .find(|l| l.id == id)
            .map(|l| l.server_gen)
            .unwrap_or(record.server_gen)
    };
    if record.sync_model != SyncModel::PerLayer || params.sync_layers.is_empty() {
        let client_gen = params.replica_server_gen.unwrap_or(record.server_gen);
        return Ok(record
            .layers
            .iter()
            .map(|l| LayerPlan {
                id: l.id,
                direction: params.sync_direction,
                client_gen: if record.sync_model == SyncModel::PerLayer {
                    stored_gen(l.id)
                } else {
                    client_gen
                },
            })
            .collect());
    }
    params
        .sync_layers
        .iter()
        .map(|spec| {
            if !record.layers.iter().any(|l| l.id == spec.id) {
                return Err(bad_request(format!(
                    "Layer {} does not exist in this replica",
                    spec.id
                )));
            }
            Ok(LayerPlan {
                id: spec.id,
                direction: spec.sync_direction.unwrap_or(params.sync_direction),
                client_gen: spec.server_gen.unwrap_or_else(|| stored_gen(spec.id)),
            })
        })
        .collect()
}

pub(super) fn upload_mode(plan: &[LayerPlan], id: i64) -> LayerUpload {
    match plan.iter().find(|p| p.id == id) {
        None => LayerUpload::NotFound,
        Some(p)
            if matches!(
                p.direction,
                SyncDirection::Upload | SyncDirection::Bidirectional
            ) =>
        {
            LayerUpload::Apply
        }
        Some(_) => LayerUpload::Ignore,
    }
}
