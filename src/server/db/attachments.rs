//! Attachments in the service database: data as blobs, each with its generation and a
//! tombstone on delete (the data is dropped then). Inserts, updates, deletes (one, or every
//! attachment of a deleted feature), reads by GlobalID or by the attachment URL's ids, and the
//! attachments changed between two generations. No checks: `apply::attachments` decides.

use super::ServiceDbError;
use super::versioned::VersionedTable;
use crate::protocol::Guid;
use rusqlite::{Connection, OptionalExtension, params};

/// One stored attachment (live or tombstone), without its data.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAttachment {
    pub attachment_id: i64,
    pub layer_id: i64,
    pub global_id: String,
    pub parent_global_id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    /// Generation of the last change.
    pub generation: i64,
    /// Generation of the insert.
    pub created_gen: i64,
    pub deleted: bool,
}

/// A new or replaced attachment, with its data.
pub struct AttachmentWrite<'a> {
    pub global_id: &'a str,
    pub parent_global_id: &'a str,
    pub name: &'a str,
    pub content_type: &'a str,
    pub data: &'a [u8],
}

const ATTACHMENT_COLUMNS: &str = "attachment_id, layer_id, global_id, parent_global_id, name, content_type, size, gen, created_gen, deleted";

/// The attachment table, for the reads it shares with features.
const ATTACHMENTS: VersionedTable = VersionedTable {
    name: "attachments",
    columns: ATTACHMENT_COLUMNS,
    key: "attachment_id",
};

fn read_attachment(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAttachment> {
    Ok(StoredAttachment {
        attachment_id: r.get(0)?,
        layer_id: r.get(1)?,
        global_id: r.get(2)?,
        parent_global_id: r.get(3)?,
        name: r.get(4)?,
        content_type: r.get(5)?,
        size: r.get(6)?,
        generation: r.get(7)?,
        created_gen: r.get(8)?,
        deleted: r.get::<_, i64>(9)? != 0,
    })
}

/// An attachment by GlobalID (live or tombstone).
pub fn attachment_by_global_id(
    conn: &Connection,
    layer_id: i64,
    global_id: &Guid,
) -> Result<Option<StoredAttachment>, ServiceDbError> {
    let sql = format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE layer_id = ?1 AND global_id = ?2"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![layer_id, global_id.as_str()], read_attachment)
        .optional()?)
}

/// Stores a new attachment at `generation`; returns its attachment id.
pub fn insert_attachment(
    conn: &Connection,
    layer_id: i64,
    new: &AttachmentWrite<'_>,
    generation: i64,
) -> Result<i64, ServiceDbError> {
    conn.prepare_cached(
        "INSERT INTO attachments(layer_id, global_id, parent_global_id, name, content_type, size, data, gen, created_gen, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 0)",
    )?
    .execute(params![
        layer_id,
        new.global_id,
        new.parent_global_id,
        new.name,
        new.content_type,
        new.data.len() as i64,
        new.data,
        generation
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Replaces an attachment's name, content type and (when given) data at `generation`.
pub fn update_attachment(
    conn: &Connection,
    attachment_id: i64,
    name: &str,
    content_type: &str,
    data: Option<&[u8]>,
    generation: i64,
) -> Result<(), ServiceDbError> {
    match data {
        Some(data) => conn
            .prepare_cached(
                "UPDATE attachments SET name = ?2, content_type = ?3, data = ?4, size = ?5, gen = ?6 WHERE attachment_id = ?1",
            )?
            .execute(params![attachment_id, name, content_type, data, data.len() as i64, generation])?,
        None => conn
            .prepare_cached(
                "UPDATE attachments SET name = ?2, content_type = ?3, gen = ?4 WHERE attachment_id = ?1",
            )?
            .execute(params![attachment_id, name, content_type, generation])?,
    };
    Ok(())
}

/// Turns an attachment into a tombstone at `generation` (its data is dropped).
pub fn delete_attachment(
    conn: &Connection,
    attachment_id: i64,
    generation: i64,
) -> Result<(), ServiceDbError> {
    conn.prepare_cached(
        "UPDATE attachments SET deleted = 1, data = NULL, gen = ?2 WHERE attachment_id = ?1",
    )?
    .execute(params![attachment_id, generation])?;
    Ok(())
}

/// Deletes every live attachment of a deleted feature at `generation`; returns how many.
pub fn delete_attachments_of(
    conn: &Connection,
    layer_id: i64,
    parent_global_id: &str,
    generation: i64,
) -> Result<usize, ServiceDbError> {
    Ok(conn
        .prepare_cached(
            "UPDATE attachments SET deleted = 1, data = NULL, gen = ?3
             WHERE layer_id = ?1 AND parent_global_id = ?2 AND deleted = 0",
        )?
        .execute(params![layer_id, parent_global_id, generation])?)
}

/// Every live attachment of a layer, in attachment id order.
pub fn live_attachments(
    conn: &Connection,
    layer_id: i64,
) -> Result<Vec<StoredAttachment>, ServiceDbError> {
    ATTACHMENTS.live(conn, layer_id, read_attachment)
}

/// Attachments (live or tombstones) changed in generations `(after, before)`, both exclusive.
pub fn attachment_changes_between(
    conn: &Connection,
    layer_id: i64,
    after: i64,
    before: i64,
) -> Result<Vec<StoredAttachment>, ServiceDbError> {
    ATTACHMENTS.changed_between(conn, layer_id, (after, before), read_attachment)
}

/// The data of a live attachment.
pub fn attachment_data(
    conn: &Connection,
    attachment_id: i64,
) -> Result<Option<Vec<u8>>, ServiceDbError> {
    Ok(conn
        .prepare_cached("SELECT data FROM attachments WHERE attachment_id = ?1 AND deleted = 0")?
        .query_row([attachment_id], |r| r.get::<_, Option<Vec<u8>>>(0))
        .optional()?
        .flatten())
}

/// A live attachment by its id under a layer and its parent's object id (the attachment URL).
pub fn attachment_under(
    conn: &Connection,
    layer_id: i64,
    parent_object_id: i64,
    attachment_id: i64,
) -> Result<Option<StoredAttachment>, ServiceDbError> {
    let sql = format!(
        "SELECT {} FROM attachments a JOIN features f
           ON f.layer_id = a.layer_id AND f.global_id = a.parent_global_id
         WHERE a.layer_id = ?1 AND f.object_id = ?2 AND a.attachment_id = ?3 AND a.deleted = 0",
        ATTACHMENT_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(
            params![layer_id, parent_object_id, attachment_id],
            read_attachment,
        )
        .optional()?)
}
