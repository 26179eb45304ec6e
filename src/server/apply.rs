//! Applies the uploaded edits of one synchronizeReplica inside the caller's transaction: adds,
//! updates and deletes by GlobalID, idempotent resends, uniqueness (1022), existence (1011),
//! unknown layers (2001), the per-edit checks of `checks`, the true-curve check of `curves` (1005),
//! and (through `attachments`) each layer's attachment edits after its feature edits. Owns the prepared statements and
//! the batched uniqueness sets that keep 100,000 edits fast. It must not commit or roll back: the
//! caller decides from the outcome (rollbackOnFailure) what happens to the transaction.

use super::attachments;
use super::checks::{self, Caller, EditContext, EditKind, PreparedRow, Rejection};
use super::curves::{self, CurveUpdate};
use super::definition::{LayerDef, ServiceDefinition};
use super::store::{self, StoreError};
use crate::protocol::{EditResult, Feature, Guid, LayerEdits, LayerSyncResult, ObjectType};
use rusqlite::{Connection, params, types::ValueRef};
use serde_json::Value;
use std::collections::HashMap;

/// How one layer's uploaded edits are treated in this sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerUpload {
    Apply,
    /// The layer syncs download-only or snapshot: its edits are ignored.
    Ignore,
    /// The layer is not in the service or not in the replica: every edit fails with 2001.
    NotFound,
}

/// An edit that failed, as the rollback envelope names it.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedEdit {
    pub layer_id: i64,
    pub global_id: Option<Guid>,
    pub code: i64,
    pub description: String,
    /// A feature (0) or an attachment (1).
    pub object_type: ObjectType,
}

impl FailedEdit {
    fn feature(layer_id: i64, global_id: Option<Guid>, rejection: &Rejection) -> Self {
        FailedEdit {
            layer_id,
            global_id,
            code: rejection.code,
            description: rejection.description(),
            object_type: ObjectType::Feature,
        }
    }
}

/// What applying the edits came to.
#[derive(Debug)]
pub enum ApplyOutcome {
    /// Every edit was tried; failures (if any) are in the results.
    Applied {
        results: Vec<LayerSyncResult>,
        failed: usize,
        applied: usize,
    },
    /// rollbackOnFailure: the first failure stops everything; the caller rolls back.
    RolledBack(FailedEdit),
}

/// The options of one apply.
pub struct ApplyOptions<'a> {
    pub def: &'a ServiceDefinition,
    pub caller: &'a Caller,
    pub generation: i64,
    pub rollback_on_failure: bool,
    pub return_ids_for_adds: bool,
    /// The replica uploads attachments (attachmentsSyncDirection upload or bidirectional).
    pub attachments_upload: bool,
}

/// Applies `edits` at `options.generation`; `upload` says how each layer is treated.
pub fn apply_edits(
    conn: &Connection,
    edits: &[LayerEdits],
    upload: &dyn Fn(i64) -> LayerUpload,
    options: &ApplyOptions<'_>,
) -> Result<ApplyOutcome, StoreError> {
    let mut results = Vec::new();
    let (mut failed, mut applied) = (0, 0);
    for layer_edits in edits {
        let mut result = LayerSyncResult {
            id: layer_edits.id,
            ..Default::default()
        };
        let mode = match options.def.layer(layer_edits.id) {
            None => LayerUpload::NotFound,
            Some(_) => upload(layer_edits.id),
        };
        let outcome = match (mode, options.def.layer(layer_edits.id)) {
            (LayerUpload::Ignore, _) => continue,
            (LayerUpload::Apply, Some(layer)) => {
                let mut applier = LayerApplier::new(conn, layer, options)?;
                let mut outcome = applier.apply(layer_edits, &mut result)?;
                if outcome.rolled_back.is_none() && !layer_edits.attachments.is_empty() {
                    let attached = attachments::apply(
                        conn,
                        layer,
                        options,
                        &layer_edits.attachments,
                        &mut result.attachments,
                    )?;
                    outcome.failed += attached.failed;
                    outcome.applied += attached.applied;
                    outcome.rolled_back = attached.rolled_back;
                }
                outcome
            }
            _ => layer_not_found(layer_edits, &mut result, options.rollback_on_failure),
        };
        if let Some(failure) = outcome.rolled_back {
            return Ok(ApplyOutcome::RolledBack(failure));
        }
        failed += outcome.failed;
        applied += outcome.applied;
        if !result.add_results.is_empty()
            || !result.update_results.is_empty()
            || !result.delete_results.is_empty()
            || !result.attachments.is_empty()
        {
            results.push(result);
        }
    }
    Ok(ApplyOutcome::Applied {
        results,
        failed,
        applied,
    })
}

#[derive(Default)]
struct LayerOutcome {
    failed: usize,
    applied: usize,
    rolled_back: Option<FailedEdit>,
}

/// Every edit of a layer the service does not know fails with 2001.
fn layer_not_found(
    edits: &LayerEdits,
    result: &mut LayerSyncResult,
    rollback: bool,
) -> LayerOutcome {
    let rejection = Rejection::new(2001, edits.id.to_string());
    let failed =
        |gid: Option<Guid>| EditResult::failed(None, gid, rejection.code, rejection.description());
    let first = edits
        .features
        .adds
        .iter()
        .chain(edits.features.updates.iter())
        .map(Feature::global_id)
        .next()
        .flatten()
        .or_else(|| {
            edits
                .features
                .delete_ids
                .first()
                .and_then(|s| Guid::parse(s).ok())
        });
    if rollback && !edits.features.is_empty() {
        return LayerOutcome {
            rolled_back: Some(FailedEdit::feature(edits.id, first, &rejection)),
            ..Default::default()
        };
    }
    if rollback && !edits.attachments.is_empty() {
        let first = edits
            .attachments
            .adds
            .iter()
            .chain(&edits.attachments.updates)
            .map(|a| a.global_id.as_str())
            .chain(edits.attachments.delete_ids.iter().map(String::as_str))
            .find_map(|g| Guid::parse(g).ok());
        return LayerOutcome {
            rolled_back: Some(FailedEdit {
                object_type: ObjectType::Attachment,
                ..FailedEdit::feature(edits.id, first, &rejection)
            }),
            ..Default::default()
        };
    }
    let attachment_failed = |g: &str| failed(Guid::parse(g).ok());
    result.attachments.add_results = edits
        .attachments
        .adds
        .iter()
        .map(|a| attachment_failed(&a.global_id))
        .collect();
    result.attachments.update_results = edits
        .attachments
        .updates
        .iter()
        .map(|a| attachment_failed(&a.global_id))
        .collect();
    result.attachments.delete_results = edits
        .attachments
        .delete_ids
        .iter()
        .map(|g| attachment_failed(g))
        .collect();
    result.add_results = edits
        .features
        .adds
        .iter()
        .map(|f| failed(f.global_id()))
        .collect();
    result.update_results = edits
        .features
        .updates
        .iter()
        .map(|f| failed(f.global_id()))
        .collect();
    result.delete_results = edits
        .features
        .delete_ids
        .iter()
        .map(|s| failed(Guid::parse(s).ok()))
        .collect();
    LayerOutcome {
        failed: edits.features.len()
            + edits.attachments.adds.len()
            + edits.attachments.updates.len()
            + edits.attachments.delete_ids.len(),
        ..Default::default()
    }
}

/// Values of one unique field in the live rows: value key -> GlobalID.
struct UniqueSet {
    field: String,
    values: HashMap<String, String>,
}

struct LayerApplier<'a> {
    conn: &'a Connection,
    layer: &'a LayerDef,
    options: &'a ApplyOptions<'a>,
    next_object_id: i64,
    unique: Vec<UniqueSet>,
    /// Object ids of the uploaded adds' GlobalIDs that already exist (looked up in batches).
    existing_adds: HashMap<String, i64>,
    insert: rusqlite::CachedStatement<'a>,
}

impl<'a> LayerApplier<'a> {
    fn new(
        conn: &'a Connection,
        layer: &'a LayerDef,
        options: &'a ApplyOptions<'a>,
    ) -> Result<Self, StoreError> {
        // Object ids are unique across the service: they are the table's rowid.
        let max: i64 = conn.query_row(
            "SELECT COALESCE(MAX(object_id), 0) FROM features",
            [],
            |r| r.get(0),
        )?;
        let unique = layer
            .unique_fields()
            .into_iter()
            .map(|field| load_unique(conn, layer.id, field))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LayerApplier {
            conn,
            layer,
            options,
            next_object_id: max + 1,
            unique,
            existing_adds: HashMap::new(),
            insert: conn.prepare_cached(
                "INSERT INTO features(layer_id, object_id, global_id, attributes, geometry, owner, gen, created_gen, deleted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 0)",
            )?,
        })
    }

    fn ctx(&self) -> EditContext<'a> {
        EditContext {
            def: self.options.def,
            layer: self.layer,
            caller: self.options.caller,
        }
    }

    fn apply(
        &mut self,
        edits: &LayerEdits,
        result: &mut LayerSyncResult,
    ) -> Result<LayerOutcome, StoreError> {
        let mut outcome = LayerOutcome::default();
        self.existing_adds = existing_global_ids(self.conn, self.layer.id, &edits.features.adds)?;
        for feature in &edits.features.adds {
            let r = self.add(feature)?;
            if self.record(r, &mut result.add_results, &mut outcome, true) {
                return Ok(outcome);
            }
        }
        for feature in &edits.features.updates {
            let r = self.update(feature)?;
            if self.record(r, &mut result.update_results, &mut outcome, false) {
                return Ok(outcome);
            }
        }
        for text in &edits.features.delete_ids {
            let r = self.delete(text)?;
            if self.record(r, &mut result.delete_results, &mut outcome, false) {
                return Ok(outcome);
            }
        }
        Ok(outcome)
    }

    /// Files one edit's result; true when the apply must stop (rollback).
    fn record(
        &self,
        result: EditAttempt,
        into: &mut Vec<EditResult>,
        outcome: &mut LayerOutcome,
        is_add: bool,
    ) -> bool {
        match result {
            Ok((object_id, global_id)) => {
                outcome.applied += 1;
                if is_add && self.options.return_ids_for_adds {
                    into.push(EditResult::ok(Some(object_id), Some(global_id)));
                }
                false
            }
            Err((object_id, global_id, rejection)) => {
                outcome.failed += 1;
                if self.options.rollback_on_failure {
                    outcome.rolled_back =
                        Some(FailedEdit::feature(self.layer.id, global_id, &rejection));
                    return true;
                }
                into.push(EditResult::failed(
                    object_id,
                    global_id,
                    rejection.code,
                    rejection.description(),
                ));
                false
            }
        }
    }

    fn add(&mut self, feature: &Feature) -> Result<EditAttempt, StoreError> {
        let global_id = match checks::global_id_of(feature) {
            Ok(g) => g,
            Err(rejection) => return Ok(Err((None, None, rejection))),
        };
        if let Some(object_id) = self.existing_adds.get(global_id.as_str()).copied() {
            return self.resent_add(feature, global_id, object_id);
        }
        let row = match checks::prepare_add(self.ctx(), feature) {
            Ok(row) => row,
            Err(rejection) => return Ok(Err((None, Some(global_id), rejection))),
        };
        if let Some(rejection) = self.unique_violation(&row, None) {
            return Ok(Err((None, Some(global_id), rejection)));
        }
        let object_id = self.next_object_id;
        self.next_object_id += 1;
        self.insert.execute(params![
            self.layer.id,
            object_id,
            row.global_id.as_str(),
            serde_json::to_string(&row.attributes)?,
            row.geometry.as_ref().map(Value::to_string),
            row.owner,
            self.options.generation
        ])?;
        self.remember_unique(&row, None);
        self.existing_adds
            .insert(global_id.as_str().to_string(), object_id);
        Ok(Ok((object_id, global_id)))
    }

    /// An add whose GlobalID the layer already has: a resend (its reply was lost), never a
    /// duplicate. It is applied as an update of that feature, so a local edit made since the lost
    /// reply is not dropped, under the same ownership rules as any update: a GlobalID that belongs
    /// to a feature the caller may not update is refused (1007, or 1013 where others' features are
    /// hidden), never acknowledged. A feature deleted since stays deleted (delete wins).
    fn resent_add(
        &mut self,
        feature: &Feature,
        global_id: Guid,
        object_id: i64,
    ) -> Result<EditAttempt, StoreError> {
        match store::row_by_global_id(self.conn, self.layer.id, &global_id)? {
            Some(row) if row.deleted => return Ok(Ok((object_id, global_id))),
            Some(_) => {}
            // Inserted earlier in this same upload, not yet visible to this lookup.
            None => return Ok(Ok((object_id, global_id))),
        }
        let owner_field = self.layer.owner_field().map(str::to_ascii_lowercase);
        let mut as_update = feature.clone();
        // What an add may carry but an update may not change: the owner (the service fills it
        // in) and empty values of read-only fields.
        as_update.attributes.retain(|name, value| {
            let lower = name.to_ascii_lowercase();
            let read_only = self
                .layer
                .fields
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(name) && !f.editable);
            Some(&lower) != owner_field.as_ref() && !(read_only && value.is_null())
        });
        self.update(&as_update)
    }

    fn update(&mut self, feature: &Feature) -> Result<EditAttempt, StoreError> {
        let global_id = match checks::global_id_of(feature) {
            Ok(g) => g,
            Err(rejection) => return Ok(Err((None, None, rejection))),
        };
        let existing = match store::row_by_global_id(self.conn, self.layer.id, &global_id)? {
            Some(row) if !row.deleted => row,
            _ => return Ok(Err((None, Some(global_id), Rejection::new(1011, "")))),
        };
        let oid = Some(existing.object_id);
        let unchanged_curve;
        let mut feature = feature;
        if self.options.def.allows_geometry_updates(self.layer) {
            match curves::check_curve_update(
                self.options.def.allows_true_curves_updates(self.layer),
                existing.geometry.as_ref(),
                feature.geometry.as_ref(),
            ) {
                Err(rejection) => return Ok(Err((oid, Some(global_id), rejection))),
                Ok(CurveUpdate::SameAsDensified) => {
                    // The client sent back the densified curve it was given: keep the curve.
                    unchanged_curve = Feature {
                        geometry: None,
                        ..feature.clone()
                    };
                    feature = &unchanged_curve;
                }
                Ok(CurveUpdate::Untouched | CurveUpdate::Replaces) => {}
            }
        }
        let row = match checks::prepare_update(
            self.ctx(),
            feature,
            global_id.clone(),
            &existing.attributes,
            existing.geometry.as_ref(),
            &existing.owner,
        ) {
            Ok(row) => row,
            Err(rejection) => return Ok(Err((oid, Some(global_id), rejection))),
        };
        if let Some(rejection) = self.unique_violation(&row, Some(&existing.attributes)) {
            return Ok(Err((oid, Some(global_id), rejection)));
        }
        self.conn
            .prepare_cached(
                "UPDATE features SET attributes = ?3, geometry = ?4, gen = ?5 WHERE layer_id = ?1 AND object_id = ?2",
            )?
            .execute(params![
                self.layer.id,
                existing.object_id,
                serde_json::to_string(&row.attributes)?,
                row.geometry.as_ref().map(Value::to_string),
                self.options.generation
            ])?;
        self.remember_unique(&row, Some(&existing.attributes));
        Ok(Ok((existing.object_id, global_id)))
    }

    fn delete(&mut self, text: &str) -> Result<EditAttempt, StoreError> {
        let global_id = match text.trim() {
            "" => return Ok(Err((None, None, Rejection::new(1021, "")))),
            t => match Guid::parse(t) {
                Ok(g) => g,
                Err(_) => return Ok(Err((None, None, Rejection::new(1016, "GlobalID")))),
            },
        };
        let existing = match store::row_by_global_id(self.conn, self.layer.id, &global_id)? {
            Some(row) => row,
            None => return Ok(Err((None, Some(global_id), Rejection::new(1011, "")))),
        };
        if existing.deleted {
            // Deleting what is already gone is a no-op, so a resent delete succeeds.
            return Ok(Ok((existing.object_id, global_id)));
        }
        if let Err(rejection) = checks::check_owner(self.ctx(), &existing.owner, EditKind::Delete) {
            return Ok(Err((Some(existing.object_id), Some(global_id), rejection)));
        }
        self.conn
            .prepare_cached(
                "UPDATE features SET deleted = 1, gen = ?3 WHERE layer_id = ?1 AND object_id = ?2",
            )?
            .execute(params![
                self.layer.id,
                existing.object_id,
                self.options.generation
            ])?;
        for set in &mut self.unique {
            if let Some(key) = existing.attributes.get(&set.field).and_then(value_key) {
                set.values.remove(&key);
            }
        }
        if self.layer.has_attachments {
            // A deleted feature's attachments go with it (downloaded as attachment deletes).
            store::delete_attachments_of(
                self.conn,
                self.layer.id,
                global_id.as_str(),
                self.options.generation,
            )?;
        }
        Ok(Ok((existing.object_id, global_id)))
    }

    /// 1022 when a unique field's new value belongs to another live row.
    fn unique_violation(
        &self,
        row: &PreparedRow,
        _old: Option<&serde_json::Map<String, Value>>,
    ) -> Option<Rejection> {
        self.unique.iter().find_map(|set| {
            let key = row.attributes.get(&set.field).and_then(value_key)?;
            match set.values.get(&key) {
                Some(owner) if owner != row.global_id.as_str() => {
                    Some(Rejection::new(1022, &set.field))
                }
                _ => None,
            }
        })
    }

    fn remember_unique(&mut self, row: &PreparedRow, old: Option<&serde_json::Map<String, Value>>) {
        for set in &mut self.unique {
            if let Some(old_key) = old.and_then(|o| o.get(&set.field)).and_then(value_key) {
                set.values.remove(&old_key);
            }
            if let Some(key) = row.attributes.get(&set.field).and_then(value_key) {
                set.values.insert(key, row.global_id.as_str().to_string());
            }
        }
    }
}

/// GlobalIDs per existence query.
const LOOKUP_CHUNK: usize = 500;

/// The object ids of those `adds` whose GlobalID the layer already has (live or deleted).
fn existing_global_ids(
    conn: &Connection,
    layer_id: i64,
    adds: &[Feature],
) -> Result<HashMap<String, i64>, StoreError> {
    let ids: Vec<String> = adds
        .iter()
        .filter_map(Feature::global_id)
        .map(|g| g.as_str().to_string())
        .collect();
    let mut found = HashMap::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let placeholders = vec!["?"; chunk.len()].join(",");
        let sql = format!(
            "SELECT global_id, object_id FROM features WHERE layer_id = {layer_id} AND global_id IN ({placeholders})"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(chunk.iter()))?;
        while let Some(row) = rows.next()? {
            found.insert(row.get::<_, String>(0)?, row.get::<_, i64>(1)?);
        }
    }
    Ok(found)
}

/// Ok((objectId, GlobalID)) or Err((objectId, GlobalID, why)).
type EditAttempt = Result<(i64, Guid), (Option<i64>, Option<Guid>, Rejection)>;

/// A comparable key for a unique value; null has none (nulls never collide).
fn value_key(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Number(n) => Some(number_key(n.as_f64().unwrap_or(f64::NAN))),
        Value::String(s) => Some(format!("s:{s}")),
        other => Some(other.to_string()),
    }
}

fn number_key(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        format!("n:{}", f as i64)
    } else {
        format!("n:{f}")
    }
}

fn load_unique(conn: &Connection, layer_id: i64, field: String) -> Result<UniqueSet, StoreError> {
    let path = format!("$.\"{}\"", field.replace('"', ""));
    let mut stmt = conn.prepare(
        "SELECT global_id, json_extract(attributes, ?2) FROM features WHERE layer_id = ?1 AND deleted = 0",
    )?;
    let mut values = HashMap::new();
    let mut rows = stmt.query(params![layer_id, path])?;
    while let Some(row) = rows.next()? {
        let global_id: String = row.get(0)?;
        let key = match row.get_ref(1)? {
            ValueRef::Null | ValueRef::Blob(_) => None,
            ValueRef::Integer(i) => Some(format!("n:{i}")),
            ValueRef::Real(f) => Some(number_key(f)),
            ValueRef::Text(t) => Some(format!("s:{}", String::from_utf8_lossy(t))),
        };
        if let Some(key) = key {
            values.insert(key, global_id);
        }
    }
    Ok(UniqueSet { field, values })
}
