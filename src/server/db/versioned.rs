//! What feature rows and attachments share in the service database: both are kept per layer,
//! carry the generation of their last change (`gen`) and of their insert (`created_gen`), and
//! become tombstones (`deleted = 1`) instead of disappearing, so that a download can name what
//! went. The reads every createReplica and download asks of both tables, a layer's live rows
//! (collected, or one at a time) and the rows changed between two generations (collected, or one
//! at a time), are written once
//! here.

use super::ServiceDbError;
use rusqlite::{Connection, params};

/// A per-layer table with generations and tombstones.
pub(super) struct VersionedTable {
    pub(super) name: &'static str,
    /// The columns `read` expects, in its order.
    pub(super) columns: &'static str,
    /// The primary key; rows come back in its order.
    pub(super) key: &'static str,
}

impl VersionedTable {
    /// Every live row of a layer, in key order.
    pub(super) fn live<T>(
        &self,
        conn: &Connection,
        layer_id: i64,
        read: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, ServiceDbError> {
        let VersionedTable { name, columns, key } = self;
        let sql = format!(
            "SELECT {columns} FROM {name} WHERE layer_id = ?1 AND deleted = 0 ORDER BY {key}"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([layer_id], read)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Every live row of a layer, in key order, handed to `each` as it is read (none is kept).
    pub(super) fn for_each_live<T, E: From<ServiceDbError>>(
        &self,
        conn: &Connection,
        layer_id: i64,
        read: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        mut each: impl FnMut(T) -> Result<(), E>,
    ) -> Result<(), E> {
        let VersionedTable { name, columns, key } = self;
        let sql = format!(
            "SELECT {columns} FROM {name} WHERE layer_id = ?1 AND deleted = 0 ORDER BY {key}"
        );
        let sqlite = |e: rusqlite::Error| E::from(ServiceDbError::from(e));
        let mut stmt = conn.prepare_cached(&sql).map_err(sqlite)?;
        let mut rows = stmt.query([layer_id]).map_err(sqlite)?;
        while let Some(row) = rows.next().map_err(sqlite)? {
            each(read(row).map_err(sqlite)?)?;
        }
        Ok(())
    }

    /// As [`VersionedTable::changed_between`], each row handed to `each` as it is read (none is
    /// kept), so the changes of a long time offline pass through in bounded memory.
    pub(super) fn for_each_changed_between<T, E: From<ServiceDbError>>(
        &self,
        conn: &Connection,
        layer_id: i64,
        (after, before): (i64, i64),
        read: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        mut each: impl FnMut(T) -> Result<(), E>,
    ) -> Result<(), E> {
        let VersionedTable { name, columns, key } = self;
        let sql = format!(
            "SELECT {columns} FROM {name} WHERE layer_id = ?1 AND gen > ?2 AND gen < ?3 ORDER BY {key}"
        );
        let sqlite = |e: rusqlite::Error| E::from(ServiceDbError::from(e));
        let mut stmt = conn.prepare_cached(&sql).map_err(sqlite)?;
        let mut rows = stmt
            .query(params![layer_id, after, before])
            .map_err(sqlite)?;
        while let Some(row) = rows.next().map_err(sqlite)? {
            each(read(row).map_err(sqlite)?)?;
        }
        Ok(())
    }

    /// Rows (live or tombstones) of a layer changed in generations `(after, before)`, both
    /// exclusive, in key order.
    pub(super) fn changed_between<T>(
        &self,
        conn: &Connection,
        layer_id: i64,
        (after, before): (i64, i64),
        read: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, ServiceDbError> {
        let VersionedTable { name, columns, key } = self;
        let sql = format!(
            "SELECT {columns} FROM {name} WHERE layer_id = ?1 AND gen > ?2 AND gen < ?3 ORDER BY {key}"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![layer_id, after, before], read)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}
