//! The synchronizeReplica parameters of one sync of a replica: its stored generation(s) per
//! sync model, the direction, the result format (chosen by `data_format`) and the upload's
//! edits. Shared by the sync job and its conflict
//! step's download-first; does no I/O.

use crate::engine::api::SyncOptions;
use crate::geodatabase::replica_file::{Generations, ReplicaDefinition, Upload};
use crate::protocol::{
    DataFormat, Guid, SyncDirection, SyncLayerSpec, SyncModel, SyncReplicaParams,
};

/// The synchronizeReplica parameters for this replica's stored generations.
pub(super) fn sync_params(
    guid: &Guid,
    definition: &ReplicaDefinition,
    generations: &Generations,
    options: &SyncOptions,
    upload: Option<Upload>,
    format: DataFormat,
) -> SyncReplicaParams {
    let mut params = SyncReplicaParams::new(guid.clone(), options.direction);
    params.is_async = options.is_async;
    params.data_format = format;
    params.return_ids_for_adds = true;
    if let Some(upload) = upload
        && options.direction != SyncDirection::Download
    {
        // Moved, not copied: with attachments the edits can hold megabytes of base64.
        params.edits = upload.edits;
        params.rollback_on_failure = Some(options.rollback_on_failure);
    }
    match definition.sync_model {
        SyncModel::PerLayer => {
            params.sync_layers = definition
                .layers
                .iter()
                .map(|layer| SyncLayerSpec {
                    id: layer.layer_id,
                    server_gen: generations
                        .layer_server_gens
                        .iter()
                        .find(|(id, _)| *id == layer.layer_id)
                        .map(|(_, g)| *g),
                    server_sib_gen: None,
                    sync_direction: Some(options.direction),
                })
                .collect();
        }
        _ => params.replica_server_gen = generations.replica_server_gen,
    }
    params
}
