//! The window against the real engine and the reference service (loopback, temp dirs): create a
//! replica through "Connect to service", make a local edit the server refuses, sync, find the
//! refused edit in the grid (the window's title counting it), fix it in the attribute form and
//! resend, and see it disappear.

use crate::support::ui::stack::{click, stack, type_into, wait_until};
use crate::support::ui::wizard::new_replica;
use egui_kittest::kittest::Queryable as _;
use syncwatch::engine::{Command, LocalEdit};
use syncwatch::protocol::JobState;
use syncwatch::ui::Tab;

#[test]
fn fix_a_refused_edit_end_to_end() {
    let mut s = stack();
    let handle = s.handle.clone();
    let h = &mut s.h;

    // Create a replica of the demo service through the dialog.
    new_replica(h, &["Hydrants"], "Hydrants e2e");
    wait_until(h, "the new replica", |a| {
        a.vm.replicas.len() == 1
            && !a.vm.replicas[0].syncing
            && a.vm.replicas[0].server_gen.is_some()
    });
    let replica = h.state().vm.replicas[0].id;
    assert_eq!(h.state().selected(), Some(replica));

    // A local add without the non-nullable FacilityID: the server refuses it (1001).
    let mut attributes = syncwatch::protocol::Attributes::new();
    attributes.insert("FacilityID".into(), serde_json::Value::Null);
    attributes.insert("Status".into(), serde_json::json!("IS"));
    let summary = s
        .runtime
        .block_on(handle.edit_feature(
            replica,
            0,
            LocalEdit::Add {
                attributes,
                geometry: Some(serde_json::json!({"x": -122.64, "y": 45.52})),
            },
        ))
        .expect("record edit");
    assert_eq!(summary.pending_changes, 1);
    // The engine answers edit_feature directly; ask for the summary the UI shows.
    handle
        .try_send(Command::RefreshReplicas)
        .expect("queue refresh");
    // The add is predicted to be refused: the window's title (and taskbar entry) says so.
    assert_eq!(next_title(h), "Syncwatch — 1 replica needs attention");
    wait_until(h, "the pending edit", |a| {
        a.vm.replica(replica)
            .is_some_and(|r| r.pending_changes == 1)
    });

    // The create job's view is still there: wait for the sync's own job to end.
    let create_job = h.state().vm.jobs.get(&replica).map(|j| j.job);
    click(h, "⟳ Sync now");
    wait_until(h, "the sync to finish", |a| {
        a.vm.jobs
            .get(&replica)
            .is_some_and(|j| Some(j.job) != create_job && j.state.is_terminal())
            && a.vm.replica(replica).is_some_and(|r| !r.syncing)
    });
    assert_eq!(
        h.state().vm.jobs[&replica].state,
        JobState::CompletedWithErrors,
        "{:?}",
        h.state().vm.jobs[&replica]
    );
    wait_until(h, "the refused edit in the results", |a| {
        a.vm.results
            .get(&replica)
            .is_some_and(|rows| rows.iter().any(|r| r.code == Some(1001)))
    });

    // Find it in the grid, fix it and resend.
    h.state_mut().persisted.tab = Tab::Results;
    h.run_steps(3);
    click(h, "1000 feature");
    assert_eq!(h.state().grid.indices.len(), 1);
    let row = h.state().grid.indices[0];
    h.state_mut().grid.selected = Some(row);
    h.run_steps(3);
    h.get_by_label_contains("1001 – ");
    click(h, "Fix and resend…");
    wait_until(h, "the attribute form", |a| a.fix.is_some());
    assert_eq!(
        h.state()
            .fix
            .as_ref()
            .and_then(|f| f.form.refused.field.clone()),
        Some("FacilityID".to_owned())
    );
    type_into(h, "FacilityID", "HYD-E2E-1");
    h.get_by_label("✔ The service would accept this.");
    click(h, "Save and sync now");
    wait_until(h, "the resend to finish", |a| {
        a.vm.jobs
            .get(&replica)
            .is_some_and(|j| j.state == JobState::Completed)
            && a.vm.replica(replica).is_some_and(|r| !r.syncing)
    });
    wait_until(h, "the refused edit to be gone", |a| {
        a.vm.results
            .get(&replica)
            .is_some_and(|rows| rows.iter().all(|r| r.success))
    });
    h.run_steps(3);
    assert_eq!(
        h.state().grid.indices.len(),
        0,
        "nothing left in the 1000 series"
    );
    let summary = h.state().vm.replica(replica).cloned().expect("replica");
    assert_eq!(summary.failed_edits, 0);
    assert_eq!(summary.pending_changes, 0);
    assert_eq!(summary.health(), syncwatch::engine::Health::UpToDate);
    assert!(h.query_all_by_label("✔ Up to date").count() >= 1);
    assert_eq!(
        h.state().title(),
        "Syncwatch",
        "nothing needs attention any more"
    );
}

/// Steps the window until it sends a new title to the viewport, and returns that title.
fn next_title(h: &mut egui_kittest::Harness<'static, syncwatch::ui::SyncwatchApp>) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        h.step();
        let sent = h
            .output()
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .and_then(|v| {
                v.commands.iter().find_map(|c| match c {
                    egui::ViewportCommand::Title(t) => Some(t.clone()),
                    _ => None,
                })
            });
        if let Some(title) = sent {
            return title;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for a new window title"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A real client reset through the window: the service terminates and re-enables sync, the next
/// sync needs a reset, the manual mode opens the confirmation modal, "Back up and reset" runs it
/// and the summary window reports what happened.
#[test]
fn manual_client_reset_through_the_modal() {
    let mut s = stack();
    let handle = s.handle.clone();
    let (base_url, admin_key) = {
        let server = s.server.as_ref().expect("server");
        (server.base_url().to_owned(), server.admin_key().to_owned())
    };
    let h = &mut s.h;
    new_replica(h, &["Hydrants"], "Hydrants reset");
    wait_until(h, "the new replica", |a| {
        a.vm.replicas.len() == 1
            && !a.vm.replicas[0].syncing
            && a.vm.replicas[0].server_gen.is_some()
    });
    let replica = h.state().vm.replicas[0].id;
    handle
        .try_send(Command::SetResetMode {
            replica,
            mode: syncwatch::engine::ResetMode::Manual,
        })
        .expect("queue");
    wait_until(h, "manual mode", |a| {
        a.vm.replica(replica)
            .is_some_and(|r| r.reset_mode == syncwatch::engine::ResetMode::Manual)
    });

    // The service administrator terminates and re-enables sync.
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
    let h = &mut s.h;
    click(h, "⟳ Sync now");
    wait_until(h, "the reset confirmation", |a| {
        a.vm.pending_reset.is_some()
    });
    h.get_by_label("Back up and reset");
    h.get_by_label_contains("Client reset: Hydrants reset");
    click(h, "Back up and reset");
    wait_until(h, "the reset to finish", |a| {
        !a.vm.reset_summaries.is_empty()
    });
    h.get_by_label_contains("Reset finished: Hydrants reset");
    click(h, "Close");
    wait_until(h, "the replica to sync again", |a| {
        a.vm.replica(replica)
            .is_some_and(|r| r.reset_reason.is_none() && !r.syncing)
    });
}
