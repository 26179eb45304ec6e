//! "Restore changes from backup…" through egui_kittest (no engine): the overview's button asks
//! for the replica's backups, the window lists them with time, mode and what each holds (an
//! unreadable one with its reason, not clickable), choosing one asks for its preview, the
//! preview ticks the changes a restore would queue, "Restore … and sync" sends
//! `RestoreFromBackup` with exactly the ticked GlobalIDs, and the report is shown.

use crate::support::ui::{Settle, click_with, rig};
use egui_kittest::kittest::Queryable as _;
use serde_json::json;
use std::path::PathBuf;
use syncwatch::engine::{
    BackupChange, BackupCounts, BackupInfo, BackupPreview, Command, Event, ObjectOutcome,
    ResetMode, RestoreOutcome, RestoreReport,
};
use syncwatch::protocol::{ChangeType, Guid};
use syncwatch::ui::fixtures;

const BACKUP: &str = "Hydrants___crew_A-20261203T054000Z";

fn backup() -> BackupInfo {
    BackupInfo {
        name: BACKUP.into(),
        dir: PathBuf::from("/data/recovery").join(BACKUP),
        made_ms: Some(fixtures::NOW_MS - 3_600_000),
        mode: Some(ResetMode::RecoverOrDiscard),
        mode_used: Some(ResetMode::Discard),
        reason: "the service no longer knows the replica".into(),
        counts: BackupCounts {
            adds: 1,
            updates: 2,
            deletes: 0,
            attachments: 0,
        },
        unreadable: None,
    }
}

fn change(global_id: &Guid, outcome: RestoreOutcome, note: &str) -> BackupChange {
    BackupChange {
        layer_id: 0,
        layer_name: "Hydrants".into(),
        global_id: global_id.clone(),
        change_type: ChangeType::Update,
        fields: vec![("Notes".into(), json!("cap replaced"))],
        geometry_changed: false,
        outcome,
        note: note.into(),
    }
}

#[test]
fn the_dialog_lists_backups_previews_and_sends_the_restore() {
    let mut r = rig();
    let replica = fixtures::UP_TO_DATE;
    assert_eq!(r.harness.state().selected(), Some(replica));
    // Busy (a spinner) until the list arrives: a few frames.
    click_with(
        &mut r.harness,
        "Restore changes from backup…",
        Settle::Steps(3),
    );
    assert_eq!(r.take_commands(), vec![Command::ListBackups { replica }]);

    let damaged = BackupInfo {
        name: "Hydrants___crew_A-20200101T000000Z".into(),
        made_ms: None,
        mode: None,
        mode_used: None,
        counts: BackupCounts::default(),
        unreadable: Some("its unsynced-changes.json is not a backup's export".into()),
        ..backup()
    };
    r.push([Event::BackupsListed {
        replica,
        backups: vec![backup(), damaged],
    }]);
    r.harness.get_by_label_contains(
        "recover or discard, used discard · 1 add(s), 2 update(s), 0 delete(s), 0 attachment change(s)",
    );
    r.harness
        .get_by_label_contains("unreadable: its unsynced-changes.json is not a backup's export");
    assert!(r.take_commands().is_empty());

    r.harness.get_by_label_contains(BACKUP).click();
    r.harness.run_steps(3);
    assert_eq!(
        r.take_commands(),
        vec![Command::PreviewBackup {
            replica,
            backup: BACKUP.into()
        }]
    );
    let (kept, gone) = (Guid::new_v4(), Guid::new_v4());
    r.push([Event::BackupPreviewed {
        preview: Box::new(BackupPreview {
            replica,
            backup: backup(),
            changes: vec![
                change(
                    &kept,
                    RestoreOutcome::Restored,
                    "updated locally; local values win",
                ),
                change(
                    &gone,
                    RestoreOutcome::Discarded,
                    "deleted on the server; the local update is discarded",
                ),
            ],
            attachments: Vec::new(),
        }),
    }]);
    r.harness
        .get_by_label_contains("discarded: deleted on the server; the local update is discarded");
    assert_eq!(
        r.harness
            .query_all_by_label_contains("Notes = \"cap replaced\"")
            .count(),
        2,
        "each change with its values in the backup"
    );

    // Only the change a restore would queue is ticked.
    click_with(
        &mut r.harness,
        "Restore 1 change(s) and sync",
        Settle::Steps(3),
    );
    assert_eq!(
        r.take_commands(),
        vec![Command::RestoreFromBackup {
            replica,
            backup: BACKUP.into(),
            only: Some(vec![kept.clone()]),
            sync: true,
        }]
    );
    let outcome = |g: &Guid, note: &str| ObjectOutcome {
        layer_id: 0,
        global_id: g.clone(),
        change_type: ChangeType::Update,
        note: note.into(),
    };
    r.push([Event::BackupRestored {
        report: RestoreReport {
            replica,
            backup: BACKUP.into(),
            restored: vec![outcome(&kept, "updated locally; local values win")],
            already_restored: Vec::new(),
            discarded: Vec::new(),
        },
    }]);
    r.harness
        .get_by_label("Restored 1 change(s); 0 already restored; 0 discarded");
    r.harness.get_by_label_contains("the backup is unchanged");
    r.click("Close");
    assert!(r.harness.state().restore.is_none());
}

/// A restore whose job fails shows the failure's line in the window, which stays open.
#[test]
fn a_failed_restore_shows_its_error() {
    let mut r = rig();
    let replica = fixtures::UP_TO_DATE;
    click_with(
        &mut r.harness,
        "Restore changes from backup…",
        Settle::Steps(3),
    );
    r.push([Event::BackupsListed {
        replica,
        backups: vec![backup()],
    }]);
    r.harness.get_by_label_contains(BACKUP).click();
    r.harness.run_steps(3);
    let kept = Guid::new_v4();
    r.push([Event::BackupPreviewed {
        preview: Box::new(BackupPreview {
            replica,
            backup: backup(),
            changes: vec![change(
                &kept,
                RestoreOutcome::Restored,
                "created locally; kept",
            )],
            attachments: Vec::new(),
        }),
    }]);
    r.take_commands();
    // Everything ticked: the restore names no GlobalIDs.
    click_with(
        &mut r.harness,
        "Restore 1 change(s) and sync",
        Settle::Steps(3),
    );
    let sent = r.take_commands();
    assert!(
        matches!(
            sent.as_slice(),
            [Command::RestoreFromBackup { only: None, .. }]
        ),
        "{sent:?}"
    );
    r.push([Event::JobFailed {
        replica,
        job: syncwatch::engine::JobId(9),
        error: syncwatch::engine::Failure {
            class: syncwatch::engine::FailureClass::Local,
            code: None,
            message: "the local replica file failed: disk full".into(),
        },
    }]);
    r.harness
        .get_by_label("the local replica file failed: disk full");
    assert!(r.harness.state().restore.is_some());
}

/// The dialog on the real engine and the reference service: a discard reset leaves a backup of
/// a local edit; "Restore changes from backup…" lists it, previews the edit, restores it and the
/// sync that follows puts it on the service; the backup's files are byte-identical.
#[test]
fn restore_through_the_window_on_the_real_engine() {
    use crate::support::demo_data::{HYD_1, attrs, gid};
    use crate::support::ui::stack::{click, stack, wait_until};
    use syncwatch::engine::{CreateRequest, LocalEdit};

    let mut s = stack();
    let handle = s.handle.clone();
    let url = s.server.as_ref().expect("a service").service_url();
    handle
        .try_send(Command::CreateReplica(CreateRequest {
            service_url: url.clone(),
            token: None,
            name: "crew B".into(),
            layers: vec![0],
            sync_model: syncwatch::protocol::SyncModel::PerReplica,
            is_async: false,
            scope: Default::default(),
        }))
        .expect("queue create");
    wait_until(&mut s.h, "the new replica", |a| {
        a.vm.replicas.len() == 1
            && !a.vm.replicas[0].syncing
            && a.vm.replicas[0].server_gen.is_some()
    });
    let replica = s.h.state().vm.replicas[0].id;
    let edit = LocalEdit::Update {
        global_id: gid(HYD_1),
        attributes: attrs(json!({"Notes": "restored through the window"})),
        geometry: None,
    };
    s.runtime
        .block_on(handle.edit_feature(replica, 0, edit))
        .expect("record edit");
    handle
        .try_send(Command::Reset {
            replica,
            mode: ResetMode::Discard,
        })
        .expect("queue reset");
    let h = &mut s.h;
    wait_until(h, "the discard reset", |a| {
        !a.vm.reset_summaries.is_empty()
            && a.vm
                .replica(replica)
                .is_some_and(|r| !r.syncing && r.pending_changes == 0)
    });
    h.state_mut().vm.reset_summaries.clear();
    let synced_before = h
        .state()
        .vm
        .replica(replica)
        .and_then(|r| r.last_success_ms);

    click(h, "Restore changes from backup…");
    wait_until(h, "the backups", |a| {
        a.restore
            .as_ref()
            .and_then(|w| w.backups.as_ref())
            .is_some_and(|b| b.len() == 1)
    });
    let listed = h.state().restore.as_ref().unwrap().backups.clone().unwrap();
    let before = crate::support::cli::files_under(&listed[0].dir)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect::<std::collections::BTreeMap<_, _>>();
    h.get_by_label_contains(&listed[0].name).click();
    h.run_steps(3);
    wait_until(h, "the preview", |a| {
        a.restore.as_ref().is_some_and(|w| w.preview.is_some())
    });
    h.get_by_label_contains("Notes = \"restored through the window\"");
    click(h, "Restore 1 change(s) and sync");
    wait_until(h, "the report", |a| {
        a.restore.as_ref().is_some_and(|w| w.report.is_some())
    });
    h.get_by_label("Restored 1 change(s); 0 already restored; 0 discarded");
    wait_until(h, "the sync after the restore", |a| {
        a.vm.replica(replica).is_some_and(|r| {
            !r.syncing && r.pending_changes == 0 && r.last_success_ms > synced_before
        })
    });

    let query = format!("{url}/0/query?where=1%3D1&outFields=*&f=json");
    let features: serde_json::Value = s
        .runtime
        .block_on(async { reqwest::get(&query).await?.json().await })
        .expect("query the service");
    let hydrant = features["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| {
            f["attributes"]["GlobalID"]
                .as_str()
                .is_some_and(|g| g.eq_ignore_ascii_case(HYD_1))
        })
        .expect("HYD-0001 on the service");
    assert_eq!(
        hydrant["attributes"]["Notes"],
        json!("restored through the window")
    );
    let after = crate::support::cli::files_under(&listed[0].dir)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect::<std::collections::BTreeMap<_, _>>();
    assert_eq!(after, before, "the backup is byte-identical");
}

/// The replica row's context menu opens the dialog for that replica too.
#[test]
fn the_row_context_menu_opens_the_dialog() {
    let mut r = rig();
    // The first of the name's labels is the list row (the overview heading comes later).
    r.harness
        .query_all_by_label("Parcel inspections")
        .next()
        .expect("list row")
        .click_secondary();
    r.harness.run();
    // The context menu's item (the menu's area comes first) and the overview's button.
    let items: Vec<_> = r
        .harness
        .query_all_by_label("Restore changes from backup…")
        .collect();
    assert_eq!(items.len(), 2, "the context menu is open");
    items[0].click();
    r.harness.run_steps(3);
    assert_eq!(
        r.take_commands(),
        vec![Command::ListBackups {
            replica: fixtures::FAILING
        }]
    );
    assert_eq!(
        r.harness.state().restore.as_ref().map(|w| w.replica),
        Some(fixtures::FAILING)
    );
}
