//! The window's title, which the taskbar entry shows too: "Syncwatch", and the number of
//! replicas needing attention (refused edits, conflicts, an error, a reset or a sign-in) when
//! there are any. It is sent to the viewport only when it changes; it reads the view model and
//! must not change it.

use super::SyncwatchApp;
use crate::model::ReplicaSummary;

/// The title with nothing needing attention (also the title the window opens with).
pub const BASE_TITLE: &str = "Syncwatch";

/// The title for these replicas.
pub fn window_title(replicas: &[ReplicaSummary]) -> String {
    match replicas
        .iter()
        .filter(|r| r.health().needs_attention())
        .count()
    {
        0 => BASE_TITLE.to_owned(),
        1 => format!("{BASE_TITLE} — 1 replica needs attention"),
        n => format!("{BASE_TITLE} — {n} replicas need attention"),
    }
}

impl SyncwatchApp {
    /// The title last sent to the window.
    pub fn title(&self) -> &str {
        &self.sent_title
    }

    /// Sends the title when the count of replicas needing attention changed.
    pub(super) fn update_title(&mut self, ctx: &egui::Context) {
        let title = window_title(&self.vm.replicas);
        if title != self.sent_title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.sent_title = title;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LocalReplicaId;

    fn replica(id: i64, failed_edits: u32, pending_changes: u32) -> ReplicaSummary {
        let mut r = crate::model::summary_for_tests();
        r.id = LocalReplicaId(id);
        r.failed_edits = failed_edits;
        r.pending_changes = pending_changes;
        r
    }

    #[test]
    fn the_title_counts_the_replicas_needing_attention() {
        assert_eq!(window_title(&[]), "Syncwatch");
        let mut replicas = vec![replica(1, 0, 3), replica(2, 0, 0)];
        assert_eq!(
            window_title(&replicas),
            "Syncwatch",
            "pending edits are no alarm"
        );
        replicas[0].failed_edits = 2;
        assert_eq!(
            window_title(&replicas),
            "Syncwatch — 1 replica needs attention"
        );
        replicas[1].reset_reason = Some("the replica is gone on the service".into());
        assert_eq!(
            window_title(&replicas),
            "Syncwatch — 2 replicas need attention"
        );
        replicas[1].paused = true;
        assert_eq!(
            window_title(&replicas),
            "Syncwatch — 1 replica needs attention",
            "a paused replica is left alone"
        );
    }
}
