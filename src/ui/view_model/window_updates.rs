//! The window's own writes to the view model, besides the events [`ViewModel::apply`] takes: a
//! status-bar notice, and what a queued command changes, shown at once (the engine's next
//! `ReplicaChanged` confirms it, or puts the old value back).

use super::{Notice, ViewModel};
use crate::engine::{LocalReplicaId, PredictedPolicy, ReplicaSummary, ResetMode};

impl ViewModel {
    /// The window's own one-line message in the status bar.
    pub fn set_notice(&mut self, text: impl Into<String>, is_error: bool) {
        self.notice = Some(Notice {
            text: text.into(),
            is_error,
        });
    }

    fn replica_mut(&mut self, id: LocalReplicaId) -> Option<&mut ReplicaSummary> {
        self.replicas.iter_mut().find(|r| r.id == id)
    }

    /// Pause (or resume) was queued.
    pub fn show_paused(&mut self, id: LocalReplicaId, paused: bool) {
        if let Some(r) = self.replica_mut(id) {
            r.paused = paused;
        }
    }

    /// A new reset mode was queued.
    pub fn show_reset_mode(&mut self, id: LocalReplicaId, mode: ResetMode) {
        if let Some(r) = self.replica_mut(id) {
            r.reset_mode = mode;
        }
    }

    /// A new predicted-refusal policy was queued.
    pub fn show_predicted_policy(&mut self, id: LocalReplicaId, policy: PredictedPolicy) {
        if let Some(r) = self.replica_mut(id) {
            r.predicted_policy = policy;
        }
    }

    /// The reset confirmation was answered (confirmed or cancelled): the modal closes.
    pub fn close_pending_reset(&mut self) {
        self.pending_reset = None;
    }

    /// The replica's edit results changed locally (an edit was dropped): they are asked for again.
    pub fn mark_results_stale(&mut self, id: LocalReplicaId) {
        self.results_stale.push(id);
    }

    /// The replica's edit results are being asked for: no longer stale.
    pub fn clear_results_stale(&mut self, id: LocalReplicaId) {
        self.results_stale.retain(|r| *r != id);
    }

    /// The first finished-reset summary was closed.
    pub fn dismiss_reset_summary(&mut self) {
        if !self.reset_summaries.is_empty() {
            self.reset_summaries.remove(0);
        }
    }
}
