//! The confirmations before something is lost: dropping a local edit (reverted to the server's
//! version), dropping several at once (naming how many and which layers), and unregistering a
//! replica. They only ask; the app sends the command.

use super::DialogOutcome;
use crate::engine::LocalReplicaId;
use crate::protocol::Guid;

/// Confirmation before a local edit is reverted to the server's version.
#[derive(Debug, Clone, PartialEq)]
pub struct DropConfirm {
    pub replica: LocalReplicaId,
    pub layer_id: i64,
    pub layer_name: String,
    pub global_id: Guid,
    pub object_id: Option<i64>,
}

pub fn drop_confirm_ui(ctx: &egui::Context, confirm: &DropConfirm) -> DialogOutcome<()> {
    let mut outcome = DialogOutcome::Open;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-drop-edit")).show(ctx, |ui| {
        ui.set_max_width(460.0);
        ui.heading("Drop the local edit?");
        ui.label(format!(
            "{} · ObjectID {} · {}",
            confirm.layer_name,
            confirm
                .object_id
                .map_or_else(|| "–".to_owned(), |o| o.to_string()),
            confirm.global_id
        ));
        ui.label("The feature goes back to the server's version; your local change is lost and will not be resent.");
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button("Drop edit").clicked() {
                outcome = DialogOutcome::Done(());
            }
            if ui.button("Keep edit").clicked() {
                outcome = DialogOutcome::Cancelled;
            }
        });
    });
    if outcome == DialogOutcome::Open && modal.should_close() {
        outcome = DialogOutcome::Cancelled;
    }
    outcome
}

/// Confirmation before a replica is unregistered.
#[derive(Debug, Clone, PartialEq)]
pub struct UnregisterConfirm {
    pub replica: LocalReplicaId,
    pub name: String,
    pub pending_changes: u32,
}

pub fn unregister_confirm_ui(
    ctx: &egui::Context,
    confirm: &UnregisterConfirm,
) -> DialogOutcome<()> {
    let mut outcome = DialogOutcome::Open;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-unregister")).show(ctx, |ui| {
        ui.set_max_width(460.0);
        ui.heading(format!("Unregister {}?", confirm.name));
        ui.label("The replica is unregistered on the server and removed from this list. Its local file is kept as a backup.");
        if confirm.pending_changes > 0 {
            ui.colored_label(
                crate::ui::theme::red(ui.visuals().dark_mode),
                format!(
                    "{} unsynced local changes will not reach the server.",
                    confirm.pending_changes
                ),
            );
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button("Unregister replica").clicked() {
                outcome = DialogOutcome::Done(());
            }
            if ui.button("Keep replica").clicked() {
                outcome = DialogOutcome::Cancelled;
            }
        });
    });
    if outcome == DialogOutcome::Open && modal.should_close() {
        outcome = DialogOutcome::Cancelled;
    }
    outcome
}

/// Confirmation before several local edits are reverted to the server's versions.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkDropConfirm {
    pub replica: LocalReplicaId,
    /// `(layer_id, global_id)` of each edit.
    pub edits: Vec<(i64, Guid)>,
    /// The layers they are in, by name, each once.
    pub layers: Vec<String>,
}

pub fn bulk_drop_confirm_ui(ctx: &egui::Context, confirm: &BulkDropConfirm) -> DialogOutcome<()> {
    let mut outcome = DialogOutcome::Open;
    let n = confirm.edits.len();
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-bulk-drop")).show(ctx, |ui| {
        ui.set_max_width(460.0);
        ui.heading(format!("Drop {n} local edits?"));
        ui.label(format!("In {}.", confirm.layers.join(", ")));
        ui.label("The features go back to the server's versions; these local changes are lost and will not be resent.");
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button(format!("Drop {n} edits")).clicked() {
                outcome = DialogOutcome::Done(());
            }
            if ui.button("Keep edits").clicked() {
                outcome = DialogOutcome::Cancelled;
            }
        });
    });
    if outcome == DialogOutcome::Open && modal.should_close() {
        outcome = DialogOutcome::Cancelled;
    }
    outcome
}
