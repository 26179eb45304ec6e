//! The feature applier of one layer: its adds (resends of an add applied before become
//! updates), updates and deletes by GlobalID, each checked by the per-edit rules of
//! `protocol::rules`, the true-curve check of `curves`, existence (1011) and uniqueness (1022),
//! then written through `db` inside the caller's transaction. Keeps the layer's uniqueness
//! tables and the existing GlobalIDs of the upload's adds, so 100,000 edits stay fast.

use super::prechecks::{
    CheckedAdd, PIPELINE_BATCH, PIPELINE_BATCHES_AHEAD, PIPELINE_MIN_ADDS, check_adds, check_ahead,
};
use super::{ApplyOptions, FailedEdit, LayerOutcome};
use crate::protocol::rules::{self, EditContext, EditKind, Rejection, UniqueValues};
use crate::protocol::{
    EditResult, Feature, FeatureServiceInfo, Guid, LayerEdits, LayerInfo, LayerSyncResult,
};
use crate::server::background_free::free_in_background;
use crate::server::curves::{self, CurveUpdate};
use crate::server::db::{self, FeatureInsert, ServiceDbError};
use crate::server::definition::LayerDef;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::mpsc;

/// Ok((objectId, GlobalID)) or Err((objectId, GlobalID, why)).
type EditAttempt = Result<(i64, Guid), (Option<i64>, Option<Guid>, Rejection)>;

pub(super) struct LayerApplier<'a> {
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
    insert: FeatureInsert<'a>,
}

impl<'a> LayerApplier<'a> {
    pub(super) fn new(
        conn: &'a Connection,
        layer: &'a LayerDef,
        layer_info: &'a LayerInfo,
        service: &'a FeatureServiceInfo,
        options: &'a ApplyOptions<'a>,
    ) -> Result<Self, ServiceDbError> {
        let max = db::max_object_id(conn)?;
        let unique = layer_info
            .unique_fields()
            .into_iter()
            .map(|field| db::unique_values(conn, layer.id, field))
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
            insert: FeatureInsert::prepare(conn)?,
        })
    }

    fn ctx(&self) -> EditContext<'a> {
        EditContext {
            def: self.service,
            layer: self.layer_info,
            caller: self.options.caller,
        }
    }

    pub(super) fn apply(
        &mut self,
        edits: &LayerEdits,
        result: &mut LayerSyncResult,
    ) -> Result<LayerOutcome, ServiceDbError> {
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
    ) -> Result<bool, ServiceDbError> {
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
    pub(super) fn free_lookups(&mut self) {
        free_in_background((
            std::mem::take(&mut self.unique),
            std::mem::take(&mut self.existing_adds),
        ));
    }

    /// Looks up which of the adds' GlobalIDs the layer already has.
    fn find_existing(&mut self, adds: &[Feature]) -> Result<(), ServiceDbError> {
        self.existing_adds =
            db::existing_global_ids(self.conn, self.layer.id, adds, self.next_object_id - 1)?;
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
    ) -> Result<bool, ServiceDbError> {
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

    fn add(
        &mut self,
        feature: &Feature,
        checked: &CheckedAdd,
    ) -> Result<EditAttempt, ServiceDbError> {
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
        if let Some(rejection) = rules::unique_violation(&self.unique, row) {
            return Ok(Err((None, Some(global_id), rejection)));
        }
        let object_id = self.next_object_id;
        self.next_object_id += 1;
        self.insert.insert(
            self.layer.id,
            object_id,
            row.global_id.as_str(),
            attributes,
            geometry,
            &row.owner,
            self.options.generation,
        )?;
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
    ) -> Result<EditAttempt, ServiceDbError> {
        match db::row_by_global_id(self.conn, self.layer.id, &global_id)? {
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

    fn update(&mut self, feature: &Feature) -> Result<EditAttempt, ServiceDbError> {
        let global_id = match rules::global_id_of(feature) {
            Ok(g) => g,
            Err(rejection) => return Ok(Err((None, None, rejection))),
        };
        let existing = match db::row_by_global_id(self.conn, self.layer.id, &global_id)? {
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
        let row = match rules::prepare_update(
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
        if let Some(rejection) = rules::unique_violation(&self.unique, &row) {
            return Ok(Err((oid, Some(global_id), rejection)));
        }
        db::update_feature(
            self.conn,
            self.layer.id,
            existing.object_id,
            &serde_json::to_string(&row.attributes)?,
            row.geometry.as_ref().map(Value::to_string).as_deref(),
            self.options.generation,
        )?;
        for set in &mut self.unique {
            set.remember(&row, Some(&existing.attributes));
        }
        Ok(Ok((existing.object_id, global_id)))
    }

    fn delete(&mut self, text: &str) -> Result<EditAttempt, ServiceDbError> {
        let global_id = match text.trim() {
            "" => return Ok(Err((None, None, Rejection::new(1021, "")))),
            t => match Guid::parse(t) {
                Ok(g) => g,
                Err(_) => return Ok(Err((None, None, Rejection::new(1016, "GlobalID")))),
            },
        };
        let existing = match db::row_by_global_id(self.conn, self.layer.id, &global_id)? {
            Some(row) => row,
            None => return Ok(Err((None, Some(global_id), Rejection::new(1011, "")))),
        };
        if existing.deleted {
            // Deleting what is already gone is a no-op, so a resent delete succeeds.
            return Ok(Ok((existing.object_id, global_id)));
        }
        if let Err(rejection) = rules::check_owner(self.ctx(), &existing.owner, EditKind::Delete) {
            return Ok(Err((Some(existing.object_id), Some(global_id), rejection)));
        }
        db::delete_feature(
            self.conn,
            self.layer.id,
            existing.object_id,
            self.options.generation,
        )?;
        for set in &mut self.unique {
            set.forget(&existing.attributes);
        }
        if self.layer.has_attachments {
            // A deleted feature's attachments go with it (downloaded as attachment deletes).
            db::delete_attachments_of(
                self.conn,
                self.layer.id,
                global_id.as_str(),
                self.options.generation,
            )?;
        }
        Ok(Ok((existing.object_id, global_id)))
    }
}

fn json_error(e: &serde_json::Error) -> ServiceDbError {
    ServiceDbError::Json(serde_json::Error::io(std::io::Error::other(e.to_string())))
}
