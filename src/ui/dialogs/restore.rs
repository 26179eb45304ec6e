//! "Restore changes from backup…" (ARCHITECTURE.md, "Restore from a backup"): the window that
//! lists a replica's client-reset backups (time, mode, what each holds, or why it cannot be
//! read), previews the chosen backup's changes with a checkbox each and what restoring it would
//! do now, asks for the restore and then shows its report. It keeps its own state, fed by the
//! engine's events ([`RestoreWindow::follow`]), and returns what the user asked for; the app
//! turns that into `Command`s. No file is read here: the engine reads the backups.

use crate::engine::{
    BackupInfo, BackupPreview, CommandId, Event, LocalReplicaId, RestoreOutcome, RestoreReport,
};
use crate::protocol::{ChangeType, Guid};
use crate::ui::format;
use std::collections::BTreeSet;

/// The window's width when it opens; long values and notes wrap inside it.
const WINDOW_WIDTH: f32 = 900.0;
/// The widest the values and the "Restoring it" columns of the preview grow before wrapping.
const VALUES_WIDTH: f32 = 240.0;
const NOTE_WIDTH: f32 = 320.0;

/// The window's state while it is open.
#[derive(Debug, Clone)]
pub struct RestoreWindow {
    pub replica: LocalReplicaId,
    pub replica_name: String,
    /// `None` until the engine lists them.
    pub backups: Option<Vec<BackupInfo>>,
    /// The backup being previewed (its folder name).
    pub selected: Option<String>,
    pub preview: Option<BackupPreview>,
    /// The GlobalIDs ticked for the restore.
    pub chosen: BTreeSet<Guid>,
    pub report: Option<RestoreReport>,
    /// Waiting for the engine (a list, a preview or the restore).
    pub busy: bool,
    /// The restore was sent and has not ended (its job's failure is the window's error).
    pub restoring: bool,
    pub error: Option<String>,
    /// The last command sent for the window (to match its failure).
    pub command: Option<CommandId>,
}

/// What the user asked for this frame.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum RestoreAction {
    None,
    Close,
    Preview(String),
    Restore {
        backup: String,
        only: Option<Vec<Guid>>,
    },
}

impl RestoreWindow {
    pub fn new(replica: LocalReplicaId, replica_name: &str) -> Self {
        RestoreWindow {
            replica,
            replica_name: replica_name.to_owned(),
            backups: None,
            selected: None,
            preview: None,
            chosen: BTreeSet::new(),
            report: None,
            busy: true,
            restoring: false,
            error: None,
            command: None,
        }
    }

    /// Takes the engine's answers for this window.
    pub fn follow(&mut self, event: &Event) {
        match event {
            Event::BackupsListed { replica, backups } if *replica == self.replica => {
                self.backups = Some(backups.clone());
                self.busy = false;
            }
            Event::BackupPreviewed { preview } if preview.replica == self.replica => {
                self.chosen = preview
                    .changes
                    .iter()
                    .chain(&preview.attachments)
                    .filter(|c| c.outcome == RestoreOutcome::Restored)
                    .map(|c| c.global_id.clone())
                    .collect();
                self.selected = Some(preview.backup.name.clone());
                self.preview = Some((**preview).clone());
                self.busy = false;
            }
            Event::BackupRestored { report } if report.replica == self.replica => {
                self.report = Some(report.clone());
                self.busy = false;
                self.restoring = false;
            }
            Event::JobFailed { replica, error, .. }
                if *replica == self.replica && self.restoring =>
            {
                self.error = Some(error.message.clone());
                self.busy = false;
                self.restoring = false;
            }
            Event::CommandFailed { error, command, .. }
                if self.busy && (command.is_some() && *command == self.command) =>
            {
                self.error = Some(error.message.clone());
                self.busy = false;
            }
            _ => {}
        }
    }
}

/// "3 adds, 1 update, 0 deletes, 2 attachments".
pub fn holds_text(backup: &BackupInfo) -> String {
    let c = backup.counts;
    format!(
        "{} add(s), {} update(s), {} delete(s), {} attachment change(s)",
        c.adds, c.updates, c.deletes, c.attachments
    )
}

fn mode_text(backup: &BackupInfo) -> String {
    match (backup.mode, backup.mode_used) {
        (Some(mode), Some(used)) if used != mode => {
            format!("{}, used {}", mode.label(), used.label())
        }
        (Some(mode), _) => mode.label().to_owned(),
        (None, Some(used)) => used.label().to_owned(),
        (None, None) => "mode not recorded".to_owned(),
    }
}

fn kind_text(change_type: ChangeType) -> &'static str {
    match change_type {
        ChangeType::Insert => "add",
        ChangeType::Update => "update",
        ChangeType::Delete => "delete",
    }
}

/// Draws the window; returns what the user asked for.
pub fn restore_window_ui(ctx: &egui::Context, window: &mut RestoreWindow) -> RestoreAction {
    let mut action = RestoreAction::None;
    let mut open = true;
    egui::Window::new(format!(
        "Restore changes from backup — {}",
        window.replica_name
    ))
    .id(egui::Id::unique("syncwatch-restore-backup"))
    .open(&mut open)
    .default_size([WINDOW_WIDTH, 440.0])
    .max_width(WINDOW_WIDTH + 200.0)
    .pivot(egui::Align2::CENTER_CENTER)
    .default_pos(ctx.content_rect().center())
    .resizable(true)
    .collapsible(false)
    .show(ctx, |ui| {
        if let Some(error) = &window.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if window.busy {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Working…");
            });
        }
        if let Some(report) = &window.report {
            report_ui(ui, report);
            if ui.button("Close").clicked() {
                action = RestoreAction::Close;
            }
            return;
        }
        backups_ui(ui, window, &mut action);
        if let Some(preview) = &window.preview {
            ui.separator();
            preview_ui(ui, preview, &mut window.chosen);
            ui.horizontal(|ui| {
                let count = window.chosen.len();
                let everything = count == preview.changes.len() + preview.attachments.len();
                let label = format!("Restore {count} change(s) and sync");
                if ui
                    .add_enabled(count > 0 && !window.busy, egui::Button::new(label))
                    .on_hover_text(
                        "Queue the ticked changes as new local changes of this replica (the \
                         backup is not changed), then sync",
                    )
                    .clicked()
                {
                    action = RestoreAction::Restore {
                        backup: preview.backup.name.clone(),
                        only: (!everything).then(|| window.chosen.iter().cloned().collect()),
                    };
                }
                if ui.button("Close").clicked() {
                    action = RestoreAction::Close;
                }
            });
        } else if ui.button("Close").clicked() {
            action = RestoreAction::Close;
        }
    });
    if !open {
        action = RestoreAction::Close;
    }
    action
}

fn backups_ui(ui: &mut egui::Ui, window: &RestoreWindow, action: &mut RestoreAction) {
    let Some(backups) = &window.backups else {
        return;
    };
    if backups.is_empty() {
        ui.label(
            "This replica has no backups: a client reset makes one before it changes anything.",
        );
        return;
    }
    ui.label("Backups made by client resets, newest first:");
    egui::ScrollArea::vertical()
        .id_salt("restore-backups")
        .max_height(140.0)
        .show(ui, |ui| {
            for backup in backups {
                let when = backup
                    .made_ms
                    .map_or_else(|| "time unknown".to_owned(), format::timestamp);
                let text = match &backup.unreadable {
                    None => format!(
                        "{when} · {} · {} · {}",
                        mode_text(backup),
                        holds_text(backup),
                        backup.name
                    ),
                    Some(why) => format!("{when} · {} · unreadable: {why}", backup.name),
                };
                let selected = window.selected.as_deref() == Some(backup.name.as_str());
                let row = ui.add_enabled(
                    backup.is_readable() && !window.busy,
                    egui::Button::selectable(selected, text),
                );
                let row = if backup.reason.is_empty() {
                    row
                } else {
                    row.on_hover_text(format!("Reason: {}", backup.reason))
                };
                if row.clicked() {
                    *action = RestoreAction::Preview(backup.name.clone());
                }
            }
        });
}

fn preview_ui(ui: &mut egui::Ui, preview: &BackupPreview, chosen: &mut BTreeSet<Guid>) {
    ui.add(
        egui::Label::new(format!(
            "{} change(s) and {} attachment change(s) in {}; ticked ones are restored (an \
             attachment also with its feature). What each would do now:",
            preview.changes.len(),
            preview.attachments.len(),
            preview.backup.name
        ))
        .wrap(),
    );
    egui::ScrollArea::vertical()
        .id_salt("restore-preview")
        .max_height(220.0)
        .show(ui, |ui| {
            egui::Grid::new("restore-preview-grid")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    ui.strong("");
                    ui.strong("Layer");
                    ui.strong("Change");
                    ui.strong("Values in the backup");
                    ui.strong("Restoring it");
                    ui.end_row();
                    for change in preview.changes.iter().chain(&preview.attachments) {
                        let mut ticked = chosen.contains(&change.global_id);
                        let label =
                            format!("{} {}", kind_text(change.change_type), change.global_id);
                        if ui.checkbox(&mut ticked, "").on_hover_text(&label).changed() {
                            if ticked {
                                chosen.insert(change.global_id.clone());
                            } else {
                                chosen.remove(&change.global_id);
                            }
                        }
                        ui.label(&change.layer_name);
                        ui.label(label);
                        let mut values: Vec<String> = change
                            .fields
                            .iter()
                            .map(|(name, value)| format!("{name} = {value}"))
                            .collect();
                        if change.geometry_changed {
                            values.push("geometry".to_owned());
                        }
                        wrapped_ui(ui, VALUES_WIDTH, values.join(", "));
                        wrapped_ui(
                            ui,
                            NOTE_WIDTH,
                            format!("{}: {}", change.outcome.as_str(), change.note),
                        );
                        ui.end_row();
                    }
                });
        });
}

/// A grid cell whose text wraps at `width`.
fn wrapped_ui(ui: &mut egui::Ui, width: f32, text: String) {
    ui.vertical(|ui| {
        ui.set_max_width(width);
        ui.add(egui::Label::new(text).wrap());
    });
}

fn report_ui(ui: &mut egui::Ui, report: &RestoreReport) {
    ui.heading(format!(
        "Restored {} change(s); {} already restored; {} discarded",
        report.restored.len(),
        report.already_restored.len(),
        report.discarded.len()
    ));
    ui.label(format!(
        "From {}; the backup is unchanged. A sync uploads what was restored.",
        report.backup
    ));
    egui::ScrollArea::vertical()
        .id_salt("restore-report")
        .max_height(260.0)
        .show(ui, |ui| {
            for (title, list) in [
                ("Restored", &report.restored),
                ("Already restored", &report.already_restored),
                ("Discarded", &report.discarded),
            ] {
                for outcome in list {
                    ui.add(
                        egui::Label::new(format!(
                            "{title}: {} {} — {}",
                            kind_text(outcome.change_type),
                            outcome.global_id,
                            outcome.note
                        ))
                        .wrap(),
                    );
                }
            }
        });
}
