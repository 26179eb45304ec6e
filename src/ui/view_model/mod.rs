//! The UI's picture of the world, built only from engine [`Event`]s: replica summaries, live
//! jobs, edit-result snapshots, the error log, a pending reset confirmation, finished reset
//! reports and the signed-in accounts. [`ViewModel::apply`] writes what events say; the window's own updates (status-bar
//! notices, and changes shown at once before the engine confirms them) go through the methods in
//! `window_updates`. Nothing else writes it; panels read it. No egui here, so it is tested like
//! plain data. The small views it holds are in `views`.

use crate::engine::{
    Account, AccountKey, EditResultRecord, Event, FeatureMap, LocalReplicaId, LogEntry,
    ReplicaSummary, ResetReport, ServicePreview,
};
use crate::model::LOG_LIMIT;
use crate::protocol::JobState;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

mod offline_maps;
mod views;
mod window_updates;

pub use offline_maps::{OfflineMapEntry, OfflineMaps};
pub use views::{JobView, Notice, PendingReset, ResetSummary, failure_text};

/// Everything the panels draw.
#[derive(Debug, Default)]
pub struct ViewModel {
    /// Replicas in the order the engine listed them.
    pub replicas: Vec<ReplicaSummary>,
    pub jobs: HashMap<LocalReplicaId, JobView>,
    pub results: HashMap<LocalReplicaId, Arc<[EditResultRecord]>>,
    pub log: Vec<LogEntry>,
    pub pending_reset: Option<PendingReset>,
    pub reset_summaries: Vec<ResetSummary>,
    /// Services that stopped answering, with the reason.
    pub network_lost: BTreeMap<String, String>,
    pub notice: Option<Notice>,
    /// `true` once the first replica list arrived.
    pub loaded: bool,
    /// Replicas whose job finished since the UI last asked for their edit results.
    pub results_stale: Vec<LocalReplicaId>,
    /// The signed-in accounts, as the engine last listed them (no secret).
    pub accounts: Vec<Account>,
    /// Each replica's recorded conflicts, as the engine last sent them.
    pub conflicts: HashMap<LocalReplicaId, Vec<crate::engine::Conflict>>,
    /// The account each replica last signed in as (kept after a sign-out, so "Sign in again"
    /// can name the user; lost at restart).
    pub last_signed_in_as: HashMap<LocalReplicaId, AccountKey>,
    /// The ArcGIS offline maps read (other apps' replicas; never synced here).
    pub offline_maps: OfflineMaps,
    /// The last feature map the engine sent (the detail pane's map).
    pub feature_map: Option<Arc<FeatureMap>>,
    /// The last service preview the engine sent (the create-replica wizard's area picker).
    pub service_preview: Option<Arc<ServicePreview>>,
}

impl ViewModel {
    pub fn replica(&self, id: LocalReplicaId) -> Option<&ReplicaSummary> {
        self.replicas.iter().find(|r| r.id == id)
    }

    pub fn replica_name(&self, id: LocalReplicaId) -> String {
        self.replica(id)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| format!("replica {id}"))
    }

    /// A local edit changed what is predicted for a replica: the grid shows predictions next to
    /// the server's results, so its snapshot is reloaded.
    /// The account `replica` signs in as, or last did before it was signed out.
    pub fn account_of<'a>(&'a self, replica: &'a ReplicaSummary) -> Option<&'a AccountKey> {
        replica
            .signed_in_as
            .as_ref()
            .or_else(|| self.last_signed_in_as.get(&replica.id))
    }

    fn note_account(&mut self, summary: &ReplicaSummary) {
        if let Some(key) = &summary.signed_in_as {
            self.last_signed_in_as.insert(summary.id, key.clone());
        }
    }

    fn note_predictions(&mut self, summary: &ReplicaSummary) {
        let moved = self
            .replica(summary.id)
            .is_some_and(|old| old.predicted_failures != summary.predicted_failures);
        if moved && !self.results_stale.contains(&summary.id) {
            self.results_stale.push(summary.id);
        }
    }

    /// Applies one engine event. `now_secs` is the UI clock; `now_ms` the wall clock (epoch ms).
    pub fn apply(&mut self, event: Event, now_secs: f64) {
        match event {
            Event::ReplicasLoaded { replicas } => {
                self.loaded = true;
                for summary in &replicas {
                    self.note_predictions(summary);
                    self.note_account(summary);
                }
                self.replicas = replicas;
                let known: Vec<_> = self.replicas.iter().map(|r| r.id).collect();
                self.jobs.retain(|id, _| known.contains(id));
                self.results.retain(|id, _| known.contains(id));
            }
            Event::ReplicaChanged { summary } => {
                self.note_predictions(&summary);
                self.note_account(&summary);
                match self.replicas.iter_mut().find(|r| r.id == summary.id) {
                    Some(slot) => *slot = summary,
                    None => self.replicas.push(summary),
                }
            }
            Event::ReplicaRemoved { replica } => {
                self.replicas.retain(|r| r.id != replica);
                self.jobs.remove(&replica);
                self.results.remove(&replica);
            }
            Event::JobQueued { replica, job, .. } => {
                self.jobs.insert(
                    replica,
                    JobView {
                        job,
                        state: JobState::Pending,
                        progress: None,
                        message: "Queued".to_owned(),
                        started_at_secs: now_secs,
                        finished_duration_ms: None,
                    },
                );
            }
            Event::JobStatus {
                replica,
                job,
                state,
                progress,
                message,
            } => {
                let entry = self.jobs.entry(replica).or_insert_with(|| JobView {
                    job,
                    state: JobState::Pending,
                    progress: None,
                    message: String::new(),
                    started_at_secs: now_secs,
                    finished_duration_ms: None,
                });
                if entry.job != job {
                    entry.job = job;
                    entry.started_at_secs = now_secs;
                    entry.finished_duration_ms = None;
                }
                entry.state = state;
                entry.progress = progress;
                entry.message = message;
            }
            Event::JobCompleted {
                replica,
                job,
                outcome,
            } => {
                let text = match &outcome.state {
                    // A manual client reset was planned and waits for the technician.
                    JobState::Running(_) => {
                        "client reset planned; waiting for your confirmation".to_owned()
                    }
                    state => format!(
                        "{}: {} uploaded, {} downloaded, {} failed edits",
                        state.as_str(),
                        outcome.uploaded,
                        outcome.downloaded,
                        outcome.failed_edits
                    ),
                };
                self.notice = Some(Notice {
                    text: format!("{}: {text}", self.replica_name(replica)),
                    is_error: false,
                });
                self.jobs.insert(
                    replica,
                    JobView {
                        job,
                        state: outcome.state,
                        progress: Some(1.0),
                        message: text,
                        started_at_secs: now_secs,
                        finished_duration_ms: Some(outcome.duration_ms),
                    },
                );
                if !self.results_stale.contains(&replica) {
                    self.results_stale.push(replica);
                }
            }
            Event::FailuresPredicted { replica, .. } => {
                // The grid shows predicted refusals next to real ones: reload it.
                if !self.results_stale.contains(&replica) {
                    self.results_stale.push(replica);
                }
            }
            Event::JobFailed {
                replica,
                job,
                error,
            } => {
                let started = self.jobs.get(&replica).map(|j| j.started_at_secs);
                let elapsed = started.map(|s| ((now_secs - s).max(0.0) * 1000.0) as i64);
                self.jobs.insert(
                    replica,
                    JobView {
                        job,
                        state: JobState::Failed,
                        progress: None,
                        message: failure_text(&error),
                        started_at_secs: started.unwrap_or(now_secs),
                        finished_duration_ms: Some(elapsed.unwrap_or(0)),
                    },
                );
                // The engine writes the failure to the log (`Event::Logged`); a cancelled
                // job is no error and has no line.
                self.notice = Some(Notice {
                    text: format!(
                        "Sync of {} failed: {}",
                        self.replica_name(replica),
                        failure_text(&error)
                    ),
                    is_error: true,
                });
                if !self.results_stale.contains(&replica) {
                    self.results_stale.push(replica);
                }
            }
            Event::EditResultsReady { replica, rows } => {
                self.results.insert(replica, rows);
                self.results_stale.retain(|r| *r != replica);
            }
            Event::NetworkLost {
                service_url,
                reason,
            } => {
                self.network_lost.insert(service_url, reason);
            }
            Event::NetworkBack { service_url } => {
                self.network_lost.remove(&service_url);
            }
            Event::ResetRequired { replica, reason } => {
                if let Some(r) = self.replicas.iter_mut().find(|r| r.id == replica) {
                    r.reset_reason = Some(reason);
                }
            }
            Event::ResetAwaitingConfirmation {
                plan,
                fallback_error,
            } => {
                self.pending_reset = Some(PendingReset {
                    plan,
                    fallback_error,
                });
            }
            Event::BeforeReset { plan } => {
                self.notice = Some(Notice {
                    text: format!(
                        "Resetting {}: backup written to {}",
                        plan.replica_name,
                        plan.backup_dir.display()
                    ),
                    is_error: false,
                });
            }
            Event::AfterRecovery { report } => self.push_reset_summary(report, true),
            Event::AfterDiscard { report } => self.push_reset_summary(report, false),
            // The engine logs the fallback itself; the confirmation follows.
            Event::ManualResetFallback { .. } => {}
            Event::Logged { entry } => self.push_log(entry),
            Event::LogHistory { entries } => self.restore_log(entries),
            Event::ExportFinished { path, rows } => {
                self.notice = Some(Notice {
                    text: format!("Exported {rows} rows to {}", path.display()),
                    is_error: false,
                });
            }
            Event::CommandFailed { what, error, .. } => {
                self.notice = Some(Notice {
                    text: format!("{what} failed: {}", failure_text(&error)),
                    is_error: true,
                });
            }
            // The Sign in dialog follows its own sign-in's events (`app::sign_in`); here only
            // the accounts they change.
            Event::BrowserSignInStarted { .. } | Event::SignInFailed { .. } => {}
            // The Service replicas window keeps its own list (`ui/service_replicas`).
            Event::ServiceReplicasLoaded { .. } | Event::ServiceReplicasUnregistered { .. } => {}
            Event::OfflineMapRead { .. }
            | Event::OfflineMapChecked { .. }
            | Event::OfflineMapFolders { .. } => {
                self.offline_maps.apply(&event);
            }
            Event::OfflineMapFailed { ref error, .. } => {
                self.notice = Some(Notice {
                    text: error.clone(),
                    is_error: true,
                });
                self.offline_maps.apply(&event);
            }
            // The New replica wizard follows the browser's answers itself (`app::wizard`).
            Event::ServiceDescribed { .. } | Event::AreaCounted { .. } => {}
            // The app opens the fix form with it (`app::fix_form`).
            Event::FixFormLoaded { .. } => {}
            // The restore window follows these (`ui::app::restore`); a finished restore is news.
            Event::BackupsListed { .. } | Event::BackupPreviewed { .. } => {}
            Event::BackupRestored { report } => self.set_notice(
                format!(
                    "Restored {} change(s) from {}; {} already restored, {} discarded",
                    report.restored.len(),
                    report.backup,
                    report.already_restored.len(),
                    report.discarded.len()
                ),
                false,
            ),
            Event::SignedIn { account, .. } => {
                match self.accounts.iter_mut().find(|a| a.key == account.key) {
                    Some(slot) => *slot = account,
                    None => self.accounts.push(account),
                }
            }
            Event::SignedOut { account } => {
                self.accounts.retain(|a| a.key != account);
                self.notice = Some(Notice {
                    text: format!("Signed out {account}"),
                    is_error: false,
                });
            }
            Event::Accounts(accounts) => self.accounts = accounts,
            Event::ConflictsReady {
                replica, conflicts, ..
            } => {
                self.conflicts.insert(replica, conflicts);
            }
            Event::FeatureMap(map) => self.feature_map = Some(Arc::from(map)),
            Event::ServicePreview(preview) => self.service_preview = Some(Arc::from(preview)),
            Event::CertificateTrusted { url, fingerprint } => {
                self.notice = Some(Notice {
                    text: format!("Trusted the certificate of {url} ({fingerprint})"),
                    is_error: false,
                });
            }
            Event::JobWaitingForSignIn {
                replica,
                job,
                reason,
            } => {
                let started = self.jobs.get(&replica).map(|j| j.started_at_secs);
                self.jobs.insert(
                    replica,
                    JobView {
                        job,
                        state: JobState::Pending,
                        progress: None,
                        message: format!("Waiting for you to sign in again: {reason}"),
                        started_at_secs: started.unwrap_or(now_secs),
                        finished_duration_ms: None,
                    },
                );
                if let Some(r) = self.replicas.iter_mut().find(|r| r.id == replica) {
                    r.sign_in_needed = Some(reason);
                }
            }
        }
    }

    /// Appends a line the engine logged. Every line of the window's log comes from the engine,
    /// which stored it first, so the log shown is the stored log.
    pub fn push_log(&mut self, entry: LogEntry) {
        self.log.push(entry);
        // Trim in batches (a tenth of the cap at a time), so a flood of lines costs O(1) each.
        if self.log.len() > LOG_LIMIT + LOG_LIMIT / 10 {
            let excess = self.log.len() - LOG_LIMIT;
            self.log.drain(..excess);
        }
    }

    /// The stored log of earlier runs, sent once at start: it goes before any line already
    /// shown (there are none when the engine starts with the window).
    fn restore_log(&mut self, mut entries: Vec<LogEntry>) {
        entries.append(&mut self.log);
        self.log = entries;
        if self.log.len() > LOG_LIMIT {
            let excess = self.log.len() - LOG_LIMIT;
            self.log.drain(..excess);
        }
    }

    fn push_reset_summary(&mut self, report: ResetReport, recovered: bool) {
        let replica_name = self.replica_name(report.replica);
        if self
            .pending_reset
            .as_ref()
            .is_some_and(|p| p.plan.replica == report.replica)
        {
            self.pending_reset = None;
        }
        self.reset_summaries.push(ResetSummary {
            report,
            replica_name,
            recovered,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Failure, FailureClass, JobId};
    use crate::ui::fixtures;

    fn line(message: &str, replica: Option<LocalReplicaId>) -> LogEntry {
        LogEntry {
            at_ms: fixtures::NOW_MS,
            replica,
            replica_name: String::new(),
            code: None,
            message: message.into(),
        }
    }

    /// A failed job shows a notice; its log line is the engine's (`Logged`), so a failure is
    /// in the window's log exactly as often as the engine stored it.
    #[test]
    fn replica_changed_replaces_in_place_and_only_the_engine_logs() {
        let mut vm = ViewModel::default();
        for e in fixtures::startup_events() {
            vm.apply(e, 0.0);
        }
        assert_eq!(vm.replicas.len(), 3);
        let id = vm.replicas[1].id;
        let mut changed = vm.replicas[1].clone();
        changed.failed_edits = 0;
        vm.apply(Event::ReplicaChanged { summary: changed }, 0.0);
        assert_eq!(vm.replicas.len(), 3);
        assert_eq!(vm.replicas[1].failed_edits, 0);
        let before = vm.log.clone();
        let failure = Failure {
            class: FailureClass::Transport,
            code: None,
            message: "connection refused".into(),
        };
        vm.apply(
            Event::JobFailed {
                replica: id,
                job: JobId(9),
                error: failure.clone(),
            },
            1.0,
        );
        vm.apply(
            Event::NetworkLost {
                service_url: "http://127.0.0.1:9/FeatureServer".into(),
                reason: "connection refused".into(),
            },
            1.0,
        );
        assert_eq!(vm.log, before, "only the engine writes log lines");
        assert_eq!(vm.jobs[&id].state, JobState::Failed);
        assert!(vm.notice.as_ref().is_some_and(|n| n.is_error));
        // Two lines alike are two lines: the engine stored both.
        for _ in 0..2 {
            vm.apply(
                Event::Logged {
                    entry: line("connection refused", Some(id)),
                },
                1.0,
            );
        }
        assert_eq!(vm.log.len(), before.len() + 2);
    }

    /// The stored log of earlier runs goes before the lines of this run, and the cap keeps the
    /// newest.
    #[test]
    fn the_stored_log_goes_first_and_the_cap_keeps_the_newest() {
        let mut vm = ViewModel::default();
        vm.apply(
            Event::Logged {
                entry: line("this run", None),
            },
            0.0,
        );
        let history: Vec<LogEntry> = (0..LOG_LIMIT)
            .map(|i| line(&format!("earlier {i}"), None))
            .collect();
        vm.apply(
            Event::LogHistory {
                entries: history.clone(),
            },
            0.0,
        );
        assert_eq!(vm.log.len(), LOG_LIMIT);
        assert_eq!(vm.log[..LOG_LIMIT - 1], history[1..]);
        assert_eq!(vm.log[LOG_LIMIT - 1].message, "this run");
    }

    /// A code already in the message is not repeated; a planned manual reset is not "running".
    #[test]
    fn a_code_is_not_repeated_and_a_planned_reset_has_ended() {
        let mut vm = ViewModel::default();
        for e in fixtures::startup_events() {
            vm.apply(e, 0.0);
        }
        let id = vm.replicas[0].id;
        let error = Failure {
            class: FailureClass::Service,
            code: Some(400),
            message: "job status: Operation rolled back. (code 400)".into(),
        };
        assert_eq!(
            failure_text(&error),
            "[service] job status: Operation rolled back. (code 400)"
        );
        vm.apply(
            Event::JobCompleted {
                replica: id,
                job: JobId(4),
                outcome: crate::engine::JobOutcome {
                    state: JobState::Running("AwaitingConfirmation".into()),
                    uploaded: 0,
                    downloaded: 0,
                    failed_edits: 0,
                    duration_ms: 5,
                    held_conflicts: 0,
                },
            },
            2.0,
        );
        assert!(!vm.jobs[&id].is_running());
        assert!(
            vm.jobs[&id]
                .message
                .contains("waiting for your confirmation")
        );
    }
}
