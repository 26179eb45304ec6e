//! The app on the real engine and the reference service (loopback, temp dirs).

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use syncwatch::engine::{self, EngineConfig, EventSender};
use syncwatch::server::ServerConfig;
use syncwatch::ui::{AppConfig, CommandSink, FixedPathPicker, Persisted, SyncwatchApp};

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
    _dir: tempfile::TempDir,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

pub fn stack() -> Stack {
    stack_with(Harness::builder().with_size(egui::vec2(1280.0, 800.0)))
}

/// The same with a prepared harness builder (e.g. with the wgpu renderer for screenshots).
pub fn stack_with(builder: egui_kittest::HarnessBuilder<SyncwatchApp>) -> Stack {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let server = runtime
        .block_on(syncwatch::server::start(ServerConfig {
            data_dir: Some(dir.path().join("service")),
            ..ServerConfig::default()
        }))
        .expect("server");
    let (event_tx, event_rx) = std::sync::mpsc::channel();
    let events = EventSender::new(event_tx, Arc::new(|| {}));
    let (handle, _join) = {
        let _entered = runtime.enter();
        engine::start(EngineConfig::new(dir.path().join("app")), events.clone()).expect("engine")
    };
    let app = SyncwatchApp::new(
        CommandSink::engine(handle.clone(), runtime.handle().clone(), events),
        event_rx,
        Box::new(FixedPathPicker(None)),
        AppConfig {
            demo: true,
            default_service_url: server.service_url(),
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
        _dir: dir,
    }
}
