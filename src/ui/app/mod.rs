//! The eframe app: owns the view model, drains engine events in `logic` (8 ms budget per
//! frame), lays out the panels, collects the actions they return and, at the end of the frame,
//! applies them (`action`: state changes and `Command`s through the [`CommandSink`]). Built
//! from a command sender and an event receiver, so tests drive it without an engine. The top and
//! status bars are in `top_bar`, the screenshot and first-frame hooks in `dev_hooks`, signing in
//! (the Sign in dialog's commands and events, Accounts, the "Sign in again" banners) in `sign_in`,
//! the "Service replicas" view's commands and events in `service_replicas`, the New replica
//! wizard's in `wizard`, the fix form's (one edit, several at once, the detail pane's
//! attributes) in `fix_form`, the log's export in `log_export`, the desktop notifications (what
//! is due, clicks, their settings window) in `notifications`.

mod action;
mod dev_hooks;
mod fix_form;
mod log_export;
mod notifications;
mod restore;
mod service_replicas;
mod sign_in;
mod title;
mod top_bar;
mod wizard;

pub use crate::ui::persisted::DEFAULT_AUTO_SYNC_SECS;
pub use action::{Action, PendingExport};
pub use fix_form::FixRequest;
pub use sign_in::SignInState;
pub use title::{BASE_TITLE, window_title};
pub use wizard::WizardMap;

use crate::engine::SendError;
use crate::engine::{Command, Event, LocalReplicaId};
use crate::ui::conflicts::{CompareAction, CompareState, compare_view_ui};
use crate::ui::dialogs::{
    self, AccountsWindow, BulkDropConfirm, BulkFixDialog, DialogOutcome, DropConfirm,
    FixFormDialog, UnregisterConfirm,
};
use crate::ui::log_panel::{LogPanelAction, LogPanelState, log_panel_ui};
use crate::ui::replica_detail::{DetailAction, replica_detail_ui};
use crate::ui::replica_list::{OfflineRows, ReplicaListAction, replica_list_ui};
use crate::ui::reset_modal::{ResetModalAction, reset_modal_ui, reset_summary_ui};
use crate::ui::results::{GridAction, GridState, results_grid_ui};
use crate::ui::view_model::ViewModel;
use crate::ui::{AppConfig, CommandSink, FilePicker, PendingDemoCall, Persisted, Tab};
use dev_hooks::ScreenshotHook;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How long `logic` may spend applying events in one frame.
pub const EVENT_BUDGET: Duration = Duration::from_millis(8);

/// The desktop app.
pub struct SyncwatchApp {
    pub vm: ViewModel,
    pub persisted: Persisted,
    pub grid: GridState,
    /// The conflicts compare view's edited values.
    pub compare: CompareState,
    pub log_state: LogPanelState,
    /// The New replica wizard, while open.
    pub wizard: Option<crate::ui::dialogs::Wizard>,
    /// The wizard's map preview on its work-area page (egui state, so kept here, not in it).
    pub wizard_map: WizardMap,
    /// The attribute form of a refused edit.
    pub fix: Option<FixFormDialog>,
    /// "Set <field> for N edits".
    pub bulk_fix: Option<BulkFixDialog>,
    /// The forms asked of the engine and not yet arrived, and what they are for.
    pub fix_request: Option<(LocalReplicaId, FixRequest)>,
    pub drop_confirm: Option<DropConfirm>,
    /// Confirmation before several local edits are dropped.
    pub bulk_drop: Option<BulkDropConfirm>,
    pub unregister_confirm: Option<UnregisterConfirm>,
    /// The Sign in dialog and the sign-in it follows.
    pub sign_in: Option<SignInState>,
    /// File → Accounts is open.
    pub accounts_window: Option<AccountsWindow>,
    /// File → Manage service replicas… is open.
    pub service_replicas: Option<crate::ui::service_replicas::ServiceReplicasView>,
    /// "Restore changes from backup…" is open.
    pub restore: Option<crate::ui::dialogs::restore::RestoreWindow>,
    /// The file dialog of the service replicas' "Export CSV…" is open.
    service_export: Option<service_replicas::PendingServiceExport>,
    events: crate::engine::EventReceiver,
    commands: CommandSink,
    file_picker: Box<dyn FilePicker>,
    /// The offline map shown in the centre instead of a replica (issue 22).
    selected_offline: Option<std::path::PathBuf>,
    /// File → Open offline map…: the file dialog's answer, once it comes.
    pending_open: Option<crate::ui::PendingPick>,
    /// The watch-folders window's text while it is open.
    folders_editor: Option<String>,
    config: AppConfig,
    /// Fixed wall clock for tests and screenshots (epoch ms).
    mock_now_ms: Option<i64>,
    /// Replicas whose edit results were asked for and not yet delivered.
    results_requested: HashSet<LocalReplicaId>,
    started: bool,
    /// The file dialog of "Export CSV" is open.
    pub pending_export: Option<PendingExport>,
    /// The file dialog of the log's "Export log…" is open.
    log_export: Option<log_export::PendingLogExport>,
    screenshot: Option<ScreenshotHook>,
    /// The Demo menu's "terminate and re-enable sync" is on its way to the demo service.
    pending_demo: Option<PendingDemoCall>,
    /// Last measured time `logic` spent on events (for the status bar tooltip).
    pub last_drain: Duration,
    /// The window title last sent to the viewport (`title`), so it is sent only on a change.
    sent_title: String,
    /// What the desktop notifications announced and what is due (`notifications`).
    pub notifications: crate::ui::notifications::NotificationPolicy,
    /// View → Notifications… is open.
    pub notification_settings_open: bool,
}

impl SyncwatchApp {
    pub fn new(
        commands: CommandSink,
        events: impl Into<crate::engine::EventReceiver>,
        file_picker: Box<dyn FilePicker>,
        config: AppConfig,
        persisted: Persisted,
    ) -> Self {
        let mut grid = GridState::default();
        grid.filter.chip = persisted.chip;
        let screenshot = config.screenshot_path.clone().map(ScreenshotHook::new);
        SyncwatchApp {
            vm: ViewModel::default(),
            persisted,
            grid,
            compare: CompareState::default(),
            log_state: LogPanelState::default(),
            wizard: None,
            wizard_map: WizardMap::default(),
            fix: None,
            bulk_fix: None,
            fix_request: None,
            drop_confirm: None,
            bulk_drop: None,
            unregister_confirm: None,
            sign_in: None,
            accounts_window: None,
            service_replicas: None,
            restore: None,
            service_export: None,
            events: events.into(),
            commands,
            file_picker,
            selected_offline: None,
            pending_open: None,
            folders_editor: None,
            config,
            mock_now_ms: None,
            results_requested: HashSet::new(),
            started: false,
            pending_export: None,
            log_export: None,
            screenshot,
            pending_demo: None,
            last_drain: Duration::ZERO,
            sent_title: title::BASE_TITLE.to_owned(),
            notifications: Default::default(),
            notification_settings_open: false,
        }
    }

    /// Restores the persisted state from eframe storage (if any) and builds the app.
    pub fn from_creation_context(
        cc: &eframe::CreationContext<'_>,
        commands: CommandSink,
        events: impl Into<crate::engine::EventReceiver>,
        file_picker: Box<dyn FilePicker>,
        config: AppConfig,
    ) -> Self {
        let persisted = cc
            .storage
            .and_then(|s| eframe::get_value::<Persisted>(s, eframe::APP_KEY))
            .unwrap_or_default();
        Self::new(commands, events, file_picker, config, persisted)
    }

    /// Freezes the wall clock (tests, screenshots).
    pub fn set_mock_now_ms(&mut self, now_ms: Option<i64>) {
        self.mock_now_ms = now_ms;
    }

    pub fn now_ms(&self) -> i64 {
        self.mock_now_ms.unwrap_or_else(crate::model::now_ms)
    }

    pub fn selected(&self) -> Option<LocalReplicaId> {
        self.persisted
            .selected_replica
            .filter(|id| self.vm.replica(*id).is_some())
    }

    /// Applies queued events until the queue is empty or the time budget is spent.
    pub fn drain_events(&mut self, ctx: &egui::Context) {
        let started = Instant::now();
        let now_secs = ctx.input(|i| i.time);
        let now_ms = self.now_ms();
        while let Ok(event) = self.events.try_recv() {
            if let Event::EditResultsReady { replica, .. } = &event {
                self.results_requested.remove(replica);
            }
            self.follow_sign_in(ctx, &event);
            self.follow_service_replicas(&event);
            self.follow_restore(&event);
            self.follow_wizard(&event);
            self.follow_fix_forms(&event);
            self.notifications.observe(&event, now_ms);
            self.vm.apply(event, now_secs);
            if started.elapsed() > EVENT_BUDGET {
                // Events are still queued: continue next frame.
                ctx.request_repaint();
                break;
            }
        }
        self.last_drain = started.elapsed();
        self.follow_notifications(ctx);
    }

    /// One whole frame for kittest and the frame benchmark: drain events, then draw.
    pub fn ui_for_tests(&mut self, ui: &mut egui::Ui) {
        self.drain_events(ui.ctx());
        self.frame_ui(ui);
    }

    fn send(&mut self, command: Command) -> bool {
        match self.commands.send(command) {
            Ok(()) => true,
            Err(SendError::Busy(_)) => {
                self.vm.set_notice(
                    "Busy: the engine has too much queued; try again in a moment.",
                    true,
                );
                false
            }
            Err(SendError::Stopped(_)) => {
                self.vm
                    .set_notice("The sync engine has stopped; restart syncwatch.", true);
                false
            }
        }
    }

    /// Draws the whole window and applies what the panels asked for.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        let mut actions: Vec<Action> = Vec::new();
        if !self.started {
            self.started = true;
            actions.push(Action::Refresh);
            actions.push(Action::ListAccounts);
            self.send(Command::LoadOfflineMapFolders);
        }
        self.shortcuts(ui.ctx(), &mut actions);
        self.update_title(ui.ctx());
        self.ensure_selection();
        let selected = self.selected();

        // While an offline map is shown, the toolbar's replica actions have no replica: an
        // offline map is synced by the app that made it.
        let toolbar_selected = selected.filter(|_| self.selected_offline.is_none());
        egui::Panel::top("toolbar")
            .show(ui, |ui| self.top_bar_ui(ui, toolbar_selected, &mut actions));
        egui::Panel::bottom("status-bar").show(ui, |ui| self.status_bar_ui(ui));
        if self.persisted.show_log {
            egui::Panel::bottom("log-panel")
                .resizable(true)
                .default_size(170.0)
                .min_size(80.0)
                .show(ui, |ui| {
                    let now_ms = self.now_ms();
                    let action =
                        log_panel_ui(ui, &self.vm.log, &mut self.log_state, selected, now_ms);
                    if let LogPanelAction::Export(entries) = action {
                        self.start_log_export(ui.ctx(), entries);
                    }
                });
        }
        let preparing = self.seed_running_text();
        egui::Panel::left("replicas")
            .resizable(true)
            .default_size(270.0)
            .min_size(200.0)
            .show(ui, |ui| {
                let a = replica_list_ui(
                    ui,
                    &self.vm.replicas,
                    selected,
                    self.now_ms(),
                    self.vm.loaded,
                    preparing.as_deref(),
                    OfflineRows {
                        maps: &self.vm.offline_maps,
                        selected: self.selected_offline.as_deref(),
                    },
                );
                match a {
                    ReplicaListAction::None => {}
                    ReplicaListAction::Select(id) => actions.push(Action::Select(id)),
                    ReplicaListAction::SyncNow(id) => actions.push(Action::SyncNow(id)),
                    ReplicaListAction::CreateReplica => actions.push(Action::OpenWizard),
                    ReplicaListAction::SetPaused(id, paused) => {
                        actions.push(Action::SetPaused(id, paused))
                    }
                    ReplicaListAction::Unregister(id) => actions.push(Action::OpenUnregister(id)),
                    ReplicaListAction::OpenRestore(id) => actions.push(Action::OpenRestore(id)),
                    ReplicaListAction::SelectOfflineMap(i) => {
                        self.selected_offline = self
                            .vm
                            .offline_maps
                            .entries
                            .get(i)
                            .map(|e| e.map.path.clone());
                    }
                }
            });
        egui::CentralPanel::default().show(ui, |ui| self.centre_ui(ui, selected, &mut actions));

        self.modals_ui(ui.ctx(), &mut actions);
        self.folders_window(ui.ctx());
        self.notification_settings_ui(ui.ctx());
        self.screenshot_hook(ui.ctx());
        for action in actions {
            self.apply(ui.ctx(), action);
        }
        self.request_results_if_needed();
        self.poll_export();
        self.poll_service_export();
        self.poll_log_export();
        self.poll_open_offline_map();
        self.poll_demo_call();
        // Relative times ("3 min ago") move on even when nothing happens: repaint when the next
        // one shown would change, not on a fixed tick (an idle window should cost nothing).
        let now_ms = self.now_ms();
        let next_change = self
            .vm
            .replicas
            .iter()
            .flat_map(|r| [r.last_success_ms, r.last_sync_attempt_ms])
            .map(|t| crate::ui::format::relative_time_changes_in(t, now_ms))
            .min()
            .unwrap_or(Duration::from_secs(3600));
        ui.ctx().request_repaint_after(next_change);
    }

    /// The watch-folders window, while open.
    fn folders_window(&mut self, ctx: &egui::Context) {
        use crate::ui::offline_maps::{FoldersAction, folders_window_ui};
        let Some(text) = self.folders_editor.as_mut() else {
            return;
        };
        match folders_window_ui(ctx, text) {
            FoldersAction::None => {}
            FoldersAction::Close => self.folders_editor = None,
            FoldersAction::Save(folders) => {
                if self.send(Command::SetOfflineMapFolders { folders }) {
                    self.folders_editor = None;
                }
            }
        }
    }

    fn ensure_selection(&mut self) {
        if self.selected().is_none()
            && let Some(first) = self.vm.replicas.first()
        {
            self.persisted.selected_replica = Some(first.id);
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let sync = KeyboardShortcut::new(Modifiers::COMMAND, Key::R);
        let find = KeyboardShortcut::new(Modifiers::COMMAND, Key::F);
        if ctx.input_mut(|i| i.consume_shortcut(&sync)) {
            actions.push(Action::SyncSelected);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&find)) {
            actions.push(Action::FocusSearch);
        }
    }

    fn centre_ui(
        &mut self,
        ui: &mut egui::Ui,
        selected: Option<LocalReplicaId>,
        actions: &mut Vec<Action>,
    ) {
        if let Some(entry) = self
            .selected_offline
            .as_deref()
            .and_then(|p| self.vm.offline_maps.get(p))
        {
            egui::ScrollArea::both()
                .id_salt("offline-detail")
                .show(ui, |ui| {
                    crate::ui::offline_maps::offline_detail_ui(ui, entry)
                });
            return;
        }
        let Some(replica) = selected.and_then(|id| self.vm.replica(id)).cloned() else {
            self.grid.clear();
            ui.centered_and_justified(|ui| {
                ui.label("Select a replica on the left, or create one (New replica…).");
            });
            return;
        };
        let failed = replica.failed_edits + replica.predicted_failures;
        let held = replica.held_conflicts;
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.persisted.tab, Tab::Overview, "Overview");
            let results_title = if failed > 0 && held > 0 {
                format!("Edit results ({failed} failed, {held} conflicts)")
            } else if held > 0 {
                format!("Edit results ({held} conflicts)")
            } else if failed > 0 {
                format!("Edit results ({failed} failed)")
            } else {
                "Edit results".to_owned()
            };
            ui.selectable_value(&mut self.persisted.tab, Tab::Results, results_title);
        });
        ui.separator();
        match self.persisted.tab {
            Tab::Overview => {
                let job = self.vm.jobs.get(&replica.id);
                let now_secs = ui.input(|i| i.time);
                egui::ScrollArea::vertical()
                    .id_salt("overview-scroll")
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        match replica_detail_ui(ui, &replica, job, now_secs, self.now_ms()) {
                            DetailAction::None => {}
                            DetailAction::SyncNow(id) => actions.push(Action::SyncNow(id)),
                            DetailAction::Cancel(id) => actions.push(Action::Cancel(id)),
                            DetailAction::SetResetMode(id, m) => {
                                actions.push(Action::SetResetMode(id, m));
                            }
                            DetailAction::StartReset(id, m) => {
                                actions.push(Action::StartReset(id, m));
                            }
                            DetailAction::SetPredictedPolicy(id, p) => {
                                actions.push(Action::SetPredictedPolicy(id, p));
                            }
                            DetailAction::SetConflictPolicy(id, p) => {
                                actions.push(Action::SetConflictPolicy(id, p));
                            }
                            DetailAction::Unregister(id) => {
                                actions.push(Action::OpenUnregister(id))
                            }
                            DetailAction::OpenRestore(id) => actions.push(Action::OpenRestore(id)),
                            DetailAction::ShowFailedEdits => {
                                actions.push(Action::ShowTab(Tab::Results))
                            }
                        }
                    });
            }
            Tab::Results => {
                let rows = self.vm.results.get(&replica.id).cloned();
                if let Some(rows) = &rows {
                    self.grid.sync(replica.id, rows, ui.ctx());
                } else {
                    self.grid.clear();
                }
                self.grid.feature_panel.sync(self.vm.feature_map.as_ref());
                let conflicts = self.vm.conflicts.get(&replica.id).cloned();
                self.grid.conflict_count = conflicts.as_ref().map_or(0, Vec::len);
                match results_grid_ui(ui, &mut self.grid, rows.is_some()) {
                    GridAction::None => {}
                    GridAction::FixAndResend(row) => actions.push(Action::OpenFix { row }),
                    GridAction::Drop(row) => actions.push(Action::OpenDrop { row }),
                    GridAction::BulkFix { rows, field } => {
                        actions.push(Action::OpenBulkFix { rows, field })
                    }
                    GridAction::BulkDrop(rows) => actions.push(Action::OpenBulkDrop { rows }),
                    GridAction::LoadCompare {
                        layer_id,
                        global_id,
                    } => actions.push(Action::LoadCompare {
                        layer_id,
                        global_id,
                    }),
                    GridAction::CopyGlobalId(g) => actions.push(Action::CopyText(g)),
                    GridAction::ExportCsv => actions.push(Action::ExportCsv),
                    GridAction::Load => actions.push(Action::LoadResults(replica.id)),
                    GridAction::LoadFeatureMap {
                        layer_id,
                        global_id,
                    } => actions.push(Action::LoadFeatureMap {
                        replica: replica.id,
                        layer_id,
                        global_id,
                    }),
                }
                if self.grid.show_conflicts && rows.is_some() {
                    let shown = conflicts.unwrap_or_default();
                    if let CompareAction::Resolve {
                        layer_id,
                        global_id,
                        resolution,
                    } = compare_view_ui(ui, &shown, &mut self.compare)
                    {
                        actions.push(Action::ResolveConflict {
                            replica: replica.id,
                            layer_id,
                            global_id,
                            resolution,
                        });
                    }
                }
                self.persisted.chip = self.grid.filter.chip;
            }
        }
    }

    fn modals_ui(&mut self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        if let Some(pending) = &self.vm.pending_reset {
            match reset_modal_ui(ctx, pending) {
                ResetModalAction::None => {}
                ResetModalAction::Confirm(id) => actions.push(Action::ConfirmReset(id)),
                ResetModalAction::Cancel(id) => actions.push(Action::CancelReset(id)),
            }
            // One modal at a time: the reset decision comes first.
            return;
        }
        if let Some(summary) = self.vm.reset_summaries.first()
            && reset_summary_ui(ctx, summary)
        {
            actions.push(Action::DismissSummary);
        }
        self.wizard_window_ui(ctx, actions);
        self.service_replicas_window_ui(ctx);
        self.restore_window_ui(ctx);
        // After the New replica wizard, so its "Sign in…" opens on top of it.
        self.sign_in_modals_ui(ctx, actions);
        self.fix_modals_ui(ctx, actions);
        if let Some(confirm) = &self.unregister_confirm {
            match dialogs::unregister_confirm_ui(ctx, confirm) {
                DialogOutcome::Open => {}
                DialogOutcome::Cancelled => self.unregister_confirm = None,
                DialogOutcome::Done(()) => actions.push(Action::Unregister(confirm.replica)),
            }
        }
        if let Some(confirm) = &self.drop_confirm {
            match dialogs::drop_confirm_ui(ctx, confirm) {
                DialogOutcome::Open => {}
                DialogOutcome::Cancelled => self.drop_confirm = None,
                DialogOutcome::Done(()) => actions.push(Action::DropEdit {
                    replica: confirm.replica,
                    layer_id: confirm.layer_id,
                    global_id: confirm.global_id.clone(),
                }),
            }
        }
    }
}

impl eframe::App for SyncwatchApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_events(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
        dev_hooks::write_first_frame_marker(&mut self.config.first_frame_marker);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.persisted);
    }

    fn on_exit(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
    }
}
