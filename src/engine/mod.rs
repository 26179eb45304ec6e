//! Background sync engine. Owns every slow operation: scheduling sync jobs, calling `service`,
//! writing replica files through `geodatabase` and history through `store`, client resets.
//! Runs on tokio; never touches egui. Front ends reach it only through [`Command`] and hear
//! back only through [`Event`] (see [`api`]).
//!
//! * [`start`] opens the app database under the data directory and spawns the engine task on the
//!   current tokio runtime; it returns an [`EngineHandle`] (cheap to clone) for sending commands.
//! * Every command queued gets a [`CommandId`], echoed in the [`Event::JobQueued`] and
//!   [`Event::CommandFailed`] it causes; [`EngineHandle::submit`] returns it as a [`JobTicket`],
//!   which follows the command's job to its [`JobEnd`].
//! * One job per replica at a time; later jobs for that replica queue. Jobs of different replicas
//!   run side by side, at most [`MAX_CONCURRENT_JOBS`] talking to services at once.
//! * SQLite (the store and the replica files) is used only inside `spawn_blocking`.
//! * Shutdown: [`Command::Shutdown`], or dropping every [`EngineHandle`], closes the queue. On
//!   `Shutdown` running jobs stop at their next checkpoint (a network call is abandoned and its
//!   edits stay queued; a reply already received is still applied); the task then returns.
//! * [`start`] opens the app database synchronously before spawning (once, at start-up).

pub mod api;
mod attachment_transfer;
mod browse;
mod conflicts;
mod error;
mod events;
mod feature_map;
mod fix_form;
mod job;
mod local;
mod log_export;
pub mod offline_maps;
mod prediction;
mod private_fs;
mod repair;
pub mod reset;
mod restore;
mod runner;
mod secrets;
mod service_replicas;
mod sessions;
mod sign_in;
mod summary;
mod ticket;
mod trusted_certificates;

pub use api::*;
pub use error::EngineError;
pub use events::{EventReceiver, EventSender, QueueStats, WaitError, event_channel};
pub use job::{CRASH_AT_ENV, CRASH_EXIT_CODE};
pub use prediction::judge_fix::judge_fix;
pub use repair::{RepairReport, repair};
pub use service_replicas::SERVICE_REPLICAS_CSV_HEADER;
pub use ticket::{JobEnd, JobTicket, JobWatch, Predicted};

use crate::credentials::Credentials;
use crate::service::ClientConfig;
use crate::store::Store;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Commands the queue holds before [`EngineHandle::try_send`] reports "busy".
pub const COMMAND_QUEUE_CAPACITY: usize = 64;
/// Jobs allowed to talk to services at once; further jobs wait for a permit.
pub const MAX_CONCURRENT_JOBS: usize = 4;

/// Where the engine keeps its files and how it talks to services.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Holds `syncwatch.db`, `replicas/` (one file per replica), `results/` (downloads) and
    /// `trusted-certificates/` (certificates trusted from a front end, loaded at start).
    pub data_dir: PathBuf,
    pub client: ClientConfig,
    /// Smallest delay before auto-sync retries a service that could not be reached; doubles per
    /// failure up to [`EngineConfig::max_unreachable_backoff_secs`].
    pub min_unreachable_backoff_secs: u64,
    pub max_unreachable_backoff_secs: u64,
    /// When a sync finds the replica unsyncable, run the replica's automatic reset mode right away
    /// (ArcGIS's automatic client reset). Off for headless commands, which report and exit.
    pub reset_on_detection: bool,
    /// Where new secrets go; `None`: `SYNCWATCH_SECRET_STORE`, else the app setting
    /// `secret_store`, else the OS keychain (see `credentials`).
    pub secret_store: Option<SecretStoreKind>,
    /// The result format createReplica and synchronizeReplica ask for (`--download-format`;
    /// `auto`: see [`DownloadFormat::Auto`] and `job/data_format.rs`).
    pub download_format: DownloadFormat,
}

impl EngineConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            data_dir: data_dir.into(),
            client: ClientConfig::default(),
            min_unreachable_backoff_secs: 15,
            max_unreachable_backoff_secs: 15 * 60,
            reset_on_detection: true,
            secret_store: None,
            download_format: DownloadFormat::Auto,
        }
    }

    /// Trusts the PEM certificates in `path` besides the system's, in every client the engine
    /// builds (`--ca-cert`).
    pub fn trust_ca_file(
        mut self,
        path: &std::path::Path,
    ) -> Result<EngineConfig, crate::service::TrustError> {
        let certificates = crate::service::CaCertificate::from_pem_file(path)?;
        self.client.ca_certificates.extend(certificates);
        Ok(self)
    }
}

/// The file layout under the data directory.
#[derive(Debug, Clone)]
pub(crate) struct DataDirs {
    root: PathBuf,
}

impl DataDirs {
    fn store_path(&self) -> PathBuf {
        self.root.join("syncwatch.db")
    }
    fn replicas_dir(&self) -> PathBuf {
        self.root.join("replicas")
    }
    fn results_dir(&self) -> PathBuf {
        self.root.join("results")
    }
    /// Where client resets put their backups: `recovery/<name>-<time>/`.
    fn recovery_dir(&self) -> PathBuf {
        self.root.join("recovery")
    }
    /// The file of a replica re-created by a client reset, next to the old one.
    fn reset_file_path(&self, replica: LocalReplicaId, name: &str, stamp_ms: i64) -> PathBuf {
        let old = self.replica_file_path(replica, name);
        let stem = old
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        old.with_file_name(format!("{stem}-reset-{stamp_ms}.replica"))
    }
    /// A new replica's file: `replicas/<local id>-<name>.replica`, the name reduced to safe characters.
    fn replica_file_path(&self, replica: LocalReplicaId, name: &str) -> PathBuf {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect();
        self.replicas_dir()
            .join(format!("{}-{safe}.replica", replica.0))
    }
}

/// What every job and command handler shares.
#[derive(Clone)]
pub(crate) struct Deps {
    pub store: Arc<Mutex<Store>>,
    /// The secrets: replica tokens and accounts (the store records which store holds what).
    pub secrets: Arc<Credentials>,
    pub dirs: DataDirs,
    pub config: EngineConfig,
    pub events: EventSender,
    /// The signed-in sessions, by account (restored at start).
    pub sessions: Arc<sessions::Sessions>,
    /// The certificates trusted from a front end since start, and the sign-in client (discovery,
    /// generateToken, OAuth) that trusts them too: build clients with [`Deps::client_config`]
    /// and [`Deps::sign_in_client`].
    pub trusted: Arc<trusted_certificates::Trusted>,
    /// Prediction refreshes waiting for a quiet moment, and which replicas are syncing.
    pub predictions: Arc<prediction::refresh::PredictionTimers>,
}

impl Deps {
    /// The client settings for a new client: the configured ones plus every certificate the
    /// user trusted since start.
    pub fn client_config(&self) -> ClientConfig {
        self.trusted.client_config(&self.config.client)
    }

    /// Signs in and restores sessions, trusting what [`Deps::client_config`] trusts.
    pub fn sign_in_client(&self) -> crate::service::sign_in::SignInClient {
        self.trusted.sign_in_client()
    }

    /// Runs `f` on the app database off the runtime's workers.
    pub async fn with_store<T, F>(&self, f: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, crate::store::StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        let result = tokio::task::spawn_blocking(move || {
            // A panic elsewhere cannot leave the connection half-used: each call is one statement
            // or one transaction, so a poisoned lock is still safe to use.
            let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await?;
        Ok(result?)
    }

    /// Runs `f` on the app database and `f` may fail with any engine error.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, EngineError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await?
    }
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not create the data directory {path}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Secrets(#[from] secrets::SecretsStartError),
    #[error(transparent)]
    SignIn(#[from] crate::service::sign_in::SignInError),
    #[error("the engine must be started inside a tokio runtime")]
    NoRuntime,
}

/// A full or closed command queue.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The engine is busy; try again shortly (the UI shows "busy").
    #[error("the engine is busy; try again")]
    Busy(Command),
    /// The engine has stopped.
    #[error("the engine has stopped")]
    Stopped(Command),
}

/// The front ends' end of the command queue. Cheap to clone; when the last clone is dropped the
/// engine shuts down. Every command it queues gets a [`CommandId`] (clones share the counter).
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<(CommandId, Command)>,
    /// Boxed behind an `Arc` so the handle stays small (front ends keep it in enums).
    shared: Arc<HandleShared>,
}

/// What every clone of a handle shares.
struct HandleShared {
    deps: Deps,
    /// The last [`CommandId`] given out.
    last_command: AtomicU64,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle")
            .field("data_dir", &self.shared.deps.dirs.root)
            .finish()
    }
}

impl EngineHandle {
    fn new(commands: mpsc::Sender<(CommandId, Command)>, deps: Deps) -> Self {
        EngineHandle {
            commands,
            shared: Arc::new(HandleShared {
                deps,
                last_command: AtomicU64::new(0),
            }),
        }
    }

    fn next_id(&self) -> CommandId {
        CommandId(self.shared.last_command.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Queues a command without waiting (for the UI thread) and returns its ticket. A full queue
    /// is [`SendError::Busy`].
    pub fn try_submit(&self, command: Command) -> Result<JobTicket, SendError> {
        let id = self.next_id();
        match self.commands.try_send((id, command)) {
            Ok(()) => Ok(JobTicket::new(id)),
            Err(mpsc::error::TrySendError::Full((_, c))) => Err(SendError::Busy(c)),
            Err(mpsc::error::TrySendError::Closed((_, c))) => Err(SendError::Stopped(c)),
        }
    }

    /// Queues a command, waiting for room, and returns its ticket.
    pub async fn submit(&self, command: Command) -> Result<JobTicket, SendError> {
        let id = self.next_id();
        self.commands
            .send((id, command))
            .await
            .map_err(|e| SendError::Stopped(e.0.1))?;
        Ok(JobTicket::new(id))
    }

    /// Queues a command from a thread that is not a runtime worker (the CLI's main thread) and
    /// returns its ticket.
    pub fn blocking_submit(&self, command: Command) -> Result<JobTicket, SendError> {
        let id = self.next_id();
        self.commands
            .blocking_send((id, command))
            .map_err(|e| SendError::Stopped(e.0.1))?;
        Ok(JobTicket::new(id))
    }

    /// [`EngineHandle::try_submit`] for callers that do not follow the command.
    pub fn try_send(&self, command: Command) -> Result<(), SendError> {
        self.try_submit(command).map(drop)
    }

    /// [`EngineHandle::submit`] for callers that do not follow the command.
    pub async fn send(&self, command: Command) -> Result<(), SendError> {
        self.submit(command).await.map(drop)
    }

    /// [`EngineHandle::blocking_submit`] for callers that do not follow the command.
    pub fn blocking_send(&self, command: Command) -> Result<(), SendError> {
        self.blocking_submit(command).map(drop)
    }

    /// Records a local edit in the replica's change queue (one transaction in its replica file) and
    /// returns the replica's summary afterwards, for callers that want the answer directly
    /// (`syncwatch edit`); the GUI sends [`Command::EditFeature`] instead. Safe while a sync of the
    /// replica runs: an edit made after an upload is kept queued when that upload is acknowledged.
    pub async fn edit_feature(
        &self,
        replica: LocalReplicaId,
        layer_id: i64,
        edit: LocalEdit,
    ) -> Result<ReplicaSummary, EngineError> {
        local::edit_feature(&self.shared.deps, replica, layer_id, edit).await
    }

    /// The replica's client-reset backups, newest first (what [`Command::ListBackups`] answers),
    /// for callers that want the answer directly (`syncwatch backups`).
    pub async fn list_backups(
        &self,
        replica: LocalReplicaId,
    ) -> Result<Vec<BackupInfo>, EngineError> {
        restore::list(&self.shared.deps, replica)
            .await
            .map(|(_, listed)| listed)
    }

    /// A backup's changes previewed against the replica now (what [`Command::PreviewBackup`]
    /// answers), for `syncwatch restore`. Changes nothing.
    pub async fn preview_backup(
        &self,
        replica: LocalReplicaId,
        backup: &str,
    ) -> Result<BackupPreview, EngineError> {
        restore::preview(&self.shared.deps, replica, backup).await
    }

    /// Records a batch of local edits (`(layer_id, edit)`, in order) in one transaction: all, or
    /// none with [`EngineError::BatchEntry`] naming the one that failed; then the summary.
    pub async fn record_edits(
        &self,
        replica: LocalReplicaId,
        edits: Vec<(i64, LocalEdit)>,
    ) -> Result<ReplicaSummary, EngineError> {
        local::record_edits(&self.shared.deps, replica, edits).await
    }

    /// The store new secrets go to (the choice in force since start).
    pub fn secret_store(&self) -> SecretStoreKind {
        self.shared.deps.secrets.choice()
    }

    /// Chooses the store for new secrets in the app setting `secret_store` (None: unchoose);
    /// it applies from the next start, below an explicit choice and `SYNCWATCH_SECRET_STORE`.
    pub async fn choose_secret_store(
        &self,
        kind: Option<SecretStoreKind>,
    ) -> Result<(), EngineError> {
        self.shared
            .deps
            .with_store(move |s| s.set_secret_store_setting(kind))
            .await
    }

    /// Every signed-in account: the app database's record only, no secret is read.
    pub async fn accounts(&self) -> Result<Vec<Account>, EngineError> {
        self.shared.deps.with_store(|s| s.accounts()).await
    }

    /// Records a sign-in or a renewal: `secrets` to the secret store, the record (who, where,
    /// expiry, which store) to the app database. Fails, storing nothing, when the store cannot
    /// take them (no keychain and the file store not chosen: the error says how to choose).
    pub async fn save_sign_in(
        &self,
        key: AccountKey,
        kind: AccountKind,
        secrets: AccountSecrets,
    ) -> Result<Account, EngineError> {
        let creds = self.shared.deps.secrets.clone();
        self.shared
            .deps
            .blocking(move |s| secrets::save_sign_in(s, &creds, &key, kind, &secrets))
            .await
    }

    /// An account's record and secrets; `None` when it is not signed in.
    pub async fn signed_in(
        &self,
        key: AccountKey,
    ) -> Result<Option<(Account, AccountSecrets)>, EngineError> {
        let creds = self.shared.deps.secrets.clone();
        self.shared
            .deps
            .blocking(move |s| secrets::signed_in(s, &creds, &key))
            .await
    }

    /// Signs out: forgets the account's secrets and record. Returns whether it was signed in.
    pub async fn sign_out(&self, key: AccountKey) -> Result<bool, EngineError> {
        sign_in::sign_out(&self.shared.deps, key).await
    }
}

/// Opens the data directory and the app database (blocking, once, before anything is spawned).
fn open_deps(mut config: EngineConfig, events: EventSender) -> Result<Deps, StartError> {
    let dirs = DataDirs {
        root: config.data_dir.clone(),
    };
    for dir in [dirs.root.clone(), dirs.replicas_dir(), dirs.results_dir()] {
        create_private_dir(&dir)?;
    }
    let mut store = Store::open(&dirs.store_path())?;
    let credentials = secrets::open_credentials(&store, &dirs.root, config.secret_store)?;
    secrets::move_legacy_tokens(&mut store, &credentials);
    let kept = trusted_certificates::load(&dirs.root);
    config.client.ca_certificates.extend(kept);
    let sign_in = crate::service::sign_in::SignInClient::new(&config.client)?;
    let restored = sessions::restore_all(&store, &credentials, &sign_in);
    let deps = Deps {
        store: Arc::new(Mutex::new(store)),
        secrets: Arc::new(credentials),
        dirs,
        config,
        events,
        sessions: Arc::default(),
        trusted: Arc::new(trusted_certificates::Trusted::new(sign_in)),
        predictions: Arc::default(),
    };
    for (key, session, password) in restored {
        sessions::register(&deps, key, session, password);
    }
    Ok(deps)
}

/// Starts the engine on the current tokio runtime. Events go to `events`; the engine first sends
/// [`Event::ReplicasLoaded`]. The returned join handle resolves once the engine has shut down.
pub fn start(
    config: EngineConfig,
    events: EventSender,
) -> Result<(EngineHandle, tokio::task::JoinHandle<()>), StartError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE_CAPACITY);
    let deps = open_deps(config, events)?;
    let join = runtime.spawn(runner::run(rx, deps.clone()));
    Ok((EngineHandle::new(tx, deps), join))
}

/// [`start`] with a plain channel and no waker, for the CLI and tests: nothing is coalesced, so
/// the reader sees every progress event and summary.
pub fn start_with_channel(
    config: EngineConfig,
) -> Result<(EngineHandle, EventReceiver, tokio::task::JoinHandle<()>), StartError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (handle, join) = start(config, EventSender::new(tx, Arc::new(|| {})))?;
    Ok((handle, EventReceiver::from(rx), join))
}

fn create_private_dir(path: &Path) -> Result<(), StartError> {
    private_fs::create_dir(path, true).map_err(|source| StartError::DataDir {
        path: path.to_path_buf(),
        source,
    })
}
