//! The "Service replicas" view on the app's side: opening it (File → Manage service
//! replicas…, for the selected replica's service or the last URL used), turning what it asks
//! for into `Command`s (load, unregister, CSV export after the non-blocking file picker), and
//! handing it the engine's answers. The view itself is `ui::service_replicas`.

use super::SyncwatchApp;
use crate::engine::{Command, Event};
use crate::model::ServiceReplica;
use crate::ui::PendingPick;
use crate::ui::service_replicas::{
    ServiceReplicasAction, ServiceReplicasView, service_replicas_ui,
};

/// A CSV export of the view waiting for the file dialog: the rows shown when it was asked for.
pub struct PendingServiceExport {
    pick: PendingPick,
    rows: Vec<ServiceReplica>,
}

impl SyncwatchApp {
    /// Opens the view for the selected replica's service (or the last service URL) and loads it.
    pub(super) fn open_service_replicas(&mut self) {
        let url = self
            .selected()
            .and_then(|id| self.vm.replica(id))
            .map(|r| r.service_url.clone())
            .unwrap_or_else(|| self.persisted.last_service_url.clone());
        self.service_replicas = Some(ServiceReplicasView::new(&url));
        if !url.trim().is_empty() {
            self.load_service_replicas(url);
        }
    }

    fn load_service_replicas(&mut self, url: String) {
        let command = Command::LoadServiceReplicas {
            service_url: url,
            token: None,
        };
        self.submit_for_view(command);
    }

    /// Sends a command of the view and remembers its id (to match its failure).
    fn submit_for_view(&mut self, command: Command) {
        let submitted = self.commands.submit(command);
        let Some(view) = &mut self.service_replicas else {
            return;
        };
        match submitted {
            Ok(id) => {
                view.command = id;
                view.busy = true;
                view.error = None;
            }
            Err(e) => view.error = Some(format!("Not sent: {e}")),
        }
    }

    /// Draws the view (if open) and carries out what it asked for.
    pub(super) fn service_replicas_window_ui(&mut self, ctx: &egui::Context) {
        let now = self.now_ms();
        let Some(view) = &mut self.service_replicas else {
            return;
        };
        match service_replicas_ui(ctx, view, now, &mut self.persisted.stale_days) {
            ServiceReplicasAction::None => {}
            ServiceReplicasAction::Close => self.service_replicas = None,
            ServiceReplicasAction::Load(url) => {
                view.results.clear();
                self.persisted.last_service_url = url.clone();
                self.load_service_replicas(url);
            }
            ServiceReplicasAction::Unregister(replicas) => {
                view.results.clear();
                let command = Command::UnregisterServiceReplicas {
                    service_url: view.url.clone(),
                    token: None,
                    replicas,
                };
                self.submit_for_view(command);
            }
            ServiceReplicasAction::ExportCsv(rows) => {
                if self.service_export.is_none() {
                    let pick = self.file_picker.pick_save_csv(ctx, "service-replicas.csv");
                    self.service_export = Some(PendingServiceExport { pick, rows });
                    self.vm.set_notice("Choose where to save the CSV…", false);
                }
            }
        }
    }

    /// Hands the view the engine's answers (before the view model sees the event).
    pub(super) fn follow_service_replicas(&mut self, event: &Event) {
        if let Some(view) = &mut self.service_replicas {
            view.follow(event);
        }
    }

    /// Once the file dialog has answered, queues the export (written by the engine).
    pub(super) fn poll_service_export(&mut self) {
        let Some(answer) = self.service_export.as_ref().and_then(|p| p.pick.poll()) else {
            return;
        };
        let Some(export) = self.service_export.take() else {
            return;
        };
        let Some(path) = answer else {
            self.vm
                .set_notice("Export cancelled (no file chosen).", false);
            return;
        };
        let count = export.rows.len();
        let command = Command::ExportServiceReplicas {
            replicas: export.rows,
            stale_days: self.persisted.stale_days,
            path: path.clone(),
        };
        if self.send(command) {
            let text = format!("Exporting {count} service replicas to {}…", path.display());
            self.vm.set_notice(text, false);
        }
    }
}
