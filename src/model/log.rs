//! A line of the sync error log, as the store keeps it and the log panel shows it.

use super::ids::LocalReplicaId;
use serde::{Deserialize, Serialize};

/// Lines the sync error log keeps: the store prunes older ones, and the window shows what the
/// store holds (a running window may hold up to a tenth more before it trims).
pub const LOG_LIMIT: usize = 5_000;

/// A line of the sync error log (the default sync error handler).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub at_ms: i64,
    pub replica: Option<LocalReplicaId>,
    pub replica_name: String,
    pub code: Option<i64>,
    pub message: String,
}
