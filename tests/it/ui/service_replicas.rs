//! The "Service replicas" view through egui_kittest (no engine): File → Manage service
//! replicas… asks for the selected replica's service, the list shows owners, stale marking that
//! follows the setting, the replica this laptop holds and a failed info; the filter narrows it;
//! "Unregister selected…" asks with the replicas named (and the held one warned about), "Keep them" sends
//! nothing, confirming sends one `UnregisterServiceReplicas` with exactly the selected ones; the
//! results remove them; CSV export goes through the file picker.

use crate::support::ui::{Rig, RigOptions, Settle, click_with, rig, rig_with};
use egui_kittest::kittest::Queryable as _;
use syncwatch::engine::{Command, Event, UnregisterResult};
use syncwatch::ui::fixtures::{self, service_replicas::SERVICE_URL};

/// The rig with the view open and the fixtures' list loaded.
fn opened(mut r: Rig) -> Rig {
    r.click("File");
    // The view shows a spinner until the list arrives: a few frames, not "until idle".
    click_with(&mut r.harness, "Manage service replicas…", Settle::Steps(3));
    let commands = r.take_commands();
    assert!(
        commands.contains(&Command::LoadServiceReplicas {
            service_url: SERVICE_URL.into(),
            token: None,
        }),
        "the selected replica's service is loaded: {commands:?}"
    );
    r.push([Event::ServiceReplicasLoaded {
        service_url: SERVICE_URL.into(),
        replicas: fixtures::service_replicas(),
    }]);
    r
}

#[test]
fn the_list_shows_owners_stale_marking_by_the_setting_and_this_laptop() {
    let mut r = opened(rig());
    for name in [
        "Water network",
        "MyReplica_1135",
        "Hydrant survey 2025",
        "Valves (Pro)",
    ] {
        r.harness.get_by_label(name);
    }
    r.harness.get_by_label("tech2");
    r.harness.get_by_label("✔ this laptop");
    r.harness.get_by_label("info failed");
    r.harness
        .get_by_label("4 replicas, 2 stale, 4 shown, 0 selected");
    assert_eq!(
        r.harness.query_all_by_label_contains("⚠ stale").count(),
        2,
        "45 and 90 days without a sync, 30 by default"
    );
    r.harness.state_mut().persisted.stale_days = 60;
    r.harness.run();
    r.harness
        .get_by_label("4 replicas, 1 stale, 4 shown, 0 selected");
    assert_eq!(r.harness.query_all_by_label_contains("⚠ stale").count(), 1);

    r.type_into("Filter", "tech2");
    r.harness
        .get_by_label("4 replicas, 1 stale, 1 shown, 0 selected");
    assert!(r.harness.query_by_label("Water network").is_none());
}

#[test]
fn unregister_asks_with_the_replicas_named_and_sends_exactly_the_selected() {
    let mut r = opened(rig());
    r.click("Water network");
    r.click("MyReplica_1135");
    r.harness
        .get_by_label("4 replicas, 2 stale, 4 shown, 2 selected");

    r.click("Unregister selected…");
    r.harness
        .get_by_label("Unregister 2 replicas on the service?");
    r.harness.get_by_label_contains("• Water network (tech1,");
    r.harness.get_by_label_contains("• MyReplica_1135 (tech2,");
    r.harness
        .get_by_label_contains("Water network is held on this laptop");
    assert!(
        r.harness
            .query_by_label_contains("• Hydrant survey")
            .is_none(),
        "only the selected are named"
    );
    r.click("Keep them");
    assert!(r.take_commands().is_empty(), "kept: nothing sent");
    assert!(
        r.harness
            .query_by_label("Unregister 2 replicas on the service?")
            .is_none()
    );

    r.click("Unregister selected…");
    // Busy (a spinner) until the results arrive: a few frames.
    click_with(&mut r.harness, "Unregister 2 replicas", Settle::Steps(3));
    let rows = fixtures::service_replicas();
    match r.take_commands().as_slice() {
        [
            Command::UnregisterServiceReplicas {
                service_url,
                token: None,
                replicas,
            },
        ] => {
            assert_eq!(service_url, SERVICE_URL);
            assert_eq!(
                replicas,
                &vec![
                    (rows[0].replica_id.clone(), "Water network".to_owned()),
                    (rows[1].replica_id.clone(), "MyReplica_1135".to_owned()),
                ]
            );
        }
        other => panic!("expected one UnregisterServiceReplicas, got {other:?}"),
    }
    let done = |i: usize| UnregisterResult {
        replica_id: rows[i].replica_id.clone(),
        name: rows[i].name.clone(),
        unregistered: true,
        already_gone: false,
        error: None,
        held_here: rows[i].held_here,
    };
    r.push([Event::ServiceReplicasUnregistered {
        service_url: SERVICE_URL.into(),
        results: vec![done(0), done(1)],
    }]);
    r.harness.get_by_label("Unregistered Water network.");
    r.harness.get_by_label("Unregistered MyReplica_1135.");
    r.harness
        .get_by_label("2 replicas, 1 stale, 2 shown, 0 selected");
}

#[test]
fn export_writes_the_shown_rows_through_the_file_picker() {
    let path = std::path::PathBuf::from("/tmp/syncwatch-test/service-replicas.csv");
    let mut r = opened(rig_with(RigOptions {
        export_path: Some(path.clone()),
        ..RigOptions::default()
    }));
    r.type_into("Filter", "tech");
    r.click("Export CSV…");
    r.harness.run();
    match r.take_commands().as_slice() {
        [
            Command::ExportServiceReplicas {
                replicas,
                stale_days,
                path: p,
            },
        ] => {
            assert_eq!(replicas.len(), 3, "the shown rows (tech1, tech2, tech3)");
            assert_eq!(*stale_days, 30);
            assert_eq!(p, &path);
        }
        other => panic!("expected one ExportServiceReplicas, got {other:?}"),
    }
}
