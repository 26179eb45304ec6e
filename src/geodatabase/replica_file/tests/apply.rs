//! Applying sync replies: acknowledgements, refusals and downloads.

use super::*;

/// A sync reply acknowledges successes, keeps refusals queued with their code, applies server
/// changes and advances the generation, all together.
#[test]
fn apply_sync_acknowledges_refuses_and_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = new_file(&dir);
    let a = gid(HYDRANT_A);
    let b = gid(HYDRANT_B);
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
    file.record_update(0, &b, attrs(json!({"DEPTH": null})), None)
        .unwrap();
    let upload = file.begin_upload().unwrap().unwrap();
    let server_add = feature("{33333333-3333-3333-3333-333333333333}", 50, "from server");
    assert_counts_match_the_queue(&file);
    let reply = sync_reply(
        11,
        vec![LayerSyncResult {
            id: 0,
            features: FeatureChanges {
                adds: vec![server_add],
                ..Default::default()
            },
            add_results: vec![EditResult::ok(Some(99), Some(added.clone()))],
            update_results: vec![
                EditResult::ok(Some(1), Some(a.clone())),
                EditResult::failed(
                    Some(2),
                    Some(b.clone()),
                    1001,
                    "Field: DEPTH is not nullable.",
                ),
            ],
            ..Default::default()
        }],
    );
    let applied = file
        .apply_sync(Some(upload.upload_gen), &reply, true)
        .unwrap();
    assert_eq!(applied.acknowledged.len(), 2);
    assert_eq!(applied.refused.len(), 1);
    assert_eq!(applied.refused[0].code, Some(1001));
    assert_eq!(applied.downloaded_adds, 1);
    assert_eq!(applied.generations.replica_server_gen, Some(11));
    assert_counts_match_the_queue(&file);

    let changes = file.changes().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].global_id, b);
    assert_eq!(changes[0].state, ChangeState::Failed);
    assert_eq!(changes[0].error_code, Some(1001));
    let server_a = file.server_feature(0, &a).unwrap().unwrap();
    assert_eq!(server_a.attributes["NAME"], json!("A2"));
    assert_eq!(server_a.attributes["DEPTH"], json!(1.5));
    let server_added = file.server_feature(0, &added).unwrap().unwrap();
    assert_eq!(server_added.attributes["OBJECTID"], json!(99));
    assert_eq!(file.server_feature_count(0).unwrap(), 4);

    // The refused edit is resent on the next upload.
    let next = file.begin_upload().unwrap().unwrap();
    assert_eq!(next.change_count, 1);
    assert_eq!(
        next.edits[0].features.updates[0].global_id(),
        Some(b.clone())
    );
    assert_eq!(
        file.change(0, &b).unwrap().unwrap().state,
        ChangeState::Failed
    );
}

/// A complete reply without a result for an uploaded change acknowledges it (servers report
/// failures only); a NoEdits reply still advances the generation; an upload-only sync does not.
#[test]
fn unreported_edits_are_acknowledged_and_no_edits_advance_generation() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = new_file(&dir);
    file.record_delete(0, &gid(HYDRANT_A)).unwrap();
    let upload = file.begin_upload().unwrap().unwrap();
    let reply = ReplicaResponse {
        replica_server_gen: Some(12),
        response_type: Some(ResponseType::NoEdits),
        ..Default::default()
    };
    let applied = file
        .apply_sync(Some(upload.upload_gen), &reply, false)
        .unwrap();
    assert_eq!(applied.acknowledged.len(), 1);
    assert_eq!(applied.generations.replica_server_gen, Some(10));
    assert!(file.changes().unwrap().is_empty());
    assert!(file.server_feature(0, &gid(HYDRANT_A)).unwrap().is_none());
    let applied = file.apply_sync(None, &reply, true).unwrap();
    assert_eq!(applied.generations.replica_server_gen, Some(12));
}

/// A change edited again after its upload keeps the newer values queued when acknowledged.
#[test]
fn edit_during_upload_survives_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = new_file(&dir);
    let added = file
        .record_add(
            0,
            Feature {
                geometry: None,
                attributes: attrs(json!({"NAME": "v1"})),
            },
        )
        .unwrap();
    let upload = file.begin_upload().unwrap().unwrap();
    file.record_update(0, &added, attrs(json!({"NAME": "v2"})), None)
        .unwrap();
    let reply = sync_reply(
        11,
        vec![LayerSyncResult {
            id: 0,
            add_results: vec![EditResult::ok(Some(7), Some(added.clone()))],
            ..Default::default()
        }],
    );
    file.apply_sync(Some(upload.upload_gen), &reply, true)
        .unwrap();
    assert_eq!(
        file.server_feature(0, &added).unwrap().unwrap().attributes["NAME"],
        json!("v1")
    );
    let change = file.change(0, &added).unwrap().unwrap();
    assert_eq!(change.kind, ChangeKind::Update);
    assert_eq!(change.state, ChangeState::Pending);
    assert_eq!(
        file.local_feature(0, &added).unwrap().unwrap().attributes["NAME"],
        json!("v2")
    );
}

/// A server delete beats a local update; a redone download that echoes our own add does not
/// duplicate it.
#[test]
fn server_delete_wins_and_echoes_do_not_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = new_file(&dir);
    let a = gid(HYDRANT_A);
    file.record_update(0, &a, attrs(json!({"NAME": "mine"})), None)
        .unwrap();
    let added = file
        .record_add(
            0,
            Feature {
                geometry: None,
                attributes: attrs(json!({"NAME": "new"})),
            },
        )
        .unwrap();
    let upload = file.begin_upload().unwrap().unwrap();
    let echoed = Feature {
        geometry: None,
        attributes: attrs(json!({"GlobalID": added.as_str(), "NAME": "new", "OBJECTID": 70})),
    };
    let reply = sync_reply(
        13,
        vec![LayerSyncResult {
            id: 0,
            features: FeatureChanges {
                adds: vec![echoed],
                delete_ids: vec![HYDRANT_A.into()],
                ..Default::default()
            },
            add_results: vec![EditResult::ok(Some(70), Some(added.clone()))],
            update_results: vec![EditResult::failed(
                None,
                Some(a.clone()),
                1011,
                "Object is missing.",
            )],
            ..Default::default()
        }],
    );
    let applied = file
        .apply_sync(Some(upload.upload_gen), &reply, true)
        .unwrap();
    assert_eq!(applied.superseded, vec![(0, a.clone())]);
    assert!(file.change(0, &a).unwrap().is_none());
    assert!(file.local_feature(0, &a).unwrap().is_none());
    // B and the add, once each.
    assert_eq!(file.server_feature_count(0).unwrap(), 2);
    assert!(file.changes().unwrap().is_empty());
}
