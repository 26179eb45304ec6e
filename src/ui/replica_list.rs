//! The left panel: one row per replica with its health badge (colour, symbol and text; red or
//! amber for problems, never green while anything failed), the last successful sync as a
//! relative time and the count of pending local changes. A right click on a row offers sync,
//! pause/resume, "Restore changes from backup…" and unregister. Below them, the ArcGIS offline maps read from this laptop, each
//! marked as one (`offline_maps.rs` draws their rows).

use super::view_model::OfflineMaps;
use super::{format, theme};
use crate::engine::{Health, LocalReplicaId, ReplicaSummary};
use egui::{RichText, Sense};

/// What the user did in the list.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaListAction {
    None,
    Select(LocalReplicaId),
    SyncNow(LocalReplicaId),
    CreateReplica,
    /// Pause (`true`) or resume the replica.
    SetPaused(LocalReplicaId, bool),
    /// Ask to confirm unregistering the replica.
    Unregister(LocalReplicaId),
    /// Open "Restore changes from backup…" for the replica.
    OpenRestore(LocalReplicaId),
    /// Select the offline map at this index of the offline maps.
    SelectOfflineMap(usize),
}

/// The offline maps the list shows below the replicas, and the one selected.
#[derive(Clone, Copy)]
pub struct OfflineRows<'a> {
    pub maps: &'a OfflineMaps,
    pub selected: Option<&'a std::path::Path>,
}

/// Draws the replica list. `now_ms` is the wall clock used for relative times; `preparing` says
/// what is being prepared while the list is still empty (the demo replicas being seeded).
pub fn replica_list_ui(
    ui: &mut egui::Ui,
    replicas: &[ReplicaSummary],
    selected: Option<LocalReplicaId>,
    now_ms: i64,
    loaded: bool,
    preparing: Option<&str>,
    offline: OfflineRows<'_>,
) -> ReplicaListAction {
    let OfflineRows {
        maps: offline,
        selected: selected_offline,
    } = offline;
    let mut action = ReplicaListAction::None;
    ui.horizontal(|ui| {
        ui.heading("Replicas");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .small_button("+")
                .on_hover_text("Create a replica on a feature service")
                .clicked()
            {
                action = ReplicaListAction::CreateReplica;
            }
        });
    });
    ui.separator();
    if replicas.is_empty() && offline.entries.is_empty() {
        if let Some(what) = preparing {
            // Wrapped: a long step must not widen the (resizable, remembered) panel.
            ui.spinner();
            ui.add(egui::Label::new(what).wrap());
        } else if loaded {
            ui.label("No replicas yet.");
            if ui.button("Create a replica…").clicked() {
                action = ReplicaListAction::CreateReplica;
            }
        } else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Loading replicas…");
            });
        }
        return action;
    }
    egui::ScrollArea::vertical()
        .id_salt("replica-list")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for replica in replicas {
                let is_selected = selected_offline.is_none() && selected == Some(replica.id);
                let a = replica_row_ui(ui, replica, is_selected, now_ms);
                if a != ReplicaListAction::None {
                    action = a;
                }
            }
            for (i, entry) in offline.entries.iter().enumerate() {
                let is_selected = selected_offline == Some(entry.map.path.as_path());
                if super::offline_maps::offline_row_ui(ui, entry, is_selected) {
                    action = ReplicaListAction::SelectOfflineMap(i);
                }
            }
        });
    action
}

fn replica_row_ui(
    ui: &mut egui::Ui,
    replica: &ReplicaSummary,
    is_selected: bool,
    now_ms: i64,
) -> ReplicaListAction {
    let mut action = ReplicaListAction::None;
    let health = replica.health();
    let dark = ui.visuals().dark_mode;
    let color = theme::health_color(health, dark);
    let fill = if is_selected {
        ui.visuals().selection.bg_fill
    } else {
        ui.visuals().faint_bg_color
    };
    let frame = egui::Frame::group(ui.style()).fill(fill).inner_margin(6.0);
    let builder = egui::UiBuilder::new()
        .id_salt(("replica-row", replica.id.0))
        .sense(Sense::click());
    let row = ui.scope_builder(builder, |ui| {
        // Labels must not swallow the click meant for the row.
        ui.style_mut().interaction.selectable_labels = false;
        frame.show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new(&replica.name).strong());
            });
            ui.horizontal(|ui| {
                badge_ui(ui, health, color);
            });
            ui.label(format!(
                "Last sync: {}",
                format::relative_time(replica.last_success_ms, now_ms)
            ))
            .on_hover_text(
                replica
                    .last_success_ms
                    .map_or_else(|| "never synced".to_owned(), format::timestamp),
            );
            let mut counts = format!("{} pending local changes", replica.pending_changes);
            if replica.failed_edits > 0 {
                counts.push_str(&format!(", {} failed", replica.failed_edits));
            }
            if replica.predicted_failures > 0 {
                counts.push_str(&format!(", {} predicted", replica.predicted_failures));
            }
            ui.label(counts);
            if ui
                .add_enabled(
                    !replica.syncing && !replica.paused && replica.reset_reason.is_none(),
                    egui::Button::new("Sync now").small(),
                )
                .on_hover_text(format!("Sync {} now", replica.name))
                .clicked()
            {
                action = ReplicaListAction::SyncNow(replica.id);
            }
        });
    });
    if row.response.clicked() && action == ReplicaListAction::None {
        action = ReplicaListAction::Select(replica.id);
    }
    row.response.context_menu(|ui| {
        let can_sync = !replica.syncing && !replica.paused && replica.reset_reason.is_none();
        if ui
            .add_enabled(can_sync, egui::Button::new("Sync now"))
            .clicked()
        {
            action = ReplicaListAction::SyncNow(replica.id);
        }
        let pause_text = if replica.paused {
            "▶ Resume replica"
        } else {
            "⏸ Pause replica"
        };
        if ui.button(pause_text).clicked() {
            action = ReplicaListAction::SetPaused(replica.id, !replica.paused);
        }
        ui.separator();
        if ui
            .add_enabled(
                replica.reset_reason.is_none(),
                egui::Button::new("Restore changes from backup…"),
            )
            .clicked()
        {
            action = ReplicaListAction::OpenRestore(replica.id);
        }
        if ui.button("Unregister…").clicked() {
            action = ReplicaListAction::Unregister(replica.id);
        }
    });
    ui.add_space(4.0);
    action
}

/// The coloured health badge: symbol and text, so colour is never the only cue.
pub fn badge_ui(ui: &mut egui::Ui, health: Health, color: egui::Color32) {
    let text = RichText::new(format!(
        "{} {}",
        theme::health_symbol(health),
        health.label()
    ))
    .color(egui::Color32::WHITE)
    .strong();
    egui::Frame::new()
        .fill(color)
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(6, 2))
        .show(ui, |ui| {
            ui.label(text);
        });
}
