//! The attachment queue's part in a sync: every queued attachment change added to an upload's
//! `edits` (adds and updates with their data as base64), marked sent with the upload's client
//! generation, then acknowledged (folded into the server's `attachments`) or refused (kept
//! queued, marked failed) when the reply is applied.
//!
//! What it must not do: commit (it runs inside the caller's upload or sync transaction), or
//! unqueue a change the server refused.

use super::attachment_queue::{AttachmentChange, delete_change, read_changes};
use super::queue::{ChangeKey, ChangeKind, Queue, Refusal};
use super::{ReplicaFileError, sql_at};
use crate::protocol::{Attachment, AttachmentChanges, EditResultRow, Guid, LayerEdits, ObjectType};
use base64::Engine;
use rusqlite::{Connection, Transaction, params};
use std::path::Path;

/// The data an add or update sends: the queued data, else (an update without new data) none.
fn queued_data(
    conn: &Connection,
    path: &Path,
    change: &AttachmentChange,
) -> Result<Option<Vec<u8>>, ReplicaFileError> {
    conn.query_row(
        "SELECT data FROM attachment_changes WHERE layer_id = ?1 AND global_id = ?2",
        params![change.layer_id, change.global_id.as_str()],
        |r| r.get(0),
    )
    .map_err(|e| sql_at(path, e))
}

/// Adds every queued attachment change to `edits` (one entry per layer, created when missing).
/// Returns how many were added.
pub(super) fn push_edits(
    conn: &Connection,
    path: &Path,
    edits: &mut Vec<LayerEdits>,
) -> Result<u32, ReplicaFileError> {
    let mut count = 0;
    for change in read_changes(conn, path)? {
        let index = match edits.iter().position(|e| e.id == change.layer_id) {
            Some(i) => i,
            None => {
                edits.push(LayerEdits {
                    id: change.layer_id,
                    ..Default::default()
                });
                edits.len() - 1
            }
        };
        push_edit(conn, path, &mut edits[index].attachments, &change)?;
        count += 1;
    }
    Ok(count)
}

fn push_edit(
    conn: &Connection,
    path: &Path,
    into: &mut AttachmentChanges,
    change: &AttachmentChange,
) -> Result<(), ReplicaFileError> {
    if change.kind == ChangeKind::Delete {
        into.delete_ids.push(change.global_id.as_str().to_string());
        return Ok(());
    }
    let data = queued_data(conn, path, change)?
        .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes));
    let wire = Attachment {
        global_id: change.global_id.as_str().to_string(),
        parent_global_id: change.parent_global_id.as_str().to_string(),
        content_type: change.content_type.clone().unwrap_or_default(),
        name: change.name.clone().unwrap_or_default(),
        data,
        ..Default::default()
    };
    if change.kind == ChangeKind::Add {
        into.adds.push(wire);
    } else {
        into.updates.push(wire);
    }
    Ok(())
}

/// Marks every queued attachment change as sent with `upload_gen`.
pub(super) fn mark_uploaded(
    tx: &Transaction,
    path: &Path,
    upload_gen: i64,
) -> Result<(), ReplicaFileError> {
    tx.execute(
        "UPDATE attachment_changes SET upload_gen = ?1, uploaded_revision = revision,
             state = CASE state WHEN 'failed' THEN 'failed' ELSE 'uploaded' END",
        [upload_gen],
    )
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}

/// What acknowledging attachments did, for [`super::AppliedSync`].
#[derive(Debug, Default)]
pub(super) struct AttachmentSync {
    pub acknowledged: Vec<(i64, Guid, ChangeKind)>,
    pub refused: Vec<Refusal>,
}

/// Acknowledges the attachment changes of upload `upload_gen` (folding them into the server
/// version) except those the reply refused, which stay queued as failed.
pub(super) fn acknowledge(
    tx: &Transaction,
    path: &Path,
    upload_gen: i64,
    rows: &[EditResultRow],
    out: &mut AttachmentSync,
) -> Result<(), ReplicaFileError> {
    let sent: Vec<AttachmentChange> = read_changes(tx, path)?
        .into_iter()
        .filter(|c| c.upload_gen == Some(upload_gen))
        .collect();
    // Each attachment's first refusal, by layer and GlobalID.
    let mut refusals: std::collections::HashMap<(i64, &Guid), &EditResultRow> =
        std::collections::HashMap::new();
    for row in rows
        .iter()
        .filter(|r| r.object_type == ObjectType::Attachment && !r.success)
    {
        if let Some(gid) = &row.global_id {
            refusals.entry((row.layer_id, gid)).or_insert(row);
        }
    }
    for change in sent {
        let refusal = refusals.get(&(change.layer_id, &change.global_id)).copied();
        if let Some(r) = refusal {
            Queue::Attachments.mark_refused(
                tx,
                path,
                change.layer_id,
                &change.global_id,
                r.code,
                r.description.as_deref(),
            )?;
            let key = ChangeKey {
                layer_id: change.layer_id,
                global_id: change.global_id.clone(),
                revision: change.revision,
            };
            out.refused.push(Refusal::from_result(key, change.kind, r));
            continue;
        }
        acknowledge_one(tx, path, &change)?;
        out.acknowledged
            .push((change.layer_id, change.global_id.clone(), change.kind));
    }
    Ok(())
}

/// Folds a confirmed change into the server version; a change edited again since the upload
/// stays queued (an acknowledged add becomes an update).
fn acknowledge_one(
    tx: &Transaction,
    path: &Path,
    change: &AttachmentChange,
) -> Result<(), ReplicaFileError> {
    let key = params![change.layer_id, change.global_id.as_str()];
    match change.kind {
        ChangeKind::Delete => {
            tx.execute(
                "DELETE FROM attachments WHERE layer_id = ?1 AND global_id = ?2",
                key,
            )
            .map_err(|e| sql_at(path, e))?;
        }
        ChangeKind::Add => {
            tx.execute(
                "INSERT INTO attachments (layer_id, global_id, parent_global_id, name, content_type, size, data)
                 SELECT layer_id, global_id, parent_global_id, COALESCE(name, ''),
                        COALESCE(content_type, ''), COALESCE(size, 0), COALESCE(data, X'')
                 FROM attachment_changes WHERE layer_id = ?1 AND global_id = ?2
                 ON CONFLICT (layer_id, global_id) DO UPDATE SET name = excluded.name,
                     content_type = excluded.content_type, size = excluded.size, data = excluded.data",
                key,
            )
            .map_err(|e| sql_at(path, e))?;
        }
        ChangeKind::Update => {
            tx.execute(
                "UPDATE attachments SET
                     name = COALESCE((SELECT name FROM attachment_changes c WHERE c.layer_id = ?1 AND c.global_id = ?2), name),
                     content_type = COALESCE((SELECT content_type FROM attachment_changes c WHERE c.layer_id = ?1 AND c.global_id = ?2), content_type),
                     size = COALESCE((SELECT size FROM attachment_changes c WHERE c.layer_id = ?1 AND c.global_id = ?2), size),
                     data = COALESCE((SELECT data FROM attachment_changes c WHERE c.layer_id = ?1 AND c.global_id = ?2), data)
                 WHERE layer_id = ?1 AND global_id = ?2",
                key,
            )
            .map_err(|e| sql_at(path, e))?;
        }
    }
    if change.uploaded_revision == Some(change.revision) || change.kind == ChangeKind::Delete {
        return delete_change(tx, path, change.layer_id, &change.global_id);
    }
    tx.execute(
        "UPDATE attachment_changes SET kind = CASE kind WHEN 'add' THEN 'update' ELSE kind END,
             state = 'pending'
         WHERE layer_id = ?1 AND global_id = ?2",
        key,
    )
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}
