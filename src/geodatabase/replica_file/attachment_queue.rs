//! The attachment change queue (`attachment_changes`): local attachment adds, updates and
//! deletes, queued exactly like feature changes (pending → uploaded → acknowledged, or failed
//! until fixed or dropped), dropping one, reading queue rows and counting them per layer. Its
//! part in a sync is [`super::attachment_sync`]'s.
//!
//! What it must not do: store downloaded attachments ([`super::attachments`] does), or queue an
//! attachment for a replica that does not sync attachments or a layer that has none.

use super::queue::{ChangeKind, Queue};
use super::{ReplicaFile, ReplicaFileError, now_ms, sql_at};
use crate::protocol::{AttachmentsSyncDirection, Guid};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::collections::HashMap;
use std::path::Path;

/// One queued attachment change as stored.
#[derive(Debug, Clone)]
pub(super) struct AttachmentChange {
    pub(super) layer_id: i64,
    pub(super) global_id: Guid,
    pub(super) parent_global_id: Guid,
    pub(super) kind: ChangeKind,
    pub(super) name: Option<String>,
    pub(super) content_type: Option<String>,
    pub(super) upload_gen: Option<i64>,
    pub(super) uploaded_revision: Option<i64>,
    pub(super) revision: i64,
}

impl ReplicaFile {
    /// Queues a new attachment of the feature `parent` (found in whichever layer holds it).
    /// Returns the layer id and the attachment's new GlobalID.
    pub fn record_attachment_add(
        &mut self,
        parent: &Guid,
        name: &str,
        content_type: &str,
        data: &[u8],
    ) -> Result<(i64, Guid), ReplicaFileError> {
        let global_id = Guid::new_v4();
        let layer_id =
            self.record_attachment_add_as(&global_id, parent, name, content_type, data)?;
        Ok((layer_id, global_id))
    }

    /// [`ReplicaFile::record_attachment_add`] with the attachment's GlobalID chosen by the caller;
    /// returns the layer id.
    pub fn record_attachment_add_as(
        &mut self,
        global_id: &Guid,
        parent: &Guid,
        name: &str,
        content_type: &str,
        data: &[u8],
    ) -> Result<i64, ReplicaFileError> {
        if self.attachments_sync_direction()? == AttachmentsSyncDirection::None {
            return Err(ReplicaFileError::AttachmentsNotSynced);
        }
        let layer_id = self.layer_of_feature(parent)?;
        if self
            .layer_info(layer_id)?
            .is_some_and(|info| !info.has_attachments)
        {
            return Err(ReplicaFileError::NoAttachments { layer_id });
        }
        if self.locate_attachment(global_id).is_ok() {
            return Err(ReplicaFileError::FeatureExists {
                layer_id,
                global_id: global_id.clone(),
            });
        }
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let added = QueuedAttachment {
            layer_id,
            global_id: global_id.clone(),
            parent_global_id: parent.clone(),
            name: Some(name.to_string()),
            content_type: Some(content_type.to_string()),
            data: Some(data.to_vec()),
        };
        attachment_add_in(&tx, &path, &added)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(layer_id)
    }

    /// Queues new values for an attachment: a name, a content type and/or new data (`None`
    /// keeps each). Updating a queued add changes the add.
    pub fn record_attachment_update(
        &mut self,
        global_id: &Guid,
        name: Option<&str>,
        content_type: Option<&str>,
        data: Option<&[u8]>,
    ) -> Result<(), ReplicaFileError> {
        let path = self.path.clone();
        let (layer_id, parent) = self.locate_attachment(global_id)?;
        let tx = self.write_tx()?;
        let update = QueuedAttachment {
            layer_id,
            global_id: global_id.clone(),
            parent_global_id: parent,
            name: name.map(str::to_string),
            content_type: content_type.map(str::to_string),
            data: data.map(<[u8]>::to_vec),
        };
        attachment_update_in(&tx, &path, &update)?;
        tx.commit().map_err(|e| sql_at(&path, e))
    }

    /// Queues the delete of an attachment. Deleting an add the server never saw just drops it.
    pub fn record_attachment_delete(&mut self, global_id: &Guid) -> Result<i64, ReplicaFileError> {
        let path = self.path.clone();
        let (layer_id, parent) = self.locate_attachment(global_id)?;
        let tx = self.write_tx()?;
        attachment_delete_in(&tx, &path, layer_id, global_id, &parent)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(layer_id)
    }

    /// Where an attachment is (layer and parent feature), queued or on the server; `None` when
    /// the replica has no such attachment.
    pub fn attachment_place(
        &self,
        global_id: &Guid,
    ) -> Result<Option<(i64, Guid)>, ReplicaFileError> {
        match self.locate_attachment(global_id) {
            Ok(place) => Ok(Some(place)),
            Err(ReplicaFileError::NoSuchAttachment { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The data a queued attachment change carries (an add's file, an update's new data);
    /// `None` when it carries none or nothing is queued.
    pub fn queued_attachment_data(
        &self,
        global_id: &Guid,
    ) -> Result<Option<Vec<u8>>, ReplicaFileError> {
        Ok(self
            .conn
            .query_row(
                "SELECT data FROM attachment_changes WHERE global_id = ?1",
                [global_id.as_str()],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?
            .flatten())
    }

    /// Drops a queued attachment change (the attachment reverts to the server's version).
    /// `false` when no change is queued for it.
    pub fn drop_attachment_change(&mut self, global_id: &Guid) -> Result<bool, ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let dropped = tx
            .execute(
                "DELETE FROM attachment_changes WHERE global_id = ?1",
                [global_id.as_str()],
            )
            .map_err(|e| sql_at(&path, e))?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(dropped > 0)
    }

    /// The layer holding a feature (server version or a queued add), unless deleted locally.
    fn layer_of_feature(&self, global_id: &Guid) -> Result<i64, ReplicaFileError> {
        let found: Option<i64> = self
            .conn
            .query_row(
                "SELECT layer_id FROM features WHERE global_id = ?1
                 UNION SELECT layer_id FROM changes WHERE global_id = ?1 AND kind = 'add'
                 LIMIT 1",
                [global_id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some(layer_id) = found else {
            return Err(ReplicaFileError::NoSuchFeatureAnywhere {
                global_id: global_id.clone(),
            });
        };
        if self.local_feature(layer_id, global_id)?.is_none() {
            return Err(ReplicaFileError::DeletedLocally {
                layer_id,
                global_id: global_id.clone(),
            });
        }
        Ok(layer_id)
    }

    /// The layer and parent of an attachment (server version or queued add).
    fn locate_attachment(&self, global_id: &Guid) -> Result<(i64, Guid), ReplicaFileError> {
        let found: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT layer_id, parent_global_id FROM attachment_changes WHERE global_id = ?1
                 UNION ALL SELECT layer_id, parent_global_id FROM attachments WHERE global_id = ?1
                 LIMIT 1",
                [global_id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        found
            .and_then(|(layer, parent)| Guid::parse(&parent).ok().map(|p| (layer, p)))
            .ok_or_else(|| ReplicaFileError::NoSuchAttachment {
                global_id: global_id.clone(),
            })
    }

    /// Drops the queued change of a feature or, when the GlobalID is an attachment's, of that
    /// attachment. `false` when nothing was queued under that GlobalID.
    pub fn drop_queued(
        &mut self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<bool, ReplicaFileError> {
        match self.drop_change(layer_id, global_id) {
            Ok(_) => Ok(true),
            Err(ReplicaFileError::NoSuchChange { .. }) => self.drop_attachment_change(global_id),
            Err(e) => Err(e),
        }
    }
}

pub(super) fn read_change(
    conn: &Connection,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
) -> Result<Option<AttachmentChange>, ReplicaFileError> {
    let row = conn
        .query_row(
            "SELECT layer_id, global_id, parent_global_id, kind, name, content_type, upload_gen,
                    uploaded_revision, revision
             FROM attachment_changes WHERE layer_id = ?1 AND global_id = ?2",
            params![layer_id, global_id.as_str()],
            change_row,
        )
        .optional()
        .map_err(|e| sql_at(path, e))?;
    Ok(row.flatten())
}

type RawChange = Option<AttachmentChange>;

fn change_row(r: &rusqlite::Row) -> rusqlite::Result<RawChange> {
    let gid: String = r.get(1)?;
    let parent: String = r.get(2)?;
    let kind: String = r.get(3)?;
    let (Ok(global_id), Ok(parent_global_id), Some(kind)) = (
        Guid::parse(&gid),
        Guid::parse(&parent),
        ChangeKind::parse(&kind),
    ) else {
        return Ok(None);
    };
    Ok(Some(AttachmentChange {
        layer_id: r.get(0)?,
        global_id,
        parent_global_id,
        kind,
        name: r.get(4)?,
        content_type: r.get(5)?,
        upload_gen: r.get(6)?,
        uploaded_revision: r.get(7)?,
        revision: r.get(8)?,
    }))
}

pub(super) fn read_changes(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<AttachmentChange>, ReplicaFileError> {
    let mut stmt = conn
        .prepare(
            "SELECT layer_id, global_id, parent_global_id, kind, name, content_type, upload_gen,
                    uploaded_revision, revision
             FROM attachment_changes ORDER BY layer_id, edited_ms, global_id",
        )
        .map_err(|e| sql_at(path, e))?;
    let rows = stmt
        .query_map([], change_row)
        .map_err(|e| sql_at(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sql_at(path, e))?;
    Ok(rows.into_iter().flatten().collect())
}

pub(super) fn delete_change(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
) -> Result<(), ReplicaFileError> {
    Queue::Attachments.delete_change(tx, path, layer_id, global_id)
}

/// Queued attachment changes per layer and how many of them failed.
pub(super) fn counts(
    conn: &Connection,
    path: &Path,
) -> Result<HashMap<i64, (u32, u32)>, ReplicaFileError> {
    let mut stmt = conn
        .prepare(
            "SELECT layer_id, COUNT(*), COALESCE(SUM(state = 'failed'), 0)
             FROM attachment_changes GROUP BY layer_id",
        )
        .map_err(|e| sql_at(path, e))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, (r.get(1)?, r.get(2)?))))
        .map_err(|e| sql_at(path, e))?
        .collect::<Result<HashMap<_, _>, _>>()
        .map_err(|e| sql_at(path, e))?;
    Ok(rows)
}

/// One attachment change of a batch ([`super::QueuedEdit`]): where it is, and (add, update) its
/// name, content type and data (`None` keeps an update's current value).
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedAttachment {
    pub layer_id: i64,
    pub global_id: Guid,
    pub parent_global_id: Guid,
    pub name: Option<String>,
    pub content_type: Option<String>,
    pub data: Option<Vec<u8>>,
}

/// Queues an attachment add inside a transaction (the caller checked the parent and layer).
pub(super) fn attachment_add_in(
    tx: &Transaction,
    path: &Path,
    add: &QueuedAttachment,
) -> Result<(), ReplicaFileError> {
    let data = add.data.as_deref().unwrap_or_default();
    tx.execute(
        "INSERT INTO attachment_changes (layer_id, global_id, parent_global_id, kind, name,
             content_type, size, data, state, edited_ms, revision)
         VALUES (?1, ?2, ?3, 'add', ?4, ?5, ?6, ?7, 'pending', ?8, 1)",
        params![
            add.layer_id,
            add.global_id.as_str(),
            add.parent_global_id.as_str(),
            add.name.as_deref().unwrap_or_default(),
            add.content_type.as_deref().unwrap_or_default(),
            data.len() as i64,
            data,
            now_ms()
        ],
    )
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}

/// Queues new values of an attachment inside a transaction (an update of a queued add changes
/// the add).
pub(super) fn attachment_update_in(
    tx: &Transaction,
    path: &Path,
    update: &QueuedAttachment,
) -> Result<(), ReplicaFileError> {
    let (layer_id, global_id) = (update.layer_id, &update.global_id);
    match read_change(tx, path, layer_id, global_id)? {
        Some(c) if c.kind == ChangeKind::Delete => {
            return Err(ReplicaFileError::DeletedLocally {
                layer_id,
                global_id: global_id.clone(),
            });
        }
        Some(_) => {}
        None => {
            tx.execute(
                "INSERT INTO attachment_changes (layer_id, global_id, parent_global_id, kind,
                     state, edited_ms, revision)
                 VALUES (?1, ?2, ?3, 'update', 'pending', ?4, 0)",
                params![
                    layer_id,
                    global_id.as_str(),
                    update.parent_global_id.as_str(),
                    now_ms()
                ],
            )
            .map_err(|e| sql_at(path, e))?;
        }
    }
    let data = update.data.as_deref();
    tx.execute(
        "UPDATE attachment_changes SET name = COALESCE(?3, name),
             content_type = COALESCE(?4, content_type),
             data = COALESCE(?5, data), size = COALESCE(?6, size),
             state = 'pending', error_code = NULL, error_text = NULL,
             edited_ms = ?7, revision = revision + 1
         WHERE layer_id = ?1 AND global_id = ?2",
        params![
            layer_id,
            global_id.as_str(),
            update.name,
            update.content_type,
            data,
            data.map(|d| d.len() as i64),
            now_ms()
        ],
    )
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}

/// Queues an attachment delete inside a transaction (deleting an add the server never saw just
/// drops it).
pub(super) fn attachment_delete_in(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
    parent: &Guid,
) -> Result<(), ReplicaFileError> {
    match read_change(tx, path, layer_id, global_id)? {
        Some(c) if c.kind == ChangeKind::Add && c.upload_gen.is_none() => {
            delete_change(tx, path, layer_id, global_id)?;
        }
        Some(c) if c.kind == ChangeKind::Delete => {}
        _ => {
            tx.execute(
                "INSERT INTO attachment_changes (layer_id, global_id, parent_global_id, kind,
                     state, edited_ms, revision)
                 VALUES (?1, ?2, ?3, 'delete', 'pending', ?4, 1)
                 ON CONFLICT (layer_id, global_id) DO UPDATE SET kind = 'delete',
                     name = NULL, content_type = NULL, size = NULL, data = NULL,
                     state = 'pending', error_code = NULL, error_text = NULL,
                     edited_ms = excluded.edited_ms, revision = revision + 1",
                params![layer_id, global_id.as_str(), parent.as_str(), now_ms()],
            )
            .map_err(|e| sql_at(path, e))?;
        }
    }
    Ok(())
}
