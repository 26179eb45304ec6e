//! Attachments and true curves in the reference service over real HTTP: createReplica with
//! returnAttachments (data by URL or base64, the URL served), attachment edits in
//! synchronizeReplica with the real checks behind 1008 / 1009 / 1010 (ObjectType 1 in the JSON
//! results, the rollback infos and the SQLite delta's GDB_DataChangesEditResults), downloads to a
//! second replica, and true curves: densified downloads and 1005.

use crate::support::server::*;
use base64::Engine;
use serde_json::{Value, json};
use syncwatch::geodatabase::delta;
use syncwatch::protocol::{ChangeType, LayerSyncResult, ObjectType, ReplicaResponse, catalog};
use syncwatch::server::{ServerConfig, ServiceDefinition};

const INSPECTIONS: i64 = 3;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An inspection row owned by the anonymous caller (the tests sync without a token).
fn inspection(gid: &str) -> Value {
    json!({"attributes": {"GlobalID": gid, "Result": "PASS", "HydrantGUID": null}})
}

fn photo(gid: &str, parent: &str, bytes: &[u8]) -> Value {
    json!({"globalid": gid, "parentGlobalid": parent, "contentType": "image/jpeg",
           "name": "hydrant.jpg", "data": b64(bytes)})
}

/// Creates an attachment-syncing replica of the inspections table; returns (id, generation).
async fn attachment_replica(fx: &Fixture, by_url: bool) -> (String, i64, Value) {
    replica_of(fx, "3", by_url).await
}

async fn replica_of(fx: &Fixture, layers: &str, by_url: bool) -> (String, i64, Value) {
    let by_url = by_url.to_string();
    let reply = fx
        .create(
            layers,
            &[
                ("returnAttachments", "true"),
                ("returnAttachmentsDataByUrl", by_url.as_str()),
                ("attachmentsSyncDirection", "bidirectional"),
            ],
        )
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    let id = reply["replicaID"].as_str().unwrap().to_string();
    let generation = reply["replicaServerGen"].as_i64().unwrap();
    (id, generation, reply)
}

/// The attachment results of a layer as seed-style rows (through the protocol types).
fn attachment_rows(reply: &Value, layer: i64) -> Vec<syncwatch::protocol::EditResultRow> {
    let response: ReplicaResponse = serde_json::from_value(reply.clone()).unwrap();
    response
        .edits
        .iter()
        .filter(|l| l.id == layer)
        .flat_map(LayerSyncResult::result_rows)
        .collect()
}

/// A photo uploaded from one replica is downloaded by another, by URL (the URL served with its
/// content type) and as base64, byte for byte; createReplica returns it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_attachments_download_to_other_replicas_by_url_and_base64() {
    let fx = start().await;
    let (a, gen_a, _) = attachment_replica(&fx, true).await;
    let (b, gen_b, _) = attachment_replica(&fx, true).await;
    let (c, gen_c, _) = attachment_replica(&fx, false).await;
    let parent = new_gid();
    let photo_gid = new_gid();
    let bytes: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let edits = json!([{"id": 3, "features": {"adds": [inspection(&parent)]},
                        "attachments": {"adds": [photo(&photo_gid, &parent, &bytes)]}}]);
    let up = fx.sync(&a, gen_a, &edits, &[]).await;
    assert!(up.get("error").is_none(), "{up}");
    assert!(attachment_rows(&up, INSPECTIONS).iter().all(|r| r.success));

    let down = fx
        .sync(
            &b,
            gen_b,
            &json!([]),
            &[("returnAttachmentDatabyURL", "true")],
        )
        .await;
    let layer = down["edits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == 3)
        .unwrap();
    let added = &layer["attachments"]["adds"][0];
    assert_eq!(added["globalid"], photo_gid.as_str());
    assert_eq!(added["parentGlobalid"], parent.as_str());
    assert_eq!(added["size"], bytes.len());
    let url = added["url"].as_str().expect("data by URL");
    assert!(url.starts_with(&fx.url), "{url}");
    let resp = fx.http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let down = fx
        .sync(
            &c,
            gen_c,
            &json!([]),
            &[("returnAttachmentDatabyURL", "false")],
        )
        .await;
    let layer = down["edits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == 3)
        .unwrap();
    let data = layer["attachments"]["adds"][0]["data"]
        .as_str()
        .expect("base64 data");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap(),
        bytes
    );

    // A new replica gets it as data; one created without attachments does not.
    let (_, _, created) = attachment_replica(&fx, false).await;
    let data_layer = created["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == 3)
        .unwrap();
    let found = data_layer["attachments"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["data"].as_str().unwrap(), b64(&bytes));
    let plain = fx.create("3", &[]).await;
    assert!(plain["layers"][0].get("attachments").is_none(), "{plain}");
    // The replica resource says how attachments sync.
    let (_, info) = fx
        .get_json(&format!("{}/replicas/{a}?f=json", fx.url))
        .await;
    assert_eq!(info["attachmentsSyncDirection"], "bidirectional");
    assert_eq!(info["returnAttachments"], true);
}

/// 1008 for a missing parent, a content type and a size the layer does not accept, a layer
/// without attachments; 1009 for an update of a deleted attachment; 1010 for a delete of an
/// unknown one — each with ObjectType 1, next to a feature failure with ObjectType 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_checks_report_1008_1009_1010_with_object_type_1() {
    let fx = start().await;
    let (a, gen_a, _) = replica_of(&fx, "0,3", true).await;
    let parent = new_gid();
    let kept = new_gid();
    let gone = new_gid();
    let setup = json!([{"id": 3, "features": {"adds": [inspection(&parent)]},
        "attachments": {"adds": [photo(&kept, &parent, b"one"), photo(&gone, &parent, b"two")]}}]);
    assert!(fx.sync(&a, gen_a, &setup, &[]).await.get("error").is_none());
    let deleted = fx
        .sync(
            &a,
            gen_a,
            &json!([{"id": 3, "attachments": {"deleteIds": [gone]}}]),
            &[],
        )
        .await;
    assert!(attachment_rows(&deleted, 3).is_empty(), "{deleted}");

    let limit = demo().layer(3).unwrap().max_attachment_bytes() as usize;
    let (missing_parent, bad_type, too_big, unknown, stale) =
        (new_gid(), new_gid(), new_gid(), new_gid(), gone.clone());
    let mut wrong_type = photo(&bad_type, &parent, b"MZ");
    wrong_type["contentType"] = json!("application/x-msdownload");
    let edits = json!([
        {"id": 3,
         "features": {"adds": [{"attributes": {"GlobalID": new_gid(), "Result": "MAYBE"}}]},
         "attachments": {
            "adds": [photo(&missing_parent, &new_gid(), b"x"), wrong_type,
                     photo(&too_big, &parent, &vec![0u8; limit + 1]), photo(&kept, &parent, b"one")],
            "updates": [{"globalid": stale, "name": "renamed.jpg"},
                        {"globalid": kept, "contentType": "text/html"}],
            "deleteIds": [unknown]}},
        {"id": 0, "attachments": {"adds": [photo(&new_gid(), &new_gid(), b"x")]}}
    ]);
    let reply = fx
        .sync(&a, gen_a, &edits, &[("rollbackOnFailure", "false")])
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    let rows = attachment_rows(&reply, 3);
    let failed: Vec<_> = rows.iter().filter(|r| !r.success).collect();
    let summary: Vec<(ObjectType, ChangeType, i64)> = failed
        .iter()
        .map(|r| (r.object_type, r.change_type, r.code.unwrap()))
        .collect();
    use ChangeType::*;
    use ObjectType::*;
    assert_eq!(
        summary,
        [
            (Feature, Insert, 1016),
            (Attachment, Insert, 1008),
            (Attachment, Insert, 1008),
            (Attachment, Insert, 1008),
            (Attachment, Update, 1009),
            (Attachment, Update, 1009),
            (Attachment, Delete, 1010),
        ],
        "{reply}"
    );
    let texts: Vec<&str> = failed
        .iter()
        .map(|r| r.description.as_deref().unwrap())
        .collect();
    assert!(
        texts[1].starts_with(&catalog::describe(1008, "")) && texts[1].contains("does not exist")
    );
    assert!(texts[2].contains("not accepted"), "{}", texts[2]);
    assert!(texts[3].contains("at most"), "{}", texts[3]);
    assert!(texts[4].contains("has no attachment"), "{}", texts[4]);
    assert!(texts[5].contains("text/html"), "{}", texts[5]);
    assert!(texts[6].starts_with(&catalog::describe(1010, "")));
    // The resent add of `kept` is not duplicated and not reported as failed.
    assert!(
        failed.iter().filter(|r| r.change_type == Insert).all(|r| r
            .global_id
            .as_ref()
            .map(|g| g.as_str())
            != Some(kept.as_str()))
    );
    let hydrants = attachment_rows(&reply, 0);
    assert_eq!(hydrants.len(), 1);
    assert_eq!(
        (hydrants[0].object_type, hydrants[0].code),
        (Attachment, Some(1008))
    );
    assert!(
        hydrants[0]
            .description
            .as_deref()
            .unwrap()
            .contains("does not have attachments")
    );
    // Synchronous JSON replies with failed edits: the kept attachment is still there once.
    let (_, _, created) = attachment_replica(&fx, true).await;
    let kept_count = created["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == 3)
        .unwrap()["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["globalid"] == kept.as_str())
        .count();
    assert_eq!(kept_count, 1);
}

/// rollbackOnFailure=true: a failed attachment add rolls everything back and the infos name it
/// with objectType 1; the SQLite delta carries attachment results with ObjectType 1 and feature
/// results with 0 in GDB_DataChangesEditResults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_infos_and_sqlite_deltas_carry_object_type_1() {
    let fx = start().await;
    let (a, gen_a, _) = attachment_replica(&fx, true).await;
    let parent = new_gid();
    let orphan = new_gid();
    let edits = json!([{"id": 3, "features": {"adds": [inspection(&parent)]},
        "attachments": {"adds": [photo(&orphan, &new_gid(), b"x")]}}]);
    let reply = fx
        .sync(&a, gen_a, &edits, &[("rollbackOnFailure", "true")])
        .await;
    let infos = reply["error"]["infos"].as_array().expect("rolled back");
    assert_eq!(infos[0]["errorCode"], 1008);
    assert_eq!(infos[0]["objectType"], 1);
    assert_eq!(infos[0]["objectGUID"], orphan.as_str());
    assert_eq!(infos[1]["errorCode"], 2000);

    let bad_feature = json!({"attributes": {"GlobalID": new_gid(), "Result": "MAYBE"}});
    let edits = json!([{"id": 3, "features": {"adds": [inspection(&parent), bad_feature]},
        "attachments": {"adds": [photo(&orphan, &new_gid(), b"x"), photo(&new_gid(), &parent, b"ok")]}}]);
    let reply = fx
        .sync(
            &a,
            gen_a,
            &edits,
            &[
                ("dataFormat", "sqlite"),
                ("transportType", "esriTransportTypeUrl"),
            ],
        )
        .await;
    let url = reply["URL"].as_str().expect("delta URL");
    let bytes = fx
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("delta.geodatabase");
    std::fs::write(&path, &bytes).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = conn
        .prepare("SELECT ObjectType, Code, ChangeType, SyncedLayerId FROM GDB_DataChangesEditResults WHERE Success = 0 ORDER BY ID")
        .unwrap();
    let rows: Vec<(i64, i64, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows, [(0, 1016, 1, 3), (1, 1008, 1, 3)]);
    let read = delta::read(&path).unwrap().to_response();
    let rows = read.result_rows();
    assert!(
        rows.iter()
            .any(|r| r.object_type == ObjectType::Attachment && r.code == Some(1008))
    );
}

/// A replica created with attachmentsSyncDirection=none cannot upload attachments (1008), and
/// contradicting returnAttachments is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_sync_direction_none_refuses_attachment_edits() {
    let fx = start().await;
    let reply = fx
        .create("3", &[("attachmentsSyncDirection", "none")])
        .await;
    let id = reply["replicaID"].as_str().unwrap().to_string();
    let generation = reply["replicaServerGen"].as_i64().unwrap();
    let parent = new_gid();
    let edits = json!([{"id": 3, "features": {"adds": [inspection(&parent)]},
        "attachments": {"adds": [photo(&new_gid(), &parent, b"x")]}}]);
    let synced = fx.sync(&id, generation, &edits, &[]).await;
    let rows = attachment_rows(&synced, 3);
    assert_eq!(rows.len(), 1, "{synced}");
    assert_eq!(rows[0].code, Some(1008));
    assert!(
        rows[0]
            .description
            .as_deref()
            .unwrap()
            .contains("attachmentsSyncDirection")
    );
    let bad = fx
        .create(
            "3",
            &[
                ("returnAttachments", "true"),
                ("attachmentsSyncDirection", "none"),
            ],
        )
        .await;
    assert_eq!(bad["error"]["code"], 400, "{bad}");
}

fn main_gid(def: &ServiceDefinition, main_id: &str) -> (String, Value) {
    let seed = def
        .layer(2)
        .unwrap()
        .seed
        .iter()
        .find(|f| f.attributes["MainID"] == main_id)
        .unwrap();
    (
        seed.attributes["GlobalID"].as_str().unwrap().to_string(),
        seed.geometry.clone().unwrap(),
    )
}

/// createReplica densifies true curves; moving a curved main fails with 1005 while the service
/// does not allow true curve updates (an attribute change and the unchanged densified geometry
/// pass), and succeeds once it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn true_curves_are_densified_and_their_updates_follow_allow_true_curves_updates() {
    let def = demo();
    let (curved, stored) = main_gid(&def, "MN-0060");
    assert!(stored.get("curvePaths").is_some());
    let fx = start().await;
    let reply = fx.create("2", &[]).await;
    let features = reply["layers"][0]["features"].as_array().unwrap();
    assert!(
        features
            .iter()
            .all(|f| f["geometry"].get("curvePaths").is_none())
    );
    let densified = features
        .iter()
        .find(|f| f["attributes"]["GlobalID"] == curved.as_str())
        .unwrap()["geometry"]
        .clone();
    let vertices = densified["paths"][0].as_array().unwrap();
    assert!(vertices.len() > 5, "{densified}");
    assert!(
        vertices.iter().all(|v| v.as_array().unwrap().len() == 3),
        "m kept"
    );
    let (id, generation) = (
        reply["replicaID"].as_str().unwrap().to_string(),
        reply["replicaServerGen"].as_i64().unwrap(),
    );
    let moved = json!({"paths": [[[-122.61, 45.51, 0.0], [-122.60, 45.52, 100.0]]], "hasM": true});
    let update = |geometry: Value, material: &str| {
        json!([{"id": 2, "features": {"updates": [
            {"geometry": geometry, "attributes": {"GlobalID": curved, "Material": material}}]}}])
    };
    let refused = fx
        .sync(&id, generation, &update(moved.clone(), "DI"), &[])
        .await;
    let failed = results(&refused, 2, "updateResults");
    assert_eq!(failed.len(), 1, "{refused}");
    assert_eq!(failed[0]["error"]["code"], 1005);
    assert_eq!(
        failed[0]["error"]["description"],
        catalog::describe(1005, "")
    );
    let same = fx
        .sync(&id, generation, &update(densified.clone(), "PVC"), &[])
        .await;
    assert!(results(&same, 2, "updateResults").is_empty(), "{same}");
    let plain = json!([{"id": 2, "features": {"updates": [
        {"attributes": {"GlobalID": curved, "Material": "CI"}}]}}]);
    assert!(
        results(
            &fx.sync(&id, generation, &plain, &[]).await,
            2,
            "updateResults"
        )
        .is_empty()
    );
    // The curve survived both: a new replica still gets the same densified geometry.
    let again = fx.create("2", &[]).await;
    let kept = again["layers"][0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["attributes"]["GlobalID"] == curved.as_str())
        .unwrap()
        .clone();
    assert_eq!(kept["geometry"], densified);
    assert_eq!(kept["attributes"]["Material"], "CI");
    let (_, layer) = fx.get_json(&format!("{}/2?f=json", fx.url)).await;
    assert_eq!(layer["allowTrueCurvesUpdates"], false);

    let mut text: Value =
        serde_json::from_str(include_str!("../../../assets/demo/service.json")).unwrap();
    text["layers"][2]["allowTrueCurvesUpdates"] = json!(true);
    let allowing = ServiceDefinition::from_json(&text.to_string()).unwrap();
    let fx = start_with(ServerConfig {
        definition: Some(allowing),
        ..Default::default()
    })
    .await;
    let (id, generation) = fx.replica("2", "").await;
    let accepted = fx
        .sync(&id, generation, &update(moved.clone(), "DI"), &[])
        .await;
    assert!(
        results(&accepted, 2, "updateResults").is_empty(),
        "{accepted}"
    );
    let after = fx.create("2", &[]).await;
    let replaced = after["layers"][0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["attributes"]["GlobalID"] == curved.as_str())
        .unwrap()["geometry"]
        .clone();
    assert_eq!(replaced["paths"], moved["paths"]);
}
