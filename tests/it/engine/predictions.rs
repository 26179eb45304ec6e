//! The client's validator against the reference feature service, over real HTTP with real
//! replica files: for every code it decides locally, the refusal it predicts before a sync is the
//! code and description the server then returns for the same edit; the rules come from the
//! replica file (offline) and are refreshed on each sync; "hold" keeps predicted refusals queued
//! and unsent, "editable-only" sends updates without read-only content and the server accepts
//! them; and when the server answers otherwise, its answer wins and the difference is logged.

use crate::support::demo_data::{HYD_1, HYD_2, HYD_3, HYD_4, MN_1, TECH2_INSPECTION, VLV_1};
use crate::support::engine::{Harness, attrs};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use syncwatch::engine::{
    self, Command, CreateRequest, EditResultRecord, Event, JobOutcome, LocalEdit, LocalReplicaId,
    PredictedPolicy, ReplicaSummary, SyncOptions,
};
use syncwatch::geodatabase::replica_file::{ChangeState, ReplicaFile};
use syncwatch::protocol::{Attributes, Guid, JobState, SyncModel, catalog};
use syncwatch::server::ServerConfig;
use syncwatch::service::ClientConfig;

const TECH1_TOKEN: &str = "tech1-token";
const ADMIN_TOKEN: &str = "demo-admin-token";

/// What one sync reported and answered: the predictions made before it uploaded (by GlobalID)
/// and how it ended.
struct Synced {
    predicted: BTreeMap<String, (i64, String)>,
    held: u32,
    trimmed: u32,
    outcome: JobOutcome,
}

/// The engine against the reference service, with the validator's view of it.
struct Validation {
    h: Harness,
}

async fn start() -> Validation {
    Validation {
        h: Harness::start(ServerConfig::default(), ClientConfig::default()).await,
    }
}

fn gid(text: &str) -> Guid {
    Guid::parse(text).unwrap()
}

/// `(code, description)` as the server's catalog words it.
fn expect(code: i64, value: &str) -> (i64, String) {
    (code, catalog::describe(code, value))
}

/// Failed rows by GlobalID: `(code, description)`; the first row of a GlobalID wins (the
/// results come newest first).
fn by_global_id<'a>(
    rows: impl IntoIterator<Item = &'a EditResultRecord>,
) -> BTreeMap<String, (i64, String)> {
    let mut found = BTreeMap::new();
    for r in rows.into_iter().filter(|r| !r.success) {
        found
            .entry(r.global_id.as_ref().unwrap().to_string())
            .or_insert_with(|| (r.code.unwrap(), r.description.to_string()));
    }
    found
}

impl Validation {
    /// Creates a replica of `layers` as the user behind `token`.
    async fn create(&self, name: &str, layers: Vec<i64>, token: Option<&str>) -> LocalReplicaId {
        let request = CreateRequest {
            token: token.map(Into::into),
            layers,
            sync_model: SyncModel::PerReplica,
            ..self.h.create_request(name, false)
        };
        let (replica, end) = self.h.job(Command::CreateReplica(request)).await;
        let outcome = end.unwrap_or_else(|f| panic!("create failed: {f:?}"));
        assert_eq!(outcome.state, JobState::Completed);
        replica
    }

    /// Syncs (bidirectional) and collects what it predicted before uploading and how it ended.
    async fn sync(&self, replica: LocalReplicaId) -> Synced {
        self.h
            .send(Command::SyncNow {
                replica,
                options: SyncOptions {
                    is_async: false,
                    ..SyncOptions::default()
                },
            })
            .await;
        let mut predicted = (BTreeMap::new(), 0, 0);
        let outcome = self
            .h
            .next(|e| match e {
                Event::FailuresPredicted {
                    replica: r,
                    rows,
                    held,
                    trimmed,
                    ..
                } if *r == replica => {
                    assert!(rows.iter().all(|r| r.predicted));
                    predicted = (by_global_id(rows), *held, *trimmed);
                    None
                }
                Event::JobCompleted {
                    replica: r,
                    outcome,
                    ..
                } if *r == replica => Some(outcome.clone()),
                Event::JobFailed {
                    replica: r, error, ..
                } if *r == replica => panic!("sync failed: {error:?}"),
                _ => None,
            })
            .await;
        Synced {
            predicted: predicted.0,
            held: predicted.1,
            trimmed: predicted.2,
            outcome,
        }
    }

    async fn edit(
        &self,
        replica: LocalReplicaId,
        layer_id: i64,
        edit: LocalEdit,
    ) -> ReplicaSummary {
        self.h
            .engine
            .edit_feature(replica, layer_id, edit)
            .await
            .unwrap_or_else(|e| panic!("edit failed: {e:#?}"))
    }

    async fn update(&self, replica: LocalReplicaId, layer_id: i64, global_id: &str, values: Value) {
        self.edit(
            replica,
            layer_id,
            LocalEdit::Update {
                global_id: gid(global_id),
                attributes: attrs(values),
                geometry: None,
            },
        )
        .await;
    }

    /// Queues an add with a new GlobalID; returns it.
    async fn add(&self, replica: LocalReplicaId, layer_id: i64, mut feature: Value) -> Guid {
        let global_id = Guid::new_v4();
        feature["attributes"]["GlobalID"] = json!(global_id.as_str());
        self.edit(
            replica,
            layer_id,
            LocalEdit::Add {
                attributes: attrs(feature["attributes"].clone()),
                geometry: feature.get("geometry").cloned(),
            },
        )
        .await;
        global_id
    }

    async fn results(&self, replica: LocalReplicaId) -> Vec<EditResultRecord> {
        self.h.send(Command::LoadEditResults { replica }).await;
        self.h
            .next(|e| match e {
                Event::EditResultsReady { replica: r, rows } if *r == replica => {
                    Some(rows.to_vec())
                }
                _ => None,
            })
            .await
    }

    /// The predicted rows of the edit results, by GlobalID.
    async fn predicted(&self, replica: LocalReplicaId) -> BTreeMap<String, (i64, String)> {
        by_global_id(self.results(replica).await.iter().filter(|r| r.predicted))
    }

    /// The server's refusals in the edit results, by GlobalID.
    async fn refused(&self, replica: LocalReplicaId) -> BTreeMap<String, (i64, String)> {
        by_global_id(self.results(replica).await.iter().filter(|r| !r.predicted))
    }

    async fn set_policy(&self, replica: LocalReplicaId, policy: PredictedPolicy) {
        self.h
            .send(Command::SetPredictedPolicy { replica, policy })
            .await;
        self.h
            .next(|e| match e {
                Event::ReplicaChanged { summary }
                    if summary.id == replica && summary.predicted_policy == policy =>
                {
                    Some(())
                }
                _ => None,
            })
            .await;
    }

    async fn summary(&self, replica: LocalReplicaId) -> ReplicaSummary {
        let replicas = self.h.replicas().await;
        replicas.into_iter().find(|r| r.id == replica).unwrap()
    }

    fn file(&self, replica: LocalReplicaId) -> ReplicaFile {
        ReplicaFile::open(&self.h.file_path(replica).unwrap()).unwrap()
    }

    async fn send(&self, command: Command) {
        self.h.send(command).await;
    }

    /// Changes a layer's ownership rules on the service (admin API, not a breaking change).
    async fn set_ownership(&self, layer: i64, query: bool, update: bool) {
        let rules = json!({"layer": layer, "allowOthersToQuery": query,
                           "allowOthersToUpdate": update, "allowOthersToDelete": false});
        let (status, reply) = self
            .h
            .admin(reqwest::Method::POST, "ownership", Some(rules))
            .await;
        assert_eq!(status, 200, "{reply}");
    }

    async fn event_log_mentions(&self, text: &str) -> bool {
        let store = syncwatch::store::Store::open(&self.h.dir.path().join("syncwatch.db")).unwrap();
        store
            .recent_log(200)
            .unwrap()
            .iter()
            .any(|entry| entry.message.contains(text))
    }
}

/// Attribute and geometry codes: edits to hydrants, valves and mains are predicted offline from
/// the cached rules (1001, 1002, 1004, 1005, 1006, 1014, 1016, 1022, 1023) with the server's text, the
/// sync reports the same predictions before uploading, and the server refuses exactly those
/// edits with exactly that code and description. The edit that breaks no rule is not predicted
/// and is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictions_match_the_server_for_attribute_and_geometry_codes() {
    let h = start().await;
    let r = h.create("network", vec![0, 1, 2], None).await;
    h.update(r, 0, HYD_1, json!({"Status": null})).await;
    h.update(
        r,
        0,
        HYD_2,
        json!({"Notes": "<img src=x onerror=alert(1)>"}),
    )
    .await;
    h.update(r, 0, HYD_3, json!({"Flow_GPM": 99999})).await;
    h.update(r, 0, HYD_4, json!({"AssetTag": "TAG-9"})).await;
    let duplicate = h
        .add(
            r,
            0,
            json!({"geometry": {"x": -122.6, "y": 45.5},
                   "attributes": {"FacilityID": "HYD-0005", "Status": "IS"}}),
        )
        .await;
    let valve_without_z = h
        .add(
            r,
            1,
            json!({"geometry": {"x": -122.6, "y": 45.5},
                   "attributes": {"ValveID": "VLV-T1", "Diameter_mm": 150, "Depth": 1.0}}),
        )
        .await;
    h.edit(
        r,
        1,
        LocalEdit::Update {
            global_id: gid(VLV_1),
            attributes: Attributes::new(),
            geometry: Some(json!({"x": -122.69, "y": 45.54, "z": 50.0})),
        },
    )
    .await;
    let main_without_m = h
        .add(
            r,
            2,
            json!({"geometry": {"paths": [[[-122.6, 45.5], [-122.61, 45.51]]]},
                   "attributes": {"MainID": "MN-T1"}}),
        )
        .await;
    h.edit(
        r,
        2,
        LocalEdit::Update {
            global_id: gid(MN_1),
            attributes: Attributes::new(),
            geometry: Some(json!({"curvePaths": [[[-122.6, 45.5, 0.0],
                {"c": [[-122.61, 45.51, 10.0], [-122.604, 45.507, 5.0]]}]], "hasM": true})),
        },
    )
    .await;
    let accepted = h
        .add(
            r,
            0,
            json!({"geometry": {"x": -122.6, "y": 45.5},
                   "attributes": {"FacilityID": "HYD-T1", "Status": "IS", "Notes": "new"}}),
        )
        .await;

    let expected: BTreeMap<String, (i64, String)> = [
        (HYD_1.to_string(), expect(1001, "Status")),
        (HYD_2.to_string(), expect(1006, "Notes")),
        (HYD_3.to_string(), expect(1016, "Flow_GPM")),
        (HYD_4.to_string(), expect(1023, "AssetTag")),
        (duplicate.to_string(), expect(1022, "FacilityID")),
        (valve_without_z.to_string(), expect(1014, "")),
        (VLV_1.to_string(), expect(1004, "")),
        (main_without_m.to_string(), expect(1002, "")),
        (MN_1.to_string(), expect(1005, "")),
    ]
    .into();
    // Offline: from the rules cached in the replica file at create time.
    assert_eq!(h.predicted(r).await, expected);
    let summary = h.summary(r).await;
    assert_eq!(summary.predicted_failures, 9);
    assert_eq!(summary.health(), engine::Health::FailedEdits);

    let synced = h.sync(r).await;
    assert_eq!(synced.predicted, expected, "reported before the upload");
    assert_eq!(synced.outcome.state, JobState::CompletedWithErrors);
    assert_eq!(synced.outcome.uploaded, 10, "send anyway is the default");
    assert_eq!(
        h.refused(r).await,
        expected,
        "the server's answer, code and text"
    );
    assert!(!h.refused(r).await.contains_key(&accepted.to_string()));
    assert!(
        h.predicted(r).await.is_empty(),
        "real results replace predictions"
    );
    assert!(
        !h.event_log_mentions("prediction differed").await,
        "no difference to log"
    );
}

/// Ownership: as tech1, an update of tech2's inspection is predicted 1007 and refused with 1007;
/// after the administrator hides others' rows, the next sync refreshes the cached rules and
/// predicts 1013, which is what the server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ownership_predictions_follow_rules_refreshed_on_sync() {
    let h = start().await;
    let r = h.create("inspections", vec![3], Some(TECH1_TOKEN)).await;
    assert_eq!(h.file(r).editor().unwrap().as_deref(), Some("tech1"));
    h.update(r, 3, TECH2_INSPECTION, json!({"Comments": "by tech1"}))
        .await;
    let expected_1007: BTreeMap<_, _> = [(TECH2_INSPECTION.to_string(), expect(1007, ""))].into();
    assert_eq!(h.predicted(r).await, expected_1007);
    let synced = h.sync(r).await;
    assert_eq!(synced.predicted, expected_1007);
    assert_eq!(h.refused(r).await, expected_1007);

    h.set_ownership(3, false, false).await;
    let synced = h.sync(r).await;
    let expected_1013: BTreeMap<_, _> = [(TECH2_INSPECTION.to_string(), expect(1013, ""))].into();
    assert_eq!(
        synced.predicted, expected_1013,
        "rules refreshed before predicting"
    );
    assert_eq!(synced.outcome.failed_edits, 1);
    let refused = h.refused(r).await;
    assert_eq!(
        refused.get(TECH2_INSPECTION),
        expected_1013.get(TECH2_INSPECTION)
    );
    let layer = h.file(r).layer_info(3).unwrap().unwrap();
    assert!(
        !layer
            .ownership_based_access_control_for_features
            .unwrap()
            .allow_others_to_query,
        "the refreshed rules are cached in the replica file"
    );
}

/// An administrator is exempt from ownership rules, which the client cannot know: the update is
/// predicted 1007, the server accepts it, the accepted result is what is kept (the change is
/// acknowledged, nothing is refused) and the difference is in the sync error log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_wins_over_a_wrong_prediction_and_the_difference_is_logged() {
    let h = start().await;
    let r = h
        .create("admin-inspections", vec![3], Some(ADMIN_TOKEN))
        .await;
    h.update(r, 3, TECH2_INSPECTION, json!({"Comments": "by the admin"}))
        .await;
    let synced = h.sync(r).await;
    assert_eq!(
        synced.predicted.get(TECH2_INSPECTION),
        Some(&expect(1007, ""))
    );
    assert_eq!(synced.outcome.state, JobState::Completed);
    assert_eq!(synced.outcome.failed_edits, 0);
    assert!(h.file(r).changes().unwrap().is_empty(), "acknowledged");
    assert!(h.refused(r).await.is_empty());
    assert!(h.predicted(r).await.is_empty());
    assert!(
        h.event_log_mentions(&format!(
            "prediction differed for update {TECH2_INSPECTION}"
        ))
        .await
    );
}

/// Hold back: predicted refusals stay queued and unsent (no upload generation, no server
/// result) while the rest is sent; once fixed, the change is no longer predicted and is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_keeps_predicted_refusals_queued_and_unsent() {
    let h = start().await;
    let r = h.create("held", vec![0], None).await;
    h.set_policy(r, PredictedPolicy::Hold).await;
    h.update(r, 0, HYD_1, json!({"Status": null})).await;
    h.update(r, 0, HYD_2, json!({"Notes": "flushed"})).await;

    let synced = h.sync(r).await;
    assert_eq!(synced.predicted.len(), 1);
    assert_eq!((synced.held, synced.outcome.uploaded), (1, 1));
    assert_eq!(synced.outcome.state, JobState::Completed);
    assert!(h.refused(r).await.is_empty(), "the server never saw it");
    let file = h.file(r);
    let held = file.change(0, &gid(HYD_1)).unwrap().unwrap();
    assert_eq!((held.state, held.upload_gen), (ChangeState::Pending, None));
    assert!(
        file.change(0, &gid(HYD_2)).unwrap().is_none(),
        "sent and acknowledged"
    );
    drop(file);
    assert_eq!(
        h.predicted(r).await.get(HYD_1),
        Some(&expect(1001, "Status"))
    );

    let synced = h.sync(r).await;
    assert_eq!((synced.held, synced.outcome.uploaded), (1, 0), "held again");

    h.send(Command::FixEdit {
        replica: r,
        layer_id: 0,
        global_id: gid(HYD_1),
        attributes: attrs(json!({"Status": "OOS"})),
        geometry: None,
    })
    .await;
    h.h.next(|e| matches!(e, Event::ReplicaChanged { summary } if summary.id == r).then_some(()))
        .await;
    let synced = h.sync(r).await;
    assert!(synced.predicted.is_empty());
    assert_eq!((synced.held, synced.outcome.uploaded), (0, 1));
    assert!(h.file(r).changes().unwrap().is_empty());
    let status = &h
        .file(r)
        .server_feature(0, &gid(HYD_1))
        .unwrap()
        .unwrap()
        .attributes["Status"];
    assert_eq!(status, &json!("OOS"));
}

/// Editable fields only: an update of a read-only field (1023) and a geometry change where
/// geometry updates are off (1004) are sent without that content; the server accepts both, the
/// writable values are applied and the read-only ones never reach the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editable_only_strips_read_only_content_and_the_server_accepts() {
    let h = start().await;
    let r = h.create("editable", vec![0, 1], None).await;
    h.set_policy(r, PredictedPolicy::EditableOnly).await;
    h.update(r, 0, HYD_3, json!({"AssetTag": "TAG-9", "Notes": "kept"}))
        .await;
    h.edit(
        r,
        1,
        LocalEdit::Update {
            global_id: gid(VLV_1),
            attributes: attrs(json!({"Turns": 12})),
            geometry: Some(json!({"x": -122.69, "y": 45.54, "z": 50.0})),
        },
    )
    .await;
    let stored_valve = h.file(r).server_feature(1, &gid(VLV_1)).unwrap().unwrap();

    let synced = h.sync(r).await;
    assert_eq!(
        synced.predicted,
        [
            (HYD_3.to_string(), expect(1023, "AssetTag")),
            (VLV_1.to_string(), expect(1004, ""))
        ]
        .into()
    );
    assert_eq!((synced.trimmed, synced.outcome.uploaded), (2, 2));
    assert_eq!(synced.outcome.state, JobState::Completed);
    assert_eq!(synced.outcome.failed_edits, 0);
    assert!(h.refused(r).await.is_empty());
    assert!(h.file(r).changes().unwrap().is_empty());

    // What the server holds now, as a second replica downloads it.
    let check = h.create("check", vec![0, 1], None).await;
    let file = h.file(check);
    let hydrant = file.server_feature(0, &gid(HYD_3)).unwrap().unwrap();
    assert_eq!(hydrant.attributes["Notes"], json!("kept"));
    assert_ne!(hydrant.attributes["AssetTag"], json!("TAG-9"));
    let valve = file.server_feature(1, &gid(VLV_1)).unwrap().unwrap();
    assert_eq!(valve.attributes["Turns"], json!(12));
    assert_eq!(valve.geometry, stored_valve.geometry, "geometry left out");
    assert!(
        !h.event_log_mentions("prediction differed").await,
        "a trimmed edit is not the edit the prediction was for"
    );
}

/// Edits do not judge the whole queue each time (a burst of edits would be quadratic): each marks
/// the file's predictions due, and once the edits pause the engine judges the queue by itself and
/// sends the replica's summary with the predicted count and the edit results with the predicted
/// rows, without anyone asking for them. A one-shot edit's mark survives on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictions_are_judged_again_once_edits_pause() {
    let h = start().await;
    let r = h.create("burst", vec![0], None).await;
    let summary = h
        .edit(
            r,
            0,
            LocalEdit::Update {
                global_id: gid(HYD_1),
                attributes: attrs(json!({"Status": null})),
                geometry: None,
            },
        )
        .await;
    assert_eq!(summary.pending_changes, 1);
    assert!(
        h.file(r).predictions_due().unwrap(),
        "the edit left the predictions due"
    );
    let rows =
        h.h.next(|e| match e {
            Event::EditResultsReady { replica, rows } if *replica == r => Some(rows.to_vec()),
            _ => None,
        })
        .await;
    assert_eq!(
        by_global_id(rows.iter().filter(|row| row.predicted)),
        [(HYD_1.to_string(), expect(1001, "Status"))].into()
    );
    assert!(!h.file(r).predictions_due().unwrap(), "judged and stored");
    assert_eq!(h.summary(r).await.predicted_failures, 1);
}

/// Geometry the service does not understand (the 122-deep nested spatial reference, an unknown
/// key, a polyline on the point layer) is predicted 1015 offline and refused with 1015 by the
/// server, with the same text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geometry_the_service_does_not_understand_is_predicted_and_refused_with_1015() {
    let h = start().await;
    let r = h.create("poison", vec![0], None).await;
    let mut sr = json!({"wkid": 4326});
    for _ in 0..122 {
        sr = json!({"spatialReference": sr});
    }
    let attributes = json!({"FacilityID": "HYD-P1", "Status": "IS"});
    let mut expected = BTreeMap::new();
    for geometry in [
        json!({"x": -122.6, "y": 45.5, "spatialReference": sr}),
        json!({"x": -122.6, "y": 45.5, "note": "extra"}),
        json!({"paths": [[[-122.6, 45.5], [-122.61, 45.51]]]}),
    ] {
        let gid = h
            .add(
                r,
                0,
                json!({"geometry": geometry, "attributes": attributes}),
            )
            .await;
        expected.insert(gid.to_string(), expect(1015, ""));
    }
    assert_eq!(h.predicted(r).await, expected, "predicted offline");
    let synced = h.sync(r).await;
    assert_eq!(synced.predicted, expected);
    assert_eq!(h.refused(r).await, expected, "the server's answer");
}
