//! The desktop window (egui/eframe), the only module that imports egui. It owns a view model fed
//! by engine [`Event`]s and sends [`Command`]s; it never opens files, sockets or databases itself
//! (the one exception is the `SYNCWATCH_SCREENSHOT` developer hook, which saves a PNG).
//!
//! * [`app`]           the eframe app: event draining, layout, actions → commands, persistence.
//! * [`view_model`]    plain data built from events.
//! * [`replica_list`], [`replica_detail`], [`results_grid`], [`reset_modal`], [`log_panel`],
//!   [`dialogs`]       panels: `*_ui(ui, data) -> Action`.
//! * [`theme`]         badge colours and time formatting.
//! * [`demo`]          the embedded demo service and the first-run demo replicas (no egui).
//! * [`fixtures`]      realistic fake events for tests, screenshots and benchmarks.
//! * [`bench`]         headless frame-time measurement.
//!
//! Start-up ([`run`]): builds the tokio runtime, starts the embedded demo service and the engine
//! on it, seeds the demo replicas on the runtime (first run only), opens the window; closing the
//! window sends `Command::Shutdown`, waits for the engine and stops the demo service and the
//! runtime.

pub mod app;
pub mod bench;
pub mod demo;
pub mod dialogs;
pub mod fixtures;
pub mod log_panel;
pub mod replica_detail;
pub mod replica_list;
pub mod reset_modal;
pub mod results_grid;
mod row_order;
pub mod theme;
pub mod view_model;

pub use app::{Action, AppConfig, Persisted, SyncwatchApp, Tab};

use crate::engine::{Command, EngineConfig, Event, EventSender, Failure, FailureClass};
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

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

/// The UI's end of the command queue: a bounded tokio sender used with `try_send` (a test
/// channel, or the engine's own handle), so the UI thread never waits.
#[derive(Debug, Clone)]
pub struct CommandSink {
    inner: SinkInner,
}

#[derive(Clone)]
enum SinkInner {
    Channel(tokio::sync::mpsc::Sender<Command>),
    Engine(Box<EngineSink>),
}

#[derive(Clone)]
struct EngineSink {
    handle: crate::engine::EngineHandle,
}

impl std::fmt::Debug for SinkInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkInner::Channel(_) => f.write_str("Channel"),
            SinkInner::Engine(sink) => f.debug_tuple("Engine").field(&sink.handle).finish(),
        }
    }
}

impl CommandSink {
    pub fn new(tx: tokio::sync::mpsc::Sender<Command>) -> Self {
        CommandSink {
            inner: SinkInner::Channel(tx),
        }
    }

    /// A sink and its receiving end (tests, or to hand the receiver to a stand-in backend).
    pub fn channel(capacity: usize) -> (Self, tokio::sync::mpsc::Receiver<Command>) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity);
        (Self::new(tx), rx)
    }

    /// Sends through the running engine's handle.
    pub fn engine(handle: crate::engine::EngineHandle) -> Self {
        CommandSink {
            inner: SinkInner::Engine(Box::new(EngineSink { handle })),
        }
    }

    pub fn send(&self, command: Command) -> Result<(), SendError> {
        use tokio::sync::mpsc::error::TrySendError;
        match &self.inner {
            SinkInner::Channel(tx) => tx.try_send(command).map_err(|e| match e {
                TrySendError::Full(_) => SendError::Busy,
                TrySendError::Closed(_) => SendError::Closed,
            }),
            SinkInner::Engine(sink) => sink.handle.try_send(command).map_err(|e| match e {
                crate::engine::SendError::Busy(_) => SendError::Busy,
                crate::engine::SendError::Stopped(_) => SendError::Closed,
            }),
        }
    }
}

/// Chooses where a CSV export goes without blocking the window: [`FilePicker::pick_save_csv`]
/// returns at once and the answer arrives through [`PendingPick::poll`] on a later frame. The
/// app uses [`RfdFilePicker`]; tests inject a path with [`FixedPathPicker`].
pub trait FilePicker {
    /// Starts asking. `ctx` is repainted when the answer is there.
    fn pick_save_csv(&mut self, ctx: &egui::Context, suggested_name: &str) -> PendingPick;
}

/// A file dialog's answer that may not have arrived yet.
#[derive(Debug)]
pub struct PendingPick {
    answer: std::sync::mpsc::Receiver<Option<PathBuf>>,
}

impl PendingPick {
    /// A pick and the sender its answer comes through.
    pub fn channel() -> (std::sync::mpsc::Sender<Option<PathBuf>>, PendingPick) {
        let (tx, answer) = std::sync::mpsc::channel();
        (tx, PendingPick { answer })
    }

    /// An answer that is already known.
    pub fn ready(path: Option<PathBuf>) -> PendingPick {
        let (tx, pick) = Self::channel();
        let _ = tx.send(path);
        pick
    }

    /// `None` while the dialog is open; then once `Some(path)` (`Some(None)`: cancelled).
    pub fn poll(&self) -> Option<Option<PathBuf>> {
        match self.answer.try_recv() {
            Ok(path) => Some(path),
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => Some(None),
        }
    }
}

/// The native "save as" dialog (rfd's async dialog, driven on its own thread so the window keeps
/// drawing). On a headless machine it answers `None` at once.
pub struct RfdFilePicker;

impl FilePicker for RfdFilePicker {
    fn pick_save_csv(&mut self, ctx: &egui::Context, suggested_name: &str) -> PendingPick {
        let (tx, pick) = PendingPick::channel();
        let dialog = rfd::AsyncFileDialog::new()
            .set_title("Export edit results")
            .set_file_name(suggested_name)
            .add_filter("CSV", &["csv"]);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("syncwatch-file-dialog".into())
            .spawn(move || {
                let chosen = pollster::block_on(dialog.save_file());
                let _ = tx.send(chosen.map(|file| file.path().to_path_buf()));
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the file dialog thread");
        }
        // A failed spawn dropped the sender: the pick then reads as cancelled.
        pick
    }
}

/// Always answers the same path at once (tests, scripted runs).
#[derive(Debug, Clone, Default)]
pub struct FixedPathPicker(pub Option<PathBuf>);

impl FilePicker for FixedPathPicker {
    fn pick_save_csv(&mut self, _ctx: &egui::Context, _suggested_name: &str) -> PendingPick {
        PendingPick::ready(self.0.clone())
    }
}

pub use demo::DEMO_PORT;

/// Opens the window and blocks until it is closed. Returns the process exit code.
///
/// Starts, on one tokio runtime: the embedded demo service on loopback (unless
/// `SYNCWATCH_NO_DEMO=1`; see [`demo`]), the sync engine on `data_dir` (`--data-dir`,
/// `SYNCWATCH_DATA_DIR`, else the platform data directory) and, on a first run, the seeding of the
/// demo replicas. Developer hooks: `SYNCWATCH_UI_FIXTURES=1` replays [`fixtures`] instead of
/// running the engine; `SYNCWATCH_SCREENSHOT=path.png` saves a screenshot after a few frames and
/// closes; `SYNCWATCH_FIRST_FRAME_FILE=path` writes that file once the first frame is laid out.
pub fn run(data_dir: Option<&Path>) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("syncwatch-engine")
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let use_fixtures = env_flag("SYNCWATCH_UI_FIXTURES");
    let data_dir = match data_dir {
        Some(dir) => dir.to_path_buf(),
        None => directories::ProjectDirs::from("org", "syncwatch", "syncwatch")
            .map(|d| d.data_dir().to_path_buf())
            .ok_or_else(|| anyhow::anyhow!("no home directory found; pass --data-dir"))?,
    };
    // Repaints are requested through this cell once the window (and its context) exists;
    // events sent before that wait in the channel and are drained on the first frame.
    let egui_ctx: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
    let waker_ctx = egui_ctx.clone();
    let waker: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        if let Some(ctx) = waker_ctx.get() {
            ctx.request_repaint();
        }
    });
    // Coalescing: however slowly the window reads, a job's progress and a replica's summary wait
    // at most once each.
    let (window_events, event_rx) = crate::engine::event_channel(waker.clone());

    let demo = if use_fixtures || env_flag("SYNCWATCH_NO_DEMO") {
        None
    } else {
        let delay = std::time::Duration::from_millis(400);
        match runtime.block_on(demo::start_service(&data_dir, DEMO_PORT, delay)) {
            Ok(service) => Some(service),
            Err(e) => {
                eprintln!(
                    "syncwatch: the demo service could not start ({e:#}); continuing without it"
                );
                None
            }
        }
    };

    let mut seed_progress = None;
    let (commands, engine_join) = if use_fixtures {
        let (sink, rx) = CommandSink::channel(COMMAND_QUEUE);
        runtime.spawn(fixture_backend(rx, window_events));
        (sink, None)
    } else {
        let _entered = runtime.enter();
        let (engine_events, tap) = demo::EventTap::start(window_events);
        let config = engine_config(&data_dir, demo.as_ref().map(|d| &d.server));
        let (handle, join) = crate::engine::start(config, engine_events)
            .with_context(|| format!("could not start the engine in {}", data_dir.display()))?;
        if let Some(service) = &demo {
            seed_progress = Some(start_demo_seeding(
                runtime.handle(),
                &handle,
                &tap,
                service,
                &data_dir,
                waker.clone(),
            ));
        }
        (CommandSink::engine(handle), Some(join))
    };

    let config = AppConfig {
        demo: demo.is_some() || use_fixtures,
        default_service_url: demo
            .as_ref()
            .map_or_else(|| "https://".to_owned(), |d| d.server.service_url()),
        screenshot_path: std::env::var_os("SYNCWATCH_SCREENSHOT").map(PathBuf::from),
        first_frame_marker: std::env::var_os("SYNCWATCH_FIRST_FRAME_FILE").map(PathBuf::from),
        demo_seed: seed_progress,
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Syncwatch")
            .with_app_id("syncwatch")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([900.0, 560.0]),
        // Window size and position come back from eframe storage (stated, because the layout
        // promise depends on it); panel sizes come back with egui's memory.
        persist_window: true,
        ..Default::default()
    };
    let shutdown_sink = commands.clone();
    let result = eframe::run_native(
        "syncwatch",
        options,
        Box::new(move |cc| {
            let _ = egui_ctx.set(cc.egui_ctx.clone());
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
    // Let running jobs reach a checkpoint, then stop the demo service and the runtime.
    let _ = shutdown_sink.send(Command::Shutdown);
    drop(shutdown_sink);
    if let Some(join) = engine_join {
        let _ = runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(10), join).await
        });
    }
    if let Some(service) = demo {
        runtime.block_on(service.server.shutdown());
    }
    runtime.shutdown_timeout(std::time::Duration::from_secs(3));
    result.map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))?;
    Ok(crate::cli::exit::OK)
}

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v == "1")
}

/// Re-points the demo replicas if the service moved, then seeds the demo replicas on the runtime
/// (a no-op after the first run). Returns the progress the window shows.
pub fn start_demo_seeding(
    runtime: &tokio::runtime::Handle,
    handle: &crate::engine::EngineHandle,
    tap: &demo::EventTap,
    service: &demo::DemoService,
    data_dir: &Path,
    waker: Arc<dyn Fn() + Send + Sync>,
) -> tokio::sync::watch::Receiver<demo::SeedProgress> {
    let (reporter, progress) = demo::SeedReporter::new(waker);
    let listener = tap.listen();
    let repoint = service.repoint_command();
    let (handle, url, dir) = (
        handle.clone(),
        service.server.service_url(),
        data_dir.to_path_buf(),
    );
    runtime.spawn(async move {
        if let Some(command) = repoint
            && handle.send(command).await.is_err()
        {
            return;
        }
        if let Err(e) = demo::seed(handle, listener, url, dir, reporter).await {
            tracing::warn!(error = %e, "the demo replicas could not be seeded");
        }
    });
    progress
}

/// Replays [`fixtures`] and answers a few commands the way the engine would (developer aid
/// for screenshots and for checking the window under Xvfb without a service).
async fn fixture_backend(mut commands: tokio::sync::mpsc::Receiver<Command>, events: EventSender) {
    for e in fixtures::startup_events()
        .into_iter()
        .chain(fixtures::running_job_events())
    {
        events.send(e);
    }
    while let Some(command) = commands.recv().await {
        match command {
            Command::Shutdown => break,
            Command::RefreshReplicas | Command::LoadEditResults { .. } => {}
            Command::Reset { .. } => events.send(fixtures::reset_awaiting_event()),
            Command::ConfirmReset { .. } => events.send(fixtures::after_recovery_event()),
            other => events.send(Event::CommandFailed {
                what: format!("{other:?}").chars().take(40).collect(),
                error: Failure {
                    class: FailureClass::Local,
                    code: None,
                    message: "fixture mode: no engine is running".to_owned(),
                },
                command: None,
            }),
        }
    }
}

/// The engine's settings for the window: automatic resets on detection, and the demo service's
/// admin API when the demo runs.
fn engine_config(data_dir: &Path, demo: Option<&crate::server::RunningServer>) -> EngineConfig {
    EngineConfig {
        demo_admin: demo.map(|server| crate::engine::DemoAdmin {
            base_url: server.base_url().to_string(),
            admin_key: server.admin_key().to_string(),
        }),
        ..EngineConfig::new(data_dir)
    }
}
