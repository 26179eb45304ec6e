//! Start-up of the desktop window: [`assemble`] builds the tokio runtime, starts the embedded demo
//! service (unless turned off), the engine behind the demo's event tap and, on a first run, the
//! seeding of the demo replicas and the desktop notifier ([`Notifications`]), and hands the
//! window what it needs ([`Gui`]); [`run`] opens the
//! window with eframe and, once it is closed, shuts everything down. Tests that drive the window
//! on the real engine call [`assemble`] too. The window itself (`ui`) starts nothing.

use super::terminal::errln;
use crate::demo::{self, DemoAdmin, DemoService, EventTap, SeedProgress};
use crate::desktop::DesktopNotifier;
use crate::engine::{
    self, Command, EngineHandle, Event, EventReceiver, EventSender, Failure, FailureClass,
};
use crate::model::{NotificationClicks, Notifier};
use crate::ui::window::{self, Repaint};
use crate::ui::{AppConfig, CommandSink, DemoControls, PendingDemoCall, fixtures};
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Commands the fixture backend's queue holds before the window shows "busy" (the real engine's
/// queue holds [`engine::COMMAND_QUEUE_CAPACITY`]).
pub const FIXTURE_COMMAND_QUEUE: usize = 256;

/// How the embedded demo service is started.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Tried after the port of the last start (see [`demo::start_service`]).
    pub preferred_port: u16,
    /// Makes the demo service's async jobs visible in the window.
    pub job_step_delay: Duration,
}

/// What to start for the window.
#[derive(Debug, Clone, Default)]
pub struct GuiOptions {
    /// Replay [`fixtures`] instead of running the engine (`SYNCWATCH_UI_FIXTURES=1`).
    pub fixtures: bool,
    /// The embedded demo service, or `None` (`SYNCWATCH_NO_DEMO=1`).
    pub demo: Option<DemoOptions>,
    /// `SYNCWATCH_SCREENSHOT=path.png`: save a screenshot after a few frames and close.
    pub screenshot_path: Option<PathBuf>,
    /// `SYNCWATCH_FIRST_FRAME_FILE=path`: write that file once the first frame is laid out.
    pub first_frame_marker: Option<PathBuf>,
    /// Where the engine keeps new secrets (`None`: its own choice, see `credentials`); tests
    /// on machines without a keychain choose the file store.
    pub secret_store: Option<crate::model::SecretStoreKind>,
    /// Who shows the window's desktop notifications.
    pub notifications: Notifications,
}

/// Who shows the window's desktop notifications.
#[derive(Debug, Clone, Default)]
pub enum Notifications {
    /// Nobody (the window still follows them): the default, so tests that drive the window pop
    /// nothing up on a developer's desktop.
    #[default]
    Off,
    /// The desktop's notification service ([`crate::desktop::DesktopNotifier`]); `syncwatch`
    /// itself, unless `SYNCWATCH_NO_NOTIFICATIONS=1` (or it replays fixtures or takes a
    /// screenshot).
    Desktop,
    /// This notifier (tests that watch what the window announces).
    Given(Arc<dyn Notifier>),
}

impl GuiOptions {
    /// The options `syncwatch` (no subcommand) reads from its environment.
    pub fn from_env() -> Self {
        let fixtures = env_flag("SYNCWATCH_UI_FIXTURES");
        let screenshot_path = std::env::var_os("SYNCWATCH_SCREENSHOT").map(PathBuf::from);
        // Replayed fixtures and screenshot runs are no news for the desktop.
        let quiet = fixtures || screenshot_path.is_some() || env_flag("SYNCWATCH_NO_NOTIFICATIONS");
        GuiOptions {
            fixtures,
            demo: (!fixtures && !env_flag("SYNCWATCH_NO_DEMO")).then(|| DemoOptions {
                preferred_port: demo::DEMO_PORT,
                job_step_delay: Duration::from_millis(400),
            }),
            screenshot_path,
            first_frame_marker: std::env::var_os("SYNCWATCH_FIRST_FRAME_FILE").map(PathBuf::from),
            secret_store: None,
            notifications: if quiet {
                Notifications::Off
            } else {
                Notifications::Desktop
            },
        }
    }
}

/// Everything started for the window, and what the window is given.
pub struct Gui {
    pub runtime: tokio::runtime::Runtime,
    /// The embedded demo service, when it runs.
    pub demo: Option<DemoService>,
    /// The engine, unless the window replays fixtures.
    pub engine: Option<EngineHandle>,
    engine_join: Option<tokio::task::JoinHandle<()>>,
    /// The window's end of the command queue.
    pub commands: CommandSink,
    /// The window's end of the event channel (taken by the window).
    pub events: Option<EventReceiver>,
    /// How the window is configured (demo banner, seeding progress, demo controls).
    pub config: AppConfig,
    /// Wakes the window once it exists.
    repaint: Repaint,
    fixtures: bool,
}

/// Starts, on one tokio runtime: the embedded demo service on loopback (see [`GuiOptions`]), the
/// sync engine on `data_dir` and, on a first run, the seeding of the demo replicas; or the fixture
/// backend instead of the engine.
pub fn assemble(data_dir: &Path, options: GuiOptions) -> anyhow::Result<Gui> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("syncwatch-engine")
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    // Events sent before the window exists wait in the channel and are drained on the first frame.
    let repaint = Repaint::default();
    let waker = repaint.waker();
    // Coalescing: however slowly the window reads, a job's progress and a replica's summary wait
    // at most once each.
    let (window_events, event_rx) = engine::event_channel(waker.clone());
    // A click on a notification wakes the window, which then selects that replica.
    let notification_clicks = NotificationClicks::new(waker.clone());
    let notifier: Option<Arc<dyn Notifier>> = match options.notifications {
        Notifications::Off => None,
        Notifications::Desktop => Some(Arc::new(DesktopNotifier::start(
            notification_clicks.clone(),
        ))),
        Notifications::Given(notifier) => Some(notifier),
    };

    let demo = match (&options.demo, options.fixtures) {
        (Some(demo_options), false) => start_demo(&runtime, data_dir, demo_options),
        _ => None,
    };

    let mut demo_seed = None;
    let mut demo_controls: Option<Arc<dyn DemoControls>> = None;
    let (commands, engine, engine_join) = if options.fixtures {
        let (sink, rx) = CommandSink::channel(FIXTURE_COMMAND_QUEUE);
        demo_controls = Some(Arc::new(WindowDemoControls {
            runtime: runtime.handle().clone(),
            admin: None,
            window: window_events.clone(),
            waker: waker.clone(),
        }));
        runtime.spawn(fixture_backend(rx, window_events));
        (sink, None, None)
    } else {
        let _entered = runtime.enter();
        let window = window_events.clone();
        let (engine_events, tap) = EventTap::start(window_events);
        let mut config = super::session::engine_config(data_dir)?;
        config.secret_store = options.secret_store;
        let (handle, join) = engine::start(config, engine_events)
            .with_context(|| format!("could not start the engine in {}", data_dir.display()))?;
        if let Some(service) = &demo {
            demo_seed = Some(start_demo_seeding(
                runtime.handle(),
                &handle,
                &tap,
                service,
                data_dir,
                window.clone(),
                waker.clone(),
            ));
            demo_controls = Some(Arc::new(WindowDemoControls {
                runtime: runtime.handle().clone(),
                admin: Some(DemoAdmin::of(&service.server)),
                window,
                waker: waker.clone(),
            }));
        }
        (
            CommandSink::engine(handle.clone()),
            Some(handle),
            Some(join),
        )
    };

    let config = AppConfig {
        demo: demo.is_some() || options.fixtures,
        default_service_url: demo
            .as_ref()
            .map_or_else(|| "https://".to_owned(), |d| d.server.service_url()),
        screenshot_path: options.screenshot_path,
        first_frame_marker: options.first_frame_marker,
        demo_seed,
        demo_controls,
        notifier,
        notification_clicks,
    };
    Ok(Gui {
        runtime,
        demo,
        engine,
        engine_join,
        commands,
        events: Some(event_rx),
        config,
        repaint,
        fixtures: options.fixtures,
    })
}

/// The demo service, or `None` (with a word on stderr) when it could not start.
fn start_demo(
    runtime: &tokio::runtime::Runtime,
    data_dir: &Path,
    options: &DemoOptions,
) -> Option<DemoService> {
    let started = runtime.block_on(demo::start_service(
        data_dir,
        options.preferred_port,
        options.job_step_delay,
    ));
    match started {
        Ok(service) => Some(service),
        Err(e) => {
            errln!("syncwatch: the demo service could not start ({e:#}); continuing without it");
            None
        }
    }
}

impl Gui {
    /// The runtime alone, for a caller that keeps the engine's handle and the service and stops
    /// them itself (the window tests).
    pub fn into_runtime(self) -> tokio::runtime::Runtime {
        self.runtime
    }

    /// Lets running jobs reach a checkpoint, then stops the demo service and the runtime.
    pub fn shutdown(self) {
        let Gui {
            runtime,
            demo,
            engine_join,
            commands,
            ..
        } = self;
        let _ = commands.send(Command::Shutdown);
        drop(commands);
        if let Some(join) = engine_join {
            let _ = runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), join).await });
        }
        if let Some(service) = demo {
            runtime.block_on(service.server.shutdown());
        }
        runtime.shutdown_timeout(Duration::from_secs(3));
    }
}

/// Opens the window and blocks until it is closed; returns the process exit code.
///
/// The data directory is `data_dir` (`--data-dir`, `SYNCWATCH_DATA_DIR`), else the platform data
/// directory; the rest comes from [`GuiOptions::from_env`].
pub fn run(data_dir: Option<&Path>) -> anyhow::Result<u8> {
    let data_dir = match data_dir {
        Some(dir) => dir.to_path_buf(),
        None => directories::ProjectDirs::from("org", "syncwatch", "syncwatch")
            .map(|d| d.data_dir().to_path_buf())
            .ok_or_else(|| anyhow::anyhow!("no home directory found; pass --data-dir"))?,
    };
    let mut gui = assemble(&data_dir, GuiOptions::from_env())?;
    let events = gui
        .events
        .take()
        .ok_or_else(|| anyhow::anyhow!("the window's events were already taken"))?;
    // Fixture mode: a clock just after the fixtures' events, so their times read naturally.
    let mock_now_ms = gui.fixtures.then_some(fixtures::NOW_MS + 30_000);
    let result = window::open(
        gui.repaint.clone(),
        gui.commands.clone(),
        events,
        gui.config.clone(),
        mock_now_ms,
    );
    gui.shutdown();
    result.map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))?;
    Ok(super::exit::OK)
}

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v == "1")
}

/// Re-points the demo replicas if the service moved, then seeds the demo replicas on the runtime
/// (a no-op after the first run). Returns the progress the window shows.
pub fn start_demo_seeding(
    runtime: &tokio::runtime::Handle,
    handle: &EngineHandle,
    tap: &EventTap,
    service: &DemoService,
    data_dir: &Path,
    window: EventSender,
    waker: Arc<dyn Fn() + Send + Sync>,
) -> tokio::sync::watch::Receiver<SeedProgress> {
    let (reporter, progress) = demo::SeedReporter::new(waker);
    let listener = tap.listen();
    let repoint = service.repoint_command();
    let admin = DemoAdmin::of(&service.server);
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
        if let Err(e) = demo::seed(handle, listener, admin, window, url, dir, reporter).await {
            tracing::warn!(error = %e, "the demo replicas could not be seeded");
        }
    });
    progress
}

/// The Demo menu's requests, run on the runtime. Reports to the window's log as the engine
/// reports a command: a log line on success, a failed command otherwise.
struct WindowDemoControls {
    runtime: tokio::runtime::Handle,
    /// `None` in fixture mode: there is no demo service to ask.
    admin: Option<DemoAdmin>,
    window: EventSender,
    /// Wakes the window when the answer is there.
    waker: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for WindowDemoControls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowDemoControls")
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

impl DemoControls for WindowDemoControls {
    fn terminate_and_reenable_sync(&self) -> PendingDemoCall {
        let (answer, call) = PendingDemoCall::channel();
        let Some(admin) = self.admin.clone() else {
            let message = "fixture mode: no engine is running";
            self.window.send(Event::CommandFailed {
                what: "DemoTerminateSync".to_owned(),
                error: Failure {
                    class: FailureClass::Local,
                    code: None,
                    message: message.to_owned(),
                },
                command: None,
            });
            let _ = answer.send(Err(message.to_owned()));
            return call;
        };
        let (window, waker) = (self.window.clone(), self.waker.clone());
        self.runtime.spawn(async move {
            let result = match admin.terminate_and_reenable_sync().await {
                Ok(()) => {
                    window.send(demo::admin::terminated_event());
                    Ok(())
                }
                Err(e) => {
                    window.send(demo::admin::terminate_failed_event(&e));
                    Err(e.to_string())
                }
            };
            let _ = answer.send(result);
            waker();
        });
        call
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
                command: None,
            }),
        }
    }
}
