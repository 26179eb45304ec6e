//! The replica registry: one row per replica syncwatch holds (name, service, file, reset mode,
//! pause, last attempt and error). Its `token` column is a leftover of older versions: never
//! written, read only as [`ReplicaRecord::legacy_token`] until the engine moves it out.
//! Forgetting a replica also forgets everything else the store recorded about it.

use super::{Store, StoreError, settings};
use crate::model::{LocalReplicaId, ResetMode, Secret, now_ms};
use crate::protocol::Guid;
use rusqlite::{OptionalExtension, params};
use std::path::{Path, PathBuf};

/// One replica syncwatch holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaRecord {
    pub local_id: LocalReplicaId,
    pub name: String,
    pub service_url: String,
    /// A token an older version stored here in plain text, still waiting to be moved to a secret
    /// store (only while no store could take it). New tokens are never here. `Debug` hides it.
    pub legacy_token: Option<Secret>,
    /// The server's replicaID, once created.
    pub replica_guid: Option<Guid>,
    pub file_path: PathBuf,
    pub reset_mode: ResetMode,
    pub paused: bool,
    /// Why the replica needs a client reset, if it does (column `reset_required`).
    pub reset_reason: Option<String>,
    /// The last job's failure, cleared by a successful sync.
    pub last_error: Option<String>,
    pub last_success_ms: Option<i64>,
    pub last_attempt_ms: Option<i64>,
    pub created_ms: i64,
}

/// What registering a replica needs.
#[derive(Debug, Clone)]
pub struct NewReplica {
    pub name: String,
    pub service_url: String,
    pub replica_guid: Option<Guid>,
    pub file_path: PathBuf,
}

const REPLICA_COLUMNS: &str = "local_id, name, service_url, token, replica_guid, file_path,
    reset_mode, paused, reset_required, last_error, last_success_ms, last_attempt_ms, created_ms";

fn replica_from_row(r: &rusqlite::Row) -> rusqlite::Result<ReplicaRecord> {
    let guid: Option<String> = r.get(4)?;
    let mode: String = r.get(6)?;
    let file_path: String = r.get(5)?;
    Ok(ReplicaRecord {
        local_id: LocalReplicaId(r.get(0)?),
        name: r.get(1)?,
        service_url: r.get(2)?,
        legacy_token: r.get::<_, Option<String>>(3)?.map(Secret::from),
        replica_guid: guid.and_then(|g| Guid::parse(&g).ok()),
        file_path: PathBuf::from(file_path),
        reset_mode: ResetMode::parse(&mode).unwrap_or_default(),
        paused: r.get(7)?,
        reset_reason: r.get(8)?,
        last_error: r.get(9)?,
        last_success_ms: r.get(10)?,
        last_attempt_ms: r.get(11)?,
        created_ms: r.get(12)?,
    })
}

impl Store {
    /// Registers a replica; names are unique.
    pub fn add_replica(&self, replica: &NewReplica) -> Result<LocalReplicaId, StoreError> {
        if self.find_replica(&replica.name)?.is_some() {
            return Err(StoreError::NameTaken(replica.name.clone()));
        }
        self.conn
            .execute(
                "INSERT INTO replicas (name, service_url, replica_guid, file_path,
                     reset_mode, paused, created_ms)
                 VALUES (?1, ?2, ?3, ?4, 'recover-or-discard', 0, ?5)",
                params![
                    replica.name,
                    replica.service_url,
                    replica.replica_guid.as_ref().map(Guid::as_str),
                    replica.file_path.to_string_lossy(),
                    now_ms(),
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(LocalReplicaId(self.conn.last_insert_rowid()))
    }

    /// Every registered replica, by local id.
    pub fn replicas(&self) -> Result<Vec<ReplicaRecord>, StoreError> {
        let sql = format!("SELECT {REPLICA_COLUMNS} FROM replicas ORDER BY local_id");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], replica_from_row)
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// One replica.
    pub fn replica(&self, local_id: LocalReplicaId) -> Result<ReplicaRecord, StoreError> {
        let sql = format!("SELECT {REPLICA_COLUMNS} FROM replicas WHERE local_id = ?1");
        self.conn
            .query_row(&sql, [local_id.0], replica_from_row)
            .optional()
            .map_err(|e| self.sql(e))?
            .ok_or(StoreError::NoSuchReplica(local_id))
    }

    /// The replica with this name, or this server replicaID (braced or not, any case).
    pub fn find_replica(&self, name_or_guid: &str) -> Result<Option<ReplicaRecord>, StoreError> {
        let all = self.replicas()?;
        if let Some(r) = all.iter().find(|r| r.name == name_or_guid) {
            return Ok(Some(r.clone()));
        }
        let Ok(guid) = Guid::parse(name_or_guid) else {
            return Ok(None);
        };
        Ok(all
            .into_iter()
            .find(|r| r.replica_guid.as_ref() == Some(&guid)))
    }

    fn update_replica(
        &self,
        local_id: LocalReplicaId,
        set_sql: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<(), StoreError> {
        let sql = format!("UPDATE replicas SET {set_sql} WHERE local_id = ?1");
        let mut all: Vec<&dyn rusqlite::ToSql> = vec![&local_id.0];
        all.extend_from_slice(values);
        let changed = self
            .conn
            .execute(&sql, all.as_slice())
            .map_err(|e| self.sql(e))?;
        if changed == 0 {
            return Err(StoreError::NoSuchReplica(local_id));
        }
        Ok(())
    }

    /// Records the server replicaID and file once the replica exists.
    pub fn set_replica_file(
        &self,
        local_id: LocalReplicaId,
        replica_guid: &Guid,
        file_path: &Path,
    ) -> Result<(), StoreError> {
        self.update_replica(
            local_id,
            "replica_guid = ?2, file_path = ?3",
            &[&replica_guid.as_str(), &file_path.to_string_lossy()],
        )
    }

    /// Sets where the replica's file lives (decided when the replica is registered).
    pub fn set_replica_path(
        &self,
        local_id: LocalReplicaId,
        file_path: &Path,
    ) -> Result<(), StoreError> {
        self.update_replica(local_id, "file_path = ?2", &[&file_path.to_string_lossy()])
    }

    /// Records the server replicaID once the replica exists.
    pub fn set_replica_guid(
        &self,
        local_id: LocalReplicaId,
        replica_guid: &Guid,
    ) -> Result<(), StoreError> {
        self.update_replica(local_id, "replica_guid = ?2", &[&replica_guid.as_str()])
    }

    /// Forgets a replica and everything recorded about it.
    pub fn remove_replica(&mut self, local_id: LocalReplicaId) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        for table in [
            "edit_results",
            "jobs",
            "reset_guard",
            "reset_journal",
            "replica_tokens",
            "create_attempts",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE local_id = ?1"),
                [local_id.0],
            )
            .map_err(sql)?;
        }
        tx.execute(
            "UPDATE event_log SET local_id = NULL WHERE local_id = ?1",
            [local_id.0],
        )
        .map_err(sql)?;
        for key in [
            settings::predicted_policy_key(local_id),
            settings::conflict_policy_key(local_id),
            settings::replica_account_key(local_id),
            settings::sign_in_needed_key(local_id),
        ] {
            tx.execute("DELETE FROM settings WHERE key = ?1", [key])
                .map_err(sql)?;
        }
        let removed = tx
            .execute("DELETE FROM replicas WHERE local_id = ?1", [local_id.0])
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        if removed == 0 {
            return Err(StoreError::NoSuchReplica(local_id));
        }
        Ok(())
    }

    pub fn set_paused(&self, local_id: LocalReplicaId, paused: bool) -> Result<(), StoreError> {
        self.update_replica(local_id, "paused = ?2", &[&paused])
    }

    /// Points every replica of the service at `from_url` to `to_url` (a loopback demo service that
    /// moved to another port). Returns the replicas changed.
    pub fn repoint_service(
        &self,
        from_url: &str,
        to_url: &str,
    ) -> Result<Vec<LocalReplicaId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "UPDATE replicas SET service_url = ?2 WHERE service_url = ?1 RETURNING local_id",
            )
            .map_err(|e| self.sql(e))?;
        let ids = stmt
            .query_map([from_url, to_url], |r| r.get(0).map(LocalReplicaId))
            .map_err(|e| self.sql(e))?;
        ids.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    pub fn set_reset_mode(
        &self,
        local_id: LocalReplicaId,
        mode: ResetMode,
    ) -> Result<(), StoreError> {
        self.update_replica(local_id, "reset_mode = ?2", &[&mode.as_str()])
    }

    /// Marks (Some) or clears (None) "needs a client reset".
    pub fn set_reset_required(
        &self,
        local_id: LocalReplicaId,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.update_replica(local_id, "reset_required = ?2", &[&reason])
    }

    /// Records a sync attempt and its error (None when it succeeded).
    pub fn record_attempt(
        &self,
        local_id: LocalReplicaId,
        at_ms: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.update_replica(
            local_id,
            "last_attempt_ms = ?2, last_error = ?3",
            &[&at_ms, &error],
        )
    }

    /// Records a successful sync (clears the last error).
    pub fn record_success(&self, local_id: LocalReplicaId, at_ms: i64) -> Result<(), StoreError> {
        self.update_replica(
            local_id,
            "last_attempt_ms = ?2, last_success_ms = ?2, last_error = NULL",
            &[&at_ms],
        )
    }
}
