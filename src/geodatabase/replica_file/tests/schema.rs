//! Creating, opening and migrating replica files.

use super::*;

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

/// A version 4 file (before conflicts) opens, gets the conflicts table and keeps its queue; the
/// conflict check then runs on it (against an unchanged server copy: no conflict).
#[test]
fn format_4_files_get_the_conflicts_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hydrants.replica");
    {
        let mut file = new_file(&dir);
        file.record_update(0, &gid(HYDRANT_A), attrs(json!({"NAME": "A4"})), None)
            .unwrap();
    }
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE conflicts; UPDATE meta SET value = '4' WHERE key = 'version';")
        .unwrap();
    drop(conn);

    let mut file = ReplicaFile::open(&path).unwrap();
    assert_eq!(stored_version(&file), FORMAT_VERSION.to_string());
    assert!(file.conflicts().unwrap().is_empty());
    assert_eq!(file.held_conflict_count().unwrap(), 0);
    let check = file
        .check_conflicts(crate::model::ConflictPolicy::Ask)
        .unwrap();
    assert!(check.found.is_empty() && check.held.is_empty());
    let change = file.change(0, &gid(HYDRANT_A)).unwrap().unwrap();
    assert_eq!(change.attributes["NAME"], json!("A4"));
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
