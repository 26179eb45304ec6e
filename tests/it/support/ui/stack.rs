//! The app on the real engine and the reference service (loopback, temp dirs), started by the same
//! code as `syncwatch` itself (`cli::gui::assemble`).

use super::{Settle, click_with, type_into_with};
use egui_kittest::Harness;
use std::path::Path;
use std::time::{Duration, Instant};
use syncwatch::cli::gui::{self, DemoOptions, Gui, GuiOptions};
use syncwatch::engine::{self, Command};
use syncwatch::server::ServerConfig;
use syncwatch::ui::{AppConfig, FixedPathPicker, Persisted, SyncwatchApp};

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
    type_into_with(h, label, text, Settle::Steps(2));
}

pub fn click(h: &mut Harness<'static, SyncwatchApp>, label: &str) {
    click_with(h, label, Settle::Steps(3));
}

/// A reference service, the engine and the app on it, in temp dirs.
pub struct Stack {
    pub runtime: tokio::runtime::Runtime,
    pub server: Option<syncwatch::server::RunningServer>,
    pub handle: engine::EngineHandle,
    pub h: Harness<'static, SyncwatchApp>,
    /// Where the notifier puts clicks on notifications (a test clicks as it would).
    pub clicks: syncwatch::model::NotificationClicks,
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

/// The same with a prepared harness builder (e.g. with the wgpu renderer for screenshots): the
/// window's start-up without the demo service, and a reference service of the test's own.
pub fn stack_with(builder: egui_kittest::HarnessBuilder<SyncwatchApp>) -> Stack {
    stack_on(builder, ServerConfig::default(), GuiOptions::default())
}

/// The window on the real engine and a reference service serving `definition` (e.g. a
/// token-secured one), with secrets in the file store (no keychain on a test machine).
pub fn secured_stack(definition: syncwatch::server::ServiceDefinition) -> Stack {
    stack_on(
        Harness::builder().with_size(egui::vec2(1280.0, 800.0)),
        ServerConfig {
            definition: Some(definition),
            ..ServerConfig::default()
        },
        GuiOptions {
            secret_store: Some(syncwatch::model::SecretStoreKind::File),
            ..GuiOptions::default()
        },
    )
}

/// The window on the real engine and a reference service serving `definition` (e.g. GridTown).
pub fn stack_serving(definition: syncwatch::server::ServiceDefinition) -> Stack {
    let builder = Harness::builder().with_size(egui::vec2(1280.0, 800.0));
    stack_serving_with(builder, definition)
}

/// [`stack_serving`] with a prepared harness builder (the wgpu renderer for screenshots).
pub fn stack_serving_with(
    builder: egui_kittest::HarnessBuilder<SyncwatchApp>,
    definition: syncwatch::server::ServiceDefinition,
) -> Stack {
    stack_on(
        builder,
        ServerConfig {
            definition: Some(definition),
            ..ServerConfig::default()
        },
        GuiOptions::default(),
    )
}

/// The window on the real engine and the reference service, showing its desktop notifications
/// through `notifier` (as `syncwatch` shows them through the desktop's).
pub fn notifying_stack(notifier: std::sync::Arc<dyn syncwatch::model::Notifier>) -> Stack {
    stack_on(
        Harness::builder().with_size(egui::vec2(1280.0, 800.0)),
        ServerConfig::default(),
        GuiOptions {
            notifications: gui::Notifications::Given(notifier),
            ..GuiOptions::default()
        },
    )
}

/// [`secured_stack`] over HTTPS with the service's self-signed certificate, which the window's
/// engine does not trust (no `--ca-cert`).
pub fn secured_https_stack(definition: syncwatch::server::ServiceDefinition) -> Stack {
    stack_on(
        Harness::builder().with_size(egui::vec2(1280.0, 800.0)),
        crate::support::https::with_tls(ServerConfig {
            definition: Some(definition),
            ..ServerConfig::default()
        }),
        GuiOptions {
            secret_store: Some(syncwatch::model::SecretStoreKind::File),
            ..GuiOptions::default()
        },
    )
}

fn stack_on(
    builder: egui_kittest::HarnessBuilder<SyncwatchApp>,
    server: ServerConfig,
    options: GuiOptions,
) -> Stack {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut stack = stack_at(dir.path(), builder, server, options);
    stack._dir = Some(dir);
    stack
}

/// The window's start-up on `root/app` and a reference service on `root/service`, both kept
/// when the stack is dropped: a second `stack_in(root)` is the same laptop restarted (the
/// service on a new port).
pub fn stack_in(root: &Path) -> Stack {
    stack_at(
        root,
        Harness::builder().with_size(egui::vec2(1280.0, 800.0)),
        ServerConfig::default(),
        GuiOptions::default(),
    )
}

fn stack_at(
    root: &Path,
    builder: egui_kittest::HarnessBuilder<SyncwatchApp>,
    server: ServerConfig,
    options: GuiOptions,
) -> Stack {
    let mut gui = gui::assemble(&root.join("app"), options).expect("start-up");
    let server = gui
        .runtime
        .block_on(syncwatch::server::start(ServerConfig {
            data_dir: Some(root.join("service")),
            ..server
        }))
        .expect("server");
    gui.config.default_service_url = server.service_url();
    gui.config.demo = true;
    finish(builder, gui, Some(server), None)
}

/// What `syncwatch` does on start in demo mode, in `data_dir`: the demo service (on the port it
/// used last time, else `preferred_port`, else any), the engine behind an event tap, the seeding
/// of the demo replicas (first run only) and the window.
pub fn demo_stack(
    builder: egui_kittest::HarnessBuilder<SyncwatchApp>,
    data_dir: &Path,
    preferred_port: u16,
) -> Stack {
    let options = GuiOptions {
        demo: Some(DemoOptions {
            preferred_port,
            job_step_delay: Duration::ZERO,
        }),
        ..GuiOptions::default()
    };
    let mut gui = gui::assemble(data_dir, options).expect("start-up");
    let service = gui.demo.take().expect("demo service");
    finish(builder, gui, Some(service.server), None)
}

fn finish(
    builder: egui_kittest::HarnessBuilder<SyncwatchApp>,
    mut gui: Gui,
    server: Option<syncwatch::server::RunningServer>,
    dir: Option<tempfile::TempDir>,
) -> Stack {
    let handle = gui.engine.clone().expect("engine");
    let events = gui.events.take().expect("window events");
    let clicks = gui.config.notification_clicks.clone();
    let app = SyncwatchApp::new(
        gui.commands.clone(),
        events,
        Box::new(FixedPathPicker(None)),
        AppConfig {
            screenshot_path: None,
            first_frame_marker: None,
            ..gui.config.clone()
        },
        Persisted {
            show_log: false,
            ..Persisted::default()
        },
    );
    let mut h = builder.build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app);
    wait_until(&mut h, "the replica list", |a| a.vm.loaded);
    Stack {
        runtime: gui.into_runtime(),
        server,
        handle,
        h,
        clicks,
        _dir: dir,
    }
}

impl Stack {
    /// The window's data directory (`syncwatch.db`, `trusted-certificates/`…), for stacks made
    /// in a temp dir.
    pub fn app_data_dir(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|d| d.path().join("app"))
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
