//! Predicted refusals (ARCHITECTURE.md, "Predicted refusals"): the client's validator. Predicts,
//! for every queued local change of a replica, the edit-result code the service would answer,
//! from the service and layer properties cached in the replica file (known offline) and the rules
//! of `protocol::rules` — the same functions the reference service runs, so a prediction carries
//! the server's code and description text. It also turns a replica's [`PredictedPolicy`] into the
//! plan an upload follows. When predictions are judged again after local edits is [`refresh`]'s.
//!
//! Blocking (it reads the replica file): call it from `spawn_blocking`. It must not talk to the
//! network, and the only thing it writes is the stored predictions.
//!
//! What is decidable locally: everything the rules judge from the edit, the layer and the stored
//! row (1001, 1002, 1004, 1005 for curves in the edit, 1006, 1014, 1015, 1016, 1020, 1021, 1023),
//! ownership (1007, 1013) once the replica's editor is known, and uniqueness (1022) against the
//! features this replica holds and the upload itself. Not judged: an update or delete of a
//! feature the file has no server version of (the server would say 1011, or may know it), and
//! 1005 for replacing a curve stored on the server (createReplica hands clients densified
//! geometry, so the client cannot see it). The editor is taken as not an administrator, who
//! would be exempt from ownership rules; the server's answer wins then.

pub(crate) mod judge_fix;
pub(crate) mod refresh;

use super::api::PredictedPolicy;
use crate::geodatabase::replica_file::{
    ChangeKey, ChangeKind, LocalChange, Refusal, ReplicaFile, ReplicaFileError, Trim, UploadPlan,
    wire_feature,
};
use crate::protocol::rules::{self, Caller, EditContext, EditKind, Rejection, UniqueValues};
use crate::protocol::{Feature, FeatureServiceInfo, LayerInfo};

/// Predicts every queued change's refusal and stores the predictions in the file (replacing the
/// old ones). Returns them.
pub(crate) fn predict_and_store(file: &mut ReplicaFile) -> Result<Vec<Refusal>, ReplicaFileError> {
    let predictions = predict(file)?;
    file.store_predictions(&predictions)?;
    Ok(predictions)
}

/// The refusals the cached rules predict for the queued changes, in upload order per layer.
pub(crate) fn predict(file: &ReplicaFile) -> Result<Vec<Refusal>, ReplicaFileError> {
    let Some(service) = file.service_info()? else {
        return Ok(Vec::new());
    };
    let editor = file.editor()?;
    let changes = file.changes()?;
    let mut predictions = Vec::new();
    for (layer_id, layer_changes) in by_layer(&changes) {
        let Some(layer) = judged_layer(file, layer_id, editor.is_some())? else {
            continue;
        };
        let caller = Caller {
            name: editor.clone().unwrap_or_default(),
            is_admin: false,
        };
        let ctx = context(&service, &layer, &caller);
        predict_layer(file, ctx, &layer_changes, &mut predictions)?;
    }
    Ok(predictions)
}

/// The plan an upload follows under `policy`, for the changes queued now.
pub(crate) fn plan(
    file: &ReplicaFile,
    policy: PredictedPolicy,
    predictions: &[Refusal],
) -> Result<UploadPlan, ReplicaFileError> {
    match policy {
        PredictedPolicy::Send => Ok(UploadPlan::default()),
        PredictedPolicy::Hold => Ok(UploadPlan {
            held: predictions.iter().map(|p| p.change.clone()).collect(),
            trimmed: Vec::new(),
        }),
        PredictedPolicy::EditableOnly => Ok(UploadPlan {
            held: Vec::new(),
            trimmed: read_only_trims(file)?,
        }),
    }
}

/// The layer's cached properties, as far as they can be judged: without a known editor the
/// ownership rules are left out (not decidable). `None` when nothing is cached for the layer.
fn judged_layer(
    file: &ReplicaFile,
    layer_id: i64,
    editor_known: bool,
) -> Result<Option<LayerInfo>, ReplicaFileError> {
    let Some(mut layer) = file.layer_info(layer_id)? else {
        return Ok(None);
    };
    if !editor_known {
        layer.ownership_based_access_control_for_features = None;
    }
    Ok(Some(layer))
}

/// Changes grouped by layer, each group in the server's order: adds, then updates, then deletes.
fn by_layer(changes: &[LocalChange]) -> Vec<(i64, Vec<&LocalChange>)> {
    let mut groups: Vec<(i64, Vec<&LocalChange>)> = Vec::new();
    for change in changes {
        match groups.iter_mut().find(|(id, _)| *id == change.layer_id) {
            Some((_, group)) => group.push(change),
            None => groups.push((change.layer_id, vec![change])),
        }
    }
    for (_, group) in &mut groups {
        group.sort_by_key(|c| match c.kind {
            ChangeKind::Add => 0,
            ChangeKind::Update => 1,
            ChangeKind::Delete => 2,
        });
    }
    groups
}

/// Judges one layer's changes in upload order, as the server applies them: each accepted change
/// takes (and frees) unique values for the ones after it.
fn predict_layer(
    file: &ReplicaFile,
    ctx: EditContext<'_>,
    changes: &[&LocalChange],
    out: &mut Vec<Refusal>,
) -> Result<(), ReplicaFileError> {
    let layer_id = ctx.layer.id.unwrap_or_default();
    let gid_field = file.layer_global_id_field(layer_id)?;
    let mut unique = unique_values(file, ctx.layer, layer_id)?;
    for change in changes {
        let verdict = match (change.kind, wire_feature(change, &gid_field)) {
            (ChangeKind::Add, Some(feature)) => judge_add(ctx, &feature, &mut unique),
            (ChangeKind::Update, Some(feature)) => {
                match file.server_feature(layer_id, &change.global_id)? {
                    Some(stored) => judge_update(ctx, &feature, &stored, &mut unique),
                    None => Ok(()),
                }
            }
            _ => match file.server_feature(layer_id, &change.global_id)? {
                Some(stored) => judge_delete(ctx, &stored, &mut unique),
                None => Ok(()),
            },
        };
        if let Err(rejection) = verdict {
            out.push(Refusal {
                change: ChangeKey::of(change),
                kind: change.kind,
                code: Some(rejection.code),
                description: rejection.description(),
            });
        }
    }
    Ok(())
}

/// The unique fields' values in the server's version of every feature this replica holds.
fn unique_values(
    file: &ReplicaFile,
    layer: &LayerInfo,
    layer_id: i64,
) -> Result<Vec<UniqueValues>, ReplicaFileError> {
    layer
        .unique_fields()
        .into_iter()
        .map(|field| {
            let mut set = UniqueValues::new(field.clone());
            for (global_id, value) in file.server_values(layer_id, &field)? {
                set.insert(&value, global_id);
            }
            Ok(set)
        })
        .collect()
}

fn judge_add(
    ctx: EditContext<'_>,
    feature: &Feature,
    unique: &mut [UniqueValues],
) -> Result<(), Rejection> {
    let row = rules::prepare_add(ctx, feature)?;
    if let Some(rejection) = rules::unique_violation(unique, &row) {
        return Err(rejection);
    }
    for set in unique.iter_mut() {
        set.remember(&row, None);
    }
    Ok(())
}

fn judge_update(
    ctx: EditContext<'_>,
    feature: &Feature,
    stored: &Feature,
    unique: &mut [UniqueValues],
) -> Result<(), Rejection> {
    let global_id = rules::global_id_of(feature)?;
    let owner = owner_of(ctx.layer, stored);
    let row = rules::prepare_update(
        ctx,
        feature,
        global_id,
        &stored.attributes,
        stored.geometry.as_ref(),
        &owner,
    )?;
    if let Some(rejection) = rules::unique_violation(unique, &row) {
        return Err(rejection);
    }
    for set in unique.iter_mut() {
        set.remember(&row, Some(&stored.attributes));
    }
    Ok(())
}

fn judge_delete(
    ctx: EditContext<'_>,
    stored: &Feature,
    unique: &mut [UniqueValues],
) -> Result<(), Rejection> {
    rules::check_owner(ctx, &owner_of(ctx.layer, stored), EditKind::Delete)?;
    for set in unique.iter_mut() {
        set.forget(&stored.attributes);
    }
    Ok(())
}

/// The owner of a stored feature: its owner field's value (empty, i.e. anonymous, when none).
fn owner_of(layer: &LayerInfo, stored: &Feature) -> String {
    layer
        .owner_field()
        .and_then(|field| stored.attr_ci(field))
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// For every queued add and update, the read-only content it carries (values of fields that are
/// not editable; an update's geometry change where geometry updates are off).
fn read_only_trims(file: &ReplicaFile) -> Result<Vec<Trim>, ReplicaFileError> {
    let Some(service) = file.service_info()? else {
        return Ok(Vec::new());
    };
    let caller = Caller::default();
    let mut trims = Vec::new();
    for change in file.changes()? {
        let Some(layer) = file.layer_info(change.layer_id)? else {
            continue;
        };
        let gid_field = file.layer_global_id_field(change.layer_id)?;
        let Some(feature) = wire_feature(&change, &gid_field) else {
            continue;
        };
        let stored = match change.kind {
            ChangeKind::Update => match file.server_feature(change.layer_id, &change.global_id)? {
                Some(stored) => Some(stored),
                // Not judged: what changed is not known without the stored row.
                None => continue,
            },
            _ => None,
        };
        let read_only = rules::read_only_content(
            context(&service, &layer, &caller),
            &feature,
            stored
                .as_ref()
                .map(|s| (&s.attributes, s.geometry.as_ref())),
        );
        if !read_only.is_empty() {
            trims.push(Trim {
                change: ChangeKey::of(&change),
                fields: read_only.fields,
                geometry: read_only.geometry,
            });
        }
    }
    Ok(trims)
}

fn context<'a>(
    service: &'a FeatureServiceInfo,
    layer: &'a LayerInfo,
    caller: &'a Caller,
) -> EditContext<'a> {
    EditContext {
        def: service,
        layer,
        caller,
    }
}
