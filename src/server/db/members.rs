//! Which features a replica holds on its area-filtered layers (`replica_members`): set when the
//! replica is created, kept up to date by every sync, so that a download can tell a feature that
//! moved into the area (an add) from one the replica had (an update), and one that moved out (a
//! delete) from one it never had (nothing). Forgotten with the replica. SQL only.

use super::ServiceDbError;
use crate::protocol::Guid;
use rusqlite::{Connection, params};

/// Records that the replica holds these features of the layer.
pub fn add(
    conn: &Connection,
    replica_id: &Guid,
    layer_id: i64,
    global_ids: &[String],
) -> Result<(), ServiceDbError> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO replica_members(replica_id, layer_id, global_id) VALUES (?1, ?2, ?3)",
    )?;
    for gid in global_ids {
        insert.execute(params![replica_id.as_str(), layer_id, gid])?;
    }
    Ok(())
}

/// Records that the replica no longer holds these features of the layer.
pub fn remove(
    conn: &Connection,
    replica_id: &Guid,
    layer_id: i64,
    global_ids: &[String],
) -> Result<(), ServiceDbError> {
    let mut delete = conn.prepare_cached(
        "DELETE FROM replica_members WHERE replica_id = ?1 AND layer_id = ?2 AND global_id = ?3",
    )?;
    for gid in global_ids {
        delete.execute(params![replica_id.as_str(), layer_id, gid])?;
    }
    Ok(())
}

/// Forgets every feature the replica holds on one layer (before a snapshot replaces them).
pub fn clear_layer(
    conn: &Connection,
    replica_id: &Guid,
    layer_id: i64,
) -> Result<(), ServiceDbError> {
    conn.execute(
        "DELETE FROM replica_members WHERE replica_id = ?1 AND layer_id = ?2",
        params![replica_id.as_str(), layer_id],
    )?;
    Ok(())
}

/// Whether the replica holds the feature.
pub fn holds(
    conn: &Connection,
    replica_id: &Guid,
    layer_id: i64,
    global_id: &str,
) -> Result<bool, ServiceDbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM replica_members WHERE replica_id = ?1 AND layer_id = ?2 AND global_id = ?3",
    )?;
    Ok(stmt.exists(params![replica_id.as_str(), layer_id, global_id])?)
}

/// Forgets everything the replica held (it is being removed).
pub fn forget_replica(conn: &Connection, replica_id: &Guid) -> Result<(), ServiceDbError> {
    conn.execute(
        "DELETE FROM replica_members WHERE replica_id = ?1",
        [replica_id.as_str()],
    )?;
    Ok(())
}

/// The live features of the layer last changed at `generation` (a sync's own uploads) and the
/// ones it deleted: the replica holds the first and no longer the second.
pub fn uploaded_at(
    conn: &Connection,
    layer_id: i64,
    generation: i64,
) -> Result<(Vec<String>, Vec<String>), ServiceDbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT global_id, deleted FROM features WHERE layer_id = ?1 AND gen = ?2",
    )?;
    let rows = stmt.query_map(params![layer_id, generation], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
    })?;
    let (mut live, mut gone) = (Vec::new(), Vec::new());
    for row in rows {
        let (gid, deleted) = row?;
        if deleted {
            gone.push(gid)
        } else {
            live.push(gid)
        }
    }
    Ok((live, gone))
}
