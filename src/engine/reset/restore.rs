//! Restoring changes from a client reset's backup onto the replica as it is now (ARCHITECTURE.md,
//! "Restore from a backup"): each backed-up change chosen is judged by the recovery rules
//! ([`super::recovery::decide`]) against the replica's server copy and queue, with the same-field
//! rule the replica's conflict policy gives, and what survives is queued as new local changes in
//! one transaction of the replica file ([`ReplicaFile::record_edits`]), so a restore is all or
//! nothing. A change whose values the replica already holds is "already restored" and queues
//! nothing, so restoring a partly restored backup again queues exactly what one full restore
//! would. The backup is never written: only its export (already read) is used. Blocking (the
//! replica file).

use super::backup::ChangesExport;
use super::recovery::{
    Decision, Holding, Rules, SameField, Step, UnsyncedChange, UnsyncedKind, check_schema, decide,
    id_fields,
};
use super::replay::unsynced_changes;
use crate::engine::api::{BackupChange, ConflictPolicy, RestoreOutcome};
use crate::geodatabase::replica_file::{QueuedEdit, ReplicaFile, ReplicaFileError};
use crate::protocol::{Feature, Guid, LayerInfo};

/// Why a restore could not run; nothing was queued.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("the backup holds no change of {}", list(.0))]
    NotInBackup(Vec<Guid>),
    #[error(transparent)]
    Replica(#[from] ReplicaFileError),
}

fn list(ids: &[Guid]) -> String {
    ids.iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What restoring the chosen changes would queue, and per change what happens and why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RestorePlan {
    pub edits: Vec<QueuedEdit>,
    pub changes: Vec<BackupChange>,
}

/// Plans the restore of `export`'s changes (only those of `only`, when given) onto `file`,
/// whose conflict policy is `policy`. Reads only.
pub fn plan(
    file: &ReplicaFile,
    export: &ChangesExport,
    policy: ConflictPolicy,
    only: Option<&[Guid]>,
) -> Result<RestorePlan, RestoreError> {
    if let Some(only) = only {
        let missing: Vec<Guid> = only
            .iter()
            .filter(|g| !export.changes.iter().any(|c| &c.global_id == *g))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(RestoreError::NotInBackup(missing));
        }
    }
    let layers = file.definition()?.layers;
    let mut plan = RestorePlan::default();
    let chosen: Vec<_> = export
        .changes
        .iter()
        .filter(|c| only.is_none_or(|ids| ids.contains(&c.global_id)))
        .cloned()
        .collect();
    for change in unsynced_changes(&chosen) {
        let layer_name = layers
            .iter()
            .find(|l| l.layer_id == change.layer_id)
            .map(|l| l.name.clone());
        let info = file.layer_info(change.layer_id)?;
        let shown = match &change.kind {
            UnsyncedKind::Add { feature } => feature.clone(),
            UnsyncedKind::Update {
                changed, geometry, ..
            } => Feature {
                attributes: changed.clone(),
                geometry: geometry.clone(),
            },
            UnsyncedKind::Delete => Feature::default(),
        };
        let mut line = line_of(&change, layer_name.as_deref(), &shown);
        let decided = judge(file, &change, layer_name.is_some(), info.as_ref(), policy)?;
        line.outcome = decided.outcome;
        line.note = decided.note;
        push(&mut plan, &change, decided.step);
        plan.changes.push(line);
    }
    Ok(plan)
}

/// Plans the restore and queues what it decided, in one transaction of `file`.
pub fn restore(
    file: &mut ReplicaFile,
    export: &ChangesExport,
    policy: ConflictPolicy,
    only: Option<&[Guid]>,
) -> Result<RestorePlan, RestoreError> {
    let plan = plan(file, export, policy, only)?;
    if !plan.edits.is_empty() {
        file.record_edits(&plan.edits)?;
    }
    Ok(plan)
}

/// The rules for one change against what `file` holds now.
fn judge(
    file: &ReplicaFile,
    change: &UnsyncedChange,
    layer_in_replica: bool,
    info: Option<&LayerInfo>,
    policy: ConflictPolicy,
) -> Result<Decision, ReplicaFileError> {
    let gone = |note: String| Decision {
        step: Step::Nothing,
        outcome: RestoreOutcome::Discarded,
        note,
    };
    if !layer_in_replica {
        return Ok(gone(format!(
            "layer {} is not in this replica; kept in the backup",
            change.layer_id
        )));
    }
    if let Some(info) = info
        && let Err(e) = check_schema(change, std::slice::from_ref(info))
    {
        return Ok(gone(format!("{e}; kept in the backup")));
    }
    let server = file.server_feature(change.layer_id, &change.global_id)?;
    let local = file.local_feature(change.layer_id, &change.global_id)?;
    let queued = file
        .change(change.layer_id, &change.global_id)?
        .map(|c| c.kind);
    let (global_id_field, object_id_field) = id_fields(info);
    let rules = Rules {
        same_field: SameField::of(policy),
        source: "restore rule",
        global_id_field,
        object_id_field,
    };
    let holding = Holding {
        server: server.as_ref(),
        local: local.as_ref(),
        queued,
    };
    Ok(decide(change, holding, rules))
}

fn push(plan: &mut RestorePlan, change: &UnsyncedChange, step: Step) {
    let (layer_id, global_id) = (change.layer_id, change.global_id.clone());
    match step {
        Step::Add(feature) => plan.edits.push(QueuedEdit::Add { layer_id, feature }),
        Step::Update {
            changed,
            geometry,
            started_from,
        } => plan.edits.push(QueuedEdit::Update {
            layer_id,
            global_id,
            attributes: changed,
            geometry,
            started_from,
        }),
        Step::Delete => plan.edits.push(QueuedEdit::Delete {
            layer_id,
            global_id,
        }),
        Step::Nothing => {}
    }
}

fn line_of(change: &UnsyncedChange, layer_name: Option<&str>, shown: &Feature) -> BackupChange {
    BackupChange {
        layer_id: change.layer_id,
        layer_name: layer_name
            .map(str::to_string)
            .unwrap_or_else(|| format!("layer {}", change.layer_id)),
        global_id: change.global_id.clone(),
        change_type: change.change_type(),
        fields: shown
            .attributes
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("globalid"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        geometry_changed: shown.geometry.is_some(),
        outcome: RestoreOutcome::Restored,
        note: String::new(),
    }
}

/// The report's entry for a previewed change.
pub fn outcome_of(change: &BackupChange) -> crate::engine::api::ObjectOutcome {
    crate::engine::api::ObjectOutcome {
        layer_id: change.layer_id,
        global_id: change.global_id.clone(),
        change_type: change.change_type,
        note: change.note.clone(),
    }
}
