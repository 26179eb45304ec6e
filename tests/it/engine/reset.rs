//! Client reset end to end: the engine against the reference server over real HTTP, with real
//! replica files in temp dirs. The server's admin "terminate and re-enable sync" makes every
//! replica unknown to it (the documented way to test client reset handling).

use crate::support::client_config::{Tuned as _, fast};
use serde_json::json;
use std::time::{Duration, Instant};
use syncwatch::engine::reset::ChangesExport;
use syncwatch::engine::{
    self, Command, CreateRequest, EngineConfig, EngineHandle, Event, EventReceiver, LocalEdit,
    LocalReplicaId, NewAttachment, ResetMode, ResetPlan, ResetReport, SyncOptions,
};
use syncwatch::geodatabase::replica_file::{ChangeKind, LocalChange, ReplicaFile};
use syncwatch::protocol::{
    Attributes, ChangeType, CreateReplicaParams, DataFormat, Feature, Guid, SyncModel,
};
use syncwatch::server::{self, RunningServer, ServerConfig};
use syncwatch::service::{ClientConfig, FeatureServiceClient};
use syncwatch::store::Store;

struct Fixture {
    server: RunningServer,
    engine: EngineHandle,
    events: EventReceiver,
    data: tempfile::TempDir,
    seen: Vec<Event>,
}

impl Fixture {
    async fn start() -> Fixture {
        let server = server::start(ServerConfig::default()).await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::new(data.path());
        config.client = fast().attempts(2).backoff_ms(10, 50).poll_ms(20);
        let (engine, events, _join) = engine::start_with_channel(config).unwrap();
        Fixture {
            server,
            engine,
            events,
            data,
            seen: Vec::new(),
        }
    }

    async fn send(&self, command: Command) {
        self.engine.send(command).await.unwrap();
    }

    /// Waits (bounded) for an event matching `pred`; every event seen is kept in `self.seen`.
    async fn wait_for(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            while let Ok(event) = self.events.try_recv() {
                self.seen.push(event.clone());
                if pred(&event) {
                    return event;
                }
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; saw {:#?}",
                self.seen
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn create(&mut self, name: &str) -> LocalReplicaId {
        self.create_of(name, vec![0]).await
    }

    async fn create_of(&mut self, name: &str, layers: Vec<i64>) -> LocalReplicaId {
        self.send(Command::CreateReplica(CreateRequest {
            service_url: self.server.service_url(),
            token: None,
            name: name.into(),
            layers,
            sync_model: SyncModel::PerReplica,
            is_async: false,
        }))
        .await;
        let queued = self
            .wait_for("create queued", |e| matches!(e, Event::JobQueued { .. }))
            .await;
        let Event::JobQueued { replica, .. } = queued else {
            unreachable!()
        };
        self.wait_for(
            "create done",
            |e| matches!(e, Event::JobCompleted { replica: r, .. } if *r == replica),
        )
        .await;
        replica
    }

    async fn sync(&mut self, replica: LocalReplicaId) {
        let options = SyncOptions {
            is_async: false,
            ..SyncOptions::default()
        };
        self.send(Command::SyncNow { replica, options }).await;
    }

    /// Syncs and waits until that replica's job completes without refusals.
    async fn sync_completed(&mut self, replica: LocalReplicaId) {
        self.sync(replica).await;
        self.wait_for("a completed sync", |e| {
            matches!(e, Event::JobCompleted { replica: r, outcome, .. } if *r == replica && outcome.state.as_str() == "Completed")
        })
        .await;
    }

    /// Syncs a replica the server forgot whose automatic reset must fall back to manual: checks the
    /// events came in the seed's order and returns the plan and the fallback reason.
    async fn sync_into_manual_fallback(
        &mut self,
        replica: LocalReplicaId,
    ) -> (ResetPlan, Option<String>) {
        self.sync(replica).await;
        let waiting = self
            .wait_for("manual plan", |e| {
                matches!(e, Event::ResetAwaitingConfirmation { .. })
            })
            .await;
        assert_eq!(
            self.event_names(),
            vec![
                "ResetRequired",
                "BeforeReset",
                "ManualResetFallback",
                "ResetAwaitingConfirmation"
            ]
        );
        let Event::ResetAwaitingConfirmation {
            plan,
            fallback_error,
        } = waiting
        else {
            unreachable!()
        };
        (plan, fallback_error)
    }

    async fn admin(&self, path: &str, body: Option<serde_json::Value>) {
        let mut req = reqwest::Client::new()
            .post(format!("{}{path}", self.server.base_url()))
            .header("X-Admin-Key", self.server.admin_key());
        if let Some(body) = body {
            req = req.json(&body);
        }
        let status = req.send().await.unwrap().status();
        assert!(status.is_success(), "{path}: {status}");
    }

    async fn clear_faults(&self) {
        let status = reqwest::Client::new()
            .delete(format!("{}/admin/faults", self.server.base_url()))
            .header("X-Admin-Key", self.server.admin_key())
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success());
    }

    async fn terminate_and_reenable(&self) {
        self.admin("/admin/sync/terminate", None).await;
        self.admin("/admin/sync/enable", None).await;
    }

    fn replica_file(&self) -> ReplicaFile {
        let dir = self.data.path().join("replicas");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
        ReplicaFile::open(files.last().unwrap()).unwrap()
    }

    /// The replica's current file, as the app database registers it.
    fn file_of(&self, replica: LocalReplicaId) -> ReplicaFile {
        let store = Store::open(&self.data.path().join("syncwatch.db")).unwrap();
        ReplicaFile::open(&store.replica(replica).unwrap().file_path).unwrap()
    }

    /// Records local edits of layer 0 through the engine.
    async fn edit(&self, replica: LocalReplicaId, edits: Vec<LocalEdit>) {
        for edit in edits {
            self.engine.edit_feature(replica, 0, edit).await.unwrap();
        }
    }

    /// Layer 0 as the server holds it now, read through a throwaway replica.
    async fn server_hydrants(&self) -> Vec<Feature> {
        let client =
            FeatureServiceClient::new(&self.server.service_url(), None, ClientConfig::default())
                .unwrap();
        let mut params = CreateReplicaParams::new("server-check", vec![0]);
        params.data_format = DataFormat::Json;
        let result = client
            .create_replica(&params, self.data.path(), &|_| {})
            .await
            .unwrap();
        let guid = result.response.replica_id.clone().unwrap();
        client.unregister_replica(&guid).await.unwrap();
        let layer = result.response.layers.into_iter().find(|l| l.id == 0);
        layer.map(|l| l.features).unwrap_or_default()
    }

    async fn server_hydrant(&self, global_id: &Guid) -> Option<Feature> {
        let features = self.server_hydrants().await;
        features
            .into_iter()
            .find(|f| f.global_id().as_ref() == Some(global_id))
    }

    /// Terminates and re-enables sync, syncs `replica` and waits for its automatic recovery (and
    /// the sync that uploads what it recovered). Checks the seed's event order and that the backup
    /// re-reads with `changes` changes; returns the report.
    async fn recover_after_terminate(
        &mut self,
        replica: LocalReplicaId,
        changes: usize,
    ) -> ResetReport {
        self.terminate_and_reenable().await;
        self.seen.clear();
        self.sync(replica).await;
        let after = self
            .wait_for(
                "AfterRecovery",
                |e| matches!(e, Event::AfterRecovery { report } if report.replica == replica),
            )
            .await;
        assert_eq!(
            self.event_names(),
            vec!["ResetRequired", "BeforeReset", "AfterRecovery"]
        );
        let Event::AfterRecovery { report } = after else {
            unreachable!()
        };
        assert_backup(&report, changes);
        if !report.recovered.is_empty() {
            self.wait_for_next_sync(replica).await;
        }
        report
    }

    /// Waits for the next sync job of `replica` to be queued and to complete without refusals.
    async fn wait_for_next_sync(&mut self, replica: LocalReplicaId) {
        let queued = self
            .wait_for(
                "the upload job",
                |e| matches!(e, Event::JobQueued { replica: r, .. } if *r == replica),
            )
            .await;
        let Event::JobQueued { job, .. } = queued else {
            unreachable!()
        };
        let done = self
            .wait_for("the upload", |e| {
                matches!(e, Event::JobCompleted { job: j, .. } | Event::JobFailed { job: j, .. } if *j == job)
            })
            .await;
        assert!(
            matches!(&done, Event::JobCompleted { outcome, .. } if outcome.failed_edits == 0),
            "{done:#?}"
        );
    }

    fn event_names(&self) -> Vec<&'static str> {
        self.seen
            .iter()
            .filter_map(|e| match e {
                Event::ResetRequired { .. } => Some("ResetRequired"),
                Event::BeforeReset { .. } => Some("BeforeReset"),
                Event::AfterRecovery { .. } => Some("AfterRecovery"),
                Event::AfterDiscard { .. } => Some("AfterDiscard"),
                Event::ManualResetFallback { .. } => Some("ManualResetFallback"),
                Event::ResetAwaitingConfirmation { .. } => Some("ResetAwaitingConfirmation"),
                _ => None,
            })
            .collect()
    }
}

/// The backup of a reset re-reads: the copy of the replica file opens with `changes` queued
/// changes, `unsynced-changes.json` parses with the same changes, and the replaced replica file
/// was moved next to them with its changes.
fn assert_backup(report: &ResetReport, changes: usize) {
    let copy = ReplicaFile::open(&report.backup_files[0]).unwrap();
    let in_copy = copy.changes().unwrap();
    assert_eq!(in_copy.len(), changes);
    let export: ChangesExport =
        serde_json::from_slice(&std::fs::read(&report.backup_files[1]).unwrap()).unwrap();
    assert_eq!(export.changes, in_copy);
    assert_eq!(
        export.edits.iter().map(|l| l.features.len()).sum::<usize>(),
        changes
    );
    let original = report.backup_files[0].with_file_name("replica-original.replica");
    assert_eq!(
        ReplicaFile::open(&original).unwrap().changes().unwrap(),
        in_copy
    );
}

/// A local update of some attributes of one feature.
fn update(global_id: Guid, attributes: serde_json::Value) -> LocalEdit {
    LocalEdit::Update {
        global_id,
        attributes: attrs(attributes),
        geometry: None,
    }
}

fn attrs(value: serde_json::Value) -> Attributes {
    value.as_object().cloned().unwrap()
}

/// Two server features of layer 0 and their GlobalIDs, from the local replica.
fn two_hydrants(file: &ReplicaFile) -> (Guid, Guid) {
    let features = file.local_features(0).unwrap();
    (
        features[0].global_id().unwrap(),
        features[1].global_id().unwrap(),
    )
}

/// RecoverOrDiscard (the default): after terminate + re-enable, the next sync detects the missing
/// replica, backs up, recovers every local change onto a fresh replica and uploads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_or_discard_recovers_local_changes() {
    let mut fx = Fixture::start().await;
    let replica = fx.create("hydrants").await;
    let (a, b) = two_hydrants(&fx.replica_file());
    let edits = [
        update(a.clone(), json!({"Notes": "cap replaced"})),
        LocalEdit::Delete {
            global_id: b.clone(),
        },
        LocalEdit::Add {
            attributes: attrs(json!({"FacilityID": "HYD-NEW-1", "Status": "IS"})),
            geometry: Some(json!({"x": 10.0, "y": 20.0})),
        },
    ];
    for edit in edits {
        fx.engine.edit_feature(replica, 0, edit).await.unwrap();
    }
    assert_eq!(fx.replica_file().changes().unwrap().len(), 3);
    fx.terminate_and_reenable().await;

    fx.sync(replica).await;
    let after = fx
        .wait_for("AfterRecovery", |e| {
            matches!(e, Event::AfterRecovery { .. })
        })
        .await;
    let Event::AfterRecovery { report } = after else {
        unreachable!()
    };
    assert_eq!(
        fx.event_names(),
        vec!["ResetRequired", "BeforeReset", "AfterRecovery"]
    );
    assert_eq!(report.recovered.len(), 3, "{report:#?}");
    assert!(report.discarded.is_empty());
    // The backup is on disk and readable, with every change.
    let copy = ReplicaFile::open(&report.backup_files[0]).unwrap();
    assert_eq!(copy.changes().unwrap().len(), 3);
    let export: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report.backup_files[1]).unwrap()).unwrap();
    assert_eq!(export["changes"].as_array().unwrap().len(), 3);

    // The follow-up sync uploads the recovered edits; the server then holds them.
    fx.wait_for("upload after recovery", |e| {
        matches!(e, Event::JobCompleted { outcome, .. } if outcome.uploaded == 3 && outcome.failed_edits == 0)
    })
    .await;
    let check = fx.create("check").await;
    let fresh = fx.replica_file();
    assert_eq!(
        fresh
            .local_feature(0, &a)
            .unwrap()
            .unwrap()
            .attr_ci("Notes"),
        Some(&json!("cap replaced"))
    );
    assert!(
        fresh.local_feature(0, &b).unwrap().is_none(),
        "the local delete reached the server"
    );
    let added = fresh
        .local_features(0)
        .unwrap()
        .into_iter()
        .filter(|f| f.attr_ci("FacilityID") == Some(&json!("HYD-NEW-1")))
        .count();
    assert_eq!(added, 1, "the local create exists once on the server");
    assert_ne!(check, replica);
}

/// A recovery keeps unsynced attachments: a photo attached to a new inspection before the server
/// forgot the replica is replayed onto the fresh replica, uploaded, and another replica gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_keeps_unsynced_attachments() {
    let mut fx = Fixture::start().await;
    let replica = fx.create_of("inspections", vec![3]).await;
    let parent = Guid::new_v4();
    let add = LocalEdit::Add {
        attributes: attrs(json!({"GlobalID": parent.as_str(), "Result": "FAIL"})),
        geometry: None,
    };
    fx.engine.edit_feature(replica, 3, add).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cap.png");
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let photo = Guid::new_v4();
    let attach = LocalEdit::Attach(Box::new(NewAttachment {
        global_id: photo.clone(),
        parent_global_id: parent.clone(),
        file,
        content_type: None,
    }));
    fx.engine.edit_feature(replica, 3, attach).await.unwrap();
    fx.terminate_and_reenable().await;

    fx.sync(replica).await;
    let after = fx
        .wait_for("AfterRecovery", |e| {
            matches!(e, Event::AfterRecovery { .. })
        })
        .await;
    let Event::AfterRecovery { report } = after else {
        unreachable!()
    };
    assert_eq!(report.recovered.len(), 2, "{report:#?}");
    assert!(report.recovered.iter().any(|o| o.global_id == photo));
    fx.wait_for("upload after recovery", |e| {
        matches!(e, Event::JobCompleted { outcome, .. } if outcome.uploaded == 2 && outcome.failed_edits == 0)
    })
    .await;
    fx.create_of("check", vec![3]).await;
    let check = fx.replica_file();
    let got = check.attachment(&photo).unwrap().expect("on the server");
    assert_eq!(
        (got.content_type.as_str(), got.parent_global_id.clone()),
        ("image/png", parent)
    );
    assert_eq!(check.attachment_data(&photo).unwrap().unwrap(), bytes);
}

/// Recover falls back to manual on a breaking schema change; Cancel keeps the replica unchanged
/// and still "reset required"; Confirm performs a discard reset that keeps the changes in the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_falls_back_to_manual_then_cancel_and_confirm() {
    let mut fx = Fixture::start().await;
    let replica = fx.create("valves").await;
    fx.send(Command::SetResetMode {
        replica,
        mode: ResetMode::Recover,
    })
    .await;
    let (a, _) = two_hydrants(&fx.replica_file());
    let edit = update(a.clone(), json!({"Notes": "leaking"}));
    fx.engine.edit_feature(replica, 0, edit).await.unwrap();
    assert_eq!(fx.replica_file().changes().unwrap().len(), 1);
    fx.admin(
        "/admin/schema",
        Some(json!({"change": "dropField", "layer": 0, "field": "Notes"})),
    )
    .await;
    fx.terminate_and_reenable().await;

    let (plan, fallback_error) = fx.sync_into_manual_fallback(replica).await;
    assert!(
        fallback_error.unwrap().contains("Notes"),
        "the reason names the dropped field"
    );
    assert_eq!(plan.changes.iter().map(|c| c.updates).sum::<u32>(), 1);
    // The old replica and its change are untouched.
    assert_eq!(fx.replica_file().changes().unwrap().len(), 1);

    fx.send(Command::CancelReset { replica }).await;
    fx.send(Command::RefreshReplicas).await;
    let loaded = fx
        .wait_for("replicas", |e| matches!(e, Event::ReplicasLoaded { .. }))
        .await;
    let Event::ReplicasLoaded { replicas } = loaded else {
        unreachable!()
    };
    let summary = replicas.iter().find(|s| s.id == replica).unwrap();
    assert!(
        summary.reset_reason.is_some(),
        "cancel leaves the replica needing a reset"
    );
    assert_eq!(summary.pending_changes, 1);

    fx.send(Command::ConfirmReset { replica }).await;
    let after = fx
        .wait_for("AfterDiscard", |e| matches!(e, Event::AfterDiscard { .. }))
        .await;
    let Event::AfterDiscard { report } = after else {
        unreachable!()
    };
    assert_eq!(report.discarded.len(), 1);
    assert_eq!(report.discarded[0].global_id, a);
    let backup = ReplicaFile::open(&report.backup_files[0]).unwrap();
    assert_eq!(
        backup.changes().unwrap().len(),
        1,
        "the discarded change is in the backup"
    );
    fx.sync_completed(replica).await;
}

/// The reset guard: a second reset before the first was proven by a sync goes to manual instead
/// of looping; after a successful sync the guard is cleared and a reset runs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_guard_stops_a_loop_until_a_sync_succeeds() {
    let mut fx = Fixture::start().await;
    let replica = fx.create("mains").await;
    fx.send(Command::Reset {
        replica,
        mode: ResetMode::Discard,
    })
    .await;
    fx.wait_for("first discard", |e| matches!(e, Event::AfterDiscard { .. }))
        .await;

    fx.send(Command::Reset {
        replica,
        mode: ResetMode::Discard,
    })
    .await;
    let fallback = fx
        .wait_for("guard stop", |e| {
            matches!(e, Event::ManualResetFallback { .. })
        })
        .await;
    let Event::ManualResetFallback { error, .. } = fallback else {
        unreachable!()
    };
    assert!(error.contains("loop"), "{error}");

    fx.sync_completed(replica).await;
    fx.seen.clear();
    fx.send(Command::Reset {
        replica,
        mode: ResetMode::Discard,
    })
    .await;
    fx.wait_for("second discard", |e| {
        matches!(e, Event::AfterDiscard { .. })
    })
    .await;
    assert!(!fx.event_names().contains(&"ManualResetFallback"));
}

/// The demo menu's "terminate and re-enable sync": every replica is forgotten by the server, the
/// engine syncs them all, detects it and recovers automatically, local edits included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_terminate_sync_triggers_automatic_recovery() {
    let mut fx = Fixture::start().await;
    let replica = fx.create("demo").await;
    let (a, _) = two_hydrants(&fx.replica_file());
    let edit = update(a, json!({"Notes": "painted"}));
    fx.engine.edit_feature(replica, 0, edit).await.unwrap();
    // What the demo menu does: the demo service terminates and re-enables sync, then SyncAll.
    syncwatch::demo::DemoAdmin::of(&fx.server)
        .terminate_and_reenable_sync()
        .await
        .expect("terminate and re-enable sync");
    fx.send(Command::SyncAll).await;
    let after = fx
        .wait_for("AfterRecovery", |e| {
            matches!(e, Event::AfterRecovery { .. })
        })
        .await;
    let Event::AfterRecovery { report } = after else {
        unreachable!()
    };
    assert_eq!(report.replica, replica);
    assert_eq!(report.recovered.len(), 1);
    assert_eq!(
        fx.event_names(),
        vec!["ResetRequired", "BeforeReset", "AfterRecovery"]
    );
}

/// RecoverOrDiscard falls back to Discard when recovery hits a breaking schema change: the
/// changes are discarded (kept in the backup) and the replica syncs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_or_discard_falls_back_to_discard() {
    let mut fx = Fixture::start().await;
    let replica = fx.create("inlets").await;
    let (a, _) = two_hydrants(&fx.replica_file());
    let edit = update(a.clone(), json!({"Notes": "cracked"}));
    fx.engine.edit_feature(replica, 0, edit).await.unwrap();
    fx.admin(
        "/admin/schema",
        Some(json!({"change": "dropField", "layer": 0, "field": "Notes"})),
    )
    .await;
    fx.terminate_and_reenable().await;

    fx.sync(replica).await;
    let after = fx
        .wait_for("AfterDiscard", |e| matches!(e, Event::AfterDiscard { .. }))
        .await;
    assert_eq!(
        fx.event_names(),
        vec!["ResetRequired", "BeforeReset", "AfterDiscard"]
    );
    let Event::AfterDiscard { report } = after else {
        unreachable!()
    };
    assert_eq!(report.mode_used, ResetMode::Discard);
    assert_eq!(report.discarded.len(), 1);
    assert_eq!(report.discarded[0].global_id, a);
    assert_eq!(
        ReplicaFile::open(&report.backup_files[0])
            .unwrap()
            .changes()
            .unwrap()
            .len(),
        1
    );
    assert!(
        fx.replica_file().changes().unwrap().is_empty(),
        "the fresh replica has no queued change"
    );
    fx.sync_completed(replica).await;
}

/// Discard falls back to Manual when the fresh replica cannot be created (the service answers
/// HTTP 500 to createReplica): the old replica and its change stay untouched; once the service
/// works again, confirming the manual reset succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_falls_back_to_manual_when_create_fails() {
    let mut fx = Fixture::start().await;
    let replica = fx.create("pipes").await;
    fx.send(Command::SetResetMode {
        replica,
        mode: ResetMode::Discard,
    })
    .await;
    let (a, _) = two_hydrants(&fx.replica_file());
    let edit = update(a, json!({"Notes": "valve stuck"}));
    fx.engine.edit_feature(replica, 0, edit).await.unwrap();
    fx.terminate_and_reenable().await;
    fx.admin(
        "/admin/faults",
        Some(json!({"operation": "createReplica", "kind": "http500", "count": 20})),
    )
    .await;

    let (_, fallback_error) = fx.sync_into_manual_fallback(replica).await;
    assert!(fallback_error.unwrap().contains("createReplica"));
    assert_eq!(
        fx.replica_file().changes().unwrap().len(),
        1,
        "the old replica is untouched"
    );

    fx.clear_faults().await;
    fx.send(Command::ConfirmReset { replica }).await;
    let after = fx
        .wait_for("AfterDiscard", |e| matches!(e, Event::AfterDiscard { .. }))
        .await;
    let Event::AfterDiscard { report } = after else {
        unreachable!()
    };
    assert_eq!(report.discarded.len(), 1);
}

/// Recovery rule "local creates are kept": a feature created in the field and never synced is
/// recovered onto the fresh replica and uploaded; the server then holds it once, under the
/// GlobalID the laptop gave it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_local_create_is_kept() {
    let mut fx = Fixture::start().await;
    let tech = fx.create("tech").await;
    let add = LocalEdit::Add {
        attributes: attrs(json!({"FacilityID": "HYD-TECH-1", "Status": "IS", "Notes": "new"})),
        geometry: Some(json!({"x": 10.0, "y": 20.0})),
    };
    fx.edit(tech, vec![add]).await;
    let gid = fx.file_of(tech).changes().unwrap()[0].global_id.clone();

    let report = fx.recover_after_terminate(tech, 1).await;
    assert_eq!(report.mode_used, ResetMode::Recover);
    assert_eq!(report.recovered.len(), 1);
    assert_eq!(report.recovered[0].global_id, gid);
    assert_eq!(report.recovered[0].change_type, ChangeType::Insert);
    assert!(report.recovered[0].note.contains("kept"));
    assert!(report.discarded.is_empty());

    let on_server: Vec<Feature> = fx
        .server_hydrants()
        .await
        .into_iter()
        .filter(|f| f.attr_ci("FacilityID") == Some(&json!("HYD-TECH-1")))
        .collect();
    assert_eq!(on_server.len(), 1, "the create is on the server once");
    assert_eq!(on_server[0].global_id(), Some(gid.clone()));
    let local = fx.file_of(tech);
    assert!(local.changes().unwrap().is_empty(), "nothing left to send");
    let kept = local.server_feature(0, &gid).unwrap().unwrap();
    assert_eq!(kept.attr_ci("Notes"), Some(&json!("new")));
}

/// Recovery rule "server delete beats local update": the office deleted a hydrant the technician
/// had updated; the recovery discards the update and reports it for that object. The server and
/// the fresh replica no longer have the hydrant; the update survives only in the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_server_delete_discards_the_local_update() {
    let mut fx = Fixture::start().await;
    let tech = fx.create("tech").await;
    let office = fx.create("office").await;
    let (a, _) = two_hydrants(&fx.file_of(tech));
    let update = update(a.clone(), json!({"Notes": "hinge squeaks"}));
    fx.edit(tech, vec![update]).await;
    fx.edit(
        office,
        vec![LocalEdit::Delete {
            global_id: a.clone(),
        }],
    )
    .await;
    fx.sync_completed(office).await;

    let report = fx.recover_after_terminate(tech, 1).await;
    assert!(report.recovered.is_empty(), "{report:#?}");
    assert_eq!(report.discarded.len(), 1);
    assert_eq!(report.discarded[0].global_id, a);
    assert_eq!(report.discarded[0].change_type, ChangeType::Update);
    assert!(report.discarded[0].note.contains("deleted on the server"));

    assert!(fx.server_hydrant(&a).await.is_none());
    let local = fx.file_of(tech);
    assert!(local.local_feature(0, &a).unwrap().is_none());
    assert!(local.changes().unwrap().is_empty());
    let export: ChangesExport =
        serde_json::from_slice(&std::fs::read(&report.backup_files[1]).unwrap()).unwrap();
    assert_eq!(
        export.changes[0].global_id, a,
        "the update is in the backup"
    );
    assert_eq!(
        export.changes[0].attributes.get("Notes"),
        Some(&json!("hinge squeaks"))
    );
}

/// Recovery rule "a local delete is applied; a no-op if the server already deleted it": the
/// technician deleted two hydrants, the office had already deleted one of them. Both deletes are
/// recovered, the one still on the server is applied, and neither hydrant exists anywhere after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_local_delete_is_applied_or_a_no_op() {
    let mut fx = Fixture::start().await;
    let tech = fx.create("tech").await;
    let office = fx.create("office").await;
    let (a, b) = two_hydrants(&fx.file_of(tech));
    let deletes = vec![
        LocalEdit::Delete {
            global_id: a.clone(),
        },
        LocalEdit::Delete {
            global_id: b.clone(),
        },
    ];
    fx.edit(tech, deletes).await;
    fx.edit(
        office,
        vec![LocalEdit::Delete {
            global_id: b.clone(),
        }],
    )
    .await;
    fx.sync_completed(office).await;

    let report = fx.recover_after_terminate(tech, 2).await;
    assert!(report.discarded.is_empty(), "{report:#?}");
    let note = |gid: &Guid| {
        report
            .recovered
            .iter()
            .find(|o| &o.global_id == gid && o.change_type == ChangeType::Delete)
            .map(|o| o.note.clone())
            .unwrap()
    };
    assert!(note(&a).contains("delete applied"), "{}", note(&a));
    assert!(note(&b).contains("no-op"), "{}", note(&b));

    assert!(
        fx.server_hydrant(&a).await.is_none(),
        "the delete reached the server"
    );
    assert!(fx.server_hydrant(&b).await.is_none());
    let local = fx.file_of(tech);
    assert!(local.local_feature(0, &a).unwrap().is_none());
    assert!(local.local_feature(0, &b).unwrap().is_none());
    assert!(local.changes().unwrap().is_empty());
}

/// Recovery rule "same field changed on both sides: the local value wins": the technician and the
/// office both changed Notes; the office also changed Flow_GPM. After recovery the server and the
/// fresh replica hold the technician's Notes and the office's Flow_GPM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_same_field_local_value_wins() {
    let mut fx = Fixture::start().await;
    let tech = fx.create("tech").await;
    let office = fx.create("office").await;
    let (a, _) = two_hydrants(&fx.file_of(tech));
    let tech_update = update(a.clone(), json!({"Notes": "tech: cap replaced"}));
    fx.edit(tech, vec![tech_update]).await;
    let office_update = update(
        a.clone(),
        json!({"Notes": "office: scheduled", "Flow_GPM": 999.0}),
    );
    fx.edit(office, vec![office_update]).await;
    fx.sync_completed(office).await;

    let report = fx.recover_after_terminate(tech, 1).await;
    assert_eq!(report.recovered.len(), 1, "{report:#?}");
    assert!(report.recovered[0].note.contains("local values win"));

    let on_server = fx.server_hydrant(&a).await.unwrap();
    assert_eq!(
        on_server.attr_ci("Notes"),
        Some(&json!("tech: cap replaced"))
    );
    assert_eq!(on_server.attr_ci("Flow_GPM"), Some(&json!(999.0)));
    let local = fx.file_of(tech);
    assert!(local.changes().unwrap().is_empty());
    let here = local.local_feature(0, &a).unwrap().unwrap();
    assert_eq!(here.attr_ci("Notes"), Some(&json!("tech: cap replaced")));
    assert_eq!(here.attr_ci("Flow_GPM"), Some(&json!(999.0)));
}

/// The fresh replica's result cannot be downloaded (HTTP 500 on every try): Recover falls back to
/// manual, the old replica keeps both changes and a backup holds them. Once the service works, the
/// next reset recovers both (a failed attempt does not count as a reset that could loop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_result_download_loses_nothing_and_the_next_reset_recovers() {
    let mut fx = Fixture::start().await;
    let tech = fx.create("tech").await;
    fx.send(Command::SetResetMode {
        replica: tech,
        mode: ResetMode::Recover,
    })
    .await;
    let (a, _) = two_hydrants(&fx.file_of(tech));
    let edits = vec![
        update(a.clone(), json!({"Notes": "valve stuck"})),
        LocalEdit::Add {
            attributes: attrs(json!({"FacilityID": "HYD-TECH-2", "Status": "IS"})),
            geometry: Some(json!({"x": 1.0, "y": 2.0})),
        },
    ];
    fx.edit(tech, edits).await;
    let before = content(&fx.file_of(tech).changes().unwrap());
    fx.terminate_and_reenable().await;
    fx.admin(
        "/admin/faults",
        Some(json!({"operation": "result", "kind": "http500", "count": 50})),
    )
    .await;

    let (_, fallback_error) = fx.sync_into_manual_fallback(tech).await;
    assert!(fallback_error.is_some());
    // The detecting sync marked them as sent; what they change is untouched.
    assert_eq!(
        content(&fx.file_of(tech).changes().unwrap()),
        before,
        "old replica untouched"
    );
    let backups = backups_in(&fx.data.path().join("recovery"));
    assert_eq!(backups.len(), 1);
    assert_eq!(content(&backups[0].changes), before);
    let leftovers = replica_files(fx.data.path());
    assert_eq!(leftovers.len(), 1, "no fresh file left: {leftovers:?}");

    fx.clear_faults().await;
    fx.seen.clear();
    fx.send(Command::Reset {
        replica: tech,
        mode: ResetMode::Recover,
    })
    .await;
    let after = fx
        .wait_for("AfterRecovery", |e| {
            matches!(e, Event::AfterRecovery { .. })
        })
        .await;
    let Event::AfterRecovery { report } = after else {
        unreachable!()
    };
    assert_eq!(report.recovered.len(), 2);
    assert_backup(&report, 2);
    fx.wait_for_next_sync(tech).await;
    let on_server = fx.server_hydrant(&a).await.unwrap();
    assert_eq!(on_server.attr_ci("Notes"), Some(&json!("valve stuck")));
    assert!(fx.file_of(tech).changes().unwrap().is_empty());
}

/// The upload after a recovery loses its reply (the server applies it, the connection drops): the
/// recovered add stays queued in the fresh replica; the next sync resends it and the server holds
/// it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_upload_after_recovery_is_resent_without_duplicates() {
    let mut fx = Fixture::start().await;
    let tech = fx.create("tech").await;
    let add = LocalEdit::Add {
        attributes: attrs(json!({"FacilityID": "HYD-TECH-3", "Status": "IS"})),
        geometry: Some(json!({"x": 3.0, "y": 4.0})),
    };
    fx.edit(tech, vec![add]).await;
    let gid = fx.file_of(tech).changes().unwrap()[0].global_id.clone();
    fx.terminate_and_reenable().await;
    fx.admin(
        "/admin/faults",
        Some(json!({"operation": "synchronizeReplica", "kind": "dropConnection", "count": 50})),
    )
    .await;
    // Reset directly (the detecting sync would meet the fault first).
    fx.send(Command::Reset {
        replica: tech,
        mode: ResetMode::Recover,
    })
    .await;
    fx.wait_for("AfterRecovery", |e| {
        matches!(e, Event::AfterRecovery { .. })
    })
    .await;
    fx.wait_for(
        "the failed upload",
        |e| matches!(e, Event::JobFailed { replica, .. } if *replica == tech),
    )
    .await;
    let queued = fx.file_of(tech).changes().unwrap();
    assert_eq!(queued.len(), 1, "the recovered add is still queued");
    assert_eq!(queued[0].global_id, gid);

    fx.clear_faults().await;
    fx.sync_completed(tech).await;
    let copies = fx
        .server_hydrants()
        .await
        .into_iter()
        .filter(|f| f.attr_ci("FacilityID") == Some(&json!("HYD-TECH-3")))
        .count();
    assert_eq!(copies, 1);
    assert!(fx.file_of(tech).changes().unwrap().is_empty());
}

/// What queued changes do, without their upload bookkeeping.
fn content(
    changes: &[LocalChange],
) -> Vec<(Guid, ChangeKind, Attributes, Option<serde_json::Value>)> {
    changes
        .iter()
        .map(|c| {
            (
                c.global_id.clone(),
                c.kind,
                c.attributes.clone(),
                c.geometry.clone(),
            )
        })
        .collect()
}

/// Every backup under the recovery folder, as its `unsynced-changes.json` says.
fn backups_in(root: &std::path::Path) -> Vec<ChangesExport> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let export = entry.unwrap().path().join("unsynced-changes.json");
        if export.exists() {
            found.push(serde_json::from_slice(&std::fs::read(export).unwrap()).unwrap());
        }
    }
    found
}

/// Every file in the data directory's `replicas/` folder.
fn replica_files(data: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(data.join("replicas"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}
