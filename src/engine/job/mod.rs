//! The jobs the runner schedules: create a replica, sync it, unregister it, reset it, restore
//! changes from a reset's backup onto it. Owns what
//! every job shares: [`Job`] (what to do), [`run`] (the one dispatch, each job its own tokio task),
//! [`Done`] / [`Failed`] and how a job's end is recorded and turned into exactly one of
//! `JobCompleted` / `JobFailed` (plus `ResetRequired` when only a client reset can help), handed
//! back to the runner in a [`JobReport`]. The job bodies live in the child files; this file holds
//! no job's steps and never schedules (the runner does).
//!
//! Edits are sacred: an upload is marked in the replica file before it is sent, acknowledged only
//! from the server's results, and the downloaded changes and the new generation are written in one
//! transaction after the reply is complete. A cancelled or failed job leaves every edit queued.

mod conflicts;
mod crash_point;
mod create;
mod data_format;
mod interrupted_create;
mod replica_ingest;
mod report;
mod reset;
mod reset_fresh;
mod restore;
mod rollback;
mod sync;
mod sync_params;
mod sync_reply;
mod sync_result;
mod unregister;

pub use crash_point::{CRASH_AT_ENV, CRASH_EXIT_CODE};
pub(crate) use report::{
    answer_edit_results, answer_failed, client_for, command_failed, log, log_soon,
    send_edit_results, send_log_history, send_summary,
};

use super::api::{CreateRequest, Event, JobId, JobOutcome, LocalReplicaId, ResetMode, SyncOptions};
use super::error::{EngineError, chain};
use super::secrets::save_replica_token;
use super::{Deps, now_ms};
use crate::protocol::JobState;
use crate::store::{JobFinish, JobKind, NewReplica};
use std::path::PathBuf;
use tokio::sync::watch;

/// What the runner asks a job task to do.
#[derive(Debug, Clone)]
pub(crate) enum Job {
    Create(CreateRequest),
    Sync(SyncOptions),
    Unregister,
    /// A client reset in this mode; `confirmed` when the user confirmed a manual reset.
    Reset {
        mode: ResetMode,
        confirmed: bool,
    },
    /// Re-apply a backup's changes (those of `only`, or all) as new local changes; `sync`: then
    /// sync them.
    Restore {
        backup: String,
        only: Option<Vec<crate::protocol::Guid>>,
        sync: bool,
    },
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Job::Create(_) => JobKind::Create,
            Job::Sync(_) => JobKind::Sync,
            Job::Unregister => JobKind::Unregister,
            Job::Reset { .. } => JobKind::Reset,
            Job::Restore { .. } => JobKind::Restore,
        }
    }
    /// Whether the job talks to the replica's service (a restore only writes the replica file:
    /// it neither waits for a sign-in nor counts as reaching the service).
    pub fn needs_service(&self) -> bool {
        !matches!(self, Job::Create(_) | Job::Restore { .. })
    }
    pub fn direction(&self) -> Option<&'static str> {
        match self {
            Job::Sync(o) => Some(o.direction.as_str()),
            _ => None,
        }
    }
}

/// Whether the job reached its service, for auto-sync backoff and NetworkLost/NetworkBack.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reach {
    Reached,
    Unreachable(String),
    /// The job never talked to the service (local failure, cancelled early).
    NotTried,
}

/// What a finished job tells the runner.
#[derive(Debug)]
pub(crate) struct JobReport {
    pub replica: LocalReplicaId,
    pub service_url: String,
    pub reach: Reach,
    /// The replica was removed (unregistered, or its create failed).
    pub removed: bool,
    /// A sync just found that only a client reset can help (first detection, not a refusal of a
    /// replica already marked).
    pub needs_reset: bool,
    /// Queue a sync next (a recovery's replayed edits are waiting to be uploaded).
    pub then_sync: bool,
    /// The job could not get a token and nothing renews it: the replica is marked "sign-in
    /// needed" and the runner keeps this job (same id) until the next successful sign-in.
    pub waiting_sign_in: Option<(String, Job)>,
    /// `JobCompleted` or `JobFailed`: the runner sends it once the replica is no longer busy, so a
    /// front end that hears it and asks for a summary never sees the replica still syncing.
    pub final_event: Option<Event>,
}

/// Registers a replica about to be created, so the job has a local id. Its file path is final.
pub(crate) async fn register_new(
    deps: &Deps,
    request: &CreateRequest,
) -> Result<LocalReplicaId, EngineError> {
    let dirs = deps.dirs.clone();
    let secrets = deps.secrets.clone();
    let request = request.clone();
    deps.blocking(move |store| {
        let local_id = store.add_replica(&NewReplica {
            name: request.name.clone(),
            service_url: request.service_url.clone(),
            replica_guid: None,
            file_path: PathBuf::new(),
        })?;
        // The token goes to the secret store, never the app database; if no store takes it,
        // the replica is not registered and the error says how to choose one.
        if let Some(token) = &request.token
            && let Err(e) = save_replica_token(store, &secrets, local_id, token)
        {
            let _ = store.remove_replica(local_id);
            return Err(e);
        }
        let path = dirs.replica_file_path(local_id, &request.name);
        store.set_replica_path(local_id, &path)?;
        Ok(local_id)
    })
    .await
}

/// Runs one job to its end and reports to the runner.
pub(crate) async fn run(
    deps: Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    job: Job,
    cancel: watch::Receiver<bool>,
) -> JobReport {
    let started = std::time::Instant::now();
    let service_url = match &job {
        Job::Create(r) => r.service_url.clone(),
        _ => deps
            .with_store(move |s| s.replica(replica))
            .await
            .map(|r| r.service_url)
            .unwrap_or_default(),
    };
    let _ = deps.with_store(move |s| s.mark_job_running(job_id)).await;
    send_summary(&deps, replica, true).await;
    deps.events.send(Event::JobStatus {
        replica,
        job: job_id,
        state: JobState::Pending,
        progress: None,
        message: "starting".into(),
    });
    let mut report = JobReport {
        replica,
        service_url,
        reach: Reach::NotTried,
        removed: false,
        needs_reset: false,
        then_sync: false,
        waiting_sign_in: None,
        final_event: None,
    };
    // Kept to wait for a sign-in; a create that needs one fails (nothing of it exists yet).
    let retry = (!matches!(job, Job::Create(_))).then(|| job.clone());
    let reaches = !matches!(job, Job::Restore { .. });
    let result = match job {
        Job::Create(request) => create::create(&deps, replica, job_id, request, cancel).await,
        Job::Sync(options) => sync::sync(&deps, replica, job_id, options, cancel).await,
        Job::Unregister => unregister::unregister(&deps, replica).await,
        Job::Reset { mode, confirmed } => {
            reset::run(&deps, replica, job_id, mode, confirmed, cancel).await
        }
        Job::Restore { backup, only, sync } => {
            restore::run(&deps, replica, &backup, only, sync).await
        }
    };
    match result {
        Ok(done) => {
            report.reach = if reaches {
                Reach::Reached
            } else {
                Reach::NotTried
            };
            report.removed = done.removed;
            report.then_sync = done.then_sync;
            report.final_event = Some(finish_ok(&deps, job_id, done, started, replica).await);
        }
        Err(failure) if failure.error.is_sign_in_needed() && retry.is_some() => {
            report.reach = Reach::Reached;
            let reason = failure.error.to_failure().message;
            mark_sign_in_needed(&deps, replica, &reason).await;
            report.waiting_sign_in = retry.map(|job| (reason, job));
        }
        Err(failure) => {
            report.reach = match &failure.error {
                e if e.is_unreachable() => Reach::Unreachable(chain(e)),
                EngineError::Service(_) => Reach::Reached,
                _ => Reach::NotTried,
            };
            report.removed = failure.removed;
            report.needs_reset =
                matches!(&failure.error, EngineError::Service(e) if e.needs_client_reset());
            let event = finish_failed(&deps, replica, job_id, failure, reaches).await;
            report.final_event = Some(event);
        }
    }
    report
}

/// Marks the replica "sign-in needed" (not a failed sync: no attempt, no error recorded) and
/// says so in the event log.
async fn mark_sign_in_needed(deps: &Deps, replica: LocalReplicaId, reason: &str) {
    let marked = reason.to_string();
    let name = deps
        .with_store(move |s| {
            s.set_sign_in_needed(replica, Some(&marked))?;
            Ok(s.replica(replica)?.name)
        })
        .await
        .unwrap_or_default();
    tracing::info!(replica = %replica, "sign-in needed; the replica's syncs wait");
    log(
        deps,
        Some(replica),
        &name,
        None,
        &format!("sign-in needed: {reason}; syncs wait until you sign in again"),
    )
    .await;
}

/// A successful job's counts.
#[derive(Debug, Default)]
pub(crate) struct Done {
    pub state: Option<JobState>,
    pub uploaded: u32,
    pub downloaded: u32,
    pub failed_edits: u32,
    pub held_conflicts: u32,
    pub removed: bool,
    pub then_sync: bool,
}

/// A failed job: the error, and whether the replica is gone as a result.
pub(crate) struct Failed {
    pub error: EngineError,
    pub removed: bool,
}

impl From<EngineError> for Failed {
    fn from(error: EngineError) -> Self {
        Failed {
            error,
            removed: false,
        }
    }
}

macro_rules! failed_from {
    ($($source:ty),+) => {$(
        impl From<$source> for Failed {
            fn from(error: $source) -> Self {
                Failed::from(EngineError::from(error))
            }
        }
    )+};
}
failed_from!(
    crate::service::ServiceClientError,
    crate::store::StoreError,
    crate::geodatabase::replica_file::ReplicaFileError
);

async fn finish_ok(
    deps: &Deps,
    job_id: JobId,
    done: Done,
    started: std::time::Instant,
    replica: LocalReplicaId,
) -> Event {
    let state = done.state.clone().unwrap_or(JobState::Completed);
    let finish = JobFinish {
        state: state.as_str().to_string(),
        uploaded: done.uploaded,
        downloaded: done.downloaded,
        failed_edits: done.failed_edits,
        error: None,
    };
    if !done.removed {
        let _ = deps
            .with_store(move |s| {
                s.finish_job(job_id, &finish)?;
                s.set_sign_in_needed(replica, None)
            })
            .await;
    }
    Event::JobCompleted {
        replica,
        job: job_id,
        outcome: JobOutcome {
            state,
            uploaded: done.uploaded,
            downloaded: done.downloaded,
            failed_edits: done.failed_edits,
            duration_ms: started.elapsed().as_millis() as i64,
            held_conflicts: done.held_conflicts,
        },
    }
}

async fn finish_failed(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    failed: Failed,
    sync_attempt: bool,
) -> Event {
    let failure = failed.error.to_failure();
    tracing::warn!(replica = %replica, job = job_id.0, error = %failure.message, "job failed");
    let message = failure.message.clone();
    let finish = JobFinish {
        state: JobState::Failed.as_str().to_string(),
        error: Some(message.clone()),
        ..Default::default()
    };
    let is_cancel = matches!(failed.error, EngineError::Cancelled);
    let name = if failed.removed {
        String::new()
    } else {
        deps.with_store(move |s| {
            s.finish_job(job_id, &finish)?;
            // A failed restore is no failed sync: the replica's health stays as it was.
            if !is_cancel && sync_attempt {
                s.record_attempt(replica, now_ms(), Some(&message))?;
            }
            Ok(s.replica(replica)?.name)
        })
        .await
        .unwrap_or_default()
    };
    if !is_cancel {
        log(deps, Some(replica), &name, failure.code, &failure.message).await;
    }
    Event::JobFailed {
        replica,
        job: job_id,
        error: failure,
    }
}
