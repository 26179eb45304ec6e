//! Backup and replay on real replica files in temp dirs.

use super::*;
use crate::geodatabase::replica_file::{ReplicaDefinition, ReplicaFile, ReplicaLayer};
use crate::protocol::{
    Attributes, Feature, Field, FieldType, Guid, LayerInfo, LayerQuery, ReplicaLayerData,
    ReplicaResponse, ResponseType, SyncDirection, SyncModel,
};
use serde_json::json;

const A: &str = "{11111111-1111-4111-8111-111111111111}";
const B: &str = "{22222222-2222-4222-8222-222222222222}";
const C: &str = "{33333333-3333-4333-8333-333333333333}";

fn gid(text: &str) -> Guid {
    Guid::parse(text).unwrap()
}

fn feature(global_id: &str, object_id: i64, status: &str) -> Feature {
    let attributes: Attributes =
        json!({"OBJECTID": object_id, "GlobalID": global_id, "STATUS": status, "PRESSURE": 50.0})
            .as_object()
            .cloned()
            .unwrap();
    Feature {
        geometry: Some(json!({"x": 1.0, "y": 2.0})),
        attributes,
    }
}

fn definition(guid: &str) -> ReplicaDefinition {
    ReplicaDefinition {
        service_url: "http://127.0.0.1:1/arcgis/rest/services/Water/FeatureServer".into(),
        replica_guid: gid(guid),
        name: "hydrants".into(),
        sync_model: SyncModel::PerReplica,
        direction: SyncDirection::Bidirectional,
        layers: vec![ReplicaLayer {
            layer_id: 0,
            name: "Hydrants".into(),
            query: LayerQuery::all(),
        }],
        created_ms: 1,
    }
}

fn replica(path: &std::path::Path, guid: &str, features: Vec<Feature>) -> ReplicaFile {
    let response = ReplicaResponse {
        replica_server_gen: Some(10),
        response_type: Some(ResponseType::Data),
        layers: vec![ReplicaLayerData {
            id: 0,
            features,
            attachments: vec![],
            unreadable: vec![],
        }],
        ..Default::default()
    };
    ReplicaFile::create(path, &definition(guid), &response, None, &[]).unwrap()
}

fn layers() -> Vec<LayerInfo> {
    let field = |name: &str, field_type| Field {
        name: name.into(),
        field_type,
        alias: None,
        length: None,
        nullable: true,
        editable: true,
        domain: None,
        default_value: None,
    };
    vec![LayerInfo {
        id: Some(0),
        name: "Hydrants".into(),
        global_id_field: "GlobalID".into(),
        fields: vec![
            field("OBJECTID", FieldType::Oid),
            field("GlobalID", FieldType::GlobalId),
            field("STATUS", FieldType::String),
            field("PRESSURE", FieldType::Double),
        ],
        ..Default::default()
    }]
}

/// The backup holds a readable copy of the replica with every queued change, and a JSON export.
#[test]
fn backup_is_complete_and_rereadable() {
    let dir = tempfile::tempdir().unwrap();
    let mut old = replica(
        &dir.path().join("old.replica"),
        A,
        vec![feature(B, 1, "IS")],
    );
    old.record_update(
        0,
        &gid(B),
        json!({"STATUS": "OOS"}).as_object().cloned().unwrap(),
        None,
    )
    .unwrap();
    old.record_add(0, feature(C, 0, "NEW")).unwrap();
    let folder = new_recovery_dir(
        &dir.path().join("recovery"),
        "hydrants / field 7",
        chrono::Utc::now(),
    )
    .unwrap();
    assert!(
        folder
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("hydrants___field_7-")
    );
    let backup = back_up(&old, &folder, "hydrants", "replica does not exist").unwrap();
    assert_eq!(backup.change_count, 2);
    let copy = ReplicaFile::open(&backup.replica_copy).unwrap();
    assert_eq!(copy.changes().unwrap().len(), 2);
    let export: ChangesExport =
        serde_json::from_slice(&std::fs::read(&backup.changes_export).unwrap()).unwrap();
    assert_eq!(export.changes.len(), 2);
    assert_eq!(export.edits[0].features.len(), 2);
    // A second reset in the same second gets its own folder; nothing is overwritten.
    let again = new_recovery_dir(
        &dir.path().join("recovery"),
        "hydrants / field 7",
        chrono::Utc::now(),
    )
    .unwrap();
    assert_ne!(again, folder);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}

/// The seed's rules, replayed onto a fresh file: the create is queued, the update of an object the
/// server deleted is discarded, the update of a surviving object is queued with only its changed field.
#[test]
fn replay_queues_what_survives() {
    let dir = tempfile::tempdir().unwrap();
    let mut old = replica(
        &dir.path().join("old.replica"),
        A,
        vec![feature(A, 1, "IS"), feature(B, 2, "IS")],
    );
    old.record_update(
        0,
        &gid(A),
        json!({"STATUS": "OOS"}).as_object().cloned().unwrap(),
        None,
    )
    .unwrap();
    old.record_update(
        0,
        &gid(B),
        json!({"PRESSURE": 12.0}).as_object().cloned().unwrap(),
        None,
    )
    .unwrap();
    old.record_add(0, feature(C, 0, "NEW")).unwrap();
    // On the server, B was deleted and A changed PRESSURE.
    let mut a_on_server = feature(A, 1, "IS");
    a_on_server
        .attributes
        .insert("PRESSURE".into(), json!(70.0));
    let mut fresh = replica(&dir.path().join("fresh.replica"), B, vec![a_on_server]);

    let plan = replay_into(&old.changes().unwrap(), &mut fresh, &layers()).unwrap();
    assert_eq!(plan.recovered.len(), 2);
    assert_eq!(plan.discarded.len(), 1);
    assert_eq!(plan.discarded[0].global_id, gid(B));
    let queued = fresh.changes().unwrap();
    assert_eq!(queued.len(), 2);
    let a = fresh.local_feature(0, &gid(A)).unwrap().unwrap();
    assert_eq!(a.attr_ci("STATUS"), Some(&json!("OOS")), "local value wins");
    assert_eq!(
        a.attr_ci("PRESSURE"),
        Some(&json!(70.0)),
        "the server's other change stays"
    );
    assert!(
        fresh.local_feature(0, &gid(C)).unwrap().is_some(),
        "local create kept"
    );
}

/// A breaking schema change fails the replay before anything is queued.
#[test]
fn breaking_schema_change_queues_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut old = replica(
        &dir.path().join("old.replica"),
        A,
        vec![feature(A, 1, "IS")],
    );
    old.record_update(
        0,
        &gid(A),
        json!({"STATUS": "OOS"}).as_object().cloned().unwrap(),
        None,
    )
    .unwrap();
    let mut fresh = replica(
        &dir.path().join("fresh.replica"),
        B,
        vec![feature(A, 1, "IS")],
    );
    let mut schema = layers();
    schema[0].fields.retain(|f| f.name != "STATUS");
    let err = replay_into(&old.changes().unwrap(), &mut fresh, &schema).unwrap_err();
    assert!(
        matches!(err, ReplayError::Recovery(RecoveryError::FieldGone { .. })),
        "{err}"
    );
    assert!(fresh.changes().unwrap().is_empty());
}

/// A batch of edits is one transaction: when one of them cannot be recorded (its feature does
/// not exist), none of the others is queued either.
#[test]
fn recorded_edits_are_all_or_nothing() {
    use crate::geodatabase::replica_file::QueuedEdit;
    let dir = tempfile::tempdir().unwrap();
    let mut file = replica(
        &dir.path().join("current.replica"),
        A,
        vec![feature(A, 1, "IS")],
    );
    let good = QueuedEdit::Update {
        layer_id: 0,
        global_id: gid(A),
        attributes: json!({"STATUS": "OOS"}).as_object().cloned().unwrap(),
        geometry: None,
        started_from: json!({"STATUS": "RET"}).as_object().cloned().unwrap(),
    };
    let missing = QueuedEdit::Delete {
        layer_id: 0,
        global_id: gid(B),
    };
    assert!(file.record_edits(&[good.clone(), missing]).is_err());
    assert!(file.changes().unwrap().is_empty(), "nothing half-recorded");
    file.record_edits(&[good]).unwrap();
    let queued = file.changes().unwrap();
    assert_eq!(queued.len(), 1);
    let before = queued[0].before.as_ref().unwrap();
    assert_eq!(
        before.attr_ci("STATUS"),
        Some(&json!("RET")),
        "the before-image holds the value the edit started from"
    );
}

/// Restoring a backup's export: the plan judges each change against the current file, the
/// restore queues it in one go, and restoring it again queues nothing more ("already restored").
#[test]
fn restore_twice_queues_once() {
    use crate::engine::api::{ConflictPolicy, RestoreOutcome};
    let dir = tempfile::tempdir().unwrap();
    let mut old = replica(
        &dir.path().join("old.replica"),
        A,
        vec![feature(A, 1, "IS"), feature(B, 2, "IS")],
    );
    old.record_update(
        0,
        &gid(A),
        json!({"STATUS": "OOS"}).as_object().cloned().unwrap(),
        None,
    )
    .unwrap();
    old.record_add(0, feature(C, 0, "NEW")).unwrap();
    old.record_delete(0, &gid(B)).unwrap();
    let folder =
        new_recovery_dir(&dir.path().join("recovery"), "hydrants", chrono::Utc::now()).unwrap();
    back_up(&old, &folder, "hydrants", "test").unwrap();
    let export = super::backups::read_export(&folder).unwrap();
    let mut current = replica(
        &dir.path().join("current.replica"),
        B,
        vec![feature(A, 1, "IS"), feature(B, 2, "IS")],
    );
    let only = [gid(A)];
    let first =
        super::restore::restore(&mut current, &export, ConflictPolicy::Ask, Some(&only)).unwrap();
    assert_eq!(first.changes.len(), 1);
    let full = super::restore::restore(&mut current, &export, ConflictPolicy::Ask, None).unwrap();
    let outcomes: Vec<_> = full
        .changes
        .iter()
        .map(|c| (c.global_id.clone(), c.outcome))
        .collect();
    assert!(outcomes.contains(&(gid(A), RestoreOutcome::AlreadyRestored)));
    assert!(outcomes.contains(&(gid(B), RestoreOutcome::Restored)));
    assert!(outcomes.contains(&(gid(C), RestoreOutcome::Restored)));
    let queued = current.changes().unwrap();
    assert_eq!(queued.len(), 3);
    let again = super::restore::restore(&mut current, &export, ConflictPolicy::Ask, None).unwrap();
    assert!(again.edits.is_empty(), "{again:#?}");
    assert_eq!(current.changes().unwrap(), queued, "the queue is unchanged");
}
