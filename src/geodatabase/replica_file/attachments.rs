//! Attachments in the replica file: the server's version of every attachment (blob, GlobalID,
//! parent GlobalID, name, content type, size) in `attachments`, the replica's
//! attachmentsSyncDirection, and the local view of attachments (the server version with its
//! queued change laid over it, [`LocalAttachment`]). Downloaded attachments are written inside
//! the caller's sync transaction, so they land together with the feature changes and the
//! generation. Blocking rusqlite, like the rest of the file; data is read one attachment at a time.
//!
//! What it must not do: queue or unqueue local attachment changes ([`super::attachment_queue`]
//! does), or half apply a download (an attachment without its data fails the whole sync).

use super::queue::{ChangeKind, ChangeState};
use super::{ReplicaFile, ReplicaFileError, sql_at};
use crate::protocol::{Attachment, AttachmentsSyncDirection, Guid};
use base64::Engine;
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `meta` key holding the replica's attachmentsSyncDirection.
const DIRECTION_KEY: &str = "attachments_sync_direction";

/// An attachment as the technician sees it (the server version with its queued change laid
/// over it), without its data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LocalAttachment {
    pub layer_id: i64,
    pub global_id: Guid,
    pub parent_global_id: Guid,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// The queued local change, if any.
    pub pending: Option<ChangeKind>,
    pub state: Option<ChangeState>,
    pub error_code: Option<i64>,
    pub error_text: Option<String>,
}

/// Downloaded attachment data by URL, already saved to files by the caller: attachment GlobalID
/// (as [`Guid::as_str`]) → file. Attachments sent as base64 need no entry.
pub type AttachmentPayloads = HashMap<String, PathBuf>;

impl ReplicaFile {
    /// How the replica syncs attachments (fixed when it was created; files from before
    /// attachments read `None`).
    pub fn attachments_sync_direction(&self) -> Result<AttachmentsSyncDirection, ReplicaFileError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [DIRECTION_KEY],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(text
            .and_then(|t| t.parse().ok())
            .unwrap_or(AttachmentsSyncDirection::None))
    }

    /// Every attachment as the technician sees it, optionally only those of one feature.
    pub fn attachments(
        &self,
        of_parent: Option<&Guid>,
    ) -> Result<Vec<LocalAttachment>, ReplicaFileError> {
        let sql = "SELECT layer_id, global_id, parent_global_id, name, content_type, size, NULL, NULL, NULL, NULL
                 FROM attachments a WHERE NOT EXISTS (SELECT 1 FROM attachment_changes c
                     WHERE c.layer_id = a.layer_id AND c.global_id = a.global_id)
             UNION ALL
             SELECT c.layer_id, c.global_id, c.parent_global_id,
                    COALESCE(c.name, a.name), COALESCE(c.content_type, a.content_type),
                    COALESCE(c.size, a.size), c.kind, c.state, c.error_code, c.error_text
                 FROM attachment_changes c LEFT JOIN attachments a
                     ON a.layer_id = c.layer_id AND a.global_id = c.global_id
             ORDER BY 1, 3, 2";
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<i64>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                ))
            })
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for (layer_id, gid, parent, name, content_type, size, kind, state, code, text) in rows {
            let (Ok(global_id), Ok(parent_global_id)) = (Guid::parse(&gid), Guid::parse(&parent))
            else {
                continue;
            };
            if of_parent.is_some_and(|p| p != &parent_global_id) {
                continue;
            }
            out.push(LocalAttachment {
                layer_id,
                global_id,
                parent_global_id,
                name: name.unwrap_or_default(),
                content_type: content_type.unwrap_or_default(),
                size: size.unwrap_or(0).max(0) as u64,
                pending: kind.as_deref().and_then(ChangeKind::parse),
                state: state.as_deref().and_then(ChangeState::parse),
                error_code: code,
                error_text: text,
            });
        }
        Ok(out)
    }

    /// One attachment as the technician sees it (`None` when unknown).
    pub fn attachment(
        &self,
        global_id: &Guid,
    ) -> Result<Option<LocalAttachment>, ReplicaFileError> {
        Ok(self
            .attachments(None)?
            .into_iter()
            .find(|a| &a.global_id == global_id))
    }

    /// The data of an attachment as the technician sees it: the queued data if any, else the
    /// server's. `None` when unknown or deleted locally.
    pub fn attachment_data(&self, global_id: &Guid) -> Result<Option<Vec<u8>>, ReplicaFileError> {
        let queued: Option<(String, Option<Vec<u8>>)> = self
            .conn
            .query_row(
                "SELECT kind, data FROM attachment_changes WHERE global_id = ?1",
                [global_id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        match queued {
            Some((kind, _)) if kind == "delete" => return Ok(None),
            Some((_, Some(data))) => return Ok(Some(data)),
            _ => {}
        }
        self.conn
            .query_row(
                "SELECT data FROM attachments WHERE global_id = ?1",
                [global_id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }
}

/// Stores the replica's attachmentsSyncDirection (at create time).
pub(super) fn store_direction(
    tx: &Transaction,
    path: &Path,
    direction: AttachmentsSyncDirection,
) -> Result<(), ReplicaFileError> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![DIRECTION_KEY, direction.as_str()],
    )
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}

/// Applies one layer's downloaded attachment changes (data from `data` or from `payloads`).
/// An attachment whose data is neither fails the whole sync: nothing may be half applied.
pub(super) fn apply_download(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    changes: &[&Attachment],
    delete_ids: &[String],
    payloads: &AttachmentPayloads,
    downloaded: &mut u32,
) -> Result<(), ReplicaFileError> {
    for attachment in changes {
        let (Ok(global_id), Ok(parent)) = (
            Guid::parse(&attachment.global_id),
            Guid::parse(&attachment.parent_global_id),
        ) else {
            tracing::warn!(
                layer_id,
                "skipping a downloaded attachment without valid GlobalIDs"
            );
            continue;
        };
        let data = downloaded_data(path, attachment, &global_id, payloads)?;
        upsert_server_attachment(tx, path, layer_id, &global_id, &parent, attachment, &data)?;
        *downloaded += 1;
    }
    for text in delete_ids {
        let Ok(global_id) = Guid::parse(text) else {
            continue;
        };
        tx.execute(
            "DELETE FROM attachments WHERE layer_id = ?1 AND global_id = ?2",
            params![layer_id, global_id.as_str()],
        )
        .map_err(|e| sql_at(path, e))?;
        // The server deleted it: a local update or delete of it has nothing left to change.
        tx.execute(
            "DELETE FROM attachment_changes WHERE layer_id = ?1 AND global_id = ?2 AND kind <> 'add'",
            params![layer_id, global_id.as_str()],
        )
        .map_err(|e| sql_at(path, e))?;
        *downloaded += 1;
    }
    Ok(())
}

/// Removes the server attachments of a feature the server (or our acknowledged delete) removed.
pub(super) fn remove_attachments_of(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    parent: &Guid,
) -> Result<(), ReplicaFileError> {
    tx.execute(
        "DELETE FROM attachments WHERE layer_id = ?1 AND parent_global_id = ?2",
        params![layer_id, parent.as_str()],
    )
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}

fn downloaded_data(
    path: &Path,
    attachment: &Attachment,
    global_id: &Guid,
    payloads: &AttachmentPayloads,
) -> Result<Vec<u8>, ReplicaFileError> {
    if let Some(text) = attachment.data.as_deref() {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        return base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| ReplicaFileError::MissingAttachmentData {
                global_id: global_id.clone(),
                path: path.to_path_buf(),
            });
    }
    match payloads.get(global_id.as_str()) {
        Some(file) => std::fs::read(file).map_err(|source| ReplicaFileError::Io {
            path: file.clone(),
            source,
        }),
        None => Err(ReplicaFileError::MissingAttachmentData {
            global_id: global_id.clone(),
            path: path.to_path_buf(),
        }),
    }
}

fn upsert_server_attachment(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
    parent: &Guid,
    attachment: &Attachment,
    data: &[u8],
) -> Result<(), ReplicaFileError> {
    tx.execute(
        "INSERT INTO attachments (layer_id, global_id, parent_global_id, attachment_id, name,
             content_type, size, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (layer_id, global_id) DO UPDATE SET parent_global_id = excluded.parent_global_id,
             attachment_id = COALESCE(excluded.attachment_id, attachment_id), name = excluded.name,
             content_type = excluded.content_type, size = excluded.size, data = excluded.data",
        params![
            layer_id,
            global_id.as_str(),
            parent.as_str(),
            attachment.attachment_id,
            attachment.name,
            attachment.content_type,
            data.len() as i64,
            data
        ],
    )
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}
