//! The app on the real engine and the reference service (loopback, temp dirs).

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use syncwatch::engine::{self, Command, EngineConfig, EventSender};
use syncwatch::server::ServerConfig;
use syncwatch::ui::{AppConfig, CommandSink, FixedPathPicker, Persisted, SyncwatchApp, demo};

/// Steps the UI until `done` holds (the engine works on other threads).
pub fn wait_until(
    h: &mut Harness<'static, SyncwatchApp>,
    what: &str,
    done: impl Fn(&SyncwatchApp) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.run_steps(3);
}

pub fn type_into(h: &mut Harness<'static, SyncwatchApp>, label: &str, text: &str) {
    let role = egui::accesskit::Role::TextInput;
    h.get_by_role_and_label(role, label).click();
    h.run_steps(2);
    h.get_by_role_and_label(role, label).type_text(text);
    h.run_steps(2);
}

pub fn click(h: &mut Harness<'static, SyncwatchApp>, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(3);
}

/// A reference service, the engine and the app on it, in temp dirs.
pub struct Stack {
    pub runtime: tokio::runtime::Runtime,
    pub server: Option<syncwatch::server::RunningServer>,
    pub handle: engine::EngineHandle,
    pub h: Harness<'static, SyncwatchApp>,
    /// The app's data directory (engine database, replica files, demo state).
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.handle.try_send(Command::Shutdown);
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

pub fn stack() -> Stack {
    stack_with(Harness::builder().with_size(egui::vec2(1280.0, 800.0)))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The same with a prepared harness builder (e.g. with the wgpu renderer for screenshots).
pub fn stack_with(builder: egui_kittest::HarnessBuilder<SyncwatchApp>) -> Stack {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let server = runtime
        .block_on(syncwatch::server::start(ServerConfig {
            data_dir: Some(dir.path().join("service")),
            ..ServerConfig::default()
        }))
        .expect("server");
    let data_dir = dir.path().join("app");
    let (event_tx, event_rx) = std::sync::mpsc::channel();
    let events = EventSender::new(event_tx, Arc::new(|| {}));
    let handle = {
        let _entered = runtime.enter();
        engine::start(engine_config(&data_dir, &server), events)
            .expect("engine")
            .0
    };
    let url = server.service_url();
    finish(
        builder,
        runtime,
        server,
        handle,
        event_rx,
        url,
        None,
        data_dir,
        Some(dir),
    )
}

/// What `syncwatch` does on start in demo mode, in `data_dir`: the demo service (on the port it
/// used last time, else `preferred_port`, else any), the engine behind an event tap, the seeding
/// of the demo replicas (first run only) and the window.
pub fn demo_stack(
    builder: egui_kittest::HarnessBuilder<SyncwatchApp>,
    data_dir: &Path,
    preferred_port: u16,
) -> Stack {
    let runtime = runtime();
    let service = runtime
        .block_on(demo::start_service(
            data_dir,
            preferred_port,
            Duration::ZERO,
        ))
        .expect("demo service");
    let (event_tx, event_rx) = std::sync::mpsc::channel();
    let (engine_events, tap) = demo::EventTap::start(EventSender::new(event_tx, Arc::new(|| {})));
    let handle = {
        let _entered = runtime.enter();
        engine::start(engine_config(data_dir, &service.server), engine_events)
            .expect("engine")
            .0
    };
    let progress = syncwatch::ui::start_demo_seeding(
        runtime.handle(),
        &handle,
        &tap,
        &service,
        data_dir,
        Arc::new(|| {}),
    );
    let url = service.server.service_url();
    finish(
        builder,
        runtime,
        service.server,
        handle,
        event_rx,
        url,
        Some(progress),
        data_dir.to_path_buf(),
        None,
    )
}

fn engine_config(data_dir: &Path, server: &syncwatch::server::RunningServer) -> EngineConfig {
    EngineConfig {
        demo_admin: Some(engine::DemoAdmin {
            base_url: server.base_url().to_owned(),
            admin_key: server.admin_key().to_owned(),
        }),
        ..EngineConfig::new(data_dir)
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    builder: egui_kittest::HarnessBuilder<SyncwatchApp>,
    runtime: tokio::runtime::Runtime,
    server: syncwatch::server::RunningServer,
    handle: engine::EngineHandle,
    event_rx: std::sync::mpsc::Receiver<engine::Event>,
    service_url: String,
    demo_seed: Option<tokio::sync::watch::Receiver<demo::SeedProgress>>,
    data_dir: PathBuf,
    dir: Option<tempfile::TempDir>,
) -> Stack {
    let app = SyncwatchApp::new(
        CommandSink::engine(handle.clone()),
        event_rx,
        Box::new(FixedPathPicker(None)),
        AppConfig {
            demo: true,
            default_service_url: service_url,
            demo_seed,
            ..AppConfig::default()
        },
        Persisted {
            show_log: false,
            ..Persisted::default()
        },
    );
    let mut h = builder.build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app);
    wait_until(&mut h, "the replica list", |a| a.vm.loaded);
    Stack {
        runtime,
        server: Some(server),
        handle,
        h,
        data_dir,
        _dir: dir,
    }
}

/// Selects the replica called `name`, lets the window settle and returns its id.
pub fn select_named(s: &mut Stack, name: &str) -> engine::LocalReplicaId {
    let id =
        s.h.state()
            .vm
            .replicas
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.id)
            .unwrap_or_else(|| panic!("no replica {name}"));
    s.h.state_mut().persisted.selected_replica = Some(id);
    s.h.run_steps(3);
    id
}
