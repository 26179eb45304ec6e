//! The reset guard: one row per replica, written before a client reset and cleared after the
//! first successful sync that follows, so a replica the server keeps refusing is never reset in
//! a loop. The decision is the engine's; this file only keeps the row.

use super::{Store, StoreError};
use crate::model::{LocalReplicaId, ResetMode};
use rusqlite::{OptionalExtension, params};

/// The reset guard of one replica (ARCHITECTURE.md, "Client reset"): written before a reset, cleared after the first
/// successful sync, so a reset can never loop.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetGuard {
    pub local_id: LocalReplicaId,
    pub mode: ResetMode,
    pub at_ms: i64,
    pub reason: String,
}

impl Store {
    /// Writes the reset guard before a reset (replacing an older one).
    pub fn set_reset_guard(&self, guard: &ResetGuard) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO reset_guard (local_id, mode, at_ms, reason) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (local_id) DO UPDATE SET mode = excluded.mode,
                     at_ms = excluded.at_ms, reason = excluded.reason",
                params![
                    guard.local_id.0,
                    guard.mode.as_str(),
                    guard.at_ms,
                    guard.reason
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    pub fn reset_guard(&self, local_id: LocalReplicaId) -> Result<Option<ResetGuard>, StoreError> {
        self.conn
            .query_row(
                "SELECT mode, at_ms, reason FROM reset_guard WHERE local_id = ?1",
                [local_id.0],
                |r| {
                    let mode: String = r.get(0)?;
                    Ok(ResetGuard {
                        local_id,
                        mode: ResetMode::parse(&mode).unwrap_or_default(),
                        at_ms: r.get(1)?,
                        reason: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Clears the guard (after the first successful sync following a reset).
    pub fn clear_reset_guard(&self, local_id: LocalReplicaId) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM reset_guard WHERE local_id = ?1", [local_id.0])
            .map_err(|e| self.sql(e))?;
        Ok(())
    }
}
