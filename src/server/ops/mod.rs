//! The replica operations as blocking functions over the service core (database + definition):
//! `create` (createReplica, written row by row into a `replica_sink::ReplicaSink`), `synchronize` (synchronizeReplica, with `plan` choosing each
//! layer's part and `download` writing the server's changes into the same sink, row by row), `replicas` (unRegisterReplica,
//! the replicas list, replica info, attachment data), `query` (a layer's query), `area` (filter
//! geometry and work areas in the service's spatial reference), `replica_access` (who may act on a
//! replica), `caller_view` (what a caller may see of a layer) and `attachment_wire` (stored attachments as download JSON). They return protocol types (`ReplicaResponse`, `ReplicaInfo`, …) or a
//! `ServiceError` for the envelope; transport (embedded, URL, SQLite, async) is decided by
//! `http`. Uploaded edits are applied by `apply`; SQL is `db`'s. Must only be called off the
//! async runtime (`spawn_blocking`), with the core locked.
//!
//! This file owns the core, the operation error and the envelopes the operations share.

mod area;
mod attachment_wire;
mod caller_view;
mod create;
mod download;
mod plan;
mod query;
mod replica_access;
mod replica_sink;
mod replicas;
mod synchronize;

pub use create::create_replica;
pub use query::{QUERY_REFUSED, QueryOutput, query};
pub use replica_sink::{Change, ReplicaSink};
pub use replicas::{attachment_data, info, list, parse_replica_id, unregister};
pub use synchronize::synchronize;

use super::db::{RegisteredReplica, ServiceDb, ServiceDbError};
use super::definition::ServiceDefinition;
use crate::protocol::{LayerServerGen, ReplicaResponse, ServiceError, SyncModel};

/// The message and detail of ArcGIS's "replica does not exist" envelope.
pub const REPLICA_MISSING_MESSAGE: &str = "Unable to complete operation.";
pub const REPLICA_MISSING_DETAIL: &str = "Replica with this GUID does not exist on the server";

/// Everything the operations work on; guarded by one mutex in `http::state`.
pub struct Core {
    pub db: ServiceDb,
    pub def: ServiceDefinition,
    pub schema_version: i64,
    /// What the last breaking schema change was, for the error text.
    pub last_schema_change: Option<String>,
}

/// A failed operation: the envelope to send, or an internal database failure.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{0}")]
    Service(ServiceError),
    #[error("internal error")]
    Db(#[from] ServiceDbError),
}

impl From<ServiceError> for OpError {
    fn from(e: ServiceError) -> Self {
        OpError::Service(e)
    }
}

/// The envelope for a replica that is not registered (ArcGIS's own words, verbatim).
pub fn replica_missing() -> ServiceError {
    ServiceError::new(
        404,
        REPLICA_MISSING_MESSAGE,
        vec![REPLICA_MISSING_DETAIL.into()],
    )
}

fn bad_request(detail: impl Into<String>) -> OpError {
    OpError::Service(ServiceError::new(
        400,
        "Unable to complete operation.",
        vec![detail.into()],
    ))
}

fn sync_disabled() -> OpError {
    bad_request("Sync is disabled on this service: the administrator terminated sync operations.")
}

fn set_generations(
    response: &mut ReplicaResponse,
    record: &RegisteredReplica,
    generation: i64,
    layer_ids: impl Iterator<Item = i64>,
) {
    match record.sync_model {
        SyncModel::PerLayer => {
            response.layer_server_gens = layer_ids
                .map(|id| LayerServerGen {
                    id,
                    server_gen: generation,
                    server_sib_gen: None,
                })
                .collect();
        }
        _ => response.replica_server_gen = Some(generation),
    }
}
