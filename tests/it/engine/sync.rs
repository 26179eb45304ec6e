//! The engine against the in-process reference feature service over real HTTP on loopback:
//! create, local edits, sync, refused edits, fix and drop, generations, async polling through
//! faults, expired results and replicas that need a client reset. Real SQLite files in temp dirs.

use crate::support::client_config::{Tuned as _, fast};
use crate::support::demo_data::{HYD_1, HYD_2, HYD_3, HYD_4};
use crate::support::engine::{EVENT_WAIT, Harness, attrs, gid, sync_options};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use syncwatch::engine::{
    self, Command, CreateRequest, EngineConfig, Event, LocalEdit, NewAttachment, SyncOptions,
};
use syncwatch::geodatabase::replica_file::ChangeState;
use syncwatch::protocol::{Guid, JobState, ObjectType, SyncDirection, SyncModel};
use syncwatch::server::ServerConfig;
use syncwatch::service::ClientConfig;

/// Retries fast, with room for the slow faults these tests inject.
fn fast_client() -> ClientConfig {
    fast()
        .request_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(2))
        .attempts(4)
        .backoff_ms(10, 100)
        .poll_ms(20)
        .max_outage(Duration::from_secs(5))
}

/// These tests are about sync, so the automatic client reset is off (as `Harness::start` has
/// it); the client reset is covered in engine/reset.rs.
async fn start(server_config: ServerConfig) -> Harness {
    Harness::start(server_config, fast_client()).await
}

/// Creating replicas synchronously and as async jobs, perReplica and perLayer, writes replica
/// files with the data and the server generation(s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_sync_and_async_in_both_models() {
    let h = start(ServerConfig::default()).await;
    let per_replica = h
        .create_with("per-replica", vec![0, 1], SyncModel::PerReplica, false)
        .await;
    let per_layer = h
        .create_with("per-layer", vec![0, 1], SyncModel::PerLayer, true)
        .await;

    let file = h.file(per_replica);
    assert_eq!(file.server_feature_count(0).unwrap(), 240);
    assert_eq!(file.server_feature_count(1).unwrap(), 160);
    assert!(file.generations().unwrap().replica_server_gen.is_some());
    assert_eq!(file.definition().unwrap().layers[0].name, "Hydrants");
    assert!(
        file.layer_info(0).unwrap().is_some(),
        "layer properties cached"
    );
    let gens = h.file(per_layer).generations().unwrap();
    assert_eq!(gens.layer_server_gens.len(), 2);

    let summary = h.summary(per_layer).await;
    assert_eq!(summary.sync_model, SyncModel::PerLayer);
    assert_eq!(summary.health(), engine::Health::UpToDate);
    assert!(summary.replica_guid.is_some());
}

/// Local adds, updates and deletes upload in a bidirectional sync; a second replica of the same
/// service downloads them; a sync without changes (NoEdits) still advances the generation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_edits_upload_and_download_to_another_replica() {
    let h = start(ServerConfig::default()).await;
    let field = h
        .create_with("field", vec![0], SyncModel::PerReplica, false)
        .await;
    let office = h
        .create_with("office", vec![0], SyncModel::PerLayer, false)
        .await;

    let added = h.add_hydrant(field, "HYD-9001").await;
    h.update(field, HYD_1, json!({"Notes": "hydrant flushed"}))
        .await;
    let summary = h
        .edit_in_layer(
            field,
            0,
            LocalEdit::Delete {
                global_id: gid(HYD_2),
            },
        )
        .await;
    assert_eq!(summary.pending_changes, 3);
    assert_eq!(summary.health(), engine::Health::LocalEditsPending);

    let outcome = h
        .sync_with(field, sync_options(SyncDirection::Bidirectional, false))
        .await
        .unwrap();
    assert_eq!(outcome.state, JobState::Completed);
    assert_eq!(outcome.uploaded, 3);
    assert_eq!(h.file(field).changes().unwrap().len(), 0);
    assert_eq!(h.summary(field).await.health(), engine::Health::UpToDate);

    let before = h.file(office).generations().unwrap().layer_server_gens[0].1;
    let outcome = h
        .sync_with(office, sync_options(SyncDirection::Download, false))
        .await
        .unwrap();
    assert_eq!(outcome.downloaded, 3);
    let office_file = h.file(office);
    assert_eq!(office_file.server_feature_count(0).unwrap(), 240);
    let notes = office_file.server_feature(0, &gid(HYD_1)).unwrap().unwrap();
    assert_eq!(notes.attributes["Notes"], json!("hydrant flushed"));
    assert!(
        office_file
            .server_feature(0, &gid(HYD_2))
            .unwrap()
            .is_none()
    );
    assert!(office_file.server_feature(0, &added).unwrap().is_some());
    let after = office_file.generations().unwrap().layer_server_gens[0].1;
    assert!(after > before);

    let outcome = h
        .sync_with(office, sync_options(SyncDirection::Bidirectional, false))
        .await
        .unwrap();
    assert_eq!((outcome.uploaded, outcome.downloaded), (0, 0));
    let again = h.file(office).generations().unwrap().layer_server_gens[0].1;
    assert!(again > after, "NoEdits still advances the generation");
}

/// Edits the server refuses (1001, 1006, 1022, 1023) leave the sync CompletedWithErrors and stay
/// queued; resending counts attempts once per (feature, code); fixing one makes it succeed and
/// clears its failure; dropping one reverts it to the server's version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_edits_stay_queued_then_fix_and_drop() {
    let h = start(ServerConfig::default()).await;
    let r = h
        .create_with("hydrants", vec![0], SyncModel::PerReplica, false)
        .await;
    h.update(r, HYD_1, json!({"Status": null})).await;
    h.update(r, HYD_2, json!({"Notes": "<script>alert(1)</script>"}))
        .await;
    h.update(r, HYD_3, json!({"AssetTag": "HACKED"})).await;
    h.edit_in_layer(
        r,
        0,
        LocalEdit::Add {
            attributes: attrs(json!({"FacilityID": "HYD-0004", "Status": "IS"})),
            geometry: Some(json!({"x": -122.6, "y": 45.52})),
        },
    )
    .await;
    h.update(r, HYD_4, json!({"Notes": "fine"})).await;

    let outcome = h
        .sync_with(r, sync_options(SyncDirection::Bidirectional, false))
        .await
        .unwrap();
    assert_eq!(outcome.state, JobState::CompletedWithErrors);
    assert_eq!(outcome.failed_edits, 4);
    let mut codes: Vec<i64> = h
        .edit_results(r)
        .await
        .iter()
        .filter(|row| !row.success)
        .filter_map(|row| row.code)
        .collect();
    codes.sort();
    assert_eq!(codes, vec![1001, 1006, 1022, 1023]);
    let file = h.file(r);
    let queued = file.changes().unwrap();
    assert_eq!(queued.len(), 4);
    assert!(queued.iter().all(|c| c.state == ChangeState::Failed));
    drop(file);
    let summary = h.summary(r).await;
    assert_eq!(summary.health(), engine::Health::FailedEdits);
    assert_eq!(summary.failed_edits, 4);

    let outcome = h
        .sync_with(r, sync_options(SyncDirection::Bidirectional, true))
        .await
        .unwrap();
    assert_eq!(outcome.failed_edits, 4, "refused edits are resent");
    let rows = h.edit_results(r).await;
    let status_row = rows.iter().find(|row| row.code == Some(1001)).unwrap();
    assert_eq!(status_row.attempts, 2);
    assert_eq!(rows.iter().filter(|row| !row.success).count(), 4);

    h.send(Command::FixEdit {
        replica: r,
        layer_id: 0,
        global_id: gid(HYD_1),
        attributes: attrs(json!({"Status": "OOS"})),
        geometry: None,
    })
    .await;
    h.next(|e| matches!(e, Event::ReplicaChanged { summary } if summary.id == r).then_some(()))
        .await;
    h.send(Command::DropEdit {
        replica: r,
        layer_id: 0,
        global_id: gid(HYD_3),
    })
    .await;
    let rows = h
        .next(|e| match e {
            Event::EditResultsReady { replica, rows } if *replica == r => Some(rows.clone()),
            _ => None,
        })
        .await;
    assert!(
        !rows.iter().any(|row| row.code == Some(1023)),
        "drop clears its failure"
    );
    let reverted = h.file(r).local_feature(0, &gid(HYD_3)).unwrap().unwrap();
    assert_eq!(reverted.attributes["AssetTag"], json!("WTR-H00003"));

    let outcome = h
        .sync_with(r, sync_options(SyncDirection::Bidirectional, false))
        .await
        .unwrap();
    assert_eq!(outcome.failed_edits, 2);
    let rows = h.edit_results(r).await;
    assert!(
        !rows.iter().any(|row| row.code == Some(1001)),
        "the fix succeeded"
    );
    let server_side = h.file(r).server_feature(0, &gid(HYD_1)).unwrap().unwrap();
    assert_eq!(server_side.attributes["Status"], json!("OOS"));
    assert_eq!(h.file(r).changes().unwrap().len(), 2);
}

/// Refused attachment edits through the engine: the results carry ObjectType attachment with the
/// attachment's name, size and parent; fixing the content type resends it and it is accepted;
/// dropping the other forgets it and clears its failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_attachments_are_described_then_fixed_and_dropped() {
    let h = start(ServerConfig::default()).await;
    let r = h
        .create_with("inspections", vec![3], SyncModel::PerReplica, false)
        .await;
    let parent = Guid::new_v4();
    h.edit_in_layer(
        r,
        3,
        LocalEdit::Add {
            attributes: attrs(json!({"GlobalID": parent.as_str(), "Result": "PASS"})),
            geometry: None,
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let attach = |name: &str, bytes: &[u8]| {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let global_id = Guid::new_v4();
        let edit = LocalEdit::Attach(Box::new(NewAttachment {
            global_id: global_id.clone(),
            parent_global_id: parent.clone(),
            file,
            content_type: Some("application/x-msdownload".into()),
        }));
        (global_id, edit)
    };
    let (photo, edit) = attach("photo.jpg", &[7u8; 3000]);
    h.edit_in_layer(r, 3, edit).await;
    let (tool, edit) = attach("tool.exe", b"MZ");
    h.edit_in_layer(r, 3, edit).await;
    let outcome = h
        .sync_with(r, sync_options(SyncDirection::Bidirectional, false))
        .await
        .unwrap();
    assert_eq!(
        (outcome.state, outcome.failed_edits),
        (JobState::CompletedWithErrors, 2)
    );
    let rows = h.edit_results(r).await;
    let refused = rows
        .iter()
        .find(|row| row.global_id.as_ref() == Some(&photo))
        .unwrap();
    assert_eq!(
        (refused.object_type, refused.code),
        (ObjectType::Attachment, Some(1008))
    );
    let detail = refused.attachment.as_ref().expect("attachment detail");
    assert_eq!(
        (detail.name.as_str(), detail.size_bytes),
        ("photo.jpg", 3000)
    );
    assert_eq!(detail.parent_global_id, parent);

    h.send(Command::FixEdit {
        replica: r,
        layer_id: 3,
        global_id: photo.clone(),
        attributes: attrs(json!({"contentType": "image/jpeg"})),
        geometry: None,
    })
    .await;
    h.next(|e| matches!(e, Event::ReplicaChanged { summary } if summary.id == r).then_some(()))
        .await;
    h.send(Command::DropEdit {
        replica: r,
        layer_id: 3,
        global_id: tool.clone(),
    })
    .await;
    let rows = h
        .next(|e| match e {
            Event::EditResultsReady { replica, rows } if *replica == r => Some(rows.clone()),
            _ => None,
        })
        .await;
    assert!(!rows.iter().any(|row| row.global_id.as_ref() == Some(&tool)));
    let outcome = h
        .sync_with(r, sync_options(SyncDirection::Bidirectional, false))
        .await
        .unwrap();
    assert_eq!(
        (outcome.state, outcome.failed_edits),
        (JobState::Completed, 0)
    );
    assert!(!h.edit_results(r).await.iter().any(|row| !row.success));
    let file = h.file(r);
    let accepted = file.attachment(&photo).unwrap().unwrap();
    assert_eq!(
        (accepted.pending, accepted.content_type.as_str()),
        (None, "image/jpeg")
    );
    assert!(file.attachment(&tool).unwrap().is_none());
}

/// With rollbackOnFailure one refused edit rolls back the whole upload: the sync fails, nothing
/// is acknowledged, and the edit that caused it is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_on_failure_keeps_every_edit_queued() {
    let h = start(ServerConfig::default()).await;
    let r = h
        .create_with("hydrants", vec![0], SyncModel::PerReplica, false)
        .await;
    h.update(r, HYD_1, json!({"Notes": "good"})).await;
    h.update(r, HYD_2, json!({"Status": null})).await;
    let gen_before = h.file(r).generations().unwrap();
    let failure = h
        .sync_with(
            r,
            SyncOptions {
                direction: SyncDirection::Bidirectional,
                is_async: false,
                rollback_on_failure: true,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(failure.class, engine::FailureClass::Service);
    let file = h.file(r);
    assert_eq!(file.changes().unwrap().len(), 2);
    // The conflict step's download-only sync (before the upload) may store a newer generation;
    // the failed upload itself stores none and acknowledges nothing.
    let gens = file.generations().unwrap();
    assert!(gens.replica_server_gen >= gen_before.replica_server_gen);
    let rows = h.edit_results(r).await;
    assert!(
        rows.iter()
            .any(|row| row.global_id == Some(gid(HYD_2)) && !row.success)
    );
    // The good edit was rolled back with it: the layer-level 2000 is recorded against it.
    let rolled_back: Vec<_> = rows.iter().filter(|row| row.code == Some(2000)).collect();
    assert_eq!(rolled_back.len(), 1, "{rows:?}");
    assert_eq!(rolled_back[0].global_id, Some(gid(HYD_1)));
    assert!(!rolled_back[0].success);
}

/// An async sync keeps polling through a dropped connection and an HTTP 500 on the status URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_polling_survives_a_dropped_connection_and_a_500() {
    let h = start(ServerConfig {
        job_step_delay: Duration::from_millis(60),
        ..ServerConfig::default()
    })
    .await;
    let r = h
        .create_with("hydrants", vec![0], SyncModel::PerReplica, false)
        .await;
    h.update(r, HYD_1, json!({"Notes": "through the storm"}))
        .await;
    h.add_fault(json!([
        {"operation": "jobs", "kind": "dropConnection", "count": 1},
        {"operation": "jobs", "kind": "http500", "count": 1}
    ]))
    .await;
    let outcome = h
        .sync_with(r, sync_options(SyncDirection::Bidirectional, true))
        .await
        .unwrap();
    assert_eq!(outcome.state, JobState::Completed);
    assert_eq!(outcome.uploaded, 1);
    assert!(h.file(r).changes().unwrap().is_empty());
}

/// A result file that expired before download is redone from the stored generation; the resent
/// add is not duplicated on the server or locally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_result_is_redone_without_duplicates() {
    let h = start(ServerConfig {
        result_ttl: Duration::from_millis(300),
        ..ServerConfig::default()
    })
    .await;
    let field = h
        .create_with("field", vec![0], SyncModel::PerReplica, false)
        .await;
    let office = h
        .create_with("office", vec![0], SyncModel::PerReplica, false)
        .await;
    h.add_hydrant(field, "HYD-7777").await;
    let gen_before = h
        .file(field)
        .generations()
        .unwrap()
        .replica_server_gen
        .unwrap();
    h.add_fault(json!({"operation": "result", "kind": "delay", "delayMs": 800, "count": 1}))
        .await;
    let outcome = h
        .sync_with(field, sync_options(SyncDirection::Bidirectional, false))
        .await
        .unwrap();
    assert_eq!(outcome.state, JobState::Completed);
    let file = h.file(field);
    assert!(file.changes().unwrap().is_empty());
    assert_eq!(file.server_feature_count(0).unwrap(), 241);
    assert!(file.generations().unwrap().replica_server_gen.unwrap() > gen_before);

    h.sync_with(office, sync_options(SyncDirection::Download, false))
        .await
        .unwrap();
    assert_eq!(h.file(office).server_feature_count(0).unwrap(), 241);
}

/// A replica the server no longer knows (sync terminated and re-enabled) is marked reset
/// required; its edits stay; later syncs refuse to run; a manual reset only plans and waits.
/// (Automatic reset on detection is off here; `engine/reset.rs` covers the reset itself.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_replica_needs_a_client_reset() {
    let h = start(ServerConfig::default()).await;
    let r = h
        .create_with("hydrants", vec![0], SyncModel::PerReplica, false)
        .await;
    h.update(r, HYD_1, json!({"Notes": "unsynced"})).await;
    h.terminate_and_reenable().await;
    h.send(Command::SyncNow {
        replica: r,
        options: SyncOptions::default(),
    })
    .await;
    let reason = h
        .next(|e| match e {
            Event::ResetRequired { replica, reason } if *replica == r => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert!(reason.contains("3061"), "{reason}");
    let summary = h.summary(r).await;
    assert_eq!(summary.health(), engine::Health::ResetRequired);
    assert_eq!(h.file(r).changes().unwrap().len(), 1, "edits are kept");

    let failure = h.sync_with(r, SyncOptions::default()).await.unwrap_err();
    assert!(
        failure.message.contains("client reset"),
        "{}",
        failure.message
    );
    h.send(Command::Reset {
        replica: r,
        mode: engine::ResetMode::Manual,
    })
    .await;
    let plan = h
        .next(|e| match e {
            Event::ResetAwaitingConfirmation { plan, .. } if plan.replica == r => {
                Some(plan.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(plan.changes.iter().map(|c| c.updates).sum::<u32>(), 1);
    assert!(plan.reason.contains("3061"), "{}", plan.reason);
    assert_eq!(
        h.file(r).changes().unwrap().len(),
        1,
        "planning a manual reset changes nothing"
    );
}

/// An unreachable service fails the job as a transport failure and announces NetworkLost once;
/// the next successful job announces NetworkBack. Unregister then forgets the replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_lost_and_back_then_unregister() {
    let h = start(ServerConfig::default()).await;
    let r = h
        .create_with("hydrants", vec![0], SyncModel::PerReplica, false)
        .await;
    h.add_fault(json!({"operation": "synchronizeReplica", "kind": "http503", "count": 8}))
        .await;
    let failure = h.sync_with(r, SyncOptions::default()).await.unwrap_err();
    assert_eq!(failure.class, engine::FailureClass::Transport);
    h.next(|e| matches!(e, Event::NetworkLost { .. }).then_some(()))
        .await;
    h.clear_faults().await;
    h.sync_with(r, sync_options(SyncDirection::Bidirectional, false))
        .await
        .unwrap();
    h.next(|e| matches!(e, Event::NetworkBack { .. }).then_some(()))
        .await;

    let (_, end) = h.job(Command::Unregister { replica: r }).await;
    end.unwrap();
    h.next(|e| matches!(e, Event::ReplicaRemoved { replica } if *replica == r).then_some(()))
        .await;
    h.send(Command::RefreshReplicas).await;
    let replicas = h
        .next(|e| match e {
            Event::ReplicasLoaded { replicas } => Some(replicas.clone()),
            _ => None,
        })
        .await;
    assert!(replicas.is_empty());
}

/// Auto-sync runs a sync on its own once an interval is set, and stops when it is cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_sync_runs_on_the_interval() {
    let h = start(ServerConfig::default()).await;
    let r = h
        .create_with("hydrants", vec![0], SyncModel::PerReplica, false)
        .await;
    h.update(r, HYD_1, json!({"Notes": "auto"})).await;
    h.send(Command::SetAutoSync {
        interval_secs: Some(1),
    })
    .await;
    let outcome = h
        .next(|e| match e {
            Event::JobCompleted {
                replica, outcome, ..
            } if *replica == r => Some(outcome.clone()),
            _ => None,
        })
        .await;
    assert_eq!(outcome.uploaded, 1);
    h.send(Command::SetAutoSync {
        interval_secs: None,
    })
    .await;
    assert!(h.file(r).changes().unwrap().is_empty());
}

/// Edit results export to CSV with a header and one line per chosen row; the service token
/// appears in neither the CSV nor the replica summaries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_csv_never_includes_the_token() {
    let h = start(ServerConfig::default()).await;
    let (r, end) = h
        .job(Command::CreateReplica(CreateRequest {
            token: Some("tech1-token".into()),
            ..h.create_request("secured", false)
        }))
        .await;
    end.unwrap();
    h.update(r, HYD_1, json!({"Status": null})).await;
    h.sync_with(r, SyncOptions::default()).await.unwrap();
    let rows = h.edit_results(r).await;
    let path = h.dir.path().join("results.csv");
    h.send(Command::ExportCsv {
        indices: (0..rows.len() as u32).collect(),
        rows: rows.clone(),
        path: path.clone(),
    })
    .await;
    let written = h
        .next(|e| match e {
            Event::ExportFinished { rows, .. } => Some(*rows),
            _ => None,
        })
        .await;
    assert_eq!(written, rows.len());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("layer_id,layer_name,object_id,global_id"));
    assert!(text.contains("1001"));
    assert!(!text.contains("tech1-token"));
    let summary = h.summary(r).await;
    assert!(!format!("{summary:?}").contains("tech1-token"));
}

/// Jobs of one replica run one at a time; Cancel stops the running one at its next checkpoint
/// and drops the queued one, and every edit stays queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_running_job_and_drops_the_queued_one() {
    let h = start(ServerConfig {
        job_step_delay: Duration::from_millis(400),
        ..ServerConfig::default()
    })
    .await;
    let r = h
        .create_with("hydrants", vec![0], SyncModel::PerReplica, false)
        .await;
    h.update(r, HYD_1, json!({"Notes": "maybe later"})).await;
    let sync = || Command::SyncNow {
        replica: r,
        options: sync_options(SyncDirection::Bidirectional, true),
    };
    h.send(sync()).await;
    h.send(sync()).await;
    let mut queued = Vec::new();
    while queued.len() < 2 {
        let job = h
            .next(|e| match e {
                Event::JobQueued { replica, job, .. } if *replica == r => Some(*job),
                _ => None,
            })
            .await;
        queued.push(job);
    }
    h.next(|e| match e {
        Event::JobStatus { job, state, .. } if *job == queued[0] && *state == JobState::Pending => {
            Some(())
        }
        _ => None,
    })
    .await;
    h.send(Command::Cancel { replica: r }).await;
    let mut ended = Vec::new();
    while ended.len() < 2 {
        let (job, message) = h
            .next(|e| match e {
                Event::JobFailed { job, error, .. } => Some((*job, error.message.clone())),
                Event::JobCompleted { job, .. } => panic!("job {job:?} was not cancelled"),
                _ => None,
            })
            .await;
        assert!(message.contains("cancelled"), "{message}");
        ended.push(job);
    }
    ended.sort();
    assert_eq!(ended, queued);
    assert_eq!(h.file(r).changes().unwrap().len(), 1);
    let outcome = h
        .sync_with(r, sync_options(SyncDirection::Bidirectional, false))
        .await
        .unwrap();
    assert_eq!(outcome.uploaded, 1);
}

/// A front end that sends from its own thread without waiting (the GUI) starts the engine with
/// `start` and its own `EventSender`, which wakes it on every event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gui_style_start_with_own_queue_and_waker() {
    let dir = tempfile::tempdir().unwrap();
    let (event_tx, event_rx) = std::sync::mpsc::channel();
    let wakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = wakes.clone();
    let events = engine::EventSender::new(
        event_tx,
        Arc::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }),
    );
    let (engine, join) = engine::start(EngineConfig::new(dir.path()), events).unwrap();
    engine.try_send(Command::RefreshReplicas).unwrap();
    engine.try_send(Command::Shutdown).unwrap();
    tokio::time::timeout(EVENT_WAIT, join)
        .await
        .unwrap()
        .unwrap();
    let loaded = event_rx
        .try_iter()
        .filter(|e| matches!(e, Event::ReplicasLoaded { replicas } if replicas.is_empty()))
        .count();
    assert_eq!(loaded, 2, "one at start-up, one for the refresh");
    assert!(wakes.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}

/// A replica file that cannot be read fails the sync as a local error naming the file, shows as
/// an error on the replica, and is left exactly as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_replica_file_is_reported_and_left_alone() {
    let h = start(ServerConfig::default()).await;
    let r = h
        .create_with("hydrants", vec![0], SyncModel::PerReplica, false)
        .await;
    let path = h.file_path(r).unwrap();
    let garbage = b"not a replica file, and never to be overwritten ........".to_vec();
    std::fs::write(&path, &garbage).unwrap();
    let failure = h.sync_with(r, SyncOptions::default()).await.unwrap_err();
    assert_eq!(failure.class, engine::FailureClass::Local);
    assert!(
        failure.message.contains(&*path.to_string_lossy()),
        "{}",
        failure.message
    );
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
    assert_eq!(h.summary(r).await.health(), engine::Health::Error);
}
