//! The conflicts compare view (issue 20) on the test channel: the "Conflicts" chip beside the
//! series, the three columns per conflicting field with the server's editor, and per-field and
//! whole-feature resolutions sent as `Command::ResolveConflict`; the policy control in the
//! replica overview sends `Command::SetConflictPolicy`.

use crate::support::ui::rig;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use serde_json::json;
use syncwatch::engine::{Command, ConflictPolicy, Event, FieldChoice, Resolution, Side};
use syncwatch::protocol::Guid;
use syncwatch::ui::fixtures::{self, conflicts::CONFLICT_DELETED, conflicts::CONFLICT_HYDRANT};

fn resolutions(commands: Vec<Command>) -> Vec<(Guid, Resolution)> {
    commands
        .into_iter()
        .filter_map(|c| match c {
            Command::ResolveConflict {
                global_id,
                resolution,
                ..
            } => Some((global_id, resolution)),
            _ => None,
        })
        .collect()
}

#[test]
fn compare_view_shows_three_columns_and_sends_per_field_resolutions() {
    let mut r = rig();
    r.open_failing_results();
    r.take_commands();
    r.push([Event::ConflictsReady {
        replica: fixtures::FAILING,
        policy: ConflictPolicy::Ask,
        conflicts: fixtures::conflicts(),
    }]);
    r.click("Conflicts (2)");

    for text in [
        "Started from",
        "Mine",
        "Server",
        "Low pressure zone",
        "Flushed, cap replaced",
        "Valve stuck: do not flush",
        "Server edit by office.editor",
        "(deleted)",
    ] {
        assert!(
            r.harness.query_all_by_label_contains(text).next().is_some(),
            "{text} is shown"
        );
    }

    // Per field: take the server's Notes.
    r.harness
        .query_all_by_role_and_label(Role::Button, "Take server")
        .next()
        .expect("a Take server button")
        .click();
    r.harness.run();
    let hydrant = Guid::parse(CONFLICT_HYDRANT).unwrap();
    assert_eq!(
        resolutions(r.take_commands()),
        vec![(
            hydrant.clone(),
            Resolution::Fields(vec![("Notes".into(), FieldChoice::Server)])
        )]
    );

    // Per field: edit the flow (650, a 0 typed after it) to a value of its own, sent as a number
    // as the field holds numbers.
    r.harness
        .query_all_by_role_and_label(Role::Button, "Edit")
        .nth(1)
        .expect("the flow's Edit button")
        .click();
    r.harness.run();
    let input = r
        .harness
        .get_by_role_and_label(Role::TextInput, "New value");
    input.click();
    r.harness.run();
    r.harness
        .get_by_role_and_label(Role::TextInput, "New value")
        .type_text("0");
    r.harness.run();
    r.click("Use value");
    assert_eq!(
        resolutions(r.take_commands()),
        vec![(
            hydrant,
            Resolution::Fields(vec![("Flow_GPM".into(), FieldChoice::Value(json!(6500)))])
        )]
    );

    // Whole feature: keep mine for the deleted inspection (the second feature's button).
    r.harness
        .query_all_by_role_and_label(Role::Button, "Keep mine for the feature")
        .nth(1)
        .expect("the inspection's whole-feature button")
        .click();
    r.harness.run();
    assert_eq!(
        resolutions(r.take_commands()),
        vec![(
            Guid::parse(CONFLICT_DELETED).unwrap(),
            Resolution::Whole(Side::Mine)
        )]
    );
}
