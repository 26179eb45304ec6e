//! A sync's download read as a stream (issue 21), through the real engine against the reference
//! service over HTTP: the synchronizeReplica result file is read once for what it says besides
//! the features, then again straight into the replica file's one apply transaction, so the
//! downloaded features are never held whole. What lands is exactly what the other replica
//! uploaded; a result file that cannot be read fails the sync in one line and leaves the
//! replica as it was, and the next sync brings everything.

use crate::support::client_config::fast;
use crate::support::engine::{Harness, attrs};
use serde_json::{Value, json};
use syncwatch::engine::{DownloadFormat, Event, LocalEdit};
use syncwatch::protocol::{Guid, JobState};
use syncwatch::server::ServerConfig;

const ADDS: usize = 3_000;

/// `n` new hydrants recorded in `replica` in one batch; their GlobalIDs.
async fn add_hydrants(
    h: &Harness,
    replica: syncwatch::engine::LocalReplicaId,
    n: usize,
) -> Vec<Guid> {
    let ids: Vec<Guid> = (0..n).map(|_| Guid::new_v4()).collect();
    let edits = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let edit = LocalEdit::Add {
                attributes: attrs(json!({
                    "GlobalID": id.as_str(), "FacilityID": format!("BULK-{i:05}"), "Status": "IS"
                })),
                geometry: Some(json!({"x": -122.6 + i as f64 * 1e-5, "y": 45.52})),
            };
            (0, edit)
        })
        .collect();
    h.engine
        .record_edits(replica, edits)
        .await
        .unwrap_or_else(|e| panic!("the batch records: {e:#?}"));
    ids
}

#[tokio::test]
async fn a_large_download_lands_in_the_replica_file_exactly_as_uploaded() {
    let h = Harness::start(ServerConfig::default(), fast()).await;
    let field = h.create("field").await;
    let office = h.create("office").await;
    let before = h.file(office).server_feature_count(0).unwrap() as usize;
    let ids = add_hydrants(&h, field, ADDS).await;
    let sent = h.sync(field, true).await.expect("the upload syncs");
    assert_eq!(sent.uploaded as usize, ADDS);

    let got = h.sync(office, true).await.expect("the download syncs");
    assert_eq!(got.state, JobState::Completed);
    assert_eq!(got.downloaded as usize, ADDS);
    let (field_file, office_file) = (h.file(field), h.file(office));
    assert_eq!(
        office_file.server_feature_count(0).unwrap() as usize,
        before + ADDS
    );
    for id in &ids {
        let uploaded = field_file
            .server_feature(0, id)
            .unwrap()
            .expect("acknowledged");
        let downloaded = office_file
            .server_feature(0, id)
            .unwrap()
            .unwrap_or_else(|| panic!("{id} was downloaded"));
        assert_eq!(downloaded.geometry, uploaded.geometry, "geometry of {id}");
        for field in ["FacilityID", "Status", "GlobalID"] {
            assert_eq!(
                downloaded
                    .attributes
                    .get(field)
                    .map(|v| v.to_string().to_uppercase()),
                uploaded
                    .attributes
                    .get(field)
                    .map(|v| v.to_string().to_uppercase()),
                "{field} of {id}"
            );
        }
        assert!(
            downloaded
                .attributes
                .get("OBJECTID")
                .is_some_and(Value::is_i64),
            "{id}"
        );
    }
    assert!(
        office_file.generations().unwrap().replica_server_gen
            >= field_file.generations().unwrap().replica_server_gen,
        "the download moved the office replica past the upload's generation"
    );
    // The job view (and the CLI's bar) heard the features being applied, ending with all.
    let applying: Vec<String> = h
        .seen_events()
        .iter()
        .filter_map(|e| match e {
            Event::JobStatus {
                replica: r,
                message,
                ..
            } if *r == office && message.starts_with("applying the downloaded features: ") => {
                Some(message.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        applying.last().map(String::as_str),
        Some(format!("applying the downloaded features: {ADDS} stored").as_str()),
        "{applying:?}"
    );
    assert_eq!(leftovers(&h), Vec::<String>::new());
}

#[tokio::test]
async fn a_sync_result_that_cannot_be_read_changes_nothing_and_the_next_sync_brings_it() {
    // JSON results (the SQLite delta's are `sqlite_results`'s).
    let h = Harness::start_with(ServerConfig::default(), fast(), |c| {
        c.download_format = DownloadFormat::Json
    })
    .await;
    let field = h.create("field").await;
    let office = h.create("office").await;
    add_hydrants(&h, field, 50).await;
    h.sync(field, true).await.expect("the upload syncs");
    let count = h.file(office).server_feature_count(0).unwrap();
    let generations = h.file(office).generations().unwrap();

    // The result file and both downloads again get only the first half of their JSON.
    fault(
        &h,
        json!({"operation": "result", "kind": "truncatedJson", "count": 3}),
    )
    .await;
    let failure = h
        .sync(office, true)
        .await
        .expect_err("half a result is no sync");
    assert!(
        !failure.message.contains('\n') && failure.message.contains("not valid sync JSON"),
        "{failure:?}"
    );
    let file = h.file(office);
    assert_eq!(
        file.server_feature_count(0).unwrap(),
        count,
        "nothing was applied"
    );
    assert_eq!(
        file.generations().unwrap(),
        generations,
        "the generation stayed"
    );
    assert_eq!(leftovers(&h), Vec::<String>::new());

    let got = h.sync(office, true).await.expect("the next sync works");
    assert_eq!(got.downloaded, 50);
    assert_eq!(h.file(office).server_feature_count(0).unwrap(), count + 50);
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
