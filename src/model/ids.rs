//! The ids syncwatch gives its own things: replicas it holds and jobs it runs. Plain numbers;
//! the store hands them out, nothing here allocates them.

use serde::{Deserialize, Serialize};

/// syncwatch's own id for a replica it holds. Stable across client resets (a reset gives the
/// replica a new server `replicaID`, but it stays the same entry for the technician).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LocalReplicaId(pub i64);

impl std::fmt::Display for LocalReplicaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One sync or create job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobId(pub i64);
