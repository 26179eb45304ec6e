//! Feature rows of the service database: reading live rows, rows by GlobalID and the rows
//! changed between two generations (tombstones included), with their JSON columns parsed into
//! [`StoredRow`]s; inserting, updating and deleting (tombstoning) rows for the feature applier;
//! the batched lookups a large upload needs (which GlobalIDs exist, a unique field's values).
//! The seed rows are written by `seed`.

use super::ServiceDbError;
use super::versioned::VersionedTable;
use crate::protocol::rules::UniqueValues;
use crate::protocol::{Attributes, Feature, Guid};
use crate::server::definition::{GLOBAL_ID_FIELD, OBJECT_ID_FIELD};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// One stored feature or row (live or tombstone).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    pub object_id: i64,
    pub global_id: String,
    pub attributes: Attributes,
    pub geometry: Option<Value>,
    pub owner: String,
    /// Generation of the last change.
    pub generation: i64,
    /// Generation of the insert.
    pub created_gen: i64,
    pub deleted: bool,
}

impl StoredRow {
    /// Query-style feature JSON with OBJECTID and GlobalID set.
    pub fn into_feature(self) -> Feature {
        let mut attributes = self.attributes;
        attributes.insert(OBJECT_ID_FIELD.into(), Value::from(self.object_id));
        attributes.insert(GLOBAL_ID_FIELD.into(), Value::from(self.global_id));
        Feature {
            geometry: self.geometry,
            attributes,
        }
    }
}

/// The feature table, for the reads it shares with attachments.
const FEATURES: VersionedTable = VersionedTable {
    name: "features",
    columns: "object_id, global_id, attributes, geometry, owner, gen, created_gen, deleted",
    key: "object_id",
};

/// Every live row of a layer, in object id order, handed to `each` as it is read: a large
/// layer is never held in memory. A row whose stored JSON cannot be read is logged and skipped
/// (left out of downloads).
pub fn for_each_live_row<E: From<ServiceDbError>>(
    conn: &Connection,
    layer_id: i64,
    mut each: impl FnMut(StoredRow) -> Result<(), E>,
) -> Result<(), E> {
    FEATURES.for_each_live(conn, layer_id, read_row, |raw: RawRow| {
        match parse_one(raw) {
            Some(row) => each(row),
            None => Ok(()),
        }
    })
}

/// Rows (live or tombstones) changed in generations `(after, before)`, both exclusive, each
/// handed to `each` as it is read: the changes of a long time offline are never held. A row whose stored JSON cannot be read is logged and skipped, as
/// [`for_each_live_row`] does.
pub fn for_each_change_between<E: From<ServiceDbError>>(
    conn: &Connection,
    layer_id: i64,
    after: i64,
    before: i64,
    mut each: impl FnMut(StoredRow) -> Result<(), E>,
) -> Result<(), E> {
    FEATURES.for_each_changed_between(conn, layer_id, (after, before), read_row, |raw: RawRow| {
        match parse_one(raw) {
            Some(row) => each(row),
            None => Ok(()),
        }
    })
}

pub fn row_by_global_id(
    conn: &Connection,
    layer_id: i64,
    global_id: &Guid,
) -> Result<Option<StoredRow>, ServiceDbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT object_id, global_id, attributes, geometry, owner, gen, created_gen, deleted
         FROM features WHERE layer_id = ?1 AND global_id = ?2",
    )?;
    let raw = stmt
        .query_row(params![layer_id, global_id.as_str()], read_row)
        .optional()?;
    raw.map(RawRow::parse).transpose()
}

/// As [`row_by_global_id`] for downloads: a row whose stored JSON cannot be read is logged and
/// taken as absent (it is left out of downloads, and so are its attachments).
pub fn readable_row_by_global_id(
    conn: &Connection,
    layer_id: i64,
    global_id: &Guid,
) -> Result<Option<StoredRow>, ServiceDbError> {
    match row_by_global_id(conn, layer_id, global_id) {
        Err(ServiceDbError::Json(e)) => {
            tracing::error!(layer_id, global_id = %global_id, error = %e,
                "a stored feature cannot be read; it and its attachments are left out of downloads");
            Ok(None)
        }
        other => other,
    }
}

/// A row as read, before its JSON columns are parsed (parsing errors are not rusqlite's).
struct RawRow {
    object_id: i64,
    global_id: String,
    attributes: String,
    geometry: Option<String>,
    owner: String,
    generation: i64,
    created_gen: i64,
    deleted: bool,
}

impl RawRow {
    /// As [`RawRow::parse`], handing the GlobalID back with the error (without a copy per row).
    fn parse_keeping_id(self) -> Result<StoredRow, (String, serde_json::Error)> {
        let attributes = match serde_json::from_str(&self.attributes) {
            Ok(a) => a,
            Err(e) => return Err((self.global_id, e)),
        };
        let geometry = match self
            .geometry
            .map(|g| serde_json::from_str::<Value>(&g))
            .transpose()
        {
            Ok(g) => g,
            Err(e) => return Err((self.global_id, e)),
        };
        Ok(StoredRow {
            object_id: self.object_id,
            global_id: self.global_id,
            attributes,
            geometry,
            owner: self.owner,
            generation: self.generation,
            created_gen: self.created_gen,
            deleted: self.deleted,
        })
    }

    fn parse(self) -> Result<StoredRow, ServiceDbError> {
        Ok(StoredRow {
            object_id: self.object_id,
            global_id: self.global_id,
            attributes: serde_json::from_str(&self.attributes)?,
            geometry: self
                .geometry
                .map(|g| serde_json::from_str::<Value>(&g))
                .transpose()?,
            owner: self.owner,
            generation: self.generation,
            created_gen: self.created_gen,
            deleted: self.deleted,
        })
    }
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        object_id: r.get(0)?,
        global_id: r.get(1)?,
        attributes: r.get(2)?,
        geometry: r.get(3)?,
        owner: r.get(4)?,
        generation: r.get(5)?,
        created_gen: r.get(6)?,
        deleted: r.get::<_, i64>(7)? != 0,
    })
}

/// The rows that can be read; a row whose stored JSON cannot be read (written by an older
/// service that kept any geometry) is logged with its GlobalID and left out, so one bad row does
/// not fail every replica's download of its layer.
/// The row parsed, or `None` (logged with its GlobalID) when its stored JSON cannot be read.
fn parse_one(raw: RawRow) -> Option<StoredRow> {
    let object_id = raw.object_id;
    match raw.parse_keeping_id() {
        Ok(row) => Some(row),
        Err((global_id, e)) => {
            tracing::error!(object_id, global_id = %global_id, error = %e,
                "a stored feature cannot be read; it is left out of downloads");
            None
        }
    }
}

/// The highest object id in the service, 0 when it has no rows. Object ids are unique across
/// the service: they are the table's rowid.
pub fn max_object_id(conn: &Connection) -> Result<i64, ServiceDbError> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(object_id), 0) FROM features",
        [],
        |r| r.get(0),
    )?)
}

/// The prepared insert of new feature rows, kept for all the adds of one layer.
pub struct FeatureInsert<'a> {
    statement: rusqlite::CachedStatement<'a>,
}

impl<'a> FeatureInsert<'a> {
    pub fn prepare(conn: &'a Connection) -> Result<Self, ServiceDbError> {
        Ok(FeatureInsert {
            statement: conn.prepare_cached(
                "INSERT INTO features(layer_id, object_id, global_id, attributes, geometry, owner, gen, created_gen, deleted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 0)",
            )?,
        })
    }

    /// Stores a new live row created at `generation`; `attributes` and `geometry` are JSON.
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &mut self,
        layer_id: i64,
        object_id: i64,
        global_id: &str,
        attributes: &str,
        geometry: Option<&str>,
        owner: &str,
        generation: i64,
    ) -> Result<(), ServiceDbError> {
        self.statement.execute(params![
            layer_id, object_id, global_id, attributes, geometry, owner, generation
        ])?;
        Ok(())
    }
}

/// Replaces a row's attributes and geometry (JSON) at `generation`.
pub fn update_feature(
    conn: &Connection,
    layer_id: i64,
    object_id: i64,
    attributes: &str,
    geometry: Option<&str>,
    generation: i64,
) -> Result<(), ServiceDbError> {
    conn.prepare_cached(
        "UPDATE features SET attributes = ?3, geometry = ?4, gen = ?5 WHERE layer_id = ?1 AND object_id = ?2",
    )?
    .execute(params![layer_id, object_id, attributes, geometry, generation])?;
    Ok(())
}

/// Turns a row into a tombstone at `generation`.
pub fn delete_feature(
    conn: &Connection,
    layer_id: i64,
    object_id: i64,
    generation: i64,
) -> Result<(), ServiceDbError> {
    conn.prepare_cached(
        "UPDATE features SET deleted = 1, gen = ?3 WHERE layer_id = ?1 AND object_id = ?2",
    )?
    .execute(params![layer_id, object_id, generation])?;
    Ok(())
}

/// GlobalIDs per existence query.
const LOOKUP_CHUNK: usize = 500;

/// Reading the whole layer's GlobalID index beats looking up each add once the adds are at least
/// this fraction (1 / SCAN_RATIO) of the rows the service could hold.
const SCAN_RATIO: usize = 8;

/// The object ids of those `adds` whose GlobalID the layer already has (live or deleted).
/// `max_object_id` (the highest object id in the service) bounds the layer's row count: a large
/// upload reads the layer's `(layer_id, global_id)` index once instead of querying every GlobalID.
pub fn existing_global_ids(
    conn: &Connection,
    layer_id: i64,
    adds: &[Feature],
    max_object_id: i64,
) -> Result<HashMap<Guid, i64>, ServiceDbError> {
    let mut wanted = HashSet::with_capacity(adds.len());
    wanted.extend(adds.iter().filter_map(Feature::global_id));
    let mut found = HashMap::with_capacity(adds.len());
    if wanted.is_empty() {
        return Ok(found);
    }
    let rows_bound = usize::try_from(max_object_id).unwrap_or(usize::MAX);
    if wanted.len().saturating_mul(SCAN_RATIO) >= rows_bound {
        let mut stmt =
            conn.prepare_cached("SELECT global_id, object_id FROM features WHERE layer_id = ?1")?;
        let mut rows = stmt.query([layer_id])?;
        while let Some(row) = rows.next()? {
            let Some(global_id) = stored_global_id(row)? else {
                continue;
            };
            if wanted.contains(&global_id) {
                found.insert(global_id, row.get::<_, i64>(1)?);
            }
        }
        return Ok(found);
    }
    let ids: Vec<&Guid> = wanted.iter().collect();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let placeholders = vec!["?"; chunk.len()].join(",");
        let sql = format!(
            "SELECT global_id, object_id FROM features WHERE layer_id = {layer_id} AND global_id IN ({placeholders})"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(chunk.iter().map(|g| g.as_str())))?;
        while let Some(row) = rows.next()? {
            if let Some(global_id) = stored_global_id(row)? {
                found.insert(global_id, row.get::<_, i64>(1)?);
            }
        }
    }
    Ok(found)
}

/// Column 0 of `row` as a GlobalID (`None` if the stored text is not one).
fn stored_global_id(row: &rusqlite::Row<'_>) -> Result<Option<Guid>, ServiceDbError> {
    Ok(match row.get_ref(0)? {
        ValueRef::Text(text) => std::str::from_utf8(text)
            .ok()
            .and_then(|t| Guid::parse(t).ok()),
        _ => None,
    })
}

/// The live values of a unique `field` of a layer, for the uniqueness check (1022).
pub fn unique_values(
    conn: &Connection,
    layer_id: i64,
    field: String,
) -> Result<UniqueValues, ServiceDbError> {
    let path = format!("$.\"{}\"", field.replace('"', ""));
    let mut stmt = conn.prepare(
        "SELECT global_id, json_extract(attributes, ?2) FROM features WHERE layer_id = ?1 AND deleted = 0",
    )?;
    let mut values = UniqueValues::new(field);
    let mut rows = stmt.query(params![layer_id, path])?;
    while let Some(row) = rows.next()? {
        let global_id: String = row.get(0)?;
        let value = match row.get_ref(1)? {
            ValueRef::Null | ValueRef::Blob(_) => continue,
            ValueRef::Integer(i) => Value::from(i),
            ValueRef::Real(f) => Value::from(f),
            ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        };
        values.insert(&value, global_id);
    }
    Ok(values)
}
