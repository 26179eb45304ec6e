//! Following one command to the end of the job it queued. Owns [`JobTicket`] (what
//! [`EngineHandle::submit`](super::EngineHandle::submit) returns), [`JobWatch`] (the matching, for
//! callers that read events themselves), [`JobEnd`] (how the job ended, as a front end sees it)
//! and [`Predicted`]. The job is found by the [`CommandId`] the engine echoes in its
//! [`Event::JobQueued`], never by guessing that the first queued job is ours; a
//! [`Event::CommandFailed`] with that id ends the wait too. Reads events only; sends nothing.

use super::api::{
    CommandId, EditResultRecord, Event, Failure, JobId, JobOutcome, LocalReplicaId, PredictedPolicy,
};
use super::events::{EventReceiver, WaitError};
use std::time::Duration;

/// What a sync predicted before it uploaded ([`Event::FailuresPredicted`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Predicted {
    pub policy: PredictedPolicy,
    pub rows: Vec<EditResultRecord>,
    pub held: u32,
    pub trimmed: u32,
}

/// How a job ended, as a front end sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEnd {
    Completed {
        replica: LocalReplicaId,
        job: JobId,
        outcome: JobOutcome,
        /// The refusals the sync predicted before uploading, if any.
        predicted: Option<Predicted>,
    },
    Failed {
        replica: LocalReplicaId,
        job: JobId,
        error: Failure,
    },
    /// The job failed because the server can no longer sync the replica
    /// ([`Event::ResetRequired`] came before its [`Event::JobFailed`]).
    ResetRequired {
        replica: LocalReplicaId,
        job: JobId,
        reason: String,
        error: Failure,
    },
    /// The job waits for a sign-in ([`Event::JobWaitingForSignIn`]): it is still queued and
    /// will run after the next successful sign-in; its later end comes as the usual events.
    SignInNeeded {
        replica: LocalReplicaId,
        job: JobId,
        reason: String,
    },
}

impl JobEnd {
    /// The outcome of a completed job, or the failure of a failed one.
    pub fn into_result(self) -> Result<JobOutcome, Failure> {
        match self {
            JobEnd::Completed { outcome, .. } => Ok(outcome),
            JobEnd::Failed { error, .. } | JobEnd::ResetRequired { error, .. } => Err(error),
            JobEnd::SignInNeeded { reason, .. } => Err(Failure {
                class: super::api::FailureClass::SignIn,
                code: None,
                message: reason,
            }),
        }
    }

    /// The replica the job was for.
    pub fn replica(&self) -> LocalReplicaId {
        match self {
            JobEnd::Completed { replica, .. }
            | JobEnd::Failed { replica, .. }
            | JobEnd::ResetRequired { replica, .. }
            | JobEnd::SignInNeeded { replica, .. } => *replica,
        }
    }

    /// The job that ended.
    pub fn job(&self) -> JobId {
        match self {
            JobEnd::Completed { job, .. }
            | JobEnd::Failed { job, .. }
            | JobEnd::ResetRequired { job, .. }
            | JobEnd::SignInNeeded { job, .. } => *job,
        }
    }
}

/// A queued command, to follow to the end of the job it queues. For a command that queues
/// several jobs ([`Command::SyncAll`](super::Command::SyncAll)) it follows the first; for one that
/// queues none it only ever sees the command's failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobTicket {
    command: CommandId,
}

impl JobTicket {
    pub(crate) fn new(command: CommandId) -> Self {
        JobTicket { command }
    }

    /// The id the engine echoes in the command's events.
    pub fn command(&self) -> CommandId {
        self.command
    }

    /// Waits (blocking, up to `timeout` in all) for the command's job to end. Other events are
    /// read and dropped. A command that failed before queueing a job is
    /// [`WaitError::CommandFailed`].
    pub fn wait(&self, events: &EventReceiver, timeout: Duration) -> Result<JobEnd, WaitError> {
        self.follow(events, timeout, |_| {})
    }

    /// [`JobTicket::wait`], handing every event of the job before its end (its progress, its
    /// predicted refusals) to `on_event` as it arrives.
    pub fn follow(
        &self,
        events: &EventReceiver,
        timeout: Duration,
        mut on_event: impl FnMut(&Event),
    ) -> Result<JobEnd, WaitError> {
        let mut watch = JobWatch::new(*self);
        events.wait_for(timeout, |event| {
            let end = watch.see(event);
            if end.is_none() && watch.concerns(event) {
                on_event(event);
            }
            end
        })?
    }
}

/// The matching behind [`JobTicket::wait`], for callers that read events themselves (an async
/// task, a window): feed it every event with [`JobWatch::see`] until it returns the end.
#[derive(Debug, Clone)]
pub struct JobWatch {
    command: CommandId,
    /// The job the command queued, once its [`Event::JobQueued`] was seen.
    ours: Option<(LocalReplicaId, JobId)>,
    reset_reason: Option<String>,
    predicted: Option<Predicted>,
}

impl JobWatch {
    pub fn new(ticket: JobTicket) -> Self {
        JobWatch {
            command: ticket.command,
            ours: None,
            reset_reason: None,
            predicted: None,
        }
    }

    /// The job the command queued, once known.
    pub fn job(&self) -> Option<(LocalReplicaId, JobId)> {
        self.ours
    }

    /// Whether `event` is about the followed job (once its `JobQueued` was seen).
    pub fn concerns(&self, event: &Event) -> bool {
        let Some((mine, ours)) = self.ours else {
            return false;
        };
        match event {
            Event::JobStatus { job, .. }
            | Event::FailuresPredicted { job, .. }
            | Event::JobCompleted { job, .. }
            | Event::JobFailed { job, .. }
            | Event::JobWaitingForSignIn { job, .. } => *job == ours,
            Event::ResetRequired { replica, .. } => *replica == mine,
            _ => false,
        }
    }

    /// Takes in the next event; the job's end (or the command's failure) once it arrives.
    pub fn see(&mut self, event: &Event) -> Option<Result<JobEnd, WaitError>> {
        let is_ours = self.concerns(event);
        match event {
            Event::JobQueued {
                replica,
                job,
                command: Some(command),
            } if self.ours.is_none() && *command == self.command => {
                self.ours = Some((*replica, *job));
                None
            }
            Event::CommandFailed {
                what,
                error,
                command: Some(command),
            } if self.ours.is_none() && *command == self.command => {
                Some(Err(WaitError::CommandFailed {
                    what: what.clone(),
                    error: error.clone(),
                }))
            }
            Event::ResetRequired { reason, .. } if is_ours => {
                self.reset_reason = Some(reason.clone());
                None
            }
            Event::FailuresPredicted {
                policy,
                rows,
                held,
                trimmed,
                ..
            } if is_ours => {
                self.predicted = Some(Predicted {
                    policy: *policy,
                    rows: rows.clone(),
                    held: *held,
                    trimmed: *trimmed,
                });
                None
            }
            Event::JobCompleted {
                replica,
                job,
                outcome,
            } if is_ours => Some(Ok(JobEnd::Completed {
                replica: *replica,
                job: *job,
                outcome: outcome.clone(),
                predicted: self.predicted.take(),
            })),
            Event::JobWaitingForSignIn {
                replica,
                job,
                reason,
            } if is_ours => Some(Ok(JobEnd::SignInNeeded {
                replica: *replica,
                job: *job,
                reason: reason.clone(),
            })),
            Event::JobFailed {
                replica,
                job,
                error,
            } if is_ours => Some(Ok(match self.reset_reason.take() {
                Some(reason) => JobEnd::ResetRequired {
                    replica: *replica,
                    job: *job,
                    reason,
                    error: error.clone(),
                },
                None => JobEnd::Failed {
                    replica: *replica,
                    job: *job,
                    error: error.clone(),
                },
            })),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{self, Command, CreateRequest, EngineConfig, EngineHandle, EventSender};
    use crate::protocol::SyncModel;
    use std::sync::Arc;
    use std::sync::mpsc;

    const WAIT: Duration = Duration::from_secs(60);

    /// An engine on its own runtime whose events reach two readers alike: one to wait on, one to
    /// keep as a log of everything sent.
    struct Engine {
        _runtime: tokio::runtime::Runtime,
        _dir: tempfile::TempDir,
        handle: EngineHandle,
        events: EventReceiver,
        log: mpsc::Receiver<Event>,
    }

    fn start() -> Engine {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel::<Event>();
        let (wait_tx, wait_rx) = mpsc::channel();
        let (log_tx, log_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for event in rx {
                let _ = log_tx.send(event.clone());
                let _ = wait_tx.send(event);
            }
        });
        let (handle, _join) = {
            let _entered = runtime.enter();
            engine::start(
                EngineConfig::new(dir.path()),
                EventSender::new(tx, Arc::new(|| {})),
            )
            .unwrap()
        };
        let events = EventReceiver::from(wait_rx);
        events
            .wait_for(WAIT, |e| {
                matches!(e, Event::ReplicasLoaded { .. }).then_some(())
            })
            .unwrap();
        Engine {
            _runtime: runtime,
            _dir: dir,
            handle,
            events,
            log: log_rx,
        }
    }

    /// A create whose job fails at once, locally: the service address is no URL.
    fn doomed_create(name: &str) -> Command {
        Command::CreateReplica(CreateRequest {
            service_url: "not a url".into(),
            token: None,
            name: name.into(),
            layers: vec![0],
            sync_model: SyncModel::PerReplica,
            is_async: false,
            scope: Default::default(),
        })
    }

    /// The engine echoes the command's id in the `JobQueued` of its job and in its
    /// `CommandFailed`; each command gets a new id.
    #[test]
    fn the_command_id_is_echoed_on_job_queued_and_command_failed() {
        let engine = start();
        let create = engine.handle.blocking_submit(doomed_create("a")).unwrap();
        let queued_by = engine
            .events
            .wait_for(WAIT, |e| match e {
                Event::JobQueued { command, .. } => Some(*command),
                _ => None,
            })
            .unwrap();
        assert_eq!(queued_by, Some(create.command()));

        let missing = LocalReplicaId(999);
        let unregister = engine
            .handle
            .blocking_submit(Command::Unregister { replica: missing })
            .unwrap();
        assert_ne!(unregister.command(), create.command());
        let failed_for = engine
            .events
            .wait_for(WAIT, |e| match e {
                Event::CommandFailed { command, .. } => Some(*command),
                _ => None,
            })
            .unwrap();
        assert_eq!(failed_for, Some(unregister.command()));
    }

    /// A command that queues no job ends its ticket's wait with the command's failure.
    #[test]
    fn a_ticket_of_a_refused_command_ends_with_its_failure() {
        let engine = start();
        let ticket = engine
            .handle
            .blocking_submit(Command::Unregister {
                replica: LocalReplicaId(999),
            })
            .unwrap();
        let end = ticket.wait(&engine.events, WAIT);
        assert!(
            matches!(&end, Err(WaitError::CommandFailed { what, .. }) if what == "queue job"),
            "{end:?}"
        );
    }

    /// Another front end's create is queued first: the ticket still follows its own job to its
    /// end, not the first queued one.
    #[test]
    fn a_ticket_waits_for_its_own_job_when_another_replicas_job_is_queued_first() {
        let engine = start();
        let other_front_end = engine.handle.clone();
        let theirs = other_front_end
            .blocking_submit(doomed_create("theirs"))
            .unwrap();
        let ours = engine
            .handle
            .blocking_submit(doomed_create("ours"))
            .unwrap();
        let end = ours.wait(&engine.events, WAIT).unwrap();

        let queued: Vec<(Option<CommandId>, LocalReplicaId, JobId)> = engine
            .log
            .try_iter()
            .filter_map(|e| match e {
                Event::JobQueued {
                    replica,
                    job,
                    command,
                } => Some((command, replica, job)),
                _ => None,
            })
            .collect();
        assert_eq!(queued.len(), 2, "{queued:?}");
        assert_eq!(
            queued[0].0,
            Some(theirs.command()),
            "theirs was queued first"
        );
        assert_eq!(queued[1].0, Some(ours.command()));
        assert!(matches!(end, JobEnd::Failed { .. }), "{end:?}");
        assert_eq!((end.replica(), end.job()), (queued[1].1, queued[1].2));
        assert_ne!(end.replica(), queued[0].1);
    }
}
