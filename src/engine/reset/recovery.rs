//! Recovery rules of a client reset (ARCHITECTURE.md, "Client reset"), applied to feature-service
//! replicas: given the unsynced local changes of the old replica and the fresh replica's schema and
//! contents, decide per object what to upload and what is lost. Pure; the reset job does the I/O.
//!
//! * A local create is kept (sent as an add; as an update when the GlobalID already exists, so a
//!   create acts as an upsert).
//! * If the server deleted an object the client modified, the delete wins: the update is discarded.
//! * A local delete is applied; if the object is already gone it is a no-op.
//! * A field changed on both sides gets the local value: only the fields the client changed are
//!   sent, so the server's other changes stay.
//! * A change that uses a layer or field the fresh schema no longer has, or a value whose type no
//!   longer fits the field, is a breaking schema change: recovery fails and the reset falls back.

use crate::engine::api::ObjectOutcome;
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
    /// Only the fields the technician changed (and the geometry, if it changed).
    Update {
        changed: Attributes,
        geometry: Option<serde_json::Value>,
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

/// Plans the replay of `changes` onto a fresh replica whose layers are `fresh_layers` and in which
/// `exists(layer_id, global_id)` tells whether an object is present.
pub fn plan_recovery(
    changes: &[UnsyncedChange],
    fresh_layers: &[LayerInfo],
    mut exists: impl FnMut(i64, &Guid) -> bool,
) -> Result<RecoveryPlan, RecoveryError> {
    for change in changes {
        check_schema(change, fresh_layers)?;
    }
    let mut per_layer: BTreeMap<i64, FeatureChanges> = BTreeMap::new();
    let mut plan = RecoveryPlan::default();
    for change in changes {
        let layer = fresh_layers.iter().find(|l| l.id == Some(change.layer_id));
        let gid_field = layer
            .map(|l| l.global_id_field.as_str())
            .filter(|f| !f.is_empty())
            .unwrap_or("GlobalID");
        let present = exists(change.layer_id, &change.global_id);
        let outcome = |note: &str| ObjectOutcome {
            layer_id: change.layer_id,
            global_id: change.global_id.clone(),
            change_type: change.change_type(),
            note: note.to_string(),
        };
        let target = per_layer.entry(change.layer_id).or_default();
        match &change.kind {
            UnsyncedKind::Add { feature } => {
                let feature = with_global_id(feature.clone(), gid_field, &change.global_id);
                if present {
                    target.updates.push(feature);
                    plan.recovered.push(outcome(
                        "created locally; already on the server, local values written",
                    ));
                } else {
                    target.adds.push(feature);
                    plan.recovered.push(outcome("created locally; kept"));
                }
            }
            UnsyncedKind::Update { changed, geometry } if present => {
                let feature = Feature {
                    geometry: geometry.clone(),
                    attributes: changed.clone(),
                };
                target
                    .updates
                    .push(with_global_id(feature, gid_field, &change.global_id));
                plan.recovered.push(outcome(
                    "updated locally; local values win for the changed fields",
                ));
            }
            UnsyncedKind::Update { .. } => {
                plan.discarded.push(outcome(
                    "deleted on the server; the local update is discarded (client reset rule: a server delete beats a local update)",
                ));
            }
            UnsyncedKind::Delete if present => {
                target.delete_ids.push(change.global_id.to_string());
                plan.recovered
                    .push(outcome("deleted locally; delete applied"));
            }
            UnsyncedKind::Delete => {
                plan.recovered.push(outcome(
                    "deleted locally; already gone on the server (no-op)",
                ));
            }
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

fn check_schema(change: &UnsyncedChange, layers: &[LayerInfo]) -> Result<(), RecoveryError> {
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
        let plan = plan_recovery(&[change], &hydrants(), |_, _| false).unwrap();
        assert_eq!(plan.edits[0].features.adds.len(), 1);
        assert_eq!(plan.edits[0].features.adds[0].global_id(), Some(gid(1)));
        assert_eq!(plan.recovered.len(), 1);
        assert!(plan.discarded.is_empty());
        // The same create when the server already has the GlobalID is an upsert, not a duplicate.
        let change = UnsyncedChange {
            layer_id: 0,
            global_id: gid(1),
            kind: UnsyncedKind::Add {
                feature: Feature::default(),
            },
        };
        let plan = plan_recovery(&[change], &hydrants(), |_, _| true).unwrap();
        assert!(plan.edits[0].features.adds.is_empty());
        assert_eq!(plan.edits[0].features.updates.len(), 1);
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
            },
        };
        let plan = plan_recovery(&[change], &hydrants(), |_, _| false).unwrap();
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
        let plan = plan_recovery(std::slice::from_ref(&change), &hydrants(), |_, _| true).unwrap();
        assert_eq!(plan.edits[0].features.delete_ids, vec![gid(3).to_string()]);
        let plan = plan_recovery(&[change], &hydrants(), |_, _| false).unwrap();
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
            },
        };
        let plan = plan_recovery(&[change], &hydrants(), |_, _| true).unwrap();
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
            plan_recovery(&[gone_layer], &hydrants(), |_, _| true),
            Err(RecoveryError::LayerGone { layer_id: 9 })
        );
        let gone_field = UnsyncedChange {
            layer_id: 0,
            global_id: gid(6),
            kind: UnsyncedKind::Update {
                changed: attrs(json!({"COLOR":"red"})),
                geometry: None,
            },
        };
        assert!(matches!(
            plan_recovery(&[gone_field], &hydrants(), |_, _| true),
            Err(RecoveryError::FieldGone { .. })
        ));
        let retyped = UnsyncedChange {
            layer_id: 0,
            global_id: gid(7),
            kind: UnsyncedKind::Update {
                changed: attrs(json!({"PRESSURE":"high"})),
                geometry: None,
            },
        };
        assert!(matches!(
            plan_recovery(&[retyped], &hydrants(), |_, _| true),
            Err(RecoveryError::FieldTypeChanged { .. })
        ));
    }
}
