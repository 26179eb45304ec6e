//! Client reset end to end: the engine against the reference server over real HTTP, with real
//! replica files in temp dirs. The server's admin "terminate and re-enable sync" makes every
//! replica unknown to it (the documented way to test client reset handling).

use crate::support::client_config::{Tuned as _, fast};
use crate::support::engine::{Harness, attrs};
use serde_json::json;
use syncwatch::engine::reset::ChangesExport;
use syncwatch::engine::{
    Command, Event, LocalEdit, LocalReplicaId, NewAttachment, ResetMode, ResetPlan, ResetReport,
};
use syncwatch::geodatabase::replica_file::{ChangeKind, LocalChange, ReplicaFile};
use syncwatch::protocol::{Attributes, ChangeType, Feature, Guid, SyncModel};
use syncwatch::server::ServerConfig;

/// The engine resets a replica the service forgot as soon as it finds out (as the window does),
/// with a client that retries twice, fast.
async fn start() -> Harness {
    let client = fast().attempts(2).backoff_ms(10, 50).poll_ms(20);
    Harness::start_with(ServerConfig::default(), client, |engine| {
        engine.reset_on_detection = true;
    })
    .await
}

/// Syncs a replica the server forgot whose automatic reset must fall back to manual: checks the
/// reset events came in order (required, before, fallback, awaiting confirmation) and returns the
/// plan and the fallback reason.
async fn sync_into_manual_fallback(
    h: &Harness,
    replica: LocalReplicaId,
) -> (ResetPlan, Option<String>) {
    h.begin_sync(replica).await;
    let waiting = h
        .wait_for("manual plan", |e| {
            matches!(e, Event::ResetAwaitingConfirmation { .. })
        })
        .await;
    assert_eq!(
        h.reset_events_seen(),
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

/// Terminates and re-enables sync, syncs `replica` and waits for its automatic recovery (and
/// the sync that uploads what it recovered). Checks the reset events came in order (required,
/// before, after recovery) and that the backup re-reads with `changes` changes; returns the report.
async fn recover_after_terminate(
    h: &Harness,
    replica: LocalReplicaId,
    changes: usize,
) -> ResetReport {
    h.terminate_and_reenable().await;
    h.forget_seen();
    h.begin_sync(replica).await;
    let after = h
        .wait_for(
            "AfterRecovery",
            |e| matches!(e, Event::AfterRecovery { report } if report.replica == replica),
        )
        .await;
    assert_eq!(
        h.reset_events_seen(),
        vec!["ResetRequired", "BeforeReset", "AfterRecovery"]
    );
    let Event::AfterRecovery { report } = after else {
        unreachable!()
    };
    assert_backup(&report, changes);
    if !report.recovered.is_empty() {
        wait_for_next_sync(h, replica).await;
    }
    report
}

/// Waits for the next sync job of `replica` to be queued and to complete without refusals.
async fn wait_for_next_sync(h: &Harness, replica: LocalReplicaId) {
    let queued = h
        .wait_for(
            "the upload job",
            |e| matches!(e, Event::JobQueued { replica: r, .. } if *r == replica),
        )
        .await;
    let Event::JobQueued { job, .. } = queued else {
        unreachable!()
    };
    let done = h
        .wait_for("the upload", |e| {
            matches!(e, Event::JobCompleted { job: j, .. } | Event::JobFailed { job: j, .. } if *j == job)
        })
        .await;
    assert!(
        matches!(&done, Event::JobCompleted { outcome, .. } if outcome.failed_edits == 0),
        "{done:#?}"
    );
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
    let h = start().await;
    let replica = h.create("hydrants").await;
    let (a, b) = two_hydrants(&h.newest_file());
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
        h.engine.edit_feature(replica, 0, edit).await.unwrap();
    }
    assert_eq!(h.newest_file().changes().unwrap().len(), 3);
    h.terminate_and_reenable().await;

    h.begin_sync(replica).await;
    let after = h
        .wait_for("AfterRecovery", |e| {
            matches!(e, Event::AfterRecovery { .. })
        })
        .await;
    let Event::AfterRecovery { report } = after else {
        unreachable!()
    };
    assert_eq!(
        h.reset_events_seen(),
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
    h.wait_for("upload after recovery", |e| {
        matches!(e, Event::JobCompleted { outcome, .. } if outcome.uploaded == 3 && outcome.failed_edits == 0)
    })
    .await;
    let check = h.create("check").await;
    let fresh = h.newest_file();
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
    let h = start().await;
    let replica = h
        .create_with("inspections", vec![3], SyncModel::PerReplica, false)
        .await;
    let parent = Guid::new_v4();
    let add = LocalEdit::Add {
        attributes: attrs(json!({"GlobalID": parent.as_str(), "Result": "FAIL"})),
        geometry: None,
    };
    h.engine.edit_feature(replica, 3, add).await.unwrap();
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
    h.engine.edit_feature(replica, 3, attach).await.unwrap();
    h.terminate_and_reenable().await;

    h.begin_sync(replica).await;
    let after = h
        .wait_for("AfterRecovery", |e| {
            matches!(e, Event::AfterRecovery { .. })
        })
        .await;
    let Event::AfterRecovery { report } = after else {
        unreachable!()
    };
    assert_eq!(report.recovered.len(), 2, "{report:#?}");
    assert!(report.recovered.iter().any(|o| o.global_id == photo));
    h.wait_for("upload after recovery", |e| {
        matches!(e, Event::JobCompleted { outcome, .. } if outcome.uploaded == 2 && outcome.failed_edits == 0)
    })
    .await;
    h.create_with("check", vec![3], SyncModel::PerReplica, false)
        .await;
    let check = h.newest_file();
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
    let h = start().await;
    let replica = h.create("valves").await;
    h.send(Command::SetResetMode {
        replica,
        mode: ResetMode::Recover,
    })
    .await;
    let (a, _) = two_hydrants(&h.newest_file());
    let edit = update(a.clone(), json!({"Notes": "leaking"}));
    h.engine.edit_feature(replica, 0, edit).await.unwrap();
    assert_eq!(h.newest_file().changes().unwrap().len(), 1);
    h.admin_post(
        "schema",
        Some(json!({"change": "dropField", "layer": 0, "field": "Notes"})),
    )
    .await;
    h.terminate_and_reenable().await;

    let (plan, fallback_error) = sync_into_manual_fallback(&h, replica).await;
    assert!(
        fallback_error.unwrap().contains("Notes"),
        "the reason names the dropped field"
    );
    assert_eq!(plan.changes.iter().map(|c| c.updates).sum::<u32>(), 1);
    // The old replica and its change are untouched.
    assert_eq!(h.newest_file().changes().unwrap().len(), 1);

    h.send(Command::CancelReset { replica }).await;
    h.send(Command::RefreshReplicas).await;
    let loaded = h
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

    h.send(Command::ConfirmReset { replica }).await;
    let after = h
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
    h.sync_completed(replica).await;
}

/// The reset guard: a second reset before the first was proven by a sync goes to manual instead
/// of looping; after a successful sync the guard is cleared and a reset runs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_guard_stops_a_loop_until_a_sync_succeeds() {
    let h = start().await;
    let replica = h.create("mains").await;
    h.send(Command::Reset {
        replica,
        mode: ResetMode::Discard,
    })
    .await;
    h.wait_for("first discard", |e| matches!(e, Event::AfterDiscard { .. }))
        .await;

    h.send(Command::Reset {
        replica,
        mode: ResetMode::Discard,
    })
    .await;
    let fallback = h
        .wait_for("guard stop", |e| {
            matches!(e, Event::ManualResetFallback { .. })
        })
        .await;
    let Event::ManualResetFallback { error, .. } = fallback else {
        unreachable!()
    };
    assert!(error.contains("loop"), "{error}");

    h.sync_completed(replica).await;
    h.forget_seen();
    h.send(Command::Reset {
        replica,
        mode: ResetMode::Discard,
    })
    .await;
    h.wait_for("second discard", |e| {
        matches!(e, Event::AfterDiscard { .. })
    })
    .await;
    assert!(!h.reset_events_seen().contains(&"ManualResetFallback"));
}

/// The demo menu's "terminate and re-enable sync": every replica is forgotten by the server, the
/// engine syncs them all, detects it and recovers automatically, local edits included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_terminate_sync_triggers_automatic_recovery() {
    let h = start().await;
    let replica = h.create("demo").await;
    let (a, _) = two_hydrants(&h.newest_file());
    let edit = update(a, json!({"Notes": "painted"}));
    h.engine.edit_feature(replica, 0, edit).await.unwrap();
    // What the demo menu does: the demo service terminates and re-enables sync, then SyncAll.
    syncwatch::demo::DemoAdmin::of(&h.server)
        .terminate_and_reenable_sync()
        .await
        .expect("terminate and re-enable sync");
    h.send(Command::SyncAll).await;
    let after = h
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
        h.reset_events_seen(),
        vec!["ResetRequired", "BeforeReset", "AfterRecovery"]
    );
}

/// RecoverOrDiscard falls back to Discard when recovery hits a breaking schema change: the
/// changes are discarded (kept in the backup) and the replica syncs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_or_discard_falls_back_to_discard() {
    let h = start().await;
    let replica = h.create("inlets").await;
    let (a, _) = two_hydrants(&h.newest_file());
    let edit = update(a.clone(), json!({"Notes": "cracked"}));
    h.engine.edit_feature(replica, 0, edit).await.unwrap();
    h.admin_post(
        "schema",
        Some(json!({"change": "dropField", "layer": 0, "field": "Notes"})),
    )
    .await;
    h.terminate_and_reenable().await;

    h.begin_sync(replica).await;
    let after = h
        .wait_for("AfterDiscard", |e| matches!(e, Event::AfterDiscard { .. }))
        .await;
    assert_eq!(
        h.reset_events_seen(),
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
        h.newest_file().changes().unwrap().is_empty(),
        "the fresh replica has no queued change"
    );
    h.sync_completed(replica).await;
}

/// Discard falls back to Manual when the fresh replica cannot be created (the service answers
/// HTTP 500 to createReplica): the old replica and its change stay untouched; once the service
/// works again, confirming the manual reset succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_falls_back_to_manual_when_create_fails() {
    let h = start().await;
    let replica = h.create("pipes").await;
    h.send(Command::SetResetMode {
        replica,
        mode: ResetMode::Discard,
    })
    .await;
    let (a, _) = two_hydrants(&h.newest_file());
    let edit = update(a, json!({"Notes": "valve stuck"}));
    h.engine.edit_feature(replica, 0, edit).await.unwrap();
    h.terminate_and_reenable().await;
    h.add_fault(json!({"operation": "createReplica", "kind": "http500", "count": 20}))
        .await;

    let (_, fallback_error) = sync_into_manual_fallback(&h, replica).await;
    assert!(fallback_error.unwrap().contains("createReplica"));
    assert_eq!(
        h.newest_file().changes().unwrap().len(),
        1,
        "the old replica is untouched"
    );

    h.clear_faults().await;
    h.send(Command::ConfirmReset { replica }).await;
    let after = h
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
    let h = start().await;
    let tech = h.create("tech").await;
    let add = LocalEdit::Add {
        attributes: attrs(json!({"FacilityID": "HYD-TECH-1", "Status": "IS", "Notes": "new"})),
        geometry: Some(json!({"x": 10.0, "y": 20.0})),
    };
    h.edit_all(tech, vec![add]).await;
    let gid = h.registered_file(tech).changes().unwrap()[0]
        .global_id
        .clone();

    let report = recover_after_terminate(&h, tech, 1).await;
    assert_eq!(report.mode_used, ResetMode::Recover);
    assert_eq!(report.recovered.len(), 1);
    assert_eq!(report.recovered[0].global_id, gid);
    assert_eq!(report.recovered[0].change_type, ChangeType::Insert);
    assert!(report.recovered[0].note.contains("kept"));
    assert!(report.discarded.is_empty());

    let on_server: Vec<Feature> = h
        .server_hydrants()
        .await
        .into_iter()
        .filter(|f| f.attr_ci("FacilityID") == Some(&json!("HYD-TECH-1")))
        .collect();
    assert_eq!(on_server.len(), 1, "the create is on the server once");
    assert_eq!(on_server[0].global_id(), Some(gid.clone()));
    let local = h.registered_file(tech);
    assert!(local.changes().unwrap().is_empty(), "nothing left to send");
    let kept = local.server_feature(0, &gid).unwrap().unwrap();
    assert_eq!(kept.attr_ci("Notes"), Some(&json!("new")));
}

/// Recovery rule "server delete beats local update": the office deleted a hydrant the technician
/// had updated; the recovery discards the update and reports it for that object. The server and
/// the fresh replica no longer have the hydrant; the update survives only in the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_server_delete_discards_the_local_update() {
    let h = start().await;
    let tech = h.create("tech").await;
    let office = h.create("office").await;
    let (a, _) = two_hydrants(&h.registered_file(tech));
    let update = update(a.clone(), json!({"Notes": "hinge squeaks"}));
    h.edit_all(tech, vec![update]).await;
    h.edit_all(
        office,
        vec![LocalEdit::Delete {
            global_id: a.clone(),
        }],
    )
    .await;
    h.sync_completed(office).await;

    let report = recover_after_terminate(&h, tech, 1).await;
    assert!(report.recovered.is_empty(), "{report:#?}");
    assert_eq!(report.discarded.len(), 1);
    assert_eq!(report.discarded[0].global_id, a);
    assert_eq!(report.discarded[0].change_type, ChangeType::Update);
    assert!(report.discarded[0].note.contains("deleted on the server"));

    assert!(h.server_hydrant(&a).await.is_none());
    let local = h.registered_file(tech);
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
    let h = start().await;
    let tech = h.create("tech").await;
    let office = h.create("office").await;
    let (a, b) = two_hydrants(&h.registered_file(tech));
    let deletes = vec![
        LocalEdit::Delete {
            global_id: a.clone(),
        },
        LocalEdit::Delete {
            global_id: b.clone(),
        },
    ];
    h.edit_all(tech, deletes).await;
    h.edit_all(
        office,
        vec![LocalEdit::Delete {
            global_id: b.clone(),
        }],
    )
    .await;
    h.sync_completed(office).await;

    let report = recover_after_terminate(&h, tech, 2).await;
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
        h.server_hydrant(&a).await.is_none(),
        "the delete reached the server"
    );
    assert!(h.server_hydrant(&b).await.is_none());
    let local = h.registered_file(tech);
    assert!(local.local_feature(0, &a).unwrap().is_none());
    assert!(local.local_feature(0, &b).unwrap().is_none());
    assert!(local.changes().unwrap().is_empty());
}

/// Recovery rule "same field changed on both sides: the local value wins": the technician and the
/// office both changed Notes; the office also changed Flow_GPM. After recovery the server and the
/// fresh replica hold the technician's Notes and the office's Flow_GPM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_same_field_local_value_wins() {
    let h = start().await;
    let tech = h.create("tech").await;
    let office = h.create("office").await;
    let (a, _) = two_hydrants(&h.registered_file(tech));
    let tech_update = update(a.clone(), json!({"Notes": "tech: cap replaced"}));
    h.edit_all(tech, vec![tech_update]).await;
    let office_update = update(
        a.clone(),
        json!({"Notes": "office: scheduled", "Flow_GPM": 999.0}),
    );
    h.edit_all(office, vec![office_update]).await;
    h.sync_completed(office).await;

    let report = recover_after_terminate(&h, tech, 1).await;
    assert_eq!(report.recovered.len(), 1, "{report:#?}");
    let note = &report.recovered[0].note;
    assert!(note.contains("local values win"), "{note}");
    assert!(
        note.contains("also changed on the server (Notes)"),
        "the rule is shown where it applied: {note}"
    );
    assert!(note.contains("same field, the local value wins"), "{note}");

    let on_server = h.server_hydrant(&a).await.unwrap();
    assert_eq!(
        on_server.attr_ci("Notes"),
        Some(&json!("tech: cap replaced"))
    );
    assert_eq!(on_server.attr_ci("Flow_GPM"), Some(&json!(999.0)));
    let local = h.registered_file(tech);
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
    let h = start().await;
    let tech = h.create("tech").await;
    h.send(Command::SetResetMode {
        replica: tech,
        mode: ResetMode::Recover,
    })
    .await;
    let (a, _) = two_hydrants(&h.registered_file(tech));
    let edits = vec![
        update(a.clone(), json!({"Notes": "valve stuck"})),
        LocalEdit::Add {
            attributes: attrs(json!({"FacilityID": "HYD-TECH-2", "Status": "IS"})),
            geometry: Some(json!({"x": 1.0, "y": 2.0})),
        },
    ];
    h.edit_all(tech, edits).await;
    let before = content(&h.registered_file(tech).changes().unwrap());
    h.terminate_and_reenable().await;
    h.add_fault(json!({"operation": "result", "kind": "http500", "count": 50}))
        .await;

    let (_, fallback_error) = sync_into_manual_fallback(&h, tech).await;
    assert!(fallback_error.is_some());
    // The detecting sync marked them as sent; what they change is untouched.
    assert_eq!(
        content(&h.registered_file(tech).changes().unwrap()),
        before,
        "old replica untouched"
    );
    let backups = backups_in(&h.dir.path().join("recovery"));
    assert_eq!(backups.len(), 1);
    assert_eq!(content(&backups[0].changes), before);
    let leftovers = replica_files(h.dir.path());
    assert_eq!(leftovers.len(), 1, "no fresh file left: {leftovers:?}");

    h.clear_faults().await;
    h.forget_seen();
    h.send(Command::Reset {
        replica: tech,
        mode: ResetMode::Recover,
    })
    .await;
    let after = h
        .wait_for("AfterRecovery", |e| {
            matches!(e, Event::AfterRecovery { .. })
        })
        .await;
    let Event::AfterRecovery { report } = after else {
        unreachable!()
    };
    assert_eq!(report.recovered.len(), 2);
    assert_backup(&report, 2);
    wait_for_next_sync(&h, tech).await;
    let on_server = h.server_hydrant(&a).await.unwrap();
    assert_eq!(on_server.attr_ci("Notes"), Some(&json!("valve stuck")));
    assert!(h.registered_file(tech).changes().unwrap().is_empty());
}

/// The upload after a recovery loses its reply (the server applies it, the connection drops): the
/// recovered add stays queued in the fresh replica; the next sync resends it and the server holds
/// it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_upload_after_recovery_is_resent_without_duplicates() {
    let h = start().await;
    let tech = h.create("tech").await;
    let add = LocalEdit::Add {
        attributes: attrs(json!({"FacilityID": "HYD-TECH-3", "Status": "IS"})),
        geometry: Some(json!({"x": 3.0, "y": 4.0})),
    };
    h.edit_all(tech, vec![add]).await;
    let gid = h.registered_file(tech).changes().unwrap()[0]
        .global_id
        .clone();
    h.terminate_and_reenable().await;
    h.add_fault(json!({"operation": "synchronizeReplica", "kind": "dropConnection", "count": 50}))
        .await;
    // Reset directly (the detecting sync would meet the fault first).
    h.send(Command::Reset {
        replica: tech,
        mode: ResetMode::Recover,
    })
    .await;
    h.wait_for("AfterRecovery", |e| {
        matches!(e, Event::AfterRecovery { .. })
    })
    .await;
    h.wait_for(
        "the failed upload",
        |e| matches!(e, Event::JobFailed { replica, .. } if *replica == tech),
    )
    .await;
    let queued = h.registered_file(tech).changes().unwrap();
    assert_eq!(queued.len(), 1, "the recovered add is still queued");
    assert_eq!(queued[0].global_id, gid);

    h.clear_faults().await;
    h.sync_completed(tech).await;
    let copies = h
        .server_hydrants()
        .await
        .into_iter()
        .filter(|f| f.attr_ci("FacilityID") == Some(&json!("HYD-TECH-3")))
        .count();
    assert_eq!(copies, 1);
    assert!(h.registered_file(tech).changes().unwrap().is_empty());
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
