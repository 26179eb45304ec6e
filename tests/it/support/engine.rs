//! The one engine harness of the tests that drive the engine directly (`engine::*`,
//! `reliability::*`; the window tests go through `ui::stack`): the reference service over real
//! HTTP on loopback (its data in a temp dir), the engine with its data dir in another, and helpers
//! that run jobs to their end, record local edits, wait for events (keeping a log of every event
//! seen), and open the replica files. The admin API and what the service holds are in
//! `service_side`; direct counts over the SQLite databases in `counts`; the conflict tests' "no edit
//! lost" check in `no_edit_lost`. Test files configure it
//! (`start_with`) but never build their own; it builds no window or CLI rigs (`ui`, `cli`).

mod counts;
mod no_edit_lost;
mod service_side;

pub use self::counts::{LocalCount, ServerDb, local_count};
pub use self::no_edit_lost::MadeEdit;
pub use crate::support::demo_data::{HYD_1, attrs, gid};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use syncwatch::engine::{
    self, Command, CreateRequest, EditResultRecord, EngineConfig, EngineHandle, Event,
    EventReceiver, Failure, JobOutcome, JobWatch, LocalEdit, LocalReplicaId, ReplicaSummary,
    SecretStoreKind, SyncOptions,
};
use syncwatch::geodatabase::replica_file::ReplicaFile;
use syncwatch::protocol::{Guid, JobState, SyncDirection, SyncModel};
use syncwatch::server::{self, RunningServer, ServerConfig};
use syncwatch::service::ClientConfig;
use syncwatch::store::Store;

/// Longest a test waits for one event.
pub const EVENT_WAIT: Duration = Duration::from_secs(120);

/// Sync options in a direction, as an async job or not, without rollback on failure.
pub fn sync_options(direction: SyncDirection, is_async: bool) -> SyncOptions {
    SyncOptions {
        direction,
        is_async,
        rollback_on_failure: false,
    }
}

/// The reference service (with its data on disk, to count rows), the engine, and its events.
pub struct Harness {
    pub server: RunningServer,
    pub server_dir: tempfile::TempDir,
    pub engine: EngineHandle,
    pub events: EventReceiver,
    /// The engine's data dir (its database, `replicas/`, `recovery/`).
    pub dir: tempfile::TempDir,
    /// The URL replicas are created with (the service's own, or a relay in front of it).
    pub service_url: String,
    /// Every event taken off the channel since the harness started or `forget_seen`.
    seen: Mutex<Vec<Event>>,
}

impl Harness {
    /// Starts the service (data in a temp dir) and an engine whose client uses `client`, with the
    /// automatic client reset off (the reset tests turn it on with [`Harness::start_with`]).
    pub async fn start(server_config: ServerConfig, client: ClientConfig) -> Harness {
        Harness::start_with(server_config, client, |_| {}).await
    }

    /// As [`Harness::start`], then `tweak` changes the engine's settings before it starts. Returns
    /// once the engine has loaded its (empty) list of replicas.
    pub async fn start_with(
        server_config: ServerConfig,
        client: ClientConfig,
        tweak: impl FnOnce(&mut EngineConfig),
    ) -> Harness {
        let server_dir = tempfile::tempdir().unwrap();
        let server = server::start(ServerConfig {
            data_dir: Some(server_dir.path().to_path_buf()),
            ..server_config
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::new(dir.path());
        config.client = client;
        if let Some(cert) = server.tls_cert_path() {
            // Served over HTTPS: the engine trusts its self-signed certificate, as `--ca-cert`.
            let trusted = syncwatch::service::CaCertificate::from_pem_file(cert).unwrap();
            config.client.ca_certificates.extend(trusted);
        }
        config.reset_on_detection = false;
        // No OS keychain on the test machines: the file store, chosen as such a user would.
        config.secret_store = Some(SecretStoreKind::File);
        tweak(&mut config);
        let (engine, events, _join) = engine::start_with_channel(config).unwrap();
        let service_url = server.service_url();
        let harness = Harness {
            server,
            server_dir,
            engine,
            events,
            dir,
            service_url,
            seen: Mutex::new(Vec::new()),
        };
        harness
            .next(|e| matches!(e, Event::ReplicasLoaded { .. }).then_some(()))
            .await;
        harness
    }

    /// Waits for the first event `pick` accepts, dropping the others (they stay in the log).
    pub async fn next<T>(&self, pick: impl FnMut(&Event) -> Option<T>) -> T {
        self.next_named("a matching event", pick).await
    }

    /// Waits for the first event `pred` accepts and returns it; on timeout names `what` and the
    /// events seen.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        self.next_named(what, |e| pred(e).then(|| e.clone())).await
    }

    async fn next_named<T>(&self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + EVENT_WAIT;
        loop {
            match self.events.try_recv() {
                Ok(event) => {
                    let found = pick(&event);
                    self.seen.lock().unwrap().push(event);
                    if let Some(found) = found {
                        return found;
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    if tokio::time::Instant::now() >= deadline {
                        let seen = self.seen.lock().unwrap();
                        let last = &seen[seen.len().saturating_sub(20)..];
                        panic!(
                            "timed out waiting for {what}; saw {} events, the last {}: {last:#?}",
                            seen.len(),
                            last.len()
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(e) => panic!("engine stopped: {e}"),
            }
        }
    }

    /// Empties the log of events seen.
    pub fn forget_seen(&self) {
        self.seen.lock().unwrap().clear();
    }

    /// Every event taken off the channel so far (since the start or `forget_seen`).
    pub fn seen_events(&self) -> Vec<Event> {
        self.seen.lock().unwrap().clone()
    }

    /// The client-reset events in the log, by name, in the order they came.
    pub fn reset_events_seen(&self) -> Vec<&'static str> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::ResetRequired { .. } => Some("ResetRequired"),
                Event::BeforeReset { .. } => Some("BeforeReset"),
                Event::AfterRecovery { .. } => Some("AfterRecovery"),
                Event::AfterDiscard { .. } => Some("AfterDiscard"),
                Event::ManualResetFallback { .. } => Some("ManualResetFallback"),
                Event::ResetAwaitingConfirmation { .. } => Some("ResetAwaitingConfirmation"),
                _ => None,
            })
            .collect()
    }

    pub async fn send(&self, command: Command) {
        self.engine.send(command).await.unwrap();
    }

    /// Runs a job command to its end: the outcome, or the failure.
    pub async fn job(&self, command: Command) -> (LocalReplicaId, Result<JobOutcome, Failure>) {
        let ticket = self.engine.submit(command).await.unwrap();
        let mut watch = JobWatch::new(ticket);
        match self.next(|e| watch.see(e)).await {
            Ok(end) => (end.replica(), end.into_result()),
            Err(e) => panic!("command failed: {e:?}"),
        }
    }

    /// The request for a replica of the Hydrants layer, perReplica.
    pub fn create_request(&self, name: &str, is_async: bool) -> CreateRequest {
        CreateRequest {
            service_url: self.service_url.clone(),
            token: None,
            name: name.into(),
            layers: vec![0],
            sync_model: SyncModel::PerReplica,
            is_async,
            scope: Default::default(),
        }
    }

    /// Creates a replica of the Hydrants layer that must succeed.
    pub async fn create(&self, name: &str) -> LocalReplicaId {
        let (replica, end) = self
            .job(Command::CreateReplica(self.create_request(name, false)))
            .await;
        end.unwrap_or_else(|f| panic!("create {name} failed: {f:?}"));
        replica
    }

    /// Creates a replica of `layers` that must complete with data downloaded.
    pub async fn create_with(
        &self,
        name: &str,
        layers: Vec<i64>,
        sync_model: SyncModel,
        is_async: bool,
    ) -> LocalReplicaId {
        let (replica, end) = self
            .job(Command::CreateReplica(CreateRequest {
                layers,
                sync_model,
                ..self.create_request(name, is_async)
            }))
            .await;
        let outcome = end.unwrap_or_else(|f| panic!("create {name} failed: {f:?}"));
        assert_eq!(outcome.state, JobState::Completed);
        assert!(outcome.downloaded > 0);
        replica
    }

    /// A bidirectional sync, run to its end.
    pub async fn sync(
        &self,
        replica: LocalReplicaId,
        is_async: bool,
    ) -> Result<JobOutcome, Failure> {
        self.sync_with(
            replica,
            sync_options(SyncDirection::Bidirectional, is_async),
        )
        .await
    }

    /// A sync with these options, run to its end.
    pub async fn sync_with(
        &self,
        replica: LocalReplicaId,
        options: SyncOptions,
    ) -> Result<JobOutcome, Failure> {
        self.job(Command::SyncNow { replica, options }).await.1
    }

    /// Asks for a (not async) sync and returns at once; the test waits for the events it expects.
    pub async fn begin_sync(&self, replica: LocalReplicaId) {
        let options = SyncOptions {
            is_async: false,
            ..SyncOptions::default()
        };
        self.send(Command::SyncNow { replica, options }).await;
    }

    /// Syncs and waits until that replica's job completes without refusals.
    pub async fn sync_completed(&self, replica: LocalReplicaId) {
        self.begin_sync(replica).await;
        self.wait_for("a completed sync", |e| {
            matches!(e, Event::JobCompleted { replica: r, outcome, .. } if *r == replica && outcome.state.as_str() == "Completed")
        })
        .await;
    }

    /// Records a local edit of the Hydrants layer.
    pub async fn edit(&self, replica: LocalReplicaId, edit: LocalEdit) -> ReplicaSummary {
        self.edit_in_layer(replica, 0, edit).await
    }

    /// Records a local edit of layer `layer_id`.
    pub async fn edit_in_layer(
        &self,
        replica: LocalReplicaId,
        layer_id: i64,
        edit: LocalEdit,
    ) -> ReplicaSummary {
        self.engine
            .edit_feature(replica, layer_id, edit)
            .await
            .unwrap_or_else(|e| panic!("edit failed: {e:#?}"))
    }

    /// Records local edits of the Hydrants layer, in order.
    pub async fn edit_all(&self, replica: LocalReplicaId, edits: Vec<LocalEdit>) {
        for edit in edits {
            self.edit(replica, edit).await;
        }
    }

    /// A new hydrant whose FacilityID is `marker`; returns its GlobalID.
    pub async fn add_hydrant(&self, replica: LocalReplicaId, marker: &str) -> Guid {
        let global_id = Guid::new_v4();
        self.edit(
            replica,
            LocalEdit::Add {
                attributes: attrs(json!({
                    "GlobalID": global_id.as_str(), "FacilityID": marker, "Status": "IS"
                })),
                geometry: Some(json!({"x": -122.6, "y": 45.52})),
            },
        )
        .await;
        global_id
    }

    /// Updates these attributes of the hydrant `global_id`, geometry unchanged.
    pub async fn update(&self, replica: LocalReplicaId, global_id: &str, values: Value) {
        self.edit(
            replica,
            LocalEdit::Update {
                global_id: gid(global_id),
                attributes: attrs(values),
                geometry: None,
            },
        )
        .await;
    }

    /// Sets the Notes of HYD-0001 to `notes`.
    pub async fn update_notes(&self, replica: LocalReplicaId, notes: &str) {
        self.update(replica, HYD_1, json!({ "Notes": notes })).await;
    }

    pub async fn replicas(&self) -> Vec<ReplicaSummary> {
        self.send(Command::RefreshReplicas).await;
        self.next(|e| match e {
            Event::ReplicasLoaded { replicas } => Some(replicas.clone()),
            _ => None,
        })
        .await
    }

    /// One replica's summary, freshly loaded.
    pub async fn summary(&self, replica: LocalReplicaId) -> ReplicaSummary {
        self.send(Command::RefreshReplicas).await;
        self.next(|e| match e {
            Event::ReplicasLoaded { replicas } => {
                replicas.iter().find(|r| r.id == replica).cloned()
            }
            _ => None,
        })
        .await
    }

    /// The replica's edit results, as the grid gets them.
    pub async fn edit_results(&self, replica: LocalReplicaId) -> Arc<[EditResultRecord]> {
        self.send(Command::LoadEditResults { replica }).await;
        self.next(|e| match e {
            Event::EditResultsReady { replica: r, rows } if *r == replica => Some(rows.clone()),
            _ => None,
        })
        .await
    }

    /// Exports every row to `path` as the grid's "Export CSV" does, and waits until it is written.
    pub async fn export_csv(&self, rows: Arc<[EditResultRecord]>, path: &Path) {
        self.send(Command::ExportCsv {
            indices: (0..rows.len() as u32).collect(),
            rows,
            path: path.to_path_buf(),
        })
        .await;
        self.next(|e| matches!(e, Event::ExportFinished { .. }).then_some(()))
            .await;
    }

    /// The replica file of a local replica, found by its `<id>-` prefix.
    pub fn file_path(&self, replica: LocalReplicaId) -> Option<PathBuf> {
        let prefix = format!("{}-", replica.0);
        std::fs::read_dir(self.dir.path().join("replicas"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
                    && p.extension().is_some_and(|x| x == "replica")
            })
    }

    /// The replica file found by [`Harness::file_path`], opened (it must exist).
    pub fn file(&self, replica: LocalReplicaId) -> ReplicaFile {
        let path = self
            .file_path(replica)
            .unwrap_or_else(|| panic!("no replica file for {replica:?}"));
        ReplicaFile::open(&path).unwrap()
    }

    /// The replica's current file, as the app database registers it.
    pub fn registered_file(&self, replica: LocalReplicaId) -> ReplicaFile {
        let store = Store::open(&self.dir.path().join("syncwatch.db")).unwrap();
        ReplicaFile::open(&store.replica(replica).unwrap().file_path).unwrap()
    }

    /// The replica file written last in the engine's `replicas/` folder, opened (not a
    /// `-journal` a write in progress has beside it).
    pub fn newest_file(&self) -> ReplicaFile {
        let dir = self.dir.path().join("replicas");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "replica"))
            .collect();
        files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
        ReplicaFile::open(files.last().unwrap()).unwrap()
    }
}
