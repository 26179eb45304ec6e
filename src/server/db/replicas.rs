//! Registered replicas in the service database: each stored as one JSON record (its layers,
//! filters, work area, generations, attachment settings, owner and schema version), with
//! register, read, list and remove (which also forgets the replica's members, `members`).

use super::{ServiceDb, ServiceDbError, next_gen};
use crate::protocol::{AttachmentsSyncDirection, Guid, QueryOption, SyncDirection, SyncModel};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// A replica's layer: which rows it takes and (perLayer) its generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaLayerRecord {
    pub id: i64,
    pub query_option: QueryOption,
    pub where_clause: Option<String>,
    /// The replica's work area filters this layer (`layerQueries` `useGeometry`); older
    /// records: no.
    #[serde(default)]
    pub use_geometry: bool,
    pub server_gen: i64,
}

/// A replica's work area: createReplica's `geometry`, in the service's spatial reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaArea {
    pub geometry_type: String,
    /// ArcGIS geometry JSON (with its `spatialReference`).
    pub geometry: serde_json::Value,
}

/// A registered replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredReplica {
    pub replica_id: Guid,
    pub name: String,
    pub owner: String,
    pub sync_model: SyncModel,
    pub sync_direction: SyncDirection,
    /// createReplica's `returnAttachments` (records from before attachments read false).
    #[serde(default)]
    pub return_attachments: bool,
    /// How attachments sync, fixed at create time (older records: none).
    #[serde(default = "no_attachment_sync")]
    pub attachments_sync_direction: AttachmentsSyncDirection,
    pub layers: Vec<ReplicaLayerRecord>,
    /// The work area (records without one, and replicas made without `geometry`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<ReplicaArea>,
    pub server_gen: i64,
    /// Schema version the replica was created against (breaking changes bump the service's).
    pub schema_version: i64,
    pub created_ms: i64,
    pub last_sync_ms: Option<i64>,
}

fn no_attachment_sync() -> AttachmentsSyncDirection {
    AttachmentsSyncDirection::None
}

impl ServiceDb {
    pub fn replica(&self, replica_id: &Guid) -> Result<Option<RegisteredReplica>, ServiceDbError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT record FROM replicas WHERE replica_id = ?1",
                [replica_id.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| serde_json::from_str(&t).map_err(ServiceDbError::from))
            .transpose()
    }

    pub fn replicas(&self) -> Result<Vec<RegisteredReplica>, ServiceDbError> {
        let mut stmt = self
            .conn
            .prepare("SELECT record FROM replicas ORDER BY rowid")?;
        let texts = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(ServiceDbError::from))
            .collect()
    }

    /// Registers a replica at a fresh generation, with the GlobalIDs each of its area-filtered
    /// layers holds (`members`: layer id and GlobalIDs), and returns that generation.
    pub fn register_replica(
        &mut self,
        record: &mut RegisteredReplica,
        members: &[(i64, Vec<String>)],
    ) -> Result<i64, ServiceDbError> {
        let tx = self.conn.transaction()?;
        let generation = next_gen(&tx)?;
        record.server_gen = generation;
        for layer in &mut record.layers {
            layer.server_gen = generation;
        }
        put_replica(&tx, record)?;
        for (layer_id, global_ids) in members {
            super::members::add(&tx, &record.replica_id, *layer_id, global_ids)?;
        }
        tx.commit()?;
        Ok(generation)
    }

    /// Moves a replica's creation and last sync dates `by_ms` into the past (the admin API's
    /// test clock); false when it is not registered.
    pub fn backdate_replica(
        &mut self,
        replica_id: &Guid,
        by_ms: i64,
    ) -> Result<bool, ServiceDbError> {
        let Some(mut record) = self.replica(replica_id)? else {
            return Ok(false);
        };
        record.created_ms = record.created_ms.saturating_sub(by_ms);
        record.last_sync_ms = record.last_sync_ms.map(|t| t.saturating_sub(by_ms));
        put_replica(&self.conn, &record)?;
        Ok(true)
    }

    /// Removes one replica; false when it was not registered.
    pub fn delete_replica(&mut self, replica_id: &Guid) -> Result<bool, ServiceDbError> {
        delete_replica(&self.conn, replica_id)
    }

    /// Removes, in one transaction, the replicas `chosen` picks (the ones a caller may remove);
    /// returns how many.
    pub fn delete_replicas_where(
        &mut self,
        chosen: impl Fn(&RegisteredReplica) -> bool,
    ) -> Result<usize, ServiceDbError> {
        let victims: Vec<Guid> = self
            .replicas()?
            .into_iter()
            .filter(|r| chosen(r))
            .map(|r| r.replica_id)
            .collect();
        let tx = self.conn.transaction()?;
        for id in &victims {
            delete_replica(&tx, id)?;
        }
        tx.commit()?;
        Ok(victims.len())
    }
}

pub fn put_replica(conn: &Connection, record: &RegisteredReplica) -> Result<(), ServiceDbError> {
    conn.execute(
        "INSERT INTO replicas(replica_id, record) VALUES (?1, ?2)
         ON CONFLICT(replica_id) DO UPDATE SET record = excluded.record",
        params![record.replica_id.as_str(), serde_json::to_string(record)?],
    )?;
    Ok(())
}

/// Removes one replica (inside the caller's transaction, if any); false when it was not
/// registered.
pub fn delete_replica(conn: &Connection, replica_id: &Guid) -> Result<bool, ServiceDbError> {
    super::members::forget_replica(conn, replica_id)?;
    Ok(conn.execute(
        "DELETE FROM replicas WHERE replica_id = ?1",
        [replica_id.as_str()],
    )? > 0)
}
