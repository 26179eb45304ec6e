//! The seeder: three demo replicas created through the real engine on a first run, so the window
//! shows telling states (one up to date, one with edits the service refused across the 1000 and
//! 2000 series, one that needs a client reset and waits for the technician in Manual mode).
//!
//! It runs on the tokio runtime, never on the UI thread, and never touches egui. It talks to the
//! engine only through [`EngineHandle`], follows its events through an [`EventTap`] listener, and
//! tells the demo service to forget its replicas through [`DemoAdmin`].

use super::DemoError;
use super::admin::{self, DemoAdmin};
use super::edits::{add, demo_features, failing_edits, update};
use super::service::DemoState;
#[cfg(doc)]
use super::tap::EventTap;
use crate::engine::{
    Command, CreateRequest, EngineHandle, Event, EventSender, JobOutcome, LocalEdit,
    LocalReplicaId, ResetMode, SyncOptions,
};
pub use crate::model::demo::SeedProgress;
use crate::protocol::{JobState, SyncModel};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

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
/// started; `events` must come from [`EventTap::listen`] before any command is sent. `window`
/// gets the log line (or the failure) of terminating sync on the demo service.
pub async fn seed(
    handle: EngineHandle,
    events: mpsc::UnboundedReceiver<Event>,
    admin: DemoAdmin,
    window: EventSender,
    service_url: String,
    data_dir: PathBuf,
    reporter: SeedReporter,
) -> Result<SeedProgress, DemoError> {
    let mut seeder = Seeder {
        handle,
        events,
        admin,
        window,
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
    admin: DemoAdmin,
    window: EventSender,
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
        match self.admin.terminate_and_reenable_sync().await {
            Ok(()) => self.window.send(admin::terminated_event()),
            Err(e) => {
                self.window.send(admin::terminate_failed_event(&e));
                return Err(DemoError::Step {
                    what: "terminating sync on the demo service".into(),
                    message: e.to_string(),
                });
            }
        }
        // As the demo menu does: sync everything so the resets happen now (the paused replica
        // is left out).
        self.send(Command::SyncAll).await
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
            scope: Default::default(),
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
