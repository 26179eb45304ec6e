//! Predicted refusals in the window, against the real engine and the reference service: the grid
//! lists them next to the server's refusals, marked "predicted", with the catalog's guidance and
//! the same fix and drop actions; the replica's badge counts them as problems.

use crate::support::demo_data::{HYD_1, HYD_2, HYD_3};
use crate::support::ui::stack::{Stack, click, stack, wait_until};
use crate::support::ui::wizard::new_replica;
use egui_kittest::kittest::Queryable as _;
use serde_json::json;
use syncwatch::engine::{Command, Health, JobId, LocalEdit, LocalReplicaId};
use syncwatch::protocol::{Attributes, Guid, JobState};
use syncwatch::ui::Tab;

/// Queues an update of a demo hydrant through the engine, as the attribute editor would.
fn update(s: &mut Stack, replica: LocalReplicaId, global_id: &str, values: serde_json::Value) {
    let attributes: Attributes = values.as_object().expect("object").clone();
    s.runtime
        .block_on(s.handle.edit_feature(
            replica,
            0,
            LocalEdit::Update {
                global_id: Guid::parse(global_id).expect("GUID"),
                attributes,
                geometry: None,
            },
        ))
        .expect("record edit");
}

/// Waits until a sync started after `before` (the job shown before the click) has ended.
fn sync_finished(s: &mut Stack, replica: LocalReplicaId, before: Option<JobId>, what: &str) {
    wait_until(&mut s.h, what, |a| {
        a.vm.jobs
            .get(&replica)
            .is_some_and(|j| Some(j.job) != before && j.state.is_terminal())
            && a.vm.replica(replica).is_some_and(|r| !r.syncing)
    });
}

/// The job the window shows for `replica` now (a later one is the job just started).
fn shown_job(s: &Stack, replica: LocalReplicaId) -> Option<JobId> {
    s.h.state().vm.jobs.get(&replica).map(|j| j.job)
}

/// The snapshot index of the replica's predicted row with `code`.
fn predicted_row(s: &Stack, replica: LocalReplicaId, code: i64) -> u32 {
    s.h.state().vm.results[&replica]
        .iter()
        .position(|r| r.predicted && r.code == Some(code))
        .expect("predicted row") as u32
}

#[test]
fn predicted_refusals_show_in_the_grid_with_guidance_fix_and_drop() {
    let mut s = stack();
    new_replica(&mut s.h, &["Hydrants"], "Hydrants predicted");
    wait_until(&mut s.h, "the new replica", |a| {
        a.vm.replicas.len() == 1
            && !a.vm.replicas[0].syncing
            && a.vm.replicas[0].server_gen.is_some()
    });
    let replica = s.h.state().vm.replicas[0].id;

    // A change to a read-only field: predicted before anything is sent, and the badge counts it.
    update(&mut s, replica, HYD_3, json!({"AssetTag": "TAG-9"}));
    s.handle
        .try_send(Command::RefreshReplicas)
        .expect("queue refresh");
    wait_until(&mut s.h, "the first prediction", |a| {
        a.vm.replica(replica)
            .is_some_and(|r| r.predicted_failures == 1)
    });
    let summary = s.h.state().vm.replica(replica).cloned().expect("replica");
    assert_eq!((summary.failed_edits, summary.pending_changes), (0, 1));
    assert_eq!(
        summary.health(),
        Health::FailedEdits,
        "never 'pending' or green"
    );
    s.h.get_by_label_contains("1 pending local changes, 1 predicted");
    assert!(s.h.query_all_by_label("⚠ Failed edits").count() >= 1);

    // Synced anyway (the default): the server's refusal is now the real result (1023).
    let before = shown_job(&s, replica);
    click(&mut s.h, "⟳ Sync now");
    sync_finished(&mut s, replica, before, "the first sync");
    assert_eq!(
        s.h.state().vm.jobs[&replica].state,
        JobState::CompletedWithErrors
    );

    // Two edits not sent yet that break the service's rules.
    update(&mut s, replica, HYD_1, json!({"Status": null}));
    update(
        &mut s,
        replica,
        HYD_2,
        json!({"Notes": "<script>x</script>"}),
    );
    s.handle
        .try_send(Command::RefreshReplicas)
        .expect("queue refresh");
    wait_until(&mut s.h, "the predicted count", |a| {
        a.vm.replica(replica)
            .is_some_and(|r| r.predicted_failures == 2)
    });
    let summary = s.h.state().vm.replica(replica).cloned().expect("replica");
    assert_eq!(summary.health(), Health::FailedEdits);
    s.h.get_by_label_contains("1 failed, 2 predicted");
    assert!(s.h.query_all_by_label("⚠ Failed edits").count() >= 1);

    // The grid: the server's refusal and the two predictions, marked.
    s.h.state_mut().persisted.tab = Tab::Results;
    s.h.run_steps(3);
    if s.h.query_by_label("Load edit results").is_some() {
        click(&mut s.h, "Load edit results");
    }
    wait_until(&mut s.h, "the predicted rows", |a| {
        a.vm.results
            .get(&replica)
            .is_some_and(|rows| rows.iter().filter(|r| r.predicted).count() == 2)
    });
    s.h.run_steps(3);
    let rows = s.h.state().vm.results[&replica].clone();
    let real: Vec<_> = rows.iter().filter(|r| !r.success && !r.predicted).collect();
    assert_eq!(real.len(), 1);
    assert_eq!(real[0].code, Some(1023));
    assert_eq!(
        s.h.query_all_by_label("predicted").count(),
        2,
        "marked in their column"
    );
    // Drop the predicted 1006: the same confirmation as for a real refusal.
    let drop_row = predicted_row(&s, replica, 1006);
    s.h.state_mut().grid.selected = Some(drop_row);
    s.h.run_steps(3);
    s.h.get_by_label_contains("1006 – ");
    s.h.get_by_label_contains("Predicted locally from the service's rules");
    s.h.get_by_label("How to address it");
    click(&mut s.h, "Drop local edit…");
    click(&mut s.h, "Drop edit");
    wait_until(&mut s.h, "the dropped prediction to go", |a| {
        a.vm.results
            .get(&replica)
            .is_some_and(|rows| rows.iter().filter(|r| r.predicted).count() == 1)
    });

    // Fix the predicted 1001 in the attribute form and resend.
    s.h.run_steps(3);
    let fix_row = predicted_row(&s, replica, 1001);
    s.h.state_mut().grid.selected = Some(fix_row);
    s.h.run_steps(3);
    click(&mut s.h, "Fix and resend…");
    wait_until(&mut s.h, "the attribute form", |a| a.fix.is_some());
    assert_eq!(
        s.h.state()
            .fix
            .as_ref()
            .and_then(|f| f.form.refused.field.clone()),
        Some("Status".to_owned())
    );
    assert!(
        s.h.state()
            .fix
            .as_ref()
            .is_some_and(|f| f.form.refused.predicted),
        "the form says the refusal is predicted"
    );
    s.h.get_by_label_contains("Predicted: 1001");
    s.h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Status")
        .click();
    s.h.run_steps(3);
    click(&mut s.h, "Out of service");
    click(&mut s.h, "Save and sync now");
    wait_until(&mut s.h, "the resend", |a| {
        a.vm.replica(replica)
            .is_some_and(|r| r.predicted_failures == 0 && r.pending_changes == 1 && !r.syncing)
            && a.vm
                .jobs
                .get(&replica)
                .is_some_and(|j| j.state.is_terminal())
    });
    wait_until(&mut s.h, "the grid without predictions", |a| {
        a.vm.results
            .get(&replica)
            .is_some_and(|rows| rows.iter().all(|r| !r.predicted))
    });
    let summary = s.h.state().vm.replica(replica).cloned().expect("replica");
    assert_eq!(
        summary.failed_edits, 1,
        "the read-only change is still refused"
    );
}
