//! Attachments: stored, queued, uploaded, acknowledged and downloaded.

use super::*;

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
