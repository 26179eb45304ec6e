//! Recording, fixing and dropping local feature edits.

use super::*;

/// Adds, updates and deletes queue up; an update of an add stays an add, a delete of an add
/// removes it, repeated updates merge and keep the first before-image.
#[test]
fn change_tracking_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = new_file(&dir);
    let a = gid(HYDRANT_A);
    let b = gid(HYDRANT_B);

    let added = file
        .record_add(
            0,
            Feature {
                geometry: Some(json!({"x": 9.0, "y": 9.0})),
                attributes: attrs(json!({"NAME": "new"})),
            },
        )
        .unwrap();
    file.record_update(0, &added, attrs(json!({"DEPTH": 3.0})), None)
        .unwrap();
    let change = file.change(0, &added).unwrap().unwrap();
    assert_eq!(change.kind, ChangeKind::Add);
    assert_eq!(change.attributes["DEPTH"], json!(3.0));
    assert_eq!(change.attributes["NAME"], json!("new"));
    assert_eq!(change.attributes["GlobalID"], json!(added.as_str()));

    file.record_update(0, &a, attrs(json!({"NAME": "A2"})), None)
        .unwrap();
    file.record_update(
        0,
        &a,
        attrs(json!({"DEPTH": 2.0})),
        Some(json!({"x": 5.0, "y": 5.0})),
    )
    .unwrap();
    let change = file.change(0, &a).unwrap().unwrap();
    assert_eq!(change.kind, ChangeKind::Update);
    assert_eq!(change.attributes.len(), 2);
    assert_eq!(
        change.before.as_ref().unwrap().attributes["NAME"],
        json!("A")
    );
    let local = file.local_feature(0, &a).unwrap().unwrap();
    assert_eq!(local.attributes["NAME"], json!("A2"));
    assert_eq!(local.geometry, Some(json!({"x": 5.0, "y": 5.0})));
    assert_eq!(
        file.server_feature(0, &a).unwrap().unwrap().attributes["NAME"],
        json!("A")
    );

    file.record_delete(0, &b).unwrap();
    assert!(file.local_feature(0, &b).unwrap().is_none());
    assert!(matches!(
        file.record_update(0, &b, attrs(json!({"NAME": "x"})), None),
        Err(ReplicaFileError::DeletedLocally { .. })
    ));

    let counts = file.pending_counts().unwrap();
    assert_eq!(counts[0].adds, 1);
    assert_eq!(counts[0].updates, 1);
    assert_eq!(counts[0].deletes, 1);
    assert_eq!(counts[1].total(), 0);

    file.record_delete(0, &added).unwrap();
    assert!(file.change(0, &added).unwrap().is_none());
    assert_eq!(file.pending_counts().unwrap()[0].adds, 0);

    assert!(matches!(
        file.record_update(0, &Guid::new_v4(), Attributes::new(), None),
        Err(ReplicaFileError::NoSuchFeature { .. })
    ));
    assert!(matches!(
        file.record_add(7, Feature::default()),
        Err(ReplicaFileError::UnknownLayer { layer_id: 7 })
    ));
    assert!(matches!(
        file.record_add(0, feature(HYDRANT_A, 1, "dup")),
        Err(ReplicaFileError::FeatureExists { .. })
    ));
}

/// Fix replaces a queued change's values and requeues it; drop reverts to the server version.
#[test]
fn fix_and_drop() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = new_file(&dir);
    let a = gid(HYDRANT_A);
    let b = gid(HYDRANT_B);
    file.record_update(0, &a, attrs(json!({"DEPTH": null})), None)
        .unwrap();
    file.record_refusals(&[EditResultRow {
        layer_id: 0,
        object_id: Some(1),
        global_id: Some(a.clone()),
        object_type: ObjectType::Feature,
        change_type: ChangeType::Update,
        success: false,
        code: Some(1001),
        description: Some("not nullable".into()),
    }])
    .unwrap();
    assert_eq!(
        file.change(0, &a).unwrap().unwrap().state,
        ChangeState::Failed
    );
    let fixed = file
        .fix_change(0, &a, attrs(json!({"DEPTH": 2.5})), None)
        .unwrap();
    assert_eq!(fixed.state, ChangeState::Pending);
    assert_eq!(fixed.attributes, attrs(json!({"DEPTH": 2.5})));
    assert_eq!(fixed.error_code, None);
    assert_counts_match_the_queue(&file);

    file.record_delete(0, &b).unwrap();
    assert!(matches!(
        file.fix_change(0, &b, Attributes::new(), None),
        Err(ReplicaFileError::CannotFixDelete { .. })
    ));
    let dropped = file.drop_change(0, &b).unwrap();
    assert_counts_match_the_queue(&file);
    assert_eq!(dropped.kind, ChangeKind::Delete);
    assert_eq!(
        file.local_feature(0, &b).unwrap().unwrap().attributes["NAME"],
        json!("B")
    );
    file.drop_change(0, &a).unwrap();
    assert_eq!(
        file.local_feature(0, &a).unwrap().unwrap().attributes["DEPTH"],
        json!(1.5)
    );
    assert!(matches!(
        file.drop_change(0, &a),
        Err(ReplicaFileError::NoSuchChange { .. })
    ));
}
