//! Rendered screenshots of the window through kittest's wgpu renderer (Mesa lavapipe or
//! llvmpipe; no display needed): the first-run demo on the real engine and demo service (the
//! three seeded replicas, the grid filtered to the 1000 series, the reset modal), and light mode
//! with fixture data, signing in (dialog, browser wait, Accounts, the banner), and the service's
//! replicas with the unregister confirmation, and the conflicts compare view. Writes
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
