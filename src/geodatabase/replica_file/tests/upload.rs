//! Building and marking uploads.

use super::*;

/// The upload carries adds, changed fields of updates (plus GlobalID) and deletes by GlobalID.
#[test]
fn upload_shape() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = new_file(&dir);
    let a = gid(HYDRANT_A);
    let added = file
        .record_add(
            0,
            Feature {
                geometry: None,
                attributes: attrs(json!({"NAME": "new"})),
            },
        )
        .unwrap();
    file.record_update(0, &a, attrs(json!({"NAME": "A2"})), None)
        .unwrap();
    file.record_delete(0, &gid(HYDRANT_B)).unwrap();
    let upload = file.begin_upload().unwrap().unwrap();
    assert_eq!(upload.change_count, 3);
    assert_eq!(upload.edits.len(), 1);
    let features = &upload.edits[0].features;
    assert_eq!(features.adds[0].global_id(), Some(added));
    assert_eq!(
        features.updates[0].attributes,
        attrs(json!({"NAME": "A2", "GlobalID": HYDRANT_A}))
    );
    assert_eq!(features.delete_ids, vec![HYDRANT_B.to_string()]);
    assert!(
        file.changes()
            .unwrap()
            .iter()
            .all(|c| c.state == ChangeState::Uploaded && c.upload_gen == Some(upload.upload_gen))
    );
    let again = file.begin_upload().unwrap().unwrap();
    assert!(again.upload_gen > upload.upload_gen);
}

/// A plan holds changes back (still queued, not marked) and trims others; an acknowledgement
/// folds in only what was sent.
#[test]
fn upload_plan_holds_and_trims() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = new_file(&dir);
    let (a, b) = (gid(HYDRANT_A), gid(HYDRANT_B));
    file.record_update(
        0,
        &a,
        attrs(json!({"NAME": "A2", "DEPTH": 9.0})),
        Some(json!({"x": 7.0, "y": 7.0})),
    )
    .unwrap();
    file.record_update(0, &b, attrs(json!({"NAME": "B2"})), None)
        .unwrap();
    let change_a = file.change(0, &a).unwrap().unwrap();
    let change_b = file.change(0, &b).unwrap().unwrap();
    let plan = UploadPlan {
        held: vec![ChangeKey::of(&change_b)],
        trimmed: vec![Trim {
            change: ChangeKey::of(&change_a),
            fields: vec!["depth".into()],
            geometry: true,
        }],
    };
    let upload = file.begin_upload_with(&plan).unwrap().unwrap();
    assert_eq!(
        (upload.change_count, upload.held, upload.trimmed),
        (1, 1, 1)
    );
    let updates = &upload.edits[0].features.updates;
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0].attributes,
        attrs(json!({"NAME": "A2", "GlobalID": HYDRANT_A}))
    );
    assert_eq!(updates[0].geometry, None);
    let held = file.change(0, &b).unwrap().unwrap();
    assert_eq!((held.state, held.upload_gen), (ChangeState::Pending, None));

    let applied = file
        .apply_sync(Some(upload.upload_gen), &sync_reply(11, vec![]), true)
        .unwrap();
    assert_eq!(applied.acknowledged.len(), 1);
    let server_a = file.server_feature(0, &a).unwrap().unwrap();
    assert_eq!(server_a.attributes["NAME"], json!("A2"));
    assert_eq!(
        server_a.attributes["DEPTH"],
        json!(1.5),
        "left out, not applied"
    );
    assert!(file.change(0, &a).unwrap().is_none());
    assert!(
        file.change(0, &b).unwrap().is_some(),
        "held changes stay queued"
    );

    // A plan entry for an older revision does not apply: the edited change is sent as it is.
    file.record_update(0, &b, attrs(json!({"NAME": "B3"})), None)
        .unwrap();
    let upload = file.begin_upload_with(&plan).unwrap().unwrap();
    assert_eq!((upload.change_count, upload.held), (1, 0));
}
