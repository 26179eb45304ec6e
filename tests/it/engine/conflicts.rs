//! Conflicts (issue 20) over real HTTP with two clients on the same service: an "office" replica
//! that edits and syncs first, and the technician's replica. Same field on both sides: held
//! under *ask*, then kept (the server ends with the technician's value) or given up (the server
//! unchanged); different fields merge with no conflict; a server delete against a local update
//! is a conflict with both resolutions; *keep mine* uploads and records; a resolution is checked
//! again when the server changed once more. After each, no local edit is lost.

use crate::support::client_config::fast;
use crate::support::demo_data::{HYD_1, HYD_2, HYD_3, HYD_4};
use crate::support::engine::{Harness, MadeEdit, gid};
use serde_json::{Value, json};
use syncwatch::engine::{
    Command, Conflict, ConflictField, ConflictKind, ConflictPolicy, ConflictStatus, Event,
    FieldChoice, Health, LocalEdit, LocalReplicaId, Resolution, Side,
};
use syncwatch::protocol::{JobState, SyncModel};
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

/// The office changes a hydrant and syncs it to the service.
async fn office_sets(h: &Harness, office: LocalReplicaId, global_id: &str, values: Value) {
    h.update(office, global_id, values).await;
    let outcome = h.sync(office, false).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
}

/// One attribute of a hydrant as the service holds it now (`None`: no such live feature).
fn on_server(h: &Harness, global_id: &str, field: &str) -> Option<Value> {
    h.server_db()
        .attributes(0, &gid(global_id))
        .map(|a| a[field].clone())
}

async fn conflicts_of(h: &Harness, replica: LocalReplicaId) -> Vec<Conflict> {
    h.send(Command::LoadConflicts { replica }).await;
    ready(h, replica).await
}

async fn ready(h: &Harness, replica: LocalReplicaId) -> Vec<Conflict> {
    h.next(|e| match e {
        Event::ConflictsReady {
            replica: r,
            conflicts,
            ..
        } if *r == replica => Some(conflicts.clone()),
        _ => None,
    })
    .await
}

async fn resolve(
    h: &Harness,
    replica: LocalReplicaId,
    global_id: &str,
    resolution: Resolution,
) -> Vec<Conflict> {
    h.send(Command::ResolveConflict {
        replica,
        layer_id: 0,
        global_id: gid(global_id),
        resolution,
    })
    .await;
    ready(h, replica).await
}

fn notes(global_id: &str, value: &str) -> MadeEdit {
    MadeEdit::new(0, &gid(global_id), json!({ "Notes": value }))
}

/// The same field changed on both sides is held under *ask* (everything else syncs), shown
/// with what the technician started from, their value and the server's; keeping mine sends it
/// and the server ends with the technician's value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_field_is_held_then_kept_mine() {
    let (h, tech, office) = two_clients().await;
    office_sets(&h, office, HYD_1, json!({"Notes": "office: valve stuck"})).await;
    h.update(tech, HYD_1, json!({"Notes": "tech: flushed"}))
        .await;
    h.update(tech, HYD_2, json!({"Notes": "tech: painted"}))
        .await;
    let made = [notes(HYD_1, "tech: flushed"), notes(HYD_2, "tech: painted")];

    let outcome = h.sync(tech, false).await.unwrap();
    assert_eq!(outcome.held_conflicts, 1);
    assert_eq!(outcome.state, JobState::CompletedWithErrors);
    assert_eq!(
        on_server(&h, HYD_1, "Notes"),
        Some(json!("office: valve stuck"))
    );
    assert_eq!(on_server(&h, HYD_2, "Notes"), Some(json!("tech: painted")));
    let summary = h.summary(tech).await;
    assert_eq!(summary.health(), Health::Conflicts);
    assert_eq!(summary.held_conflicts, 1);
    let list = conflicts_of(&h, tech).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].global_id, gid(HYD_1));
    assert_eq!(list[0].kind, ConflictKind::SameFields);
    assert_eq!(list[0].status, ConflictStatus::Held);
    assert_eq!(list[0].layer_name, "Hydrants");
    assert_eq!(
        list[0].fields,
        vec![ConflictField {
            name: "Notes".into(),
            started_from: Value::Null,
            mine: json!("tech: flushed"),
            server: json!("office: valve stuck"),
        }]
    );
    h.assert_no_edit_lost(tech, &made);

    // Still held by a second sync.
    let again = h.sync(tech, false).await.unwrap();
    assert_eq!(again.held_conflicts, 1);
    assert_eq!(
        on_server(&h, HYD_1, "Notes"),
        Some(json!("office: valve stuck"))
    );

    let left = resolve(&h, tech, HYD_1, Resolution::Whole(Side::Mine)).await;
    assert!(left.is_empty(), "{left:?}");
    let outcome = h.sync(tech, false).await.unwrap();
    assert_eq!(
        (outcome.held_conflicts, outcome.state),
        (0, JobState::Completed)
    );
    assert_eq!(on_server(&h, HYD_1, "Notes"), Some(json!("tech: flushed")));
    assert_eq!(h.summary(tech).await.health(), Health::UpToDate);
    h.assert_no_edit_lost(tech, &made);
}

/// Taking the server's side drops the local edit of that field: the server is unchanged and
/// the technician's copy shows the office's value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_field_take_server_drops_the_local_value() {
    let (h, tech, office) = two_clients().await;
    office_sets(&h, office, HYD_1, json!({"Notes": "office"})).await;
    h.update(tech, HYD_1, json!({"Notes": "tech"})).await;
    assert_eq!(h.sync(tech, false).await.unwrap().held_conflicts, 1);

    let left = resolve(&h, tech, HYD_1, Resolution::Whole(Side::Server)).await;
    assert!(left.is_empty());
    assert!(h.file(tech).change(0, &gid(HYD_1)).unwrap().is_none());
    let outcome = h.sync(tech, false).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.held_conflicts), (0, 0));
    assert_eq!(on_server(&h, HYD_1, "Notes"), Some(json!("office")));
    let local = h
        .file(tech)
        .server_feature(0, &gid(HYD_1))
        .unwrap()
        .unwrap();
    assert_eq!(local.attributes["Notes"], json!("office"));
    h.assert_no_edit_lost(tech, &[]);
}

/// Fields changed on one side each are no conflict: both are kept, nothing is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_fields_merge_without_a_conflict() {
    let (h, tech, office) = two_clients().await;
    office_sets(&h, office, HYD_1, json!({"Flow_GPM": 750})).await;
    h.update(tech, HYD_1, json!({"Notes": "tech: flushed"}))
        .await;

    let outcome = h.sync(tech, false).await.unwrap();
    assert_eq!(
        (outcome.held_conflicts, outcome.state),
        (0, JobState::Completed)
    );
    assert!(conflicts_of(&h, tech).await.is_empty());
    assert_eq!(on_server(&h, HYD_1, "Notes"), Some(json!("tech: flushed")));
    assert_eq!(
        on_server(&h, HYD_1, "Flow_GPM").and_then(|v| v.as_f64()),
        Some(750.0)
    );
    let local = h
        .file(tech)
        .server_feature(0, &gid(HYD_1))
        .unwrap()
        .unwrap();
    assert_eq!(local.attributes["Flow_GPM"].as_f64(), Some(750.0));
    h.assert_no_edit_lost(tech, &[notes(HYD_1, "tech: flushed")]);
}

/// A local update of a feature the office deleted is a conflict (not silently dropped): taking
/// the server's side drops it; keeping mine recreates the feature with the technician's values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_delete_against_local_update_both_resolutions() {
    let (h, tech, office) = two_clients().await;
    for deleted in [HYD_3, HYD_4] {
        h.edit(
            office,
            LocalEdit::Delete {
                global_id: gid(deleted),
            },
        )
        .await;
    }
    assert_eq!(h.sync(office, false).await.unwrap().uploaded, 2);
    h.update(tech, HYD_3, json!({"Notes": "tech-three"})).await;
    h.update(tech, HYD_4, json!({"Notes": "tech-four"})).await;

    let outcome = h.sync(tech, false).await.unwrap();
    assert_eq!(outcome.held_conflicts, 2);
    let list = conflicts_of(&h, tech).await;
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|c| c.kind == ConflictKind::ServerDeleted));
    assert_eq!(list[0].fields.len(), 1);
    h.assert_no_edit_lost(
        tech,
        &[notes(HYD_3, "tech-three"), notes(HYD_4, "tech-four")],
    );

    resolve(&h, tech, HYD_3, Resolution::Whole(Side::Server)).await;
    let left = resolve(&h, tech, HYD_4, Resolution::Whole(Side::Mine)).await;
    assert!(left.is_empty());
    let outcome = h.sync(tech, false).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.held_conflicts), (1, 0));
    assert_eq!(
        outcome.state,
        JobState::Completed,
        "{:?}",
        h.edit_results(tech).await
    );
    let server = h.server_db();
    assert!(server.attributes(0, &gid(HYD_3)).is_none());
    assert!(
        server.attributes(0, &gid(HYD_4)).is_none(),
        "a deleted GlobalID stays deleted"
    );
    assert_eq!(server.count_marker("tech-three"), 0);
    assert_eq!(
        server.count_marker("tech-four"),
        1,
        "recreated with the local values"
    );
    assert_eq!(server.count_marker("HYD-0004"), 1);
    assert!(h.file(tech).changes().unwrap().is_empty());
}

/// Under *keep mine* the upload wins (ArcGIS's behaviour) and the conflict is still recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_mine_policy_uploads_and_records() {
    let (h, tech, office) = two_clients().await;
    h.send(Command::SetConflictPolicy {
        replica: tech,
        policy: ConflictPolicy::KeepMine,
    })
    .await;
    ready(&h, tech).await;
    assert_eq!(
        h.summary(tech).await.conflict_policy,
        ConflictPolicy::KeepMine
    );
    office_sets(&h, office, HYD_1, json!({"Notes": "office"})).await;
    h.update(tech, HYD_1, json!({"Notes": "tech"})).await;

    let outcome = h.sync(tech, false).await.unwrap();
    assert_eq!(
        (outcome.held_conflicts, outcome.state),
        (0, JobState::Completed)
    );
    assert_eq!(on_server(&h, HYD_1, "Notes"), Some(json!("tech")));
    let list = conflicts_of(&h, tech).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].status, ConflictStatus::KeptMine);
    assert_eq!(list[0].fields[0].server, json!("office"));
    assert_eq!(h.summary(tech).await.health(), Health::UpToDate);
    h.assert_no_edit_lost(tech, &[notes(HYD_1, "tech")]);
}

/// A resolution is checked again: when the server changed once more before the resolved edit
/// went out, it is held again against the newer value; a per-field value is what is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolution_while_the_server_changes_again_is_detected_again() {
    let (h, tech, office) = two_clients().await;
    office_sets(&h, office, HYD_1, json!({"Notes": "office 1"})).await;
    h.update(tech, HYD_1, json!({"Notes": "tech"})).await;
    assert_eq!(h.sync(tech, false).await.unwrap().held_conflicts, 1);

    resolve(&h, tech, HYD_1, Resolution::Whole(Side::Mine)).await;
    office_sets(&h, office, HYD_1, json!({"Notes": "office 2"})).await;
    let outcome = h.sync(tech, false).await.unwrap();
    assert_eq!(outcome.held_conflicts, 1, "detected again");
    assert_eq!(on_server(&h, HYD_1, "Notes"), Some(json!("office 2")));
    let list = conflicts_of(&h, tech).await;
    assert_eq!(list[0].fields[0].started_from, json!("office 1"));
    assert_eq!(list[0].fields[0].server, json!("office 2"));
    h.assert_no_edit_lost(tech, &[notes(HYD_1, "tech")]);

    let choice = FieldChoice::Value(json!("tech and office agreed"));
    let left = resolve(
        &h,
        tech,
        HYD_1,
        Resolution::Fields(vec![("Notes".into(), choice)]),
    )
    .await;
    assert!(left.is_empty());
    let outcome = h.sync(tech, false).await.unwrap();
    assert_eq!(outcome.held_conflicts, 0);
    assert_eq!(
        on_server(&h, HYD_1, "Notes"),
        Some(json!("tech and office agreed"))
    );
    h.assert_no_edit_lost(tech, &[notes(HYD_1, "tech and office agreed")]);
}
