//! The first-run demo: the embedded demo feature service on loopback, and three demo replicas
//! seeded through the real engine so a first run shows telling states (one up to date, one with
//! edits the service refused across the 1000 and 2000 series, one that needs a client reset and
//! waits for the technician in Manual mode).
//!
//! Everything here runs on the tokio runtime, never on the UI thread, and never touches egui.
//! The seeder talks to the engine only through [`EngineHandle`] and listens to its events through
//! an [`EventTap`]. `<data dir>/demo.json` remembers the service's address and whether seeding
//! finished, so a second start neither duplicates replicas nor strands them on an old port.

use crate::engine::{
    Command, CreateRequest, EngineHandle, Event, EventSender, JobOutcome, LocalEdit,
    LocalReplicaId, ResetMode, SyncOptions,
};
use crate::protocol::{Attributes, JobState, SyncModel};
use crate::server::{RunningServer, ServerConfig, ServiceDefinition};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Default loopback port of the embedded demo service (a fixed port keeps demo replicas working
/// across restarts; when it is taken another port is used and the replicas are re-pointed).
pub const DEMO_PORT: u16 = 47_817;

/// The demo replica that stays up to date.
pub const UP_TO_DATE_NAME: &str = "Hydrant inspections – crew A";
/// The demo replica with edits the service refused.
pub const FAILED_EDITS_NAME: &str = "Hydrant survey – crew B";
/// The demo replica the service no longer knows (needs a client reset, Manual mode).
pub const NEEDS_RESET_NAME: &str = "Valve exercising – crew C";
/// Every demo replica, in the order they are listed.
pub const DEMO_REPLICA_NAMES: [&str; 3] = [UP_TO_DATE_NAME, FAILED_EDITS_NAME, NEEDS_RESET_NAME];

/// Longest wait for one engine step while seeding (a stuck service must not hang the seeder).
const STEP_TIMEOUT: Duration = Duration::from_secs(120);
const STATE_FILE: &str = "demo.json";

/// Why the demo could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the demo service could not start on loopback")]
    Start(#[from] std::io::Error),
    #[error("the sync engine has stopped")]
    EngineStopped,
    #[error("timed out waiting for {0}")]
    TimedOut(String),
    #[error("{what} failed: {message}")]
    Step { what: String, message: String },
    #[error("could not write the demo state file {path}")]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What `<data dir>/demo.json` keeps between starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DemoState {
    /// The demo service's FeatureServer URL on the last start.
    pub service_url: Option<String>,
    /// Seeding finished (or was not wanted because the technician already had replicas).
    pub seeded: bool,
}

impl DemoState {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(STATE_FILE)
    }

    /// The saved state; a missing or unreadable file counts as a first run.
    pub fn load(data_dir: &Path) -> DemoState {
        let path = Self::path(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, path = %path.display(), "demo state unreadable; starting afresh");
                DemoState::default()
            }),
            Err(_) => DemoState::default(),
        }
    }

    /// Writes the state (a temporary file renamed over the old one).
    pub fn save(&self, data_dir: &Path) -> Result<(), DemoError> {
        let path = Self::path(data_dir);
        let state_error = |source| DemoError::State {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(state_error)?;
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| state_error(e.into()))?;
        std::fs::write(&tmp, text).map_err(state_error)?;
        std::fs::rename(&tmp, &path).map_err(state_error)
    }
}

/// The running demo service and, when it came up on another port than last time, the old URL
/// whose replicas must be re-pointed ([`DemoService::repoint_command`]).
#[derive(Debug)]
pub struct DemoService {
    pub server: RunningServer,
    pub moved_from: Option<String>,
}

impl DemoService {
    /// The command that moves the demo replicas from the old address, if the service moved.
    pub fn repoint_command(&self) -> Option<Command> {
        self.moved_from
            .clone()
            .map(|from_url| Command::RepointService {
                from_url,
                to_url: self.server.service_url(),
            })
    }
}

/// Starts the demo water network on loopback with its data under `data_dir/demo-service`: on the
/// port it used last time if that is free, else `preferred_port`, else any free port. Records the
/// address in `demo.json`. `job_step_delay` makes async jobs visible in the window.
pub async fn start_service(
    data_dir: &Path,
    preferred_port: u16,
    job_step_delay: Duration,
) -> Result<DemoService, DemoError> {
    let mut state = DemoState::load(data_dir);
    let last_port = state.service_url.as_deref().and_then(port_of);
    let mut ports: Vec<u16> = last_port.into_iter().collect();
    if !ports.contains(&preferred_port) {
        ports.push(preferred_port);
    }
    ports.push(0);
    let mut config = ServerConfig {
        data_dir: Some(data_dir.join("demo-service")),
        job_step_delay,
        ..ServerConfig::default()
    };
    let mut last_error = None;
    for port in ports {
        config.addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        match crate::server::start(config.clone()).await {
            Ok(server) => {
                let url = server.service_url();
                let moved_from = state.service_url.clone().filter(|old| *old != url);
                if let Some(old) = &moved_from {
                    tracing::info!(from = %old, to = %url, "the demo service moved to another port");
                }
                state.service_url = Some(url);
                state.save(data_dir)?;
                return Ok(DemoService { server, moved_from });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last_error = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_error
        .unwrap_or_else(|| std::io::Error::other("no loopback port was free"))
        .into())
}

fn port_of(url: &str) -> Option<u16> {
    url::Url::parse(url).ok()?.port()
}

/// Sits between the engine and the window: every event goes on to the window, and listeners
/// (the seeder) get a copy. Runs on its own thread and ends when the engine drops its sender.
#[derive(Clone, Default)]
pub struct EventTap {
    listeners: Arc<Mutex<Vec<mpsc::UnboundedSender<Event>>>>,
}

impl EventTap {
    /// Returns the sender to give the engine; events reach `window` through the tap.
    pub fn start(window: EventSender) -> (EventSender, EventTap) {
        let (tx, rx) = std::sync::mpsc::channel::<Event>();
        let tap = EventTap::default();
        let listeners = tap.listeners.clone();
        let forward = move || {
            while let Ok(event) = rx.recv() {
                {
                    let mut listeners = listeners.lock().unwrap_or_else(|p| p.into_inner());
                    listeners.retain(|l| l.send(event.clone()).is_ok());
                }
                window.send(event);
            }
        };
        let spawned = std::thread::Builder::new()
            .name("syncwatch-events".into())
            .spawn(forward);
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the event thread");
        }
        (EventSender::new(tx, Arc::new(|| {})), tap)
    }

    /// A copy of every event from now on, until the receiver is dropped.
    pub fn listen(&self) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        rx
    }
}

/// How far seeding has come, for the window's demo banner.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SeedProgress {
    /// Not started yet.
    #[default]
    Waiting,
    /// Working on `step` (1-based) of `total`.
    Running {
        step: u32,
        total: u32,
        what: String,
    },
    /// The demo replicas exist (now or from an earlier start).
    Finished,
    /// The technician already has replicas of their own: nothing was seeded.
    NotNeeded,
    Failed(String),
}

/// The seeder's end of the progress channel: every update wakes the window.
#[derive(Clone)]
pub struct SeedReporter {
    tx: Arc<watch::Sender<SeedProgress>>,
    waker: Arc<dyn Fn() + Send + Sync>,
}

impl SeedReporter {
    pub fn new(
        waker: Arc<dyn Fn() + Send + Sync>,
    ) -> (SeedReporter, watch::Receiver<SeedProgress>) {
        let (tx, rx) = watch::channel(SeedProgress::Waiting);
        (
            SeedReporter {
                tx: Arc::new(tx),
                waker,
            },
            rx,
        )
    }

    fn report(&self, progress: SeedProgress) {
        self.tx.send_replace(progress);
        (self.waker)();
    }
}

/// Seeds the demo replicas once (see the module doc). Call on the runtime after the engine has
/// started; `events` must come from [`EventTap::listen`] before any command is sent.
pub async fn seed(
    handle: EngineHandle,
    events: mpsc::UnboundedReceiver<Event>,
    service_url: String,
    data_dir: PathBuf,
    reporter: SeedReporter,
) -> Result<SeedProgress, DemoError> {
    let mut seeder = Seeder {
        handle,
        events,
        service_url,
        reporter: reporter.clone(),
        step: 0,
    };
    let outcome = seeder.run(&data_dir).await;
    let progress = match &outcome {
        Ok(p) => p.clone(),
        Err(e) => SeedProgress::Failed(format!("{e:#}")),
    };
    reporter.report(progress);
    outcome
}

/// How one job ended.
#[derive(Debug)]
enum JobEnd {
    Completed(JobOutcome),
    Failed(String),
}

/// Steps of a full seeding, for the progress bar.
const TOTAL_STEPS: u32 = 9;

struct Seeder {
    handle: EngineHandle,
    events: mpsc::UnboundedReceiver<Event>,
    service_url: String,
    reporter: SeedReporter,
    step: u32,
}

impl Seeder {
    async fn run(&mut self, data_dir: &Path) -> Result<SeedProgress, DemoError> {
        let mut state = DemoState::load(data_dir);
        if state.seeded {
            return Ok(SeedProgress::Finished);
        }
        self.send(Command::RefreshReplicas).await?;
        // (name, paused) of every replica the technician has.
        let existing: Vec<(String, bool)> = self
            .wait_for("the replica list", |e| match e {
                Event::ReplicasLoaded { replicas } => Some(
                    replicas
                        .iter()
                        .map(|r| (r.name.clone(), r.paused))
                        .collect(),
                ),
                _ => None,
            })
            .await?;
        let outcome = if existing
            .iter()
            .any(|(name, _)| !DEMO_REPLICA_NAMES.contains(&name.as_str()))
        {
            SeedProgress::NotNeeded
        } else {
            let has = |name: &str| existing.iter().any(|(n, _)| n == name);
            // An earlier seeding stopped between pausing the reset replica and its last sync.
            let reset_replica_waits = existing
                .iter()
                .any(|(n, paused)| n == NEEDS_RESET_NAME && *paused);
            // The reset replica comes first: terminating sync forgets every replica the service
            // has, and the other two must be created after that.
            if !has(NEEDS_RESET_NAME) {
                self.seed_needs_reset().await?;
            }
            if !has(UP_TO_DATE_NAME) {
                self.seed_up_to_date().await?;
            }
            if !has(FAILED_EDITS_NAME) {
                self.seed_failed_edits().await?;
            }
            if !has(NEEDS_RESET_NAME) || reset_replica_waits {
                self.detect_reset().await?;
            }
            SeedProgress::Finished
        };
        state.seeded = true;
        state.save(data_dir)?;
        Ok(outcome)
    }

    fn progress(&mut self, what: &str) {
        self.step += 1;
        self.reporter.report(SeedProgress::Running {
            step: self.step.min(TOTAL_STEPS),
            total: TOTAL_STEPS,
            what: what.to_owned(),
        });
    }

    /// Created, downloaded, given two local edits and Manual reset mode, paused; then the service
    /// is told to terminate and re-enable sync, so it forgets this replica.
    async fn seed_needs_reset(&mut self) -> Result<(), DemoError> {
        self.progress(&format!("creating {NEEDS_RESET_NAME}"));
        let replica = self.create(NEEDS_RESET_NAME, vec![1]).await?;
        self.send(Command::SetResetMode {
            replica,
            mode: ResetMode::Manual,
        })
        .await?;
        let demo = demo_features();
        if let Some(valve) = &demo.valve {
            self.edit(replica, 1, update(valve, serde_json::json!({"Turns": 26})))
                .await?;
        }
        self.edit(
            replica,
            1,
            add(
                serde_json::json!({"ValveID": "VLV-DEMO-C1", "Diameter_mm": 150, "Depth": 1.2, "Status": "IS"}),
                serde_json::json!({"x": -122.641, "y": 45.521, "z": 48.0}),
            ),
        )
        .await?;
        // Paused, so "terminate sync" below does not sync it yet: it is synced last.
        self.set_paused(replica, true).await?;
        self.progress("terminating and re-enabling sync on the demo service");
        self.send(Command::DemoTerminateSync).await?;
        self.wait_for("the demo service to terminate sync", |e| match e {
            Event::Logged { entry } if entry.message.starts_with("demo: sync was terminated") => {
                Some(Ok(()))
            }
            Event::CommandFailed { what, error, .. } if what.contains("terminate sync") => {
                Some(Err(error.message.clone()))
            }
            _ => None,
        })
        .await?
        .map_err(|message| DemoError::Step {
            what: "terminating sync on the demo service".into(),
            message,
        })
    }

    /// Created and synced once with a valid local edit: up to date.
    async fn seed_up_to_date(&mut self) -> Result<(), DemoError> {
        self.progress(&format!("creating {UP_TO_DATE_NAME}"));
        let replica = self.create(UP_TO_DATE_NAME, vec![0, 3]).await?;
        if let Some(hydrant) = demo_features().hydrant {
            self.edit(
                replica,
                0,
                update(&hydrant, serde_json::json!({"Notes": "Inspected, flow OK"})),
            )
            .await?;
        }
        self.progress(&format!("syncing {UP_TO_DATE_NAME}"));
        self.sync(replica, false).await?;
        Ok(())
    }

    /// Local edits the service refuses for different reasons (1000 series), synced once with
    /// rollbackOnFailure (everything rolls back: 2000 per layer) and once without (the good
    /// edits go through, each bad one is refused with its own code).
    async fn seed_failed_edits(&mut self) -> Result<(), DemoError> {
        self.progress(&format!("creating {FAILED_EDITS_NAME}"));
        let replica = self.create(FAILED_EDITS_NAME, vec![0, 1, 2, 3]).await?;
        self.progress(&format!("recording edits in {FAILED_EDITS_NAME}"));
        for (layer_id, edit) in failing_edits(&demo_features()) {
            self.edit(replica, layer_id, edit).await?;
        }
        self.progress(&format!(
            "syncing {FAILED_EDITS_NAME} with rollbackOnFailure"
        ));
        self.sync(replica, true).await?;
        self.progress(&format!("syncing {FAILED_EDITS_NAME}"));
        self.sync(replica, false).await?;
        Ok(())
    }

    /// The paused reset replica is resumed and synced: the service no longer knows it, the
    /// engine marks it "reset required" and, in Manual mode, waits for the technician.
    async fn detect_reset(&mut self) -> Result<(), DemoError> {
        self.progress(&format!("syncing {NEEDS_RESET_NAME}"));
        let replica = self.find(NEEDS_RESET_NAME).await?;
        self.set_paused(replica, false).await?;
        self.send(Command::SyncNow {
            replica,
            options: SyncOptions::default(),
        })
        .await?;
        self.wait_for("the client reset to be planned", |e| match e {
            Event::ResetAwaitingConfirmation { plan, .. } if plan.replica == replica => Some(()),
            _ => None,
        })
        .await
    }

    async fn send(&self, command: Command) -> Result<(), DemoError> {
        self.handle
            .send(command)
            .await
            .map_err(|_| DemoError::EngineStopped)
    }

    /// Waits for the first event `pick` accepts; other events are skipped.
    async fn wait_for<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> Result<T, DemoError> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.events.recv()).await;
            match next {
                Err(_) => return Err(DemoError::TimedOut(what.to_owned())),
                Ok(None) => return Err(DemoError::EngineStopped),
                Ok(Some(event)) => {
                    if let Some(found) = pick(&event) {
                        return Ok(found);
                    }
                }
            }
        }
    }

    async fn find(&mut self, name: &str) -> Result<LocalReplicaId, DemoError> {
        self.send(Command::RefreshReplicas).await?;
        self.wait_for("the replica list", |e| match e {
            Event::ReplicasLoaded { replicas } => {
                Some(replicas.iter().find(|r| r.name == name).map(|r| r.id))
            }
            _ => None,
        })
        .await?
        .ok_or_else(|| DemoError::Step {
            what: format!("finding {name}"),
            message: "the replica is gone".into(),
        })
    }

    async fn create(&mut self, name: &str, layers: Vec<i64>) -> Result<LocalReplicaId, DemoError> {
        self.send(Command::CreateReplica(CreateRequest {
            service_url: self.service_url.clone(),
            token: None,
            name: name.to_owned(),
            layers,
            sync_model: SyncModel::PerReplica,
            is_async: true,
        }))
        .await?;
        let registered = self
            .wait_for(&format!("{name} to be registered"), |e| match e {
                Event::ReplicaChanged { summary } if summary.name == name => Some(Ok(summary.id)),
                Event::CommandFailed { what, error, .. } if what == "create replica" => {
                    Some(Err(error.message.clone()))
                }
                _ => None,
            })
            .await?;
        let replica = registered.map_err(|message| DemoError::Step {
            what: format!("creating {name}"),
            message,
        })?;
        match self.job_end(replica, name).await? {
            JobEnd::Completed(_) => Ok(replica),
            JobEnd::Failed(message) => Err(DemoError::Step {
                what: format!("creating {name}"),
                message,
            }),
        }
    }

    async fn job_end(&mut self, replica: LocalReplicaId, name: &str) -> Result<JobEnd, DemoError> {
        self.wait_for(&format!("the job of {name}"), |e| match e {
            Event::JobCompleted {
                replica: r,
                outcome,
                ..
            } if *r == replica => Some(JobEnd::Completed(outcome.clone())),
            Event::JobFailed {
                replica: r, error, ..
            } if *r == replica => Some(JobEnd::Failed(error.message.clone())),
            _ => None,
        })
        .await
    }

    /// Syncs and waits for the job's end. A refused upload (a failed job with rollback, or
    /// CompletedWithErrors) is what the demo wants; only a failure without rollback is an error.
    async fn sync(&mut self, replica: LocalReplicaId, rollback: bool) -> Result<(), DemoError> {
        self.send(Command::SyncNow {
            replica,
            options: SyncOptions {
                rollback_on_failure: rollback,
                ..SyncOptions::default()
            },
        })
        .await?;
        match self.job_end(replica, "the demo sync").await? {
            JobEnd::Completed(outcome) if outcome.state != JobState::Failed => Ok(()),
            JobEnd::Failed(_) if rollback => Ok(()),
            JobEnd::Completed(outcome) => Err(DemoError::Step {
                what: "a demo sync".into(),
                message: format!("ended {}", outcome.state.as_str()),
            }),
            JobEnd::Failed(message) => Err(DemoError::Step {
                what: "a demo sync".into(),
                message,
            }),
        }
    }

    async fn edit(
        &self,
        replica: LocalReplicaId,
        layer_id: i64,
        edit: LocalEdit,
    ) -> Result<(), DemoError> {
        self.handle
            .edit_feature(replica, layer_id, edit)
            .await
            .map(|_| ())
            .map_err(|e| DemoError::Step {
                what: "recording a demo edit".into(),
                message: format!("{e:#}"),
            })
    }

    /// Pauses or resumes and waits for the engine's answer (its summary).
    async fn set_paused(&mut self, replica: LocalReplicaId, paused: bool) -> Result<(), DemoError> {
        self.send(Command::SetPaused { replica, paused }).await?;
        self.wait_for("the pause to be recorded", |e| match e {
            Event::ReplicaChanged { summary }
                if summary.id == replica && summary.paused == paused =>
            {
                Some(())
            }
            _ => None,
        })
        .await
    }
}

/// Existing features of the demo service that the demo edits refer to.
#[derive(Debug, Clone, Default)]
struct DemoFeatures {
    hydrant: Option<crate::protocol::Feature>,
    second_hydrant: Option<crate::protocol::Feature>,
    valve: Option<crate::protocol::Feature>,
    /// An inspection owned by another technician (ownership-based access control).
    foreign_inspection: Option<crate::protocol::Feature>,
}

fn demo_features() -> DemoFeatures {
    let Ok(def) = ServiceDefinition::demo() else {
        return DemoFeatures::default();
    };
    let seed = |id: i64| {
        def.all_layers()
            .find(|l| l.id == id)
            .map(|l| l.seed.clone())
            .unwrap_or_default()
    };
    let hydrants = seed(0);
    DemoFeatures {
        hydrant: hydrants.first().cloned(),
        second_hydrant: hydrants.get(1).cloned(),
        valve: seed(1).first().cloned(),
        foreign_inspection: seed(3)
            .into_iter()
            .find(|f| f.attributes.get("Inspector").and_then(|v| v.as_str()) == Some("tech2")),
    }
}

fn add(attributes: serde_json::Value, geometry: serde_json::Value) -> LocalEdit {
    LocalEdit::Add {
        attributes: as_attributes(attributes),
        geometry: Some(geometry),
    }
}

/// An update of `feature`'s attributes (no geometry change). A feature without a GlobalID
/// (never in the demo data) gives an update of a fresh id, which the local file refuses.
fn update(feature: &crate::protocol::Feature, attributes: serde_json::Value) -> LocalEdit {
    LocalEdit::Update {
        global_id: feature
            .global_id()
            .unwrap_or_else(crate::protocol::Guid::new_v4),
        attributes: as_attributes(attributes),
        geometry: None,
    }
}

fn as_attributes(value: serde_json::Value) -> Attributes {
    match value {
        serde_json::Value::Object(map) => map.into_iter().collect(),
        _ => Attributes::new(),
    }
}

/// The failed-edits replica's local edits: two good ones and one per refusal reason the
/// reference service checks (1001, 1016, 1022, 1023, 1006, 1014, 1004, 1002, 1007).
fn failing_edits(demo: &DemoFeatures) -> Vec<(i64, LocalEdit)> {
    use serde_json::json;
    let point = |i: f64| json!({"x": -122.66 + 0.004 * i, "y": 45.52});
    let mut edits = vec![
        (
            0,
            add(
                json!({"FacilityID": "HYD-B-100", "Status": "IS", "Flow_GPM": 1200.0}),
                point(0.0),
            ),
        ),
        (
            0,
            add(
                json!({"FacilityID": null, "Status": "IS", "Flow_GPM": 900.0}),
                point(1.0),
            ),
        ),
        (
            0,
            add(
                json!({"FacilityID": "HYD-B-102", "Status": "IS", "Flow_GPM": 9999.0}),
                point(2.0),
            ),
        ),
        (
            0,
            add(
                json!({"FacilityID": "HYD-B-103", "Status": "BROKEN"}),
                point(3.0),
            ),
        ),
        (
            0,
            add(
                json!({"FacilityID": "HYD-0001", "Status": "IS"}),
                point(4.0),
            ),
        ),
        (
            0,
            add(
                json!({"FacilityID": "HYD-B-105", "Status": "IS", "Notes": "<script>alert(1)</script>"}),
                point(5.0),
            ),
        ),
        (
            1,
            add(
                json!({"ValveID": "VLV-B-200", "Diameter_mm": 150, "Depth": 1.1}),
                point(6.0),
            ),
        ),
        (
            2,
            add(
                json!({"MainID": "MN-B-300", "Material": "PVC"}),
                json!({"paths": [[[-122.65, 45.53], [-122.64, 45.535]]]}),
            ),
        ),
    ];
    if let Some(hydrant) = &demo.hydrant {
        edits.push((0, update(hydrant, json!({"AssetTag": "WTR-CHANGED"}))));
    }
    if let Some(hydrant) = &demo.second_hydrant {
        edits.push((0, update(hydrant, json!({"Notes": "Repainted by crew B"}))));
    }
    if let Some(valve) = &demo.valve
        && let Some(global_id) = valve.global_id()
    {
        edits.push((
            1,
            LocalEdit::Update {
                global_id,
                attributes: Attributes::new(),
                geometry: Some(json!({"x": -122.6952, "y": 45.5421, "z": 51.3})),
            },
        ));
    }
    if let Some(inspection) = &demo.foreign_inspection {
        edits.push((
            3,
            update(inspection, json!({"Comments": "Re-inspected by crew B"})),
        ));
    }
    edits
}
