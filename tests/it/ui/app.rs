//! UI tests through egui_kittest and the AccessKit tree: no engine, no display. Each test pushes
//! engine `Event`s into the app and checks what it shows and which `Command`s it sends.

use crate::support::ui::{RigOptions, rig, rig_with};
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use std::path::PathBuf;
use syncwatch::engine::{Command, Event, Health, JobId, PredictedPolicy, ResetMode};
use syncwatch::ui::fixtures;

/// Clicking a replica in the list selects it and shows its overview and health.
#[test]
fn selecting_a_replica_shows_its_overview() {
    let mut r = rig();
    assert_eq!(r.harness.state().selected(), Some(fixtures::UP_TO_DATE));
    r.select_replica("Parcel inspections");
    assert_eq!(r.harness.state().selected(), Some(fixtures::FAILING));
    // Health badge: never green while edits failed.
    let failing = r.harness.state().vm.replica(fixtures::FAILING).cloned();
    assert_eq!(failing.map(|s| s.health()), Some(Health::FailedEdits));
    assert!(
        r.harness
            .query_all_by_label_contains("Failed edits")
            .count()
            >= 2
    );
    r.harness
        .get_by_label("layer 0: 17, layer 1: 9, layer 2: 5");
    r.harness.get_by_label_contains("failed edits, 1 predicted");
    // At start the first replica was selected and its results (not pushed) were asked for.
    assert!(
        r.startup_commands.contains(&Command::LoadEditResults {
            replica: fixtures::UP_TO_DATE
        }),
        "{:?}",
        r.startup_commands
    );
    assert!(r.startup_commands.contains(&Command::RefreshReplicas));
    // The failing replica's results were already delivered: nothing asked again.
    assert!(r.take_commands().is_empty());
}

/// Each series chip filters the grid to its rows.
#[test]
fn grid_filters_by_each_series() {
    let mut r = rig();
    r.open_failing_results();
    r.harness.get_by_label("11 of 11 rows");
    let cases = [
        ("1000 feature", 4, "1204", "88"),
        ("2000 layer", 3, "88", "1204"),
        ("3000 replica", 0, "0 of 11 rows", "1204"),
        ("Succeeded", 4, "1160", "1204"),
        ("All", 11, "1204", "no such label"),
    ];
    for (chip, count, present, absent) in cases {
        r.click(chip);
        assert_eq!(r.harness.state().grid.indices.len(), count, "{chip}");
        r.harness.get_by_label(&format!("{count} of 11 rows"));
        assert!(
            r.harness.query_by_label(present).is_some(),
            "{chip}: {present} should show"
        );
        assert!(
            r.harness.query_by_label(absent).is_none(),
            "{chip}: {absent} should be hidden"
        );
    }
    // Every cell sits under its own header: the code under "Code", the layer under "Layer".
    r.click("1000 feature");
    let columns = [
        ("Code", "1001"),
        ("Layer", "Parcels"),
        ("Change", "update"),
        ("Object", "feature"),
    ];
    for (header, cell) in columns {
        let header_x = r.harness.get_by_label(header).rect().left();
        let cell_x = r
            .harness
            .query_all_by_label(cell)
            .next()
            .unwrap_or_else(|| panic!("no cell {cell}"))
            .rect()
            .left();
        assert!(
            (header_x - cell_x).abs() < 12.0,
            "{cell} at x={cell_x} is not under {header} at x={header_x}"
        );
    }
}

/// Sorting by a header and searching narrow and order the rows; indices are rebuilt only on change.
#[test]
fn sort_search_and_no_per_frame_rebuild() {
    let mut r = rig();
    r.open_failing_results();
    let rebuilds = r.harness.state().grid.rebuilds;
    r.harness.run_steps(5);
    assert_eq!(
        r.harness.state().grid.rebuilds,
        rebuilds,
        "no rebuild per frame"
    );
    r.click("Code");
    let rows = r.harness.state().grid.rows().cloned().expect("snapshot");
    let codes = |r: &crate::support::ui::Rig| -> Vec<Option<i64>> {
        r.harness
            .state()
            .grid
            .indices
            .iter()
            .map(|&i| rows[i as usize].code)
            .collect()
    };
    let ascending = codes(&r);
    assert!(ascending.windows(2).all(|w| w[0] <= w[1]), "{ascending:?}");
    r.click("Code ⏶");
    let descending = codes(&r);
    assert!(
        descending.windows(2).all(|w| w[0] >= w[1]),
        "{descending:?}"
    );
    r.harness.get_by_label("Code ⏷");
    r.harness.state_mut().grid.filter.search = "zoning".into();
    r.harness.run();
    assert_eq!(r.harness.state().grid.indices.len(), 1);
    r.harness.get_by_label("1221");
}

/// A failed edit's detail pane shows the catalog guidance; "Fix and resend…" asks the engine for
/// the attribute form, which opens with the layer's fields; picking a name from the coded-value
/// list clears the live validation, and "Save and sync now" sends FixEdit (only what differs
/// from the server) then SyncNow; once a successful sync's results arrive the row is gone.
#[test]
fn fix_and_resend_a_failed_edit() {
    use egui::accesskit::Role;
    let mut r = rig();
    r.open_failing_results();
    r.click("1000 feature");
    r.click("1204");
    let fixed_guid = fixtures::failing_results()[0]
        .global_id
        .clone()
        .expect("guid");
    assert_eq!(r.harness.state().grid.selected, Some(0));
    r.harness.get_by_label("1001 – Field is not nullable");
    r.harness.get_by_label(
        "Set a value for the non-nullable field on the features listed, then resend.",
    );
    r.harness.get_by_label("What the client should do");
    // The detail pane asked for the attributes; local beside server once they arrive.
    let commands = r.take_commands();
    assert!(
        commands.iter().any(|c| matches!(c, Command::LoadFixForm { edits, .. } if edits == &vec![(0, fixed_guid.clone())])),
        "{commands:?}"
    );
    r.push([Event::FixFormLoaded {
        replica: fixtures::FAILING,
        forms: vec![fixtures::fix_form()],
    }]);
    r.harness.get_by_label("Attributes");
    r.harness.get_by_label("Pending");

    r.click("Fix and resend…");
    let commands = r.take_commands();
    assert!(
        matches!(commands.as_slice(), [Command::LoadFixForm { replica, edits }] if *replica == fixtures::FAILING && edits == &vec![(0, fixed_guid.clone())]),
        "{commands:?}"
    );
    assert!(
        r.harness.state().fix.is_none(),
        "opens when the form arrives"
    );
    r.push([Event::FixFormLoaded {
        replica: fixtures::FAILING,
        forms: vec![fixtures::fix_form()],
    }]);
    r.harness.get_by_label("Fix and resend");
    r.harness
        .get_by_label_contains("Would still be refused: 1001");
    // Every field of the layer, the read-only ones locked.
    r.harness.get_by_label("🔒 1204");
    r.harness.get_by_label("🔒 312500.0");
    r.harness
        .get_by_role_and_label(Role::ComboBox, "Status (STATUS)")
        .click();
    r.harness.run();
    r.click("Active");
    r.harness.get_by_label("✔ The service would accept this.");
    r.harness.get_by_label("changed");
    r.click("Save and sync now");
    let commands = r.take_commands_but_map_loads();
    assert_eq!(commands.len(), 4, "{commands:?}");
    assert!(
        matches!(&commands[2], Command::LoadEditResults { replica } if *replica == fixtures::FAILING),
        "the results are asked for again: {commands:?}"
    );
    assert!(
        matches!(&commands[3], Command::LoadConflicts { replica } if *replica == fixtures::FAILING),
        "and the conflicts with them: {commands:?}"
    );
    match &commands[0] {
        Command::FixEdit {
            replica,
            layer_id,
            global_id,
            attributes,
            geometry,
        } => {
            assert_eq!(*replica, fixtures::FAILING);
            assert_eq!(*layer_id, 0);
            assert_eq!(global_id, &fixed_guid);
            assert_eq!(attributes.get("STATUS"), Some(&serde_json::json!("ACT")));
            assert_eq!(attributes.len(), 1, "only what differs from the server");
            assert_eq!(geometry, &None);
        }
        other => panic!("expected FixEdit, got {other:?}"),
    }
    assert!(matches!(
        &commands[1],
        Command::SyncNow { replica, .. } if *replica == fixtures::FAILING
    ));
    assert!(r.harness.state().fix.is_none(), "form closed");
    // Still shown in the grid and the detail pane (and its attribute table) until the sync.
    assert!(r.harness.query_all_by_label("1204").count() >= 2);

    r.push(fixtures::successful_sync_after_fix(JobId(12)));
    assert_eq!(
        r.harness.query_all_by_label("1204").count(),
        0,
        "fixed row gone"
    );
    assert_eq!(r.harness.state().grid.selected, None);
    assert_eq!(r.harness.state().grid.indices.len(), 3);
    r.click("Overview");
    r.harness.get_by_label("CompletedWithErrors");
    r.harness
        .get_by_label("CompletedWithErrors: 12 uploaded, 3 downloaded, 6 failed edits");
}

/// Dropping a local edit asks first; only "Drop edit" sends DropEdit.
#[test]
fn drop_edit_needs_confirmation() {
    let mut r = rig();
    r.open_failing_results();
    r.click("1187");
    // The detail pane asked for the edit's attributes.
    assert!(matches!(
        r.take_commands_but_map_loads().as_slice(),
        [Command::LoadFixForm { .. }]
    ));
    r.click("Drop local edit…");
    r.harness.get_by_label("Drop the local edit?");
    r.click("Keep edit");
    assert!(r.take_commands_but_map_loads().is_empty());
    r.click("Drop local edit…");
    r.click("Drop edit");
    let commands = r.take_commands_but_map_loads();
    assert!(
        matches!(commands.first(), Some(Command::DropEdit { replica, layer_id: 0, .. }) if *replica == fixtures::FAILING),
        "{commands:?}"
    );
}

/// Export sends the filtered rows' indices and the path the picker returned.
#[test]
fn export_filtered_rows_to_csv() {
    let path = PathBuf::from("/tmp/syncwatch-test/layer-errors.csv");
    let mut r = rig_with(RigOptions {
        export_path: Some(path.clone()),
        ..RigOptions::default()
    });
    r.open_failing_results();
    r.click("2000 layer");
    r.click("Export CSV…");
    let commands = r.take_commands();
    match commands.as_slice() {
        [
            Command::ExportCsv {
                rows,
                indices,
                path: p,
            },
        ] => {
            assert_eq!(indices, &vec![4, 5, 6]);
            assert_eq!(p, &path);
            assert_eq!(rows.len(), 11);
        }
        other => panic!("expected one ExportCsv, got {other:?}"),
    }
    r.push([Event::ExportFinished { path, rows: 3 }]);
    r.harness
        .get_by_label("Exported 3 rows to /tmp/syncwatch-test/layer-errors.csv");
}

/// With no file chosen (headless rfd), nothing is exported.
#[test]
fn export_cancelled_without_a_path() {
    let mut r = rig();
    r.open_failing_results();
    r.click("Export CSV…");
    assert!(r.take_commands().is_empty());
    r.harness.get_by_label("Export cancelled (no file chosen).");
}

/// A file dialog that answers only when the test says so.
struct LatePicker(
    std::sync::Arc<std::sync::Mutex<Option<std::sync::mpsc::Sender<Option<PathBuf>>>>>,
);

impl syncwatch::ui::FilePicker for LatePicker {
    fn pick_save_csv(&mut self, _ctx: &egui::Context, _name: &str) -> syncwatch::ui::PendingPick {
        let (tx, pick) = syncwatch::ui::PendingPick::channel();
        *self.0.lock().expect("lock") = Some(tx);
        pick
    }
}

/// The file dialog does not block the window: frames keep coming while it is open, the grid can
/// still be filtered, and the export is queued with the rows of the moment "Export" was clicked,
/// once the dialog answers.
#[test]
fn export_dialog_does_not_block_the_window() {
    let answer = std::sync::Arc::new(std::sync::Mutex::new(None));
    let mut r = rig_with(RigOptions {
        picker: Some(Box::new(LatePicker(answer.clone()))),
        ..RigOptions::default()
    });
    r.open_failing_results();
    r.click("2000 layer");
    r.click("Export CSV…");
    r.harness.get_by_label("Choose where to save the CSV…");
    assert!(r.harness.state().pending_export.is_some());
    // The window keeps working while the dialog is open.
    r.click("All");
    r.harness.run_steps(5);
    assert!(r.take_commands().is_empty(), "nothing exported yet");
    let path = PathBuf::from("/tmp/syncwatch-test/late.csv");
    let tx = answer.lock().expect("lock").take().expect("dialog opened");
    tx.send(Some(path.clone())).expect("send answer");
    r.harness.run();
    match r.take_commands().as_slice() {
        [
            Command::ExportCsv {
                indices, path: p, ..
            },
        ] => {
            assert_eq!(
                indices,
                &vec![4, 5, 6],
                "the rows filtered when Export was clicked"
            );
            assert_eq!(p, &path);
        }
        other => panic!("expected one ExportCsv, got {other:?}"),
    }
    assert!(r.harness.state().pending_export.is_none());
}

/// A replica can be paused and resumed from the toolbar and the row's context menu: the badge
/// says "Paused", Sync now is disabled and Ctrl+R only explains why.
#[test]
fn pause_and_resume_a_replica() {
    let mut r = rig();
    r.click("⏸ Pause replica");
    assert_eq!(
        r.take_commands(),
        vec![Command::SetPaused {
            replica: fixtures::UP_TO_DATE,
            paused: true
        }]
    );
    let mut paused = r
        .harness
        .state()
        .vm
        .replica(fixtures::UP_TO_DATE)
        .cloned()
        .expect("replica");
    assert!(paused.paused, "shown at once");
    paused.paused = true;
    r.push([Event::ReplicaChanged { summary: paused }]);
    assert!(r.harness.query_all_by_label("⏸ Paused").count() >= 1);
    assert!(
        r.harness
            .get_by_label("⟳ Sync now")
            .accesskit_node()
            .is_disabled()
    );
    r.harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::R);
    r.harness.run();
    assert!(r.take_commands().is_empty());
    r.harness
        .get_by_label_contains("is paused; resume it to sync");
    // The context menu of the row resumes it.
    // The first of the name's labels is the list row (the overview heading comes later).
    r.harness
        .query_all_by_label("Hydrants – crew A")
        .next()
        .expect("list row")
        .click_secondary();
    r.harness.run();
    // The toolbar's button and the context menu's item.
    let resume: Vec<_> = r.harness.query_all_by_label("▶ Resume replica").collect();
    assert_eq!(resume.len(), 2, "the context menu is open");
    resume[1].click();
    r.harness.run();
    assert_eq!(
        r.take_commands(),
        vec![Command::SetPaused {
            replica: fixtures::UP_TO_DATE,
            paused: false
        }]
    );
}

/// The reset modal explains the reset; "Back up and reset" confirms; the summary follows.
#[test]
fn reset_modal_confirm_then_summary() {
    let mut r = rig();
    r.select_replica("Storm drains – tablet 2");
    r.harness.get_by_label("This replica needs a client reset");
    r.click("Start client reset…");
    assert_eq!(
        r.take_commands(),
        vec![Command::Reset {
            replica: fixtures::NEEDS_RESET,
            mode: ResetMode::Manual
        }]
    );
    r.push([fixtures::reset_awaiting_event()]);
    r.harness
        .get_by_label("Client reset: Storm drains – tablet 2");
    r.harness.get_by_label(
        "recover or discard » discard » manual (each step runs only if the one before fails)",
    );
    r.harness
        .get_by_label_contains("5 unsynced local changes that cannot be sent");
    r.harness
        .get_by_label("/home/tech/.local/share/syncwatch/recovery/storm-drains-2026-11-22T170000");
    r.click("Back up and reset");
    assert_eq!(
        r.take_commands(),
        vec![Command::ConfirmReset {
            replica: fixtures::NEEDS_RESET
        }]
    );
    assert!(r.harness.state().vm.pending_reset.is_none());
    assert!(r.harness.query_by_label("Back up and reset").is_none());

    r.push([fixtures::after_recovery_event()]);
    r.harness
        .get_by_label("Reset finished: Storm drains – tablet 2 (recovered)");
    r.harness.get_by_label("Recovered (2)");
    r.harness.get_by_label("Discarded (1)");
    r.click("Close");
    assert!(r.harness.state().vm.reset_summaries.is_empty());
}

/// The reset summary opens centred over the window, not in the top-left corner, and the overview
/// shows the history plot beside the layers, in view without scrolling.
#[test]
fn reset_summary_is_centred_and_history_is_in_view() {
    let mut r = rig();
    r.harness.get_by_label("History");
    let screen = r.harness.ctx.content_rect();
    let history = r.harness.get_by_label("History").rect();
    assert!(
        history.top() < screen.height() * 0.5,
        "the History heading is at y={} of {}",
        history.top(),
        screen.height()
    );
    r.push([fixtures::after_recovery_event()]);
    r.harness.run();
    let title = r
        .harness
        .get_by_label("Reset finished: Storm drains – tablet 2 (recovered)")
        .rect();
    let close = r.harness.get_by_label("Close").rect();
    let window = title.union(close);
    let centre = screen.center();
    assert!(
        window.left() > screen.width() * 0.15
            && window.left() < centre.x
            && window.right() > centre.x,
        "summary spans x {}..{}, the screen's centre is {}",
        window.left(),
        window.right(),
        centre.x
    );
    assert!(
        window.top() > screen.height() * 0.15 && window.top() < centre.y,
        "summary's title at y={}, screen height {}",
        window.top(),
        screen.height()
    );
}

/// Escape cancels the reset modal: CancelReset is sent, ConfirmReset never.
#[test]
fn reset_modal_escape_cancels() {
    let mut r = rig();
    r.push([fixtures::reset_awaiting_event()]);
    r.harness.get_by_label("Back up and reset");
    r.harness.key_press(egui::Key::Escape);
    r.harness.run();
    let commands = r.take_commands();
    assert_eq!(
        commands,
        vec![Command::CancelReset {
            replica: fixtures::NEEDS_RESET
        }]
    );
    assert!(r.harness.query_by_label("Back up and reset").is_none());
    let replica = r.harness.state().vm.replica(fixtures::NEEDS_RESET).cloned();
    assert_eq!(replica.map(|s| s.health()), Some(Health::ResetRequired));
}

/// A click outside the modal (on the backdrop) cancels too.
#[test]
fn reset_modal_click_outside_cancels() {
    let mut r = rig();
    r.push([fixtures::reset_awaiting_event()]);
    r.harness.get_by_label("Cancel").click();
    r.harness.run();
    assert_eq!(
        r.take_commands(),
        vec![Command::CancelReset {
            replica: fixtures::NEEDS_RESET
        }]
    );
    r.push([fixtures::reset_awaiting_event()]);
    r.harness.hover_at(egui::pos2(5.0, 790.0));
    r.harness.event(egui::Event::PointerButton {
        pos: egui::pos2(5.0, 790.0),
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    r.harness.event(egui::Event::PointerButton {
        pos: egui::pos2(5.0, 790.0),
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    r.harness.run();
    let commands = r.take_commands();
    assert_eq!(
        commands,
        vec![Command::CancelReset {
            replica: fixtures::NEEDS_RESET
        }]
    );
}

/// Toolbar actions and keyboard shortcuts send the right commands.
#[test]
fn toolbar_and_shortcuts() {
    let mut r = rig();
    r.harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::R);
    r.harness.run();
    let commands = r.take_commands();
    assert!(
        matches!(commands.as_slice(), [Command::SyncNow { replica, .. }] if *replica == fixtures::UP_TO_DATE),
        "{commands:?}"
    );
    r.click("Sync all");
    assert_eq!(r.take_commands(), vec![Command::SyncAll]);
    r.click("⏸ Pause auto-sync");
    assert_eq!(
        r.take_commands(),
        vec![Command::SetAutoSync {
            interval_secs: None
        }]
    );
    r.harness.get_by_label("Auto-sync paused");
    r.click("▶ Resume auto-sync");
    assert_eq!(
        r.take_commands(),
        vec![Command::SetAutoSync {
            interval_secs: Some(300)
        }]
    );
    // Ctrl+F opens the results tab and focuses the search box.
    r.select_replica("Parcel inspections");
    r.harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    r.harness.run();
    assert_eq!(r.harness.state().persisted.tab, syncwatch::ui::Tab::Results);
    r.harness.run();
    assert!(
        r.harness
            .get_by_role_and_label(egui::accesskit::Role::TextInput, "Search")
            .accesskit_node()
            .is_focused(),
        "search box focused"
    );
}

/// The log panel lists the engine's log lines (the stored log of earlier runs, then this run's)
/// and nothing else: a failed job is in the log as the engine logged it, once. It filters by
/// text, by time range (the last hour hides the line of three days ago; "Between…" takes local
/// dates) and exports the lines shown as `ExportLog`.
#[test]
fn log_panel_lists_filters_and_exports_the_engines_log() {
    let path = PathBuf::from("/tmp/syncwatch-log-export.csv");
    let mut r = rig_with(RigOptions {
        show_log: true,
        export_path: Some(path.clone()),
        ..RigOptions::default()
    });
    let failure = syncwatch::engine::Failure {
        class: syncwatch::engine::FailureClass::Transport,
        code: None,
        message: "connection refused".into(),
    };
    r.push([
        Event::JobFailed {
            replica: fixtures::UP_TO_DATE,
            job: JobId(5),
            error: failure.clone(),
        },
        Event::Logged {
            entry: syncwatch::engine::LogEntry {
                at_ms: fixtures::NOW_MS,
                replica: Some(fixtures::UP_TO_DATE),
                replica_name: "Hydrants – crew A".into(),
                code: None,
                message: failure.message.clone(),
            },
        },
    ]);
    // In the log (the engine's line) and as the job's status message.
    assert_eq!(
        r.harness.query_all_by_label("connection refused").count(),
        1
    );
    assert_eq!(
        r.harness
            .query_all_by_label("[network] connection refused")
            .count(),
        1
    );
    r.harness.get_by_label("5 of 5 entries");
    r.harness.get_by_label("Period").click();
    r.harness.run();
    r.click("Last hour");
    r.harness.get_by_label("4 of 5 entries");
    assert_eq!(
        r.harness
            .query_all_by_label_contains("The service answers again")
            .count(),
        0
    );
    r.harness.get_by_label("Period").click();
    r.harness.run();
    r.click("Between…");
    let day = |days_ago: i64| {
        chrono::DateTime::from_timestamp_millis(fixtures::NOW_MS - days_ago * 86_400_000)
            .expect("time")
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d")
            .to_string()
    };
    r.type_into("From", &day(4));
    r.type_into("To", &day(2));
    r.harness.get_by_label("1 of 5 entries");
    r.harness.get_by_label_contains("The service answers again");
    // An unreadable bound says why and is left open.
    r.retype("To", "soon");
    r.harness
        .get_by_label("To: use YYYY-MM-DD or YYYY-MM-DD HH:MM");
    r.harness.get_by_label("5 of 5 entries");
    r.retype("To", &day(2));
    r.harness.get_by_label("1 of 5 entries");

    r.take_commands();
    r.click("Export log…");
    r.harness.run();
    match r.take_commands().as_slice() {
        [Command::ExportLog { entries, path: p }] => {
            assert_eq!(p, &path);
            assert_eq!(entries.len(), 1);
            assert!(entries[0].message.starts_with("The service answers again"));
        }
        other => panic!("expected one ExportLog, got {other:?}"),
    }
    r.harness.get_by_label("Period").click();
    r.harness.run();
    r.click("All time");
    r.type_into("Filter", "3061");
    r.harness.get_by_label("1 of 5 entries");
    r.harness
        .get_by_label("Replica with this GUID does not exist on the server.");
}

/// The New replica wizard reads the service (DescribeService), offers its layers by name, asks
/// for the work-area page's map preview, suggests a name and sends CreateReplica for the ticked
/// layers.
#[test]
fn wizard_creates_a_replica() {
    use syncwatch::model::{Extent, LayerFacts, ServiceFacts};
    let mut r = rig();
    r.click("New replica…");
    r.click("Next");
    let url = match r.take_commands().as_slice() {
        [Command::DescribeService { service_url, .. }] => service_url.clone(),
        other => panic!("expected DescribeService, got {other:?}"),
    };
    let layer = |id: i64, name: &str| LayerFacts {
        id,
        name: name.into(),
        is_table: false,
        geometry_type: Some("esriGeometryPoint".into()),
        feature_count: Some(10 + id),
        has_attachments: false,
        sync_enabled: true,
    };
    r.push([Event::ServiceDescribed {
        facts: Box::new(ServiceFacts {
            service_url: url,
            name: "Water".into(),
            description: "The water network".into(),
            wkid: Some(4326),
            full_extent: Some(Extent::parse("-123,45,-122,46,4326").expect("extent")),
            sync_enabled: true,
            sync_capabilities: Default::default(),
            layers: vec![layer(0, "Hydrants"), layer(2, "Valves")],
        }),
    }]);
    r.harness.get_by_label("The water network");
    r.harness
        .get_by_role_and_label(egui::accesskit::Role::CheckBox, "Valves")
        .click();
    r.harness.run();
    r.click("Next");
    r.harness.get_by_label("Valves: 12");
    // The work-area page asks for the map preview of the ticked layers.
    match r.take_commands().as_slice() {
        [Command::LoadServicePreview { layers, .. }] => assert_eq!(layers, &vec![2]),
        other => panic!("expected LoadServicePreview, got {other:?}"),
    }
    r.click("Next");
    r.click("Create replica");
    let commands = r.take_commands();
    match commands.as_slice() {
        [Command::CreateReplica(req)] => {
            assert_eq!(req.name, "Water");
            assert_eq!(req.layers, vec![2]);
            assert!(req.service_url.ends_with("/FeatureServer"));
            assert!(req.scope.area.is_whole_service());
        }
        other => panic!("expected CreateReplica, got {other:?}"),
    }
    assert!(r.harness.state().wizard.is_none());
}

/// The demo banner and the demo menu item appear against the demo service.
#[test]
fn demo_banner_and_terminate_menu() {
    let mut r = rig_with(RigOptions {
        demo: true,
        ..RigOptions::default()
    });
    r.harness.get_by_label_contains("Demo mode");
    r.click("Demo");
    r.click("Demo: terminate and re-enable sync");
    // The demo service (a stand-in that answers at once) terminated and re-enabled sync; the
    // window then syncs everything so the resets happen now.
    assert_eq!(r.take_commands(), vec![Command::SyncAll]);
}

/// A full command queue shows "busy" instead of blocking.
#[test]
fn full_queue_shows_busy() {
    let mut r = rig_with(RigOptions {
        queue: 1,
        ..RigOptions::default()
    });
    // Deliver the first replica's results so the app stops asking for them.
    r.push([Event::EditResultsReady {
        replica: fixtures::UP_TO_DATE,
        rows: Vec::new().into(),
    }]);
    r.take_commands();
    r.click("Sync all");
    r.click("Sync all");
    r.harness
        .get_by_label("Busy: the engine has too much queued; try again in a moment.");
    assert_eq!(r.take_commands(), vec![Command::SyncAll]);
}

/// A million-row snapshot is virtual: only visible rows exist, and jumping works.
#[test]
fn million_rows_are_virtual() {
    let mut r = rig();
    r.push([Event::EditResultsReady {
        replica: fixtures::FAILING,
        rows: fixtures::big_results(1_000_000),
    }]);
    r.select_replica("Parcel inspections");
    r.click_and_settle_grid("Edit results (8 failed)");
    r.harness.get_by_label("1000000 of 1000000 rows");
    let first = fixtures::guid(10_000).to_string();
    let middle = fixtures::guid(510_000).to_string();
    assert!(r.harness.query_by_label(&first).is_some());
    assert!(r.harness.query_by_label(&middle).is_none());
    r.harness.state_mut().grid.scroll_to = Some(500_000);
    r.harness.run();
    assert!(r.harness.query_by_label(&middle).is_some());
    let rebuilds = r.harness.state().grid.rebuilds;
    r.harness.run_steps(3);
    assert_eq!(r.harness.state().grid.rebuilds, rebuilds);
    // Filtering a million rows happens off the UI thread; the chip's rows arrive after it.
    r.click_and_settle_grid("1000 feature");
    let shown = r.harness.state().grid.indices.len();
    assert_eq!(
        shown,
        1_000_000 / 8 * 3,
        "codes 1001, 1007 and 1023 of every 8 rows"
    );
    r.harness.get_by_label("375000 of 1000000 rows");
}

/// Unregistering asks first; only "Unregister replica" sends the command.
#[test]
fn unregister_needs_confirmation() {
    let mut r = rig();
    r.select_replica("Parcel inspections");
    r.click("Unregister…");
    r.harness.get_by_label("Unregister Parcel inspections?");
    r.harness
        .get_by_label("12 unsynced local changes will not reach the server.");
    r.click("Keep replica");
    assert!(r.take_commands().is_empty());
    r.click("Unregister…");
    r.click("Unregister replica");
    assert_eq!(
        r.take_commands(),
        vec![Command::Unregister {
            replica: fixtures::FAILING
        }]
    );
    r.push([Event::ReplicaRemoved {
        replica: fixtures::FAILING,
    }]);
    assert!(r.harness.query_by_label("Parcel inspections").is_none());
}

/// A flood of events is applied over several frames (8 ms budget each), never in one long frame.
#[test]
fn event_flood_is_drained_within_a_budget() {
    let mut r = rig();
    let entries = 300_000;
    for i in 0..entries {
        r.events
            .send(Event::Logged {
                entry: syncwatch::engine::LogEntry {
                    at_ms: fixtures::NOW_MS + i as i64 * 10_000,
                    replica: None,
                    replica_name: String::new(),
                    code: Some(1000),
                    message: format!("flood {i}"),
                },
            })
            .expect("receiver alive");
    }
    let ctx = r.harness.ctx.clone();
    let before = r.harness.state().vm.log.len();
    let started = std::time::Instant::now();
    r.harness.state_mut().drain_events(&ctx);
    let one_drain = started.elapsed();
    let applied = r.harness.state().vm.log.len() - before;
    assert!(
        applied > 0 && applied < entries,
        "applied {applied} in one drain"
    );
    assert!(
        one_drain < std::time::Duration::from_millis(200),
        "{one_drain:?}"
    );
    // Later frames finish the job; the log keeps the newest entries up to its cap.
    let last = format!("flood {}", entries - 1);
    let mut drains = 1;
    while r.harness.state().vm.log.last().map(|e| e.message.as_str()) != Some(last.as_str()) {
        r.harness.state_mut().drain_events(&ctx);
        drains += 1;
        assert!(drains < 10_000, "never finished");
    }
    assert!(drains > 1);
    let cap = syncwatch::model::LOG_LIMIT;
    let kept = r.harness.state().vm.log.len();
    assert!((cap..=cap + cap / 10).contains(&kept), "{kept}");
}

/// The overview sets what syncs do with edits the cached rules predict the server will refuse:
/// the choice is sent to the engine and shown at once.
#[test]
fn predicted_refusal_policy_is_chosen_in_the_overview() {
    let mut r = rig();
    r.select_replica("Parcel inspections");
    r.take_commands();
    let combo = r.harness.get_by_label("Predicted refusals");
    assert_eq!(
        combo.accesskit_node().value().as_deref(),
        Some("send anyway")
    );
    combo.click();
    r.harness.run();
    r.click("hold back until fixed");
    assert_eq!(
        r.take_commands(),
        vec![Command::SetPredictedPolicy {
            replica: fixtures::FAILING,
            policy: PredictedPolicy::Hold
        }]
    );
    let shown = r.harness.state().vm.replica(fixtures::FAILING).cloned();
    assert_eq!(
        shown.map(|s| s.predicted_policy),
        Some(PredictedPolicy::Hold)
    );
    let combo = r.harness.get_by_label("Predicted refusals");
    assert_eq!(
        combo.accesskit_node().value().as_deref(),
        Some("hold back until fixed")
    );
}
