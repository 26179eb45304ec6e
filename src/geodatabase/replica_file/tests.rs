use super::*;
use crate::protocol::{
    Attachment, ChangeType, EditResult, LayerServerGen, LayerSyncResult, ReplicaLayerData,
    ResponseType,
};
use serde_json::json;

const HYDRANT_A: &str = "{11111111-1111-1111-1111-111111111111}";
const HYDRANT_B: &str = "{22222222-2222-2222-2222-222222222222}";

fn gid(text: &str) -> Guid {
    Guid::parse(text).unwrap()
}

fn feature(global_id: &str, object_id: i64, name: &str) -> Feature {
    let mut attributes = Attributes::new();
    attributes.insert("OBJECTID".into(), json!(object_id));
    attributes.insert("GlobalID".into(), json!(global_id));
    attributes.insert("NAME".into(), json!(name));
    attributes.insert("DEPTH".into(), json!(1.5));
    Feature {
        geometry: Some(json!({"x": object_id as f64, "y": 0.0})),
        attributes,
    }
}

fn attrs(value: serde_json::Value) -> Attributes {
    value.as_object().unwrap().clone()
}

fn definition(model: SyncModel) -> ReplicaDefinition {
    ReplicaDefinition {
        service_url: "http://127.0.0.1:1/arcgis/rest/services/Water/FeatureServer".into(),
        replica_guid: gid("{7A0C2C24-5CA5-408F-8705-A23EF105F351}"),
        name: "hydrants".into(),
        sync_model: model,
        direction: SyncDirection::Bidirectional,
        layers: vec![
            ReplicaLayer {
                layer_id: 0,
                name: "Hydrants".into(),
                query: LayerQuery::all(),
            },
            ReplicaLayer {
                layer_id: 1,
                name: "Valves".into(),
                query: LayerQuery::all(),
            },
        ],
        created_ms: 1,
    }
}

fn create_response() -> ReplicaResponse {
    ReplicaResponse {
        replica_server_gen: Some(10),
        response_type: Some(ResponseType::Data),
        layers: vec![
            ReplicaLayerData {
                id: 0,
                features: vec![feature(HYDRANT_A, 1, "A"), feature(HYDRANT_B, 2, "B")],
                attachments: vec![],
            },
            ReplicaLayerData {
                id: 1,
                features: vec![],
                attachments: vec![],
            },
        ],
        ..Default::default()
    }
}

/// What version 4 added, taken away again (to make an older file).
const UNDO_FORMAT_4: &str = "
    DROP TRIGGER queue_counts_insert; DROP TRIGGER queue_counts_delete;
    DROP TRIGGER queue_counts_update; DROP TABLE queue_counts;
    DROP TRIGGER predictions_due_insert; DROP TRIGGER predictions_due_update;
    DROP TRIGGER predictions_due_delete;";

/// What version 3 added, taken away again.
const UNDO_FORMAT_3: &str = "
    ALTER TABLE definition DROP COLUMN editor;
    ALTER TABLE changes DROP COLUMN predicted_code;
    ALTER TABLE changes DROP COLUMN predicted_text;
    ALTER TABLE changes DROP COLUMN predicted_revision;";

/// The format version the file says it has.
fn stored_version(file: &ReplicaFile) -> String {
    file.conn
        .query_row("SELECT value FROM meta WHERE key = 'version'", [], |r| {
            r.get(0)
        })
        .unwrap()
}

/// The trigger-kept queue counts equal a count of the queue itself (what version 3 did).
fn assert_counts_match_the_queue(file: &ReplicaFile) {
    let mut stmt = file
        .conn
        .prepare(
            "SELECT l.layer_id,
                COALESCE(SUM(c.kind = 'add'), 0), COALESCE(SUM(c.kind = 'update'), 0),
                COALESCE(SUM(c.kind = 'delete'), 0), COALESCE(SUM(c.state = 'failed'), 0),
                COALESCE(SUM(c.state <> 'failed' AND c.predicted_code IS NOT NULL
                    AND c.predicted_revision = c.revision), 0)
             FROM layers l LEFT JOIN changes c ON c.layer_id = l.layer_id
             GROUP BY l.layer_id ORDER BY l.layer_id",
        )
        .unwrap();
    let counted: Vec<[i64; 6]> = stmt
        .query_map([], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ])
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let kept: Vec<[i64; 6]> = file
        .pending_counts()
        .unwrap()
        .iter()
        .map(|c| {
            let attachment_failures = attachments::counts(&file.conn, &file.path)
                .unwrap()
                .get(&c.layer_id)
                .map_or(0, |(_, failed)| *failed);
            [
                c.layer_id,
                c.adds as i64,
                c.updates as i64,
                c.deletes as i64,
                c.failed as i64 - attachment_failures as i64,
                c.predicted as i64,
            ]
        })
        .collect();
    assert_eq!(kept, counted);
}

fn new_file(dir: &tempfile::TempDir) -> ReplicaFile {
    ReplicaFile::create(
        &dir.path().join("hydrants.replica"),
        &definition(SyncModel::PerReplica),
        &create_response(),
        None,
        &[],
    )
    .unwrap()
}

fn sync_reply(generation: i64, layers: Vec<LayerSyncResult>) -> ReplicaResponse {
    ReplicaResponse {
        replica_server_gen: Some(generation),
        response_type: Some(ResponseType::Edits),
        edits: layers,
        ..Default::default()
    }
}

/// A created replica file holds the definition, the data, the generation, and is private.
#[test]
fn create_stores_definition_data_and_generation() {
    let dir = tempfile::tempdir().unwrap();
    let file = new_file(&dir);
    assert_eq!(
        file.definition().unwrap(),
        definition(SyncModel::PerReplica)
    );
    assert_eq!(file.generations().unwrap().replica_server_gen, Some(10));
    assert_eq!(file.server_feature_count(0).unwrap(), 2);
    assert_eq!(file.local_features(0).unwrap().len(), 2);
    assert!(!dir.path().join("hydrants.partial").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    drop(file);
    let again = ReplicaFile::open(&dir.path().join("hydrants.replica")).unwrap();
    assert_eq!(again.server_feature_count(0).unwrap(), 2);
}

/// perLayer replicas keep one generation per layer.
#[test]
fn per_layer_generations() {
    let dir = tempfile::tempdir().unwrap();
    let mut response = create_response();
    response.replica_server_gen = None;
    response.layer_server_gens = vec![
        LayerServerGen {
            id: 0,
            server_gen: 4,
            server_sib_gen: None,
        },
        LayerServerGen {
            id: 1,
            server_gen: 5,
            server_sib_gen: None,
        },
    ];
    let file = ReplicaFile::create(
        &dir.path().join("r.replica"),
        &definition(SyncModel::PerLayer),
        &response,
        None,
        &[],
    )
    .unwrap();
    let gens = file.generations().unwrap();
    assert_eq!(gens.replica_server_gen, None);
    assert_eq!(gens.layer_server_gens, vec![(0, 4), (1, 5)]);
}

/// An existing file is never overwritten; garbage and foreign SQLite files give typed errors.
#[test]
fn refuses_to_overwrite_and_names_corrupt_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hydrants.replica");
    std::fs::write(&path, b"this is not sqlite at all, just some text ......").unwrap();
    let err = ReplicaFile::create(
        &path,
        &definition(SyncModel::PerReplica),
        &create_response(),
        None,
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(err, ReplicaFileError::AlreadyExists { .. }),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"this is not sqlite at all, just some text ......"
    );
    let err = ReplicaFile::open(&path).unwrap_err();
    assert!(matches!(err, ReplicaFileError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("hydrants.replica"), "{err}");

    let foreign = dir.path().join("other.sqlite");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER);")
        .unwrap();
    let err = ReplicaFile::open(&foreign).unwrap_err();
    assert!(
        matches!(err, ReplicaFileError::NotAReplicaFile { .. }),
        "{err:?}"
    );
    assert!(matches!(
        ReplicaFile::open(&dir.path().join("nope.replica")).unwrap_err(),
        ReplicaFileError::Missing { .. }
    ));
}

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

fn attachment_file(dir: &tempfile::TempDir) -> ReplicaFile {
    let mut response = create_response();
    response.layers[0].attachments = vec![Attachment {
        attachment_id: Some(7),
        global_id: PHOTO_A.into(),
        parent_global_id: HYDRANT_A.into(),
        content_type: "image/jpeg".into(),
        name: "a.jpg".into(),
        data: Some("AAEC".into()),
        ..Default::default()
    }];
    ReplicaFile::create_with_attachments(
        &dir.path().join("photos.replica"),
        &definition(SyncModel::PerReplica),
        &response,
        None,
        &[],
        &AttachmentSetup {
            direction: AttachmentsSyncDirection::Bidirectional,
            payloads: &AttachmentPayloads::new(),
        },
    )
    .unwrap()
}

const PHOTO_A: &str = "{33333333-3333-3333-3333-333333333333}";

/// Attachments from createReplica are stored; local adds, updates and deletes are queued, sent
/// with the edits (data as base64), acknowledged or kept failed, and downloads land with the
/// generation; a server delete of the parent takes its attachments.
#[test]
fn attachments_are_tracked_uploaded_acknowledged_and_downloaded() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = attachment_file(&dir);
    assert_eq!(
        file.attachments_sync_direction().unwrap(),
        AttachmentsSyncDirection::Bidirectional
    );
    let photo_a = gid(PHOTO_A);
    assert_eq!(file.attachment_data(&photo_a).unwrap(), Some(vec![0, 1, 2]));
    let (layer, added) = file
        .record_attachment_add(&gid(HYDRANT_B), "b.png", "image/png", b"png-bytes")
        .unwrap();
    assert_eq!(layer, 0);
    file.record_attachment_update(&photo_a, Some("renamed.jpg"), None, None)
        .unwrap();
    assert!(matches!(
        file.record_attachment_add(
            &gid("{44444444-4444-4444-4444-444444444444}"),
            "x",
            "image/png",
            b"x"
        ),
        Err(ReplicaFileError::NoSuchFeatureAnywhere { .. })
    ));
    assert_eq!(file.pending_counts().unwrap()[0].attachments, 2);
    let upload = file.begin_upload().unwrap().unwrap();
    assert_eq!(upload.change_count, 2);
    let sent = &upload.edits[0].attachments;
    assert_eq!(sent.adds.len(), 1);
    assert_eq!(sent.adds[0].data.as_deref(), Some("cG5nLWJ5dGVz"));
    assert_eq!(sent.updates[0].name, "renamed.jpg");
    assert!(sent.updates[0].data.is_none());
    // The server refuses the rename, accepts the add, and sends a new photo of hydrant A.
    let mut layer_reply = LayerSyncResult {
        id: 0,
        ..Default::default()
    };
    layer_reply.attachments.update_results = vec![EditResult::failed(
        None,
        Some(photo_a.clone()),
        1009,
        "Updating an attachment failed.",
    )];
    let downloaded = "{55555555-5555-5555-5555-555555555555}";
    layer_reply.attachments.adds = vec![Attachment {
        global_id: downloaded.into(),
        parent_global_id: HYDRANT_A.into(),
        content_type: "image/jpeg".into(),
        name: "server.jpg".into(),
        url: Some("http://127.0.0.1:1/x".into()),
        ..Default::default()
    }];
    let reply = sync_reply(11, vec![layer_reply.clone()]);
    // Without the downloaded data nothing is applied, not even the generation.
    assert!(matches!(
        file.apply_sync(Some(upload.upload_gen), &reply, true),
        Err(ReplicaFileError::MissingAttachmentData { .. })
    ));
    assert_eq!(file.generations().unwrap().replica_server_gen, Some(10));
    let payload = dir.path().join("payload.bin");
    std::fs::write(&payload, b"server-photo").unwrap();
    let payloads = AttachmentPayloads::from([(gid(downloaded).as_str().to_string(), payload)]);
    let applied = file
        .apply_sync_with_attachments(Some(upload.upload_gen), &reply, true, &payloads)
        .unwrap();
    assert_eq!(applied.generations.replica_server_gen, Some(11));
    assert_eq!(applied.downloaded_attachments, 1);
    assert_eq!(
        applied.acknowledged_attachments,
        vec![(0, added.clone(), ChangeKind::Add)]
    );
    assert_eq!(applied.refused_attachments[0].code, Some(1009));
    assert_eq!(
        file.attachment_data(&gid(downloaded)).unwrap().as_deref(),
        Some(&b"server-photo"[..])
    );
    let all = file.attachments(None).unwrap();
    assert_eq!(all.len(), 3);
    let refused = all.iter().find(|a| a.global_id == photo_a).unwrap();
    assert_eq!(
        (refused.pending, refused.error_code),
        (Some(ChangeKind::Update), Some(1009))
    );
    let acknowledged = all.iter().find(|a| a.global_id == added).unwrap();
    assert_eq!((acknowledged.pending, acknowledged.size), (None, 9));
    assert_eq!(file.pending_counts().unwrap()[0].failed, 1);
    // Dropping the refused change reverts to the server's name.
    assert!(file.drop_queued(0, &photo_a).unwrap());
    assert_eq!(file.attachment(&photo_a).unwrap().unwrap().name, "a.jpg");
    // Deleting a local add the server never saw just forgets it.
    let (_, scratch) = file
        .record_attachment_add(&gid(HYDRANT_A), "c.pdf", "application/pdf", b"%PDF")
        .unwrap();
    file.record_attachment_delete(&scratch).unwrap();
    assert!(file.attachment(&scratch).unwrap().is_none());
    // The server deleted hydrant A: its attachments go with it.
    let mut gone = LayerSyncResult {
        id: 0,
        ..Default::default()
    };
    gone.features.delete_ids = vec![HYDRANT_A.into()];
    file.apply_sync(None, &sync_reply(12, vec![gone]), true)
        .unwrap();
    let left: Vec<_> = file
        .attachments(None)
        .unwrap()
        .into_iter()
        .map(|a| a.global_id)
        .collect();
    assert_eq!(left, vec![added]);
}

/// A format-1 file (no attachment tables) opens, is migrated in place, keeps its queued edits
/// and can then queue attachments; a file from a newer build is refused.
#[test]
fn format_1_files_are_migrated_without_losing_edits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hydrants.replica");
    let mut file = new_file(&dir);
    file.record_update(0, &gid(HYDRANT_A), attrs(json!({"NAME": "kept"})), None)
        .unwrap();
    drop(file);
    let old = Connection::open(&path).unwrap();
    old.execute_batch(&format!(
        "{UNDO_FORMAT_4} {UNDO_FORMAT_3}
             DROP TABLE attachment_changes; DROP TABLE attachments;
             DELETE FROM meta WHERE key = 'attachments_sync_direction';
             UPDATE meta SET value = '1' WHERE key = 'version';"
    ))
    .unwrap();
    drop(old);
    let mut file = ReplicaFile::open(&path).unwrap();
    assert_eq!(stored_version(&file), FORMAT_VERSION.to_string());
    assert_eq!(
        file.local_feature(0, &gid(HYDRANT_A))
            .unwrap()
            .unwrap()
            .attributes["NAME"],
        "kept"
    );
    assert_eq!(file.changes().unwrap().len(), 1);
    assert!(file.attachments(None).unwrap().is_empty());
    assert_counts_match_the_queue(&file);
    assert_eq!(
        file.pending_counts().unwrap()[0].updates,
        1,
        "counted when migrated"
    );
    // Created before attachments: it does not sync them.
    assert!(matches!(
        file.record_attachment_add(&gid(HYDRANT_A), "a.jpg", "image/jpeg", b"x"),
        Err(ReplicaFileError::AttachmentsNotSynced)
    ));
    drop(file);
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE meta SET value = '99' WHERE key = 'version'", [])
        .unwrap();
    assert!(matches!(
        ReplicaFile::open(&path),
        Err(ReplicaFileError::TooNew { found: 99, .. })
    ));
}

/// A version 2 file (before editors and predictions) opens, is migrated in place to version 3,
/// and keeps every queued change.
#[test]
fn format_2_files_get_editor_and_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hydrants.replica");
    {
        let mut file = new_file(&dir);
        file.record_update(0, &gid(HYDRANT_A), attrs(json!({"NAME": "A2"})), None)
            .unwrap();
    }
    // Turn it back into exactly what a version 2 build wrote.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "{UNDO_FORMAT_4} {UNDO_FORMAT_3} UPDATE meta SET value = '2' WHERE key = 'version';"
    ))
    .unwrap();
    drop(conn);

    let mut file = ReplicaFile::open(&path).unwrap();
    assert_eq!(stored_version(&file), FORMAT_VERSION.to_string());
    assert_eq!(file.editor().unwrap(), None, "not known for an old file");
    let change = file.change(0, &gid(HYDRANT_A)).unwrap().unwrap();
    assert_eq!(change.attributes["NAME"], json!("A2"));
    file.set_editor("tech1").unwrap();
    drop(file);
    let file = ReplicaFile::open(&path).unwrap();
    assert_eq!(file.editor().unwrap().as_deref(), Some("tech1"));
    assert_counts_match_the_queue(&file);
    assert_eq!(file.pending_counts().unwrap()[0].updates, 1);
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

/// Predictions are kept per change revision and give way to the server's refusal.
#[test]
fn predictions_follow_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = new_file(&dir);
    let a = gid(HYDRANT_A);
    file.record_update(0, &a, attrs(json!({"NAME": null})), None)
        .unwrap();
    let change = file.change(0, &a).unwrap().unwrap();
    let predicted = PredictedRefusal {
        change: ChangeKey::of(&change),
        kind: ChangeKind::Update,
        code: 1001,
        description: "Field: NAME is not nullable. Cannot set null value.".into(),
    };
    assert!(
        file.predictions_due().unwrap(),
        "queuing the change made them due"
    );
    file.store_predictions(std::slice::from_ref(&predicted))
        .unwrap();
    assert!(!file.predictions_due().unwrap());
    assert_eq!(file.predicted_refusals().unwrap(), vec![predicted.clone()]);
    assert_eq!(file.pending_counts().unwrap()[0].predicted, 1);
    assert_counts_match_the_queue(&file);

    file.record_update(0, &a, attrs(json!({"NAME": "fixed"})), None)
        .unwrap();
    assert!(file.predicted_refusals().unwrap().is_empty(), "stale");
    assert!(file.predictions_due().unwrap(), "the edit made them due");
    assert_counts_match_the_queue(&file);

    let change = file.change(0, &a).unwrap().unwrap();
    file.store_predictions(&[PredictedRefusal {
        change: ChangeKey::of(&change),
        ..predicted
    }])
    .unwrap();
    assert_eq!(file.predicted_refusals().unwrap().len(), 1);
    file.record_refusals(&[EditResultRow {
        layer_id: 0,
        object_id: Some(1),
        global_id: Some(a.clone()),
        object_type: ObjectType::Feature,
        change_type: ChangeType::Update,
        success: false,
        code: Some(1001),
        description: Some("refused".into()),
    }])
    .unwrap();
    assert!(
        file.predicted_refusals().unwrap().is_empty(),
        "the real result wins"
    );
    assert_counts_match_the_queue(&file);
    assert_eq!(
        file.server_values(0, "name").unwrap().len(),
        0,
        "field names in JSON paths are exact"
    );
    let mut names = file.server_values(0, "NAME").unwrap();
    names.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        names,
        vec![
            (HYDRANT_A.to_string(), json!("A")),
            (HYDRANT_B.to_string(), json!("B"))
        ]
    );
}
