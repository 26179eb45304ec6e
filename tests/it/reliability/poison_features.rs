//! Poison features: geometry the service does not understand (the 122-deep nested
//! `spatialReference`, unknown keys, another geometry type's keys) is refused with 1015 over real
//! HTTP and never reaches other replicas; and a malformed feature already in the service's
//! database (written straight into its SQLite file, as an older service would have stored it)
//! fails neither another client's replica download nor its sync: the other features arrive and
//! the skipped one is logged by GlobalID.

use crate::support::engine::Harness;
use crate::support::server::*;
use serde_json::{Value, json};
use std::path::Path;
use syncwatch::protocol::{Guid, catalog};
use syncwatch::server::ServerConfig;
use syncwatch::service::ClientConfig;

/// `{"spatialReference": … {"wkid": 4326} …}` nested `depth` times.
fn nested_spatial_reference(depth: usize) -> Value {
    let mut sr = json!({"wkid": 4326});
    for _ in 0..depth {
        sr = json!({"spatialReference": sr});
    }
    sr
}

fn hydrant_with(gid: &str, facility: &str, geometry: Value) -> Value {
    json!({"geometry": geometry,
           "attributes": {"GlobalID": gid, "FacilityID": facility, "Status": "IS"}})
}

fn global_ids(features: &Value) -> Vec<String> {
    features
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|f| f["attributes"]["GlobalID"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The poison geometry (and its milder cousins) gets 1015 with the catalog's text, the good add
/// next to it is applied, and other replicas keep syncing and creating, without the poison.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_geometry_is_refused_with_1015() {
    let fx = start().await;
    let (uploader, generation) = fx.replica("0", "").await;
    let (other, other_gen) = fx.replica("0", "").await;
    let point = |extra: Value| {
        let mut g = json!({"x": -122.65, "y": 45.52});
        g.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        g
    };
    let poison = [
        point(json!({"spatialReference": nested_spatial_reference(122)})),
        point(json!({"spatialReference": {"wkid": 4326, "note": "extra"}})),
        point(json!({"comment": "unknown key"})),
        json!({"paths": [[[-122.65, 45.52], [-122.66, 45.53]]]}),
    ];
    let poison_gids: Vec<String> = poison.iter().map(|_| new_gid()).collect();
    let good = new_gid();
    let mut features: Vec<Value> = poison
        .iter()
        .zip(&poison_gids)
        .map(|(geometry, gid)| hydrant_with(gid, "HYD-POISON", geometry.clone()))
        .collect();
    features.push(hydrant_with(
        &good,
        "HYD-GOOD",
        point(json!({"spatialReference": {"wkid": 4326, "latestWkid": 4326}})),
    ));
    let reply = fx
        .sync(
            &uploader,
            generation,
            &adds(0, features),
            &[("rollbackOnFailure", "false"), ("returnIdsForAdds", "true")],
        )
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    let added = results(&reply, 0, "addResults");
    for gid in &poison_gids {
        let row = added
            .iter()
            .find(|r| r["globalId"] == gid.as_str())
            .unwrap_or_else(|| panic!("a result for {gid}: {reply}"));
        assert_eq!(row["success"], false);
        assert_eq!(row["error"]["code"], 1015);
        assert_eq!(row["error"]["description"], catalog::describe(1015, ""));
    }
    assert!(
        added
            .iter()
            .any(|r| r["globalId"] == good.as_str() && r["success"] == true)
    );

    let synced = fx.sync(&other, other_gen, &json!([]), &[]).await;
    assert!(synced.get("error").is_none(), "{synced}");
    let arrived = global_ids(&downloaded(&synced, 0)["adds"]);
    assert!(arrived.contains(&good), "{synced}");
    assert!(poison_gids.iter().all(|g| !arrived.contains(g)));
    let fresh = fx.create("0", &[]).await;
    let data = global_ids(&fresh["layers"][0]["features"]);
    assert!(data.contains(&good));
    assert!(poison_gids.iter().all(|g| !data.contains(g)));
}

/// Takes the service's next generation, straight in its SQLite file.
fn next_generation(conn: &rusqlite::Connection) -> i64 {
    conn.query_row(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'gen' RETURNING CAST(value AS INTEGER)",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

fn open_service_db(service_db: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(service_db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn
}

/// Writes a live row straight into the service's SQLite file at a new generation, with its
/// attribute and geometry columns as given (as a service that stored anything would have).
fn store_row(
    service_db: &Path,
    layer: i64,
    global_id: &str,
    attributes: &str,
    geometry: Option<&str>,
) {
    let conn = open_service_db(service_db);
    let generation = next_generation(&conn);
    conn.execute(
        "INSERT INTO features(layer_id, global_id, attributes, geometry, owner, gen, created_gen, deleted)
         VALUES (?1, ?2, ?3, ?4, '', ?5, ?5, 0)",
        rusqlite::params![layer, global_id, attributes, geometry, generation],
    )
    .unwrap();
}

/// A hydrant with this geometry column, written straight into the service's SQLite file.
fn store_directly(service_db: &Path, global_id: &str, facility: &str, geometry: &str) {
    let attributes = json!({"GlobalID": global_id, "FacilityID": facility, "Status": "IS"});
    store_row(
        service_db,
        0,
        global_id,
        &attributes.to_string(),
        Some(geometry),
    );
}

/// An attachment of `parent`, written straight into the service's SQLite file.
fn store_attachment(service_db: &Path, layer: i64, global_id: &str, parent: &str) {
    let conn = open_service_db(service_db);
    let generation = next_generation(&conn);
    conn.execute(
        "INSERT INTO attachments(layer_id, global_id, parent_global_id, name, content_type, size, data, gen, created_gen, deleted)
         VALUES (?1, ?2, ?3, 'photo.jpg', 'image/jpeg', 3, x'FFD8FF', ?4, ?4, 0)",
        rusqlite::params![layer, global_id, parent, generation],
    )
    .unwrap();
}

/// An inspection stored unreadably (its attributes are not JSON) with an attachment, beside a
/// good inspection with its own: a replica syncing attachments gets the good one and its
/// attachment, and neither of the unreadable parent (the service logs and leaves them out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_stored_parent_fails_no_attachment_download() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start_with(ServerConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    let service_db = dir.path().join("service.sqlite");
    let created = fx
        .create(
            "3",
            &[
                ("returnAttachments", "true"),
                ("attachmentsSyncDirection", "bidirectional"),
            ],
        )
        .await;
    let replica = created["replicaID"]
        .as_str()
        .expect("replicaID")
        .to_string();
    let generation = created["replicaServerGen"].as_i64().unwrap();
    let (broken, broken_photo) = (new_gid(), new_gid());
    store_row(&service_db, 3, &broken, r#"{"GlobalID": "#, None);
    store_attachment(&service_db, 3, &broken_photo, &broken);
    let (good, good_photo) = (new_gid(), new_gid());
    store_row(
        &service_db,
        3,
        &good,
        &json!({"GlobalID": good, "Result": "PASS"}).to_string(),
        None,
    );
    store_attachment(&service_db, 3, &good_photo, &good);

    let reply = fx.sync(&replica, generation, &json!([]), &[]).await;
    assert!(reply.get("error").is_none(), "{reply}");
    let arrived = global_ids(&downloaded(&reply, 3)["adds"]);
    assert!(
        arrived.contains(&good) && !arrived.contains(&broken),
        "{reply}"
    );
    let layer = reply["edits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == 3)
        .unwrap();
    let photos: Vec<&str> = layer["attachments"]["adds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["globalid"].as_str())
        .collect();
    assert_eq!(photos, vec![good_photo.as_str()], "{reply}");
    let fresh = fx.create("3", &[("returnAttachments", "true")]).await;
    assert!(fresh.get("error").is_none(), "{fresh}");
    assert!(global_ids(&fresh["layers"][0]["features"]).contains(&good));
}

async fn log_mentions(h: &Harness, text: &str) -> bool {
    let store = syncwatch::store::Store::open(&h.dir.path().join("syncwatch.db")).unwrap();
    store
        .recent_log(200)
        .unwrap()
        .iter()
        .any(|entry| entry.message.contains(text))
}

/// Two malformed rows stored in the service: one the service can still read but no client can
/// (its geometry nests 127 deep, serde_json's most; inside a feature it is one too deep), and one
/// whose geometry is not JSON at all. A replica created before them syncs, a replica created
/// after them downloads: the good hydrant stored next to them arrives both times, neither
/// malformed row does, and the one the client skipped is logged with its GlobalID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_stored_feature_fails_no_download_or_sync() {
    let h = Harness::start(ServerConfig::default(), ClientConfig::default()).await;
    let before = h.create("before").await;
    let service_db = h.server_dir.path().join("service.sqlite");
    let deep = Guid::new_v4();
    let mut geometry = json!(1);
    for _ in 0..126 {
        geometry = json!([geometry]);
    }
    let deep_geometry = json!({"x": -122.6, "y": 45.5, "spatialReference": geometry}).to_string();
    store_directly(&service_db, deep.as_str(), "HYD-DEEP", &deep_geometry);
    let broken = Guid::new_v4();
    store_directly(
        &service_db,
        broken.as_str(),
        "HYD-BROKEN",
        r#"{"x": -122.6, "y":"#,
    );
    let good = Guid::new_v4();
    store_directly(
        &service_db,
        good.as_str(),
        "HYD-GOOD",
        r#"{"x": -122.61, "y": 45.51}"#,
    );

    let outcome = h.sync(before, false).await.expect("the sync completes");
    assert!(outcome.downloaded >= 1, "{outcome:?}");
    let file = h.file(before);
    assert!(file.server_feature(0, &good).unwrap().is_some());
    assert!(file.server_feature(0, &deep).unwrap().is_none());
    assert!(file.server_feature(0, &broken).unwrap().is_none());
    assert!(
        log_mentions(&h, deep.as_str()).await,
        "the skip names the GlobalID"
    );

    let after = h.create("after").await;
    let file = h.file(after);
    assert!(file.server_feature(0, &good).unwrap().is_some());
    assert!(file.server_feature(0, &deep).unwrap().is_none());
    let seeds = demo().layer(0).unwrap().seed.len() as u32;
    assert_eq!(file.server_feature_count(0).unwrap(), seeds + 1);
    let store = syncwatch::store::Store::open(&h.dir.path().join("syncwatch.db")).unwrap();
    let skips = store
        .recent_log(200)
        .unwrap()
        .into_iter()
        .filter(|e| e.message.contains(deep.as_str()) && e.message.contains("skipped"))
        .count();
    assert_eq!(skips, 2, "logged by the sync and by the create");
}
