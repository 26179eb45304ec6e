//! The first-run demo against the real engine and the embedded demo service (loopback, temp
//! dirs): the three demo replicas are seeded through the engine once, show telling states in
//! the window, survive a restart without duplicates, and follow the demo service to a new port.

use crate::support::ui::stack::{Stack, click, demo_stack, select_named, wait_until};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::collections::BTreeSet;
use syncwatch::demo::{
    DemoState, FAILED_EDITS_NAME, NEEDS_RESET_NAME, SeedProgress, UP_TO_DATE_NAME,
};
use syncwatch::engine::{Health, ResetMode};
use syncwatch::protocol::JobState;
use syncwatch::ui::SyncwatchApp;

fn builder() -> egui_kittest::HarnessBuilder<SyncwatchApp> {
    Harness::builder().with_size(egui::vec2(1280.0, 800.0))
}

fn seeded(a: &SyncwatchApp) -> bool {
    matches!(
        a.seed_progress(),
        Some(SeedProgress::Finished | SeedProgress::Failed(_))
    )
}

fn replica_named<'a>(s: &'a Stack, name: &str) -> &'a syncwatch::engine::ReplicaSummary {
    s.h.state()
        .vm
        .replicas
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no replica {name}"))
}

/// First run: the seeding creates the three demo replicas through the engine and the service's
/// real checks; the window shows one up to date, one with failed edits in the 1000 and 2000
/// series, one that needs a client reset and asks for confirmation (Manual mode). Escape
/// cancels; a second start seeds nothing and shows the same three replicas.
#[test]
fn first_run_seeds_three_demo_replicas_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = demo_stack(builder(), dir.path(), 0);
    wait_until(&mut s.h, "the demo seeding", seeded);
    assert_eq!(s.h.state().seed_progress(), Some(SeedProgress::Finished));
    wait_until(&mut s.h, "the reset confirmation", |a| {
        a.vm.pending_reset.is_some()
    });
    s.h.get_by_label_contains("Demo mode");
    assert_eq!(s.h.state().vm.replicas.len(), 3);

    assert_eq!(
        replica_named(&s, UP_TO_DATE_NAME).health(),
        Health::UpToDate
    );
    let failing = replica_named(&s, FAILED_EDITS_NAME).clone();
    assert_eq!(failing.health(), Health::FailedEdits);
    let needs_reset = replica_named(&s, NEEDS_RESET_NAME).clone();
    assert_eq!(needs_reset.health(), Health::ResetRequired);
    assert_eq!(needs_reset.reset_mode, ResetMode::Manual);
    assert!(needs_reset.pending_changes >= 2, "{needs_reset:?}");

    // The modal for the reset replica, planned by the engine.
    let plan = s.h.state().vm.pending_reset.clone().expect("pending").plan;
    assert_eq!(plan.replica, needs_reset.id);
    s.h.get_by_label("Back up and reset");
    s.h.key_press(egui::Key::Escape);
    s.h.run_steps(3);
    assert!(s.h.state().vm.pending_reset.is_none(), "Escape cancels");

    // The failed edits: several codes of the 1000 series and the 2000 series, from the service.
    select_named(&mut s, FAILED_EDITS_NAME);
    wait_until(&mut s.h, "the failed edits", |a| {
        a.vm.results
            .get(&failing.id)
            .is_some_and(|rows| rows.iter().any(|r| !r.success))
    });
    let rows = s.h.state().vm.results[&failing.id].clone();
    let codes: BTreeSet<i64> = rows
        .iter()
        .filter(|r| !r.success)
        .filter_map(|r| r.code)
        .collect();
    let feature_codes: Vec<_> = codes.iter().filter(|c| (1000..2000).contains(*c)).collect();
    assert!(feature_codes.len() >= 5, "{codes:?}");
    assert!(codes.contains(&1001) && codes.contains(&1016), "{codes:?}");
    assert!(codes.iter().any(|c| (2000..3000).contains(c)), "{codes:?}");
    // The good edits went through.
    assert!(rows.iter().any(|r| r.success), "{rows:?}");
    assert!(s.h.query_all_by_label("⚠ Failed edits").count() >= 1);
    assert!(s.h.query_all_by_label("✔ Up to date").count() >= 1);
    assert!(s.h.query_all_by_label("⟲ Reset required").count() >= 1);
    assert!(DemoState::load(dir.path()).seeded);
    let ids: BTreeSet<_> = s.h.state().vm.replicas.iter().map(|r| r.id).collect();
    drop(s);

    // Second start: nothing new is seeded; the reset replica still waits for the technician.
    let mut s = demo_stack(builder(), dir.path(), 0);
    wait_until(&mut s.h, "the demo seeding", seeded);
    assert_eq!(s.h.state().seed_progress(), Some(SeedProgress::Finished));
    let again: BTreeSet<_> = s.h.state().vm.replicas.iter().map(|r| r.id).collect();
    assert_eq!(again, ids, "the same three replicas, no duplicates");
    assert_eq!(
        replica_named(&s, NEEDS_RESET_NAME).health(),
        Health::ResetRequired
    );
    assert!(s.h.state().vm.pending_reset.is_none());
    // The overview offers the reset; in Manual mode it opens the confirmation.
    let reset_id = select_named(&mut s, NEEDS_RESET_NAME);
    click(&mut s.h, "Start client reset…");
    wait_until(&mut s.h, "the reset confirmation", |a| {
        a.vm.pending_reset
            .as_ref()
            .is_some_and(|p| p.plan.replica == reset_id)
    });
}

/// The demo service cannot get its old port on a later start: it comes up on another one and
/// the demo replicas are re-pointed to it, so they still sync.
#[test]
fn demo_replicas_follow_the_service_to_a_new_port() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = demo_stack(builder(), dir.path(), 0);
    wait_until(&mut s.h, "the demo seeding", seeded);
    let old_url = replica_named(&s, UP_TO_DATE_NAME).service_url.clone();
    let old_port = url::Url::parse(&old_url)
        .expect("url")
        .port()
        .expect("port");
    drop(s);

    // Something else now holds the old port.
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", old_port)).expect("bind old port");
    let mut s = demo_stack(builder(), dir.path(), old_port);
    let new_url = s.server.as_ref().expect("server").service_url();
    assert_ne!(new_url, old_url);
    wait_until(&mut s.h, "the replicas to follow the service", |a| {
        a.vm.replicas.len() == 3 && a.vm.replicas.iter().all(|r| r.service_url == new_url)
    });
    assert_eq!(DemoState::load(dir.path()).service_url, Some(new_url));
    let replica = select_named(&mut s, UP_TO_DATE_NAME);
    click(&mut s.h, "⟳ Sync now");
    wait_until(&mut s.h, "the sync to finish", |a| {
        a.vm.jobs
            .get(&replica)
            .is_some_and(|j| j.state.is_terminal())
            && a.vm.replica(replica).is_some_and(|r| !r.syncing)
    });
    assert_eq!(s.h.state().vm.jobs[&replica].state, JobState::Completed);
    assert!(
        s.h.state()
            .vm
            .log
            .iter()
            .any(|e| e.message.contains("now use the service at")),
        "the move is logged"
    );
}
