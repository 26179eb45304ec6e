//! Local edits of features: recording an add, an update or a delete in the change queue
//! (merging with what is queued already), the user's fix or drop of a queued change, and the
//! local view of features (the server version with its queued change laid over it); several
//! edits recorded in one transaction ([`QueuedEdit`], for a restore from a backup).
//!
//! What it must not do: change the server's version of a feature (only an acknowledgement, in
//! [`super::apply`], folds a change into it), or write a change outside one transaction.

use super::attachment_queue::{
    QueuedAttachment, attachment_add_in, attachment_delete_in, attachment_update_in,
};
use super::queue::{
    ChangeKind, ChangeState, LocalChange, delete_change, read_change, without_global_id,
    write_change,
};
use super::server_features::read_server_feature;
use super::{ReplicaFile, ReplicaFileError, now_ms, sql_at};
use crate::protocol::{Attributes, Feature, Guid};
use rusqlite::Transaction;
use std::path::Path;

impl ReplicaFile {
    /// The feature as the technician sees it: the server version with its queued change applied.
    /// `None` when it does not exist or is deleted locally.
    pub fn local_feature(
        &self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<Option<Feature>, ReplicaFileError> {
        let server = self.server_feature(layer_id, global_id)?;
        let change = read_change(&self.conn, &self.path, layer_id, global_id)?;
        Ok(overlay(server, change.as_ref()))
    }

    /// Every feature of a layer as the technician sees it, ordered by GlobalID.
    pub fn local_features(&self, layer_id: i64) -> Result<Vec<Feature>, ReplicaFileError> {
        self.ensure_layer(layer_id)?;
        let mut ids: Vec<Guid> = Vec::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT global_id FROM features WHERE layer_id = ?1
                 UNION SELECT global_id FROM changes WHERE layer_id = ?1 ORDER BY 1",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([layer_id], |r| r.get::<_, String>(0))
            .map_err(|e| self.sql(e))?;
        for row in rows {
            let text = row.map_err(|e| self.sql(e))?;
            if let Ok(g) = Guid::parse(&text) {
                ids.push(g);
            }
        }
        let mut out = Vec::with_capacity(ids.len());
        for g in ids {
            if let Some(f) = self.local_feature(layer_id, &g)? {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// Records a local add. The feature's GlobalID is used when it has one, otherwise a new one is
    /// assigned. Returns the GlobalID.
    pub fn record_add(
        &mut self,
        layer_id: i64,
        feature: Feature,
    ) -> Result<Guid, ReplicaFileError> {
        let gid_field = self.global_id_field(layer_id)?;
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let global_id = add_in(&tx, &path, &gid_field, layer_id, feature)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(global_id)
    }

    /// Records a local update of some attributes (and optionally the geometry). An update of a
    /// local add stays an add; repeated updates merge; the before-image is the server's version
    /// when the feature was first changed.
    pub fn record_update(
        &mut self,
        layer_id: i64,
        global_id: &Guid,
        attributes: Attributes,
        geometry: Option<serde_json::Value>,
    ) -> Result<(), ReplicaFileError> {
        self.ensure_layer(layer_id)?;
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let change = update_in(&tx, &path, layer_id, global_id, attributes, geometry)?;
        write_change(&tx, &path, &change)?;
        tx.commit().map_err(|e| sql_at(&path, e))
    }

    /// Records a local delete. Deleting a local add removes the add (the server never saw it);
    /// deleting an updated feature turns the update into a delete (the before-image is kept).
    pub fn record_delete(
        &mut self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<(), ReplicaFileError> {
        self.ensure_layer(layer_id)?;
        let path = self.path.clone();
        let tx = self.write_tx()?;
        delete_in(&tx, &path, layer_id, global_id)?;
        tx.commit().map_err(|e| sql_at(&path, e))
    }

    /// Records several local edits in one transaction: all of them, or (on any error) none.
    /// Each is recorded as [`ReplicaFile::record_add`], [`ReplicaFile::record_update`] and
    /// [`ReplicaFile::record_delete`] record one; an update may also name fields whose
    /// before-image value it started from (`started_from`), so the next sync's conflict check
    /// compares the server's value with that one instead of the server's version now.
    pub fn record_edits(&mut self, edits: &[QueuedEdit]) -> Result<(), ReplicaFileError> {
        self.record_batch(edits).map_err(|e| e.source)
    }

    /// [`ReplicaFile::record_edits`], saying which edit (its position in `edits`) failed.
    pub fn record_batch(&mut self, edits: &[QueuedEdit]) -> Result<(), BatchError> {
        let whole = |source| BatchError {
            position: None,
            source,
        };
        let mut gid_fields = std::collections::HashMap::new();
        for (position, edit) in edits.iter().enumerate() {
            let at = |source| BatchError {
                position: Some(position),
                source,
            };
            let layer_id = edit.layer_id();
            self.ensure_layer(layer_id).map_err(at)?;
            if let std::collections::hash_map::Entry::Vacant(slot) = gid_fields.entry(layer_id) {
                slot.insert(self.global_id_field(layer_id).map_err(at)?);
            }
        }
        let path = self.path.clone();
        let tx = self.write_tx().map_err(whole)?;
        for (position, edit) in edits.iter().enumerate() {
            record_one(&tx, &path, &gid_fields, edit).map_err(|source| BatchError {
                position: Some(position),
                source,
            })?;
        }
        tx.commit().map_err(|e| whole(sql_at(&path, e)))
    }

    /// Replaces the values of a queued add or update (the user's fix) and queues it again.
    /// For an add the attributes replace all of them; for an update they replace the changed
    /// fields. `geometry: None` keeps the queued geometry; for an update, the server's geometry
    /// takes the geometry change back.
    pub fn fix_change(
        &mut self,
        layer_id: i64,
        global_id: &Guid,
        attributes: Attributes,
        geometry: Option<serde_json::Value>,
    ) -> Result<LocalChange, ReplicaFileError> {
        let gid_field = self.global_id_field(layer_id)?;
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let Some(mut change) = read_change(&tx, &path, layer_id, global_id)? else {
            return Err(ReplicaFileError::NoSuchChange {
                layer_id,
                global_id: global_id.clone(),
            });
        };
        if change.kind == ChangeKind::Delete {
            return Err(ReplicaFileError::CannotFixDelete {
                layer_id,
                global_id: global_id.clone(),
            });
        }
        change.attributes = without_global_id(attributes);
        if change.kind == ChangeKind::Add {
            change.attributes.insert(
                gid_field,
                serde_json::Value::String(global_id.as_str().to_string()),
            );
        }
        if let Some(geometry) = geometry {
            // An update given the server's own geometry takes its geometry change back.
            let server = read_server_feature(&tx, &path, layer_id, global_id)?;
            let is_servers = server.and_then(|f| f.geometry).as_ref() == Some(&geometry);
            change.geometry = if change.kind == ChangeKind::Update && is_servers {
                None
            } else {
                Some(geometry)
            };
        }
        change.state = ChangeState::Pending;
        change.error_code = None;
        change.error_text = None;
        let change = touched(change);
        write_change(&tx, &path, &change)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(change)
    }

    /// Drops a queued change: the feature reverts to the server's version (a dropped add is gone).
    /// Returns the dropped change.
    pub fn drop_change(
        &mut self,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<LocalChange, ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let Some(change) = read_change(&tx, &path, layer_id, global_id)? else {
            return Err(ReplicaFileError::NoSuchChange {
                layer_id,
                global_id: global_id.clone(),
            });
        };
        delete_change(&tx, &path, layer_id, global_id)?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        Ok(change)
    }
}

/// One edit of [`ReplicaFile::record_batch`], inside its transaction.
fn record_one(
    tx: &Transaction,
    path: &Path,
    gid_fields: &std::collections::HashMap<i64, String>,
    edit: &QueuedEdit,
) -> Result<(), ReplicaFileError> {
    match edit {
        QueuedEdit::Add { layer_id, feature } => {
            let gid_field = gid_fields.get(layer_id).map(String::as_str);
            add_in(
                tx,
                path,
                gid_field.unwrap_or("GlobalID"),
                *layer_id,
                feature.clone(),
            )?;
        }
        QueuedEdit::Update {
            layer_id,
            global_id,
            attributes,
            geometry,
            started_from,
        } => {
            let mut change = update_in(
                tx,
                path,
                *layer_id,
                global_id,
                attributes.clone(),
                geometry.clone(),
            )?;
            if let Some(before) = change.before.as_mut() {
                for (name, value) in started_from {
                    before
                        .attributes
                        .retain(|k, _| !k.eq_ignore_ascii_case(name));
                    before.attributes.insert(name.clone(), value.clone());
                }
            }
            write_change(tx, path, &change)?;
        }
        QueuedEdit::Delete {
            layer_id,
            global_id,
        } => delete_in(tx, path, *layer_id, global_id)?,
        QueuedEdit::Attachment { kind, attachment } => match kind {
            ChangeKind::Add => attachment_add_in(tx, path, attachment)?,
            ChangeKind::Update => attachment_update_in(tx, path, attachment)?,
            ChangeKind::Delete => attachment_delete_in(
                tx,
                path,
                attachment.layer_id,
                &attachment.global_id,
                &attachment.parent_global_id,
            )?,
        },
    }
    Ok(())
}

/// Why a batch recorded nothing: the edit at `position` (`None`: the batch as a whole) failed.
#[derive(Debug, thiserror::Error)]
#[error("{}{source}", position.map(|p| format!("edit {p} of the batch: ")).unwrap_or_default())]
pub struct BatchError {
    pub position: Option<usize>,
    #[source]
    pub source: ReplicaFileError,
}

/// One local edit of a batch ([`ReplicaFile::record_edits`]).
#[derive(Debug, Clone, PartialEq)]
pub enum QueuedEdit {
    Add {
        layer_id: i64,
        feature: Feature,
    },
    Update {
        layer_id: i64,
        global_id: Guid,
        attributes: Attributes,
        geometry: Option<serde_json::Value>,
        /// Fields whose before-image value is this one (the value the edit started from).
        started_from: Attributes,
    },
    Delete {
        layer_id: i64,
        global_id: Guid,
    },
    /// An attachment add, update or delete (its parent and layer already checked; an add's
    /// parent may be a feature added earlier in the same batch).
    Attachment {
        kind: ChangeKind,
        attachment: QueuedAttachment,
    },
}

impl QueuedEdit {
    pub fn layer_id(&self) -> i64 {
        match self {
            QueuedEdit::Add { layer_id, .. }
            | QueuedEdit::Update { layer_id, .. }
            | QueuedEdit::Delete { layer_id, .. } => *layer_id,
            QueuedEdit::Attachment { attachment, .. } => attachment.layer_id,
        }
    }
}

/// [`ReplicaFile::record_add`] inside a transaction.
fn add_in(
    tx: &Transaction,
    path: &Path,
    gid_field: &str,
    layer_id: i64,
    mut feature: Feature,
) -> Result<Guid, ReplicaFileError> {
    let global_id = match feature.global_id() {
        Some(g) => g,
        None => Guid::new_v4(),
    };
    feature
        .attributes
        .retain(|k, _| !k.eq_ignore_ascii_case("globalid") && !k.eq_ignore_ascii_case(gid_field));
    feature.attributes.insert(
        gid_field.to_string(),
        serde_json::Value::String(global_id.as_str().to_string()),
    );
    if read_server_feature(tx, path, layer_id, &global_id)?.is_some()
        || read_change(tx, path, layer_id, &global_id)?.is_some()
    {
        return Err(ReplicaFileError::FeatureExists {
            layer_id,
            global_id,
        });
    }
    let change = fresh_change(
        layer_id,
        &global_id,
        ChangeKind::Add,
        feature.attributes,
        feature.geometry,
        None,
    );
    write_change(tx, path, &change)?;
    Ok(global_id)
}

/// The change [`ReplicaFile::record_update`] writes, read inside a transaction (not written).
fn update_in(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
    attributes: Attributes,
    geometry: Option<serde_json::Value>,
) -> Result<LocalChange, ReplicaFileError> {
    let changed = without_global_id(attributes);
    match read_change(tx, path, layer_id, global_id)? {
        Some(existing) if existing.kind == ChangeKind::Delete => {
            Err(ReplicaFileError::DeletedLocally {
                layer_id,
                global_id: global_id.clone(),
            })
        }
        Some(mut existing) => {
            existing.attributes.extend(changed);
            if geometry.is_some() {
                existing.geometry = geometry;
            }
            Ok(touched(existing))
        }
        None => {
            let Some(server) = read_server_feature(tx, path, layer_id, global_id)? else {
                return Err(ReplicaFileError::NoSuchFeature {
                    layer_id,
                    global_id: global_id.clone(),
                });
            };
            Ok(fresh_change(
                layer_id,
                global_id,
                ChangeKind::Update,
                changed,
                geometry,
                Some(server),
            ))
        }
    }
}

/// [`ReplicaFile::record_delete`] inside a transaction.
fn delete_in(
    tx: &Transaction,
    path: &Path,
    layer_id: i64,
    global_id: &Guid,
) -> Result<(), ReplicaFileError> {
    match read_change(tx, path, layer_id, global_id)? {
        Some(existing) if existing.kind == ChangeKind::Add && existing.upload_gen.is_none() => {
            delete_change(tx, path, layer_id, global_id)?;
        }
        Some(existing) if existing.kind == ChangeKind::Delete => {}
        Some(existing) => {
            // An add that was already sent may exist on the server: delete it there too.
            let deleted = LocalChange {
                kind: ChangeKind::Delete,
                attributes: Attributes::new(),
                geometry: None,
                ..touched(existing)
            };
            write_change(tx, path, &deleted)?;
        }
        None => {
            let Some(server) = read_server_feature(tx, path, layer_id, global_id)? else {
                return Err(ReplicaFileError::NoSuchFeature {
                    layer_id,
                    global_id: global_id.clone(),
                });
            };
            let change = fresh_change(
                layer_id,
                global_id,
                ChangeKind::Delete,
                Attributes::new(),
                None,
                Some(server),
            );
            write_change(tx, path, &change)?;
        }
    }
    Ok(())
}

/// A change queued for the first time: pending, revision 1, edited now.
fn fresh_change(
    layer_id: i64,
    global_id: &Guid,
    kind: ChangeKind,
    attributes: Attributes,
    geometry: Option<serde_json::Value>,
    before: Option<Feature>,
) -> LocalChange {
    LocalChange {
        layer_id,
        global_id: global_id.clone(),
        kind,
        attributes,
        geometry,
        before,
        upload_gen: None,
        state: ChangeState::Pending,
        error_code: None,
        error_text: None,
        edited_ms: now_ms(),
        revision: 1,
    }
}

/// A change after one more local edit: back to pending, new revision and time.
fn touched(mut change: LocalChange) -> LocalChange {
    change.state = ChangeState::Pending;
    change.error_code = None;
    change.error_text = None;
    change.edited_ms = now_ms();
    change.revision += 1;
    change
}

/// The local view: the server version with the queued change laid over it.
fn overlay(server: Option<Feature>, change: Option<&LocalChange>) -> Option<Feature> {
    match change {
        None => server,
        Some(c) if c.kind == ChangeKind::Delete => None,
        Some(c) if c.kind == ChangeKind::Add => Some(Feature {
            attributes: c.attributes.clone(),
            geometry: c.geometry.clone(),
        }),
        Some(c) => {
            let mut f = server.or_else(|| c.before.clone()).unwrap_or_default();
            f.attributes.extend(c.attributes.clone());
            if c.geometry.is_some() {
                f.geometry = c.geometry.clone();
            }
            Some(f)
        }
    }
}
