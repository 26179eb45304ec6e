//! The createReplica attempts of replicas not created yet: the name each attempt registers under
//! on the service (see `service::CreateAttempt`), recorded before its request is sent. A create
//! killed mid-way leaves its rows, so the next create of that replica can give back exactly the
//! replicas those attempts registered, and nothing else. Cleared once the replica is created, and
//! with the replica when it is forgotten.

use super::{Store, StoreError};
use crate::model::{LocalReplicaId, now_ms};
use rusqlite::params;

impl Store {
    /// Records that a createReplica for the replica is about to be sent under `service_name`.
    pub fn record_create_attempt(
        &self,
        local_id: LocalReplicaId,
        service_name: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO create_attempts (local_id, service_name, started_ms)
                 VALUES (?1, ?2, ?3)",
                params![local_id.0, service_name, now_ms()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The service names of the replica's recorded attempts, oldest first.
    pub fn create_attempts(&self, local_id: LocalReplicaId) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT service_name FROM create_attempts WHERE local_id = ?1
                 ORDER BY started_ms, rowid",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([local_id.0], |r| r.get(0))
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<String>, _>>()
            .map_err(|e| self.sql(e))
    }

    /// Forgets the replica's attempts (it was created, and their strays given back).
    pub fn clear_create_attempts(&self, local_id: LocalReplicaId) -> Result<(), StoreError> {
        self.conn
            .execute(
                "DELETE FROM create_attempts WHERE local_id = ?1",
                [local_id.0],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }
}
