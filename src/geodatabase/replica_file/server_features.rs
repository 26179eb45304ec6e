//! The server's version of every feature (the `features` table), as the last download or the
//! last acknowledged upload says the server holds it: reading one, counting them, the values of
//! one field, and storing a downloaded or acknowledged version.
//!
//! What it must not do: read or change the change queue (the local view, the server version
//! with its queued change laid over it, is [`super::queue`]'s).

use super::definition::ensure_layer;
use super::{ReplicaFile, ReplicaFileError, from_json, sql_at, to_json};
use crate::protocol::{Feature, Guid};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::path::Path;

impl ReplicaFile {
    /// The values of `field` in the server's version of every feature of a layer this file
    /// holds, by GlobalID (nulls left out).
    pub fn server_values(
        &self,
        layer_id: i64,
        field: &str,
    ) -> Result<Vec<(String, serde_json::Value)>, ReplicaFileError> {
        let path = format!("$.\"{}\"", field.replace('"', ""));
        let mut stmt = self
            .conn
            .prepare(
                "SELECT global_id, json_extract(attributes_json, ?2) FROM features
                 WHERE layer_id = ?1 AND json_extract(attributes_json, ?2) IS NOT NULL",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![layer_id, path], |r| {
                let value = match r.get_ref(1)? {
                    rusqlite::types::ValueRef::Integer(i) => serde_json::Value::from(i),
                    rusqlite::types::ValueRef::Real(f) => serde_json::Value::from(f),
                    rusqlite::types::ValueRef::Text(t) => {
                        serde_json::Value::String(String::from_utf8_lossy(t).into_owned())
                    }
                    _ => serde_json::Value::Null,
                };
                Ok((r.get::<_, String>(0)?, value))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// The server's version of a feature, as last downloaded or acknowledged.
    pub fn server_feature(
        &self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<Option<Feature>, ReplicaFileError> {
        read_server_feature(&self.conn, &self.path, layer_id, global_id)
    }

    /// Number of server features stored for a layer.
    pub fn server_feature_count(&self, layer_id: i64) -> Result<u32, ReplicaFileError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM features WHERE layer_id = ?1",
                [layer_id],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }
}

pub(super) fn object_id_of(feature: &Feature) -> Option<i64> {
    feature
        .attr_ci("objectid")
        .or_else(|| feature.attr_ci("fid"))
        .and_then(|v| v.as_i64())
}

pub(super) fn read_server_feature(
    conn: &Connection,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
) -> Result<Option<Feature>, ReplicaFileError> {
    let row: Option<(String, Option<String>)> = conn
        .prepare_cached(
            "SELECT attributes_json, geometry_json FROM features
             WHERE layer_id = ?1 AND global_id = ?2",
        )
        .and_then(|mut statement| {
            statement.query_row(params![layer_id, global_id.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .optional()
        .map_err(|e| sql_at(path, e))?;
    row.map(|(attributes, geometry)| {
        Ok(Feature {
            attributes: from_json(path, "feature attributes", &attributes)?,
            geometry: geometry
                .map(|g| from_json(path, "a feature geometry", &g))
                .transpose()?,
        })
    })
    .transpose()
}

/// Stores the server's version of a feature. `replace`: the feature is complete (an add or
/// createReplica data); otherwise its attributes are merged into the stored ones (an update may
/// carry only some fields).
pub(super) fn upsert_server_feature(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    feature: &Feature,
    replace: bool,
) -> Result<bool, ReplicaFileError> {
    let Some(global_id) = feature.global_id() else {
        tracing::warn!(layer_id, "skipping a downloaded feature without a GlobalID");
        return Ok(false);
    };
    ensure_layer(tx, path, layer_id)?;
    let merged = match (
        replace,
        read_server_feature(tx, path, layer_id, &global_id)?,
    ) {
        (false, Some(mut existing)) => {
            existing.attributes.extend(feature.attributes.clone());
            if feature.geometry.is_some() {
                existing.geometry = feature.geometry.clone();
            }
            existing
        }
        _ => feature.clone(),
    };
    let attributes_json = to_json(&merged.attributes)?;
    let geometry_json = merged.geometry.as_ref().map(to_json).transpose()?;
    tx.prepare_cached(
        "INSERT INTO features (layer_id, global_id, object_id, attributes_json, geometry_json)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (layer_id, global_id) DO UPDATE SET object_id = excluded.object_id,
             attributes_json = excluded.attributes_json, geometry_json = excluded.geometry_json",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            layer_id,
            global_id.as_str(),
            object_id_of(&merged),
            attributes_json,
            geometry_json,
        ])
    })
    .map_err(|e| sql_at(path, e))?;
    Ok(true)
}
