//! What every headless command shares: the data directory, an engine on a small tokio runtime,
//! waiting for the events that answer a command, resolving `<replica>` (name or replicaID), and
//! the progress bar (only on a terminal, never with `--json`).

use crate::engine::{
    self, Command, CommandId, EditResultRecord, EngineConfig, EngineHandle, Event, EventReceiver,
    LocalEdit, LocalReplicaId, ReplicaSummary, WaitError,
};
use anyhow::{Context, anyhow, bail};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::engine::{JobEnd, Predicted};

/// The `--ca-cert` file, set once at start; every engine this process starts trusts it.
static CA_CERT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Remembers the global `--ca-cert` (or `SYNCWATCH_CA_CERT`) for the engines started later.
pub fn trust_ca_cert(path: Option<PathBuf>) {
    if let Some(path) = path {
        let _ = CA_CERT.set(path);
    }
}

/// The `--download-format` of `create` or `sync`, set once before its engine starts.
static DOWNLOAD_FORMAT: std::sync::OnceLock<engine::DownloadFormat> = std::sync::OnceLock::new();

/// Remembers a command's `--download-format` for the engine it starts.
pub fn use_download_format(format: engine::DownloadFormat) {
    let _ = DOWNLOAD_FORMAT.set(format);
}

/// Reads `--download-format auto|json|sqlite`.
pub fn parse_download_format(text: &str) -> Result<engine::DownloadFormat, String> {
    engine::DownloadFormat::parse(text)
        .ok_or_else(|| format!("{text:?} is not a download format; use auto, json or sqlite"))
}

/// The engine's settings for `data_dir`, trusting the `--ca-cert` file if one was given, asking
/// results in the `--download-format` if one was given.
pub fn engine_config(data_dir: &Path) -> anyhow::Result<EngineConfig> {
    let mut config = EngineConfig::new(data_dir);
    if let Some(format) = DOWNLOAD_FORMAT.get() {
        config.download_format = *format;
    }
    match CA_CERT.get() {
        Some(path) => Ok(config.trust_ca_file(path)?),
        None => Ok(config),
    }
}

/// How long a command waits for the engine before giving up (a job always ends before this).
const EVENT_TIMEOUT: Duration = Duration::from_secs(6 * 3600);
/// How long a command that queues no job waits for its answer. The engine answers every command
/// (with the answer, or with the command's `CommandFailed`), so this only ends the wait of an
/// engine that stopped answering.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long shutdown waits for the engine to finish.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// The data directory: `--data-dir` / `SYNCWATCH_DATA_DIR`, else the platform's data directory.
pub fn data_dir(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    directories::ProjectDirs::from("org", "syncwatch", "syncwatch")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| anyhow!("no home directory found; pass --data-dir"))
}

/// A running engine and its events.
pub struct Session {
    runtime: tokio::runtime::Runtime,
    handle: EngineHandle,
    events: EventReceiver,
    join: tokio::task::JoinHandle<()>,
    replicas: Vec<ReplicaSummary>,
    /// The stored sync error log, as the engine sent it at start.
    stored_log: Vec<engine::LogEntry>,
    show_progress: bool,
}

impl Session {
    /// Starts the engine on the data directory. `quiet`: no progress bar (`--json`).
    pub fn start(data_dir: &Path, quiet: bool) -> anyhow::Result<Session> {
        Session::start_with_store(data_dir, quiet, None)
    }

    /// [`Session::start`] with new secrets going to `secret_store` (`login --secret-store`).
    pub fn start_with_store(
        data_dir: &Path,
        quiet: bool,
        secret_store: Option<engine::SecretStoreKind>,
    ) -> anyhow::Result<Session> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("could not start the async runtime")?;
        let (handle, events, join) = {
            let _entered = runtime.enter();
            // Headless commands report a needed reset (exit 3); only `syncwatch reset` resets.
            let config = EngineConfig {
                reset_on_detection: false,
                secret_store,
                ..engine_config(data_dir)?
            };
            engine::start_with_channel(config)
                .with_context(|| format!("could not start the engine in {}", data_dir.display()))?
        };
        let mut session = Session {
            runtime,
            handle,
            events,
            join,
            replicas: Vec::new(),
            stored_log: Vec::new(),
            show_progress: !quiet && std::io::stderr().is_terminal(),
        };
        // The engine sends the stored log first, then the replicas.
        let mut stored_log = Vec::new();
        session.replicas = session.wait_for(|e| match e {
            Event::LogHistory { entries } => {
                stored_log = entries.clone();
                None
            }
            Event::ReplicasLoaded { replicas } => Some(Ok(replicas.clone())),
            Event::CommandFailed { error, .. } => Some(Err(anyhow!("{}", error.message))),
            _ => None,
        })??;
        session.stored_log = stored_log;
        Ok(session)
    }

    /// The sync error log stored when the session started, oldest first.
    pub fn stored_log(&self) -> &[engine::LogEntry] {
        &self.stored_log
    }

    /// [`Session::start`], then the replica named `name_or_id` ([`Session::resolve`]); the
    /// session is shut down again when there is no such replica.
    pub fn start_for(
        data_dir: &Path,
        quiet: bool,
        name_or_id: &str,
    ) -> anyhow::Result<(Session, ReplicaSummary)> {
        let session = Session::start(data_dir, quiet)?;
        match session.resolve(name_or_id) {
            Ok(summary) => Ok((session, summary)),
            Err(e) => {
                session.shutdown();
                Err(e)
            }
        }
    }

    /// The replicas known when the session started.
    pub fn replicas(&self) -> &[ReplicaSummary] {
        &self.replicas
    }

    /// The replica named `name_or_id`, or whose replicaID it is.
    pub fn resolve(&self, name_or_id: &str) -> anyhow::Result<ReplicaSummary> {
        if let Some(r) = self.replicas.iter().find(|r| r.name == name_or_id) {
            return Ok(r.clone());
        }
        if let Ok(guid) = crate::protocol::Guid::parse(name_or_id)
            && let Some(r) = self
                .replicas
                .iter()
                .find(|r| r.replica_guid.as_ref() == Some(&guid))
        {
            return Ok(r.clone());
        }
        bail!("no replica named {name_or_id:?} (see `syncwatch replicas`)")
    }

    /// The engine's handle, for the calls that answer directly.
    pub fn handle(&self) -> &EngineHandle {
        &self.handle
    }

    /// Runs a future of the engine's handle to its end on the session's runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Sends a command whose events the caller does not follow by id.
    pub fn send(&self, command: Command) -> anyhow::Result<()> {
        self.submit(command).map(|_| ())
    }

    /// Sends a command and returns the id the engine echoes in its events (its `JobQueued`
    /// and `CommandFailed`).
    pub fn submit(&self, command: Command) -> anyhow::Result<CommandId> {
        self.handle
            .blocking_submit(command)
            .map(|ticket| ticket.command())
            .map_err(|e| anyhow!("{e}"))
    }

    /// The replica's edit results: the server's, then the refusals predicted for its queued
    /// changes (`predicted: true`). A missing or damaged replica file is the command's error.
    pub fn edit_results(
        &self,
        replica: LocalReplicaId,
    ) -> anyhow::Result<std::sync::Arc<[EditResultRecord]>> {
        self.ask(Command::LoadEditResults { replica }, |e| match e {
            Event::EditResultsReady { replica: r, rows } if *r == replica => Some(rows.clone()),
            _ => None,
        })
    }

    /// Sends a command that queues no job and waits for its answer: the first event `pick`
    /// accepts, or the command's own `CommandFailed` (matched by its `CommandId`) as the error.
    pub fn ask<T>(
        &self,
        command: Command,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> anyhow::Result<T> {
        let ours = self.submit(command)?;
        self.events
            .wait_for(ANSWER_TIMEOUT, |e| match e {
                Event::CommandFailed {
                    error,
                    command: Some(c),
                    ..
                } if *c == ours => Some(Err(anyhow!("{}", error.message))),
                other => pick(other).map(Ok),
            })
            .map_err(|e| anyhow!("the engine did not answer: {e}"))?
    }

    /// Records a local edit through the engine; the replica's summary afterwards.
    pub fn edit_feature(
        &self,
        replica: LocalReplicaId,
        layer_id: i64,
        edit: LocalEdit,
    ) -> Result<ReplicaSummary, engine::EngineError> {
        self.runtime
            .block_on(self.handle.edit_feature(replica, layer_id, edit))
    }

    /// Waits until `pick` accepts an event.
    pub fn wait_for<T>(&self, pick: impl FnMut(&Event) -> Option<T>) -> anyhow::Result<T> {
        self.events
            .wait_for(EVENT_TIMEOUT, pick)
            .map_err(|_| anyhow!("the engine stopped answering"))
    }

    /// Sends a job command and follows its job to the end, with a progress bar on a terminal.
    pub fn run_job(&self, command: Command, what: &str) -> anyhow::Result<JobEnd> {
        let ticket = self
            .handle
            .blocking_submit(command)
            .map_err(|e| anyhow!("{e}"))?;
        let bar = self.progress_bar(what);
        let end = ticket.follow(&self.events, EVENT_TIMEOUT, |event| {
            if let (
                Some(bar),
                Event::JobStatus {
                    message, progress, ..
                },
            ) = (&bar, event)
            {
                bar.set_message(super::terminal::printable(message).into_owned());
                if let Some(p) = progress {
                    bar.set_position((p * 100.0).clamp(0.0, 100.0) as u64);
                }
            }
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        end.map_err(|e| match e {
            WaitError::CommandFailed { error, .. } => anyhow!("{}", error.message),
            _ => anyhow!("the engine stopped answering"),
        })
    }

    fn progress_bar(&self, what: &str) -> Option<indicatif::ProgressBar> {
        if !self.show_progress {
            return None;
        }
        let bar = indicatif::ProgressBar::new(100);
        let style = indicatif::ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    }

    /// Stops the engine and waits for it.
    pub fn shutdown(self) {
        let _ = self.handle.blocking_send(Command::Shutdown);
        let join = self.join;
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(SHUTDOWN_TIMEOUT, join).await });
    }
}

/// Prints a value as pretty JSON on stdout (see `terminal`).
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    super::terminal::write_json(value)?;
    Ok(())
}

/// A time in epoch milliseconds as local ISO text, or "never".
pub fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "never".into())
}
