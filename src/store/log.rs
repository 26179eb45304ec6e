//! The sync error log: lines appended by the engine, pruned to the newest [`LOG_LIMIT`], read
//! back when the engine starts (the window's log) and by `syncwatch log`.

use super::{Store, StoreError};
use crate::model::{LOG_LIMIT, LocalReplicaId, LogEntry};
use rusqlite::params;

impl Store {
    /// Appends a line to the sync error log (and prunes the oldest beyond the limit).
    pub fn log(&self, entry: &LogEntry) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO event_log (at_ms, local_id, replica_name, code, message)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    entry.at_ms,
                    entry.replica.map(|r| r.0),
                    entry.replica_name,
                    entry.code,
                    entry.message
                ],
            )
            .map_err(|e| self.sql(e))?;
        self.conn
            .execute(
                "DELETE FROM event_log WHERE id <= (SELECT MAX(id) FROM event_log) - ?1",
                [LOG_LIMIT as i64],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The whole stored log (at most [`LOG_LIMIT`] lines), oldest first.
    pub fn stored_log(&self) -> Result<Vec<LogEntry>, StoreError> {
        self.recent_log(LOG_LIMIT as u32)
    }

    /// The newest log lines, oldest first.
    pub fn recent_log(&self, limit: u32) -> Result<Vec<LogEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT at_ms, local_id, replica_name, code, message FROM
                   (SELECT * FROM event_log ORDER BY id DESC LIMIT ?1) ORDER BY id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok(LogEntry {
                    at_ms: r.get(0)?,
                    replica: r.get::<_, Option<i64>>(1)?.map(LocalReplicaId),
                    replica_name: r.get(2)?,
                    code: r.get(3)?,
                    message: r.get(4)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }
}
