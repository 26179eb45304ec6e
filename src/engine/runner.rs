//! The engine task: receives [`Command`]s, keeps one job per replica running (later ones queue),
//! schedules auto-sync with backoff for unreachable services, and reports through [`Event`]s.
//! It stops when the command queue closes (every handle dropped, or [`Command::Shutdown`]), after
//! the running jobs have finished.

use super::api::{Command, Event, JobId, LocalReplicaId, ResetMode, SyncOptions};
use super::error::EngineError;
use super::jobs::{self, Job, JobReport, Reach};
use super::{Deps, MAX_CONCURRENT_JOBS, local, prediction_refresh, summary};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// A running job.
struct Running {
    job_id: JobId,
    cancel: watch::Sender<bool>,
}

/// A service that could not be reached: auto-sync leaves it alone until `retry_at`.
struct Outage {
    failures: u32,
    retry_at: Instant,
}

struct Runner {
    deps: Deps,
    running: HashMap<LocalReplicaId, Running>,
    queued: HashMap<LocalReplicaId, VecDeque<(JobId, Job)>>,
    tasks: JoinSet<JobReport>,
    task_replicas: HashMap<tokio::task::Id, LocalReplicaId>,
    permits: Arc<Semaphore>,
    auto_sync: Option<Duration>,
    next_auto_sync: Option<Instant>,
    outages: HashMap<String, Outage>,
}

/// The engine task's body.
pub(crate) async fn run(mut commands: mpsc::Receiver<Command>, deps: Deps) {
    let auto_sync = deps
        .with_store(|s| s.auto_sync_interval_secs())
        .await
        .ok()
        .flatten()
        .map(Duration::from_secs);
    let mut runner = Runner {
        deps,
        running: HashMap::new(),
        queued: HashMap::new(),
        tasks: JoinSet::new(),
        task_replicas: HashMap::new(),
        permits: Arc::new(Semaphore::new(MAX_CONCURRENT_JOBS)),
        auto_sync,
        next_auto_sync: auto_sync.map(|d| Instant::now() + d),
        outages: HashMap::new(),
    };
    runner.send_all_summaries().await;
    runner.refresh_due_predictions().await;
    if runner.deps.config.reset_on_detection {
        runner.resume_interrupted_resets().await;
    }
    let mut accepting = true;
    loop {
        if !accepting && runner.tasks.is_empty() {
            break;
        }
        let auto_deadline = runner.next_auto_sync;
        tokio::select! {
            command = commands.recv(), if accepting => match command {
                None | Some(Command::Shutdown) => {
                    accepting = false;
                    commands.close();
                    runner.queued.clear();
                    // Running jobs stop at their next checkpoint: a network call is abandoned
                    // (edits stay queued), a reply already received is still applied.
                    for running in runner.running.values() {
                        let _ = running.cancel.send(true);
                    }
                }
                Some(command) => runner.handle(command).await,
            },
            Some(joined) = runner.tasks.join_next_with_id(), if !runner.tasks.is_empty() => {
                runner.job_ended(joined).await;
            }
            _ = sleep_until(auto_deadline), if auto_deadline.is_some() && accepting => {
                runner.auto_sync_tick().await;
            }
        }
    }
    tracing::info!("engine stopped");
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl Runner {
    fn is_syncing(&self, replica: LocalReplicaId) -> bool {
        self.running.contains_key(&replica)
    }

    fn command_failed(&self, what: &str, error: &EngineError) {
        self.deps.events.send(Event::CommandFailed {
            what: what.to_string(),
            error: error.to_failure(),
        });
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::RefreshReplicas => self.send_all_summaries().await,
            Command::CreateReplica(request) => {
                match jobs::register_new(&self.deps, &request).await {
                    Ok(replica) => {
                        jobs::send_summary(&self.deps, replica, false).await;
                        self.enqueue(replica, Job::Create(request)).await;
                    }
                    Err(e) => self.command_failed("create replica", &e),
                }
            }
            Command::SyncNow { replica, options } => {
                self.enqueue(replica, Job::Sync(options)).await
            }
            Command::SyncAll => self.sync_all(false).await,
            Command::Cancel { replica } => self.cancel(replica).await,
            Command::FixEdit {
                replica,
                layer_id,
                global_id,
                attributes,
                geometry,
            } => {
                let syncing = self.is_syncing(replica);
                if let Err(e) = local::fix_edit(
                    &self.deps, replica, layer_id, global_id, attributes, geometry, syncing,
                )
                .await
                {
                    self.command_failed("fix edit", &e);
                }
            }
            Command::DropEdit {
                replica,
                layer_id,
                global_id,
            } => {
                let syncing = self.is_syncing(replica);
                if let Err(e) =
                    local::drop_edit(&self.deps, replica, layer_id, global_id, syncing).await
                {
                    self.command_failed("drop edit", &e);
                }
            }
            Command::EditFeature {
                replica,
                layer_id,
                edit,
            } => match local::edit_feature(&self.deps, replica, layer_id, edit).await {
                Ok(mut summary) => {
                    summary.syncing = self.is_syncing(replica);
                    self.deps.events.send(Event::ReplicaChanged { summary });
                }
                Err(e) => self.command_failed("edit feature", &e),
            },
            Command::Unregister { replica } => self.enqueue(replica, Job::Unregister).await,
            Command::SetAutoSync { interval_secs } => self.set_auto_sync(interval_secs).await,
            Command::SetResetMode { replica, mode } => {
                let update = move |s: &mut crate::store::Store| s.set_reset_mode(replica, mode);
                self.update_replica(replica, "set reset mode", update).await
            }
            Command::SetPredictedPolicy { replica, policy } => {
                match self
                    .deps
                    .with_store(move |s| s.set_predicted_policy(replica, policy))
                    .await
                {
                    Ok(()) => {
                        jobs::send_summary(&self.deps, replica, self.is_syncing(replica)).await
                    }
                    Err(e) => self.command_failed("set predicted-refusal policy", &e),
                }
            }
            Command::SetPaused { replica, paused } => {
                let update = move |s: &mut crate::store::Store| s.set_paused(replica, paused);
                self.update_replica(replica, "pause replica", update).await
            }
            Command::RepointService { from_url, to_url } => {
                self.repoint_service(from_url, to_url).await
            }
            Command::Reset { replica, mode } => {
                let job = Job::Reset {
                    mode,
                    confirmed: false,
                };
                self.enqueue(replica, job).await
            }
            Command::ConfirmReset { replica } => {
                let job = Job::Reset {
                    mode: ResetMode::Manual,
                    confirmed: true,
                };
                self.enqueue(replica, job).await
            }
            Command::CancelReset { replica } => self.cancel_reset(replica).await,
            Command::LoadEditResults { replica } => {
                jobs::send_edit_results(&self.deps, replica).await
            }
            Command::ExportCsv {
                rows,
                indices,
                path,
            } => {
                if let Err(e) = local::export_csv(&self.deps, rows, indices, path).await {
                    self.command_failed("export CSV", &e);
                }
            }
            Command::Shutdown => {}
        }
    }

    /// Changes one setting of a replica in the store and sends its new summary.
    async fn update_replica<F>(&self, replica: LocalReplicaId, what: &str, update: F)
    where
        F: FnOnce(&mut crate::store::Store) -> Result<(), crate::store::StoreError>
            + Send
            + 'static,
    {
        match self.deps.with_store(update).await {
            Ok(()) => jobs::send_summary(&self.deps, replica, self.is_syncing(replica)).await,
            Err(e) => self.command_failed(what, &e),
        }
    }

    /// Predictions left due by edits the last engine did not judge (a one-shot `syncwatch edit`,
    /// a crash) are judged in the background.
    async fn refresh_due_predictions(&self) {
        match self.deps.with_store(|s| s.replicas()).await {
            Ok(replicas) => {
                for record in replicas.iter().filter(|r| r.replica_guid.is_some()) {
                    prediction_refresh::schedule(&self.deps, record.local_id);
                }
            }
            Err(e) => tracing::debug!(error = %e, "predictions not checked at start"),
        }
    }

    async fn send_all_summaries(&self) {
        let syncing: Vec<LocalReplicaId> = self.running.keys().copied().collect();
        match self
            .deps
            .with_store(move |s| summary::build_all(s, |id| syncing.contains(&id)))
            .await
        {
            Ok(replicas) => self.deps.events.send(Event::ReplicasLoaded { replicas }),
            Err(e) => self.command_failed("load replicas", &e),
        }
    }

    /// Records the job and starts it, or queues it behind the replica's running job.
    async fn enqueue(&mut self, replica: LocalReplicaId, job: Job) {
        let (kind, direction) = (job.kind(), job.direction());
        let job_id = match self
            .deps
            .with_store(move |s| {
                s.replica(replica)?;
                s.start_job(replica, kind, direction)
            })
            .await
        {
            Ok(id) => id,
            Err(e) => return self.command_failed("queue job", &e),
        };
        self.deps.events.send(Event::JobQueued {
            replica,
            job: job_id,
        });
        if self.running.contains_key(&replica) {
            self.queued
                .entry(replica)
                .or_default()
                .push_back((job_id, job));
        } else {
            self.launch(replica, job_id, job);
        }
    }

    fn launch(&mut self, replica: LocalReplicaId, job_id: JobId, job: Job) {
        let (cancel_tx, cancel_rx) = watch::channel(false);
        self.deps.predictions.set_syncing(replica, true);
        self.running.insert(
            replica,
            Running {
                job_id,
                cancel: cancel_tx,
            },
        );
        let deps = self.deps.clone();
        let permits = self.permits.clone();
        let handle = self.tasks.spawn(async move {
            // Waiting for the permit inside the task keeps the command loop responsive.
            let _permit = permits.acquire_owned().await;
            jobs::run(deps, replica, job_id, job, cancel_rx).await
        });
        self.task_replicas.insert(handle.id(), replica);
    }

    async fn job_ended(
        &mut self,
        joined: Result<(tokio::task::Id, JobReport), tokio::task::JoinError>,
    ) {
        let (replica, report) = match joined {
            Ok((task_id, report)) => {
                self.task_replicas.remove(&task_id);
                (report.replica, Some(report))
            }
            Err(e) => {
                let Some(replica) = self.task_replicas.remove(&e.id()) else {
                    return;
                };
                tracing::error!(replica = %replica, error = %e, "a job task stopped abnormally");
                if let Some(running) = self.running.get(&replica) {
                    self.deps.events.send(Event::JobFailed {
                        replica,
                        job: running.job_id,
                        error: EngineError::Bug(e.to_string()).to_failure(),
                    });
                }
                (replica, None)
            }
        };
        self.running.remove(&replica);
        self.deps.predictions.set_syncing(replica, false);
        let (mut needs_reset, mut then_sync) = (false, false);
        if let Some(mut report) = report {
            if let Some(event) = report.final_event.take() {
                self.deps.events.send(event);
            }
            if report.removed {
                self.queued.remove(&replica);
                self.deps.events.send(Event::ReplicaRemoved { replica });
            } else if !self.queued.contains_key(&replica) {
                jobs::send_summary(&self.deps, replica, false).await;
            }
            self.note_reach(&report);
            needs_reset = report.needs_reset;
            then_sync = report.then_sync;
        }
        if let Some(queue) = self.queued.get_mut(&replica)
            && let Some((job_id, job)) = queue.pop_front()
        {
            if queue.is_empty() {
                self.queued.remove(&replica);
            }
            self.launch(replica, job_id, job);
        }
        if needs_reset && self.deps.config.reset_on_detection {
            self.start_reset_after_detection(replica).await;
        }
        if then_sync {
            self.enqueue(replica, Job::Sync(SyncOptions::default()))
                .await;
        }
    }

    /// A sync just found the replica unsyncable: an automatic mode resets right away (seed 000's
    /// automatic client reset); Manual plans the reset and waits for the technician.
    async fn start_reset_after_detection(&mut self, replica: LocalReplicaId) {
        match self.deps.with_store(move |s| s.replica(replica)).await {
            Ok(record) if !record.paused => {
                let job = Job::Reset {
                    mode: record.reset_mode,
                    confirmed: false,
                };
                self.enqueue(replica, job).await;
            }
            Ok(_) => {}
            Err(e) => self.command_failed("start client reset", &e),
        }
    }

    /// At start: a client reset that a crash or a shutdown interrupted is resumed (its journal
    /// says how far it got; see `reset::job`), unless its replica is paused.
    async fn resume_interrupted_resets(&mut self) {
        let journals = match self.deps.with_store(|s| s.reset_journals()).await {
            Ok(journals) => journals,
            Err(e) => return self.command_failed("resume client resets", &e),
        };
        for journal in journals {
            let replica = journal.local_id;
            match self.deps.with_store(move |s| s.replica(replica)).await {
                Ok(record) if record.paused => continue,
                Ok(_) => {}
                Err(e) => {
                    self.command_failed("resume client reset", &e);
                    continue;
                }
            }
            let job = Job::Reset {
                mode: journal.mode,
                confirmed: false,
            };
            self.enqueue(journal.local_id, job).await;
        }
    }

    /// Moves the replicas of one service to a new URL, logs it and sends the new list.
    async fn repoint_service(&mut self, from_url: String, to_url: String) {
        let (from, to) = (from_url.clone(), to_url.clone());
        match self
            .deps
            .with_store(move |s| s.repoint_service(&from, &to))
            .await
        {
            Ok(moved) if moved.is_empty() => {}
            Ok(moved) => {
                let message = format!(
                    "{} replica(s) now use the service at {to_url} (it was at {from_url})",
                    moved.len()
                );
                jobs::log(&self.deps, None, "service moved", None, &message).await;
                self.send_all_summaries().await;
            }
            Err(e) => self.command_failed("move replicas to the new service address", &e),
        }
    }

    /// The technician cancelled a manual reset: nothing changes; the replica still needs one.
    async fn cancel_reset(&mut self, replica: LocalReplicaId) {
        let name = match self.deps.with_store(move |s| s.replica(replica)).await {
            Ok(record) => record.name,
            Err(e) => return self.command_failed("cancel client reset", &e),
        };
        let message =
            "manual client reset cancelled; the replica is unchanged and still needs a reset";
        jobs::log(&self.deps, Some(replica), &name, None, message).await;
        jobs::send_summary(&self.deps, replica, self.is_syncing(replica)).await;
    }

    /// NetworkLost on the first unreachable job of a service, NetworkBack on its next success.
    fn note_reach(&mut self, report: &JobReport) {
        let url = report.service_url.clone();
        match &report.reach {
            Reach::Reached => {
                if self.outages.remove(&url).is_some() {
                    self.deps
                        .events
                        .send(Event::NetworkBack { service_url: url });
                }
            }
            Reach::Unreachable(reason) => {
                let min = self.deps.config.min_unreachable_backoff_secs.max(1);
                let max = self.deps.config.max_unreachable_backoff_secs.max(min);
                let outage = self.outages.entry(url.clone()).or_insert(Outage {
                    failures: 0,
                    retry_at: Instant::now(),
                });
                outage.failures += 1;
                let delay_secs = min
                    .saturating_mul(1u64 << (outage.failures - 1).min(16))
                    .min(max);
                outage.retry_at = Instant::now() + Duration::from_secs(delay_secs);
                if outage.failures == 1 {
                    self.deps.events.send(Event::NetworkLost {
                        service_url: url,
                        reason: reason.clone(),
                    });
                }
            }
            Reach::NotTried => {}
        }
    }

    async fn cancel(&mut self, replica: LocalReplicaId) {
        if let Some(queue) = self.queued.remove(&replica) {
            for (job_id, _) in queue {
                let finish = crate::store::JobFinish {
                    state: "Cancelled".into(),
                    error: Some("cancelled before it started".into()),
                    ..Default::default()
                };
                let _ = self
                    .deps
                    .with_store(move |s| s.finish_job(job_id, &finish))
                    .await;
                // Every JobQueued gets its end, so front ends never wait on a dropped job.
                self.deps.events.send(Event::JobFailed {
                    replica,
                    job: job_id,
                    error: EngineError::Cancelled.to_failure(),
                });
            }
        }
        if let Some(running) = self.running.get(&replica) {
            let _ = running.cancel.send(true);
        }
    }

    async fn set_auto_sync(&mut self, interval_secs: Option<u64>) {
        let interval_secs = interval_secs.filter(|s| *s > 0);
        if let Err(e) = self
            .deps
            .with_store(move |s| s.set_auto_sync_interval_secs(interval_secs))
            .await
        {
            self.command_failed("set auto-sync", &e);
        }
        self.auto_sync = interval_secs.map(Duration::from_secs);
        self.next_auto_sync = self.auto_sync.map(|d| Instant::now() + d);
    }

    async fn auto_sync_tick(&mut self) {
        self.next_auto_sync = self.auto_sync.map(|d| Instant::now() + d);
        self.sync_all(true).await;
    }

    /// Queues a sync of every replica that can sync now. `automatic`: skip replicas that are
    /// busy or whose service is in its unreachable backoff.
    async fn sync_all(&mut self, automatic: bool) {
        let records = match self.deps.with_store(|s| s.replicas()).await {
            Ok(r) => r,
            Err(e) => return self.command_failed("sync all", &e),
        };
        let now = Instant::now();
        for record in records {
            let busy = self.running.contains_key(&record.local_id)
                || self.queued.contains_key(&record.local_id);
            let backing_off = self
                .outages
                .get(&record.service_url)
                .is_some_and(|o| o.retry_at > now);
            if record.paused
                || record.reset_required.is_some()
                || record.replica_guid.is_none()
                || (automatic && (busy || backing_off))
            {
                continue;
            }
            self.enqueue(record.local_id, Job::Sync(SyncOptions::default()))
                .await;
        }
    }
}
