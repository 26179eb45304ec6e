//! Rendered screenshots of the window with fixture data, through kittest's wgpu renderer (Mesa
//! lavapipe or llvmpipe; no display needed). Writes `screenshots/*.png`.
//! Run: `cargo test --features snapshot --test ui_screenshots`.
#![cfg(feature = "snapshot")]

mod ui_support;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
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

fn harness(app: SyncwatchApp) -> Harness<'static, SyncwatchApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app)
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

#[test]
fn screenshot_main_window() {
    let (app, _tx) = app(true);
    let mut h = harness(app);
    settle(&mut h);
    save(&mut h, "main-window.png");
    h.state_mut().persisted.selected_replica = Some(fixtures::FAILING);
    settle(&mut h);
    save(&mut h, "main-window-failed-edits.png");
}

#[test]
fn screenshot_grid_filtered_to_1000_series() {
    let (app, _tx) = app(true);
    let mut h = harness(app);
    settle(&mut h);
    h.state_mut().persisted.selected_replica = Some(fixtures::FAILING);
    settle(&mut h);
    h.get_by_label("Edit results (8 failed)").click();
    settle(&mut h);
    h.get_by_label("1000 feature").click();
    settle(&mut h);
    h.get_by_label("1204").click();
    settle(&mut h);
    save(&mut h, "results-1000-series.png");
}

#[test]
fn screenshot_reset_modal() {
    let (app, tx) = app(true);
    let mut h = harness(app);
    settle(&mut h);
    h.state_mut().persisted.selected_replica = Some(fixtures::NEEDS_RESET);
    settle(&mut h);
    tx.send(fixtures::reset_awaiting_event()).expect("send");
    settle(&mut h);
    save(&mut h, "reset-modal.png");
}

/// The real engine and reference service after "Create a demo replica": real refused edits.
#[test]
fn screenshot_real_engine_demo_replica() {
    use ui_support::stack::{click, stack_with, wait_until};
    let mut s = stack_with(
        Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .wgpu(),
    );
    let h = &mut s.h;
    click(h, "Create a demo replica");
    wait_until(h, "the refused edits", |a| {
        a.vm.replicas
            .first()
            .is_some_and(|r| !r.syncing && r.failed_edits > 0)
            && a.vm
                .results
                .values()
                .any(|rows| rows.iter().any(|r| !r.success))
    });
    h.state_mut().persisted.show_log = true;
    h.run_steps(4);
    save(h, "real-engine-overview.png");
    h.state_mut().persisted.tab = syncwatch::ui::Tab::Results;
    h.run_steps(4);
    if let Some(&first) = h.state().grid.indices.first() {
        h.state_mut().grid.selected = Some(first);
    }
    h.run_steps(4);
    save(h, "real-engine-results.png");
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
