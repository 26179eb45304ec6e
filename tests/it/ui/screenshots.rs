//! Rendered screenshots of the window through kittest's wgpu renderer (Mesa lavapipe or
//! llvmpipe; no display needed): the first-run demo on the real engine and demo service (the
//! three seeded replicas, the grid filtered to the 1000 series, the detail pane's map of a hydrant
//! moved locally, the reset modal), and light mode
//! with fixture data, signing in (dialog, browser wait, Accounts, the banner), and the service's
//! replicas with the unregister confirmation, an ArcGIS offline map selected, the New replica
//! wizard's work-area page on the real engine and the GridTown test service, the attribute fix
//! form and the detail pane's attributes, the conflicts compare view, View → Notifications…, and
//! "Restore changes from backup…". Writes
//! `screenshots/*.png`.
//! Run: `cargo test --features snapshot --test it ui::screenshots`.
#![cfg(feature = "snapshot")]

use egui_kittest::Harness;
use std::path::PathBuf;
use syncwatch::ui::{AppConfig, CommandSink, FixedPathPicker, Persisted, SyncwatchApp, fixtures};

fn app(
    demo: bool,
) -> (
    SyncwatchApp,
    std::sync::mpsc::Sender<syncwatch::engine::Event>,
) {
    let (sink, rx) = CommandSink::channel(256);
    // The receiver is leaked on purpose: the app must be able to queue commands.
    std::mem::forget(rx);
    let (tx, event_rx) = std::sync::mpsc::channel();
    for e in fixtures::startup_events()
        .into_iter()
        .chain(fixtures::running_job_events())
    {
        tx.send(e).expect("receiver alive");
    }
    let mut app = SyncwatchApp::new(
        sink,
        event_rx,
        Box::new(FixedPathPicker(None)),
        AppConfig {
            demo,
            ..AppConfig::default()
        },
        Persisted::default(),
    );
    app.set_mock_now_ms(Some(fixtures::NOW_MS + 30_000));
    (app, tx)
}

fn save(h: &mut Harness<'static, SyncwatchApp>, name: &str) {
    h.remove_cursor();
    h.run_steps(2);
    let image = h.render().expect("render");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("create screenshots/");
    image.save(dir.join(name)).expect("save png");
}

fn settle(h: &mut Harness<'static, SyncwatchApp>) {
    // The running job's elapsed time asks for repaints; a fixed number of steps is enough.
    h.run_steps(6);
}

/// The first-run demo, seeded through the real engine and the embedded demo service.
fn seeded_demo(dir: &std::path::Path) -> crate::support::ui::stack::Stack {
    use crate::support::ui::stack::{demo_stack, wait_until};
    use syncwatch::demo::SeedProgress;
    let builder = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu();
    let mut s = demo_stack(builder, dir, 0);
    wait_until(&mut s.h, "the demo seeding", |a| {
        a.seed_progress() == Some(SeedProgress::Finished) && a.vm.pending_reset.is_some()
    });
    s.h.state_mut().persisted.show_log = true;
    s
}

/// The main window after the first run: three demo replicas in telling states, the failed-edits
/// replica's overview; then the grid filtered to the 1000 series with a row's detail; then the
/// reset modal of the replica that needs a client reset.
#[test]
fn screenshots_of_the_seeded_demo() {
    use crate::support::ui::stack::{click, select_named, wait_until};
    use syncwatch::demo::{FAILED_EDITS_NAME, NEEDS_RESET_NAME};
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = seeded_demo(dir.path());
    // The seeding ends with the reset confirmation; set it aside for the overview.
    s.h.key_press(egui::Key::Escape);
    s.h.run_steps(3);
    select_named(&mut s, FAILED_EDITS_NAME);
    save(&mut s.h, "main-window.png");

    s.h.state_mut().persisted.tab = syncwatch::ui::Tab::Results;
    s.h.run_steps(3);
    wait_until(&mut s.h, "the edit results", |a| !a.grid.indices.is_empty());
    click(&mut s.h, "1000 feature");
    if let Some(&first) = s.h.state().grid.indices.first() {
        s.h.state_mut().grid.selected = Some(first);
    }
    s.h.run_steps(4);
    save(&mut s.h, "results-1000-series.png");

    // The detail pane's map of a moved hydrant: one of the failed rows' points moved locally.
    let hydrant =
        s.h.state()
            .vm
            .results
            .values()
            .flat_map(|rows| rows.iter())
            .find(|r| {
                !r.success
                    && r.layer_id == 0
                    && r.change_type == syncwatch::protocol::ChangeType::Update
                    && r.global_id.is_some()
            });
    if let Some(row) = hydrant.cloned() {
        let replica = s.h.state().persisted.selected_replica.expect("a replica");
        let global_id = row.global_id.clone().expect("a GlobalID");
        let index = s.h.state().vm.results[&replica]
            .iter()
            .position(|r| r.global_id.as_ref() == Some(&global_id))
            .expect("the row") as u32;
        s.h.state_mut().grid.selected = Some(index);
        wait_until(&mut s.h, "the hydrant's map", |a| {
            a.grid
                .feature_panel
                .shown()
                .is_some_and(|m| m.global_id == global_id)
        });
        let at = s.h.state().grid.feature_panel.shown().and_then(|m| {
            let g = m.server.as_ref()?;
            Some((g.json["x"].as_f64()?, g.json["y"].as_f64()?))
        });
        if let Some((x, y)) = at {
            s.runtime
                .block_on(s.handle.edit_feature(
                    replica,
                    0,
                    syncwatch::engine::LocalEdit::Update {
                        global_id: global_id.clone(),
                        attributes: Default::default(),
                        geometry: Some(serde_json::json!({"x": x - 0.0006, "y": y + 0.0004})),
                    },
                ))
                .expect("move the hydrant");
            s.h.state_mut().grid.feature_panel.reload();
            wait_until(&mut s.h, "the moved hydrant's map", |a| {
                a.grid
                    .feature_panel
                    .shown()
                    .is_some_and(|m| m.global_id == global_id && m.geometry_differs)
            });
            s.h.run_steps(4);
            save(&mut s.h, "detail-map-moved-point.png");
        }
    }

    s.h.state_mut().persisted.tab = syncwatch::ui::Tab::Overview;
    select_named(&mut s, NEEDS_RESET_NAME);
    click(&mut s.h, "Start client reset…");
    wait_until(&mut s.h, "the reset confirmation", |a| {
        a.vm.pending_reset.is_some()
    });
    save(&mut s.h, "reset-modal.png");
}

/// Light mode (the window follows the system theme): badge and text contrast.
#[test]
fn screenshot_light_mode() {
    let (app, _tx) = app(true);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_theme(egui::Theme::Light)
        .wgpu()
        .build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app);
    settle(&mut h);
    h.state_mut().persisted.selected_replica = Some(fixtures::FAILING);
    h.state_mut().persisted.tab = syncwatch::ui::Tab::Results;
    settle(&mut h);
    h.state_mut().grid.selected = Some(0);
    settle(&mut h);
    save(&mut h, "light-mode-results.png");
}

/// Signing in, with fixture data: the Sign in dialog (password form with a refusal line), the
/// browser flow waiting for the browser, File → Accounts, and the "Sign in again" banner with
/// the replica's "Sign-in needed" badge.
#[test]
fn screenshots_of_signing_in() {
    use syncwatch::engine::{CommandId, Event, SignInFailure};
    use syncwatch::model::AccountKey;
    use syncwatch::ui::Action;
    let (app, tx) = app(false);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app);
    settle(&mut h);
    let mut summary = fixtures::replicas()[0].clone();
    summary.signed_in_as = Some(AccountKey::new(fixtures::accounts::SERVER_ROOT, "tech1"));
    summary.sign_in_needed = Some("the token expired and no remembered password renews it".into());
    tx.send(Event::ReplicaChanged { summary })
        .expect("receiver alive");
    tx.send(Event::Accounts(fixtures::accounts()))
        .expect("receiver alive");
    settle(&mut h);
    save(&mut h, "sign-in-again-banner.png");

    let ctx = h.ctx.clone();
    h.state_mut().apply(
        &ctx,
        Action::OpenSignIn {
            url: fixtures::accounts::SERVER_ROOT.into(),
            username: "tech1".into(),
        },
    );
    settle(&mut h);
    if let Some(state) = &mut h.state_mut().sign_in {
        state.dialog.remember = true;
        state.dialog.fail("Invalid username or password.");
    }
    settle(&mut h);
    save(&mut h, "sign-in-dialog.png");
    if let Some(state) = &mut h.state_mut().sign_in {
        state.dialog.fail(&format!(
            "sign in: TLS handshake failed: the server's certificate is not trusted \
             (UnknownIssuer); its SHA-256 fingerprint is {}; to trust it, add it with --ca-cert \
             FILE — https://gis.example.com/arcgis",
            ["3F"; 32].join(":")
        ));
    }
    settle(&mut h);
    save(&mut h, "sign-in-untrusted-certificate.png");

    if let Some(state) = &mut h.state_mut().sign_in {
        state.dialog.error = None;
        state.dialog.stage = syncwatch::ui::dialogs::SignInStage::Working;
    }
    tx.send(Event::BrowserSignInStarted {
        sign_in: CommandId(1),
        authorize_url: format!(
            "{}/sharing/rest/oauth2/authorize?client_id=syncwatch-field",
            fixtures::accounts::PORTAL_ROOT
        ),
        oob: false,
    })
    .expect("receiver alive");
    settle(&mut h);
    save(&mut h, "sign-in-browser.png");
    tx.send(Event::SignInFailed {
        sign_in: CommandId(1),
        failure: SignInFailure::Cancelled,
        message: "cancelled".into(),
    })
    .expect("receiver alive");
    settle(&mut h);
    h.state_mut().sign_in = None;
    h.state_mut().apply(&ctx, Action::OpenAccounts);
    settle(&mut h);
    save(&mut h, "accounts.png");
}

/// File → Manage service replicas… with the fixtures' Water service as its administrator sees
/// it (one held here, two stale, one whose info failed), two rows selected; then the unregister
/// confirmation naming them and warning about the one this laptop holds.
#[test]
fn screenshots_of_the_service_replicas() {
    use syncwatch::engine::Event;
    use syncwatch::ui::Action;
    use syncwatch::ui::fixtures::service_replicas::SERVICE_URL;
    let (app, tx) = app(false);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app);
    settle(&mut h);
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, Action::OpenServiceReplicas);
    tx.send(Event::ServiceReplicasLoaded {
        service_url: SERVICE_URL.into(),
        replicas: fixtures::service_replicas(),
    })
    .expect("receiver alive");
    settle(&mut h);
    let rows = fixtures::service_replicas();
    if let Some(view) = &mut h.state_mut().service_replicas {
        view.selected.insert(rows[0].replica_id.clone());
        view.selected.insert(rows[1].replica_id.clone());
    }
    settle(&mut h);
    save(&mut h, "service-replicas.png");
    if let Some(view) = &mut h.state_mut().service_replicas {
        view.confirm = Some(rows[..2].to_vec());
    }
    settle(&mut h);
    save(&mut h, "service-replicas-unregister.png");
}

/// An ArcGIS offline map (a copy of a real Collector file with local changes, one predicted to
/// be refused) selected in the replica list, checked against its service.
#[test]
fn screenshot_of_an_offline_map() {
    use crate::support::offline_maps::{copy_into, real_files, write_changes};
    use egui_kittest::kittest::Queryable as _;
    use syncwatch::engine::{Event, OfflineCheck};
    let dir = tempfile::tempdir().unwrap();
    let (real, table) = real_files().remove(0);
    let copy = copy_into(&real, dir.path(), "homesites.geodatabase");
    write_changes(&copy, table, 2, 1, 1, Some(9));
    let mut map = syncwatch::geodatabase::mobile::read(&copy).unwrap();
    map.replica.name = "Homesites (Collector)".into();
    // shown as it would be on a technician's laptop, not the temp dir
    map.path = PathBuf::from("/home/tech/field/homesites.geodatabase");
    let (app, tx) = app(false);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app);
    settle(&mut h);
    let server_gen = map.server_gen();
    tx.send(Event::OfflineMapRead { map: map.clone() }).unwrap();
    tx.send(Event::OfflineMapChecked {
        path: map.path.clone(),
        check: OfflineCheck::Registered {
            server_last_sync_ms: None,
            server_gen,
            file_gen: server_gen,
        },
    })
    .unwrap();
    settle(&mut h);
    h.get_by_label("Homesites (Collector)").click();
    settle(&mut h);
    save(&mut h, "offline-map.png");
}

/// The New replica wizard's work-area page: two GridTown layers ticked, an extent typed, and
/// the features inside it as the service counted them.
#[test]
fn screenshot_of_the_wizard_work_area() {
    use crate::support::spatial::gridtown;
    use crate::support::ui::stack::{click, stack_serving_with, type_into, wait_until};
    use crate::support::ui::wizard::{next_page, read_service, tick_layer};
    let builder = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu();
    let mut s = stack_serving_with(builder, gridtown(4326));
    let h = &mut s.h;
    click(h, "New replica…");
    read_service(h);
    tick_layer(h, "Poles");
    tick_layer(h, "Parcels");
    next_page(h);
    click(h, "An extent");
    for (field, value) in [
        ("xmin", "-122.665"),
        ("ymin", "45.50"),
        ("xmax", "-122.615"),
        ("ymax", "45.535"),
        ("wkid", "4326"),
    ] {
        type_into(h, field, value);
    }
    wait_until(h, "the area's counts", |a| {
        a.wizard
            .as_ref()
            .is_some_and(|w| w.area_counts().iter().all(|(_, n)| n.is_some()))
    });
    h.run_steps(6);
    save(h, "wizard-work-area.png");
}

/// The attribute fix form with fixture data: a Parcels update refused with 1001 (STATUS
/// emptied), every field with its typed editor beside the server's value, live validation; and
/// the detail pane's local-beside-server attribute table behind it.
#[test]
fn screenshots_of_the_fix_form() {
    use syncwatch::engine::Event;
    use syncwatch::ui::dialogs::FixFormDialog;
    let (app, tx) = app(false);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app);
    settle(&mut h);
    h.state_mut().persisted.selected_replica = Some(fixtures::FAILING);
    h.state_mut().persisted.tab = syncwatch::ui::Tab::Results;
    // Room for the detail pane's attribute table.
    h.state_mut().persisted.show_log = false;
    settle(&mut h);
    h.state_mut().grid.selected = Some(0);
    settle(&mut h);
    tx.send(Event::FixFormLoaded {
        replica: fixtures::FAILING,
        forms: vec![fixtures::fix_form()],
    })
    .expect("receiver alive");
    settle(&mut h);
    save(&mut h, "results-attributes.png");

    let mut dialog = FixFormDialog::new(fixtures::fix_form());
    dialog.set_value("ZONING", serde_json::json!("R2"));
    h.state_mut().fix = Some(dialog);
    settle(&mut h);
    save(&mut h, "fix-form.png");
}

/// The conflicts compare view (issue 20), with fixture data: the "Conflicts" chip chosen, a
/// hydrant changed on both sides (with the office's editor) and an inspection the office deleted.
#[test]
fn screenshot_of_the_conflicts_compare_view() {
    let (app, tx) = app(false);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app);
    settle(&mut h);
    tx.send(syncwatch::engine::Event::ConflictsReady {
        replica: fixtures::FAILING,
        policy: syncwatch::engine::ConflictPolicy::Ask,
        conflicts: fixtures::conflicts(),
    })
    .expect("receiver alive");
    h.state_mut().persisted.selected_replica = Some(fixtures::FAILING);
    h.state_mut().persisted.tab = syncwatch::ui::Tab::Results;
    settle(&mut h);
    h.state_mut().grid.show_conflicts = true;
    settle(&mut h);
    save(&mut h, "conflicts-compare.png");
}

/// View → Notifications…: a toggle per kind and the failing-syncs threshold, one kind turned off.
#[test]
fn screenshot_of_the_notification_settings() {
    let (app, _tx) = app(true);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app);
    settle(&mut h);
    h.state_mut()
        .persisted
        .notifications
        .sync_failing_after_secs = 30 * 60;
    h.state_mut().persisted.notifications.manual_reset_waiting = false;
    h.state_mut().notification_settings_open = true;
    settle(&mut h);
    save(&mut h, "notification-settings.png");
}

/// "Restore changes from backup…" with fixture data: two backups of the replica (one whose
/// export cannot be read), the newest previewed with what restoring each change would do.
#[test]
fn screenshot_of_the_restore_dialog() {
    use serde_json::json;
    use syncwatch::engine::{
        BackupChange, BackupCounts, BackupInfo, BackupPreview, Event, ResetMode, RestoreOutcome,
    };
    use syncwatch::protocol::{ChangeType, Guid};
    use syncwatch::ui::Action;
    let (app, tx) = app(false);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app);
    settle(&mut h);
    let replica = fixtures::UP_TO_DATE;
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, Action::OpenRestore(replica));
    let backup = BackupInfo {
        name: "Hydrants___crew_A-20261203T054000Z".into(),
        dir: "/home/tech/.local/share/syncwatch/recovery/Hydrants___crew_A-20261203T054000Z".into(),
        made_ms: Some(fixtures::NOW_MS - 2 * 3_600_000),
        mode: Some(ResetMode::RecoverOrDiscard),
        mode_used: Some(ResetMode::Discard),
        reason: "the service no longer knows the replica (sync was terminated)".into(),
        counts: BackupCounts {
            adds: 1,
            updates: 2,
            deletes: 0,
            attachments: 1,
        },
        unreadable: None,
    };
    let damaged = BackupInfo {
        name: "Hydrants___crew_A-20261001T101500Z".into(),
        made_ms: None,
        mode: None,
        mode_used: None,
        counts: BackupCounts::default(),
        unreadable: Some(
            "its unsynced-changes.json is not a backup's export (EOF while parsing at line 1)"
                .into(),
        ),
        ..backup.clone()
    };
    tx.send(Event::BackupsListed {
        replica,
        backups: vec![backup.clone(), damaged],
    })
    .expect("receiver alive");
    // Fixed GlobalIDs, so the screenshot comes out the same every time.
    let next = std::cell::Cell::new(0u32);
    let line = |kind, fields: Vec<(&str, serde_json::Value)>, outcome, note: &str| BackupChange {
        layer_id: 0,
        layer_name: "Hydrants".into(),
        global_id: {
            next.set(next.get() + 1);
            Guid::parse(&format!(
                "{{{:08X}-3F2A-4C1B-9E7D-5A6B7C8D9E0F}}",
                next.get()
            ))
            .expect("a GlobalID")
        },
        change_type: kind,
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        geometry_changed: kind == ChangeType::Insert,
        outcome,
        note: note.into(),
    };
    tx.send(Event::BackupPreviewed {
        preview: Box::new(BackupPreview {
            replica,
            backup,
            changes: vec![
                line(
                    ChangeType::Insert,
                    vec![("FacilityID", json!("HYD-0412")), ("Status", json!("IS"))],
                    RestoreOutcome::Restored,
                    "created locally; kept",
                ),
                line(
                    ChangeType::Update,
                    vec![("Notes", json!("cap replaced"))],
                    RestoreOutcome::Restored,
                    "updated locally; also changed on the server (Notes): queued from the value it started from, so the next sync holds it as a conflict for you to resolve (conflict policy: ask)",
                ),
                line(
                    ChangeType::Update,
                    vec![("Status", json!("OOS"))],
                    RestoreOutcome::Discarded,
                    "deleted on the server; the local update is discarded (restore rule: a server delete beats a local update)",
                ),
            ],
            attachments: Vec::new(),
        }),
    })
    .expect("receiver alive");
    settle(&mut h);
    save(&mut h, "restore-backup.png");
}
