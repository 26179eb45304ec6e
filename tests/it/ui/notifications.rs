//! Desktop notifications (issue 23), observed through a recording notifier in place of the
//! desktop's (the same `Notifier` seam): on the real engine and the reference service, a sync
//! ending with refused edits and a replica needing a reset are announced once each however often
//! they are seen again, a manual reset waiting is announced once the window loses the focus, 50
//! failing syncs are one notification, and nothing is sent with the kinds turned off; on a test
//! channel (fixture events, a frozen clock), every kind is suppressed by its own setting (also
//! from View → Notifications…), and a click selects its replica and brings the window up.

use crate::support::ui::stack::{Stack, notifying_stack, wait_until};
use crate::support::ui::wizard::new_replica;
use crate::support::ui::{RecordingNotifier, Rig, RigOptions, rig_with};
use egui_kittest::kittest::Queryable as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use syncwatch::engine::{
    Command, Event, Failure, FailureClass, JobId, JobOutcome, LocalEdit, LocalReplicaId, ResetMode,
    SyncOptions,
};
use syncwatch::model::{NotificationClicks, NotificationKind, NotificationSettings};
use syncwatch::protocol::JobState;
use syncwatch::ui::fixtures;

// ---------------------------------------------------------------------------------------------
// On the real engine and the reference service
// ---------------------------------------------------------------------------------------------

/// Runs frames for a while (the engine may still be sending events).
fn settle_for(s: &mut Stack, how_long: Duration) {
    let until = Instant::now() + how_long;
    while Instant::now() < until {
        s.h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Creates a replica of Hydrants through the wizard and waits for it.
fn created(s: &mut Stack, name: &str) -> LocalReplicaId {
    new_replica(&mut s.h, &["Hydrants"], name);
    wait_until(&mut s.h, "the new replica", |a| {
        a.vm.replicas.len() == 1
            && !a.vm.replicas[0].syncing
            && a.vm.replicas[0].server_gen.is_some()
    });
    s.h.state().vm.replicas[0].id
}

/// Syncs `replica` through the engine and waits for that sync's end (or the end of the job it
/// led to: a planned manual reset); returns the state the window shows.
fn sync_and_wait(s: &mut Stack, replica: LocalReplicaId) -> JobState {
    let before = s.h.state().vm.jobs.get(&replica).map(|j| j.job);
    s.handle
        .try_send(Command::SyncNow {
            replica,
            options: SyncOptions::default(),
        })
        .expect("queue sync");
    wait_until(&mut s.h, "the sync to end", |a| {
        a.vm.jobs
            .get(&replica)
            .is_some_and(|j| Some(j.job) != before && !j.is_running())
            && a.vm.replica(replica).is_some_and(|r| !r.syncing)
    });
    s.h.state().vm.jobs[&replica].state.clone()
}

/// A local add without the non-nullable FacilityID: the service refuses it (1001) on every sync.
fn record_refused_add(s: &mut Stack, replica: LocalReplicaId) {
    let mut attributes = syncwatch::protocol::Attributes::new();
    attributes.insert("FacilityID".into(), serde_json::Value::Null);
    attributes.insert("Status".into(), serde_json::json!("IS"));
    let handle = s.handle.clone();
    s.runtime
        .block_on(handle.edit_feature(
            replica,
            0,
            LocalEdit::Add {
                attributes,
                geometry: Some(serde_json::json!({"x": -122.64, "y": 45.52})),
            },
        ))
        .expect("record edit");
}

/// The service administrator terminates and re-enables sync: every replica needs a reset.
fn terminate_and_reenable_sync(s: &Stack) {
    let server = s.server.as_ref().expect("server");
    let (base_url, admin_key) = (server.base_url().to_owned(), server.admin_key().to_owned());
    s.runtime.block_on(async {
        for path in ["/admin/sync/terminate", "/admin/sync/enable"] {
            let status = reqwest::Client::new()
                .post(format!("{base_url}{path}"))
                .header("X-Admin-Key", &admin_key)
                .send()
                .await
                .expect("admin call")
                .status();
            assert!(status.is_success(), "{path}: {status}");
        }
    });
}

/// The viewport commands of the last frame.
fn viewport_commands(
    h: &egui_kittest::Harness<'static, syncwatch::ui::SyncwatchApp>,
) -> Vec<egui::ViewportCommand> {
    h.output()
        .viewport_output
        .get(&egui::ViewportId::ROOT)
        .map(|v| v.commands.clone())
        .unwrap_or_default()
}

/// Refused edits, then a reset: what a day with a broken replica announces, with `settings`.
/// Returns the replica and the recorder.
fn refusals_then_a_reset(
    settings: NotificationSettings,
) -> (Stack, LocalReplicaId, Arc<RecordingNotifier>) {
    let recorder = Arc::new(RecordingNotifier::default());
    let mut s = notifying_stack(recorder.clone());
    s.h.state_mut().persisted.notifications = settings;
    let replica = created(&mut s, "Hydrants notify");
    assert_eq!(
        recorder.kinds(),
        vec![],
        "a replica made and synced is no news"
    );

    record_refused_add(&mut s, replica);
    assert_eq!(
        sync_and_wait(&mut s, replica),
        JobState::CompletedWithErrors
    );
    // The same refused add is resent and refused again: no news.
    assert_eq!(
        sync_and_wait(&mut s, replica),
        JobState::CompletedWithErrors
    );
    settle_for(&mut s, Duration::from_millis(300));
    assert_eq!(
        s.h.state().vm.replica(replica).map(|r| r.failed_edits),
        Some(1)
    );

    s.handle
        .try_send(Command::SetResetMode {
            replica,
            mode: ResetMode::Manual,
        })
        .expect("queue");
    wait_until(&mut s.h, "manual mode", |a| {
        a.vm.replica(replica)
            .is_some_and(|r| r.reset_mode == ResetMode::Manual)
    });
    terminate_and_reenable_sync(&s);
    sync_and_wait(&mut s, replica);
    wait_until(&mut s.h, "the reset confirmation", |a| {
        a.vm.pending_reset.is_some()
            && a.vm
                .replica(replica)
                .is_some_and(|r| r.reset_reason.is_some())
    });
    // Another sync meets the same reset: no news either.
    sync_and_wait(&mut s, replica);
    settle_for(&mut s, Duration::from_millis(300));
    (s, replica, recorder)
}

/// A sync ending with refused edits is announced once for that replica, however often the same
/// edits are refused again; so is the reset it then needs; the manual reset waiting is announced
/// once the window loses the focus, once; a click brings the window up on the replica.
#[test]
fn refused_edits_and_a_reset_are_announced_once_each() {
    let (mut s, replica, recorder) = refusals_then_a_reset(NotificationSettings::default());
    assert_eq!(
        recorder.kinds(),
        vec![
            (NotificationKind::RefusedEdits, replica.0),
            (NotificationKind::ResetNeeded, replica.0),
        ],
        "the window is focused: the waiting reset's modal says it"
    );
    let shown = recorder.shown();
    assert_eq!(shown[0].title, "Hydrants notify: the service refused edits");
    assert!(
        shown[0].body.contains("1 refused edit."),
        "{}",
        shown[0].body
    );
    assert_eq!(shown[1].title, "Hydrants notify needs a client reset");
    assert!(
        shown[1].body.contains("Reset mode: manual"),
        "{}",
        shown[1].body
    );

    // The technician switches to another window.
    s.h.input_mut().focused = false;
    settle_for(&mut s, Duration::from_millis(300));
    let kinds = recorder.kinds();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert_eq!(kinds[2], (NotificationKind::ManualResetWaiting, replica.0));
    assert_eq!(
        recorder.shown()[2].title,
        "The client reset of Hydrants notify waits for you"
    );
    s.h.input_mut().focused = true;
    settle_for(&mut s, Duration::from_millis(100));
    s.h.input_mut().focused = false;
    settle_for(&mut s, Duration::from_millis(300));
    assert_eq!(recorder.kinds().len(), 3, "the same wait is announced once");

    // A click on the notification, as the desktop notifier reports it.
    s.h.state_mut().persisted.selected_replica = None;
    s.clicks.click(replica);
    s.h.step();
    let commands = viewport_commands(&s.h);
    assert!(
        commands.contains(&egui::ViewportCommand::Focus),
        "{commands:?}"
    );
    assert!(commands.contains(&egui::ViewportCommand::Minimized(false)));
    assert_eq!(s.h.state().persisted.selected_replica, Some(replica));
}

/// With every kind turned off the same day sends nothing, though the window shows it all.
#[test]
fn nothing_is_sent_with_the_kinds_turned_off() {
    let mut off = NotificationSettings::default();
    for kind in NotificationKind::ALL {
        off.set_enabled(kind, false);
    }
    let (mut s, replica, recorder) = refusals_then_a_reset(off);
    s.h.input_mut().focused = false;
    settle_for(&mut s, Duration::from_millis(300));
    assert_eq!(recorder.kinds(), vec![]);
    assert_eq!(
        s.h.state().title(),
        "Syncwatch — 1 replica needs attention",
        "the conditions were there"
    );
    assert!(s.h.state().vm.pending_reset.is_some());
    assert!(
        s.h.state()
            .vm
            .replica(replica)
            .is_some_and(|r| r.failed_edits == 1)
    );
}

/// Fifty syncs in a row fail at the service (an error envelope for each synchronizeReplica):
/// one notification that syncs keep failing, after the (shortened) threshold, and no more.
#[test]
fn fifty_failing_syncs_are_one_notification() {
    const FAILING_SYNCS: usize = 50;
    let recorder = Arc::new(RecordingNotifier::default());
    let mut s = notifying_stack(recorder.clone());
    s.h.state_mut()
        .persisted
        .notifications
        .sync_failing_after_secs = 1;
    let replica = created(&mut s, "Hydrants failing");
    let (base_url, admin_key) = {
        let server = s.server.as_ref().expect("server");
        (server.base_url().to_owned(), server.admin_key().to_owned())
    };
    s.runtime.block_on(async {
        let status = reqwest::Client::new()
            .post(format!("{base_url}/admin/faults"))
            .header("X-Admin-Key", &admin_key)
            .json(&serde_json::json!({
                "operation": "synchronizeReplica",
                "kind": "errorEnvelope",
                "code": 400,
                "message": "The service is busy (test fault).",
                "count": FAILING_SYNCS,
            }))
            .send()
            .await
            .expect("fault")
            .status();
        assert!(status.is_success(), "{status}");
    });
    for _ in 0..FAILING_SYNCS {
        s.handle
            .try_send(Command::SyncNow {
                replica,
                options: SyncOptions::default(),
            })
            .expect("queue sync");
    }
    // The summary after the last of them: its history (the latest 50 jobs) is all failures.
    wait_until(&mut s.h, "the fifty failed syncs", |a| {
        a.vm.replica(replica).is_some_and(|r| {
            !r.syncing
                && r.history.len() == FAILING_SYNCS
                && r.history.iter().all(|p| p.state == "Failed")
        })
    });
    // Past the threshold even if the burst was quicker than it.
    settle_for(&mut s, Duration::from_millis(1500));
    assert_eq!(
        recorder.kinds(),
        vec![(NotificationKind::SyncFailing, replica.0)]
    );
    let shown = &recorder.shown()[0];
    assert_eq!(shown.title, "Syncs of Hydrants failing keep failing");
    assert!(
        shown.body.contains("The service is busy (test fault)."),
        "{}",
        shown.body
    );
    // The fault is used up: the next sync works, and a new failure starts the clock again.
    assert_eq!(sync_and_wait(&mut s, replica), JobState::Completed);
    settle_for(&mut s, Duration::from_millis(300));
    assert_eq!(recorder.kinds().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// On a test channel: fixture events and a frozen clock
// ---------------------------------------------------------------------------------------------

/// The fixture window with a recorder, its clicks and `settings`.
fn rig_notifying(
    settings: NotificationSettings,
) -> (Rig, Arc<RecordingNotifier>, NotificationClicks) {
    let recorder = Arc::new(RecordingNotifier::default());
    let clicks = NotificationClicks::default();
    let mut r = rig_with(RigOptions {
        notifier: Some(recorder.clone()),
        clicks: clicks.clone(),
        ..RigOptions::default()
    });
    r.harness.state_mut().persisted.notifications = settings;
    (r, recorder, clicks)
}

fn failed_sync(replica: LocalReplicaId, job: i64) -> Event {
    Event::JobFailed {
        replica,
        job: JobId(job),
        error: Failure {
            class: FailureClass::Transport,
            code: None,
            message: "connection refused".into(),
        },
    }
}

/// Events that call for every kind: refused edits and then failing syncs of the up-to-date
/// replica (past the default threshold), a sign-in for the failing one, and the one needing a
/// reset healthy again, then needing one and waiting for its manual reset, the window unfocused.
fn every_kind(r: &mut Rig) {
    let a = fixtures::UP_TO_DATE;
    let b = fixtures::FAILING;
    let c = fixtures::NEEDS_RESET;
    r.push([Event::JobCompleted {
        replica: a,
        job: JobId(900),
        outcome: JobOutcome {
            state: JobState::CompletedWithErrors,
            uploaded: 3,
            downloaded: 0,
            failed_edits: 3,
            duration_ms: 40,
            held_conflicts: 0,
        },
    }]);
    let start = fixtures::NOW_MS;
    for i in 0..50 {
        r.harness
            .state_mut()
            .set_mock_now_ms(Some(start + i * 20_000));
        r.push([failed_sync(a, 901 + i)]);
    }
    r.push([Event::JobWaitingForSignIn {
        replica: b,
        job: JobId(990),
        reason: "the token expired".into(),
    }]);
    let mut healthy = fixtures::replicas()
        .into_iter()
        .find(|s| s.id == c)
        .expect("fixture");
    healthy.reset_reason = None;
    r.push([Event::ReplicaChanged { summary: healthy }]);
    r.push([Event::ResetRequired {
        replica: c,
        reason: "the replica is unknown to the service".into(),
    }]);
    r.harness.input_mut().focused = false;
    r.push([fixtures::reset_awaiting_event()]);
    r.harness.run_steps(3);
}

/// Every kind is sent once, for its replica; 50 failing syncs make one.
#[test]
fn every_kind_is_sent_once_for_its_replica() {
    let (mut r, recorder, _) = rig_notifying(NotificationSettings::default());
    every_kind(&mut r);
    let (a, b, c) = (
        fixtures::UP_TO_DATE.0,
        fixtures::FAILING.0,
        fixtures::NEEDS_RESET.0,
    );
    let mut kinds = recorder.kinds();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            (NotificationKind::RefusedEdits, a),
            (NotificationKind::ResetNeeded, c),
            (NotificationKind::SignInNeeded, b),
            (NotificationKind::ManualResetWaiting, c),
            (NotificationKind::SyncFailing, a),
        ]
    );
    let failing = recorder
        .shown()
        .into_iter()
        .find(|n| n.kind == NotificationKind::SyncFailing)
        .expect("sync failing");
    assert_eq!(failing.replica_name, "Hydrants – crew A");
    // 50 failures 20 s apart: past 15 min at the 46th.
    assert!(
        failing.body.starts_with("Failing for 15 min 0 s:"),
        "{}",
        failing.body
    );
}

/// Each kind turned off is not sent; the others still are.
#[test]
fn each_kind_is_suppressed_by_its_setting() {
    for kind in NotificationKind::ALL {
        let mut settings = NotificationSettings::default();
        settings.set_enabled(kind, false);
        let (mut r, recorder, _) = rig_notifying(settings);
        every_kind(&mut r);
        let kinds: Vec<NotificationKind> = recorder.kinds().into_iter().map(|(k, _)| k).collect();
        assert!(
            !kinds.contains(&kind),
            "{kind:?} was sent while off: {kinds:?}"
        );
        assert_eq!(kinds.len(), 4, "the other kinds still are: {kinds:?}");
    }
}

/// View → Notifications… turns a kind off in the persisted settings, and it is no longer sent.
#[test]
fn the_settings_window_turns_a_kind_off() {
    let (mut r, recorder, _) = rig_notifying(NotificationSettings::default());
    r.click("View");
    r.click("Notifications…");
    r.harness.get_by_label("Send a desktop notification when:");
    r.click(NotificationKind::SignInNeeded.label());
    assert!(!r.harness.state().persisted.notifications.sign_in_needed);
    assert!(r.harness.state().persisted.notifications.reset_needed);
    r.push([Event::JobWaitingForSignIn {
        replica: fixtures::FAILING,
        job: JobId(990),
        reason: "the token expired".into(),
    }]);
    assert_eq!(recorder.kinds(), vec![]);
    // Kept with the window's other settings.
    let saved = serde_json::to_string(&r.harness.state().persisted).expect("serialises");
    let back: syncwatch::ui::Persisted = serde_json::from_str(&saved).expect("reads");
    assert!(!back.notifications.sign_in_needed);
}

/// A click on a notification selects its replica and brings the window up.
#[test]
fn a_click_brings_the_window_up_on_that_replica() {
    let (mut r, _, clicks) = rig_notifying(NotificationSettings::default());
    assert_eq!(r.harness.state().selected(), Some(fixtures::UP_TO_DATE));
    clicks.click(fixtures::NEEDS_RESET);
    r.harness.step();
    let commands = viewport_commands(&r.harness);
    assert!(
        commands.contains(&egui::ViewportCommand::Focus),
        "{commands:?}"
    );
    assert!(commands.contains(&egui::ViewportCommand::Minimized(false)));
    r.harness.run();
    assert_eq!(r.harness.state().selected(), Some(fixtures::NEEDS_RESET));
}
