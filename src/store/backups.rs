//! The lasting record of client-reset backups: one row per backup folder, written when a reset's
//! backup is verified and completed with the mode the reset finally used, so the backups of a
//! replica can be listed after the reset journal is gone (ARCHITECTURE.md, "Restore from a
//! backup"). The folders themselves are the engine's; this file only keeps the rows.

use super::{Store, StoreError};
use crate::model::{LocalReplicaId, ResetMode};
use rusqlite::params;
use std::path::PathBuf;

/// One recorded backup of a replica.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupRecord {
    pub local_id: LocalReplicaId,
    pub dir: PathBuf,
    pub made_ms: i64,
    /// The mode the reset ran in.
    pub mode: ResetMode,
    /// What the reset finally did (`Recover` or `Discard`), once it switched.
    pub mode_used: Option<ResetMode>,
    pub reason: String,
    /// The replica file the backup was made of.
    pub replica_file: PathBuf,
}

impl Store {
    /// Records a verified backup (a reset that reuses its backup records it once).
    pub fn record_backup(&self, record: &BackupRecord) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO reset_backups (dir, local_id, made_ms, mode, mode_used, reason, replica_file)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (dir) DO NOTHING",
                params![
                    record.dir.to_string_lossy(),
                    record.local_id.0,
                    record.made_ms,
                    record.mode.as_str(),
                    record.mode_used.map(ResetMode::as_str),
                    record.reason,
                    record.replica_file.to_string_lossy(),
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Records what the reset that made the backup in `dir` finally did.
    pub fn set_backup_mode_used(
        &self,
        dir: &std::path::Path,
        mode_used: ResetMode,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE reset_backups SET mode_used = ?2 WHERE dir = ?1",
                params![dir.to_string_lossy(), mode_used.as_str()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The recorded backups of a replica, newest first.
    pub fn backups(&self, local_id: LocalReplicaId) -> Result<Vec<BackupRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT dir, made_ms, mode, mode_used, reason, replica_file FROM reset_backups
                 WHERE local_id = ?1 ORDER BY made_ms DESC, dir DESC",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([local_id.0], |r| {
                let dir: String = r.get(0)?;
                let mode: String = r.get(2)?;
                let mode_used: Option<String> = r.get(3)?;
                let file: String = r.get(5)?;
                Ok(BackupRecord {
                    local_id,
                    dir: PathBuf::from(dir),
                    made_ms: r.get(1)?,
                    mode: ResetMode::parse(&mode).unwrap_or_default(),
                    mode_used: mode_used.as_deref().and_then(ResetMode::parse),
                    reason: r.get(4)?,
                    replica_file: PathBuf::from(file),
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }
}
