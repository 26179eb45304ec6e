//! Applying a synchronizeReplica reply in one transaction: the downloaded server changes
//! (features and attachments), the acknowledgement of what the last upload sent (folded into the
//! server version) or its refusals (kept queued, marked failed), and only then the new
//! generation(s). Also refusals that arrived without a completed sync.
//!
//! What it must not do: store a generation before the changes it stands for, or unqueue a
//! change the server refused.

use super::attachments::AttachmentPayloads;
use super::definition::{Generations, read_generations, store_generations};
use super::queue::{
    ChangeKey, ChangeKind, ChangeState, LocalChange, Queue, Refusal, delete_change, read_change,
    read_changes, without_global_id, write_change,
};
use super::server_features::{object_id_of, read_server_feature, upsert_server_feature};
use super::{
    ReplicaFile, ReplicaFileError, attachment_sync, attachments, conflicts, from_json, sql_at,
};
use crate::protocol::{
    ChangeType, EditResultRow, Feature, FeatureChanges, FeatureSink, Guid, ObjectType,
    ReplicaResponse,
};
use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// What [`ReplicaFile::apply_sync`] did, in one transaction.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppliedSync {
    /// Uploaded changes the reply did not refuse; folded into the server version and unqueued.
    pub acknowledged: Vec<(i64, Guid, ChangeKind)>,
    /// Uploaded changes the server refused; still queued.
    pub refused: Vec<Refusal>,
    pub downloaded_adds: u32,
    pub downloaded_updates: u32,
    pub downloaded_deletes: u32,
    /// Local updates or deletes dropped because the server deleted the feature (server delete wins).
    pub superseded: Vec<(i64, Guid)>,
    /// The generations now stored.
    pub generations: Generations,
    /// Attachments downloaded (adds, updates and deletes).
    pub downloaded_attachments: u32,
    /// Uploaded attachment changes the reply did not refuse.
    pub acknowledged_attachments: Vec<(i64, Guid, ChangeKind)>,
    /// Uploaded attachment changes the server refused; still queued.
    pub refused_attachments: Vec<Refusal>,
}

impl AppliedSync {
    pub fn downloaded(&self) -> u32 {
        self.downloaded_adds
            + self.downloaded_updates
            + self.downloaded_deletes
            + self.downloaded_attachments
    }
}

impl ReplicaFile {
    /// Applies a complete synchronizeReplica reply in ONE transaction: acknowledges the changes of
    /// upload `upload_gen` (folding them into the server version) except those the reply reports as
    /// refused, which stay queued (marked failed), applies the downloaded server changes, and only then stores the new generation(s).
    /// `upload_gen` is the generation of the upload this reply answers (`None` if nothing was sent).
    /// `advance_generations` is false for upload-only syncs, which download nothing and so must not
    /// move the point from which server changes are sent.
    pub fn apply_sync(
        &mut self,
        upload_gen: Option<i64>,
        response: &ReplicaResponse,
        advance_generations: bool,
    ) -> Result<AppliedSync, ReplicaFileError> {
        self.apply_sync_with_attachments(
            upload_gen,
            response,
            advance_generations,
            &AttachmentPayloads::new(),
        )
    }

    /// [`ReplicaFile::apply_sync`] with the data of attachments downloaded by URL (saved to files
    /// by the caller beforehand). Attachments land in the same transaction as the feature
    /// changes and the generation; one without data fails the whole apply.
    pub fn apply_sync_with_attachments(
        &mut self,
        upload_gen: Option<i64>,
        response: &ReplicaResponse,
        advance_generations: bool,
        payloads: &AttachmentPayloads,
    ) -> Result<AppliedSync, ReplicaFileError> {
        self.apply_reply(upload_gen, response, advance_generations, payloads, false)
    }

    /// The download of a download-first sync (conflict detection): applied like any download,
    /// except that a server delete does not drop a local update of that feature; the conflict
    /// check that follows compares it (a local delete of a deleted feature is done, as always).
    pub fn apply_download_first(
        &mut self,
        response: &ReplicaResponse,
        payloads: &AttachmentPayloads,
    ) -> Result<AppliedSync, ReplicaFileError> {
        self.apply_reply(None, response, true, payloads, true)
    }

    fn apply_reply(
        &mut self,
        upload_gen: Option<i64>,
        response: &ReplicaResponse,
        advance_generations: bool,
        payloads: &AttachmentPayloads,
        keep_local_updates: bool,
    ) -> Result<AppliedSync, ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let mut applied = AppliedSync::default();
        let reply = ReplyApply {
            upload_gen,
            advance_generations,
            payloads,
            keep_local_updates,
        };
        reply.apply(&tx, &path, response, &mut applied)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(applied)
    }

    /// [`ReplicaFile::apply_sync_with_attachments`] (or, with `keep_local_updates`,
    /// [`ReplicaFile::apply_download_first`]) for a reply read as a stream: in the one
    /// transaction, `read` first hands every downloaded add and update to the
    /// [`DownloadedFeatures`] it is given (e.g. `protocol::read_sync_stream`) and returns the reply
    /// without them, whose deletes, acknowledgements, refusals and generations are then applied
    /// as for a whole reply. Nothing is kept when `read` or anything after it fails.
    pub fn apply_sync_streamed<E: From<ReplicaFileError>>(
        &mut self,
        upload_gen: Option<i64>,
        advance_generations: bool,
        payloads: &AttachmentPayloads,
        keep_local_updates: bool,
        read: impl FnOnce(&mut DownloadedFeatures<'_>) -> Result<ReplicaResponse, E>,
    ) -> Result<(AppliedSync, ReplicaResponse), E> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let mut applied = AppliedSync::default();
        let response = {
            let mut sink = DownloadedFeatures {
                tx: &tx,
                path: &path,
                applied: &mut applied,
            };
            read(&mut sink)?
        };
        let reply = ReplyApply {
            upload_gen,
            advance_generations,
            payloads,
            keep_local_updates,
        };
        reply.apply(&tx, &path, &response, &mut applied)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok((applied, response))
    }

    /// Records refusals that arrived without a completed sync (a rolled-back sync's `infos`):
    /// the changes stay queued, marked failed. Nothing else changes.
    pub fn record_refusals(&mut self, rows: &[EditResultRow]) -> Result<u32, ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let count = Queue::Attachments.record_refusals(&tx, &path, rows)?
            + Queue::Features.record_refusals(&tx, &path, rows)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(count)
    }
}

/// How one sync reply is applied (see [`ReplicaFile::apply_sync`]).
struct ReplyApply<'p> {
    upload_gen: Option<i64>,
    advance_generations: bool,
    payloads: &'p AttachmentPayloads,
    keep_local_updates: bool,
}

impl ReplyApply<'_> {
    /// Everything of `response` inside `tx`: downloads, then acknowledgements and refusals,
    /// then the generations.
    fn apply(
        &self,
        tx: &Transaction,
        path: &Path,
        response: &ReplicaResponse,
        applied: &mut AppliedSync,
    ) -> Result<(), ReplicaFileError> {
        let mut attached = attachment_sync::AttachmentSync::default();
        // Downloads first: a server echo of one of our own adds (a redo after an expired result)
        // is then simply overwritten by the acknowledgement below; nothing is duplicated.
        for layer in &response.edits {
            apply_download(
                tx,
                path,
                layer.id,
                &layer.features,
                self.keep_local_updates,
                applied,
            )?;
            let items: Vec<_> = layer
                .attachments
                .adds
                .iter()
                .chain(&layer.attachments.updates)
                .collect();
            attachments::apply_download(
                tx,
                path,
                layer.id,
                &items,
                &layer.attachments.delete_ids,
                self.payloads,
                &mut applied.downloaded_attachments,
            )?;
        }
        if let Some(generation) = self.upload_gen {
            let rows = response.result_rows();
            acknowledge(tx, path, generation, &rows, applied)?;
            attachment_sync::acknowledge(tx, path, generation, &rows, &mut attached)?;
        }
        applied.acknowledged_attachments = attached.acknowledged;
        applied.refused_attachments = attached.refused;
        if self.advance_generations {
            store_generations(tx, path, response)?;
        }
        applied.generations = read_generations(tx, path)?;
        Ok(())
    }
}

/// The downloaded adds and updates of a sync reply read as a stream, stored as the server's
/// copy inside the apply's transaction ([`ReplicaFile::apply_sync_streamed`]).
pub struct DownloadedFeatures<'t> {
    tx: &'t Transaction<'t>,
    path: &'t Path,
    applied: &'t mut AppliedSync,
}

impl DownloadedFeatures<'_> {
    /// Downloaded features stored so far.
    pub fn stored(&self) -> u64 {
        u64::from(self.applied.downloaded_adds) + u64::from(self.applied.downloaded_updates)
    }
}

impl FeatureSink for DownloadedFeatures<'_> {
    type Error = ReplicaFileError;
    fn feature(
        &mut self,
        layer_id: i64,
        change: ChangeType,
        feature: Feature,
    ) -> Result<(), ReplicaFileError> {
        let add = change == ChangeType::Insert;
        if upsert_server_feature(self.tx, self.path, layer_id, &feature, add)? {
            if add {
                self.applied.downloaded_adds += 1;
            } else {
                self.applied.downloaded_updates += 1;
            }
        }
        Ok(())
    }
}

fn apply_download(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    changes: &FeatureChanges,
    keep_local_updates: bool,
    applied: &mut AppliedSync,
) -> Result<(), ReplicaFileError> {
    for feature in &changes.adds {
        if upsert_server_feature(tx, path, layer_id, feature, true)? {
            applied.downloaded_adds += 1;
        }
    }
    for feature in &changes.updates {
        if upsert_server_feature(tx, path, layer_id, feature, false)? {
            applied.downloaded_updates += 1;
        }
    }
    for text in &changes.delete_ids {
        let Ok(global_id) = Guid::parse(text) else {
            tracing::warn!(
                layer_id,
                "skipping a downloaded delete with an invalid GlobalID"
            );
            continue;
        };
        tx.prepare_cached("DELETE FROM features WHERE layer_id = ?1 AND global_id = ?2")
            .and_then(|mut statement| statement.execute(params![layer_id, global_id.as_str()]))
            .map_err(|e| sql_at(path, e))?;
        attachments::remove_attachments_of(tx, path, layer_id, &global_id)?;
        applied.downloaded_deletes += 1;
        // Server delete beats a local update; a local delete of a deleted feature is done. Not
        // while conflicts are being detected, nor for a held conflict: the user decides.
        if let Some(local) = read_change(tx, path, layer_id, &global_id)?
            && local.kind != ChangeKind::Add
            && !(local.kind == ChangeKind::Update
                && (keep_local_updates || conflicts::is_held(tx, path, layer_id, &global_id)?))
        {
            delete_change(tx, path, layer_id, &global_id)?;
            applied.superseded.push((layer_id, global_id));
        }
    }
    Ok(())
}

/// Acknowledges confirmed changes of upload `upload_gen` and marks refused ones failed.
fn acknowledge(
    tx: &Transaction,
    path: &Path,
    upload_gen: i64,
    rows: &[EditResultRow],
    applied: &mut AppliedSync,
) -> Result<(), ReplicaFileError> {
    let uploaded: Vec<LocalChange> = read_changes(tx, path)?
        .into_iter()
        .filter(|c| c.upload_gen == Some(upload_gen))
        .collect();
    // Each feature's first result, by layer and GlobalID (an upload may hold 100,000 changes).
    let mut results: HashMap<(i64, &Guid), &EditResultRow> = HashMap::with_capacity(rows.len());
    for row in rows.iter().filter(|r| r.object_type == ObjectType::Feature) {
        if let Some(gid) = &row.global_id {
            results.entry((row.layer_id, gid)).or_insert(row);
        }
    }
    for change in uploaded {
        let result = results.get(&(change.layer_id, &change.global_id)).copied();
        match result {
            // A complete reply acknowledges its upload generation as a whole (the Runtime model):
            // servers report failures, and successes only for adds with returnIdsForAdds.
            None => {
                acknowledge_one(tx, path, &change, None)?;
                applied
                    .acknowledged
                    .push((change.layer_id, change.global_id.clone(), change.kind));
            }
            Some(r) if r.success => {
                acknowledge_one(tx, path, &change, r.object_id)?;
                applied
                    .acknowledged
                    .push((change.layer_id, change.global_id.clone(), change.kind));
            }
            Some(r) => {
                Queue::Features.mark_refused(
                    tx,
                    path,
                    change.layer_id,
                    &change.global_id,
                    r.code,
                    r.description.as_deref(),
                )?;
                applied
                    .refused
                    .push(Refusal::from_result(ChangeKey::of(&change), change.kind, r));
            }
        }
    }
    Ok(())
}

/// Folds a confirmed change into the server version. If the technician edited it again after the
/// upload, the newer edit stays queued (an acknowledged add becomes an update).
fn acknowledge_one(
    tx: &Transaction,
    path: &Path,
    change: &LocalChange,
    object_id: Option<i64>,
) -> Result<(), ReplicaFileError> {
    let (uploaded_revision, uploaded_json): (Option<i64>, Option<String>) = tx.prepare_cached("SELECT uploaded_revision, uploaded_json FROM changes WHERE layer_id = ?1 AND global_id = ?2")
        .and_then(|mut statement| statement.query_row(params![change.layer_id, change.global_id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(|e| sql_at(path, e))?;
    let sent: Option<Feature> = uploaded_json
        .map(|t| from_json(path, "an uploaded edit", &t))
        .transpose()?;
    match change.kind {
        ChangeKind::Delete => {
            tx.prepare_cached("DELETE FROM features WHERE layer_id = ?1 AND global_id = ?2")
                .and_then(|mut statement| {
                    statement.execute(params![change.layer_id, change.global_id.as_str()])
                })
                .map_err(|e| sql_at(path, e))?;
            // The server deleted the feature's attachments with it.
            attachments::remove_attachments_of(tx, path, change.layer_id, &change.global_id)?;
        }
        ChangeKind::Add | ChangeKind::Update => {
            if let Some(mut sent) = sent {
                if let Some(oid) = object_id
                    && change.kind == ChangeKind::Add
                    && object_id_of(&sent).is_none()
                {
                    sent.attributes
                        .insert("OBJECTID".into(), serde_json::Value::from(oid));
                }
                upsert_server_feature(
                    tx,
                    path,
                    change.layer_id,
                    &sent,
                    change.kind == ChangeKind::Add,
                )?;
            }
        }
    }
    if uploaded_revision == Some(change.revision) {
        delete_change(tx, path, change.layer_id, &change.global_id)?;
        return Ok(());
    }
    // Edited again since the upload: keep the newer values queued against the new server version.
    let server = read_server_feature(tx, path, change.layer_id, &change.global_id)?;
    let still_queued = match change.kind {
        ChangeKind::Delete => return delete_change(tx, path, change.layer_id, &change.global_id),
        ChangeKind::Add => LocalChange {
            kind: ChangeKind::Update,
            attributes: without_global_id(change.attributes.clone()),
            before: server,
            state: ChangeState::Pending,
            ..change.clone()
        },
        ChangeKind::Update => LocalChange {
            state: ChangeState::Pending,
            ..change.clone()
        },
    };
    write_change(tx, path, &still_queued)
}
