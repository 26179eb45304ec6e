//! The desktop window (egui/eframe), the only module that imports egui. It owns a view model fed
//! by engine [`Event`]s and sends [`Command`]s; it never opens files, sockets or databases itself
//! (the one exception is the `SYNCWATCH_SCREENSHOT` developer hook, which saves a PNG).
//!
//! * [`app`]           the eframe app: event draining, layout, actions → commands, persistence.
//! * [`view_model`]    plain data built from events.
//! * [`replica_list`], [`replica_detail`], [`results_grid`], [`reset_modal`], [`log_panel`],
//!   [`dialogs`]       panels: `*_ui(ui, data) -> Action`.
//! * [`theme`]         badge colours and time formatting.
//! * [`fixtures`]      realistic fake events for tests, screenshots and benchmarks.
//! * [`bench`]         headless frame-time measurement.
//!
//! Start-up ([`run`]): builds the tokio runtime, the command queue and the event channel, starts
//! the backend on the runtime and opens the window; closing the window sends
//! `Command::Shutdown` and shuts the runtime down.

pub mod app;
pub mod bench;
pub mod dialogs;
pub mod fixtures;
pub mod log_panel;
pub mod replica_detail;
pub mod replica_list;
pub mod reset_modal;
pub mod results_grid;
pub mod theme;
pub mod view_model;

pub use app::{Action, AppConfig, Persisted, SyncwatchApp, Tab};

use crate::engine::{Command, Event, EventSender, Failure, FailureClass};
use std::path::PathBuf;
use std::sync::Arc;

/// Commands the UI may queue before `Busy` is shown.
pub const COMMAND_QUEUE: usize = 256;

/// Why a command was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The queue is full: the engine is behind. Shown as "busy"; the user may retry.
    Busy,
    /// The engine has stopped.
    Closed,
}

/// The UI's end of the command queue: a bounded tokio sender used with `try_send`, so the UI
/// thread never waits.
#[derive(Debug, Clone)]
pub struct CommandSink {
    tx: tokio::sync::mpsc::Sender<Command>,
}

impl CommandSink {
    pub fn new(tx: tokio::sync::mpsc::Sender<Command>) -> Self {
        CommandSink { tx }
    }

    /// A sink and its receiving end (tests, or to hand the receiver to the engine).
    pub fn channel(capacity: usize) -> (Self, tokio::sync::mpsc::Receiver<Command>) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity);
        (CommandSink { tx }, rx)
    }

    pub fn send(&self, command: Command) -> Result<(), SendError> {
        use tokio::sync::mpsc::error::TrySendError;
        self.tx.try_send(command).map_err(|e| match e {
            TrySendError::Full(_) => SendError::Busy,
            TrySendError::Closed(_) => SendError::Closed,
        })
    }
}

/// Chooses where a CSV export goes. The app uses [`RfdFilePicker`]; tests inject a path.
pub trait FilePicker {
    /// `None` when the user cancelled (or no dialog can be shown).
    fn save_csv_path(&mut self, suggested_name: &str) -> Option<PathBuf>;
}

/// The native "save as" dialog (rfd). On a headless machine it returns `None` at once.
pub struct RfdFilePicker;

impl FilePicker for RfdFilePicker {
    fn save_csv_path(&mut self, suggested_name: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Export edit results")
            .set_file_name(suggested_name)
            .add_filter("CSV", &["csv"])
            .save_file()
    }
}

/// Always answers the same path (tests, scripted runs).
#[derive(Debug, Clone, Default)]
pub struct FixedPathPicker(pub Option<PathBuf>);

impl FilePicker for FixedPathPicker {
    fn save_csv_path(&mut self, _suggested_name: &str) -> Option<PathBuf> {
        self.0.clone()
    }
}

/// Opens the window and blocks until it is closed. Returns the process exit code.
pub fn run() -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("syncwatch-engine")
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("could not start the async runtime: {e}"))?;
    let (commands, command_rx) = CommandSink::channel(COMMAND_QUEUE);
    let (event_tx, event_rx) = std::sync::mpsc::channel::<Event>();
    let use_fixtures = std::env::var_os("SYNCWATCH_UI_FIXTURES").is_some_and(|v| v == "1");
    let config = AppConfig {
        demo: use_fixtures,
        default_service_url: "http://127.0.0.1:8080/arcgis/rest/services/Demo/FeatureServer"
            .to_owned(),
        screenshot_path: std::env::var_os("SYNCWATCH_SCREENSHOT").map(PathBuf::from),
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Syncwatch")
            .with_app_id("syncwatch")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([900.0, 560.0]),
        ..Default::default()
    };
    let handle = runtime.handle().clone();
    let result = eframe::run_native(
        "syncwatch",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let events = EventSender::new(event_tx, Arc::new(move || ctx.request_repaint()));
            start_backend(&handle, command_rx, events, use_fixtures);
            let mut app = SyncwatchApp::from_creation_context(
                cc,
                commands,
                event_rx,
                Box::new(RfdFilePicker),
                config,
            );
            if use_fixtures {
                app.set_mock_now_ms(Some(fixtures::NOW_MS + 30_000));
            }
            Ok(Box::new(app))
        }),
    );
    runtime.shutdown_timeout(std::time::Duration::from_secs(3));
    result.map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))?;
    Ok(crate::cli::exit::OK)
}

/// Starts whatever answers the UI's commands on the runtime.
///
/// The engine (`engine::start`) is being written on another branch; until it is merged this
/// runs a stand-in that lists no replicas and reports every other command as not available.
/// With `SYNCWATCH_UI_FIXTURES=1` the stand-in replays [`fixtures`] instead (developer aid for
/// screenshots and checking the window under Xvfb).
fn start_backend(
    handle: &tokio::runtime::Handle,
    mut commands: tokio::sync::mpsc::Receiver<Command>,
    events: EventSender,
    use_fixtures: bool,
) {
    handle.spawn(async move {
        if use_fixtures {
            for e in fixtures::startup_events() {
                events.send(e);
            }
            for e in fixtures::running_job_events() {
                events.send(e);
            }
        }
        while let Some(command) = commands.recv().await {
            match command {
                Command::Shutdown => break,
                Command::RefreshReplicas if !use_fixtures => {
                    events.send(Event::ReplicasLoaded { replicas: vec![] })
                }
                Command::RefreshReplicas | Command::LoadEditResults { .. } if use_fixtures => {}
                Command::Reset { .. } if use_fixtures => {
                    events.send(fixtures::reset_awaiting_event())
                }
                Command::ConfirmReset { .. } if use_fixtures => {
                    events.send(fixtures::after_recovery_event())
                }
                other => events.send(Event::CommandFailed {
                    what: command_name(&other).to_owned(),
                    error: Failure {
                        class: FailureClass::Local,
                        code: None,
                        message: "the sync engine is not part of this build yet".to_owned(),
                    },
                }),
            }
        }
    });
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::RefreshReplicas => "Refresh",
        Command::CreateReplica(_) => "Create replica",
        Command::SyncNow { .. } => "Sync now",
        Command::SyncAll => "Sync all",
        Command::Cancel { .. } => "Cancel",
        Command::FixEdit { .. } => "Fix edit",
        Command::DropEdit { .. } => "Drop edit",
        Command::Unregister { .. } => "Unregister",
        Command::SetAutoSync { .. } => "Set auto-sync",
        Command::SetResetMode { .. } => "Set reset mode",
        Command::Reset { .. } => "Reset",
        Command::ConfirmReset { .. } => "Confirm reset",
        Command::CancelReset { .. } => "Cancel reset",
        Command::LoadEditResults { .. } => "Load edit results",
        Command::ExportCsv { .. } => "Export CSV",
        Command::DemoTerminateSync => "Demo: terminate sync",
        Command::Shutdown => "Shutdown",
    }
}
