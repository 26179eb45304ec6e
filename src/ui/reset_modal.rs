//! The client-reset confirmation modal and the summary window shown after a reset. The modal
//! says why the reset is needed, which mode runs and what it falls back to, what is kept and
//! what is lost (counts by layer and kind) and where the backup goes. Only the explicit
//! "Back up and reset" button confirms; Escape, a click outside or "Cancel" cancel.

use super::theme;
use super::view_model::{PendingReset, ResetSummary};
use crate::engine::{LocalReplicaId, ResetMode};
use egui::RichText;

/// What the user decided.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetModalAction {
    None,
    Confirm(LocalReplicaId),
    Cancel(LocalReplicaId),
}

/// "recover or discard » discard » manual".
pub fn mode_chain_text(mode: ResetMode, fallbacks: &[ResetMode]) -> String {
    std::iter::once(mode)
        .chain(fallbacks.iter().copied())
        .map(ResetMode::label)
        .collect::<Vec<_>>()
        .join(" » ")
}

/// Draws the modal over everything.
pub fn reset_modal_ui(ctx: &egui::Context, pending: &PendingReset) -> ResetModalAction {
    let plan = &pending.plan;
    let mut action = ResetModalAction::None;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-reset-modal")).show(ctx, |ui| {
        let dark = ui.visuals().dark_mode;
        ui.set_max_width(560.0);
        ui.heading(format!("Client reset: {}", plan.replica_name));
        ui.add_space(4.0);
        ui.label(RichText::new("Why").strong());
        ui.label(&plan.reason);
        if let Some(err) = &pending.fallback_error {
            ui.add_space(4.0);
            ui.colored_label(
                theme::amber(dark),
                format!("The automatic reset did not finish, so it waits for you: {err}"),
            );
        }
        ui.add_space(6.0);
        ui.label(RichText::new("Mode").strong());
        if plan.fallback_chain.is_empty() {
            ui.label(format!("{} (no fallback)", plan.mode.label()));
        } else {
            ui.label(format!(
                "{} (each step runs only if the one before fails)",
                mode_chain_text(plan.mode, &plan.fallback_chain)
            ));
        }
        ui.add_space(6.0);
        ui.label(RichText::new("What will be kept").strong());
        ui.label(
            "Everything on the server. The replica file and an export of all unsynced changes are backed up first to:",
        );
        ui.label(RichText::new(plan.backup_dir.display().to_string()).monospace());
        ui.add_space(6.0);
        let total: u32 = plan
            .changes
            .iter()
            .map(|c| c.adds + c.updates + c.deletes)
            .sum();
        ui.label(RichText::new("What will be lost from the working replica").strong());
        if total == 0 {
            ui.label("No unsynced local changes: nothing is lost.");
        } else {
            ui.label(format!(
                "{total} unsynced local changes that cannot be sent to the server (they stay in the backup):"
            ));
            egui::Grid::new("reset-changes")
                .num_columns(4)
                .striped(true)
                .spacing([18.0, 4.0])
                .show(ui, |ui| {
                    for title in ["Layer", "Adds", "Updates", "Deletes"] {
                        ui.label(RichText::new(title).strong());
                    }
                    ui.end_row();
                    for c in &plan.changes {
                        ui.label(&c.layer_name);
                        ui.label(c.adds.to_string());
                        ui.label(c.updates.to_string());
                        ui.label(c.deletes.to_string());
                        ui.end_row();
                    }
                });
        }
        ui.add_space(10.0);
        ui.separator();
        ui.horizontal(|ui| {
            let confirm = egui::Button::new(
                RichText::new("Back up and reset").color(egui::Color32::WHITE),
            )
            .fill(theme::red(dark));
            if ui.add(confirm).clicked() {
                action = ResetModalAction::Confirm(plan.replica);
            }
            if ui.button("Cancel").clicked() {
                action = ResetModalAction::Cancel(plan.replica);
            }
        });
        ui.weak("Cancel leaves the replica untouched; it stays marked \"reset required\".");
    });
    // Escape or a click on the backdrop cancels; it never confirms.
    if action == ResetModalAction::None && modal.should_close() {
        action = ResetModalAction::Cancel(plan.replica);
    }
    action
}

/// Shows the oldest unread reset summary; returns `true` when the user dismissed it.
pub fn reset_summary_ui(ctx: &egui::Context, summary: &ResetSummary) -> bool {
    let mut dismissed = false;
    let mut open = true;
    let report = &summary.report;
    let title = if summary.recovered {
        format!("Reset finished: {} (recovered)", summary.replica_name)
    } else {
        format!(
            "Reset finished: {} (local changes discarded)",
            summary.replica_name
        )
    };
    egui::Window::new(title)
        .id(egui::Id::unique("syncwatch-reset-summary"))
        .open(&mut open)
        .collapsible(false)
        .default_width(480.0)
        // Centred over the window when it first opens (egui's default is the top-left corner).
        .pivot(egui::Align2::CENTER_CENTER)
        .default_pos(ctx.content_rect().center())
        .show(ctx, |ui| {
            ui.label(format!("Mode used: {}", report.mode_used.label()));
            ui.add_space(4.0);
            ui.label(RichText::new(format!("Recovered ({})", report.recovered.len())).strong());
            outcomes_ui(ui, "recovered", &report.recovered);
            ui.add_space(4.0);
            ui.label(RichText::new(format!("Discarded ({})", report.discarded.len())).strong());
            outcomes_ui(ui, "discarded", &report.discarded);
            if !report.backup_files.is_empty() {
                ui.add_space(4.0);
                ui.label(RichText::new("Backup files").strong());
                for f in &report.backup_files {
                    ui.label(RichText::new(f.display().to_string()).monospace());
                }
            }
            ui.add_space(6.0);
            if ui.button("Close").clicked() {
                dismissed = true;
            }
        });
    dismissed || !open
}

fn outcomes_ui(ui: &mut egui::Ui, id: &str, outcomes: &[crate::engine::ObjectOutcome]) {
    if outcomes.is_empty() {
        ui.weak("none");
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt(id)
        .max_height(140.0)
        .show(ui, |ui| {
            egui::Grid::new(("outcomes", id))
                .num_columns(4)
                .striped(true)
                .show(ui, |ui| {
                    for o in outcomes {
                        ui.label(format!("layer {}", o.layer_id));
                        ui.label(o.change_type.label());
                        ui.label(RichText::new(o.global_id.to_string()).monospace());
                        ui.label(&o.note);
                        ui.end_row();
                    }
                });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_text() {
        assert_eq!(
            mode_chain_text(
                ResetMode::RecoverOrDiscard,
                ResetMode::RecoverOrDiscard.fallback_chain()
            ),
            "recover or discard » discard » manual"
        );
        assert_eq!(mode_chain_text(ResetMode::Manual, &[]), "manual");
    }
}
