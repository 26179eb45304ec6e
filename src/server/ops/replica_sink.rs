//! [`ReplicaSink`]: where createReplica writes its data as it reads it from the database, one
//! feature at a time, so a replica of any size passes through in bounded memory. `http` gives the
//! sink (a JSON result file, an embedded JSON body spooled to disk, a delta SQLite file); `ops`
//! knows none of them. This file owns only the contract, and must not do I/O itself.

use super::OpError;
use crate::protocol::{Attachment, Feature};

/// Receives a createReplica's data in this order: for each layer, [`ReplicaSink::begin_layer`],
/// its features one by one, then [`ReplicaSink::end_layer`] with its attachments. The reply's
/// other members (replica id, name, generations, transport and response type) are known only
/// once the replica is registered: `create_replica` returns them, and the sink's owner completes
/// the output with them (after the core's lock is released). A failed write is an `OpError`
/// the sink has already logged.
pub trait ReplicaSink {
    /// A layer's data begins.
    fn begin_layer(&mut self, layer_id: i64) -> Result<(), OpError>;
    /// One feature of the current layer.
    fn feature(&mut self, feature: &Feature) -> Result<(), OpError>;
    /// The current layer's attachments (their data URLs still relative to the FeatureServer);
    /// the layer ends.
    fn end_layer(&mut self, attachments: Vec<Attachment>) -> Result<(), OpError>;
}
