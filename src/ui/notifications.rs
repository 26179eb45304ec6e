//! When the window sends a desktop notification: [`NotificationPolicy`] is fed the engine's
//! [`Event`]s as the view model is ([`NotificationPolicy::observe`]) and, once per frame, what the
//! view model shows, whether the window is focused and the wall clock
//! ([`NotificationPolicy::evaluate`]); it answers the [`Notification`]s to send now. Plain data:
//! no egui, no notifier, no clock of its own, so it is tested with made-up events and times.
//!
//! The rules:
//! * At most one notification per kind and replica; it is sent again only once its condition has
//!   cleared: a reset or sign-in no longer needed, the manual reset confirmed or cancelled, a
//!   sync that succeeded, no refused edits left (or fewer than announced).
//! * Refused edits: a sync that ended with more refused edits than were last announced for the
//!   replica (the service refuses the same edits on every resend until they are fixed: those are
//!   not new).
//! * Reset needed and sign-in needed: the replica's summary says so.
//! * Manual reset waiting: a manual client reset waits for confirmation and the window is not
//!   focused.
//! * Sync failing: the replica's jobs have failed, with no success since the first of those
//!   failures, for longer than [`NotificationSettings::sync_failing_after_secs`] (cancelled jobs,
//!   and replicas that need a reset or a sign-in, which have their own kinds, do not count). A
//!   burst of failures is one notification.
//! * What the first replica list already shows is not announced: the window opens showing it.
//! * Paused replicas are left alone, as the title's count leaves them.
//! * A kind turned off in the settings is followed all the same and only not sent, so turning it
//!   back on does not bring a backlog of old news.

use crate::engine::{
    EngineError, Event, Failure, FailureClass, LocalReplicaId, Notification, NotificationKind,
    NotificationSettings, ReplicaSummary, ResetPlan,
};
use crate::protocol::JobState;
use crate::ui::format::duration_text;
use crate::ui::view_model::failure_text;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// What the window shows this frame, as the policy needs it.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    pub replicas: &'a [ReplicaSummary],
    /// The manual client reset waiting for confirmation, if one is.
    pub pending_reset: Option<&'a ResetPlan>,
    /// The window has the keyboard focus.
    pub focused: bool,
    /// The wall clock, epoch milliseconds.
    pub now_ms: i64,
}

/// A replica's syncs failing, since when and how they last failed.
#[derive(Debug, Clone, PartialEq)]
struct Failing {
    since_ms: i64,
    last: String,
}

/// The notifications' memory: what was announced and what is waiting to be judged.
#[derive(Debug, Default)]
pub struct NotificationPolicy {
    /// The first replica list has arrived (and what it showed is taken as seen).
    baseline_taken: bool,
    /// Announced and not cleared since (refused edits are counted in `refused_announced`).
    announced: BTreeSet<(NotificationKind, LocalReplicaId)>,
    /// Per replica, how many refused edits were last announced (or shown at start).
    refused_announced: HashMap<LocalReplicaId, u32>,
    /// Syncs that ended with refused edits since the last evaluation: the most refused.
    refused_syncs: BTreeMap<LocalReplicaId, u32>,
    /// Replicas whose jobs fail with no success since.
    failing: HashMap<LocalReplicaId, Failing>,
}

impl NotificationPolicy {
    /// Takes note of one engine event (before the view model applies it).
    pub fn observe(&mut self, event: &Event, now_ms: i64) {
        match event {
            Event::ReplicasLoaded { replicas } => {
                if !self.baseline_taken {
                    self.take_baseline(replicas);
                } else {
                    replicas.iter().for_each(|r| self.note_refused_left(r));
                }
            }
            Event::ReplicaChanged { summary } => self.note_refused_left(summary),
            Event::ReplicaRemoved { replica } => self.forget(*replica),
            Event::JobCompleted {
                replica, outcome, ..
            } => {
                if matches!(
                    outcome.state,
                    JobState::Completed | JobState::CompletedWithErrors
                ) {
                    // The service answered: the replica's syncs work again.
                    self.failing.remove(replica);
                }
                if outcome.failed_edits > 0 {
                    let most = self.refused_syncs.entry(*replica).or_default();
                    *most = (*most).max(outcome.failed_edits);
                }
            }
            Event::JobFailed { replica, error, .. } if counts_as_failing(error) => {
                let failing = self.failing.entry(*replica).or_insert_with(|| Failing {
                    since_ms: now_ms,
                    last: String::new(),
                });
                failing.last = failure_text(error);
            }
            _ => {}
        }
    }

    /// The notifications to send now. Every condition is followed whatever `settings` say;
    /// only the kinds turned on are returned.
    pub fn evaluate(
        &mut self,
        situation: Situation<'_>,
        settings: &NotificationSettings,
    ) -> Vec<Notification> {
        let refused = std::mem::take(&mut self.refused_syncs);
        if !self.baseline_taken {
            return Vec::new();
        }
        let threshold_ms = threshold_ms(settings);
        let mut out = Vec::new();
        for replica in situation.replicas.iter().filter(|r| !r.paused) {
            let id = replica.id;
            if let Some(&count) = refused.get(&id) {
                let before = self.refused_announced.get(&id).copied().unwrap_or(0);
                if count > before {
                    self.refused_announced.insert(id, count);
                    out.push(refused_edits(replica, count, before));
                }
            }
            if self.turn(
                NotificationKind::ResetNeeded,
                id,
                replica.reset_reason.is_some(),
                true,
            ) {
                out.push(reset_needed(replica));
            }
            if self.turn(
                NotificationKind::SignInNeeded,
                id,
                replica.sign_in_needed.is_some(),
                true,
            ) {
                out.push(sign_in_needed(replica));
            }
            let pending = situation.pending_reset.filter(|p| p.replica == id);
            if self.turn(
                NotificationKind::ManualResetWaiting,
                id,
                pending.is_some(),
                !situation.focused,
            ) && let Some(plan) = pending
            {
                out.push(manual_reset_waiting(replica, plan));
            }
            let failing = self.failing.get(&id).cloned();
            let has_own_kind = replica.reset_reason.is_some() || replica.sign_in_needed.is_some();
            let failing_long = failing.as_ref().is_some_and(|f| {
                !has_own_kind && situation.now_ms.saturating_sub(f.since_ms) >= threshold_ms
            });
            if self.turn(
                NotificationKind::SyncFailing,
                id,
                failing.is_some(),
                failing_long,
            ) && let Some(f) = failing
            {
                out.push(sync_failing(replica, &f, situation.now_ms));
            }
        }
        out.retain(|n| settings.enabled(n.kind));
        out
    }

    /// How long until a replica's failing syncs reach the threshold (the window wakes then, even
    /// when nothing else happens); `None` when none is on its way there.
    pub fn next_check_in(&self, now_ms: i64, settings: &NotificationSettings) -> Option<Duration> {
        let threshold_ms = threshold_ms(settings);
        self.failing
            .iter()
            .filter(|(id, _)| {
                !self
                    .announced
                    .contains(&(NotificationKind::SyncFailing, **id))
            })
            .map(|(_, f)| f.since_ms.saturating_add(threshold_ms) - now_ms)
            .filter(|remaining_ms| *remaining_ms > 0)
            .min()
            .map(|ms| Duration::from_millis(ms.unsigned_abs()))
    }

    /// Follows one condition: cleared when not `active`; announced (returns `true`) the first
    /// time it is active and `due`.
    fn turn(
        &mut self,
        kind: NotificationKind,
        replica: LocalReplicaId,
        active: bool,
        due: bool,
    ) -> bool {
        if !active {
            self.announced.remove(&(kind, replica));
            return false;
        }
        due && self.announced.insert((kind, replica))
    }

    /// What the window opens showing counts as seen.
    fn take_baseline(&mut self, replicas: &[ReplicaSummary]) {
        self.baseline_taken = true;
        self.refused_syncs.clear();
        for r in replicas {
            self.refused_announced.insert(r.id, r.failed_edits);
            let shown = [
                (NotificationKind::ResetNeeded, r.reset_reason.is_some()),
                (NotificationKind::SignInNeeded, r.sign_in_needed.is_some()),
            ];
            for (kind, _) in shown.into_iter().filter(|(_, on)| *on) {
                self.announced.insert((kind, r.id));
            }
        }
    }

    /// Fewer refused edits left than announced: a later sync refusing more is news again.
    fn note_refused_left(&mut self, summary: &ReplicaSummary) {
        if let Some(announced) = self.refused_announced.get_mut(&summary.id) {
            *announced = (*announced).min(summary.failed_edits);
        }
    }

    fn forget(&mut self, replica: LocalReplicaId) {
        self.announced.retain(|(_, r)| *r != replica);
        self.refused_announced.remove(&replica);
        self.refused_syncs.remove(&replica);
        self.failing.remove(&replica);
    }
}

fn threshold_ms(settings: &NotificationSettings) -> i64 {
    i64::try_from(settings.sync_failing_after_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// A failed job that says the replica's syncs are failing: not a cancellation, and not a
/// refused token (that is "sign-in needed").
fn counts_as_failing(error: &Failure) -> bool {
    error.class != FailureClass::SignIn && *error != EngineError::Cancelled.to_failure()
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn notification(
    kind: NotificationKind,
    replica: &ReplicaSummary,
    title: String,
    body: String,
) -> Notification {
    Notification {
        kind,
        replica: replica.id,
        replica_name: replica.name.clone(),
        title,
        body,
    }
}

fn refused_edits(replica: &ReplicaSummary, count: u32, before: u32) -> Notification {
    let new = if before > 0 {
        format!(" ({} new)", count - before)
    } else {
        String::new()
    };
    notification(
        NotificationKind::RefusedEdits,
        replica,
        format!("{}: the service refused edits", replica.name),
        format!(
            "The last sync ended with {}{new}. They stay queued until fixed or dropped (Edit results).",
            plural(count, "refused edit", "refused edits")
        ),
    )
}

fn reset_needed(replica: &ReplicaSummary) -> Notification {
    let reason = replica.reset_reason.as_deref().unwrap_or_default();
    notification(
        NotificationKind::ResetNeeded,
        replica,
        format!("{} needs a client reset", replica.name),
        format!(
            "{reason}. Reset mode: {}; a backup is written before anything changes.",
            replica.reset_mode.label()
        ),
    )
}

fn sign_in_needed(replica: &ReplicaSummary) -> Notification {
    let reason = replica.sign_in_needed.as_deref().unwrap_or_default();
    notification(
        NotificationKind::SignInNeeded,
        replica,
        format!("{} needs you to sign in again", replica.name),
        format!("{reason}. Its syncs wait until you sign in."),
    )
}

fn manual_reset_waiting(replica: &ReplicaSummary, plan: &ResetPlan) -> Notification {
    notification(
        NotificationKind::ManualResetWaiting,
        replica,
        format!("The client reset of {} waits for you", replica.name),
        format!(
            "{}. Confirm or cancel it in Syncwatch; nothing changes until you do.",
            plan.reason
        ),
    )
}

fn sync_failing(replica: &ReplicaSummary, failing: &Failing, now_ms: i64) -> Notification {
    notification(
        NotificationKind::SyncFailing,
        replica,
        format!("Syncs of {} keep failing", replica.name),
        format!(
            "Failing for {}: {}",
            duration_text(now_ms.saturating_sub(failing.since_ms)),
            failing.last
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{JobId, JobOutcome, ResetMode};

    const T0: i64 = 1_700_000_000_000;

    fn replica(id: i64, name: &str) -> ReplicaSummary {
        let mut r = crate::model::summary_for_tests();
        r.id = LocalReplicaId(id);
        r.name = name.into();
        r
    }

    fn completed(id: i64, failed_edits: u32) -> Event {
        Event::JobCompleted {
            replica: LocalReplicaId(id),
            job: JobId(1),
            outcome: JobOutcome {
                state: if failed_edits > 0 {
                    JobState::CompletedWithErrors
                } else {
                    JobState::Completed
                },
                uploaded: failed_edits,
                downloaded: 0,
                failed_edits,
                duration_ms: 10,
                held_conflicts: 0,
            },
        }
    }

    fn failed(id: i64) -> Event {
        Event::JobFailed {
            replica: LocalReplicaId(id),
            job: JobId(2),
            error: Failure {
                class: FailureClass::Transport,
                code: None,
                message: "connection refused".into(),
            },
        }
    }

    fn plan(id: i64) -> ResetPlan {
        ResetPlan {
            replica: LocalReplicaId(id),
            replica_name: "hydrants".into(),
            reason: "the replica is unknown to the service".into(),
            mode: ResetMode::Manual,
            fallback_chain: vec![],
            changes: vec![],
            backup_dir: "recovery/1".into(),
        }
    }

    /// A policy that has seen the first replica list.
    struct Run {
        policy: NotificationPolicy,
        replicas: Vec<ReplicaSummary>,
        settings: NotificationSettings,
        pending: Option<ResetPlan>,
        focused: bool,
        now_ms: i64,
        sent: Vec<Notification>,
    }

    impl Run {
        fn new(replicas: Vec<ReplicaSummary>) -> Run {
            let mut run = Run {
                policy: NotificationPolicy::default(),
                replicas: replicas.clone(),
                settings: NotificationSettings::default(),
                pending: None,
                focused: true,
                now_ms: T0,
                sent: Vec::new(),
            };
            run.event(Event::ReplicasLoaded { replicas });
            run
        }

        fn event(&mut self, event: Event) {
            self.policy.observe(&event, self.now_ms);
            if let Event::ReplicaChanged { summary } = &event
                && let Some(slot) = self.replicas.iter_mut().find(|r| r.id == summary.id)
            {
                *slot = summary.clone();
            }
        }

        fn frame(&mut self) -> Vec<Notification> {
            let new = self.policy.evaluate(
                Situation {
                    replicas: &self.replicas,
                    pending_reset: self.pending.as_ref(),
                    focused: self.focused,
                    now_ms: self.now_ms,
                },
                &self.settings,
            );
            self.sent.extend(new.clone());
            new
        }

        fn kinds(&self) -> Vec<(NotificationKind, i64)> {
            self.sent.iter().map(|n| (n.kind, n.replica.0)).collect()
        }

        fn change(&mut self, id: i64, f: impl FnOnce(&mut ReplicaSummary)) {
            let mut summary = self
                .replicas
                .iter()
                .find(|r| r.id.0 == id)
                .cloned()
                .expect("replica");
            f(&mut summary);
            self.event(Event::ReplicaChanged { summary });
        }
    }

    /// The same refused edits resent on every sync are announced once; more are news; after
    /// they are all fixed, a new refusal is announced again.
    #[test]
    fn refused_edits_are_announced_once_until_more_or_after_a_fix() {
        let mut run = Run::new(vec![replica(1, "Hydrants"), replica(2, "Valves")]);
        run.event(completed(1, 2));
        run.change(1, |r| r.failed_edits = 2);
        let sent = run.frame();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].kind, NotificationKind::RefusedEdits);
        assert_eq!(sent[0].replica, LocalReplicaId(1));
        assert_eq!(sent[0].title, "Hydrants: the service refused edits");
        assert!(sent[0].body.contains("2 refused edits"), "{}", sent[0].body);
        for _ in 0..5 {
            run.event(completed(1, 2));
            assert!(
                run.frame().is_empty(),
                "the same refusals again are no news"
            );
        }
        run.event(completed(1, 3));
        run.change(1, |r| r.failed_edits = 3);
        let sent = run.frame();
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].body.contains("3 refused edits (1 new)"),
            "{}",
            sent[0].body
        );
        // All fixed; a later refusal is news again.
        run.change(1, |r| r.failed_edits = 0);
        run.event(completed(1, 0));
        assert!(run.frame().is_empty());
        run.event(completed(1, 1));
        assert_eq!(run.frame().len(), 1);
        assert_eq!(
            run.kinds(),
            vec![(NotificationKind::RefusedEdits, 1); 3],
            "only replica 1, never replica 2"
        );
    }

    /// A summary sent during a sync, before its refusals are recorded, does not re-arm.
    #[test]
    fn the_summary_after_the_sync_does_not_announce_twice() {
        let mut run = Run::new(vec![replica(1, "Hydrants")]);
        run.event(completed(1, 2));
        assert_eq!(run.frame().len(), 1);
        // The summary of the same sync arrives a frame later.
        run.change(1, |r| r.failed_edits = 2);
        assert!(run.frame().is_empty());
        run.event(completed(1, 2));
        assert!(run.frame().is_empty());
    }

    /// Reset needed and sign-in needed: once while the condition holds; again only after the
    /// replica was healthy.
    #[test]
    fn reset_and_sign_in_needed_re_arm_only_after_they_cleared() {
        let mut run = Run::new(vec![replica(1, "Hydrants"), replica(2, "Valves")]);
        run.change(1, |r| r.reset_reason = Some("the replica is gone".into()));
        run.change(2, |r| r.sign_in_needed = Some("the token expired".into()));
        let sent = run.frame();
        assert_eq!(
            run.kinds(),
            vec![
                (NotificationKind::ResetNeeded, 1),
                (NotificationKind::SignInNeeded, 2)
            ]
        );
        assert_eq!(sent[0].title, "Hydrants needs a client reset");
        assert!(sent[0].body.starts_with("the replica is gone."));
        assert_eq!(sent[1].title, "Valves needs you to sign in again");
        for _ in 0..10 {
            run.change(1, |r| r.last_sync_attempt_ms = Some(5));
            assert!(run.frame().is_empty());
        }
        run.change(1, |r| r.reset_reason = None);
        run.change(2, |r| r.sign_in_needed = None);
        assert!(run.frame().is_empty());
        run.change(1, |r| r.reset_reason = Some("gone again".into()));
        assert_eq!(run.frame().len(), 1);
        assert_eq!(run.sent.len(), 3);
    }

    /// A manual reset waiting is announced only while the window is unfocused, once per wait.
    #[test]
    fn a_waiting_manual_reset_is_announced_when_the_window_is_not_focused() {
        let mut run = Run::new(vec![replica(1, "Hydrants")]);
        run.pending = Some(plan(1));
        assert!(run.frame().is_empty(), "focused: the modal says it");
        run.focused = false;
        let sent = run.frame();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].kind, NotificationKind::ManualResetWaiting);
        assert_eq!(sent[0].title, "The client reset of Hydrants waits for you");
        run.focused = true;
        run.frame();
        run.focused = false;
        assert!(run.frame().is_empty(), "the same wait is announced once");
        run.pending = None;
        run.frame();
        run.pending = Some(plan(1));
        assert_eq!(run.frame().len(), 1, "a new wait is news");
    }

    /// Fifty failing syncs within the threshold say nothing; past it, one notification; a
    /// success re-arms.
    #[test]
    fn a_burst_of_failing_syncs_is_one_notification_after_the_threshold() {
        let mut run = Run::new(vec![replica(1, "Hydrants"), replica(2, "Valves")]);
        run.settings.sync_failing_after_secs = 60;
        for i in 0..50 {
            run.now_ms = T0 + i * 1000;
            run.event(failed(1));
            run.change(1, |r| r.last_error = Some("connection refused".into()));
            assert!(run.frame().is_empty(), "not yet at {i} s");
        }
        assert_eq!(
            run.policy.next_check_in(run.now_ms, &run.settings),
            Some(Duration::from_secs(11))
        );
        run.now_ms = T0 + 60_000;
        let sent = run.frame();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].kind, NotificationKind::SyncFailing);
        assert_eq!(sent[0].title, "Syncs of Hydrants keep failing");
        assert_eq!(
            sent[0].body,
            "Failing for 1 min 0 s: [network] connection refused"
        );
        assert_eq!(run.policy.next_check_in(run.now_ms, &run.settings), None);
        for i in 0..50 {
            run.now_ms = T0 + 61_000 + i * 1000;
            run.event(failed(1));
            assert!(run.frame().is_empty());
        }
        run.event(completed(1, 0));
        run.frame();
        run.event(failed(1));
        assert!(run.frame().is_empty(), "the clock starts again");
        run.now_ms += 60_000;
        assert_eq!(run.frame().len(), 1);
        assert_eq!(run.kinds(), vec![(NotificationKind::SyncFailing, 1); 2]);
    }

    /// Cancelled jobs and refused tokens are not failing syncs; a replica needing a reset has
    /// its own notification, not this one.
    #[test]
    fn cancels_sign_ins_and_resets_are_not_failing_syncs() {
        let mut run = Run::new(vec![replica(1, "Hydrants"), replica(2, "Valves")]);
        run.settings.sync_failing_after_secs = 0;
        for error in [
            EngineError::Cancelled.to_failure(),
            Failure {
                class: FailureClass::SignIn,
                code: Some(498),
                message: "invalid token".into(),
            },
        ] {
            run.event(Event::JobFailed {
                replica: LocalReplicaId(1),
                job: JobId(3),
                error,
            });
        }
        assert!(run.frame().is_empty());
        run.change(2, |r| r.reset_reason = Some("gone".into()));
        run.event(failed(2));
        run.frame();
        assert_eq!(run.kinds(), vec![(NotificationKind::ResetNeeded, 2)]);
    }

    /// What the first list shows is not news; paused replicas are left alone.
    #[test]
    fn the_first_list_and_paused_replicas_are_not_announced() {
        let mut needs_reset = replica(1, "Hydrants");
        needs_reset.reset_reason = Some("gone".into());
        needs_reset.failed_edits = 4;
        let mut paused = replica(2, "Valves");
        paused.paused = true;
        let mut run = Run::new(vec![needs_reset, paused]);
        run.event(completed(1, 4));
        run.change(2, |r| r.sign_in_needed = Some("expired".into()));
        run.event(completed(2, 3));
        assert!(run.frame().is_empty());
        // Events before the first list are not judged at all.
        let mut fresh = NotificationPolicy::default();
        fresh.observe(&completed(1, 2), T0);
        let replicas = [replica(1, "Hydrants")];
        let situation = Situation {
            replicas: &replicas,
            pending_reset: None,
            focused: false,
            now_ms: T0,
        };
        assert!(
            fresh
                .evaluate(situation, &NotificationSettings::default())
                .is_empty()
        );
    }

    /// A kind turned off is not sent, and turning it on later brings no old news.
    #[test]
    fn a_kind_turned_off_is_suppressed_without_a_backlog() {
        let mut run = Run::new(vec![replica(1, "Hydrants")]);
        run.settings.reset_needed = false;
        run.change(1, |r| r.reset_reason = Some("gone".into()));
        run.event(completed(1, 2));
        assert_eq!(run.frame().len(), 1, "refused edits are still on");
        assert_eq!(run.kinds(), vec![(NotificationKind::RefusedEdits, 1)]);
        run.settings.reset_needed = true;
        assert!(run.frame().is_empty());
        // Once cleared and needed again, it is news.
        run.change(1, |r| r.reset_reason = None);
        run.frame();
        run.change(1, |r| r.reset_reason = Some("gone".into()));
        assert_eq!(run.frame().len(), 1);
    }

    /// A removed replica's memory goes with it.
    #[test]
    fn a_removed_replica_is_forgotten() {
        let mut run = Run::new(vec![replica(1, "Hydrants")]);
        run.event(completed(1, 2));
        assert_eq!(run.frame().len(), 1);
        run.event(Event::ReplicaRemoved {
            replica: LocalReplicaId(1),
        });
        assert!(run.policy.refused_announced.is_empty());
        assert!(run.policy.announced.is_empty());
    }
}
