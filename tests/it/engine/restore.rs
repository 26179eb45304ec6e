//! Restoring changes from a client reset's backup (issue 23), end to end: the engine against the
//! reference service over real HTTP, real replica files in temp dirs. A technician's edits end up
//! only in a backup (a discard reset), the office changes the service meanwhile, then the backup
//! is restored onto the current replica: each recovery rule (local create kept, a server delete
//! beats a local update, a local delete applied, same field: local value wins) and the conflict
//! policy's exceptions (take the server's; ask holds it at the next sync), a partly restored
//! backup restored again queueing exactly what one full restore does, and every file of the
//! backup byte-identical afterwards.

use crate::support::client_config::fast;
use crate::support::demo_data::{HYD_1, HYD_2, HYD_3, HYD_4};
use crate::support::engine::{Harness, gid};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use syncwatch::engine::{
    BackupInfo, BackupPreview, Command, ConflictPolicy, Event, JobOutcome, LocalEdit,
    LocalReplicaId, ResetMode, RestoreOutcome, RestoreReport,
};
use syncwatch::geodatabase::replica_file::{LocalChange, ReplicaFile};
use syncwatch::protocol::{Guid, JobState, SyncModel};
use syncwatch::server::ServerConfig;

/// The service with the technician's replica and the office's, both of the Hydrants layer.
async fn two_clients() -> (Harness, LocalReplicaId, LocalReplicaId) {
    let h = Harness::start(ServerConfig::default(), fast()).await;
    let tech = h
        .create_with("tech", vec![0], SyncModel::PerReplica, false)
        .await;
    let office = h
        .create_with("office", vec![0], SyncModel::PerReplica, false)
        .await;
    (h, tech, office)
}

/// A discard reset of `replica`: its queued changes are then only in the backup. Returns the
/// backup's folder.
async fn discard_into_backup(h: &Harness, replica: LocalReplicaId) -> PathBuf {
    h.send(Command::Reset {
        replica,
        mode: ResetMode::Discard,
    })
    .await;
    let after = h
        .wait_for(
            "AfterDiscard",
            |e| matches!(e, Event::AfterDiscard { report } if report.replica == replica),
        )
        .await;
    let Event::AfterDiscard { report } = after else {
        unreachable!()
    };
    assert!(!report.discarded.is_empty(), "{report:#?}");
    let dir = report.backup_files[0].parent().unwrap().to_path_buf();
    h.wait_for(
        "the reset job's end",
        |e| matches!(e, Event::JobCompleted { replica: r, .. } if *r == replica),
    )
    .await;
    synced(h, replica).await;
    assert!(h.registered_file(replica).changes().unwrap().is_empty());
    dir
}

/// A sync of `replica` run to its end, which must complete.
async fn synced(h: &Harness, replica: LocalReplicaId) -> JobOutcome {
    let outcome = h.sync(replica, false).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    outcome
}

/// Every file under a backup folder with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    crate::support::cli::files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn name_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// The office changes hydrants (or deletes them) and syncs them to the service.
async fn office_edits(h: &Harness, office: LocalReplicaId, edits: Vec<LocalEdit>) {
    h.edit_all(office, edits).await;
    synced(h, office).await;
}

fn update(global_id: &str, values: Value) -> LocalEdit {
    LocalEdit::Update {
        global_id: gid(global_id),
        attributes: crate::support::engine::attrs(values),
        geometry: None,
    }
}

async fn set_policy(h: &Harness, replica: LocalReplicaId, policy: ConflictPolicy) {
    h.send(Command::SetConflictPolicy { replica, policy }).await;
    h.wait_for(
        "ConflictsReady",
        |e| matches!(e, Event::ConflictsReady { replica: r, policy: p, .. } if *r == replica && *p == policy),
    )
    .await;
}

/// Restores `backup` onto `replica` and returns the report, and the outcome of the sync that
/// follows when `sync` and something was restored.
async fn restore(
    h: &Harness,
    replica: LocalReplicaId,
    backup: &str,
    only: Option<Vec<Guid>>,
    sync: bool,
) -> (RestoreReport, Option<JobOutcome>) {
    h.send(Command::RestoreFromBackup {
        replica,
        backup: backup.to_string(),
        only,
        sync,
    })
    .await;
    let done = h
        .wait_for("the restore", |e| {
            matches!(e, Event::BackupRestored { report } if report.replica == replica)
                || matches!(e, Event::JobFailed { replica: r, .. } if *r == replica)
        })
        .await;
    let Event::BackupRestored { report } = done else {
        panic!("the restore failed: {done:#?}")
    };
    // The restore job's own end, then (if it queued anything and `sync`) the sync's.
    h.wait_for(
        "the restore job's end",
        |e| matches!(e, Event::JobCompleted { replica: r, .. } if *r == replica),
    )
    .await;
    if !sync || report.restored.is_empty() {
        return (report, None);
    }
    let synced = h
        .wait_for("the sync after the restore", |e| {
            matches!(e, Event::JobCompleted { replica: r, .. } | Event::JobFailed { replica: r, .. } if *r == replica)
        })
        .await;
    let Event::JobCompleted { outcome, .. } = synced else {
        panic!("the sync after the restore failed: {synced:#?}")
    };
    (report, Some(outcome))
}

fn note<'a>(list: &'a [syncwatch::engine::ObjectOutcome], global_id: &Guid) -> &'a str {
    list.iter()
        .find(|o| &o.global_id == global_id)
        .map(|o| o.note.as_str())
        .unwrap_or_else(|| panic!("{global_id} not in {list:#?}"))
}

fn on_server(h: &Harness, global_id: &Guid, field: &str) -> Option<Value> {
    h.server_db()
        .attributes(0, global_id)
        .map(|a| a[field].clone())
}

/// The queue as content: what each change does, its values and the before-image it started
/// from (not when it was edited or its revision).
fn queue_content(changes: &[LocalChange]) -> Vec<Value> {
    changes
        .iter()
        .map(|c| {
            json!({
                "layer": c.layer_id,
                "gid": c.global_id.to_string(),
                "kind": c.kind.as_str(),
                "attributes": c.attributes,
                "geometry": c.geometry,
                "before": c.before.as_ref().map(|f| &f.attributes),
            })
        })
        .collect()
}

/// Each recovery rule, restored from a backup onto the current replica and synced: the local
/// create is kept (once on the service), a server delete beats the local update (discarded and
/// reported), the local delete is applied, and where the office changed the same field the
/// technician's value wins (policy keep mine) while the office's other field stays. Restoring
/// again queues nothing ("already restored"), and the backup's files are byte-identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_applies_each_rule_end_to_end() {
    let (h, tech, office) = two_clients().await;
    let added = h.add_hydrant(tech, "HYD-RESTORED-1").await;
    h.edit_all(
        tech,
        vec![
            update(HYD_1, json!({"Notes": "tech: cap replaced"})),
            update(HYD_2, json!({"Notes": "tech: painted"})),
            LocalEdit::Delete {
                global_id: gid(HYD_3),
            },
        ],
    )
    .await;
    let backup = discard_into_backup(&h, tech).await;
    let before = snapshot(&backup);
    assert!(
        before.len() >= 3,
        "copy, export and the old file: {before:?}"
    );

    office_edits(
        &h,
        office,
        vec![
            update(
                HYD_1,
                json!({"Notes": "office: scheduled", "Flow_GPM": 999.0}),
            ),
            LocalEdit::Delete {
                global_id: gid(HYD_2),
            },
        ],
    )
    .await;
    synced(&h, tech).await;
    set_policy(&h, tech, ConflictPolicy::KeepMine).await;

    let (report, synced) = restore(&h, tech, &name_of(&backup), None, true).await;
    assert_eq!(report.restored.len(), 3, "{report:#?}");
    assert!(note(&report.restored, &added).contains("created locally; kept"));
    let same_field = note(&report.restored, &gid(HYD_1));
    assert!(
        same_field.contains("also changed on the server (Notes)")
            && same_field.contains("same field, the local value wins"),
        "{same_field}"
    );
    assert!(note(&report.restored, &gid(HYD_3)).contains("delete applied"));
    assert_eq!(report.discarded.len(), 1, "{report:#?}");
    assert!(
        note(&report.discarded, &gid(HYD_2)).contains("a server delete beats a local update"),
        "{report:#?}"
    );
    let synced = synced.expect("a sync follows the restore");
    assert_eq!((synced.uploaded, synced.failed_edits), (3, 0), "{synced:?}");

    // The service now holds what the rules say.
    let db = h.server_db();
    assert_eq!(
        db.count_marker("HYD-RESTORED-1"),
        1,
        "the create exists once"
    );
    assert_eq!(
        on_server(&h, &gid(HYD_1), "Notes"),
        Some(json!("tech: cap replaced"))
    );
    assert_eq!(on_server(&h, &gid(HYD_1), "Flow_GPM"), Some(json!(999.0)));
    assert!(db.attributes(0, &gid(HYD_2)).is_none(), "still deleted");
    assert!(db.attributes(0, &gid(HYD_3)).is_none(), "the local delete");
    assert!(h.registered_file(tech).changes().unwrap().is_empty());

    // The same restore again: everything is already there.
    let (again, synced) = restore(&h, tech, &name_of(&backup), None, true).await;
    assert!(again.restored.is_empty(), "{again:#?}");
    assert_eq!(again.already_restored.len(), 3, "{again:#?}");
    assert_eq!(again.discarded.len(), 1);
    assert!(synced.is_none(), "nothing to sync");
    assert!(h.registered_file(tech).changes().unwrap().is_empty());

    assert_eq!(snapshot(&backup), before, "the backup is byte-identical");
}

/// The conflict policy's exceptions to "same field: local value wins": under *take the
/// server's* the office's Notes stay and only the technician's other field is restored; under
/// *ask* the restored change is held by the next sync's conflict step as a conflict to resolve,
/// the office's value staying on the service. Both restored with `--only` from one backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_policy_decides_the_same_field() {
    let (h, tech, office) = two_clients().await;
    h.edit_all(
        tech,
        vec![
            update(HYD_1, json!({"Notes": "tech: one", "Flow_GPM": 1234.0})),
            update(HYD_4, json!({"Notes": "tech: four"})),
        ],
    )
    .await;
    let backup = discard_into_backup(&h, tech).await;
    let before = snapshot(&backup);
    office_edits(
        &h,
        office,
        vec![
            update(HYD_1, json!({"Notes": "office: one"})),
            update(HYD_4, json!({"Notes": "office: four"})),
        ],
    )
    .await;
    synced(&h, tech).await;

    set_policy(&h, tech, ConflictPolicy::TakeServer).await;
    let (report, synced) = restore(&h, tech, &name_of(&backup), Some(vec![gid(HYD_1)]), true).await;
    assert_eq!(report.restored.len(), 1, "{report:#?}");
    assert_eq!(
        report.restored[0].global_id,
        gid(HYD_1),
        "only the chosen one"
    );
    assert!(
        report.restored[0].note.contains("the server's values stay"),
        "{report:#?}"
    );
    assert_eq!(synced.unwrap().uploaded, 1);
    assert_eq!(
        on_server(&h, &gid(HYD_1), "Notes"),
        Some(json!("office: one"))
    );
    assert_eq!(on_server(&h, &gid(HYD_1), "Flow_GPM"), Some(json!(1234.0)));

    set_policy(&h, tech, ConflictPolicy::Ask).await;
    let (report, synced) = restore(&h, tech, &name_of(&backup), Some(vec![gid(HYD_4)]), true).await;
    assert_eq!(report.restored.len(), 1, "{report:#?}");
    assert!(
        report.restored[0].note.contains("conflict policy: ask"),
        "{report:#?}"
    );
    let synced = synced.unwrap();
    assert_eq!(synced.held_conflicts, 1, "{synced:?}");
    assert_eq!(
        on_server(&h, &gid(HYD_4), "Notes"),
        Some(json!("office: four")),
        "held, not uploaded"
    );
    h.send(Command::LoadConflicts { replica: tech }).await;
    let ready = h
        .wait_for(
            "ConflictsReady",
            |e| matches!(e, Event::ConflictsReady { replica, .. } if *replica == tech),
        )
        .await;
    let Event::ConflictsReady { conflicts, .. } = ready else {
        unreachable!()
    };
    assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
    assert_eq!(conflicts[0].global_id, gid(HYD_4));
    assert_eq!(conflicts[0].fields[0].name, "Notes");
    assert_eq!(conflicts[0].fields[0].mine, json!("tech: four"));
    assert_eq!(conflicts[0].fields[0].server, json!("office: four"));
    assert_eq!(snapshot(&backup), before, "the backup is byte-identical");
}

/// A partly restored backup (`only` two of its changes), restored again in full and then once
/// more, leaves exactly the queue one full restore of the same replica leaves (compared with a
/// copy of the replica file restored once); after the sync the service holds the expected
/// features. The backup is listed and previewed, and stays byte-identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_then_full_restore_is_idempotent() {
    let (h, tech, _office) = two_clients().await;
    let added = h.add_hydrant(tech, "HYD-RESTORED-2").await;
    h.edit_all(
        tech,
        vec![
            update(HYD_1, json!({"Notes": "tech: a"})),
            update(HYD_2, json!({"Status": "OOS"})),
            LocalEdit::Delete {
                global_id: gid(HYD_3),
            },
        ],
    )
    .await;
    let backup = discard_into_backup(&h, tech).await;
    let before = snapshot(&backup);

    // Listed (newest first, what it holds) and previewed.
    h.send(Command::ListBackups { replica: tech }).await;
    let listed = h
        .wait_for(
            "BackupsListed",
            |e| matches!(e, Event::BackupsListed { replica, .. } if *replica == tech),
        )
        .await;
    let Event::BackupsListed { backups, .. } = listed else {
        unreachable!()
    };
    let info: &BackupInfo = &backups[0];
    assert_eq!(info.name, name_of(&backup));
    assert_eq!(
        (info.counts.adds, info.counts.updates, info.counts.deletes),
        (1, 2, 1)
    );
    assert_eq!(info.mode, Some(ResetMode::Discard));
    assert_eq!(info.mode_used, Some(ResetMode::Discard));
    assert!(info.unreadable.is_none());
    h.send(Command::PreviewBackup {
        replica: tech,
        backup: info.dir.to_string_lossy().into_owned(),
    })
    .await;
    let previewed = h
        .wait_for("BackupPreviewed", |e| {
            matches!(e, Event::BackupPreviewed { .. })
        })
        .await;
    let Event::BackupPreviewed { preview } = previewed else {
        unreachable!()
    };
    let preview: &BackupPreview = &preview;
    assert_eq!(preview.changes.len(), 4);
    assert!(
        preview
            .changes
            .iter()
            .all(|c| c.outcome == RestoreOutcome::Restored)
    );
    let hyd1 = preview
        .changes
        .iter()
        .find(|c| c.global_id == gid(HYD_1))
        .unwrap();
    assert_eq!(hyd1.fields, vec![("Notes".to_string(), json!("tech: a"))]);
    assert!(
        h.registered_file(tech).changes().unwrap().is_empty(),
        "a preview changes nothing"
    );

    // The reference: one full restore of a copy of the replica file as it is now.
    let reference_path = h.dir.path().join("reference.replica");
    h.registered_file(tech)
        .copy_consistent_to(&reference_path)
        .unwrap();
    let export = syncwatch::engine::reset::backups::read_export(&backup).unwrap();
    let mut reference = ReplicaFile::open(&reference_path).unwrap();
    syncwatch::engine::reset::restore::restore(&mut reference, &export, ConflictPolicy::Ask, None)
        .unwrap();
    let expected = queue_content(&reference.changes().unwrap());
    assert_eq!(expected.len(), 4);

    let only = vec![added.clone(), gid(HYD_1)];
    let (part, _) = restore(&h, tech, &name_of(&backup), Some(only), false).await;
    assert_eq!(part.restored.len(), 2, "{part:#?}");
    let (full, _) = restore(&h, tech, &name_of(&backup), None, false).await;
    assert_eq!(full.restored.len(), 2, "{full:#?}");
    assert_eq!(full.already_restored.len(), 2, "{full:#?}");
    assert!(full.already_restored.iter().any(|o| o.global_id == added));
    let (twice, _) = restore(&h, tech, &name_of(&backup), None, false).await;
    assert!(twice.restored.is_empty(), "{twice:#?}");
    assert_eq!(twice.already_restored.len(), 4);
    assert_eq!(
        queue_content(&h.registered_file(tech).changes().unwrap()),
        expected,
        "the same queue as one full restore"
    );

    let outcome = h.sync(tech, false).await.unwrap();
    assert_eq!(
        (outcome.uploaded, outcome.failed_edits),
        (4, 0),
        "{outcome:?}"
    );
    let db = h.server_db();
    assert_eq!(db.count_marker("HYD-RESTORED-2"), 1);
    assert_eq!(on_server(&h, &gid(HYD_1), "Notes"), Some(json!("tech: a")));
    assert_eq!(on_server(&h, &gid(HYD_2), "Status"), Some(json!("OOS")));
    assert!(db.attributes(0, &gid(HYD_3)).is_none());
    assert_eq!(snapshot(&backup), before, "the backup is byte-identical");
}

/// A backup name the replica does not have fails the restore with one line naming it, and
/// nothing is queued; an unreadable backup folder is listed as unreadable, not as an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_backup_names_change_nothing() {
    let (h, tech, _office) = two_clients().await;
    h.update(tech, HYD_1, json!({"Notes": "kept"})).await;
    let backup = discard_into_backup(&h, tech).await;
    // A damaged folder named like the replica's backups.
    let damaged = backup.with_file_name("tech-20200101T000000Z");
    std::fs::create_dir(&damaged).unwrap();
    std::fs::write(damaged.join("unsynced-changes.json"), b"{ not json").unwrap();

    h.send(Command::RestoreFromBackup {
        replica: tech,
        backup: "no-such-backup".into(),
        only: None,
        sync: true,
    })
    .await;
    let failed = h
        .wait_for(
            "the failed restore",
            |e| matches!(e, Event::JobFailed { replica, .. } if *replica == tech),
        )
        .await;
    let Event::JobFailed { error, .. } = failed else {
        unreachable!()
    };
    assert!(
        error.message.contains("no backup \"no-such-backup\""),
        "{}",
        error.message
    );
    assert!(!error.message.contains('\n'));
    assert!(h.registered_file(tech).changes().unwrap().is_empty());

    h.send(Command::ListBackups { replica: tech }).await;
    let listed = h
        .wait_for(
            "BackupsListed",
            |e| matches!(e, Event::BackupsListed { replica, .. } if *replica == tech),
        )
        .await;
    let Event::BackupsListed { backups, .. } = listed else {
        unreachable!()
    };
    assert_eq!(backups.len(), 2, "{backups:#?}");
    let unreadable = backups.iter().find(|b| b.dir == damaged).unwrap();
    let why = unreadable.unreadable.as_deref().unwrap();
    assert!(
        why.contains("unsynced-changes.json") && !why.contains('\n'),
        "{why}"
    );
    let readable = backups.iter().find(|b| b.dir == backup).unwrap();
    assert_eq!(readable.counts.updates, 1);
}

/// Queued attachment changes restore with their feature: an inspection created with a photo
/// before a discard reset comes back from the backup, both are uploaded, and another replica
/// gets the photo's bytes; restoring again finds both already there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_restore_with_their_feature() {
    let h = Harness::start(ServerConfig::default(), fast()).await;
    let tech = h
        .create_with("inspections", vec![3], SyncModel::PerReplica, false)
        .await;
    let parent = Guid::new_v4();
    let add = LocalEdit::Add {
        attributes: crate::support::engine::attrs(
            json!({"GlobalID": parent.as_str(), "Result": "FAIL"}),
        ),
        geometry: None,
    };
    h.engine.edit_feature(tech, 3, add).await.unwrap();
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("cap.png");
    let bytes: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let photo = Guid::new_v4();
    let attach = LocalEdit::Attach(Box::new(syncwatch::engine::NewAttachment {
        global_id: photo.clone(),
        parent_global_id: parent.clone(),
        file,
        content_type: None,
    }));
    h.engine.edit_feature(tech, 3, attach).await.unwrap();
    let backup = discard_into_backup(&h, tech).await;
    let before = snapshot(&backup);
    let listed = h.engine.list_backups(tech).await.unwrap();
    assert_eq!(
        (listed[0].counts.adds, listed[0].counts.attachments),
        (1, 1)
    );
    let preview = h
        .engine
        .preview_backup(tech, &name_of(&backup))
        .await
        .unwrap();
    assert_eq!(preview.attachments.len(), 1);
    assert_eq!(preview.attachments[0].global_id, photo);

    let (report, synced) = restore(&h, tech, &name_of(&backup), None, true).await;
    assert_eq!(report.restored.len(), 2, "{report:#?}");
    assert!(note(&report.restored, &photo).contains("attachment add kept"));
    assert_eq!(synced.unwrap().failed_edits, 0);
    h.create_with("check", vec![3], SyncModel::PerReplica, false)
        .await;
    let check = h.newest_file();
    assert!(check.local_feature(3, &parent).unwrap().is_some());
    assert_eq!(check.attachment_data(&photo).unwrap().unwrap(), bytes);

    let (again, _) = restore(&h, tech, &name_of(&backup), None, true).await;
    assert!(again.restored.is_empty(), "{again:#?}");
    assert_eq!(again.already_restored.len(), 2, "{again:#?}");
    assert_eq!(snapshot(&backup), before, "the backup is byte-identical");
}

/// An edit made in the current replica since the backup is never overwritten by a restore: the
/// technician changed Notes again after the reset; restoring the backup brings back its Status
/// change and leaves the newer Notes, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_local_edit_is_kept() {
    let (h, tech, _office) = two_clients().await;
    h.update(
        tech,
        HYD_1,
        json!({"Notes": "in the backup", "Status": "OOS"}),
    )
    .await;
    let backup = discard_into_backup(&h, tech).await;
    h.update(tech, HYD_1, json!({"Notes": "typed since the reset"}))
        .await;
    let (report, _) = restore(&h, tech, &name_of(&backup), None, false).await;
    assert_eq!(report.restored.len(), 1, "{report:#?}");
    let note = note(&report.restored, &gid(HYD_1));
    assert!(
        note.contains("changed again in this replica since the backup (Notes)"),
        "{note}"
    );
    let file = h.registered_file(tech);
    let local = file.local_feature(0, &gid(HYD_1)).unwrap().unwrap();
    assert_eq!(
        local.attr_ci("Notes"),
        Some(&json!("typed since the reset"))
    );
    assert_eq!(local.attr_ci("Status"), Some(&json!("OOS")));
}
