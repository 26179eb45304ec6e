//! How many changes are queued per layer, over both queues: feature adds, updates and deletes
//! (kept by triggers in `queue_counts`), queued attachment changes, refused and predicted ones.
//!
//! What it must not do: count the queue row by row (a summary is built after every edit and
//! sync step; the triggers keep the counts in the same transaction as the change).

use super::attachment_queue;
use super::{ReplicaFile, ReplicaFileError};
use serde::{Deserialize, Serialize};

/// Queued changes of one layer, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PendingCounts {
    pub layer_id: i64,
    pub adds: u32,
    pub updates: u32,
    pub deletes: u32,
    /// Of those, how many the server refused last time (attachment changes included).
    pub failed: u32,
    /// Queued attachment adds, updates and deletes.
    pub attachments: u32,
    /// Of the feature changes not refused yet, how many the service's rules predict it will
    /// refuse.
    pub predicted: u32,
}

impl PendingCounts {
    pub fn total(&self) -> u32 {
        self.adds + self.updates + self.deletes + self.attachments
    }
}

impl ReplicaFile {
    /// Queued changes per layer and kind (every layer of the replica, zeros included).
    pub fn pending_counts(&self) -> Result<Vec<PendingCounts>, ReplicaFileError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT l.layer_id, COALESCE(q.adds, 0), COALESCE(q.updates, 0),
                    COALESCE(q.deletes, 0), COALESCE(q.failed, 0), COALESCE(q.predicted, 0)
                 FROM layers l LEFT JOIN queue_counts q ON q.layer_id = l.layer_id
                 ORDER BY l.layer_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(PendingCounts {
                    layer_id: r.get(0)?,
                    adds: r.get(1)?,
                    updates: r.get(2)?,
                    deletes: r.get(3)?,
                    failed: r.get(4)?,
                    attachments: 0,
                    predicted: r.get(5)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        let mut counts = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        let queued = attachment_queue::counts(&self.conn, &self.path)?;
        for c in &mut counts {
            if let Some((total, failed)) = queued.get(&c.layer_id) {
                c.attachments = *total;
                c.failed += failed;
            }
        }
        Ok(counts)
    }
}
