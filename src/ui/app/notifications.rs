//! The window's desktop notifications: once per frame (in `logic`, so also while the window is
//! minimised) it asks the policy (`ui::notifications`) what is due and hands that to the
//! notifier it was given ([`crate::model::Notifier`], none in tests that do not ask for one);
//! it takes the clicks that came back ([`crate::model::NotificationClicks`]), selects the
//! clicked replica and brings the window up; and it draws View → Notifications…, a toggle per
//! kind and the failing-syncs threshold, kept in [`crate::ui::Persisted`]. It never shows a
//! notification itself and never waits on the notifier.

use super::SyncwatchApp;
use crate::engine::LocalReplicaId;
use crate::model::NotificationKind;
use crate::ui::Action;
use crate::ui::notifications::Situation;

/// The failing-syncs threshold the settings window offers, in minutes.
const THRESHOLD_MINUTES: std::ops::RangeInclusive<u64> = 1..=24 * 60;

impl SyncwatchApp {
    /// Brings the window up on the replicas whose notifications were clicked, then sends the
    /// notifications due now, and wakes the window when failing syncs will reach the threshold.
    pub(super) fn follow_notifications(&mut self, ctx: &egui::Context) {
        for replica in self.config.notification_clicks.take() {
            self.show_clicked(ctx, replica);
        }
        let now_ms = self.now_ms();
        let focused = ctx.input(|i| i.focused);
        let due = self.notifications.evaluate(
            Situation {
                replicas: &self.vm.replicas,
                pending_reset: self.vm.pending_reset.as_ref().map(|p| &p.plan),
                focused,
                now_ms,
            },
            &self.persisted.notifications,
        );
        if let Some(notifier) = &self.config.notifier {
            for notification in &due {
                tracing::debug!(kind = ?notification.kind, replica = %notification.replica, "desktop notification");
                notifier.notify(notification);
            }
        }
        if let Some(wait) = self
            .notifications
            .next_check_in(now_ms, &self.persisted.notifications)
        {
            ctx.request_repaint_after(wait);
        }
    }

    /// A notification about `replica` was clicked: select it and bring the window up.
    fn show_clicked(&mut self, ctx: &egui::Context, replica: LocalReplicaId) {
        if self.vm.replica(replica).is_none() {
            // Removed since: nothing to show, but the window still comes up.
            tracing::debug!(replica = %replica, "a notification of a replica no longer listed was clicked");
        } else {
            self.apply(ctx, Action::Select(replica));
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
        ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
    }

    /// View → Notifications…, while open: a checkbox per kind and the threshold.
    pub(super) fn notification_settings_ui(&mut self, ctx: &egui::Context) {
        if !self.notification_settings_open {
            return;
        }
        let mut open = true;
        let available = self.config.notifier.is_some();
        let settings = &mut self.persisted.notifications;
        egui::Window::new("Notifications")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            // Opens centred over the window, not over its menus.
            .pivot(egui::Align2::CENTER_CENTER)
            .default_pos(ctx.content_rect().center())
            .show(ctx, |ui| {
                ui.label("Send a desktop notification when:");
                for kind in NotificationKind::ALL {
                    ui.checkbox(settings.flag_mut(kind), kind.label());
                }
                ui.horizontal(|ui| {
                    let label = ui.label("Syncs count as failing after");
                    let mut minutes = (settings.sync_failing_after_secs / 60)
                        .clamp(*THRESHOLD_MINUTES.start(), *THRESHOLD_MINUTES.end());
                    let changed = ui
                        .add_enabled(
                            settings.sync_failing,
                            egui::DragValue::new(&mut minutes)
                                .range(THRESHOLD_MINUTES)
                                .suffix(" min"),
                        )
                        .labelled_by(label.id)
                        .changed();
                    if changed {
                        settings.sync_failing_after_secs = minutes * 60;
                    }
                });
                ui.weak("One notification per kind and replica, until it has cleared.");
                if !available {
                    ui.weak("Desktop notifications are not available in this session.");
                }
            });
        if !open {
            self.notification_settings_open = false;
        }
    }
}
