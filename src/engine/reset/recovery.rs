//! Recovery rules of a client reset (ARCHITECTURE.md, "Client reset"), applied to feature-service
//! replicas, and the same rules for a restore from a reset's backup ("Restore from a backup"):
//! given one unsynced local change and what the target replica holds of that object now
//! ([`Holding`]), decide what to queue and what is lost ([`decide`]). A recovery is the case of a
//! fresh replica with nothing queued and the same-field rule "the local value wins"
//! ([`plan_recovery`]); a restore runs the same decision against the current replica's server
//! copy and queue, with the replica's conflict policy for the same field. Pure; the jobs do the I/O.
//!
//! * A local create is kept (sent as an add; when the GlobalID already exists, or is already
//!   queued, its values are written as an update, or nothing when they are already there).
//! * If the server deleted an object the client modified, the delete wins: the update is discarded.
//! * A local delete is applied; if the object is already gone it is a no-op.
//! * A field changed on both sides gets the local value ([`SameField::LocalWins`]): only the
//!   fields the client changed are sent, so the server's other changes stay. A restore follows
//!   the replica's conflict policy instead where it says otherwise ([`SameField::of`]).
//! * A change that uses a layer or field the fresh schema no longer has, or a value whose type no
//!   longer fits the field, is a breaking schema change: recovery fails and the reset falls back.

use crate::engine::api::{ConflictPolicy, ObjectOutcome, RestoreOutcome, conflicting_fields};
use crate::geodatabase::replica_file::ChangeKind;
use crate::model::same_value;
use crate::protocol::{
    Attributes, ChangeType, Feature, FeatureChanges, FieldType, Guid, LayerEdits, LayerInfo,
};
use std::collections::BTreeMap;

/// What the technician did to one object since the last acknowledged sync.
#[derive(Debug, Clone, PartialEq)]
pub enum UnsyncedKind {
    /// A feature created locally, with all its values.
    Add {
        feature: Feature,
    },
    /// Only the fields the technician changed (and the geometry, if it changed), and the
    /// server's values the edit started from (its before-image), when known.
    Update {
        changed: Attributes,
        geometry: Option<serde_json::Value>,
        before: Option<Attributes>,
    },
    Delete,
}

/// One unsynced local change, keyed by GlobalID.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsyncedChange {
    pub layer_id: i64,
    pub global_id: Guid,
    pub kind: UnsyncedKind,
}

impl UnsyncedChange {
    pub fn change_type(&self) -> ChangeType {
        match self.kind {
            UnsyncedKind::Add { .. } => ChangeType::Insert,
            UnsyncedKind::Update { .. } => ChangeType::Update,
            UnsyncedKind::Delete => ChangeType::Delete,
        }
    }
}

/// What the target replica holds of one object now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Holding<'a> {
    /// Its server version in the replica (`None`: not on the server, or deleted there).
    pub server: Option<&'a Feature>,
    /// As the technician sees it: the server version with the queued change laid over it
    /// (`None`: absent, or deleted locally).
    pub local: Option<&'a Feature>,
    /// The kind of the change queued for it, if any.
    pub queued: Option<ChangeKind>,
    /// The fields the change queued for it now sets (an add's or an update's), and whether it
    /// changes the geometry: edits made in this replica since the backup, which a restore
    /// never overwrites.
    pub newer_fields: Option<&'a Attributes>,
    pub newer_geometry: bool,
}

impl<'a> Holding<'a> {
    /// A replica with nothing queued for the object (a recovery's fresh replica).
    pub fn on_server(server: Option<&'a Feature>) -> Self {
        Holding {
            server,
            local: server,
            queued: None,
            newer_fields: None,
            newer_geometry: false,
        }
    }
}

/// Who gets a field both the technician and the server changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameField {
    /// The local value wins (the client-reset rule; policy *keep mine*).
    LocalWins,
    /// The server's value stays: the field is not restored (policy *take the server's*).
    ServerWins,
    /// Queued with the value the edit started from, so the next sync's conflict step holds it
    /// as a conflict for the user (policy *ask*).
    Hold,
}

impl SameField {
    /// The rule a restore follows under a replica's conflict policy.
    pub fn of(policy: ConflictPolicy) -> Self {
        match policy {
            ConflictPolicy::Ask => SameField::Hold,
            ConflictPolicy::KeepMine => SameField::LocalWins,
            ConflictPolicy::TakeServer => SameField::ServerWins,
        }
    }
}

/// How [`decide`] runs: the same-field rule, and whose rule the notes name.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub same_field: SameField,
    /// "client reset rule" or "restore rule".
    pub source: &'a str,
    /// The layer's GlobalID and ObjectID fields (never compared or written as values).
    pub global_id_field: &'a str,
    pub object_id_field: &'a str,
}

/// What to queue for one object.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A new local add (the feature carries its GlobalID).
    Add(Feature),
    /// A local update of these fields (and geometry); `started_from` gives the before-image
    /// values of the fields held as conflicts ([`SameField::Hold`]).
    Update {
        changed: Attributes,
        geometry: Option<serde_json::Value>,
        started_from: Attributes,
    },
    Delete,
    Nothing,
}

/// What the rules decided for one object, with the note a report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub step: Step,
    pub outcome: RestoreOutcome,
    pub note: String,
}

/// The rules for one change against what the target replica holds of its object.
pub fn decide(change: &UnsyncedChange, holding: Holding<'_>, rules: Rules<'_>) -> Decision {
    let decision = |step, outcome, note: String| Decision {
        step,
        outcome,
        note,
    };
    let deleted_here = holding.local.is_none() && holding.queued == Some(ChangeKind::Delete);
    match &change.kind {
        UnsyncedKind::Add { feature } => match holding.local {
            None if deleted_here || holding.server.is_some() => decision(
                Step::Nothing,
                RestoreOutcome::Discarded,
                "created locally; deleted in this replica since, so it stays deleted".into(),
            ),
            None => decision(
                Step::Add(with_global_id(
                    feature.clone(),
                    rules.global_id_field,
                    &change.global_id,
                )),
                RestoreOutcome::Restored,
                "created locally; kept".into(),
            ),
            Some(local) => {
                let (mut changed, mut geometry) =
                    differing(&feature.attributes, feature.geometry.as_ref(), local, rules);
                let newer = keep_newer(&mut changed, &mut geometry, holding);
                let place = if holding.server.is_some() {
                    "already on the server"
                } else {
                    "already queued"
                };
                if changed.is_empty() && geometry.is_none() && !newer.is_empty() {
                    decision(
                        Step::Nothing,
                        RestoreOutcome::Discarded,
                        format!("created locally; {place} and {}", newer_note(&newer)),
                    )
                } else if changed.is_empty() && geometry.is_none() {
                    decision(
                        Step::Nothing,
                        RestoreOutcome::AlreadyRestored,
                        format!("created locally; {place} with these values"),
                    )
                } else {
                    decision(
                        Step::Update {
                            changed,
                            geometry,
                            started_from: Attributes::new(),
                        },
                        RestoreOutcome::Restored,
                        format!("created locally; {place}, local values written"),
                    )
                }
            }
        },
        UnsyncedKind::Update { .. } if deleted_here => decision(
            Step::Nothing,
            RestoreOutcome::Discarded,
            "updated locally; deleted in this replica since, so the update is not restored".into(),
        ),
        UnsyncedKind::Update { .. } if holding.local.is_none() => decision(
            Step::Nothing,
            RestoreOutcome::Discarded,
            format!(
                "deleted on the server; the local update is discarded ({}: a server delete beats a local update)",
                rules.source
            ),
        ),
        UnsyncedKind::Update {
            changed,
            geometry,
            before,
        } => {
            let empty = Feature::default();
            let local = holding.local.unwrap_or(&empty);
            let both: Vec<String> = match (before, holding.server) {
                (Some(before), Some(server)) => {
                    conflicting_fields(changed, before, &server.attributes)
                        .into_iter()
                        .map(|f| f.name)
                        .collect()
                }
                _ => Vec::new(),
            };
            let mut wanted = changed.clone();
            if rules.same_field == SameField::ServerWins {
                wanted.retain(|name, _| !both.contains(name));
            }
            let (mut changed_now, mut geometry) =
                differing(&wanted, geometry.as_ref(), local, rules);
            let newer = keep_newer(&mut changed_now, &mut geometry, holding);
            let mut started_from = Attributes::new();
            if rules.same_field == SameField::Hold
                && let Some(before) = before
            {
                for name in both.iter().filter(|n| changed_now.contains_key(*n)) {
                    started_from.insert(name.clone(), crate::model::value_of(before, name));
                }
            }
            let names = both.join(", ");
            let nothing_left = changed_now.is_empty() && geometry.is_none();
            let (outcome, mut note) = match rules.same_field {
                _ if nothing_left && !newer.is_empty() => (
                    RestoreOutcome::Discarded,
                    format!("updated locally; {}", newer_note(&newer)),
                ),
                _ if nothing_left
                    && !both.is_empty()
                    && rules.same_field == SameField::ServerWins =>
                {
                    (
                        RestoreOutcome::Discarded,
                        format!(
                            "updated locally; also changed on the server ({names}): the server's values stay (conflict policy: take the server's)"
                        ),
                    )
                }
                _ if nothing_left => (
                    RestoreOutcome::AlreadyRestored,
                    "updated locally; the replica already holds these values".to_string(),
                ),
                _ if both.is_empty() => (
                    RestoreOutcome::Restored,
                    "updated locally; local values win for the changed fields".to_string(),
                ),
                SameField::LocalWins => (
                    RestoreOutcome::Restored,
                    format!(
                        "updated locally; also changed on the server ({names}): local values win for the changed fields ({}: same field, the local value wins)",
                        rules.source
                    ),
                ),
                SameField::ServerWins => (
                    RestoreOutcome::Restored,
                    format!(
                        "updated locally; also changed on the server ({names}): the server's values stay for those fields (conflict policy: take the server's), the other changed fields are restored"
                    ),
                ),
                SameField::Hold => (
                    RestoreOutcome::Restored,
                    format!(
                        "updated locally; also changed on the server ({names}): queued from the value it started from, so the next sync holds it as a conflict for you to resolve (conflict policy: ask)"
                    ),
                ),
            };
            if !nothing_left && !newer.is_empty() {
                note.push_str("; ");
                note.push_str(&newer_note(&newer));
            }
            let step = if nothing_left {
                Step::Nothing
            } else {
                Step::Update {
                    changed: changed_now,
                    geometry,
                    started_from,
                }
            };
            decision(step, outcome, note)
        }
        UnsyncedKind::Delete if holding.local.is_some() => decision(
            Step::Delete,
            RestoreOutcome::Restored,
            "deleted locally; delete applied".into(),
        ),
        UnsyncedKind::Delete if deleted_here => decision(
            Step::Nothing,
            RestoreOutcome::AlreadyRestored,
            "deleted locally; already deleted in this replica (no-op)".into(),
        ),
        UnsyncedKind::Delete => decision(
            Step::Nothing,
            RestoreOutcome::AlreadyRestored,
            "deleted locally; already gone on the server (no-op)".into(),
        ),
    }
}

/// Takes out of a restore what the change queued in the replica now sets to another value (an
/// edit made there since the backup wins over the backup); returns the names taken out.
fn keep_newer(
    changed: &mut Attributes,
    geometry: &mut Option<serde_json::Value>,
    holding: Holding<'_>,
) -> Vec<String> {
    let mut kept = Vec::new();
    if let Some(newer) = holding.newer_fields {
        changed.retain(|name, _| {
            let edited_here = newer.keys().any(|k| k.eq_ignore_ascii_case(name));
            if edited_here {
                kept.push(name.clone());
            }
            !edited_here
        });
    }
    if holding.newer_geometry && geometry.take().is_some() {
        kept.push("geometry".to_string());
    }
    kept
}

fn newer_note(kept: &[String]) -> String {
    format!(
        "changed again in this replica since the backup ({}): the newer local values stay, the backup keeps its own",
        kept.join(", ")
    )
}

/// The fields of `wanted` (and the geometry) whose values `local` does not hold yet; the
/// GlobalID and ObjectID fields are never compared.
fn differing(
    wanted: &Attributes,
    geometry: Option<&serde_json::Value>,
    local: &Feature,
    rules: Rules<'_>,
) -> (Attributes, Option<serde_json::Value>) {
    let changed: Attributes = wanted
        .iter()
        .filter(|(name, _)| {
            !name.eq_ignore_ascii_case(rules.global_id_field)
                && !name.eq_ignore_ascii_case("globalid")
                && !name.eq_ignore_ascii_case(rules.object_id_field)
        })
        .filter(|(name, value)| {
            local
                .attr_ci(name)
                .is_none_or(|now| !same_value(now, value))
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let geometry = geometry
        .filter(|g| {
            !local
                .geometry
                .as_ref()
                .is_some_and(|now| same_shape(now, g))
        })
        .cloned();
    (changed, geometry)
}

/// Two geometries with the same coordinates, whatever spatial reference either names (a
/// service may add it to what it sends back).
fn same_shape(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    const SR: &str = "spatialReference";
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys = |m: &serde_json::Map<String, Value>| {
                m.keys()
                    .filter(|k| k.as_str() != SR)
                    .cloned()
                    .collect::<std::collections::BTreeSet<_>>()
            };
            keys(x) == keys(y)
                && x.iter()
                    .filter(|(k, _)| k.as_str() != SR)
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_shape(v, w))
        }
        (Value::Number(_), Value::Number(_)) => match (a.as_f64(), b.as_f64()) {
            (Some(p), Some(q)) => (p - q).abs() <= 1e-9 * p.abs().max(1.0),
            _ => a == b,
        },
        _ => a == b,
    }
}

/// The edits to upload to the fresh replica and the per-object report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecoveryPlan {
    pub edits: Vec<LayerEdits>,
    pub recovered: Vec<ObjectOutcome>,
    pub discarded: Vec<ObjectOutcome>,
}

/// Recovery cannot run: the reset must fall back (to discard or manual).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    #[error("breaking schema change: layer {layer_id} no longer exists on the service")]
    LayerGone { layer_id: i64 },
    #[error(
        "breaking schema change: field {field:?} of layer {layer_id} no longer exists on the service"
    )]
    FieldGone { layer_id: i64, field: String },
    #[error(
        "breaking schema change: field {field:?} of layer {layer_id} changed type; the local value {value} no longer fits"
    )]
    FieldTypeChanged {
        layer_id: i64,
        field: String,
        value: String,
    },
}

/// The layer's GlobalID and ObjectID field names (ArcGIS's defaults when it does not say).
pub fn id_fields(layer: Option<&LayerInfo>) -> (&str, &str) {
    let gid = layer
        .map(|l| l.global_id_field.as_str())
        .filter(|f| !f.is_empty())
        .unwrap_or("GlobalID");
    let oid = layer
        .map(|l| l.object_id_field.as_str())
        .filter(|f| !f.is_empty())
        .unwrap_or("OBJECTID");
    (gid, oid)
}

/// Plans the replay of `changes` onto a fresh replica whose layers are `fresh_layers` and in which
/// `server(layer_id, global_id)` gives an object's server version, if present. The same field
/// changed on both sides: the local value wins.
pub fn plan_recovery(
    changes: &[UnsyncedChange],
    fresh_layers: &[LayerInfo],
    mut server: impl FnMut(i64, &Guid) -> Option<Feature>,
) -> Result<RecoveryPlan, RecoveryError> {
    for change in changes {
        check_schema(change, fresh_layers)?;
    }
    let mut per_layer: BTreeMap<i64, FeatureChanges> = BTreeMap::new();
    let mut plan = RecoveryPlan::default();
    for change in changes {
        let layer = fresh_layers.iter().find(|l| l.id == Some(change.layer_id));
        let (global_id_field, object_id_field) = id_fields(layer);
        let rules = Rules {
            same_field: SameField::LocalWins,
            source: "client reset rule",
            global_id_field,
            object_id_field,
        };
        let present = server(change.layer_id, &change.global_id);
        let decided = decide(change, Holding::on_server(present.as_ref()), rules);
        let outcome = ObjectOutcome {
            layer_id: change.layer_id,
            global_id: change.global_id.clone(),
            change_type: change.change_type(),
            note: decided.note,
        };
        match decided.outcome {
            RestoreOutcome::Discarded => plan.discarded.push(outcome),
            _ => plan.recovered.push(outcome),
        }
        let target = per_layer.entry(change.layer_id).or_default();
        match decided.step {
            Step::Add(feature) => target.adds.push(feature),
            Step::Update {
                changed, geometry, ..
            } => target.updates.push(with_global_id(
                Feature {
                    geometry,
                    attributes: changed,
                },
                global_id_field,
                &change.global_id,
            )),
            Step::Delete => target.delete_ids.push(change.global_id.to_string()),
            Step::Nothing => {}
        }
    }
    plan.edits = per_layer
        .into_iter()
        .filter(|(_, features)| !features.is_empty())
        .map(|(id, features)| LayerEdits {
            id,
            features,
            attachments: Default::default(),
        })
        .collect();
    Ok(plan)
}

fn with_global_id(mut feature: Feature, field: &str, global_id: &Guid) -> Feature {
    feature
        .attributes
        .retain(|k, _| !k.eq_ignore_ascii_case(field));
    feature.attributes.insert(
        field.to_string(),
        serde_json::Value::String(global_id.to_string()),
    );
    feature
}

/// A change that uses a layer or field `layers` no longer has, or a value that no longer fits its
/// field's type, is a breaking schema change.
pub fn check_schema(change: &UnsyncedChange, layers: &[LayerInfo]) -> Result<(), RecoveryError> {
    let layer = layers
        .iter()
        .find(|l| l.id == Some(change.layer_id))
        .ok_or(RecoveryError::LayerGone {
            layer_id: change.layer_id,
        })?;
    let attributes = match &change.kind {
        UnsyncedKind::Add { feature } => &feature.attributes,
        UnsyncedKind::Update { changed, .. } => changed,
        UnsyncedKind::Delete => return Ok(()),
    };
    for (name, value) in attributes {
        let field = layer.field(name).ok_or_else(|| RecoveryError::FieldGone {
            layer_id: change.layer_id,
            field: name.clone(),
        })?;
        if !value_fits(&field.field_type, value) {
            return Err(RecoveryError::FieldTypeChanged {
                layer_id: change.layer_id,
                field: name.clone(),
                value: value.to_string(),
            });
        }
    }
    Ok(())
}

/// Whether a JSON value can be stored in a field of this type (null always fits; nullability is
/// the server's check, not a schema change).
fn value_fits(field_type: &FieldType, value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (field_type, value) {
        (_, Value::Null) => true,
        (
            FieldType::SmallInteger | FieldType::Integer | FieldType::BigInteger | FieldType::Oid,
            Value::Number(n),
        ) => n.is_i64() || n.is_u64(),
        (FieldType::Single | FieldType::Double | FieldType::Date, Value::Number(_)) => true,
        (FieldType::String | FieldType::Guid | FieldType::GlobalId, Value::String(_)) => true,
        (FieldType::Blob | FieldType::Geometry | FieldType::Other(_), _) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Field;
    use serde_json::json;

    fn field(name: &str, field_type: FieldType) -> Field {
        Field {
            name: name.into(),
            field_type,
            alias: None,
            length: None,
            nullable: true,
            editable: true,
            domain: None,
            default_value: None,
        }
    }

    fn hydrants() -> Vec<LayerInfo> {
        vec![LayerInfo {
            id: Some(0),
            name: "Hydrants".into(),
            global_id_field: "GlobalID".into(),
            fields: vec![
                field("GlobalID", FieldType::GlobalId),
                field("STATUS", FieldType::String),
                field("PRESSURE", FieldType::Double),
            ],
            ..Default::default()
        }]
    }

    fn attrs(v: serde_json::Value) -> Attributes {
        v.as_object().cloned().unwrap()
    }

    /// The server's version of a hydrant, as a fresh replica holds it.
    fn server_feature() -> Feature {
        Feature {
            geometry: Some(json!({"x": 0, "y": 0})),
            attributes: attrs(json!({"STATUS": "IS", "PRESSURE": 40.0})),
        }
    }

    fn gid(n: u8) -> Guid {
        Guid::parse(&format!("{n:08x}-0000-4000-8000-000000000000")).unwrap()
    }

    /// Seed rule: objects created locally that were not synced are kept.
    #[test]
    fn local_create_is_kept() {
        let change = UnsyncedChange {
            layer_id: 0,
            global_id: gid(1),
            kind: UnsyncedKind::Add {
                feature: Feature {
                    geometry: Some(json!({"x":1,"y":2})),
                    attributes: attrs(json!({"STATUS":"IS"})),
                },
            },
        };
        let plan = plan_recovery(&[change], &hydrants(), |_, _| None).unwrap();
        assert_eq!(plan.edits[0].features.adds.len(), 1);
        assert_eq!(plan.edits[0].features.adds[0].global_id(), Some(gid(1)));
        assert_eq!(plan.recovered.len(), 1);
        assert!(plan.discarded.is_empty());
        // The same create when the server already has the GlobalID is an upsert, not a duplicate.
        let change = UnsyncedChange {
            layer_id: 0,
            global_id: gid(1),
            kind: UnsyncedKind::Add {
                feature: Feature {
                    geometry: None,
                    attributes: attrs(json!({"STATUS": "OOS"})),
                },
            },
        };
        let plan = plan_recovery(std::slice::from_ref(&change), &hydrants(), |_, _| {
            Some(server_feature())
        })
        .unwrap();
        assert!(plan.edits[0].features.adds.is_empty());
        assert_eq!(plan.edits[0].features.updates.len(), 1);
        assert_eq!(
            plan.edits[0].features.updates[0].attributes.get("STATUS"),
            Some(&json!("OOS"))
        );
        // Already there with these values: nothing is sent twice.
        let mut same = server_feature();
        same.attributes.insert("STATUS".into(), json!("OOS"));
        let plan = plan_recovery(&[change], &hydrants(), |_, _| Some(same.clone())).unwrap();
        assert!(plan.edits.is_empty());
        assert!(plan.recovered[0].note.contains("with these values"));
    }

    /// Seed rule: the server's delete beats the local update, which is discarded and reported.
    #[test]
    fn server_delete_beats_local_update() {
        let change = UnsyncedChange {
            layer_id: 0,
            global_id: gid(2),
            kind: UnsyncedKind::Update {
                changed: attrs(json!({"STATUS":"OOS"})),
                geometry: None,
                before: None,
            },
        };
        let plan = plan_recovery(&[change], &hydrants(), |_, _| None).unwrap();
        assert!(plan.edits.is_empty());
        assert_eq!(plan.discarded.len(), 1);
        assert!(plan.discarded[0].note.contains("deleted on the server"));
    }

    /// Seed rule: a local delete is applied; if the object is already gone it is a no-op.
    #[test]
    fn local_delete_applied_or_noop() {
        let change = UnsyncedChange {
            layer_id: 0,
            global_id: gid(3),
            kind: UnsyncedKind::Delete,
        };
        let plan = plan_recovery(std::slice::from_ref(&change), &hydrants(), |_, _| {
            Some(server_feature())
        })
        .unwrap();
        assert_eq!(plan.edits[0].features.delete_ids, vec![gid(3).to_string()]);
        let plan = plan_recovery(&[change], &hydrants(), |_, _| None).unwrap();
        assert!(plan.edits.is_empty());
        assert_eq!(plan.recovered.len(), 1);
        assert!(plan.recovered[0].note.contains("no-op"));
    }

    /// Seed rule: for a field changed on both sides the local value wins; untouched fields are not sent.
    #[test]
    fn same_field_conflict_local_wins_only_changed_fields_sent() {
        let change = UnsyncedChange {
            layer_id: 0,
            global_id: gid(4),
            kind: UnsyncedKind::Update {
                changed: attrs(json!({"PRESSURE": 61.5})),
                geometry: None,
                before: None,
            },
        };
        let plan = plan_recovery(&[change], &hydrants(), |_, _| Some(server_feature())).unwrap();
        let update = &plan.edits[0].features.updates[0];
        assert_eq!(update.attributes.get("PRESSURE"), Some(&json!(61.5)));
        assert!(
            update.attributes.get("STATUS").is_none(),
            "the server's STATUS must stay"
        );
        assert_eq!(update.global_id(), Some(gid(4)));
    }

    /// A layer or field that is gone, or a changed field type, is a breaking schema change.
    #[test]
    fn breaking_schema_changes_fail_recovery() {
        let gone_layer = UnsyncedChange {
            layer_id: 9,
            global_id: gid(5),
            kind: UnsyncedKind::Delete,
        };
        assert_eq!(
            plan_recovery(&[gone_layer], &hydrants(), |_, _| Some(server_feature())),
            Err(RecoveryError::LayerGone { layer_id: 9 })
        );
        let gone_field = UnsyncedChange {
            layer_id: 0,
            global_id: gid(6),
            kind: UnsyncedKind::Update {
                changed: attrs(json!({"COLOR":"red"})),
                geometry: None,
                before: None,
            },
        };
        assert!(matches!(
            plan_recovery(&[gone_field], &hydrants(), |_, _| Some(server_feature())),
            Err(RecoveryError::FieldGone { .. })
        ));
        let retyped = UnsyncedChange {
            layer_id: 0,
            global_id: gid(7),
            kind: UnsyncedKind::Update {
                changed: attrs(json!({"PRESSURE":"high"})),
                geometry: None,
                before: None,
            },
        };
        assert!(matches!(
            plan_recovery(&[retyped], &hydrants(), |_, _| Some(server_feature())),
            Err(RecoveryError::FieldTypeChanged { .. })
        ));
    }

    fn restore_rules(same_field: SameField) -> Rules<'static> {
        Rules {
            same_field,
            source: "restore rule",
            global_id_field: "GlobalID",
            object_id_field: "OBJECTID",
        }
    }

    fn update_of(changed: serde_json::Value, before: serde_json::Value) -> UnsyncedChange {
        UnsyncedChange {
            layer_id: 0,
            global_id: gid(8),
            kind: UnsyncedKind::Update {
                changed: attrs(changed),
                geometry: None,
                before: Some(attrs(before)),
            },
        }
    }

    /// A restore of an update whose field the server changed too follows the same-field rule:
    /// local wins (the value is queued), the server's stays (the field is left out), or it is
    /// held (queued from the value it started from).
    #[test]
    fn restore_same_field_follows_the_policy() {
        let change = update_of(
            json!({"STATUS": "OOS", "PRESSURE": 61.5}),
            json!({"STATUS": "IS", "PRESSURE": 40.0}),
        );
        let server = Feature {
            geometry: None,
            attributes: attrs(json!({"STATUS": "RET", "PRESSURE": 40.0})),
        };
        let holding = Holding::on_server(Some(&server));
        let mine = decide(&change, holding, restore_rules(SameField::LocalWins));
        let Step::Update {
            changed,
            started_from,
            ..
        } = &mine.step
        else {
            panic!("{mine:?}")
        };
        assert_eq!(changed.get("STATUS"), Some(&json!("OOS")));
        assert!(started_from.is_empty());
        assert!(
            mine.note.contains("also changed on the server (STATUS)"),
            "{}",
            mine.note
        );

        let theirs = decide(&change, holding, restore_rules(SameField::ServerWins));
        let Step::Update { changed, .. } = &theirs.step else {
            panic!("{theirs:?}")
        };
        assert!(changed.get("STATUS").is_none(), "the server's STATUS stays");
        assert_eq!(changed.get("PRESSURE"), Some(&json!(61.5)));
        assert_eq!(theirs.outcome, RestoreOutcome::Restored);

        let held = decide(&change, holding, restore_rules(SameField::Hold));
        let Step::Update {
            changed,
            started_from,
            ..
        } = &held.step
        else {
            panic!("{held:?}")
        };
        assert_eq!(changed.get("STATUS"), Some(&json!("OOS")));
        assert_eq!(started_from.get("STATUS"), Some(&json!("IS")));
        assert!(
            started_from.get("PRESSURE").is_none(),
            "only the conflicting field is held"
        );

        // The server's value staying for the only field changed: nothing to restore.
        let only_status = update_of(json!({"STATUS": "OOS"}), json!({"STATUS": "IS"}));
        let nothing = decide(&only_status, holding, restore_rules(SameField::ServerWins));
        assert_eq!(nothing.step, Step::Nothing);
        assert_eq!(nothing.outcome, RestoreOutcome::Discarded);
    }

    /// What the replica already holds is "already restored" and queues nothing: a queued add
    /// with the same values, an update whose values are there, a delete of what is gone.
    #[test]
    fn restore_of_what_is_already_there_queues_nothing() {
        let feature = Feature {
            geometry: Some(json!({"x": 1.0, "y": 2.0})),
            attributes: attrs(json!({"STATUS": "IS"})),
        };
        let add = UnsyncedChange {
            layer_id: 0,
            global_id: gid(9),
            kind: UnsyncedKind::Add {
                feature: feature.clone(),
            },
        };
        let mut queued = feature.clone();
        queued.geometry = Some(json!({"x": 1.0, "y": 2.0, "spatialReference": {"wkid": 4326}}));
        let holding = Holding {
            server: None,
            local: Some(&queued),
            queued: Some(ChangeKind::Add),
            ..Holding::default()
        };
        let again = decide(&add, holding, restore_rules(SameField::Hold));
        assert_eq!(again.step, Step::Nothing);
        assert_eq!(again.outcome, RestoreOutcome::AlreadyRestored);

        let update = update_of(json!({"STATUS": "OOS"}), json!({"STATUS": "IS"}));
        let server = Feature {
            geometry: None,
            attributes: attrs(json!({"STATUS": "IS"})),
        };
        let local = Feature {
            geometry: None,
            attributes: attrs(json!({"STATUS": "OOS"})),
        };
        let holding = Holding {
            server: Some(&server),
            local: Some(&local),
            queued: Some(ChangeKind::Update),
            ..Holding::default()
        };
        let again = decide(&update, holding, restore_rules(SameField::Hold));
        assert_eq!(again.outcome, RestoreOutcome::AlreadyRestored);

        // Deleted here since the backup: the update is not restored, nor the add re-created.
        let holding = Holding {
            server: Some(&server),
            local: None,
            queued: Some(ChangeKind::Delete),
            ..Holding::default()
        };
        assert_eq!(
            decide(&update, holding, restore_rules(SameField::LocalWins)).outcome,
            RestoreOutcome::Discarded
        );
        assert_eq!(
            decide(&add, holding, restore_rules(SameField::LocalWins)).step,
            Step::Nothing
        );
    }

    /// A field edited again in this replica since the backup keeps its newer local value: the
    /// restore leaves it out (the rest of the change is restored) and says so.
    #[test]
    fn a_newer_local_edit_is_never_overwritten() {
        let update = update_of(
            json!({"STATUS": "OOS", "PRESSURE": 61.5}),
            json!({"STATUS": "IS", "PRESSURE": 40.0}),
        );
        let server = Feature {
            geometry: None,
            attributes: attrs(json!({"STATUS": "IS", "PRESSURE": 40.0})),
        };
        let edited = attrs(json!({"STATUS": "RET"}));
        let local = Feature {
            geometry: None,
            attributes: attrs(json!({"STATUS": "RET", "PRESSURE": 40.0})),
        };
        let holding = Holding {
            server: Some(&server),
            local: Some(&local),
            queued: Some(ChangeKind::Update),
            newer_fields: Some(&edited),
            newer_geometry: false,
        };
        let decided = decide(&update, holding, restore_rules(SameField::LocalWins));
        let Step::Update { changed, .. } = &decided.step else {
            panic!("{decided:?}")
        };
        assert!(changed.get("STATUS").is_none(), "the newer RET stays");
        assert_eq!(changed.get("PRESSURE"), Some(&json!(61.5)));
        assert!(
            decided.note.contains("changed again in this replica"),
            "{}",
            decided.note
        );
        let only_status = update_of(json!({"STATUS": "OOS"}), json!({"STATUS": "IS"}));
        let decided = decide(&only_status, holding, restore_rules(SameField::LocalWins));
        assert_eq!(decided.step, Step::Nothing);
        assert_eq!(decided.outcome, RestoreOutcome::Discarded);
    }
}
