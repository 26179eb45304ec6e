//! Client reset end to end: the engine against the reference server over real HTTP, with real
//! replica files in temp dirs. The server's admin "terminate and re-enable sync" makes every
//! replica unknown to it (seed 000's way to test client reset handling).

use serde_json::json;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use syncwatch::engine::{
    self, Command, CreateRequest, EngineConfig, EngineHandle, Event, LocalEdit, LocalReplicaId,
    NewAttachment, ResetMode, ResetPlan, SyncOptions,
};
use syncwatch::geodatabase::replica_file::ReplicaFile;
use syncwatch::protocol::{Attributes, Guid, SyncModel};
use syncwatch::server::{self, RunningServer, ServerConfig};
use syncwatch::service::{Backoff, ClientConfig};

struct Fixture {
    server: RunningServer,
    engine: EngineHandle,
    events: Receiver<Event>,
    data: tempfile::TempDir,
    seen: Vec<Event>,
}

impl Fixture {
    async fn start() -> Fixture {
        let server = server::start(ServerConfig::default()).await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::new(data.path());
        config.demo_admin = Some(engine::DemoAdmin {
            base_url: server.base_url().to_string(),
            admin_key: server.admin_key().to_string(),
        });
        config.client = ClientConfig {
            max_attempts: 2,
            backoff: Backoff {
                base: Duration::from_millis(10),
                max: Duration::from_millis(50),
            },
            poll_interval: Duration::from_millis(20),
            ..ClientConfig::default()
        };
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
        LocalEdit::Update {
            global_id: a.clone(),
            attributes: attrs(json!({"Notes": "cap replaced"})),
            geometry: None,
        },
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
    let edit = LocalEdit::Update {
        global_id: a.clone(),
        attributes: attrs(json!({"Notes": "leaking"})),
        geometry: None,
    };
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
        summary.reset_required.is_some(),
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
    let edit = LocalEdit::Update {
        global_id: a,
        attributes: attrs(json!({"Notes": "painted"})),
        geometry: None,
    };
    fx.engine.edit_feature(replica, 0, edit).await.unwrap();
    fx.send(Command::DemoTerminateSync).await;
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
    let edit = LocalEdit::Update {
        global_id: a.clone(),
        attributes: attrs(json!({"Notes": "cracked"})),
        geometry: None,
    };
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
    let edit = LocalEdit::Update {
        global_id: a,
        attributes: attrs(json!({"Notes": "valve stuck"})),
        geometry: None,
    };
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

    let status = reqwest::Client::new()
        .delete(format!("{}/admin/faults", fx.server.base_url()))
        .header("X-Admin-Key", fx.server.admin_key())
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success());
    fx.send(Command::ConfirmReset { replica }).await;
    let after = fx
        .wait_for("AfterDiscard", |e| matches!(e, Event::AfterDiscard { .. }))
        .await;
    let Event::AfterDiscard { report } = after else {
        unreachable!()
    };
    assert_eq!(report.discarded.len(), 1);
}
