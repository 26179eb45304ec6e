//! "Export log…" of the sync error log panel: the lines shown wait for the file dialog, then
//! go to the engine as `Command::ExportLog` (the engine writes the CSV). Asks and sends only.

use super::SyncwatchApp;
use crate::engine::{Command, LogEntry};
use crate::ui::file_picker::PendingPick;

/// An export of the log waiting for the file dialog: the lines shown when it was asked for.
pub struct PendingLogExport {
    pick: PendingPick,
    entries: Vec<LogEntry>,
}

impl SyncwatchApp {
    /// Opens the file dialog for these lines (one export at a time).
    pub(super) fn start_log_export(&mut self, ctx: &egui::Context, entries: Vec<LogEntry>) {
        if self.log_export.is_some() {
            return;
        }
        let pick = self.file_picker.pick_save_csv(ctx, "sync-error-log.csv");
        self.log_export = Some(PendingLogExport { pick, entries });
        self.vm.set_notice("Choose where to save the log…", false);
    }

    /// Once the file dialog has answered, queues the export.
    pub(super) fn poll_log_export(&mut self) {
        let Some(answer) = self.log_export.as_ref().and_then(|p| p.pick.poll()) else {
            return;
        };
        let Some(export) = self.log_export.take() else {
            return;
        };
        let Some(path) = answer else {
            self.vm
                .set_notice("Export cancelled (no file chosen).", false);
            return;
        };
        let count = export.entries.len();
        let command = Command::ExportLog {
            entries: export.entries,
            path: path.clone(),
        };
        if self.send(command) {
            let text = format!("Exporting {count} log lines to {}…", path.display());
            self.vm.set_notice(text, false);
        }
    }
}
