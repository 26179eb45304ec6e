//! Applies the uploaded edits of one synchronizeReplica inside the caller's transaction: adds,
//! updates and deletes by GlobalID, idempotent resends, uniqueness (1022), existence (1011),
//! unknown layers (2001), the per-edit checks of `checks`, the true-curve check of `curves` (1005),
//! and (through `attachments`) each layer's attachment edits after its feature edits. Owns the
//! prepared statements, the batched uniqueness and existence lookups and the checking thread of a
//! large upload that keep 100,000 edits fast. It must not commit or roll back: the caller decides
//! from the outcome (rollbackOnFailure) what happens to the transaction.

use super::attachments;
use super::checks::{self, Caller, EditContext, EditKind, Rejection, UniqueValues};
use super::curves::{self, CurveUpdate};
use super::definition::{LayerDef, ServiceDefinition};
use super::store::{self, StoreError};
use crate::protocol::{
    EditResult, Feature, FeatureServiceInfo, Guid, LayerEdits, LayerInfo, LayerSyncResult,
    ObjectType,
};
use rusqlite::{Connection, params, types::ValueRef};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::mpsc;

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
    // The checks read the service as its clients see it: the root and layer resources.
    let service = options.def.service_info();
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
                let layer_info = options.def.layer_info(layer);
                let mut applier = LayerApplier::new(conn, layer, &layer_info, &service, options)?;
                let mut outcome = applier.apply(layer_edits, &mut result)?;
                applier.free_lookups();
                if outcome.rolled_back.is_none() && !layer_edits.attachments.is_empty() {
                    let attached = attachments::apply(
                        conn,
                        layer,
                        EditContext {
                            def: &service,
                            layer: &layer_info,
                            caller: options.caller,
                        },
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

struct LayerApplier<'a> {
    conn: &'a Connection,
    layer: &'a LayerDef,
    service: &'a FeatureServiceInfo,
    /// The layer resource the checks work on.
    layer_info: &'a LayerInfo,
    options: &'a ApplyOptions<'a>,
    next_object_id: i64,
    unique: Vec<UniqueValues>,
    /// Object ids of the uploaded adds' GlobalIDs that already exist (looked up in batches), and
    /// of those added so far in this upload.
    existing_adds: HashMap<Guid, i64>,
    insert: rusqlite::CachedStatement<'a>,
}

impl<'a> LayerApplier<'a> {
    fn new(
        conn: &'a Connection,
        layer: &'a LayerDef,
        layer_info: &'a LayerInfo,
        service: &'a FeatureServiceInfo,
        options: &'a ApplyOptions<'a>,
    ) -> Result<Self, StoreError> {
        // Object ids are unique across the service: they are the table's rowid.
        let max: i64 = conn.query_row(
            "SELECT COALESCE(MAX(object_id), 0) FROM features",
            [],
            |r| r.get(0),
        )?;
        let unique = layer_info
            .unique_fields()
            .into_iter()
            .map(|field| load_unique(conn, layer.id, field))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LayerApplier {
            conn,
            layer,
            service,
            layer_info,
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
            def: self.service,
            layer: self.layer_info,
            caller: self.options.caller,
        }
    }

    fn apply(
        &mut self,
        edits: &LayerEdits,
        result: &mut LayerSyncResult,
    ) -> Result<LayerOutcome, StoreError> {
        let mut outcome = LayerOutcome::default();
        if self.apply_adds(&edits.features.adds, result, &mut outcome)? {
            return Ok(outcome);
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

    /// Applies the adds in order; true when the apply must stop (rollback). The pure per-edit
    /// rules of a large upload run on a second thread, a batch ahead of the store work on this
    /// one, so checking and inserting overlap. Existence, uniqueness and the inserts stay in
    /// upload order here, so the outcome is the same as checking each add just before storing
    /// it. Spent batches go back to the checking thread to be freed where they were allocated.
    fn apply_adds(
        &mut self,
        adds: &[Feature],
        result: &mut LayerSyncResult,
        outcome: &mut LayerOutcome,
    ) -> Result<bool, StoreError> {
        let ctx = self.ctx();
        if adds.len() < PIPELINE_MIN_ADDS {
            self.find_existing(adds)?;
            return self.store_adds(adds, &check_adds(ctx, adds), result, outcome);
        }
        std::thread::scope(|scope| {
            let (checked_tx, checked_rx) = mpsc::sync_channel(PIPELINE_BATCHES_AHEAD);
            let (spent_tx, spent_rx) = mpsc::channel();
            scope.spawn(move || check_ahead(ctx, adds, &checked_tx, spent_rx));
            // The checking thread makes a start meanwhile.
            self.find_existing(adds)?;
            for chunk in adds.chunks(PIPELINE_BATCH) {
                // Should the checking thread be gone, check here instead.
                let checked = checked_rx.recv().unwrap_or_else(|_| check_adds(ctx, chunk));
                let stop = self.store_adds(chunk, &checked, result, outcome);
                // Should the checking thread be gone, the batch is freed here.
                let _ = spent_tx.send(checked);
                if stop? {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }

    /// Hands the lookup tables (one entry per add of a large upload) to a background thread to
    /// be freed.
    fn free_lookups(&mut self) {
        super::free_in_background((
            std::mem::take(&mut self.unique),
            std::mem::take(&mut self.existing_adds),
        ));
    }

    /// Looks up which of the adds' GlobalIDs the layer already has.
    fn find_existing(&mut self, adds: &[Feature]) -> Result<(), StoreError> {
        self.existing_adds =
            existing_global_ids(self.conn, self.layer.id, adds, self.next_object_id - 1)?;
        for set in &mut self.unique {
            set.reserve(adds.len());
        }
        Ok(())
    }

    /// Stores checked adds in order; true when the apply must stop (rollback).
    fn store_adds(
        &mut self,
        adds: &[Feature],
        checked: &[CheckedAdd],
        result: &mut LayerSyncResult,
        outcome: &mut LayerOutcome,
    ) -> Result<bool, StoreError> {
        for (feature, checked) in adds.iter().zip(checked) {
            let r = self.add(feature, checked)?;
            if self.record(r, &mut result.add_results, outcome, true) {
                return Ok(true);
            }
        }
        Ok(false)
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

    fn add(&mut self, feature: &Feature, checked: &CheckedAdd) -> Result<EditAttempt, StoreError> {
        let (global_id, prepared) = match checked {
            CheckedAdd::NoGlobalId(rejection) => return Ok(Err((None, None, rejection.clone()))),
            CheckedAdd::Checked { global_id, row } => (global_id.clone(), row),
        };
        if let Some(object_id) = self.existing_adds.get(&global_id).copied() {
            return self.resent_add(feature, global_id, object_id);
        }
        let (row, attributes, geometry) = match prepared {
            Ok(prepared) => prepared,
            Err(rejection) => return Ok(Err((None, Some(global_id), rejection.clone()))),
        };
        let attributes = attributes.as_deref().map_err(json_error)?;
        let geometry = geometry.as_ref().map_err(json_error)?.as_deref();
        if let Some(rejection) = checks::unique_violation(&self.unique, row) {
            return Ok(Err((None, Some(global_id), rejection)));
        }
        let object_id = self.next_object_id;
        self.next_object_id += 1;
        self.insert.execute(params![
            self.layer.id,
            object_id,
            row.global_id.as_str(),
            attributes,
            geometry,
            row.owner,
            self.options.generation
        ])?;
        for set in &mut self.unique {
            set.remember(row, None);
        }
        self.existing_adds.insert(global_id.clone(), object_id);
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
        if let Some(rejection) = checks::unique_violation(&self.unique, &row) {
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
        for set in &mut self.unique {
            set.remember(&row, Some(&existing.attributes));
        }
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
            set.forget(&existing.attributes);
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
}

/// Adds of at least this many features are checked on a second thread (below, a thread costs
/// more than it saves).
const PIPELINE_MIN_ADDS: usize = 1024;
/// Adds per batch handed from the checking thread to the store side (one wake-up per batch).
const PIPELINE_BATCH: usize = 512;
/// Checked batches waiting for the store side, at most.
const PIPELINE_BATCHES_AHEAD: usize = 16;

/// The checking side of [`LayerApplier::apply_adds`]: checks `adds` batch by batch, in the same
/// chunks the store side takes them, and frees the batches the store side sends back.
fn check_ahead(
    ctx: EditContext<'_>,
    adds: &[Feature],
    checked_tx: &mpsc::SyncSender<Vec<CheckedAdd>>,
    spent_rx: mpsc::Receiver<Vec<CheckedAdd>>,
) {
    for chunk in adds.chunks(PIPELINE_BATCH) {
        let batch = check_adds(ctx, chunk);
        while let Ok(spent) = spent_rx.try_recv() {
            drop(spent);
        }
        // A closed channel means the store side stopped (rollback or error).
        if checked_tx.send(batch).is_err() {
            break;
        }
    }
    // The store side hangs up when it is done.
    for spent in spent_rx {
        drop(spent);
    }
}

fn check_adds(ctx: EditContext<'_>, adds: &[Feature]) -> Vec<CheckedAdd> {
    adds.iter().map(|f| CheckedAdd::new(ctx, f)).collect()
}

fn json_error(e: &serde_json::Error) -> StoreError {
    StoreError::Json(serde_json::Error::io(std::io::Error::other(e.to_string())))
}

/// What the pure rules say about one add: why its GlobalID is refused, or the GlobalID with the
/// row to store (and its attribute and geometry JSON) or why the row is refused. Depends only on
/// the edit and the layer, not on the store, so it can be worked out ahead of the store work.
enum CheckedAdd {
    NoGlobalId(Rejection),
    Checked {
        global_id: Guid,
        row: Result<PreparedAdd, Rejection>,
    },
}

/// A checked row with its attribute JSON and geometry JSON (if any).
type PreparedAdd = (
    checks::PreparedRow,
    Result<String, serde_json::Error>,
    Result<Option<String>, serde_json::Error>,
);

impl CheckedAdd {
    fn new(ctx: EditContext<'_>, feature: &Feature) -> Self {
        let global_id = match checks::global_id_of(feature) {
            Ok(g) => g,
            Err(rejection) => return CheckedAdd::NoGlobalId(rejection),
        };
        let row = checks::prepare_add(ctx, feature).map(|row| {
            let attributes = serde_json::to_string(&row.attributes);
            let geometry = row.geometry.as_ref().map(serde_json::to_string).transpose();
            (row, attributes, geometry)
        });
        CheckedAdd::Checked { global_id, row }
    }
}

/// GlobalIDs per existence query.
const LOOKUP_CHUNK: usize = 500;

/// Reading the whole layer's GlobalID index beats looking up each add once the adds are at least
/// this fraction (1 / SCAN_RATIO) of the rows the service could hold.
const SCAN_RATIO: usize = 8;

/// The object ids of those `adds` whose GlobalID the layer already has (live or deleted).
/// `max_object_id` (the highest object id in the service) bounds the layer's row count: a large
/// upload reads the layer's `(layer_id, global_id)` index once instead of querying every GlobalID.
fn existing_global_ids(
    conn: &Connection,
    layer_id: i64,
    adds: &[Feature],
    max_object_id: i64,
) -> Result<HashMap<Guid, i64>, StoreError> {
    let mut wanted = HashSet::with_capacity(adds.len());
    wanted.extend(adds.iter().filter_map(Feature::global_id));
    let mut found = HashMap::with_capacity(adds.len());
    if wanted.is_empty() {
        return Ok(found);
    }
    let rows_bound = usize::try_from(max_object_id).unwrap_or(usize::MAX);
    if wanted.len().saturating_mul(SCAN_RATIO) >= rows_bound {
        let mut stmt =
            conn.prepare_cached("SELECT global_id, object_id FROM features WHERE layer_id = ?1")?;
        let mut rows = stmt.query([layer_id])?;
        while let Some(row) = rows.next()? {
            let Some(global_id) = stored_global_id(row)? else {
                continue;
            };
            if wanted.contains(&global_id) {
                found.insert(global_id, row.get::<_, i64>(1)?);
            }
        }
        return Ok(found);
    }
    let ids: Vec<&Guid> = wanted.iter().collect();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let placeholders = vec!["?"; chunk.len()].join(",");
        let sql = format!(
            "SELECT global_id, object_id FROM features WHERE layer_id = {layer_id} AND global_id IN ({placeholders})"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(chunk.iter().map(|g| g.as_str())))?;
        while let Some(row) = rows.next()? {
            if let Some(global_id) = stored_global_id(row)? {
                found.insert(global_id, row.get::<_, i64>(1)?);
            }
        }
    }
    Ok(found)
}

/// Column 0 of `row` as a GlobalID (`None` if the stored text is not one).
fn stored_global_id(row: &rusqlite::Row<'_>) -> Result<Option<Guid>, StoreError> {
    Ok(match row.get_ref(0)? {
        ValueRef::Text(text) => std::str::from_utf8(text)
            .ok()
            .and_then(|t| Guid::parse(t).ok()),
        _ => None,
    })
}

/// Ok((objectId, GlobalID)) or Err((objectId, GlobalID, why)).
type EditAttempt = Result<(i64, Guid), (Option<i64>, Option<Guid>, Rejection)>;

fn load_unique(
    conn: &Connection,
    layer_id: i64,
    field: String,
) -> Result<UniqueValues, StoreError> {
    let path = format!("$.\"{}\"", field.replace('"', ""));
    let mut stmt = conn.prepare(
        "SELECT global_id, json_extract(attributes, ?2) FROM features WHERE layer_id = ?1 AND deleted = 0",
    )?;
    let mut values = UniqueValues::new(field);
    let mut rows = stmt.query(params![layer_id, path])?;
    while let Some(row) = rows.next()? {
        let global_id: String = row.get(0)?;
        let value = match row.get_ref(1)? {
            ValueRef::Null | ValueRef::Blob(_) => continue,
            ValueRef::Integer(i) => Value::from(i),
            ValueRef::Real(f) => Value::from(f),
            ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        };
        values.insert(&value, global_id);
    }
    Ok(values)
}
