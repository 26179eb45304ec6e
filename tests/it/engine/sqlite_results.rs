//! `dataFormat=sqlite` (issue 21) through the real engine against the reference service over
//! HTTP: a create and a sync that ask their results as syncwatch deltas land exactly what the
//! same create and sync land through JSON on the same service (server features, generations,
//! attachments, the upload's results), reading the delta in the same streamed passes and
//! removing it afterwards; `auto` asks SQLite of the reference service (it says its SQLite
//! results are deltas); a delta cut short is fetched again; a SQLite result that is not a
//! syncwatch delta (a real ArcGIS service's mobile geodatabase) or never arrives whole is refused
//! in one line, nothing applied, the replica as it was.

use crate::support::client_config::fast;
use crate::support::demo_data::{HYD_2, HYD_3};
use crate::support::engine::{HYD_1, Harness, attrs, gid};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use syncwatch::engine::{Command, DownloadFormat, Event, JobOutcome, LocalEdit, LocalReplicaId};
use syncwatch::protocol::{Guid, JobState};
use syncwatch::server::ServerConfig;

/// A harness whose engine asks results in `format`.
async fn harness(format: DownloadFormat) -> Harness {
    Harness::start_with(ServerConfig::default(), fast(), |c| {
        c.download_format = format
    })
    .await
}

/// A stored server feature: layer, GlobalID, OBJECTID, attributes, geometry.
type StoredFeature = (i64, String, Option<i64>, Value, Option<Value>);
/// A stored attachment: layer, GlobalID, parent GlobalID, name, size, data.
type StoredAttachment = (i64, String, String, String, i64, Vec<u8>);

/// Everything a replica file holds of the server: features and attachments of every layer (JSON
/// parsed, so spacing does not count), and the generations.
#[derive(Debug, PartialEq)]
struct ServerCopy {
    features: Vec<StoredFeature>,
    attachments: Vec<StoredAttachment>,
    replica_server_gen: Option<i64>,
    layer_server_gens: Vec<(i64, Option<i64>)>,
    queued: i64,
}

fn server_copy(path: &Path) -> ServerCopy {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let parse = |text: Option<String>| text.map(|t| serde_json::from_str::<Value>(&t).unwrap());
    let features = conn
        .prepare(
            "SELECT layer_id, upper(global_id), object_id, attributes_json, geometry_json
             FROM features ORDER BY layer_id, upper(global_id)",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .unwrap()
        .map(|row| {
            let (layer, gid, oid, attributes, geometry) = row.unwrap();
            let mut attributes: Value = serde_json::from_str(&attributes).unwrap();
            if let Some(g) = attributes.get_mut("GlobalID") {
                *g = json!(g.as_str().unwrap_or_default().to_uppercase());
            }
            (layer, gid, oid, attributes, parse(geometry))
        })
        .collect();
    let attachments = conn
        .prepare(
            "SELECT layer_id, upper(global_id), upper(parent_global_id), name, size, data
             FROM attachments ORDER BY layer_id, upper(global_id)",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let replica_server_gen = conn
        .query_row("SELECT replica_server_gen FROM definition", [], |r| {
            r.get(0)
        })
        .unwrap();
    let layer_server_gens = conn
        .prepare("SELECT layer_id, server_gen FROM layers ORDER BY layer_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let queued = conn
        .query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    ServerCopy {
        features,
        attachments,
        replica_server_gen,
        layer_server_gens,
        queued,
    }
}

/// The result files the service wrote as SQLite deltas (its output folder).
fn deltas_written(h: &Harness) -> usize {
    fn walk(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| {
                        let path = e.path();
                        if path.is_dir() {
                            walk(&path)
                        } else {
                            usize::from(path.extension().is_some_and(|x| x == "geodatabase"))
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(h.server_dir.path())
}

/// What is left in the engine's results folder (downloads).
fn leftovers(h: &Harness) -> Vec<String> {
    std::fs::read_dir(h.dir.path().join("results"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The stored edit results of a replica, as comparable rows.
async fn results(
    h: &Harness,
    replica: LocalReplicaId,
) -> Vec<(i64, String, String, bool, Option<i64>)> {
    let mut rows: Vec<_> = h
        .edit_results(replica)
        .await
        .iter()
        .map(|r| {
            (
                r.layer_id,
                r.global_id
                    .as_ref()
                    .map(|g| g.as_str().to_uppercase())
                    .unwrap_or_default(),
                format!("{:?}", r.change_type),
                r.success,
                r.code,
            )
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn a_sqlite_create_lands_what_a_json_create_of_the_same_service_lands() {
    let mut copies = Vec::new();
    for format in [DownloadFormat::Json, DownloadFormat::Sqlite] {
        let h = harness(format).await;
        let replica = h.create("office").await;
        assert_eq!(
            deltas_written(&h) > 0,
            format == DownloadFormat::Sqlite,
            "{format:?}: the service wrote its result as a delta only when asked"
        );
        let stored: Vec<String> = h
            .seen_events()
            .iter()
            .filter_map(|e| match e {
                Event::JobStatus { message, .. }
                    if message.starts_with("storing the features: ") =>
                {
                    Some(message.clone())
                }
                _ => None,
            })
            .collect();
        let copy = server_copy(&h.file_path(replica).expect("a replica file"));
        let total = copy.features.len();
        assert_eq!(
            stored.last().map(String::as_str),
            Some(format!("storing the features: {total} stored").as_str()),
            "{format:?}: {stored:?}"
        );
        assert_eq!(leftovers(&h), Vec::<String>::new(), "{format:?}");
        copies.push(copy);
    }
    assert!(copies[0].features.len() > 3, "{:?}", copies[0]);
    assert!(copies[0].replica_server_gen.is_some());
    assert_eq!(copies[0], copies[1], "JSON create, then SQLite create");
}

/// The GlobalIDs both runs of the sync scenario use.
struct Ids {
    server_add: Guid,
    local_add: Guid,
}

/// Two replicas of one service: `field` uploads an add, an update and a delete; `office`, with
/// a local update and a local add of its own, syncs (a download first, as it has a local
/// update, then the upload). What `office` ends with.
async fn sync_scenario(
    format: DownloadFormat,
    ids: &Ids,
) -> (
    ServerCopy,
    JobOutcome,
    Vec<(i64, String, String, bool, Option<i64>)>,
    usize,
) {
    let h = harness(format).await;
    let field = h.create("field").await;
    let office = h.create("office").await;
    let created = deltas_written(&h);
    h.edit_all(
        field,
        vec![
            LocalEdit::Add {
                attributes: attrs(json!({
                    "GlobalID": ids.server_add.as_str(), "FacilityID": "SRV-ADD", "Status": "IS"
                })),
                geometry: Some(json!({"x": -122.61, "y": 45.51})),
            },
            LocalEdit::Update {
                global_id: gid(HYD_2),
                attributes: attrs(json!({"Status": "OOS"})),
                geometry: None,
            },
            LocalEdit::Delete {
                global_id: gid(HYD_3),
            },
        ],
    )
    .await;
    let sent = h.sync(field, true).await.expect("the field upload syncs");
    assert_eq!(sent.uploaded, 3);
    h.edit_all(
        office,
        vec![
            LocalEdit::Update {
                global_id: gid(HYD_1),
                attributes: attrs(json!({"FacilityID": "OFFICE-1"})),
                geometry: None,
            },
            LocalEdit::Add {
                attributes: attrs(json!({
                    "GlobalID": ids.local_add.as_str(), "FacilityID": "OFFICE-ADD", "Status": "IS"
                })),
                geometry: Some(json!({"x": -122.62, "y": 45.52})),
            },
        ],
    )
    .await;
    let outcome = h.sync(office, true).await.expect("the office sync works");
    let copy = server_copy(&h.file_path(office).expect("a replica file"));
    let rows = results(&h, office).await;
    assert_eq!(leftovers(&h), Vec::<String>::new(), "{format:?}");
    (copy, outcome, rows, deltas_written(&h) - created)
}

#[tokio::test]
async fn a_sqlite_sync_downloads_and_uploads_what_a_json_sync_does() {
    let ids = Ids {
        server_add: Guid::new_v4(),
        local_add: Guid::new_v4(),
    };
    let (json_copy, json_outcome, json_rows, json_deltas) =
        sync_scenario(DownloadFormat::Json, &ids).await;
    let (sqlite_copy, sqlite_outcome, sqlite_rows, sqlite_deltas) =
        sync_scenario(DownloadFormat::Sqlite, &ids).await;
    assert_eq!(json_deltas, 0);
    // The field upload, the office's download first and its upload: each a delta.
    assert_eq!(sqlite_deltas, 3);

    // What the JSON path lands is what the field uploaded, with the office's edits sent.
    let has = |copy: &ServerCopy, gid: &str| {
        copy.features
            .iter()
            .find(|f| f.0 == 0 && f.1 == gid.to_uppercase())
            .map(|f| f.3.clone())
    };
    assert_eq!(
        has(&json_copy, ids.server_add.as_str()).map(|a| a["FacilityID"].clone()),
        Some(json!("SRV-ADD"))
    );
    assert_eq!(
        has(&json_copy, HYD_2).map(|a| a["Status"].clone()),
        Some(json!("OOS"))
    );
    assert_eq!(
        has(&json_copy, HYD_3),
        None,
        "the server delete was applied"
    );
    assert_eq!(
        has(&json_copy, HYD_1).map(|a| a["FacilityID"].clone()),
        Some(json!("OFFICE-1")),
        "the local update was acknowledged into the server copy"
    );
    assert!(has(&json_copy, ids.local_add.as_str()).is_some());
    assert_eq!(json_copy.queued, 0, "every local edit was acknowledged");
    assert_eq!(json_outcome.state, JobState::Completed);
    assert_eq!(json_outcome.uploaded, 2);
    assert_eq!(json_outcome.downloaded, 3);
    assert!(
        json_rows
            .iter()
            .any(|r| r.1 == ids.local_add.as_str().to_uppercase() && r.3),
        "{json_rows:?}"
    );

    // The SQLite path lands exactly the same.
    assert_eq!(sqlite_copy, json_copy);
    assert_eq!(
        (
            sqlite_outcome.state,
            sqlite_outcome.uploaded,
            sqlite_outcome.downloaded,
            sqlite_outcome.failed_edits
        ),
        (
            json_outcome.state,
            json_outcome.uploaded,
            json_outcome.downloaded,
            json_outcome.failed_edits
        )
    );
    assert_eq!(sqlite_rows, json_rows);
}

#[tokio::test]
async fn auto_asks_the_reference_service_for_deltas() {
    let h = harness(DownloadFormat::Auto).await;
    let office = h.create("office").await;
    assert_eq!(deltas_written(&h), 1, "the create's result was a delta");
    h.add_hydrant(office, "AUTO-1").await;
    let outcome = h.sync(office, true).await.expect("the sync works");
    assert_eq!(outcome.uploaded, 1);
    assert_eq!(deltas_written(&h), 2, "the sync's result was a delta");
    assert_eq!(leftovers(&h), Vec::<String>::new());
}

/// Adds a fault rule on the service.
async fn fault(h: &Harness, rule: Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/admin/faults", h.server.base_url()))
        .header("X-Admin-Key", h.server.admin_key())
        .json(&rule)
        .send()
        .await
        .expect("admin request");
    assert_eq!(response.status().as_u16(), 200);
}

/// A harness asking SQLite results, a "field" replica whose add is on the service, and an
/// "office" replica that has not downloaded it yet: both ids, the office's file and its
/// server copy.
async fn office_behind() -> (Harness, [LocalReplicaId; 2], PathBuf, ServerCopy) {
    let h = harness(DownloadFormat::Sqlite).await;
    let field = h.create("field").await;
    let office = h.create("office").await;
    h.add_hydrant(field, "SRV-1").await;
    h.sync(field, true).await.expect("the upload syncs");
    let office_path = h.file_path(office).expect("a replica file");
    let before = server_copy(&office_path);
    (h, [field, office], office_path, before)
}

/// The one line a refused non-delta result is reported with.
fn refused_in_one_line(message: &str) {
    assert!(
        !message.contains('\n')
            && message.contains("not a syncwatch delta")
            && message.contains("set the download format to JSON"),
        "{message}"
    );
}

#[tokio::test]
async fn a_sqlite_result_that_is_not_a_delta_is_refused_and_changes_nothing() {
    let (h, [_, office], office_path, before) = office_behind().await;

    // The result comes as an Esri mobile geodatabase, as real ArcGIS sends it.
    fault(
        &h,
        json!({"operation": "result", "kind": "mobileGeodatabase", "count": 1}),
    )
    .await;
    let failure = h
        .sync(office, true)
        .await
        .expect_err("a mobile geodatabase is no syncwatch delta");
    refused_in_one_line(&failure.message);
    assert_eq!(server_copy(&office_path), before, "nothing was applied");
    assert_eq!(leftovers(&h), Vec::<String>::new());

    let got = h.sync(office, true).await.expect("the next sync works");
    assert_eq!(got.downloaded, 1);

    // A create whose result is one leaves no replica, locally or on the service.
    let replicas_before = service_replicas(&h).await;
    fault(
        &h,
        json!({"operation": "result", "kind": "mobileGeodatabase", "count": 1}),
    )
    .await;
    let (replica, end) = h
        .job(Command::CreateReplica(h.create_request("mobile", false)))
        .await;
    refused_in_one_line(
        &end.expect_err("no replica from a mobile geodatabase")
            .message,
    );
    assert!(h.file_path(replica).is_none(), "no replica file was left");
    assert_eq!(leftovers(&h), Vec::<String>::new());
    assert_eq!(
        service_replicas(&h).await,
        replicas_before,
        "the service's replica was given back"
    );
}

#[tokio::test]
async fn a_delta_cut_short_is_fetched_again_and_one_that_never_arrives_whole_changes_nothing() {
    let (h, [field, office], office_path, before) = office_behind().await;

    // The result file and both downloads again get only the first half of the delta.
    fault(
        &h,
        json!({"operation": "result", "kind": "truncatedJson", "count": 3}),
    )
    .await;
    let failure = h
        .sync(office, true)
        .await
        .expect_err("half a delta is no sync");
    assert!(
        !failure.message.contains('\n')
            && failure.message.contains("SQLite result could not be read"),
        "{failure:?}"
    );
    assert_eq!(server_copy(&office_path), before, "nothing was applied");
    assert_eq!(leftovers(&h), Vec::<String>::new());

    // Cut short once: the download again is whole.
    h.add_hydrant(field, "SRV-2").await;
    h.sync(field, true).await.expect("the upload syncs");
    fault(
        &h,
        json!({"operation": "result", "kind": "truncatedJson", "count": 1}),
    )
    .await;
    let got = h
        .sync(office, true)
        .await
        .expect("the delta fetched again reads");
    assert_eq!(got.downloaded, 2);
    assert_eq!(
        server_copy(&office_path).features.len(),
        before.features.len() + 2
    );
    assert_eq!(leftovers(&h), Vec::<String>::new());
}

/// How many replicas the service holds (admin status).
async fn service_replicas(h: &Harness) -> Value {
    let status: Value = reqwest::Client::new()
        .get(format!("{}/admin/status", h.server.base_url()))
        .header("X-Admin-Key", h.server.admin_key())
        .send()
        .await
        .expect("admin request")
        .json()
        .await
        .expect("admin status");
    status["replicas"].clone()
}
