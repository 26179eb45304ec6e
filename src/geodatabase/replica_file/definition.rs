//! What the replica is: its definition (service, GUID, name, sync model and direction, layers
//! with their queries), its server generations, the cached service and layer properties (for
//! offline validation), the editor the service knows its uploads by and the work area.
//!
//! What it must not do: read or write features or the change queues. Generations are stored
//! only inside the caller's sync transaction, after the changes they stand for.

use super::{ReplicaFile, ReplicaFileError, from_json, sql_at, to_json};
use crate::model::WorkArea;
use crate::protocol::{
    FeatureServiceInfo, Guid, LayerInfo, LayerQuery, ReplicaResponse, SyncDirection, SyncModel,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Attribute name used for the GlobalID when the layer's properties do not name one.
const DEFAULT_GLOBAL_ID_FIELD: &str = "GlobalID";
/// `meta` key holding the replica's work area (JSON).
const WORK_AREA_KEY: &str = "work_area";

/// Everything that identifies a replica and how it syncs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaDefinition {
    pub service_url: String,
    pub replica_guid: Guid,
    pub name: String,
    pub sync_model: SyncModel,
    pub direction: SyncDirection,
    pub layers: Vec<ReplicaLayer>,
    /// Epoch milliseconds.
    pub created_ms: i64,
}

/// One layer of a replica and the query it was created with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaLayer {
    pub layer_id: i64,
    pub name: String,
    pub query: LayerQuery,
}

/// The replica's server generations: one for perReplica, one per layer for perLayer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Generations {
    pub replica_server_gen: Option<i64>,
    /// `(layer_id, serverGen)`, for every layer that has one.
    pub layer_server_gens: Vec<(i64, i64)>,
}

impl ReplicaFile {
    /// The replica's definition.
    pub fn definition(&self) -> Result<ReplicaDefinition, ReplicaFileError> {
        let row = self
            .conn
            .query_row(
                "SELECT service_url, replica_guid, name, sync_model, direction, created_ms
                 FROM definition WHERE singleton = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .map_err(|e| self.sql(e))?;
        let (service_url, guid, name, model, direction, created_ms) = row;
        let bad = |what: &str| ReplicaFileError::NotAReplicaFile {
            path: self.path.clone(),
            reason: format!("unreadable {what}"),
        };
        let mut stmt = self
            .conn
            .prepare("SELECT layer_id, name, query_json FROM layers ORDER BY layer_id")
            .map_err(|e| self.sql(e))?;
        let layers = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?
            .into_iter()
            .map(|(layer_id, name, query)| {
                Ok(ReplicaLayer {
                    layer_id,
                    name,
                    query: from_json(&self.path, "a layer query", &query)?,
                })
            })
            .collect::<Result<Vec<_>, ReplicaFileError>>()?;
        Ok(ReplicaDefinition {
            service_url,
            replica_guid: Guid::parse(&guid).map_err(|_| bad("replica GUID"))?,
            name,
            sync_model: model.parse().map_err(|_| bad("sync model"))?,
            direction: direction.parse().map_err(|_| bad("sync direction"))?,
            layers,
            created_ms,
        })
    }

    /// The stored server generation(s).
    pub fn generations(&self) -> Result<Generations, ReplicaFileError> {
        read_generations(&self.conn, &self.path)
    }

    /// The cached service properties (for offline validation).
    pub fn service_info(&self) -> Result<Option<FeatureServiceInfo>, ReplicaFileError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT service_info_json FROM definition WHERE singleton = 1",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        text.map(|t| from_json(&self.path, "the service properties", &t))
            .transpose()
    }

    /// The cached properties of one layer.
    pub fn layer_info(&self, layer_id: i64) -> Result<Option<LayerInfo>, ReplicaFileError> {
        read_layer_info(&self.conn, &self.path, layer_id)
    }

    /// Replaces the cached service and layer properties (after a fresh fetch).
    pub fn cache_properties(
        &mut self,
        service_info: &FeatureServiceInfo,
        layer_infos: &[LayerInfo],
    ) -> Result<(), ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        tx.execute(
            "UPDATE definition SET service_info_json = ?1 WHERE singleton = 1",
            [to_json(service_info)?],
        )
        .map_err(|e| sql_at(&path, e))?;
        for info in layer_infos {
            if let Some(id) = info.id {
                tx.execute(
                    "UPDATE layers SET layer_info_json = ?1 WHERE layer_id = ?2",
                    params![to_json(info)?, id],
                )
                .map_err(|e| sql_at(&path, e))?;
            }
        }
        tx.commit().map_err(|e| sql_at(&path, e))
    }

    /// The user the service knows this replica's uploads by (its `replicaOwner`; empty for
    /// anonymous), `None` when not known yet. Ownership rules are judged for this user.
    pub fn editor(&self) -> Result<Option<String>, ReplicaFileError> {
        self.conn
            .query_row(
                "SELECT editor FROM definition WHERE singleton = 1",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    /// Records the user the service knows this replica's uploads by.
    pub fn set_editor(&mut self, editor: &str) -> Result<(), ReplicaFileError> {
        self.conn
            .execute(
                "UPDATE definition SET editor = ?1 WHERE singleton = 1",
                [editor],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The work area the replica was made for (`None` in files made before areas were kept,
    /// which hold the whole service).
    pub fn work_area(&self) -> Result<Option<WorkArea>, ReplicaFileError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [WORK_AREA_KEY],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        text.map(|t| from_json(&self.path, "the work area", &t))
            .transpose()
    }

    /// Records the work area the replica was made for (at create time).
    pub fn set_work_area(&mut self, area: &WorkArea) -> Result<(), ReplicaFileError> {
        let text = to_json(area)?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                [WORK_AREA_KEY, text.as_str()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The layer's GlobalID field name (from its cached properties, else `GlobalID`).
    pub fn layer_global_id_field(&self, layer_id: i64) -> Result<String, ReplicaFileError> {
        global_id_field(&self.conn, &self.path, layer_id)
    }

    pub(super) fn ensure_layer(&self, layer_id: i64) -> Result<(), ReplicaFileError> {
        ensure_layer(&self.conn, &self.path, layer_id)
    }

    pub(super) fn global_id_field(&self, layer_id: i64) -> Result<String, ReplicaFileError> {
        global_id_field(&self.conn, &self.path, layer_id)
    }
}

pub(super) fn ensure_layer(
    conn: &Connection,
    path: &Path,
    layer_id: i64,
) -> Result<(), ReplicaFileError> {
    let found: Option<i64> = conn
        .prepare_cached("SELECT layer_id FROM layers WHERE layer_id = ?1")
        .and_then(|mut statement| statement.query_row([layer_id], |r| r.get(0)))
        .optional()
        .map_err(|e| sql_at(path, e))?;
    found
        .map(|_| ())
        .ok_or(ReplicaFileError::UnknownLayer { layer_id })
}

pub(super) fn read_layer_info(
    conn: &Connection,
    path: &Path,
    layer_id: i64,
) -> Result<Option<LayerInfo>, ReplicaFileError> {
    let text: Option<Option<String>> = conn
        .prepare_cached("SELECT layer_info_json FROM layers WHERE layer_id = ?1")
        .and_then(|mut statement| statement.query_row([layer_id], |r| r.get(0)))
        .optional()
        .map_err(|e| sql_at(path, e))?;
    match text {
        None => Err(ReplicaFileError::UnknownLayer { layer_id }),
        Some(t) => t
            .map(|t| from_json(path, "the layer properties", &t))
            .transpose(),
    }
}

/// The layer's GlobalID field name from its cached properties, else `GlobalID`.
pub(super) fn global_id_field(
    conn: &Connection,
    path: &Path,
    layer_id: i64,
) -> Result<String, ReplicaFileError> {
    Ok(read_layer_info(conn, path, layer_id)?
        .map(|i| i.global_id_field)
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| DEFAULT_GLOBAL_ID_FIELD.to_string()))
}

pub(super) fn store_generations(
    tx: &Transaction,
    path: &Path,
    response: &ReplicaResponse,
) -> Result<(), ReplicaFileError> {
    if let Some(generation) = response.replica_server_gen {
        tx.execute(
            "UPDATE definition SET replica_server_gen = ?1 WHERE singleton = 1",
            [generation],
        )
        .map_err(|e| sql_at(path, e))?;
    }
    for layer in &response.layer_server_gens {
        tx.execute(
            "UPDATE layers SET server_gen = ?1 WHERE layer_id = ?2",
            params![layer.server_gen, layer.id],
        )
        .map_err(|e| sql_at(path, e))?;
    }
    Ok(())
}

pub(super) fn read_generations(
    conn: &Connection,
    path: &Path,
) -> Result<Generations, ReplicaFileError> {
    let replica_server_gen: Option<i64> = conn
        .query_row(
            "SELECT replica_server_gen FROM definition WHERE singleton = 1",
            [],
            |r| r.get(0),
        )
        .map_err(|e| sql_at(path, e))?;
    let mut stmt = conn
        .prepare(
            "SELECT layer_id, server_gen FROM layers WHERE server_gen IS NOT NULL ORDER BY layer_id",
        )
        .map_err(|e| sql_at(path, e))?;
    let layer_server_gens = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| sql_at(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sql_at(path, e))?;
    Ok(Generations {
        replica_server_gen,
        layer_server_gens,
    })
}
