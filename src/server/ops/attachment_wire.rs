//! Stored attachments as download JSON (createReplica data, sync downloads): data as base64,
//! or as a URL under `…/FeatureServer/<layer>/<parent objectId>/attachments/<attachmentId>`.

use crate::protocol::{Attachment, Guid};
use crate::server::db::{self, ServiceDbError, StoredAttachment};
use base64::Engine;
use rusqlite::Connection;

/// How attachment data travels in a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataBy {
    /// A URL relative to the FeatureServer (`http` makes it absolute).
    Url,
    Base64,
}

/// The relative URL of an attachment's data.
pub fn data_path(layer_id: i64, parent_object_id: i64, attachment_id: i64) -> String {
    format!("{layer_id}/{parent_object_id}/attachments/{attachment_id}")
}

/// A stored attachment as download JSON. `None` when its parent is gone.
pub fn to_wire(
    conn: &Connection,
    stored: &StoredAttachment,
    data_by: DataBy,
) -> Result<Option<Attachment>, ServiceDbError> {
    let Ok(parent) = Guid::parse(&stored.parent_global_id) else {
        return Ok(None);
    };
    let Some(parent_row) = db::readable_row_by_global_id(conn, stored.layer_id, &parent)? else {
        return Ok(None);
    };
    let mut wire = Attachment {
        attachment_id: Some(stored.attachment_id),
        global_id: stored.global_id.clone(),
        parent_global_id: stored.parent_global_id.clone(),
        content_type: stored.content_type.clone(),
        name: stored.name.clone(),
        size: Some(stored.size),
        ..Default::default()
    };
    match data_by {
        DataBy::Url => {
            wire.url = Some(data_path(
                stored.layer_id,
                parent_row.object_id,
                stored.attachment_id,
            ));
        }
        DataBy::Base64 => {
            let Some(bytes) = db::attachment_data(conn, stored.attachment_id)? else {
                return Ok(None);
            };
            wire.data = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
        }
    }
    Ok(Some(wire))
}
