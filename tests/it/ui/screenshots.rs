//! Rendered screenshots of the window through kittest's wgpu renderer (Mesa lavapipe or
//! llvmpipe; no display needed): the first-run demo on the real engine and demo service (the
//! three seeded replicas, the grid filtered to the 1000 series, the reset modal), and light mode
//! with fixture data. Writes `screenshots/*.png`.
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
