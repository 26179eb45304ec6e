//! [`ReplicaSink`]: where createReplica and synchronizeReplica write their data as they read it
//! from the database, one feature at a time, so a replica of any size, and the server changes of
//! any time offline, pass through in bounded memory. `http` gives the sink (a JSON result file,
//! an embedded JSON body spooled to disk, a delta SQLite file); `ops` knows none of them. This
//! file owns only the contract, and must not do I/O itself.

use super::OpError;
use crate::protocol::{Attachment, Feature, LayerSyncResult};

/// One server change of a synchronizeReplica download, as read from the database.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A feature the replica does not have (`features.adds`).
    Add(&'a Feature),
    /// A feature the replica has, changed (`features.updates`).
    Update(&'a Feature),
    /// A feature the replica has, gone (`features.deleteIds`, by GlobalID).
    Delete(&'a str),
}

/// Receives a replica's data (createReplica, or a snapshot layer of synchronizeReplica) in
/// this order: for each layer, [`ReplicaSink::begin_layer`], its features one by one, then
/// [`ReplicaSink::end_layer`] with its attachments. synchronizeReplica's changes (its `edits`,
/// in layer id order, before any snapshot layer) come as [`ReplicaSink::begin_changes`], the
/// layer's feature changes one by one in database order ([`ReplicaSink::change`]), then
/// [`ReplicaSink::end_changes`] with the rest of the layer's entry. The reply's other members
/// (replica id, name, generations, transport and response type) are known only at the end: the
/// operation returns them, and the sink's owner completes the output with them (after the
/// core's lock is released). A failed write is an `OpError` the sink has already logged.
pub trait ReplicaSink {
    /// A layer's data begins.
    fn begin_layer(&mut self, layer_id: i64) -> Result<(), OpError>;
    /// One feature of the current layer.
    fn feature(&mut self, feature: &Feature) -> Result<(), OpError>;
    /// The current layer's attachments (their data URLs still relative to the FeatureServer);
    /// the layer ends.
    fn end_layer(&mut self, attachments: Vec<Attachment>) -> Result<(), OpError>;

    /// A layer's entry in a sync's `edits` begins.
    fn begin_changes(&mut self, layer_id: i64) -> Result<(), OpError>;
    /// One server change of the current entry.
    fn change(&mut self, change: Change<'_>) -> Result<(), OpError>;
    /// The current entry ends with `rest`: its attachment changes (data URLs still relative)
    /// and the upload's edit results; its `features` are ignored (they came as changes).
    /// `in_reply` says whether the entry is in the reply at all; it is false only for an entry
    /// that had no change and has nothing in `rest`.
    fn end_changes(&mut self, rest: LayerSyncResult, in_reply: bool) -> Result<(), OpError>;
}
