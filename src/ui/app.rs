//! The eframe app: owns the view model, drains engine events in `logic` (8 ms budget per
//! frame), lays out the panels, collects the actions they return and, at the end of the frame,
//! turns them into `Command`s through the [`CommandSink`]. Built from a command sender and an
//! event receiver, so tests drive it without an engine.

use super::demo::SeedProgress;
use super::dialogs::{
    self, ConnectDialog, DialogOutcome, DropConfirm, FixDialog, FixValues, UnregisterConfirm,
};
use super::log_panel::{LogPanelState, log_panel_ui};
use super::replica_detail::{DetailAction, replica_detail_ui};
use super::replica_list::{ReplicaListAction, replica_list_ui};
use super::reset_modal::{ResetModalAction, reset_modal_ui, reset_summary_ui};
use super::results_grid::{Chip, GridAction, GridState, results_grid_ui};
use super::view_model::{Notice, ViewModel};
use super::{CommandSink, FilePicker, PendingPick, SendError};
use crate::engine::{
    Command, CreateRequest, Event, LocalReplicaId, PredictedPolicy, ResetMode, SyncOptions,
};
use crate::protocol::Guid;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long `logic` may spend applying events in one frame.
pub const EVENT_BUDGET: Duration = Duration::from_millis(8);
/// Auto-sync interval used when the user resumes auto-sync and none was saved.
pub const DEFAULT_AUTO_SYNC_SECS: u64 = 300;

/// The centre tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Tab {
    #[default]
    Overview,
    Results,
}

/// What survives a restart (eframe storage). `#[serde(default)]` keeps old saves loadable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub selected_replica: Option<LocalReplicaId>,
    pub tab: Tab,
    pub show_log: bool,
    pub auto_sync_paused: bool,
    pub auto_sync_interval_secs: u64,
    pub chip: Chip,
    pub last_service_url: String,
}

impl Default for Persisted {
    fn default() -> Self {
        Persisted {
            selected_replica: None,
            tab: Tab::Overview,
            show_log: true,
            auto_sync_paused: false,
            auto_sync_interval_secs: DEFAULT_AUTO_SYNC_SECS,
            chip: Chip::All,
            last_service_url: String::new(),
        }
    }
}

/// How the app was started.
#[derive(Debug, Clone, Default)]
pub struct AppConfig {
    /// Running against the embedded demo service: show the banner and the demo menu.
    pub demo: bool,
    /// Pre-filled in "Connect to service".
    pub default_service_url: String,
    /// `SYNCWATCH_SCREENSHOT`: save a PNG of the window after a few frames, then close.
    pub screenshot_path: Option<std::path::PathBuf>,
    /// `SYNCWATCH_FIRST_FRAME_FILE`: write this file once the first frame is laid out
    /// (`benches/window.rs` measures start-up with it).
    pub first_frame_marker: Option<std::path::PathBuf>,
    /// Progress of the first-run seeding of the demo replicas (see [`super::demo`]).
    pub demo_seed: Option<tokio::sync::watch::Receiver<SeedProgress>>,
}

/// Everything a panel can ask for; applied at the end of the frame.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Select(LocalReplicaId),
    SyncNow(LocalReplicaId),
    SyncSelected,
    SyncAll,
    SetAutoSyncPaused(bool),
    /// Pause (`true`) or resume one replica.
    SetPaused(LocalReplicaId, bool),
    Cancel(LocalReplicaId),
    SetResetMode(LocalReplicaId, ResetMode),
    SetPredictedPolicy(LocalReplicaId, PredictedPolicy),
    StartReset(LocalReplicaId, ResetMode),
    ConfirmReset(LocalReplicaId),
    CancelReset(LocalReplicaId),
    OpenConnect,
    CreateReplica(CreateRequest),
    OpenFix(u32),
    FixEdit {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
        values: FixValues,
    },
    OpenDrop(u32),
    OpenUnregister(LocalReplicaId),
    Unregister(LocalReplicaId),
    DropEdit {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
    },
    CopyText(String),
    ExportCsv,
    LoadResults(LocalReplicaId),
    DemoTerminateSync,
    ShowTab(Tab),
    FocusSearch,
    DismissSummary,
    Refresh,
}

/// An export waiting for the file dialog: the rows are the filtered view when it was asked for.
pub struct PendingExport {
    pick: PendingPick,
    rows: Arc<[crate::engine::EditResultRecord]>,
    indices: Vec<u32>,
}

struct ScreenshotHook {
    path: std::path::PathBuf,
    frames: u32,
    requested: bool,
    done: Arc<AtomicBool>,
}

/// The desktop app.
pub struct SyncwatchApp {
    pub vm: ViewModel,
    pub persisted: Persisted,
    pub grid: GridState,
    pub log_state: LogPanelState,
    pub connect: Option<ConnectDialog>,
    pub fix: Option<FixDialog>,
    pub drop_confirm: Option<DropConfirm>,
    pub unregister_confirm: Option<UnregisterConfirm>,
    events: crate::engine::EventReceiver,
    commands: CommandSink,
    file_picker: Box<dyn FilePicker>,
    config: AppConfig,
    /// Fixed wall clock for tests and screenshots (epoch ms).
    mock_now_ms: Option<i64>,
    /// Replicas whose edit results were asked for and not yet delivered.
    results_requested: HashSet<LocalReplicaId>,
    started: bool,
    /// The file dialog of "Export CSV" is open.
    pub pending_export: Option<PendingExport>,
    screenshot: Option<ScreenshotHook>,
    /// Last measured time `logic` spent on events (for the status bar tooltip).
    pub last_drain: Duration,
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
        let screenshot = config.screenshot_path.clone().map(|path| ScreenshotHook {
            path,
            frames: 0,
            requested: false,
            done: Arc::new(AtomicBool::new(false)),
        });
        SyncwatchApp {
            vm: ViewModel::default(),
            persisted,
            grid,
            log_state: LogPanelState::default(),
            connect: None,
            fix: None,
            drop_confirm: None,
            unregister_confirm: None,
            events: events.into(),
            commands,
            file_picker,
            config,
            mock_now_ms: None,
            results_requested: HashSet::new(),
            started: false,
            pending_export: None,
            screenshot,
            last_drain: Duration::ZERO,
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
            self.vm.apply(event, now_secs, now_ms);
            if started.elapsed() > EVENT_BUDGET {
                // Events are still queued: continue next frame.
                ctx.request_repaint();
                break;
            }
        }
        self.last_drain = started.elapsed();
    }

    /// One whole frame for kittest and the frame benchmark: drain events, then draw.
    pub fn ui_for_tests(&mut self, ui: &mut egui::Ui) {
        self.drain_events(ui.ctx());
        self.frame_ui(ui);
    }

    fn send(&mut self, command: Command) -> bool {
        match self.commands.send(command) {
            Ok(()) => true,
            Err(SendError::Busy) => {
                self.vm.notice = Some(Notice {
                    text: "Busy: the engine has too much queued; try again in a moment.".into(),
                    is_error: true,
                });
                false
            }
            Err(SendError::Closed) => {
                self.vm.notice = Some(Notice {
                    text: "The sync engine has stopped; restart syncwatch.".into(),
                    is_error: true,
                });
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
        }
        self.shortcuts(ui.ctx(), &mut actions);
        self.ensure_selection();
        let selected = self.selected();

        egui::Panel::top("toolbar").show(ui, |ui| self.top_bar_ui(ui, selected, &mut actions));
        egui::Panel::bottom("status-bar").show(ui, |ui| self.status_bar_ui(ui));
        if self.persisted.show_log {
            egui::Panel::bottom("log-panel")
                .resizable(true)
                .default_size(170.0)
                .min_size(80.0)
                .show(ui, |ui| {
                    log_panel_ui(ui, &self.vm.log, &mut self.log_state, selected);
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
                );
                match a {
                    ReplicaListAction::None => {}
                    ReplicaListAction::Select(id) => actions.push(Action::Select(id)),
                    ReplicaListAction::SyncNow(id) => actions.push(Action::SyncNow(id)),
                    ReplicaListAction::CreateReplica => actions.push(Action::OpenConnect),
                    ReplicaListAction::SetPaused(id, paused) => {
                        actions.push(Action::SetPaused(id, paused))
                    }
                    ReplicaListAction::Unregister(id) => actions.push(Action::OpenUnregister(id)),
                }
            });
        egui::CentralPanel::default().show(ui, |ui| self.centre_ui(ui, selected, &mut actions));

        self.modals_ui(ui.ctx(), &mut actions);
        self.screenshot_hook(ui.ctx());
        for action in actions {
            self.apply(ui.ctx(), action);
        }
        self.request_results_if_needed();
        self.poll_export();
        // Relative times ("3 min ago") move on even when nothing happens: repaint when the next
        // one shown would change, not on a fixed tick (an idle window should cost nothing).
        let now_ms = self.now_ms();
        let next_change = self
            .vm
            .replicas
            .iter()
            .flat_map(|r| [r.last_success_ms, r.last_sync_attempt_ms])
            .map(|t| super::theme::relative_time_changes_in(t, now_ms))
            .min()
            .unwrap_or(Duration::from_secs(3600));
        ui.ctx().request_repaint_after(next_change);
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

    fn top_bar_ui(
        &mut self,
        ui: &mut egui::Ui,
        selected: Option<LocalReplicaId>,
        actions: &mut Vec<Action>,
    ) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Connect to service…").clicked() {
                    actions.push(Action::OpenConnect);
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
                    super::theme::interval_text(self.persisted.auto_sync_interval_secs)
                )
            });
            ui.separator();
            if ui.button("Connect to service…").clicked() {
                actions.push(Action::OpenConnect);
            }
        });
        let dark = ui.visuals().dark_mode;
        if self.config.demo {
            banner_ui(ui, super::theme::blue(dark), &self.demo_banner_text());
        }
        for (url, reason) in &self.vm.network_lost {
            banner_ui(
                ui,
                super::theme::amber(dark),
                &format!("Service not answering ({reason}); auto-sync backs off: {url}"),
            );
        }
        ui.add_space(2.0);
    }

    fn status_bar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let dark = ui.visuals().dark_mode;
            match &self.vm.notice {
                Some(n) if n.is_error => {
                    ui.colored_label(super::theme::red(dark), &n.text);
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

    fn centre_ui(
        &mut self,
        ui: &mut egui::Ui,
        selected: Option<LocalReplicaId>,
        actions: &mut Vec<Action>,
    ) {
        let Some(replica) = selected.and_then(|id| self.vm.replica(id)).cloned() else {
            self.grid.clear();
            ui.centered_and_justified(|ui| {
                ui.label("Select a replica on the left, or connect to a service to create one.");
            });
            return;
        };
        let failed = replica.failed_edits + replica.predicted_failures;
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.persisted.tab, Tab::Overview, "Overview");
            let results_title = if failed > 0 {
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
                            DetailAction::Unregister(id) => {
                                actions.push(Action::OpenUnregister(id))
                            }
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
                match results_grid_ui(ui, &mut self.grid, rows.is_some()) {
                    GridAction::None => {}
                    GridAction::FixAndResend(i) => actions.push(Action::OpenFix(i)),
                    GridAction::Drop(i) => actions.push(Action::OpenDrop(i)),
                    GridAction::CopyGlobalId(g) => actions.push(Action::CopyText(g)),
                    GridAction::ExportCsv => actions.push(Action::ExportCsv),
                    GridAction::Load => actions.push(Action::LoadResults(replica.id)),
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
        if let Some(dialog) = &mut self.connect {
            match dialogs::connect_dialog_ui(ctx, dialog) {
                DialogOutcome::Open => {}
                DialogOutcome::Cancelled => self.connect = None,
                DialogOutcome::Done(req) => actions.push(Action::CreateReplica(req)),
            }
        }
        if let Some(dialog) = &mut self.fix {
            match dialogs::fix_dialog_ui(ctx, dialog) {
                DialogOutcome::Open => {}
                DialogOutcome::Cancelled => self.fix = None,
                DialogOutcome::Done(values) => actions.push(Action::FixEdit {
                    replica: dialog.replica,
                    layer_id: dialog.layer_id,
                    global_id: dialog.global_id.clone(),
                    values,
                }),
            }
        }
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

    /// Turns one action into state changes and `Command`s.
    pub fn apply(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            Action::Select(id) => {
                self.persisted.selected_replica = Some(id);
            }
            Action::SyncNow(id) => self.apply_sync(id),
            Action::SyncSelected => match self.selected().and_then(|id| self.vm.replica(id)) {
                Some(r) if r.paused => {
                    self.vm.notice = Some(Notice {
                        text: format!("{} is paused; resume it to sync.", r.name),
                        is_error: false,
                    });
                }
                Some(r) => {
                    let id = r.id;
                    self.apply(ctx, Action::SyncNow(id));
                }
                None => {}
            },
            Action::SyncAll => {
                self.send(Command::SyncAll);
            }
            Action::SetAutoSyncPaused(paused) => {
                let interval_secs = (!paused).then_some(self.persisted.auto_sync_interval_secs);
                if self.send(Command::SetAutoSync { interval_secs }) {
                    self.persisted.auto_sync_paused = paused;
                }
            }
            Action::SetPaused(id, paused) => {
                if self.send(Command::SetPaused {
                    replica: id,
                    paused,
                }) && let Some(r) = self.vm.replicas.iter_mut().find(|r| r.id == id)
                {
                    // Shown at once; the engine's ReplicaChanged confirms it.
                    r.paused = paused;
                }
            }
            Action::Cancel(id) => {
                self.send(Command::Cancel { replica: id });
            }
            Action::SetResetMode(id, mode) => {
                if self.send(Command::SetResetMode { replica: id, mode })
                    && let Some(r) = self.vm.replicas.iter_mut().find(|r| r.id == id)
                {
                    // Shown at once; the engine's next ReplicaChanged confirms it.
                    r.reset_mode = mode;
                }
            }
            Action::SetPredictedPolicy(id, policy) => {
                if self.send(Command::SetPredictedPolicy {
                    replica: id,
                    policy,
                }) && let Some(r) = self.vm.replicas.iter_mut().find(|r| r.id == id)
                {
                    // Shown at once; the engine's next ReplicaChanged confirms it.
                    r.predicted_policy = policy;
                }
            }
            Action::StartReset(id, mode) => {
                self.send(Command::Reset { replica: id, mode });
            }
            Action::ConfirmReset(id) => {
                if self.send(Command::ConfirmReset { replica: id }) {
                    self.vm.pending_reset = None;
                }
            }
            Action::CancelReset(id) => {
                // Even if the queue is full the modal closes: nothing destructive happens
                // without the explicit confirmation, and the replica stays "reset required".
                self.send(Command::CancelReset { replica: id });
                self.vm.pending_reset = None;
            }
            Action::OpenConnect => {
                let url = if self.persisted.last_service_url.is_empty() {
                    self.config.default_service_url.clone()
                } else {
                    self.persisted.last_service_url.clone()
                };
                self.connect = Some(ConnectDialog::new(&url));
            }
            Action::CreateReplica(req) => {
                self.persisted.last_service_url = req.service_url.clone();
                let name = req.name.clone();
                if self.send(Command::CreateReplica(req)) {
                    self.connect = None;
                    self.vm.notice = Some(Notice {
                        text: format!("Creating replica {name}…"),
                        is_error: false,
                    });
                }
            }
            Action::OpenFix(index) => {
                if let (Some(id), Some(rows)) = (self.selected(), self.grid.rows())
                    && let Some(record) = rows.get(index as usize)
                {
                    self.fix = FixDialog::for_record(id, record);
                }
            }
            Action::FixEdit {
                replica,
                layer_id,
                global_id,
                values,
            } => {
                let sent = self.send(Command::FixEdit {
                    replica,
                    layer_id,
                    global_id,
                    attributes: values.attributes,
                    geometry: values.geometry,
                });
                if sent {
                    self.fix = None;
                    self.apply(ctx, Action::SyncNow(replica));
                }
            }
            Action::OpenDrop(index) => {
                if let (Some(id), Some(rows)) = (self.selected(), self.grid.rows())
                    && let Some(r) = rows.get(index as usize)
                    && let Some(global_id) = r.global_id.clone()
                {
                    self.drop_confirm = Some(DropConfirm {
                        replica: id,
                        layer_id: r.layer_id,
                        layer_name: r.layer_name.to_string(),
                        global_id,
                        object_id: r.object_id,
                    });
                }
            }
            Action::DropEdit {
                replica,
                layer_id,
                global_id,
            } => {
                if self.send(Command::DropEdit {
                    replica,
                    layer_id,
                    global_id,
                }) {
                    self.drop_confirm = None;
                    self.results_requested.remove(&replica);
                    self.vm.results_stale.push(replica);
                }
            }
            Action::OpenUnregister(id) => {
                if let Some(r) = self.vm.replica(id) {
                    self.unregister_confirm = Some(UnregisterConfirm {
                        replica: id,
                        name: r.name.clone(),
                        pending_changes: r.pending_changes,
                    });
                }
            }
            Action::Unregister(id) => {
                if self.send(Command::Unregister { replica: id }) {
                    self.unregister_confirm = None;
                }
            }
            Action::CopyText(text) => {
                self.vm.notice = Some(Notice {
                    text: format!("Copied {text}"),
                    is_error: false,
                });
                ctx.copy_text(text);
            }
            Action::ExportCsv => self.export_csv(ctx),
            Action::LoadResults(id) => {
                if self.send(Command::LoadEditResults { replica: id }) {
                    self.results_requested.insert(id);
                }
            }
            Action::DemoTerminateSync => {
                self.send(Command::DemoTerminateSync);
            }
            Action::ShowTab(tab) => self.persisted.tab = tab,
            Action::FocusSearch => {
                self.persisted.tab = Tab::Results;
                self.grid.focus_search = true;
            }
            Action::DismissSummary => {
                if !self.vm.reset_summaries.is_empty() {
                    self.vm.reset_summaries.remove(0);
                }
            }
            Action::Refresh => {
                self.send(Command::RefreshReplicas);
            }
        }
    }

    fn apply_sync(&mut self, replica: LocalReplicaId) {
        if self.send(Command::SyncNow {
            replica,
            options: SyncOptions::default(),
        }) {
            self.vm.notice = Some(Notice {
                text: format!("Sync of {} requested", self.vm.replica_name(replica)),
                is_error: false,
            });
        }
    }

    /// Opens the file dialog (it answers on a later frame, see [`Self::poll_export`]); the rows
    /// exported are the grid's filtered view at this moment.
    fn export_csv(&mut self, ctx: &egui::Context) {
        if self.pending_export.is_some() {
            return;
        }
        let Some(rows) = self.grid.rows().cloned() else {
            return;
        };
        let name = self
            .selected()
            .map(|id| self.vm.replica_name(id))
            .unwrap_or_else(|| "replica".to_owned());
        let suggested = format!(
            "edit-results-{}.csv",
            name.chars()
                .map(|c| if c.is_alphanumeric() { c } else { '-' })
                .collect::<String>()
        );
        self.pending_export = Some(PendingExport {
            pick: self.file_picker.pick_save_csv(ctx, &suggested),
            rows,
            indices: self.grid.indices.clone(),
        });
        self.vm.notice = Some(Notice {
            text: "Choose where to save the CSV…".into(),
            is_error: false,
        });
    }

    /// Once the file dialog has answered, queues the export (written by the engine).
    fn poll_export(&mut self) {
        let Some(answer) = self.pending_export.as_ref().and_then(|p| p.pick.poll()) else {
            return;
        };
        let Some(export) = self.pending_export.take() else {
            return;
        };
        let Some(path) = answer else {
            self.vm.notice = Some(Notice {
                text: "Export cancelled (no file chosen).".into(),
                is_error: false,
            });
            return;
        };
        let count = export.indices.len();
        if self.send(Command::ExportCsv {
            rows: export.rows,
            indices: export.indices,
            path: path.clone(),
        }) {
            self.vm.notice = Some(Notice {
                text: format!("Exporting {count} rows to {}…", path.display()),
                is_error: false,
            });
        }
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

    /// Asks for the selected replica's results when none are loaded or a job finished since.
    fn request_results_if_needed(&mut self) {
        let Some(id) = self.selected() else {
            return;
        };
        let missing = !self.vm.results.contains_key(&id);
        let stale = self.vm.results_stale.contains(&id);
        if (missing || stale) && !self.results_requested.contains(&id) {
            self.vm.results_stale.retain(|r| *r != id);
            if self.send(Command::LoadEditResults { replica: id }) {
                self.results_requested.insert(id);
            }
        }
    }

    fn screenshot_hook(&mut self, ctx: &egui::Context) {
        let Some(hook) = &mut self.screenshot else {
            return;
        };
        hook.frames += 1;
        if hook.done.load(Ordering::SeqCst) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if !hook.requested && hook.frames >= 10 {
            hook.requested = true;
            let path = hook.path.clone();
            let done = hook.done.clone();
            ctx.request_screenshot(move |image: Arc<egui::ColorImage>| {
                let [w, h] = image.size;
                let bytes: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
                if let Err(e) =
                    image::save_buffer(&path, &bytes, w as u32, h as u32, image::ColorType::Rgba8)
                {
                    eprintln!(
                        "syncwatch: could not save the screenshot ({e}): {}",
                        path.display()
                    );
                }
                done.store(true, Ordering::SeqCst);
            });
        }
        ctx.request_repaint();
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

impl eframe::App for SyncwatchApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_events(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
        if let Some(path) = self.config.first_frame_marker.take()
            && let Err(e) = std::fs::write(&path, b"first frame\n")
        {
            eprintln!("syncwatch: could not write {}: {e}", path.display());
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.persisted);
    }

    fn on_exit(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
    }
}
