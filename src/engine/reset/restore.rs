//! Restoring changes from a client reset's backup onto the replica as it is now (ARCHITECTURE.md,
//! "Restore from a backup"): each backed-up change chosen is judged by the recovery rules
//! ([`super::recovery::decide`]) against the replica's server copy and queue, with the same-field
//! rule the replica's conflict policy gives, and what survives is queued as new local changes in
//! one transaction of the replica file ([`ReplicaFile::record_edits`]), so a restore is all or
//! nothing. A change whose values the replica already holds is "already restored" and queues
//! nothing, so restoring a partly restored backup again queues exactly what one full restore
//! would. Queued attachment changes follow their feature's rules (an add is kept while its
//! feature exists or is restored too; their data is the export's). The backup is never written:
//! only its export (already read) is used. Blocking (the replica file).

use super::backup::ChangesExport;
use super::recovery::{
    Decision, Holding, Rules, SameField, Step, UnsyncedChange, UnsyncedKind, check_schema, decide,
    id_fields,
};
use super::replay::unsynced_changes;
use crate::engine::api::{BackupChange, ConflictPolicy, RestoreOutcome};
use crate::geodatabase::replica_file::{
    ChangeKind, QueuedAttachment, QueuedEdit, ReplicaFile, ReplicaFileError,
};
use crate::protocol::{Attachment, AttachmentsSyncDirection, Feature, Guid, LayerInfo};
use base64::Engine as _;
use std::collections::HashSet;

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
    /// The backup's queued attachment changes, judged like the features'.
    pub attachments: Vec<BackupChange>,
}

/// Plans the restore of `export`'s changes (only those of `only`, when given) onto `file`,
/// whose conflict policy is `policy`. Reads only.
pub fn plan(
    file: &ReplicaFile,
    export: &ChangesExport,
    policy: ConflictPolicy,
    only: Option<&[Guid]>,
) -> Result<RestorePlan, RestoreError> {
    let queued_attachments = attachments_of(export);
    if let Some(only) = only {
        let missing: Vec<Guid> = only
            .iter()
            .filter(|g| {
                !export.changes.iter().any(|c| &c.global_id == *g)
                    && !queued_attachments.iter().any(|a| &a.global_id == *g)
            })
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
    plan_attachments(file, &queued_attachments, only, &layers, &mut plan)?;
    Ok(plan)
}

/// One queued attachment change of the backup, from its export's `edits`.
struct BackedUpAttachment<'a> {
    kind: ChangeKind,
    layer_id: i64,
    global_id: Guid,
    /// Adds and updates name their feature; a delete carries only its GlobalID.
    wire: Option<&'a Attachment>,
}

fn attachments_of(export: &ChangesExport) -> Vec<BackedUpAttachment<'_>> {
    let mut out = Vec::new();
    for layer in &export.edits {
        let changes = &layer.attachments;
        let adds = changes.adds.iter().map(|a| (ChangeKind::Add, a));
        let updates = changes.updates.iter().map(|a| (ChangeKind::Update, a));
        out.extend(adds.chain(updates).filter_map(|(kind, wire)| {
            Guid::parse(&wire.global_id)
                .ok()
                .map(|global_id| BackedUpAttachment {
                    kind,
                    layer_id: layer.id,
                    global_id,
                    wire: Some(wire),
                })
        }));
        out.extend(changes.delete_ids.iter().filter_map(|text| {
            Guid::parse(text).ok().map(|global_id| BackedUpAttachment {
                kind: ChangeKind::Delete,
                layer_id: layer.id,
                global_id,
                wire: None,
            })
        }));
    }
    out
}

/// The backup's attachment changes against `file`: an add is kept while its feature exists (or
/// is restored in the same plan), an update of an attachment the server deleted is discarded,
/// a delete of what is gone is done; what the replica already holds is "already restored".
fn plan_attachments(
    file: &ReplicaFile,
    backed_up: &[BackedUpAttachment<'_>],
    only: Option<&[Guid]>,
    layers: &[crate::geodatabase::replica_file::ReplicaLayer],
    plan: &mut RestorePlan,
) -> Result<(), ReplicaFileError> {
    let syncs = file.attachments_sync_direction()? != AttachmentsSyncDirection::None;
    let added: HashSet<Guid> = plan
        .edits
        .iter()
        .filter_map(|e| match e {
            QueuedEdit::Add { feature, .. } => feature.global_id(),
            _ => None,
        })
        .collect();
    for item in backed_up {
        let parent = item
            .wire
            .and_then(|w| Guid::parse(&w.parent_global_id).ok());
        if let Some(ids) = only
            && !ids.contains(&item.global_id)
            && !parent.as_ref().is_some_and(|p| ids.contains(p))
        {
            continue;
        }
        let data = match item.wire.and_then(|w| w.data.as_deref()) {
            Some(text) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(Some)
                .map_err(|e| e.to_string()),
            None => Ok(None),
        };
        let here = file.attachment(&item.global_id)?;
        let place = file.attachment_place(&item.global_id)?;
        let deleted_here = here
            .as_ref()
            .is_some_and(|a| a.pending == Some(ChangeKind::Delete));
        let (outcome, note, step) = match (item.kind, data) {
            _ if !syncs => (
                RestoreOutcome::Discarded,
                "this replica does not sync attachments; kept in the backup".to_string(),
                None,
            ),
            (_, Err(why)) => (
                RestoreOutcome::Discarded,
                format!("its data in the backup cannot be read ({why}); kept in the backup"),
                None,
            ),
            (ChangeKind::Add, Ok(_)) if place.is_some() => (
                RestoreOutcome::AlreadyRestored,
                "attachment already there".to_string(),
                None,
            ),
            (ChangeKind::Add, Ok(data)) => {
                let parent_kept = match &parent {
                    Some(p) => added.contains(p) || file.local_feature(item.layer_id, p)?.is_some(),
                    None => false,
                };
                match (parent_kept, &parent) {
                    (true, Some(p)) => (
                        RestoreOutcome::Restored,
                        "attachment add kept".to_string(),
                        Some(queued(item, p.clone(), data)),
                    ),
                    _ => (
                        RestoreOutcome::Discarded,
                        "its feature is gone; kept in the backup".to_string(),
                        None,
                    ),
                }
            }
            (ChangeKind::Update, _) if place.is_none() || deleted_here => (
                RestoreOutcome::Discarded,
                "the attachment is deleted; its update is kept in the backup".to_string(),
                None,
            ),
            (ChangeKind::Update, Ok(data)) => {
                let same_data = data.is_none() || file.attachment_data(&item.global_id)? == data;
                let same_meta = match (item.wire, &here) {
                    (Some(w), Some(a)) => w.name == a.name && w.content_type == a.content_type,
                    _ => false,
                };
                match place {
                    _ if same_data && same_meta => (
                        RestoreOutcome::AlreadyRestored,
                        "attachment already holds these values".to_string(),
                        None,
                    ),
                    Some((_, p)) => (
                        RestoreOutcome::Restored,
                        "attachment update kept".to_string(),
                        Some(queued(item, p, data)),
                    ),
                    None => continue,
                }
            }
            (ChangeKind::Delete, _) => match place {
                Some((_, p)) if !deleted_here => (
                    RestoreOutcome::Restored,
                    "attachment delete kept".to_string(),
                    Some(queued(item, p, None)),
                ),
                _ => (
                    RestoreOutcome::AlreadyRestored,
                    "attachment already deleted".to_string(),
                    None,
                ),
            },
        };
        if let Some(attachment) = step {
            plan.edits.push(QueuedEdit::Attachment {
                kind: item.kind,
                attachment,
            });
        }
        let mut fields = Vec::new();
        if let Some(wire) = item.wire {
            fields.push(("name".to_string(), serde_json::json!(wire.name)));
            fields.push((
                "contentType".to_string(),
                serde_json::json!(wire.content_type),
            ));
        }
        plan.attachments.push(BackupChange {
            layer_id: item.layer_id,
            layer_name: layers
                .iter()
                .find(|l| l.layer_id == item.layer_id)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| format!("layer {}", item.layer_id)),
            global_id: item.global_id.clone(),
            change_type: item.kind.change_type(),
            fields,
            geometry_changed: false,
            outcome,
            note,
        });
    }
    Ok(())
}

fn queued(item: &BackedUpAttachment<'_>, parent: Guid, data: Option<Vec<u8>>) -> QueuedAttachment {
    QueuedAttachment {
        layer_id: item.layer_id,
        global_id: item.global_id.clone(),
        parent_global_id: parent,
        name: item.wire.map(|w| w.name.clone()),
        content_type: item.wire.map(|w| w.content_type.clone()),
        data,
    }
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
    let queued = file.change(change.layer_id, &change.global_id)?;
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
        queued: queued.as_ref().map(|c| c.kind),
        newer_fields: queued
            .as_ref()
            .filter(|c| c.kind != ChangeKind::Delete)
            .map(|c| &c.attributes),
        newer_geometry: queued.as_ref().is_some_and(|c| c.geometry.is_some()),
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
