//! The plain data of a client reset (ARCHITECTURE.md, "Client reset"): the [`ResetPlan`] shown
//! before it runs and the [`ResetReport`] of a finished one. The engine fills them; the store's
//! reset journal keeps a report across a crash; front ends show them.

use super::ids::LocalReplicaId;
use super::settings::ResetMode;
use crate::protocol::{ChangeType, Guid};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Unsynced local changes of one layer, as a reset plan counts them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerChangeCounts {
    pub layer_id: i64,
    pub layer_name: String,
    pub adds: u32,
    pub updates: u32,
    pub deletes: u32,
}

/// What a client reset will do, shown before it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetPlan {
    pub replica: LocalReplicaId,
    pub replica_name: String,
    pub reason: String,
    pub mode: ResetMode,
    pub fallback_chain: Vec<ResetMode>,
    pub changes: Vec<LayerChangeCounts>,
    /// Where the replica file and the export of unsynced changes are (or will be) backed up.
    pub backup_dir: PathBuf,
}

/// What happened to one object during a recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectOutcome {
    pub layer_id: i64,
    pub global_id: Guid,
    pub change_type: ChangeType,
    pub note: String,
}

/// The result of a finished reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetReport {
    pub replica: LocalReplicaId,
    /// The mode that finally ran (`Recover` or `Discard`).
    pub mode_used: ResetMode,
    pub recovered: Vec<ObjectOutcome>,
    pub discarded: Vec<ObjectOutcome>,
    pub backup_files: Vec<PathBuf>,
}
