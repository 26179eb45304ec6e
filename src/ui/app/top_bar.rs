//! The window's top bar (menus, sync buttons, auto-sync), the status bar, and the banners (demo
//! mode with the seeding's progress, services not answering; "Sign in again" is in `sign_in`).
//! Panels only: they push [`Action`]s and change nothing but the menu's own checkboxes.

use super::SyncwatchApp;
use crate::engine::LocalReplicaId;
use crate::model::demo::SeedProgress;
use crate::ui::Action;

impl SyncwatchApp {
    pub(super) fn top_bar_ui(
        &mut self,
        ui: &mut egui::Ui,
        selected: Option<LocalReplicaId>,
        actions: &mut Vec<Action>,
    ) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("New replica…").clicked() {
                    actions.push(Action::OpenWizard);
                }
                if ui.button("Sign in…").clicked() {
                    actions.push(Action::OpenSignIn {
                        url: String::new(),
                        username: String::new(),
                    });
                }
                if ui.button("Accounts…").clicked() {
                    actions.push(Action::OpenAccounts);
                }
                if ui
                    .button("Manage service replicas…")
                    .on_hover_text("Every replica the service has: owners, last syncs, stale ones")
                    .clicked()
                {
                    actions.push(Action::OpenServiceReplicas);
                }
                if ui
                    .button("Open offline map…")
                    .on_hover_text("Read an ArcGIS offline map (.geodatabase) without changing it")
                    .clicked()
                {
                    actions.push(Action::OpenOfflineMap);
                }
                if ui
                    .button("Offline map folders…")
                    .on_hover_text("The folders searched for ArcGIS offline maps")
                    .clicked()
                {
                    actions.push(Action::EditOfflineMapFolders);
                }
                if ui.button("Refresh replicas").clicked() {
                    actions.push(Action::Refresh);
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("Sync", |ui| {
                if ui
                    .add_enabled(
                        selected.is_some(),
                        egui::Button::new("Sync selected").shortcut_text("Ctrl+R"),
                    )
                    .clicked()
                {
                    actions.push(Action::SyncSelected);
                }
                if ui.button("Sync all").clicked() {
                    actions.push(Action::SyncAll);
                }
                let paused = self.persisted.auto_sync_paused;
                let text = if paused {
                    "Resume auto-sync"
                } else {
                    "Pause auto-sync"
                };
                if ui.button(text).clicked() {
                    actions.push(Action::SetAutoSyncPaused(!paused));
                }
            });
            ui.menu_button("View", |ui| {
                ui.checkbox(&mut self.persisted.show_log, "Error log");
                if ui.button("Search edit results (Ctrl+F)").clicked() {
                    actions.push(Action::FocusSearch);
                }
                if ui
                    .button("Notifications…")
                    .on_hover_text("Which desktop notifications to send")
                    .clicked()
                {
                    self.notification_settings_open = true;
                }
            });
            if self.config.demo {
                ui.menu_button("Demo", |ui| {
                    if ui
                        .button("Demo: terminate and re-enable sync")
                        .on_hover_text("Every demo replica then needs a client reset")
                        .clicked()
                    {
                        actions.push(Action::DemoTerminateSync);
                    }
                });
            }
        });
        ui.horizontal(|ui| {
            let selected_replica = selected.and_then(|id| self.vm.replica(id));
            let can_sync = selected_replica
                .is_some_and(|r| !r.syncing && !r.paused && r.reset_reason.is_none());
            if ui
                .add_enabled(can_sync, egui::Button::new("⟳ Sync now"))
                .on_hover_text("Sync the selected replica (Ctrl+R)")
                .clicked()
            {
                actions.push(Action::SyncSelected);
            }
            if let Some(r) = selected_replica {
                let (text, hover) = if r.paused {
                    (
                        "▶ Resume replica",
                        "Include it in auto-sync and Sync all again",
                    )
                } else {
                    ("⏸ Pause replica", "Leave it out of auto-sync and Sync all")
                };
                if ui.button(text).on_hover_text(hover).clicked() {
                    actions.push(Action::SetPaused(r.id, !r.paused));
                }
            }
            if ui.button("Sync all").clicked() {
                actions.push(Action::SyncAll);
            }
            let paused = self.persisted.auto_sync_paused;
            let text = if paused {
                "▶ Resume auto-sync"
            } else {
                "⏸ Pause auto-sync"
            };
            if ui.button(text).clicked() {
                actions.push(Action::SetAutoSyncPaused(!paused));
            }
            ui.label(if paused {
                "Auto-sync paused".to_owned()
            } else {
                format!(
                    "Auto-sync every {}",
                    crate::ui::format::interval_text(self.persisted.auto_sync_interval_secs)
                )
            });
            ui.separator();
            if ui.button("New replica…").clicked() {
                actions.push(Action::OpenWizard);
            }
        });
        let dark = ui.visuals().dark_mode;
        if self.config.demo {
            banner_ui(ui, crate::ui::theme::blue(dark), &self.demo_banner_text());
        }
        for (url, reason) in &self.vm.network_lost {
            banner_ui(
                ui,
                crate::ui::theme::amber(dark),
                &format!("Service not answering ({reason}); auto-sync backs off: {url}"),
            );
        }
        self.sign_in_banners_ui(ui, actions);
        ui.add_space(2.0);
    }

    pub(super) fn status_bar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let dark = ui.visuals().dark_mode;
            match &self.vm.notice {
                Some(n) if n.is_error => {
                    ui.colored_label(crate::ui::theme::red(dark), &n.text);
                }
                Some(n) => {
                    ui.label(&n.text);
                }
                None => {
                    ui.weak("Ready");
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let running = self.vm.jobs.values().filter(|j| j.is_running()).count();
                ui.weak(format!(
                    "{} · {}",
                    plural(self.vm.replicas.len(), "replica", "replicas"),
                    plural(running, "job running", "jobs running")
                ));
            });
        });
    }

    /// The demo banner: always says it is a demo, and what the seeding of the demo replicas did.
    fn demo_banner_text(&self) -> String {
        const BASE: &str = "Demo mode: connected to the embedded demo feature service on this computer; nothing leaves this machine.";
        match self.seed_progress() {
            Some(SeedProgress::Finished) => format!(
                "{BASE} Demo replicas: one up to date, one with edits the service refused, one that needs a client reset."
            ),
            Some(SeedProgress::Failed(why)) => {
                format!("{BASE} The demo replicas could not be prepared: {why}")
            }
            Some(SeedProgress::Waiting | SeedProgress::Running { .. }) => {
                format!("{BASE} {}", self.seed_running_text().unwrap_or_default())
            }
            Some(SeedProgress::NotNeeded) | None => BASE.to_owned(),
        }
    }

    /// What the demo seeding is doing, while it runs.
    pub fn seed_running_text(&self) -> Option<String> {
        match self.seed_progress()? {
            SeedProgress::Waiting => Some("Preparing the demo replicas…".to_owned()),
            SeedProgress::Running { step, total, what } => Some(format!(
                "Preparing the demo replicas ({step}/{total}): {what}…"
            )),
            _ => None,
        }
    }

    /// The demo seeding's latest progress (`None` when not in demo mode).
    pub fn seed_progress(&self) -> Option<SeedProgress> {
        self.config.demo_seed.as_ref().map(|rx| rx.borrow().clone())
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn banner_ui(ui: &mut egui::Ui, color: egui::Color32, text: &str) {
    egui::Frame::new()
        .fill(color.gamma_multiply(0.18))
        .stroke(egui::Stroke::new(1.0, color))
        .inner_margin(egui::Margin::symmetric(8, 4))
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(text);
        });
}
