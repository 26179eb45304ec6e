//! The runner's scheduling: one job per replica at a time (later ones queue behind it), launching
//! jobs under the concurrency permits, what happens when a job ends (the next queued job, a client
//! reset after detection, the sync a recovery asks for), cancelling, and auto-sync with its backoff
//! for services that could not be reached. Interprets no [`Command`](crate::engine::Command); the
//! dispatch in the parent module does.

use super::Runner;
use crate::engine::api::{Event, JobId, LocalReplicaId, SyncOptions};
use crate::engine::error::EngineError;
use crate::engine::job::{self, Job, JobReport, Reach};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// A running job.
pub(super) struct Running {
    pub(super) job_id: JobId,
    pub(super) cancel: watch::Sender<bool>,
}

/// A service that could not be reached: auto-sync leaves it alone until `retry_at`.
pub(super) struct Outage {
    pub(super) failures: u32,
    pub(super) retry_at: Instant,
}

impl Runner {
    /// Records the job and starts it, or queues it behind the replica's running job.
    pub(super) async fn enqueue(&mut self, replica: LocalReplicaId, job: Job) {
        let (kind, direction) = (job.kind(), job.direction());
        let (job_id, sign_in_needed) = match self
            .deps
            .with_store(move |s| {
                s.replica(replica)?;
                let waits = s.sign_in_needed(replica)?;
                Ok((s.start_job(replica, kind, direction)?, waits))
            })
            .await
        {
            Ok(started) => started,
            Err(e) => return self.command_failed("queue job", &e),
        };
        self.deps.events.send(Event::JobQueued {
            replica,
            job: job_id,
            command: self.command,
        });
        if let Some(reason) = sign_in_needed.filter(|_| job.needs_service()) {
            self.wait_for_sign_in(replica, job_id, job, reason);
        } else if self.running.contains_key(&replica) {
            self.queued
                .entry(replica)
                .or_default()
                .push_back((job_id, job));
        } else {
            self.launch(replica, job_id, job);
        }
    }

    pub(super) fn launch(&mut self, replica: LocalReplicaId, job_id: JobId, job: Job) {
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
            job::run(deps, replica, job_id, job, cancel_rx).await
        });
        self.task_replicas.insert(handle.id(), replica);
    }

    pub(super) async fn job_ended(
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
                    let error = EngineError::Bug(e.to_string()).to_failure();
                    job::log_soon(&self.deps, Some(replica), None, error.message.clone());
                    self.deps.events.send(Event::JobFailed {
                        replica,
                        job: running.job_id,
                        error,
                    });
                }
                (replica, None)
            }
        };
        let report_job_id = self.running.remove(&replica).map(|r| r.job_id);
        self.deps.predictions.set_syncing(replica, false);
        let (mut needs_reset, mut then_sync) = (false, false);
        if let Some(mut report) = report {
            if let Some((reason, job)) = report.waiting_sign_in.take()
                && let Some(running_job) = report_job_id
            {
                self.wait_for_sign_in(replica, running_job, job, reason);
                // The replica's later jobs wait behind it.
                if let Some(queue) = self.queued.remove(&replica) {
                    self.waiting_sign_in
                        .entry(replica)
                        .or_default()
                        .extend(queue);
                }
                job::send_summary(&self.deps, replica, false).await;
                self.note_reach(&report);
                return;
            }
            if let Some(event) = report.final_event.take() {
                self.deps.events.send(event);
            }
            if report.removed {
                self.queued.remove(&replica);
                self.deps.events.send(Event::ReplicaRemoved { replica });
            } else if !self.queued.contains_key(&replica) {
                job::send_summary(&self.deps, replica, false).await;
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

    /// Keeps a job of a replica that waits for a sign-in, and says so.
    pub(super) fn wait_for_sign_in(
        &mut self,
        replica: LocalReplicaId,
        job_id: JobId,
        job: Job,
        reason: String,
    ) {
        self.waiting_sign_in
            .entry(replica)
            .or_default()
            .push_back((job_id, job));
        self.deps.events.send(Event::JobWaitingForSignIn {
            replica,
            job: job_id,
            reason,
        });
    }

    /// After a successful sign-in (which cleared the `marked` replicas' waits in the app
    /// database): their new summaries go out, and the waiting jobs run (one whose server the new account does not cover waits again).
    pub(super) async fn wake_after_sign_in(&mut self, marked: Vec<LocalReplicaId>) {
        let waiting: Vec<_> = self.waiting_sign_in.drain().collect();
        for replica in &marked {
            if !waiting.iter().any(|(r, _)| r == replica) {
                job::send_summary(&self.deps, *replica, self.running.contains_key(replica)).await;
            }
        }
        for (replica, jobs) in waiting {
            let queue = self.queued.entry(replica).or_default();
            queue.extend(jobs);
            if !self.running.contains_key(&replica)
                && let Some((job_id, job)) = queue.pop_front()
            {
                if queue.is_empty() {
                    self.queued.remove(&replica);
                }
                self.launch(replica, job_id, job);
            }
        }
    }

    /// A sync just found the replica unsyncable: an automatic mode resets right away (ArcGIS's
    /// automatic client reset); Manual plans the reset and waits for the technician.
    pub(super) async fn start_reset_after_detection(&mut self, replica: LocalReplicaId) {
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
    /// says how far it got; see `job::reset`), unless its replica is paused.
    pub(super) async fn resume_interrupted_resets(&mut self) {
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
    /// NetworkLost on the first unreachable job of a service, NetworkBack on its next success.
    pub(super) fn note_reach(&mut self, report: &JobReport) {
        let url = report.service_url.clone();
        match &report.reach {
            Reach::Reached => {
                if self.outages.remove(&url).is_some() {
                    let message = format!("The service answers again: {url}");
                    job::log_soon(&self.deps, None, None, message);
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
                    let message = format!(
                        "The service is not answering; its syncs are retried with growing \
                         pauses: {url}"
                    );
                    job::log_soon(&self.deps, None, None, message);
                    self.deps.events.send(Event::NetworkLost {
                        service_url: url,
                        reason: reason.clone(),
                    });
                }
            }
            Reach::NotTried => {}
        }
    }

    pub(super) async fn cancel(&mut self, replica: LocalReplicaId) {
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

    pub(super) async fn set_auto_sync(&mut self, interval_secs: Option<u64>) {
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

    pub(super) async fn auto_sync_tick(&mut self) {
        self.next_auto_sync = self.auto_sync.map(|d| Instant::now() + d);
        self.sync_all(true).await;
    }

    /// Queues a sync of every replica that can sync now. `automatic`: skip replicas that are
    /// busy or whose service is in its unreachable backoff.
    pub(super) async fn sync_all(&mut self, automatic: bool) {
        let records = match self
            .deps
            .with_store(|s| {
                s.replicas()?
                    .into_iter()
                    .map(|r| Ok((s.sign_in_needed(r.local_id)?.is_some(), r)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
        {
            Ok(r) => r,
            Err(e) => return self.command_failed("sync all", &e),
        };
        let now = Instant::now();
        for (waits_for_sign_in, record) in records {
            let busy = self.running.contains_key(&record.local_id)
                || self.queued.contains_key(&record.local_id)
                || self.waiting_sign_in.contains_key(&record.local_id);
            let backing_off = self
                .outages
                .get(&record.service_url)
                .is_some_and(|o| o.retry_at > now);
            if record.paused
                || record.reset_reason.is_some()
                || record.replica_guid.is_none()
                || (automatic && (busy || backing_off || waits_for_sign_in))
            {
                continue;
            }
            self.enqueue(record.local_id, Job::Sync(SyncOptions::default()))
                .await;
        }
    }
}
