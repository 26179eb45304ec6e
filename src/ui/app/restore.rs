//! "Restore changes from backup…" on the app's side: opening the window for a replica (which
//! asks the engine for its backups), turning what the window asks for into `Command`s (preview,
//! restore) and handing it the engine's answers. The window itself is `ui::dialogs::restore`.

use super::SyncwatchApp;
use crate::engine::{Command, Event, LocalReplicaId};
use crate::ui::dialogs::restore::{RestoreAction, RestoreWindow, restore_window_ui};

impl SyncwatchApp {
    /// Opens the window for `replica` and asks for its backups.
    pub(super) fn open_restore(&mut self, replica: LocalReplicaId) {
        let name = self.vm.replica_name(replica);
        self.restore = Some(RestoreWindow::new(replica, &name));
        self.submit_for_restore(Command::ListBackups { replica });
    }

    /// Sends a command of the window and remembers its id (to match its failure).
    fn submit_for_restore(&mut self, command: Command) {
        let submitted = self.commands.submit(command);
        let Some(window) = &mut self.restore else {
            return;
        };
        match submitted {
            Ok(id) => {
                window.command = id;
                window.busy = true;
                window.error = None;
            }
            Err(e) => {
                window.busy = false;
                window.error = Some(format!("Not sent: {e}"));
            }
        }
    }

    /// Draws the window (if open) and carries out what it asked for.
    pub(super) fn restore_window_ui(&mut self, ctx: &egui::Context) {
        let Some(window) = &mut self.restore else {
            return;
        };
        let replica = window.replica;
        match restore_window_ui(ctx, window) {
            RestoreAction::None => {}
            RestoreAction::Close => self.restore = None,
            RestoreAction::Preview(backup) => {
                window.preview = None;
                self.submit_for_restore(Command::PreviewBackup { replica, backup });
            }
            RestoreAction::Restore { backup, only } => {
                window.restoring = true;
                self.submit_for_restore(Command::RestoreFromBackup {
                    replica,
                    backup,
                    only,
                    sync: true,
                });
            }
        }
    }

    /// Hands the window the engine's answers (before the view model sees the event).
    pub(super) fn follow_restore(&mut self, event: &Event) {
        if let Some(window) = &mut self.restore {
            window.follow(event);
        }
    }
}
