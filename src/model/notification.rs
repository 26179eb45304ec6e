//! Desktop notifications as plain data: what a notification is about ([`NotificationKind`]),
//! what it says ([`Notification`]), which kinds the technician wants and after how long failing
//! syncs are worth one ([`NotificationSettings`]), the seam a notifier implements ([`Notifier`])
//! and the way a click on one comes back to the window ([`NotificationClicks`]). The window
//! decides when to notify (`ui::notifications`); the desktop part shows them (`desktop`). No I/O
//! here: nothing shows anything, and nothing here knows egui or D-Bus.

use super::ids::LocalReplicaId;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// What a notification is about: one of these per replica is shown at most, until its condition
/// clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NotificationKind {
    /// A sync ended with refused edits that are new (more than were already announced).
    RefusedEdits,
    /// The service can no longer sync the replica: it needs a client reset.
    ResetNeeded,
    /// The service refused the replica's token and nothing could renew it.
    SignInNeeded,
    /// A manual client reset waits for the technician's confirmation while the window is not
    /// focused.
    ManualResetWaiting,
    /// The replica's syncs have been failing for longer than
    /// [`NotificationSettings::sync_failing_after_secs`].
    SyncFailing,
}

impl NotificationKind {
    /// Every kind, in the order the settings list them.
    pub const ALL: [NotificationKind; 5] = [
        NotificationKind::RefusedEdits,
        NotificationKind::ResetNeeded,
        NotificationKind::SignInNeeded,
        NotificationKind::ManualResetWaiting,
        NotificationKind::SyncFailing,
    ];

    /// The setting's label.
    pub fn label(self) -> &'static str {
        match self {
            NotificationKind::RefusedEdits => "A sync ends with new refused edits",
            NotificationKind::ResetNeeded => "A replica needs a client reset",
            NotificationKind::SignInNeeded => "A replica needs a sign-in",
            NotificationKind::ManualResetWaiting => {
                "A manual reset waits for confirmation (window not focused)"
            }
            NotificationKind::SyncFailing => "Syncs keep failing",
        }
    }
}

/// One desktop notification, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub kind: NotificationKind,
    /// The replica it is about; a click brings the window up on it.
    pub replica: LocalReplicaId,
    pub replica_name: String,
    /// One line, naming the replica.
    pub title: String,
    /// What happened and what to do; no secret (the engine's messages carry none).
    pub body: String,
}

/// The default of [`NotificationSettings::sync_failing_after_secs`]: 15 minutes.
pub const DEFAULT_SYNC_FAILING_AFTER_SECS: u64 = 15 * 60;

/// Which notifications the technician wants (all of them unless turned off), kept with the
/// window's other settings. `#[serde(default)]` keeps older saves loadable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationSettings {
    pub refused_edits: bool,
    pub reset_needed: bool,
    pub sign_in_needed: bool,
    pub manual_reset_waiting: bool,
    pub sync_failing: bool,
    /// How long a replica's syncs must have been failing, without a success in between, before
    /// [`NotificationKind::SyncFailing`] is sent.
    pub sync_failing_after_secs: u64,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            refused_edits: true,
            reset_needed: true,
            sign_in_needed: true,
            manual_reset_waiting: true,
            sync_failing: true,
            sync_failing_after_secs: DEFAULT_SYNC_FAILING_AFTER_SECS,
        }
    }
}

impl NotificationSettings {
    /// Whether notifications of `kind` are wanted.
    pub fn enabled(&self, kind: NotificationKind) -> bool {
        *self.flag(kind)
    }

    /// Turns notifications of `kind` on or off.
    pub fn set_enabled(&mut self, kind: NotificationKind, on: bool) {
        *self.flag_mut(kind) = on;
    }

    /// The setting of `kind`, for a checkbox.
    pub fn flag_mut(&mut self, kind: NotificationKind) -> &mut bool {
        match kind {
            NotificationKind::RefusedEdits => &mut self.refused_edits,
            NotificationKind::ResetNeeded => &mut self.reset_needed,
            NotificationKind::SignInNeeded => &mut self.sign_in_needed,
            NotificationKind::ManualResetWaiting => &mut self.manual_reset_waiting,
            NotificationKind::SyncFailing => &mut self.sync_failing,
        }
    }

    fn flag(&self, kind: NotificationKind) -> &bool {
        match kind {
            NotificationKind::RefusedEdits => &self.refused_edits,
            NotificationKind::ResetNeeded => &self.reset_needed,
            NotificationKind::SignInNeeded => &self.sign_in_needed,
            NotificationKind::ManualResetWaiting => &self.manual_reset_waiting,
            NotificationKind::SyncFailing => &self.sync_failing,
        }
    }
}

/// Shows notifications. The window calls it on its own thread, so an implementation returns at
/// once (the desktop one hands the notification to a thread of its own) and never panics; a
/// desktop without a notification service is its implementation's to tolerate quietly.
pub trait Notifier: std::fmt::Debug + Send + Sync {
    fn notify(&self, notification: &Notification);
}

/// Clicks waiting in [`NotificationClicks`] beyond this many are dropped (the oldest first): a
/// person cannot click faster than the window reads them.
pub const MAX_WAITING_CLICKS: usize = 64;

/// The replicas whose notifications were clicked, from the notifier's threads to the window,
/// which takes them every frame, selects the replica and brings itself up. Cheap to clone: every
/// clone is the same queue. [`NotificationClicks::click`] wakes the window.
#[derive(Clone, Default)]
pub struct NotificationClicks {
    queue: Arc<Mutex<VecDeque<LocalReplicaId>>>,
    /// Wakes the window so it reads the click now, not at its next input.
    waker: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for NotificationClicks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationClicks")
            .field("waiting", &self.lock().len())
            .finish_non_exhaustive()
    }
}

impl NotificationClicks {
    /// An empty queue whose clicks call `waker`.
    pub fn new(waker: Arc<dyn Fn() + Send + Sync>) -> Self {
        NotificationClicks {
            queue: Arc::default(),
            waker: Some(waker),
        }
    }

    /// The notification about `replica` was clicked (the notifier's side).
    pub fn click(&self, replica: LocalReplicaId) {
        {
            let mut queue = self.lock();
            if queue.len() >= MAX_WAITING_CLICKS {
                queue.pop_front();
            }
            queue.push_back(replica);
        }
        if let Some(wake) = &self.waker {
            wake();
        }
    }

    /// Every click since the last call, oldest first (the window's side).
    pub fn take(&self) -> Vec<LocalReplicaId> {
        self.lock().drain(..).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<LocalReplicaId>> {
        // A panic while holding this lock cannot leave the queue half-written: keep using it.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_kind_has_its_own_setting_and_all_are_on_by_default() {
        let mut settings = NotificationSettings::default();
        assert!(NotificationKind::ALL.iter().all(|k| settings.enabled(*k)));
        for kind in NotificationKind::ALL {
            settings.set_enabled(kind, false);
            assert!(!settings.enabled(kind));
            let others_on = NotificationKind::ALL
                .iter()
                .filter(|k| **k != kind)
                .all(|k| settings.enabled(*k));
            assert!(others_on, "turning {kind:?} off turned another off");
            settings.set_enabled(kind, true);
        }
    }

    /// Saves from before notifications existed (and partial ones) load with the defaults.
    #[test]
    fn settings_load_from_partial_saves() {
        let settings: NotificationSettings =
            serde_json::from_str(r#"{"sync_failing": false}"#).expect("reads");
        assert!(!settings.sync_failing);
        assert!(settings.refused_edits);
        assert_eq!(
            settings.sync_failing_after_secs,
            DEFAULT_SYNC_FAILING_AFTER_SECS
        );
    }

    #[test]
    fn clicks_come_out_in_order_wake_the_window_and_are_bounded() {
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = woken.clone();
        let clicks = NotificationClicks::new(Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        let notifier_side = clicks.clone();
        notifier_side.click(LocalReplicaId(2));
        notifier_side.click(LocalReplicaId(1));
        assert_eq!(woken.load(Ordering::SeqCst), 2);
        assert_eq!(clicks.take(), vec![LocalReplicaId(2), LocalReplicaId(1)]);
        assert!(clicks.take().is_empty());
        for i in 0..(MAX_WAITING_CLICKS as i64 + 5) {
            notifier_side.click(LocalReplicaId(i));
        }
        let taken = clicks.take();
        assert_eq!(taken.len(), MAX_WAITING_CLICKS);
        assert_eq!(
            taken.first(),
            Some(&LocalReplicaId(5)),
            "the oldest go first"
        );
    }
}
