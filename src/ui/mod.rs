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
//! Start-up ([`run`]): builds the tokio runtime, starts the embedded demo service and the engine
//! on it, opens the window; closing the window sends `Command::Shutdown`, waits for the engine
//! and stops the demo service and the runtime.

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

use crate::engine::{Command, EngineConfig, Event, EventSender, Failure, FailureClass};
use crate::server::ServerConfig;
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
    runtime: tokio::runtime::Handle,
    events: EventSender,
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

    /// Sends through the running engine's handle. `runtime` and `events` serve
    /// [`CommandSink::edit_features_then_sync`], whose engine call is async.
    pub fn engine(
        handle: crate::engine::EngineHandle,
        runtime: tokio::runtime::Handle,
        events: EventSender,
    ) -> Self {
        CommandSink {
            inner: SinkInner::Engine(Box::new(EngineSink {
                handle,
                runtime,
                events,
            })),
        }
    }

    /// Records local edits (the engine's `edit_feature`, not a `Command`) one after another on
    /// the runtime, reporting each through the event channel, then queues a sync of the replica.
    /// Used by "Create a demo replica". A test channel ignores it.
    pub fn edit_features_then_sync(
        &self,
        replica: crate::engine::LocalReplicaId,
        layer_id: i64,
        edits: Vec<crate::engine::LocalEdit>,
    ) {
        let SinkInner::Engine(sink) = &self.inner else {
            return;
        };
        let (handle, events) = (sink.handle.clone(), sink.events.clone());
        sink.runtime.spawn(async move {
            for edit in edits {
                match handle.edit_feature(replica, layer_id, edit).await {
                    Ok(summary) => events.send(Event::ReplicaChanged { summary }),
                    Err(e) => events.send(Event::CommandFailed {
                        what: "record a local edit".to_owned(),
                        error: Failure {
                            class: FailureClass::Local,
                            code: None,
                            message: format!("{e:#}"),
                        },
                    }),
                }
            }
            let sync = Command::SyncNow {
                replica,
                options: crate::engine::SyncOptions::default(),
            };
            if handle.send(sync).await.is_err() {
                events.send(Event::CommandFailed {
                    what: "Sync now".to_owned(),
                    error: Failure {
                        class: FailureClass::Local,
                        code: None,
                        message: "the sync engine has stopped".to_owned(),
                    },
                });
            }
        });
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

/// Default loopback port of the embedded demo service (a fixed port keeps demo replicas
/// working across restarts; a free port is used when it is taken).
pub const DEMO_PORT: u16 = 47_817;

/// Opens the window and blocks until it is closed. Returns the process exit code.
///
/// Starts, on one tokio runtime: the embedded demo feature service on loopback (unless
/// `SYNCWATCH_NO_DEMO=1`) and the sync engine on `data_dir` (`--data-dir`,
/// `SYNCWATCH_DATA_DIR`, else the platform data directory). Developer hooks:
/// `SYNCWATCH_UI_FIXTURES=1` replays [`fixtures`] instead of running the engine;
/// `SYNCWATCH_SCREENSHOT=path.png` saves a screenshot after a few frames and closes.
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
    // Coalescing: however slowly the window reads, a job's progress and a replica's summary wait
    // at most once each.
    let (events, event_rx) = crate::engine::event_channel(Arc::new(move || {
        if let Some(ctx) = waker_ctx.get() {
            ctx.request_repaint();
        }
    }));

    let demo = if use_fixtures || env_flag("SYNCWATCH_NO_DEMO") {
        None
    } else {
        match runtime.block_on(start_demo_service(&data_dir)) {
            Ok(server) => Some(server),
            Err(e) => {
                eprintln!(
                    "syncwatch: the demo service could not start ({e:#}); continuing without it"
                );
                None
            }
        }
    };

    let (commands, engine_join) = if use_fixtures {
        let (sink, rx) = CommandSink::channel(COMMAND_QUEUE);
        runtime.spawn(fixture_backend(rx, events));
        (sink, None)
    } else {
        let _entered = runtime.enter();
        let (handle, join) =
            crate::engine::start(engine_config(&data_dir, demo.as_ref()), events.clone())
                .with_context(|| format!("could not start the engine in {}", data_dir.display()))?;
        let sink = CommandSink::engine(handle, runtime.handle().clone(), events);
        (sink, Some(join))
    };

    let config = AppConfig {
        demo: demo.is_some() || use_fixtures,
        default_service_url: demo.as_ref().map_or_else(
            || "https://".to_owned(),
            crate::server::RunningServer::service_url,
        ),
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
    if let Some(server) = demo {
        runtime.block_on(server.shutdown());
    }
    runtime.shutdown_timeout(std::time::Duration::from_secs(3));
    result.map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))?;
    Ok(crate::cli::exit::OK)
}

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v == "1")
}

/// The demo water network on loopback, its data kept under `data_dir/demo-service`.
async fn start_demo_service(data_dir: &Path) -> anyhow::Result<crate::server::RunningServer> {
    let mut config = ServerConfig {
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], DEMO_PORT)),
        data_dir: Some(data_dir.join("demo-service")),
        job_step_delay: std::time::Duration::from_millis(400),
        ..ServerConfig::default()
    };
    match crate::server::start(config.clone()).await {
        Ok(server) => Ok(server),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            config.addr.set_port(0);
            Ok(crate::server::start(config).await?)
        }
        Err(e) => Err(e.into()),
    }
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
