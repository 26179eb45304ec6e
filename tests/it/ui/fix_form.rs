//! The attribute fix form end to end (issue 19): the window on the real engine and the reference
//! service (the demo water network), local edits the service refuses, then fixed in the form —
//! a 1016 coded-domain value by picking a name from the list, a 1001 by typing, a date with the
//! date picker, a 1023 with "Use server value", a 1014 by entering z — each resend accepted and
//! the rows gone from the failed list; live validation naming the predicted code for an
//! out-of-range value and clearing once fixed; one field set for three 1001 rows; two edits
//! dropped with one confirmation; a refused geometry change (1004) taken back with "Keep the
//! server's geometry".

use crate::support::demo_data::{HYD_3, VLV_1, attrs, gid};
use crate::support::ui::stack::{Stack, click, stack, type_into, wait_until};
use crate::support::ui::wizard::new_replica;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use serde_json::json;
use syncwatch::engine::{LocalEdit, LocalReplicaId};
use syncwatch::protocol::{Guid, JobState};
use syncwatch::ui::Tab;

/// A replica of the Hydrants and Valves layers, made through the New replica wizard.
fn replica(s: &mut Stack, name: &str) -> LocalReplicaId {
    new_replica(&mut s.h, &["Hydrants", "Valves"], name);
    wait_until(&mut s.h, "the new replica", |a| {
        a.vm.replicas.len() == 1
            && !a.vm.replicas[0].syncing
            && a.vm.replicas[0].server_gen.is_some()
    });
    s.h.state().vm.replicas[0].id
}

fn edit(s: &mut Stack, replica: LocalReplicaId, layer_id: i64, edit: LocalEdit) {
    s.runtime
        .block_on(s.handle.edit_feature(replica, layer_id, edit))
        .expect("record edit");
}

fn add(
    s: &mut Stack,
    replica: LocalReplicaId,
    layer: i64,
    values: serde_json::Value,
    geometry: serde_json::Value,
) {
    edit(
        s,
        replica,
        layer,
        LocalEdit::Add {
            attributes: attrs(values),
            geometry: Some(geometry),
        },
    );
}

/// Syncs through the toolbar and waits for the job and the replica to settle.
fn sync(s: &mut Stack, replica: LocalReplicaId, what: &str) -> JobState {
    let before = s.h.state().vm.jobs.get(&replica).map(|j| j.job);
    click(&mut s.h, "⟳ Sync now");
    wait_until(&mut s.h, what, |a| {
        a.vm.jobs
            .get(&replica)
            .is_some_and(|j| Some(j.job) != before && j.state.is_terminal())
            && a.vm.replica(replica).is_some_and(|r| !r.syncing)
    });
    s.h.state().vm.jobs[&replica].state.clone()
}

/// Shows the edit results and waits until `done` holds for them.
fn results(
    s: &mut Stack,
    replica: LocalReplicaId,
    what: &str,
    done: impl Fn(&[syncwatch::engine::EditResultRecord]) -> bool,
) {
    s.h.state_mut().persisted.tab = Tab::Results;
    s.h.run_steps(3);
    if s.h.query_by_label("Load edit results").is_some() {
        click(&mut s.h, "Load edit results");
    }
    wait_until(&mut s.h, what, |a| {
        a.vm.results.get(&replica).is_some_and(|rows| done(rows))
    });
    s.h.run_steps(3);
}

/// The refused (not predicted) row of this edit, if it is in the results.
fn refused_code(s: &Stack, replica: LocalReplicaId, global_id: &Guid) -> Option<i64> {
    s.h.state().vm.results.get(&replica).and_then(|rows| {
        rows.iter()
            .find(|r| !r.success && r.global_id.as_ref() == Some(global_id))
            .and_then(|r| r.code)
    })
}

/// Selects the edit's row in the grid and opens its form.
fn open_form(s: &mut Stack, global_id: &Guid) {
    let row = s.h.state().grid.rows().and_then(|rows| {
        rows.iter()
            .position(|r| !r.success && r.global_id.as_ref() == Some(global_id))
    });
    s.h.state_mut().grid.selected = Some(row.expect("the refused row") as u32);
    s.h.run_steps(3);
    // The detail pane loads the attributes (local beside server); let it settle first.
    wait_until(&mut s.h, "the detail pane's attributes", |a| {
        a.grid
            .compare
            .as_ref()
            .is_some_and(|f| &f.global_id == global_id)
    });
    click(&mut s.h, "Fix and resend…");
    wait_until(&mut s.h, "the attribute form", |a| {
        a.fix
            .as_ref()
            .is_some_and(|f| &f.form.global_id == global_id)
    });
    // The modal centres itself a frame after it opens.
    s.h.run_steps(3);
}

fn verdict(s: &Stack) -> Option<i64> {
    s.h.state()
        .fix
        .as_ref()
        .and_then(|f| f.verdict.as_ref().map(|r| r.code))
}

#[test]
fn refusals_fixed_in_the_form_are_accepted_by_the_service() {
    let mut s = stack();
    let replica = replica(&mut s, "Fix form");
    let coded = gid("{A1000000-0000-4000-8000-000000000016}");
    let typed = gid("{A1000000-0000-4000-8000-000000000001}");
    let valve = gid("{A1000000-0000-4000-8000-000000000014}");
    let hydrant3 = gid(HYD_3);
    // 1016: a status the coded-value domain does not list.
    add(
        &mut s,
        replica,
        0,
        json!({"GlobalID": coded.as_str(), "FacilityID": "HYD-F-16", "Status": "BROKEN"}),
        json!({"x": -122.66, "y": 45.52}),
    );
    // 1001: no FacilityID; its InstallDate is then set with the date picker.
    add(
        &mut s,
        replica,
        0,
        json!({"GlobalID": typed.as_str(), "FacilityID": null, "Status": "IS", "InstallDate": 964_569_600_000_i64}),
        json!({"x": -122.65, "y": 45.52}),
    );
    // 1023: a change to the read-only AssetTag.
    edit(
        &mut s,
        replica,
        0,
        LocalEdit::Update {
            global_id: hydrant3.clone(),
            attributes: attrs(json!({"AssetTag": "TAG-CHANGED", "Notes": "Checked by crew F"})),
            geometry: None,
        },
    );
    // 1014: a valve without z on the z-enabled Valves layer.
    add(
        &mut s,
        replica,
        1,
        json!({"GlobalID": valve.as_str(), "ValveID": "VLV-F-14", "Diameter_mm": 150, "Depth": 1.2}),
        json!({"x": -122.64, "y": 45.53}),
    );
    assert_eq!(
        sync(&mut s, replica, "the first sync"),
        JobState::CompletedWithErrors
    );
    results(&mut s, replica, "the four refusals", |rows| {
        rows.iter().filter(|r| !r.success && !r.predicted).count() == 4
    });
    assert_eq!(refused_code(&s, replica, &coded), Some(1016));
    assert_eq!(refused_code(&s, replica, &typed), Some(1001));
    assert_eq!(refused_code(&s, replica, &hydrant3), Some(1023));
    assert_eq!(refused_code(&s, replica, &valve), Some(1014));

    // 1016: the list of names; the code is stored.
    open_form(&mut s, &coded);
    s.h.get_by_label_contains("Refused: 1016");
    assert_eq!(
        s.h.state()
            .fix
            .as_ref()
            .and_then(|f| f.value("Status").cloned()),
        Some(json!("BROKEN"))
    );
    assert_eq!(verdict(&s), Some(1016));
    s.h.get_by_role_and_label(Role::ComboBox, "Status").click();
    s.h.run_steps(3);
    click(&mut s.h, "Out of service");
    assert_eq!(verdict(&s), None);
    s.h.get_by_label("✔ The service would accept this.");
    click(&mut s.h, "Save fix");
    wait_until(&mut s.h, "the form to close", |a| a.fix.is_none());

    // 1001 by typing, and a date set with the picker.
    open_form(&mut s, &typed);
    s.h.get_by_label_contains("Refused: 1001");
    assert_eq!(verdict(&s), Some(1001));
    type_into(&mut s.h, "FacilityID", "HYD-F-01");
    assert_eq!(verdict(&s), None);
    // The picker's button is labelled by the field; its text is the date.
    s.h.get_by_role_and_label(Role::Button, "InstallDate")
        .click();
    s.h.run_steps(3);
    s.h.get_by_role_and_label(Role::Button, "15").click();
    s.h.run_steps(3);
    s.h.get_by_role_and_label(Role::Button, "Save").click();
    s.h.run_steps(3);
    let july_15 = 963_619_200_000_i64; // 2000-07-15 00:00 UTC
    assert_eq!(
        s.h.state()
            .fix
            .as_ref()
            .and_then(|f| f.value("InstallDate").cloned()),
        Some(json!(july_15))
    );
    click(&mut s.h, "Save fix");
    wait_until(&mut s.h, "the form to close", |a| a.fix.is_none());

    // 1023: "Use server value" puts the server's AssetTag back; the other change stays.
    open_form(&mut s, &hydrant3);
    s.h.get_by_label_contains("Refused: 1023");
    assert_eq!(verdict(&s), Some(1023));
    s.h.get_by_label("TAG-CHANGED");
    // Both changed fields offer it; only the refused one is taken back.
    s.h.get_by_label("Use server value for Notes");
    click(&mut s.h, "Use server value for AssetTag");
    assert_eq!(verdict(&s), None);
    assert_eq!(
        s.h.state()
            .fix
            .as_ref()
            .and_then(|f| f.value("AssetTag").cloned()),
        Some(json!("WTR-H00003"))
    );
    click(&mut s.h, "Save fix");
    wait_until(&mut s.h, "the form to close", |a| a.fix.is_none());

    // 1014: z typed in for the valve's one vertex, then saved and synced at once.
    open_form(&mut s, &valve);
    s.h.get_by_label_contains("Refused: 1014");
    assert_eq!(verdict(&s), Some(1014));
    type_into(&mut s.h, "z 1", "12.5");
    assert_eq!(verdict(&s), None);
    let before = s.h.state().vm.jobs.get(&replica).map(|j| j.job);
    click(&mut s.h, "Save and sync now");
    wait_until(&mut s.h, "the resend", |a| {
        a.vm.jobs
            .get(&replica)
            .is_some_and(|j| Some(j.job) != before && j.state.is_terminal())
            && a.vm.replica(replica).is_some_and(|r| !r.syncing)
    });
    assert_eq!(s.h.state().vm.jobs[&replica].state, JobState::Completed);
    results(&mut s, replica, "no refusal left", |rows| {
        rows.iter().all(|r| r.success)
    });
    for g in [&coded, &typed, &hydrant3, &valve] {
        assert_eq!(
            refused_code(&s, replica, g),
            None,
            "{g} left the failed list"
        );
    }
    let summary = s.h.state().vm.replica(replica).cloned().expect("replica");
    assert_eq!((summary.failed_edits, summary.pending_changes), (0, 0));
}

#[test]
fn live_validation_names_the_code_until_the_value_is_in_range() {
    let mut s = stack();
    let replica = replica(&mut s, "Live validation");
    let flow = gid("{B1000000-0000-4000-8000-000000000016}");
    add(
        &mut s,
        replica,
        0,
        json!({"GlobalID": flow.as_str(), "FacilityID": "HYD-L-1", "Status": "IS", "Flow_GPM": 9999.0}),
        json!({"x": -122.63, "y": 45.51}),
    );
    assert_eq!(
        sync(&mut s, replica, "the sync"),
        JobState::CompletedWithErrors
    );
    results(&mut s, replica, "the refusal", |rows| {
        rows.iter().any(|r| !r.success)
    });
    open_form(&mut s, &flow);
    // Before anything is sent: the code the service would answer.
    assert_eq!(verdict(&s), Some(1016));
    s.h.get_by_label_contains("Would still be refused: 1016 Setting of value for Flow_GPM failed.");
    // The bounded editor: typed into, the value lands inside the range.
    let label = "Flow GPM (Flow_GPM)";
    s.h.get_by_role_and_label(Role::SpinButton, label).click();
    s.h.run_steps(2);
    s.h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    s.h.get_by_role_and_label(Role::SpinButton, label)
        .type_text("1200");
    s.h.key_press(egui::Key::Enter);
    s.h.run_steps(3);
    assert_eq!(
        s.h.state()
            .fix
            .as_ref()
            .and_then(|f| f.value("Flow_GPM").and_then(|v| v.as_f64())),
        Some(1200.0)
    );
    assert_eq!(verdict(&s), None);
    s.h.get_by_label("✔ The service would accept this.");
    let before = s.h.state().vm.jobs.get(&replica).map(|j| j.job);
    click(&mut s.h, "Save and sync now");
    wait_until(&mut s.h, "the resend", |a| {
        a.vm.jobs
            .get(&replica)
            .is_some_and(|j| Some(j.job) != before && j.state.is_terminal())
    });
    assert_eq!(s.h.state().vm.jobs[&replica].state, JobState::Completed);
}

/// Ctrl+clicks the rows of these edits in the grid (the first a plain click).
fn select_rows(s: &mut Stack, global_ids: &[Guid]) {
    for (i, g) in global_ids.iter().enumerate() {
        let node = s.h.get_by_label(g.as_str());
        if i == 0 {
            node.click();
        } else {
            node.click_modifiers(egui::Modifiers::COMMAND);
        }
        s.h.run_steps(3);
    }
    assert_eq!(s.h.state().grid.marked.len(), global_ids.len());
}

#[test]
fn one_field_set_for_three_refused_edits() {
    let mut s = stack();
    let replica = replica(&mut s, "Bulk fix");
    let valves: Vec<Guid> = (1..=3)
        .map(|i| gid(&format!("{{C1000000-0000-4000-8000-00000000000{i}}}")))
        .collect();
    for (i, g) in valves.iter().enumerate() {
        add(
            &mut s,
            replica,
            1,
            json!({"GlobalID": g.as_str(), "ValveID": format!("VLV-B-{i}"), "Diameter_mm": 150, "Depth": null}),
            json!({"x": -122.64 + 0.001 * i as f64, "y": 45.53, "z": 10.0}),
        );
    }
    assert_eq!(
        sync(&mut s, replica, "the sync"),
        JobState::CompletedWithErrors
    );
    results(&mut s, replica, "three 1001 refusals", |rows| {
        rows.iter().filter(|r| r.code == Some(1001)).count() == 3
    });
    select_rows(&mut s, &valves);
    s.h.get_by_label("3 edits selected");
    click(&mut s.h, "Set Depth for 3 edits…");
    wait_until(&mut s.h, "the bulk form", |a| a.bulk_fix.is_some());
    s.h.run_steps(3);
    s.h.get_by_label("Set Depth for 3 edits");
    s.h.get_by_label("3 of 3 would still be refused:");
    type_into(&mut s.h, "Depth", "1.5");
    s.h.get_by_label("✔ The service would accept all 3 edits.");
    let before = s.h.state().vm.jobs.get(&replica).map(|j| j.job);
    click(&mut s.h, "Set and sync now");
    wait_until(&mut s.h, "the resend", |a| {
        a.vm.jobs
            .get(&replica)
            .is_some_and(|j| Some(j.job) != before && j.state.is_terminal())
            && a.vm.replica(replica).is_some_and(|r| !r.syncing)
    });
    assert_eq!(s.h.state().vm.jobs[&replica].state, JobState::Completed);
    results(&mut s, replica, "no refusal left", |rows| {
        rows.iter().all(|r| r.success)
    });
    let summary = s.h.state().vm.replica(replica).cloned().expect("replica");
    assert_eq!((summary.failed_edits, summary.pending_changes), (0, 0));
}

#[test]
fn two_edits_dropped_with_one_confirmation() {
    let mut s = stack();
    let replica = replica(&mut s, "Bulk drop");
    let hydrant = gid("{D1000000-0000-4000-8000-000000000001}");
    let valve = gid("{D1000000-0000-4000-8000-000000000002}");
    let kept = gid("{D1000000-0000-4000-8000-000000000003}");
    add(
        &mut s,
        replica,
        0,
        json!({"GlobalID": hydrant.as_str(), "FacilityID": "HYD-D-1", "Status": "IS", "Notes": "<script>x</script>"}),
        json!({"x": -122.62, "y": 45.51}),
    );
    add(
        &mut s,
        replica,
        1,
        json!({"GlobalID": valve.as_str(), "ValveID": "VLV-D-1", "Diameter_mm": 150, "Depth": 1.0}),
        json!({"x": -122.62, "y": 45.52}),
    );
    add(
        &mut s,
        replica,
        0,
        json!({"GlobalID": kept.as_str(), "FacilityID": null, "Status": "IS"}),
        json!({"x": -122.62, "y": 45.53}),
    );
    assert_eq!(
        sync(&mut s, replica, "the sync"),
        JobState::CompletedWithErrors
    );
    results(&mut s, replica, "three refusals", |rows| {
        rows.iter().filter(|r| !r.success).count() == 3
    });
    select_rows(&mut s, &[hydrant.clone(), valve.clone()]);
    click(&mut s.h, "Drop 2 local edits…");
    s.h.run_steps(3);
    s.h.get_by_label("Drop 2 local edits?");
    s.h.get_by_label("In Hydrants, Valves.");
    click(&mut s.h, "Keep edits");
    assert!(s.h.state().bulk_drop.is_none());
    assert_eq!(
        s.h.state().vm.replica(replica).map(|r| r.pending_changes),
        Some(3)
    );
    click(&mut s.h, "Drop 2 local edits…");
    s.h.run_steps(3);
    click(&mut s.h, "Drop 2 edits");
    wait_until(&mut s.h, "the two rows to go", |a| {
        a.vm.results
            .get(&replica)
            .is_some_and(|rows| rows.iter().filter(|r| !r.success).count() == 1)
            && a.vm
                .replica(replica)
                .is_some_and(|r| r.pending_changes == 1)
    });
    assert_eq!(
        refused_code(&s, replica, &kept),
        Some(1001),
        "the third stays"
    );
    assert_eq!(refused_code(&s, replica, &hydrant), None);
    assert_eq!(refused_code(&s, replica, &valve), None);
}

#[test]
fn a_refused_geometry_change_is_taken_back_with_the_servers_geometry() {
    let mut s = stack();
    let replica = replica(&mut s, "Keep geometry");
    let valve = gid(VLV_1);
    // Valves do not allow geometry updates: a moved valve is refused with 1004.
    edit(
        &mut s,
        replica,
        1,
        LocalEdit::Update {
            global_id: valve.clone(),
            attributes: attrs(json!({"Turns": 12})),
            geometry: Some(json!({"x": -122.6952, "y": 45.5421, "z": 51.3})),
        },
    );
    assert_eq!(
        sync(&mut s, replica, "the sync"),
        JobState::CompletedWithErrors
    );
    results(&mut s, replica, "the refusal", |rows| {
        rows.iter().any(|r| r.code == Some(1004))
    });
    open_form(&mut s, &valve);
    s.h.get_by_label_contains("Refused: 1004");
    assert_eq!(verdict(&s), Some(1004));
    assert_eq!(
        s.h.query_all_by_label("The local geometry differs from the server's.")
            .count(),
        2,
        "said in the form and in the detail pane behind it"
    );
    click(&mut s.h, "Keep the server's geometry");
    assert_eq!(verdict(&s), None);
    let before = s.h.state().vm.jobs.get(&replica).map(|j| j.job);
    click(&mut s.h, "Save and sync now");
    wait_until(&mut s.h, "the resend", |a| {
        a.vm.jobs
            .get(&replica)
            .is_some_and(|j| Some(j.job) != before && j.state.is_terminal())
            && a.vm.replica(replica).is_some_and(|r| !r.syncing)
    });
    assert_eq!(s.h.state().vm.jobs[&replica].state, JobState::Completed);
    results(&mut s, replica, "no refusal left", |rows| {
        rows.iter().all(|r| r.success)
    });
    let summary = s.h.state().vm.replica(replica).cloned().expect("replica");
    assert_eq!((summary.failed_edits, summary.pending_changes), (0, 0));
}
