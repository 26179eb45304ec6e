//! Reading ArcGIS offline maps (issue 22): the two real mobile geodatabases Collector made, and
//! copies changed the ways other ArcGIS versions and apps change them. Every expected value
//! comes from plain rusqlite queries of the file; every read leaves its bytes and modification
//! time as they were.

use crate::support::offline_maps::{
    copy_into, current_rows, fingerprint, other_spelling, read_only, real_files, replica_xml,
    rewrite_xml, texts, write_changes,
};
use syncwatch::geodatabase::mobile::{self, MobileGeodatabaseError};
use syncwatch::model::{OfflineApp, OfflineMap};
use syncwatch::protocol::{FeatureServiceInfo, Guid, LayerInfo};

/// Reads a file and checks that the read changed nothing.
fn read_unchanged(path: &std::path::Path) -> Result<OfflineMap, MobileGeodatabaseError> {
    let before = fingerprint(path);
    let result = mobile::read(path);
    let after = fingerprint(path);
    assert!(before == after, "reading {} changed it", path.display());
    for suffix in ["-journal", "-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        assert!(
            !std::path::Path::new(&side).exists(),
            "reading left a {suffix} file"
        );
    }
    result
}

/// What `sqlite3` shows of a file, checked against the reader's map.
fn assert_matches_the_file(path: &std::path::Path, map: &OfflineMap) {
    let conn = read_only(path);
    let xml = replica_xml(&conn);
    assert_eq!(
        map.replica.replica_id,
        Guid::parse(&texts(&xml, "ReplicaID")[0]).unwrap()
    );
    assert_eq!(map.replica.service_url, texts(&xml, "ServiceName")[0]);
    assert_eq!(map.replica.owner, texts(&xml, "Owner")[0]);
    assert_eq!(map.replica.name, texts(&xml, "ReplicaName")[0]);
    assert_eq!(
        map.replica.sync_model.map(|m| m.to_string()),
        Some("perLayer".to_string()),
        "{}",
        texts(&xml, "SyncModel")[0]
    );
    assert_eq!(
        map.replica.last_sync_ms, None,
        "never synced (1970-01-01T00:00:01)"
    );
    let tables = texts(&xml, "DatasetName");
    let layer_ids = texts(&xml, "LayerID");
    let server_gens = texts(&xml, "ReplicaServerGen");
    let upload_gens = texts(&xml, "ReplicaClientUploadGen");
    let download_gens = texts(&xml, "ReplicaClientDownloadGen");
    let ack_gens = texts(&xml, "ReplicaClientAcknowledgeUploadGen");
    assert_eq!(map.datasets.len(), tables.len());
    assert_eq!(map.datasets.len(), 3);
    for (i, d) in map.datasets.iter().enumerate() {
        assert_eq!(d.table, tables[i]);
        assert_eq!(d.layer_id.to_string(), layer_ids[i]);
        assert_eq!(
            d.server_gen.map(|g| g.to_string()),
            Some(server_gens[i].clone())
        );
        assert_eq!(
            d.client_upload_gen.map(|g| g.to_string()),
            Some(upload_gens[i].clone())
        );
        assert_eq!(
            d.client_download_gen.map(|g| g.to_string()),
            Some(download_gens[i].clone())
        );
        assert_eq!(
            d.client_acknowledge_upload_gen.map(|g| g.to_string()),
            Some(ack_gens[i].clone())
        );
        assert_eq!(d.rows, Some(current_rows(&conn, &d.table)), "{}", d.table);
    }
}

#[test]
fn both_real_files_read_as_sqlite_shows_them() {
    for (path, feature_table) in real_files() {
        let map = read_unchanged(&path).unwrap();
        assert_matches_the_file(&path, &map);
        let features = map
            .datasets
            .iter()
            .find(|d| d.table == feature_table)
            .unwrap();
        assert_eq!(features.rows, Some(69), "both files hold 69 homesites");
        assert_eq!(features.dataset_type, "esriDTFeatureClass");
        assert!(map.datasets.iter().any(|d| d.is_attachment));
        assert_eq!(
            map.changes().total(),
            0,
            "{}: downloaded rows are not local changes",
            path.display()
        );
        assert!(map.predicted.is_empty());
        assert_eq!(map.made_by, OfflineApp::Collector);
        let release: String = read_only(&path)
            .query_row("SELECT description FROM GDB_Version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(map.geodatabase_release, Some(release));
        assert!(map.has_service_definition);
        let mut layers = map.layer_definitions.clone();
        layers.sort();
        assert_eq!(layers, vec![0, 1]);
    }
}

#[test]
fn the_service_items_parse_into_the_live_types() {
    for (path, _) in real_files() {
        let conn = read_only(&path);
        let mut stmt = conn
            .prepare("SELECT ItemType, ItemId, ItemInfo FROM GDB_ServiceItems")
            .unwrap();
        let rows: Vec<(i64, i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let items = mobile::read_service_items(&path).unwrap();
        assert_eq!(items.layers.len(), 2, "every layer item parses");
        for (kind, id, json) in rows {
            if kind == 0 {
                let live: FeatureServiceInfo = mobile::service_items::lenient_json(&json).unwrap();
                assert_eq!(items.service.as_ref(), Some(&live));
                assert!(live.sync_enabled, "the service is sync enabled");
            } else {
                let live: LayerInfo = mobile::service_items::lenient_json(&json).unwrap();
                assert_eq!(items.layer(id), Some(&live));
                assert!(!live.fields.is_empty());
                assert_eq!(live.global_id_field, "GlobalID");
            }
        }
    }
}

#[test]
fn the_other_xml_spelling_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (path, _)) in real_files().into_iter().enumerate() {
        let copy = copy_into(&path, dir.path(), &format!("spelled-{i}.geodatabase"));
        rewrite_xml(&copy, other_spelling);
        let xml = replica_xml(&read_only(&copy));
        assert!(xml.starts_with("<typens:GPSyncReplica "), "{xml:.80}");
        assert!(!xml.contains("xs:long") && !xml.contains('\''));
        let original = read_unchanged(&path).unwrap();
        let mut respelled = read_unchanged(&copy).unwrap();
        respelled.path = original.path.clone();
        assert_eq!(respelled, original);
    }
}

#[test]
fn local_adds_updates_and_deletes_are_counted_and_judged() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (path, table)) in real_files().into_iter().enumerate() {
        let copy = copy_into(&path, dir.path(), &format!("edited-{i}.geodatabase"));
        let (updated, _deleted, _added) = write_changes(&copy, table, 3, 2, 4, Some(9));
        let map = read_unchanged(&copy).unwrap();
        let d = map.datasets.iter().find(|d| d.table == table).unwrap();
        assert_eq!(
            (d.changes.adds, d.changes.updates, d.changes.deletes),
            (4, 3, 2)
        );
        let conn = read_only(&copy);
        assert_eq!(d.rows, Some(current_rows(&conn, table)));
        assert_eq!(d.rows, Some(69 - 2 + 4));
        // climatic_zone 9 is outside the layer's coded values: the service's 1016
        assert_eq!(map.predicted.len(), 1, "{:?}", map.predicted);
        assert_eq!(map.predicted[0].code, 1016);
        assert_eq!(map.predicted[0].global_id, updated[0]);
        assert!(
            map.predicted[0].description.contains("climatic_zone"),
            "{}",
            map.predicted[0].description
        );
        // the other datasets are untouched
        let others: u64 = map
            .datasets
            .iter()
            .filter(|o| o.table != table)
            .map(|o| o.changes.total())
            .sum();
        assert_eq!(others, 0);
    }
}

#[test]
fn bad_files_give_one_clear_line_and_stay_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (real, _) = real_files().remove(0);

    let text = dir.path().join("notes.geodatabase");
    std::fs::write(&text, "not a database at all, just text\n").unwrap();

    let plain = dir.path().join("plain.geodatabase");
    {
        let conn = rusqlite::Connection::open(&plain).unwrap();
        conn.execute("CREATE TABLE t (x)", []).unwrap();
    }

    let no_replica = copy_into(&real, dir.path(), "no-replica.geodatabase");
    {
        let conn = rusqlite::Connection::open(&no_replica).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS st_delete_trigger_GDB_Items_Shape; \
             DELETE FROM GDB_Items WHERE Definition LIKE '%GPSyncReplica%'",
        )
        .unwrap();
    }

    let bad_xml = copy_into(&real, dir.path(), "bad-xml.geodatabase");
    rewrite_xml(&bad_xml, |xml| xml[..xml.len() / 2].to_string());

    let in_use = copy_into(&real, dir.path(), "in-use.geodatabase");
    let journal = dir.path().join("in-use.geodatabase-journal");
    std::fs::write(&journal, b"a hot journal another app is writing").unwrap();

    let cases: [(&std::path::Path, &str); 5] = [
        (&text, "not a SQLite file"),
        (&plain, "without GDB_Items"),
        (&no_replica, "not a sync-enabled offline map"),
        (&bad_xml, "replica definition cannot be read"),
        (&in_use, "in use by another app"),
    ];
    for (path, expected) in cases {
        let before = fingerprint(path);
        let error = mobile::read(path).unwrap_err().to_string();
        assert_eq!(fingerprint(path), before, "{}", path.display());
        assert!(error.contains(expected), "{}: {error}", path.display());
        assert!(!error.contains('\n'), "one line: {error}");
        assert!(
            error.contains(&path.display().to_string()),
            "names the file: {error}"
        );
    }
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        b"a hot journal another app is writing"
    );
}
